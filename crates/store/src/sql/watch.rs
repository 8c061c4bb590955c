//! The logistics watch: shipped orders polled for their trail, unshipped ones checked against their
//! ship-by date.

use async_trait::async_trait;

use super::{skip_locked, with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::model::*;
use crate::store::{OrderWatch, Result};

const COLUMNS: &str = "app_id, shop_id, order_sn, status, status_time, ship_by_date, tracking_updated_at";

/// `$first, $first+1, …` for a list of `n` binds.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl OrderWatch for SqlStore {
    async fn claim_tracking_checks(
        &self,
        statuses: &[&str],
        now: i64,
        checked_before: i64,
        limit: i64,
    ) -> Result<Vec<WatchedOrder>> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let select = format!(
            "SELECT {COLUMNS} FROM order_state WHERE status IN ({}) AND tracking_checked_at <= $1
             ORDER BY tracking_checked_at LIMIT $2 {}",
            placeholders(3, statuses.len()),
            skip_locked(self)
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut q = sqlx::query_as::<_, WatchedOrder>(&select).bind(checked_before).bind(limit);
            for s in statuses {
                q = q.bind(*s);
            }
            let rows = q.fetch_all(&mut *tx).await?;
            for r in &rows {
                sqlx::query(
                    "UPDATE order_state SET tracking_checked_at = $1 WHERE app_id = $2 AND shop_id = $3 AND order_sn = $4",
                )
                .bind(now)
                .bind(&r.app_id)
                .bind(r.shop_id)
                .bind(&r.order_sn)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(rows)
        })
    }

    async fn record_tracking(&self, app: &str, shop: i64, order: &str, updated_at: i64, status: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE order_state SET tracking_updated_at = $1, logistics_status = $2
                 WHERE app_id = $3 AND shop_id = $4 AND order_sn = $5",
            )
            .bind(updated_at)
            .bind(status)
            .bind(app)
            .bind(shop)
            .bind(order)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn ship_by_between(
        &self,
        statuses: &[&str],
        from: i64,
        to: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<WatchedOrder>> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM order_state
             WHERE status IN ({}) AND ship_by_date IS NOT NULL AND ship_by_date >= $1 AND ship_by_date < $2
             ORDER BY ship_by_date, order_sn LIMIT $3 OFFSET $4",
            placeholders(5, statuses.len())
        );
        Ok(with_read_pool!(self, pool => {
            let mut q = sqlx::query_as::<_, WatchedOrder>(&sql).bind(from).bind(to).bind(limit).bind(offset);
            for s in statuses {
                q = q.bind(*s);
            }
            q.fetch_all(pool).await?
        }))
    }

    async fn event_exists(&self, dedupe_key: &str) -> Result<bool> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events WHERE dedupe_key = $1")
                .bind(dedupe_key)
                .fetch_one(pool)
                .await?
                > 0
        }))
    }
}
