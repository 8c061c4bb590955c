//! `shoprelay demo`: the whole product against built-in simulators of Shopee and WeCom — a simulated
//! shop is authorized through the real OAuth flow, orders move through their statuses, and the
//! messages the simulated WeCom received are shown (in the terminal and on the simulator's page).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use shoprelay_clock::SystemClock;
use shoprelay_core::secret::SecretBox;
use shoprelay_engine::config::{parse_config, Registry};
use shoprelay_sim::shopee::{NewItem, NewOrder, ShopeeSim, ShopeeSimConfig};
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
    /// Simulated WeCom.
    pub wecom: WeComSim,
    _dir: Option<tempfile::TempDir>,
}

const APP: &str = "demo";

fn demo_config(server: &str, shopee: &str, wecom: &str) -> String {
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
shop_id = 727720655
name = "演示店铺 Demo Shop SG"
region = "SG"

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
"#
    )
}

/// Starts simulators and shoprelay, applies the demo configuration and authorizes the shop.
pub async fn setup(listen: &str, data_dir: Option<PathBuf>) -> Result<Demo> {
    let wecom = shoprelay_sim::wecom::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        WeComSimConfig {
            users: vec!["zhangsan".into(), "lisi".into()],
            ..WeComSimConfig::default()
        },
        SystemClock::shared(),
    )
    .await?;
    let shopee = shoprelay_sim::shopee::serve(
        TcpListener::bind("127.0.0.1:0").await?,
        ShopeeSimConfig::default(),
        SystemClock::shared(),
    )
    .await;
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
    let secrets = SecretBox::from_base64(&SecretBox::generate_key())?;
    let database = format!("sqlite://{}", path.join("demo.db").display());
    let server = start(listener, StartOptions::new(database, secrets.clone())).await?;
    let base = format!("http://{addr}");

    let file = parse_config(&demo_config(&base, shopee.base_url(), &wecom.base_url()))?;
    let objects = Registry::from_file(&file).to_objects(&secrets)?;
    server
        .engine
        .store
        .apply_config(&objects, server.engine.clock.now_ms())
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
    Ok(Demo {
        server,
        shopee,
        wecom,
        _dir: dir,
    })
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

/// Creates a few orders and moves them through their statuses; returns their numbers.
pub async fn play_orders(demo: &Demo) -> Result<Vec<String>> {
    let sim = &demo.shopee;
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
    Ok(vec![first, second, third])
}

/// Waits until the workers have processed every push and settled every delivery (or the timeout passes).
pub async fn settle(demo: &Demo, timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        // The server's own workers do the work; this only watches the queues.
        let q = demo.server.engine.store.queue_depths().await?;
        if q.inbox_pending == 0 && q.deliveries_pending == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("work still pending after {timeout:?}: {q:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn summary_line(m: &SimMessage) -> String {
    let title = m.body["template_card"]["main_title"]["title"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            m.body["markdown"]["content"]
                .as_str()
                .and_then(|c| c.lines().next())
                .map(|l| l.trim_start_matches("### ").to_owned())
        })
        .unwrap_or_else(|| m.msgtype.clone());
    let order = m.body["template_card"]["horizontal_content_list"][0]["value"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let to = if m.recipients.is_empty() {
        "群机器人 robot".to_owned()
    } else {
        m.recipients.join(",")
    };
    format!("  #{:<3} {:<16} {:<24} {:<18} → {}", m.id, m.msgtype, title, order, to)
}

/// Runs the demo.
pub async fn run(args: Args) -> Result<ExitCode> {
    println!(
        "启动模拟的 Shopee 与企业微信，并授权演示店铺… starting simulated Shopee and WeCom, authorizing the demo shop…"
    );
    let demo = setup(&args.listen, args.data_dir).await?;
    let base = format!("http://{}", demo.server.addr);
    println!("  shoprelay:        {base}/");
    println!("  模拟 Shopee:      {}", demo.shopee.base_url());
    println!("  模拟企业微信 page: {}/sim", demo.wecom.base_url());
    let orders = play_orders(&demo).await?;
    println!("已创建订单 orders: {}", orders.join(", "));
    settle(&demo, Duration::from_secs(30)).await?;
    let messages = demo.wecom.messages();
    println!(
        "\n企业微信收到 {} 条消息 WeCom received {} messages:",
        messages.len(),
        messages.len()
    );
    for m in &messages {
        println!("{}", summary_line(m));
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
