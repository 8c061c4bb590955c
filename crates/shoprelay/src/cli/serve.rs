//! `shoprelay serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use shoprelay_http::guard::{ApiToken, ApiTokenError};
use tokio::net::TcpListener;

use crate::server::{redact, start, StartOptions};
use crate::settings::{load_file, master_key, public_url, server_settings, user_error};

/// `serve` options.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file ([server] is read from it; apply the rest with `shoprelay apply`).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Listen address (overrides server.listen).
    #[arg(long)]
    listen: Option<String>,
    /// Database URL (overrides server.database).
    #[arg(long)]
    database: Option<String>,
    /// Bearer token required by /api/v1 (or SHOPRELAY_API_TOKEN); at least 32 characters.
    #[arg(long, env = "SHOPRELAY_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
}

/// Runs until Ctrl-C or SIGTERM.
pub async fn run(args: Args) -> Result<ExitCode> {
    let file = load_file(args.config.as_deref())?;
    let mut server = server_settings(&file);
    if let Some(listen) = args.listen {
        server.listen = listen;
    }
    if let Some(db) = args.database {
        server.database = db;
    }
    // An empty SHOPRELAY_API_TOKEN is a token that admits everyone: refused like a short one.
    let api_token = args
        .api_token
        .as_deref()
        .map(ApiToken::parse)
        .transpose()
        .map_err(|e| user_error(&e))?;
    let listener = TcpListener::bind(&server.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (in use? set server.listen or --listen)",
            server.listen
        )
    })?;
    // Judged on the bound address, not the text: `0:8080` and `localhost` resolve to what they resolve to.
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() && api_token.is_none() {
        return Err(user_error(&ApiTokenError::Required(bound.to_string())));
    }
    let secrets = master_key(&server.database)?;
    let mut options = StartOptions::new(server.database.clone(), secrets);
    options.public_url = Some(public_url(&server, bound));
    options.api_token = api_token;
    options.metrics_public = server.metrics_public;
    options.http.max_connections_per_source = server.connections_per_source;
    options.http.refused_per_minute = server.refused_per_minute;
    options.http.trusted_proxies = server.trusted_proxies.clone();
    options.language = server.language;
    let running = start(listener, options).await?;
    // The first start (no admin yet) prints the one-time link that creates the console's first admin. Made
    // before the banner, so nothing slow runs between the banner (which callers wait for) and the signal
    // handlers being installed.
    let setup_link = match running.engine.console().setup_link("serve").await {
        Ok(link) => link,
        Err(err) => {
            tracing::warn!(error = ?err, "could not make the console's setup link");
            None
        }
    };
    let base = running.engine.settings.public_url.clone();
    println!(
        "shoprelay {} 已启动 listening on http://{bound}",
        env!("CARGO_PKG_VERSION")
    );
    println!("  控制台 console:     {base}/console");
    println!("  API:                http://{bound}/api/v1/status  ·  /api/v1/audit  ·  /metrics");
    println!("  数据库 database:    {}", redact(&server.database));
    // Every marketplace section is named after its platform, so a new one shows here without an edit.
    println!(
        "  推送地址 push URL:  {base}/push/<{}>/<app id>   (public_url = {base})",
        shoprelay_engine::config::Sections::NAMES.join("|")
    );
    println!("  配置 configure:     shoprelay apply -f shoprelay.toml   (see README › Configuration)");
    if let Some(link) = setup_link {
        println!("  初始化控制台 set up the console (once, 24 h): {link}");
    }
    let registry = running.engine.registry();
    if registry.apps.is_empty() {
        println!("  尚未配置任何电商平台应用 no marketplace app configured yet: write shoprelay.toml and apply it");
    }
    shutdown_signal().await;
    println!("正在停止 stopping…");
    running.stop().await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
