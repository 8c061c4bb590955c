//! `/api/v1`: the audit log, the service status and dead letters replayed, as JSON.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use shoprelay_core::error::UserFacing;
use shoprelay_engine::service::audit::{known_platform, UnknownPlatform};
use shoprelay_engine::service::status::Status;
use shoprelay_store::{AuditEntry, AuditFilter, AuditKind, AuditOutcome, ReplayFilter};

use crate::error::ApiError;
use crate::AppState;

/// The API token is missing or wrong.
#[derive(Debug, thiserror::Error)]
#[error("missing or wrong API token")]
pub struct Unauthorized;

impl UserFacing for Unauthorized {
    fn code(&self) -> &'static str {
        "api.unauthorized"
    }
    fn status(&self) -> u16 {
        401
    }
    fn message_zh(&self) -> String {
        "缺少或错误的 API 令牌：请在请求头加入 Authorization: Bearer <server.api_token>".into()
    }
    fn message_en(&self) -> String {
        "Missing or wrong API token: send Authorization: Bearer <server.api_token>".into()
    }
}

/// A query parameter that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(pub String);

impl UserFacing for BadQuery {
    fn code(&self) -> &'static str {
        "api.bad_query"
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        format!(
            "查询参数有误：{}（时间为毫秒时间戳，kind 为 push、delivery、auth、privacy 或 callback，outcome 为审计结果名，如 accepted、delivered）",
            self.0
        )
    }
    fn message_en(&self) -> String {
        format!(
            "Bad query parameter: {} (times are unix milliseconds; kind is push, delivery, auth, privacy or callback; outcome is an audit outcome such as accepted or delivered)",
            self.0
        )
    }
}

/// Checks the bearer token when the server has one.
pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match &state.api_token {
        Some(token) if !token.admits(headers) => Err(Unauthorized.into()),
        _ => Ok(()),
    }
}

/// `GET /api/v1/audit` query: each parameter narrows.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    kind: Option<AuditKind>,
    /// A marketplace shoprelay connects to (`shopee`, `lazada`, `tiktok`).
    platform: Option<String>,
    shop_id: Option<i64>,
    order_sn: Option<String>,
    outcome: Option<AuditOutcome>,
    from: Option<i64>,
    to: Option<i64>,
    before_id: Option<i64>,
    limit: Option<i64>,
}

impl AuditQuery {
    fn into_filter(self) -> Result<AuditFilter, UnknownPlatform> {
        Ok(AuditFilter {
            kind: self.kind,
            platform: self.platform.as_deref().map(known_platform).transpose()?,
            shop_id: self.shop_id,
            order_sn: self.order_sn,
            outcome: self.outcome,
            destination: None,
            from: self.from,
            to: self.to,
            before_id: self.before_id,
            limit: self.limit,
        })
    }
}

/// `GET /api/v1/audit?kind&platform&shop_id&order_sn&outcome&from&to&before_id&limit` — newest first.
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    authorize(&state, &headers)?;
    let Query(query) = query.map_err(|e| BadQuery(e.body_text()))?;
    let filter = query.into_filter()?;
    Ok(Json(state.engine.audit().query(&filter).await?))
}

/// Queue depths and shop authorizations.
pub async fn status(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Status>, ApiError> {
    authorize(&state, &headers)?;
    Ok(Json(state.engine.status().report().await?))
}

/// How many dead letters were queued again.
#[derive(Debug, Serialize)]
pub struct Replayed {
    replayed: u64,
}

/// `POST /api/v1/deliveries/replay` with a JSON filter: dead letters go back in the queue.
pub async fn replay(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ReplayFilter>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Replayed>, ApiError> {
    authorize(&state, &headers)?;
    let Json(filter) = body.map_err(|e| BadQuery(e.body_text()))?;
    let replayed = state.engine.queues().replay_dead(&filter).await?;
    Ok(Json(Replayed { replayed }))
}
