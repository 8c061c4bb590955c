//! Compiling a [`Condition`] once, at load: every value parsed, every CEL program built, and the
//! first mistake reported with its path in the tree (`all[1].total_amount.gte`) so the seller's
//! console can point at it.

use std::cell::OnceCell;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::cel::{self, CelCompileError, CelProgram, CelRunError};
use super::condition::{AmountTest, Condition, CountTest, DecimalText, TextTest, TimeWindow};
use super::error::{RuleError, RuleProblem};
use super::eval::PreparedEvent;
use super::sample::sample_event;
use crate::event::{EventKind, Platform};
use crate::ids::ShopId;
use crate::order::OrderStage;

/// Deepest nesting of `all` / `any` / `not` accepted; evaluation recurses over the tree.
pub const MAX_CONDITION_DEPTH: usize = 32;

/// A condition that is ready to evaluate: see [`CompiledCondition::eval`](Self::eval).
#[derive(Debug)]
pub struct CompiledCondition {
    pub(super) root: Node,
}

/// A compiled node. Children of `all` / `any` are ordered so that CEL nodes run last.
#[derive(Debug)]
pub(super) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Platform(Vec<Platform>),
    Shop(Vec<ShopId>),
    /// Stage names or platform statuses (matched in any letter case).
    StatusTo(Vec<String>),
    StatusFrom(Vec<String>),
    TotalAmount {
        bounds: Bounds<Decimal>,
        currency: Option<String>,
    },
    Item {
        field: ItemField,
        matcher: TextMatcher,
    },
    Quantity(Bounds<i64>),
    /// Upper-case region codes.
    BuyerRegion(Vec<String>),
    Cod(bool),
    PaymentMethod(Vec<String>),
    /// Minutes since local midnight, `[from, to)`, wrapping when `from > to`.
    TimeOfDay {
        from: u16,
        to: u16,
    },
    /// Bit `n` set for the weekday `n` days from Monday.
    Weekday(u8),
    Expr {
        program: CelProgram,
        path: String,
    },
}

impl Node {
    /// Whether evaluating the node may run CEL, the one costly kind.
    fn runs_cel(&self) -> bool {
        match self {
            Node::All(nodes) | Node::Any(nodes) => nodes.iter().any(Node::runs_cel),
            Node::Not(node) => node.runs_cel(),
            Node::Expr { .. } => true,
            _ => false,
        }
    }
}

/// Comparisons that must all hold.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds<T> {
    gt: Option<T>,
    gte: Option<T>,
    lt: Option<T>,
    lte: Option<T>,
    eq: Option<T>,
}

impl<T: PartialOrd + Copy> Bounds<T> {
    /// Whether `v` meets every comparison given.
    pub(super) fn holds(&self, v: T) -> bool {
        self.gt.is_none_or(|b| v > b)
            && self.gte.is_none_or(|b| v >= b)
            && self.lt.is_none_or(|b| v < b)
            && self.lte.is_none_or(|b| v <= b)
            && self.eq.is_none_or(|b| v == b)
    }

    fn is_empty(&self) -> bool {
        self.gt.is_none() && self.gte.is_none() && self.lt.is_none() && self.lte.is_none() && self.eq.is_none()
    }

    /// Whether some value could meet them all (`gt = 100, lt = 50` cannot): such a rule is a mistake.
    fn satisfiable(&self) -> bool {
        if let Some(e) = self.eq {
            return self.holds(e);
        }
        let below = |upper: T, strict_upper: bool| {
            self.gt.is_none_or(|l| l < upper)
                && self
                    .gte
                    .is_none_or(|l| if strict_upper { l < upper } else { l <= upper })
        };
        self.lt.is_none_or(|u| below(u, true)) && self.lte.is_none_or(|u| below(u, false))
    }
}

/// Which text of an item a text test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ItemField {
    Sku,
    Name,
    Model,
}

/// A compiled text test.
#[derive(Debug)]
pub(super) enum TextMatcher {
    Equals(String),
    /// The needle, lower-cased once here.
    Contains(String),
    Prefix(String),
}

/// What the marketplaces call things. A rule may name a platform and a platform's own order status,
/// which only the adapters know; compiling a condition asks them through this.
pub trait Vocabulary {
    /// Whether shoprelay connects to this marketplace.
    fn knows_platform(&self, platform: Platform) -> bool;
    /// Whether some marketplace has an order status of this name (any letter case).
    fn knows_status(&self, name: &str) -> bool;
}

impl CompiledCondition {
    /// Checks and compiles a condition against the marketplaces' names; the error names the first
    /// offending path.
    pub fn compile(condition: &Condition, vocabulary: &dyn Vocabulary) -> Result<Self, RuleError> {
        let compiler = Compiler {
            probe: OnceCell::new(),
            vocabulary,
        };
        Ok(Self {
            root: compiler.node(condition, "", 0)?,
        })
    }
}

/// State of one compilation: the sample activation that expressions are probed against, built only
/// when the condition has an expression.
struct Compiler<'v> {
    probe: OnceCell<Result<::cel::Context<'static, 'static>, CelRunError>>,
    vocabulary: &'v dyn Vocabulary,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn fail<T>(path: String, problem: RuleProblem) -> Result<T, RuleError> {
    Err(RuleError { path, problem })
}

impl Compiler<'_> {
    /// A status list: each entry a neutral stage (`to_ship`) or a platform's own status (`READY_TO_SHIP`).
    /// A typo would otherwise be kept and the rule would never fire, so unknown names are refused.
    fn statuses(&self, list: &[String], path: &str) -> Result<Vec<String>, RuleError> {
        if list.is_empty() {
            return fail(path.to_owned(), RuleProblem::EmptyList);
        }
        list.iter()
            .enumerate()
            .map(|(i, raw)| {
                let name = raw.trim();
                let lower = name.to_ascii_lowercase();
                if OrderStage::parse(&lower).is_some_and(|s| s != OrderStage::Other) {
                    Ok(lower)
                } else if self.vocabulary.knows_status(name) {
                    Ok(name.to_owned())
                } else {
                    fail(format!("{path}[{i}]"), RuleProblem::UnknownStatus(raw.clone()))
                }
            })
            .collect()
    }

    fn node(&self, condition: &Condition, path: &str, depth: usize) -> Result<Node, RuleError> {
        if depth >= MAX_CONDITION_DEPTH {
            return fail(path.to_owned(), RuleProblem::TooDeep);
        }
        Ok(match condition {
            Condition::All(parts) => Node::All(self.children(parts, &join(path, "all"), depth, true)?),
            Condition::Any(parts) => Node::Any(self.children(parts, &join(path, "any"), depth, false)?),
            Condition::Not(inner) => Node::Not(Box::new(self.node(inner, &join(path, "not"), depth + 1)?)),
            Condition::Platform(list) => {
                let list = non_empty(list, path, "platform")?;
                if let Some((i, p)) = list
                    .iter()
                    .enumerate()
                    .find(|(_, p)| !self.vocabulary.knows_platform(**p))
                {
                    let at = format!("{}[{i}]", join(path, "platform"));
                    return fail(at, RuleProblem::UnknownPlatform(p.to_string()));
                }
                Node::Platform(list.to_vec())
            }
            Condition::Shop(list) => Node::Shop(non_empty(list, path, "shop")?.to_vec()),
            Condition::StatusTo(list) => Node::StatusTo(self.statuses(list, &join(path, "status_to"))?),
            Condition::StatusFrom(list) => Node::StatusFrom(self.statuses(list, &join(path, "status_from"))?),
            Condition::TotalAmount(test) => amount(test, &join(path, "total_amount"))?,
            Condition::Sku(test) => item(ItemField::Sku, test, &join(path, "sku"))?,
            Condition::ItemName(test) => item(ItemField::Name, test, &join(path, "item_name"))?,
            Condition::Model(test) => item(ItemField::Model, test, &join(path, "model"))?,
            Condition::Quantity(test) => Node::Quantity(count(test, &join(path, "quantity"))?),
            Condition::BuyerRegion(list) => Node::BuyerRegion(
                non_empty(list, path, "buyer_region")?
                    .iter()
                    .map(|r| r.trim().to_ascii_uppercase())
                    .collect(),
            ),
            Condition::Cod(cod) => Node::Cod(*cod),
            Condition::PaymentMethod(list) => Node::PaymentMethod(
                non_empty(list, path, "payment_method")?
                    .iter()
                    .map(|m| m.trim().to_owned())
                    .collect(),
            ),
            Condition::TimeOfDay(window) => time_window(window, &join(path, "time_of_day"))?,
            Condition::Weekday(days) => weekdays(days, &join(path, "weekday"))?,
            Condition::Expr(source) => self.expr(source, join(path, "expr"))?,
        })
    }

    fn children(
        &self,
        parts: &[Condition],
        path: &str,
        depth: usize,
        allow_empty: bool,
    ) -> Result<Vec<Node>, RuleError> {
        if parts.is_empty() && !allow_empty {
            return fail(path.to_owned(), RuleProblem::EmptyList);
        }
        let mut nodes = parts
            .iter()
            .enumerate()
            .map(|(i, part)| self.node(part, &format!("{path}[{i}]"), depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        // all/any are commutative under the three-valued logic of `eval`, so cheap field tests may
        // go first and usually decide before any CEL runs. The sort is stable: the seller's order
        // is kept otherwise.
        nodes.sort_by_key(Node::runs_cel);
        Ok(nodes)
    }

    fn expr(&self, source: &str, path: String) -> Result<Node, RuleError> {
        let program = match CelProgram::compile(source) {
            Ok(p) => p,
            Err(CelCompileError::TooLong) => return fail(path, RuleProblem::ExprTooLong),
            Err(CelCompileError::TooDeep) => return fail(path, RuleProblem::ExprTooDeep),
            Err(CelCompileError::Syntax { line, column, message }) => {
                return fail(path, RuleProblem::CelSyntax { line, column, message })
            }
        };
        // Run once against the sample event: every variable and field exists there, so an unknown
        // name or field is a typo that would fail on every real event. Data-dependent failures
        // (a null field, say) are left to evaluation.
        let probe = self.probe.get_or_init(|| {
            let sample = sample_event(EventKind::OrderStatusChanged);
            cel::activation(&PreparedEvent::new(&sample, sample.occurred_at).vars())
        });
        if let Ok(activation) = probe {
            match program.run(activation) {
                Err(CelRunError::Execution(::cel::ExecutionError::UndeclaredReference(name))) => {
                    return fail(path, RuleProblem::CelUnknownName(name.to_string()))
                }
                // Only a field selected by name (`.totl_amount`): a missing map key could be data.
                Err(CelRunError::Execution(::cel::ExecutionError::NoSuchKey(name)))
                    if source.contains(&format!(".{name}")) =>
                {
                    return fail(path, RuleProblem::CelUnknownField(name.to_string()))
                }
                Err(CelRunError::NotBool(type_name)) => return fail(path, RuleProblem::CelNotBool(type_name)),
                Err(CelRunError::Panicked) => return fail(path, RuleProblem::CelInterpreterFailure),
                _ => {}
            }
        }
        Ok(Node::Expr { program, path })
    }
}

fn non_empty<'a, T>(list: &'a [T], path: &str, key: &str) -> Result<&'a [T], RuleError> {
    if list.is_empty() {
        return fail(join(path, key), RuleProblem::EmptyList);
    }
    Ok(list)
}

fn decimal(raw: &DecimalText, path: String) -> Result<Decimal, RuleError> {
    let text = match raw {
        DecimalText::Text(s) => s.trim().to_owned(),
        DecimalText::Integer(i) => return Ok(Decimal::from(*i)),
        // Rust prints the shortest text that reads back as the same float, so 99.9 stays "99.9".
        DecimalText::Float(f) => f.to_string(),
    };
    Decimal::from_str_exact(&text).or_else(|_| fail(path, RuleProblem::InvalidDecimal(text)))
}

fn amount(test: &AmountTest, path: &str) -> Result<Node, RuleError> {
    let field =
        |value: &Option<DecimalText>, key: &str| value.as_ref().map(|v| decimal(v, join(path, key))).transpose();
    let bounds = Bounds {
        gt: field(&test.gt, "gt")?,
        gte: field(&test.gte, "gte")?,
        lt: field(&test.lt, "lt")?,
        lte: field(&test.lte, "lte")?,
        eq: field(&test.eq, "eq")?,
    };
    check_bounds(&bounds, path)?;
    let currency = match &test.currency {
        None => None,
        Some(c) if c.trim().len() == 3 && c.trim().chars().all(|ch| ch.is_ascii_alphabetic()) => {
            Some(c.trim().to_ascii_uppercase())
        }
        Some(c) => return fail(join(path, "currency"), RuleProblem::InvalidCurrency(c.clone())),
    };
    Ok(Node::TotalAmount { bounds, currency })
}

fn count(test: &CountTest, path: &str) -> Result<Bounds<i64>, RuleError> {
    let bounds = Bounds {
        gt: test.gt,
        gte: test.gte,
        lt: test.lt,
        lte: test.lte,
        eq: test.eq,
    };
    check_bounds(&bounds, path)?;
    Ok(bounds)
}

fn check_bounds<T: PartialOrd + Copy>(bounds: &Bounds<T>, path: &str) -> Result<(), RuleError> {
    if bounds.is_empty() {
        return fail(path.to_owned(), RuleProblem::NoComparison);
    }
    if !bounds.satisfiable() {
        return fail(path.to_owned(), RuleProblem::ImpossibleBounds);
    }
    Ok(())
}

fn item(field: ItemField, test: &TextTest, path: &str) -> Result<Node, RuleError> {
    let matcher = match (&test.equals, &test.contains, &test.prefix) {
        (Some(t), None, None) => (TextMatcher::Equals(t.clone()), "equals"),
        (None, Some(t), None) => (TextMatcher::Contains(t.to_lowercase()), "contains"),
        (None, None, Some(t)) => (TextMatcher::Prefix(t.clone()), "prefix"),
        _ => return fail(path.to_owned(), RuleProblem::TextTestArity),
    };
    let (TextMatcher::Equals(t) | TextMatcher::Contains(t) | TextMatcher::Prefix(t)) = &matcher.0;
    if t.is_empty() {
        return fail(join(path, matcher.1), RuleProblem::EmptyText);
    }
    Ok(Node::Item {
        field,
        matcher: matcher.0,
    })
}

/// Parses `HH:MM` into minutes since midnight; `24:00` only when `end` is set.
pub(super) fn minutes(raw: &str, end: bool, path: String) -> Result<u16, RuleError> {
    let parsed = raw.trim().split_once(':').and_then(|(h, m)| {
        let digits = |s: &str, max_len| !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
            return None;
        }
        let (h, m) = (u16::from_str(h).ok()?, u16::from_str(m).ok()?);
        match (h, m) {
            (0..=23, 0..=59) => Some(h * 60 + m),
            (24, 0) if end => Some(24 * 60),
            _ => None,
        }
    });
    parsed.map_or_else(|| fail(path, RuleProblem::InvalidTime(raw.to_owned())), Ok)
}

fn time_window(window: &TimeWindow, path: &str) -> Result<Node, RuleError> {
    let from = minutes(&window.from, false, join(path, "from"))?;
    let to = minutes(&window.to, true, join(path, "to"))?;
    if from == to {
        return fail(path.to_owned(), RuleProblem::EmptyWindow);
    }
    Ok(Node::TimeOfDay { from, to })
}

fn weekdays(days: &[String], path: &str) -> Result<Node, RuleError> {
    if days.is_empty() {
        return fail(path.to_owned(), RuleProblem::EmptyList);
    }
    weekday_mask(days, path).map(Node::Weekday)
}

/// Parses weekday names (`mon` … `sun`, or in full) into a bit mask, Monday = bit 0.
pub(super) fn weekday_mask(days: &[String], path: &str) -> Result<u8, RuleError> {
    let mut mask = 0u8;
    for (i, raw) in days.iter().enumerate() {
        let day = match raw.trim().to_ascii_lowercase().as_str() {
            "mon" | "monday" => 0,
            "tue" | "tuesday" => 1,
            "wed" | "wednesday" => 2,
            "thu" | "thursday" => 3,
            "fri" | "friday" => 4,
            "sat" | "saturday" => 5,
            "sun" | "sunday" => 6,
            _ => return fail(format!("{path}[{i}]"), RuleProblem::InvalidWeekday(raw.clone())),
        };
        mask |= 1 << day;
    }
    Ok(mask)
}

/// A vocabulary for tests: two marketplaces with a few statuses of their own.
#[cfg(test)]
pub(crate) struct TestNames;

#[cfg(test)]
impl Vocabulary for TestNames {
    fn knows_platform(&self, platform: Platform) -> bool {
        ["shopee", "lazada", "marketplace"].contains(&platform.as_str())
    }

    fn knows_status(&self, name: &str) -> bool {
        [
            "UNPAID",
            "READY_TO_SHIP",
            "PROCESSED",
            "SHIPPED",
            "IN_CANCEL",
            "CANCELLED",
            "pending",
            "packed",
        ]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::UserFacing;

    fn compile(value: serde_json::Value) -> Result<CompiledCondition, RuleError> {
        CompiledCondition::compile(&serde_json::from_value(value).unwrap(), &TestNames)
    }

    fn rejected(value: serde_json::Value) -> RuleError {
        compile(value.clone()).expect_err(&format!("accepted {value}"))
    }

    #[test]
    fn invalid_values_are_rejected_with_their_path() {
        let e = rejected(json!({"all": [{"cod": true}, {"total_amount": {"gte": "1O0"}}]}));
        assert_eq!(e.path, "all[1].total_amount.gte");
        assert_eq!(e.problem, RuleProblem::InvalidDecimal("1O0".into()));

        let e = rejected(json!({"any": [{"cod": true}, {"not": {"time_of_day": {"from": "25:00", "to": "08:00"}}}]}));
        assert_eq!(e.path, "any[1].not.time_of_day.from");
        assert_eq!(e.problem, RuleProblem::InvalidTime("25:00".into()));

        let cases = [
            (json!({"time_of_day": {"from": "08:00", "to": "8:5"}}), "time_of_day.to"),
            (
                json!({"time_of_day": {"from": "24:00", "to": "08:00"}}),
                "time_of_day.from",
            ),
            (json!({"time_of_day": {"from": "08:00", "to": "08:00"}}), "time_of_day"),
            (json!({"total_amount": {"lt": 1e300}}), "total_amount.lt"),
            (
                json!({"total_amount": {"gt": "10", "currency": "S$"}}),
                "total_amount.currency",
            ),
            (json!({"total_amount": {"currency": "SGD"}}), "total_amount"),
            (json!({"total_amount": {"gt": 100, "lt": "50"}}), "total_amount"),
            (json!({"quantity": {"eq": 3, "gt": 5}}), "quantity"),
            (json!({"status_to": ["SHIPPED", "READY_TO_SHIPP"]}), "status_to[1]"),
            (json!({"status_from": ["to_ship", "other"]}), "status_from[1]"),
            (json!({"platform": ["shopee", "amazon"]}), "platform[1]"),
            (json!({"weekday": ["mon", "fryday"]}), "weekday[1]"),
            (json!({"all": [{"shop": []}]}), "all[0].shop"),
            (json!({"any": []}), "any"),
            (json!({"sku": {"equals": "A", "prefix": "B"}}), "sku"),
            (json!({"model": {}}), "model"),
            (json!({"item_name": {"contains": ""}}), "item_name.contains"),
        ];
        for (value, path) in cases {
            assert_eq!(rejected(value.clone()).path, path, "{value}");
        }
    }

    #[test]
    fn numbers_are_read_as_written() {
        let Ok(CompiledCondition {
            root: Node::TotalAmount { bounds, currency },
        }) = compile(json!({"total_amount": {"gte": 99.9, "lt": "1000", "currency": "sgd"}}))
        else {
            panic!("not compiled to a total_amount node")
        };
        assert_eq!(bounds.gte, Some(Decimal::new(999, 1)));
        assert_eq!(bounds.lt, Some(Decimal::new(1000, 0)));
        assert_eq!(currency.as_deref(), Some("SGD"));
    }

    #[test]
    fn invalid_cel_is_rejected_with_line_and_column() {
        let e = rejected(json!({"all": [{"cod": false}, {"expr": "order.total_amount > 10 10"}]}));
        assert_eq!(e.path, "all[1].expr");
        assert_eq!(e.position(), Some((1, 25)));
        assert_eq!(e.code(), "rule.invalid_condition");

        let e = rejected(json!({"expr": "order.cod == true &&\n  order.total_amount >"}));
        assert_eq!(e.path, "expr");
        assert_eq!(e.position(), Some((2, 22)));

        let e = rejected(json!({"expr": "order.items.exists(i, i.sku == 'TS-001'"}));
        assert_eq!(e.position(), Some((1, 40)), "{e}");
        let e = rejected(json!({"expr": "event.kind == 'buyer_message"}));
        assert_eq!(e.position(), Some((1, 15)), "{e}");
    }

    #[test]
    fn cel_names_fields_and_result_type_are_checked_at_load() {
        let e = rejected(json!({"expr": "ordr.cod"}));
        assert_eq!(e.problem, RuleProblem::CelUnknownName("ordr".into()));
        let e = rejected(json!({"expr": "sizee(order.items) > 1"}));
        assert_eq!(e.problem, RuleProblem::CelUnknownName("sizee".into()));
        let e = rejected(json!({"expr": "order.totl_amount > 1.0"}));
        assert_eq!(e.problem, RuleProblem::CelUnknownField("totl_amount".into()));
        let e = rejected(json!({"any": [{"cod": true}, {"expr": "order.total_amount"}]}));
        assert_eq!(e.path, "any[1].expr");
        assert!(matches!(e.problem, RuleProblem::CelNotBool(_)), "{e}");
        // cel-interpreter 0.10 panicked on it (refused as an interpreter failure); `cel` answers true.
        assert!(compile(json!({"expr": "b'abc'.contains(b'')"})).is_ok());
        // Depends on the data (null on the sample), so it is left to evaluation.
        assert!(compile(json!({"expr": "event.message_text.contains('refund')"})).is_ok());
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let long = format!("order.cod || {}", "true || ".repeat(300));
        assert_eq!(rejected(json!({ "expr": long })).problem, RuleProblem::ExprTooLong);
        let deep = format!("{}true{}", "(".repeat(30), ")".repeat(30));
        assert_eq!(rejected(json!({ "expr": deep })).problem, RuleProblem::ExprTooDeep);
        let mut nested = Condition::Cod(true);
        for _ in 0..40 {
            nested = Condition::Not(Box::new(nested));
        }
        assert_eq!(
            CompiledCondition::compile(&nested, &TestNames).unwrap_err().problem,
            RuleProblem::TooDeep
        );
    }

    #[test]
    fn errors_speak_to_the_seller_in_both_languages() {
        let e = rejected(json!({"all": [{"total_amount": {"gte": "abc"}}]}));
        assert_eq!(e.status(), 422);
        assert!(e.message_zh().contains("all[0].total_amount.gte"), "{}", e.message_zh());
        assert!(e.message_zh().contains("不是数字"));
        assert!(e.message_en().contains("all[0].total_amount.gte"));
        assert!(e.message_en().contains("not a decimal number"));
        let e = rejected(json!({"expr": "1 +"}));
        assert!(e.message_zh().contains("第 1 行第 3 列"), "{}", e.message_zh());
        assert!(e.message_en().contains("line 1, column 3"), "{}", e.message_en());
    }

    #[test]
    fn garbage_expressions_never_panic() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};

        const PIECES: &[&str] = &[
            "order",
            "event",
            "now",
            ".",
            "items",
            "sku",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "\"",
            "'",
            "+",
            "-",
            "*",
            "/",
            "%",
            "==",
            "!=",
            "<",
            ">=",
            "&&",
            "||",
            "!",
            "?",
            ":",
            ",",
            "in",
            "true",
            "null",
            "1",
            "2.5",
            "-9223372036854775808",
            "18446744073709551615u",
            "exists",
            "all",
            "map",
            "filter",
            "has",
            "size",
            "matches",
            "\"(\"",
            " ",
            "\n",
            "\\",
            "x",
            "é",
            "订单",
            "b'\\xff'",
            "r'\\d+'",
            "1e309",
            "0x",
            "..",
            "@",
        ];
        let sample = sample_event(EventKind::OrderCreated);
        let prepared = PreparedEvent::new(&sample, sample.occurred_at);
        let mut rng = StdRng::seed_from_u64(4);
        for _ in 0..1500 {
            let len = rng.gen_range(1..24);
            let source: String = (0..len)
                .map(|_| {
                    if rng.gen_bool(0.1) {
                        char::from(rng.gen_range(0x20u8..0x7f)).to_string()
                    } else {
                        PIECES[rng.gen_range(0..PIECES.len())].to_owned()
                    }
                })
                .collect();
            // Must return, not panic; what compiles must also evaluate without panicking.
            if let Ok(compiled) = CompiledCondition::compile(&Condition::Expr(source), &TestNames) {
                let _ = compiled.eval(&prepared);
            }
        }
    }
}
