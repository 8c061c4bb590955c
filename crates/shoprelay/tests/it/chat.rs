//! Customer service end to end against both simulators: a buyer writes on Shopee, the card reaches the
//! member with the conversation's number, the member answers through an encrypted WeCom callback, the
//! Shopee simulator receives `sellerchat/send_message` for that buyer, the member is told, and the archive
//! holds both — once, whatever the retries and Shopee's echo of the seller's own message.

use serde_json::Value;
use shoprelay_clock::Clock;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_sim::shopee::ChatSender;
use shoprelay_sim::wecom::{SimApp, SimCallback, WeComSimConfig};

use crate::helpers::*;

/// The agent of the chat set-up's customer-service app, which QR login uses (the first WeCom app by id).
pub(crate) const CS_AGENT: i64 = 1000003;
const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
pub(crate) const BUYER: u64 = 55501;

fn with_cs_app(c: &mut WeComSimConfig) {
    c.apps.push(SimApp {
        agent_id: CS_AGENT,
        secret: "cs-secret".into(),
        name: "客服".into(),
    });
}

/// The usual app plus a customer-service WeCom app `cs` whose callbacks the simulator sends, and a rule
/// that brings buyer messages to zhangsan through it.
pub(crate) async fn spawn_with_chat() -> TestApp {
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

/// Texts the `cs` app sent to `member`.
fn told(app: &TestApp, member: &str) -> Vec<String> {
    app.wecom
        .messages()
        .into_iter()
        .filter(|m| m.msgtype == "text" && m.recipients.iter().any(|r| r == member))
        .filter_map(|m| m.body["text"]["content"].as_str().map(str::to_owned))
        .collect()
}

async fn api(app: &TestApp, path: &str) -> Value {
    let answer = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    answer.json().await.unwrap()
}

/// A buyer writes; returns the conversation's number once the card reached zhangsan.
async fn buyer_writes(app: &TestApp, text: &str) -> i64 {
    app.shopee.buyer_says(SHOP, BUYER, "buyer_amy", text).await.unwrap();
    app.dispatch_until_settled().await;
    let conversations = api(app, "/api/v1/conversations").await;
    let id = conversations[0]["id"].as_i64().unwrap();
    let card = app
        .cards()
        .into_iter()
        .find(|c| c.recipients == ["zhangsan"] && c.body.to_string().contains(text))
        .expect("the buyer's message reached zhangsan");
    assert!(
        card.body.to_string().contains(&format!("#{id}")),
        "the card names the conversation: {}",
        card.body
    );
    id
}

#[tokio::test]
async fn a_member_answers_a_buyer_from_wecom_and_the_archive_keeps_both() {
    let app = spawn_with_chat().await;
    let id = buyer_writes(&app, "where is my parcel?").await;

    let said = app
        .wecom
        .member_says(CS_AGENT, "zhangsan", &format!("#{id} 亲，包裹明天发出"))
        .await
        .unwrap();
    assert!(said.delivered, "the callback was answered 200 in time: {said:?}");
    app.dispatch_until_settled().await;

    // Shopee received the reply, addressed to the buyer who wrote.
    let sent: Vec<_> = app
        .shopee
        .chat_messages()
        .into_iter()
        .filter(|m| m.sender == ChatSender::Seller)
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].buyer_id, sent[0].content["text"].as_str()),
        (BUYER, Some("亲，包裹明天发出"))
    );
    // The member is told, and now holds the conversation.
    assert!(told(&app, "zhangsan")
        .iter()
        .any(|t| t.contains("已发送给买家") && t.contains(&format!("#{id}"))));
    let thread = api(&app, &format!("/api/v1/conversations/{id}")).await;
    assert_eq!(
        (thread["state"].as_str(), thread["holder"].as_str()),
        (Some("claimed"), Some("zhangsan"))
    );

    // Shopee echoes the seller's own message as a push: it is neither a buyer message nor a new card.
    app.shopee.chat_pushes_settled().await;
    let cards_before = app.cards().len();
    app.dispatch_until_settled().await;
    assert_eq!(app.cards().len(), cards_before);
    let thread = api(&app, &format!("/api/v1/conversations/{id}")).await;
    let messages: Vec<(&str, &str, &str)> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["author"].as_str().unwrap(),
                m["outcome"].as_str().unwrap(),
                m["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            ("buyer", "received", "where is my parcel?"),
            ("staff", "sent", "亲，包裹明天发出")
        ]
    );
    assert_eq!(thread["messages"][1]["sender"], "zhangsan");
    assert!(
        thread["last_reply_at"].as_i64().is_some(),
        "a person's reply counts as the answer"
    );

    // Processing again sends nothing twice.
    app.dispatch_until_settled().await;
    let sellers = app
        .shopee
        .chat_messages()
        .into_iter()
        .filter(|m| m.sender == ChatSender::Seller)
        .count();
    assert_eq!(sellers, 1);

    // While zhangsan holds it, the buyer's next message comes to zhangsan alone, and lisi cannot take it.
    app.wecom
        .member_says(CS_AGENT, "lisi", &format!("认领 #{id}"))
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    assert!(
        told(&app, "lisi").iter().any(|t| t.contains("zhangsan")),
        "{:?}",
        told(&app, "lisi")
    );
    // A plain text goes to the conversation zhangsan holds.
    app.wecom
        .member_says(CS_AGENT, "zhangsan", "还有别的问题吗？")
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    let texts: Vec<String> = app
        .shopee
        .chat_messages()
        .into_iter()
        .filter(|m| m.sender == ChatSender::Seller)
        .filter_map(|m| m.content["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts, ["亲，包裹明天发出", "还有别的问题吗？"]);
}

#[tokio::test]
async fn a_shop_off_the_chat_whitelist_tells_the_member_at_once_and_keeps_the_failed_reply() {
    let app = spawn_with_chat().await;
    app.shopee.set_chat_whitelisted(SHOP, false);
    let id = buyer_writes(&app, "hello?").await;
    app.wecom
        .member_says(CS_AGENT, "zhangsan", &format!("#{id} 您好"))
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    assert!(app.shopee.chat_messages().iter().all(|m| m.sender == ChatSender::Buyer));
    let told = told(&app, "zhangsan");
    assert!(
        told.iter().any(|t| t.contains("未能发送") && t.contains("白名单")),
        "the member reads why and what to do: {told:?}"
    );
    let thread = api(&app, &format!("/api/v1/conversations/{id}")).await;
    assert_eq!(thread["messages"][1]["outcome"], "failed");
    assert!(thread["last_reply_at"].is_null());
}

#[tokio::test]
async fn a_member_without_a_conversation_is_told_how_to_answer() {
    let app = spawn_with_chat().await;
    app.wecom.member_says(CS_AGENT, "lisi", "hello").await.unwrap();
    app.dispatch_until_settled().await;
    assert!(
        told(&app, "lisi").iter().any(|t| t.contains("#会话号")),
        "{:?}",
        told(&app, "lisi")
    );
    assert!(app.shopee.chat_messages().is_empty());
}

#[tokio::test]
async fn the_archive_is_searched_and_exported_with_formulas_neutralised() {
    let app = spawn_with_chat().await;
    // Not through `buyer_writes`: the card shows the text neutralised for WeCom, not as written.
    app.shopee
        .buyer_says(
            SHOP,
            BUYER,
            "buyer_amy",
            "=HYPERLINK(\"https://evil.example\") where is my parcel?",
        )
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    let id = api(&app, "/api/v1/conversations").await[0]["id"].as_i64().unwrap();
    app.wecom
        .member_says(CS_AGENT, "zhangsan", &format!("#{id} 亲，包裹明天发出"))
        .await
        .unwrap();
    app.dispatch_until_settled().await;

    let found = api(&app, "/api/v1/conversations/search?text=PARCEL").await;
    let hits = found["messages"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(
        (hits[0]["author"].as_str(), hits[0]["conversation_id"].as_i64()),
        (Some("buyer"), Some(id))
    );
    assert!(found["next_after_id"].is_null());
    let by_member = api(&app, "/api/v1/conversations/search?member=zhangsan&text=包裹").await;
    assert_eq!(by_member["messages"][0]["sender"], "zhangsan");
    assert_eq!(by_member["messages"][0]["outcome"], "sent");

    let csv = app
        .http
        .get(format!(
            "{}/api/v1/conversations/export?format=csv&shop_id={SHOP}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and both messages: {text}");
    assert!(lines[0].starts_with("message_id,conversation_id,at_utc"));
    assert!(lines[1].contains(",buyer,,marketplace,received,"), "{}", lines[1]);
    assert!(
        lines[1].ends_with("\"'=HYPERLINK(\"\"https://evil.example\"\") where is my parcel?\""),
        "a formula is neutralised: {}",
        lines[1]
    );
    assert!(lines[2].contains(",member,zhangsan,wecom,sent,"), "{}", lines[2]);

    let jsonl = app
        .http
        .get(format!(
            "{}/api/v1/conversations/export?format=jsonl&member=zhangsan",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "zhangsan holds the conversation: both messages");
    assert_eq!(
        rows[0]["text"],
        "=HYPERLINK(\"https://evil.example\") where is my parcel?"
    );
    assert_eq!(rows[1]["sender_kind"], "member");

    let refused = app
        .http
        .get(format!("{}/api/v1/conversations/export?format=xlsx", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "conversation.export_format");
}

#[tokio::test]
async fn the_conversation_shows_the_buyers_recent_orders_and_the_card_the_latest() {
    use shoprelay_sim::shopee::NewOrder;
    let app = spawn_with_chat().await;
    let mut orders = Vec::new();
    for status in ["COMPLETED", "READY_TO_SHIP"] {
        let created = app
            .shopee
            .create_order(NewOrder {
                buyer_username: Some("buyer_amy".into()),
                buyer_user_id: Some(BUYER),
                status: Some(status.into()),
                ..NewOrder::default()
            })
            .await
            .unwrap();
        orders.push(created.order.order_sn);
        app.dispatch_until_settled().await;
    }
    let id = buyer_writes(&app, "when does it ship?").await;
    let card = app
        .cards()
        .into_iter()
        .find(|c| c.recipients == ["zhangsan"] && c.body.to_string().contains("when does it ship?"))
        .unwrap();
    let rows = card.body["template_card"]["horizontal_content_list"].to_string();
    assert!(
        rows.contains(&format!("{} · READY_TO_SHIP", orders[1])),
        "the latest order and its status: {rows}"
    );
    let thread = api(&app, &format!("/api/v1/conversations/{id}")).await;
    let seen: Vec<(&str, &str)> = thread["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["order_sn"].as_str().unwrap(), o["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [(orders[1].as_str(), "READY_TO_SHIP"), (orders[0].as_str(), "COMPLETED")]
    );
}

#[tokio::test]
async fn a_shop_that_cannot_send_chat_is_told_to_the_admins_once_and_shown_in_the_status() {
    let app = spawn_with_chat().await;
    let chat_state = |status: &Value| status["shops"][0]["chat"]["state"].as_str().map(str::to_owned);
    assert_eq!(
        chat_state(&api(&app, "/api/v1/status").await).as_deref(),
        Some("untried")
    );
    app.shopee.set_chat_whitelisted(SHOP, false);
    let id = buyer_writes(&app, "anyone there?").await;
    for text in ["您好", "在的"] {
        app.wecom
            .member_says(CS_AGENT, "zhangsan", &format!("#{id} {text}"))
            .await
            .unwrap();
        app.dispatch_until_settled().await;
    }
    let notices: Vec<String> = app
        .markdowns()
        .into_iter()
        .filter(|m| m.contains("店铺无法收发买家聊天"))
        .collect();
    assert_eq!(notices.len(), 1, "the admins are told once, not per reply: {notices:?}");
    assert!(notices[0].contains("白名单"), "the notice says why: {}", notices[0]);
    let status = api(&app, "/api/v1/status").await;
    assert_eq!(chat_state(&status).as_deref(), Some("refused"), "{status}");
    assert!(status["shops"][0]["chat"]["reason"]
        .as_str()
        .unwrap()
        .contains("白名单"));

    // Whitelisted again: the next reply goes through and the status says so.
    app.shopee.set_chat_whitelisted(SHOP, true);
    app.wecom
        .member_says(CS_AGENT, "zhangsan", &format!("#{id} 好了"))
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    assert_eq!(chat_state(&api(&app, "/api/v1/status").await).as_deref(), Some("ok"));
}
