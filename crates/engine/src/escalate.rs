//! The time-driven steps ([`Timers`]). Escalation: a task nobody acknowledged in time becomes an
//! `escalation` event, sent to its rule's `escalate.targets` (a supervisor) and to every rule that selects
//! escalations.

use shoprelay_core::event::{Event, EventBody, Platform};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_store::{NewEvent, Task};

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_store::{OrderWatch, Tasks};
use tokio::sync::Notify;

use crate::chat::Chat;
use crate::config::Registry;
use crate::engine::EngineSettings;
use crate::error::EngineError;
use crate::routing;
use crate::stage::outbox::Outbox;
use crate::stage::route::Route;
use crate::stage::{stage_common, ConfigView};
use crate::tokens::MarketplaceTokens;

/// Tasks escalated per pass.
const BATCH: i64 = 100;

/// The time-driven steps, beside the spine: escalations, quiet hours that ended, the logistics watch
/// ([`crate::logistics`]) and buyers waiting for a person — each producing events routed to the outbox.
pub struct Timers {
    /// Escalations due, and marked done.
    pub(crate) tasks: Arc<dyn Tasks>,
    /// The logistics watch: orders to poll, events raised once.
    pub(crate) order_watch: Arc<dyn OrderWatch>,
    /// Queues the events the watch raises.
    pub(crate) deliveries: Arc<dyn shoprelay_store::Outbox>,
    pub(crate) clock: SharedClock,
    pub(crate) settings: EngineSettings,
    pub(crate) config: ConfigView,
    pub(crate) route: Arc<Route>,
    /// The shop's token for tracking and order look-ups.
    pub(crate) tokens: Arc<MarketplaceTokens>,
    /// Releases what quiet hours held.
    pub(crate) outbox: Arc<Outbox>,
    /// Watches buyers waiting for a reply.
    pub(crate) chat: Arc<Chat>,
    pub(crate) outbox_wake: Arc<Notify>,
    /// When the ship-by scan last ran (unix ms).
    pub(crate) last_ship_by_scan: AtomicI64,
}

stage_common!(Timers);

impl Timers {
    /// Escalates the tasks whose time has come; returns how many.
    pub async fn escalate_once(&self) -> Result<usize, EngineError> {
        let due = self.tasks.due_escalations(self.clock.now(), BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let registry = self.registry();
        let mut escalated = 0;
        for task in due {
            let event = escalation_event(&registry, &task, self.clock.now());
            let mut deliveries = self.route.route(&registry, &event).await?;
            if let Some(rule) = registry.routes.iter().find(|r| r.id.as_str() == task.rule_id) {
                deliveries.extend(routing::render_escalation(
                    &registry,
                    &event,
                    rule,
                    self.settings.language,
                ));
            }
            if self
                .tasks
                .escalate_task(task.id, NewEvent { event, deliveries }, self.clock.now())
                .await?
            {
                metrics::counter!("shoprelay_escalations_total").increment(1);
                tracing::info!(task = task.id, rule = %task.rule_id, "not acknowledged in time: escalated");
                escalated += 1;
            }
        }
        if escalated > 0 {
            self.outbox_wake.notify_one();
        }
        Ok(escalated)
    }

    /// Runs the time-driven steps once: quiet hours that ended, escalations that came due, parcels and
    /// ship-by dates to look at, buyers waiting for a person's reply.
    pub async fn timers_once(&self) -> Result<usize, EngineError> {
        Ok(self.outbox.release_quiet_once().await?
            + self.escalate_once().await?
            + self.watch_logistics_once().await?
            + self.chat.watch_responses_once().await?)
    }
}

/// The escalation event of a task, about the same shop and order, escalated at `now`.
fn escalation_event(registry: &Registry, task: &Task, now: UnixMs) -> Event {
    let shop_id = task
        .shop_id
        .and_then(|s| u64::try_from(s).ok())
        .and_then(|s| ShopId::new(s).ok());
    // The shop's app, so messages show the shop's name and time zone.
    let app = shop_id
        .and_then(|shop| {
            registry
                .shops
                .keys()
                .find(|(_, s)| *s == shop)
                .map(|(app, _)| app.clone())
        })
        .unwrap_or_else(ConfigId::internal);
    Event {
        dedupe_key: format!("escalation:{}", task.id),
        platform: registry.platform_of(&app).unwrap_or(Platform::INTERNAL),
        app,
        shop_id,
        order_sn: task.order_sn.as_deref().and_then(|o| OrderSn::parse(o).ok()),
        occurred_at: now,
        order: None,
        body: EventBody::Escalation {
            task_id: task.id,
            rule: task.rule_id.clone(),
            assignee: task.assignee.clone(),
            waited_minutes: now.millis_since(task.created_at).max(0) / 60_000,
            about: task.summary.clone(),
        },
    }
}
