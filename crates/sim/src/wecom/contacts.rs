//! The corp's directory and the contacts APIs that read it: `GET /cgi-bin/user/simplelist`,
//! `POST /cgi-bin/user/list_id` and `GET /cgi-bin/tag/get`.
//!
//! The same directory decides who an app message reaches, so what the contacts APIs answer is exactly
//! who WeCom counts against its per-person limits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::config::WeComSimConfig;
use super::content::{as_int, parse_object};
use super::reply::{respond, ApiError};
use super::state::SimState;

/// The root department: everyone in the corp belongs to it.
pub(crate) const ROOT_DEPARTMENT: u64 = 1;

/// Adds `id` to `out` unless it is there already (userids compare case-insensitively).
fn push_unique(out: &mut Vec<String>, id: &str) {
    if !out.iter().any(|m| m.eq_ignore_ascii_case(id)) {
        out.push(id.to_owned());
    }
}

impl WeComSimConfig {
    /// Every member of the corp: the listed users, then anyone only named in a department or tag.
    pub(crate) fn everyone(&self) -> Vec<String> {
        let mut out = Vec::new();
        let groups = self.departments.iter().chain(&self.tags);
        for id in self.users.iter().chain(groups.flat_map(|g| &g.members)) {
            push_unique(&mut out, id);
        }
        out
    }

    /// The userid as the corp spells it (a group may list a member in another case).
    fn canonical(&self, id: &str) -> String {
        let known = self.users.iter().find(|u| u.eq_ignore_ascii_case(id));
        known.map_or_else(|| id.to_owned(), Clone::clone)
    }

    fn canonical_all(&self, ids: &[String]) -> Vec<String> {
        ids.iter().map(|id| self.canonical(id)).collect()
    }

    /// A department's members, `None` when the corp has no such department. With no departments
    /// configured every id is accepted, with no known members.
    pub(crate) fn department_members(&self, id: u64) -> Option<Vec<String>> {
        if id == ROOT_DEPARTMENT {
            return Some(self.everyone());
        }
        if self.departments.is_empty() {
            return Some(Vec::new());
        }
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| self.canonical_all(&d.members))
    }

    /// A tag's members, `None` when the corp has no such tag (every id is accepted when none are configured).
    pub(crate) fn tag_members(&self, id: u64) -> Option<Vec<String>> {
        if self.tags.is_empty() {
            return Some(Vec::new());
        }
        self.tags
            .iter()
            .find(|t| t.id == id)
            .map(|t| self.canonical_all(&t.members))
    }
}

type Params = Query<HashMap<String, String>>;

/// `GET /cgi-bin/user/simplelist?department_id=&fetch_child=`: `{userlist: [{userid, name, department}]}`.
pub(crate) async fn simplelist(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Params,
) -> Response {
    let result = authorised(&state, peer, &query).and_then(|agent_id| {
        let id = query
            .get("department_id")
            .and_then(|d| d.trim().parse::<u64>().ok())
            .ok_or(ApiError(40058))?;
        // Only an app visible company-wide may read the root department.
        if id == ROOT_DEPARTMENT && state.config.partly_visible_apps.contains(&agent_id) {
            return Err(ApiError(60011));
        }
        let members = state.config.department_members(id).ok_or(ApiError(60003))?;
        let userlist: Vec<Value> = members
            .iter()
            .map(|m| json!({"userid": m, "name": m, "department": [id]}))
            .collect();
        let mut fields = Map::new();
        fields.insert("userlist".into(), userlist.into());
        Ok(fields)
    });
    respond(&state, peer.ip(), result)
}

/// `GET /cgi-bin/tag/get?tagid=`: `{tagname, userlist: [{userid, name}], partylist: []}`.
pub(crate) async fn tag_get(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Params,
) -> Response {
    let result = authorised(&state, peer, &query).and_then(|_| {
        let id = query
            .get("tagid")
            .and_then(|d| d.trim().parse::<u64>().ok())
            .ok_or(ApiError(40068))?;
        let members = state.config.tag_members(id).ok_or(ApiError(40068))?;
        let name = state.config.tags.iter().find(|t| t.id == id).map(|t| t.name.clone());
        let userlist: Vec<Value> = members.iter().map(|m| json!({"userid": m, "name": m})).collect();
        let mut fields = Map::new();
        fields.insert("tagname".into(), name.unwrap_or_default().into());
        fields.insert("userlist".into(), userlist.into());
        fields.insert("partylist".into(), Value::Array(Vec::new()));
        Ok(fields)
    });
    respond(&state, peer.ip(), result)
}

/// `POST /cgi-bin/user/list_id {cursor, limit}`: every member with their departments, a page at a time.
pub(crate) async fn list_id(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Params,
    body: Bytes,
) -> Response {
    let result = authorised(&state, peer, &query).and_then(|_| {
        let body = parse_object(&body)?;
        let start = body
            .get("cursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(|c| c.parse::<usize>().map_err(|_| ApiError(40058)))
            .transpose()?
            .unwrap_or(0);
        let limit = body
            .get("limit")
            .and_then(as_int)
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| (1..=10_000).contains(l))
            .unwrap_or(10_000);
        let everyone = state.config.everyone();
        let page: Vec<Value> = everyone
            .iter()
            .skip(start)
            .take(limit)
            .flat_map(|userid| {
                let departments: Vec<u64> = state
                    .config
                    .departments
                    .iter()
                    .filter(|d| d.members.iter().any(|m| m.eq_ignore_ascii_case(userid)))
                    .map(|d| d.id)
                    .collect();
                let departments = if departments.is_empty() {
                    vec![ROOT_DEPARTMENT]
                } else {
                    departments
                };
                departments
                    .into_iter()
                    .map(move |d| json!({"userid": userid, "department": d}))
                    .collect::<Vec<_>>()
            })
            .collect();
        let next = start + limit;
        let mut fields = Map::new();
        fields.insert(
            "next_cursor".into(),
            if next < everyone.len() {
                next.to_string()
            } else {
                String::new()
            }
            .into(),
        );
        fields.insert("dept_user".into(), page.into());
        Ok(fields)
    });
    respond(&state, peer.ip(), result)
}

/// Token and IP checks; the token's app.
pub(crate) fn authorised(state: &SimState, peer: SocketAddr, query: &HashMap<String, String>) -> Result<i64, ApiError> {
    let inner = state.lock();
    let token = query.get("access_token").map(String::as_str);
    let agent_id = inner.check_token(token, state.clock.now_ms(), state.config.expired_token_errcode)?;
    state.check_ip(peer.ip())?;
    Ok(agent_id)
}
