//! What the console's dashboard reads: counts, latency percentiles and response times over a time window,
//! each computed by one SQL statement on either backend from the audit log and the conversation archive.
//!
//! Traffic, latency, failures and orders in time are read mostly from sums of the sealed audit log
//! ([`Dashboard::roll_up_dashboard`]), so their cost follows the window's hours and the entries not yet
//! summed, not every entry in the window; the figures are the same as if every entry were read.
//!
//! Percentiles are nearest-rank (the smallest value at least `p` % of the values are not above) over
//! latencies rounded down by [`latency_bucket`]: the reported value is the true nearest-rank value rounded
//! down to three significant digits (exact below 1 s), so at most 1 % below it, never above.

use std::time::Duration;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;

use crate::model::{AuditEntry, AuditOutcome};
use crate::store::Result;

/// A time window `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start (inclusive).
    pub from: UnixMs,
    /// End (exclusive).
    pub to: UnixMs,
}

/// One minute of traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCount {
    /// Start of the minute, counted from the window's start.
    pub minute: UnixMs,
    /// Pushes accepted.
    pub pushes: i64,
    /// Messages delivered (accepted by WeCom or a webhook).
    pub delivered: i64,
}

/// Where a latency of `ms` is counted: `ms` itself below 1 000 ms, otherwise `ms` rounded down to three
/// significant digits (12 345 → 12 300), so with `b = latency_bucket(ms)`, `b <= ms` and `ms - b <= b / 100`
/// for every `ms >= 0` (at most 1 % low). Bucketed percentiles can be summed from per-period histograms.
pub fn latency_bucket(ms: i64) -> i64 {
    let mut unit = 1;
    while ms / unit >= 1_000 {
        unit *= 10;
    }
    ms / unit * unit
}

/// Nearest-rank percentiles of a set of durations, each rounded down by [`latency_bucket`], in ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Percentiles {
    /// How many durations.
    pub count: i64,
    /// Median.
    pub p50: i64,
    /// 95th percentile.
    pub p95: i64,
    /// 99th percentile.
    pub p99: i64,
}

/// Push → accepted latency of one shop (`None`: deliveries not tied to a shop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopLatency {
    /// Shop.
    pub shop_id: Option<i64>,
    /// Its percentiles.
    pub latency: Percentiles,
}

/// Failed delivery attempts of one destination kind, errcode and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCount {
    /// What kind of destination.
    pub destination_kind: DestinationKind,
    /// WeCom's errcode (or none: a webhook's HTTP failure, a timeout).
    pub errcode: Option<i64>,
    /// [`AuditOutcome::Retry`], `Dead`, `Held` or `Throttled`.
    pub outcome: AuditOutcome,
    /// How many attempts.
    pub count: i64,
}

/// The kind of a delivery's destination, as failures are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DestinationKind {
    /// A WeCom app messaging members.
    WecomApp,
    /// An app group chat.
    Appchat,
    /// A group robot.
    Robot,
    /// A webhook.
    Webhook,
    /// A destination key of no known kind.
    Other,
}

impl DestinationKind {
    /// Column value (the destination key's prefix).
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::WecomApp => "wecom_app",
            DestinationKind::Appchat => "appchat",
            DestinationKind::Robot => "robot",
            DestinationKind::Webhook => "webhook",
            DestinationKind::Other => "other",
        }
    }

    /// Parses a column value.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            DestinationKind::WecomApp,
            DestinationKind::Appchat,
            DestinationKind::Robot,
            DestinationKind::Webhook,
            DestinationKind::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

/// One shop's traffic in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopTraffic {
    /// Shop (`None`: entries tied to no shop).
    pub shop_id: Option<i64>,
    /// Pushes accepted.
    pub pushes: i64,
    /// Deliveries accepted.
    pub delivered: i64,
    /// Failed delivery attempts.
    pub failed: i64,
}

/// Orders pushed in a window and how many of them reached WeCom in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InTime {
    /// Order pushes received in the window whose WeCom delivery was attempted.
    pub orders: i64,
    /// Of those, how many had a WeCom delivery accepted within the threshold of the push.
    pub within: i64,
}

/// The median time to a person's first reply for one member, shop or overall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMedian<K> {
    /// The member, the shop, or `()` overall.
    pub key: K,
    /// Buyers' waits answered by a person.
    pub answered: i64,
    /// Median wait, ms.
    pub median_ms: i64,
}

/// Times to a person's first reply after a buyer wrote (automatic answers do not end a wait).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseTimes {
    /// Over every shop and member (`None` when nothing was answered).
    pub overall: Option<ResponseMedian<()>>,
    /// Waits in the window nobody has answered yet.
    pub unanswered: i64,
    /// Per member who answered, by member.
    pub per_member: Vec<ResponseMedian<String>>,
    /// Per shop, by shop.
    pub per_shop: Vec<ResponseMedian<i64>>,
}

/// A delivery attempt and the message it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The attempt's audit entry.
    pub entry: AuditEntry,
    /// The request body as sent (personal data masked by the shop's policy, as it went out); `None` when
    /// the outbox row is gone (retention, a forgotten buyer) or the entry predates the link.
    pub payload: Option<String>,
}

/// The dashboard's queries.
#[async_trait]
pub trait Dashboard: Send + Sync {
    /// Adds the audit entries sealed since the last rollup to the dashboard's sums (in transactions of a
    /// bounded number of entries); returns how many. Idempotent, and safe to call from several replicas
    /// at once: each sealed entry is summed exactly once. The figures never depend on it having run, only
    /// their cost: entries not summed yet are read from the log.
    async fn roll_up_dashboard(&self) -> Result<u64>;
    /// Pushes accepted and deliveries accepted per minute of the window (minutes without either left out),
    /// minutes counted from the window's start; read from the log, for the last hour's chart.
    async fn traffic_per_minute(&self, window: Window) -> Result<Vec<MinuteCount>>;
    /// Push → accepted latency of deliveries accepted in the window: overall (`None` if none).
    async fn delivery_latency(&self, window: Window) -> Result<Option<Percentiles>>;
    /// [`Dashboard::delivery_latency`] per shop, by shop.
    async fn delivery_latency_by_shop(&self, window: Window) -> Result<Vec<ShopLatency>>;
    /// Failed delivery attempts in the window by destination kind, errcode and outcome, most first.
    async fn delivery_failures(&self, window: Window) -> Result<Vec<FailureCount>>;
    /// Pushes, deliveries and failures per shop in the window, by shop.
    async fn shop_traffic(&self, window: Window) -> Result<Vec<ShopTraffic>>;
    /// Order pushes received in the window and routed to WeCom (app, group chat or robot), and how many
    /// reached it within `threshold` of their receipt; one still queued counts once it is late.
    async fn orders_in_wecom_within(&self, window: Window, threshold: Duration) -> Result<InTime>;
    /// Times to a person's first reply to buyers whose wait began in the window.
    async fn first_response_times(&self, window: Window) -> Result<ResponseTimes>;
    /// The delivery attempt audited as entry `audit_id`, with the message it sent; `None` when there is
    /// no such entry or it is not a delivery attempt.
    async fn sent_message(&self, audit_id: i64) -> Result<Option<SentMessage>>;
}
