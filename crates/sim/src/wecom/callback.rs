//! Callbacks into the product, as WeCom makes them: a member's text message to an app, and a click on
//! a button of a `button_interaction` card. Each is the plaintext XML WeCom documents, encrypted with
//! the app's EncodingAESKey (receiveid = the corp id), signed with its Token and POSTed to its URL as
//! `?msg_signature&timestamp&nonce` with the `<xml><ToUserName/><Encrypt/><AgentID/></xml>` envelope.
//!
//! An attempt succeeds on HTTP 200 within `callback_timeout_ms` (WeCom: 5 s), whatever the body (empty
//! means "no reply"; a passive reply is kept as the answer). Otherwise WeCom sends it again, at once,
//! `callback_retries` more times (3): the same message — same MsgId, same CreateTime and ResponseCode —
//! but encrypted and signed afresh, so a receiver can only deduplicate by what WeCom says to (MsgId;
//! FromUserName + CreateTime for events), never by the bytes.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde::Serialize;
use serde_json::json;
use url::Url;

use super::config::SimCallback;
use super::crypto::{self, AesKey};
use super::state::{random_id, Inner, SimState, MAX_KEPT_MESSAGES};

/// Why the simulator cannot make a callback (or take a callback setting).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// No configured app has this AgentId.
    #[error("the simulator has no app with AgentId {0}")]
    UnknownApp(i64),
    /// The app has no callback URL.
    #[error("app {0} has no callback URL set")]
    NoCallback(i64),
    /// The callback URL is not an absolute URL.
    #[error("{0} is not a callback URL")]
    InvalidUrl(String),
    /// The EncodingAESKey is not 43 characters of base64 decoding to 32 bytes.
    #[error("the EncodingAESKey of app {0} is not 43 characters of base64")]
    InvalidAesKey(i64),
    /// The corp's directory has no such member.
    #[error("the simulator has no member {0}")]
    UnknownUser(String),
    /// The app sent no `button_interaction` card with this task_id.
    #[error("app {agent_id} sent no button_interaction card with task_id {task_id}")]
    UnknownCard {
        /// The app.
        agent_id: i64,
        /// The task_id asked for.
        task_id: String,
    },
    /// The card has no callback button (type 0) with this key.
    #[error("card {task_id} has no callback button with key {key}")]
    UnknownButton {
        /// The card.
        task_id: String,
        /// The key asked for.
        key: String,
    },
    /// The app's members reach the product through an AI bot that has no live long connection.
    #[error("bot {0} has no long connection open")]
    NotConnected(String),
    /// The member never received the card, so cannot click it.
    #[error("{userid} did not receive card {task_id}")]
    NotARecipient {
        /// Who tried to click.
        userid: String,
        /// The card.
        task_id: String,
    },
}

impl IntoResponse for CallbackError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::UnknownApp(_) | Self::UnknownUser(_) | Self::UnknownCard { .. } | Self::UnknownButton { .. } => {
                StatusCode::NOT_FOUND
            }
            Self::NoCallback(_) | Self::NotARecipient { .. } | Self::NotConnected(_) => StatusCode::CONFLICT,
            Self::InvalidUrl(_) | Self::InvalidAesKey(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// One callback the simulator made, with every attempt to deliver it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackRecord {
    /// Sequence number, from 1.
    pub id: u64,
    /// The app (`AgentID`).
    pub agent_id: i64,
    /// `FromUserName`: the member.
    pub from_user: String,
    /// `CreateTime`, Unix seconds by the simulator's clock.
    pub create_time: i64,
    /// What it says.
    pub event: CallbackEvent,
    /// The XML inside `Encrypt`, as encrypted.
    pub plaintext: String,
    /// Delivery attempts, oldest first: one, and up to `callback_retries` more.
    pub attempts: Vec<CallbackAttempt>,
    /// Whether an attempt got HTTP 200 in time.
    pub delivered: bool,
}

/// What a callback tells the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallbackEvent {
    /// `MsgType=text`: a member wrote to the app.
    Text {
        /// `MsgId`, unique per message, the same in every retry.
        msg_id: String,
        /// `Content`.
        content: String,
    },
    /// `MsgType=event, Event=template_card_event`: a member clicked a card button.
    TemplateCardEvent {
        /// `TaskId`.
        task_id: String,
        /// `EventKey`: the button's key.
        event_key: String,
        /// `CardType`.
        card_type: String,
        /// `ResponseCode`: single use, for `update_template_card`.
        response_code: String,
    },
}

/// One delivery attempt of a callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackAttempt {
    /// When it was made, Unix milliseconds by the simulator's clock.
    pub at_unix_ms: u64,
    /// The URL POSTed to, with `msg_signature`, `timestamp` and `nonce`.
    pub url: String,
    /// The envelope XML POSTed.
    pub body: String,
    /// HTTP status, when the receiver answered in time.
    pub status: Option<u16>,
    /// The receiver's answer body (empty: no reply).
    pub answer: String,
    /// Real milliseconds until the answer or the failure.
    pub latency_ms: u64,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// An app's callback setting, checked and with its key decoded.
#[derive(Debug, Clone)]
pub(crate) struct CallbackTarget {
    url: Url,
    token: String,
    key: AesKey,
}

impl CallbackTarget {
    fn parse(callback: &SimCallback) -> Result<Self, CallbackError> {
        let url = Url::parse(&callback.url).map_err(|_| CallbackError::InvalidUrl(callback.url.clone()))?;
        let key = AesKey::parse(&callback.encoding_aes_key).ok_or(CallbackError::InvalidAesKey(callback.agent_id))?;
        Ok(Self {
            url,
            token: callback.token.clone(),
            key,
        })
    }
}

/// A callback ready to send: where, what, and the record it will fill.
pub(crate) struct Pending {
    target: CallbackTarget,
    record: CallbackRecord,
}

impl SimState {
    /// Sets (or replaces) where an app's callbacks go.
    pub(crate) fn set_callback(&self, callback: &SimCallback) -> Result<(), CallbackError> {
        self.app(callback.agent_id)?;
        let target = CallbackTarget::parse(callback)?;
        self.lock().callback_targets.insert(callback.agent_id, target);
        Ok(())
    }

    /// Stops an app's callbacks.
    pub(crate) fn remove_callback(&self, agent_id: i64) {
        self.lock().callback_targets.remove(&agent_id);
    }

    pub(crate) fn callbacks(&self) -> Vec<CallbackRecord> {
        self.lock().callbacks.iter().cloned().collect()
    }

    fn app(&self, agent_id: i64) -> Result<(), CallbackError> {
        if self.config.apps.iter().any(|a| a.agent_id == agent_id) {
            Ok(())
        } else {
            Err(CallbackError::UnknownApp(agent_id))
        }
    }

    /// The member's userid as the directory spells it; any userid when the directory is open.
    pub(crate) fn member(&self, userid: &str) -> Result<String, CallbackError> {
        if self.config.users.is_empty() {
            return Ok(userid.to_owned());
        }
        self.config
            .users
            .iter()
            .find(|u| u.eq_ignore_ascii_case(userid))
            .cloned()
            .ok_or_else(|| CallbackError::UnknownUser(userid.to_owned()))
    }

    /// Starts a callback of `agent_id`: its target and a numbered record without attempts.
    pub(crate) fn pending(
        &self,
        inner: &mut Inner,
        agent_id: i64,
        from_user: String,
        event: CallbackEvent,
        create_time: i64,
    ) -> Result<Pending, CallbackError> {
        self.app(agent_id)?;
        let target = inner
            .callback_targets
            .get(&agent_id)
            .cloned()
            .ok_or(CallbackError::NoCallback(agent_id))?;
        inner.next_callback_id += 1;
        let plaintext = self.plaintext(agent_id, &from_user, create_time, &event);
        let record = CallbackRecord {
            id: inner.next_callback_id,
            agent_id,
            from_user,
            create_time,
            event,
            plaintext,
            attempts: Vec::new(),
            delivered: false,
        };
        Ok(Pending { target, record })
    }

    /// A member writes `text` to an app: a text-message callback with a new MsgId.
    pub(crate) async fn member_says(
        &self,
        agent_id: i64,
        userid: &str,
        text: &str,
    ) -> Result<CallbackRecord, CallbackError> {
        let from_user = self.member(userid)?;
        let pending = {
            let mut inner = self.lock();
            inner.next_msg_id += 1;
            let event = CallbackEvent::Text {
                msg_id: self.msg_id_base.wrapping_add(inner.next_msg_id).to_string(),
                content: text.to_owned(),
            };
            if self.bot_of(agent_id).is_some() {
                drop(inner);
                return self.over_long_connection(agent_id, from_user, event);
            }
            self.pending(
                &mut inner,
                agent_id,
                from_user,
                event,
                self.clock.now_ms().div_euclid(1000),
            )?
        };
        Ok(self.send(pending).await)
    }

    /// Pushes what a member did to the app's bot over its long connection (no retries: the socket is
    /// the delivery), and keeps its record with the frame as its plaintext and no attempts.
    pub(crate) fn over_long_connection(
        &self,
        agent_id: i64,
        from_user: String,
        event: CallbackEvent,
    ) -> Result<CallbackRecord, CallbackError> {
        let bot = self.bot_of(agent_id).ok_or(CallbackError::NoCallback(agent_id))?;
        let create_time = self.clock.now_ms().div_euclid(1000);
        let (cmd, body) = match &event {
            CallbackEvent::Text { msg_id, content } => (
                "aibot_msg_callback",
                json!({
                    "msgid": msg_id,
                    "aibotid": bot.bot_id,
                    "chatid": from_user,
                    "chattype": "single",
                    "create_time": create_time,
                    "from": { "userid": from_user },
                    "msgtype": "text",
                    "text": { "content": content },
                }),
            ),
            CallbackEvent::TemplateCardEvent {
                task_id,
                event_key,
                card_type,
                response_code,
            } => (
                "aibot_event_callback",
                json!({
                    "msgid": random_id(24),
                    "aibotid": bot.bot_id,
                    "create_time": create_time,
                    "from": { "userid": from_user },
                    "msgtype": "event",
                    "event": {
                        "eventtype": "template_card_event",
                        "template_card_event": {
                            "card_type": card_type,
                            "event_key": event_key,
                            "task_id": task_id,
                            "response_code": response_code,
                        },
                    },
                }),
            ),
        };
        let frame = self.push_to_bot(&bot.bot_id, body, cmd)?;
        let mut inner = self.lock();
        inner.next_callback_id += 1;
        let record = CallbackRecord {
            id: inner.next_callback_id,
            agent_id,
            from_user,
            create_time,
            event,
            plaintext: frame.to_string(),
            attempts: Vec::new(),
            delivered: true,
        };
        if inner.callbacks.len() >= MAX_KEPT_MESSAGES {
            inner.callbacks.pop_front();
        }
        inner.callbacks.push_back(record.clone());
        Ok(record)
    }

    /// Sends a callback, retrying as WeCom does, and keeps its record.
    pub(crate) async fn send(&self, pending: Pending) -> CallbackRecord {
        let Pending { target, mut record } = pending;
        let tries = self.config.callback_retries.saturating_add(1);
        for _ in 0..tries {
            let attempt = self.attempt(&target, record.agent_id, &record.plaintext).await;
            record.delivered = attempt.error.is_none();
            record.attempts.push(attempt);
            if record.delivered || self.shutdown.is_cancelled() {
                break;
            }
        }
        let mut inner = self.lock();
        if inner.callbacks.len() >= MAX_KEPT_MESSAGES {
            inner.callbacks.pop_front();
        }
        inner.callbacks.push_back(record.clone());
        record
    }

    /// One POST of the callback, freshly encrypted and signed.
    async fn attempt(&self, target: &CallbackTarget, agent_id: i64, plaintext: &str) -> CallbackAttempt {
        let at_unix_ms = self.clock.unix_ms();
        let timestamp = (at_unix_ms / 1000).to_string();
        let (nonce, random) = {
            let mut rng = rand::thread_rng();
            (
                rng.gen_range(1_000_000_000u64..10_000_000_000).to_string(),
                rng.gen::<[u8; 16]>(),
            )
        };
        let encrypt = crypto::encrypt(&target.key, &random, plaintext.as_bytes(), &self.config.corp_id);
        let msg_signature = crypto::signature(&target.token, &timestamp, &nonce, &encrypt);
        let mut url = target.url.clone();
        url.query_pairs_mut()
            .append_pair("msg_signature", &msg_signature)
            .append_pair("timestamp", &timestamp)
            .append_pair("nonce", &nonce);
        let body = format!(
            "<xml><ToUserName>{}</ToUserName><Encrypt>{}</Encrypt><AgentID>{}</AgentID></xml>",
            cdata(&self.config.corp_id),
            cdata(&encrypt),
            cdata(&agent_id.to_string()),
        );
        let timeout_ms = self.config.callback_timeout_ms;
        let started = Instant::now();
        let sent = self
            .http
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body.clone())
            .timeout(Duration::from_millis(timeout_ms))
            .send()
            .await;
        let (status, answer, error) = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.text().await {
                    Ok(answer) if status == 200 => (Some(status), answer, None),
                    Ok(answer) => (Some(status), answer, Some(format!("HTTP {status}"))),
                    Err(e) if e.is_timeout() => (None, String::new(), Some(no_answer(timeout_ms))),
                    Err(e) => (Some(status), String::new(), Some(e.to_string())),
                }
            }
            Err(e) if e.is_timeout() => (None, String::new(), Some(no_answer(timeout_ms))),
            Err(e) => (None, String::new(), Some(e.to_string())),
        };
        CallbackAttempt {
            at_unix_ms,
            url: url.into(),
            body,
            status,
            answer,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            error,
        }
    }

    /// The XML inside `Encrypt`, in the field order of WeCom's documented samples.
    fn plaintext(&self, agent_id: i64, from_user: &str, create_time: i64, event: &CallbackEvent) -> String {
        let head = format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime>",
            cdata(&self.config.corp_id),
            cdata(from_user),
        );
        let rest = match event {
            CallbackEvent::Text { msg_id, content } => format!(
                "<MsgType><![CDATA[text]]></MsgType><Content>{}</Content><MsgId>{msg_id}</MsgId>",
                cdata(content)
            ),
            CallbackEvent::TemplateCardEvent {
                task_id,
                event_key,
                card_type,
                response_code,
            } => format!(
                "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>\
                 <EventKey>{}</EventKey><TaskId>{}</TaskId><CardType>{}</CardType><ResponseCode>{}</ResponseCode>",
                cdata(event_key),
                cdata(task_id),
                cdata(card_type),
                cdata(response_code),
            ),
        };
        format!("{head}{rest}<AgentID>{agent_id}</AgentID></xml>")
    }
}

fn no_answer(timeout_ms: u64) -> String {
    format!("no answer within {timeout_ms} ms")
}

/// Text as CDATA; a `]]>` inside is split across two sections, the only way XML allows it.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// A response_code: long, random, unguessable.
pub(crate) fn new_response_code() -> String {
    random_id(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdata_survives_its_own_terminator() {
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
        assert_eq!(cdata("你好 <b>"), "<![CDATA[你好 <b>]]>");
    }
}
