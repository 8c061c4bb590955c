//! Durable state of shoprelay behind one [`Store`] trait, implemented for SQLite and PostgreSQL.
//!
//! # Layout
//! - [`model`]: the records stored and returned (pushes, inbox items, deliveries, audit entries, shop tokens).
//! - [`store`]: the [`Store`] trait, split by concern: [`Inbox`], [`Outbox`], [`AuditLog`], [`ConfigRepo`],
//!   [`ShopAuthRepo`], [`Tasks`], [`OrderWatch`], [`Retention`], [`Privacy`]; [`Writes`] commits several
//!   workers' writes in one transaction (`sql/batch.rs`).
//! - [`sql`]: [`SqlStore`], the one implementation over SQLite (embedded default) and PostgreSQL (scale-out).
//!   Both dialects share their SQL where they agree; claiming work and migrations differ. Columns that
//!   can hold personal data are sealed with the master key (`sql/personal.rs`); a buyer's rows are found
//!   through keyed hashes (`sql/forget.rs`); `sql/reseal.rs` re-seals everything under a new key.
//! - [`console`]: the console's accounts, roles, sessions and the record of changes made through it.
//! - [`conversation`]: buyer chat — conversations, their holder, and the archive of their messages.
//! - [`dashboard`]: what the console's dashboard reads (traffic, latency percentiles, response times).
//! - [`standing`]: each shop's latest seller-status push, and the response_codes of sent interactive cards.
//! - [`tokens`]: API tokens for automation — scoped, revocable, kept only as hashes.
//! - [`chain`]: the audit log's hash chain (sealing, verification), pure.
//! - [`error`]: [`StoreError`], storage failures mapped to intent.
//!
//! Every stage of the pipeline reads durable input and writes durable output in one transaction, so a
//! crash at any point loses nothing (the transactional inbox and outbox).

pub mod archive;
pub mod chain;
pub mod console;
pub mod conversation;
pub mod dashboard;
pub mod error;
pub mod model;
pub mod sql;
pub mod standing;
pub mod store;
pub mod tokens;

pub use archive::{ArchivePage, ArchiveQuery, ArchivedMessage, BuyerOrder, ShopChat};
pub use console::{
    ConsoleAction, ConsoleActionFilter, ConsoleUser, NewConsoleUser, Role, UserCreated, UserUpdated, WeComLinked,
};
pub use conversation::{
    Author, Claim, Conversation, ConversationFilter, ConversationMessage, ConversationState, FiledMessage,
    MessageOutcome, NewBuyerMessage, NewReply,
};
pub use dashboard::Dashboard;
pub use error::StoreError;
pub use model::*;
pub use sql::{ResealTarget, SqlStore};
pub use standing::{CardCode, CardCodes, CardSubject, NewCardCode, ShopStanding, ShopStandings};
pub use store::{
    ApiTokens, AuditLog, Callbacks, ConfigRepo, ConsoleAccounts, ConversationArchive, Conversations, DataPolicies,
    Inbox, OrderWatch, Outbox, Privacy, Retention, ShopAuthRepo, Store, Tasks, Writes,
};
pub use tokens::{ApiTokenRecord, NewApiToken, TokenCreated, TokenScope};
