//! `shoprelay`: marketplace pushes in, WeCom messages out. Only argument parsing and dispatch live here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shoprelay::cli;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "shoprelay",
    version,
    about = "Marketplace pushes (Shopee, Lazada, TikTok Shop) → WeCom messages / 电商平台推送到企业微信"
)]
struct Cli {
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true, env = "SHOPRELAY_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (SQLite next to it by default, 127.0.0.1:8080).
    Serve(cli::serve::Args),
    /// Load shoprelay.toml into the database (idempotent; an invalid file changes nothing).
    Apply(cli::apply::Args),
    /// List pushes received and delivery attempts.
    Audit(cli::audit::Args),
    /// The conversation archive: `conversations export` writes it as CSV or JSON lines.
    #[command(subcommand)]
    Conversations(cli::conversations::Command),
    /// Try everything against built-in simulators of Shopee and WeCom.
    #[cfg(feature = "demo")]
    Demo(cli::demo::Args),
    /// Put dead letters back in the queue (by id, destination, shop or time range).
    Replay(cli::replay::Args),
    /// Message rules: `rules test` shows what an event would trigger.
    #[command(subcommand)]
    Rules(cli::rules::Command),
    /// Buyers' personal data: `buyers forget` deletes everything about one buyer.
    #[command(subcommand)]
    Buyers(cli::buyers::Command),
    /// Shops: `shops policy` sets which personal fields a shop keeps; `shops purge` deletes everything
    /// stored about a shop that left.
    #[command(subcommand)]
    Shops(cli::shops::Command),
    /// Master key rotation: `keys new`, then `keys rotate` re-seals everything under the new key.
    #[command(subcommand)]
    Keys(cli::keys::Command),
    /// The console: `console setup-link` prints a one-time link that creates the first admin.
    #[command(subcommand)]
    Console(cli::console::Command),
    /// API tokens for automation: `tokens create --name ci --scope operate` prints one (once).
    #[command(subcommand)]
    Tokens(cli::tokens::Command),
    /// Run a simulator on its own.
    #[cfg(feature = "demo")]
    Sim(cli::sim::Args),
    /// Measure throughput, latency and memory against the built-in simulators.
    #[cfg(feature = "demo")]
    Bench(cli::bench::Args),
}

fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_env("SHOPRELAY_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    let result = match cli.command {
        Command::Serve(args) => cli::serve::run(args).await,
        Command::Apply(args) => cli::apply::run(args).await,
        Command::Audit(args) => cli::audit::run(args).await,
        Command::Conversations(command) => cli::conversations::run(command).await,
        #[cfg(feature = "demo")]
        Command::Demo(args) => cli::demo::run(args).await,
        #[cfg(feature = "demo")]
        Command::Sim(args) => cli::sim::run(args).await,
        Command::Replay(args) => cli::replay::run(args).await,
        Command::Rules(command) => cli::rules::run(command).await,
        Command::Buyers(command) => cli::buyers::run(command).await,
        Command::Shops(command) => cli::shops::run(command).await,
        Command::Keys(command) => cli::keys::run(command).await,
        Command::Console(command) => cli::console::run(command).await,
        Command::Tokens(command) => cli::tokens::run(command).await,
        #[cfg(feature = "demo")]
        Command::Bench(args) => cli::bench::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("错误 error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
