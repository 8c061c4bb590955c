//! WeCom callbacks: stored once per WeCom message, sealed, with their audit entry in the same transaction.

use async_trait::async_trait;

use super::{with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::model::{AuditEntry, AuditKind, NewCallback, StoredCallback};
use crate::store::{Callbacks, Result};

type Row = (i64, String, String, String, String, i64, String);

#[async_trait]
impl Callbacks for SqlStore {
    async fn insert_callback(&self, c: &NewCallback) -> Result<bool> {
        let body = self.seal_pii(&c.body);
        let stored = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO wecom_callbacks (app_id, dedupe_key, kind, body, received_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (app_id, dedupe_key) DO NOTHING",
            )
            .bind(c.app_id.as_str())
            .bind(&c.dedupe_key)
            .bind(&c.kind)
            .bind(&body)
            .bind(c.received_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let outcome = if inserted { "received" } else { "duplicate" };
            let mut audit = AuditEntry::new(
                AuditKind::Callback,
                outcome,
                c.received_at,
                format!("{} {}", c.kind, c.dedupe_key),
            );
            audit.app_id = Some(c.app_id.to_string());
            super::insert_audit!(&mut *tx, &audit);
            tx.commit().await?;
            inserted
        });
        Ok(stored)
    }

    async fn recent_callbacks(&self, limit: i64) -> Result<Vec<StoredCallback>> {
        let rows: Vec<Row> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, app_id, dedupe_key, kind, body, received_at, state FROM wecom_callbacks
                 ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, app_id, dedupe_key, kind, body, received_at, state)| {
                Ok(StoredCallback {
                    id,
                    app_id,
                    dedupe_key,
                    kind,
                    body: self.open_pii(body)?,
                    received_at,
                    state,
                })
            })
            .collect()
    }
}
