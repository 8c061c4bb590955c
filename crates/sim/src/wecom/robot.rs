//! `POST /cgi-bin/webhook/send?key=`: group robots, 20 messages per minute each.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use serde_json::{Map, Value};

use super::content::{check, parse_object, Channel};
use super::limits::Window;
use super::reply::{respond, ApiError, ApiResult};
use super::state::{random_id, Destination, SimMessage, SimState};

/// Who a robot message mentions: a text's `mentioned_list` (where `@all` mentions everyone), or the
/// `<@userid>` mentions of a markdown — where WeCom cannot mention everyone, so `<@all>` mentions nobody.
fn mentions(body: &Value) -> Vec<String> {
    if let Some(list) = body.pointer("/text/mentioned_list").and_then(Value::as_array) {
        return list.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    }
    let content = ["/markdown/content", "/markdown_v2/content"]
        .iter()
        .find_map(|p| body.pointer(p).and_then(Value::as_str))
        .unwrap_or_default();
    content
        .split("<@")
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(id, _)| id))
        .filter(|id| {
            let everyone = id.eq_ignore_ascii_case("all") || id.eq_ignore_ascii_case("@all");
            !id.is_empty() && !everyone
        })
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn send(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let key = query.get("key").map(String::as_str);
    let result = send_robot(&state, key, &body);
    respond(&state, peer.ip(), result)
}

fn send_robot(state: &SimState, key: Option<&str>, raw: &[u8]) -> ApiResult {
    let key = key
        .filter(|k| state.config.robot_keys.iter().any(|known| known == k))
        .ok_or(ApiError(93000))?;
    let body = parse_object(raw)?;
    let checked = check(&body, Channel::Robot)?;
    let now = state.clock.now_ms();
    let mut inner = state.lock();
    let limits = &state.config.limits;
    let window = [Window::per_minute(limits.robot_per_minute)];
    if !inner.robot_log.try_acquire(key.to_owned(), now, &window) {
        return Err(ApiError(45009));
    }
    let mentioned = mentions(&checked.body);
    inner.record(SimMessage {
        id: 0,
        msgid: random_id(48),
        at_unix_ms: state.clock.unix_ms(),
        destination: Destination::Robot { key: key.to_owned() },
        recipients: mentioned,
        dropped: Vec::new(),
        msgtype: checked.msgtype,
        body: checked.body,
    });
    inner.stats.accepted += 1;
    Ok(Map::new())
}
