//! `/api/v1`: the audit log, the service status and dead letters replayed, as JSON.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};
use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;
use shoprelay_core::error::UserFacing;
use shoprelay_engine::service::audit::known_platform;
use shoprelay_engine::service::status::Status;
use shoprelay_store::{AuditEntry, AuditFilter, AuditKind, AuditOutcome, ReplayFilter};

use crate::error::ApiError;
use crate::guard::Caller;
use crate::AppState;

/// The API token is missing, wrong or revoked.
#[derive(Debug, thiserror::Error)]
#[error("missing, wrong or revoked API token")]
pub struct Unauthorized;

impl UserFacing for Unauthorized {
    fn code(&self) -> &'static str {
        "api.unauthorized"
    }
    fn status(&self) -> u16 {
        401
    }
    fn message_zh(&self) -> String {
        "缺少、错误或已吊销的 API 令牌：请在请求头加入 Authorization: Bearer <令牌>（server.api_token，或 `shoprelay tokens create` 创建的令牌）".into()
    }
    fn message_en(&self) -> String {
        "Missing, wrong or revoked API token: send Authorization: Bearer <token> (server.api_token, or one made with `shoprelay tokens create`)".into()
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

/// Checks the configured bearer token when the server has one (`/metrics`; `/api/v1` has [`crate::guard::api_access`]).
pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match &state.api_token {
        Some(token) if !token.admits(headers) => Err(Unauthorized.into()),
        _ => Ok(()),
    }
}

/// `GET /api/v1/audit` query: each parameter narrows.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Kind of entry.
    kind: Option<AuditKind>,
    /// A marketplace shoprelay connects to (`shopee`, `lazada`, `tiktok`).
    platform: Option<String>,
    /// Shop.
    shop_id: Option<i64>,
    /// Order number.
    order_sn: Option<String>,
    /// How it ended.
    outcome: Option<AuditOutcome>,
    /// Where a delivery went: `wecom_app:ID`, `robot:ID`, `appchat:APP:CHATID` or `webhook:ID`.
    destination: Option<String>,
    /// At or after (unix ms).
    from: Option<i64>,
    /// Before (unix ms).
    to: Option<i64>,
    /// Only ids below this one (the next page).
    before_id: Option<i64>,
    /// At most this many.
    limit: Option<i64>,
}

impl AuditQuery {
    fn into_filter(self) -> Result<AuditFilter, ApiError> {
        let destination = self
            .destination
            .as_deref()
            .map(Destination::parse)
            .transpose()
            .map_err(|e| BadQuery(e.to_string()))?;
        Ok(AuditFilter {
            kind: self.kind,
            platform: self.platform.as_deref().map(known_platform).transpose()?,
            shop_id: self.shop_id,
            order_sn: self.order_sn,
            outcome: self.outcome,
            destination,
            from: self.from.map(UnixMs::from_millis),
            to: self.to.map(UnixMs::from_millis),
            before_id: self.before_id,
            limit: self.limit,
        })
    }
}

/// `GET /api/v1/audit?kind&platform&shop_id&order_sn&outcome&destination&from&to&before_id&limit` — newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses(
    (status = 200, description = "Audit entries, newest first", body = Vec<AuditEntry>),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
pub async fn audit(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let Query(query) = query.map_err(|e| BadQuery(e.body_text()))?;
    let filter = query.into_filter()?;
    Ok(Json(state.engine.audit().query(&filter).await?))
}

/// Queue depths and shop authorizations.
#[utoipa::path(get, path = "/api/v1/status", tag = "status", responses(
    (status = 200, description = "Queues, shops and long connections", body = Status),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
pub async fn status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    Ok(Json(state.engine.status().report().await?))
}

/// How many dead letters were queued again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Replayed {
    /// Dead letters queued again.
    replayed: u64,
}

/// `POST /api/v1/deliveries/replay` with a JSON filter: dead letters go back in the queue.
#[utoipa::path(post, path = "/api/v1/deliveries/replay", tag = "deliveries", request_body = ReplayFilter, responses(
    (status = 200, description = "How many were queued again", body = Replayed),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
pub async fn replay(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<ReplayFilter>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Replayed>, ApiError> {
    let Json(filter) = body.map_err(|e| BadQuery(e.body_text()))?;
    let replayed = state.engine.queues().replay_dead(&filter).await?;
    let target = filter.destination.as_ref().map(ToString::to_string);
    let detail = format!("{replayed} dead letters queued again; {filter:?}");
    caller
        .record(&state, "deliveries.replay", target.as_deref(), detail)
        .await?;
    Ok(Json(Replayed { replayed }))
}
