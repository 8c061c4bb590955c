//! The audit log: appended by every stage, read by `shoprelay audit` and `/api/v1/audit`.

use async_trait::async_trait;

use super::{insert_audit, with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::model::*;
use crate::store::{AuditLog, Result};

#[async_trait]
impl AuditLog for SqlStore {
    async fn append_audit(&self, entry: AuditEntry) -> Result<()> {
        with_pool!(self, pool => insert_audit!(pool, &entry));
        Ok(())
    }

    async fn append_audits(&self, entries: &[AuditEntry]) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for entry in entries {
                insert_audit!(&mut *tx, entry);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn query_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        // Every filter is bound (NULL meaning "any"), so one statement serves all combinations.
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let sql = "SELECT id, at, kind, outcome, app_id, shop_id, order_sn, destination, attempt, http_status, errcode, latency_ms, detail
                   FROM audit
                   WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR shop_id = $2) AND ($3 IS NULL OR order_sn = $3)
                     AND ($4 IS NULL OR outcome = $4) AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6)
                     AND ($7 IS NULL OR id < $7)
                   ORDER BY id DESC LIMIT $8";
        let kind = f.kind.map(|k| k.as_str().to_owned());
        Ok(with_read_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(kind.clone())
                .bind(f.shop_id)
                .bind(f.order_sn.clone())
                .bind(f.outcome.clone())
                .bind(f.from)
                .bind(f.to)
                .bind(f.before_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }
}
