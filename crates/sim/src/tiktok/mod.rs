//! TikTok Shop Partner API (202309) simulator: seller authorization with single-use codes and rotating
//! refresh tokens whose expiry fields are absolute unix times, signed and time-checked shop calls with
//! `shop_cipher` and the `x-tts-access-token` header, orders in the 202309 shape, signed pushes with
//! TikTok's 3 s / 2 min, 30 min, 3 h, 12 h retry rule on the simulator's clock, and faults on demand.
//! Faithful to the TikTok section of `shared/protocols/other-marketplaces.md`; where that names no error
//! code, the simulator's own is documented in `api`.
//!
//! One router stands in for the API, token and authorization hosts: point the client's `api_base`,
//! `auth_base` and `authorize_base` at [`TiktokSim::base_url`].
//!
//! | API path | answers |
//! |---|---|
//! | `GET /api/v2/token/get?app_key&app_secret&auth_code&grant_type=authorized_code` | tokens, `open_id`, `seller_name` |
//! | `GET /api/v2/token/refresh?…&refresh_token&grant_type=refresh_token` | a new pair; the old refresh token dies |
//! | `GET /authorization/202309/shops` (signed) | the seller's shops and their ciphers |
//! | `GET /order/202309/orders?ids=&shop_cipher=` (signed) | the shop's orders among `ids` (≤ 50) |
//! | `POST /order/202309/orders/search?shop_cipher&page_size&page_token&sort_field&sort_order` (signed, body too) | orders by `update_time_ge`/`_lt`, `create_time_ge`/`_lt`, `order_status`, paged |
//!
//! Drive it in-process through the [`TiktokSim`] handle, or over HTTP through `/sim/…`:
//!
//! | control route | does |
//! |---|---|
//! | `POST /sim/sellers` ([`SimSeller`]), `POST /sim/authorize {open_id}` | add a seller / approve the app (→ `{code}`) |
//! | `POST /sim/orders` ([`NewOrder`]), `GET /sim/orders` | create an order (pushes) / list orders |
//! | `POST /sim/orders/{id}/status {status}` | move an order (pushes type 1) |
//! | `POST /sim/push-target {url}`, `POST /sim/push {shop_id, type, data}`, `GET /sim/pushes` | callback URL / any push / pushes and attempts |
//! | `POST /sim/faults` ([`FaultsRequest`]), `DELETE /sim/faults`, `POST /sim/revoke {shop_id}` | faults, lost pushes / revoked tokens |
//! | `GET /sim/calls` | every API call received ([`ApiCall`]) |
//!
//! # Layout
//! - `config`: [`TiktokSimConfig`], what the simulated platform knows at start.
//! - `state`: the shared memory and clock.
//! - `sign`: the simulator's own API and push signatures (checked against the conformance vectors).
//! - `api`: the call, the envelope, the common checks, and the one handler behind every API route.
//! - `oauth`: sellers, codes, token get and refresh, the authorized shops.
//! - `orders`: orders, their changes (which push), and the order API.
//! - `search`: the order search (orders by time range, paged).
//! - `push`: the platform's signed push bodies, sent by the shared [`crate::push_sender`].
//! - `faults`: injected API faults and lost pushes.
//! - `control`: the `/sim/…` HTTP routes.

mod api;
mod config;
mod control;
mod faults;
mod oauth;
mod orders;
mod push;
mod search;
mod sign;
mod state;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use shoprelay_clock::SharedClock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use crate::push_sender::{Attempt, PushState};
pub use api::{INVALID_REQUEST, INVALID_SIGN, TOKEN_EXPIRED};
pub use config::{SimSeller, SimShop, TiktokSimConfig};
pub use control::SimError;
pub use faults::{ApiFault, ApiFaultRule, Faults, FaultsRequest};
pub use orders::{LineItem, NewItem, NewOrder, Order, OrderChange, SimAddress, ORDER_STATUSES};
pub use push::{PushAbout, PushRecord, TYPE_CANCELLATION_STATUS, TYPE_ORDER_STATUS};
pub use state::ApiCall;

use state::{Core, Shared};

/// A running simulator. Dropping it stops the server and the retry scheduler.
pub struct TiktokSim {
    core: Shared,
    base_url: String,
    tasks: [JoinHandle<()>; 2],
}

/// Starts the simulator on `listener` (bind port 0 in tests) and returns its handle. Every time it keeps
/// or checks — token and code lifetimes, call timestamps, order times, push retries — is read from `clock`.
pub async fn serve(listener: TcpListener, config: TiktokSimConfig, clock: SharedClock) -> TiktokSim {
    let base_url = listener.local_addr().map(|a| format!("http://{a}")).unwrap_or_default();
    let core = Arc::new(Core::new(config, clock));
    let app = router(core.clone());
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "TikTok Shop simulator stopped");
        }
    });
    let sender = core.clone();
    let retries = tokio::spawn(async move { sender.pushes.run_retries().await });
    TiktokSim {
        core,
        base_url,
        tasks: [server, retries],
    }
}

fn router(core: Shared) -> Router {
    let api = get(api::handle).post(api::handle);
    Router::new()
        .route("/api/v2/token/{op}", api.clone())
        .route("/authorization/202309/shops", api.clone())
        .route("/order/202309/orders", api.clone())
        .route("/order/202309/orders/search", api)
        .route("/sim/sellers", post(control::add_seller))
        .route("/sim/authorize", post(control::authorize))
        .route("/sim/orders", post(control::create_order).get(control::list_orders))
        .route("/sim/orders/{order_id}/status", post(control::set_status))
        .route("/sim/push-target", post(control::set_push_target))
        .route("/sim/push", post(control::send_push))
        .route("/sim/pushes", get(control::list_pushes))
        .route("/sim/faults", post(control::set_faults).delete(control::reset_faults))
        .route("/sim/revoke", post(control::revoke))
        .route("/sim/calls", get(control::api_calls))
        .with_state(core)
}

impl Drop for TiktokSim {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl TiktokSim {
    /// `http://127.0.0.1:PORT`: the API, token and authorization base alike.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The configuration it started with.
    pub fn config(&self) -> &TiktokSimConfig {
        &self.core.config
    }

    /// Adds a seller with its shops.
    pub fn add_seller(&self, seller: SimSeller) -> Result<(), SimError> {
        self.core.add_seller(seller)
    }

    /// The seller of `open_id` approves the app: returns the code the redirect would carry.
    pub fn authorize(&self, open_id: &str) -> Result<String, SimError> {
        self.core.authorize(open_id)
    }

    /// Ends every token of the seller holding `shop_id` (calls then get 105002).
    pub fn revoke_tokens(&self, shop_id: &str) -> Result<(), SimError> {
        self.core.revoke_tokens(shop_id)
    }

    /// Takes one shop out of its seller's authorization of the app (a shop the seller no longer lets the
    /// app see, e.g. one closed or suspended): it drops out of `/authorization/202309/shops` and calls with
    /// its cipher are refused, while the seller's tokens keep working.
    pub fn deauthorize_shop(&self, shop_id: &str) -> Result<(), SimError> {
        self.core.deauthorize_shop(shop_id)
    }

    /// Creates an order and pushes its status.
    pub async fn create_order(&self, order: NewOrder) -> Result<OrderChange, SimError> {
        self.core.create_order(order).await
    }

    /// Moves an order to `status`, pushing the change.
    pub async fn set_order_status(&self, order_id: u64, status: &str) -> Result<OrderChange, SimError> {
        self.core.set_order_status(order_id, status).await
    }

    /// An order as it stands.
    pub fn order(&self, order_id: u64) -> Option<Order> {
        self.core.state().orders.get(&order_id).cloned()
    }

    /// Sets (or clears) the push callback URL.
    pub fn set_push_target(&self, url: Option<&str>) {
        self.core.pushes.set_target(url.map(str::to_owned));
    }

    /// Signs and sends a push of any `type` (e.g. [`TYPE_CANCELLATION_STATUS`]) about `shop_id`.
    pub async fn send_push(&self, shop_id: &str, kind: i64, data: impl Serialize) -> Result<PushRecord, SimError> {
        self.core.push(shop_id, kind, data).await
    }

    /// Every push so far, with its attempts.
    pub fn pushes(&self) -> Vec<PushRecord> {
        self.core.pushes.records()
    }

    /// Waits until push `id` has had `count` delivery attempts; `None` if there is no such push. Wrap it
    /// in a timeout.
    pub async fn wait_for_attempts(&self, id: u64, count: usize) -> Option<PushRecord> {
        self.core.pushes.wait_for_attempts(id, count).await
    }

    /// Loses the next `count` pushes: recorded as dropped, never sent.
    pub fn drop_next_pushes(&self, count: u32) {
        self.core.state().faults.drop_pushes = count;
    }

    /// Adds faults.
    pub fn set_faults(&self, request: FaultsRequest) {
        self.core.state().faults.apply(request);
    }

    /// Makes the next `times` calls of `path` (every path when `None`) fail with `fault`.
    pub fn fail_next(&self, path: Option<&str>, times: u32, fault: ApiFault) {
        let rule = ApiFaultRule {
            path: path.map(str::to_owned),
            fault,
            times: Some(times),
        };
        self.set_faults(FaultsRequest {
            api: vec![rule],
            ..FaultsRequest::default()
        });
    }

    /// Clears every fault.
    pub fn reset_faults(&self) {
        self.core.state().faults = Faults::default();
    }

    /// Every API call received so far.
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.core.state().calls.clone()
    }
}
