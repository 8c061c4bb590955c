//! Orders: created and moved by tests. Lazada keeps a status per order item (one item per unit bought),
//! so every change is per item, stamps `updated_at`, and pushes one `message_type 0` per item changed.

use serde::{Deserialize, Serialize};

use super::control::SimError;
use super::push::PushRecord;
use super::region::Region;
use super::state::Core;

/// Lazada's order item statuses, lower case as the API writes them.
pub const ORDER_STATUSES: &[&str] = &[
    "unpaid",
    "pending",
    "packed",
    "repacked",
    "ready_to_ship",
    "shipped",
    "delivered",
    "confirmed",
    "canceled",
    "returned",
    "failed_delivery",
    "lost_by_3pl",
    "damaged_by_3pl",
    "shipped_back",
    "shipped_back_success",
    "shipped_back_failed",
    "package_scrapped",
];

/// An order as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// Lazada's order id (also its `order_number`).
    pub order_id: u64,
    /// The shop's seller id.
    pub seller_id: String,
    /// The shop's country.
    pub country: Region,
    /// Unix milliseconds created.
    pub created_at_ms: i64,
    /// Unix milliseconds last changed.
    pub updated_at_ms: i64,
    /// Buyer's first name.
    pub customer_first_name: String,
    /// Buyer's last name.
    pub customer_last_name: String,
    /// Where it ships.
    pub address_shipping: SimAddress,
    /// Payment method, e.g. `COD`.
    pub payment_method: String,
    /// Shipping fee the buyer pays.
    pub shipping_fee: f64,
    /// The items, one per unit bought.
    pub items: Vec<OrderItem>,
}

impl Order {
    /// The distinct statuses of its items, in item order (the API's `statuses`).
    pub fn statuses(&self) -> Vec<String> {
        let mut statuses: Vec<String> = Vec::new();
        for item in &self.items {
            if !statuses.contains(&item.status) {
                statuses.push(item.status.clone());
            }
        }
        statuses
    }
}

/// One order item (one unit).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderItem {
    /// Lazada's order item id (the push's `trade_order_line_id`).
    pub order_item_id: u64,
    /// The seller's SKU.
    pub sku: String,
    /// Lazada's SKU.
    pub shop_sku: String,
    /// Product name.
    pub name: String,
    /// Unit price.
    pub item_price: f64,
    /// What the buyer paid for it after vouchers.
    pub paid_price: f64,
    /// Status, one of [`ORDER_STATUSES`].
    pub status: String,
    /// Parcel tracking number, once assigned.
    pub tracking_code: String,
    /// The carrier.
    pub shipment_provider: String,
    /// Unix milliseconds last changed.
    pub updated_at_ms: i64,
}

/// A shipping address in the order API's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimAddress {
    /// Recipient's first name.
    pub first_name: String,
    /// Recipient's last name.
    pub last_name: String,
    /// Phone number.
    pub phone: String,
    /// Address lines 1 to 5.
    pub address1: String,
    /// Line 2.
    pub address2: String,
    /// Line 3.
    pub address3: String,
    /// Line 4.
    pub address4: String,
    /// Line 5.
    pub address5: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub post_code: String,
    /// Country name; the shop's country when empty.
    pub country: String,
}

impl Default for SimAddress {
    fn default() -> Self {
        Self {
            first_name: "Ana".into(),
            last_name: "Tan".into(),
            phone: "6591234567".into(),
            address1: "1 Orchard Road #05-01".into(),
            address2: String::new(),
            address3: String::new(),
            address4: String::new(),
            address5: String::new(),
            city: "Singapore".into(),
            post_code: "238823".into(),
            country: String::new(),
        }
    }
}

/// The body of `POST /sim/orders`: everything optional, so `{}` makes a plausible pending order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewOrder {
    /// The shop; the first configured seller's first country when absent.
    pub seller_id: Option<String>,
    /// The order id; the next free one when absent.
    pub order_id: Option<u64>,
    /// First status of every item (`pending` when absent).
    pub status: Option<String>,
    /// Lines; one demo line when empty.
    pub items: Vec<NewItem>,
    /// Buyer's first name.
    pub customer_first_name: Option<String>,
    /// Buyer's last name.
    pub customer_last_name: Option<String>,
    /// Where it ships; a demo address when absent.
    pub address_shipping: Option<SimAddress>,
    /// Payment method (`COD` when absent).
    pub payment_method: Option<String>,
}

/// A line of a [`NewOrder`]: `quantity` units become that many order items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// Product name.
    pub name: String,
    /// The seller's SKU.
    #[serde(default)]
    pub sku: String,
    /// Unit price.
    pub price: f64,
    /// Paid per unit after vouchers (the price when absent).
    #[serde(default)]
    pub paid_price: Option<f64>,
    /// Units (1 when absent).
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

/// The body of `POST /sim/orders/{order_id}/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderUpdate {
    /// The new status (pushed for each item it changes).
    pub status: Option<String>,
    /// Only these items; every item when empty.
    pub order_item_ids: Vec<u64>,
    /// A tracking number to assign (not pushed: Lazada pushes statuses only).
    pub tracking_code: Option<String>,
}

/// An order after a change, and the pushes the change sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderChange {
    /// The order now.
    pub order: Order,
    /// The pushes sent for it.
    pub pushes: Vec<PushRecord>,
}

fn known_status(raw: &str) -> Result<String, SimError> {
    ORDER_STATUSES
        .iter()
        .find(|s| **s == raw)
        .map(|s| (*s).to_owned())
        .ok_or_else(|| SimError::UnknownStatus(raw.to_owned()))
}

impl Core {
    /// Creates an order and pushes each item's status.
    pub(crate) async fn create_order(&self, new: NewOrder) -> Result<OrderChange, SimError> {
        let status = known_status(new.status.as_deref().unwrap_or("pending"))?;
        let now = self.now_ms();
        let lines = if new.items.is_empty() {
            vec![NewItem {
                name: "Ceramic Mug 350ml".into(),
                sku: "MUG-350-BL".into(),
                price: 23.9,
                paid_price: None,
                quantity: 1,
            }]
        } else {
            new.items
        };
        let order = {
            let mut state = self.state();
            let seller_id = match new.seller_id {
                Some(id) => id,
                None => state
                    .sellers
                    .first()
                    .and_then(|s| s.country_user_info.first())
                    .map(|c| c.seller_id.clone())
                    .ok_or_else(|| SimError::UnknownSeller(String::new()))?,
            };
            let country = state
                .seller(&seller_id)
                .map(|(_, c)| c.country)
                .ok_or_else(|| SimError::UnknownSeller(seller_id.clone()))?;
            let order_id = match new.order_id {
                Some(id) if state.orders.contains_key(&id) => return Err(SimError::DuplicateOrder(id)),
                Some(id) => id,
                None => state.next_id(),
            };
            let mut items = Vec::new();
            for line in &lines {
                for _ in 0..line.quantity {
                    let order_item_id = state.next_id();
                    items.push(OrderItem {
                        order_item_id,
                        sku: line.sku.clone(),
                        shop_sku: format!("{order_item_id}_{}", country.code().to_uppercase()),
                        name: line.name.clone(),
                        item_price: line.price,
                        paid_price: line.paid_price.unwrap_or(line.price),
                        status: status.clone(),
                        tracking_code: String::new(),
                        shipment_provider: format!("LEX {}", country.code().to_uppercase()),
                        updated_at_ms: now,
                    });
                }
            }
            let mut address = new.address_shipping.unwrap_or_default();
            if address.country.is_empty() {
                address.country = country.country_name().to_owned();
            }
            let order = Order {
                order_id,
                seller_id,
                country,
                created_at_ms: now,
                updated_at_ms: now,
                customer_first_name: new.customer_first_name.unwrap_or_else(|| address.first_name.clone()),
                customer_last_name: new.customer_last_name.unwrap_or_else(|| address.last_name.clone()),
                address_shipping: address,
                payment_method: new.payment_method.unwrap_or_else(|| "COD".into()),
                shipping_fee: 0.0,
                items,
            };
            state.orders.insert(order_id, order.clone());
            order
        };
        let item_ids: Vec<u64> = order.items.iter().map(|i| i.order_item_id).collect();
        let pushes = self.push_item_statuses(&order, &item_ids).await;
        Ok(OrderChange { order, pushes })
    }

    /// Moves items (all, or those named) to a status and/or assigns a tracking number; pushes each item
    /// whose status changed.
    pub(crate) async fn update_order(&self, order_id: u64, update: OrderUpdate) -> Result<OrderChange, SimError> {
        let status = update.status.as_deref().map(known_status).transpose()?;
        let now = self.now_ms();
        let (order, changed) = {
            let mut state = self.state();
            let order = state
                .orders
                .get_mut(&order_id)
                .ok_or(SimError::UnknownOrder(order_id))?;
            if let Some(unknown) = update
                .order_item_ids
                .iter()
                .find(|id| !order.items.iter().any(|i| i.order_item_id == **id))
            {
                return Err(SimError::UnknownItem(*unknown));
            }
            let mut changed = Vec::new();
            let mut touched = false;
            for item in order
                .items
                .iter_mut()
                .filter(|i| update.order_item_ids.is_empty() || update.order_item_ids.contains(&i.order_item_id))
            {
                let mut item_touched = false;
                if let Some(status) = status.as_ref().filter(|s| **s != item.status) {
                    item.status = status.clone();
                    changed.push(item.order_item_id);
                    item_touched = true;
                }
                if let Some(code) = update.tracking_code.as_ref().filter(|c| **c != item.tracking_code) {
                    item.tracking_code = code.clone();
                    item_touched = true;
                }
                if item_touched {
                    item.updated_at_ms = now;
                    touched = true;
                }
            }
            if touched {
                order.updated_at_ms = now;
            }
            (order.clone(), changed)
        };
        let pushes = self.push_item_statuses(&order, &changed).await;
        Ok(OrderChange { order, pushes })
    }
}
