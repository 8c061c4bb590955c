//! Scale-out: three `shoprelay serve` processes on one PostgreSQL database take pushes round-robin; one is
//! SIGKILLed mid-run. No event is lost, none is delivered twice, and the destination never gets more than
//! its budget. Needs `DATABASE_URL` (skipped, visibly, without it).
//!
//! A test binary of its own: its budget windows are real minutes, and cargo runs test binaries one after
//! another, so no other test competes with it for the machine.

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/process.rs"]
mod process;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use shoprelay_clock::{Clock, SystemClock, UnixMs};
use shoprelay_core::destination::Destination;
use shoprelay_core::secret::SecretBox;
use shoprelay_sim::shopee::ShopeeSimConfig;
use shoprelay_sim::wecom::WeComSimConfig;
use shoprelay_store::{AuditLog, DestinationState, Outbox, SqlStore};
use tokio::net::TcpListener;

use process::{bin, serve, wait_healthy};

const PUBLIC_URL: &str = "http://relay.test";
const PARTNER_KEY: &str = "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f";
const SHOP: u64 = 727720655;
/// Below WeCom's 30 a minute per member, which also holds the department this test sends to.
const BUDGET: usize = 20;
const ORDERS: usize = 60;

async fn fresh_database() -> Option<String> {
    let base = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    let Some(base) = base else {
        eprintln!("SKIPPED: DATABASE_URL is not set, the three-replica test needs PostgreSQL");
        return None;
    };
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("DATABASE_URL must be reachable");
    // Named with its creation time: the conformance suite's cleanup (another run may be going on against
    // the same server) drops only test databases older than ten minutes.
    let created = SystemClock.now().as_secs();
    let name = format!("shoprelay_t_{created}_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&name);
    Some(url.to_string())
}

fn order_sn(i: usize) -> String {
    format!("RPL{i:05}X")
}

#[tokio::test]
async fn three_replicas_lose_nothing_duplicate_nothing_and_keep_the_budget() {
    let Some(database) = fresh_database().await else { return };
    let wecom = shoprelay_sim::wecom::serve(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        WeComSimConfig::default(),
        SystemClock::shared(),
    )
    .await
    .unwrap();
    let shopee = shoprelay_sim::shopee::serve(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        ShopeeSimConfig::default(),
        SystemClock::shared(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let key = SecretBox::generate_key();
    let config = dir.path().join("shoprelay.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
public_url = "{PUBLIC_URL}"
database = "{database}"

[[shopee.apps]]
id = "main"
partner_id = 2001887
partner_key = "{PARTNER_KEY}"
api_base = "{shopee}"

[[shopee.shops]]
app = "main"
shop_id = {SHOP}
name = "Shop"

[[wecom.apps]]
id = "hq"
corp_id = "wwsim00000000000001"
secret = "sim-app-secret"
agent_id = 1000002
api_base = "{wecom}"
rate_per_minute = {BUDGET}

[[routes]]
id = "all-orders"
events = ["order_created"]
targets = [{{ type = "wecom_app", app = "hq", departments = [1] }}]
"#,
            shopee = shopee.base_url(),
            wecom = wecom.base_url()
        ),
    )
    .unwrap();
    let envs = [("SHOPRELAY_MASTER_KEY", key.as_str())];
    let applied = bin()
        .env("SHOPRELAY_MASTER_KEY", &key)
        .arg("apply")
        .arg("-f")
        .arg(&config)
        .output()
        .unwrap();
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));

    let cfg = config.to_str().unwrap();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let (proc, base) = serve(dir.path(), &["-c", cfg, "--listen", &listen], &envs);
        wait_healthy(&base).await;
        replicas.push((proc, base));
    }

    // Pushes spread over the replicas, as a load balancer would; signed for the shared public URL.
    let http = reqwest::Client::new();
    let signed_url = format!("{PUBLIC_URL}/push/shopee/main");
    let mut accepted_by: HashMap<usize, usize> = HashMap::new();
    // Dated now: a push far from its arrival is not applied.
    let now = SystemClock.now().as_secs();
    for i in 0..ORDERS {
        if i == ORDERS / 2 {
            // One replica dies mid-run, with whatever it had claimed.
            replicas[1].0 .0.kill().unwrap();
            replicas[1].0 .0.wait().unwrap();
        }
        let body = json!({"code": 3, "shop_id": SHOP, "timestamp": now + i as i64,
            "data": {"ordersn": order_sn(i), "status": "READY_TO_SHIP", "update_time": now + i as i64}})
        .to_string();
        let sig = shoprelay_marketplaces::shopee::push_signature(PARTNER_KEY, &signed_url, body.as_bytes());
        let target = if i >= ORDERS / 2 && i % 3 == 1 {
            (i + 1) % 3
        } else {
            i % 3
        };
        let resp = http
            .post(format!("{}/push/shopee/main", replicas[target].1))
            .header("content-type", "application/json")
            .header("authorization", sig)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "replica {target}");
        *accepted_by.entry(target).or_default() += 1;
    }
    assert_eq!(accepted_by.len(), 3, "load spread over every replica: {accepted_by:?}");

    // Within the first minute at most the budget goes out (the dead replica's leases take up to 30 s): the
    // queue beyond it folds into digests at once, so the window may end up less than full.
    let store = SqlStore::connect(&database, SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while wecom.messages().len() < BUDGET && tokio::time::Instant::now() < deadline {
        let q = store.queue_depths().await.unwrap();
        if (q.inbox_pending, q.deliveries_pending) == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = wecom.messages().len();
    assert!(
        (1..=BUDGET).contains(&sent),
        "never more than the budget in the window, across replicas: {sent}"
    );

    // Let the window pass (forget the send log, unpause), and the rest arrives as digests.
    store.prune_sends(UnixMs::from_millis(i64::MAX)).await.unwrap();
    if let Some(state) = store
        .destination(&Destination::parse("wecom_app:hq").unwrap())
        .await
        .unwrap()
    {
        store
            .set_destination(
                &DestinationState {
                    paused_until: UnixMs::EPOCH,
                    ..state
                },
                UnixMs::EPOCH,
            )
            .await
            .unwrap();
    }
    store
        .release_paced(SystemClock.now(), UnixMs::from_millis(i64::MAX))
        .await
        .unwrap();
    // The dead replica's claims come back after 30 s; on a loaded machine the drain takes longer still.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let q = store.queue_depths().await.unwrap();
        if (q.inbox_pending, q.deliveries_pending) == (0, 0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "work still queued after the drain (not lost, but not done either): {q:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in wecom.messages() {
        if m.msgtype == "template_card" {
            let rows = m.body["template_card"]["horizontal_content_list"].as_array().cloned();
            let sn = rows.into_iter().flatten().find(|r| r["keyname"] == "订单号");
            if let Some(sn) = sn.and_then(|r| r["value"].as_str().map(str::to_owned)) {
                *seen.entry(sn).or_default() += 1;
            }
        } else if let Some(content) = m.body["markdown"]["content"].as_str() {
            let token = content
                .split("/digests/")
                .nth(1)
                .and_then(|t| t.split(')').next())
                .unwrap_or_default();
            for item in store.digest_items(token).await.unwrap() {
                *seen.entry(item.order_sn.unwrap_or_default()).or_default() += 1;
            }
        }
    }
    for i in 0..ORDERS {
        assert_eq!(
            seen.get(&order_sn(i)),
            Some(&1),
            "order {} exactly once: {seen:?}",
            order_sn(i)
        );
    }
    assert_eq!(wecom.stats().dropped_over_limit, 0);
    let audit = store.query_audit(&Default::default()).await.unwrap();
    assert!(!audit.is_empty());
}
