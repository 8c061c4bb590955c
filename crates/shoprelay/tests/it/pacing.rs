//! WeCom's limits honoured before sending: budgets per destination and member, digests for what does not
//! fit, throttling without spending attempts, and dead letters sent again by replay.

use std::time::Duration;

use shoprelay_clock::Clock;
use shoprelay_core::destination::Destination;
use shoprelay_sim::wecom::{Fault, FaultAction};
use shoprelay_store::{AuditFilter, AuditKind, AuditOutcome, BreakerState};

use crate::helpers::*;

/// Lets every budget window pass, in shoprelay and in the simulator alike: nothing is reset by hand.
fn let_a_minute_pass(app: &TestApp) {
    app.clock.advance(Duration::from_secs(61));
}

#[tokio::test]
async fn a_queue_beyond_the_budget_is_folded_at_once_and_nothing_is_dropped() {
    let app = spawn_app().await;
    app.authorize().await;
    let mut orders = Vec::new();
    for _ in 0..34 {
        orders.push(app.create_order("READY_TO_SHIP").await);
    }
    app.dispatch().await;

    // 34 queued for a robot that takes 20 a minute: sending singles would spend the window and leave the
    // rest for the next one, so its queue went out folded, at once.
    let robot = app.markdowns().len();
    assert!(robot < 20, "folded for the robot, not one message per order: {robot}");
    // The app's own budget (200 a minute) can carry 34; its member's 30 a minute cannot: the member got
    // 30, and what is left for them folds when their window has room again.
    assert_eq!(app.cards().len(), 30, "per-member budget");
    let stats = app.wecom.stats();
    assert_eq!(stats.dropped_over_limit, 0, "WeCom never had to drop anything silently");
    assert!(stats.rejected.is_empty(), "no sends over budget: {:?}", stats.rejected);
    let robot_text = digest_pages(&app, &app.markdowns().join("\n")).await + &app.markdowns().join("\n");
    for sn in &orders {
        assert!(
            robot_text.contains(sn.as_str()),
            "order {sn} reached the robot's group in the first window"
        );
    }

    let_a_minute_pass(&app);
    app.dispatch().await;
    // Every order is visible to the robot's group and to the member — in a message's text or on the
    // digest page it links to, so "…还有 N 条" hides nothing.
    let (mut robot_text, mut member_text) = (String::new(), String::new());
    let mut digests = 0;
    for m in app.wecom.messages() {
        let mut text = m.body.to_string();
        let link = text
            .split("](")
            .filter_map(|l| l.split(')').next())
            .find(|l| l.contains("/digests/"));
        if let Some(link) = link.map(str::to_owned) {
            digests += 1;
            text.push_str(&reqwest::get(link).await.unwrap().text().await.unwrap());
        }
        if m.recipients.is_empty() {
            &mut robot_text
        } else {
            &mut member_text
        }
        .push_str(&text);
    }
    assert!(digests >= 2, "a digest for the robot and one for the member");
    for sn in &orders {
        assert!(robot_text.contains(sn.as_str()), "order {sn} reached the robot's group");
        assert!(member_text.contains(sn.as_str()), "order {sn} reached the member");
    }
    let q = app.server.engine.store().queue_depths().await.unwrap();
    assert_eq!(
        q.deliveries_pending, 0,
        "everything is out without waiting for a window: {q:?}"
    );
}

#[tokio::test]
async fn wecom_throttling_backs_off_without_spending_attempts() {
    let app = spawn_app().await;
    app.authorize().await;
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: 45009 },
    ));
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    let throttled = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Throttled),
            ..Default::default()
        })
        .await;
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0].errcode, Some(45009));
    app.dispatch_until_settled().await;
    let delivered = app
        .audit(AuditFilter {
            order_sn: Some(sn),
            outcome: Some(AuditOutcome::Delivered),
            ..Default::default()
        })
        .await;
    let card = delivered
        .iter()
        .find(|a| a.destination.as_ref().is_some_and(|d| d.to_string() == "wecom_app:hq"))
        .unwrap();
    assert_eq!(card.attempt, Some(1), "being throttled did not use up an attempt");
    let state = app
        .server
        .engine
        .store()
        .destination(&Destination::parse("wecom_app:hq").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.state, BreakerState::Closed, "the breaker closes on success");
}

#[tokio::test]
async fn dead_letters_are_sent_again_by_replay() {
    let app = spawn_app().await;
    app.authorize().await;
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: 40003 },
    ));
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert_eq!(
        app.server.engine.store().queue_depths().await.unwrap().deliveries_dead,
        1
    );

    let url = format!("{}/api/v1/deliveries/replay", app.base);
    let empty = app.http.post(&url).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(empty.status().as_u16(), 400);
    assert_eq!(
        empty.json::<serde_json::Value>().await.unwrap()["code"],
        "replay.empty_filter"
    );
    let resp = app
        .http
        .post(&url)
        .json(&serde_json::json!({"destination": "wecom_app:hq"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["replayed"], 1);
    app.dispatch_until_settled().await;
    assert_eq!(app.cards().len(), 1, "the dead letter was delivered on replay");
    assert_eq!(
        app.server.engine.store().queue_depths().await.unwrap().deliveries_dead,
        0
    );
}

#[tokio::test]
async fn a_paused_destination_resumes_by_itself_when_the_window_passes() {
    // Time moves on a few seconds at a time, in shoprelay and in the simulator alike; nothing is reset by
    // hand.
    let app = spawn_app().await;
    app.authorize().await;
    // Twenty orders fit the robot's minute exactly and go out one by one; six more find it spent.
    let mut orders = Vec::new();
    for _ in 0..20 {
        orders.push(app.create_order("READY_TO_SHIP").await);
    }
    app.dispatch().await;
    assert_eq!(app.markdowns().len(), 20, "within the budget, one message per order");
    for _ in 0..6 {
        orders.push(app.create_order("READY_TO_SHIP").await);
    }
    let started = app.clock.now().as_millis();
    loop {
        app.dispatch().await;
        let md = app.markdowns().join("\n");
        let pages = digest_pages(&app, &md).await;
        if orders.iter().all(|sn| md.contains(sn) || pages.contains(sn)) {
            break;
        }
        assert!(
            app.clock.now().as_millis() - started < 8 * MINUTE_MS,
            "not every order reached the robot within eight minutes"
        );
        app.clock.advance(Duration::from_secs(5));
    }
    assert!(
        app.clock.now().as_millis() - started >= MINUTE_MS,
        "the rest waited for the robot's minute to pass"
    );
    let paced = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Delivery),
            outcome: Some(AuditOutcome::Paced),
            ..Default::default()
        })
        .await;
    assert!(
        paced
            .iter()
            .any(|a| a.destination.as_ref().is_some_and(|d| d.to_string() == "robot:ops")),
        "the robot's budget ran out and it paused"
    );
    let stats = app.wecom.stats();
    assert!(stats.rejected.is_empty(), "never over budget: {:?}", stats.rejected);
    // In any window of one minute, at most 20 robot messages were accepted.
    let at: Vec<u64> = app
        .wecom
        .messages()
        .iter()
        .filter(|m| m.msgtype == "markdown")
        .map(|m| m.at_unix_ms)
        .collect();
    for (i, start) in at.iter().enumerate() {
        let within = at[i..].iter().take_while(|t| **t < start + MINUTE_MS as u64).count();
        assert!(within <= 20, "{within} robot messages within one window");
    }
}

/// WeCom's minute, in milliseconds.
const MINUTE_MS: i64 = 60_000;

/// The text of every digest page linked from `text`.
async fn digest_pages(app: &TestApp, text: &str) -> String {
    let mut pages = String::new();
    for link in text
        .split("](")
        .filter_map(|l| l.split(')').next())
        .filter(|l| l.contains("/digests/"))
    {
        pages.push_str(&app.http.get(link).send().await.unwrap().text().await.unwrap());
    }
    pages
}
