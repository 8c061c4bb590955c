//! Pacing and circuit breaking per destination, decided BEFORE sending: WeCom drops messages beyond a
//! member's limit without an error, so an error can never be the signal to slow down.
//!
//! Budgets are counted over sliding windows of the store's send log (so they hold across restarts):
//! a WeCom app `rate_per_minute` (default 200) and, per PERSON it reaches, 30 a minute and 1,000 an hour
//! — WeCom counts a person once whether reached by userid, department, tag or `@all`, so departments,
//! tags and `@all` are expanded to their members through the contacts APIs (cached). When a membership
//! cannot be read, the send is logged as reaching anyone (`?`): it may go only while the whole app has
//! sent fewer than a person's limit, and every later send counts those against each of its people.
//! A group robot 20 a minute. A destination whose budget is spent is paused until the oldest send leaves
//! the window, and what is queued behind it is folded into digests, so every event is visible at the
//! next free slot instead of trickling out one per slot.
//!
//! Breaker: a configuration error an admin must fix (wrong secret, untrusted IP, removed robot, …)
//! holds the destination — messages wait, the admins are told, and a probe is sent every
//! `hold_probe` (5 minutes) or as soon as the configuration changes; WeCom's own throttling (45009,
//! 45033) and [`FAILURES_TO_OPEN`] failures in a row open it for a back-off (`breaker_open`, 30 s) that
//! doubles up to [`MAX_OPEN`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::destination::Destination;
use shoprelay_core::event::{Event, EventBody, Platform};
use shoprelay_core::ids::ConfigId;
use shoprelay_store::{
    BreakerState, DeliveryItem, DestinationState, NewDelivery, NewEvent, SendReservation, WriteBatch, PRIORITY_BULK,
};
use shoprelay_wecom::client::WeComClient;
use shoprelay_wecom::contacts::Membership;
use tokio::sync::Notify;

use crate::config::Registry;
use crate::engine::EngineSettings;
use crate::error::EngineError;
use crate::render::{audience_of, digest, DigestReason, Payload};
use crate::stage::deliver::{app_credentials, deferral_of};
use crate::stage::route::Route;
use crate::stage::{stage_common, ConfigView};
use crate::writer::Writer;

/// A group robot's limit per minute.
pub const ROBOT_PER_MINUTE: i64 = 20;
/// WeCom's limit per member of an app group chat, per minute.
pub const APPCHAT_PER_MINUTE: i64 = 200;
/// WeCom's limit per member and app, per minute (beyond it messages are dropped silently).
pub const MEMBER_PER_MINUTE: i64 = 30;
/// WeCom's limit per member and app, per hour.
pub const MEMBER_PER_HOUR: i64 = 1_000;
/// Failures in a row that open the breaker.
pub const FAILURES_TO_OPEN: i64 = 5;
/// Longest time the breaker stays open before a probe.
pub const MAX_OPEN: Duration = Duration::from_secs(600);
/// The window of every per-minute budget.
const MINUTE: Duration = Duration::from_secs(60);
/// The window of every per-hour budget.
const HOUR: Duration = Duration::from_secs(3_600);
/// The route id of digest deliveries (never folded again).
pub(crate) const DIGEST_ROUTE: &str = "digest";
/// Most deliveries folded into one digest.
const DIGEST_MAX: i64 = 500;
/// A destination with more than this left of its window's budget is not checked for a backlog beyond
/// it (budgets raised that far are for runs that must not fold).
const FOLD_LOOKAHEAD: i64 = 5_000;
/// Most rounds one backlog fold makes (the rest fold at the next one).
const MAX_FOLDS: usize = 4;
/// Queued deliveries one round of a backlog fold reads: enough for full digests of ten groups of
/// recipients (a round makes one digest per group), so a flood does not spend the budget on small ones.
const FOLD_READ: i64 = 10 * DIGEST_MAX;

/// The send-log member of sends that may have reached anyone (a group whose members could not be read);
/// not a userid, which has no `?`.
const ANYONE: &str = "?";

/// Who an app delivery reaches, for WeCom's per-person limits.
enum People {
    /// These people (lower-cased userids).
    Known(Vec<String>),
    /// Possibly anyone the app can see: a department's, tag's or `@all`'s members could not be read.
    Anyone,
}

/// When a window holding `count` sends (the oldest at `oldest`) has room again, if it is full now.
fn later(now: UnixMs, count: i64, oldest: Option<UnixMs>, limit: i64, window: Duration) -> Option<UnixMs> {
    (count >= limit).then(|| oldest.map_or(now + window, |o| o + window + Duration::from_millis(1)))
}

/// Whether a send may go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Yes; the send was recorded at this time (settle it when WeCom answers).
    Reserved(UnixMs),
    /// The destination's budget is spent until this time: pause it, fold what waits into digests.
    DestinationFull(UnixMs),
    /// A member this message names is at WeCom's limit until this time: only messages for those
    /// recipients wait; others to the destination go on.
    RecipientsFull(UnixMs),
}

/// What a send may not exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Sends per minute to the destination.
    pub per_minute: i64,
    /// Whether WeCom's per-member limits apply (app messages).
    pub per_member: bool,
}

/// The budget of a destination (an app or webhook no longer configured keeps the default rate).
pub fn budget(registry: &Registry, destination: &Destination) -> Budget {
    match destination {
        Destination::WecomApp(app) => Budget {
            per_minute: registry
                .wecom_apps
                .get(app)
                .map_or(200, |a| i64::from(a.rate_per_minute)),
            per_member: true,
        },
        Destination::Robot(_) => Budget {
            per_minute: ROBOT_PER_MINUTE,
            per_member: false,
        },
        // Each member of an app chat receives at most 200 a minute from the app; beyond that WeCom drops.
        Destination::Appchat { .. } => Budget {
            per_minute: APPCHAT_PER_MINUTE,
            per_member: false,
        },
        Destination::Webhook(hook) => Budget {
            per_minute: registry
                .webhooks
                .get(hook)
                .map_or(600, |w| i64::from(w.rate_per_minute)),
            per_member: false,
        },
    }
}

/// How a failed attempt affects its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakerSignal {
    /// An admin must fix the configuration: hold messages, tell the admins.
    Hold(String),
    /// The receiver throttled us (WeCom 45009/45033, or a webhook's 429/502/503/504): back off without
    /// spending attempts — for as long as it asked (Retry-After), or by the breaker's doubling back-off.
    Throttled(String, Option<Duration>),
    /// An ordinary failure: counts toward opening the breaker.
    Failure(String),
}

/// Paces the outbox: budgets, digests, the breaker, quiet hours.
pub struct Outbox {
    /// Budgets' sends, digests, breaker states, quiet holds.
    pub(crate) deliveries: Arc<dyn shoprelay_store::Outbox>,
    pub(crate) writer: Writer,
    /// Expands departments and tags to the people a send reaches; tells admins of a held destination.
    pub(crate) wecom: WeComClient,
    pub(crate) config: ConfigView,
    /// Routes the admin notices of a failing destination.
    pub(crate) route: Arc<Route>,
    pub(crate) clock: SharedClock,
    pub(crate) settings: EngineSettings,
    pub(crate) outbox_wake: Arc<Notify>,
    /// When each flooded destination may fold its queue into digests again; see
    /// [`Outbox::fold_backlog`]. This process alone sends for a destination (its lease), so memory will do.
    pub(crate) next_fold: Mutex<HashMap<Destination, UnixMs>>,
}

stage_common!(Outbox);

impl Outbox {
    /// The write that puts `item` back until `at` without spending an attempt (audited `paced`).
    fn deferral(&self, item: &DeliveryItem, at: UnixMs, reason: &str) -> WriteBatch {
        deferral_of(item, at, reason, self.clock.now())
    }

    /// Reserves a send to `destination` for `recipients` if every budget allows it.
    pub(crate) async fn reserve_send(
        &self,
        destination: &Destination,
        recipients: &str,
    ) -> Result<Pacing, EngineError> {
        let now = self.clock.now();
        let registry = self.registry();
        let b = budget(&registry, destination);
        let (count, oldest) = self.deliveries.count_sends(destination, "*", now - MINUTE).await?;
        if let Some(at) = later(now, count, oldest, b.per_minute, MINUTE) {
            return Ok(Pacing::DestinationFull(at));
        }
        let mut members = Vec::new();
        if b.per_member {
            let windows = [(MEMBER_PER_MINUTE, MINUTE), (MEMBER_PER_HOUR, HOUR)];
            let mut free_at: Option<UnixMs> = None;
            match self.people(&registry, destination, recipients).await {
                // It may reach anyone: every send of the app may have reached that person too.
                People::Anyone => {
                    for (limit, window) in windows {
                        let (count, oldest) = self.deliveries.count_sends(destination, "*", now - window).await?;
                        free_at = free_at.max(later(now, count, oldest, limit, window));
                    }
                    members.push(ANYONE.to_owned());
                }
                // Each person's own sends, plus every send that may have reached anyone.
                People::Known(people) if !people.is_empty() => {
                    for (limit, window) in windows {
                        let since = now - window;
                        let (anyone, anyone_oldest) = self.deliveries.count_sends(destination, ANYONE, since).await?;
                        free_at = free_at.max(later(now, anyone, anyone_oldest, limit, window));
                        for (_, count, oldest) in
                            self.deliveries.member_send_counts(destination, &people, since).await?
                        {
                            let oldest = anyone_oldest.map_or(oldest, |a| a.min(oldest));
                            free_at = free_at.max(later(now, count + anyone, Some(oldest), limit, window));
                        }
                    }
                    members = people;
                }
                People::Known(_) => {}
            }
            if let Some(at) = free_at {
                return Ok(Pacing::RecipientsFull(at));
            }
        }
        let reservation = SendReservation {
            destination: destination.clone(),
            members,
            at: now,
        };
        self.writer
            .write(WriteBatch {
                sends: vec![reservation],
                ..WriteBatch::default()
            })
            .await?;
        Ok(Pacing::Reserved(now))
    }

    /// The people an app delivery reaches: its users and the members of its departments, tags and `@all`,
    /// read through the contacts APIs (cached) — or anyone, when a membership cannot be read.
    async fn people(&self, registry: &Registry, destination: &Destination, recipients: &str) -> People {
        let audience = audience_of(recipients);
        let mut people: BTreeSet<String> = audience.users.into_iter().collect();
        if !audience.groups.is_empty() {
            let app = match destination {
                Destination::WecomApp(app) => registry.wecom_apps.get(app),
                Destination::Robot(_) | Destination::Appchat { .. } | Destination::Webhook(_) => None,
            };
            let Some(app) = app else { return People::Anyone };
            let creds = app_credentials(app);
            for group in audience.groups {
                match self.wecom.members(&creds, group).await {
                    Membership::Known(members) => people.extend(members),
                    Membership::Unreadable => return People::Anyone,
                }
            }
        }
        People::Known(people.into_iter().collect())
    }

    /// Pauses a destination whose budget is spent, then folds its queued bulk deliveries into digests.
    pub(crate) async fn pace(&self, destination: &Destination, until: UnixMs) -> Result<(), EngineError> {
        self.pause(destination, until, "budget spent").await?;
        self.coalesce(destination, None).await.map(drop)
    }

    /// Pauses a destination until `until`: nothing of it is claimed before then.
    async fn pause(&self, destination: &Destination, until: UnixMs, reason: &str) -> Result<(), EngineError> {
        let mut state = self.destination_state(destination).await?;
        if state.state == BreakerState::Closed {
            state.state = BreakerState::Paced;
            state.reason = reason.into();
        }
        state.paused_until = state.paused_until.max(until);
        self.deliveries.set_destination(&state, self.clock.now()).await?;
        metrics::counter!("shoprelay_destination_paced_total").increment(1);
        Ok(())
    }

    /// The overload rule: when a destination's queue holds more than its budget left in this window can
    /// carry, sending singles would spend the window and leave the rest for the next one — so the queue
    /// is folded into digests now, which go out at the next free slot. `singles` are the bulk deliveries
    /// (not digests) the caller claimed for it; when the rule applies they go back to the queue unspent
    /// and are folded with it, and `true` is returned.
    pub(crate) async fn fold_backlog(
        &self,
        destination: &Destination,
        singles: &[DeliveryItem],
    ) -> Result<bool, EngineError> {
        // Webhooks take no digests; a spent budget is the pause's to fold (see [`Outbox::pace`]).
        if singles.is_empty() || matches!(destination, Destination::Webhook(_)) {
            return Ok(false);
        }
        let now = self.clock.now();
        let per_minute = budget(&self.registry(), destination).per_minute;
        let (sent, _) = self.deliveries.count_sends(destination, "*", now - MINUTE).await?;
        let left = per_minute - sent;
        if left <= 0 || left > FOLD_LOOKAHEAD {
            return Ok(false);
        }
        let queued = singles.len() as i64 + self.deliveries.count_coalescible(destination, now, left + 1).await?;
        if queued <= left {
            return Ok(false);
        }
        let mut batch = WriteBatch::default();
        let next_fold = self.next_fold_at(destination);
        if now < next_fold {
            // Folded moments ago, and more keeps coming: the digests of one fold take a slot each, so folds
            // are spaced to make the budget left last the window. What came since waits for the next one
            // (unspent), and so does the destination.
            let why = "more queued than the window's budget can carry: waiting for the next digest";
            for item in singles {
                batch.append(self.deferral(item, next_fold, why));
            }
            self.writer.write(batch).await?;
            self.pause(destination, next_fold, "folding a queue beyond the budget into digests")
                .await?;
            return Ok(true);
        }
        let why = "more queued than the window's budget can carry: folded into a digest";
        for item in singles {
            batch.append(self.deferral(item, now, why));
        }
        self.writer.write(batch).await?;
        let mut digests = 0;
        for _ in 0..MAX_FOLDS {
            match self.coalesce_up_to(destination, None, FOLD_READ).await? {
                0 => break,
                n => digests += n,
            }
        }
        // `left` is within 1..=FOLD_LOOKAHEAD here, so it fits a u32.
        let spacing = MINUTE * u32::try_from(digests.max(1)).unwrap_or(u32::MAX) / u32::try_from(left).unwrap_or(1);
        self.set_next_fold(destination, now + spacing);
        tracing::info!(%destination, queued, left, digests, "queue beyond the window's budget: folded into digests");
        self.outbox_wake.notify_one();
        Ok(true)
    }

    /// When the next backlog fold of `destination` may happen (the epoch: now).
    fn next_fold_at(&self, destination: &Destination) -> UnixMs {
        let folds = match self.next_fold.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        folds.get(destination).copied().unwrap_or(UnixMs::EPOCH)
    }

    fn set_next_fold(&self, destination: &Destination, at: UnixMs) {
        let mut folds = match self.next_fold.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Entries of the past are of no use: the map stays as small as the set of flooded destinations.
        let now = self.clock.now();
        folds.retain(|_, until| *until > now);
        folds.insert(destination.clone(), at);
    }

    /// Folds due bulk deliveries of `destination` (only those for `recipients`, when given) into one
    /// digest per group of recipients; returns how many digests it made.
    pub async fn coalesce(&self, destination: &Destination, recipients: Option<&str>) -> Result<usize, EngineError> {
        self.coalesce_up_to(destination, recipients, DIGEST_MAX).await
    }

    /// [`Outbox::coalesce`] over the oldest `read` queued deliveries: each group of recipients still folds
    /// at most [`DIGEST_MAX`] into one digest, so reading more makes fuller digests, not more of them.
    async fn coalesce_up_to(
        &self,
        destination: &Destination,
        recipients: Option<&str>,
        read: i64,
    ) -> Result<usize, EngineError> {
        let mut items = self.deliveries.coalescible(destination, self.clock.now(), read).await?;
        if let Some(only) = recipients {
            items.retain(|d| d.recipients == only);
        }
        let mut groups: std::collections::BTreeMap<&str, Vec<&DeliveryItem>> = Default::default();
        for item in &items {
            let group = groups.entry(item.recipients.as_str()).or_default();
            if group.len() < DIGEST_MAX as usize {
                group.push(item);
            }
        }
        let mut digests = 0;
        for (recipients, group) in groups {
            if group.len() < 2 {
                continue;
            }
            if let Some(id) = self
                .fold_into_digest(destination, recipients, &group, DigestReason::Budget)
                .await?
            {
                digests += 1;
                tracing::info!(
                    %destination,
                    digest = id,
                    folded = group.len(),
                    "over budget: queued messages folded into a digest"
                );
            }
        }
        Ok(digests)
    }

    /// Folds `group` (deliveries to one destination and recipients) into one digest delivery; `None`
    /// when the destination takes no digests (webhooks) or another worker took one of them meanwhile.
    pub(crate) async fn fold_into_digest(
        &self,
        destination: &Destination,
        recipients: &str,
        group: &[&DeliveryItem],
        reason: DigestReason,
    ) -> Result<Option<i64>, EngineError> {
        let Some(first) = group.first() else { return Ok(None) };
        let Ok(sample) = serde_json::from_str::<Payload>(&first.payload) else {
            return Ok(None);
        };
        let token = uuid::Uuid::new_v4().simple().to_string();
        let link = format!("{}/digests/{token}", self.settings.public_url);
        let lines: Vec<String> = group.iter().map(|d| d.summary.clone()).collect();
        let Some(folded) = digest(&sample, &lines, &link, recipients, self.settings.language, reason) else {
            return Ok(None);
        };
        let payload = match serde_json::to_string(&folded) {
            Ok(p) => p,
            Err(err) => {
                tracing::error!(error = %err, "rendering a digest failed");
                return Ok(None);
            }
        };
        let ids: Vec<i64> = group.iter().map(|d| d.id).collect();
        let new = NewDelivery {
            route_id: DIGEST_ROUTE.into(),
            destination: destination.clone(),
            payload,
            priority: PRIORITY_BULK,
            summary: format!("汇总 {} 条", ids.len()),
            recipients: recipients.to_owned(),
            quiet_until: None,
        };
        let id = self
            .deliveries
            .create_digest(&ids, new, &token, self.clock.now())
            .await?;
        if id.is_some() {
            metrics::counter!("shoprelay_digests_total").increment(1);
        }
        Ok(id)
    }

    /// Ends the quiet hours that are over: what each rule held for a destination and its recipients goes
    /// out as one digest (a lone message as itself). Returns how many deliveries were released.
    pub async fn release_quiet_once(&self) -> Result<usize, EngineError> {
        let held = self.deliveries.quiet_due(self.clock.now(), DIGEST_MAX * 4).await?;
        let mut groups: std::collections::BTreeMap<(Destination, String, UnixMs), Vec<DeliveryItem>> =
            Default::default();
        for h in held {
            groups
                .entry((h.item.destination.clone(), h.item.recipients.clone(), h.quiet_until))
                .or_default()
                .push(h.item);
        }
        let mut released = 0;
        for ((destination, recipients, _), items) in groups {
            released += items.len();
            // Urgent ones (buyer messages, items to acknowledge) go out one by one, as themselves.
            let (bulk, urgent): (Vec<DeliveryItem>, Vec<DeliveryItem>) =
                items.into_iter().partition(|d| d.priority == PRIORITY_BULK);
            let urgent: Vec<i64> = urgent.iter().map(|d| d.id).collect();
            self.deliveries.unhold(&urgent, self.clock.now()).await?;
            for chunk in bulk.chunks(DIGEST_MAX as usize) {
                let refs: Vec<&DeliveryItem> = chunk.iter().collect();
                if refs.len() >= 2
                    && self
                        .fold_into_digest(&destination, &recipients, &refs, DigestReason::QuietHours)
                        .await?
                        .is_some()
                {
                    continue;
                }
                let ids: Vec<i64> = chunk.iter().map(|d| d.id).collect();
                self.deliveries.unhold(&ids, self.clock.now()).await?;
            }
        }
        if released > 0 {
            tracing::info!(released, "quiet hours over: held messages released");
            self.outbox_wake.notify_one();
        }
        Ok(released)
    }

    /// Records a successful send: the breaker closes.
    pub(crate) async fn breaker_success(&self, destination: &Destination) -> Result<(), EngineError> {
        if let Some(state) = self.deliveries.destination(destination).await? {
            if state.state != BreakerState::Closed || state.failures > 0 {
                let closed = DestinationState {
                    state: BreakerState::Closed,
                    reason: String::new(),
                    failures: 0,
                    ..state
                };
                self.deliveries.set_destination(&closed, self.clock.now()).await?;
            }
        }
        Ok(())
    }

    /// Records a failed send; returns the time the destination is paused until, if it is.
    pub(crate) async fn breaker_failure(
        &self,
        destination: &Destination,
        signal: BreakerSignal,
    ) -> Result<Option<UnixMs>, EngineError> {
        let now = self.clock.now();
        let mut state = self.destination_state(destination).await?;
        let was = state.state;
        state.failures += 1;
        let base = self.settings.breaker_open;
        let backoff = |failures: i64| {
            let factor = 1u32 << (failures - 1).clamp(0, 10);
            base.saturating_mul(factor).min(MAX_OPEN)
        };
        match signal {
            BreakerSignal::Hold(reason) => {
                state.state = BreakerState::Held;
                state.paused_until = now + self.settings.hold_probe;
                state.reason = reason.clone();
                if was != BreakerState::Held {
                    tracing::error!(%destination, %reason, "configuration error: messages held until it is fixed");
                    self.tell_admins(destination, &reason).await?;
                }
            }
            BreakerSignal::Throttled(reason, asked) => {
                state.state = BreakerState::Open;
                state.paused_until = now + asked.unwrap_or_else(|| backoff(state.failures));
                state.reason = reason;
            }
            BreakerSignal::Failure(reason) if state.failures >= FAILURES_TO_OPEN => {
                state.state = BreakerState::Open;
                state.paused_until = now + backoff(state.failures - FAILURES_TO_OPEN + 1);
                if was != BreakerState::Open {
                    self.tell_admins(destination, &reason).await?;
                }
                state.reason = reason;
            }
            BreakerSignal::Failure(_) => {}
        }
        self.deliveries.set_destination(&state, now).await?;
        if state.paused_until > now {
            metrics::counter!("shoprelay_breaker_open_total", "state" => state.state.as_str()).increment(1);
            Ok(Some(state.paused_until))
        } else {
            Ok(None)
        }
    }

    async fn destination_state(&self, destination: &Destination) -> Result<DestinationState, EngineError> {
        Ok(self
            .deliveries
            .destination(destination)
            .await?
            .unwrap_or_else(|| DestinationState {
                destination: destination.clone(),
                paused_until: UnixMs::EPOCH,
                state: BreakerState::Closed,
                reason: String::new(),
                failures: 0,
            }))
    }

    /// Queues a "delivery failing" notice to the admin targets (never through the failing destination).
    async fn tell_admins(&self, destination: &Destination, reason: &str) -> Result<(), EngineError> {
        let now = self.clock.now();
        let key = format!("delivery_failing:{destination}:{}", now.as_secs());
        let event = delivery_failing(key, destination, reason.to_owned(), now);
        let deliveries = self.route.route(&self.registry(), &event).await?;
        self.deliveries
            .insert_event(NewEvent { event, deliveries }, now)
            .await?;
        self.outbox_wake.notify_one();
        Ok(())
    }
}

/// A "delivery failing" event about `destination`, for the admin targets, occurring at `now`;
/// `dedupe_key` says how often the same notice may be queued.
pub(crate) fn delivery_failing(dedupe_key: String, destination: &Destination, reason: String, now: UnixMs) -> Event {
    Event {
        dedupe_key,
        platform: Platform::INTERNAL,
        app: ConfigId::internal(),
        shop_id: None,
        order_sn: None,
        occurred_at: now,
        order: None,
        body: EventBody::DeliveryFailing {
            destination: destination.clone(),
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config;

    #[test]
    fn each_kind_of_destination_has_its_budget() {
        let file = parse_config(
            r#"
[[wecom.apps]]
id = "hq"
corp_id = "wwsim00000000000001"
secret = "s3cret"
agent_id = 1000002
rate_per_minute = 50

[[webhooks]]
id = "wms"
url = "https://erp.example.com/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
rate_per_minute = 60
"#,
        )
        .unwrap();
        let registry = Registry::from_file(&file);
        let budget_of = |key: &str| budget(&registry, &Destination::parse(key).unwrap());
        let paced = |per_minute, per_member| Budget { per_minute, per_member };
        assert_eq!(budget_of("wecom_app:hq"), paced(50, true));
        assert_eq!(
            budget_of("wecom_app:gone"),
            paced(200, true),
            "an app no longer configured"
        );
        assert_eq!(budget_of("robot:ops"), paced(ROBOT_PER_MINUTE, false));
        assert_eq!(budget_of("appchat:hq:orders01"), paced(APPCHAT_PER_MINUTE, false));
        assert_eq!(budget_of("webhook:wms"), paced(60, false));
        assert_eq!(budget_of("webhook:gone"), paced(600, false));
    }
}
