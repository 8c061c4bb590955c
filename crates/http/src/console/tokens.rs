//! `/console/tokens` (admins): API tokens for automation — made with a name and a scope (the token is shown
//! once, then only its hash is kept), listed with when each was last used, and revoked. Each change is
//! recorded in the console actions.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use shoprelay_core::error::Lang;
use shoprelay_engine::service::console::require;
use shoprelay_store::{ApiTokenRecord, Role, TokenScope};

use super::page::{error_page, ok_page, time};
use super::{t, Authed, FormError, Posted};
use crate::AppState;

fn scope_name(lang: Lang, scope: TokenScope) -> &'static str {
    match scope {
        TokenScope::Read => t(lang, "只读（read：仅 GET）", "read (GET only)"),
        TokenScope::Operate => t(
            lang,
            "运营（operate：另可重投死信、确认事项、删除买家数据、试运行规则）",
            "operate (also replay, acknowledge, forget buyers, dry-run rules)",
        ),
        TokenScope::Admin => t(
            lang,
            "管理员（admin：全部，含规则与数据策略）",
            "admin (everything, rules and data policies included)",
        ),
    }
}

fn listing(lang: Lang, authed: &Authed, tokens: &[ApiTokenRecord], created: Option<(&str, &str)>) -> Markup {
    html! {
        @if let Some((name, token)) = created {
            div.ok role="status" {
                p { (t(lang, "已创建令牌 ", "Token created: ")) strong { (name) } }
                p { code id="new-token" { (token) } }
                p { strong { (t(lang, "请立即复制：此令牌只显示这一次，服务器只保存其哈希。",
                    "Copy it now: it is shown this once; the server keeps only its hash.")) } }
            }
        }
        section {
            h2 { (t(lang, "创建令牌", "Create a token")) }
            form method="post" action="/console/tokens" {
                input type="hidden" name="csrf" value=(authed.csrf);
                label { (t(lang, "名称（说明用途，如 ci-deploy）", "Name (what uses it, e.g. ci-deploy)")) " "
                    input type="text" name="name" required maxlength="64" pattern="[A-Za-z0-9._-]+"; }
                label { (t(lang, "权限范围", "Scope")) " "
                    select name="scope" {
                        @for scope in TokenScope::ALL { option value=(scope.as_str()) { (scope_name(lang, scope)) } }
                    }
                }
                button type="submit" { (t(lang, "创建", "Create")) }
            }
            p.muted { (t(lang, "使用方式：请求头 Authorization: Bearer <令牌>。", "Use: send Authorization: Bearer <token>.")) }
        }
        table {
            tr {
                th { "#" } th { (t(lang, "名称", "Name")) } th { (t(lang, "权限范围", "Scope")) }
                th { (t(lang, "创建", "Created")) } th { (t(lang, "最近使用", "Last used")) } th { (t(lang, "状态", "State")) } th {}
            }
            @for token in tokens {
                tr {
                    td { (token.id) }
                    td { (token.name) }
                    td { (token.scope.as_str()) }
                    td { (time(token.created_at.as_millis())) br; span.muted { (token.created_by) } }
                    td { @if let Some(at) = token.last_used_at { (time(at.as_millis())) } @else { "—" } }
                    td {
                        @if let Some(at) = token.revoked_at { span.step-fail { (t(lang, "已吊销 ", "revoked ")) (time(at.as_millis())) } }
                        @else { span.step-ok { (t(lang, "有效", "active")) } }
                    }
                    td {
                        @if token.revoked_at.is_none() {
                            form method="post" action={ "/console/tokens/" (token.id) "/revoke" } {
                                input type="hidden" name="csrf" value=(authed.csrf);
                                button type="submit" { (t(lang, "吊销", "Revoke")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn render(state: &AppState, authed: &Authed, created: Option<(&str, &str)>) -> Response {
    let lang = authed.lang;
    let tokens = match state.engine.api_tokens().list().await {
        Ok(tokens) => tokens,
        Err(err) => return error_page(lang, Some(authed), &err),
    };
    ok_page(
        lang,
        Some(authed),
        "/console/tokens",
        t(lang, "API 令牌", "API tokens"),
        listing(lang, authed, &tokens, created),
    )
}

/// `GET /console/tokens` (admins).
pub async fn page(State(state): State<AppState>, authed: Authed) -> Response {
    if let Err(err) = require(&authed.user, Role::Admin) {
        return error_page(authed.lang, Some(&authed), &err);
    }
    render(&state, &authed, None).await
}

/// A token to create.
#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
    scope: String,
}

/// `POST /console/tokens` (admins): the token is made and shown in the answer, once.
pub async fn create(State(state): State<AppState>, posted: Posted<CreateForm>) -> Response {
    let Posted { authed, form } = posted;
    let lang = authed.lang;
    if let Err(err) = require(&authed.user, Role::Admin) {
        return error_page(lang, Some(&authed), &err);
    }
    let Some(scope) = TokenScope::parse(&form.scope) else {
        return error_page(
            lang,
            Some(&authed),
            &FormError::Unreadable(format!("scope `{}`", form.scope)),
        );
    };
    match state
        .engine
        .api_tokens()
        .create(&form.name, scope, &authed.user.username)
        .await
    {
        Ok((record, token)) => render(&state, &authed, Some((&record.name, token.expose()))).await,
        Err(err) => error_page(lang, Some(&authed), &err),
    }
}

/// `POST /console/tokens/{id}/revoke` (admins).
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<super::accounts::Empty>,
) -> Response {
    let authed = posted.authed;
    let lang = authed.lang;
    if let Err(err) = require(&authed.user, Role::Admin) {
        return error_page(lang, Some(&authed), &err);
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, Some(&authed), &FormError::Unreadable(format!("token id `{id}`")));
    };
    match state.engine.api_tokens().revoke(id, &authed.user.username).await {
        Ok(()) => Redirect::to("/console/tokens").into_response(),
        Err(err) => error_page(lang, Some(&authed), &err),
    }
}
