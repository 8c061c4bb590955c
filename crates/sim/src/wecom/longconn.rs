//! The AI-bot long connection (智能机器人长连接) as WeCom serves it at `wss://openws.work.weixin.qq.com`:
//! a WebSocket at `/` of the simulator ([`super::WeComSim::long_connection_url`]).
//!
//! Every frame is JSON `{cmd, headers:{req_id}, body}`, answered `{headers:{req_id}, errcode, errmsg}`.
//! The first frame must be `aibot_subscribe {bot_id, secret}`: a bot configured in
//! [`super::WeComSimConfig::bots`] with that secret is answered errcode 0, anything else 853000 "invalid
//! bot_id or secret" and the socket closed. `ping` is answered errcode 0; so are the bot's own sends
//! (`aibot_respond_msg`, `aibot_send_msg`, …), which are kept for inspection.
//!
//! ONE connection per bot: a second subscription for the same bot sends the first an
//! `aibot_event_callback` with `disconnected_event` and closes it. While a bot holds a connection, members'
//! messages to its app ([`super::WeComSim::member_says`]) and card clicks come to the connection as
//! `aibot_msg_callback` / `aibot_event_callback` frames instead of the callback URL.
//! [`super::WeComSim::drop_long_connection`] cuts a connection without a word, as a network failure does.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::callback::CallbackError;
use super::state::{random_id, SimState};

/// What WeCom answers a wrong bot_id or secret.
const INVALID_BOT: i64 = 853_000;

/// An AI bot and the app whose members reach the product through it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimBot {
    /// The bot's id.
    pub bot_id: String,
    /// Its long-connection secret.
    pub secret: String,
    /// The app (AgentId) whose members' messages and card clicks go through this bot's connection.
    pub agent_id: i64,
}

impl std::fmt::Debug for SimBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs, even a simulator's.
        f.debug_struct("SimBot")
            .field("bot_id", &self.bot_id)
            .field("agent_id", &self.agent_id)
            .finish_non_exhaustive()
    }
}

/// One long connection the simulator accepted (subscribed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LongConnRecord {
    /// Sequence number, from 1.
    pub id: u64,
    /// The bot.
    pub bot_id: String,
    /// When it subscribed, Unix milliseconds by the simulator's clock.
    pub opened_at_unix_ms: u64,
    /// Whether it is still open.
    pub open: bool,
    /// Whether a later connection for the same bot kicked it.
    pub kicked: bool,
    /// `ping` frames it sent.
    pub pings: u64,
    /// Frames the simulator pushed to it (messages and events).
    pub pushed: u64,
    /// Frames the bot sent other than subscribe and ping (its replies), as received.
    pub sent: Vec<Value>,
}

/// What the connection's task is told to do.
pub(crate) enum Push {
    /// Send this frame.
    Frame(Value),
    /// Close now (kicked after the frame before, or cut).
    Close,
}

/// A live connection: its record number and the way to reach its task.
#[derive(Debug)]
pub(crate) struct Live {
    id: u64,
    tx: mpsc::UnboundedSender<Push>,
}

impl std::fmt::Debug for Push {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Push::Frame(v) => write!(f, "Frame({v})"),
            Push::Close => write!(f, "Close"),
        }
    }
}

/// `GET /` with a WebSocket upgrade.
pub(crate) async fn upgrade(State(state): State<Arc<SimState>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| serve(state, socket))
}

fn answer(req_id: &Value, errcode: i64, errmsg: &str) -> Message {
    let frame = json!({ "headers": { "req_id": req_id }, "errcode": errcode, "errmsg": errmsg });
    Message::Text(frame.to_string().into())
}

async fn serve(state: Arc<SimState>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    // The first frame subscribes, or the connection is refused.
    let first = match stream.next().await {
        Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(text.as_str()).unwrap_or(Value::Null),
        _ => return,
    };
    let req_id = first.pointer("/headers/req_id").cloned().unwrap_or(Value::Null);
    let bot_id = first
        .pointer("/body/bot_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let secret = first
        .pointer("/body/secret")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let known = state
        .config
        .bots
        .iter()
        .any(|b| b.bot_id == bot_id && b.secret == secret && !bot_id.is_empty());
    if first.get("cmd").and_then(Value::as_str) != Some("aibot_subscribe") || !known {
        let _ = sink
            .send(answer(&req_id, INVALID_BOT, "invalid bot_id or secret"))
            .await;
        let _ = sink.close().await;
        return;
    }
    let bot_id = bot_id.to_owned();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = state.subscribe(&bot_id, tx);
    if sink.send(answer(&req_id, 0, "ok")).await.is_err() {
        state.unsubscribe(&bot_id, id);
        return;
    }
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            push = rx.recv() => match push {
                Some(Push::Frame(frame)) => {
                    if sink.send(Message::Text(frame.to_string().into())).await.is_err() {
                        break;
                    }
                }
                Some(Push::Close) | None => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                    let req_id = frame.pointer("/headers/req_id").cloned().unwrap_or(Value::Null);
                    state.heard(id, &frame);
                    if sink.send(answer(&req_id, 0, "ok")).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = sink.close().await;
    state.unsubscribe(&bot_id, id);
}

impl SimState {
    /// Registers a subscribed connection; a bot's earlier one is told and closed (one per bot).
    fn subscribe(&self, bot_id: &str, tx: mpsc::UnboundedSender<Push>) -> u64 {
        let mut inner = self.lock();
        inner.next_longconn_id += 1;
        let id = inner.next_longconn_id;
        if let Some(old) = inner.bot_links.remove(bot_id) {
            let kicked = json!({
                "cmd": "aibot_event_callback",
                "headers": { "req_id": random_id(16) },
                "body": {
                    "msgid": random_id(24),
                    "aibotid": bot_id,
                    "create_time": self.clock.now_ms().div_euclid(1000),
                    "msgtype": "event",
                    "event": { "eventtype": "disconnected_event" }
                }
            });
            let _ = old.tx.send(Push::Frame(kicked));
            let _ = old.tx.send(Push::Close);
            if let Some(record) = inner.longconns.iter_mut().find(|r| r.id == old.id) {
                record.kicked = true;
            }
        }
        inner.bot_links.insert(bot_id.to_owned(), Live { id, tx });
        inner.longconns.push(LongConnRecord {
            id,
            bot_id: bot_id.to_owned(),
            opened_at_unix_ms: self.clock.unix_ms(),
            open: true,
            kicked: false,
            pings: 0,
            pushed: 0,
            sent: Vec::new(),
        });
        id
    }

    fn unsubscribe(&self, bot_id: &str, id: u64) {
        let mut inner = self.lock();
        if inner.bot_links.get(bot_id).is_some_and(|l| l.id == id) {
            inner.bot_links.remove(bot_id);
        }
        if let Some(record) = inner.longconns.iter_mut().find(|r| r.id == id) {
            record.open = false;
        }
    }

    fn heard(&self, id: u64, frame: &Value) {
        let mut inner = self.lock();
        if let Some(record) = inner.longconns.iter_mut().find(|r| r.id == id) {
            match frame.get("cmd").and_then(Value::as_str) {
                Some("ping") => record.pings += 1,
                _ => record.sent.push(frame.clone()),
            }
        }
    }

    /// The bot an app's members reach the product through, when it has one.
    pub(crate) fn bot_of(&self, agent_id: i64) -> Option<&SimBot> {
        self.config.bots.iter().find(|b| b.agent_id == agent_id)
    }

    /// Pushes a frame to the bot's live connection.
    pub(crate) fn push_to_bot(&self, bot_id: &str, body: Value, cmd: &str) -> Result<Value, CallbackError> {
        let mut inner = self.lock();
        let link = inner
            .bot_links
            .get(bot_id)
            .ok_or_else(|| CallbackError::NotConnected(bot_id.to_owned()))?;
        let frame = json!({ "cmd": cmd, "headers": { "req_id": random_id(16) }, "body": body });
        link.tx
            .send(Push::Frame(frame.clone()))
            .map_err(|_| CallbackError::NotConnected(bot_id.to_owned()))?;
        let id = link.id;
        if let Some(record) = inner.longconns.iter_mut().find(|r| r.id == id) {
            record.pushed += 1;
        }
        Ok(frame)
    }

    /// Cuts the bot's connection without a word (a network failure).
    pub(crate) fn drop_long_connection(&self, bot_id: &str) -> bool {
        let inner = self.lock();
        inner
            .bot_links
            .get(bot_id)
            .is_some_and(|link| link.tx.send(Push::Close).is_ok())
    }

    pub(crate) fn long_connections(&self) -> Vec<LongConnRecord> {
        self.lock().longconns.clone()
    }
}
