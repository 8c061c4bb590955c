//! `shoprelay conversations export`: the conversation archive as CSV or JSON lines on standard output,
//! read straight from the database (works while the server is down), with progress on standard error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use shoprelay_clock::UnixMs;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ShopId;
use shoprelay_engine::conversation_export::ExportFormat;
use shoprelay_engine::service::archive::Export;
use shoprelay_store::{ArchiveQuery, SqlStore};

use crate::settings::{load_file, master_key, server_settings};

/// `conversations` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Every matching message (buyer, member and automatic), oldest first, with sender, time, channel and
    /// delivery result.
    Export(ExportArgs),
}

/// `conversations export` options: each filter narrows.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Configuration file (for the database URL).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// csv or jsonl.
    #[arg(long, default_value = "csv", value_parser = parse_format)]
    format: ExportFormat,
    /// Only this shop.
    #[arg(long, value_parser = parse_shop)]
    shop: Option<ShopId>,
    /// Only this buyer (their id at the marketplace).
    #[arg(long)]
    buyer: Option<String>,
    /// Only the conversations with the buyer of this order.
    #[arg(long)]
    order: Option<String>,
    /// Only messages this member wrote, or conversations the member holds (WeCom userid).
    #[arg(long)]
    member: Option<String>,
    /// Only messages containing this text (case-insensitive).
    #[arg(long)]
    text: Option<String>,
    /// From this time (RFC 3339, e.g. 2026-11-26T00:00:00Z).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Until this time (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,
}

fn parse_format(raw: &str) -> Result<ExportFormat, String> {
    ExportFormat::parse(raw).map_err(|e| format!("{} · {}", e.message_zh(), e.message_en()))
}

fn parse_shop(raw: &str) -> Result<ShopId, String> {
    raw.parse::<u64>()
        .map_err(|e| e.to_string())
        .and_then(|n| ShopId::new(n).map_err(|e| e.to_string()))
}

/// Runs a `conversations` subcommand.
pub async fn run(command: Command) -> Result<ExitCode> {
    let Command::Export(args) = command;
    let server = server_settings(&load_file(args.config.as_deref())?);
    let store = SqlStore::connect(&server.database, master_key(&server.database)?).await?;
    let query = ArchiveQuery {
        shop_id: args.shop,
        buyer_id: args.buyer,
        order_sn: args.order,
        member: args.member,
        text: args.text,
        from: args.since.map(|t| UnixMs::from_millis(t.timestamp_millis())),
        to: args.until.map(|t| UnixMs::from_millis(t.timestamp_millis())),
        ..ArchiveQuery::default()
    };
    let result = export(&store, Export::new(query, args.format)).await;
    store.close().await;
    result
}

/// Writes the export a page at a time (the archive may hold millions of messages), with progress.
async fn export(store: &SqlStore, mut export: Export) -> Result<ExitCode> {
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_message("exporting · 导出中");
    let mut stdout = std::io::stdout().lock();
    while let Some(chunk) = export.next_chunk(store).await? {
        stdout.write_all(&chunk)?;
        progress.set_message(format!(
            "exporting · 导出中: {} written, {} looked at",
            export.written, export.scanned
        ));
        progress.set_position(export.written);
    }
    stdout.flush()?;
    progress.finish_and_clear();
    eprintln!("{} 条消息 messages exported", export.written);
    Ok(ExitCode::SUCCESS)
}
