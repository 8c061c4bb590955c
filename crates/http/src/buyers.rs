//! `POST /api/v1/buyers/forget`: a data subject's deletion request, carried out and audited.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ShopId;
use shoprelay_store::ForgetReport;

use crate::api::{authorize, BadQuery};
use crate::error::ApiError;
use crate::AppState;

/// Whom to forget.
#[derive(Debug, Deserialize)]
pub struct ForgetRequest {
    /// The shop the buyer bought from or wrote to.
    shop_id: u64,
    /// The buyer's user name on the marketplace (case and surrounding blanks do not matter).
    buyer: String,
}

/// The request names no buyer or no valid shop.
#[derive(Debug, thiserror::Error)]
#[error("forgetting a buyer needs shop_id (a shop number) and buyer (their user name)")]
pub struct BadForget;

impl UserFacing for BadForget {
    fn code(&self) -> &'static str {
        "buyers.bad_request"
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        "删除买家数据需要 shop_id（店铺编号）和 buyer（买家用户名，1–128 个字符）".into()
    }
    fn message_en(&self) -> String {
        "Forgetting a buyer needs shop_id (the shop number) and buyer (their user name, 1–128 characters)".into()
    }
}

/// Deletes everything stored about the buyer; answers the counts (the audit log names only a hash).
pub async fn forget(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ForgetRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ForgetReport>, ApiError> {
    authorize(&state, &headers)?;
    let Json(request) = body.map_err(|e| BadQuery(e.body_text()))?;
    let buyer = request.buyer.trim();
    let shop = ShopId::new(request.shop_id).map_err(|_| BadForget)?;
    if buyer.is_empty() || buyer.chars().count() > 128 {
        return Err(BadForget.into());
    }
    let report = state
        .engine
        .store
        .forget_buyer(shop, buyer, state.engine.clock.now_ms())
        .await?;
    Ok(Json(report))
}
