//! `shoprelay shops purge`: a shop that left (deauthorized, or never to be authorized again) has all its
//! data deleted on request, carried out in one transaction and audited.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_engine::clock::now_ms;
use shoprelay_store::{Privacy, ShopAuthRepo, ShopAuthStatus, SqlStore};

use crate::settings::{load_file, master_key, server_settings, user_error};

/// `shops` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Delete everything stored about one shop: its pushes, events, messages sent, tasks, order statuses
    /// and tokens. Refused while the shop is still authorized, unless `--force`.
    Purge(PurgeArgs),
}

/// `shops purge` options.
#[derive(clap::Args)]
pub struct PurgeArgs {
    /// Configuration file (for the database URL).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// The marketplace app id the shop was connected through (`[[shopee.apps]] id`).
    #[arg(long)]
    app: String,
    /// The shop.
    #[arg(long)]
    shop: u64,
    /// Purge even though the shop is still authorized (its next pushes will be stored again).
    #[arg(long)]
    force: bool,
}

/// Runs a `shops` subcommand.
pub async fn run(command: Command) -> Result<ExitCode> {
    let Command::Purge(args) = command;
    let (Ok(app), Ok(shop)) = (ConfigId::parse(&args.app), ShopId::new(args.shop)) else {
        eprintln!(
            "应用 ID 或店铺编号无效 invalid app id or shop id: {} {}",
            args.app, args.shop
        );
        return Ok(ExitCode::from(2));
    };
    let server = server_settings(&load_file(args.config.as_deref())?);
    let store = SqlStore::connect(&server.database, master_key(&server.database)?)
        .await
        .map_err(|e| user_error(&e))?;
    let status = store
        .shop_auth(&app, shop)
        .await
        .map_err(|e| user_error(&e))?
        .map(|a| a.status);
    if status == Some(ShopAuthStatus::Active) && !args.force {
        eprintln!(
            "店铺 {shop} 仍在授权中：请先在 Shopee 取消授权（或确认无误后加 --force）\n\
             shop {shop} is still authorized: deauthorize it at Shopee first (or add --force if you are sure)"
        );
        store.close().await;
        return Ok(ExitCode::from(2));
    }
    let report = store
        .purge_shop(&app, shop, now_ms())
        .await
        .map_err(|e| user_error(&e))?;
    store.close().await;
    println!(
        "已删除 purged: {} push(es), {} event(s), {} message(s), {} task(s), {} order status(es); \
         remove the shop from shoprelay.toml too · 请同时从配置文件中删除该店铺",
        report.pushes, report.events, report.deliveries, report.tasks, report.orders
    );
    Ok(ExitCode::SUCCESS)
}
