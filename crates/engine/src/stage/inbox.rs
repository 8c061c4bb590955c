//! The inbox stage: a stored push becomes neutral events, enriched through the marketplace API ([`Enrich`]),
//! routed and rendered into outbox rows ([`Route`]) — all committed in one transaction with the inbox item
//! closed. Buyer messages are filed with customer service ([`Chat`]) on the way.

use shoprelay_core::audit_text;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_store::{
    InboxClaim, InboxCompletion, InboxDone, InboxItem, InboxRetry, InboxState, OrderStateUpdate, ShopAuthStatus,
    WriteBatch,
};

use std::sync::Arc;
use std::time::Duration;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_marketplaces::adapter::{InboundPush, MarketplaceApp};
use shoprelay_store::{DataPolicies, ShopAuth, ShopAuthRepo, ShopStandings, StoreError};
use tokio::sync::Notify;

use crate::chat::Chat;
use crate::config::Registry;
use crate::engine::EngineSettings;
use crate::error::EngineError;
use crate::push_window;
use crate::stage::enrich::{Enrich, EnrichError};
use crate::stage::route::Route;
use crate::stage::{stage_common, ConfigView};
use crate::writer::Writer;

/// Inbox items taken per pass (worked on concurrently, their results committed together by the writer).
const BATCH: i64 = 128;

/// How soon an item whose database or marketplace step failed is tried again.
const RETRY_SOON: Duration = Duration::from_secs(1);

/// What to do with an item after trying to enrich it.
enum Step {
    Complete(InboxCompletion),
    RetryAt(UnixMs, String),
}

/// An item as read before the pass's reads: settled already (it cannot be read or applied), or its push.
enum Opened {
    Settled(Step),
    Push(Box<OpenedPush>),
}

/// A push to work on, with its app.
struct OpenedPush {
    app_id: ConfigId,
    app: Arc<dyn MarketplaceApp>,
    push: InboundPush,
}

/// What the pass read for one item.
struct ItemReads {
    /// The shop's data policy (minimal when the push names no shop and order).
    policy: FieldPolicy,
    /// The order's stored status and its time, when the push reports a status.
    stored_status: Option<(String, UnixMs)>,
    /// The shop's authorization, when the push names a shop and an order.
    auth: Option<ShopAuth>,
}

impl Default for ItemReads {
    fn default() -> Self {
        Self {
            policy: FieldPolicy::minimal(),
            stored_status: None,
            auth: None,
        }
    }
}

/// Reads an item's push and settles what needs no database: an app or shop not configured, a push
/// that does not read, one outside the time window.
fn open_item(registry: &Registry, item: &InboxItem) -> Opened {
    let done = |state, note: Option<String>| {
        Opened::Settled(Step::Complete(InboxCompletion {
            state,
            events: Vec::new(),
            order_updates: Vec::new(),
            note,
        }))
    };
    let Ok(app_id) = ConfigId::parse(&item.app_id) else {
        return done(InboxState::Failed, Some(format!("invalid app id {}", item.app_id)));
    };
    let Some(app) = registry.marketplaces.get(&app_id).cloned() else {
        return done(
            InboxState::Failed,
            Some(format!("no {} app `{app_id}` is configured", item.platform)),
        );
    };
    if app.platform().as_str() != item.platform {
        return done(
            InboxState::Failed,
            Some(format!(
                "app `{app_id}` is a {} app, not {}",
                app.platform(),
                item.platform
            )),
        );
    }
    let push = match app.read_push(item.body.as_bytes()) {
        Ok(p) => p,
        Err(err) => return done(InboxState::Failed, Some(err.to_string())),
    };
    if let Some(shop) = push.shop {
        if registry.shop(&app_id, shop).is_none() && !push.about_authorization {
            metrics::counter!("shoprelay_pushes_unknown_shop_total").increment(1);
            return done(
                InboxState::UnknownShop,
                Some(format!("shop {shop} is not configured for app {app_id}")),
            );
        }
    }
    // Before any API call: a push outside the window is kept (and audited) but changes nothing.
    if let Err(refused) = push_window::check(&push.times, item.received_at) {
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
    Opened::Push(Box::new(OpenedPush { app_id, app, push }))
}

/// Works the inbox: claims stored pushes, hands each to the stages after it, commits the results.
pub struct Inbox {
    /// Claims stored pushes; the orders' stored statuses.
    pub(crate) inbox: Arc<dyn shoprelay_store::Inbox>,
    /// The shops' data policies.
    pub(crate) policies: Arc<dyn DataPolicies>,
    /// The shops' authorizations; a deauthorized shop marked.
    pub(crate) shops: Arc<dyn ShopAuthRepo>,
    /// Each shop's latest seller-status push.
    pub(crate) standings: Arc<dyn ShopStandings>,
    pub(crate) writer: Writer,
    pub(crate) config: ConfigView,
    pub(crate) clock: SharedClock,
    pub(crate) settings: EngineSettings,
    pub(crate) enrich: Arc<Enrich>,
    pub(crate) route: Arc<Route>,
    /// Files buyer messages, answers some automatically.
    pub(crate) chat: Arc<Chat>,
    pub(crate) outbox_wake: Arc<Notify>,
}

stage_common!(Inbox);

impl Inbox {
    /// Processes the inbox items that are due; returns how many were handled.
    pub async fn process_inbox_once(&self) -> Result<usize, EngineError> {
        let items = self.claim().await?;
        let count = items.len();
        let registry = self.registry();
        let opened: Vec<Opened> = items.iter().map(|item| open_item(&registry, item)).collect();
        let reads: Vec<Result<ItemReads, String>> = match self.read_for_pass(&opened).await {
            Ok(reads) => reads.into_iter().map(Ok).collect(),
            // The store's error is kept as each item's retry note, the text the inbox shows for it.
            Err(err) => {
                let note = err.to_string();
                opened.iter().map(|_| Err(note.clone())).collect()
            }
        };
        // A claim never holds two pushes of one order, so the items can be worked on concurrently: one
        // slow marketplace call does not hold up the rest, nor outlive the lease. Each result goes to the
        // writer as soon as it is ready; those ready together share a commit.
        let registry = &registry;
        let work = items.iter().zip(opened).zip(reads);
        let results = futures::future::join_all(work.map(|((item, opened), read)| async move {
            let step = match (opened, read) {
                (Opened::Settled(step), _) => step,
                (Opened::Push(push), Ok(read)) => self.process_item(item, registry, *push, read).await,
                (Opened::Push(_), Err(err)) => Step::RetryAt(self.clock.now() + RETRY_SOON, err),
            };
            let batch = match step {
                Step::Complete(completion) => WriteBatch {
                    completions: vec![InboxDone {
                        id: item.id,
                        claim_token: item.claim_token.clone(),
                        completion,
                    }],
                    ..WriteBatch::default()
                },
                Step::RetryAt(at, error) => {
                    tracing::info!(inbox = item.id, %error, "enrichment failed; retrying later");
                    WriteBatch {
                        retries: vec![InboxRetry {
                            id: item.id,
                            claim_token: item.claim_token.clone(),
                            next_at: at,
                            error,
                        }],
                        ..WriteBatch::default()
                    }
                }
            };
            // A retry reports no completion; a completion whose claim was lost reports `None`.
            match self.writer.write(batch).await?.completions.first().copied() {
                Some(Some(n)) => Ok::<usize, EngineError>(n),
                Some(None) => {
                    tracing::warn!(inbox = item.id, "claim lost to another worker; its result stands");
                    Ok(0)
                }
                None => Ok(0),
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

    /// Claims the items of a pass: on SQLite inside the writer's shared commits (found on a read
    /// connection, checked again there), elsewhere in one statement of its own.
    async fn claim(&self) -> Result<Vec<InboxItem>, EngineError> {
        let now = self.clock.now();
        if !self.writer.shares_commits() {
            return Ok(self.inbox.claim_inbox(now, self.settings.lease, BATCH).await?);
        }
        let ids = self.inbox.claimable_inbox(now, BATCH).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let batch = WriteBatch {
            claims: vec![InboxClaim {
                ids,
                lease: self.settings.lease,
            }],
            ..WriteBatch::default()
        };
        // The claim returns ids only; the items are read after its commit, off the write connection.
        match self.writer.write(batch).await?.claims.pop() {
            Some(claimed) => Ok(self.inbox.claimed_items(&claimed).await?),
            None => Ok(Vec::new()),
        }
    }

    /// The reads every item of a pass needs, made once for the whole pass: the shops' data policies and
    /// authorizations and the orders' stored statuses (one statement each, not three per item). An error
    /// is the pass's: each item is tried again later.
    async fn read_for_pass(&self, opened: &[Opened]) -> Result<Vec<ItemReads>, StoreError> {
        let mut shops: Vec<(ConfigId, ShopId)> = Vec::new();
        let mut orders: Vec<(ConfigId, ShopId, OrderSn)> = Vec::new();
        for o in opened {
            if let Opened::Push(p) = o {
                if let (Some(shop), Some(order)) = (p.push.shop, &p.push.order) {
                    if !shops.contains(&(p.app_id.clone(), shop)) {
                        shops.push((p.app_id.clone(), shop));
                    }
                    if p.push.status.is_some() {
                        orders.push((p.app_id.clone(), shop, order.clone()));
                    }
                }
            }
        }
        let (policies, auths, statuses) = futures::future::join3(
            self.policies.data_policies(&shops),
            self.shops.shop_auths(&shops),
            self.inbox.order_statuses(&orders),
        )
        .await;
        let (policies, auths) = (policies?, auths?);
        let mut statuses = statuses?.into_iter();
        let mut reads = Vec::with_capacity(opened.len());
        for o in opened {
            let mut read = ItemReads::default();
            if let Opened::Push(p) = o {
                if let (Some(shop), Some(_)) = (p.push.shop, &p.push.order) {
                    if let Some(i) = shops.iter().position(|(a, s)| a == &p.app_id && *s == shop) {
                        read.policy = policies.get(i).cloned().unwrap_or_else(FieldPolicy::minimal);
                        read.auth = auths.get(i).cloned().flatten();
                    }
                    if p.push.status.is_some() {
                        read.stored_status = statuses.next().flatten();
                    }
                }
            }
            reads.push(read);
        }
        Ok(reads)
    }

    async fn process_item(&self, item: &InboxItem, registry: &Registry, opened: OpenedPush, read: ItemReads) -> Step {
        let done = |state, note: Option<String>| {
            Step::Complete(InboxCompletion {
                state,
                events: Vec::new(),
                order_updates: Vec::new(),
                note,
            })
        };
        let OpenedPush { app_id, app, push } = opened;
        let raw = item.body.as_bytes();
        let mut note = push.report.clone();
        // The shop's data policy decides which personal fields an order's details keep.
        let ItemReads {
            policy,
            stored_status,
            auth,
        } = read;
        let detail = match (push.shop, &push.order) {
            (Some(shop), Some(order)) => {
                let region = registry.shop(&app_id, shop).and_then(|s| s.region.as_deref());
                match self
                    .enrich
                    .enrich(app.as_ref(), shop, region, order, &policy, item.attempts, auth)
                    .await
                {
                    Ok(detail) => detail,
                    Err(EnrichError::Retry(at, error)) => return Step::RetryAt(at, error),
                    Err(EnrichError::GiveUp(error)) => {
                        let line = audit_text::sent_without_details(&error);
                        note = Some(note.map_or(line.clone(), |n| format!("{n}; {line}")));
                        None
                    }
                }
            }
            _ => None,
        };
        let mut order_updates = Vec::new();
        let mut known = None;
        if let (Some(shop), Some(order_sn), Some((status, update_time))) = (push.shop, &push.order, &push.status) {
            let stored = stored_status;
            // Marketplaces do not order their pushes: one older than what we know announces nothing —
            // unless what we know is dated beyond the window (stored before it existed).
            if let Some((known_status, known_at)) = &stored {
                if update_time < known_at && !push_window::is_beyond_window(*known_at, item.received_at) {
                    // The note gives both times in unix seconds, as the platforms do.
                    let note = format!(
                        "stale push: {status} at {} is older than {known_status} at {}",
                        update_time.as_secs(),
                        known_at.as_secs()
                    );
                    return done(InboxState::Done, Some(note));
                }
            }
            order_updates.push(OrderStateUpdate {
                app_id: app_id.clone(),
                shop_id: shop,
                order_sn: order_sn.clone(),
                status: status.raw.clone(),
                status_time: *update_time,
                // The snapshot keeps the platform's seconds (templates format them).
                ship_by_date: detail
                    .as_ref()
                    .filter(|d| &d.order_sn == order_sn)
                    .and_then(|d| d.ship_by_date)
                    .filter(|t| *t > 0)
                    .map(UnixMs::from_secs),
            });
            known = stored.map(|(s, _)| app.status(&s));
        }
        if let (true, Some(shop)) = (push.deauthorizes, push.shop) {
            if let Err(err) = self
                .shops
                .set_shop_status(
                    &app_id,
                    shop,
                    ShopAuthStatus::Deauthorized,
                    Some("deauthorization push"),
                    self.clock.now(),
                )
                .await
            {
                return Step::RetryAt(self.clock.now() + RETRY_SOON, err.to_string());
            }
        }
        let kept = crate::standing::keep_pushed(
            self.standings.as_ref(),
            &app_id,
            push.shop,
            push.standing.as_ref(),
            item.received_at,
        );
        if let Err(err) = kept.await {
            return Step::RetryAt(self.clock.now() + RETRY_SOON, err.to_string());
        }
        let mut events = Vec::new();
        // Per event: answered automatically (no delivery, and none needed).
        let mut answered = Vec::new();
        for mut event in app.normalize(raw, &item.dedupe_key, detail.as_ref(), known.as_ref(), &policy) {
            // A buyer message is filed under its conversation first: one a member holds goes to them.
            let held = match self.chat.file_buyer_message(&mut event).await {
                Ok(held) => held,
                Err(err) => return Step::RetryAt(self.clock.now() + RETRY_SOON, err.to_string()),
            };
            let deliveries = match held {
                Some(conversation) => self.chat.to_holder(registry, &event, &conversation),
                // One nobody holds may be answered automatically; otherwise a person gets it as usual.
                None => match self.chat.auto_reply(registry, &event).await {
                    Ok(true) => {
                        answered.push(events.len());
                        Vec::new()
                    }
                    Ok(false) => match self.route.route(registry, &event).await {
                        Ok(d) => d,
                        Err(err) => return Step::RetryAt(self.clock.now() + RETRY_SOON, err.to_string()),
                    },
                    Err(err) => return Step::RetryAt(self.clock.now() + RETRY_SOON, err.to_string()),
                },
            };
            events.push(shoprelay_store::NewEvent { event, deliveries });
        }
        if !answered.is_empty() {
            let line = audit_text::answered_automatically(answered.len());
            note = Some(note.map_or(line.clone(), |n| format!("{n}; {line}")));
        }
        // Nothing is silently dropped: an event no route selects is said so in the audit log.
        let unmatched: Vec<&str> = events
            .iter()
            .enumerate()
            .filter(|(i, e)| e.deliveries.is_empty() && !answered.contains(i))
            .map(|(_, e)| e)
            .map(|e| e.event.kind().as_str())
            .collect();
        if !unmatched.is_empty() {
            let line = audit_text::unmatched(&unmatched.join(", "));
            note = Some(note.map_or(line.clone(), |n| format!("{n}; {line}")));
        }
        Step::Complete(InboxCompletion {
            state: InboxState::Done,
            events,
            order_updates,
            note,
        })
    }
}
