//! Message rules, the pure part: the conditions a seller writes, compiled once at load and evaluated
//! per event, and the sandboxed templates that turn an event into a message. No I/O, no clock
//! reads: the evaluation time is always passed in.
//!
//! ```
//! use shoprelay_core::event::EventKind;
//! use shoprelay_core::event::Platform;
//! use shoprelay_core::rules::{sample_event, CompiledCondition, Condition, MessageTemplate, PreparedEvent, Vocabulary};
//!
//! // The marketplace adapters say which platforms and platform statuses exist.
//! struct Names;
//! impl Vocabulary for Names {
//!     fn knows_platform(&self, p: Platform) -> bool { p.as_str() == "marketplace" }
//!     fn knows_status(&self, name: &str) -> bool { name.eq_ignore_ascii_case("READY_TO_SHIP") }
//! }
//!
//! let condition: Condition = serde_json::from_str(
//!     r#"{"all": [{"status_to": ["to_ship"]}, {"expr": "order.total_amount >= 50.0"}]}"#,
//! ).unwrap();
//! let rule = CompiledCondition::compile(&condition, &Names).unwrap(); // once, at load
//! let template = MessageTemplate::compile("paid", "{{ event.order_sn }}: {{ order.total_amount | money(order.currency) }}").unwrap();
//!
//! let event = sample_event(EventKind::OrderStatusChanged);
//! let prepared = PreparedEvent::new(&event, event.occurred_at); // once per event, then every rule
//! assert!(rule.eval(&prepared).is_match());
//! assert_eq!(template.render(&prepared).unwrap(), "240810ABCD1234: SGD 58.80");
//! ```
//!
//! # Layout
//! - [`condition`]: the condition tree as written in TOML / JSON (serde, unknown keys rejected).
//! - `compile`: [`CompiledCondition::compile`], once at load: values parsed, CEL built and probed.
//! - `error`: [`RuleError`], which names the path of a mistake (`all[1].total_amount.gte`).
//! - `eval`: [`PreparedEvent`] (one event at one time, shared by every rule) and [`EvalOutcome`].
//! - `cel`: the `expr` condition through the `cel` crate, guarded against oversized input.
//! - [`vars`]: the variables CEL and templates see (the table sellers read).
//! - [`template`]: [`MessageTemplate`], its filters and limits, and [`TemplateError`].
//! - `builtin`: [`builtin`], the default template of every event kind in zh-CN and English.
//! - `sample`: [`sample_event`], a realistic event of every kind for previews and dry runs.
//! - `schedule`: [`Window`], recurring local-time windows (quiet hours, working hours).

mod builtin;
mod cel;
mod compile;
pub mod condition;
mod error;
mod eval;
mod sample;
mod schedule;
pub mod template;
pub mod vars;

pub use builtin::builtin;
pub use compile::{CompiledCondition, Vocabulary, MAX_CONDITION_DEPTH};
pub use condition::Condition;
pub use error::{RuleError, RuleProblem};
pub use eval::{EvalFailure, EvalOutcome, PreparedEvent};
pub use sample::{sample_event, SAMPLE_PLATFORM, SAMPLE_TIME};
pub use schedule::Window;
pub use template::{MessageTemplate, TemplateError};
