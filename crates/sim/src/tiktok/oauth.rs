//! Seller authorization: a control call stands in for the seller approving the service and hands out a
//! code (30 minutes, single use); `/api/v2/token/get` exchanges it, `/api/v2/token/refresh` replaces the
//! pair (the spent refresh token dies), and `/authorization/202309/shops` lists the seller's shops with
//! their ciphers. Expiry fields are absolute unix times, as TikTok sends them.

use serde_json::{json, Value};

use super::api::{check_seller, ApiError, Call, INVALID_REQUEST, TOKEN_EXPIRED};
use super::config::SimSeller;
use super::control::SimError;
use super::state::{random_token, Core, Grant, State};

impl Core {
    /// Adds a seller; its open id and each shop id must be new.
    pub(crate) fn add_seller(&self, seller: SimSeller) -> Result<(), SimError> {
        let mut state = self.state();
        if state.sellers.iter().any(|s| s.open_id == seller.open_id) {
            return Err(SimError::DuplicateSeller(seller.open_id));
        }
        if let Some(taken) = seller.shops.iter().find(|s| state.shop(&s.id).is_some()) {
            return Err(SimError::DuplicateSeller(taken.id.clone()));
        }
        state.sellers.push(seller);
        Ok(())
    }

    /// The seller of `open_id` approves the service: the code the redirect would carry.
    pub(crate) fn authorize(&self, open_id: &str) -> Result<String, SimError> {
        let expires_at_ms = self.now_ms() + self.config.code_ttl_secs * 1000;
        let mut state = self.state();
        let seller = state
            .sellers
            .iter()
            .position(|s| s.open_id == open_id)
            .ok_or_else(|| SimError::UnknownSeller(open_id.to_owned()))?;
        let code = random_token();
        state.codes.insert(code.clone(), Grant { seller, expires_at_ms });
        Ok(code)
    }

    /// Takes `shop_id` out of its seller's authorization (the seller's tokens stay good for their other
    /// shops): `/authorization/202309/shops` lists it no more, its cipher is refused, it pushes nothing.
    pub(crate) fn deauthorize_shop(&self, shop_id: &str) -> Result<(), SimError> {
        let mut state = self.state();
        let (seller, _) = state
            .shop(shop_id)
            .ok_or_else(|| SimError::UnknownShop(shop_id.to_owned()))?;
        state.sellers[seller].shops.retain(|s| s.id != shop_id);
        Ok(())
    }

    /// Ends every token of the seller holding `shop_id`, as a seller withdrawing the authorization does.
    pub(crate) fn revoke_tokens(&self, shop_id: &str) -> Result<(), SimError> {
        let mut state = self.state();
        let (seller, _) = state
            .shop(shop_id)
            .ok_or_else(|| SimError::UnknownShop(shop_id.to_owned()))?;
        state.access_tokens.retain(|_, t| t.seller != seller);
        state.refresh_tokens.retain(|_, t| t.seller != seller);
        Ok(())
    }
}

/// The app credentials every token call carries in its query.
fn check_app(core: &Core, call: &Call, grant_type: &str) -> Result<(), ApiError> {
    if call.required("app_key")? != core.config.app_key || call.required("app_secret")? != core.config.app_secret {
        return Err(ApiError::new(INVALID_REQUEST, "app_key or app_secret is invalid"));
    }
    if call.required("grant_type")? != grant_type {
        return Err(ApiError::new(INVALID_REQUEST, "grant_type is invalid"));
    }
    Ok(())
}

/// `/api/v2/token/get?app_key&app_secret&auth_code&grant_type=authorized_code`.
pub(crate) fn token_get(core: &Core, call: &Call) -> Result<Value, ApiError> {
    check_app(core, call, "authorized_code")?;
    let code = call.required("auth_code")?;
    let now = core.now_ms();
    let mut state = core.state();
    // Single use: the code dies on its first exchange, whatever the outcome.
    let seller = state
        .codes
        .remove(code)
        .filter(|c| c.expires_at_ms > now)
        .ok_or_else(|| ApiError::new(INVALID_REQUEST, "auth_code is invalid or expired"))?
        .seller;
    Ok(issue(core, &mut state, seller, now))
}

/// `/api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token`.
pub(crate) fn token_refresh(core: &Core, call: &Call) -> Result<Value, ApiError> {
    check_app(core, call, "refresh_token")?;
    let refresh_token = call.required("refresh_token")?;
    let now = core.now_ms();
    // One lock from check to rotation: of two refreshes racing with one token, exactly one wins.
    let mut state = core.state();
    // The shared facts name no code for a dead refresh token; "token expired" stands in for it.
    let seller = state
        .refresh_tokens
        .remove(refresh_token)
        .filter(|t| t.expires_at_ms > now)
        .ok_or_else(|| ApiError::new(TOKEN_EXPIRED, "refresh_token is expired or invalid"))?
        .seller;
    Ok(issue(core, &mut state, seller, now))
}

/// A fresh pair for a seller. The `…_expire_in` fields are the unix seconds they expire at.
fn issue(core: &Core, state: &mut State, seller: usize, now_ms: i64) -> Value {
    let cfg = &core.config;
    let (access, refresh) = (random_token(), random_token());
    let access_at = now_ms + cfg.access_token_ttl_secs * 1000;
    let refresh_at = now_ms + cfg.refresh_token_ttl_secs * 1000;
    state.access_tokens.insert(
        access.clone(),
        Grant {
            seller,
            expires_at_ms: access_at,
        },
    );
    state.refresh_tokens.insert(
        refresh.clone(),
        Grant {
            seller,
            expires_at_ms: refresh_at,
        },
    );
    let s = &state.sellers[seller];
    json!({
        "access_token": access,
        "access_token_expire_in": access_at.div_euclid(1000),
        "refresh_token": refresh,
        "refresh_token_expire_in": refresh_at.div_euclid(1000),
        "open_id": s.open_id,
        "seller_name": s.seller_name,
    })
}

/// `/authorization/202309/shops`: the token's seller's shops with their ciphers.
pub(crate) fn shops(core: &Core, call: &Call) -> Result<Value, ApiError> {
    let seller = check_seller(core, call)?;
    let state = core.state();
    let shops: Vec<Value> = state.sellers[seller]
        .shops
        .iter()
        .map(|s| {
            json!({
                "id": s.id, "name": s.name, "region": s.region, "seller_type": "LOCAL",
                "cipher": s.cipher, "code": format!("{}LCSIM", s.region),
            })
        })
        .collect();
    Ok(json!({ "shops": shops }))
}
