//! Orders: created and moved by tests, each change pushed as code 3 and a tracking number as code 4.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shoprelay_core::ids::OrderSn;

use super::control::SimError;
use super::push::PushRecord;
use super::state::{random_code, Core};

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";

/// An order as the simulator keeps it (field names as in `get_order_detail`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// Order number, e.g. `240501K3M9QX7B`.
    pub order_sn: String,
    /// The shop.
    pub shop_id: u64,
    /// Market.
    pub region: String,
    /// Currency code.
    pub currency: String,
    /// Cash on delivery.
    pub cod: bool,
    /// Status name.
    pub order_status: String,
    /// The buyer's note.
    pub message_to_seller: String,
    /// Unix seconds created.
    pub create_time: i64,
    /// Unix seconds last changed.
    pub update_time: i64,
    /// Days to ship.
    pub days_to_ship: i64,
    /// Unix seconds by which to ship.
    pub ship_by_date: i64,
    /// Buyer's user id.
    pub buyer_user_id: u64,
    /// Buyer's nickname.
    pub buyer_username: String,
    /// Order lines.
    pub item_list: Vec<OrderLine>,
    /// Unix seconds paid, once paid.
    pub pay_time: Option<i64>,
    /// Amount the buyer pays.
    pub total_amount: f64,
    /// Payment method.
    pub payment_method: String,
    /// Logistics channel.
    pub shipping_carrier: String,
    /// The one package's number.
    pub package_number: String,
    /// Tracking number, once assigned.
    pub tracking_no: Option<String>,
    /// The carrier's tracking steps, oldest first (what `get_tracking_info` answers).
    pub tracking: Vec<TrackingStep>,
    /// The recipient as the order detail reports it; `None` answers what Shopee sends in the regions
    /// where it masks recipients (`"phone":"******64"`).
    pub recipient: Option<SimRecipient>,
}

/// A parcel recipient the simulator reports unmasked (`recipient_address`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimRecipient {
    /// Real name.
    pub name: String,
    /// Phone number.
    pub phone: String,
    /// Town.
    #[serde(default)]
    pub town: String,
    /// District.
    #[serde(default)]
    pub district: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// State.
    #[serde(default)]
    pub state: String,
    /// Postal code.
    #[serde(default)]
    pub zipcode: String,
    /// The whole address.
    pub full_address: String,
}

/// One step of a parcel's journey, as `get_tracking_info` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingStep {
    /// Unix seconds.
    pub update_time: i64,
    /// The carrier's words.
    pub description: String,
    /// `PICKED_UP`, `DELIVERED`, `FAILED_DELIVERED`, …
    pub logistics_status: String,
}

/// One line of an [`Order`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLine {
    /// Item id.
    pub item_id: u64,
    /// Product name.
    pub item_name: String,
    /// Item SKU.
    pub item_sku: String,
    /// Model id.
    pub model_id: u64,
    /// Variation name.
    pub model_name: String,
    /// Variation SKU.
    pub model_sku: String,
    /// Quantity.
    pub model_quantity_purchased: u32,
    /// Unit price before discounts.
    pub model_original_price: f64,
    /// Unit price after discounts.
    pub model_discounted_price: f64,
}

/// The body of `POST /sim/orders`: everything optional, so `{}` makes a plausible unpaid order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewOrder {
    /// The shop; the first configured shop when absent.
    pub shop_id: Option<u64>,
    /// The order number; generated in Shopee's format when absent.
    pub order_sn: Option<String>,
    /// Lines; one demo line when empty.
    pub items: Vec<NewItem>,
    /// Total; the sum of the lines when absent.
    pub total_amount: Option<f64>,
    /// Currency; the region's when absent.
    pub currency: Option<String>,
    /// Buyer's nickname.
    pub buyer_username: Option<String>,
    /// Buyer's user id.
    pub buyer_user_id: Option<u64>,
    /// First status (`UNPAID` when absent).
    pub status: Option<String>,
    /// Cash on delivery.
    pub cod: bool,
    /// Payment method.
    pub payment_method: Option<String>,
    /// Logistics channel.
    pub shipping_carrier: Option<String>,
    /// The buyer's note.
    pub message_to_seller: Option<String>,
    /// An unmasked recipient; Shopee's masked one when absent.
    pub recipient: Option<SimRecipient>,
}

/// A line of a [`NewOrder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// Product name.
    pub item_name: String,
    /// Item SKU.
    #[serde(default)]
    pub item_sku: String,
    /// Variation name.
    #[serde(default)]
    pub model_name: String,
    /// Variation SKU.
    #[serde(default)]
    pub model_sku: String,
    /// Quantity (1 when absent).
    #[serde(default = "one")]
    pub quantity: u32,
    /// Unit price after discounts.
    pub price: f64,
    /// Unit price before discounts (the price when absent).
    #[serde(default)]
    pub original_price: Option<f64>,
}

fn one() -> u32 {
    1
}

/// The body of `POST /sim/orders/{order_sn}/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderUpdate {
    /// The new status (pushed as code 3 when it differs).
    pub status: Option<String>,
    /// A tracking number to assign (pushed as code 4).
    pub tracking_no: Option<String>,
}

/// An order after a change, and the pushes the change sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderChange {
    /// The order now.
    pub order: Order,
    /// The pushes sent (or held) for the change.
    pub pushes: Vec<PushRecord>,
}

impl Core {
    pub(crate) async fn create_order(&self, new: NewOrder) -> Result<OrderChange, SimError> {
        let shop = match new.shop_id {
            Some(id) => self
                .config
                .shops
                .iter()
                .find(|s| s.shop_id == id)
                .ok_or(SimError::UnknownShop(id))?,
            None => self.config.shops.first().ok_or(SimError::UnknownShop(0))?,
        };
        let status = known_status(new.status.as_deref().unwrap_or("UNPAID"))?;
        let now = self.now();
        let order_sn = match new.order_sn {
            Some(sn) => OrderSn::parse(&sn)
                .map_err(|_| SimError::InvalidOrderSn(sn.clone()))?
                .to_string(),
            None => new_order_sn(now),
        };
        let items = if new.items.is_empty() {
            vec![NewItem {
                item_name: "Ceramic Mug 350ml".into(),
                item_sku: "MUG-350".into(),
                model_name: "Blue".into(),
                model_sku: "MUG-350-BL".into(),
                quantity: 1,
                price: 23.9,
                original_price: Some(29.9),
            }]
        } else {
            new.items
        };
        let lines: Vec<OrderLine> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| OrderLine {
                item_id: 100_000 + i as u64,
                model_id: 200_000 + i as u64,
                model_original_price: item.original_price.unwrap_or(item.price),
                item_name: item.item_name,
                item_sku: item.item_sku,
                model_name: item.model_name,
                model_sku: item.model_sku,
                model_quantity_purchased: item.quantity,
                model_discounted_price: item.price,
            })
            .collect();
        let sum: f64 = lines
            .iter()
            .map(|l| l.model_discounted_price * f64::from(l.model_quantity_purchased))
            .sum();
        let order = Order {
            order_sn: order_sn.clone(),
            shop_id: shop.shop_id,
            region: shop.region.clone(),
            currency: new.currency.unwrap_or_else(|| currency_of(&shop.region).to_owned()),
            cod: new.cod,
            order_status: status.to_string(),
            message_to_seller: new.message_to_seller.unwrap_or_default(),
            create_time: now,
            update_time: now,
            days_to_ship: 3,
            ship_by_date: now + 3 * 86400,
            buyer_user_id: new.buyer_user_id.unwrap_or(55501),
            buyer_username: new.buyer_username.unwrap_or_else(|| "buyer_ana".into()),
            item_list: lines,
            pay_time: (status != "UNPAID").then_some(now),
            // Amounts are cents in practice: round away float noise such as 0.30000000000000004.
            total_amount: (new.total_amount.unwrap_or(sum) * 100.0).round() / 100.0,
            payment_method: new
                .payment_method
                .unwrap_or_else(|| if new.cod { "Cash on Delivery" } else { "Credit Card" }.into()),
            shipping_carrier: new.shipping_carrier.unwrap_or_else(|| "SPX Express".into()),
            package_number: format!("OFG{}", random_code(15, DIGITS)),
            tracking_no: None,
            tracking: Vec::new(),
            recipient: new.recipient,
        };
        {
            let mut state = self.state();
            if state.orders.contains_key(&order_sn) {
                return Err(SimError::DuplicateOrder(order_sn));
            }
            state.orders.insert(order_sn.clone(), order.clone());
        }
        let pushes = self.push_shop_event(order.shop_id, 3, status_data(&order)).await;
        Ok(OrderChange { order, pushes })
    }

    pub(crate) async fn update_order(&self, order_sn: &str, update: OrderUpdate) -> Result<OrderChange, SimError> {
        let status = update.status.as_deref().map(known_status).transpose()?;
        let now = self.now();
        let (order, status_changed, tracking_assigned) = {
            let mut state = self.state();
            let order = state
                .orders
                .get_mut(order_sn)
                .ok_or_else(|| SimError::UnknownOrder(order_sn.to_owned()))?;
            let status_changed = match status {
                Some(status) if status != order.order_status => {
                    if order.pay_time.is_none() && !matches!(status, "UNPAID" | "CANCELLED") {
                        order.pay_time = Some(now);
                    }
                    order.order_status = status.to_string();
                    true
                }
                _ => false,
            };
            let tracking_assigned = match update.tracking_no.filter(|t| !t.is_empty()) {
                Some(tracking_no) if order.tracking_no.as_ref() != Some(&tracking_no) => {
                    order.tracking_no = Some(tracking_no);
                    true
                }
                _ => false,
            };
            if status_changed || tracking_assigned {
                order.update_time = now;
            }
            (order.clone(), status_changed, tracking_assigned)
        };
        let mut pushes = Vec::new();
        if status_changed {
            pushes.extend(self.push_shop_event(order.shop_id, 3, status_data(&order)).await);
        }
        if tracking_assigned {
            let data = json!({
                "ordersn": order.order_sn,
                "forder_id": random_code(18, DIGITS),
                "package_number": order.package_number,
                "tracking_no": order.tracking_no,
            });
            pushes.extend(self.push_shop_event(order.shop_id, 4, data).await);
        }
        Ok(OrderChange { order, pushes })
    }
}

/// The `data` of an order status push; the key is `ordersn`, unlike the API's `order_sn`.
fn status_data(order: &Order) -> Value {
    json!({
        "items": [],
        "ordersn": order.order_sn,
        "status": order.order_status,
        "completed_scenario": "",
        "update_time": order.update_time,
    })
}

/// Shopee's documented order statuses: the simulator keeps its own list, independent of the adapter's.
const STATUSES: [&str; 11] = [
    "UNPAID",
    "READY_TO_SHIP",
    "PROCESSED",
    "RETRY_SHIP",
    "SHIPPED",
    "TO_CONFIRM_RECEIVE",
    "IN_CANCEL",
    "CANCELLED",
    "TO_RETURN",
    "COMPLETED",
    "INVOICE_PENDING",
];

fn known_status(raw: &str) -> Result<&'static str, SimError> {
    STATUSES
        .iter()
        .find(|s| **s == raw)
        .copied()
        .ok_or_else(|| SimError::UnknownStatus(raw.to_owned()))
}

/// Shopee's shape: `YYMMDD` and eight characters, e.g. `220810QSK8S7BX`.
fn new_order_sn(now: i64) -> String {
    let date = chrono::DateTime::from_timestamp(now, 0)
        .map(|d| d.format("%y%m%d").to_string())
        .unwrap_or_default();
    format!("{date}{}", random_code(8, ALPHANUMERIC))
}

fn currency_of(region: &str) -> &'static str {
    match region {
        "MY" => "MYR",
        "TH" => "THB",
        "ID" => "IDR",
        "PH" => "PHP",
        "VN" => "VND",
        "TW" => "TWD",
        "BR" => "BRL",
        "MX" => "MXN",
        "CO" => "COP",
        "CL" => "CLP",
        _ => "SGD",
    }
}

impl Core {
    /// Adds a carrier tracking step to an order (Shopee pushes none for these: it is polled).
    pub(crate) fn add_tracking_step(&self, order_sn: &str, step: TrackingStep) -> Result<Order, SimError> {
        let mut state = self.state();
        let order = state
            .orders
            .get_mut(order_sn)
            .ok_or_else(|| SimError::UnknownOrder(order_sn.to_owned()))?;
        order.tracking.push(step);
        order.tracking.sort_by_key(|s| s.update_time);
        Ok(order.clone())
    }
}
