//! Errors of the TikTok Shop API client, and what the caller should do about each.
//!
//! TikTok answers every call in one envelope whose numeric `code` is 0 on success. Two codes are
//! documented in the shared facts and handled by name: 106001 (the signature is wrong: a configuration
//! matter) and 105002 (the access token expired: refresh it; on a refresh itself, the grant is gone).

use shoprelay_core::error::UserFacing;

use crate::adapter::Disposition;

/// TikTok's code for a request whose `sign` does not match.
pub const INVALID_SIGN: i64 = 106_001;
/// TikTok's code for an expired access token.
pub const TOKEN_EXPIRED: i64 = 105_002;

/// A failed TikTok Shop API call.
#[derive(Debug, thiserror::Error)]
pub enum TiktokError {
    /// No answer: connection refused, DNS, TLS, or the caller's client timed out.
    #[error("could not reach TikTok Shop: {source}")]
    Transport {
        /// The client's error, with the URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// A non-success HTTP status without a TikTok error in the body.
    #[error("TikTok Shop answered HTTP {status}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The start of the body, for the log.
        body: String,
    },
    /// The envelope's `code` was not 0.
    #[error("TikTok Shop API error {code}: {message} (request_id {request_id:?})")]
    Api {
        /// TikTok's error code, e.g. 105002.
        code: i64,
        /// TikTok's message.
        message: String,
        /// TikTok's request id, to quote to TikTok support.
        request_id: Option<String>,
    },
    /// The answer is not the JSON this client expects.
    #[error("TikTok Shop's answer could not be read: {source}")]
    BadJson {
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A field of an otherwise readable answer is unusable.
    #[error("TikTok Shop's answer has an invalid {field}: {detail}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The shop is not among those the seller's authorization covers (so it has no `shop_cipher`).
    #[error("shop {shop} is not among the shops this authorization covers")]
    ShopNotCovered {
        /// The shop.
        shop: String,
    },
}

impl TiktokError {
    /// What the caller should do about this error on an ordinary call.
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Transport { .. } => Disposition::Retry,
            Self::Http { status, .. } if *status >= 500 || *status == 429 => Disposition::Retry,
            Self::Http { .. } | Self::BadJson { .. } | Self::InvalidField { .. } => Disposition::Fail,
            Self::ShopNotCovered { .. } => Disposition::Reauthorize,
            Self::Api { code, .. } => match *code {
                TOKEN_EXPIRED => Disposition::RefreshToken,
                _ => Disposition::Fail,
            },
        }
    }

    /// What to do after this error on a token refresh: there an expired token is the refresh token, so
    /// the seller must authorize again.
    pub fn refresh_disposition(&self) -> Disposition {
        match self {
            Self::Api {
                code: TOKEN_EXPIRED, ..
            } => Disposition::Reauthorize,
            other => other.disposition(),
        }
    }
}

impl UserFacing for TiktokError {
    fn code(&self) -> &'static str {
        match self {
            Self::Transport { source } if source.is_timeout() => "tiktok.timeout",
            Self::Transport { .. } => "tiktok.unreachable",
            Self::Http { .. } => "tiktok.http_status",
            Self::BadJson { .. } | Self::InvalidField { .. } => "tiktok.bad_response",
            Self::ShopNotCovered { .. } => "tiktok.shop_not_authorized",
            Self::Api { code, .. } => match *code {
                INVALID_SIGN => "tiktok.bad_signature",
                TOKEN_EXPIRED => "tiktok.token_expired",
                _ => "tiktok.api_error",
            },
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::Transport { source } if source.is_timeout() => 504,
            _ => 502,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::Transport { source } if source.is_timeout() => {
                "请求 TikTok Shop 超时：将自动重试；若持续出现，请检查服务器到 TikTok Shop 的网络".into()
            }
            Self::Transport { .. } => {
                "无法连接 TikTok Shop：请检查 api_base / auth_base 地址、DNS 与服务器出网；将自动重试".into()
            }
            Self::Http { status, .. } => format!(
                "TikTok Shop 返回 HTTP {status}：5xx 将自动重试，其它请检查 api_base 是否指向 TikTok Shop 开放平台"
            ),
            Self::BadJson { .. } => {
                "无法解析 TikTok Shop 的响应：请检查 api_base 是否指向 TikTok Shop 开放平台（而非网页或代理）".into()
            }
            Self::InvalidField { field, detail } => format!("TikTok Shop 响应中的 {field} 无效（{detail}）"),
            Self::ShopNotCovered { shop } => format!(
                "店铺 {shop} 不在卖家的 TikTok Shop 授权范围内（取不到 shop_cipher）：请让卖家通过授权链接重新授权该店铺"
            ),
            Self::Api {
                code,
                message,
                request_id,
            } => {
                let fix = match *code {
                    INVALID_SIGN => "签名错误：请检查配置中的 app_key 与 app_secret 是否属于同一个 TikTok Shop 应用，并校准服务器时钟",
                    TOKEN_EXPIRED => "访问令牌已过期：将自动刷新令牌；若刷新也失败，请让卖家重新授权",
                    _ => "TikTok Shop 返回了未知错误：请把 request_id 提供给 TikTok Shop 技术支持",
                };
                format!(
                    "{fix}（TikTok Shop {code}: {message}，request_id {}）",
                    request_id.as_deref().unwrap_or("-")
                )
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::Transport { source } if source.is_timeout() => {
                "TikTok Shop did not answer in time: will retry; if it persists, check the network to TikTok Shop"
                    .into()
            }
            Self::Transport { .. } => {
                "Could not connect to TikTok Shop: check api_base / auth_base, DNS and outbound access; will retry"
                    .into()
            }
            Self::Http { status, .. } => format!(
                "TikTok Shop answered HTTP {status}: 5xx is retried; otherwise check that api_base points at the \
                 TikTok Shop Partner API"
            ),
            Self::BadJson { .. } => "TikTok Shop's answer could not be read: check that api_base points at the \
                                     TikTok Shop Partner API, not a web page or a proxy"
                .into(),
            Self::InvalidField { field, detail } => format!("TikTok Shop's answer has an invalid {field} ({detail})"),
            Self::ShopNotCovered { shop } => format!(
                "Shop {shop} is not among the shops the seller's TikTok Shop authorization covers (no shop_cipher): \
                 the seller must authorize that shop again"
            ),
            Self::Api {
                code,
                message,
                request_id,
            } => {
                let fix = match *code {
                    INVALID_SIGN => {
                        "Wrong signature: check that app_key and app_secret belong to the same TikTok Shop app, and \
                         sync the server clock"
                    }
                    TOKEN_EXPIRED => {
                        "The access token expired: it will be refreshed; if the refresh fails too, the seller must \
                         authorize again"
                    }
                    _ => "TikTok Shop returned an unknown error: quote the request_id to TikTok Shop support",
                };
                format!(
                    "{fix} (TikTok Shop {code}: {message}, request_id {})",
                    request_id.as_deref().unwrap_or("-")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: i64) -> TiktokError {
        TiktokError::Api {
            code,
            message: "m".into(),
            request_id: Some("2023091213265100A1B2C3D4E5".into()),
        }
    }

    #[test]
    fn the_documented_codes_decide_what_happens_next() {
        assert_eq!(api(TOKEN_EXPIRED).disposition(), Disposition::RefreshToken);
        assert_eq!(api(TOKEN_EXPIRED).refresh_disposition(), Disposition::Reauthorize);
        assert_eq!(api(INVALID_SIGN).disposition(), Disposition::Fail);
        assert_eq!(api(INVALID_SIGN).refresh_disposition(), Disposition::Fail);
        assert_eq!(api(36_009_004).disposition(), Disposition::Fail);
        let http = |status| TiktokError::Http {
            status,
            body: String::new(),
        };
        assert_eq!(http(503).disposition(), Disposition::Retry);
        assert_eq!(http(503).refresh_disposition(), Disposition::Retry);
        assert_eq!(http(429).disposition(), Disposition::Retry);
        assert_eq!(http(404).disposition(), Disposition::Fail);
        let uncovered = TiktokError::ShopNotCovered { shop: "7".into() };
        assert_eq!(uncovered.disposition(), Disposition::Reauthorize);
    }

    #[test]
    fn messages_tell_the_fix_in_both_languages() {
        let sign = api(INVALID_SIGN);
        assert_eq!((sign.code(), sign.status()), ("tiktok.bad_signature", 502));
        assert!(sign.message_zh().contains("app_secret") && sign.message_en().contains("app_secret"));
        let expired = api(TOKEN_EXPIRED);
        assert_eq!(expired.code(), "tiktok.token_expired");
        assert!(expired.message_zh().contains("重新授权") && expired.message_en().contains("authorize again"));
        let unknown = api(12_345_678);
        assert_eq!(unknown.code(), "tiktok.api_error");
        assert!(
            unknown.message_zh().contains("12345678") && unknown.message_en().contains("2023091213265100A1B2C3D4E5")
        );
        let uncovered = TiktokError::ShopNotCovered { shop: "42".into() };
        assert_eq!(uncovered.code(), "tiktok.shop_not_authorized");
        assert!(uncovered.message_zh().contains("42") && uncovered.message_en().contains("42"));
    }
}
