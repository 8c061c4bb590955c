//! Query plans of the statements that change listed rows: each must find its rows by id, however long
//! the list. SQLite keeps no statistics here, and left to itself it searched an index on the state for
//! `id IN (…)` beside `state = 'pending'`, and turned a join to a VALUES list of 256 rows or more around —
//! reading the whole table (a million deliveries, the whole audit log) to change a few hundred rows. The
//! plan is what such a mistake changes, so the plan is what is checked here; how fast a statement runs is
//! the benchmark's business.

use shoprelay_core::secret::SecretBox;

use super::audit::seal_statement;
use super::batch::{close_inbox, finish_deliveries, push_inbox_claim, settle_sends};
use super::inbox::{claimable_inbox_sql, claimed_items_sql, COUNT_FAILED};
use super::outbox::push_delivery_claim;
use super::{Pool, SqlStore};

async fn sqlite_store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let secrets = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
    (SqlStore::connect(&url, secrets).await.unwrap(), dir)
}

/// A statement to be built whose plan, not its effect, [`plan`] reads.
fn explain<'a>() -> sqlx::QueryBuilder<'a, sqlx::Sqlite> {
    sqlx::QueryBuilder::new("EXPLAIN QUERY PLAN ")
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

/// Lists of these lengths: SQLite turned the joins around from 256 rows on.
const LENGTHS: [usize; 4] = [1, 64, 256, 1_000];

/// `WITH v(columns) AS (VALUES …)` of `n` rows of parameters cast to `types`, as the writer binds them.
fn values(columns: &str, types: &[&str], n: usize) -> String {
    let row = types
        .iter()
        .map(|t| format!("CAST(? AS {t})"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = vec![format!("({row})"); n].join(", ");
    format!("WITH v({columns}) AS (VALUES {rows}) ")
}

fn ids(n: usize) -> Vec<i64> {
    (1..=n as i64).collect()
}

#[tokio::test]
async fn inbox_claims_and_closes_find_their_items_by_id() {
    let (store, _dir) = sqlite_store().await;
    for n in LENGTHS {
        let mut claim = explain();
        push_inbox_claim(&mut claim, &ids(n), 2_000, "token".to_owned(), 1_000, &store);
        by_id(&plan(&store, claim).await, "i");

        let mut read = explain();
        read.push(claimed_items_sql(n, &store));
        by_id(&plan(&store, read).await, "inbox");

        let mut close = explain();
        close.push(values("id, token, state, note", &["BIGINT", "TEXT", "TEXT", "TEXT"], n));
        close.push(close_inbox(&store));
        by_id(&plan(&store, close).await, "inbox");
    }
}

/// Asserts that some step reads `table` (searching or in order) through `index`.
fn through(steps: &[String], table: &str, index: &str) {
    assert!(
        steps.iter().any(
            |s| (s.starts_with(&format!("SEARCH {table} ")) || s.starts_with(&format!("SCAN {table} ")))
                && (s.contains(&format!("INDEX {index} ")) || s.ends_with(&format!("INDEX {index}")))
        ),
        "{table} is not read through {index}: {steps:#?}"
    );
}

#[tokio::test]
async fn the_inbox_state_is_read_through_indexes_of_only_that_state() {
    let (store, _dir) = sqlite_store().await;
    // The pending items in order, and an order's older pending pushes, from the pending items only.
    let mut search = explain();
    search.push(claimable_inbox_sql(&store));
    let steps = plan(&store, search).await;
    through(&steps, "i", "inbox_pending");
    through(&steps, "o", "inbox_pending_order");
    for n in LENGTHS {
        let mut claim = explain();
        push_inbox_claim(&mut claim, &ids(n), 2_000, "token".to_owned(), 1_000, &store);
        through(&plan(&store, claim).await, "o", "inbox_pending_order");
    }
    // The failed pushes an operator replays.
    let mut failed = explain();
    failed.push(COUNT_FAILED);
    through(&plan(&store, failed).await, "inbox", "inbox_failed");
}

#[tokio::test]
async fn delivery_claims_and_results_find_their_deliveries_by_id() {
    let (store, _dir) = sqlite_store().await;
    for n in LENGTHS {
        let mut claim = explain();
        push_delivery_claim(&mut claim, &ids(n), 2_000, "token".to_owned(), 1_000, &store);
        by_id(&plan(&store, claim).await, "deliveries");

        let mut finish = explain();
        let types = ["BIGINT", "TEXT", "TEXT", "BIGINT", "TEXT", "BIGINT", "BIGINT"];
        finish.push(values("id, token, state, next_at, err, counted, at", &types, n));
        finish.push(finish_deliveries(&store));
        by_id(&plan(&store, finish).await, "deliveries");
    }
}

#[tokio::test]
async fn send_settlements_search_their_destinations_window() {
    let (store, _dir) = sqlite_store().await;
    for n in LENGTHS {
        let mut settle = explain();
        settle.push(values("d, r, s", &["TEXT", "BIGINT", "BIGINT"], n));
        settle.push(settle_sends(&store));
        let steps = plan(&store, settle).await;
        let sends: Vec<&String> = steps.iter().filter(|s| s.contains(" sends")).collect();
        assert!(
            !sends.is_empty() && sends.iter().all(|s| s.contains("INDEX sends_window (destination=?")),
            "sends is not searched by destination: {steps:#?}"
        );
    }
}

#[tokio::test]
async fn audit_seals_find_their_entries_by_id() {
    let (store, _dir) = sqlite_store().await;
    for n in LENGTHS {
        let mut seal = explain();
        seal.push(seal_statement(n, &store));
        by_id(&plan(&store, seal).await, "audit");
    }
}
