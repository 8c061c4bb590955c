//! The pipeline between the edges: ingest → inbox → normalise/enrich → route → outbox → deliver → audit.
//!
//! # Layout
//! - [`config`]: the operator's configuration file, its checks, and the stored [`config::Registry`].
//! - [`engine`]: [`Engine`], the shared state every stage works from, and its background workers.
//! - [`writer`]: group commit of verified pushes and of the workers' writes (inbox results, sends,
//!   delivery results), acknowledgements first, so every write waits for its fsync without paying one each.
//! - [`pipeline`]: inbox items become neutral events, enriched through the marketplace API and routed.
//! - [`push_window`]: how far from its arrival a push's times may be for it to be applied.
//! - [`longconn`]: WeCom AI-bot long connections — dialled out, one per bot in the cluster (a lease),
//!   what arrives stored as callbacks.
//! - [`logistics`]: logistics exceptions the marketplaces do not push — failed or stalled parcels, ship-by risk.
//! - [`reconcile`]: lost pushes and unseen order changes fetched from the marketplace into the inbox.
//! - [`routing`]: which rules an event meets (conditions compiled once) and what each target receives.
//! - [`render`]: events become WeCom cards and robot markdown.
//! - [`pacing`]: budgets per destination checked before sending, digests when over budget, the breaker.
//! - [`chat`]: customer service — buyer messages filed under conversations, members' replies and
//!   commands (from WeCom callbacks) sent back to the buyer through the marketplace.
//! - [`escalate`]: tasks not acknowledged in time become escalation events (with quiet-hour release,
//!   the time-driven steps).
//! - [`deliver`]: outbox rows are sent, retried with back-off or dead-lettered, each attempt audited.
//! - [`retention`]: finished rows purged after their configured periods.
//! - [`tokens`]: marketplace tokens, refreshed single-flight before they expire.
//! - [`audit_chain`]: the audit log sealed into its hash chain, in the background.
//! - [`audit_export`]: the audit log as CSV.
//! - [`conversation_export`]: the conversation archive as CSV or JSON lines.
//! - [`audit_sink`]: audit entries written off the request path (refused pushes), bounded and batched.
//! - [`backoff`]: retry schedules.
//! - [`webhook`]: Standard Webhooks signing of events sent to the seller's own systems.
//! - [`egress`]: which addresses webhooks may connect to, checked on every resolution.
//! - [`service`]: the application services the HTTP handlers call — audit log, rules, tasks, data
//!   policies, buyers, queues, status, pushes and callbacks answered at the edge — never the store.

pub mod audit_chain;
pub mod audit_export;
pub mod audit_sink;
pub mod backoff;
pub mod chat;
pub mod config;
pub mod conversation_export;
pub mod deliver;
pub mod egress;
pub mod engine;
pub mod error;
pub mod escalate;
pub mod logistics;
pub mod longconn;
pub mod pacing;
pub mod pipeline;
pub mod push_window;
pub mod reconcile;
pub mod render;
pub mod retention;
pub mod routing;
pub mod service;
pub mod tokens;
pub mod webhook;
pub mod writer;

pub use engine::{Engine, EngineSettings};
pub use error::EngineError;
