use super::*;

/// The sample answer of `/auth/token/create` in Lazada's documentation.
const TOKEN_CREATE: &str = r#"{"access_token":"50000601c30atpedfgu3LVvik87Ixlsvle3mSoB7701ceb156fPunYZ43GBg","country":"sg","refresh_token":"500016000300bwa2WteaQyfwBMnPxurcA0mXGhQdTt18356663CfcDTYpWoi","account_platform":"seller_center","refresh_expires_in":60,"country_user_info":[{"country":"sg","user_id":"100191233","seller_id":"100191233","short_code":"SG10BRF"}],"expires_in":10,"account":"xxx@126.com","code":"0","request_id":"0ba2887315178178017221014"}"#;
/// The sample answer of `/auth/token/refresh`: the list has another name, and numbers are loose.
const TOKEN_REFRESH: &str = r#"{"access_token":"50000601c30atpedfgu3LVvik87Ixlsvle3mSoB7701ceb156fPunYZ43GBg","refresh_token":"500016000300bwa2WteaQyfwBMnPxurcA0mXGhQdTt18356663CfcDTYpWoi","country":"cb","refresh_expires_in":"2592000","expires_in":604800,"account":"seller@example.com","country_user_info_list":[{"country":"sg","user_id":100191233,"seller_id":100191233,"short_code":"SG10BRF"},{"country":"my","user_id":"200191233","seller_id":"200191233","short_code":"MY10BRF"}],"code":"0","request_id":"0ba2887315178178017221014"}"#;
/// The `data` of the `/order/get` sample.
const ORDER: &str = r#"{"voucher":0.00,"warehouse_code":"dropshipping","order_number":300034416,"created_at":"2014-10-15 18:36:05 +0800","voucher_code":"3432","gift_option":false,"customer_last_name":"last_name","updated_at":"2014-10-15 18:36:05 +0800","promised_shipping_times":"2017-03-24 16:09:22","price":"99.00","national_registration_number":"1123","payment_method":"COD","customer_first_name":"First Name","shipping_fee":0.00,"items_count":1,"delivery_info":"","statuses":["pending"],"address_billing":{"country":"Singapore","city":"Singapore","first_name":"First Name"},"extra_attributes":"{\"TaxInvoiceRequested\":\"true\"}","order_id":16090,"gift_message":"","remarks":"","address_shipping":{"country":"Singapore","address3":"address3","address2":"address2","city":"Singapore","address1":"address1","phone2":"2222","last_name":"Last Name","phone":"81***8","address5":"address5","post_code":2332,"address4":"address4","first_name":"First Name"}}"#;
/// The `data` of the `/order/items/get` sample (abridged to the fields this client reads and a few more).
const ITEMS: &str = r#"[{"tax_amount":0,"reason":"","sla_time_stamp":"2017-02-27T23:59:59+08:00","voucher_seller":0,"variation":"Color family:Black","sku":"HOTI-01","order_type":"Normal","shop_sku":"239_SGAMZ-1290","sku_id":"1290","order_item_id":1340,"name":"Nike","order_id":16090,"status":"pending","paid_price":5.7,"warehouse_code":"dropshipping","shipping_type":"Dropshipping","created_at":"2017-02-25 03:15:07 +0800","updated_at":"2017-02-28 19:00:17 +0800","currency":"SGD","item_price":"5.70","tracking_code":"","shipment_provider":"","return_status":""}]"#;

#[test]
fn token_create_answer() {
    let grant = serde_json::from_str::<TokenAnswer>(TOKEN_CREATE)
        .unwrap()
        .into_grant()
        .unwrap();
    assert_eq!(
        grant.access_token.expose(),
        "50000601c30atpedfgu3LVvik87Ixlsvle3mSoB7701ceb156fPunYZ43GBg"
    );
    assert!(grant.refresh_token.expose().starts_with("500016000300"));
    assert_eq!((grant.expires_in, grant.refresh_expires_in), (10, 60));
    let now = UnixMs::from_millis(1_700_000_000_500);
    assert_eq!(grant.access_expires_at(now), UnixMs::from_millis(1_700_000_010_500));
    assert_eq!(grant.refresh_expires_at(now), UnixMs::from_millis(1_700_000_060_500));
    assert_eq!(grant.country.as_deref(), Some("sg"));
    assert_eq!(grant.account.as_deref(), Some("xxx@126.com"));
    assert_eq!(
        grant.sellers,
        vec![CountrySeller {
            country: "sg".into(),
            seller_id: ShopId::new(100191233).unwrap(),
            user_id: Some("100191233".into()),
            short_code: Some("SG10BRF".into()),
        }]
    );
    assert_eq!(grant.sellers[0].region(), Some(LazadaRegion::Sg));
    assert!(!format!("{grant:?}").contains("50000601"), "tokens never print");
}

#[test]
fn token_refresh_answer_names_its_list_differently() {
    let grant = serde_json::from_str::<TokenAnswer>(TOKEN_REFRESH)
        .unwrap()
        .into_grant()
        .unwrap();
    assert_eq!((grant.expires_in, grant.refresh_expires_in), (604800, 2592000));
    assert_eq!(grant.country.as_deref(), Some("cb"));
    let sellers: Vec<(u64, Option<LazadaRegion>)> =
        grant.sellers.iter().map(|s| (s.seller_id.get(), s.region())).collect();
    assert_eq!(
        sellers,
        vec![(100191233, Some(LazadaRegion::Sg)), (200191233, Some(LazadaRegion::My))]
    );
}

#[test]
fn token_answers_without_tokens_or_with_bad_sellers_fail() {
    let field = |json: &str| match serde_json::from_str::<TokenAnswer>(json).unwrap().into_grant() {
        Err(LazadaError::InvalidField { field, .. }) => field,
        other => panic!("{json}: {other:?}"),
    };
    assert_eq!(field(r#"{"refresh_token":"r"}"#), "access_token");
    assert_eq!(field(r#"{"access_token":"","refresh_token":"r"}"#), "access_token");
    assert_eq!(field(r#"{"access_token":"a"}"#), "refresh_token");
    assert_eq!(
        field(r#"{"access_token":"a","refresh_token":"r","country_user_info":[{"country":"sg"}]}"#),
        "country_user_info.seller_id"
    );
    assert_eq!(
        field(r#"{"access_token":"a","refresh_token":"r","country_user_info":[{"seller_id":"0"}]}"#),
        "country_user_info.seller_id"
    );
    let bare =
        serde_json::from_str::<TokenAnswer>(r#"{"access_token":"a","refresh_token":"r","country_user_info":null}"#)
            .unwrap()
            .into_grant()
            .unwrap();
    assert!(bare.sellers.is_empty());
    assert_eq!(bare.expires_in, 0);
}

#[test]
fn order_sample() {
    let order: LazadaOrder = serde_json::from_str(ORDER).unwrap();
    assert_eq!(order.order_id.as_deref(), Some("16090"));
    assert_eq!(order.order_number.as_deref(), Some("300034416"));
    assert_eq!(order.statuses, vec!["pending".to_owned()]);
    assert_eq!(order.price, Some(Decimal::new(9900, 2)));
    assert_eq!(order.shipping_fee, Some(Decimal::ZERO));
    assert_eq!(order.payment_method.as_deref(), Some("COD"));
    assert_eq!(order.items_count, Some(1));
    assert_eq!(order.remarks, None, "empty text is absent");
    assert_eq!(order.customer_first_name.as_deref(), Some("First Name"));
    // 2014-10-15 18:36:05 at UTC+8 is 10:36:05 UTC.
    assert_eq!(order.created_time(), Some(1413369365));
    assert_eq!(order.updated_time(), Some(1413369365));
    let address = order.address_shipping.unwrap();
    assert_eq!(
        address.post_code.as_deref(),
        Some("2332"),
        "a numeric post code reads as text"
    );
    assert_eq!(address.phone.as_deref(), Some("81***8"));
    assert_eq!(address.address5.as_deref(), Some("address5"));
    assert_eq!(address.country.as_deref(), Some("Singapore"));
}

#[test]
fn order_items_sample() {
    let items: Vec<LazadaOrderItem> = serde_json::from_str(ITEMS).unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item.order_item_id.as_deref(), Some("1340"));
    assert_eq!(item.order_id.as_deref(), Some("16090"));
    assert_eq!(item.name.as_deref(), Some("Nike"));
    assert_eq!(item.sku.as_deref(), Some("HOTI-01"));
    assert_eq!(item.shop_sku.as_deref(), Some("239_SGAMZ-1290"));
    assert_eq!(item.variation.as_deref(), Some("Color family:Black"));
    assert_eq!(item.item_price, Some(Decimal::new(570, 2)));
    assert_eq!(item.paid_price, Some(Decimal::new(57, 1)));
    assert_eq!(item.status.as_deref(), Some("pending"));
    assert_eq!(item.currency.as_deref(), Some("SGD"));
    assert_eq!(
        (item.tracking_code.as_deref(), item.shipment_provider.as_deref()),
        (None, None)
    );
}

#[test]
fn orders_page() {
    let page: OrdersPage =
        serde_json::from_str(&format!(r#"{{"count":"1","countTotal":37,"orders":[{ORDER}]}}"#)).unwrap();
    assert_eq!((page.count, page.count_total), (Some(1), Some(37)));
    assert_eq!(page.orders[0].order_id.as_deref(), Some("16090"));
    let empty: OrdersPage = serde_json::from_str(r#"{"count":0,"countTotal":0,"orders":null}"#).unwrap();
    assert!(empty.orders.is_empty());
    assert!(serde_json::from_str::<OrdersPage>(r#"{"count":-1}"#).is_err());
}

#[test]
fn loose_fields() {
    let order: LazadaOrder = serde_json::from_str(
        r#"{"order_id":"16090","price":1299.5,"items_count":"3","statuses":["shipped",null,"delivered"],"created_at":"2017-02-10T09:00:00+08:00","address_shipping":null}"#,
    )
    .unwrap();
    assert_eq!(order.price, Some(Decimal::new(12995, 1)));
    assert_eq!(order.items_count, Some(3));
    assert_eq!(order.statuses, vec!["shipped".to_owned(), "delivered".to_owned()]);
    assert_eq!(order.created_time(), Some(1486688400));
    assert_eq!(order.address_shipping, None);
    let grouped: LazadaOrder = serde_json::from_str(r#"{"price":"1,299.00"}"#).unwrap();
    assert_eq!(grouped.price, Some(Decimal::new(129900, 2)));
    for bad in [
        r#"{"price":"12,50"}"#,
        r#"{"price":"1,29.00"}"#,
        r#"{"price":"abc"}"#,
        r#"{"items_count":"x"}"#,
        r#"{"order_id":{}}"#,
    ] {
        assert!(serde_json::from_str::<LazadaOrder>(bad).is_err(), "{bad}");
    }
    assert_eq!(parse_time("not a time"), None);
    assert_eq!(LazadaOrder::default().created_time(), None);
}

#[test]
fn app_config_defaults_and_round_trip() {
    let app: LazadaAppConfig =
        serde_json::from_str(r#"{"id":"lzd-main","app_key":"123456","app_secret":"helloworld"}"#).unwrap();
    assert_eq!(app.auth_base, DEFAULT_AUTH_BASE);
    assert_eq!(app.api_base(LazadaRegion::Vn), "https://api.lazada.vn/rest");
    assert_eq!(app.api_base(LazadaRegion::Ph), "https://api.lazada.com.ph/rest");
    assert_eq!(
        app.callback_url("https://relay.example.cn/"),
        "https://relay.example.cn/push/lazada/lzd-main"
    );
    assert!(!format!("{app:?}").contains("helloworld"));
    // Written back for the operator, the secret is in the clear; absent options stay absent.
    let written = serde_json::to_value(&app).unwrap();
    assert_eq!(
        written,
        serde_json::json!({"id":"lzd-main","app_key":"123456","app_secret":"helloworld","auth_base":DEFAULT_AUTH_BASE})
    );
    assert_eq!(serde_json::from_value::<LazadaAppConfig>(written).unwrap(), app);

    let sim: LazadaAppConfig = serde_json::from_str(
        r#"{"id":"sim","app_key":"1","app_secret":"s","api_base":"http://127.0.0.1:9000/rest/","auth_base":"http://127.0.0.1:9000/rest","push_url":"https://proxy.example/lzd"}"#,
    )
    .unwrap();
    assert_eq!(sim.api_base(LazadaRegion::Sg), "http://127.0.0.1:9000/rest");
    assert_eq!(sim.api_base(LazadaRegion::Id), "http://127.0.0.1:9000/rest");
    assert_eq!(
        sim.callback_url("https://relay.example.cn"),
        "https://proxy.example/lzd"
    );
    assert!(serde_json::from_str::<LazadaAppConfig>(r#"{"id":"x","app_key":"1","app_secret":"s","typo":1}"#).is_err());
    assert!(serde_json::from_str::<LazadaAppConfig>(r#"{"id":"bad id","app_key":"1","app_secret":"s"}"#).is_err());
}
