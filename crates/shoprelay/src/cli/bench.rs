//! `shoprelay bench`: throughput, latency and memory of the real server, in-process, against the
//! built-in simulators and load generator on loopback. Prints a table with each figure's target and
//! whether it was met; exits non-zero only when something failed, never because something was slow.
//!
//! # Layout
//! - this file: options, the sections in order, the table, [`percentile`].
//! - `ingest`: acknowledged pushes per second with the workers on (bare handler, SQLite, PostgreSQL; SQLite
//!   with the workers off as a diagnostic), the inbox's drain after the load, and ack latency.
//! - `delivery`: push → WeCom-simulator-accepted latency over many destinations, workers running.
//! - `fleet`: the delivery runs' simulators, configuration and authorized shops.
//! - `machine`: what `/proc` says — CPU model, RSS, CPU time per thread group.
//! - `backlog`: RSS with 10,000 shops and 1,000,000 queued deliveries; restart to first delivery.
//! - `overload`: 10,000 orders to one 200/min app (`--overload`, 2–3 minutes).
//! - `rules`: event × rule evaluations per second with 1,000 rules, one core.

mod backlog;
mod delivery;
mod fleet;
mod ingest;
mod machine;
mod overload;
mod rules;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use shoprelay_sim::load;

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// RSS of the process idle after start.
    Memory,
    /// Acknowledged pushes per second (closed loop), bare handler and stores, workers on.
    Ingest,
    /// Acknowledgement latency at a fixed rate (open loop), workers on.
    Latency,
    /// Push → WeCom-simulator-accepted latency, workers running.
    Delivery,
    /// RSS with 10,000 shops and 1,000,000 queued deliveries, then restart time to first delivery.
    Backlog,
    /// 10,000 orders to one WeCom app at 200/min: all visible via digests, never over budget. Only with
    /// `--overload` (it takes 2–3 minutes).
    Overload,
    /// Event × rule evaluations per second with 1,000 rules configured, one core.
    Rules,
}

/// `bench` options.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds each measured section runs.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// 2 seconds per section (a smoke run for CI); per-section durations still win.
    #[arg(long)]
    quick: bool,
    /// Seconds of the ingest throughput runs (each backend and the bare handler).
    #[arg(long)]
    ingest_duration: Option<f64>,
    /// Seconds of the ack latency runs.
    #[arg(long)]
    latency_duration: Option<f64>,
    /// Seconds of each delivery latency run.
    #[arg(long)]
    delivery_duration: Option<f64>,
    /// Concurrent keep-alive connections of the closed-loop ingest runs.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Pushes per second of the ack latency run.
    #[arg(long, default_value_t = 2000.0)]
    ack_rate: f64,
    /// Events per second of the delivery latency run (simulator limits raised).
    #[arg(long, default_value_t = 500.0)]
    delivery_rate: f64,
    /// Destinations (shops, each routed to its own group robot) of the delivery runs.
    #[arg(long, default_value_t = 100)]
    destinations: usize,
    /// PostgreSQL server to measure too, e.g. postgres://postgres@127.0.0.1:5432/postgres: a fresh
    /// database is created on it (with `psql`) and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    postgres: Option<String>,
    /// Worker threads of the load generator's own runtime (the server keeps the main runtime).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Deliveries queued in the backlog section (default 1,000,000; 10,000 with --quick).
    #[arg(long)]
    queued: Option<usize>,
    /// Run the overload section too (10,000 orders to one 200/min app; takes 2–3 minutes).
    #[arg(long)]
    overload: bool,
    /// Run only these sections (comma-separated); all by default (overload only with --overload).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Section>,
}

impl Args {
    fn secs(&self, specific: Option<f64>) -> Duration {
        let base = if self.quick { 2.0 } else { self.duration };
        Duration::from_secs_f64(specific.unwrap_or(base).max(0.1))
    }

    fn runs(&self, section: Section) -> bool {
        if section == Section::Overload && !self.overload {
            return false;
        }
        self.only.is_empty() || self.only.contains(&section)
    }
}

/// Whether a figure met its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Met,
    NotMet,
    /// No target: context for another figure.
    Info,
}

/// One line of the table.
struct Row {
    measure: String,
    value: String,
    target: String,
    verdict: Verdict,
}

/// What the sections add to: the table, notes under it, and failures.
#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
    errors: Vec<String>,
}

impl Report {
    fn info(&mut self, measure: impl Into<String>, value: impl Into<String>) {
        self.rows.push(Row {
            measure: measure.into(),
            value: value.into(),
            target: "—".into(),
            verdict: Verdict::Info,
        });
    }

    fn check(&mut self, measure: impl Into<String>, value: impl Into<String>, target: impl Into<String>, met: bool) {
        self.rows.push(Row {
            measure: measure.into(),
            value: value.into(),
            target: target.into(),
            verdict: if met { Verdict::Met } else { Verdict::NotMet },
        });
    }

    fn note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    fn fail(&mut self, section: &str, err: anyhow::Error) {
        self.errors.push(format!("{section}: {err:#}"));
    }

    fn render(&self) -> String {
        let mut out = String::from("| measure | value | target | result |\n|---|---:|---|---|\n");
        for r in &self.rows {
            let verdict = match r.verdict {
                Verdict::Met => "met",
                Verdict::NotMet => "not met",
                Verdict::Info => "",
            };
            let _ = writeln!(out, "| {} | {} | {} | {} |", r.measure, r.value, r.target, verdict);
        }
        out
    }
}

/// The load generator's own runtime, so its CPU time can be told apart from the server's, and a
/// keep-alive client whose connections live on it.
pub(crate) struct LoadRuntime {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl LoadRuntime {
    fn new(threads: usize) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name(machine::LOAD_THREAD)
            .enable_all()
            .build()
            .context("cannot start the load generator's runtime")?;
        let client = load::client(Duration::from_secs(30)).context("cannot build the HTTP client")?;
        Ok(Self { rt, client })
    }

    /// Runs `work` on the load generator's threads and waits for it.
    pub(crate) async fn run<F>(&self, work: F) -> Result<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(work).await.context("a load generator task panicked")
    }

    /// The shared keep-alive client (cheap to clone; clones share the connection pool).
    pub(crate) fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    fn stop(self) {
        // Dropping a runtime from async code would block; let its threads wind down on their own.
        self.rt.shutdown_background();
    }
}

/// The nearest-rank percentile of `sorted` (ascending): the smallest value with at least `q` (0–1) of
/// all values at or below it. `None` when there are no values.
pub fn percentile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Milliseconds with two decimals.
fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A rate with thousands separators, e.g. `12,345/s`.
fn per_sec(rate: f64) -> String {
    let whole = rate.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out + "/s"
}

fn header(args: &Args) -> String {
    let command: Vec<String> = std::env::args().collect();
    let mut out = String::new();
    let _ = writeln!(out, "shoprelay bench {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "command:  {}", command.join(" "));
    let _ = writeln!(out, "machine:  {}", machine::describe());
    let _ = writeln!(
        out,
        "method:   server, simulators and load generator in one process on loopback; HTTP/1.1 keep-alive \
         (reqwest); load generator on its own runtime ({} thread{}), server on the main runtime",
        args.client_threads,
        if args.client_threads == 1 { "" } else { "s" }
    );
    if cfg!(debug_assertions) {
        let _ = writeln!(out, "WARNING:  debug build — run with --release for meaningful figures");
    }
    out
}

/// Runs the benchmark and prints the table.
pub async fn run(args: Args) -> Result<ExitCode> {
    print!("{}", header(&args));
    println!("running… (each section prints a line as it finishes)\n");
    let mut report = Report::default();
    // Other work on the machine (a build, another bench) skews every figure: say so up front.
    let quiet = machine::CpuSample::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy = machine::CpuSample::now().machine_busy_since(&quiet);
    if let Some(busy) = busy {
        let warning = if busy > 0.2 {
            " — other work is running, figures will be low"
        } else {
            ""
        };
        println!("machine busy before the run: {:.0} %{warning}", busy * 100.0);
        report.note(format!(
            "machine busy before the run (other processes): {:.0} %{warning}",
            busy * 100.0
        ));
    }
    let load = LoadRuntime::new(args.client_threads)?;
    let postgres = args.postgres.clone().filter(|u| !u.trim().is_empty());
    let postgres = match postgres {
        Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => Some(url),
        Some(_) => {
            report.note("--postgres / DATABASE_URL is not a postgres:// URL; PostgreSQL not measured");
            None
        }
        None => None,
    };

    if args.runs(Section::Memory) {
        if let Err(e) = ingest::memory(&mut report).await {
            report.fail("memory", e);
        }
    }
    if args.runs(Section::Rules) {
        if let Err(e) = rules::run(args.secs(None).min(Duration::from_secs(3)), &mut report).await {
            report.fail("rules", e);
        }
    }
    if args.runs(Section::Ingest) {
        ingest::throughput(&load, &args, postgres.as_deref(), &mut report).await;
    }
    if args.runs(Section::Latency) {
        ingest::latency(&load, &args, postgres.as_deref(), &mut report).await;
    }
    if args.runs(Section::Delivery) {
        delivery::latency(&load, &args, &mut report).await;
    }
    if args.runs(Section::Overload) {
        if let Err(e) = overload::overload(&load, &mut report).await {
            report.fail("overload", e);
        }
    }
    // Last: a restart whose delivery claim is still running is left behind.
    if args.runs(Section::Backlog) {
        if let Err(e) = backlog::run(&args, &mut report).await {
            report.fail("backlog", e);
        }
    }
    load.stop();

    if let Some(peak) = machine::status_kb("VmHWM") {
        report.note(format!(
            "peak RSS of the whole bench process (VmHWM): {:.1} MB",
            peak as f64 / 1024.0
        ));
    }
    println!("\n{}", report.render());
    for note in &report.notes {
        println!("- {note}");
    }
    if report.errors.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    for e in &report.errors {
        eprintln!("错误 error: {e}");
    }
    Ok(ExitCode::FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 0.999), Some(100));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile::<u32>(&[], 0.5), None);
        let few = [1, 2, 3, 4];
        assert_eq!(percentile(&few, 0.5), Some(2));
        assert_eq!(percentile(&few, 0.51), Some(3));
    }

    #[test]
    fn rates_have_thousands_separators() {
        assert_eq!(per_sec(12345.4), "12,345/s");
        assert_eq!(per_sec(999.0), "999/s");
        assert_eq!(per_sec(1_000_000.0), "1,000,000/s");
    }
}
