//! The simulator's memory, shared by the HTTP handlers and the test handle, and its clock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::Rng;
use serde::Serialize;
use shoprelay_clock::SharedClock;
use tokio::sync::mpsc;

use super::api::ApiError;
use super::chat::ChatState;
use super::config::{ShopeeSimConfig, SimPartner, SimShop};
use super::faults::Faults;
use super::orders::Order;
use super::push::{ChatJob, PushRecord};

/// Everything the simulator shares between tasks.
pub(crate) type Shared = Arc<Core>;

/// Configuration, the outgoing HTTP client, and the mutable state behind one lock (never held across I/O).
pub(crate) struct Core {
    pub(crate) config: ShopeeSimConfig,
    pub(crate) http: reqwest::Client,
    /// The clock of token, code and order times and of signature timestamps: the host's, or the manual
    /// clock a test shares with the engine under test.
    clock: SharedClock,
    /// Seconds added to `clock`. Outside the lock so `now()` works while it is held.
    clock_offset: AtomicI64,
    /// Chat pushes (code 10) in the order they were made, for the task that delivers them one by one.
    pub(crate) chat_lane: mpsc::UnboundedSender<ChatJob>,
    state: Mutex<State>,
}

/// Who an authorization covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthSubject {
    Shop(u64),
    MainAccount(u64),
}

/// An issued, not yet exchanged authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) partner_id: u64,
    pub(crate) subject: AuthSubject,
    pub(crate) expires_at: i64,
}

/// What a set of tokens may act on.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) partner_id: u64,
    pub(crate) shop_ids: Vec<u64>,
    pub(crate) merchant_ids: Vec<u64>,
}

/// Who refreshes tokens: after a main account's authorization, each of its shops and merchants on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Holder {
    Shop(u64),
    Merchant(u64),
}

impl Grant {
    pub(crate) fn covers(&self, holder: Holder) -> bool {
        match holder {
            Holder::Shop(id) => self.shop_ids.contains(&id),
            Holder::Merchant(id) => self.merchant_ids.contains(&id),
        }
    }
}

/// An access token and the grant it acts for.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub(crate) grant: usize,
    pub(crate) expires_at: i64,
    /// Earlier ends for holders that refreshed: the old token lives 5 more minutes for them only.
    pub(crate) cut: HashMap<Holder, i64>,
}

impl AccessToken {
    /// When the token stops working for `holder`.
    pub(crate) fn expires_for(&self, holder: Holder) -> i64 {
        self.cut
            .get(&holder)
            .map_or(self.expires_at, |cut| (*cut).min(self.expires_at))
    }
}

/// A refresh token. A main account's initial one is good once for EACH shop and merchant it covers
/// (each refresh fans out to the holder's own pair); any other is good once. Spent holders are
/// remembered so a reuse gets Shopee's precise error.
#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub(crate) grant: usize,
    pub(crate) expires_at: i64,
    pub(crate) spent_by: Vec<Holder>,
}

/// One API call as the simulator answered it, for tests that count calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiCall {
    /// The path, e.g. `/api/v2/order/get_order_detail`.
    pub path: String,
    /// The HTTP status answered.
    pub status: u16,
    /// Shopee's `error`, when the answer was one.
    pub error: Option<String>,
}

/// The mutable part of the simulator.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) codes: HashMap<String, AuthCode>,
    pub(crate) grants: Vec<Grant>,
    pub(crate) access_tokens: HashMap<String, AccessToken>,
    pub(crate) refresh_tokens: HashMap<String, RefreshToken>,
    pub(crate) orders: BTreeMap<String, Order>,
    /// Callback URL per partner, set at run time (over the configured ones).
    pub(crate) push_targets: HashMap<u64, String>,
    pub(crate) pushes: Vec<PushRecord>,
    /// Pushes held back by the out-of-order fault, by id.
    pub(crate) held: Vec<u64>,
    pub(crate) faults: Faults,
    pub(crate) calls: Vec<ApiCall>,
    pub(crate) chat: ChatState,
    /// What `get_shop_info` reports as a shop's `status` (`NORMAL` when not set).
    pub(crate) shop_status: HashMap<u64, String>,
}

impl State {
    /// Checks an access token for a shop-level call. A token of another shop (even a sibling of one
    /// main account, once that shop refreshed on its own) answers `invalid_acceess_token`, as Shopee does.
    pub(crate) fn check_access_token(
        &self,
        token: &str,
        partner_id: u64,
        shop_id: u64,
        now: i64,
    ) -> Result<(), ApiError> {
        let token = self
            .access_tokens
            .get(token)
            .ok_or_else(|| ApiError::new("error_auth", "Invalid access_token."))?;
        let grant = &self.grants[token.grant];
        let holder = Holder::Shop(shop_id);
        // Shopee's own spelling; clients must accept it next to error_auth.
        let invalid = || ApiError::new("invalid_acceess_token", "Invalid access_token.");
        if grant.partner_id != partner_id || !grant.covers(holder) || token.expires_for(holder) <= now {
            return Err(invalid());
        }
        Ok(())
    }
}

impl Core {
    /// The simulator, and the receiving end of its chat lane (for the task that delivers chat pushes).
    pub(crate) fn new(config: ShopeeSimConfig, clock: SharedClock) -> (Self, mpsc::UnboundedReceiver<ChatJob>) {
        let (chat_lane, lane) = mpsc::unbounded_channel();
        let state = State {
            chat: ChatState::new(
                config
                    .chat_not_whitelisted_shops
                    .iter()
                    .copied()
                    .collect::<HashSet<u64>>(),
            ),
            ..State::default()
        };
        let core = Self {
            config,
            http: reqwest::Client::new(),
            clock,
            clock_offset: AtomicI64::new(0),
            chat_lane,
            state: Mutex::new(state),
        };
        (core, lane)
    }

    /// The state; a panic in another holder cannot leave it half-written in a way tests care about.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The simulator's "now" for lifetimes and order times (Unix seconds): its clock plus the offset.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().as_secs() + self.clock_offset.load(Ordering::Relaxed)
    }

    /// Now by the clock alone (Unix seconds), without the offset a test moves token times by: what a
    /// client's signature is dated by, since clients read the same clock.
    pub(crate) fn signing_now(&self) -> i64 {
        self.clock.now().as_secs()
    }

    /// Moves the simulator's clock forward (or back), e.g. to expire tokens.
    pub(crate) fn advance_clock(&self, secs: i64) {
        self.clock_offset.fetch_add(secs, Ordering::Relaxed);
    }

    pub(crate) fn partner(&self, partner_id: u64) -> Option<&SimPartner> {
        self.config.partners.iter().find(|p| p.partner_id == partner_id)
    }

    pub(crate) fn region_of(&self, shop_id: u64) -> Option<&str> {
        self.shop(shop_id).map(|s| s.region.as_str())
    }

    pub(crate) fn shop(&self, shop_id: u64) -> Option<&SimShop> {
        self.config.shops.iter().find(|s| s.shop_id == shop_id)
    }
}

/// A random lowercase hex string of 32 characters (tokens, codes, request ids).
pub(crate) fn random_hex() -> String {
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}

/// Random characters from Shopee's order-number alphabet.
pub(crate) fn random_code(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}
