//! The pipeline between the edges, split into stages named after its spine:
//! ingest → inbox → enrich → route → outbox → deliver → audit.
//!
//! [`Engine`] is the composition root: it builds each stage with only what that stage works with (the
//! writer, the clock, the configuration in force, the WeCom client, the stages it hands work to …), runs
//! their workers, and is what the application services start from.
//!
//! # Dependencies
//! A stage never holds the whole store. [`shoprelay_store::Store`] is the sum of narrow traits, one per
//! concern ([`shoprelay_store::Inbox`], [`shoprelay_store::Outbox`], [`shoprelay_store::Tasks`],
//! [`shoprelay_store::AuditLog`], …), and each stage, [`chat::Chat`], [`escalate::Timers`],
//! [`tokens::MarketplaceTokens`] and the writer's task holds one field per trait it calls — route only
//! `tasks`, audit `audit_log` and `retention`, deliver `deliveries` (the store's outbox) and `card_codes` —
//! so its struct is the list of what it touches of the store, and a test can hand it fakes of just those
//! traits (the audit stage's unit test does).
//! [`Engine::new`] builds every such field from the one `Arc<dyn Store>` it is given: each trait is a
//! supertrait of `Store`, so the `Arc` coerces to it (trait upcasting, Rust 1.86). A composite trait
//! (say `trait InboxStore: Inbox + DataPolicies`) would not: `dyn Store` only upcasts to its own
//! supertraits, so a stage needing three parts holds three fields.
//!
//! The HTTP layer calls the services ([`service`]) and never the store: `Engine`'s store is private to
//! this crate (the `store-access` feature lends it to the tools and tests that inspect it: the demo, the
//! benchmarks and the end-to-end tests). Most services borrow the same narrow parts of it; those that
//! orchestrate (rules, the entity check, onboarding's checks reload the configuration and call WeCom and
//! the marketplaces) borrow the engine.
//!
//! # Layout
//! - [`engine`]: [`Engine`], the composition root, and the workers it spawns.
//! - [`stage`]: the spine — [`stage::ingest`] (pushes stored before they are acknowledged, lost pushes
//!   reconciled, WeCom AI-bot long connections), [`stage::inbox`], [`stage::enrich`], [`stage::route`],
//!   [`stage::outbox`] (budgets, digests, the breaker), [`stage::deliver`], [`stage::audit`] (the hash
//!   chain, retention).
//! - [`chat`]: customer service beside the spine — buyer messages filed under conversations, members'
//!   replies and commands (from WeCom callbacks) sent back to the buyer through the marketplace.
//! - [`escalate`]: the time-driven steps beside the spine ([`escalate::Timers`]): tasks not acknowledged
//!   in time escalated, quiet hours released, the [`logistics`] watch (failed or stalled parcels, ship-by
//!   risk) and buyers waiting for a reply.
//! - [`tokens`]: marketplace tokens, refreshed single-flight before they expire — shared by every stage
//!   that calls a marketplace.
//! - [`service`]: the application services the HTTP handlers call — API tokens, audit log, rules, tasks,
//!   data policies, buyers, queues, status, conversations, shops' authorization, pushes and callbacks
//!   answered at the edge — never the store.
//! - [`config`]: the operator's configuration file, its checks, and the stored [`config::Registry`].
//! - [`writer`]: group commit of verified pushes and of the workers' writes (inbox results, sends,
//!   delivery results), acknowledgements first, so every write waits for its fsync without paying one each.
//! - [`push_window`]: how far from its arrival a push's times may be for it to be applied.
//! - [`routing`]: which rules an event meets (conditions compiled once) and what each target receives.
//! - [`render`]: events become WeCom cards and robot markdown.
//! - [`standing`]: each shop's latest seller-status push, kept and read back for the entity check.
//! - [`audit_export`]: the audit log as CSV.
//! - [`conversation_export`]: the conversation archive as CSV or JSON lines.
//! - [`audit_sink`]: audit entries written off the request path (refused pushes), bounded and batched.
//! - [`backoff`]: retry schedules.
//! - [`webhook`]: Standard Webhooks signing of events sent to the seller's own systems.
//! - [`egress`]: which addresses webhooks may connect to, checked on every resolution.

pub mod audit_export;
pub mod audit_sink;
pub mod backoff;
pub mod chat;
pub mod config;
pub mod conversation_export;
pub mod egress;
pub mod engine;
pub mod error;
pub mod escalate;
pub mod logistics;
pub mod push_window;
pub mod render;
pub mod routing;
pub mod service;
pub mod stage;
pub mod standing;
pub mod tokens;
pub mod webhook;
pub mod writer;

pub use engine::{Engine, EngineSettings};
pub use error::EngineError;
