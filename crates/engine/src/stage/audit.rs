//! The audit stage, the end of the spine: the audit log sealed into its hash chain, a second or so after
//! entries are written (see `shoprelay_store::chain` for why sealing is not done at insert time), and
//! finished rows purged after their periods ([`retention`]).

pub mod retention;

use std::sync::Arc;
use std::time::Duration;

use shoprelay_clock::SharedClock;
use shoprelay_store::Store;
use tokio_util::sync::CancellationToken;

use crate::error::EngineError;
use crate::stage::{stage_common, ConfigView};

/// Seals and purges: the store, the clock and the retention periods of the configuration.
pub struct Audit {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: SharedClock,
    pub(crate) config: ConfigView,
}

stage_common!(Audit, wait);

/// Entries sealed per transaction: one short write, whatever the backlog (on SQLite the acknowledgements
/// wait behind it: 5,000, read inside the transaction, held the write connection up to half a second).
const SEAL_BATCH: i64 = 1_000;

impl Audit {
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
