//! The HTTP edge: marketplace pushes in, OAuth redirects, the REST API, health and metrics.
//!
//! # Layout
//! - [`push`]: `POST /push/{platform}/{app_id}` — verify, store (group commit), acknowledge. No network I/O.
//! - [`wecom_callback`]: `GET|POST /wecom/callback/{app_id}` — WeCom's URL check and its encrypted callbacks,
//!   verified and stored once before the answer.
//! - [`auth`]: `GET /auth/{platform}/{app_id}` (the authorization link) and its callback.
//! - [`api`]: `/api/v1/…` audit, status, replay of dead letters.
//! - [`openapi`]: `GET /api/v1/openapi.json` — the API's OpenAPI document, generated from the handlers.
//! - [`rules`]: `/api/v1/rules…` — rule CRUD, enable/disable, live preview and dry run.
//! - [`buyers`]: `POST /api/v1/buyers/forget` — a buyer's data deleted on request, audited by hash.
//! - [`shops`]: `/api/v1/shops/{app_id}/{shop_id}/data-policy` — which personal fields a shop keeps.
//! - [`tasks`]: `/api/v1/tasks…` and `/ack/{token}` — assigned and escalating items, acknowledged.
//! - [`console`]: `/console…` — the console's pages: accounts and sessions, onboarding, the entity check,
//!   the audit log.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics` (behind the token unless public), the console's front
//!   page, and digest pages.
//! - [`guard`]: the API tokens (configured, or stored with a scope), Host / Origin / content-type checks, and the headers every page carries.
//! - [`throttle`]: per-source request rates — a source whose requests keep being refused waits.
//! - [`edge`]: connections — header, body and request timeouts, a connection cap, a bounded stop.
//! - [`error`]: [`ApiError`], every error answered as `{code, message, message_en}` with its status.

pub mod api;
pub mod auth;
pub mod buyers;
pub mod console;
pub mod conversations;
pub mod edge;
pub mod error;
pub mod guard;
pub mod openapi;
pub mod ops;
pub mod push;
pub mod rules;
pub mod shops;
pub mod tasks;
pub mod throttle;
pub mod wecom_callback;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use shoprelay_engine::Engine;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The pipeline.
    pub engine: Arc<Engine>,
    /// Bearer token required by `/api/v1` when set.
    pub api_token: Option<guard::ApiToken>,
    /// Serve `/metrics` without the token.
    pub metrics_public: bool,
}

/// The whole HTTP surface. What a browser uses (the API, the console and its pages) is held to this
/// server's Host and origin; what machines call (pushes, health checks, metrics) is not, since load
/// balancers and scrapers address it by whatever name they know it by.
pub fn router(state: AppState) -> Router {
    let site = guard::Site::new(&state.engine.settings.public_url);
    let api = Router::new()
        .route("/api/v1/audit", get(api::audit))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/deliveries/replay", post(api::replay))
        .route("/api/v1/buyers/forget", post(buyers::forget))
        .route(
            "/api/v1/shops/{app_id}/{shop_id}/data-policy",
            get(shops::get).put(shops::put),
        )
        .route("/api/v1/rules", get(rules::list))
        .route("/api/v1/rules/test", post(rules::test))
        .route("/api/v1/rules/preview", post(rules::preview))
        .route(
            "/api/v1/rules/{id}",
            get(rules::get).put(rules::put).delete(rules::delete),
        )
        .route("/api/v1/rules/{id}/enable", post(rules::enable))
        .route("/api/v1/rules/{id}/disable", post(rules::disable))
        .route("/api/v1/conversations", get(conversations::list))
        .route("/api/v1/conversations/search", get(conversations::search))
        .route("/api/v1/conversations/export", get(conversations::export))
        .route("/api/v1/conversations/{id}", get(conversations::get))
        .route("/api/v1/tasks", get(tasks::list))
        .route("/api/v1/tasks/{id}/ack", post(tasks::ack))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route_layer(from_fn_with_state(state.clone(), guard::api_access))
        .layer(from_fn(guard::json_writes));
    let browser = Router::new()
        .route("/auth/{platform}/{app_id}", get(auth::start))
        .route("/auth/{platform}/{app_id}/callback", get(auth::callback))
        .route("/ack/{token}", get(tasks::ack_page).post(tasks::ack_link))
        .route("/digests/{token}", get(ops::digest_page))
        .route("/", get(ops::console))
        .merge(console::router())
        .merge(api)
        .layer(from_fn_with_state(site.clone(), guard::same_origin_writes))
        .layer(from_fn_with_state(site, guard::known_host));
    Router::new()
        .route("/push/{platform}/{app_id}", post(push::receive))
        .route(
            "/wecom/callback/{app_id}",
            get(wecom_callback::verify).post(wecom_callback::receive),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(browser)
        .layer(from_fn(guard::page_headers))
        // The route's pattern, not its path: `/ack/{token}` must not put the token in the log.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            tracing::debug_span!("http", method = %request.method(), route)
        }))
        .with_state(state)
}

/// Serves the router on `listener` within `limits` until `shutdown` resolves, then drains in-flight
/// requests for at most the limits' grace period.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: edge::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    edge::serve(listener, router(state), limits, shutdown).await
}
