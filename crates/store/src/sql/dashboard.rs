//! The dashboard's queries: one statement each, the same text on both backends.
//!
//! Traffic, latency, failures and orders in time are summed ahead of time: [`Dashboard::roll_up_dashboard`]
//! adds the audit entries sealed since the last rollup (by chain position `seq`, never by time, so an
//! entry written late for an hour already summed is added to that hour, not lost, and none is summed
//! twice) to per-hour sums (`dashboard_traffic`, `dashboard_failures`, the latency histogram
//! `dashboard_latency`) and per-order state (`dashboard_orders`). A query reads the sums for the whole
//! hours inside its window and the log for the rest: the partial hours at its edges (through
//! `audit_kind_at`) and the entries not summed yet (`audit_unsealed`, `audit_seq`). The rollup's high-water
//! mark is read inside the same statement as the sums, so each entry counts exactly once even while
//! another replica rolls up. Time to first reply and the last hour's per-minute chart read their rows
//! directly (`conversation_messages_author_at`, `audit_kind_at`): both were already milliseconds.

use std::time::Duration;

use async_trait::async_trait;

use super::audit::{AuditRow, ENTRY_COLUMNS};
use super::{with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::dashboard::*;
use crate::model::{AuditEntry, AuditOutcome};
use crate::store::Result;
use crate::StoreError;

/// The span of one summed period: an hour. A week is then 168 periods per shop; per minute it would be
/// 10,080, as many summary rows as log entries for a shop with a few entries a minute, and not cheaper.
const PERIOD_MS: i64 = 3_600_000;

/// Sealed entries summed per rollup transaction: a short write whatever the backlog.
const ROLLUP_CHUNK: i64 = 20_000;

/// Attempts that failed: retried, given up, held by the breaker, throttled by WeCom.
const FAILED: &str = "('retry', 'dead', 'held', 'throttled')";

/// A destination key's kind, in SQL both dialects read (`LIKE` rather than `split_part`/`instr`).
const DESTINATION_KIND: &str = "CASE WHEN destination LIKE 'wecom_app:%' THEN 'wecom_app'
     WHEN destination LIKE 'appchat:%' THEN 'appchat' WHEN destination LIKE 'robot:%' THEN 'robot'
     WHEN destination LIKE 'webhook:%' THEN 'webhook' ELSE 'other' END";

/// A delivery attempt to WeCom (an app message, an app group chat, a robot), not a webhook.
const TO_WECOM: &str = "(destination LIKE 'wecom_app:%' OR destination LIKE 'appchat:%' OR destination LIKE 'robot:%')";

/// The columns the dashboard reads from a log entry.
const COLUMNS: &str = "kind, at, outcome, shop_id, destination, errcode, received_at, order_sn";

/// [`latency_bucket`] of the SQL expression `v`, in integer arithmetic both dialects share.
fn bucket_sql(v: &str) -> String {
    let v = format!("({v})");
    let mut sql = format!("CASE WHEN {v} < 1000 THEN {v}");
    let mut unit: i64 = 1;
    for _ in 4..=18 {
        unit *= 10;
        sql.push_str(&format!(" WHEN {v} < {} THEN {v} / {unit} * {unit}", unit * 1_000));
    }
    sql.push_str(&format!(" ELSE {v} / {0} * {0} END", unit * 10));
    sql
}

/// `duration` in whole milliseconds, as the columns hold time, saturating at `i64::MAX` (a threshold no
/// wait reaches); the statements compare with it by subtraction, so even that one does not overflow.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A window cut at whole periods: `[from, lo)` and `[hi, to)` are read from the log, `[lo, hi)` from the
/// sums and the entries not yet summed. A window inside one period is all edge (`lo = hi = to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Split {
    from: i64,
    lo: i64,
    hi: i64,
    to: i64,
}

impl Split {
    /// `w` cut at whole periods.
    fn of(w: Window) -> Self {
        let (from, to) = (w.from.as_millis(), w.to.as_millis());
        let lo = from.div_euclid(PERIOD_MS) * PERIOD_MS + if from.rem_euclid(PERIOD_MS) == 0 { 0 } else { PERIOD_MS };
        let hi = to.div_euclid(PERIOD_MS) * PERIOD_MS;
        if lo < hi {
            Self { from, lo, hi, to }
        } else {
            Self {
                from,
                lo: to,
                hi: to,
                to,
            }
        }
    }

    /// Binds `$1`–`$5` (from, to, lo, hi, a rollup mark). Not kept as a prepared statement: PostgreSQL
    /// then plans with the values, so `seq > mark` is known to be the log's newest few entries.
    fn bind<'q, DB, O>(
        self,
        q: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
        mark: i64,
    ) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
    where
        DB: sqlx::Database + sqlx::database::HasStatementCache,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        q.persistent(false)
            .bind(self.from)
            .bind(self.to)
            .bind(self.lo)
            .bind(self.hi)
            .bind(mark)
    }
}

/// The entries not summed yet: unsealed, or sealed after the rollup's mark. The mark is read here, in the
/// statement that reads the sums, so both are one snapshot; `$mark` is a mark read before (never above the
/// current one), which lets each planner walk `audit_seq` from it. Materialized, so neither planner trades
/// the `seq` index for `audit_kind_at` over the whole window when the rows are filtered by kind and time.
fn fresh_cte(mark: &str) -> String {
    format!(
        "fresh AS MATERIALIZED (
            SELECT {COLUMNS} FROM audit WHERE seq IS NULL
            UNION ALL
            SELECT {COLUMNS} FROM audit WHERE seq > {mark} AND seq > (SELECT seq FROM dashboard_rollup WHERE id = 1))"
    )
}

/// The window's log entries matching `filter` that the sums do not hold: its edges (`$1`–`$3`,
/// `$4`–`$2`) whole, and between them (`$3`–`$4`) what the rollup has not reached (`$5`: a mark).
fn unsummed_sql(filter: &str) -> String {
    format!(
        "{fresh},
         unsummed AS (
            SELECT {COLUMNS} FROM audit WHERE {filter} AND at >= $1 AND at < $3
            UNION ALL
            SELECT {COLUMNS} FROM audit WHERE {filter} AND at >= $4 AND at < $2
            UNION ALL
            SELECT {COLUMNS} FROM fresh WHERE {filter} AND at >= $3 AND at < $4)",
        fresh = fresh_cte("$5")
    )
}

/// Push → accepted latency of deliveries accepted in `[$1, $2)`, grouped by `key` (`summed_key` over the
/// sums, `row_key` over a log entry), with nearest-rank p50/p95/p99 read from the summed histogram: the
/// first bucket whose running count reaches rank ⌈p·n/100⌉ = (p·n + 99) / 100 in integer arithmetic.
fn latency_sql(summed_key: &str, row_key: &str) -> String {
    format!(
        "WITH {rows},
              h AS (SELECT k, b, CAST(SUM(n) AS BIGINT) AS n FROM (
                      SELECT {summed_key} AS k, bucket AS b, n FROM dashboard_latency WHERE period >= $3 AND period < $4
                      UNION ALL
                      SELECT {row_key} AS k, {bucket} AS b, 1 AS n FROM unsummed) u
                    GROUP BY k, b),
              r AS (SELECT k, b,
                           CAST(SUM(n) OVER (PARTITION BY k ORDER BY b ROWS UNBOUNDED PRECEDING) AS BIGINT) AS below,
                           CAST(SUM(n) OVER (PARTITION BY k) AS BIGINT) AS total FROM h)
         SELECT k, total, MIN(CASE WHEN below >= (50 * total + 99) / 100 THEN b END),
                MIN(CASE WHEN below >= (95 * total + 99) / 100 THEN b END),
                MIN(CASE WHEN below >= (99 * total + 99) / 100 THEN b END)
         FROM r GROUP BY k, total ORDER BY k",
        rows = unsummed_sql("kind = 'delivery' AND outcome = 'delivered' AND received_at IS NOT NULL"),
        bucket = bucket_sql("at - received_at"),
    )
}

/// What one rollup adds for the sealed entries `($1, $2]`, each an upsert that adds to what is summed.
/// Every `SELECT` groups by exactly its conflict key, so no row is touched twice by one statement.
fn rollup_statements() -> [String; 4] {
    let sealed = "FROM audit WHERE seq > $1 AND seq <= $2";
    // The start of the entry's period (`at` is never negative, where `%` would differ from Rust's).
    let period = format!("at - at % {PERIOD_MS}");
    [
        format!(
            "INSERT INTO dashboard_traffic (period, shop_id, pushes, delivered, failed)
             SELECT {period}, COALESCE(shop_id, 0),
                    SUM(CASE WHEN kind = 'push' AND outcome = 'accepted' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN kind = 'delivery' AND outcome = 'delivered' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN kind = 'delivery' AND outcome IN {FAILED} THEN 1 ELSE 0 END)
             {sealed} AND kind IN ('push', 'delivery') GROUP BY 1, 2
             ON CONFLICT (period, shop_id) DO UPDATE SET pushes = dashboard_traffic.pushes + excluded.pushes,
                delivered = dashboard_traffic.delivered + excluded.delivered,
                failed = dashboard_traffic.failed + excluded.failed"
        ),
        format!(
            "INSERT INTO dashboard_failures (period, destination_kind, outcome, errcode, no_errcode, n)
             SELECT {period}, {DESTINATION_KIND}, outcome, COALESCE(errcode, 0),
                    CASE WHEN errcode IS NULL THEN 1 ELSE 0 END, COUNT(*)
             {sealed} AND kind = 'delivery' AND outcome IN {FAILED} GROUP BY 1, 2, 3, 4, 5
             ON CONFLICT (period, destination_kind, outcome, errcode, no_errcode)
             DO UPDATE SET n = dashboard_failures.n + excluded.n"
        ),
        format!(
            "INSERT INTO dashboard_latency (period, shop_id, bucket, n)
             SELECT {period}, COALESCE(shop_id, 0), {bucket}, COUNT(*)
             {sealed} AND kind = 'delivery' AND outcome = 'delivered' AND received_at IS NOT NULL GROUP BY 1, 2, 3
             ON CONFLICT (period, shop_id, bucket) DO UPDATE SET n = dashboard_latency.n + excluded.n",
            bucket = bucket_sql("at - received_at")
        ),
        format!(
            "INSERT INTO dashboard_orders (shop_id, order_sn, received_at, first_ok)
             SELECT COALESCE(shop_id, 0), order_sn, received_at, MIN(CASE WHEN outcome = 'delivered' THEN at END)
             {sealed} AND kind = 'delivery' AND order_sn IS NOT NULL AND received_at IS NOT NULL AND {TO_WECOM}
             GROUP BY 1, 2, 3
             ON CONFLICT (shop_id, order_sn, received_at) DO UPDATE SET first_ok = CASE
                WHEN excluded.first_ok IS NULL THEN dashboard_orders.first_ok
                WHEN dashboard_orders.first_ok IS NULL OR excluded.first_ok < dashboard_orders.first_ok
                  THEN excluded.first_ok
                ELSE dashboard_orders.first_ok END"
        ),
    ]
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

impl SqlStore {
    /// The rollup's mark as it stands now; it only grows, so a statement run after may rely on it as a
    /// lower bound.
    async fn rollup_mark(&self) -> Result<i64> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_scalar("SELECT seq FROM dashboard_rollup WHERE id = 1").fetch_one(pool).await?
        }))
    }

    /// One rollup transaction: at most [`ROLLUP_CHUNK`] sealed entries after the mark; how many.
    async fn roll_up_chunk(&self) -> Result<u64> {
        let mark_sql = if self.is_postgres() {
            // Replicas rolling up at once queue here; each then sees the mark the one before it left.
            "SELECT seq FROM dashboard_rollup WHERE id = 1 FOR UPDATE"
        } else {
            // SQLite's write transaction already excludes every other writer.
            "SELECT seq FROM dashboard_rollup WHERE id = 1"
        };
        let statements = rollup_statements();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mark: i64 = sqlx::query_scalar(mark_sql).fetch_one(&mut *tx).await?;
            // Every entry up to the chain's head was sealed by a transaction that committed before the
            // head moved, so the statements below see all of them.
            let head: i64 = sqlx::query_scalar("SELECT seq FROM audit_chain WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
            let upto = head.min(mark + ROLLUP_CHUNK);
            if upto <= mark {
                tx.rollback().await?;
                return Ok(0);
            }
            for sql in &statements {
                sqlx::query(sql).bind(mark).bind(upto).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE dashboard_rollup SET seq = $1 WHERE id = 1")
                .bind(upto)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(u64::try_from(upto - mark).unwrap_or_default())
        })
    }
}

#[async_trait]
impl Dashboard for SqlStore {
    async fn roll_up_dashboard(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = self.roll_up_chunk().await?;
            total += n;
            if n < ROLLUP_CHUNK as u64 {
                return Ok(total);
            }
        }
    }

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
            .bind(w.from.as_millis())
            .bind(w.to.as_millis())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(m, pushes, delivered)| MinuteCount {
                // `m` counts minutes from `from` (`at >= from`), so it is never negative.
                minute: w.from + Duration::from_millis(u64::try_from(m).unwrap_or_default().saturating_mul(60_000)),
                pushes,
                delivered,
            })
            .collect())
    }

    async fn delivery_latency(&self, w: Window) -> Result<Option<Percentiles>> {
        let sql = latency_sql("CAST(0 AS BIGINT)", "CAST(0 AS BIGINT)");
        let (split, mark) = (Split::of(w), self.rollup_mark().await?);
        let row: Option<LatencyRow<i64>> = with_read_pool!(self, pool => {
            split.bind(sqlx::query_as(&sql), mark).fetch_optional(pool).await?
        });
        Ok(row.map(|(_, n, p50, p95, p99)| percentiles(n, p50, p95, p99)))
    }

    async fn delivery_latency_by_shop(&self, w: Window) -> Result<Vec<ShopLatency>> {
        let sql = latency_sql("NULLIF(shop_id, 0)", "shop_id");
        let (split, mark) = (Split::of(w), self.rollup_mark().await?);
        let rows: Vec<LatencyRow<Option<i64>>> = with_read_pool!(self, pool => {
            split.bind(sqlx::query_as(&sql), mark).fetch_all(pool).await?
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
            "WITH {rows}
             SELECT dk, errcode, outcome, CAST(SUM(n) AS BIGINT) AS total FROM (
                SELECT destination_kind AS dk, CASE WHEN no_errcode = 1 THEN NULL ELSE errcode END AS errcode,
                       outcome, n
                FROM dashboard_failures WHERE period >= $3 AND period < $4
                UNION ALL
                SELECT {DESTINATION_KIND}, errcode, outcome, 1 FROM unsummed) u
             GROUP BY dk, errcode, outcome ORDER BY total DESC, dk, errcode",
            rows = unsummed_sql(&format!("kind = 'delivery' AND outcome IN {FAILED}")),
        );
        let (split, mark) = (Split::of(w), self.rollup_mark().await?);
        let rows: Vec<(String, Option<i64>, String, i64)> = with_read_pool!(self, pool => {
            split.bind(sqlx::query_as(&sql), mark).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(kind, errcode, outcome, count)| {
                let corrupt = |what: &str, raw: &str| StoreError::Corrupt {
                    table: "dashboard_failures",
                    reason: format!("unknown {what} `{}`", raw.escape_debug()),
                };
                Ok::<_, StoreError>(FailureCount {
                    destination_kind: DestinationKind::parse(&kind)
                        .ok_or_else(|| corrupt("destination kind", &kind))?,
                    errcode,
                    outcome: AuditOutcome::parse(&outcome).ok_or_else(|| corrupt("outcome", &outcome))?,
                    count,
                })
            })
            .collect()
    }

    async fn shop_traffic(&self, w: Window) -> Result<Vec<ShopTraffic>> {
        let sql = format!(
            "WITH {rows}
             SELECT shop_id, CAST(SUM(p) AS BIGINT), CAST(SUM(d) AS BIGINT), CAST(SUM(f) AS BIGINT) FROM (
                SELECT NULLIF(shop_id, 0) AS shop_id, pushes AS p, delivered AS d, failed AS f
                FROM dashboard_traffic WHERE period >= $3 AND period < $4
                UNION ALL
                SELECT shop_id,
                       CASE WHEN kind = 'push' AND outcome = 'accepted' THEN 1 ELSE 0 END,
                       CASE WHEN kind = 'delivery' AND outcome = 'delivered' THEN 1 ELSE 0 END,
                       CASE WHEN kind = 'delivery' AND outcome IN {FAILED} THEN 1 ELSE 0 END
                FROM unsummed) u
             GROUP BY shop_id ORDER BY shop_id",
            rows = unsummed_sql("kind IN ('push', 'delivery')"),
        );
        let (split, mark) = (Split::of(w), self.rollup_mark().await?);
        let rows: Vec<(Option<i64>, i64, i64, i64)> = with_read_pool!(self, pool => {
            split.bind(sqlx::query_as(&sql), mark).fetch_all(pool).await?
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

    async fn orders_in_wecom_within(&self, w: Window, threshold: Duration) -> Result<InTime> {
        // An order push is (shop, order, time received); its attempts come after its receipt, so the
        // range `at >= from` holds them all. The rollup keeps each summed order with its first accepted
        // WeCom attempt; the attempts not summed yet, and the WeCom deliveries still queued and never
        // attempted (no audit entry yet: once older than the threshold at the window's end a miss, so a
        // stalled queue lowers the share instead of vanishing from it; younger ones are undecided), are
        // grouped per order here and then merged with what the rollup holds of the same order: the
        // summed count is corrected by each touched order's change rather than re-read order by order.
        let sql = format!(
            "WITH {fresh},
                  x AS (SELECT shop_id, order_sn, received_at, MIN(first_ok) AS first_ok FROM (
                          SELECT COALESCE(shop_id, 0) AS shop_id, order_sn, received_at,
                                 CASE WHEN outcome = 'delivered' THEN at END AS first_ok
                          FROM fresh WHERE kind = 'delivery' AND at >= $1 AND received_at >= $1 AND received_at < $2
                            AND order_sn IS NOT NULL AND {TO_WECOM}
                          UNION ALL
                          SELECT COALESCE(d.shop_id, 0), d.order_sn, i.received_at, NULL
                          FROM deliveries d JOIN events e ON e.id = d.event_id JOIN inbox i ON i.id = e.inbox_id
                          WHERE d.state = 'pending' AND d.attempts = 0 AND d.order_sn IS NOT NULL
                            AND (d.destination LIKE 'wecom_app:%' OR d.destination LIKE 'appchat:%' OR d.destination LIKE 'robot:%')
                            AND i.received_at >= $1 AND i.received_at < $2 AND i.received_at < $2 - $4
                        ) u GROUP BY shop_id, order_sn, received_at),
                  t AS (SELECT CASE WHEN o.shop_id IS NULL THEN 0 ELSE 1 END AS summed,
                               CASE WHEN o.first_ok IS NOT NULL AND o.first_ok - x.received_at <= $4 THEN 1 ELSE 0 END AS was_in,
                               CASE WHEN (x.first_ok IS NOT NULL AND x.first_ok - x.received_at <= $4)
                                      OR (o.first_ok IS NOT NULL AND o.first_ok - x.received_at <= $4) THEN 1 ELSE 0 END AS is_in
                        FROM x LEFT JOIN dashboard_orders o
                          ON o.shop_id = x.shop_id AND o.order_sn = x.order_sn AND o.received_at = x.received_at)
             SELECT (SELECT COUNT(*) FROM dashboard_orders WHERE received_at >= $1 AND received_at < $2)
                      + (SELECT COUNT(*) FROM t WHERE summed = 0),
                    (SELECT COUNT(*) FROM dashboard_orders
                     WHERE received_at >= $1 AND received_at < $2 AND first_ok - received_at <= $4)
                      + (SELECT COALESCE(SUM(is_in - was_in), 0) FROM t)",
            fresh = fresh_cte("$3"),
        );
        let mark = self.rollup_mark().await?;
        let (orders, within): (i64, i64) = with_read_pool!(self, pool => {
            sqlx::query_as(&sql)
                .persistent(false)
                .bind(w.from.as_millis())
                .bind(w.to.as_millis())
                .bind(mark)
                .bind(millis(threshold))
                .fetch_one(pool)
                .await?
        });
        Ok(InTime { orders, within })
    }

    async fn first_response_times(&self, w: Window) -> Result<ResponseTimes> {
        let overall_sql = median_sql("CAST(0 AS BIGINT)");
        let member_sql = median_sql("member");
        let shop_sql = median_sql("shop_id");
        let unanswered_sql = format!("{WAITS} SELECT COUNT(*) FROM waits WHERE reply_id IS NULL");
        let (overall, per_member, per_shop, unanswered) = with_read_pool!(self, pool => {
            let overall: Option<(i64, i64, Option<i64>)> =
                sqlx::query_as(&overall_sql).bind(w.from.as_millis()).bind(w.to.as_millis()).fetch_optional(pool).await?;
            let per_member: Vec<(String, i64, Option<i64>)> =
                sqlx::query_as(&member_sql).bind(w.from.as_millis()).bind(w.to.as_millis()).fetch_all(pool).await?;
            let per_shop: Vec<(i64, i64, Option<i64>)> =
                sqlx::query_as(&shop_sql).bind(w.from.as_millis()).bind(w.to.as_millis()).fetch_all(pool).await?;
            let unanswered: i64 =
                sqlx::query_scalar(&unanswered_sql).bind(w.from.as_millis()).bind(w.to.as_millis()).fetch_one(pool).await?;
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
