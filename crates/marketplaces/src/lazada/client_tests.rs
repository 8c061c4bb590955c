use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use serde::de::IgnoredAny;
use shoprelay_clock::{ManualClock, UnixMs};

use super::*;
use crate::lazada::error::Disposition;
use crate::lazada::sign::api_base_string;

const NOW_MS: i64 = 1517820392000;

fn app(api_base: Option<String>, auth_base: &str) -> LazadaAppConfig {
    LazadaAppConfig {
        id: "main".parse().unwrap(),
        app_key: "123456".into(),
        app_secret: Secret::new("helloworld"),
        api_base,
        auth_base: auth_base.into(),
        push_url: None,
    }
}

fn client() -> LazadaClient {
    LazadaClient::new(
        reqwest::Client::new(),
        ManualClock::new(UnixMs::from_millis(NOW_MS)).shared(),
    )
}

/// The request a test server received.
#[derive(Debug)]
struct Received {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    content_type: Option<String>,
}

impl Received {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Checks `sign` is the signature of everything else the request carried.
    fn assert_signed(&self, api_path: &str) {
        let sign = self.param("sign").expect("a sign parameter");
        assert_eq!(sign, api_sign("helloworld", api_path, &self.params), "{self:?}");
    }
}

/// A one-shot HTTP server answering each connection with the next of `answers`, reporting what it got.
fn serve(answers: Vec<(u16, &'static str)>) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (status, body) in answers {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap().to_owned();
            let target = parts.next().unwrap().to_owned();
            let (mut length, mut content_type) = (0usize, None);
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
            let mut form = vec![0; length];
            reader.read_exact(&mut form).unwrap();
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let mut params: Vec<(String, String)> =
                url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            params.extend(url::form_urlencoded::parse(&form).into_owned());
            tx.send(Received {
                method,
                path: path.to_owned(),
                params,
                content_type,
            })
            .unwrap();
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    (base, rx)
}

#[test]
fn requests_carry_the_common_parameters_and_reproduce_the_documented_sign() {
    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/marketplace-signatures.json"
    ));
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let vector = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["platform"] == "lazada" && v["kind"] == "api")
        .unwrap();
    // Lazada's worked example is exactly a `/order/get` for order 1234 with access token `test`.
    let app = app(None, DEFAULT_AUTH);
    let params = [("order_id", "1234".to_owned())];
    let signed = sign_request(
        &app,
        LazadaRegion::Sg.api_base(),
        ORDER_GET,
        Some("test"),
        &params,
        NOW_MS,
    );
    assert_eq!(signed.url, "https://api.lazada.sg/rest/order/get");
    let get = |name: &str| signed.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(get("app_key"), Some("123456"));
    assert_eq!(get("timestamp"), Some("1517820392000"));
    assert_eq!(get("sign_method"), Some("sha256"));
    assert_eq!(get("access_token"), Some("test"));
    assert_eq!(get("order_id"), Some("1234"));
    assert_eq!(api_base_string(ORDER_GET, &signed.params), vector["base_string"]);
    assert_eq!(get("sign"), vector["sign"].as_str());
    assert_eq!(signed.params.len(), 6);

    let token = sign_request(
        &app,
        DEFAULT_AUTH,
        TOKEN_CREATE,
        None,
        &[("code", "c0de".into())],
        NOW_MS,
    );
    assert_eq!(token.url, "https://auth.lazada.com/rest/auth/token/create");
    assert!(token.params.iter().all(|(k, _)| k != "access_token"));
}

const DEFAULT_AUTH: &str = crate::lazada::model::DEFAULT_AUTH_BASE;

#[test]
fn orders_query_asks_for_updates_in_order() {
    let query = orders_query(1486688400, 200, 500);
    assert_eq!(
        query.map(|(k, v)| format!("{k}={v}")),
        [
            "update_after=2017-02-10T01:00:00+00:00",
            "sort_by=updated_at",
            "sort_direction=ASC",
            "offset=200",
            "limit=100",
        ]
    );
    assert_eq!(orders_query(0, 0, 0)[4].1, "1");
    assert_eq!(orders_query(i64::MAX, 0, 10)[0].1, "1970-01-01T00:00:00+00:00");
}

#[test]
fn authorize_url_uses_the_app() {
    let url = client().authorize_url(&app(None, DEFAULT_AUTH), "https://relay.example.cn/cb");
    assert_eq!(
        url,
        "https://auth.lazada.com/oauth/authorize?response_type=code&force_auth=true&redirect_uri=https%3A%2F%2Frelay.example.cn%2Fcb&client_id=123456"
    );
}

#[test]
fn the_code_wins_whatever_the_status() {
    let body = br#"{"type":"ISV","code":"IllegalAccessToken","message":"The specified access token is invalid or expired","request_id":"0ba2887315178178017221014"}"#;
    for status in [200, 400, 500] {
        match decode::<IgnoredAny>(status, body, Shape::Data) {
            Err(e @ LazadaError::Api { .. }) => {
                assert_eq!(e.disposition(), Disposition::RefreshToken);
                let LazadaError::Api {
                    kind,
                    code,
                    message,
                    request_id,
                } = e
                else {
                    unreachable!()
                };
                assert_eq!(kind, ApiErrorType::Isv);
                assert_eq!(code, "IllegalAccessToken");
                assert!(message.contains("invalid or expired"));
                assert_eq!(request_id.as_deref(), Some("0ba2887315178178017221014"));
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    let e = decode::<IgnoredAny>(502, b"<html>bad gateway</html>", Shape::Data).unwrap_err();
    assert!(matches!(e, LazadaError::Http { status: 502, .. }));
    assert_eq!(e.disposition(), Disposition::Retry);
    let e = decode::<IgnoredAny>(404, br#"{"code":"0"}"#, Shape::Data).unwrap_err();
    assert!(matches!(e, LazadaError::Http { status: 404, .. }));
    let e = decode::<IgnoredAny>(200, b"<html>", Shape::Data).unwrap_err();
    assert!(matches!(e, LazadaError::BadJson { .. }));
    let e = decode::<LazadaOrder>(200, br#"{"code":"0","request_id":"r"}"#, Shape::Data).unwrap_err();
    assert!(matches!(e, LazadaError::BadJson { .. }), "success without data: {e:?}");
    let e = decode::<IgnoredAny>(200, br#"{"code":500,"type":"ISP","message":"m"}"#, Shape::Data).unwrap_err();
    assert_eq!(e.disposition(), Disposition::Retry);
}

#[test]
fn payload_shapes() {
    let order: LazadaOrder = decode(
        200,
        br#"{"code":"0","data":{"order_id":16090,"statuses":["pending"]},"request_id":"r"}"#,
        Shape::Data,
    )
    .unwrap();
    assert_eq!(order.order_id.as_deref(), Some("16090"));
    let numeric_code: Vec<LazadaOrderItem> = decode(200, br#"{"code":0,"data":[]}"#, Shape::Data).unwrap();
    assert!(numeric_code.is_empty());
    let token: TokenAnswer = decode(
        200,
        br#"{"access_token":"a","refresh_token":"b","expires_in":604800,"code":"0","request_id":"r"}"#,
        Shape::TopLevel,
    )
    .unwrap();
    assert_eq!(token.into_grant().unwrap().expires_in, 604800);
}

#[tokio::test]
async fn seller_calls_go_signed_to_the_api_base() {
    let (base, received) = serve(vec![
        (
            200,
            r#"{"code":"0","data":{"order_id":16090,"order_number":300034416,"price":"99.00","statuses":["pending"]},"request_id":"r1"}"#,
        ),
        (
            200,
            r#"{"code":"0","data":[{"order_item_id":1340,"sku":"HOTI-01","paid_price":5.7,"status":"pending"}],"request_id":"r2"}"#,
        ),
        (
            200,
            r#"{"code":"0","data":{"count":1,"countTotal":1,"orders":[{"order_id":16090}]},"request_id":"r3"}"#,
        ),
        (
            200,
            r#"{"type":"ISV","code":"IllegalAccessToken","message":"expired","request_id":"r4"}"#,
        ),
    ]);
    let app = app(Some(format!("{base}/rest")), DEFAULT_AUTH);
    let (client, token, order_id) = (client(), Secret::new("tok"), OrderSn::parse("16090").unwrap());

    let order = client
        .get_order(&app, LazadaRegion::Vn, &token, &order_id)
        .await
        .unwrap();
    assert_eq!(order.order_number.as_deref(), Some("300034416"));
    let got = received.recv().unwrap();
    assert_eq!((got.method.as_str(), got.path.as_str()), ("GET", "/rest/order/get"));
    assert_eq!(
        (got.param("order_id"), got.param("access_token"), got.param("timestamp")),
        (Some("16090"), Some("tok"), Some("1517820392000"))
    );
    got.assert_signed(ORDER_GET);

    let items = client
        .get_order_items(&app, LazadaRegion::Vn, &token, &order_id)
        .await
        .unwrap();
    assert_eq!(items[0].sku.as_deref(), Some("HOTI-01"));
    let got = received.recv().unwrap();
    assert_eq!(got.path, "/rest/order/items/get");
    got.assert_signed(ORDER_ITEMS_GET);

    let page = client
        .orders_updated_since(&app, LazadaRegion::Vn, &token, 1486688400, 0, 50)
        .await
        .unwrap();
    assert_eq!((page.orders.len(), page.count_total), (1, Some(1)));
    let got = received.recv().unwrap();
    assert_eq!(got.path, "/rest/orders/get");
    assert_eq!(got.param("update_after"), Some("2017-02-10T01:00:00+00:00"));
    assert_eq!(got.param("limit"), Some("50"));
    got.assert_signed(ORDERS_GET);

    let e = client
        .get_order(&app, LazadaRegion::Vn, &token, &order_id)
        .await
        .unwrap_err();
    assert_eq!(e.disposition(), Disposition::RefreshToken);
    received.recv().unwrap().assert_signed(ORDER_GET);
}

#[tokio::test]
async fn token_calls_post_forms_to_the_auth_base() {
    let (base, received) = serve(vec![
        (
            200,
            r#"{"access_token":"50000601c30a","refresh_token":"500016000300","expires_in":604800,"refresh_expires_in":2592000,"country":"sg","account":"a@example.com","country_user_info":[{"country":"sg","user_id":"1","seller_id":"100191233","short_code":"SG10BRF"}],"code":"0","request_id":"r1"}"#,
        ),
        (
            200,
            r#"{"access_token":"a2","refresh_token":"r2","expires_in":"604800","refresh_expires_in":2592000,"country_user_info_list":[{"country":"sg","seller_id":100191233}],"code":"0"}"#,
        ),
        (
            200,
            r#"{"type":"ISV","code":"IllegalRefreshToken","message":"The specified refresh token is invalid or expired","request_id":"r3"}"#,
        ),
    ]);
    let app = app(None, &format!("{base}/rest"));
    let client = client();

    let grant = client.create_token(&app, "0_123456_code").await.unwrap();
    assert_eq!(grant.access_token.expose(), "50000601c30a");
    assert_eq!(grant.sellers[0].seller_id.get(), 100191233);
    let got = received.recv().unwrap();
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        ("POST", "/rest/auth/token/create")
    );
    assert_eq!(got.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        (got.param("code"), got.param("access_token")),
        (Some("0_123456_code"), None)
    );
    got.assert_signed(TOKEN_CREATE);

    let grant = client.refresh_token(&app, &Secret::new("500016000300")).await.unwrap();
    assert_eq!((grant.access_token.expose(), grant.expires_in), ("a2", 604800));
    let got = received.recv().unwrap();
    assert_eq!(got.path, "/rest/auth/token/refresh");
    assert_eq!(got.param("refresh_token"), Some("500016000300"));
    got.assert_signed(TOKEN_REFRESH);

    let e = client.refresh_token(&app, &Secret::new("dead")).await.unwrap_err();
    assert_eq!(e.disposition(), Disposition::Reauthorize);
}

#[tokio::test]
async fn an_unreachable_host_is_retried() {
    // Bind, then drop: the port is closed by the time the client connects.
    let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let app = app(Some(format!("http://{addr}/rest")), DEFAULT_AUTH);
    let e = client()
        .get_order(
            &app,
            LazadaRegion::Sg,
            &Secret::new("tok"),
            &OrderSn::parse("1").unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, LazadaError::Transport { .. }), "{e:?}");
    assert_eq!(e.disposition(), Disposition::Retry);
    assert!(!e.to_string().contains("tok"), "the access token stays out of errors");
}
