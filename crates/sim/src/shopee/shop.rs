//! `GET /api/v2/shop/get_shop_info`: the shop's name, region and standing (`status`: `NORMAL`, `BANNED`,
//! `FROZEN`), answered at the top level like Shopee's shop-info samples; a test freezes a shop with
//! `POST /sim/shops/status`.

use axum::extract::{Query as QueryParams, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::api::{check_shop, ok_top_level, ApiError, Query};
use super::state::Shared;

const SHOP_INFO: &str = "/api/v2/shop/get_shop_info";

/// `GET /api/v2/shop/get_shop_info`.
pub(crate) async fn get_shop_info(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
) -> Result<Response, ApiError> {
    let shop_id = check_shop(&core, SHOP_INFO, &q)?;
    let status = core
        .state()
        .shop_status
        .get(&shop_id)
        .cloned()
        .unwrap_or_else(|| "NORMAL".to_owned());
    Ok(ok_top_level(json!({
        "shop_name": format!("Shop {shop_id}"),
        "region": "SG",
        "status": status,
        "is_cb": true,
        "is_sip": false,
    })))
}

/// The body of `POST /sim/shops/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShopStatus {
    shop_id: u64,
    status: String,
}

/// `POST /sim/shops/status`: what `get_shop_info` reports for the shop from now on.
pub(crate) async fn set_status(State(core): State<Shared>, Json(s): Json<ShopStatus>) -> StatusCode {
    core.state().shop_status.insert(s.shop_id, s.status);
    StatusCode::NO_CONTENT
}
