//! The `/sim/…` control API, for tests in other processes and the demo: the same operations as the
//! [`super::LazadaSim`] handle's methods.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::config::SimSeller;
use super::faults::FaultsRequest;
use super::orders::{NewOrder, OrderUpdate};
use super::state::Shared;

/// A control request the simulator refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No seller account has this login.
    #[error("the simulator has no seller account {0:?}")]
    UnknownAccount(String),
    /// No shop has this seller id.
    #[error("the simulator has no seller {0:?}")]
    UnknownSeller(String),
    /// A seller account or seller id exists already.
    #[error("seller {0:?} exists already")]
    DuplicateSeller(String),
    /// No order has this id.
    #[error("the simulator has no order {0}")]
    UnknownOrder(u64),
    /// The order has no item with this id.
    #[error("the order has no item {0}")]
    UnknownItem(u64),
    /// An order with this id exists already.
    #[error("order {0} exists already")]
    DuplicateOrder(u64),
    /// Not one of Lazada's order statuses.
    #[error("{0:?} is not a Lazada order status")]
    UnknownStatus(String),
    /// No push has this id.
    #[error("the simulator has no push {0}")]
    UnknownPush(u64),
    /// A push body could not be written as JSON.
    #[error("the push body cannot be serialised: {0}")]
    Unserializable(String),
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::UnknownAccount(_) | Self::UnknownSeller(_) | Self::UnknownOrder(_) | Self::UnknownPush(_) => {
                StatusCode::NOT_FOUND
            }
            Self::DuplicateSeller(_) | Self::DuplicateOrder(_) => StatusCode::CONFLICT,
            Self::UnknownItem(_) | Self::UnknownStatus(_) => StatusCode::BAD_REQUEST,
            Self::Unserializable(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// A result as a JSON answer.
fn reply<T: serde::Serialize>(result: Result<T, SimError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The body of `POST /sim/authorize`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Authorize {
    account: String,
}

/// The body of `POST /sim/push-target`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PushTarget {
    url: Option<String>,
}

/// The body of `POST /sim/push`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPush {
    seller_id: String,
    message_type: i64,
    #[serde(default)]
    data: Option<Value>,
}

/// The body of `POST /sim/revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Revoke {
    seller_id: String,
}

pub(crate) async fn add_seller(State(core): State<Shared>, Json(seller): Json<SimSeller>) -> Response {
    reply(core.add_seller(seller))
}

pub(crate) async fn authorize(State(core): State<Shared>, Json(a): Json<Authorize>) -> Response {
    reply(core.authorize(&a.account).map(|code| json!({ "code": code })))
}

pub(crate) async fn create_order(State(core): State<Shared>, Json(new): Json<NewOrder>) -> Response {
    reply(core.create_order(new).await)
}

pub(crate) async fn list_orders(State(core): State<Shared>) -> Response {
    let orders: Vec<_> = core.state().orders.values().cloned().collect();
    Json(orders).into_response()
}

pub(crate) async fn update_order(
    State(core): State<Shared>,
    Path(order_id): Path<u64>,
    Json(update): Json<OrderUpdate>,
) -> Response {
    reply(core.update_order(order_id, update).await)
}

pub(crate) async fn set_push_target(State(core): State<Shared>, Json(target): Json<PushTarget>) -> StatusCode {
    core.pushes.set_target(target.url);
    StatusCode::NO_CONTENT
}

pub(crate) async fn send_push(State(core): State<Shared>, Json(push): Json<RawPush>) -> Response {
    let data = push.data.unwrap_or_else(|| json!({}));
    reply(core.push(&push.seller_id, push.message_type, data).await)
}

pub(crate) async fn list_pushes(State(core): State<Shared>) -> Response {
    Json(core.pushes.records()).into_response()
}

pub(crate) async fn set_faults(State(core): State<Shared>, Json(request): Json<FaultsRequest>) -> Response {
    let mut state = core.state();
    state.faults.apply(request);
    Json(state.faults.clone()).into_response()
}

pub(crate) async fn reset_faults(State(core): State<Shared>) -> StatusCode {
    core.state().faults = Default::default();
    StatusCode::NO_CONTENT
}

pub(crate) async fn revoke(State(core): State<Shared>, Json(r): Json<Revoke>) -> Response {
    reply(core.revoke_tokens(&r.seller_id).map(|()| json!({})))
}

pub(crate) async fn api_calls(State(core): State<Shared>) -> Response {
    Json(core.state().calls.clone()).into_response()
}
