//! What a push answered at the edge leaves in the audit log. Stored pushes are audited with the push
//! itself ([`Engine::accept_push`]); these are the ones nothing is stored for.

use shoprelay_clock::SharedClock;
use shoprelay_core::ids::ConfigId;
use shoprelay_marketplaces::adapter::MarketplaceApp;
use shoprelay_store::{AuditEntry, AuditKind, AuditLog, AuditOutcome};

use super::audit::known_platform;
use crate::audit_sink::AuditSink;
use crate::stage::ConfigView;
use crate::{Engine, EngineError};

/// Audits pushes answered without being stored.
pub struct PushService<'a> {
    audit_log: &'a dyn AuditLog,
    clock: &'a SharedClock,
    config: &'a ConfigView,
    audit_sink: &'a AuditSink,
}

impl<'a> PushService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            audit_log: &*engine.store,
            clock: &engine.clock,
            config: &engine.config,
            audit_sink: &engine.audit_sink,
        }
    }

    /// A marketplace checked the push URL with a verification push, answered 200.
    pub async fn verified(&self, app: &dyn MarketplaceApp) -> Result<(), EngineError> {
        let mut audit = AuditEntry::new(
            AuditKind::Push,
            AuditOutcome::Verified,
            self.clock.now(),
            shoprelay_core::audit_text::VERIFICATION_PUSH,
        )
        .of_app(app.platform(), app.id());
        audit.http_status = Some(200);
        Ok(self.audit_log.append_audit(audit).await?)
    }

    /// A push refused with `status` (queued for the audit log, never waited for). `platform` and `app_id`
    /// are the URL's: the entry names the app's platform when it is configured, else the URL's when
    /// shoprelay knows that marketplace.
    pub fn refused(&self, platform: &str, app_id: &str, status: u16, detail: String) {
        let configured = ConfigId::parse(app_id)
            .ok()
            .and_then(|id| self.config.current().platform_of(&id));
        let mut audit = AuditEntry::new(AuditKind::Push, AuditOutcome::Rejected, self.clock.now(), detail);
        audit.app_id = Some(app_id.chars().take(64).collect());
        audit.platform = configured.or_else(|| known_platform(platform).ok());
        audit.http_status = Some(i64::from(status));
        self.audit_sink.record(audit);
    }
}
