//! Why a condition was rejected: the path of the offending node and what is wrong there, as a
//! user-facing error (`rule.invalid_condition`, 422) in Chinese and English.

use super::cel::{MAX_EXPR_BYTES, MAX_EXPR_NESTING, MAX_EXPR_OPERATORS};
use super::compile::MAX_CONDITION_DEPTH;
use crate::error::UserFacing;

/// The neutral stages a condition may name, for the message that lists them.
pub(super) const KNOWN_STAGES: &str = "unpaid, to_ship, arranged, shipped, delivered, completed, cancel_requested, \
                              cancelled, return_requested";

/// Why a condition was rejected, and where: the path names the offending node or field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid condition at `{path}`: {problem}")]
pub struct RuleError {
    /// Where in the tree, e.g. `all[1].total_amount.gte` (`expr` for a top-level expression).
    pub path: String,
    /// What is wrong there.
    pub problem: RuleProblem,
}

/// What is wrong with one node of a condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleProblem {
    /// Not a decimal number.
    #[error("`{0}` is not a decimal number; write it like \"99.90\"")]
    InvalidDecimal(String),
    /// Not a three-letter currency code.
    #[error("`{0}` is not a currency code; write three letters like \"SGD\"")]
    InvalidCurrency(String),
    /// Not `HH:MM`.
    #[error("`{0}` is not a time of day; write HH:MM, e.g. \"08:30\" (\"24:00\" only as `to`)")]
    InvalidTime(String),
    /// `from` equals `to`.
    #[error("`from` and `to` are the same time, so the window is empty; remove time_of_day to allow any time")]
    EmptyWindow,
    /// Not a weekday name.
    #[error("`{0}` is not a weekday; write mon, tue, wed, thu, fri, sat or sun")]
    InvalidWeekday(String),
    /// Not a known order status.
    #[error("`{0}` is not an order status; use a stage ({KNOWN_STAGES}) or a marketplace's own status")]
    UnknownStatus(String),
    /// Not a marketplace shoprelay connects to.
    #[error("`{0}` is not a marketplace shoprelay connects to")]
    UnknownPlatform(String),
    /// An empty list, which could never match.
    #[error("the list is empty, so this condition could never hold; add a value or remove the condition")]
    EmptyList,
    /// A comparison with no bound.
    #[error("give at least one of gt, gte, lt, lte, eq")]
    NoComparison,
    /// Bounds that exclude every value.
    #[error("these bounds can never all hold; check gt/gte against lt/lte/eq")]
    ImpossibleBounds,
    /// A text test with zero or several of equals / contains / prefix.
    #[error("give exactly one of equals, contains, prefix")]
    TextTestArity,
    /// An empty text to match.
    #[error("the text to match is empty")]
    EmptyText,
    /// Combinators nested too deep.
    #[error("conditions are nested more than {MAX_CONDITION_DEPTH} levels deep; flatten them")]
    TooDeep,
    /// A CEL expression over the size limit.
    #[error("the expression is longer than {MAX_EXPR_BYTES} bytes; split it into several conditions")]
    ExprTooLong,
    /// A CEL expression nesting brackets or chaining operators too deep.
    #[error(
        "the expression nests brackets more than {MAX_EXPR_NESTING} levels deep or chains more than \
         {MAX_EXPR_OPERATORS} operators; split it into several conditions"
    )]
    ExprTooDeep,
    /// A CEL syntax error.
    #[error("CEL syntax error{}: {message}", position_en(*line, *column))]
    CelSyntax {
        /// 1-based line, when known.
        line: Option<u32>,
        /// 1-based column (characters), when known.
        column: Option<u32>,
        /// The parser's description.
        message: String,
    },
    /// A name that is neither a variable nor a function.
    #[error("the expression uses `{0}`, which is not a variable (event, order, now) or a function")]
    CelUnknownName(String),
    /// A field that the variables do not have.
    #[error("the expression reads the field `{0}`, which does not exist; see the list of variables")]
    CelUnknownField(String),
    /// An expression that the interpreter cannot run at all.
    #[error("the CEL interpreter cannot run this expression; rewrite it (e.g. avoid empty patterns and overflowing numbers)")]
    CelInterpreterFailure,
    /// An expression that does not return a bool.
    #[error("the expression returns a {0}, not true or false; compare it, e.g. `order.total_amount > 100.0`")]
    CelNotBool(String),
}

fn position_en(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

fn position_zh(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("（第 {l} 行第 {c} 列）"),
        (Some(l), None) => format!("（第 {l} 行）"),
        _ => String::new(),
    }
}

impl RuleError {
    /// Line and column of a CEL syntax error, when the parser placed it.
    pub fn position(&self) -> Option<(u32, u32)> {
        match &self.problem {
            RuleProblem::CelSyntax {
                line: Some(l),
                column: Some(c),
                ..
            } => Some((*l, *c)),
            _ => None,
        }
    }

    fn problem_zh(&self) -> String {
        match &self.problem {
            RuleProblem::InvalidDecimal(v) => format!("“{v}”不是数字，请写成 \"99.90\" 这样的形式"),
            RuleProblem::InvalidCurrency(v) => format!("“{v}”不是币种代码，请写三个字母，如 \"SGD\""),
            RuleProblem::InvalidTime(v) => {
                format!("“{v}”不是时刻，请写成 HH:MM，如 \"08:30\"（\"24:00\" 只能用作 to）")
            }
            RuleProblem::EmptyWindow => "from 与 to 相同，时间段为空；如不限时间请删除 time_of_day".to_owned(),
            RuleProblem::InvalidWeekday(v) => {
                format!("“{v}”不是星期，请写 mon、tue、wed、thu、fri、sat 或 sun")
            }
            RuleProblem::UnknownStatus(v) => {
                format!("“{v}”不是订单状态，可用通用状态（{KNOWN_STAGES}）或平台自己的状态名")
            }
            RuleProblem::UnknownPlatform(v) => format!("“{v}”不是 shoprelay 支持的平台"),
            RuleProblem::EmptyList => "列表为空，此条件永远不会成立；请添加取值或删除该条件".to_owned(),
            RuleProblem::NoComparison => "请至少填写 gt、gte、lt、lte、eq 中的一项".to_owned(),
            RuleProblem::ImpossibleBounds => "这些上下限不可能同时满足，请检查 gt/gte 与 lt/lte/eq".to_owned(),
            RuleProblem::TextTestArity => "equals、contains、prefix 三者请只填写一项".to_owned(),
            RuleProblem::EmptyText => "要匹配的文字为空".to_owned(),
            RuleProblem::TooDeep => format!("条件嵌套超过 {MAX_CONDITION_DEPTH} 层，请简化"),
            RuleProblem::ExprTooLong => format!("表达式超过 {MAX_EXPR_BYTES} 字节，请拆成多个条件"),
            RuleProblem::ExprTooDeep => format!(
                "表达式的括号嵌套超过 {MAX_EXPR_NESTING} 层或运算符超过 {MAX_EXPR_OPERATORS} 个，请拆成多个条件"
            ),
            RuleProblem::CelSyntax { line, column, message } => {
                format!("CEL 表达式语法错误{}：{message}", position_zh(*line, *column))
            }
            RuleProblem::CelUnknownName(n) => {
                format!("表达式使用了“{n}”，它既不是变量（event、order、now）也不是函数")
            }
            RuleProblem::CelUnknownField(n) => format!("表达式读取的字段“{n}”不存在，请对照变量列表"),
            RuleProblem::CelInterpreterFailure => {
                "CEL 解释器无法运行此表达式，请改写（例如避免空的匹配内容和溢出的数字）".to_owned()
            }
            RuleProblem::CelNotBool(t) => {
                format!("表达式的结果是 {t}，不是 true 或 false；请写成比较，如 `order.total_amount > 100.0`")
            }
        }
    }
}

impl UserFacing for RuleError {
    fn code(&self) -> &'static str {
        "rule.invalid_condition"
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_zh(&self) -> String {
        format!("规则条件 `{}` 有误：{}。", self.path, self.problem_zh())
    }

    fn message_en(&self) -> String {
        format!("The rule condition at `{}` is invalid: {}.", self.path, self.problem)
    }
}
