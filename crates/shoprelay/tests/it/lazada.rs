//! Lazada end to end against its simulator: a signed push becomes a WeCom card that names Lazada and
//! carries the order as `/order/get` and `/order/items/get` tell it; a forged push is refused; rules select
//! by platform; the tokens refresh through the single-flight path every marketplace shares.

use std::time::Duration;

use shoprelay_clock::Clock;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_marketplaces::lazada::{push_signature, LazadaAppConfig, LazadaClient};
use shoprelay_sim::lazada::{CountryUserInfo, LazadaSim, LazadaSimConfig, NewItem, NewOrder, Region};
use shoprelay_store::{ShopAuth, ShopAuthStatus};
use tokio::net::TcpListener;

use crate::helpers::*;

const LZ_APP: &str = "lz";
const SELLER: u64 = 1234567;

/// The usual app plus a Lazada app and shop, its seller authorized through the simulator's token API.
async fn spawn_with_lazada() -> (TestApp, LazadaSim, LazadaAppConfig) {
    let (app, lazada, cfg) = spawn_unauthorized().await;
    let code = lazada.authorize("seller@example.com").unwrap();
    let client = LazadaClient::new(reqwest::Client::new(), app.clock.shared());
    let grant = client.create_token(&cfg, &code).await.unwrap();
    let now = app.clock.now();
    let tokens = (grant.access_token.clone(), grant.refresh_token.clone());
    let (access, refresh) = (grant.access_expires_at(now), grant.refresh_expires_at(now));
    app.save_active_auth(LZ_APP, SELLER, tokens, access, refresh).await;
    (app, lazada, cfg)
}

/// The usual app plus a Lazada app and shop whose seller has not authorized it yet.
async fn spawn_unauthorized() -> (TestApp, LazadaSim, LazadaAppConfig) {
    spawn_lazada(LazadaSimConfig::default(), "").await
}

/// The usual app plus a Lazada app, its shop in Singapore and `more` configuration, against `sim`.
async fn spawn_lazada(sim: LazadaSimConfig, more: &str) -> (TestApp, LazadaSim, LazadaAppConfig) {
    let app = spawn_app().await;
    let lazada =
        shoprelay_sim::lazada::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), sim, app.clock.shared()).await;
    let rest = lazada.rest_url();
    let file = app
        .apply_config_with(
            &(format!(
                r#"
[[lazada.apps]]
id = "{LZ_APP}"
app_key = "123456"
app_secret = "helloworld"
api_base = "{rest}"
auth_base = "{rest}"

[[lazada.shops]]
app = "{LZ_APP}"
shop_id = {SELLER}
name = "新加坡 Lazada 店"
region = "SG"

[[rules]]
id = "lazada-only"
events = ["order_created"]
when = {{ platform = ["lazada"] }}
targets = [{{ type = "wecom_app", app = "hq", users = ["lisi"] }}]
"#
            ) + more),
        )
        .await;
    lazada.set_push_target(Some(&format!("{}/push/lazada/{LZ_APP}", app.base)));

    let cfg = file.marketplaces.lazada.apps[0].clone();
    (app, lazada, cfg)
}

fn order_with(name: &str, sku: &str, quantity: u32) -> NewOrder {
    NewOrder {
        items: vec![NewItem {
            name: name.into(),
            sku: sku.into(),
            price: 3.5,
            paid_price: None,
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
async fn a_signed_lazada_push_becomes_a_card_naming_lazada_with_the_order_from_its_api() {
    let (app, lazada, _) = spawn_with_lazada().await;
    let change = lazada
        .create_order(order_with("Bamboo Toothbrush", "BT-1", 2))
        .await
        .unwrap();
    // Lazada pushes every order line: two units, two pushes, each answered 200 at once.
    assert_eq!(change.pushes.len(), 2, "{:?}", change.pushes);
    for push in &change.pushes {
        assert_eq!(push.attempts.last().and_then(|a| a.status), Some(200), "{push:?}");
    }
    app.dispatch().await;

    let cards = cards_to(&app, "lisi");
    assert_eq!(
        cards.len(),
        1,
        "one order, one card, whatever the number of lines: {cards:?}"
    );
    let card = &cards[0].body["template_card"];
    assert_eq!(card_title(&cards[0]), "新订单");
    assert_eq!(card["source"]["desc"], "Lazada · 新加坡 Lazada 店");
    let items = card["sub_title_text"].as_str().unwrap_or_default();
    assert!(items.contains("Bamboo Toothbrush") && items.contains("× 2"), "{card}");
    let url = card["card_action"]["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("https://sellercenter.lazada.sg/"), "{url}");
    let order_id = change.order.order_id.to_string();
    assert!(url.contains(&order_id), "{url}");
    // Enriched through the regional API, signed as Lazada checks it.
    let calls: Vec<String> = lazada.api_calls().into_iter().map(|c| c.path).collect();
    assert!(calls.iter().any(|p| p == "/order/get"), "{calls:?}");
    assert!(calls.iter().any(|p| p == "/order/items/get"), "{calls:?}");
}

#[tokio::test]
async fn a_rule_selecting_lazada_hears_no_shopee_order() {
    let (app, _lazada, _) = spawn_with_lazada().await;
    app.authorize().await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    assert!(
        !cards_to(&app, "zhangsan").is_empty(),
        "the catch-all rule hears Shopee"
    );
    assert!(cards_to(&app, "lisi").is_empty(), "the Lazada rule does not");
}

#[tokio::test]
async fn a_forged_or_unsigned_lazada_push_is_refused_and_nothing_is_stored() {
    let (app, _lazada, _) = spawn_with_lazada().await;
    let body = r#"{"seller_id":"1234567","message_type":0,"data":{"order_status":"pending","trade_order_id":"990001","trade_order_line_id":"990001-1","status_update_time":1700000000},"timestamp":1700000000000,"site":"lazada_sg"}"#;
    let url = format!("{}/push/lazada/{LZ_APP}", app.base);
    let post = |signature: Option<String>| {
        let mut req = app.http.post(&url).body(body);
        if let Some(s) = signature {
            req = req.header("authorization", s);
        }
        req.send()
    };
    let forged = push_signature("123456", "not-the-secret", body.as_bytes());
    let refused = post(Some(forged)).await.unwrap();
    assert_eq!(refused.status(), 401);
    let refusal: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refusal["code"], "push.signature_invalid");
    for message in [&refusal["message"], &refusal["message_en"]] {
        assert!(
            message.as_str().unwrap().contains("Lazada: App Secret"),
            "the fix names Lazada's key: {refusal}"
        );
    }
    assert_eq!(post(None).await.unwrap().status(), 401);
    // The Shopee route does not take a Lazada app, and a Lazada push to it is refused.
    let genuine = push_signature("123456", "helloworld", body.as_bytes());
    let wrong_route = app
        .http
        .post(format!("{}/push/shopee/{LZ_APP}", app.base))
        .header("authorization", genuine.clone())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_route.status(), 404);
    app.dispatch().await;
    assert!(app.cards().is_empty());
    assert_eq!(post(Some(genuine)).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_lazada_access_token_is_refreshed_and_the_spent_refresh_token_dies() {
    let (app, lazada, cfg) = spawn_with_lazada().await;
    let engine = &app.server.engine;
    let app_id = ConfigId::parse(LZ_APP).unwrap();
    let shop = ShopId::new(SELLER).unwrap();
    let before = engine.store().shop_auth(&app_id, shop).await.unwrap().unwrap();
    // Close to expiry: the refresh pass renews it.
    app.clock.advance(std::time::Duration::from_secs(7 * 86_400 - 600));
    assert!(engine.refresh_due().await.unwrap() >= 1);
    let after = engine.store().shop_auth(&app_id, shop).await.unwrap().unwrap();
    assert_ne!(after.access_token.expose(), before.access_token.expose());
    assert_ne!(after.refresh_token.expose(), before.refresh_token.expose());
    assert!(after.access_expires_at > before.access_expires_at);
    // Lazada rotated the refresh token: the old one is refused now.
    let client = LazadaClient::new(reqwest::Client::new(), app.clock.shared());
    assert!(client.refresh_token(&cfg, &before.refresh_token).await.is_err());
    // And the new access token works: an order is enriched with it.
    lazada.create_order(order_with("Rice Cooker", "RC-9", 1)).await.unwrap();
    app.dispatch().await;
    let cards = cards_to(&app, "lisi");
    let items = cards[0].body["template_card"]["sub_title_text"]
        .as_str()
        .unwrap_or_default();
    assert!(items.contains("Rice Cooker"), "{items}");
}

#[tokio::test]
async fn one_login_selling_in_two_countries_keeps_both_shops_authorized_across_refreshes() {
    const MY_SELLER: u64 = 7654321;
    let mut sim = LazadaSimConfig::default();
    sim.sellers[0].country_user_info.push(CountryUserInfo {
        country: Region::My,
        seller_id: MY_SELLER.to_string(),
        user_id: "100002".into(),
        short_code: "MY8D3K1P".into(),
    });
    let more = format!("\n[[lazada.shops]]\napp = \"{LZ_APP}\"\nshop_id = {MY_SELLER}\nname = \"马来西亚 Lazada 店\"\nregion = \"MY\"\n");
    let (app, lazada, cfg) = spawn_lazada(sim, &more).await;
    let engine = &app.server.engine;
    let app_id = ConfigId::parse(LZ_APP).unwrap();
    let shops = [ShopId::new(SELLER).unwrap(), ShopId::new(MY_SELLER).unwrap()];
    // The seller authorizes once; Lazada's answer lists a shop per country, both given the one pair.
    let code = lazada.authorize("seller@example.com").unwrap();
    let client = LazadaClient::new(reqwest::Client::new(), app.clock.shared());
    let grant = client.create_token(&cfg, &code).await.unwrap();
    assert_eq!(grant.sellers.len(), 2);
    let now = app.clock.now();
    for shop in shops {
        let auth = ShopAuth {
            app_id: app_id.clone(),
            shop_id: shop,
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone(),
            access_expires_at: grant.access_expires_at(now),
            refresh_expires_at: grant.refresh_expires_at(now),
            status: ShopAuthStatus::Active,
            status_reason: None,
            version: 0,
        };
        engine.store().save_shop_auth(&auth, now).await.unwrap();
    }
    // Two rounds of refreshes: each spends the login's refresh token, which Lazada rotates.
    for round in 0..2 {
        app.clock.advance(std::time::Duration::from_secs(7 * 86_400 - 600));
        assert!(engine.refresh_due().await.unwrap() >= 1, "round {round}");
        let auths = [
            engine.store().shop_auth(&app_id, shops[0]).await.unwrap().unwrap(),
            engine.store().shop_auth(&app_id, shops[1]).await.unwrap().unwrap(),
        ];
        for auth in &auths {
            assert_eq!(
                auth.status,
                ShopAuthStatus::Active,
                "round {round}: {:?}",
                auth.status_reason
            );
            assert!(
                auth.access_expires_at > app.clock.now() + Duration::from_secs(86_400),
                "round {round}"
            );
        }
        assert_eq!(auths[0].refresh_token.expose(), auths[1].refresh_token.expose());
    }
    app.dispatch().await;
    assert!(
        !app.markdowns().iter().any(|m| m.contains("授权")),
        "no shop was reported as needing authorization: {:?}",
        app.markdowns()
    );
}

#[tokio::test]
async fn a_seller_authorizes_through_the_lazada_link_and_every_country_shop_gets_tokens() {
    let (app, lazada, _) = spawn_unauthorized().await;
    let engine = &app.server.engine;
    let shop = ShopId::new(SELLER).unwrap();
    let app_id = ConfigId::parse(LZ_APP).unwrap();
    assert!(engine.store().shop_auth(&app_id, shop).await.unwrap().is_none());

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = no_redirects
        .get(format!("{}/auth/lazada/{LZ_APP}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let link = url::Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
    assert!(link.path().ends_with("/oauth/authorize"), "{link}");
    let query: std::collections::HashMap<_, _> = link.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "123456");
    let redirect_uri = &query["redirect_uri"];
    assert!(redirect_uri.starts_with(&format!("{}/auth/lazada/{LZ_APP}/callback?state=", app.base)));

    // The seller logs in at Lazada, which sends the code to the redirect URI.
    let code = lazada.authorize("seller@example.com").unwrap();
    let landing = app.land(&format!("{redirect_uri}&code={code}")).await;
    assert!(landing.contains(&SELLER.to_string()), "{landing}");
    let auth = engine.store().shop_auth(&app_id, shop).await.unwrap().unwrap();
    assert_eq!(auth.status, ShopAuthStatus::Active);
    // The state was spent: the same redirect cannot bind the shop again.
    let again = app
        .http
        .get(format!("{redirect_uri}&code={code}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn a_revoked_lazada_authorization_asks_the_admins_once_to_authorize_again() {
    let (app, lazada, _) = spawn_with_lazada().await;
    let engine = &app.server.engine;
    lazada.revoke_tokens(&SELLER.to_string()).unwrap();
    app.clock.advance(std::time::Duration::from_secs(7 * 86_400 - 600));
    engine.refresh_due().await.unwrap();
    engine.refresh_due().await.unwrap();
    let auth = engine
        .store()
        .shop_auth(&ConfigId::parse(LZ_APP).unwrap(), ShopId::new(SELLER).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.status, ShopAuthStatus::NeedsReauthorization);
    app.dispatch().await;
    let notices: Vec<String> = app
        .markdowns()
        .into_iter()
        .filter(|m| m.contains("授权") && m.contains(&SELLER.to_string()))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
}

#[tokio::test]
async fn a_lost_lazada_push_is_recovered_from_the_order_list_once() {
    let (app, lazada, _) = spawn_with_lazada().await;
    // Lazada never delivers these pushes: only /orders/get can tell.
    lazada.drop_next_pushes(2);
    let change = lazada
        .create_order(order_with("Bamboo Toothbrush", "BT-1", 2))
        .await
        .unwrap();
    app.dispatch().await;
    assert!(cards_to(&app, "lisi").is_empty(), "the pushes were lost");

    let report = app.server.engine.reconcile_once().await.unwrap();
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.orders_recovered, 1, "{report:?}");
    app.dispatch().await;
    let cards = cards_to(&app, "lisi");
    assert_eq!(cards.len(), 1, "{cards:?}");
    let url = cards[0].body["template_card"]["card_action"]["url"]
        .as_str()
        .unwrap_or_default();
    assert!(url.contains(&change.order.order_id.to_string()), "{url}");

    // The next pass finds nothing new, and a late push of the same status announces nothing twice.
    let again = app.server.engine.reconcile_once().await.unwrap();
    assert_eq!(again.orders_recovered, 0, "{again:?}");
    app.dispatch().await;
    assert_eq!(cards_to(&app, "lisi").len(), 1);
}

#[tokio::test]
async fn a_closed_lazada_seller_account_is_said_in_the_audit_log() {
    let (app, lazada, _) = spawn_with_lazada().await;
    lazada
        .send_push(
            &SELLER.to_string(),
            13,
            serde_json::json!({"seller_id": SELLER.to_string(), "status": "close"}),
        )
        .await
        .unwrap();
    app.dispatch().await;
    let entries = app.audit(shoprelay_store::AuditFilter::default()).await;
    assert!(
        entries
            .iter()
            .any(|e| e.detail.contains("account status: close") && e.detail.contains(&SELLER.to_string())),
        "{entries:?}"
    );
}

#[tokio::test]
async fn the_audit_api_separates_lazada_entries_from_shopee_ones_by_platform() {
    let (app, lazada, _) = spawn_with_lazada().await;
    app.authorize().await;
    lazada
        .create_order(order_with("Bamboo Toothbrush", "BT-1", 1))
        .await
        .unwrap();
    app.create_order("READY_TO_SHIP").await;
    // A refused push names the marketplace of the URL it came to.
    let body = r#"{"seller_id":"1234567","message_type":0}"#;
    let forged = push_signature("123456", "not-the-secret", body.as_bytes());
    let refused = app
        .http
        .post(format!("{}/push/lazada/{LZ_APP}", app.base))
        .header("authorization", forged)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    app.dispatch().await;

    let get = |query: &'static str| {
        let url = format!("{}/api/v1/audit?{query}", app.base);
        let http = app.http.clone();
        async move {
            let resp = http.get(url).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    let entries = |v: &serde_json::Value, field: &str| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e[field].as_str().unwrap_or("-").to_owned())
            .collect()
    };
    let (status, lz) = get("platform=lazada&kind=push").await;
    assert_eq!(status, 200, "{lz}");
    assert!(entries(&lz, "platform").iter().all(|p| p == "lazada"), "{lz}");
    assert!(entries(&lz, "app_id").iter().all(|a| a == LZ_APP), "{lz}");
    let outcomes = entries(&lz, "outcome");
    for outcome in ["accepted", "processed", "rejected"] {
        assert!(outcomes.iter().any(|o| o == outcome), "{outcome} in {outcomes:?}");
    }
    let (status, sp) = get("platform=shopee&kind=push").await;
    assert_eq!(status, 200, "{sp}");
    assert!(entries(&sp, "platform").iter().all(|p| p == "shopee"), "{sp}");
    assert!(entries(&sp, "app_id").iter().all(|a| a == APP), "{sp}");
    assert!(entries(&sp, "outcome").iter().any(|o| o == "processed"), "{sp}");
    let (_, all) = get("kind=push").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        lz.as_array().unwrap().len() + sp.as_array().unwrap().len(),
        "every push entry is one marketplace's or the other's: {all}"
    );
    // The platform narrows together with the other filters.
    let (_, refused) = get("platform=lazada&outcome=rejected").await;
    assert_eq!(refused.as_array().unwrap().len(), 1, "{refused}");
    let (_, none) = get("platform=shopee&outcome=rejected").await;
    assert_eq!(none, serde_json::json!([]));

    let (status, unknown) = get("platform=amazon").await;
    assert_eq!(status, 400);
    assert_eq!(unknown["code"], "audit.unknown_platform");
    for message in ["message", "message_en"] {
        let text = unknown[message].as_str().unwrap_or_default();
        assert!(
            text.contains("amazon") && text.contains("lazada") && text.contains("shopee"),
            "{unknown}"
        );
    }
    let (status, bad) = get("outcome=exploded").await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("api.bad_query")), "{bad}");
}

#[tokio::test]
async fn a_closed_lazada_seller_fails_the_standing_check_with_when_lazada_pushed_it() {
    use crate::console::{first_admin, get_page};
    let (app, lazada, _) = spawn_with_lazada().await;
    let session = first_admin(&app).await;
    // Before any seller-status push Lazada has said nothing: the step passes and says why it cannot tell.
    let page = crate::console::test_connection(&app, &session).await;
    assert!(page.contains("<li class=\"step-ok\">店铺状态"), "{page}");
    assert!(page.contains("平台尚未推送店铺状态"), "{page}");

    lazada.set_seller_status(&SELLER.to_string(), "close").await.unwrap();
    app.dispatch().await;
    // The entity check reads the kept push at once, without a test.
    let (_, entity) = get_page(&app, &session, "/console/entity").await;
    assert!(
        entity.contains("ERR_SHOP_FROZEN") && entity.contains("已冻结"),
        "{entity}"
    );
    assert!(entity.contains("店铺状态由平台推送于"), "{entity}");
    let page = crate::console::test_connection(&app, &session).await;
    assert!(page.contains("<li class=\"step-fail\">店铺状态"), "{page}");
    assert!(page.contains("ERR_SHOP_FROZEN"), "{page}");
    // The fix, and when Lazada said so (in the shop's time: Singapore).
    assert!(page.contains("卖家中心"), "{page}");
    assert!(page.contains("平台推送于") && page.contains("(UTC+08:00)"), "{page}");

    // Lazada reopens the account: the next push clears it.
    app.clock.advance(Duration::from_secs(60));
    lazada.set_seller_status(&SELLER.to_string(), "normal").await.unwrap();
    app.dispatch().await;
    let (_, entity) = get_page(&app, &session, "/console/entity").await;
    assert!(!entity.contains("ERR_SHOP_FROZEN"), "{entity}");
    let page = crate::console::test_connection(&app, &session).await;
    assert!(page.contains("<li class=\"step-ok\">店铺状态"), "{page}");
    assert!(page.contains("店铺状态正常（平台推送于"), "{page}");
}
