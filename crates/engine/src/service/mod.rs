//! The application services: what the HTTP handlers (and any other edge) call instead of the store. Each
//! takes typed requests, does the work through the store and the configuration in force, writes the
//! audit entries that go with a change, and answers typed results or typed errors with their stable
//! user-facing codes. Handlers only translate HTTP to these calls and back.
//!
//! # Layout
//! - [`api_tokens`]: API tokens for automation made, listed, revoked, and found for a request.
//! - [`archive`]: the conversation archive searched and exported page by page.
//! - [`audit`]: the audit log read by filter, and the platform names a filter accepts.
//! - [`authorization`]: shops authorized by their sellers — the link, the redirect, the shops now bound.
//! - [`pushes`]: what a push answered at the edge leaves in the audit log (verifications, refusals).
//! - [`callbacks`]: WeCom callbacks stored once; their verifications and refusals audited.
//! - [`conversations`]: buyer conversations listed, read, and acted on from the console.
//! - [`connect`]: onboarding's live checks — a WeCom app tested and saved, robots, "test connection".
//! - [`console`]: the console's accounts — setup link, logins, sessions, users and roles — and the record
//!   of every change made through it.
//! - [`dashboard`]: the dashboard's figures and a delivery's message as WeCom received it.
//! - [`destinations`]: each configured destination's budget use, breaker and dead letters.
//! - [`entity`]: the entity consistency check over the configured shops and the recorded WeCom company,
//!   and corrections of either side.
//! - [`rules`]: rules with their counters — saved after the checks of `apply`, enabled, deleted — and the
//!   stored events a dry run starts from.
//! - [`tasks`]: tasks listed and acknowledged.
//! - [`data_policy`]: a shop's data policy read and replaced (audited with who accepted what).
//! - [`buyers`]: a buyer's data forgotten on request.
//! - [`queues`]: waiting work, the messages a digest folded, dead letters sent again.
//! - [`status`]: the service's status: backend, queues and every shop's authorization.

pub mod api_tokens;
pub mod archive;
pub mod audit;
pub mod authorization;
pub mod buyers;
pub mod callbacks;
pub mod connect;
pub mod console;
pub mod conversations;
pub mod dashboard;
pub mod data_policy;
pub mod destinations;
pub mod entity;
pub mod pushes;
pub mod queues;
pub mod rules;
pub mod status;
pub mod tasks;

use crate::Engine;

impl Engine {
    /// API tokens for automation.
    pub fn api_tokens(&self) -> api_tokens::ApiTokenService<'_> {
        api_tokens::ApiTokenService::new(self)
    }

    /// The conversation archive.
    pub fn archive(&self) -> archive::ArchiveService<'_> {
        archive::ArchiveService::new(self)
    }

    /// The audit log.
    pub fn audit(&self) -> audit::AuditService<'_> {
        audit::AuditService::new(self)
    }

    /// Shops' authorization by their sellers.
    pub fn authorization(&self) -> authorization::AuthorizationService<'_> {
        authorization::AuthorizationService::new(self)
    }

    /// Buyer conversations.
    pub fn conversations(&self) -> conversations::ConversationService<'_> {
        conversations::ConversationService::new(self)
    }

    /// Pushes as the edge answered them.
    pub fn pushes(&self) -> pushes::PushService<'_> {
        pushes::PushService::new(self)
    }

    /// WeCom callbacks.
    pub fn callbacks(&self) -> callbacks::CallbackService<'_> {
        callbacks::CallbackService::new(self)
    }

    /// The console's accounts.
    pub fn console(&self) -> console::ConsoleService<'_> {
        console::ConsoleService::new(self)
    }

    /// Onboarding's live checks.
    pub fn connect(&self) -> connect::ConnectService<'_> {
        connect::ConnectService::new(self)
    }

    /// The dashboard and the "as WeCom received it" view.
    pub fn dashboard(&self) -> dashboard::DashboardService<'_> {
        dashboard::DashboardService::new(self)
    }

    /// Destinations' state.
    pub fn destinations(&self) -> destinations::DestinationService<'_> {
        destinations::DestinationService::new(self)
    }

    /// The entity consistency check.
    pub fn entity(&self) -> entity::EntityService<'_> {
        entity::EntityService::new(self)
    }

    /// Message rules.
    pub fn rules(&self) -> rules::RuleService<'_> {
        rules::RuleService::new(self)
    }

    /// Tasks (assigned items, acknowledgements).
    pub fn tasks(&self) -> tasks::TaskService<'_> {
        tasks::TaskService::new(self)
    }

    /// Shops' data policies.
    pub fn data_policies(&self) -> data_policy::DataPolicyService<'_> {
        data_policy::DataPolicyService::new(self)
    }

    /// Buyers' requests about their data.
    pub fn buyers(&self) -> buyers::BuyerService<'_> {
        buyers::BuyerService::new(self)
    }

    /// Waiting work, digests and dead letters.
    pub fn queues(&self) -> queues::QueueService<'_> {
        queues::QueueService::new(self)
    }

    /// The service's status.
    pub fn status(&self) -> status::StatusService<'_> {
        status::StatusService::new(self)
    }
}
