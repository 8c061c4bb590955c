//! Shop authorization links and token lifetimes: the parts of Shopee's authorization model that are not
//! HTTP calls.
//!
//! Shopee offers two links. The current one is unsigned, on the `open.shopee.*` hosts, and echoes a
//! `state` parameter back with the code — the CSRF defence. The legacy one is signed, on the API host,
//! and echoes nothing; there the state travels inside the redirect URL, which Shopee returns to intact.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shoprelay_clock::UnixMs;

/// Which authorization link an app offers sellers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthLinkKind {
    /// `https://open.shopee.com/auth?…&state=…` (unsigned; the one Shopee documents today).
    #[default]
    Open,
    /// `{api_base}/api/v2/shop/auth_partner?…&sign=…&redirect=…` (signed; older code samples).
    Legacy,
}

/// The `open.shopee.*` host that belongs to an API host, so one `api_base` setting picks both.
///
/// Unknown hosts (a simulator, a proxy) get the API base itself: whoever serves the API there is asked
/// for the authorization page too.
pub fn default_auth_base(api_base: &str) -> String {
    let host = url::Url::parse(api_base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    let known = match host.as_deref() {
        Some("partner.shopeemobile.com") => Some("https://open.shopee.com"),
        Some("openplatform.shopee.cn") => Some("https://open.shopee.cn"),
        Some("openplatform.shopee.com.br") => Some("https://open.shopee.com.br"),
        Some("openplatform.sandbox.test-stable.shopee.sg" | "partner.test-stable.shopeemobile.com") => {
            Some("https://open.sandbox.test-stable.shopee.com")
        }
        Some("openplatform.sandbox.test-stable.shopee.cn") => Some("https://open.sandbox.test-stable.shopee.cn"),
        Some("openplatform.sandbox.test-stable.shopee.com.br") => {
            Some("https://open.sandbox.test-stable.shopee.com.br")
        }
        _ => None,
    };
    known.map_or_else(|| api_base.trim_end_matches('/').to_owned(), str::to_owned)
}

/// The current, unsigned authorization link; Shopee echoes `state` to `redirect_uri` with the code.
pub fn open_auth_url(auth_base: &str, partner_id: u64, redirect_uri: &str, state: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("partner_id", &partner_id.to_string())
        .append_pair("auth_type", "seller")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("state", state)
        .finish();
    format!("{}/auth?{query}", auth_base.trim_end_matches('/'))
}

/// When an access token stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenExpiry {
    /// Seconds from the answer (the guide's samples: 14400).
    In(i64),
    /// An absolute unix time (one API reference sample answers `expire_in: 1767001812`).
    At(i64),
}

impl TokenExpiry {
    /// Values this large cannot be a lifetime in seconds (31 years) and are read as a unix time.
    const EPOCH_THRESHOLD: i64 = 1_000_000_000;

    /// Reads Shopee's `expire_in`, whichever of its two meanings it carries.
    pub fn from_expire_in(expire_in: i64) -> Self {
        if expire_in > Self::EPOCH_THRESHOLD {
            Self::At(expire_in)
        } else {
            Self::In(expire_in)
        }
    }

    /// When the token expires, for an answer received at `now` (a negative lifetime: expired already).
    pub fn at(self, now: UnixMs) -> UnixMs {
        match self {
            Self::In(secs) => now + Duration::from_secs(u64::try_from(secs).unwrap_or(0)),
            Self::At(at) => UnixMs::from_secs(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_hosts_follow_the_api_host() {
        let cases = [
            ("https://partner.shopeemobile.com", "https://open.shopee.com"),
            ("https://openplatform.shopee.cn/", "https://open.shopee.cn"),
            ("https://openplatform.shopee.com.br", "https://open.shopee.com.br"),
            (
                "https://openplatform.sandbox.test-stable.shopee.sg",
                "https://open.sandbox.test-stable.shopee.com",
            ),
            (
                "https://openplatform.sandbox.test-stable.shopee.cn",
                "https://open.sandbox.test-stable.shopee.cn",
            ),
            ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
        ];
        for (api, auth) in cases {
            assert_eq!(default_auth_base(api), auth, "{api}");
        }
    }

    #[test]
    fn the_open_link_carries_state_and_the_redirect() {
        let url = open_auth_url(
            "https://open.shopee.com/",
            2001887,
            "https://relay.example.cn/cb?a=1",
            "n0nce",
        );
        assert_eq!(
            url,
            "https://open.shopee.com/auth?partner_id=2001887&auth_type=seller&redirect_uri=https%3A%2F%2Frelay.example.cn%2Fcb%3Fa%3D1&response_type=code&state=n0nce"
        );
    }

    #[test]
    fn expire_in_is_a_duration_or_an_epoch() {
        let now = UnixMs::from_millis(1_700_000_000_250);
        assert_eq!(
            TokenExpiry::from_expire_in(14400).at(now),
            UnixMs::from_millis(1_700_014_400_250)
        );
        assert_eq!(
            TokenExpiry::from_expire_in(1_767_001_812).at(now),
            UnixMs::from_secs(1_767_001_812)
        );
        assert_eq!(
            TokenExpiry::from_expire_in(0).at(UnixMs::from_secs(5)),
            UnixMs::from_secs(5)
        );
        assert_eq!(TokenExpiry::from_expire_in(-30).at(now), now);
    }
}
