//! Tasks: items a rule assigned or wants acknowledged before it escalates, listed and acknowledged — by
//! id from the console, or by the unguessable key of the link in the message.

use shoprelay_clock::SharedClock;
use shoprelay_core::error::UserFacing;
use shoprelay_store::{Task, TaskRef, TaskState, Tasks};

use crate::chat::Chat;
use crate::{Engine, EngineError};

/// Tasks listed by default, and at most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1_000;

/// Why acknowledging a task failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No task has this id.
    #[error("no task {0}")]
    NotFound(i64),
    /// Storage failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<shoprelay_store::StoreError> for TaskError {
    fn from(err: shoprelay_store::StoreError) -> Self {
        Self::Engine(err.into())
    }
}

impl UserFacing for TaskError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "task.not_found",
            Self::Engine(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Engine(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::NotFound(id) => format!("没有编号为 {id} 的待处理事项；GET /api/v1/tasks 可列出全部"),
            Self::Engine(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::NotFound(id) => format!("There is no task {id}; GET /api/v1/tasks lists them"),
            Self::Engine(e) => e.message_en(),
        }
    }
}

/// Lists and acknowledges tasks.
pub struct TaskService<'a> {
    tasks: &'a dyn Tasks,
    clock: &'a SharedClock,
    chat: &'a Chat,
}

impl<'a> TaskService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            tasks: &*engine.store,
            clock: &engine.clock,
            chat: &engine.chat,
        }
    }

    /// Tasks newest first, of one state when given; `limit` defaults to 100 and is held to 1–1,000.
    pub async fn list(&self, state: Option<TaskState>, limit: Option<i64>) -> Result<Vec<Task>, EngineError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        Ok(self.tasks.list_tasks(state, limit).await?)
    }

    /// The task behind an acknowledgement link.
    pub async fn by_token(&self, token: &str) -> Result<Option<Task>, EngineError> {
        Ok(self.tasks.task_by_token(token).await?)
    }

    /// Acknowledges a task from the console (idempotent), so it does not escalate; `by` names who, for
    /// the record (`console` when nobody is named).
    pub async fn ack(&self, id: i64, by: Option<String>) -> Result<Task, TaskError> {
        let task = self
            .ack_as(&TaskRef::Id(id), who(by, "console"))
            .await?
            .ok_or(TaskError::NotFound(id))?;
        self.update_cards(&task).await;
        Ok(task)
    }

    /// Updates the task cards already sent to show who acknowledged it (logged when it cannot: the
    /// acknowledgement stands).
    async fn update_cards(&self, task: &Task) {
        let by = task.acked_by.as_deref().unwrap_or("console");
        let change = crate::chat::sent_cards::ConsoleChange::TaskAcked(by);
        if let Err(err) = self
            .chat
            .update_sent_cards(shoprelay_store::CardSubject::Task(task.id), change)
            .await
        {
            tracing::warn!(task = task.id, error = %err, "task cards not updated after a console acknowledgement");
        }
    }

    /// Acknowledges the task behind a link (`link` when nobody is named); `None` when there is none.
    pub async fn ack_link(&self, token: String, by: Option<String>) -> Result<Option<Task>, EngineError> {
        Ok(self.ack_as(&TaskRef::Token(token), who(by, "link")).await?)
    }

    async fn ack_as(&self, task: &TaskRef, by: String) -> Result<Option<Task>, shoprelay_store::StoreError> {
        self.tasks.ack_task(task, &by, self.clock.now()).await
    }
}

/// Who acknowledged, as recorded: the name given, trimmed to 64 characters, else `fallback`.
fn who(by: Option<String>, fallback: &str) -> String {
    by.map(|b| b.trim().chars().take(64).collect::<String>())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

#[cfg(test)]
mod tests {
    use super::who;

    #[test]
    fn the_acknowledger_is_named_briefly_or_by_where_it_came_from() {
        assert_eq!(who(Some("  王五 ".into()), "console"), "王五");
        assert_eq!(who(Some("   ".into()), "link"), "link");
        assert_eq!(who(None, "console"), "console");
        assert_eq!(who(Some("x".repeat(100)), "link").chars().count(), 64);
    }
}
