//! `POST /cgi-bin/message/send`: token and IP checks, recipients, duplicate check, member limits.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use serde_json::{Map, Value};

use super::config::WeComSimConfig;
use super::content::{as_int, check, parse_object, Channel};
use super::reply::{respond, ApiError, ApiResult};
use super::state::{random_id, Destination, MemberLimit, SimMessage, SimState};

/// WeCom's default `duplicate_check_interval`.
const DEFAULT_DUPLICATE_INTERVAL_SECS: u64 = 1800;
/// WeCom's maximum `duplicate_check_interval` (4 hours).
const MAX_DUPLICATE_INTERVAL_SECS: u64 = 14_400;

pub(crate) async fn message_send(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = query.get("access_token").map(String::as_str);
    let result = send(&state, peer.ip(), token, &body);
    respond(&state, peer.ip(), result)
}

fn send(state: &SimState, ip: IpAddr, token: Option<&str>, raw: &[u8]) -> ApiResult {
    let now = state.clock.now_ms();
    let mut inner = state.lock();
    let token_app = inner.check_token(token, now, state.config.expired_token_errcode)?;
    state.check_ip(ip)?;
    let body = parse_object(raw)?;
    let agentid = body.get("agentid").and_then(as_int).ok_or(ApiError(40056))?;
    if agentid != token_app {
        return Err(ApiError(301002));
    }
    let checked = check(&body, Channel::App)?;
    let resolved = Resolved::from_body(&state.config, &body)?;
    let mut reply = resolved.reply_fields();
    let msgid = random_id(48);

    if body.get("enable_duplicate_check").and_then(as_int) == Some(1) {
        let secs = body
            .get("duplicate_check_interval")
            .and_then(as_int)
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(DEFAULT_DUPLICATE_INTERVAL_SECS)
            .min(MAX_DUPLICATE_INTERVAL_SECS);
        let key = (agentid, Value::Object(body.clone()).to_string());
        let earlier = inner
            .duplicates
            .get(&key)
            .filter(|(until, _)| now < *until)
            .map(|(_, first_msgid)| first_msgid.clone());
        if let Some(first_msgid) = earlier {
            inner.stats.duplicate_absorbed += 1;
            inner.stats.accepted += 1;
            reply.insert("msgid".into(), first_msgid.into());
            return Ok(reply);
        }
        inner.duplicates.retain(|_, (until, _)| now < *until);
        inner.duplicates.insert(key, (now + 1_000 * secs as i64, msgid.clone()));
    }

    let (delivered, dropped) = state.deliver(&mut inner, MemberLimit::App, agentid, &resolved.members, now);
    // Interactive cards answer a response_code; button cards are remembered so members can click them.
    let response_code = checked
        .interactive
        .then(|| state.remember_card(&mut inner, agentid, &checked.body, &delivered));
    // Dropped for every member means WeCom delivered nothing, so there is nothing to show.
    if !delivered.is_empty() || resolved.members.is_empty() {
        inner.record(SimMessage {
            id: 0,
            msgid: msgid.clone(),
            at_unix_ms: state.clock.unix_ms(),
            destination: Destination::App { agentid },
            recipients: delivered,
            dropped,
            msgtype: checked.msgtype,
            body: checked.body,
        });
    }
    inner.stats.accepted += 1;
    reply.insert("msgid".into(), msgid.into());
    if let Some(response_code) = response_code {
        reply.insert("response_code".into(), response_code.into());
    }
    Ok(reply)
}

/// The members a message reaches and the ids WeCom reports back as invalid.
struct Resolved {
    members: Vec<String>,
    invalid_users: Vec<String>,
    invalid_parties: Vec<String>,
    invalid_tags: Vec<String>,
}

impl Resolved {
    fn from_body(config: &WeComSimConfig, body: &Map<String, Value>) -> Result<Self, ApiError> {
        let ids = |key| -> Vec<String> {
            body.get(key)
                .and_then(Value::as_str)
                .map(|s| {
                    s.split('|')
                        .map(str::trim)
                        .filter(|id| !id.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let (users, parties, tags) = (ids("touser"), ids("toparty"), ids("totag"));
        if users.is_empty() && parties.is_empty() && tags.is_empty() {
            return Err(ApiError(82001));
        }
        let mut resolved = Self {
            members: Vec::new(),
            invalid_users: Vec::new(),
            invalid_parties: Vec::new(),
            invalid_tags: Vec::new(),
        };
        if users.iter().any(|u| u == "@all") {
            let everyone = config.everyone();
            resolved.members = if everyone.is_empty() {
                vec!["@all".to_owned()]
            } else {
                everyone
            };
            return Ok(resolved);
        }
        let mut any_valid = false;
        for user in users {
            // Userids are case-insensitive; WeCom reports invalid ones lower-cased.
            let known = config.users.iter().find(|u| u.eq_ignore_ascii_case(&user));
            match known {
                Some(canonical) => resolved.add_member(canonical),
                None if config.users.is_empty() => resolved.add_member(&user),
                None => {
                    resolved.invalid_users.push(user.to_lowercase());
                    continue;
                }
            }
            any_valid = true;
        }
        type Lookup = fn(&WeComSimConfig, u64) -> Option<Vec<String>>;
        let lookups: [(Vec<String>, Lookup, &mut Vec<String>); 2] = [
            (
                parties,
                WeComSimConfig::department_members,
                &mut resolved.invalid_parties,
            ),
            (tags, WeComSimConfig::tag_members, &mut resolved.invalid_tags),
        ];
        let mut members = Vec::new();
        for (ids, lookup, invalid) in lookups {
            for id in ids {
                match id.parse().ok().and_then(|id| lookup(config, id)) {
                    Some(group) => {
                        any_valid = true;
                        members.extend(group);
                    }
                    None => invalid.push(id),
                }
            }
        }
        // One person reached through several fields is one recipient, counted once.
        for member in &members {
            resolved.add_member(member);
        }
        if !any_valid {
            return Err(ApiError(81013));
        }
        Ok(resolved)
    }

    fn add_member(&mut self, userid: &str) {
        if !self.members.iter().any(|m| m.eq_ignore_ascii_case(userid)) {
            self.members.push(userid.to_owned());
        }
    }

    fn reply_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        for (key, ids) in [
            ("invaliduser", &self.invalid_users),
            ("invalidparty", &self.invalid_parties),
            ("invalidtag", &self.invalid_tags),
        ] {
            fields.insert(key.into(), ids.join("|").into());
        }
        fields
    }
}
