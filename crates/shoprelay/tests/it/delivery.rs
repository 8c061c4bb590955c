//! Delivery: retries with back-off on transient failures, one token refresh on 40014/42001, dead letters
//! with WeCom's errcode and errmsg for what retrying cannot fix — every attempt audited.

use shoprelay_core::destination::Destination;
use shoprelay_sim::wecom::{Fault, FaultAction};
use shoprelay_store::{AuditFilter, AuditKind, AuditOutcome, BreakerState};

use crate::helpers::*;

fn deliveries() -> AuditFilter {
    AuditFilter {
        kind: Some(AuditKind::Delivery),
        ..Default::default()
    }
}

#[tokio::test]
async fn transient_failures_are_retried_until_delivered() {
    let app = spawn_app().await;
    app.authorize().await;
    app.wecom
        .inject_fault(Fault::new("/cgi-bin/message/send", 2, FaultAction::Http500));
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/webhook/send",
        1,
        FaultAction::Errcode { errcode: -1 },
    ));
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert_eq!(app.cards().len(), 1);
    assert_eq!(app.markdowns().len(), 1);
    let audit = app
        .audit(AuditFilter {
            order_sn: Some(sn),
            ..deliveries()
        })
        .await;
    let app_attempts: Vec<(AuditOutcome, Option<i64>)> = audit
        .iter()
        .rev()
        .filter(|a| a.destination.as_ref().is_some_and(|d| d.to_string() == "wecom_app:hq"))
        .map(|a| (a.outcome, a.attempt))
        .collect();
    assert_eq!(
        app_attempts,
        vec![
            (AuditOutcome::Retry, Some(1)),
            (AuditOutcome::Retry, Some(2)),
            (AuditOutcome::Delivered, Some(3))
        ]
    );
    let robot_retry = audit.iter().find(|a| {
        a.destination.as_ref().is_some_and(|d| d.to_string() == "robot:ops") && a.outcome == AuditOutcome::Retry
    });
    assert_eq!(robot_retry.and_then(|a| a.errcode), Some(-1));
    assert!(audit.iter().all(|a| a.latency_ms.is_some()));
}

#[tokio::test]
async fn an_expired_wecom_token_is_refreshed_once() {
    let app = spawn_app().await;
    app.authorize().await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    let tokens_before = app.wecom.stats().gettoken_calls;
    app.wecom.expire_tokens();
    app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    assert_eq!(app.cards().len(), 2);
    assert_eq!(app.wecom.stats().gettoken_calls, tokens_before + 1);
    let retries = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Retry),
            ..deliveries()
        })
        .await;
    assert!(retries.is_empty(), "the refresh happens inside one attempt");
}

#[tokio::test]
async fn a_message_retrying_cannot_fix_becomes_a_dead_letter_with_the_errcode() {
    let app = spawn_app().await;
    app.authorize().await;
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: 40003 },
    ));
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert!(app.cards().is_empty());
    let dead = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Dead),
            ..deliveries()
        })
        .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].errcode, Some(40003));
    assert_eq!(dead[0].attempt, Some(1), "no pointless retries");
    assert!(
        dead[0].detail.contains("40003"),
        "WeCom's errcode and errmsg are kept: {}",
        dead[0].detail
    );
    assert_eq!(
        app.server.engine.store().queue_depths().await.unwrap().deliveries_dead,
        1
    );
    // The destination itself is fine: the next message goes out.
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert_eq!(app.cards().len(), 1);
}

#[tokio::test]
async fn an_untrusted_ip_holds_messages_tells_the_admins_and_delivers_after_the_fix() {
    let app = spawn_app().await;
    app.authorize().await;
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: 60020 },
    ));
    app.create_order("READY_TO_SHIP").await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    assert!(app.cards().is_empty(), "held, not sent");
    let held = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Held),
            ..deliveries()
        })
        .await;
    assert_eq!(held.len(), 1, "one probe failed; the second message waited behind it");
    assert_eq!(held[0].errcode, Some(60020));
    assert!(
        held[0].detail.contains("from ip") && held[0].detail.contains("127.0.0.1"),
        "{}",
        held[0].detail
    );
    let q = app.server.engine.store().queue_depths().await.unwrap();
    assert_eq!(
        (q.deliveries_pending, q.deliveries_dead),
        (2, 0),
        "nothing is lost, nothing is dead"
    );
    let notice = app.markdowns().into_iter().find(|m| m.contains("消息发送受阻"));
    let notice = notice.expect("the admins are told through another destination");
    assert!(notice.contains("wecom_app:hq") && notice.contains("60020"), "{notice}");

    // The admin fixes it (here: any configuration change); held destinations are probed at once.
    let objects = app.server.engine.store().list_config().await.unwrap();
    let mut changed = objects.clone();
    changed[0].fingerprint.push('x');
    app.server
        .engine
        .store()
        .apply_config(&changed, shoprelay_clock::UnixMs::EPOCH)
        .await
        .unwrap();
    app.server.engine.reload_config().await.unwrap();
    app.dispatch_until_settled().await;
    assert_eq!(app.cards().len(), 2, "both held messages delivered after the fix");
}

#[tokio::test]
async fn a_wrong_corp_secret_is_reported_with_its_fix_and_messages_wait() {
    let app = spawn_app_with(Options {
        wecom_secret: "wrong".into(),
        ..Options::default()
    })
    .await;
    app.authorize().await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    let held = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Held),
            ..deliveries()
        })
        .await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].errcode, Some(40001));
    assert!(
        held[0]
            .detail
            .contains("corp secret rejected: check the app's Secret in the WeCom admin console"),
        "{}",
        held[0].detail
    );
    let md = app.markdowns();
    assert!(
        md.iter().any(|m| m.contains("### 新订单")),
        "the robot, which needs no secret, still delivers"
    );
    assert!(
        md.iter().any(|m| m.contains("消息发送受阻") && m.contains("40001")),
        "{md:?}"
    );
    let dest = app
        .server
        .engine
        .store()
        .destination(&Destination::parse("wecom_app:hq").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dest.state, BreakerState::Held);
}

#[tokio::test]
async fn retries_end_in_a_dead_letter_after_the_schedule() {
    let app = spawn_app().await;
    app.authorize().await;
    app.wecom
        .inject_fault(Fault::new("/cgi-bin/message/send", 100, FaultAction::Http500));
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let dead = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Dead),
            ..deliveries()
        })
        .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempt, Some(12));
    assert!(dead[0].detail.contains("retries exhausted"));
}

#[tokio::test]
async fn a_timeout_is_retried_and_then_delivered() {
    let app = spawn_app().await;
    app.authorize().await;
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Timeout { hold_ms: 60_000 },
    ));
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert_eq!(app.cards().len(), 1, "after the timeout the retry delivers");
    let audit = app
        .audit(AuditFilter {
            order_sn: Some(sn),
            outcome: Some(AuditOutcome::Retry),
            ..deliveries()
        })
        .await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn an_unreachable_host_is_retried_then_dead_lettered_with_the_cause() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let extra = format!(
        r#"
[[wecom.robots]]
id = "down"
key = "k"
api_base = "http://{closed}"

[[routes]]
id = "to-down"
events = ["order_created"]
targets = [{{ type = "robot", robot = "down" }}]
"#
    );
    let app = spawn_app_with(Options {
        extra_toml: extra,
        ..Options::default()
    })
    .await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let audit = app.audit(AuditFilter { ..deliveries() }).await;
    let down: Vec<_> = audit
        .iter()
        .filter(|a| a.destination.as_ref().is_some_and(|d| d.to_string() == "robot:down"))
        .collect();
    assert_eq!(down.len(), 12, "every attempt is audited");
    assert_eq!(down[0].outcome, AuditOutcome::Dead);
    assert!(down.iter().skip(1).all(|a| a.outcome == AuditOutcome::Retry));
    assert_eq!(app.cards().len(), 1, "other destinations are unaffected");
}
