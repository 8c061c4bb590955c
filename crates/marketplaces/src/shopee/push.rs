//! Parsing a Shopee push body into a typed value. Runs on the acknowledgement path, so it is pure and
//! cheap, and any input (truncated, garbled, unknown code) gives a value or a specific error, never a panic.
//! An error is never Shopee's problem: the push is still stored (as a failed inbox item) and answered 2xx.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{OrderSn, ShopId};
use shoprelay_core::order::OrderStatus;

/// A parsed push: the envelope fields every push shares, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopeePush {
    /// The push code (3 = order status, …).
    pub code: i64,
    /// The top-level `shop_id`, for shop-scoped pushes.
    pub shop_id: Option<ShopId>,
    /// Unix seconds Shopee stamped the push with (absent on the verification push).
    pub timestamp: Option<i64>,
    /// Shopee's own message id, sent by live pushes.
    pub msg_id: Option<String>,
    /// What the push says.
    pub body: PushBody,
}

/// The content of a push, by code.
#[derive(Debug, Clone, PartialEq)]
pub enum PushBody {
    /// Code 0: Shopee checking the callback URL when it is set.
    Verification {
        /// Shopee's `data.verify_info` text.
        verify_info: Option<String>,
    },
    /// Code 1: a seller authorized the app for a shop or a main account.
    ShopAuthorized {
        /// The shop, when a shop (not a main account) was authorized.
        shop_id: Option<ShopId>,
        /// The main account, when one was authorized.
        main_account_id: Option<u64>,
        /// The partner the push is for.
        partner_id: Option<u64>,
        /// Shopee's `success` flag (1 on success).
        success: Option<i64>,
        /// Shopee's free-form `extra` text.
        extra: Option<String>,
    },
    /// Code 2: the authorization of a shop was cancelled.
    ShopDeauthorized {
        /// The shop (from `shop_id` or the `shopid` some samples send).
        shop_id: ShopId,
    },
    /// Code 3: an order moved to a status.
    OrderStatus {
        /// The shop.
        shop_id: ShopId,
        /// The order (`data.ordersn`).
        order_sn: OrderSn,
        /// The new status.
        status: OrderStatus,
        /// Unix seconds of the change (`data.update_time`, else the push timestamp).
        update_time: i64,
        /// Why an order completed, when Shopee says (`null` and `""` both read as none).
        completed_scenario: Option<String>,
    },
    /// Code 4: the carrier assigned a tracking number.
    TrackingNumber {
        /// The shop.
        shop_id: ShopId,
        /// The order (`data.ordersn`).
        order_sn: OrderSn,
        /// Shopee's package number.
        package_number: Option<String>,
        /// The tracking number.
        tracking_no: String,
    },
    /// Code 10: a chat message or notification.
    Webchat {
        /// The shop.
        shop_id: ShopId,
        /// The message, when `data.type` is `message` (notifications carry none).
        message: Option<ChatMessage>,
    },
    /// Code 12: authorizations that end soon.
    AuthorizationExpiring {
        /// Shops whose authorization ends soon.
        shop_ids: Vec<ShopId>,
        /// Merchants whose authorization ends soon.
        merchant_ids: Vec<u64>,
        /// Unix seconds before which they end.
        expire_before: Option<i64>,
    },
    /// Any other code: kept for the audit log, never an error.
    Other {
        /// The push code.
        code: i64,
    },
}

/// A buyer-chat message from a code-10 push.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// Shopee's message id (sent as a string or a number).
    pub message_id: String,
    /// The conversation it belongs to.
    pub conversation_id: String,
    /// Sender's user id.
    pub from_id: Option<u64>,
    /// Sender's display name.
    pub from_user_name: String,
    /// Recipient's user id (the shop for a buyer's message).
    pub to_id: Option<u64>,
    /// `text`, `image`, `video`, `item`, `order`, `sticker`, …
    pub message_type: String,
    /// The text of a `text` message.
    pub text: Option<String>,
    /// Unix seconds the message was sent.
    pub created_timestamp: Option<i64>,
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
        /// Dotted path of the field, e.g. `data.ordersn`.
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

impl ShopeePush {
    /// The times the push claims, by field: its envelope `timestamp` and, for an order, the change's
    /// `data.update_time` — each one a forged push could use to look newer than the real ones.
    pub fn times(&self) -> Vec<(&'static str, UnixMs)> {
        let mut times: Vec<(&'static str, UnixMs)> = self
            .timestamp
            .map(|t| ("timestamp", UnixMs::from_secs(t)))
            .into_iter()
            .collect();
        if let PushBody::OrderStatus { update_time, .. } = &self.body {
            times.push(("data.update_time", UnixMs::from_secs(*update_time)));
        }
        times
    }

    /// Parses the raw body of a push (after its signature was verified).
    pub fn parse(raw: &[u8]) -> Result<ShopeePush, PushParseError> {
        let value: Value = serde_json::from_slice(raw).map_err(PushParseError::NotJson)?;
        let top = value.as_object().ok_or(PushParseError::Invalid {
            field: "(body)",
            expected: "a JSON object",
        })?;
        let code = get_i64(top, "code", "code")?.ok_or(PushParseError::Missing { field: "code" })?;
        // Some samples spell it `shopid`: accept both.
        let shop_id = match get_shop_id(top, "shop_id", "shop_id")? {
            Some(id) => Some(id),
            None => get_shop_id(top, "shopid", "shopid")?,
        };
        let timestamp = get_i64(top, "timestamp", "timestamp")?;
        let msg_id = get_id_string(top, "msg_id", "msg_id")?;
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
        let body = match code {
            0 => PushBody::Verification {
                verify_info: get_str(data, "verify_info", "data.verify_info")?,
            },
            1 => PushBody::ShopAuthorized {
                // Shopee writes 0 for "none" here: a main-account authorization has shop_id 0.
                shop_id: match get_positive(data, "shop_id", "data.shop_id")? {
                    Some(id) => Some(to_shop_id(id, "data.shop_id")?),
                    None => shop_id,
                },
                main_account_id: get_positive(data, "main_account_id", "data.main_account_id")?,
                partner_id: get_positive(top, "partner_id", "partner_id")?,
                success: get_i64(data, "success", "data.success")?,
                extra: get_str(data, "extra", "data.extra")?,
            },
            2 => PushBody::ShopDeauthorized {
                shop_id: deauthorized_shop(top, data)?,
            },
            3 => PushBody::OrderStatus {
                shop_id: shop()?,
                order_sn: order_sn(data)?,
                status: super::status::order_status(&req_str(data, "status", "data.status")?),
                update_time: get_i64(data, "update_time", "data.update_time")?.or(timestamp).ok_or(
                    PushParseError::Missing {
                        field: "data.update_time",
                    },
                )?,
                completed_scenario: get_str(data, "completed_scenario", "data.completed_scenario")?
                    .filter(|s| !s.is_empty()),
            },
            4 => PushBody::TrackingNumber {
                shop_id: shop()?,
                order_sn: order_sn(data)?,
                package_number: get_str(data, "package_number", "data.package_number")?.filter(|s| !s.is_empty()),
                tracking_no: req_str(data, "tracking_no", "data.tracking_no")?,
            },
            10 => webchat(shop_id, data)?,
            12 => PushBody::AuthorizationExpiring {
                shop_ids: id_list(data, "shop_expire_soon", "data.shop_expire_soon")?
                    .into_iter()
                    .map(|id| to_shop_id(id, "data.shop_expire_soon"))
                    .collect::<Result<_, _>>()?,
                merchant_ids: id_list(data, "merchant_expire_soon", "data.merchant_expire_soon")?,
                expire_before: get_i64(data, "expire_before", "data.expire_before")?,
            },
            code => PushBody::Other { code },
        };
        Ok(ShopeePush {
            code,
            shop_id,
            timestamp,
            msg_id,
            body,
        })
    }
}

/// The identity of a push across Shopee's retries: its `msg_id`, else the hex SHA-256 of the raw body
/// (a retry resends the same bytes). Never fails, so even an unparseable body can be stored once.
pub fn dedupe_key(raw: &[u8]) -> String {
    let msg_id = serde_json::from_slice::<Value>(raw).ok().and_then(|v| {
        v.as_object()
            .and_then(|top| get_id_string(top, "msg_id", "msg_id").ok().flatten())
    });
    msg_id.unwrap_or_else(|| hex::encode(Sha256::digest(raw)))
}

fn deauthorized_shop(top: &Map<String, Value>, data: &Map<String, Value>) -> Result<ShopId, PushParseError> {
    let places = [
        (data, "shop_id", "data.shop_id"),
        (data, "shopid", "data.shopid"),
        (top, "shop_id", "shop_id"),
        (top, "shopid", "shopid"),
    ];
    for (map, key, field) in places {
        if let Some(id) = get_positive(map, key, field)? {
            return to_shop_id(id, field);
        }
    }
    Err(PushParseError::Missing { field: "data.shop_id" })
}

fn webchat(shop_id: Option<ShopId>, data: &Map<String, Value>) -> Result<PushBody, PushParseError> {
    let kind = req_str(data, "type", "data.type")?;
    let content = match data.get("content") {
        Some(Value::Object(map)) => Some(map),
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(PushParseError::Invalid {
                field: "data.content",
                expected: "a JSON object",
            })
        }
    };
    let shop_id = match (shop_id, content) {
        (Some(id), _) => id,
        (None, Some(c)) => match get_positive(c, "shop_id", "data.content.shop_id")? {
            Some(id) => to_shop_id(id, "data.content.shop_id")?,
            None => return Err(PushParseError::Missing { field: "shop_id" }),
        },
        (None, None) => return Err(PushParseError::Missing { field: "shop_id" }),
    };
    let message = match (kind.as_str(), content) {
        ("message", Some(c)) => Some(chat_message(c)?),
        ("message", None) => return Err(PushParseError::Missing { field: "data.content" }),
        _ => None,
    };
    Ok(PushBody::Webchat { shop_id, message })
}

fn chat_message(c: &Map<String, Value>) -> Result<ChatMessage, PushParseError> {
    let message_type = req_str(c, "message_type", "data.content.message_type")?;
    let text = match c.get("content") {
        Some(Value::Object(inner)) => get_str(inner, "text", "data.content.content.text")?,
        _ => None,
    };
    Ok(ChatMessage {
        message_id: get_id_string(c, "message_id", "data.content.message_id")?.ok_or(PushParseError::Missing {
            field: "data.content.message_id",
        })?,
        conversation_id: get_id_string(c, "conversation_id", "data.content.conversation_id")?.ok_or(
            PushParseError::Missing {
                field: "data.content.conversation_id",
            },
        )?,
        from_id: get_positive(c, "from_id", "data.content.from_id")?,
        from_user_name: get_str(c, "from_user_name", "data.content.from_user_name")?.unwrap_or_default(),
        to_id: get_positive(c, "to_id", "data.content.to_id")?,
        message_type,
        text,
        created_timestamp: get_i64(c, "created_timestamp", "data.content.created_timestamp")?,
    })
}

/// Pushes spell it `ordersn`, the API `order_sn`; a push in the API's spelling is read as well.
fn order_sn(data: &Map<String, Value>) -> Result<OrderSn, PushParseError> {
    let raw = match get_str(data, "ordersn", "data.ordersn")?.filter(|s| !s.is_empty()) {
        Some(raw) => raw,
        None => req_str(data, "order_sn", "data.ordersn")?,
    };
    OrderSn::parse(&raw).map_err(|_| PushParseError::Invalid {
        field: "data.ordersn",
        expected: "an order number",
    })
}

fn to_shop_id(id: u64, field: &'static str) -> Result<ShopId, PushParseError> {
    ShopId::new(id).map_err(|_| PushParseError::Invalid {
        field,
        expected: "a positive shop id",
    })
}

fn get_shop_id(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<ShopId>, PushParseError> {
    get_positive(map, key, field)?
        .map(|id| to_shop_id(id, field))
        .transpose()
}

/// A non-negative integer where 0 (Shopee's "none") reads as absent.
fn get_positive(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<u64>, PushParseError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(0) => Ok(None),
            Some(n) => Ok(Some(n)),
            None => Err(PushParseError::Invalid {
                field,
                expected: "a non-negative integer",
            }),
        },
    }
}

fn get_i64(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<i64>, PushParseError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(PushParseError::Invalid {
            field,
            expected: "an integer",
        }),
    }
}

fn get_str(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<String>, PushParseError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PushParseError::Invalid {
            field,
            expected: "a string",
        }),
    }
}

fn req_str(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<String, PushParseError> {
    match get_str(map, key, field)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(PushParseError::Missing { field }),
    }
}

/// An id Shopee sends sometimes as a string, sometimes as a number.
fn get_id_string(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<String>, PushParseError> {
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

fn id_list(map: &Map<String, Value>, key: &str, field: &'static str) -> Result<Vec<u64>, PushParseError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_u64().filter(|n| *n > 0))
            .collect::<Option<Vec<u64>>>()
            .ok_or(PushParseError::Invalid {
                field,
                expected: "a list of positive ids",
            }),
        Some(_) => Err(PushParseError::Invalid {
            field,
            expected: "a list of positive ids",
        }),
    }
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
