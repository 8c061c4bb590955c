//! Errors of the Shopee API client, and what the caller should do about each.

use shoprelay_core::error::UserFacing;

use crate::adapter::ChatDisposition;

/// A failed Shopee API call.
#[derive(Debug, thiserror::Error)]
pub enum ShopeeError {
    /// No answer: connection refused, DNS, TLS, or the caller's client timed out.
    #[error("could not reach Shopee: {source}")]
    Transport {
        /// The client's error, with the URL (which holds the access token) removed.
        #[source]
        source: reqwest::Error,
    },
    /// A non-success HTTP status without a Shopee error in the body.
    #[error("Shopee answered HTTP {status}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The start of the body, for the log.
        body: String,
    },
    /// The answer is not the JSON this client expects.
    #[error("Shopee's answer could not be read: {source}")]
    BadJson {
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A field of an otherwise readable answer is unusable.
    #[error("Shopee's answer has an invalid {field}: {detail}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// Shopee's envelope carried a non-empty `error`.
    #[error("Shopee API error {error}: {message} (request_id {request_id:?})")]
    Api {
        /// Shopee's error code, e.g. `error_sign`.
        error: String,
        /// Shopee's message.
        message: String,
        /// Shopee's request id, to quote to Shopee support.
        request_id: Option<String>,
    },
}

pub use crate::adapter::Disposition;

impl ShopeeError {
    /// What the caller should do about this error.
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Transport { .. } => Disposition::Retry,
            Self::Http { status, .. } if *status >= 500 || *status == 429 => Disposition::Retry,
            Self::Http { .. } | Self::BadJson { .. } | Self::InvalidField { .. } => Disposition::Fail,
            Self::Api { error, .. } => match error.as_str() {
                "error_server" | "error_network" | "error_rate_limit" | "error_limit" => Disposition::Retry,
                "error_auth" | "invalid_acceess_token" | "invalid_access_token" => Disposition::RefreshToken,
                "refresh_token_expired" | "error_shop_refresh_token" | "shop_access_expired" => {
                    Disposition::Reauthorize
                }
                _ => Disposition::Fail,
            },
        }
    }
}

impl ShopeeError {
    /// What the caller should do after a failed token refresh. On the refresh endpoint `error_auth`
    /// ("Invalid refresh_token."), `shop_no_linked` and `shop_banned` mean the authorization is gone:
    /// retrying can only fail again, and refreshing is what just failed.
    pub fn refresh_disposition(&self) -> Disposition {
        match self {
            Self::Api { error, .. } if matches!(error.as_str(), "error_auth" | "shop_no_linked" | "shop_banned") => {
                Disposition::Reauthorize
            }
            _ => self.disposition(),
        }
    }
}

impl ShopeeError {
    /// What this error, answering a chat send, says about the shop's chat: `error_api_permission` means
    /// the app is not whitelisted for the chat API.
    pub fn chat_disposition(&self) -> ChatDisposition {
        match self {
            Self::Api { error, .. } if error == "error_api_permission" => ChatDisposition::Unavailable,
            _ => ChatDisposition::Unrelated,
        }
    }
}

/// Shopee's documented errors: the errors it covers, our stable code, and the fix in Chinese and English.
type Known = (&'static [&'static str], &'static str, &'static str, &'static str);

const KNOWN: &[Known] = &[
    (
        &["error_sign"],
        "shopee.error_sign",
        "签名错误：请检查 partner_id、partner_key 以及 api_base 是否对应同一环境（正式/沙箱）",
        "Wrong sign: check partner_id, partner_key and that api_base is the right environment (live vs sandbox)",
    ),
    (
        &["error_param"],
        "shopee.error_param",
        "请求参数错误：若提示 Timestamp is expired，请校准服务器时钟（NTP），误差须在 5 分钟内",
        "Bad request parameter: if the timestamp expired, sync the server clock (NTP) to within 5 minutes",
    ),
    (
        &["error_auth", "invalid_acceess_token", "invalid_access_token"],
        "shopee.invalid_access_token",
        "访问令牌无效或已过期：将自动刷新令牌；若仍失败，请让卖家重新授权店铺",
        "Invalid or expired access token: it will be refreshed; if that fails, the seller must authorize the shop again",
    ),
    (
        &["invalid_partner_id"],
        "shopee.invalid_partner_id",
        "partner_id 无效：请检查配置中的 partner_id 是否与 api_base 的环境（正式/沙箱）一致",
        "Invalid partner_id: check that it matches the environment of api_base (live vs sandbox)",
    ),
    (
        &["invalid_code"],
        "shopee.invalid_code",
        "授权码无效或已使用（10 分钟内有效、只能用一次）：请重新打开授权链接完成授权",
        "The authorization code is invalid or used (single-use, 10 minutes): open the authorization link again",
    ),
    (
        &["refresh_token_expired", "error_shop_refresh_token", "shop_access_expired"],
        "shopee.authorization_expired",
        "店铺授权已失效（refresh_token 过期或已被使用）：请让卖家重新授权店铺",
        "The shop's authorization is gone (refresh token expired or already used): the seller must authorize the shop again",
    ),
    (
        &["shop_no_linked"],
        "shopee.shop_no_linked",
        "该店铺未授权给此应用：请让卖家通过授权链接授权店铺",
        "The shop has not authorized this app: ask the seller to authorize it through the authorization link",
    ),
    (
        &["shop_banned"],
        "shopee.shop_banned",
        "该店铺已被 Shopee 封禁，接口不可用：请卖家联系 Shopee 处理",
        "Shopee banned this shop, so its API is unavailable: the seller must contact Shopee",
    ),
    (
        &["source_ip_undeclared"],
        "shopee.source_ip_undeclared",
        "服务器 IP 未在 Shopee 登记：请在 Shopee 开放平台控制台的应用设置中声明本服务器的出口 IP",
        "This server's IP is not declared: declare its outbound IP in the app settings of the Shopee Open Platform console",
    ),
    (
        &["error_api_permission"],
        "shopee.error_api_permission",
        "应用没有该接口的权限：请在 Shopee 开放平台控制台为应用申请对应权限（聊天接口需加入白名单）",
        "The app lacks permission for this API: request it in the Shopee Open Platform console (chat APIs need whitelisting)",
    ),
    (
        &["error_partner_key_expired"],
        "shopee.partner_key_expired",
        "partner_key 已过期：请在 Shopee 开放平台控制台获取新的 partner_key 并更新配置",
        "The partner_key expired: get a new one from the Shopee Open Platform console and update the configuration",
    ),
    (
        &["error_rate_limit", "error_limit"],
        "shopee.rate_limited",
        "调用频率或每日额度已达上限：将稍后自动重试（每日额度于 UTC+8 零点重置）",
        "Rate or daily limit reached: will retry later (the daily limit resets at 00:00 UTC+8)",
    ),
    (
        &["error_server", "error_network"],
        "shopee.server_error",
        "Shopee 服务暂时异常：将自动重试",
        "Shopee had a temporary failure: will retry",
    ),
];

fn known(error: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.0.contains(&error))
}

impl UserFacing for ShopeeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Transport { source } if source.is_timeout() => "shopee.timeout",
            Self::Transport { .. } => "shopee.unreachable",
            Self::Http { .. } => "shopee.http_status",
            Self::BadJson { .. } | Self::InvalidField { .. } => "shopee.bad_response",
            Self::Api { error, .. } => known(error).map_or("shopee.api_error", |k| k.1),
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
                "请求 Shopee 超时：将自动重试；若持续出现，请检查服务器到 Shopee 的网络".into()
            }
            Self::Transport { .. } => "无法连接 Shopee：请检查 api_base 地址、DNS 与服务器出网；将自动重试".into(),
            Self::Http { status, .. } => {
                format!("Shopee 返回 HTTP {status}：5xx 将自动重试，其它请检查 api_base 是否指向 Shopee 开放平台")
            }
            Self::BadJson { .. } => {
                "无法解析 Shopee 的响应：请检查 api_base 是否指向 Shopee 开放平台（而非网页或代理）".into()
            }
            Self::InvalidField { field, detail } => {
                format!("Shopee 响应中的 {field} 无效（{detail}）")
            }
            Self::Api {
                error,
                message,
                request_id,
            } => {
                let fix = known(error).map_or("Shopee 返回了未知错误：请把 request_id 提供给 Shopee 技术支持", |k| k.2);
                format!(
                    "{fix}（Shopee {error}: {message}，request_id {}）",
                    request_id.as_deref().unwrap_or("-")
                )
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::Transport { source } if source.is_timeout() => {
                "Shopee did not answer in time: will retry; if it persists, check the network to Shopee".into()
            }
            Self::Transport { .. } => {
                "Could not connect to Shopee: check api_base, DNS and outbound access; will retry".into()
            }
            Self::Http { status, .. } => format!(
                "Shopee answered HTTP {status}: 5xx is retried; otherwise check that api_base points at the Shopee Open Platform"
            ),
            Self::BadJson { .. } => "Shopee's answer could not be read: check that api_base points at the Shopee Open \
                                     Platform, not a web page or a proxy"
                .into(),
            Self::InvalidField { field, detail } => format!("Shopee's answer has an invalid {field} ({detail})"),
            Self::Api { error, message, request_id } => {
                let fix = known(error).map_or("Shopee returned an unknown error: quote the request_id to Shopee support", |k| k.3);
                format!("{fix} (Shopee {error}: {message}, request_id {})", request_id.as_deref().unwrap_or("-"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(error: &str) -> ShopeeError {
        ShopeeError::Api {
            error: error.into(),
            message: "m".into(),
            request_id: Some("r1".into()),
        }
    }

    #[test]
    fn dispositions_follow_the_documented_errors() {
        let cases = [
            ("error_server", Disposition::Retry),
            ("error_network", Disposition::Retry),
            ("error_rate_limit", Disposition::Retry),
            ("error_limit", Disposition::Retry),
            ("error_auth", Disposition::RefreshToken),
            ("invalid_acceess_token", Disposition::RefreshToken),
            ("invalid_access_token", Disposition::RefreshToken),
            ("refresh_token_expired", Disposition::Reauthorize),
            ("error_shop_refresh_token", Disposition::Reauthorize),
            ("shop_access_expired", Disposition::Reauthorize),
            ("invalid_code", Disposition::Fail),
            ("error_sign", Disposition::Fail),
            ("error_param", Disposition::Fail),
            ("invalid_partner_id", Disposition::Fail),
            ("shop_no_linked", Disposition::Fail),
            ("shop_banned", Disposition::Fail),
            ("source_ip_undeclared", Disposition::Fail),
            ("error_api_permission", Disposition::Fail),
            ("error_partner_key_expired", Disposition::Fail),
            ("something_new", Disposition::Fail),
        ];
        for (error, want) in cases {
            assert_eq!(api(error).disposition(), want, "{error}");
        }
        let http = |status| ShopeeError::Http {
            status,
            body: String::new(),
        };
        assert_eq!(http(503).disposition(), Disposition::Retry);
        assert_eq!(http(429).disposition(), Disposition::Retry);
        assert_eq!(http(404).disposition(), Disposition::Fail);
    }

    #[test]
    fn a_refresh_refused_as_unauthorized_means_authorize_again() {
        for error in [
            "error_auth",
            "shop_no_linked",
            "shop_banned",
            "refresh_token_expired",
            "error_shop_refresh_token",
        ] {
            assert_eq!(api(error).refresh_disposition(), Disposition::Reauthorize, "{error}");
        }
        for (error, want) in [
            ("error_server", Disposition::Retry),
            ("error_rate_limit", Disposition::Retry),
            ("error_sign", Disposition::Fail),
        ] {
            assert_eq!(api(error).refresh_disposition(), want, "{error}");
        }
    }

    #[test]
    fn messages_tell_the_fix_in_both_languages() {
        let sign = api("error_sign");
        assert_eq!((sign.code(), sign.status()), ("shopee.error_sign", 502));
        assert!(sign.message_zh().contains("沙箱") && sign.message_en().contains("sandbox"));
        let ip = api("source_ip_undeclared");
        assert!(ip.message_zh().contains("IP") && ip.message_en().contains("declare"));
        let unknown = api("brand_new_error");
        assert_eq!(unknown.code(), "shopee.api_error");
        assert!(unknown.message_zh().contains("brand_new_error") && unknown.message_en().contains("r1"));
        assert!(api("error_param").message_zh().contains("m"));
    }
}
