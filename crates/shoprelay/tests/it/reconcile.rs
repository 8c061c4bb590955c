//! Missed pushes: what Shopee failed to deliver, and orders that changed without any push, still produce
//! their events — once.

use std::sync::Arc;

use serde_json::json;
use shoprelay_marketplaces::adapter::MarketplaceApp;
use shoprelay_sim::shopee::ApiFault;
use shoprelay_store::AuditFilter;
use shoprelay_store::AuditOutcome;

use crate::helpers::*;

/// Points the simulator's pushes at a closed port, so they fail and land in Shopee's lost list.
async fn lose_pushes(app: &TestApp) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    app.shopee
        .set_push_target(None, &format!("http://{closed}/push/shopee/{APP}"))
        .await;
}

fn new_order_cards(app: &TestApp, sn: &str) -> usize {
    app.cards()
        .iter()
        .filter(|m| card_title(m) == "新订单" && card_rows(m).contains(&("订单号".into(), sn.to_owned())))
        .count()
}

#[tokio::test]
async fn lost_pushes_are_fetched_confirmed_and_delivered_once() {
    let app = spawn_app().await;
    app.authorize().await;
    lose_pushes(&app).await;
    let a = app.create_order("READY_TO_SHIP").await;
    let b = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    assert!(app.cards().is_empty(), "nothing arrived");

    let report = app.server.engine.reconcile_once().await.unwrap();
    assert!(report.lost_pushes >= 2, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    app.dispatch_until_settled().await;
    assert_eq!((new_order_cards(&app, &a), new_order_cards(&app, &b)), (1, 1));
    // Both lost-push calls were answered as successes (the simulator takes them as POST, like the reference).
    let calls = app.shopee.api_calls();
    for path in [
        "/api/v2/push/get_lost_push_message",
        "/api/v2/push/confirm_consumed_lost_push_message",
    ] {
        assert!(
            calls.iter().any(|c| c.path == path && c.status == 200),
            "{path}: {calls:#?}"
        );
    }

    // Confirmed at Shopee: the next pass finds nothing new and sends nothing again.
    let again = app.server.engine.reconcile_once().await.unwrap();
    assert_eq!((again.lost_pushes, again.orders_recovered), (0, 0), "{again:?}");
    app.dispatch_until_settled().await;
    assert_eq!((new_order_cards(&app, &a), new_order_cards(&app, &b)), (1, 1));
}

#[tokio::test]
async fn an_order_changed_without_any_push_is_found_by_the_order_list() {
    let app = spawn_app().await;
    app.authorize().await;
    lose_pushes(&app).await;
    let sn = app.create_order("READY_TO_SHIP").await;
    // Shopee forgets lost pushes after three days: empty the list as if they had expired.
    expire_lost_pushes(&app).await;

    let report = app.server.engine.reconcile_once().await.unwrap();
    assert_eq!(report.lost_pushes, 0);
    assert_eq!(report.orders_recovered, 1, "{report:?}");
    app.dispatch_until_settled().await;
    assert_eq!(new_order_cards(&app, &sn), 1);
    let again = app.server.engine.reconcile_once().await.unwrap();
    assert_eq!(
        again.orders_recovered, 0,
        "a known status is not recovered twice: {again:?}"
    );
}

fn status_cards(app: &TestApp, sn: &str) -> Vec<String> {
    app.cards()
        .iter()
        .filter(|m| card_rows(m).contains(&("订单号".into(), sn.to_owned())))
        .map(card_title)
        .filter(|t| t.starts_with("订单状态变更"))
        .collect()
}

/// Pushes the simulator lists as lost (the verification push sent to the closed port among them).
fn lost_at_shopee(app: &TestApp) -> usize {
    app.shopee.pushes().iter().filter(|p| p.is_lost()).count()
}

/// Makes the next order-list call fail, so only the lost-push path can bring an order back.
fn without_order_list(app: &TestApp) {
    app.shopee
        .fail_next(Some("/api/v2/order/get_order_list"), 1, ApiFault::Http500);
}

/// Points the simulator's pushes back at the app.
async fn restore_pushes(app: &TestApp) {
    app.shopee
        .set_push_target(None, &format!("{}/push/shopee/{APP}", app.base))
        .await;
}

#[tokio::test]
async fn a_lost_page_is_stored_whole_before_it_is_confirmed_unreadable_items_included() {
    let app = spawn_app().await;
    app.authorize().await;
    lose_pushes(&app).await;
    let sn = app.create_order("READY_TO_SHIP").await;
    let missing = json!({"code": 3, "shop_id": SHOP, "timestamp": 5, "data": {"status": "UNPAID"}}).to_string();
    app.shopee.send_raw_push(None, &missing).await;
    app.shopee.send_raw_push(None, "not json at all").await;
    let lost = lost_at_shopee(&app);
    assert!(lost >= 3);

    without_order_list(&app);
    let report = app.server.engine.reconcile_once().await.unwrap();
    assert_eq!((report.lost_pushes, report.orders_recovered), (lost, 0), "{report:?}");
    assert_eq!(report.errors.len(), 1, "only the order list failed: {report:?}");
    // Confirmed at Shopee: nothing is lost any more.
    let page = shopee_app(&app).kept_pushes().await.unwrap().unwrap();
    assert!(page.pushes.is_empty(), "{page:?}");

    app.dispatch_until_settled().await;
    assert_eq!(new_order_cards(&app, &sn), 1);
    let failed = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Failed),
            ..Default::default()
        })
        .await;
    assert_eq!(failed.len(), 2, "kept as failed items, not dropped: {failed:#?}");
}

#[tokio::test]
async fn a_lost_push_keeps_shopee_times_so_the_next_live_push_is_not_stale() {
    let app = spawn_app().await;
    app.authorize().await;
    // Shopee's clock is ten minutes behind ours: only Shopee's own times compare with Shopee's.
    app.shopee.advance_clock(-600);
    lose_pushes(&app).await;
    let sn = app.create_order("READY_TO_SHIP").await;
    let lost = lost_at_shopee(&app);
    without_order_list(&app);
    let report = app.server.engine.reconcile_once().await.unwrap();
    assert_eq!((report.lost_pushes, report.orders_recovered), (lost, 0), "{report:?}");
    app.dispatch_until_settled().await;
    assert_eq!(new_order_cards(&app, &sn), 1);

    restore_pushes(&app).await;
    app.shopee.set_order_status(&sn, "SHIPPED").await.unwrap();
    app.dispatch_until_settled().await;
    assert_eq!(status_cards(&app, &sn), vec!["订单状态变更：已发货".to_owned()]);
}

#[tokio::test]
async fn an_order_recovered_from_the_list_keeps_shopee_times_so_the_next_live_push_is_not_stale() {
    let app = spawn_app().await;
    app.authorize().await;
    app.shopee.advance_clock(-600);
    lose_pushes(&app).await;
    let sn = app.create_order("READY_TO_SHIP").await;
    expire_lost_pushes(&app).await;
    let report = app.server.engine.reconcile_once().await.unwrap();
    assert_eq!(report.orders_recovered, 1, "{report:?}");
    app.dispatch_until_settled().await;

    restore_pushes(&app).await;
    app.shopee.set_order_status(&sn, "SHIPPED").await.unwrap();
    app.dispatch_until_settled().await;
    assert_eq!(status_cards(&app, &sn), vec!["订单状态变更：已发货".to_owned()]);
}

/// The Shopee app, through the interface the reconciler uses.
fn shopee_app(app: &TestApp) -> Arc<dyn MarketplaceApp> {
    let registry = app.server.engine.registry();
    let shopee = registry
        .marketplaces
        .iter()
        .find(|a| a.platform() == shoprelay_marketplaces::shopee::PLATFORM);
    shopee.unwrap().clone()
}

/// Empties Shopee's list of lost pushes, as if they had expired (Shopee forgets them after three days).
async fn expire_lost_pushes(app: &TestApp) {
    let shopee = shopee_app(app);
    let page = shopee.kept_pushes().await.unwrap().unwrap();
    shopee.confirm_kept_pushes(&page.confirm.unwrap()).await.unwrap();
}
