//! WeCom as it really behaves: per-PERSON limits whoever a message is addressed through, app group chats
//! that answer 86001 or refuse creation, robot markdown that cannot mention everyone, app chat markdown
//! within 2,048 bytes, and recipients an errcode-0 answer says it did not reach.

use shoprelay_sim::wecom::{Destination, Fault, FaultAction, SimGroup, WeComSimConfig};
use shoprelay_store::AuditOutcome;
use shoprelay_store::{AuditFilter, AuditKind};

use crate::helpers::*;

/// zhangsan is a listed user, in department 2, tagged 7 and (like everyone) in `@all`.
fn corp(c: &mut WeComSimConfig) {
    c.users = vec!["zhangsan".into(), "lisi".into(), "wangwu".into()];
    c.departments = vec![SimGroup {
        id: 2,
        name: "仓库".into(),
        members: vec!["zhangsan".into(), "wangwu".into()],
    }];
    c.tags = vec![SimGroup {
        id: 7,
        name: "客服".into(),
        members: vec!["zhangsan".into()],
    }];
}

/// Besides the "orders" rule (users = ["zhangsan"]): zhangsan again by user, by department, by tag and `@all`.
const OVERLAPPING_RULES: &str = r#"
[[rules]]
id = "by-user"
events = ["order_created"]
targets = [{ type = "wecom_app", app = "hq", users = ["ZhangSan"] }]

[[rules]]
id = "by-department"
events = ["order_created"]
targets = [{ type = "wecom_app", app = "hq", departments = [2] }]

[[rules]]
id = "by-tag"
events = ["order_created"]
targets = [{ type = "wecom_app", app = "hq", tags = [7] }]

[[rules]]
id = "everyone"
events = ["order_created"]
targets = [{ type = "wecom_app", app = "hq", all = true }]
"#;

async fn spawn_corp(extra_toml: &str) -> TestApp {
    let app = spawn_app_with(Options {
        extra_toml: extra_toml.into(),
        wecom_sim: corp,
        ..Options::default()
    })
    .await;
    app.authorize().await;
    app
}

/// Lets every budget window pass, in shoprelay and in the simulator alike: nothing is reset by hand.
fn let_a_minute_pass(app: &TestApp) {
    app.clock.advance(std::time::Duration::from_secs(61));
}

/// Sends eight orders to zhangsan five ways each (40 messages) and checks the simulator's own count.
async fn zhangsan_never_goes_over_the_limit(app: &TestApp) {
    let mut orders = Vec::new();
    for _ in 0..8 {
        orders.push(app.create_order("READY_TO_SHIP").await);
    }
    app.dispatch().await;
    let stats = app.wecom.stats();
    assert_eq!(
        stats.dropped_per_member.get("zhangsan"),
        None,
        "WeCom never had to drop a message to zhangsan: {stats:?}"
    );
    let first_minute = stats.delivered_per_member["zhangsan"];
    assert!(
        first_minute <= 30,
        "{first_minute} messages reached zhangsan in one minute"
    );
    assert!(first_minute >= 8, "the budget is used, not hoarded: {first_minute}");

    // The rest arrives once the window has passed (folded into digests), still without a drop.
    let_a_minute_pass(app);
    app.dispatch_until_settled().await;
    let stats = app.wecom.stats();
    assert_eq!(stats.dropped_over_limit, 0, "{stats:?}");
    let mut seen = String::new();
    for m in app.wecom.messages() {
        if !m.recipients.iter().any(|r| r == "zhangsan") {
            continue;
        }
        let text = m.body.to_string();
        for link in text
            .split("](")
            .filter_map(|l| l.split(')').next())
            .filter(|l| l.contains("/digests/"))
        {
            seen.push_str(&app.http.get(link).send().await.unwrap().text().await.unwrap());
        }
        seen.push_str(&text);
    }
    for sn in &orders {
        assert!(seen.contains(sn.as_str()), "order {sn} reached zhangsan");
    }
}

#[tokio::test]
async fn a_person_reached_through_users_a_department_a_tag_and_all_is_held_to_one_limit() {
    let app = spawn_corp(OVERLAPPING_RULES).await;
    zhangsan_never_goes_over_the_limit(&app).await;
}

#[tokio::test]
async fn without_the_contacts_permission_a_conservative_bound_still_holds() {
    let app = spawn_corp(OVERLAPPING_RULES).await;
    for path in ["/cgi-bin/user/", "/cgi-bin/tag/"] {
        app.wecom
            .inject_fault(Fault::new(path, 10_000, FaultAction::Errcode { errcode: 60011 }));
    }
    zhangsan_never_goes_over_the_limit(&app).await;
}

const CHAT_RULE: &str = r#"
[[rules]]
id = "chat"
events = ["order_created"]
targets = [{ type = "appchat", app = "hq", chatid = "neworders", create = { name = "新订单群", members = ["zhangsan", "lisi"] } }]
"#;

fn chat_messages(app: &TestApp) -> Vec<shoprelay_sim::wecom::SimMessage> {
    app.wecom
        .messages()
        .into_iter()
        .filter(|m| matches!(&m.destination, Destination::AppChat { chatid, .. } if chatid == "neworders"))
        .collect()
}

#[tokio::test]
async fn a_missing_chat_is_created_whether_wecom_answers_86001_or_86003() {
    for errcode in [86001, 86003] {
        let app = spawn_app_with(Options {
            extra_toml: CHAT_RULE.into(),
            wecom_sim: if errcode == 86001 {
                |_| {}
            } else {
                |c| c.unknown_chat_errcode = 86003
            },
            ..Options::default()
        })
        .await;
        app.authorize().await;
        app.create_order("READY_TO_SHIP").await;
        app.dispatch_until_settled().await;
        assert_eq!(chat_messages(&app).len(), 1, "created on {errcode}, then sent");
        assert_eq!(
            app.server.engine.store().queue_depths().await.unwrap().deliveries_dead,
            0
        );
    }
}

#[tokio::test]
async fn an_app_not_visible_company_wide_holds_its_chat_and_tells_the_admins() {
    let app = spawn_app_with(Options {
        extra_toml: CHAT_RULE.into(),
        wecom_sim: |c| c.partly_visible_apps = vec![1000002],
        ..Options::default()
    })
    .await;
    app.authorize().await;
    app.create_order("READY_TO_SHIP").await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    let chat: Vec<_> = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Delivery),
            ..Default::default()
        })
        .await
        .into_iter()
        .filter(|a| {
            a.destination
                .as_ref()
                .is_some_and(|d| d.to_string() == "appchat:hq:neworders")
        })
        .collect();
    let held: Vec<_> = chat.iter().filter(|a| a.outcome == AuditOutcome::Held).collect();
    assert_eq!(held.len(), 1, "one probe, the other waits behind it: {chat:?}");
    assert_eq!(held[0].errcode, Some(60011));
    assert!(chat.iter().all(|a| a.outcome != AuditOutcome::Dead), "{chat:?}");
    let q = app.server.engine.store().queue_depths().await.unwrap();
    assert_eq!((q.deliveries_pending, q.deliveries_dead), (2, 0), "no dead letters");
    let notice = app
        .markdowns()
        .into_iter()
        .find(|m| m.contains("appchat:hq:neworders"))
        .expect("the admins are told");
    assert!(notice.contains("60011"), "{notice}");
}

#[tokio::test]
async fn a_forbidden_chat_api_holds_without_spending_attempts_and_delivers_after_the_fix() {
    let app = spawn_app_with(Options {
        extra_toml: CHAT_RULE.into(),
        ..Options::default()
    })
    .await;
    app.authorize().await;
    app.wecom.inject_fault(Fault::new(
        "/cgi-bin/appchat/create",
        1,
        FaultAction::Errcode { errcode: 48002 },
    ));
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    assert!(chat_messages(&app).is_empty());
    assert!(
        app.markdowns().iter().any(|m| m.contains("48002")),
        "the admins are told"
    );
    // The admin fixes it (any configuration change); held destinations are probed at once.
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
    assert_eq!(chat_messages(&app).len(), 1);
    let delivered: Vec<_> = app
        .audit(AuditFilter {
            order_sn: Some(sn),
            outcome: Some(AuditOutcome::Delivered),
            ..Default::default()
        })
        .await
        .into_iter()
        .filter(|a| {
            a.destination
                .as_ref()
                .is_some_and(|d| d.to_string() == "appchat:hq:neworders")
        })
        .collect();
    assert_eq!(delivered[0].attempt, Some(1), "being held spent no attempt");
}

#[tokio::test]
async fn a_robot_mentioning_everyone_sends_text_with_mentioned_list_all() {
    let app = spawn_authorized_with_rules(
        r#"
[[rules]]
id = "all-hands"
events = ["order_created"]
targets = [{ type = "robot", robot = "ops", mentions = ["@all", "lisi"] }]
"#,
    )
    .await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    let texts: Vec<_> = app
        .wecom
        .messages()
        .into_iter()
        .filter(|m| matches!(m.destination, Destination::Robot { .. }) && m.msgtype == "text")
        .collect();
    assert_eq!(texts.len(), 1, "{:?}", app.wecom.messages());
    assert_eq!(texts[0].recipients, vec!["@all", "lisi"]);
    let content = texts[0].body["text"]["content"].as_str().unwrap();
    assert!(content.contains(sn.as_str()), "{content}");
}

#[tokio::test]
async fn app_chat_markdown_is_cut_in_the_middle_and_keeps_its_links() {
    let app = spawn_authorized_with_rules(
        r#"
[[rules]]
id = "chat"
events = ["order_created"]
targets = [{ type = "appchat", app = "hq", chatid = "orders01" }]
"#,
    )
    .await;
    let items = (0..60)
        .map(|i| shoprelay_sim::shopee::NewItem {
            item_name: format!("加厚保温陶瓷马克杯礼盒装第{i}款"),
            item_sku: format!("MUG-{i}"),
            model_name: "蓝色大号".into(),
            model_sku: format!("MUG-{i}-BL"),
            quantity: 1,
            price: 12.9,
            original_price: None,
        })
        .collect();
    let sn = app
        .shopee
        .create_order(shoprelay_sim::shopee::NewOrder {
            items,
            status: Some("READY_TO_SHIP".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .order
        .order_sn;
    app.dispatch().await;
    let chat: Vec<_> = app
        .wecom
        .messages()
        .into_iter()
        .filter(|m| matches!(&m.destination, Destination::AppChat { chatid, .. } if chatid == "orders01"))
        .collect();
    assert_eq!(chat.len(), 1);
    let content = chat[0].body["markdown"]["content"].as_str().unwrap();
    assert!(content.len() <= 2048, "{} bytes", content.len());
    assert!(
        content.contains("…还有"),
        "the item list is cut in the middle:\n{content}"
    );
    let link = format!("(https://seller.shopee.cn/portal/sale/order?search={sn})");
    assert!(
        content.trim_end().ends_with(&link),
        "the link at the end survives:\n{content}"
    );
    assert_eq!(
        content.matches("<font").count(),
        content.matches("</font>").count(),
        "no tag is split:\n{content}"
    );
}

#[tokio::test]
async fn unreached_recipients_are_audited_and_reported_once_a_day() {
    let app = spawn_app_with(Options {
        extra_toml: r#"
[[rules]]
id = "partly-gone"
events = ["order_created"]
targets = [{ type = "wecom_app", app = "hq", users = ["zhangsan", "ghost"], departments = [2, 99], tags = [7, 8] }]
"#
        .into(),
        wecom_sim: corp,
        ..Options::default()
    })
    .await;
    app.authorize().await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let delivered = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Delivery),
            outcome: Some(AuditOutcome::Delivered),
            ..Default::default()
        })
        .await;
    let unreached = delivered
        .iter()
        .find(|a| a.detail.contains("ghost"))
        .expect("the delivery records whom it did not reach");
    for value in ["invaliduser ghost", "invalidparty 99", "invalidtag 8"] {
        assert!(unreached.detail.contains(value), "{value}: {}", unreached.detail);
    }
    let notices = |app: &TestApp| {
        app.markdowns()
            .into_iter()
            .filter(|m| m.contains("ghost"))
            .collect::<Vec<_>>()
    };
    let first = notices(&app);
    assert_eq!(first.len(), 1, "the admins are told: {:?}", app.markdowns());
    assert!(first[0].contains("99") && first[0].contains('8'), "{}", first[0]);

    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert_eq!(notices(&app).len(), 1, "once per value per day");
}
