//! Tasks: events a rule wants handled by someone — assigned (分单), acknowledged, escalated.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::route::AssignStrategy;

use super::{insert_event, notify, with_pool, with_read_pool, BeginWrite, SqlStore, OUTBOX_CHANNEL};
use crate::model::*;
use crate::store::{Result, Tasks};

const COLUMNS: &str = "id, rule_id, event_key, shop_id, order_sn, assignee, summary, token, state, created_at,
     escalate_at, acked_at, acked_by";

/// A [`Task`] as its row holds it: state not yet parsed, summary still sealed.
#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub(crate) id: i64,
    pub(crate) rule_id: String,
    pub(crate) event_key: String,
    pub(crate) shop_id: Option<i64>,
    pub(crate) order_sn: Option<String>,
    pub(crate) assignee: Option<String>,
    pub(crate) summary: String,
    pub(crate) token: String,
    pub(crate) state: String,
    pub(crate) created_at: i64,
    pub(crate) escalate_at: Option<i64>,
    pub(crate) acked_at: Option<i64>,
    pub(crate) acked_by: Option<String>,
}

/// Least-open counts only what was assigned this recently: an item nobody acknowledged for a day has
/// been handled some other way, and must not keep its assignee out of turn forever.
const OPEN_WINDOW: Duration = Duration::from_secs(24 * 3_600);

/// The candidate who waited longest since their last assignment (never assigned first), in list order
/// among equals.
fn round_robin(candidates: &[String], last: &HashMap<String, i64>) -> Option<String> {
    candidates
        .iter()
        .min_by_key(|c| last.get(*c).copied().unwrap_or(-1))
        .cloned()
}

/// The candidate with the fewest open items, in list order among equals.
fn least_open(candidates: &[String], open: &HashMap<String, i64>) -> Option<String> {
    candidates
        .iter()
        .min_by_key(|c| open.get(*c).copied().unwrap_or(0))
        .cloned()
}

#[async_trait]
impl Tasks for SqlStore {
    async fn open_task(&self, t: &NewTask, now: UnixMs) -> Result<Task> {
        let select = format!("SELECT {COLUMNS} FROM tasks WHERE rule_id = $1 AND event_key = $2");
        let insert = format!(
            "INSERT INTO tasks (rule_id, event_key, shop_id, order_sn, sticky_key, assignee, summary, token, state,
                 created_at, escalate_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10) RETURNING {COLUMNS}"
        );
        let token = uuid::Uuid::new_v4().simple().to_string();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if self.is_postgres() {
                // One assignment of a rule at a time across replicas, so turns and loads are read fresh.
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(&t.rule_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let existing: Option<TaskRow> = sqlx::query_as(&select)
                .bind(&t.rule_id)
                .bind(&t.event_key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(task) = existing {
                tx.commit().await?;
                return self.opened_task(task);
            }
            let mut assignee = None;
            if !t.candidates.is_empty() {
                if let Some(key) = &t.sticky_key {
                    // Rows from before hashing hold the key itself; they still count.
                    let recent: Vec<String> = sqlx::query_scalar(
                        "SELECT assignee FROM tasks WHERE sticky_key IN ($1, $2) AND assignee IS NOT NULL ORDER BY id DESC LIMIT 20",
                    )
                    .bind(self.sticky_hash(key))
                    .bind(key)
                    .fetch_all(&mut *tx)
                    .await?;
                    assignee = recent.into_iter().find(|a| t.candidates.contains(a));
                }
                if assignee.is_none() {
                    assignee = match t.strategy {
                        AssignStrategy::RoundRobin => {
                            let last: Vec<(String, i64)> = sqlx::query_as(
                                "SELECT assignee, MAX(id) FROM tasks WHERE rule_id = $1 AND assignee IS NOT NULL GROUP BY assignee",
                            )
                            .bind(&t.rule_id)
                            .fetch_all(&mut *tx)
                            .await?;
                            round_robin(&t.candidates, &last.into_iter().collect())
                        }
                        AssignStrategy::LeastOpen => {
                            let open: Vec<(String, i64)> = sqlx::query_as(
                                "SELECT assignee, COUNT(*) FROM tasks
                                 WHERE rule_id = $1 AND assignee IS NOT NULL AND state IN ('open', 'escalated')
                                   AND created_at > $2
                                 GROUP BY assignee",
                            )
                            .bind(&t.rule_id)
                            .bind((now - OPEN_WINDOW).as_millis())
                            .fetch_all(&mut *tx)
                            .await?;
                            least_open(&t.candidates, &open.into_iter().collect())
                        }
                    };
                }
            }
            let task: TaskRow = sqlx::query_as(&insert)
                .bind(&t.rule_id)
                .bind(&t.event_key)
                .bind(t.shop_id)
                .bind(t.order_sn.as_deref())
                .bind(t.sticky_key.as_deref().map(|k| self.sticky_hash(k)))
                .bind(assignee.as_deref())
                .bind(self.seal_pii(&t.summary))
                .bind(&token)
                .bind(now.as_millis())
                .bind(t.escalate_at.map(UnixMs::as_millis))
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            self.opened_task(task)
        })
    }

    async fn ack_task(&self, task: &TaskRef, by: &str, now: UnixMs) -> Result<Option<Task>> {
        let (update, select) = match task {
            TaskRef::Id(_) => (
                "UPDATE tasks SET state = 'acked', acked_at = $1, acked_by = $2 WHERE id = $3 AND state IN ('open', 'escalated')",
                format!("SELECT {COLUMNS} FROM tasks WHERE id = $1"),
            ),
            TaskRef::Token(_) => (
                "UPDATE tasks SET state = 'acked', acked_at = $1, acked_by = $2 WHERE token = $3 AND state IN ('open', 'escalated')",
                format!("SELECT {COLUMNS} FROM tasks WHERE token = $1"),
            ),
        };
        let found: Option<TaskRow> = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let update = sqlx::query(update).bind(now.as_millis()).bind(by);
            match task {
                TaskRef::Id(id) => update.bind(*id).execute(&mut *tx).await?,
                TaskRef::Token(token) => update.bind(token).execute(&mut *tx).await?,
            };
            let select = sqlx::query_as(&select);
            let found: Option<TaskRow> = match task {
                TaskRef::Id(id) => select.bind(*id).fetch_optional(&mut *tx).await?,
                TaskRef::Token(token) => select.bind(token).fetch_optional(&mut *tx).await?,
            };
            tx.commit().await?;
            found
        });
        found.map(|t| self.opened_task(t)).transpose()
    }

    async fn task_by_token(&self, token: &str) -> Result<Option<Task>> {
        let sql = format!("SELECT {COLUMNS} FROM tasks WHERE token = $1");
        let found: Option<TaskRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(token).fetch_optional(pool).await?
        });
        found.map(|t| self.opened_task(t)).transpose()
    }

    async fn due_escalations(&self, now: UnixMs, limit: i64) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM tasks WHERE state = 'open' AND escalate_at IS NOT NULL AND escalate_at <= $1
             ORDER BY escalate_at LIMIT $2"
        );
        let due: Vec<TaskRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(now.as_millis()).bind(limit).fetch_all(pool).await?
        });
        due.into_iter().map(|t| self.opened_task(t)).collect()
    }

    async fn escalate_task(&self, task_id: i64, event: NewEvent, now: UnixMs) -> Result<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let moved = sqlx::query("UPDATE tasks SET state = 'escalated' WHERE id = $1 AND state = 'open'")
                .bind(task_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if moved == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            let inbox: Option<i64> = None;
            insert_event!(self, tx, inbox, &event, now.as_millis());
            notify!(self, tx, OUTBOX_CHANNEL);
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn list_tasks(&self, state: Option<TaskState>, limit: i64) -> Result<Vec<Task>> {
        let sql = format!("SELECT {COLUMNS} FROM tasks WHERE ($1 IS NULL OR state = $1) ORDER BY id DESC LIMIT $2");
        let tasks: Vec<TaskRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(state.map(TaskState::as_str)).bind(limit).fetch_all(pool).await?
        });
        tasks.into_iter().map(|t| self.opened_task(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn round_robin_prefers_never_then_longest_waiting() {
        let c = names(&["a", "b", "c"]);
        let mut last = HashMap::new();
        assert_eq!(round_robin(&c, &last).as_deref(), Some("a"));
        last.insert("a".to_owned(), 5);
        assert_eq!(round_robin(&c, &last).as_deref(), Some("b"));
        last.insert("b".to_owned(), 6);
        last.insert("c".to_owned(), 7);
        assert_eq!(round_robin(&c, &last).as_deref(), Some("a"));
    }

    #[test]
    fn least_open_takes_the_lightest_load_first_in_list_order() {
        let c = names(&["a", "b"]);
        let mut open = HashMap::new();
        assert_eq!(least_open(&c, &open).as_deref(), Some("a"));
        open.insert("a".to_owned(), 2);
        open.insert("b".to_owned(), 1);
        assert_eq!(least_open(&c, &open).as_deref(), Some("b"));
    }
}
