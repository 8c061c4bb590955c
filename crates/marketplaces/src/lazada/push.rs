//! Parsing a Lazada push body into a typed value. Runs on the acknowledgement path (Lazada waits 500 ms),
//! so it is pure and cheap, and any input — truncated, garbled, an unknown message type — gives a value
//! or a specific error, never a panic. An error is never Lazada's problem: the push is still stored (as a
//! failed inbox item) and answered 200.
//!
//! Lazada's samples disagree with each other in small ways this parser absorbs: ids come as strings or
//! numbers, the envelope `timestamp` is in milliseconds on order pushes but in seconds on others, and
//! the token-expiry push names its seller inside `data` with `"seller_id":"null"` on top.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{OrderSn, ShopId};

use super::region::LazadaRegion;

/// `message_type` of an order status change (trade and reverse orders alike).
pub const ORDER_STATUS: i64 = 0;
/// `message_type` of the alert that a seller's authorization expires within 48 hours.
pub const TOKEN_EXPIRING: i64 = 8;
/// `message_type` of a change of the seller's account status.
pub const SELLER_STATUS: i64 = 13;

/// A parsed push: the envelope fields every push shares, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct LazadaPush {
    /// The seller: top-level `seller_id`, else `data.seller_id`. Absent only on broadcasts (category
    /// tree updates), which concern no seller.
    pub seller_id: Option<ShopId>,
    /// Lazada's `message_type` (0 = order status, 8 = token expiring, 13 = seller status, …).
    pub message_type: i64,
    /// Unix milliseconds Lazada stamped the push with (sent in seconds by some pushes, read as ms).
    pub timestamp_ms: i64,
    /// The site as sent, e.g. `lazada_vn`; see [`LazadaPush::region`].
    pub site: Option<String>,
    /// What the push says.
    pub body: PushBody,
}

/// The content of a push, by message type.
#[derive(Debug, Clone, PartialEq)]
pub enum PushBody {
    /// Type 0: an order line moved to a status.
    OrderStatus {
        /// The seller.
        seller_id: ShopId,
        /// The order (`data.trade_order_id`).
        trade_order_id: OrderSn,
        /// The order line (`data.trade_order_line_id`): Lazada pushes each line of an order separately.
        trade_order_line_id: Option<String>,
        /// The status as Lazada wrote it (`unpaid`, `ready_to_ship`, …); see [`super::status::order_status`].
        order_status: String,
        /// Unix seconds of the change (`data.status_update_time`).
        status_update_time: i64,
        /// The return or refund, when the change belongs to one (`data.reverse_order_id`).
        reverse_order_id: Option<String>,
        /// The returned line (`data.reverse_order_line_id`).
        reverse_order_line_id: Option<String>,
    },
    /// Type 8: the seller's authorization expires within 48 hours (sent once a day).
    TokenExpiring {
        /// The seller whose authorization expires.
        seller_id: ShopId,
        /// The app the authorization is for (`data.app_key`).
        app_key: Option<String>,
        /// Unix seconds it expires (`data.auth_expiry_time`).
        auth_expiry_time: Option<i64>,
    },
    /// Type 13: the seller's account changed status.
    SellerStatus {
        /// The seller.
        seller_id: ShopId,
        /// `normal`, or `close` (most daily operations banned).
        status: String,
    },
    /// Any other type: kept for the audit log, never an error.
    Other {
        /// The message type.
        message_type: i64,
    },
}

/// Why a push body could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum PushParseError {
    /// Not JSON at all.
    #[error("push body is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but a field the push must have is absent.
    #[error("push field `{field}` is missing")]
    Missing {
        /// Dotted path of the field, e.g. `data.trade_order_id`.
        field: &'static str,
    },
    /// A field is present but of the wrong shape.
    #[error("push field `{field}` is invalid: expected {expected}")]
    Invalid {
        /// Dotted path of the field.
        field: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
}

/// Below this a Lazada time is in seconds, above it in milliseconds: 10^11 seconds is the year 5138,
/// 10^11 milliseconds is March 1973, so no real time of either unit lies on the wrong side.
const MS_THRESHOLD: u64 = 100_000_000_000;

/// Whether a Lazada time is in seconds rather than milliseconds (`unsigned_abs`: `i64::MIN` has no `abs`).
fn in_seconds(time: i64) -> bool {
    time.unsigned_abs() < MS_THRESHOLD
}

impl LazadaPush {
    /// Parses the raw body of a push (after its signature was verified).
    pub fn parse(raw: &[u8]) -> Result<LazadaPush, PushParseError> {
        let value: Value = serde_json::from_slice(raw).map_err(PushParseError::NotJson)?;
        let top = value.as_object().ok_or(PushParseError::Invalid {
            field: "(body)",
            expected: "a JSON object",
        })?;
        let message_type =
            get_i64(top, "message_type", "message_type")?.ok_or(PushParseError::Missing { field: "message_type" })?;
        let timestamp =
            get_i64(top, "timestamp", "timestamp")?.ok_or(PushParseError::Missing { field: "timestamp" })?;
        let timestamp_ms = if in_seconds(timestamp) {
            timestamp.saturating_mul(1_000)
        } else {
            timestamp
        };
        let site = get_text(top, "site", "site")?;
        let empty = Map::new();
        let data = match top.get("data") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(PushParseError::Invalid {
                    field: "data",
                    expected: "a JSON object",
                })
            }
        };
        let seller_id = match get_seller(top, "seller_id")? {
            Some(id) => Some(id),
            None => get_seller(data, "data.seller_id")?,
        };
        let seller = || seller_id.ok_or(PushParseError::Missing { field: "seller_id" });
        let body = match message_type {
            ORDER_STATUS => PushBody::OrderStatus {
                seller_id: seller()?,
                trade_order_id: trade_order_id(data)?,
                trade_order_line_id: get_text(data, "trade_order_line_id", "data.trade_order_line_id")?,
                order_status: req_text(data, "order_status", "data.order_status")?,
                status_update_time: get_i64(data, "status_update_time", "data.status_update_time")?
                    .map(to_seconds)
                    .ok_or(PushParseError::Missing {
                        field: "data.status_update_time",
                    })?,
                reverse_order_id: get_text(data, "reverse_order_id", "data.reverse_order_id")?,
                reverse_order_line_id: get_text(data, "reverse_order_line_id", "data.reverse_order_line_id")?,
            },
            TOKEN_EXPIRING => PushBody::TokenExpiring {
                seller_id: seller()?,
                app_key: get_text(data, "app_key", "data.app_key")?,
                auth_expiry_time: get_i64(data, "auth_expiry_time", "data.auth_expiry_time")?.map(to_seconds),
            },
            SELLER_STATUS => PushBody::SellerStatus {
                seller_id: seller()?,
                status: req_text(data, "status", "data.status")?,
            },
            message_type => PushBody::Other { message_type },
        };
        Ok(LazadaPush {
            seller_id,
            message_type,
            timestamp_ms,
            site,
            body,
        })
    }

    /// The country of the push's `site`, when it names one of Lazada's six.
    pub fn region(&self) -> Option<LazadaRegion> {
        self.site.as_deref().and_then(LazadaRegion::from_site)
    }

    /// The times the push claims, by field: its envelope `timestamp` (milliseconds) and, for an order,
    /// the change's `data.status_update_time` — each one a forged push could use to look newer.
    pub fn times(&self) -> Vec<(&'static str, UnixMs)> {
        let mut times = vec![("timestamp", UnixMs::from_millis(self.timestamp_ms))];
        if let PushBody::OrderStatus { status_update_time, .. } = &self.body {
            times.push(("data.status_update_time", UnixMs::from_secs(*status_update_time)));
        }
        times
    }
}

/// The identity of a push across Lazada's retries (every 30 minutes, 12 times). Lazada sends no message
/// id, so an order push is known by what it says — seller, type, order, line, status and update time —
/// which stays the same however the retry is serialised; a token-expiry alert by its seller and expiry
/// time; anything else by the SHA-256 of its raw body. Never fails, so even an unparseable body can be
/// stored once. The result is 64 hex digits, whatever the size of the fields it covers.
pub fn dedupe_key(raw: &[u8]) -> String {
    let identity = match LazadaPush::parse(raw) {
        Ok(push) => match push.body {
            PushBody::OrderStatus {
                seller_id,
                trade_order_id,
                trade_order_line_id,
                order_status,
                status_update_time,
                ..
            } => Some(serde_json::json!([
                "lazada",
                seller_id.get(),
                push.message_type,
                trade_order_id.as_str(),
                trade_order_line_id,
                order_status,
                status_update_time,
            ])),
            PushBody::TokenExpiring {
                seller_id,
                auth_expiry_time,
                ..
            } => Some(serde_json::json!([
                "lazada",
                seller_id.get(),
                push.message_type,
                auth_expiry_time
            ])),
            PushBody::SellerStatus { .. } | PushBody::Other { .. } => None,
        },
        Err(_) => None,
    };
    // A JSON array is an unambiguous encoding of the fields (no separator can be forged inside one).
    match identity {
        Some(fields) => hex::encode(Sha256::digest(fields.to_string().as_bytes())),
        None => hex::encode(Sha256::digest(raw)),
    }
}

fn to_seconds(time: i64) -> i64 {
    if in_seconds(time) {
        time
    } else {
        time.div_euclid(1_000)
    }
}

fn trade_order_id(data: &Map<String, Value>) -> Result<OrderSn, PushParseError> {
    let raw = req_text(data, "trade_order_id", "data.trade_order_id")?;
    OrderSn::parse(&raw).map_err(|_| PushParseError::Invalid {
        field: "data.trade_order_id",
        expected: "an order number",
    })
}

/// A seller id, sent as a numeric string or a number; `"null"`, `""`, `null` and 0 mean none.
fn get_seller(map: &Map<String, Value>, field: &'static str) -> Result<Option<ShopId>, PushParseError> {
    let invalid = PushParseError::Invalid {
        field,
        expected: "a positive numeric seller id",
    };
    let raw = match map.get("seller_id") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() || s.trim() == "null" => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| invalid)?,
        Some(Value::Number(n)) => n.as_u64().ok_or(invalid)?,
        Some(_) => return Err(invalid),
    };
    if raw == 0 {
        return Ok(None);
    }
    ShopId::new(raw).map(Some).map_err(|_| PushParseError::Invalid {
        field,
        expected: "a positive numeric seller id",
    })
}

/// An integer sent as a number or a numeric string.
fn get_i64(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<i64>, PushParseError> {
    let invalid = PushParseError::Invalid {
        field,
        expected: "an integer",
    };
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(invalid),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| invalid),
        Some(_) => Err(invalid),
    }
}

/// Text sent as a string or a number (ids); `""` reads as absent.
fn get_text(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<String>, PushParseError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(PushParseError::Invalid {
            field,
            expected: "a string or a number",
        }),
    }
}

fn req_text(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<String, PushParseError> {
    get_text(map, key, field)?.ok_or(PushParseError::Missing { field })
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
