//! The delivery runs' world: simulated Shopee with `n` shops under one main account, simulated WeCom
//! with one destination per shop (an app or a robot), and shoprelay configured to route each shop to
//! its destination, started on a fresh SQLite database with its workers on and the shops authorized.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use shoprelay_clock::SystemClock;
use shoprelay_core::secret::SecretBox;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_sim::shopee::{ShopeeSim, ShopeeSimConfig, SimMainAccount, SimShop};
use shoprelay_sim::wecom::{SimApp, SimLimits, WeComSim, WeComSimConfig};
use tokio::net::TcpListener;

use crate::server::{start, Running, StartOptions};

const APP: &str = "bench";
const PARTNER_KEY: &str = "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f";
/// One main account authorizes every bench shop at once.
const MAIN_ACCOUNT: u64 = 9_000_001;
/// A budget no run reaches: shoprelay's per-app budget and the simulator's limits in the raised run.
pub(super) const UNLIMITED: u32 = 1_000_000;

/// The `i`-th bench shop.
pub(super) fn shop_id(i: usize) -> u64 {
    810_000_000 + i as u64
}

fn robot_key(i: usize) -> String {
    format!("bench-robot-{i:03}")
}

fn agent_id(i: usize) -> i64 {
    1_000_100 + i as i64
}

fn member(i: usize) -> String {
    format!("u{i:03}")
}

/// The `k`-th member of the `i`-th app of [`Fleet::Apps`].
fn app_member(i: usize, k: usize) -> String {
    format!("u{i:03}m{k:02}")
}

/// The payment method of orders meant for the `k`-th member of their shop's app (see [`Fleet::Apps`]).
pub(super) fn slot_payment(k: usize) -> String {
    format!("slot{k:02}")
}

/// What the destinations are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fleet {
    /// One WeCom app per shop (budget raised) with `members` members: each order goes to one of them,
    /// chosen by its payment method (`slot00`, `slot01`, …), so the run spreads over enough people to stay
    /// within WeCom's 30 a minute per person, which shoprelay always keeps to.
    Apps {
        /// Members per app.
        members: usize,
    },
    /// One group robot per shop, at WeCom's real limits.
    Robots,
    /// ONE WeCom app at its default budget (200/min), each shop routed to its own member of it.
    SharedApp,
}

/// shoprelay's configuration: one Shopee app, `n` shops, and one route per shop to its own destination.
fn config_toml(base: &str, shopee: &str, wecom: &str, n: usize, fleet: Fleet) -> String {
    let mut out = format!(
        r#"
[server]
public_url = "{base}"

[[shopee.apps]]
id = "{APP}"
partner_id = 2001887
partner_key = "{PARTNER_KEY}"
api_base = "{shopee}"
"#
    );
    for i in 0..n {
        let shop = shop_id(i);
        let _ = write!(
            out,
            r#"
[[shopee.shops]]
app = "{APP}"
shop_id = {shop}
name = "Bench Shop {i:03}"
region = "SG"
"#
        );
        let target = match fleet {
            Fleet::Robots => {
                let key = robot_key(i);
                let _ = write!(
                    out,
                    r#"
[[wecom.robots]]
id = "r{i:03}"
key = "{key}"
api_base = "{wecom}"
"#
                );
                format!(r#"{{ type = "robot", robot = "r{i:03}" }}"#)
            }
            Fleet::Apps { members } => {
                let agent = agent_id(i);
                let _ = write!(
                    out,
                    r#"
[[wecom.apps]]
id = "a{i:03}"
corp_id = "wwsim00000000000001"
secret = "bench-secret-{i:03}"
agent_id = {agent}
api_base = "{wecom}"
rate_per_minute = {UNLIMITED}
"#
                );
                // One rule per member: the shop's orders take turns (see `create_orders`).
                for k in 0..members {
                    let _ = write!(
                        out,
                        r#"
[[routes]]
id = "shop-{i:03}-{k:02}"
events = ["order_created"]
shops = [{shop}]
when = {{ payment_method = ["{}"] }}
targets = [{{ type = "wecom_app", app = "a{i:03}", users = ["{}"] }}]
"#,
                        slot_payment(k),
                        app_member(i, k)
                    );
                }
                continue;
            }
            Fleet::SharedApp => {
                if i == 0 {
                    let agent = agent_id(0);
                    let _ = write!(
                        out,
                        r#"
[[wecom.apps]]
id = "a000"
corp_id = "wwsim00000000000001"
secret = "bench-secret-000"
agent_id = {agent}
api_base = "{wecom}"
"#
                    );
                }
                format!(r#"{{ type = "wecom_app", app = "a000", users = ["{}"] }}"#, member(i))
            }
        };
        let _ = write!(
            out,
            r#"
[[routes]]
id = "shop-{i:03}"
events = ["order_created"]
shops = [{shop}]
targets = [{target}]
"#
        );
    }
    out
}

/// The simulated corp: the fleet's robots, or its apps and one-member departments.
fn wecom_config(n: usize, fleet: Fleet, limits: SimLimits) -> WeComSimConfig {
    match fleet {
        Fleet::Robots => WeComSimConfig {
            robot_keys: (0..n).map(robot_key).collect(),
            limits,
            ..WeComSimConfig::default()
        },
        Fleet::Apps { members } => WeComSimConfig {
            apps: (0..n)
                .map(|i| SimApp {
                    agent_id: agent_id(i),
                    secret: format!("bench-secret-{i:03}"),
                    name: format!("Bench App {i:03}"),
                })
                .collect(),
            users: (0..n)
                .flat_map(|i| (0..members).map(move |k| app_member(i, k)))
                .collect(),
            limits,
            ..WeComSimConfig::default()
        },
        Fleet::SharedApp => WeComSimConfig {
            apps: vec![SimApp {
                agent_id: agent_id(0),
                secret: "bench-secret-000".into(),
                name: "Bench App".into(),
            }],
            users: (0..n).map(member).collect(),
            limits,
            ..WeComSimConfig::default()
        },
    }
}

/// The agent id of the [`Fleet::SharedApp`] app.
pub(super) fn shared_agent_id() -> i64 {
    agent_id(0)
}

/// Simulators and a server with workers on, the shops authorized.
pub(super) struct Setup {
    /// shoprelay.
    pub(super) server: Running,
    /// Simulated Shopee.
    pub(super) shopee: Arc<ShopeeSim>,
    /// Simulated WeCom.
    pub(super) wecom: WeComSim,
    _dir: tempfile::TempDir,
}

/// Starts everything for `n` destinations of `fleet`, the simulator enforcing `limits`.
pub(super) async fn setup(n: usize, fleet: Fleet, limits: SimLimits) -> Result<Setup> {
    let wecom = shoprelay_sim::wecom::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        wecom_config(n, fleet, limits),
        SystemClock::shared(),
    )
    .await?;
    let shops: Vec<SimShop> = (0..n)
        .map(|i| SimShop {
            shop_id: shop_id(i),
            region: "SG".into(),
            name: format!("Bench Shop {i:03}"),
        })
        .collect();
    let main_accounts = vec![SimMainAccount {
        main_account_id: MAIN_ACCOUNT,
        shop_ids: shops.iter().map(|s| s.shop_id).collect(),
        merchant_ids: Vec::new(),
    }];
    let shopee = shoprelay_sim::shopee::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        ShopeeSimConfig {
            shops,
            main_accounts,
            ..ShopeeSimConfig::default()
        },
        SystemClock::shared(),
    )
    .await;
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let secrets = SecretBox::from_base64(&SecretBox::generate_key())?;
    let database = format!("sqlite://{}", dir.path().join("bench.db").display());
    let server = start(listener, StartOptions::new(database, secrets.clone())).await?;
    let file = parse_config(&config_toml(&base, shopee.base_url(), &wecom.base_url(), n, fleet))?;
    let objects = Registry::from_file(&file).to_objects(&secrets)?;
    server
        .engine
        .store()
        .apply_config(&objects, server.engine.clock.now())
        .await?;
    server.engine.reload_config().await?;
    authorize(&base).await?;
    shopee.set_push_target(None, &format!("{base}/push/shopee/{APP}")).await;
    Ok(Setup {
        server,
        shopee: Arc::new(shopee),
        wecom,
        _dir: dir,
    })
}

/// The real authorization flow, with the simulated seller approving the main account (every shop).
async fn authorize(base: &str) -> Result<()> {
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let answer = no_redirect.get(format!("{base}/auth/shopee/{APP}")).send().await?;
    let link = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .context("shoprelay's authorization link did not redirect")?;
    let mut link = url::Url::parse(link).context("shoprelay redirected to an invalid URL")?;
    link.query_pairs_mut()
        .append_pair("sim_main_account_id", &MAIN_ACCOUNT.to_string());
    // Shopee's page and its redirect are followed; shoprelay's answer, a 303 back to the console, is not.
    let to_console = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().path() == "/console/onboarding" {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .build()?;
    let page = to_console.get(link).send().await?;
    let status = page.status();
    let landing = page
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if status != reqwest::StatusCode::SEE_OTHER || !landing.contains("authorized=") {
        let text = page.text().await.unwrap_or_default();
        bail!("authorizing the simulated shops failed: HTTP {status}: {text}");
    }
    Ok(())
}
