//! Two small records kept beside the pipeline: each shop's latest seller-status push (where the
//! marketplace says the shop stands, for the entity check and "test connection"), and the response_codes
//! WeCom answered for sent interactive cards (so a console action can update a card nobody clicked).

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{ConfigId, ShopId};

use crate::store::Result;

/// A shop's latest seller-status push, as the marketplace worded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopStanding {
    /// The marketplace app.
    pub app_id: ConfigId,
    /// The shop (seller).
    pub shop_id: ShopId,
    /// The marketplace's word (Lazada: `normal` or `close`); the adapter reads it.
    pub status: String,
    /// When the marketplace stamped the push.
    pub reported_at: UnixMs,
    /// When it reached us.
    pub received_at: UnixMs,
}

/// A response_code to keep: what `message/send` answered for an interactive card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCardCode {
    /// The outbox row whose send answered it (one code per row).
    pub delivery_id: i64,
    /// The WeCom app that sent the card.
    pub app_id: String,
    /// The card's task_id.
    pub task_id: String,
    /// The conversation the card is about, when it is.
    pub conversation_id: Option<i64>,
    /// The task the card is about, when it is.
    pub task_ref: Option<i64>,
    /// The code.
    pub response_code: String,
    /// When WeCom handed it out.
    pub issued_at: UnixMs,
}

/// A kept response_code not spent yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardCode {
    /// Row id (what [`CardCodes::spend_card_code`] takes).
    pub id: i64,
    /// The WeCom app that sent the card.
    pub app_id: String,
    /// The card's task_id.
    pub task_id: String,
    /// The code.
    pub response_code: String,
    /// When WeCom handed it out.
    pub issued_at: UnixMs,
}

/// What a card is about, to find its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardSubject {
    /// Cards about a conversation.
    Conversation(i64),
    /// Cards about a task.
    Task(i64),
}

/// Seller-status pushes, latest per shop.
#[async_trait]
pub trait ShopStandings: Send + Sync {
    /// Keeps a seller-status report unless a newer one is kept; `true` when it was kept.
    async fn record_shop_standing(&self, standing: &ShopStanding) -> Result<bool>;
    /// The shop's latest report, if any came.
    async fn shop_standing(&self, app: &ConfigId, shop: ShopId) -> Result<Option<ShopStanding>>;
}

/// Response_codes of sent interactive cards.
#[async_trait]
pub trait CardCodes: Send + Sync {
    /// Keeps a code (a second one for the same outbox row is ignored), and forgets codes issued before
    /// `forget_before`, which WeCom no longer takes.
    async fn record_card_code(&self, code: &NewCardCode, forget_before: UnixMs) -> Result<()>;
    /// The unspent codes of cards about `subject` issued at or after `issued_since`, oldest first.
    async fn usable_card_codes(&self, subject: CardSubject, issued_since: UnixMs) -> Result<Vec<CardCode>>;
    /// Marks a code spent at `now`; `false` when it already was (another process took it): WeCom takes
    /// each code once, so only the caller that spent it may use it.
    async fn spend_card_code(&self, id: i64, now: UnixMs) -> Result<bool>;
}
