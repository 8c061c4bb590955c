//! `/console/conversations`: buyer conversations, and one thread with claim, resolve and hand off — the
//! same code path as the WeCom text commands and card buttons, acting as the WeCom member the console user
//! names (remembered), audited and recorded as console actions. Buyer names and words are shown as text
//! (maud escapes them).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::{ConfigId, WeComUserId};
use shoprelay_engine::chat::Action;
use shoprelay_store::{Author, ConversationFilter, ConversationState, MessageOutcome};

use super::page::{error_box, error_page, ok_page, time};
use super::{t, Authed, Posted};
use crate::AppState;

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

/// A message's outcome in the page language.
fn outcome_name(lang: shoprelay_core::error::Lang, outcome: MessageOutcome) -> &'static str {
    match outcome {
        MessageOutcome::Received => t(lang, "已收到", "received"),
        MessageOutcome::Sending => t(lang, "发送中", "sending"),
        MessageOutcome::Sent => t(lang, "已发出", "sent"),
        MessageOutcome::Failed => t(lang, "发送失败", "failed"),
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
    let list = match state.engine.conversations().list(&filter).await {
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
                    td { (time(c.last_buyer_at.as_millis())) }
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

/// `GET /console/conversations/{id}`: the thread, oldest message first, with the actions.
pub async fn thread(State(state): State<AppState>, authed: Authed, Path(id): Path<i64>) -> Response {
    render_thread(&state, &authed, id, None).await
}

/// The form's WeCom member was not given or is not a WeCom userid.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// No WeCom app is configured, or the one named is not.
    #[error("no WeCom app to act through")]
    NoApp,
    /// The member is not a WeCom userid.
    #[error("`{0}` is not a WeCom userid")]
    BadMember(String),
}

impl UserFacing for ActError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoApp => "conversation.no_wecom_app",
            Self::BadMember(_) => "conversation.bad_member",
        }
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        match self {
            Self::NoApp => "没有可用的企业微信应用：请先在接入向导中连接企业微信".into(),
            Self::BadMember(m) => format!("「{m}」不是企业微信成员账号（userid）：请填写通讯录中成员详情的「账号」"),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::NoApp => "No WeCom app to act through: connect WeCom in the onboarding first".into(),
            Self::BadMember(m) => format!("`{m}` is not a WeCom userid: enter the member's account from the contacts"),
        }
    }
}

/// The claim, resolve and hand-off form.
#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    app: String,
}

/// `POST /console/conversations/{id}/act`: claim, resolve or hand off as the WeCom member named
/// (operators and admins), then the thread again with what happened.
pub async fn act(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted<ActForm>) -> Response {
    let Posted { authed, form } = posted;
    let lang = authed.lang;
    let action = match form.action.as_str() {
        "claim" => Action::Claim,
        "resolve" => Action::Resolve,
        _ => Action::HandOff,
    };
    let registry = state.engine.registry();
    let Some(app) = ConfigId::parse(form.app.trim())
        .ok()
        .filter(|a| registry.wecom_apps.contains_key(a))
    else {
        return render_thread(&state, &authed, id, Some(error_box(lang, &ActError::NoApp))).await;
    };
    // The console user stands for themselves when they name no member (a userid is often the login).
    let named = if form.member.trim().is_empty() {
        authed.user.username.as_str()
    } else {
        form.member.trim()
    };
    let Ok(member) = WeComUserId::parse(named) else {
        let err = ActError::BadMember(named.to_owned());
        return render_thread(&state, &authed, id, Some(error_box(lang, &err))).await;
    };
    let note = match state
        .engine
        .conversations()
        .act(&authed.user, &app, &member, action, id, lang)
        .await
    {
        Ok(done) if done.changed => html! { div.ok role="status" { (done.told) } },
        Ok(done) => html! { div.err role="alert" { (done.told) } },
        Err(err) => error_box(lang, &err),
    };
    render_thread(&state, &authed, id, Some(note)).await
}

async fn render_thread(state: &AppState, authed: &Authed, id: i64, note: Option<Markup>) -> Response {
    let lang = authed.lang;
    let (c, messages) = match state.engine.conversations().thread(id, 500).await {
        Ok(Some(found)) => found,
        Ok(None) => return error_page(lang, Some(authed), &NoConversation(id)),
        Err(err) => return error_page(lang, Some(authed), &err),
    };
    let registry = state.engine.registry();
    let mut apps: Vec<&ConfigId> = registry.wecom_apps.keys().collect();
    apps.sort();
    let remembered = state
        .engine
        .conversations()
        .console_member(&authed.user.username)
        .await
        .ok()
        .flatten();
    let member = remembered
        .as_ref()
        .map_or_else(|| authed.user.username.clone(), |(_, m)| m.to_string());
    let chosen_app = c
        .holder_app
        .clone()
        .or_else(|| remembered.as_ref().map(|(a, _)| a.to_string()))
        .unwrap_or_default();
    let body = html! {
        @if let Some(note) = note { (note) }
        p { (t(lang, "买家：", "Buyer: ")) (c.buyer_name) " · " span id="state" { (state_name(lang, c.state)) } " · " (t(lang, "处理人：", "Holder: ")) (c.holder.as_deref().unwrap_or("—")) }
        form method="post" action={ "/console/conversations/" (id) "/act" } {
            input type="hidden" name="csrf" value=(authed.csrf);
            label { (t(lang, "以企业微信成员身份（userid）", "As WeCom member (userid)")) " " input type="text" name="member" value=(member); }
            label { (t(lang, "企业微信应用", "WeCom app")) " "
                select name="app" { @for a in &apps { option value=(a) selected[a.as_str() == chosen_app] { (a) } } } }
            button type="submit" name="action" value="claim" { (t(lang, "认领", "Claim")) } " "
            button type="submit" name="action" value="resolve" { (t(lang, "已处理", "Resolve")) } " "
            button type="submit" name="action" value="handoff" { (t(lang, "转出", "Hand off")) }
        }
        p.muted { (t(lang, "也可在企业微信中认领与回复（#编号 文字）。", "Or claim and answer from WeCom (#id text).")) }
        table {
            @for m in &messages {
                tr {
                    td { (time(m.at.as_millis())) }
                    td { @match m.author {
                        Author::Buyer => strong { (c.buyer_name) },
                        Author::Staff => span { (m.sender.as_deref().unwrap_or("staff")) },
                        Author::Auto => span.muted { (t(lang, "自动回复", "auto answer")) },
                    } }
                    td { (m.text) }
                    td.muted { (outcome_name(lang, m.outcome)) }
                }
            }
        }
    };
    let title = format!("{} #{id}", t(lang, "会话", "Conversation"));
    ok_page(
        lang,
        Some(authed),
        &format!("/console/conversations/{id}"),
        &title,
        body,
    )
}
