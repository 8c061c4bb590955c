//! Evaluating compiled conditions against one event. The event is prepared once
//! ([`PreparedEvent`]) and then many conditions run against it: the shop's local time is read once
//! and the CEL activation is built at most once, on the first `expr` that needs it.
//!
//! Conditions use the three-valued logic of CEL: a node is true, false or failed (a CEL runtime
//! error such as a null field). `all` is false if any part is false, else failed if any part
//! failed; `any` is true if any part is true, else failed if any part failed; `not` of a failure is
//! a failure. So a missing field never makes a `not` match, and the result does not depend on the
//! order of the parts. A failed condition does not match; [`EvalOutcome::Failed`] says why, so the
//! caller can count it per rule and show it in a dry run.

use std::fmt;
use std::sync::OnceLock;

use ::cel::Context;
use shoprelay_clock::UnixMs;

use super::cel::{self, CelRunError};
use super::compile::{CompiledCondition, ItemField, Node, TextMatcher};
use super::vars::{total_units, ShopClock, Vars};
use crate::event::{Event, EventBody};
use crate::order::{OrderItem, OrderStatus};

/// An event together with the evaluation time, ready for many conditions and templates.
pub struct PreparedEvent<'e> {
    event: &'e Event,
    clock: ShopClock,
    activation: OnceLock<Result<Context<'static, 'static>, CelRunError>>,
}

impl fmt::Debug for PreparedEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedEvent")
            .field("event", &self.event.dedupe_key)
            .field("now", &self.clock.at)
            .field("timezone", &self.clock.tz.name())
            .finish()
    }
}

impl<'e> PreparedEvent<'e> {
    /// Prepares `event` for evaluation at `now`, read in the shop's time zone.
    pub fn new(event: &'e Event, now: UnixMs) -> Self {
        Self {
            event,
            clock: ShopClock::for_event(event, now),
            activation: OnceLock::new(),
        }
    }

    /// The event being evaluated.
    pub fn event(&self) -> &'e Event {
        self.event
    }

    /// The evaluation time.
    pub fn now(&self) -> UnixMs {
        self.clock.at
    }

    /// The variables that CEL and templates see.
    pub(super) fn vars(&self) -> Vars<'e> {
        Vars::new(self.event, &self.clock)
    }

    pub(super) fn clock(&self) -> &ShopClock {
        &self.clock
    }

    fn activation(&self) -> Result<&Context<'static, 'static>, CelRunError> {
        self.activation
            .get_or_init(|| cel::activation(&self.vars()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The result of evaluating one condition against one event.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalOutcome {
    /// The condition holds.
    Matched,
    /// The condition does not hold.
    NotMatched,
    /// A CEL expression failed in a way that decided the result; treated as not matched.
    Failed(EvalFailure),
}

impl EvalOutcome {
    /// Whether the rule fires.
    pub fn is_match(&self) -> bool {
        matches!(self, EvalOutcome::Matched)
    }
}

/// Which expression failed on an event, and why (for per-rule counters and dry runs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression at `{path}` failed: {message}")]
pub struct EvalFailure {
    /// Path of the `expr` node in the condition, as in [`RuleError::path`](super::RuleError::path).
    pub path: String,
    /// The interpreter's description, e.g. `No such key: sku`.
    pub message: String,
}

/// A failed node, borrowed from the compiled tree until it is reported; the error is boxed because
/// failures are rare and `node`'s `Result` stays small on the common path.
struct Failure<'a> {
    path: &'a str,
    error: Box<CelRunError>,
}

impl CompiledCondition {
    /// Evaluates against a prepared event. Never panics; a CEL failure is reported, not raised.
    pub fn eval(&self, event: &PreparedEvent<'_>) -> EvalOutcome {
        match node(&self.root, event) {
            Ok(true) => EvalOutcome::Matched,
            Ok(false) => EvalOutcome::NotMatched,
            Err(f) => EvalOutcome::Failed(EvalFailure {
                path: f.path.to_owned(),
                message: f.error.to_string(),
            }),
        }
    }

    /// Shorthand for `eval(&PreparedEvent::new(event, now)).is_match()`, for one-off checks;
    /// evaluating many conditions should prepare the event once.
    pub fn matches(&self, event: &Event, now: UnixMs) -> bool {
        self.eval(&PreparedEvent::new(event, now)).is_match()
    }
}

fn node<'a>(n: &'a Node, ev: &PreparedEvent<'_>) -> Result<bool, Failure<'a>> {
    let event = ev.event;
    let order = event.order.as_ref();
    Ok(match n {
        Node::All(parts) => {
            let mut failed = None;
            for part in parts {
                match node(part, ev) {
                    Ok(true) => {}
                    Ok(false) => return Ok(false),
                    Err(f) => failed = failed.or(Some(f)),
                }
            }
            return failed.map_or(Ok(true), Err);
        }
        Node::Any(parts) => {
            let mut failed = None;
            for part in parts {
                match node(part, ev) {
                    Ok(true) => return Ok(true),
                    Ok(false) => {}
                    Err(f) => failed = failed.or(Some(f)),
                }
            }
            return failed.map_or(Ok(false), Err);
        }
        Node::Not(inner) => !node(inner, ev)?,
        Node::Platform(list) => list.contains(&event.platform),
        Node::Shop(list) => event.shop_id.is_some_and(|s| list.contains(&s)),
        Node::StatusTo(list) => status_to(event).is_some_and(|s| list.iter().any(|name| s.is_named(name))),
        Node::StatusFrom(list) => event
            .body
            .status_from()
            .is_some_and(|from| list.iter().any(|name| from.is_named(name))),
        Node::TotalAmount { bounds, currency } => order.is_some_and(|o| {
            let currency_ok = currency.as_deref().is_none_or(|want| {
                o.currency
                    .as_deref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(want))
            });
            currency_ok && o.total_amount.is_some_and(|amount| bounds.holds(amount))
        }),
        Node::Item { field, matcher } => order.is_some_and(|o| {
            o.items
                .iter()
                .any(|item| item_text(item, *field).is_some_and(|t| matcher.test(t)))
        }),
        // An order without items is one we could not enrich: its quantity is unknown, not zero.
        Node::Quantity(bounds) => order
            .is_some_and(|o| !o.items.is_empty() && bounds.holds(i64::try_from(total_units(o)).unwrap_or(i64::MAX))),
        Node::BuyerRegion(list) => order
            .and_then(|o| o.region.as_deref())
            .is_some_and(|r| list.iter().any(|want| want.eq_ignore_ascii_case(r.trim()))),
        Node::Cod(cod) => order.is_some_and(|o| o.cod == *cod),
        Node::PaymentMethod(list) => order
            .and_then(|o| o.payment_method.as_deref())
            .is_some_and(|m| list.iter().any(|want| eq_ignore_case(want, m.trim()))),
        Node::TimeOfDay { from, to } => {
            let now = ev.clock().minute_of_day();
            if from < to {
                *from <= now && now < *to
            } else {
                now >= *from || now < *to
            }
        }
        Node::Weekday(mask) => mask & (1 << ev.clock().weekday().num_days_from_monday()) != 0,
        Node::Expr { program, path } => {
            let failure = |error| Failure {
                path,
                error: Box::new(error),
            };
            let activation = ev.activation().map_err(failure)?;
            program.run(activation).map_err(failure)?
        }
    })
}

/// The status an order is in after the event.
fn status_to(event: &Event) -> Option<&OrderStatus> {
    match &event.body {
        EventBody::OrderStatusChanged { to, .. } => Some(to),
        _ => event.order.as_ref().map(|o| &o.status),
    }
}

fn item_text(item: &OrderItem, field: ItemField) -> Option<&str> {
    match field {
        ItemField::Sku => item.sku.as_deref(),
        ItemField::Name => Some(&item.name),
        ItemField::Model => item.model_name.as_deref(),
    }
}

impl TextMatcher {
    fn test(&self, text: &str) -> bool {
        match self {
            TextMatcher::Equals(want) => text == want,
            TextMatcher::Prefix(want) => text.starts_with(want.as_str()),
            TextMatcher::Contains(needle) => contains_ignore_case(text, needle),
        }
    }
}

/// Case-insensitive `contains` with an already lower-cased needle; ASCII text (most SKUs and many
/// names) is compared in place, without allocating.
fn contains_ignore_case(text: &str, needle_lower: &str) -> bool {
    if text.is_ascii() && needle_lower.is_ascii() {
        let (t, n) = (text.as_bytes(), needle_lower.as_bytes());
        return n.is_empty() || n.len() <= t.len() && t.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    text.to_lowercase().contains(needle_lower)
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || (!a.is_ascii() && a.to_lowercase() == b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::EventKind;
    use crate::order::OrderSnapshot;
    use crate::order::OrderStage;
    use crate::rules::{sample_event, Condition, SAMPLE_TIME};

    fn rule(value: serde_json::Value) -> CompiledCondition {
        let condition: Condition = serde_json::from_value(value).unwrap();
        CompiledCondition::compile(&condition, &crate::rules::compile::TestNames).unwrap()
    }

    /// The sample status change: SG shop 100001, UNPAID → READY_TO_SHIP, SGD 58.80, 3 units
    /// (TS-001-BLK-M × 2 "Black, M", PC-IP15 × 1), a wallet, not COD; Saturday 17:40 in Singapore.
    fn changed() -> Event {
        sample_event(EventKind::OrderStatusChanged)
    }

    fn outcome(value: serde_json::Value, event: &Event, now: UnixMs) -> EvalOutcome {
        rule(value).eval(&PreparedEvent::new(event, now))
    }

    fn holds(value: serde_json::Value, event: &Event) -> bool {
        outcome(value, event, SAMPLE_TIME).is_match()
    }

    fn with_order(edit: impl FnOnce(&mut OrderSnapshot)) -> Event {
        let mut event = changed();
        if let Some(order) = event.order.as_mut() {
            edit(order);
        }
        event
    }

    #[test]
    fn identity_conditions() {
        let ev = changed();
        assert!(holds(json!({"platform": ["marketplace"]}), &ev));
        assert!(!holds(json!({"platform": ["lazada"]}), &ev));
        assert!(holds(json!({"shop": [7, 100001]}), &ev));
        assert!(!holds(json!({"shop": [7]}), &ev));
        let mut no_shop = changed();
        no_shop.shop_id = None;
        assert!(!holds(json!({"shop": [100001]}), &no_shop));
    }

    #[test]
    fn status_conditions() {
        let ev = changed();
        assert!(holds(json!({"status_to": ["to_ship"]}), &ev));
        assert!(!holds(json!({"status_to": ["shipped"]}), &ev));
        assert!(holds(json!({"status_from": ["unpaid"]}), &ev));
        assert!(!holds(json!({"status_from": ["shipped"]}), &ev));
        // A platform's own status word selects too, in any letter case.
        let mut shopee_like = changed();
        shopee_like.body = EventBody::OrderStatusChanged {
            from: None,
            to: OrderStatus::new(OrderStage::ToShip, "READY_TO_SHIP"),
        };
        assert!(holds(json!({"status_to": ["ready_to_ship"]}), &shopee_like));
        assert!(holds(json!({"status_to": ["to_ship"]}), &shopee_like));
        assert!(!holds(json!({"status_to": ["PROCESSED"]}), &shopee_like));
        // Other kinds: `status_to` reads the snapshot, `status_from` needs a change.
        let created = sample_event(EventKind::OrderCreated);
        assert!(holds(json!({"status_to": ["to_ship"]}), &created));
        assert!(!holds(json!({"status_from": ["unpaid"]}), &created));
        assert!(!holds(
            json!({"status_to": ["to_ship"]}),
            &sample_event(EventKind::ShopAuthorized)
        ));
    }

    #[test]
    fn amount_conditions() {
        let ev = changed();
        assert!(holds(json!({"total_amount": {"gte": "50", "currency": "SGD"}}), &ev));
        assert!(holds(json!({"total_amount": {"eq": 58.8}}), &ev));
        assert!(holds(json!({"total_amount": {"gt": 50, "lt": "58.81"}}), &ev));
        assert!(!holds(json!({"total_amount": {"gt": "58.80"}}), &ev));
        assert!(!holds(json!({"total_amount": {"gte": 1, "currency": "MYR"}}), &ev));
        let unknown = with_order(|o| o.total_amount = None);
        assert!(!holds(json!({"total_amount": {"gte": 0}}), &unknown));
    }

    #[test]
    fn item_conditions() {
        let ev = changed();
        assert!(holds(json!({"sku": {"equals": "PC-IP15"}}), &ev));
        assert!(!holds(json!({"sku": {"equals": "pc-ip15"}}), &ev));
        assert!(holds(json!({"sku": {"prefix": "TS-"}}), &ev));
        assert!(!holds(json!({"sku": {"prefix": "ts-"}}), &ev));
        assert!(holds(json!({"sku": {"contains": "blk"}}), &ev));
        assert!(holds(json!({"item_name": {"contains": "PHONE case"}}), &ev));
        assert!(!holds(json!({"item_name": {"contains": "laptop"}}), &ev));
        assert!(holds(json!({"model": {"equals": "Black, M"}}), &ev));
        assert!(!holds(json!({"model": {"contains": "red"}}), &ev));
        let unicode = with_order(|o| o.items[0].name = "纯棉 T 恤 ÄRMEL".into());
        assert!(holds(json!({"item_name": {"contains": "ärmel"}}), &unicode));
        assert!(holds(json!({"item_name": {"contains": "T 恤"}}), &unicode));
    }

    #[test]
    fn quantity_region_cod_and_payment() {
        let ev = changed();
        assert!(holds(json!({"quantity": {"eq": 3}}), &ev));
        assert!(!holds(json!({"quantity": {"gte": 4}}), &ev));
        let unenriched = with_order(|o| o.items.clear());
        assert!(!holds(json!({"quantity": {"lt": 10}}), &unenriched));
        assert!(holds(json!({"buyer_region": ["my", "sg"]}), &ev));
        assert!(!holds(json!({"buyer_region": ["MY"]}), &ev));
        assert!(holds(json!({"cod": false}), &ev));
        assert!(!holds(json!({"cod": true}), &ev));
        assert!(!holds(json!({"cod": false}), &sample_event(EventKind::ShopAuthorized)));
        assert!(holds(json!({"payment_method": ["wallet"]}), &ev));
        assert!(!holds(json!({"payment_method": ["Cash on Delivery"]}), &ev));
    }

    #[test]
    fn time_conditions_use_the_shop_time_zone() {
        let ev = changed(); // Saturday 17:40 in Singapore
        assert!(holds(json!({"time_of_day": {"from": "17:00", "to": "18:00"}}), &ev));
        assert!(!holds(json!({"time_of_day": {"from": "18:00", "to": "24:00"}}), &ev));
        assert!(holds(json!({"weekday": ["sat", "Sunday"]}), &ev));
        assert!(!holds(json!({"weekday": ["mon"]}), &ev));

        // 2024-08-10 02:00 UTC: 10:00 Saturday in Singapore, 23:00 Friday in São Paulo.
        let instant = UnixMs::from_secs(1_723_255_200);
        let night = json!({"time_of_day": {"from": "22:00", "to": "06:00"}});
        let brazil = with_order(|o| o.region = Some("BR".into()));
        assert!(!outcome(night.clone(), &ev, instant).is_match());
        assert!(outcome(night.clone(), &brazil, instant).is_match());
        assert!(outcome(json!({"weekday": ["fri"]}), &brazil, instant).is_match());
        assert!(!outcome(json!({"weekday": ["fri"]}), &ev, instant).is_match());

        // The wrapped window in Singapore: 05:59 inside, 06:00 outside, 22:00 inside again.
        let at = |h: i64, m: i64| UnixMs::from_secs(instant.as_secs() - 10 * 3600 + h * 3600 + m * 60);
        assert!(outcome(night.clone(), &ev, at(5, 59)).is_match());
        assert!(!outcome(night.clone(), &ev, at(6, 0)).is_match());
        assert!(!outcome(night.clone(), &ev, at(21, 59)).is_match());
        assert!(outcome(night, &ev, at(22, 0)).is_match());
    }

    #[test]
    fn cel_expressions_over_the_event() {
        let ev = changed();
        for expr in [
            "order.total_amount > 50.0 && order.currency == 'SGD'",
            "order.items.exists(i, i.sku == 'PC-IP15' && i.quantity == 1)",
            "order.items.all(i, i.unit_price < 20.0)",
            "order.quantity == 3 && size(order.items) == 2",
            "event.from_status == 'unpaid' && event.to_status == 'to_ship' && event.to_platform_status == 'TO_SHIP'",
            "order.status == 'to_ship' && order.platform_status == 'TO_SHIP'",
            "event.kind == 'order_status_changed' && event.platform == 'marketplace' && event.shop_id == 100001",
            "now.weekday in ['sat', 'sun'] && now.hour == 17 && now.minute == 40",
            "now.timezone == 'Asia/Singapore' && now.local == '2024-08-10 17:40'",
            "order.buyer_username.startsWith('tan') && !order.cod",
            "order.items.exists(i, i.model != null && i.model.contains('Black'))",
        ] {
            assert_eq!(
                outcome(json!({ "expr": expr }), &ev, SAMPLE_TIME),
                EvalOutcome::Matched,
                "{expr}"
            );
        }
        assert_eq!(
            outcome(json!({"expr": "order.quantity >= 5"}), &ev, SAMPLE_TIME),
            EvalOutcome::NotMatched
        );
    }

    #[test]
    fn cel_failures_do_not_match_and_say_why() {
        let ev = changed();
        let EvalOutcome::Failed(failure) = outcome(
            json!({"all": [{"cod": false}, {"expr": "event.reason.size() > 0"}]}),
            &ev,
            SAMPLE_TIME,
        ) else {
            panic!("a null field should fail")
        };
        assert_eq!(failure.path, "all[1].expr");
        assert!(!failure.message.is_empty());
        // No order on a shop event: `order` is undeclared there.
        let shop_event = sample_event(EventKind::ShopAuthorized);
        let outcome = outcome(json!({"expr": "order.cod"}), &shop_event, SAMPLE_TIME);
        assert!(
            matches!(&outcome, EvalOutcome::Failed(f) if f.message.contains("order")),
            "{outcome:?}"
        );
        assert!(!outcome.is_match());
    }

    #[test]
    fn interpreter_edge_cases_fail_instead_of_panicking() {
        let ev = changed();
        let prepared = PreparedEvent::new(&ev, SAMPLE_TIME);
        for expr in [
            "b'abc'.contains(b'')",
            "-(-9223372036854775807 - 1) > 0",
            "9223372036854775807 + 1 > 0",
            "order.quantity / 0 == 1",
            "order.quantity % 0 == 1",
            "order.items[5].sku == 'x'",
            "order.items[-1].sku == 'x'",
            "'abc'.matches('(')",
            "int('x') == 1",
            "uint(-1) == 1u",
            "double('x') > 1.0",
            "size(1) == 1",
            "timestamp('x') == timestamp('y')",
            "duration('99999999999999h') > duration('1s')",
            "max() == 1",
            "string(b'\\xff') == ''",
            "order.items.map(i, i.quantity).filter(x, x > 1) == [2]",
        ] {
            if let Ok(compiled) =
                CompiledCondition::compile(&Condition::Expr(expr.to_owned()), &crate::rules::compile::TestNames)
            {
                let _ = compiled.eval(&prepared);
            }
        }
    }

    #[test]
    fn combinators_follow_three_valued_logic() {
        let ev = changed();
        let fail = json!({"expr": "event.reason.size() > 0"});
        let yes = json!({"cod": false});
        let no = json!({"cod": true});
        let run = |value| outcome(value, &ev, SAMPLE_TIME);
        assert_eq!(run(json!({"all": [fail, no]})), EvalOutcome::NotMatched);
        assert!(matches!(run(json!({"all": [yes, fail]})), EvalOutcome::Failed(_)));
        assert_eq!(run(json!({"any": [fail, yes]})), EvalOutcome::Matched);
        assert!(matches!(run(json!({"any": [no, fail]})), EvalOutcome::Failed(_)));
        // A failure never turns into a match through `not`.
        assert!(matches!(run(json!({"not": fail})), EvalOutcome::Failed(_)));
        assert_eq!(run(json!({"all": []})), EvalOutcome::Matched);
    }

    #[test]
    fn nested_combinators() {
        let ev = changed();
        let c = json!({"all": [
            {"status_to": ["to_ship"]},
            {"any": [{"total_amount": {"gte": "100"}}, {"sku": {"prefix": "PC-"}}]},
            {"not": {"any": [{"cod": true}, {"buyer_region": ["MY"]}]}},
        ]});
        assert!(holds(c, &ev));
        let c = json!({"all": [
            {"status_to": ["to_ship"]},
            {"not": {"all": [{"sku": {"prefix": "PC-"}}, {"quantity": {"gte": 3}}]}},
        ]});
        assert!(!holds(c, &ev));
        assert!(rule(json!({"any": [{"cod": true}, {"expr": "order.quantity > 2"}]})).matches(&ev, SAMPLE_TIME));
    }

    #[test]
    fn compiled_rules_and_prepared_events_cross_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<CompiledCondition>();
        shareable::<PreparedEvent<'static>>();
        shareable::<crate::rules::MessageTemplate>();
    }

    #[test]
    fn a_prepared_event_serves_many_rules() {
        let ev = changed();
        let prepared = PreparedEvent::new(&ev, SAMPLE_TIME);
        let rules: Vec<_> = (0..50)
            .map(|i| rule(json!({"expr": format!("order.quantity + {i} > 10")})))
            .collect();
        let matched = rules.iter().filter(|r| r.eval(&prepared).is_match()).count();
        assert_eq!(matched, 42); // 3 + i > 10 for i in 8..50
        assert_eq!(prepared.now(), SAMPLE_TIME);
        assert_eq!(prepared.event().dedupe_key, ev.dedupe_key);
    }
}
