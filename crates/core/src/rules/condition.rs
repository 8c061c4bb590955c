//! The condition tree a seller writes in a rule (TOML or JSON), kept exactly as written so that it
//! serialises back unchanged. Values are checked and parsed by [`CompiledCondition::compile`], which
//! names the path of anything wrong; deserialisation only rejects unknown keys and wrong shapes.
//!
//! ```toml
//! [rules.condition]
//! all = [
//!   { status_to = ["READY_TO_SHIP"] },
//!   { total_amount = { gte = "100", currency = "SGD" } },
//!   { not = { cod = true } },
//! ]
//! ```
//!
//! [`CompiledCondition::compile`]: super::CompiledCondition::compile

use serde::{Deserialize, Serialize};

use crate::event::Platform;
use crate::ids::ShopId;

/// One node of a rule's condition: a combinator, a field test or a CEL expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Every sub-condition holds (an empty list always holds).
    All(Vec<Condition>),
    /// At least one sub-condition holds (must not be empty).
    Any(Vec<Condition>),
    /// The sub-condition does not hold.
    Not(Box<Condition>),
    /// The event comes from one of these marketplaces.
    Platform(Vec<Platform>),
    /// The event concerns one of these shops.
    Shop(Vec<ShopId>),
    /// The order is now in one of these statuses (the new status of a status change, else the snapshot's).
    StatusTo(Vec<String>),
    /// A status change left one of these statuses.
    StatusFrom(Vec<String>),
    /// The order total compares as given, optionally only in one currency.
    TotalAmount(AmountTest),
    /// Some item's seller SKU matches.
    Sku(TextTest),
    /// Some item's product name matches.
    ItemName(TextTest),
    /// Some item's variation (model) name matches.
    Model(TextTest),
    /// The total number of units in the order compares as given.
    Quantity(CountTest),
    /// The order's marketplace region is one of these (`SG`, `BR`, …; case-insensitive).
    BuyerRegion(Vec<String>),
    /// The order is (`true`) or is not (`false`) cash on delivery.
    Cod(bool),
    /// The payment method is one of these names (case-insensitive).
    PaymentMethod(Vec<String>),
    /// The current time of day in the shop's time zone is inside the window.
    TimeOfDay(TimeWindow),
    /// The current weekday in the shop's time zone is one of these (`mon` … `sun`).
    Weekday(Vec<String>),
    /// A CEL expression over the variables `event`, `order` and `now`; must return a bool.
    Expr(String),
}

impl Condition {
    /// A condition that always holds (`all = []`), for rules that select by trigger only.
    pub fn always() -> Self {
        Condition::All(Vec::new())
    }
}

/// A decimal as written: a string (`"99.90"`, exact) or a TOML/JSON number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DecimalText {
    /// Written as a string; parsed exactly.
    Text(String),
    /// Written as an integer.
    Integer(i64),
    /// Written as a floating-point number; read as its shortest decimal form.
    Float(f64),
}

/// Comparisons on the order total; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountTest {
    /// Strictly greater than.
    pub gt: Option<DecimalText>,
    /// Greater than or equal to.
    pub gte: Option<DecimalText>,
    /// Strictly less than.
    pub lt: Option<DecimalText>,
    /// Less than or equal to.
    pub lte: Option<DecimalText>,
    /// Equal to.
    pub eq: Option<DecimalText>,
    /// Only orders in this ISO currency (case-insensitive); others never match.
    pub currency: Option<String>,
}

/// Comparisons on a whole number; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountTest {
    /// Strictly greater than.
    pub gt: Option<i64>,
    /// Greater than or equal to.
    pub gte: Option<i64>,
    /// Strictly less than.
    pub lt: Option<i64>,
    /// Less than or equal to.
    pub lte: Option<i64>,
    /// Equal to.
    pub eq: Option<i64>,
}

/// How an item's text field is matched; exactly one must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextTest {
    /// The whole text, exactly (case-sensitive, as SKUs are).
    pub equals: Option<String>,
    /// Appears anywhere in the text, ignoring case.
    pub contains: Option<String>,
    /// The text starts with this, exactly (e.g. a SKU family `TS-`).
    pub prefix: Option<String>,
}

/// A daily window `[from, to)` in `HH:MM`; `from` later than `to` wraps past midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    /// Start, inclusive (`00:00`–`23:59`).
    pub from: String,
    /// End, exclusive (`00:00`–`24:00`).
    pub to: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_toml_shape_as_json() {
        let c: Condition = serde_json::from_value(serde_json::json!({
            "all": [
                {"status_to": ["READY_TO_SHIP"]},
                {"total_amount": {"gte": "100", "currency": "SGD"}},
                {"not": {"cod": true}},
                {"quantity": {"gte": 2}},
                {"sku": {"prefix": "TS-"}},
                {"time_of_day": {"from": "22:00", "to": "08:00"}},
                {"expr": "order.total_amount > 10.0"}
            ]
        }))
        .unwrap();
        let Condition::All(parts) = &c else {
            panic!("not all: {c:?}")
        };
        assert_eq!(parts.len(), 7);
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["all"][1]["total_amount"]["gte"], "100");
    }

    #[test]
    fn decimals_may_be_strings_or_numbers() {
        let a: AmountTest = serde_json::from_str(r#"{"gt": 5, "lt": 99.5, "eq": "7.10"}"#).unwrap();
        assert_eq!(a.gt, Some(DecimalText::Integer(5)));
        assert_eq!(a.lt, Some(DecimalText::Float(99.5)));
        assert_eq!(a.eq, Some(DecimalText::Text("7.10".into())));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        for bad in [
            r#"{"totl_amount": {"gt": 1}}"#,
            r#"{"total_amount": {"gt": 1, "currncy": "SGD"}}"#,
            r#"{"sku": {"equal": "A"}}"#,
            r#"{"time_of_day": {"from": "01:00", "to": "02:00", "tz": "UTC"}}"#,
            r#"{"cod": true, "platform": ["shopee"]}"#,
            r#"{"platform": ["Amazon!"]}"#,
        ] {
            assert!(serde_json::from_str::<Condition>(bad).is_err(), "{bad} was accepted");
        }
    }
}
