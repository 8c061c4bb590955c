//! `shoprelay apply -f shoprelay.toml`: makes the database's configuration equal to the file.
//!
//! The console and the REST API edit the same configuration (rules, a shop's licensed company, a WeCom
//! app tested in the wizard). Such an edit is marked as console-made until a file takes it back, and
//! `apply` refuses (exit code 3, changing nothing) while the file would overwrite or remove one, listing
//! each — copy the edits into the file, or pass `--force` to let the file win. A console-made object the
//! file already says the same about is not a conflict.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_core::error::UserFacing;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_store::{
    ConfigChange, ConfigObject, ConfigRepo, ConsoleMadeConfig, ShopAuth, ShopAuthRepo, ShopAuthStatus, SqlStore,
};

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
    /// Overwrite or remove what was edited in the console or through the API.
    #[arg(long)]
    force: bool,
}

/// What the file would do to an object edited in the console or through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clash {
    /// The file has other content for it.
    Overwrite,
    /// The file does not have it.
    Remove,
}

/// The console-made objects the file would overwrite or remove, in the store's order.
fn clashes<'a>(file: &[ConfigObject], console_made: &'a [ConsoleMadeConfig]) -> Vec<(Clash, &'a ConsoleMadeConfig)> {
    console_made
        .iter()
        .filter_map(|m| match file.iter().find(|o| o.kind == m.kind && o.id == m.id) {
            None => Some((Clash::Remove, m)),
            Some(o) if o.fingerprint != m.fingerprint => Some((Clash::Overwrite, m)),
            Some(_) => None,
        })
        .collect()
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
    let objects = registry.to_objects(&secrets)?;
    let console_made = store.console_made_config().await?;
    let found = clashes(&objects, &console_made);
    if !found.is_empty() {
        for (clash, m) in &found {
            let what = match (clash, args.force) {
                (Clash::Overwrite, false) => "would overwrite 将覆盖",
                (Clash::Remove, false) => "would remove   将删除",
                (Clash::Overwrite, true) => "overwriting    覆盖",
                (Clash::Remove, true) => "removing       删除",
            };
            let when = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(m.updated_at.as_millis())
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            eprintln!("{what}  console edit 控制台修改  {} {} ({when})", m.kind, m.id);
        }
        if !args.force {
            eprintln!(
                "未应用：文件将覆盖或删除在控制台 / API 中所做的修改。请把这些修改写进文件后重试，或加 --force 以文件为准。"
            );
            eprintln!(
                "Not applied: the file would overwrite or remove edits made in the console or through the API. \
                 Copy them into the file and run again, or pass --force to let the file win."
            );
            store.close().await;
            return Ok(ExitCode::from(3));
        }
    }
    let changes = store.apply_config(&objects, SystemClock.now()).await?;
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
        let now = SystemClock.now();
        let auth = ShopAuth {
            app_id: shop.app.clone(),
            shop_id: shop.shop_id,
            access_token: access.clone(),
            refresh_token: refresh.clone(),
            // Unknown age: refresh soon, so the given pair is proven and rotated early.
            access_expires_at: now + Duration::from_secs(600),
            refresh_expires_at: now + Duration::from_secs(30 * 24 * 3600),
            status: ShopAuthStatus::Active,
            status_reason: None,
            version: 0,
        };
        store.save_shop_auth(&auth, now).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_clock::UnixMs;

    fn object(id: &str, fingerprint: &str) -> ConfigObject {
        ConfigObject {
            kind: "route".into(),
            id: id.into(),
            body: "{}".into(),
            fingerprint: fingerprint.into(),
        }
    }

    fn made(id: &str, fingerprint: &str) -> ConsoleMadeConfig {
        ConsoleMadeConfig {
            kind: "route".into(),
            id: id.into(),
            fingerprint: fingerprint.into(),
            updated_at: UnixMs::EPOCH,
        }
    }

    #[test]
    fn only_console_edits_the_file_changes_or_drops_are_clashes() {
        let file = [object("same", "1"), object("other", "1"), object("file-only", "1")];
        let console = [made("same", "1"), made("other", "2"), made("console-only", "1")];
        let found: Vec<(Clash, &str)> = clashes(&file, &console)
            .into_iter()
            .map(|(c, m)| (c, m.id.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![(Clash::Overwrite, "other"), (Clash::Remove, "console-only")]
        );
        assert!(clashes(&file, &[]).is_empty());
    }
}
