//! What every simulated API call shares: its parameters (query string and form body alike), Lazada's
//! answer envelope, and the checks of the common parameters (app key, timestamp, signature, access token).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::sign::api_sign;
use super::state::{random_hex, Core};

/// An API call: where it went and every parameter it carried.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// The path after `/rest`, which is also what the signature covers, e.g. `/order/get`.
    pub(crate) api_path: String,
    /// The regional prefix's text (`sg` of `/sg/rest/…`), when there was one.
    pub(crate) prefix: Option<String>,
    pub(crate) method: String,
    pub(crate) params: BTreeMap<String, String>,
}

impl Call {
    /// A parameter, when present and not empty.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A mandatory parameter, or Lazada's `MissingParameter`.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.param(name).ok_or_else(|| ApiError::missing(name))
    }
}

impl<S: Send + Sync> FromRequest<S> for Call {
    type Rejection = Response;

    /// Lazada's SDKs send GET parameters in the query and POST ones in a form body; both count alike.
    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let method = request.method().to_string();
        let form = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut params: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        if form {
            params.extend(url::form_urlencoded::parse(&body).into_owned());
        }
        // The routes are `/rest/{*path}` and `/{region}/rest/{*path}`, so `/rest/` is always there.
        let (prefix, rest) = path.split_once("/rest/").unwrap_or(("", &path));
        let prefix = prefix.trim_start_matches('/');
        Ok(Self {
            api_path: format!("/{rest}"),
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            method,
            params,
        })
    }
}

/// Who is at fault, in Lazada's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ErrorType {
    /// The caller (the app): bad parameters, signature, token.
    Isv,
    /// The API's service provider.
    Isp,
    /// The gateway itself.
    System,
}

/// A Lazada error answer: `{"type","code","message","request_id"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) kind: ErrorType,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn isv(code: &str, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Isv,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn missing(name: &str) -> Self {
        Self::isv(
            "MissingParameter",
            format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied"),
        )
    }

    pub(crate) fn invalid(name: &str) -> Self {
        Self::isv("InvalidParameter", format!("The input parameter \"{name}\" is invalid"))
    }

    pub(crate) fn illegal_access_token() -> Self {
        Self::isv("IllegalAccessToken", "The specified access token is invalid or expired")
    }

    pub(crate) fn illegal_refresh_token() -> Self {
        Self::isv(
            "IllegalRefreshToken",
            "The specified refresh token is invalid or expired",
        )
    }
}

/// What a successful call answers.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The payload under `data` (the order APIs).
    Data(Value),
    /// The payload's fields at the top level, next to `code` (the token APIs).
    TopLevel(Value),
}

/// Lazada's request ids: 25 hex digits, e.g. `0ba2887315178178017221014`.
fn request_id() -> String {
    random_hex()[..25].to_owned()
}

/// The JSON response of an answer, and its `code` for the call log. Lazada answers errors with HTTP 200
/// and the error in the body, so the body alone tells success from failure.
pub(crate) fn respond(answer: Result<Answer, ApiError>) -> (Response, String) {
    let (body, code) = match answer {
        Ok(Answer::Data(data)) => (
            json!({ "code": "0", "data": data, "request_id": request_id() }),
            "0".into(),
        ),
        Ok(Answer::TopLevel(fields)) => {
            let mut body = json!({ "code": "0", "request_id": request_id() });
            if let (Some(top), Value::Object(fields)) = (body.as_object_mut(), fields) {
                top.extend(fields);
            }
            (body, "0".into())
        }
        Err(e) => {
            let body = json!({ "type": e.kind, "code": e.code, "message": e.message, "request_id": request_id() });
            (body, e.code)
        }
    };
    (Json(body).into_response(), code)
}

/// Checks the common parameters of every call: `app_key`, `sign_method=sha256`, a `timestamp` (ms) near
/// the simulator's clock, and the `sign`.
pub(crate) fn check_signed(core: &Core, call: &Call) -> Result<(), ApiError> {
    if call.required("app_key")? != core.config.app_key {
        return Err(ApiError::isv("InvalidAppKey", "The specified app key is invalid"));
    }
    let timestamp: i64 = call
        .required("timestamp")?
        .parse()
        .map_err(|_| ApiError::invalid("timestamp"))?;
    // The code is the simulator's: the protocol notes name none for a stale timestamp.
    if (core.now_ms() - timestamp).abs() > core.config.timestamp_window_secs * 1000 {
        return Err(ApiError::isv(
            "InvalidTimestamp",
            "The timestamp is too far from the server time",
        ));
    }
    let sign = call.required("sign")?;
    if call.required("sign_method")? != "sha256"
        || api_sign(&core.config.app_secret, &call.api_path, &call.params) != sign
    {
        return Err(ApiError::isv(
            "IncompleteSignature",
            "The request signature does not conform to lazop standards",
        ));
    }
    Ok(())
}

/// Checks a seller call: signed, with a live `access_token`. Returns the seller account's index.
pub(crate) fn check_seller(core: &Core, call: &Call) -> Result<usize, ApiError> {
    check_signed(core, call)?;
    let token = call.required("access_token")?;
    let now = core.now_ms();
    core.state()
        .access_tokens
        .get(token)
        .filter(|t| t.expires_at_ms > now)
        .map(|t| t.account)
        .ok_or_else(ApiError::illegal_access_token)
}
