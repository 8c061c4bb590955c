//! A crash at any point loses nothing: the real binary is SIGKILLed between acknowledging pushes and
//! delivering their messages, restarted, and every order reaches WeCom exactly once.

use std::collections::HashMap;
use std::time::Duration;

use shoprelay_clock::SystemClock;
use shoprelay_sim::shopee::ShopeeSimConfig;
use shoprelay_sim::wecom::{Fault, FaultAction, WeComSimConfig};
use tokio::net::TcpListener;

use crate::cli::{bin, serve, wait_healthy};
use crate::helpers::{card_rows, card_title, config_toml, APP};

#[tokio::test]
async fn kill_dash_nine_between_ack_and_delivery_loses_nothing() {
    let wecom = shoprelay_sim::wecom::serve(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        WeComSimConfig {
            users: vec!["zhangsan".into()],
            ..WeComSimConfig::default()
        },
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("shoprelay.toml");
    let toml = config_toml(&base, shopee.base_url(), &wecom.base_url(), "sim-app-secret").replace(
        "[server]\n",
        &format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\ndatabase = \"sqlite://{}\"\n",
            dir.path().join("s.db").display()
        ),
    );
    std::fs::write(&config, toml).unwrap();
    let applied = bin().arg("apply").arg("-f").arg(&config).output().unwrap();
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let cfg = config.to_str().unwrap();

    let (mut first, _) = serve(dir.path(), &["-c", cfg], &[]);
    wait_healthy(&base).await;
    let auth = reqwest::get(format!("{base}/auth/shopee/{APP}")).await.unwrap();
    assert!(auth.status().is_success());
    shopee.set_push_target(None, &format!("{base}/push/shopee/{APP}")).await;

    // Every send takes 400 ms, so deliveries are still queued or in flight when the process dies.
    wecom.inject_fault(Fault::new("/cgi-bin/message/send", 4, FaultAction::Latency { ms: 400 }));
    let mut orders = Vec::new();
    for _ in 0..12 {
        let change = shopee
            .create_order(shoprelay_sim::shopee::NewOrder {
                status: Some("READY_TO_SHIP".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            change.pushes.iter().all(|p| p.delivered),
            "each push acknowledged before the crash"
        );
        orders.push(change.order.order_sn);
    }
    // Killed as soon as the first card is through, while the rest are being sent (the first sends take
    // 400 ms each).
    let started = wait_for(Duration::from_secs(30), || async {
        wecom.messages().iter().any(|m| m.msgtype == "template_card")
    })
    .await;
    assert!(started, "a first card reached WeCom before the crash");
    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();
    let before_restart = wecom.messages().len();
    assert!(
        before_restart < 24,
        "the crash must come before everything was delivered ({before_restart})"
    );

    let (_second, _) = serve(dir.path(), &["-c", cfg], &[]);
    wait_healthy(&base).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let cards = wecom
            .messages()
            .into_iter()
            .filter(|m| m.msgtype == "template_card")
            .count();
        if cards >= orders.len() || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Counted once nothing is left to send, so a late duplicate would be seen.
    let drained = wait_for(Duration::from_secs(30), || async {
        let metrics = reqwest::get(format!("{base}/metrics")).await.ok()?.text().await.ok()?;
        let pending = |name: &str| {
            let line = metrics.lines().find(|l| l.split_whitespace().next() == Some(name))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        };
        Some(pending("shoprelay_inbox_pending")? == 0.0 && pending("shoprelay_deliveries_pending")? == 0.0)
    })
    .await;
    assert!(drained, "the restarted server's queues drained");

    let mut per_order: HashMap<String, usize> = HashMap::new();
    for m in wecom
        .messages()
        .iter()
        .filter(|m| m.msgtype == "template_card" && card_title(m) == "新订单")
    {
        if let Some((_, sn)) = card_rows(m).into_iter().find(|(k, _)| k == "订单号") {
            *per_order.entry(sn).or_default() += 1;
        }
    }
    for sn in &orders {
        assert_eq!(
            per_order.get(sn),
            Some(&1),
            "order {sn} must reach WeCom exactly once: {per_order:?}"
        );
    }
    let robots = wecom.messages().iter().filter(|m| m.msgtype == "markdown").count();
    assert!(robots >= orders.len(), "robot messages are not lost either ({robots})");

    let audit = bin()
        .args(["audit", "-c", cfg, "--kind", "delivery", "--json", "--limit", "500"])
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .filter(|l| l.contains("\"delivered\""))
        .count();
    assert!(
        lines >= 2 * orders.len(),
        "every delivery is in the audit log ({lines})"
    );
}

/// Polls `ready` every 50 ms until it holds or `limit` has passed (these are real processes on the host's
/// clock); whether it held.
async fn wait_for<F, Fut, R>(limit: Duration, mut ready: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = R>,
    R: Into<Option<bool>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if ready().await.into() == Some(true) {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
