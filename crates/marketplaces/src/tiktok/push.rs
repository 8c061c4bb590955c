//! Parsing a TikTok Shop push body into a typed value. Runs on the acknowledgement path (TikTok waits
//! 3 s), so it is pure and cheap, and any input — truncated, garbled, an unknown type — gives a value or a
//! specific error, never a panic. An error is never TikTok's problem: the push is still stored (as a failed
//! inbox item) and answered 200.
//!
//! Ids (`shop_id`, `order_id`) are documented as strings and read from numbers too; times are unix
//! seconds.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{OrderSn, ShopId};

/// `type` of an order status change.
pub const ORDER_STATUS: i64 = 1;
/// `type` of a change of an order's cancellation request.
pub const CANCELLATION_STATUS: i64 = 11;

/// A parsed push: the envelope every push shares, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct TiktokPush {
    /// TikTok's `type` (1 = order status, 11 = cancellation status, …).
    pub kind: i64,
    /// TikTok's id of the notification, the same on every retry of it.
    pub notification_id: Option<String>,
    /// The shop it concerns; absent on pushes about the app or the seller as a whole.
    pub shop_id: Option<ShopId>,
    /// Unix seconds TikTok stamped the push with.
    pub timestamp: i64,
    /// What the push says.
    pub body: PushBody,
}

/// The content of a push, by type.
#[derive(Debug, Clone, PartialEq)]
pub enum PushBody {
    /// Type 1: the order moved to a status.
    OrderStatus {
        /// The shop.
        shop_id: ShopId,
        /// The order (`data.order_id`).
        order_id: OrderSn,
        /// The status as TikTok wrote it (`AWAITING_SHIPMENT`, …); see [`super::status::order_status`].
        order_status: String,
        /// `data.is_on_hold_order`: the order is held (its status then says so too, as `ON_HOLD`).
        on_hold: bool,
        /// Unix seconds of the change (`data.update_time`).
        update_time: i64,
    },
    /// Type 11: the order's cancellation request changed.
    Cancellation {
        /// The shop.
        shop_id: ShopId,
        /// The order (`data.order_id`).
        order_id: OrderSn,
        /// The request's status (`CANCELLATION_REQUEST_PENDING`, `…_SUCCESS`, …), `data.cancel_status`.
        cancel_status: String,
        /// Who asked (`data.cancellations_role`: `BUYER`, `SELLER`, `SYSTEM`), when said.
        role: Option<String>,
        /// Unix seconds of the change (`data.update_time`).
        update_time: i64,
    },
    /// Any other type: kept for the audit log, never an error.
    Other {
        /// The type.
        kind: i64,
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
        /// Dotted path of the field, e.g. `data.order_id`.
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

impl TiktokPush {
    /// Parses the raw body of a push (after its signature was verified).
    pub fn parse(raw: &[u8]) -> Result<TiktokPush, PushParseError> {
        let value: Value = serde_json::from_slice(raw).map_err(PushParseError::NotJson)?;
        let top = value.as_object().ok_or(PushParseError::Invalid {
            field: "(body)",
            expected: "a JSON object",
        })?;
        let kind = get_i64(top, "type", "type")?.ok_or(PushParseError::Missing { field: "type" })?;
        let timestamp =
            get_i64(top, "timestamp", "timestamp")?.ok_or(PushParseError::Missing { field: "timestamp" })?;
        let notification_id = get_text(top, "tts_notification_id", "tts_notification_id")?;
        let shop_id = get_shop(top)?;
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
        let shop = || shop_id.ok_or(PushParseError::Missing { field: "shop_id" });
        let update_time = || {
            get_i64(data, "update_time", "data.update_time")?.ok_or(PushParseError::Missing {
                field: "data.update_time",
            })
        };
        let body = match kind {
            ORDER_STATUS => PushBody::OrderStatus {
                shop_id: shop()?,
                order_id: order_id(data)?,
                order_status: req_text(data, "order_status", "data.order_status")?,
                on_hold: matches!(data.get("is_on_hold_order"), Some(Value::Bool(true))),
                update_time: update_time()?,
            },
            CANCELLATION_STATUS => PushBody::Cancellation {
                shop_id: shop()?,
                order_id: order_id(data)?,
                cancel_status: req_text(data, "cancel_status", "data.cancel_status")?,
                role: get_text(data, "cancellations_role", "data.cancellations_role")?,
                update_time: update_time()?,
            },
            kind => PushBody::Other { kind },
        };
        Ok(TiktokPush {
            kind,
            notification_id,
            shop_id,
            timestamp,
            body,
        })
    }

    /// The order it concerns, its status word and the time of it, for an order or cancellation push.
    pub fn order_change(&self) -> Option<(&OrderSn, &str, i64)> {
        match &self.body {
            PushBody::OrderStatus {
                order_id,
                order_status,
                update_time,
                ..
            } => Some((order_id, order_status, *update_time)),
            PushBody::Cancellation {
                order_id,
                cancel_status,
                update_time,
                ..
            } => Some((order_id, cancel_status, *update_time)),
            PushBody::Other { .. } => None,
        }
    }

    /// The times the push claims (sent in unix seconds), by field: each one a forged push could use to look newer.
    pub fn times(&self) -> Vec<(&'static str, UnixMs)> {
        let mut times = vec![("timestamp", UnixMs::from_secs(self.timestamp))];
        if let Some((_, _, at)) = self.order_change() {
            times.push(("data.update_time", UnixMs::from_secs(at)));
        }
        times
    }
}

/// The identity of a push across TikTok's retries (2 min, 30 min, 3 h, 12 h later): its
/// `tts_notification_id`, which every retry repeats. A push without one (none is documented) falls back to
/// the SHA-256 of its raw body. Never fails, so even an unparseable body is stored once. The result is 64
/// hex digits, whatever the length of the id.
pub fn dedupe_key(raw: &[u8]) -> String {
    let id = TiktokPush::parse(raw).ok().and_then(|p| p.notification_id);
    match id {
        // A JSON array is an unambiguous encoding (no separator can be forged inside one).
        Some(id) => hex::encode(Sha256::digest(serde_json::json!(["tiktok", id]).to_string().as_bytes())),
        None => hex::encode(Sha256::digest(raw)),
    }
}

fn order_id(data: &Map<String, Value>) -> Result<OrderSn, PushParseError> {
    let raw = req_text(data, "order_id", "data.order_id")?;
    OrderSn::parse(raw.trim()).map_err(|_| PushParseError::Invalid {
        field: "data.order_id",
        expected: "an order number",
    })
}

/// The shop, sent as a numeric string (or a number); `""` and `null` mean none.
fn get_shop(map: &Map<String, Value>) -> Result<Option<ShopId>, PushParseError> {
    let invalid = PushParseError::Invalid {
        field: "shop_id",
        expected: "a positive numeric shop id",
    };
    match get_text(map, "shop_id", "shop_id")? {
        None => Ok(None),
        Some(text) => text.trim().parse::<ShopId>().map(Some).map_err(|_| invalid),
    }
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
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
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
mod tests {
    use super::*;

    /// The documented order status push.
    const DOCUMENTED: &str = r#"{"type":1,"tts_notification_id":"7327112393057371910","shop_id":"7494049642642441621","timestamp":1644412885,"data":{"order_id":"576461413038785752","order_status":"UNPAID","is_on_hold_order":false,"update_time":1644412885}}"#;

    #[test]
    fn the_documented_order_push_parses() {
        let push = TiktokPush::parse(DOCUMENTED.as_bytes()).unwrap();
        assert_eq!(push.kind, ORDER_STATUS);
        assert_eq!(push.notification_id.as_deref(), Some("7327112393057371910"));
        assert_eq!(push.shop_id.map(ShopId::get), Some(7_494_049_642_642_441_621));
        assert_eq!(push.timestamp, 1_644_412_885);
        let PushBody::OrderStatus {
            order_id,
            order_status,
            on_hold,
            update_time,
            ..
        } = &push.body
        else {
            panic!("{push:?}")
        };
        assert_eq!(
            (order_id.as_str(), order_status.as_str(), *on_hold, *update_time),
            ("576461413038785752", "UNPAID", false, 1_644_412_885)
        );
        assert_eq!(
            push.times(),
            vec![
                ("timestamp", UnixMs::from_secs(1_644_412_885)),
                ("data.update_time", UnixMs::from_secs(1_644_412_885))
            ]
        );
    }

    #[test]
    fn a_cancellation_push_names_its_order_and_request_status() {
        let raw = r#"{"type":11,"tts_notification_id":"n2","shop_id":7494049642642441621,"timestamp":1644412900,"data":{"order_id":576461413038785752,"cancel_status":"CANCELLATION_REQUEST_PENDING","cancellations_role":"BUYER","update_time":"1644412899"}}"#;
        let push = TiktokPush::parse(raw.as_bytes()).unwrap();
        let (order, status, at) = push.order_change().unwrap();
        assert_eq!(
            (order.as_str(), status, at),
            ("576461413038785752", "CANCELLATION_REQUEST_PENDING", 1_644_412_899)
        );
        assert!(matches!(&push.body, PushBody::Cancellation { role: Some(r), .. } if r == "BUYER"));
    }

    #[test]
    fn other_types_are_kept_and_broken_bodies_say_what_is_wrong() {
        let other = TiktokPush::parse(br#"{"type":6,"timestamp":1,"data":{"x":1}}"#).unwrap();
        assert_eq!(other.body, PushBody::Other { kind: 6 });
        assert!(other.order_change().is_none() && other.shop_id.is_none());
        let cases: [(&str, &str); 8] = [
            ("not json", "not valid JSON"),
            ("[1]", "(body)"),
            (r#"{"timestamp":1}"#, "`type` is missing"),
            (r#"{"type":1}"#, "`timestamp` is missing"),
            (
                r#"{"type":1,"timestamp":1,"data":{"order_id":"1","order_status":"UNPAID","update_time":1}}"#,
                "`shop_id` is missing",
            ),
            (
                r#"{"type":1,"timestamp":1,"shop_id":"x7","data":{}}"#,
                "`shop_id` is invalid",
            ),
            (
                r#"{"type":1,"timestamp":1,"shop_id":"7","data":{"order_id":"a b","order_status":"UNPAID","update_time":1}}"#,
                "`data.order_id` is invalid",
            ),
            (
                r#"{"type":11,"timestamp":1,"shop_id":"7","data":{"order_id":"1","update_time":1}}"#,
                "`data.cancel_status` is missing",
            ),
        ];
        for (raw, want) in cases {
            let err = TiktokPush::parse(raw.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{raw}: {err}");
        }
    }

    #[test]
    fn retries_share_a_key_by_notification_id_and_other_notifications_do_not() {
        let reserialised = DOCUMENTED.replace("\"timestamp\":1644412885,", "\"timestamp\":1644413005,");
        assert_ne!(reserialised, DOCUMENTED);
        assert_eq!(dedupe_key(DOCUMENTED.as_bytes()), dedupe_key(reserialised.as_bytes()));
        let other = DOCUMENTED.replace("7327112393057371910", "7327112393057371911");
        assert_ne!(dedupe_key(DOCUMENTED.as_bytes()), dedupe_key(other.as_bytes()));
        // Without an id, the body is the identity; garbage still gets a key.
        let anonymous = br#"{"type":6,"timestamp":1}"#;
        assert_eq!(dedupe_key(anonymous), hex::encode(Sha256::digest(anonymous)));
        assert_eq!(dedupe_key(b"\xff\xfe").len(), 64);
        assert_eq!(dedupe_key(DOCUMENTED.as_bytes()).len(), 64);
    }
}
