//! What the simulated corp looks like: apps, members, departments, tags, chats, robots, limits.
//!
//! Every field has a default so a TOML or JSON file only states what differs.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The simulated corp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeComSimConfig {
    /// The corp id `gettoken` accepts (else 40013).
    pub corp_id: String,
    /// Self-built apps and their secrets.
    pub apps: Vec<SimApp>,
    /// Known member userids. Empty: every userid is accepted.
    pub users: Vec<String>,
    /// Known departments. Empty: every department id is accepted (with no known members). Department 1
    /// is the root: everyone belongs to it, whether it is listed or not.
    pub departments: Vec<SimGroup>,
    /// Known tags. Empty: every tag id is accepted (with no known members).
    pub tags: Vec<SimGroup>,
    /// App group chats that exist from the start.
    pub chats: Vec<SimChat>,
    /// Group robot webhook keys.
    pub robot_keys: Vec<String>,
    /// The apps' trusted IPs. Empty: every caller is allowed; else others get 60020.
    pub trusted_ips: Vec<IpAddr>,
    /// Rate limits and token lifetime.
    pub limits: SimLimits,
    /// What an expired token answers: 42001 (the classic) or 40014 (what WeCom now also sends).
    pub expired_token_errcode: i64,
    /// What `appchat/send` answers for a chat that does not exist: 86001 "invalid chatid" (what
    /// developers report WeCom sends) or 86003 "chat not exist" (what its error table suggests).
    pub unknown_chat_errcode: i64,
    /// AgentIds of apps whose visible range is not the root department: `appchat/create` answers 60011,
    /// and so does reading the root department's members.
    pub partly_visible_apps: Vec<i64>,
}

impl Default for WeComSimConfig {
    fn default() -> Self {
        Self {
            corp_id: "wwsim00000000000001".into(),
            apps: vec![SimApp {
                agent_id: 1000002,
                secret: "sim-app-secret".into(),
                name: "shoprelay 演示应用".into(),
            }],
            users: Vec::new(),
            departments: Vec::new(),
            tags: Vec::new(),
            chats: Vec::new(),
            robot_keys: vec!["sim-robot-key".into()],
            trusted_ips: Vec::new(),
            limits: SimLimits::default(),
            expired_token_errcode: 42001,
            unknown_chat_errcode: 86001,
            partly_visible_apps: Vec::new(),
        }
    }
}

/// A self-built app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimApp {
    /// AgentId.
    pub agent_id: i64,
    /// Secret.
    pub secret: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// A department or tag and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimGroup {
    /// Department or tag id.
    pub id: u64,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Member userids, who receive what is sent to the group.
    #[serde(default)]
    pub members: Vec<String>,
}

/// An app group chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimChat {
    /// Chat id.
    pub chatid: String,
    /// Chat name.
    #[serde(default)]
    pub name: String,
    /// Member userids.
    pub members: Vec<String>,
    /// The app that created it; only this app may send to it (else 86008).
    pub agent_id: i64,
}

/// WeCom's limits as the simulator enforces them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimLimits {
    /// App messages one member receives from one app per minute; the excess is dropped silently.
    pub member_per_minute: u32,
    /// The same per hour.
    pub member_per_hour: u32,
    /// App-chat messages one member receives from one app per minute; the excess is dropped silently.
    pub appchat_member_per_minute: u32,
    /// Messages per robot per minute; the excess is refused with 45009.
    pub robot_per_minute: u32,
    /// Access token lifetime in seconds.
    pub token_ttl_secs: u64,
}

impl Default for SimLimits {
    fn default() -> Self {
        Self {
            member_per_minute: 30,
            member_per_hour: 1000,
            appchat_member_per_minute: 200,
            robot_per_minute: 20,
            token_ttl_secs: 7200,
        }
    }
}
