//! Retention: rows past their configured age are deleted a batch at a time, so purging never holds the
//! writer for long. Only finished work is purged (pending pushes and deliveries stay whatever their age),
//! and the audit log only from its oldest end, moving the hash chain's base so what remains verifies.

use async_trait::async_trait;

use shoprelay_clock::UnixMs;

use super::{with_pool, BeginWrite, SqlStore};
use crate::model::RetentionTarget;
use crate::store::{Result, Retention};

impl SqlStore {
    /// Conversations quiet since before `before` (no buyer message, no change), with their messages.
    async fn purge_conversations(&self, before: i64, limit: i64) -> Result<u64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let ids: Vec<(i64,)> = sqlx::query_as(
                "SELECT id FROM conversations WHERE last_buyer_at < $1 AND updated_at < $1 ORDER BY id LIMIT $2",
            )
            .bind(before)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            let mut deleted = 0;
            for (id,) in &ids {
                sqlx::query("DELETE FROM conversation_messages WHERE conversation_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                deleted += sqlx::query("DELETE FROM conversations WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            Ok(deleted)
        })
    }

    async fn purge_audit(&self, before: i64, limit: i64) -> Result<u64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let lock = if self.is_postgres() { " FOR UPDATE" } else { "" };
            let (base_seq,): (i64,) = sqlx::query_as(&format!("SELECT base_seq FROM audit_chain WHERE id = 1{lock}"))
                .fetch_one(&mut *tx)
                .await?;
            // The sealed entries from the base on that are older than `before`, oldest first, stopping at
            // the first younger one: the chain keeps a contiguous tail.
            let old: Vec<(i64, i64, String)> = sqlx::query_as(
                "SELECT seq, at, chain_hash FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
            )
            .bind(base_seq)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            let Some((last_seq, last_at, last_hash)) = old
                .iter()
                .take_while(|(_, at, _)| *at < before)
                .last()
                .map(|(seq, at, hash)| (*seq, *at, hash.clone()))
            else {
                tx.rollback().await?;
                return Ok(0);
            };
            let deleted = sqlx::query("DELETE FROM audit WHERE seq >= $1 AND seq <= $2")
                .bind(base_seq)
                .bind(last_seq)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // The dashboard's per-order rows name orders; they leave with the entries they were read from
            // (its hourly sums are counts and stay).
            sqlx::query("DELETE FROM dashboard_orders WHERE received_at <= $1")
                .bind(last_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE audit_chain SET base_seq = $1, base_hash = $2 WHERE id = 1")
                .bind(last_seq + 1)
                .bind(&last_hash)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(deleted)
        })
    }
}

#[async_trait]
impl Retention for SqlStore {
    async fn purge(&self, target: RetentionTarget, before: UnixMs, limit: i64) -> Result<u64> {
        // The statements bind the columns' unit, unix milliseconds.
        let before = before.as_millis();
        let sql = match target {
            RetentionTarget::Audit => return self.purge_audit(before, limit).await,
            RetentionTarget::Conversations => return self.purge_conversations(before, limit).await,
            RetentionTarget::Pushes => {
                "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_at < $1
                     AND state IN ('done', 'unknown_shop', 'failed', 'out_of_window') ORDER BY id LIMIT $2)"
            }
            RetentionTarget::Events => {
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < $1 ORDER BY id LIMIT $2)"
            }
            RetentionTarget::Deliveries => {
                "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE updated_at < $1
                     AND state IN ('delivered', 'dead', 'coalesced') ORDER BY id LIMIT $2)"
            }
            RetentionTarget::Callbacks => {
                "DELETE FROM wecom_callbacks WHERE id IN (SELECT id FROM wecom_callbacks WHERE received_at < $1
                     ORDER BY id LIMIT $2)"
            }
            RetentionTarget::Tasks => {
                "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE created_at < $1
                     AND state IN ('acked', 'escalated') ORDER BY id LIMIT $2)"
            }
        };
        let deleted = with_pool!(self, pool => {
            sqlx::query(sql).bind(before).bind(limit).execute(pool).await?.rows_affected()
        });
        Ok(deleted)
    }
}
