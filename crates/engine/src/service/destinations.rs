//! Where deliveries go, as the console shows them: each configured WeCom app, robot and webhook with its
//! pacing budget and how much of it the last minute used, its breaker state, and its dead letters; the
//! queues' totals beside them.

use std::time::Duration;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::destination::Destination;
use shoprelay_store::{BreakerState, Outbox, QueueDepths, ReplayFilter};

use crate::stage::outbox::budget;
use crate::stage::ConfigView;
use crate::{Engine, EngineError};

/// One destination.
#[derive(Debug, Clone)]
pub struct DestinationRow {
    /// Which.
    pub destination: Destination,
    /// Sends a minute it may take.
    pub per_minute: i64,
    /// Sends recorded in the last minute.
    pub sent_last_minute: i64,
    /// Its breaker.
    pub breaker: BreakerState,
    /// Why the breaker is not closed.
    pub reason: String,
    /// Nothing is sent before this time (unix ms), when in the future.
    pub paused_until: Option<UnixMs>,
    /// Its dead letters.
    pub dead: i64,
}

/// Every configured destination and the queues' totals.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Waiting work, all destinations together.
    pub queues: QueueDepths,
    /// One row per configured WeCom app, robot and webhook (app group chats are not listed).
    pub rows: Vec<DestinationRow>,
}

/// Reads destinations' state.
pub struct DestinationService<'a> {
    deliveries: &'a dyn Outbox,
    clock: &'a SharedClock,
    config: &'a ConfigView,
}

impl<'a> DestinationService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            deliveries: &*engine.store,
            clock: &engine.clock,
            config: &engine.config,
        }
    }

    /// Every configured destination, by kind and id.
    pub async fn overview(&self) -> Result<Overview, EngineError> {
        let registry = self.config.current();
        let store = self.deliveries;
        let now = self.clock.now();
        let mut destinations: Vec<Destination> = registry
            .wecom_apps
            .keys()
            .map(|id| Destination::WecomApp(id.clone()))
            .chain(registry.robots.keys().map(|id| Destination::Robot(id.clone())))
            .chain(registry.webhooks.keys().map(|id| Destination::Webhook(id.clone())))
            .collect();
        destinations.sort_by_key(|d| d.to_string());
        let mut rows = Vec::with_capacity(destinations.len());
        for destination in destinations {
            let state = store.destination(&destination).await?;
            let (sent_last_minute, _) = store
                .count_sends(&destination, "*", now - Duration::from_secs(60))
                .await?;
            let filter = ReplayFilter {
                destination: Some(destination.clone()),
                ..ReplayFilter::default()
            };
            let dead = store.count_dead(&filter).await?;
            rows.push(DestinationRow {
                per_minute: budget(&registry, &destination).per_minute,
                sent_last_minute,
                breaker: state.as_ref().map_or(BreakerState::Closed, |s| s.state),
                reason: state.as_ref().map(|s| s.reason.clone()).unwrap_or_default(),
                paused_until: state.as_ref().map(|s| s.paused_until).filter(|t| *t > now),
                dead,
                destination,
            });
        }
        Ok(Overview {
            queues: store.queue_depths().await?,
            rows,
        })
    }
}
