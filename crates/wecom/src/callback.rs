//! Callback XML: the encrypted envelope, the decrypted message inside it, and passive replies.

use quick_xml::escape::escape;
use serde::Deserialize;

use crate::crypto::{CallbackCrypto, CryptoError};

/// The outer XML WeCom POSTs: `<xml><ToUserName/><Encrypt/><AgentID/></xml>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallbackEnvelope {
    /// Corp id (or suite id) the callback is addressed to.
    #[serde(rename = "ToUserName")]
    pub to_user_name: String,
    /// The base64 ciphertext to verify and decrypt.
    #[serde(rename = "Encrypt")]
    pub encrypt: String,
    /// The app the callback concerns; absent for some corp-level events.
    #[serde(rename = "AgentID", default)]
    pub agent_id: Option<String>,
}

impl CallbackEnvelope {
    /// Parses the POSTed body.
    pub fn parse(xml: &str) -> Result<Self, CryptoError> {
        quick_xml::de::from_str(xml).map_err(CryptoError::Xml)
    }
}

/// A decrypted callback message, reduced to what the product acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackMessage {
    /// A member wrote text to the app.
    Text {
        /// Sender's userid.
        from_user: String,
        /// The text.
        content: String,
        /// WeCom's message id, unique per message.
        msg_id: String,
        /// The app that received it.
        agent_id: Option<i64>,
        /// Unix seconds.
        create_time: i64,
    },
    /// A member clicked a button of an interactive template card.
    TemplateCardEvent {
        /// Who clicked.
        from_user: String,
        /// The clicked button's key.
        event_key: String,
        /// The card's task id.
        task_id: String,
        /// e.g. `button_interaction`.
        card_type: String,
        /// Single-use code for update_template_card (72 hours).
        response_code: String,
        /// The app the card came from.
        agent_id: Option<i64>,
        /// Unix seconds.
        create_time: i64,
    },
    /// Anything else (images, other events); kept so it can be logged and deduplicated.
    Other {
        /// `MsgType`, with `/Event` appended for events, e.g. `event/enter_agent`.
        msg_type: String,
        /// Sender's userid.
        from_user: String,
        /// Present for ordinary messages, absent for events.
        msg_id: Option<String>,
        /// Unix seconds.
        create_time: i64,
    },
}

/// Every field any supported message carries; absent ones stay `None`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMessage {
    from_user_name: Option<String>,
    create_time: Option<String>,
    msg_type: Option<String>,
    content: Option<String>,
    msg_id: Option<String>,
    #[serde(rename = "AgentID")]
    agent_id: Option<String>,
    event: Option<String>,
    event_key: Option<String>,
    task_id: Option<String>,
    card_type: Option<String>,
    response_code: Option<String>,
}

impl CallbackMessage {
    /// Parses the decrypted inner XML.
    pub fn parse(xml: &str) -> Result<Self, CryptoError> {
        let raw: RawMessage = quick_xml::de::from_str(xml).map_err(CryptoError::Xml)?;
        let from_user = required(raw.from_user_name, "FromUserName")?;
        let msg_type = required(raw.msg_type, "MsgType")?;
        let create_time = required(raw.create_time, "CreateTime")?
            .trim()
            .parse::<i64>()
            .map_err(|_| CryptoError::ParseXml("CreateTime is not a number".into()))?;
        // Some corp-level events carry an empty AgentID.
        let agent_id = raw.agent_id.and_then(|a| a.trim().parse::<i64>().ok());
        let event = raw.event.unwrap_or_default();
        Ok(match (msg_type.as_str(), event.as_str()) {
            ("text", _) => CallbackMessage::Text {
                from_user,
                content: raw.content.unwrap_or_default(),
                msg_id: required(raw.msg_id, "MsgId")?,
                agent_id,
                create_time,
            },
            ("event", "template_card_event") => CallbackMessage::TemplateCardEvent {
                from_user,
                event_key: raw.event_key.unwrap_or_default(),
                task_id: required(raw.task_id, "TaskId")?,
                card_type: raw.card_type.unwrap_or_default(),
                response_code: required(raw.response_code, "ResponseCode")?,
                agent_id,
                create_time,
            },
            ("event", _) => CallbackMessage::Other {
                msg_type: format!("event/{event}"),
                from_user,
                msg_id: None,
                create_time,
            },
            _ => CallbackMessage::Other {
                msg_type,
                from_user,
                msg_id: raw.msg_id,
                create_time,
            },
        })
    }

    /// Key for dropping WeCom's retries: MsgId for messages, FromUserName + CreateTime for events. A
    /// card click adds its card and button: two clicks of one member within a second (claim, then
    /// resolve) are two clicks, while a retry repeats all four.
    pub fn dedupe_key(&self) -> String {
        match self {
            CallbackMessage::Text { msg_id, .. }
            | CallbackMessage::Other {
                msg_id: Some(msg_id), ..
            } => format!("msg:{msg_id}"),
            CallbackMessage::TemplateCardEvent {
                from_user,
                create_time,
                task_id,
                event_key,
                ..
            } => format!("evt:{from_user}:{create_time}:{task_id}:{event_key}"),
            CallbackMessage::Other {
                from_user,
                create_time,
                msg_id: None,
                ..
            } => format!("evt:{from_user}:{create_time}"),
        }
    }
}

impl CallbackMessage {
    /// The plaintext XML WeCom would have sent for this message, so one received another way (the AI
    /// bot's long connection) is stored and read back like a callback.
    pub fn to_xml(&self, to_user: &str) -> String {
        let head = |from: &str, create_time: i64, msg_type: &str| {
            format!(
                "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime>\
                 <MsgType>{}</MsgType>",
                cdata(to_user),
                cdata(from),
                cdata(msg_type)
            )
        };
        let agent = |agent_id: &Option<i64>| agent_id.map(|a| format!("<AgentID>{a}</AgentID>")).unwrap_or_default();
        match self {
            CallbackMessage::Text {
                from_user,
                content,
                msg_id,
                agent_id,
                create_time,
            } => format!(
                "{}<Content>{}</Content><MsgId>{}</MsgId>{}</xml>",
                head(from_user, *create_time, "text"),
                cdata(content),
                cdata(msg_id),
                agent(agent_id)
            ),
            CallbackMessage::TemplateCardEvent {
                from_user,
                event_key,
                task_id,
                card_type,
                response_code,
                agent_id,
                create_time,
            } => format!(
                "{}<Event>{}</Event><EventKey>{}</EventKey><TaskId>{}</TaskId><CardType>{}</CardType>\
                 <ResponseCode>{}</ResponseCode>{}</xml>",
                head(from_user, *create_time, "event"),
                cdata("template_card_event"),
                cdata(event_key),
                cdata(task_id),
                cdata(card_type),
                cdata(response_code),
                agent(agent_id)
            ),
            CallbackMessage::Other {
                msg_type,
                from_user,
                msg_id,
                create_time,
            } => {
                let (kind, event) = match msg_type.split_once('/') {
                    Some((kind, event)) => (kind, format!("<Event>{}</Event>", cdata(event))),
                    None => (msg_type.as_str(), String::new()),
                };
                let id = msg_id
                    .as_deref()
                    .map(|m| format!("<MsgId>{}</MsgId>", cdata(m)))
                    .unwrap_or_default();
                format!("{}{event}{id}</xml>", head(from_user, *create_time, kind))
            }
        }
    }
}

fn required(field: Option<String>, name: &str) -> Result<String, CryptoError> {
    field.ok_or_else(|| CryptoError::ParseXml(format!("{name} is missing")))
}

/// Parses, verifies and decrypts a POSTed callback body in one step.
pub fn open_callback(
    crypto: &CallbackCrypto,
    msg_signature: &str,
    timestamp: &str,
    nonce: &str,
    body: &str,
) -> Result<CallbackMessage, CryptoError> {
    let envelope = CallbackEnvelope::parse(body)?;
    let inner = crypto.open(msg_signature, timestamp, nonce, &envelope.encrypt)?;
    CallbackMessage::parse(&inner)
}

/// The plaintext XML of a passive text reply, before encryption.
pub fn text_reply_xml(to_user: &str, corp_id: &str, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content>{}</Content></xml>",
        cdata(to_user),
        cdata(corp_id),
        cdata(content)
    )
}

/// Encrypts and signs `reply_xml` into the passive reply body
/// `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`.
pub fn encrypted_reply(crypto: &CallbackCrypto, reply_xml: &str, timestamp: &str, nonce: &str) -> String {
    let encrypt = crypto.encrypt(reply_xml);
    let signature = crypto.signature(timestamp, nonce, &encrypt);
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature>\
         <TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(&encrypt),
        cdata(&signature),
        escape(timestamp),
        cdata(nonce)
    )
}

/// Wraps text in CDATA; a `]]>` inside is split across two sections so it cannot end the first early.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

#[cfg(test)]
mod tests;
