//! Web login by QR scan (企业微信扫码登录, doc 98171): the link to WeCom's login page, and who scanned.
//!
//! The browser goes to `login.work.weixin.qq.com/wwlogin/sso/login` with the app's CorpID and AgentId, a
//! `redirect_uri` on a domain trusted by the app and a `state`; after the scan WeCom sends it back to
//! `redirect_uri?code=…&state=…`. `GET /cgi-bin/auth/getuserinfo?access_token&code` then names the member
//! (`userid`) or, for someone outside the corp, an `openid`. A code works once, for 5 minutes.

use serde::Deserialize;
use shoprelay_core::ids::WeComUserId;

use crate::client::{AppCredentials, WeComClient, DEFAULT_API_BASE};
use crate::error::WeComError;

/// WeCom's production login host.
pub const DEFAULT_LOGIN_BASE: &str = "https://login.work.weixin.qq.com";

/// Who scanned the login QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentity {
    /// A member of the corp.
    Member(WeComUserId),
    /// Someone outside the corp (WeCom names them only by an openid).
    NonMember {
        /// WeCom's openid of the person.
        openid: String,
    },
}

#[derive(Deserialize)]
struct UserInfoReply {
    #[serde(default)]
    userid: Option<String>,
    #[serde(default)]
    openid: Option<String>,
}

/// Reads a `getuserinfo` answer (its errcode already checked): a member's `userid`, else an `openid`.
pub fn parse_userinfo(reply: &serde_json::Value) -> Result<LoginIdentity, serde_json::Error> {
    use serde::de::Error as _;
    let reply = UserInfoReply::deserialize(reply)?;
    match (
        reply.userid.filter(|u| !u.is_empty()),
        reply.openid.filter(|o| !o.is_empty()),
    ) {
        (Some(userid), _) => WeComUserId::parse(&userid)
            .map(LoginIdentity::Member)
            .map_err(serde_json::Error::custom),
        (None, Some(openid)) => Ok(LoginIdentity::NonMember { openid }),
        (None, None) => Err(serde_json::Error::custom("neither userid nor openid")),
    }
}

/// The login host that goes with an API host: WeCom's own for WeCom's API, else the same host (a
/// simulator serves both, so tests and the demo never leave the machine).
pub fn login_base(api_base: &str) -> &str {
    let api_base = api_base.trim_end_matches('/');
    if api_base == DEFAULT_API_BASE {
        DEFAULT_LOGIN_BASE
    } else {
        api_base
    }
}

/// The WeCom login page for the app, sending the browser back to `redirect_uri` with `state`.
pub fn sso_login_url(creds: &AppCredentials, redirect_uri: &str, state: &str) -> String {
    let agent_id = creds.agent_id.to_string();
    let base = format!("{}/wwlogin/sso/login", login_base(&creds.api_base));
    let params = [
        ("login_type", "CorpApp"),
        ("appid", creds.corp_id.as_str()),
        ("agentid", agent_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("state", state),
    ];
    match reqwest::Url::parse_with_params(&base, params) {
        Ok(url) => url.into(),
        // An API base that is no URL fails the same way when the code is exchanged; the link shows it.
        Err(_) => base,
    }
}

impl WeComClient {
    /// `GET /cgi-bin/auth/getuserinfo?code=`: who scanned. A spent, expired or foreign code is WeCom's
    /// errcode 40029; a login page whose redirect domain the app does not trust, 50001.
    pub async fn login_identity(&self, creds: &AppCredentials, code: &str) -> Result<LoginIdentity, WeComError> {
        let reply: serde_json::Value = self
            .get_with_token(creds, "/cgi-bin/auth/getuserinfo", &[("code", code)])
            .await?;
        parse_userinfo(&reply).map_err(|source| WeComError::BadJson {
            source,
            body: String::new(),
        })
    }
}

#[cfg(test)]
mod tests;
