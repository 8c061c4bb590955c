//! The one interface the middle has to a marketplace: [`MarketplaceApp`], one configured app of some
//! platform with its credentials. The engine and the HTTP edge hold `Arc<dyn MarketplaceApp>` and never
//! name a platform; each platform module implements it.
//!
//! What flows through it is neutral: a push is read into an [`InboundPush`] (what the inbox needs to
//! file it), an order comes back as a policy-filtered [`OrderSnapshot`], tokens as a [`Grant`] with the
//! shop's [`ShopProfile`] (what only authorization tells about a shop: the middle stores it and hands it
//! back in the [`ShopAccess`] of every call about the shop, so a restart asks the platform nothing
//! again), and every failed call as an [`ApiError`] that says what to do next ([`Disposition`]).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::error::UserFacing;
use shoprelay_core::event::{Event, LogisticsIssue, Platform, TrailStep};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::{OrderSnapshot, OrderStatus};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_core::secret::Secret;
use shoprelay_core::shop::ShopProfile;

use crate::standing::{PushedStanding, Standing, StandingUnknown};

/// What the caller should do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Transient: try again later, with back-off.
    Retry,
    /// The access token is bad or expired: refresh it, then try again.
    RefreshToken,
    /// The shop's authorization is gone: the seller must authorize again.
    Reauthorize,
    /// Retrying will not help until someone fixes the configuration or the request.
    Fail,
}

/// What a refused chat send says about the shop's chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatDisposition {
    /// The shop cannot send chat through the API (the app is not allowed to, or the platform or the
    /// shop's region cannot): no retry fixes it, so the admins are told.
    Unavailable,
    /// Nothing about the shop's chat (a transient failure, a bad buyer id).
    Unrelated,
}

/// A platform's error type, as the middle needs it: displayable, user-facing, thread-safe.
pub trait PlatformError: std::error::Error + UserFacing + Send + Sync + 'static {
    /// What to do after this error on an ordinary call.
    fn disposition(&self) -> Disposition;
    /// What to do after this error on a token refresh (where an auth error means the grant is gone).
    fn refresh_disposition(&self) -> Disposition {
        self.disposition()
    }
    /// What this error, answering a chat send, says about the shop's chat.
    fn chat_disposition(&self) -> ChatDisposition {
        ChatDisposition::Unrelated
    }
}

/// A failed marketplace call: the platform's own error (code, fix in zh/en) and what to do about it.
pub struct ApiError(Box<dyn PlatformError>);

impl ApiError {
    /// Wraps a platform's error.
    pub fn new(error: impl PlatformError) -> Self {
        Self(Box::new(error))
    }

    /// What to do after this error on an ordinary call.
    pub fn disposition(&self) -> Disposition {
        self.0.disposition()
    }

    /// What to do after this error on a token refresh.
    pub fn refresh_disposition(&self) -> Disposition {
        self.0.refresh_disposition()
    }

    /// What this error, answering a chat send, says about the shop's chat.
    pub fn chat_disposition(&self) -> ChatDisposition {
        self.0.chat_disposition()
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl UserFacing for ApiError {
    fn code(&self) -> &'static str {
        self.0.code()
    }

    fn status(&self) -> u16 {
        self.0.status()
    }

    fn message_zh(&self) -> String {
        self.0.message_zh()
    }

    fn message_en(&self) -> String {
        self.0.message_en()
    }
}

/// Something a platform, or a shop of it, cannot do through its API (chat in a region without it).
#[derive(Debug, thiserror::Error)]
#[error("{platform} cannot {what}")]
pub struct Unsupported {
    /// The platform.
    pub platform: Platform,
    /// What it cannot do, in English (`send chat messages in the TW region`).
    pub what: &'static str,
    /// The same in Chinese.
    pub what_zh: &'static str,
}

impl UserFacing for Unsupported {
    fn code(&self) -> &'static str {
        "marketplace.unsupported"
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_zh(&self) -> String {
        format!("{}：{}，请到平台卖家中心处理", self.platform, self.what_zh)
    }

    fn message_en(&self) -> String {
        format!("{} cannot {}: handle it in the seller centre", self.platform, self.what)
    }
}

impl PlatformError for Unsupported {
    fn disposition(&self) -> Disposition {
        Disposition::Fail
    }

    fn chat_disposition(&self) -> ChatDisposition {
        ChatDisposition::Unavailable
    }
}

/// A chat message the marketplace accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentChat {
    /// The marketplace's id of the message, when it returns one.
    pub message_id: Option<String>,
}

/// Why a push was refused at the edge (only these get a non-2xx answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefusal {
    /// No signature header.
    SignatureMissing,
    /// The signature does not match.
    SignatureInvalid,
}

/// Why a verified push could not be read. Its text is the platform parser's own, which the inbox keeps as
/// the failed item's note; the parser's error stays reachable as the source. The push is still stored and
/// acknowledged (the marketplace signed it), so a replay after an upgrade can read it.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct UnreadablePush {
    /// The platform whose push it is.
    pub platform: Platform,
    /// The parser's error.
    #[source]
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl UnreadablePush {
    /// A push of `platform` that its parser refused with `source`.
    pub fn new(platform: Platform, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            platform,
            source: Box::new(source),
        }
    }
}

impl UserFacing for UnreadablePush {
    fn code(&self) -> &'static str {
        "push.unreadable"
    }

    fn status(&self) -> u16 {
        // Acknowledged like any signed push: a refusal would only have the marketplace send it again.
        200
    }

    fn message_zh(&self) -> String {
        format!(
            "无法读取这条{}推送（{}）：已保存为失败项，升级后可重放",
            self.platform, self.source
        )
    }

    fn message_en(&self) -> String {
        format!(
            "this {} push could not be read ({}): it is stored as a failed item and can be replayed after an upgrade",
            self.platform, self.source
        )
    }
}

/// What the inbox needs to file a verified push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundPush {
    /// The platform's push type (Shopee's `code`, Lazada's `message_type`), for the audit log.
    pub code: i64,
    /// Identity across the platform's retries.
    pub dedupe_key: String,
    /// The shop (seller) it concerns, when it names one.
    pub shop: Option<ShopId>,
    /// The order it concerns, when there is one.
    pub order: Option<OrderSn>,
    /// Only a check of the callback URL: answered, audited, never stored.
    pub verification: bool,
    /// About a shop's authorization itself, so it is handled even for a shop not configured yet.
    pub about_authorization: bool,
    /// An order's new status and the platform's time of it.
    pub status: Option<(OrderStatus, UnixMs)>,
    /// The app's authorization for this shop was withdrawn.
    pub deauthorizes: bool,
    /// Every time the push claims, by field name (checked against the push window).
    pub times: Vec<(&'static str, UnixMs)>,
    /// What the push reports that no event carries (a seller account closed), for the audit log.
    pub report: Option<String>,
    /// The seller's status, when this is a seller-status push: kept as the shop's latest.
    pub standing: Option<PushedStanding>,
}

/// Tokens from an authorization or a refresh.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token.
    pub refresh_token: Secret,
    /// When the access token expires.
    pub access_expires_at: UnixMs,
    /// When the refresh token expires.
    pub refresh_expires_at: UnixMs,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish_non_exhaustive()
    }
}

/// One shop an authorization or a refresh covers: its tokens, and what the platform told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopGrant {
    /// The shop.
    pub shop: ShopId,
    /// Its tokens.
    pub grant: Grant,
    /// What to keep about it (`None`: this answer told nothing, keep what is kept).
    pub profile: Option<ShopProfile>,
}

/// What every call about a shop carries: its access token and the profile kept from its authorization.
#[derive(Clone, PartialEq, Eq)]
pub struct ShopAccess {
    /// The shop's access token.
    pub token: Secret,
    /// What the platform told about the shop at its authorization or last refresh, when anything.
    pub profile: Option<ShopProfile>,
}

impl ShopAccess {
    /// A token without a kept profile (a shop whose tokens were seeded from the configuration).
    pub fn new(token: Secret) -> Self {
        Self { token, profile: None }
    }

    /// The adapter's own data about the shop (`null` when none was kept).
    pub fn adapter_data(&self) -> &serde_json::Value {
        static NULL: serde_json::Value = serde_json::Value::Null;
        self.profile.as_ref().map_or(&NULL, |p| &p.adapter_data)
    }

    /// The shop's region as the platform told it at authorization.
    pub fn region(&self) -> Option<&str> {
        self.profile.as_ref().and_then(|p| p.region.as_deref())
    }
}

impl fmt::Debug for ShopAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopAccess")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// An order the marketplace lists as changed, with its status now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedOrder {
    /// The order.
    pub order_sn: OrderSn,
    /// Its status now, in the platform's word.
    pub status: String,
    /// The platform's time of that status, when the listing gives it.
    pub updated_at: Option<UnixMs>,
}

/// A page of changed orders; `next` continues the listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedPage {
    /// Orders on this page.
    pub orders: Vec<ChangedOrder>,
    /// Where the next page starts; `None` on the last one.
    pub next: Option<String>,
}

/// A push the marketplace would have sent, rebuilt for the inbox (which reads it like a live one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredPush {
    /// The order.
    pub order_sn: OrderSn,
    /// The push body, in the platform's own shape.
    pub body: Vec<u8>,
    /// Its identity in the inbox.
    pub dedupe_key: String,
}

/// A push the marketplace kept because it could not deliver it, ready for the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPush {
    /// The push body, in the platform's own shape (an item of an unexpected shape is kept as it came,
    /// so it is stored, fails in the inbox and stays replayable).
    pub body: Vec<u8>,
    /// Its identity in the inbox (the same as the live push's, so a push that arrives twice is one).
    pub dedupe_key: String,
}

/// A page of pushes the marketplace kept undelivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptPushes {
    /// The pushes, oldest first.
    pub pushes: Vec<KeptPush>,
    /// What acknowledges this page ([`MarketplaceApp::confirm_kept_pushes`]); `None` when the platform
    /// gave nothing to confirm it with.
    pub confirm: Option<String>,
    /// Whether more wait after this page.
    pub more: bool,
}

/// What a parcel's current logistics status means to the middle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParcelState {
    /// On its way, or a status that is no exception (a failed pickup request the carrier retries): watched
    /// for going without updates.
    #[default]
    Moving,
    /// Arrived: silence is expected until the buyer confirms.
    Delivered,
    /// An exception of the parcel.
    Exception(LogisticsIssue),
}

/// A parcel's trail, as the carrier reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trail {
    /// The parcel's latest logistics status in the carrier's word (`DELIVERED`, `FAILED_DELIVERED`, …).
    pub status: String,
    /// The steps, in whatever order the platform listed them.
    pub steps: Vec<TrailStep>,
    /// What [`Trail::current_status`] means, as the platform reads its carrier's words.
    pub state: ParcelState,
}

impl Trail {
    /// The newest step.
    pub fn latest(&self) -> Option<&TrailStep> {
        self.steps.iter().max_by_key(|s| s.at)
    }

    /// The parcel's status now: its newest step's, else the trail's own.
    pub fn current_status(&self) -> &str {
        self.latest().map_or(self.status.as_str(), |s| s.status.as_str())
    }
}

/// Why a seller's authorization redirect could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The redirect lacks what the platform always sends (`code`, a shop).
    #[error("the authorization redirect lacks {0}")]
    BadRedirect(&'static str),
    /// The platform refused the code or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// The query of an authorization redirect, by parameter name.
pub type RedirectQuery = std::collections::BTreeMap<String, String>;

/// One configured marketplace app of some platform: everything the middle asks of a marketplace.
#[async_trait]
pub trait MarketplaceApp: Send + Sync {
    /// The operator-chosen id; pushes arrive at `/push/{platform}/{id}`.
    fn id(&self) -> &ConfigId;

    /// Which marketplace.
    fn platform(&self) -> Platform;

    /// The `Authorization` value the platform would put on a push of `raw` (`public_url`: this server's):
    /// "test connection" signs a push of its own and sends it to this server's push endpoint.
    fn sign_push(&self, public_url: &str, raw: &[u8]) -> String;

    /// Where the shop stands at the marketplace (trading, frozen, no longer authorized): from its shop
    /// information, or from `pushed`, the shop's latest seller-status push the middle kept.
    async fn shop_standing(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        pushed: Option<&PushedStanding>,
    ) -> Result<Standing, ApiError> {
        let _ = (shop, region, access);
        Ok(self.pushed_standing(pushed))
    }

    /// What the shop's latest seller-status push (if any came) says of its standing, without any call:
    /// [`StandingUnknown::NotReported`] where the platform pushes none.
    fn pushed_standing(&self, pushed: Option<&PushedStanding>) -> Standing {
        let _ = pushed;
        Standing::Unknown(StandingUnknown::NotReported)
    }

    /// Checks a push's signature over its raw body (`public_url`: this server's, which some platforms sign).
    fn verify_push(&self, public_url: &str, authorization: Option<&str>, raw: &[u8]) -> Result<(), PushRefusal>;

    /// Reads a verified push; an error says why it cannot be read (it is stored as a failed, replayable item).
    fn read_push(&self, raw: &[u8]) -> Result<InboundPush, UnreadablePush>;

    /// The dedupe key of a push that could not be read (so a retry of it is still recognised).
    fn unreadable_dedupe_key(&self, raw: &[u8]) -> String;

    /// The push type of a push that could not be read, where its body still names one (-1 otherwise), so the
    /// audit log can say what kind of push failed.
    fn unreadable_code(&self, raw: &[u8]) -> i64;

    /// A stored platform status word as the middle reads it.
    fn status(&self, raw: &str) -> OrderStatus;

    /// The order's details, filtered by the shop's data policy (`region`: the shop's, where the API is regional).
    async fn order(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        order: &OrderSn,
        policy: &FieldPolicy,
    ) -> Result<Option<OrderSnapshot>, ApiError>;

    /// The neutral events a push announces, given the order's details and the status known before.
    fn normalize(
        &self,
        raw: &[u8],
        dedupe_key: &str,
        detail: Option<&OrderSnapshot>,
        known: Option<&OrderStatus>,
        policy: &FieldPolicy,
    ) -> Vec<Event>;

    /// The link a seller opens to authorize the app. The platform returns to `redirect` with a code;
    /// `state` (single use) must come back in that redirect's query.
    fn authorization_link(&self, redirect: &str, state: &str, now: UnixMs) -> String;

    /// Exchanges an authorization redirect's code for the tokens and profile of every shop it covers.
    async fn authorize(&self, redirect: &RedirectQuery, now: UnixMs) -> Result<Vec<ShopGrant>, AuthorizeError>;

    /// How far apart `since` and `until` of one [`MarketplaceApp::changed_orders`] listing may be.
    fn max_listing_range(&self) -> Duration;

    /// Orders of the shop updated between `since` and `until`, one page from `cursor` on (the platforms list
    /// by whole seconds: milliseconds below a second are dropped).
    #[allow(clippy::too_many_arguments)]
    async fn changed_orders(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        since: UnixMs,
        until: UnixMs,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, ApiError>;

    /// The pushes that would have announced these orders' statuses, with the platform's own times; an
    /// order whose time the platform does not give is left out (the caller tries it again later).
    async fn recovered_pushes(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        orders: &[ChangedOrder],
    ) -> Result<Vec<RecoveredPush>, ApiError>;

    /// A page of the pushes the platform kept because they could not be delivered; `None` where the
    /// platform keeps none (missed changes are then found by [`MarketplaceApp::changed_orders`] alone).
    async fn kept_pushes(&self) -> Result<Option<KeptPushes>, ApiError> {
        Ok(None)
    }

    /// Tells the platform every kept push up to `confirm` (from [`KeptPushes::confirm`]) is stored.
    async fn confirm_kept_pushes(&self, confirm: &str) -> Result<(), ApiError> {
        let _ = confirm;
        Ok(())
    }

    /// A shipped order's parcel trail; `None` where the platform offers no trail.
    async fn trail(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        order: &OrderSn,
    ) -> Result<Option<Trail>, ApiError> {
        let _ = (shop, region, access, order);
        Ok(None)
    }

    /// Why a shop in `region` cannot send chat through the API at all, where the platform says so before
    /// any call; `None`: it may (a send tells whether it can).
    fn chat_unsupported(&self, region: Option<&str>) -> Option<Unsupported> {
        let _ = region;
        None
    }

    /// Sends `text` to the buyer `to` (their id at the marketplace) in the shop's chat. A platform
    /// without a chat API says so with [`Unsupported`].
    async fn send_chat(
        &self,
        shop: ShopId,
        region: Option<&str>,
        access: &ShopAccess,
        to: &str,
        text: &str,
    ) -> Result<SentChat, ApiError> {
        let _ = (shop, region, access, to, text);
        Err(ApiError::new(Unsupported {
            platform: self.platform(),
            what: "send chat messages through its API",
            what_zh: "不支持通过接口发送聊天消息",
        }))
    }

    /// Spends the shop's refresh token for new tokens: those of `shop` and of every other shop the same
    /// grant covers (one Lazada login sells in several countries, each a shop sharing one token pair),
    /// with their profiles where the refresh tells them anew.
    async fn refresh(&self, shop: ShopId, refresh_token: &Secret, now: UnixMs) -> Result<Vec<ShopGrant>, ApiError>;
}
