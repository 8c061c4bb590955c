//! The seller authorization link: the part of Lazada's OAuth flow that is not an HTTP call.
//!
//! The seller opens the link, logs in, and Lazada redirects to `redirect_uri` with a `code` that is
//! single-use and lives 30 minutes; [`super::LazadaClient::create_token`] trades it for tokens. Lazada
//! documents no `state` parameter, so a caller that needs one carries it inside `redirect_uri`.

/// The authorization page that belongs to a token API base: `https://auth.lazada.com/rest` →
/// `https://auth.lazada.com/oauth/authorize`. A simulator's base (`http://127.0.0.1:9000/rest`) maps
/// the same way, so one `auth_base` setting points both at it.
pub fn authorize_endpoint(auth_base: &str) -> String {
    let base = auth_base.trim_end_matches('/');
    let host = base.strip_suffix("/rest").unwrap_or(base);
    format!("{host}/oauth/authorize")
}

/// The link a seller opens to authorize the app `app_key`; Lazada sends the code to `redirect_uri`.
/// `force_auth=true` makes Lazada ask for the login even when a session exists, so the seller picks
/// the account deliberately.
pub fn authorize_url(auth_base: &str, app_key: &str, redirect_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("force_auth", "true")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("client_id", app_key)
        .finish();
    format!("{}?{query}", authorize_endpoint(auth_base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_link() {
        assert_eq!(
            authorize_url(
                "https://auth.lazada.com/rest",
                "123456",
                "https://relay.example.cn/oauth/lazada/main?a=1"
            ),
            "https://auth.lazada.com/oauth/authorize?response_type=code&force_auth=true&redirect_uri=https%3A%2F%2Frelay.example.cn%2Foauth%2Flazada%2Fmain%3Fa%3D1&client_id=123456"
        );
    }

    #[test]
    fn the_page_follows_the_token_base() {
        let cases = [
            (
                "https://auth.lazada.com/rest",
                "https://auth.lazada.com/oauth/authorize",
            ),
            (
                "https://auth.lazada.com/rest/",
                "https://auth.lazada.com/oauth/authorize",
            ),
            ("http://127.0.0.1:9000/rest", "http://127.0.0.1:9000/oauth/authorize"),
            ("http://sim", "http://sim/oauth/authorize"),
        ];
        for (base, want) in cases {
            assert_eq!(authorize_endpoint(base), want, "{base}");
        }
    }
}
