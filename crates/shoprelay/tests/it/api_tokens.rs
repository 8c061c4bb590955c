//! API tokens for automation end to end: made on the console (shown once, CSRF-checked, recorded), used
//! within their scope, refused beyond it with a typed 403, and refused with 401 once revoked.

use std::time::Duration;

use reqwest::header::LOCATION;
use reqwest::StatusCode;

use crate::console::{csrf_of, first_admin, get_page, post_form};
use crate::helpers::{spawn_app, TestApp};

/// Creates a token through the console page; answers it as the page showed it.
async fn create_on_console(app: &TestApp, session: &str, name: &str, scope: &str) -> String {
    let (status, page) = get_page(app, session, "/console/tokens").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = csrf_of(&page);
    let created = post_form(
        app,
        session,
        "/console/tokens",
        &[("csrf", csrf.as_str()), ("name", name), ("scope", scope)],
    )
    .await;
    assert_eq!(created.status(), StatusCode::OK);
    let html = created.text().await.unwrap();
    let at = html.find("id=\"new-token\">").expect("the new token is shown") + "id=\"new-token\">".len();
    let token: String = html[at..].chars().take_while(|c| *c != '<').collect();
    assert!(token.starts_with("srt_") && token.len() == 68, "{token}");
    token
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.base))
        .header("authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn tokens_are_scoped_shown_once_recorded_and_revocable() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let read = create_on_console(&app, &session, "dashboards", "read").await;
    let operate = create_on_console(&app, &session, "ops-bot", "operate").await;

    // A form without its CSRF token makes nothing.
    let forged = post_form(
        &app,
        &session,
        "/console/tokens",
        &[("name", "evil"), ("scope", "admin")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Reads pass with any scope; the use is noted.
    let listed = call(&app, reqwest::Method::GET, "/api/v1/rules", &read, None).await;
    assert_eq!(listed.status(), StatusCode::OK);
    let stored = app.server.engine.store().list_api_tokens().await.unwrap();
    assert!(stored[0].last_used_at.is_some(), "{stored:?}");

    // A write beyond the scope: a typed 403 in both languages.
    let denied = call(&app, reqwest::Method::POST, "/api/v1/rules/orders/disable", &read, None).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = denied.json().await.unwrap();
    assert_eq!(body["code"], "api.scope_denied", "{body}");
    assert!(body["message"].as_str().unwrap().contains("dashboards"), "{body}");
    assert!(body["message_en"].as_str().unwrap().contains("needs admin"), "{body}");
    let replay = r#"{"shop_id": 1}"#;
    let denied = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/deliveries/replay",
        &read,
        Some(replay),
    )
    .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN, "read cannot replay");

    // operate may replay, not change rules.
    let replayed = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/deliveries/replay",
        &operate,
        Some(replay),
    )
    .await;
    assert_eq!(replayed.status(), StatusCode::OK, "{}", replayed.text().await.unwrap());
    let denied = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/rules/orders/disable",
        &operate,
        None,
    )
    .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    // A token that is sent must be good, even on a server that needs none.
    let wrong = call(&app, reqwest::Method::GET, "/api/v1/rules", "srt_nope", None).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Revoked: 401 from then on.
    let (_, page) = get_page(&app, &session, "/console/tokens").await;
    assert!(!page.contains(&read), "the token is shown once, never listed");
    let id = stored.iter().find(|t| t.name == "dashboards").unwrap().id;
    let revoked = post_form(
        &app,
        &session,
        &format!("/console/tokens/{id}/revoke"),
        &[("csrf", csrf_of(&page).as_str())],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(revoked.headers()[LOCATION], "/console/tokens");
    let gone = call(&app, reqwest::Method::GET, "/api/v1/rules", &read, None).await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(body["code"], "api.unauthorized");
    let still = call(&app, reqwest::Method::GET, "/api/v1/status", &operate, None).await;
    assert_eq!(still.status(), StatusCode::OK, "only that token");

    // Each change is in the console actions, with who made it.
    let (_, actions) = get_page(&app, &session, "/console/actions").await;
    assert_eq!(actions.matches("token.create").count(), 2, "{actions}");
    assert_eq!(actions.matches("token.revoke").count(), 1);
}

#[tokio::test]
async fn only_admins_manage_tokens_and_use_is_noted_at_most_once_a_minute() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let token = create_on_console(&app, &session, "ci", "admin").await;
    let first = call(&app, reqwest::Method::GET, "/api/v1/status", &token, None).await;
    assert_eq!(first.status(), StatusCode::OK);
    let used = |app: &TestApp| {
        let store = app.server.engine.store().clone();
        async move { store.list_api_tokens().await.unwrap()[0].last_used_at.unwrap() }
    };
    let at = used(&app).await;
    app.clock.advance(Duration::from_secs(30));
    call(&app, reqwest::Method::GET, "/api/v1/status", &token, None).await;
    assert_eq!(used(&app).await, at, "not rewritten within the minute");
    app.clock.advance(Duration::from_secs(31));
    call(&app, reqwest::Method::GET, "/api/v1/status", &token, None).await;
    assert_eq!(used(&app).await, at + Duration::from_secs(61));

    // An admin token may change rules.
    let disabled = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/rules/orders/disable",
        &token,
        None,
    )
    .await;
    assert_eq!(disabled.status(), StatusCode::OK, "{}", disabled.text().await.unwrap());

    // A viewer sees no token page.
    let users = app.server.engine.console();
    let admin = app.server.engine.store().console_user("ops").await.unwrap().unwrap();
    users
        .create_user(&admin, "vera", "correct horse battery", shoprelay_store::Role::Viewer)
        .await
        .unwrap();
    let viewer = users.login("vera", "correct horse battery").await.unwrap();
    let (status, _) = get_page(&app, viewer.token.expose(), "/console/tokens").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_cli_creates_lists_and_revokes_tokens_on_the_servers_database() {
    use crate::cli::{bin, serve, wait_healthy};
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = serve(dir.path(), &[], &[("SHOPRELAY_LISTEN", "127.0.0.1:0")]);
    wait_healthy(&base).await;
    let tokens = |args: &[&str]| bin().current_dir(dir.path()).arg("tokens").args(args).output().unwrap();

    let made = tokens(&["create", "--name", "ci", "--scope", "read"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("srt_"), "stdout is the token alone: {token}");
    let http = reqwest::Client::new();
    let get = |token: String| {
        let request = http
            .get(format!("{base}/api/v1/status"))
            .header("authorization", format!("Bearer {token}"));
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(get(token.clone()).await, StatusCode::OK);
    let denied = http
        .post(format!("{base}/api/v1/deliveries/replay"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(r#"{"shop_id": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let listed = String::from_utf8(tokens(&["list"]).stdout).unwrap();
    assert!(listed.lines().any(|l| l.starts_with("1\tci\tread\tcli\t")), "{listed}");
    assert!(!listed.contains(&token), "never listed");

    assert!(tokens(&["revoke", "1"]).status.success());
    assert_eq!(get(token).await, StatusCode::UNAUTHORIZED);
    let again = tokens(&["revoke", "1"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("tokens.not_found"));
}

#[tokio::test]
async fn writes_through_the_api_are_recorded_with_the_token_that_made_them() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let admin = create_on_console(&app, &session, "deployer", "admin").await;
    let operate = create_on_console(&app, &session, "ops-bot", "operate").await;
    let rule = r#"{"events": ["order_created"], "targets": [{"type": "robot", "robot": "ops"}]}"#;
    let shop = crate::helpers::SHOP;
    let writes = [
        (
            reqwest::Method::PUT,
            "/api/v1/rules/nightly".to_owned(),
            &admin,
            Some(rule.to_owned()),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/rules/nightly/disable".into(),
            &admin,
            None,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/rules/nightly/enable".into(),
            &admin,
            None,
        ),
        (reqwest::Method::DELETE, "/api/v1/rules/nightly".into(), &admin, None),
        (
            reqwest::Method::PUT,
            format!("/api/v1/shops/main/{shop}/data-policy"),
            &admin,
            Some(r#"{"fields": []}"#.into()),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/deliveries/replay".into(),
            &operate,
            Some(r#"{"destination": "robot:ops"}"#.into()),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/buyers/forget".into(),
            &operate,
            Some(format!(r#"{{"shop_id": {shop}, "buyer": "alice_buyer"}}"#)),
        ),
    ];
    for (method, path, token, body) in writes {
        let r = call(&app, method, &path, token, body.as_deref()).await;
        assert!(r.status().is_success(), "{path}: {}", r.text().await.unwrap());
    }
    let console = app.server.engine.console();
    let by = |actor: &'static str| {
        let console = &console;
        async move {
            let mut rows = console.actions(Some(actor.into()), None, None).await.unwrap();
            rows.reverse();
            rows
        }
    };
    let deployer = by("token:deployer").await;
    let done: Vec<(&str, Option<&str>)> = deployer
        .iter()
        .map(|a| (a.action.as_str(), a.target.as_deref()))
        .collect();
    let policy_target = format!("main/{shop}");
    assert_eq!(
        done,
        vec![
            ("rule.save", Some("nightly")),
            ("rule.disable", Some("nightly")),
            ("rule.enable", Some("nightly")),
            ("rule.delete", Some("nightly")),
            ("shop.data_policy", Some(policy_target.as_str())),
        ]
    );
    assert!(deployer[0].detail.contains("Created"), "{deployer:?}");
    let ops = by("token:ops-bot").await;
    let done: Vec<&str> = ops.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(done, vec!["deliveries.replay", "buyer.forget"], "{ops:?}");
    assert_eq!(ops[0].target.as_deref(), Some("robot:ops"));
    assert!(
        ops.iter().all(|a| !a.detail.contains("alice_buyer")),
        "the forgotten buyer is not named: {ops:?}"
    );

    // Without a token (a loopback server with none configured) the caller is named as such.
    let local = app
        .http
        .post(format!("{}/api/v1/rules/orders/disable", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), StatusCode::OK);
    assert_eq!(by("api:local").await[0].action, "rule.disable");
    let (_, page) = get_page(&app, &session, "/console/actions?actor=token:deployer").await;
    assert!(
        page.contains("rule.delete") && page.contains("token:deployer"),
        "{page}"
    );
}
