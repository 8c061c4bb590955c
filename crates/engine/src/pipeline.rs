//! The inbox stage: a stored push becomes neutral events, enriched through the marketplace API,
//! routed and rendered into outbox rows — all committed in one transaction with the inbox item closed.

use shoprelay_core::error::UserFacing;
use shoprelay_core::event::Event;
use shoprelay_core::ids::WeComUserId;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_marketplaces::shopee::status::order_status;
use shoprelay_marketplaces::shopee::{normalize, Disposition, OrderDetail, PushBody, ShopeePush};
use shoprelay_store::{InboxCompletion, InboxItem, InboxState, NewDelivery, NewTask, OrderStateUpdate, ShopAuthStatus};

use crate::config::Registry;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::push_window;
use crate::render::summary;
use crate::routing::{self, TaskView};
use crate::tokens::{shopee_app, TokenError};

/// Inbox items taken per pass (worked on concurrently).
const BATCH: i64 = 16;

/// What to do with an item after trying to enrich it.
enum Step {
    Complete(InboxCompletion),
    RetryAt(i64, String),
}

impl Engine {
    /// Processes the inbox items that are due; returns how many were handled.
    pub async fn process_inbox_once(&self) -> Result<usize, EngineError> {
        let items = self
            .store
            .claim_inbox(self.clock.now_ms(), self.settings.lease.as_millis() as i64, BATCH)
            .await?;
        let count = items.len();
        // A claim never holds two pushes of one order, so the items can be worked on concurrently: one
        // slow marketplace call does not hold up the rest, nor outlive the lease.
        let results = futures::future::join_all(items.iter().map(|item| async move {
            match self.process_item(item).await {
                Step::Complete(completion) => {
                    match self.store.complete_inbox(item, completion, self.clock.now_ms()).await? {
                        Some(n) => Ok(n),
                        None => {
                            tracing::warn!(inbox = item.id, "claim lost to another worker; its result stands");
                            Ok(0)
                        }
                    }
                }
                Step::RetryAt(at, error) => {
                    tracing::info!(inbox = item.id, %error, "enrichment failed; retrying later");
                    self.store.retry_inbox(item, at, &error).await?;
                    Ok::<usize, EngineError>(0)
                }
            }
        }))
        .await;
        let mut new_events = 0;
        for result in results {
            new_events += result?;
        }
        if new_events > 0 {
            metrics::counter!("shoprelay_events_total").increment(new_events as u64);
            self.outbox_wake.notify_one();
        }
        Ok(count)
    }

    async fn process_item(&self, item: &InboxItem) -> Step {
        let done = |state, note: Option<String>| {
            Step::Complete(InboxCompletion {
                state,
                events: Vec::new(),
                order_updates: Vec::new(),
                note,
            })
        };
        if item.platform != shoprelay_marketplaces::shopee::PLATFORM.as_str() {
            return done(
                InboxState::Failed,
                Some(format!("unsupported platform {}", item.platform)),
            );
        }
        let push = match ShopeePush::parse(item.body.as_bytes()) {
            Ok(p) => p,
            Err(err) => return done(InboxState::Failed, Some(err.to_string())),
        };
        let Ok(app_id) = ConfigId::parse(&item.app_id) else {
            return done(InboxState::Failed, Some(format!("invalid app id {}", item.app_id)));
        };
        let registry = self.registry();
        if let Some(shop) = push.shop_id.or_else(|| body_shop(&push.body)) {
            if registry.shop(&app_id, shop).is_none() && push.code != 1 && push.code != 12 {
                metrics::counter!("shoprelay_pushes_unknown_shop_total").increment(1);
                return done(
                    InboxState::UnknownShop,
                    Some(format!("shop {shop} is not configured for app {app_id}")),
                );
            }
        }
        // Before any API call: a push outside the window is kept (and audited) but changes nothing.
        let received = item.received_at.div_euclid(1_000);
        if let Err(refused) = push_window::check(&push, received) {
            metrics::counter!("shoprelay_pushes_out_of_window_total").increment(1);
            tracing::warn!(inbox = item.id, %refused, "push outside the time window: stored, not applied");
            let note = format!(
                "{}: {} / {}",
                refused.code(),
                refused.message_en(),
                refused.message_zh()
            );
            return done(InboxState::OutOfWindow, Some(note));
        }
        let mut note = None;
        // The shop's data policy decides which personal fields an order's details keep.
        let policy = match &push.body {
            PushBody::OrderStatus { shop_id, .. } | PushBody::TrackingNumber { shop_id, .. } => {
                match self.store.data_policy(&app_id, *shop_id).await {
                    Ok(policy) => policy,
                    Err(err) => return Step::RetryAt(self.clock.now_ms() + 1_000, err.to_string()),
                }
            }
            _ => FieldPolicy::minimal(),
        };
        let detail = match self.enrich(&registry, &app_id, &push, &policy, item.attempts).await {
            Ok(detail) => detail,
            Err(EnrichError::Retry(at, error)) => return Step::RetryAt(at, error),
            Err(EnrichError::GiveUp(error)) => {
                note = Some(format!("sent without order details: {error}"));
                None
            }
        };
        let mut order_updates = Vec::new();
        let known = match &push.body {
            PushBody::OrderStatus {
                shop_id,
                order_sn,
                status,
                update_time,
                ..
            } => {
                let known = match self.store.order_status(&app_id, *shop_id, order_sn).await {
                    Ok(known) => known,
                    Err(err) => return Step::RetryAt(self.clock.now_ms() + 1_000, err.to_string()),
                };
                // Shopee does not order its pushes: one older than what we know announces nothing —
                // unless what we know is dated beyond the window (stored before it existed).
                if let Some((known_status, known_time)) = &known {
                    if update_time < known_time && !push_window::is_beyond_window(*known_time, received) {
                        let note = format!(
                            "stale push: {status} at {update_time} is older than {known_status} at {known_time}"
                        );
                        return done(InboxState::Done, Some(note));
                    }
                }
                order_updates.push(OrderStateUpdate {
                    app_id: app_id.clone(),
                    shop_id: *shop_id,
                    order_sn: order_sn.clone(),
                    status: status.raw.clone(),
                    status_time: *update_time,
                    ship_by_date: detail
                        .as_ref()
                        .filter(|d| d.order_sn == order_sn.as_str())
                        .and_then(|d| d.ship_by_date)
                        .filter(|t| *t > 0),
                });
                known.map(|(s, _)| order_status(&s))
            }
            PushBody::ShopDeauthorized { shop_id } => {
                if let Err(err) = self
                    .store
                    .set_shop_status(
                        &app_id,
                        *shop_id,
                        ShopAuthStatus::Deauthorized,
                        Some("deauthorization push"),
                        self.clock.now_ms(),
                    )
                    .await
                {
                    return Step::RetryAt(self.clock.now_ms() + 1_000, err.to_string());
                }
                None
            }
            _ => None,
        };
        let mut events = Vec::new();
        for event in normalize(
            &app_id,
            &push,
            &item.dedupe_key,
            detail.as_ref(),
            known.as_ref(),
            &policy,
        ) {
            let deliveries = match self.route(&registry, &event).await {
                Ok(d) => d,
                Err(err) => return Step::RetryAt(self.clock.now_ms() + 1_000, err.to_string()),
            };
            events.push(shoprelay_store::NewEvent { event, deliveries });
        }
        // Nothing is silently dropped: an event no route selects is said so in the audit log.
        let unmatched: Vec<&str> = events
            .iter()
            .filter(|e| e.deliveries.is_empty())
            .map(|e| e.event.kind().as_str())
            .collect();
        if !unmatched.is_empty() {
            let line = format!("unmatched: no route selects {}", unmatched.join(", "));
            note = Some(note.map_or(line.clone(), |n| format!("{n}; {line}")));
        }
        Step::Complete(InboxCompletion {
            state: InboxState::Done,
            events,
            order_updates,
            note,
        })
    }

    /// The outbox rows for an event under the configuration now in force (see [`routing::route`]); the
    /// tasks of rules that assign or escalate are opened first, so their messages name the assignee and
    /// carry the acknowledgement link.
    pub async fn route(&self, registry: &Registry, event: &Event) -> Result<Vec<NewDelivery>, EngineError> {
        let lang = self.settings.language;
        let routed = routing::route(registry, event, self.clock.now_secs(), lang);
        let mut deliveries = routed.deliveries;
        for req in &routed.tasks {
            let new = NewTask {
                rule_id: req.rule.id.to_string(),
                event_key: event.dedupe_key.clone(),
                shop_id: event.shop_id.and_then(|s| i64::try_from(s.get()).ok()),
                order_sn: event.order_sn.as_ref().map(|o| o.as_str().to_owned()),
                sticky_key: req.sticky_key.clone(),
                candidates: req.candidates.iter().map(|u| u.as_str().to_owned()).collect(),
                strategy: req.rule.assign.as_ref().map(|a| a.strategy).unwrap_or_default(),
                summary: summary(event, lang),
                escalate_at: req.escalate_at,
            };
            let task = self.store.open_task(&new, self.clock.now_ms()).await?;
            let view = TaskView {
                assignee: task.assignee.as_deref().and_then(|a| WeComUserId::parse(a).ok()),
                ack_url: format!("{}/ack/{}", self.settings.public_url, task.token),
            };
            deliveries.extend(routing::render_task(registry, event, req, &view, lang));
        }
        Ok(deliveries)
    }

    async fn enrich(
        &self,
        registry: &Registry,
        app_id: &ConfigId,
        push: &ShopeePush,
        policy: &FieldPolicy,
        attempts: i64,
    ) -> Result<Option<OrderDetail>, EnrichError> {
        let (shop, order_sn) = match &push.body {
            PushBody::OrderStatus { shop_id, order_sn, .. } | PushBody::TrackingNumber { shop_id, order_sn, .. } => {
                (*shop_id, order_sn.clone())
            }
            _ => return Ok(None),
        };
        let Some(cfg) = registry.shopee_apps.get(app_id) else {
            return Err(EnrichError::GiveUp(format!("no Shopee app `{app_id}` is configured")));
        };
        let retry = |error: String| match self.settings.enrich_backoff.delay(attempts) {
            Some(delay) => EnrichError::Retry(self.clock.now_ms() + delay.as_millis() as i64, error),
            None => EnrichError::GiveUp(error),
        };
        let token = match self.access_token(app_id, shop).await {
            Ok(t) => t,
            Err(TokenError::Shopee(e)) if e.disposition() == Disposition::Retry => return Err(retry(e.to_string())),
            Err(TokenError::Engine(e)) => return Err(retry(e.to_string())),
            Err(e @ TokenError::RefreshInProgress(_)) => return Err(retry(e.to_string())),
            Err(other) => return Err(EnrichError::GiveUp(other.to_string())),
        };
        let app = shopee_app(cfg);
        match self
            .shopee
            .get_order_detail(&app, shop, token.expose(), std::slice::from_ref(&order_sn), policy)
            .await
        {
            Ok(mut details) => Ok(details.pop()),
            Err(err) => match err.disposition() {
                Disposition::Retry => Err(retry(err.to_string())),
                Disposition::RefreshToken => {
                    // The token died early: refresh once, then the next attempt uses the new one.
                    if let Ok(Some(auth)) = self.store.shop_auth(app_id, shop).await {
                        let _ = self.refresh_shop(app_id, shop, auth.version).await;
                    }
                    Err(retry(err.to_string()))
                }
                Disposition::Reauthorize | Disposition::Fail => Err(EnrichError::GiveUp(err.to_string())),
            },
        }
    }
}

enum EnrichError {
    Retry(i64, String),
    GiveUp(String),
}

fn body_shop(body: &PushBody) -> Option<ShopId> {
    match body {
        PushBody::OrderStatus { shop_id, .. }
        | PushBody::TrackingNumber { shop_id, .. }
        | PushBody::Webchat { shop_id, .. }
        | PushBody::ShopDeauthorized { shop_id } => Some(*shop_id),
        _ => None,
    }
}
