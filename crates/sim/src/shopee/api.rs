//! What every simulated API call shares: Shopee's answer envelope, and the checks of the common
//! parameters (partner, timestamp within 5 minutes, signature, access token) in Shopee's terms.

use std::collections::HashMap;

use super::sign::api_sign;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::state::{random_hex, Core};

/// The query string of a call.
pub(crate) type Query = HashMap<String, String>;

/// How far a call's `timestamp` may be from the simulator's clock.
const TIMESTAMP_WINDOW_SECS: i64 = 300;

/// A Shopee error answer: `{request_id, error, message}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) error: String,
    pub(crate) message: String,
}

/// Shopee's `error` of an answer, left on the response so the call log can read it.
#[derive(Debug, Clone)]
pub(crate) struct ErrorCode(pub(crate) String);

impl ApiError {
    pub(crate) fn new(error: &str, message: impl Into<String>) -> Self {
        Self {
            error: error.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn param(message: impl Into<String>) -> Self {
        Self::new("error_param", message)
    }

    /// Shopee documents no statuses; these are what its gateway is seen to send. Clients must not rely on them.
    fn status(&self) -> StatusCode {
        match self.error.as_str() {
            "error_param" | "invalid_code" => StatusCode::BAD_REQUEST,
            "error_server" | "error_network" => StatusCode::INTERNAL_SERVER_ERROR,
            "error_rate_limit" | "error_limit" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "request_id": random_hex(), "error": self.error, "message": self.message });
        let mut response = (self.status(), Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.error));
        response
    }
}

/// A success answer with the payload under `response`, and a `warning` when there is one.
pub(crate) fn ok(response: Value, warning: Option<String>) -> Response {
    let mut body = json!({ "request_id": random_hex(), "error": "", "message": "", "response": response });
    if let Some(warning) = warning {
        body["warning"] = warning.into();
    }
    Json(body).into_response()
}

/// A success answer as the lost-push reference samples show it: `"-"` in `error`, `message` and `warning`.
pub(crate) fn ok_dashed(response: Value) -> Response {
    let body =
        json!({ "request_id": random_hex(), "error": "-", "message": "-", "warning": "-", "response": response });
    Json(body).into_response()
}

/// A success answer with the fields at the top level (the token endpoints).
pub(crate) fn ok_top_level(fields: Value) -> Response {
    let mut body = json!({ "request_id": random_hex(), "error": "", "message": "" });
    if let (Some(top), Value::Object(fields)) = (body.as_object_mut(), fields) {
        top.extend(fields);
    }
    Json(body).into_response()
}

/// Checks a public (partner-level) call: partner, timestamp and `partner_id + path + timestamp` signature.
pub(crate) fn check_public(core: &Core, path: &str, q: &Query) -> Result<u64, ApiError> {
    let (partner_id, timestamp, sign) = common(q)?;
    let partner = core
        .partner(partner_id)
        .ok_or_else(|| ApiError::new("invalid_partner_id", "Invalid partner_id."))?;
    check_timestamp(core, timestamp)?;
    if api_sign(&partner.partner_key, partner_id, path, timestamp, None) != sign {
        return Err(ApiError::new("error_sign", "Wrong sign."));
    }
    Ok(partner_id)
}

/// Checks a shop-level call: as public, plus `access_token + shop_id` in the signature and a live token
/// that covers the shop. Returns the shop.
pub(crate) fn check_shop(core: &Core, path: &str, q: &Query) -> Result<u64, ApiError> {
    let (partner_id, timestamp, sign) = common(q)?;
    let partner = core
        .partner(partner_id)
        .ok_or_else(|| ApiError::new("invalid_partner_id", "Invalid partner_id."))?;
    check_timestamp(core, timestamp)?;
    let access_token = q
        .get("access_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::param("Missing access_token."))?;
    let shop_id = number(q, "shop_id")?.ok_or_else(|| ApiError::param("Missing shop_id."))?;
    if api_sign(
        &partner.partner_key,
        partner_id,
        path,
        timestamp,
        Some((access_token, shop_id)),
    ) != sign
    {
        return Err(ApiError::new("error_sign", "Wrong sign."));
    }
    core.state()
        .check_access_token(access_token, partner_id, shop_id, core.now())?;
    Ok(shop_id)
}

fn common(q: &Query) -> Result<(u64, i64, &str), ApiError> {
    let partner_id = number(q, "partner_id")?.ok_or_else(|| ApiError::param("Missing partner_id."))?;
    let timestamp = number(q, "timestamp")?.ok_or_else(|| ApiError::param("Missing timestamp."))?;
    let sign = q
        .get("sign")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::param("Missing sign."))?;
    Ok((partner_id, timestamp, sign))
}

fn check_timestamp(core: &Core, timestamp: i64) -> Result<(), ApiError> {
    if (core.signing_now() - timestamp).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(ApiError::param("Timestamp is expired."));
    }
    Ok(())
}

/// An optional numeric query parameter; present but not a number is Shopee's error_param.
pub(crate) fn number<T: std::str::FromStr>(q: &Query, key: &str) -> Result<Option<T>, ApiError> {
    match q.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|_| ApiError::param(format!("Invalid {key}."))),
    }
}
