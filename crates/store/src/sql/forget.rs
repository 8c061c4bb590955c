//! Data-subject deletion: everything stored about one buyer of one shop, found through the keyed buyer
//! hash, deleted in one transaction with an audit entry that names only the hash and the counts; and
//! everything about a shop that left, on request.

use std::collections::BTreeSet;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::event::Platform;
use shoprelay_core::ids::{ConfigId, ShopId};

use super::{shop_to_sql, with_pool, BeginWrite, SqlStore};
use crate::model::{AuditEntry, AuditKind, AuditOutcome, ForgetReport};
use crate::store::{Privacy, Result};

/// Values bound per statement (within SQLite's and PostgreSQL's limits).
const CHUNK: usize = 500;

/// Runs `$sql` + `(v1, v2, …)` over `$values` a chunk at a time inside `$tx`; evaluates to the rows
/// affected.
macro_rules! in_chunks {
    ($tx:ident, $sql:expr, $values:expr) => {{
        let mut affected = 0u64;
        let values: Vec<_> = $values.iter().cloned().collect();
        for chunk in values.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new($sql);
            q.push("(");
            let mut list = q.separated(", ");
            for v in chunk {
                list.push_bind(v.clone());
            }
            q.push(")");
            affected += q.build().execute(&mut *$tx).await?.rows_affected();
        }
        affected
    }};
}

/// Like `in_chunks!` for a SELECT returning rows of type `$row`.
macro_rules! select_chunks {
    ($tx:ident, $row:ty, $sql:expr, $values:expr) => {{
        let mut rows: Vec<$row> = Vec::new();
        let values: Vec<_> = $values.iter().cloned().collect();
        for chunk in values.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new($sql);
            q.push("(");
            let mut list = q.separated(", ");
            for v in chunk {
                list.push_bind(v.clone());
            }
            q.push(")");
            rows.extend(q.build_query_as::<$row>().fetch_all(&mut *$tx).await?);
        }
        rows
    }};
}

type EventRow = (i64, String, Option<i64>, Option<String>);

#[async_trait]
impl Privacy for SqlStore {
    fn buyer_hash(&self, shop: ShopId, buyer: &str) -> String {
        self.hash_buyer(shop, buyer)
    }

    async fn forget_buyer(&self, shop: ShopId, buyer: &str, now: UnixMs) -> Result<ForgetReport> {
        // The statements bind the columns' unit, unix milliseconds.
        let now = now.as_millis();
        let hash = self.hash_buyer(shop, buyer);
        let shop_sql = shop_to_sql(shop);
        let mut report = ForgetReport::default();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // The buyer's own events (messages, orders whose snapshot names them), then every event,
            // push and task of those orders: an order number leads back to the buyer.
            let direct: Vec<EventRow> = sqlx::query_as(
                "SELECT id, dedupe_key, inbox_id, order_sn FROM events WHERE buyer_hash = $1 AND shop_id = $2",
            )
            .bind(&hash)
            .bind(shop_sql)
            .fetch_all(&mut *tx)
            .await?;
            let orders: BTreeSet<String> = direct.iter().filter_map(|e| e.3.clone()).collect();
            let shop_orders = format!("SELECT id, dedupe_key, inbox_id, order_sn FROM events WHERE shop_id = {shop_sql} AND order_sn IN ");
            let of_orders: Vec<EventRow> = select_chunks!(tx, EventRow, shop_orders.as_str(), orders);
            let mut events: BTreeSet<i64> = BTreeSet::new();
            let mut keys: BTreeSet<String> = BTreeSet::new();
            let mut pushes: BTreeSet<i64> = BTreeSet::new();
            for (id, key, inbox, _) in direct.into_iter().chain(of_orders) {
                events.insert(id);
                keys.insert(key);
                pushes.extend(inbox);
            }
            let inbox_sql = format!("SELECT id FROM inbox WHERE shop_id = {shop_sql} AND order_sn IN ");
            let order_pushes: Vec<(i64,)> = select_chunks!(tx, (i64,), inbox_sql.as_str(), orders);
            pushes.extend(order_pushes.into_iter().map(|(id,)| id));
            // Tasks opened for those events or orders, and the escalations they raised (which quote them).
            let mut tasks: BTreeSet<i64> = BTreeSet::new();
            let by_key: Vec<(i64,)> = select_chunks!(tx, (i64,), "SELECT id FROM tasks WHERE event_key IN ", keys);
            let tasks_sql = format!("SELECT id FROM tasks WHERE shop_id = {shop_sql} AND order_sn IN ");
            let by_order: Vec<(i64,)> = select_chunks!(tx, (i64,), tasks_sql.as_str(), orders);
            tasks.extend(by_key.into_iter().chain(by_order).map(|(id,)| id));
            let escalations: BTreeSet<String> = tasks.iter().map(|id| format!("escalation:{id}")).collect();
            let raised: Vec<(i64,)> = select_chunks!(tx, (i64,), "SELECT id FROM events WHERE dedupe_key IN ", escalations);
            events.extend(raised.into_iter().map(|(id,)| id));
            // Digests list their members' lines, so a digest that carried one goes with it.
            let digests: Vec<(i64,)> = select_chunks!(
                tx,
                (i64,),
                "SELECT DISTINCT digest_id FROM deliveries WHERE digest_id IS NOT NULL AND event_id IN ",
                events
            );
            report.deliveries = in_chunks!(tx, "DELETE FROM deliveries WHERE event_id IN ", events);
            let digests: BTreeSet<i64> = digests.into_iter().map(|(id,)| id).collect();
            report.deliveries += in_chunks!(tx, "DELETE FROM deliveries WHERE id IN ", digests);
            report.tasks = in_chunks!(tx, "DELETE FROM tasks WHERE id IN ", tasks);
            report.events = in_chunks!(tx, "DELETE FROM events WHERE id IN ", events);
            report.pushes = in_chunks!(tx, "DELETE FROM inbox WHERE id IN ", pushes);
            let state_sql = format!("DELETE FROM order_state WHERE shop_id = {shop_sql} AND order_sn IN ");
            report.orders = in_chunks!(tx, state_sql.as_str(), orders);
            sqlx::query(
                "DELETE FROM conversation_messages WHERE conversation_id IN
                     (SELECT id FROM conversations WHERE buyer_hash = $1 AND shop_id = $2)",
            )
            .bind(&hash)
            .bind(shop_sql)
            .execute(&mut *tx)
            .await?;
            report.conversations = sqlx::query("DELETE FROM conversations WHERE buyer_hash = $1 AND shop_id = $2")
                .bind(&hash)
                .bind(shop_sql)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let mut audit = AuditEntry::new(AuditKind::Privacy, AuditOutcome::BuyerForgotten, UnixMs::from_millis(now), report.detail(&hash));
            audit.shop_id = Some(shop_sql);
            super::insert_audit!(&mut *tx, &audit);
            tx.commit().await?;
        });
        self.truncate_wal().await?;
        Ok(report)
    }

    async fn purge_shop(
        &self,
        app: &ConfigId,
        platform: Option<Platform>,
        shop: ShopId,
        now: UnixMs,
    ) -> Result<ForgetReport> {
        // The statements bind the columns' unit, unix milliseconds.
        let now = now.as_millis();
        const EVENTS: &str = "SELECT id FROM events WHERE app_id = $1 AND shop_id = $2";
        // Digests list their members' lines, so a digest that carried one of the shop's goes with it.
        let digests = format!(
            "DELETE FROM deliveries WHERE id IN (SELECT DISTINCT digest_id FROM deliveries
                 WHERE digest_id IS NOT NULL AND event_id IN ({EVENTS}))"
        );
        let deliveries = format!("DELETE FROM deliveries WHERE event_id IN ({EVENTS})");
        let of_shop = |table: &str| format!("DELETE FROM {table} WHERE app_id = $1 AND shop_id = $2");
        let (events, pushes, orders) = (of_shop("events"), of_shop("inbox"), of_shop("order_state"));
        let (auth, lease, policy) = (of_shop("shop_auth"), of_shop("token_refresh"), of_shop("data_policies"));
        let conversations = of_shop("conversations");
        let chat_capability = of_shop("shop_chat");
        let standing = of_shop("shop_standing");
        let conversation_messages = "DELETE FROM conversation_messages WHERE conversation_id IN
                 (SELECT id FROM conversations WHERE app_id = $1 AND shop_id = $2)";
        let shop_sql = shop_to_sql(shop);
        let mut report = ForgetReport::default();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // Every statement but the tasks' binds the app and the shop.
            macro_rules! delete {
                ($sql:expr) => {
                    sqlx::query($sql)
                        .bind(app.as_str())
                        .bind(shop_sql)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                };
            }
            report.deliveries = delete!(&digests) + delete!(&deliveries);
            report.tasks = sqlx::query("DELETE FROM tasks WHERE shop_id = $1")
                .bind(shop_sql)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            report.events = delete!(&events);
            report.pushes = delete!(&pushes);
            report.orders = delete!(&orders);
            delete!(conversation_messages);
            report.conversations = delete!(&conversations);
            delete!(&auth);
            delete!(&lease);
            delete!(&policy);
            delete!(&chat_capability);
            delete!(&standing);
            // The dashboard's per-order rows name the shop's orders; its hourly sums are counts and stay.
            sqlx::query("DELETE FROM dashboard_orders WHERE shop_id = $1")
                .bind(shop_sql)
                .execute(&mut *tx)
                .await?;
            let detail = report.shop_detail(app.as_str(), shop);
            let mut audit = AuditEntry::new(AuditKind::Privacy, AuditOutcome::ShopPurged, UnixMs::from_millis(now), detail);
            audit.app_id = Some(app.to_string());
            audit.platform = platform;
            audit.shop_id = Some(shop_sql);
            super::insert_audit!(&mut *tx, &audit);
            tx.commit().await?;
        });
        self.truncate_wal().await?;
        Ok(report)
    }
}
