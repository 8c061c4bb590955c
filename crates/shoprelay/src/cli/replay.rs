//! `shoprelay replay`: dead letters back into the queue, with progress; with `--failed-pushes`, the
//! pushes that failed in the inbox (a shape this version could not read) back into the inbox.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_core::destination::Destination;
use shoprelay_store::{Inbox, Outbox, PushReplayFilter, ReplayFilter, SqlStore};

use crate::settings::{load_file, master_key, server_settings};

/// Dead letters re-queued per transaction.
const BATCH: i64 = 500;

/// `replay` options: at least one filter for dead letters; `--failed-pushes` alone means every failed push.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (for the database URL).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Replay failed pushes (inbox items) instead of dead letters, e.g. after an upgrade.
    #[arg(long)]
    failed_pushes: bool,
    /// One delivery id (with `--failed-pushes`: one inbox id).
    #[arg(long)]
    id: Option<i64>,
    /// One destination (`wecom_app:ID`, `robot:ID`, `appchat:APP:CHATID`, `webhook:ID`).
    #[arg(long, conflicts_with = "failed_pushes")]
    destination: Option<Destination>,
    /// One shop.
    #[arg(long)]
    shop: Option<i64>,
    /// Created at or after (RFC 3339).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,
}

/// Re-queues matching dead letters (or failed pushes); a running server handles them within a second.
pub async fn run(args: Args) -> Result<ExitCode> {
    if args.failed_pushes {
        return replay_pushes(args).await;
    }
    let filter = ReplayFilter {
        id: args.id,
        destination: args.destination,
        shop_id: args.shop,
        from: args.since.map(|t| t.timestamp_millis()),
        to: args.until.map(|t| t.timestamp_millis()),
    };
    if filter.is_empty() {
        eprintln!("重发需要筛选条件 a replay needs a filter: --id, --destination, --shop, --since/--until");
        return Ok(ExitCode::from(2));
    }
    let server = server_settings(&load_file(args.config.as_deref())?);
    let store = SqlStore::connect(&server.database, master_key(&server.database)?).await?;
    let total = store.count_dead(&filter).await?;
    let bar = progress(total, "重发 replaying");
    let mut replayed = 0u64;
    loop {
        let n = store.replay_dead(&filter, SystemClock.now(), BATCH).await?;
        if n == 0 {
            break;
        }
        replayed += n;
        bar.inc(n);
    }
    bar.finish_and_clear();
    println!("已重新排队 re-queued {replayed} dead letter(s); a running server sends them shortly.");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `--failed-pushes`: failed inbox items back to pending; the inbox worker parses them again.
async fn replay_pushes(args: Args) -> Result<ExitCode> {
    let filter = PushReplayFilter {
        id: args.id,
        shop_id: args.shop,
        from: args.since.map(|t| t.timestamp_millis()),
        to: args.until.map(|t| t.timestamp_millis()),
    };
    let server = server_settings(&load_file(args.config.as_deref())?);
    let store = SqlStore::connect(&server.database, master_key(&server.database)?).await?;
    let total = store.count_failed_pushes(&filter).await?;
    let bar = progress(total, "重新处理推送 replaying pushes");
    let mut replayed = 0u64;
    // Bounded by the count: a running server may fail a replayed push again before the loop ends.
    while replayed < u64::try_from(total).unwrap_or(0) {
        let n = store.replay_failed_pushes(&filter, SystemClock.now(), BATCH).await?;
        if n == 0 {
            break;
        }
        replayed += n;
        bar.inc(n);
    }
    bar.finish_and_clear();
    println!("已重新排队 re-queued {replayed} failed push(es); a running server processes them shortly.");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

fn progress(total: i64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(u64::try_from(total).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}
