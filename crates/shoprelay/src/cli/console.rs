//! `shoprelay console setup-link`: a new one-time link that creates the console's first admin — for when
//! the one printed at the first start was lost or has expired. No link is made once an admin exists.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_engine::service::console::setup_link;
use shoprelay_store::SqlStore;

use crate::settings::{load_file, master_key, server_settings, user_error};

/// `console` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a one-time link (valid 24 hours, replacing any earlier one) that creates the first admin.
    SetupLink(Args),
}

/// `console setup-link` options.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (for the database URL and public_url).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
}

/// Runs a `console` subcommand.
pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::SetupLink(args) => link(args).await,
    }
}

async fn link(args: Args) -> Result<ExitCode> {
    let server = server_settings(&load_file(args.config.as_deref())?);
    let secrets = master_key(&server.database)?;
    let store = SqlStore::connect(&server.database, secrets)
        .await
        .map_err(|e| user_error(&e))?;
    // Without public_url the server answers on its listen address.
    let base = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", server.listen));
    match setup_link(&store, SystemClock.now(), &base, "cli")
        .await
        .map_err(|e| user_error(&e))?
    {
        Some(link) => {
            println!("{link}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("已有管理员：请用管理员账号登录并在「用户」页面管理账号 an admin exists: log in as an admin and manage users on the Users page");
            Ok(ExitCode::from(1))
        }
    }
}
