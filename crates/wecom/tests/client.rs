//! The client against the in-process WeCom simulator.

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use shoprelay_clock::SystemClock;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::WeComUserId;
use shoprelay_sim::wecom::{serve, Fault, FaultAction, SimApp, SimGroup, WeComSim, WeComSimConfig};
use shoprelay_wecom::message::TextCard;
use shoprelay_wecom::{
    AppBody, AppChatSpec, AppCredentials, AppMessage, Disposition, Group, LoginIdentity, Membership, Recipients,
    RobotMessage, Secret, WeComClient, WeComError,
};
use tokio::net::TcpListener;

const CORP: &str = "wwclienttest";
const SECRET: &str = "app-secret";
const AGENT: i64 = 1000002;
const ROBOT: &str = "robot-key";

fn sim_config() -> WeComSimConfig {
    WeComSimConfig {
        corp_id: CORP.into(),
        apps: vec![SimApp {
            agent_id: AGENT,
            secret: SECRET.into(),
            name: String::new(),
        }],
        users: vec!["alice".into(), "bob".into()],
        robot_keys: vec![ROBOT.into()],
        ..WeComSimConfig::default()
    }
}

async fn start(config: WeComSimConfig) -> (WeComSim, WeComClient, AppCredentials) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = serve(listener, config, SystemClock::shared()).await.unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let creds = AppCredentials {
        corp_id: CORP.into(),
        secret: Secret::new(SECRET),
        agent_id: AGENT,
        api_base: sim.base_url(),
    };
    (sim, WeComClient::new(http, SystemClock::shared()), creds)
}

fn text_to(users: &[&str], content: &str) -> AppMessage {
    AppMessage {
        recipients: Recipients::users(users.iter().copied()),
        agentid: AGENT,
        body: AppBody::text(content),
        enable_duplicate_check: false,
        duplicate_check_interval: None,
    }
}

#[tokio::test]
async fn token_is_cached_across_sends() {
    let (sim, client, creds) = start(sim_config()).await;
    for i in 0..3 {
        let receipt = client
            .send_app_message(&creds, &text_to(&["alice"], &format!("订单 {i}")))
            .await
            .unwrap();
        assert!(!receipt.msgid.is_empty());
    }
    assert_eq!(sim.stats().gettoken_calls, 1);
    assert_eq!(sim.messages().len(), 3);
    assert_eq!(sim.messages()[2].body["text"]["content"], "订单 2");
}

#[tokio::test]
async fn expired_token_is_refreshed_once_and_the_send_retried() {
    let (sim, client, creds) = start(sim_config()).await;
    client
        .send_app_message(&creds, &text_to(&["alice"], "1"))
        .await
        .unwrap();
    sim.expire_tokens();
    client
        .send_app_message(&creds, &text_to(&["alice"], "2"))
        .await
        .unwrap();
    let stats = sim.stats();
    assert_eq!(stats.gettoken_calls, 2);
    assert_eq!(stats.rejected.get(&42001), Some(&1));
    assert_eq!(sim.messages().len(), 2);
}

#[tokio::test]
async fn injected_40014_is_retried_once_only() {
    let (sim, client, creds) = start(sim_config()).await;
    client
        .send_app_message(&creds, &text_to(&["alice"], "warm up"))
        .await
        .unwrap();
    sim.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: 40014 },
    ));
    client
        .send_app_message(&creds, &text_to(&["alice"], "ok after one retry"))
        .await
        .unwrap();
    assert_eq!(sim.stats().gettoken_calls, 2);

    sim.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        2,
        FaultAction::Errcode { errcode: 40014 },
    ));
    let err = client
        .send_app_message(&creds, &text_to(&["alice"], "fails twice"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40014));
    assert_eq!(err.disposition(), Disposition::Retry);
    assert_eq!(sim.stats().gettoken_calls, 3, "exactly one refresh per failed send");
}

#[tokio::test]
async fn concurrent_sends_after_expiry_refresh_the_token_once() {
    let (sim, client, creds) = start(sim_config()).await;
    client
        .send_app_message(&creds, &text_to(&["alice"], "warm up"))
        .await
        .unwrap();
    sim.expire_tokens();
    let sends: Vec<_> = (0..10)
        .map(|i| {
            let (client, creds) = (client.clone(), creds.clone());
            tokio::spawn(async move {
                client
                    .send_app_message(&creds, &text_to(&["bob"], &format!("{i}")))
                    .await
            })
        })
        .collect();
    for send in sends {
        send.await.unwrap().unwrap();
    }
    assert_eq!(sim.stats().gettoken_calls, 2, "no gettoken stampede");
}

#[tokio::test]
async fn wrong_secret_is_a_config_error_with_an_actionable_message() {
    let (sim, client, mut creds) = start(sim_config()).await;
    creds.secret = Secret::new("wrong");
    let err = client
        .send_app_message(&creds, &text_to(&["alice"], "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, WeComError::Api { errcode: 40001, .. }), "{err:?}");
    assert_eq!(err.code(), "wecom.secret_rejected");
    assert!(err.is_config_error());
    assert_eq!(err.disposition(), Disposition::Hold);
    assert!(err.message_zh().contains("Secret"));
    assert!(
        !format!("{creds:?}").contains("wrong"),
        "Debug must not show the secret"
    );
    // Queued messages do not hammer gettoken with the bad secret.
    let _ = client.send_app_message(&creds, &text_to(&["alice"], "y")).await;
    assert_eq!(sim.stats().gettoken_calls, 1);

    creds.corp_id = "wwother".into();
    let err = client
        .send_app_message(&creds, &text_to(&["alice"], "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wecom.corp_id_invalid");
}

#[tokio::test]
async fn untrusted_ip_names_the_ip_to_add() {
    let (_sim, client, creds) = start(WeComSimConfig {
        trusted_ips: vec!["198.51.100.10".parse().unwrap()],
        ..sim_config()
    })
    .await;
    let err = client
        .send_app_message(&creds, &text_to(&["alice"], "x"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(60020));
    assert_eq!(err.code(), "wecom.ip_not_trusted");
    assert_eq!(err.untrusted_ip(), Some("127.0.0.1"));
    assert!(err.message_zh().contains("127.0.0.1"));
    assert!(err.message_zh().contains("企业可信IP"));
    assert!(err.is_config_error());
}

#[tokio::test]
async fn invalid_users_are_reported_and_all_invalid_fails() {
    let (_sim, client, creds) = start(sim_config()).await;
    let receipt = client
        .send_app_message(&creds, &text_to(&["alice", "Ghost"], "x"))
        .await
        .unwrap();
    assert_eq!(receipt.invalid_users, vec!["ghost".to_owned()]);
    assert!(receipt.invalid_parties.is_empty());
    let err = client
        .send_app_message(&creds, &text_to(&["ghost"], "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wecom.recipients_all_invalid");
    assert_eq!(err.disposition(), Disposition::Fail);
}

#[tokio::test]
async fn agent_mismatch_and_empty_recipients() {
    let (_sim, client, creds) = start(sim_config()).await;
    let mut msg = text_to(&["alice"], "x");
    msg.agentid = 1000099;
    let err = client.send_app_message(&creds, &msg).await.unwrap_err();
    assert_eq!(err.errcode(), Some(301002));
    let err = client.send_app_message(&creds, &text_to(&[], "x")).await.unwrap_err();
    assert_eq!(err.errcode(), Some(82001));
}

#[tokio::test]
async fn duplicate_check_makes_a_resend_harmless() {
    let (sim, client, creds) = start(sim_config()).await;
    let mut msg = text_to(&["alice"], "新订单 SG1");
    msg.enable_duplicate_check = true;
    let first = client.send_app_message(&creds, &msg).await.unwrap();
    let again = client.send_app_message(&creds, &msg).await.unwrap();
    assert_eq!(first.msgid, again.msgid);
    assert_eq!(sim.messages().len(), 1);
    assert_eq!(sim.stats().duplicate_absorbed, 1);
}

#[tokio::test]
async fn robot_rate_limit_is_a_retryable_45009() {
    let (sim, client, _) = start(sim_config()).await;
    let key = Secret::new(ROBOT);
    let msg = RobotMessage::Text {
        content: "发货超时".into(),
        mentioned_list: vec!["@all".into()],
        mentioned_mobile_list: vec![],
    };
    for _ in 0..20 {
        client.send_robot(&sim.base_url(), &key, &msg).await.unwrap();
    }
    let err = client.send_robot(&sim.base_url(), &key, &msg).await.unwrap_err();
    assert_eq!(err.errcode(), Some(45009));
    assert_eq!(err.code(), "wecom.rate_limited");
    assert_eq!(err.disposition(), Disposition::Throttled);

    let err = client
        .send_robot(&sim.base_url(), &Secret::new("removed"), &msg)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wecom.robot_key_invalid");
    assert!(err.is_config_error());
}

#[tokio::test]
async fn app_chat_create_and_send() {
    let (sim, client, creds) = start(sim_config()).await;
    let spec = AppChatSpec {
        name: "售后群".into(),
        owner: Some("alice".into()),
        userlist: vec!["alice".into(), "bob".into()],
        chatid: None,
    };
    let chatid = client.create_appchat(&creds, &spec).await.unwrap();
    let card = AppBody::TextCard(TextCard {
        title: "退货申请".into(),
        description: "订单 SG1 申请退货".into(),
        url: "https://example.com/returns/1".into(),
        btntxt: None,
    });
    client.send_appchat(&creds, &chatid, &card).await.unwrap();
    assert_eq!(sim.messages()[0].recipients, vec!["alice", "bob"]);
    let err = client
        .send_appchat(&creds, "nosuchchat", &AppBody::text("x"))
        .await
        .unwrap_err();
    // WeCom answers 86001 "invalid chatid" for a chat that does not exist; either way it is missing.
    assert_eq!(err.code(), "wecom.chat_id_invalid");
    assert_eq!(err.disposition(), Disposition::ChatMissing);
}

#[tokio::test]
async fn members_of_departments_tags_and_everyone_are_read_and_cached() {
    let (sim, client, creds) = start(WeComSimConfig {
        departments: vec![SimGroup {
            id: 2,
            name: "仓库".into(),
            members: vec!["Alice".into()],
        }],
        tags: vec![SimGroup {
            id: 7,
            name: "客服".into(),
            members: vec!["bob".into()],
        }],
        ..sim_config()
    })
    .await;
    let known = |m: &[&str]| Membership::Known(m.iter().map(|s| s.to_string()).collect());
    assert_eq!(client.members(&creds, Group::Department(2)).await, known(&["alice"]));
    assert_eq!(client.members(&creds, Group::Tag(7)).await, known(&["bob"]));
    assert_eq!(client.members(&creds, Group::Everyone).await, known(&["alice", "bob"]));
    // A removed department or tag holds nobody; it is not "unreadable".
    assert_eq!(client.members(&creds, Group::Department(99)).await, known(&[]));
    assert_eq!(client.members(&creds, Group::Tag(8)).await, known(&[]));

    // Without the contacts permission a membership is unreadable, and that is remembered for a while.
    sim.inject_fault(Fault::new("/cgi-bin/tag/", 1, FaultAction::Errcode { errcode: 60011 }));
    assert_eq!(client.members(&creds, Group::Tag(9)).await, Membership::Unreadable);
    assert_eq!(client.members(&creds, Group::Tag(9)).await, Membership::Unreadable);
    assert_eq!(sim.stats().rejected.get(&60011), Some(&1), "asked once");
    // Known memberships come from the cache.
    let calls = sim.stats().faults_fired;
    sim.inject_fault(Fault::new("/cgi-bin/user/", 5, FaultAction::Errcode { errcode: -1 }));
    assert_eq!(client.members(&creds, Group::Department(2)).await, known(&["alice"]));
    assert_eq!(sim.stats().faults_fired, calls, "no call made");
}

#[tokio::test]
async fn transport_faults_map_to_retryable_errors() {
    let (sim, client, creds) = start(sim_config()).await;
    client
        .send_app_message(&creds, &text_to(&["alice"], "warm up"))
        .await
        .unwrap();

    sim.inject_fault(Fault::new("/cgi-bin/message/send", 1, FaultAction::Http500));
    let err = client
        .send_app_message(&creds, &text_to(&["alice"], "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, WeComError::Http { status: 500, .. }), "{err:?}");
    assert_eq!(err.disposition(), Disposition::Retry);

    sim.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Errcode { errcode: -1 },
    ));
    let err = client
        .send_app_message(&creds, &text_to(&["alice"], "x"))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.disposition()), ("wecom.busy", Disposition::Retry));

    sim.inject_fault(Fault::new(
        "/cgi-bin/message/send",
        1,
        FaultAction::Timeout { hold_ms: 600_000 },
    ));
    let err = client
        .send_app_message(&creds, &text_to(&["alice"], "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, WeComError::Timeout(_)), "{err:?}");
    assert_eq!(err.code(), "wecom.timeout");
    assert_eq!(err.disposition(), Disposition::Retry);
    assert!(
        !format!("{err:?}").contains("access_token="),
        "errors must not leak the token"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unreachable_and_malformed_bases() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = WeComClient::new(reqwest::Client::new(), SystemClock::shared());
    let msg = RobotMessage::Markdown { content: "x".into() };
    let err = client.send_robot(&closed, &Secret::new("k"), &msg).await.unwrap_err();
    assert!(matches!(err, WeComError::Transport(_)), "{err:?}");
    assert_eq!(err.disposition(), Disposition::Retry);

    let err = client
        .send_robot("not a url", &Secret::new("k"), &msg)
        .await
        .unwrap_err();
    assert!(matches!(err, WeComError::InvalidBaseUrl { .. }), "{err:?}");
    assert!(err.is_config_error());
    assert_eq!(err.disposition(), Disposition::Hold);
}

#[tokio::test]
async fn a_login_code_names_who_scanned_once_within_five_minutes() {
    let (sim, client, creds) = start(sim_config()).await;
    let code = sim.scan_login(AGENT, "Alice");
    assert_eq!(
        client.login_identity(&creds, &code).await.unwrap(),
        LoginIdentity::Member(WeComUserId::parse("alice").unwrap()),
        "the member as the directory spells the userid"
    );
    let again = client.login_identity(&creds, &code).await.unwrap_err();
    assert_eq!(
        (again.errcode(), again.code()),
        (Some(40029), "wecom.login_code_invalid")
    );

    let outsider = sim.scan_login(AGENT, "mallory");
    assert!(matches!(
        client.login_identity(&creds, &outsider).await.unwrap(),
        LoginIdentity::NonMember { openid } if !openid.is_empty()
    ));

    let late = sim.scan_login(AGENT, "bob");
    sim.advance_clock(Duration::from_secs(299));
    let on_time = sim.scan_login(AGENT, "bob");
    sim.advance_clock(Duration::from_secs(2));
    assert_eq!(
        client.login_identity(&creds, &late).await.unwrap_err().errcode(),
        Some(40029)
    );
    assert!(client.login_identity(&creds, &on_time).await.is_ok());

    let foreign = sim.scan_login(AGENT + 1, "bob");
    assert_eq!(
        client.login_identity(&creds, &foreign).await.unwrap_err().errcode(),
        Some(40029),
        "a code of another app"
    );
    assert_eq!(
        client.login_identity(&creds, "made-up").await.unwrap_err().errcode(),
        Some(40029)
    );
}

#[tokio::test]
async fn an_untrusted_redirect_domain_is_a_config_error_with_its_fix() {
    let (sim, client, creds) = start(sim_config()).await;
    sim.inject_fault(Fault::new(
        "/cgi-bin/auth/getuserinfo",
        1,
        FaultAction::Errcode { errcode: 50001 },
    ));
    let err = client
        .login_identity(&creds, &sim.scan_login(AGENT, "alice"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wecom.redirect_domain_untrusted");
    assert!(err.is_config_error());
    assert!(err.message_zh().contains("可信域名") && err.message_en().contains("trusted domain"));
}
