//! Text a buyer, a shop or a marketplace controls reaches the staff as text: in robot and app-chat
//! markdown, rule templates, digests, plain-text robot messages and template cards it never becomes a
//! heading, a link, a `<font>` tag, a mention or a line of its own (issue 9, finding 3) — and it is still
//! there to read.

use serde_json::{json, Value};
use shoprelay_clock::Clock;
use shoprelay_core::event::{Event, EventBody};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::{OrderItem, OrderSnapshot};
use shoprelay_engine::routing;
use shoprelay_sim::shopee::{NewItem, NewOrder};
use shoprelay_sim::wecom::{Destination, SimMessage};
use shoprelay_store::NewEvent;

use crate::helpers::*;

/// The attack of the finding: close the value's `<font>`, start a heading, add a link.
const ATTACK: &str = "</font>\n### 系统通知\n[login](https://evil.example/login)";
/// Its variants: a mention tag, a colour of its own, a quote, a list and a line break of each kind.
const VARIANT: &str = "<@all> <font color=\"warning\">账户异常</font>\r\n> 引用\n- 列表\u{2028}1. 第一";

const RULES: &str = r####"
[[rules]]
id = "to-chat"
events = ["order_created"]
targets = [{ type = "appchat", app = "hq", chatid = "orders01" }]

[[rules]]
id = "templated"
events = ["order_created"]
template = """### 模板 {{ event.order_sn }}
> 买家：<font color="info">{{ order.buyer_username }}</font>
{% for item in order.items %}
- {{ item.name }}（{{ item.model }}）
{% endfor %}
> 留言：{{ order.message_to_seller }}
{{ '**作者的粗体**' | safe }}"""
targets = [{ type = "robot", robot = "ops" }]

[[rules]]
id = "chat"
events = ["buyer_message"]
targets = [{ type = "robot", robot = "ops" }, { type = "robot", robot = "ops", mentions = ["@all"] }, { type = "wecom_app", app = "hq", users = ["zhangsan"] }]
"####;

/// Markdown whose only markup is the message's own: the title is the only heading, every `<font>` is
/// closed by its own `</font>`, no link or mention of the buyer's making, no line the buyer started —
/// and the buyer's words are all there.
fn assert_markdown_neutral(md: &str) {
    for (n, line) in md.lines().enumerate() {
        assert!(
            n == 0 || !line.trim_start().starts_with('#'),
            "a heading of the buyer's making:\n{md}"
        );
        for own in ["系统通知", "引用", "列表", "第一"] {
            if line.contains(own) {
                let starts = line.trim_start().trim_start_matches('-').trim_start();
                assert!(
                    !starts.starts_with(own) && !starts.starts_with("> 引用"),
                    "the buyer's text starts a line of its own:\n{md}"
                );
            }
        }
    }
    assert!(
        !md.contains("[login]") && !md.contains("](https://evil"),
        "a link:\n{md}"
    );
    assert!(!md.contains("https://evil"), "a bare link the client would open:\n{md}");
    assert_eq!(
        md.matches("<font").count(),
        md.matches("</font>").count(),
        "font tags:\n{md}"
    );
    assert!(
        !md.contains("color=\"warning\">账户异常"),
        "a colour of the buyer's making:\n{md}"
    );
    assert!(!md.contains("<@all>"), "a mention of the buyer's making:\n{md}");
    for words in ["系统通知", "login", "evil.example", "账户异常"] {
        assert!(md.contains(words), "the buyer's words `{words}` are gone:\n{md}");
    }
}

fn hostile_order() -> NewOrder {
    NewOrder {
        items: vec![NewItem {
            item_name: ATTACK.into(),
            item_sku: "SKU<@all>".into(),
            model_name: VARIANT.into(),
            model_sku: "M-1".into(),
            quantity: 1,
            price: 9.9,
            original_price: None,
        }],
        buyer_username: Some(format!("ana{ATTACK}")),
        currency: Some("SGD".into()),
        status: Some("READY_TO_SHIP".into()),
        message_to_seller: Some(format!("{ATTACK}\n{VARIANT}")),
        ..NewOrder::default()
    }
}

fn robot_markdowns(app: &TestApp) -> Vec<String> {
    app.wecom
        .messages()
        .into_iter()
        .filter(|m| matches!(m.destination, Destination::Robot { .. }) && m.msgtype == "markdown")
        .filter_map(|m| m.body["markdown"]["content"].as_str().map(str::to_owned))
        .collect()
}

/// Every URL a card would open.
fn card_urls(card: &SimMessage) -> Vec<String> {
    let c = &card.body["template_card"];
    let mut urls = vec![c["card_action"]["url"].clone()];
    for list in ["jump_list", "horizontal_content_list"] {
        urls.extend(c[list].as_array().into_iter().flatten().map(|j| j["url"].clone()));
    }
    urls.into_iter().filter_map(|u| u.as_str().map(str::to_owned)).collect()
}

fn assert_card_neutral(card: &SimMessage) {
    for url in card_urls(card) {
        assert!(
            url.starts_with("https://seller.shopee.cn/") || url.starts_with("http://127.0.0.1"),
            "a card opens a link the buyer chose: {url}"
        );
    }
    let c = &card.body["template_card"];
    for (key, value) in card_rows(card) {
        assert!(
            !value.contains(['\n', '\r', '\u{2028}']),
            "{key}: a line break escapes its field: {value:?}"
        );
    }
    for field in ["/main_title/title", "/main_title/desc", "/source/desc"] {
        let text = c.pointer(field).and_then(Value::as_str).unwrap_or_default();
        assert!(!text.contains('\n'), "{field}: {text:?}");
    }
}

#[tokio::test]
async fn an_order_full_of_markup_reaches_every_format_as_text() {
    let app = spawn_authorized_with_rules(RULES).await;
    let sn = app.shopee.create_order(hostile_order()).await.unwrap().order.order_sn;
    app.dispatch_until_settled().await;

    // The robot's built-in markdown and the rule's template.
    let robot = robot_markdowns(&app);
    let builtin = robot
        .iter()
        .find(|m| m.starts_with("### 新订单"))
        .expect("the built-in robot markdown");
    assert_markdown_neutral(builtin);
    let templated = robot
        .iter()
        .find(|m| m.starts_with("### 模板"))
        .expect("the rule's template");
    assert_markdown_neutral(templated);
    // The template author's own markdown stays markdown.
    assert!(templated.contains("> 买家：<font color=\"info\">"), "{templated}");
    assert!(templated.contains("\n**作者的粗体**"), "{templated}");
    assert!(templated.contains(&format!("### 模板 {sn}")), "{templated}");

    // The app group chat.
    let chat: Vec<String> = app
        .wecom
        .messages()
        .into_iter()
        .filter(|m| matches!(&m.destination, Destination::AppChat { .. }))
        .filter_map(|m| m.body["markdown"]["content"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(chat.len(), 1);
    assert_markdown_neutral(&chat[0]);

    // The member's template card.
    let cards = app.cards();
    assert_eq!(cards.len(), 1);
    assert_card_neutral(&cards[0]);
    let buyer = card_rows(&cards[0])
        .into_iter()
        .find(|(k, _)| k == "买家")
        .map(|(_, v)| v);
    assert!(buyer.is_some_and(|b| b.contains("系统通知") && b.contains("login")));
}

#[tokio::test]
async fn a_buyer_chat_message_reaches_markdown_text_and_cards_as_text() {
    let app = spawn_authorized_with_rules(RULES).await;
    let push = json!({
        "code": 10, "shop_id": SHOP, "timestamp": app.clock.now().as_secs(),
        "data": {"type": "message", "content": {
            "message_id": "m-attack", "from_id": 55, "from_user_name": format!("ana{ATTACK}"),
            "to_id": SHOP, "message_type": "text", "content": {"text": format!("{ATTACK}\n{VARIANT}\n@all 请登录")},
            "conversation_id": "c1", "created_timestamp": app.clock.now().as_secs()
        }}
    });
    app.shopee.send_raw_push(None, &push.to_string()).await;
    app.dispatch_until_settled().await;

    let robot = robot_markdowns(&app);
    let markdown = robot
        .iter()
        .find(|m| m.starts_with("### 买家消息"))
        .expect("the robot markdown");
    assert_markdown_neutral(markdown);

    // The robot that mentions everyone gets text, where `@all` and line breaks are the ones to fear.
    let text: Vec<SimMessage> = app
        .wecom
        .messages()
        .into_iter()
        .filter(|m| m.msgtype == "text")
        .collect();
    assert_eq!(text.len(), 1);
    assert_eq!(text[0].body["text"]["mentioned_list"], json!(["@all"]));
    let content = text[0].body["text"]["content"].as_str().unwrap();
    assert!(!content.contains("@all"), "a mention of the buyer's making:\n{content}");
    for line in content.lines() {
        for own in ["### 系统通知", "系统通知", "[login]", "- 列表", "请登录"] {
            assert!(
                !line.starts_with(own),
                "the buyer's text starts a line of its own:\n{content}"
            );
        }
    }
    for words in ["系统通知", "login", "请登录", "all"] {
        assert!(content.contains(words), "`{words}` is gone:\n{content}");
    }

    let cards = app.cards();
    assert_eq!(cards.len(), 1);
    assert_card_neutral(&cards[0]);
}

#[tokio::test]
async fn a_digest_lists_buyer_text_as_text_in_markdown_and_on_its_page() {
    let rules = r#"
[[rules]]
id = "night"
events = ["order_created"]
quiet_hours = { from = "00:00", to = "23:59" }
targets = [{ type = "robot", robot = "ops" }]
"#;
    let app = spawn_authorized_with_rules(rules).await;
    // Messages held in an earlier day's quiet hours are released now, folded into one digest.
    let registry = app.server.engine.registry();
    let yesterday = app.clock.now() - std::time::Duration::from_secs(2 * 86_400);
    for n in 0..3 {
        let sn = OrderSn::parse(&format!("EVIL{n}")).unwrap();
        let mut order = OrderSnapshot::bare(
            sn.clone(),
            shoprelay_marketplaces::shopee::status::order_status("READY_TO_SHIP"),
        );
        order.buyer_username = Some(format!("ana{ATTACK}{VARIANT}"));
        order.items = vec![OrderItem {
            name: ATTACK.into(),
            sku: None,
            model_name: None,
            quantity: 1,
            unit_price: None,
        }];
        let event = Event {
            dedupe_key: format!("evil-{n}"),
            platform: shoprelay_marketplaces::shopee::PLATFORM,
            app: ConfigId::parse(APP).unwrap(),
            shop_id: Some(ShopId::new(SHOP).unwrap()),
            order_sn: Some(sn),
            occurred_at: yesterday,
            order: Some(order),
            body: EventBody::OrderCreated,
        };
        let mut deliveries = routing::route(&registry, &event, yesterday, Default::default()).deliveries;
        deliveries.retain(|d| d.route_id == "night");
        assert_eq!(deliveries.len(), 1);
        app.server
            .engine
            .store()
            .insert_event(NewEvent { event, deliveries }, yesterday)
            .await
            .unwrap();
    }
    app.dispatch().await;
    let digests: Vec<String> = robot_markdowns(&app)
        .into_iter()
        .filter(|m| m.contains("免打扰期间"))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    let digest = &digests[0];
    for (n, line) in digest.lines().enumerate() {
        assert!(n == 0 || !line.trim_start().starts_with('#'), "{digest}");
    }
    assert!(
        !digest.contains("[login]") && !digest.contains("https://evil"),
        "{digest}"
    );
    assert_eq!(
        digest.matches("<font").count(),
        digest.matches("</font>").count(),
        "{digest}"
    );
    assert!(!digest.contains("<@all>"), "{digest}");
    assert!(digest.contains("系统通知") && digest.contains("EVIL2"), "{digest}");

    // The page behind "查看全部" shows the same words as text.
    let link = digest
        .split("](")
        .filter_map(|l| l.split(')').next())
        .find(|l| l.contains("/digests/"))
        .expect("the digest links its page");
    let page = reqwest::get(link).await.unwrap().text().await.unwrap();
    assert!(!page.contains("</font>") && !page.contains("<@all>"), "{page}");
    assert!(page.contains("&lt;/font&gt;") && page.contains("系统通知"), "{page}");
}
