//! Seller-editable message templates, rendered with `minijinja` in a sandbox: no file access (only
//! the one template exists in its environment), undefined values print as nothing instead of
//! failing, and every render is bounded in steps (fuel), recursion and output size.
//!
//! Templates see the variables of [`vars`](super::vars) and these filters:
//!
//! | filter | example | result |
//! | --- | --- | --- |
//! | `money(currency)` | `{{ order.total_amount \| money(order.currency) }}` | `SGD 1,234.50` (no decimals for IDR, VND, JPY, KRW, CLP, TWD) |
//! | `local_time` | `{{ event.occurred_at \| local_time }}` | `2024-08-10 17:40`, unix seconds in the shop's time zone |
//! | `status_zh` | `{{ order.status \| status_zh }}` | `待发货` |
//! | `status_en` | `{{ order.status \| status_en }}` | `Ready to ship` |
//! | `issue_zh`, `issue_en` | `{{ event.issue \| issue_zh }}` | `派送失败`, `delivery failed` |
//! | `mask_phone` | `{{ phone \| mask_phone }}` | `138****1234` (11+ digits), `91****78` (7–10 digits) |
//!
//! `length` (and `count`) of a missing value is 0.
//! Blocks trim their own line (`trim_blocks`, `lstrip_blocks`), so `{% if %}` on a line of its own
//! leaves no blank line. `none` prints as nothing.
//!
//! Output is WeCom markdown, and what the template's author writes is markdown. What `{{ … }}` prints
//! is text: every value is escaped for markdown on the way out
//! ([`neutralize::markdown::inline`](crate::neutralize::markdown::inline)), because most values
//! (buyer names, chat messages, item names, notes) are written by buyers and marketplaces. An author who
//! builds markdown in an expression (a string literal, a `~` concatenation) marks it `| safe`:
//! `{{ ' <font color="warning">COD</font>' | safe if order.cod }}`. Macros return markdown already
//! (their own text is the author's; the values inside them are escaped).
//!
//! A `*` that repeats a string or list past [`MAX_OUTPUT_BYTES`] is refused before compiling, where
//! minijinja would fold a literal one (`'x' * 1e8`) into a 100 MB constant before any limit applied.
//!
//! Known limit: fuel counts template steps, not bytes, so a template that keeps doubling a string, or
//! repeats one by a count computed at render time, can still use up to minijinja's own cap (100 MB)
//! before the output limit stops it; template editing should stay with the seller's own staff.

mod repeat;

use std::io;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior};
use shoprelay_clock::UnixMs;

use super::eval::PreparedEvent;
use super::sample::{sample_event, SAMPLE_TIME};
use crate::error::UserFacing;
use crate::event::{EventKind, LogisticsIssue};
use crate::neutralize::markdown;
use crate::order::OrderStage;
use crate::time::region_timezone;

/// Largest template source accepted.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
/// Largest rendered message; WeCom's own limits are smaller, and delivery truncates to those.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// Template steps one render may take: ample for a message listing many items, small enough that a
/// runaway loop stops within milliseconds.
pub const TEMPLATE_FUEL: u64 = 50_000;
/// Recursion limit for macros and nested blocks.
const RECURSION_LIMIT: usize = 64;
/// The auto-escape mode of every template: values are escaped for WeCom markdown.
const MARKDOWN: &str = "markdown";

/// Why a template was rejected or failed to render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The source does not parse.
    #[error("template `{name}` has a syntax error{}: {message}", line_en(*line))]
    Syntax {
        /// Template name.
        name: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// The parser's description.
        message: String,
    },
    /// The source is over [`MAX_TEMPLATE_BYTES`].
    #[error("template `{name}` is longer than {MAX_TEMPLATE_BYTES} bytes")]
    TooLong {
        /// Template name.
        name: String,
    },
    /// Rendering failed (an unknown filter, a wrong argument, …).
    #[error("template `{name}` failed to render{}: {message}", line_en(*line))]
    Render {
        /// Template name.
        name: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// The engine's description.
        message: String,
    },
    /// The render took more than [`TEMPLATE_FUEL`] steps.
    #[error("template `{name}` takes more than {TEMPLATE_FUEL} steps to render; simplify its loops")]
    TooMuchWork {
        /// Template name.
        name: String,
    },
    /// The output exceeded [`MAX_OUTPUT_BYTES`].
    #[error("template `{name}` produces more than {MAX_OUTPUT_BYTES} bytes")]
    OutputTooLarge {
        /// Template name.
        name: String,
    },
}

fn line_en(line: Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

fn line_zh(line: Option<usize>) -> String {
    line.map(|l| format!("（第 {l} 行）")).unwrap_or_default()
}

impl UserFacing for TemplateError {
    fn code(&self) -> &'static str {
        match self {
            TemplateError::Syntax { .. } | TemplateError::TooLong { .. } => "rule.invalid_template",
            _ => "rule.template_render_failed",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_zh(&self) -> String {
        match self {
            TemplateError::Syntax { name, line, message } => {
                format!(
                    "消息模板“{name}”语法错误{}：{message}。请修正后再保存。",
                    line_zh(*line)
                )
            }
            TemplateError::TooLong { name } => {
                format!("消息模板“{name}”超过 {MAX_TEMPLATE_BYTES} 字节，请精简。")
            }
            TemplateError::Render { name, line, message } => {
                format!(
                    "消息模板“{name}”渲染失败{}：{message}。请检查所用的变量与过滤器。",
                    line_zh(*line)
                )
            }
            TemplateError::TooMuchWork { name } => {
                format!("消息模板“{name}”渲染步骤超过 {TEMPLATE_FUEL} 步，请简化其中的循环。")
            }
            TemplateError::OutputTooLarge { name } => {
                format!("消息模板“{name}”生成的内容超过 {MAX_OUTPUT_BYTES} 字节，请精简。")
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            TemplateError::Syntax { .. } => format!("{self}. Fix it and save again."),
            TemplateError::Render { .. } => format!("{self}. Check the variables and filters it uses."),
            _ => format!("{self}."),
        }
    }
}

/// A compiled message template with its own sandboxed environment.
#[derive(Debug)]
pub struct MessageTemplate {
    name: String,
    env: Environment<'static>,
}

impl MessageTemplate {
    /// Parses `source`; a syntax error carries its line.
    pub fn compile(name: &str, source: &str) -> Result<Self, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::TooLong { name: name.to_owned() });
        }
        if repeat::repeats_too_much(name, source) {
            return Err(TemplateError::OutputTooLarge { name: name.to_owned() });
        }
        let mut env = sandbox();
        env.add_template_owned(name.to_owned(), source.to_owned())
            .map_err(|e| TemplateError::Syntax {
                name: name.to_owned(),
                line: e.line(),
                message: describe(&e),
            })?;
        Ok(Self {
            name: name.to_owned(),
            env,
        })
    }

    /// The name given at compilation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renders the message for a prepared event.
    pub fn render(&self, event: &PreparedEvent<'_>) -> Result<String, TemplateError> {
        let template = self.env.get_template(&self.name).map_err(|e| self.render_error(&e))?;
        let mut out = BoundedWriter::default();
        match template.render_captured_to(event.vars(), &mut out) {
            Ok(_) => Ok(String::from_utf8_lossy(&out.buf).into_owned()),
            Err(_) if out.overflowed => Err(TemplateError::OutputTooLarge {
                name: self.name.clone(),
            }),
            Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(TemplateError::TooMuchWork {
                name: self.name.clone(),
            }),
            Err(e) => Err(self.render_error(&e)),
        }
    }

    /// Renders against the sample event of `kind` (see [`sample_event`]): the console's live preview,
    /// and a check on save that the template works for the rule's triggers.
    pub fn preview(&self, kind: EventKind) -> Result<String, TemplateError> {
        let event = sample_event(kind);
        self.render(&PreparedEvent::new(&event, SAMPLE_TIME))
    }

    fn render_error(&self, e: &Error) -> TemplateError {
        TemplateError::Render {
            name: self.name.clone(),
            line: e.line(),
            message: describe(e),
        }
    }
}

/// `syntax error: unexpected end of input` — without the template name and line, which the
/// error variants carry themselves.
fn describe(e: &Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// The environment every template renders in.
fn sandbox() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| AutoEscape::Custom(MARKDOWN));
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            Ok(())
        } else if state.auto_escape() == AutoEscape::Custom(MARKDOWN) && !value.is_safe() {
            out.write_str(&markdown::inline(&value.to_string()))
                .map_err(|e| Error::new(ErrorKind::WriteFailure, "writing the message failed").with_source(e))
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env.add_filter("money", money);
    env.add_filter("local_time", local_time);
    env.add_filter("status_zh", status_zh);
    env.add_filter("status_en", status_en);
    env.add_filter("issue_zh", |v: Value| issue_label(v, LogisticsIssue::label_zh));
    env.add_filter("issue_en", |v: Value| issue_label(v, LogisticsIssue::label_en));
    env.add_filter("mask_phone", mask_phone);
    env.add_filter("length", length);
    env.add_filter("count", length);
    env
}

/// Collects output and refuses to grow past [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct BoundedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for BoundedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("message too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Whether a value carries nothing to show; filters print such values as nothing.
fn is_blank(v: &Value) -> bool {
    v.is_undefined() || v.is_none()
}

/// The built-in `length`, except that a missing value has length 0: `order.items | length` must not
/// fail on an event without an order.
fn length(v: Value) -> Result<usize, Error> {
    if is_blank(&v) {
        return Ok(0);
    }
    minijinja::filters::length(&v)
}

fn money(amount: Value, currency: Option<Value>) -> String {
    let number = match amount.as_str() {
        Some(text) => text.trim().parse::<f64>().ok(),
        None if is_blank(&amount) => None,
        None => f64::try_from(amount.clone()).ok(),
    };
    let currency = currency
        .as_ref()
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match number {
        Some(n) if n.is_finite() => format_money(n, currency),
        _ if is_blank(&amount) => String::new(),
        _ => amount.to_string(),
    }
}

/// `SGD 1,234.50`; currencies whose amounts have no minor unit in the marketplaces get none.
fn format_money(amount: f64, currency: Option<&str>) -> String {
    let decimals = match currency.map(str::to_ascii_uppercase).as_deref() {
        Some("IDR" | "VND" | "JPY" | "KRW" | "CLP" | "TWD") => 0,
        _ => 2,
    };
    let text = format!("{:.*}", decimals, amount.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let mut grouped = String::with_capacity(text.len() + whole.len() / 3 + 1);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if let Some(f) = fraction {
        grouped.push('.');
        grouped.push_str(f);
    }
    // "-0.00" would read as a refund; a rounded-away sign is dropped.
    let sign = if amount < 0.0 && grouped.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        "-"
    } else {
        ""
    };
    match currency {
        Some(c) => format!("{} {sign}{grouped}", c.to_ascii_uppercase()),
        None => format!("{sign}{grouped}"),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM` in the time zone of the rendered order's region.
fn local_time(state: &State, secs: Value) -> String {
    let Some(secs) = secs.as_i64() else {
        return String::new();
    };
    let region = state
        .lookup("order")
        .and_then(|order| order.get_attr("region").ok())
        .and_then(|r| r.as_str().map(str::to_owned));
    let tz = region_timezone(region.as_deref());
    super::vars::local_datetime(UnixMs::from_secs(secs), tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A logistics issue's label; anything else prints as it is.
fn issue_label(issue: Value, label: fn(LogisticsIssue) -> &'static str) -> String {
    match issue.as_str().and_then(LogisticsIssue::parse) {
        Some(i) => label(i).to_owned(),
        None if is_blank(&issue) => String::new(),
        None => issue.to_string(),
    }
}

/// A stage's label; a platform's own status prints as it is.
fn status_zh(status: Value) -> String {
    match status.as_str() {
        Some(s) => OrderStage::parse(s).map_or_else(|| s.to_owned(), |stage| stage.label_zh().to_owned()),
        None if is_blank(&status) => String::new(),
        None => status.to_string(),
    }
}

/// A stage's label; a platform's own status made readable (`READY_TO_SHIP` → `Ready to ship`).
fn status_en(status: Value) -> String {
    let Some(s) = status.as_str() else {
        return if is_blank(&status) {
            String::new()
        } else {
            status.to_string()
        };
    };
    if let Some(stage) = OrderStage::parse(s) {
        return stage.label_en().to_owned();
    }
    let words = s.replace('_', " ").to_lowercase();
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Masks the middle of a phone number, keeping a leading `+`: 11 digits or more keep the first 3 and
/// last 4 (`138****1234`, the familiar Chinese form), 7–10 keep the first and last 2, shorter ones
/// are masked whole. Only digits, `+` and `*` come out, so the result is printed as it is.
fn mask_phone(phone: Value) -> Value {
    Value::from_safe_string(masked_phone(&phone))
}

fn masked_phone(phone: &Value) -> String {
    let text = match phone.as_str() {
        Some(s) => s.to_owned(),
        None if is_blank(phone) => return String::new(),
        None => phone.to_string(),
    };
    let digits: Vec<char> = text.chars().filter(char::is_ascii_digit).collect();
    let plus = if text.trim_start().starts_with('+') { "+" } else { "" };
    let (head, tail) = match digits.len() {
        n if n >= 11 => (3, 4),
        n if n >= 7 => (2, 2),
        _ => (0, 0),
    };
    let masked = digits.len() - head - tail;
    let mut out = String::with_capacity(plus.len() + digits.len());
    out.push_str(plus);
    out.extend(&digits[..head]);
    out.extend(std::iter::repeat_n('*', masked));
    out.extend(&digits[head + masked..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Lang;
    use crate::rules::builtin;

    fn render(source: &str, kind: EventKind) -> Result<String, TemplateError> {
        MessageTemplate::compile("t", source)?.preview(kind)
    }

    #[test]
    fn every_builtin_renders_against_its_sample() {
        for lang in [Lang::Zh, Lang::En] {
            for kind in EventKind::ALL {
                let name = format!("{}-{lang:?}", kind.as_str());
                let out = MessageTemplate::compile(&name, builtin(kind, lang))
                    .and_then(|t| t.preview(kind))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(out.starts_with("### "), "{name}:\n{out}");
                // A failing destination is about shoprelay's own delivery, not a shop.
                if kind != EventKind::DeliveryFailing {
                    assert!(out.contains("100001"), "{name} names the shop:\n{out}");
                }
                for leftover in ["{{", "{%", "none", "undefined", "\n\n\n", "：\n", ": \n"] {
                    assert!(!out.contains(leftover), "{name} contains {leftover:?}:\n{out}");
                }
                if sample_event(kind).order.is_some() {
                    assert!(out.contains("240810ABCD1234"), "{name} names the order:\n{out}");
                }
            }
        }
    }

    #[test]
    fn the_new_order_message_reads_well() {
        let out = render(builtin(EventKind::OrderCreated, Lang::Zh), EventKind::OrderCreated).unwrap();
        let expected = "### 新订单\n\n\
                        > 订单号：240810ABCD1234\n\
                        > 店铺：100001\n\
                        > 买家：tan_ah_kow\n\
                        > 状态：待发货\n\
                        - Cotton Crew-neck T-Shirt（Black, M） × 2\n\
                        - Clear Phone Case for iPhone 15 × 1\n\
                        > 金额：<font color=\"info\">SGD 58.80</font>\n\
                        > 最晚发货：2024-08-13 17:40\n\
                        > 买家留言：Please pack carefully, it's a gift\n\
                        > 时间：2024-08-10 17:40";
        assert_eq!(out, expected);
        let out = render(
            builtin(EventKind::OrderStatusChanged, Lang::En),
            EventKind::OrderStatusChanged,
        )
        .unwrap();
        assert!(
            out.contains("> Status: Unpaid → <font color=\"info\">To ship</font>"),
            "{out}"
        );
    }

    #[test]
    fn long_orders_are_cut_and_cod_is_flagged() {
        let mut event = sample_event(EventKind::OrderCreated);
        if let Some(order) = event.order.as_mut() {
            order.cod = true;
            let item = order.items[1].clone();
            order.items = vec![item; 12];
        }
        let template = MessageTemplate::compile("t", builtin(EventKind::OrderCreated, Lang::Zh)).unwrap();
        let out = template.render(&PreparedEvent::new(&event, SAMPLE_TIME)).unwrap();
        assert!(
            out.starts_with("### 新订单 <font color=\"warning\">货到付款</font>\n"),
            "{out}"
        );
        assert_eq!(out.matches("\n- Clear Phone Case").count(), 10, "{out}");
        assert!(out.contains("- …… 共 12 种商品"), "{out}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = MessageTemplate::compile("paid", "### {{ event.order_sn }}\n> ok\n{% if order %}\n{{ order.sn }")
            .unwrap_err();
        let TemplateError::Syntax { name, line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((name.as_str(), *line), ("paid", Some(4)));
        assert_eq!(err.code(), "rule.invalid_template");
        assert_eq!(err.status(), 422);
        assert!(err.message_zh().contains("第 4 行"), "{}", err.message_zh());
        assert!(err.message_en().contains("line 4"), "{}", err.message_en());
        let err = MessageTemplate::compile("x", "{% for %}").unwrap_err();
        assert!(matches!(err, TemplateError::Syntax { line: Some(1), .. }), "{err:?}");
    }

    #[test]
    fn undefined_values_print_as_nothing() {
        let out = render(
            "[{{ nope }}|{{ order.nope.deeper }}|{{ event.tracking_no }}|{{ order.quantity }}]",
            EventKind::OrderCreated,
        );
        assert_eq!(out.unwrap(), "[|||3]");
        let out = render(
            "{% if order %}order{% else %}no order{% endif %}{{ order.items | length }}",
            EventKind::ShopAuthorized,
        );
        assert_eq!(out.unwrap(), "no order0");
    }

    #[test]
    fn runaway_templates_are_stopped() {
        let loops = "{% for a in range(1000) %}{% for b in range(1000) %}{{ b }}{% endfor %}{% endfor %}";
        let err = render(loops, EventKind::OrderCreated).unwrap_err();
        assert!(matches!(err, TemplateError::TooMuchWork { .. }), "{err:?}");
        assert_eq!(err.code(), "rule.template_render_failed");
        let err = render("{{ 'x' * 70000 }}", EventKind::OrderCreated).unwrap_err();
        assert!(matches!(err, TemplateError::OutputTooLarge { .. }), "{err:?}");
        let err = MessageTemplate::compile("big", &"x".repeat(MAX_TEMPLATE_BYTES + 1)).unwrap_err();
        assert!(matches!(err, TemplateError::TooLong { .. }));
        let err = render(
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            EventKind::OrderCreated,
        )
        .unwrap_err();
        assert!(
            matches!(err, TemplateError::Render { .. } | TemplateError::TooMuchWork { .. }),
            "{err:?}"
        );
        let err = render("{% include 'secret.txt' %}", EventKind::OrderCreated).unwrap_err();
        assert!(matches!(err, TemplateError::Render { line: Some(1), .. }), "{err:?}");
    }

    #[test]
    fn money_formats_by_currency() {
        let money = |a: Value, c: Option<&str>| super::money(a, c.map(Value::from));
        assert_eq!(money(Value::from(1234.5), Some("SGD")), "SGD 1,234.50");
        assert_eq!(money(Value::from(1_500_000), Some("idr")), "IDR 1,500,000");
        assert_eq!(money(Value::from(-0.001), Some("MYR")), "MYR 0.00");
        assert_eq!(money(Value::from(-12.5), None), "-12.50");
        assert_eq!(money(Value::from("99.9"), Some("BRL")), "BRL 99.90");
        assert_eq!(money(Value::from(123), Some("TWD")), "TWD 123");
        assert_eq!(money(Value::UNDEFINED, Some("SGD")), "");
        assert_eq!(money(Value::from(()), Some("SGD")), "");
    }

    #[test]
    fn phone_status_and_time_helpers() {
        let mask_phone = |v: Value| super::mask_phone(v).to_string();
        assert_eq!(mask_phone(Value::from("13800138000")), "138****8000");
        assert_eq!(mask_phone(Value::from("+65 9123 4567")), "+65******67");
        assert_eq!(mask_phone(Value::from("+86 138 0013 8000")), "+861******8000");
        assert_eq!(mask_phone(Value::from("9123 4567")), "91****67");
        assert_eq!(mask_phone(Value::from("12345")), "*****");
        assert_eq!(mask_phone(Value::from(())), "");
        let out = render("{{ '13800138000' | mask_phone }}", EventKind::OrderCreated).unwrap();
        assert_eq!(out, "138****8000", "printed as it is, not escaped");
        assert_eq!(status_zh(Value::from("delivered")), "已送达");
        assert_eq!(status_zh(Value::from("SOMETHING_NEW")), "SOMETHING_NEW");
        assert_eq!(status_en(Value::from("READY_TO_SHIP")), "Ready to ship");
        assert_eq!(status_en(Value::from("arranged")), "Shipment arranged");
        // 2022-08-10 08:38:47 UTC in the order's zone, Singapore then São Paulo.
        let out = render("{{ 1660120727 | local_time }}", EventKind::OrderCreated).unwrap();
        assert_eq!(out, "2022-08-10 16:38");
        let mut event = sample_event(EventKind::OrderCreated);
        if let Some(order) = event.order.as_mut() {
            order.region = Some("BR".into());
        }
        let template = MessageTemplate::compile("t", "{{ 1660120727 | local_time }} {{ now.local }}").unwrap();
        let out = template.render(&PreparedEvent::new(&event, SAMPLE_TIME)).unwrap();
        assert_eq!(out, "2022-08-10 05:38 2024-08-10 06:40");
    }

    /// The sample order with `text` as its buyer's name, note and first item's name.
    fn hostile_order(text: &str) -> crate::event::Event {
        let mut event = sample_event(EventKind::OrderCreated);
        if let Some(order) = event.order.as_mut() {
            order.buyer_username = Some(text.to_owned());
            order.message_to_seller = Some(text.to_owned());
            order.items[0].name = text.to_owned();
        }
        event
    }

    fn render_for(source: &str, event: &crate::event::Event) -> String {
        let template = MessageTemplate::compile("t", source).unwrap();
        template.render(&PreparedEvent::new(event, SAMPLE_TIME)).unwrap()
    }

    const ATTACK: &str = "</font>\n### 系统通知\n[login](https://evil.example/login)";

    #[test]
    fn values_are_escaped_and_the_author_s_markdown_is_kept() {
        let event = hostile_order(ATTACK);
        let out = render_for(
            "### 订单\n> 买家：<font color=\"info\">{{ order.buyer_username }}</font>",
            &event,
        );
        assert_eq!(
            out,
            "### 订单\n> 买家：<font color=\"info\">＜/font＞ ＃＃＃ 系统通知 ［login］(https：//evil.example/login)</font>"
        );
        // The built-in template: the buyer's name, note and item are each one line of text.
        let out = render_for(builtin(EventKind::OrderCreated, Lang::Zh), &event);
        assert_eq!(out.lines().filter(|l| l.starts_with('#')).count(), 1, "{out}");
        assert!(!out.contains("[login]") && !out.contains("https://"), "{out}");
        assert_eq!(out.matches("系统通知").count(), 3, "{out}");
        assert!(out.contains("\n- ＜/font＞ ＃＃＃ 系统通知"), "{out}");
    }

    #[test]
    fn authors_write_markdown_in_the_template_with_safe_and_with_macros() {
        let event = hostile_order("<b>");
        let source = "{{ '**粗体**' | safe }} {{ '**not**' }} {% macro strong(x) %}**{{ x }}**{% endmacro %}\
                      {{ strong(order.buyer_username) }} {{ order.buyer_username | e }}";
        assert_eq!(render_for(source, &event), "**粗体** ＊＊not＊＊ **＜b＞** ＜b＞");
        // The COD flag of the built-in new-order message is the template's own markup.
        let mut event = hostile_order("x");
        if let Some(order) = event.order.as_mut() {
            order.cod = true;
        }
        let out = render_for(builtin(EventKind::OrderCreated, Lang::En), &event);
        assert!(
            out.starts_with("### New order <font color=\"warning\">COD</font>\n"),
            "{out}"
        );
    }

    proptest::proptest! {
        #[test]
        fn no_value_makes_markup_in_a_template(text in "[<>\\[\\]()#*@:/ \n\r\u{2028}a-z系统-]{0,40}|.*") {
            let event = hostile_order(&text);
            let out = render_for(
                "### T\n> 买家：<font color=\"info\">{{ order.buyer_username }}</font>\n> {{ event.message_text }}{{ order.message_to_seller }}",
                &event,
            );
            let lines: Vec<&str> = out.lines().collect();
            proptest::prop_assert_eq!(lines.len(), 3, "{:?}", out);
            proptest::prop_assert!(lines[1].starts_with("> 买家：<font color=\"info\">") && lines[1].ends_with("</font>"));
            proptest::prop_assert!(lines[2].starts_with("> "));
            proptest::prop_assert_eq!(out.matches('<').count(), 2, "{:?}", out);
            proptest::prop_assert!(!out.contains('[') && !out.contains("://") && !out.contains('@'));
        }
    }
}
