//! The Shopee Open Platform API client: signs every call, and reads Shopee's JSON `error` field whatever
//! the HTTP status, since Shopee does not document its statuses. Timeouts are the caller's
//! `reqwest::Client`'s, so one client configuration governs every call.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{json, Value};
use shoprelay_clock::SharedClock;
use shoprelay_core::ids::{OrderSn, ShopId};
use shoprelay_core::policy::FieldPolicy;

use super::error::ShopeeError;
use super::model::{
    AuthTarget, LostPushPage, OrderDetail, OrderDetailAnswer, OrderListAnswer, OrderListPage, SentMessage, ShopeeApp,
    TokenAnswer, TokenGrant, TrackingInfo,
};
use super::sign::api_sign;

const AUTH_PARTNER: &str = "/api/v2/shop/auth_partner";
const TOKEN_GET: &str = "/api/v2/auth/token/get";
const ACCESS_TOKEN_GET: &str = "/api/v2/auth/access_token/get";
const ORDER_DETAIL: &str = "/api/v2/order/get_order_detail";
const ORDER_LIST: &str = "/api/v2/order/get_order_list";
const TRACKING_INFO: &str = "/api/v2/logistics/get_tracking_info";
const LOST_PUSH: &str = "/api/v2/push/get_lost_push_message";
const CONFIRM_LOST_PUSH: &str = "/api/v2/push/confirm_consumed_lost_push_message";
const SEND_MESSAGE: &str = "/api/v2/sellerchat/send_message";
const SHOP_INFO: &str = "/api/v2/shop/get_shop_info";

/// Optional order fields the notifications use; everything else stays at Shopee.
pub const ORDER_DETAIL_FIELDS: &str =
    "buyer_username,item_list,pay_time,total_amount,payment_method,shipping_carrier,package_list";
/// The optional field holding the recipient's name, phone and address.
pub const RECIPIENT_FIELD: &str = "recipient_address";
/// Shopee's cap on `order_sn_list`.
pub const ORDER_DETAIL_BATCH: usize = 50;

/// Where an answer's payload sits: token endpoints answer at the top level, the rest under `response`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    TopLevel,
    Response,
}

impl Shape {
    fn of(path: &str) -> Self {
        if path.starts_with("/api/v2/auth/") || path == SHOP_INFO {
            Shape::TopLevel
        } else {
            Shape::Response
        }
    }
}

/// The Shopee API client. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct ShopeeClient {
    http: reqwest::Client,
    clock: SharedClock,
}

impl ShopeeClient {
    /// Wraps a `reqwest::Client`, whose timeouts bound every call, and the clock signatures are dated by.
    pub fn new(http: reqwest::Client, clock: SharedClock) -> Self {
        Self { http, clock }
    }

    /// The signed link a seller opens to authorize the app; valid five minutes from `now` (unix seconds).
    pub fn auth_partner_url(&self, app: &ShopeeApp, redirect: &str, now: i64) -> String {
        let sign = api_sign(app.partner_key.expose(), app.partner_id, AUTH_PARTNER, now, None);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("partner_id", &app.partner_id.to_string())
            .append_pair("timestamp", &now.to_string())
            .append_pair("sign", &sign)
            .append_pair("redirect", redirect)
            .finish();
        format!("{}{AUTH_PARTNER}?{query}", base(app))
    }

    /// Exchanges the single-use `code` of an authorization redirect for tokens.
    pub async fn get_access_token(
        &self,
        app: &ShopeeApp,
        code: &str,
        target: AuthTarget,
    ) -> Result<TokenGrant, ShopeeError> {
        let mut body = json!({ "code": code, "partner_id": app.partner_id });
        match target {
            AuthTarget::Shop(shop_id) => body["shop_id"] = shop_id.get().into(),
            AuthTarget::MainAccount(id) => body["main_account_id"] = id.into(),
        }
        let answer: TokenAnswer = self.call(app, TOKEN_GET, None, &[], Some(body)).await?;
        answer.into_grant()
    }

    /// Trades a refresh token (single-use: it dies here) for a new access and refresh token.
    pub async fn refresh_access_token(
        &self,
        app: &ShopeeApp,
        refresh_token: &str,
        shop_id: ShopId,
    ) -> Result<TokenGrant, ShopeeError> {
        let body = json!({ "refresh_token": refresh_token, "partner_id": app.partner_id, "shop_id": shop_id.get() });
        let answer: TokenAnswer = self.call(app, ACCESS_TOKEN_GET, None, &[], Some(body)).await?;
        answer.into_grant()
    }

    /// Details of the given orders with [`ORDER_DETAIL_FIELDS`], in batches of [`ORDER_DETAIL_BATCH`]; the
    /// recipient only when `policy` keeps some of it, so personal data the shop does not keep is never
    /// even fetched.
    pub async fn get_order_detail(
        &self,
        app: &ShopeeApp,
        shop_id: ShopId,
        access_token: &str,
        order_sns: &[OrderSn],
        policy: &FieldPolicy,
    ) -> Result<Vec<OrderDetail>, ShopeeError> {
        let fields = if policy.wants_recipient() {
            format!("{ORDER_DETAIL_FIELDS},{RECIPIENT_FIELD}")
        } else {
            ORDER_DETAIL_FIELDS.to_owned()
        };
        let mut details = Vec::with_capacity(order_sns.len());
        for batch in order_sns.chunks(ORDER_DETAIL_BATCH) {
            let list = batch.iter().map(OrderSn::as_str).collect::<Vec<_>>().join(",");
            let query = [("order_sn_list", list), ("response_optional_fields", fields.clone())];
            let shop = Some((access_token, shop_id.get()));
            let answer: OrderDetailAnswer = self.call(app, ORDER_DETAIL, shop, &query, None).await?;
            details.extend(answer.order_list);
        }
        Ok(details)
    }

    /// A parcel's logistics status and trail (the source of logistics-exception events).
    pub async fn get_tracking_info(
        &self,
        app: &ShopeeApp,
        shop_id: ShopId,
        access_token: &str,
        order_sn: &OrderSn,
    ) -> Result<TrackingInfo, ShopeeError> {
        let query = [("order_sn", order_sn.as_str().to_owned())];
        self.call(app, TRACKING_INFO, Some((access_token, shop_id.get())), &query, None)
            .await
    }

    /// One page (100) of the orders updated between `time_from` and `time_to` (at most 15 days apart).
    pub async fn get_order_list(
        &self,
        app: &ShopeeApp,
        shop_id: ShopId,
        access_token: &str,
        time_from: i64,
        time_to: i64,
        cursor: Option<&str>,
    ) -> Result<OrderListPage, ShopeeError> {
        let mut query = vec![
            ("time_range_field", "update_time".to_owned()),
            ("time_from", time_from.to_string()),
            ("time_to", time_to.to_string()),
            ("page_size", "100".to_owned()),
            ("response_optional_fields", "order_status".to_owned()),
        ];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let shop = Some((access_token, shop_id.get()));
        let answer: OrderListAnswer = self.call(app, ORDER_LIST, shop, &query, None).await?;
        answer.into_page()
    }

    /// The earliest (up to 100) pushes of the last three days that Shopee failed to deliver.
    // Partner-level call with public signing (no access_token/shop_id); the API reference lists it as a
    // POST, though older guides show a GET.
    pub async fn get_lost_push_message(&self, app: &ShopeeApp) -> Result<LostPushPage, ShopeeError> {
        self.call(app, LOST_PUSH, None, &[], Some(json!({}))).await
    }

    /// Tells Shopee every lost push up to `last_message_id` was handled (public signing, as above).
    pub async fn confirm_consumed_lost_push_message(
        &self,
        app: &ShopeeApp,
        last_message_id: u64,
    ) -> Result<(), ShopeeError> {
        let body = json!({ "last_message_id": last_message_id });
        let _: IgnoredAny = self.call(app, CONFIRM_LOST_PUSH, None, &[], Some(body)).await?;
        Ok(())
    }

    /// Sends a text to a buyer in the shop's chat (whitelisted apps only; not in the TW region).
    pub async fn send_message(
        &self,
        app: &ShopeeApp,
        shop_id: ShopId,
        access_token: &str,
        to_id: u64,
        text: &str,
    ) -> Result<SentMessage, ShopeeError> {
        let body = json!({ "to_id": to_id, "message_type": "text", "content": { "text": text } });
        self.call(app, SEND_MESSAGE, Some((access_token, shop_id.get())), &[], Some(body))
            .await
    }

    /// The shop's `status` word (`NORMAL`, `BANNED`, `FROZEN`) from `get_shop_info`, whose fields sit at the
    /// top level of the answer.
    pub async fn get_shop_status(
        &self,
        app: &ShopeeApp,
        shop_id: ShopId,
        access_token: &str,
    ) -> Result<String, ShopeeError> {
        #[derive(serde::Deserialize)]
        struct ShopInfo {
            #[serde(default)]
            status: String,
        }
        let shop = Some((access_token, shop_id.get()));
        let info: ShopInfo = self.call(app, SHOP_INFO, shop, &[], None).await?;
        Ok(info.status)
    }

    /// One signed call: a GET with `query`, or (Shopee's convention) a POST when there is a JSON `body`.
    async fn call<T: DeserializeOwned>(
        &self,
        app: &ShopeeApp,
        path: &str,
        shop: Option<(&str, u64)>,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<T, ShopeeError> {
        let timestamp = self.clock.now().as_secs();
        let sign = api_sign(app.partner_key.expose(), app.partner_id, path, timestamp, shop);
        let mut common = vec![
            ("partner_id", app.partner_id.to_string()),
            ("timestamp", timestamp.to_string()),
            ("sign", sign),
        ];
        if let Some((access_token, id)) = shop {
            common.push(("access_token", access_token.to_owned()));
            common.push(("shop_id", id.to_string()));
        }
        let url = format!("{}{path}", base(app));
        let request = match body {
            Some(body) => self.http.post(url).json(&body),
            None => self.http.get(url),
        };
        let request = request.query(&common).query(query);
        // The URL carries the access token: keep it out of errors and logs.
        let transport = |e: reqwest::Error| ShopeeError::Transport {
            source: e.without_url(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        decode(status, &bytes, Shape::of(path)).inspect_err(|e| tracing::debug!(path, error = %e, "Shopee call failed"))
    }
}

/// Reads an answer: Shopee's `error` wins over the HTTP status, then the status, then the payload.
fn decode<T: DeserializeOwned>(status: u16, bytes: &[u8], shape: Shape) -> Result<T, ShopeeError> {
    let success = (200..300).contains(&status);
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) if !success => return Err(http_error(status, bytes)),
        Err(source) => return Err(ShopeeError::BadJson { source }),
    };
    // Some success samples (the lost-push API's) fill `error` and `message` with "-": that is no error.
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && *s != "-")
            .map(str::to_owned)
    };
    if let Some(error) = text("error") {
        return Err(ShopeeError::Api {
            error,
            message: text("message").unwrap_or_default(),
            request_id: text("request_id"),
        });
    }
    if !success {
        return Err(http_error(status, bytes));
    }
    let payload = match shape {
        Shape::TopLevel => value,
        Shape::Response => match value {
            Value::Object(mut top) => match top.remove("response") {
                Some(Value::Null) | None => Value::Object(Default::default()),
                Some(response) => response,
            },
            other => other,
        },
    };
    serde_json::from_value(payload).map_err(|source| ShopeeError::BadJson { source })
}

fn http_error(status: u16, bytes: &[u8]) -> ShopeeError {
    ShopeeError::Http {
        status,
        body: String::from_utf8_lossy(bytes).chars().take(200).collect(),
    }
}

fn base(app: &ShopeeApp) -> &str {
    app.api_base.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shopee::auth::TokenExpiry;
    use crate::shopee::error::Disposition;
    use shoprelay_core::secret::Secret;

    fn app() -> ShopeeApp {
        ShopeeApp {
            partner_id: 2001887,
            partner_key: Secret::new("4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f"),
            api_base: "http://sim/".into(),
        }
    }

    #[test]
    fn auth_link_is_signed_with_public_signing() {
        let url = ShopeeClient::new(
            reqwest::Client::new(),
            shoprelay_clock::ManualClock::new(shoprelay_clock::UnixMs::EPOCH).shared(),
        )
        .auth_partner_url(&app(), "https://relay.example.cn/cb?a=1", 1655714431);
        let sign = api_sign(
            "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f",
            2001887,
            AUTH_PARTNER,
            1655714431,
            None,
        );
        assert_eq!(
            url,
            format!(
                "http://sim/api/v2/shop/auth_partner?partner_id=2001887&timestamp=1655714431&sign={sign}&redirect=https%3A%2F%2Frelay.example.cn%2Fcb%3Fa%3D1"
            )
        );
    }

    #[test]
    fn the_error_field_wins_whatever_the_status() {
        let body = br#"{"request_id":"r9","error":"error_auth","message":"Invalid access_token.","response":{}}"#;
        for status in [200, 403, 500] {
            match decode::<IgnoredAny>(status, body, Shape::Response) {
                Err(ShopeeError::Api {
                    error,
                    message,
                    request_id,
                }) => {
                    assert_eq!(
                        (error.as_str(), message.as_str(), request_id.as_deref()),
                        ("error_auth", "Invalid access_token.", Some("r9"))
                    );
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        let e = decode::<IgnoredAny>(502, b"<html>bad gateway</html>", Shape::Response).unwrap_err();
        assert!(matches!(e, ShopeeError::Http { status: 502, .. }));
        assert_eq!(e.disposition(), Disposition::Retry);
        let e = decode::<IgnoredAny>(404, br#"{"error":"","message":""}"#, Shape::Response).unwrap_err();
        assert!(matches!(e, ShopeeError::Http { status: 404, .. }));
        let e = decode::<IgnoredAny>(200, b"<html>", Shape::Response).unwrap_err();
        assert!(matches!(e, ShopeeError::BadJson { .. }));
    }

    #[test]
    fn payload_shapes() {
        let list: OrderListAnswer = decode(
            200,
            br#"{"error":"","message":"","response":{"more":false,"order_list":[{"order_sn":"A1"}]}}"#,
            Shape::Response,
        )
        .unwrap();
        assert_eq!(list.into_page().unwrap().orders.len(), 1);
        let empty: OrderListAnswer = decode(200, br#"{"error":"","request_id":"x"}"#, Shape::Response).unwrap();
        let dashed: LostPushPage = decode(
            200,
            br#"{"request_id":"r","error":"-","message":"-","warning":"-","response":{"push_message_list":[],"has_next_page":false,"last_message_id":0}}"#,
            Shape::Response,
        )
        .unwrap();
        assert!(dashed.push_message_list.is_empty());
        assert!(empty.into_page().unwrap().orders.is_empty());
        let token: TokenAnswer = decode(
            200,
            br#"{"error":"","access_token":"a","refresh_token":"b","expire_in":14400,"shop_id_list":[1]}"#,
            Shape::TopLevel,
        )
        .unwrap();
        assert_eq!(token.into_grant().unwrap().expires, TokenExpiry::In(14400));
    }
}
