use super::*;
use crate::card::*;
use serde_json::{json, to_value};

fn text_message(recipients: Recipients) -> AppMessage {
    AppMessage {
        recipients,
        agentid: 1000002,
        body: AppBody::text("新订单"),
        enable_duplicate_check: false,
        duplicate_check_interval: None,
    }
}

#[test]
fn text_message_joins_recipients_with_pipes() {
    let msg = text_message(Recipients {
        touser: vec!["zhangsan".into(), "lisi".into()],
        toparty: vec!["2".into()],
        totag: vec![],
        all: false,
    });
    assert_eq!(
        to_value(&msg).unwrap(),
        json!({
            "touser": "zhangsan|lisi",
            "toparty": "2",
            "msgtype": "text",
            "agentid": 1000002,
            "text": {"content": "新订单"}
        })
    );
}

#[test]
fn all_sends_at_all_and_nothing_else() {
    let mut recipients = Recipients::users(["a"]);
    recipients.totag = vec!["9".into()];
    recipients.all = true;
    let mut msg = text_message(recipients);
    msg.body = AppBody::markdown("**加粗**");
    msg.enable_duplicate_check = true;
    msg.duplicate_check_interval = Some(99_999);
    assert_eq!(
        to_value(&msg).unwrap(),
        json!({
            "touser": "@all",
            "msgtype": "markdown",
            "agentid": 1000002,
            "markdown": {"content": "**加粗**"},
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 14400
        })
    );
}

#[test]
fn text_card_is_cut_to_limits() {
    let body = AppBody::TextCard(TextCard {
        title: "标".repeat(100),
        description: "d".into(),
        url: "https://example.com".into(),
        btntxt: Some("查看详情更多".into()),
    });
    let msg = AppMessage {
        body,
        ..text_message(Recipients::users(["a"]))
    };
    let v = to_value(&msg).unwrap();
    assert_eq!(v["msgtype"], "textcard");
    let title = v["textcard"]["title"].as_str().unwrap();
    assert_eq!(title.len(), 126, "42 three-byte chars fit in 128 bytes");
    assert_eq!(v["textcard"]["btntxt"], "查看详情");
}

fn notice_card() -> TemplateCard {
    TemplateCard {
        card_type: CardType::TextNotice,
        source: Some(CardSource {
            desc: Some("Shopee 新加坡店".into()),
            ..Default::default()
        }),
        main_title: Some(MainTitle {
            title: Some("新订单 240101ABC".into()),
            desc: None,
        }),
        emphasis_content: Some(EmphasisContent {
            title: Some("SGD 35.90".into()),
            desc: Some("订单金额".into()),
        }),
        quote_area: None,
        sub_title_text: None,
        horizontal_content_list: (0..8)
            .map(|i| HorizontalContent::text(format!("k{i}"), "v"))
            .chain([HorizontalContent::dial("电话", "+6590000000")])
            .collect(),
        jump_list: vec![Jump {
            kind: Some(1),
            title: "后台".into(),
            url: Some("https://seller.example".into()),
        }],
        card_action: CardAction::url("https://seller.example/order"),
        task_id: None,
        button_list: vec![],
    }
}

#[test]
fn template_card_skips_absent_fields_and_caps_lists() {
    let msg = AppMessage {
        body: AppBody::TemplateCard(Box::new(notice_card())),
        ..text_message(Recipients::users(["a"]))
    };
    let v = to_value(&msg).unwrap();
    let card = &v["template_card"];
    assert_eq!(v["msgtype"], "template_card");
    assert_eq!(card["card_type"], "text_notice");
    assert_eq!(card["source"], json!({"desc": "Shopee 新加坡店"}));
    assert_eq!(card["main_title"], json!({"title": "新订单 240101ABC"}));
    assert_eq!(
        card["card_action"],
        json!({"type": 1, "url": "https://seller.example/order"})
    );
    assert_eq!(
        card["horizontal_content_list"].as_array().unwrap().len(),
        HORIZONTAL_CONTENT_MAX
    );
    assert_eq!(
        card["horizontal_content_list"][0],
        json!({"keyname": "k0", "value": "v"})
    );
    for absent in ["quote_area", "sub_title_text", "task_id", "button_list"] {
        assert!(card.get(absent).is_none(), "{absent} should be skipped");
    }
}

#[test]
fn button_card_round_trips_through_json() {
    let mut card = notice_card();
    card.card_type = CardType::ButtonInteraction;
    card.task_id = Some("order-1".into());
    card.button_list = (0..7)
        .map(|i| Button {
            text: format!("b{i}"),
            key: Some(format!("k{i}")),
            ..Default::default()
        })
        .collect();
    let v = to_value(&card).unwrap();
    assert_eq!(v["button_list"].as_array().unwrap().len(), BUTTON_LIST_MAX);
    assert_eq!(v["button_list"][0], json!({"text": "b0", "key": "k0"}));
    assert_eq!(v["horizontal_content_list"].as_array().unwrap().len(), 6);
    let back: TemplateCard = serde_json::from_value(v).unwrap();
    assert_eq!(back.button_list.len(), BUTTON_LIST_MAX);
    assert_eq!(back.task_id.as_deref(), Some("order-1"));
}

#[test]
fn appchat_and_create_shapes() {
    let body = AppBody::text("hi");
    let v = to_value(AppChatMessage {
        chatid: "c1",
        body: &body,
    })
    .unwrap();
    assert_eq!(v, json!({"chatid": "c1", "msgtype": "text", "text": {"content": "hi"}}));
    let spec = AppChatSpec {
        name: "售后群".into(),
        owner: None,
        userlist: vec!["a".into(), "b".into()],
        chatid: Some("aftersales".into()),
    };
    assert_eq!(
        to_value(&spec).unwrap(),
        json!({"name": "售后群", "userlist": ["a", "b"], "chatid": "aftersales"})
    );
}

#[test]
fn robot_shapes() {
    let text = RobotMessage::Text {
        content: "发货超时".into(),
        mentioned_list: vec!["@all".into()],
        mentioned_mobile_list: vec![],
    };
    assert_eq!(
        to_value(&text).unwrap(),
        json!({"msgtype": "text", "text": {"content": "发货超时", "mentioned_list": ["@all"]}})
    );
    let md = RobotMessage::Markdown {
        content: "中".repeat(2000),
    };
    let v = to_value(&md).unwrap();
    assert_eq!(v["msgtype"], "markdown");
    assert_eq!(v["markdown"]["content"].as_str().unwrap().len(), 4095);
}

#[test]
fn truncate_never_splits_a_character() {
    let s = "订单已发货✅ok";
    assert_eq!(truncate_utf8(s, 100), s);
    assert_eq!(truncate_utf8(s, 0), "");
    assert_eq!(truncate_utf8(s, 1), "");
    assert_eq!(truncate_utf8(s, 3), "订");
    assert_eq!(truncate_utf8(s, 5), "订");
    assert_eq!(truncate_utf8(s, 17), "订单已发货");
    assert_eq!(truncate_utf8(s, 18), "订单已发货✅");
    for max in 0..=s.len() {
        let cut = truncate_utf8(s, max);
        assert!(cut.len() <= max && s.starts_with(cut));
        assert!(cut.len() + 3 > max, "cut no more than one char early");
    }
}

#[test]
fn long_chinese_text_is_cut_at_2048_bytes() {
    let long = "订".repeat(1000);
    let AppBody::Text { content } = AppBody::text(&long) else {
        panic!()
    };
    assert_eq!(content.len(), 2046);
    // Even a body built by hand is cut on the wire.
    let msg = AppMessage {
        body: AppBody::Text { content: long.clone() },
        ..text_message(Recipients::users(["a"]))
    };
    let v = to_value(&msg).unwrap();
    assert_eq!(v["text"]["content"].as_str().unwrap().len(), 2046);
}
