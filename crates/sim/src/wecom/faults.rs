//! Faults on demand: the next N calls whose path starts with a prefix are slowed, held, failed
//! with HTTP 500 or answered with an errcode, before any normal processing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::reply::error_body;
use super::state::SimState;

/// One fault rule, as given to [`super::WeComSim::inject_fault`] or `POST /sim/faults`:
/// `{"path_prefix": "/cgi-bin/message/send", "count": 2, "kind": "errcode", "errcode": 45009}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Calls whose path starts with this are affected; the default hits every API call.
    #[serde(default = "default_prefix")]
    pub path_prefix: String,
    /// How many calls it affects.
    #[serde(default = "default_count")]
    pub count: u32,
    /// What happens to them.
    #[serde(flatten)]
    pub action: FaultAction,
}

fn default_prefix() -> String {
    "/cgi-bin/".into()
}

fn default_count() -> u32 {
    1
}

impl Fault {
    /// A fault for the next `count` calls under `path_prefix`.
    pub fn new(path_prefix: impl Into<String>, count: u32, action: FaultAction) -> Self {
        Self {
            path_prefix: path_prefix.into(),
            count,
            action,
        }
    }
}

/// What a fault does to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Wait this long, then answer normally.
    Latency {
        /// Extra delay.
        ms: u64,
    },
    /// Hold the request far beyond any client timeout, then answer 504 (or stop at shutdown).
    Timeout {
        /// How long to hold it; ten minutes by default.
        #[serde(default = "default_hold_ms")]
        hold_ms: u64,
    },
    /// Answer HTTP 500 with a non-JSON body.
    Http500,
    /// Answer HTTP 200 with this errcode and WeCom's errmsg for it.
    Errcode {
        /// e.g. 45009, 40014, 60020, -1.
        errcode: i64,
    },
}

fn default_hold_ms() -> u64 {
    600_000
}

/// Middleware in front of every `/cgi-bin` route.
pub(crate) async fn inject(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let Some(action) = take(&state, request.uri().path()) else {
        return next.run(request).await;
    };
    match action {
        FaultAction::Latency { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(request).await
        }
        FaultAction::Timeout { hold_ms } => {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(hold_ms)) => {}
                () = state.shutdown.cancelled() => {}
            }
            (StatusCode::GATEWAY_TIMEOUT, "held by simulator fault").into_response()
        }
        FaultAction::Http500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "<html><body>500 Internal Server Error (simulated)</body></html>",
        )
            .into_response(),
        FaultAction::Errcode { errcode } => {
            state.lock().count_rejected(errcode);
            error_body(&state, errcode, peer.ip()).into_response()
        }
    }
}

/// Consumes one use of the first fault matching `path`.
fn take(state: &SimState, path: &str) -> Option<FaultAction> {
    let mut inner = state.lock();
    let index = inner
        .faults
        .iter()
        .position(|f| f.count > 0 && path.starts_with(&f.path_prefix))?;
    let fault = &mut inner.faults[index];
    fault.count -= 1;
    let action = fault.action.clone();
    if fault.count == 0 {
        inner.faults.remove(index);
    }
    inner.stats.faults_fired += 1;
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_json_shape() {
        let fault: Fault = serde_json::from_str(
            r#"{"path_prefix": "/cgi-bin/message/send", "count": 2, "kind": "errcode", "errcode": 45009}"#,
        )
        .unwrap();
        assert_eq!(
            fault,
            Fault::new("/cgi-bin/message/send", 2, FaultAction::Errcode { errcode: 45009 })
        );
        let fault: Fault = serde_json::from_str(r#"{"kind": "timeout"}"#).unwrap();
        assert_eq!(
            fault,
            Fault::new("/cgi-bin/", 1, FaultAction::Timeout { hold_ms: 600_000 })
        );
        let fault: Fault = serde_json::from_str(r#"{"kind": "http500", "count": 3}"#).unwrap();
        assert_eq!(fault.action, FaultAction::Http500);
    }
}
