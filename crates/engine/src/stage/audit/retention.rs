//! Retention: finished rows older than the configured periods are purged every hour, a batch at a time
//! so the single SQLite writer is never held long. Personal data leaves with them (PIPL and GDPR ask that
//! it be kept no longer than needed).

use std::time::Duration;

use shoprelay_clock::UnixMs;
use shoprelay_store::RetentionTarget;
use tokio_util::sync::CancellationToken;

use super::Audit;
use crate::error::EngineError;

/// Rows deleted per transaction.
const PURGE_BATCH: i64 = 1_000;

/// How often the loop purges.
const PURGE_EVERY: Duration = Duration::from_secs(3_600);

const DAY: Duration = Duration::from_secs(24 * 3_600);

impl Audit {
    /// Purges every target's rows older than its period as of `now`; returns how many went, per target.
    /// Targets kept forever (0 days) are skipped.
    pub async fn purge_expired(&self, now: UnixMs) -> Result<Vec<(RetentionTarget, u64)>, EngineError> {
        let retention = self.registry().retention();
        let mut purged = Vec::new();
        for target in RetentionTarget::ALL {
            let days = retention.days(target);
            if days == 0 {
                continue;
            }
            let before = now - DAY * days;
            let mut total = 0;
            loop {
                let n = self.retention.purge(target, before, PURGE_BATCH).await?;
                total += n;
                if n < PURGE_BATCH as u64 {
                    break;
                }
                // Let acknowledgements and deliveries have the writer between batches.
                tokio::task::yield_now().await;
            }
            if total > 0 {
                metrics::counter!("shoprelay_purged_total", "target" => target.as_str()).increment(total);
                tracing::info!(
                    target = target.as_str(),
                    rows = total,
                    days,
                    "purged rows past their retention"
                );
            }
            purged.push((target, total));
        }
        Ok(purged)
    }

    /// Purges at start and then once an hour by the clock, until `shutdown`.
    pub(crate) async fn retention_loop(&self, shutdown: CancellationToken) {
        loop {
            if let Err(err) = self.purge_expired(self.clock.now()).await {
                tracing::warn!(error = ?err, "purging rows past their retention failed; retrying in an hour");
            }
            if !self.wait(PURGE_EVERY, &shutdown).await {
                return;
            }
        }
    }
}
