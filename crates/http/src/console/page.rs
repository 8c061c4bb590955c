//! The frame every console page shares — navigation, language switch, logout — and the error box.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use shoprelay_core::error::{Lang, UserFacing};
use shoprelay_store::Role;

use super::{t, Authed};

/// Inline, because the page loads nothing else (the CSP allows inline styles, no scripts).
const CSS: &str = "
body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#1f2328;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header .grow{flex:1}
header form{display:inline;margin:0}header button{background:none;border:1px solid #888;color:#fff;border-radius:4px;cursor:pointer}
main{max-width:70rem;margin:1rem auto;padding:0 1rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin-bottom:1rem}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
label{display:block;margin:.4rem 0}input,select{padding:.3rem;min-width:16rem}
button{padding:.35rem .9rem}code{background:#eef1f4;padding:0 .25rem;border-radius:3px;word-break:break-all}
.nowrap{white-space:nowrap}td.detail{overflow-wrap:anywhere}
.err{border-left:4px solid #cf222e;background:#ffebe9;padding:.6rem;margin:.6rem 0}
.ok{border-left:4px solid #1a7f37;background:#dafbe1;padding:.6rem;margin:.6rem 0}
.step-ok::before{content:'✔ ';color:#1a7f37}.step-fail::before{content:'✘ ';color:#cf222e}
.diff del{background:#ffebe9;color:#cf222e;text-decoration:line-through}.diff ins{background:#dafbe1;color:#1a7f37;text-decoration:none}
.muted{color:#656d76}
";

/// A whole page: `title`, the navigation (when logged in) and `body`. `here` is the page's path, where
/// the language switch comes back to.
pub fn frame(lang: Lang, authed: Option<&Authed>, here: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t(lang, "zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · shoprelay" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a href="/console" { strong { "shoprelay" } }
                    @if let Some(a) = authed {
                        a href="/console/dashboard" { (t(lang, "仪表盘", "Dashboard")) }
                        a href="/console/onboarding" { (t(lang, "接入向导", "Onboarding")) }
                        a href="/console/entity" { (t(lang, "主体一致性", "Entity check")) }
                        a href="/console/audit" { (t(lang, "审计日志", "Audit log")) }
                        a href="/console/rules" { (t(lang, "规则", "Rules")) }
                        a href="/console/conversations" { (t(lang, "会话", "Conversations")) }
                        a href="/console/destinations" { (t(lang, "发送目标", "Destinations")) }
                        @if a.user.role.allows(Role::Admin) {
                            a href="/console/users" { (t(lang, "用户", "Users")) }
                            a href="/console/tokens" { (t(lang, "API 令牌", "API tokens")) }
                        }
                        a href="/console/actions" { (t(lang, "操作记录", "Console actions")) }
                    }
                    span.grow {}
                    a href={ "/console/lang/zh-CN?back=" (here) } { "中文" }
                    a href={ "/console/lang/en?back=" (here) } { "English" }
                    @if let Some(a) = authed {
                        span { (a.user.username) " (" (role_name(lang, a.user.role)) ")" }
                        form method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(a.csrf);
                            button type="submit" { (t(lang, "退出", "Log out")) }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A role in the page language.
pub fn role_name(lang: Lang, role: Role) -> &'static str {
    match (lang, role) {
        (Lang::Zh, r) => shoprelay_engine::service::console::role_zh(r),
        (Lang::En, r) => r.as_str(),
    }
}

/// An error's code and sentence, in the page language.
pub fn error_box(lang: Lang, err: &dyn UserFacing) -> Markup {
    html! {
        div.err role="alert" {
            strong { code { (err.code()) } } " " (lang.message(err))
        }
    }
}

/// A page holding only an error, with the error's status.
pub fn error_page<E: UserFacing + std::fmt::Debug>(lang: Lang, authed: Option<&Authed>, err: &E) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(error = ?err, code = err.code(), "console request failed");
    }
    let title = t(lang, "出错了", "Something went wrong");
    let body = html! {
        (error_box(lang, err))
        p { a href="/console" { (t(lang, "返回首页", "Back to the console")) } }
    };
    (status, Html(frame(lang, authed, "/console", title, body).into_string())).into_response()
}

/// A page answered 200.
pub fn ok_page(lang: Lang, authed: Option<&Authed>, here: &str, title: &str, body: Markup) -> Response {
    Html(frame(lang, authed, here, title, body).into_string()).into_response()
}

/// A unix-ms time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}
