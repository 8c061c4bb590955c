//! `shoprelay rules test`: which rules would fire for an event, to whom, with what message — before the
//! configuration is applied, against a built-in sample event or one given as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use shoprelay_clock::{Clock, SystemClock, UnixMs};
use shoprelay_core::error::UserFacing;
use shoprelay_core::event::{Event, EventKind};
use shoprelay_core::rules::sample_event;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_engine::render::Payload;
use shoprelay_engine::routing::{explain, preview};
use shoprelay_store::{Inbox, SqlStore};

use crate::settings::{master_key, server_settings};

/// `rules` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Dry run: the rules an event meets, their targets and messages (nothing is sent).
    Test(TestArgs),
}

/// `rules test` options.
#[derive(clap::Args)]
pub struct TestArgs {
    /// The configuration file whose rules to test.
    #[arg(short = 'f', long = "file", default_value = "shoprelay.toml")]
    file: PathBuf,
    /// A built-in sample event of this kind (default order_created; order_status_changed, buyer_message,
    /// …); with `--order`, the kind of stored event to take.
    #[arg(long)]
    kind: Option<String>,
    /// An event as JSON (as `GET /api/v1/audit` and the store show events) instead of a sample.
    #[arg(long)]
    event: Option<PathBuf>,
    /// The newest stored event of this order (of `--kind`, when given), read from the configured
    /// database, instead of a sample.
    #[arg(long, conflicts_with = "event")]
    order: Option<String>,
    /// Evaluate time-of-day conditions at this unix time (default: now).
    #[arg(long)]
    at: Option<i64>,
}

/// Runs a `rules` subcommand.
pub async fn run(command: Command) -> Result<ExitCode> {
    let Command::Test(args) = command;
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let file = match parse_config(&text) {
        Ok(f) => f,
        Err(err) => {
            eprintln!(
                "{}: {} [{}]\n{}",
                args.file.display(),
                err.message_zh(),
                err.code(),
                err.message_en()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let kind = |name: &str| {
        EventKind::ALL
            .iter()
            .find(|k| k.as_str() == name)
            .copied()
            .with_context(|| {
                let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown event kind `{name}`; one of {}", kinds.join(", "))
            })
    };
    let event: Event = match (&args.event, &args.order) {
        (_, Some(order)) => {
            let server = server_settings(&file);
            let store = SqlStore::connect(&server.database, master_key(&server.database)?).await?;
            let wanted = args.kind.as_deref().map(kind).transpose()?;
            let found = store.latest_event(order, wanted.map(EventKind::as_str)).await?;
            store.close().await;
            match found {
                Some(event) => event,
                None => {
                    eprintln!("没有订单 {order} 的已存事件 no stored event of order {order} (of that kind)");
                    return Ok(ExitCode::from(2));
                }
            }
        }
        (Some(path), None) => {
            let json = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&json).with_context(|| format!("{} is not an event", path.display()))?
        }
        (None, None) => sample_event(kind(args.kind.as_deref().unwrap_or("order_created"))?),
    };
    let registry = Registry::from_file(&file);
    let at = args.at.map_or_else(|| SystemClock.now(), UnixMs::from_secs);
    println!(
        "事件 event: {} {}",
        event.kind().as_str(),
        event.order_sn.as_ref().map(|s| s.as_str()).unwrap_or("")
    );
    for decision in explain(&registry, &event, at) {
        println!("  规则 rule {:<24} {}", decision.rule, decision.outcome);
    }
    let public_url = file.server.public_url.as_deref().unwrap_or("http://127.0.0.1:8080");
    let deliveries = preview(&registry, &event, at, file.server.language, public_url);
    if deliveries.is_empty() {
        println!("无消息发出 no message would be sent (the event is kept and audited as unmatched)");
    }
    for d in &deliveries {
        println!("\n→ {} (rule {})", d.destination, d.route_id);
        let payload: Payload = serde_json::from_str(&d.payload)?;
        println!("{}", serde_json::to_string_pretty(&payload.body())?);
    }
    Ok(ExitCode::SUCCESS)
}
