//! The outbox: deliveries claimed, attempted and closed with their audit entries.

use async_trait::async_trait;

use super::{insert_audit, insert_event, skip_locked, with_pool, SqlStore};
use crate::model::*;
use crate::store::{Outbox, Result};

#[async_trait]
impl Outbox for SqlStore {
    async fn claim_deliveries(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<DeliveryItem>> {
        let sql = format!(
            "UPDATE deliveries SET claimed_until = $1, claim_token = $4 WHERE id IN (
                SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $2 AND claimed_until <= $2
                ORDER BY next_attempt_at, id LIMIT $3 {})
             RETURNING id, event_id, route_id, destination, shop_id, order_sn, payload, attempts, created_at, claim_token",
            skip_locked(self)
        );
        let token = uuid::Uuid::new_v4().to_string();
        let mut items: Vec<DeliveryItem> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(now + lease_ms).bind(now).bind(limit).bind(&token).fetch_all(pool).await?
        });
        items.sort_by_key(|d| d.id);
        Ok(items)
    }

    async fn finish_delivery(&self, item: &DeliveryItem, result: DeliveryResult, audit: AuditEntry) -> Result<bool> {
        let (state, next_at, error) = match &result {
            DeliveryResult::Delivered => (DeliveryState::Delivered, None, None),
            DeliveryResult::Retry { at, error } => (DeliveryState::Pending, Some(*at), Some(error.as_str())),
            DeliveryResult::Dead { error } => (DeliveryState::Dead, None, Some(error.as_str())),
        };
        let held = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let held = sqlx::query(
                "UPDATE deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = COALESCE($2, next_attempt_at),
                 last_error = $3, claimed_until = 0, updated_at = $4
                 WHERE id = $5 AND claim_token = $6 AND state = 'pending'",
            )
            .bind(state.as_str())
            .bind(next_at)
            .bind(error)
            .bind(audit.at)
            .bind(item.id)
            .bind(&item.claim_token)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            insert_audit!(&mut *tx, &audit);
            tx.commit().await?;
            held == 1
        });
        Ok(held)
    }

    async fn insert_event(&self, event: NewEvent, now: i64) -> Result<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inbox: Option<i64> = None;
            let created = insert_event!(tx, inbox, &event, now);
            tx.commit().await?;
            Ok(created)
        })
    }

    async fn queue_depths(&self) -> Result<QueueDepths> {
        let (inbox_pending, deliveries_pending, deliveries_dead): (i64, i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM inbox WHERE state = 'pending'),
                        (SELECT COUNT(*) FROM deliveries WHERE state = 'pending'),
                        (SELECT COUNT(*) FROM deliveries WHERE state = 'dead')",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(QueueDepths {
            inbox_pending,
            deliveries_pending,
            deliveries_dead,
        })
    }
}
