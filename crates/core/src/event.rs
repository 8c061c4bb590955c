//! The platform-neutral event model: what happened, to which shop and order, with a policy-filtered
//! snapshot. Adapters produce these at the edge; routing and rendering consume only these.

use serde::{Deserialize, Serialize};
use shoprelay_clock::UnixMs;

use crate::destination::Destination;
use crate::ids::{ConfigId, OrderSn, ShopId};
use crate::order::{OrderSnapshot, OrderStatus};

/// Which marketplace an event came from, by its stable lower-case name (`shopee`, …). The middle
/// only compares and shows it; which platforms exist, and what they mean, is the adapters' business
/// (`shoprelay_marketplaces`). Copy: the name is held inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    name: [u8; Platform::MAX_LEN],
    len: u8,
}

impl Platform {
    /// Longest platform name.
    pub const MAX_LEN: usize = 24;

    /// The platform of what shoprelay raises about itself (a destination failing).
    pub const INTERNAL: Platform = Platform::named("shoprelay");

    /// A platform from a name fixed in the code; a name that is not 1–24 of `a-z 0-9 _` fails to compile
    /// when used in a constant.
    pub const fn named(name: &'static str) -> Platform {
        match Self::from_bytes(name.as_bytes()) {
            Some(p) => p,
            None => panic!("a platform name is 1-24 of a-z, 0-9 and _"),
        }
    }

    /// Parses a platform name given at run time (configuration, storage).
    pub fn parse(raw: &str) -> Result<Platform, crate::ids::IdError> {
        Self::from_bytes(raw.as_bytes()).ok_or(crate::ids::IdError {
            kind: "platform",
            reason: "must be 1 to 24 of a-z, 0-9 and _",
        })
    }

    const fn from_bytes(bytes: &[u8]) -> Option<Platform> {
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN {
            return None;
        }
        let mut name = [0u8; Self::MAX_LEN];
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return None;
            }
            name[i] = b;
            i += 1;
        }
        Some(Platform {
            name,
            len: bytes.len() as u8,
        })
    }

    /// Stable lower-case name used in URLs, storage and logs.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored, so the slice is always valid UTF-8.
        std::str::from_utf8(&self.name[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Platform({})", self.as_str())
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Platform::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The kinds of event a route can select. Mirrors [`EventBody`] without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An order seen for the first time (unpaid or ready to ship).
    OrderCreated,
    /// A known order moved to another status.
    OrderStatusChanged,
    /// The logistics channel assigned a tracking number.
    TrackingNumberAssigned,
    /// A seller authorized the app for a shop.
    ShopAuthorized,
    /// A seller (or the platform) revoked the app's authorization.
    ShopDeauthorized,
    /// The shop's authorization ends soon and must be renewed by the seller.
    AuthorizationExpiring,
    /// Our token refresh failed for good: the seller must authorize the shop again.
    ReauthorizationRequired,
    /// A buyer wrote to the shop in the marketplace chat.
    BuyerMessage,
    /// Messages to a destination are held or failing (its circuit breaker opened).
    DeliveryFailing,
    /// The marketplace refuses the shop's chat for good (API not whitelisted, region cannot send):
    /// members cannot answer its buyers from WeCom until the seller fixes it.
    ChatUnavailable,
    /// The order was cancelled (by the buyer, the seller or the platform).
    OrderCancelled,
    /// The buyer asked to cancel; the seller must accept or reject it.
    CancellationRequested,
    /// The buyer asked to return the goods or for a refund.
    ReturnRequested,
    /// Shipping is in trouble: failed delivery, returned, lost, no tracking update for days, or the
    /// ship-by date is near with the order not yet shipped.
    LogisticsException,
    /// A message a rule asked to be acknowledged was not acknowledged in time.
    Escalation,
}

impl EventKind {
    /// Every kind, for documentation and validation messages.
    pub const ALL: [EventKind; 15] = [
        EventKind::OrderCreated,
        EventKind::OrderStatusChanged,
        EventKind::TrackingNumberAssigned,
        EventKind::ShopAuthorized,
        EventKind::ShopDeauthorized,
        EventKind::AuthorizationExpiring,
        EventKind::ReauthorizationRequired,
        EventKind::BuyerMessage,
        EventKind::DeliveryFailing,
        EventKind::OrderCancelled,
        EventKind::CancellationRequested,
        EventKind::ReturnRequested,
        EventKind::LogisticsException,
        EventKind::Escalation,
        EventKind::ChatUnavailable,
    ];

    /// Kinds a rule hears only when it names them: derived from another event (a cancellation is also a
    /// status change) or produced by shoprelay itself, so a rule without `events` does not get them twice,
    /// poll parcels, or escalate its own escalations.
    pub fn is_derived(self) -> bool {
        matches!(
            self,
            EventKind::OrderCancelled
                | EventKind::CancellationRequested
                | EventKind::ReturnRequested
                | EventKind::LogisticsException
                | EventKind::Escalation
                | EventKind::ChatUnavailable
        )
    }

    /// Stable snake_case name (as in configuration files).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderCreated => "order_created",
            EventKind::OrderStatusChanged => "order_status_changed",
            EventKind::TrackingNumberAssigned => "tracking_number_assigned",
            EventKind::ShopAuthorized => "shop_authorized",
            EventKind::ShopDeauthorized => "shop_deauthorized",
            EventKind::AuthorizationExpiring => "authorization_expiring",
            EventKind::ReauthorizationRequired => "reauthorization_required",
            EventKind::BuyerMessage => "buyer_message",
            EventKind::DeliveryFailing => "delivery_failing",
            EventKind::OrderCancelled => "order_cancelled",
            EventKind::CancellationRequested => "cancellation_requested",
            EventKind::ReturnRequested => "return_requested",
            EventKind::LogisticsException => "logistics_exception",
            EventKind::Escalation => "escalation",
            EventKind::ChatUnavailable => "chat_unavailable",
        }
    }
}

/// What happened, with the data specific to that kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// See [`EventKind::OrderCreated`].
    OrderCreated,
    /// See [`EventKind::OrderStatusChanged`].
    OrderStatusChanged {
        /// The status we knew before, if any.
        from: Option<OrderStatus>,
        /// The new status.
        to: OrderStatus,
    },
    /// See [`EventKind::TrackingNumberAssigned`].
    TrackingNumberAssigned {
        /// The carrier's tracking number.
        tracking_no: String,
        /// The marketplace's package number, if given.
        package_number: Option<String>,
    },
    /// See [`EventKind::ShopAuthorized`].
    ShopAuthorized,
    /// See [`EventKind::ShopDeauthorized`].
    ShopDeauthorized,
    /// See [`EventKind::AuthorizationExpiring`].
    AuthorizationExpiring {
        /// Unix seconds at which the authorization ends.
        expire_before: Option<i64>,
    },
    /// See [`EventKind::ReauthorizationRequired`].
    ReauthorizationRequired {
        /// The platform's error that ended the refresh.
        reason: String,
    },
    /// See [`EventKind::BuyerMessage`].
    BuyerMessage {
        /// The marketplace conversation the message belongs to.
        conversation_id: String,
        /// The buyer's display name.
        from_user_name: String,
        /// The text (or a placeholder such as `[image]` for other message types).
        text: String,
        /// The marketplace's message id.
        message_id: String,
        /// The buyer's id at the marketplace, which a reply is addressed to (when the push names it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        buyer_id: Option<String>,
        /// shoprelay's conversation (`#12`), once the message is filed under one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation: Option<i64>,
        /// The buyer's latest order in the shop as shoprelay last saw it, once the message is filed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latest_order: Option<LatestOrder>,
    },
    /// See [`EventKind::ChatUnavailable`].
    ChatUnavailable {
        /// The marketplace's refusal, and what the seller can do.
        reason: String,
    },
    /// See [`EventKind::DeliveryFailing`].
    DeliveryFailing {
        /// The destination (stored as its key, `wecom_app:ID`, `robot:ID`, …).
        destination: Destination,
        /// What failed and how to fix it.
        reason: String,
    },
    /// See [`EventKind::OrderCancelled`].
    OrderCancelled {
        /// The status before, if known.
        from: Option<OrderStatus>,
    },
    /// See [`EventKind::CancellationRequested`].
    CancellationRequested {
        /// The status before, if known.
        from: Option<OrderStatus>,
    },
    /// See [`EventKind::ReturnRequested`].
    ReturnRequested {
        /// The status before, if known.
        from: Option<OrderStatus>,
    },
    /// See [`EventKind::LogisticsException`].
    LogisticsException {
        /// What is wrong.
        issue: LogisticsIssue,
        /// The carrier's latest logistics status (`FAILED_DELIVERED`, …), when known.
        logistics_status: Option<String>,
        /// The carrier's latest tracking line, when known.
        description: Option<String>,
        /// Stalled: whole days since the last tracking update (the rule's threshold that was crossed).
        days_without_update: Option<u32>,
        /// Late-shipment risk: hours left before the ship-by date (the rule's threshold).
        hours_to_ship_by: Option<u32>,
        /// The parcel's latest tracking steps, newest first (at most three).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        trail: Vec<TrailStep>,
    },
    /// See [`EventKind::Escalation`].
    Escalation {
        /// The task that was not acknowledged.
        task_id: i64,
        /// The rule that asked for the acknowledgement.
        rule: String,
        /// Who it was assigned to, if anyone.
        assignee: Option<String>,
        /// Minutes it waited.
        waited_minutes: i64,
        /// One line about the original event.
        about: String,
    },
}

/// One step of a parcel's tracking trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailStep {
    /// When the carrier saw it; whole seconds in JSON, as stored events have it.
    #[serde(with = "shoprelay_clock::unix_secs")]
    pub at: UnixMs,
    /// The carrier's words.
    pub description: String,
    /// The carrier's status at this step.
    pub status: String,
}

/// What went wrong with a shipment (see [`EventKind::LogisticsException`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogisticsIssue {
    /// The carrier could not deliver.
    FailedDelivery,
    /// The parcel is on its way back to the seller.
    ReturnToSender,
    /// The carrier reports the parcel lost.
    Lost,
    /// No tracking update for too long after shipping.
    Stalled,
    /// The ship-by date is near and the order is not shipped yet.
    LateShipmentRisk,
}

impl LogisticsIssue {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogisticsIssue::FailedDelivery => "failed_delivery",
            LogisticsIssue::ReturnToSender => "return_to_sender",
            LogisticsIssue::Lost => "lost",
            LogisticsIssue::Stalled => "stalled",
            LogisticsIssue::LateShipmentRisk => "late_shipment_risk",
        }
    }

    /// Parses [`LogisticsIssue::as_str`]'s output.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            LogisticsIssue::FailedDelivery,
            LogisticsIssue::ReturnToSender,
            LogisticsIssue::Lost,
            LogisticsIssue::Stalled,
            LogisticsIssue::LateShipmentRisk,
        ]
        .into_iter()
        .find(|i| i.as_str() == raw)
    }

    /// How a seller reads it, in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            LogisticsIssue::FailedDelivery => "派送失败",
            LogisticsIssue::ReturnToSender => "包裹退回",
            LogisticsIssue::Lost => "包裹丢失",
            LogisticsIssue::Stalled => "物流长时间未更新",
            LogisticsIssue::LateShipmentRisk => "即将超时发货",
        }
    }

    /// How a seller reads it, in English.
    pub fn label_en(self) -> &'static str {
        match self {
            LogisticsIssue::FailedDelivery => "delivery failed",
            LogisticsIssue::ReturnToSender => "returning to sender",
            LogisticsIssue::Lost => "parcel lost",
            LogisticsIssue::Stalled => "no tracking update",
            LogisticsIssue::LateShipmentRisk => "ship-by date near",
        }
    }
}

impl EventBody {
    /// The order's status before the event, for the kinds that move an order between statuses.
    pub fn status_from(&self) -> Option<&OrderStatus> {
        match self {
            EventBody::OrderStatusChanged { from, .. }
            | EventBody::OrderCancelled { from }
            | EventBody::CancellationRequested { from }
            | EventBody::ReturnRequested { from } => from.as_ref(),
            _ => None,
        }
    }

    /// The kind of this body.
    pub fn kind(&self) -> EventKind {
        match self {
            EventBody::OrderCreated => EventKind::OrderCreated,
            EventBody::OrderStatusChanged { .. } => EventKind::OrderStatusChanged,
            EventBody::TrackingNumberAssigned { .. } => EventKind::TrackingNumberAssigned,
            EventBody::ShopAuthorized => EventKind::ShopAuthorized,
            EventBody::ShopDeauthorized => EventKind::ShopDeauthorized,
            EventBody::AuthorizationExpiring { .. } => EventKind::AuthorizationExpiring,
            EventBody::ReauthorizationRequired { .. } => EventKind::ReauthorizationRequired,
            EventBody::BuyerMessage { .. } => EventKind::BuyerMessage,
            EventBody::DeliveryFailing { .. } => EventKind::DeliveryFailing,
            EventBody::ChatUnavailable { .. } => EventKind::ChatUnavailable,
            EventBody::OrderCancelled { .. } => EventKind::OrderCancelled,
            EventBody::CancellationRequested { .. } => EventKind::CancellationRequested,
            EventBody::ReturnRequested { .. } => EventKind::ReturnRequested,
            EventBody::LogisticsException { .. } => EventKind::LogisticsException,
            EventBody::Escalation { .. } => EventKind::Escalation,
        }
    }
}

/// A buyer's latest order as a buyer-message card shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestOrder {
    /// The marketplace's order number.
    pub order_sn: String,
    /// Its last known status (the marketplace's word).
    pub status: String,
}

/// A neutral event: the unit that is routed, rendered and delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Identity of the event across retries and duplicate pushes; unique in storage.
    pub dedupe_key: String,
    /// Where it came from.
    pub platform: Platform,
    /// The configured marketplace app that received it.
    pub app: ConfigId,
    /// The shop concerned, when the push names one.
    pub shop_id: Option<ShopId>,
    /// The order concerned, when there is one.
    pub order_sn: Option<OrderSn>,
    /// When the platform says it happened; whole seconds in JSON, as stored events and webhooks have it.
    #[serde(with = "shoprelay_clock::unix_secs")]
    pub occurred_at: UnixMs,
    /// The order as enriched from the platform's API, filtered by the data policy.
    pub order: Option<OrderSnapshot>,
    /// What happened.
    pub body: EventBody,
}

impl Event {
    /// The kind of the event.
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }
}
