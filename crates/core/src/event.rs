//! The platform-neutral event model: what happened, to which shop and order, with a policy-filtered
//! snapshot. Adapters produce these at the edge; routing and rendering consume only these.

use serde::{Deserialize, Serialize};

use crate::ids::{ConfigId, OrderSn, ShopId};
use crate::order::{OrderSnapshot, OrderStatus};

/// A marketplace shoprelay integrates with. A closed set: no plugin machinery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Shopee Open Platform v2.
    Shopee,
}

impl Platform {
    /// Stable lower-case name used in URLs, storage and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Shopee => "shopee",
        }
    }
}

/// The kinds of event a route can select. Mirrors [`EventBody`] without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
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
}

impl EventKind {
    /// Every kind, for documentation and validation messages.
    pub const ALL: [EventKind; 9] = [
        EventKind::OrderCreated,
        EventKind::OrderStatusChanged,
        EventKind::TrackingNumberAssigned,
        EventKind::ShopAuthorized,
        EventKind::ShopDeauthorized,
        EventKind::AuthorizationExpiring,
        EventKind::ReauthorizationRequired,
        EventKind::BuyerMessage,
        EventKind::DeliveryFailing,
    ];

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
    },
    /// See [`EventKind::DeliveryFailing`].
    DeliveryFailing {
        /// The destination (`wecom_app:ID`, `robot:ID`).
        destination: String,
        /// What failed and how to fix it.
        reason: String,
    },
}

impl EventBody {
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
        }
    }
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
    /// Unix seconds at which the platform says it happened.
    pub occurred_at: i64,
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
