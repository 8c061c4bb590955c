//! Routing: which rules an event meets and what each of their targets receives. Pure — the same function
//! serves the pipeline, the dry run (`shoprelay rules test`, `POST /api/v1/rules/test`) and previews.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::error::Lang;
use shoprelay_core::event::{Event, EventBody, EventKind, LogisticsIssue};
use shoprelay_core::ids::{ConfigId, WeComUserId};
use shoprelay_core::policy::{masked_event, Display};
use shoprelay_core::route::{Route, Sticky, Target};
use shoprelay_core::rules::{EvalFailure, EvalOutcome, PreparedEvent};
use shoprelay_core::time::region_timezone;
use shoprelay_store::{NewDelivery, PRIORITY_BULK, PRIORITY_URGENT};

use crate::chat::buttons::{self, CardRef};
use crate::config::Registry;
use crate::render::{recipients_key, render, summary, CardButtons, RenderContext};

/// Event kinds an admin also hears about, whatever the rules say.
const ADMIN_KINDS: [EventKind; 5] = [
    EventKind::ReauthorizationRequired,
    EventKind::ChatUnavailable,
    EventKind::AuthorizationExpiring,
    EventKind::ShopDeauthorized,
    EventKind::DeliveryFailing,
];

/// Event kinds sent before order news and never folded into a digest.
const URGENT_KINDS: [EventKind; 8] = [
    EventKind::BuyerMessage,
    EventKind::ChatUnavailable,
    EventKind::Escalation,
    EventKind::CancellationRequested,
    EventKind::ReauthorizationRequired,
    EventKind::AuthorizationExpiring,
    EventKind::ShopDeauthorized,
    EventKind::DeliveryFailing,
];

/// What routing decided for one event.
#[derive(Debug, Default)]
pub struct Routed {
    /// One outbox row per target of every rule met that needs no handling (and admin targets).
    pub deliveries: Vec<NewDelivery>,
    /// Rules met that assign the event or want it acknowledged: their deliveries are rendered once the
    /// task exists (see [`render_task`]).
    pub tasks: Vec<TaskRequest>,
    /// Rules whose condition could not be evaluated on this event (counted as not met), with why.
    pub failures: Vec<(String, String)>,
}

/// A rule met that assigns the event or escalates it unless acknowledged.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The rule.
    pub rule: Route,
    /// Members on duty now (all members when nobody is), in the rule's order.
    pub candidates: Vec<WeComUserId>,
    /// What keeps going to the same member.
    pub sticky_key: Option<String>,
    /// When it escalates unless acknowledged.
    pub escalate_at: Option<UnixMs>,
    /// The rule's own message, rendered.
    pub text: Option<String>,
    /// Quiet hours hold, as for any delivery.
    pub quiet_until: Option<UnixMs>,
}

/// A rule's decision, as the dry run shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleDecision {
    /// Rule id.
    pub rule: String,
    /// `matched`, `not_matched`, `wrong_kind_or_shop`, `disabled` or `failed: …`.
    #[schema(value_type = String)]
    pub outcome: RuleOutcome,
}

/// What a rule decided for an event; shown and serialised as the words [`RuleDecision::outcome`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    /// Its condition holds (or it has none).
    Matched,
    /// Its condition does not hold.
    NotMatched,
    /// It is not about this kind of event, this shop or this logistics threshold.
    WrongKindOrShop,
    /// Switched off.
    Disabled,
    /// Its condition could not be evaluated.
    Failed(EvalFailure),
}

impl fmt::Display for RuleOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleOutcome::Matched => f.write_str("matched"),
            RuleOutcome::NotMatched => f.write_str("not_matched"),
            RuleOutcome::WrongKindOrShop => f.write_str("wrong_kind_or_shop"),
            RuleOutcome::Disabled => f.write_str("disabled"),
            RuleOutcome::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

impl Serialize for RuleOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The time zone of the event's shop: the order's region, else the configured shop's.
fn shop_tz(registry: &Registry, event: &Event) -> chrono_tz::Tz {
    let shop_region = event
        .shop_id
        .and_then(|s| registry.shop(&event.app, s))
        .and_then(|s| s.region.as_deref());
    region_timezone(event.order.as_ref().and_then(|o| o.region.as_deref()).or(shop_region))
}

/// The deliveries for `event` at `now` (for time-of-day conditions in the shop's zone), with built-in
/// messages in `lang`.
pub fn route(registry: &Registry, event: &Event, now: UnixMs, lang: Lang) -> Routed {
    let prepared = PreparedEvent::new(event, now);
    // Conditions see every field; messages see personal ones masked unless their rule shows them in full.
    let masked = masked_event(event);
    let prepared_masked = masked.as_ref().map(|m| PreparedEvent::new(m, now));
    let tz = shop_tz(registry, event);
    let mut routed = Routed::default();
    let mut selected: Vec<Selected> = Vec::new();
    for rule in registry.routes.iter().filter(|r| r.selects_kind(event)) {
        let Some(compiled) = registry.compiled.get(&rule.id) else {
            continue;
        };
        if !compiled.selects_shop(event.shop_id) {
            continue;
        }
        if !logistics_threshold_matches(rule, event) {
            continue;
        }
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
        let shown = match (&prepared_masked, rule.personal_data) {
            (Some(masked), Display::Masked) => masked,
            _ => &prepared,
        };
        let text = match &compiled.template {
            Some(template) => match template.render(shown) {
                Ok(text) => Some(text),
                Err(err) => {
                    // The built-in message is better than none.
                    tracing::warn!(rule = %rule.id, error = %err, "rule template failed; using the built-in message");
                    None
                }
            },
            None => None,
        };
        let quiet_until = match &compiled.quiet {
            Some(window) if !rule.urgent => window.end_after(now, tz),
            _ => None,
        };
        // An escalation is never itself tracked, or a catch-all rule would escalate its own escalations.
        if rule.tracks_handling() && event.kind() != EventKind::Escalation {
            let on_duty: Vec<WeComUserId> = compiled
                .duty
                .iter()
                .filter(|(_, hours)| hours.is_none_or(|w| w.contains(now, tz)))
                .map(|(user, _)| user.clone())
                .collect();
            // Nobody on duty: still someone must get it; the whole group is the fallback.
            let candidates = if on_duty.is_empty() {
                compiled.duty.iter().map(|(user, _)| user.clone()).collect()
            } else {
                on_duty
            };
            let starts = quiet_until.unwrap_or(now).max(now);
            routed.tasks.push(TaskRequest {
                rule: rule.clone(),
                candidates,
                sticky_key: rule.assign.as_ref().and_then(|a| sticky_key(a.sticky, event)),
                escalate_at: rule
                    .escalate
                    .as_ref()
                    .map(|e| starts + Duration::from_secs(u64::from(e.after_minutes) * 60)),
                text,
                quiet_until,
            });
            continue;
        }
        for target in &rule.targets {
            selected.push(Selected {
                rule_id: rule.id.to_string(),
                target: target.clone(),
                text: text.clone(),
                urgent: rule.urgent,
                quiet_until,
                ack: None,
                personal_data: rule.personal_data,
            });
        }
    }
    if ADMIN_KINDS.contains(&event.kind()) {
        if let Some(admin) = &registry.admin {
            for target in &admin.targets {
                selected.push(Selected {
                    rule_id: "admin".to_owned(),
                    target: target.clone(),
                    text: None,
                    urgent: false,
                    quiet_until: None,
                    ack: None,
                    personal_data: Display::Masked,
                });
            }
        }
    }
    routed.deliveries = render_selected(registry, event, selected, lang);
    routed
}

/// The deliveries of a notice shoprelay raises for the `[admin]` targets in its own words (`text`,
/// markdown; webhooks get the event), e.g. recipients a message did not reach.
pub fn admin_notice(registry: &Registry, event: &Event, text: &str, lang: Lang) -> Vec<NewDelivery> {
    let Some(admin) = &registry.admin else {
        return Vec::new();
    };
    let selected = admin
        .targets
        .iter()
        .map(|target| Selected {
            rule_id: "admin".to_owned(),
            target: target.clone(),
            text: Some(text.to_owned()),
            urgent: false,
            quiet_until: None,
            ack: None,
            personal_data: Display::Masked,
        })
        .collect();
    render_selected(registry, event, selected, lang)
}

/// One member reached through WeCom app `app`.
pub fn member_target(app: &ConfigId, member: &WeComUserId) -> Target {
    Target::WecomApp {
        app: app.clone(),
        users: vec![member.clone()],
        departments: Vec::new(),
        tags: Vec::new(),
        all: false,
    }
}

/// The deliveries of an event for one member through WeCom app `app` (a buyer message to the member
/// holding its conversation), urgent like every buyer message.
pub fn to_member(
    registry: &Registry,
    event: &Event,
    app: &ConfigId,
    member: &WeComUserId,
    lang: Lang,
) -> Vec<NewDelivery> {
    let selected = vec![Selected {
        rule_id: "conversation".to_owned(),
        target: member_target(app, member),
        text: None,
        urgent: true,
        quiet_until: None,
        ack: None,
        personal_data: Display::Masked,
    }];
    render_selected(registry, event, selected, lang)
}

/// The deliveries that bring `event` to `targets` (a `[[chat]]` supervisor): urgent, personal data masked.
pub fn to_targets(
    registry: &Registry,
    event: &Event,
    targets: &[Target],
    rule_id: &str,
    lang: Lang,
) -> Vec<NewDelivery> {
    let selected = targets
        .iter()
        .map(|target| Selected {
            rule_id: rule_id.to_owned(),
            target: target.clone(),
            text: None,
            urgent: true,
            quiet_until: None,
            ack: None,
            personal_data: Display::Masked,
        })
        .collect();
    render_selected(registry, event, selected, lang)
}

/// Every delivery the event would produce, for dry runs and previews; nothing is stored. A rule that
/// assigns is shown with its first on-duty member (the real pick depends on stored turns and loads) and
/// a placeholder acknowledgement link.
pub fn preview(registry: &Registry, event: &Event, now: UnixMs, lang: Lang, public_url: &str) -> Vec<NewDelivery> {
    let routed = route(registry, event, now, lang);
    let mut out = routed.deliveries;
    for req in &routed.tasks {
        let view = TaskView {
            id: 0,
            assignee: req.candidates.first().cloned(),
            ack_url: format!("{}/ack/preview", public_url.trim_end_matches('/')),
        };
        out.extend(render_task(registry, event, req, &view, lang));
    }
    out
}

/// A logistics-exception rule with its own threshold hears only about that threshold being crossed.
fn logistics_threshold_matches(rule: &Route, event: &Event) -> bool {
    match &event.body {
        EventBody::LogisticsException {
            issue: LogisticsIssue::Stalled,
            days_without_update,
            ..
        } => *days_without_update == Some(rule.stalled_after_days.unwrap_or(DEFAULT_STALLED_DAYS)),
        EventBody::LogisticsException {
            issue: LogisticsIssue::LateShipmentRisk,
            hours_to_ship_by,
            ..
        } => *hours_to_ship_by == Some(rule.ship_risk_hours.unwrap_or(DEFAULT_SHIP_RISK_HOURS)),
        _ => true,
    }
}

/// "No tracking update" threshold of a rule that names none.
pub const DEFAULT_STALLED_DAYS: u32 = 3;
/// "Late-shipment risk" threshold of a rule that names none.
pub const DEFAULT_SHIP_RISK_HOURS: u32 = 24;

/// What keeps an event with the member who had the order or the buyer before.
fn sticky_key(sticky: Sticky, event: &Event) -> Option<String> {
    let shop = event.shop_id.map_or_else(String::new, |s| s.to_string());
    match sticky {
        Sticky::None => None,
        Sticky::Order => event.order_sn.as_ref().map(|sn| format!("order:{shop}:{sn}")),
        Sticky::Buyer => {
            let buyer = match &event.body {
                EventBody::BuyerMessage { from_user_name, .. } => Some(from_user_name.as_str()),
                _ => event.order.as_ref().and_then(|o| o.buyer_username.as_deref()),
            };
            buyer
                .map(|b| format!("buyer:{shop}:{b}"))
                .or_else(|| event.order_sn.as_ref().map(|sn| format!("order:{shop}:{sn}")))
        }
    }
}

/// The task a tracked rule's messages belong to, as rendering needs it.
#[derive(Debug, Clone)]
pub struct TaskView {
    /// The task's id (what a card's acknowledge button acknowledges).
    pub id: i64,
    /// Who has it.
    pub assignee: Option<WeComUserId>,
    /// The acknowledgement link.
    pub ack_url: String,
}

/// The deliveries of a tracked rule once its task exists: the assignee (through the rule's WeCom app)
/// and the rule's other targets, each with the acknowledgement link.
pub fn render_task(
    registry: &Registry,
    event: &Event,
    req: &TaskRequest,
    task: &TaskView,
    lang: Lang,
) -> Vec<NewDelivery> {
    let assignee = match (&req.rule.assign, &task.assignee) {
        (Some(assign), Some(user)) => Some(Target::WecomApp {
            app: assign.app.clone(),
            users: vec![user.clone()],
            departments: Vec::new(),
            tags: Vec::new(),
            all: false,
        }),
        _ => None,
    };
    let selected = assignee
        .into_iter()
        .chain(req.rule.targets.iter().cloned())
        .map(|target| Selected {
            rule_id: req.rule.id.to_string(),
            target,
            text: req.text.clone(),
            // Someone must act on it: never folded into a digest, which has no acknowledge button.
            urgent: true,
            quiet_until: req.quiet_until,
            ack: Some(task.clone()),
            personal_data: req.rule.personal_data,
        })
        .collect();
    render_selected(registry, event, selected, lang)
}

/// The escalation of an unacknowledged task to its rule's `escalate.targets`.
pub fn render_escalation(registry: &Registry, event: &Event, rule: &Route, lang: Lang) -> Vec<NewDelivery> {
    let Some(escalate) = &rule.escalate else {
        return Vec::new();
    };
    let selected = escalate
        .targets
        .iter()
        .map(|target| Selected {
            rule_id: format!("{}:escalation", rule.id),
            target: target.clone(),
            text: None,
            urgent: true,
            quiet_until: None,
            ack: None,
            personal_data: Display::Masked,
        })
        .collect();
    render_selected(registry, event, selected, lang)
}

/// One target a rule selected, before rendering.
struct Selected {
    rule_id: String,
    target: Target,
    text: Option<String>,
    urgent: bool,
    quiet_until: Option<UnixMs>,
    ack: Option<TaskView>,
    personal_data: Display,
}

fn render_selected(registry: &Registry, event: &Event, selected: Vec<Selected>, lang: Lang) -> Vec<NewDelivery> {
    let shop_cfg = event.shop_id.and_then(|s| registry.shop(&event.app, s));
    let masked = masked_event(event);
    // A notice about a failing destination never goes through that destination.
    let failing = match &event.body {
        EventBody::DeliveryFailing { destination, .. } => Some(destination),
        _ => None,
    };
    let conversation = match &event.body {
        EventBody::BuyerMessage { conversation, .. } => *conversation,
        _ => None,
    };
    let mut out = Vec::new();
    for s in selected {
        let destination = match s.target.destination() {
            Ok(destination) => destination,
            // The configuration check refuses such a target before it can be routed to.
            Err(err) => {
                tracing::error!(error = %err, rule = %s.rule_id, "a target without a valid destination");
                continue;
            }
        };
        if failing == Some(&destination) {
            continue;
        }
        let agent_id = match &s.target {
            Target::WecomApp { app, .. } => registry.wecom_apps.get(app).map(|a| a.agent_id),
            Target::Appchat { app, .. } => registry.wecom_apps.get(app).map(|a| a.agent_id),
            Target::Robot { .. } | Target::Webhook { .. } => None,
        };
        let interactive = match &s.target {
            Target::WecomApp { app, .. } if s.text.is_none() => {
                registry.wecom_apps.get(app).is_some_and(|a| a.receives_clicks())
            }
            _ => false,
        };
        let card = CardRef {
            conversation: conversation.filter(|_| interactive),
            task: s.ack.as_ref().map(|a| a.id).filter(|_| interactive),
        };
        let task_id = (card.conversation.is_some() || card.task.is_some()).then(|| {
            card.task_id(&format!(
                "{}|{}|{}",
                event.dedupe_key,
                s.rule_id,
                recipients_key(&s.target)
            ))
        });
        let conversation_url = card
            .conversation
            .map(|id| buttons::conversation_url(&registry.public_url, id));
        let ctx = RenderContext {
            shop_name: shop_cfg.map(|s| s.name.as_str()),
            region: shop_cfg.and_then(|s| s.region.as_deref()),
            agent_id,
            custom_text: s.text.as_deref(),
            lang,
            assignee: s.ack.as_ref().and_then(|a| a.assignee.as_ref().map(|u| u.as_str())),
            ack_url: s.ack.as_ref().map(|a| a.ack_url.as_str()),
            personal_data: s.personal_data,
            buttons: task_id.as_deref().map(|task_id| CardButtons {
                task_id,
                conversation_url: conversation_url.as_deref(),
            }),
        };
        let shown = match (&masked, s.personal_data) {
            (Some(masked), Display::Masked) => masked,
            _ => event,
        };
        match render(shown, &s.target, ctx).and_then(|p| serde_json::to_string(&p)) {
            Ok(payload) => out.push(NewDelivery {
                route_id: s.rule_id,
                destination,
                payload,
                priority: if s.urgent || URGENT_KINDS.contains(&event.kind()) {
                    PRIORITY_URGENT
                } else {
                    PRIORITY_BULK
                },
                summary: summary(shown, lang),
                recipients: recipients_key(&s.target),
                quiet_until: s.quiet_until,
            }),
            // Our own types always serialise; if that ever breaks, say so loudly rather than send junk.
            Err(err) => tracing::error!(error = %err, rule = %s.rule_id, "rendering a message failed"),
        }
    }
    out
}

/// Every rule's decision for `event`, for the dry run.
pub fn explain(registry: &Registry, event: &Event, now: UnixMs) -> Vec<RuleDecision> {
    let prepared = PreparedEvent::new(event, now);
    registry
        .routes
        .iter()
        .map(|rule| {
            let outcome = if !rule.enabled {
                RuleOutcome::Disabled
            } else if !rule.selects_kind(event)
                || !registry
                    .compiled
                    .get(&rule.id)
                    .is_some_and(|c| c.selects_shop(event.shop_id))
                || !logistics_threshold_matches(rule, event)
            {
                RuleOutcome::WrongKindOrShop
            } else {
                match registry
                    .compiled
                    .get(&rule.id)
                    .and_then(|c| c.condition.as_ref())
                    .map(|c| c.eval(&prepared))
                {
                    None | Some(EvalOutcome::Matched) => RuleOutcome::Matched,
                    Some(EvalOutcome::NotMatched) => RuleOutcome::NotMatched,
                    Some(EvalOutcome::Failed(why)) => RuleOutcome::Failed(why),
                }
            };
            RuleDecision {
                rule: rule.id.to_string(),
                outcome,
            }
        })
        .collect()
}
