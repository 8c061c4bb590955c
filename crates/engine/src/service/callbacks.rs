//! WeCom callbacks: stored once, with their audit entry, before WeCom gets its answer.

use shoprelay_clock::SharedClock;
use shoprelay_store::{AuditEntry, AuditKind, AuditOutcome, Callbacks, NewCallback};

use crate::audit_sink::AuditSink;
use crate::{Engine, EngineError};

/// Stores and audits WeCom callbacks.
pub struct CallbackService<'a> {
    callbacks: &'a dyn Callbacks,
    clock: &'a SharedClock,
    audit_sink: &'a AuditSink,
}

impl<'a> CallbackService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            callbacks: &*engine.store,
            clock: &engine.clock,
            audit_sink: &engine.audit_sink,
        }
    }

    /// Stores a verified, decrypted callback with its audit entry; `false` when it repeats a stored one.
    pub async fn receive(&self, callback: &NewCallback) -> Result<bool, EngineError> {
        Ok(self.callbacks.insert_callback(callback).await?)
    }

    /// WeCom checked the callback URL and got its answer.
    pub fn verified(&self, app_id: &str) {
        self.record(app_id, AuditOutcome::Verified, 200, "callback URL verification".into());
    }

    /// A callback refused with `status` (never stored, never processed).
    pub fn refused(&self, app_id: &str, status: u16, detail: String) {
        self.record(app_id, AuditOutcome::Rejected, status, detail);
    }

    /// Queued for the audit log off the request path. A WeCom app is no marketplace app: no platform.
    fn record(&self, app_id: &str, outcome: AuditOutcome, status: u16, detail: String) {
        let mut entry = AuditEntry::new(AuditKind::Callback, outcome, self.clock.now(), detail);
        entry.app_id = Some(app_id.chars().take(64).collect());
        entry.http_status = Some(i64::from(status));
        self.audit_sink.record(entry);
    }
}
