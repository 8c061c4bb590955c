//! The audit page and the dashboard with a million audit rows: bulk-inserts them (one INSERT … SELECT
//! over a generated series, the same text on both backends, as the sealer leaves them: with their chain
//! position, though without hashes), then times the first page, filtered pages, deep keyset pages, the
//! dashboard's first rollup and its queries (also with a thousand new entries not summed yet), and prints
//! each plan. A measurement, not a test of speed: it asserts only that the plans use an index, never a
//! time.
//!
//! Run: `cargo test -p shoprelay-store --test audit_scale -- --ignored --nocapture`
//! (PostgreSQL too when DATABASE_URL is set; AUDIT_ROWS changes the row count).

// A measurement fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;
use shoprelay_core::secret::SecretBox;
use shoprelay_store::dashboard::Window;
use shoprelay_store::*;

/// Seven days of traffic, ending here.
const END: i64 = 1_796_119_200_000;
const WEEK: i64 = 7 * 24 * 3_600_000;

/// Rows `1..=n` of a week's traffic: pushes (accepted, processed), deliveries (delivered to a WeCom app,
/// a robot or a group chat; retried or, rarely, dead at a webhook), and token refreshes, over 50 shops,
/// four rows an order; ten rows go to a rare destination. Deliveries were pushed 0–39 s earlier. Rows
/// `1..=n` are sealed at positions `1..=n` (`sealed`), or left for the sealer; rows start at `first`,
/// `step` ms apart.
fn bulk_insert_sql(n: i64, first: i64, step: i64, sealed: bool) -> String {
    let start = first - step;
    let seq = if sealed { "i" } else { "NULL" };
    format!(
        "WITH RECURSIVE s(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < {n})
         INSERT INTO audit (at, kind, outcome, app_id, platform, shop_id, order_sn, destination, attempt, errcode,
                            latency_ms, detail, delivery_id, received_at, seq)
         SELECT {start} + i * {step},
                CASE WHEN i % 10 < 5 THEN 'push' WHEN i % 10 < 9 THEN 'delivery' ELSE 'auth' END,
                CASE WHEN i % 10 < 4 THEN 'accepted' WHEN i % 10 = 4 THEN 'processed'
                     WHEN i % 10 < 8 THEN 'delivered' WHEN i % 1000 = 8 THEN 'dead'
                     WHEN i % 10 = 8 THEN 'retry' ELSE 'refreshed' END,
                'app-1',
                CASE WHEN i % 10 < 5 THEN 'shopee' END,
                100000 + i % 50,
                'O' || CAST(i / 4 AS TEXT),
                CASE WHEN i % 10 < 5 OR i % 10 = 9 THEN NULL
                     WHEN i % 100000 = 6 THEN 'robot:rare'
                     WHEN i % 10 = 5 THEN 'wecom_app:hq' WHEN i % 10 = 6 THEN 'robot:ops'
                     WHEN i % 10 = 7 THEN 'appchat:hq:ops' ELSE 'webhook:wms' END,
                CASE WHEN i % 10 BETWEEN 5 AND 8 THEN 1 END,
                CASE WHEN i % 10 = 8 THEN 45009 WHEN i % 10 BETWEEN 5 AND 7 THEN 0 END,
                CASE WHEN i % 10 BETWEEN 5 AND 8 THEN 120 + i % 300 END,
                '',
                CASE WHEN i % 10 BETWEEN 5 AND 8 THEN i END,
                CASE WHEN i % 10 BETWEEN 5 AND 8 THEN {start} + i * {step} - (i % 40) * 1000 END,
                {seq}
         FROM s"
    )
}

fn secrets() -> SecretBox {
    SecretBox::from_base64(&SecretBox::generate_key()).unwrap()
}

/// A fresh database on the server named by DATABASE_URL.
async fn postgres_url() -> Option<String> {
    let base = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty())?;
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    let name = format!("shoprelay_scale_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&name);
    Some(url.to_string())
}

async fn drop_postgres(url: &str) {
    let base = std::env::var("DATABASE_URL").unwrap_or_default();
    let name = url::Url::parse(url).unwrap().path().trim_start_matches('/').to_owned();
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await;
}

/// Runs `f` five times and reports the median time, in ms.
async fn time<F, Fut, T>(label: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..5 {
        let started = Instant::now();
        out = Some(f().await);
        times.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    times.sort_by(f64::total_cmp);
    println!("  {label:<44} {:>9.2} ms", times[2]);
    out.unwrap()
}

fn filter(f: impl FnOnce(&mut AuditFilter)) -> AuditFilter {
    let mut filter = AuditFilter {
        limit: Some(50),
        ..AuditFilter::default()
    };
    f(&mut filter);
    filter
}

/// The plans of the audit page's statements, as the backend explains them.
async fn plans(url: &str) -> Vec<(String, String)> {
    let columns = "id, at, kind, outcome, app_id, platform, shop_id, order_sn, destination, attempt, http_status, errcode, latency_ms, detail";
    let statements = [
        (
            "first page",
            format!("SELECT {columns} FROM audit ORDER BY id DESC LIMIT 50"),
        ),
        (
            "shop, deep",
            format!("SELECT {columns} FROM audit WHERE shop_id = 100007 AND id < 1000 ORDER BY id DESC LIMIT 50"),
        ),
        (
            "outcome dead",
            format!("SELECT {columns} FROM audit WHERE outcome = 'dead' ORDER BY id DESC LIMIT 50"),
        ),
        (
            "destination",
            format!("SELECT {columns} FROM audit WHERE destination = 'robot:rare' ORDER BY id DESC LIMIT 50"),
        ),
        (
            "dashboard window",
            "SELECT COUNT(*) FROM audit WHERE kind = 'delivery' AND at >= 1796032800000 AND at < 1796119200000".into(),
        ),
        (
            "dashboard sums, an hour",
            "SELECT SUM(n) FROM dashboard_latency WHERE period >= 1796115600000 AND period < 1796119200000".into(),
        ),
        (
            "dashboard orders, a day",
            "SELECT COUNT(*) FROM dashboard_orders WHERE received_at >= 1796032800000 AND received_at < 1796119200000"
                .into(),
        ),
        (
            "entries not summed: unsealed",
            "SELECT COUNT(*) FROM audit WHERE seq IS NULL".into(),
        ),
        (
            "entries not summed: sealed after the mark",
            "SELECT COUNT(*) FROM audit WHERE seq > 999000".into(),
        ),
    ];
    let mut out = Vec::new();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for (label, sql) in statements {
            let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(&pool)
                .await
                .unwrap();
            out.push((
                label.to_owned(),
                rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; "),
            ));
        }
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for (label, sql) in statements {
            let rows: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN {sql}"))
                .fetch_all(&pool)
                .await
                .unwrap();
            out.push((
                label.to_owned(),
                rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join(" / "),
            ));
        }
    }
    out
}

async fn measure(url: &str, rows: i64) {
    let store = SqlStore::connect(url, secrets()).await.unwrap();
    println!("{} — {rows} audit rows", store.backend());
    let started = Instant::now();
    let head = format!("UPDATE audit_chain SET seq = {rows} WHERE id = 1");
    execute(url, &[&bulk_insert_sql(rows, END - WEEK, WEEK / rows, true), &head]).await;
    println!(
        "  {:<44} {:>9.2} s",
        "bulk insert (one INSERT … SELECT)",
        started.elapsed().as_secs_f64()
    );

    let s = &store;
    let first = time("audit page: first page (50)", || async {
        s.query_audit(&filter(|_| ())).await.unwrap()
    })
    .await;
    assert_eq!(first.len(), 50);
    let middle = first[0].id / 2;
    time("audit page: keyset page at the middle", || async {
        s.query_audit(&filter(|f| f.before_id = Some(middle))).await.unwrap()
    })
    .await;
    time("audit page: keyset page near the oldest", || async {
        s.query_audit(&filter(|f| f.before_id = Some(1_000))).await.unwrap()
    })
    .await;
    time("audit page: shop", || async {
        s.query_audit(&filter(|f| f.shop_id = Some(100_007))).await.unwrap()
    })
    .await;
    time("audit page: shop, deep keyset page", || async {
        s.query_audit(&filter(|f| {
            f.shop_id = Some(100_007);
            f.before_id = Some(1_000);
        }))
        .await
        .unwrap()
    })
    .await;
    let dead = time("audit page: outcome dead (0.1 %)", || async {
        s.query_audit(&filter(|f| f.outcome = Some(AuditOutcome::Dead)))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(dead.len(), 50);
    let rare = time("audit page: rare destination (10 rows)", || async {
        s.query_audit(&filter(|f| {
            f.destination = Some(Destination::parse("robot:rare").unwrap())
        }))
        .await
        .unwrap()
    })
    .await;
    assert_eq!(rare.len() as i64, rows / 100_000);
    time("audit page: order", || async {
        s.query_audit(&filter(|f| f.order_sn = Some("O1234".into())))
            .await
            .unwrap()
    })
    .await;
    time("audit page: kind delivery + last day", || async {
        s.query_audit(&filter(|f| {
            f.kind = Some(AuditKind::Delivery);
            f.from = Some(UnixMs::from_millis(END - 86_400_000));
        }))
        .await
        .unwrap()
    })
    .await;

    let started = Instant::now();
    let summed = s.roll_up_dashboard().await.unwrap();
    assert_eq!(summed, rows as u64);
    println!(
        "  {:<44} {:>9.2} s",
        "dashboard: first rollup of every entry",
        started.elapsed().as_secs_f64()
    );
    analyze(url).await;
    dashboard(s, "").await;

    // A thousand entries of the last 100 s that the sealer has not reached: read from the log.
    execute(url, &[&bulk_insert_sql(1_000, END - 99_900, 100, false)]).await;
    dashboard(s, "+1,000 unsealed: ").await;
    assert_eq!(s.seal_audit(5_000).await.unwrap(), 1_000);
    let started = Instant::now();
    assert_eq!(s.roll_up_dashboard().await.unwrap(), 1_000);
    println!(
        "  {:<44} {:>9.2} ms",
        "dashboard: rollup of 1,000 new entries",
        started.elapsed().as_secs_f64() * 1_000.0
    );

    for (label, plan) in plans(url).await {
        println!("  plan {label}: {plan}");
        // The first page walks the table itself newest first (SQLite's rowid order, PostgreSQL's primary
        // key); every filter must be read through an index.
        if label != "first page" {
            assert!(plan.to_lowercase().contains("index"), "{label} reads no index: {plan}");
        }
    }
    store.close().await;
}

/// Runs `statements` on a connection of its own, then refreshes the planners' statistics (what autovacuum
/// does soon after a bulk load; done here so the first plans see them).
async fn execute(url: &str, statements: &[&str]) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for sql in statements {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for sql in statements {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    }
    analyze(url).await;
}

async fn analyze(url: &str) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    }
}

/// Times each dashboard query over the last hour, day and week (`prefix` names the situation).
async fn dashboard(s: &SqlStore, prefix: &str) {
    for (label, span) in [("1 h", 3_600_000), ("24 h", 86_400_000), ("7 d", WEEK)] {
        let label = format!("{prefix}{label}");
        let w = Window {
            from: UnixMs::from_millis(END - span),
            to: UnixMs::from_millis(END + 1),
        };
        time(&format!("dashboard {label}: traffic per minute"), || async {
            s.traffic_per_minute(w).await.unwrap()
        })
        .await;
        time(&format!("dashboard {label}: latency p50/p95/p99"), || async {
            s.delivery_latency(w).await.unwrap()
        })
        .await;
        time(&format!("dashboard {label}: latency per shop"), || async {
            s.delivery_latency_by_shop(w).await.unwrap()
        })
        .await;
        time(&format!("dashboard {label}: failures by errcode"), || async {
            s.delivery_failures(w).await.unwrap()
        })
        .await;
        time(&format!("dashboard {label}: per shop"), || async {
            s.shop_traffic(w).await.unwrap()
        })
        .await;
        time(&format!("dashboard {label}: orders in WeCom in 30 s"), || async {
            s.orders_in_wecom_within(w, Duration::from_secs(30)).await.unwrap()
        })
        .await;
    }
}

#[tokio::test]
#[ignore = "a measurement: bulk-inserts a million rows (run with --ignored --nocapture)"]
async fn a_million_audit_rows() {
    let rows: i64 = std::env::var("AUDIT_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("scale.db").display());
    measure(&url, rows).await;
    if let Some(url) = postgres_url().await {
        measure(&url, rows).await;
        drop_postgres(&url).await;
    } else {
        println!("PostgreSQL skipped: DATABASE_URL is not set");
    }
}
