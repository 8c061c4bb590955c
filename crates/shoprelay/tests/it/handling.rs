//! Rules that do more than broadcast: assignment (分单) with working hours and stickiness, escalation of
//! what nobody acknowledged, quiet hours released as one digest, and the cancellation/return triggers.

use shoprelay_clock::Clock;
use std::time::Duration;

use chrono::{Timelike, Utc};
use shoprelay_core::event::{Event, EventBody};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_engine::routing;
use shoprelay_sim::shopee::TrackingStep;
use shoprelay_sim::wecom::SimMessage;
use shoprelay_store::NewEvent;

use crate::helpers::*;

/// `HH:MM` in Singapore (the test shop's region), `offset_min` from now.
fn sg_clock(offset_min: i64) -> String {
    let t = Utc::now() + chrono::Duration::minutes(offset_min) + chrono::Duration::hours(8);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn assignee(card: &SimMessage) -> Option<String> {
    card_rows(card).into_iter().find(|(k, _)| k == "负责人").map(|(_, v)| v)
}

fn order_of(card: &SimMessage) -> Option<String> {
    card_rows(card).into_iter().find(|(k, _)| k == "订单号").map(|(_, v)| v)
}

fn ack_link(card: &SimMessage) -> Option<String> {
    card.body["template_card"]["jump_list"]
        .as_array()?
        .iter()
        .find(|j| j["title"] == "确认处理")
        .and_then(|j| j["url"].as_str().map(str::to_owned))
}

/// The assigned cards (those naming an assignee), as (order, assignee).
fn assignments(app: &TestApp) -> Vec<(String, String)> {
    app.cards()
        .iter()
        .filter_map(|c| Some((order_of(c)?, assignee(c)?)))
        .collect()
}

#[tokio::test]
async fn orders_are_assigned_in_turn_stick_to_their_owner_and_respect_working_hours() {
    let rules = format!(
        r#"
[[rules]]
id = "cs"
events = ["order_created", "order_status_changed"]
assign = {{ app = "hq", members = [{{ user = "zhangsan" }}, {{ user = "lisi" }}], strategy = "round_robin", sticky = "order" }}

[[rules]]
id = "cancels"
events = ["order_cancelled"]
assign = {{ app = "hq", strategy = "least_open", members = [
    {{ user = "zhangsan", hours = {{ from = "{off_from}", to = "{off_to}" }} }},
    {{ user = "lisi" }},
] }}
"#,
        // zhangsan's shift is over: it ended an hour ago and starts again in an hour.
        off_from = sg_clock(60),
        off_to = sg_clock(-60),
    );
    let app = spawn_authorized_with_rules(rules).await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(app.create_order("READY_TO_SHIP").await);
        app.dispatch_until_settled().await;
    }
    let got = assignments(&app);
    assert_eq!(
        got,
        vec![
            (orders[0].clone(), "zhangsan".to_owned()),
            (orders[1].clone(), "lisi".to_owned()),
            (orders[2].clone(), "zhangsan".to_owned()),
        ],
        "in turn"
    );
    // Every assigned card goes to its assignee only.
    for card in app.cards().iter().filter(|c| assignee(c).is_some()) {
        assert_eq!(card.recipients, vec![assignee(card).unwrap()]);
        assert!(ack_link(card).is_some_and(|l| l.starts_with(&format!("{}/ack/", app.base))));
    }
    // It is lisi's turn, but the first order is zhangsan's: its news goes to zhangsan.
    app.shopee.set_order_status(&orders[0], "PROCESSED").await.unwrap();
    app.dispatch_until_settled().await;
    let got = assignments(&app);
    assert_eq!(got.len(), 4);
    assert_eq!(got[3], (orders[0].clone(), "zhangsan".to_owned()), "sticky per order");

    // Off duty: zhangsan gets no cancellation, though least-open would pick him first.
    app.shopee.set_order_status(&orders[1], "CANCELLED").await.unwrap();
    app.shopee.set_order_status(&orders[2], "CANCELLED").await.unwrap();
    app.dispatch_until_settled().await;
    let cancels: Vec<SimMessage> = app
        .cards()
        .into_iter()
        .filter(|c| card_title(c) == "订单已取消" && assignee(c).is_some())
        .collect();
    assert_eq!(cancels.len(), 2);
    assert!(cancels.iter().all(|c| assignee(c).as_deref() == Some("lisi")));

    let tasks: serde_json::Value = app
        .http
        .get(format!("{}/api/v1/tasks?state=open", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // 3 new orders, 1 status change, and each cancellation twice: as a status change (rule `cs`, sticky
    // to the order's owner) and as a cancellation (rule `cancels`).
    assert_eq!(tasks.as_array().unwrap().len(), 8, "{tasks}");
    assert!(tasks[0].get("token").is_none(), "links are not listed");
}

#[tokio::test]
async fn unacknowledged_items_escalate_and_acknowledged_ones_do_not() {
    let rules = r#"
[[rules]]
id = "cs"
events = ["order_created"]
assign = { app = "hq", members = [{ user = "zhangsan" }, { user = "lisi" }] }
escalate = { after_minutes = 1, targets = [{ type = "robot", robot = "ops" }] }
"#;
    let app = spawn_authorized_with_rules(rules).await;
    let ignored = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let handled = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let cards = app.cards();
    let link = cards
        .iter()
        .find(|c| order_of(c).as_deref() == Some(handled.as_str()) && assignee(c).is_some())
        .and_then(ack_link)
        .expect("the assigned card has an acknowledgement link");

    // Opening the link only shows the item; the button acknowledges it.
    let page = app.http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&handled) && page.contains("<form method=post"), "{page}");
    let done = app.http.post(&link).form(&[("by", "lisi")]).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("已确认"));

    let escalations = |app: &TestApp| -> Vec<String> {
        app.markdowns()
            .into_iter()
            .filter(|m| m.contains("超时未处理"))
            .collect()
    };
    // Nothing escalates before its minute is up.
    app.clock.advance(Duration::from_secs(59));
    app.dispatch().await;
    assert_eq!(escalations(&app), Vec::<String>::new(), "escalated early");
    // The minute passes; only the unacknowledged order escalates, once.
    app.clock.advance(Duration::from_secs(2));
    app.dispatch().await;
    let escalations = escalations(&app);
    assert_eq!(escalations.len(), 1, "{escalations:?}");
    assert!(escalations[0].contains(&ignored), "{}", escalations[0]);
    assert!(
        escalations[0].contains("zhangsan"),
        "names the assignee: {}",
        escalations[0]
    );
    app.dispatch().await;
    assert_eq!(
        app.markdowns().iter().filter(|m| m.contains("超时未处理")).count(),
        1,
        "escalated once"
    );

    let tasks: Vec<serde_json::Value> = app
        .http
        .get(format!("{}/api/v1/tasks", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let state_of = |sn: &str| {
        tasks
            .iter()
            .find(|t| t["order_sn"] == sn)
            .map(|t| (t["state"].as_str().unwrap().to_owned(), t["acked_by"].clone()))
            .unwrap()
    };
    assert_eq!(state_of(&handled), ("acked".into(), serde_json::json!("lisi")));
    assert_eq!(state_of(&ignored).0, "escalated");
    // The console acknowledges by id, late or not.
    let id = tasks.iter().find(|t| t["order_sn"] == ignored.as_str()).unwrap()["id"]
        .as_i64()
        .unwrap();
    let acked: serde_json::Value = app
        .http
        .post(format!("{}/api/v1/tasks/{id}/ack", app.base))
        .json(&serde_json::json!({"by": "supervisor"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(acked["state"], "acked");
    let missing = app
        .http
        .post(format!("{}/api/v1/tasks/999999/ack", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn quiet_hours_hold_messages_and_release_them_as_one_digest() {
    let rules = format!(
        r#"
[[rules]]
id = "night"
events = ["order_created"]
quiet_hours = {{ from = "{from}", to = "{to}" }}
template = "NIGHT {{{{ event.order_sn }}}}"
targets = [{{ type = "robot", robot = "ops" }}]

[[rules]]
id = "night-urgent"
events = ["order_created"]
urgent = true
quiet_hours = {{ from = "{from}", to = "{to}" }}
template = "URGENT {{{{ event.order_sn }}}}"
targets = [{{ type = "robot", robot = "ops" }}]
"#,
        from = sg_clock(-60),
        to = sg_clock(60),
    );
    let app = spawn_authorized_with_rules(rules).await;
    let now_order = app.create_order("READY_TO_SHIP").await;
    // Not `dispatch_until_settled`: the held message stays pending, by design.
    app.dispatch().await;
    app.dispatch().await;
    let md = app.markdowns();
    assert!(
        md.iter().any(|m| m == &format!("URGENT {now_order}")),
        "urgent rules ignore quiet hours"
    );
    assert!(
        !md.iter().any(|m| m.contains("NIGHT")),
        "held during quiet hours: {md:?}"
    );
    let q = app.server.engine.store().queue_depths().await.unwrap();
    assert_eq!(q.deliveries_pending, 1, "the held message waits, not lost");

    // Yesterday at this time was inside yesterday's quiet hours, which are over: what the rule held then
    // is released now, folded into one digest.
    let registry = app.server.engine.registry();
    let yesterday = app.clock.now() - Duration::from_secs(86_400);
    for n in 0..3 {
        let event = Event {
            dedupe_key: format!("quiet-test-{n}"),
            platform: shoprelay_marketplaces::shopee::PLATFORM,
            app: ConfigId::parse(APP).unwrap(),
            shop_id: Some(ShopId::new(SHOP).unwrap()),
            order_sn: Some(OrderSn::parse(&format!("QUIET{n}")).unwrap()),
            occurred_at: yesterday,
            order: None,
            body: EventBody::OrderCreated,
        };
        let mut deliveries = routing::route(&registry, &event, yesterday, Default::default()).deliveries;
        deliveries.retain(|d| d.route_id == "night");
        assert!(deliveries[0].quiet_until.is_some_and(|q| q < app.clock.now()));
        app.server
            .engine
            .store()
            .insert_event(NewEvent { event, deliveries }, yesterday)
            .await
            .unwrap();
    }
    app.dispatch().await;
    let digests: Vec<String> = app
        .markdowns()
        .into_iter()
        .filter(|m| m.contains("免打扰期间"))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert!(digests[0].contains("共 3 条"), "{}", digests[0]);
    let q = app.server.engine.store().queue_depths().await.unwrap();
    assert_eq!(
        q.deliveries_pending, 1,
        "today's message still waits for tonight's quiet hours to end"
    );
}

#[tokio::test]
async fn cancellations_returns_and_mobile_mentions_reach_their_rules() {
    let rules = r#"
[[rules]]
id = "after-sales"
events = ["cancellation_requested", "return_requested", "order_cancelled"]
targets = [{ type = "robot", robot = "ops", mention_mobiles = ["13800001111"] }]
"#;
    let app = spawn_authorized_with_rules(rules).await;
    let a = app.create_order("READY_TO_SHIP").await;
    let b = app.create_order("COMPLETED").await;
    app.dispatch_until_settled().await;
    app.shopee.set_order_status(&a, "IN_CANCEL").await.unwrap();
    app.shopee.set_order_status(&b, "TO_RETURN").await.unwrap();
    app.dispatch_until_settled().await;
    app.shopee.set_order_status(&a, "CANCELLED").await.unwrap();
    app.dispatch_until_settled().await;
    let texts: Vec<serde_json::Value> = app
        .wecom
        .messages()
        .into_iter()
        .filter(|m| m.msgtype == "text")
        .map(|m| m.body)
        .collect();
    let content = |title: &str| {
        texts
            .iter()
            .filter(|t| t["text"]["content"].as_str().unwrap_or_default().starts_with(title))
            .count()
    };
    assert_eq!(content("买家申请取消订单"), 1, "{texts:?}");
    assert_eq!(content("买家申请退货/退款"), 1, "{texts:?}");
    assert_eq!(content("订单已取消"), 1, "{texts:?}");
    assert!(texts
        .iter()
        .all(|t| t["text"]["mentioned_mobile_list"] == serde_json::json!(["13800001111"])));
}

#[tokio::test]
async fn logistics_exceptions_come_from_the_trail_and_the_ship_by_date() {
    let rules = r#"
[[rules]]
id = "parcels"
events = ["logistics_exception"]
stalled_after_days = 2
targets = [{ type = "robot", robot = "ops" }]

[[rules]]
id = "late"
events = ["logistics_exception"]
ship_risk_hours = 80
targets = [{ type = "wecom_app", app = "hq", users = ["lisi"] }]
"#;
    let app = spawn_authorized_with_rules(rules).await;
    let step = |status: &str, ago_secs: i64, description: &str| TrackingStep {
        update_time: app.clock.now().as_secs() - ago_secs,
        description: description.into(),
        logistics_status: status.into(),
    };
    // Due to ship in 72 hours: inside the 80-hour risk window.
    let waiting = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    app.dispatch_until_settled().await;
    let late: Vec<SimMessage> = app
        .cards()
        .into_iter()
        .filter(|c| card_title(c) == "物流异常：即将超时发货")
        .collect();
    assert_eq!(late.len(), 1, "once, however often the watch runs");
    assert_eq!(order_of(&late[0]).as_deref(), Some(waiting.as_str()));
    assert_eq!(late[0].recipients, vec!["lisi".to_owned()]);

    // Shipped, and the trail has not moved for two and a half days.
    let stalled = app.create_order("READY_TO_SHIP").await;
    app.shopee.set_order_status(&stalled, "SHIPPED").await.unwrap();
    app.shopee
        .add_tracking_step(&stalled, step("PICKED_UP", 60 * 3_600, "Parcel picked up"))
        .unwrap();
    // Shipped, delivered three days ago, not yet confirmed by the buyer: quiet, not stalled.
    let delivered = app.create_order("READY_TO_SHIP").await;
    app.shopee.set_order_status(&delivered, "SHIPPED").await.unwrap();
    app.shopee
        .add_tracking_step(&delivered, step("DELIVERED", 72 * 3_600, "Delivered to the buyer"))
        .unwrap();
    // Shipped, and the carrier could not deliver.
    let failed = app.create_order("READY_TO_SHIP").await;
    app.shopee.set_order_status(&failed, "SHIPPED").await.unwrap();
    app.shopee
        .add_tracking_step(&failed, step("FAILED_DELIVERED", 60, "Recipient not at home"))
        .unwrap();
    app.dispatch_until_settled().await;
    app.dispatch_until_settled().await;

    let md = app.markdowns();
    let about = |title: &str, sn: &str| md.iter().filter(|m| m.contains(title) && m.contains(sn)).count();
    assert_eq!(about("物流长时间未更新", &stalled), 1, "{md:#?}");
    assert!(md.iter().any(|m| m.contains(&stalled) && m.contains("无更新天数")));
    assert_eq!(about("派送失败", &failed), 1, "{md:#?}");
    assert!(md.iter().any(|m| m.contains("Recipient not at home")));
    assert_eq!(
        about("物流长时间未更新", &failed),
        0,
        "a failed delivery is not also 'stalled'"
    );
    assert_eq!(
        about("物流异常", &delivered),
        0,
        "a delivered parcel is not an exception"
    );
    // The 80-hour rule hears about the failure too (no threshold applies), not about the 2-day stall.
    let to_lisi: Vec<String> = app
        .cards()
        .iter()
        .filter(|c| c.recipients == ["lisi"])
        .map(card_title)
        .collect();
    assert!(to_lisi.contains(&"物流异常：派送失败".to_owned()), "{to_lisi:?}");
    assert!(
        !to_lisi.contains(&"物流异常：物流长时间未更新".to_owned()),
        "{to_lisi:?}"
    );
}

#[tokio::test]
async fn items_to_acknowledge_held_by_quiet_hours_come_out_one_by_one() {
    let rules = format!(
        r#"
[[rules]]
id = "night-ack"
events = ["order_created"]
quiet_hours = {{ from = "{from}", to = "{to}" }}
template = "ACK {{{{ event.order_sn }}}}"
escalate = {{ after_minutes = 600, targets = [{{ type = "robot", robot = "ops" }}] }}
targets = [{{ type = "robot", robot = "ops" }}]
"#,
        from = sg_clock(-60),
        to = sg_clock(60),
    );
    let app = spawn_authorized_with_rules(rules).await;
    // Held yesterday during quiet hours that are over now (as in the quiet-hours test above).
    let registry = app.server.engine.registry();
    let yesterday = app.clock.now() - Duration::from_secs(86_400);
    for n in 0..2 {
        let event = Event {
            dedupe_key: format!("quiet-ack-{n}"),
            platform: shoprelay_marketplaces::shopee::PLATFORM,
            app: ConfigId::parse(APP).unwrap(),
            shop_id: Some(ShopId::new(SHOP).unwrap()),
            order_sn: Some(OrderSn::parse(&format!("QUIETACK{n}")).unwrap()),
            occurred_at: yesterday,
            order: None,
            body: EventBody::OrderCreated,
        };
        let routed = routing::route(&registry, &event, yesterday, Default::default());
        assert_eq!(routed.tasks.len(), 1, "the rule wants it acknowledged");
        let view = routing::TaskView {
            id: 0,
            assignee: None,
            ack_url: format!("{}/ack/test{n}", app.base),
        };
        let deliveries = routing::render_task(&registry, &event, &routed.tasks[0], &view, Default::default());
        assert!(deliveries.iter().all(|d| d.quiet_until.is_some()));
        app.server
            .engine
            .store()
            .insert_event(NewEvent { event, deliveries }, yesterday)
            .await
            .unwrap();
    }
    app.dispatch().await;
    let md = app.markdowns();
    assert!(
        !md.iter().any(|m| m.contains("免打扰期间")),
        "not folded: a digest has no acknowledge button"
    );
    for n in 0..2 {
        let own: Vec<_> = md.iter().filter(|m| m.contains(&format!("ACK QUIETACK{n}"))).collect();
        assert_eq!(own.len(), 1, "{md:?}");
        assert!(own[0].contains(&format!("/ack/test{n}")), "{}", own[0]);
    }
}
