//! The partner app configuration and the shapes of Shopee's API answers. Decoding is tolerant: every
//! field Shopee may leave out is optional, so a new or missing field never fails a whole answer.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use shoprelay_core::ids::{OrderSn, ShopId};
use shoprelay_core::order::{OrderItem, OrderSnapshot, OrderStatus, Recipient, RecipientAddress};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_core::secret::Secret;

use super::auth::TokenExpiry;
use super::error::ShopeeError;

/// A Shopee partner app as configured by the operator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShopeeApp {
    /// Shopee's numeric partner id.
    pub partner_id: u64,
    /// The key API calls are signed with.
    pub partner_key: Secret,
    /// Base URL without a trailing path, e.g. `https://partner.shopeemobile.com` (or the simulator's).
    pub api_base: String,
}

/// Who is being authorized: one shop, or a main account (covering many shops and merchants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthTarget {
    /// A shop, from the `shop_id` of the authorization redirect.
    Shop(ShopId),
    /// A main account, from the `main_account_id` of the authorization redirect.
    MainAccount(u64),
}

/// Tokens from an authorization code or a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// Token for shop-level calls; lives 4 hours.
    pub access_token: Secret,
    /// Single-use token for the next refresh; lives 30 days.
    pub refresh_token: Secret,
    /// When the access token expires.
    pub expires: TokenExpiry,
    /// Shops the tokens cover.
    pub shop_ids: Vec<ShopId>,
    /// Merchants the tokens cover.
    pub merchant_ids: Vec<u64>,
}

/// The top level of a token answer (`/auth/token/get` and `/auth/access_token/get` have no `response`).
#[derive(Debug, Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    expire_in: i64,
    #[serde(default)]
    shop_id_list: Vec<u64>,
    #[serde(default)]
    merchant_id_list: Vec<u64>,
    #[serde(default)]
    shop_id: Option<u64>,
    #[serde(default)]
    merchant_id: Option<u64>,
}

impl TokenAnswer {
    /// Checks the answer carries tokens; a refresh names its one shop in `shop_id` instead of a list.
    pub(crate) fn into_grant(self) -> Result<TokenGrant, ShopeeError> {
        if self.access_token.is_empty() || self.refresh_token.is_empty() {
            return Err(ShopeeError::InvalidField {
                field: "access_token",
                detail: "missing from the answer".into(),
            });
        }
        let mut shops = self.shop_id_list;
        shops.extend(self.shop_id.filter(|id| *id > 0 && !shops.contains(id)));
        let mut merchant_ids = self.merchant_id_list;
        merchant_ids.extend(self.merchant_id.filter(|id| *id > 0 && !merchant_ids.contains(id)));
        let shop_ids = shops
            .into_iter()
            .map(|id| {
                ShopId::new(id).map_err(|e| ShopeeError::InvalidField {
                    field: "shop_id_list",
                    detail: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(TokenGrant {
            access_token: Secret::new(self.access_token),
            refresh_token: Secret::new(self.refresh_token),
            expires: TokenExpiry::from_expire_in(self.expire_in),
            shop_ids,
            merchant_ids,
        })
    }
}

/// One order as `get_order_detail` returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderDetail {
    /// Order number.
    pub order_sn: String,
    /// Status name, e.g. `READY_TO_SHIP`.
    #[serde(default)]
    pub order_status: Option<String>,
    /// Region code, e.g. `SG`.
    #[serde(default)]
    pub region: Option<String>,
    /// Currency code.
    #[serde(default)]
    pub currency: Option<String>,
    /// Cash on delivery.
    #[serde(default)]
    pub cod: bool,
    /// The buyer's note.
    #[serde(default)]
    pub message_to_seller: Option<String>,
    /// Unix seconds created.
    #[serde(default)]
    pub create_time: Option<i64>,
    /// Unix seconds last updated.
    #[serde(default)]
    pub update_time: Option<i64>,
    /// Days the seller has to ship.
    #[serde(default)]
    pub days_to_ship: Option<i64>,
    /// Unix seconds by which to ship.
    #[serde(default)]
    pub ship_by_date: Option<i64>,
    /// Buyer's user id (optional field).
    #[serde(default)]
    pub buyer_user_id: Option<u64>,
    /// Buyer's nickname (optional field).
    #[serde(default)]
    pub buyer_username: Option<String>,
    /// Order lines (optional field).
    #[serde(default)]
    pub item_list: Vec<OrderDetailItem>,
    /// Unix seconds paid (optional field).
    #[serde(default)]
    pub pay_time: Option<i64>,
    /// Amount the buyer pays (optional field; Shopee sends a JSON number such as 23.9).
    #[serde(default, deserialize_with = "decimal")]
    pub total_amount: Option<Decimal>,
    /// Payment method name (optional field).
    #[serde(default)]
    pub payment_method: Option<String>,
    /// Logistics channel (optional field).
    #[serde(default)]
    pub shipping_carrier: Option<String>,
    /// Packages (optional field).
    #[serde(default)]
    pub package_list: Vec<OrderPackage>,
    /// The parcel's recipient (optional field, asked for only when the shop's data policy keeps any of it).
    #[serde(default)]
    pub recipient_address: Option<ShopeeRecipient>,
}

/// `recipient_address` of an [`OrderDetail`]. Shopee masks it in many regions (`"phone":"******64"`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ShopeeRecipient {
    /// Real name.
    #[serde(default)]
    pub name: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Town.
    #[serde(default)]
    pub town: Option<String>,
    /// District.
    #[serde(default)]
    pub district: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Region code.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub zipcode: Option<String>,
    /// The whole address.
    #[serde(default)]
    pub full_address: Option<String>,
}

impl ShopeeRecipient {
    /// The neutral recipient; parts Shopee masked entirely (`****`) are unknown, not values.
    fn to_recipient(&self) -> Recipient {
        let known = |v: &Option<String>| non_empty(v).filter(|s| !s.chars().all(|c| c == '*'));
        let address = RecipientAddress {
            full_address: known(&self.full_address),
            town: known(&self.town),
            district: known(&self.district),
            city: known(&self.city),
            state: known(&self.state),
            region: known(&self.region),
            zipcode: known(&self.zipcode),
        };
        Recipient {
            name: known(&self.name),
            phone: known(&self.phone),
            email: None,
            address: (!address.is_empty()).then_some(address),
        }
    }
}

/// One line of an [`OrderDetail`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderDetailItem {
    /// Item id.
    #[serde(default)]
    pub item_id: Option<u64>,
    /// Product name.
    #[serde(default)]
    pub item_name: String,
    /// Seller SKU of the item.
    #[serde(default)]
    pub item_sku: Option<String>,
    /// Model (variation) id.
    #[serde(default)]
    pub model_id: Option<u64>,
    /// Variation name.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Seller SKU of the variation.
    #[serde(default)]
    pub model_sku: Option<String>,
    /// Quantity bought.
    #[serde(default)]
    pub model_quantity_purchased: u32,
    /// Unit price before discounts.
    #[serde(default, deserialize_with = "decimal")]
    pub model_original_price: Option<Decimal>,
    /// Unit price after discounts.
    #[serde(default, deserialize_with = "decimal")]
    pub model_discounted_price: Option<Decimal>,
}

/// One package of an [`OrderDetail`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderPackage {
    /// Shopee's package number.
    #[serde(default)]
    pub package_number: String,
    /// Logistics status, e.g. `LOGISTICS_READY`.
    #[serde(default)]
    pub logistics_status: Option<String>,
    /// Logistics channel.
    #[serde(default)]
    pub shipping_carrier: Option<String>,
}

impl OrderDetail {
    /// The order as an event carries it, holding only the personal fields `policy` keeps.
    pub fn to_snapshot(&self, policy: &FieldPolicy) -> Result<OrderSnapshot, ShopeeError> {
        let order_sn = OrderSn::parse(&self.order_sn).map_err(|e| ShopeeError::InvalidField {
            field: "order_sn",
            detail: e.to_string(),
        })?;
        let status = self
            .order_status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(super::status::order_status)
            .ok_or_else(|| ShopeeError::InvalidField {
                field: "order_status",
                detail: "missing".into(),
            })?;
        let items = self
            .item_list
            .iter()
            .map(|item| OrderItem {
                name: item.item_name.clone(),
                sku: non_empty(&item.model_sku).or_else(|| non_empty(&item.item_sku)),
                model_name: non_empty(&item.model_name),
                quantity: item.model_quantity_purchased,
                unit_price: item.model_discounted_price,
            })
            .collect();
        let mut snapshot = OrderSnapshot {
            order_sn,
            status,
            region: non_empty(&self.region),
            currency: non_empty(&self.currency),
            total_amount: self.total_amount,
            buyer_username: non_empty(&self.buyer_username),
            items,
            create_time: self.create_time,
            // Shopee reports an unpaid order's pay_time as 0.
            pay_time: self.pay_time.filter(|t| *t > 0),
            ship_by_date: self.ship_by_date.filter(|t| *t > 0),
            cod: self.cod,
            payment_method: non_empty(&self.payment_method),
            shipping_carrier: non_empty(&self.shipping_carrier),
            message_to_seller: non_empty(&self.message_to_seller),
            recipient: self
                .recipient_address
                .as_ref()
                .map(ShopeeRecipient::to_recipient)
                .filter(|r| !r.is_empty()),
        };
        policy.apply(&mut snapshot);
        Ok(snapshot)
    }
}

/// Shopee writes "" for an absent text field.
fn non_empty(value: &Option<String>) -> Option<String> {
    value.as_ref().filter(|s| !s.is_empty()).cloned()
}

/// A money amount sent as a JSON number (23.9) or string ("23.90"); decimal text is kept exactly.
fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let text = match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(other) => return Err(serde::de::Error::custom(format!("expected an amount, got {other}"))),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("invalid amount {text}: {e}")))
}

/// One page of `get_order_list`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderListPage {
    /// Orders on this page.
    pub orders: Vec<OrderListItem>,
    /// Whether another page follows.
    pub more: bool,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// An order named by `get_order_list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderListItem {
    /// Order number.
    pub order_sn: OrderSn,
    /// Its status, when Shopee sent it (`response_optional_fields=order_status`).
    pub status: Option<OrderStatus>,
}

/// The `response` of `get_order_list`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrderListAnswer {
    #[serde(default)]
    more: bool,
    #[serde(default)]
    next_cursor: Option<String>,
    #[serde(default)]
    order_list: Vec<OrderListEntry>,
}

#[derive(Debug, Deserialize)]
struct OrderListEntry {
    order_sn: String,
    #[serde(default)]
    order_status: Option<String>,
}

impl OrderListAnswer {
    pub(crate) fn into_page(self) -> Result<OrderListPage, ShopeeError> {
        let orders = self
            .order_list
            .into_iter()
            .map(|entry| {
                let sn = OrderSn::parse(&entry.order_sn).map_err(|e| ShopeeError::InvalidField {
                    field: "order_list.order_sn",
                    detail: e.to_string(),
                })?;
                let status = entry
                    .order_status
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .map(super::status::order_status);
                Ok(OrderListItem { order_sn: sn, status })
            })
            .collect::<Result<_, ShopeeError>>()?;
        Ok(OrderListPage {
            orders,
            more: self.more,
            next_cursor: self.next_cursor.filter(|c| !c.is_empty()),
        })
    }
}

/// The `response` of `get_order_detail`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrderDetailAnswer {
    #[serde(default)]
    pub(crate) order_list: Vec<OrderDetail>,
}

/// One page of `get_lost_push_message`: the earliest lost pushes of the last three days.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LostPushPage {
    /// The lost pushes, oldest first.
    #[serde(default)]
    pub push_message_list: Vec<LostPush>,
    /// Whether more lost pushes wait after these.
    #[serde(default)]
    pub has_next_page: bool,
    /// The id to confirm once these are handled.
    #[serde(default)]
    pub last_message_id: Option<u64>,
}

/// A push Shopee failed to deliver: one `push_message_list` item, `{shop_id?, code, timestamp, data}`,
/// where `data` is a JSON string holding the whole original push body.
///
/// Kept as the raw item so that one item of an unexpected shape cannot fail its whole page: every item
/// must be stored before the page is confirmed, and confirming is the only way Shopee moves on.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct LostPush(pub Value);

impl LostPush {
    /// The push body to store, ready for [`super::push::ShopeePush::parse`] like a live push: the
    /// original envelope from `data`, with Shopee's own timestamps (never the time of recovery). An item
    /// whose `data` holds only the push's `data` object (an older reading) is wrapped in the item's
    /// `code`, `shop_id` and `timestamp`. Anything else is returned as the item itself, so it is stored,
    /// fails to parse, and stays replayable — never dropped.
    pub fn push_body(&self) -> Vec<u8> {
        let item = &self.0;
        let data = match item.get("data") {
            Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
            Some(Value::Object(map)) => Some(Value::Object(map.clone())),
            _ => None,
        };
        match (data, item.get("data")) {
            // The whole original envelope, byte for byte when Shopee sent it as a string.
            (Some(Value::Object(envelope)), Some(Value::String(text))) if envelope.contains_key("code") => {
                text.clone().into_bytes()
            }
            (Some(Value::Object(envelope)), _) if envelope.contains_key("code") => {
                Value::Object(envelope).to_string().into_bytes()
            }
            (Some(inner @ Value::Object(_)), _) if item.get("code").is_some_and(Value::is_i64) => {
                let mut body = serde_json::Map::new();
                body.insert("code".into(), item["code"].clone());
                for key in ["shop_id", "timestamp"] {
                    if let Some(v) = item.get(key).filter(|v| !v.is_null()) {
                        body.insert(key.into(), v.clone());
                    }
                }
                body.insert("data".into(), inner);
                Value::Object(body).to_string().into_bytes()
            }
            _ => item.to_string().into_bytes(),
        }
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;

/// `get_tracking_info`'s answer: a parcel's latest logistics status and its trail.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TrackingInfo {
    /// The order.
    pub order_sn: String,
    /// The package, when Shopee names it.
    #[serde(default)]
    pub package_number: Option<String>,
    /// The latest logistics status (`PICKED_UP`, `DELIVERED`, `FAILED_DELIVERED`, …).
    #[serde(default)]
    pub logistics_status: String,
    /// The trail, as Shopee lists it.
    #[serde(default)]
    pub tracking_info: Vec<TrackingStep>,
}

/// One step of a parcel's trail.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TrackingStep {
    /// Unix seconds.
    #[serde(default)]
    pub update_time: i64,
    /// The carrier's words.
    #[serde(default)]
    pub description: String,
    /// The status at this step.
    #[serde(default)]
    pub logistics_status: String,
}

impl TrackingInfo {
    /// The newest step, whatever order Shopee listed them in.
    pub fn latest(&self) -> Option<&TrackingStep> {
        self.tracking_info.iter().max_by_key(|s| s.update_time)
    }
}

/// `sellerchat/send_message`'s answer, as far as shoprelay reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentMessage {
    /// Shopee's id of the message (a string or a number).
    #[serde(default, deserialize_with = "id_string")]
    pub message_id: Option<String>,
}

fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}
