//! The audit stage, the end of the spine: the audit log sealed into its hash chain, a second or so after
//! entries are written (see `shoprelay_store::chain` for why sealing is not done at insert time), and
//! finished rows purged after their periods ([`retention`]).

pub mod retention;

use std::sync::Arc;
use std::time::Duration;

use shoprelay_clock::SharedClock;
use shoprelay_store::{AuditLog, Retention, WriteBatch};
use tokio_util::sync::CancellationToken;

use crate::error::EngineError;
use crate::stage::{stage_common, ConfigView};
use crate::writer::Writer;

/// Seals and purges: the audit log and retention of the store, the clock and the retention periods of the
/// configuration.
pub struct Audit {
    /// Seals the hash chain.
    pub(crate) audit_log: Arc<dyn AuditLog>,
    /// Purges finished rows past their periods.
    pub(crate) retention: Arc<dyn Retention>,
    pub(crate) clock: SharedClock,
    pub(crate) config: ConfigView,
    /// Where the database writes one transaction at a time (SQLite), the writer whose shared commits
    /// carry the seals; `None`: each seal is a transaction of its own.
    pub(crate) seal_through: Option<Writer>,
}

stage_common!(Audit, wait);

/// Entries sealed per transaction of its own: one short write, whatever the backlog (5,000, read inside
/// the transaction, held SQLite's write connection up to half a second).
const SEAL_BATCH: i64 = 1_000;

/// Entries sealed per shared commit: one commit's whole background share (the inbox's and the outbox's
/// writes then go in the next), so an acknowledgement committed with a seal waits no longer than behind
/// any other background work.
const SHARED_SEAL_BATCH: i64 = 256;

/// Times a shared seal hashes again after the head moved, before waiting for the next round.
const SHARED_SEAL_TRIES: usize = 4;

impl Audit {
    /// Seals every entry written so far; returns how many.
    pub async fn seal_audit_now(&self) -> Result<usize, EngineError> {
        if let Some(writer) = &self.seal_through {
            return self.seal_shared(writer).await;
        }
        let mut sealed = 0;
        loop {
            let n = self.audit_log.seal_audit(SEAL_BATCH).await?;
            sealed += n;
            if n < SEAL_BATCH as usize {
                return Ok(sealed);
            }
        }
    }

    /// [`Audit::seal_audit_now`] through the writer's shared commits: each plan read and hashed on a read
    /// connection, its links written beside whatever else that commit carries.
    async fn seal_shared(&self, writer: &Writer) -> Result<usize, EngineError> {
        let mut sealed = 0;
        let mut missed = 0;
        while let Some(plan) = self.audit_log.plan_seal(SHARED_SEAL_BATCH).await? {
            let n = plan.links.len();
            let batch = WriteBatch {
                seals: vec![plan],
                ..WriteBatch::default()
            };
            if writer.write(batch).await?.seals.first() == Some(&true) {
                sealed += n;
                if n < SHARED_SEAL_BATCH as usize {
                    break;
                }
            } else {
                // Another sealer moved the head: hash again from where it stands now.
                missed += 1;
                if missed == SHARED_SEAL_TRIES {
                    break;
                }
            }
        }
        Ok(sealed)
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

#[cfg(test)]
mod tests {
    //! The audit stage holds the store's audit log and retention only, so these fakes are all it needs.

    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use async_trait::async_trait;
    use shoprelay_clock::{ManualClock, UnixMs};
    use shoprelay_store::chain::{ChainHead, SealedAudit};
    use shoprelay_store::{AuditEntry, AuditFilter, AuditLog, Retention, RetentionTarget, SealPlan, StoreError};

    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    use super::{Audit, SEAL_BATCH};

    const DAY_SECS: u64 = 24 * 3_600;
    use crate::config::Registry;
    use crate::stage::ConfigView;

    /// An audit log whose unsealed backlog is a number: each seal takes up to `max` of it.
    struct Backlog {
        unsealed: Mutex<i64>,
        seals: Mutex<Vec<i64>>,
    }

    #[async_trait]
    impl AuditLog for Backlog {
        async fn append_audit(&self, _: AuditEntry) -> Result<(), StoreError> {
            unreachable!("sealing appends nothing")
        }
        async fn append_audits(&self, _: &[AuditEntry]) -> Result<(), StoreError> {
            unreachable!("sealing appends nothing")
        }
        async fn query_audit(&self, _: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
            unreachable!("sealing reads no entries")
        }
        async fn seal_audit(&self, max: i64) -> Result<usize, StoreError> {
            self.seals.lock().unwrap().push(max);
            let mut unsealed = self.unsealed.lock().unwrap();
            let n = (*unsealed).min(max);
            *unsealed -= n;
            Ok(n as usize)
        }
        async fn plan_seal(&self, _: i64) -> Result<Option<SealPlan>, StoreError> {
            unreachable!("without a writer, sealing plans nothing")
        }
        async fn audit_chain_head(&self) -> Result<ChainHead, StoreError> {
            unreachable!("sealing reads no head")
        }
        async fn sealed_audit_page(&self, _: i64, _: i64) -> Result<Vec<SealedAudit>, StoreError> {
            unreachable!("sealing reads no page")
        }
    }

    /// Retention that must not be asked: sealing purges nothing.
    struct NoRetention;

    #[async_trait]
    impl Retention for NoRetention {
        async fn purge(&self, _: RetentionTarget, _: UnixMs, _: i64) -> Result<u64, StoreError> {
            unreachable!("sealing purges nothing")
        }
    }

    /// Retention that reports the cut-off of each pass's purge of pushes, deleting nothing.
    struct Cutoffs(mpsc::UnboundedSender<UnixMs>);

    #[async_trait]
    impl Retention for Cutoffs {
        async fn purge(&self, target: RetentionTarget, before: UnixMs, _: i64) -> Result<u64, StoreError> {
            if target == RetentionTarget::Pushes {
                let _ = self.0.send(before);
            }
            Ok(0)
        }
    }

    #[tokio::test]
    async fn retention_purges_at_start_then_once_an_hour_by_the_clock_until_shutdown() {
        let start = UnixMs::EPOCH + Duration::from_secs(400 * DAY_SECS);
        let clock = ManualClock::new(start);
        let (tx, mut cutoffs) = mpsc::unbounded_channel();
        let audit = Arc::new(Audit {
            audit_log: Arc::new(Backlog {
                unsealed: Mutex::new(0),
                seals: Mutex::default(),
            }),
            retention: Arc::new(Cutoffs(tx)),
            clock: clock.shared(),
            config: ConfigView::new(Registry::default()),
            seal_through: None,
        });
        let shutdown = CancellationToken::new();
        let running = tokio::spawn({
            let (audit, shutdown) = (audit.clone(), shutdown.clone());
            async move { audit.retention_loop(shutdown).await }
        });
        // Pushes are kept 30 days by default.
        let kept = Duration::from_secs(30 * DAY_SECS);
        assert_eq!(cutoffs.recv().await, Some(start - kept), "a pass at start");
        clock.advance(Duration::from_secs(3_599));
        // The loop wakes for the clock's move (one runtime thread: it runs while this task yields).
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(cutoffs.try_recv().is_err(), "no pass before the hour is up");
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            cutoffs.recv().await,
            Some(start + Duration::from_secs(3_600) - kept),
            "the next pass an hour later by the clock"
        );
        shutdown.cancel();
        running.await.unwrap();
        drop(audit);
        assert_eq!(cutoffs.recv().await, None, "the loop ended with no further pass");
    }

    #[tokio::test]
    async fn sealing_takes_the_backlog_a_batch_at_a_time_until_a_short_batch() {
        let log = Arc::new(Backlog {
            unsealed: Mutex::new(2 * SEAL_BATCH + 7),
            seals: Mutex::default(),
        });
        let audit = Audit {
            audit_log: log.clone(),
            retention: Arc::new(NoRetention),
            clock: ManualClock::new(UnixMs::EPOCH).shared(),
            config: ConfigView::new(Registry::default()),
            seal_through: None,
        };
        assert_eq!(audit.seal_audit_now().await.unwrap(), 2 * SEAL_BATCH as usize + 7);
        assert_eq!(
            *log.seals.lock().unwrap(),
            vec![SEAL_BATCH; 3],
            "one short write per batch"
        );
        assert_eq!(*log.unsealed.lock().unwrap(), 0);
    }
}
