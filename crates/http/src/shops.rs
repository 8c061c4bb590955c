//! `GET|PUT /api/v1/shops/{app_id}/{shop_id}/data-policy`: which of the buyers' personal fields a shop
//! keeps; turning one on needs the sensitive-information commitment accepted by a named admin.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::policy::{
    FieldPolicy, PolicyError, SensitiveField, COMMITMENT_EN, COMMITMENT_VERSION, COMMITMENT_ZH,
};
use shoprelay_engine::service::data_policy::Accepting;

use crate::api::BadQuery;
use crate::error::ApiError;
use crate::guard::Caller;
use crate::AppState;

/// A shop's policy as the API shows it, with the commitment it needs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    /// The policy in force.
    #[serde(flatten)]
    policy: FieldPolicy,
    /// The version a new acceptance must name.
    commitment_version: &'static str,
    /// The commitment's text, Chinese.
    commitment_zh: &'static str,
    /// The commitment's text, English.
    commitment_en: &'static str,
}

/// The body of a policy change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    /// Sensitive fields to keep (`phone`, `address`, `name`, `email`); empty for the minimal policy.
    #[serde(default)]
    fields: Vec<String>,
    /// The commitment version the admin accepts.
    #[serde(default)]
    accepted_commitment_version: Option<String>,
    /// The admin who accepts it.
    #[serde(default)]
    accepted_by: Option<String>,
}

/// The path names no valid app or shop.
#[derive(Debug, thiserror::Error)]
#[error("the path must name an app id and a shop number")]
pub struct BadShop;

impl UserFacing for BadShop {
    fn code(&self) -> &'static str {
        "shops.bad_path"
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        "路径须为 /api/v1/shops/{应用 ID}/{店铺编号}/data-policy".into()
    }
    fn message_en(&self) -> String {
        "The path must be /api/v1/shops/{app id}/{shop number}/data-policy".into()
    }
}

fn shop_of(app: &str, shop: &str) -> Result<(ConfigId, ShopId), BadShop> {
    let app = ConfigId::parse(app).map_err(|_| BadShop)?;
    let shop = shop
        .parse::<u64>()
        .ok()
        .and_then(|s| ShopId::new(s).ok())
        .ok_or(BadShop)?;
    Ok((app, shop))
}

fn view(policy: FieldPolicy) -> PolicyView {
    PolicyView {
        policy,
        commitment_version: COMMITMENT_VERSION,
        commitment_zh: COMMITMENT_ZH,
        commitment_en: COMMITMENT_EN,
    }
}

/// The shop's policy (the minimal one when none was set) and the commitment text.
#[utoipa::path(get, path = "/api/v1/shops/{app_id}/{shop_id}/data-policy", tag = "shops", params(("app_id" = String, Path, description = "The marketplace app's id"), ("shop_id" = u64, Path, description = "The shop")), responses(
    (status = 200, description = "The policy", body = PolicyView),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
pub async fn get(
    State(state): State<AppState>,
    Path((app, shop)): Path<(String, String)>,
) -> Result<Json<PolicyView>, ApiError> {
    let (app, shop) = shop_of(&app, &shop)?;
    Ok(Json(view(state.engine.data_policies().get(&app, shop).await?)))
}

/// Replaces the shop's policy; audited with who accepted which commitment version.
#[utoipa::path(put, path = "/api/v1/shops/{app_id}/{shop_id}/data-policy", tag = "shops", params(("app_id" = String, Path, description = "The marketplace app's id"), ("shop_id" = u64, Path, description = "The shop")), request_body = PolicyRequest, responses(
    (status = 200, description = "The policy now in force", body = PolicyView),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
pub async fn put(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((app, shop)): Path<(String, String)>,
    body: Result<Json<PolicyRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<PolicyView>, ApiError> {
    let (app, shop) = shop_of(&app, &shop)?;
    let Json(request) = body.map_err(|e| BadQuery(e.body_text()))?;
    let fields = request
        .fields
        .iter()
        .map(|f| SensitiveField::parse(f))
        .collect::<Result<BTreeSet<_>, PolicyError>>()?;
    let accepting = request.accepted_commitment_version.map(|version| Accepting {
        version,
        by: request.accepted_by.unwrap_or_default(),
    });
    let kept: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
    let detail = match &accepting {
        Some(a) => format!(
            "fields [{}]; commitment {} accepted by {}",
            kept.join(", "),
            a.version,
            a.by
        ),
        None => format!("fields [{}]", kept.join(", ")),
    };
    let policy = state.engine.data_policies().set(&app, shop, fields, accepting).await?;
    caller
        .record(&state, "shop.data_policy", Some(&format!("{app}/{shop}")), detail)
        .await?;
    Ok(Json(view(policy)))
}
