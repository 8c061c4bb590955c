//! Every console page in English shows no Chinese but the seller's own data: the test logs in as an
//! admin over a demo-like setup (a shop authorized, an order delivered to the WeCom app and the robot, a
//! buyer's conversation, a rule, the entity facts, a token, a WeCom-linked user), fetches each page and
//! each answer of its forms with the English switch on, and names every run of CJK characters that is not
//! data the test itself entered or the simulators made. The visible text of each page, in both languages,
//! is kept under `target/tmp/console-text/`. The Chinese pages (not the forms' answers, posted once, in
//! English) are checked the other way round, narrowly: no run of English words that reads as a sentence or
//! label (see `english_in`) but the English data the test typed or the engine recorded; and labels that
//! are one translated word, which that check cannot see, are looked for on their pages.

use std::path::PathBuf;

use reqwest::header::{COOKIE, LOCATION};
use reqwest::StatusCode;

use crate::chat::{spawn_with_chat, BUYER, CS_AGENT};
use crate::console::{browser, csrf_of, first_admin, set_cookie};
use crate::helpers::{TestApp, APP, SHOP};

/// Seller data the pages may show in Chinese: the shop's name, the entity facts typed below, the
/// simulated buyer's order items, the switch back to Chinese.
const DATA: &[&str] = &[
    "测试店铺",
    "深圳市某某科技有限责任公司",
    "深圳市某某科技有限公司",
    "张三",
    "100万元",
    "中文",
    // The WeCom simulator's app names, shown as agent/get answered them.
    "客服",
    "shoprelay 演示应用",
    // The entity check quotes the two company forms and draws the character diffs of the names and the
    // capitals as typed — each exactly as a reader sees it, so that no UI word containing one of these
    // characters is excused.
    "`有限公司`",
    "`有限责任公司`",
    "深圳市某某科技有限 责任 公司",
    "1 RMB2 00 万元 0000",
    // A userid the test types to be refused.
    "张 三",
];

/// English the Chinese pages may show: what the test typed (the buyer's words). The sentences shoprelay
/// records in audit details and console notes are shown in Chinese (`shoprelay_core::audit_text`), so
/// they are not excused.
const ENGLISH_DATA: &[&str] = &["where is my parcel?"];

/// Words found in English sentences and rarely in codes or names: a run of English words holding one is
/// a label or sentence left untranslated, while protocol words (`corp_id`, `errcode`), codes and the
/// platforms' names for their credentials (Partner Key, App Secret) are not.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "of", "to", "for", "is", "are", "be", "in", "on", "by", "from", "with", "and", "or", "not", "no",
    "this", "it", "its", "your", "you", "yet", "at", "as",
];

/// Runs of English words on a Chinese page that read as a sentence or a label (two words or more, one of
/// them a function word), after the English data is taken out. Words with digits, `_`, `.`, `:` or `/`
/// are codes and break a run.
fn english_in(text: &str) -> Vec<String> {
    let mut text = text.to_owned();
    for data in ENGLISH_DATA {
        text = text.replace(data, "·");
    }
    let mut found = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, found: &mut Vec<String>| {
        let sentence = run.len() >= 2
            && run.iter().any(|w| {
                let w = w.trim_matches(|c: char| !c.is_ascii_alphabetic()).to_ascii_lowercase();
                FUNCTION_WORDS.contains(&w.as_str())
            });
        if sentence {
            found.push(format!("「{}」", run.join(" ")));
        }
        run.clear();
    };
    for token in text.split_whitespace() {
        let core = token.trim_matches(|c: char| ",.;:?!()\"'`".contains(c));
        let word = core.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && core.chars().all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-');
        if word {
            run.push(token);
        } else {
            flush(&mut run, &mut found);
        }
    }
    flush(&mut run, &mut found);
    found
}

/// The text a reader sees: text nodes and the `placeholder`, `title` and `aria-label` attributes. Left out:
/// `<style>`, what a form holds (`<textarea>`, `value`: data typed or stored), and the drawings of WeCom
/// messages (`wx-…` classes: the message as it was sent, in the language the shop's messages use).
fn visible_text(html: &str) -> String {
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    ];
    let mut out = String::new();
    let mut rest = html;
    // Depth inside a left-out element (0: outside).
    let mut skipped = 0usize;
    while let Some(open) = rest.find('<') {
        if skipped == 0 {
            out.push_str(&rest[..open]);
        }
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if closing {
            skipped = skipped.saturating_sub(1);
            out.push(' ');
            continue;
        }
        if VOID.contains(&name.as_str()) || tag.ends_with('/') {
            if skipped == 0 {
                for attr in ["placeholder", "title", "aria-label"] {
                    if let Some(v) = attribute(tag, attr) {
                        out.push_str(&format!(" {v} "));
                    }
                }
            }
            continue;
        }
        if skipped > 0 {
            skipped += 1;
            continue;
        }
        if ["style", "script", "textarea"].contains(&name.as_str())
            || attribute(tag, "class").is_some_and(|c| c.split(' ').any(|c| c.starts_with("wx-")))
        {
            skipped = 1;
            continue;
        }
        for attr in ["placeholder", "title", "aria-label"] {
            if let Some(v) = attribute(tag, attr) {
                out.push_str(&format!(" {v} "));
            }
        }
        out.push(' ');
    }
    if skipped == 0 {
        out.push_str(rest);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of attribute `name` in a tag's source (maud quotes every value and escapes `"` in it).
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[at..].split('"').next()
}

fn cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF)
}

/// Runs of CJK characters in `text` (after the seller's data is taken out), each with some context.
fn chinese_in(text: &str) -> Vec<String> {
    let mut text = text.to_owned();
    for data in DATA {
        text = text.replace(data, "·");
    }
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !cjk(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (cjk(chars[i]) || chars[i] == ' ') {
            i += 1;
        }
        let from = start.saturating_sub(24);
        let to = (i + 24).min(chars.len());
        found.push(format!(
            "「{}」 in …{}…",
            chars[start..i].iter().collect::<String>().trim(),
            chars[from..to].iter().collect::<String>()
        ));
    }
    found
}

fn text_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-text");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A browser of the console: the admin's session (when logged in), in one language.
struct Reader<'a> {
    app: &'a TestApp,
    session: Option<String>,
    /// Chinese runs found on English pages, English sentences on Chinese pages.
    problems: Vec<String>,
    pages: usize,
    /// Each Chinese page's visible text, by the page's name.
    chinese: std::collections::BTreeMap<String, String>,
}

impl Reader<'_> {
    fn cookies(&self, lang: &str) -> String {
        match &self.session {
            Some(s) => format!("shoprelay_session={s}; shoprelay_lang={lang}"),
            None => format!("shoprelay_lang={lang}"),
        }
    }

    /// GETs `path` in English and in Chinese; checks the English page, keeps both texts.
    async fn get(&mut self, name: &str, path: &str) -> String {
        let mut english = String::new();
        for lang in ["zh-CN", "en"] {
            let r = browser()
                .get(format!("{}{path}", self.app.base))
                .header(COOKIE, self.cookies(lang))
                .send()
                .await
                .unwrap();
            assert!(!r.status().is_server_error(), "{path}: {}", r.status());
            let html = r.text().await.unwrap();
            if lang == "en" {
                english = html.clone();
            }
            self.read(name, lang, &html);
        }
        english
    }

    /// POSTs `form` (its CSRF token taken from the English page `from`) in English and checks the page it
    /// answers; answers the status (a redirect's target is read by the next `get`).
    async fn post(&mut self, name: &str, from: &str, path: &str, form: &[(&str, &str)]) -> StatusCode {
        let csrf = csrf_of(&self.get_en(from).await);
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        let r = browser()
            .post(format!("{}{path}", self.app.base))
            .header(COOKIE, self.cookies("en"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(!status.is_server_error(), "{path}: {status}");
        if status != StatusCode::SEE_OTHER {
            let html = r.text().await.unwrap();
            assert!(html.contains("<html"), "{path} answers a page: {html}");
            self.read(name, "en", &html);
        }
        status
    }

    async fn get_en(&self, path: &str) -> String {
        browser()
            .get(format!("{}{path}", self.app.base))
            .header(COOKIE, self.cookies("en"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    fn read(&mut self, name: &str, lang: &str, html: &str) {
        let text = visible_text(html);
        std::fs::write(text_dir().join(format!("{name}.{lang}.txt")), &text).unwrap();
        if lang == "en" {
            self.pages += 1;
        }
        let runs = if lang == "en" {
            chinese_in(&text)
        } else {
            english_in(&text)
        };
        for run in runs {
            self.problems.push(format!("{name} ({lang}): {run}"));
        }
        if lang != "en" {
            self.chinese.insert(name.to_owned(), text);
        }
    }
}

#[test]
fn the_text_reader_leaves_out_styles_form_values_and_wecom_drawings() {
    let html = "<html><head><style>p{}</style><title>T 标题</title></head><body><p title=\"tip\">a <b>b</b></p>\
                <input name=\"x\" value=\"值\" placeholder=\"hint\"><textarea>模板</textarea>\
                <div class=\"wx-card big\"><div>卡片</div><br></div><span>c</span></body></html>";
    assert_eq!(visible_text(html), "T 标题 tip a b hint c");
    assert_eq!(
        chinese_in("Shop 测试店铺 标题 ok"),
        vec!["「标题」 in …Shop · 标题 ok…"]
    );
    assert_eq!(
        english_in("店铺 corp_id errcode 40001 Partner Key 请 Save the rule 保存 wecom_app:hq order_created"),
        vec!["「Save the rule」"]
    );
    assert!(
        english_in("会话 where is my parcel? 已收到").is_empty(),
        "the buyer's words"
    );
}

#[tokio::test]
async fn every_console_page_in_english_shows_no_chinese_but_the_sellers_data() {
    let app = spawn_with_chat().await;
    app.shopee
        .buyer_says(SHOP, BUYER, "amy", "where is my parcel?")
        .await
        .unwrap();
    let order = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let mut r = Reader {
        app: &app,
        session: None,
        problems: Vec::new(),
        pages: 0,
        chinese: Default::default(),
    };

    // Before the first admin: the setup notice and the setup link's page.
    r.get("setup-notice", "/console").await;
    let link = app.server.engine.console().setup_link("test").await.unwrap().unwrap();
    let setup = link.strip_prefix(&app.base).unwrap().to_owned();
    r.get("setup", &setup).await;
    let session = first_admin(&app).await;

    // The login page, a refused password and a refused WeCom QR login (a member linked to no user).
    r.get("login", "/console/login").await;
    let login_page = browser()
        .get(format!("{}/console/login", app.base))
        .send()
        .await
        .unwrap();
    let (pre, _) = set_cookie(&login_page, "shoprelay_pre").unwrap();
    let csrf = csrf_of(&login_page.text().await.unwrap());
    let pre_cookie = format!("shoprelay_pre={pre}; shoprelay_lang=en");
    let refused = browser()
        .post(format!("{}/console/login", app.base))
        .header(COOKIE, &pre_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ops"),
            ("password", "not the password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    r.read("login-refused", "en", &refused.text().await.unwrap());
    let started = browser()
        .post(format!("{}/console/login/wecom/start", app.base))
        .header(COOKIE, &pre_cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let (secret, _) = set_cookie(&started, "shoprelay_wecom_login").unwrap();
    let to_wecom = reqwest::Url::parse(started.headers()[LOCATION].to_str().unwrap()).unwrap();
    let state = to_wecom
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // QR login signs in through the first WeCom app by id: `cs`, not `hq`.
    let code = app.wecom.scan_login(CS_AGENT, "lisi");
    let back = browser()
        .get(format!("{}/console/login/wecom", app.base))
        .query(&[("code", code.as_str()), ("state", state.as_str())])
        .header(COOKIE, format!("shoprelay_wecom_login={secret}; shoprelay_lang=en"))
        .send()
        .await
        .unwrap();
    let status = back.status();
    let body = back.text().await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    r.read("login-wecom-unlinked", "en", &body);

    r.session = Some(session);
    r.get("home", "/console").await;

    // Onboarding: the wizard, a WeCom app refused by WeCom, a marketplace app saved, test connection.
    r.get("onboarding", "/console/onboarding").await;
    let wecom = app.wecom.base_url();
    r.post(
        "onboarding-wecom-refused",
        "/console/onboarding",
        "/console/onboarding/wecom",
        &[
            ("id", "hq2"),
            ("corp_id", "wwsim00000000000001"),
            ("agent_id", "1000002"),
            ("secret", "not-the-secret"),
            ("test_user", "zhangsan"),
            ("api_base", wecom.as_str()),
        ],
    )
    .await;
    r.post(
        "onboarding-test",
        "/console/onboarding",
        "/console/onboarding/test",
        &[("test_user", "zhangsan")],
    )
    .await;

    // The entity check: the WeCom company and a shop licence that differ, with the diff and the fix.
    r.post(
        "entity-wecom",
        "/console/entity",
        "/console/entity/wecom",
        &[
            ("name", "深圳市某某科技有限责任公司"),
            ("verified", "1"),
            ("representative", "张三"),
            ("registered_capital", "100万元"),
        ],
    )
    .await;
    r.post(
        "entity-shop",
        "/console/entity",
        &format!("/console/entity/shop/{APP}/{SHOP}"),
        &[
            ("legal_entity", "深圳市某某科技有限公司"),
            ("registered_capital", "RMB 2000000"),
        ],
    )
    .await;
    r.get("entity", "/console/entity").await;

    // Rules: the list, a preview, a refused draft, a saved rule, its editor, a dry run.
    r.get("rules", "/console/rules").await;
    r.get("rule-new", "/console/rules/new").await;
    let source = format!("order:{order}");
    let rule = [
        ("id", "vip-orders"),
        ("ev.order_created", "1"),
        ("targets", "{ type = \"robot\", robot = \"ops\" }"),
        ("template", "### New order {{ event.order_sn }}"),
        ("source", source.as_str()),
    ];
    let mut preview = rule.to_vec();
    preview.push(("intent", "preview"));
    r.post("rule-preview", "/console/rules/new", "/console/rules/editor", &preview)
        .await;
    let mut card = rule.to_vec();
    card[3] = ("template", "");
    card[2] = (
        "targets",
        "{ type = \"wecom_app\", app = \"hq\", users = [\"zhangsan\"] }",
    );
    card.push(("intent", "preview"));
    r.post(
        "rule-preview-card",
        "/console/rules/new",
        "/console/rules/editor",
        &card,
    )
    .await;
    let mut broken = rule.to_vec();
    broken[2] = ("targets", "{ type = \"robot\", robot = \"nobody\" }");
    broken.push(("intent", "save"));
    r.post("rule-refused", "/console/rules/new", "/console/rules/editor", &broken)
        .await;
    let mut save = rule.to_vec();
    save.push(("intent", "save"));
    let saved = r
        .post("rule-save", "/console/rules/new", "/console/rules/editor", &save)
        .await;
    assert_eq!(saved, StatusCode::SEE_OTHER, "the rule is saved");
    // A rule whose condition the dry runs' events fail (they come from another shop).
    let conditional = [
        ("id", "other-shop"),
        ("enabled", "1"),
        ("when", "{ shop = [1] }"),
        ("targets", "{ type = \"robot\", robot = \"ops\" }"),
        ("source", source.as_str()),
        ("intent", "save"),
    ];
    let saved = r
        .post(
            "rule-save-conditional",
            "/console/rules/new",
            "/console/rules/editor",
            &conditional,
        )
        .await;
    assert_eq!(saved, StatusCode::SEE_OTHER, "the conditional rule is saved");
    r.get("rule-edit", "/console/rules/vip-orders/edit").await;
    r.get("rules-dry-run", &format!("/console/rules?source={source}")).await;
    r.get("rules-dry-run-sample", "/console/rules?source=kind:buyer_message")
        .await;

    // Conversations: the list, the thread, a claim.
    let list = r.get("conversations", "/console/conversations").await;
    r.get("conversations-open", "/console/conversations?state=open").await;
    let id: String = list
        .split("href=\"/console/conversations/")
        .nth(1)
        .expect("the buyer's conversation is listed")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let thread = format!("/console/conversations/{id}");
    r.get("conversation", &thread).await;
    let claimed = r
        .post(
            "conversation-claim",
            &thread,
            &format!("{thread}/act"),
            &[("member", "zhangsan"), ("app", "cs"), ("action", "claim")],
        )
        .await;
    if claimed == StatusCode::SEE_OTHER {
        r.get("conversation-claimed", &thread).await;
    }

    // The audit log, filtered, and the deliveries as WeCom received them.
    let audit = r.get("audit", "/console/audit").await;
    r.get(
        "audit-filtered",
        &format!("/console/audit?kind=delivery&order_sn={order}"),
    )
    .await;
    r.get("audit-bad-filter", "/console/audit?from=yesterday").await;
    let received: Vec<String> = audit
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|s| s.starts_with("/console/audit/") && s.ends_with("/wecom"))
        .map(str::to_owned)
        .collect();
    assert!(received.len() >= 2, "the app's card and the robot's markdown: {audit}");
    for (i, path) in received.iter().enumerate() {
        r.get(&format!("as-received-{i}"), path).await;
    }
    r.get("as-received-missing", "/console/audit/999999999/wecom").await;

    // Dashboard, destinations.
    for range in ["1h", "24h", "7d"] {
        r.get(
            &format!("dashboard-{range}"),
            &format!("/console/dashboard?range={range}"),
        )
        .await;
    }
    r.get("dashboard-bad-range", "/console/dashboard?range=forever").await;
    r.get("destinations", "/console/destinations").await;

    // Admin pages: users (one linked to a WeCom member), tokens (one created), the record of actions.
    r.get("users", "/console/users").await;
    r.post(
        "user-create",
        "/console/users",
        "/console/users",
        &[("username", "ann"), ("password", "short"), ("role", "viewer")],
    )
    .await;
    r.post(
        "user-link-refused",
        "/console/users",
        "/console/users/ops/wecom",
        &[("wecom_userid", "张 三")],
    )
    .await;
    r.post(
        "user-link",
        "/console/users",
        "/console/users/ops/wecom",
        &[("wecom_userid", "zhangsan")],
    )
    .await;
    r.get("users-linked", "/console/users").await;
    r.get("tokens", "/console/tokens").await;
    r.post(
        "token-created",
        "/console/tokens",
        "/console/tokens",
        &[("name", "ci"), ("scope", "read")],
    )
    .await;
    r.get("tokens-listed", "/console/tokens").await;
    r.get("actions", "/console/actions").await;
    r.get("not-found", "/console/rules/nobody/edit").await;
    // A member's reply from WeCom, made last so that what it records reaches no page above.
    app.wecom
        .member_says(CS_AGENT, "zhangsan", &format!("#{id} ok"))
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    r.get("conversation-replied", &thread).await;

    // Labels translated one word at a time, which the sentence check above would miss if they went back
    // to English: a message's outcome, a rule's counters and dry-run outcomes, a form label, the audit
    // log's kinds and outcomes.
    let translated: &[(&str, &[&str])] = &[
        ("conversation", &["已收到"]),
        ("conversation-replied", &["已收到", "已发出"]),
        ("rules", &["匹配", "已送达"]),
        ("rules-dry-run", &["条件不成立"]),
        ("rules-dry-run-sample", &["事件类型或店铺不适用", "条件不成立"]),
        ("onboarding", &["API 地址"]),
        ("audit", &["推送", "已验证", "授权", "已授权", "投递", "已送达"]),
        ("audit-filtered", &["投递", "已送达"]),
    ];
    for (page, words) in translated {
        let text = r.chinese.get(*page).map(String::as_str).unwrap_or_default();
        for word in *words {
            if !text.contains(word) {
                r.problems.push(format!("{page} (zh-CN): 「{word}」 missing"));
            }
        }
    }
    assert!(r.pages >= 40, "every page was read: {}", r.pages);
    assert!(
        r.problems.is_empty(),
        "Chinese on English pages, English sentences on Chinese pages ({} runs; texts in {}):\n{}",
        r.problems.len(),
        text_dir().display(),
        r.problems.join("\n")
    );
}
