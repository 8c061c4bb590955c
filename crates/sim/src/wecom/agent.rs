//! `GET /cgi-bin/agent/get?agentid=`: an app's details (doc 90227). A corp's token reads only its own app
//! ("企业仅可获取当前凭证对应的应用"): an AgentId the corp does not have answers 40056, another app's
//! 301002.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::contacts::{authorised, ROOT_DEPARTMENT};
use super::reply::{respond, ApiError};
use super::state::SimState;

pub(crate) async fn agent_get(
    State(state): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = authorised(&state, peer, &query).and_then(|token_app| {
        let agentid = query
            .get("agentid")
            .and_then(|a| a.trim().parse::<i64>().ok())
            .ok_or(ApiError(40056))?;
        let app = state
            .config
            .apps
            .iter()
            .find(|a| a.agent_id == agentid)
            .ok_or(ApiError(40056))?;
        if agentid != token_app {
            return Err(ApiError(301002));
        }
        // The visible range: the whole corp, or (for a partly visible app) the members the corp lists.
        let (users, parties): (Vec<Value>, Vec<u64>) = if state.config.partly_visible_apps.contains(&agentid) {
            let users = state.config.users.iter().map(|u| json!({"userid": u})).collect();
            (users, Vec::new())
        } else {
            (Vec::new(), vec![ROOT_DEPARTMENT])
        };
        let mut fields = Map::new();
        fields.insert("agentid".into(), agentid.into());
        fields.insert("name".into(), app.name.clone().into());
        fields.insert("square_logo_url".into(), "".into());
        fields.insert("description".into(), "".into());
        fields.insert("allow_userinfos".into(), json!({ "user": users }));
        fields.insert("allow_partys".into(), json!({ "partyid": parties }));
        fields.insert("allow_tags".into(), json!({ "tagid": [] }));
        fields.insert("close".into(), 0.into());
        fields.insert("redirect_domain".into(), "".into());
        fields.insert("report_location_flag".into(), 0.into());
        fields.insert("isreportenter".into(), 0.into());
        fields.insert("home_url".into(), "".into());
        Ok(fields)
    });
    respond(&state, peer.ip(), result)
}
