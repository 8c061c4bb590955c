//! Message rules: conditions (fields and CEL), templates, disabled rules, precise errors, the dry run and
//! per-rule counters.

use shoprelay_core::error::UserFacing;
use shoprelay_engine::config::parse_config;
use shoprelay_sim::shopee::{NewItem, NewOrder};

use shoprelay_store::AuditOutcome;

use crate::helpers::*;

const RULES: &str = r#"
[[rules]]
id = "big-orders"
events = ["order_created"]
when = { total_amount = { gte = "50" } }
targets = [{ type = "wecom_app", app = "hq", users = ["lisi"] }]

[[rules]]
id = "bulk-buyers"
events = ["order_created"]
when = { expr = "order.quantity >= 5 && order.currency == 'SGD'" }
template = "VIP {{ event.order_sn }} × {{ order.quantity }} · {{ order.total_amount | money(order.currency) }}"
targets = [{ type = "robot", robot = "ops" }]

[[rules]]
id = "switched-off"
enabled = false
targets = [{ type = "robot", robot = "ops" }]
template = "NEVER"
"#;

async fn order(app: &TestApp, quantity: u32, price: f64) -> String {
    let item = NewItem {
        item_name: "Mug".into(),
        item_sku: "MUG".into(),
        model_name: String::new(),
        model_sku: String::new(),
        quantity,
        price,
        original_price: None,
    };
    let new = NewOrder {
        items: vec![item],
        currency: Some("SGD".into()),
        status: Some("READY_TO_SHIP".into()),
        ..NewOrder::default()
    };
    app.shopee.create_order(new).await.unwrap().order.order_sn
}

#[tokio::test]
async fn conditions_templates_and_disabled_rules_decide_who_hears_what() {
    let app = spawn_authorized_with_rules(RULES).await;
    let small = order(&app, 1, 10.0).await;
    let big = order(&app, 6, 12.0).await;
    app.dispatch_until_settled().await;

    let to_lisi: Vec<String> = app
        .cards()
        .iter()
        .filter(|m| m.recipients == ["lisi"])
        .flat_map(|m| card_rows(m).into_iter().filter(|(k, _)| k == "订单号").map(|(_, v)| v))
        .collect();
    assert_eq!(to_lisi, vec![big.clone()], "only the order over 50 reaches lisi");
    let md = app.markdowns();
    assert!(
        md.iter().any(|m| m == &format!("VIP {big} × 6 · SGD 72.00")),
        "the rule's template: {md:?}"
    );
    assert!(
        !md.iter().any(|m| m.contains(&format!("VIP {small}"))),
        "the CEL condition held it back"
    );
    assert!(!md.iter().any(|m| m.contains("NEVER")), "a disabled rule sends nothing");

    let rules: serde_json::Value = app
        .http
        .get(format!("{}/api/v1/rules", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rule = |id: &str| {
        rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(rule("big-orders")["counters"]["delivered"], 1);
    assert_eq!(rule("bulk-buyers")["counters"]["delivered"], 1);
    assert_eq!(rule("switched-off")["enabled"], false);
    assert!(rule("switched-off")["counters"].as_object().unwrap().is_empty());
}

#[tokio::test]
async fn the_dry_run_shows_each_rules_decision_and_message() {
    let app = spawn_app_with(Options {
        extra_toml: RULES.into(),
        ..Options::default()
    })
    .await;
    let answer: serde_json::Value = app
        .http
        .post(format!("{}/api/v1/rules/test", app.base))
        .json(&serde_json::json!({"kind": "order_created"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let decisions = answer["decisions"].as_array().unwrap();
    let outcome = |id: &str| {
        decisions.iter().find(|d| d["rule"] == id).unwrap()["outcome"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(outcome("orders"), "matched");
    assert_eq!(outcome("switched-off"), "disabled");
    assert!(["matched", "not_matched"].contains(&outcome("big-orders").as_str()));
    assert!(!answer["messages"].as_array().unwrap().is_empty());
    assert!(app.wecom.messages().is_empty(), "a dry run sends nothing");
}

#[tokio::test]
async fn the_dry_run_replays_a_stored_orders_newest_event() {
    let app = spawn_authorized_with_rules(RULES).await;
    let big = order(&app, 6, 12.0).await;
    app.dispatch_until_settled().await;
    app.shopee.set_order_status(&big, "PROCESSED").await.unwrap();
    app.dispatch_until_settled().await;
    let sent = app.wecom.messages().len();
    let dry_run = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.http
                .post(format!("{}/api/v1/rules/test", app.base))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let newest: serde_json::Value = dry_run(serde_json::json!({"order_sn": big}))
        .await
        .json()
        .await
        .unwrap();
    let outcome = |answer: &serde_json::Value, id: &str| {
        answer["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["rule"] == id)
            .unwrap()["outcome"]
            .clone()
    };
    // The newest event is the status change, which big-orders (new orders only) does not select.
    assert_eq!(outcome(&newest, "big-orders"), "wrong_kind_or_shop");
    assert_eq!(outcome(&newest, "orders"), "matched");
    let created: serde_json::Value = dry_run(serde_json::json!({"order_sn": big, "kind": "order_created"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outcome(&created, "big-orders"), "matched", "the real order is over 50");
    let missing = dry_run(serde_json::json!({"order_sn": "NOSUCHORDER"})).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(app.wecom.messages().len(), sent, "a dry run sends nothing");
}

#[test]
fn a_bad_rule_is_rejected_with_its_line_and_path() {
    let text = "[[rules]]\nid = \"r\"\nwhen = { all = [{ cod = true }, { total_amount = { gte = \"ten\" } }] }\n\
                targets = []\n\n[[rules]]\nid = \"c\"\nwhen = { expr = \"order.total_amount >\" }\n\
                targets = []\n\n[[rules]]\nid = \"t\"\ntemplate = \"{{ event.order_sn \"\ntargets = []\n";
    let err = parse_config(text).unwrap_err();
    let msg = err.message_en();
    assert_eq!(err.code(), "config.invalid");
    assert!(msg.contains("line 3: rules[0].when.all[1].total_amount.gte"), "{msg}");
    assert!(msg.contains("`ten` is not a decimal number"), "{msg}");
    assert!(msg.contains("line 8: rules[1].when.expr"), "{msg}");
    assert!(msg.contains("line 13: rules[2].template"), "{msg}");
}

#[tokio::test]
async fn an_app_group_chat_receives_markdown() {
    let extra = r#"
[[rules]]
id = "to-chat"
events = ["order_created"]
targets = [{ type = "appchat", app = "hq", chatid = "orders01" }]
"#;
    let app = spawn_authorized_with_rules(extra).await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let chat: Vec<_> = app
        .wecom
        .messages()
        .into_iter()
        .filter(|m| matches!(&m.destination, shoprelay_sim::wecom::Destination::AppChat { chatid, .. } if chatid == "orders01"))
        .collect();
    assert_eq!(chat.len(), 1);
    assert_eq!(chat[0].msgtype, "markdown");
    let content = chat[0].body["markdown"]["content"].as_str().unwrap();
    assert!(content.contains("### 新订单") && content.contains(&sn), "{content}");
}

#[tokio::test]
async fn a_rule_creates_its_group_chat_on_the_first_message() {
    let extra = r#"
[[rules]]
id = "new-chat"
events = ["order_created"]
targets = [{ type = "appchat", app = "hq", chatid = "neworders", create = { name = "新订单群", members = ["zhangsan", "lisi"], owner = "lisi" } }]
"#;
    let app = spawn_authorized_with_rules(extra).await;
    let first = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let second = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let chat: Vec<_> = app
        .wecom
        .messages()
        .into_iter()
        .filter(|m| matches!(&m.destination, shoprelay_sim::wecom::Destination::AppChat { chatid, .. } if chatid == "neworders"))
        .collect();
    assert_eq!(chat.len(), 2, "the chat was created and both orders reached it");
    assert_eq!(chat[0].recipients, vec!["zhangsan".to_owned(), "lisi".to_owned()]);
    for (message, sn) in chat.iter().zip([&first, &second]) {
        assert!(message.body["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains(sn.as_str()));
    }
    let delivered = app
        .audit(shoprelay_store::AuditFilter {
            outcome: Some(AuditOutcome::Delivered),
            ..Default::default()
        })
        .await;
    let created: Vec<_> = delivered
        .iter()
        .filter(|a| a.detail.contains("created group chat"))
        .collect();
    assert_eq!(created.len(), 1, "created once, on the first message");

    // A chat to create needs a valid id and 2 or more members.
    let bad = extra.replace("neworders", "new-orders").replace(", \"lisi\"]", "]");
    let err = parse_config(&(config_toml("http://x", "http://x", "http://x", "s") + &bad)).unwrap_err();
    let text = err.message_en();
    assert!(
        text.contains("letters or digits") && text.contains("2 to 2000 members"),
        "{text}"
    );
}

#[tokio::test]
async fn rules_are_created_previewed_switched_and_deleted_through_the_api() {
    let app = spawn_app().await;
    app.authorize().await;
    let url = |path: &str| format!("{}/api/v1/rules{path}", app.base);
    let rule = serde_json::json!({
        "events": ["order_created"],
        "template": "API {{ event.order_sn }}",
        "targets": [{"type": "robot", "robot": "ops"}]
    });

    // A live preview of the unsaved rule against the sample order.
    let preview: serde_json::Value = app
        .http
        .post(url("/preview"))
        .json(&serde_json::json!({"rule": rule, "kind": "order_created"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        preview["messages"].as_array().unwrap().len(),
        1,
        "only the edited rule: {preview}"
    );
    assert_eq!(
        preview["messages"][0]["message"]["markdown"]["content"],
        "API 240810ABCD1234"
    );

    // A bad rule is refused with every problem and where it is.
    let bad = serde_json::json!({
        "events": ["order_created"],
        "when": {"expr": "order.total_amount >"},
        "targets": [{"type": "robot", "robot": "nobody"}]
    });
    let refused = app.http.put(url("/api-rule")).json(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "rule.invalid");
    let message = body["message_en"].as_str().unwrap();
    assert!(
        message.contains("rule.targets[0]") && message.contains("nobody"),
        "{message}"
    );
    assert!(message.contains("rule.when.expr"), "{message}");

    let created = app.http.put(url("/api-rule")).json(&rule).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let first = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert!(
        app.markdowns().contains(&format!("API {first}")),
        "the saved rule is in force at once"
    );

    let off: serde_json::Value = app
        .http
        .post(url("/api-rule/disable"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(off["enabled"], false);
    let second = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert!(
        !app.markdowns().contains(&format!("API {second}")),
        "a disabled rule is quiet"
    );

    let one: serde_json::Value = app
        .http
        .get(url("/api-rule"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["counters"]["delivered"], 1, "{one}");
    assert_eq!(one["counters"]["matched"], 1, "{one}");
    assert_eq!(one["definition"]["template"], "API {{ event.order_sn }}");

    assert_eq!(app.http.delete(url("/api-rule")).send().await.unwrap().status(), 204);
    assert_eq!(app.http.get(url("/api-rule")).send().await.unwrap().status(), 404);
    assert_eq!(app.http.delete(url("/api-rule")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn rules_select_shops_by_group() {
    let extra = format!(
        r#"
[[shop_groups]]
id = "sea"
shops = [{SHOP}]

[[shop_groups]]
id = "none-yet"
shops = []

[[rules]]
id = "by-group"
events = ["order_created"]
shop_groups = ["sea"]
template = "GROUP {{{{ event.order_sn }}}}"
targets = [{{ type = "robot", robot = "ops" }}]

[[rules]]
id = "other-group"
events = ["order_created"]
shop_groups = ["none-yet"]
template = "NOPE"
targets = [{{ type = "robot", robot = "ops" }}]
"#
    );
    let app = spawn_authorized_with_rules(extra.clone()).await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let md = app.markdowns();
    assert!(md.contains(&format!("GROUP {sn}")), "{md:?}");
    assert!(
        !md.iter().any(|m| m == "NOPE"),
        "a group without this shop does not select it"
    );

    let bad = extra.replace(r#"shop_groups = ["sea"]"#, r#"shop_groups = ["atlantis"]"#);
    let err = parse_config(&(config_toml("http://x", "http://x", "http://x", "s") + &bad)).unwrap_err();
    assert!(
        err.message_en().contains("no [[shop_groups]] has id `atlantis`"),
        "{}",
        err.message_en()
    );
}
