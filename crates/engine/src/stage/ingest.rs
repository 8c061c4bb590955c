//! The ingest stage, where work enters: verified pushes stored before they are acknowledged (group
//! committed), pushes the marketplaces lost fetched by [`reconcile`], and the messages of WeCom AI-bot
//! long connections stored as callbacks ([`longconn`]).

pub mod longconn;
pub mod reconcile;

use std::sync::Arc;

use shoprelay_clock::SharedClock;
use shoprelay_store::{Callbacks, ConfigRepo, NewPush, PushInsert, ShopAuthRepo};
use tokio::sync::Notify;

use crate::error::EngineError;
use crate::stage::{stage_common, ConfigView};
use crate::tokens::MarketplaceTokens;
use crate::writer::Writer;

/// Takes work in: the writer for pushes, the callbacks for the bots' messages, the shops, watermark and
/// stored statuses reconciliation reads, and the tokens it calls with.
pub struct Ingest {
    /// WeCom AI-bot messages stored as callbacks; the bot leases.
    pub(crate) callbacks: Arc<dyn Callbacks>,
    /// Reconciliation: the shops to ask about.
    pub(crate) shops: Arc<dyn ShopAuthRepo>,
    /// Reconciliation: its watermark.
    pub(crate) config_repo: Arc<dyn ConfigRepo>,
    /// Reconciliation: the orders' stored statuses.
    pub(crate) inbox: Arc<dyn shoprelay_store::Inbox>,
    pub(crate) writer: Writer,
    pub(crate) clock: SharedClock,
    pub(crate) config: ConfigView,
    /// The shop's token for listing lost pushes and changed orders.
    pub(crate) tokens: Arc<MarketplaceTokens>,
    pub(crate) inbox_wake: Arc<Notify>,
    pub(crate) callback_wake: Arc<Notify>,
    /// This process among the replicas: the owner of the bot leases it takes.
    pub(crate) instance_id: String,
    /// The WeCom AI-bot long connections this process holds ([`longconn`]).
    pub(crate) links: tokio::sync::watch::Sender<longconn::Links>,
}

stage_common!(Ingest, wait);

impl Ingest {
    /// Stores a verified push before it is acknowledged (group-committed).
    pub async fn accept_push(&self, push: NewPush) -> Result<PushInsert, EngineError> {
        self.writer.store_push(push).await
    }

    /// Wakes the callback worker (a member's message or click was stored).
    fn wake_callbacks(&self) {
        self.callback_wake.notify_one();
    }
}
