//! `/api/v1/conversations`: buyer conversations and their messages (the chat archive), as JSON.

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use shoprelay_clock::UnixMs;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ShopId;
use shoprelay_engine::conversation_export::ExportFormat;
use shoprelay_engine::service::archive::Export;
use shoprelay_store::{
    ArchivePage, ArchiveQuery, BuyerOrder, Conversation, ConversationFilter, ConversationMessage, ConversationState,
};

use crate::api::BadQuery;
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Of this shop.
    shop_id: Option<u64>,
    /// Held by this member (WeCom userid).
    holder: Option<String>,
    /// `open`, `claimed` or `resolved`.
    #[param(value_type = Option<ConversationState>)]
    state: Option<String>,
    /// With this buyer (their id at the marketplace).
    buyer_id: Option<String>,
    /// With a buyer message at or after this time (unix ms).
    since: Option<i64>,
    /// At most this many (default 100).
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
            since: self.since.map(UnixMs::from_millis),
            limit: self.limit.unwrap_or(100),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ListQuery), responses(
    (status = 200, description = "Conversations, newest buyer message first", body = Vec<Conversation>),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `GET /api/v1/conversations?shop_id&holder&state&buyer_id&since&limit` — newest buyer message first.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Conversation>>, ApiError> {
    let Query(query) = query.map_err(|e| BadQuery(e.body_text()))?;
    Ok(Json(state.engine.conversations().list(&query.filter()?).await?))
}

/// A conversation with its messages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Thread {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Its messages, oldest first (the latest 500).
    pub messages: Vec<ConversationMessage>,
    /// The buyer's latest orders in the shop with their status, newest first.
    pub orders: Vec<BuyerOrder>,
}

/// Orders shown beside a conversation.
const ORDERS_SHOWN: i64 = 5;

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = i64, Path, description = "Conversation id")), responses(
    (status = 200, description = "The conversation with its messages and the buyer's orders", body = Thread),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `GET /api/v1/conversations/{id}` — the conversation, its latest messages and the buyer's latest orders.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Thread>, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| BadQuery(format!("conversation id `{id}` is not a number")))?;
    match state.engine.conversations().thread(id, 500).await? {
        Some((conversation, messages)) => {
            let orders = state.engine.archive().buyer_orders(&conversation, ORDERS_SHOWN).await?;
            Ok(Json(Thread {
                conversation,
                messages,
                orders,
            }))
        }
        None => Err(ConversationNotFound(id).into()),
    }
}

/// The archive's query (search and export), before it is read.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArchiveParams {
    /// Of this shop.
    shop_id: Option<u64>,
    /// With this buyer (their id at the marketplace).
    buyer_id: Option<String>,
    /// Mentioning this order.
    order_sn: Option<String>,
    /// Written or held by this member.
    member: Option<String>,
    /// Containing this phrase (at most 200 characters).
    text: Option<String>,
    /// At or after (unix ms).
    from: Option<i64>,
    /// Before (unix ms).
    to: Option<i64>,
    /// After this message id (the next page).
    after_id: Option<i64>,
    /// At most this many.
    limit: Option<i64>,
    /// At most this many messages opened for one page.
    scan: Option<i64>,
    /// Export only: `csv` (default) or `jsonl`.
    #[param(pattern = "^(csv|jsonl)$")]
    format: Option<String>,
}

/// Longest text searched for: a search is a phrase, not a document.
const MAX_TEXT: usize = 200;

impl ArchiveParams {
    fn query(&self) -> Result<ArchiveQuery, BadQuery> {
        let shop_id = self
            .shop_id
            .map(|s| ShopId::new(s).map_err(|e| BadQuery(format!("shop_id: {e}"))))
            .transpose()?;
        if self.text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
            return Err(BadQuery(format!("text: at most {MAX_TEXT} characters")));
        }
        Ok(ArchiveQuery {
            shop_id,
            buyer_id: self.buyer_id.clone(),
            order_sn: self.order_sn.clone(),
            member: self.member.clone(),
            text: self.text.clone(),
            from: self.from.map(UnixMs::from_millis),
            to: self.to.map(UnixMs::from_millis),
            after_id: self.after_id,
            limit: self.limit.unwrap_or(100),
            scan: self.scan.unwrap_or(shoprelay_store::archive::MAX_SCAN),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/conversations/search", tag = "conversations", params(ArchiveParams), responses(
    (status = 200, description = "Matching messages, oldest first, and where the next page starts", body = ArchivePage),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `GET /api/v1/conversations/search?shop_id&buyer_id&order_sn&member&text&from&to&after_id&limit&scan` —
/// matching messages oldest first, with `next_after_id` to ask for the next page.
pub async fn search(
    State(state): State<AppState>,
    query: Result<Query<ArchiveParams>, QueryRejection>,
) -> Result<Json<ArchivePage>, ApiError> {
    let Query(params) = query.map_err(|e| BadQuery(e.body_text()))?;
    Ok(Json(state.engine.archive().search(&params.query()?).await?))
}

#[utoipa::path(get, path = "/api/v1/conversations/export", tag = "conversations", params(ArchiveParams), responses(
    (status = 200, description = "Every matching message", content(
        (String = "text/csv"),
        (String = "application/x-ndjson"),
    )),
    (status = "4XX", description = "Refused: `{code, message, message_en}`", body = crate::openapi::ErrorBodyDoc),
))]
/// `GET /api/v1/conversations/export?format=csv|jsonl&…the search's filters` — every matching message,
/// streamed a page at a time (the archive may be large).
pub async fn export(
    State(state): State<AppState>,
    query: Result<Query<ArchiveParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query.map_err(|e| BadQuery(e.body_text()))?;
    let format = ExportFormat::parse(params.format.as_deref().unwrap_or("csv"))?;
    let archive_query = params.query()?;
    let mut export = Export::new(archive_query, format);
    // The first page is read before answering, so a failing database is an error answer, not a cut body.
    let first = state
        .engine
        .archive()
        .export_chunk(&mut export)
        .await?
        .unwrap_or_default();
    let engine = state.engine.clone();
    let rest = futures::stream::unfold((engine, export), |(engine, mut export)| async move {
        match engine.archive().export_chunk(&mut export).await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), (engine, export))),
            Ok(None) => None,
            Err(e) => {
                // Headers are gone: breaking the body off is how the client learns the export is incomplete.
                tracing::error!(error = ?e, "conversation export failed part-way");
                Some((Err(std::io::Error::other(e.to_string())), (engine, export)))
            }
        }
    });
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) }).chain(rest);
    let name = match format {
        ExportFormat::Csv => "conversations.csv",
        ExportFormat::Jsonl => "conversations.jsonl",
    };
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
