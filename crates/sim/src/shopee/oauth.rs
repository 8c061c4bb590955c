//! Shop authorization: the current unsigned link (`/auth`, echoing `state`) and the legacy signed one,
//! the seller's approval, single-use 10-minute codes, 4-hour access tokens and single-use 30-day refresh
//! tokens (the old access token lives 5 more minutes). A main account's shops share the first pair;
//! the first refresh is made per shop (and merchant) with that same refresh token and gives each its
//! own pair, which it then rotates alone.

use axum::body::Bytes;
use axum::extract::{Query as QueryParams, State};
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::api::{check_public, number, ok_top_level, ApiError, Query};
use super::state::{
    random_hex, AccessToken, AuthCode, AuthSubject, Core, Grant, Holder, RefreshToken, Shared, State as SimState,
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
    seller_decides(&core, &q, partner_id, redirect, None)
}

/// What the simulated seller does on the authorization page: approve as `sim_shop_id` /
/// `sim_main_account_id` when the link names one, as the first shop with `auto_approve`, or show the page.
fn seller_decides(core: &Core, q: &Query, partner_id: u64, redirect: &str, state: Option<&str>) -> Response {
    let subject = match (number::<u64>(q, "sim_shop_id"), number::<u64>(q, "sim_main_account_id")) {
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
        (_, Ok(Some(main))) => AuthSubject::MainAccount(main),
        (Ok(Some(shop)), _) => AuthSubject::Shop(shop),
        (Ok(None), Ok(None)) if core.config.auto_approve => match core.config.shops.first() {
            Some(shop) => AuthSubject::Shop(shop.shop_id),
            None => return ApiError::param("The simulator has no shop to authorize.").into_response(),
        },
        (Ok(None), Ok(None)) => return approval_page(core, partner_id, redirect, state),
    };
    approve(core, partner_id, redirect, subject, state)
}

/// `GET /auth`: the current authorization page (open.shopee.com): unsigned, `redirect_uri`, and a
/// `state` echoed back with the code. `sim_shop_id` / `sim_main_account_id` as for `auth_partner`.
pub(crate) async fn auth_open(State(core): State<Shared>, QueryParams(q): QueryParams<Query>) -> Response {
    let partner_id = match number::<u64>(&q, "partner_id") {
        Ok(Some(id)) if core.partner(id).is_some() => id,
        Err(e) => return e.into_response(),
        Ok(_) => return ApiError::new("invalid_partner_id", "Invalid partner_id.").into_response(),
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return ApiError::param("response_type must be code.").into_response();
    }
    let Some(redirect) = q.get("redirect_uri").filter(|r| !r.is_empty()) else {
        return ApiError::param("Missing redirect_uri.").into_response();
    };
    let state = q.get("state").filter(|s| !s.is_empty()).map(String::as_str);
    seller_decides(&core, &q, partner_id, redirect, state)
}

#[derive(Deserialize)]
pub(crate) struct Approval {
    partner_id: u64,
    redirect: String,
    #[serde(default)]
    shop_id: Option<u64>,
    #[serde(default)]
    main_account_id: Option<u64>,
    #[serde(default)]
    state: Option<String>,
}

/// `GET /sim/auth/approve`: the seller's click on the approval page.
pub(crate) async fn approve_click(State(core): State<Shared>, QueryParams(a): QueryParams<Approval>) -> Response {
    let subject = match (a.shop_id, a.main_account_id) {
        (_, Some(main)) => AuthSubject::MainAccount(main),
        (Some(shop), None) => AuthSubject::Shop(shop),
        (None, None) => return ApiError::param("Missing shop_id.").into_response(),
    };
    approve(&core, a.partner_id, &a.redirect, subject, a.state.as_deref())
}

fn approval_page(core: &Core, partner_id: u64, redirect: &str, state: Option<&str>) -> Response {
    let mut links = String::new();
    for shop in &core.config.shops {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("partner_id", &partner_id.to_string())
            .append_pair("redirect", redirect)
            .append_pair("shop_id", &shop.shop_id.to_string());
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        let query = query.finish();
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

/// Issues a code and sends the seller back to `redirect?code=…&shop_id=…` (or `main_account_id`), with
/// the link's `state` when it had one.
fn approve(core: &Core, partner_id: u64, redirect: &str, subject: AuthSubject, state: Option<&str>) -> Response {
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
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
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
        "expire_in": expire_in(&core, now),
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
    let holder = match (body.shop_id, body.merchant_id) {
        (Some(shop), _) => Holder::Shop(shop),
        (None, Some(merchant)) => Holder::Merchant(merchant),
        (None, None) => return Err(ApiError::param("Missing shop_id or merchant_id.")),
    };
    let now = core.now();
    // One lock from check to rotation: of two refreshes racing with one token, exactly one wins.
    let (access_token, refresh_token) = {
        let mut state = core.state();
        // The refresh API's documented answer for a dead (spent, unknown or foreign) refresh token.
        let dead = || ApiError::new("error_auth", "Invalid refresh_token.");
        let token = state.refresh_tokens.get(&body.refresh_token).ok_or_else(dead)?;
        let old_grant = token.grant;
        let grant = &state.grants[old_grant];
        if token.spent_by.contains(&holder) || grant.partner_id != partner_id || !grant.covers(holder) {
            return Err(dead());
        }
        if token.expires_at <= now {
            return Err(ApiError::new("refresh_token_expired", "refresh_token is expired."));
        }
        if let Some(token) = state.refresh_tokens.get_mut(&body.refresh_token) {
            token.spent_by.push(holder);
        }
        let grace_end = now + core.config.refresh_grace_secs;
        for token in state.access_tokens.values_mut().filter(|t| t.grant == old_grant) {
            token.cut.insert(holder, grace_end);
        }
        // From here on the holder has tokens of its own.
        let (shop_ids, merchant_ids) = match holder {
            Holder::Shop(id) => (vec![id], Vec::new()),
            Holder::Merchant(id) => (Vec::new(), vec![id]),
        };
        state.grants.push(Grant {
            partner_id,
            shop_ids,
            merchant_ids,
        });
        let grant = state.grants.len() - 1;
        issue(&core, &mut state, grant, now)
    };
    let mut answer = json!({
        "partner_id": partner_id,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expire_in": expire_in(&core, now),
    });
    match (body.shop_id, body.merchant_id) {
        (Some(shop), _) => answer["shop_id"] = shop.into(),
        (None, Some(merchant)) => answer["merchant_id"] = merchant.into(),
        (None, None) => {}
    }
    Ok(ok_top_level(answer))
}

/// The answer's `expire_in`: seconds, or the expiry's unix time when configured so.
fn expire_in(core: &Core, now: i64) -> i64 {
    if core.config.expire_in_as_epoch {
        now + core.config.access_token_ttl_secs
    } else {
        core.config.access_token_ttl_secs
    }
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
            cut: Default::default(),
        },
    );
    state.refresh_tokens.insert(
        refresh.clone(),
        RefreshToken {
            grant,
            expires_at: refresh_expires,
            spent_by: Vec::new(),
        },
    );
    (access, refresh)
}
