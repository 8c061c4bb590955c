//! Shop authorization: the OAuth redirect flow, refresh before expiry (single-flight, single-use refresh
//! tokens), and a dead refresh token turning into "needs re-authorization" plus a message to the admins.

use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_sim::shopee::ApiFault;
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
    let store = &app.server.engine.store;
    let mut auth = store.shop_auth(&a, s).await.unwrap().unwrap();
    auth.access_expires_at = shoprelay_engine::clock::now_secs() + 60;
    assert!(store.rotate_shop_tokens(&auth, 0).await.unwrap());
}

#[tokio::test]
async fn the_oauth_flow_stores_tokens_and_never_shows_them() {
    let app = spawn_app().await;
    app.authorize().await;
    let (a, s) = ids();
    let auth = app.server.engine.store.shop_auth(&a, s).await.unwrap().unwrap();
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
    let before = app.server.engine.store.shop_auth(&a, s).await.unwrap().unwrap();
    assert_eq!(
        app.server.engine.refresh_due().await.unwrap(),
        0,
        "fresh tokens are left alone"
    );
    age_token(&app).await;
    assert_eq!(app.server.engine.refresh_due().await.unwrap(), 1);
    let after = app.server.engine.store.shop_auth(&a, s).await.unwrap().unwrap();
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "single-use refresh token rotated"
    );
    assert!(after.access_expires_at > shoprelay_engine::clock::now_secs() + 3600);
    // The rotated pair works for the next refresh (the old one is dead at Shopee).
    age_token(&app).await;
    assert_eq!(app.server.engine.refresh_due().await.unwrap(), 1);
    assert_eq!(
        app.server.engine.store.shop_auth(&a, s).await.unwrap().unwrap().status,
        ShopAuthStatus::Active
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_shop_are_single_flight() {
    let app = spawn_app().await;
    app.authorize().await;
    let (a, s) = ids();
    let version = app.server.engine.store.shop_auth(&a, s).await.unwrap().unwrap().version;
    let engine = &app.server.engine;
    let results = futures::future::join_all((0..8).map(|_| engine.refresh_shop(&a, s, version))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(refresh_calls(&app), 1, "one refresh reached Shopee");
    assert_eq!(
        engine.store.shop_auth(&a, s).await.unwrap().unwrap().status,
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
    let auth = app.server.engine.store.shop_auth(&a, s).await.unwrap().unwrap();
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
        app.server.engine.store.shop_auth(&a, s).await.unwrap().unwrap().status,
        ShopAuthStatus::Active
    );
}
