//! The AI-bot long connection (智能机器人长连接): for a server with no public address, shoprelay dials
//! out to WeCom over a WebSocket and receives members' messages and card clicks on it, instead of a
//! callback URL.
//!
//! Every frame is JSON `{cmd, headers:{req_id}, body}`; answers come back as
//! `{headers:{req_id}, errcode, errmsg}`. A [`Session`] subscribes (`aibot_subscribe {bot_id, secret}`)
//! when it opens, sends `ping` when told to (the caller times it, every [`HEARTBEAT`], by its clock), and
//! hands over `aibot_msg_callback` and `aibot_event_callback` frames as [`Inbound`]. WeCom holds one
//! connection per bot: when another takes over, this one gets `disconnected_event` ([`Inbound::Kicked`]).
//! Reconnecting, back-off and who may dial at all belong to the caller.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use shoprelay_core::error::UserFacing;
use shoprelay_core::secret::Secret;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// WeCom's long-connection endpoint.
pub const DEFAULT_LONG_CONNECTION_URL: &str = "wss://openws.work.weixin.qq.com";
/// How often a `ping` keeps the connection alive (WeCom: every 30 s).
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// WeCom's answer to a wrong bot_id or secret.
pub const INVALID_CREDENTIALS: i64 = 853_000;
/// How long the handshake and the subscription answer may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Who dials: the bot and its long-connection secret (not the callback Token or EncodingAESKey).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotCredentials {
    /// `wss://…`, [`DEFAULT_LONG_CONNECTION_URL`] in production; tests point it at the simulator.
    pub url: String,
    /// The bot's id.
    pub bot_id: String,
    /// The bot's long-connection secret.
    pub secret: Secret,
}

/// What arrived on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// `aibot_msg_callback`: a member wrote to the bot.
    Message {
        /// WeCom's id of the message; retries repeat it.
        msgid: String,
        /// The member's userid.
        from_user: String,
        /// `text`, `image`, `file`, `voice`, `video` or `mixed`.
        msgtype: String,
        /// The text, for `text` messages.
        text: Option<String>,
        /// Unix seconds, when WeCom says.
        create_time: Option<i64>,
    },
    /// `aibot_event_callback` with `template_card_event`: a member clicked a card button.
    CardClick {
        /// WeCom's id of the event; retries repeat it.
        msgid: String,
        /// Who clicked.
        from_user: String,
        /// The card's task_id.
        task_id: String,
        /// The button's key.
        event_key: String,
        /// e.g. `button_interaction`.
        card_type: String,
        /// The single-use code that updates the card, when WeCom gives one.
        response_code: Option<String>,
        /// Unix seconds, when WeCom says.
        create_time: Option<i64>,
    },
    /// `disconnected_event`: another connection took the bot over; this one is closing.
    Kicked,
    /// Any other event (`enter_chat`, `feedback`, …), by its type.
    Other {
        /// WeCom's id, when it gave one.
        msgid: Option<String>,
        /// `cmd`, or `cmd/eventtype` for events.
        kind: String,
    },
}

/// Why a long connection could not be opened or ended.
#[derive(Debug, thiserror::Error)]
pub enum LongConnError {
    /// The WebSocket could not be opened (DNS, TCP, TLS, HTTP upgrade).
    #[error("cannot open the long connection")]
    Connect(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    /// WeCom refused the subscription (853000: wrong bot_id or secret).
    #[error("WeCom refused the subscription: errcode {errcode}: {errmsg}")]
    Refused {
        /// WeCom's errcode.
        errcode: i64,
        /// WeCom's errmsg.
        errmsg: String,
    },
    /// WeCom did not answer the subscription, or two pings in a row, in time.
    #[error("WeCom did not answer in time")]
    Timeout,
    /// The connection broke or was closed.
    #[error("the long connection closed")]
    Closed(#[source] Option<Box<tokio_tungstenite::tungstenite::Error>>),
    /// A frame that is not WeCom's JSON.
    #[error("WeCom sent a frame shoprelay cannot read: {0}")]
    Protocol(String),
}

impl UserFacing for LongConnError {
    fn code(&self) -> &'static str {
        match self {
            Self::Connect(_) => "wecom.long_connection_unreachable",
            Self::Refused {
                errcode: INVALID_CREDENTIALS,
                ..
            } => "wecom.bot_credentials_invalid",
            Self::Refused { .. } => "wecom.long_connection_refused",
            Self::Timeout => "wecom.long_connection_timeout",
            Self::Closed(_) => "wecom.long_connection_closed",
            Self::Protocol(_) => "wecom.long_connection_protocol",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Refused { .. } => 502,
            _ => 503,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::Connect(_) => "无法连接企业微信长连接地址：请检查服务器能否访问 openws.work.weixin.qq.com（出站 443），稍后会自动重连".into(),
            Self::Refused {
                errcode: INVALID_CREDENTIALS,
                ..
            } => "企业微信拒绝了机器人的 bot_id 或长连接 Secret：请在企业微信管理后台该智能机器人的「API 模式（长连接）」页面核对".into(),
            Self::Refused { errcode, errmsg } => format!("企业微信拒绝了长连接订阅（errcode {errcode}：{errmsg}），稍后会自动重连"),
            Self::Timeout => "企业微信长连接无响应，稍后会自动重连".into(),
            Self::Closed(_) => "企业微信长连接已断开，稍后会自动重连".into(),
            Self::Protocol(_) => "企业微信长连接发来无法识别的内容，已断开并将重连".into(),
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::Connect(_) => "cannot reach WeCom's long-connection address: check that the server can reach openws.work.weixin.qq.com (outbound 443); will reconnect".into(),
            Self::Refused {
                errcode: INVALID_CREDENTIALS,
                ..
            } => "WeCom refused the bot's bot_id or long-connection secret: check them on the bot's API mode (long connection) page in the WeCom admin console".into(),
            Self::Refused { errcode, errmsg } => format!("WeCom refused the long-connection subscription (errcode {errcode}: {errmsg}); will reconnect"),
            Self::Timeout => "WeCom's long connection stopped answering; will reconnect".into(),
            Self::Closed(_) => "WeCom's long connection closed; will reconnect".into(),
            Self::Protocol(_) => "WeCom's long connection sent something unreadable; reconnecting".into(),
        }
    }
}

/// An answer to one of our frames.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// One subscribed connection.
pub struct Session {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_req: u64,
    /// The req_id of a ping not answered yet.
    unanswered_ping: Option<String>,
}

impl Session {
    /// Dials `creds.url` and subscribes; the session is live once WeCom answered errcode 0.
    pub async fn open(creds: &BotCredentials) -> Result<Self, LongConnError> {
        let (ws, _) = tokio::time::timeout(OPEN_TIMEOUT, tokio_tungstenite::connect_async(creds.url.as_str()))
            .await
            .map_err(|_| LongConnError::Timeout)?
            .map_err(|e| LongConnError::Connect(Box::new(e)))?;
        let mut session = Self {
            ws,
            next_req: 0,
            unanswered_ping: None,
        };
        let req_id = session
            .send(
                "aibot_subscribe",
                json!({ "bot_id": creds.bot_id, "secret": creds.secret.expose() }),
            )
            .await?;
        let answer = tokio::time::timeout(OPEN_TIMEOUT, session.answer_to(&req_id))
            .await
            .map_err(|_| LongConnError::Timeout)??;
        if answer.errcode != 0 {
            return Err(LongConnError::Refused {
                errcode: answer.errcode,
                errmsg: answer.errmsg,
            });
        }
        Ok(session)
    }

    /// Sends a heartbeat; fails when the previous one was never answered (the link is dead even if
    /// the socket looks open).
    pub async fn ping(&mut self) -> Result<(), LongConnError> {
        if self.unanswered_ping.is_some() {
            return Err(LongConnError::Timeout);
        }
        let req_id = self.send("ping", Value::Null).await?;
        self.unanswered_ping = Some(req_id);
        Ok(())
    }

    /// The next message or event; answers to pings are taken in passing. Cancel-safe: dropping the
    /// future loses no frame that was not yet returned.
    pub async fn recv(&mut self) -> Result<Inbound, LongConnError> {
        loop {
            let frame = self.frame().await?;
            match frame.get("cmd").and_then(Value::as_str) {
                Some(cmd) => return parse_inbound(cmd, &frame),
                None => {
                    let req_id = frame.pointer("/headers/req_id").and_then(Value::as_str);
                    if req_id.is_some() && req_id == self.unanswered_ping.as_deref() {
                        self.unanswered_ping = None;
                    }
                }
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        // The peer may already be gone; there is nothing to do about a failed goodbye.
        let _ = self.ws.close(None).await;
    }

    async fn send(&mut self, cmd: &str, body: Value) -> Result<String, LongConnError> {
        self.next_req += 1;
        let req_id = format!("{cmd}-{}", self.next_req);
        let mut frame = json!({ "cmd": cmd, "headers": { "req_id": req_id } });
        if !body.is_null() {
            frame["body"] = body;
        }
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .map_err(|e| LongConnError::Closed(Some(Box::new(e))))?;
        Ok(req_id)
    }

    /// Frames until the answer to `req_id`.
    async fn answer_to(&mut self, req_id: &str) -> Result<Answer, LongConnError> {
        loop {
            let frame = self.frame().await?;
            if frame.pointer("/headers/req_id").and_then(Value::as_str) == Some(req_id) && frame.get("cmd").is_none() {
                return Answer::deserialize(&frame).map_err(|e| LongConnError::Protocol(e.to_string()));
            }
        }
    }

    /// The next JSON frame; pings and pongs of the WebSocket itself are handled by tungstenite.
    async fn frame(&mut self) -> Result<Value, LongConnError> {
        loop {
            match self.ws.next().await {
                None => return Err(LongConnError::Closed(None)),
                Some(Err(e)) => return Err(LongConnError::Closed(Some(Box::new(e)))),
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str()).map_err(|e| LongConnError::Protocol(e.to_string()))
                }
                Some(Ok(Message::Binary(bytes))) => {
                    return serde_json::from_slice(&bytes).map_err(|e| LongConnError::Protocol(e.to_string()))
                }
                Some(Ok(Message::Close(_))) => return Err(LongConnError::Closed(None)),
                Some(Ok(_)) => {}
            }
        }
    }
}

fn text_at(frame: &Value, pointer: &str) -> Option<String> {
    frame.pointer(pointer).and_then(Value::as_str).map(str::to_owned)
}

fn required(frame: &Value, pointer: &str) -> Result<String, LongConnError> {
    text_at(frame, pointer).ok_or_else(|| LongConnError::Protocol(format!("{pointer} is missing")))
}

/// Reads a frame WeCom sent on its own (one with a `cmd`).
fn parse_inbound(cmd: &str, frame: &Value) -> Result<Inbound, LongConnError> {
    let create_time = frame.pointer("/body/create_time").and_then(Value::as_i64);
    match cmd {
        "aibot_msg_callback" => {
            let msgtype = required(frame, "/body/msgtype")?;
            Ok(Inbound::Message {
                msgid: required(frame, "/body/msgid")?,
                from_user: required(frame, "/body/from/userid")?,
                text: text_at(frame, "/body/text/content"),
                msgtype,
                create_time,
            })
        }
        "aibot_event_callback" => {
            let event = required(frame, "/body/event/eventtype")?;
            match event.as_str() {
                "template_card_event" => Ok(Inbound::CardClick {
                    msgid: required(frame, "/body/msgid")?,
                    from_user: required(frame, "/body/from/userid")?,
                    task_id: required(frame, "/body/event/template_card_event/task_id")?,
                    event_key: required(frame, "/body/event/template_card_event/event_key")?,
                    card_type: text_at(frame, "/body/event/template_card_event/card_type").unwrap_or_default(),
                    response_code: text_at(frame, "/body/event/template_card_event/response_code"),
                    create_time,
                }),
                "disconnected_event" => Ok(Inbound::Kicked),
                other => Ok(Inbound::Other {
                    msgid: text_at(frame, "/body/msgid"),
                    kind: format!("{cmd}/{other}"),
                }),
            }
        }
        other => Ok(Inbound::Other {
            msgid: text_at(frame, "/body/msgid"),
            kind: other.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_as_the_documentation_shows_them() {
        let msg = json!({"cmd": "aibot_msg_callback", "headers": {"req_id": "r1"}, "body": {
            "msgid": "m1", "aibotid": "b", "chatid": "c", "chattype": "single",
            "from": {"userid": "zhangsan"}, "msgtype": "text", "text": {"content": "#3 hi"}}});
        assert_eq!(
            parse_inbound("aibot_msg_callback", &msg).unwrap(),
            Inbound::Message {
                msgid: "m1".into(),
                from_user: "zhangsan".into(),
                msgtype: "text".into(),
                text: Some("#3 hi".into()),
                create_time: None,
            }
        );
        let click = json!({"cmd": "aibot_event_callback", "headers": {"req_id": "r2"}, "body": {
            "msgid": "e1", "create_time": 1700000000, "from": {"userid": "lisi"}, "msgtype": "event",
            "event": {"eventtype": "template_card_event", "template_card_event": {
                "card_type": "button_interaction", "event_key": "claim", "task_id": "sr-c3-h1"}}}});
        assert!(matches!(
            parse_inbound("aibot_event_callback", &click).unwrap(),
            Inbound::CardClick { ref task_id, response_code: None, create_time: Some(1700000000), .. } if task_id == "sr-c3-h1"
        ));
        let kicked = json!({"cmd": "aibot_event_callback", "body": {"event": {"eventtype": "disconnected_event"}}});
        assert_eq!(parse_inbound("aibot_event_callback", &kicked).unwrap(), Inbound::Kicked);
        let broken = json!({"cmd": "aibot_msg_callback", "body": {"msgid": "m"}});
        assert!(parse_inbound("aibot_msg_callback", &broken).is_err());
    }

    #[test]
    fn wrong_credentials_say_what_to_check() {
        let err = LongConnError::Refused {
            errcode: INVALID_CREDENTIALS,
            errmsg: "invalid bot_id or secret".into(),
        };
        assert_eq!(err.code(), "wecom.bot_credentials_invalid");
        assert!(err.message_zh().contains("bot_id"));
    }
}
