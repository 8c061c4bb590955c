//! The simulator's memory, shared by the HTTP handlers, the retry scheduler and the test handle.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::Rng;
use serde::Serialize;
use shoprelay_clock::SharedClock;

use super::config::{CountryUserInfo, LazadaSimConfig, SimSeller};
use super::faults::Faults;
use super::orders::Order;
use super::push::PushAbout;
use super::region::Region;
use crate::push_sender::PushSender;

/// Everything the simulator shares between tasks.
pub(crate) type Shared = Arc<Core>;

/// Configuration, the clock, the push sender, and the mutable state behind one lock (never held across
/// I/O).
pub(crate) struct Core {
    pub(crate) config: LazadaSimConfig,
    /// Every time the simulator reads or waits for: the host's, or the manual clock a test shares with the
    /// engine under test.
    pub(crate) clock: SharedClock,
    /// Every push, the callback URL and the retries (the sender the simulators share).
    pub(crate) pushes: PushSender<PushAbout>,
    state: Mutex<State>,
}

/// An issued, not yet exchanged authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    /// Index of the seller account in [`State::sellers`].
    pub(crate) account: usize,
    pub(crate) expires_at_ms: i64,
}

/// An access or refresh token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// Index of the seller account in [`State::sellers`].
    pub(crate) account: usize,
    pub(crate) expires_at_ms: i64,
}

/// One API call as the simulator received and answered it, for tests that assert on calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiCall {
    /// The API path without `/rest`, e.g. `/orders/get`.
    pub path: String,
    /// The country of the regional prefix (`/sg/rest/…`), when the call came through one.
    pub region: Option<Region>,
    /// The HTTP method.
    pub method: String,
    /// Every parameter, from the query string and a form body alike.
    pub params: BTreeMap<String, String>,
    /// Lazada's `code` of the answer (`"0"` on success), or `HTTP 503` and the like for a bare failure.
    pub code: String,
}

/// The mutable part of the simulator.
#[derive(Default)]
pub(crate) struct State {
    /// Seller accounts: the configured ones, then those added at run time. Never removed (indexes stay).
    pub(crate) sellers: Vec<SimSeller>,
    pub(crate) codes: HashMap<String, AuthCode>,
    pub(crate) access_tokens: HashMap<String, Token>,
    pub(crate) refresh_tokens: HashMap<String, Token>,
    pub(crate) orders: BTreeMap<u64, Order>,
    /// The last order or order item id handed out.
    pub(crate) last_id: u64,
    pub(crate) faults: Faults,
    pub(crate) calls: Vec<ApiCall>,
}

impl State {
    /// The account index and country entry of a seller id.
    pub(crate) fn seller(&self, seller_id: &str) -> Option<(usize, &CountryUserInfo)> {
        self.sellers.iter().enumerate().find_map(|(account, seller)| {
            seller
                .country_user_info
                .iter()
                .find(|c| c.seller_id == seller_id)
                .map(|c| (account, c))
        })
    }

    /// A fresh id for an order or an order item (Lazada's are 15-digit numbers).
    pub(crate) fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }
}

impl Core {
    pub(crate) fn new(config: LazadaSimConfig, clock: SharedClock) -> Self {
        let state = State {
            sellers: config.sellers.clone(),
            last_id: 400_000_000_000_000,
            ..State::default()
        };
        Self {
            pushes: super::push::sender(&config, clock.clone()),
            config,
            clock,
            state: Mutex::new(state),
        }
    }

    /// The state; a panic in another holder cannot leave it half-written in a way tests care about.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Unix milliseconds by the simulator's clock.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now().as_millis()
    }
}

/// A random lower-case hex string of 32 characters (tokens, codes).
pub(crate) fn random_hex() -> String {
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}
