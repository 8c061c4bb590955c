//! Automatic answers and the response watch end to end against both simulators: a tracking question is
//! answered from the parcel's trail as the simulated Shopee reports it, a human request and a message
//! after an automatic answer reach a member as the usual card, answers are rate-limited per buyer, a buyer
//! writing out of hours is told so once, and buyers left without a person's reply are escalated and
//! warned before the 12-hour mark as the manual clock moves.

use std::time::Duration;

use serde_json::Value;
use shoprelay_clock::Clock;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_sim::shopee::{ChatSender, NewItem, NewOrder, TrackingStep};
use shoprelay_sim::wecom::{SimApp, SimCallback, WeComSimConfig};
use shoprelay_store::{AuditFilter, AuditKind, AuditOutcome};

use crate::helpers::*;

const CS_AGENT: i64 = 1000003;
const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const BUYER: u64 = 55501;
const BUYER_NAME: &str = "buyer_amy";
const TRAIL: &str = "Parcel arrived at the Singapore sorting hub";

fn with_cs_app(c: &mut WeComSimConfig) {
    c.apps.push(SimApp {
        agent_id: CS_AGENT,
        secret: "cs-secret".into(),
        name: "客服".into(),
    });
}

/// The usual app, a customer-service WeCom app `cs` whose callbacks the simulator sends, a rule that
/// brings buyer messages to zhangsan, and `chat` (the `[[chat]]` table's body) for the shop.
async fn spawn_with(chat: &str) -> TestApp {
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
targets = [{{ type = "wecom_app", app = "cs", users = ["zhangsan"] }}]

[[chat]]
id = "sg"
shops = [{SHOP}]
{chat}
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

/// Automatic answers on, with the built-in rules.
const AUTO_ON: &str = "[chat.autoreply]\nenabled = true\n";

/// An order of the buyer who writes, shipped, with one carrier step on its trail.
async fn shipped_order(app: &TestApp) -> String {
    let order_sn = app
        .shopee
        .create_order(NewOrder {
            items: vec![NewItem {
                item_name: "陶瓷马克杯".into(),
                item_sku: "MUG".into(),
                model_name: "Blue".into(),
                model_sku: "MUG-BL".into(),
                quantity: 1,
                price: 12.9,
                original_price: None,
            }],
            buyer_username: Some(BUYER_NAME.into()),
            buyer_user_id: Some(BUYER),
            status: Some("READY_TO_SHIP".into()),
            ..NewOrder::default()
        })
        .await
        .unwrap()
        .order
        .order_sn;
    app.dispatch_until_settled().await;
    app.shopee.set_order_status(&order_sn, "SHIPPED").await.unwrap();
    app.shopee
        .add_tracking_step(
            &order_sn,
            TrackingStep {
                update_time: app.clock.now().as_secs(),
                description: TRAIL.into(),
                logistics_status: "LOGISTICS_PICKUP_DONE".into(),
            },
        )
        .unwrap();
    app.dispatch_until_settled().await;
    order_sn
}

async fn api(app: &TestApp, path: &str) -> Value {
    let answer = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    answer.json().await.unwrap()
}

/// The buyer writes; returns the conversation's number.
async fn buyer_writes(app: &TestApp, text: &str) -> i64 {
    app.shopee.buyer_says(SHOP, BUYER, BUYER_NAME, text).await.unwrap();
    app.dispatch_until_settled().await;
    api(app, "/api/v1/conversations").await[0]["id"].as_i64().unwrap()
}

/// What the seller's side sent to the buyer on Shopee: (to_id, text).
fn sent_to_buyers(app: &TestApp) -> Vec<(u64, String)> {
    app.shopee
        .chat_messages()
        .into_iter()
        .filter(|m| m.sender == ChatSender::Seller)
        .map(|m| (m.buyer_id, m.content["text"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// Cards `member` received that quote `text`.
fn cards_to(app: &TestApp, member: &str, text: &str) -> usize {
    app.cards()
        .into_iter()
        .filter(|c| c.recipients.iter().any(|r| r == member) && c.body.to_string().contains(text))
        .count()
}

/// The archive of a conversation as (author, outcome, text, rule).
async fn archive(app: &TestApp, id: i64) -> Vec<(String, String, String, Option<String>)> {
    let thread = api(app, &format!("/api/v1/conversations/{id}")).await;
    thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["author"].as_str().unwrap().to_owned(),
                m["outcome"].as_str().unwrap().to_owned(),
                m["text"].as_str().unwrap().to_owned(),
                m["rule"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

async fn chat_audit(app: &TestApp, outcome: AuditOutcome) -> Vec<String> {
    app.audit(AuditFilter {
        kind: Some(AuditKind::Chat),
        outcome: Some(outcome),
        ..AuditFilter::default()
    })
    .await
    .into_iter()
    .map(|e| e.detail)
    .collect()
}

/// A member writes to the `cs` app and the callback is acted on.
async fn member_says(app: &TestApp, member: &str, text: &str) {
    let said = app.wecom.member_says(CS_AGENT, member, text).await.unwrap();
    assert!(said.delivered, "{said:?}");
    app.dispatch_until_settled().await;
}

#[tokio::test]
async fn a_tracking_question_is_answered_from_the_parcels_trail_and_archived_with_its_rule() {
    let app = spawn_with(AUTO_ON).await;
    let order_sn = shipped_order(&app).await;
    let question = "Hi, where is my order?";
    let id = buyer_writes(&app, question).await;

    // Shopee received the answer, addressed to the buyer, stating the carrier's own words.
    let sent = sent_to_buyers(&app);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, BUYER);
    assert!(
        sent[0].1.contains(TRAIL) && sent[0].1.contains(&order_sn) && sent[0].1.contains("shipped"),
        "{}",
        sent[0].1
    );
    assert!(
        app.shopee
            .api_calls()
            .iter()
            .any(|c| c.path.ends_with("/logistics/get_tracking_info")),
        "the trail was asked for, not guessed"
    );
    // Answered: no card to a member.
    assert_eq!(cards_to(&app, "zhangsan", question), 0);
    // The archive holds both, the answer with its rule; it is not a person's reply and closes nothing.
    let messages = archive(&app, id).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!((messages[0].0.as_str(), messages[0].2.as_str()), ("buyer", question));
    assert_eq!(
        (
            messages[1].0.as_str(),
            messages[1].1.as_str(),
            messages[1].2.as_str(),
            messages[1].3.as_deref()
        ),
        ("auto", "sent", sent[0].1.as_str(), Some("builtin.order_status"))
    );
    let thread = api(&app, &format!("/api/v1/conversations/{id}")).await;
    assert_eq!(thread["state"], "open");
    assert!(
        thread["last_reply_at"].is_null(),
        "an automatic answer is not a person's reply"
    );
    let audit = chat_audit(&app, AuditOutcome::AutoAnswered).await;
    assert!(
        audit
            .iter()
            .any(|d| d.contains(&format!("#{id}")) && d.contains("builtin.order_status")),
        "{audit:?}"
    );

    // The buyer writes again: a person takes over, nothing more is sent automatically.
    let again = "that does not help, where is my parcel??";
    buyer_writes(&app, again).await;
    assert_eq!(sent_to_buyers(&app).len(), 1);
    assert_eq!(cards_to(&app, "zhangsan", again), 1);
    let handed = chat_audit(&app, AuditOutcome::HandedOff).await;
    assert!(
        handed.iter().any(|d| d.contains("after an automatic answer")),
        "{handed:?}"
    );
}

#[tokio::test]
async fn a_request_for_a_human_reaches_a_member_without_an_automatic_answer() {
    let app = spawn_with(AUTO_ON).await;
    shipped_order(&app).await;
    let text = "我要人工客服，订单到哪了";
    let id = buyer_writes(&app, text).await;
    assert!(sent_to_buyers(&app).is_empty());
    assert_eq!(cards_to(&app, "zhangsan", text), 1);
    let messages = archive(&app, id).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let handed = chat_audit(&app, AuditOutcome::HandedOff).await;
    assert!(handed.iter().any(|d| d.contains("builtin.human")), "{handed:?}");
}

#[tokio::test]
async fn without_an_order_or_a_trail_the_question_goes_to_a_person() {
    let app = spawn_with(AUTO_ON).await;
    // No order of this buyer at all.
    let text = "where is my order?";
    buyer_writes(&app, text).await;
    assert!(sent_to_buyers(&app).is_empty());
    assert_eq!(cards_to(&app, "zhangsan", text), 1);
    let handed = chat_audit(&app, AuditOutcome::HandedOff).await;
    assert!(
        handed.iter().any(|d| d.contains("no order with tracking")),
        "{handed:?}"
    );
}

#[tokio::test]
async fn switched_off_by_default_nothing_is_answered() {
    let app = spawn_with("").await;
    shipped_order(&app).await;
    let text = "where is my order?";
    buyer_writes(&app, text).await;
    assert!(sent_to_buyers(&app).is_empty());
    assert_eq!(cards_to(&app, "zhangsan", text), 1);
}

#[tokio::test]
async fn answers_to_one_buyer_are_rate_limited() {
    let app = spawn_with("[chat.autoreply]\nenabled = true\nmax_per_buyer = 1\nper_minutes = 60\n").await;
    shipped_order(&app).await;
    let id = buyer_writes(&app, "where is my order?").await;
    assert_eq!(sent_to_buyers(&app).len(), 1);
    // A person answers and hands the conversation back to the rules.
    member_says(&app, "zhangsan", &format!("#{id} 已经在路上了")).await;
    member_says(&app, "zhangsan", &format!("转人工 #{id}")).await;
    assert_eq!(sent_to_buyers(&app).len(), 2);

    // Within the hour, the same question is not answered automatically again.
    app.clock.advance(Duration::from_secs(10 * 60));
    let again = "and now, where is my order?";
    buyer_writes(&app, again).await;
    assert_eq!(sent_to_buyers(&app).len(), 2, "{:?}", sent_to_buyers(&app));
    assert_eq!(cards_to(&app, "zhangsan", again), 1);
    let handed = chat_audit(&app, AuditOutcome::HandedOff).await;
    assert!(handed.iter().any(|d| d.contains("rate limit")), "{handed:?}");

    // Past the window it is answered again (after a person's reply in between).
    member_says(&app, "zhangsan", &format!("#{id} 请稍等")).await;
    member_says(&app, "zhangsan", &format!("转人工 #{id}")).await;
    app.clock.advance(Duration::from_secs(61 * 60));
    buyer_writes(&app, "tracking please").await;
    let sent = sent_to_buyers(&app);
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent[3].1.contains(TRAIL), "{}", sent[3].1);
}

#[tokio::test]
async fn out_of_hours_the_buyer_is_told_once_and_a_person_still_gets_the_message() {
    // Business hours that certainly do not hold now in the shop's zone (Singapore, UTC+8).
    // The manual clock starts at the host's time.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let hour = (now % 86_400 / 3_600 + 8) % 24;
    let (from, to) = ((hour + 2) % 24, (hour + 3) % 24);
    let app = spawn_with(&format!(
        "[chat.autoreply]\nenabled = true\nhours = {{ from = \"{from:02}:00\", to = \"{to:02}:00\" }}\n\
         out_of_hours = \"We are away now and answer from {from:02}:00.\"\n"
    ))
    .await;
    let text = "do you have this in size L?";
    let id = buyer_writes(&app, text).await;
    let sent = sent_to_buyers(&app);
    assert_eq!(
        sent,
        [(BUYER, format!("We are away now and answer from {from:02}:00."))]
    );
    assert_eq!(cards_to(&app, "zhangsan", text), 1, "a person still gets it");
    let messages = archive(&app, id).await;
    assert_eq!(messages[1].3.as_deref(), Some("out_of_hours"));

    // A second message: no second out-of-hours answer (no reply loop), a person gets it.
    let again = "hello??";
    buyer_writes(&app, again).await;
    assert_eq!(sent_to_buyers(&app).len(), 1);
    assert_eq!(cards_to(&app, "zhangsan", again), 1);
}

/// Escalation cards (`超时未处理`) `member` received about conversation `id`.
fn warnings_to(app: &TestApp, member: &str, id: i64) -> usize {
    app.cards()
        .into_iter()
        .filter(|c| c.recipients.iter().any(|r| r == member))
        .filter(|c| card_title(c).contains("超时未处理") && c.body.to_string().contains(&format!("#{id}")))
        .count()
}

#[tokio::test]
async fn an_unanswered_buyer_is_escalated_and_warned_before_the_12_hour_mark() {
    let app = spawn_with(
        r#"supervisor = [{ type = "wecom_app", app = "cs", users = ["lisi"] }]
escalate_after_minutes = 30

[chat.autoreply]
enabled = true
builtin = false

[[chat.autoreply.rules]]
id = "sizes"
keywords = ["size"]
reply = "Please see the size chart in the listing."
"#,
    )
    .await;
    let minute = Duration::from_secs(60);
    // Answered automatically: it does not count as a person's reply.
    let id = buyer_writes(&app, "which size should I take?").await;
    assert_eq!(sent_to_buyers(&app).len(), 1);
    member_says(&app, "zhangsan", &format!("认领 #{id}")).await;
    // Another buyer's message nobody claims: the holder's warning goes to the supervisor.
    app.shopee
        .buyer_says(SHOP, BUYER + 1, "buyer_ben", "hello?")
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    let unheld = api(&app, "/api/v1/conversations").await[0]["id"].as_i64().unwrap();
    assert_ne!(unheld, id);

    app.clock.advance(29 * minute);
    app.dispatch_until_settled().await;
    assert_eq!(warnings_to(&app, "lisi", id), 0, "not yet");
    app.clock.advance(2 * minute);
    app.dispatch_until_settled().await;
    assert_eq!(
        warnings_to(&app, "lisi", id),
        1,
        "escalated to the supervisor after 30 min"
    );
    assert_eq!(warnings_to(&app, "zhangsan", id), 0);
    assert_eq!(warnings_to(&app, "lisi", unheld), 1);

    // 10 hours: the holder is warned; 11 hours: the supervisor.
    app.clock.advance((10 * 60 - 31) * minute);
    app.dispatch_until_settled().await;
    assert_eq!(warnings_to(&app, "zhangsan", id), 1, "the holder is warned at 10 h");
    assert_eq!(warnings_to(&app, "lisi", id), 1);
    assert_eq!(warnings_to(&app, "lisi", unheld), 2, "nobody holds it: the supervisor");
    app.clock.advance(60 * minute);
    app.dispatch_until_settled().await;
    assert_eq!(warnings_to(&app, "lisi", id), 2, "the supervisor is warned at 11 h");
    // Past 12 hours nothing more: each step once.
    app.clock.advance(2 * 60 * minute);
    app.dispatch_until_settled().await;
    assert_eq!(
        (warnings_to(&app, "zhangsan", id), warnings_to(&app, "lisi", id)),
        (1, 2)
    );
    assert_eq!(warnings_to(&app, "lisi", unheld), 3);
    let warned = chat_audit(&app, AuditOutcome::ResponseWarned).await;
    assert_eq!(warned.len(), 6, "{warned:?}");

    // The buyer writes again and a person answers: the countdown stops.
    app.shopee
        .buyer_says(SHOP, BUYER, BUYER_NAME, "still there?")
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    member_says(&app, "zhangsan", &format!("#{id} 在的，推荐 M 码")).await;
    assert!(sent_to_buyers(&app).iter().any(|(_, t)| t == "在的，推荐 M 码"));
    app.clock.advance(11 * 60 * minute);
    app.dispatch_until_settled().await;
    assert_eq!(chat_audit(&app, AuditOutcome::ResponseWarned).await.len(), 6);
}
