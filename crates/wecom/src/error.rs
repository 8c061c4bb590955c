//! Everything a WeCom call can fail with, whether to retry it, and what an admin should do.

use shoprelay_core::error::UserFacing;

/// What the delivery worker should do with a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Transient: try again later (network, timeout, 5xx, busy).
    Retry,
    /// WeCom throttled the caller (45009, 45033): back off without spending the message's attempts.
    Throttled,
    /// A configuration error an admin must fix (wrong Secret, untrusted IP, an app not visible
    /// company-wide, a forbidden API, a removed robot …): hold every message to the destination and
    /// tell the admins; nothing is the message's fault.
    Hold,
    /// The app group chat does not exist (yet): 86001 — what WeCom answers in practice — or 86003.
    /// A rule that may create it does so; otherwise the message cannot be delivered.
    ChatMissing,
    /// `appchat/create`: a chat with this chatid exists already (another replica may just have made it).
    ChatExists,
    /// Retrying cannot help this message until something (recipients, content) changes.
    Fail,
}

/// Errcodes an admin must fix in the WeCom console or in shoprelay's settings. 60011 (no privilege: the
/// app is not visible company-wide, which app group chats need) and 48002 (API forbidden for this app)
/// are among them — the console fixes them, not the message. So is 50001 (the login page's redirect domain
/// is not trusted by the app).
const CONFIG_ERRCODES: [i64; 12] = [
    40001, 40013, 60020, 40056, 301002, 93000, 93004, 93008, 86008, 60011, 48002, 50001,
];

/// Errcodes that clear up by themselves. The token codes only reach a caller after the one
/// refresh-and-retry already failed, which means the token churned under us, not bad credentials.
const RETRY_ERRCODES: [i64; 4] = [-1, 40014, 41001, 42001];

/// WeCom throttling the caller.
const THROTTLE_ERRCODES: [i64; 2] = [45009, 45033];

/// An app group chat that does not exist: 86001 ("invalid chatid", also for a well-formed id of a chat
/// not created yet) and 86003 ("chat not exist").
const CHAT_MISSING_ERRCODES: [i64; 2] = [86001, 86003];

/// `appchat/create` with a chatid in use.
const CHAT_EXISTS: i64 = 86215;

/// `gettoken`'s own refusals: the CorpID (40013), the Secret (40001, 40091), the caller's IP (60020), a
/// token request WeCom refused (42009).
const TOKEN_ERRCODES: [i64; 5] = [40001, 40013, 60020, 40091, 42009];

/// `message/send` with no valid recipient.
const RECIPIENTS_ALL_INVALID: i64 = 81013;

/// A WeCom login's `code` that is invalid, used or expired.
const LOGIN_CODE_INVALID: i64 = 40029;

/// A failed WeCom call.
#[derive(Debug, thiserror::Error)]
pub enum WeComError {
    /// No answer within the HTTP client's timeout.
    #[error("WeCom request timed out")]
    Timeout(#[source] reqwest::Error),
    /// Connection refused, DNS failure, TLS error, connection reset.
    #[error("cannot reach WeCom")]
    Transport(#[source] reqwest::Error),
    /// The configured API base is not a usable URL.
    #[error("invalid WeCom API base URL {api_base:?}")]
    InvalidBaseUrl {
        /// The configured base.
        api_base: String,
        /// Why reqwest refused it.
        #[source]
        source: reqwest::Error,
    },
    /// A non-2xx HTTP status (WeCom itself answers 200 even for errors).
    #[error("WeCom answered HTTP {status}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body, for the log.
        body: String,
    },
    /// A 2xx answer that is not WeCom's JSON.
    #[error("WeCom answered something that is not its JSON")]
    BadJson {
        /// The parse failure.
        #[source]
        source: serde_json::Error,
        /// The start of the body, for the log.
        body: String,
    },
    /// WeCom answered with a non-zero errcode.
    #[error("WeCom errcode {errcode}: {errmsg}")]
    Api {
        /// WeCom's errcode.
        errcode: i64,
        /// WeCom's errmsg (names the caller IP for 60020).
        errmsg: String,
    },
}

impl WeComError {
    /// Sorts a reqwest failure; the URL is dropped because it carries the token, secret or robot key.
    pub(crate) fn from_reqwest(err: reqwest::Error, api_base: &str) -> Self {
        let err = err.without_url();
        if err.is_builder() {
            WeComError::InvalidBaseUrl {
                api_base: api_base.to_owned(),
                source: err,
            }
        } else if err.is_timeout() {
            WeComError::Timeout(err)
        } else {
            WeComError::Transport(err)
        }
    }

    /// The error WeCom gives when no recipient of a message is valid. `message/send` answers recipients it
    /// partly refused with errcode 0 and the refused ones listed instead; a caller that named one member
    /// and got that member listed makes this error itself, so it reads like WeCom's own.
    pub fn recipients_unreachable(recipients: &str) -> Self {
        WeComError::Api {
            errcode: RECIPIENTS_ALL_INVALID,
            errmsg: format!("user {recipients} unreachable"),
        }
    }

    /// What to do about it: retry, back off, hold the destination, create the chat, or give up.
    pub fn disposition(&self) -> Disposition {
        match self {
            WeComError::Timeout(_) | WeComError::Transport(_) | WeComError::BadJson { .. } => Disposition::Retry,
            WeComError::Http { status, .. } if *status >= 500 || *status == 429 => Disposition::Retry,
            WeComError::InvalidBaseUrl { .. } => Disposition::Hold,
            WeComError::Api { errcode, .. } => match *errcode {
                c if RETRY_ERRCODES.contains(&c) => Disposition::Retry,
                c if THROTTLE_ERRCODES.contains(&c) => Disposition::Throttled,
                c if CONFIG_ERRCODES.contains(&c) => Disposition::Hold,
                c if CHAT_MISSING_ERRCODES.contains(&c) => Disposition::ChatMissing,
                CHAT_EXISTS => Disposition::ChatExists,
                _ => Disposition::Fail,
            },
            WeComError::Http { .. } => Disposition::Fail,
        }
    }

    /// True when an admin must change configuration (WeCom console or shoprelay) before it can work.
    pub fn is_config_error(&self) -> bool {
        self.disposition() == Disposition::Hold
    }

    /// True when waiting can help (a transient failure or WeCom's throttling).
    pub fn is_transient(&self) -> bool {
        matches!(self.disposition(), Disposition::Retry | Disposition::Throttled)
    }

    /// True when the access token could not be had (`gettoken` refused the CorpID, the Secret or the
    /// caller's IP) or WeCom could not be reached at all: nothing after the token was tried.
    pub fn failed_at_token(&self) -> bool {
        self.errcode().is_none_or(|code| TOKEN_ERRCODES.contains(&code))
    }

    /// True when a WeCom login's `code` was refused (invalid, used or expired): the visitor's to retry
    /// by scanning again, not a fault of the server.
    pub fn is_login_code_refused(&self) -> bool {
        self.errcode() == Some(LOGIN_CODE_INVALID)
    }

    /// WeCom's errcode, for the audit log.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WeComError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// WeCom's errmsg, for the audit log.
    pub fn errmsg(&self) -> Option<&str> {
        match self {
            WeComError::Api { errmsg, .. } => Some(errmsg),
            _ => None,
        }
    }

    /// For 60020: the caller IP WeCom saw, as named in errmsg ("… from ip: 1.2.3.4, …").
    pub fn untrusted_ip(&self) -> Option<&str> {
        let (_, rest) = self.errmsg()?.split_once("from ip: ")?;
        let ip = rest.split([',', ' ']).next()?.trim();
        (!ip.is_empty()).then_some(ip)
    }
}

impl UserFacing for WeComError {
    fn code(&self) -> &'static str {
        match self {
            WeComError::Timeout(_) => "wecom.timeout",
            WeComError::Transport(_) => "wecom.unreachable",
            WeComError::InvalidBaseUrl { .. } => "wecom.bad_api_base",
            WeComError::Http { .. } => "wecom.http_status",
            WeComError::BadJson { .. } => "wecom.bad_response",
            WeComError::Api { errcode, .. } => api_code(*errcode),
        }
    }

    fn status(&self) -> u16 {
        match self.errcode() {
            Some(44004 | 45002 | 40008 | 82001 | 81013 | 40003) => 422,
            _ if self.is_transient() => 503,
            _ => 502,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            WeComError::Timeout(_) => "企业微信接口响应超时，稍后会自动重试".into(),
            WeComError::Transport(_) => "无法连接企业微信：请检查服务器的网络、DNS 和代理设置，稍后会自动重试".into(),
            WeComError::InvalidBaseUrl { api_base, .. } => {
                format!("企业微信 API 地址「{api_base}」无效：请填写形如 https://qyapi.weixin.qq.com 的地址")
            }
            WeComError::Http { status, .. } if *status >= 500 => {
                format!("企业微信返回 HTTP {status}，稍后会自动重试")
            }
            WeComError::Http { status, .. } => {
                format!("企业微信返回 HTTP {status}：请检查 API 地址或代理配置")
            }
            WeComError::BadJson { .. } => {
                "企业微信返回了无法识别的内容：请检查 API 地址是否指向企业微信，稍后会自动重试".into()
            }
            WeComError::Api { errcode, errmsg } => {
                format!("{}（errcode {errcode}）", api_zh(*errcode, errmsg, self.untrusted_ip()))
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            WeComError::Timeout(_) => "WeCom did not answer in time; will retry".into(),
            WeComError::Transport(_) => {
                "cannot reach WeCom: check the server's network, DNS and proxy settings; will retry".into()
            }
            WeComError::InvalidBaseUrl { api_base, .. } => {
                format!("invalid WeCom API base {api_base:?}: use an address like https://qyapi.weixin.qq.com")
            }
            WeComError::Http { status, .. } if *status >= 500 => {
                format!("WeCom answered HTTP {status}; will retry")
            }
            WeComError::Http { status, .. } => {
                format!("WeCom answered HTTP {status}: check the API base URL and any proxy")
            }
            WeComError::BadJson { .. } => {
                "WeCom answered something unrecognisable: check that the API base points at WeCom; will retry".into()
            }
            WeComError::Api { errcode, errmsg } => {
                format!("{} (errcode {errcode})", api_en(*errcode, errmsg, self.untrusted_ip()))
            }
        }
    }
}

fn api_code(errcode: i64) -> &'static str {
    match errcode {
        40001 => "wecom.secret_rejected",
        40013 => "wecom.corp_id_invalid",
        40014 | 41001 | 42001 => "wecom.token_rejected",
        60020 => "wecom.ip_not_trusted",
        40056 => "wecom.agent_id_invalid",
        301002 => "wecom.agent_id_mismatch",
        81013 => "wecom.recipients_all_invalid",
        82001 => "wecom.recipients_empty",
        40003 => "wecom.user_invalid",
        93000 => "wecom.robot_key_invalid",
        93004 => "wecom.robot_disabled",
        93008 => "wecom.robot_not_in_chat",
        86001 => "wecom.chat_id_invalid",
        86003 => "wecom.chat_not_found",
        86008 => "wecom.chat_not_owned",
        86215 => "wecom.chat_exists",
        60011 => "wecom.no_privilege",
        48002 => "wecom.api_forbidden",
        40058 => "wecom.invalid_parameter",
        45009 => "wecom.rate_limited",
        45033 => "wecom.concurrency_limited",
        -1 => "wecom.busy",
        44004 => "wecom.empty_content",
        45002 => "wecom.content_too_long",
        40008 => "wecom.msgtype_invalid",
        40029 => "wecom.login_code_invalid",
        50001 => "wecom.redirect_domain_untrusted",
        _ => "wecom.api_error",
    }
}

fn api_zh(errcode: i64, errmsg: &str, ip: Option<&str>) -> String {
    match errcode {
        40001 => {
            "企业微信拒绝了应用 Secret：请在企业微信管理后台核对该应用的 Secret（应用停用或 Secret 重置后也会如此）"
                .into()
        }
        40013 => "企业 ID（CorpID）无效：请在企业微信管理后台「我的企业」页面核对企业 ID".into(),
        40014 | 41001 | 42001 => "企业微信 access_token 刷新后仍被拒绝，稍后会自动重试".into(),
        60020 => {
            let ip = ip.unwrap_or("本服务器的出口 IP");
            format!("{ip} 不在该应用的企业可信IP中：请在企业微信管理后台该应用的「企业可信IP」里添加 {ip}")
        }
        40056 => "应用 AgentId 无效：请在企业微信管理后台该应用的详情页核对 AgentId".into(),
        301002 => "AgentId 与 Secret 不属于同一个应用：请核对该应用的 AgentId 和 Secret 是否配对".into(),
        81013 => "所有接收人（成员、部门、标签）都无效：请核对 userid、部门 ID 和标签 ID，并确认它们在应用的可见范围内"
            .into(),
        82001 => "没有指定接收人：请在路由规则中至少设置一个成员、部门或标签".into(),
        40003 => "成员 userid 无效：请在企业微信通讯录中核对 userid".into(),
        93000 => "群机器人 Webhook Key 无效或机器人已被移出群聊：请在群里重新添加机器人并更新 Webhook 地址".into(),
        93004 => "群机器人已被停用：请在群设置中重新启用该机器人".into(),
        93008 => "群机器人已不在群聊中：请把机器人重新加入群聊并更新 Webhook 地址".into(),
        86001 => "群聊 chatid 无效或群聊尚未创建：chatid 只能包含字母和数字，最长 32 位；群聊需先由本应用创建".into(),
        86215 => "该 chatid 的群聊已存在".into(),
        60011 => "应用没有权限：创建群聊要求应用的可见范围为根部门（全公司），读取部门、标签成员要求它们在应用的可见范围内；请在企业微信管理后台调整该应用的可见范围".into(),
        48002 => "该应用无权调用此接口：请在企业微信管理后台确认应用类型与接口权限（应用群聊只能由自建应用创建）".into(),
        40058 => "请求参数不合法（例如群机器人 markdown 超过 4096 字节）".into(),
        86003 => "群聊不存在：请核对 chatid，或先用该应用创建群聊".into(),
        86008 => "该群聊不是由本应用创建的：应用只能向自己创建的群聊发消息，请改用创建该群的应用".into(),
        45009 => "企业微信接口调用频率超限，稍后会自动重试".into(),
        45033 => "企业微信接口并发调用超限，稍后会自动重试".into(),
        -1 => "企业微信系统繁忙，稍后会自动重试".into(),
        44004 => "消息内容为空：请检查消息模板是否生成了内容".into(),
        45002 => "消息内容超过长度限制：请缩短消息模板".into(),
        40008 => "消息类型不受支持：该目标不接受此类消息（例如应用群聊不支持模板卡片）".into(),
        40029 => "扫码登录的 code 无效、已使用或已过期（只能用一次，5 分钟内有效）：请回到登录页重新扫码".into(),
        50001 => "登录回调地址的域名不是该应用的可信域名：请在企业微信管理后台该应用的「企业微信授权登录」里把 shoprelay 控制台的域名（public_url 的域名）设为可信域名".into(),
        _ => format!("企业微信返回错误：{errmsg}"),
    }
}

fn api_en(errcode: i64, errmsg: &str, ip: Option<&str>) -> String {
    match errcode {
        40001 => "corp secret rejected: check the app's Secret in the WeCom admin console (a disabled app or a reset Secret also causes this)".into(),
        40013 => "invalid corp id: check the CorpID on the My Company page of the WeCom admin console".into(),
        40014 | 41001 | 42001 => "WeCom rejected the access token even after a refresh; will retry".into(),
        60020 => {
            let ip = ip.unwrap_or("this server's outgoing IP");
            format!("{ip} is not among the app's trusted IPs: add {ip} to the app's Trusted IPs (企业可信IP) in the WeCom admin console")
        }
        40056 => "invalid AgentId: check the app's AgentId on its page in the WeCom admin console".into(),
        301002 => "AgentId and Secret belong to different apps: check that the app's AgentId and Secret match".into(),
        81013 => "all recipients (members, departments, tags) are invalid: check the userids, department and tag ids, and that they are in the app's visible range".into(),
        82001 => "no recipient given: set at least one member, department or tag in the routing rule".into(),
        40003 => "invalid member userid: check it in the WeCom contacts".into(),
        93000 => "group robot webhook key invalid or robot removed: add the robot to the group again and update the webhook URL".into(),
        93004 => "group robot disabled: enable it again in the group settings".into(),
        93008 => "group robot is no longer in the group: add it back and update the webhook URL".into(),
        86001 => "invalid chatid, or the chat is not created yet: letters and digits only, at most 32; the chat must be created by this app first".into(),
        86215 => "a group chat with this chatid exists already".into(),
        60011 => "the app has no privilege: group chats need the app to be visible company-wide (its visible range the root department), and reading department or tag members needs them in its visible range; change the app's visible range in the WeCom admin console".into(),
        48002 => "this app may not call this API: check the app's type and API permissions in the WeCom admin console (only self-built apps create group chats)".into(),
        40058 => "invalid parameter (for example a group robot markdown over 4096 bytes)".into(),
        86003 => "no such group chat: check the chatid, or create the chat with this app first".into(),
        86008 => "this group chat was not created by this app: an app can only send to chats it created".into(),
        45009 => "WeCom rate limit hit; will retry".into(),
        45033 => "too many concurrent WeCom calls; will retry".into(),
        -1 => "WeCom is busy; will retry".into(),
        44004 => "empty message: check that the message template produces content".into(),
        45002 => "message too long: shorten the message template".into(),
        40008 => "message type not supported by this destination (e.g. app group chats take no template cards)".into(),
        40029 => "the login code is invalid, used or expired (it works once, for 5 minutes): go back to the login page and scan again".into(),
        50001 => "the login redirect's domain is not trusted by the app: in the WeCom admin console, set the domain of shoprelay's public_url as the app's trusted domain under its WeCom login (企业微信授权登录) settings".into(),
        _ => format!("WeCom returned an error: {errmsg}"),
    }
}

#[cfg(test)]
mod tests;
