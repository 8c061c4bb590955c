//! `POST /cgi-bin/appchat/create` and `POST /cgi-bin/appchat/send`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use serde_json::{Map, Value};

use super::content::{check, Channel};
use super::reply::{respond, ApiError, ApiResult};
use super::state::{random_id, Chat, Destination, Inner, MemberLimit, SimMessage, SimState};

/// Chat names longer than this are cut (WeCom truncates rather than refusing).
const CHAT_NAME_MAX_CHARS: usize = 50;

pub(crate) async fn create(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = query.get("access_token").map(String::as_str);
    let result = state.authorised(peer.ip(), token, &body, create_chat);
    respond(&state, peer.ip(), result)
}

pub(crate) async fn send(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = query.get("access_token").map(String::as_str);
    let result = state.authorised(peer.ip(), token, &body, send_to_chat);
    respond(&state, peer.ip(), result)
}

fn valid_chatid(chatid: &str) -> bool {
    !chatid.is_empty() && chatid.len() <= 32 && chatid.chars().all(|c| c.is_ascii_alphanumeric())
}

fn create_chat(state: &SimState, inner: &mut Inner, agent_id: i64, body: Map<String, Value>) -> ApiResult {
    // Only apps visible company-wide may create group chats ("no privilege").
    if state.config.partly_visible_apps.contains(&agent_id) {
        return Err(ApiError(60011));
    }
    let members: Vec<String> = body
        .get("userlist")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if !(2..=2000).contains(&members.len()) {
        return Err(ApiError(40058));
    }
    let known = &state.config.users;
    if !known.is_empty() && members.iter().any(|m| !known.iter().any(|k| k.eq_ignore_ascii_case(m))) {
        return Err(ApiError(40003));
    }
    if let Some(owner) = body.get("owner").and_then(Value::as_str) {
        if !members.iter().any(|m| m == owner) {
            return Err(ApiError(40058));
        }
    }
    let chatid = match body.get("chatid").and_then(Value::as_str) {
        Some(id) if !valid_chatid(id) => return Err(ApiError(86001)),
        Some(id) if inner.chats.contains_key(id) => return Err(ApiError(86215)),
        Some(id) => id.to_owned(),
        None => format!("wr{}", random_id(28)),
    };
    let name: String = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(CHAT_NAME_MAX_CHARS)
        .collect();
    inner.chats.insert(
        chatid.clone(),
        Chat {
            name,
            members,
            agent_id,
        },
    );
    let mut fields = Map::new();
    fields.insert("chatid".into(), chatid.into());
    Ok(fields)
}

fn send_to_chat(state: &SimState, inner: &mut Inner, agent_id: i64, body: Map<String, Value>) -> ApiResult {
    let chatid = body
        .get("chatid")
        .and_then(Value::as_str)
        .filter(|id| valid_chatid(id))
        .ok_or(ApiError(86001))?
        .to_owned();
    let chat = inner
        .chats
        .get(&chatid)
        .ok_or(ApiError(state.config.unknown_chat_errcode))?;
    if chat.agent_id != agent_id {
        return Err(ApiError(86008));
    }
    let members = chat.members.clone();
    let checked = check(&body, Channel::AppChat)?;
    let now = state.clock.now_ms();
    let (delivered, dropped) = state.deliver(inner, MemberLimit::AppChat, agent_id, &members, now);
    if !delivered.is_empty() {
        inner.record(SimMessage {
            id: 0,
            msgid: random_id(48),
            at_unix_ms: state.clock.unix_ms(),
            destination: Destination::AppChat {
                agentid: agent_id,
                chatid,
            },
            recipients: delivered,
            dropped,
            msgtype: checked.msgtype,
            body: checked.body,
        });
    }
    inner.stats.accepted += 1;
    Ok(Map::new())
}
