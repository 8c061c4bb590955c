//! The enrich stage: an order a push names is fetched through its marketplace's API with the shop's
//! token, retried with back-off, or given up on (the event then goes out without details).

use std::sync::Arc;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::ids::{OrderSn, ShopId};
use shoprelay_core::order::OrderSnapshot;
use shoprelay_core::policy::FieldPolicy;
use shoprelay_marketplaces::adapter::{Disposition, MarketplaceApp};
use shoprelay_store::{ShopAuth, ShopAuthRepo};

use crate::engine::EngineSettings;
use crate::tokens::{MarketplaceTokens, TokenError};

/// Fetches order details: the shops' authorizations (the token's version), the tokens, the enrichment back-off.
pub struct Enrich {
    /// The shop's authorization (the token's version).
    pub(crate) shops: Arc<dyn ShopAuthRepo>,
    pub(crate) clock: SharedClock,
    pub(crate) settings: EngineSettings,
    pub(crate) tokens: Arc<MarketplaceTokens>,
}

impl Enrich {
    /// The order's details through the marketplace's API, with the shop's token (`auth`: the shop's
    /// authorization as the pass read it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn enrich(
        &self,
        app: &dyn MarketplaceApp,
        shop: ShopId,
        region: Option<&str>,
        order: &OrderSn,
        policy: &FieldPolicy,
        attempts: i64,
        auth: Option<ShopAuth>,
    ) -> Result<Option<OrderSnapshot>, EnrichError> {
        let retry = |error: String| match self.settings.enrich_backoff.delay(attempts) {
            Some(delay) => EnrichError::Retry(self.clock.now() + delay, error),
            None => EnrichError::GiveUp(error),
        };
        let token = match self.tokens.access_token_from(app.id(), shop, auth).await {
            Ok(t) => t,
            Err(TokenError::Marketplace(e)) if e.disposition() == Disposition::Retry => {
                return Err(retry(e.to_string()))
            }
            Err(TokenError::Engine(e)) => return Err(retry(e.to_string())),
            Err(e @ TokenError::RefreshInProgress(_)) => return Err(retry(e.to_string())),
            Err(other) => return Err(EnrichError::GiveUp(other.to_string())),
        };
        match app.order(shop, region, &token, order, policy).await {
            Ok(detail) => Ok(detail),
            Err(err) => match err.disposition() {
                Disposition::Retry => Err(retry(err.to_string())),
                Disposition::RefreshToken => {
                    // The token died early: refresh once, then the next attempt uses the new one.
                    if let Ok(Some(auth)) = self.shops.shop_auth(app.id(), shop).await {
                        let _ = self.tokens.refresh_shop(app.id(), shop, auth.version).await;
                    }
                    Err(retry(err.to_string()))
                }
                Disposition::Reauthorize | Disposition::Fail => Err(EnrichError::GiveUp(err.to_string())),
            },
        }
    }
}

/// Why an order's details could not be had now.
pub(crate) enum EnrichError {
    /// Try again at this time; the error says why.
    Retry(UnixMs, String),
    /// No retry will help; the event goes out without details.
    GiveUp(String),
}
