//! Routing: which rules an event meets and what each of their targets receives. Pure — the same function
//! serves the pipeline, the dry run (`shoprelay rules test`, `POST /api/v1/rules/test`) and previews.

use serde::Serialize;
use shoprelay_core::error::Lang;
use shoprelay_core::event::{Event, EventBody, EventKind};
use shoprelay_core::route::Target;
use shoprelay_core::rules::{EvalOutcome, PreparedEvent};
use shoprelay_store::{NewDelivery, PRIORITY_BULK, PRIORITY_URGENT};

use crate::config::Registry;
use crate::render::{recipients_key, render, summary, RenderContext};

/// Event kinds an admin also hears about, whatever the rules say.
const ADMIN_KINDS: [EventKind; 4] = [
    EventKind::ReauthorizationRequired,
    EventKind::AuthorizationExpiring,
    EventKind::ShopDeauthorized,
    EventKind::DeliveryFailing,
];

/// Event kinds sent before order news and never folded into a digest.
const URGENT_KINDS: [EventKind; 5] = [
    EventKind::BuyerMessage,
    EventKind::ReauthorizationRequired,
    EventKind::AuthorizationExpiring,
    EventKind::ShopDeauthorized,
    EventKind::DeliveryFailing,
];

/// What routing decided for one event.
#[derive(Debug, Default)]
pub struct Routed {
    /// One outbox row per target of every rule met (and admin targets).
    pub deliveries: Vec<NewDelivery>,
    /// Rules whose condition could not be evaluated on this event (counted as not met), with why.
    pub failures: Vec<(String, String)>,
}

/// A rule's decision, as the dry run shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleDecision {
    /// Rule id.
    pub rule: String,
    /// `matched`, `not_matched`, `wrong_kind_or_shop`, `disabled` or `failed: …`.
    pub outcome: String,
}

/// The deliveries for `event` at `now` (unix seconds, for time-of-day conditions in the shop's zone), with
/// built-in messages in `lang`.
pub fn route(registry: &Registry, event: &Event, now: i64, lang: Lang) -> Routed {
    let prepared = PreparedEvent::new(event, now);
    let shop_cfg = event.shop_id.and_then(|s| registry.shop(&event.app, s));
    let mut routed = Routed::default();
    let mut selected: Vec<(String, &Target, Option<String>)> = Vec::new();
    for rule in registry.routes.iter().filter(|r| r.matches(event)) {
        let Some(compiled) = registry.compiled.get(&rule.id) else {
            continue;
        };
        if let Some(condition) = &compiled.condition {
            match condition.eval(&prepared) {
                EvalOutcome::Matched => {}
                EvalOutcome::NotMatched => continue,
                EvalOutcome::Failed(why) => {
                    metrics::counter!("shoprelay_rule_eval_failed_total", "rule" => rule.id.to_string()).increment(1);
                    routed.failures.push((rule.id.to_string(), why.to_string()));
                    continue;
                }
            }
        }
        let text = match &compiled.template {
            Some(template) => match template.render(&prepared) {
                Ok(text) => Some(text),
                Err(err) => {
                    // The built-in message is better than none.
                    tracing::warn!(rule = %rule.id, error = %err, "rule template failed; using the built-in message");
                    None
                }
            },
            None => None,
        };
        for target in &rule.targets {
            selected.push((rule.id.to_string(), target, text.clone()));
        }
    }
    if ADMIN_KINDS.contains(&event.kind()) {
        if let Some(admin) = &registry.admin {
            for target in &admin.targets {
                selected.push(("admin".to_owned(), target, None));
            }
        }
    }
    // A notice about a failing destination never goes through that destination.
    let failing = match &event.body {
        EventBody::DeliveryFailing { destination, .. } => Some(destination.clone()),
        _ => None,
    };
    for (rule_id, target, text) in selected {
        if failing.as_deref() == Some(target.destination().as_str()) {
            continue;
        }
        let agent_id = match target {
            Target::WecomApp { app, .. } => registry.wecom_apps.get(app).map(|a| a.agent_id),
            Target::Appchat { app, .. } => registry.wecom_apps.get(app).map(|a| a.agent_id),
            Target::Robot { .. } | Target::Webhook { .. } => None,
        };
        let ctx = RenderContext {
            shop_name: shop_cfg.map(|s| s.name.as_str()),
            region: shop_cfg.and_then(|s| s.region.as_deref()),
            agent_id,
            custom_text: text.as_deref(),
            lang,
        };
        match render(event, target, ctx).and_then(|p| serde_json::to_string(&p)) {
            Ok(payload) => routed.deliveries.push(NewDelivery {
                route_id: rule_id,
                destination: target.destination(),
                payload,
                priority: if URGENT_KINDS.contains(&event.kind()) {
                    PRIORITY_URGENT
                } else {
                    PRIORITY_BULK
                },
                summary: summary(event, lang),
                recipients: recipients_key(target),
            }),
            // Our own types always serialise; if that ever breaks, say so loudly rather than send junk.
            Err(err) => tracing::error!(error = %err, rule = %rule_id, "rendering a message failed"),
        }
    }
    routed
}

/// Every rule's decision for `event`, for the dry run.
pub fn explain(registry: &Registry, event: &Event, now: i64) -> Vec<RuleDecision> {
    let prepared = PreparedEvent::new(event, now);
    registry
        .routes
        .iter()
        .map(|rule| {
            let outcome = if !rule.enabled {
                "disabled".to_owned()
            } else if !rule.matches(event) {
                "wrong_kind_or_shop".to_owned()
            } else {
                match registry
                    .compiled
                    .get(&rule.id)
                    .and_then(|c| c.condition.as_ref())
                    .map(|c| c.eval(&prepared))
                {
                    None | Some(EvalOutcome::Matched) => "matched".to_owned(),
                    Some(EvalOutcome::NotMatched) => "not_matched".to_owned(),
                    Some(EvalOutcome::Failed(why)) => format!("failed: {why}"),
                }
            };
            RuleDecision {
                rule: rule.id.to_string(),
                outcome,
            }
        })
        .collect()
}
