//! `shoprelay apply -f shoprelay.toml`: makes the database's configuration equal to the file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_core::error::UserFacing;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_store::{ConfigChange, ConfigRepo, ShopAuth, ShopAuthRepo, ShopAuthStatus, SqlStore};

use crate::settings::{master_key, server_settings};

/// `apply` options.
#[derive(clap::Args)]
pub struct Args {
    /// The configuration file.
    #[arg(short = 'f', long = "file", default_value = "shoprelay.toml")]
    file: PathBuf,
    /// Check the file only; change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Validates the whole file first; only a valid file touches the database, in one transaction.
pub async fn run(args: Args) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let file = match parse_config(&text) {
        Ok(f) => f,
        Err(err) => {
            eprintln!("{}: {} [{}]", args.file.display(), err.message_zh(), err.code());
            eprintln!("{}", err.message_en());
            return Ok(ExitCode::from(2));
        }
    };
    let server = server_settings(&file);
    if file.admin.is_none() {
        eprintln!(
            "提示 note: no [admin] targets — nobody will be told when a shop needs re-authorization / 未配置 [admin]，店铺需重新授权时无人收到通知"
        );
    }
    if args.dry_run {
        println!("{} 有效 is valid (dry run: nothing changed)", args.file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let secrets = master_key(&server.database)?;
    let store = SqlStore::connect(&server.database, secrets.clone()).await?;
    let registry = Registry::from_file(&file);
    let changes = store
        .apply_config(&registry.to_objects(&secrets)?, SystemClock.now_ms())
        .await?;
    for (kind, id, change) in &changes {
        let label = match change {
            ConfigChange::Created => "created  新建",
            ConfigChange::Updated => "changed  修改",
            ConfigChange::Unchanged => "unchanged 未变",
            ConfigChange::Removed => "removed  删除",
        };
        println!("{label}  {kind} {id}");
    }
    for (_, _, shop) in file.marketplaces.shops() {
        let (Some(access), Some(refresh)) = (&shop.access_token, &shop.refresh_token) else {
            continue;
        };
        // Tokens in the file only seed a shop that has none: once refreshed, the stored pair is the live
        // one (refresh tokens are single-use) and re-applying the file must not bring back a dead pair.
        if store.shop_auth(&shop.app, shop.shop_id).await?.is_some() {
            println!(
                "tokens   令牌  shop {}: already authorized, the file's tokens are ignored",
                shop.shop_id
            );
            continue;
        }
        let auth = ShopAuth {
            app_id: shop.app.clone(),
            shop_id: shop.shop_id,
            access_token: access.clone(),
            refresh_token: refresh.clone(),
            // Unknown age: refresh soon, so the given pair is proven and rotated early.
            access_expires_at: SystemClock.now_secs() + 600,
            refresh_expires_at: SystemClock.now_secs() + 30 * 24 * 3600,
            status: ShopAuthStatus::Active,
            status_reason: None,
            version: 0,
        };
        store.save_shop_auth(&auth, SystemClock.now_ms()).await?;
        println!("tokens   令牌  shop {} (seeded from the file)", shop.shop_id);
    }
    let n = |c: ConfigChange| changes.iter().filter(|x| x.2 == c).count();
    println!(
        "applied 已应用: {} created, {} changed, {} unchanged, {} removed. A running server picks this up within seconds.",
        n(ConfigChange::Created),
        n(ConfigChange::Updated),
        n(ConfigChange::Unchanged),
        n(ConfigChange::Removed)
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
