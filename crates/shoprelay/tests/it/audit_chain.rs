//! The audit log as evidence: every push and delivery attempt is sealed into a hash chain, and a
//! changed or removed entry is found and named.

use shoprelay_store::chain::{verify_stored, ChainBreak};
use shoprelay_store::AuditKind;

use crate::helpers::*;

async fn tamper(app: &TestApp, sql: &str) {
    let url = format!("sqlite://{}", app.database_path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let changed = sqlx::query(sql).execute(&pool).await.unwrap().rows_affected();
    assert_eq!(changed, 1, "{sql}");
    pool.close().await;
}

#[tokio::test]
async fn the_audit_chain_covers_the_pipeline_and_names_the_first_broken_link() {
    let app = spawn_authorized_with_rules("").await;
    app.create_order("READY_TO_SHIP").await;
    app.create_order("UNPAID").await;
    app.dispatch_until_settled().await;
    let store = app.server.engine.store();

    let verdict = verify_stored(store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(verdict.broken, None);
    assert!(
        verdict.checked >= 6,
        "pushes, deliveries and the authorization: {verdict:?}"
    );
    assert_eq!(verdict.checked as i64, verdict.head.seq);
    let all = store.sealed_audit_page(0, 1_000).await.unwrap();
    assert!(
        all.iter().any(|r| r.entry.kind == AuditKind::Push) && all.iter().any(|r| r.entry.kind == AuditKind::Delivery)
    );

    // Someone removes the newest entry, then rewrites an old one to hide a delivery.
    tamper(&app, &format!("DELETE FROM audit WHERE seq = {}", verdict.head.seq)).await;
    let cut = verify_stored(store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(cut.broken, Some(ChainBreak::Missing { seq: verdict.head.seq }));
    tamper(&app, "UPDATE audit SET outcome = 'delivered' WHERE seq = 3").await;
    let altered = verify_stored(store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(
        altered.broken,
        Some(ChainBreak::Altered {
            seq: 3,
            audit_id: all[2].entry.id
        })
    );
    assert_eq!(altered.checked, 2);
}
