//! Tasks: items a rule assigned (分单) or wants acknowledged before it escalates. Listed and acknowledged
//! through `/api/v1/tasks` (the console), or by the recipient through the link in the message
//! (`/ack/{token}`, unguessable like a digest link).

use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use shoprelay_core::neutralize::html::escape;
use shoprelay_store::{Task, TaskState};

use crate::api::BadQuery;
use crate::error::ApiError;
use crate::AppState;

/// `GET /api/v1/tasks` filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// `open`, `escalated` or `acked`.
    #[param(value_type = Option<TaskState>)]
    state: Option<String>,
    /// At most this many (default 100, at most 1,000).
    limit: Option<i64>,
}

/// `GET /api/v1/tasks?state=open`: newest first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskQuery), responses(
    (status = 200, description = "Tasks, newest first", body = Vec<Task>),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<TaskQuery>, QueryRejection>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let Query(q) = query.map_err(|e| BadQuery(e.body_text()))?;
    let only = match q.state.as_deref() {
        None => None,
        Some(s) => {
            Some(TaskState::parse(s).ok_or_else(|| BadQuery(format!("state `{s}`: use open, escalated or acked")))?)
        }
    };
    Ok(Json(state.engine.tasks().list(only, q.limit).await?))
}

/// Who acknowledges.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AckBody {
    /// A name or userid, for the record.
    #[serde(default)]
    by: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/ack", tag = "tasks", params(("id" = i64, Path, description = "Task id")),
    request_body(content = Option<AckBody>, description = "Optional: who acknowledges"),
    responses(
        (status = 200, description = "The task, acknowledged", body = Task),
        (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `POST /api/v1/tasks/{id}/ack` with optional `{"by": "…"}`: acknowledged, so it does not escalate.
pub async fn ack(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Json<Task>, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| BadQuery(format!("task id `{id}` is not a number")))?;
    // The body is optional: an empty one acknowledges as "console".
    let by = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<AckBody>(&body)
            .map_err(|e| BadQuery(format!("body: {e}")))?
            .by
    };
    Ok(Json(state.engine.tasks().ack(id, by).await?))
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>\
         <title>{title}</title><body style='font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em'>{body}"
    ))
}

fn task_facts(task: &Task) -> String {
    let mut facts = format!("<p><b>{}</b></p>", escape(&task.summary));
    if let Some(who) = &task.assignee {
        facts.push_str(&format!("<p>负责人 Assigned to: {}</p>", escape(who)));
    }
    facts
}

/// `GET /ack/{token}`: what the task is, with a button to acknowledge it (a link preview or a crawler
/// opening the link must not acknowledge anything, so the button posts).
pub async fn ack_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let task = match state.engine.tasks().by_token(&token).await {
        Ok(Some(task)) => task,
        Ok(None) => return (StatusCode::NOT_FOUND, "task not found / 未找到该事项").into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "reading a task failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
        }
    };
    let facts = task_facts(&task);
    if task.state == TaskState::Acked {
        let by = task.acked_by.as_deref().unwrap_or("—");
        return page(
            "已确认 Acknowledged",
            &format!("<h2>已确认 · Acknowledged</h2>{facts}<p>确认人 By: {}</p>", escape(by)),
        )
        .into_response();
    }
    page(
        "确认处理 Acknowledge",
        &format!(
            "<h2>确认处理 · Acknowledge</h2>{facts}<form method=post>\
             <p><label>姓名 Name <input name=by value='{}'></label></p>\
             <p><button type=submit style='font-size:1.2em'>我来处理 I'm on it</button></p></form>",
            escape(task.assignee.as_deref().unwrap_or(""))
        ),
    )
    .into_response()
}

/// `POST /ack/{token}` (the page's button).
pub async fn ack_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<AckBody>, FormRejection>,
) -> Response {
    // A post without the form (a bare request) still acknowledges, as "link".
    let by = form.ok().and_then(|Form(b)| b.by);
    match state.engine.tasks().ack_link(token, by).await {
        Ok(Some(task)) => page(
            "已确认 Acknowledged",
            &format!(
                "<h2>已确认 · Acknowledged</h2>{}<p>不会再升级提醒。It will not escalate.</p>",
                task_facts(&task)
            ),
        )
        .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "task not found / 未找到该事项").into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "acknowledging a task failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
