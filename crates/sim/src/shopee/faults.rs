//! Faults on demand: slow, hanging or failing API calls, and duplicated or out-of-order pushes.
//! API faults run in a middleware in front of every `/api/v2` route, so they hit before any check,
//! as a failing gateway would; every call is logged there too.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::api::{ApiError, ErrorCode};
use super::state::{ApiCall, Shared};

/// How long a "timeout" fault hangs: longer than any sane client timeout.
const HANG: Duration = Duration::from_secs(600);

/// What goes wrong with an API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum ApiFault {
    /// Answer normally, but this much later.
    Latency {
        /// Added delay in milliseconds.
        ms: u64,
    },
    /// Never answer (within any reasonable client timeout).
    Timeout,
    /// HTTP 500 with a non-JSON body, as a broken gateway sends.
    Http500,
    /// A Shopee error envelope, e.g. `error_auth` or `error_rate_limit`.
    Error {
        /// Shopee's `error`.
        error: String,
        /// Shopee's `message`.
        #[serde(default)]
        message: String,
    },
}

impl ApiFault {
    /// `error_auth` / "Invalid access_token.", as for an access token Shopee revoked.
    pub fn error_auth() -> Self {
        Self::Error {
            error: "error_auth".into(),
            message: "Invalid access_token.".into(),
        }
    }
}

/// A fault and which calls it hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiFaultRule {
    /// Only calls of this path (e.g. `/api/v2/order/get_order_detail`); every API path when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// What happens.
    #[serde(flatten)]
    pub fault: ApiFault,
    /// How many calls it hits; until reset when absent.
    #[serde(default)]
    pub times: Option<u32>,
}

/// The body of `POST /sim/faults`: rules are added, flags set when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsRequest {
    /// Clear every fault first.
    pub reset: bool,
    /// API faults to add.
    pub api: Vec<ApiFaultRule>,
    /// Send every push twice.
    pub duplicate_pushes: Option<bool>,
    /// Hold each push back and send it after the next one (or on flush).
    pub reorder_pushes: Option<bool>,
}

/// The faults in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Faults {
    /// API fault rules, applied in order.
    pub api: Vec<ApiFaultRule>,
    /// Send every push twice.
    pub duplicate_pushes: bool,
    /// Hold each push back until the next one.
    pub reorder_pushes: bool,
}

impl Faults {
    pub(crate) fn apply(&mut self, request: FaultsRequest) {
        if request.reset {
            *self = Faults::default();
        }
        self.api.extend(request.api);
        self.duplicate_pushes = request.duplicate_pushes.unwrap_or(self.duplicate_pushes);
        self.reorder_pushes = request.reorder_pushes.unwrap_or(self.reorder_pushes);
    }

    /// The faults that hit this call, counting them down.
    fn take(&mut self, path: &str) -> Vec<ApiFault> {
        let mut hits = Vec::new();
        for rule in self
            .api
            .iter_mut()
            .filter(|r| r.path.as_deref().is_none_or(|p| p == path))
        {
            if rule.times != Some(0) {
                hits.push(rule.fault.clone());
                rule.times = rule.times.map(|n| n - 1);
            }
        }
        self.api.retain(|r| r.times != Some(0));
        hits
    }
}

/// Applies the faults in force to an API call, then logs the answer.
pub(crate) async fn middleware(State(core): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let hits = core.state().faults.take(&path);
    let mut answer = None;
    for fault in hits {
        match fault {
            ApiFault::Latency { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            ApiFault::Timeout => tokio::time::sleep(HANG).await,
            ApiFault::Http500 => {
                answer.get_or_insert_with(|| {
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
                });
            }
            ApiFault::Error { error, message } => {
                answer.get_or_insert_with(|| ApiError::new(&error, message).into_response());
            }
        }
    }
    let response = match answer {
        Some(response) => response,
        None => next.run(request).await,
    };
    let error = response.extensions().get::<ErrorCode>().map(|e| e.0.clone());
    core.state().calls.push(ApiCall {
        path,
        status: response.status().as_u16(),
        error,
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_down_and_match_paths() {
        let mut faults = Faults::default();
        faults.apply(serde_json::from_value(serde_json::json!({
            "api": [{"path": "/a", "fault": "error", "error": "error_auth", "times": 2}, {"fault": "latency", "ms": 5, "times": 1}],
            "duplicate_pushes": true
        })).unwrap());
        assert!(faults.duplicate_pushes);
        assert_eq!(faults.take("/b"), vec![ApiFault::Latency { ms: 5 }]);
        let auth = ApiFault::Error {
            error: "error_auth".into(),
            message: String::new(),
        };
        assert_eq!(faults.take("/a"), vec![auth.clone()]);
        assert_eq!(faults.take("/a"), vec![auth]);
        assert!(faults.take("/a").is_empty() && faults.api.is_empty());
    }
}
