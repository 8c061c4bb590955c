//! The console in a real browser: headless Chromium, driven through chromedriver (WebDriver), walks the
//! onboarding as a person would — setup link, login, WeCom connected against the simulator, the shop
//! authorized through Shopee's redirect, the entity mismatch explained and fixed, the audit log, the
//! English switch — and saves a screenshot of each page under `target/tmp/console-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them); without chromedriver on the
//! PATH the test says SKIPPED and passes, like the PostgreSQL half of the storage suite.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use shoprelay_sim::wecom::{Fault, FaultAction};

use crate::helpers::{spawn_app, APP, SHOP};

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Starts chromedriver and waits for its "started successfully" line (no polling, no sleeping).
async fn start_driver() -> Option<Driver> {
    let exe = ["chromedriver", "/usr/bin/chromedriver"]
        .into_iter()
        .find(|c| std::process::Command::new(c).arg("--version").output().is_ok())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(exe)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("started successfully") {
            // Keep reading so chromedriver never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Some(Driver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            });
        }
    }
    panic!("chromedriver exited before it started");
}

async fn browser(driver: &Driver) -> Client {
    browser_saving_to(driver, None).await
}

/// A Chromium session; with `downloads`, files the pages offer (the audit CSV) are saved there unasked.
async fn browser_saving_to(driver: &Driver, downloads: Option<&Path>) -> Client {
    let mut options = serde_json::json!({
        // Root in CI has no sandbox to drop into; /dev/shm is small in containers.
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1600", "--lang=zh-CN"],
        "binary": "/usr/bin/chromium"
    });
    if let Some(dir) = downloads {
        options["prefs"] = serde_json::json!({
            "download.default_directory": dir.display().to_string(),
            "download.prompt_for_download": false
        });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("chromedriver starts a Chromium session")
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

/// The selector of the (first) form posting to a path starting with `action`.
fn form(action: &str) -> String {
    format!("form[action^='{action}']")
}

/// The selector of the form posting to exactly `action` (where other forms post below it).
fn exact(action: &str) -> String {
    format!("form[action='{action}']")
}

/// Types into the field `name` of the form posting to `action` (replacing what it held).
async fn fill(c: &Client, action: &str, name: &str, value: &str) {
    fill_in(c, &form(action), name, value).await;
}

/// Types into the field `name` of the form `form` (a selector), replacing what it held.
async fn fill_in(c: &Client, form: &str, name: &str, value: &str) {
    let field = c
        .find(Locator::Css(&format!("{form} [name='{name}']")))
        .await
        .unwrap_or_else(|e| panic!("{form} {name}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Picks `value` in the select `name` of the form `form` (a selector).
async fn choose(c: &Client, form: &str, name: &str, value: &str) {
    c.find(Locator::Css(&format!(
        "{form} select[name='{name}'] option[value='{value}']"
    )))
    .await
    .unwrap_or_else(|e| panic!("{form} {name} offers {value}: {e}"))
    .click()
    .await
    .unwrap();
}

/// Submits the form posting to `action` and waits (at most 20 s) for the page it leads to, known by
/// `expect` in its text; answers that page's source.
async fn submit(c: &Client, action: &str, expect: &str) -> String {
    click_and_wait(c, action, "button[type='submit']", expect).await
}

/// Clicks the submit button named `name` with `value` in the form posting to `action`; waits for `expect`.
async fn press(c: &Client, action: &str, name: &str, value: &str, expect: &str) -> String {
    click_and_wait(c, action, &format!("button[name='{name}'][value='{value}']"), expect).await
}

/// Clicks `button` (a selector within the form posting to `action`) and waits (at most 20 s) for the page
/// it leads to, known by `expect` in its text; answers that page's source.
async fn click_and_wait(c: &Client, action: &str, button: &str, expect: &str) -> String {
    follow(c, Locator::Css(&format!("{} {button}", form(action))), expect).await
}

/// Submits the form `form` (a selector) and waits for the page it leads to, known by `expect`.
async fn submit_in(c: &Client, form: &str, expect: &str) -> String {
    follow(c, Locator::Css(&format!("{form} button[type='submit']")), expect).await
}

/// Clicks the element `at` (a button or a link) and waits (at most 20 s) for the page it leads to, known
/// by `expect` in its text; answers that page's source.
async fn follow(c: &Client, at: Locator<'_>, expect: &str) -> String {
    // Mark the page being left: until the browser has replaced it, its text (which may already hold
    // `expect`) and its fields are the old page's, and a field found there goes stale under our hands.
    c.execute("document.documentElement.setAttribute('data-left', '')", vec![])
        .await
        .unwrap();
    let what = format!("{at:?}");
    c.find(at)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css("html:not([data-left])"))
        .await
        .unwrap_or_else(|e| panic!("{what}: the next page never came: {e}"));
    see(c, expect).await
}

/// Waits (at most 20 s) until the page's text holds `expect`; answers its source.
async fn see(c: &Client, expect: &str) -> String {
    let found = c
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::XPath(&format!("//body[contains(., \"{expect}\")]")))
        .await;
    let page = source(c).await;
    assert!(found.is_ok(), "expected `{expect}` on the page: {page}");
    page
}

async fn source(c: &Client) -> String {
    c.source().await.unwrap()
}

#[tokio::test]
async fn a_person_onboards_in_chromium() {
    let Some(driver) = start_driver().await else {
        eprintln!("SKIPPED: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let app = spawn_app().await;
    let c = browser(&driver).await;
    // A browser that stops answering fails the test instead of holding CI until its limit.
    tokio::time::timeout(std::time::Duration::from_secs(180), onboarding(&app, &c))
        .await
        .expect("the browser walk finishes within three minutes");
    c.close().await.unwrap();
    eprintln!("screenshots: {}", shots_dir().display());
}

async fn onboarding(app: &crate::helpers::TestApp, c: &Client) {
    // 1. The setup link printed at the first start makes the first admin.
    let link = app.server.engine.console().setup_link("test").await.unwrap().unwrap();
    c.goto(&link).await.unwrap();
    shot(c, "01-setup").await;
    fill(c, "/console/setup", "username", "ops").await;
    fill(c, "/console/setup", "password", "correct horse battery").await;
    submit(c, "/console/setup", "连接企业微信").await;

    // 2. Log out and in again, once with a wrong password.
    submit(c, "/console/logout", "登录").await;
    fill(c, "/console/login", "username", "ops").await;
    fill(c, "/console/login", "password", "wrong password!").await;
    submit(c, "/console/login", "console.bad_login").await;
    shot(c, "02-login-refused").await;
    fill(c, "/console/login", "username", "ops").await;
    fill(c, "/console/login", "password", "correct horse battery").await;
    submit(c, "/console/login", "开始使用").await;

    // 3. Connect WeCom: a wrong Secret first, then the right one.
    c.goto(&format!("{}/console/onboarding", app.base)).await.unwrap();
    let wecom = app.wecom.base_url();
    for (field, value) in [
        ("id", "hq2"),
        ("corp_id", "wwsim00000000000001"),
        ("agent_id", "1000002"),
        ("secret", "not-the-secret"),
        ("test_user", "zhangsan"),
        ("api_base", wecom.as_str()),
    ] {
        fill(c, "/console/onboarding/wecom", field, value).await;
    }
    let page = submit(c, "/console/onboarding/wecom", "wecom.secret_rejected").await;
    assert!(page.contains("errcode 40001"), "{page}");
    shot(c, "03-wecom-refused").await;
    fill(c, "/console/onboarding/wecom", "secret", "sim-app-secret").await;
    let page = submit(c, "/console/onboarding/wecom", "已接通并保存").await;
    assert!(page.contains("/wecom/callback/hq2"), "{page}");
    shot(c, "04-wecom-connected").await;

    // 4. Authorize the shop through the marketplace's redirect.
    c.find(Locator::Css(&format!("a[href='/auth/shopee/{APP}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    see(c, "授权成功").await;
    shot(c, "05-shop-authorized").await;

    // 5. The entity check: a mismatch explained, then fixed with the suggested value.
    c.goto(&format!("{}/console/entity", app.base)).await.unwrap();
    fill(c, "/console/entity/wecom", "name", "深圳市某某科技有限责任公司").await;
    c.find(Locator::Css("form[action='/console/entity/wecom'] [name='verified']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(c, "/console/entity/wecom", "ERR_ENTITY_MISSING").await;
    let shop_form = format!("/console/entity/shop/{APP}/{SHOP}");
    fill(c, &shop_form, "legal_entity", "深圳市某某科技有限公司").await;
    let page = submit(c, &shop_form, "ERR_AUTH_MISMATCH").await;
    assert!(page.contains("<ins>责任</ins>"), "{page}");
    shot(c, "06-entity-mismatch").await;
    // The shop form now holds the fix (the WeCom company's verified name): saving it clears the mismatch.
    let page = submit(c, &shop_form, "主体一致 ✔").await;
    assert!(!page.contains("ERR_AUTH_MISMATCH"), "{page}");
    shot(c, "07-entity-fixed").await;

    // 6. The audit log shows the authorization; the English switch keeps the page.
    c.goto(&format!("{}/console/audit", app.base)).await.unwrap();
    see(c, "已授权").await;
    shot(c, "08-audit").await;
    c.find(Locator::LinkText("English"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    see(c, "authorized").await;
    shot(c, "09-audit-en").await;
    c.goto(&format!("{}/console/actions", app.base)).await.unwrap();
    let page = see(c, "Console actions").await;
    for action in ["user.create", "session.login", "wecom.connect", "entity.shop"] {
        assert!(page.contains(action), "{action} recorded");
    }
    shot(c, "10-actions").await;
}

#[tokio::test]
async fn a_person_configures_rules_conversations_and_tests_the_connection_in_chromium() {
    let Some(driver) = start_driver().await else {
        eprintln!("SKIPPED: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let app = crate::chat::spawn_with_chat().await;
    app.shopee
        .buyer_says(SHOP, crate::chat::BUYER, "amy", "我的订单什么时候发货？")
        .await
        .unwrap();
    let order = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let c = browser(&driver).await;
    tokio::time::timeout(std::time::Duration::from_secs(180), configure(&app, &c, &order))
        .await
        .expect("the browser walk finishes within three minutes");
    c.close().await.unwrap();
    eprintln!("screenshots: {}", shots_dir().display());
}

async fn configure(app: &crate::helpers::TestApp, c: &Client, order: &str) {
    let link = app.server.engine.console().setup_link("test").await.unwrap().unwrap();
    c.goto(&link).await.unwrap();
    fill(c, "/console/setup", "username", "zhangsan").await;
    fill(c, "/console/setup", "password", "correct horse battery").await;
    submit(c, "/console/setup", "连接企业微信").await;

    // 1. A new rule, previewed against the order just stored, the way WeCom will show it, then saved.
    c.goto(&format!("{}/console/rules/new", app.base)).await.unwrap();
    shot(c, "cfg-01-rule-new").await;
    fill(c, "/console/rules/editor", "id", "vip-orders").await;
    // No kind ticked selects every kind: the order's newest event, whichever it is.
    c.find(Locator::Css("input[name='ev.order_created']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(
        c,
        "/console/rules/editor",
        "targets",
        "{ type = \"robot\", robot = \"ops\" }",
    )
    .await;
    fill(
        c,
        "/console/rules/editor",
        "template",
        "### 新订单 {{ event.order_sn }}\n> <font color=\"warning\">请尽快发货</font>",
    )
    .await;
    let source = format!("order:{order}");
    c.find(Locator::Css(&format!("select[name='source'] option[value='{source}']")))
        .await
        .unwrap_or_else(|e| panic!("the stored order is offered for the dry run: {e}"))
        .click()
        .await
        .unwrap();
    let page = press(c, "/console/rules/editor", "intent", "preview", "请尽快发货").await;
    assert!(page.contains("<h4>新订单 ") && page.contains(order), "{page}");
    assert!(
        page.contains("class=\"warning\""),
        "markdown is drawn, not shown as source: {page}"
    );
    shot(c, "cfg-02-rule-preview").await;
    let page = press(c, "/console/rules/editor", "intent", "save", "vip-orders").await;
    assert!(page.contains("/console/rules/vip-orders/edit"), "{page}");
    shot(c, "cfg-03-rules").await;
    // Disabled from the list, kept.
    submit(c, "/console/rules/vip-orders/disable", "vip-orders").await;
    assert!(c
        .find(Locator::Css("form[action='/console/rules/vip-orders/enable']"))
        .await
        .is_ok());

    // 2. The buyer's conversation, claimed and resolved as the WeCom member zhangsan.
    c.goto(&format!("{}/console/conversations?state=open", app.base))
        .await
        .unwrap();
    see(c, "amy").await;
    shot(c, "cfg-04-conversations").await;
    c.find(Locator::Css("a[href^='/console/conversations/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    see(c, "我的订单什么时候发货").await;
    let page = press(c, "/console/conversations/", "action", "claim", "已认领会话").await;
    assert!(page.contains("处理人：zhangsan"), "{page}");
    shot(c, "cfg-05-conversation-claimed").await;
    press(c, "/console/conversations/", "action", "resolve", "已标记为已处理").await;
    see(c, "已解决").await;
    shot(c, "cfg-06-conversation-resolved").await;

    // 3. The entity facts entered, then "test connection": every step green.
    c.goto(&format!("{}/console/entity", app.base)).await.unwrap();
    fill(c, "/console/entity/wecom", "name", "深圳市某某科技有限公司").await;
    fill(c, "/console/entity/wecom", "registered_capital", "100万元").await;
    c.find(Locator::Css("form[action='/console/entity/wecom'] [name='verified']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(c, "/console/entity/wecom", "ERR_ENTITY_MISSING").await;
    let shop_form = format!("/console/entity/shop/{APP}/{SHOP}");
    fill(c, &shop_form, "legal_entity", "深圳市某某科技有限公司").await;
    fill(c, &shop_form, "registered_capital", "人民币 1,000,000 元").await;
    submit(c, &shop_form, "主体一致 ✔").await;
    shot(c, "cfg-07-entity").await;
    c.goto(&format!("{}/console/onboarding", app.base)).await.unwrap();
    shot(c, "cfg-08-onboarding").await;
    fill(c, "/console/onboarding/test", "test_user", "zhangsan").await;
    let page = submit(c, "/console/onboarding/test", "测试连接").await;
    let start = page.find("<ol class=\"steps\">").expect("the steps");
    let steps = &page[start..start + page[start..].find("</ol>").unwrap()];
    assert!(!steps.contains("step-fail"), "every step green: {steps}");
    for step in ["推送签名", "刷新店铺令牌", "订单接口调用", "店铺状态", "主体一致性"] {
        assert!(steps.contains(step), "{step}: {steps}");
    }
    // The steps are below the fold: bring them into the screenshot.
    c.execute("document.getElementById('test').scrollIntoView()", vec![])
        .await
        .unwrap();
    shot(c, "cfg-09-test-connection").await;

    c.goto(&format!("{}/console/actions", app.base)).await.unwrap();
    let page = see(c, "操作记录").await;
    for action in [
        "rule.save",
        "rule.disable",
        "conversation.claim",
        "conversation.resolve",
        "connection.test",
    ] {
        assert!(page.contains(action), "{action} recorded: {page}");
    }
    shot(c, "cfg-10-actions").await;
}

#[tokio::test]
async fn a_person_watches_the_dashboard_and_sees_what_wecom_received_in_chromium() {
    let Some(driver) = start_driver().await else {
        eprintln!("SKIPPED: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let app = spawn_app().await;
    app.authorize().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let c = browser(&driver).await;
    tokio::time::timeout(std::time::Duration::from_secs(180), watch(&app, &c, &sn))
        .await
        .expect("the browser walk finishes within three minutes");
    c.close().await.unwrap();
}

/// The dashboard and a delivery "as WeCom received it", in Chinese and in English.
async fn watch(app: &crate::helpers::TestApp, c: &Client, sn: &str) {
    let link = app.server.engine.console().setup_link("test").await.unwrap().unwrap();
    c.goto(&link).await.unwrap();
    fill(c, "/console/setup", "username", "ops").await;
    fill(c, "/console/setup", "password", "correct horse battery").await;
    submit(c, "/console/setup", "连接企业微信").await;

    // The dashboard, from the navigation: the order reached WeCom at once (the clock stands still).
    c.find(Locator::LinkText("仪表盘"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = see(c, "订单 30 秒内进入企业微信的比例").await;
    assert!(page.contains("data-share=\"1000\""), "{page}");
    assert_eq!(page.matches("<rect class=\"push\"").count(), 60, "a bar a minute");
    assert!(page.contains("100.0 %"), "{page}");
    shot(c, "11-dashboard").await;
    c.find(Locator::LinkText("English"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    see(c, "Orders in WeCom within 30 s of the push").await;
    shot(c, "12-dashboard-en").await;

    // The order's card to the WeCom app, found with the destination filter, drawn as WeCom draws it.
    c.goto(&format!(
        "{}/console/audit?kind=delivery&destination=wecom_app:hq&order_sn={sn}",
        app.base
    ))
    .await
    .unwrap();
    see(c, "As WeCom received it").await;
    c.find(Locator::Css("a.as-received"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = see(c, "Drawn from the request as sent").await;
    assert!(page.contains("class=\"wx-card\"") && page.contains(sn), "{page}");
    assert!(!page.contains("\"card_type\""), "drawn, not JSON: {page}");
    shot(c, "13-as-received-en").await;
    c.find(Locator::LinkText("中文")).await.unwrap().click().await.unwrap();
    see(c, "按发送时的内容绘制").await;
    shot(c, "14-as-received-zh").await;

    // The robot's markdown, drawn as a bubble.
    c.goto(&format!(
        "{}/console/audit?kind=delivery&destination=robot:ops&order_sn={sn}",
        app.base
    ))
    .await
    .unwrap();
    c.find(Locator::Css("a.as-received"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = see(c, "企业微信收到的样子").await;
    assert!(page.contains("wx-bubble wx-md"), "{page}");
    shot(c, "15-as-received-robot").await;
}

#[tokio::test]
async fn a_member_logs_in_by_scanning_wecoms_qr_code_in_chromium() {
    let Some(driver) = start_driver().await else {
        eprintln!("SKIPPED: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let app = spawn_app().await;
    let c = browser(&driver).await;
    tokio::time::timeout(std::time::Duration::from_secs(180), wecom_login(&app, &c))
        .await
        .expect("the browser walk finishes within three minutes");
    c.close().await.unwrap();
    eprintln!("screenshots: {}", shots_dir().display());
}

/// Opens WeCom's login page (the simulator's) from the console's login page and scans as `userid`;
/// answers the page the browser lands on, known by `expect`.
async fn scan_as(c: &Client, userid: &str, expect: &str) -> String {
    submit(c, "/console/login/wecom/start", "WeCom login (simulated)").await;
    c.execute("document.documentElement.setAttribute('data-left', '')", vec![])
        .await
        .unwrap();
    c.find(Locator::Css(&format!("a[href$='&userid={userid}']")))
        .await
        .unwrap_or_else(|e| panic!("WeCom's login page offers {userid}: {e}"))
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css("html:not([data-left])"))
        .await
        .unwrap_or_else(|e| panic!("scanned as {userid}: the next page never came: {e}"));
    see(c, expect).await
}

/// WeCom QR login as a person does it: an admin links a user to a WeCom member, the login page offers
/// 企业微信扫码登录, the member scans on WeCom's page and the browser lands in the console as that user; a
/// member linked to no user is refused with the reason.
async fn wecom_login(app: &crate::helpers::TestApp, c: &Client) {
    let link = app.server.engine.console().setup_link("test").await.unwrap().unwrap();
    c.goto(&link).await.unwrap();
    fill(c, "/console/setup", "username", "ops").await;
    fill(c, "/console/setup", "password", "correct horse battery").await;
    submit(c, "/console/setup", "连接企业微信").await;

    // 1. The admin links their own user to the WeCom member zhangsan.
    c.goto(&format!("{}/console/users", app.base)).await.unwrap();
    fill(c, "/console/users/ops/wecom", "wecom_userid", "zhangsan").await;
    submit(c, "/console/users/ops/wecom", "企业微信成员").await;
    let linked = c
        .find(Locator::Css(
            "form[action='/console/users/ops/wecom'] [name='wecom_userid']",
        ))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(linked.as_deref(), Some("zhangsan"), "the users page shows the link");

    // 2. Logged out, the login page offers the QR login next to the password.
    submit(c, "/console/logout", "企业微信扫码登录").await;
    assert!(c.find(Locator::Css("button#wecom-login")).await.is_ok());
    shot(c, "16-login-wecom").await;

    // 3. zhangsan scans: WeCom sends the browser back, and it lands in the console as ops.
    let page = scan_as(c, "zhangsan", "开始使用").await;
    assert!(page.contains("ops (管理员)"), "logged in as the linked user: {page}");
    assert!(
        c.current_url().await.unwrap().path() == "/console",
        "on into the console"
    );
    shot(c, "17-wecom-logged-in").await;
    c.goto(&format!("{}/console/actions", app.base)).await.unwrap();
    see(c, "WeCom QR login as zhangsan").await;

    // 4. lisi is a member of the company but linked to no console user: refused, with the fix.
    submit(c, "/console/logout", "企业微信扫码登录").await;
    let page = scan_as(c, "lisi", "console.wecom_unlinked").await;
    assert!(!page.contains("ops (管理员)"), "no session: {page}");
    shot(c, "18-wecom-unlinked").await;
    c.goto(&format!("{}/console", app.base)).await.unwrap();
    see(c, "企业微信扫码登录").await;
}

#[tokio::test]
async fn an_admin_replays_dead_letters_manages_tokens_and_users_and_exports_the_audit_in_chromium() {
    let Some(driver) = start_driver().await else {
        eprintln!("SKIPPED: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let app = crate::helpers::spawn_authorized_with_rules("").await;
    // WeCom refuses the order's card once for good (40058: a parameter WeCom will not take): a dead letter.
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: 40058 },
    ));
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let downloads = tempfile::tempdir().unwrap();
    let c = browser_saving_to(&driver, Some(downloads.path())).await;
    tokio::time::timeout(
        std::time::Duration::from_secs(300),
        administer(&app, &c, downloads.path()),
    )
    .await
    .expect("the browser walk finishes within five minutes");
    c.close().await.unwrap();
    eprintln!("screenshots: {}", shots_dir().display());
}

/// The cells' text of each data row of the page's (first) table.
async fn table_rows(c: &Client) -> Vec<Vec<String>> {
    let rows = c
        .execute(
            "return Array.from(document.querySelectorAll('main table tr')).slice(1)\
             .map(r => Array.from(r.cells).map(td => td.innerText.trim()))",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

/// The row of the page's table whose first cell is `first`.
async fn row_of(c: &Client, first: &str) -> Vec<String> {
    table_rows(c)
        .await
        .into_iter()
        .find(|r| r.first().is_some_and(|f| f == first))
        .unwrap_or_else(|| panic!("a row for {first}"))
}

/// The text of the first element matching `css`.
async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Clicks the language link `name` (中文 or English) and waits for the page again, known by `expect`.
async fn switch_to(c: &Client, name: &str, expect: &str) -> String {
    follow(c, Locator::LinkText(name), expect).await
}

/// The text of the file `name` the browser is downloading into `dir`, once it is whole. Chromium writes
/// a download under a temporary name and renames it when complete; this waits for the rename the way
/// `c.wait()` waits for an element — looking again every 50 ms, at most 20 s — since a download is the
/// one thing a page does that the browser cannot be asked about.
async fn downloaded(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    for _ in 0..400 {
        if let Ok(text) = std::fs::read_to_string(&path) {
            std::fs::remove_file(&path).unwrap();
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{} was never downloaded", path.display());
}

/// Clicks the audit page's export link: a download, the page stays.
async fn export(c: &Client) {
    let link = c
        .find(Locator::Css("a[href^='/console/audit.csv?']"))
        .await
        .expect("the export link");
    let href = link.attr("href").await.unwrap().unwrap_or_default();
    assert!(href.contains("kind=delivery"), "the page's filters: {href}");
    link.click().await.unwrap();
}

/// Calls the API's rule list with `token`; answers the status.
async fn api_with(app: &crate::helpers::TestApp, token: &str) -> u16 {
    app.http
        .get(format!("{}/api/v1/rules", app.base))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Logs in on the login page; waits for `expect`.
async fn log_in(c: &Client, username: &str, password: &str, expect: &str) -> String {
    fill(c, "/console/login", "username", username).await;
    fill(c, "/console/login", "password", password).await;
    submit(c, "/console/login", expect).await
}

/// The audit CSV's data rows, checked against the page it was exported from: the same ids, in order.
fn csv_rows(csv: &str, page_ids: &[String]) -> Vec<String> {
    let mut lines = csv.lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with("id,at_utc,kind,outcome")),
        "{csv}"
    );
    let rows: Vec<String> = lines.map(str::to_owned).collect();
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r.split(',').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, page_ids, "the export holds the filtered page's rows: {csv}");
    rows
}

/// The admin pages as an admin and a viewer use them, in Chinese and in English: destinations (budget,
/// breaker, queued, a dead letter replayed), an API token made, used and revoked, a viewer added and
/// refused a change, a password changed, and the audit log exported with the page's filters.
async fn administer(app: &crate::helpers::TestApp, c: &Client, downloads: &Path) {
    let link = app.server.engine.console().setup_link("test").await.unwrap().unwrap();
    c.goto(&link).await.unwrap();
    fill(c, "/console/setup", "username", "ops").await;
    fill(c, "/console/setup", "password", "correct horse battery").await;
    submit(c, "/console/setup", "连接企业微信").await;

    // 1. Destinations: the card WeCom refused is a dead letter of the app; the robot's markdown went out.
    follow(c, Locator::LinkText("发送目标"), "死信").await;
    let queues = text_of(c, "main section p").await;
    assert!(queues.contains("待投递：0") && queues.contains("死信：1"), "{queues}");
    let app_row = row_of(c, "wecom_app:hq").await;
    assert_eq!(
        app_row[1], "1 / 200",
        "the refused call counts against the budget: {app_row:?}"
    );
    assert_eq!(app_row[2], "正常", "one refusal does not open the breaker: {app_row:?}");
    assert_eq!(app_row[3], "1", "{app_row:?}");
    assert_eq!(app_row[4], "重新投递死信");
    let robot_row = row_of(c, "robot:ops").await;
    assert_eq!(robot_row[1], "1 / 20", "the robot's budget, one used: {robot_row:?}");
    assert_eq!(robot_row[3], "0");
    shot(c, "adm-01-destinations").await;
    // Replayed: queued again, then delivered by the next pass.
    submit(c, "/console/destinations/replay", "死信").await;
    let queues = text_of(c, "main section p").await;
    assert!(queues.contains("待投递：1") && queues.contains("死信：0"), "{queues}");
    assert_eq!(row_of(c, "wecom_app:hq").await[3], "0");
    assert!(app.cards().is_empty(), "not yet sent");
    app.dispatch_until_settled().await;
    assert_eq!(app.cards().len(), 1, "the replayed card reached WeCom");
    c.refresh().await.unwrap();
    let queues = text_of(c, "main section p").await;
    assert!(queues.contains("待投递：0"), "{queues}");
    assert_eq!(row_of(c, "wecom_app:hq").await[1], "2 / 200", "the budget counts it");
    shot(c, "adm-02-destinations-replayed").await;
    switch_to(c, "English", "Dead letters").await;
    let queues = text_of(c, "main section p").await;
    assert!(queues.contains("Deliveries queued: 0"), "{queues}");
    let app_row = row_of(c, "wecom_app:hq").await;
    assert_eq!(
        (app_row[2].as_str(), app_row[4].as_str()),
        ("closed", ""),
        "nothing left to replay"
    );
    shot(c, "adm-03-destinations-en").await;

    // 2. An API token, made in English, shown once, working against the API; revoked in Chinese, refused.
    follow(c, Locator::LinkText("API tokens"), "Create a token").await;
    fill_in(c, &exact("/console/tokens"), "name", "ci-deploy").await;
    choose(c, &exact("/console/tokens"), "scope", "read").await;
    submit_in(c, &exact("/console/tokens"), "Copy it now").await;
    let token = text_of(c, "#new-token").await;
    assert!(token.starts_with("srt_"), "{token}");
    shot(c, "adm-04-token-created-en").await;
    assert_eq!(api_with(app, &token).await, 200, "the token works");
    let page = switch_to(c, "中文", "创建令牌").await;
    assert!(!page.contains(&token), "shown once only");
    let row = row_of(c, "1").await;
    assert_eq!((row[1].as_str(), row[2].as_str()), ("ci-deploy", "read"), "{row:?}");
    assert!(row[4].ends_with("UTC"), "its use is noted: {row:?}");
    assert_eq!(row[5], "有效");
    submit(c, "/console/tokens/1/revoke", "已吊销").await;
    assert!(row_of(c, "1").await[5].starts_with("已吊销"));
    shot(c, "adm-05-token-revoked").await;
    assert_eq!(api_with(app, &token).await, 401, "a revoked token is refused");

    // 3. A user with a role: ann, a viewer.
    follow(c, Locator::LinkText("用户"), "新建用户").await;
    let new_user = exact("/console/users");
    fill_in(c, &new_user, "username", "ann").await;
    fill_in(c, &new_user, "password", "ann's first password").await;
    choose(c, &new_user, "role", "viewer").await;
    submit_in(c, &new_user, "ann").await;
    let role = c
        .find(Locator::Css("form[action='/console/users/ann'] select[name='role']"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(role.as_deref(), Some("viewer"), "ann is listed as a viewer");
    shot(c, "adm-06-users").await;
    switch_to(c, "English", "New user").await;
    shot(c, "adm-07-users-en").await;

    // 4. ann logs in: no admin pages in her navigation, and a change is refused with the reason.
    submit_in(c, &exact("/console/logout"), "Log in").await;
    let page = log_in(c, "ann", "ann's first password", "Getting started").await;
    assert!(page.contains("ann (viewer)"), "{page}");
    assert!(c.find(Locator::LinkText("Users")).await.is_err(), "no admin pages");
    c.goto(&format!("{}/console/entity", app.base)).await.unwrap();
    fill(c, "/console/entity/wecom", "name", "深圳市某某科技有限公司").await;
    let page = submit(c, "/console/entity/wecom", "console.forbidden").await;
    assert!(
        page.contains("Your role (viewer) may not do this; operator is needed"),
        "{page}"
    );
    shot(c, "adm-08-viewer-refused-en").await;
    switch_to(c, "中文", "开始使用").await;
    c.goto(&format!("{}/console/entity", app.base)).await.unwrap();
    fill(c, "/console/entity/wecom", "name", "深圳市某某科技有限公司").await;
    let page = submit(c, "/console/entity/wecom", "console.forbidden").await;
    assert!(page.contains("当前角色（只读）无权执行此操作"), "{page}");
    shot(c, "adm-09-viewer-refused").await;

    // 5. ann changes her password: logged out, the old one refused, the new one accepted.
    c.goto(&format!("{}/console", app.base)).await.unwrap();
    see(c, "修改我的密码").await;
    shot(c, "adm-10-password").await;
    fill(c, "/console/password", "password", "ann's second password").await;
    submit(c, "/console/password", "用户名").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/console/login");
    log_in(c, "ann", "ann's first password", "console.bad_login").await;
    let page = log_in(c, "ann", "ann's second password", "开始使用").await;
    assert!(page.contains("ann (只读)"), "{page}");
    switch_to(c, "English", "Change my password").await;
    shot(c, "adm-11-password-en").await;
    submit_in(c, &exact("/console/logout"), "Log in").await;

    // 6. The admin exports the audit log with the page's filters: the app's deliveries, in Chinese ...
    log_in(c, "ops", "correct horse battery", "Getting started").await;
    switch_to(c, "中文", "开始使用").await;
    follow(c, Locator::LinkText("审计日志"), "导出 CSV").await;
    let filters = exact("/console/audit");
    choose(c, &filters, "kind", "delivery").await;
    fill_in(c, &filters, "destination", "wecom_app:hq").await;
    submit_in(c, &filters, "导出 CSV").await;
    let page_rows = table_rows(c).await;
    assert!(
        page_rows.len() >= 2,
        "the refused card and the replayed one: {page_rows:?}"
    );
    assert!(
        page_rows.iter().all(|r| r[6].starts_with("wecom_app:hq")),
        "{page_rows:?}"
    );
    // Kinds and outcomes in Chinese on the page; the CSV below keeps the codes.
    assert!(page_rows.iter().all(|r| r[2] == "投递"), "{page_rows:?}");
    assert!(page_rows.iter().any(|r| r[3] == "死信"), "{page_rows:?}");
    assert!(page_rows.iter().any(|r| r[3] == "已送达"), "{page_rows:?}");
    shot(c, "adm-12-audit-filtered").await;
    export(c).await;
    let ids: Vec<String> = page_rows.iter().map(|r| r[0].clone()).collect();
    let rows = csv_rows(&downloaded(downloads, "shoprelay-audit.csv").await, &ids);
    assert!(
        rows.iter()
            .all(|r| r.contains(",delivery,") && r.contains(",wecom_app:hq,")),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r.contains(",dead,") && r.contains(",40058,")),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r.contains(",delivered,")), "{rows:?}");

    // ... and in English, only the dead letter.
    switch_to(c, "English", "Export CSV").await;
    choose(c, &filters, "kind", "delivery").await;
    choose(c, &filters, "outcome", "dead").await;
    submit_in(c, &filters, "Export CSV").await;
    let page_rows = table_rows(c).await;
    assert_eq!(page_rows.len(), 1, "{page_rows:?}");
    shot(c, "adm-13-audit-filtered-en").await;
    export(c).await;
    let rows = csv_rows(
        &downloaded(downloads, "shoprelay-audit.csv").await,
        &[page_rows[0][0].clone()],
    );
    assert!(
        rows[0].contains(",wecom_app:hq,") && rows[0].contains(",40058,"),
        "{rows:?}"
    );

    c.goto(&format!("{}/console/actions", app.base)).await.unwrap();
    let page = see(c, "Console actions").await;
    for action in [
        "deliveries.replay",
        "token.create",
        "token.revoke",
        "user.create",
        "user.password",
        "audit.export",
    ] {
        assert!(page.contains(action), "{action} recorded: {page}");
    }
    shot(c, "adm-14-actions-en").await;
}
