//! [`LazadaMarketplace`]: a configured Lazada app behind the neutral [`MarketplaceApp`] interface.

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

use super::client::LazadaClient;
use super::client::ORDERS_PAGE_MAX;
use super::error::LazadaError;
use super::model::{CountrySeller, LazadaAppConfig};
use super::push::{dedupe_key, LazadaPush, PushBody};
use super::region::LazadaRegion;
use super::status::least_advanced;
use super::{normalize, order_status, sign, snapshot, PLATFORM};
use crate::adapter::{
    ApiError, AuthorizeError, ChangedOrder, ChangedPage, Disposition, Grant, InboundPush, MarketplaceApp,
    PlatformError, PushRefusal, RecoveredPush, RedirectQuery, ShopAccess, ShopGrant, UnreadablePush,
};
use crate::config::{is_http_url, AppConfig, FieldProblem};
use crate::standing::{PushedStanding, Standing, StandingUnknown};

/// A Lazada app with its keys and client.
pub struct LazadaMarketplace {
    config: LazadaAppConfig,
    client: LazadaClient,
}

impl LazadaMarketplace {
    /// The app as configured, calling Lazada through `client`.
    pub fn new(config: LazadaAppConfig, client: LazadaClient) -> Self {
        Self { config, client }
    }

    /// The country whose host serves the shop: its configured region; any, when one API base serves all.
    fn region(&self, region: Option<&str>) -> Result<LazadaRegion, LazadaError> {
        match region.and_then(LazadaRegion::from_code) {
            Some(r) => Ok(r),
            None if self.config.api_base.is_some() => Ok(LazadaRegion::Sg),
            None => Err(LazadaError::InvalidField {
                field: "region",
                detail: "set `region` (SG, MY, TH, VN, PH or ID) on the shop: Lazada's API is per country".into(),
            }),
        }
    }
}

/// The grant of one country's seller id, with what Lazada told about it: its country (which API host
/// serves it) and, for the adapter, its user id and short code there.
fn shop_grant(seller: &CountrySeller, tokens: &Grant) -> ShopGrant {
    ShopGrant {
        shop: seller.seller_id,
        grant: tokens.clone(),
        profile: Some(ShopProfile {
            name: None,
            region: Some(seller.country.trim().to_ascii_uppercase()).filter(|c| !c.is_empty()),
            adapter_data: serde_json::json!({
                "user_id": seller.user_id,
                "short_code": seller.short_code,
            }),
        }),
    }
}

/// A seller-status push (type 13), said in the audit log: no neutral event carries it, and a closed
/// account (most daily operations banned) is what an operator looking at missing orders needs to know.
fn seller_status_report(body: &PushBody) -> Option<String> {
    match body {
        PushBody::SellerStatus { seller_id, status } => Some(format!(
            "Lazada seller {seller_id} account status: {status}{}",
            if status.eq_ignore_ascii_case("close") {
                " (most daily operations are banned: no new orders until Lazada reopens it)"
            } else {
                ""
            }
        )),
        _ => None,
    }
}

/// Where a seller stands by its latest seller-status push (type 13). Lazada documents two words:
/// `normal`, and `close` — "most of the daily operations are banned", which is a frozen shop.
fn standing_of(pushed: Option<&PushedStanding>) -> Standing {
    let Some(pushed) = pushed else {
        return Standing::Unknown(StandingUnknown::NotPushedYet);
    };
    let state = match pushed.status.trim().to_ascii_lowercase().as_str() {
        "normal" => ShopState::Active,
        "close" => ShopState::Frozen,
        _ => return Standing::Unknown(StandingUnknown::Unrecognised(pushed.status.clone())),
    };
    Standing::Known {
        state,
        reported_at: Some(pushed.reported_at),
    }
}

impl PlatformError for LazadaError {
    fn disposition(&self) -> Disposition {
        LazadaError::disposition(self)
    }
}

impl From<LazadaError> for ApiError {
    fn from(e: LazadaError) -> Self {
        ApiError::new(e)
    }
}

#[async_trait]
impl MarketplaceApp for LazadaMarketplace {
    fn id(&self) -> &ConfigId {
        &self.config.id
    }

    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn sign_push(&self, _public_url: &str, raw: &[u8]) -> String {
        sign::push_signature(&self.config.app_key, self.config.app_secret.expose(), raw)
    }

    fn pushed_standing(&self, pushed: Option<&PushedStanding>) -> Standing {
        standing_of(pushed)
    }

    fn verify_push(&self, _public_url: &str, authorization: Option<&str>, raw: &[u8]) -> Result<(), PushRefusal> {
        let signature = authorization.ok_or(PushRefusal::SignatureMissing)?;
        if sign::verify_push(
            &self.config.app_key,
            self.config.app_secret.expose(),
            raw,
            signature.trim(),
        ) {
            Ok(())
        } else {
            Err(PushRefusal::SignatureInvalid)
        }
    }

    fn read_push(&self, raw: &[u8]) -> Result<InboundPush, UnreadablePush> {
        let push = LazadaPush::parse(raw).map_err(|e| UnreadablePush::new(PLATFORM, e))?;
        let (order, status) = match &push.body {
            PushBody::OrderStatus {
                trade_order_id,
                order_status: raw_status,
                status_update_time,
                ..
            } => (
                Some(trade_order_id.clone()),
                Some((order_status(raw_status), UnixMs::from_secs(*status_update_time))),
            ),
            _ => (None, None),
        };
        Ok(InboundPush {
            code: push.message_type,
            dedupe_key: dedupe_key(raw),
            shop: push.seller_id,
            order,
            verification: false,
            // A token about to expire concerns the authorization, whether or not the shop is configured.
            about_authorization: matches!(push.body, PushBody::TokenExpiring { .. }),
            status,
            deauthorizes: false,
            times: push.times(),
            report: seller_status_report(&push.body),
            standing: match &push.body {
                PushBody::SellerStatus { status, .. } => Some(PushedStanding {
                    status: status.clone(),
                    reported_at: UnixMs::from_millis(push.timestamp_ms),
                }),
                _ => None,
            },
        })
    }

    fn unreadable_dedupe_key(&self, raw: &[u8]) -> String {
        dedupe_key(raw)
    }

    fn unreadable_code(&self, raw: &[u8]) -> i64 {
        crate::platform::json_int_field(raw, "message_type").unwrap_or(-1)
    }

    fn status(&self, raw: &str) -> OrderStatus {
        order_status(raw)
    }

    async fn order(
        &self,
        _shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        order: &OrderSn,
        policy: &FieldPolicy,
    ) -> Result<Option<OrderSnapshot>, ApiError> {
        let country = self.region(region.or(access.region()))?;
        let detail = self
            .client
            .get_order(&self.config, country, &access.token, order)
            .await?;
        let items = self
            .client
            .get_order_items(&self.config, country, &access.token, order)
            .await?;
        // A detail that fails to convert leaves the event with a bare snapshot rather than no event.
        Ok(snapshot(&detail, &items, Some(country.code()), policy).ok())
    }

    fn normalize(
        &self,
        raw: &[u8],
        dedupe_key: &str,
        detail: Option<&OrderSnapshot>,
        known: Option<&OrderStatus>,
        _policy: &FieldPolicy,
    ) -> Vec<Event> {
        match LazadaPush::parse(raw) {
            Ok(push) => normalize(&self.config.id, &push, dedupe_key, detail, known),
            Err(_) => Vec::new(),
        }
    }

    fn authorization_link(&self, redirect: &str, state: &str, _now: UnixMs) -> String {
        // Lazada returns to the redirect URI as registered, query included: the state rides in it.
        self.client
            .authorize_url(&self.config, &format!("{redirect}?state={state}"))
    }

    async fn authorize(&self, redirect: &RedirectQuery, now: UnixMs) -> Result<Vec<ShopGrant>, AuthorizeError> {
        let code = redirect
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or(AuthorizeError::BadRedirect("`code`"))?;
        let grant = self
            .client
            .create_token(&self.config, code)
            .await
            .map_err(ApiError::from)?;
        let tokens = Grant {
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone(),
            access_expires_at: grant.access_expires_at(now),
            refresh_expires_at: grant.refresh_expires_at(now),
        };
        // One seller account, a shop (seller id) per country it sells in.
        Ok(grant.sellers.iter().map(|s| shop_grant(s, &tokens)).collect())
    }

    fn max_listing_range(&self) -> Duration {
        // /orders/get takes only a start (update_after); a generous bound keeps one pass small.
        Duration::from_secs(30 * 24 * 3600)
    }

    async fn changed_orders(
        &self,
        _shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        since: UnixMs,
        until: UnixMs,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, ApiError> {
        let country = self.region(region.or(access.region()))?;
        let offset = cursor.and_then(|c| c.parse::<u32>().ok()).unwrap_or(0);
        let page = self
            .client
            .orders_updated_since(
                &self.config,
                country,
                &access.token,
                since.as_secs(),
                offset,
                ORDERS_PAGE_MAX,
            )
            .await?;
        let listed = u32::try_from(page.orders.len()).unwrap_or(u32::MAX);
        let orders = page
            .orders
            .iter()
            .filter(|o| o.updated_time().map(UnixMs::from_secs).is_none_or(|t| t <= until))
            .filter_map(|o| {
                let order_sn = o.order_id.as_deref().and_then(|id| OrderSn::parse(id).ok())?;
                let status = least_advanced(o.statuses.iter().map(String::as_str))?;
                Some(ChangedOrder {
                    order_sn,
                    status: status.raw,
                    updated_at: o.updated_time().map(UnixMs::from_secs),
                })
            })
            .collect();
        // A full page may have a next one; Lazada says how many there are in all when it can.
        let seen = offset.saturating_add(listed);
        let more = listed == ORDERS_PAGE_MAX && page.count_total.is_none_or(|total| u64::from(seen) < total);
        Ok(ChangedPage {
            orders,
            next: more.then(|| seen.to_string()),
        })
    }

    async fn recovered_pushes(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        orders: &[ChangedOrder],
    ) -> Result<Vec<RecoveredPush>, ApiError> {
        let site = self.region(region.or(access.region()))?.code().to_ascii_lowercase();
        Ok(orders
            .iter()
            .filter_map(|o| {
                // Lazada's times are whole seconds (its push timestamp milliseconds of them).
                let at = o.updated_at?.as_secs();
                // The push that would have told us, as Lazada would have sent it (one for the order).
                let body = serde_json::json!({
                    "seller_id": shop.to_string(),
                    "message_type": 0,
                    "data": {"order_status": o.status, "trade_order_id": o.order_sn.as_str(),
                             "status_update_time": at},
                    "timestamp": at * 1_000,
                    "site": format!("lazada_{site}"),
                })
                .to_string()
                .into_bytes();
                Some(RecoveredPush {
                    order_sn: o.order_sn.clone(),
                    body,
                    dedupe_key: format!("reconcile:{shop}:{}:{}:{at}", o.order_sn, o.status),
                })
            })
            .collect())
    }

    async fn refresh(&self, shop: ShopId, refresh_token: &Secret, now: UnixMs) -> Result<Vec<ShopGrant>, ApiError> {
        let grant = self.client.refresh_token(&self.config, refresh_token).await?;
        let tokens = Grant {
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone(),
            access_expires_at: grant.access_expires_at(now),
            refresh_expires_at: grant.refresh_expires_at(now),
        };
        // The pair is the login's, shared by its shop in every country: the old refresh token is dead for
        // all of them now, so each gets the new pair.
        let mut shops: Vec<ShopGrant> = grant.sellers.iter().map(|s| shop_grant(s, &tokens)).collect();
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

impl AppConfig for LazadaAppConfig {
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
        if self.api_base.as_deref().is_some_and(|u| !is_http_url(u)) {
            out.push(("api_base", "must be an http(s) URL".into()));
        }
        if !is_http_url(&self.auth_base) {
            out.push(("auth_base", format!("`{}` is not an http(s) URL", self.auth_base)));
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
        Arc::new(LazadaMarketplace::new(
            self.clone(),
            LazadaClient::new(http.clone(), clock),
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
    fn a_closed_seller_is_frozen_since_its_push_and_no_push_says_nothing() {
        let pushed = |status: &str| PushedStanding {
            status: status.into(),
            reported_at: UnixMs::from_millis(1_627_038_397_000),
        };
        assert_eq!(
            standing_of(Some(&pushed("close"))),
            Standing::Known {
                state: ShopState::Frozen,
                reported_at: Some(UnixMs::from_millis(1_627_038_397_000))
            }
        );
        assert_eq!(
            standing_of(Some(&pushed("normal"))),
            Standing::Known {
                state: ShopState::Active,
                reported_at: Some(UnixMs::from_millis(1_627_038_397_000))
            }
        );
        assert_eq!(
            standing_of(Some(&pushed("suspended"))),
            Standing::Unknown(StandingUnknown::Unrecognised("suspended".into())),
            "a word Lazada does not document is not guessed at"
        );
        assert_eq!(standing_of(None), Standing::Unknown(StandingUnknown::NotPushedYet));
    }

    #[test]
    fn a_seller_status_push_carries_its_word_and_stamp_for_the_middle_to_keep() {
        let config: LazadaAppConfig = serde_json::from_value(serde_json::json!({
            "id": "lz", "app_key": "123456", "app_secret": "s"
        }))
        .unwrap();
        let app = LazadaMarketplace::new(
            config,
            LazadaClient::new(
                reqwest::Client::new(),
                shoprelay_clock::ManualClock::new(shoprelay_clock::UnixMs::EPOCH).shared(),
            ),
        );
        let raw = br#"{"seller_id":"100053528","message_type":13,"data":{"status":"close"},"timestamp":1627038397,"site":"lazada_sg"}"#;
        let push = app.read_push(raw).unwrap();
        assert_eq!(
            push.standing,
            Some(PushedStanding {
                status: "close".into(),
                reported_at: UnixMs::from_millis(1_627_038_397_000)
            })
        );
        assert_eq!(push.shop, Some(ShopId::new(100_053_528).unwrap()));
    }

    #[test]
    fn each_country_seller_keeps_its_country_and_codes_as_its_profile() {
        let seller = CountrySeller {
            country: "sg".into(),
            seller_id: ShopId::new(100_191_233).unwrap(),
            user_id: Some("100191233".into()),
            short_code: Some("SG10BRF".into()),
        };
        let tokens = Grant {
            access_token: Secret::new("a"),
            refresh_token: Secret::new("r"),
            access_expires_at: UnixMs::from_secs(1),
            refresh_expires_at: UnixMs::from_secs(2),
        };
        let granted = shop_grant(&seller, &tokens);
        assert_eq!(granted.shop, seller.seller_id);
        let profile = granted.profile.unwrap();
        // Upper-cased like the configuration's `region`, so the API host follows from it.
        assert_eq!(profile.region.as_deref(), Some("SG"));
        assert_eq!(
            LazadaRegion::from_code(profile.region.as_deref().unwrap()),
            Some(LazadaRegion::Sg)
        );
        assert_eq!(profile.adapter_data["short_code"], "SG10BRF");
        assert_eq!(profile.adapter_data["user_id"], "100191233");
    }
}
