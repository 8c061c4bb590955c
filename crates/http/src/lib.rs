//! The HTTP edge: marketplace pushes in, OAuth redirects, the REST API, health and metrics.
//!
//! # Layout
//! - [`push`]: `POST /push/shopee/{app_id}` — verify, store (group commit), acknowledge. No network I/O.
//! - [`auth`]: `GET /auth/shopee/{app_id}` (the signed authorization link) and its callback.
//! - [`api`]: `/api/v1/…` audit, status, replay of dead letters.
//! - [`rules`]: `/api/v1/rules…` — rule CRUD, enable/disable, live preview and dry run.
//! - [`tasks`]: `/api/v1/tasks…` and `/ack/{token}` — assigned and escalating items, acknowledged.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`, the console's front page, and digest pages.
//! - [`error`]: [`ApiError`], every error answered as `{code, message, message_en}` with its status.

pub mod api;
pub mod auth;
pub mod error;
pub mod ops;
pub mod push;
pub mod rules;
pub mod tasks;

use std::future::Future;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use shoprelay_core::secret::Secret;
use shoprelay_engine::Engine;

pub use error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The pipeline.
    pub engine: Arc<Engine>,
    /// Bearer token required by `/api/v1` when set.
    pub api_token: Option<Secret>,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/push/shopee/{app_id}", post(push::shopee))
        .route("/auth/shopee/{app_id}", get(auth::start))
        .route("/auth/shopee/{app_id}/callback", get(auth::callback))
        .route("/api/v1/audit", get(api::audit))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/deliveries/replay", post(api::replay))
        .route("/api/v1/rules", get(rules::list))
        .route("/api/v1/rules/test", post(rules::test))
        .route("/api/v1/rules/preview", post(rules::preview))
        .route(
            "/api/v1/rules/{id}",
            get(rules::get).put(rules::put).delete(rules::delete),
        )
        .route("/api/v1/rules/{id}/enable", post(rules::enable))
        .route("/api/v1/rules/{id}/disable", post(rules::disable))
        .route("/api/v1/tasks", get(tasks::list))
        .route("/api/v1/tasks/{id}/ack", post(tasks::ack))
        .route("/ack/{token}", get(tasks::ack_page).post(tasks::ack_link))
        .route("/digests/{token}", get(ops::digest_page))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/", get(ops::console))
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
