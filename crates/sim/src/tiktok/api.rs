//! What every simulated API call shares: its query, access-token header and body, TikTok's envelope, the
//! checks of the common parameters (app key, timestamp, signature, token), and the one handler behind
//! every API route (faults first, as a failing gateway, then routing, then the call log).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::faults::ApiFault;
use super::sign::api_sign;
use super::state::{random_token, ApiCall, Core, Shared};
use super::{oauth, orders, search};

/// TikTok's code for a bad signature.
pub const INVALID_SIGN: i64 = 106_001;
/// TikTok's code for an expired (here also: unknown, revoked, spent) token.
pub const TOKEN_EXPIRED: i64 = 105_002;
/// The simulator's code for a missing or malformed parameter, an unknown path, a stale timestamp, a wrong
/// app key or code, a shop cipher not of the token's seller: the shared facts name none for these.
pub const INVALID_REQUEST: i64 = 36_009_004;

/// An API call: where it went and everything it carried.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) path: String,
    pub(crate) method: String,
    pub(crate) query: BTreeMap<String, String>,
    /// The `x-tts-access-token` header.
    pub(crate) access_token: Option<String>,
    pub(crate) body: Bytes,
}

impl Call {
    /// A parameter, when present and not empty.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A mandatory parameter.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.param(name)
            .ok_or_else(|| ApiError::new(INVALID_REQUEST, format!("{name} is required")))
    }
}

impl<S: Send + Sync> FromRequest<S> for Call {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let method = request.method().to_string();
        let access_token = request
            .headers()
            .get("x-tts-access-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            path,
            method,
            query: url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
            access_token,
            body,
        })
    }
}

/// A TikTok error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn token_expired() -> Self {
        Self::new(TOKEN_EXPIRED, "Access token is expired, please refresh it")
    }
}

/// TikTok's request ids: a timestamp-like prefix and hex.
fn request_id() -> String {
    random_token()[4..30].to_uppercase()
}

/// The envelope of an answer, and its `code` for the call log. Errors come with HTTP 200 too: the body
/// alone tells success from failure.
fn respond(answer: Result<Value, ApiError>) -> (Response, i64) {
    let (body, code) = match answer {
        Ok(data) => (
            json!({"code": 0, "message": "Success", "data": data, "request_id": request_id()}),
            0,
        ),
        Err(e) => (
            json!({"code": e.code, "message": e.message, "data": {}, "request_id": request_id()}),
            e.code,
        ),
    };
    (Json(body).into_response(), code)
}

/// Checks the common query of a signed call: `app_key`, a `timestamp` (unix seconds) from 5 minutes
/// before the simulator's clock to 30 seconds after it, and the `sign`.
pub(crate) fn check_signed(core: &Core, call: &Call) -> Result<(), ApiError> {
    if call.required("app_key")? != core.config.app_key {
        return Err(ApiError::new(INVALID_REQUEST, "app_key is invalid"));
    }
    let timestamp: i64 = call
        .required("timestamp")?
        .parse()
        .map_err(|_| ApiError::new(INVALID_REQUEST, "timestamp is invalid"))?;
    let now = core.now_ms().div_euclid(1000);
    if timestamp < now - core.config.timestamp_past_secs || timestamp > now + core.config.timestamp_future_secs {
        return Err(ApiError::new(INVALID_REQUEST, "timestamp is out of the allowed range"));
    }
    let sign = call.required("sign")?;
    if api_sign(&core.config.app_secret, &call.path, &call.query, &call.body) != sign {
        return Err(ApiError::new(INVALID_SIGN, "Invalid sign"));
    }
    Ok(())
}

/// Checks a shop call: signed, with a live token in `x-tts-access-token`. Returns the seller's index.
pub(crate) fn check_seller(core: &Core, call: &Call) -> Result<usize, ApiError> {
    check_signed(core, call)?;
    let token = call.access_token.as_deref().ok_or_else(ApiError::token_expired)?;
    let now = core.now_ms();
    core.state()
        .access_tokens
        .get(token)
        .filter(|t| t.expires_at_ms > now)
        .map(|t| t.seller)
        .ok_or_else(ApiError::token_expired)
}

/// Every API call.
pub(crate) async fn handle(State(core): State<Shared>, call: Call) -> Response {
    let fault = core.state().faults.take(&call.path);
    let (response, code) = match fault {
        Some(ApiFault::Http { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = status.canonical_reason().unwrap_or("Server Error");
            ((status, text).into_response(), -i64::from(status.as_u16()))
        }
        Some(ApiFault::Error { code, message }) => respond(Err(ApiError { code, message })),
        None => respond(route(&core, &call)),
    };
    core.state().calls.push(ApiCall {
        path: call.path,
        method: call.method,
        query: call.query,
        had_access_token: call.access_token.is_some(),
        code,
    });
    response
}

fn route(core: &Core, call: &Call) -> Result<Value, ApiError> {
    match (call.method.as_str(), call.path.as_str()) {
        ("GET", "/api/v2/token/get") => oauth::token_get(core, call),
        ("GET", "/api/v2/token/refresh") => oauth::token_refresh(core, call),
        ("GET", "/authorization/202309/shops") => oauth::shops(core, call),
        ("GET", "/order/202309/orders") => orders::get_orders(core, call),
        ("POST", "/order/202309/orders/search") => search::search_orders(core, call),
        _ => Err(ApiError::new(INVALID_REQUEST, "the path or method is not an API")),
    }
}
