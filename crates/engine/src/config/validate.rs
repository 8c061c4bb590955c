//! Parsing `shoprelay.toml` with errors that name the line, and the cross-field checks serde cannot do.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::{ChatId, ConfigId, ShopId};
use shoprelay_core::policy::Display;
use shoprelay_core::route::{Route, Target};
use toml::Spanned;

use super::model::{ConfigFile, RetentionConfig, Sections};
use super::registry::{CompiledRule, Registry, RuleCompileError};
use crate::egress::{admit, literal_ip, AddressRefused};

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Where in the document (`routes[1].targets[0]`).
    pub path: String,
    /// The stable code of problems that have one of their own (`webhook.address_refused`).
    pub code: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "{}: ", self.path)?;
        if let Some(code) = self.code {
            write!(f, "[{code}] ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Why a configuration file was rejected. Nothing is changed when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema.
    #[error("{0}")]
    Syntax(String),
    /// The file parses but is inconsistent.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl UserFacing for ConfigError {
    fn code(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "config.unreadable",
            ConfigError::Syntax(_) => "config.syntax",
            ConfigError::Invalid(_) => "config.invalid",
        }
    }

    fn status(&self) -> u16 {
        400
    }

    fn message_zh(&self) -> String {
        match self {
            ConfigError::Read { path, source } => format!("无法读取配置文件 {path}：{source}"),
            ConfigError::Syntax(detail) => format!("配置文件格式错误，未做任何更改：\n{detail}"),
            ConfigError::Invalid(_) => format!("配置文件有以下问题，未做任何更改：\n{self}"),
        }
    }

    fn message_en(&self) -> String {
        match self {
            ConfigError::Read { .. } => self.to_string(),
            ConfigError::Syntax(detail) => {
                format!("The configuration file is malformed; nothing was changed:\n{detail}")
            }
            ConfigError::Invalid(_) => {
                format!("The configuration file has these problems; nothing was changed:\n{self}")
            }
        }
    }
}

/// Why a shop a rule or group names is refused.
fn unknown_shop(shop: ShopId) -> String {
    let tables: Vec<String> = Sections::NAMES.iter().map(|n| format!("[[{n}.shops]]")).collect();
    format!("shop {shop} is not in {}", tables.join(" or "))
}

/// The top-level keys of the file besides the marketplace sections.
const TOP_LEVEL: [&str; 9] = [
    "server",
    "admin",
    "retention",
    "wecom",
    "webhooks",
    "shop_groups",
    "chat",
    "rules",
    "routes",
];

/// A table with the position of each of its values.
type SpannedTable = Spanned<BTreeMap<String, Spanned<toml::Value>>>;

/// Only the positions of tables and their fields, to point problems at lines.
#[derive(Deserialize, Default)]
struct Positions {
    #[serde(default)]
    wecom: SectionPositions,
    #[serde(default)]
    rules: Vec<SpannedTable>,
    #[serde(default)]
    webhooks: Vec<SpannedTable>,
    #[serde(default)]
    shop_groups: Vec<SpannedTable>,
    #[serde(default)]
    chat: Vec<SpannedTable>,
    #[serde(default)]
    routes: Vec<SpannedTable>,
    #[serde(default)]
    server: Option<SpannedTable>,
    #[serde(default)]
    admin: Option<SpannedTable>,
    #[serde(default)]
    retention: Option<SpannedTable>,
}

#[derive(Deserialize, Default)]
struct SectionPositions {
    #[serde(default)]
    apps: Vec<SpannedTable>,
    #[serde(default)]
    shops: Vec<SpannedTable>,
    #[serde(default)]
    robots: Vec<SpannedTable>,
}

/// A top-level value read as a section's positions when it is one (`rules`, an array, is not).
struct AnySection(Option<SectionPositions>);

impl<'de> Deserialize<'de> for AnySection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(AnySection(SectionPositions::deserialize(d).ok()))
    }
}

/// The line of `field` in `table`, else of the table itself.
fn field_line(text: &str, table: Option<&SpannedTable>, field: &str) -> Option<usize> {
    let table = table?;
    let span = table.get_ref().get(field).map_or_else(|| table.span(), |v| v.span());
    Some(line_of(text, span.start))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Parses and checks a configuration file's text.
pub fn parse_config(text: &str) -> Result<ConfigFile, ConfigError> {
    let syntax = |e: toml::de::Error| ConfigError::Syntax(describe_syntax(text, &e));
    let mut file: ConfigFile = toml::from_str(text).map_err(syntax)?;
    file.marketplaces = toml::from_str(text).map_err(syntax)?;
    let mut pos: Positions = toml::from_str(text).unwrap_or_default();
    // The marketplace sections' positions by name (serde's flatten would lose the spans).
    let sections: BTreeMap<String, AnySection> = toml::from_str(text).unwrap_or_default();
    let section_pos = |name: &str| sections.get(name).and_then(|s| s.0.as_ref());
    // `[[routes]]` is the rules' earlier name: both kinds of table are rules, numbered in that order.
    file.routes.append(&mut file.legacy_routes);
    pos.rules.append(&mut pos.routes);
    let mut problems = Vec::new();
    // `table` names where the field sits, so the problem points at its line.
    let mut problem = |table: Option<&SpannedTable>, field: &str, path: String, message: String| {
        problems.push(Problem {
            line: field_line(text, table, field),
            path,
            code: None,
            message,
        })
    };
    // Problems with a code of their own, listed after the others.
    let mut coded = Vec::new();

    let keep = file.retention.unwrap_or_default().pushes_days;
    if keep != 0 && keep < RetentionConfig::MIN_PUSH_DAYS {
        let msg = format!(
            "must be 0 (forever) or at least {} days: a marketplace redelivers a push for up to 3 days, and a push \
             forgotten sooner would be stored and announced twice",
            RetentionConfig::MIN_PUSH_DAYS
        );
        problem(
            pos.retention.as_ref(),
            "pushes_days",
            "retention.pushes_days".into(),
            msg,
        );
    }
    let server = pos.server.as_ref();
    if let Some(url) = &file.server.public_url {
        if !is_http_url(url) {
            problem(
                server,
                "public_url",
                "server.public_url".into(),
                format!("`{url}` is not an http(s) URL"),
            );
        }
    }
    if file.server.listen.parse::<std::net::SocketAddr>().is_err() {
        let msg = format!("`{}` is not a socket address like 127.0.0.1:8080", file.server.listen);
        problem(server, "listen", "server.listen".into(), msg);
    }

    // Serde cannot refuse unknown top-level keys beside the flattened marketplace sections: done here.
    if let Ok(top) = toml::from_str::<toml::Table>(text) {
        for key in top
            .keys()
            .filter(|k| !TOP_LEVEL.contains(&k.as_str()) && !Sections::NAMES.contains(&k.as_str()))
        {
            problem(
                None,
                key,
                key.clone(),
                format!(
                    "unknown section `{key}`; known: {}, {}",
                    TOP_LEVEL.join(", "),
                    Sections::NAMES.join(", ")
                ),
            );
        }
    }
    let mut marketplace_apps = HashSet::new();
    for (section, i, app) in file.marketplaces.apps() {
        let t = section_pos(section).and_then(|p| p.apps.get(i));
        if !marketplace_apps.insert(app.id().clone()) {
            let msg = format!("duplicate id `{}` (app ids are unique across marketplaces)", app.id());
            problem(t, "id", format!("{section}.apps[{i}].id"), msg);
        }
        for (field, msg) in app.problems() {
            problem(t, field, format!("{section}.apps[{i}].{field}"), msg);
        }
    }
    let mut shops = HashSet::new();
    for (section, i, shop) in file.marketplaces.shops() {
        let t = section_pos(section).and_then(|p| p.shops.get(i));
        let own = file
            .marketplaces
            .apps()
            .into_iter()
            .any(|(s, _, a)| s == section && a.id() == &shop.app);
        if !own {
            let msg = format!("no [[{section}.apps]] has id `{}`", shop.app);
            problem(t, "app", format!("{section}.shops[{i}].app"), msg);
        }
        if !shops.insert(shop.shop_id) {
            let msg = format!("shop {} is listed twice", shop.shop_id);
            problem(t, "shop_id", format!("{section}.shops[{i}].shop_id"), msg);
        }
        if shop.access_token.is_some() != shop.refresh_token.is_some() {
            let msg = "give both access_token and refresh_token, or neither".into();
            problem(t, "refresh_token", format!("{section}.shops[{i}]"), msg);
        }
    }
    let mut wecom_apps = HashSet::new();
    for (i, app) in file.wecom.apps.iter().enumerate() {
        let t = pos.wecom.apps.get(i);
        if !wecom_apps.insert(app.id.clone()) {
            problem(
                t,
                "id",
                format!("wecom.apps[{i}].id"),
                format!("duplicate id `{}`", app.id),
            );
        }
        if !is_http_url(&app.api_base) {
            let msg = format!("`{}` is not an http(s) URL", app.api_base);
            problem(t, "api_base", format!("wecom.apps[{i}].api_base"), msg);
        }
        if app.rate_per_minute == 0 {
            problem(
                t,
                "rate_per_minute",
                format!("wecom.apps[{i}].rate_per_minute"),
                "must be at least 1".into(),
            );
        }
        if app.encoding_aes_key.as_ref().is_some_and(|k| k.expose().len() != 43) {
            let msg = "an EncodingAESKey is exactly 43 characters".into();
            problem(t, "encoding_aes_key", format!("wecom.apps[{i}].encoding_aes_key"), msg);
        }
    }
    let mut robots = HashSet::new();
    for (i, robot) in file.wecom.robots.iter().enumerate() {
        let t = pos.wecom.robots.get(i);
        if !robots.insert(robot.id.clone()) {
            problem(
                t,
                "id",
                format!("wecom.robots[{i}].id"),
                format!("duplicate id `{}`", robot.id),
            );
        }
        if !is_http_url(&robot.api_base) {
            let msg = format!("`{}` is not an http(s) URL", robot.api_base);
            problem(t, "api_base", format!("wecom.robots[{i}].api_base"), msg);
        }
    }
    let mut webhooks = HashSet::new();
    for (i, hook) in file.webhooks.iter().enumerate() {
        let t = pos.webhooks.get(i);
        if !webhooks.insert(hook.id.clone()) {
            problem(
                t,
                "id",
                format!("webhooks[{i}].id"),
                format!("duplicate id `{}`", hook.id),
            );
        }
        if !is_http_url(&hook.url) {
            problem(
                t,
                "url",
                format!("webhooks[{i}].url"),
                format!("`{}` is not an http(s) URL", hook.url),
            );
        } else if let Some(refused) = refused_address(&hook.url, hook.allow_private_network) {
            // Names are checked when sending, on what they resolve to then: a DNS answer can change.
            coded.push(Problem {
                line: field_line(text, t, "url"),
                path: format!("webhooks[{i}].url"),
                code: Some(refused.code()),
                message: format!("{} / {}", refused.message_en(), refused.message_zh()),
            });
        }
        if crate::webhook::secret_key(&hook.secret).is_none() {
            let msg = "the secret must be `whsec_` followed by base64 (e.g. from `openssl rand -base64 32`)".into();
            problem(t, "secret", format!("webhooks[{i}].secret"), msg);
        }
        if hook.rate_per_minute == 0 {
            problem(
                t,
                "rate_per_minute",
                format!("webhooks[{i}].rate_per_minute"),
                "must be at least 1".into(),
            );
        }
    }
    let mut shop_groups = HashSet::new();
    for (i, group) in file.shop_groups.iter().enumerate() {
        let t = pos.shop_groups.get(i);
        if !shop_groups.insert(group.id.clone()) {
            let msg = format!("duplicate id `{}`", group.id);
            problem(t, "id", format!("shop_groups[{i}].id"), msg);
        }
        for shop in group.shops.iter().filter(|s| !shops.contains(*s)) {
            let msg = unknown_shop(*shop);
            problem(t, "shops", format!("shop_groups[{i}].shops"), msg);
        }
    }
    let known = Known {
        wecom_apps,
        robots,
        webhooks,
        shops,
        shop_groups,
    };
    let mut route_ids = HashSet::new();
    for (i, route) in file.routes.iter().enumerate() {
        let t = pos.rules.get(i);
        if !route_ids.insert(route.id.clone()) {
            problem(
                t,
                "id",
                format!("rules[{i}].id"),
                format!("duplicate id `{}`", route.id),
            );
        }
        for p in rule_problems(route, &known) {
            problem(t, p.field, format!("rules[{i}]{}", p.path), p.message);
        }
    }
    let mut chat_ids = HashSet::new();
    let mut chat_shops = HashSet::new();
    for (i, chat) in file.chat.iter().enumerate() {
        let t = pos.chat.get(i);
        if !chat_ids.insert(chat.id.clone()) {
            problem(t, "id", format!("chat[{i}].id"), format!("duplicate id `{}`", chat.id));
        }
        for shop in &chat.shops {
            if !chat_shops.insert(*shop) {
                coded.push(Problem {
                    line: field_line(text, t, "shops"),
                    path: format!("chat[{i}].shops"),
                    code: Some("chat.shop_twice"),
                    message: format!("shop {shop} is in two [[chat]] tables / 店铺 {shop} 出现在两个 [[chat]] 中"),
                });
            }
        }
        for p in super::chat::chat_problems(chat, &known) {
            coded.push(Problem {
                line: field_line(text, t, p.field),
                path: format!("chat[{i}]{}", p.path),
                code: Some(p.code),
                message: p.message,
            });
        }
    }
    if let Some(admin) = &file.admin {
        for (j, target) in admin.targets.iter().enumerate() {
            for msg in known.target_problems(target) {
                problem(pos.admin.as_ref(), "targets", format!("admin.targets[{j}]"), msg);
            }
        }
    }
    problems.append(&mut coded);
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// The ids a rule may refer to.
#[derive(Debug, Default)]
pub struct Known {
    /// WeCom app ids.
    pub wecom_apps: HashSet<ConfigId>,
    /// Robot ids.
    pub robots: HashSet<ConfigId>,
    /// Webhook ids.
    pub webhooks: HashSet<ConfigId>,
    /// Shop ids.
    pub shops: HashSet<ShopId>,
    /// Shop group ids.
    pub shop_groups: HashSet<ConfigId>,
}

impl Known {
    /// The ids of a running configuration.
    pub fn of(registry: &Registry) -> Self {
        Self {
            wecom_apps: registry.wecom_apps.keys().cloned().collect(),
            robots: registry.robots.keys().cloned().collect(),
            webhooks: registry.webhooks.keys().cloned().collect(),
            shops: registry.shops.keys().map(|(_, s)| *s).collect(),
            shop_groups: registry.shop_groups.keys().cloned().collect(),
        }
    }

    pub(crate) fn target_problems(&self, t: &Target) -> Vec<String> {
        let mut out = Vec::new();
        match t {
            Target::Appchat { app, chatid, .. } if !self.wecom_apps.contains(app) || ChatId::parse(chatid).is_err() => {
                out.push(format!(
                    "appchat `{chatid}`: app `{app}` must be in [[wecom.apps]] and the chatid 1 to 32 letters or digits"
                ))
            }
            Target::WecomApp { app, .. } if !self.wecom_apps.contains(app) => {
                out.push(format!("no [[wecom.apps]] has id `{app}`"))
            }
            Target::Robot { robot, .. } if !self.robots.contains(robot) => {
                out.push(format!("no [[wecom.robots]] has id `{robot}`"))
            }
            Target::Webhook { webhook } if !self.webhooks.contains(webhook) => {
                out.push(format!("no [[webhooks]] has id `{webhook}`"))
            }
            _ => {}
        }
        if !t.has_recipients() {
            out.push("a wecom_app target needs users, departments, tags or all = true".into());
        }
        if let Target::Appchat {
            create: Some(create), ..
        } = t
        {
            if create.name.trim().is_empty() || create.name.chars().count() > 50 {
                out.push("create.name: a group name of 1 to 50 characters".into());
            }
            if !(2..=2000).contains(&create.members.len()) {
                out.push("create.members: a group chat needs 2 to 2000 members".into());
            }
            if create.owner.as_ref().is_some_and(|o| !create.members.contains(o)) {
                out.push("create.owner must be one of create.members".into());
            }
        }
        if let Target::Robot { mention_mobiles, .. } = t {
            for m in mention_mobiles {
                let digits = m.strip_prefix('+').unwrap_or(m);
                if m != "@all" && (digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit())) {
                    out.push(format!(
                        "`{m}` is not a mobile number (digits, optionally with a leading +) or @all"
                    ));
                }
            }
        }
        out
    }
}

/// One problem of a rule: the field it sits in, the path below the rule (`.targets[0]`), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblemAt {
    /// The rule's field (for the line number).
    pub field: &'static str,
    /// Path below the rule, starting with `.` (or empty).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Everything wrong with one rule, given the ids it may refer to (used by `apply` and the rules API).
pub fn rule_problems(route: &Route, known: &Known) -> Vec<RuleProblemAt> {
    let mut out = Vec::new();
    let mut push =
        |field: &'static str, path: String, message: String| out.push(RuleProblemAt { field, path, message });
    if route.targets.is_empty() && route.assign.is_none() {
        push(
            "targets",
            ".targets".into(),
            "a rule needs at least one target (or `assign`)".into(),
        );
    }
    for shop in &route.shops {
        if !known.shops.contains(shop) {
            push("shops", ".shops".into(), unknown_shop(*shop));
        }
    }
    for group in &route.shop_groups {
        if !known.shop_groups.contains(group) {
            push(
                "shop_groups",
                ".shop_groups".into(),
                format!("no [[shop_groups]] has id `{group}`"),
            );
        }
    }
    for (j, target) in route.targets.iter().enumerate() {
        for msg in known.target_problems(target) {
            push("targets", format!(".targets[{j}]"), msg);
        }
    }
    if let Some(assign) = &route.assign {
        if !known.wecom_apps.contains(&assign.app) {
            push(
                "assign",
                ".assign.app".into(),
                format!("no [[wecom.apps]] has id `{}`", assign.app),
            );
        }
        if assign.members.is_empty() {
            push(
                "assign",
                ".assign.members".into(),
                "list at least one member to assign to".into(),
            );
        }
        let mut seen = HashSet::new();
        for (j, m) in assign.members.iter().enumerate() {
            if !seen.insert(m.user.as_str().to_lowercase()) {
                push(
                    "assign",
                    format!(".assign.members[{j}]"),
                    format!("`{}` is listed twice", m.user),
                );
            }
        }
    }
    if let Some(escalate) = &route.escalate {
        if escalate.after_minutes == 0 {
            push(
                "escalate",
                ".escalate.after_minutes".into(),
                "must be at least 1".into(),
            );
        }
        if escalate.targets.is_empty() {
            push(
                "escalate",
                ".escalate.targets".into(),
                "name who hears about it (a supervisor)".into(),
            );
        }
        for (j, target) in escalate.targets.iter().enumerate() {
            for msg in known.target_problems(target) {
                push("escalate", format!(".escalate.targets[{j}]"), msg);
            }
        }
    }
    if route.personal_data == Display::Full {
        for (j, target) in route.targets.iter().enumerate() {
            if !target.names_people() {
                push(
                    "personal_data",
                    format!(".targets[{j}]"),
                    "`personal_data = \"full\"` shows buyers' phone and address in full: every target must \
                     name members by userid (no departments, tags, @all, robots or group chats) or be a webhook"
                        .into(),
                );
            }
        }
    }
    if route.stalled_after_days == Some(0) {
        push(
            "stalled_after_days",
            ".stalled_after_days".into(),
            "must be at least 1".into(),
        );
    }
    if route.ship_risk_hours == Some(0) {
        push(
            "ship_risk_hours",
            ".ship_risk_hours".into(),
            "must be at least 1".into(),
        );
    }
    match CompiledRule::compile(route) {
        Ok(_) => {}
        Err(RuleCompileError::Condition(e)) => {
            let at = e
                .position()
                .map(|(l, c)| format!(" (expression line {l}, column {c})"))
                .unwrap_or_default();
            push("when", format!(".when.{}", e.path), format!("{}{at}", e.problem));
        }
        Err(RuleCompileError::Template(e)) => push("template", ".template".into(), e.to_string()),
        Err(RuleCompileError::Schedule(e)) => {
            let field = if e.path.starts_with("assign") {
                "assign"
            } else {
                "quiet_hours"
            };
            push(field, format!(".{}", e.path), e.problem.to_string());
        }
    }
    out
}

/// "line N, column M: message" — without the offending source line, which may hold a secret.
fn describe_syntax(text: &str, err: &toml::de::Error) -> String {
    match err.span() {
        Some(span) => {
            let line = line_of(text, span.start);
            let column = span.start - text[..span.start.min(text.len())].rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {}", err.message())
        }
        None => err.message().to_owned(),
    }
}

/// The refusal of a webhook URL written with an address webhooks may not reach.
fn refused_address(raw: &str, allow_private_network: bool) -> Option<AddressRefused> {
    let url = url::Url::parse(raw).ok()?;
    let ip = literal_ip(&url)?;
    admit(&ip.to_string(), &[ip], allow_private_network).err()
}

fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}
