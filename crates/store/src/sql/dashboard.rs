//! The dashboard's queries: one statement each, the same text on both backends. Every one reads a time
//! window through an index (`audit_kind_at`, `conversation_messages_author_at`), so its cost follows the
//! window's rows, not the log's size.

use async_trait::async_trait;

use super::audit::{AuditRow, ENTRY_COLUMNS};
use super::{with_read_pool, SqlStore};
use crate::dashboard::*;
use crate::model::AuditEntry;
use crate::store::Result;

/// Attempts that failed: retried, given up, held by the breaker, throttled by WeCom.
const FAILED: &str = "('retry', 'dead', 'held', 'throttled')";

/// A destination key's kind, in SQL both dialects read (`LIKE` rather than `split_part`/`instr`).
const DESTINATION_KIND: &str = "CASE WHEN destination LIKE 'wecom_app:%' THEN 'wecom_app'
     WHEN destination LIKE 'appchat:%' THEN 'appchat' WHEN destination LIKE 'robot:%' THEN 'robot'
     WHEN destination LIKE 'webhook:%' THEN 'webhook' ELSE 'other' END";

/// Push → accepted latency of deliveries accepted in `[$1, $2)`, grouped by `key` (an expression over the
/// audit row), with nearest-rank p50/p95/p99: rank ⌈p·n/100⌉ = (p·n + 99) / 100 in integer arithmetic.
fn latency_sql(key: &str) -> String {
    format!(
        "WITH l AS (SELECT {key} AS k, at - received_at AS ms FROM audit
                    WHERE kind = 'delivery' AND at >= $1 AND at < $2 AND outcome = 'delivered'
                      AND received_at IS NOT NULL),
              r AS (SELECT k, ms, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ms) AS rn,
                           COUNT(*) OVER (PARTITION BY k) AS n FROM l)
         SELECT k, n, MIN(CASE WHEN rn = (50 * n + 99) / 100 THEN ms END),
                MIN(CASE WHEN rn = (95 * n + 99) / 100 THEN ms END),
                MIN(CASE WHEN rn = (99 * n + 99) / 100 THEN ms END)
         FROM r GROUP BY k, n ORDER BY k"
    )
}

/// Buyers' waits that began in `[$1, $2)` and the person's reply that ended each. A wait begins at a
/// buyer's message with no earlier unanswered buyer message in its conversation (a person's sent reply
/// ends a wait; an automatic answer does not); it ends at the first person's reply sent after it.
const WAITS: &str = "WITH waits AS (
        SELECT c.shop_id, b.at AS asked,
               (SELECT MIN(r.id) FROM conversation_messages r WHERE r.conversation_id = b.conversation_id
                  AND r.author = 'staff' AND r.outcome = 'sent' AND r.id > b.id) AS reply_id
        FROM conversation_messages b JOIN conversations c ON c.id = b.conversation_id
        WHERE b.author = 'buyer' AND b.at >= $1 AND b.at < $2
          AND NOT EXISTS (
              SELECT 1 FROM conversation_messages p WHERE p.conversation_id = b.conversation_id
                AND p.author = 'buyer' AND p.id < b.id
                AND NOT EXISTS (SELECT 1 FROM conversation_messages h WHERE h.conversation_id = b.conversation_id
                                  AND h.author = 'staff' AND h.outcome = 'sent' AND h.id > p.id AND h.id < b.id)))";

/// [`WAITS`] that a person answered: the shop, the member who answered and how long the buyer waited.
const ANSWERED: &str = "answered AS (
        SELECT w.shop_id, COALESCE(r.sender, '') AS member, r.at - w.asked AS ms
        FROM waits w JOIN conversation_messages r ON r.id = w.reply_id)";

/// The median of [`ANSWERED`]'s waits grouped by `key` (`shop_id`, `member`, or a constant), nearest-rank
/// like the percentiles.
fn median_sql(key: &str) -> String {
    format!(
        "{WAITS}, {ANSWERED},
         a AS (SELECT {key} AS k, ms FROM answered),
         r AS (SELECT k, ms, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ms) AS rn,
                      COUNT(*) OVER (PARTITION BY k) AS n FROM a)
         SELECT k, n, MIN(CASE WHEN rn = (n + 1) / 2 THEN ms END) FROM r GROUP BY k, n ORDER BY k"
    )
}

type LatencyRow<K> = (K, i64, Option<i64>, Option<i64>, Option<i64>);

fn median<K>((key, answered, ms): (K, i64, Option<i64>)) -> ResponseMedian<K> {
    ResponseMedian {
        key,
        answered,
        median_ms: ms.unwrap_or_default(),
    }
}

fn percentiles(n: i64, p50: Option<i64>, p95: Option<i64>, p99: Option<i64>) -> Percentiles {
    Percentiles {
        count: n,
        p50: p50.unwrap_or_default(),
        p95: p95.unwrap_or_default(),
        p99: p99.unwrap_or_default(),
    }
}

#[async_trait]
impl Dashboard for SqlStore {
    async fn traffic_per_minute(&self, w: Window) -> Result<Vec<MinuteCount>> {
        let rows: Vec<(i64, i64, i64)> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT (at - $1) / 60000 AS m,
                        SUM(CASE WHEN kind = 'push' THEN 1 ELSE 0 END),
                        SUM(CASE WHEN kind = 'delivery' THEN 1 ELSE 0 END)
                 FROM audit WHERE kind IN ('push', 'delivery') AND at >= $1 AND at < $2
                   AND outcome IN ('accepted', 'delivered')
                 GROUP BY m ORDER BY m",
            )
            .bind(w.from)
            .bind(w.to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(m, pushes, delivered)| MinuteCount {
                minute: w.from + m * 60_000,
                pushes,
                delivered,
            })
            .collect())
    }

    async fn delivery_latency(&self, w: Window) -> Result<Option<Percentiles>> {
        let sql = latency_sql("CAST(0 AS BIGINT)");
        let row: Option<LatencyRow<i64>> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(w.from).bind(w.to).fetch_optional(pool).await?
        });
        Ok(row.map(|(_, n, p50, p95, p99)| percentiles(n, p50, p95, p99)))
    }

    async fn delivery_latency_by_shop(&self, w: Window) -> Result<Vec<ShopLatency>> {
        let sql = latency_sql("shop_id");
        let rows: Vec<LatencyRow<Option<i64>>> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(w.from).bind(w.to).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(shop_id, n, p50, p95, p99)| ShopLatency {
                shop_id,
                latency: percentiles(n, p50, p95, p99),
            })
            .collect())
    }

    async fn delivery_failures(&self, w: Window) -> Result<Vec<FailureCount>> {
        let sql = format!(
            "SELECT {DESTINATION_KIND} AS dk, errcode, outcome, COUNT(*) AS n FROM audit
             WHERE kind = 'delivery' AND at >= $1 AND at < $2 AND outcome IN {FAILED}
             GROUP BY dk, errcode, outcome ORDER BY n DESC, dk, errcode"
        );
        let rows: Vec<(String, Option<i64>, String, i64)> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(w.from).bind(w.to).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(destination_kind, errcode, outcome, count)| FailureCount {
                destination_kind,
                errcode,
                outcome,
                count,
            })
            .collect())
    }

    async fn shop_traffic(&self, w: Window) -> Result<Vec<ShopTraffic>> {
        let sql = format!(
            "SELECT shop_id,
                    SUM(CASE WHEN kind = 'push' AND outcome = 'accepted' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN kind = 'delivery' AND outcome = 'delivered' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN kind = 'delivery' AND outcome IN {FAILED} THEN 1 ELSE 0 END)
             FROM audit WHERE kind IN ('push', 'delivery') AND at >= $1 AND at < $2
             GROUP BY shop_id ORDER BY shop_id"
        );
        let rows: Vec<(Option<i64>, i64, i64, i64)> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(w.from).bind(w.to).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .filter(|(_, pushes, delivered, failed)| pushes + delivered + failed > 0)
            .map(|(shop_id, pushes, delivered, failed)| ShopTraffic {
                shop_id,
                pushes,
                delivered,
                failed,
            })
            .collect())
    }

    async fn orders_in_wecom_within(&self, w: Window, threshold_ms: i64) -> Result<InTime> {
        // An order push is (shop, order, time received); its attempts come after its receipt, so the
        // index range `at >= from` holds them all. A WeCom delivery still queued and never attempted has
        // no audit entry yet: once it is older than the threshold at the window's end it is a miss, so a
        // stalled queue lowers the share instead of vanishing from it; younger ones are undecided.
        let (orders, within): (i64, Option<i64>) = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*), SUM(CASE WHEN first_ok IS NOT NULL AND first_ok - received_at <= $3 THEN 1 ELSE 0 END)
                 FROM (SELECT shop_id, order_sn, received_at, MIN(first_ok) AS first_ok FROM (
                         SELECT shop_id, order_sn, received_at, CASE WHEN outcome = 'delivered' THEN at END AS first_ok
                         FROM audit WHERE kind = 'delivery' AND at >= $1 AND received_at >= $1 AND received_at < $2
                           AND order_sn IS NOT NULL
                           AND (destination LIKE 'wecom_app:%' OR destination LIKE 'appchat:%' OR destination LIKE 'robot:%')
                         UNION ALL
                         SELECT d.shop_id, d.order_sn, i.received_at, NULL
                         FROM deliveries d JOIN events e ON e.id = d.event_id JOIN inbox i ON i.id = e.inbox_id
                         WHERE d.state = 'pending' AND d.attempts = 0 AND d.order_sn IS NOT NULL
                           AND (d.destination LIKE 'wecom_app:%' OR d.destination LIKE 'appchat:%' OR d.destination LIKE 'robot:%')
                           AND i.received_at >= $1 AND i.received_at < $2 AND i.received_at + $3 < $2
                       ) u GROUP BY shop_id, order_sn, received_at) o",
            )
            .bind(w.from)
            .bind(w.to)
            .bind(threshold_ms)
            .fetch_one(pool)
            .await?
        });
        Ok(InTime {
            orders,
            within: within.unwrap_or_default(),
        })
    }

    async fn first_response_times(&self, w: Window) -> Result<ResponseTimes> {
        let overall_sql = median_sql("CAST(0 AS BIGINT)");
        let member_sql = median_sql("member");
        let shop_sql = median_sql("shop_id");
        let unanswered_sql = format!("{WAITS} SELECT COUNT(*) FROM waits WHERE reply_id IS NULL");
        let (overall, per_member, per_shop, unanswered) = with_read_pool!(self, pool => {
            let overall: Option<(i64, i64, Option<i64>)> =
                sqlx::query_as(&overall_sql).bind(w.from).bind(w.to).fetch_optional(pool).await?;
            let per_member: Vec<(String, i64, Option<i64>)> =
                sqlx::query_as(&member_sql).bind(w.from).bind(w.to).fetch_all(pool).await?;
            let per_shop: Vec<(i64, i64, Option<i64>)> =
                sqlx::query_as(&shop_sql).bind(w.from).bind(w.to).fetch_all(pool).await?;
            let unanswered: i64 =
                sqlx::query_scalar(&unanswered_sql).bind(w.from).bind(w.to).fetch_one(pool).await?;
            (overall, per_member, per_shop, unanswered)
        });
        Ok(ResponseTimes {
            overall: overall.map(|(_, answered, ms)| median(((), answered, ms))),
            unanswered,
            per_member: per_member.into_iter().map(median).collect(),
            per_shop: per_shop.into_iter().map(median).collect(),
        })
    }

    async fn sent_message(&self, audit_id: i64) -> Result<Option<SentMessage>> {
        let sql = format!("SELECT {ENTRY_COLUMNS}, delivery_id FROM audit WHERE id = $1 AND kind = 'delivery'");
        let found: Option<(AuditEntry, Option<i64>)> = with_read_pool!(self, pool => {
            let row: Option<EntryWithDelivery> = sqlx::query_as(&sql).bind(audit_id).fetch_optional(pool).await?;
            match row {
                Some(r) => Some((AuditEntry::try_from(r.entry)?, r.delivery_id)),
                None => None,
            }
        });
        let Some((entry, delivery_id)) = found else {
            return Ok(None);
        };
        let payload: Option<String> = match delivery_id {
            Some(id) => with_read_pool!(self, pool => {
                sqlx::query_scalar("SELECT payload FROM deliveries WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
            }),
            None => None,
        };
        let payload = payload.map(|p| self.open_pii(p)).transpose()?;
        Ok(Some(SentMessage { entry, payload }))
    }
}

/// An audit row with the outbox row it sent.
#[derive(sqlx::FromRow)]
struct EntryWithDelivery {
    #[sqlx(flatten)]
    entry: AuditRow,
    delivery_id: Option<i64>,
}
