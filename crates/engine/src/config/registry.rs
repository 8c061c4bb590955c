//! The applied configuration: stored as objects with sealed secrets, loaded as an indexed [`Registry`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use shoprelay_clock::SharedClock;
use shoprelay_core::ids::{ConfigId, ShopId, WeComUserId};
use shoprelay_core::route::Route;
use shoprelay_core::rules::{CompiledCondition, MessageTemplate, RuleError, TemplateError, Window};
use shoprelay_core::secret::{Secret, SecretBox};
use shoprelay_marketplaces::adapter::MarketplaceApp;
use shoprelay_marketplaces::config::{app_kind, AppConfig};
use shoprelay_marketplaces::platform::Marketplaces;
use shoprelay_store::{ConfigObject, StoreError};

use super::chat::{index_chat, ChatConfig, CompiledChat};
use super::model::*;

/// Top-level fields sealed at rest, whatever the object kind.
/// The stored kind of every app ends so (`shopee_app`, `wecom_app`).
const APP_SUFFIX: &str = "_app";

/// Whether a top-level field of an object of `kind` is sealed at rest: the known secret fields, and in a
/// marketplace app every `*_key`, `*_secret` and `*_token` (each platform names its keys its own way).
fn is_secret_field(kind: &str, field: &str) -> bool {
    SECRET_FIELDS.contains(&field)
        || (kind.ends_with(APP_SUFFIX)
            && kind != WECOM_APP
            && (field.ends_with("_key") || field.ends_with("_secret") || field.ends_with("_token")))
}

const SECRET_FIELDS: [&str; 7] = [
    "partner_key",
    "push_key",
    "secret",
    "callback_token",
    "encoding_aes_key",
    "key",
    "bot_secret",
];

const SHOP: &str = "shop";
const WECOM_APP: &str = "wecom_app";
const ROBOT: &str = "robot";
/// The stored kind of a message rule.
pub const RULE_KIND: &str = "route";
const ROUTE: &str = RULE_KIND;
const WEBHOOK: &str = "webhook";
const ADMIN: &str = "admin";
const RETENTION: &str = "retention";
const SHOP_GROUP: &str = "shop_group";
const CHAT: &str = "chat";

/// A rule's condition, template and schedules, compiled.
#[derive(Debug, Default)]
pub struct CompiledRule {
    /// The condition, when the rule has one.
    pub condition: Option<CompiledCondition>,
    /// The template, when the rule has one.
    pub template: Option<MessageTemplate>,
    /// The quiet hours, when the rule has them.
    pub quiet: Option<Window>,
    /// Each assignment member's working hours (`None`: always on duty), in the rule's order.
    pub duty: Vec<(WeComUserId, Option<Window>)>,
    /// The shops selected, with shop groups expanded; `None` selects every shop.
    pub shops: Option<HashSet<ShopId>>,
}

impl CompiledRule {
    /// Whether the rule selects the event's shop.
    pub fn selects_shop(&self, shop: Option<ShopId>) -> bool {
        self.shops
            .as_ref()
            .is_none_or(|set| shop.is_some_and(|s| set.contains(&s)))
    }

    /// Expands the rule's shops and shop groups against the configured groups.
    pub fn with_shops(mut self, route: &Route, groups: &HashMap<ConfigId, Vec<ShopId>>) -> Self {
        self.shops = if route.shops.is_empty() && route.shop_groups.is_empty() {
            None
        } else {
            let mut set: HashSet<ShopId> = route.shops.iter().copied().collect();
            for group in &route.shop_groups {
                set.extend(groups.get(group).into_iter().flatten().copied());
            }
            Some(set)
        };
        self
    }
}

/// Why a rule's condition or template does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleCompileError {
    /// The condition.
    #[error(transparent)]
    Condition(#[from] RuleError),
    /// The template.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Quiet hours or working hours.
    #[error("`{}`: {}", .0.path, .0.problem)]
    Schedule(RuleError),
}

impl CompiledRule {
    /// Compiles a rule's condition and template.
    pub fn compile(route: &Route) -> Result<Self, RuleCompileError> {
        let quiet = route
            .quiet_hours
            .as_ref()
            .map(|w| Window::compile(w, &[], "quiet_hours"))
            .transpose()
            .map_err(RuleCompileError::Schedule)?;
        let mut duty = Vec::new();
        for (i, member) in route.assign.iter().flat_map(|a| a.members.iter()).enumerate() {
            let hours = match &member.hours {
                Some(w) => Some(
                    Window::compile(w, &member.days, &format!("assign.members[{i}].hours"))
                        .map_err(RuleCompileError::Schedule)?,
                ),
                None if !member.days.is_empty() => {
                    let all_day = shoprelay_core::rules::condition::TimeWindow {
                        from: "00:00".into(),
                        to: "24:00".into(),
                    };
                    Some(
                        Window::compile(&all_day, &member.days, &format!("assign.members[{i}]"))
                            .map_err(RuleCompileError::Schedule)?,
                    )
                }
                None => None,
            };
            duty.push((member.user.clone(), hours));
        }
        Ok(Self {
            condition: route
                .when
                .as_ref()
                .map(|c| CompiledCondition::compile(c, &Marketplaces))
                .transpose()?,
            template: route
                .template
                .as_ref()
                .map(|t| MessageTemplate::compile(route.id.as_str(), t))
                .transpose()?,
            quiet,
            duty,
            shops: None,
        })
        .map(|rule| rule.with_shops(route, &HashMap::new()))
    }
}

/// Compiles every rule; one that does not compile (validated files never have one) is left out of routing
/// and logged, so one bad rule cannot stop the others.
fn compile_rules(routes: &[Route], groups: &HashMap<ConfigId, Vec<ShopId>>) -> HashMap<ConfigId, Arc<CompiledRule>> {
    let mut out = HashMap::new();
    for route in routes {
        match CompiledRule::compile(route) {
            Ok(rule) => {
                out.insert(route.id.clone(), Arc::new(rule.with_shops(route, groups)));
            }
            Err(err) => tracing::error!(rule = %route.id, error = %err, "rule does not compile; it matches nothing"),
        }
    }
    out
}

/// The configuration the running service works from, indexed for lookups.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Marketplace apps by id, whatever their platform.
    pub apps: HashMap<ConfigId, Arc<dyn AppConfig>>,
    /// Shops by (app, shop id).
    pub shops: HashMap<(ConfigId, ShopId), ShopConfig>,
    /// WeCom apps by id.
    pub wecom_apps: HashMap<ConfigId, WeComAppConfig>,
    /// Robots by id.
    pub robots: HashMap<ConfigId, RobotConfig>,
    /// Outbound webhooks by id.
    pub webhooks: HashMap<ConfigId, WebhookConfig>,
    /// Message rules, ordered by id.
    pub routes: Vec<Route>,
    /// Each rule's condition and template, compiled once.
    pub compiled: HashMap<ConfigId, Arc<CompiledRule>>,
    /// Admin notice targets.
    pub admin: Option<AdminConfig>,
    /// How long finished rows are kept, when the file says (see [`Registry::retention`]).
    pub retention: Option<RetentionConfig>,
    /// Shop groups by id.
    pub shop_groups: HashMap<ConfigId, Vec<ShopId>>,
    /// `[[chat]]` tables by id.
    pub chat: HashMap<ConfigId, ChatConfig>,
    /// Each shop's customer-service settings, compiled.
    pub chat_shops: HashMap<ShopId, Arc<CompiledChat>>,
    /// The marketplace apps as the middle talks to them (filled by [`Registry::connect`]).
    pub marketplaces: MarketplaceApps,
    /// shoprelay's public base URL (`[server] public_url`), for the links cards open; set by the engine.
    pub public_url: String,
}

/// The configured marketplace apps by id, each behind the neutral interface.
#[derive(Clone, Default)]
pub struct MarketplaceApps(HashMap<ConfigId, Arc<dyn MarketplaceApp>>);

impl MarketplaceApps {
    /// The app with this id.
    pub fn get(&self, id: &ConfigId) -> Option<&Arc<dyn MarketplaceApp>> {
        self.0.get(id)
    }

    /// Every app.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn MarketplaceApp>> {
        self.0.values()
    }
}

impl std::fmt::Debug for MarketplaceApps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.0.values().map(|a| format!("{}:{}", a.platform(), a.id())))
            .finish()
    }
}

impl Registry {
    /// How long finished rows are kept: the file's `[retention]`, else the defaults.
    pub fn retention(&self) -> RetentionConfig {
        self.retention.unwrap_or_default()
    }

    /// Builds the registry straight from a parsed file (tests, demo).
    pub fn from_file(file: &ConfigFile) -> Self {
        let chat: HashMap<ConfigId, ChatConfig> = file.chat.iter().map(|c| (c.id.clone(), c.clone())).collect();
        let mut routes = file.routes.clone();
        routes.sort_by(|a, b| a.id.cmp(&b.id));
        let shop_groups: HashMap<ConfigId, Vec<ShopId>> = file
            .shop_groups
            .iter()
            .map(|g| (g.id.clone(), g.shops.clone()))
            .collect();
        Self {
            compiled: compile_rules(&routes, &shop_groups),
            shop_groups,
            apps: file
                .marketplaces
                .app_configs()
                .into_iter()
                .map(|a| (a.id().clone(), a))
                .collect(),
            shops: file
                .marketplaces
                .shops()
                .into_iter()
                .map(|(_, _, s)| ((s.app.clone(), s.shop_id), without_tokens(s)))
                .collect(),
            wecom_apps: file.wecom.apps.iter().map(|a| (a.id.clone(), a.clone())).collect(),
            robots: file.wecom.robots.iter().map(|r| (r.id.clone(), r.clone())).collect(),
            webhooks: file.webhooks.iter().map(|w| (w.id.clone(), w.clone())).collect(),
            routes,
            admin: file.admin.clone(),
            retention: file.retention,
            chat_shops: index_chat(&chat),
            chat,
            marketplaces: MarketplaceApps::default(),
            public_url: String::new(),
        }
    }

    /// The customer-service settings of a shop, when a `[[chat]]` table names it.
    pub fn chat_of(&self, shop: ShopId) -> Option<&Arc<CompiledChat>> {
        self.chat_shops.get(&shop)
    }

    /// The objects to store for this configuration, secrets sealed, each with a keyed fingerprint.
    pub fn to_objects(&self, secrets: &SecretBox) -> Result<Vec<ConfigObject>, StoreError> {
        let mut out = Vec::new();
        for a in self.apps.values() {
            let value = a.to_value().map_err(corrupt)?;
            out.push(seal_object(secrets, &app_kind(a.platform()), a.id().as_str(), &value)?);
        }
        for s in self.shops.values() {
            out.push(seal_object(secrets, SHOP, &format!("{}/{}", s.app, s.shop_id), s)?);
        }
        for a in self.wecom_apps.values() {
            out.push(seal_object(secrets, WECOM_APP, a.id.as_str(), a)?);
        }
        for r in self.robots.values() {
            out.push(seal_object(secrets, ROBOT, r.id.as_str(), r)?);
        }
        for w in self.webhooks.values() {
            out.push(seal_object(secrets, WEBHOOK, w.id.as_str(), w)?);
        }
        for r in &self.routes {
            out.push(seal_object(secrets, ROUTE, r.id.as_str(), r)?);
        }
        if let Some(admin) = &self.admin {
            out.push(seal_object(secrets, ADMIN, ADMIN, admin)?);
        }
        if let Some(retention) = &self.retention {
            out.push(seal_object(secrets, RETENTION, RETENTION, retention)?);
        }
        for c in self.chat.values() {
            out.push(seal_object(secrets, CHAT, c.id.as_str(), c)?);
        }
        for (id, shops) in &self.shop_groups {
            let group = ShopGroupConfig {
                id: id.clone(),
                shops: shops.clone(),
            };
            out.push(seal_object(secrets, SHOP_GROUP, id.as_str(), &group)?);
        }
        out.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
        Ok(out)
    }

    /// Rebuilds the registry from stored objects.
    pub fn from_objects(objects: &[ConfigObject], secrets: &SecretBox) -> Result<Self, StoreError> {
        let mut reg = Registry::default();
        for o in objects {
            match o.kind.as_str() {
                kind if kind.ends_with(APP_SUFFIX) && kind != WECOM_APP => {
                    let value: Value = open_object(secrets, o)?;
                    let app = Sections::open_app(kind, value)
                        .ok_or_else(|| StoreError::Corrupt {
                            table: "config_objects",
                            reason: format!("no marketplace has apps of kind {kind}"),
                        })?
                        .map_err(corrupt)?;
                    reg.apps.insert(app.id().clone(), app);
                }
                SHOP => {
                    let s: ShopConfig = open_object(secrets, o)?;
                    reg.shops.insert((s.app.clone(), s.shop_id), s);
                }
                WECOM_APP => {
                    let a: WeComAppConfig = open_object(secrets, o)?;
                    reg.wecom_apps.insert(a.id.clone(), a);
                }
                ROBOT => {
                    let r: RobotConfig = open_object(secrets, o)?;
                    reg.robots.insert(r.id.clone(), r);
                }
                WEBHOOK => {
                    let w: WebhookConfig = open_object(secrets, o)?;
                    reg.webhooks.insert(w.id.clone(), w);
                }
                ROUTE => reg.routes.push(open_object(secrets, o)?),
                ADMIN => reg.admin = Some(open_object(secrets, o)?),
                RETENTION => reg.retention = Some(open_object(secrets, o)?),
                CHAT => {
                    let c: ChatConfig = open_object(secrets, o)?;
                    reg.chat.insert(c.id.clone(), c);
                }
                SHOP_GROUP => {
                    let g: ShopGroupConfig = open_object(secrets, o)?;
                    reg.shop_groups.insert(g.id, g.shops);
                }
                other => {
                    return Err(StoreError::Corrupt {
                        table: "config_objects",
                        reason: format!("unknown kind {other}"),
                    })
                }
            }
        }
        reg.routes.sort_by(|a, b| a.id.cmp(&b.id));
        reg.compiled = compile_rules(&reg.routes, &reg.shop_groups);
        reg.chat_shops = index_chat(&reg.chat);
        Ok(reg)
    }

    /// A rule as the object stored for it.
    pub fn rule_object(secrets: &SecretBox, rule: &Route) -> Result<ConfigObject, StoreError> {
        seal_object(secrets, ROUTE, rule.id.as_str(), rule)
    }

    /// A shop as the object stored for it (the console corrects its `legal_entity`).
    pub fn shop_object(secrets: &SecretBox, shop: &ShopConfig) -> Result<ConfigObject, StoreError> {
        seal_object(secrets, SHOP, &format!("{}/{}", shop.app, shop.shop_id), shop)
    }

    /// A marketplace app as the object stored for it (the console's onboarding saves one typed in).
    pub fn app_object(secrets: &SecretBox, app: &dyn AppConfig) -> Result<ConfigObject, StoreError> {
        let value = app.to_value().map_err(corrupt)?;
        seal_object(secrets, &app_kind(app.platform()), app.id().as_str(), &value)
    }

    /// A WeCom app as the object stored for it (the console's onboarding saves one it tested).
    pub fn wecom_app_object(secrets: &SecretBox, app: &WeComAppConfig) -> Result<ConfigObject, StoreError> {
        seal_object(secrets, WECOM_APP, app.id.as_str(), app)
    }

    /// A group robot as the object stored for it (the console's onboarding saves one it tested).
    pub fn robot_object(secrets: &SecretBox, robot: &RobotConfig) -> Result<ConfigObject, StoreError> {
        seal_object(secrets, ROBOT, robot.id.as_str(), robot)
    }

    /// The shop, when configured.
    pub fn shop(&self, app: &ConfigId, shop: ShopId) -> Option<&ShopConfig> {
        self.shops.get(&(app.clone(), shop))
    }

    /// The marketplace of a configured app.
    pub fn platform_of(&self, app: &ConfigId) -> Option<shoprelay_core::event::Platform> {
        self.apps.get(app).map(|a| a.platform())
    }

    /// Builds the marketplace apps the middle talks to, sharing one HTTP client and clock.
    pub fn connect(mut self, http: &reqwest::Client, clock: SharedClock) -> Self {
        let apps = self
            .apps
            .values()
            .map(|cfg| (cfg.id().clone(), cfg.connect(http, clock.clone())))
            .collect();
        self.marketplaces = MarketplaceApps(apps);
        self
    }
}

/// Tokens given in the file go to the shop's authorization record, never into the config object.
fn without_tokens(s: &ShopConfig) -> ShopConfig {
    ShopConfig {
        access_token: None,
        refresh_token: None,
        ..s.clone()
    }
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "config_objects",
        reason: reason.to_string(),
    }
}

fn seal_object<T: Serialize>(secrets: &SecretBox, kind: &str, id: &str, value: &T) -> Result<ConfigObject, StoreError> {
    let mut json = serde_json::to_value(value).map_err(corrupt)?;
    let plain = serde_json::to_vec(&json).map_err(corrupt)?;
    let fingerprint = secrets.fingerprint(&plain);
    if let Value::Object(map) = &mut json {
        for (field, value) in map.iter_mut() {
            if let (true, Value::String(s)) = (is_secret_field(kind, field), value) {
                *s = secrets.seal(&Secret::new(s.as_str()));
            }
        }
    }
    Ok(ConfigObject {
        kind: kind.to_owned(),
        id: id.to_owned(),
        body: json.to_string(),
        fingerprint,
    })
}

fn open_object<T: DeserializeOwned>(secrets: &SecretBox, o: &ConfigObject) -> Result<T, StoreError> {
    let mut json: Value = serde_json::from_str(&o.body).map_err(corrupt)?;
    if let Value::Object(map) = &mut json {
        for (field, value) in map.iter_mut() {
            if let (true, Value::String(s)) = (is_secret_field(&o.kind, field), value) {
                *s = secrets.open(s)?.expose().to_owned();
            }
        }
    }
    serde_json::from_value(json).map_err(corrupt)
}
