//! `/api/v1`: the audit log and the service status, as JSON.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use shoprelay_core::error::UserFacing;

use shoprelay_store::{AuditEntry, AuditFilter, AuditKind, AuditOutcome, QueueDepths, ReplayFilter, ShopAuthStatus};

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
            "查询参数有误：{}（时间为毫秒时间戳，kind 为 push、delivery、auth、privacy 或 callback）",
            self.0
        )
    }
    fn message_en(&self) -> String {
        format!(
            "Bad query parameter: {} (times are unix milliseconds; kind is push, delivery, auth, privacy or callback)",
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
    shop_id: Option<i64>,
    order_sn: Option<String>,
    outcome: Option<AuditOutcome>,
    from: Option<i64>,
    to: Option<i64>,
    before_id: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/v1/audit?kind&shop_id&order_sn&outcome&from&to&before_id&limit` — newest first.
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    authorize(&state, &headers)?;
    let Query(q) = query.map_err(|e| BadQuery(e.body_text()))?;
    let filter = AuditFilter {
        kind: q.kind,
        platform: None,
        shop_id: q.shop_id,
        order_sn: q.order_sn,
        outcome: q.outcome,
        from: q.from,
        to: q.to,
        before_id: q.before_id,
        limit: q.limit,
    };
    Ok(Json(state.engine.store.query_audit(&filter).await?))
}

/// One shop's authorization state, without its tokens.
#[derive(Debug, Serialize)]
pub struct ShopStatus {
    app_id: String,
    shop_id: u64,
    status: ShopAuthStatus,
    status_reason: Option<String>,
    access_expires_at: i64,
}

/// `GET /api/v1/status`.
#[derive(Debug, Serialize)]
pub struct Status {
    backend: &'static str,
    queues: QueueDepths,
    shops: Vec<ShopStatus>,
}

/// Queue depths and shop authorizations.
pub async fn status(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Status>, ApiError> {
    authorize(&state, &headers)?;
    let store = &state.engine.store;
    let shops = store
        .list_shop_auth()
        .await?
        .into_iter()
        .map(|a| ShopStatus {
            app_id: a.app_id.to_string(),
            shop_id: a.shop_id.get(),
            status: a.status,
            status_reason: a.status_reason,
            access_expires_at: a.access_expires_at,
        })
        .collect();
    Ok(Json(Status {
        backend: store.backend(),
        queues: store.queue_depths().await?,
        shops,
    }))
}

/// An empty replay filter would resend every dead letter ever kept.
#[derive(Debug, thiserror::Error)]
#[error("a replay needs a filter: id, destination, shop_id or a time range")]
pub struct EmptyReplay;

impl UserFacing for EmptyReplay {
    fn code(&self) -> &'static str {
        "replay.empty_filter"
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        "重发需要筛选条件：id、destination、shop_id 或时间范围（from/to，毫秒时间戳）".into()
    }
    fn message_en(&self) -> String {
        "A replay needs a filter: id, destination, shop_id or a time range (from/to, unix ms)".into()
    }
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
    if filter.is_empty() {
        return Err(EmptyReplay.into());
    }
    let mut replayed = 0;
    loop {
        let n = state
            .engine
            .store
            .replay_dead(&filter, state.engine.clock.now_ms(), 1_000)
            .await?;
        replayed += n;
        if n == 0 {
            break;
        }
    }
    state.engine.wake_outbox();
    Ok(Json(Replayed { replayed }))
}
