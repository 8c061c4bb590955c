//! Everyday read-only pages: `/console/rules` (each rule with its events, targets and counters) and
//! `/console/conversations` (buyer conversations, and one thread). Buyer names and words are shown as text
//! (maud escapes them).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use shoprelay_core::error::UserFacing;
use shoprelay_store::{Author, ConversationFilter, ConversationState};

use super::page::{error_page, ok_page, time};
use super::{t, Authed};
use crate::AppState;

/// `GET /console/rules`.
pub async fn rules(State(state): State<AppState>, authed: Authed) -> Response {
    let lang = authed.lang;
    let rules = match state.engine.rules().list().await {
        Ok(r) => r,
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let body = html! {
        p.muted { (t(lang,
            "编辑规则：PUT /api/v1/rules/{id} 或 shoprelay.toml + shoprelay apply（控制台编辑器尚未提供）。",
            "Edit rules with PUT /api/v1/rules/{id} or shoprelay.toml + shoprelay apply (no console editor yet).")) }
        table {
            tr { th { "id" } th { (t(lang, "启用", "Enabled")) } th { (t(lang, "事件", "Events")) } th { (t(lang, "目标", "Targets")) } th { (t(lang, "条件", "Condition")) } th { (t(lang, "计数", "Counters")) } }
            @for (rule, counters) in &rules {
                tr {
                    td { code { (rule.id) } }
                    td { @if rule.enabled { span.step-ok { (t(lang, "是", "yes")) } } @else { span.step-fail { (t(lang, "否", "no")) } } }
                    td { @for e in &rule.events { code { (e.as_str()) } " " } }
                    td { @for target in &rule.targets { @if let Ok(d) = target.destination() { code { (d.to_string()) } " " } } }
                    td { @if let Some(c) = &rule.when { code { (serde_json::to_string(c).unwrap_or_default()) } } }
                    td { @for (k, v) in counters { (k) ": " (v) br; } }
                }
            }
        }
        @if rules.is_empty() { p { (t(lang, "尚无规则。", "No rule yet.")) } }
    };
    ok_page(
        lang,
        Some(&authed),
        "/console/rules",
        t(lang, "消息规则", "Message rules"),
        body,
    )
}

/// Which conversations to list.
#[derive(Deserialize)]
pub struct ConversationsQuery {
    #[serde(default)]
    state: String,
}

fn state_name(lang: shoprelay_core::error::Lang, s: ConversationState) -> &'static str {
    match s {
        ConversationState::Open => t(lang, "待处理", "open"),
        ConversationState::Claimed => t(lang, "已认领", "claimed"),
        ConversationState::Resolved => t(lang, "已解决", "resolved"),
    }
}

/// `GET /console/conversations?state=`.
pub async fn conversations(
    State(state): State<AppState>,
    authed: Authed,
    Query(q): Query<ConversationsQuery>,
) -> Response {
    let lang = authed.lang;
    let filter = ConversationFilter {
        state: ConversationState::parse(q.state.trim()).ok(),
        limit: 200,
        ..ConversationFilter::default()
    };
    let list = match state.engine.conversations(&filter).await {
        Ok(l) => l,
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let body = html! {
        p {
            a href="/console/conversations" { (t(lang, "全部", "All")) } " · "
            @for s in [ConversationState::Open, ConversationState::Claimed, ConversationState::Resolved] {
                a href={ "/console/conversations?state=" (s.as_str()) } { (state_name(lang, s)) } " · "
            }
        }
        table {
            tr { th { "#" } th { (t(lang, "买家", "Buyer")) } th { (t(lang, "店铺", "Shop")) } th { (t(lang, "状态", "State")) } th { (t(lang, "处理人", "Holder")) } th { (t(lang, "买家最新消息", "Buyer's latest")) } }
            @for c in &list {
                tr {
                    td { a href={ "/console/conversations/" (c.id) } { "#" (c.id) } }
                    td { (c.buyer_name) }
                    td { (c.app_id) "/" (c.shop_id) }
                    td { (state_name(lang, c.state)) }
                    td { (c.holder.as_deref().unwrap_or("—")) }
                    td { (time(c.last_buyer_at)) }
                }
            }
        }
        @if list.is_empty() { p { (t(lang, "暂无会话。", "No conversation yet.")) } }
    };
    ok_page(
        lang,
        Some(&authed),
        "/console/conversations",
        t(lang, "买家会话", "Buyer conversations"),
        body,
    )
}

/// No conversation has this id.
#[derive(Debug, thiserror::Error)]
#[error("no conversation {0}")]
pub struct NoConversation(i64);

impl UserFacing for NoConversation {
    fn code(&self) -> &'static str {
        "conversation.not_found"
    }
    fn status(&self) -> u16 {
        404
    }
    fn message_zh(&self) -> String {
        format!("没有会话 #{}", self.0)
    }
    fn message_en(&self) -> String {
        format!("There is no conversation #{}", self.0)
    }
}

/// `GET /console/conversations/{id}`: the thread, oldest message first.
pub async fn thread(State(state): State<AppState>, authed: Authed, Path(id): Path<i64>) -> Response {
    let lang = authed.lang;
    let (c, messages) = match state.engine.conversation_thread(id, 500).await {
        Ok(Some(found)) => found,
        Ok(None) => return error_page(lang, Some(&authed), &NoConversation(id)),
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let body = html! {
        p { (t(lang, "买家：", "Buyer: ")) (c.buyer_name) " · " (state_name(lang, c.state)) " · " (t(lang, "处理人：", "Holder: ")) (c.holder.as_deref().unwrap_or("—")) }
        p.muted { (t(lang, "在企业微信中认领与回复（#编号 文字）。", "Claim and answer from WeCom (#id text).")) }
        table {
            @for m in &messages {
                tr {
                    td { (time(m.at)) }
                    td { @match m.author {
                        Author::Buyer => strong { (c.buyer_name) },
                        Author::Staff => span { (m.sender.as_deref().unwrap_or("staff")) },
                        Author::Auto => span.muted { (t(lang, "自动回复", "auto answer")) },
                    } }
                    td { (m.text) }
                    td.muted { (m.outcome.as_str()) }
                }
            }
        }
    };
    let title = format!("{} #{id}", t(lang, "会话", "Conversation"));
    ok_page(
        lang,
        Some(&authed),
        &format!("/console/conversations/{id}"),
        &title,
        body,
    )
}
