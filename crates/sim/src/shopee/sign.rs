//! The simulator's own Shopee signatures, written from `shared/protocols/shopee.md` and checked against
//! the conformance vectors — never the client's code, so one mistake cannot pass on both sides.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Lowercase hex HMAC-SHA256 of the concatenated `parts`, keyed with the UTF-8 bytes of `key`.
// HMAC takes keys of any length (longer ones are hashed first), so this cannot fail.
#[allow(clippy::expect_used)]
fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The `sign` of an API call: over `partner_id + path + timestamp [+ access_token + shop_id]`, no separators.
pub(crate) fn api_sign(
    partner_key: &str,
    partner_id: u64,
    path: &str,
    timestamp: i64,
    shop: Option<(&str, u64)>,
) -> String {
    let base = match shop {
        Some((access_token, shop_id)) => format!("{partner_id}{path}{timestamp}{access_token}{shop_id}"),
        None => format!("{partner_id}{path}{timestamp}"),
    };
    hmac_hex(partner_key, &[base.as_bytes()])
}

/// The `Authorization` header of a push: over `callback_url + "|" + raw body`.
pub(crate) fn push_signature(push_key: &str, callback_url: &str, body: &[u8]) -> String {
    hmac_hex(push_key, &[callback_url.as_bytes(), b"|", body])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/marketplace-signatures.json"
    ));

    fn shopee(kinds: &[&str]) -> Vec<Value> {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let found: Vec<Value> = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["platform"] == "shopee" && kinds.iter().any(|k| v["kind"] == *k))
            .cloned()
            .collect();
        assert!(!found.is_empty(), "no shopee {kinds:?} vectors");
        found
    }

    fn s<'a>(v: &'a Value, field: &str) -> &'a str {
        v[field].as_str().unwrap_or_else(|| panic!("vector field {field}"))
    }

    #[test]
    fn push_signatures_match_the_vectors() {
        for v in shopee(&["push"]) {
            let body = s(&v, "raw_body").as_bytes();
            let expected = s(&v, "authorization");
            assert_eq!(push_signature(s(&v, "push_key"), s(&v, "callback_url"), body), expected);
            assert_ne!(push_signature("other", s(&v, "callback_url"), body), expected);
        }
    }

    #[test]
    fn api_signatures_match_the_vectors() {
        let vectors = shopee(&["api-shop", "api-public"]);
        assert!(vectors.iter().any(|v| v["kind"] == "api-shop"));
        assert!(vectors.iter().any(|v| v["kind"] == "api-public"));
        for v in vectors {
            let partner_id: u64 = s(&v, "partner_id").parse().unwrap();
            let timestamp: i64 = s(&v, "timestamp").parse().unwrap();
            let shop_id = v["shop_id"].as_str().map(|id| id.parse::<u64>().unwrap());
            let shop = v["access_token"].as_str().zip(shop_id);
            let sign = api_sign(s(&v, "partner_key"), partner_id, s(&v, "api_path"), timestamp, shop);
            assert_eq!(sign, s(&v, "sign"), "{}", s(&v, "base_string"));
        }
    }
}
