//! Card buttons end to end: cards sent through an app with a callback URL carry real buttons
//! (button_interaction); the WeCom simulator's members click them, the click comes back as an encrypted
//! `template_card_event`, shoprelay claims / resolves / hands off / acknowledges, and updates the card
//! with the click's single-use response_code. Apps without a callback keep the acknowledgement link.

use std::time::Duration;

use serde_json::Value;
use shoprelay_clock::Clock;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_sim::wecom::{
    CallbackEvent, CallbackRecord, Destination, SimApp, SimCallback, SimMessage, WeComSimConfig,
};
use shoprelay_store::{AuditFilter, AuditKind, AuditOutcome};

use crate::helpers::*;

const CS_AGENT: i64 = 1000003;
const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const BUYER: u64 = 55502;

fn with_cs_app(c: &mut WeComSimConfig) {
    c.apps.push(SimApp {
        agent_id: CS_AGENT,
        secret: "cs-secret".into(),
        name: "客服".into(),
    });
    // Short enough that a test can outlive a code without passing shoprelay's own 72-hour check.
    c.response_code_ttl_secs = 3_600;
}

/// The usual app `hq` (no callback) plus a customer-service app `cs` with a callback URL; buyer messages
/// go to zhangsan and lisi through `cs`, new orders are assigned to zhangsan through `cs` (with a copy to
/// lisi through `hq`) and escalate to the ops robot after a minute.
async fn spawn() -> TestApp {
    let app = spawn_app_with(Options {
        wecom_sim: with_cs_app,
        ..Options::default()
    })
    .await;
    app.authorize().await;
    let toml = config_toml(
        &app.base,
        app.shopee.base_url(),
        &app.wecom.base_url(),
        "sim-app-secret",
    ) + &format!(
        r#"
[[wecom.apps]]
id = "cs"
corp_id = "wwsim00000000000001"
secret = "cs-secret"
agent_id = {CS_AGENT}
api_base = "{wecom}"
callback_token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"

[[routes]]
id = "chat"
events = ["buyer_message"]
targets = [{{ type = "wecom_app", app = "cs", users = ["zhangsan", "lisi"] }}]

[[rules]]
id = "handle"
events = ["order_created"]
assign = {{ app = "cs", members = [{{ user = "zhangsan" }}] }}
targets = [{{ type = "wecom_app", app = "hq", users = ["lisi"] }}]
escalate = {{ after_minutes = 1, targets = [{{ type = "robot", robot = "ops" }}] }}
"#,
        wecom = app.wecom.base_url()
    );
    let file = parse_config(&toml).unwrap();
    let engine = &app.server.engine;
    let objects = Registry::from_file(&file).to_objects(&engine.secrets).unwrap();
    engine.store().apply_config(&objects, app.clock.now()).await.unwrap();
    engine.reload_config().await.unwrap();
    app.wecom
        .set_callback(&SimCallback {
            agent_id: CS_AGENT,
            url: format!("{}/wecom/callback/cs", app.base),
            token: TOKEN.into(),
            encoding_aes_key: AES_KEY.into(),
        })
        .unwrap();
    app
}

async fn api(app: &TestApp, path: &str) -> Value {
    let answer = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    answer.json().await.unwrap()
}

fn from_cs(card: &SimMessage) -> bool {
    card.destination == Destination::App { agentid: CS_AGENT }
}

fn button_keys(card: &SimMessage) -> Vec<String> {
    card.body["template_card"]["button_list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["key"].as_str().map(str::to_owned))
        .collect()
}

fn task_id(card: &SimMessage) -> String {
    card.body["template_card"]["task_id"].as_str().unwrap().to_owned()
}

/// A buyer writes; returns the conversation's number and the task_id of the card sent about it.
async fn buyer_writes(app: &TestApp, text: &str) -> (i64, String) {
    app.shopee.buyer_says(SHOP, BUYER, "buyer_bo", text).await.unwrap();
    app.dispatch_until_settled().await;
    let id = api(app, "/api/v1/conversations").await[0]["id"].as_i64().unwrap();
    let card = app
        .cards()
        .into_iter()
        .rev()
        .find(|c| from_cs(c) && c.body.to_string().contains(text))
        .expect("the buyer's message reached the cs app");
    let tc = &card.body["template_card"];
    assert_eq!(tc["card_type"], "button_interaction", "{tc}");
    assert_eq!(button_keys(&card), ["claim", "resolve", "handoff"], "{tc}");
    let jumps = tc["jump_list"].to_string();
    assert!(
        jumps.contains(&format!("/conversations/{id}")),
        "a jump to the conversation: {jumps}"
    );
    (id, task_id(&card))
}

async fn click(app: &TestApp, member: &str, task_id: &str, key: &str) -> CallbackRecord {
    let record = app.wecom.click_button(CS_AGENT, member, task_id, key).await.unwrap();
    assert!(record.delivered, "{record:?}");
    app.dispatch_until_settled().await;
    record
}

async fn conversation(app: &TestApp, id: i64) -> (String, Option<String>) {
    let c = api(app, &format!("/api/v1/conversations/{id}")).await;
    (
        c["state"].as_str().unwrap().to_owned(),
        c["holder"].as_str().map(str::to_owned),
    )
}

/// Texts the `cs` app sent to `member`.
fn told(app: &TestApp, member: &str) -> Vec<String> {
    app.wecom
        .messages()
        .into_iter()
        .filter(|m| m.msgtype == "text" && m.recipients.iter().any(|r| r == member))
        .filter_map(|m| m.body["text"]["content"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn claim_then_resolve_from_the_card_and_the_card_shows_who_took_it() {
    let app = spawn().await;
    let (id, task) = buyer_writes(&app, "is the mug in stock?").await;
    assert_eq!(conversation(&app, id).await, ("open".into(), None));

    click(&app, "zhangsan", &task, "claim").await;
    assert_eq!(
        conversation(&app, id).await,
        ("claimed".into(), Some("zhangsan".into()))
    );
    let updates = app.wecom.card_updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].task_id.as_deref(), Some(task.as_str()));
    assert!(updates[0].atall, "everyone who got the card sees who took it");
    let card = updates[0].template_card.as_ref().expect("the card is replaced");
    assert!(card.to_string().contains("zhangsan"), "{card}");
    let keys: Vec<&str> = card["button_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["key"].as_str())
        .collect();
    assert_eq!(keys, ["resolve", "handoff"], "claimed: what is left to do");

    // Held: the buyer's next message comes to zhangsan alone.
    app.shopee
        .buyer_says(SHOP, BUYER, "buyer_bo", "hello again")
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    let again = app
        .cards()
        .into_iter()
        .find(|c| c.body.to_string().contains("hello again"))
        .unwrap();
    assert_eq!(again.recipients, ["zhangsan"]);

    click(&app, "zhangsan", &task, "resolve").await;
    assert_eq!(conversation(&app, id).await.0, "resolved");
    let updates = app.wecom.card_updates();
    assert_eq!(updates.len(), 2);
    assert!(
        updates[1]
            .replace_name
            .as_deref()
            .is_some_and(|n| n.contains("已处理") && n.contains("zhangsan")),
        "{:?}",
        updates[1]
    );
}

#[tokio::test]
async fn hand_off_from_the_card_and_a_second_member_sees_who_holds_it() {
    let app = spawn().await;
    let (id, task) = buyer_writes(&app, "refund please").await;
    click(&app, "zhangsan", &task, "claim").await;

    // lisi got the same card; clicking claim does not take it from zhangsan.
    click(&app, "lisi", &task, "claim").await;
    assert_eq!(
        conversation(&app, id).await,
        ("claimed".into(), Some("zhangsan".into()))
    );
    let last = app.wecom.card_updates().pop().unwrap();
    assert_eq!(last.userids, ["lisi"], "only lisi's card says so");
    assert!(last.replace_name.unwrap().contains("zhangsan"));
    assert!(
        told(&app, "lisi").iter().any(|t| t.contains("zhangsan")),
        "{:?}",
        told(&app, "lisi")
    );

    click(&app, "zhangsan", &task, "handoff").await;
    assert_eq!(conversation(&app, id).await.0, "open");
    let last = app.wecom.card_updates().pop().unwrap();
    assert!(last.atall);
    assert!(last.replace_name.unwrap().contains("转出"));

    // Let go: lisi can take it now (a second later: a click repeated within its second is WeCom's retry).
    app.clock.advance(Duration::from_secs(1));
    click(&app, "lisi", &task, "claim").await;
    assert_eq!(conversation(&app, id).await, ("claimed".into(), Some("lisi".into())));
}

/// What shoprelay recorded acting on members' clicks and messages.
async fn acted(app: &TestApp) -> Vec<String> {
    app.audit(AuditFilter {
        kind: Some(AuditKind::Callback),
        outcome: Some(AuditOutcome::Acted),
        ..AuditFilter::default()
    })
    .await
    .into_iter()
    .map(|e| e.detail)
    .collect()
}

#[tokio::test]
async fn a_click_delivered_twice_is_acted_on_once() {
    let app = spawn().await;
    let (id, task) = buyer_writes(&app, "size chart?").await;
    let record = click(&app, "zhangsan", &task, "claim").await;
    // WeCom's retry of the same click: the same event, posted again.
    let attempt = &record.attempts[0];
    let again = app
        .http
        .post(&attempt.url)
        .header("content-type", "text/xml")
        .body(attempt.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "a retry is answered like the first");
    app.dispatch_until_settled().await;
    let claims: Vec<String> = acted(&app)
        .await
        .into_iter()
        .filter(|d| d.contains(&format!("#{id} claimed")))
        .collect();
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert_eq!(app.wecom.card_updates().len(), 1, "the card is updated once");
    let duplicates = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Callback),
            outcome: Some(AuditOutcome::Duplicate),
            ..AuditFilter::default()
        })
        .await;
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
}

#[tokio::test]
async fn a_response_code_past_its_time_leaves_the_card_but_the_click_still_counts() {
    let app = spawn().await;
    let (id, task) = buyer_writes(&app, "hello?").await;
    // The click arrives, but is acted on only after the simulator's code lifetime (an hour here).
    let record = app
        .wecom
        .click_button(CS_AGENT, "zhangsan", &task, "claim")
        .await
        .unwrap();
    assert!(record.delivered);
    let CallbackEvent::TemplateCardEvent { response_code, .. } = &record.event else {
        panic!("a click");
    };
    assert!(!response_code.is_empty());
    app.clock.advance(Duration::from_secs(2 * 3_600));
    app.dispatch_until_settled().await;

    assert_eq!(
        conversation(&app, id).await,
        ("claimed".into(), Some("zhangsan".into()))
    );
    assert!(app.wecom.card_updates().is_empty(), "WeCom refused the stale code");
    let failed = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Callback),
            outcome: Some(AuditOutcome::Failed),
            ..AuditFilter::default()
        })
        .await;
    assert!(
        failed
            .iter()
            .any(|e| e.detail.contains("not updated") && e.detail.contains("wecom.response_code_rejected")),
        "{failed:?}"
    );
    // Processing goes on: the next click is acted on and its fresh code updates the card.
    click(&app, "zhangsan", &task, "resolve").await;
    assert_eq!(conversation(&app, id).await.0, "resolved");
    assert_eq!(app.wecom.card_updates().len(), 1);
}

#[tokio::test]
async fn the_acknowledge_button_of_an_order_card_acknowledges_its_task() {
    let app = spawn().await;
    let order = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let cards: Vec<SimMessage> = app
        .cards()
        .into_iter()
        .filter(|c| c.body.to_string().contains(&order))
        .collect();
    let assigned = cards
        .iter()
        .find(|c| from_cs(c) && c.recipients == ["zhangsan"])
        .expect("the assignee's card through cs");
    let tc = &assigned.body["template_card"];
    assert_eq!(tc["card_type"], "button_interaction", "{tc}");
    assert_eq!(button_keys(assigned), ["ack"]);
    assert!(
        !tc["jump_list"].to_string().contains("/ack/"),
        "a button replaces the link: {tc}"
    );
    // The copy through hq, which has no callback, keeps the link.
    let copy = cards
        .iter()
        .find(|c| c.recipients == ["lisi"])
        .expect("the copy through hq");
    assert_eq!(copy.body["template_card"]["card_type"], "text_notice");
    assert!(copy.body["template_card"]["jump_list"].to_string().contains("/ack/"));

    click(&app, "zhangsan", &task_id(assigned), "ack").await;
    let tasks = api(&app, "/api/v1/tasks").await;
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["order_sn"] == order.as_str())
        .unwrap_or_else(|| panic!("{tasks}"));
    assert_eq!(
        (task["state"].as_str(), task["acked_by"].as_str()),
        (Some("acked"), Some("zhangsan"))
    );
    let update = app.wecom.card_updates().pop().expect("the card is updated");
    assert!(update.replace_name.unwrap().contains("zhangsan"));

    // Acknowledged: the minute passes without an escalation.
    app.clock.advance(Duration::from_secs(61));
    app.dispatch_until_settled().await;
    assert!(
        !app.markdowns().iter().any(|m| m.contains("超时未处理")),
        "{:?}",
        app.markdowns()
    );
}

/// Claims, resolves or hands off conversation `id` from the console as WeCom member `member` of `cs`.
async fn act_in_console(app: &TestApp, session: &str, id: i64, action: &str, member: &str) -> String {
    use crate::console::{csrf_of, get_page, post_form};
    let path = format!("/console/conversations/{id}");
    let csrf = csrf_of(&get_page(app, session, &path).await.1);
    let form = [
        ("csrf", csrf.as_str()),
        ("action", action),
        ("app", "cs"),
        ("member", member),
    ];
    post_form(app, session, &format!("{path}/act"), &form)
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_console_claim_updates_the_card_members_have_with_the_code_its_send_answered() {
    let app = spawn().await;
    let session = crate::console::first_admin(&app).await;
    let (id, task) = buyer_writes(&app, "do you ship to Penang?").await;
    assert!(app.wecom.card_updates().is_empty());

    act_in_console(&app, &session, id, "claim", "zhangsan").await;
    app.dispatch_until_settled().await;
    assert_eq!(
        conversation(&app, id).await,
        ("claimed".into(), Some("zhangsan".into()))
    );
    let updates = app.wecom.card_updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(
        updates[0].task_id.as_deref(),
        Some(task.as_str()),
        "the card sent about #{id}"
    );
    assert!(updates[0].atall, "everyone the card reached sees it");
    let card = updates[0].template_card.as_ref().expect("the card is replaced");
    assert!(card.to_string().contains("zhangsan 已认领"), "{card}");
    let keys: Vec<&str> = card["button_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["key"].as_str())
        .collect();
    assert_eq!(keys, ["resolve", "handoff"], "claimed: what is left to do");

    // A click afterwards updates the card with the click's own code.
    click(&app, "zhangsan", &task, "resolve").await;
    assert_eq!(conversation(&app, id).await.0, "resolved");
    let updates = app.wecom.card_updates();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert_ne!(updates[1].response_code, updates[0].response_code);
    assert!(updates[1].replace_name.as_deref().is_some_and(|n| n.contains("已处理")));

    // The send's code is spent: a later console action has no code left to update the card with, and
    // tries none (the simulator would refuse a second use).
    act_in_console(&app, &session, id, "handoff", "zhangsan").await;
    assert_eq!(conversation(&app, id).await.0, "open");
    assert_eq!(app.wecom.card_updates().len(), 2);
    let refused = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Callback),
            outcome: Some(AuditOutcome::Failed),
            ..AuditFilter::default()
        })
        .await;
    assert!(refused.is_empty(), "{refused:?}");
}

#[tokio::test]
async fn a_card_code_older_than_its_time_is_not_spent_by_the_console() {
    let app = spawn().await;
    let (id, _) = buyer_writes(&app, "still there?").await;
    // WeCom takes a send's code for 72 hours: past them, the console leaves the card as it is.
    app.clock.advance(Duration::from_secs(72 * 3_600 + 1));
    let session = crate::console::first_admin(&app).await;
    act_in_console(&app, &session, id, "claim", "lisi").await;
    assert_eq!(conversation(&app, id).await, ("claimed".into(), Some("lisi".into())));
    assert!(app.wecom.card_updates().is_empty());
    let tried = app.audit(AuditFilter::default()).await;
    assert!(
        !tried
            .iter()
            .any(|e| e.detail.contains("not updated after a console action")),
        "an expired code is not even tried: {tried:?}"
    );
}
