//! WeCom's answer format: HTTP 200 and `{"errcode", "errmsg", …}`, errmsg in WeCom's wording.

use std::net::IpAddr;

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use super::state::{random_id, SimState};

/// A refusal, by errcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApiError(pub(crate) i64);

/// The extra fields of a successful answer, or the errcode.
pub(crate) type ApiResult = Result<Map<String, Value>, ApiError>;

/// Turns a handler's result into WeCom's JSON, counting refusals.
pub(crate) fn respond(state: &SimState, peer: IpAddr, result: ApiResult) -> Response {
    match result {
        Ok(mut fields) => {
            fields.insert("errcode".into(), 0.into());
            fields.insert("errmsg".into(), "ok".into());
            Json(Value::Object(fields)).into_response()
        }
        Err(ApiError(errcode)) => {
            state.lock().count_rejected(errcode);
            error_body(state, errcode, peer).into_response()
        }
    }
}

/// `{"errcode": N, "errmsg": "<reason>, hint: [...], from ip: X, more info at ..."}`.
pub(crate) fn error_body(state: &SimState, errcode: i64, peer: IpAddr) -> Json<Value> {
    let errmsg = format!(
        "{}, hint: [{}_{}], from ip: {}, more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}",
        reason(errcode),
        state.clock.unix_ms() / 1000,
        random_id(16),
        peer.to_canonical(),
    );
    Json(serde_json::json!({ "errcode": errcode, "errmsg": errmsg }))
}

fn reason(errcode: i64) -> &'static str {
    match errcode {
        -1 => "system busy",
        40001 => "invalid credential",
        40003 => "invalid userid",
        40008 => "invalid message type",
        40013 => "invalid corpid",
        40014 => "invalid access_token",
        40029 => "invalid code",
        40056 => "invalid agentid",
        40058 => "invalid parameter",
        40068 => "invalid tagid",
        41001 => "access_token missing",
        41008 => "missing code",
        42001 => "access_token expired",
        44004 => "empty content",
        48002 => "api forbidden",
        50001 => "redirect_url not trusted",
        45002 => "content size out of limit",
        45008 => "article size out of limit",
        45009 => "api freq out of limit",
        45033 => "api concurrent out of limit",
        47001 => "data format error",
        60003 => "department not found",
        60011 => "no privilege to access/modify contact/party/agent",
        60020 => "not allow to access from your ip",
        81013 => "user & party & tag all invalid",
        82001 => "All touser & toparty & totag invalid",
        86001 => "invalid chatid",
        86003 => "chat not exist",
        86008 => "chat not created by this app",
        86215 => "chatid exists",
        93000 => "invalid webhook url",
        93004 => "webhook disabled",
        93008 => "not in chat",
        301002 => "access_token and agentid mismatch",
        _ => "error",
    }
}
