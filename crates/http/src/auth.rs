//! Shop authorization: `GET /auth/shopee/{app_id}` sends the seller to Shopee's authorization page (the
//! current unsigned link or the legacy signed one, per app) with a single-use state nonce; Shopee
//! redirects back to `/auth/shopee/{app_id}/callback?code=…&shop_id=…&state=…` (or `main_account_id`),
//! where the state is spent, the code exchanged and the tokens stored.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_engine::tokens::TokenError;
use shoprelay_marketplaces::shopee::{AuthTarget, Disposition};

use crate::error::ApiError;
use crate::AppState;

/// Why an authorization step failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No such app.
    #[error("no Shopee app `{0}` is configured")]
    UnknownApp(String),
    /// The redirect lacks `code` or a shop.
    #[error("the authorization redirect lacks `code` and `shop_id` (or `main_account_id`)")]
    BadRedirect,
    /// The exchange failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl UserFacing for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::UnknownApp(_) | AuthError::Token(TokenError::UnknownApp(_)) => "auth.unknown_app",
            AuthError::BadRedirect => "auth.bad_redirect",
            AuthError::Token(TokenError::Marketplace(e)) => e.code(),
            AuthError::Token(TokenError::BadState) => "auth.bad_state",
            AuthError::Token(_) => "auth.exchange_failed",
        }
    }

    fn status(&self) -> u16 {
        match self {
            AuthError::UnknownApp(_) | AuthError::Token(TokenError::UnknownApp(_)) => 404,
            AuthError::BadRedirect => 400,
            // Shopee answered and refused (a used or expired code): the seller's to retry.
            AuthError::Token(TokenError::Marketplace(e)) if e.disposition() != Disposition::Retry => 400,
            AuthError::Token(TokenError::BadState) => 400,
            AuthError::Token(_) => 502,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            AuthError::UnknownApp(id) => format!("未配置 ID 为「{id}」的 Shopee 应用"),
            AuthError::Token(TokenError::UnknownApp(id)) => format!("未配置 ID 为「{id}」的 Shopee 应用"),
            AuthError::BadRedirect => "授权回调缺少 code 或 shop_id：请从 shoprelay 生成的授权链接重新授权".into(),
            AuthError::Token(TokenError::Marketplace(e)) => format!("授权码换取令牌失败：{}", e.message_zh()),
            AuthError::Token(TokenError::BadState) => {
                "授权回调的 state 无效、已使用或已过期（15 分钟内有效）：请重新打开 shoprelay 的授权链接完成授权".into()
            }
            AuthError::Token(e) => format!("授权失败：{e}，请重新授权"),
        }
    }

    fn message_en(&self) -> String {
        match self {
            AuthError::BadRedirect => {
                "The authorization redirect lacks code or shop_id: authorize again from the link shoprelay generates"
                    .into()
            }
            AuthError::Token(TokenError::Marketplace(e)) => {
                format!("Exchanging the authorization code failed: {}", e.message_en())
            }
            AuthError::Token(TokenError::BadState) => "The redirect's state is invalid, used or expired (it lives 15 \
                                                       minutes): open shoprelay's authorization link again"
                .into(),
            other => other.to_string(),
        }
    }
}

/// Redirects to Shopee's authorization page, with a fresh state nonce.
pub async fn start(State(state): State<AppState>, Path(app_id): Path<String>) -> Result<Response, ApiError> {
    let app = ConfigId::parse(&app_id).map_err(|_| AuthError::UnknownApp(app_id.clone()))?;
    let callback = format!("{}/auth/shopee/{app_id}/callback", state.engine.settings.public_url);
    let link = state
        .engine
        .authorization_link(&app, &callback)
        .await
        .map_err(AuthError::from)?;
    Ok(Redirect::to(&link).into_response())
}

/// The redirect's query.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    shop_id: Option<u64>,
    main_account_id: Option<u64>,
    state: Option<String>,
}

/// Exchanges the code and stores the tokens.
pub async fn callback(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Result<Html<String>, ApiError> {
    let app = ConfigId::parse(&app_id).map_err(|_| AuthError::UnknownApp(app_id.clone()))?;
    let code = q.code.filter(|c| !c.is_empty()).ok_or(AuthError::BadRedirect)?;
    let target = match (q.shop_id.and_then(|s| ShopId::new(s).ok()), q.main_account_id) {
        (Some(shop), _) => AuthTarget::Shop(shop),
        (None, Some(main)) => AuthTarget::MainAccount(main),
        (None, None) => return Err(AuthError::BadRedirect.into()),
    };
    let nonce = q.state.unwrap_or_default();
    let shops = state
        .engine
        .complete_authorization(&app, &code, target, &nonce)
        .await
        .map_err(AuthError::from)?;
    let list: Vec<String> = shops.iter().map(ToString::to_string).collect();
    Ok(Html(format!(
        "<!doctype html><meta charset=utf-8><title>授权成功</title><h1>授权成功 · Authorized</h1>\
         <p>店铺 {} 已授权给 shoprelay，新订单将推送到企业微信。</p><p>Shop(s) {} are now connected.</p>",
        list.join("、"),
        list.join(", ")
    )))
}
