//! `shoprelay audit`: the audit log, read straight from the database (works while the server is down):
//! listed, exported as CSV, or its hash chain verified.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;
use shoprelay_core::error::UserFacing;
use shoprelay_core::event::Platform;
use shoprelay_engine::service::audit::known_platform;
use shoprelay_store::chain::{verify_stored, ChainBreak, Verdict};
use shoprelay_store::{AuditFilter, AuditKind, AuditLog, AuditOutcome, SqlStore};

use crate::settings::{load_file, master_key, server_settings};

/// `audit` options.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// `verify`: check the hash chain instead of listing.
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// Configuration file (for the database URL).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Only this shop.
    #[arg(long)]
    shop: Option<i64>,
    /// Only this order.
    #[arg(long)]
    order: Option<String>,
    /// Only this outcome (accepted, duplicate, rejected, processed, delivered, retry, dead, …).
    #[arg(long, value_parser = parse_outcome)]
    outcome: Option<AuditOutcome>,
    /// Only deliveries to this destination (wecom_app:ID, robot:ID, appchat:APP:CHATID, webhook:ID).
    #[arg(long, value_parser = parse_destination)]
    destination: Option<Destination>,
    /// Only entries about apps of this marketplace (shopee, lazada, tiktok).
    #[arg(long, value_parser = parse_platform)]
    platform: Option<Platform>,
    /// Only pushes, deliveries, auth events or privacy actions (buyers forgotten, keys rotated).
    #[arg(long, value_parser = ["push", "delivery", "auth", "privacy", "callback", "chat"])]
    kind: Option<String>,
    /// From this time (RFC 3339, e.g. 2026-11-26T00:00:00Z).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Until this time (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,
    /// At most this many rows (default 50; a CSV export has no limit unless given).
    #[arg(long)]
    limit: Option<i64>,
    /// Print JSON lines instead of a table.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Export every matching entry as CSV (newest first) to standard output.
    #[arg(long)]
    csv: bool,
}

/// `audit` subcommands.
#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Checks that no sealed entry was changed, removed or re-ordered; reports the first broken link.
    Verify {
        /// Configuration file (for the database URL).
        #[arg(short = 'c', long = "config")]
        config: Option<PathBuf>,
    },
}

fn parse_outcome(raw: &str) -> Result<AuditOutcome, String> {
    AuditOutcome::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = AuditOutcome::ALL.iter().map(|o| o.as_str()).collect();
        format!("未知的结果 unknown outcome `{raw}`: {}", names.join(", "))
    })
}

fn parse_destination(raw: &str) -> Result<Destination, String> {
    Destination::parse(raw).map_err(|e| format!("目标无法识别 unreadable destination: {e}"))
}

fn parse_platform(raw: &str) -> Result<Platform, String> {
    known_platform(raw).map_err(|e| format!("{} · {}", e.message_zh(), e.message_en()))
}

/// Rows read per page of an export or a verification.
const PAGE: i64 = 1_000;

/// Prints matching entries, newest first; or exports them; or verifies the chain.
pub async fn run(args: Args) -> Result<ExitCode> {
    if let Some(AuditCommand::Verify { config }) = args.command {
        return verify(config).await;
    }
    let server = server_settings(&load_file(args.config.as_deref())?);
    let store = SqlStore::connect(&server.database, master_key(&server.database)?).await?;
    let mut filter = AuditFilter {
        kind: args.kind.as_deref().map(|k| match k {
            "push" => AuditKind::Push,
            "delivery" => AuditKind::Delivery,
            "privacy" => AuditKind::Privacy,
            "callback" => AuditKind::Callback,
            "chat" => AuditKind::Chat,
            _ => AuditKind::Auth,
        }),
        platform: args.platform,
        shop_id: args.shop,
        order_sn: args.order,
        outcome: args.outcome,
        destination: args.destination,
        from: args.since.map(|t| UnixMs::from_millis(t.timestamp_millis())),
        to: args.until.map(|t| UnixMs::from_millis(t.timestamp_millis())),
        before_id: None,
        limit: Some(args.limit.unwrap_or(50)),
    };
    if args.csv {
        let result = export_csv(&store, &mut filter, args.limit).await;
        store.close().await;
        return result;
    }
    let entries = store.query_audit(&filter).await?;
    if args.json {
        for e in &entries {
            println!("{}", serde_json::to_string(e)?);
        }
    } else {
        println!(
            "{:<20} {:<8} {:<12} {:<11} {:<16} {:<18} {:>4} {:>7} {:>6}  detail",
            "time (UTC)", "kind", "outcome", "shop", "order", "destination", "try", "errcode", "ms"
        );
        for e in &entries {
            let at = DateTime::<Utc>::from_timestamp_millis(e.at.as_millis())
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
            println!(
                "{:<20} {:<8} {:<12} {:<11} {:<16} {:<18} {:>4} {:>7} {:>6}  {}",
                at,
                e.kind.as_str(),
                e.outcome,
                opt(e.shop_id),
                e.order_sn.as_deref().unwrap_or("-"),
                e.destination
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), ToString::to_string),
                opt(e.attempt),
                opt(e.errcode),
                opt(e.latency_ms),
                e.detail
            );
        }
        println!("{} 条 entries", entries.len());
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Writes every matching entry as CSV, a page at a time (the audit log may hold millions of rows), with
/// progress on standard error.
async fn export_csv(store: &SqlStore, filter: &mut AuditFilter, limit: Option<i64>) -> Result<ExitCode> {
    let mut left = limit.unwrap_or(i64::MAX);
    let mut written = 0u64;
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_message("exporting · 导出中");
    let stdout = std::io::stdout();
    loop {
        filter.limit = Some(left.min(PAGE));
        let page = store.query_audit(filter).await?;
        shoprelay_engine::audit_export::write_csv(&page, written == 0, stdout.lock())?;
        written += page.len() as u64;
        left -= page.len() as i64;
        progress.set_position(written);
        match page.last() {
            Some(last) if page.len() as i64 == PAGE && left > 0 => filter.before_id = Some(last.id),
            _ => break,
        }
    }
    progress.finish_and_clear();
    eprintln!("{written} 条 entries exported");
    Ok(ExitCode::SUCCESS)
}

/// Walks the whole chain; exit 1 with the first broken link, 0 when intact.
async fn verify(config: Option<PathBuf>) -> Result<ExitCode> {
    let server = server_settings(&load_file(config.as_deref())?);
    let store = SqlStore::connect(&server.database, master_key(&server.database)?).await?;
    // Entries written since the server's last seal are sealed first, so the walk covers them too.
    let sealed = store.seal_audit(i64::MAX).await?;
    let total = store.audit_chain_head().await?;
    let progress = indicatif::ProgressBar::new((total.seq - total.base_seq + 1).max(0) as u64);
    let verdict = verify_stored(&store, |checked| progress.set_position(checked)).await;
    progress.finish_and_clear();
    store.close().await;
    let Verdict { head, checked, broken } = verdict?;
    match broken {
        None => {
            println!(
                "审计链完整 · audit chain intact: {checked} entries (seq {}–{}), {sealed} newly sealed",
                head.base_seq, head.seq
            );
            println!(
                "链头 · head: seq {} hash {} — 请另行保存以便日后核对 · keep it elsewhere to check later",
                head.seq, head.hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(ChainBreak::Altered { seq, audit_id }) => {
            println!(
                "审计链在 seq {seq}（审计记录 id {audit_id}）处断开：该记录或其之前的记录被修改 · \
                 audit chain broken at seq {seq} (audit id {audit_id}): that entry was changed ({checked} entries intact before it)"
            );
            Ok(ExitCode::FAILURE)
        }
        Some(ChainBreak::Missing { seq }) => {
            println!(
                "审计链在 seq {seq} 处断开：自此起的记录被删除 · audit chain broken at seq {seq}: entries from there on \
                 were removed ({checked} entries intact before it)"
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
