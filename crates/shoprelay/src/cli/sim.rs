//! `shoprelay sim shopee|wecom`: run a simulator on its own (for manual tests or another service).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use shoprelay_clock::SystemClock;
use tokio::net::TcpListener;

/// Which simulator.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Which {
    /// Shopee Open Platform.
    Shopee,
    /// WeCom server API.
    Wecom,
}

/// `sim` options.
#[derive(clap::Args)]
pub struct Args {
    /// Which simulator to run.
    #[arg(value_enum)]
    which: Which,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Simulator configuration (JSON); defaults otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
}

fn read_config<T: serde::de::DeserializeOwned + Default>(path: Option<&PathBuf>) -> Result<T> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid simulator configuration", p.display()))
        }
        None => Ok(T::default()),
    }
}

/// Runs until Ctrl-C.
pub async fn run(args: Args) -> Result<ExitCode> {
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    match args.which {
        Which::Shopee => {
            let sim =
                shoprelay_sim::shopee::serve(listener, read_config(args.config.as_ref())?, SystemClock::shared()).await;
            println!(
                "模拟 Shopee simulated Shopee: {}  (control API under /sim/…)",
                sim.base_url()
            );
            let _ = tokio::signal::ctrl_c().await;
        }
        Which::Wecom => {
            let sim = shoprelay_sim::wecom::serve(listener, read_config(args.config.as_ref())?, SystemClock::shared())
                .await?;
            println!(
                "模拟企业微信 simulated WeCom: {}  (messages page: {}/sim)",
                sim.base_url(),
                sim.base_url()
            );
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
