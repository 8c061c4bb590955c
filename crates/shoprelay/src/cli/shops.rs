//! `shoprelay shops purge`: a shop that left (deauthorized, or never to be authorized again) has all its
//! data deleted on request, carried out in one transaction and audited.
//! `shoprelay shops policy`: which of the buyers' personal fields a shop keeps, turned on only after an
//! admin accepts the sensitive-information commitment.

use std::path::PathBuf;
use std::process::ExitCode;

use std::collections::BTreeSet;

use anyhow::Result;
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_core::event::Platform;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::policy::{
    Acceptance, FieldPolicy, SensitiveField, COMMITMENT_EN, COMMITMENT_VERSION, COMMITMENT_ZH,
};
use shoprelay_core::secret::SecretBox;
use shoprelay_engine::config::{ConfigFile, Registry};
use shoprelay_marketplaces::platform::display_name;
use shoprelay_store::{ConfigRepo, DataPolicies, Privacy, ShopAuthRepo, ShopAuthStatus, SqlStore};

use crate::settings::{load_file, master_key, server_settings, user_error};

/// `shops` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Delete everything stored about one shop: its pushes, events, messages sent, tasks, order statuses
    /// and tokens. Refused while the shop is still authorized, unless `--force`.
    Purge(PurgeArgs),
    /// Show or set a shop's data policy: which personal fields (phone, address, name, email) are kept.
    /// None by default; turning one on needs `--accept-commitment VERSION --by NAME`.
    Policy(PolicyArgs),
}

/// `shops policy` options.
#[derive(clap::Args)]
pub struct PolicyArgs {
    /// Configuration file (for the database URL).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Print the sensitive-information commitment (its text and version) and stop.
    #[arg(long, conflicts_with_all = ["fields", "minimal"])]
    show_commitment: bool,
    /// The marketplace app id the shop is connected through (`[[shopee.apps]] id`).
    #[arg(long, required_unless_present = "show_commitment")]
    app: Option<String>,
    /// The shop.
    #[arg(long, required_unless_present = "show_commitment")]
    shop: Option<u64>,
    /// Keep these personal fields from now on (comma-separated: phone, address, name, email).
    #[arg(long, value_delimiter = ',')]
    fields: Vec<String>,
    /// Back to the default: no personal field is kept (what is stored stays until retention removes it).
    #[arg(long, conflicts_with = "fields")]
    minimal: bool,
    /// The commitment version the admin accepts (shown by `--show-commitment`).
    #[arg(long, requires = "by")]
    accept_commitment: Option<String>,
    /// The admin who accepts the commitment (recorded with the time and version).
    #[arg(long)]
    by: Option<String>,
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
    match command {
        Command::Purge(args) => purge(args).await,
        Command::Policy(args) => policy(args).await,
    }
}

async fn policy(args: PolicyArgs) -> Result<ExitCode> {
    if args.show_commitment {
        println!("{COMMITMENT_ZH}\n\n{COMMITMENT_EN}\n\n版本 version: {COMMITMENT_VERSION}");
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(Ok(app)), Some(Ok(shop))) = (args.app.as_deref().map(ConfigId::parse), args.shop.map(ShopId::new)) else {
        eprintln!("应用 ID 或店铺编号无效 invalid app id or shop id");
        return Ok(ExitCode::from(2));
    };
    let file = load_file(args.config.as_deref())?;
    let server = server_settings(&file);
    let secrets = master_key(&server.database)?;
    let store = SqlStore::connect(&server.database, secrets.clone())
        .await
        .map_err(|e| user_error(&e))?;
    let platform = platform_of(&store, &secrets, &file, &app).await;
    let change = if args.minimal {
        Some(FieldPolicy::minimal())
    } else if args.fields.is_empty() {
        None
    } else {
        let fields = args
            .fields
            .iter()
            .map(|f| SensitiveField::parse(f))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|e| user_error(&e))?;
        let accepted = args.accept_commitment.map(|version| Acceptance {
            by: args.by.unwrap_or_default(),
            at: SystemClock.now(),
            version,
        });
        Some(FieldPolicy::new(fields, accepted).map_err(|e| user_error(&e))?)
    };
    if let Some(policy) = &change {
        store
            .set_data_policy(&app, platform, shop, policy, SystemClock.now())
            .await
            .map_err(|e| user_error(&e))?;
    }
    let current = store.data_policy(&app, shop).await.map_err(|e| user_error(&e))?;
    store.close().await;
    println!("{}", describe(&app, shop, &current));
    Ok(ExitCode::SUCCESS)
}

/// The app's marketplace, for the audit entry: as the configuration the server runs says (stored by
/// `apply`), else as the file does.
async fn platform_of(store: &SqlStore, secrets: &SecretBox, file: &ConfigFile, app: &ConfigId) -> Option<Platform> {
    let stored = match store.list_config().await {
        Ok(objects) => Registry::from_objects(&objects, secrets).ok(),
        Err(_) => None,
    };
    stored
        .and_then(|r| r.platform_of(app))
        .or_else(|| Registry::from_file(file).platform_of(app))
}

/// A policy as the CLI prints it.
fn describe(app: &ConfigId, shop: ShopId, policy: &FieldPolicy) -> String {
    let head = format!("店铺 shop {app}/{shop}");
    match &policy.accepted {
        Some(a) if !policy.fields.is_empty() => {
            let fields: Vec<&str> = policy.fields.iter().map(|f| f.as_str()).collect();
            let at = chrono::DateTime::from_timestamp_millis(a.at.as_millis())
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            format!(
                "{head}: 保留个人信息字段 keeps personal fields [{}]（消息中默认脱敏 masked in messages by default）\n\
                 承诺 commitment {} accepted by {} at {at}",
                fields.join(", "),
                a.version,
                a.by
            )
        }
        _ => format!("{head}: 最小化（不保留手机号、地址、姓名、邮箱）minimal: no phone, address, name or e-mail kept"),
    }
}

async fn purge(args: PurgeArgs) -> Result<ExitCode> {
    let (Ok(app), Ok(shop)) = (ConfigId::parse(&args.app), ShopId::new(args.shop)) else {
        eprintln!(
            "应用 ID 或店铺编号无效 invalid app id or shop id: {} {}",
            args.app, args.shop
        );
        return Ok(ExitCode::from(2));
    };
    let file = load_file(args.config.as_deref())?;
    let server = server_settings(&file);
    let secrets = master_key(&server.database)?;
    let store = SqlStore::connect(&server.database, secrets.clone())
        .await
        .map_err(|e| user_error(&e))?;
    // A shop whose app is configured no longer is purged all the same, its audit entry without platform.
    let platform = platform_of(&store, &secrets, &file, &app).await;
    let status = store
        .shop_auth(&app, shop)
        .await
        .map_err(|e| user_error(&e))?
        .map(|a| a.status);
    if status == Some(ShopAuthStatus::Active) && !args.force {
        let (zh, en) = platform.map_or(("电商平台", "the marketplace"), |p| {
            (display_name(p), display_name(p))
        });
        eprintln!(
            "店铺 {shop} 仍在授权中：请先在 {zh} 取消授权（或确认无误后加 --force）\n\
             shop {shop} is still authorized: deauthorize it at {en} first (or add --force if you are sure)"
        );
        store.close().await;
        return Ok(ExitCode::from(2));
    }
    let report = store
        .purge_shop(&app, platform, shop, SystemClock.now())
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
