//! The app configuration and the shapes of TikTok Shop's API answers. Decoding is tolerant: every field
//! TikTok may leave out is optional, and ids, amounts and times are read from strings and numbers alike,
//! so one odd field never fails a whole answer.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::ConfigId;
use shoprelay_core::secret::Secret;

use super::error::TiktokError;
use crate::config::expose;

/// Where the Partner API lives.
pub const DEFAULT_API_BASE: &str = "https://open-api.tiktokglobalshop.com";
/// Where the token endpoints live.
pub const DEFAULT_AUTH_BASE: &str = "https://auth.tiktok-shops.com";
/// Where a seller authorizes a service (app).
pub const DEFAULT_AUTHORIZE_BASE: &str = "https://services.tiktokshop.com";

/// A TikTok Shop app as the operator configures it (the `[[tiktok.apps]]` entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiktokAppConfig {
    /// Operator-chosen id; pushes arrive at `/push/tiktok/{id}`.
    pub id: ConfigId,
    /// TikTok's app key (public: it travels in every request).
    pub app_key: String,
    /// The secret API calls and pushes are signed with.
    #[serde(serialize_with = "expose")]
    pub app_secret: Secret,
    /// The service id of the app in the Partner Center, which the authorization link names.
    pub service_id: String,
    /// Base of the Partner API (a simulator, a proxy).
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Base of the token endpoints (`/api/v2/token/get`, `/api/v2/token/refresh`).
    #[serde(default = "default_auth_base")]
    pub auth_base: String,
    /// Base of the page where sellers authorize the service (`/open/authorize`).
    #[serde(default = "default_authorize_base")]
    pub authorize_base: String,
    /// The push URL as set in the Partner Center, when it is not `{public_url}/push/tiktok/{id}` (a proxy
    /// path). TikTok's push signature does not cover the URL; this only tells the operator what to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_url: Option<String>,
}

impl TiktokAppConfig {
    /// The push URL to set in the Partner Center.
    pub fn callback_url(&self, public_url: &str) -> String {
        self.push_url
            .clone()
            .unwrap_or_else(|| format!("{}/push/tiktok/{}", public_url.trim_end_matches('/'), self.id))
    }
}

fn default_api_base() -> String {
    DEFAULT_API_BASE.into()
}

fn default_auth_base() -> String {
    DEFAULT_AUTH_BASE.into()
}

fn default_authorize_base() -> String {
    DEFAULT_AUTHORIZE_BASE.into()
}

/// Tokens from an authorization code (`/api/v2/token/get`) or a refresh (`/api/v2/token/refresh`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// Token for shop calls (sent in the `x-tts-access-token` header).
    pub access_token: Secret,
    /// Token for the next refresh.
    pub refresh_token: Secret,
    /// When the access token expires. TikTok's `access_token_expire_in` IS this time (in unix seconds),
    /// not a duration, despite its name.
    pub access_expires_at: UnixMs,
    /// When the refresh token expires (`refresh_token_expire_in`, likewise a time).
    pub refresh_expires_at: UnixMs,
    /// The seller's id for this app.
    pub open_id: Option<String>,
    /// The seller's name.
    pub seller_name: Option<String>,
}

/// `data` of a token answer.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default, deserialize_with = "loose_string")]
    access_token: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    access_token_expire_in: Option<i64>,
    #[serde(default, deserialize_with = "loose_string")]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    refresh_token_expire_in: Option<i64>,
    #[serde(default, deserialize_with = "loose_string")]
    open_id: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    seller_name: Option<String>,
}

impl TokenAnswer {
    /// Checks the answer carries tokens whose expiry times lie after `now`: an expiry in the past means
    /// the answer was misread (a duration taken for a time), and would have every call refresh first.
    pub(crate) fn into_grant(self, now: UnixMs) -> Result<TokenGrant, TiktokError> {
        let invalid = |field, detail: String| TiktokError::InvalidField { field, detail };
        let access_token = self
            .access_token
            .ok_or_else(|| invalid("access_token", "missing from the answer".into()))?;
        let refresh_token = self
            .refresh_token
            .ok_or_else(|| invalid("refresh_token", "missing from the answer".into()))?;
        let future = |field, at: Option<i64>| match at.map(|secs| (secs, UnixMs::from_secs(secs))) {
            Some((_, at)) if at > now => Ok(at),
            Some((secs, _)) => Err(invalid(
                field,
                format!("{secs} is not a unix time after now ({})", now.as_secs()),
            )),
            None => Err(invalid(field, "missing from the answer".into())),
        };
        Ok(TokenGrant {
            access_token: Secret::new(access_token),
            refresh_token: Secret::new(refresh_token),
            access_expires_at: future("access_token_expire_in", self.access_token_expire_in)?,
            refresh_expires_at: future("refresh_token_expire_in", self.refresh_token_expire_in)?,
            open_id: self.open_id,
            seller_name: self.seller_name,
        })
    }
}

/// One shop the seller's authorization covers (`/authorization/202309/shops`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AuthorizedShop {
    /// The shop id (what pushes name).
    #[serde(default, deserialize_with = "loose_string")]
    pub id: Option<String>,
    /// The shop's name.
    #[serde(default, deserialize_with = "loose_string")]
    pub name: Option<String>,
    /// The shop's market (`GB`, `US`, `MY`, …).
    #[serde(default, deserialize_with = "loose_string")]
    pub region: Option<String>,
    /// `CROSS_BORDER` or `LOCAL`.
    #[serde(default, deserialize_with = "loose_string")]
    pub seller_type: Option<String>,
    /// The `shop_cipher` every call about this shop must carry.
    #[serde(default, deserialize_with = "loose_string")]
    pub cipher: Option<String>,
    /// The shop's code.
    #[serde(default, deserialize_with = "loose_string")]
    pub code: Option<String>,
}

/// `data` of `/authorization/202309/shops`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShopsAnswer {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) shops: Vec<AuthorizedShop>,
}

/// `data` of `GET /order/202309/orders`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OrdersAnswer {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) orders: Vec<TiktokOrder>,
}

/// `data` of `POST /order/202309/orders/search`: a page of orders (each as the detail call returns it).
#[derive(Debug, Default, Deserialize)]
pub struct OrderSearchPage {
    /// The orders of this page.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub orders: Vec<TiktokOrder>,
    /// Where the next page starts; absent or empty on the last page.
    #[serde(default, deserialize_with = "loose_string")]
    pub next_page_token: Option<String>,
}

/// One order as `GET /order/202309/orders?ids=` returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TiktokOrder {
    /// The order id.
    #[serde(default, deserialize_with = "loose_string")]
    pub id: Option<String>,
    /// The status (`AWAITING_SHIPMENT`, …).
    #[serde(default, deserialize_with = "loose_string")]
    pub status: Option<String>,
    /// The buyer's TikTok user id (an id, not a name).
    #[serde(default, deserialize_with = "loose_string")]
    pub user_id: Option<String>,
    /// The buyer's note to the seller.
    #[serde(default, deserialize_with = "loose_string")]
    pub buyer_message: Option<String>,
    /// Unix seconds created.
    #[serde(default, deserialize_with = "loose_i64")]
    pub create_time: Option<i64>,
    /// Unix seconds paid.
    #[serde(default, deserialize_with = "loose_i64")]
    pub paid_time: Option<i64>,
    /// Unix seconds last updated.
    #[serde(default, deserialize_with = "loose_i64")]
    pub update_time: Option<i64>,
    /// Where the parcel goes.
    #[serde(default)]
    pub recipient_address: Option<TiktokAddress>,
    /// One line per unit bought.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub line_items: Vec<TiktokLineItem>,
    /// What the buyer pays.
    #[serde(default)]
    pub payment: Option<TiktokPayment>,
}

/// `recipient_address` of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TiktokAddress {
    /// The recipient's name.
    #[serde(default, deserialize_with = "loose_string")]
    pub name: Option<String>,
    /// The recipient's phone number (masked by TikTok in some markets).
    #[serde(default, deserialize_with = "loose_string")]
    pub phone_number: Option<String>,
    /// The whole address as one text.
    #[serde(default, deserialize_with = "loose_string")]
    pub full_address: Option<String>,
    /// Post code.
    #[serde(default, deserialize_with = "loose_string")]
    pub postal_code: Option<String>,
    /// The market's country code (`GB`, `US`, …).
    #[serde(default, deserialize_with = "loose_string")]
    pub region_code: Option<String>,
}

/// One unit of an order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TiktokLineItem {
    /// TikTok's SKU id.
    #[serde(default, deserialize_with = "loose_string")]
    pub sku_id: Option<String>,
    /// The seller's SKU.
    #[serde(default, deserialize_with = "loose_string")]
    pub seller_sku: Option<String>,
    /// Product name.
    #[serde(default, deserialize_with = "loose_string")]
    pub product_name: Option<String>,
    /// The SKU's variation name (`Blue, L`).
    #[serde(default, deserialize_with = "loose_string")]
    pub sku_name: Option<String>,
    /// What the buyer pays for the unit (TikTok writes `"12.50"`).
    #[serde(default, deserialize_with = "decimal")]
    pub sale_price: Option<Decimal>,
    /// Currency code.
    #[serde(default, deserialize_with = "loose_string")]
    pub currency: Option<String>,
}

/// `payment` of an order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TiktokPayment {
    /// Currency code.
    #[serde(default, deserialize_with = "loose_string")]
    pub currency: Option<String>,
    /// What the buyer pays in all.
    #[serde(default, deserialize_with = "decimal")]
    pub total_amount: Option<Decimal>,
}

/// Text sent as a string, number or boolean; `null` and `""` read as absent.
fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!("expected text, got {other}"))),
    }
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// An integer sent as a number or a numeric string.
fn loose_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match loose_string(d)? {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {text}"))),
    }
}

/// A money amount sent as a string (`"12.50"`) or a number; decimal text is kept exactly.
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn answer(value: Value) -> TokenAnswer {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn expiry_fields_are_absolute_times_not_durations() {
        let grant = answer(json!({
            "access_token": "ROW_a", "access_token_expire_in": NOW + 604_800,
            "refresh_token": "ROW_r", "refresh_token_expire_in": (NOW + 31_536_000).to_string(),
            "open_id": "7010", "seller_name": "Ana's Store"
        }))
        .into_grant(UnixMs::from_secs(NOW))
        .unwrap();
        // The time itself, not now plus it.
        assert_eq!(grant.access_expires_at, UnixMs::from_secs(NOW + 604_800));
        assert_eq!(grant.refresh_expires_at, UnixMs::from_secs(NOW + 31_536_000));
        assert_eq!(grant.seller_name.as_deref(), Some("Ana's Store"));
    }

    #[test]
    fn a_duration_where_a_time_belongs_is_refused_not_believed() {
        let err = answer(json!({
            "access_token": "a", "access_token_expire_in": 604_800,
            "refresh_token": "r", "refresh_token_expire_in": NOW + 1
        }))
        .into_grant(UnixMs::from_secs(NOW))
        .unwrap_err();
        assert!(err.to_string().contains("access_token_expire_in"), "{err}");
        let missing = answer(json!({"access_token": "a", "access_token_expire_in": NOW + 1}))
            .into_grant(UnixMs::from_secs(NOW))
            .unwrap_err();
        assert!(missing.to_string().contains("refresh_token"), "{missing}");
    }

    #[test]
    fn an_order_reads_with_string_amounts_and_numeric_ids() {
        let order: TiktokOrder = serde_json::from_value(json!({
            "id": 576461413038785752u64, "status": "AWAITING_SHIPMENT", "create_time": "1644412885",
            "recipient_address": {"name": "Ana Tan", "postal_code": 238823, "region_code": "GB"},
            "line_items": [{"sku_id": "1729", "product_name": "Mug", "sale_price": "12.50", "currency": "GBP"}],
            "payment": {"currency": "GBP", "total_amount": 25}
        }))
        .unwrap();
        assert_eq!(order.id.as_deref(), Some("576461413038785752"));
        assert_eq!(order.create_time, Some(1_644_412_885));
        assert_eq!(order.line_items[0].sale_price, Some(Decimal::new(1250, 2)));
        assert_eq!(order.payment.unwrap().total_amount, Some(Decimal::new(25, 0)));
        assert_eq!(order.recipient_address.unwrap().postal_code.as_deref(), Some("238823"));
        let empty: OrdersAnswer = serde_json::from_value(json!({"orders": null})).unwrap();
        assert!(empty.orders.is_empty());
    }

    #[test]
    fn a_search_page_without_a_next_token_is_the_last() {
        let page: OrderSearchPage = serde_json::from_value(json!({
            "orders": [{"id": "5764", "status": "IN_TRANSIT", "update_time": 1_644_412_885}],
            "next_page_token": "", "total_count": 1
        }))
        .unwrap();
        assert_eq!(page.orders[0].update_time, Some(1_644_412_885));
        assert_eq!(page.next_page_token, None);
        let more: OrderSearchPage = serde_json::from_value(json!({"next_page_token": "aDU2"})).unwrap();
        assert_eq!(more.next_page_token.as_deref(), Some("aDU2"));
        assert!(more.orders.is_empty());
    }
}
