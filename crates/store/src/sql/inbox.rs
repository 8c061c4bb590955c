//! The inbox: pushes in, events and deliveries out, one transaction per step.

use async_trait::async_trait;
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};

use super::{insert_event, shop_to_sql, skip_locked, with_pool, SqlStore};
use crate::model::*;
use crate::store::{Inbox, Result};

#[async_trait]
impl Inbox for SqlStore {
    async fn insert_pushes(&self, pushes: &[NewPush]) -> Result<Vec<PushInsert>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut out = Vec::with_capacity(pushes.len());
            for p in pushes {
                let shop = p.shop_id.map(shop_to_sql);
                let order = p.order_sn.as_ref().map(|o| o.as_str());
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO inbox (platform, app_id, dedupe_key, code, shop_id, order_sn, body, received_at, state, next_attempt_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $8)
                     ON CONFLICT (platform, app_id, dedupe_key) DO NOTHING RETURNING id",
                )
                .bind(p.platform.as_str())
                .bind(p.app_id.as_str())
                .bind(&p.dedupe_key)
                .bind(p.code)
                .bind(shop)
                .bind(order)
                .bind(&p.body)
                .bind(p.received_at)
                .fetch_optional(&mut *tx)
                .await?;
                let (outcome, result) = match id {
                    Some(id) => ("accepted", PushInsert::Stored(id)),
                    None => ("duplicate", PushInsert::Duplicate),
                };
                sqlx::query(
                    "INSERT INTO audit (at, kind, outcome, app_id, shop_id, order_sn, http_status, detail)
                     VALUES ($1, 'push', $2, $3, $4, $5, 204, $6)",
                )
                .bind(p.received_at)
                .bind(outcome)
                .bind(p.app_id.as_str())
                .bind(shop)
                .bind(order)
                .bind(format!("code {} ({})", p.code, p.dedupe_key))
                .execute(&mut *tx)
                .await?;
                out.push(result);
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    async fn claim_inbox(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<InboxItem>> {
        let sql = format!(
            "UPDATE inbox SET claimed_until = $1, attempts = attempts + 1 WHERE id IN (
                SELECT id FROM inbox WHERE state = 'pending' AND next_attempt_at <= $2 AND claimed_until <= $2
                ORDER BY id LIMIT $3 {})
             RETURNING id, platform, app_id, dedupe_key, code, shop_id, body, attempts, received_at",
            skip_locked(self)
        );
        let mut items: Vec<InboxItem> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(now + lease_ms).bind(now).bind(limit).fetch_all(pool).await?
        });
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    async fn complete_inbox(&self, id: i64, completion: InboxCompletion, now: i64) -> Result<usize> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut new_events = 0;
            for new in &completion.events {
                if insert_event!(tx, Some(id), new, now) {
                    new_events += 1;
                }
            }
            for u in &completion.order_updates {
                sqlx::query(
                    "INSERT INTO order_state (app_id, shop_id, order_sn, status, updated_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (app_id, shop_id, order_sn) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
                )
                .bind(u.app_id.as_str())
                .bind(shop_to_sql(u.shop_id))
                .bind(u.order_sn.as_str())
                .bind(&u.status)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let row: Option<(String, Option<i64>, Option<String>)> =
                sqlx::query_as("UPDATE inbox SET state = $1, last_error = $2, claimed_until = 0 WHERE id = $3 RETURNING app_id, shop_id, order_sn")
                    .bind(completion.state.as_str())
                    .bind(completion.note.as_deref())
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((app_id, shop_id, order_sn)) = row {
                let detail = match &completion.note {
                    Some(note) => format!("{new_events} new event(s); {note}"),
                    None => format!("{new_events} new event(s)"),
                };
                sqlx::query(
                    "INSERT INTO audit (at, kind, outcome, app_id, shop_id, order_sn, detail) VALUES ($1, 'push', $2, $3, $4, $5, $6)",
                )
                .bind(now)
                .bind(match completion.state {
                    InboxState::Done => "processed",
                    other => other.as_str(),
                })
                .bind(app_id)
                .bind(shop_id)
                .bind(order_sn)
                .bind(detail)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(new_events)
        })
    }

    async fn retry_inbox(&self, id: i64, next_at: i64, error: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE inbox SET next_attempt_at = $1, last_error = $2, claimed_until = 0 WHERE id = $3")
                .bind(next_at)
                .bind(error)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn order_status(&self, app: &ConfigId, shop: ShopId, order: &OrderSn) -> Result<Option<String>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT status FROM order_state WHERE app_id = $1 AND shop_id = $2 AND order_sn = $3")
                .bind(app.as_str())
                .bind(shop_to_sql(shop))
                .bind(order.as_str())
                .fetch_optional(pool)
                .await?
        }))
    }
}
