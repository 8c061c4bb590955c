//! `shoprelay buyers forget`: a data subject's deletion request (GDPR, PIPL), carried out and audited.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_core::ids::ShopId;
use shoprelay_store::{Privacy, SqlStore};

use crate::settings::{load_file, master_key, server_settings, user_error};

/// `buyers` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Delete everything stored about one buyer of one shop (their messages, their orders' pushes,
    /// events, messages sent and tasks); the audit log records only a keyed hash of the buyer and counts.
    Forget(ForgetArgs),
}

/// `buyers forget` options.
#[derive(clap::Args)]
pub struct ForgetArgs {
    /// Configuration file (for the database URL).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// The shop the buyer bought from or wrote to.
    #[arg(long)]
    shop: u64,
    /// The buyer's user name on the marketplace (case and surrounding blanks do not matter).
    #[arg(long)]
    buyer: String,
}

/// Runs a `buyers` subcommand.
pub async fn run(command: Command) -> Result<ExitCode> {
    let Command::Forget(args) = command;
    let buyer = args.buyer.trim();
    let Ok(shop) = ShopId::new(args.shop) else {
        eprintln!("店铺编号无效 invalid shop id: {}", args.shop);
        return Ok(ExitCode::from(2));
    };
    if buyer.is_empty() {
        eprintln!("请用 --buyer 指定买家用户名 name the buyer with --buyer");
        return Ok(ExitCode::from(2));
    }
    let server = server_settings(&load_file(args.config.as_deref())?);
    let store = SqlStore::connect(&server.database, master_key(&server.database)?)
        .await
        .map_err(|e| user_error(&e))?;
    let report = store
        .forget_buyer(shop, buyer, SystemClock.now())
        .await
        .map_err(|e| user_error(&e))?;
    store.close().await;
    println!(
        "已删除 forgotten: {} push(es), {} event(s), {} message(s), {} task(s), {} order status(es)",
        report.pushes, report.events, report.deliveries, report.tasks, report.orders
    );
    println!("审计记录 audit entry: buyer {}", store.buyer_hash(shop, buyer));
    Ok(ExitCode::SUCCESS)
}
