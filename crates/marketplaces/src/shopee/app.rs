//! [`ShopeeMarketplace`]: a configured Shopee partner app behind the neutral [`MarketplaceApp`] interface.

use async_trait::async_trait;
use shoprelay_core::event::{Event, Platform};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::{OrderSnapshot, OrderStatus};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_core::secret::Secret;

use super::client::ShopeeClient;
use super::error::ShopeeError;
use super::model::ShopeeApp;
use super::push::{dedupe_key, PushBody, ShopeePush};
use super::{normalize, sign, status, PLATFORM};
use crate::adapter::{ApiError, Disposition, Grant, InboundPush, MarketplaceApp, PlatformError, PushRefusal};

/// Refresh tokens live 30 days.
const REFRESH_TOKEN_SECS: i64 = 30 * 24 * 3600;

/// A Shopee partner app with its keys and client.
pub struct ShopeeMarketplace {
    id: ConfigId,
    app: ShopeeApp,
    push_key: Secret,
    push_url: Option<String>,
    client: ShopeeClient,
}

impl ShopeeMarketplace {
    /// The app `id` with its API credentials; pushes are signed with `push_key` over `push_url` (by
    /// default `{public_url}/push/shopee/{id}`).
    pub fn new(id: ConfigId, app: ShopeeApp, push_key: Secret, push_url: Option<String>, client: ShopeeClient) -> Self {
        Self {
            id,
            app,
            push_key,
            push_url,
            client,
        }
    }

    /// The callback URL Shopee signs pushes with.
    pub fn callback_url(&self, public_url: &str) -> String {
        self.push_url
            .clone()
            .unwrap_or_else(|| format!("{}/push/shopee/{}", public_url.trim_end_matches('/'), self.id))
    }
}

impl PlatformError for ShopeeError {
    fn disposition(&self) -> Disposition {
        ShopeeError::disposition(self)
    }

    fn refresh_disposition(&self) -> Disposition {
        ShopeeError::refresh_disposition(self)
    }
}

impl From<ShopeeError> for ApiError {
    fn from(e: ShopeeError) -> Self {
        ApiError::new(e)
    }
}

/// The shop a push's body names when its envelope does not.
fn body_shop(body: &PushBody) -> Option<ShopId> {
    match body {
        PushBody::OrderStatus { shop_id, .. }
        | PushBody::TrackingNumber { shop_id, .. }
        | PushBody::Webchat { shop_id, .. }
        | PushBody::ShopDeauthorized { shop_id } => Some(*shop_id),
        _ => None,
    }
}

#[async_trait]
impl MarketplaceApp for ShopeeMarketplace {
    fn id(&self) -> &ConfigId {
        &self.id
    }

    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn verify_push(&self, public_url: &str, authorization: Option<&str>, raw: &[u8]) -> Result<(), PushRefusal> {
        let signature = authorization.ok_or(PushRefusal::SignatureMissing)?;
        let url = self.callback_url(public_url);
        if sign::verify_push(self.push_key.expose(), &url, raw, signature.trim()) {
            Ok(())
        } else {
            Err(PushRefusal::SignatureInvalid)
        }
    }

    fn read_push(&self, raw: &[u8]) -> Result<InboundPush, String> {
        let push = ShopeePush::parse(raw).map_err(|e| e.to_string())?;
        let order = match &push.body {
            PushBody::OrderStatus { order_sn, .. } | PushBody::TrackingNumber { order_sn, .. } => {
                Some(order_sn.clone())
            }
            _ => None,
        };
        let status = match &push.body {
            PushBody::OrderStatus {
                status, update_time, ..
            } => Some((status.clone(), *update_time)),
            _ => None,
        };
        Ok(InboundPush {
            code: push.code,
            dedupe_key: dedupe_key(raw),
            shop: push.shop_id.or_else(|| body_shop(&push.body)),
            order,
            verification: matches!(push.body, PushBody::Verification { .. }),
            // Code 1 (authorized) and 12 (authorization expiring) concern shops not configured yet too.
            about_authorization: push.code == 1 || push.code == 12,
            status,
            deauthorizes: matches!(push.body, PushBody::ShopDeauthorized { .. }),
            times: push.times(),
        })
    }

    fn unreadable_dedupe_key(&self, raw: &[u8]) -> String {
        dedupe_key(raw)
    }

    fn status(&self, raw: &str) -> OrderStatus {
        status::order_status(raw)
    }

    async fn order(
        &self,
        shop: ShopId,
        _region: Option<&str>,
        access_token: &Secret,
        order: &OrderSn,
        policy: &FieldPolicy,
    ) -> Result<Option<OrderSnapshot>, ApiError> {
        let mut details = self
            .client
            .get_order_detail(
                &self.app,
                shop,
                access_token.expose(),
                std::slice::from_ref(order),
                policy,
            )
            .await?;
        // A detail that fails to convert leaves the event with a bare snapshot rather than no event.
        Ok(details.pop().and_then(|d| d.to_snapshot(policy).ok()))
    }

    fn normalize(
        &self,
        raw: &[u8],
        dedupe_key: &str,
        detail: Option<&OrderSnapshot>,
        known: Option<&OrderStatus>,
        _policy: &FieldPolicy,
    ) -> Vec<Event> {
        match ShopeePush::parse(raw) {
            Ok(push) => normalize(&self.id, &push, dedupe_key, detail, known),
            Err(_) => Vec::new(),
        }
    }

    async fn refresh(&self, shop: ShopId, refresh_token: &Secret, now: i64) -> Result<Grant, ApiError> {
        let grant = self
            .client
            .refresh_access_token(&self.app, refresh_token.expose(), shop)
            .await?;
        Ok(Grant {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            access_expires_at: grant.expires.at(now),
            refresh_expires_at: now + REFRESH_TOKEN_SECS,
        })
    }
}
