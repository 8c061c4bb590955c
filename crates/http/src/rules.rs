//! `/api/v1/rules`: the message rules — listed with their counters, created, replaced, enabled,
//! disabled and deleted one at a time, previewed while being edited, and dry-run against an event.
//!
//! Rules saved here take effect at once on this replica and within `config_reload` on the others.
//! `shoprelay apply` makes the whole configuration equal to its file, rules included.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use shoprelay_core::error::UserFacing;
use shoprelay_core::event::{Event, EventKind};
use shoprelay_core::ids::ConfigId;
use shoprelay_core::route::Route;
use shoprelay_core::rules::sample_event;
use shoprelay_engine::config::{rule_problems, CompiledRule, Known, Registry, RULE_KIND};
use shoprelay_engine::render::Payload;
use shoprelay_engine::routing::{self, RuleDecision};
use std::sync::Arc;

use crate::api::{authorize, BadQuery};
use crate::error::ApiError;
use crate::AppState;

/// No rule has this id.
#[derive(Debug, thiserror::Error)]
#[error("no rule `{0}`")]
pub struct RuleNotFound(String);

impl UserFacing for RuleNotFound {
    fn code(&self) -> &'static str {
        "rule.not_found"
    }
    fn status(&self) -> u16 {
        404
    }
    fn message_zh(&self) -> String {
        format!("没有 id 为 `{}` 的规则；GET /api/v1/rules 可列出全部规则", self.0)
    }
    fn message_en(&self) -> String {
        format!("There is no rule `{}`; GET /api/v1/rules lists them all", self.0)
    }
}

/// A rule that cannot be saved, with every problem and where it is.
#[derive(Debug, thiserror::Error)]
#[error("invalid rule: {}", .0.join("; "))]
pub struct InvalidRule(Vec<String>);

impl UserFacing for InvalidRule {
    fn code(&self) -> &'static str {
        "rule.invalid"
    }
    fn status(&self) -> u16 {
        422
    }
    fn message_zh(&self) -> String {
        format!("规则未保存，请修正：{}", self.0.join("；"))
    }
    fn message_en(&self) -> String {
        format!("The rule was not saved; fix: {}", self.0.join("; "))
    }
}

/// A rule as the API shows it, with its counters.
#[derive(Debug, Serialize)]
pub struct RuleView {
    id: String,
    enabled: bool,
    events: Vec<EventKind>,
    shops: Vec<u64>,
    has_condition: bool,
    has_template: bool,
    targets: Vec<String>,
    /// Events matched, and deliveries per state: delivered, pending, dead, coalesced; `failed` is `dead`.
    counters: BTreeMap<String, i64>,
    /// The rule itself, as `PUT` takes it.
    definition: Route,
}

fn view(rule: &Route, counters: BTreeMap<String, i64>) -> RuleView {
    RuleView {
        id: rule.id.to_string(),
        enabled: rule.enabled,
        events: rule.events.clone(),
        shops: rule.shops.iter().map(|s| s.get()).collect(),
        has_condition: rule.when.is_some(),
        has_template: rule.template.is_some(),
        targets: rule.targets.iter().map(|t| t.destination()).collect(),
        counters,
        definition: rule.clone(),
    }
}

async fn counters(state: &AppState) -> Result<BTreeMap<String, BTreeMap<String, i64>>, ApiError> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let store = &state.engine.store;
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

/// `GET /api/v1/rules`: the rules in force, with how many deliveries each produced, by state.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Vec<RuleView>>, ApiError> {
    authorize(&state, &headers)?;
    let mut counters = counters(&state).await?;
    let registry = state.engine.registry();
    Ok(Json(
        registry
            .routes
            .iter()
            .map(|r| view(r, counters.remove(r.id.as_str()).unwrap_or_default()))
            .collect(),
    ))
}

fn rule_id(raw: &str) -> Result<ConfigId, ApiError> {
    ConfigId::parse(raw).map_err(|e| ApiError::from(BadQuery(format!("rule id: {e}"))))
}

/// `GET /api/v1/rules/{id}`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    authorize(&state, &headers)?;
    let id = rule_id(&id)?;
    let registry = state.engine.registry();
    let rule = registry
        .routes
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| RuleNotFound(id.to_string()))?;
    let mut counters = counters(&state).await?;
    Ok(Json(view(rule, counters.remove(id.as_str()).unwrap_or_default())))
}

/// Every problem of `rule` against the configuration in force, as `rule.path: message` lines.
fn problems(registry: &Registry, rule: &Route) -> Vec<String> {
    rule_problems(rule, &Known::of(registry))
        .into_iter()
        .map(|p| format!("rule{}: {}", p.path, p.message))
        .collect()
}

/// Parses a rule from a JSON body, with the path's id when the body has none.
fn parse_rule(id: &ConfigId, body: serde_json::Value) -> Result<Route, ApiError> {
    let mut body = body;
    if let serde_json::Value::Object(map) = &mut body {
        map.entry("id").or_insert_with(|| id.as_str().into());
    }
    let rule: Route = serde_json::from_value(body).map_err(|e| InvalidRule(vec![e.to_string()]))?;
    if &rule.id != id {
        return Err(InvalidRule(vec![format!("the body's id `{}` is not the path's `{id}`", rule.id)]).into());
    }
    Ok(rule)
}

async fn save(state: &AppState, rule: &Route) -> Result<StatusCode, ApiError> {
    let engine = &state.engine;
    let object = Registry::rule_object(&engine.secrets, rule)?;
    let change = engine.store.put_config(&object, engine.clock.now_ms()).await?;
    engine.reload_config().await?;
    Ok(match change {
        shoprelay_store::ConfigChange::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    })
}

/// `PUT /api/v1/rules/{id}` with the rule as JSON: created or replaced, after the same checks as
/// `shoprelay apply` (unknown targets, bad conditions with their position, bad hours …).
pub async fn put(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<(StatusCode, Json<RuleView>), ApiError> {
    authorize(&state, &headers)?;
    let id = rule_id(&id)?;
    let Json(body) = body.map_err(|e| BadQuery(e.body_text()))?;
    let rule = parse_rule(&id, body)?;
    let problems = problems(&state.engine.registry(), &rule);
    if !problems.is_empty() {
        return Err(InvalidRule(problems).into());
    }
    let status = save(&state, &rule).await?;
    let mut counters = counters(&state).await?;
    Ok((
        status,
        Json(view(&rule, counters.remove(id.as_str()).unwrap_or_default())),
    ))
}

/// `DELETE /api/v1/rules/{id}`: the rule stops matching; its past deliveries and counters stay.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &headers)?;
    let id = rule_id(&id)?;
    if !state.engine.store.delete_config(RULE_KIND, id.as_str()).await? {
        return Err(RuleNotFound(id.to_string()).into());
    }
    state.engine.reload_config().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_enabled(
    state: AppState,
    headers: HeaderMap,
    id: String,
    enabled: bool,
) -> Result<Json<RuleView>, ApiError> {
    authorize(&state, &headers)?;
    let id = rule_id(&id)?;
    let registry = state.engine.registry();
    let mut rule = registry
        .routes
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .ok_or_else(|| RuleNotFound(id.to_string()))?;
    rule.enabled = enabled;
    save(&state, &rule).await?;
    let mut counters = counters(&state).await?;
    Ok(Json(view(&rule, counters.remove(id.as_str()).unwrap_or_default())))
}

/// `POST /api/v1/rules/{id}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    set_enabled(state, headers, id, true).await
}

/// `POST /api/v1/rules/{id}/disable`: kept, matches nothing until enabled.
pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    set_enabled(state, headers, id, false).await
}

/// What to dry-run: a stored order's newest event (of `kind`, when given), a sample event of a kind,
/// or a whole event; for a preview, also an unsaved rule.
#[derive(Debug, Deserialize)]
pub struct RulesTest {
    kind: Option<EventKind>,
    event: Option<Event>,
    order_sn: Option<String>,
    at: Option<i64>,
    rule: Option<serde_json::Value>,
}

/// No stored event matches the dry run's `order_sn`.
#[derive(Debug, thiserror::Error)]
#[error("no stored event of order {0}")]
pub struct NoSuchEvent(String);

impl UserFacing for NoSuchEvent {
    fn code(&self) -> &'static str {
        "rule.no_such_event"
    }
    fn status(&self) -> u16 {
        404
    }
    fn message_zh(&self) -> String {
        format!(
            "没有订单 {} 的已存事件（或没有该类型的事件）；可改用 kind 以示例事件试运行",
            self.0
        )
    }
    fn message_en(&self) -> String {
        format!(
            "No stored event of order {} (of that kind); use `kind` alone to try a sample event",
            self.0
        )
    }
}

/// One message the event would produce.
#[derive(Debug, Serialize)]
pub struct WouldSend {
    rule: String,
    destination: String,
    message: serde_json::Value,
}

/// The dry run's answer.
#[derive(Debug, Serialize)]
pub struct RulesTestResult {
    decisions: Vec<RuleDecision>,
    messages: Vec<WouldSend>,
}

async fn test_event(state: &AppState, test: &RulesTest) -> Result<Event, ApiError> {
    if let Some(order) = &test.order_sn {
        let kind = test.kind.map(EventKind::as_str);
        return state
            .engine
            .store
            .latest_event(order, kind)
            .await?
            .ok_or_else(|| NoSuchEvent(order.clone()).into());
    }
    match (&test.event, test.kind) {
        (Some(event), _) => Ok(event.clone()),
        (None, Some(kind)) => Ok(sample_event(kind)),
        (None, None) => Err(BadQuery("give `order_sn`, `kind` or `event`".into()).into()),
    }
}

fn dry_run(state: &AppState, registry: &Registry, event: &Event, at: i64) -> RulesTestResult {
    let settings = &state.engine.settings;
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
    RulesTestResult {
        decisions: routing::explain(registry, event, at),
        messages,
    }
}

/// `POST /api/v1/rules/test` with `{"order_sn": "…"}` (that order's newest stored event), `{"kind":
/// "order_created"}` (a sample) or `{"event": {…}}`: which rules fire, to whom, with what message.
/// Nothing is sent.
pub async fn test(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<RulesTest>, JsonRejection>,
) -> Result<Json<RulesTestResult>, ApiError> {
    authorize(&state, &headers)?;
    let Json(test) = body.map_err(|e| BadQuery(e.body_text()))?;
    let event = test_event(&state, &test).await?;
    let at = test.at.unwrap_or_else(|| state.engine.clock.now_secs());
    Ok(Json(dry_run(&state, &state.engine.registry(), &event, at)))
}

/// `POST /api/v1/rules/preview` with `{"rule": {…}, "kind" | "event", "at"}`: the live preview of a rule
/// being edited — checked as `PUT` would, then what it would send for the event, alone. Nothing is saved.
pub async fn preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<RulesTest>, JsonRejection>,
) -> Result<Json<RulesTestResult>, ApiError> {
    authorize(&state, &headers)?;
    let Json(test) = body.map_err(|e| BadQuery(e.body_text()))?;
    let Some(raw) = test.rule.clone() else {
        return Err(BadQuery("give the `rule` to preview".into()).into());
    };
    let id = raw.get("id").and_then(|v| v.as_str()).map_or_else(
        || Ok(ConfigId::parse("preview").map_err(|e| BadQuery(e.to_string()))?),
        rule_id,
    )?;
    let rule = parse_rule(&id, raw)?;
    let current = state.engine.registry();
    let problems = problems(&current, &rule);
    if !problems.is_empty() {
        return Err(InvalidRule(problems).into());
    }
    let compiled = CompiledRule::compile(&rule)
        .map_err(|e| InvalidRule(vec![e.to_string()]))?
        .with_shops(&rule, &current.shop_groups);
    // Only this rule: the preview shows what it sends, not what the others do.
    let mut registry = Registry::clone(&current);
    registry.admin = None;
    registry.compiled = [(rule.id.clone(), Arc::new(compiled))].into_iter().collect();
    registry.routes = vec![rule];
    let event = test_event(&state, &test).await?;
    let at = test.at.unwrap_or_else(|| state.engine.clock.now_secs());
    Ok(Json(dry_run(&state, &registry, &event, at)))
}
