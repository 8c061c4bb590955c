//! WeCom server API simulator, faithful to `shared/protocols/wecom.md`: tokens that expire,
//! errcodes in HTTP 200 answers, trusted IPs, silent dropping beyond per-member limits, robot
//! rate limits, duplicate checking, and faults on demand.
//!
//! Start it with [`serve`] on a bound listener (port 0 in tests), point the client's `api_base`
//! at [`WeComSim::base_url`], then inspect what it accepted through the handle or over HTTP:
//! `GET /sim/messages`, `GET /sim/stats`, `DELETE /sim/messages`, `POST /sim/faults`,
//! `POST /sim/expire-tokens`, `POST /sim/clock/advance {"secs": N}`, and the page at `GET /sim`.
//!
//! # Callbacks: members answering
//! Each app may have a callback setting ([`SimCallback`]: url, Token, EncodingAESKey), in
//! [`WeComSimConfig::callbacks`] or set at run time ([`WeComSim::set_callback`],
//! `POST /sim/callbacks/config`). The simulator then plays the members:
//!
//! | handle | over HTTP | does |
//! |---|---|---|
//! | [`WeComSim::member_says`] | `POST /sim/member-says {agent_id, userid, text}` | a text-message callback (new MsgId) |
//! | [`WeComSim::click_button`] | `POST /sim/click {agent_id, userid, task_id, key}` | a `template_card_event` callback with a fresh ResponseCode |
//! | [`WeComSim::callbacks`] | `GET /sim/callbacks` | every callback with its attempts ([`CallbackRecord`]) |
//! | [`WeComSim::card_updates`] | `GET /sim/card-updates` | accepted `update_template_card` calls ([`CardUpdate`]) |
//!
//! Callbacks are encrypted and signed with the simulator's own WXBizMsgCrypt (checked against
//! `vectors/wecom-callback-crypto.json`), POSTed with `msg_signature`, `timestamp` and `nonce`, and sent
//! again up to `callback_retries` (3) more times while the answer is not HTTP 200 within
//! `callback_timeout_ms` (5 s) — same message, fresh encryption. Only members who received a
//! `button_interaction` card (through `message/send`) can click its callback buttons.
//! `POST /cgi-bin/message/update_template_card` takes each response_code (from `message/send` or from a
//! click) once, within `response_code_ttl_secs` (72 h) by the simulator's clock. The GET URL
//! verification is not simulated.
//!
//! # Long connection: members answering without a callback URL
//! An app bound to an AI bot in [`WeComSimConfig::bots`] has its members' messages and clicks pushed over
//! the bot's WebSocket at [`WeComSim::long_connection_url`] (`aibot_subscribe`, `ping`,
//! `aibot_msg_callback`, `aibot_event_callback`; one connection per bot, a second kicks the first with
//! `disconnected_event`). [`WeComSim::long_connections`] lists them; [`WeComSim::drop_long_connection`]
//! cuts one.
//!
//! # Web login by QR scan
//! `GET /wwlogin/sso/login` is WeCom's login page (the corp's members listed, each a link that scans as
//! them); [`WeComSim::scan_login`] scans without a browser; `GET /cgi-bin/auth/getuserinfo` takes each
//! code once, within `login_code_ttl_secs` (5 minutes). See `login`.
//!
//! Modules: `config` (what the corp looks like), `state` (what it remembers), `clock`,
//! `limits` (sliding windows), `faults`, `reply` (errcode answers), `content` (msgtype rules),
//! `gettoken`, `send`, `appchat`, `robot`, `agent` (`agent/get`), `contacts` (the API and the corp's directory), `login` (QR login), `crypto`
//! (WXBizMsgCrypt), `callback` (members' messages to the product), `cards` (clicks, response_codes,
//! `update_template_card`), `longconn` (the AI bot's WebSocket), `inspect` and `page` (the `/sim` side).

mod agent;
mod appchat;
mod callback;
mod cards;
mod clock;
mod config;
mod contacts;
mod content;
mod crypto;
mod faults;
mod gettoken;
mod inspect;
mod limits;
mod login;
mod longconn;
mod page;
mod reply;
mod robot;
mod send;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::{middleware, Router};
use shoprelay_clock::SharedClock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

pub use callback::{CallbackAttempt, CallbackError, CallbackEvent, CallbackRecord};
pub use cards::CardUpdate;
pub use config::{SimApp, SimCallback, SimChat, SimGroup, SimLimits, WeComSimConfig};
pub use faults::{Fault, FaultAction};
pub use longconn::{LongConnRecord, SimBot};
pub use state::{Destination, SimMessage, SimStats};

use clock::SimClock;
use state::SimState;

/// A running simulator; dropping it stops the server.
pub struct WeComSim {
    addr: SocketAddr,
    state: Arc<SimState>,
    task: JoinHandle<()>,
    _stop_on_drop: DropGuard,
}

/// Serves the simulator on `listener` in a background task, its time read from `clock` (the host's, or
/// the manual clock a test shares with the engine under test).
pub async fn serve(listener: TcpListener, config: WeComSimConfig, clock: SharedClock) -> std::io::Result<WeComSim> {
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let state = Arc::new(SimState::new(config, SimClock::new(clock), shutdown.clone()));
    for callback in &state.config.callbacks {
        state
            .set_callback(callback)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    }
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(err) = server.await {
            tracing::warn!(error = %err, "WeCom simulator stopped with an error");
        }
    });
    Ok(WeComSim {
        addr,
        state,
        task,
        _stop_on_drop: shutdown.drop_guard(),
    })
}

fn router(state: Arc<SimState>) -> Router {
    let api = Router::new()
        .route("/cgi-bin/gettoken", get(gettoken::gettoken))
        .route("/cgi-bin/message/send", post(send::message_send))
        .route(
            "/cgi-bin/message/update_template_card",
            post(cards::update_template_card),
        )
        .route("/cgi-bin/appchat/create", post(appchat::create))
        .route("/cgi-bin/appchat/send", post(appchat::send))
        .route("/cgi-bin/webhook/send", post(robot::send))
        .route("/cgi-bin/agent/get", get(agent::agent_get))
        .route("/cgi-bin/user/simplelist", get(contacts::simplelist))
        .route("/cgi-bin/user/list_id", post(contacts::list_id))
        .route("/cgi-bin/tag/get", get(contacts::tag_get))
        .route("/cgi-bin/auth/getuserinfo", get(login::getuserinfo))
        .route_layer(middleware::from_fn_with_state(state.clone(), faults::inject));
    api.merge(inspect::routes())
        .route("/wwlogin/sso/login", get(login::login_page))
        .route("/wwlogin/sso/scan", get(login::scan))
        .route("/", get(longconn::upgrade))
        .with_state(state)
}

impl WeComSim {
    /// `http://127.0.0.1:PORT`, to use as the client's API base.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &WeComSimConfig {
        &self.state.config
    }

    /// Delivered messages, oldest first.
    pub fn messages(&self) -> Vec<SimMessage> {
        self.state.messages()
    }

    /// Counters.
    pub fn stats(&self) -> SimStats {
        self.state.stats()
    }

    /// Forgets delivered messages (counters stay).
    pub fn clear_messages(&self) {
        self.state.clear_messages();
    }

    /// Adds a fault rule; rules apply in the order added.
    pub fn inject_fault(&self, fault: Fault) {
        self.state.add_fault(fault);
    }

    /// Expires every issued access token now.
    pub fn expire_tokens(&self) {
        self.state.expire_tokens();
    }

    /// Moves the simulator's clock forward (rate windows, token expiry, duplicate intervals).
    pub fn advance_clock(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// Sets (or replaces) where an app's callbacks go and the Token and EncodingAESKey they use.
    pub fn set_callback(&self, callback: &SimCallback) -> Result<(), CallbackError> {
        self.state.set_callback(callback)
    }

    /// Stops an app's callbacks (they then fail with [`CallbackError::NoCallback`]).
    pub fn remove_callback(&self, agent_id: i64) {
        self.state.remove_callback(agent_id);
    }

    /// A member writes `text` to app `agent_id`: an encrypted, signed text-message callback with a new
    /// MsgId, sent again (same MsgId) up to `callback_retries` times until answered 200. Returns the
    /// record of what was sent and answered.
    pub async fn member_says(&self, agent_id: i64, userid: &str, text: &str) -> Result<CallbackRecord, CallbackError> {
        self.state.member_says(agent_id, userid, text).await
    }

    /// A member clicks the callback button `key` of the `button_interaction` card `task_id` that app
    /// `agent_id` sent them: a `template_card_event` callback with a fresh single-use ResponseCode.
    pub async fn click_button(
        &self,
        agent_id: i64,
        userid: &str,
        task_id: &str,
        key: &str,
    ) -> Result<CallbackRecord, CallbackError> {
        self.state.click_button(agent_id, userid, task_id, key).await
    }

    /// A member (or, for a userid the directory does not list, someone outside the corp) scans app
    /// `agent_id`'s login QR code: the single-use code WeCom would send the browser back with, good for
    /// `login_code_ttl_secs` by the simulator's clock.
    pub fn scan_login(&self, agent_id: i64, userid: &str) -> String {
        self.state.scan_login(agent_id, userid)
    }

    /// Callbacks made so far, oldest first.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.state.callbacks()
    }

    /// `update_template_card` calls accepted so far, oldest first.
    pub fn card_updates(&self) -> Vec<CardUpdate> {
        self.state.card_updates()
    }

    /// `ws://127.0.0.1:PORT`, to use as the long-connection URL of the bots in [`WeComSimConfig::bots`].
    pub fn long_connection_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Long connections accepted so far, oldest first.
    pub fn long_connections(&self) -> Vec<LongConnRecord> {
        self.state.long_connections()
    }

    /// Cuts the bot's live long connection without a word, as a network failure does; `false` when it
    /// has none.
    pub fn drop_long_connection(&self, bot_id: &str) -> bool {
        self.state.drop_long_connection(bot_id)
    }

    /// Stops accepting, releases requests held by timeout faults, and waits for the server to end.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "WeCom simulator task failed");
        }
    }
}
