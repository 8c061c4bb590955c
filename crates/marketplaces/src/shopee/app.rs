//! [`ShopeeMarketplace`]: a configured Shopee partner app behind the neutral [`MarketplaceApp`] interface.

use std::time::Duration;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::entity::ShopState;
use shoprelay_core::event::{Event, Platform, TrailStep};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::{OrderSnapshot, OrderStatus};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_core::secret::Secret;

use super::client::ShopeeClient;
use super::config::ShopeeAppConfig;
use super::error::ShopeeError;
use super::model::{AuthTarget, ShopeeApp};
use super::push::{dedupe_key, PushBody, ShopeePush};
use super::{normalize, sign, status, PLATFORM};
use super::{open_auth_url, AuthLinkKind};
use crate::adapter::{
    ApiError, AuthorizeError, ChangedOrder, ChangedPage, ChatDisposition, Disposition, Grant, InboundPush, KeptPush,
    KeptPushes, MarketplaceApp, ParcelState, PlatformError, PushRefusal, RecoveredPush, RedirectQuery, SentChat,
    ShopAccess, ShopGrant, Trail, UnreadablePush, Unsupported,
};
use crate::standing::{PushedStanding, Standing};

/// Refresh tokens live 30 days.
const REFRESH_TOKEN_LIFE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A Shopee partner app with its keys and client.
pub struct ShopeeMarketplace {
    config: ShopeeAppConfig,
    app: ShopeeApp,
    client: ShopeeClient,
}

impl ShopeeMarketplace {
    /// The app as configured, calling Shopee through `client`.
    pub fn new(config: ShopeeAppConfig, client: ShopeeClient) -> Self {
        Self {
            app: config.api_app(),
            config,
            client,
        }
    }
}

impl PlatformError for ShopeeError {
    fn disposition(&self) -> Disposition {
        ShopeeError::disposition(self)
    }

    fn refresh_disposition(&self) -> Disposition {
        ShopeeError::refresh_disposition(self)
    }

    fn chat_disposition(&self) -> ChatDisposition {
        ShopeeError::chat_disposition(self)
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
        &self.config.id
    }

    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn sign_push(&self, public_url: &str, raw: &[u8]) -> String {
        sign::push_signature(
            self.config.push_key().expose(),
            &self.config.callback_url(public_url),
            raw,
        )
    }

    async fn shop_standing(
        &self,
        shop: ShopId,
        _region: Option<&str>,
        access: &ShopAccess,
        _pushed: Option<&PushedStanding>,
    ) -> Result<Standing, ApiError> {
        let status = self
            .client
            .get_shop_status(&self.app, shop, access.token.expose())
            .await?;
        // Shopee's words: NORMAL trades; BANNED and FROZEN do not (a banned shop's grant also goes soon).
        let state = match status.as_str() {
            "BANNED" | "FROZEN" => ShopState::Frozen,
            _ => ShopState::Active,
        };
        Ok(Standing::Known {
            state,
            reported_at: None,
        })
    }

    fn verify_push(&self, public_url: &str, authorization: Option<&str>, raw: &[u8]) -> Result<(), PushRefusal> {
        let signature = authorization.ok_or(PushRefusal::SignatureMissing)?;
        let url = self.config.callback_url(public_url);
        if sign::verify_push(self.config.push_key().expose(), &url, raw, signature.trim()) {
            Ok(())
        } else {
            Err(PushRefusal::SignatureInvalid)
        }
    }

    fn read_push(&self, raw: &[u8]) -> Result<InboundPush, UnreadablePush> {
        let push = ShopeePush::parse(raw).map_err(|e| UnreadablePush::new(PLATFORM, e))?;
        let order = match &push.body {
            PushBody::OrderStatus { order_sn, .. } | PushBody::TrackingNumber { order_sn, .. } => {
                Some(order_sn.clone())
            }
            _ => None,
        };
        let status = match &push.body {
            PushBody::OrderStatus {
                status, update_time, ..
            } => Some((status.clone(), UnixMs::from_secs(*update_time))),
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
            report: None,
            standing: None,
        })
    }

    fn unreadable_dedupe_key(&self, raw: &[u8]) -> String {
        dedupe_key(raw)
    }

    fn unreadable_code(&self, raw: &[u8]) -> i64 {
        crate::platform::json_int_field(raw, "code").unwrap_or(-1)
    }

    fn status(&self, raw: &str) -> OrderStatus {
        status::order_status(raw)
    }

    async fn order(
        &self,
        shop: ShopId,
        _region: Option<&str>,
        access: &ShopAccess,
        order: &OrderSn,
        policy: &FieldPolicy,
    ) -> Result<Option<OrderSnapshot>, ApiError> {
        let mut details = self
            .client
            .get_order_detail(
                &self.app,
                shop,
                access.token.expose(),
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
            Ok(push) => normalize(&self.config.id, &push, dedupe_key, detail, known),
            Err(_) => Vec::new(),
        }
    }

    fn authorization_link(&self, redirect: &str, state: &str, now: UnixMs) -> String {
        match self.config.auth_link {
            AuthLinkKind::Open => open_auth_url(&self.config.auth_base(), self.config.partner_id, redirect, state),
            // The legacy link echoes no state, but Shopee returns to the redirect URL as given.
            AuthLinkKind::Legacy => {
                self.client
                    .auth_partner_url(&self.app, &format!("{redirect}?state={state}"), now.as_secs())
            }
        }
    }

    async fn authorize(&self, redirect: &RedirectQuery, now: UnixMs) -> Result<Vec<ShopGrant>, AuthorizeError> {
        let code = redirect
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or(AuthorizeError::BadRedirect("`code`"))?;
        let number = |name: &str| redirect.get(name).and_then(|v| v.parse::<u64>().ok());
        let target = match (
            number("shop_id").and_then(|s| ShopId::new(s).ok()),
            number("main_account_id"),
        ) {
            (Some(shop), _) => AuthTarget::Shop(shop),
            (None, Some(main)) => AuthTarget::MainAccount(main),
            (None, None) => return Err(AuthorizeError::BadRedirect("`shop_id` (or `main_account_id`)")),
        };
        let grant = self
            .client
            .get_access_token(&self.app, code, target)
            .await
            .map_err(ApiError::from)?;
        let mut shops = grant.shop_ids.clone();
        if let (AuthTarget::Shop(shop), true) = (target, shops.is_empty()) {
            shops.push(shop);
        }
        // A main account's shops each get the initial pair; each spends its refresh token once for a
        // pair of its own (Shopee accepts it once per shop).
        let tokens = Grant {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            access_expires_at: grant.expires.at(now),
            refresh_expires_at: now + REFRESH_TOKEN_LIFE,
        };
        // Shopee's token answer names the shops and nothing else about them: no profile to keep.
        Ok(shops
            .into_iter()
            .map(|shop| ShopGrant {
                shop,
                grant: tokens.clone(),
                profile: None,
            })
            .collect())
    }

    fn max_listing_range(&self) -> Duration {
        // get_order_list takes at most 15 days per call.
        Duration::from_secs(15 * 24 * 3600)
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
        let page = self
            .client
            .get_order_list(
                &self.app,
                shop,
                access.token.expose(),
                since.as_secs(),
                until.as_secs(),
                cursor,
            )
            .await?;
        let orders = page
            .orders
            .into_iter()
            .filter_map(|o| {
                Some(ChangedOrder {
                    status: o.status?.raw,
                    order_sn: o.order_sn,
                    updated_at: None,
                })
            })
            .collect();
        let next = page.next_cursor.filter(|c| page.more && !c.is_empty());
        Ok(ChangedPage { orders, next })
    }

    async fn recovered_pushes(
        &self,
        shop: ShopId,
        _region: Option<&str>,
        access: &ShopAccess,
        orders: &[ChangedOrder],
    ) -> Result<Vec<RecoveredPush>, ApiError> {
        let order_sns: Vec<OrderSn> = orders.iter().map(|o| o.order_sn.clone()).collect();
        // The list has no times: the details give Shopee's own update_time, so a live push that follows is
        // compared with Shopee's clock, not ours. Only statuses and times are read: no personal field.
        let details = self
            .client
            .get_order_detail(
                &self.app,
                shop,
                access.token.expose(),
                &order_sns,
                &FieldPolicy::minimal(),
            )
            .await?;
        Ok(order_sns
            .into_iter()
            .filter_map(|order_sn| {
                let detail = details.iter().find(|d| d.order_sn == order_sn.as_str())?;
                let (status, update_time) = detail.order_status.as_deref().zip(detail.update_time)?;
                // The push that would have told us, as Shopee would have sent it.
                let body = serde_json::json!({
                    "shop_id": shop.get(),
                    "code": 3,
                    "timestamp": update_time,
                    "data": {"ordersn": order_sn.as_str(), "status": status, "update_time": update_time,
                             "completed_scenario": "", "items": []}
                })
                .to_string()
                .into_bytes();
                let dedupe_key = format!("reconcile:{shop}:{order_sn}:{status}");
                Some(RecoveredPush {
                    order_sn,
                    body,
                    dedupe_key,
                })
            })
            .collect())
    }

    async fn kept_pushes(&self) -> Result<Option<KeptPushes>, ApiError> {
        let page = self.client.get_lost_push_message(&self.app).await?;
        let pushes = page
            .push_message_list
            .iter()
            .map(|lost| {
                let body = lost.push_body();
                KeptPush {
                    dedupe_key: dedupe_key(&body),
                    body,
                }
            })
            .collect();
        Ok(Some(KeptPushes {
            pushes,
            confirm: page.last_message_id.filter(|id| *id > 0).map(|id| id.to_string()),
            more: page.has_next_page,
        }))
    }

    async fn confirm_kept_pushes(&self, confirm: &str) -> Result<(), ApiError> {
        let last = confirm.parse::<u64>().map_err(|_| ShopeeError::InvalidField {
            field: "last_message_id",
            detail: format!("`{confirm}` is not a lost-push id"),
        })?;
        Ok(self.client.confirm_consumed_lost_push_message(&self.app, last).await?)
    }

    async fn trail(
        &self,
        shop: ShopId,
        _region: Option<&str>,
        access: &ShopAccess,
        order: &OrderSn,
    ) -> Result<Option<Trail>, ApiError> {
        let info = self
            .client
            .get_tracking_info(&self.app, shop, access.token.expose(), order)
            .await?;
        let mut trail = Trail {
            status: info.logistics_status,
            steps: info
                .tracking_info
                .into_iter()
                .map(|s| TrailStep {
                    at: UnixMs::from_secs(s.update_time),
                    description: s.description,
                    status: s.logistics_status,
                })
                .collect(),
            state: ParcelState::Moving,
        };
        trail.state = status::parcel_state(trail.current_status());
        Ok(Some(trail))
    }

    fn chat_unsupported(&self, region: Option<&str>) -> Option<Unsupported> {
        // Shopee's chat API does not send in Taiwan (the only region-wide refusal documented).
        region
            .is_some_and(|r| r.eq_ignore_ascii_case("TW"))
            .then_some(Unsupported {
                platform: PLATFORM,
                what: "send chat messages in the TW region",
                what_zh: "台湾站点不支持通过接口发送聊天消息",
            })
    }

    async fn send_chat(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        to: &str,
        text: &str,
    ) -> Result<SentChat, ApiError> {
        // Say so before spending a call.
        if let Some(unsupported) = self.chat_unsupported(region) {
            return Err(ApiError::new(unsupported));
        }
        let to_id = to.parse::<u64>().map_err(|_| ShopeeError::InvalidField {
            field: "to_id",
            detail: format!("`{to}` is not a Shopee user id"),
        })?;
        let sent = self
            .client
            .send_message(&self.app, shop, access.token.expose(), to_id, text)
            .await?;
        Ok(SentChat {
            message_id: sent.message_id,
        })
    }

    async fn refresh(&self, shop: ShopId, refresh_token: &Secret, now: UnixMs) -> Result<Vec<ShopGrant>, ApiError> {
        let grant = self
            .client
            .refresh_access_token(&self.app, refresh_token.expose(), shop)
            .await?;
        // Each Shopee shop refreshes its own pair, even under a main account.
        Ok(vec![ShopGrant {
            shop,
            grant: Grant {
                access_token: grant.access_token,
                refresh_token: grant.refresh_token,
                access_expires_at: grant.expires.at(now),
                refresh_expires_at: now + REFRESH_TOKEN_LIFE,
            },
            profile: None,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_core::error::UserFacing;

    #[tokio::test]
    async fn chat_in_taiwan_is_refused_before_any_call() {
        // Nothing listens at the API base: a call made anyway would fail as unreachable instead.
        let config: ShopeeAppConfig = serde_json::from_value(serde_json::json!({
            "id": "main", "partner_id": 1, "partner_key": "k", "api_base": "http://127.0.0.1:9"
        }))
        .unwrap();
        let app = ShopeeMarketplace::new(
            config,
            ShopeeClient::new(
                reqwest::Client::new(),
                shoprelay_clock::ManualClock::new(shoprelay_clock::UnixMs::EPOCH).shared(),
            ),
        );
        let shop = ShopId::new(8).unwrap();
        let err = app
            .send_chat(shop, Some("tw"), &ShopAccess::new(Secret::new("t")), "55", "hi")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "marketplace.unsupported");
        assert!(err.message_zh().contains("台湾"), "{}", err.message_zh());
        let elsewhere = app
            .send_chat(shop, Some("SG"), &ShopAccess::new(Secret::new("t")), "55", "hi")
            .await
            .unwrap_err();
        assert_ne!(elsewhere.code(), "marketplace.unsupported");
        assert_eq!(err.chat_disposition(), ChatDisposition::Unavailable);
        assert_eq!(
            elsewhere.chat_disposition(),
            ChatDisposition::Unrelated,
            "unreachable says nothing of chat"
        );
        assert!(app.chat_unsupported(Some("TW")).is_some());
        assert!(app.chat_unsupported(Some("SG")).is_none());
        assert!(app.chat_unsupported(None).is_none());
    }

    #[test]
    fn a_chat_permission_refusal_makes_the_shops_chat_unavailable() {
        let api = |error: &str| {
            ApiError::from(ShopeeError::Api {
                error: error.into(),
                message: String::new(),
                request_id: None,
            })
        };
        assert_eq!(
            api("error_api_permission").chat_disposition(),
            ChatDisposition::Unavailable
        );
        for other in ["error_rate_limit", "error_param", "error_auth"] {
            assert_eq!(api(other).chat_disposition(), ChatDisposition::Unrelated, "{other}");
        }
    }
}
