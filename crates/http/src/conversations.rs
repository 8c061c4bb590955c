//! `/api/v1/conversations`: buyer conversations and their messages (the chat archive), as JSON.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ShopId;
use shoprelay_store::{Conversation, ConversationFilter, ConversationMessage, ConversationState};

use crate::api::{authorize, BadQuery};
use crate::error::ApiError;
use crate::AppState;

/// No conversation has this id.
#[derive(Debug, thiserror::Error)]
#[error("no conversation {0}")]
pub struct ConversationNotFound(i64);

impl UserFacing for ConversationNotFound {
    fn code(&self) -> &'static str {
        "conversation.not_found"
    }
    fn status(&self) -> u16 {
        404
    }
    fn message_zh(&self) -> String {
        format!("没有会话 #{}；GET /api/v1/conversations 可列出全部", self.0)
    }
    fn message_en(&self) -> String {
        format!(
            "There is no conversation #{}; GET /api/v1/conversations lists them",
            self.0
        )
    }
}

/// The listing's query, before it is read into a filter.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    shop_id: Option<u64>,
    holder: Option<String>,
    state: Option<String>,
    buyer_id: Option<String>,
    since: Option<i64>,
    limit: Option<i64>,
}

impl ListQuery {
    fn filter(self) -> Result<ConversationFilter, BadQuery> {
        let shop_id = self
            .shop_id
            .map(|s| ShopId::new(s).map_err(|e| BadQuery(format!("shop_id: {e}"))))
            .transpose()?;
        let state = self
            .state
            .map(|s| {
                ConversationState::parse(&s).map_err(|_| BadQuery(format!("state `{s}` (open, claimed, resolved)")))
            })
            .transpose()?;
        Ok(ConversationFilter {
            shop_id,
            holder: self.holder,
            state,
            buyer_id: self.buyer_id,
            since: self.since,
            limit: self.limit.unwrap_or(100),
        })
    }
}

/// `GET /api/v1/conversations?shop_id&holder&state&buyer_id&since&limit` — newest buyer message first.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Conversation>>, ApiError> {
    authorize(&state, &headers)?;
    let Query(query) = query.map_err(|e| BadQuery(e.body_text()))?;
    Ok(Json(state.engine.conversations(&query.filter()?).await?))
}

/// A conversation with its messages.
#[derive(Debug, Serialize)]
pub struct Thread {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Its messages, oldest first (the latest 500).
    pub messages: Vec<ConversationMessage>,
}

/// `GET /api/v1/conversations/{id}` — the conversation and its latest messages.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Thread>, ApiError> {
    authorize(&state, &headers)?;
    match state.engine.conversation_thread(id, 500).await? {
        Some((conversation, messages)) => Ok(Json(Thread { conversation, messages })),
        None => Err(ConversationNotFound(id).into()),
    }
}
