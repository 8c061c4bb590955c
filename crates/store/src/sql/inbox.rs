//! The inbox: pushes in, events and deliveries out, one transaction per step.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};

use super::{notify, shop_to_sql, skip_locked, with_pool, with_read_pool, BeginWrite, Pool, SqlStore, INBOX_CHANNEL};
use crate::model::*;
use crate::store::{Inbox, Result, Writes};

/// Keys looked up per statement in a batched read (up to three values each, within SQLite's bind limit).
const KEYS_PER_READ: usize = 300;

/// An [`InboxItem`] as its row holds it: body still sealed, arrival in unix milliseconds.
#[derive(sqlx::FromRow)]
pub(crate) struct InboxRow {
    pub(crate) id: i64,
    platform: String,
    app_id: String,
    dedupe_key: String,
    code: i64,
    shop_id: Option<i64>,
    body: String,
    attempts: i64,
    received_at: i64,
    claim_token: String,
}

/// The failed pushes a replay filter (`$1` id, `$2` shop, `$3`–`$4` arrival) names, counted.
pub(crate) const COUNT_FAILED: &str = "SELECT COUNT(*) FROM inbox WHERE state = 'failed'
    AND ($1 IS NULL OR id = $1) AND ($2 IS NULL OR shop_id = $2)
    AND ($3 IS NULL OR received_at >= $3) AND ($4 IS NULL OR received_at < $4)";

/// An item's columns, as [`InboxRow`] reads them.
const ITEM_COLUMNS: &str = "id, platform, app_id, dedupe_key, code, shop_id, body, attempts, received_at, claim_token";

/// The read of `n` claimed items (`$2`…) still held by claim token `$1`. By id only: beside
/// `state = 'pending'`, SQLite would rather search the pending items for the listed ones.
pub(crate) fn claimed_items_sql(n: usize, store: &SqlStore) -> String {
    let list = (0..n).map(|k| format!("${}", k + 2)).collect::<Vec<_>>().join(", ");
    format!(
        "SELECT {ITEM_COLUMNS} FROM inbox{} WHERE id IN ({list}) AND claim_token = $1 AND state = 'pending'",
        store.by_id_only()
    )
}

/// Whether inbox item `i` may be claimed at `now` (a placeholder or literal): pending, due, not leased, and
/// no older item of the same order still pending — one order's pushes are processed in arrival order, by
/// one processor at a time, across every replica.
pub(crate) fn claimable(now: &str) -> String {
    format!(
        "i.state = 'pending' AND i.next_attempt_at <= {now} AND i.claimed_until <= {now}
          AND (i.order_sn IS NULL OR NOT EXISTS (
                SELECT 1 FROM inbox o WHERE o.app_id = i.app_id AND o.shop_id = i.shop_id
                  AND o.order_sn = i.order_sn AND o.state = 'pending' AND o.id < i.id))"
    )
}

/// The search for up to `$2` items claimable at `$1`, oldest first.
pub(crate) fn claimable_inbox_sql(store: &SqlStore) -> String {
    // SQLite, without statistics, would rather search the due items by state and sort them all.
    let pending = if store.is_postgres() {
        ""
    } else {
        "INDEXED BY inbox_pending"
    };
    format!(
        "SELECT id FROM inbox i {pending} WHERE {} ORDER BY id LIMIT $2",
        claimable("$1")
    )
}

impl SqlStore {
    /// A claimed row as the worker gets it: the body opened.
    pub(crate) fn inbox_item(&self, i: InboxRow) -> Result<InboxItem> {
        Ok(InboxItem {
            body: self.open_pii(i.body)?,
            id: i.id,
            platform: i.platform,
            app_id: i.app_id,
            dedupe_key: i.dedupe_key,
            code: i.code,
            shop_id: i.shop_id,
            attempts: i.attempts,
            received_at: UnixMs::from_millis(i.received_at),
            claim_token: i.claim_token,
        })
    }
}

#[async_trait]
impl Inbox for SqlStore {
    async fn insert_pushes(&self, pushes: &[NewPush]) -> Result<Vec<PushInsert>> {
        let batch = WriteBatch {
            pushes: pushes.to_vec(),
            ..WriteBatch::default()
        };
        // Pushes carry their own arrival times; `now` stamps only what completions create.
        Ok(self.write_batch(&batch, UnixMs::EPOCH).await?.pushes)
    }

    async fn claimable_inbox(&self, now: UnixMs, limit: i64) -> Result<Vec<i64>> {
        let sql = claimable_inbox_sql(self);
        Ok(with_read_pool!(self, pool => {
            sqlx::query_scalar(&sql).bind(now.as_millis()).bind(limit).fetch_all(pool).await?
        }))
    }

    async fn claim_inbox(&self, now: UnixMs, lease: Duration, limit: i64) -> Result<Vec<InboxItem>> {
        match &self.pool {
            Pool::Sqlite { .. } => {
                // SQLite's one write connection is taken only to claim what a read-only connection found
                // claimable (an empty inbox takes it not at all), the conditions checked again under its
                // lock: the search never holds the writer, and the acknowledgements queued behind it. The
                // engine's writer does the same inside its shared commits.
                let ids = self.claimable_inbox(now, limit).await?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let batch = WriteBatch {
                    claims: vec![InboxClaim { ids, lease }],
                    ..WriteBatch::default()
                };
                match self.write_batch(&batch, now).await?.claims.pop() {
                    Some(claimed) => self.claimed_items(&claimed).await,
                    None => Ok(Vec::new()),
                }
            }
            Pool::Postgres(pool) => {
                // One statement: replicas skip each other's locked rows instead of waiting for them.
                let sql = format!(
                    "UPDATE inbox SET claimed_until = $1, attempts = attempts + 1, claim_token = $4 WHERE id IN (
                        SELECT id FROM inbox i WHERE {} ORDER BY id LIMIT $3 {}) RETURNING {ITEM_COLUMNS}",
                    claimable("$2"),
                    skip_locked(self)
                );
                let mut rows: Vec<InboxRow> = sqlx::query_as(&sql)
                    .bind((now + lease).as_millis())
                    .bind(now.as_millis())
                    .bind(limit)
                    .bind(uuid::Uuid::new_v4().to_string())
                    .fetch_all(pool)
                    .await?;
                rows.sort_by_key(|i| i.id);
                rows.into_iter().map(|row| self.inbox_item(row)).collect()
            }
        }
    }

    async fn claimed_items(&self, claimed: &ClaimedInbox) -> Result<Vec<InboxItem>> {
        let mut rows: Vec<InboxRow> = Vec::with_capacity(claimed.ids.len());
        for chunk in claimed.ids.chunks(KEYS_PER_READ) {
            let sql = claimed_items_sql(chunk.len(), self);
            rows.extend(with_read_pool!(self, pool => {
                let mut q = sqlx::query_as(&sql).bind(claimed.token.as_str());
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await?
            }));
        }
        rows.sort_by_key(|r| r.id);
        // A body that cannot be opened fails its item, not the claim: the item stays claimed (its
        // attempts counted) and comes back when the lease runs out.
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let id = r.id;
                self.inbox_item(r)
                    .map_err(|err| tracing::error!(inbox = id, error = ?err, "a claimed push's stored body cannot be opened"))
                    .ok()
            })
            .collect())
    }

    async fn complete_inbox(
        &self,
        item: &InboxItem,
        completion: InboxCompletion,
        now: UnixMs,
    ) -> Result<Option<usize>> {
        let batch = WriteBatch {
            completions: vec![InboxDone {
                id: item.id,
                claim_token: item.claim_token.clone(),
                completion,
            }],
            ..WriteBatch::default()
        };
        Ok(self.write_batch(&batch, now).await?.completions.pop().flatten())
    }

    async fn retry_inbox(&self, item: &InboxItem, next_at: UnixMs, error: &str) -> Result<()> {
        let batch = WriteBatch {
            retries: vec![InboxRetry {
                id: item.id,
                claim_token: item.claim_token.clone(),
                next_at,
                error: error.to_owned(),
            }],
            ..WriteBatch::default()
        };
        self.write_batch(&batch, next_at).await?;
        Ok(())
    }

    async fn order_status(&self, app: &ConfigId, shop: ShopId, order: &OrderSn) -> Result<Option<(String, UnixMs)>> {
        let row: Option<(String, i64)> = with_read_pool!(self, pool => {
            sqlx::query_as("SELECT status, status_time FROM order_state WHERE app_id = $1 AND shop_id = $2 AND order_sn = $3")
                .bind(app.as_str())
                .bind(shop_to_sql(shop))
                .bind(order.as_str())
                .fetch_optional(pool)
                .await?
        });
        // order_state keeps the platform's time in unix seconds.
        Ok(row.map(|(status, secs)| (status, UnixMs::from_secs(secs))))
    }

    async fn order_statuses(&self, orders: &[(ConfigId, ShopId, OrderSn)]) -> Result<Vec<Option<(String, UnixMs)>>> {
        let mut found: HashMap<(String, i64, String), (String, UnixMs)> = HashMap::with_capacity(orders.len());
        for chunk in orders.chunks(KEYS_PER_READ) {
            let rows: Vec<(String, i64, String, String, i64)> = with_read_pool!(self, pool => {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT app_id, shop_id, order_sn, status, status_time FROM order_state WHERE ",
                );
                for (i, (app, shop, order)) in chunk.iter().enumerate() {
                    q.push(if i == 0 { "(app_id = " } else { " OR (app_id = " });
                    q.push_bind(app.as_str()).push(" AND shop_id = ").push_bind(shop_to_sql(*shop));
                    q.push(" AND order_sn = ").push_bind(order.as_str()).push(")");
                }
                q.build_query_as().fetch_all(pool).await?
            });
            found.extend(
                rows.into_iter()
                    .map(|(app, shop, order, status, secs)| ((app, shop, order), (status, UnixMs::from_secs(secs)))),
            );
        }
        Ok(orders
            .iter()
            .map(|(app, shop, order)| {
                found
                    .get(&(app.as_str().to_owned(), shop_to_sql(*shop), order.as_str().to_owned()))
                    .cloned()
            })
            .collect())
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

    async fn replay_failed_pushes(&self, f: &PushReplayFilter, now: UnixMs, limit: i64) -> Result<u64> {
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
            .bind(now.as_millis())
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
                    row.push_bind(now.as_millis())
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
            sqlx::query_scalar(COUNT_FAILED)
            .bind(f.id)
            .bind(f.shop_id)
            .bind(f.from)
            .bind(f.to)
            .fetch_one(pool)
            .await?
        }))
    }
}
