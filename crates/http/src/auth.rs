//! Shop authorization: `GET /auth/{platform}/{app_id}` sends the seller to the marketplace's authorization
//! page (the app's adapter builds it: Shopee's current unsigned link or the legacy signed one, Lazada's
//! auth.lazada.com link, TikTok Shop's services.tiktokshop.com link) with a single-use state nonce; the
//! marketplace redirects back to `/auth/{platform}/{app_id}/callback?code=…&state=…` (Shopee adds `shop_id`
//! or `main_account_id`; TikTok Shop uses the redirect URL registered for the service, which must be this one),
//! where the state is spent, the code exchanged and the tokens of every shop it covers stored. The seller
//! is then sent back to the console's onboarding page (303), which names the shops now bound; a failure
//! stays a plain answer with its code and what to do.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ConfigId;
use shoprelay_engine::tokens::TokenError;
use shoprelay_marketplaces::adapter::{Disposition, RedirectQuery};

use crate::error::ApiError;
use crate::AppState;

/// Why an authorization step failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No such app.
    #[error("no marketplace app `{0}` is configured")]
    UnknownApp(String),
    /// The redirect lacks `code`.
    #[error("the authorization redirect lacks `code`")]
    BadRedirect,
    /// The exchange failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl UserFacing for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::UnknownApp(_) | AuthError::Token(TokenError::UnknownApp(_)) => "auth.unknown_app",
            AuthError::BadRedirect | AuthError::Token(TokenError::BadRedirect(_)) => "auth.bad_redirect",
            AuthError::Token(TokenError::Marketplace(e)) => e.code(),
            AuthError::Token(TokenError::BadState) => "auth.bad_state",
            AuthError::Token(_) => "auth.exchange_failed",
        }
    }

    fn status(&self) -> u16 {
        match self {
            AuthError::UnknownApp(_) | AuthError::Token(TokenError::UnknownApp(_)) => 404,
            AuthError::BadRedirect | AuthError::Token(TokenError::BadRedirect(_)) => 400,
            // Shopee answered and refused (a used or expired code): the seller's to retry.
            AuthError::Token(TokenError::Marketplace(e)) if e.disposition() != Disposition::Retry => 400,
            AuthError::Token(TokenError::BadState) => 400,
            AuthError::Token(_) => 502,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            AuthError::UnknownApp(id) => format!("未配置 ID 为「{id}」的电商平台应用：请检查授权链接中的平台与应用 ID"),
            AuthError::Token(TokenError::UnknownApp(id)) => format!("未配置 ID 为「{id}」的电商平台应用"),
            AuthError::BadRedirect => "授权回调缺少 code：请从 shoprelay 生成的授权链接重新授权".into(),
            AuthError::Token(TokenError::BadRedirect(what)) => {
                format!("授权回调缺少 {what}：请从 shoprelay 生成的授权链接重新授权")
            }
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
                "The authorization redirect lacks code: authorize again from the link shoprelay generates".into()
            }
            AuthError::Token(TokenError::BadRedirect(what)) => {
                format!("The authorization redirect lacks {what}: authorize again from the link shoprelay generates")
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

/// Redirects to the marketplace's authorization page, with a fresh state nonce.
pub async fn start(
    State(state): State<AppState>,
    Path((platform, app_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let app = known_app(&state, &platform, &app_id)?;
    let callback = format!("{}/auth/{platform}/{app_id}/callback", state.engine.settings.public_url);
    let link = state
        .engine
        .authorization()
        .link(&app, &callback)
        .await
        .map_err(AuthError::from)?;
    Ok(Redirect::to(&link).into_response())
}

/// The app the path names, when it is configured and of the platform the path names.
fn known_app(state: &AppState, platform: &str, app_id: &str) -> Result<ConfigId, AuthError> {
    let unknown = || AuthError::UnknownApp(app_id.to_owned());
    let app = ConfigId::parse(app_id).map_err(|_| unknown())?;
    let registry = state.engine.registry();
    match registry.marketplaces.get(&app) {
        Some(a) if a.platform().as_str() == platform => Ok(app),
        _ => Err(unknown()),
    }
}

/// Exchanges the code, stores the tokens and sends the seller back to the onboarding page, which names
/// the shops bound (see [`crate::console::onboarding::authorized_link`]).
pub async fn callback(
    State(state): State<AppState>,
    Path((platform, app_id)): Path<(String, String)>,
    Query(query): Query<RedirectQuery>,
) -> Result<Redirect, ApiError> {
    let app = known_app(&state, &platform, &app_id)?;
    if query.get("code").is_none_or(|c| c.is_empty()) {
        return Err(AuthError::BadRedirect.into());
    }
    let shops = state
        .engine
        .authorization()
        .complete(&app, &query)
        .await
        .map_err(AuthError::from)?;
    Ok(Redirect::to(&crate::console::onboarding::authorized_link(&app, &shops)))
}
