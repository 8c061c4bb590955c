use shoprelay_core::event::EventKind;
use shoprelay_core::order::OrderItem;
use shoprelay_core::rules::sample_event;

use super::*;

fn ctx(lang: Lang) -> RenderContext<'static> {
    RenderContext {
        shop_name: Some("测试店铺"),
        region: Some("SG"),
        agent_id: Some(1000002),
        custom_text: None,
        lang,
        assignee: None,
        ack_url: Some("https://relay.example.com/ack/abc"),
    }
}

fn big_order() -> Event {
    let mut event = sample_event(EventKind::OrderCreated);
    if let Some(order) = event.order.as_mut() {
        order.items = (0..80)
            .map(|i| OrderItem {
                name: format!("加厚保温陶瓷马克杯礼盒装第{i}款"),
                sku: Some(format!("MUG-{i}")),
                model_name: Some("蓝色大号".into()),
                quantity: 1,
                unit_price: None,
            })
            .collect();
    }
    event
}

#[test]
fn recipients_keys_parse_into_users_and_groups() {
    let audience = audience_of("u:ZhangSan,lisi;p:2,3;t:7;all");
    assert_eq!(audience.users, vec!["zhangsan", "lisi"]);
    assert_eq!(
        audience.groups,
        vec![
            Group::Department(2),
            Group::Department(3),
            Group::Tag(7),
            Group::Everyone
        ]
    );
    assert_eq!(audience_of("u:;p:;t:"), Audience::default());
    assert_eq!(
        audience_of("p:x,5;t:-1"),
        Audience {
            users: Vec::new(),
            groups: vec![Group::Department(5)],
        }
    );
    assert_eq!(audience_of("robot:a"), Audience::default());
}

#[test]
fn markdown_is_built_for_each_limit_and_keeps_its_links() {
    let event = big_order();
    for lang in [Lang::Zh, Lang::En] {
        for limit in [APP_MARKDOWN_MAX_BYTES, ROBOT_MARKDOWN_MAX_BYTES] {
            let md = markdown(&event, ctx(lang), "<@lisi>", limit);
            assert!(md.len() <= limit, "{} > {limit}", md.len());
            assert!(md.contains("…还有") || md.contains("more items"), "{md}");
            assert!(md.ends_with("\n<@lisi>"), "{md}");
            assert!(md.contains("(https://relay.example.com/ack/abc)"), "{md}");
            assert!(md.contains("(https://seller.shopee.cn/portal/sale/order?search=240810ABCD1234)"));
            assert_eq!(md.matches("<font").count(), md.matches("</font>").count());
        }
    }
}

#[test]
fn a_long_rule_text_gives_way_before_its_links() {
    let text = format!(
        "### 大单\n{}",
        "> 一行很长的说明 <font color=\"info\">重要</font>\n".repeat(200)
    );
    let ctx = RenderContext {
        custom_text: Some(&text),
        ..ctx(Lang::Zh)
    };
    let target = Target::Appchat {
        app: ConfigId::parse("hq").unwrap(),
        chatid: "orders01".into(),
        create: None,
    };
    let Payload::Appchat { content, .. } = render(&big_order(), &target, ctx).unwrap() else {
        panic!("an app chat payload");
    };
    assert!(content.len() <= APP_MARKDOWN_MAX_BYTES);
    assert!(
        content.ends_with("[确认处理](https://relay.example.com/ack/abc)"),
        "{content}"
    );
    assert_eq!(content.matches("<font").count(), content.matches("</font>").count());
}

#[test]
fn lines_are_cut_whole_and_a_single_line_before_an_open_tag() {
    assert_eq!(fit_lines("a\nbb\nccc", 6), "a\nbb\n");
    assert_eq!(fit_lines("short", 10), "short");
    assert_eq!(fit_lines("abc <font color=\"x\">def</font>", 12), "abc ");
    assert_eq!(fit_lines("see [link](http://x)", 12), "see ");
    assert_eq!(fit_lines("字字字", 7), "字字");
}

#[test]
fn a_robot_that_mentions_everyone_gets_text() {
    let target = Target::Robot {
        robot: ConfigId::parse("ops").unwrap(),
        mentions: vec![shoprelay_core::ids::WeComUserId::parse("@all").unwrap()],
        mention_mobiles: Vec::new(),
    };
    let Payload::Robot { message, .. } = render(&big_order(), &target, ctx(Lang::Zh)).unwrap() else {
        panic!("a robot payload");
    };
    assert_eq!(message["msgtype"], "text");
    assert_eq!(message["text"]["mentioned_list"], serde_json::json!(["@all"]));
    assert!(!message.to_string().contains("<@"));

    // Digests for such a robot mention everyone the same way.
    let lines: Vec<String> = (0..3).map(|i| format!("新订单 {i}")).collect();
    let sample = Payload::Robot {
        robot: ConfigId::parse("ops").unwrap(),
        message: serde_json::json!({}),
    };
    let Some(Payload::Robot { message, .. }) = digest(
        &sample,
        &lines,
        "https://relay.example.com/digests/t",
        &recipients_key(&target),
        Lang::Zh,
        DigestReason::Budget,
    ) else {
        panic!("a robot digest");
    };
    assert_eq!(message["msgtype"], "text");
    assert_eq!(message["text"]["mentioned_list"], serde_json::json!(["@all"]));
    let content = message["text"]["content"].as_str().unwrap();
    assert!(content.contains("新订单 2") && content.contains("https://relay.example.com/digests/t"));
}
