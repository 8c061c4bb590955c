//! Marketplace tokens: refreshed before they expire, single-flight per shop. Refresh tokens are
//! single-use (Shopee's, and Lazada rotates its own on refresh), so two refreshes of one shop at once would leave one of them holding a dead token: within
//! a process a per-shop lock serialises them, across replicas a per-shop lease and the store's
//! compare-and-swap do, and a loser re-reads the winner's tokens instead of declaring the shop lost.
//!
//! What a marketplace tells about a shop at authorization (its [`ShopProfile`]: name, region, data only
//! the adapter reads) is kept beside the tokens, renewed when a refresh tells it anew, and handed back
//! with the token on every call ([`ShopAccess`]), so the adapter never has to ask again after a restart.
//!
//! Tokens are per shop. A main account's authorization hands every shop the same initial pair, but
//! Shopee accepts that initial refresh token once PER SHOP, each refresh returning the shop's own
//! independent pair; copying one shop's refreshed pair to its siblings would break them four hours later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoprelay_clock::SharedClock;
use shoprelay_core::audit_text;
use shoprelay_core::event::{Event, EventBody, Platform};
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::secret::Secret;
use shoprelay_core::shop::ShopProfile;
use shoprelay_marketplaces::adapter::{
    ApiError, AuthorizeError, Disposition, Grant, RedirectQuery, ShopAccess, ShopGrant,
};
use shoprelay_store::{
    AuditEntry, AuditKind, AuditLog, AuditOutcome, NewEvent, ShopAuth, ShopAuthRepo, ShopAuthStatus,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::engine::EngineSettings;
use crate::error::EngineError;
use crate::stage::route::Route;
use crate::stage::{stage_common, ConfigView};

/// One shop's refresh lock.
type ShopLock = Arc<tokio::sync::Mutex<()>>;

/// Per-shop refresh locks.
#[derive(Default)]
pub struct TokenManager {
    locks: Mutex<HashMap<(ConfigId, ShopId), ShopLock>>,
}

impl TokenManager {
    fn lock_for(&self, app: &ConfigId, shop: ShopId) -> ShopLock {
        let mut map = match self.locks.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry((app.clone(), shop)).or_default().clone()
    }
}

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No marketplace app with this id is configured.
    #[error("no marketplace app `{0}` is configured")]
    UnknownApp(ConfigId),
    /// Another process is refreshing this shop's tokens right now; try again shortly.
    #[error("the tokens of shop {0} are being refreshed by another process")]
    RefreshInProgress(ShopId),
    /// The shop never completed authorization.
    #[error("shop {0} is not authorized")]
    NotAuthorized(ShopId),
    /// The shop must be authorized again (refresh token dead, or deauthorized).
    #[error("shop {0} must be authorized again")]
    NeedsReauthorization(ShopId),
    /// The redirect lacks what the marketplace always sends.
    #[error("the authorization redirect lacks {0}")]
    BadRedirect(&'static str),
    /// The redirect's `state` is missing, used, expired or not one this server handed out.
    #[error("the authorization redirect's state is not one this server issued, or it was used or expired")]
    BadState,
    /// The marketplace refused or could not be reached.
    #[error(transparent)]
    Marketplace(#[from] ApiError),
    /// Storage failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<shoprelay_store::StoreError> for TokenError {
    fn from(e: shoprelay_store::StoreError) -> Self {
        TokenError::Engine(EngineError::Store(e))
    }
}

fn grant_to_auth(app: &ConfigId, shop: ShopId, grant: &Grant, version: i64) -> ShopAuth {
    ShopAuth {
        app_id: app.clone(),
        shop_id: shop,
        access_token: grant.access_token.clone(),
        refresh_token: grant.refresh_token.clone(),
        access_expires_at: grant.access_expires_at,
        refresh_expires_at: grant.refresh_expires_at,
        status: ShopAuthStatus::Active,
        status_reason: None,
        version,
    }
}

/// How long an authorization link's state is accepted (Shopee's code itself lives 10 minutes).
const AUTH_STATE_TTL: Duration = Duration::from_secs(15 * 60);

/// How long one refresh may hold its shop's lease (well above the HTTP timeout).
const REFRESH_LEASE: Duration = Duration::from_secs(60);

/// The marketplace tokens every stage that calls a marketplace shares (enrich, ingest's reconciliation,
/// customer service, logistics): authorization, single-flight refresh, re-authorization notices.
pub struct MarketplaceTokens {
    /// The shops' authorizations: tokens, refresh leases, authorization states, profiles.
    pub(crate) shops: Arc<dyn ShopAuthRepo>,
    /// Queues the notices of shops to authorize again; prunes the send records (see `refresh_loop`).
    pub(crate) deliveries: Arc<dyn shoprelay_store::Outbox>,
    /// Records refreshes, failures and re-authorizations.
    pub(crate) audit_log: Arc<dyn AuditLog>,
    pub(crate) clock: SharedClock,
    pub(crate) settings: EngineSettings,
    pub(crate) config: ConfigView,
    /// Routes the notice of a shop that must be authorized again.
    pub(crate) route: Arc<Route>,
    pub(crate) outbox_wake: Arc<Notify>,
    /// Per-shop refresh locks.
    pub(crate) tokens: TokenManager,
}

stage_common!(MarketplaceTokens, wait);

impl MarketplaceTokens {
    /// The link a seller opens to authorize `app_id`'s app, carrying a fresh single-use state nonce that
    /// [`MarketplaceTokens::complete_authorization`] requires back. `callback` is the redirect's URL.
    pub async fn authorization_link(&self, app_id: &ConfigId, callback: &str) -> Result<String, TokenError> {
        let registry = self.registry();
        let app = registry
            .marketplaces
            .get(app_id)
            .ok_or_else(|| TokenError::UnknownApp(app_id.clone()))?;
        let state = uuid::Uuid::new_v4().simple().to_string();
        let now = self.clock.now();
        self.shops
            .create_auth_state(&state, app_id, now, now + AUTH_STATE_TTL)
            .await?;
        Ok(app.authorization_link(callback, &state, now))
    }

    /// Completes an authorization redirect (its query: the code, the platform's shop fields, our state)
    /// and stores the tokens of every shop it covers.
    pub async fn complete_authorization(
        &self,
        app_id: &ConfigId,
        redirect: &RedirectQuery,
    ) -> Result<Vec<ShopId>, TokenError> {
        let registry = self.registry();
        let app = registry
            .marketplaces
            .get(app_id)
            .ok_or_else(|| TokenError::UnknownApp(app_id.clone()))?;
        // Before the marketplace is asked: a forged or replayed redirect must not bind anything.
        let state = redirect.get("state").map(String::as_str).unwrap_or_default();
        if !self.shops.take_auth_state(state, app_id, self.clock.now()).await? {
            return Err(TokenError::BadState);
        }
        let grants = app.authorize(redirect, self.clock.now()).await.map_err(|e| match e {
            AuthorizeError::BadRedirect(what) => TokenError::BadRedirect(what),
            AuthorizeError::Api(e) => TokenError::Marketplace(e),
        })?;
        let mut shops = Vec::with_capacity(grants.len());
        for ShopGrant { shop, grant, profile } in grants {
            self.shops
                .save_shop_auth(&grant_to_auth(app_id, shop, &grant, 0), self.clock.now())
                .await?;
            // A new authorization replaces what an earlier one told about the shop.
            self.shops
                .save_shop_profile(app_id, shop, &profile.unwrap_or_default(), self.clock.now())
                .await?;
            let mut audit = AuditEntry::new(
                AuditKind::Auth,
                AuditOutcome::Authorized,
                self.clock.now(),
                audit_text::AUTH_CODE_EXCHANGED,
            )
            .of_app(app.platform(), app_id);
            audit.shop_id = i64::try_from(shop.get()).ok();
            self.audit_log.append_audit(audit).await?;
            shops.push(shop);
        }
        Ok(shops)
    }

    /// What a call about the shop carries: its access token, refreshed first when it expires within the
    /// refresh margin, and the profile kept from its authorization.
    pub async fn access_token(&self, app_id: &ConfigId, shop: ShopId) -> Result<ShopAccess, TokenError> {
        let auth = self.shops.shop_auth(app_id, shop).await?;
        self.access_token_from(app_id, shop, auth).await
    }

    /// [`Self::access_token`] from the shop's authorization as already read (an inbox pass reads its
    /// shops' at once); a refresh still reads it again under its single-flight lock.
    pub(crate) async fn access_token_from(
        &self,
        app_id: &ConfigId,
        shop: ShopId,
        auth: Option<ShopAuth>,
    ) -> Result<ShopAccess, TokenError> {
        let token = self.fresh_token(app_id, shop, auth).await?;
        let profile = self.shops.shop_profile(app_id, shop).await?;
        Ok(ShopAccess { token, profile })
    }

    /// The shop's access token, refreshed first when it expires within the refresh margin.
    async fn fresh_token(&self, app_id: &ConfigId, shop: ShopId, auth: Option<ShopAuth>) -> Result<Secret, TokenError> {
        let auth = auth.ok_or(TokenError::NotAuthorized(shop))?;
        if auth.status != ShopAuthStatus::Active {
            return Err(TokenError::NeedsReauthorization(shop));
        }
        if !self.expires_soon(&auth) {
            return Ok(auth.access_token);
        }
        self.refresh_shop(app_id, shop, auth.version).await
    }

    /// Refreshes the shop's tokens unless someone already moved past `seen_version`. Single-flight: a
    /// per-shop lock in this process, a per-shop lease in the database across replicas, both taken
    /// BEFORE the marketplace is called, since the call spends the single-use refresh token.
    pub async fn refresh_shop(&self, app_id: &ConfigId, shop: ShopId, seen_version: i64) -> Result<Secret, TokenError> {
        let lock = self.tokens.lock_for(app_id, shop);
        let _single_flight = lock.lock().await;
        let auth = self
            .shops
            .shop_auth(app_id, shop)
            .await?
            .ok_or(TokenError::NotAuthorized(shop))?;
        if auth.status != ShopAuthStatus::Active {
            return Err(TokenError::NeedsReauthorization(shop));
        }
        if auth.version != seen_version {
            return Ok(auth.access_token);
        }
        let now = self.clock.now();
        if !self.shops.begin_refresh(app_id, shop, now, now + REFRESH_LEASE).await? {
            return Err(TokenError::RefreshInProgress(shop));
        }
        let result = self.refresh_holding_lease(app_id, shop, &auth).await;
        if let Err(err) = self.shops.end_refresh(app_id, shop).await {
            // The lease runs out by itself; only the next refresh waits for it.
            tracing::warn!(error = ?err, app = %app_id, shop = %shop, "could not release the refresh lease");
        }
        result
    }

    async fn refresh_holding_lease(
        &self,
        app_id: &ConfigId,
        shop: ShopId,
        auth: &ShopAuth,
    ) -> Result<Secret, TokenError> {
        let registry = self.registry();
        let app = registry
            .marketplaces
            .get(app_id)
            .ok_or_else(|| TokenError::UnknownApp(app_id.clone()))?;
        let mut audit = AuditEntry::new(
            AuditKind::Auth,
            AuditOutcome::Refreshed,
            self.clock.now(),
            audit_text::TOKEN_REFRESHED,
        )
        .of_app(app.platform(), app_id);
        audit.shop_id = i64::try_from(shop.get()).ok();
        match app.refresh(shop, &auth.refresh_token, self.clock.now()).await {
            Ok(grants) => {
                let Some(granted) = grants.iter().find(|g| g.shop == shop) else {
                    return Err(TokenError::NotAuthorized(shop));
                };
                let grant = &granted.grant;
                let fresh = grant_to_auth(app_id, shop, grant, auth.version);
                // The old refresh token is spent: storing the new pair must not be given up on lightly.
                let mut stored = self.shops.rotate_shop_tokens(&fresh, self.clock.now()).await;
                for _ in 0..3 {
                    if stored.is_ok() {
                        break;
                    }
                    self.clock.sleep(Duration::from_millis(200)).await;
                    stored = self.shops.rotate_shop_tokens(&fresh, self.clock.now()).await;
                }
                if stored? {
                    self.keep_profile(app_id, shop, granted.profile.as_ref()).await;
                    self.audit_log.append_audit(audit).await?;
                    self.share_refreshed(app_id, shop, auth, &grants).await?;
                    Ok(fresh.access_token)
                } else {
                    // Only possible when the row changed under the lease (a new authorization meanwhile).
                    let current = self
                        .shops
                        .shop_auth(app_id, shop)
                        .await?
                        .ok_or(TokenError::NotAuthorized(shop))?;
                    Ok(current.access_token)
                }
            }
            Err(err) if err.refresh_disposition() == Disposition::Reauthorize => {
                // A shop sharing its grant with others may have been given a new pair by a sibling's
                // refresh while this one was on its way with the old token: that is no lost authorization.
                if let Some(current) = self.shops.shop_auth(app_id, shop).await? {
                    if current.version != auth.version && current.status == ShopAuthStatus::Active {
                        return Ok(current.access_token);
                    }
                }
                self.mark_needs_reauthorization(app.platform(), app_id, shop, auth.version, &err)
                    .await?;
                Err(TokenError::NeedsReauthorization(shop))
            }
            Err(err) => {
                audit.outcome = AuditOutcome::RefreshFailed;
                audit.detail = err.to_string();
                self.audit_log.append_audit(audit).await?;
                Err(err.into())
            }
        }
    }

    /// Gives the other shops a refreshed grant covers their new pair: each still holding the refresh token
    /// just spent (one authorized separately since keeps its own).
    async fn share_refreshed(
        &self,
        app_id: &ConfigId,
        refreshed: ShopId,
        spent: &ShopAuth,
        grants: &[ShopGrant],
    ) -> Result<(), TokenError> {
        for ShopGrant { shop, grant, profile } in grants.iter().filter(|g| g.shop != refreshed) {
            let Some(sibling) = self.shops.shop_auth(app_id, *shop).await? else {
                continue;
            };
            if sibling.refresh_token != spent.refresh_token || sibling.status != ShopAuthStatus::Active {
                continue;
            }
            let fresh = grant_to_auth(app_id, *shop, grant, sibling.version);
            if self.shops.rotate_shop_tokens(&fresh, self.clock.now()).await? {
                self.keep_profile(app_id, *shop, profile.as_ref()).await;
                let mut audit = AuditEntry::new(
                    AuditKind::Auth,
                    AuditOutcome::Refreshed,
                    self.clock.now(),
                    audit_text::refreshed_with(refreshed),
                );
                audit.app_id = Some(app_id.to_string());
                audit.platform = self.registry().platform_of(app_id);
                audit.shop_id = i64::try_from(shop.get()).ok();
                self.audit_log.append_audit(audit).await?;
            }
        }
        Ok(())
    }

    /// Keeps the profile a refresh told anew (none told: the kept one stays). The tokens are stored
    /// already, and a profile the adapter can learn again is not worth failing their refresh for.
    async fn keep_profile(&self, app_id: &ConfigId, shop: ShopId, profile: Option<&ShopProfile>) {
        let Some(profile) = profile else {
            return;
        };
        if let Err(err) = self
            .shops
            .save_shop_profile(app_id, shop, profile, self.clock.now())
            .await
        {
            tracing::warn!(app = %app_id, shop = %shop, error = ?err, "could not keep the shop's refreshed profile");
        }
    }

    async fn mark_needs_reauthorization(
        &self,
        platform: Platform,
        app_id: &ConfigId,
        shop: ShopId,
        version: i64,
        err: &ApiError,
    ) -> Result<(), TokenError> {
        let reason = err.to_string();
        tracing::warn!(app = %app_id, shop = %shop, %reason, "refresh token rejected; the seller must authorize the shop again");
        self.shops
            .set_shop_status(
                app_id,
                shop,
                ShopAuthStatus::NeedsReauthorization,
                Some(&reason),
                self.clock.now(),
            )
            .await?;
        let mut audit = AuditEntry::new(
            AuditKind::Auth,
            AuditOutcome::NeedsReauthorization,
            self.clock.now(),
            reason.clone(),
        )
        .of_app(platform, app_id);
        audit.shop_id = i64::try_from(shop.get()).ok();
        self.audit_log.append_audit(audit).await?;
        let event = Event {
            // Once per authorization lost: a later authorization gets a new version, hence its own notice.
            dedupe_key: format!("{platform}:reauth:{app_id}:{shop}:{version}"),
            platform,
            app: app_id.clone(),
            shop_id: Some(shop),
            order_sn: None,
            occurred_at: self.clock.now(),
            order: None,
            body: EventBody::ReauthorizationRequired { reason },
        };
        let deliveries = self.route.route(&self.registry(), &event).await?;
        self.deliveries
            .insert_event(NewEvent { event, deliveries }, self.clock.now())
            .await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// Whether the shop's access token expires within the refresh margin (or has expired).
    fn expires_soon(&self, auth: &ShopAuth) -> bool {
        auth.access_expires_at <= self.clock.now() + self.settings.refresh_ahead
    }

    /// Refreshes every active shop whose access token expires within the margin, once a minute.
    pub(crate) async fn refresh_loop(&self, shutdown: CancellationToken) {
        loop {
            if let Err(err) = self.refresh_due().await {
                tracing::warn!(error = ?err, "token refresh pass failed");
            }
            // Budgets look back an hour at most.
            if let Err(err) = self
                .deliveries
                .prune_sends(self.clock.now() - Duration::from_secs(2 * 3_600))
                .await
            {
                tracing::warn!(error = ?err, "pruning the send log failed");
            }
            // Reports of unreached members (their userids) dedupe within a day; two days is plenty.
            if let Err(err) = self
                .deliveries
                .prune_unreached(self.clock.now() - Duration::from_secs(2 * 86_400))
                .await
            {
                tracing::warn!(error = ?err, "pruning unreached-recipient reports failed");
            }
            if !self.wait(std::time::Duration::from_secs(60), &shutdown).await {
                return;
            }
        }
    }

    /// One refresh pass over every shop; returns how many were refreshed.
    pub async fn refresh_due(&self) -> Result<usize, EngineError> {
        let mut refreshed = 0;
        for auth in self.shops.list_shop_auth().await? {
            if auth.status != ShopAuthStatus::Active || !self.expires_soon(&auth) {
                continue;
            }
            match self.refresh_shop(&auth.app_id, auth.shop_id, auth.version).await {
                Ok(_) => refreshed += 1,
                Err(err) => tracing::warn!(shop = %auth.shop_id, error = %err, "refresh failed"),
            }
        }
        Ok(refreshed)
    }
}
