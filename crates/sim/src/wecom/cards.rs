//! Interactive template cards after they are sent: the buttons of `button_interaction` cards (for
//! clicks), the response_codes WeCom hands out, and `POST /cgi-bin/message/update_template_card`.
//!
//! A response_code comes with every interactive card `message/send` accepts (it updates the card for
//! everyone) and with every click (it updates the clicker's card). Each is good for one update, within
//! `response_code_ttl_secs` (WeCom: 72 hours) by the simulator's clock, and only for the app that sent the
//! card; anything else answers `invalid_response_code_errcode`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use super::callback::{new_response_code, CallbackError, CallbackEvent, CallbackRecord};
use super::content::{as_int, check_card};
use super::reply::{respond, ApiError, ApiResult};
use super::state::{Inner, SimState};

/// Stands for "every member" among a card's recipients (sent to `@all` with an open directory).
const EVERYONE: &str = "@all";

/// A `button_interaction` card as sent.
#[derive(Debug, Clone)]
pub(crate) struct SentCard {
    card_type: String,
    /// Keys of its callback buttons (type 0); URL buttons (type 1) call nothing back.
    callback_keys: Vec<String>,
    /// Members it reached.
    recipients: Vec<String>,
}

/// A response_code handed out.
#[derive(Debug, Clone)]
pub(crate) struct IssuedCode {
    agent_id: i64,
    task_id: Option<String>,
    /// Unix milliseconds.
    expires_at: i64,
    spent: bool,
}

/// An `update_template_card` call the simulator accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardUpdate {
    /// When, Unix milliseconds by the simulator's clock.
    pub at_unix_ms: u64,
    /// The app (`agentid`).
    pub agent_id: i64,
    /// The response_code spent.
    pub response_code: String,
    /// The card's task_id, when it has one.
    pub task_id: Option<String>,
    /// `userids`.
    pub userids: Vec<String>,
    /// `partyids`.
    pub partyids: Vec<i64>,
    /// `tagids`.
    pub tagids: Vec<i64>,
    /// `atall` = 1.
    pub atall: bool,
    /// `button.replace_name`: the buttons replaced by this text.
    pub replace_name: Option<String>,
    /// `template_card`: the whole card replaced.
    pub template_card: Option<Value>,
}

impl SimState {
    /// Remembers an interactive card `message/send` accepted; returns the response_code to answer with.
    pub(crate) fn remember_card(
        &self,
        inner: &mut Inner,
        agent_id: i64,
        body: &Value,
        recipients: &[String],
    ) -> String {
        let card = &body["template_card"];
        let task_id = card.get("task_id").and_then(Value::as_str).map(str::to_owned);
        let card_type = card.get("card_type").and_then(Value::as_str).unwrap_or_default();
        if let (Some(task_id), "button_interaction") = (&task_id, card_type) {
            let callback_keys = card
                .get("button_list")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|b| b.get("type").and_then(as_int).unwrap_or(0) == 0)
                .filter_map(|b| b.get("key").and_then(Value::as_str).map(str::to_owned))
                .collect();
            let sent = SentCard {
                card_type: card_type.to_owned(),
                callback_keys,
                recipients: recipients.to_vec(),
            };
            inner.cards.insert((agent_id, task_id.clone()), sent);
        }
        self.issue_code(inner, agent_id, task_id)
    }

    fn issue_code(&self, inner: &mut Inner, agent_id: i64, task_id: Option<String>) -> String {
        let now = self.clock.now_ms();
        let ttl_ms = i64::try_from(self.config.response_code_ttl_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
        inner.response_codes.retain(|_, c| now < c.expires_at);
        let code = new_response_code();
        let issued = IssuedCode {
            agent_id,
            task_id,
            expires_at: now.saturating_add(ttl_ms),
            spent: false,
        };
        inner.response_codes.insert(code.clone(), issued);
        code
    }

    /// A member clicks a callback button of a `button_interaction` card: a `template_card_event` callback
    /// with a fresh response_code.
    pub(crate) async fn click_button(
        &self,
        agent_id: i64,
        userid: &str,
        task_id: &str,
        key: &str,
    ) -> Result<CallbackRecord, CallbackError> {
        let from_user = self.member(userid)?;
        let pending = {
            let mut inner = self.lock();
            let card = inner
                .cards
                .get(&(agent_id, task_id.to_owned()))
                .ok_or_else(|| CallbackError::UnknownCard {
                    agent_id,
                    task_id: task_id.to_owned(),
                })?;
            if !card.callback_keys.iter().any(|k| k == key) {
                return Err(CallbackError::UnknownButton {
                    task_id: task_id.to_owned(),
                    key: key.to_owned(),
                });
            }
            let received = card
                .recipients
                .iter()
                .any(|r| r == EVERYONE || r.eq_ignore_ascii_case(&from_user));
            if !received {
                return Err(CallbackError::NotARecipient {
                    userid: from_user,
                    task_id: task_id.to_owned(),
                });
            }
            let card_type = card.card_type.clone();
            let create_time = self.clock.now_ms().div_euclid(1000);
            // Checked before a code is issued, so a click that goes nowhere spends nothing.
            let via_bot = self.bot_of(agent_id).is_some();
            if !inner.callback_targets.contains_key(&agent_id) && !via_bot {
                return Err(CallbackError::NoCallback(agent_id));
            }
            let response_code = self.issue_code(&mut inner, agent_id, Some(task_id.to_owned()));
            let event = CallbackEvent::TemplateCardEvent {
                task_id: task_id.to_owned(),
                event_key: key.to_owned(),
                card_type,
                response_code,
            };
            if via_bot {
                drop(inner);
                return self.over_long_connection(agent_id, from_user, event);
            }
            self.pending(&mut inner, agent_id, from_user, event, create_time)?
        };
        Ok(self.send(pending).await)
    }

    pub(crate) fn card_updates(&self) -> Vec<CardUpdate> {
        self.lock().card_updates.clone()
    }
}

/// `POST /cgi-bin/message/update_template_card`.
pub(crate) async fn update_template_card(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = query.get("access_token").map(String::as_str);
    let result = state.authorised(peer.ip(), token, &body, update);
    respond(&state, peer.ip(), result)
}

fn update(state: &SimState, inner: &mut Inner, token_app: i64, body: Map<String, Value>) -> ApiResult {
    let now = state.clock.now_ms();
    let agent_id = body.get("agentid").and_then(as_int).ok_or(ApiError(40056))?;
    if agent_id != token_app {
        return Err(ApiError(301002));
    }
    let invalid = ApiError(40058);
    let response_code = body
        .get("response_code")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or(invalid)?;
    let replace_name = match body.get("button") {
        None => None,
        Some(button) => Some(
            button
                .get("replace_name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or(invalid)?
                .to_owned(),
        ),
    };
    let template_card = body.get("template_card").cloned();
    match &template_card {
        Some(card) => {
            check_card(card)?;
        }
        None if replace_name.is_none() => return Err(invalid),
        None => {}
    }
    // Content is checked first: a malformed update does not spend the code.
    let issued = inner
        .response_codes
        .get_mut(response_code)
        .filter(|c| c.agent_id == agent_id && !c.spent && now < c.expires_at)
        .ok_or(ApiError(state.config.invalid_response_code_errcode))?;
    issued.spent = true;
    let task_id = issued.task_id.clone();
    let ids = |key: &str| -> Vec<Value> { body.get(key).and_then(Value::as_array).cloned().unwrap_or_default() };
    let update = CardUpdate {
        at_unix_ms: state.clock.unix_ms(),
        agent_id,
        response_code: response_code.to_owned(),
        task_id,
        userids: ids("userids")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        partyids: ids("partyids").iter().filter_map(as_int).collect(),
        tagids: ids("tagids").iter().filter_map(as_int).collect(),
        atall: body.get("atall").and_then(as_int) == Some(1),
        replace_name,
        template_card,
    };
    inner.card_updates.push(update);
    Ok(Map::new())
}
