//! The acknowledgement path: idle memory, pushes acknowledged per second (closed loop) on a bare axum
//! handler, SQLite and PostgreSQL, and ack latency at a fixed rate (open loop). The headline runs have the
//! workers on, as users run it: every acknowledged push is also read, enriched (the bench shop never
//! authorized, so the marketplace call fails fast and the events go out without details), routed and
//! closed by the inbox worker, sharing the one writer with the acknowledgements. After the load the run
//! waits for the inbox to drain and reports how long that took. A workers-off run (verify → group commit
//! → 200 and nothing else) stays as a diagnostic row.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_core::secret::SecretBox;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_sim::load::{self, LoadReport, PushMaker};
use tokio::net::TcpListener;

use super::machine::{self, CpuSample};
use super::{ms, per_sec, percentile, Args, LoadRuntime, Report};
use crate::server::{redact, start, Running, StartOptions};

/// The Shopee app pushes arrive for.
const APP: &str = "bench";
/// The shop the pushes are for.
const SHOP: u64 = 727720655;
/// The app's partner key (pushes are signed with it).
const PARTNER_KEY: &str = "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f";

/// Target of ingest on SQLite, pushes per second.
const INGEST_TARGET: f64 = 10_000.0;
/// Target share of the bare handler's throughput.
const RATIO_TARGET: f64 = 0.5;
/// Target p99 of the acknowledgement, milliseconds.
const ACK_P99_TARGET_MS: f64 = 5.0;
/// Target idle RSS, MB.
const RSS_TARGET_MB: f64 = 60.0;
/// Target: the inbox's backlog gone this long after the load ends.
const DRAIN_TARGET: Duration = Duration::from_secs(10);
/// Give up waiting for the inbox to drain after this long.
const DRAIN_GIVE_UP: Duration = Duration::from_secs(120);

fn config_toml(base: &str) -> String {
    format!(
        r#"
[server]
public_url = "{base}"

[[shopee.apps]]
id = "{APP}"
partner_id = 2001887
partner_key = "{PARTNER_KEY}"
api_base = "http://127.0.0.1:9"

[[shopee.shops]]
app = "{APP}"
shop_id = {SHOP}
name = "Bench Shop"
region = "SG"
"#
    )
}

/// Where a bench server keeps its data; removed when dropped (PostgreSQL: explicitly, see [`Scratch::remove`]).
pub(super) enum Scratch {
    /// A temporary folder holding the SQLite file.
    Sqlite(tempfile::TempDir),
    /// A database created for the run.
    Postgres(PgScratch),
}

impl Scratch {
    /// A fresh database of the kind `postgres` asks for (SQLite when `None`), and its URL.
    pub(super) fn create(postgres: Option<&str>) -> Result<(Self, String)> {
        match postgres {
            None => {
                let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Ok((Scratch::Sqlite(dir), url))
            }
            Some(base) => {
                let pg = PgScratch::create(base)?;
                let url = pg.url.clone();
                Ok((Scratch::Postgres(pg), url))
            }
        }
    }

    /// Removes the data (the server using it must be stopped).
    pub(super) fn remove(self) -> Result<()> {
        match self {
            Scratch::Sqlite(dir) => dir.close().context("cannot remove the temporary folder"),
            Scratch::Postgres(mut pg) => pg.drop_database(),
        }
    }
}

/// A PostgreSQL database created for one run with `psql` (this crate does not link an SQL client of its own).
pub(super) struct PgScratch {
    admin_url: String,
    name: String,
    url: String,
    dropped: bool,
}

impl PgScratch {
    fn create(base: &str) -> Result<Self> {
        let name = format!(
            "shoprelay_bench_{}_{}",
            std::process::id(),
            SystemClock.now().as_millis()
        );
        let mut url = url::Url::parse(base).with_context(|| format!("`{}` is not a database URL", redact(base)))?;
        psql(base, &format!("CREATE DATABASE {name}"))?;
        url.set_path(&name);
        Ok(Self {
            admin_url: base.to_owned(),
            name,
            url: url.to_string(),
            dropped: false,
        })
    }

    fn drop_database(&mut self) -> Result<()> {
        self.dropped = true;
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        // A run that failed before removing its database still leaves none behind.
        if !self.dropped {
            if let Err(e) = self.drop_database() {
                tracing::warn!(error = %e, database = %self.name, "could not drop the bench database");
            }
        }
    }
}

fn psql(url: &str, sql: &str) -> Result<()> {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .context("cannot run `psql` (needed to create and drop the bench's PostgreSQL database)")?;
    if !out.status.success() {
        bail!(
            "psql on {} failed for `{sql}`: {}",
            redact(url),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A server started for the acknowledgement runs.
pub(super) struct BenchServer {
    pub(super) server: Running,
    pub(super) maker: Arc<PushMaker>,
    scratch: Scratch,
    database: String,
    secrets: SecretBox,
}

impl BenchServer {
    /// Starts shoprelay on a fresh database with one Shopee app and shop configured.
    pub(super) async fn start(postgres: Option<&str>, workers: bool) -> Result<Self> {
        let (scratch, database) = Scratch::create(postgres)?;
        let secrets = SecretBox::from_base64(&SecretBox::generate_key())?;
        let (server, maker) = Self::serve(&database, &secrets, workers).await?;
        Ok(Self {
            server,
            maker,
            scratch,
            database,
            secrets,
        })
    }

    /// Starts shoprelay on `database` and configures the app and shop.
    async fn serve(database: &str, secrets: &SecretBox, workers: bool) -> Result<(Running, Arc<PushMaker>)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let mut options = StartOptions::new(database.to_owned(), secrets.clone());
        options.workers = workers;
        let server = start(listener, options).await?;
        let file = parse_config(&config_toml(&base))?;
        let objects = Registry::from_file(&file).to_objects(secrets)?;
        server
            .engine
            .store()
            .apply_config(&objects, server.engine.clock.now())
            .await?;
        server.engine.reload_config().await?;
        let maker = Arc::new(PushMaker::new(format!("{base}/push/shopee/{APP}"), PARTNER_KEY, SHOP));
        Ok((server, maker))
    }

    /// Stops the server and starts it again on the same database, with the workers on.
    async fn restart_with_workers(self) -> Result<Self> {
        self.server.stop().await?;
        let (server, maker) = Self::serve(&self.database, &self.secrets, true).await?;
        Ok(Self { server, maker, ..self })
    }

    async fn stop(self) -> Result<()> {
        self.server.stop().await?;
        self.scratch.remove()
    }
}

/// Memory: RSS once the server has started (SQLite, workers on) and sat idle for a second.
pub(super) async fn memory(report: &mut Report) -> Result<()> {
    let before = machine::status_kb("VmRSS");
    let server = BenchServer::start(None, true).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = machine::status_kb("VmRSS").context("cannot read VmRSS from /proc/self/status")?;
    server.stop().await?;
    let mb = idle as f64 / 1024.0;
    report.check(
        "memory: RSS idle after start (SQLite, workers on, nothing queued)",
        format!("{mb:.1} MB"),
        format!("≤ {RSS_TARGET_MB:.0} MB"),
        mb <= RSS_TARGET_MB,
    );
    if let Some(kb) = before {
        report.note(format!(
            "memory: the bench process before starting the server: {:.1} MB (runtime, load generator, no server)",
            kb as f64 / 1024.0
        ));
    }
    println!("  memory: idle RSS {mb:.1} MB");
    Ok(())
}

/// Sums and counts of the server's own histograms, read from its Prometheus recorder.
#[derive(Default, Clone, Copy)]
struct ServerCounters {
    batch_sum: f64,
    batch_count: f64,
    ack_sum: f64,
    ack_count: f64,
    /// Uses of SQLite's one write connection, by anyone (group commits, claims, seals, …), and their time.
    holds_count: f64,
    holds_sum: f64,
    /// Bytes the process sent toward storage (see [`machine::storage_written_bytes`]).
    written: Option<u64>,
    /// Connections the server refused at the cap on one source address's connections, and at its own.
    refused_by_source: f64,
    refused_by_server: f64,
}

impl ServerCounters {
    fn now() -> Self {
        let text = shoprelay_http::ops::metrics_handle().render();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Self {
            batch_sum: value("shoprelay_ingest_batch_size_sum"),
            batch_count: value("shoprelay_ingest_batch_size_count"),
            ack_sum: value("shoprelay_push_ack_seconds_sum"),
            ack_count: value("shoprelay_push_ack_seconds_count"),
            holds_count: value("shoprelay_write_hold_seconds_count"),
            holds_sum: value("shoprelay_write_hold_seconds_sum"),
            written: machine::storage_written_bytes(),
            refused_by_source: value(r#"shoprelay_http_connections_refused_total{cap="source"}"#),
            refused_by_server: value(r#"shoprelay_http_connections_refused_total{cap="server"}"#),
        }
    }

    /// "N commits of M pushes on average; handler time X ms on average" since `earlier`.
    fn since(&self, earlier: &Self) -> String {
        let commits = self.batch_count - earlier.batch_count;
        let pushes = self.batch_sum - earlier.batch_sum;
        let acks = self.ack_count - earlier.ack_count;
        let ack_mean = if acks > 0.0 {
            (self.ack_sum - earlier.ack_sum) / acks * 1000.0
        } else {
            0.0
        };
        let per_commit = if commits > 0.0 { pushes / commits } else { 0.0 };
        // Counted, not timed: what a change to who takes the write connection did, whatever the machine's
        // speed that day.
        let holds = self.holds_count - earlier.holds_count;
        let write_connection = if holds > 0.0 && pushes > 0.0 {
            let held = self.holds_sum - earlier.holds_sum;
            format!(
                "; SQLite's write connection taken {holds:.0} times ({:.1} per 1,000 pushes), held {held:.2} s in \
                 all ({:.0} µs per push)",
                holds / pushes * 1000.0,
                held / pushes * 1e6
            )
        } else {
            String::new()
        };
        // Also counted: what each push (and the work it caused) made SQLite write. (PostgreSQL writes in
        // a process of its own.)
        let written = match (self.written, earlier.written) {
            (Some(now), Some(then)) if holds > 0.0 && pushes > 0.0 => format!(
                "; {:.1} KB per push sent toward the disk (WAL, checkpoints)",
                now.saturating_sub(then) as f64 / pushes / 1024.0
            ),
            _ => String::new(),
        };
        // A load generator that opens a connection per unanswered request meets the server's caps when
        // answers stall; its failed pushes are then the server's refusals, not lost ones.
        let (by_source, by_server) = (
            self.refused_by_source - earlier.refused_by_source,
            self.refused_by_server - earlier.refused_by_server,
        );
        let refused = if by_source + by_server > 0.0 {
            format!(
                "; connections refused: {by_source:.0} at the cap per source address, {by_server:.0} at the \
                 server's cap"
            )
        } else {
            String::new()
        };
        format!(
            "group commit: {commits:.0} transactions, {per_commit:.1} pushes each on average; \
             handler time (shoprelay_push_ack_seconds) {ack_mean:.2} ms on average{write_connection}{written}{refused}"
        )
    }
}

/// Where the writer's time went, from the server's summaries (a rolling window of about a minute, so
/// read right after a run): each push's wait for a commit to take it, then each group commit's phases —
/// waiting for the write connection, the statements, the commit (fsync, and on SQLite any checkpoint) —
/// and how long each use of SQLite's one write connection held it, the group commits' and everyone else's.
fn write_phases() -> String {
    let text = shoprelay_http::ops::metrics_handle().render();
    let quantile = |series: &str, q: &str| {
        let wanted = if series.ends_with('}') {
            format!("{},quantile=\"{q}\"}} ", series.trim_end_matches('}'))
        } else {
            format!("{series}{{quantile=\"{q}\"}} ")
        };
        text.lines()
            .find_map(|l| l.strip_prefix(wanted.as_str())?.trim().parse::<f64>().ok())
            .map_or_else(|| "—".to_owned(), |s| format!("{:.2}", s * 1000.0))
    };
    let parts: Vec<String> = [
        ("push queued for a commit", "shoprelay_ack_queue_seconds"),
        ("begin", "shoprelay_write_phase_seconds{phase=\"begin\"}"),
        ("statements", "shoprelay_write_phase_seconds{phase=\"statements\"}"),
        ("commit", "shoprelay_write_phase_seconds{phase=\"commit\"}"),
        (
            "write connection held (SQLite, by anyone)",
            "shoprelay_write_hold_seconds",
        ),
    ]
    .iter()
    .map(|(what, series)| {
        format!(
            "{what} {} / {} / {} ms",
            quantile(series, "0.5"),
            quantile(series, "0.99"),
            quantile(series, "1")
        )
    })
    .collect();
    format!("writer p50 / p99 / max: {}", parts.join(", "))
}

/// A closed-loop run: a warm-up, then the measured part with CPU and server counters around it.
async fn closed_run(load: &LoadRuntime, maker: &Arc<PushMaker>, args: &Args) -> Result<(LoadReport, String)> {
    let duration = args.secs(args.ingest_duration);
    let warmup = duration.mul_f64(0.2).min(Duration::from_secs(1));
    let make = {
        let maker = maker.clone();
        Arc::new(move || maker.next())
    };
    let url = maker.url().to_owned();
    let warm = load::closed_loop(load.client(), url.clone(), args.connections, warmup, make.clone());
    load.run(warm).await?;
    let (cpu, counters) = (CpuSample::now(), ServerCounters::now());
    let run = load::closed_loop(load.client(), url, args.connections, duration, make);
    let result = load.run(run).await?;
    let detail = format!(
        "{}; {}",
        CpuSample::now().since(&cpu),
        ServerCounters::now().since(&counters)
    );
    Ok((result, detail))
}

/// Client-side latency percentiles of a run, for the notes.
fn latency_summary(result: &LoadReport) -> String {
    let mut sorted = result.latencies.clone();
    sorted.sort_unstable();
    let p = |q| percentile(&sorted, q).map_or_else(|| "—".to_owned(), ms);
    format!("latency p50 {} · p99 {} · p99.9 {}", p(0.5), p(0.99), p(0.999))
}

/// Requests slower than `threshold`, grouped into stalls: a slow request sent while an earlier slow one
/// was still waiting joins its stall. Many slow requests in few stalls point at pauses (a checkpoint, a
/// long fsync, a descheduled thread) rather than at a path that is slow throughout.
fn stalls(result: &LoadReport, threshold: Duration) -> String {
    let mut slow: Vec<(Duration, Duration)> = result
        .sent_at
        .iter()
        .zip(&result.latencies)
        .filter(|(_, latency)| **latency > threshold)
        .map(|(sent, latency)| (*sent, *sent + *latency))
        .collect();
    slow.sort_unstable();
    let mut groups = 0;
    let mut open_until: Option<Duration> = None;
    for (sent, done) in &slow {
        match open_until {
            Some(until) if *sent <= until => open_until = Some(until.max(*done)),
            _ => {
                groups += 1;
                open_until = Some(*done);
            }
        }
    }
    let share = slow.len() as f64 / result.latencies.len().max(1) as f64 * 100.0;
    format!(
        "{} acks over {} ({share:.1} %) in {groups} stall(s)",
        slow.len(),
        ms(threshold)
    )
}

fn failures(result: &LoadReport) -> Result<()> {
    if result.failed > 0 {
        bail!(
            "{} of {} pushes failed; first: {}",
            result.failed,
            result.failed + result.ok,
            result.first_failure.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}

/// The bare handler's throughput under the same load.
async fn bare(load: &LoadRuntime, args: &Args, report: &mut Report) -> Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/push/shopee/{APP}", listener.local_addr()?);
    let task = load::serve_bare(listener);
    let maker = Arc::new(PushMaker::new(url, PARTNER_KEY, SHOP));
    let outcome = closed_run(load, &maker, args).await;
    task.abort();
    let (result, detail) = outcome?;
    failures(&result)?;
    let rate = result.throughput();
    report.info(
        format!(
            "ingest: bare axum handler → 200 ({} connections, {:.0} s)",
            args.connections,
            args.secs(args.ingest_duration).as_secs_f64()
        ),
        per_sec(rate),
    );
    report.note(format!("bare handler: {}; {detail}", latency_summary(&result)));
    println!("  ingest: bare handler {}", per_sec(rate));
    Ok(rate)
}

/// One store's throughput with the workers on or off, and (on) its ratio to the bare handler's and the
/// time the inbox took to drain after the load.
async fn store(
    load: &LoadRuntime,
    args: &Args,
    postgres: Option<&str>,
    workers: bool,
    bare: Option<f64>,
    report: &mut Report,
) -> Result<()> {
    let name = if postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    let mut server = BenchServer::start(postgres, workers).await?;
    let outcome = closed_run(load, &server.maker, args).await;
    let drained = match (&outcome, workers) {
        (Ok(_), true) => Some(drain(&server).await),
        _ => None,
    };
    // The workers-off run leaves every push it stored waiting: the workers then start on that backlog,
    // which shows how fast the inbox works through one.
    let backlog = match (&outcome, workers) {
        (Ok(_), false) => {
            server = server.restart_with_workers().await?;
            let waiting = server.server.engine.store().queue_depths().await?.inbox_pending;
            Some((waiting, drain(&server).await))
        }
        _ => None,
    };
    server.stop().await?;
    let (result, detail) = outcome?;
    failures(&result)?;
    let rate = result.throughput();
    let mode = if workers {
        "workers on"
    } else {
        "workers off (diagnostic)"
    };
    let label = format!(
        "ingest: verified pushes acked/s, {name}, {mode} ({} connections, {:.0} s)",
        args.connections,
        args.secs(args.ingest_duration).as_secs_f64()
    );
    if postgres.is_none() && workers {
        report.check(label, per_sec(rate), "≥ 10,000/s", rate >= INGEST_TARGET);
    } else {
        report.info(label, per_sec(rate));
    }
    if let Some(bare) = bare.filter(|b| *b > 0.0 && workers) {
        let ratio = rate / bare;
        let what = format!("ingest: {name}, workers on ÷ bare handler");
        if postgres.is_none() {
            report.check(what, format!("{:.0} %", ratio * 100.0), "≥ 50 %", ratio >= RATIO_TARGET);
        } else {
            report.info(what, format!("{:.0} %", ratio * 100.0));
        }
    }
    if let Some(drained) = drained {
        let after = drained?;
        let total = result.elapsed + after;
        report.check(
            format!("ingest: {name}, inbox backlog gone after the load ended"),
            format!("{:.1} s", after.as_secs_f64()),
            format!("≤ {} s", DRAIN_TARGET.as_secs()),
            after <= DRAIN_TARGET,
        );
        // The warm-up's pushes were processed too, so this is a lower bound.
        report.note(format!(
            "{name} inbox: the run's {} pushes were all processed {:.1} s after its start: at least {} processed \
             on average, while acknowledging {}",
            result.ok,
            total.as_secs_f64(),
            per_sec(result.ok as f64 / total.as_secs_f64().max(0.001)),
            per_sec(rate),
        ));
    }
    if let Some((waiting, took)) = backlog {
        let took = took?;
        report.info(
            format!("ingest: {name}, a backlog of {waiting} pushes (the workers-off run's) processed once the workers start"),
            format!(
                "{} ({:.1} s)",
                per_sec(waiting as f64 / took.as_secs_f64().max(0.001)),
                took.as_secs_f64()
            ),
        );
    }
    report.note(format!("{name} ingest, {mode}: {}; {detail}", latency_summary(&result)));
    println!("  ingest: {name}, {mode} {}", per_sec(rate));
    Ok(())
}

/// Waits until the inbox holds nothing pending; returns how long that took.
async fn drain(server: &BenchServer) -> Result<Duration> {
    let started = tokio::time::Instant::now();
    loop {
        let depths = server.server.engine.store().queue_depths().await?;
        if depths.inbox_pending == 0 {
            break;
        }
        if started.elapsed() > DRAIN_GIVE_UP {
            bail!(
                "{} pushes still in the inbox {} s after the load ended",
                depths.inbox_pending,
                DRAIN_GIVE_UP.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(started.elapsed())
}

/// Section 1: the bare handler, SQLite with the workers on (the headline) and off (a diagnostic), and
/// (when given) PostgreSQL with the workers on, under the same closed-loop load.
pub(super) async fn throughput(load: &LoadRuntime, args: &Args, postgres: Option<&str>, report: &mut Report) {
    let bare_rate = match bare(load, args, report).await {
        Ok(rate) => Some(rate),
        Err(e) => {
            report.fail("ingest (bare handler)", e);
            None
        }
    };
    if let Err(e) = store(load, args, None, true, bare_rate, report).await {
        report.fail("ingest (SQLite, workers on)", e);
    }
    if let Err(e) = store(load, args, None, false, bare_rate, report).await {
        report.fail("ingest (SQLite, workers off)", e);
    }
    match postgres {
        Some(pg) => {
            if let Err(e) = store(load, args, Some(pg), true, bare_rate, report).await {
                report.fail("ingest (PostgreSQL)", e);
            }
        }
        None => report.note("PostgreSQL not measured: give --postgres URL or DATABASE_URL"),
    }
}

/// One store's ack latency at a fixed rate.
async fn latency_on(load: &LoadRuntime, args: &Args, postgres: Option<&str>, report: &mut Report) -> Result<()> {
    let name = if postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    let duration = args.secs(args.latency_duration);
    let rate = args.ack_rate;
    // Workers on: the inbox enriches and routes the same pushes while they are acknowledged.
    let server = BenchServer::start(postgres, true).await?;
    let make = {
        let maker = server.maker.clone();
        Arc::new(move || maker.next())
    };
    let url = server.maker.url().to_owned();
    let warmup = load::open_loop(
        load.client(),
        url.clone(),
        rate,
        Duration::from_millis(500),
        make.clone(),
    );
    let outcome = async {
        load.run(warmup).await?;
        let (cpu, counters) = (CpuSample::now(), ServerCounters::now());
        let run = load::open_loop(load.client(), url, rate, duration, make);
        let result = load.run(run).await?;
        let detail = format!(
            "{}; {}; {}",
            CpuSample::now().since(&cpu),
            ServerCounters::now().since(&counters),
            write_phases()
        );
        Ok::<_, anyhow::Error>((result, detail))
    }
    .await;
    server.stop().await?;
    let (result, detail) = outcome?;
    // What the server counted (refused connections among it) says why pushes failed.
    failures(&result).map_err(|e| anyhow::anyhow!("{e:#}; {detail}"))?;
    let mut sorted = result.latencies.clone();
    sorted.sort_unstable();
    let p = |q| percentile(&sorted, q).unwrap_or_default();
    let what = format!("ack latency @ {}, {name}, workers on", per_sec(rate));
    report.info(format!("{what}: p50"), ms(p(0.5)));
    let p99 = p(0.99);
    report.check(
        format!("{what}: p99"),
        ms(p99),
        format!("≤ {ACK_P99_TARGET_MS:.0} ms"),
        p99.as_secs_f64() * 1000.0 <= ACK_P99_TARGET_MS,
    );
    report.info(format!("{what}: p99.9"), ms(p(0.999)));
    report.note(format!(
        "{name} ack latency: {} pushes in {:.1} s (open loop, timed from each request's actual send), max {}, \
         largest send delay behind schedule {}; {}; {detail}",
        result.ok,
        result.elapsed.as_secs_f64(),
        ms(sorted.last().copied().unwrap_or_default()),
        ms(result.max_send_lag),
        stalls(&result, Duration::from_secs_f64(ACK_P99_TARGET_MS / 1000.0))
    ));
    println!("  latency: {name} p99 {}", ms(p99));
    Ok(())
}

/// Section 2: ack latency on SQLite and (when given) PostgreSQL.
pub(super) async fn latency(load: &LoadRuntime, args: &Args, postgres: Option<&str>, report: &mut Report) {
    if let Err(e) = latency_on(load, args, None, report).await {
        report.fail("ack latency (SQLite)", e);
    }
    if let Some(pg) = postgres {
        if let Err(e) = latency_on(load, args, Some(pg), report).await {
            report.fail("ack latency (PostgreSQL)", e);
        }
    }
}
