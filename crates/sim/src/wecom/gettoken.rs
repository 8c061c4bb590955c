//! `GET /cgi-bin/gettoken`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use serde_json::Map;

use super::reply::{respond, ApiError, ApiResult};
use super::state::{random_id, SimState, TokenInfo};

/// Expired tokens are kept this long so they keep answering "expired" rather than "invalid".
const EXPIRED_TOKEN_MEMORY_MS: i64 = 86_400_000;

pub(crate) async fn gettoken(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = issue(
        &state,
        query.get("corpid").map(String::as_str),
        query.get("corpsecret").map(String::as_str),
    );
    respond(&state, peer.ip(), result)
}

fn issue(state: &SimState, corp_id: Option<&str>, secret: Option<&str>) -> ApiResult {
    let mut inner = state.lock();
    inner.stats.gettoken_calls += 1;
    if corp_id != Some(state.config.corp_id.as_str()) {
        return Err(ApiError(40013));
    }
    let app = state
        .config
        .apps
        .iter()
        .find(|app| Some(app.secret.as_str()) == secret)
        .ok_or(ApiError(40001))?;
    let now = state.clock.now_ms();
    inner.tokens.retain(|_, t| now < t.expires_at + EXPIRED_TOKEN_MEMORY_MS);
    // Within its lifetime WeCom hands out the same token again.
    let live = inner
        .tokens
        .iter()
        .find(|(_, t)| t.agent_id == app.agent_id && !t.force_expired && now < t.expires_at)
        .map(|(token, t)| (token.clone(), t.expires_at));
    let (token, expires_at) = live.unwrap_or_else(|| {
        let token = random_id(64);
        let ttl_ms = i64::try_from(state.config.limits.token_ttl_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(ttl_ms);
        let info = TokenInfo {
            agent_id: app.agent_id,
            expires_at,
            force_expired: false,
        };
        inner.tokens.insert(token.clone(), info);
        (token, expires_at)
    });
    let mut fields = Map::new();
    fields.insert("access_token".into(), token.into());
    fields.insert("expires_in".into(), ((expires_at - now).max(0) / 1_000).into());
    Ok(fields)
}
