//! The logistics watch: shipped orders polled for their trail, unshipped ones checked against their
//! ship-by date.

use async_trait::async_trait;
use shoprelay_clock::UnixMs;

use super::{skip_locked, with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::model::*;
use crate::store::{OrderWatch, Result};

const COLUMNS: &str = "app_id, shop_id, order_sn, status, status_time, ship_by_date, tracking_updated_at";

/// A [`WatchedOrder`] as its columns hold it: its times in unix seconds (`tracking_checked_at`, never read
/// back, is in milliseconds).
#[derive(sqlx::FromRow)]
struct Row {
    app_id: String,
    shop_id: i64,
    order_sn: String,
    status: String,
    status_time: i64,
    ship_by_date: Option<i64>,
    tracking_updated_at: Option<i64>,
}

impl From<Row> for WatchedOrder {
    fn from(r: Row) -> Self {
        WatchedOrder {
            app_id: r.app_id,
            shop_id: r.shop_id,
            order_sn: r.order_sn,
            status: r.status,
            status_time: UnixMs::from_secs(r.status_time),
            ship_by_date: r.ship_by_date.map(UnixMs::from_secs),
            tracking_updated_at: r.tracking_updated_at.map(UnixMs::from_secs),
        }
    }
}

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
        now: UnixMs,
        checked_before: UnixMs,
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
            let mut q = sqlx::query_as::<_, Row>(&select).bind(checked_before.as_millis()).bind(limit);
            for s in statuses {
                q = q.bind(*s);
            }
            let rows = q.fetch_all(&mut *tx).await?;
            for r in &rows {
                sqlx::query(
                    "UPDATE order_state SET tracking_checked_at = $1 WHERE app_id = $2 AND shop_id = $3 AND order_sn = $4",
                )
                .bind(now.as_millis())
                .bind(&r.app_id)
                .bind(r.shop_id)
                .bind(&r.order_sn)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(rows.into_iter().map(WatchedOrder::from).collect())
        })
    }

    async fn record_tracking(&self, app: &str, shop: i64, order: &str, updated_at: UnixMs, status: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE order_state SET tracking_updated_at = $1, logistics_status = $2
                 WHERE app_id = $3 AND shop_id = $4 AND order_sn = $5",
            )
            .bind(updated_at.as_secs())
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
        from: UnixMs,
        to: UnixMs,
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
        // Ship-by dates are whole seconds: `[from, to)` holds the seconds from `from`'s (rounded up, so a
        // date before `from` is out) to `to`'s (rounded up, so one before `to` is in).
        let (from, to) = (ceil_secs(from), ceil_secs(to));
        let rows = with_read_pool!(self, pool => {
            let mut q = sqlx::query_as::<_, Row>(&sql).bind(from).bind(to).bind(limit).bind(offset);
            for s in statuses {
                q = q.bind(*s);
            }
            q.fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(WatchedOrder::from).collect())
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

/// The first whole second at or after `at`.
fn ceil_secs(at: UnixMs) -> i64 {
    let secs = at.as_secs();
    if UnixMs::from_secs(secs) < at {
        secs.saturating_add(1)
    } else {
        secs
    }
}
