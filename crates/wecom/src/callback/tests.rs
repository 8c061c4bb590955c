use super::*;

const TOKEN: &str = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
const KEY: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
const CORP: &str = "ww1436e0e65a779aee";

// From shared/vectors/wecom-callback-crypto.json ("official-sample-post-text-message").
const SAMPLE_ENCRYPT: &str = "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+";
const SAMPLE_SIGNATURE: &str = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e";

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, KEY, CORP).unwrap()
}

#[test]
fn opens_the_official_sample_post() {
    let body = format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt>\
         <AgentID><![CDATA[1000002]]></AgentID></xml>"
    );
    let envelope = CallbackEnvelope::parse(&body).unwrap();
    assert_eq!(envelope.to_user_name, CORP);
    assert_eq!(envelope.agent_id.as_deref(), Some("1000002"));
    let msg = open_callback(&crypto(), SAMPLE_SIGNATURE, "1476422779", "1597212914", &body).unwrap();
    assert_eq!(
        msg,
        CallbackMessage::Text {
            from_user: "ChenJiaShun".into(),
            content: "你好".into(),
            msg_id: "1456453720".into(),
            agent_id: Some(1000002),
            create_time: 1476422779,
        }
    );
    assert_eq!(msg.dedupe_key(), "msg:1456453720");
    let err = open_callback(&crypto(), SAMPLE_SIGNATURE, "1476422780", "1597212914", &body);
    assert!(matches!(err, Err(CryptoError::InvalidSignature)), "{err:?}");
}

#[test]
fn parses_the_wechatpy_plaintext_with_cdata_and_newlines() {
    let xml = "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n<FromUserName><![CDATA[messense]]></FromUserName>\n<CreateTime>1411525903</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<MsgId>4363689963896700987</MsgId>\n<AgentID>1</AgentID>\n</xml>";
    match CallbackMessage::parse(xml).unwrap() {
        CallbackMessage::Text {
            from_user,
            content,
            msg_id,
            agent_id,
            ..
        } => {
            assert_eq!((from_user.as_str(), content.as_str()), ("messense", "test"));
            assert_eq!(msg_id, "4363689963896700987");
            assert_eq!(agent_id, Some(1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn parses_a_template_card_click() {
    let xml = "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[FromUser]]></FromUserName>\
        <CreateTime>123456789</CreateTime><MsgType><![CDATA[event]]></MsgType>\
        <Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[claim]]></EventKey>\
        <TaskId><![CDATA[order-240101ABC]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>\
        <ResponseCode><![CDATA[rc-1]]></ResponseCode><AgentID>1000002</AgentID>\
        <SelectedItems><SelectedItem><QuestionKey><![CDATA[q]]></QuestionKey>\
        <OptionIds><OptionId><![CDATA[o1]]></OptionId></OptionIds></SelectedItem></SelectedItems></xml>";
    let msg = CallbackMessage::parse(xml).unwrap();
    assert_eq!(
        msg,
        CallbackMessage::TemplateCardEvent {
            from_user: "FromUser".into(),
            event_key: "claim".into(),
            task_id: "order-240101ABC".into(),
            card_type: "button_interaction".into(),
            response_code: "rc-1".into(),
            agent_id: Some(1000002),
            create_time: 123456789,
        }
    );
    assert_eq!(msg.dedupe_key(), "evt:FromUser:123456789:order-240101ABC:claim");
}

#[test]
fn other_messages_and_events_are_kept() {
    let image = "<xml><FromUserName>u1</FromUserName><CreateTime>5</CreateTime><MsgType>image</MsgType>\
        <PicUrl>http://x</PicUrl><MsgId>77</MsgId><AgentID>1</AgentID></xml>";
    let msg = CallbackMessage::parse(image).unwrap();
    assert_eq!(msg.dedupe_key(), "msg:77");
    let enter = "<xml><FromUserName>u1</FromUserName><CreateTime>6</CreateTime><MsgType>event</MsgType>\
        <Event>enter_agent</Event><AgentID></AgentID></xml>";
    let msg = CallbackMessage::parse(enter).unwrap();
    assert_eq!(
        msg,
        CallbackMessage::Other {
            msg_type: "event/enter_agent".into(),
            from_user: "u1".into(),
            msg_id: None,
            create_time: 6
        }
    );
    assert_eq!(msg.dedupe_key(), "evt:u1:6");
}

#[test]
fn malformed_xml_gives_40002() {
    for xml in [
        "",
        "<xml>",
        "not xml",
        "<xml><MsgType>text</MsgType></xml>",
        "<xml><FromUserName>u</FromUserName><CreateTime>x</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>",
    ] {
        let err = CallbackMessage::parse(xml).unwrap_err();
        assert_eq!(err.sample_code(), -40002, "{xml:?}");
    }
    assert_eq!(
        CallbackEnvelope::parse("<xml><ToUserName>a</ToUserName></xml>")
            .unwrap_err()
            .sample_code(),
        -40002
    );
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    encrypt: String,
    msg_signature: String,
    time_stamp: String,
    nonce: String,
}

#[test]
fn passive_reply_verifies_and_decrypts() {
    let c = crypto();
    let inner = text_reply_xml("ChenJiaShun", CORP, 1476422800, "收到 ]]> <b>ok</b>");
    let body = encrypted_reply(&c, &inner, "1476422800", "n<1>");
    let reply: Reply = quick_xml::de::from_str(&body).unwrap();
    assert_eq!(reply.time_stamp, "1476422800");
    assert_eq!(reply.nonce, "n<1>");
    let plain = c
        .open(&reply.msg_signature, &reply.time_stamp, &reply.nonce, &reply.encrypt)
        .unwrap();
    assert_eq!(plain, inner);
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Inner {
        content: String,
        to_user_name: String,
    }
    let parsed: Inner = quick_xml::de::from_str(&plain).unwrap();
    assert_eq!(parsed.content, "收到 ]]> <b>ok</b>");
    assert_eq!(parsed.to_user_name, "ChenJiaShun");
}

#[test]
fn entities_are_never_expanded_from_a_document_type() {
    // Billion laughs: ten levels of ten references would be 10^10 "lol"s if anything expanded them.
    let mut dtd = String::from("<!ENTITY l0 \"lol\">");
    for level in 1..10 {
        let refs = format!("&l{};", level - 1).repeat(10);
        dtd.push_str(&format!("<!ENTITY l{level} \"{refs}\">"));
    }
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE xml [{dtd}]><xml><ToUserName>c</ToUserName><Encrypt>&l9;</Encrypt></xml>"
    );
    // External entities: a file on this machine must never be read into the message.
    let external = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
                    <xml><ToUserName>c</ToUserName><Encrypt>&x;</Encrypt></xml>";
    for xml in [laughs.as_str(), external] {
        match CallbackEnvelope::parse(xml) {
            Err(err) => assert_eq!(err.sample_code(), -40002, "{xml}"),
            Ok(envelope) => {
                assert!(
                    envelope.encrypt.len() < 64,
                    "an entity was expanded: {} bytes",
                    envelope.encrypt.len()
                );
                assert!(!envelope.encrypt.contains("root:"), "a file was read");
            }
        }
        let inner = xml
            .replace("<Encrypt>", "<Content>")
            .replace("</Encrypt>", "</Content>");
        if let Ok(CallbackMessage::Text { content, .. }) = CallbackMessage::parse(&inner) {
            assert!(content.len() < 64 && !content.contains("root:"), "{content}");
        }
    }
}

#[test]
fn a_huge_body_is_parsed_in_bounded_time_or_refused() {
    // Deep nesting and a long text must neither overflow the stack nor panic.
    let deep = format!("<xml>{}{}</xml>", "<a>".repeat(100_000), "</a>".repeat(100_000));
    assert!(CallbackEnvelope::parse(&deep).is_err());
    let long = format!(
        "<xml><ToUserName>c</ToUserName><Encrypt>{}</Encrypt></xml>",
        "A".repeat(4 << 20)
    );
    let crypto = crypto();
    let envelope = CallbackEnvelope::parse(&long).unwrap();
    assert!(crypto.open("0", "1", "2", &envelope.encrypt).is_err());
}

#[test]
fn a_message_written_as_xml_reads_back_the_same() {
    let messages = [
        CallbackMessage::Text {
            from_user: "zhangsan".into(),
            content: "#3 a]]>b <x>".into(),
            msg_id: "m1".into(),
            agent_id: Some(1000003),
            create_time: 7,
        },
        CallbackMessage::TemplateCardEvent {
            from_user: "lisi".into(),
            event_key: "claim".into(),
            task_id: "sr-c3-h1".into(),
            card_type: "button_interaction".into(),
            response_code: "rc".into(),
            agent_id: None,
            create_time: 8,
        },
        CallbackMessage::Other {
            msg_type: "event/enter_chat".into(),
            from_user: "u".into(),
            msg_id: None,
            create_time: 9,
        },
        CallbackMessage::Other {
            msg_type: "image".into(),
            from_user: "u".into(),
            msg_id: Some("m2".into()),
            create_time: 10,
        },
    ];
    for message in messages {
        assert_eq!(CallbackMessage::parse(&message.to_xml("corp")).unwrap(), message);
    }
}
