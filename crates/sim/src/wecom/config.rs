//! What the simulated corp looks like: apps, members, departments, tags, chats, robots, limits, and
//! where each app's callbacks go.
//!
//! Every field has a default so a TOML or JSON file only states what differs.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::longconn::SimBot;

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
    /// Apps' callback settings (WeCom's "接收消息" page); also settable at run time.
    pub callbacks: Vec<SimCallback>,
    /// How long a callback may take to answer before WeCom gives up on that attempt (WeCom: 5 s).
    pub callback_timeout_ms: u64,
    /// How many more times a callback not answered 200 is sent (WeCom: 3).
    pub callback_retries: u32,
    /// How long a template card's response_code can update it (WeCom: 72 hours).
    pub response_code_ttl_secs: u64,
    /// What `update_template_card` answers for a response_code that is unknown, spent or expired. WeCom's
    /// documentation names no code for this; 40058 "invalid parameter" unless told otherwise.
    pub invalid_response_code_errcode: i64,
    /// AI bots that take long connections; an app bound to one has its members' messages and clicks
    /// pushed over the bot's connection instead of its callback URL.
    pub bots: Vec<SimBot>,
    /// Domains the apps trust for web login redirects. Empty: every domain; else the login page refuses
    /// any other `redirect_uri` with 50001.
    pub login_domains: Vec<String>,
    /// How long a login code from a scan can be exchanged (WeCom: 5 minutes).
    pub login_code_ttl_secs: u64,
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
            callbacks: Vec::new(),
            callback_timeout_ms: 5_000,
            callback_retries: 3,
            response_code_ttl_secs: 72 * 3600,
            invalid_response_code_errcode: 40058,
            bots: Vec::new(),
            login_domains: Vec::new(),
            login_code_ttl_secs: 300,
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

/// Where an app's callbacks go, and the secrets they are signed and encrypted with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimCallback {
    /// The app (AgentId).
    pub agent_id: i64,
    /// The callback URL; WeCom adds `msg_signature`, `timestamp` and `nonce` to its query.
    pub url: String,
    /// The Token.
    pub token: String,
    /// The 43-character EncodingAESKey.
    pub encoding_aes_key: String,
}

impl std::fmt::Debug for SimCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Token and key are secrets even in a simulator's logs.
        f.debug_struct("SimCallback")
            .field("agent_id", &self.agent_id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
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
