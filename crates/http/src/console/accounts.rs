//! Accounts: the first admin through the one-time setup link, login and logout, users and roles (admins),
//! passwords, the language switch, and the record of every change made through the console.

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use shoprelay_core::audit_text::localize;
use shoprelay_core::error::{Lang, UserFacing};
use shoprelay_engine::service::console::{csrf_token, new_token, ConsoleError, MIN_PASSWORD_CHARS, WECOM_LOGIN_TTL};
use shoprelay_store::Role;

use super::page::{error_box, frame, ok_page, role_name, time};
use super::{
    console_error, cookie, lang_of, session_max_age, set_cookie, set_wecom_login_cookie, t, with_cookies, Authed,
    Posted, PrePosted, LANG_COOKIE, PRE_COOKIE, SESSION_COOKIE, WECOM_LOGIN_COOKIE,
};
use crate::AppState;

/// The session of the request, if it has a valid one (for pages that also serve visitors).
async fn authed_of(state: &AppState, headers: &HeaderMap) -> Option<Authed> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let user = state.engine.console().session(token).await.ok()??;
    Some(Authed {
        user,
        csrf: csrf_token(token),
        lang: lang_of(headers),
    })
}

/// `GET /console`: the overview for a logged-in user; the setup notice while no admin exists; else login.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let Some(authed) = authed_of(&state, &headers).await else {
        return match state.engine.console().needs_setup().await {
            Ok(true) => setup_notice(lang),
            Ok(false) => Redirect::to("/console/login").into_response(),
            Err(err) => console_error(lang, None, &err),
        };
    };
    let body = html! {
        section {
            h2 { (t(lang, "开始使用", "Getting started")) }
            ol {
                li { a href="/console/onboarding" { (t(lang, "接入向导：连接企业微信与店铺，测试连接", "Onboarding: connect WeCom and shops, test the connection")) } }
                li { a href="/console/entity" { (t(lang, "主体一致性检查：店铺营业执照主体与企业微信认证主体是否一致", "Entity check: the shop's licensed company vs the verified WeCom company")) } }
                li { a href="/console/audit" { (t(lang, "审计日志：每一次推送与投递", "Audit log: every push and delivery attempt")) } }
            }
        }
        section {
            h2 { (t(lang, "修改我的密码", "Change my password")) }
            (password_form(lang, &authed, &authed.user.username))
        }
    };
    ok_page(lang, Some(&authed), "/console", t(lang, "控制台", "Console"), body)
}

fn setup_notice(lang: Lang) -> Response {
    let body = html! {
        section {
            p { (t(lang,
                "尚未创建管理员。请使用 shoprelay 首次启动时打印的一次性初始化链接，或在服务器上运行 `shoprelay console setup-link` 生成新链接。",
                "No admin exists yet. Open the one-time setup link shoprelay printed at its first start, or run `shoprelay console setup-link` on the server for a new one.")) }
        }
    };
    ok_page(lang, None, "/console", t(lang, "初始化", "Setup"), body)
}

fn password_form(lang: Lang, authed: &Authed, username: &str) -> Markup {
    html! {
        form method="post" action="/console/password" {
            input type="hidden" name="csrf" value=(authed.csrf);
            input type="hidden" name="username" value=(username);
            label { (t(lang, "新密码", "New password")) " "
                input type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; }
            button type="submit" { (t(lang, "保存", "Save")) }
        }
    }
}

/// The pre-session secret of the login and setup forms: the cookie's, or a fresh one to set.
fn pre_secret(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, PRE_COOKIE) {
        Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => (v.to_owned(), false),
        _ => (new_token().expose().to_owned(), true),
    }
}

fn pre_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    render: impl FnOnce(&str) -> Markup,
) -> Response {
    let (secret, fresh) = pre_secret(headers);
    let response = (status, Html(render(&csrf_token(&secret)).into_string())).into_response();
    if fresh {
        with_cookies(response, [set_cookie(state, PRE_COOKIE, &secret, 3_600)])
    } else {
        response
    }
}

fn login_markup(lang: Lang, csrf: &str, error: Option<&ConsoleError>, wecom: bool) -> Markup {
    let body = html! {
        section {
            @if let Some(err) = error { (error_box(lang, err)) }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                label { (t(lang, "用户名", "Username")) " " input type="text" name="username" required autocomplete="username"; }
                label { (t(lang, "密码", "Password")) " " input type="password" name="password" required autocomplete="current-password"; }
                button type="submit" { (t(lang, "登录", "Log in")) }
            }
            @if wecom {
                form method="post" action="/console/login/wecom/start" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" id="wecom-login" { (t(lang, "企业微信扫码登录", "Log in with WeCom")) }
                }
                p.muted { (t(lang,
                    "用已关联控制台账号的企业微信成员扫码；关联由管理员在「用户」页面设置。",
                    "Scan as the WeCom member linked to your console user; admins link members on the Users page.")) }
            }
        }
    };
    frame(lang, None, "/console/login", t(lang, "登录", "Log in"), body)
}

/// The login page answering `status`, with `error` shown above the forms.
fn login_answer(state: &AppState, headers: &HeaderMap, status: StatusCode, error: Option<&ConsoleError>) -> Response {
    let lang = lang_of(headers);
    let wecom = state.engine.console().wecom_login_app();
    let response = pre_page(state, headers, status, |csrf| {
        login_markup(lang, csrf, error, wecom.is_some())
    });
    // The WeCom button's form is answered with a redirect to WeCom's login page, and browsers hold a
    // form's redirects to the page's `form-action` too: this page allows that one more origin.
    let origin = wecom.and_then(|app| {
        let base = shoprelay_wecom::login::login_base(&app.api_base);
        let url = url::Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))?;
        Some(url.origin().ascii_serialization())
    });
    match origin {
        Some(origin) => with_form_target(response, &origin),
        None => response,
    }
}

/// `response` with the page policy, plus `origin` as a form target.
fn with_form_target(mut response: Response, origin: &str) -> Response {
    let policy = crate::guard::PAGE_CSP.replace("form-action 'self'", &format!("form-action 'self' {origin}"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// `GET /console/login`.
pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login_answer(&state, &headers, StatusCode::OK, None)
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

fn session_cookies(state: &AppState, token: &str) -> [Option<axum::http::HeaderValue>; 2] {
    [
        set_cookie(state, SESSION_COOKIE, token, session_max_age()),
        set_cookie(state, PRE_COOKIE, "", 0),
    ]
}

/// `POST /console/login`: a session cookie and the overview, or the form again with the reason.
pub async fn login(State(state): State<AppState>, headers: HeaderMap, posted: PrePosted<LoginForm>) -> Response {
    let lang = posted.lang;
    let console = state.engine.console();
    match console.login(posted.form.username.trim(), &posted.form.password).await {
        Ok(session) => {
            if let Err(err) = console
                .record_as(&session.user.username, "session.login", None, "")
                .await
            {
                return console_error(lang, None, &err);
            }
            with_cookies(
                Redirect::to("/console").into_response(),
                session_cookies(&state, session.token.expose()),
            )
        }
        Err(err) => {
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            login_answer(&state, &headers, status, Some(&err))
        }
    }
}

/// `POST /console/login/wecom/start` (from the login page, CSRF-checked): a fresh login link, its secret
/// in a cookie of this browser, and off to WeCom's login page.
pub async fn wecom_login_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    _posted: PrePosted<Empty>,
) -> Response {
    match state.engine.console().wecom_login_link().await {
        Ok(link) => with_cookies(
            Redirect::to(&link.url).into_response(),
            [set_wecom_login_cookie(
                &state,
                link.browser_secret.expose(),
                i64::try_from(WECOM_LOGIN_TTL.as_secs()).unwrap_or(i64::MAX),
            )],
        ),
        Err(err) => {
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
            login_answer(&state, &headers, status, Some(&err))
        }
    }
}

/// What WeCom's login page sends the browser back with.
#[derive(Deserialize)]
pub struct WeComReturn {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
}

/// `GET /console/login/wecom?code=&state=`: WeCom's redirect after a scan. The linked user gets a session
/// exactly as with a password, recorded the same way; anything else shows the login page with the reason.
pub async fn wecom_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(back): Query<WeComReturn>,
) -> Response {
    let lang = lang_of(&headers);
    let console = state.engine.console();
    let secret = cookie(&headers, WECOM_LOGIN_COOKIE);
    // The link is spent whatever happens next.
    let forget = set_wecom_login_cookie(&state, "", 0);
    let result = console.login_wecom(secret, &back.state, &back.code).await;
    let session = match result {
        Ok(session) => session,
        Err(err) => {
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                tracing::warn!(error = ?err, code = err.code(), "WeCom QR login failed");
            }
            return with_cookies(login_answer(&state, &headers, status, Some(&err)), [forget]);
        }
    };
    let detail = format!(
        "WeCom QR login as {}",
        session.user.wecom_userid.as_ref().map_or("", |u| u.as_str())
    );
    if let Err(err) = console
        .record_as(&session.user.username, "session.login", None, detail)
        .await
    {
        return console_error(lang, None, &err);
    }
    let [session_cookie, pre] = session_cookies(&state, session.token.expose());
    // A page, not a redirect: the browser arrived from WeCom's site, and a redirect would continue that
    // cross-site navigation, on which the SameSite=Strict session cookie is not sent. A refresh from this
    // page is a navigation of this site.
    let body = html! {
        (maud::DOCTYPE)
        html lang=(t(lang, "zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content="0; url=/console";
                title { (t(lang, "登录成功", "Logged in")) }
            }
            body {
                p { a href="/console" { (t(lang, "登录成功，进入控制台", "Logged in: open the console")) } }
            }
        }
    };
    with_cookies(Html(body.into_string()).into_response(), [session_cookie, pre, forget])
}

/// `POST /console/logout`.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, posted: Posted<Empty>) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if let Err(err) = state.engine.console().logout(token).await {
            return console_error(posted.authed.lang, None, &err);
        }
    }
    with_cookies(
        Redirect::to("/console/login").into_response(),
        [set_cookie(&state, SESSION_COOKIE, "", 0)],
    )
}

/// A form with no field but its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

fn setup_markup(lang: Lang, token: &str, csrf: &str, error: Option<&ConsoleError>) -> Markup {
    let body = html! {
        section {
            p { (t(lang, "创建第一个管理员账号。此链接仅能使用一次。", "Create the first admin account. This link works once.")) }
            @if let Some(err) = error { (error_box(lang, err)) }
            form method="post" action={ "/console/setup/" (token) } {
                input type="hidden" name="csrf" value=(csrf);
                label { (t(lang, "用户名", "Username")) " " input type="text" name="username" required autocomplete="username"; }
                label { (t(lang, "密码（至少 10 个字符）", "Password (10 characters or more)")) " "
                    input type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; }
                button type="submit" { (t(lang, "创建管理员", "Create the admin")) }
            }
        }
    };
    frame(lang, None, "/console", t(lang, "初始化", "Setup"), body)
}

/// Whether a setup token has the form of one (64 hex characters), before it is put in a page.
fn plausible_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `GET /console/setup/{token}`: the first admin's form, while no admin exists.
pub async fn setup_page(State(state): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let lang = lang_of(&headers);
    match state.engine.console().needs_setup().await {
        Ok(true) if plausible_token(&token) => pre_page(&state, &headers, StatusCode::OK, |csrf| {
            setup_markup(lang, &token, csrf, None)
        }),
        Ok(_) => console_error(lang, None, &ConsoleError::SetupClosed),
        Err(err) => console_error(lang, None, &err),
    }
}

/// `POST /console/setup/{token}`: creates the first admin and logs them in.
pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    posted: PrePosted<LoginForm>,
) -> Response {
    let lang = posted.lang;
    let form = posted.form;
    match state
        .engine
        .console()
        .create_first_admin(&token, form.username.trim(), &form.password)
        .await
    {
        Ok(session) => with_cookies(
            Redirect::to("/console/onboarding").into_response(),
            session_cookies(&state, session.token.expose()),
        ),
        Err(err @ (ConsoleError::BadUsername | ConsoleError::WeakPassword | ConsoleError::NameTaken(_))) => {
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
            pre_page(&state, &headers, status, |csrf| {
                setup_markup(lang, &token, csrf, Some(&err))
            })
        }
        Err(err) => console_error(lang, None, &err),
    }
}

/// Where the language switch returns to.
#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `GET /console/lang/{lang}?back=/console/…`: remembers the language (a preference, not a change of
/// anything stored) and goes back to a console page — never to another site.
pub async fn set_lang(State(state): State<AppState>, Path(lang): Path<String>, Query(q): Query<Back>) -> Response {
    let value = if lang == "en" { "en" } else { "zh-CN" };
    let back = q
        .back
        .filter(|b| b.starts_with("/console") && !b.contains("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/console".into());
    with_cookies(
        Redirect::to(&back).into_response(),
        [set_cookie(&state, LANG_COOKIE, value, 365 * 86_400)],
    )
}

/// `GET /console/users` (admins): every user with their role, and a form for a new one.
pub async fn users(State(state): State<AppState>, authed: Authed) -> Response {
    let lang = authed.lang;
    let list = match state.engine.console().users(&authed.user).await {
        Ok(list) => list,
        Err(err) => return console_error(lang, Some(&authed), &err),
    };
    let body = html! {
        section {
            table {
                tr { th { (t(lang, "用户名", "Username")) } th { (t(lang, "角色", "Role")) } th { (t(lang, "状态", "State")) } th { (t(lang, "企业微信成员", "WeCom member")) } th { (t(lang, "创建时间", "Created")) } th {} }
                @for u in &list {
                    tr {
                        td { (u.username) }
                        td colspan="2" {
                            form method="post" action={ "/console/users/" (u.username) } {
                                input type="hidden" name="csrf" value=(authed.csrf);
                                (role_select(lang, u.role))
                                label style="display:inline" {
                                    input type="checkbox" name="disabled" value="1" checked[u.disabled_at.is_some()] style="min-width:0";
                                    (t(lang, "停用", "Disabled"))
                                }
                                " " button type="submit" { (t(lang, "保存", "Save")) }
                            }
                        }
                        td {
                            form method="post" action={ "/console/users/" (u.username) "/wecom" } {
                                input type="hidden" name="csrf" value=(authed.csrf);
                                input type="text" name="wecom_userid" value=[u.wecom_userid.as_ref().map(|w| w.as_str())]
                                    placeholder="userid" aria-label=(t(lang, "企业微信 userid", "WeCom userid"));
                                " " button type="submit" { (t(lang, "关联", "Link")) }
                            }
                        }
                        td { (time(u.created_at.as_millis())) }
                        td { details { summary { (t(lang, "重设密码", "Reset password")) } (password_form(lang, &authed, &u.username)) } }
                    }
                }
            }
        }
        section {
            h2 { (t(lang, "新建用户", "New user")) }
            form method="post" action="/console/users" {
                input type="hidden" name="csrf" value=(authed.csrf);
                label { (t(lang, "用户名", "Username")) " " input type="text" name="username" required; }
                label { (t(lang, "初始密码", "Initial password")) " " input type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; }
                label { (t(lang, "角色", "Role")) " " (role_select(lang, Role::Viewer)) }
                button type="submit" { (t(lang, "创建", "Create")) }
            }
            p.muted { (t(lang,
                "管理员：全部操作，含用户管理；运营：测试连接、日常处理；只读：仅查看。",
                "Admin: everything, users included; operator: tests and everyday work; viewer: reads only.")) }
            p.muted { (t(lang,
                "关联企业微信成员（通讯录中的「账号」即 userid）后，该成员可在登录页扫码登录为此用户；清空后保存即解除关联。",
                "A user linked to a WeCom member (the member's Account in the contacts is the userid) can log in by scanning on the login page; save it empty to unlink.")) }
        }
    };
    ok_page(lang, Some(&authed), "/console/users", t(lang, "用户", "Users"), body)
}

fn role_select(lang: Lang, selected: Role) -> Markup {
    html! {
        select name="role" {
            @for r in Role::ALL.iter().rev() {
                option value=(r.as_str()) selected[*r == selected] { (role_name(lang, *r)) }
            }
        }
    }
}

/// A new user.
#[derive(Deserialize)]
pub struct NewUserForm {
    username: String,
    password: String,
    role: String,
}

/// `POST /console/users` (admins).
pub async fn create_user(State(state): State<AppState>, posted: Posted<NewUserForm>) -> Response {
    let Posted { authed, form } = posted;
    let Some(role) = Role::parse(&form.role) else {
        return console_error(authed.lang, Some(&authed), &ConsoleError::NoSuchUser(form.role));
    };
    match state
        .engine
        .console()
        .create_user(&authed.user, form.username.trim(), &form.password, role)
        .await
    {
        Ok(_) => Redirect::to("/console/users").into_response(),
        Err(err) => console_error(authed.lang, Some(&authed), &err),
    }
}

/// A user's role and state.
#[derive(Deserialize)]
pub struct UpdateForm {
    role: String,
    disabled: Option<String>,
}

/// `POST /console/users/{name}` (admins).
pub async fn update_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted<UpdateForm>,
) -> Response {
    let Posted { authed, form } = posted;
    let Some(role) = Role::parse(&form.role) else {
        return console_error(authed.lang, Some(&authed), &ConsoleError::NoSuchUser(name));
    };
    match state
        .engine
        .console()
        .update_user(&authed.user, &name, role, form.disabled.is_some())
        .await
    {
        Ok(()) => Redirect::to("/console/users").into_response(),
        Err(err) => console_error(authed.lang, Some(&authed), &err),
    }
}

/// The WeCom member to link a user to (blank: unlink).
#[derive(Deserialize)]
pub struct WeComLinkForm {
    #[serde(default)]
    wecom_userid: String,
}

/// `POST /console/users/{name}/wecom` (admins): links the user to a WeCom member for QR login, recorded.
pub async fn link_wecom(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted<WeComLinkForm>,
) -> Response {
    let Posted { authed, form } = posted;
    match state
        .engine
        .console()
        .link_wecom(&authed.user, &name, &form.wecom_userid)
        .await
    {
        Ok(()) => Redirect::to("/console/users").into_response(),
        Err(err) => console_error(authed.lang, Some(&authed), &err),
    }
}

/// A password to set.
#[derive(Deserialize)]
pub struct PasswordForm {
    username: String,
    password: String,
}

/// `POST /console/password`: one's own password, or anyone's as an admin. Ends that user's sessions, so
/// setting one's own logs out.
pub async fn set_password(State(state): State<AppState>, posted: Posted<PasswordForm>) -> Response {
    let Posted { authed, form } = posted;
    match state
        .engine
        .console()
        .set_password(&authed.user, &form.username, &form.password)
        .await
    {
        Ok(()) if form.username == authed.user.username => Redirect::to("/console/login").into_response(),
        Ok(()) => Redirect::to("/console/users").into_response(),
        Err(err) => console_error(authed.lang, Some(&authed), &err),
    }
}

/// Which recorded actions to show.
#[derive(Deserialize)]
pub struct ActionsQuery {
    actor: Option<String>,
    before_id: Option<i64>,
}

/// `GET /console/actions?actor=&before_id=`: every change made through the console, newest first, a page
/// at a time (keyset on the id).
pub async fn actions(State(state): State<AppState>, authed: Authed, Query(q): Query<ActionsQuery>) -> Response {
    let lang = authed.lang;
    let actor = q.actor.filter(|a| !a.is_empty());
    let rows = match state.engine.console().actions(actor.clone(), q.before_id, None).await {
        Ok(rows) => rows,
        Err(err) => return console_error(lang, Some(&authed), &err),
    };
    let next = rows.last().map(|r| r.id).filter(|_| rows.len() >= 50);
    let body = html! {
        form method="get" action="/console/actions" {
            label { (t(lang, "操作人", "Actor")) " " input type="text" name="actor" value=[actor.as_deref()]; }
            button type="submit" { (t(lang, "筛选", "Filter")) }
        }
        table {
            tr { th { (t(lang, "时间", "When")) } th { (t(lang, "操作人", "Who")) } th { (t(lang, "操作", "What")) } th { (t(lang, "对象", "On")) } th { (t(lang, "详情", "Detail")) } }
            @for r in &rows {
                tr { td { (time(r.at.as_millis())) } td { (r.actor) } td { code { (r.action) } } td { (r.target.as_deref().unwrap_or("")) } td { (localize(&r.detail, lang)) } }
            }
        }
        @if let Some(id) = next {
            p { a href={ "/console/actions?before_id=" (id) "&actor=" (actor.as_deref().unwrap_or("")) } { (t(lang, "更早 →", "Older →")) } }
        }
    };
    ok_page(
        lang,
        Some(&authed),
        "/console/actions",
        t(lang, "操作记录", "Console actions"),
        body,
    )
}
