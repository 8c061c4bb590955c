//! ONE conformance suite for every Store implementation: each test runs against SQLite and PostgreSQL.
//! PostgreSQL tests read `DATABASE_URL` (e.g. postgres://postgres@127.0.0.1:5432/postgres) and are
//! skipped, with a visible message, when it is unset.

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;
use shoprelay_core::event::{Event, EventBody, Platform};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId, WeComUserId};
use shoprelay_core::secret::{Secret, SecretBox};
use shoprelay_core::shop::ShopProfile;
use shoprelay_store::*;

fn secrets() -> SecretBox {
    SecretBox::from_base64(&SecretBox::generate_key()).unwrap()
}

async fn sqlite_store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (SqlStore::connect(&url, secrets()).await.unwrap(), dir)
}

/// A fresh database per test on the server named by DATABASE_URL.
async fn postgres_store() -> Option<SqlStore> {
    Some(SqlStore::connect(&postgres_url().await?, secrets()).await.unwrap())
}

/// The URL of a fresh, empty database on the server named by DATABASE_URL.
async fn postgres_url() -> Option<String> {
    let Some(base) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SKIPPED: DATABASE_URL is not set, PostgreSQL conformance not run");
        return None;
    };
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("DATABASE_URL must be reachable");
    drop_unused_test_databases(&admin).await;
    // Named with its creation time, so a cleanup by a concurrent test never drops it before it is used.
    let name = format!("shoprelay_t_{}_{}", unix_now(), uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&name);
    Some(url.to_string())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether a test database was created long enough ago to belong to an earlier run (names without a
/// time are an older scheme's, always old).
fn is_stale(name: &str) -> bool {
    let created = name
        .strip_prefix("shoprelay_t_")
        .and_then(|rest| rest.split_once('_'))
        .and_then(|(secs, _)| secs.parse::<u64>().ok());
    created.is_none_or(|at| at + 600 < unix_now())
}

/// Earlier runs' databases that nobody is connected to any more. One a concurrent test just created is
/// younger than ten minutes and kept; one in use refuses to drop, which is fine.
async fn drop_unused_test_databases(admin: &sqlx::PgPool) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database d WHERE datname LIKE 'shoprelay_t_%'
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
    )
    .fetch_all(admin)
    .await
    .unwrap_or_default();
    for name in names.into_iter().filter(|n| is_stale(n)) {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(admin)
            .await;
    }
}

async fn run_both<F, Fut>(test: F)
where
    F: Fn(Arc<SqlStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let (sqlite, _dir) = sqlite_store().await;
    test(Arc::new(sqlite)).await;
    if let Some(pg) = postgres_store().await {
        test(Arc::new(pg)).await;
    }
}

/// An instant `n` unix milliseconds after the epoch: the suite's times are small numbers.
fn ms(n: i64) -> UnixMs {
    UnixMs::from_millis(n)
}

/// An instant `n` unix seconds after the epoch, for what the store keeps to the second (order times).
fn secs(n: i64) -> UnixMs {
    UnixMs::from_secs(n)
}

fn app() -> ConfigId {
    ConfigId::parse("app-1").unwrap()
}

fn shop() -> ShopId {
    ShopId::new(727720655).unwrap()
}

fn push(key: &str, at: i64) -> NewPush {
    NewPush {
        platform: shoprelay_core::event::Platform::named("shopee"),
        app_id: app(),
        dedupe_key: key.to_owned(),
        code: 3,
        shop_id: Some(shop()),
        order_sn: Some(OrderSn::parse("220810QSK8S7BX").unwrap()),
        body: format!("{{\"k\":\"{key}\"}}"),
        received_at: ms(at),
    }
}

fn event(key: &str) -> Event {
    Event {
        dedupe_key: key.to_owned(),
        platform: shoprelay_core::event::Platform::named("shopee"),
        app: app(),
        shop_id: Some(shop()),
        order_sn: Some(OrderSn::parse("220810QSK8S7BX").unwrap()),
        occurred_at: UnixMs::from_secs(1),
        order: None,
        body: EventBody::OrderCreated,
    }
}

fn dest(key: &str) -> Destination {
    Destination::parse(key).unwrap()
}

fn delivery(key: &str) -> NewDelivery {
    NewDelivery {
        route_id: "r1".into(),
        destination: dest(key),
        payload: "{\"msgtype\":\"text\"}".into(),
        priority: PRIORITY_BULK,
        summary: format!("line for {key}"),
        recipients: "u:zhangsan;p:;t:".into(),
        quiet_until: None,
    }
}

#[tokio::test]
async fn pushes_are_stored_once_and_audited() {
    run_both(|s| async move {
        let out = s
            .insert_pushes(&[push("a", 10), push("b", 10), push("a", 11)])
            .await
            .unwrap();
        assert!(matches!(out[0], PushInsert::Stored(_)));
        assert!(matches!(out[1], PushInsert::Stored(_)));
        assert_eq!(out[2], PushInsert::Duplicate);
        let again = s.insert_pushes(&[push("b", 12)]).await.unwrap();
        assert_eq!(again, vec![PushInsert::Duplicate]);
        let audit = s
            .query_audit(&AuditFilter {
                kind: Some(AuditKind::Push),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.iter().filter(|a| a.outcome == AuditOutcome::Accepted).count(), 2);
        assert_eq!(audit.iter().filter(|a| a.outcome == AuditOutcome::Duplicate).count(), 2);
        assert_eq!(s.queue_depths().await.unwrap().inbox_pending, 2);
    })
    .await;
}

#[tokio::test]
async fn inbox_claims_are_leased_and_completion_is_atomic() {
    run_both(|s| async move {
        // Two pushes about two orders (one order's pushes are claimed one at a time).
        let mut b = push("b", 10);
        b.order_sn = Some(OrderSn::parse("OTHER").unwrap());
        s.insert_pushes(&[push("a", 10), b]).await.unwrap();
        let first = s.claim_inbox(ms(100), Duration::from_secs(1), 10).await.unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].attempts, 1);
        assert!(
            s.claim_inbox(ms(200), Duration::from_secs(1), 10)
                .await
                .unwrap()
                .is_empty(),
            "leased items are not claimed twice"
        );
        // A crashed worker's lease runs out and the item comes back.
        let again = s.claim_inbox(ms(1_200), Duration::from_secs(1), 10).await.unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].attempts, 2);

        let completion = InboxCompletion {
            state: InboxState::Done,
            events: vec![NewEvent {
                event: event("e1"),
                deliveries: vec![delivery("robot:ops"), delivery("wecom_app:hq")],
            }],
            order_updates: vec![OrderStateUpdate {
                app_id: app(),
                shop_id: shop(),
                order_sn: OrderSn::parse("220810QSK8S7BX").unwrap(),
                status: "READY_TO_SHIP".into(),
                status_time: secs(50),
                ship_by_date: Some(secs(400)),
            }],
            note: None,
        };
        // The first claim's lease ran out and the item was claimed again: the stale claim cannot complete it.
        assert_eq!(
            s.complete_inbox(&first[0], completion.clone(), ms(1_300))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            s.complete_inbox(&again[0], completion.clone(), ms(1_300))
                .await
                .unwrap(),
            Some(1)
        );
        // The same event from the second (duplicate-fact) push creates nothing new.
        assert_eq!(
            s.complete_inbox(&again[1], completion, ms(1_300)).await.unwrap(),
            Some(0)
        );
        let depths = s.queue_depths().await.unwrap();
        assert_eq!(depths.inbox_pending, 0);
        assert_eq!(depths.deliveries_pending, 2);
        let sn = OrderSn::parse("220810QSK8S7BX").unwrap();
        assert_eq!(
            s.order_status(&app(), shop(), &sn).await.unwrap(),
            Some(("READY_TO_SHIP".into(), secs(50)))
        );
        assert!(s
            .claim_inbox(ms(10_000), Duration::from_secs(1), 10)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_stale_and_a_current_completion_of_one_item_in_one_batch_write_once() {
    run_both(|s| async move {
        s.insert_pushes(&[push("a", 10)]).await.unwrap();
        let stale = s
            .claim_inbox(ms(100), Duration::from_secs(1), 10)
            .await
            .unwrap()
            .remove(0);
        let current = s
            .claim_inbox(ms(1_200), Duration::from_secs(1), 10)
            .await
            .unwrap()
            .remove(0);
        let completion = |key: &str| InboxCompletion {
            state: InboxState::Done,
            events: vec![NewEvent {
                event: event(key),
                deliveries: vec![delivery("robot:ops")],
            }],
            order_updates: Vec::new(),
            note: None,
        };
        // Whichever comes first in the batch, only the claim that holds writes its event and closes the item.
        let batch = WriteBatch {
            completions: vec![
                done(&stale, completion("from-stale")),
                done(&current, completion("from-current")),
            ],
            ..WriteBatch::default()
        };
        let out = s.write_batch(&batch, ms(1_300)).await.unwrap();
        assert_eq!(out.completions, vec![None, Some(1)]);
        let depths = s.queue_depths().await.unwrap();
        assert_eq!(depths.inbox_pending, 0);
        assert_eq!(depths.deliveries_pending, 1, "the current claim's event only");
        // And once closed, neither writes again, in either order.
        let reversed = WriteBatch {
            completions: vec![
                done(&current, completion("again")),
                done(&stale, completion("again-stale")),
            ],
            ..WriteBatch::default()
        };
        assert_eq!(
            s.write_batch(&reversed, ms(1_400)).await.unwrap().completions,
            vec![None, None]
        );
        assert_eq!(s.queue_depths().await.unwrap().deliveries_pending, 1);
    })
    .await;
}

#[tokio::test]
async fn inbox_claims_inside_a_shared_commit_are_checked_again_under_the_lock() {
    run_both(|s| async move {
        // Two pushes of one order and one of another: the order's newer push waits for its older one.
        let mut other = push("c", 10);
        other.order_sn = Some(OrderSn::parse("OTHER").unwrap());
        let stored: Vec<i64> = s
            .insert_pushes(&[push("a", 10), push("b", 11), other])
            .await
            .unwrap()
            .into_iter()
            .map(|p| match p {
                PushInsert::Stored(id) => id,
                PushInsert::Duplicate => panic!("three new pushes"),
            })
            .collect();
        let (older, newer, other) = (stored[0], stored[1], stored[2]);
        let found = s.claimable_inbox(ms(100), 10).await.unwrap();
        assert_eq!(found, vec![older, other], "the order's newer push is not claimable yet");

        // The claim shares its commit with a push, and asks for the newer push too: it is left out.
        let batch = WriteBatch {
            pushes: vec![push("d", 20)],
            claims: vec![InboxClaim {
                ids: vec![older, newer, other],
                lease: Duration::from_secs(1),
            }],
            ..WriteBatch::default()
        };
        let out = s.write_batch(&batch, ms(100)).await.unwrap();
        assert!(matches!(out.pushes[0], PushInsert::Stored(_)));
        assert_eq!(out.claims[0].ids, found);
        let claimed = s.claimed_items(&out.claims[0]).await.unwrap();
        assert_eq!(claimed.iter().map(|i| i.id).collect::<Vec<_>>(), found);
        assert!(claimed
            .iter()
            .all(|i| i.attempts == 1 && i.claim_token == out.claims[0].token));
        assert_eq!(claimed[0].body, push("a", 10).body, "the body comes back opened");

        // Claimed once: the same ids again within the lease take nothing, after it they come back.
        let again = || WriteBatch {
            claims: vec![InboxClaim {
                ids: found.clone(),
                lease: Duration::from_secs(1),
            }],
            ..WriteBatch::default()
        };
        assert!(s.write_batch(&again(), ms(500)).await.unwrap().claims[0].ids.is_empty());
        let back = s.write_batch(&again(), ms(1_100)).await.unwrap();
        let back = s.claimed_items(&back.claims[0]).await.unwrap();
        assert_eq!(back.len(), 2);
        assert!(back.iter().all(|i| i.attempts == 2));
        assert_ne!(back[0].claim_token, claimed[0].claim_token, "a new claim, a new token");
        // The first claim no longer holds its items: reading it gives nothing.
        assert!(s.claimed_items(&out.claims[0]).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_claimed_push_whose_body_cannot_be_opened_fails_alone_not_the_shared_commit() {
    let claim = |s: SqlStore| async move {
        let out = s
            .write_batch(
                &WriteBatch {
                    pushes: vec![push("beside", 20)],
                    claims: vec![InboxClaim {
                        ids: s.claimable_inbox(ms(100), 10).await.unwrap(),
                        lease: Duration::from_secs(1),
                    }],
                    ..WriteBatch::default()
                },
                ms(100),
            )
            .await
            .unwrap();
        assert!(
            matches!(out.pushes[0], PushInsert::Stored(_)),
            "the rest of the commit stands"
        );
        assert_eq!(out.claims[0].ids.len(), 2, "both are claimed");
        let items = s.claimed_items(&out.claims[0]).await.unwrap();
        let read: Vec<&str> = items.iter().map(|i| i.dedupe_key.as_str()).collect();
        assert_eq!(read, vec!["readable"], "the one that cannot be opened is left out");
    };
    // The tampered body's sealed tail no longer opens.
    let tamper =
        "UPDATE inbox SET body = substr(body, 1, length(body) - 8) || 'AAAAAAAA' WHERE dedupe_key = 'tampered'";
    let mut other = push("readable", 10);
    other.order_sn = Some(OrderSn::parse("OTHER").unwrap());
    let pushes = [push("tampered", 10), other];
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = SqlStore::connect(&url, secrets()).await.unwrap();
    s.insert_pushes(&pushes).await.unwrap();
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(tamper).execute(&raw).await.unwrap();
    raw.close().await;
    claim(s).await;
    if let Some(url) = postgres_url().await {
        let s = SqlStore::connect(&url, secrets()).await.unwrap();
        s.insert_pushes(&pushes).await.unwrap();
        let raw = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(tamper).execute(&raw).await.unwrap();
        raw.close().await;
        claim(s).await;
    }
}

#[tokio::test]
async fn inbox_retry_waits_for_its_time() {
    run_both(|s| async move {
        s.insert_pushes(&[push("a", 10)]).await.unwrap();
        let item = s
            .claim_inbox(ms(10), Duration::from_secs(1), 1)
            .await
            .unwrap()
            .remove(0);
        s.retry_inbox(&item, ms(5_000), "shopee unreachable").await.unwrap();
        assert!(s
            .claim_inbox(ms(4_999), Duration::from_secs(1), 1)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            s.claim_inbox(ms(5_000), Duration::from_secs(1), 1).await.unwrap().len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn failed_pushes_are_replayed_by_filter_with_an_audit_entry() {
    run_both(|s| async move {
        let mut other = push("b", 20);
        other.order_sn = Some(OrderSn::parse("OTHER").unwrap());
        other.shop_id = Some(ShopId::new(5).unwrap());
        s.insert_pushes(&[push("a", 10), other, push("c", 30)]).await.unwrap();
        let items = s.claim_inbox(ms(100), Duration::from_secs(1), 10).await.unwrap();
        assert_eq!(items.len(), 2, "one order's pushes one at a time");
        let fail = |note: &str| InboxCompletion {
            state: InboxState::Failed,
            events: Vec::new(),
            order_updates: Vec::new(),
            note: Some(note.into()),
        };
        for item in &items {
            s.complete_inbox(item, fail("unreadable"), ms(200)).await.unwrap();
        }
        let all = PushReplayFilter::default();
        assert_eq!(s.count_failed_pushes(&all).await.unwrap(), 2);
        let by_shop = PushReplayFilter {
            shop_id: Some(5),
            ..Default::default()
        };
        assert_eq!(s.count_failed_pushes(&by_shop).await.unwrap(), 1);
        let too_late = PushReplayFilter {
            from: Some(25),
            ..Default::default()
        };
        assert_eq!(s.replay_failed_pushes(&too_late, ms(300), 10).await.unwrap(), 0);

        assert_eq!(s.replay_failed_pushes(&by_shop, ms(300), 10).await.unwrap(), 1);
        assert_eq!(s.replay_failed_pushes(&by_shop, ms(300), 10).await.unwrap(), 0);
        let again = s.claim_inbox(ms(300), Duration::from_secs(1), 10).await.unwrap();
        let ids: Vec<&str> = again.iter().map(|i| i.dedupe_key.as_str()).collect();
        assert_eq!(ids, vec!["b", "c"], "the replayed push and the pending one");
        assert_eq!(again[0].attempts, 1, "attempts start over");

        assert_eq!(s.replay_failed_pushes(&all, ms(400), 10).await.unwrap(), 1);
        assert_eq!(s.count_failed_pushes(&all).await.unwrap(), 0);
        let audit = s
            .query_audit(&AuditFilter {
                outcome: Some(AuditOutcome::Replayed),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 2);
        assert!(audit.iter().any(|a| a.shop_id == Some(5) && a.detail.contains("(b)")));
    })
    .await;
}

#[tokio::test]
async fn deliveries_retry_die_and_deliver_with_audit() {
    run_both(|s| async move {
        let new = NewEvent {
            event: event("e1"),
            deliveries: vec![delivery("robot:a"), delivery("robot:b"), delivery("robot:c")],
        };
        assert!(s.insert_event(new.clone(), ms(100)).await.unwrap());
        assert!(
            !s.insert_event(new, ms(100)).await.unwrap(),
            "same dedupe key is not queued twice"
        );
        let claimed = s
            .claim_deliveries("r1", ms(100), Duration::from_secs(30), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 3);
        assert!(s
            .claim_deliveries("r1", ms(100), Duration::from_secs(30), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .is_empty());
        let audit = |outcome: AuditOutcome| {
            let mut a = AuditEntry::new(AuditKind::Delivery, outcome, ms(200), "x");
            a.shop_id = Some(727720655);
            a
        };
        assert!(s
            .finish_delivery(&claimed[0], DeliveryResult::Delivered, audit(AuditOutcome::Delivered))
            .await
            .unwrap());
        let retry = DeliveryResult::Retry {
            at: ms(1_000),
            error: "timeout".into(),
        };
        assert!(s
            .finish_delivery(&claimed[1], retry, audit(AuditOutcome::Retry))
            .await
            .unwrap());
        let dead = DeliveryResult::Dead { error: "81013".into() };
        assert!(s
            .finish_delivery(&claimed[2], dead, audit(AuditOutcome::Dead))
            .await
            .unwrap());
        // A late finisher holding an old claim cannot flip a delivered row back.
        // Audited under another outcome than `dead`, so the count below tells it from the real dead letter.
        let late = DeliveryResult::Dead { error: "late".into() };
        assert!(!s
            .finish_delivery(&claimed[0], late, audit(AuditOutcome::Held))
            .await
            .unwrap());
        let depths = s.queue_depths().await.unwrap();
        assert_eq!((depths.deliveries_pending, depths.deliveries_dead), (1, 1));
        assert!(s
            .claim_deliveries("r1", ms(999), Duration::from_secs(30), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .is_empty());
        let retried = s
            .claim_deliveries("r1", ms(1_000), Duration::from_secs(30), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert_eq!(retried.len(), 1);
        assert_eq!(retried[0].attempts, 1);
        assert_eq!(retried[0].payload, "{\"msgtype\":\"text\"}");
        let dead = s
            .query_audit(&AuditFilter {
                outcome: Some(AuditOutcome::Dead),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_delivery() {
    run_both(|s| async move {
        let deliveries = (0..200).map(|i| delivery(&format!("robot:{i}"))).collect();
        s.insert_event(
            NewEvent {
                event: event("bulk"),
                deliveries,
            },
            ms(0),
        )
        .await
        .unwrap();
        let mut handles = Vec::new();
        for _ in 0..4 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = s
                        .claim_deliveries("r1", ms(1), Duration::from_secs(60), Duration::from_secs(15), 7)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        break mine;
                    }
                    mine.extend(batch.into_iter().map(|d| d.id));
                }
            }));
        }
        let mut seen = HashSet::new();
        let mut total = 0;
        for h in handles {
            for id in h.await.unwrap() {
                total += 1;
                assert!(seen.insert(id), "delivery {id} claimed twice");
            }
        }
        assert_eq!(total, 200);
    })
    .await;
}

#[tokio::test]
async fn audit_filters_narrow() {
    run_both(|s| async move {
        for (at, shop, order, outcome) in [
            (1, 1, "A", AuditOutcome::Delivered),
            (2, 1, "B", AuditOutcome::Dead),
            (3, 2, "A", AuditOutcome::Delivered),
        ] {
            let mut a = AuditEntry::new(AuditKind::Delivery, outcome, ms(at), "d");
            a.shop_id = Some(shop);
            a.order_sn = Some(order.into());
            s.append_audit(a).await.unwrap();
        }
        let q = |f: AuditFilter| {
            let s = s.clone();
            async move {
                s.query_audit(&f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|a| a.at.as_millis())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(q(AuditFilter::default()).await, vec![3, 2, 1]);
        assert_eq!(
            q(AuditFilter {
                shop_id: Some(1),
                ..Default::default()
            })
            .await,
            vec![2, 1]
        );
        assert_eq!(
            q(AuditFilter {
                order_sn: Some("A".into()),
                ..Default::default()
            })
            .await,
            vec![3, 1]
        );
        assert_eq!(
            q(AuditFilter {
                outcome: Some(AuditOutcome::Dead),
                ..Default::default()
            })
            .await,
            vec![2]
        );
        assert_eq!(
            q(AuditFilter {
                from: Some(ms(2)),
                to: Some(ms(3)),
                ..Default::default()
            })
            .await,
            vec![2]
        );
        assert_eq!(
            q(AuditFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await,
            vec![3]
        );
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_records_and_filters_by_platform() {
    run_both(|s| async move {
        let (shopee, lazada) = (Platform::named("shopee"), Platform::named("lazada"));
        let lz_app = ConfigId::parse("lz").unwrap();
        let mut lz_push = push("lz-1", 10);
        lz_push.platform = lazada;
        lz_push.app_id = lz_app.clone();
        lz_push.order_sn = Some(OrderSn::parse("LZ1").unwrap());
        s.insert_pushes(&[push("sp-1", 10), lz_push]).await.unwrap();
        // Processing and replaying write the platform too: it comes from the stored push.
        for item in s.claim_inbox(ms(100), Duration::from_secs(1), 10).await.unwrap() {
            let done = InboxCompletion {
                state: InboxState::Failed,
                events: vec![],
                order_updates: vec![],
                note: Some("unreadable".into()),
            };
            s.complete_inbox(&item, done, ms(200)).await.unwrap();
        }
        assert_eq!(
            s.replay_failed_pushes(&PushReplayFilter::default(), ms(300), 10)
                .await
                .unwrap(),
            2
        );
        let refreshed =
            AuditEntry::new(AuditKind::Auth, AuditOutcome::Refreshed, ms(400), "tokens").of_app(lazada, &lz_app);
        s.append_audit(refreshed).await.unwrap();
        // A delivery names no marketplace app.
        s.append_audit(AuditEntry::new(
            AuditKind::Delivery,
            AuditOutcome::Delivered,
            ms(500),
            "",
        ))
        .await
        .unwrap();

        let q = |platform: Option<Platform>| {
            let s = s.clone();
            async move {
                s.query_audit(&AuditFilter {
                    platform,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.platform, a.outcome, a.app_id.unwrap_or_default()))
                .collect::<Vec<_>>()
            }
        };
        let lz = |outcome| (Some(lazada), outcome, "lz".to_owned());
        assert_eq!(
            q(Some(lazada)).await,
            vec![
                lz(AuditOutcome::Refreshed),
                lz(AuditOutcome::Replayed),
                lz(AuditOutcome::Failed),
                lz(AuditOutcome::Accepted)
            ]
        );
        let sp = |outcome| (Some(shopee), outcome, "app-1".to_owned());
        assert_eq!(
            q(Some(shopee)).await,
            vec![
                sp(AuditOutcome::Replayed),
                sp(AuditOutcome::Failed),
                sp(AuditOutcome::Accepted)
            ]
        );
        assert_eq!(q(None).await.len(), 8, "no platform filter lists every entry");
        let both = s
            .query_audit(&AuditFilter {
                platform: Some(lazada),
                outcome: Some(AuditOutcome::Accepted),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(both.len(), 1, "the platform narrows with the other filters");
        assert_eq!(both[0].order_sn.as_deref(), Some("LZ1"));
        // The platform is sealed with the entry it belongs to.
        s.seal_audit(100).await.unwrap();
        let verdict = shoprelay_store::chain::verify_stored(&*s, |_| {}).await.unwrap();
        assert_eq!((verdict.checked, verdict.broken), (8, None));
    })
    .await;
}

#[tokio::test]
async fn an_unknown_stored_outcome_is_a_corrupt_row_not_a_panic() {
    corrupt_audit_row(
        "INSERT INTO audit (at, kind, outcome, detail) VALUES (1, 'push', 'exploded', 'from the future')",
        "exploded",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_stored_kind_is_a_corrupt_row_not_a_panic() {
    corrupt_audit_row(
        "INSERT INTO audit (at, kind, outcome, detail) VALUES (1, 'meteor', 'accepted', 'from the future')",
        "meteor",
    )
    .await;
}

/// Stores `row` behind the store's back, then checks that reading and sealing the log name it corrupt
/// (the text `names` in the reason) on both backends.
async fn corrupt_audit_row(row: &'static str, names: &'static str) {
    let check = |s: SqlStore| async move {
        for result in [
            s.query_audit(&AuditFilter::default()).await.map(drop),
            s.seal_audit(10).await.map(drop),
        ] {
            match result {
                Err(StoreError::Corrupt { table: "audit", reason }) => assert!(reason.contains(names), "{reason}"),
                other => panic!("expected a corrupt audit row, got {other:?}"),
            }
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = SqlStore::connect(&url, secrets()).await.unwrap();
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(row).execute(&raw).await.unwrap();
    raw.close().await;
    check(s).await;
    if let Some(url) = postgres_url().await {
        let s = SqlStore::connect(&url, secrets()).await.unwrap();
        let raw = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(row).execute(&raw).await.unwrap();
        raw.close().await;
        check(s).await;
    }
}

#[tokio::test]
async fn config_apply_reports_changes_and_removes_absent_objects() {
    run_both(|s| async move {
        let obj = |id: &str, fp: &str| ConfigObject {
            kind: "robot".into(),
            id: id.into(),
            body: "{}".into(),
            fingerprint: fp.into(),
        };
        let changes = s.apply_config(&[obj("a", "1"), obj("b", "1")], ms(1)).await.unwrap();
        assert!(changes.iter().all(|c| c.2 == ConfigChange::Created));
        let changes = s.apply_config(&[obj("a", "1"), obj("b", "2")], ms(2)).await.unwrap();
        assert_eq!(
            changes.iter().map(|c| c.2).collect::<Vec<_>>(),
            vec![ConfigChange::Unchanged, ConfigChange::Updated]
        );
        let changes = s.apply_config(&[obj("b", "2")], ms(3)).await.unwrap();
        assert_eq!(changes[1], ("robot".into(), "a".into(), ConfigChange::Removed));
        assert_eq!(s.list_config().await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn shop_tokens_are_sealed_and_rotate_once() {
    run_both(|s| async move {
        let auth = ShopAuth {
            app_id: app(),
            shop_id: shop(),
            access_token: Secret::new("access-1"),
            refresh_token: Secret::new("refresh-1"),
            access_expires_at: UnixMs::from_secs(100),
            refresh_expires_at: UnixMs::from_secs(1_000),
            status: ShopAuthStatus::Active,
            status_reason: None,
            version: 0,
        };
        s.save_shop_auth(&auth, ms(1)).await.unwrap();
        let read = s.shop_auth(&app(), shop()).await.unwrap().unwrap();
        assert_eq!(read.refresh_token.expose(), "refresh-1");
        assert_eq!(
            (read.access_expires_at, read.refresh_expires_at),
            (UnixMs::from_secs(100), UnixMs::from_secs(1_000))
        );
        let rotated = ShopAuth {
            access_token: Secret::new("access-2"),
            refresh_token: Secret::new("refresh-2"),
            ..read.clone()
        };
        assert!(s.rotate_shop_tokens(&rotated, ms(2)).await.unwrap());
        // A second refresher that read the same version loses: its tokens are not stored.
        let loser = ShopAuth {
            refresh_token: Secret::new("refresh-x"),
            ..read
        };
        assert!(!s.rotate_shop_tokens(&loser, ms(3)).await.unwrap());
        let now = s.shop_auth(&app(), shop()).await.unwrap().unwrap();
        assert_eq!(now.refresh_token.expose(), "refresh-2");
        s.set_shop_status(
            &app(),
            shop(),
            ShopAuthStatus::NeedsReauthorization,
            Some("refresh_token_expired"),
            ms(4),
        )
        .await
        .unwrap();
        let all = s.list_shop_auth().await.unwrap();
        assert_eq!(all[0].status, ShopAuthStatus::NeedsReauthorization);
    })
    .await;
}

#[tokio::test]
async fn shop_authorizations_are_read_for_a_whole_pass_in_the_asked_order() {
    run_both(|s| async move {
        let other = ShopId::new(2).unwrap();
        let auth = |shop_id: ShopId, token: &str| ShopAuth {
            app_id: app(),
            shop_id,
            access_token: Secret::new(token),
            refresh_token: Secret::new("refresh"),
            access_expires_at: UnixMs::from_secs(100),
            refresh_expires_at: UnixMs::from_secs(1_000),
            status: ShopAuthStatus::Active,
            status_reason: None,
            version: 0,
        };
        s.save_shop_auth(&auth(shop(), "access-1"), ms(1)).await.unwrap();
        s.save_shop_auth(&auth(other, "access-2"), ms(1)).await.unwrap();
        assert!(s.shop_auths(&[]).await.unwrap().is_empty());
        let unknown = ShopId::new(3).unwrap();
        let read = s
            .shop_auths(&[
                (app(), other),
                (app(), unknown),
                (ConfigId::parse("other").unwrap(), shop()),
                (app(), shop()),
                (app(), other),
            ])
            .await
            .unwrap();
        let tokens: Vec<Option<(ShopId, String)>> = read
            .iter()
            .map(|a| a.as_ref().map(|a| (a.shop_id, a.access_token.expose().to_owned())))
            .collect();
        assert_eq!(
            tokens,
            vec![
                Some((other, "access-2".to_owned())),
                None,
                None,
                Some((shop(), "access-1".to_owned())),
                Some((other, "access-2".to_owned())),
            ],
            "each shop's own tokens, opened, in the order asked"
        );
        let many: Vec<(ConfigId, ShopId)> = (0..700).map(|_| (app(), shop())).collect();
        let read = s.shop_auths(&many).await.unwrap();
        assert_eq!(read.len(), 700, "more shops than one statement takes");
        assert!(read
            .iter()
            .all(|a| a.as_ref().map(|a| a.access_token.expose()) == Some("access-1")));
    })
    .await;
}

#[tokio::test]
async fn a_shop_profile_is_kept_beside_its_tokens_as_given_and_survives_a_rotation() {
    run_both(|s| async move {
        let profile = ShopProfile {
            name: Some("Ana's Store 英国".into()),
            region: Some("GB".into()),
            adapter_data: serde_json::json!({"cipher": "ROW_abc", "n": [1, 2], "nested": {"x": null}}),
        };
        // Nothing to keep it with before the shop is authorized.
        assert!(!s.save_shop_profile(&app(), shop(), &profile, ms(1)).await.unwrap());
        assert_eq!(s.shop_profile(&app(), shop()).await.unwrap(), None);
        let auth = ShopAuth {
            app_id: app(),
            shop_id: shop(),
            access_token: Secret::new("a1"),
            refresh_token: Secret::new("r1"),
            access_expires_at: UnixMs::from_secs(100),
            refresh_expires_at: UnixMs::from_secs(1_000),
            status: ShopAuthStatus::Active,
            status_reason: None,
            version: 0,
        };
        s.save_shop_auth(&auth, ms(1)).await.unwrap();
        assert_eq!(
            s.shop_profile(&app(), shop()).await.unwrap(),
            None,
            "seeded tokens say nothing"
        );
        let read = s.shop_auth(&app(), shop()).await.unwrap().unwrap();
        assert!(s.save_shop_profile(&app(), shop(), &profile, ms(2)).await.unwrap());
        assert_eq!(s.shop_profile(&app(), shop()).await.unwrap(), Some(profile.clone()));
        // Keeping a profile moves no token version: a refresher that read before still wins its swap.
        let rotated = ShopAuth {
            access_token: Secret::new("a2"),
            ..read
        };
        assert!(s.rotate_shop_tokens(&rotated, ms(3)).await.unwrap());
        assert_eq!(s.shop_profile(&app(), shop()).await.unwrap(), Some(profile));
        // Another shop's profile is its own; a profile that says less replaces the whole one.
        let other = ShopId::new(shop().get() + 1).unwrap();
        assert_eq!(s.shop_profile(&app(), other).await.unwrap(), None);
        let bare = ShopProfile {
            name: Some("renamed".into()),
            ..ShopProfile::default()
        };
        assert!(s.save_shop_profile(&app(), shop(), &bare, ms(4)).await.unwrap());
        assert_eq!(s.shop_profile(&app(), shop()).await.unwrap(), Some(bare));
    })
    .await;
}

#[tokio::test]
async fn one_refresher_per_shop_and_rotation_touches_only_that_shop() {
    run_both(|s| async move {
        // Two shops of one main account hold the same initial pair until each refreshes on its own.
        for shop_id in [1, 2] {
            let auth = ShopAuth {
                app_id: app(),
                shop_id: ShopId::new(shop_id).unwrap(),
                access_token: Secret::new("a1"),
                refresh_token: Secret::new("r1"),
                access_expires_at: UnixMs::from_secs(1),
                refresh_expires_at: UnixMs::from_secs(1),
                status: ShopAuthStatus::Active,
                status_reason: None,
                version: 0,
            };
            s.save_shop_auth(&auth, ms(1)).await.unwrap();
        }
        let (one, two) = (ShopId::new(1).unwrap(), ShopId::new(2).unwrap());
        assert!(s.begin_refresh(&app(), one, ms(100), ms(200)).await.unwrap());
        assert!(
            !s.begin_refresh(&app(), one, ms(150), ms(250)).await.unwrap(),
            "held until 200"
        );
        assert!(
            s.begin_refresh(&app(), two, ms(150), ms(250)).await.unwrap(),
            "shops are independent"
        );
        let shop1 = s.shop_auth(&app(), one).await.unwrap().unwrap();
        let rotated = ShopAuth {
            access_token: Secret::new("a2"),
            refresh_token: Secret::new("r2"),
            ..shop1
        };
        assert!(s.rotate_shop_tokens(&rotated, ms(2)).await.unwrap());
        s.end_refresh(&app(), one).await.unwrap();
        assert!(
            s.begin_refresh(&app(), one, ms(160), ms(260)).await.unwrap(),
            "released"
        );
        let shop2 = s.shop_auth(&app(), two).await.unwrap().unwrap();
        assert_eq!(
            shop2.refresh_token.expose(),
            "r1",
            "the sibling keeps its own initial token for its own first refresh"
        );
        assert_eq!(
            s.shop_auth(&app(), one).await.unwrap().unwrap().refresh_token.expose(),
            "r2"
        );
    })
    .await;
}

#[tokio::test]
async fn authorization_states_are_single_use_per_app_and_expire() {
    run_both(|s| async move {
        let other = ConfigId::parse("other").unwrap();
        s.create_auth_state("n1", &app(), ms(100), ms(700)).await.unwrap();
        s.create_auth_state("n2", &app(), ms(100), ms(700)).await.unwrap();
        assert!(
            !s.take_auth_state("n1", &other, ms(200)).await.unwrap(),
            "made for another app"
        );
        assert!(!s.take_auth_state("nope", &app(), ms(200)).await.unwrap());
        assert!(s.take_auth_state("n1", &app(), ms(200)).await.unwrap());
        assert!(!s.take_auth_state("n1", &app(), ms(201)).await.unwrap(), "single use");
        assert!(!s.take_auth_state("n2", &app(), ms(700)).await.unwrap(), "expired");
        // Expired states are cleared when new ones are made.
        s.create_auth_state("n2", &app(), ms(800), ms(1_400)).await.unwrap();
        assert!(s.take_auth_state("n2", &app(), ms(900)).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn one_orders_pushes_are_claimed_one_at_a_time_in_order() {
    run_both(|s| async move {
        let mut other = push("c", 10);
        other.order_sn = Some(OrderSn::parse("OTHER").unwrap());
        s.insert_pushes(&[push("a", 10), push("b", 11), other]).await.unwrap();
        let first = s.claim_inbox(ms(100), Duration::from_secs(1), 10).await.unwrap();
        assert_eq!(
            first.iter().map(|i| i.dedupe_key.as_str()).collect::<Vec<_>>(),
            vec!["a", "c"]
        );
        let done = InboxCompletion {
            state: InboxState::Done,
            events: vec![],
            order_updates: vec![],
            note: None,
        };
        assert!(
            s.claim_inbox(ms(100), Duration::from_secs(1), 10)
                .await
                .unwrap()
                .is_empty(),
            "b waits for a"
        );
        s.complete_inbox(&first[0], done, ms(100)).await.unwrap();
        let next = s.claim_inbox(ms(100), Duration::from_secs(1), 10).await.unwrap();
        assert_eq!(
            next.iter().map(|i| i.dedupe_key.as_str()).collect::<Vec<_>>(),
            vec!["b"]
        );
    })
    .await;
}

#[tokio::test]
async fn an_older_status_never_overwrites_a_newer_one() {
    run_both(|s| async move {
        s.insert_pushes(&[push("a", 10), push("b", 10)]).await.unwrap();
        let sn = OrderSn::parse("220810QSK8S7BX").unwrap();
        let update = |status: &str, t: i64| OrderStateUpdate {
            app_id: app(),
            shop_id: shop(),
            order_sn: sn.clone(),
            status: status.into(),
            status_time: secs(t),
            ship_by_date: None,
        };
        for (key, status, t) in [("a", "SHIPPED", 200), ("b", "UNPAID", 100)] {
            let item = s
                .claim_inbox(ms(1_000), Duration::from_secs(1), 1)
                .await
                .unwrap()
                .remove(0);
            assert_eq!(item.dedupe_key, key);
            let c = InboxCompletion {
                state: InboxState::Done,
                events: vec![],
                order_updates: vec![update(status, t)],
                note: None,
            };
            s.complete_inbox(&item, c, ms(1_000)).await.unwrap();
        }
        assert_eq!(
            s.order_status(&app(), shop(), &sn).await.unwrap(),
            Some(("SHIPPED".into(), secs(200)))
        );
    })
    .await;
}

#[tokio::test]
async fn order_statuses_and_data_policies_are_read_for_a_whole_pass_in_the_asked_order() {
    use shoprelay_core::policy::{Acceptance, FieldPolicy, SensitiveField, COMMITMENT_VERSION};
    run_both(|s| async move {
        s.insert_pushes(&[push("a", 10)]).await.unwrap();
        let (a, b, c) = (
            OrderSn::parse("ORDERA").unwrap(),
            OrderSn::parse("ORDERB").unwrap(),
            OrderSn::parse("ORDERC").unwrap(),
        );
        let other_shop = ShopId::new(2).unwrap();
        let other_app = ConfigId::parse("other").unwrap();
        let update = |shop_id: ShopId, order_sn: &OrderSn, status: &str, t: i64| OrderStateUpdate {
            app_id: app(),
            shop_id,
            order_sn: order_sn.clone(),
            status: status.into(),
            status_time: secs(t),
            ship_by_date: None,
        };
        let item = s
            .claim_inbox(ms(1_000), Duration::from_secs(1), 1)
            .await
            .unwrap()
            .remove(0);
        let done = InboxCompletion {
            state: InboxState::Done,
            events: vec![],
            order_updates: vec![
                update(shop(), &a, "READY_TO_SHIP", 20),
                update(shop(), &b, "UNPAID", 30),
                update(other_shop, &a, "CANCELLED", 40),
            ],
            note: None,
        };
        s.complete_inbox(&item, done, ms(1_000)).await.unwrap();
        assert_eq!(
            s.order_statuses(&[]).await.unwrap(),
            Vec::<Option<(String, UnixMs)>>::new()
        );
        let asked = [
            (app(), shop(), b.clone()),
            (app(), shop(), c.clone()),
            (app(), other_shop, a.clone()),
            (other_app.clone(), shop(), a.clone()),
            (app(), shop(), a.clone()),
            (app(), shop(), b.clone()),
        ];
        assert_eq!(
            s.order_statuses(&asked).await.unwrap(),
            vec![
                Some(("UNPAID".into(), secs(30))),
                None,
                Some(("CANCELLED".into(), secs(40))),
                None,
                Some(("READY_TO_SHIP".into(), secs(20))),
                Some(("UNPAID".into(), secs(30))),
            ],
            "each order's own status, per app and shop, in the order asked, repeats included"
        );
        for (app_id, shop_id, order_sn) in &asked {
            assert_eq!(
                s.order_statuses(&[(app_id.clone(), *shop_id, order_sn.clone())])
                    .await
                    .unwrap(),
                vec![s.order_status(app_id, *shop_id, order_sn).await.unwrap()],
                "the same as the single read"
            );
        }
        let many: Vec<(ConfigId, ShopId, OrderSn)> = (0..700).map(|_| (app(), shop(), a.clone())).collect();
        let read = s.order_statuses(&many).await.unwrap();
        assert_eq!(read.len(), 700, "more keys than one statement takes");
        assert!(read.iter().all(|r| r == &Some(("READY_TO_SHIP".into(), secs(20)))));

        let accepted = Some(Acceptance {
            by: "王经理".into(),
            at: UnixMs::from_millis(7),
            version: COMMITMENT_VERSION.into(),
        });
        let policy = FieldPolicy::new([SensitiveField::Phone].into(), accepted).unwrap();
        s.set_data_policy(&app(), None, other_shop, &policy, ms(10))
            .await
            .unwrap();
        assert_eq!(s.data_policies(&[]).await.unwrap(), Vec::<FieldPolicy>::new());
        assert_eq!(
            s.data_policies(&[
                (app(), shop()),
                (app(), other_shop),
                (other_app.clone(), other_shop),
                (app(), other_shop)
            ])
            .await
            .unwrap(),
            vec![
                FieldPolicy::minimal(),
                policy.clone(),
                FieldPolicy::minimal(),
                policy.clone()
            ],
            "each shop's own policy, minimal where none was set, in the order asked"
        );
        let many: Vec<(ConfigId, ShopId)> = (0..700).map(|_| (app(), other_shop)).collect();
        let read = s.data_policies(&many).await.unwrap();
        assert_eq!(read.len(), 700);
        assert!(read.iter().all(|p| p == &policy));
    })
    .await;
}

#[tokio::test]
async fn sealed_tokens_need_the_same_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = SqlStore::connect(&url, secrets()).await.unwrap();
    let auth = ShopAuth {
        app_id: app(),
        shop_id: shop(),
        access_token: Secret::new("plain-access"),
        refresh_token: Secret::new("plain-refresh"),
        access_expires_at: UnixMs::from_secs(1),
        refresh_expires_at: UnixMs::from_secs(1),
        status: ShopAuthStatus::Active,
        status_reason: None,
        version: 0,
    };
    s.save_shop_auth(&auth, ms(1)).await.unwrap();
    s.close().await;
    let raw = std::fs::read(dir.path().join("t.db")).unwrap_or_default();
    let wal = std::fs::read(dir.path().join("t.db-wal")).unwrap_or_default();
    let hay = [raw, wal].concat();
    assert!(
        !hay.windows(13).any(|w| w == b"plain-refresh"),
        "tokens must not be stored in clear"
    );
    let err = SqlStore::connect(&url, secrets()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Seal(_)),
        "a wrong master key fails at start: {err:?}"
    );
}

#[tokio::test]
async fn sqlite_server_start_releases_claims_of_a_crashed_process() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let key = secrets();
    let s = SqlStore::connect(&url, key.clone()).await.unwrap();
    s.insert_pushes(&[push("a", 10)]).await.unwrap();
    s.insert_event(
        NewEvent {
            event: event("e"),
            deliveries: vec![delivery("robot:a")],
        },
        ms(10),
    )
    .await
    .unwrap();
    assert_eq!(
        s.claim_inbox(ms(10), Duration::from_secs(60), 10).await.unwrap().len(),
        1
    );
    assert_eq!(
        s.claim_deliveries("r1", ms(10), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    s.close().await;
    let reopened = SqlStore::connect(&url, key).await.unwrap();
    assert!(
        reopened
            .claim_inbox(ms(20), Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "opening alone releases nothing"
    );
    reopened.release_orphaned_claims().await.unwrap();
    assert_eq!(
        reopened
            .claim_inbox(ms(20), Duration::from_secs(60), 10)
            .await
            .unwrap()
            .len(),
        1,
        "inbox claim released"
    );
    assert_eq!(
        reopened
            .claim_deliveries("r1", ms(20), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .len(),
        1,
        "delivery claim released"
    );
}

#[tokio::test]
async fn claims_put_urgent_first_and_never_let_one_destination_starve_the_others() {
    run_both(|s| async move {
        let flood = (0..30).map(|_| delivery("robot:flood")).collect();
        s.insert_event(
            NewEvent {
                event: event("flood"),
                deliveries: flood,
            },
            ms(0),
        )
        .await
        .unwrap();
        let urgent = NewDelivery {
            priority: PRIORITY_URGENT,
            ..delivery("robot:quiet")
        };
        s.insert_event(
            NewEvent {
                event: event("quiet"),
                deliveries: vec![delivery("robot:quiet"), urgent],
            },
            ms(1),
        )
        .await
        .unwrap();
        let claimed = s
            .claim_deliveries("r1", ms(10), Duration::from_secs(60), Duration::from_secs(15), 100)
            .await
            .unwrap();
        assert_eq!(claimed[0].priority, PRIORITY_URGENT, "urgent first");
        let flood = claimed.iter().filter(|d| d.destination == dest("robot:flood")).count();
        let quiet = claimed.iter().filter(|d| d.destination == dest("robot:quiet")).count();
        assert_eq!((flood, quiet), (8, 2), "a backlog is handed out a slice at a time");
    })
    .await;
}

/// A raw connection to a store's database, to write rows the store itself never would.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn exec(&self, sql: &str) {
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Raw::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .unwrap();
    }
}

/// Like [`run_both`], with a raw connection beside the store.
async fn run_both_raw<F, Fut>(test: F)
where
    F: Fn(Arc<SqlStore>, Raw) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let sqlite = SqlStore::connect(&url, secrets()).await.unwrap();
    let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
    test(Arc::new(sqlite), raw).await;
    if let Some(url) = postgres_url().await {
        let pg = SqlStore::connect(&url, secrets()).await.unwrap();
        let raw = Raw::Postgres(sqlx::PgPool::connect(&url).await.unwrap());
        test(Arc::new(pg), raw).await;
    }
}

#[tokio::test]
async fn an_audit_entry_keeps_its_destination_typed_and_an_unreadable_one_is_corrupt() {
    run_both_raw(|s, raw| async move {
        let mut entry = AuditEntry::new(AuditKind::Delivery, AuditOutcome::Delivered, ms(1), "sent");
        entry.destination = Some(dest("appchat:hq:neworders"));
        s.append_audit(entry).await.unwrap();
        let stored = s.query_audit(&AuditFilter::default()).await.unwrap();
        assert_eq!(stored[0].destination, Some(dest("appchat:hq:neworders")));
        raw.exec("UPDATE audit SET destination = 'pigeon:a'").await;
        let err = s.query_audit(&AuditFilter::default()).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { table: "audit", .. }), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn destinations_and_states_this_version_cannot_read_are_corrupt_rows() {
    run_both_raw(|s, raw| async move {
        s.insert_event(
            NewEvent {
                event: event("e"),
                deliveries: vec![delivery("robot:a")],
            },
            ms(0),
        )
        .await
        .unwrap();
        raw.exec("UPDATE deliveries SET destination = 'pigeon:a'").await;
        let err = s
            .claim_deliveries("r1", ms(10), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    table: "deliveries",
                    ..
                }
            ),
            "{err:?}"
        );

        let open = DestinationState {
            destination: dest("robot:a"),
            paused_until: ms(0),
            state: BreakerState::Open,
            reason: String::new(),
            failures: 5,
        };
        s.set_destination(&open, ms(0)).await.unwrap();
        raw.exec("UPDATE destinations SET state = 'ajar'").await;
        let err = s.destination(&dest("robot:a")).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    table: "destinations",
                    ..
                }
            ),
            "{err:?}"
        );

        s.open_task(
            &task("r", "e", None, shoprelay_core::route::AssignStrategy::RoundRobin),
            ms(0),
        )
        .await
        .unwrap();
        raw.exec("UPDATE tasks SET state = 'lost'").await;
        let err = s.list_tasks(None, 10).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { table: "tasks", .. }), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn paused_destinations_are_not_claimed_and_held_ones_are_released_by_a_fix() {
    run_both(|s| async move {
        s.insert_event(
            NewEvent {
                event: event("e"),
                deliveries: vec![delivery("wecom_app:hq")],
            },
            ms(0),
        )
        .await
        .unwrap();
        let held = DestinationState {
            destination: dest("wecom_app:hq"),
            paused_until: ms(1_000_000),
            state: BreakerState::Held,
            reason: "60020".into(),
            failures: 1,
        };
        s.set_destination(&held, ms(0)).await.unwrap();
        assert!(
            s.claim_deliveries("r1", ms(10), Duration::from_secs(60), Duration::from_secs(15), 10)
                .await
                .unwrap()
                .is_empty(),
            "paused"
        );
        assert_eq!(s.destination(&dest("wecom_app:hq")).await.unwrap(), Some(held));
        assert_eq!(s.release_held_destinations(ms(20)).await.unwrap(), 1);
        assert_eq!(
            s.claim_deliveries("r1", ms(20), Duration::from_secs(60), Duration::from_secs(15), 10)
                .await
                .unwrap()
                .len(),
            1,
            "released"
        );
    })
    .await;
}

#[tokio::test]
async fn deferral_spends_no_attempt_and_the_send_log_counts_windows() {
    run_both(|s| async move {
        s.insert_event(
            NewEvent {
                event: event("e"),
                deliveries: vec![delivery("robot:a")],
            },
            ms(0),
        )
        .await
        .unwrap();
        let item = s
            .claim_deliveries("r1", ms(0), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .remove(0);
        let later = DeliveryResult::Deferred {
            at: ms(500),
            reason: "budget".into(),
        };
        s.finish_delivery(
            &item,
            later,
            AuditEntry::new(AuditKind::Delivery, AuditOutcome::Paced, ms(0), ""),
        )
        .await
        .unwrap();
        assert!(s
            .claim_deliveries("r1", ms(499), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            s.claim_deliveries("r1", ms(500), Duration::from_secs(60), Duration::from_secs(15), 10)
                .await
                .unwrap()[0]
                .attempts,
            0
        );

        s.reserve_send(&dest("wecom_app:hq"), &["zhangsan".into()], ms(100))
            .await
            .unwrap();
        s.reserve_send(&dest("wecom_app:hq"), &["lisi".into()], ms(200))
            .await
            .unwrap();
        assert_eq!(
            s.count_sends(&dest("wecom_app:hq"), "*", ms(0)).await.unwrap(),
            (2, Some(ms(100)))
        );
        assert_eq!(
            s.count_sends(&dest("wecom_app:hq"), "lisi", ms(0)).await.unwrap(),
            (1, Some(ms(200)))
        );
        assert_eq!(
            s.count_sends(&dest("wecom_app:hq"), "*", ms(150)).await.unwrap(),
            (1, Some(ms(200))),
            "sliding window"
        );
        assert_eq!(s.prune_sends(ms(150)).await.unwrap(), 2);
    })
    .await;
}

#[tokio::test]
async fn digests_fold_pending_deliveries_and_list_them() {
    run_both(|s| async move {
        let ds = (0..3).map(|_| delivery("robot:a")).collect();
        s.insert_event(
            NewEvent {
                event: event("e"),
                deliveries: ds,
            },
            ms(0),
        )
        .await
        .unwrap();
        let members: Vec<i64> = s
            .coalescible(&dest("robot:a"), ms(10), 100)
            .await
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(members.len(), 3);
        assert_eq!(s.count_coalescible(&dest("robot:a"), ms(10), 100).await.unwrap(), 3);
        assert_eq!(
            s.count_coalescible(&dest("robot:a"), ms(10), 2).await.unwrap(),
            2,
            "counts no further than asked"
        );
        assert_eq!(s.count_coalescible(&dest("robot:b"), ms(10), 100).await.unwrap(), 0);
        let digest = NewDelivery {
            route_id: "digest".into(),
            ..delivery("robot:a")
        };
        let id = s
            .create_digest(&members, digest.clone(), "tok", ms(10))
            .await
            .unwrap()
            .unwrap();
        let items = s.digest_items("tok").await.unwrap();
        assert_eq!(items.iter().map(|i| i.id).collect::<Vec<_>>(), members);
        assert!(s.digest_items("other").await.unwrap().is_empty());
        assert_eq!(
            s.count_coalescible(&dest("robot:a"), ms(10), 100).await.unwrap(),
            0,
            "folded ones and the digest itself are not counted"
        );
        let claimed = s
            .claim_deliveries("r1", ms(10), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert_eq!(
            claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![id],
            "only the digest is left to send"
        );
        // Folding what is no longer pending does nothing.
        assert_eq!(s.create_digest(&members, digest, "tok2", ms(10)).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn replay_requeues_matching_dead_letters_only() {
    run_both(|s| async move {
        let ds = vec![delivery("robot:a"), delivery("robot:b")];
        s.insert_event(
            NewEvent {
                event: event("e"),
                deliveries: ds,
            },
            ms(0),
        )
        .await
        .unwrap();
        for item in s
            .claim_deliveries("r1", ms(0), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
        {
            let dead = DeliveryResult::Dead { error: "x".into() };
            s.finish_delivery(
                &item,
                dead,
                AuditEntry::new(AuditKind::Delivery, AuditOutcome::Dead, ms(0), ""),
            )
            .await
            .unwrap();
        }
        let only_a = ReplayFilter {
            destination: Some(dest("robot:a")),
            ..Default::default()
        };
        assert!(ReplayFilter::default().is_empty());
        assert_eq!(s.count_dead(&only_a).await.unwrap(), 1);
        assert_eq!(s.replay_dead(&only_a, ms(50), 100).await.unwrap(), 1);
        let again = s
            .claim_deliveries("r1", ms(50), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!((&again[0].destination, again[0].attempts), (&dest("robot:a"), 0));
        assert_eq!(s.queue_depths().await.unwrap().deliveries_dead, 1);
    })
    .await;
}

#[tokio::test]
async fn one_process_sends_for_a_destination_at_a_time() {
    run_both(|s| async move {
        let ds = (0..4)
            .map(|_| delivery("robot:a"))
            .chain([delivery("robot:b")])
            .collect();
        s.insert_event(
            NewEvent {
                event: event("e"),
                deliveries: ds,
            },
            ms(0),
        )
        .await
        .unwrap();
        let first = s
            .claim_deliveries("r1", ms(0), Duration::from_secs(60), Duration::from_secs(15), 2)
            .await
            .unwrap();
        assert_eq!(first.len(), 2);
        let leased = first[0].destination.clone();
        let second = s
            .claim_deliveries("r2", ms(0), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert!(
            second.iter().all(|d| d.destination != leased),
            "{leased} is r1's: {second:?}"
        );
        // r1 goes quiet: after its lease runs out — and its claims, so nothing is overtaken — r2 takes over.
        let early = s
            .claim_deliveries("r2", ms(16_000), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert!(
            early.iter().all(|d| d.destination != leased),
            "r1's claims are still in flight: {early:?}"
        );
        let later = s
            .claim_deliveries("r2", ms(61_000), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert!(
            later.iter().any(|d| d.destination == leased),
            "taken over after the lease: {later:?}"
        );
        for item in &later {
            let audit = AuditEntry::new(AuditKind::Delivery, AuditOutcome::Delivered, ms(62_000), "");
            s.finish_delivery(item, DeliveryResult::Delivered, audit).await.unwrap();
        }
        // A heartbeat keeps a lease; a clean shutdown gives it back.
        s.renew_destination_leases("r2", ms(100_000)).await.unwrap();
        let ds = vec![delivery(&leased.to_string())];
        s.insert_event(
            NewEvent {
                event: event("e2"),
                deliveries: ds,
            },
            ms(0),
        )
        .await
        .unwrap();
        assert!(s
            .claim_deliveries("r1", ms(70_000), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.destination != leased));
        s.release_destination_leases("r2").await.unwrap();
        assert!(s
            .claim_deliveries("r1", ms(70_000), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .iter()
            .any(|d| d.destination == leased));
    })
    .await;
}

#[tokio::test]
async fn replay_by_shop_finds_a_dead_digest_of_that_shops_messages() {
    run_both(|s| async move {
        let ds = (0..2).map(|_| delivery("robot:a")).collect();
        s.insert_event(
            NewEvent {
                event: event("e"),
                deliveries: ds,
            },
            ms(0),
        )
        .await
        .unwrap();
        let members: Vec<i64> = s
            .coalescible(&dest("robot:a"), ms(10), 100)
            .await
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        let digest = NewDelivery {
            route_id: "digest".into(),
            ..delivery("robot:a")
        };
        s.create_digest(&members, digest, "tok", ms(10)).await.unwrap().unwrap();
        let item = s
            .claim_deliveries("r1", ms(10), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .remove(0);
        let dead = DeliveryResult::Dead { error: "x".into() };
        s.finish_delivery(
            &item,
            dead,
            AuditEntry::new(AuditKind::Delivery, AuditOutcome::Dead, ms(11), ""),
        )
        .await
        .unwrap();
        // The digest row has no shop of its own; its folded messages do.
        let by_shop = ReplayFilter {
            shop_id: Some(727720655),
            ..Default::default()
        };
        assert_eq!(s.count_dead(&by_shop).await.unwrap(), 1);
        assert_eq!(s.replay_dead(&by_shop, ms(20), 100).await.unwrap(), 1);
        let other = ReplayFilter {
            shop_id: Some(1),
            ..Default::default()
        };
        assert_eq!(s.count_dead(&other).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn quiet_deliveries_wait_unclaimed_until_released() {
    run_both(|s| async move {
        let held = NewDelivery {
            quiet_until: Some(ms(1_000)),
            ..delivery("robot:q")
        };
        s.insert_event(
            NewEvent {
                event: event("quiet"),
                deliveries: vec![held.clone(), held, delivery("robot:q")],
            },
            ms(0),
        )
        .await
        .unwrap();
        // Before the quiet period ends only the unheld one is due; held ones are never folded into a
        // budget digest either.
        let claimed = s
            .claim_deliveries("r1", ms(500), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(s.quiet_due(ms(500), 10).await.unwrap().is_empty());
        assert!(s.coalescible(&dest("robot:q"), ms(500), 10).await.unwrap().is_empty());
        // After it ends they are reported, still unclaimable until released.
        let due = s.quiet_due(ms(2_000), 10).await.unwrap();
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|h| h.quiet_until == ms(1_000)));
        assert!(s
            .claim_deliveries("r2", ms(2_000), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .is_empty());
        let ids: Vec<i64> = due.iter().map(|h| h.item.id).collect();
        assert_eq!(s.unhold(&ids, ms(2_000)).await.unwrap(), 2);
        assert!(s.quiet_due(ms(2_000), 10).await.unwrap().is_empty());
        // Released, they are claimed in order (with the first one, whose unfinished claim ran out).
        let again = s
            .claim_deliveries("r1", ms(120_000), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        let mut expected = ids.clone();
        expected.push(claimed[0].id);
        assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), expected);
    })
    .await;
}

fn task(rule: &str, key: &str, sticky: Option<&str>, strategy: shoprelay_core::route::AssignStrategy) -> NewTask {
    NewTask {
        rule_id: rule.into(),
        event_key: key.into(),
        shop_id: Some(1),
        order_sn: Some(key.into()),
        sticky_key: sticky.map(str::to_owned),
        candidates: vec!["alice".into(), "bob".into()],
        strategy,
        summary: format!("about {key}"),
        escalate_at: Some(ms(10_000)),
    }
}

#[tokio::test]
async fn tasks_assign_in_turn_stick_to_their_order_and_escalate_once() {
    use shoprelay_core::route::AssignStrategy::{LeastOpen, RoundRobin};
    run_both(|s| async move {
        let a = s.open_task(&task("rr", "e1", None, RoundRobin), ms(1)).await.unwrap();
        let b = s.open_task(&task("rr", "e2", None, RoundRobin), ms(2)).await.unwrap();
        let c = s.open_task(&task("rr", "e3", None, RoundRobin), ms(3)).await.unwrap();
        let assignees: Vec<_> = [&a, &b, &c].iter().map(|t| t.assignee.clone().unwrap()).collect();
        assert_eq!(assignees, ["alice", "bob", "alice"]);
        // The same event again keeps its task and assignee.
        let again = s.open_task(&task("rr", "e2", None, RoundRobin), ms(4)).await.unwrap();
        assert_eq!((again.id, again.assignee.as_deref()), (b.id, Some("bob")));
        // Sticky: the order bob had goes to bob, though it is alice's turn... and after him, to him again.
        let first = s
            .open_task(&task("rr", "e4", Some("order:1:X"), RoundRobin), ms(5))
            .await
            .unwrap();
        let second = s
            .open_task(&task("rr", "e5", Some("order:1:X"), RoundRobin), ms(6))
            .await
            .unwrap();
        assert_eq!(first.assignee, second.assignee);

        // Least open: alice has two open, bob one; acknowledging both of alice's makes her the lightest.
        let l1 = s.open_task(&task("lo", "l1", None, LeastOpen), ms(1)).await.unwrap();
        let l2 = s.open_task(&task("lo", "l2", None, LeastOpen), ms(2)).await.unwrap();
        let l3 = s.open_task(&task("lo", "l3", None, LeastOpen), ms(3)).await.unwrap();
        assert_eq!(
            [&l1, &l2, &l3].map(|t| t.assignee.clone().unwrap()),
            ["alice", "bob", "alice"]
        );
        s.ack_task(&TaskRef::Id(l1.id), "alice", ms(4)).await.unwrap().unwrap();
        let acked = s
            .ack_task(&TaskRef::Token(l3.token.clone()), "alice", ms(5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (acked.state, acked.acked_by.as_deref()),
            (TaskState::Acked, Some("alice"))
        );
        let l4 = s.open_task(&task("lo", "l4", None, LeastOpen), ms(6)).await.unwrap();
        assert_eq!(l4.assignee.as_deref(), Some("alice"));
        assert!(s.ack_task(&TaskRef::Id(999_999), "x", ms(7)).await.unwrap().is_none());
        assert_eq!(s.task_by_token(&l4.token).await.unwrap().unwrap().id, l4.id);

        // Escalation: due once, never after acknowledgement or a first escalation.
        let due: Vec<i64> = s
            .due_escalations(ms(20_000), 100)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        assert!(due.contains(&a.id) && !due.contains(&l1.id), "{due:?}");
        assert!(s.due_escalations(ms(9_999), 100).await.unwrap().is_empty());
        let escalation = NewEvent {
            event: event("escalation:a"),
            deliveries: vec![delivery("robot:boss")],
        };
        assert!(s.escalate_task(a.id, escalation.clone(), ms(20_000)).await.unwrap());
        assert!(!s.escalate_task(a.id, escalation, ms(20_001)).await.unwrap());
        let claimed = s
            .claim_deliveries("r1", ms(20_000), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert_eq!(
            claimed.iter().map(|d| d.destination.to_string()).collect::<Vec<_>>(),
            ["robot:boss"]
        );
        let open = s.list_tasks(Some(TaskState::Escalated), 10).await.unwrap();
        assert_eq!(open.iter().map(|t| t.id).collect::<Vec<_>>(), vec![a.id]);
        // An escalated task can still be acknowledged.
        let late = s
            .ack_task(&TaskRef::Id(a.id), "boss", ms(30_000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(late.state, TaskState::Acked);
    })
    .await;
}

#[tokio::test]
async fn console_made_config_is_told_until_the_file_takes_it_back() {
    run_both(|s| async move {
        let obj = |id: &str, fp: &str| ConfigObject {
            kind: "route".into(),
            id: id.into(),
            body: "{}".into(),
            fingerprint: fp.into(),
        };
        s.apply_config(&[obj("file", "1"), obj("edited", "1")], ms(1))
            .await
            .unwrap();
        assert!(
            s.console_made_config().await.unwrap().is_empty(),
            "apply writes the file's objects"
        );
        s.put_config(&obj("edited", "2"), ms(2)).await.unwrap();
        s.put_config(&obj("new", "1"), ms(3)).await.unwrap();
        s.put_config(&obj("file", "1"), ms(4)).await.unwrap();
        let made = s.console_made_config().await.unwrap();
        let ids: Vec<(&str, &str, i64)> = made
            .iter()
            .map(|m| (m.id.as_str(), m.fingerprint.as_str(), m.updated_at.as_millis()))
            .collect();
        assert_eq!(
            ids,
            vec![("edited", "2", 2), ("new", "1", 3)],
            "an unchanged put keeps the file's origin"
        );
        s.apply_config(&[obj("file", "1"), obj("edited", "2"), obj("new", "9")], ms(5))
            .await
            .unwrap();
        assert!(
            s.console_made_config().await.unwrap().is_empty(),
            "the same content (or the file's own) applied again belongs to the file"
        );
    })
    .await;
}

#[tokio::test]
async fn single_config_objects_are_put_and_deleted() {
    run_both(|s| async move {
        let obj = |fp: &str| ConfigObject {
            kind: "route".into(),
            id: "r".into(),
            body: "{}".into(),
            fingerprint: fp.into(),
        };
        assert_eq!(s.put_config(&obj("1"), ms(1)).await.unwrap(), ConfigChange::Created);
        assert_eq!(s.put_config(&obj("1"), ms(2)).await.unwrap(), ConfigChange::Unchanged);
        assert_eq!(s.put_config(&obj("2"), ms(3)).await.unwrap(), ConfigChange::Updated);
        assert!(s.delete_config("route", "r").await.unwrap());
        assert!(!s.delete_config("route", "r").await.unwrap());
        assert!(s.list_config().await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_logistics_watch_polls_each_shipped_order_once_per_round() {
    run_both(|s| async move {
        let mut keys = Vec::new();
        for (n, status) in ["SHIPPED", "SHIPPED", "READY_TO_SHIP"].iter().enumerate() {
            let key = format!("w{n}");
            s.insert_pushes(&[push(&key, 10)]).await.unwrap();
            let item = s
                .claim_inbox(ms(1_000), Duration::from_secs(1), 1)
                .await
                .unwrap()
                .remove(0);
            let completion = InboxCompletion {
                state: InboxState::Done,
                events: Vec::new(),
                order_updates: vec![OrderStateUpdate {
                    app_id: app(),
                    shop_id: shop(),
                    order_sn: OrderSn::parse(&format!("WATCH{n}")).unwrap(),
                    status: (*status).into(),
                    status_time: secs(100),
                    ship_by_date: Some(secs(1_000 + n as i64)),
                }],
                note: None,
            };
            s.complete_inbox(&item, completion, ms(1_000)).await.unwrap();
            keys.push(key);
        }
        // Claimed once per round: a second claimer in the same round gets nothing.
        let first = s
            .claim_tracking_checks(&["SHIPPED"], ms(5_000), ms(4_000), 10)
            .await
            .unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].status_time, UnixMs::from_secs(100));
        assert!(s
            .claim_tracking_checks(&["SHIPPED"], ms(5_001), ms(4_000), 10)
            .await
            .unwrap()
            .is_empty());
        let moved = UnixMs::from_secs(900);
        s.record_tracking(
            &first[0].app_id,
            first[0].shop_id,
            &first[0].order_sn,
            moved,
            "PICKED_UP",
        )
        .await
        .unwrap();
        let next = s
            .claim_tracking_checks(&["SHIPPED"], ms(9_000), ms(8_000), 10)
            .await
            .unwrap();
        let polled = next.iter().find(|o| o.order_sn == first[0].order_sn).unwrap();
        assert_eq!(polled.tracking_updated_at, Some(moved));
        // The ship-by scan reads a window, a page at a time, soonest first.
        let secs = UnixMs::from_secs;
        let to_ship = s
            .ship_by_between(&["READY_TO_SHIP"], secs(0), secs(2_000), 0, 10)
            .await
            .unwrap();
        assert_eq!(
            to_ship.iter().map(|o| o.order_sn.as_str()).collect::<Vec<_>>(),
            ["WATCH2"]
        );
        assert_eq!(to_ship[0].ship_by_date, Some(secs(1_002)));
        assert!(s
            .ship_by_between(&["READY_TO_SHIP"], secs(0), secs(1_002), 0, 10)
            .await
            .unwrap()
            .is_empty());
        // Ship-by dates are whole seconds: a bound between two seconds falls between them.
        for (from, to, found) in [(1_001_999, 1_002_001, 1), (1_002_001, 1_003_000, 0), (0, 1_001_999, 0)] {
            let rows = s
                .ship_by_between(&["READY_TO_SHIP"], ms(from), ms(to), 0, 10)
                .await
                .unwrap();
            assert_eq!(rows.len(), found, "ship-by 1 002 s in [{from} ms, {to} ms)");
        }
        let shipped = s
            .ship_by_between(&["SHIPPED"], secs(0), secs(2_000), 1, 10)
            .await
            .unwrap();
        assert_eq!(
            shipped.iter().map(|o| o.order_sn.as_str()).collect::<Vec<_>>(),
            ["WATCH1"]
        );
        s.insert_event(
            NewEvent {
                event: event("known"),
                deliveries: Vec::new(),
            },
            ms(1),
        )
        .await
        .unwrap();
        assert!(s.event_exists("known").await.unwrap());
        assert!(!s.event_exists("unknown").await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn rule_counters_count_deliveries_by_state_and_events_matched() {
    run_both(|s| async move {
        for key in ["m1", "m2"] {
            let deliveries = vec![delivery("robot:a"), delivery("wecom_app:hq")];
            s.insert_event(
                NewEvent {
                    event: event(key),
                    deliveries,
                },
                ms(0),
            )
            .await
            .unwrap();
        }
        assert_eq!(
            s.rule_counters().await.unwrap(),
            vec![("r1".into(), "pending".into(), 4)]
        );
        assert_eq!(s.rule_matches().await.unwrap(), vec![("r1".into(), 2)]);
    })
    .await;
}

#[tokio::test]
async fn the_newest_event_of_an_order_is_found_by_kind() {
    run_both(|s| async move {
        let created = event("first");
        let changed = Event {
            body: EventBody::OrderStatusChanged {
                from: None,
                to: shoprelay_core::order::OrderStatus::new(shoprelay_core::order::OrderStage::Shipped, "SHIPPED"),
            },
            ..event("second")
        };
        for e in [created, changed] {
            s.insert_event(
                NewEvent {
                    event: e,
                    deliveries: Vec::new(),
                },
                ms(1),
            )
            .await
            .unwrap();
        }
        let newest = s.latest_event("220810QSK8S7BX", None).await.unwrap().unwrap();
        assert_eq!(newest.dedupe_key, "second");
        let first = s
            .latest_event("220810QSK8S7BX", Some("order_created"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.dedupe_key, "first");
        assert!(s.latest_event("OTHER", None).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_sent_attempt_settles_its_send_with_its_result() {
    run_both(|s| async move {
        s.insert_event(
            NewEvent {
                event: event("sent"),
                deliveries: vec![delivery("robot:s")],
            },
            ms(0),
        )
        .await
        .unwrap();
        let item = s
            .claim_deliveries("r1", ms(10), Duration::from_secs(60), Duration::from_secs(15), 1)
            .await
            .unwrap()
            .remove(0);
        s.reserve_send(&dest("robot:s"), &[], ms(100)).await.unwrap();
        let audit = AuditEntry::new(AuditKind::Delivery, AuditOutcome::Delivered, ms(150), "");
        assert!(s
            .finish_sent(&item, DeliveryResult::Delivered, audit, ms(100), ms(150))
            .await
            .unwrap());
        // The send now counts from when it was answered.
        assert_eq!(
            s.count_sends(&dest("robot:s"), "*", ms(120)).await.unwrap(),
            (1, Some(ms(150)))
        );
    })
    .await;
}

/// The `n`th accepted push's audit entry, for the chain tests.
fn accepted_push_entry(n: i64) -> AuditEntry {
    AuditEntry::new(
        AuditKind::Push,
        AuditOutcome::Accepted,
        ms(1_000 + n),
        format!("push {n}"),
    )
}

#[tokio::test]
async fn audit_entries_are_sealed_into_one_chain_in_order() {
    run_both(|s| async move {
        let head = s.audit_chain_head().await.unwrap();
        assert_eq!((head.seq, head.hash.as_str()), (0, chain::GENESIS));
        assert_eq!(s.seal_audit(100).await.unwrap(), 0, "nothing to seal");
        s.append_audits(&(0..5).map(accepted_push_entry).collect::<Vec<_>>())
            .await
            .unwrap();
        assert_eq!(s.seal_audit(3).await.unwrap(), 3);
        s.append_audit(accepted_push_entry(5)).await.unwrap();
        assert_eq!(s.seal_audit(100).await.unwrap(), 3);
        let head = s.audit_chain_head().await.unwrap();
        assert_eq!(head.seq, 6);
        let rows = s.sealed_audit_page(0, 100).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(rows[5].entry.detail, "push 5");
        assert_eq!(rows[5].hash, head.hash);
        let mut verifier = chain::Verifier::new(head);
        for row in s.sealed_audit_page(0, 4).await.unwrap() {
            assert!(verifier.check(&row));
        }
        for row in s.sealed_audit_page(4, 4).await.unwrap() {
            assert!(verifier.check(&row));
        }
        assert_eq!(verifier.finish(), (6, None));
        // Many rows at once (several UPDATE chunks).
        s.append_audits(&(0..700).map(accepted_push_entry).collect::<Vec<_>>())
            .await
            .unwrap();
        assert_eq!(s.seal_audit(10_000).await.unwrap(), 700);
        assert_eq!(s.audit_chain_head().await.unwrap().seq, 706);
    })
    .await;
}

#[tokio::test]
async fn a_seal_plan_in_a_shared_commit_writes_only_from_the_head_it_was_hashed_from() {
    run_both(|s| async move {
        assert_eq!(s.plan_seal(10).await.unwrap(), None, "nothing to seal");
        s.append_audits(&(0..4).map(accepted_push_entry).collect::<Vec<_>>())
            .await
            .unwrap();
        let stale = s.plan_seal(2).await.unwrap().unwrap();
        assert_eq!((stale.from_seq, stale.links.len()), (0, 2));
        // Another sealer moves the head first: the plan hashed from the old head writes nothing.
        assert_eq!(s.seal_audit(1).await.unwrap(), 1);
        let batch = |plan: SealPlan| WriteBatch {
            pushes: vec![push("beside-the-seal", 2_000)],
            seals: vec![plan],
            ..WriteBatch::default()
        };
        let out = s.write_batch(&batch(stale), ms(2_000)).await.unwrap();
        assert_eq!(out.seals, vec![false]);
        assert!(
            matches!(out.pushes[0], PushInsert::Stored(_)),
            "the rest of the commit stands"
        );
        assert_eq!(s.audit_chain_head().await.unwrap().seq, 1);

        // A fresh plan seals the rest (the push's own entry among them), and the chain verifies.
        let fresh = s.plan_seal(100).await.unwrap().unwrap();
        assert_eq!((fresh.from_seq, fresh.links.len()), (1, 4));
        let mut again = batch(fresh);
        again.pushes.clear();
        assert_eq!(s.write_batch(&again, ms(2_000)).await.unwrap().seals, vec![true]);
        let head = s.audit_chain_head().await.unwrap();
        assert_eq!(head.seq, 5);
        let mut verifier = chain::Verifier::new(head);
        for row in s.sealed_audit_page(0, 100).await.unwrap() {
            assert!(verifier.check(&row));
        }
        assert_eq!(verifier.finish(), (5, None));
    })
    .await;
}

#[tokio::test]
async fn concurrent_sealers_each_entry_sealed_once_into_one_chain() {
    run_both(|s| async move {
        s.append_audits(&(0..400).map(accepted_push_entry).collect::<Vec<_>>())
            .await
            .unwrap();
        // Two sealers read the same unsealed entries and hash them from the same head; only one may
        // write its links, the other hashes again from the head it moved to.
        let mut sealed = 0;
        loop {
            let (a, b) = tokio::join!(s.seal_audit(50), s.seal_audit(50));
            let n = a.unwrap() + b.unwrap();
            if n == 0 {
                break;
            }
            sealed += n;
        }
        assert_eq!(sealed, 400);
        let head = s.audit_chain_head().await.unwrap();
        assert_eq!(head.seq, 400);
        let rows = s.sealed_audit_page(0, 1_000).await.unwrap();
        assert_eq!(
            rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (1..=400).collect::<Vec<_>>()
        );
        let ids: HashSet<i64> = rows.iter().map(|r| r.entry.id).collect();
        assert_eq!(ids.len(), 400, "each entry once");
        let mut verifier = chain::Verifier::new(head);
        for row in &rows {
            assert!(verifier.check(row));
        }
        assert_eq!(verifier.finish(), (400, None));
    })
    .await;
}

#[tokio::test]
async fn concurrent_claimers_never_share_an_inbox_item_or_a_delivery() {
    run_both(|s| async move {
        // Forty orders: one push each, all claimable at once.
        let pushes: Vec<NewPush> = (0..40)
            .map(|i| NewPush {
                order_sn: Some(OrderSn::parse(&format!("ORDER{i}")).unwrap()),
                ..push(&format!("p{i}"), 10)
            })
            .collect();
        s.insert_pushes(&pushes).await.unwrap();
        // Two claims of 15 at once: whatever the interleaving, at least 10 are left for the next one.
        let (a, b) = tokio::join!(
            s.claim_inbox(ms(100), Duration::from_secs(1), 15),
            s.claim_inbox(ms(100), Duration::from_secs(1), 15)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut ids: Vec<i64> = a.iter().chain(&b).map(|i| i.id).collect();
        let claimed = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), claimed, "no item handed to both");
        // Whatever one claim left is still there for the next one, and nothing more.
        let rest = s.claim_inbox(ms(100), Duration::from_secs(1), 100).await.unwrap();
        assert_eq!(claimed + rest.len(), 40);
        assert!(
            s.claim_inbox(ms(100), Duration::from_secs(1), 100)
                .await
                .unwrap()
                .is_empty(),
            "claimed items wait for their lease"
        );

        let item = rest[0].clone();
        let events = (0..6)
            .map(|i| NewEvent {
                event: event(&format!("e{i}")),
                deliveries: vec![delivery(&format!("robot:r{i}"))],
            })
            .collect();
        let done = InboxCompletion {
            state: InboxState::Done,
            events,
            order_updates: vec![],
            note: None,
        };
        s.complete_inbox(&item, done, ms(100)).await.unwrap();
        let (a, b) = tokio::join!(
            s.claim_deliveries("one", ms(200), Duration::from_secs(1), Duration::from_secs(5), 4),
            s.claim_deliveries("two", ms(200), Duration::from_secs(1), Duration::from_secs(5), 4)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut ids: Vec<i64> = a.iter().chain(&b).map(|d| d.id).collect();
        let claimed = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), claimed, "no delivery handed to both");
        let one: HashSet<String> = a.iter().map(|d| d.destination.to_string()).collect();
        assert!(
            b.iter().all(|d| !one.contains(&d.destination.to_string())),
            "no destination sent by both"
        );
        let rest = s
            .claim_deliveries("one", ms(200), Duration::from_secs(1), Duration::from_secs(5), 100)
            .await
            .unwrap();
        assert_eq!(claimed + rest.len(), 6);
    })
    .await;
}

#[tokio::test]
async fn the_send_log_counts_each_person_of_a_large_send() {
    run_both(|s| async move {
        let everyone: Vec<String> = (0..2_500).map(|i| format!("user{i}")).collect();
        s.reserve_send(&dest("wecom_app:hq"), &everyone, ms(100)).await.unwrap();
        s.reserve_send(&dest("wecom_app:hq"), &["user7".into(), "?".into()], ms(200))
            .await
            .unwrap();
        assert_eq!(
            s.count_sends(&dest("wecom_app:hq"), "*", ms(0)).await.unwrap(),
            (2, Some(ms(100)))
        );
        let asked: Vec<String> = vec!["user7".into(), "user2499".into(), "nobody".into()];
        let mut counts = s
            .member_send_counts(&dest("wecom_app:hq"), &asked, ms(0))
            .await
            .unwrap();
        counts.sort();
        assert_eq!(
            counts,
            vec![("user2499".into(), 1, ms(100)), ("user7".into(), 2, ms(100))],
            "only members with sends"
        );
        let later = s
            .member_send_counts(&dest("wecom_app:hq"), &asked, ms(150))
            .await
            .unwrap();
        assert_eq!(later, vec![("user7".into(), 1, ms(200))], "sliding window");
        assert!(s
            .member_send_counts(&dest("robot:x"), &asked, ms(0))
            .await
            .unwrap()
            .is_empty());
        // More members than one statement binds.
        assert_eq!(
            s.member_send_counts(&dest("wecom_app:hq"), &everyone, ms(0))
                .await
                .unwrap()
                .len(),
            2_500
        );
    })
    .await;
}

#[tokio::test]
async fn retention_purges_finished_rows_past_their_age_and_keeps_the_chain_verifiable() {
    run_both(|s| async move {
        // Pushes: one processed long ago, one still waiting (as old).
        let mut waiting = push("p2", 10);
        waiting.order_sn = Some(OrderSn::parse("OTHER").unwrap());
        s.insert_pushes(&[push("p1", 10), waiting]).await.unwrap();
        let claimed = s.claim_inbox(ms(100), Duration::from_secs(1), 10).await.unwrap();
        let done = InboxCompletion {
            state: InboxState::Done,
            events: vec![NewEvent {
                event: event("e1"),
                deliveries: vec![delivery("robot:a"), delivery("robot:b")],
            }],
            order_updates: vec![],
            note: None,
        };
        let first = claimed.iter().find(|c| c.dedupe_key == "p1").unwrap();
        assert_eq!(s.complete_inbox(first, done, ms(100)).await.unwrap(), Some(1));
        assert_eq!(
            s.purge(RetentionTarget::Pushes, ms(5), 100).await.unwrap(),
            0,
            "younger than the cut"
        );
        assert_eq!(s.purge(RetentionTarget::Pushes, ms(1_000), 100).await.unwrap(), 1);
        assert_eq!(
            s.purge(RetentionTarget::Pushes, ms(1_000), 100).await.unwrap(),
            0,
            "waiting work stays"
        );
        assert_eq!(s.queue_depths().await.unwrap().inbox_pending, 1);

        // Deliveries: one delivered long ago goes; one still pending stays.
        let out = s
            .claim_deliveries("r1", ms(100), Duration::from_secs(30), Duration::from_secs(15), 10)
            .await
            .unwrap();
        let sent = out.iter().find(|d| d.destination == dest("robot:a")).unwrap();
        let audit = AuditEntry::new(AuditKind::Delivery, AuditOutcome::Delivered, ms(200), "x");
        assert!(s.finish_delivery(sent, DeliveryResult::Delivered, audit).await.unwrap());
        assert_eq!(s.purge(RetentionTarget::Deliveries, ms(1_000), 100).await.unwrap(), 1);
        assert_eq!(s.purge(RetentionTarget::Deliveries, ms(1_000), 100).await.unwrap(), 0);
        assert_eq!(s.queue_depths().await.unwrap().deliveries_pending, 1);
        assert_eq!(
            s.purge(RetentionTarget::Events, ms(99), 100).await.unwrap(),
            0,
            "younger than the cut"
        );
        assert_eq!(s.purge(RetentionTarget::Events, ms(1_000), 100).await.unwrap(), 1);

        // Audit: the oldest end goes, in batches, and what remains still verifies.
        let entry = |at: i64| AuditEntry::new(AuditKind::Auth, AuditOutcome::Refreshed, ms(at), "tokens");
        s.append_audits(&[entry(300), entry(400), entry(9_000)]).await.unwrap();
        s.seal_audit(1_000).await.unwrap();
        let before = s.audit_chain_head().await.unwrap();
        let old = s.sealed_audit_page(0, 1_000).await.unwrap();
        let expired = old.iter().filter(|r| r.entry.at < ms(1_000)).count() as u64;
        assert!(expired >= 3, "pushes, the delivery and two refreshes: {old:?}");
        assert_eq!(
            s.purge(RetentionTarget::Audit, ms(1_000), 2).await.unwrap(),
            2,
            "a batch at a time"
        );
        let mut purged = 2;
        loop {
            let n = s.purge(RetentionTarget::Audit, ms(1_000), 2).await.unwrap();
            if n == 0 {
                break;
            }
            purged += n;
        }
        assert_eq!(purged, expired);
        let head = s.audit_chain_head().await.unwrap();
        assert_eq!((head.seq, head.hash.clone()), (before.seq, before.hash.clone()));
        assert_eq!(head.base_seq, before.base_seq + expired as i64);
        let mut verifier = chain::Verifier::new(head);
        for row in s.sealed_audit_page(0, 1_000).await.unwrap() {
            assert!(verifier.check(&row), "{row:?}");
        }
        assert_eq!(verifier.finish().1, None);
    })
    .await;
}

#[tokio::test]
async fn unreached_recipients_are_reported_once_a_day() {
    run_both(|s| async move {
        let values = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let first = values(&[("invaliduser", "ghost"), ("invalidparty", "99")]);
        assert_eq!(
            s.unreported_unreached(&dest("wecom_app:hq"), 20_000, &first)
                .await
                .unwrap(),
            first
        );
        let notice = |key: &str| NewEvent {
            event: event(key),
            deliveries: vec![delivery("robot:ops")],
        };
        assert!(s
            .report_unreached(&dest("wecom_app:hq"), 20_000, &first, notice("n1"), ms(5))
            .await
            .unwrap());
        assert_eq!(
            s.queue_depths().await.unwrap().deliveries_pending,
            1,
            "the notice is queued"
        );
        let again = values(&[("invaliduser", "ghost"), ("invalidtag", "8")]);
        assert_eq!(
            s.unreported_unreached(&dest("wecom_app:hq"), 20_000, &again)
                .await
                .unwrap(),
            values(&[("invalidtag", "8")])
        );
        assert!(
            !s.report_unreached(&dest("wecom_app:hq"), 20_000, &again, notice("n2"), ms(6))
                .await
                .unwrap(),
            "a value reported today is not reported again, and nothing is stored"
        );
        assert_eq!(s.queue_depths().await.unwrap().deliveries_pending, 1);
        assert_eq!(
            s.unreported_unreached(&dest("wecom_app:hq"), 20_001, &first)
                .await
                .unwrap(),
            first,
            "the next day"
        );
        assert_eq!(
            s.unreported_unreached(&dest("wecom_app:other"), 20_000, &first)
                .await
                .unwrap(),
            first
        );
        // Reports made at 5 (and 6, which stored nothing) are pruned by age; then today's value is new again.
        assert_eq!(s.prune_unreached(ms(5)).await.unwrap(), 0, "not older than itself");
        assert!(s.prune_unreached(ms(6)).await.unwrap() >= 1);
        assert_eq!(
            s.unreported_unreached(&dest("wecom_app:hq"), 20_000, &first)
                .await
                .unwrap(),
            first,
            "pruned reports are forgotten"
        );
    })
    .await;
}

const BUYER: &str = "wang.xiaoming88";
const CHAT: &str = "请把包裹放在门卫室";
const ADDRESS: &str = "幸福路123号";

fn order_sn(sn: &str) -> OrderSn {
    OrderSn::parse(sn).unwrap()
}

/// An order event whose snapshot names `buyer` (and carries their note with an address).
fn order_event(key: &str, sn: &str, buyer: Option<&str>) -> Event {
    let mut snapshot = shoprelay_core::order::OrderSnapshot::bare(
        order_sn(sn),
        shoprelay_core::order::OrderStatus::new(shoprelay_core::order::OrderStage::Unpaid, "UNPAID"),
    );
    snapshot.buyer_username = buyer.map(str::to_owned);
    snapshot.message_to_seller = buyer.map(|_| format!("送到{ADDRESS}"));
    Event {
        order_sn: Some(order_sn(sn)),
        order: Some(snapshot),
        ..event(key)
    }
}

fn chat_event(key: &str, buyer: &str) -> Event {
    Event {
        order_sn: None,
        body: EventBody::BuyerMessage {
            conversation_id: "c1".into(),
            from_user_name: buyer.into(),
            text: CHAT.into(),
            message_id: key.into(),
            buyer_id: None,
            conversation: None,
            latest_order: None,
        },
        ..event(key)
    }
}

fn rendered(dest: &str, line: &str) -> NewDelivery {
    NewDelivery {
        payload: format!("{{\"msgtype\":\"text\",\"text\":{{\"content\":\"{line}\"}}}}"),
        summary: line.to_owned(),
        ..delivery(dest)
    }
}

fn buyer_task(key: &str, sn: Option<&str>, buyer: &str) -> NewTask {
    NewTask {
        shop_id: Some(shop().get() as i64),
        order_sn: sn.map(str::to_owned),
        sticky_key: Some(format!("buyer:{}:{buyer}", shop())),
        summary: format!("买家消息 · {buyer}"),
        ..task("r-assign", key, None, shoprelay_core::route::AssignStrategy::RoundRobin)
    }
}

#[tokio::test]
async fn personal_data_is_sealed_at_rest_and_read_back_in_clear() {
    run_both(|s| async move {
        let mut p = push("chat-1", 10);
        p.body = format!("{{\"from_user_name\":\"{BUYER}\",\"content\":\"{CHAT}\"}}");
        s.insert_pushes(&[p.clone()]).await.unwrap();
        let claimed = s.claim_inbox(ms(10), Duration::from_secs(60), 10).await.unwrap();
        assert_eq!(claimed[0].body, p.body, "the raw push reads back as received");
        let completion = InboxCompletion {
            state: InboxState::Done,
            events: vec![NewEvent {
                event: chat_event("chat-1", BUYER),
                deliveries: vec![rendered("robot:a", &format!("{BUYER}: {CHAT}"))],
            }],
            order_updates: vec![],
            note: None,
        };
        s.complete_inbox(&claimed[0], completion, ms(11)).await.unwrap();
        s.insert_event(
            NewEvent {
                event: order_event("order-1", "ORDERA1", Some(BUYER)),
                deliveries: vec![],
            },
            ms(12),
        )
        .await
        .unwrap();
        let e = s.latest_event("ORDERA1", None).await.unwrap().unwrap();
        assert_eq!(e.order.unwrap().buyer_username.as_deref(), Some(BUYER));
        let d = s
            .claim_deliveries("me", ms(20), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert!(
            d[0].payload.contains(CHAT) && d[0].summary.contains(BUYER),
            "{:?}",
            d[0]
        );
        let t = s.open_task(&buyer_task("chat-1", None, BUYER), ms(30)).await.unwrap();
        assert_eq!(t.summary, format!("买家消息 · {BUYER}"));
        assert_eq!(s.list_tasks(None, 10).await.unwrap()[0].summary, t.summary);
        // Sticky assignment by buyer still works through the hashed key.
        let again = s.open_task(&buyer_task("chat-2", None, BUYER), ms(31)).await.unwrap();
        assert_eq!(again.assignee, t.assignee);
    })
    .await;
}

#[tokio::test]
async fn sqlite_file_and_wal_hold_no_buyer_name_chat_or_address() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let key = SecretBox::generate_key();
    let s = SqlStore::connect(&url, SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let mut p = push("chat-1", 10);
    p.body = format!("{{\"from_user_name\":\"{BUYER}\",\"content\":\"{CHAT}\"}}");
    s.insert_pushes(&[p]).await.unwrap();
    for e in [
        chat_event("chat-1", BUYER),
        order_event("order-1", "ORDERA1", Some(BUYER)),
    ] {
        let line = format!("{BUYER} {CHAT} {ADDRESS}");
        let deliveries = vec![rendered("robot:a", &line)];
        s.insert_event(NewEvent { event: e, deliveries }, ms(12)).await.unwrap();
    }
    s.open_task(&buyer_task("chat-1", None, BUYER), ms(30)).await.unwrap();
    let members: Vec<i64> = s
        .coalescible(&dest("robot:a"), ms(40), 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    s.create_digest(&members, rendered("robot:a", &format!("汇总 {BUYER}")), "tok", ms(40))
        .await
        .unwrap()
        .unwrap();
    let filed = NewBuyerMessage {
        buyer_name: BUYER.into(),
        ..buyer_message("conv-msg-1", CHAT, 50)
    };
    let conversation = s.file_buyer_message(&filed, ms(50)).await.unwrap().conversation;
    let reply = NewReply {
        conversation_id: conversation.id,
        author: Author::Staff,
        sender: Some("zhangsan".into()),
        dedupe_key: "reply-1".into(),
        text: format!("{ADDRESS} 已收到"),
        rule: None,
        at: ms(60),
    };
    s.add_reply(&reply).await.unwrap();
    s.close().await;
    let raw = std::fs::read(dir.path().join("t.db")).unwrap_or_default();
    let wal = std::fs::read(dir.path().join("t.db-wal")).unwrap_or_default();
    let hay = [raw, wal].concat();
    for needle in [BUYER, CHAT, ADDRESS] {
        assert!(
            !hay.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} must not be stored in clear"
        );
    }
    // The same file with another key: refused at start, nothing read in clear.
    let err = SqlStore::connect(&url, secrets()).await.unwrap_err();
    assert!(matches!(err, StoreError::Seal(_)), "{err:?}");
}

#[tokio::test]
async fn rows_stored_before_sealing_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = SqlStore::connect(&url, secrets()).await.unwrap();
    // What an earlier version wrote: the event body and the push as plain JSON.
    let legacy = sqlx::SqlitePool::connect(&url).await.unwrap();
    let body = serde_json::to_string(&order_event("old-1", "ORDEROLD", Some(BUYER))).unwrap();
    sqlx::query(
        "INSERT INTO events (dedupe_key, kind, app_id, shop_id, order_sn, occurred_at, body, created_at)
                 VALUES ('old-1', 'order_created', 'app-1', 727720655, 'ORDEROLD', 1, $1, 1)",
    )
    .bind(&body)
    .execute(&legacy)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO inbox (platform, app_id, dedupe_key, code, body, received_at, state, next_attempt_at)
                 VALUES ('shopee', 'app-1', 'old-push', 3, '{\"old\":true}', 1, 'pending', 1)",
    )
    .execute(&legacy)
    .await
    .unwrap();
    legacy.close().await;
    let e = s.latest_event("ORDEROLD", None).await.unwrap().unwrap();
    assert_eq!(e.order.unwrap().buyer_username.as_deref(), Some(BUYER));
    assert_eq!(
        s.claim_inbox(ms(5), Duration::from_secs(1), 10).await.unwrap()[0].body,
        "{\"old\":true}"
    );
}

#[tokio::test]
async fn forgetting_a_buyer_removes_everything_about_them_and_audits_only_a_hash() {
    run_both(|s| async move {
        let other = "li.lei";
        let events = [
            (chat_event("chat-a", BUYER), "robot:a"),
            (order_event("order-a", "ORDERA1", Some(BUYER)), "robot:a"),
            // A later event of the buyer's order that names no buyer: still about them.
            (order_event("status-a", "ORDERA1", None), "robot:b"),
            (chat_event("chat-b", other), "robot:a"),
            (order_event("order-b", "ORDERB1", Some(other)), "robot:b"),
        ];
        for (e, dest) in events {
            let line = format!("{} {}", e.dedupe_key, BUYER);
            s.insert_event(
                NewEvent {
                    event: e,
                    deliveries: vec![rendered(dest, &line)],
                },
                ms(10),
            )
            .await
            .unwrap();
        }
        // A status push of the buyer's order, processed: the push and the order's last status are kept.
        let mut p = push("p-a", 10);
        p.order_sn = Some(order_sn("ORDERA1"));
        s.insert_pushes(&[p]).await.unwrap();
        let claimed = s.claim_inbox(ms(10), Duration::from_secs(60), 10).await.unwrap();
        let update = OrderStateUpdate {
            app_id: app(),
            shop_id: shop(),
            order_sn: order_sn("ORDERA1"),
            status: "READY_TO_SHIP".into(),
            status_time: secs(5),
            ship_by_date: None,
        };
        let completion = InboxCompletion {
            state: InboxState::Done,
            events: vec![],
            order_updates: vec![update],
            note: None,
        };
        s.complete_inbox(&claimed[0], completion, ms(10)).await.unwrap();
        s.open_task(&buyer_task("chat-a", None, BUYER), ms(11)).await.unwrap();
        s.open_task(&buyer_task("status-a", Some("ORDERA1"), BUYER), ms(11))
            .await
            .unwrap();
        s.open_task(&buyer_task("chat-b", None, other), ms(11)).await.unwrap();
        // A digest of robot:b carries the buyer's status line and the other buyer's order.
        let members: Vec<i64> = s
            .coalescible(&dest("robot:b"), ms(20), 10)
            .await
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(members.len(), 2);
        s.create_digest(&members, rendered("robot:b", "digest"), "dig", ms(20))
            .await
            .unwrap()
            .unwrap();

        // Names are matched regardless of case and blanks around them.
        let report = s.forget_buyer(shop(), " Wang.XiaoMing88 ", ms(30)).await.unwrap();
        assert_eq!(
            report,
            ForgetReport {
                pushes: 1,
                events: 3,
                deliveries: 4,
                tasks: 2,
                orders: 1,
                conversations: 0
            },
            "the order's push, 3 events, their 3 deliveries and the digest carrying one, 2 tasks, 1 order status"
        );
        assert!(s.latest_event("ORDERA1", None).await.unwrap().is_none());
        assert!(s
            .order_status(&app(), shop(), &order_sn("ORDERA1"))
            .await
            .unwrap()
            .is_none());
        assert!(
            s.latest_event("ORDERB1", None).await.unwrap().is_some(),
            "other buyers are untouched"
        );
        let tasks = s.list_tasks(None, 10).await.unwrap();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].event_key, "chat-b");
        let left: Vec<String> = s
            .claim_deliveries("me", ms(40), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.summary)
            .collect();
        assert_eq!(
            left,
            vec![format!("chat-b {BUYER}")],
            "the other buyer's message is still sent; the digest went with the buyer's line"
        );
        let audit = s
            .query_audit(&AuditFilter {
                kind: Some(AuditKind::Privacy),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].outcome, AuditOutcome::BuyerForgotten);
        assert!(
            audit[0].detail.contains(&s.buyer_hash(shop(), BUYER)),
            "{}",
            audit[0].detail
        );
        assert!(!audit[0].detail.to_lowercase().contains("wang"), "{}", audit[0].detail);
        // Forgetting again finds nothing, and says so.
        assert_eq!(
            s.forget_buyer(shop(), BUYER, ms(31)).await.unwrap(),
            ForgetReport::default()
        );
    })
    .await;
}

fn key_pair(current: &str, previous: Option<&str>) -> SecretBox {
    let b = SecretBox::from_base64(current).unwrap();
    match previous {
        Some(p) => b.with_previous(p).unwrap(),
        None => b,
    }
}

#[tokio::test]
async fn a_rotation_reseals_everything_resumes_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![format!("sqlite://{}", dir.path().join("t.db").display())];
    urls.extend(postgres_url().await);
    for url in urls {
        let (old, new) = (SecretBox::generate_key(), SecretBox::generate_key());
        let s = SqlStore::connect(&url, key_pair(&old, None)).await.unwrap();
        let a = key_pair(&old, None);
        let auth = ShopAuth {
            app_id: app(),
            shop_id: shop(),
            access_token: Secret::new("access-1"),
            refresh_token: Secret::new("refresh-1"),
            access_expires_at: UnixMs::from_secs(1),
            refresh_expires_at: UnixMs::from_secs(1),
            status: ShopAuthStatus::Active,
            status_reason: None,
            version: 0,
        };
        s.save_shop_auth(&auth, ms(1)).await.unwrap();
        let plain_body = serde_json::json!({"partner_key": "pk-1", "name": "x"});
        let body = serde_json::json!({"partner_key": a.seal(&Secret::new("pk-1")), "name": "x"});
        let object = ConfigObject {
            kind: "shopee_app".into(),
            id: "main".into(),
            body: body.to_string(),
            fingerprint: a.fingerprint(&serde_json::to_vec(&plain_body).unwrap()),
        };
        s.apply_config(&[object], ms(1)).await.unwrap();
        s.insert_pushes(&[push("p1", 1), push("p2", 1)]).await.unwrap();
        for e in [
            chat_event("chat-1", BUYER),
            order_event("order-1", "ORDERA1", Some(BUYER)),
        ] {
            let deliveries = vec![rendered("robot:a", BUYER)];
            s.insert_event(NewEvent { event: e, deliveries }, ms(2)).await.unwrap();
        }
        let first = s.open_task(&buyer_task("chat-1", None, BUYER), ms(3)).await.unwrap();
        s.close().await;

        // The new key alone cannot open a database still under the old one: said at start.
        let err = SqlStore::connect(&url, key_pair(&new, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::Seal(_)), "{err:?}");
        // Both keys: the server runs while the rotation re-seals. Interrupted after two targets…
        let s = SqlStore::connect(&url, key_pair(&new, Some(&old))).await.unwrap();
        let total = s.reseal_remaining().await.unwrap();
        assert_eq!(total, 1 + 2 + 2 + 2 + 1, "secrets, pushes, events, deliveries, tasks");
        assert!(s.reseal_batch(ResealTarget::Secrets).await.unwrap().is_some());
        assert_eq!(s.reseal_batch(ResealTarget::Pushes).await.unwrap(), Some(2));
        s.close().await;
        // …and resumed where it stopped.
        let s = SqlStore::connect(&url, key_pair(&new, Some(&old))).await.unwrap();
        assert_eq!(s.reseal_remaining().await.unwrap(), total - 3);
        let mut looked_at = 0;
        for target in ResealTarget::ALL {
            while let Some(n) = s.reseal_batch(target).await.unwrap() {
                looked_at += n;
            }
        }
        assert_eq!(looked_at, 5);
        s.finish_reseal(looked_at, ms(4)).await.unwrap();
        s.close().await;

        // The new key alone reads everything; the old one alone opens nothing.
        let s = SqlStore::connect(&url, key_pair(&new, None)).await.unwrap();
        let got = s.shop_auth(&app(), shop()).await.unwrap().unwrap();
        assert_eq!(got.refresh_token.expose(), "refresh-1");
        let stored = s.list_config().await.unwrap();
        let b = key_pair(&new, None);
        let sealed: serde_json::Value = serde_json::from_str(&stored[0].body).unwrap();
        assert_eq!(
            b.open(sealed["partner_key"].as_str().unwrap()).unwrap().expose(),
            "pk-1"
        );
        assert_eq!(
            stored[0].fingerprint,
            b.fingerprint(&serde_json::to_vec(&plain_body).unwrap())
        );
        // Pushes of one order are claimed one at a time, oldest first.
        assert_eq!(
            s.claim_inbox(ms(5), Duration::from_secs(1), 10).await.unwrap()[0].body,
            push("p1", 1).body
        );
        let e = s.latest_event("ORDERA1", None).await.unwrap().unwrap();
        assert_eq!(e.order.unwrap().buyer_username.as_deref(), Some(BUYER));
        let d = s
            .claim_deliveries("me", ms(5), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert!(d.iter().all(|d| d.summary == BUYER), "{d:?}");
        assert_eq!(s.list_tasks(None, 10).await.unwrap()[0].summary, first.summary);
        let again = s.open_task(&buyer_task("chat-2", None, BUYER), ms(6)).await.unwrap();
        assert_eq!(
            again.assignee, first.assignee,
            "sticky keys still match after the rotation"
        );
        let audit = s
            .query_audit(&AuditFilter {
                kind: Some(AuditKind::Privacy),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit[0].outcome, AuditOutcome::KeysRotated);
        // Lookups survive: the buyer is still found.
        assert_eq!(s.forget_buyer(shop(), BUYER, ms(7)).await.unwrap().events, 2);
        s.close().await;
        let err = SqlStore::connect(&url, key_pair(&old, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::Seal(_)), "{err:?}");
    }
}

#[tokio::test]
async fn a_rotation_seals_rows_stored_before_sealing_and_finds_their_buyer() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let key = SecretBox::generate_key();
    let s = SqlStore::connect(&url, key_pair(&key, None)).await.unwrap();
    let legacy = sqlx::SqlitePool::connect(&url).await.unwrap();
    let body = serde_json::to_string(&chat_event("old-1", BUYER)).unwrap();
    sqlx::query(
        "INSERT INTO events (dedupe_key, kind, app_id, shop_id, occurred_at, body, created_at)
         VALUES ('old-1', 'buyer_message', 'app-1', 727720655, 1, $1, 1)",
    )
    .bind(&body)
    .execute(&legacy)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO tasks (rule_id, event_key, sticky_key, summary, token, state, created_at)
         VALUES ('r', 'old-1', $1, $2, 'tok', 'open', 1)",
    )
    .bind(format!("buyer:{}:{BUYER}", shop()))
    .bind(format!("买家消息 · {BUYER}"))
    .execute(&legacy)
    .await
    .unwrap();
    legacy.close().await;
    for target in ResealTarget::ALL {
        while s.reseal_batch(target).await.unwrap().is_some() {}
    }
    s.finish_reseal(0, ms(1)).await.unwrap();
    s.close().await;
    let hay = [
        std::fs::read(dir.path().join("t.db")).unwrap_or_default(),
        std::fs::read(dir.path().join("t.db-wal")).unwrap_or_default(),
    ]
    .concat();
    assert!(
        !hay.windows(BUYER.len()).any(|w| w == BUYER.as_bytes()),
        "re-sealed, overwritten, and the log emptied"
    );
    let s = SqlStore::connect(&url, key_pair(&key, None)).await.unwrap();
    let report = s.forget_buyer(shop(), BUYER, ms(2)).await.unwrap();
    assert_eq!(
        (report.events, report.tasks),
        (1, 1),
        "found through the hash the rotation added"
    );
}

#[tokio::test]
async fn purging_a_shop_deletes_its_data_and_nothing_else() {
    run_both(|s| async move {
        let other_shop = ShopId::new(5_000_001).unwrap();
        let other_order = OrderSn::parse("OTHER").unwrap();
        let mut theirs = push("other-p", 10);
        theirs.shop_id = Some(other_shop);
        theirs.order_sn = Some(other_order.clone());
        s.insert_pushes(&[push("p1", 10), theirs]).await.unwrap();
        let mut their_event = event("e-other");
        their_event.shop_id = Some(other_shop);
        their_event.order_sn = Some(other_order);
        for e in [event("e1"), their_event] {
            let new = NewEvent {
                event: e,
                deliveries: vec![delivery("robot:a")],
            };
            assert!(s.insert_event(new, ms(100)).await.unwrap());
        }
        let auth = ShopAuth {
            app_id: app(),
            shop_id: shop(),
            access_token: Secret::new("a"),
            refresh_token: Secret::new("r"),
            access_expires_at: UnixMs::from_secs(1),
            refresh_expires_at: UnixMs::from_secs(1),
            status: ShopAuthStatus::Deauthorized,
            status_reason: None,
            version: 0,
        };
        s.save_shop_auth(&auth, ms(1)).await.unwrap();
        for shop_id in [shop(), other_shop] {
            let standing = ShopStanding {
                app_id: app(),
                shop_id,
                status: "close".into(),
                reported_at: ms(5),
                received_at: ms(6),
            };
            assert!(s.record_shop_standing(&standing).await.unwrap());
        }

        let report = s.purge_shop(&app(), None, shop(), ms(500)).await.unwrap();
        assert_eq!(
            (report.pushes, report.events, report.deliveries),
            (1, 1, 1),
            "{report:?}"
        );
        assert!(
            s.shop_auth(&app(), shop()).await.unwrap().is_none(),
            "its tokens go too"
        );
        assert_eq!(s.shop_standing(&app(), shop()).await.unwrap(), None, "and its standing");
        assert!(s.shop_standing(&app(), other_shop).await.unwrap().is_some());
        let depths = s.queue_depths().await.unwrap();
        assert_eq!(
            (depths.inbox_pending, depths.deliveries_pending),
            (1, 1),
            "the other shop's push and message stay"
        );
        let audit = s
            .query_audit(&AuditFilter {
                outcome: Some(AuditOutcome::ShopPurged),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        assert!(
            audit[0].detail.contains("1 push(es), 1 event(s)"),
            "{}",
            audit[0].detail
        );
        assert_eq!(
            s.purge_shop(&app(), None, shop(), ms(600)).await.unwrap(),
            ForgetReport::default()
        );
    })
    .await;
}

#[tokio::test]
async fn data_policies_default_to_minimal_are_audited_and_go_with_a_purged_shop() {
    use shoprelay_core::policy::{Acceptance, FieldPolicy, SensitiveField, COMMITMENT_VERSION};
    run_both(|s| async move {
        assert_eq!(s.data_policy(&app(), shop()).await.unwrap(), FieldPolicy::minimal());
        let accepted = Some(Acceptance {
            by: "王经理".into(),
            at: UnixMs::from_millis(7),
            version: COMMITMENT_VERSION.into(),
        });
        let policy = FieldPolicy::new([SensitiveField::Phone, SensitiveField::Address].into(), accepted).unwrap();
        s.set_data_policy(&app(), Some(Platform::named("shopee")), shop(), &policy, ms(10))
            .await
            .unwrap();
        assert_eq!(s.data_policy(&app(), shop()).await.unwrap(), policy);
        let other = ShopId::new(2).unwrap();
        assert_eq!(
            s.data_policy(&app(), other).await.unwrap(),
            FieldPolicy::minimal(),
            "per shop"
        );
        let audit = s
            .query_audit(&AuditFilter {
                outcome: Some(AuditOutcome::DataPolicySet),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        assert!(audit[0].detail.contains("王经理") && audit[0].detail.contains(COMMITMENT_VERSION));
        assert_eq!(audit[0].platform, Some(Platform::named("shopee")));
        s.set_data_policy(&app(), None, shop(), &FieldPolicy::minimal(), ms(20))
            .await
            .unwrap();
        assert_eq!(s.data_policy(&app(), shop()).await.unwrap(), FieldPolicy::minimal());
        s.set_data_policy(&app(), None, shop(), &policy, ms(30)).await.unwrap();
        s.record_shop_chat(
            app().as_str(),
            shop(),
            Some(("shopee.error_api_permission", "not whitelisted")),
            ms(35),
        )
        .await
        .unwrap();
        assert_eq!(s.shop_chats().await.unwrap().len(), 1);
        s.purge_shop(&app(), None, shop(), ms(40)).await.unwrap();
        assert_eq!(s.data_policy(&app(), shop()).await.unwrap(), FieldPolicy::minimal());
        assert!(
            s.shop_chats().await.unwrap().is_empty(),
            "the shop's chat capability goes with it"
        );
    })
    .await;
}

#[tokio::test]
async fn wecom_callbacks_are_stored_once_sealed_and_audited() {
    run_both(|s| async move {
        let callback = NewCallback {
            app_id: ConfigId::parse("hq").unwrap(),
            dedupe_key: "msg:1456453720".into(),
            kind: "text".into(),
            body: format!("<xml><Content>{CHAT}</Content></xml>"),
            received_at: ms(100),
        };
        assert!(s.insert_callback(&callback).await.unwrap());
        assert!(!s.insert_callback(&callback).await.unwrap(), "a retry is a duplicate");
        let other_app = NewCallback {
            app_id: ConfigId::parse("cs").unwrap(),
            ..callback.clone()
        };
        assert!(s.insert_callback(&other_app).await.unwrap(), "keys are per app");
        let stored = s.recent_callbacks(10).await.unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(
            (stored[0].app_id.as_str(), stored[0].state.as_str()),
            ("cs", "received")
        );
        assert!(stored[1].body.contains(CHAT));
        let outcomes: Vec<AuditOutcome> = s
            .query_audit(&AuditFilter {
                kind: Some(AuditKind::Callback),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.outcome)
            .collect();
        assert_eq!(
            outcomes.iter().filter(|o| **o == AuditOutcome::Duplicate).count(),
            1,
            "{outcomes:?}"
        );
        assert_eq!(
            outcomes.iter().filter(|o| **o == AuditOutcome::Received).count(),
            2,
            "{outcomes:?}"
        );
        assert_eq!(
            s.purge(RetentionTarget::Callbacks, ms(100), 10).await.unwrap(),
            0,
            "not older than itself"
        );
        assert_eq!(s.purge(RetentionTarget::Callbacks, ms(101), 10).await.unwrap(), 2);
        assert!(s.recent_callbacks(10).await.unwrap().is_empty());
    })
    .await;
}

fn buyer_message(key: &str, text: &str, at: i64) -> NewBuyerMessage {
    NewBuyerMessage {
        app_id: app(),
        shop_id: shop(),
        thread: "conv-77".into(),
        buyer_id: "5501".into(),
        buyer_name: "buyer_amy".into(),
        dedupe_key: key.into(),
        text: text.into(),
        at: ms(at),
    }
}

#[tokio::test]
async fn buyer_messages_are_filed_once_per_conversation_and_sealed() {
    run_both(|s| async move {
        let first = s
            .file_buyer_message(&buyer_message("m1", CHAT, 1_000), ms(1_001))
            .await
            .unwrap();
        assert!(first.new);
        let c = first.conversation;
        assert_eq!(
            (c.state, c.holder.as_deref(), c.last_buyer_at),
            (ConversationState::Open, None, ms(1_000))
        );
        assert_eq!((c.buyer_id.as_str(), c.buyer_name.as_str()), ("5501", "buyer_amy"));
        let again = s
            .file_buyer_message(&buyer_message("m1", CHAT, 1_000), ms(1_002))
            .await
            .unwrap();
        assert!(!again.new, "a retried push files nothing");
        let second = s
            .file_buyer_message(&buyer_message("m2", "在吗", 2_000), ms(2_001))
            .await
            .unwrap();
        assert_eq!(
            second.conversation.id, c.id,
            "one conversation per marketplace conversation"
        );
        assert_eq!(second.conversation.last_buyer_at, ms(2_000));
        // An older message arriving late does not move the conversation back.
        s.file_buyer_message(&buyer_message("m0", "hi", 500), ms(2_002))
            .await
            .unwrap();
        let messages = s.conversation_messages(c.id, 10).await.unwrap();
        let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, [CHAT, "在吗", "hi"]);
        assert!(messages
            .iter()
            .all(|m| m.author == Author::Buyer && m.outcome == MessageOutcome::Received));
        assert_eq!(s.conversation(c.id).await.unwrap().unwrap().last_buyer_at, ms(2_000));
        assert_eq!(
            s.conversation_messages(c.id, 1).await.unwrap()[0].text,
            "hi",
            "the latest, oldest first"
        );
    })
    .await;
}

#[tokio::test]
async fn a_conversation_is_held_by_one_member_resolved_and_handed_off() {
    run_both(|s| async move {
        let c = s
            .file_buyer_message(&buyer_message("m1", CHAT, 1_000), ms(1_000))
            .await
            .unwrap()
            .conversation;
        let Claim::Held(held) = s.claim_conversation(c.id, "zhangsan", "hq", ms(1_100)).await.unwrap() else {
            panic!("an open conversation can be claimed");
        };
        assert_eq!(
            (held.state, held.holder.as_deref(), held.holder_app.as_deref()),
            (ConversationState::Claimed, Some("zhangsan"), Some("hq"))
        );
        assert!(matches!(
            s.claim_conversation(c.id, "zhangsan", "hq", ms(1_150)).await.unwrap(),
            Claim::Held(_)
        ));
        let Claim::HeldByOther(other) = s.claim_conversation(c.id, "lisi", "hq", ms(1_200)).await.unwrap() else {
            panic!("another member cannot take a held conversation");
        };
        assert_eq!(other.holder.as_deref(), Some("zhangsan"));
        assert_eq!(
            s.claim_conversation(9_999, "lisi", "hq", ms(1_200)).await.unwrap(),
            Claim::Missing
        );
        let held_by = |who: &str| ConversationFilter {
            holder: Some(who.into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(s.list_conversations(&held_by("zhangsan")).await.unwrap().len(), 1);

        // Resolved, then the buyer writes again: back with the same member.
        let resolved = s.release_conversation(c.id, true, ms(1_300)).await.unwrap().unwrap();
        assert_eq!(resolved.state, ConversationState::Resolved);
        let back = s
            .file_buyer_message(&buyer_message("m2", "还有问题", 1_400), ms(1_400))
            .await
            .unwrap();
        assert_eq!(
            (back.conversation.state, back.conversation.holder.as_deref()),
            (ConversationState::Claimed, Some("zhangsan"))
        );

        // Handed off: nobody holds it, and another member may take it.
        let open = s.release_conversation(c.id, false, ms(1_500)).await.unwrap().unwrap();
        assert_eq!((open.state, open.holder), (ConversationState::Open, None));
        assert!(matches!(
            s.claim_conversation(c.id, "lisi", "hq", ms(1_600)).await.unwrap(),
            Claim::Held(_)
        ));
        let open_ones = ConversationFilter {
            state: Some(ConversationState::Open),
            limit: 10,
            ..Default::default()
        };
        assert!(s.list_conversations(&open_ones).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn replies_are_filed_once_and_only_a_persons_sent_reply_counts_as_the_answer() {
    run_both(|s| async move {
        let c = s
            .file_buyer_message(&buyer_message("m1", CHAT, 1_000), ms(1_000))
            .await
            .unwrap()
            .conversation;
        let auto = NewReply {
            conversation_id: c.id,
            author: Author::Auto,
            sender: None,
            dedupe_key: "auto:m1".into(),
            text: "您的订单已发货".into(),
            rule: Some("where-is-my-order".into()),
            at: ms(1_010),
        };
        let auto_id = s.add_reply(&auto).await.unwrap().unwrap();
        assert_eq!(s.add_reply(&auto).await.unwrap(), None, "filed once");
        s.finish_reply(auto_id, MessageOutcome::Sent, None, Some("pm-1"), ms(1_020))
            .await
            .unwrap();
        assert_eq!(
            s.conversation(c.id).await.unwrap().unwrap().last_reply_at,
            None,
            "automatic answers do not count"
        );
        let staff = NewReply {
            conversation_id: c.id,
            author: Author::Staff,
            sender: Some("zhangsan".into()),
            dedupe_key: "reply:msg-9".into(),
            text: "亲，已经帮您催了".into(),
            rule: None,
            at: ms(1_100),
        };
        let staff_id = s.add_reply(&staff).await.unwrap().unwrap();
        let failed = NewReply {
            dedupe_key: "reply:msg-10".into(),
            ..staff.clone()
        };
        let failed_id = s.add_reply(&failed).await.unwrap().unwrap();
        s.finish_reply(
            failed_id,
            MessageOutcome::Failed,
            Some("not whitelisted"),
            None,
            ms(1_150),
        )
        .await
        .unwrap();
        assert_eq!(s.conversation(c.id).await.unwrap().unwrap().last_reply_at, None);
        s.finish_reply(staff_id, MessageOutcome::Sent, None, Some("pm-2"), ms(1_200))
            .await
            .unwrap();
        assert_eq!(
            s.conversation(c.id).await.unwrap().unwrap().last_reply_at,
            Some(ms(1_200))
        );
        let messages = s.conversation_messages(c.id, 10).await.unwrap();
        let seen: Vec<(Author, MessageOutcome, Option<&str>)> = messages
            .iter()
            .map(|m| (m.author, m.outcome, m.note.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (Author::Buyer, MessageOutcome::Received, None),
                (Author::Auto, MessageOutcome::Sent, None),
                (Author::Staff, MessageOutcome::Sent, None),
                (Author::Staff, MessageOutcome::Failed, Some("not whitelisted")),
            ]
        );
        assert_eq!(messages[1].rule.as_deref(), Some("where-is-my-order"));
        assert_eq!(messages[2].platform_message_id.as_deref(), Some("pm-2"));
    })
    .await;
}

#[tokio::test]
async fn a_forgotten_buyers_conversations_go_and_old_ones_are_purged() {
    run_both(|s| async move {
        let c = s
            .file_buyer_message(&buyer_message("m1", CHAT, 1_000), ms(1_000))
            .await
            .unwrap()
            .conversation;
        let other = NewBuyerMessage {
            thread: "conv-88".into(),
            buyer_id: "6601".into(),
            buyer_name: "buyer_bob".into(),
            ..buyer_message("m2", "hello", 5_000)
        };
        let kept = s.file_buyer_message(&other, ms(5_000)).await.unwrap().conversation;
        let report = s.forget_buyer(shop(), " Buyer_Amy ", ms(6_000)).await.unwrap();
        assert_eq!(report.conversations, 1);
        assert!(s.conversation(c.id).await.unwrap().is_none());
        assert!(s.conversation(kept.id).await.unwrap().is_some());
        assert_eq!(
            s.purge(RetentionTarget::Conversations, ms(5_000), 10).await.unwrap(),
            0,
            "not older than itself"
        );
        assert_eq!(s.purge(RetentionTarget::Conversations, ms(5_001), 10).await.unwrap(), 1);
        assert!(s.conversation_messages(kept.id, 10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn stored_callbacks_are_claimed_once_and_closed() {
    run_both(|s| async move {
        for key in ["a", "b"] {
            let callback = NewCallback {
                app_id: ConfigId::parse("hq").unwrap(),
                dedupe_key: key.into(),
                kind: "text".into(),
                body: format!("<xml>{key}</xml>"),
                received_at: ms(100),
            };
            s.insert_callback(&callback).await.unwrap();
        }
        let claimed = s.claim_callbacks(ms(1_000), Duration::from_secs(30), 10).await.unwrap();
        assert_eq!(
            claimed.iter().map(|c| c.dedupe_key.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(
            s.claim_callbacks(ms(2_000), Duration::from_secs(30), 10)
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );
        s.finish_callback(claimed[0].id, CallbackState::Done, None)
            .await
            .unwrap();
        let again = s
            .claim_callbacks(ms(40_000), Duration::from_secs(30), 10)
            .await
            .unwrap();
        assert_eq!(
            again.len(),
            1,
            "a crashed worker's callback comes back after its lease, a finished one never"
        );
        assert_eq!(again[0].dedupe_key, "b");
    })
    .await;
}

#[tokio::test]
async fn a_buyers_latest_order_is_found_by_their_name_with_its_status() {
    run_both(|s| async move {
        assert_eq!(
            s.buyer_latest_order(app().as_str(), shop(), "buyer_amy").await.unwrap(),
            None
        );
        // Two orders of the buyer (the older one changes later), one of somebody else.
        for (n, (key, sn, buyer, status)) in [
            ("o1", "AMY1", "buyer_amy", "SHIPPED"),
            ("o2", "AMY2", "Buyer_Amy", "READY_TO_SHIP"),
            ("o3", "BOB1", "buyer_bob", "SHIPPED"),
            ("o4", "AMY1", "buyer_amy", "COMPLETED"),
        ]
        .into_iter()
        .enumerate()
        {
            s.insert_pushes(&[push(key, 10)]).await.unwrap();
            let item = s
                .claim_inbox(ms(1_000), Duration::from_secs(1), 1)
                .await
                .unwrap()
                .remove(0);
            let completion = InboxCompletion {
                state: InboxState::Done,
                events: vec![NewEvent {
                    event: order_event(key, sn, Some(buyer)),
                    deliveries: Vec::new(),
                }],
                order_updates: vec![OrderStateUpdate {
                    app_id: app(),
                    shop_id: shop(),
                    order_sn: order_sn(sn),
                    status: status.into(),
                    status_time: secs(100 + n as i64),
                    ship_by_date: None,
                }],
                note: None,
            };
            s.complete_inbox(&item, completion, ms(1_000)).await.unwrap();
        }
        assert_eq!(
            s.buyer_latest_order(app().as_str(), shop(), "buyer_amy").await.unwrap(),
            Some(("AMY2".to_owned(), "READY_TO_SHIP".to_owned())),
            "the order first seen last, whatever changed since"
        );
        assert_eq!(
            s.buyer_latest_order(app().as_str(), shop(), "buyer_bob").await.unwrap(),
            Some(("BOB1".to_owned(), "SHIPPED".to_owned()))
        );
        let other_shop = ShopId::new(shop().get() + 1).unwrap();
        assert_eq!(
            s.buyer_latest_order(app().as_str(), other_shop, "buyer_amy")
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

fn console_user(name: &str, role: Role) -> NewConsoleUser {
    NewConsoleUser {
        username: name.into(),
        password_hash: format!("$argon2id$fake${name}"),
        role,
    }
}

#[tokio::test]
async fn the_setup_link_creates_one_first_admin_once() {
    run_both(|s| async move {
        assert!(!s.has_console_admin().await.unwrap());
        let admin = console_user("ops", Role::Viewer);
        assert_eq!(
            s.create_first_admin("h1", &admin, ms(10)).await.unwrap(),
            UserCreated::SetupClosed,
            "no link made yet"
        );
        s.create_setup_token("old", ms(0), ms(1_000)).await.unwrap();
        s.create_setup_token("h1", ms(0), ms(1_000)).await.unwrap();
        assert_eq!(
            s.create_first_admin("old", &admin, ms(10)).await.unwrap(),
            UserCreated::SetupClosed,
            "a new link replaces the old one"
        );
        assert_eq!(
            s.create_first_admin("h1", &admin, ms(1_000)).await.unwrap(),
            UserCreated::SetupClosed,
            "expired"
        );
        let UserCreated::Created(created) = s.create_first_admin("h1", &admin, ms(999)).await.unwrap() else {
            panic!("the link creates the first admin");
        };
        assert_eq!(
            created.role,
            Role::Admin,
            "the first user is an admin whatever was asked"
        );
        assert!(s.has_console_admin().await.unwrap());
        s.create_setup_token("h2", ms(0), ms(5_000)).await.unwrap();
        assert_eq!(
            s.create_first_admin("h2", &console_user("other", Role::Admin), ms(1_001))
                .await
                .unwrap(),
            UserCreated::SetupClosed,
            "an admin exists: the link creates nobody"
        );
        assert_eq!(
            s.create_first_admin("h1", &console_user("again", Role::Admin), ms(1_002))
                .await
                .unwrap(),
            UserCreated::SetupClosed,
            "spent"
        );
        let actions = s
            .console_actions(&ConsoleActionFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(actions.len(), 1);
        assert_eq!(
            (
                actions[0].actor.as_str(),
                actions[0].action.as_str(),
                actions[0].target.as_deref()
            ),
            ("setup", "user.create", Some("ops"))
        );
    })
    .await;
}

#[tokio::test]
async fn unanswered_conversations_are_those_without_a_persons_reply_since_the_buyer_wrote() {
    run_both(|s| async move {
        let c = s
            .file_buyer_message(&buyer_message("m1", CHAT, 1_000), ms(1_000))
            .await
            .unwrap()
            .conversation;
        let ids = |v: Vec<Conversation>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.unanswered_conversations(ms(0), ms(2_000), 0, 10).await.unwrap()),
            [c.id]
        );
        assert!(
            s.unanswered_conversations(ms(0), ms(2_000), 1, 10)
                .await
                .unwrap()
                .is_empty(),
            "paged"
        );
        assert!(
            s.unanswered_conversations(ms(1_001), ms(2_000), 0, 10)
                .await
                .unwrap()
                .is_empty(),
            "outside the window"
        );
        // An automatic answer leaves it unanswered; a person's sent reply answers it.
        let reply = |key: &str, author: Author| NewReply {
            conversation_id: c.id,
            author,
            sender: None,
            dedupe_key: key.into(),
            text: "ok".into(),
            rule: (author == Author::Auto).then(|| "builtin.order_status".to_owned()),
            at: ms(1_100),
        };
        let auto = s.add_reply(&reply("a1", Author::Auto)).await.unwrap().unwrap();
        s.finish_reply(auto, MessageOutcome::Sent, None, None, ms(1_100))
            .await
            .unwrap();
        assert_eq!(
            s.conversation_messages(c.id, 10).await.unwrap()[1].rule.as_deref(),
            Some("builtin.order_status")
        );
        assert_eq!(
            ids(s.unanswered_conversations(ms(0), ms(2_000), 0, 10).await.unwrap()),
            [c.id]
        );
        let staff = s.add_reply(&reply("s1", Author::Staff)).await.unwrap().unwrap();
        s.finish_reply(staff, MessageOutcome::Sent, None, None, ms(1_200))
            .await
            .unwrap();
        assert!(s
            .unanswered_conversations(ms(0), ms(2_000), 0, 10)
            .await
            .unwrap()
            .is_empty());
        // The buyer writes again: waiting again, until it is resolved.
        s.file_buyer_message(&buyer_message("m2", "还在吗", 1_500), ms(1_500))
            .await
            .unwrap();
        assert_eq!(
            ids(s.unanswered_conversations(ms(0), ms(2_000), 0, 10).await.unwrap()),
            [c.id]
        );
        s.release_conversation(c.id, true, ms(1_600)).await.unwrap();
        assert!(s
            .unanswered_conversations(ms(0), ms(2_000), 0, 10)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn one_owner_holds_a_bots_long_connection_until_its_lease_runs_out() {
    run_both(|s| async move {
        assert!(s.take_bot_lease("bot1", "a", ms(1_000), ms(31_000)).await.unwrap());
        assert!(
            !s.take_bot_lease("bot1", "b", ms(2_000), ms(32_000)).await.unwrap(),
            "a holds it"
        );
        assert!(
            s.take_bot_lease("bot2", "b", ms(2_000), ms(32_000)).await.unwrap(),
            "leases are per bot"
        );
        assert!(
            s.take_bot_lease("bot1", "a", ms(20_000), ms(50_000)).await.unwrap(),
            "the holder renews"
        );
        assert!(
            !s.take_bot_lease("bot1", "b", ms(40_000), ms(70_000)).await.unwrap(),
            "renewed: still a's"
        );
        assert!(
            s.take_bot_lease("bot1", "b", ms(50_000), ms(80_000)).await.unwrap(),
            "ran out: b takes over"
        );
        s.release_bot_lease("bot1", "a").await.unwrap();
        assert!(
            !s.take_bot_lease("bot1", "a", ms(51_000), ms(81_000)).await.unwrap(),
            "a cannot release b's"
        );
        s.release_bot_lease("bot1", "b").await.unwrap();
        assert!(
            s.take_bot_lease("bot1", "a", ms(52_000), ms(82_000)).await.unwrap(),
            "released: free at once"
        );
    })
    .await;
}

#[tokio::test]
async fn console_users_link_to_one_wecom_member_each() {
    run_both(|s| async move {
        let act = |at: i64, target: &str| ConsoleAction::new(ms(at), "ops", "user.wecom", Some(target), "");
        let wecom = |u: &str| WeComUserId::parse(u).unwrap();
        s.create_setup_token("h", ms(0), ms(1_000)).await.unwrap();
        let UserCreated::Created(ops) = s
            .create_first_admin("h", &console_user("ops", Role::Admin), ms(1))
            .await
            .unwrap()
        else {
            panic!("first admin");
        };
        assert_eq!(ops.wecom_userid, None, "not linked until an admin links it");
        let created = ConsoleAction::new(ms(2), "ops", "user.create", Some("ann"), "");
        s.create_console_user(&console_user("ann", Role::Viewer), &created)
            .await
            .unwrap();
        assert_eq!(
            s.link_console_wecom("ann", Some(&wecom("ZhangSan")), &act(3, "ann"))
                .await
                .unwrap(),
            WeComLinked::Linked
        );
        let ann = s.console_user_by_wecom(&wecom("zhangsan")).await.unwrap().unwrap();
        assert_eq!(
            (ann.username.as_str(), ann.wecom_userid),
            ("ann", Some(wecom("ZhangSan"))),
            "found without case, kept as typed"
        );
        assert_eq!(
            s.link_console_wecom("ops", Some(&wecom("zhangSAN")), &act(4, "ops"))
                .await
                .unwrap(),
            WeComLinked::Taken("ann".into()),
            "one member, one account"
        );
        assert_eq!(
            s.console_user("ops").await.unwrap().unwrap().wecom_userid,
            None,
            "nothing written"
        );
        assert_eq!(
            s.link_console_wecom("ann", Some(&wecom("zhangsan")), &act(5, "ann"))
                .await
                .unwrap(),
            WeComLinked::Linked,
            "relinking a user to its own member is no conflict"
        );
        assert_eq!(
            s.link_console_wecom("zed", Some(&wecom("lisi")), &act(6, "zed"))
                .await
                .unwrap(),
            WeComLinked::NoSuchUser
        );
        assert_eq!(
            s.link_console_wecom("ann", None, &act(7, "ann")).await.unwrap(),
            WeComLinked::Linked
        );
        assert!(
            s.console_user_by_wecom(&wecom("zhangsan")).await.unwrap().is_none(),
            "unlinked"
        );
        assert_eq!(
            s.link_console_wecom("ops", Some(&wecom("zhangsan")), &act(8, "ops"))
                .await
                .unwrap(),
            WeComLinked::Linked,
            "free again once unlinked"
        );
        s.create_console_session("so", ops.id, ms(10), ms(100)).await.unwrap();
        assert_eq!(
            s.console_session("so", ms(50)).await.unwrap().unwrap().wecom_userid,
            Some(wecom("zhangsan")),
            "sessions read the link too"
        );
        let recorded = s
            .console_actions(&ConsoleActionFilter {
                actor: Some("ops".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        let targets: Vec<Option<&str>> = recorded
            .iter()
            .filter(|a| a.action == "user.wecom")
            .map(|a| a.target.as_deref())
            .collect();
        assert_eq!(
            targets,
            [Some("ops"), Some("ann"), Some("ann"), Some("ann")],
            "every stored change recorded, refusals not"
        );

        // Login states: spent once, never after they expire.
        s.create_console_login_state("st1", ms(0), ms(300)).await.unwrap();
        s.create_console_login_state("st2", ms(0), ms(300)).await.unwrap();
        assert!(s.take_console_login_state("st1", ms(299)).await.unwrap());
        assert!(!s.take_console_login_state("st1", ms(299)).await.unwrap(), "single use");
        assert!(!s.take_console_login_state("st2", ms(300)).await.unwrap(), "expired");
        assert!(!s.take_console_login_state("nope", ms(1)).await.unwrap());
        s.create_console_login_state("st3", ms(400), ms(700)).await.unwrap();
        assert!(s.take_console_login_state("st3", ms(500)).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn console_users_sessions_and_the_last_admin() {
    run_both(|s| async move {
        let act = |at: i64, what: &str, target: &str| ConsoleAction::new(ms(at), "ops", what, Some(target), "");
        s.create_setup_token("h", ms(0), ms(1_000)).await.unwrap();
        let UserCreated::Created(ops) = s
            .create_first_admin("h", &console_user("ops", Role::Admin), ms(1))
            .await
            .unwrap()
        else {
            panic!("first admin");
        };
        let UserCreated::Created(ann) = s
            .create_console_user(&console_user("ann", Role::Viewer), &act(2, "user.create", "ann"))
            .await
            .unwrap()
        else {
            panic!("created");
        };
        assert_eq!(
            s.create_console_user(&console_user("ann", Role::Admin), &act(3, "user.create", "ann"))
                .await
                .unwrap(),
            UserCreated::NameTaken
        );
        assert_eq!(
            s.console_user("ann").await.unwrap().unwrap().password_hash,
            "$argon2id$fake$ann"
        );
        assert_eq!(
            s.list_console_users()
                .await
                .unwrap()
                .iter()
                .map(|u| u.username.as_str())
                .collect::<Vec<_>>(),
            ["ann", "ops"]
        );

        s.create_console_session("sa", ann.id, ms(10), ms(100)).await.unwrap();
        s.create_console_session("so", ops.id, ms(10), ms(100)).await.unwrap();
        assert_eq!(s.console_session("sa", ms(99)).await.unwrap().unwrap().username, "ann");
        assert!(s.console_session("sa", ms(100)).await.unwrap().is_none(), "expired");
        assert!(s.console_session("nope", ms(50)).await.unwrap().is_none());

        assert_eq!(
            s.update_console_user("ops", Role::Operator, false, &act(20, "user.update", "ops"))
                .await
                .unwrap(),
            UserUpdated::LastAdmin,
            "the only admin cannot be demoted"
        );
        assert_eq!(
            s.console_user("ops").await.unwrap().unwrap().role,
            Role::Admin,
            "nothing written"
        );
        assert_eq!(
            s.update_console_user("ann", Role::Operator, true, &act(21, "user.update", "ann"))
                .await
                .unwrap(),
            UserUpdated::Updated
        );
        let ann_now = s.console_user("ann").await.unwrap().unwrap();
        assert_eq!((ann_now.role, ann_now.disabled_at), (Role::Operator, Some(ms(21))));
        assert!(
            s.console_session("sa", ms(50)).await.unwrap().is_none(),
            "disabling ends the sessions"
        );
        assert_eq!(
            s.update_console_user("zed", Role::Viewer, false, &act(22, "user.update", "zed"))
                .await
                .unwrap(),
            UserUpdated::NoSuchUser
        );

        assert!(s
            .set_console_password("ops", "$argon2id$new", &act(30, "user.password", "ops"))
            .await
            .unwrap());
        assert!(
            s.console_session("so", ms(50)).await.unwrap().is_none(),
            "a new password ends the sessions"
        );
        assert!(!s
            .set_console_password("zed", "x", &act(31, "user.password", "zed"))
            .await
            .unwrap());

        s.create_console_session("s2", ops.id, ms(40), ms(60)).await.unwrap();
        s.delete_console_session("s2").await.unwrap();
        assert!(s.console_session("s2", ms(50)).await.unwrap().is_none(), "logged out");
        s.create_console_session("s3", ops.id, ms(40), ms(60)).await.unwrap();
        assert_eq!(s.prune_console_sessions(ms(60)).await.unwrap(), 1);

        // Newest first, a page at a time by id, optionally of one actor.
        s.record_console_action(&ConsoleAction::new(ms(40), "cli", "setup.link", None, "printed"))
            .await
            .unwrap();
        let all = s
            .console_actions(&ConsoleActionFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        let names: Vec<&str> = all.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            names,
            [
                "setup.link",
                "user.password",
                "user.update",
                "user.create",
                "user.create"
            ]
        );
        let page = s
            .console_actions(&ConsoleActionFilter {
                actor: Some("ops".into()),
                before_id: Some(all[1].id),
                limit: 1,
            })
            .await
            .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].action, "user.update");
    })
    .await;
}

fn done(item: &InboxItem, completion: InboxCompletion) -> InboxDone {
    InboxDone {
        id: item.id,
        claim_token: item.claim_token.clone(),
        completion,
    }
}

fn finish(item: &DeliveryItem, result: DeliveryResult, at: i64, settle: Option<(UnixMs, UnixMs)>) -> DeliveryFinish {
    DeliveryFinish {
        id: item.id,
        claim_token: item.claim_token.clone(),
        destination: item.destination.clone(),
        result,
        audit: AuditEntry::new(
            AuditKind::Delivery,
            AuditOutcome::Delivered,
            ms(at),
            format!("d{}", item.id),
        ),
        settle,
    }
}

fn status(order: &str, status: &str, at: i64) -> OrderStateUpdate {
    OrderStateUpdate {
        app_id: app(),
        shop_id: shop(),
        order_sn: OrderSn::parse(order).unwrap(),
        status: status.into(),
        status_time: secs(at),
        ship_by_date: None,
    }
}

#[tokio::test]
async fn one_batch_writes_what_the_single_operations_would() {
    run_both(|s| async move {
        let of_order = |o: &str| {
            let mut p = push(o, 10);
            p.order_sn = Some(OrderSn::parse(o).unwrap());
            p
        };
        // An item claimed, its lease lapsed, claimed again: the first claim is stale.
        s.insert_pushes(&[of_order("o4")]).await.unwrap();
        let stale = s
            .claim_inbox(ms(20), Duration::from_secs(1), 10)
            .await
            .unwrap()
            .remove(0);
        let fresh = s.claim_inbox(ms(1_200), Duration::from_secs(1), 10).await.unwrap();
        assert_eq!(fresh.len(), 1);
        // Three items of three orders, claimed together.
        s.insert_pushes(&[of_order("o1"), of_order("o2"), of_order("o3")])
            .await
            .unwrap();
        let items = s.claim_inbox(ms(1_200), Duration::from_secs(1), 10).await.unwrap();
        assert_eq!(items.len(), 3);
        // One event with two deliveries, queued already, to finish in the batch.
        s.insert_event(
            NewEvent {
                event: event("queued"),
                deliveries: vec![delivery("robot:a"), delivery("robot:b")],
            },
            ms(0),
        )
        .await
        .unwrap();
        let claimed = s
            .claim_deliveries("r1", ms(0), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2);
        s.reserve_send(&dest("robot:a"), &[], ms(50)).await.unwrap();
        let mut stale_delivery = claimed[1].clone();
        stale_delivery.claim_token = "not-the-claim".into();

        let with_events = |keys: &[&str], updates: Vec<OrderStateUpdate>| InboxCompletion {
            state: InboxState::Done,
            events: keys
                .iter()
                .map(|k| NewEvent {
                    event: event(k),
                    deliveries: vec![delivery("wecom_app:hq")],
                })
                .collect(),
            order_updates: updates,
            note: None,
        };
        // A newer and then an older status of one order in one batch: the newer one stays.
        let batch = WriteBatch {
            pushes: vec![push("n1", 1_300), push("o1", 1_300), push("n1", 1_301)],
            completions: vec![
                done(&items[0], with_events(&["e1", "e2"], vec![status("o1", "SHIPPED", 90)])),
                // e2 again: one new event here, and the earlier item in the batch got e2.
                done(
                    &items[1],
                    with_events(&["e2", "e3"], vec![status("o1", "READY_TO_SHIP", 50)]),
                ),
                done(&stale, with_events(&["e4"], Vec::new())),
                done(
                    &items[2],
                    InboxCompletion {
                        state: InboxState::UnknownShop,
                        events: Vec::new(),
                        order_updates: Vec::new(),
                        note: Some("shop not configured".into()),
                    },
                ),
            ],
            retries: vec![InboxRetry {
                id: fresh[0].id,
                claim_token: fresh[0].claim_token.clone(),
                next_at: ms(9_000),
                error: "shopee unreachable".into(),
            }],
            sends: vec![SendReservation {
                destination: dest("wecom_app:hq"),
                members: vec!["zhangsan".into(), "lisi".into()],
                at: ms(1_300),
            }],
            finishes: vec![
                finish(&claimed[0], DeliveryResult::Delivered, 1_300, Some((ms(50), ms(1_250)))),
                finish(&stale_delivery, DeliveryResult::Delivered, 1_300, None),
            ],
            audits: vec![AuditEntry::new(
                AuditKind::Delivery,
                AuditOutcome::Paced,
                ms(1_300),
                "standalone",
            )],
            claims: Vec::new(),
            seals: Vec::new(),
        };
        let out = s.write_batch(&batch, ms(1_300)).await.unwrap();

        assert!(matches!(out.pushes[0], PushInsert::Stored(_)));
        assert_eq!(out.pushes[1], PushInsert::Duplicate, "stored before the batch");
        assert_eq!(out.pushes[2], PushInsert::Duplicate, "stored earlier in the batch");
        assert_eq!(out.completions, vec![Some(2), Some(1), None, Some(0)]);
        assert_eq!(out.finishes, vec![true, false]);

        let depths = s.queue_depths().await.unwrap();
        // n1, plus the retried item; the three completed ones are closed.
        assert_eq!(depths.inbox_pending, 2);
        // e1, e2, e3 to wecom_app:hq, and the queued event's second delivery (its claim did not hold).
        assert_eq!(depths.deliveries_pending, 4);
        assert_eq!(
            s.order_status(&app(), shop(), &OrderSn::parse("o1").unwrap())
                .await
                .unwrap(),
            Some(("SHIPPED".into(), secs(90)))
        );
        // The retried item waits for its time; nothing else is claimable but the new push.
        let due = s.claim_inbox(ms(5_000), Duration::from_secs(1), 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].dedupe_key, "n1");
        assert_eq!(
            s.claim_inbox(ms(9_000), Duration::from_secs(1), 10).await.unwrap()[0].id,
            fresh[0].id
        );
        // The send is settled at WeCom's answer; the reservation is counted per member.
        assert_eq!(
            s.count_sends(&dest("robot:a"), "*", ms(0)).await.unwrap(),
            (1, Some(ms(1_250)))
        );
        assert_eq!(
            s.count_sends(&dest("wecom_app:hq"), "*", ms(0)).await.unwrap(),
            (1, Some(ms(1_300)))
        );
        assert_eq!(
            s.count_sends(&dest("wecom_app:hq"), "lisi", ms(0)).await.unwrap(),
            (1, Some(ms(1_300)))
        );

        let audit = s.query_audit(&AuditFilter::default()).await.unwrap();
        let count = |kind: &str, outcome: AuditOutcome| {
            audit
                .iter()
                .filter(|a| a.kind.as_str() == kind && a.outcome == outcome)
                .count()
        };
        // o1..o4 before the batch, n1 in it.
        assert_eq!(count("push", AuditOutcome::Accepted), 5);
        assert_eq!(count("push", AuditOutcome::Duplicate), 2);
        assert_eq!(count("push", AuditOutcome::Processed), 2);
        assert_eq!(count("push", AuditOutcome::UnknownShop), 1);
        let unknown = audit.iter().find(|a| a.outcome == AuditOutcome::UnknownShop).unwrap();
        assert_eq!(unknown.detail, "0 new event(s); shop not configured");
        assert_eq!(unknown.order_sn.as_deref(), Some("o3"));
        assert_eq!(unknown.platform, Some(Platform::named("shopee")));
        // Both attempts are audited, the lost claim's too; and the standalone entry.
        assert_eq!(count("delivery", AuditOutcome::Delivered), 2);
        assert_eq!(count("delivery", AuditOutcome::Paced), 1);
        assert_eq!(
            s.write_batch(&WriteBatch::default(), ms(2_000)).await.unwrap(),
            WriteOutcome::default()
        );
    })
    .await;
}

/// Stores one order event for `buyer` with the order's status, as the inbox pipeline would.
async fn store_order(s: &SqlStore, key: &str, sn: &str, buyer: &str, status: &str, status_time: i64) {
    s.insert_pushes(&[push(key, 10)]).await.unwrap();
    let item = s
        .claim_inbox(ms(1_000), Duration::from_secs(1), 1)
        .await
        .unwrap()
        .remove(0);
    let completion = InboxCompletion {
        state: InboxState::Done,
        events: vec![NewEvent {
            event: order_event(key, sn, Some(buyer)),
            deliveries: Vec::new(),
        }],
        order_updates: vec![OrderStateUpdate {
            app_id: app(),
            shop_id: shop(),
            order_sn: order_sn(sn),
            status: status.into(),
            status_time: secs(status_time),
            ship_by_date: None,
        }],
        note: None,
    };
    s.complete_inbox(&item, completion, ms(1_000)).await.unwrap();
}

fn archive(f: impl FnOnce(&mut ArchiveQuery)) -> ArchiveQuery {
    let mut q = ArchiveQuery {
        limit: 100,
        scan: 100,
        ..Default::default()
    };
    f(&mut q);
    q
}

#[tokio::test]
async fn the_archive_is_searched_by_buyer_order_member_time_and_sealed_text() {
    run_both(|s| async move {
        let amy = s
            .file_buyer_message(&buyer_message("m1", "Where is my PARCEL?", 1_000), ms(1_000))
            .await
            .unwrap()
            .conversation;
        s.file_buyer_message(&buyer_message("m2", CHAT, 2_000), ms(2_000))
            .await
            .unwrap();
        let bob_message = NewBuyerMessage {
            thread: "conv-88".into(),
            buyer_id: "6601".into(),
            buyer_name: "buyer_bob".into(),
            ..buyer_message("m3", "parcel broken, =cmd|' /C calc'!A0", 3_000)
        };
        let bob = s
            .file_buyer_message(&bob_message, ms(3_000))
            .await
            .unwrap()
            .conversation;
        s.claim_conversation(bob.id, "lisi", "hq", ms(3_100)).await.unwrap();
        let reply = NewReply {
            conversation_id: amy.id,
            author: Author::Staff,
            sender: Some("zhangsan".into()),
            dedupe_key: "reply:1".into(),
            text: "已放门卫室".into(),
            rule: None,
            at: ms(4_000),
        };
        let reply_id = s.add_reply(&reply).await.unwrap().unwrap();
        s.finish_reply(
            reply_id,
            MessageOutcome::Failed,
            Some("not whitelisted"),
            None,
            ms(4_001),
        )
        .await
        .unwrap();
        store_order(&s, "o1", "AMY1", "Buyer_Amy", "SHIPPED", 500).await;
        store_order(&s, "o2", "AMY2", "buyer_amy", "READY_TO_SHIP", 600).await;

        let texts = |page: &ArchivePage| page.messages.iter().map(|m| m.message.text.clone()).collect::<Vec<_>>();
        let all = s.search_archive(&archive(|_| {})).await.unwrap();
        assert_eq!(all.messages.len(), 4);
        assert_eq!(all.next_after_id, None, "everything was looked at");
        assert_eq!(
            (all.messages[0].buyer_name.as_str(), all.messages[0].app_id.as_str()),
            ("buyer_amy", app().as_str()),
            "the buyer's name is opened"
        );
        // Sealed text matched case-insensitively, in any script.
        let parcel = s
            .search_archive(&archive(|q| q.text = Some("parcel".into())))
            .await
            .unwrap();
        assert_eq!(
            texts(&parcel),
            ["Where is my PARCEL?", "parcel broken, =cmd|' /C calc'!A0"]
        );
        let gate = s
            .search_archive(&archive(|q| q.text = Some("门卫室".into())))
            .await
            .unwrap();
        assert_eq!(texts(&gate), [CHAT, "已放门卫室"]);
        assert_eq!(gate.messages[1].message.note.as_deref(), Some("not whitelisted"));
        // By buyer, member (sender or holder), order, shop and time.
        let by_buyer = s
            .search_archive(&archive(|q| q.buyer_id = Some("6601".into())))
            .await
            .unwrap();
        assert_eq!(by_buyer.messages.len(), 1);
        let zhangsan = s
            .search_archive(&archive(|q| q.member = Some("zhangsan".into())))
            .await
            .unwrap();
        assert_eq!(texts(&zhangsan), ["已放门卫室"]);
        let lisi = s
            .search_archive(&archive(|q| q.member = Some("lisi".into())))
            .await
            .unwrap();
        assert_eq!(lisi.messages.len(), 1, "the conversation lisi holds");
        let order = s
            .search_archive(&archive(|q| q.order_sn = Some("AMY1".into())))
            .await
            .unwrap();
        assert_eq!(order.messages.len(), 3, "amy's conversation, found through her order");
        assert!(order.messages.iter().all(|m| m.message.conversation_id == amy.id));
        let no_order = s
            .search_archive(&archive(|q| q.order_sn = Some("NOPE".into())))
            .await
            .unwrap();
        assert!(no_order.messages.is_empty());
        let other_shop = ShopId::new(shop().get() + 1).unwrap();
        assert!(s
            .search_archive(&archive(|q| q.shop_id = Some(other_shop)))
            .await
            .unwrap()
            .messages
            .is_empty());
        let window = s
            .search_archive(&archive(|q| {
                q.from = Some(ms(2_000));
                q.to = Some(ms(4_000));
            }))
            .await
            .unwrap();
        assert_eq!(texts(&window), [CHAT, "parcel broken, =cmd|' /C calc'!A0"]);

        // Bounded: two messages opened per call, the cursor goes on from the last one looked at.
        let mut seen = Vec::new();
        let mut after = None;
        let mut calls = 0;
        loop {
            let page = s
                .search_archive(&archive(|q| {
                    q.text = Some("门卫".into());
                    q.scan = 2;
                    q.after_id = after;
                }))
                .await
                .unwrap();
            assert!(page.scanned <= 2);
            calls += 1;
            seen.extend(texts(&page));
            match page.next_after_id {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, [CHAT, "已放门卫室"]);
        assert_eq!(calls, 3, "4 messages, 2 per call, the last call finds the end");

        // The buyer's recent orders, newest first, with their status.
        let orders = s
            .buyer_recent_orders(app().as_str(), shop(), "buyer_amy", 5)
            .await
            .unwrap();
        let seen: Vec<(&str, &str)> = orders
            .iter()
            .map(|o| (o.order_sn.as_str(), o.status.as_str()))
            .collect();
        assert_eq!(seen, [("AMY2", "READY_TO_SHIP"), ("AMY1", "SHIPPED")]);
        assert_eq!(
            s.buyer_recent_orders(app().as_str(), shop(), "buyer_amy", 1)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(s
            .buyer_recent_orders(app().as_str(), shop(), "buyer_bob", 5)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_shops_chat_refusal_is_told_once_until_a_send_is_accepted() {
    run_both(|s| async move {
        let app = app();
        let refused = Some(("shopee.error_api_permission", "not whitelisted"));
        assert!(
            s.record_shop_chat(app.as_str(), shop(), refused, ms(100))
                .await
                .unwrap(),
            "told the first time"
        );
        assert!(
            !s.record_shop_chat(app.as_str(), shop(), refused, ms(200))
                .await
                .unwrap(),
            "and only once"
        );
        let chats = s.shop_chats().await.unwrap();
        assert_eq!(chats.len(), 1);
        assert_eq!(
            (
                chats[0].refused_code.as_deref(),
                chats[0].reason.as_deref(),
                chats[0].notified_at
            ),
            (
                Some("shopee.error_api_permission"),
                Some("not whitelisted"),
                Some(ms(100))
            )
        );
        assert!(!s.record_shop_chat(app.as_str(), shop(), None, ms(300)).await.unwrap());
        let cleared = &s.shop_chats().await.unwrap()[0];
        assert_eq!(
            (cleared.refused_code.as_deref(), cleared.notified_at, cleared.updated_at),
            (None, None, ms(300))
        );
        assert!(
            s.record_shop_chat(app.as_str(), shop(), refused, ms(400))
                .await
                .unwrap(),
            "refused again after it worked: told again"
        );
    })
    .await;
}

/// An order push of `order` received at `at`, processed into one event with a delivery to each of
/// `destinations`.
async fn order_pushed(s: &SqlStore, order: &str, at: i64, destinations: &[&str]) {
    let mut p = push(order, at);
    p.order_sn = Some(OrderSn::parse(order).unwrap());
    s.insert_pushes(&[p]).await.unwrap();
    let item = s
        .claim_inbox(ms(at), Duration::from_secs(60), 10)
        .await
        .unwrap()
        .remove(0);
    let mut e = event(order);
    e.order_sn = Some(OrderSn::parse(order).unwrap());
    let completion = InboxCompletion {
        state: InboxState::Done,
        events: vec![NewEvent {
            event: e,
            deliveries: destinations.iter().map(|d| delivery(d)).collect(),
        }],
        order_updates: Vec::new(),
        note: None,
    };
    s.complete_inbox(&item, completion, ms(at)).await.unwrap().unwrap();
}

/// Claims every due delivery and finishes each as `outcome` says for its order and destination:
/// `(outcome, errcode, at)`; returns how many were finished.
async fn deliver_all(
    s: &SqlStore,
    now: i64,
    outcome: impl Fn(&DeliveryItem) -> (DeliveryResult, Option<i64>, i64),
) -> usize {
    let mut done = 0;
    loop {
        let claimed = s
            .claim_deliveries("w", ms(now), Duration::from_secs(60), Duration::from_secs(15), 10)
            .await
            .unwrap();
        if claimed.is_empty() {
            return done;
        }
        for item in claimed {
            let (result, errcode, at) = outcome(&item);
            let audit_outcome = match result {
                DeliveryResult::Delivered => AuditOutcome::Delivered,
                DeliveryResult::Dead { .. } => AuditOutcome::Dead,
                _ => AuditOutcome::Retry,
            };
            let mut audit = AuditEntry::new(AuditKind::Delivery, audit_outcome, ms(at), "");
            audit.shop_id = item.shop_id;
            audit.order_sn = item.order_sn.clone();
            audit.destination = Some(item.destination.clone());
            audit.errcode = errcode;
            s.finish_delivery(&item, result, audit).await.unwrap();
            done += 1;
        }
    }
}

#[tokio::test]
async fn an_order_still_queued_counts_against_the_in_time_share_once_it_is_late() {
    run_both(|s| async move {
        const T: i64 = 1_796_119_200_000;
        order_pushed(&s, "ORDER1", T, &["wecom_app:hq"]).await;
        let finished = deliver_all(&s, T, |_| (DeliveryResult::Delivered, Some(0), T + 1_000)).await;
        assert_eq!(finished, 1);
        // Routed but never attempted: one to WeCom, one only to the seller's own system.
        order_pushed(&s, "ORDER2", T + 10_000, &["wecom_app:hq"]).await;
        order_pushed(&s, "ORDER3", T + 10_000, &["webhook:wms"]).await;
        let window = |to| dashboard::Window {
            from: ms(T),
            to: ms(to),
        };
        assert_eq!(
            s.orders_in_wecom_within(window(T + 100_000), Duration::from_secs(30))
                .await
                .unwrap(),
            dashboard::InTime { orders: 2, within: 1 },
            "ORDER2 has waited 90 s: a miss, not left out"
        );
        assert_eq!(
            s.orders_in_wecom_within(window(T + 35_000), Duration::from_secs(30))
                .await
                .unwrap(),
            dashboard::InTime { orders: 1, within: 1 },
            "ORDER2 has waited 25 s: not decided yet"
        );
        assert_eq!(
            s.orders_in_wecom_within(window(T + 100_000), Duration::MAX)
                .await
                .unwrap(),
            dashboard::InTime { orders: 1, within: 1 },
            "a threshold past any wait saturates instead of overflowing: ORDER2 is never late"
        );
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_computes_latency_failures_and_orders_in_time_from_the_audit_log() {
    run_both(|s| async move {
        const T: i64 = 1_796_119_200_000;
        order_pushed(&s, "ORDER1", T, &["wecom_app:hq", "webhook:wms"]).await;
        order_pushed(&s, "ORDER2", T + 500, &["wecom_app:hq"]).await;
        order_pushed(&s, "ORDER3", T + 61_000, &["robot:ops"]).await;
        // ORDER1: WeCom after 2 s, the webhook after 1 s. ORDER2: 10 s. ORDER3: throttled once, then 40 s.
        let attempts = std::sync::Mutex::new(0);
        let finished = deliver_all(&s, T + 61_000, |item| {
            let order = item.order_sn.clone().unwrap_or_default();
            match (order.as_str(), item.destination.to_string().as_str()) {
                ("ORDER1", "webhook:wms") => (DeliveryResult::Delivered, None, T + 1_000),
                ("ORDER1", _) => (DeliveryResult::Delivered, Some(0), T + 2_000),
                ("ORDER2", _) => (DeliveryResult::Delivered, Some(0), T + 10_500),
                _ => {
                    let mut n = attempts.lock().unwrap();
                    *n += 1;
                    if *n == 1 {
                        let retry = DeliveryResult::Retry {
                            at: ms(T + 61_000),
                            error: "45009".into(),
                        };
                        (retry, Some(45_009), T + 66_000)
                    } else {
                        (DeliveryResult::Delivered, Some(0), T + 101_000)
                    }
                }
            }
        })
        .await;
        assert_eq!(finished, 5);
        let window = dashboard::Window {
            from: ms(T),
            to: ms(T + 3_600_000),
        };

        // Latencies 1 s, 2 s, 10 s, 40 s: nearest rank p50 = 2nd, p95 = p99 = 4th.
        let latency = s.delivery_latency(window).await.unwrap().unwrap();
        assert_eq!(
            latency,
            dashboard::Percentiles {
                count: 4,
                p50: 2_000,
                p95: 40_000,
                p99: 40_000
            }
        );
        let by_shop = s.delivery_latency_by_shop(window).await.unwrap();
        assert_eq!(by_shop.len(), 1);
        assert_eq!(by_shop[0].shop_id, Some(727720655));
        assert_eq!(by_shop[0].latency, latency);
        assert_eq!(
            s.delivery_latency(dashboard::Window { from: ms(0), to: ms(T) })
                .await
                .unwrap(),
            None,
            "nothing delivered before T"
        );

        // Three order pushes reached WeCom (the webhook is not WeCom); ORDER3 took 40 s.
        let in_time = s.orders_in_wecom_within(window, Duration::from_secs(30)).await.unwrap();
        assert_eq!(in_time, dashboard::InTime { orders: 3, within: 2 });
        let tight = s
            .orders_in_wecom_within(window, Duration::from_millis(1_999))
            .await
            .unwrap();
        assert_eq!(tight, dashboard::InTime { orders: 3, within: 0 });
        let later = dashboard::Window {
            from: ms(T + 60_000),
            to: ms(T + 3_600_000),
        };
        assert_eq!(
            s.orders_in_wecom_within(later, Duration::from_secs(30)).await.unwrap(),
            dashboard::InTime { orders: 1, within: 0 }
        );

        let failures = s.delivery_failures(window).await.unwrap();
        assert_eq!(
            failures,
            vec![dashboard::FailureCount {
                destination_kind: dashboard::DestinationKind::Robot,
                errcode: Some(45_009),
                outcome: AuditOutcome::Retry,
                count: 1
            }]
        );
        let shops = s.shop_traffic(window).await.unwrap();
        assert_eq!(
            shops,
            vec![dashboard::ShopTraffic {
                shop_id: Some(727720655),
                pushes: 3,
                delivered: 4,
                failed: 1
            }]
        );

        // Minute 0: two pushes and three deliveries; minute 1: one push, one delivery (T + 101 s).
        let minutes = s.traffic_per_minute(window).await.unwrap();
        assert_eq!(
            minutes,
            vec![
                dashboard::MinuteCount {
                    minute: ms(T),
                    pushes: 2,
                    delivered: 3
                },
                dashboard::MinuteCount {
                    minute: ms(T + 60_000),
                    pushes: 1,
                    delivered: 1
                },
            ]
        );

        // The destination filter, and each attempt's message read back as sent.
        let to_hq = s
            .query_audit(&AuditFilter {
                destination: Some(dest("wecom_app:hq")),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(to_hq.len(), 2);
        assert!(to_hq.iter().all(|e| e.destination == Some(dest("wecom_app:hq"))));
        let sent = s.sent_message(to_hq[0].id).await.unwrap().unwrap();
        assert_eq!(sent.entry.id, to_hq[0].id);
        assert_eq!(sent.payload.as_deref(), Some("{\"msgtype\":\"text\"}"));
        let a_push = s
            .query_audit(&AuditFilter {
                kind: Some(AuditKind::Push),
                limit: Some(1),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(
            s.sent_message(a_push[0].id).await.unwrap(),
            None,
            "not a delivery attempt"
        );
    })
    .await;
}

/// An audit entry as raw SQL, with the push's receipt time a delivery attempt carries.
struct Row<'a> {
    at: i64,
    kind: &'a str,
    outcome: &'a str,
    shop: Option<i64>,
    destination: Option<&'a str>,
    errcode: Option<i64>,
    order: Option<&'a str>,
    received: Option<i64>,
}

impl Row<'_> {
    fn insert(&self) -> String {
        let int = |v: Option<i64>| v.map_or("NULL".to_owned(), |v| v.to_string());
        let text = |v: Option<&str>| v.map_or("NULL".to_owned(), |v| format!("'{v}'"));
        format!(
            "INSERT INTO audit (at, kind, outcome, shop_id, destination, errcode, order_sn, received_at, detail)
             VALUES ({}, '{}', '{}', {}, {}, {}, {}, {}, '')",
            self.at,
            self.kind,
            self.outcome,
            int(self.shop),
            text(self.destination),
            int(self.errcode),
            text(self.order),
            int(self.received)
        )
    }
}

/// Every figure the sums serve, over two windows: `[T, T + 2 h)` (whole hours) and `[T + 2.5 s, T + 2 h)`
/// (a partial first hour, read from the log). `late`: the two entries written after the first rollup.
async fn assert_dashboard_figures(s: &SqlStore, late: bool, stage: &str) {
    const T: i64 = 1_796_119_200_000;
    const HOUR: i64 = 3_600_000;
    let (a, b) = (727720655, 100);
    let whole = dashboard::Window {
        from: ms(T),
        to: ms(T + 2 * HOUR),
    };
    let part = dashboard::Window {
        from: ms(T + 2_500),
        to: ms(T + 2 * HOUR),
    };
    let p = |count, p50, p95, p99| dashboard::Percentiles { count, p50, p95, p99 };

    // Latencies 999, 1 005, 12 345, 123 456 ms (and the late 10 000) are counted as 999, 1 000, 12 300,
    // 123 000 (and 10 000): rounded down to three significant digits, at most 1 % below the true value.
    let latency = s.delivery_latency(whole).await.unwrap().unwrap();
    if late {
        assert_eq!(latency, p(5, 10_000, 123_000, 123_000), "{stage}");
    } else {
        assert_eq!(latency, p(4, 1_000, 123_000, 123_000), "{stage}");
        // The documented bound against the true nearest-rank values (1 005 and 123 456 ms).
        for (shown, truth) in [(latency.p50, 1_005), (latency.p95, 123_456)] {
            assert!(
                shown <= truth && truth - shown <= shown / 100,
                "{stage}: {shown} for {truth}"
            );
            assert_eq!(shown, dashboard::latency_bucket(truth), "{stage}");
        }
    }
    let by_shop: Vec<(Option<i64>, dashboard::Percentiles)> = s
        .delivery_latency_by_shop(whole)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.shop_id, l.latency))
        .collect();
    let shop_b = if late {
        p(3, 10_000, 123_000, 123_000)
    } else {
        p(2, 1_000, 123_000, 123_000)
    };
    assert_eq!(
        by_shop,
        vec![(Some(b), shop_b), (Some(a), p(2, 999, 12_300, 12_300))],
        "{stage}"
    );
    assert_eq!(
        s.delivery_latency(part).await.unwrap().unwrap(),
        if late {
            p(4, 10_000, 123_000, 123_000)
        } else {
            p(3, 12_300, 123_000, 123_000)
        },
        "{stage}: the first hour's first 2.5 s are left out"
    );

    let failure = |destination_kind, errcode, outcome| dashboard::FailureCount {
        destination_kind,
        errcode,
        outcome,
        count: 1,
    };
    assert_eq!(
        s.delivery_failures(whole).await.unwrap(),
        vec![
            failure(dashboard::DestinationKind::Robot, Some(45_009), AuditOutcome::Retry),
            failure(dashboard::DestinationKind::Webhook, None, AuditOutcome::Dead)
        ],
        "{stage}"
    );
    let mut shops = s.shop_traffic(whole).await.unwrap();
    // The backends order a NULL shop differently (SQLite first, PostgreSQL last).
    shops.sort_by_key(|t| t.shop_id);
    let traffic = |shop_id, pushes, delivered, failed| dashboard::ShopTraffic {
        shop_id,
        pushes,
        delivered,
        failed,
    };
    assert_eq!(
        shops,
        vec![
            traffic(None, 1, 0, 0),
            traffic(Some(b), 2, if late { 3 } else { 2 }, 1),
            traffic(Some(a), if late { 3 } else { 2 }, 2, 1),
        ],
        "{stage}"
    );
    let mut part_shops = s.shop_traffic(part).await.unwrap();
    part_shops.sort_by_key(|t| t.shop_id);
    assert_eq!(
        part_shops,
        vec![
            traffic(None, 1, 0, 0),
            traffic(Some(b), 2, if late { 3 } else { 2 }, 1),
            traffic(Some(a), 0, 1, 1),
        ],
        "{stage}: shop A's pushes and first delivery came before T + 2.5 s"
    );

    // O1 in 1 s, O2 in 12 s (after a retry), O4 only after 123 s until the late attempt reached WeCom in
    // 10 s; O3 went to a webhook only.
    let in_time = dashboard::InTime {
        orders: 3,
        within: if late { 3 } else { 2 },
    };
    assert_eq!(
        s.orders_in_wecom_within(whole, Duration::from_secs(30)).await.unwrap(),
        in_time,
        "{stage}"
    );
    assert_eq!(
        s.orders_in_wecom_within(whole, Duration::from_secs(5)).await.unwrap(),
        dashboard::InTime { orders: 3, within: 1 },
        "{stage}"
    );
    assert_eq!(
        s.orders_in_wecom_within(part, Duration::from_secs(30)).await.unwrap(),
        dashboard::InTime {
            orders: 1,
            within: if late { 1 } else { 0 }
        },
        "{stage}: only O4 was pushed after T + 2.5 s"
    );
}

#[tokio::test]
async fn the_dashboard_sums_sealed_entries_once_whatever_their_time_and_however_many_roll_up() {
    run_both_raw(|s, raw| async move {
        const T: i64 = 1_796_119_200_000;
        const HOUR: i64 = 3_600_000;
        let (a, b) = (Some(727720655), Some(100));
        let row = |at, kind, outcome, shop, destination, order, received| Row {
            at,
            kind,
            outcome,
            shop,
            destination,
            errcode: None,
            order,
            received,
        };
        let push = |at, shop| row(at, "push", "accepted", shop, None, None, None);
        let delivered = |at, shop, to, order, received| {
            row(at, "delivery", "delivered", shop, Some(to), Some(order), Some(received))
        };
        let entries = [
            push(T + 1_000, a),
            push(T + 2_000, a),
            push(T + 3_000, b),
            push(T + HOUR + 10_000, b),
            push(T + HOUR + 20_000, None),
            delivered(T + 1_999, a, "wecom_app:hq", "O1", T + 1_000),
            Row {
                errcode: Some(45_009),
                ..row(
                    T + 5_000,
                    "delivery",
                    "retry",
                    a,
                    Some("robot:ops"),
                    Some("O2"),
                    Some(T + 2_000),
                )
            },
            delivered(T + 14_345, a, "robot:ops", "O2", T + 2_000),
            delivered(T + 4_005, b, "webhook:wms", "O3", T + 3_000),
            row(
                T + HOUR + 1,
                "delivery",
                "dead",
                b,
                Some("webhook:wms"),
                Some("O3"),
                Some(T + 3_000),
            ),
            delivered(T + HOUR + 133_456, b, "appchat:hq:ops", "O4", T + HOUR + 10_000),
        ];
        for e in &entries {
            raw.exec(&e.insert()).await;
        }
        assert_dashboard_figures(&s, false, "unsealed").await;
        assert_eq!(s.roll_up_dashboard().await.unwrap(), 0, "nothing sealed yet");
        assert_eq!(s.seal_audit(1_000).await.unwrap(), entries.len());
        assert_dashboard_figures(&s, false, "sealed, not summed").await;
        assert_eq!(s.roll_up_dashboard().await.unwrap(), entries.len() as u64);
        assert_dashboard_figures(&s, false, "summed").await;
        assert_eq!(s.roll_up_dashboard().await.unwrap(), 0, "a second rollup adds nothing");
        assert_dashboard_figures(&s, false, "summed twice").await;

        // Written after their hours were summed: a push in the first hour, and O4's attempt to the app.
        raw.exec(&push(T + 500, a).insert()).await;
        raw.exec(&delivered(T + HOUR + 20_000, b, "wecom_app:hq", "O4", T + HOUR + 10_000).insert())
            .await;
        assert_dashboard_figures(&s, true, "late, unsealed").await;
        assert_eq!(s.seal_audit(1_000).await.unwrap(), 2);
        assert_dashboard_figures(&s, true, "late, sealed").await;
        // Three replicas at once: each sealed entry is summed by exactly one of them.
        let (x, y, z) = tokio::join!(s.roll_up_dashboard(), s.roll_up_dashboard(), s.roll_up_dashboard());
        assert_eq!(x.unwrap() + y.unwrap() + z.unwrap(), 2);
        assert_dashboard_figures(&s, true, "late, summed").await;
    })
    .await;
}

#[tokio::test]
async fn the_dashboards_order_rows_leave_with_the_audit_entries_retention_purges() {
    run_both_raw(|s, raw| async move {
        const T: i64 = 1_796_119_200_000;
        const HOUR: i64 = 3_600_000;
        let delivered = |at: i64, order: &'static str| Row {
            at,
            kind: "delivery",
            outcome: "delivered",
            shop: Some(100),
            destination: Some("wecom_app:hq"),
            errcode: None,
            order: Some(order),
            received: Some(at - 1_000),
        };
        raw.exec(&delivered(T + 2_000, "OLD").insert()).await;
        raw.exec(&delivered(T + 5 * HOUR, "NEW").insert()).await;
        assert_eq!(s.seal_audit(1_000).await.unwrap(), 2);
        assert_eq!(s.roll_up_dashboard().await.unwrap(), 2);
        let day = dashboard::Window {
            from: ms(T),
            to: ms(T + 24 * HOUR),
        };
        let in_time = s.orders_in_wecom_within(day, Duration::from_secs(30)).await.unwrap();
        assert_eq!((in_time.orders, in_time.within), (2, 2));

        // Retention takes the old entry; the order it named leaves the dashboard with it.
        assert_eq!(s.purge(RetentionTarget::Audit, ms(T + HOUR), 1_000).await.unwrap(), 1);
        let in_time = s.orders_in_wecom_within(day, Duration::from_secs(30)).await.unwrap();
        assert_eq!(
            (in_time.orders, in_time.within),
            (1, 1),
            "only the order still in the log"
        );
    })
    .await;
}

#[tokio::test]
async fn first_response_times_count_only_a_persons_sent_reply_per_wait() {
    run_both(|s| async move {
        let reply = |c: i64, author: Author, sender: Option<&str>, key: &str, at: i64| NewReply {
            conversation_id: c,
            author,
            sender: sender.map(str::to_owned),
            dedupe_key: key.into(),
            text: "好的".into(),
            rule: None,
            at: ms(at),
        };
        let answer = |r: NewReply, outcome: MessageOutcome| {
            let s = s.clone();
            async move {
                let id = s.add_reply(&r).await.unwrap().unwrap();
                s.finish_reply(id, outcome, None, None, r.at).await.unwrap();
            }
        };
        // Conversation 1: an automatic answer does not end the wait; zhangsan answers after 60 s. Then
        // two buyer messages in a row are one wait, answered by lisi 30 s after the first.
        let c1 = s
            .file_buyer_message(&buyer_message("m1", "在吗", 1_000), ms(1_000))
            .await
            .unwrap()
            .conversation
            .id;
        answer(reply(c1, Author::Auto, None, "a1", 1_010), MessageOutcome::Sent).await;
        answer(
            reply(c1, Author::Staff, Some("zhangsan"), "r1", 61_000),
            MessageOutcome::Sent,
        )
        .await;
        s.file_buyer_message(&buyer_message("m2", "发货了吗", 100_000), ms(100_000))
            .await
            .unwrap();
        s.file_buyer_message(&buyer_message("m3", "？", 110_000), ms(110_000))
            .await
            .unwrap();
        answer(
            reply(c1, Author::Staff, Some("lisi"), "r2", 130_000),
            MessageOutcome::Sent,
        )
        .await;
        // Conversation 2: answered by zhangsan after 90 s; then a wait whose only reply failed.
        let other = |key: &str, at: i64| NewBuyerMessage {
            thread: "conv-88".into(),
            ..buyer_message(key, "hello", at)
        };
        let c2 = s
            .file_buyer_message(&other("n1", 200_000), ms(200_000))
            .await
            .unwrap()
            .conversation
            .id;
        answer(
            reply(c2, Author::Staff, Some("zhangsan"), "r3", 290_000),
            MessageOutcome::Sent,
        )
        .await;
        s.file_buyer_message(&other("n2", 300_000), ms(300_000)).await.unwrap();
        answer(
            reply(c2, Author::Staff, Some("zhangsan"), "r4", 310_000),
            MessageOutcome::Failed,
        )
        .await;

        let times = s
            .first_response_times(dashboard::Window {
                from: ms(0),
                to: ms(1_000_000),
            })
            .await
            .unwrap();
        // Waits of 60 s, 30 s and 90 s: the median is 60 s.
        let overall = times.overall.clone().unwrap();
        assert_eq!((overall.answered, overall.median_ms), (3, 60_000));
        assert_eq!(times.unanswered, 1);
        let members: Vec<(String, i64, i64)> = times
            .per_member
            .iter()
            .map(|m| (m.key.clone(), m.answered, m.median_ms))
            .collect();
        assert_eq!(
            members,
            vec![("lisi".into(), 1, 30_000), ("zhangsan".into(), 2, 60_000)]
        );
        assert_eq!(times.per_shop.len(), 1);
        assert_eq!(
            (
                times.per_shop[0].key,
                times.per_shop[0].answered,
                times.per_shop[0].median_ms
            ),
            (727720655, 3, 60_000)
        );
        // A window that starts after the first conversation's waits sees only the second's.
        let late = s
            .first_response_times(dashboard::Window {
                from: ms(150_000),
                to: ms(1_000_000),
            })
            .await
            .unwrap();
        assert_eq!(late.overall.map(|m| (m.answered, m.median_ms)), Some((1, 90_000)));
    })
    .await;
}

#[tokio::test]
async fn api_tokens_are_found_by_hash_touched_and_revoked_once() {
    run_both(|s| async move {
        let act = |at: i64, what: &str| ConsoleAction::new(ms(at), "ops", what, Some("ci"), "");
        let new = |name: &str, hash: &str, scope| NewApiToken {
            name: name.into(),
            token_hash: hash.into(),
            scope,
            created_by: "ops".into(),
        };
        let TokenCreated::Created(ci) = s
            .create_api_token(&new("ci", "h-ci", TokenScope::Operate), &act(10, "token.create"))
            .await
            .unwrap()
        else {
            panic!("created");
        };
        assert_eq!(
            (
                ci.name.as_str(),
                ci.scope,
                ci.created_by.as_str(),
                ci.created_at,
                ci.last_used_at,
                ci.revoked_at
            ),
            ("ci", TokenScope::Operate, "ops", ms(10), None, None)
        );
        assert_eq!(
            s.create_api_token(&new("ci", "h-other", TokenScope::Admin), &act(11, "token.create"))
                .await
                .unwrap(),
            TokenCreated::NameTaken
        );
        assert!(s.api_token("h-other").await.unwrap().is_none(), "nothing written");
        assert_eq!(s.api_token("h-ci").await.unwrap().unwrap().id, ci.id);
        assert!(s.api_token("nope").await.unwrap().is_none());

        s.touch_api_token(ci.id, ms(50)).await.unwrap();
        s.touch_api_token(ci.id, ms(40)).await.unwrap();
        assert_eq!(
            s.api_token("h-ci").await.unwrap().unwrap().last_used_at,
            Some(ms(50)),
            "never moves back"
        );

        assert!(s.revoke_api_token(ci.id, &act(60, "token.revoke")).await.unwrap());
        assert!(
            !s.revoke_api_token(ci.id, &act(61, "token.revoke")).await.unwrap(),
            "once"
        );
        assert!(
            s.api_token("h-ci").await.unwrap().is_none(),
            "revoked tokens are not found"
        );
        let listed = s.list_api_tokens().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].revoked_at, Some(ms(60)));

        let recorded = s
            .console_actions(&ConsoleActionFilter {
                actor: Some("ops".into()),
                before_id: None,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(
            recorded.iter().map(|a| (a.action.as_str(), a.at)).collect::<Vec<_>>(),
            [("token.revoke", ms(60)), ("token.create", ms(10))],
            "each change recorded once, refusals not at all"
        );
    })
    .await;
}

#[tokio::test]
async fn a_shops_latest_seller_status_is_kept_and_an_older_report_changes_nothing() {
    run_both(|s| async move {
        assert_eq!(s.shop_standing(&app(), shop()).await.unwrap(), None);
        let report = |status: &str, reported_at: i64| ShopStanding {
            app_id: app(),
            shop_id: shop(),
            status: status.into(),
            reported_at: ms(reported_at),
            received_at: ms(reported_at + 5),
        };
        assert!(s.record_shop_standing(&report("close", 2_000)).await.unwrap());
        assert_eq!(
            s.shop_standing(&app(), shop()).await.unwrap(),
            Some(report("close", 2_000))
        );
        // Pushes come in any order: one stamped earlier than the kept one is not the shop's standing.
        assert!(!s.record_shop_standing(&report("normal", 1_000)).await.unwrap());
        assert_eq!(s.shop_standing(&app(), shop()).await.unwrap().unwrap().status, "close");
        assert!(s.record_shop_standing(&report("normal", 3_000)).await.unwrap());
        assert_eq!(
            s.shop_standing(&app(), shop()).await.unwrap(),
            Some(report("normal", 3_000))
        );
        // Another shop, or the same shop id of another app, has its own.
        let other = ShopId::new(shop().get() + 1).unwrap();
        assert_eq!(s.shop_standing(&app(), other).await.unwrap(), None);
        let other_app = ConfigId::parse("app-2").unwrap();
        assert_eq!(s.shop_standing(&other_app, shop()).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn a_card_code_is_found_by_what_the_card_is_about_and_spent_once() {
    run_both(|s| async move {
        let code =
            |delivery_id: i64, conversation_id: Option<i64>, task_ref: Option<i64>, issued_at: i64| NewCardCode {
                delivery_id,
                app_id: "hq".into(),
                task_id: format!("sr-d{delivery_id}"),
                conversation_id,
                task_ref,
                response_code: format!("code-{delivery_id}"),
                issued_at: ms(issued_at),
            };
        s.record_card_code(&code(1, Some(12), Some(5), 1_000), ms(0))
            .await
            .unwrap();
        s.record_card_code(&code(2, Some(12), None, 2_000), ms(0))
            .await
            .unwrap();
        s.record_card_code(&code(3, Some(13), None, 2_000), ms(0))
            .await
            .unwrap();
        // The same outbox row sent again (a retry after a lost answer) keeps its first code.
        let mut again = code(2, Some(12), None, 2_500);
        again.response_code = "second".into();
        s.record_card_code(&again, ms(0)).await.unwrap();
        let found = s.usable_card_codes(CardSubject::Conversation(12), ms(0)).await.unwrap();
        let codes: Vec<&str> = found.iter().map(|c| c.response_code.as_str()).collect();
        assert_eq!(codes, ["code-1", "code-2"], "oldest first, only conversation 12's");
        assert_eq!(found[0].task_id, "sr-d1");
        assert_eq!(found[0].app_id, "hq");
        assert_eq!(found[0].issued_at, ms(1_000));
        let by_task = s.usable_card_codes(CardSubject::Task(5), ms(0)).await.unwrap();
        assert_eq!(by_task.len(), 1);
        assert_eq!(by_task[0].id, found[0].id);
        // Too old to be taken: not offered.
        let recent = s
            .usable_card_codes(CardSubject::Conversation(12), ms(1_500))
            .await
            .unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].response_code, "code-2");
        // Spent once: the second spender (another process) is told no, and it is offered no more.
        assert!(s.spend_card_code(found[0].id, ms(3_000)).await.unwrap());
        assert!(!s.spend_card_code(found[0].id, ms(3_001)).await.unwrap());
        assert!(s
            .usable_card_codes(CardSubject::Task(5), ms(0))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            s.usable_card_codes(CardSubject::Conversation(12), ms(0))
                .await
                .unwrap()
                .len(),
            1
        );
        // Keeping a new code forgets those WeCom no longer takes.
        s.record_card_code(&code(4, Some(14), None, 9_000), ms(2_001))
            .await
            .unwrap();
        assert!(s
            .usable_card_codes(CardSubject::Conversation(12), ms(0))
            .await
            .unwrap()
            .is_empty());
        assert!(s
            .usable_card_codes(CardSubject::Conversation(13), ms(0))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            s.usable_card_codes(CardSubject::Conversation(14), ms(0))
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

/// Writes many pushes (past SQLite's default 1,000-page automatic checkpoint) while checkpoints run
/// beside the writes, as the checkpointer runs them; then checks every page reached the database file
/// and that a store opened again on the same database reads every push.
async fn writes_survive_checkpoints_beside_them(url: &str) {
    const PUSHES: usize = 3_000;
    let keys = secrets();
    let store = SqlStore::connect(url, keys.clone()).await.unwrap();
    let body = "x".repeat(2_000);
    let writes = async {
        for chunk in (0..PUSHES).collect::<Vec<_>>().chunks(200) {
            let pushes: Vec<NewPush> = chunk
                .iter()
                .map(|i| NewPush {
                    body: format!("{{\"k\":{i},\"pad\":\"{body}\"}}"),
                    ..push(&format!("wal-{i}"), 10)
                })
                .collect();
            let out = store.insert_pushes(&pushes).await.unwrap();
            assert!(out.iter().all(|o| matches!(o, PushInsert::Stored(_))));
        }
    };
    let checkpoints = async {
        for _ in 0..20 {
            store.checkpoint_wal().await.unwrap();
            tokio::task::yield_now().await;
        }
    };
    tokio::join!(writes, checkpoints);
    match store.checkpoint_wal().await.unwrap() {
        Some(done) => {
            assert!(!done.busy, "{done:?}");
            assert_eq!(done.checkpointed_pages, done.wal_pages, "{done:?}");
            assert!(url.starts_with("sqlite:"));
        }
        None => assert!(url.starts_with("postgres")),
    }
    store.close().await;
    let again = SqlStore::connect(url, keys).await.unwrap();
    assert_eq!(again.queue_depths().await.unwrap().inbox_pending, PUSHES as i64);
    let claimed = again.claim_inbox(ms(20), Duration::from_secs(1), 5).await.unwrap();
    assert!(claimed[0].body.contains(&body));
    again.close().await;
}

#[tokio::test]
async fn writes_survive_checkpoints_beside_them_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    writes_survive_checkpoints_beside_them(&format!("sqlite://{}", dir.path().join("t.db").display())).await;
    if let Some(url) = postgres_url().await {
        writes_survive_checkpoints_beside_them(&url).await;
    }
}
