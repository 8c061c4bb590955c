//! A push body as Shopee (or an attacker who knows the URL) sends it: verification, parsing,
//! deduplication, normalisation, the lost-push page and an order detail's personal fields (kept, then
//! masked) must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoprelay_core::ids::ConfigId;
use shoprelay_core::policy::{masked, FieldPolicy, SensitiveField};
use shoprelay_marketplaces::shopee::{dedupe_key, normalize, verify_push, LostPushPage, OrderDetail, ShopeePush};

fuzz_target!(|data: &[u8]| {
    // The signature header is attacker-controlled too: take it from the input's first line.
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let header = String::from_utf8_lossy(header);
    let _ = verify_push("push-key", "https://relay.example.cn/push/shopee/main", body, &header);
    let _ = dedupe_key(body);
    if let Ok(push) = ShopeePush::parse(body) {
        if let Ok(app) = ConfigId::parse("main") {
            let _ = normalize(&app, &push, "hint", None, None);
        }
    }
    let _ = serde_json::from_slice::<LostPushPage>(body);
    // An order detail with every personal field kept, then masked as a message would show it.
    if let Ok(detail) = serde_json::from_slice::<OrderDetail>(body) {
        let everything = FieldPolicy {
            fields: SensitiveField::ALL.into_iter().collect(),
            accepted: None,
        };
        if let Ok(order) = detail.to_snapshot(&everything) {
            let _ = masked(&order);
        }
    }
});
