//! `shoprelay conversations export`: the archive read straight from the database, in either format,
//! with progress on standard error.

use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::secret::SecretBox;
use shoprelay_store::{Author, Conversations, MessageOutcome, NewBuyerMessage, NewReply, SqlStore};

use crate::cli::bin;

#[tokio::test]
async fn the_cli_exports_the_archive_as_csv_and_jsonl_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let key = SecretBox::generate_key();
    let store = SqlStore::connect(&url, SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let filed = store
        .file_buyer_message(
            &NewBuyerMessage {
                app_id: ConfigId::parse("shop-app").unwrap(),
                shop_id: ShopId::new(727720655).unwrap(),
                thread: "conv-1".into(),
                buyer_id: "5501".into(),
                buyer_name: "buyer_amy".into(),
                dedupe_key: "m1".into(),
                text: "@SUM(A1) 我的包裹呢".into(),
                at: UnixMs::from_millis(1_000),
            },
            UnixMs::from_millis(1_000),
        )
        .await
        .unwrap();
    let reply = store
        .add_reply(&NewReply {
            conversation_id: filed.conversation.id,
            author: Author::Auto,
            sender: None,
            dedupe_key: "auto:m1".into(),
            text: "已发货".into(),
            rule: Some("where-is-my-order".into()),
            at: UnixMs::from_millis(1_100),
        })
        .await
        .unwrap()
        .unwrap();
    store
        .finish_reply(
            reply,
            MessageOutcome::Sent,
            None,
            Some("pm-1"),
            UnixMs::from_millis(1_200),
        )
        .await
        .unwrap();
    store.close().await;
    let export = |args: &[&str]| {
        let out = bin()
            .current_dir(dir.path())
            .env("SHOPRELAY_DATABASE_URL", &url)
            .env("SHOPRELAY_MASTER_KEY", &key)
            .args(["conversations", "export"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (csv, progress) = export(&["--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].ends_with(",buyer,,marketplace,received,,,,'@SUM(A1) 我的包裹呢"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(",auto,,auto_reply,sent,,where-is-my-order,pm-1,"),
        "{}",
        lines[2]
    );
    assert!(progress.contains("2 条消息 messages exported"), "{progress}");

    let (jsonl, _) = export(&["--format", "jsonl", "--text", "包裹", "--shop", "727720655"]);
    let rows: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["text"], "@SUM(A1) 我的包裹呢",
        "JSON keeps the buyer's words as written"
    );
    let (none, progress) = export(&["--member", "nobody"]);
    assert_eq!(none.lines().count(), 1, "only the header: {none}");
    assert!(progress.contains("0 条消息"), "{progress}");
}
