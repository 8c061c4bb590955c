//! Web login by QR scan (doc 98171): WeCom's login page, the scan, and `GET /cgi-bin/auth/getuserinfo`.
//!
//! `GET /wwlogin/sso/login?login_type=CorpApp&appid&agentid&redirect_uri&state` checks the link as WeCom
//! does — the corp, the app, and that `redirect_uri` is on a domain the app trusts (`login_domains`; else
//! the page shows errcode 50001 and sends nobody back) — then lists the corp's members to scan as. A scan
//! (a click here, or [`super::WeComSim::scan_login`] in tests) mints a code and sends the browser to
//! `redirect_uri?code=…&state=…`. `getuserinfo` takes each code once, within `login_code_ttl_secs`
//! (WeCom: 5 minutes) by the simulator's clock, from the app it was minted for; anything else is 40029.
//! A member is answered `{userid}`; someone outside the directory `{openid}`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::Map;
use url::Url;

use super::page::escape;
use super::reply::{respond, ApiError};
use super::state::{random_id, SimState};

/// A code handed out by a scan.
#[derive(Debug, Clone)]
pub(crate) struct LoginCode {
    agent_id: i64,
    /// The member's userid as the directory spells it, or `None` for someone outside the corp.
    userid: Option<String>,
    /// Unix milliseconds.
    expires_at: i64,
}

type Params = Query<HashMap<String, String>>;

impl SimState {
    /// A scan of app `agent_id`'s login QR code by `userid`: a fresh single-use code. Someone the
    /// directory does not know (when it lists anyone) is answered as an outsider.
    pub(crate) fn scan_login(&self, agent_id: i64, userid: &str) -> String {
        let everyone = self.config.everyone();
        let member = if everyone.is_empty() {
            (!userid.is_empty()).then(|| userid.to_owned())
        } else {
            everyone.into_iter().find(|m| m.eq_ignore_ascii_case(userid))
        };
        let ttl_ms = i64::try_from(self.config.login_code_ttl_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
        let now = self.clock.now_ms();
        let code = random_id(32);
        let mut inner = self.lock();
        inner.login_codes.retain(|_, c| now < c.expires_at);
        inner.login_codes.insert(
            code.clone(),
            LoginCode {
                agent_id,
                userid: member,
                expires_at: now.saturating_add(ttl_ms),
            },
        );
        code
    }

    /// Whether the app trusts `redirect_uri`'s host for its login (any host while none is configured).
    fn trusts_redirect(&self, redirect_uri: &str) -> bool {
        let Some(host) = Url::parse(redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
        else {
            return false;
        };
        let domains = &self.config.login_domains;
        domains.is_empty() || domains.iter().any(|d| d.eq_ignore_ascii_case(&host))
    }
}

/// `GET /cgi-bin/auth/getuserinfo?access_token&code`.
pub(crate) async fn getuserinfo(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Params,
) -> Response {
    let result = (|| {
        let mut inner = state.lock();
        let token = query.get("access_token").map(String::as_str);
        let now = state.clock.now_ms();
        let agent_id = inner.check_token(token, now, state.config.expired_token_errcode)?;
        state.check_ip(peer.ip())?;
        let code = query.get("code").filter(|c| !c.is_empty()).ok_or(ApiError(41008))?;
        // Spent whatever the outcome, as WeCom does: a code is tried once.
        let issued = inner.login_codes.remove(code).ok_or(ApiError(40029))?;
        if issued.agent_id != agent_id || now >= issued.expires_at {
            return Err(ApiError(40029));
        }
        let mut fields = Map::new();
        match issued.userid {
            Some(userid) => fields.insert("userid".into(), userid.into()),
            None => fields.insert("openid".into(), format!("o{}", random_id(27)).into()),
        };
        Ok(fields)
    })();
    respond(&state, peer.ip(), result)
}

/// Checks a login link as WeCom's login page does; the app's AgentId, or the errcode the page shows.
fn check_link(state: &SimState, query: &HashMap<String, String>) -> Result<i64, i64> {
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or("");
    if get("login_type") != "CorpApp" {
        return Err(40058);
    }
    if get("appid") != state.config.corp_id {
        return Err(40013);
    }
    let agent_id = get("agentid")
        .parse::<i64>()
        .ok()
        .filter(|id| state.config.apps.iter().any(|a| a.agent_id == *id))
        .ok_or(40056)?;
    if !state.trusts_redirect(get("redirect_uri")) {
        return Err(50001);
    }
    Ok(agent_id)
}

/// `GET /wwlogin/sso/login`: the "QR code" — the corp's members, each a link that scans as them.
pub(crate) async fn login_page(State(state): State<Arc<SimState>>, Query(query): Params) -> Response {
    if let Err(errcode) = check_link(&state, &query) {
        return refusal(errcode);
    }
    let keep = ["login_type", "appid", "agentid", "redirect_uri", "state"];
    let mut links = String::new();
    let prefix = "/wwlogin/sso/scan?";
    // The last link scans as someone outside the corp (no userid), answered with an openid.
    for userid in state.config.everyone().iter().map(String::as_str).chain([""]) {
        let mut href = url::form_urlencoded::Serializer::for_suffix(prefix.to_owned(), prefix.len());
        href.extend_pairs(keep.iter().map(|k| (*k, query.get(*k).map_or("", String::as_str))));
        href.append_pair("userid", userid);
        let who = if userid.is_empty() {
            "企业外人员 · someone outside the corp"
        } else {
            userid
        };
        links.push_str(&format!(
            "<li><a href=\"{}\">扫码登录 · scan as {}</a></li>",
            escape(&href.finish()),
            escape(who)
        ));
    }
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>企业微信登录（模拟）</title>\
         <h1>企业微信扫码登录 · WeCom login (simulated)</h1><ul>{links}</ul>"
    ))
    .into_response()
}

/// `GET /wwlogin/sso/scan?…&userid=`: the member confirmed the login on their phone.
pub(crate) async fn scan(State(state): State<Arc<SimState>>, Query(query): Params) -> Response {
    let agent_id = match check_link(&state, &query) {
        Ok(id) => id,
        Err(errcode) => return refusal(errcode),
    };
    let code = state.scan_login(agent_id, query.get("userid").map_or("", String::as_str));
    let redirect = query.get("redirect_uri").map_or("", String::as_str);
    let mut back = match Url::parse(redirect) {
        Ok(url) => url,
        Err(_) => return refusal(50001),
    };
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", query.get("state").map_or("", String::as_str));
    Redirect::to(back.as_str()).into_response()
}

/// WeCom's login page shows the error itself; nobody is sent back.
fn refusal(errcode: i64) -> Response {
    let why = match errcode {
        50001 => "redirect_uri 的域名不是该应用的可信域名 · redirect_uri domain not trusted",
        40013 => "appid 无效 · invalid corpid",
        40056 => "agentid 无效 · invalid agentid",
        _ => "参数错误 · invalid parameter",
    };
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>企业微信登录（模拟）</title><h1>errcode {errcode}</h1><p>{why}</p>"
        )),
    )
        .into_response()
}
