//! The conversation archive searched: every message of every conversation, narrowed by buyer, order,
//! shop, member, time and text.
//!
//! Message text and buyer names are sealed at rest, so the database cannot match text. The store narrows
//! by everything it can compare in SQL (shop, buyer, member, order, time), then opens and matches the
//! text of at most [`ArchiveQuery::scan`] messages per call, oldest first, and hands back a cursor to go
//! on from. A call costs at most `scan` decryptions however large the archive; a caller wanting more asks
//! again with the cursor. Substring matching on opened text also finds words in Chinese and Thai, which
//! have no spaces for a word index to split on.

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::ShopId;

use crate::conversation::ConversationMessage;

/// Most messages one call opens and matches, whatever the caller asks.
pub const MAX_SCAN: i64 = 10_000;

/// Which archived messages to find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// Of this shop.
    pub shop_id: Option<ShopId>,
    /// With this buyer (their id at the marketplace).
    pub buyer_id: Option<String>,
    /// In conversations with the buyer of this order (found through the order's stored events).
    pub order_sn: Option<String>,
    /// Written by this member, or in a conversation this member holds (WeCom userid).
    pub member: Option<String>,
    /// Containing this text (case-insensitive substring; empty matches everything).
    pub text: Option<String>,
    /// Written at or after this time.
    pub from: Option<UnixMs>,
    /// Written before this time.
    pub to: Option<UnixMs>,
    /// Only messages after this message id (the cursor of the previous page).
    pub after_id: Option<i64>,
    /// At most this many matches.
    pub limit: i64,
    /// At most this many messages opened and matched (clamped to [`MAX_SCAN`]).
    pub scan: i64,
}

/// One archived message with the conversation it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ArchivedMessage {
    /// The message.
    #[serde(flatten)]
    pub message: ConversationMessage,
    /// The marketplace app the conversation came through.
    pub app_id: String,
    /// The shop.
    pub shop_id: i64,
    /// The buyer's id at the marketplace.
    pub buyer_id: String,
    /// The buyer's display name.
    pub buyer_name: String,
    /// The member holding the conversation now.
    pub holder: Option<String>,
}

/// A page of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ArchivePage {
    /// Matching messages, oldest first.
    pub messages: Vec<ArchivedMessage>,
    /// Where the next page starts (`after_id`); `None` when nothing is left to look at.
    pub next_after_id: Option<i64>,
    /// How many messages were opened and matched for this page.
    pub scanned: i64,
}

/// One of a buyer's orders as the stored events know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BuyerOrder {
    /// The marketplace's order number.
    pub order_sn: String,
    /// The order's last known status (the marketplace's word).
    pub status: String,
    /// When shoprelay last saw it change (the marketplace's update time; JSON in unix seconds, as
    /// `order_state` keeps it).
    #[serde(with = "shoprelay_clock::unix_secs")]
    #[schema(value_type = i64)]
    pub status_time: UnixMs,
}

/// What the marketplace last said when shoprelay sent chat for a shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopChat {
    /// The marketplace app.
    pub app_id: String,
    /// The shop.
    pub shop_id: i64,
    /// The error code of a refusal no retry fixes (not whitelisted, unsupported region); `None` when the
    /// last send was accepted.
    pub refused_code: Option<String>,
    /// The refusal in words.
    pub reason: Option<String>,
    /// When the admins were told of the refusal (unix ms in JSON).
    pub notified_at: Option<UnixMs>,
    /// When it was last recorded (unix ms in JSON).
    pub updated_at: UnixMs,
}
