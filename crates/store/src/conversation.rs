//! Buyer chat as the store keeps it: conversations (one per marketplace conversation, held by at most one
//! member) and their messages — the archive of every buyer message, staff reply and automatic answer.

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{ConfigId, ShopId};

use crate::error::StoreError;

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// Nobody holds it: buyer messages go where the rules send them.
    Open,
    /// A member holds it: buyer messages go to that member, and their replies go to the buyer.
    Claimed,
    /// Handled; a new buyer message opens it again (with the same holder, if any).
    Resolved,
}

impl ConversationState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Claimed => "claimed",
            Self::Resolved => "resolved",
        }
    }

    /// Reads a column value.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "open" => Ok(Self::Open),
            "claimed" => Ok(Self::Claimed),
            "resolved" => Ok(Self::Resolved),
            other => Err(corrupt("conversations", format!("state `{other}`"))),
        }
    }
}

/// Who wrote a conversation message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The buyer, through the marketplace.
    Buyer,
    /// A member, from WeCom.
    Staff,
    /// An automatic answer (never counted as a person's reply).
    Auto,
}

impl Author {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buyer => "buyer",
            Self::Staff => "staff",
            Self::Auto => "auto",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "buyer" => Ok(Self::Buyer),
            "staff" => Ok(Self::Staff),
            "auto" => Ok(Self::Auto),
            other => Err(corrupt("conversation_messages", format!("author `{other}`"))),
        }
    }
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageOutcome {
    /// A buyer's message, received.
    Received,
    /// A reply on its way to the marketplace (a crash here is never sent twice: see `note`).
    Sending,
    /// A reply the marketplace accepted.
    Sent,
    /// A reply the marketplace refused or could not take; `note` says why.
    Failed,
}

impl MessageOutcome {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "received" => Ok(Self::Received),
            "sending" => Ok(Self::Sending),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            other => Err(corrupt("conversation_messages", format!("outcome `{other}`"))),
        }
    }
}

/// A buyer's message to file under its conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBuyerMessage {
    /// The marketplace app it came through.
    pub app_id: ConfigId,
    /// The shop.
    pub shop_id: ShopId,
    /// The marketplace's conversation id.
    pub thread: String,
    /// The buyer's id at the marketplace (what a reply is addressed to).
    pub buyer_id: String,
    /// The buyer's display name (sealed at rest).
    pub buyer_name: String,
    /// Identity across the marketplace's retries (its message id).
    pub dedupe_key: String,
    /// The text, or a placeholder naming what was sent (sealed at rest).
    pub text: String,
    /// When the buyer wrote it.
    pub at: UnixMs,
}

/// A conversation with a buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Conversation {
    /// Row id; staff address a conversation by it (`#12`).
    pub id: i64,
    /// The marketplace app.
    pub app_id: String,
    /// The shop.
    pub shop_id: i64,
    /// The marketplace's conversation id, as a keyed hash (it can name the buyer).
    pub thread: String,
    /// The buyer's id at the marketplace.
    pub buyer_id: String,
    /// The buyer's display name.
    pub buyer_name: String,
    /// Where it stands.
    pub state: ConversationState,
    /// The member holding it (WeCom userid).
    pub holder: Option<String>,
    /// The WeCom app through which the holder is reached.
    pub holder_app: Option<String>,
    /// The buyer's latest message (unix ms in JSON).
    #[schema(value_type = i64)]
    pub last_buyer_at: UnixMs,
    /// A person's latest reply that the marketplace accepted (unix ms in JSON); automatic answers do not count.
    #[schema(value_type = Option<i64>)]
    pub last_reply_at: Option<UnixMs>,
    /// Opened (unix ms in JSON).
    #[schema(value_type = i64)]
    pub created_at: UnixMs,
    /// Last changed (unix ms in JSON).
    #[schema(value_type = i64)]
    pub updated_at: UnixMs,
}

/// A buyer message once filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledMessage {
    /// Its conversation as it now stands.
    pub conversation: Conversation,
    /// `false` when the message was filed before (a retry of the same push).
    pub new: bool,
}

/// A reply to file before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReply {
    /// The conversation.
    pub conversation_id: i64,
    /// Staff or automatic.
    pub author: Author,
    /// The member (WeCom userid), for a staff reply.
    pub sender: Option<String>,
    /// What the reply answers to, so a retried callback never sends twice.
    pub dedupe_key: String,
    /// The text (sealed at rest).
    pub text: String,
    /// The automatic-answer rule that produced it.
    pub rule: Option<String>,
    /// When it was written.
    pub at: UnixMs,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConversationMessage {
    /// Row id.
    pub id: i64,
    /// The conversation.
    pub conversation_id: i64,
    /// Who wrote it.
    pub author: Author,
    /// The member, for a staff reply.
    pub sender: Option<String>,
    /// The text.
    pub text: String,
    /// When it was written (unix ms in JSON).
    #[schema(value_type = i64)]
    pub at: UnixMs,
    /// What became of it.
    pub outcome: MessageOutcome,
    /// Why a reply failed, or what the marketplace said.
    pub note: Option<String>,
    /// The automatic-answer rule that produced it.
    pub rule: Option<String>,
    /// The marketplace's id of the message.
    pub platform_message_id: Option<String>,
}

/// Which conversations to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Of this shop.
    pub shop_id: Option<ShopId>,
    /// Held by this member.
    pub holder: Option<String>,
    /// In this state.
    pub state: Option<ConversationState>,
    /// With this buyer (their id at the marketplace).
    pub buyer_id: Option<String>,
    /// With a buyer message at or after this time.
    pub since: Option<UnixMs>,
    /// At most this many, newest buyer message first.
    pub limit: i64,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The member holds it now (or held it already).
    Held(Conversation),
    /// Another member holds it.
    HeldByOther(Conversation),
    /// No such conversation.
    Missing,
}

pub(crate) fn corrupt(table: &'static str, reason: String) -> StoreError {
    StoreError::Corrupt { table, reason }
}

/// A conversation row as read, before its sealed columns are opened.
pub(crate) type ConversationRow = (
    i64,
    String,
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    i64,
    i64,
);

/// A message row as read, before its sealed text is opened.
pub(crate) type MessageRow = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Builds a conversation from its row; `open` unseals a column.
pub(crate) fn conversation_from_row(
    row: ConversationRow,
    open: impl Fn(String) -> Result<String, StoreError>,
) -> Result<Conversation, StoreError> {
    let (
        id,
        app_id,
        shop_id,
        thread,
        buyer_id,
        buyer_name,
        state,
        holder,
        holder_app,
        last_buyer_at,
        last_reply_at,
        created_at,
        updated_at,
    ) = row;
    Ok(Conversation {
        id,
        app_id,
        shop_id,
        thread,
        buyer_id,
        buyer_name: open(buyer_name)?,
        state: ConversationState::parse(&state)?,
        holder,
        holder_app,
        last_buyer_at: UnixMs::from_millis(last_buyer_at),
        last_reply_at: last_reply_at.map(UnixMs::from_millis),
        created_at: UnixMs::from_millis(created_at),
        updated_at: UnixMs::from_millis(updated_at),
    })
}

/// Builds a message from its row; `open` unseals a column.
pub(crate) fn message_from_row(
    row: MessageRow,
    open: impl Fn(String) -> Result<String, StoreError>,
) -> Result<ConversationMessage, StoreError> {
    let (id, conversation_id, author, sender, text, at, outcome, note, rule, platform_message_id) = row;
    Ok(ConversationMessage {
        id,
        conversation_id,
        author: Author::parse(&author)?,
        sender,
        text: open(text)?,
        at: UnixMs::from_millis(at),
        outcome: MessageOutcome::parse(&outcome)?,
        note,
        rule,
        platform_message_id,
    })
}
