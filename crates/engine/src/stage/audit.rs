//! Sealing the audit log into its hash chain, a second or so after entries are written (see
//! `shoprelay_store::chain` for why sealing is not done at insert time).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::EngineError;

/// Entries sealed per transaction: one short write, whatever the backlog.
const SEAL_BATCH: i64 = 5_000;

impl Engine {
    /// Seals every entry written so far; returns how many.
    pub async fn seal_audit_now(&self) -> Result<usize, EngineError> {
        let mut sealed = 0;
        loop {
            let n = self.store.seal_audit(SEAL_BATCH).await?;
            sealed += n;
            if n < SEAL_BATCH as usize {
                return Ok(sealed);
            }
        }
    }

    /// Seals new entries every second until `shutdown`.
    pub(crate) async fn seal_audit_loop(&self, shutdown: CancellationToken) {
        while self.wait(Duration::from_secs(1), &shutdown).await {
            if let Err(err) = self.seal_audit_now().await {
                tracing::warn!(error = ?err, "sealing the audit log failed; retrying");
            }
        }
    }
}
