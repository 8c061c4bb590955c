//! TikTok Shop's two HMAC-SHA256 signatures: the `sign` query parameter of every API call (lower-case hex
//! over the path, the sorted query and the body, wrapped in the app secret), and the `Authorization` header
//! of every push (lower-case hex over the app key and the raw body).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The parameter that carries the signature.
pub const SIGN_PARAM: &str = "sign";

/// The parameter TikTok leaves out of the signature besides `sign` (the token travels in a header; a
/// caller that also puts it in the query must still sign without it).
pub const ACCESS_TOKEN_PARAM: &str = "access_token";

/// The message an API signature covers: `app_secret`, the path, every query parameter but `sign` and
/// `access_token` sorted by name (byte order) as name then value, the raw body (empty for a GET or a
/// multipart upload), and `app_secret` again.
pub fn api_base_string<K: AsRef<str>, V: AsRef<str>>(
    app_secret: &str,
    path: &str,
    query: &[(K, V)],
    body: &[u8],
) -> Vec<u8> {
    let mut sorted: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| *k != SIGN_PARAM && *k != ACCESS_TOKEN_PARAM)
        .collect();
    // Names are unique in a request; sorting by value too keeps the result defined if they are not.
    sorted.sort_unstable();
    let mut base = Vec::with_capacity(2 * app_secret.len() + path.len() + body.len() + 64);
    base.extend_from_slice(app_secret.as_bytes());
    base.extend_from_slice(path.as_bytes());
    for (name, value) in sorted {
        base.extend_from_slice(name.as_bytes());
        base.extend_from_slice(value.as_bytes());
    }
    base.extend_from_slice(body);
    base.extend_from_slice(app_secret.as_bytes());
    base
}

/// The `sign` of an API call to `path` (e.g. `/order/202309/orders`) with `query` and `body`.
pub fn api_sign<K: AsRef<str>, V: AsRef<str>>(app_secret: &str, path: &str, query: &[(K, V)], body: &[u8]) -> String {
    let mut mac = keyed(app_secret);
    mac.update(&api_base_string(app_secret, path, query, body));
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header TikTok Shop sends with a push.
pub fn push_signature(app_key: &str, app_secret: &str, raw_body: &[u8]) -> String {
    hex::encode(push_mac(app_key, app_secret, raw_body).finalize().into_bytes())
}

/// Whether `authorization_header` is the push signature of `raw_body` (hex in either case, padding
/// ignored); the comparison is the hmac crate's constant-time one.
pub fn verify_push(app_key: &str, app_secret: &str, raw_body: &[u8], authorization_header: &str) -> bool {
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

    // Embedded at build time, like the other platforms' vectors.
    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/marketplace-signatures.json"
    ));

    fn tiktok_vectors(kind: &str) -> Vec<Value> {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["platform"] == "tiktok" && v["kind"] == kind)
            .cloned()
            .collect()
    }

    fn s<'a>(v: &'a Value, field: &str) -> &'a str {
        v[field].as_str().unwrap_or_else(|| panic!("vector field {field}"))
    }

    /// The request of TikTok's worked example: `GET /authorization/202309/shops` with the common query,
    /// listed out of order, with a stale `sign` and an `access_token` in the query, none of which the
    /// signature may depend on.
    const EXAMPLE_PATH: &str = "/authorization/202309/shops";
    const EXAMPLE_QUERY: [(&str, &str); 4] = [
        ("timestamp", "1623812664"),
        ("sign", "stale"),
        ("access_token", "ROW_abc"),
        ("app_key", "29a39d"),
    ];

    #[test]
    fn the_worked_example_signs_to_the_vector_including_its_base_string() {
        let vectors = tiktok_vectors("api");
        assert_eq!(vectors.len(), 1, "one tiktok api vector in marketplace-signatures.json");
        let v = &vectors[0];
        let secret = s(v, "app_secret");
        let base = api_base_string(secret, EXAMPLE_PATH, &EXAMPLE_QUERY, b"");
        assert_eq!(String::from_utf8(base).unwrap(), s(v, "base_string"));
        let sign = api_sign(secret, EXAMPLE_PATH, &EXAMPLE_QUERY, b"");
        assert_eq!(sign, s(v, "sign"));
        assert_eq!(sign, sign.to_lowercase(), "TikTok wants lower-case hex");
        // Each input counts: the secret, the path, a query value, the body.
        assert_ne!(api_sign("other", EXAMPLE_PATH, &EXAMPLE_QUERY, b""), s(v, "sign"));
        assert_ne!(
            api_sign(secret, "/authorization/202309/shop", &EXAMPLE_QUERY, b""),
            s(v, "sign")
        );
        let mut changed = EXAMPLE_QUERY;
        changed[0] = ("timestamp", "1623812665");
        assert_ne!(api_sign(secret, EXAMPLE_PATH, &changed, b""), s(v, "sign"));
        assert_ne!(api_sign(secret, EXAMPLE_PATH, &EXAMPLE_QUERY, b"{}"), s(v, "sign"));
    }

    #[test]
    fn the_body_sits_between_the_query_and_the_closing_secret() {
        let base = api_base_string("k", "/p", &[("b", "2"), ("a", "1")], br#"{"x":1}"#);
        assert_eq!(base, br#"k/pa1b2{"x":1}k"#);
    }

    #[test]
    fn a_push_signature_verifies_and_tampering_is_rejected() {
        // What verification accepts and refuses; the next test pins the construction itself.
        let (key, secret, body) = ("123456", "helloworld", br#"{"type":1}"#.as_slice());
        let auth = push_signature(key, secret, body);
        assert_eq!(auth.len(), 64);
        assert!(verify_push(key, secret, body, &auth));
        assert!(verify_push(key, secret, body, &auth.to_uppercase()));
        assert!(verify_push(key, secret, body, &format!(" {auth}\n")));
        assert!(!verify_push(key, secret, br#"{"type":2}"#, &auth));
        assert!(!verify_push(key, "wrong", body, &auth));
        assert!(!verify_push("654321", secret, body, &auth));
        assert!(!verify_push(key, secret, body, &auth[..62]));
        assert!(!verify_push(key, secret, body, &format!("{auth}00")));
        assert!(!verify_push(key, secret, body, "not hex"));
        assert!(!verify_push(key, secret, body, ""));
    }

    #[test]
    fn the_push_algorithm_reproduces_the_shared_app_key_plus_body_vector() {
        // TikTok's push signature is the same construction as Lazada's (HMAC-SHA256 keyed by the secret
        // over app key + raw body); the one shared vector of that construction pins it.
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let v = doc["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["platform"] == "lazada" && v["kind"] == "push")
            .cloned()
            .unwrap();
        let body = s(&v, "raw_body").as_bytes();
        assert_eq!(
            push_signature(s(&v, "app_key"), s(&v, "app_secret"), body),
            s(&v, "authorization")
        );
        assert!(tiktok_vectors("push").iter().all(|t| verify_push(
            s(t, "app_key"),
            s(t, "app_secret"),
            s(t, "raw_body").as_bytes(),
            s(t, "authorization")
        )));
    }
}
