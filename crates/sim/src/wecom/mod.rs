//! WeCom server API simulator, faithful to `shared/protocols/wecom.md`: tokens that expire,
//! errcodes in HTTP 200 answers, trusted IPs, silent dropping beyond per-member limits, robot
//! rate limits, duplicate checking, and faults on demand.
//!
//! Start it with [`serve`] on a bound listener (port 0 in tests), point the client's `api_base`
//! at [`WeComSim::base_url`], then inspect what it accepted through the handle or over HTTP:
//! `GET /sim/messages`, `GET /sim/stats`, `DELETE /sim/messages`, `POST /sim/faults`,
//! `POST /sim/expire-tokens`, `POST /sim/clock/advance {"secs": N}`, and the page at `GET /sim`.
//!
//! Modules: `config` (what the corp looks like), `state` (what it remembers), `clock`,
//! `limits` (sliding windows), `faults`, `reply` (errcode answers), `content` (msgtype rules),
//! `gettoken`, `send`, `appchat`, `robot`, `contacts` (the API and the corp's directory), `inspect` and
//! `page` (the `/sim` side).

mod appchat;
mod clock;
mod config;
mod contacts;
mod content;
mod faults;
mod gettoken;
mod inspect;
mod limits;
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

pub use config::{SimApp, SimChat, SimGroup, SimLimits, WeComSimConfig};
pub use faults::{Fault, FaultAction};
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
        .route("/cgi-bin/appchat/create", post(appchat::create))
        .route("/cgi-bin/appchat/send", post(appchat::send))
        .route("/cgi-bin/webhook/send", post(robot::send))
        .route("/cgi-bin/user/simplelist", get(contacts::simplelist))
        .route("/cgi-bin/user/list_id", post(contacts::list_id))
        .route("/cgi-bin/tag/get", get(contacts::tag_get))
        .route_layer(middleware::from_fn_with_state(state.clone(), faults::inject));
    api.merge(inspect::routes()).with_state(state)
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

    /// Stops accepting, releases requests held by timeout faults, and waits for the server to end.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "WeCom simulator task failed");
        }
    }
}
