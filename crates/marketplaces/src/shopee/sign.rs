//! Shopee's two HMAC-SHA256 signatures: the `sign` query parameter of every API call, and the
//! `Authorization` header of every push.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The message an API signature covers: `partner_id + api_path + timestamp [+ access_token + id]`, no separators.
pub fn api_base_string(partner_id: u64, api_path: &str, timestamp: i64, shop: Option<(&str, u64)>) -> String {
    match shop {
        Some((access_token, id)) => format!("{partner_id}{api_path}{timestamp}{access_token}{id}"),
        None => format!("{partner_id}{api_path}{timestamp}"),
    }
}

/// The `sign` parameter of an API call; `shop` is `(access_token, shop_id or merchant_id)` for shop-level calls.
pub fn api_sign(
    partner_key: &str,
    partner_id: u64,
    api_path: &str,
    timestamp: i64,
    shop: Option<(&str, u64)>,
) -> String {
    let mut mac = keyed(partner_key);
    mac.update(api_base_string(partner_id, api_path, timestamp, shop).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header Shopee sends with a push to `callback_url`.
pub fn push_signature(push_key: &str, callback_url: &str, raw_body: &[u8]) -> String {
    hex::encode(push_mac(push_key, callback_url, raw_body).finalize().into_bytes())
}

/// Whether `authorization_header` is the push signature of `raw_body`; the comparison is constant-time.
pub fn verify_push(push_key: &str, callback_url: &str, raw_body: &[u8], authorization_header: &str) -> bool {
    // Shopee sends lowercase hex; `hex` also accepts uppercase, which costs nothing in safety.
    let Ok(claimed) = hex::decode(authorization_header.trim()) else {
        return false;
    };
    push_mac(push_key, callback_url, raw_body)
        .verify_slice(&claimed)
        .is_ok()
}

fn push_mac(push_key: &str, callback_url: &str, raw_body: &[u8]) -> HmacSha256 {
    let mut mac = keyed(push_key);
    mac.update(callback_url.as_bytes());
    mac.update(b"|");
    mac.update(raw_body);
    mac
}

// HMAC accepts keys of any length (longer ones are hashed first), so this cannot fail.
#[allow(clippy::expect_used)]
fn keyed(key: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    // Embedded at build time, like the WeCom vectors: a test binary reused from a build target shared
    // with another checkout must not read a path that checkout had.
    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/marketplace-signatures.json"
    ));

    fn shopee_vectors(kind: &str) -> Vec<Value> {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let found: Vec<Value> = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["platform"] == "shopee" && v["kind"] == kind)
            .cloned()
            .collect();
        assert!(
            !found.is_empty(),
            "no shopee {kind} vector in marketplace-signatures.json"
        );
        found
    }

    fn s<'a>(v: &'a Value, field: &str) -> &'a str {
        v[field].as_str().unwrap_or_else(|| panic!("vector field {field}"))
    }

    #[test]
    fn push_vectors_verify_and_tampering_is_rejected() {
        for v in shopee_vectors("push") {
            let (key, url, body, auth) = (
                s(&v, "push_key"),
                s(&v, "callback_url"),
                s(&v, "raw_body"),
                s(&v, "authorization"),
            );
            assert_eq!(push_signature(key, url, body.as_bytes()), auth);
            assert!(verify_push(key, url, body.as_bytes(), auth));
            assert!(verify_push(key, url, body.as_bytes(), &auth.to_uppercase()));

            let mut flipped = body.as_bytes().to_vec();
            flipped[10] ^= 0x01;
            assert!(!verify_push(key, url, &flipped, auth), "flipped body byte accepted");
            assert!(
                !verify_push("wrong-key", url, body.as_bytes(), auth),
                "wrong key accepted"
            );
            assert!(
                !verify_push(key, &format!("{url}/"), body.as_bytes(), auth),
                "other callback_url accepted"
            );
            assert!(
                !verify_push(key, url, body.as_bytes(), &auth[..62]),
                "truncated signature accepted"
            );
            assert!(!verify_push(key, url, body.as_bytes(), "not hex"));
            assert!(!verify_push(key, url, body.as_bytes(), ""));
        }
    }

    #[test]
    fn api_vectors_match_including_base_string() {
        let mut vectors = shopee_vectors("api-shop");
        vectors.extend(shopee_vectors("api-public"));
        for v in vectors {
            let partner_id: u64 = s(&v, "partner_id").parse().unwrap();
            let timestamp: i64 = s(&v, "timestamp").parse().unwrap();
            let shop_id = v["shop_id"].as_str().map(|id| id.parse::<u64>().unwrap());
            let shop = v["access_token"].as_str().zip(shop_id);
            assert_eq!(v["kind"] == "api-shop", shop.is_some());
            let path = s(&v, "api_path");
            assert_eq!(api_base_string(partner_id, path, timestamp, shop), s(&v, "base_string"));
            assert_eq!(
                api_sign(s(&v, "partner_key"), partner_id, path, timestamp, shop),
                s(&v, "sign")
            );
            assert_ne!(api_sign("other-key", partner_id, path, timestamp, shop), s(&v, "sign"));
        }
    }
}
