//! The WAL checkpointer (SQLite): copies committed pages from the write-ahead log into the database file
//! on a connection of its own, so that no commit waits for it.
//!
//! By default the commit that takes the WAL past 1,000 pages copies them back itself, fsyncing the
//! database file, before it returns — and from then on every commit copies what is new, until the log
//! restarts. Measured under load, those commits took up to 100 ms, and every acknowledgement in them
//! waited. A PASSIVE checkpoint takes no write lock, so on its own connection it runs beside the writer,
//! which keeps committing (and fsyncing the WAL) meanwhile. Durability is unchanged: a commit is durable
//! once its WAL frames are fsync'd, which `synchronous = FULL` still waits for; the checkpoint only moves
//! durable pages into the database file.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::sqlite::SqlitePool;

use super::{Pool, SqlStore};
use crate::error::StoreError;

/// How often the checkpointer copies the WAL into the database. At 10,000 pushes/s that is a few
/// megabytes a time; idle, a checkpoint with nothing to copy is a few system calls.
const EVERY: Duration = Duration::from_millis(250);

/// The write connection's own automatic checkpoint, in pages: a safety net only, should the checkpointer
/// fall behind. The checkpointer keeps the log far below it.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// What one checkpoint did, as SQLite reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalCheckpoint {
    /// Whether it could not finish because another connection held a lock it needed (it copied what it could).
    pub busy: bool,
    /// Pages in the write-ahead log.
    pub wal_pages: i64,
    /// Pages of the log now copied into the database file (all of them once it caught up).
    pub checkpointed_pages: i64,
}

/// Runs one PASSIVE checkpoint on `pool`.
async fn checkpoint(pool: &SqlitePool) -> Result<WalCheckpoint, sqlx::Error> {
    let (busy, wal_pages, checkpointed_pages): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    Ok(WalCheckpoint {
        busy: busy != 0,
        wal_pages,
        checkpointed_pages,
    })
}

/// Starts the checkpointer over `pool` (one read-write connection that never writes itself); it stops
/// once every store holding the returned handle is gone, or the pool is closed.
pub(crate) fn spawn(pool: SqlitePool) -> Arc<SqlitePool> {
    let pool = Arc::new(pool);
    tokio::spawn(run(Arc::downgrade(&pool)));
    pool
}

async fn run(pool: Weak<SqlitePool>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        let started = std::time::Instant::now();
        match checkpoint(&pool).await {
            Ok(done) => {
                metrics::histogram!("shoprelay_wal_checkpoint_seconds").record(started.elapsed().as_secs_f64());
                metrics::gauge!("shoprelay_wal_pages").set(done.wal_pages as f64);
            }
            Err(sqlx::Error::PoolClosed) => return,
            // The writer's own safety-net checkpoint takes over if this keeps failing.
            Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed; trying again"),
        }
    }
}

impl SqlStore {
    /// Copies what the write-ahead log holds into the database file now (what the checkpointer does
    /// every quarter second); `None` on PostgreSQL, which has no such log to manage.
    pub async fn checkpoint_wal(&self) -> Result<Option<WalCheckpoint>, StoreError> {
        match &self.pool {
            Pool::Sqlite { checkpoint: pool, .. } => Ok(Some(checkpoint(pool).await?)),
            Pool::Postgres(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    // A test fails by panicking: unwrap and expect are how it says what went wrong.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use shoprelay_core::secret::SecretBox;

    use super::*;

    #[tokio::test]
    async fn commits_leave_the_wal_to_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let secrets = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let store = SqlStore::connect(&url, secrets).await.unwrap();
        let Pool::Sqlite { write, .. } = &store.pool else {
            panic!("an SQLite URL opened another backend")
        };
        // SQLite's default (1,000) would make the commit crossing it copy the log back, with an fsync.
        let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(write)
            .await
            .unwrap();
        assert_eq!(pages, i64::from(WRITER_AUTOCHECKPOINT_PAGES));
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(write)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        // The checkpointer's own connection can copy the log (a read-only one could not).
        let done = store.checkpoint_wal().await.unwrap().unwrap();
        assert!(!done.busy);
        store.close().await;
    }
}
