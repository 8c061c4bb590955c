//! The app configuration and the shapes of Lazada's API answers. Decoding is tolerant: every field
//! Lazada may leave out is optional, and the fields Lazada sends sometimes as numbers, sometimes as
//! strings (ids, prices, counts, phone numbers, post codes) are read either way, so one odd field never
//! fails a whole answer.

use std::str::FromStr;
use std::time::Duration;

use chrono::DateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::secret::Secret;

use super::error::LazadaError;
use super::region::LazadaRegion;

/// Where the token endpoints live, for every country.
pub const DEFAULT_AUTH_BASE: &str = "https://auth.lazada.com/rest";

/// A Lazada app as the operator configures it (the `[[lazada.apps]]` entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LazadaAppConfig {
    /// Operator-chosen id; pushes arrive at `/push/lazada/{id}`.
    pub id: ConfigId,
    /// Lazada's app key (public: it travels in every request).
    pub app_key: String,
    /// The secret API calls and pushes are signed with.
    #[serde(serialize_with = "expose")]
    pub app_secret: Secret,
    /// One API base for every country instead of Lazada's per-country hosts (a simulator, a proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// Base of the token endpoints and the authorization page.
    #[serde(default = "default_auth_base")]
    pub auth_base: String,
    /// The push URL as set in the Lazada console, when it is not `{public_url}/push/lazada/{id}` (a proxy
    /// path). Lazada's push signature does not cover the URL; this only tells the operator what to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_url: Option<String>,
}

impl LazadaAppConfig {
    /// Where calls for a seller of `region` go: the override, else the country's own host.
    pub fn api_base(&self, region: LazadaRegion) -> &str {
        self.api_base
            .as_deref()
            .unwrap_or(region.api_base())
            .trim_end_matches('/')
    }

    /// The push URL to set in the Lazada console.
    pub fn callback_url(&self, public_url: &str) -> String {
        self.push_url
            .clone()
            .unwrap_or_else(|| format!("{}/push/lazada/{}", public_url.trim_end_matches('/'), self.id))
    }
}

fn default_auth_base() -> String {
    DEFAULT_AUTH_BASE.into()
}

/// Secrets serialise in the clear here on purpose: the configuration is written back to the operator's
/// file and the database (sealed there by the store); `Debug` and logs still print `***`.
fn expose<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

/// Tokens from an authorization code (`/auth/token/create`) or a refresh (`/auth/token/refresh`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// Token for seller calls.
    pub access_token: Secret,
    /// Token for the next refresh.
    pub refresh_token: Secret,
    /// Seconds the access token lives from the answer (7 days for apps in test, 30 online).
    pub expires_in: i64,
    /// Seconds the refresh token lives from the answer.
    pub refresh_expires_in: i64,
    /// The account's country as Lazada names it (`sg`, …, or `cb` for a cross-border seller).
    pub country: Option<String>,
    /// The seller's login account.
    pub account: Option<String>,
    /// The seller in each country the tokens cover.
    pub sellers: Vec<CountrySeller>,
}

impl TokenGrant {
    /// When the access token expires, for an answer received at `now`.
    pub fn access_expires_at(&self, now: UnixMs) -> UnixMs {
        now + lifetime(self.expires_in)
    }

    /// When the refresh token expires, for an answer received at `now`.
    pub fn refresh_expires_at(&self, now: UnixMs) -> UnixMs {
        now + lifetime(self.refresh_expires_in)
    }
}

/// A lifetime in seconds as Lazada answers it; a negative one (never sent) means expired already.
fn lifetime(secs: i64) -> Duration {
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// One `country_user_info` (create) or `country_user_info_list` (refresh) entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountrySeller {
    /// The country as Lazada writes it (`sg`, `th`, …).
    pub country: String,
    /// The seller id there; pushes name the seller by it.
    pub seller_id: ShopId,
    /// The user id there.
    pub user_id: Option<String>,
    /// The seller's short code there.
    pub short_code: Option<String>,
}

impl CountrySeller {
    /// The country as one of Lazada's six sites, when it is one.
    pub fn region(&self) -> Option<LazadaRegion> {
        LazadaRegion::from_code(&self.country)
    }
}

/// The top level of a token answer, where both token endpoints put their fields.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default, deserialize_with = "loose_string")]
    access_token: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "loose_i64")]
    expires_in: Option<i64>,
    #[serde(default, deserialize_with = "loose_i64")]
    refresh_expires_in: Option<i64>,
    #[serde(default, deserialize_with = "loose_string")]
    country: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    account: Option<String>,
    // Create names the list `country_user_info`, refresh `country_user_info_list`.
    #[serde(default, alias = "country_user_info_list")]
    country_user_info: Option<Vec<CountryUserInfo>>,
}

#[derive(Debug, Deserialize)]
struct CountryUserInfo {
    #[serde(default, deserialize_with = "loose_string")]
    country: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    seller_id: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    short_code: Option<String>,
}

impl TokenAnswer {
    /// Checks the answer carries tokens and that every seller it names has a usable id.
    pub(crate) fn into_grant(self) -> Result<TokenGrant, LazadaError> {
        let invalid = |field, detail: &str| LazadaError::InvalidField {
            field,
            detail: detail.into(),
        };
        let access_token = self
            .access_token
            .ok_or_else(|| invalid("access_token", "missing from the answer"))?;
        let refresh_token = self
            .refresh_token
            .ok_or_else(|| invalid("refresh_token", "missing from the answer"))?;
        let sellers = self
            .country_user_info
            .unwrap_or_default()
            .into_iter()
            .map(|info| {
                let seller_id = info
                    .seller_id
                    .as_deref()
                    .ok_or_else(|| invalid("country_user_info.seller_id", "missing"))?
                    .trim()
                    .parse::<ShopId>()
                    .map_err(|e| invalid("country_user_info.seller_id", &e.to_string()))?;
                Ok(CountrySeller {
                    country: info.country.unwrap_or_default(),
                    seller_id,
                    user_id: info.user_id,
                    short_code: info.short_code,
                })
            })
            .collect::<Result<_, LazadaError>>()?;
        Ok(TokenGrant {
            access_token: Secret::new(access_token),
            refresh_token: Secret::new(refresh_token),
            expires_in: self.expires_in.unwrap_or(0),
            refresh_expires_in: self.refresh_expires_in.unwrap_or(0),
            country: self.country,
            account: self.account,
            sellers,
        })
    }
}

/// One order as `/order/get` (and each entry of `/orders/get`) returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LazadaOrder {
    /// Lazada's order id (the `trade_order_id` of pushes).
    #[serde(default, deserialize_with = "loose_string")]
    pub order_id: Option<String>,
    /// The order number shown to sellers and buyers.
    #[serde(default, deserialize_with = "loose_string")]
    pub order_number: Option<String>,
    /// Local time created, e.g. `2014-10-15 18:36:05 +0800`; see [`LazadaOrder::created_time`].
    #[serde(default, deserialize_with = "loose_string")]
    pub created_at: Option<String>,
    /// Local time last updated, in the same form.
    #[serde(default, deserialize_with = "loose_string")]
    pub updated_at: Option<String>,
    /// The distinct statuses of the order's lines (`["pending"]`, or several for a split order).
    #[serde(default, deserialize_with = "loose_strings")]
    pub statuses: Vec<String>,
    /// The buyer's first name.
    #[serde(default, deserialize_with = "loose_string")]
    pub customer_first_name: Option<String>,
    /// The buyer's last name.
    #[serde(default, deserialize_with = "loose_string")]
    pub customer_last_name: Option<String>,
    /// Where the parcel goes.
    #[serde(default)]
    pub address_shipping: Option<LazadaAddress>,
    /// The order total (Lazada sends a string such as `"99.00"`).
    #[serde(default, deserialize_with = "decimal")]
    pub price: Option<Decimal>,
    /// The shipping fee.
    #[serde(default, deserialize_with = "decimal")]
    pub shipping_fee: Option<Decimal>,
    /// Payment method, e.g. `COD`.
    #[serde(default, deserialize_with = "loose_string")]
    pub payment_method: Option<String>,
    /// Number of order lines (one line per unit: Lazada has no quantity).
    #[serde(default, deserialize_with = "loose_u32")]
    pub items_count: Option<u32>,
    /// The buyer's remarks.
    #[serde(default, deserialize_with = "loose_string")]
    pub remarks: Option<String>,
    /// Ship-by time as Lazada writes it.
    #[serde(default, deserialize_with = "loose_string")]
    pub promised_shipping_times: Option<String>,
}

impl LazadaOrder {
    /// Unix seconds created, when `created_at` is in a form Lazada is known to use.
    pub fn created_time(&self) -> Option<i64> {
        self.created_at.as_deref().and_then(parse_time)
    }

    /// Unix seconds last updated, likewise.
    pub fn updated_time(&self) -> Option<i64> {
        self.updated_at.as_deref().and_then(parse_time)
    }
}

/// `address_shipping` of a [`LazadaOrder`]. Lazada masks parts of it in some countries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LazadaAddress {
    /// Recipient's first name.
    #[serde(default, deserialize_with = "loose_string")]
    pub first_name: Option<String>,
    /// Recipient's last name.
    #[serde(default, deserialize_with = "loose_string")]
    pub last_name: Option<String>,
    /// Phone number.
    #[serde(default, deserialize_with = "loose_string")]
    pub phone: Option<String>,
    /// Second phone number.
    #[serde(default, deserialize_with = "loose_string")]
    pub phone2: Option<String>,
    /// Street address.
    #[serde(default, deserialize_with = "loose_string")]
    pub address1: Option<String>,
    /// Address line 2 (often the region or province).
    #[serde(default, deserialize_with = "loose_string")]
    pub address2: Option<String>,
    /// Address line 3 (often the city).
    #[serde(default, deserialize_with = "loose_string")]
    pub address3: Option<String>,
    /// Address line 4 (often the district).
    #[serde(default, deserialize_with = "loose_string")]
    pub address4: Option<String>,
    /// Address line 5 (often the ward or post code area).
    #[serde(default, deserialize_with = "loose_string")]
    pub address5: Option<String>,
    /// City.
    #[serde(default, deserialize_with = "loose_string")]
    pub city: Option<String>,
    /// Post code (sometimes sent as a number).
    #[serde(default, deserialize_with = "loose_string")]
    pub post_code: Option<String>,
    /// Country name, e.g. `Singapore`.
    #[serde(default, deserialize_with = "loose_string")]
    pub country: Option<String>,
}

/// One line of `/order/items/get`: Lazada lists every unit as a line of its own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LazadaOrderItem {
    /// The line's id (the `trade_order_line_id` of pushes).
    #[serde(default, deserialize_with = "loose_string")]
    pub order_item_id: Option<String>,
    /// The order.
    #[serde(default, deserialize_with = "loose_string")]
    pub order_id: Option<String>,
    /// Product name.
    #[serde(default, deserialize_with = "loose_string")]
    pub name: Option<String>,
    /// Seller SKU.
    #[serde(default, deserialize_with = "loose_string")]
    pub sku: Option<String>,
    /// Lazada's SKU.
    #[serde(default, deserialize_with = "loose_string")]
    pub shop_sku: Option<String>,
    /// Variation, e.g. `Color family:Black`.
    #[serde(default, deserialize_with = "loose_string")]
    pub variation: Option<String>,
    /// List price of the unit.
    #[serde(default, deserialize_with = "decimal")]
    pub item_price: Option<Decimal>,
    /// What the buyer paid for the unit.
    #[serde(default, deserialize_with = "decimal")]
    pub paid_price: Option<Decimal>,
    /// Currency code.
    #[serde(default, deserialize_with = "loose_string")]
    pub currency: Option<String>,
    /// The line's status (`pending`, `shipped`, …).
    #[serde(default, deserialize_with = "loose_string")]
    pub status: Option<String>,
    /// Tracking number.
    #[serde(default, deserialize_with = "loose_string")]
    pub tracking_code: Option<String>,
    /// Carrier.
    #[serde(default, deserialize_with = "loose_string")]
    pub shipment_provider: Option<String>,
}

/// One page of `/orders/get`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OrdersPage {
    /// Orders on this page.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub orders: Vec<LazadaOrder>,
    /// Orders on this page, as Lazada counts them.
    #[serde(default, deserialize_with = "loose_u64")]
    pub count: Option<u64>,
    /// Orders matching the query in all.
    #[serde(default, rename = "countTotal", deserialize_with = "loose_u64")]
    pub count_total: Option<u64>,
}

/// Unix seconds of a Lazada time: `2014-10-15 18:36:05 +0800` as the order API writes it, or RFC 3339.
pub fn parse_time(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S %z")
        .or_else(|_| DateTime::parse_from_rfc3339(raw))
        .ok()
        .map(|t| t.timestamp())
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

/// A list of texts, each loose as [`loose_string`]; `null` reads as empty.
fn loose_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(items
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect())
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

fn loose_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    loose_i64(d)?
        .map(|n| u64::try_from(n).map_err(|_| serde::de::Error::custom(format!("expected a count, got {n}"))))
        .transpose()
}

fn loose_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    loose_i64(d)?
        .map(|n| u32::try_from(n).map_err(|_| serde::de::Error::custom(format!("expected a count, got {n}"))))
        .transpose()
}

/// A money amount sent as a JSON number (23.9) or string ("23.90"); decimal text is kept exactly.
fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let text = match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => without_grouping(s.trim()),
        Some(other) => return Err(serde::de::Error::custom(format!("expected an amount, got {other}"))),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("invalid amount {text}: {e}")))
}

/// Amounts with thousands separators (`"1,299.00"`) lose them; any other comma stays, so a decimal comma
/// (`"12,50"`) fails to parse instead of silently becoming 1250.
fn without_grouping(text: &str) -> String {
    let (whole, fraction) = text.split_once('.').map_or((text, None), |(w, f)| (w, Some(f)));
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.trim_start_matches('-').split(',');
    let first_ok = groups.next().is_some_and(|g| digits(g) && g.len() <= 3);
    let grouped = whole.contains(',') && first_ok && groups.all(|g| digits(g) && g.len() == 3);
    if !grouped {
        return text.to_owned();
    }
    let whole = whole.replace(',', "");
    match fraction {
        Some(fraction) => format!("{whole}.{fraction}"),
        None => whole,
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
