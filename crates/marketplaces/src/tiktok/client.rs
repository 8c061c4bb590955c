//! The TikTok Shop Partner API client: signs every call, and reads TikTok's envelope `code` whatever the
//! HTTP status (0 is success). Timeouts are the caller's `reqwest::Client`'s; the time every signature
//! carries is the shared clock's, so tests and simulators agree on it.
//!
//! Token calls go to `auth_base` unsigned, with the app secret in the query as TikTok documents them; shop
//! calls go to `api_base`, signed, with the access token in the `x-tts-access-token` header (never in the
//! URL) and the shop's `shop_cipher` in the query. A POST (the order search) carries its parameters as a
//! JSON body, which the signature covers byte for byte.
//!
//! Where the order search's facts come from: `GET /order/202309/orders` and the signing are in the shared
//! protocol facts; the Order Search API (`POST /order/202309/orders/search`, query `page_size`,
//! `page_token`, `sort_field`, `sort_order`, body `update_time_ge` / `update_time_lt` in unix seconds, answer
//! `data.orders[]` with `id`, `status`, `update_time` and `data.next_page_token`, empty on the last page) is
//! from TikTok Shop's public Partner Center documentation of the 202309 order API.

use serde::de::DeserializeOwned;
use serde_json::Value;
use shoprelay_clock::SharedClock;
use shoprelay_core::ids::OrderSn;
use shoprelay_core::secret::Secret;

use super::error::TiktokError;
use super::model::{
    AuthorizedShop, OrderSearchPage, OrdersAnswer, ShopsAnswer, TiktokAppConfig, TiktokOrder, TokenAnswer, TokenGrant,
};
use super::sign::{api_sign, SIGN_PARAM};

const TOKEN_GET: &str = "/api/v2/token/get";
const TOKEN_REFRESH: &str = "/api/v2/token/refresh";
const SHOPS: &str = "/authorization/202309/shops";
const ORDERS: &str = "/order/202309/orders";
const ORDER_SEARCH: &str = "/order/202309/orders/search";
/// The header shop calls carry their access token in.
pub const ACCESS_TOKEN_HEADER: &str = "x-tts-access-token";

/// TikTok's cap on the ids of one `GET /order/202309/orders`.
pub const ORDERS_PER_CALL: usize = 50;

/// Orders asked for per page of the order search (TikTok takes 1 to 100).
pub const SEARCH_PAGE_SIZE: u32 = 50;

/// The TikTok Shop API client. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct TiktokClient {
    http: reqwest::Client,
    clock: SharedClock,
}

impl TiktokClient {
    /// Wraps a `reqwest::Client`, whose timeouts bound every call, and the clock signatures are dated by.
    pub fn new(http: reqwest::Client, clock: SharedClock) -> Self {
        Self { http, clock }
    }

    /// The link a seller opens to authorize the app's service. TikTok sends the seller back to the
    /// redirect URL registered for the service, with `code` and this `state`.
    pub fn authorize_url(&self, app: &TiktokAppConfig, state: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("service_id", &app.service_id)
            .append_pair("state", state)
            .finish();
        format!("{}/open/authorize?{query}", app.authorize_base.trim_end_matches('/'))
    }

    /// Exchanges the code of an authorization redirect (valid 30 minutes) for tokens.
    pub async fn get_token(&self, app: &TiktokAppConfig, code: &str) -> Result<TokenGrant, TiktokError> {
        let query = [
            ("app_key", app.app_key.as_str()),
            ("app_secret", app.app_secret.expose()),
            ("auth_code", code),
            ("grant_type", "authorized_code"),
        ];
        self.token_call(app, TOKEN_GET, &query).await
    }

    /// Trades a refresh token for a new pair.
    pub async fn refresh_token(
        &self,
        app: &TiktokAppConfig,
        refresh_token: &Secret,
    ) -> Result<TokenGrant, TiktokError> {
        let query = [
            ("app_key", app.app_key.as_str()),
            ("app_secret", app.app_secret.expose()),
            ("refresh_token", refresh_token.expose()),
            ("grant_type", "refresh_token"),
        ];
        self.token_call(app, TOKEN_REFRESH, &query).await
    }

    /// The shops the seller's authorization covers, each with the `shop_cipher` its calls need.
    pub async fn shops(
        &self,
        app: &TiktokAppConfig,
        access_token: &Secret,
    ) -> Result<Vec<AuthorizedShop>, TiktokError> {
        let answer: ShopsAnswer = self.shop_call(app, access_token, SHOPS, None, &[], None).await?;
        Ok(answer.shops)
    }

    /// The orders of `ids` (at most [`ORDERS_PER_CALL`]) in the shop of `shop_cipher`.
    pub async fn orders(
        &self,
        app: &TiktokAppConfig,
        access_token: &Secret,
        shop_cipher: &str,
        ids: &[&OrderSn],
    ) -> Result<Vec<TiktokOrder>, TiktokError> {
        if ids.len() > ORDERS_PER_CALL {
            return Err(TiktokError::InvalidField {
                field: "ids",
                detail: format!("{} ids asked for, at most {ORDERS_PER_CALL} per call", ids.len()),
            });
        }
        let ids: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
        let params = [("ids", ids.join(","))];
        let answer: OrdersAnswer = self
            .shop_call(app, access_token, ORDERS, Some(shop_cipher), &params, None)
            .await?;
        Ok(answer.orders)
    }

    /// One page of the shop's orders updated in `since..until` (unix seconds, `until` excluded), oldest
    /// change first, from `page_token` on (the first page without one).
    pub async fn search_updated_orders(
        &self,
        app: &TiktokAppConfig,
        access_token: &Secret,
        shop_cipher: &str,
        since: i64,
        until: i64,
        page_token: Option<&str>,
    ) -> Result<OrderSearchPage, TiktokError> {
        let mut params = vec![
            ("page_size", SEARCH_PAGE_SIZE.to_string()),
            ("sort_field", "update_time".to_owned()),
            ("sort_order", "ASC".to_owned()),
        ];
        if let Some(token) = page_token.filter(|t| !t.is_empty()) {
            params.push(("page_token", token.to_owned()));
        }
        let body = serde_json::json!({ "update_time_ge": since, "update_time_lt": until }).to_string();
        self.shop_call(app, access_token, ORDER_SEARCH, Some(shop_cipher), &params, Some(body))
            .await
    }

    async fn token_call(
        &self,
        app: &TiktokAppConfig,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<TokenGrant, TiktokError> {
        let url = format!("{}{path}", app.auth_base.trim_end_matches('/'));
        let answer: TokenAnswer = self.send(self.http.get(&url).query(query), &url).await?;
        answer.into_grant(self.clock.now())
    }

    async fn shop_call<T: DeserializeOwned>(
        &self,
        app: &TiktokAppConfig,
        access_token: &Secret,
        path: &str,
        shop_cipher: Option<&str>,
        params: &[(&str, String)],
        body: Option<String>,
    ) -> Result<T, TiktokError> {
        let raw = body.as_deref().unwrap_or_default().as_bytes();
        let query = signed_query(app, path, shop_cipher, params, raw, self.clock.now().as_secs());
        let url = format!("{}{path}", app.api_base.trim_end_matches('/'));
        // The body is sent as the very bytes that were signed.
        let request = match body {
            Some(body) => self.http.post(&url).body(body),
            None => self.http.get(&url),
        };
        let request = request
            .query(&query)
            .header(ACCESS_TOKEN_HEADER, access_token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        self.send(request, &url).await
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder, url: &str) -> Result<T, TiktokError> {
        // Token calls carry the app secret and the codes in the query: keep URLs out of errors and logs.
        let transport = |e: reqwest::Error| TiktokError::Transport {
            source: e.without_url(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        decode(status, &bytes).inspect_err(|e| tracing::debug!(%url, error = %e, "TikTok Shop call failed"))
    }
}

/// The query of a shop call: `app_key`, `timestamp` (unix seconds), `shop_cipher` when the call is about
/// one shop, the call's own parameters, and the `sign` over all of them and the body (empty for a GET).
fn signed_query(
    app: &TiktokAppConfig,
    path: &str,
    shop_cipher: Option<&str>,
    params: &[(&str, String)],
    body: &[u8],
    now_secs: i64,
) -> Vec<(String, String)> {
    let mut query: Vec<(String, String)> = vec![
        ("app_key".into(), app.app_key.clone()),
        ("timestamp".into(), now_secs.to_string()),
    ];
    if let Some(cipher) = shop_cipher {
        query.push(("shop_cipher".into(), cipher.to_owned()));
    }
    query.extend(params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let sign = api_sign(app.app_secret.expose(), path, &query, body);
    query.push((SIGN_PARAM.into(), sign));
    query
}

/// Reads an answer: a non-zero `code` wins over the HTTP status, then the status, then `data`.
fn decode<T: DeserializeOwned>(status: u16, bytes: &[u8]) -> Result<T, TiktokError> {
    let success = (200..300).contains(&status);
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) if !success => return Err(http_error(status, bytes)),
        Err(source) => return Err(TiktokError::BadJson { source }),
    };
    let code = match value.get("code") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    match code {
        Some(0) => {}
        Some(code) => {
            return Err(TiktokError::Api {
                code,
                message: text("message").unwrap_or_default(),
                request_id: text("request_id"),
            })
        }
        None if !success => return Err(http_error(status, bytes)),
        None => {
            return Err(TiktokError::InvalidField {
                field: "code",
                detail: "missing from the answer".into(),
            })
        }
    }
    if !success {
        return Err(http_error(status, bytes));
    }
    let data = match value {
        Value::Object(mut top) => top.remove("data").unwrap_or(Value::Null),
        _ => Value::Null,
    };
    serde_json::from_value(data).map_err(|source| TiktokError::BadJson { source })
}

fn http_error(status: u16, bytes: &[u8]) -> TiktokError {
    TiktokError::Http {
        status,
        body: String::from_utf8_lossy(bytes).chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_clock::{ManualClock, UnixMs};
    use std::sync::Arc;

    fn app() -> TiktokAppConfig {
        TiktokAppConfig {
            id: shoprelay_core::ids::ConfigId::parse("tt").unwrap(),
            app_key: "29a39d".into(),
            app_secret: Secret::new("e59af819cc".to_owned()),
            service_id: "7100000000000000001".into(),
            api_base: "https://open-api.tiktokglobalshop.com/".into(),
            auth_base: "https://auth.tiktok-shops.com".into(),
            authorize_base: "https://services.tiktokshop.com".into(),
            push_url: None,
        }
    }

    #[test]
    fn the_shops_query_is_the_worked_example() {
        // The vector's request, as this client builds it: same parameters, same sign.
        let query = signed_query(&app(), SHOPS, None, &[], b"", 1_623_812_664);
        let names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["app_key", "timestamp", "sign"]);
        assert_eq!(
            query[2].1,
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
        let with_cipher = signed_query(
            &app(),
            ORDERS,
            Some("ROW_c1"),
            &[("ids", "1,2".into())],
            b"",
            1_623_812_664,
        );
        assert!(with_cipher.iter().any(|(k, v)| k == "shop_cipher" && v == "ROW_c1"));
        assert_eq!(
            with_cipher.last().map(|(_, v)| v.clone()),
            Some(api_sign(
                "e59af819cc",
                ORDERS,
                &[
                    ("app_key", "29a39d"),
                    ("timestamp", "1623812664"),
                    ("shop_cipher", "ROW_c1"),
                    ("ids", "1,2")
                ],
                b""
            ))
        );
    }

    #[test]
    fn a_search_is_signed_over_its_body() {
        let body = br#"{"update_time_ge":1,"update_time_lt":2}"#;
        let params = [("page_size", "50".to_owned())];
        let signed = signed_query(&app(), ORDER_SEARCH, Some("ROW_c1"), &params, body, 1_623_812_664);
        let unsigned: Vec<(String, String)> = signed.iter().filter(|(k, _)| k != "sign").cloned().collect();
        let sign = signed.last().map(|(_, v)| v.clone()).unwrap_or_default();
        assert_eq!(sign, api_sign("e59af819cc", ORDER_SEARCH, &unsigned, body));
        // The same query with another body signs differently.
        assert_ne!(sign, api_sign("e59af819cc", ORDER_SEARCH, &unsigned, b""));
    }

    #[test]
    fn the_authorize_link_names_the_service_and_state() {
        let clock: SharedClock = Arc::new(ManualClock::new(UnixMs::EPOCH));
        let client = TiktokClient::new(reqwest::Client::new(), clock);
        assert_eq!(
            client.authorize_url(&app(), "a b&c"),
            "https://services.tiktokshop.com/open/authorize?service_id=7100000000000000001&state=a+b%26c"
        );
    }

    #[test]
    fn the_envelope_code_decides_and_errors_are_typed() {
        let ok: Value = decode(
            200,
            br#"{"code":0,"message":"Success","data":{"x":1},"request_id":"r"}"#,
        )
        .unwrap();
        assert_eq!(ok, serde_json::json!({"x": 1}));
        let err = decode::<Value>(200, br#"{"code":106001,"message":"Invalid sign","request_id":"r1"}"#).unwrap_err();
        assert!(
            matches!(&err, TiktokError::Api { code: 106_001, request_id: Some(r), .. } if r == "r1"),
            "{err:?}"
        );
        let err = decode::<Value>(401, br#"{"code":"105002","message":"Access token is expired"}"#).unwrap_err();
        assert!(matches!(err, TiktokError::Api { code: 105_002, .. }), "{err:?}");
        assert!(matches!(
            decode::<Value>(503, b"<html>"),
            Err(TiktokError::Http { status: 503, .. })
        ));
        assert!(matches!(
            decode::<Value>(200, b"<html>"),
            Err(TiktokError::BadJson { .. })
        ));
        assert!(matches!(
            decode::<Value>(200, br#"{"data":{}}"#),
            Err(TiktokError::InvalidField { field: "code", .. })
        ));
        assert!(matches!(
            decode::<Value>(502, br#"{"code":0,"data":{}}"#),
            Err(TiktokError::Http { status: 502, .. })
        ));
    }
}
