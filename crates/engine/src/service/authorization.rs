//! Shops authorized by their sellers: the link a seller opens, the redirect that completes it, and which
//! of the shops a redirect named are now bound (for the page the seller lands on).

use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_marketplaces::adapter::RedirectQuery;
use shoprelay_store::{ShopAuthRepo, ShopAuthStatus};

use crate::stage::ConfigView;
use crate::tokens::{MarketplaceTokens, TokenError};
use crate::Engine;

/// Authorization links and redirects.
pub struct AuthorizationService<'a> {
    tokens: &'a MarketplaceTokens,
    shops: &'a dyn ShopAuthRepo,
    config: &'a ConfigView,
}

impl<'a> AuthorizationService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            tokens: &engine.tokens,
            shops: &*engine.store,
            config: &engine.config,
        }
    }

    /// The link a seller opens to authorize `app_id`'s app (see [`MarketplaceTokens::authorization_link`]).
    pub async fn link(&self, app_id: &ConfigId, callback: &str) -> Result<String, TokenError> {
        self.tokens.authorization_link(app_id, callback).await
    }

    /// Completes an authorization redirect (see [`MarketplaceTokens::complete_authorization`]).
    pub async fn complete(&self, app_id: &ConfigId, redirect: &RedirectQuery) -> Result<Vec<ShopId>, TokenError> {
        self.tokens.complete_authorization(app_id, redirect).await
    }

    /// Those of `shops` whose authorization under `app` is active, each with its name (the configured
    /// one, else what the marketplace told at authorization), in their order. A shop whose state cannot
    /// be read is left out: the answer only ever names shops known to be bound.
    pub async fn bound(&self, app: &ConfigId, shops: &[ShopId]) -> Vec<(ShopId, Option<String>)> {
        let registry = self.config.current();
        let keys: Vec<(ConfigId, ShopId)> = shops.iter().map(|&shop| (app.clone(), shop)).collect();
        // One read for every shop; should it fail (one row that cannot be read fails the batch), each
        // shop is read alone, so only the unreadable one is left out.
        let auths = match self.shops.shop_auths(&keys).await {
            Ok(auths) => auths,
            Err(_) => {
                let mut one_by_one = Vec::with_capacity(shops.len());
                for &shop in shops {
                    one_by_one.push(self.shops.shop_auth(app, shop).await.ok().flatten());
                }
                one_by_one
            }
        };
        let mut bound = Vec::new();
        for (&shop, auth) in shops.iter().zip(auths) {
            if !matches!(auth, Some(a) if a.status == ShopAuthStatus::Active) {
                continue;
            }
            let name = match registry.shop(app, shop) {
                Some(configured) => Some(configured.name.clone()),
                None => self
                    .shops
                    .shop_profile(app, shop)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|p| p.name),
            };
            bound.push((shop, name));
        }
        bound
    }
}
