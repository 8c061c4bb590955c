//! The audit log: appended by every stage, read by `shoprelay audit` and `/api/v1/audit`.

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::event::Platform;

use super::{destination_from_sql, insert_audit, with_pool, with_read_pool, SqlStore};
use crate::chain::{link_hash, ChainHead, SealedAudit};
use crate::error::StoreError;
use crate::model::*;
use crate::store::{AuditLog, Result, Writes};

pub(super) const ENTRY_COLUMNS: &str =
    "id, at, kind, outcome, app_id, platform, shop_id, order_sn, destination, attempt, http_status, errcode, latency_ms, detail";

/// Rows sealed per UPDATE statement (three parameters each, within SQLite's 999).
pub(crate) const SEAL_CHUNK: usize = 300;

/// Times one call reads and hashes again after another sealer moved the head meanwhile.
const SEAL_TRIES: usize = 4;

/// An audit row as stored: its kind, outcome and platform are text until [`AuditEntry::try_from`] reads them.
#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    id: i64,
    at: i64,
    kind: String,
    outcome: String,
    app_id: Option<String>,
    platform: Option<String>,
    shop_id: Option<i64>,
    order_sn: Option<String>,
    destination: Option<String>,
    attempt: Option<i64>,
    http_status: Option<i64>,
    errcode: Option<i64>,
    latency_ms: Option<i64>,
    detail: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> std::result::Result<Self, StoreError> {
        let outcome = AuditOutcome::parse(&r.outcome).ok_or_else(|| StoreError::Corrupt {
            table: "audit",
            reason: format!("entry {} has the unknown outcome `{}`", r.id, r.outcome.escape_debug()),
        })?;
        let kind = AuditKind::parse(&r.kind).ok_or_else(|| StoreError::Corrupt {
            table: "audit",
            reason: format!("entry {} has the unknown kind `{}`", r.id, r.kind.escape_debug()),
        })?;
        let platform = r
            .platform
            .map(|p| Platform::parse(&p).map_err(|source| StoreError::CorruptId { table: "audit", source }))
            .transpose()?;
        Ok(AuditEntry {
            id: r.id,
            at: UnixMs::from_millis(r.at),
            kind,
            outcome,
            app_id: r.app_id,
            platform,
            shop_id: r.shop_id,
            order_sn: r.order_sn,
            destination: r.destination.map(|d| destination_from_sql("audit", &d)).transpose()?,
            attempt: r.attempt,
            http_status: r.http_status,
            errcode: r.errcode,
            latency_ms: r.latency_ms,
            detail: r.detail,
        })
    }
}

fn read_rows(rows: Vec<AuditRow>) -> Result<Vec<AuditEntry>> {
    rows.into_iter().map(AuditEntry::try_from).collect()
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    #[sqlx(flatten)]
    entry: AuditRow,
    seq: i64,
    chain_hash: String,
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    seq: i64,
    hash: String,
    base_seq: i64,
    base_hash: String,
}

impl From<HeadRow> for ChainHead {
    fn from(r: HeadRow) -> Self {
        ChainHead {
            seq: r.seq,
            hash: r.hash,
            base_seq: r.base_seq,
            base_hash: r.base_hash,
        }
    }
}

impl SqlStore {
    /// The chain head as committed, read without taking the write connection.
    async fn read_chain_head(&self) -> Result<Option<HeadRow>> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_as("SELECT seq, hash, base_seq, base_hash FROM audit_chain WHERE id = 1")
                .fetch_optional(pool)
                .await?
        }))
    }
}

/// An `UPDATE … FROM` a VALUES list setting `seq` and `chain_hash` for `rows` rows; a named CTE and CAST
/// (not `::`) so that one text serves both dialects but for the join by id (see
/// [`SqlStore::by_id_only`], [`SqlStore::list_side`]).
pub(crate) fn seal_statement(rows: usize, store: &SqlStore) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| {
            let p = i * 3;
            format!(
                "(CAST(${} AS BIGINT), CAST(${} AS BIGINT), CAST(${} AS TEXT))",
                p + 1,
                p + 2,
                p + 3
            )
        })
        .collect();
    format!(
        "WITH v(id, seq, h) AS (VALUES {}) UPDATE audit{} SET seq = v.seq, chain_hash = v.h FROM v
         WHERE audit.id = {}v.id AND audit.seq IS NULL",
        values.join(", "),
        store.by_id_only(),
        store.list_side()
    )
}

/// A value bound to an audit query.
#[derive(Debug, PartialEq)]
enum Bind {
    Int(i64),
    Text(String),
}

/// The statement listing the entries `f` selects, newest first (keyset: `id < before_id`), with its binds
/// in placeholder order.
fn audit_query(f: &AuditFilter, limit: i64) -> (String, Vec<Bind>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut binds: Vec<Bind> = Vec::new();
    let mut add = |clause: &str, bind: Bind| {
        binds.push(bind);
        clauses.push(clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(kind) = f.kind {
        add("kind = ?", Bind::Text(kind.as_str().to_owned()));
    }
    if let Some(shop) = f.shop_id {
        add("shop_id = ?", Bind::Int(shop));
    }
    if let Some(order) = &f.order_sn {
        add("order_sn = ?", Bind::Text(order.clone()));
    }
    if let Some(outcome) = f.outcome {
        add("outcome = ?", Bind::Text(outcome.as_str().to_owned()));
    }
    if let Some(destination) = &f.destination {
        add("destination = ?", Bind::Text(destination.to_string()));
    }
    if let Some(from) = f.from {
        add("at >= ?", Bind::Int(from.as_millis()));
    }
    if let Some(to) = f.to {
        add("at < ?", Bind::Int(to.as_millis()));
    }
    if let Some(before) = f.before_id {
        add("id < ?", Bind::Int(before));
    }
    if let Some(platform) = &f.platform {
        add("platform = ?", Bind::Text(platform.as_str().to_owned()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    binds.push(Bind::Int(limit));
    (
        format!(
            "SELECT {ENTRY_COLUMNS} FROM audit {filter} ORDER BY id DESC LIMIT ${}",
            binds.len()
        ),
        binds,
    )
}

#[async_trait]
impl AuditLog for SqlStore {
    async fn append_audit(&self, entry: AuditEntry) -> Result<()> {
        with_pool!(self, pool => insert_audit!(pool, &entry));
        Ok(())
    }

    async fn append_audits(&self, entries: &[AuditEntry]) -> Result<()> {
        let batch = WriteBatch {
            audits: entries.to_vec(),
            ..WriteBatch::default()
        };
        self.write_batch(&batch, UnixMs::EPOCH).await?;
        Ok(())
    }

    async fn query_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        // Only the filters given are in the statement: a bound "NULL means any" (`$1 IS NULL OR kind = $1`)
        // hides from both planners which index fits, and a page among a million rows then scans them all.
        let (sql, binds) = audit_query(f, limit);
        let rows: Vec<AuditRow> = with_read_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql);
            for b in &binds {
                q = match b {
                    Bind::Int(v) => q.bind(*v),
                    Bind::Text(t) => q.bind(t.as_str()),
                };
            }
            q.fetch_all(pool).await?
        });
        read_rows(rows)
    }

    async fn seal_audit(&self, max: i64) -> Result<usize> {
        // The links are written only if the head is still the one they were hashed from (another sealer
        // — a replica — moved it otherwise); else they are hashed again from the new head (a few times:
        // the next call goes on where this one stopped).
        for _ in 0..SEAL_TRIES {
            let Some(plan) = self.plan_seal(max).await? else {
                return Ok(0);
            };
            let sealed = plan.links.len();
            let batch = WriteBatch {
                seals: vec![plan],
                ..WriteBatch::default()
            };
            if self.write_batch(&batch, UnixMs::EPOCH).await?.seals.first() == Some(&true) {
                return Ok(sealed);
            }
        }
        Ok(0)
    }

    async fn plan_seal(&self, max: i64) -> Result<Option<SealPlan>> {
        // The entries are read and hashed on the read connections: on SQLite the one write connection is
        // held only for the updates, not for reading and hashing thousands of rows while
        // acknowledgements wait behind it.
        let Some(head) = self.read_chain_head().await? else {
            return Err(StoreError::Corrupt {
                table: "audit_chain",
                reason: "the chain head row is missing".to_owned(),
            });
        };
        let pending_sql = format!("SELECT {ENTRY_COLUMNS} FROM audit WHERE seq IS NULL ORDER BY id LIMIT $1");
        let pending: Vec<AuditRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&pending_sql).bind(max).fetch_all(pool).await?
        });
        let pending = read_rows(pending)?;
        if pending.is_empty() {
            return Ok(None);
        }
        let (mut seq, mut hash) = (head.seq, head.hash.clone());
        let mut links = Vec::with_capacity(pending.len());
        for entry in &pending {
            seq += 1;
            hash = link_hash(&hash, seq, entry);
            links.push((entry.id, seq, hash.clone()));
        }
        Ok(Some(SealPlan {
            from_seq: head.seq,
            from_hash: head.hash,
            links,
        }))
    }

    async fn audit_chain_head(&self) -> Result<ChainHead> {
        let row: HeadRow = with_read_pool!(self, pool => {
            sqlx::query_as("SELECT seq, hash, base_seq, base_hash FROM audit_chain WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        Ok(row.into())
    }

    async fn sealed_audit_page(&self, after_seq: i64, limit: i64) -> Result<Vec<SealedAudit>> {
        let sql = format!("SELECT {ENTRY_COLUMNS}, seq, chain_hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows: Vec<SealedRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(after_seq).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(SealedAudit {
                    entry: r.entry.try_into()?,
                    seq: r.seq,
                    hash: r.chain_hash,
                })
            })
            .collect()
    }
}
