//! The console: server-rendered pages for sellers' operations staff, served by the binary itself.
//!
//! Pages are HTML built with maud, which escapes every value it inserts (buyer text, shop names, anything
//! typed into a form) unless told otherwise; there is no script at all, so the strict
//! `Content-Security-Policy` (no `script-src`) holds, nothing is loaded from elsewhere and the console works
//! offline. Forms post back to the server and answer with a page or a redirect.
//!
//! Access: a session cookie (HttpOnly, SameSite=Strict, Secure when `public_url` is https) holding a
//! random token the store keeps only hashed. Every form carries a CSRF token — derived from the session
//! token for a logged-in user, from a pre-session cookie on the login and setup forms — checked by the
//! extractors [`Posted`] and [`PrePosted`], so a handler cannot take a form without it.
//!
//! # Layout
//! - this file: the router, sessions, CSRF, language.
//! - [`audit`]: the audit log with filters and keyset pages, and its CSV export with the same filters.
//! - [`dashboard`]: traffic, latency percentiles, failures, per shop, orders in WeCom in time, response times.
//! - [`destinations`]: budget use, breaker and dead letters per destination, with replay.
//! - [`entity`]: the entity consistency check per shop, with the diff and the fix, and its corrections.
//! - [`lists`]: buyer conversations, and a conversation's thread with claim, resolve and hand off.
//! - [`rules`]: rules listed, switched, edited with a preview as WeCom shows it, and dry-run.
//! - [`onboarding`]: the wizard — WeCom app tested live and saved, shops authorized, test connection.
//! - [`page`]: the page frame (navigation, language switch) and the error box.
//! - [`wecom_view`]: a WeCom message drawn the way WeCom's clients draw it (HTML and CSS).
//! - [`tokens`]: API tokens for automation (admins): created (shown once), listed, revoked.
//! - [`accounts`]: setup link, login, logout, users and roles, the record of console actions.

pub mod accounts;
pub mod audit;
pub mod dashboard;
pub mod destinations;
pub mod entity;
pub mod lists;
pub mod onboarding;
pub mod page;
pub mod rules;
pub mod tokens;
pub mod wecom_view;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use shoprelay_core::error::{Lang, UserFacing};
use shoprelay_engine::service::console::{csrf_token, ConsoleError, SESSION_TTL};
use shoprelay_store::ConsoleUser;
use subtle::ConstantTimeEq;

use crate::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "shoprelay_session";
/// Name of the cookie that carries the CSRF secret of the login and setup forms.
pub const PRE_COOKIE: &str = "shoprelay_pre";
/// Name of the cookie that binds a WeCom login link to the browser that opened it.
pub const WECOM_LOGIN_COOKIE: &str = "shoprelay_wecom_login";
/// Name of the language cookie.
pub const LANG_COOKIE: &str = "shoprelay_lang";

/// Every console route, in one place; `lib.rs` merges it behind the Host and origin checks.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(accounts::home))
        .route(
            "/console/setup/{token}",
            get(accounts::setup_page).post(accounts::setup),
        )
        .route("/console/login", get(accounts::login_page).post(accounts::login))
        .route("/console/login/wecom/start", post(accounts::wecom_login_start))
        .route("/console/login/wecom", get(accounts::wecom_login))
        .route("/console/logout", post(accounts::logout))
        .route("/console/lang/{lang}", get(accounts::set_lang))
        .route("/console/users", get(accounts::users).post(accounts::create_user))
        .route("/console/users/{name}", post(accounts::update_user))
        .route("/console/users/{name}/wecom", post(accounts::link_wecom))
        .route("/console/password", post(accounts::set_password))
        .route("/console/actions", get(accounts::actions))
        .route("/console/onboarding", get(onboarding::page))
        .route("/console/onboarding/wecom", post(onboarding::connect_wecom))
        .route("/console/onboarding/robot", post(onboarding::connect_robot))
        .route("/console/onboarding/test", post(onboarding::test))
        .route("/console/onboarding/marketplace", post(onboarding::connect_marketplace))
        .route("/console/audit", get(audit::page))
        .route("/console/audit.csv", get(audit::export))
        .route("/console/rules", get(rules::list))
        .route("/console/rules/new", get(rules::new_rule))
        .route("/console/rules/editor", post(rules::submit))
        .route("/console/rules/{id}/edit", get(rules::edit))
        .route("/console/rules/{id}/enable", post(rules::enable))
        .route("/console/rules/{id}/disable", post(rules::disable))
        .route("/console/audit/{id}/wecom", get(audit::as_received))
        .route("/console/dashboard", get(dashboard::page))
        .route("/console/conversations", get(lists::conversations))
        .route("/console/conversations/{id}", get(lists::thread))
        .route("/console/conversations/{id}/act", post(lists::act))
        .route("/console/destinations", get(destinations::page))
        .route("/console/destinations/replay", post(destinations::replay))
        .route("/console/entity", get(entity::page))
        .route("/console/entity/wecom", post(entity::set_wecom))
        .route("/console/entity/shop/{app}/{shop}", post(entity::set_shop))
        .route("/console/tokens", get(tokens::page).post(tokens::create))
        .route("/console/tokens/{id}/revoke", post(tokens::revoke))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, whole site, Secure behind https.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    cookie_header(state, name, value, "/", "Strict", max_age_secs)
}

/// The WeCom login cookie: SameSite=Lax, because WeCom's login page sends the browser back with a
/// cross-site top-level navigation, which carries no Strict cookie; only the login callback's path.
pub fn set_wecom_login_cookie(state: &AppState, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let path = shoprelay_engine::service::console::WECOM_LOGIN_PATH;
    cookie_header(state, WECOM_LOGIN_COOKIE, value, path, "Lax", max_age_secs)
}

fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age_secs: i64,
) -> Option<HeaderValue> {
    let secure = if state.engine.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

/// Adds `Set-Cookie` headers to a response.
pub fn with_cookies(mut response: Response, cookies: impl IntoIterator<Item = Option<HeaderValue>>) -> Response {
    for value in cookies.into_iter().flatten() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// The page language: the cookie's, else Chinese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE) {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// Picks the sentence of the page language.
pub fn t(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// A logged-in user, from the session cookie. Without a valid session, a page answers with the login page
/// (or the setup notice while no admin exists).
pub struct Authed {
    /// Who.
    pub user: ConsoleUser,
    /// The CSRF token this session's forms carry.
    pub csrf: String,
    /// Page language.
    pub lang: Lang,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/console/login").into_response());
        };
        match state.engine.console().session(token).await {
            Ok(Some(user)) => Ok(Authed {
                user,
                csrf: csrf_token(token),
                lang,
            }),
            Ok(None) => Err(Redirect::to("/console/login").into_response()),
            Err(err) => Err(page::error_page(lang, None, &err)),
        }
    }
}

/// Why a form was refused before its handler saw it.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// The CSRF token is missing or wrong.
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    /// The body is not a form of the expected fields.
    #[error("the form cannot be read: {0}")]
    Unreadable(String),
}

impl UserFacing for FormError {
    fn code(&self) -> &'static str {
        match self {
            Self::Csrf => "console.csrf",
            Self::Unreadable(_) => "console.bad_form",
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::Csrf => 403,
            Self::Unreadable(_) => 400,
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::Csrf => "表单已过期或不是从本站页面提交的：请刷新页面后重试".into(),
            Self::Unreadable(why) => format!("无法读取表单：{why}"),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::Csrf => {
                "The form expired or was not sent from this site's page: reload the page and try again".into()
            }
            Self::Unreadable(why) => format!("The form cannot be read: {why}"),
        }
    }
}

/// A form field set with the CSRF token every console form carries.
#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

async fn read_form<T: DeserializeOwned + Send>(
    req: Request,
    state: &AppState,
    lang: Lang,
) -> Result<WithCsrf<T>, Response> {
    Form::<WithCsrf<T>>::from_request(req, state)
        .await
        .map(|Form(f)| f)
        .map_err(|e| page::error_page(lang, None, &FormError::Unreadable(e.body_text())))
}

/// A form posted by a logged-in user, its CSRF token checked against the session's.
pub struct Posted<T> {
    /// Who posted it.
    pub authed: Authed,
    /// The fields.
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let authed = Authed::from_request_parts(&mut parts, state).await?;
        let lang = authed.lang;
        let posted = read_form::<T>(Request::from_parts(parts, body), state, lang).await?;
        if !same(&posted.csrf, &authed.csrf) {
            return Err(page::error_page(lang, Some(&authed), &FormError::Csrf));
        }
        Ok(Posted {
            authed,
            form: posted.form,
        })
    }
}

/// A form posted before login (login, setup), its CSRF token checked against the pre-session cookie the
/// form's page set (double submit: another site can neither read that cookie nor set it).
pub struct PrePosted<T> {
    /// Page language.
    pub lang: Lang,
    /// The fields.
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PrePosted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(req.headers());
        let expected = cookie(req.headers(), PRE_COOKIE).map(csrf_token).unwrap_or_default();
        let posted = read_form::<T>(req, state, lang).await?;
        if expected.is_empty() || !same(&posted.csrf, &expected) {
            return Err(page::error_page(lang, None, &FormError::Csrf));
        }
        Ok(PrePosted {
            lang,
            form: posted.form,
        })
    }
}

/// Session cookie lifetime, in seconds.
pub(crate) fn session_max_age() -> i64 {
    i64::try_from(SESSION_TTL.as_secs()).unwrap_or(i64::MAX)
}

/// An error of an account operation, as a page.
pub(crate) fn console_error(lang: Lang, authed: Option<&Authed>, err: &ConsoleError) -> Response {
    page::error_page(lang, authed, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            "a=1; shoprelay_session=tok; x_shoprelay_session=evil".parse().unwrap(),
        );
        h.append(COOKIE, "shoprelay_lang=en".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(lang_of(&h), Lang::En);
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(lang_of(&HeaderMap::new()), Lang::Zh, "Chinese by default");
    }

    #[test]
    fn csrf_comparison_refuses_empty_and_different() {
        assert!(same("abc", "abc"));
        assert!(!same("", ""));
        assert!(!same("abc", "abd"));
    }
}
