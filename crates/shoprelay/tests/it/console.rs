//! The console's accounts end to end: the setup link makes the first admin once, forms need their CSRF
//! token, sessions are cookies the browser cannot read, roles limit pages, and every change is recorded.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, Response, StatusCode};

use shoprelay_sim::wecom::{Fault, FaultAction};

use crate::helpers::{spawn_app, TestApp};

/// A client that shows redirects instead of following them, so each answer's cookies can be read.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value a `Set-Cookie` of the response gives `name`, with the whole header.
pub fn set_cookie(response: &Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..].split(';').next().unwrap().to_owned();
            (value, v.to_owned())
        })
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("the page has a form with a CSRF token")
        + 19;
    html[at..at + 64].to_owned()
}

/// Makes the first admin `ops` through a fresh setup link; answers the session cookie.
pub async fn first_admin(app: &TestApp) -> String {
    let link = app.server.engine.console().setup_link("test").await.unwrap().unwrap();
    let http = browser();
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let (pre, _) = set_cookie(&page, "shoprelay_pre").expect("the form's page sets the pre-session cookie");
    let csrf = csrf_of(&page.text().await.unwrap());
    let done = http
        .post(&link)
        .header(COOKIE, format!("shoprelay_pre={pre}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ops"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{}", done.text().await.unwrap());
    let (session, _) = set_cookie(&done, "shoprelay_session").unwrap();
    session
}

/// GETs a console page with a session cookie.
pub async fn get_page(app: &TestApp, session: &str, path: &str) -> (StatusCode, String) {
    let r = browser()
        .get(format!("{}{path}", app.base))
        .header(COOKIE, format!("shoprelay_session={session}"))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// POSTs a console form with a session cookie (the CSRF token is the caller's to add).
pub async fn post_form(app: &TestApp, session: &str, path: &str, form: &[(&str, &str)]) -> Response {
    browser()
        .post(format!("{}{path}", app.base))
        .header(COOKIE, format!("shoprelay_session={session}"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Runs "test connection" from the console; the page it answers.
pub async fn test_connection(app: &TestApp, session: &str) -> String {
    let csrf = csrf_of(&get_page(app, session, "/console/onboarding").await.1);
    post_form(
        app,
        session,
        "/console/onboarding/test",
        &[("csrf", &csrf), ("test_user", "zhangsan")],
    )
    .await
    .text()
    .await
    .unwrap()
}

async fn login(app: &TestApp, user: &str, password: &str) -> Response {
    let http = browser();
    let page = http.get(format!("{}/console/login", app.base)).send().await.unwrap();
    let (pre, _) = set_cookie(&page, "shoprelay_pre").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    http.post(format!("{}/console/login", app.base))
        .header(COOKIE, format!("shoprelay_pre={pre}"))
        .form(&[("csrf", csrf.as_str()), ("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_setup_link_makes_the_first_admin_once_and_the_session_cookie_is_locked_down() {
    let app = spawn_app().await;
    let http = browser();
    let home = http.get(format!("{}/console", app.base)).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(
        home.text().await.unwrap().contains("shoprelay console setup-link"),
        "the setup notice"
    );

    let link = app.server.engine.console().setup_link("test").await.unwrap().unwrap();
    let page = http.get(&link).send().await.unwrap();
    let (pre, header) = set_cookie(&page, "shoprelay_pre").unwrap();
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Strict"),
        "{header}"
    );
    let csrf = csrf_of(&page.text().await.unwrap());

    // Without the token, or with another page's, the form is refused and nothing is created.
    for bad in ["", &"0".repeat(64)] {
        let r = http
            .post(&link)
            .header(COOKIE, format!("shoprelay_pre={pre}"))
            .form(&[
                ("csrf", bad),
                ("username", "ops"),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("console.csrf"));
    }
    let r = http
        .post(&link)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ops"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the token alone, without its cookie, is refused"
    );

    let short = http
        .post(&link)
        .header(COOKIE, format!("shoprelay_pre={pre}"))
        .form(&[("csrf", csrf.as_str()), ("username", "ops"), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(
        short.text().await.unwrap().contains("console.weak_password"),
        "the link stays usable"
    );

    let done = http
        .post(&link)
        .header(COOKIE, format!("shoprelay_pre={pre}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ops"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()[LOCATION], "/console/onboarding");
    let (session, header) = set_cookie(&done, "shoprelay_session").unwrap();
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Strict") && !header.contains("Secure"),
        "Secure only behind https: {header}"
    );
    assert_eq!(session.len(), 64);

    let again = http.get(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE, "the link works once");
    assert!(
        app.server.engine.console().setup_link("test").await.unwrap().is_none(),
        "no link once an admin exists"
    );

    let (status, page) = get_page(&app, &session, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("ops") && page.contains("管理员"), "Chinese by default");
    let (_, unauth) = (
        StatusCode::OK,
        browser()
            .get(format!("{}/console/users", app.base))
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(unauth.status(), StatusCode::SEE_OTHER, "no session: to the login page");
    assert_eq!(unauth.headers()[LOCATION], "/console/login");
}

#[tokio::test]
async fn roles_limit_pages_forms_need_csrf_and_admin_actions_are_recorded() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let (_, users) = get_page(&app, &session, "/console/users").await;
    let csrf = csrf_of(&users);

    let forged = post_form(
        &app,
        &session,
        "/console/users",
        &[("username", "ann"), ("password", "ann's password"), ("role", "viewer")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let cross = browser()
        .post(format!("{}/console/users", app.base))
        .header(COOKIE, format!("shoprelay_session={session}"))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ann"),
            ("password", "ann's password"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN, "another site's page");
    let made = post_form(
        &app,
        &session,
        "/console/users",
        &[
            ("csrf", &csrf),
            ("username", "ann"),
            ("password", "ann's password"),
            ("role", "viewer"),
        ],
    )
    .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);

    let wrong = login(&app, "ann", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("console.bad_login"));
    let unknown = login(&app, "nobody", "not the password").await;
    assert_eq!(
        unknown.status(),
        StatusCode::UNAUTHORIZED,
        "the same answer for an unknown name"
    );
    let ok = login(&app, "ann", "ann's password").await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let (ann, _) = set_cookie(&ok, "shoprelay_session").unwrap();
    let (status, page) = get_page(&app, &ann, "/console/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer may not manage users");
    assert!(page.contains("console.forbidden"));
    let ann_csrf = csrf_of(&get_page(&app, &ann, "/console").await.1);
    assert_ne!(ann_csrf, csrf, "each session has its own token");
    let escalate = post_form(
        &app,
        &ann,
        "/console/users/ann",
        &[("csrf", &ann_csrf), ("role", "admin")],
    )
    .await;
    assert_eq!(escalate.status(), StatusCode::FORBIDDEN);

    // The admin cannot demote themself while they are the only admin.
    let last = post_form(
        &app,
        &session,
        "/console/users/ops",
        &[("csrf", &csrf), ("role", "viewer")],
    )
    .await;
    assert_eq!(last.status(), StatusCode::CONFLICT);
    // Disabling ann ends her session.
    let off = post_form(
        &app,
        &session,
        "/console/users/ann",
        &[("csrf", &csrf), ("role", "viewer"), ("disabled", "1")],
    )
    .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get_page(&app, &ann, "/console").await.0,
        StatusCode::SEE_OTHER,
        "logged out"
    );

    let (_, actions) = get_page(&app, &session, "/console/actions").await;
    for expected in ["user.create", "user.update", "session.login", "setup.link"] {
        assert!(actions.contains(expected), "{expected} recorded: {actions}");
    }

    let out = post_form(&app, &session, "/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get_page(&app, &session, "/console").await.0,
        StatusCode::SEE_OTHER,
        "the session is gone"
    );
}

#[tokio::test]
async fn the_language_switch_goes_back_to_console_pages_only() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let r = browser()
        .get(format!("{}/console/lang/en?back=/console/users", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/console/users");
    assert!(set_cookie(&r, "shoprelay_lang").unwrap().0 == "en");
    for evil in ["https://evil.example", "//evil.example", "/console//evil.example"] {
        let r = browser()
            .get(format!("{}/console/lang/en?back={evil}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()[LOCATION], "/console", "{evil}");
    }
    let page = browser()
        .get(format!("{}/console", app.base))
        .header(COOKIE, format!("shoprelay_session={session}; shoprelay_lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Getting started") && page.contains("lang=\"en\""));
}

#[tokio::test]
async fn the_entity_check_explains_a_mismatch_until_it_is_fixed() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let (status, page) = get_page(&app, &session, "/console/entity").await;
    assert_eq!(status, StatusCode::OK);
    for code in [
        "ERR_SHOP_INACTIVE",
        "ERR_WECOM_UNVERIFIED",
        "ERR_ENTITY_MISSING",
        "ERR_WECOM_ENTITY_MISSING",
    ] {
        assert!(page.contains(code), "{code}: {page}");
    }
    let csrf = csrf_of(&page);
    app.authorize().await;
    let wecom = post_form(
        &app,
        &session,
        "/console/entity/wecom",
        &[
            ("csrf", &csrf),
            ("name", "深圳市某某科技有限责任公司"),
            ("verified", "1"),
        ],
    )
    .await;
    assert_eq!(wecom.status(), StatusCode::SEE_OTHER);
    let path = format!("/console/entity/shop/{}/{}", crate::helpers::APP, crate::helpers::SHOP);
    let shop = post_form(
        &app,
        &session,
        &path,
        &[("csrf", &csrf), ("legal_entity", "深圳市某某科技（深圳）有限公司")],
    )
    .await;
    assert_eq!(shop.status(), StatusCode::SEE_OTHER);

    let (_, page) = get_page(&app, &session, "/console/entity").await;
    assert!(page.contains("ERR_AUTH_MISMATCH"), "{page}");
    for gone in ["ERR_SHOP_INACTIVE", "ERR_WECOM_UNVERIFIED", "ERR_ENTITY_MISSING"] {
        assert!(!page.contains(gone), "{gone} fixed: {page}");
    }
    assert!(
        page.contains("<del>(深圳)</del>"),
        "the shop's extra characters, normalized: {page}"
    );
    assert!(page.contains("<ins>责任</ins>"), "WeCom's extra characters: {page}");
    assert!(page.contains("修改店铺一侧"), "which side to change");

    // Width and spaces are no difference; the form carries the fix.
    let fixed = post_form(
        &app,
        &session,
        &path,
        &[("csrf", &csrf), ("legal_entity", "深圳市某某科技 有限责任公司")],
    )
    .await;
    assert_eq!(fixed.status(), StatusCode::SEE_OTHER);
    let (_, page) = get_page(&app, &session, "/console/entity").await;
    assert!(
        !page.contains("ERR_AUTH_MISMATCH") && page.contains("主体一致"),
        "{page}"
    );

    // What anyone typed is shown as text, never run.
    post_form(
        &app,
        &session,
        &path,
        &[("csrf", &csrf), ("legal_entity", "<script>alert(1)</script>有限公司")],
    )
    .await;
    let (_, page) = get_page(&app, &session, "/console/entity").await;
    assert!(!page.contains("<script>alert") && page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    let (_, actions) = get_page(&app, &session, "/console/actions").await;
    assert!(actions.contains("entity.shop") && actions.contains("entity.wecom"));
}

#[tokio::test]
async fn the_authorization_redirect_lands_in_the_console_naming_the_shop_bound() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let shop = crate::helpers::SHOP;
    let landing = app
        .land(&format!("{}/auth/shopee/{}", app.base, crate::helpers::APP))
        .await;
    let (status, page) = get_page(&app, &session, &landing).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("授权成功") && page.contains(&format!("测试店铺 (main/{shop})")),
        "{page}"
    );
    let en = browser()
        .get(format!("{}{landing}", app.base))
        .header(COOKIE, format!("shoprelay_session={session}; shoprelay_lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Authorized: shop(s) ") && en.contains("now bound"), "{en}");

    // A hand-made link names nothing that is not bound.
    let (_, forged) = get_page(&app, &session, "/console/onboarding?authorized=main&shops=12345").await;
    assert!(!forged.contains("授权成功"), "{forged}");

    // Back from the marketplace's site the Strict session cookie is not sent: the page reloads itself
    // once (a same-site navigation, which carries it), and only then asks for a login.
    let bounced = browser().get(format!("{}{landing}", app.base)).send().await.unwrap();
    assert_eq!(bounced.status(), StatusCode::OK);
    let bounced = bounced.text().await.unwrap();
    let again = format!("url=/console/onboarding?authorized=main&amp;shops={shop}&amp;again=1");
    assert!(
        bounced.contains("http-equiv=\"refresh\"") && bounced.contains(&again),
        "{bounced}"
    );
    let second = browser()
        .get(format!(
            "{}/console/onboarding?authorized=main&shops={shop}&again=1",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.headers()[LOCATION], "/console/login");
}

/// Submits the wizard's WeCom form; answers the page.
async fn connect_wecom(app: &TestApp, session: &str, csrf: &str, fields: &[(&str, &str)]) -> String {
    let wecom = app.wecom.base_url();
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf", csrf),
        ("id", "newapp"),
        ("corp_id", "wwsim00000000000001"),
        ("agent_id", "1000002"),
        ("secret", "sim-app-secret"),
        ("test_user", "zhangsan"),
        ("api_base", &wecom),
    ];
    for (k, v) in fields {
        form.retain(|(name, _)| name != k);
        form.push((k, v));
    }
    let r = post_form(app, session, "/console/onboarding/wecom", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

#[tokio::test]
async fn the_wizard_tests_a_wecom_app_live_maps_failures_to_advice_and_saves_it_when_it_works() {
    // A second app in the corp, whose AgentId typed with the first app's Secret is another app's.
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        wecom_sim: |c| {
            c.apps.push(shoprelay_sim::wecom::SimApp {
                agent_id: 1000003,
                secret: "other-app-secret".into(),
                name: "另一个应用".into(),
            })
        },
        ..Default::default()
    })
    .await;
    let session = first_admin(&app).await;
    let (status, page) = get_page(&app, &session, "/console/onboarding").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("{}/push/shopee/{}", app.base, crate::helpers::APP)),
        "the push URL"
    );
    assert!(
        page.contains(&format!("/auth/shopee/{}", crate::helpers::APP)),
        "the authorization link"
    );
    let csrf = csrf_of(&page);

    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 4] = [
        (&[("corp_id", "wwwrongcorp")], "wecom.corp_id_invalid", "errcode 40013"),
        (
            &[("secret", "not-the-secret")],
            "wecom.secret_rejected",
            "errcode 40001",
        ),
        (&[("agent_id", "1000003")], "wecom.agent_id_mismatch", "errcode 301002"),
        (&[("agent_id", "1000009")], "wecom.agent_id_invalid", "errcode 40056"),
    ];
    for (fields, code, errcode) in cases {
        let page = connect_wecom(&app, &session, &csrf, fields).await;
        assert!(page.contains(code) && page.contains(errcode), "{code}: {page}");
        assert!(page.contains("未保存"), "nothing saved on {code}");
        if errcode != "errcode 40013" && errcode != "errcode 40001" {
            assert!(page.contains("查询应用（agent/get"), "the agent lookup fails: {page}");
            assert!(!page.contains("发送测试消息（AgentId"), "and nothing is sent: {page}");
        }
    }
    assert!(
        !app.wecom
            .messages()
            .iter()
            .any(|m| m.recipients.iter().any(|r| r == "zhangsan")),
        "no test message went out for a wrong AgentId"
    );
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: 40056 },
    ));
    let page = connect_wecom(&app, &session, &csrf, &[]).await;
    assert!(
        page.contains("wecom.agent_id_invalid") && page.contains("AgentId"),
        "{page}"
    );
    let bad_key = connect_wecom(
        &app,
        &session,
        &csrf,
        &[("callback_token", "tok"), ("encoding_aes_key", "short")],
    )
    .await;
    assert!(bad_key.contains("onboarding.bad_field") && bad_key.contains("EncodingAESKey"));
    assert!(!app
        .server
        .engine
        .registry()
        .wecom_apps
        .keys()
        .any(|id| id.as_str() == "newapp"));

    let aes = "a".repeat(43);
    let page = connect_wecom(
        &app,
        &session,
        &csrf,
        &[("callback_token", "tok"), ("encoding_aes_key", &aes)],
    )
    .await;
    assert!(page.contains("已接通并保存"), "{page}");
    assert!(
        page.contains("应用名称：shoprelay 演示应用"),
        "the agent lookup names the app: {page}"
    );
    assert!(
        page.contains(&format!("{}/wecom/callback/newapp", app.base)),
        "the callback URL to paste"
    );
    assert!(!page.contains("sim-app-secret"), "the Secret is never shown again");
    let registry = app.server.engine.registry();
    let saved = registry
        .wecom_apps
        .values()
        .find(|a| a.id.as_str() == "newapp")
        .unwrap();
    assert_eq!(saved.encoding_aes_key.as_ref().unwrap().expose(), aes);
    assert!(
        app.wecom
            .messages()
            .iter()
            .any(|m| m.recipients.iter().any(|r| r == "zhangsan")),
        "the test message reached the member"
    );

    let (_, actions) = get_page(&app, &session, "/console/actions").await;
    assert!(actions.contains("wecom.connect") && actions.contains("未通过：wecom.secret_rejected"));
}

#[tokio::test]
async fn the_wizard_adds_a_group_robot_tested_by_a_message_through_it() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let csrf = csrf_of(&get_page(&app, &session, "/console/onboarding").await.1);
    let wecom = app.wecom.base_url();
    let add = |key: String, api_base: String| {
        let (app, session, csrf) = (&app, &session, &csrf);
        async move {
            let form = [
                ("csrf", csrf.as_str()),
                ("id", "warehouse"),
                ("key", &key),
                ("api_base", &api_base),
            ];
            let r = post_form(app, session, "/console/onboarding/robot", &form).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    let saved = || {
        app.server
            .engine
            .registry()
            .robots
            .values()
            .find(|r| r.id.as_str() == "warehouse")
            .cloned()
    };

    let page = add("removed-robot-key".into(), wecom.clone()).await;
    assert!(
        page.contains("wecom.robot_key_invalid") && page.contains("errcode 93000") && page.contains("未保存"),
        "a key WeCom does not know gets the 93000 advice: {page}"
    );
    assert!(saved().is_none());
    let page = add("not a key".into(), wecom.clone()).await;
    assert!(page.contains("onboarding.bad_field") && page.contains("key="), "{page}");

    // The whole webhook address, as WeCom shows it, is pasted: its host is the API base.
    let page = add(format!("{wecom}/cgi-bin/webhook/send?key=sim-robot-key"), String::new()).await;
    assert!(page.contains("群机器人已接通并保存"), "{page}");
    assert!(!page.contains("sim-robot-key"), "the key is never shown again");
    let robot = saved().expect("saved");
    assert_eq!(
        (robot.key.expose(), robot.api_base.as_str()),
        ("sim-robot-key", wecom.as_str())
    );
    assert!(
        app.wecom.messages().iter().any(|m| matches!(
            &m.destination,
            shoprelay_sim::wecom::Destination::Robot { key } if key == "sim-robot-key"
        ) && m.body.to_string().contains("连接测试")),
        "the test message went through the robot"
    );
    let made = app.server.engine.store().console_made_config().await.unwrap();
    assert!(
        made.iter().any(|o| o.kind == "robot" && o.id == "warehouse"),
        "stored as the console's: {made:?}"
    );
    let (_, page) = get_page(&app, &session, "/console/onboarding").await;
    assert!(page.contains("<td>warehouse</td>"), "listed with the robots: {page}");
    let (_, actions) = get_page(&app, &session, "/console/actions").await;
    // The notes are recorded in English and read in the page's language (Chinese by default).
    assert!(actions.contains("robot.connect") && actions.contains("未通过：wecom.robot_key_invalid"));
    assert!(actions.contains("通过，已保存"), "{actions}");
}

#[tokio::test]
async fn an_untrusted_ip_is_named_in_the_advice() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        wecom_sim: |c| c.trusted_ips = vec!["10.9.9.9".parse().unwrap()],
        ..Default::default()
    })
    .await;
    let session = first_admin(&app).await;
    let csrf = csrf_of(&get_page(&app, &session, "/console/onboarding").await.1);
    let page = connect_wecom(&app, &session, &csrf, &[]).await;
    assert!(
        page.contains("wecom.ip_not_trusted") && page.contains("errcode 60020"),
        "{page}"
    );
    assert!(
        page.contains("127.0.0.1 不在该应用的企业可信IP中"),
        "the IP WeCom saw: {page}"
    );
}

#[tokio::test]
async fn test_connection_shows_every_step_green_or_red() {
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let csrf = csrf_of(&get_page(&app, &session, "/console/onboarding").await.1);
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/webhook/send",
        1,
        FaultAction::Errcode { errcode: 93000 },
    ));
    let r = post_form(
        &app,
        &session,
        "/console/onboarding/test",
        &[("csrf", &csrf), ("test_user", "zhangsan")],
    )
    .await;
    let page = r.text().await.unwrap();
    let start = page.find("<ol class=\"steps\">").expect("the steps");
    let steps = &page[start..start + page[start..].find("</ol>").unwrap()];
    let ok = steps.matches("class=\"step-ok\"").count();
    let failed = steps.matches("class=\"step-fail\"").count();
    assert_eq!(
        (ok, failed),
        (4, 3),
        "token, agent lookup, test message and the shop app's signed push pass; robot, the shop's token and \
         entity fail: {page}"
    );
    assert!(page.contains("wecom.robot_key_invalid") && page.contains("errcode 93000"));
    assert!(page.contains("ERR_SHOP_INACTIVE"), "the shop is not authorized yet");
    let viewer_refused = {
        let users = get_page(&app, &session, "/console/users").await.1;
        post_form(
            &app,
            &session,
            "/console/users",
            &[
                ("csrf", &csrf_of(&users)),
                ("username", "vi"),
                ("password", "viewer password"),
                ("role", "viewer"),
            ],
        )
        .await;
        let ok = login(&app, "vi", "viewer password").await;
        let (vi, _) = set_cookie(&ok, "shoprelay_session").unwrap();
        let vcsrf = csrf_of(&get_page(&app, &vi, "/console").await.1);
        post_form(
            &app,
            &vi,
            "/console/onboarding/test",
            &[("csrf", &vcsrf), ("test_user", "zhangsan")],
        )
        .await
    };
    assert!(
        viewer_refused.text().await.unwrap().contains("console.forbidden"),
        "viewers read, they do not test"
    );
}

/// Data rows of a console table page.
fn data_rows(page: &str) -> usize {
    page.matches("<tr><td>").count()
}

#[tokio::test]
async fn the_audit_page_filters_pages_by_keyset_and_exports_the_same_rows() {
    let app = crate::helpers::spawn_authorized_with_rules("").await;
    let first = app.create_order("READY_TO_SHIP").await;
    let second = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let session = first_admin(&app).await;

    let (status, all) = get_page(&app, &session, "/console/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(all.contains(&first) && all.contains(&second), "{all}");
    for option in ["value=\"chat\"", "value=\"tiktok\"", "value=\"lazada\""] {
        assert!(
            all.contains(option),
            "the filters offer every kind and platform: {option}"
        );
    }
    let (_, only_first) = get_page(&app, &session, &format!("/console/audit?order_sn={first}")).await;
    assert!(only_first.contains(&first) && !only_first.contains(&second));
    let (_, deliveries) = get_page(
        &app,
        &session,
        &format!("/console/audit?kind=delivery&order_sn={first}"),
    )
    .await;
    // Kinds and outcomes read in the page's language, their codes kept as titles.
    assert!(
        deliveries.contains("title=\"delivery\">投递</td>")
            && deliveries.contains("title=\"delivered\">已送达</td>")
            && !deliveries.contains("title=\"accepted\""),
        "{deliveries}"
    );

    // Keyset: before_id shows only older entries.
    let entries = app.audit(shoprelay_store::AuditFilter::default()).await;
    let oldest_two: Vec<i64> = entries.iter().rev().take(2).map(|e| e.id).collect();
    let (_, older) = get_page(&app, &session, &format!("/console/audit?before_id={}", oldest_two[1])).await;
    assert_eq!(data_rows(&older), 1, "only the oldest entry: {older}");
    assert!(data_rows(&all) > 4);

    let csv = browser()
        .get(format!("{}/console/audit.csv?order_sn={first}", app.base))
        .header(COOKIE, format!("shoprelay_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id,at_utc,kind,outcome"));
    assert_eq!(
        lines.len() - 1,
        data_rows(&only_first),
        "the export has the page's rows: {text}"
    );
    assert!(lines[1..].iter().all(|l| l.contains(&first)));

    let (status, bad) = get_page(&app, &session, "/console/audit?shop_id=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("console.bad_filter"));
    let (_, actions) = get_page(&app, &session, "/console/actions").await;
    assert!(actions.contains("audit.export"), "exports are recorded");
    let anonymous = browser()
        .get(format!("{}/console/audit.csv", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "no session, no export");
}

#[tokio::test]
async fn rules_and_conversations_are_listed_with_buyer_words_as_text() {
    let app = crate::chat::spawn_with_chat().await;
    app.shopee
        .buyer_says(
            crate::helpers::SHOP,
            crate::chat::BUYER,
            "amy<b>",
            "where is my <script>alert(1)</script> order?",
        )
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    let session = first_admin(&app).await;
    let (status, rules) = get_page(&app, &session, "/console/rules").await;
    assert_eq!(status, StatusCode::OK);
    for id in ["orders", "group", "chat"] {
        assert!(rules.contains(&format!("<code>{id}</code>")), "{id}: {rules}");
    }
    let (_, list) = get_page(&app, &session, "/console/conversations?state=open").await;
    assert!(list.contains("amy&lt;b&gt;") && !list.contains("amy<b>"), "{list}");
    let at = list.find("/console/conversations/").unwrap() + "/console/conversations/".len();
    let id: String = list[at..].chars().take_while(char::is_ascii_digit).collect();
    let (status, thread) = get_page(&app, &session, &format!("/console/conversations/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        thread.contains("where is my &lt;script&gt;alert(1)&lt;/script&gt; order?"),
        "{thread}"
    );
    assert!(!thread.contains("<script>alert"));
    assert_eq!(
        get_page(&app, &session, "/console/conversations/999999").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_browser_form_post_with_a_null_origin_is_accepted_only_as_same_origin() {
    // Under Referrer-Policy: no-referrer Chromium posts forms with `Origin: null`; Sec-Fetch-Site says
    // whether the page was this origin's.
    let app = spawn_app().await;
    let session = first_admin(&app).await;
    let csrf = csrf_of(&get_page(&app, &session, "/console").await.1);
    let post = |fetch_site: &'static str| {
        browser()
            .post(format!("{}/console/logout", app.base))
            .header(COOKIE, format!("shoprelay_session={session}"))
            .header("origin", "null")
            .header("sec-fetch-site", fetch_site)
            .form(&[("csrf", csrf.as_str())])
            .send()
    };
    assert_eq!(post("cross-site").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        post("same-site").await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "a sibling subdomain"
    );
    assert_eq!(post("same-origin").await.unwrap().status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn destinations_show_budget_breaker_and_dead_letters_which_can_be_replayed() {
    let app = crate::helpers::spawn_authorized_with_rules("").await;
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: 40058 },
    ));
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let session = first_admin(&app).await;
    let (status, page) = get_page(&app, &session, "/console/destinations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<code>wecom_app:hq</code>") && page.contains("<code>robot:ops</code>"),
        "{page}"
    );
    assert!(page.contains("/ 200") && page.contains("/ 20"), "each budget: {page}");
    let start = page.find("<code>wecom_app:hq</code>").unwrap();
    let row = &page[start..start + page[start..].find("</tr>").unwrap()];
    assert!(
        row.contains("<td>1</td>") && row.contains("重新投递死信"),
        "one dead letter: {row}"
    );
    let csrf = csrf_of(&page);
    let replayed = post_form(
        &app,
        &session,
        "/console/destinations/replay",
        &[("csrf", &csrf), ("destination", "wecom_app:hq")],
    )
    .await;
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);
    let (_, page) = get_page(&app, &session, "/console/destinations").await;
    let start = page.find("<code>wecom_app:hq</code>").unwrap();
    let row = &page[start..start + page[start..].find("</tr>").unwrap()];
    assert!(row.contains("<td>0</td>"), "queued again: {row}");
    let (_, actions) = get_page(&app, &session, "/console/actions").await;
    assert!(actions.contains("deliveries.replay") && actions.contains("1 dead letters queued again"));
}
