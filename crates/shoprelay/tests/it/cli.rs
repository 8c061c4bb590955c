//! The real binary: `serve` with no flags, `apply`, `audit`, `demo`.

use std::path::Path;
use std::process::Command;

pub use crate::process::{bin, serve, wait_healthy, Proc};

#[tokio::test]
async fn serve_works_on_a_fresh_machine_with_no_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = serve(dir.path(), &[], &[("SHOPRELAY_LISTEN", "127.0.0.1:0")]);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    wait_healthy(&base).await;
    assert!(
        dir.path().join("shoprelay.db").exists(),
        "SQLite database created next to it"
    );
    assert!(
        dir.path().join("shoprelay.db.key").exists(),
        "master key created next to it"
    );
    assert_eq!(
        reqwest::get(format!("{base}/readyz")).await.unwrap().status().as_u16(),
        200
    );
    let refused = reqwest::Client::new()
        .post(format!("{base}/push/shopee/none"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 404);
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("shoprelay_pushes_total{outcome=\"rejected\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("shoprelay_inbox_pending 0"), "{metrics}");
    let console = reqwest::get(&base).await.unwrap().text().await.unwrap();
    assert!(console.contains("shoprelay"));
    // SIGTERM: a graceful stop.
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

const VALID: &str = r#"
[server]
database = "sqlite://DB"

[[shopee.apps]]
id = "main"
partner_id = 2001887
partner_key = "secret-partner-key"

[[shopee.shops]]
app = "main"
shop_id = 727720655
name = "Shop"

[[wecom.robots]]
id = "ops"
key = "robot-key"

[[routes]]
id = "all"
targets = [{ type = "robot", robot = "ops" }]
"#;

fn apply(dir: &Path, text: &str) -> (i32, String, String) {
    let file = dir.join("shoprelay.toml");
    std::fs::write(&file, text.replace("DB", &dir.join("x.db").display().to_string())).unwrap();
    let out = bin().arg("apply").arg("-f").arg(&file).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn apply_is_idempotent_and_an_invalid_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = apply(dir.path(), VALID);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("4 created, 0 changed, 0 unchanged, 0 removed"), "{out}");
    let (_, out, _) = apply(dir.path(), VALID);
    assert!(out.contains("0 created, 0 changed, 4 unchanged, 0 removed"), "{out}");
    let (_, out, _) = apply(dir.path(), &VALID.replace("robot-key", "new-key"));
    assert!(out.contains("0 created, 1 changed, 3 unchanged"), "{out}");
    assert!(
        !out.contains("new-key") && !out.contains("secret-partner-key"),
        "secrets are never printed"
    );
    let db = std::fs::read(dir.path().join("x.db")).unwrap();
    assert!(
        !db.windows(18).any(|w| w == b"secret-partner-key"),
        "secrets are stored encrypted"
    );

    let broken = VALID.replace("robot = \"ops\" }]", "robot = \"missing\" }]");
    let (code, _, err) = apply(dir.path(), &broken);
    assert_eq!(code, 2);
    assert!(
        err.contains("line 21") && err.contains("missing") && err.contains("config.invalid"),
        "{err}"
    );
    let syntax = VALID.replace("shop_id = 727720655", "shop_id = \"x\"");
    let (code, _, err) = apply(dir.path(), &syntax);
    assert_eq!(code, 2);
    assert!(err.contains("line 12, column 11"), "{err}");
    let (_, out, _) = apply(dir.path(), &VALID.replace("robot-key", "new-key"));
    assert!(
        out.contains("0 created, 0 changed, 4 unchanged"),
        "the invalid files changed nothing: {out}"
    );
}

#[cfg(feature = "demo")]
#[tokio::test]
async fn the_demo_runs_end_to_end() {
    let out = bin().args(["demo", "--exit"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Shopee: 3 orders (3 robot + 3 cards), 4 status changes, a tracking number; Lazada: 2 orders (2 robot +
    // 2 cards) and 2 status changes, one message each however many order lines Lazada pushed; TikTok Shop:
    // 1 order (robot + card) and 2 status changes; the Shopee buyer's chat message, assigned to one member.
    assert!(stdout.contains("企业微信收到 22 条消息"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("买家消息") && l.contains("buyer_ana") && l.ends_with("→ zhangsan")),
        "{stdout}"
    );
    assert!(
        stdout.contains("新订单") && stdout.contains("已分配运单号") && stdout.contains("已取消"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/push/lazada/demo-lazada") && stdout.contains("来赞达演示店"),
        "the tour names the Lazada shop and its push URL: {stdout}"
    );
    let lazada = |title: &str| {
        stdout
            .lines()
            .filter(|l| l.contains("template_card") && l.contains("Lazada") && l.contains(title))
            .count()
    };
    assert_eq!(lazada("新订单"), 2, "{stdout}");
    assert_eq!(lazada("已发货"), 1, "{stdout}");
    assert!(
        stdout.contains("/push/tiktok/demo-tiktok") && stdout.contains("TikTok 演示店"),
        "the tour names the TikTok shop and its push URL: {stdout}"
    );
    let tiktok = |title: &str| {
        stdout
            .lines()
            .filter(|l| l.contains("template_card") && l.contains("TikTok Shop") && l.contains(title))
            .count()
    };
    assert_eq!(tiktok("新订单"), 1, "{stdout}");
    assert_eq!(tiktok("已发货"), 1, "{stdout}");
}

#[tokio::test]
async fn console_setup_link_prints_a_link_that_makes_the_first_admin_then_refuses() {
    use crate::console::{browser, csrf_of, set_cookie};
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = serve(dir.path(), &[], &[("SHOPRELAY_LISTEN", "127.0.0.1:0")]);
    wait_healthy(&base).await;
    let link = || {
        bin()
            .current_dir(dir.path())
            .args(["console", "setup-link"])
            .output()
            .unwrap()
    };
    let first = link();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let printed = String::from_utf8(first.stdout).unwrap();
    let path = &printed[printed.find("/console/setup/").expect("a setup link")..]
        .trim()
        .to_owned();
    assert_eq!(path.len(), "/console/setup/".len() + 64, "{printed}");

    let http = browser();
    let page = http.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let (pre, _) = set_cookie(&page, "shoprelay_pre").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let made = http
        .post(format!("{base}{path}"))
        .header("cookie", format!("shoprelay_pre={pre}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ops"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 303);

    let refused = link();
    assert_eq!(refused.status.code(), Some(1), "no link once an admin exists");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("an admin exists"));
}

#[tokio::test]
async fn apply_refuses_to_overwrite_console_edits_without_force() {
    use shoprelay_core::secret::SecretBox;
    use shoprelay_store::{ConfigObject, ConfigRepo, SqlStore};
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = apply(dir.path(), VALID);
    assert_eq!(code, 0, "{out}{err}");
    // A rule edited and another made in the console (the store marks what `put_config` writes), opened
    // with the key file apply created beside the database.
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let key = std::fs::read_to_string(dir.path().join("x.db.key")).unwrap();
    let store = SqlStore::connect(&url, SecretBox::from_base64(key.trim()).unwrap())
        .await
        .unwrap();
    for id in ["all", "made-in-console"] {
        let edited = ConfigObject {
            kind: "route".into(),
            id: id.into(),
            body: "{}".into(),
            fingerprint: "edited in the console".into(),
        };
        store
            .put_config(&edited, shoprelay_clock::UnixMs::from_millis(1))
            .await
            .unwrap();
    }
    store.close().await;

    let (code, out, err) = apply(dir.path(), VALID);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("would overwrite") && err.contains("route all"), "{err}");
    assert!(
        err.contains("would remove") && err.contains("route made-in-console"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert!(!out.contains("applied"), "nothing was applied: {out}");

    let file = dir.path().join("shoprelay.toml");
    let forced = bin().arg("apply").arg("-f").arg(&file).arg("--force").output().unwrap();
    let out = String::from_utf8_lossy(&forced.stdout);
    assert!(forced.status.success(), "{out}");
    assert!(out.contains("1 changed") && out.contains("1 removed"), "{out}");
    let (code, out, err) = apply(dir.path(), VALID);
    assert_eq!(code, 0, "the file owns everything again: {out}{err}");
}
