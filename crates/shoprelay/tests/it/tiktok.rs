//! TikTok Shop end to end against its simulator: a signed push becomes a WeCom card that names TikTok Shop
//! and carries the order as `/order/202309/orders` tells it (the shop's cipher learnt from
//! `/authorization/202309/shops`); a forged push is refused and never processed; rules select by
//! platform; tokens are authorized through the link and refreshed through the single-flight path every
//! marketplace shares, their expiry read as the absolute time TikTok sends.

use std::time::Duration;

use shoprelay_clock::Clock;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_marketplaces::tiktok::{push_signature, TiktokAppConfig, TiktokClient};
use shoprelay_sim::tiktok::{ApiFault, NewItem, NewOrder, TiktokSim, TiktokSimConfig, TOKEN_EXPIRED};
use shoprelay_store::{AuditFilter, AuditKind, ShopAuthStatus};
use tokio::net::TcpListener;

use crate::helpers::*;

const TT_APP: &str = "tt";
const TT_SHOP: u64 = 7_494_049_642_642_441_621;
const OPEN_ID: &str = "7010736057180325637";
const ORDERS: &str = "/order/202309/orders";
const SHOPS: &str = "/authorization/202309/shops";
const SEARCH: &str = "/order/202309/orders/search";

/// The usual app plus a TikTok Shop app and shop, its seller authorized through the simulator's token API.
async fn spawn_with_tiktok() -> (TestApp, TiktokSim, TiktokAppConfig) {
    let (app, tiktok, cfg) = spawn_unauthorized().await;
    let code = tiktok.authorize(OPEN_ID).unwrap();
    let client = TiktokClient::new(reqwest::Client::new(), app.clock.shared());
    let grant = client.get_token(&cfg, &code).await.unwrap();
    let tokens = (grant.access_token.clone(), grant.refresh_token.clone());
    let (access, refresh) = (grant.access_expires_at, grant.refresh_expires_at);
    app.save_active_auth(TT_APP, TT_SHOP, tokens, access, refresh).await;
    (app, tiktok, cfg)
}

/// The usual app plus a TikTok Shop app, its UK shop and a rule selecting TikTok orders for `lisi`.
async fn spawn_unauthorized() -> (TestApp, TiktokSim, TiktokAppConfig) {
    let app = spawn_app().await;
    let tiktok = shoprelay_sim::tiktok::serve(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        TiktokSimConfig::default(),
        app.clock.shared(),
    )
    .await;
    let sim = tiktok.base_url();
    let file = app
        .apply_config_with(&format!(
            r#"
[[tiktok.apps]]
id = "{TT_APP}"
app_key = "29a39d"
app_secret = "e59af819cc"
service_id = "7100000000000000001"
api_base = "{sim}"
auth_base = "{sim}"
authorize_base = "{sim}"

[[tiktok.shops]]
app = "{TT_APP}"
shop_id = {TT_SHOP}
name = "英国 TikTok 店"
region = "GB"

[[rules]]
id = "tiktok-only"
events = ["order_created", "cancellation_requested"]
when = {{ platform = ["tiktok"] }}
targets = [{{ type = "wecom_app", app = "hq", users = ["lisi"] }}]
"#
        ))
        .await;
    tiktok.set_push_target(Some(&format!("{}/push/tiktok/{TT_APP}", app.base)));
    let cfg = file.marketplaces.tiktok.apps[0].clone();
    (app, tiktok, cfg)
}

fn order_with(name: &str, sku: &str, quantity: u32) -> NewOrder {
    NewOrder {
        items: vec![NewItem {
            name: name.into(),
            sku: sku.into(),
            sku_name: "Natural".into(),
            price: "4.50".into(),
            quantity,
        }],
        ..NewOrder::default()
    }
}

fn cards_to(app: &TestApp, user: &str) -> Vec<shoprelay_sim::wecom::SimMessage> {
    app.cards()
        .into_iter()
        .filter(|m| m.recipients.iter().any(|r| r == user))
        .collect()
}

#[tokio::test]
async fn a_signed_tiktok_push_becomes_a_card_naming_tiktok_shop_with_the_order_from_its_api() {
    let (app, tiktok, _) = spawn_with_tiktok().await;
    let change = tiktok
        .create_order(order_with("Bamboo Toothbrush", "BT-1", 2))
        .await
        .unwrap();
    let push = change.push.unwrap();
    assert_eq!(push.attempts.last().and_then(|a| a.status), Some(200), "{push:?}");
    app.dispatch().await;

    let cards = cards_to(&app, "lisi");
    assert_eq!(cards.len(), 1, "{cards:?}");
    let card = &cards[0].body["template_card"];
    assert_eq!(card_title(&cards[0]), "新订单");
    assert_eq!(card["source"]["desc"], "TikTok Shop · 英国 TikTok 店");
    // Enriched: two units of one SKU make one line of two, as the order API listed them.
    let items = card["sub_title_text"].as_str().unwrap_or_default();
    assert!(items.contains("Bamboo Toothbrush") && items.contains("× 2"), "{card}");
    let rows = card_rows(&cards[0]);
    assert!(rows.iter().any(|(k, v)| k == "状态" && v == "待发货"), "{rows:?}");
    // The payment time comes only from the order API (a push carries none).
    assert!(rows.iter().any(|(k, _)| k == "付款时间"), "{rows:?}");
    let url = card["card_action"]["url"].as_str().unwrap_or_default();
    assert_eq!(
        url,
        format!(
            "https://seller.tiktokglobalshop.com/order/detail?order_no={}",
            change.order.id
        )
    );
    // The cipher was learnt once from the shops API, and the order call carried it and the token header.
    let calls = tiktok.api_calls();
    assert_eq!(calls.iter().filter(|c| c.path == SHOPS).count(), 1, "{calls:?}");
    let order_call = calls.iter().find(|c| c.path == ORDERS).unwrap();
    assert_eq!(order_call.code, 0, "{order_call:?}");
    assert_eq!(order_call.query["ids"], change.order.id.to_string());
    assert_eq!(
        order_call.query["shop_cipher"],
        tiktok.config().sellers[0].shops[0].cipher
    );
    assert!(order_call.had_access_token && !order_call.query.contains_key("access_token"));

    // A second order needs no second shops call.
    tiktok.create_order(order_with("Soap", "SP-1", 1)).await.unwrap();
    app.dispatch().await;
    assert_eq!(cards_to(&app, "lisi").len(), 2);
    assert_eq!(tiktok.api_calls().iter().filter(|c| c.path == SHOPS).count(), 1);
}

#[tokio::test]
async fn a_retried_tiktok_push_is_one_notification_and_a_cancellation_request_is_its_own_event() {
    let (app, tiktok, _) = spawn_with_tiktok().await;
    let change = tiktok.create_order(order_with("Mug", "MG-1", 1)).await.unwrap();
    // TikTok sends the same notification again (same tts_notification_id): it is acknowledged, not news.
    let push = change.push.unwrap();
    let again = app
        .http
        .post(format!("{}/push/tiktok/{TT_APP}", app.base))
        .header("authorization", &push.authorization)
        .body(push.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    app.dispatch().await;
    assert_eq!(cards_to(&app, "lisi").len(), 1);

    let data = serde_json::json!({"order_id": change.order.id.to_string(), "cancel_status": "CANCELLATION_REQUEST_PENDING",
                                  "cancellations_role": "BUYER", "update_time": app.clock.now().as_secs()});
    tiktok
        .send_push(
            &TT_SHOP.to_string(),
            shoprelay_sim::tiktok::TYPE_CANCELLATION_STATUS,
            data,
        )
        .await
        .unwrap();
    app.dispatch().await;
    let cards = cards_to(&app, "lisi");
    assert_eq!(cards.len(), 2, "{cards:?}");
    assert_eq!(card_title(&cards[1]), "买家申请取消订单", "{:?}", cards[1].body);
}

#[tokio::test]
async fn a_rule_selecting_tiktok_hears_no_shopee_order() {
    let (app, _tiktok, _) = spawn_with_tiktok().await;
    app.authorize().await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    assert!(
        !cards_to(&app, "zhangsan").is_empty(),
        "the catch-all rule hears Shopee"
    );
    assert!(cards_to(&app, "lisi").is_empty(), "the TikTok rule does not");
}

#[tokio::test]
async fn a_forged_or_unsigned_tiktok_push_is_refused_and_never_processed() {
    let (app, tiktok, _) = spawn_with_tiktok().await;
    let body = format!(
        r#"{{"type":1,"tts_notification_id":"7327112393057371910","shop_id":"{TT_SHOP}","timestamp":1700000000,"data":{{"order_id":"576461413038785999","order_status":"AWAITING_SHIPMENT","is_on_hold_order":false,"update_time":1700000000}}}}"#
    );
    let url = format!("{}/push/tiktok/{TT_APP}", app.base);
    let post = |signature: Option<String>| {
        let mut req = app.http.post(&url).body(body.clone());
        if let Some(s) = signature {
            req = req.header("authorization", s);
        }
        req.send()
    };
    let forged = push_signature("29a39d", "not-the-secret", body.as_bytes());
    assert_eq!(post(Some(forged)).await.unwrap().status(), 401);
    assert_eq!(post(None).await.unwrap().status(), 401);
    // Another app key's signature over the same body is no better.
    let other_key = push_signature("other-key", "e59af819cc", body.as_bytes());
    assert_eq!(post(Some(other_key)).await.unwrap().status(), 401);
    app.dispatch().await;
    assert!(app.cards().is_empty());
    assert!(
        tiktok.api_calls().iter().all(|c| c.path != ORDERS),
        "a refused push is never enriched"
    );
    let pushes = app
        .audit(AuditFilter::default())
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::Push && e.platform.is_some_and(|p| p.as_str() == "tiktok"))
        .map(|e| e.outcome.to_string())
        .collect::<Vec<_>>();
    assert!(
        !pushes.is_empty() && pushes.iter().all(|o| o == "rejected"),
        "{pushes:?}"
    );
    // The genuine signature is accepted, which shows the refusals were about the signature.
    let genuine = push_signature("29a39d", "e59af819cc", body.as_bytes());
    assert_eq!(post(Some(genuine)).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_tiktok_access_token_is_refreshed_with_its_absolute_expiry_and_the_spent_refresh_token_dies() {
    let (app, tiktok, cfg) = spawn_with_tiktok().await;
    let engine = &app.server.engine;
    let app_id = ConfigId::parse(TT_APP).unwrap();
    let shop = ShopId::new(TT_SHOP).unwrap();
    let before = engine.store().shop_auth(&app_id, shop).await.unwrap().unwrap();
    assert!(engine.store().shop_profile(&app_id, shop).await.unwrap().is_none());
    // access_token_expire_in is the time itself: a week from now, not now plus a date.
    let week = Duration::from_secs(u64::try_from(tiktok.config().access_token_ttl_secs).unwrap());
    assert!(
        before.access_expires_at.millis_since(app.clock.now() + week).abs() <= 1_000,
        "{before:?}"
    );
    app.clock.advance(week - Duration::from_secs(600));
    assert!(engine.refresh_due().await.unwrap() >= 1);
    let after = engine.store().shop_auth(&app_id, shop).await.unwrap().unwrap();
    assert_ne!(after.access_token.expose(), before.access_token.expose());
    assert_ne!(after.refresh_token.expose(), before.refresh_token.expose());
    assert!(
        after.access_expires_at.millis_since(app.clock.now() + week).abs() <= 1_000,
        "{after:?}"
    );
    assert_eq!(after.status, ShopAuthStatus::Active);
    // Seeded tokens came with no profile; the refresh listed the seller's shops and kept what TikTok said.
    let profile = engine.store().shop_profile(&app_id, shop).await.unwrap();
    let profile = profile.expect("the refresh keeps the shop's profile");
    assert_eq!(profile.region.as_deref(), Some("GB"), "{profile:?}");
    assert!(profile.name.is_some(), "{profile:?}");
    // The simulator rotated the refresh token: the old one is refused now, with TikTok's code.
    let client = TiktokClient::new(reqwest::Client::new(), app.clock.shared());
    let err = client.refresh_token(&cfg, &before.refresh_token).await.unwrap_err();
    assert!(err.to_string().contains("105002"), "{err}");
    // And the new access token works: an order is enriched with it.
    tiktok.create_order(order_with("Rice Cooker", "RC-9", 1)).await.unwrap();
    app.dispatch().await;
    let cards = cards_to(&app, "lisi");
    let items = cards[0].body["template_card"]["sub_title_text"]
        .as_str()
        .unwrap_or_default();
    assert!(items.contains("Rice Cooker"), "{items}");
}

#[tokio::test]
async fn an_expired_access_token_met_while_enriching_is_refreshed_and_the_order_still_enriched() {
    let (app, tiktok, _) = spawn_with_tiktok().await;
    let engine = &app.server.engine;
    let before = engine
        .store()
        .shop_auth(&ConfigId::parse(TT_APP).unwrap(), ShopId::new(TT_SHOP).unwrap())
        .await
        .unwrap()
        .unwrap();
    tiktok.fail_next(
        Some(ORDERS),
        1,
        ApiFault::Error {
            code: TOKEN_EXPIRED,
            message: "Access token is expired".into(),
        },
    );
    tiktok.create_order(order_with("Kettle", "KT-1", 1)).await.unwrap();
    app.dispatch_until_settled().await;
    let cards = cards_to(&app, "lisi");
    assert_eq!(cards.len(), 1, "{cards:?}");
    let items = cards[0].body["template_card"]["sub_title_text"]
        .as_str()
        .unwrap_or_default();
    assert!(items.contains("Kettle"), "enriched after the refresh: {items}");
    let after = engine
        .store()
        .shop_auth(&ConfigId::parse(TT_APP).unwrap(), ShopId::new(TT_SHOP).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        after.access_token.expose(),
        before.access_token.expose(),
        "105002 made it refresh"
    );
}

#[tokio::test]
async fn a_seller_authorizes_through_the_tiktok_link_and_the_shop_gets_tokens() {
    let (app, tiktok, _) = spawn_unauthorized().await;
    let engine = &app.server.engine;
    let shop = ShopId::new(TT_SHOP).unwrap();
    let app_id = ConfigId::parse(TT_APP).unwrap();
    assert!(engine.store().shop_auth(&app_id, shop).await.unwrap().is_none());

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = no_redirects
        .get(format!("{}/auth/tiktok/{TT_APP}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let link = url::Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(link.path(), "/open/authorize", "{link}");
    assert!(link.as_str().starts_with(tiktok.base_url()), "{link}");
    let query: std::collections::HashMap<_, _> = link.query_pairs().into_owned().collect();
    assert_eq!(query["service_id"], "7100000000000000001");
    let state = &query["state"];

    // The seller approves at TikTok, which sends the code and the state to the registered redirect URL.
    let code = tiktok.authorize(OPEN_ID).unwrap();
    let callback = format!("{}/auth/tiktok/{TT_APP}/callback?code={code}&state={state}", app.base);
    let landing = app.land(&callback).await;
    assert!(
        landing.contains(&format!("authorized={TT_APP}&shops={TT_SHOP}")),
        "{landing}"
    );
    let auth = engine.store().shop_auth(&app_id, shop).await.unwrap().unwrap();
    assert_eq!(auth.status, ShopAuthStatus::Active);
    assert!(
        auth.access_expires_at > app.clock.now()
            && auth.access_expires_at < app.clock.now() + Duration::from_secs(8 * 86_400)
    );
    // The state was spent: the same redirect cannot bind the shop again.
    assert_eq!(app.http.get(&callback).send().await.unwrap().status(), 400);

    // What TikTok listed about the shop is kept with its tokens: name, market, and the cipher for the adapter.
    let profile = engine.store().shop_profile(&app_id, shop).await.unwrap().unwrap();
    assert_eq!(profile.region.as_deref(), Some("GB"), "{profile:?}");
    assert!(profile.name.is_some(), "{profile:?}");
    let shop_calls = |tiktok: &TiktokSim| tiktok.api_calls().iter().filter(|c| c.path == SHOPS).count();
    assert_eq!(shop_calls(&tiktok), 1, "listed once, at authorization");
    // A restart (the apps connected anew, nothing in memory) needs no new listing: the kept cipher serves.
    engine.reload_config().await.unwrap();
    let change = tiktok
        .create_order(order_with("Bamboo Toothbrush", "BT-1", 1))
        .await
        .unwrap();
    app.dispatch().await;
    assert_eq!(cards_to(&app, "lisi").len(), 1);
    let lookup = tiktok.api_calls().into_iter().find(|c| c.path == ORDERS).unwrap();
    assert_eq!(lookup.code, 0, "{lookup:?}");
    assert_eq!(lookup.query.get("ids"), Some(&change.order.id.to_string()));
    assert_eq!(shop_calls(&tiktok), 1, "no listing after the restart");
}

#[tokio::test]
async fn a_revoked_tiktok_authorization_asks_the_admins_once_to_authorize_again() {
    let (app, tiktok, _) = spawn_with_tiktok().await;
    let engine = &app.server.engine;
    tiktok.revoke_tokens(&TT_SHOP.to_string()).unwrap();
    app.clock.advance(Duration::from_secs(7 * 86_400 - 600));
    engine.refresh_due().await.unwrap();
    engine.refresh_due().await.unwrap();
    let auth = engine
        .store()
        .shop_auth(&ConfigId::parse(TT_APP).unwrap(), ShopId::new(TT_SHOP).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.status, ShopAuthStatus::NeedsReauthorization);
    app.dispatch().await;
    let notices: Vec<String> = app
        .markdowns()
        .into_iter()
        .filter(|m| m.contains("授权") && m.contains(&TT_SHOP.to_string()))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
}

#[tokio::test]
async fn a_lost_tiktok_push_is_recovered_by_the_order_search_once() {
    let (app, tiktok, _) = spawn_with_tiktok().await;
    app.authorize().await;
    let engine = &app.server.engine;
    // TikTok never delivers these pushes (nor its retries): only the order search can tell.
    tiktok.drop_next_pushes(5);
    let change = tiktok
        .create_order(order_with("Bamboo Toothbrush", "BT-1", 2))
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(600));
    app.dispatch().await;
    assert!(cards_to(&app, "lisi").is_empty(), "the pushes were lost");

    let report = engine.reconcile_once().await.unwrap();
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.orders_recovered, 1, "{report:?}");
    let search = tiktok
        .api_calls()
        .into_iter()
        .find(|c| c.path == SEARCH)
        .expect("the order search was called");
    assert_eq!(search.method, "POST");
    assert_eq!(search.code, 0, "the simulator accepted the signature over the body");
    assert_eq!(search.query.get("sort_field").map(String::as_str), Some("update_time"));
    app.dispatch().await;
    let cards = cards_to(&app, "lisi");
    assert_eq!(cards.len(), 1, "{cards:?}");
    let url = cards[0].body["template_card"]["card_action"]["url"]
        .as_str()
        .unwrap_or_default();
    assert!(url.contains(&change.order.id.to_string()), "{url}");

    // The next pass finds nothing new; a status change whose push is lost too is found by the one after.
    let again = engine.reconcile_once().await.unwrap();
    assert_eq!(again.orders_recovered, 0, "{again:?}");
    tiktok.set_order_status(change.order.id, "CANCELLED").await.unwrap();
    app.clock.advance(Duration::from_secs(600));
    let third = engine.reconcile_once().await.unwrap();
    assert_eq!(third.orders_recovered, 1, "{third:?}");
    app.dispatch().await;
    assert_eq!(cards_to(&app, "lisi").len(), 1, "the rule announces creations only");
    let (status, _) = engine
        .store()
        .order_status(
            &ConfigId::parse(TT_APP).unwrap(),
            ShopId::new(TT_SHOP).unwrap(),
            &shoprelay_core::ids::OrderSn::parse(&change.order.id.to_string()).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, "CANCELLED");
}

#[tokio::test]
async fn a_tiktok_shop_gone_from_the_authorized_list_is_inactive_and_a_listed_one_is_said_unknown() {
    use crate::console::{first_admin, get_page};
    let (app, tiktok, _) = spawn_with_tiktok().await;
    let session = first_admin(&app).await;
    // Listed: authorized, and TikTok documents no status to tell frozen from trading — the check says so.
    let page = crate::console::test_connection(&app, &session).await;
    assert!(page.contains("<li class=\"step-ok\">店铺状态"), "{page}");
    assert!(page.contains("已授权店铺接口不提供店铺状态"), "{page}");
    assert!(
        tiktok.api_calls().iter().any(|c| c.path == SHOPS),
        "the standing is read from the authorized shops list"
    );

    // The seller's authorization no longer covers the shop (closed or suspended at TikTok).
    tiktok.deauthorize_shop(&TT_SHOP.to_string()).unwrap();
    let page = crate::console::test_connection(&app, &session).await;
    assert!(page.contains("<li class=\"step-fail\">店铺状态"), "{page}");
    assert!(page.contains("ERR_SHOP_INACTIVE"), "{page}");
    assert!(page.contains("重新授权店铺"), "the fix: {page}");
    let (_, entity) = get_page(&app, &session, "/console/entity").await;
    let section = entity
        .split("<section")
        .find(|s| s.contains("英国 TikTok 店"))
        .unwrap_or_default();
    assert!(
        section.contains("ERR_SHOP_INACTIVE") && section.contains("未授权"),
        "{section}"
    );
}
