//! The one handler behind every API route: it reads the call, lets a fault hit it as a failing gateway
//! would (before any check), answers it by its API path, and logs it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::api::{respond, Answer, ApiError, Call};
use super::faults::ApiFault;
use super::region::Region;
use super::state::{ApiCall, Core, Shared};
use super::{oauth, order_api};

/// Every `/rest/…` and `/{region}/rest/…` call.
pub(crate) async fn handle(State(core): State<Shared>, call: Call) -> Response {
    let region = call.prefix.as_deref().map(Region::parse);
    let fault = core.state().faults.take(&call.api_path);
    let (response, code) = match (region, fault) {
        (Some(None), _) => respond(Err(invalid_path())),
        (_, Some(ApiFault::Http { status })) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = status.canonical_reason().unwrap_or("Server Error");
            ((status, text).into_response(), format!("HTTP {}", status.as_u16()))
        }
        (_, Some(ApiFault::Error { kind, code, message })) => respond(Err(ApiError { kind, code, message })),
        (region, None) => respond(route(&core, &call, region.flatten())),
    };
    core.state().calls.push(ApiCall {
        path: call.api_path,
        region: region.flatten(),
        method: call.method,
        params: call.params,
        code,
    });
    response
}

/// Answers a call by its API path.
fn route(core: &Core, call: &Call, region: Option<Region>) -> Result<Answer, ApiError> {
    match call.api_path.as_str() {
        "/auth/token/create" => oauth::token_create(core, call),
        "/auth/token/refresh" => oauth::token_refresh(core, call),
        "/order/get" => order_api::get_order(core, call, region),
        "/order/items/get" => order_api::get_order_items(core, call, region),
        "/orders/get" => order_api::get_orders(core, call, region),
        _ => Err(invalid_path()),
    }
}

fn invalid_path() -> ApiError {
    ApiError::isv("InvalidApiPath", "The specified API path is invalid")
}
