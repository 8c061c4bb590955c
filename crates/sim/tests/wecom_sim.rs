//! The WeCom simulator driven over HTTP with raw JSON, as WeCom's documentation describes it.

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use shoprelay_clock::SystemClock;
use shoprelay_sim::wecom::{
    serve, Destination, Fault, FaultAction, SimApp, SimChat, SimGroup, SimMessage, SimStats, WeComSim, WeComSimConfig,
};
use tokio::net::TcpListener;

const CORP: &str = "wwcorp";
const SECRET: &str = "secret-a";
const AGENT: i64 = 1000002;

fn config() -> WeComSimConfig {
    WeComSimConfig {
        corp_id: CORP.into(),
        apps: vec![
            SimApp {
                agent_id: AGENT,
                secret: SECRET.into(),
                name: "订单通知".into(),
            },
            SimApp {
                agent_id: 1000003,
                secret: "secret-b".into(),
                name: String::new(),
            },
        ],
        robot_keys: vec!["robot-1".into()],
        ..WeComSimConfig::default()
    }
}

struct Harness {
    sim: WeComSim,
    http: reqwest::Client,
}

impl Harness {
    async fn start(config: WeComSimConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = serve(listener, config, SystemClock::shared()).await.unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self { sim, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self.http.post(self.url(path)).json(body).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// A `/sim` control call; they answer 204 with no body.
    async fn control(&self, path: &str, body: &Value) {
        let response = self.http.post(self.url(path)).json(body).send().await.unwrap();
        assert_eq!(response.status(), 204, "{path}");
    }

    async fn token_for(&self, secret: &str) -> String {
        let reply = self
            .get(&format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret={secret}"))
            .await;
        assert_eq!(reply["errcode"], 0, "{reply}");
        reply["access_token"].as_str().unwrap().to_owned()
    }

    async fn send(&self, token: &str, body: &Value) -> Value {
        self.post(&format!("/cgi-bin/message/send?access_token={token}"), body)
            .await
    }

    async fn robot(&self, key: &str, body: &Value) -> Value {
        self.post(&format!("/cgi-bin/webhook/send?key={key}"), body).await
    }
}

fn text_to(touser: &str, content: &str) -> Value {
    json!({"touser": touser, "msgtype": "text", "agentid": AGENT, "text": {"content": content}})
}

#[tokio::test]
async fn gettoken_checks_corp_and_secret_and_reuses_live_tokens() {
    let h = Harness::start(config()).await;
    let bad_corp = h.get("/cgi-bin/gettoken?corpid=nope&corpsecret=secret-a").await;
    assert_eq!(bad_corp["errcode"], 40013);
    let bad_secret = h.get(&format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret=nope")).await;
    assert_eq!(bad_secret["errcode"], 40001);
    assert!(bad_secret["errmsg"].as_str().unwrap().starts_with("invalid credential"));
    let first = h
        .get(&format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}"))
        .await;
    assert_eq!(first["expires_in"], 7200);
    assert_eq!(h.token_for(SECRET).await, first["access_token"].as_str().unwrap());
    assert_ne!(h.token_for("secret-b").await, first["access_token"].as_str().unwrap());
    let stats = h.sim.stats();
    assert_eq!(stats.gettoken_calls, 5);
    assert_eq!(stats.rejected.get(&40001), Some(&1));
}

#[tokio::test]
async fn tokens_expire_by_the_simulator_clock_and_on_demand() {
    let h = Harness::start(config()).await;
    let token = h.token_for(SECRET).await;
    assert_eq!(h.send(&token, &text_to("alice", "hi")).await["errcode"], 0);
    assert_eq!(h.send("", &text_to("alice", "hi")).await["errcode"], 41001);
    assert_eq!(h.send("garbage", &text_to("alice", "hi")).await["errcode"], 40014);
    h.sim.advance_clock(Duration::from_secs(7200));
    assert_eq!(h.send(&token, &text_to("alice", "hi")).await["errcode"], 42001);
    let fresh = h.token_for(SECRET).await;
    assert_ne!(fresh, token);
    h.sim.expire_tokens();
    assert_eq!(h.send(&fresh, &text_to("alice", "hi")).await["errcode"], 42001);
    h.control("/sim/expire-tokens", &json!({})).await;

    let h = Harness::start(WeComSimConfig {
        expired_token_errcode: 40014,
        ..config()
    })
    .await;
    let token = h.token_for(SECRET).await;
    h.sim.expire_tokens();
    assert_eq!(h.send(&token, &text_to("alice", "hi")).await["errcode"], 40014);
}

#[tokio::test]
async fn beyond_30_per_minute_a_member_is_dropped_silently() {
    let h = Harness::start(config()).await;
    let token = h.token_for(SECRET).await;
    for i in 0..31 {
        let reply = h.send(&token, &text_to("alice|bob", &format!("订单 {i}"))).await;
        assert_eq!(reply["errcode"], 0, "message {i} must look accepted");
        assert_eq!(reply["invaliduser"], "");
    }
    // Bob's 31st is dropped too; a third member is unaffected.
    assert_eq!(h.send(&token, &text_to("carol", "x")).await["errcode"], 0);
    let stats = h.sim.stats();
    assert_eq!(stats.accepted, 32);
    assert_eq!(stats.delivered_per_member["alice"], 30);
    assert_eq!(stats.delivered_per_member["carol"], 1);
    assert_eq!(stats.dropped_over_limit, 2);
    assert_eq!(stats.dropped_per_member["alice"], 1);
    let messages = h.sim.messages();
    assert_eq!(messages.len(), 31, "the all-dropped message is not listed");
    assert!(messages.iter().all(|m| m.body["text"]["content"] != "订单 30"));

    h.sim.advance_clock(Duration::from_secs(60));
    assert_eq!(h.send(&token, &text_to("alice", "next minute")).await["errcode"], 0);
    assert_eq!(h.sim.stats().delivered_per_member["alice"], 31);
}

#[tokio::test]
async fn limits_are_per_app() {
    let h = Harness::start(config()).await;
    let (a, b) = (h.token_for(SECRET).await, h.token_for("secret-b").await);
    for _ in 0..30 {
        h.send(&a, &text_to("alice", "a")).await;
    }
    let from_b = json!({"touser": "alice", "msgtype": "text", "agentid": 1000003, "text": {"content": "b"}});
    assert_eq!(h.send(&b, &from_b).await["errcode"], 0);
    assert_eq!(h.sim.stats().dropped_over_limit, 0);
}

#[tokio::test]
async fn duplicate_check_absorbs_identical_bodies() {
    let h = Harness::start(config()).await;
    let token = h.token_for(SECRET).await;
    let mut body = text_to("alice", "同一条消息");
    body["enable_duplicate_check"] = json!(1);
    body["duplicate_check_interval"] = json!(600);
    let first = h.send(&token, &body).await;
    let second = h.send(&token, &body).await;
    assert_eq!(
        (first["errcode"].clone(), second["errcode"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(first["msgid"], second["msgid"]);
    assert_eq!(h.sim.messages().len(), 1);
    let stats = h.sim.stats();
    assert_eq!((stats.accepted, stats.duplicate_absorbed), (2, 1));
    assert_eq!(stats.delivered_per_member["alice"], 1);

    // A different body, or the same one without the flag, is delivered.
    body["text"]["content"] = json!("另一条");
    h.send(&token, &body).await;
    h.send(&token, &text_to("alice", "同一条消息")).await;
    h.send(&token, &text_to("alice", "同一条消息")).await;
    assert_eq!(h.sim.messages().len(), 4);

    // After the interval the original body is delivered again.
    body["text"]["content"] = json!("同一条消息");
    h.sim.advance_clock(Duration::from_secs(601));
    let third = h.send(&token, &body).await;
    assert_ne!(third["msgid"], first["msgid"]);
    assert_eq!(h.sim.messages().len(), 5);
}

#[tokio::test]
async fn robot_refuses_the_21st_message_in_a_minute() {
    let h = Harness::start(config()).await;
    let text =
        |n: i32| json!({"msgtype": "text", "text": {"content": format!("告警 {n}"), "mentioned_list": ["zhangsan"]}});
    for n in 1..=20 {
        assert_eq!(h.robot("robot-1", &text(n)).await["errcode"], 0, "message {n}");
    }
    let refused = h.robot("robot-1", &text(21)).await;
    assert_eq!(refused["errcode"], 45009);
    assert!(refused["errmsg"].as_str().unwrap().starts_with("api freq out of limit"));
    assert_eq!(h.sim.messages().len(), 20);
    assert_eq!(h.sim.messages()[0].recipients, vec!["zhangsan".to_owned()]);
    h.sim.advance_clock(Duration::from_secs(60));
    assert_eq!(h.robot("robot-1", &text(22)).await["errcode"], 0);

    assert_eq!(h.robot("unknown", &text(0)).await["errcode"], 93000);
}

#[tokio::test]
async fn inspection_lists_clears_and_renders_messages() {
    let h = Harness::start(config()).await;
    let token = h.token_for(SECRET).await;
    h.send(&token, &text_to("alice", "新订单 <SG240101>")).await;
    h.robot(
        "robot-1",
        &json!({"msgtype": "markdown", "markdown": {"content": "**发货提醒**"}}),
    )
    .await;

    let listed: Vec<SimMessage> = serde_json::from_value(h.get("/sim/messages").await).unwrap();
    assert_eq!(listed, h.sim.messages());
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, 1);
    assert_eq!(listed[0].destination, Destination::App { agentid: AGENT });
    assert_eq!(listed[0].recipients, vec!["alice".to_owned()]);
    assert_eq!(listed[0].msgtype, "text");
    assert_eq!(listed[0].body["text"]["content"], "新订单 <SG240101>");
    assert_eq!(listed[1].destination, Destination::Robot { key: "robot-1".into() });
    assert!(listed[0].at_unix_ms > 1_700_000_000_000);

    let stats: SimStats = serde_json::from_value(h.get("/sim/stats").await).unwrap();
    assert_eq!(stats, h.sim.stats());
    assert_eq!(stats.accepted, 2);

    let page = h.http.get(h.url("/sim")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("企业微信模拟器"));
    assert!(
        page.contains("新订单 &lt;SG240101&gt;"),
        "content escaped into the page"
    );
    assert!(page.contains("发货提醒"));

    let status = h.http.delete(h.url("/sim/messages")).send().await.unwrap().status();
    assert_eq!(status, 204);
    assert!(h.sim.messages().is_empty());
}

#[tokio::test]
async fn recipients_are_resolved_and_invalid_ones_reported() {
    let h = Harness::start(WeComSimConfig {
        users: vec!["ZhangSan".into(), "lisi".into(), "wangwu".into()],
        departments: vec![SimGroup {
            id: 2,
            name: "仓库".into(),
            members: vec!["wangwu".into()],
        }],
        tags: vec![SimGroup {
            id: 7,
            name: "客服".into(),
            members: vec!["lisi".into()],
        }],
        ..config()
    })
    .await;
    let token = h.token_for(SECRET).await;
    let body = json!({"touser": "zhangsan|Ghost|nobody", "toparty": "2|99", "totag": "7|8",
        "msgtype": "text", "agentid": AGENT, "text": {"content": "hi"}});
    let reply = h.send(&token, &body).await;
    assert_eq!(reply["errcode"], 0);
    assert_eq!(reply["invaliduser"], "ghost|nobody");
    assert_eq!(reply["invalidparty"], "99");
    assert_eq!(reply["invalidtag"], "8");
    assert_eq!(h.sim.messages()[0].recipients, vec!["ZhangSan", "wangwu", "lisi"]);

    let all_invalid = h.send(&token, &text_to("ghost", "hi")).await;
    assert_eq!(all_invalid["errcode"], 81013);
    let none = json!({"touser": "", "msgtype": "text", "agentid": AGENT, "text": {"content": "hi"}});
    assert_eq!(h.send(&token, &none).await["errcode"], 82001);
    h.send(&token, &text_to("@all", "全员")).await;
    assert_eq!(h.sim.messages()[1].recipients, vec!["ZhangSan", "lisi", "wangwu"]);
}

#[tokio::test]
async fn message_content_is_validated_like_wecom() {
    let h = Harness::start(config()).await;
    let token = h.token_for(SECRET).await;
    let mut wrong_app = text_to("alice", "hi");
    wrong_app["agentid"] = json!(1000003);
    assert_eq!(h.send(&token, &wrong_app).await["errcode"], 301002);
    let bad_type = json!({"touser": "a", "msgtype": "hologram", "agentid": AGENT, "hologram": {}});
    assert_eq!(h.send(&token, &bad_type).await["errcode"], 40008);
    assert_eq!(h.send(&token, &text_to("alice", "")).await["errcode"], 44004);
    let not_json = h
        .http
        .post(h.url(&format!("/cgi-bin/message/send?access_token={token}")))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.json::<Value>().await.unwrap()["errcode"], 47001);

    // Long text is cut to 2048 bytes on a character boundary, not refused.
    assert_eq!(h.send(&token, &text_to("alice", &"订".repeat(700))).await["errcode"], 0);
    let delivered = &h.sim.messages()[0].body["text"]["content"];
    assert_eq!(delivered.as_str().unwrap().len(), 2046);
    let long_md =
        json!({"touser": "a", "msgtype": "markdown", "agentid": AGENT, "markdown": {"content": "x".repeat(2049)}});
    assert_eq!(h.send(&token, &long_md).await["errcode"], 45002);

    let card =
        |card: Value| json!({"touser": "a", "msgtype": "template_card", "agentid": AGENT, "template_card": card});
    let no_action = card(json!({"card_type": "text_notice", "main_title": {"title": "新订单"}}));
    assert_eq!(h.send(&token, &no_action).await["errcode"], 40058);
    let notice = card(json!({"card_type": "text_notice", "main_title": {"title": "新订单"},
        "card_action": {"type": 1, "url": "https://example.com"}}));
    let reply = h.send(&token, &notice).await;
    assert_eq!(reply["errcode"], 0);
    assert!(reply.get("response_code").is_none());
    let buttons = card(
        json!({"card_type": "button_interaction", "main_title": {"title": "售后"},
        "task_id": "task-1", "button_list": [{"text": "认领", "key": "claim"}],
        "card_action": {"type": 1, "url": "https://example.com"}}),
    );
    let reply = h.send(&token, &buttons).await;
    assert_eq!(reply["errcode"], 0);
    assert!(!reply["response_code"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn untrusted_caller_ip_gets_60020_naming_it() {
    let h = Harness::start(WeComSimConfig {
        trusted_ips: vec!["203.0.113.7".parse().unwrap()],
        ..config()
    })
    .await;
    let token = h.token_for(SECRET).await;
    let reply = h.send(&token, &text_to("alice", "hi")).await;
    assert_eq!(reply["errcode"], 60020);
    let errmsg = reply["errmsg"].as_str().unwrap();
    assert!(errmsg.starts_with("not allow to access from your ip"), "{errmsg}");
    assert!(errmsg.contains("from ip: 127.0.0.1"), "{errmsg}");

    let allowed = Harness::start(WeComSimConfig {
        trusted_ips: vec!["127.0.0.1".parse().unwrap()],
        ..config()
    })
    .await;
    let token = allowed.token_for(SECRET).await;
    assert_eq!(allowed.send(&token, &text_to("alice", "hi")).await["errcode"], 0);
}

#[tokio::test]
async fn app_chats_are_created_and_owned_by_their_app() {
    let h = Harness::start(WeComSimConfig {
        chats: vec![SimChat {
            chatid: "presetchat".into(),
            name: "预置群".into(),
            members: vec!["x".into(), "y".into()],
            agent_id: 1000003,
        }],
        ..config()
    })
    .await;
    let token = h.token_for(SECRET).await;
    let h = &h;
    let create = |body: Value| {
        let url = format!("/cgi-bin/appchat/create?access_token={token}");
        async move { h.post(&url, &body).await }
    };
    let created =
        create(json!({"name": "售后群", "owner": "alice", "userlist": ["alice", "bob"], "chatid": "aftersales1"}))
            .await;
    assert_eq!(created, json!({"errcode": 0, "errmsg": "ok", "chatid": "aftersales1"}));
    assert_eq!(create(json!({"userlist": ["alice"]})).await["errcode"], 40058);
    assert_eq!(
        create(json!({"userlist": ["a", "b"], "chatid": "bad-id!"})).await["errcode"],
        86001
    );
    assert_eq!(
        create(json!({"userlist": ["a", "b"], "chatid": "aftersales1"})).await["errcode"],
        86215
    );
    let generated = create(json!({"userlist": ["a", "b"]})).await;
    assert!(generated["chatid"].as_str().unwrap().starts_with("wr"));

    let send = |chatid: &str, msg: Value| {
        let url = format!("/cgi-bin/appchat/send?access_token={token}");
        let mut body = msg;
        body["chatid"] = json!(chatid);
        async move { h.post(&url, &body).await }
    };
    let text = json!({"msgtype": "text", "text": {"content": "群消息"}});
    assert_eq!(send("aftersales1", text.clone()).await["errcode"], 0);
    // Developers report 86001 "invalid chatid" for a chat that does not exist (not 86003).
    assert_eq!(send("nosuchchat", text.clone()).await["errcode"], 86001);
    assert_eq!(send("presetchat", text.clone()).await["errcode"], 86008);
    let card = json!({"msgtype": "template_card", "template_card": {"card_type": "text_notice"}});
    assert_eq!(send("aftersales1", card).await["errcode"], 40008);
    let messages = h.sim.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].destination,
        Destination::AppChat {
            agentid: AGENT,
            chatid: "aftersales1".into()
        }
    );
    assert_eq!(messages[0].recipients, vec!["alice", "bob"]);
}

#[tokio::test]
async fn app_chat_members_get_at_most_200_a_minute() {
    let h = Harness::start(config()).await;
    let token = h.token_for(SECRET).await;
    let url = format!("/cgi-bin/appchat/create?access_token={token}");
    h.post(&url, &json!({"userlist": ["a", "b"], "chatid": "busy"})).await;
    let url = format!("/cgi-bin/appchat/send?access_token={token}");
    for i in 0..201 {
        let body = json!({"chatid": "busy", "msgtype": "text", "text": {"content": format!("{i}")}});
        assert_eq!(h.post(&url, &body).await["errcode"], 0);
    }
    let stats = h.sim.stats();
    assert_eq!(stats.delivered_per_member["a"], 200);
    assert_eq!(stats.dropped_over_limit, 2);
}

#[tokio::test]
async fn faults_fire_for_the_next_n_matching_calls() {
    let h = Harness::start(config()).await;
    let token = h.token_for(SECRET).await;
    h.control(
        "/sim/faults",
        &json!({"path_prefix": "/cgi-bin/message/send", "count": 2, "kind": "errcode", "errcode": 45009}),
    )
    .await;
    assert_eq!(h.token_for(SECRET).await.len(), 64, "other paths are not affected");
    for _ in 0..2 {
        assert_eq!(h.send(&token, &text_to("alice", "x")).await["errcode"], 45009);
    }
    assert_eq!(h.send(&token, &text_to("alice", "x")).await["errcode"], 0);

    h.sim.inject_fault(Fault::new("/cgi-bin/", 1, FaultAction::Http500));
    let response = h
        .http
        .post(h.url(&format!("/cgi-bin/message/send?access_token={token}")))
        .json(&text_to("alice", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);

    h.sim
        .inject_fault(Fault::new("/cgi-bin/webhook", 1, FaultAction::Timeout { hold_ms: 50 }));
    let held = h
        .http
        .post(h.url("/cgi-bin/webhook/send?key=robot-1"))
        .json(&json!({"msgtype": "text", "text": {"content": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 504);

    h.sim
        .inject_fault(Fault::new("/cgi-bin/", 1, FaultAction::Latency { ms: 10 }));
    assert_eq!(h.send(&token, &text_to("alice", "slow")).await["errcode"], 0);
    let stats = h.sim.stats();
    assert_eq!(stats.faults_fired, 5);
    assert_eq!(stats.rejected[&45009], 2);
    assert_eq!(h.get("/sim/faults").await, json!([]));
}

#[tokio::test]
async fn shutdown_releases_requests_held_by_a_timeout_fault() {
    let h = Harness::start(config()).await;
    h.sim
        .inject_fault(Fault::new("/cgi-bin/", 1, FaultAction::Timeout { hold_ms: 600_000 }));
    let url = h.url("/cgi-bin/gettoken?corpid=x&corpsecret=y");
    let http = reqwest::Client::new();
    let held = tokio::spawn(async move { http.get(url).send().await.map(|r| r.status()) });
    // Wait until the fault has fired, so the request is really being held.
    while h.sim.stats().faults_fired == 0 {
        tokio::task::yield_now().await;
    }
    tokio::time::timeout(Duration::from_secs(10), h.sim.shutdown())
        .await
        .expect("shutdown must not wait for the held request's ten minutes");
    let status = held.await.unwrap().unwrap();
    assert_eq!(status, 504);
}

#[test]
fn config_reads_from_json_with_defaults() {
    let config: WeComSimConfig = serde_json::from_value(json!({
        "corp_id": "wwdemo",
        "apps": [{"agent_id": 1000005, "secret": "s"}],
        "users": ["alice"],
        "trusted_ips": ["10.1.2.3"],
        "limits": {"robot_per_minute": 5}
    }))
    .unwrap();
    assert_eq!(config.corp_id, "wwdemo");
    assert_eq!(config.apps[0].agent_id, 1000005);
    assert_eq!(config.limits.robot_per_minute, 5);
    assert_eq!(config.limits.member_per_minute, 30);
    assert_eq!(config.expired_token_errcode, 42001);
    assert!(serde_json::from_value::<WeComSimConfig>(json!({"corp": "typo"})).is_err());
}

fn directory() -> WeComSimConfig {
    WeComSimConfig {
        users: vec!["ZhangSan".into(), "lisi".into(), "wangwu".into()],
        departments: vec![SimGroup {
            id: 2,
            name: "仓库".into(),
            members: vec!["zhangsan".into(), "wangwu".into()],
        }],
        tags: vec![SimGroup {
            id: 7,
            name: "客服".into(),
            members: vec!["zhangsan".into()],
        }],
        ..config()
    }
}

#[tokio::test]
async fn departments_and_tags_are_readable_through_the_contacts_apis() {
    let h = Harness::start(WeComSimConfig {
        partly_visible_apps: vec![1000003],
        ..directory()
    })
    .await;
    let token = h.token_for(SECRET).await;
    let userids = |v: &Value| -> Vec<String> {
        v["userlist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userid"].as_str().unwrap().to_owned())
            .collect()
    };
    let dept = h
        .get(&format!(
            "/cgi-bin/user/simplelist?access_token={token}&department_id=2"
        ))
        .await;
    assert_eq!(dept["errcode"], 0, "{dept}");
    assert_eq!(userids(&dept), vec!["ZhangSan", "wangwu"], "as the corp spells them");
    let root = h
        .get(&format!(
            "/cgi-bin/user/simplelist?access_token={token}&department_id=1&fetch_child=1"
        ))
        .await;
    assert_eq!(
        userids(&root),
        vec!["ZhangSan", "lisi", "wangwu"],
        "the root holds everyone"
    );
    let tag = h.get(&format!("/cgi-bin/tag/get?access_token={token}&tagid=7")).await;
    assert_eq!(
        (tag["errcode"].clone(), userids(&tag)),
        (json!(0), vec!["ZhangSan".to_owned()])
    );
    assert_eq!(tag["tagname"], "客服");
    let missing = h
        .get(&format!(
            "/cgi-bin/user/simplelist?access_token={token}&department_id=99"
        ))
        .await;
    assert_eq!(missing["errcode"], 60003);
    let missing = h.get(&format!("/cgi-bin/tag/get?access_token={token}&tagid=8")).await;
    assert_eq!(missing["errcode"], 40068);
    let page = h
        .post(
            &format!("/cgi-bin/user/list_id?access_token={token}"),
            &json!({"cursor": "", "limit": 2}),
        )
        .await;
    assert_eq!(page["errcode"], 0, "{page}");
    assert_eq!(page["next_cursor"], "2");
    let rest = h
        .post(
            &format!("/cgi-bin/user/list_id?access_token={token}"),
            &json!({"cursor": "2", "limit": 2}),
        )
        .await;
    assert_eq!(rest["dept_user"], json!([{"userid": "wangwu", "department": 2}]));
    assert_eq!(rest["next_cursor"], "");

    // An app not visible company-wide cannot read the root department.
    let narrow = h.token_for("secret-b").await;
    let denied = h
        .get(&format!(
            "/cgi-bin/user/simplelist?access_token={narrow}&department_id=1"
        ))
        .await;
    assert_eq!(denied["errcode"], 60011);
}

#[tokio::test]
async fn a_person_reached_through_every_field_is_one_bucket() {
    let h = Harness::start(directory()).await;
    let token = h.token_for(SECRET).await;
    // zhangsan is named in touser, is in department 2, has tag 7 and is in @all: 40 messages reach them.
    for (i, (field, value)) in [
        ("touser", "ZHANGSAN"),
        ("toparty", "2"),
        ("totag", "7"),
        ("touser", "@all"),
    ]
    .iter()
    .cycle()
    .take(40)
    .enumerate()
    {
        let body = json!({ *field: value, "msgtype": "text", "agentid": AGENT, "text": {"content": format!("{i}")}});
        assert_eq!(
            h.send(&token, &body).await["errcode"],
            0,
            "dropped silently, never refused"
        );
    }
    let stats = h.sim.stats();
    assert_eq!(stats.delivered_per_member["ZhangSan"], 30);
    assert_eq!(stats.dropped_per_member["ZhangSan"], 10);
    assert_eq!(stats.dropped_per_member.len(), 1, "nobody else is over: {stats:?}");
}

#[tokio::test]
async fn app_chats_of_an_app_not_visible_company_wide_cannot_be_created() {
    let h = Harness::start(WeComSimConfig {
        partly_visible_apps: vec![AGENT],
        unknown_chat_errcode: 86003,
        ..config()
    })
    .await;
    let token = h.token_for(SECRET).await;
    let created = h
        .post(
            &format!("/cgi-bin/appchat/create?access_token={token}"),
            &json!({"userlist": ["a", "b"], "chatid": "neworders"}),
        )
        .await;
    assert_eq!(created["errcode"], 60011);
    let sent = h
        .post(
            &format!("/cgi-bin/appchat/send?access_token={token}"),
            &json!({"chatid": "neworders", "msgtype": "text", "text": {"content": "x"}}),
        )
        .await;
    assert_eq!(sent["errcode"], 86003, "the errcode for a missing chat is configurable");
}

#[tokio::test]
async fn robot_markdown_is_limited_to_4096_bytes_and_cannot_mention_everyone() {
    let h = Harness::start(config()).await;
    let long = json!({"msgtype": "markdown", "markdown": {"content": "字".repeat(1366)}});
    assert_eq!(h.robot("robot-1", &long).await["errcode"], 40058);
    let fits = json!({"msgtype": "markdown", "markdown": {"content": "字".repeat(1365)}});
    assert_eq!(h.robot("robot-1", &fits).await["errcode"], 0);
    let md = json!({"msgtype": "markdown", "markdown": {"content": "新订单 <@zhangsan> <@all> <@@all>"}});
    assert_eq!(h.robot("robot-1", &md).await["errcode"], 0);
    let text = json!({"msgtype": "text", "text": {"content": "新订单", "mentioned_list": ["@all"]}});
    assert_eq!(h.robot("robot-1", &text).await["errcode"], 0);
    let messages = h.sim.messages();
    assert_eq!(
        messages[1].recipients,
        vec!["zhangsan"],
        "markdown mentions no one with <@all>"
    );
    assert_eq!(messages[2].recipients, vec!["@all"], "a text message mentions everyone");
}

#[tokio::test]
async fn agent_get_names_only_the_tokens_own_app() {
    let h = Harness::start(WeComSimConfig {
        partly_visible_apps: vec![1000003],
        ..directory()
    })
    .await;
    let token = h.token_for(SECRET).await;
    let own = h
        .get(&format!("/cgi-bin/agent/get?access_token={token}&agentid={AGENT}"))
        .await;
    assert_eq!(own["errcode"], 0, "{own}");
    assert_eq!(
        (own["agentid"].clone(), own["name"].clone()),
        (json!(AGENT), json!("订单通知"))
    );
    assert_eq!(own["allow_partys"]["partyid"], json!([1]), "visible company-wide");
    assert_eq!(own["close"], 0);
    let other = h
        .get(&format!("/cgi-bin/agent/get?access_token={token}&agentid=1000003"))
        .await;
    assert_eq!(other["errcode"], 301002, "another app of the corp: {other}");
    let unknown = h
        .get(&format!("/cgi-bin/agent/get?access_token={token}&agentid=1000009"))
        .await;
    assert_eq!(unknown["errcode"], 40056, "{unknown}");
    let partly = h.token_for("secret-b").await;
    let partly = h
        .get(&format!("/cgi-bin/agent/get?access_token={partly}&agentid=1000003"))
        .await;
    assert_eq!(partly["allow_partys"]["partyid"], json!([]));
    assert_eq!(partly["allow_userinfos"]["user"][0]["userid"], "ZhangSan");
    let no_token = h.get("/cgi-bin/agent/get?agentid=1000002").await;
    assert_eq!(no_token["errcode"], 41001);
}
