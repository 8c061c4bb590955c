//! `/api/v1/rules`: the message rules — listed with their counters, created, replaced, enabled,
//! disabled and deleted one at a time, previewed while being edited, and dry-run against an event.
//!
//! Rules saved here take effect at once on this replica and within `config_reload` on the others.
//! `shoprelay apply` makes the whole configuration equal to its file, rules included.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;
use shoprelay_core::event::{Event, EventKind};
use shoprelay_core::ids::ConfigId;
use shoprelay_core::route::Route;
use shoprelay_core::rules::sample_event;
use shoprelay_engine::service::rules::{DryRun, RuleError};
use shoprelay_store::ConfigChange;

use crate::api::BadQuery;
use crate::error::ApiError;
use crate::guard::Caller;
use crate::AppState;

/// A rule as the API shows it, with its counters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// Rule id.
    id: String,
    /// Whether it matches events.
    enabled: bool,
    /// Event kinds it selects.
    events: Vec<EventKind>,
    /// Shops it selects (empty: every shop).
    shops: Vec<u64>,
    /// Whether it has a condition.
    has_condition: bool,
    /// Whether it has a message template.
    has_template: bool,
    /// Where it sends (destination keys).
    #[schema(value_type = Vec<String>)]
    targets: Vec<Destination>,
    /// Events matched, and deliveries per state: delivered, pending, dead, coalesced; `failed` is `dead`.
    counters: BTreeMap<String, i64>,
    /// The rule itself, as `PUT` takes it.
    #[schema(value_type = Object)]
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
        // Rules in force passed the configuration check, which refuses targets without a destination.
        targets: rule.targets.iter().filter_map(|t| t.destination().ok()).collect(),
        counters,
        definition: rule.clone(),
    }
}

#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", responses(
    (status = 200, description = "The rules with their counters", body = Vec<RuleView>),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `GET /api/v1/rules`: the rules in force, with how many deliveries each produced, by state.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<RuleView>>, ApiError> {
    let rules = state.engine.rules().list().await?;
    Ok(Json(
        rules
            .into_iter()
            .map(|(rule, counters)| view(&rule, counters))
            .collect(),
    ))
}

fn rule_id(raw: &str) -> Result<ConfigId, ApiError> {
    ConfigId::parse(raw).map_err(|e| ApiError::from(BadQuery(format!("rule id: {e}"))))
}

/// `GET /api/v1/rules/{id}`.
#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path, description = "Rule id")), responses(
    (status = 200, description = "The rule", body = RuleView),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<RuleView>, ApiError> {
    let id = rule_id(&id)?;
    let (rule, counters) = state.engine.rules().get(&id).await?;
    Ok(Json(view(&rule, counters)))
}

/// Parses a rule from a JSON body, with the path's id when the body has none.
fn parse_rule(id: &ConfigId, body: serde_json::Value) -> Result<Route, ApiError> {
    let mut body = body;
    if let serde_json::Value::Object(map) = &mut body {
        map.entry("id").or_insert_with(|| id.as_str().into());
    }
    let rule: Route = serde_json::from_value(body).map_err(|e| RuleError::Invalid(vec![e.to_string()]))?;
    if &rule.id != id {
        return Err(RuleError::Invalid(vec![format!("the body's id `{}` is not the path's `{id}`", rule.id)]).into());
    }
    Ok(rule)
}

#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path, description = "Rule id")),
    request_body(content = crate::openapi::RuleBodyDoc, description = "The rule, as in the configuration file's `[[rules]]`"),
    responses(
        (status = 200, description = "Replaced", body = RuleView),
        (status = 201, description = "Created", body = RuleView),
        (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `PUT /api/v1/rules/{id}` with the rule as JSON: created or replaced, after the same checks as
/// `shoprelay apply` (unknown targets, bad conditions with their position, bad hours …).
pub async fn put(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<(StatusCode, Json<RuleView>), ApiError> {
    let id = rule_id(&id)?;
    let Json(body) = body.map_err(|e| BadQuery(e.body_text()))?;
    let rule = parse_rule(&id, body)?;
    let (change, counters) = state.engine.rules().save(&rule).await?;
    let detail = format!("{change:?}, enabled {}", rule.enabled);
    caller.record(&state, "rule.save", Some(id.as_str()), detail).await?;
    let status = match change {
        ConfigChange::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(view(&rule, counters))))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path, description = "Rule id")), responses(
    (status = 204, description = "Deleted"),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `DELETE /api/v1/rules/{id}`: the rule stops matching; its past deliveries and counters stay.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = rule_id(&id)?;
    state.engine.rules().delete(&id).await?;
    caller
        .record(&state, "rule.delete", Some(id.as_str()), String::new())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_enabled(state: AppState, caller: Caller, id: String, enabled: bool) -> Result<Json<RuleView>, ApiError> {
    let id = rule_id(&id)?;
    let (rule, counters) = state.engine.rules().set_enabled(&id, enabled).await?;
    let action = if enabled { "rule.enable" } else { "rule.disable" };
    caller.record(&state, action, Some(id.as_str()), String::new()).await?;
    Ok(Json(view(&rule, counters)))
}

/// `POST /api/v1/rules/{id}/enable`.
#[utoipa::path(post, path = "/api/v1/rules/{id}/enable", tag = "rules", params(("id" = String, Path, description = "Rule id")), responses(
    (status = 200, description = "The rule, enabled", body = RuleView),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
pub async fn enable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    set_enabled(state, caller, id, true).await
}

#[utoipa::path(post, path = "/api/v1/rules/{id}/disable", tag = "rules", params(("id" = String, Path, description = "Rule id")), responses(
    (status = 200, description = "The rule, disabled", body = RuleView),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `POST /api/v1/rules/{id}/disable`: kept, matches nothing until enabled.
pub async fn disable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    set_enabled(state, caller, id, false).await
}

/// What to dry-run: a stored order's newest event (of `kind`, when given), a sample event of a kind,
/// or a whole event; for a preview, also an unsaved rule.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RulesTest {
    /// A sample event of this kind (or, with `order_sn`, that order's newest event of this kind).
    // Not nullable in the document: a `null` source leaves none, which the handler refuses.
    #[schema(nullable = false)]
    kind: Option<EventKind>,
    /// A whole event.
    #[schema(value_type = Option<Object>, nullable = false)]
    event: Option<Event>,
    /// A stored order, whose newest event is used.
    #[schema(nullable = false)]
    order_sn: Option<String>,
    /// The time to evaluate at (unix seconds; default now).
    at: Option<i64>,
    /// The unsaved rule to preview (`/rules/preview` only).
    #[schema(value_type = Option<crate::openapi::RuleBodyDoc>, nullable = false)]
    rule: Option<serde_json::Value>,
}

async fn test_event(state: &AppState, test: &RulesTest) -> Result<Event, ApiError> {
    if let Some(order) = &test.order_sn {
        return Ok(state.engine.rules().event_of_order(order, test.kind).await?);
    }
    match (&test.event, test.kind) {
        (Some(event), _) => Ok(event.clone()),
        (None, Some(kind)) => Ok(sample_event(kind)),
        (None, None) => Err(BadQuery("give `order_sn`, `kind` or `event`".into()).into()),
    }
}

#[utoipa::path(post, path = "/api/v1/rules/test", tag = "rules", request_body = RulesTest, responses(
    (status = 200, description = "What the rules in force would do", body = DryRun),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `POST /api/v1/rules/test` with `{"order_sn": "…"}` (that order's newest stored event), `{"kind":
/// "order_created"}` (a sample) or `{"event": {…}}`: which rules fire, to whom, with what message.
/// Nothing is sent.
pub async fn test(
    State(state): State<AppState>,
    body: Result<Json<RulesTest>, JsonRejection>,
) -> Result<Json<DryRun>, ApiError> {
    let Json(test) = body.map_err(|e| BadQuery(e.body_text()))?;
    let event = test_event(&state, &test).await?;
    let at = test.at.map_or_else(|| state.engine.clock.now(), UnixMs::from_secs);
    Ok(Json(state.engine.rules().dry_run(&event, at)))
}

#[utoipa::path(post, path = "/api/v1/rules/preview", tag = "rules", request_body = RulesTest, responses(
    (status = 200, description = "What the rule alone would do", body = DryRun),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `POST /api/v1/rules/preview` with `{"rule": {…}, "kind" | "event", "at"}`: the live preview of a rule
/// being edited — checked as `PUT` would, then what it would send for the event, alone. Nothing is saved.
pub async fn preview(
    State(state): State<AppState>,
    body: Result<Json<RulesTest>, JsonRejection>,
) -> Result<Json<DryRun>, ApiError> {
    let Json(test) = body.map_err(|e| BadQuery(e.body_text()))?;
    let Some(raw) = test.rule.clone() else {
        return Err(BadQuery("give the `rule` to preview".into()).into());
    };
    let id = raw.get("id").and_then(|v| v.as_str()).map_or_else(
        || Ok(ConfigId::parse("preview").map_err(|e| BadQuery(e.to_string()))?),
        rule_id,
    )?;
    let rule = parse_rule(&id, raw)?;
    // A broken rule is told before a missing event: it is what the editor is working on.
    let problems = state.engine.rules().problems(&rule);
    if !problems.is_empty() {
        return Err(RuleError::Invalid(problems).into());
    }
    let event = test_event(&state, &test).await?;
    let at = test.at.map_or_else(|| state.engine.clock.now(), UnixMs::from_secs);
    Ok(Json(state.engine.rules().preview(&rule, &event, at)?))
}
