//! Operations: liveness, readiness, Prometheus metrics and the console's front page.

use shoprelay_marketplaces::platform::{self, display_name};
use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use shoprelay_core::neutralize::html::escape;

use crate::api::authorize;
use crate::AppState;

/// The process-wide Prometheus recorder (metrics are global; installed once).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only this one's data");
        }
        handle
    })
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.engine.queues().depths().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(err) => {
            tracing::warn!(error = ?err, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text, with queue depths read at scrape time. Behind the API token (when
/// there is one) unless `[server] metrics_public`.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.metrics_public {
        if let Err(err) = authorize(&state, &headers) {
            return err.into_response();
        }
    }
    if let Ok(q) = state.engine.queues().depths().await {
        metrics::gauge!("shoprelay_inbox_pending").set(q.inbox_pending as f64);
        metrics::gauge!("shoprelay_deliveries_pending").set(q.deliveries_pending as f64);
        metrics::gauge!("shoprelay_deliveries_dead").set(q.deliveries_dead as f64);
    }
    metrics_handle().render().into_response()
}

/// `GET /`: where things are.
pub async fn console(State(state): State<AppState>) -> Html<String> {
    let registry = state.engine.registry();
    let base = escape(&state.engine.settings.public_url);
    let mut apps = String::new();
    for app in registry.marketplaces.iter() {
        let platform = app.platform();
        apps.push_str(&format!(
            "<li>{name} {id}: 推送地址 Push URL <code>{base}/push/{platform}/{id}</code> · <a href=\"/auth/{platform}/{id}\">授权店铺 Authorize a shop</a></li>",
            name = escape(display_name(platform)),
            id = escape(app.id().as_str()),
        ));
    }
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>shoprelay</title><h1>shoprelay</h1>\
         <p><a href=\"/console\">控制台 Console →</a></p><p>电商平台（{marketplaces}）订单推送 → 企业微信。API: <a href=\"/api/v1/status\">/api/v1/status</a> · \
         <a href=\"/api/v1/audit\">/api/v1/audit</a> · <a href=\"/metrics\">/metrics</a></p><ul>{apps}</ul>",
        marketplaces = platform::all().map(display_name).collect::<Vec<_>>().join("、"),
    ))
}

/// `GET /digests/{token}`: every message a digest folded, so nothing is hidden behind "…还有 N 条". The
/// summaries name buyers and carry their words: HTML-escaped like every value on shoprelay's pages.
pub async fn digest_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let items = match state.engine.queues().digest(&token).await {
        Ok(items) if !items.is_empty() => items,
        Ok(_) => return (StatusCode::NOT_FOUND, "digest not found / 未找到该汇总").into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "reading a digest failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
        }
    };
    let mut rows = String::new();
    for item in &items {
        let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(item.created_at.as_millis())
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&at),
            escape(&item.summary)
        ));
    }
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>消息汇总</title><h1>消息汇总 · Digest ({n})</h1>\
         <table border=1 cellpadding=4><tr><th>时间 time</th><th>内容 message</th></tr>{rows}</table>",
        n = items.len()
    ))
    .into_response()
}
