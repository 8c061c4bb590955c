//! `POST /api/v1/buyers/forget`: a data subject's deletion request, carried out and audited.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use shoprelay_store::ForgetReport;

use crate::api::BadQuery;
use crate::error::ApiError;
use crate::guard::Caller;
use crate::AppState;

/// Whom to forget.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ForgetRequest {
    /// The shop the buyer bought from or wrote to.
    #[schema(minimum = 1)]
    shop_id: u64,
    /// The buyer's user name on the marketplace (case and surrounding blanks do not matter).
    #[schema(min_length = 1)]
    buyer: String,
}

#[utoipa::path(post, path = "/api/v1/buyers/forget", tag = "buyers", request_body = ForgetRequest, responses(
    (status = 200, description = "What was deleted", body = ForgetReport),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// Deletes everything stored about the buyer; answers the counts (the audit log names only a hash).
pub async fn forget(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<ForgetRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ForgetReport>, ApiError> {
    let Json(request) = body.map_err(|e| BadQuery(e.body_text()))?;
    let report = state.engine.buyers().forget(request.shop_id, &request.buyer).await?;
    // The record names the shop and the counts, never the buyer who asked to be forgotten.
    let detail = format!("a buyer's data deleted: {report:?}");
    let target = format!("shop {}", request.shop_id);
    caller.record(&state, "buyer.forget", Some(&target), detail).await?;
    Ok(Json(report))
}
