//! WeCom QR login end to end against the simulator: the login page offers it, the link carries a state
//! bound to the browser, WeCom's login page sends the browser back with a code, and the member linked to
//! a console user gets a session exactly as with a password. Everything else is refused with its reason.

use reqwest::header::{COOKIE, LOCATION};
use reqwest::{Response, StatusCode};
use shoprelay_sim::wecom::{Fault, FaultAction};

use crate::console::{browser, csrf_of, first_admin, get_page, post_form, set_cookie};
use crate::helpers::{spawn_app, spawn_app_with, Options, TestApp};

const AGENT_ID: i64 = 1000002;

/// A browser's WeCom login under way: the cookie binding it and the link to WeCom's login page.
struct Started {
    cookie: String,
    link: reqwest::Url,
}

impl Started {
    fn state(&self) -> String {
        self.param("state")
    }

    fn param(&self, name: &str) -> String {
        self.link
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("the link has no {name}: {}", self.link))
    }
}

/// Opens the login page and clicks 企业微信扫码登录.
async fn start(app: &TestApp) -> Started {
    let http = browser();
    let page = http.get(format!("{}/console/login", app.base)).send().await.unwrap();
    let (pre, _) = set_cookie(&page, "shoprelay_pre").unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let wecom = app.wecom.base_url();
    assert!(
        csp.contains(&format!("form-action 'self' {}", wecom.trim_end_matches('/'))),
        "the button's form may be redirected to WeCom's login page (browsers hold redirects to form-action): {csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("企业微信扫码登录"),
        "offered while a WeCom app is configured: {html}"
    );
    let r = http
        .post(format!("{}/console/login/wecom/start", app.base))
        .header(COOKIE, format!("shoprelay_pre={pre}"))
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (cookie, header) = set_cookie(&r, "shoprelay_wecom_login").expect("the link is bound to this browser");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax") && header.contains("Path=/console/login/wecom"),
        "sent back on WeCom's cross-site redirect, to the callback only: {header}"
    );
    let link = reqwest::Url::parse(r.headers()[LOCATION].to_str().unwrap()).unwrap();
    Started { cookie, link }
}

/// WeCom sends the browser back with `code` and `state`; `cookie` is what the browser holds.
async fn come_back(app: &TestApp, cookie: Option<&str>, code: &str, state: &str) -> Response {
    let mut request = browser()
        .get(format!("{}/console/login/wecom", app.base))
        .query(&[("code", code), ("state", state)]);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, format!("shoprelay_wecom_login={cookie}"));
    }
    request.send().await.unwrap()
}

/// Asserts a refusal: its status, its stable code on the page, and no session.
async fn refused(r: Response, status: StatusCode, code: &str) {
    assert_eq!(r.status(), status);
    assert!(set_cookie(&r, "shoprelay_session").is_none(), "no session");
    let html = r.text().await.unwrap();
    assert!(html.contains(code), "{code} expected: {html}");
}

/// Links console user `username` to WeCom member `userid` on the users page, as admin `session`.
async fn link(app: &TestApp, session: &str, username: &str, userid: &str) -> Response {
    let (_, users) = get_page(app, session, "/console/users").await;
    let csrf = csrf_of(&users);
    post_form(
        app,
        session,
        &format!("/console/users/{username}/wecom"),
        &[("csrf", csrf.as_str()), ("wecom_userid", userid)],
    )
    .await
}

/// Creates user `username` (a viewer) as admin `session`.
async fn create_user(app: &TestApp, session: &str, username: &str) {
    let (_, users) = get_page(app, session, "/console/users").await;
    let csrf = csrf_of(&users);
    let r = post_form(
        app,
        session,
        "/console/users",
        &[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", "another long password"),
            ("role", "viewer"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_linked_member_scans_through_wecoms_login_page_and_gets_a_session() {
    let app = spawn_app().await;
    let admin = first_admin(&app).await;
    assert_eq!(
        link(&app, &admin, "ops", "ZhangSan").await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, users) = get_page(&app, &admin, "/console/users").await;
    assert!(users.contains("value=\"ZhangSan\""), "the users page shows the link");

    let started = start(&app).await;
    assert_eq!(started.param("login_type"), "CorpApp");
    assert_eq!(started.param("appid"), app.wecom.config().corp_id);
    assert_eq!(started.param("agentid"), AGENT_ID.to_string());
    assert_eq!(
        started.param("redirect_uri"),
        format!("{}/console/login/wecom", app.base)
    );

    // WeCom's login page (the simulator's), then the member's scan, which sends the browser back.
    let http = browser();
    let page = http.get(started.link.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let href = html
        .split("href=\"")
        .filter_map(|part| part.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .find(|href| href.starts_with("/wwlogin/sso/scan?") && href.ends_with("userid=zhangsan"))
        .expect("a scan link per member");
    let scanned = http
        .get(format!("{}{href}", app.wecom.base_url()))
        .send()
        .await
        .unwrap();
    assert!(scanned.status().is_redirection());
    let back = reqwest::Url::parse(scanned.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(
        back.as_str().starts_with(&format!("{}/console/login/wecom?", app.base)),
        "{back}"
    );
    let r = http
        .get(back)
        .header(COOKIE, format!("shoprelay_wecom_login={}", started.cookie))
        .send()
        .await
        .unwrap();

    assert_eq!(r.status(), StatusCode::OK);
    let (session, header) = set_cookie(&r, "shoprelay_session").expect("a session, as a password login gives");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Strict"),
        "{header}"
    );
    let (forgotten, _) = set_cookie(&r, "shoprelay_wecom_login").expect("the link is spent");
    assert!(forgotten.is_empty());
    assert!(r.text().await.unwrap().contains("url=/console"), "on into the console");
    let (status, home) = get_page(&app, &session, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("ops"), "logged in as the linked user: {home}");

    let (_, actions) = get_page(&app, &admin, "/console/actions?actor=ops").await;
    assert!(
        actions.contains("user.wecom") && actions.contains("WeCom userid ZhangSan"),
        "{actions}"
    );
    assert!(
        actions.contains("session.login") && actions.contains("WeCom QR login as ZhangSan"),
        "recorded like a password login: {actions}"
    );
}

#[tokio::test]
async fn unlinked_members_outsiders_and_disabled_users_are_refused() {
    let app = spawn_app().await;
    let admin = first_admin(&app).await;
    create_user(&app, &admin, "ann").await;

    let s = start(&app).await;
    let code = app.wecom.scan_login(AGENT_ID, "lisi");
    let r = come_back(&app, Some(&s.cookie), &code, &s.state()).await;
    refused(r, StatusCode::FORBIDDEN, "console.wecom_unlinked").await;

    let s = start(&app).await;
    let code = app.wecom.scan_login(AGENT_ID, "stranger");
    let r = come_back(&app, Some(&s.cookie), &code, &s.state()).await;
    refused(r, StatusCode::FORBIDDEN, "console.wecom_not_member").await;

    assert_eq!(link(&app, &admin, "ann", "lisi").await.status(), StatusCode::SEE_OTHER);
    let r = link(&app, &admin, "ops", "LISI").await;
    refused(r, StatusCode::CONFLICT, "console.wecom_taken").await;
    let r = link(&app, &admin, "ops", "李四").await;
    refused(r, StatusCode::BAD_REQUEST, "console.bad_wecom_userid").await;

    let (_, users) = get_page(&app, &admin, "/console/users").await;
    let csrf = csrf_of(&users);
    let r = post_form(
        &app,
        &admin,
        "/console/users/ann",
        &[("csrf", csrf.as_str()), ("role", "viewer"), ("disabled", "1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let s = start(&app).await;
    let code = app.wecom.scan_login(AGENT_ID, "lisi");
    let r = come_back(&app, Some(&s.cookie), &code, &s.state()).await;
    refused(r, StatusCode::FORBIDDEN, "console.account_disabled").await;
}

#[tokio::test]
async fn a_code_works_once_and_for_five_minutes() {
    let app = spawn_app().await;
    let admin = first_admin(&app).await;
    link(&app, &admin, "ops", "zhangsan").await;

    let s = start(&app).await;
    let code = app.wecom.scan_login(AGENT_ID, "zhangsan");
    let r = come_back(&app, Some(&s.cookie), &code, &s.state()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(set_cookie(&r, "shoprelay_session").is_some());

    // The same code again, even through a fresh, valid link: WeCom spent it.
    let s = start(&app).await;
    let r = come_back(&app, Some(&s.cookie), &code, &s.state()).await;
    refused(r, StatusCode::BAD_REQUEST, "wecom.login_code_invalid").await;

    // A code exchanged after its five minutes.
    let s = start(&app).await;
    let code = app.wecom.scan_login(AGENT_ID, "zhangsan");
    app.wecom.advance_clock(std::time::Duration::from_secs(301));
    let r = come_back(&app, Some(&s.cookie), &code, &s.state()).await;
    refused(r, StatusCode::BAD_REQUEST, "wecom.login_code_invalid").await;
}

#[tokio::test]
async fn a_forged_foreign_or_replayed_state_is_refused_before_the_code_is_spent() {
    let app = spawn_app().await;
    let admin = first_admin(&app).await;
    link(&app, &admin, "ops", "zhangsan").await;

    let mine = start(&app).await;
    let code = app.wecom.scan_login(AGENT_ID, "zhangsan");
    // Forged, missing, without this browser's cookie, or another browser's link (login CSRF).
    let theirs = start(&app).await;
    for (cookie, state) in [
        (Some(mine.cookie.as_str()), "0".repeat(64)),
        (Some(mine.cookie.as_str()), String::new()),
        (None, mine.state()),
        (Some(mine.cookie.as_str()), theirs.state()),
        (Some(theirs.cookie.as_str()), mine.state()),
    ] {
        let r = come_back(&app, cookie, &code, &state).await;
        refused(r, StatusCode::BAD_REQUEST, "console.wecom_state_invalid").await;
    }

    // None of that spent the link or the code.
    let r = come_back(&app, Some(&mine.cookie), &code, &mine.state()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(set_cookie(&r, "shoprelay_session").is_some());

    // The link works once.
    let code = app.wecom.scan_login(AGENT_ID, "zhangsan");
    let r = come_back(&app, Some(&mine.cookie), &code, &mine.state()).await;
    refused(r, StatusCode::BAD_REQUEST, "console.wecom_state_invalid").await;
}

#[tokio::test]
async fn wecom_errors_are_explained() {
    let app = spawn_app().await;
    let admin = first_admin(&app).await;
    link(&app, &admin, "ops", "zhangsan").await;

    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/auth/getuserinfo",
        1,
        FaultAction::Errcode { errcode: 50001 },
    ));
    let s = start(&app).await;
    let code = app.wecom.scan_login(AGENT_ID, "zhangsan");
    let r = come_back(&app, Some(&s.cookie), &code, &s.state()).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("wecom.redirect_domain_untrusted") && html.contains("可信域名"),
        "{html}"
    );

    // No code at all (the scan cancelled).
    let s = start(&app).await;
    let r = come_back(&app, Some(&s.cookie), "", &s.state()).await;
    refused(r, StatusCode::BAD_REQUEST, "console.wecom_no_code").await;
}

#[tokio::test]
async fn wecoms_login_page_refuses_a_redirect_domain_the_app_does_not_trust() {
    let app = spawn_app_with(Options {
        wecom_sim: |c| c.login_domains = vec!["relay.example.com".into()],
        ..Options::default()
    })
    .await;
    first_admin(&app).await;
    let s = start(&app).await;
    let page = browser().get(s.link.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("50001"), "nobody is sent back");
}
