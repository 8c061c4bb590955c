//! Waiting work: how much there is (readiness, metrics), what a digest folded, dead letters sent again.

use shoprelay_clock::SharedClock;
use shoprelay_core::error::UserFacing;
use shoprelay_store::{DigestItem, Outbox, QueueDepths, ReplayFilter};
use tokio::sync::Notify;

use crate::{Engine, EngineError};

/// Dead letters queued again per statement.
const REPLAY_BATCH: i64 = 1_000;

/// Why dead letters were not replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An empty filter would resend every dead letter ever kept.
    #[error("a replay needs a filter: id, destination, shop_id or a time range")]
    EmptyFilter,
    /// Storage failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl UserFacing for ReplayError {
    fn code(&self) -> &'static str {
        match self {
            Self::EmptyFilter => "replay.empty_filter",
            Self::Engine(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::EmptyFilter => 400,
            Self::Engine(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::EmptyFilter => "重发需要筛选条件：id、destination、shop_id 或时间范围（from/to，毫秒时间戳）".into(),
            Self::Engine(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::EmptyFilter => {
                "A replay needs a filter: id, destination, shop_id or a time range (from/to, unix ms)".into()
            }
            Self::Engine(e) => e.message_en(),
        }
    }
}

/// Reads and moves the queues.
pub struct QueueService<'a> {
    deliveries: &'a dyn Outbox,
    clock: &'a SharedClock,
    outbox_wake: &'a Notify,
}

impl<'a> QueueService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            deliveries: &*engine.store,
            clock: &engine.clock,
            outbox_wake: &engine.outbox_wake,
        }
    }

    /// Counts of waiting work; an error means the database does not answer (not ready).
    pub async fn depths(&self) -> Result<QueueDepths, EngineError> {
        Ok(self.deliveries.queue_depths().await?)
    }

    /// Every message the digest behind `token` folded (none for an unknown token).
    pub async fn digest(&self, token: &str) -> Result<Vec<DigestItem>, EngineError> {
        Ok(self.deliveries.digest_items(token).await?)
    }

    /// Puts the dead letters `filter` matches back in the queue (attempts reset) and wakes the delivery
    /// worker; answers how many.
    pub async fn replay_dead(&self, filter: &ReplayFilter) -> Result<u64, ReplayError> {
        if filter.is_empty() {
            return Err(ReplayError::EmptyFilter);
        }
        let mut replayed = 0;
        loop {
            let n = self
                .deliveries
                .replay_dead(filter, self.clock.now(), REPLAY_BATCH)
                .await
                .map_err(EngineError::from)?;
            replayed += n;
            if n == 0 {
                break;
            }
        }
        self.outbox_wake.notify_one();
        Ok(replayed)
    }
}
