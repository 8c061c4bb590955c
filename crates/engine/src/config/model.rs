//! The operator's configuration: what `shoprelay.toml` holds, typed. The same types are the runtime view.

use serde::{Deserialize, Serialize, Serializer};
use shoprelay_core::error::Lang;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::route::Route;
use shoprelay_core::secret::Secret;
pub use shoprelay_marketplaces::config::{Section, Sections, ShopConfig};
use shoprelay_wecom::longconn::{BotCredentials, DEFAULT_LONG_CONNECTION_URL};

/// Where the server listens and keeps its data. Read by `serve`; not stored in the database.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Socket address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The URL the marketplaces call; push signatures cover it, so it must be exact.
    pub public_url: Option<String>,
    /// `sqlite://PATH` (default `sqlite://shoprelay.db`) or `postgres://…`.
    #[serde(default = "default_database")]
    pub database: String,
    /// Console and message language.
    #[serde(default)]
    pub language: Lang,
    /// Serve `/metrics` without the API token (default: behind it, when there is one).
    #[serde(default)]
    pub metrics_public: bool,
    /// Connections one source address may hold at once; 0 turns the per-source cap off (behind a
    /// reverse proxy every connection comes from the proxy).
    #[serde(default = "default_connections_per_source")]
    pub connections_per_source: usize,
    /// Refused requests (bad signatures, wrong tokens, unknown paths) one source may cause per minute
    /// before it is answered 429 for a while; 0 turns this off. Genuine requests are never counted.
    #[serde(default = "default_refused_per_minute")]
    pub refused_per_minute: u32,
    /// Reverse proxies in front of shoprelay: for connections from them, the source is read from
    /// `X-Forwarded-For` (per-source throttling; set `connections_per_source = 0` too).
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

fn default_refused_per_minute() -> u32 {
    120
}

fn default_connections_per_source() -> usize {
    256
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            database: default_database(),
            language: Lang::Zh,
            metrics_public: false,
            connections_per_source: default_connections_per_source(),
            refused_per_minute: default_refused_per_minute(),
            trusted_proxies: Vec::new(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_database() -> String {
    "sqlite://shoprelay.db".into()
}

fn expose<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

fn expose_opt<S: Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(v) => s.serialize_some(v.expose()),
        None => s.serialize_none(),
    }
}

/// A WeCom self-built app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeComAppConfig {
    /// Operator-chosen id.
    pub id: ConfigId,
    /// Corp id (`ww…`).
    pub corp_id: String,
    /// The app's Secret.
    #[serde(serialize_with = "expose")]
    pub secret: Secret,
    /// The app's AgentId.
    pub agent_id: i64,
    /// API host.
    #[serde(default = "default_wecom_api")]
    pub api_base: String,
    /// Callback Token (receiving messages).
    #[serde(default, serialize_with = "expose_opt", skip_serializing_if = "Option::is_none")]
    pub callback_token: Option<Secret>,
    /// Callback EncodingAESKey.
    #[serde(default, serialize_with = "expose_opt", skip_serializing_if = "Option::is_none")]
    pub encoding_aes_key: Option<Secret>,
    /// The AI bot whose long connection receives this app's members' messages and card clicks, for a
    /// server without a public address (instead of the callback URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// The bot's long-connection secret.
    #[serde(default, serialize_with = "expose_opt", skip_serializing_if = "Option::is_none")]
    pub bot_secret: Option<Secret>,
    /// Where the long connection dials (WeCom's `wss://openws.work.weixin.qq.com` when not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_connection_url: Option<String>,
    /// Messages per minute this app may send (WeCom's budget for the integration).
    #[serde(default = "default_app_budget")]
    pub rate_per_minute: u32,
}

impl WeComAppConfig {
    /// Whether members' card clicks reach shoprelay (a callback URL or a long connection is configured),
    /// so its cards can carry real buttons.
    pub fn receives_clicks(&self) -> bool {
        (self.callback_token.is_some() && self.encoding_aes_key.is_some()) || self.long_connection().is_some()
    }

    /// The AI bot's long-connection credentials, when the app receives through one.
    pub fn long_connection(&self) -> Option<BotCredentials> {
        let (Some(bot_id), Some(secret)) = (&self.bot_id, &self.bot_secret) else {
            return None;
        };
        Some(BotCredentials {
            url: self
                .long_connection_url
                .clone()
                .unwrap_or_else(|| DEFAULT_LONG_CONNECTION_URL.to_owned()),
            bot_id: bot_id.clone(),
            secret: secret.clone(),
        })
    }
}

fn default_wecom_api() -> String {
    "https://qyapi.weixin.qq.com".into()
}

fn default_app_budget() -> u32 {
    200
}

/// A group robot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// Operator-chosen id.
    pub id: ConfigId,
    /// The webhook key.
    #[serde(serialize_with = "expose")]
    pub key: Secret,
    /// API host.
    #[serde(default = "default_wecom_api")]
    pub api_base: String,
}

/// A signed outbound webhook to the seller's own system (Standard Webhooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Operator-chosen id.
    pub id: ConfigId,
    /// Where events are POSTed.
    pub url: String,
    /// The signing secret, `whsec_` + base64 (share it with the receiver).
    #[serde(serialize_with = "expose")]
    pub secret: Secret,
    /// Requests per minute the receiver accepts.
    #[serde(default = "default_webhook_budget")]
    pub rate_per_minute: u32,
    /// Lets this webhook reach loopback, private and link-local addresses (a receiver on the LAN);
    /// cloud metadata, unspecified and multicast addresses stay refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_private_network: bool,
}

fn default_webhook_budget() -> u32 {
    600
}

/// A named set of shops rules can select together (`shop_groups = ["sea"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopGroupConfig {
    /// Operator-chosen id.
    pub id: ConfigId,
    /// The shops in it.
    pub shops: Vec<ShopId>,
}

/// Who hears about problems an admin must fix (a shop needing re-authorization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Where admin notices go.
    pub targets: Vec<shoprelay_core::route::Target>,
}

/// `[retention]`: how many days finished rows are kept; 0 keeps them forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Raw pushes once processed (they also recognise Shopee's retries: at least 4 days).
    pub pushes_days: u32,
    /// Neutral events (order snapshots, buyer details).
    pub events_days: u32,
    /// Rendered messages once delivered, folded or dead (dead letters can be replayed until then).
    pub deliveries_days: u32,
    /// Assigned items once acknowledged or escalated.
    pub tasks_days: u32,
    /// Audit entries (the evidence in disputes).
    pub audit_days: u32,
    /// WeCom callbacks (members' messages and card clicks), once received.
    pub callbacks_days: u32,
    /// Conversations with buyers and their messages (the chat archive), after their last activity.
    pub conversations_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            pushes_days: 30,
            events_days: 90,
            deliveries_days: 90,
            tasks_days: 90,
            audit_days: 365,
            callbacks_days: 90,
            conversations_days: 180,
        }
    }
}

impl RetentionConfig {
    /// Shopee retries a push for 3 hours and keeps lost pushes 3 days: a push forgotten sooner than
    /// that could be stored and announced twice.
    pub const MIN_PUSH_DAYS: u32 = 4;

    /// Days kept for `target` (0: forever).
    pub fn days(&self, target: shoprelay_store::RetentionTarget) -> u32 {
        use shoprelay_store::RetentionTarget as T;
        match target {
            T::Pushes => self.pushes_days,
            T::Events => self.events_days,
            T::Deliveries => self.deliveries_days,
            T::Tasks => self.tasks_days,
            T::Audit => self.audit_days,
            T::Callbacks => self.callbacks_days,
            T::Conversations => self.conversations_days,
        }
    }
}

/// The WeCom section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeComSection {
    /// Self-built apps.
    #[serde(default)]
    pub apps: Vec<WeComAppConfig>,
    /// Group robots.
    #[serde(default)]
    pub robots: Vec<RobotConfig>,
}

/// The whole file. Unknown top-level keys are refused by [`super::parse_config`], which knows the
/// marketplace sections.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ConfigFile {
    /// `[server]`.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[admin]`.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// `[retention]`; the defaults when absent.
    #[serde(default)]
    pub retention: Option<RetentionConfig>,
    /// `[shopee]`, `[lazada]`, …: each marketplace's apps and shops (read on their own by
    /// [`super::parse_config`], so their errors keep their lines).
    #[serde(skip)]
    pub marketplaces: Sections,
    /// `[wecom]`.
    #[serde(default)]
    pub wecom: WeComSection,
    /// `[[webhooks]]`: the seller's own systems.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// `[[shop_groups]]`: named sets of shops.
    #[serde(default)]
    pub shop_groups: Vec<ShopGroupConfig>,
    /// `[[chat]]`: customer service per shop (automatic answers, response-time watch).
    #[serde(default)]
    pub chat: Vec<super::ChatConfig>,
    /// `[[rules]]`, the message rules.
    #[serde(default, rename = "rules")]
    pub routes: Vec<Route>,
    /// `[[routes]]`, the rules' earlier name: merged into `routes` when the file is parsed.
    #[serde(default, rename = "routes")]
    pub legacy_routes: Vec<Route>,
}
