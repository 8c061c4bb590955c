//! Message rules edited one at a time (the API, the console): listed with their counters, saved after
//! the same checks as `shoprelay apply`, enabled, disabled and deleted; and the stored events a dry run
//! starts from. A saved rule is in force at once on this replica, within `config_reload` on the others.

use std::collections::BTreeMap;

use shoprelay_core::error::UserFacing;
use shoprelay_core::event::{Event, EventKind};
use shoprelay_core::ids::ConfigId;
use shoprelay_core::route::Route;
use shoprelay_store::ConfigChange;

use crate::config::{rule_problems, Known, Registry, RULE_KIND};
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
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) | Self::NoSuchEvent(_) => 404,
            Self::Invalid(_) => 422,
            Self::Engine(e) => e.status(),
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
        }
    }
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
        let change = self
            .engine
            .store
            .put_config(&object, self.engine.clock.now_ms())
            .await?;
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
