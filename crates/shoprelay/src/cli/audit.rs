//! `shoprelay audit`: the audit log, read straight from the database (works while the server is down).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use shoprelay_store::{AuditFilter, AuditKind, AuditLog, SqlStore};

use crate::settings::{load_file, master_key, server_settings};

/// `audit` options.
#[derive(clap::Args)]
pub struct Args {
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
    #[arg(long)]
    outcome: Option<String>,
    /// Only pushes, deliveries or auth events.
    #[arg(long, value_parser = ["push", "delivery", "auth"])]
    kind: Option<String>,
    /// From this time (RFC 3339, e.g. 2026-11-26T00:00:00Z).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Until this time (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,
    /// At most this many rows.
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// Prints matching entries, newest first.
pub async fn run(args: Args) -> Result<ExitCode> {
    let server = server_settings(&load_file(args.config.as_deref())?);
    let store = SqlStore::connect(&server.database, master_key(&server.database)?).await?;
    let filter = AuditFilter {
        kind: args.kind.as_deref().map(|k| match k {
            "push" => AuditKind::Push,
            "delivery" => AuditKind::Delivery,
            _ => AuditKind::Auth,
        }),
        shop_id: args.shop,
        order_sn: args.order,
        outcome: args.outcome,
        from: args.since.map(|t| t.timestamp_millis()),
        to: args.until.map(|t| t.timestamp_millis()),
        before_id: None,
        limit: Some(args.limit),
    };
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
            let at = DateTime::<Utc>::from_timestamp_millis(e.at)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
            println!(
                "{:<20} {:<8} {:<12} {:<11} {:<16} {:<18} {:>4} {:>7} {:>6}  {}",
                at,
                e.kind,
                e.outcome,
                opt(e.shop_id),
                e.order_sn.as_deref().unwrap_or("-"),
                e.destination.as_deref().unwrap_or("-"),
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
