//! [`TiktokMarketplace`]: a configured TikTok Shop app behind the neutral [`MarketplaceApp`] interface.
//!
//! TikTok names a shop in two ways: its id (in pushes) and a `shop_cipher` every call about it must carry,
//! which only `/authorization/202309/shops` tells. The cipher travels in the shop's profile (see
//! [`super::shops`]): learnt at authorization, kept by the middle, handed back with every call, so a
//! restart or another replica asks TikTok nothing; asked for again with the shop's token only when no
//! profile holds one (tokens seeded from the configuration) or when TikTok refused a call made with it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::entity::ShopState;
use shoprelay_core::event::{Event, Platform};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::{OrderSnapshot, OrderStatus};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_core::secret::Secret;
use shoprelay_core::shop::ShopProfile;

use super::client::TiktokClient;
use super::error::TiktokError;
use super::model::{AuthorizedShop, TiktokAppConfig, TokenGrant};
use super::normalize::pushed_status;
use super::push::{dedupe_key, PushBody, TiktokPush, ORDER_STATUS};
use super::shops::{profile, Ciphers};
use super::{normalize, order_status, sign, snapshot, PLATFORM};
use crate::adapter::{
    ApiError, AuthorizeError, ChangedOrder, ChangedPage, Disposition, Grant, InboundPush, MarketplaceApp,
    PlatformError, PushRefusal, RecoveredPush, RedirectQuery, ShopAccess, ShopGrant, UnreadablePush,
};
use crate::config::{is_http_url, AppConfig, FieldProblem};
use crate::standing::{PushedStanding, Standing, StandingUnknown};

/// A TikTok Shop app with its keys, client and the ciphers learnt or refused while running.
pub struct TiktokMarketplace {
    config: TiktokAppConfig,
    client: TiktokClient,
    ciphers: Ciphers,
}

impl TiktokMarketplace {
    /// The app as configured, calling TikTok Shop through `client`.
    pub fn new(config: TiktokAppConfig, client: TiktokClient) -> Self {
        Self {
            config,
            client,
            ciphers: Ciphers::default(),
        }
    }

    /// The profiles of a listing's shops, their ciphers remembered.
    fn learn(&self, shops: &[AuthorizedShop]) -> Result<Vec<(ShopId, ShopProfile)>, TiktokError> {
        let profiles = shops.iter().map(profile).collect::<Result<Vec<_>, _>>()?;
        self.ciphers.learn(profiles.iter().map(|(id, p)| (*id, p)));
        Ok(profiles)
    }

    /// The shop's cipher: from its profile or this process' memory, else asked of TikTok.
    async fn cipher(&self, shop: ShopId, access: &ShopAccess) -> Result<String, TiktokError> {
        if let Some(cipher) = self.ciphers.get(shop, access) {
            return Ok(cipher);
        }
        let shops = self.client.shops(&self.config, &access.token).await?;
        self.learn(&shops)?;
        self.ciphers
            .get(shop, access)
            .ok_or_else(|| TiktokError::ShopNotCovered { shop: shop.to_string() })
    }

    /// A cipher that went stale (the shop re-authorized) fails the call with an API error: ask for it
    /// again next time. Returns the error.
    fn forget_cipher_after(&self, shop: ShopId, cipher: &str, err: TiktokError) -> TiktokError {
        if matches!(err, TiktokError::Api { .. }) {
            self.ciphers.refuse(shop, cipher);
        }
        err
    }

    fn tokens(grant: &TokenGrant) -> Grant {
        Grant {
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone(),
            access_expires_at: grant.access_expires_at,
            refresh_expires_at: grant.refresh_expires_at,
        }
    }
}

/// What a push reports that no event carries, for the audit log: a cancellation request that ended
/// without cancelling (withdrawn, refused).
fn report(push: &TiktokPush) -> Option<String> {
    match &push.body {
        PushBody::Cancellation {
            order_id,
            cancel_status,
            role,
            ..
        } if pushed_status(push).is_none() => Some(format!(
            "TikTok Shop order {order_id}: cancellation request {cancel_status}{}",
            role.as_deref()
                .map(|r| format!(" (requested by {r})"))
                .unwrap_or_default()
        )),
        _ => None,
    }
}

impl PlatformError for TiktokError {
    fn disposition(&self) -> Disposition {
        TiktokError::disposition(self)
    }

    fn refresh_disposition(&self) -> Disposition {
        TiktokError::refresh_disposition(self)
    }
}

impl From<TiktokError> for ApiError {
    fn from(e: TiktokError) -> Self {
        ApiError::new(e)
    }
}

/// Where a shop stands by the authorized shops list: absent, the seller's authorization no longer covers
/// it; listed, it is authorized — and nothing more is known, since TikTok documents no status field there
/// (`id, name, region, seller_type, cipher, code`).
fn standing_in(shop: ShopId, listed: &[(ShopId, ShopProfile)]) -> Standing {
    if listed.iter().any(|(id, _)| *id == shop) {
        Standing::Unknown(StandingUnknown::NotReported)
    } else {
        Standing::Known {
            state: ShopState::Inactive,
            reported_at: None,
        }
    }
}

#[async_trait]
impl MarketplaceApp for TiktokMarketplace {
    fn id(&self) -> &ConfigId {
        &self.config.id
    }

    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn sign_push(&self, _public_url: &str, raw: &[u8]) -> String {
        sign::push_signature(&self.config.app_key, self.config.app_secret.expose(), raw)
    }

    fn verify_push(&self, _public_url: &str, authorization: Option<&str>, raw: &[u8]) -> Result<(), PushRefusal> {
        let signature = authorization.ok_or(PushRefusal::SignatureMissing)?;
        if sign::verify_push(&self.config.app_key, self.config.app_secret.expose(), raw, signature) {
            Ok(())
        } else {
            Err(PushRefusal::SignatureInvalid)
        }
    }

    fn read_push(&self, raw: &[u8]) -> Result<InboundPush, UnreadablePush> {
        let push = TiktokPush::parse(raw).map_err(|e| UnreadablePush::new(PLATFORM, e))?;
        let status = pushed_status(&push);
        // Only a push that moves its order is worth an order lookup.
        let order = status
            .as_ref()
            .and(push.order_change())
            .map(|(order, _, _)| order.clone());
        Ok(InboundPush {
            code: push.kind,
            dedupe_key: dedupe_key(raw),
            shop: push.shop_id,
            order,
            verification: false,
            about_authorization: false,
            status,
            deauthorizes: false,
            times: push.times(),
            report: report(&push),
            standing: None,
        })
    }

    fn unreadable_dedupe_key(&self, raw: &[u8]) -> String {
        dedupe_key(raw)
    }

    fn unreadable_code(&self, raw: &[u8]) -> i64 {
        crate::platform::json_int_field(raw, "type").unwrap_or(-1)
    }

    fn status(&self, raw: &str) -> OrderStatus {
        order_status(raw)
    }

    async fn shop_standing(
        &self,
        shop: ShopId,
        _region: Option<&str>,
        access: &ShopAccess,
        _pushed: Option<&PushedStanding>,
    ) -> Result<Standing, ApiError> {
        let shops = self.client.shops(&self.config, &access.token).await?;
        let listed = self.learn(&shops)?;
        Ok(standing_in(shop, &listed))
    }

    async fn order(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        order: &OrderSn,
        policy: &FieldPolicy,
    ) -> Result<Option<OrderSnapshot>, ApiError> {
        let cipher = self.cipher(shop, access).await?;
        let orders = match self.client.orders(&self.config, &access.token, &cipher, &[order]).await {
            Ok(orders) => orders,
            Err(err) => return Err(self.forget_cipher_after(shop, &cipher, err).into()),
        };
        let found = orders
            .iter()
            .find(|o| o.id.as_deref().map(str::trim) == Some(order.as_str()));
        // A detail that fails to convert leaves the event with a bare snapshot rather than no event.
        Ok(found.and_then(|o| snapshot(o, region, policy).ok()))
    }

    fn normalize(
        &self,
        raw: &[u8],
        _dedupe_key: &str,
        detail: Option<&OrderSnapshot>,
        known: Option<&OrderStatus>,
        _policy: &FieldPolicy,
    ) -> Vec<Event> {
        match TiktokPush::parse(raw) {
            Ok(push) => normalize(&self.config.id, &push, detail, known),
            Err(_) => Vec::new(),
        }
    }

    fn authorization_link(&self, _redirect: &str, state: &str, _now: UnixMs) -> String {
        // TikTok sends the seller to the redirect URL registered for the service, with the state given here.
        self.client.authorize_url(&self.config, state)
    }

    async fn authorize(&self, redirect: &RedirectQuery, _now: UnixMs) -> Result<Vec<ShopGrant>, AuthorizeError> {
        let code = redirect
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or(AuthorizeError::BadRedirect("`code`"))?;
        let grant = self
            .client
            .get_token(&self.config, code)
            .await
            .map_err(ApiError::from)?;
        // One seller, one token pair, for every shop the seller authorized.
        let shops = self
            .client
            .shops(&self.config, &grant.access_token)
            .await
            .map_err(ApiError::from)?;
        let profiles = self.learn(&shops).map_err(ApiError::from)?;
        if profiles.is_empty() {
            let none = TiktokError::InvalidField {
                field: "shops",
                detail: "the authorization covers no shop".into(),
            };
            return Err(ApiError::from(none).into());
        }
        let tokens = Self::tokens(&grant);
        Ok(profiles
            .into_iter()
            .map(|(shop, profile)| ShopGrant {
                shop,
                grant: tokens.clone(),
                profile: Some(profile),
            })
            .collect())
    }

    fn max_listing_range(&self) -> Duration {
        Duration::from_secs(30 * 24 * 3600)
    }

    async fn changed_orders(
        &self,
        shop: ShopId,
        _region: Option<&str>,
        access: &ShopAccess,
        since: UnixMs,
        until: UnixMs,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, ApiError> {
        let cipher = self.cipher(shop, access).await?;
        let page = match self
            .client
            .search_updated_orders(
                &self.config,
                &access.token,
                &cipher,
                since.as_secs(),
                until.as_secs(),
                cursor,
            )
            .await
        {
            Ok(page) => page,
            Err(err) => return Err(self.forget_cipher_after(shop, &cipher, err).into()),
        };
        let orders = page
            .orders
            .iter()
            .filter_map(|o| {
                let order_sn = o.id.as_deref().and_then(|id| OrderSn::parse(id.trim()).ok())?;
                let status = o.status.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
                Some(ChangedOrder {
                    order_sn,
                    status: status.to_owned(),
                    updated_at: o.update_time.map(UnixMs::from_secs),
                })
            })
            .collect();
        // A token equal to the one just used would read the same page forever.
        let next = page
            .next_page_token
            .filter(|next| !next.trim().is_empty() && Some(next.as_str()) != cursor);
        Ok(ChangedPage { orders, next })
    }

    async fn recovered_pushes(
        &self,
        shop: ShopId,
        _region: Option<&str>,
        _access: &ShopAccess,
        orders: &[ChangedOrder],
    ) -> Result<Vec<RecoveredPush>, ApiError> {
        Ok(orders
            .iter()
            .filter_map(|o| {
                // TikTok's times are whole seconds.
                let at = o.updated_at?.as_secs();
                let dedupe_key = format!("reconcile:{shop}:{}:{}:{at}", o.order_sn, o.status);
                // The push that would have told us, as TikTok would have sent it.
                let body = serde_json::json!({
                    "type": ORDER_STATUS,
                    "tts_notification_id": dedupe_key,
                    "shop_id": shop.to_string(),
                    "timestamp": at,
                    "data": {"order_id": o.order_sn.as_str(), "order_status": o.status,
                             "is_on_hold_order": o.status.eq_ignore_ascii_case("ON_HOLD"), "update_time": at},
                })
                .to_string()
                .into_bytes();
                Some(RecoveredPush {
                    order_sn: o.order_sn.clone(),
                    body,
                    dedupe_key,
                })
            })
            .collect())
    }

    async fn refresh(&self, shop: ShopId, refresh_token: &Secret, _now: UnixMs) -> Result<Vec<ShopGrant>, ApiError> {
        let grant = self.client.refresh_token(&self.config, refresh_token).await?;
        let tokens = Self::tokens(&grant);
        // The pair is the seller's, shared by every shop they authorized. Which shops those are is asked
        // with the new token; the refresh token is spent already, so a failure here must not lose the pair.
        // Each listed shop's profile comes anew (a cipher that changed is kept from now on).
        let listed = match self.client.shops(&self.config, &grant.access_token).await {
            Ok(listed) => self.learn(&listed).unwrap_or_default(),
            Err(err) => {
                tracing::warn!(shop = %shop, error = %err, "TikTok Shop: the refreshed grant's shops could not be listed");
                Vec::new()
            }
        };
        let mut shops: Vec<ShopGrant> = listed
            .into_iter()
            .map(|(s, profile)| ShopGrant {
                shop: s,
                grant: tokens.clone(),
                profile: Some(profile),
            })
            .collect();
        if !shops.iter().any(|g| g.shop == shop) {
            shops.push(ShopGrant {
                shop,
                grant: tokens,
                profile: None,
            });
        }
        Ok(shops)
    }
}

impl AppConfig for TiktokAppConfig {
    fn id(&self) -> &ConfigId {
        &self.id
    }

    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn problems(&self) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        if self.app_key.trim().is_empty() {
            out.push(("app_key", "must not be empty".into()));
        }
        if self.app_secret.expose().is_empty() {
            out.push(("app_secret", "must not be empty".into()));
        }
        if self.service_id.trim().is_empty() {
            out.push(("service_id", "must not be empty (the Partner Center shows it)".into()));
        }
        for (field, url) in [
            ("api_base", &self.api_base),
            ("auth_base", &self.auth_base),
            ("authorize_base", &self.authorize_base),
        ] {
            if !is_http_url(url) {
                out.push((field, format!("`{url}` is not an http(s) URL")));
            }
        }
        if self.push_url.as_deref().is_some_and(|u| !is_http_url(u)) {
            out.push(("push_url", "must be an http(s) URL".into()));
        }
        out
    }

    fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn connect(&self, http: &reqwest::Client, clock: SharedClock) -> Arc<dyn MarketplaceApp> {
        Arc::new(TiktokMarketplace::new(
            self.clone(),
            TiktokClient::new(http.clone(), clock),
        ))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shop_missing_from_the_authorized_list_is_inactive_and_a_listed_one_unknown() {
        let shop = ShopId::new(7_494_049_642_642_441_621).unwrap();
        let other = ShopId::new(7).unwrap();
        let listed = vec![(shop, ShopProfile::default())];
        assert_eq!(
            standing_in(shop, &listed),
            Standing::Unknown(StandingUnknown::NotReported),
            "TikTok lists no status: authorized is all it says"
        );
        assert_eq!(
            standing_in(other, &listed),
            Standing::Known {
                state: ShopState::Inactive,
                reported_at: None
            }
        );
    }
}
