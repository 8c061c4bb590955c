//! The inbox: pushes in, events and deliveries out, one transaction per step.

use async_trait::async_trait;
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};

use super::{
    insert_event, notify, shop_to_sql, skip_locked, with_pool, with_read_pool, BeginWrite, SqlStore, INBOX_CHANNEL,
    OUTBOX_CHANNEL,
};
use crate::model::*;
use crate::store::{Inbox, Result};

/// A stored order time further ahead of now than this is not a real one — the engine applies no push
/// dated more than ten minutes ahead of its arrival — but one written before that check existed: a
/// real push may replace it, so it cannot freeze the order.
const FROZEN_AFTER_SECS: i64 = 600;

#[async_trait]
impl Inbox for SqlStore {
    async fn insert_pushes(&self, pushes: &[NewPush]) -> Result<Vec<PushInsert>> {
        // Inserting in key order keeps two replicas' overlapping batches from deadlocking on PostgreSQL.
        let mut order: Vec<usize> = (0..pushes.len()).collect();
        order.sort_by(|a, b| pushes[*a].dedupe_key.cmp(&pushes[*b].dedupe_key));
        let mut out = vec![PushInsert::Duplicate; pushes.len()];
        if pushes.is_empty() {
            return Ok(out);
        }
        // Raw pushes carry buyers' names and messages.
        let bodies: Vec<String> = pushes.iter().map(|p| self.seal_pii(&p.body)).collect();
        // One multi-row statement per table and batch: statements, not fsyncs, are what a push costs.
        let stored: Vec<(i64, String, String)> = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO inbox (platform, app_id, dedupe_key, code, shop_id, order_sn, body, received_at, state, next_attempt_at) ",
            );
            insert.push_values(order.iter().map(|&i| (&pushes[i], &bodies[i])), |mut row, (p, body)| {
                row.push_bind(p.platform.as_str())
                    .push_bind(p.app_id.as_str())
                    .push_bind(p.dedupe_key.as_str())
                    .push_bind(p.code)
                    .push_bind(p.shop_id.map(shop_to_sql))
                    .push_bind(p.order_sn.as_ref().map(|o| o.as_str()))
                    .push_bind(body.as_str())
                    .push_bind(p.received_at)
                    .push_bind("pending")
                    .push_bind(p.received_at);
            });
            insert.push(" ON CONFLICT (platform, app_id, dedupe_key) DO NOTHING RETURNING id, app_id, dedupe_key");
            let stored: Vec<(i64, String, String)> = insert.build_query_as().fetch_all(&mut *tx).await?;
            let new: std::collections::HashSet<(&str, &str)> =
                stored.iter().map(|(_, app, key)| (app.as_str(), key.as_str())).collect();
            let mut audit = sqlx::QueryBuilder::new(
                "INSERT INTO audit (at, kind, outcome, app_id, platform, shop_id, order_sn, http_status, detail) ",
            );
            let mut first_seen = std::collections::HashSet::new();
            audit.push_values(order.iter().map(|&i| &pushes[i]), |mut row, p| {
                let key = (p.app_id.as_str(), p.dedupe_key.as_str());
                // A key stored by this batch is "accepted" once; a repeat inside the batch is a duplicate.
                let outcome = if new.contains(&key) && first_seen.insert(key) {
                    AuditOutcome::Accepted
                } else {
                    AuditOutcome::Duplicate
                };
                row.push_bind(p.received_at)
                    .push_bind(AuditKind::Push.as_str())
                    .push_bind(outcome.as_str())
                    .push_bind(p.app_id.as_str())
                    .push_bind(p.platform.as_str())
                    .push_bind(p.shop_id.map(shop_to_sql))
                    .push_bind(p.order_sn.as_ref().map(|o| o.as_str()))
                    .push_bind(200_i64)
                    .push_bind(format!("code {} ({})", p.code, p.dedupe_key));
            });
            audit.build().execute(&mut *tx).await?;
            notify!(self, tx, INBOX_CHANNEL);
            tx.commit().await?;
            stored
        });
        let mut ids: std::collections::HashMap<(String, String), i64> =
            stored.into_iter().map(|(id, app, key)| ((app, key), id)).collect();
        for &i in &order {
            let p = &pushes[i];
            if let Some(id) = ids.remove(&(p.app_id.to_string(), p.dedupe_key.clone())) {
                out[i] = PushInsert::Stored(id);
            }
        }
        Ok(out)
    }

    async fn claim_inbox(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<InboxItem>> {
        // An item is claimable only when no older item of the same order is still pending: one order's
        // pushes are processed in arrival order, by one processor at a time, across every replica.
        let sql = format!(
            "UPDATE inbox SET claimed_until = $1, attempts = attempts + 1, claim_token = $4 WHERE id IN (
                SELECT id FROM inbox i WHERE state = 'pending' AND next_attempt_at <= $2 AND claimed_until <= $2
                  AND (order_sn IS NULL OR NOT EXISTS (
                        SELECT 1 FROM inbox o WHERE o.app_id = i.app_id AND o.shop_id = i.shop_id
                          AND o.order_sn = i.order_sn AND o.state = 'pending' AND o.id < i.id))
                ORDER BY id LIMIT $3 {})
             RETURNING id, platform, app_id, dedupe_key, code, shop_id, body, attempts, received_at, claim_token",
            skip_locked(self)
        );
        let token = uuid::Uuid::new_v4().to_string();
        let mut items: Vec<InboxItem> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(now + lease_ms).bind(now).bind(limit).bind(&token).fetch_all(pool).await?
        });
        items.sort_by_key(|i| i.id);
        items
            .into_iter()
            .map(|mut i| {
                i.body = self.open_pii(std::mem::take(&mut i.body))?;
                Ok(i)
            })
            .collect()
    }

    async fn complete_inbox(&self, item: &InboxItem, completion: InboxCompletion, now: i64) -> Result<Option<usize>> {
        let id = item.id;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // Fence first: a worker whose lease ran out must not write events the new owner also writes.
            let held = sqlx::query("UPDATE inbox SET claimed_until = claimed_until WHERE id = $1 AND claim_token = $2 AND state = 'pending'")
                .bind(id)
                .bind(&item.claim_token)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if held == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            let mut new_events = 0;
            for new in &completion.events {
                if insert_event!(self, tx, Some(id), new, now) {
                    new_events += 1;
                }
            }
            for u in &completion.order_updates {
                sqlx::query(
                    "INSERT INTO order_state (app_id, shop_id, order_sn, status, status_time, updated_at, ship_by_date)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (app_id, shop_id, order_sn) DO UPDATE SET status = excluded.status,
                        status_time = excluded.status_time, updated_at = excluded.updated_at,
                        ship_by_date = COALESCE(excluded.ship_by_date, order_state.ship_by_date)
                     WHERE excluded.status_time >= order_state.status_time OR order_state.status_time > $8",
                )
                .bind(u.app_id.as_str())
                .bind(shop_to_sql(u.shop_id))
                .bind(u.order_sn.as_str())
                .bind(&u.status)
                .bind(u.status_time)
                .bind(now)
                .bind(u.ship_by_date)
                .bind(now.div_euclid(1_000) + FROZEN_AFTER_SECS)
                .execute(&mut *tx)
                .await?;
            }
            let row: Option<(String, String, Option<i64>, Option<String>)> =
                sqlx::query_as("UPDATE inbox SET state = $1, last_error = $2, claimed_until = 0 WHERE id = $3 RETURNING app_id, platform, shop_id, order_sn")
                    .bind(completion.state.as_str())
                    .bind(completion.note.as_deref())
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((app_id, platform, shop_id, order_sn)) = row {
                let detail = match &completion.note {
                    Some(note) => format!("{new_events} new event(s); {note}"),
                    None => format!("{new_events} new event(s)"),
                };
                sqlx::query(
                    "INSERT INTO audit (at, kind, outcome, app_id, platform, shop_id, order_sn, detail)
                     VALUES ($1, 'push', $2, $3, $4, $5, $6, $7)",
                )
                .bind(now)
                .bind(AuditOutcome::of_inbox(completion.state).as_str())
                .bind(app_id)
                .bind(platform)
                .bind(shop_id)
                .bind(order_sn)
                .bind(detail)
                .execute(&mut *tx)
                .await?;
            }
            notify!(self, tx, OUTBOX_CHANNEL);
            tx.commit().await?;
            Ok(Some(new_events))
        })
    }

    async fn retry_inbox(&self, item: &InboxItem, next_at: i64, error: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE inbox SET next_attempt_at = $1, last_error = $2, claimed_until = 0
                 WHERE id = $3 AND claim_token = $4 AND state = 'pending'",
            )
                .bind(next_at)
                .bind(error)
                .bind(item.id)
                .bind(&item.claim_token)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn order_status(&self, app: &ConfigId, shop: ShopId, order: &OrderSn) -> Result<Option<(String, i64)>> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_as("SELECT status, status_time FROM order_state WHERE app_id = $1 AND shop_id = $2 AND order_sn = $3")
                .bind(app.as_str())
                .bind(shop_to_sql(shop))
                .bind(order.as_str())
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn latest_event(&self, order: &str, kind: Option<&str>) -> Result<Option<shoprelay_core::event::Event>> {
        let body: Option<String> = with_read_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT body FROM events WHERE order_sn = $1 AND ($2 IS NULL OR kind = $2) ORDER BY id DESC LIMIT 1",
            )
            .bind(order)
            .bind(kind)
            .fetch_optional(pool)
            .await?
        });
        body.map(|b| {
            serde_json::from_str(&self.open_pii(b)?).map_err(|source| crate::StoreError::CorruptJson {
                table: "events",
                source,
            })
        })
        .transpose()
    }

    async fn replay_failed_pushes(&self, f: &PushReplayFilter, now: i64, limit: i64) -> Result<u64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let replayed: Vec<(String, String, Option<i64>, Option<String>, String)> = sqlx::query_as(
                "UPDATE inbox SET state = 'pending', attempts = 0, next_attempt_at = $1, claimed_until = 0
                 WHERE id IN (SELECT id FROM inbox WHERE state = 'failed'
                    AND ($2 IS NULL OR id = $2) AND ($3 IS NULL OR shop_id = $3)
                    AND ($4 IS NULL OR received_at >= $4) AND ($5 IS NULL OR received_at < $5)
                    ORDER BY id LIMIT $6)
                 RETURNING app_id, platform, shop_id, order_sn, dedupe_key",
            )
            .bind(now)
            .bind(f.id)
            .bind(f.shop_id)
            .bind(f.from)
            .bind(f.to)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            if !replayed.is_empty() {
                let mut audit = sqlx::QueryBuilder::new(
                    "INSERT INTO audit (at, kind, outcome, app_id, platform, shop_id, order_sn, detail) ",
                );
                audit.push_values(&replayed, |mut row, (app_id, platform, shop_id, order_sn, key)| {
                    row.push_bind(now)
                        .push_bind(AuditKind::Push.as_str())
                        .push_bind(AuditOutcome::Replayed.as_str())
                        .push_bind(app_id.as_str())
                        .push_bind(platform.as_str())
                        .push_bind(*shop_id)
                        .push_bind(order_sn.as_deref())
                        .push_bind(format!("failed push queued again ({key})"));
                });
                audit.build().execute(&mut *tx).await?;
                notify!(self, tx, INBOX_CHANNEL);
            }
            tx.commit().await?;
            Ok(replayed.len() as u64)
        })
    }

    async fn count_failed_pushes(&self, f: &PushReplayFilter) -> Result<i64> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM inbox WHERE state = 'failed'
                    AND ($1 IS NULL OR id = $1) AND ($2 IS NULL OR shop_id = $2)
                    AND ($3 IS NULL OR received_at >= $3) AND ($4 IS NULL OR received_at < $4)",
            )
            .bind(f.id)
            .bind(f.shop_id)
            .bind(f.from)
            .bind(f.to)
            .fetch_one(pool)
            .await?
        }))
    }
}
