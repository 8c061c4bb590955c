//! The simulator's own TikTok Shop signatures, written from `shared/protocols/other-marketplaces.md` and
//! checked against the conformance vectors — never the client's code, so one mistake cannot pass on both
//! sides.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

// HMAC takes keys of any length (longer ones are hashed first), so this cannot fail.
#[allow(clippy::expect_used)]
fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The `sign` of an API call: lower-case hex, keyed with the secret, over the secret, the path, every
/// query parameter but `sign` and `access_token` as `name + value` in name order (a `BTreeMap` iterates
/// in byte order), the body, and the secret again.
pub(crate) fn api_sign(app_secret: &str, path: &str, query: &BTreeMap<String, String>, body: &[u8]) -> String {
    let mut message = format!("{app_secret}{path}");
    for (name, value) in query
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "sign" | "access_token"))
    {
        message.push_str(name);
        message.push_str(value);
    }
    hmac_hex(app_secret, &[message.as_bytes(), body, app_secret.as_bytes()])
}

/// The `Authorization` header of a push: lower-case hex over `app_key + raw body`.
pub(crate) fn push_authorization(app_key: &str, app_secret: &str, body: &[u8]) -> String {
    hmac_hex(app_secret, &[app_key.as_bytes(), body])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/marketplace-signatures.json"
    ));

    #[test]
    fn api_signature_matches_the_worked_example() {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let vectors: Vec<&Value> = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["platform"] == "tiktok" && v["kind"] == "api")
            .collect();
        assert!(!vectors.is_empty(), "no tiktok api vectors");
        for v in vectors {
            let query: BTreeMap<String, String> = [
                ("timestamp", "1623812664"),
                ("app_key", "29a39d"),
                ("sign", "ignored"),
                ("access_token", "ignored too"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            let secret = v["app_secret"].as_str().unwrap();
            assert_eq!(
                api_sign(secret, "/authorization/202309/shops", &query, b""),
                v["sign"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn the_push_signature_is_the_app_key_plus_body_construction_of_the_shared_vector() {
        // No TikTok push vector is shared; the construction is the same as Lazada's, whose vector pins it.
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let v = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["platform"] == "lazada" && v["kind"] == "push")
            .unwrap();
        let body = v["raw_body"].as_str().unwrap().as_bytes();
        let (key, secret) = (v["app_key"].as_str().unwrap(), v["app_secret"].as_str().unwrap());
        assert_eq!(
            push_authorization(key, secret, body),
            v["authorization"].as_str().unwrap()
        );
        assert_ne!(
            push_authorization("other", secret, body),
            v["authorization"].as_str().unwrap()
        );
    }
}
