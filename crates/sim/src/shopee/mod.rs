//! Shopee Open Platform simulator: OAuth with single-use codes and refresh tokens, signed and
//! time-checked API calls in Shopee's envelope, orders, signed pushes to callback URLs (with lost-push
//! recovery), buyer chat, and faults on demand. Faithful to `shared/protocols/shopee.md`.
//!
//! Drive it in-process through the [`ShopeeSim`] handle, or over HTTP through `/sim/…`:
//!
//! | control route | does |
//! |---|---|
//! | `POST /sim/orders` ([`NewOrder`]), `GET /sim/orders` | create an order (pushes code 3) / list orders |
//! | `POST /sim/orders/{order_sn}/status` ([`OrderUpdate`]) | move it (code 3) and/or assign tracking (code 4) |
//! | `POST /sim/push-target {partner_id?, url}` | set the callback URL (`app_id` = partner_id); sends the verification push |
//! | `POST /sim/push/raw {partner_id?, body \| raw}` | sign and send any body |
//! | `POST /sim/push/verification {partner_id?}` | send the code-0 verification push |
//! | `POST /sim/push/retry`, `POST /sim/push/flush`, `GET /sim/pushes` | retry failed / release held / list pushes |
//! | `POST /sim/faults` ([`FaultsRequest`]), `DELETE /sim/faults` | add / clear faults |
//! | `POST /sim/clock/advance {secs}`, `GET /sim/calls` | move the clock (expire tokens) / API call log |
//! | `POST /sim/chat/buyer {shop_id?, buyer_id, buyer_name, text}` | a buyer writes: a code-10 push; answers `{message_id, pushes}` |
//! | `GET /sim/chat/messages` | every chat message, both ways ([`ChatMessage`]) |
//! | `POST /sim/chat/whitelist {shop_id, whitelisted}` | put a shop on or off the chat API whitelist |
//!
//! # Buyer chat
//! [`ShopeeSim::buyer_says`] makes a buyer write: a signed code-10 push with `data.type = "message"` and
//! `data.content` in Shopee's shape (`message_id, shop_id, from_id` = the buyer, `from_user_name, to_id`
//! = the shop, `to_user_name, message_type "text", content{text}, conversation_id` (stable per shop and
//! buyer), `created_timestamp, region`). The seller answers with `POST /api/v2/sellerchat/send_message`
//! (shop-level signing); the simulator records the message ([`ShopeeSim::chat_messages`]) and, as Shopee
//! does, pushes it back as code 10 with `from_id` = the shop. Chat pushes are ordered and time out after
//! 2 s. A shop off the whitelist (`chat_not_whitelisted_shops`, [`ShopeeSim::set_chat_whitelisted`]) gets
//! `error_api_permission`; a TW shop gets `error_param` (Shopee does not support sending there).
//!
//! # Layout
//! - `config`: [`ShopeeSimConfig`], what the simulated platform knows.
//! - `state`: the shared memory and clock.
//! - `api`: envelope and common-parameter checks (signature, timestamp, access token).
//! - `oauth`: authorization link, codes, token exchange and refresh.
//! - `orders`: orders and their changes (which push).
//! - `order_api`: `get_order_detail`, `get_order_list` and `get_tracking_info`.
//! - `chat`: buyer messages, `sellerchat/send_message` and its echo.
//! - `push`: signed push delivery (chat pushes through an ordered lane), retries, the lost-push API.
//! - `sign`: the simulator's own API and push signatures (checked against the conformance vectors).
//! - `faults`: injected API faults and push disorder.
//! - `control`: the `/sim/…` HTTP routes.

mod api;
mod chat;
mod config;
mod control;
mod faults;
mod oauth;
mod order_api;
mod orders;
mod push;
mod shop;
pub(crate) mod sign;
mod state;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use shoprelay_clock::SharedClock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use chat::{ChatMessage, ChatSender};
pub use config::{ShopeeSimConfig, SimMainAccount, SimPartner, SimShop};
pub use control::SimError;
pub use faults::{ApiFault, ApiFaultRule, Faults, FaultsRequest};
pub use orders::{NewItem, NewOrder, Order, OrderChange, OrderLine, OrderUpdate, SimRecipient, TrackingStep};
pub use push::{Attempt, PushRecord};
pub use state::ApiCall;

use state::{Core, Shared};

/// A running simulator. Dropping it stops the server.
pub struct ShopeeSim {
    core: Shared,
    base_url: String,
    server: JoinHandle<()>,
    chat_lane: JoinHandle<()>,
}

/// Starts the simulator on `listener` (bind port 0 in tests) and returns its handle; its token, code and
/// order times are read from `clock` (the host's, or the manual clock a test shares with the engine).
pub async fn serve(listener: TcpListener, config: ShopeeSimConfig, clock: SharedClock) -> ShopeeSim {
    let base_url = listener.local_addr().map(|a| format!("http://{a}")).unwrap_or_default();
    let (core, lane) = Core::new(config, clock);
    let core = Arc::new(core);
    let chat_lane = tokio::spawn(push::run_chat_lane(core.clone(), lane));
    let app = router(core.clone());
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "Shopee simulator stopped");
        }
    });
    ShopeeSim {
        core,
        base_url,
        server,
        chat_lane,
    }
}

fn router(core: Shared) -> Router {
    let lost_push = if core.config.legacy_lost_push_get {
        post(push::get_lost_push_message).get(push::get_lost_push_message)
    } else {
        post(push::get_lost_push_message)
    };
    let api = Router::new()
        .route("/api/v2/shop/auth_partner", get(oauth::auth_partner))
        .route("/auth", get(oauth::auth_open))
        .route("/api/v2/auth/token/get", post(oauth::token_get))
        .route("/api/v2/auth/access_token/get", post(oauth::access_token_get))
        .route("/api/v2/order/get_order_detail", get(order_api::get_order_detail))
        .route("/api/v2/order/get_order_list", get(order_api::get_order_list))
        .route("/api/v2/logistics/get_tracking_info", get(order_api::get_tracking_info))
        .route("/api/v2/sellerchat/send_message", post(chat::send_message))
        .route("/api/v2/shop/get_shop_info", get(shop::get_shop_info))
        .route("/api/v2/push/get_lost_push_message", lost_push)
        .route(
            "/api/v2/push/confirm_consumed_lost_push_message",
            post(push::confirm_consumed_lost_push_message),
        )
        .route_layer(axum::middleware::from_fn_with_state(core.clone(), faults::middleware));
    let control = Router::new()
        .route("/sim/auth/approve", get(oauth::approve_click))
        .route("/sim/orders", post(control::create_order).get(control::list_orders))
        .route("/sim/orders/{order_sn}/status", post(control::update_order))
        .route("/sim/push-target", post(control::set_push_target))
        .route("/sim/pushes", get(control::list_pushes))
        .route("/sim/push/raw", post(control::raw_push))
        .route("/sim/push/verification", post(control::verification_push))
        .route("/sim/push/retry", post(control::retry_pushes))
        .route("/sim/push/flush", post(control::flush_pushes))
        .route("/sim/faults", post(control::set_faults).delete(control::reset_faults))
        .route("/sim/clock/advance", post(control::advance_clock))
        .route("/sim/calls", get(control::api_calls))
        .route("/sim/chat/buyer", post(control::buyer_says))
        .route("/sim/chat/messages", get(control::chat_messages))
        .route("/sim/chat/whitelist", post(control::set_chat_whitelist))
        .route("/sim/shops/status", post(shop::set_status));
    api.merge(control).with_state(core)
}

impl Drop for ShopeeSim {
    fn drop(&mut self) {
        self.server.abort();
        self.chat_lane.abort();
    }
}

impl ShopeeSim {
    /// `http://127.0.0.1:PORT`: the `api_base` of a partner app pointed at the simulator.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ShopeeSimConfig {
        &self.core.config
    }

    /// Creates an order and pushes its status (code 3).
    pub async fn create_order(&self, order: NewOrder) -> Result<OrderChange, SimError> {
        self.core.create_order(order).await
    }

    /// Moves an order to `status` and pushes it (code 3), unless it is there already.
    pub async fn set_order_status(&self, order_sn: &str, status: &str) -> Result<OrderChange, SimError> {
        self.core
            .update_order(
                order_sn,
                OrderUpdate {
                    status: Some(status.into()),
                    tracking_no: None,
                },
            )
            .await
    }

    /// Assigns a tracking number and pushes it (code 4).
    pub async fn assign_tracking(&self, order_sn: &str, tracking_no: &str) -> Result<OrderChange, SimError> {
        self.core
            .update_order(
                order_sn,
                OrderUpdate {
                    status: None,
                    tracking_no: Some(tracking_no.into()),
                },
            )
            .await
    }

    /// Adds a carrier tracking step to an order (what `get_tracking_info` then shows; nothing is pushed).
    pub fn add_tracking_step(&self, order_sn: &str, step: TrackingStep) -> Result<Order, SimError> {
        self.core.add_tracking_step(order_sn, step)
    }

    /// An order as it stands.
    pub fn order(&self, order_sn: &str) -> Option<Order> {
        self.core.state().orders.get(order_sn).cloned()
    }

    /// Sets the callback URL of one partner (or all) and sends it the verification push, as Shopee does.
    pub async fn set_push_target(&self, partner_id: Option<u64>, url: &str) -> Vec<PushRecord> {
        self.core.set_push_target(partner_id, url.to_owned()).await
    }

    /// Signs and sends `body` byte for byte to one partner's (or every partner's) callback URL.
    pub async fn send_raw_push(&self, partner_id: Option<u64>, body: &str) -> Vec<PushRecord> {
        self.core.send_any(partner_id, body.to_owned()).await
    }

    /// Sends the code-0 verification push.
    pub async fn send_verification_push(&self, partner_id: Option<u64>) -> Vec<PushRecord> {
        self.core.send_verification(partner_id).await
    }

    /// Tries every failed push again.
    pub async fn retry_failed_pushes(&self) -> Vec<PushRecord> {
        self.core.retry_failed().await
    }

    /// Sends the pushes the out-of-order fault holds back.
    pub async fn flush_held_pushes(&self) -> Vec<PushRecord> {
        self.core.flush_held().await
    }

    /// Every push so far, with its attempts.
    pub fn pushes(&self) -> Vec<PushRecord> {
        self.core.state().pushes.clone()
    }

    /// Adds faults or sets push disorder flags.
    pub fn set_faults(&self, request: FaultsRequest) {
        self.core.state().faults.apply(request);
    }

    /// Makes the next `times` calls of `path` (every API path when `None`) fail with `fault`.
    pub fn fail_next(&self, path: Option<&str>, times: u32, fault: ApiFault) {
        let rule = ApiFaultRule {
            path: path.map(str::to_owned),
            fault,
            times: Some(times),
        };
        self.set_faults(FaultsRequest {
            api: vec![rule],
            ..Default::default()
        });
    }

    /// Clears every fault.
    pub fn reset_faults(&self) {
        self.core.state().faults = Faults::default();
    }

    /// Moves the simulator's clock (token, code and order times) by `secs`.
    pub fn advance_clock(&self, secs: i64) {
        self.core.advance_clock(secs);
    }

    /// Every API call answered so far.
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.core.state().calls.clone()
    }

    /// A buyer writes `text` to `shop_id`: pushes it (code 10, `data.type = "message"`) once it is the
    /// chat lane's turn and returns when it was attempted, with the new message's `message_id`.
    pub async fn buyer_says(
        &self,
        shop_id: u64,
        buyer_id: u64,
        buyer_name: &str,
        text: &str,
    ) -> Result<String, SimError> {
        let (message, _) = self.core.buyer_says(shop_id, buyer_id, buyer_name, text).await?;
        Ok(message.message_id)
    }

    /// Every chat message so far, both ways, oldest first.
    pub fn chat_messages(&self) -> Vec<ChatMessage> {
        self.core.state().chat.messages()
    }

    /// Puts a shop on the chat API whitelist or takes it off (`send_message` then answers `error_api_permission`).
    pub fn set_chat_whitelisted(&self, shop_id: u64, whitelisted: bool) {
        self.core.state().chat.set_whitelisted(shop_id, whitelisted);
    }

    /// Waits until every chat push made so far (echoes of `send_message` included) was attempted.
    pub async fn chat_pushes_settled(&self) {
        self.core.chat_settled().await;
    }
}
