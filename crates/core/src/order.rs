//! The order snapshot an event carries: only what a message needs, filtered by the data policy.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::OrderSn;

/// A platform-neutral order status. Shopee's values map one to one; unknown ones keep their text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Placed, not paid yet.
    Unpaid,
    /// Paid (or COD confirmed); the seller must ship.
    ReadyToShip,
    /// The seller arranged shipment.
    Processed,
    /// Shipment must be arranged again.
    RetryShip,
    /// Handed to the carrier.
    Shipped,
    /// Delivered, waiting for the buyer's confirmation.
    ToConfirmReceive,
    /// A cancellation is being processed.
    InCancel,
    /// Cancelled.
    Cancelled,
    /// A return is in progress.
    ToReturn,
    /// Done.
    Completed,
    /// Waiting for an invoice (Brazil).
    InvoicePending,
    /// A status this version does not know, kept verbatim.
    #[serde(untagged)]
    Other(String),
}

impl OrderStatus {
    /// Parses a platform status string (Shopee's upper-case names); never fails.
    pub fn parse(raw: &str) -> Self {
        match raw {
            "UNPAID" => Self::Unpaid,
            "READY_TO_SHIP" => Self::ReadyToShip,
            "PROCESSED" => Self::Processed,
            "RETRY_SHIP" => Self::RetryShip,
            "SHIPPED" => Self::Shipped,
            "TO_CONFIRM_RECEIVE" => Self::ToConfirmReceive,
            "IN_CANCEL" => Self::InCancel,
            "CANCELLED" => Self::Cancelled,
            "TO_RETURN" => Self::ToReturn,
            "COMPLETED" => Self::Completed,
            "INVOICE_PENDING" => Self::InvoicePending,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The status' canonical upper-case name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unpaid => "UNPAID",
            Self::ReadyToShip => "READY_TO_SHIP",
            Self::Processed => "PROCESSED",
            Self::RetryShip => "RETRY_SHIP",
            Self::Shipped => "SHIPPED",
            Self::ToConfirmReceive => "TO_CONFIRM_RECEIVE",
            Self::InCancel => "IN_CANCEL",
            Self::Cancelled => "CANCELLED",
            Self::ToReturn => "TO_RETURN",
            Self::Completed => "COMPLETED",
            Self::InvoicePending => "INVOICE_PENDING",
            Self::Other(s) => s,
        }
    }

    /// The status as a seller reads it in Chinese.
    pub fn label_zh(&self) -> &str {
        match self {
            Self::Unpaid => "待付款",
            Self::ReadyToShip => "待发货",
            Self::Processed => "已安排发货",
            Self::RetryShip => "需重新安排发货",
            Self::Shipped => "已发货",
            Self::ToConfirmReceive => "待买家确认收货",
            Self::InCancel => "取消处理中",
            Self::Cancelled => "已取消",
            Self::ToReturn => "退货处理中",
            Self::Completed => "已完成",
            Self::InvoicePending => "待开发票",
            Self::Other(s) => s,
        }
    }

    /// Whether this is a status in which we first learn of a new order.
    pub fn is_creation(&self) -> bool {
        matches!(self, Self::Unpaid | Self::ReadyToShip)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    fn status_round_trips_and_keeps_unknown_values() {
        for s in ["UNPAID", "READY_TO_SHIP", "SHIPPED", "COMPLETED", "PENDING"] {
            assert_eq!(OrderStatus::parse(s).as_str(), s);
        }
        assert_eq!(OrderStatus::parse("PENDING"), OrderStatus::Other("PENDING".into()));
        let json = serde_json::to_string(&OrderStatus::ReadyToShip).unwrap();
        assert_eq!(json, "\"READY_TO_SHIP\"");
        let back: OrderStatus = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
        assert_eq!(back, OrderStatus::Other("SOMETHING_NEW".into()));
    }
}
