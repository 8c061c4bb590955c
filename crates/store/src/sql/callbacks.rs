//! WeCom callbacks: stored once per WeCom message, sealed, with their audit entry in the same transaction.

use std::time::Duration;

use async_trait::async_trait;

use shoprelay_clock::UnixMs;

use super::{skip_locked, with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::model::{AuditEntry, AuditKind, AuditOutcome, CallbackState, NewCallback, StoredCallback};
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
            .bind(c.received_at.as_millis())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let outcome = if inserted { AuditOutcome::Received } else { AuditOutcome::Duplicate };
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
        rows.into_iter().map(|row| self.callback_row(row)).collect()
    }

    async fn claim_callbacks(&self, now: UnixMs, lease: Duration, limit: i64) -> Result<Vec<StoredCallback>> {
        let select = format!(
            "SELECT id, app_id, dedupe_key, kind, body, received_at, state FROM wecom_callbacks
             WHERE state = 'received' AND claimed_until <= $1 ORDER BY id LIMIT $2 {}",
            skip_locked(self)
        );
        let rows: Vec<Row> = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let rows: Vec<Row> = sqlx::query_as(&select).bind(now.as_millis()).bind(limit).fetch_all(&mut *tx).await?;
            for row in &rows {
                sqlx::query("UPDATE wecom_callbacks SET claimed_until = $1 WHERE id = $2")
                    .bind((now + lease).as_millis())
                    .bind(row.0)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            rows
        });
        rows.into_iter().map(|row| self.callback_row(row)).collect()
    }

    async fn finish_callback(&self, id: i64, state: CallbackState, note: Option<&str>) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE wecom_callbacks SET state = $1, note = $2 WHERE id = $3")
                .bind(state.as_str())
                .bind(note)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn take_bot_lease(&self, bot: &str, owner: &str, now: UnixMs, until: UnixMs) -> Result<bool> {
        // One row per bot: the conditional upsert is decided under its row lock, so one replica wins.
        let taken = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO bot_leases (bot, owner, until) VALUES ($1, $2, $3)
                 ON CONFLICT (bot) DO UPDATE SET owner = excluded.owner, until = excluded.until
                 WHERE bot_leases.owner = excluded.owner OR bot_leases.until <= $4",
            )
            .bind(bot)
            .bind(owner)
            .bind(until.as_millis())
            .bind(now.as_millis())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    async fn release_bot_lease(&self, bot: &str, owner: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM bot_leases WHERE bot = $1 AND owner = $2")
                .bind(bot)
                .bind(owner)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

impl SqlStore {
    fn callback_row(&self, (id, app_id, dedupe_key, kind, body, received_at, state): Row) -> Result<StoredCallback> {
        let state = CallbackState::parse(&state).ok_or_else(|| crate::StoreError::Corrupt {
            table: "wecom_callbacks",
            reason: format!("callback {id} has the unknown state `{}`", state.escape_debug()),
        })?;
        Ok(StoredCallback {
            id,
            app_id,
            dedupe_key,
            kind,
            body: self.open_pii(body)?,
            received_at: UnixMs::from_millis(received_at),
            state,
        })
    }
}
