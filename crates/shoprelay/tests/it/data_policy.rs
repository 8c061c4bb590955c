//! The per-shop data policy: buyers' phone, address and name are neither fetched nor stored nor sent
//! until an admin accepts the sensitive-information commitment; then messages show them masked, except
//! to a rule that names its people and asks for full values (the only card with one-click dial), and a
//! webhook gets what its rule allows.

use std::sync::{Arc, Mutex};

use axum::routing::post;
use serde_json::{json, Value};
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::policy::COMMITMENT_VERSION;
use shoprelay_sim::shopee::{NewOrder, SimRecipient};
use shoprelay_store::AuditOutcome;
use shoprelay_store::{AuditFilter, AuditKind};

use crate::helpers::*;

const PHONE: &str = "+6591234567";
const STREET: &str = "10 Anson Road #12-01";

/// A robot (a group: masked), a rule that shows full values to one named member, and the warehouse's
/// webhook with full values too.
fn rules(hook: &str) -> String {
    format!(
        r#"
[[webhooks]]
id = "wms"
url = "{hook}"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The test's receiver listens on loopback.
allow_private_network = true

[[rules]]
id = "dispatch"
events = ["order_created"]
personal_data = "full"
targets = [{{ type = "wecom_app", app = "hq", users = ["lisi"] }}, {{ type = "webhook", webhook = "wms" }}]
"#
    )
}

/// A receiver of webhook bodies.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                state
                    .lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap_or_default());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn order_with_recipient(app: &TestApp) -> String {
    app.shopee
        .create_order(NewOrder {
            status: Some("READY_TO_SHIP".into()),
            recipient: Some(SimRecipient {
                name: "Tan Mei Ling".into(),
                phone: PHONE.into(),
                town: String::new(),
                district: "Tanjong Pagar".into(),
                city: "Singapore".into(),
                state: String::new(),
                zipcode: "079903".into(),
                full_address: format!("{STREET}, Singapore 079903"),
            }),
            ..NewOrder::default()
        })
        .await
        .unwrap()
        .order
        .order_sn
}

fn policy_url(app: &TestApp) -> String {
    format!("{}/api/v1/shops/{APP}/{SHOP}/data-policy", app.base)
}

/// Everything WeCom received and the webhook got, as one text.
fn everything_sent(app: &TestApp, hooks: &Mutex<Vec<Value>>) -> String {
    let wecom: Vec<Value> = app.wecom.messages().into_iter().map(|m| m.body).collect();
    format!("{wecom:?} {:?}", hooks.lock().unwrap())
}

#[tokio::test]
async fn by_default_no_personal_field_is_fetched_stored_or_sent() {
    let (hook, hooks) = receiver().await;
    let app = spawn_authorized_with_rules(rules(&hook)).await;
    let policy: Value = app
        .http
        .get(policy_url(&app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(policy["fields"], json!([]), "{policy}");
    assert_eq!(policy["commitment_version"], COMMITMENT_VERSION);
    let sn = order_with_recipient(&app).await;
    app.dispatch_until_settled().await;
    let event = app
        .server
        .engine
        .store()
        .latest_event(&sn, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.order.unwrap().recipient, None, "nothing personal is stored");
    let sent = everything_sent(&app, &hooks);
    assert!(!hooks.lock().unwrap().is_empty() && app.cards().len() == 2, "{sent}");
    for needle in ["91234567", "4567", "Anson", "Tan Mei", "Tanjong", "tel:"] {
        assert!(!sent.contains(needle), "{needle} was sent: {sent}");
    }
}

#[tokio::test]
async fn sensitive_fields_need_the_commitment_accepted_by_a_named_admin() {
    let app = spawn_authorized_with_rules("").await;
    let put = |body: Value| app.http.put(policy_url(&app)).json(&body).send();
    let refused = put(json!({"fields": ["phone"]})).await.unwrap();
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "policy.commitment_required", "{body}");
    assert!(body["message"].as_str().unwrap().contains("承诺"), "{body}");
    let outdated = put(json!({"fields": ["phone"], "accepted_commitment_version": "2019-01", "accepted_by": "王经理"}))
        .await
        .unwrap();
    assert_eq!(outdated.status(), 409);
    let nameless = put(json!({"fields": ["phone"], "accepted_commitment_version": COMMITMENT_VERSION}))
        .await
        .unwrap();
    assert_eq!(nameless.status(), 400);
    let unknown =
        put(json!({"fields": ["id_card"], "accepted_commitment_version": COMMITMENT_VERSION, "accepted_by": "王经理"}))
            .await
            .unwrap();
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["code"], "policy.unknown_field", "{body}");
    let store = app.server.engine.store();
    let (a, s) = (ConfigId::parse(APP).unwrap(), ShopId::new(SHOP).unwrap());
    assert!(
        store.data_policy(&a, s).await.unwrap().fields.is_empty(),
        "nothing refused took effect"
    );

    let ok = put(json!({"fields": ["phone", "address"], "accepted_commitment_version": COMMITMENT_VERSION, "accepted_by": "王经理"}))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let policy = store.data_policy(&a, s).await.unwrap();
    let accepted = policy.accepted.unwrap();
    assert_eq!(
        (accepted.by.as_str(), accepted.version.as_str()),
        ("王经理", COMMITMENT_VERSION)
    );
    let audit = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Privacy),
            ..Default::default()
        })
        .await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].outcome, AuditOutcome::DataPolicySet);
    assert_eq!(
        audit[0].platform.map(|p| p.to_string()).as_deref(),
        Some("shopee"),
        "the app's marketplace"
    );
    assert!(
        audit[0].detail.contains("phone,address") && audit[0].detail.contains("王经理"),
        "{}",
        audit[0].detail
    );
}

#[tokio::test]
async fn kept_fields_are_masked_except_for_named_people_who_get_one_click_dial() {
    let (hook, hooks) = receiver().await;
    let app = spawn_authorized_with_rules(rules(&hook)).await;
    let ok = app
        .http
        .put(policy_url(&app))
        .json(&json!({"fields": ["phone", "address", "name"], "accepted_commitment_version": COMMITMENT_VERSION, "accepted_by": "王经理"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    order_with_recipient(&app).await;
    app.dispatch_until_settled().await;

    let cards = app.cards();
    let card_for = |user: &str| {
        cards
            .iter()
            .find(|c| c.body["touser"] == user)
            .unwrap_or_else(|| panic!("no card for {user}: {cards:?}"))
    };
    // The default rule: masked, the address reduced to its district, no dial.
    let masked = card_for("zhangsan");
    let rows = card_rows(masked);
    assert!(rows.contains(&("电话".into(), "+65****4567".into())), "{rows:?}");
    let name = format!("T{}", "*".repeat("an Mei Ling".chars().count()));
    assert!(rows.contains(&("收件人".into(), name)), "{rows:?}");
    assert!(
        rows.contains(&("地址".into(), "Tanjong Pagar, Singapore, SG".into())),
        "{rows:?}"
    );
    assert!(!masked.body.to_string().contains("tel:"), "{}", masked.body);
    // The group robot: masked too (markdown shows the stars as full-width ones).
    let robot = app.markdowns().join("\n");
    assert!(robot.contains("4567") && !robot.contains("91234567"), "{robot}");
    assert!(!robot.contains("Anson"), "{robot}");
    // The rule naming lisi with full values: the whole number and address, and one-click dial.
    let full = card_for("lisi");
    let rows = card_rows(full);
    assert!(rows.contains(&("电话".into(), PHONE.into())), "{rows:?}");
    assert!(rows.iter().any(|(_, v)| v.contains(STREET)), "{rows:?}");
    let jumps = full.body["template_card"]["jump_list"].as_array().unwrap();
    assert!(jumps.iter().any(|j| j["url"] == format!("tel:{PHONE}")), "{jumps:?}");
    // The webhook of that rule gets the full values its rule allows.
    let hooks = hooks.lock().unwrap();
    let recipient = &hooks[0]["data"]["order"]["recipient"];
    assert_eq!(recipient["phone"], PHONE, "{recipient}");
}

#[tokio::test]
async fn full_values_to_a_group_are_refused_when_rules_are_applied() {
    let (hook, _) = receiver().await;
    let app = spawn_authorized_with_rules(rules(&hook)).await;
    let rule = json!({
        "id": "broadcast",
        "events": ["order_created"],
        "personal_data": "full",
        "targets": [{"type": "wecom_app", "app": "hq", "departments": [2]}, {"type": "robot", "robot": "ops"}]
    });
    let answer = app
        .http
        .put(format!("{}/api/v1/rules/broadcast", app.base))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let body = answer.text().await.unwrap();
    assert!(body.contains("personal_data"), "{body}");
}

#[tokio::test]
async fn the_cli_shows_the_commitment_and_sets_a_policy_only_with_it() {
    use shoprelay_core::secret::SecretBox;
    use shoprelay_store::{DataPolicies, SqlStore};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let key = SecretBox::generate_key();
    std::fs::write(dir.path().join("t.db.key"), &key).unwrap();
    let run = |args: &[&str]| {
        crate::cli::bin()
            .current_dir(dir.path())
            .env("SHOPRELAY_DATABASE_URL", &url)
            .args(["shops", "policy"])
            .args(args)
            .output()
            .unwrap()
    };
    let shown = run(&["--show-commitment"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success() && text.contains("敏感个人信息处理承诺") && text.contains(COMMITMENT_VERSION),
        "{text}"
    );
    let shop = SHOP.to_string();
    let refused = run(&["--app", APP, "--shop", &shop, "--fields", "phone"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("policy.commitment_required"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let set = run(&[
        "--app",
        APP,
        "--shop",
        &shop,
        "--fields",
        "phone,address",
        "--accept-commitment",
        COMMITMENT_VERSION,
        "--by",
        "王经理",
    ]);
    let out = String::from_utf8_lossy(&set.stdout);
    assert!(set.status.success(), "{out}{}", String::from_utf8_lossy(&set.stderr));
    assert!(out.contains("[phone, address]") && out.contains("王经理"), "{out}");
    let store = SqlStore::connect(&url, SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let policy = store
        .data_policy(&ConfigId::parse(APP).unwrap(), ShopId::new(SHOP).unwrap())
        .await
        .unwrap();
    assert_eq!(policy.fields.len(), 2);
    store.close().await;
    let minimal = run(&["--app", APP, "--shop", &shop, "--minimal"]);
    assert!(String::from_utf8_lossy(&minimal.stdout).contains("minimal"));
}
