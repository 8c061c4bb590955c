//! The order snapshot an event carries: only what a message needs, filtered by the data policy.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::OrderSn;

/// Where an order is in its life, in the same words for every marketplace. Each adapter maps its
/// platform's statuses onto these; the platform's own word is kept beside it in [`OrderStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStage {
    /// Placed, not paid yet.
    Unpaid,
    /// Paid (or cash on delivery confirmed); the seller must ship.
    ToShip,
    /// The seller arranged shipment (packed, waiting for pickup).
    Arranged,
    /// Handed to the carrier.
    Shipped,
    /// Delivered to the buyer, not yet confirmed or completed.
    Delivered,
    /// Done.
    Completed,
    /// The buyer asked to cancel; the seller must answer.
    CancelRequested,
    /// Cancelled.
    Cancelled,
    /// A return or refund is in progress.
    ReturnRequested,
    /// A platform status with no neutral counterpart; its own word says what it is.
    Other,
}

impl OrderStage {
    /// Every stage, in the order of an order's life.
    pub const ALL: [OrderStage; 10] = [
        OrderStage::Unpaid,
        OrderStage::ToShip,
        OrderStage::Arranged,
        OrderStage::Shipped,
        OrderStage::Delivered,
        OrderStage::Completed,
        OrderStage::CancelRequested,
        OrderStage::Cancelled,
        OrderStage::ReturnRequested,
        OrderStage::Other,
    ];

    /// Stable snake_case name (rules, storage, templates).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStage::Unpaid => "unpaid",
            OrderStage::ToShip => "to_ship",
            OrderStage::Arranged => "arranged",
            OrderStage::Shipped => "shipped",
            OrderStage::Delivered => "delivered",
            OrderStage::Completed => "completed",
            OrderStage::CancelRequested => "cancel_requested",
            OrderStage::Cancelled => "cancelled",
            OrderStage::ReturnRequested => "return_requested",
            OrderStage::Other => "other",
        }
    }

    /// Parses [`OrderStage::as_str`]'s output.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The stage as a seller reads it in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            OrderStage::Unpaid => "待付款",
            OrderStage::ToShip => "待发货",
            OrderStage::Arranged => "已安排发货",
            OrderStage::Shipped => "已发货",
            OrderStage::Delivered => "已送达",
            OrderStage::Completed => "已完成",
            OrderStage::CancelRequested => "取消处理中",
            OrderStage::Cancelled => "已取消",
            OrderStage::ReturnRequested => "退货退款处理中",
            OrderStage::Other => "其他状态",
        }
    }

    /// The stage as a seller reads it in English.
    pub fn label_en(self) -> &'static str {
        match self {
            OrderStage::Unpaid => "Unpaid",
            OrderStage::ToShip => "To ship",
            OrderStage::Arranged => "Shipment arranged",
            OrderStage::Shipped => "Shipped",
            OrderStage::Delivered => "Delivered",
            OrderStage::Completed => "Completed",
            OrderStage::CancelRequested => "Cancellation requested",
            OrderStage::Cancelled => "Cancelled",
            OrderStage::ReturnRequested => "Return requested",
            OrderStage::Other => "Other",
        }
    }
}

/// An order's status: the neutral stage the middle reasons with, and the marketplace's own status
/// (`READY_TO_SHIP`, `ready_to_ship`, …) kept for display and for rules that name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "StoredStatus")]
pub struct OrderStatus {
    /// The neutral stage.
    pub stage: OrderStage,
    /// The platform's status, verbatim.
    pub raw: String,
}

/// Stored form: events written before the stage existed hold the platform's status as a bare string.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredStatus {
    Full { stage: OrderStage, raw: String },
    Legacy(String),
}

impl From<StoredStatus> for OrderStatus {
    fn from(stored: StoredStatus) -> Self {
        match stored {
            StoredStatus::Full { stage, raw } => Self { stage, raw },
            StoredStatus::Legacy(raw) => Self {
                stage: OrderStage::Other,
                raw,
            },
        }
    }
}

impl OrderStatus {
    /// A platform status and the stage its adapter maps it to.
    pub fn new(stage: OrderStage, raw: impl Into<String>) -> Self {
        Self { stage, raw: raw.into() }
    }

    /// Whether this is a status in which we first learn of a new order.
    pub fn is_creation(&self) -> bool {
        matches!(self.stage, OrderStage::Unpaid | OrderStage::ToShip)
    }

    /// Whether a rule's status name selects this status: a neutral stage name (`to_ship`), or the
    /// platform's own status in any letter case (`READY_TO_SHIP`).
    pub fn is_named(&self, name: &str) -> bool {
        self.stage.as_str() == name || self.raw.eq_ignore_ascii_case(name)
    }

    /// How a seller reads it in Chinese: the stage's label, or the platform's word when there is none.
    pub fn label_zh(&self) -> &str {
        match self.stage {
            OrderStage::Other => &self.raw,
            stage => stage.label_zh(),
        }
    }

    /// How a seller reads it in English.
    pub fn label_en(&self) -> &str {
        match self.stage {
            OrderStage::Other => &self.raw,
            stage => stage.label_en(),
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    /// Product name.
    pub name: String,
    /// Seller SKU of the item or model, when set.
    pub sku: Option<String>,
    /// Variation name (colour, size), when there is one.
    pub model_name: Option<String>,
    /// Quantity purchased.
    pub quantity: u32,
    /// Price per unit after discounts, when known.
    pub unit_price: Option<Decimal>,
}

/// The order as a message shows it. Personal data is left out unless the data policy allows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSnapshot {
    /// Order number.
    pub order_sn: OrderSn,
    /// Current status.
    pub status: OrderStatus,
    /// Marketplace region (e.g. `SG`, `MY`), which also decides the shop's time zone.
    pub region: Option<String>,
    /// ISO currency code.
    pub currency: Option<String>,
    /// Amount the buyer pays.
    pub total_amount: Option<Decimal>,
    /// The buyer's public nickname on the marketplace.
    pub buyer_username: Option<String>,
    /// Order lines.
    pub items: Vec<OrderItem>,
    /// Unix seconds the order was placed.
    pub create_time: Option<i64>,
    /// Unix seconds the order was paid.
    pub pay_time: Option<i64>,
    /// Unix seconds by which the seller must ship.
    pub ship_by_date: Option<i64>,
    /// Cash on delivery.
    pub cod: bool,
    /// Payment method name.
    pub payment_method: Option<String>,
    /// Logistics channel.
    pub shipping_carrier: Option<String>,
    /// The buyer's note to the seller.
    pub message_to_seller: Option<String>,
    /// Who receives the parcel: only the fields the shop's data policy keeps ([`crate::policy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
}

/// The parcel's recipient. Every field is personal data, absent unless the shop's policy keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Real name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Shipping address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<RecipientAddress>,
}

/// A shipping address, split as the marketplaces give it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientAddress {
    /// The whole address as one text (street and number included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_address: Option<String>,
    /// Town or sub-district.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    /// District.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Country or region code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
}

impl RecipientAddress {
    /// Whether no part is known.
    pub fn is_empty(&self) -> bool {
        [
            &self.full_address,
            &self.town,
            &self.district,
            &self.city,
            &self.state,
            &self.region,
            &self.zipcode,
        ]
        .iter()
        .all(|p| p.is_none())
    }

    /// The address as one line: the full text when known, else its parts from small to large.
    pub fn display(&self) -> String {
        if let Some(full) = &self.full_address {
            return full.clone();
        }
        [&self.town, &self.district, &self.city, &self.state, &self.region]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl OrderSnapshot {
    /// A snapshot that knows only the order number and status (before or without enrichment).
    pub fn bare(order_sn: OrderSn, status: OrderStatus) -> Self {
        Self {
            order_sn,
            status,
            region: None,
            currency: None,
            total_amount: None,
            buyer_username: None,
            items: Vec::new(),
            create_time: None,
            pay_time: None,
            ship_by_date: None,
            cod: false,
            payment_method: None,
            shipping_carrier: None,
            message_to_seller: None,
            recipient: None,
        }
    }

    /// Total as `SGD 23.90`, or `None` when unknown.
    pub fn total_display(&self) -> Option<String> {
        let amount = self.total_amount?;
        Some(match &self.currency {
            Some(c) => format!("{c} {amount}"),
            None => amount.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip_and_a_status_is_named_by_stage_or_platform_word() {
        for stage in OrderStage::ALL {
            assert_eq!(OrderStage::parse(stage.as_str()), Some(stage));
        }
        let status = OrderStatus::new(OrderStage::ToShip, "READY_TO_SHIP");
        assert!(status.is_named("to_ship"));
        assert!(status.is_named("ready_to_ship"));
        assert!(!status.is_named("shipped"));
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json, serde_json::json!({"stage": "to_ship", "raw": "READY_TO_SHIP"}));
        let back: OrderStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn a_status_stored_before_stages_reads_back_as_its_platform_word() {
        let old: OrderStatus = serde_json::from_str("\"READY_TO_SHIP\"").unwrap();
        assert_eq!(old, OrderStatus::new(OrderStage::Other, "READY_TO_SHIP"));
        assert_eq!(old.label_zh(), "READY_TO_SHIP");
    }
}
