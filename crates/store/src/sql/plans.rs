//! Query plans of the statements that change listed rows: each must find its rows by id. SQLite has
//! no statistics to go by and, given `id IN (…)` or a join by id beside `state = 'pending'`, preferred
//! an index on the state — reading the whole backlog (a million deliveries, 100,000 pushes) to change
//! a few hundred rows. The plan is what such a mistake changes, so the plan is what is checked here;
//! how fast a claim runs is the benchmark's business.

use shoprelay_core::secret::SecretBox;

use super::audit::seal_statement;
use super::batch::{push_inbox_claim, push_inbox_fence};
use super::outbox::push_delivery_claim;
use super::{Pool, SqlStore};

async fn sqlite_store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let secrets = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
    (SqlStore::connect(&url, secrets).await.unwrap(), dir)
}

/// The plan's steps (`EXPLAIN QUERY PLAN`'s `detail` column) of the statement built on `q`.
async fn plan(store: &SqlStore, mut q: sqlx::QueryBuilder<'_, sqlx::Sqlite>) -> Vec<String> {
    let Pool::Sqlite { write, .. } = &store.pool else {
        unreachable!("a SQLite store")
    };
    let rows: Vec<(i64, i64, i64, String)> = q.build_query_as().fetch_all(write).await.unwrap();
    rows.into_iter().map(|(_, _, _, detail)| detail).collect()
}

/// Asserts that every step reading `table` (named as written, e.g. `inbox` or its alias `i`) looks
/// rows up by the primary key, and that there is at least one such step.
fn by_id(steps: &[String], table: &str) {
    let reads: Vec<&String> = steps
        .iter()
        .filter(|s| s.starts_with(&format!("SEARCH {table} ")) || s.starts_with(&format!("SCAN {table}")))
        .collect();
    assert!(!reads.is_empty(), "no step reads {table}: {steps:#?}");
    for step in reads {
        assert!(
            step.contains("INTEGER PRIMARY KEY"),
            "{table} is not read by id: {steps:#?}"
        );
    }
}

#[tokio::test]
async fn inbox_fences_and_claims_find_their_items_by_id() {
    let (store, _dir) = sqlite_store().await;
    let mut fence = sqlx::QueryBuilder::new("EXPLAIN QUERY PLAN ");
    push_inbox_fence(&mut fence, &[1, 2, 3], store.by_id_only());
    by_id(&plan(&store, fence).await, "inbox");

    let mut claim = sqlx::QueryBuilder::new("EXPLAIN QUERY PLAN ");
    push_inbox_claim(
        &mut claim,
        &[1, 2, 3],
        2_000,
        "token".to_owned(),
        1_000,
        store.by_id_only(),
    );
    by_id(&plan(&store, claim).await, "i");
}

#[tokio::test]
async fn delivery_claims_find_their_deliveries_by_id() {
    let (store, _dir) = sqlite_store().await;
    let mut claim = sqlx::QueryBuilder::new("EXPLAIN QUERY PLAN ");
    push_delivery_claim(&mut claim, &[1, 2, 3], 2_000, "token".to_owned(), 1_000, &store);
    by_id(&plan(&store, claim).await, "deliveries");
}

#[tokio::test]
async fn audit_seals_find_their_entries_by_id() {
    let (store, _dir) = sqlite_store().await;
    let mut seal = sqlx::QueryBuilder::new("EXPLAIN QUERY PLAN ");
    seal.push(seal_statement(2, store.by_id_only()));
    by_id(&plan(&store, seal).await, "audit");
}
