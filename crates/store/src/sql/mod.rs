//! [`SqlStore`]: the store over SQLite or PostgreSQL.
//!
//! Both backends run the same SQL text (`$N` placeholders work in both) through the [`with_pool!`] macro,
//! which expands one body for each concrete pool type; only claiming and migrations differ.

mod archive;
mod audit;
mod batch;
mod callbacks;
mod checkpoint;
mod config;
mod console;
mod conversations;
mod dashboard;
mod data_policy;
mod forget;
mod inbox;
mod outbox;
mod personal;
#[cfg(test)]
mod plans;
mod reseal;
mod retention;
mod shops;
mod standing;
mod tasks;
mod tokens;
mod watch;

use std::str::FromStr;
use std::time::Duration;

use shoprelay_core::destination::Destination;
use shoprelay_core::secret::{KeyedHash, SecretBox};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::error::StoreError;
use crate::store::Store;

pub use checkpoint::WalCheckpoint;
pub use reseal::ResealTarget;

/// The concrete pools behind a [`SqlStore`]. SQLite has one writer: every write goes through one
/// connection, where waiting writers queue and are woken the moment it is free (on several connections
/// they would poll SQLite's lock with growing sleeps); reads that need not see a write of their own go
/// through read-only connections beside it (WAL lets them read while it writes), and the WAL is copied
/// into the database by a connection of its own (see [`checkpoint`]), not by the commits.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        checkpoint: std::sync::Arc<SqlitePool>,
    },
    Postgres(PgPool),
}

/// Opens a transaction that will write. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`):
/// a deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another
/// connection committed in between, and the busy timeout cannot help it.
pub(crate) trait BeginWrite {
    /// The database of the pool.
    type Db: sqlx::Database;
    /// `BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Runs `$body` with `$pool` bound to whichever concrete pool the store has (SQLite: its writer).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::sql::Pool::Sqlite { write: $pool, .. } => $body,
            $crate::sql::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Like [`with_pool!`] for a read that writes nothing (SQLite: its read-only connections).
macro_rules! with_read_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::sql::Pool::Sqlite { read: $pool, .. } => $body,
            $crate::sql::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_read_pool;

/// Inserts a [`crate::NewEvent`] and its deliveries inside the open transaction `$tx`; evaluates to
/// `true` when the event was new (a duplicate dedupe key inserts nothing). A macro, not a function,
/// because the transaction's type differs per backend.
macro_rules! insert_event {
    ($store:expr, $tx:ident, $inbox_id:expr, $new:expr, $now:expr) => {{
        let store: &$crate::sql::SqlStore = $store;
        let new: &$crate::model::NewEvent = $new;
        let e = &new.event;
        let body = serde_json::to_string(e).map_err(|source| $crate::StoreError::CorruptJson {
            table: "events",
            source,
        })?;
        let body = store.seal_pii(&body);
        let buyer_hash = store.event_buyer_hash(e);
        let shop = e.shop_id.map($crate::sql::shop_to_sql);
        let order = e.order_sn.as_ref().map(|o| o.as_str());
        let event_id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO events (dedupe_key, inbox_id, kind, app_id, shop_id, order_sn, occurred_at, body, created_at, buyer_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(&e.dedupe_key)
        .bind($inbox_id)
        .bind(e.kind().as_str())
        .bind(e.app.as_str())
        .bind(shop)
        .bind(order)
        .bind(e.occurred_at.as_secs())
        .bind(&body)
        .bind($now)
        .bind(buyer_hash)
        .fetch_optional(&mut *$tx)
        .await?;
        if let Some(event_id) = event_id {
            for d in &new.deliveries {
                sqlx::query(
                    "INSERT INTO deliveries (event_id, route_id, destination, shop_id, order_sn, payload, state, next_attempt_at,
                         created_at, updated_at, priority, summary, recipients, quiet_until)
                     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $12, $7, $7, $8, $9, $10, $11)",
                )
                .bind(event_id)
                .bind(&d.route_id)
                .bind(d.destination.to_string())
                .bind(shop)
                .bind(order)
                .bind(store.seal_pii(&d.payload))
                .bind($now)
                .bind(d.priority)
                .bind(store.seal_pii(&d.summary))
                .bind(&d.recipients)
                .bind(d.quiet_until.map(shoprelay_clock::UnixMs::as_millis))
                // Held for quiet hours: due never, until released (the claim reads only its index).
                .bind(if d.quiet_until.is_some() { $crate::sql::HELD } else { $now })
                .execute(&mut *$tx)
                .await?;
            }
            true
        } else {
            false
        }
    }};
}
pub(crate) use insert_event;

/// Wakes the other replicas' workers on PostgreSQL (`NOTIFY`, delivered on commit); a no-op on SQLite,
/// whose one process wakes its workers itself.
macro_rules! notify {
    ($store:expr, $tx:ident, $channel:expr) => {
        if $store.is_postgres() {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind($channel)
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(crate) use notify;

/// `next_attempt_at` of a delivery held for quiet hours: never due until released, so claims need not
/// look at `quiet_until` (which is outside their index).
pub(crate) const HELD: i64 = i64::MAX / 2;

/// NOTIFY channel: new inbox items.
pub const INBOX_CHANNEL: &str = "shoprelay_inbox";
/// NOTIFY channel: new deliveries.
pub const OUTBOX_CHANNEL: &str = "shoprelay_outbox";

/// Inserts one [`crate::AuditEntry`] with `$executor` (a pool or an open transaction) of either backend.
macro_rules! insert_audit {
    ($executor:expr, $entry:expr) => {{
        let a: &$crate::model::AuditEntry = $entry;
        sqlx::query(
            "INSERT INTO audit (at, kind, outcome, app_id, shop_id, order_sn, destination, attempt, http_status, errcode, latency_ms, detail, platform)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(a.at.as_millis())
        .bind(a.kind.as_str())
        .bind(a.outcome.as_str())
        .bind(a.app_id.as_deref())
        .bind(a.shop_id)
        .bind(a.order_sn.as_deref())
        .bind(a.destination.as_ref().map(::shoprelay_core::destination::Destination::to_string))
        .bind(a.attempt)
        .bind(a.http_status)
        .bind(a.errcode)
        .bind(a.latency_ms)
        .bind(&a.detail)
        .bind(a.platform.as_ref().map(|p| p.as_str()))
        .execute($executor)
        .await?;
    }};
}
pub(crate) use insert_audit;

/// The store over SQLite (WAL, fsync on commit) or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) pool: Pool,
    pub(crate) secrets: SecretBox,
    /// Keys the hashes that find personal data (a buyer's rows) without storing it.
    pub(crate) lookup: KeyedHash,
}

impl SqlStore {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://…`, and migrates the schema.
    pub async fn connect(url: &str, secrets: SecretBox) -> Result<Self, StoreError> {
        let pool = if url.starts_with("sqlite:") {
            // "Durable" means surviving a power cut: synchronous=FULL makes every commit wait for fsync;
            // group commit in the ingest path keeps that affordable.
            let options = SqliteConnectOptions::from_str(url)?;
            create_private(options.get_filename());
            // Deleted rows (a forgotten buyer, purged history) are overwritten, not left in free pages.
            let options = options
                .pragma("secure_delete", "on")
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // Measured against four read-write connections: ack p99 at 2,000/s 13.6 → 3.9 ms, the overload
            // run 190 → 122 s.
            // No test query before each use (on by default): a file's connection does not go stale,
            // and the test is one more hand-off to the connection's thread per transaction.
            // The write connection's commits leave the WAL to the checkpointer (but for a safety net far above
            // what it lets the log reach).
            // How long each use holds the one write connection, whoever the user: what everyone else's
            // writes — a group commit's `begin` among them — wait behind.
            let taken: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>> = std::sync::Arc::default();
            let released = taken.clone();
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .before_acquire(move |_, _| {
                    if let Ok(mut at) = taken.lock() {
                        *at = Some(std::time::Instant::now());
                    }
                    Box::pin(async { Ok(true) })
                })
                .after_release(move |_, _| {
                    if let Some(at) = released.lock().ok().and_then(|mut at| at.take()) {
                        metrics::histogram!("shoprelay_write_hold_seconds").record(at.elapsed().as_secs_f64());
                    }
                    Box::pin(async { Ok(true) })
                })
                .connect_with(options.clone().pragma(
                    "wal_autocheckpoint",
                    checkpoint::WRITER_AUTOCHECKPOINT_PAGES.to_string(),
                ))
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&write).await?;
            let read = SqlitePoolOptions::new()
                .max_connections(4)
                .test_before_acquire(false)
                .connect_with(options.clone().read_only(true))
                .await?;
            let checkpoint = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Pool::Sqlite {
                write,
                read,
                checkpoint: checkpoint::spawn(checkpoint),
            }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Pool::Postgres(pool)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(StoreError::UnsupportedUrl(scheme.chars().take(32).collect()));
        };
        let lookup = personal::prepare_keys(&pool, &secrets).await?;
        Ok(Self { pool, secrets, lookup })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        // Through the writer: a stuck writer is what makes the service unready.
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Releases every claim and destination lease at start-up of the one server process of an SQLite
    /// database: those still held belong to a process that crashed, and waiting for them would delay
    /// recovery.
    /// Does nothing on PostgreSQL, where other replicas' claims are live.
    pub async fn release_orphaned_claims(&self) -> Result<(), StoreError> {
        if let Pool::Sqlite { write: pool, .. } = &self.pool {
            sqlx::query("UPDATE inbox SET claimed_until = 0 WHERE state = 'pending' AND claimed_until > 0")
                .execute(pool)
                .await?;
            sqlx::query("UPDATE deliveries SET claimed_until = 0 WHERE state = 'pending' AND claimed_until > 0")
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM destination_leases").execute(pool).await?;
        }
        Ok(())
    }

    /// Closes every connection (on shutdown).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite {
                write,
                read,
                checkpoint,
            } => {
                checkpoint.close().await;
                read.close().await;
                write.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// On PostgreSQL, listens for other replicas' NOTIFYs and wakes the local workers: `inbox` for new
    /// pushes, `outbox` for new deliveries. Reconnects after errors; abort the task to stop it. `None` on
    /// SQLite, whose single process wakes its own workers.
    pub fn spawn_wakeup_listener(
        &self,
        inbox: std::sync::Arc<tokio::sync::Notify>,
        outbox: std::sync::Arc<tokio::sync::Notify>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let Pool::Postgres(pool) = &self.pool else { return None };
        let pool = pool.clone();
        Some(tokio::spawn(async move {
            loop {
                let Err(err) = listen(&pool, &inbox, &outbox).await;
                // Workers still poll twice a second; wake-ups only make them faster.
                tracing::warn!(error = %err, "LISTEN connection lost; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Written after the table of an `UPDATE … FROM` a list of ids: on SQLite, `NOT INDEXED`, so the
    /// rows are looked up by id and not searched for through an index on another of the conditions —
    /// which SQLite, without statistics, preferred: a claim or a seal read every pending push or unsealed
    /// entry, the whole backlog, 16 ms a claim with 40,000 waiting. Empty on PostgreSQL.
    pub(crate) fn by_id_only(&self) -> &'static str {
        if self.is_postgres() {
            ""
        } else {
            " NOT INDEXED"
        }
    }

    /// Written before each column of a VALUES list that a table is joined to (`inbox.id = +v.id`): on
    /// SQLite a unary `+`, so that the list's side cannot be indexed and the planner cannot turn the
    /// join around — read the whole table and look each row up in an automatic index on the list, which
    /// SQLite (no statistics) chose for lists of 256 rows and more: every seal read the whole audit log,
    /// 6 ms → 38 ms a statement as it grew over one benchmark. Empty on PostgreSQL (no unary `+` on text).
    pub(crate) fn list_side(&self) -> &'static str {
        if self.is_postgres() {
            ""
        } else {
            "+"
        }
    }
}

/// Creates a new database file readable by its owner only; SQLite gives the `-wal`, `-shm` and
/// `-journal` files it creates beside it the same mode. An existing file keeps its mode (the operator
/// may share it on purpose) but one open to others is warned about. Failures are left to SQLite's own
/// open, which reports them with its error.
fn create_private(path: &std::path::Path) {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the database (and its -wal and -shm files) can be read by other users: run `chmod 600 {}*` \
                     / 数据库文件可被其他用户读取，请执行 chmod 600",
                    path.display()
                );
            }
            return;
        }
    }
    let _ = options.open(path);
}

/// Forwards NOTIFYs to the local workers until the connection fails.
async fn listen(
    pool: &PgPool,
    inbox: &tokio::sync::Notify,
    outbox: &tokio::sync::Notify,
) -> Result<std::convert::Infallible, sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen_all([INBOX_CHANNEL, OUTBOX_CHANNEL]).await?;
    loop {
        let n = listener.recv().await?;
        if n.channel() == INBOX_CHANNEL {
            inbox.notify_one();
        } else {
            outbox.notify_one();
        }
    }
}

impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        if self.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }
}

/// `FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas claim disjoint rows; SQLite serialises writers anyway.
pub(crate) fn skip_locked(store: &SqlStore) -> &'static str {
    if store.is_postgres() {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    }
}

/// A destination as read from a `destination` column of `table`: a key that does not parse is a corrupt
/// row, reported with why.
pub(crate) fn destination_from_sql(table: &'static str, key: &str) -> Result<Destination, StoreError> {
    Destination::parse(key).map_err(|err| StoreError::Corrupt {
        table,
        reason: err.to_string(),
    })
}

/// Shop ids are u64 on the wire and i64 in SQL; `ShopId` only holds values that fit.
pub(crate) fn shop_to_sql(shop: shoprelay_core::ids::ShopId) -> i64 {
    i64::try_from(shop.get()).unwrap_or(i64::MAX)
}
