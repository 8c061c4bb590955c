//! `shoprelay demo`: the whole product against built-in simulators of Shopee, Lazada, TikTok Shop and WeCom —
//! a simulated Shopee shop is authorized through the real OAuth flow, a simulated Lazada seller through
//! Lazada's token API and a TikTok Shop seller through TikTok's, orders of all three move through their
//! statuses, and the messages the simulated WeCom received are shown (in the terminal and on the
//! simulator's page).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use shoprelay_clock::SystemClock;
use shoprelay_core::ids::ShopId;
use shoprelay_core::secret::SecretBox;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_sim::lazada::{self as lazada_sim, LazadaSim, LazadaSimConfig};
use shoprelay_sim::shopee::{NewItem, NewOrder, ShopeeSim, ShopeeSimConfig};
use shoprelay_sim::tiktok::{self as tiktok_sim, TiktokSim, TiktokSimConfig};
use shoprelay_sim::wecom::{SimMessage, WeComSim, WeComSimConfig};
use tokio::net::TcpListener;

use crate::server::{start, Running, StartOptions};

/// `demo` options.
#[derive(clap::Args)]
pub struct Args {
    /// Where shoprelay listens during the demo.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Keep the demo's database here (default: a temporary folder, removed at exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Exit after the summary instead of waiting for Ctrl-C.
    #[arg(long)]
    exit: bool,
}

/// The demo's moving parts, kept alive together.
pub struct Demo {
    /// shoprelay itself.
    pub server: Running,
    /// Simulated Shopee.
    pub shopee: ShopeeSim,
    /// Simulated Lazada.
    pub lazada: LazadaSim,
    /// The Lazada seller the demo's Lazada shop is.
    pub lazada_seller: ShopId,
    /// Simulated TikTok Shop.
    pub tiktok: TiktokSim,
    /// The demo's TikTok shop.
    pub tiktok_shop: ShopId,
    /// Simulated WeCom.
    pub wecom: WeComSim,
    _dir: Option<tempfile::TempDir>,
}

const APP: &str = "demo";
const SHOPEE_SHOP: u64 = 727720655;
const SHOPEE_SHOP_NAME: &str = "演示店铺 Demo Shop SG";
/// The Shopee buyer who writes to the demo shop.
const DEMO_BUYER: u64 = 880_001;
const LAZADA_APP: &str = "demo-lazada";
const LAZADA_SHOP_NAME: &str = "来赞达演示店 Demo Lazada SG";
const TIKTOK_APP: &str = "demo-tiktok";
const TIKTOK_SHOP_NAME: &str = "TikTok 演示店 Demo TikTok Shop UK";

/// Where the demo's simulators answer, and which Lazada seller is its Lazada shop.
struct Endpoints<'a> {
    server: &'a str,
    shopee: &'a str,
    lazada: &'a str,
    tiktok: &'a str,
    wecom: &'a str,
    lazada_seller: ShopId,
    tiktok_shop: ShopId,
}

fn demo_config(at: &Endpoints<'_>) -> String {
    let Endpoints {
        server,
        shopee,
        lazada,
        tiktok,
        wecom,
        lazada_seller,
        tiktok_shop,
    } = at;
    format!(
        r#"
[server]
public_url = "{server}"

[admin]
targets = [{{ type = "robot", robot = "ops" }}]

[[shopee.apps]]
id = "{APP}"
partner_id = 2001887
partner_key = "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f"
api_base = "{shopee}"

[[shopee.shops]]
app = "{APP}"
shop_id = {SHOPEE_SHOP}
name = "{SHOPEE_SHOP_NAME}"
region = "SG"

# The simulator's default app key and secret; one API base stands in for every country's host.
[[lazada.apps]]
id = "{LAZADA_APP}"
app_key = "123456"
app_secret = "helloworld"
api_base = "{lazada}"
auth_base = "{lazada}"

[[lazada.shops]]
app = "{LAZADA_APP}"
shop_id = {lazada_seller}
name = "{LAZADA_SHOP_NAME}"
region = "SG"

# The simulator's default app; one base stands in for the API, token and authorization hosts.
[[tiktok.apps]]
id = "{TIKTOK_APP}"
app_key = "29a39d"
app_secret = "e59af819cc"
service_id = "7100000000000000001"
api_base = "{tiktok}"
auth_base = "{tiktok}"
authorize_base = "{tiktok}"

[[tiktok.shops]]
app = "{TIKTOK_APP}"
shop_id = {tiktok_shop}
name = "{TIKTOK_SHOP_NAME}"
region = "GB"

[[wecom.apps]]
id = "hq"
corp_id = "wwsim00000000000001"
secret = "sim-app-secret"
agent_id = 1000002
api_base = "{wecom}"

[[wecom.robots]]
id = "ops"
key = "sim-robot-key"
api_base = "{wecom}"

[[routes]]
id = "orders-to-sales"
events = ["order_created", "order_status_changed", "tracking_number_assigned"]
targets = [{{ type = "wecom_app", app = "hq", users = ["zhangsan", "lisi"] }}]

[[routes]]
id = "new-orders-to-group"
events = ["order_created"]
targets = [{{ type = "robot", robot = "ops" }}]

# A buyer's message goes to one member, who acknowledges it: a conversation and an item to acknowledge.
[[routes]]
id = "customer-service"
events = ["buyer_message"]
[routes.assign]
app = "hq"
members = [{{ user = "zhangsan" }}, {{ user = "lisi" }}]
"#
    )
}

/// Starts simulators and shoprelay on one clock, applies the demo configuration and authorizes both shops.
pub async fn setup(listen: &str, data_dir: Option<PathBuf>) -> Result<Demo> {
    let clock = SystemClock::shared();
    let wecom = shoprelay_sim::wecom::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        WeComSimConfig {
            users: vec!["zhangsan".into(), "lisi".into()],
            ..WeComSimConfig::default()
        },
        clock.clone(),
    )
    .await?;
    let shopee = shoprelay_sim::shopee::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        ShopeeSimConfig::default(),
        clock.clone(),
    )
    .await;
    let lazada = lazada_sim::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        LazadaSimConfig::default(),
        clock.clone(),
    )
    .await;
    let (account, lazada_seller) = lazada_seller(&lazada)?;
    let tiktok = tiktok_sim::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        TiktokSimConfig::default(),
        clock.clone(),
    )
    .await;
    let (open_id, tiktok_shop) = tiktok_shop(&tiktok)?;
    let (dir, path) = match data_dir {
        Some(p) => {
            std::fs::create_dir_all(&p)?;
            (None, p)
        }
        None => {
            let t = tempfile::tempdir()?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let database = format!("sqlite://{}", path.join("demo.db").display());
    // A kept database gets its key file beside it, so `shoprelay serve --database` can open it afterwards.
    let secrets = match dir {
        None => crate::settings::master_key(&database)?,
        Some(_) => SecretBox::from_base64(&SecretBox::generate_key())?,
    };
    let mut options = StartOptions::new(database, secrets.clone());
    options.clock = clock.clone();
    let server = start(listener, options).await?;
    let base = format!("http://{addr}");

    let file = parse_config(&demo_config(&Endpoints {
        server: &base,
        shopee: shopee.base_url(),
        lazada: &lazada.rest_url(),
        tiktok: tiktok.base_url(),
        wecom: &wecom.base_url(),
        lazada_seller,
        tiktok_shop,
    }))?;
    let objects = Registry::from_file(&file).to_objects(&secrets)?;
    server
        .engine
        .store()
        .apply_config(&objects, server.engine.clock.now())
        .await?;
    server.engine.reload_config().await?;

    // The real authorization flow: shoprelay's link → (simulated) Shopee approval → our callback.
    let page = reqwest::get(format!("{base}/auth/shopee/{APP}")).await?;
    if !page.status().is_success() {
        bail!(
            "authorizing the simulated shop failed: {}",
            page.text().await.unwrap_or_default()
        );
    }
    shopee.set_push_target(None, &format!("{base}/push/shopee/{APP}")).await;

    let lazada_app = file
        .marketplaces
        .lazada
        .apps
        .first()
        .context("the demo configuration has no Lazada app")?;
    authorize_lazada(&base, &lazada, lazada_app.id.as_str(), &account).await?;
    lazada.set_push_target(Some(&lazada_app.callback_url(&base)));

    let tiktok_app = file
        .marketplaces
        .tiktok
        .apps
        .first()
        .context("the demo configuration has no TikTok Shop app")?;
    authorize_tiktok(&base, &tiktok, tiktok_app.id.as_str(), &open_id).await?;
    tiktok.set_push_target(Some(&tiktok_app.callback_url(&base)));
    Ok(Demo {
        server,
        shopee,
        lazada,
        lazada_seller,
        tiktok,
        tiktok_shop,
        wecom,
        _dir: dir,
    })
}

/// The simulator's first seller: its login and its seller id (the Lazada shop's id in shoprelay).
fn lazada_seller(sim: &LazadaSim) -> Result<(String, ShopId)> {
    let seller = sim
        .config()
        .sellers
        .first()
        .context("the Lazada simulator has no seller")?;
    let country = seller
        .country_user_info
        .first()
        .context("the Lazada simulator's seller sells in no country")?;
    let id = country
        .seller_id
        .parse::<ShopId>()
        .with_context(|| format!("the Lazada seller id {} is not a shop id", country.seller_id))?;
    Ok((seller.account.clone(), id))
}

/// The seller authorizes through shoprelay's Lazada link, as a real one would: the link names the redirect
/// (with its single-use state); the seller logs in at Lazada (the simulator's approval stands in for the
/// page) and Lazada sends the code to that redirect, where shoprelay exchanges it for tokens.
async fn authorize_lazada(base: &str, sim: &LazadaSim, app: &str, account: &str) -> Result<()> {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let start = no_redirects.get(format!("{base}/auth/lazada/{app}")).send().await?;
    let link = start
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .context("shoprelay's Lazada authorization link did not redirect")?;
    let redirect = url::Url::parse(link)?
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .context("the Lazada authorization link names no redirect_uri")?;
    let code = sim.authorize(account)?;
    let answer = reqwest::get(format!("{redirect}&code={code}")).await?;
    if !answer.status().is_success() {
        bail!(
            "authorizing the simulated Lazada seller failed: HTTP {}",
            answer.status()
        );
    }
    Ok(())
}

/// The simulator's first seller: its open id and its first shop (the TikTok shop's id in shoprelay).
fn tiktok_shop(sim: &TiktokSim) -> Result<(String, ShopId)> {
    let seller = sim
        .config()
        .sellers
        .first()
        .context("the TikTok Shop simulator has no seller")?;
    let shop = seller
        .shops
        .first()
        .context("the TikTok Shop simulator's seller has no shop")?;
    let id = shop
        .id
        .parse::<ShopId>()
        .with_context(|| format!("the TikTok shop id {} is not a shop id", shop.id))?;
    Ok((seller.open_id.clone(), id))
}

/// The seller authorizes through shoprelay's TikTok Shop link: the link carries the single-use state; the
/// seller approves at TikTok (the simulator's approval stands in for the page), and TikTok sends the code
/// and the state to the redirect URL registered for the service, shoprelay's callback.
async fn authorize_tiktok(base: &str, sim: &TiktokSim, app: &str, open_id: &str) -> Result<()> {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let start = no_redirects.get(format!("{base}/auth/tiktok/{app}")).send().await?;
    let link = start
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .context("shoprelay's TikTok Shop authorization link did not redirect")?;
    let state = url::Url::parse(link)?
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .context("the TikTok Shop authorization link carries no state")?;
    let code = sim.authorize(open_id)?;
    let callback = url::Url::parse_with_params(
        &format!("{base}/auth/tiktok/{app}/callback"),
        [("code", code.as_str()), ("state", state.as_str())],
    )?;
    let answer = reqwest::get(callback).await?;
    if !answer.status().is_success() {
        bail!(
            "authorizing the simulated TikTok Shop seller failed: HTTP {}",
            answer.status()
        );
    }
    Ok(())
}

fn item(name: &str, model: &str, sku: &str, quantity: u32, price: f64) -> NewItem {
    NewItem {
        item_name: name.into(),
        item_sku: sku.into(),
        model_name: model.into(),
        model_sku: format!("{sku}-{model}"),
        quantity,
        price,
        original_price: None,
    }
}

fn lazada_item(name: &str, sku: &str, quantity: u32, price: f64) -> lazada_sim::NewItem {
    lazada_sim::NewItem {
        name: name.into(),
        sku: sku.into(),
        price,
        paid_price: None,
        quantity,
    }
}

/// The orders the tour created, by marketplace.
pub struct TourOrders {
    /// Shopee order numbers (`order_sn`).
    pub shopee: Vec<String>,
    /// Lazada order ids.
    pub lazada: Vec<String>,
    /// TikTok Shop order ids.
    pub tiktok: Vec<String>,
}

impl TourOrders {
    /// The marketplace an order of the tour is from.
    fn platform_of(&self, order: &str) -> Option<&'static str> {
        if self.shopee.iter().any(|o| o == order) {
            Some("Shopee")
        } else if self.lazada.iter().any(|o| o == order) {
            Some("Lazada")
        } else if self.tiktok.iter().any(|o| o == order) {
            Some("TikTok Shop")
        } else {
            None
        }
    }
}

/// Creates a few orders in each shop and moves them through their statuses; returns their numbers.
pub async fn play_orders(demo: &Demo) -> Result<TourOrders> {
    Ok(TourOrders {
        shopee: play_shopee_orders(&demo.shopee).await?,
        lazada: play_lazada_orders(&demo.lazada, demo.lazada_seller).await?,
        tiktok: play_tiktok_orders(&demo.tiktok, demo.tiktok_shop).await?,
    })
}

async fn play_shopee_orders(sim: &ShopeeSim) -> Result<Vec<String>> {
    let first = sim
        .create_order(NewOrder {
            items: vec![
                item("陶瓷马克杯 Ceramic Mug 350ml", "Blue", "MUG-350", 2, 12.9),
                item("杯垫 Coaster", "Oak", "CST-01", 1, 3.5),
            ],
            buyer_username: Some("buyer_ana".into()),
            currency: Some("SGD".into()),
            status: Some("UNPAID".into()),
            ..NewOrder::default()
        })
        .await?
        .order
        .order_sn;
    sim.set_order_status(&first, "READY_TO_SHIP").await?;
    sim.set_order_status(&first, "PROCESSED").await?;
    sim.assign_tracking(&first, "SPXSG0123456789").await?;
    sim.set_order_status(&first, "SHIPPED").await?;
    let second = sim
        .create_order(NewOrder {
            items: vec![item("蓝牙耳机 Wireless Earbuds", "White", "EAR-W1", 1, 39.0)],
            buyer_username: Some("lim.wei".into()),
            currency: Some("SGD".into()),
            status: Some("READY_TO_SHIP".into()),
            cod: true,
            ..NewOrder::default()
        })
        .await?
        .order
        .order_sn;
    let third = sim
        .create_order(NewOrder {
            buyer_username: Some("k.tan".into()),
            status: Some("UNPAID".into()),
            ..NewOrder::default()
        })
        .await?
        .order
        .order_sn;
    sim.set_order_status(&third, "CANCELLED").await?;
    // The first order's buyer asks about it in Shopee's chat.
    sim.buyer_says(SHOPEE_SHOP, DEMO_BUYER, "buyer_ana", "你好，马克杯今天能发货吗？")
        .await?;
    Ok(vec![first, second, third])
}

/// Lazada pushes every order line's status; shoprelay sends one message per order all the same.
async fn play_lazada_orders(sim: &LazadaSim, seller: ShopId) -> Result<Vec<String>> {
    let first = sim
        .create_order(lazada_sim::NewOrder {
            seller_id: Some(seller.to_string()),
            status: Some("pending".into()),
            items: vec![
                lazada_item("竹制牙刷 Bamboo Toothbrush", "BT-4", 2, 4.9),
                lazada_item("旅行收纳袋 Travel Pouch", "TP-1", 1, 9.9),
            ],
            customer_first_name: Some("Siti".into()),
            customer_last_name: Some("Rahman".into()),
            payment_method: Some("MIXEDCARD".into()),
            ..lazada_sim::NewOrder::default()
        })
        .await?
        .order
        .order_id;
    sim.set_order_status(first, "packed").await?;
    sim.set_order_status(first, "shipped").await?;
    // Cash on delivery, the simulator's default payment method.
    let second = sim
        .create_order(lazada_sim::NewOrder {
            seller_id: Some(seller.to_string()),
            status: Some("pending".into()),
            items: vec![lazada_item("电饭煲 Rice Cooker 1.8L", "RC-18", 1, 59.0)],
            customer_first_name: Some("Wei Ming".into()),
            ..lazada_sim::NewOrder::default()
        })
        .await?
        .order
        .order_id;
    Ok(vec![first.to_string(), second.to_string()])
}

/// One TikTok Shop order of two units of one SKU and another product, collected and then in transit.
async fn play_tiktok_orders(sim: &TiktokSim, shop: ShopId) -> Result<Vec<String>> {
    let line = |name: &str, sku: &str, quantity: u32, price: &str| tiktok_sim::NewItem {
        name: name.into(),
        sku: sku.into(),
        sku_name: "Default".into(),
        price: price.into(),
        quantity,
    };
    let first = sim
        .create_order(tiktok_sim::NewOrder {
            shop_id: Some(shop.to_string()),
            items: vec![
                line("香薰蜡烛 Scented Candle", "CDL-LAV", 2, "8.50"),
                line("火柴 Matches", "MTC-1", 1, "1.20"),
            ],
            buyer_message: Some("Gift wrap please".into()),
            ..tiktok_sim::NewOrder::default()
        })
        .await?
        .order
        .id;
    sim.set_order_status(first, "AWAITING_COLLECTION").await?;
    sim.set_order_status(first, "IN_TRANSIT").await?;
    Ok(vec![first.to_string()])
}

/// Waits until the workers have processed every push and settled every delivery (or the timeout passes).
pub async fn settle(demo: &Demo, timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        // The server's own workers do the work; this only watches the queues.
        let q = demo.server.engine.store().queue_depths().await?;
        if q.inbox_pending == 0 && q.deliveries_pending == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("work still pending after {timeout:?}: {q:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The order number a robot's markdown names in its facts (`> 订单号：<font color="comment">…</font>`).
fn markdown_order(content: &str) -> Option<String> {
    let fact = content
        .lines()
        .find_map(|l| l.strip_prefix("> 订单号：").or_else(|| l.strip_prefix("> Order：")))?;
    let value = fact.split_once('>').map_or(fact, |(_, v)| v);
    Some(value.split('<').next().unwrap_or(value).to_owned())
}

fn summary_line(m: &SimMessage, orders: &TourOrders) -> String {
    let card = &m.body["template_card"];
    let markdown = m.body["markdown"]["content"].as_str().unwrap_or("");
    let title = card["main_title"]["title"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| markdown.lines().next().map(|l| l.trim_start_matches("### ").to_owned()))
        .unwrap_or_else(|| m.msgtype.clone());
    let order = card["horizontal_content_list"][0]["value"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| markdown_order(markdown))
        .unwrap_or_default();
    // A card names its marketplace ("Lazada · shop"); a robot's markdown does not, its order number does.
    let platform = card["source"]["desc"]
        .as_str()
        .and_then(|d| d.split(" · ").next())
        .or_else(|| orders.platform_of(&order))
        .unwrap_or("");
    let to = if m.recipients.is_empty() {
        "群机器人 robot".to_owned()
    } else {
        m.recipients.join(",")
    };
    format!(
        "  #{:<3} {:<16} {:<11} {:<24} {:<18} → {}",
        m.id, m.msgtype, platform, title, order, to
    )
}

/// Runs the demo.
pub async fn run(args: Args) -> Result<ExitCode> {
    println!(
        "启动模拟的 Shopee、Lazada、TikTok Shop 与企业微信，并授权三家演示店铺… starting simulated Shopee, Lazada, TikTok Shop and WeCom, authorizing the three demo shops…"
    );
    let demo = setup(&args.listen, args.data_dir).await?;
    let base = format!("http://{}", demo.server.addr);
    println!("  shoprelay:        {base}/");
    if let Ok(Some(link)) = demo.server.engine.console().setup_link("demo").await {
        println!("  控制台初始化 console setup: {link}");
    }
    println!("  模拟 Shopee:      {}", demo.shopee.base_url());
    println!("  模拟 Lazada:      {}", demo.lazada.base_url());
    println!("  模拟 TikTok Shop: {}", demo.tiktok.base_url());
    println!("  模拟企业微信 page: {}/sim", demo.wecom.base_url());
    println!("  Shopee 店铺 shop: {SHOPEE_SHOP_NAME} ({SHOPEE_SHOP}), 推送 push → {base}/push/shopee/{APP}");
    println!(
        "  Lazada 店铺 shop: {LAZADA_SHOP_NAME} (seller {}), 推送 push → {base}/push/lazada/{LAZADA_APP}",
        demo.lazada_seller
    );
    println!(
        "  TikTok 店铺 shop: {TIKTOK_SHOP_NAME} ({}), 推送 push → {base}/push/tiktok/{TIKTOK_APP}",
        demo.tiktok_shop
    );
    let orders = play_orders(&demo).await?;
    println!(
        "已创建订单 orders: Shopee {} · Lazada {} · TikTok Shop {}",
        orders.shopee.join(", "),
        orders.lazada.join(", "),
        orders.tiktok.join(", ")
    );
    settle(&demo, Duration::from_secs(30)).await?;
    let messages = demo.wecom.messages();
    println!(
        "\n企业微信收到 {} 条消息 WeCom received {} messages:",
        messages.len(),
        messages.len()
    );
    for m in &messages {
        println!("{}", summary_line(m, &orders));
    }
    println!("\n审计 audit: shoprelay audit --config <none>  ·  API {base}/api/v1/audit");
    if args.exit {
        demo.server.stop().await?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("\n演示仍在运行，可打开上面的页面查看；按 Ctrl-C 退出。The demo keeps running — open the pages above; Ctrl-C to quit.");
    let _ = tokio::signal::ctrl_c().await;
    demo.server.stop().await?;
    Ok(ExitCode::SUCCESS)
}
