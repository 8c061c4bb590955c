//! Personal data at rest: a full pipeline run leaves no buyer's name, message or address in the database
//! files; a buyer is forgotten through the API and the CLI, with an audit entry naming only a hash.

use serde_json::json;
use shoprelay_clock::{Clock, UnixMs};
use shoprelay_core::ids::ShopId;
use shoprelay_core::secret::SecretBox;
use shoprelay_sim::shopee::NewOrder;
use shoprelay_store::AuditOutcome;
use shoprelay_store::{AuditFilter, AuditKind, Privacy, SqlStore};

use crate::cli::bin;
use crate::helpers::*;

const BUYER: &str = "wang.xiaoming88";
const OTHER: &str = "li.lei.sg";
const CHAT: &str = "请把包裹放在门卫室";
const ADDRESS: &str = "幸福路123号";

const RULES: &str = r#"
[[rules]]
id = "service"
events = ["buyer_message", "order_created"]
assign = { app = "hq", members = [{ user = "zhangsan" }, { user = "lisi" }], strategy = "round_robin", sticky = "buyer" }
"#;

/// An order of `buyer` with a note holding an address, and a chat message from them, run through.
async fn buyer_activity(app: &TestApp, buyer: &str, message_id: &str) -> String {
    let order = app
        .shopee
        .create_order(NewOrder {
            buyer_username: Some(buyer.into()),
            message_to_seller: Some(format!("送到{ADDRESS}")),
            status: Some("READY_TO_SHIP".into()),
            ..NewOrder::default()
        })
        .await
        .unwrap()
        .order
        .order_sn;
    // Stamped now: a push dated far in the past is outside the push time window and changes nothing.
    let now = app.clock.now().as_secs();
    let push = json!({"code": 10, "shop_id": SHOP, "timestamp": now, "data": {"type": "message", "content": {
        "message_id": message_id, "from_id": 55501, "from_user_name": buyer, "to_id": SHOP,
        "message_type": "text", "content": {"text": CHAT}, "conversation_id": format!("c-{buyer}"),
        "created_timestamp": now}}})
    .to_string();
    let (status, err) = app.post_push(APP, &push, Some(app.sign(&push))).await;
    assert_eq!(status, 200, "{err}");
    app.dispatch_until_settled().await;
    order
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_full_pipeline_run_leaves_no_buyer_text_in_the_database_files() {
    let app = spawn_authorized_with_rules(RULES).await;
    buyer_activity(&app, BUYER, "m1").await;
    // The data went through: staff were told who wrote what.
    let sent = serde_json::to_string(&app.cards().iter().map(|c| &c.body).collect::<Vec<_>>()).unwrap();
    assert!(sent.contains(CHAT) && sent.contains(BUYER), "{sent}");
    let tasks = app.server.engine.store().list_tasks(None, 10).await.unwrap();
    assert_eq!(tasks.len(), 2, "the order and the message were assigned");
    assert_eq!(
        tasks[0].assignee, tasks[1].assignee,
        "sticky to the buyer through the hashed key"
    );
    app.audit(AuditFilter::default()).await;
    let path = app.database_path();
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let hay = [std::fs::read(&path).unwrap(), std::fs::read(wal).unwrap_or_default()].concat();
    for needle in [BUYER, CHAT, ADDRESS] {
        assert!(!contains(&hay, needle), "{needle} is stored in clear");
    }
}

#[tokio::test]
async fn a_buyer_is_forgotten_through_the_api_and_the_audit_names_only_a_hash() {
    let app = spawn_authorized_with_rules(RULES).await;
    let mine = buyer_activity(&app, BUYER, "m1").await;
    let theirs = buyer_activity(&app, OTHER, "m2").await;
    let store = app.server.engine.store();
    let answer: serde_json::Value = app
        .http
        .post(format!("{}/api/v1/buyers/forget", app.base))
        .json(&json!({"shop_id": SHOP, "buyer": "Wang.XiaoMing88"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The order's push and the message's push; order created (and its status) and the message; their
    // messages to WeCom; their two tasks; the order's last status.
    assert_eq!(answer["pushes"], 2, "{answer}");
    assert!(answer["events"].as_u64().unwrap() >= 2, "{answer}");
    assert!(answer["deliveries"].as_u64().unwrap() >= 2, "{answer}");
    assert_eq!(answer["tasks"], 2, "{answer}");
    assert_eq!(answer["orders"], 1, "{answer}");
    assert!(store.latest_event(&mine, None).await.unwrap().is_none());
    assert!(
        store.latest_event(&theirs, None).await.unwrap().is_some(),
        "other buyers are kept"
    );
    let tasks = store.list_tasks(None, 10).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| !t.summary.contains(BUYER)), "{tasks:?}");
    let audit = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Privacy),
            ..Default::default()
        })
        .await;
    assert_eq!(audit.len(), 1);
    let hash = store.buyer_hash(ShopId::new(SHOP).unwrap(), BUYER);
    assert!(audit[0].detail.contains(&hash), "{}", audit[0].detail);
    assert!(!audit[0].detail.contains("wang"), "{}", audit[0].detail);
    // A request naming nobody is refused.
    let bad = app
        .http
        .post(format!("{}/api/v1/buyers/forget", app.base))
        .json(&json!({"shop_id": SHOP, "buyer": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_cli_forgets_a_buyer_and_refuses_a_wrong_or_missing_key() {
    use shoprelay_core::event::{Event, EventBody};
    use shoprelay_store::{NewEvent, Outbox};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let key = SecretBox::generate_key();
    let store = SqlStore::connect(&url, SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let event = Event {
        dedupe_key: "chat-1".into(),
        platform: shoprelay_marketplaces::shopee::PLATFORM,
        app: shoprelay_core::ids::ConfigId::parse(APP).unwrap(),
        shop_id: Some(ShopId::new(SHOP).unwrap()),
        order_sn: None,
        occurred_at: UnixMs::from_secs(1),
        order: None,
        body: EventBody::BuyerMessage {
            conversation_id: "c1".into(),
            from_user_name: BUYER.into(),
            text: CHAT.into(),
            message_id: "m1".into(),
            buyer_id: None,
            conversation: None,
            latest_order: None,
        },
    };
    store
        .insert_event(
            NewEvent {
                event,
                deliveries: vec![],
            },
            UnixMs::from_millis(1),
        )
        .await
        .unwrap();
    store.close().await;
    let forget = |envs: &[(&str, &str)]| {
        let mut cmd = bin();
        cmd.current_dir(dir.path()).env("SHOPRELAY_DATABASE_URL", &url).args([
            "buyers",
            "forget",
            "--shop",
            &SHOP.to_string(),
            "--buyer",
            BUYER,
        ]);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let wrong = forget(&[("SHOPRELAY_MASTER_KEY", &SecretBox::generate_key())]);
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("store.master_key_mismatch"), "{stderr}");
    // No key at all: the key file beside the database is missing, and no new one is made in its place.
    let missing = forget(&[]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("key.file_missing"), "{stderr}");
    let done = forget(&[("SHOPRELAY_MASTER_KEY", &key)]);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("1 event(s)"), "{stdout}");
    let store = SqlStore::connect(&url, SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let hash = store.buyer_hash(ShopId::new(SHOP).unwrap(), BUYER);
    assert!(stdout.contains(&hash), "{stdout}");
    assert!(!stdout.contains(BUYER), "{stdout}");
    let audit = shoprelay_store::AuditLog::query_audit(
        &store,
        &AuditFilter {
            kind: Some(AuditKind::Privacy),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0].detail.contains(&hash) && audit[0].detail.contains("1 event(s)"),
        "{}",
        audit[0].detail
    );
}

/// A database with a buyer's message and a shop's tokens, sealed under the key in `<db>.key`.
async fn sealed_database(dir: &std::path::Path) -> (String, String) {
    use shoprelay_core::event::{Event, EventBody};
    use shoprelay_store::{NewEvent, Outbox, ShopAuth, ShopAuthRepo, ShopAuthStatus};
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let key = SecretBox::generate_key();
    std::fs::write(dir.join("t.db.key"), &key).unwrap();
    let store = SqlStore::connect(&url, SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let auth = ShopAuth {
        app_id: shoprelay_core::ids::ConfigId::parse(APP).unwrap(),
        shop_id: ShopId::new(SHOP).unwrap(),
        access_token: shoprelay_core::secret::Secret::new("access-1"),
        refresh_token: shoprelay_core::secret::Secret::new("refresh-1"),
        access_expires_at: UnixMs::from_secs(1),
        refresh_expires_at: UnixMs::from_secs(1),
        status: ShopAuthStatus::Active,
        status_reason: None,
        version: 0,
    };
    store.save_shop_auth(&auth, UnixMs::from_millis(1)).await.unwrap();
    let event = Event {
        dedupe_key: "chat-1".into(),
        platform: shoprelay_marketplaces::shopee::PLATFORM,
        app: shoprelay_core::ids::ConfigId::parse(APP).unwrap(),
        shop_id: Some(ShopId::new(SHOP).unwrap()),
        order_sn: Some(shoprelay_core::ids::OrderSn::parse("ORDERA1").unwrap()),
        occurred_at: UnixMs::from_secs(1),
        order: None,
        body: EventBody::BuyerMessage {
            conversation_id: "c1".into(),
            from_user_name: BUYER.into(),
            text: CHAT.into(),
            message_id: "m1".into(),
            buyer_id: None,
            conversation: None,
            latest_order: None,
        },
    };
    store
        .insert_event(
            NewEvent {
                event,
                deliveries: vec![],
            },
            UnixMs::from_millis(1),
        )
        .await
        .unwrap();
    store.close().await;
    (url, key)
}

/// The stored refresh token and buyer message, read with `secrets` alone.
async fn read_back(url: &str, secrets: SecretBox) -> Result<(String, String), shoprelay_store::StoreError> {
    use shoprelay_core::event::EventBody;
    use shoprelay_store::{Inbox, ShopAuthRepo};
    let store = SqlStore::connect(url, secrets).await?;
    let auth = store
        .shop_auth(
            &shoprelay_core::ids::ConfigId::parse(APP).unwrap(),
            ShopId::new(SHOP).unwrap(),
        )
        .await?
        .unwrap();
    let event = store.latest_event("ORDERA1", None).await?.unwrap();
    store.close().await;
    let EventBody::BuyerMessage { text, .. } = event.body else {
        panic!("{event:?}")
    };
    Ok((auth.refresh_token.expose().to_owned(), text))
}

fn keys(dir: &std::path::Path, url: &str, command: &str, envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .env("SHOPRELAY_DATABASE_URL", url)
        .args(["keys", command]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn keys_rotate_reseals_everything_under_a_new_key_file_then_an_environment_key() {
    let dir = tempfile::tempdir().unwrap();
    let (url, old) = sealed_database(dir.path()).await;
    let expected = ("refresh-1".to_owned(), CHAT.to_owned());
    let new_key = keys(dir.path(), &url, "new", &[]);
    assert!(new_key.status.success(), "{}", text(&new_key));
    let previous = dir.path().join("t.db.key.previous");
    assert_eq!(std::fs::read_to_string(&previous).unwrap(), old);
    let new = std::fs::read_to_string(dir.path().join("t.db.key")).unwrap();
    assert_ne!(new, old);
    let again = keys(dir.path(), &url, "new", &[]);
    assert!(
        !again.status.success() && text(&again).contains("unfinished"),
        "{}",
        text(&again)
    );

    // Without the previous key the rotation cannot read what it must re-seal, and says why.
    std::fs::rename(&previous, dir.path().join("aside")).unwrap();
    let blind = keys(dir.path(), &url, "rotate", &[]);
    assert!(!blind.status.success());
    assert!(text(&blind).contains("store.master_key_mismatch"), "{}", text(&blind));
    assert!(
        text(&blind).contains("SHOPRELAY_PREVIOUS_MASTER_KEY"),
        "{}",
        text(&blind)
    );
    std::fs::rename(dir.path().join("aside"), &previous).unwrap();

    let rotated = keys(dir.path(), &url, "rotate", &[]);
    assert!(rotated.status.success(), "{}", text(&rotated));
    assert!(text(&rotated).contains("you may now remove"), "{}", text(&rotated));
    let only_new = SecretBox::from_base64(&new).unwrap();
    assert_eq!(read_back(&url, only_new).await.unwrap(), expected);
    let only_old = SecretBox::from_base64(&old).unwrap();
    let err = read_back(&url, only_old).await.unwrap_err();
    assert!(matches!(err, shoprelay_store::StoreError::Seal(_)), "{err:?}");
    std::fs::remove_file(&previous).unwrap();

    // With keys in the environment: `keys new` prints the next key; both are set while rotating.
    let printed = keys(dir.path(), &url, "new", &[("SHOPRELAY_MASTER_KEY", &new)]);
    assert!(printed.status.success(), "{}", text(&printed));
    let next = String::from_utf8_lossy(&printed.stdout)
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert!(SecretBox::from_base64(&next).is_ok(), "{next}");
    let envs = [
        ("SHOPRELAY_MASTER_KEY", next.as_str()),
        ("SHOPRELAY_PREVIOUS_MASTER_KEY", new.as_str()),
    ];
    let rotated = keys(dir.path(), &url, "rotate", &envs);
    assert!(rotated.status.success(), "{}", text(&rotated));
    assert_eq!(
        read_back(&url, SecretBox::from_base64(&next).unwrap()).await.unwrap(),
        expected
    );
    // The buyer is still found after two rotations: lookups do not depend on the master key.
    let store = SqlStore::connect(&url, SecretBox::from_base64(&next).unwrap())
        .await
        .unwrap();
    assert_eq!(
        store
            .forget_buyer(ShopId::new(SHOP).unwrap(), BUYER, UnixMs::from_millis(1))
            .await
            .unwrap()
            .events,
        1
    );
}

#[tokio::test]
async fn a_shop_that_left_is_purged_and_a_connected_one_only_with_force() {
    use shoprelay_core::ids::ConfigId;
    use shoprelay_store::{AuditLog, ShopAuthRepo, ShopAuthStatus};
    let dir = tempfile::tempdir().unwrap();
    // An authorized shop with a buyer's message; the key file beside the database.
    let (url, key) = sealed_database(dir.path()).await;
    let store = SqlStore::connect(&url, SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let (app, shop) = (ConfigId::parse(APP).unwrap(), ShopId::new(SHOP).unwrap());
    let purge = || {
        bin()
            .current_dir(dir.path())
            .env("SHOPRELAY_DATABASE_URL", &url)
            .args(["shops", "purge", "--app", APP, "--shop", &SHOP.to_string()])
            .output()
            .unwrap()
    };
    let refused = purge();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("still authorized"));
    assert!(
        store.shop_auth(&app, shop).await.unwrap().is_some(),
        "nothing was deleted"
    );

    store
        .set_shop_status(&app, shop, ShopAuthStatus::Deauthorized, None, UnixMs::from_millis(2))
        .await
        .unwrap();
    let done = purge();
    let out = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{out}{}", String::from_utf8_lossy(&done.stderr));
    assert!(out.contains("0 push(es), 1 event(s)"), "{out}");
    assert!(store.shop_auth(&app, shop).await.unwrap().is_none());
    let audit = store
        .query_audit(&AuditFilter {
            kind: Some(AuditKind::Privacy),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit[0].outcome, AuditOutcome::ShopPurged);
    store.close().await;
}
