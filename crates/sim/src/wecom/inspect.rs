//! Inspection and control under `/sim`: what was delivered, counters, faults, token expiry, clock,
//! and the members' side of callbacks (messages, card clicks, card updates).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::callback::CallbackRecord;
use super::cards::CardUpdate;
use super::config::SimCallback;
use super::faults::Fault;
use super::page;
use super::state::{SimMessage, SimState, SimStats};

type AppState = Arc<SimState>;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sim", get(show_page))
        .route("/sim/messages", get(list_messages).delete(clear_messages))
        .route("/sim/stats", get(show_stats).delete(reset_stats))
        .route("/sim/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/sim/expire-tokens", post(expire_tokens))
        .route("/sim/clock/advance", post(advance_clock))
        .route("/sim/callbacks", get(list_callbacks))
        .route("/sim/callbacks/config", post(set_callback))
        .route("/sim/member-says", post(member_says))
        .route("/sim/click", post(click))
        .route("/sim/card-updates", get(list_card_updates))
}

impl SimState {
    pub(crate) fn messages(&self) -> Vec<SimMessage> {
        self.lock().messages.iter().cloned().collect()
    }

    pub(crate) fn stats(&self) -> SimStats {
        self.lock().stats.clone()
    }

    pub(crate) fn clear_messages(&self) {
        self.lock().messages.clear();
    }

    pub(crate) fn add_fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Every issued token answers `expired_token_errcode` from now on; gettoken issues new ones.
    pub(crate) fn expire_tokens(&self) {
        for token in self.lock().tokens.values_mut() {
            token.force_expired = true;
        }
    }
}

async fn show_page(State(state): State<AppState>) -> Html<String> {
    Html(page::render(&state))
}

async fn list_messages(State(state): State<AppState>) -> Json<Vec<SimMessage>> {
    Json(state.messages())
}

async fn clear_messages(State(state): State<AppState>) -> StatusCode {
    state.clear_messages();
    StatusCode::NO_CONTENT
}

async fn show_stats(State(state): State<AppState>) -> Json<SimStats> {
    Json(state.stats())
}

async fn reset_stats(State(state): State<AppState>) -> StatusCode {
    state.lock().stats = SimStats::default();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(state): State<AppState>) -> Json<Vec<Fault>> {
    Json(state.lock().faults.clone())
}

async fn add_fault(State(state): State<AppState>, Json(fault): Json<Fault>) -> StatusCode {
    state.add_fault(fault);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.lock().faults.clear();
    StatusCode::NO_CONTENT
}

async fn expire_tokens(State(state): State<AppState>) -> StatusCode {
    state.expire_tokens();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Advance {
    secs: u64,
}

async fn advance_clock(State(state): State<AppState>, Json(by): Json<Advance>) -> StatusCode {
    state.clock.advance(Duration::from_secs(by.secs));
    StatusCode::NO_CONTENT
}

async fn list_callbacks(State(state): State<AppState>) -> Json<Vec<CallbackRecord>> {
    Json(state.callbacks())
}

async fn list_card_updates(State(state): State<AppState>) -> Json<Vec<CardUpdate>> {
    Json(state.card_updates())
}

async fn set_callback(State(state): State<AppState>, Json(callback): Json<SimCallback>) -> Response {
    match state.set_callback(&callback) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The body of `POST /sim/member-says`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberSays {
    agent_id: i64,
    userid: String,
    text: String,
}

async fn member_says(State(state): State<AppState>, Json(says): Json<MemberSays>) -> Response {
    match state.member_says(says.agent_id, &says.userid, &says.text).await {
        Ok(record) => Json(record).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The body of `POST /sim/click`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Click {
    agent_id: i64,
    userid: String,
    task_id: String,
    key: String,
}

async fn click(State(state): State<AppState>, Json(click): Json<Click>) -> Response {
    match state
        .click_button(click.agent_id, &click.userid, &click.task_id, &click.key)
        .await
    {
        Ok(record) => Json(record).into_response(),
        Err(e) => e.into_response(),
    }
}
