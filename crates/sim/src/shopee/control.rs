//! The `/sim/…` control API, for tests in other processes and the demo: the same operations as the
//! [`super::ShopeeSim`] handle's methods.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::faults::FaultsRequest;
use super::orders::{NewOrder, OrderUpdate};
use super::push::PushRecord;
use super::state::Shared;

/// A control request the simulator refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No configured shop has this id.
    #[error("the simulator has no shop {0}")]
    UnknownShop(u64),
    /// No order has this number.
    #[error("the simulator has no order {0}")]
    UnknownOrder(String),
    /// Not one of Shopee's order statuses.
    #[error("{0} is not a Shopee order status")]
    UnknownStatus(String),
    /// Not a valid order number.
    #[error("{0} is not a valid order number")]
    InvalidOrderSn(String),
    /// An order with this number exists already.
    #[error("order {0} exists already")]
    DuplicateOrder(String),
    /// A raw push names neither `body` nor `raw`.
    #[error("give the push as `body` (JSON) or `raw` (exact text)")]
    EmptyPush,
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::UnknownShop(_) | Self::UnknownOrder(_) => StatusCode::NOT_FOUND,
            Self::DuplicateOrder(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// The body of `POST /sim/push-target`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PushTarget {
    #[serde(default, alias = "app_id")]
    partner_id: Option<u64>,
    url: String,
}

/// The body of `POST /sim/push/raw` and `POST /sim/push/verification`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawPush {
    partner_id: Option<u64>,
    /// A JSON body, sent as serialised.
    body: Option<Value>,
    /// An exact body, sent byte for byte (for bodies that are not even JSON).
    raw: Option<String>,
}

/// The body of `POST /sim/chat/buyer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuyerSays {
    /// The first configured shop when absent.
    #[serde(default)]
    shop_id: Option<u64>,
    buyer_id: u64,
    #[serde(default)]
    buyer_name: String,
    text: String,
}

/// The body of `POST /sim/chat/whitelist`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Whitelist {
    shop_id: u64,
    whitelisted: bool,
}

/// The body of `POST /sim/clock/advance`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Advance {
    secs: i64,
}

pub(crate) async fn create_order(State(core): State<Shared>, Json(new): Json<NewOrder>) -> Response {
    match core.create_order(new).await {
        Ok(change) => Json(change).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn list_orders(State(core): State<Shared>) -> Response {
    let orders: Vec<_> = core.state().orders.values().cloned().collect();
    Json(orders).into_response()
}

pub(crate) async fn update_order(
    State(core): State<Shared>,
    Path(order_sn): Path<String>,
    Json(update): Json<OrderUpdate>,
) -> Response {
    match core.update_order(&order_sn, update).await {
        Ok(change) => Json(change).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn set_push_target(
    State(core): State<Shared>,
    Json(target): Json<PushTarget>,
) -> Json<Vec<PushRecord>> {
    Json(core.set_push_target(target.partner_id, target.url).await)
}

pub(crate) async fn list_pushes(State(core): State<Shared>) -> Json<Vec<PushRecord>> {
    Json(core.state().pushes.clone())
}

pub(crate) async fn raw_push(State(core): State<Shared>, Json(push): Json<RawPush>) -> Response {
    let body = match (push.body, push.raw) {
        (Some(body), _) => body.to_string(),
        (None, Some(raw)) => raw,
        (None, None) => return SimError::EmptyPush.into_response(),
    };
    Json(core.send_any(push.partner_id, body).await).into_response()
}

pub(crate) async fn verification_push(
    State(core): State<Shared>,
    body: Option<Json<RawPush>>,
) -> Json<Vec<PushRecord>> {
    let partner = body.and_then(|Json(b)| b.partner_id);
    Json(core.send_verification(partner).await)
}

pub(crate) async fn retry_pushes(State(core): State<Shared>) -> Json<Vec<PushRecord>> {
    Json(core.retry_failed().await)
}

pub(crate) async fn flush_pushes(State(core): State<Shared>) -> Json<Vec<PushRecord>> {
    Json(core.flush_held().await)
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

pub(crate) async fn advance_clock(State(core): State<Shared>, Json(advance): Json<Advance>) -> Json<Value> {
    core.advance_clock(advance.secs);
    Json(json!({ "now": core.now() }))
}

pub(crate) async fn api_calls(State(core): State<Shared>) -> Response {
    Json(core.state().calls.clone()).into_response()
}

pub(crate) async fn buyer_says(State(core): State<Shared>, Json(says): Json<BuyerSays>) -> Response {
    let Some(shop_id) = says.shop_id.or_else(|| core.config.shops.first().map(|s| s.shop_id)) else {
        return SimError::UnknownShop(0).into_response();
    };
    match core
        .buyer_says(shop_id, says.buyer_id, &says.buyer_name, &says.text)
        .await
    {
        Ok((message, pushes)) => Json(json!({ "message_id": message.message_id, "pushes": pushes })).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn chat_messages(State(core): State<Shared>) -> Response {
    Json(core.state().chat.messages()).into_response()
}

pub(crate) async fn set_chat_whitelist(State(core): State<Shared>, Json(w): Json<Whitelist>) -> StatusCode {
    core.state().chat.set_whitelisted(w.shop_id, w.whitelisted);
    StatusCode::NO_CONTENT
}
