//! Configuration: the file's schema ([`model`]), its parsing and checks ([`validate`]), and the stored,
//! indexed form the service runs from ([`registry`]).

pub mod chat;
pub mod model;
pub mod registry;
pub mod validate;

pub use chat::{AutoAnswer, AutoReplyConfig, AutoReplyRule, ChatConfig};
pub use model::*;
pub use registry::{CompiledRule, MarketplaceApps, Registry, RULE_KIND};
pub use validate::{parse_config, rule_problems, ConfigError, Known, Problem, RuleProblemAt};
