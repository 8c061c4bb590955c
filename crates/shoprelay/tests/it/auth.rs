//! Shop authorization: the OAuth redirect flow, refresh before expiry (single-flight, single-use refresh
//! tokens), and a dead refresh token turning into "needs re-authorization" plus a message to the admins.

use std::time::Duration;

use shoprelay_clock::{Clock, UnixMs};
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_sim::shopee::{ApiFault, NewItem, NewOrder, ShopeeSimConfig, SimMainAccount, SimShop};
use shoprelay_store::ShopAuthStatus;

use crate::helpers::*;

const REFRESH_PATH: &str = "/api/v2/auth/access_token/get";

fn ids() -> (ConfigId, ShopId) {
    (ConfigId::parse(APP).unwrap(), ShopId::new(SHOP).unwrap())
}

fn refresh_calls(app: &TestApp) -> usize {
    app.shopee.api_calls().iter().filter(|c| c.path == REFRESH_PATH).count()
}

/// Makes the stored access token look close to expiry.
async fn age_token(app: &TestApp) {
    let (a, s) = ids();
    let store = app.server.engine.store();
    let mut auth = store.shop_auth(&a, s).await.unwrap().unwrap();
    auth.access_expires_at = app.clock.now() + Duration::from_secs(60);
    assert!(store.rotate_shop_tokens(&auth, UnixMs::EPOCH).await.unwrap());
}

#[tokio::test]
async fn the_oauth_flow_stores_tokens_and_never_shows_them() {
    let app = spawn_app().await;
    app.authorize().await;
    let (a, s) = ids();
    let auth = app.server.engine.store().shop_auth(&a, s).await.unwrap().unwrap();
    assert_eq!(auth.status, ShopAuthStatus::Active);
    let status = app
        .http
        .get(format!("{}/api/v1/status", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("\"active\""), "{status}");
    assert!(!status.contains(auth.access_token.expose()) && !status.contains(auth.refresh_token.expose()));

    let bad = app
        .http
        .get(format!("{}/auth/shopee/{APP}/callback?shop_id=1", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(
        bad.json::<serde_json::Value>().await.unwrap()["code"],
        "auth.bad_redirect"
    );
    let reused = app
        .http
        .get(format!(
            "{}/auth/shopee/{APP}/callback?code=never-issued&shop_id={SHOP}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        reused.status().as_u16(),
        400,
        "an unknown code is the seller's to retry, not a server error"
    );
    let unknown = app
        .http
        .get(format!("{}/auth/shopee/nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn tokens_are_refreshed_before_expiry_and_rotate() {
    let app = spawn_app().await;
    app.authorize().await;
    let (a, s) = ids();
    let before = app.server.engine.store().shop_auth(&a, s).await.unwrap().unwrap();
    assert_eq!(
        app.server.engine.refresh_due().await.unwrap(),
        0,
        "fresh tokens are left alone"
    );
    age_token(&app).await;
    assert_eq!(app.server.engine.refresh_due().await.unwrap(), 1);
    let after = app.server.engine.store().shop_auth(&a, s).await.unwrap().unwrap();
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "single-use refresh token rotated"
    );
    assert!(after.access_expires_at > app.clock.now() + Duration::from_secs(3600));
    // The rotated pair works for the next refresh (the old one is dead at Shopee).
    age_token(&app).await;
    assert_eq!(app.server.engine.refresh_due().await.unwrap(), 1);
    assert_eq!(
        app.server
            .engine
            .store()
            .shop_auth(&a, s)
            .await
            .unwrap()
            .unwrap()
            .status,
        ShopAuthStatus::Active
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_shop_are_single_flight() {
    let app = spawn_app().await;
    app.authorize().await;
    let (a, s) = ids();
    let version = app
        .server
        .engine
        .store()
        .shop_auth(&a, s)
        .await
        .unwrap()
        .unwrap()
        .version;
    let engine = &app.server.engine;
    let results = futures::future::join_all((0..8).map(|_| engine.refresh_shop(&a, s, version))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(refresh_calls(&app), 1, "one refresh reached Shopee");
    assert_eq!(
        engine.store().shop_auth(&a, s).await.unwrap().unwrap().status,
        ShopAuthStatus::Active
    );
}

#[tokio::test]
async fn a_dead_refresh_token_asks_the_seller_to_authorize_again() {
    let app = spawn_app().await;
    app.authorize().await;
    age_token(&app).await;
    app.shopee.fail_next(
        Some(REFRESH_PATH),
        1,
        ApiFault::Error {
            error: "refresh_token_expired".into(),
            message: "refresh token expired".into(),
        },
    );
    app.server.engine.refresh_due().await.unwrap();
    let (a, s) = ids();
    let auth = app.server.engine.store().shop_auth(&a, s).await.unwrap().unwrap();
    assert_eq!(auth.status, ShopAuthStatus::NeedsReauthorization);
    assert!(auth.status_reason.unwrap_or_default().contains("refresh_token_expired"));
    app.dispatch().await;
    let md = app.markdowns();
    assert_eq!(md.len(), 1, "the admins hear about it: {md:?}");
    assert!(md[0].contains("店铺需要重新授权"), "{}", md[0]);
    // No retry loop: the next pass leaves the shop alone.
    let calls = refresh_calls(&app);
    app.server.engine.refresh_due().await.unwrap();
    assert_eq!(refresh_calls(&app), calls);
    // Orders still reach WeCom, without details, until the seller authorizes again.
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert_eq!(app.cards().len(), 1);
    app.authorize().await;
    assert_eq!(
        app.server
            .engine
            .store()
            .shop_auth(&a, s)
            .await
            .unwrap()
            .unwrap()
            .status,
        ShopAuthStatus::Active
    );
}

const SHOP2: u64 = 727720656;
const MAIN_ACCOUNT: u64 = 90001;

/// Two shops of one main account, both configured in shoprelay.
async fn spawn_main_account() -> TestApp {
    let mut shopee = ShopeeSimConfig::default();
    shopee.shops.push(SimShop {
        shop_id: SHOP2,
        region: "SG".into(),
        name: "Second Shop SG".into(),
    });
    shopee.main_accounts.push(SimMainAccount {
        main_account_id: MAIN_ACCOUNT,
        shop_ids: vec![SHOP, SHOP2],
        merchant_ids: vec![],
    });
    spawn_app_with(Options {
        shopee,
        extra_toml: format!(
            "\n[[shopee.shops]]\napp = \"{APP}\"\nshop_id = {SHOP2}\nname = \"第二店铺\"\nregion = \"SG\"\n"
        ),
        ..Options::default()
    })
    .await
}

/// shoprelay's authorization link, as the seller's browser is sent to it (the redirect not followed).
async fn authorization_link(app: &TestApp) -> String {
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = no_redirect
        .get(format!("{}/auth/shopee/{APP}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status().as_u16(), 303, "{:?}", start.text().await);
    start.headers()["location"].to_str().unwrap().to_owned()
}

async fn age_shop(app: &TestApp, shop: u64) {
    let (a, _) = ids();
    let store = app.server.engine.store();
    let mut auth = store.shop_auth(&a, ShopId::new(shop).unwrap()).await.unwrap().unwrap();
    auth.access_expires_at = app.clock.now() + Duration::from_secs(60);
    assert!(store.rotate_shop_tokens(&auth, UnixMs::EPOCH).await.unwrap());
}

#[tokio::test]
async fn a_main_accounts_shops_each_refresh_into_tokens_of_their_own() {
    let app = spawn_main_account().await;
    // The seller approves as the main account on Shopee's page.
    let link = authorization_link(&app).await + &format!("&sim_main_account_id={MAIN_ACCOUNT}");
    let done = app.land(&link).await;
    assert!(
        done.contains(&format!("{SHOP}")) && done.contains(&format!("{SHOP2}")),
        "{done}"
    );
    let (a, _) = ids();
    let store = app.server.engine.store();
    let tokens = |shop: u64| {
        let a = a.clone();
        async move { store.shop_auth(&a, ShopId::new(shop).unwrap()).await.unwrap().unwrap() }
    };
    assert_eq!(
        tokens(SHOP).await.access_token,
        tokens(SHOP2).await.access_token,
        "the initial pair is shared"
    );

    for round in 0..2 {
        age_shop(&app, SHOP).await;
        age_shop(&app, SHOP2).await;
        assert_eq!(app.server.engine.refresh_due().await.unwrap(), 2, "round {round}");
        let (one, two) = (tokens(SHOP).await, tokens(SHOP2).await);
        assert_eq!(
            (one.status, two.status),
            (ShopAuthStatus::Active, ShopAuthStatus::Active),
            "round {round}"
        );
        assert_ne!(
            one.refresh_token, two.refresh_token,
            "each shop holds its own refresh token"
        );
        assert_ne!(
            one.access_token, two.access_token,
            "each shop holds its own access token"
        );
    }
    let refreshes: Vec<_> = app
        .shopee
        .api_calls()
        .into_iter()
        .filter(|c| c.path == REFRESH_PATH)
        .collect();
    assert_eq!(refreshes.len(), 4);
    assert!(refreshes.iter().all(|c| c.error.is_none()), "{refreshes:?}");

    // Past the old tokens' 5-minute grace, each shop's calls work with its own token.
    app.shopee.advance_clock(600);
    for shop in [SHOP, SHOP2] {
        app.shopee
            .create_order(NewOrder {
                shop_id: Some(shop),
                buyer_username: Some("buyer_ana".into()),
                status: Some("READY_TO_SHIP".into()),
                items: vec![NewItem {
                    item_name: "陶瓷马克杯".into(),
                    item_sku: "MUG".into(),
                    model_name: String::new(),
                    model_sku: String::new(),
                    quantity: 1,
                    price: 12.9,
                    original_price: None,
                }],
                ..NewOrder::default()
            })
            .await
            .unwrap();
    }
    app.dispatch_until_settled().await;
    let details: Vec<_> = app
        .shopee
        .api_calls()
        .into_iter()
        .filter(|c| c.path == "/api/v2/order/get_order_detail")
        .collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details.iter().all(|c| c.error.is_none()), "{details:?}");
    assert_eq!(app.cards().len(), 2);
}

#[tokio::test]
async fn a_refresh_token_spent_elsewhere_asks_once_for_authorization_again() {
    let app = spawn_app().await;
    app.authorize().await;
    let (a, s) = ids();
    let store = app.server.engine.store();
    // Another installation (or a restored backup) spends the stored refresh token first.
    let stolen = store.shop_auth(&a, s).await.unwrap().unwrap().refresh_token;
    let shopee_app = shoprelay_marketplaces::shopee::ShopeeApp {
        partner_id: 2001887,
        partner_key: shoprelay_core::secret::Secret::new(PARTNER_KEY),
        api_base: app.shopee.base_url().to_owned(),
    };
    shoprelay_marketplaces::shopee::ShopeeClient::new(reqwest::Client::new(), app.clock.shared())
        .refresh_access_token(&shopee_app, stolen.expose(), s)
        .await
        .unwrap();
    age_token(&app).await;
    for _ in 0..3 {
        app.server.engine.refresh_due().await.unwrap();
    }
    let auth = store.shop_auth(&a, s).await.unwrap().unwrap();
    assert_eq!(auth.status, ShopAuthStatus::NeedsReauthorization);
    assert!(auth.status_reason.unwrap_or_default().contains("error_auth"));
    let refused: Vec<_> = app
        .shopee
        .api_calls()
        .into_iter()
        .filter(|c| c.path == REFRESH_PATH && c.error.is_some())
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "no retry after Shopee said the token is dead: {refused:?}"
    );
    assert_eq!(refused[0].error.as_deref(), Some("error_auth"));
    app.dispatch().await;
    let md = app.markdowns();
    assert_eq!(md.len(), 1, "the admins hear about it once: {md:?}");
    assert!(md[0].contains("店铺需要重新授权"), "{}", md[0]);
}

#[tokio::test]
async fn an_expire_in_given_as_a_unix_time_is_read_as_one() {
    let app = spawn_app_with(Options {
        shopee: ShopeeSimConfig {
            expire_in_as_epoch: true,
            ..ShopeeSimConfig::default()
        },
        ..Options::default()
    })
    .await;
    app.authorize().await;
    let (a, s) = ids();
    let now = app.clock.now();
    let auth = app.server.engine.store().shop_auth(&a, s).await.unwrap().unwrap();
    let four_hours = now + Duration::from_secs(4 * 3600);
    assert!(
        auth.access_expires_at.millis_since(four_hours).abs() <= 60_000,
        "expires at {} (now {now})",
        auth.access_expires_at
    );
}

#[tokio::test]
async fn the_redirect_must_bring_back_the_links_state_once() {
    let app = spawn_app().await;
    let link = authorization_link(&app).await;
    let url = url::Url::parse(&link).unwrap();
    assert_eq!(url.path(), "/auth", "the current unsigned link by default: {link}");
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["auth_type"], "seller");
    assert_eq!(query["response_type"], "code");
    assert!(query["redirect_uri"].ends_with(&format!("/auth/shopee/{APP}/callback")));
    assert_eq!(query["state"].len(), 32);

    // Shopee's redirect, stopped before it reaches shoprelay.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = no_redirect.get(&link).send().await.unwrap();
    let back = url::Url::parse(approved.headers()["location"].to_str().unwrap()).unwrap();
    let back_query: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(back_query["state"], query["state"], "Shopee echoes the state");

    // A forged redirect: a real code, but a state this server never issued.
    let mut forged = back.clone();
    forged
        .query_pairs_mut()
        .clear()
        .append_pair("code", &back_query["code"])
        .append_pair("shop_id", &SHOP.to_string())
        .append_pair("state", "0123456789abcdef0123456789abcdef");
    let refused = app.http.get(forged).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(
        refused.json::<serde_json::Value>().await.unwrap()["code"],
        "auth.bad_state"
    );
    let (a, s) = ids();
    assert!(
        app.server.engine.store().shop_auth(&a, s).await.unwrap().is_none(),
        "a redirect without the right state binds nothing"
    );
    assert!(
        !app.shopee
            .api_calls()
            .iter()
            .any(|c| c.path == "/api/v2/auth/token/get"),
        "and spends no code"
    );

    let done = app.land(back.as_str()).await;
    assert!(done.contains(&format!("shops={SHOP}")), "{done}");
    let replayed = app.http.get(back).send().await.unwrap();
    assert_eq!(replayed.status().as_u16(), 400, "a state is good once");
}

#[tokio::test]
async fn the_legacy_signed_link_carries_the_state_in_its_redirect() {
    let app = spawn_app_with(Options {
        shopee_app_toml: "auth_link = \"legacy\"".into(),
        ..Options::default()
    })
    .await;
    let link = authorization_link(&app).await;
    let url = url::Url::parse(&link).unwrap();
    assert_eq!(url.path(), "/api/v2/shop/auth_partner", "{link}");
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert!(query.contains_key("sign"));
    assert!(query["redirect"].contains("/callback?state="), "{}", query["redirect"]);
    let done = app.land(&link).await;
    assert!(done.contains(&format!("shops={SHOP}")), "{done}");
}
