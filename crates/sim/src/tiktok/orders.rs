//! Orders, created and moved by tests (each change pushes, type 1), and `GET /order/202309/orders?ids=`
//! in the 202309 shape: one line item per unit bought, amounts as decimal strings, times in unix seconds.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api::{check_seller, ApiError, Call, INVALID_REQUEST};
use super::control::SimError;
use super::push::PushRecord;
use super::state::Core;

/// TikTok Shop's order statuses.
pub const ORDER_STATUSES: [&str; 9] = [
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
];

/// The most ids one call may ask for.
const MAX_IDS: usize = 50;

/// An order as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// The order id.
    pub id: u64,
    /// The shop's id.
    pub shop_id: String,
    /// One of [`ORDER_STATUSES`].
    pub status: String,
    /// The buyer's user id.
    pub user_id: String,
    /// The buyer's note.
    pub buyer_message: String,
    /// Unix seconds created.
    pub create_time: i64,
    /// Unix seconds paid (0 while unpaid).
    pub paid_time: i64,
    /// Unix seconds last changed.
    pub update_time: i64,
    /// The currency of every amount.
    pub currency: String,
    /// Where it ships.
    pub recipient_address: SimAddress,
    /// One per unit bought.
    pub line_items: Vec<LineItem>,
}

/// One unit of an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineItem {
    /// The line's id.
    pub id: u64,
    /// TikTok's SKU id.
    pub sku_id: String,
    /// The seller's SKU.
    pub seller_sku: String,
    /// Product name.
    pub product_name: String,
    /// Variation name.
    pub sku_name: String,
    /// What the buyer pays for the unit, e.g. `12.50`.
    pub sale_price: String,
}

/// A recipient address in the order API's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimAddress {
    /// Recipient's name.
    pub name: String,
    /// Phone number.
    pub phone_number: String,
    /// The whole address.
    pub full_address: String,
    /// Post code.
    pub postal_code: String,
    /// Country code.
    pub region_code: String,
}

impl Default for SimAddress {
    fn default() -> Self {
        Self {
            name: "Ana Tan".into(),
            phone_number: "(+44)7700900123".into(),
            full_address: "1 High Street, London".into(),
            postal_code: "SW1A 1AA".into(),
            region_code: "GB".into(),
        }
    }
}

/// The body of `POST /sim/orders`: everything optional, so `{}` makes a plausible order to ship.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewOrder {
    /// The shop; the first seller's first shop when absent.
    pub shop_id: Option<String>,
    /// The order id; the next free one when absent.
    pub order_id: Option<u64>,
    /// First status (`AWAITING_SHIPMENT` when absent).
    pub status: Option<String>,
    /// Lines; one demo line when empty.
    pub items: Vec<NewItem>,
    /// The buyer's note.
    pub buyer_message: Option<String>,
    /// Where it ships; a demo address when absent.
    pub recipient_address: Option<SimAddress>,
    /// The currency (`GBP` when absent).
    pub currency: Option<String>,
}

/// A line of a [`NewOrder`]: `quantity` units become that many line items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// Product name.
    pub name: String,
    /// The seller's SKU.
    #[serde(default)]
    pub sku: String,
    /// Variation name.
    #[serde(default)]
    pub sku_name: String,
    /// Unit price, e.g. `12.50`.
    pub price: String,
    /// Units (1 when absent).
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

/// An order after a change, and the pushes the change sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderChange {
    /// The order now.
    pub order: Order,
    /// The push sent for it, unless the change was none.
    pub push: Option<PushRecord>,
}

fn known_status(raw: &str) -> Result<String, SimError> {
    ORDER_STATUSES
        .iter()
        .find(|s| **s == raw)
        .map(|s| (*s).to_owned())
        .ok_or_else(|| SimError::UnknownStatus(raw.to_owned()))
}

impl Core {
    /// Creates an order and pushes its status.
    pub(crate) async fn create_order(&self, new: NewOrder) -> Result<OrderChange, SimError> {
        let status = known_status(new.status.as_deref().unwrap_or("AWAITING_SHIPMENT"))?;
        let now = self.now_ms().div_euclid(1000);
        let lines = if new.items.is_empty() {
            vec![NewItem {
                name: "Ceramic Mug 350ml".into(),
                sku: "MUG-350-BL".into(),
                sku_name: "Blue".into(),
                price: "12.50".into(),
                quantity: 1,
            }]
        } else {
            new.items
        };
        let order = {
            let mut state = self.state();
            let shop_id = match new.shop_id {
                Some(id) => id,
                None => state
                    .sellers
                    .first()
                    .and_then(|s| s.shops.first())
                    .map(|s| s.id.clone())
                    .ok_or_else(|| SimError::UnknownShop(String::new()))?,
            };
            if state.shop(&shop_id).is_none() {
                return Err(SimError::UnknownShop(shop_id));
            }
            let id = match new.order_id {
                Some(id) if state.orders.contains_key(&id) => return Err(SimError::DuplicateOrder(id)),
                Some(id) => id,
                None => state.next_id(),
            };
            let mut line_items = Vec::new();
            for (n, line) in lines.iter().enumerate() {
                for _ in 0..line.quantity {
                    let line_id = state.next_id();
                    line_items.push(LineItem {
                        id: line_id,
                        sku_id: format!("17293{n:04}"),
                        seller_sku: line.sku.clone(),
                        product_name: line.name.clone(),
                        sku_name: line.sku_name.clone(),
                        sale_price: line.price.clone(),
                    });
                }
            }
            let order = Order {
                id,
                shop_id,
                paid_time: if status == "UNPAID" { 0 } else { now },
                status,
                user_id: "7494560109732350000".into(),
                buyer_message: new.buyer_message.unwrap_or_default(),
                create_time: now,
                update_time: now,
                currency: new.currency.unwrap_or_else(|| "GBP".into()),
                recipient_address: new.recipient_address.unwrap_or_default(),
                line_items,
            };
            state.orders.insert(id, order.clone());
            order
        };
        let push = self.push_order_status(&order).await?;
        Ok(OrderChange {
            order,
            push: Some(push),
        })
    }

    /// Moves an order to `status` and pushes it (nothing when it is there already).
    pub(crate) async fn set_order_status(&self, order_id: u64, status: &str) -> Result<OrderChange, SimError> {
        let status = known_status(status)?;
        let now = self.now_ms().div_euclid(1000);
        let (order, changed) = {
            let mut state = self.state();
            let order = state
                .orders
                .get_mut(&order_id)
                .ok_or(SimError::UnknownOrder(order_id))?;
            let changed = order.status != status;
            if changed {
                if order.paid_time == 0 && status != "UNPAID" && status != "CANCELLED" {
                    order.paid_time = now;
                }
                order.status = status;
                order.update_time = now;
            }
            (order.clone(), changed)
        };
        let push = match changed {
            true => Some(self.push_order_status(&order).await?),
            false => None,
        };
        Ok(OrderChange { order, push })
    }
}

/// `GET /order/202309/orders?ids=a,b&shop_cipher=`: the orders of the cipher's shop among `ids` (unknown
/// ids are left out, as TikTok does).
pub(crate) fn get_orders(core: &Core, call: &Call) -> Result<Value, ApiError> {
    let seller = check_seller(core, call)?;
    let cipher = call.required("shop_cipher")?;
    let state = core.state();
    let shop = state.sellers[seller]
        .shops
        .iter()
        .find(|s| s.cipher == cipher)
        .ok_or_else(|| ApiError::new(INVALID_REQUEST, "shop_cipher is not one of this seller's shops"))?;
    let ids: Vec<&str> = call.required("ids")?.split(',').map(str::trim).collect();
    if ids.len() > MAX_IDS {
        return Err(ApiError::new(INVALID_REQUEST, format!("at most {MAX_IDS} ids")));
    }
    let orders: Vec<Value> = ids
        .iter()
        .filter_map(|id| id.parse::<u64>().ok())
        .filter_map(|id| state.orders.get(&id))
        .filter(|o| o.shop_id == shop.id)
        .map(order_json)
        .collect();
    Ok(json!({ "orders": orders }))
}

pub(crate) fn order_json(o: &Order) -> Value {
    let total: f64 = o
        .line_items
        .iter()
        .filter_map(|l| l.sale_price.parse::<f64>().ok())
        .sum();
    let lines: Vec<Value> = o
        .line_items
        .iter()
        .map(|l| {
            json!({
                "id": l.id.to_string(), "sku_id": l.sku_id, "seller_sku": l.seller_sku,
                "product_name": l.product_name, "sku_name": l.sku_name,
                "sale_price": l.sale_price, "currency": o.currency,
            })
        })
        .collect();
    json!({
        "id": o.id.to_string(),
        "status": o.status,
        "user_id": o.user_id,
        "buyer_message": o.buyer_message,
        "create_time": o.create_time,
        "paid_time": o.paid_time,
        "update_time": o.update_time,
        "recipient_address": o.recipient_address,
        "line_items": lines,
        "payment": {"currency": o.currency, "total_amount": format!("{total:.2}")},
    })
}
