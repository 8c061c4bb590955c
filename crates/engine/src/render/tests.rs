use shoprelay_core::event::EventKind;
use shoprelay_core::order::{OrderItem, Recipient, RecipientAddress};
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
        personal_data: Display::Masked,
        buttons: None,
    }
}

fn big_order() -> Event {
    let mut event = sample_event(EventKind::OrderCreated);
    event.platform = shoprelay_marketplaces::shopee::PLATFORM;
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

/// The attack of issue 9, finding 3, and variants: a mention tag, a colour, a quote, a list.
const ATTACK: &str =
    "</font>\n### 系统通知\n[login](https://evil.example/login)\n<@all> <font color=\"warning\">x</font>\n> q\n- l";

/// Every kind of event, with every text a buyer, a shop or a marketplace writes set to [`ATTACK`].
fn hostile_events() -> Vec<Event> {
    EventKind::ALL
        .iter()
        .map(|kind| {
            let mut event = sample_event(*kind);
            if let Some(order) = event.order.as_mut() {
                order.buyer_username = Some(ATTACK.into());
                order.message_to_seller = Some(ATTACK.into());
                order.shipping_carrier = Some(ATTACK.into());
                order.recipient = Some(Recipient {
                    name: Some(ATTACK.into()),
                    phone: Some(ATTACK.into()),
                    email: Some(ATTACK.into()),
                    address: Some(RecipientAddress {
                        full_address: Some(ATTACK.into()),
                        district: Some(ATTACK.into()),
                        ..RecipientAddress::default()
                    }),
                });
                for item in &mut order.items {
                    item.name = ATTACK.into();
                    item.model_name = Some(ATTACK.into());
                    item.sku = Some(ATTACK.into());
                }
            }
            match &mut event.body {
                EventBody::BuyerMessage {
                    from_user_name,
                    text,
                    latest_order,
                    ..
                } => {
                    *from_user_name = ATTACK.into();
                    *text = ATTACK.into();
                    *latest_order = Some(shoprelay_core::event::LatestOrder {
                        order_sn: ATTACK.into(),
                        status: ATTACK.into(),
                    });
                }
                EventBody::LogisticsException {
                    logistics_status,
                    description,
                    trail,
                    ..
                } => {
                    *logistics_status = Some(ATTACK.into());
                    *description = Some(ATTACK.into());
                    for step in trail {
                        step.description = ATTACK.into();
                    }
                }
                EventBody::ReauthorizationRequired { reason } => *reason = ATTACK.into(),
                EventBody::DeliveryFailing { reason, .. } => *reason = ATTACK.into(),
                EventBody::Escalation { about, .. } => *about = ATTACK.into(),
                _ => {}
            }
            event
        })
        .collect()
}

fn hostile_ctx() -> RenderContext<'static> {
    RenderContext {
        shop_name: Some(ATTACK),
        ..ctx(Lang::Zh)
    }
}

/// Markdown whose markup is all ours: one heading, our own `<font>` pairs, our links, our mention.
fn assert_markdown_is_ours(md: &str, mentions: &[&str]) {
    let headings = md.lines().filter(|l| l.trim_start().starts_with('#')).count();
    assert_eq!(headings, 1, "{md}");
    assert_eq!(md.matches("<font").count(), md.matches("</font>").count(), "{md}");
    assert_eq!(
        md.matches("<font").count(),
        md.matches("<font color=\"comment\">").count(),
        "{md}"
    );
    assert_eq!(md.matches("<@").count(), mentions.len(), "{md}");
    for link in md.split("](").skip(1) {
        assert!(
            link.starts_with("https://relay.example.com/") || link.starts_with("https://seller.shopee.cn/"),
            "a link of the buyer's making:\n{md}"
        );
    }
    assert!(!md.contains("https://evil"), "{md}");
    for line in md.lines() {
        let t = line.trim_start();
        assert!(
            !t.starts_with("系统通知") && !t.starts_with("> q") && !t.starts_with("- l"),
            "{md}"
        );
    }
}

#[test]
fn buyer_text_in_markdown_is_text_for_every_event() {
    for event in hostile_events() {
        for limit in [APP_MARKDOWN_MAX_BYTES, ROBOT_MARKDOWN_MAX_BYTES] {
            let md = markdown(&event, hostile_ctx(), "<@lisi>", limit);
            assert_markdown_is_ours(&md, &["<@lisi>"]);
        }
    }
    // Still readable: the buyer's words are there, only their markup is not.
    let event = &hostile_events()[EventKind::ALL
        .iter()
        .position(|k| *k == EventKind::BuyerMessage)
        .unwrap()];
    let md = markdown(event, hostile_ctx(), "", ROBOT_MARKDOWN_MAX_BYTES);
    assert!(
        md.contains("\n> ＃＃＃ 系统通知\n> ［login］(https：//evil.example/login)\n"),
        "{md}"
    );
}

#[test]
fn buyer_text_in_plain_text_mentions_nobody_and_keeps_to_its_line() {
    for event in hostile_events() {
        let text = plain_text(&event, hostile_ctx());
        assert!(!text.contains('@'), "{text}");
        for line in text.lines() {
            assert!(!line.starts_with("系统通知") && !line.starts_with("###"), "{text}");
        }
    }
}

#[test]
fn card_fields_stay_in_place_and_open_only_our_links() {
    for event in hostile_events() {
        let card = serde_json::to_value(card(&event, hostile_ctx())).unwrap();
        let mut urls = vec![card["card_action"]["url"].clone()];
        for list in ["jump_list", "horizontal_content_list"] {
            urls.extend(card[list].as_array().into_iter().flatten().map(|j| j["url"].clone()));
        }
        for url in urls.iter().filter_map(Value::as_str) {
            assert!(
                url.starts_with("https://seller.shopee.cn/") || url.starts_with("https://relay.example.com/"),
                "{url}"
            );
        }
        for row in card["horizontal_content_list"].as_array().into_iter().flatten() {
            let value = row["value"].as_str().unwrap_or_default();
            assert!(!value.contains('\n') && value.len() <= 128, "{value:?}");
        }
        for field in ["/main_title/title", "/source/desc"] {
            let text = card.pointer(field).and_then(Value::as_str).unwrap_or_default();
            assert!(!text.contains('\n') && text.len() <= 128, "{field}: {text:?}");
        }
        let sub = card["sub_title_text"].as_str().unwrap_or_default();
        assert!(sub.len() <= 1_000, "{}", sub.len());
    }
}

#[test]
fn one_click_dial_needs_full_values_and_a_real_number() {
    let with_phone = |phone: &str| {
        let mut event = big_order();
        if let Some(order) = event.order.as_mut() {
            order.recipient = Some(Recipient {
                phone: Some(phone.into()),
                ..Recipient::default()
            });
        }
        event
    };
    let full = RenderContext {
        personal_data: Display::Full,
        ..ctx(Lang::Zh)
    };
    let dials = |event: &Event, ctx| {
        let card = serde_json::to_value(card(event, ctx)).unwrap();
        card["jump_list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|j| j["url"].as_str().filter(|u| u.starts_with("tel:")).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(dials(&with_phone("+65 9123-4567"), full), ["tel:+6591234567"]);
    assert!(
        dials(&with_phone("+65 9123-4567"), ctx(Lang::Zh)).is_empty(),
        "masked: no dial"
    );
    for bad in ["******64", "12", "9123 4567;https://evil.example", ATTACK] {
        assert!(dials(&with_phone(bad), full).is_empty(), "{bad}");
    }
}

#[test]
fn digest_lines_are_text_in_markdown_and_in_text() {
    let lines = vec![format!("新订单 A · {ATTACK}"), "新订单 B".to_owned()];
    let markdown_robot = Payload::Robot {
        robot: ConfigId::parse("ops").unwrap(),
        message: serde_json::json!({}),
    };
    let link = "https://relay.example.com/digests/t";
    let Some(Payload::Robot { message, .. }) = digest(
        &markdown_robot,
        &lines,
        link,
        "robot:lisi",
        Lang::Zh,
        DigestReason::Budget,
    ) else {
        panic!("a robot digest");
    };
    let md = message["markdown"]["content"].as_str().unwrap();
    assert_markdown_is_ours(md, &["<@lisi>"]);
    assert!(md.contains("\n- 新订单 A · ＜/font＞ ＃＃＃ 系统通知"), "{md}");
    let Some(Payload::Robot { message, .. }) = digest(
        &markdown_robot,
        &lines,
        link,
        "robot:@all",
        Lang::Zh,
        DigestReason::Budget,
    ) else {
        panic!("a robot digest");
    };
    let text = message["text"]["content"].as_str().unwrap();
    assert!(!text.contains("@all") && text.contains("<＠all>"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("系统通知")).count(), 1, "{text}");
}

#[test]
fn webhooks_carry_buyer_text_exactly_as_json() {
    let target = Target::Webhook {
        webhook: ConfigId::parse("erp").unwrap(),
    };
    for event in hostile_events() {
        let payload = render(&event, &target, hostile_ctx()).unwrap();
        let wire = serde_json::to_string(&payload.body()).unwrap();
        let back: Value = serde_json::from_str(&wire).unwrap();
        assert_eq!(back, payload.body(), "serde's JSON escaping round-trips every string");
        if let Some(order) = &event.order {
            assert_eq!(back["data"]["order"]["buyer_username"], ATTACK);
            assert_eq!(order.buyer_username.as_deref(), Some(ATTACK));
        }
    }
}

#[test]
fn an_app_that_receives_clicks_gets_buttons_instead_of_the_acknowledgement_link() {
    let order = sample_event(EventKind::OrderCreated);
    let buttons = Some(CardButtons {
        task_id: "sr-t5-h1",
        conversation_url: None,
    });
    let with = serde_json::to_value(card(
        &order,
        RenderContext {
            buttons,
            ..ctx(Lang::Zh)
        },
    ))
    .unwrap();
    assert_eq!(with["card_type"], "button_interaction");
    assert_eq!(with["task_id"], "sr-t5-h1");
    assert_eq!(with["button_list"][0]["key"], "ack");
    assert!(!with["jump_list"].to_string().contains("/ack/"), "{with}");
    let without = serde_json::to_value(card(&order, ctx(Lang::Zh))).unwrap();
    assert_eq!(without["card_type"], "text_notice");
    assert!(without.get("button_list").is_none());
    assert!(without["jump_list"].to_string().contains("/ack/abc"));

    // Nothing to click on (no task, no conversation): the card stays a notice even where clicks arrive.
    let plain = serde_json::to_value(card(
        &order,
        RenderContext {
            buttons,
            ack_url: None,
            ..ctx(Lang::Zh)
        },
    ))
    .unwrap();
    assert_eq!(plain["card_type"], "text_notice");
    assert!(plain.get("task_id").is_none());

    let mut message = sample_event(EventKind::BuyerMessage);
    if let EventBody::BuyerMessage { conversation, .. } = &mut message.body {
        *conversation = Some(12);
    }
    let chat = RenderContext {
        buttons: Some(CardButtons {
            task_id: "sr-c12-h1",
            conversation_url: Some("https://relay.example.com/console/conversations/12"),
        }),
        ack_url: None,
        ..ctx(Lang::Zh)
    };
    let card = serde_json::to_value(card(&message, chat)).unwrap();
    let keys: Vec<&str> = card["button_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["key"].as_str())
        .collect();
    assert_eq!(keys, ["claim", "resolve", "handoff"]);
    assert!(card["jump_list"].to_string().contains("/console/conversations/12"));
}

#[test]
fn a_buyer_message_shows_the_latest_order_in_one_row_within_the_cards_limits() {
    let mut message = sample_event(EventKind::BuyerMessage);
    let EventBody::BuyerMessage {
        conversation,
        latest_order,
        ..
    } = &mut message.body
    else {
        panic!("a buyer message")
    };
    *conversation = Some(12);
    *latest_order = Some(shoprelay_core::event::LatestOrder {
        order_sn: "2211AMY2".into(),
        status: "READY_TO_SHIP".into(),
    });
    let with_assignee = RenderContext {
        assignee: Some("张三"),
        ..ctx(Lang::Zh)
    };
    let card = serde_json::to_value(card(&message, with_assignee)).unwrap();
    let rows = card["horizontal_content_list"].as_array().unwrap();
    assert!(rows.len() <= 6, "WeCom shows six rows: {rows:?}");
    assert!(
        rows.iter()
            .any(|r| r["keyname"] == "最近订单" && r["value"] == "2211AMY2 · READY_TO_SHIP"),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r["keyname"] == "店铺"),
        "the shop still fits: {rows:?}"
    );
    assert!(plain_text(&message, ctx(Lang::En)).contains("Latest order：2211AMY2 · READY_TO_SHIP"));
    assert!(markdown(&message, ctx(Lang::Zh), "", 2_048).contains("最近订单"));
}
