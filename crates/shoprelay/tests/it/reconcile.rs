//! Missed pushes: what Shopee failed to deliver, and orders that changed without any push, still produce
//! their events — once.

use shoprelay_engine::tokens::shopee_app;

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
    let registry = app.server.engine.registry();
    let cfg = registry.shopee_apps.values().next().unwrap();
    let shopee = &app.server.engine.shopee;
    let page = shopee.get_lost_push_message(&shopee_app(cfg)).await.unwrap();
    shopee
        .confirm_consumed_lost_push_message(&shopee_app(cfg), page.last_message_id.unwrap())
        .await
        .unwrap();

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
