//! Seller authorization: a control call stands in for the seller approving the app and hands out a code
//! (single use, 30 minutes); `/auth/token/create` exchanges it, `/auth/token/refresh` rotates the refresh
//! token (the spent one is then `IllegalRefreshToken`). Token answers carry their fields at the top level.

use serde_json::{json, Value};

use super::api::{check_signed, Answer, ApiError, Call};
use super::config::SimSeller;
use super::control::SimError;
use super::state::{random_hex, AuthCode, Core, State, Token};

impl Core {
    /// Adds a seller account; its login and each seller id must be new.
    pub(crate) fn add_seller(&self, seller: SimSeller) -> Result<(), SimError> {
        let mut state = self.state();
        if state.sellers.iter().any(|s| s.account == seller.account) {
            return Err(SimError::DuplicateSeller(seller.account));
        }
        if let Some(taken) = seller
            .country_user_info
            .iter()
            .find(|c| state.seller(&c.seller_id).is_some())
        {
            return Err(SimError::DuplicateSeller(taken.seller_id.clone()));
        }
        state.sellers.push(seller);
        Ok(())
    }

    /// The seller of `account` approves the app: the code the redirect would carry.
    pub(crate) fn authorize(&self, account: &str) -> Result<String, SimError> {
        let expires_at_ms = self.now_ms() + self.config.code_ttl_secs * 1000;
        let mut state = self.state();
        let account = state
            .sellers
            .iter()
            .position(|s| s.account == account)
            .ok_or_else(|| SimError::UnknownAccount(account.to_owned()))?;
        let code = format!("0_{}_{}", self.config.app_key, random_hex());
        state.codes.insert(code.clone(), AuthCode { account, expires_at_ms });
        Ok(code)
    }

    /// Ends every token of the account that holds `seller_id`, as a seller withdrawing the app does.
    pub(crate) fn revoke_tokens(&self, seller_id: &str) -> Result<(), SimError> {
        let mut state = self.state();
        let (account, _) = state
            .seller(seller_id)
            .ok_or_else(|| SimError::UnknownSeller(seller_id.to_owned()))?;
        state.access_tokens.retain(|_, t| t.account != account);
        state.refresh_tokens.retain(|_, t| t.account != account);
        Ok(())
    }
}

/// `/auth/token/create?code=`.
pub(crate) fn token_create(core: &Core, call: &Call) -> Result<Answer, ApiError> {
    check_signed(core, call)?;
    let code = call.required("code")?;
    let now = core.now_ms();
    let mut state = core.state();
    // Single use: the code dies on its first exchange, whatever the outcome.
    let account = state
        .codes
        .remove(code)
        .filter(|c| c.expires_at_ms > now)
        .ok_or_else(|| ApiError::isv("InvalidCode", "Invalid authorization code"))?
        .account;
    Ok(Answer::TopLevel(issue(
        core,
        &mut state,
        account,
        now,
        "country_user_info",
    )))
}

/// `/auth/token/refresh?refresh_token=`: the refresh token is spent and replaced.
pub(crate) fn token_refresh(core: &Core, call: &Call) -> Result<Answer, ApiError> {
    check_signed(core, call)?;
    let refresh_token = call.required("refresh_token")?;
    let now = core.now_ms();
    // One lock from check to rotation: of two refreshes racing with one token, exactly one wins.
    let mut state = core.state();
    let account = state
        .refresh_tokens
        .remove(refresh_token)
        .filter(|t| t.expires_at_ms > now)
        .ok_or_else(ApiError::illegal_refresh_token)?
        .account;
    Ok(Answer::TopLevel(issue(
        core,
        &mut state,
        account,
        now,
        "country_user_info_list",
    )))
}

/// A fresh token pair for an account, answered with its shops under `list_field` (the two token APIs
/// name that list differently).
fn issue(core: &Core, state: &mut State, account: usize, now: i64, list_field: &str) -> Value {
    let (access, refresh) = (random_hex(), random_hex());
    let cfg = &core.config;
    let access_token = Token {
        account,
        expires_at_ms: now + cfg.access_token_ttl_secs * 1000,
    };
    let refresh_token = Token {
        account,
        expires_at_ms: now + cfg.refresh_token_ttl_secs * 1000,
    };
    state.access_tokens.insert(access.clone(), access_token);
    state.refresh_tokens.insert(refresh.clone(), refresh_token);
    let seller = &state.sellers[account];
    let country = seller
        .country_user_info
        .first()
        .map(|c| c.country.code())
        .unwrap_or_default();
    let mut answer = json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": cfg.access_token_ttl_secs,
        "refresh_expires_in": cfg.refresh_token_ttl_secs,
        "country": country,
        "account": seller.account,
        "account_platform": "seller_center",
    });
    answer[list_field] = json!(seller.country_user_info);
    answer
}
