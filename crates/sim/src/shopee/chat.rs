//! Buyer chat: buyers write (a signed code-10 push in Shopee's webchat shape) and the seller answers
//! through `POST /api/v2/sellerchat/send_message`, which Shopee echoes back as a code-10 push of the
//! seller's own message.
//!
//! Chat APIs are whitelist-only and sending is not supported in the TW region: a shop listed in
//! `chat_not_whitelisted_shops` (or taken off at run time) gets `error_api_permission`, a TW shop
//! `error_param`. `shared/protocols/shopee.md` names no error for the TW refusal; the simulator answers
//! the generic parameter error with a sentence saying why, so a client must not depend on the code.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Query as QueryParams, State};
use axum::response::Response;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::api::{check_shop, ok, ApiError, Query};
use super::control::SimError;
use super::push::{PushRecord, CHAT_CODE};
use super::state::{random_hex, Core, Shared};

const SEND_MESSAGE: &str = "/api/v2/sellerchat/send_message";
/// Message types `send_message` takes, and the `content` fields each one needs.
const SEND_TYPES: [(&str, &[&str]); 5] = [
    ("text", &["text"]),
    ("sticker", &["sticker_id", "sticker_package_id"]),
    ("image", &["image_url"]),
    ("item", &["item_id"]),
    ("order", &["order_sn"]),
];
/// The region where Shopee does not support sending chat messages through the API.
const NO_SENDING_REGION: &str = "TW";

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatSender {
    /// The buyer, through the simulator's [`super::ShopeeSim::buyer_says`].
    Buyer,
    /// The seller, through `sellerchat/send_message`.
    Seller,
}

/// One chat message, either way, as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    /// Shopee's message id (a string of digits).
    pub message_id: String,
    /// The conversation, one per shop and buyer (a string of digits).
    pub conversation_id: String,
    /// The shop.
    pub shop_id: u64,
    /// The buyer's user id.
    pub buyer_id: u64,
    /// Who wrote it.
    pub sender: ChatSender,
    /// `text`, `sticker`, `image`, `item` or `order`.
    pub message_type: String,
    /// The `content` object as sent, e.g. `{"text": "…"}`.
    pub content: Value,
    /// Unix seconds (simulator clock).
    pub created_timestamp: i64,
    /// The shop's region.
    pub region: String,
}

/// A conversation between one shop and one buyer.
#[derive(Debug, Clone)]
struct Conversation {
    conversation_id: String,
    /// The buyer's name as last seen; empty until the buyer writes.
    buyer_name: String,
}

/// The chat part of the simulator's memory.
#[derive(Debug, Default)]
pub(crate) struct ChatState {
    messages: Vec<ChatMessage>,
    conversations: HashMap<(u64, u64), Conversation>,
    not_whitelisted: HashSet<u64>,
    /// Message ids are this plus a sequence number: unique, and unlike another run's.
    id_base: u64,
    next_id: u64,
}

impl ChatState {
    pub(crate) fn new(not_whitelisted: HashSet<u64>) -> Self {
        Self {
            not_whitelisted,
            id_base: rand::thread_rng().gen_range(1_000_000_000_000_000_000..9_000_000_000_000_000_000),
            ..Self::default()
        }
    }

    pub(crate) fn set_whitelisted(&mut self, shop_id: u64, whitelisted: bool) {
        if whitelisted {
            self.not_whitelisted.remove(&shop_id);
        } else {
            self.not_whitelisted.insert(shop_id);
        }
    }

    pub(crate) fn messages(&self) -> Vec<ChatMessage> {
        self.messages.clone()
    }

    /// The conversation of a shop and a buyer, started on first use; a non-empty `buyer_name` is kept.
    fn conversation(&mut self, shop_id: u64, buyer_id: u64, buyer_name: &str) -> Conversation {
        let conversation = self
            .conversations
            .entry((shop_id, buyer_id))
            .or_insert_with(|| Conversation {
                conversation_id: rand::thread_rng()
                    .gen_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000)
                    .to_string(),
                buyer_name: String::new(),
            });
        if !buyer_name.is_empty() {
            conversation.buyer_name = buyer_name.to_owned();
        }
        conversation.clone()
    }

    fn next_message_id(&mut self) -> String {
        self.next_id += 1;
        self.id_base.wrapping_add(self.next_id).to_string()
    }
}

/// A message just made, with the names the push shows.
struct Made {
    message: ChatMessage,
    buyer_name: String,
}

impl Core {
    /// Records a message of `sender` in the conversation of `shop_id` and `buyer_id`.
    fn make_message(
        &self,
        shop_id: u64,
        buyer_id: u64,
        buyer_name: &str,
        sender: ChatSender,
        message_type: &str,
        content: Value,
    ) -> Made {
        let region = self.region_of(shop_id).unwrap_or_default().to_owned();
        let created_timestamp = self.now();
        let mut state = self.state();
        let conversation = state.chat.conversation(shop_id, buyer_id, buyer_name);
        let message = ChatMessage {
            message_id: state.chat.next_message_id(),
            conversation_id: conversation.conversation_id,
            shop_id,
            buyer_id,
            sender,
            message_type: message_type.to_owned(),
            content,
            created_timestamp,
            region,
        };
        state.chat.messages.push(message.clone());
        Made {
            message,
            buyer_name: conversation.buyer_name,
        }
    }

    /// The `data` of a webchat push of one message: `{type: "message", content: {…}}` in Shopee's shape.
    fn webchat_data(&self, made: &Made) -> Value {
        let m = &made.message;
        let shop_name = self
            .shop(m.shop_id)
            .map(|s| s.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("shop_{}", m.shop_id));
        let (from_id, from_user_name, to_id, to_user_name) = match m.sender {
            ChatSender::Buyer => (m.buyer_id, made.buyer_name.clone(), m.shop_id, shop_name),
            ChatSender::Seller => (m.shop_id, shop_name, m.buyer_id, made.buyer_name.clone()),
        };
        json!({
            "type": "message",
            "content": {
                "message_id": m.message_id,
                "shop_id": m.shop_id,
                "request_id": random_hex(),
                "from_id": from_id,
                "from_user_name": from_user_name,
                "to_id": to_id,
                "to_user_name": to_user_name,
                "message_type": m.message_type,
                "content": m.content,
                "conversation_id": m.conversation_id,
                "created_timestamp": m.created_timestamp,
                "region": m.region,
                "is_in_chatbot_session": false,
                "quoted_msg": null,
            },
        })
    }

    /// A buyer writes to a shop: the message is recorded and pushed (code 10) through the chat lane,
    /// waiting until it was attempted.
    pub(crate) async fn buyer_says(
        &self,
        shop_id: u64,
        buyer_id: u64,
        buyer_name: &str,
        text: &str,
    ) -> Result<(ChatMessage, Vec<PushRecord>), SimError> {
        if self.shop(shop_id).is_none() {
            return Err(SimError::UnknownShop(shop_id));
        }
        let made = self.make_message(
            shop_id,
            buyer_id,
            buyer_name,
            ChatSender::Buyer,
            "text",
            json!({ "text": text }),
        );
        let pushes = self.push_shop_event(shop_id, CHAT_CODE, self.webchat_data(&made)).await;
        Ok((made.message, pushes))
    }
}

/// `POST /api/v2/sellerchat/send_message` (shop-level signing): records the seller's message, answers
/// `{message_id, to_id, message_type, content, conversation_id, created_timestamp, region}`, and echoes
/// the message back as a code-10 push (`from_id` = the shop) without making the caller wait for it.
pub(crate) async fn send_message(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let shop_id = check_shop(&core, SEND_MESSAGE, &q)?;
    if core.state().chat.not_whitelisted.contains(&shop_id) {
        return Err(ApiError::new(
            "error_api_permission",
            "No permission to call this API: the chat API is whitelist-only.",
        ));
    }
    if core.region_of(shop_id) == Some(NO_SENDING_REGION) {
        return Err(ApiError::param(
            "Sending chat messages through the API is not supported in the TW region.",
        ));
    }
    let (to_id, message_type, content) = parse_send(&body)?;
    let made = core.make_message(shop_id, to_id, "", ChatSender::Seller, &message_type, content);
    let body = core.shop_event_body(shop_id, CHAT_CODE, core.webchat_data(&made));
    // The echo keeps its place among chat pushes but is sent after this answer, as Shopee's would be.
    let _ = core.queue_chat(None, Some(shop_id), body);
    let m = made.message;
    Ok(ok(
        json!({
            "message_id": m.message_id,
            "to_id": to_id,
            "message_type": m.message_type,
            "content": m.content,
            "conversation_id": m.conversation_id,
            "created_timestamp": m.created_timestamp,
            "region": m.region,
        }),
        None,
    ))
}

/// `{to_id, message_type, content}`, each checked the way Shopee's `error_param` answers describe.
fn parse_send(raw: &[u8]) -> Result<(u64, String, Value), ApiError> {
    let body: Map<String, Value> = serde_json::from_slice(raw).map_err(|_| ApiError::param("Invalid request body."))?;
    let to_id = body
        .get("to_id")
        .and_then(Value::as_u64)
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::param("Invalid to_id."))?;
    let message_type = body.get("message_type").and_then(Value::as_str).unwrap_or_default();
    let Some((_, needed)) = SEND_TYPES.iter().find(|(t, _)| *t == message_type) else {
        return Err(ApiError::param("Invalid message_type."));
    };
    let content = body
        .get("content")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::param("content is required."))?;
    for field in *needed {
        let present = match content.get(*field) {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Number(_)) => true,
            _ => false,
        };
        if !present {
            return Err(ApiError::param(format!("content.{field} is required.")));
        }
    }
    Ok((to_id, message_type.to_owned(), Value::Object(content.clone())))
}
