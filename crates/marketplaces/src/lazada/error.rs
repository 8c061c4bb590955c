//! Errors of the Lazada API client, and what the caller should do about each.
//!
//! Lazada sorts its errors into three types: `SYSTEM` (the API gateway: signature, token, call limits),
//! `ISV` (the request broke a business rule) and `ISP` (a backend service was unavailable). Only the
//! last is worth retrying as a whole; within the others a few well-known codes decide.

use shoprelay_core::error::UserFacing;

pub use crate::shopee::Disposition;

/// The `type` of a Lazada API error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorType {
    /// `ISV`: the request broke a business rule; fix the request.
    Isv,
    /// `ISP`: a backend service failed; try again later.
    Isp,
    /// `SYSTEM`: the API gateway refused the call (signature, token, call limits).
    System,
    /// No `type`, or one Lazada has not documented.
    Unspecified,
}

impl ApiErrorType {
    /// Reads Lazada's `type` field (`ISV`, `ISP`, `SYSTEM`, in any case).
    pub fn parse(raw: Option<&str>) -> Self {
        match raw.map(str::to_ascii_uppercase).as_deref() {
            Some("ISV") => Self::Isv,
            Some("ISP") => Self::Isp,
            Some("SYSTEM") => Self::System,
            _ => Self::Unspecified,
        }
    }

    /// Lazada's spelling, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Isv => "ISV",
            Self::Isp => "ISP",
            Self::System => "SYSTEM",
            Self::Unspecified => "-",
        }
    }
}

/// A failed Lazada API call.
#[derive(Debug, thiserror::Error)]
pub enum LazadaError {
    /// No answer: connection refused, DNS, TLS, or the caller's client timed out.
    #[error("could not reach Lazada: {source}")]
    Transport {
        /// The client's error, with the URL (which holds the access token) removed.
        #[source]
        source: reqwest::Error,
    },
    /// A non-success HTTP status without a Lazada error in the body.
    #[error("Lazada answered HTTP {status}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The start of the body, for the log.
        body: String,
    },
    /// The envelope's `code` was not `"0"`.
    #[error("Lazada API error {kind:?} {code}: {message} (request_id {request_id:?})")]
    Api {
        /// Lazada's error type.
        kind: ApiErrorType,
        /// Lazada's error code, e.g. `IllegalAccessToken`.
        code: String,
        /// Lazada's message.
        message: String,
        /// Lazada's request id, to quote to Lazada support.
        request_id: Option<String>,
    },
    /// The answer is not the JSON this client expects.
    #[error("Lazada's answer could not be read: {source}")]
    BadJson {
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A field of an otherwise readable answer is unusable.
    #[error("Lazada's answer has an invalid {field}: {detail}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

impl LazadaError {
    /// What the caller should do about this error.
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Transport { .. } => Disposition::Retry,
            Self::Http { status, .. } if *status >= 500 || *status == 429 => Disposition::Retry,
            Self::Http { .. } | Self::BadJson { .. } | Self::InvalidField { .. } => Disposition::Fail,
            Self::Api { kind, code, .. } => match known(code) {
                Some(k) => k.disposition,
                None if *kind == ApiErrorType::Isp => Disposition::Retry,
                None => Disposition::Fail,
            },
        }
    }
}

/// One documented error: the codes it covers, what to do, our stable code, and the fix in Chinese and
/// English.
struct Known {
    codes: &'static [&'static str],
    disposition: Disposition,
    code: &'static str,
    zh: &'static str,
    en: &'static str,
}

const KNOWN: &[Known] = &[
    Known {
        codes: &["IncompleteSignature"],
        disposition: Disposition::Fail,
        code: "lazada.bad_signature",
        zh: "签名错误：请检查配置中的 app_key 与 app_secret 是否属于同一个 Lazada 应用",
        en: "Wrong signature: check that app_key and app_secret belong to the same Lazada app",
    },
    Known {
        codes: &["IllegalAccessToken"],
        disposition: Disposition::RefreshToken,
        code: "lazada.invalid_access_token",
        zh: "访问令牌无效或已过期：将自动刷新令牌；若仍失败，请让卖家重新授权",
        en: "Invalid or expired access token: it will be refreshed; if that fails, the seller must authorize again",
    },
    Known {
        codes: &["IllegalRefreshToken"],
        disposition: Disposition::Reauthorize,
        code: "lazada.authorization_expired",
        zh: "店铺授权已失效（refresh_token 无效或已过期）：请让卖家通过授权链接重新授权",
        en: "The seller's authorization is gone (refresh token invalid or expired): the seller must authorize again",
    },
    Known {
        codes: &["AUTH_TYPE_UNSUPPORTED"],
        disposition: Disposition::Reauthorize,
        code: "lazada.market_authorization",
        zh: "该授权来自 Lazada 服务市场，令牌有效期跟随服务市场订单、不能刷新：请卖家在服务市场续订后重新授权",
        en: "This authorization comes from the Lazada service market and cannot be refreshed: the seller must renew \
             the market order and authorize again",
    },
    Known {
        codes: &["ApiCallLimit", "AppCallLimit"],
        disposition: Disposition::Retry,
        code: "lazada.rate_limited",
        zh: "调用频率已达 Lazada 上限：将稍后自动重试",
        en: "Lazada's call limit was reached: will retry later",
    },
    Known {
        codes: &["MissingParameter", "InvalidParameter"],
        disposition: Disposition::Fail,
        code: "lazada.bad_parameter",
        zh: "请求参数缺失或无效：若为 timestamp，请校准服务器时钟（NTP）；否则请把 request_id 提供给技术支持",
        en: "A request parameter is missing or invalid: if it is the timestamp, sync the server clock (NTP); \
             otherwise quote the request_id to support",
    },
];

fn known(code: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.codes.contains(&code))
}

impl UserFacing for LazadaError {
    fn code(&self) -> &'static str {
        match self {
            Self::Transport { source } if source.is_timeout() => "lazada.timeout",
            Self::Transport { .. } => "lazada.unreachable",
            Self::Http { .. } => "lazada.http_status",
            Self::BadJson { .. } | Self::InvalidField { .. } => "lazada.bad_response",
            Self::Api { kind, code, .. } => match known(code) {
                Some(k) => k.code,
                None if *kind == ApiErrorType::Isp => "lazada.service_error",
                None => "lazada.api_error",
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
                "请求 Lazada 超时：将自动重试；若持续出现，请检查服务器到 Lazada 的网络".into()
            }
            Self::Transport { .. } => "无法连接 Lazada：请检查 api_base 地址、DNS 与服务器出网；将自动重试".into(),
            Self::Http { status, .. } => {
                format!("Lazada 返回 HTTP {status}：5xx 将自动重试，其它请检查 api_base 是否指向 Lazada 开放平台")
            }
            Self::BadJson { .. } => {
                "无法解析 Lazada 的响应：请检查 api_base 是否指向 Lazada 开放平台（而非网页或代理）".into()
            }
            Self::InvalidField { field, detail } => format!("Lazada 响应中的 {field} 无效（{detail}）"),
            Self::Api {
                kind,
                code,
                message,
                request_id,
            } => {
                let fix = match known(code) {
                    Some(k) => k.zh,
                    None if *kind == ApiErrorType::Isp => "Lazada 后端服务暂时异常：将自动重试",
                    None => "Lazada 返回了未知错误：请把 request_id 提供给 Lazada 技术支持",
                };
                format!(
                    "{fix}（Lazada {} {code}: {message}，request_id {}）",
                    kind.as_str(),
                    request_id.as_deref().unwrap_or("-")
                )
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::Transport { source } if source.is_timeout() => {
                "Lazada did not answer in time: will retry; if it persists, check the network to Lazada".into()
            }
            Self::Transport { .. } => {
                "Could not connect to Lazada: check api_base, DNS and outbound access; will retry".into()
            }
            Self::Http { status, .. } => format!(
                "Lazada answered HTTP {status}: 5xx is retried; otherwise check that api_base points at the Lazada Open \
                 Platform"
            ),
            Self::BadJson { .. } => "Lazada's answer could not be read: check that api_base points at the Lazada Open \
                                     Platform, not a web page or a proxy"
                .into(),
            Self::InvalidField { field, detail } => format!("Lazada's answer has an invalid {field} ({detail})"),
            Self::Api {
                kind,
                code,
                message,
                request_id,
            } => {
                let fix = match known(code) {
                    Some(k) => k.en,
                    None if *kind == ApiErrorType::Isp => "A Lazada backend service failed: will retry",
                    None => "Lazada returned an unknown error: quote the request_id to Lazada support",
                };
                format!(
                    "{fix} (Lazada {} {code}: {message}, request_id {})",
                    kind.as_str(),
                    request_id.as_deref().unwrap_or("-")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(kind: ApiErrorType, code: &str) -> LazadaError {
        LazadaError::Api {
            kind,
            code: code.into(),
            message: "m".into(),
            request_id: Some("0ba2887315178178017221014".into()),
        }
    }

    #[test]
    fn error_types_parse_in_any_case() {
        assert_eq!(ApiErrorType::parse(Some("ISV")), ApiErrorType::Isv);
        assert_eq!(ApiErrorType::parse(Some("isp")), ApiErrorType::Isp);
        assert_eq!(ApiErrorType::parse(Some("System")), ApiErrorType::System);
        assert_eq!(ApiErrorType::parse(Some("BIZ")), ApiErrorType::Unspecified);
        assert_eq!(ApiErrorType::parse(None), ApiErrorType::Unspecified);
    }

    #[test]
    fn dispositions_follow_the_documented_errors() {
        use ApiErrorType::{Isp, Isv, System, Unspecified};
        let cases = [
            (System, "IllegalAccessToken", Disposition::RefreshToken),
            (Isv, "IllegalAccessToken", Disposition::RefreshToken),
            (System, "IllegalRefreshToken", Disposition::Reauthorize),
            (Isv, "AUTH_TYPE_UNSUPPORTED", Disposition::Reauthorize),
            (System, "IncompleteSignature", Disposition::Fail),
            (System, "ApiCallLimit", Disposition::Retry),
            (System, "AppCallLimit", Disposition::Retry),
            (System, "MissingParameter", Disposition::Fail),
            (Isv, "InvalidParameter", Disposition::Fail),
            // A backend service's failure is transient whatever its code; a business rule's is not.
            (Isp, "ServiceUnavailable", Disposition::Retry),
            (Isp, "500", Disposition::Retry),
            (Isv, "4143", Disposition::Fail),
            (System, "SomethingNew", Disposition::Fail),
            (Unspecified, "SomethingNew", Disposition::Fail),
        ];
        for (kind, code, want) in cases {
            assert_eq!(api(kind, code).disposition(), want, "{kind:?} {code}");
        }
        let http = |status| LazadaError::Http {
            status,
            body: String::new(),
        };
        assert_eq!(http(503).disposition(), Disposition::Retry);
        assert_eq!(http(429).disposition(), Disposition::Retry);
        assert_eq!(http(404).disposition(), Disposition::Fail);
        let bad_json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        assert_eq!(
            LazadaError::BadJson { source: bad_json }.disposition(),
            Disposition::Fail
        );
    }

    #[test]
    fn messages_tell_the_fix_in_both_languages() {
        let sign = api(ApiErrorType::System, "IncompleteSignature");
        assert_eq!((sign.code(), sign.status()), ("lazada.bad_signature", 502));
        assert!(sign.message_zh().contains("app_secret") && sign.message_en().contains("app_secret"));
        let token = api(ApiErrorType::System, "IllegalRefreshToken");
        assert_eq!(token.code(), "lazada.authorization_expired");
        assert!(token.message_zh().contains("重新授权") && token.message_en().contains("authorize again"));
        let isp = api(ApiErrorType::Isp, "E0001");
        assert_eq!(isp.code(), "lazada.service_error");
        assert!(isp.message_zh().contains("自动重试") && isp.message_en().contains("will retry"));
        let unknown = api(ApiErrorType::Isv, "BrandNewError");
        assert_eq!(unknown.code(), "lazada.api_error");
        assert!(unknown.message_zh().contains("BrandNewError") && unknown.message_en().contains("0ba28873"));
        assert!(unknown.message_en().contains("ISV"));
        let http = LazadaError::Http {
            status: 404,
            body: String::new(),
        };
        assert_eq!(http.code(), "lazada.http_status");
        assert!(http.message_zh().contains("404") && http.message_en().contains("404"));
    }
}
