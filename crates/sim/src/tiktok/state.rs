//! The simulator's memory, shared by the HTTP handlers, the retry scheduler and the test handle.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::Rng;
use serde::Serialize;
use shoprelay_clock::SharedClock;

use super::config::{SimSeller, SimShop, TiktokSimConfig};
use super::faults::Faults;
use super::orders::Order;
use super::push::PushAbout;
use crate::push_sender::PushSender;

/// Everything the simulator shares between tasks.
pub(crate) type Shared = Arc<Core>;

/// Configuration, the clock, the push sender, and the mutable state behind one lock (never held across
/// I/O).
pub(crate) struct Core {
    pub(crate) config: TiktokSimConfig,
    /// Every time the simulator reads or waits for: the host's, or the manual clock a test shares with the
    /// engine under test.
    pub(crate) clock: SharedClock,
    /// Every push, the callback URL and the retries (the sender the simulators share).
    pub(crate) pushes: PushSender<PushAbout>,
    state: Mutex<State>,
}

/// An issued, not yet exchanged authorization code, or a token: whose it is and until when.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    /// Index of the seller in [`State::sellers`].
    pub(crate) seller: usize,
    pub(crate) expires_at_ms: i64,
}

/// One API call as the simulator received and answered it, for tests that assert on calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiCall {
    /// The path, e.g. `/order/202309/orders`.
    pub path: String,
    /// The HTTP method.
    pub method: String,
    /// Every query parameter (the app secret of token calls included: this is a test double).
    pub query: BTreeMap<String, String>,
    /// Whether an `x-tts-access-token` header came with it.
    pub had_access_token: bool,
    /// TikTok's `code` of the answer (0 on success), or the HTTP status of a bare failure as a negative.
    pub code: i64,
}

/// The mutable part of the simulator.
#[derive(Default)]
pub(crate) struct State {
    /// Sellers: the configured ones, then those added at run time. Never removed (indexes stay).
    pub(crate) sellers: Vec<SimSeller>,
    pub(crate) codes: HashMap<String, Grant>,
    pub(crate) access_tokens: HashMap<String, Grant>,
    pub(crate) refresh_tokens: HashMap<String, Grant>,
    pub(crate) orders: BTreeMap<u64, Order>,
    /// The last order id handed out.
    pub(crate) last_id: u64,
    pub(crate) faults: Faults,
    pub(crate) calls: Vec<ApiCall>,
}

impl State {
    /// The seller index and the shop of a shop id.
    pub(crate) fn shop(&self, shop_id: &str) -> Option<(usize, &SimShop)> {
        self.sellers
            .iter()
            .enumerate()
            .find_map(|(i, seller)| seller.shops.iter().find(|s| s.id == shop_id).map(|s| (i, s)))
    }

    /// A fresh order id (TikTok's are 18-digit numbers).
    pub(crate) fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }
}

impl Core {
    pub(crate) fn new(config: TiktokSimConfig, clock: SharedClock) -> Self {
        let state = State {
            sellers: config.sellers.clone(),
            last_id: 576_461_413_038_785_000,
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

/// A random token-like string: TikTok's tokens start with the data centre (`ROW_`).
pub(crate) fn random_token() -> String {
    format!("ROW_{:032x}", rand::thread_rng().gen::<u128>())
}
