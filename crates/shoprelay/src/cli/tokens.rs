//! `shoprelay tokens create|list|revoke`: API tokens for automation, on the server's database. A new token is
//! printed once (stdout, alone on its line, for scripts); only its hash is stored. Each change is recorded
//! in the console actions as made by `cli`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use shoprelay_clock::{Clock, SystemClock, UnixMs};
use shoprelay_engine::service::api_tokens::{create_token, revoke_token};
use shoprelay_store::{ApiTokens, SqlStore, TokenScope};

use crate::settings::{load_file, master_key, server_settings, user_error};

/// `tokens` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a token and print it (once).
    Create(CreateArgs),
    /// List the tokens: name, scope, who made them, when last used, whether revoked.
    List(Common),
    /// Revoke a token by its id (from `tokens list`): requests carrying it are refused from then on.
    Revoke(RevokeArgs),
}

/// Options every `tokens` subcommand takes.
#[derive(clap::Args)]
pub struct Common {
    /// Configuration file (for the database URL).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
}

/// `tokens create` options.
#[derive(clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    common: Common,
    /// What uses the token (letters, digits, `.`, `_`, `-`), e.g. `ci-deploy`.
    #[arg(long)]
    name: String,
    /// `read` (GET only), `operate` (also replay, acknowledge, forget, dry runs) or `admin` (everything).
    #[arg(long, default_value = "read", value_parser = ["read", "operate", "admin"])]
    scope: String,
}

/// `tokens revoke` options.
#[derive(clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    common: Common,
    /// The token's id.
    id: i64,
}

/// Runs a `tokens` subcommand.
pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Create(args) => {
            let store = open(&args.common).await?;
            // clap allows only the three names.
            let scope = TokenScope::parse(&args.scope).unwrap_or(TokenScope::Read);
            let (record, token) = create_token(&store, &args.name, scope, "cli", SystemClock.now())
                .await
                .map_err(|e| user_error(&e))?;
            eprintln!(
                "令牌 #{} 「{}」（{}）已创建，只显示这一次 · token #{} `{}` ({}) created, shown this once:",
                record.id, record.name, record.scope, record.id, record.name, record.scope
            );
            println!("{}", token.expose());
        }
        Command::List(common) => {
            let store = open(&common).await?;
            let tokens = store.list_api_tokens().await.map_err(|e| user_error(&e))?;
            println!("id\tname\tscope\tcreated_by\tcreated_at\tlast_used_at\trevoked_at");
            let ms = |t: Option<UnixMs>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
            for t in tokens {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.name,
                    t.scope,
                    t.created_by,
                    t.created_at,
                    ms(t.last_used_at),
                    ms(t.revoked_at)
                );
            }
        }
        Command::Revoke(args) => {
            let store = open(&args.common).await?;
            revoke_token(&store, args.id, "cli", SystemClock.now())
                .await
                .map_err(|e| user_error(&e))?;
            eprintln!("令牌 #{} 已吊销 · token #{} revoked", args.id, args.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn open(common: &Common) -> Result<SqlStore> {
    let server = server_settings(&load_file(common.config.as_deref())?);
    let secrets = master_key(&server.database)?;
    SqlStore::connect(&server.database, secrets)
        .await
        .map_err(|e| user_error(&e))
}
