//! Lazada Open Platform simulator: seller authorization with single-use codes and rotating refresh tokens,
//! signed and time-checked API calls in Lazada's envelope, orders with per-item statuses, signed pushes
//! with Lazada's 500 ms / every-30-minutes-12-times retry rule on the simulator's clock, and faults on
//! demand. Faithful to the Lazada section of `shared/protocols/other-marketplaces.md`.
//!
//! One router stands in for both hosts: point the client's auth base URL and its regional API base URL at
//! [`LazadaSim::rest_url`] (every country's orders the token covers) or [`LazadaSim::region_url`]
//! (`/{sg,my,th,vn,ph,id}/rest`, that country's orders only, as a regional host). The signature covers the
//! API path after `/rest`, as Lazada's does.
//!
//! | API path | answers |
//! |---|---|
//! | `/auth/token/create?code=` | tokens, `country_user_info` (top-level fields) |
//! | `/auth/token/refresh?refresh_token=` | new tokens, `country_user_info_list`; the old refresh token dies |
//! | `/order/get?order_id=`, `/order/items/get?order_id=` | an order / its items |
//! | `/orders/get?update_after=…&offset=&limit=` | orders changed (or created) since, sorted, paged |
//!
//! Drive it in-process through the [`LazadaSim`] handle, or over HTTP through `/sim/…`:
//!
//! | control route | does |
//! |---|---|
//! | `POST /sim/sellers` ([`SimSeller`]), `POST /sim/authorize {account}` | add a seller / approve the app (→ `{code}`) |
//! | `POST /sim/orders` ([`NewOrder`]), `GET /sim/orders` | create an order (pushes) / list orders |
//! | `POST /sim/orders/{order_id}/status` ([`OrderUpdate`]) | move items (pushes), assign tracking |
//! | `POST /sim/push-target {url}`, `POST /sim/push {seller_id, message_type, data}`, `GET /sim/pushes` | callback URL / any push / pushes and attempts |
//! | `POST /sim/faults` ([`FaultsRequest`]), `DELETE /sim/faults`, `POST /sim/revoke {seller_id}` | faults, lost pushes / revoked tokens |
//! | `GET /sim/calls` | every API call received ([`ApiCall`]) |
//!
//! # Layout
//! - `config`: [`LazadaSimConfig`], what the simulated platform knows at start.
//! - `region`: [`Region`], the six countries, their sites and time offsets.
//! - `state`: the shared memory and clock.
//! - `sign`: the simulator's own API and push signatures (checked against the conformance vectors).
//! - `api`: call parameters, the envelope, and the common-parameter checks.
//! - `gateway`: the one handler behind every API route (faults, routing, the call log).
//! - `oauth`: sellers, codes, token creation, refresh and revocation.
//! - `orders`: orders, items and their changes (which push).
//! - `order_api`: `/order/get`, `/order/items/get` and `/orders/get`.
//! - `push`: the platform's signed push bodies, sent by the shared [`crate::push_sender`].
//! - `faults`: injected API faults and lost pushes.
//! - `control`: the `/sim/…` HTTP routes.

mod api;
mod config;
mod control;
mod faults;
mod gateway;
mod oauth;
mod order_api;
mod orders;
mod push;
mod region;
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
pub use api::ErrorType;
pub use config::{CountryUserInfo, LazadaSimConfig, SimSeller};
pub use control::SimError;
pub use faults::{ApiFault, ApiFaultRule, Faults, FaultsRequest};
pub use orders::{NewItem, NewOrder, Order, OrderChange, OrderItem, OrderUpdate, SimAddress, ORDER_STATUSES};
pub use push::{PushAbout, PushRecord, MESSAGE_ORDER_STATUS, MESSAGE_SELLER_STATUS, MESSAGE_TOKEN_EXPIRING};
pub use region::Region;
pub use state::ApiCall;

use state::{Core, Shared};

/// A running simulator. Dropping it stops the server and the retry scheduler.
pub struct LazadaSim {
    core: Shared,
    base_url: String,
    tasks: [JoinHandle<()>; 2],
}

/// Starts the simulator on `listener` (bind port 0 in tests) and returns its handle. Every time it keeps
/// or checks — token and code lifetimes, call timestamps, order times, push retries — is read from
/// `clock`: the host's, or the manual clock a test shares with the engine.
pub async fn serve(listener: TcpListener, config: LazadaSimConfig, clock: SharedClock) -> LazadaSim {
    let base_url = listener.local_addr().map(|a| format!("http://{a}")).unwrap_or_default();
    let core = Arc::new(Core::new(config, clock));
    let app = router(core.clone());
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "Lazada simulator stopped");
        }
    });
    let sender = core.clone();
    let retries = tokio::spawn(async move { sender.pushes.run_retries().await });
    LazadaSim {
        core,
        base_url,
        tasks: [server, retries],
    }
}

fn router(core: Shared) -> Router {
    let api = get(gateway::handle).post(gateway::handle);
    Router::new()
        .route("/rest/{*path}", api.clone())
        .route("/{region}/rest/{*path}", api)
        .route("/sim/sellers", post(control::add_seller))
        .route("/sim/authorize", post(control::authorize))
        .route("/sim/orders", post(control::create_order).get(control::list_orders))
        .route("/sim/orders/{order_id}/status", post(control::update_order))
        .route("/sim/push-target", post(control::set_push_target))
        .route("/sim/push", post(control::send_push))
        .route("/sim/pushes", get(control::list_pushes))
        .route("/sim/faults", post(control::set_faults).delete(control::reset_faults))
        .route("/sim/revoke", post(control::revoke))
        .route("/sim/calls", get(control::api_calls))
        .with_state(core)
}

impl Drop for LazadaSim {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl LazadaSim {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:PORT/rest`: the auth base URL, and an API base URL that sees every country.
    pub fn rest_url(&self) -> String {
        format!("{}/rest", self.base_url)
    }

    /// `http://127.0.0.1:PORT/sg/rest`: one country's API base URL, as its regional host.
    pub fn region_url(&self, region: Region) -> String {
        format!("{}/{region}/rest", self.base_url)
    }

    /// The configuration it started with.
    pub fn config(&self) -> &LazadaSimConfig {
        &self.core.config
    }

    /// Adds a seller account with its shops per country.
    pub fn add_seller(&self, seller: SimSeller) -> Result<(), SimError> {
        self.core.add_seller(seller)
    }

    /// The seller of `account` approves the app: returns the single-use code the redirect would carry.
    pub fn authorize(&self, account: &str) -> Result<String, SimError> {
        self.core.authorize(account)
    }

    /// Ends every token of the account that holds `seller_id` (its calls then get `IllegalAccessToken`).
    pub fn revoke_tokens(&self, seller_id: &str) -> Result<(), SimError> {
        self.core.revoke_tokens(seller_id)
    }

    /// Creates an order and pushes each item's status.
    pub async fn create_order(&self, order: NewOrder) -> Result<OrderChange, SimError> {
        self.core.create_order(order).await
    }

    /// Changes an order's items and pushes each status change.
    pub async fn update_order(&self, order_id: u64, update: OrderUpdate) -> Result<OrderChange, SimError> {
        self.core.update_order(order_id, update).await
    }

    /// Moves every item of an order to `status`, pushing each that changes.
    pub async fn set_order_status(&self, order_id: u64, status: &str) -> Result<OrderChange, SimError> {
        let update = OrderUpdate {
            status: Some(status.to_owned()),
            ..OrderUpdate::default()
        };
        self.core.update_order(order_id, update).await
    }

    /// An order as it stands.
    pub fn order(&self, order_id: u64) -> Option<Order> {
        self.core.state().orders.get(&order_id).cloned()
    }

    /// Sets (or clears) the push callback URL.
    pub fn set_push_target(&self, url: Option<&str>) {
        self.core.pushes.set_target(url.map(str::to_owned));
    }

    /// Signs and sends a push of any `message_type` (e.g. [`MESSAGE_TOKEN_EXPIRING`],
    /// [`MESSAGE_SELLER_STATUS`]) about `seller_id`, with `data` as given.
    pub async fn send_push(
        &self,
        seller_id: &str,
        message_type: i64,
        data: impl Serialize,
    ) -> Result<PushRecord, SimError> {
        self.core.push(seller_id, message_type, data).await
    }

    /// Lazada changes the seller's status (`normal`, or `close`: most daily operations banned) and pushes
    /// the change (`message_type` 13).
    pub async fn set_seller_status(&self, seller_id: &str, status: &str) -> Result<PushRecord, SimError> {
        self.core.push_seller_status(seller_id, status).await
    }

    /// Every push so far, with its attempts.
    pub fn pushes(&self) -> Vec<PushRecord> {
        self.core.pushes.records()
    }

    /// Waits until push `id` has had `count` delivery attempts (retries come when the clock reaches them);
    /// `None` if there is no such push. Wrap it in a timeout.
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

    /// Makes the next `times` calls of `path` (an API path such as `/orders/get`; every path when `None`)
    /// fail with `fault`.
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

    /// Every API call received so far, with its parameters and answer code.
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.core.state().calls.clone()
    }
}
