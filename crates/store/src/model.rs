//! Records the store keeps and returns. Times are unix milliseconds unless a name says seconds.

use std::time::Duration;

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;
use shoprelay_core::event::Platform;
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::secret::Secret;

/// A verified push, ready to be stored before it is acknowledged.
#[derive(Debug, Clone)]
pub struct NewPush {
    /// Marketplace.
    pub platform: Platform,
    /// Configured marketplace app that received it.
    pub app_id: ConfigId,
    /// The push's own identity: duplicates share it.
    pub dedupe_key: String,
    /// The platform's push code.
    pub code: i64,
    /// Shop named by the push, if any.
    pub shop_id: Option<ShopId>,
    /// Order named by the push, if any.
    pub order_sn: Option<OrderSn>,
    /// The raw body, exactly as received.
    pub body: String,
    /// When it arrived.
    pub received_at: UnixMs,
}

/// A verified, decrypted WeCom callback, ready to be stored before WeCom gets its 200.
#[derive(Debug, Clone)]
pub struct NewCallback {
    /// The configured WeCom app it was addressed to.
    pub app_id: ConfigId,
    /// MsgId, or sender + CreateTime for events: WeCom's retries share it.
    pub dedupe_key: String,
    /// `text`, `template_card_event`, `event/enter_agent`, …
    pub kind: String,
    /// The decrypted XML.
    pub body: String,
    /// When it arrived.
    pub received_at: UnixMs,
}

/// A stored WeCom callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCallback {
    /// Row id.
    pub id: i64,
    /// The WeCom app.
    pub app_id: String,
    /// Its dedupe key.
    pub dedupe_key: String,
    /// What kind of message it is.
    pub kind: String,
    /// The decrypted XML.
    pub body: String,
    /// When it arrived.
    pub received_at: UnixMs,
    /// [`CallbackState::Received`] until acted on.
    pub state: CallbackState,
}

/// What became of a stored WeCom callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    /// Waiting to be acted on.
    Received,
    /// Acted on.
    Done,
    /// Nothing to do (an event shoprelay does not act on).
    Ignored,
    /// Cannot be acted on; kept for inspection.
    Failed,
}

impl CallbackState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Received => "received",
            CallbackState::Done => "done",
            CallbackState::Ignored => "ignored",
            CallbackState::Failed => "failed",
        }
    }

    /// Parses a column value.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            CallbackState::Received,
            CallbackState::Done,
            CallbackState::Ignored,
            CallbackState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// What storing a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushInsert {
    /// Stored as a new inbox item with this id.
    Stored(i64),
    /// Already stored earlier: a repeat of a push we have.
    Duplicate,
}

/// State of an inbox item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxState {
    /// Waiting to be normalised.
    Pending,
    /// Turned into events (possibly none).
    Done,
    /// For a shop no configuration names: kept and reported, not processed.
    UnknownShop,
    /// Gave up after repeated failures; kept for replay.
    Failed,
    /// Its times are far from its arrival: kept and audited, not applied.
    OutOfWindow,
}

impl InboxState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxState::Pending => "pending",
            InboxState::Done => "done",
            InboxState::UnknownShop => "unknown_shop",
            InboxState::Failed => "failed",
            InboxState::OutOfWindow => "out_of_window",
        }
    }
}

/// A stored push claimed for normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    /// Inbox id.
    pub id: i64,
    /// Marketplace (`shopee`).
    pub platform: String,
    /// Marketplace app id.
    pub app_id: String,
    /// The push's identity.
    pub dedupe_key: String,
    /// Push code.
    pub code: i64,
    /// Shop named by the push.
    pub shop_id: Option<i64>,
    /// Raw body.
    pub body: String,
    /// Processing attempts so far.
    pub attempts: i64,
    /// Arrival time.
    pub received_at: UnixMs,
    /// Proof of this claim: completing or retrying the item needs it, so a worker whose lease ran out
    /// cannot overwrite the work of the one that took over.
    pub claim_token: String,
}

/// A delivery to create for an event: one per (route, target).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Route that matched.
    pub route_id: String,
    /// Destination whose budget and breaker apply.
    pub destination: Destination,
    /// The rendered request, stored once so every retry sends identical bytes.
    pub payload: String,
    /// [`PRIORITY_URGENT`] or [`PRIORITY_BULK`].
    pub priority: i64,
    /// One line about the event, for digests.
    pub summary: String,
    /// Who it is for; deliveries coalesce only with others for the same recipients.
    pub recipients: String,
    /// When its rule's quiet hours end: held until then, then sent in a digest.
    pub quiet_until: Option<UnixMs>,
}

/// Sent first and never folded into a digest (buyer messages, admin notices).
pub const PRIORITY_URGENT: i64 = 0;
/// Order news; may be folded into a digest when a destination is over its budget.
pub const PRIORITY_BULK: i64 = 1;

/// An event and the deliveries it produces.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The neutral event.
    pub event: shoprelay_core::event::Event,
    /// Where it goes.
    pub deliveries: Vec<NewDelivery>,
}

/// The last status seen for an order.
#[derive(Debug, Clone)]
pub struct OrderStateUpdate {
    /// Marketplace app.
    pub app_id: ConfigId,
    /// Shop.
    pub shop_id: ShopId,
    /// Order.
    pub order_sn: OrderSn,
    /// Status as its canonical name.
    pub status: String,
    /// The platform's time of this status (stored to the second); an older one never overwrites a newer one.
    pub status_time: UnixMs,
    /// The ship-by date (stored to the second), when the order's details were fetched.
    pub ship_by_date: Option<UnixMs>,
}

/// An order the logistics watch looks at. Its times are kept to the second (as the platforms give them).
#[derive(Debug, Clone)]
pub struct WatchedOrder {
    /// Marketplace app.
    pub app_id: String,
    /// Shop.
    pub shop_id: i64,
    /// Order.
    pub order_sn: String,
    /// Its status.
    pub status: String,
    /// When it took that status.
    pub status_time: UnixMs,
    /// Ship-by date, when known.
    pub ship_by_date: Option<UnixMs>,
    /// The parcel trail's newest step, when polled.
    pub tracking_updated_at: Option<UnixMs>,
}

/// The result of normalising one inbox item, committed in one transaction.
#[derive(Debug, Clone)]
pub struct InboxCompletion {
    /// Final state of the item.
    pub state: InboxState,
    /// Events with their deliveries; an event whose dedupe key exists already is skipped whole.
    pub events: Vec<NewEvent>,
    /// Order statuses to remember.
    pub order_updates: Vec<OrderStateUpdate>,
    /// A note for the audit log (why unknown, what failed).
    pub note: Option<String>,
}

/// State of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its turn (or its next retry).
    Pending,
    /// Accepted by the destination.
    Delivered,
    /// Failed for good (non-retryable, or retries exhausted): a dead letter, kept for replay.
    Dead,
    /// Folded into a digest delivery, which carries it.
    Coalesced,
}

impl DeliveryState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
            DeliveryState::Coalesced => "coalesced",
        }
    }
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct DeliveryItem {
    /// Delivery id, also the idempotency key sent to the destination.
    pub id: i64,
    /// Event it carries.
    pub event_id: i64,
    /// Route that created it.
    pub route_id: String,
    /// Where it goes.
    pub destination: Destination,
    /// Shop, for the audit log.
    pub shop_id: Option<i64>,
    /// Order, for the audit log.
    pub order_sn: Option<String>,
    /// Rendered request.
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When it was created.
    pub created_at: UnixMs,
    /// Proof of this claim (see [`InboxItem::claim_token`]).
    pub claim_token: String,
    /// [`PRIORITY_URGENT`] or [`PRIORITY_BULK`].
    pub priority: i64,
    /// One line about the event.
    pub summary: String,
    /// Who it is for.
    pub recipients: String,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// Accepted.
    Delivered,
    /// Try again at this time.
    Retry {
        /// Next attempt time.
        at: UnixMs,
        /// What went wrong.
        error: String,
    },
    /// Give up: a dead letter.
    Dead {
        /// What went wrong.
        error: String,
    },
    /// Not sent, or not counted as a failure: try again at this time without using up an attempt
    /// (the destination is over budget, rate-limited, or held until its configuration is fixed).
    Deferred {
        /// When to try again.
        at: UnixMs,
        /// Why.
        reason: String,
    },
}

/// A destination's breaker and pause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestinationState {
    /// The destination.
    pub destination: Destination,
    /// Nothing is claimed for it before this time.
    pub paused_until: UnixMs,
    /// Its breaker.
    pub state: BreakerState,
    /// Why it is not closed.
    pub reason: String,
    /// Consecutive failed attempts.
    pub failures: i64,
}

/// Where a destination's breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Healthy.
    Closed,
    /// Its budget is spent: paused until the window has room.
    Paced,
    /// Failing or throttled: paused for a back-off, then probed.
    Open,
    /// A configuration error an admin must fix: messages wait, probed now and then.
    Held,
}

impl BreakerState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Paced => "paced",
            BreakerState::Open => "open",
            BreakerState::Held => "held",
        }
    }

    /// Parses a column value.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "closed" => Some(Self::Closed),
            "paced" => Some(Self::Paced),
            "open" => Some(Self::Open),
            "held" => Some(Self::Held),
            _ => None,
        }
    }
}

/// A delivery folded into a digest, as its page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestItem {
    /// The folded delivery.
    pub id: i64,
    /// Its line.
    pub summary: String,
    /// Order, if any.
    pub order_sn: Option<String>,
    /// When it was queued.
    pub created_at: UnixMs,
}

/// Which dead letters to send again; every field narrows, at least one must be set.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ReplayFilter {
    /// One delivery.
    pub id: Option<i64>,
    /// One destination.
    #[schema(value_type = Option<String>)]
    pub destination: Option<Destination>,
    /// One shop.
    pub shop_id: Option<i64>,
    /// Created at or after (unix ms).
    pub from: Option<i64>,
    /// Created before (unix ms).
    pub to: Option<i64>,
}

impl ReplayFilter {
    /// Whether the filter names anything (an empty filter would replay every dead letter ever).
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.destination.is_none()
            && self.shop_id.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }
}

/// Which failed pushes (inbox items) to process again, e.g. after an upgrade that reads their shape.
/// Every field narrows; an empty filter means every failed push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReplayFilter {
    /// One inbox item.
    pub id: Option<i64>,
    /// One shop (items whose shop could be read).
    pub shop_id: Option<i64>,
    /// Received at or after (unix ms).
    pub from: Option<i64>,
    /// Received before (unix ms).
    pub to: Option<i64>,
}

/// Kinds of audit entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A push received (accepted, duplicate or rejected) or processed.
    Push,
    /// A delivery attempt.
    Delivery,
    /// A shop authorization or token refresh.
    Auth,
    /// Personal data: a buyer forgotten, keys rotated.
    Privacy,
    /// A WeCom callback received, repeated or refused.
    Callback,
    /// Buyer chat: an automatic answer, a hand-off to a person, a response-time warning.
    Chat,
}

impl AuditKind {
    /// Every kind, in the order the console lists them.
    pub const ALL: [AuditKind; 6] = [
        AuditKind::Push,
        AuditKind::Delivery,
        AuditKind::Auth,
        AuditKind::Privacy,
        AuditKind::Callback,
        AuditKind::Chat,
    ];

    /// Reads [`AuditKind::as_str`]'s output.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Push => "push",
            AuditKind::Delivery => "delivery",
            AuditKind::Auth => "auth",
            AuditKind::Privacy => "privacy",
            AuditKind::Callback => "callback",
            AuditKind::Chat => "chat",
        }
    }
}

/// How an audit entry's event ended, stored as its snake_case name (the text written before it was
/// typed, so no row needed rewriting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// A push stored for processing.
    Accepted,
    /// A push or callback we already had.
    Duplicate,
    /// A push or callback refused (size, unknown app, signature).
    Rejected,
    /// A marketplace's or WeCom's check of the callback URL, answered.
    Verified,
    /// A push turned into its events.
    Processed,
    /// A push for a shop no configuration names: kept, not processed.
    UnknownShop,
    /// A push that could not be processed: kept for replay.
    Failed,
    /// A push whose times are far from its arrival: kept, not applied.
    OutOfWindow,
    /// A push its processing left waiting in the inbox.
    Pending,
    /// A failed push queued again.
    Replayed,
    /// A WeCom callback stored.
    Received,
    /// A delivery accepted by its destination.
    Delivered,
    /// A delivery attempt that failed and will be tried again.
    Retry,
    /// A delivery given up: a dead letter.
    Dead,
    /// A delivery waiting for its destination's configuration to be fixed.
    Held,
    /// A delivery the destination asked to slow down.
    Throttled,
    /// A delivery waiting for its destination's budget.
    Paced,
    /// A shop authorized (code exchanged).
    Authorized,
    /// A shop's tokens refreshed.
    Refreshed,
    /// A refresh that failed and will be tried again.
    RefreshFailed,
    /// A refresh token refused for good: the seller must authorize again.
    NeedsReauthorization,
    /// A shop's data policy replaced.
    DataPolicySet,
    /// A buyer's data deleted on request.
    BuyerForgotten,
    /// A departed shop's data deleted.
    ShopPurged,
    /// Every sealed value moved under a new master key.
    KeysRotated,
    /// A member's message or click acted on (a reply sent to a buyer, a conversation claimed).
    Acted,
    /// A buyer answered automatically (the detail names the rule).
    AutoAnswered,
    /// A buyer message handed to a person instead of answered automatically (the detail says why).
    HandedOff,
    /// A buyer left without a person's reply: the supervisor or the holder warned.
    ResponseWarned,
}

impl AuditOutcome {
    /// Every outcome, for help texts and checks.
    pub const ALL: [AuditOutcome; 29] = [
        AuditOutcome::Accepted,
        AuditOutcome::Duplicate,
        AuditOutcome::Rejected,
        AuditOutcome::Verified,
        AuditOutcome::Processed,
        AuditOutcome::UnknownShop,
        AuditOutcome::Failed,
        AuditOutcome::OutOfWindow,
        AuditOutcome::Pending,
        AuditOutcome::Replayed,
        AuditOutcome::Received,
        AuditOutcome::Delivered,
        AuditOutcome::Retry,
        AuditOutcome::Dead,
        AuditOutcome::Held,
        AuditOutcome::Throttled,
        AuditOutcome::Paced,
        AuditOutcome::Authorized,
        AuditOutcome::Refreshed,
        AuditOutcome::RefreshFailed,
        AuditOutcome::NeedsReauthorization,
        AuditOutcome::DataPolicySet,
        AuditOutcome::BuyerForgotten,
        AuditOutcome::ShopPurged,
        AuditOutcome::KeysRotated,
        AuditOutcome::Acted,
        AuditOutcome::AutoAnswered,
        AuditOutcome::HandedOff,
        AuditOutcome::ResponseWarned,
    ];

    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Accepted => "accepted",
            AuditOutcome::Duplicate => "duplicate",
            AuditOutcome::Rejected => "rejected",
            AuditOutcome::Verified => "verified",
            AuditOutcome::Processed => "processed",
            AuditOutcome::UnknownShop => "unknown_shop",
            AuditOutcome::Failed => "failed",
            AuditOutcome::OutOfWindow => "out_of_window",
            AuditOutcome::Pending => "pending",
            AuditOutcome::Replayed => "replayed",
            AuditOutcome::Received => "received",
            AuditOutcome::Delivered => "delivered",
            AuditOutcome::Retry => "retry",
            AuditOutcome::Dead => "dead",
            AuditOutcome::Held => "held",
            AuditOutcome::Throttled => "throttled",
            AuditOutcome::Paced => "paced",
            AuditOutcome::Authorized => "authorized",
            AuditOutcome::Refreshed => "refreshed",
            AuditOutcome::RefreshFailed => "refresh_failed",
            AuditOutcome::NeedsReauthorization => "needs_reauthorization",
            AuditOutcome::DataPolicySet => "data_policy_set",
            AuditOutcome::BuyerForgotten => "buyer_forgotten",
            AuditOutcome::ShopPurged => "shop_purged",
            AuditOutcome::KeysRotated => "keys_rotated",
            AuditOutcome::Acted => "acted",
            AuditOutcome::AutoAnswered => "auto_answered",
            AuditOutcome::HandedOff => "handed_off",
            AuditOutcome::ResponseWarned => "response_warned",
        }
    }

    /// Parses a column value (or a filter given by name).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == raw)
    }

    /// The entry a processed inbox item leaves: its final state, `processed` when it became events.
    pub fn of_inbox(state: InboxState) -> Self {
        match state {
            InboxState::Done => AuditOutcome::Processed,
            InboxState::UnknownShop => AuditOutcome::UnknownShop,
            InboxState::Failed => AuditOutcome::Failed,
            InboxState::OutOfWindow => AuditOutcome::OutOfWindow,
            InboxState::Pending => AuditOutcome::Pending,
        }
    }
}

impl std::fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Id (0 before it is stored).
    pub id: i64,
    /// When.
    #[schema(value_type = i64)]
    pub at: UnixMs,
    /// What the entry is about.
    pub kind: AuditKind,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Marketplace app.
    pub app_id: Option<String>,
    /// The marketplace of the app, when the entry concerns a marketplace app.
    #[schema(value_type = Option<String>)]
    pub platform: Option<Platform>,
    /// Shop.
    pub shop_id: Option<i64>,
    /// Order.
    pub order_sn: Option<String>,
    /// Delivery destination.
    #[schema(value_type = Option<String>)]
    pub destination: Option<Destination>,
    /// Delivery attempt number (1-based).
    pub attempt: Option<i64>,
    /// HTTP status seen or answered.
    pub http_status: Option<i64>,
    /// WeCom errcode, when there was one.
    pub errcode: Option<i64>,
    /// How long the attempt took.
    pub latency_ms: Option<i64>,
    /// Reason, error message or summary.
    pub detail: String,
}

impl AuditEntry {
    /// A new entry with only kind, outcome and detail set.
    pub fn new(kind: AuditKind, outcome: AuditOutcome, at: UnixMs, detail: impl Into<String>) -> Self {
        Self {
            id: 0,
            at,
            kind,
            outcome,
            app_id: None,
            platform: None,
            shop_id: None,
            order_sn: None,
            destination: None,
            attempt: None,
            http_status: None,
            errcode: None,
            latency_ms: None,
            detail: detail.into(),
        }
    }

    /// The same entry about a marketplace app: its id and platform.
    pub fn of_app(mut self, platform: Platform, app_id: &ConfigId) -> Self {
        self.platform = Some(platform);
        self.app_id = Some(app_id.to_string());
        self
    }
}

/// Which audit entries to list; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entry kind.
    pub kind: Option<AuditKind>,
    /// Marketplace of the app the entry concerns.
    pub platform: Option<Platform>,
    /// Shop.
    pub shop_id: Option<i64>,
    /// Order.
    pub order_sn: Option<String>,
    /// Outcome.
    pub outcome: Option<AuditOutcome>,
    /// Delivery destination.
    pub destination: Option<Destination>,
    /// From this time (inclusive).
    pub from: Option<UnixMs>,
    /// Until this time (exclusive).
    pub to: Option<UnixMs>,
    /// Only entries with a smaller id (paging backwards).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// A configuration object as stored: its body is JSON with secrets sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigObject {
    /// Object kind (`shopee_app`, `wecom_app`, …).
    pub kind: String,
    /// Operator-chosen id.
    pub id: String,
    /// JSON body, secrets sealed.
    pub body: String,
    /// Keyed digest of the plaintext body, to tell changes without comparing sealed values.
    pub fingerprint: String,
}

/// Where a configuration object was last written from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigOrigin {
    /// `shoprelay apply` of a configuration file.
    File,
    /// The console or the REST API.
    Console,
}

impl ConfigOrigin {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigOrigin::File => "file",
            ConfigOrigin::Console => "console",
        }
    }
}

/// An object the console or the API wrote last, as `apply` weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleMadeConfig {
    /// Object kind.
    pub kind: String,
    /// Object id.
    pub id: String,
    /// Keyed digest of its plaintext body (compared with the file's).
    pub fingerprint: String,
    /// When it was written.
    pub updated_at: UnixMs,
}

/// What applying a configuration did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigChange {
    /// It is new.
    Created,
    /// It existed with other content.
    Updated,
    /// It is as it was.
    Unchanged,
    /// It was removed because the file no longer has it.
    Removed,
}

/// Authorization state of a shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShopAuthStatus {
    /// Tokens are valid and refreshed before expiry.
    Active,
    /// The refresh token is dead: the seller must authorize again.
    NeedsReauthorization,
    /// The seller revoked the authorization.
    Deauthorized,
}

impl ShopAuthStatus {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            ShopAuthStatus::Active => "active",
            ShopAuthStatus::NeedsReauthorization => "needs_reauthorization",
            ShopAuthStatus::Deauthorized => "deauthorized",
        }
    }

    /// Parses a column value.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "needs_reauthorization" => Some(Self::NeedsReauthorization),
            "deauthorized" => Some(Self::Deauthorized),
            _ => None,
        }
    }
}

/// A shop's tokens and status. Tokens are sealed at rest by the store.
#[derive(Debug, Clone)]
pub struct ShopAuth {
    /// Marketplace app.
    pub app_id: ConfigId,
    /// Shop.
    pub shop_id: ShopId,
    /// Current access token.
    pub access_token: Secret,
    /// Current (single-use) refresh token.
    pub refresh_token: Secret,
    /// When the access token expires (kept to the second).
    pub access_expires_at: UnixMs,
    /// When the refresh token expires (kept to the second).
    pub refresh_expires_at: UnixMs,
    /// Status.
    pub status: ShopAuthStatus,
    /// Why the status is not active.
    pub status_reason: Option<String>,
    /// Row version for compare-and-swap rotation.
    pub version: i64,
}

/// Work waiting, for metrics and readiness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueueDepths {
    /// Pushes not yet normalised.
    pub inbox_pending: i64,
    /// Deliveries not yet accepted.
    pub deliveries_pending: i64,
    /// Dead letters.
    pub deliveries_dead: i64,
}

/// A delivery waiting out its rule's quiet hours.
#[derive(Debug, Clone)]
pub struct HeldDelivery {
    /// The delivery.
    pub item: DeliveryItem,
    /// When the quiet period ends.
    pub quiet_until: UnixMs,
}

/// A request to track how an event is handled: assigned, acknowledged, escalated.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// The rule that asks for it.
    pub rule_id: String,
    /// The event's dedupe key (one task per rule and event).
    pub event_key: String,
    /// Shop of the event.
    pub shop_id: Option<i64>,
    /// Order of the event.
    pub order_sn: Option<String>,
    /// What keeps going to the same member (`order:…`, `buyer:…`), if anything.
    pub sticky_key: Option<String>,
    /// Members to pick the assignee from, in the rule's order; empty when the rule does not assign.
    pub candidates: Vec<String>,
    /// How the assignee is picked.
    pub strategy: shoprelay_core::route::AssignStrategy,
    /// One line about the event.
    pub summary: String,
    /// When it escalates unless acknowledged.
    pub escalate_at: Option<UnixMs>,
}

/// An event someone must handle.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    /// Task id.
    pub id: i64,
    /// The rule that asked for it.
    pub rule_id: String,
    /// The event's dedupe key.
    pub event_key: String,
    /// Shop of the event.
    pub shop_id: Option<i64>,
    /// Order of the event.
    pub order_sn: Option<String>,
    /// Who has it, when assigned.
    pub assignee: Option<String>,
    /// One line about the event.
    pub summary: String,
    /// Key of its acknowledgement link (never shown in listings).
    #[serde(skip)]
    pub token: String,
    /// Where its handling stands.
    pub state: TaskState,
    /// When it was opened (unix ms in JSON).
    #[schema(value_type = i64)]
    pub created_at: UnixMs,
    /// When it escalates unless acknowledged (unix ms in JSON).
    #[schema(value_type = Option<i64>)]
    pub escalate_at: Option<UnixMs>,
    /// When it was acknowledged (unix ms in JSON).
    #[schema(value_type = Option<i64>)]
    pub acked_at: Option<UnixMs>,
    /// Who acknowledged it.
    pub acked_by: Option<String>,
}

/// Where a task's handling stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for an acknowledgement.
    Open,
    /// Acknowledged: it will not escalate.
    Acked,
    /// Escalated and still unacknowledged.
    Escalated,
}

impl TaskState {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Open => "open",
            TaskState::Acked => "acked",
            TaskState::Escalated => "escalated",
        }
    }

    /// Parses a column value (or a listing's filter).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "open" => Some(Self::Open),
            "acked" => Some(Self::Acked),
            "escalated" => Some(Self::Escalated),
            _ => None,
        }
    }
}

/// How a task is named when it is acknowledged.
#[derive(Debug, Clone)]
pub enum TaskRef {
    /// By id (console, API).
    Id(i64),
    /// By the unguessable key of its link (the button in the message).
    Token(String),
}

/// What a retention period applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetentionTarget {
    /// Raw pushes (the inbox), once processed.
    Pushes,
    /// Neutral events (order snapshots, buyer details).
    Events,
    /// Rendered messages (the outbox), once delivered, dead or folded.
    Deliveries,
    /// Assigned items, once acknowledged or escalated.
    Tasks,
    /// Audit entries, from the oldest end of the chain.
    Audit,
    /// WeCom callbacks.
    Callbacks,
    /// Conversations with buyers and their messages (the chat archive), by their latest activity.
    Conversations,
}

impl RetentionTarget {
    /// Every target, in purge order.
    pub const ALL: [RetentionTarget; 7] = [
        RetentionTarget::Pushes,
        RetentionTarget::Events,
        RetentionTarget::Deliveries,
        RetentionTarget::Tasks,
        RetentionTarget::Callbacks,
        RetentionTarget::Conversations,
        RetentionTarget::Audit,
    ];

    /// The name used in configuration, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionTarget::Pushes => "pushes",
            RetentionTarget::Events => "events",
            RetentionTarget::Deliveries => "deliveries",
            RetentionTarget::Tasks => "tasks",
            RetentionTarget::Audit => "audit",
            RetentionTarget::Callbacks => "callbacks",
            RetentionTarget::Conversations => "conversations",
        }
    }
}

/// What forgetting a buyer, or purging a shop, deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ForgetReport {
    /// Raw pushes (inbox items) of the buyer's messages and orders.
    pub pushes: u64,
    /// Events about the buyer or their orders (and escalations quoting them).
    pub events: u64,
    /// Rendered messages of those events, and digests that carried them.
    pub deliveries: u64,
    /// Tasks opened for them.
    pub tasks: u64,
    /// Orders whose last known status was dropped.
    pub orders: u64,
    /// Conversations with the buyer, with their messages.
    pub conversations: u64,
}

impl ForgetReport {
    /// The audit entry's detail: the buyer's keyed hash and the counts, never who the buyer is.
    pub fn detail(&self, buyer_hash: &str) -> String {
        format!(
            "buyer {buyer_hash} forgotten: {} push(es), {} event(s), {} delivery(ies), {} task(s), {} order(s), \
             {} conversation(s)",
            self.pushes, self.events, self.deliveries, self.tasks, self.orders, self.conversations
        )
    }

    /// The audit entry's detail for a purged shop.
    pub fn shop_detail(&self, app: &str, shop: ShopId) -> String {
        format!(
            "shop {shop} of app {app} purged: {} push(es), {} event(s), {} delivery(ies), {} task(s), {} order(s), \
             {} conversation(s)",
            self.pushes, self.events, self.deliveries, self.tasks, self.orders, self.conversations
        )
    }
}

/// An inbox item's result to commit: the item (by its id and claim) and what it became.
#[derive(Debug, Clone)]
pub struct InboxDone {
    /// Inbox id.
    pub id: i64,
    /// The claim it was processed under (see [`InboxItem::claim_token`]).
    pub claim_token: String,
    /// What it became.
    pub completion: InboxCompletion,
}

/// An inbox item to try again later.
#[derive(Debug, Clone)]
pub struct InboxRetry {
    /// Inbox id.
    pub id: i64,
    /// The claim it was processed under.
    pub claim_token: String,
    /// When to try again.
    pub next_at: UnixMs,
    /// Why it failed.
    pub error: String,
}

/// A send recorded before it goes out: one send-log row for the destination (`*`) and one per member.
#[derive(Debug, Clone)]
pub struct SendReservation {
    /// The destination.
    pub destination: Destination,
    /// The people it reaches (lower-cased userids, or `?` for possibly anyone).
    pub members: Vec<String>,
    /// When.
    pub at: UnixMs,
}

/// A delivery attempt's result to commit (see `Outbox::finish_delivery`).
#[derive(Debug, Clone)]
pub struct DeliveryFinish {
    /// Delivery id.
    pub id: i64,
    /// The claim it was attempted under.
    pub claim_token: String,
    /// Its destination (whose send log a settled send moves in).
    pub destination: Destination,
    /// How the attempt ended.
    pub result: DeliveryResult,
    /// Its audit entry.
    pub audit: AuditEntry,
    /// For an attempt that was sent: its send's reserved time and the time to settle it at.
    pub settle: Option<(UnixMs, UnixMs)>,
}

/// Writes of several workers committed together in ONE transaction (one fsync on SQLite).
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    /// Verified pushes, each stored with its audit entry (see `Inbox::insert_pushes`).
    pub pushes: Vec<NewPush>,
    /// Inbox items' results (see `Inbox::complete_inbox`).
    pub completions: Vec<InboxDone>,
    /// Inbox items to try again (see `Inbox::retry_inbox`).
    pub retries: Vec<InboxRetry>,
    /// Sends to record (see `Outbox::reserve_send`).
    pub sends: Vec<SendReservation>,
    /// Delivery attempts' results (see `Outbox::finish_delivery` and `Outbox::finish_sent`).
    pub finishes: Vec<DeliveryFinish>,
    /// Audit entries to append.
    pub audits: Vec<AuditEntry>,
    /// Inbox items to claim (see `Inbox::claimable_inbox`).
    pub claims: Vec<InboxClaim>,
    /// Links of the audit hash chain to write (see `AuditLog::plan_seal`).
    pub seals: Vec<SealPlan>,
}

/// Audit entries read and hashed into the chain on a read connection, ready to be written: the links apply
/// only if the chain head is still the one they were hashed from, so a sealer that lost a race (another
/// replica moved the head) writes nothing and hashes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealPlan {
    /// The head's position the links follow.
    pub from_seq: i64,
    /// The head's hash the first link was hashed from.
    pub from_hash: String,
    /// Each entry's link, oldest first: entry id, chain position, chain hash.
    pub links: Vec<(i64, i64, String)>,
}

/// Inbox items a worker found claimable on a read connection, claimed inside a shared commit: on SQLite,
/// where one transaction writes at a time, a claim then costs no transaction (and no fsync) of its own.
/// The conditions are checked again under the write lock, so an item claimed, closed or overtaken by an
/// older push of its order in the meantime is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxClaim {
    /// The items found claimable.
    pub ids: Vec<i64>,
    /// How long the claim holds, from the batch's time.
    pub lease: Duration,
}

/// What an [`InboxClaim`] took: the items' ids, oldest first, under one claim token. The write returns
/// only these, so SQLite's one write connection does not carry the bodies; [`crate::Inbox::claimed_items`]
/// reads the items afterwards on a read connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimedInbox {
    /// The claim's token.
    pub token: String,
    /// The items claimed, oldest first.
    pub ids: Vec<i64>,
}

impl WriteBatch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.pushes.is_empty()
            && self.completions.is_empty()
            && self.retries.is_empty()
            && self.sends.is_empty()
            && self.finishes.is_empty()
            && self.audits.is_empty()
            && self.claims.is_empty()
            && self.seals.is_empty()
    }

    /// Appends `other`'s writes after this batch's.
    pub fn append(&mut self, mut other: WriteBatch) {
        self.pushes.append(&mut other.pushes);
        self.completions.append(&mut other.completions);
        self.retries.append(&mut other.retries);
        self.sends.append(&mut other.sends);
        self.finishes.append(&mut other.finishes);
        self.audits.append(&mut other.audits);
        self.claims.append(&mut other.claims);
        self.seals.append(&mut other.seals);
    }
}

/// What a [`WriteBatch`] did, index for index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Each push: stored, or a duplicate.
    pub pushes: Vec<PushInsert>,
    /// Each completion: the number of new events, or `None` (nothing written) when its claim was lost.
    pub completions: Vec<Option<usize>>,
    /// Each finish: whether the claim still held (the state changed); the audit entry is written either way.
    pub finishes: Vec<bool>,
    /// Each claim: the items it took (see [`ClaimedInbox`]).
    pub claims: Vec<ClaimedInbox>,
    /// Each seal plan: whether its links were written (`false`: the head had moved; nothing written).
    pub seals: Vec<bool>,
}
