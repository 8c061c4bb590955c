//! The Lazada Open Platform API client: signs every call, and reads Lazada's envelope `code` whatever the
//! HTTP status (`"0"` is success; anything else is an error with a `type`). Timeouts are the caller's
//! `reqwest::Client`'s, so one client configuration governs every call; the time every signature
//! carries is the shared clock's, so tests and simulators agree on it.
//!
//! Token calls go to `auth_base` as form POSTs, keeping the code and the refresh token out of URLs that
//! proxies log; seller calls are GETs to the host of the seller's country.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use shoprelay_clock::SharedClock;
use shoprelay_core::ids::OrderSn;
use shoprelay_core::secret::Secret;

use super::auth::authorize_url;
use super::error::{ApiErrorType, LazadaError};
use super::model::{LazadaAppConfig, LazadaOrder, LazadaOrderItem, OrdersPage, TokenAnswer, TokenGrant};
use super::region::LazadaRegion;
use super::sign::{api_sign, SIGN_PARAM};

const TOKEN_CREATE: &str = "/auth/token/create";
const TOKEN_REFRESH: &str = "/auth/token/refresh";
const ORDER_GET: &str = "/order/get";
const ORDER_ITEMS_GET: &str = "/order/items/get";
const ORDERS_GET: &str = "/orders/get";

/// Lazada's cap on `limit` of `/orders/get`.
pub const ORDERS_PAGE_MAX: u32 = 100;

/// Where an answer's payload sits: token endpoints answer at the top level, the rest under `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    TopLevel,
    Data,
}

/// How a call travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// Parameters in the query string.
    Get,
    /// Parameters as an `application/x-www-form-urlencoded` body.
    PostForm,
}

/// One call, signed: the URL without a query, and every parameter including `sign`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SignedRequest {
    url: String,
    params: Vec<(String, String)>,
}

/// The Lazada API client. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct LazadaClient {
    http: reqwest::Client,
    clock: SharedClock,
}

impl LazadaClient {
    /// Wraps a `reqwest::Client`, whose timeouts bound every call, and the clock signatures are dated by.
    pub fn new(http: reqwest::Client, clock: SharedClock) -> Self {
        Self { http, clock }
    }

    /// The link a seller opens to authorize `app`; the code comes back to `redirect_uri`.
    pub fn authorize_url(&self, app: &LazadaAppConfig, redirect_uri: &str) -> String {
        authorize_url(&app.auth_base, &app.app_key, redirect_uri)
    }

    /// Exchanges the single-use `code` of an authorization redirect (valid 30 minutes) for tokens.
    pub async fn create_token(&self, app: &LazadaAppConfig, code: &str) -> Result<TokenGrant, LazadaError> {
        let params = [("code", code.to_owned())];
        let request = sign_request(
            app,
            &app.auth_base,
            TOKEN_CREATE,
            None,
            &params,
            self.clock.now().as_millis(),
        );
        let answer: TokenAnswer = self.call(request, Method::PostForm, Shape::TopLevel).await?;
        answer.into_grant()
    }

    /// Trades a refresh token for a new access token (and refresh token).
    pub async fn refresh_token(
        &self,
        app: &LazadaAppConfig,
        refresh_token: &Secret,
    ) -> Result<TokenGrant, LazadaError> {
        let params = [("refresh_token", refresh_token.expose().to_owned())];
        let request = sign_request(
            app,
            &app.auth_base,
            TOKEN_REFRESH,
            None,
            &params,
            self.clock.now().as_millis(),
        );
        let answer: TokenAnswer = self.call(request, Method::PostForm, Shape::TopLevel).await?;
        answer.into_grant()
    }

    /// One order (`trade_order_id` of a push).
    pub async fn get_order(
        &self,
        app: &LazadaAppConfig,
        region: LazadaRegion,
        access_token: &Secret,
        order_id: &OrderSn,
    ) -> Result<LazadaOrder, LazadaError> {
        let params = [("order_id", order_id.as_str().to_owned())];
        self.seller_call(app, region, access_token, ORDER_GET, &params).await
    }

    /// The lines of one order: one per unit, each with its own status and tracking.
    pub async fn get_order_items(
        &self,
        app: &LazadaAppConfig,
        region: LazadaRegion,
        access_token: &Secret,
        order_id: &OrderSn,
    ) -> Result<Vec<LazadaOrderItem>, LazadaError> {
        let params = [("order_id", order_id.as_str().to_owned())];
        self.seller_call(app, region, access_token, ORDER_ITEMS_GET, &params)
            .await
    }

    /// One page of the orders updated after `update_after` (unix seconds), oldest update first, so that
    /// paging by `offset` while new updates arrive only appends to the end; `limit` is capped at
    /// [`ORDERS_PAGE_MAX`].
    pub async fn orders_updated_since(
        &self,
        app: &LazadaAppConfig,
        region: LazadaRegion,
        access_token: &Secret,
        update_after: i64,
        offset: u32,
        limit: u32,
    ) -> Result<OrdersPage, LazadaError> {
        let params = orders_query(update_after, offset, limit);
        self.seller_call(app, region, access_token, ORDERS_GET, &params).await
    }

    async fn seller_call<T: DeserializeOwned>(
        &self,
        app: &LazadaAppConfig,
        region: LazadaRegion,
        access_token: &Secret,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, LazadaError> {
        let base = app.api_base(region);
        let token = Some(access_token.expose());
        let request = sign_request(app, base, path, token, params, self.clock.now().as_millis());
        self.call(request, Method::Get, Shape::Data).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: SignedRequest,
        method: Method,
        shape: Shape,
    ) -> Result<T, LazadaError> {
        let SignedRequest { url, params } = request;
        let builder = match method {
            Method::Get => self.http.get(&url).query(&params),
            Method::PostForm => self.http.post(&url).form(&params),
        };
        // The query can carry the access token: keep the URL out of errors and logs.
        let transport = |e: reqwest::Error| LazadaError::Transport {
            source: e.without_url(),
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        decode(status, &bytes, shape).inspect_err(|e| tracing::debug!(%url, error = %e, "Lazada call failed"))
    }
}

/// The common parameters (`app_key`, `timestamp` in ms, `sign_method`, `access_token` for seller
/// calls), the call's own, and the `sign` over all of them.
fn sign_request(
    app: &LazadaAppConfig,
    base: &str,
    path: &str,
    access_token: Option<&str>,
    params: &[(&str, String)],
    now_ms: i64,
) -> SignedRequest {
    let mut all: Vec<(String, String)> = vec![
        ("app_key".into(), app.app_key.clone()),
        ("timestamp".into(), now_ms.to_string()),
        ("sign_method".into(), "sha256".into()),
    ];
    if let Some(token) = access_token {
        all.push(("access_token".into(), token.to_owned()));
    }
    all.extend(params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let sign = api_sign(app.app_secret.expose(), path, &all);
    all.push((SIGN_PARAM.into(), sign));
    SignedRequest {
        url: format!("{}{path}", base.trim_end_matches('/')),
        params: all,
    }
}

/// The query of `/orders/get` for one page of orders updated after `update_after`.
fn orders_query(update_after: i64, offset: u32, limit: u32) -> [(&'static str, String); 5] {
    // A time beyond chrono's range (hundreds of millennia) is a caller's bug; the epoch asks for
    // everything, which fails safe: more orders, never fewer.
    let after = DateTime::<Utc>::from_timestamp(update_after, 0).unwrap_or(DateTime::UNIX_EPOCH);
    [
        ("update_after", after.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()),
        ("sort_by", "updated_at".to_owned()),
        ("sort_direction", "ASC".to_owned()),
        ("offset", offset.to_string()),
        ("limit", limit.clamp(1, ORDERS_PAGE_MAX).to_string()),
    ]
}

/// Reads an answer: a non-`"0"` `code` wins over the HTTP status, then the status, then the payload.
fn decode<T: DeserializeOwned>(status: u16, bytes: &[u8], shape: Shape) -> Result<T, LazadaError> {
    let success = (200..300).contains(&status);
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) if !success => return Err(http_error(status, bytes)),
        Err(source) => return Err(LazadaError::BadJson { source }),
    };
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Some(code) = text("code").filter(|code| code != "0") {
        return Err(LazadaError::Api {
            kind: ApiErrorType::parse(value.get("type").and_then(Value::as_str)),
            code,
            message: text("message").unwrap_or_default(),
            request_id: text("request_id"),
        });
    }
    if !success {
        return Err(http_error(status, bytes));
    }
    let payload = match (shape, value) {
        (Shape::TopLevel, value) => value,
        (Shape::Data, Value::Object(mut top)) => top.remove("data").unwrap_or(Value::Null),
        (Shape::Data, _) => Value::Null,
    };
    serde_json::from_value(payload).map_err(|source| LazadaError::BadJson { source })
}

fn http_error(status: u16, bytes: &[u8]) -> LazadaError {
    LazadaError::Http {
        status,
        body: String::from_utf8_lossy(bytes).chars().take(200).collect(),
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
