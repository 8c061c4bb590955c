//! `shoprelay keys`: master key rotation. `keys new` makes the next key; `keys rotate` re-seals every
//! stored secret and all personal data under it, with progress, resuming where an interrupted run stopped.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_core::secret::SecretBox;
use shoprelay_store::{ResealTarget, SqlStore};

use crate::settings::{load_file, master_key, new_key_file, server_settings, user_error};

/// `keys` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make the next master key. With a key file: `<db>.key` becomes `<db>.key.previous` and a new
    /// `<db>.key` is written. With SHOPRELAY_MASTER_KEY (or PostgreSQL): print a new key to set.
    New(Args),
    /// Re-seal every stored secret and all personal data under the current master key (the previous one
    /// must still be configured); safe to run while the server runs, and to run again after an interruption.
    Rotate(Args),
}

/// `keys` options.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (for the database URL).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
}

/// Runs a `keys` subcommand.
pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::New(args) => new(args),
        Command::Rotate(args) => rotate(args).await,
    }
}

fn new(args: Args) -> Result<ExitCode> {
    let server = server_settings(&load_file(args.config.as_deref())?);
    if std::env::var("SHOPRELAY_MASTER_KEY").is_ok() || !server.database.starts_with("sqlite:") {
        // The key alone on the first line, for scripts.
        println!("{}", SecretBox::generate_key());
        eprintln!(
            "新主密钥如上 the new master key is above. 在每个副本上 on every replica: SHOPRELAY_PREVIOUS_MASTER_KEY=<当前 current>, \
             SHOPRELAY_MASTER_KEY=<新 new>; 重启 restart; 然后 then `shoprelay keys rotate`."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let previous = new_key_file(&server.database)?;
    println!(
        "已生成新密钥 new key written; the old one is now {}. 重启服务 restart the server, then run `shoprelay keys rotate`.",
        previous.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn rotate(args: Args) -> Result<ExitCode> {
    let server = server_settings(&load_file(args.config.as_deref())?);
    let secrets = master_key(&server.database)?;
    let rotating = secrets.has_previous();
    let store = SqlStore::connect(&server.database, secrets)
        .await
        .map_err(|e| user_error(&e))?;
    let bar = ProgressBar::new(u64::try_from(store.reseal_remaining().await?).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut looked_at = 0;
    for target in ResealTarget::ALL {
        bar.set_message(target.as_str());
        while let Some(n) = store.reseal_batch(target).await.map_err(|e| user_error(&e))? {
            looked_at += n;
            bar.inc(n);
        }
    }
    store.finish_reseal(looked_at, SystemClock.now()).await?;
    bar.finish_and_clear();
    store.close().await;
    println!("已完成 done: every stored secret and all personal data are sealed under the current master key ({looked_at} row(s) looked at).");
    if rotating {
        println!(
            "现在可以移除旧密钥 you may now remove SHOPRELAY_PREVIOUS_MASTER_KEY (or the .key.previous file) and restart; \
             keep it with any backup taken before the rotation."
        );
    }
    Ok(ExitCode::SUCCESS)
}
