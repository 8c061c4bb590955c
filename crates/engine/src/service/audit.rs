//! The audit log as the API and the console read it.

use shoprelay_core::error::UserFacing;
use shoprelay_core::event::Platform;
use shoprelay_marketplaces::platform;
use shoprelay_store::{AuditEntry, AuditFilter, AuditLog};

use crate::{Engine, EngineError};

/// Reads the audit log.
pub struct AuditService<'a> {
    audit_log: &'a dyn AuditLog,
}

impl<'a> AuditService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            audit_log: &*engine.store,
        }
    }

    /// Entries matching `filter`, newest first.
    pub async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, EngineError> {
        Ok(self.audit_log.query_audit(filter).await?)
    }
}

/// A platform name that is no marketplace shoprelay connects to.
#[derive(Debug, thiserror::Error)]
#[error("unknown platform `{0}`")]
pub struct UnknownPlatform(String);

fn known_names() -> String {
    platform::all().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
}

impl UserFacing for UnknownPlatform {
    fn code(&self) -> &'static str {
        "audit.unknown_platform"
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        format!("未知的平台「{}」：platform 可为 {}", self.0, known_names())
    }
    fn message_en(&self) -> String {
        format!("Unknown platform `{}`: platform is one of {}", self.0, known_names())
    }
}

/// A marketplace named in a filter: one shoprelay connects to, by its lower-case name (`lazada`).
pub fn known_platform(raw: &str) -> Result<Platform, UnknownPlatform> {
    Platform::parse(raw)
        .ok()
        .filter(|p| platform::all().any(|known| known == *p))
        // Echoed back in the answer: only so much of it.
        .ok_or_else(|| UnknownPlatform(raw.chars().take(32).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marketplaces_shoprelay_connects_to_are_known() {
        assert_eq!(
            known_platform("lazada").map(|p| p.to_string()).ok().as_deref(),
            Some("lazada")
        );
        assert_eq!(
            known_platform("shopee").map(|p| p.to_string()).ok().as_deref(),
            Some("shopee")
        );
        for unknown in ["amazon", "Lazada", "", "shoprelay", "<script>"] {
            let err = known_platform(unknown).err();
            assert_eq!(
                err.as_ref().map(UserFacing::code),
                Some("audit.unknown_platform"),
                "{unknown}"
            );
        }
        let err = UnknownPlatform("amazon".into());
        assert!(err.message_zh().contains("shopee") && err.message_en().contains("lazada"));
    }
}
