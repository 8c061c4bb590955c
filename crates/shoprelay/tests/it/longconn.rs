//! WeCom's AI-bot long connection end to end: no callback URL; shoprelay dials the simulator's WebSocket,
//! subscribes, and members' messages and card clicks arrive over it into the same callback queue. One
//! connection per bot (a second kicks the first), reconnection after a drop with a back-off the manual
//! clock moves, and only the holder of the bot's lease dials.

use std::time::Duration;

use shoprelay_clock::Clock;
use shoprelay_core::error::UserFacing;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_engine::stage::ingest::longconn::{LinkState, LinkStatus};
use shoprelay_sim::shopee::ChatSender;
use shoprelay_sim::wecom::{SimApp, SimBot, WeComSimConfig};
use shoprelay_wecom::longconn::{BotCredentials, Inbound, LongConnError, Session};
use shoprelay_wecom::Secret;

use crate::helpers::*;

const CS_AGENT: i64 = 1000003;
const BOT: &str = "aibot-cs";
const BOT_SECRET: &str = "bot-long-connection-secret";
const BUYER: u64 = 55503;

fn with_bot(c: &mut WeComSimConfig) {
    c.apps.push(SimApp {
        agent_id: CS_AGENT,
        secret: "cs-secret".into(),
        name: "客服".into(),
    });
    c.bots.push(SimBot {
        bot_id: BOT.into(),
        secret: BOT_SECRET.into(),
        agent_id: CS_AGENT,
    });
}

/// A customer-service app `cs` that receives through the bot's long connection (no callback URL);
/// buyer messages go to zhangsan through it. The long connections are not started yet.
async fn spawn() -> TestApp {
    let app = spawn_app_with(Options {
        wecom_sim: with_bot,
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
bot_id = "{BOT}"
bot_secret = "{BOT_SECRET}"
long_connection_url = "{ws}"

[[routes]]
id = "chat"
events = ["buyer_message"]
targets = [{{ type = "wecom_app", app = "cs", users = ["zhangsan"] }}]
"#,
        wecom = app.wecom.base_url(),
        ws = app.wecom.long_connection_url(),
    );
    let file = parse_config(&toml).unwrap();
    let engine = &app.server.engine;
    let objects = Registry::from_file(&file).to_objects(&engine.secrets).unwrap();
    engine.store().apply_config(&objects, app.clock.now()).await.unwrap();
    engine.reload_config().await.unwrap();
    app
}

fn start(app: &TestApp) {
    // Stopped with the server: a child of its shutdown.
    app.server
        .engine
        .spawn_long_connections(app.server.shutdown.child_token());
}

/// Waits (bounded, in real time) until the `cs` link satisfies `ok`; nothing here sleeps.
async fn until(app: &TestApp, what: &str, ok: impl Fn(&LinkStatus) -> bool) -> LinkStatus {
    let mut links = app.server.engine.long_connections();
    let seen = tokio::time::timeout(
        Duration::from_secs(10),
        links.wait_for(|l| l.get("cs").is_some_and(&ok)),
    )
    .await
    .unwrap_or_else(|_| panic!("{what}: {:?}", app.server.engine.long_connections().borrow().get("cs")))
    .unwrap();
    seen.get("cs").cloned().unwrap()
}

fn connected(n: u64) -> impl Fn(&LinkStatus) -> bool {
    move |s| s.state == LinkState::Connected && s.connects == n
}

fn received(n: u64) -> impl Fn(&LinkStatus) -> bool {
    move |s| s.received >= n
}

fn open_connections(app: &TestApp) -> usize {
    app.wecom.long_connections().iter().filter(|c| c.open).count()
}

#[tokio::test]
async fn a_member_answers_a_buyer_over_the_long_connection() {
    let app = spawn().await;
    start(&app);
    until(&app, "subscribed", connected(1)).await;

    app.shopee
        .buyer_says(SHOP, BUYER, "buyer_cy", "do you ship to Penang?")
        .await
        .unwrap();
    app.dispatch_until_settled().await;
    let card = app
        .cards()
        .into_iter()
        .find(|c| c.body.to_string().contains("Penang"))
        .expect("the card reached zhangsan");
    let tc = &card.body["template_card"];
    assert_eq!(
        tc["card_type"], "button_interaction",
        "clicks come back over the connection: {tc}"
    );
    let task_id = tc["task_id"].as_str().unwrap().to_owned();
    let id = task_id
        .split('-')
        .find_map(|p| p.strip_prefix('c'))
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();

    let said = app
        .wecom
        .member_says(CS_AGENT, "zhangsan", &format!("#{id} yes, 3 days"))
        .await
        .unwrap();
    assert!(said.attempts.is_empty(), "not through a callback URL: {said:?}");
    until(&app, "the message arrived", received(1)).await;
    app.dispatch_until_settled().await;
    let sent: Vec<_> = app
        .shopee
        .chat_messages()
        .into_iter()
        .filter(|m| m.sender == ChatSender::Seller)
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].buyer_id, sent[0].content["text"].as_str()),
        (BUYER, Some("yes, 3 days"))
    );

    // A card click comes over the connection too.
    app.wecom
        .click_button(CS_AGENT, "zhangsan", &task_id, "resolve")
        .await
        .unwrap();
    until(&app, "the click arrived", received(2)).await;
    app.dispatch_until_settled().await;
    let thread: serde_json::Value = app
        .http
        .get(format!("{}/api/v1/conversations/{id}", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(thread["state"], "resolved");
    assert_eq!(app.wecom.card_updates().len(), 1, "the card shows it");
    assert_eq!(open_connections(&app), 1);
    let status: serde_json::Value = app
        .http
        .get(format!("{}/api/v1/status", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = &status["long_connections"]["cs"];
    assert_eq!(
        (link["state"].as_str(), link["bot_id"].as_str()),
        (Some("connected"), Some(BOT))
    );
    assert_eq!(link["received"], 2);
}

#[tokio::test]
async fn a_second_connection_for_the_bot_kicks_the_first() {
    let app = spawn().await;
    start(&app);
    until(&app, "subscribed", connected(1)).await;

    // Someone else dials the same bot: WeCom keeps the newer connection.
    let creds = BotCredentials {
        url: app.wecom.long_connection_url(),
        bot_id: BOT.into(),
        secret: Secret::new(BOT_SECRET),
    };
    let mut other = Session::open(&creds).await.unwrap();
    let kicked = until(&app, "kicked", |s| matches!(s.state, LinkState::Backoff { .. })).await;
    assert_eq!(kicked.last_error.as_deref(), Some("wecom.long_connection_kicked"));
    let records = app.wecom.long_connections();
    assert!(records[0].kicked && !records[0].open, "{records:?}");
    assert_eq!(open_connections(&app), 1);

    // shoprelay waits its longest back-off, then takes the bot back: now the other one is kicked.
    app.clock.advance(Duration::from_secs(30));
    until(&app, "back", connected(2)).await;
    let told = tokio::time::timeout(Duration::from_secs(10), other.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(told, Inbound::Kicked);
    assert_eq!(open_connections(&app), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_dialled_again_after_the_back_off() {
    let app = spawn().await;
    start(&app);
    until(&app, "subscribed", connected(1)).await;

    assert!(app.wecom.drop_long_connection(BOT));
    let waiting = until(&app, "noticed the drop", |s| {
        matches!(s.state, LinkState::Backoff { .. })
    })
    .await;
    let LinkState::Backoff { until: redial_at } = waiting.state else {
        unreachable!()
    };
    assert_eq!(
        redial_at.millis_since(app.clock.now()),
        1_000,
        "first back-off: one second"
    );
    assert_eq!(open_connections(&app), 0, "not dialled before the back-off");

    app.clock.advance(Duration::from_secs(1));
    until(&app, "dialled again", connected(2)).await;
    assert_eq!(open_connections(&app), 1);
    app.wecom.member_says(CS_AGENT, "zhangsan", "hello").await.unwrap();
    until(&app, "messages flow again", received(1)).await;
}

#[tokio::test]
async fn only_the_replica_holding_the_bots_lease_dials() {
    let app = spawn().await;
    let now = app.clock.now();
    let store = app.server.engine.store();
    assert!(store
        .take_bot_lease(BOT, "another-replica", now, now + Duration::from_secs(90))
        .await
        .unwrap());
    start(&app);
    until(&app, "standing by", |s| s.state == LinkState::Standby).await;
    assert!(app.wecom.long_connections().is_empty(), "never dialled");

    // The other replica died: its lease runs out and this one takes the bot over.
    app.clock.advance(Duration::from_secs(91));
    until(&app, "took over", connected(1)).await;
    assert_eq!(open_connections(&app), 1);
}

#[tokio::test]
async fn a_wrong_bot_secret_is_refused_with_853000() {
    let app = spawn().await;
    let creds = BotCredentials {
        url: app.wecom.long_connection_url(),
        bot_id: BOT.into(),
        secret: Secret::new("not-the-secret"),
    };
    match Session::open(&creds).await {
        Err(err @ LongConnError::Refused { errcode: 853_000, .. }) => {
            assert_eq!(err.code(), "wecom.bot_credentials_invalid")
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("subscribed with a wrong secret"),
    }
    assert!(app.wecom.long_connections().is_empty());
}
