//! Lazada's two HMAC-SHA256 signatures: the `sign` parameter of every API call (upper-case hex over the
//! path and the sorted parameters), and the `Authorization` header of every push (hex over the app key
//! and the raw body).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The parameter that carries the signature and is never part of what it covers.
pub const SIGN_PARAM: &str = "sign";

/// The message an API signature covers: `api_path` followed by every parameter but `sign`, sorted by
/// name (byte order, as the official SDKs sort), each written as name then value with no separators.
pub fn api_base_string<K: AsRef<str>, V: AsRef<str>>(api_path: &str, params: &[(K, V)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| *k != SIGN_PARAM)
        .collect();
    // Names are unique in a request; sorting by value too keeps the result defined if they are not.
    sorted.sort_unstable();
    let mut base = String::from(api_path);
    for (name, value) in sorted {
        base.push_str(name);
        base.push_str(value);
    }
    base
}

/// The `sign` parameter of an API call to `api_path` (e.g. `/order/get`) with `params` (common and
/// business parameters; a `sign` among them is ignored).
pub fn api_sign<K: AsRef<str>, V: AsRef<str>>(app_secret: &str, api_path: &str, params: &[(K, V)]) -> String {
    let mut mac = keyed(app_secret);
    mac.update(api_base_string(api_path, params).as_bytes());
    hex::encode_upper(mac.finalize().into_bytes())
}

/// The `Authorization` header Lazada sends with a push (lower-case hex, as the official sample).
pub fn push_signature(app_key: &str, app_secret: &str, raw_body: &[u8]) -> String {
    hex::encode(push_mac(app_key, app_secret, raw_body).finalize().into_bytes())
}

/// Whether `authorization_header` is the push signature of `raw_body`, in upper- or lower-case hex;
/// the comparison is constant-time.
pub fn verify_push(app_key: &str, app_secret: &str, raw_body: &[u8], authorization_header: &str) -> bool {
    // `hex::decode` reads either case, so an upper-case header needs no second comparison.
    let Ok(claimed) = hex::decode(authorization_header.trim()) else {
        return false;
    };
    push_mac(app_key, app_secret, raw_body).verify_slice(&claimed).is_ok()
}

fn push_mac(app_key: &str, app_secret: &str, raw_body: &[u8]) -> HmacSha256 {
    let mut mac = keyed(app_secret);
    mac.update(app_key.as_bytes());
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

    // Embedded at build time, like the Shopee vectors: a test binary reused from a build target shared
    // with another checkout must not read a path that checkout had.
    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/marketplace-signatures.json"
    ));

    fn lazada_vector(kind: &str) -> Value {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let found: Vec<Value> = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["platform"] == "lazada" && v["kind"] == kind)
            .cloned()
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one lazada {kind} vector in marketplace-signatures.json"
        );
        found.into_iter().next().unwrap()
    }

    fn s<'a>(v: &'a Value, field: &str) -> &'a str {
        v[field].as_str().unwrap_or_else(|| panic!("vector field {field}"))
    }

    /// The request of Lazada's worked example: `GET /order/get?order_id=1234` with the common parameters,
    /// listed out of order and with a stale `sign`, both of which the signature must not depend on.
    const EXAMPLE_PATH: &str = "/order/get";
    const EXAMPLE_PARAMS: [(&str, &str); 6] = [
        ("timestamp", "1517820392000"),
        ("sign", "stale"),
        ("order_id", "1234"),
        ("app_key", "123456"),
        ("sign_method", "sha256"),
        ("access_token", "test"),
    ];

    #[test]
    fn api_vector_matches_including_base_string() {
        let v = lazada_vector("api");
        assert_eq!(api_base_string(EXAMPLE_PATH, &EXAMPLE_PARAMS), s(&v, "base_string"));
        let sign = api_sign(s(&v, "app_secret"), EXAMPLE_PATH, &EXAMPLE_PARAMS);
        assert_eq!(sign, s(&v, "sign"));
        assert_eq!(sign, sign.to_uppercase(), "Lazada wants upper-case hex");
        assert_ne!(api_sign("other-secret", EXAMPLE_PATH, &EXAMPLE_PARAMS), s(&v, "sign"));
        assert_ne!(
            api_sign(s(&v, "app_secret"), "/orders/get", &EXAMPLE_PARAMS),
            s(&v, "sign")
        );
        let mut changed = EXAMPLE_PARAMS;
        changed[2] = ("order_id", "1235");
        assert_ne!(api_sign(s(&v, "app_secret"), EXAMPLE_PATH, &changed), s(&v, "sign"));
    }

    #[test]
    fn owned_params_sign_like_borrowed_ones() {
        let v = lazada_vector("api");
        let owned: Vec<(String, String)> = EXAMPLE_PARAMS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(api_sign(s(&v, "app_secret"), EXAMPLE_PATH, &owned), s(&v, "sign"));
        let none: [(&str, &str); 0] = [];
        assert_eq!(api_base_string("/auth/token/create", &none), "/auth/token/create");
    }

    #[test]
    fn push_vector_verifies_and_tampering_is_rejected() {
        let v = lazada_vector("push");
        let (key, secret, body, auth) = (
            s(&v, "app_key"),
            s(&v, "app_secret"),
            s(&v, "raw_body").as_bytes(),
            s(&v, "authorization"),
        );
        assert_eq!(push_signature(key, secret, body), auth);
        assert!(verify_push(key, secret, body, auth));
        assert!(verify_push(key, secret, body, &auth.to_uppercase()));
        assert!(verify_push(key, secret, body, &format!(" {auth}\n")));

        let mut flipped = body.to_vec();
        flipped[10] ^= 0x01;
        assert!(!verify_push(key, secret, &flipped, auth), "flipped body byte accepted");
        assert!(!verify_push(key, "wrong-secret", body, auth), "wrong secret accepted");
        assert!(!verify_push("654321", secret, body, auth), "other app key accepted");
        assert!(
            !verify_push(key, secret, body, &auth[..62]),
            "truncated signature accepted"
        );
        assert!(
            !verify_push(key, secret, body, &format!("{auth}00")),
            "extended signature accepted"
        );
        assert!(!verify_push(key, secret, body, "not hex"));
        assert!(!verify_push(key, secret, body, ""));
    }
}
