//! Shop authorization: the signed link, the seller's approval, single-use 10-minute codes, 4-hour
//! access tokens and single-use 30-day refresh tokens (the old access token lives 5 more minutes).

use axum::body::Bytes;
use axum::extract::{Query as QueryParams, State};
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::api::{check_public, number, ok_top_level, ApiError, Query};
use super::state::{
    random_hex, AccessToken, AuthCode, AuthSubject, Core, Grant, RefreshToken, Shared, State as SimState,
};

const AUTH_PARTNER: &str = "/api/v2/shop/auth_partner";
const TOKEN_GET: &str = "/api/v2/auth/token/get";
const ACCESS_TOKEN_GET: &str = "/api/v2/auth/access_token/get";
/// Seconds an authorization code lives.
const CODE_TTL_SECS: i64 = 600;

/// `GET /api/v2/shop/auth_partner`: approve at once (auto_approve) or show the seller's choice of shops.
/// `sim_shop_id` / `sim_main_account_id` pick what the simulated seller authorizes.
pub(crate) async fn auth_partner(State(core): State<Shared>, QueryParams(q): QueryParams<Query>) -> Response {
    let partner_id = match check_public(&core, AUTH_PARTNER, &q) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let Some(redirect) = q.get("redirect").filter(|r| !r.is_empty()) else {
        return ApiError::param("Missing redirect.").into_response();
    };
    let subject = match (
        number::<u64>(&q, "sim_shop_id"),
        number::<u64>(&q, "sim_main_account_id"),
    ) {
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
        (_, Ok(Some(main))) => AuthSubject::MainAccount(main),
        (Ok(Some(shop)), _) => AuthSubject::Shop(shop),
        (Ok(None), Ok(None)) if core.config.auto_approve => match core.config.shops.first() {
            Some(shop) => AuthSubject::Shop(shop.shop_id),
            None => return ApiError::param("The simulator has no shop to authorize.").into_response(),
        },
        (Ok(None), Ok(None)) => return approval_page(&core, partner_id, redirect),
    };
    approve(&core, partner_id, redirect, subject)
}

#[derive(Deserialize)]
pub(crate) struct Approval {
    partner_id: u64,
    redirect: String,
    #[serde(default)]
    shop_id: Option<u64>,
    #[serde(default)]
    main_account_id: Option<u64>,
}

/// `GET /sim/auth/approve`: the seller's click on the approval page.
pub(crate) async fn approve_click(State(core): State<Shared>, QueryParams(a): QueryParams<Approval>) -> Response {
    let subject = match (a.shop_id, a.main_account_id) {
        (_, Some(main)) => AuthSubject::MainAccount(main),
        (Some(shop), None) => AuthSubject::Shop(shop),
        (None, None) => return ApiError::param("Missing shop_id.").into_response(),
    };
    approve(&core, a.partner_id, &a.redirect, subject)
}

fn approval_page(core: &Core, partner_id: u64, redirect: &str) -> Response {
    let mut links = String::new();
    for shop in &core.config.shops {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("partner_id", &partner_id.to_string())
            .append_pair("redirect", redirect)
            .append_pair("shop_id", &shop.shop_id.to_string())
            .finish();
        links.push_str(&format!(
            "<li><a href=\"/sim/auth/approve?{}\">Authorize {} ({}, {})</a></li>",
            escape(&query),
            escape(&shop.name),
            shop.shop_id,
            escape(&shop.region)
        ));
    }
    Html(format!("<!doctype html><meta charset=utf-8><title>Shopee simulator</title><h1>Authorize partner {partner_id}</h1><ul>{links}</ul>"))
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Issues a code and sends the seller back to `redirect?code=…&shop_id=…` (or `main_account_id`).
fn approve(core: &Core, partner_id: u64, redirect: &str, subject: AuthSubject) -> Response {
    let known = match subject {
        AuthSubject::Shop(id) => core.region_of(id).is_some(),
        AuthSubject::MainAccount(id) => core.config.main_accounts.iter().any(|m| m.main_account_id == id),
    };
    if !known {
        return ApiError::param("The simulator has no such shop or main account.").into_response();
    }
    let Ok(mut target) = url::Url::parse(redirect) else {
        return ApiError::param("Invalid redirect.").into_response();
    };
    let code = random_hex();
    {
        let mut pairs = target.query_pairs_mut();
        pairs.append_pair("code", &code);
        match subject {
            AuthSubject::Shop(id) => pairs.append_pair("shop_id", &id.to_string()),
            AuthSubject::MainAccount(id) => pairs.append_pair("main_account_id", &id.to_string()),
        };
    }
    let expires_at = core.now() + CODE_TTL_SECS;
    core.state().codes.insert(
        code,
        AuthCode {
            partner_id,
            subject,
            expires_at,
        },
    );
    (StatusCode::FOUND, [(LOCATION, target.to_string())]).into_response()
}

#[derive(Deserialize)]
struct TokenGetBody {
    code: String,
    partner_id: u64,
    #[serde(default)]
    shop_id: Option<u64>,
    #[serde(default)]
    main_account_id: Option<u64>,
}

/// `POST /api/v2/auth/token/get`: a code for tokens (top-level answer).
pub(crate) async fn token_get(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let partner_id = check_public(&core, TOKEN_GET, &q)?;
    let body: TokenGetBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::param(format!("Invalid request body: {e}")))?;
    if body.partner_id != partner_id {
        return Err(ApiError::param("partner_id in the body does not match the query."));
    }
    let asked = match (body.shop_id, body.main_account_id) {
        (Some(shop), _) => AuthSubject::Shop(shop),
        (None, Some(main)) => AuthSubject::MainAccount(main),
        (None, None) => return Err(ApiError::param("Missing shop_id or main_account_id.")),
    };
    let now = core.now();
    // Single use: the code dies on its first exchange, whatever the outcome.
    let code = core.state().codes.remove(&body.code);
    let code = code
        .filter(|c| c.partner_id == partner_id && c.expires_at > now && c.subject == asked)
        .ok_or_else(|| ApiError::new("invalid_code", "Invalid code."))?;
    let (shop_ids, merchant_ids) = match code.subject {
        AuthSubject::Shop(id) => (vec![id], Vec::new()),
        AuthSubject::MainAccount(id) => core
            .config
            .main_accounts
            .iter()
            .find(|m| m.main_account_id == id)
            .map(|m| (m.shop_ids.clone(), m.merchant_ids.clone()))
            .unwrap_or_default(),
    };
    let (access_token, refresh_token) = {
        let mut state = core.state();
        state.grants.push(Grant {
            partner_id,
            shop_ids: shop_ids.clone(),
            merchant_ids: merchant_ids.clone(),
        });
        let grant = state.grants.len() - 1;
        issue(&core, &mut state, grant, now)
    };
    Ok(ok_top_level(json!({
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expire_in": core.config.access_token_ttl_secs,
        "shop_id_list": shop_ids,
        "merchant_id_list": merchant_ids,
    })))
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
    partner_id: u64,
    #[serde(default)]
    shop_id: Option<u64>,
    #[serde(default)]
    merchant_id: Option<u64>,
}

/// `POST /api/v2/auth/access_token/get`: a refresh token (which dies here) for new tokens.
pub(crate) async fn access_token_get(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let partner_id = check_public(&core, ACCESS_TOKEN_GET, &q)?;
    let body: RefreshBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::param(format!("Invalid request body: {e}")))?;
    if body.partner_id != partner_id {
        return Err(ApiError::param("partner_id in the body does not match the query."));
    }
    let now = core.now();
    // One lock from check to rotation: of two refreshes racing with one token, exactly one wins.
    let (access_token, refresh_token) = {
        let mut state = core.state();
        let dead = || ApiError::new("error_shop_refresh_token", "Invalid refresh_token.");
        let token = state.refresh_tokens.get(&body.refresh_token).ok_or_else(dead)?;
        if token.used {
            return Err(dead());
        }
        if token.expires_at <= now {
            return Err(ApiError::new("refresh_token_expired", "refresh_token is expired."));
        }
        let grant = &state.grants[token.grant];
        let covers = match (body.shop_id, body.merchant_id) {
            (Some(shop), _) => grant.shop_ids.contains(&shop),
            (None, Some(merchant)) => grant.merchant_ids.contains(&merchant),
            (None, None) => return Err(ApiError::param("Missing shop_id or merchant_id.")),
        };
        if grant.partner_id != partner_id || !covers {
            return Err(ApiError::new(
                "error_auth",
                "The refresh_token does not belong to this shop.",
            ));
        }
        let grant = token.grant;
        if let Some(token) = state.refresh_tokens.get_mut(&body.refresh_token) {
            token.used = true;
        }
        let grace_end = now + core.config.refresh_grace_secs;
        for token in state.access_tokens.values_mut().filter(|t| t.grant == grant) {
            token.expires_at = token.expires_at.min(grace_end);
        }
        issue(&core, &mut state, grant, now)
    };
    let mut answer = json!({
        "partner_id": partner_id,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expire_in": core.config.access_token_ttl_secs,
    });
    match (body.shop_id, body.merchant_id) {
        (Some(shop), _) => answer["shop_id"] = shop.into(),
        (None, Some(merchant)) => answer["merchant_id"] = merchant.into(),
        (None, None) => {}
    }
    Ok(ok_top_level(answer))
}

/// A fresh access and refresh token for a grant.
fn issue(core: &Core, state: &mut SimState, grant: usize, now: i64) -> (String, String) {
    let (access, refresh) = (random_hex(), random_hex());
    let access_expires = now + core.config.access_token_ttl_secs;
    let refresh_expires = now + core.config.refresh_token_ttl_secs;
    state.access_tokens.insert(
        access.clone(),
        AccessToken {
            grant,
            expires_at: access_expires,
        },
    );
    state.refresh_tokens.insert(
        refresh.clone(),
        RefreshToken {
            grant,
            expires_at: refresh_expires,
            used: false,
        },
    );
    (access, refresh)
}
