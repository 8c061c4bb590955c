use std::collections::BTreeSet;

use rust_decimal::Decimal;
use shoprelay_clock::UnixMs;
use shoprelay_core::order::OrderStage;
use shoprelay_core::policy::{Acceptance, SensitiveField, COMMITMENT_VERSION};

use super::*;

/// Lazada's `/order/get` sample, trimmed to the fields read here.
const ORDER: &str = r#"{"order_number":300034416,"created_at":"2014-10-15 18:36:05 +0800","customer_last_name":"Tan","customer_first_name":"Mei","price":"99.00","payment_method":"COD","statuses":["pending"],"order_id":16090,"remarks":"Leave at the door","promised_shipping_times":"2017-03-24 16:09:22","address_shipping":{"country":"Singapore","address3":"address3","address2":"","city":"Singapore","address1":"10 Anson Road #05-01","phone2":"2222","last_name":"Lim","phone":"81234568","address5":"address5","post_code":79903,"address4":"address4","first_name":"Wei"}}"#;

/// Three units of one SKU (one paid less, a voucher) and one of another, shipped by two carriers.
const ITEMS: &str = r#"[
  {"order_item_id":1,"order_id":16090,"name":"Mug","sku":"MUG-1","shop_sku":"239_SG-1","variation":"Color family:Black","paid_price":"5.70","currency":"SGD","status":"pending","shipment_provider":"LEX SG"},
  {"order_item_id":2,"order_id":"16090","name":"Mug","sku":"MUG-1","shop_sku":"239_SG-1","variation":"Color family:Black","paid_price":5.7,"currency":"SGD","status":"pending","shipment_provider":"LEX SG"},
  {"order_item_id":3,"order_id":16090,"name":"Spoon","sku":"","shop_sku":"239_SG-2","paid_price":"1.00","currency":"SGD","status":"pending","shipment_provider":"Ninja Van"},
  {"order_item_id":4,"order_id":16091,"name":"Other order's line","sku":"MUG-1","paid_price":"5.70","status":"shipped"}
]"#;

fn order() -> LazadaOrder {
    serde_json::from_str(ORDER).unwrap()
}

fn items() -> Vec<LazadaOrderItem> {
    serde_json::from_str(ITEMS).unwrap()
}

fn full_policy() -> FieldPolicy {
    let fields: BTreeSet<_> = SensitiveField::ALL.into_iter().collect();
    let accepted = Acceptance {
        by: "admin".into(),
        at: UnixMs::from_millis(1),
        version: COMMITMENT_VERSION.into(),
    };
    FieldPolicy::new(fields, Some(accepted)).unwrap()
}

fn only(field: SensitiveField) -> FieldPolicy {
    let accepted = Acceptance {
        by: "admin".into(),
        at: UnixMs::from_millis(1),
        version: COMMITMENT_VERSION.into(),
    };
    FieldPolicy::new(BTreeSet::from([field]), Some(accepted)).unwrap()
}

#[test]
fn minimal_policy_keeps_the_order_and_no_personal_field() {
    let s = snapshot(&order(), &items(), Some("SG"), &FieldPolicy::minimal()).unwrap();
    assert_eq!(s.order_sn.as_str(), "16090");
    assert_eq!((s.status.stage, s.status.raw.as_str()), (OrderStage::ToShip, "pending"));
    assert_eq!(s.region.as_deref(), Some("SG"));
    assert_eq!(s.currency.as_deref(), Some("SGD"));
    assert_eq!(s.total_amount, Some(Decimal::new(9900, 2)));
    assert_eq!(s.total_display().as_deref(), Some("SGD 99.00"));
    assert_eq!(
        s.buyer_username, None,
        "Lazada's customer name is a real name, not a nickname"
    );
    assert_eq!(s.create_time, Some(1413369365));
    assert_eq!(s.pay_time, None);
    assert_eq!(s.ship_by_date, None, "a ship-by time without a zone is not guessed");
    assert!(s.cod);
    assert_eq!(s.payment_method.as_deref(), Some("COD"));
    assert_eq!(s.shipping_carrier.as_deref(), Some("LEX SG, Ninja Van"));
    assert_eq!(s.message_to_seller.as_deref(), Some("Leave at the door"));
    assert_eq!(s.recipient, None);
    assert_eq!(
        s.items,
        vec![
            OrderItem {
                name: "Mug".into(),
                sku: Some("MUG-1".into()),
                model_name: Some("Color family:Black".into()),
                quantity: 2,
                unit_price: Some(Decimal::new(57, 1)),
            },
            OrderItem {
                name: "Spoon".into(),
                sku: Some("239_SG-2".into()),
                model_name: None,
                quantity: 1,
                unit_price: Some(Decimal::new(100, 2)),
            },
        ]
    );
}

#[test]
fn full_policy_keeps_the_recipient() {
    let s = snapshot(&order(), &items(), Some("lazada_sg"), &full_policy()).unwrap();
    assert_eq!(s.buyer_username, None);
    let r = s.recipient.unwrap();
    // The shipping address's name, not the customer's: it is who receives the parcel.
    assert_eq!(r.name.as_deref(), Some("Wei Lim"));
    assert_eq!(r.phone.as_deref(), Some("81234568"));
    assert_eq!(r.email, None);
    let a = r.address.unwrap();
    assert_eq!(
        a.full_address.as_deref(),
        Some("10 Anson Road #05-01, address3, address4, address5, Singapore, 79903")
    );
    assert_eq!(a.city.as_deref(), Some("Singapore"));
    assert_eq!(a.zipcode.as_deref(), Some("79903"));
    assert_eq!(a.region.as_deref(), Some("SG"));
}

#[test]
fn each_personal_field_only_when_the_policy_keeps_it() {
    let phone = snapshot(&order(), &items(), Some("SG"), &only(SensitiveField::Phone)).unwrap();
    let r = phone.recipient.unwrap();
    assert_eq!((r.name, r.phone.as_deref(), r.address), (None, Some("81234568"), None));

    let name = snapshot(&order(), &items(), Some("SG"), &only(SensitiveField::Name)).unwrap();
    let r = name.recipient.unwrap();
    assert_eq!((r.name.as_deref(), r.phone, r.address), (Some("Wei Lim"), None, None));

    let address = snapshot(&order(), &items(), Some("SG"), &only(SensitiveField::Address)).unwrap();
    let r = address.recipient.unwrap();
    assert_eq!((r.name, r.phone), (None, None));
    assert!(r.address.is_some());

    // A field the order does not have leaves no empty recipient behind.
    assert_eq!(
        snapshot(&order(), &items(), Some("SG"), &only(SensitiveField::Email))
            .unwrap()
            .recipient,
        None
    );
}

#[test]
fn customer_name_and_second_phone_stand_in_and_masked_values_are_unknown() {
    let mut o = order();
    let address = o.address_shipping.as_mut().unwrap();
    address.first_name = None;
    address.last_name = Some("***".into());
    address.phone = Some("********".into());
    let r = snapshot(&o, &[], Some("SG"), &full_policy())
        .unwrap()
        .recipient
        .unwrap();
    assert_eq!(r.name.as_deref(), Some("Mei Tan"));
    assert_eq!(r.phone.as_deref(), Some("2222"));
    // Lazada's partly masked numbers are kept as sent: masking them again changes nothing.
    o.address_shipping.as_mut().unwrap().phone = Some("81***8".into());
    let r = snapshot(&o, &[], Some("SG"), &full_policy())
        .unwrap()
        .recipient
        .unwrap();
    assert_eq!(r.phone.as_deref(), Some("81***8"));
}

#[test]
fn currency_follows_the_country() {
    let cases = [
        ("SG", "SGD"),
        ("MY", "MYR"),
        ("TH", "THB"),
        ("VN", "VND"),
        ("PH", "PHP"),
        ("ID", "IDR"),
        ("id", "IDR"),
        ("lazada_th", "THB"),
    ];
    for (region, want) in cases {
        let s = snapshot(&order(), &[], Some(region), &FieldPolicy::minimal()).unwrap();
        assert_eq!(s.currency.as_deref(), Some(want), "{region}");
    }
    // Without a known country, the lines' currency; without lines either, none.
    let s = snapshot(&order(), &items(), Some("cb"), &FieldPolicy::minimal()).unwrap();
    assert_eq!((s.region, s.currency.as_deref()), (None, Some("SGD")));
    let s = snapshot(&order(), &[], None, &FieldPolicy::minimal()).unwrap();
    assert_eq!(s.currency, None);
}

#[test]
fn an_order_in_several_statuses_shows_its_least_advanced_one() {
    let mut o = order();
    o.statuses = vec!["shipped".into(), "canceled".into(), "ready_to_ship".into()];
    let s = snapshot(&o, &items(), Some("SG"), &FieldPolicy::minimal()).unwrap();
    assert_eq!(
        (s.status.stage, s.status.raw.as_str()),
        (OrderStage::Arranged, "ready_to_ship")
    );
    // Without statuses[], the order's own lines tell (not another order's shipped line).
    o.statuses.clear();
    let s = snapshot(&o, &items(), Some("SG"), &FieldPolicy::minimal()).unwrap();
    assert_eq!(s.status.raw, "pending");
}

#[test]
fn units_paid_differently_have_no_single_unit_price() {
    let mut lines = items();
    lines[1].paid_price = Some(Decimal::new(470, 2));
    let s = snapshot(&order(), &lines, Some("SG"), &FieldPolicy::minimal()).unwrap();
    assert_eq!((s.items[0].quantity, s.items[0].unit_price), (2, None));
    // Lines without any SKU are not merged with each other.
    let bare = LazadaOrderItem {
        name: Some("Gift".into()),
        ..LazadaOrderItem::default()
    };
    let s = snapshot(&order(), &[bare.clone(), bare], Some("SG"), &FieldPolicy::minimal()).unwrap();
    assert_eq!(s.items.iter().map(|i| i.quantity).collect::<Vec<_>>(), [1, 1]);
}

#[test]
fn non_cash_payment_and_a_zoned_ship_by_time() {
    let mut o = order();
    o.payment_method = Some("MixedCard".into());
    o.promised_shipping_times = Some("2017-03-24 16:09:22 +0800".into());
    let s = snapshot(&o, &[], Some("SG"), &FieldPolicy::minimal()).unwrap();
    assert!(!s.cod);
    assert_eq!(s.ship_by_date, Some(1490342962));
    assert_eq!(s.items, Vec::new());
    assert_eq!(s.shipping_carrier, None);
}

#[test]
fn an_order_without_id_or_status_is_refused() {
    let mut o = order();
    o.order_id = None;
    let err = snapshot(&o, &[], Some("SG"), &FieldPolicy::minimal()).unwrap_err();
    assert!(
        matches!(err, LazadaError::InvalidField { field: "order_id", .. }),
        "{err:?}"
    );
    let mut o = order();
    o.statuses.clear();
    let err = snapshot(&o, &[], Some("SG"), &FieldPolicy::minimal()).unwrap_err();
    assert!(
        matches!(err, LazadaError::InvalidField { field: "statuses", .. }),
        "{err:?}"
    );
}
