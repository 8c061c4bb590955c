//! Message rules edited one at a time (the API, the console): listed with their counters, saved after
//! the same checks as `shoprelay apply`, enabled, disabled and deleted; the stored events a dry run
//! starts from; and the dry run itself — every rule in force, or one rule being edited alone (the
//! preview) — which says what each destination would get without sending anything. A saved rule is in
//! force at once on this replica, within `config_reload` on the others.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;
use shoprelay_core::error::UserFacing;
use shoprelay_core::event::{Event, EventKind};
use shoprelay_core::ids::ConfigId;
use shoprelay_core::route::Route;
use shoprelay_store::{AuditFilter, AuditKind, ConfigChange, ConsoleAction, ConsoleUser, Role};

use super::console::{require, ConsoleError};
use crate::config::{rule_problems, CompiledRule, Known, Registry, RULE_KIND};
use crate::render::Payload;
use crate::routing::{self, RuleDecision};
use crate::{Engine, EngineError};

/// A rule's counters: events matched (`matched`) and its deliveries per state (`delivered`, `pending`,
/// `dead` — also as `failed` — and `coalesced`).
pub type Counters = BTreeMap<String, i64>;

/// Why a rule operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// No rule has this id.
    #[error("no rule `{0}`")]
    NotFound(String),
    /// The rule cannot be saved: every problem, with where it is.
    #[error("invalid rule: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// No stored event matches the dry run's order (and kind).
    #[error("no stored event of order {0}")]
    NoSuchEvent(String),
    /// Storage or reloading the configuration failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The console user may not change rules.
    #[error(transparent)]
    Console(#[from] ConsoleError),
}

impl From<shoprelay_store::StoreError> for RuleError {
    fn from(err: shoprelay_store::StoreError) -> Self {
        Self::Engine(err.into())
    }
}

impl UserFacing for RuleError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "rule.not_found",
            Self::Invalid(_) => "rule.invalid",
            Self::NoSuchEvent(_) => "rule.no_such_event",
            Self::Engine(e) => e.code(),
            Self::Console(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) | Self::NoSuchEvent(_) => 404,
            Self::Invalid(_) => 422,
            Self::Engine(e) => e.status(),
            Self::Console(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::NotFound(id) => format!("没有 id 为 `{id}` 的规则；GET /api/v1/rules 可列出全部规则"),
            Self::Invalid(problems) => format!("规则未保存，请修正：{}", problems.join("；")),
            Self::NoSuchEvent(order) => {
                format!("没有订单 {order} 的已存事件（或没有该类型的事件）；可改用 kind 以示例事件试运行")
            }
            Self::Engine(e) => e.message_zh(),
            Self::Console(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::NotFound(id) => format!("There is no rule `{id}`; GET /api/v1/rules lists them all"),
            Self::Invalid(problems) => format!("The rule was not saved; fix: {}", problems.join("; ")),
            Self::NoSuchEvent(order) => {
                format!("No stored event of order {order} (of that kind); use `kind` alone to try a sample event")
            }
            Self::Engine(e) => e.message_en(),
            Self::Console(e) => e.message_en(),
        }
    }
}

/// One message a dry run would send.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WouldSend {
    /// The rule that sends it.
    pub rule: String,
    /// Where it goes (destination key).
    #[schema(value_type = String)]
    pub destination: Destination,
    /// The request body, as the destination would receive it.
    pub message: serde_json::Value,
}

/// What a dry run found: each rule's decision and the messages sent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DryRun {
    /// Each rule and why it matched or not.
    pub decisions: Vec<RuleDecision>,
    /// What would be sent.
    pub messages: Vec<WouldSend>,
}

/// Edits and reads the rules.
pub struct RuleService<'a> {
    engine: &'a Engine,
}

impl<'a> RuleService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self { engine }
    }

    /// Every rule in force, in id order, with its counters.
    pub async fn list(&self) -> Result<Vec<(Route, Counters)>, RuleError> {
        let mut counters = self.counters().await?;
        Ok(self
            .engine
            .registry()
            .routes
            .iter()
            .map(|r| (r.clone(), counters.remove(r.id.as_str()).unwrap_or_default()))
            .collect())
    }

    /// One rule in force, with its counters.
    pub async fn get(&self, id: &ConfigId) -> Result<(Route, Counters), RuleError> {
        let rule = self.in_force(id)?;
        let counters = self.counters_of(id).await?;
        Ok((rule, counters))
    }

    /// Creates or replaces `rule` after the checks of `shoprelay apply` (unknown targets, conditions
    /// with their position, bad hours …) against the configuration in force.
    pub async fn save(&self, rule: &Route) -> Result<(ConfigChange, Counters), RuleError> {
        let problems = self.problems(rule);
        if !problems.is_empty() {
            return Err(RuleError::Invalid(problems));
        }
        let change = self.store(rule).await?;
        Ok((change, self.counters_of(&rule.id).await?))
    }

    /// Deletes a rule: it stops matching; its past deliveries and counters stay.
    pub async fn delete(&self, id: &ConfigId) -> Result<(), RuleError> {
        if !self.engine.store.delete_config(RULE_KIND, id.as_str()).await? {
            return Err(RuleError::NotFound(id.to_string()));
        }
        self.engine.reload_config().await?;
        Ok(())
    }

    /// Enables or disables a rule in force; a disabled rule is kept and matches nothing.
    pub async fn set_enabled(&self, id: &ConfigId, enabled: bool) -> Result<(Route, Counters), RuleError> {
        let mut rule = self.in_force(id)?;
        rule.enabled = enabled;
        self.store(&rule).await?;
        let counters = self.counters_of(id).await?;
        Ok((rule, counters))
    }

    /// Every problem of `rule` against the configuration in force, as `rule.path: message` lines.
    pub fn problems(&self, rule: &Route) -> Vec<String> {
        rule_problems(rule, &Known::of(&self.engine.registry()))
            .into_iter()
            .map(|p| format!("rule{}: {}", p.path, p.message))
            .collect()
    }

    /// The newest stored event of an order (of `kind`, when given), for a dry run against real data.
    pub async fn event_of_order(&self, order_sn: &str, kind: Option<EventKind>) -> Result<Event, RuleError> {
        self.engine
            .store
            .latest_event(order_sn, kind.map(EventKind::as_str))
            .await?
            .ok_or_else(|| RuleError::NoSuchEvent(order_sn.to_owned()))
    }

    /// [`RuleService::save`] by a console user (operators and admins), recorded as a console action.
    pub async fn save_as(&self, actor: &ConsoleUser, rule: &Route) -> Result<ConfigChange, RuleError> {
        require(actor, Role::Operator)?;
        let (change, _) = self.save(rule).await?;
        let detail = format!("{change:?}, enabled {}", rule.enabled);
        self.record(actor, "rule.save", rule.id.as_str(), detail).await?;
        Ok(change)
    }

    /// [`RuleService::set_enabled`] by a console user (operators and admins), recorded as a console action.
    pub async fn set_enabled_as(&self, actor: &ConsoleUser, id: &ConfigId, enabled: bool) -> Result<(), RuleError> {
        require(actor, Role::Operator)?;
        self.set_enabled(id, enabled).await?;
        let action = if enabled { "rule.enable" } else { "rule.disable" };
        self.record(actor, action, id.as_str(), String::new()).await
    }

    async fn record(&self, actor: &ConsoleUser, action: &str, id: &str, detail: String) -> Result<(), RuleError> {
        let done = ConsoleAction::new(self.engine.clock.now(), &actor.username, action, Some(id), detail);
        Ok(self.engine.store.record_console_action(&done).await?)
    }

    /// The orders of the newest stored pushes, newest first, each once: what a dry run can start from.
    pub async fn recent_orders(&self, limit: usize) -> Result<Vec<String>, RuleError> {
        let filter = AuditFilter {
            kind: Some(AuditKind::Push),
            limit: Some(200),
            ..AuditFilter::default()
        };
        let mut out: Vec<String> = Vec::new();
        for entry in self.engine.store.query_audit(&filter).await? {
            if let Some(order) = entry.order_sn {
                if !out.contains(&order) {
                    out.push(order);
                }
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// What every rule in force does with `event` at `at` (unix seconds): each rule's decision and every
    /// message it would send. Nothing is sent.
    pub fn dry_run(&self, event: &Event, at: UnixMs) -> DryRun {
        self.run(&self.engine.registry(), event, at)
    }

    /// The preview of a rule being edited: checked as [`RuleService::save`] would, then what it alone
    /// would send for `event` (not what the other rules do). Nothing is saved or sent.
    pub fn preview(&self, rule: &Route, event: &Event, at: UnixMs) -> Result<DryRun, RuleError> {
        let problems = self.problems(rule);
        if !problems.is_empty() {
            return Err(RuleError::Invalid(problems));
        }
        let current = self.engine.registry();
        let compiled = CompiledRule::compile(rule)
            .map_err(|e| RuleError::Invalid(vec![e.to_string()]))?
            .with_shops(rule, &current.shop_groups);
        let mut registry = Registry::clone(&current);
        // The admin's notices are not the rule's doing.
        registry.admin = None;
        registry.compiled = [(rule.id.clone(), Arc::new(compiled))].into_iter().collect();
        registry.routes = vec![rule.clone()];
        Ok(self.run(&registry, event, at))
    }

    fn run(&self, registry: &Registry, event: &Event, at: UnixMs) -> DryRun {
        let settings = &self.engine.settings;
        let messages = routing::preview(registry, event, at, settings.language, &settings.public_url)
            .into_iter()
            .map(|d| {
                let message = serde_json::from_str::<Payload>(&d.payload).map_or(serde_json::Value::Null, |p| p.body());
                WouldSend {
                    rule: d.route_id,
                    destination: d.destination,
                    message,
                }
            })
            .collect();
        DryRun {
            decisions: routing::explain(registry, event, at),
            messages,
        }
    }

    fn in_force(&self, id: &ConfigId) -> Result<Route, RuleError> {
        self.engine
            .registry()
            .routes
            .iter()
            .find(|r| &r.id == id)
            .cloned()
            .ok_or_else(|| RuleError::NotFound(id.to_string()))
    }

    /// Stores the rule and puts the configuration in force on this replica at once.
    async fn store(&self, rule: &Route) -> Result<ConfigChange, RuleError> {
        let object = Registry::rule_object(&self.engine.secrets, rule)?;
        let change = self.engine.store.put_config(&object, self.engine.clock.now()).await?;
        self.engine.reload_config().await?;
        Ok(change)
    }

    async fn counters_of(&self, id: &ConfigId) -> Result<Counters, RuleError> {
        Ok(self.counters().await?.remove(id.as_str()).unwrap_or_default())
    }

    /// Every rule's counters, by rule id.
    async fn counters(&self) -> Result<BTreeMap<String, Counters>, RuleError> {
        let store = &self.engine.store;
        let mut out: BTreeMap<String, Counters> = BTreeMap::new();
        for (rule, delivery_state, count) in store.rule_counters().await? {
            let counters = out.entry(rule).or_default();
            if delivery_state == "dead" {
                counters.insert("failed".to_owned(), count);
            }
            counters.insert(delivery_state, count);
        }
        for (rule, matched) in store.rule_matches().await? {
            out.entry(rule).or_default().insert("matched".to_owned(), matched);
        }
        Ok(out)
    }
}

/// A rule as the console's editor holds it: the everyday fields one by one, the condition and each
/// target as a TOML inline value (the notation of `shoprelay.toml`), everything else as TOML lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleDraft {
    /// The rule's id.
    pub id: String,
    /// In force.
    pub enabled: bool,
    /// Sent first, never folded or held.
    pub urgent: bool,
    /// Event kinds selected (their `snake_case` names); none selects every kind.
    pub events: Vec<String>,
    /// Shop ids, separated by commas or spaces; none selects every shop.
    pub shops: String,
    /// The condition, a TOML inline value (`{ expr = "order.quantity >= 5" }`); empty: none.
    pub when: String,
    /// One target per line, each a TOML inline table (`{ type = "robot", robot = "ops" }`).
    pub targets: String,
    /// The message template (minijinja, markdown); empty: the built-in card.
    pub template: String,
    /// Any other setting of the rule (`quiet_hours = …`, `assign = …`), as TOML `key = value` lines.
    pub extra: String,
}

/// The fields [`RuleDraft`] holds one by one; the rest go to its `extra`.
const DRAFT_KEYS: [&str; 8] = [
    "id", "enabled", "urgent", "events", "shops", "when", "targets", "template",
];

/// One TOML value typed into a field of the editor.
fn inline_value(field: &str, text: &str) -> Result<toml::Value, String> {
    let mut table: toml::Table =
        toml::from_str(&format!("v = {}", text.trim())).map_err(|e| format!("{field}: {}", e.message()))?;
    table.remove("v").ok_or_else(|| format!("{field}: no value"))
}

impl RuleDraft {
    /// The draft of a rule, to edit it.
    pub fn of(rule: &Route) -> Self {
        let mut table = match toml::Value::try_from(rule) {
            Ok(toml::Value::Table(t)) => t,
            // A rule always serializes to a table; an empty draft is what a failure could show at worst.
            _ => toml::Table::new(),
        };
        for key in DRAFT_KEYS {
            table.remove(key);
        }
        let targets: Vec<String> = rule
            .targets
            .iter()
            .filter_map(|t| toml::Value::try_from(t).ok())
            .map(|v| v.to_string())
            .collect();
        Self {
            id: rule.id.to_string(),
            enabled: rule.enabled,
            urgent: rule.urgent,
            events: rule.events.iter().map(|e| e.as_str().to_owned()).collect(),
            shops: rule
                .shops
                .iter()
                .map(|s| s.get().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            when: rule
                .when
                .as_ref()
                .and_then(|c| toml::Value::try_from(c).ok())
                .map(|v| v.to_string())
                .unwrap_or_default(),
            targets: targets.join("\n"),
            template: rule.template.clone().unwrap_or_default(),
            extra: if table.is_empty() {
                String::new()
            } else {
                toml::to_string(&table).unwrap_or_default()
            },
        }
    }

    /// The rule the draft describes; every field that cannot be read is named. The rule's own checks
    /// (targets configured, the condition compiles) come after, in [`RuleService::problems`].
    pub fn parse(&self) -> Result<Route, RuleError> {
        let mut problems = Vec::new();
        let mut table = toml::Table::new();
        table.insert("id".into(), self.id.trim().into());
        table.insert("enabled".into(), self.enabled.into());
        table.insert("urgent".into(), self.urgent.into());
        let events: Vec<toml::Value> = self.events.iter().map(|e| e.trim().into()).collect();
        table.insert("events".into(), events.into());
        let mut shops = Vec::new();
        for word in self
            .shops
            .split([',', '，', ' ', '\n', '\r', '\t'])
            .filter(|w| !w.is_empty())
        {
            match word.parse::<i64>() {
                Ok(n) if n > 0 => shops.push(toml::Value::Integer(n)),
                _ => problems.push(format!("shops: `{word}` is not a shop id")),
            }
        }
        table.insert("shops".into(), shops.into());
        if !self.when.trim().is_empty() {
            match inline_value("when", &self.when) {
                Ok(v) => {
                    table.insert("when".into(), v);
                }
                Err(e) => problems.push(e),
            }
        }
        let mut targets = Vec::new();
        for (i, line) in self.targets.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            match inline_value(&format!("targets[{i}]"), line) {
                Ok(v) => targets.push(v),
                Err(e) => problems.push(e),
            }
        }
        table.insert("targets".into(), targets.into());
        let template = self.template.replace("\r\n", "\n");
        if !template.trim().is_empty() {
            table.insert("template".into(), template.into());
        }
        match toml::from_str::<toml::Table>(&self.extra) {
            Ok(extra) => {
                for (key, value) in extra {
                    if table.contains_key(&key) {
                        problems.push(format!("extra: `{key}` has its own field above"));
                    } else {
                        table.insert(key, value);
                    }
                }
            }
            Err(e) => problems.push(format!("extra: {}", e.message())),
        }
        if !problems.is_empty() {
            return Err(RuleError::Invalid(problems));
        }
        toml::Value::Table(table)
            .try_into::<Route>()
            .map_err(|e| RuleError::Invalid(vec![e.message().to_owned()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_reads_back_the_rule_it_was_made_from() {
        let rule: Route = toml::from_str(
            r##"
            id = "big"
            events = ["order_created"]
            shops = [1001, 1002]
            when = { all = [ { total_amount = { gte = "100", currency = "SGD" } }, { not = { cod = true } } ] }
            template = "**{{ event.order_sn }}**"
            targets = [{ type = "robot", robot = "ops" }, { type = "wecom_app", app = "hq", users = ["zhangsan"] }]
            quiet_hours = { from = "22:00", to = "08:00" }
            "##,
        )
        .unwrap();
        let draft = RuleDraft::of(&rule);
        assert_eq!(draft.shops, "1001, 1002");
        assert_eq!(draft.targets.lines().count(), 2);
        assert!(draft.extra.contains("quiet_hours"), "{}", draft.extra);
        assert_eq!(draft.parse().unwrap(), rule);
    }

    #[test]
    fn every_unreadable_field_is_named() {
        let draft = RuleDraft {
            id: "r".into(),
            enabled: true,
            shops: "12, abc".into(),
            when: "{ expr = ".into(),
            targets: "{ type = \"robot\", robot = \"ops\" }\nnot toml".into(),
            extra: "id = \"other\"".into(),
            ..RuleDraft::default()
        };
        let Err(RuleError::Invalid(problems)) = draft.parse() else {
            panic!("an unreadable draft must be refused");
        };
        let text = problems.join("\n");
        for field in ["shops: `abc`", "when:", "targets[1]:", "extra: `id`"] {
            assert!(text.contains(field), "{field} missing from {text}");
        }
        let unknown = RuleDraft {
            id: "r".into(),
            events: vec!["no_such_kind".into()],
            ..RuleDraft::default()
        };
        assert!(matches!(unknown.parse(), Err(RuleError::Invalid(_))));
    }
}
