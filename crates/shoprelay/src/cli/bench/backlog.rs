//! Memory with load, and restart with a backlog: shoprelay (SQLite, workers off) configured with 10,000
//! shops, then 1,000,000 deliveries queued for one WeCom app that is paused;
//! RSS after each step. Then the server is stopped, the app un-paused, and the server started again on
//! the same database: the time from `start()` to the first message the WeCom simulator accepts.
//!
//! The server runs in the bench process, so the RSS figures are the whole process's (the load
//! generator's runtime and the simulator included); the increase since before the server started is
//! reported next to them.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use shoprelay_clock::{Clock, SystemClock, UnixMs};
use shoprelay_core::destination::Destination;
use shoprelay_core::event::{Event, EventBody, Platform};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::secret::SecretBox;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_sim::load::unix_ms_f64;
use shoprelay_sim::wecom::{SimApp, WeComSim, WeComSimConfig};
use shoprelay_store::{BreakerState, DestinationState, NewEvent};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::machine;
use super::{per_sec, Args, Report, Section};
use crate::server::{start, Running, StartOptions};

/// Shops configured.
const SHOPS: usize = 10_000;
/// Deliveries queued by default (`--queued`); 10,000 with `--quick`.
pub(super) const QUEUED: usize = 1_000_000;
/// Deliveries per stored event (one transaction each).
const PER_EVENT: usize = 10_000;
/// Targets.
const SHOPS_RSS_TARGET_MB: f64 = 60.0;
const QUEUED_RSS_TARGET_MB: f64 = 250.0;
const RESTART_TARGET: Duration = Duration::from_secs(2);
/// How long to wait for the first delivery after the restart.
const FIRST_TIMEOUT: Duration = Duration::from_secs(60);

const APP: &str = "bench";
const PARTNER_KEY: &str = "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f";
const AGENT: i64 = 1_000_999;
const SECRET: &str = "bench-backlog-secret";
const MEMBER: &str = "u000";

fn shop_id(i: usize) -> u64 {
    820_000_000 + i as u64
}

fn config_toml(base: &str, wecom: &str) -> String {
    let mut out = format!(
        r#"
[server]
public_url = "{base}"

[[shopee.apps]]
id = "{APP}"
partner_id = 2001887
partner_key = "{PARTNER_KEY}"
api_base = "http://127.0.0.1:9"

[[wecom.apps]]
id = "backlog"
corp_id = "wwsim00000000000001"
secret = "{SECRET}"
agent_id = {AGENT}
api_base = "{wecom}"

[[rules]]
id = "all-orders"
events = ["order_created"]
template = "新订单 {{{{ event.order_sn }}}}"
targets = [{{ type = "wecom_app", app = "backlog", users = ["{MEMBER}"] }}]
"#
    );
    for i in 0..SHOPS {
        let _ = write!(
            out,
            r#"
[[shopee.shops]]
app = "{APP}"
shop_id = {}
name = "Backlog Shop {i:05}"
region = "SG"
"#,
            shop_id(i)
        );
    }
    out
}

/// A count with thousands separators.
fn count(n: f64) -> String {
    per_sec(n).trim_end_matches("/s").to_owned()
}

fn rss_mb() -> Result<f64> {
    Ok(machine::status_kb("VmRSS").context("cannot read VmRSS from /proc/self/status")? as f64 / 1024.0)
}

/// The section: memory with 10,000 shops and the backlog, then the restart.
pub(super) async fn run(args: &Args, report: &mut Report) -> Result<()> {
    let queued = args.queued.unwrap_or(if args.quick { 10_000 } else { QUEUED });
    let wecom = shoprelay_sim::wecom::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        WeComSimConfig {
            apps: vec![SimApp {
                agent_id: AGENT,
                secret: SECRET.into(),
                name: "Backlog App".into(),
            }],
            users: vec![MEMBER.into()],
            ..WeComSimConfig::default()
        },
        SystemClock::shared(),
    )
    .await?;
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let database = format!("sqlite://{}", dir.path().join("backlog.db").display());
    let secrets = SecretBox::from_base64(&SecretBox::generate_key())?;
    let file = parse_config(&config_toml("http://127.0.0.1:1", &wecom.base_url()))?;
    let objects = Registry::from_file(&file).to_objects(&secrets)?;
    drop(file);

    let before = rss_mb()?;
    if args.only.as_slice() != [Section::Backlog] {
        report.note(
            "memory with load: other sections ran earlier in this process, whose freed heap the server reuses, \
             so the RSS increases understate; `--only backlog` gives clean figures",
        );
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    // Workers off while filling: the delivery claim scans a destination's pending deliveries once per
    // pending delivery (quadratic in one destination's backlog), and its write transaction would hold
    // SQLite's lock for minutes, so the fill could not get in. They are on after the restart.
    let mut options = StartOptions::new(database.clone(), secrets.clone());
    options.workers = false;
    let server = start(listener, options).await?;
    let outcome = fill(&server, &objects, queued, before, report).await;
    let store = server.engine.store().clone();
    server.stop().await?;
    let destination = outcome?;
    drop(objects);

    // Un-pause, then start again on the same database and wait for WeCom's first message.
    store
        .set_destination(
            &DestinationState {
                destination: destination.clone(),
                paused_until: UnixMs::EPOCH,
                state: BreakerState::Closed,
                reason: String::new(),
                failures: 0,
            },
            SystemClock.now(),
        )
        .await?;
    drop(store);
    let accepted_before = wecom.messages().len();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let t0 = unix_ms_f64();
    let started = Instant::now();
    let server = start(listener, StartOptions::new(database, secrets)).await?;
    let up = started.elapsed();
    let first = first_message(&wecom, accepted_before).await;
    let rss = rss_mb()?;
    let what = format!(
        "restart: start() → first message WeCom accepted, {} queued (SQLite)",
        count(queued as f64)
    );
    let target = format!("≤ {} s", RESTART_TARGET.as_secs());
    match first {
        Some(first) => {
            let took = Duration::from_secs_f64(((first - t0) / 1000.0).max(0.0));
            report.check(
                what,
                format!("{:.2} s", took.as_secs_f64()),
                target,
                took <= RESTART_TARGET,
            );
            println!("  restart: first delivery after {:.2} s", took.as_secs_f64());
        }
        None => {
            report.check(
                what,
                format!("none within {} s", FIRST_TIMEOUT.as_secs()),
                target,
                false,
            );
            println!("  restart: no delivery within {} s", FIRST_TIMEOUT.as_secs());
        }
    }
    report.note(format!(
        "restart: stopped with Running::stop, destination un-paused while stopped, started again (workers on) on \
         the same database; start() itself returned after {:.2} s; process RSS {rss:.1} MB at the first delivery \
         (or the timeout)",
        up.as_secs_f64()
    ));
    // A claim still scanning the backlog would hold stop() until it finishes: give it a few seconds.
    if tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .is_err()
    {
        report.note("restart: the server did not stop within 5 s (a delivery claim was still running); left behind");
        return Ok(());
    }
    wecom.shutdown().await;
    dir.close().context("cannot remove the temporary folder")?;
    Ok(())
}

/// Configures the shops, queues the backlog for a paused destination, measures RSS; returns the destination.
async fn fill(
    server: &Running,
    objects: &[shoprelay_store::ConfigObject],
    queued: usize,
    before: f64,
    report: &mut Report,
) -> Result<Destination> {
    let store = server.engine.store();
    store.apply_config(objects, SystemClock.now()).await?;
    server.engine.reload_config().await?;
    let registry = server.engine.registry();
    if registry.shops.len() != SHOPS {
        bail!("{} shops configured, expected {SHOPS}", registry.shops.len());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shops = rss_mb()?;
    report.check(
        "memory: RSS with 10,000 shops configured (SQLite, workers off)".to_owned(),
        format!("+{:.1} MB (process {shops:.1})", shops - before),
        format!("≤ {SHOPS_RSS_TARGET_MB:.0} MB"),
        shops - before <= SHOPS_RSS_TARGET_MB,
    );
    println!("  memory: {SHOPS} shops: RSS {shops:.1} MB");

    // One delivery as the engine renders it, copied many times per event.
    let event = |n: usize| -> Result<Event> {
        Ok(Event {
            dedupe_key: format!("bench-backlog:{n}:{}", SystemClock.now().as_millis()),
            platform: Platform::named("shopee"),
            app: ConfigId::parse(APP)?,
            shop_id: Some(ShopId::new(shop_id(n % SHOPS))?),
            order_sn: Some(OrderSn::parse(&format!("BL{n:08}"))?),
            occurred_at: SystemClock.now(),
            order: None,
            body: EventBody::OrderCreated,
        })
    };
    let template = server.engine.route(&registry, &event(0)?).await?;
    let Some(delivery) = template.into_iter().next() else {
        bail!("the backlog rule routed nothing");
    };
    let destination = delivery.destination.clone();
    store
        .set_destination(
            &DestinationState {
                destination: destination.clone(),
                paused_until: SystemClock.now() + Duration::from_secs(86_400),
                state: BreakerState::Open,
                reason: "bench: paused while the backlog is queued".into(),
                failures: 0,
            },
            SystemClock.now(),
        )
        .await?;
    let started = Instant::now();
    let mut left = queued;
    let mut n = 0;
    while left > 0 {
        let batch = left.min(PER_EVENT);
        let deliveries = vec![delivery.clone(); batch];
        let created = store
            .insert_event(
                NewEvent {
                    event: event(n)?,
                    deliveries,
                },
                SystemClock.now(),
            )
            .await?;
        if !created {
            bail!("a backlog event was taken for a duplicate");
        }
        left -= batch;
        n += 1;
    }
    let filled = started.elapsed();
    let depths = store.queue_depths().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = rss_mb()?;
    report.check(
        format!(
            "memory: RSS with 10,000 shops and {} deliveries queued (workers off)",
            count(depths.deliveries_pending as f64)
        ),
        format!("+{:.1} MB (process {rss:.1})", rss - before),
        format!("≤ {QUEUED_RSS_TARGET_MB:.0} MB"),
        rss - before <= QUEUED_RSS_TARGET_MB,
    );
    report.note(format!(
        "memory with load: the server runs in the bench process, so the value is the process's RSS increase since \
         just before the server started ({before:.1} MB: runtime, simulator, the parsed 10,000-shop config), \
         judged against the target; workers OFF while filling (see restart); {queued} deliveries inserted with \
         Outbox::insert_event, {PER_EVENT} per event, in {:.1} s, for `{destination}` paused",
        filled.as_secs_f64()
    ));
    println!("  memory: {} queued: RSS {rss:.1} MB", depths.deliveries_pending);
    Ok(destination)
}

/// Waits (up to [`FIRST_TIMEOUT`]) for the simulator to accept a message beyond the first `before`; its
/// stamp (Unix ms).
async fn first_message(wecom: &WeComSim, before: usize) -> Option<f64> {
    let deadline = Instant::now() + FIRST_TIMEOUT;
    loop {
        if wecom.stats().accepted as usize > before {
            let messages = wecom.messages();
            if let Some(m) = messages.get(before) {
                return Some(m.at_unix_ms as f64);
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
