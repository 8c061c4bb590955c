//! Who may ask what. Without a token the API trusts whoever reaches a loopback port, so a browser on
//! the operator's machine must not become that whoever: the Host it names (DNS rebinding), the Origin
//! it posts from (cross-site requests) and the content type of an API write (a plain HTML form cannot
//! send JSON) are checked. Pages are sent with headers that keep them from being framed or sniffed and
//! from leaking their capability URL in a Referer.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shoprelay_core::error::UserFacing;
use shoprelay_core::secret::Secret;
use shoprelay_store::{ApiTokenRecord, TokenScope};
use subtle::ConstantTimeEq;

use crate::api::Unauthorized;
use crate::error::ApiError;
use crate::AppState;

/// Shortest API token accepted, in characters (an `openssl rand -hex 16` is 32).
pub const MIN_API_TOKEN_CHARS: usize = 32;

/// The bearer token that guards `/api/v1` (and `/metrics` unless it is public).
#[derive(Debug, Clone)]
pub struct ApiToken(Secret);

impl ApiToken {
    /// At least [`MIN_API_TOKEN_CHARS`] visible ASCII characters, so it is hard to guess and fits a header.
    pub fn parse(raw: &str) -> Result<Self, ApiTokenError> {
        let visible = raw.bytes().all(|b| b.is_ascii_graphic());
        if raw.chars().count() < MIN_API_TOKEN_CHARS || !visible {
            return Err(ApiTokenError::TooShort);
        }
        Ok(Self(Secret::new(raw)))
    }

    /// Whether an `Authorization` header carries this token; the scheme's case does not matter.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        self.is(bearer(headers).unwrap_or_default())
    }

    fn is(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.0.expose().as_bytes()))
    }
}

/// The bearer token of an `Authorization` header, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
}

/// The scope an API route needs: reads need `read`; everyday writes (replaying dead letters,
/// acknowledging tasks, forgetting a buyer, dry-running rules) `operate`; every other write `admin`.
pub fn needed_scope(method: &Method, route: &str) -> TokenScope {
    if !changes_state(method) {
        return TokenScope::Read;
    }
    match route {
        "/api/v1/deliveries/replay"
        | "/api/v1/tasks/{id}/ack"
        | "/api/v1/buyers/forget"
        | "/api/v1/rules/test"
        | "/api/v1/rules/preview" => TokenScope::Operate,
        _ => TokenScope::Admin,
    }
}

/// A stored API token asked for more than its scope allows.
#[derive(Debug, thiserror::Error)]
#[error("API token `{name}` has scope {have}; this request needs {need}")]
pub struct ScopeDenied {
    /// The token's name.
    pub name: String,
    /// Its scope.
    pub have: TokenScope,
    /// The scope the request needs.
    pub need: TokenScope,
}

impl UserFacing for ScopeDenied {
    fn code(&self) -> &'static str {
        "api.scope_denied"
    }
    fn status(&self) -> u16 {
        403
    }
    fn message_zh(&self) -> String {
        format!(
            "API 令牌「{}」的权限范围是 {}，此请求需要 {}：请在控制台「API 令牌」页面或用 `shoprelay tokens create --scope {}` 创建权限足够的令牌",
            self.name, self.have, self.need, self.need
        )
    }
    fn message_en(&self) -> String {
        format!(
            "API token `{}` has scope {}, this request needs {}: create one with enough scope on the console's API tokens page or with `shoprelay tokens create --scope {}`",
            self.name, self.have, self.need, self.need
        )
    }
}

/// Who a request to `/api/v1` is, once admitted.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No token is configured and none was sent: a loopback server trusts its own machine.
    Local,
    /// The configured token: every scope.
    Configured,
    /// A stored token, within its scope.
    Token(ApiTokenRecord),
}

impl Caller {
    /// Who the record of admin actions names: `token:<name>` for a stored token, `token:(configured)` for
    /// the token given at start-up (no stored name has parentheses), `api:local` for a loopback caller.
    pub fn actor(&self) -> String {
        match self {
            Caller::Local => "api:local".into(),
            Caller::Configured => "token:(configured)".into(),
            Caller::Token(token) => format!("token:{}", token.name),
        }
    }

    /// Records a write made through the API in the log of admin actions the console keeps.
    pub async fn record(
        &self,
        state: &AppState,
        action: &str,
        target: Option<&str>,
        detail: String,
    ) -> Result<(), ApiError> {
        let console = state.engine.console();
        Ok(console.record_as(&self.actor(), action, target, detail).await?)
    }
}

/// Admits a request to `/api/v1`: the configured token (every scope), a stored unrevoked token whose scope
/// covers the route, or nothing at all while no token is configured. A token that is sent must be good,
/// even where none is needed.
pub async fn api_access(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let need = needed_scope(request.method(), &route);
    match caller(&state, request.headers(), need).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(err) => err.into_response(),
    }
}

async fn caller(state: &AppState, headers: &HeaderMap, need: TokenScope) -> Result<Caller, ApiError> {
    let Some(given) = bearer(headers) else {
        return match state.api_token {
            Some(_) => Err(Unauthorized.into()),
            None => Ok(Caller::Local),
        };
    };
    if state.api_token.as_ref().is_some_and(|t| t.is(given)) {
        return Ok(Caller::Configured);
    }
    let tokens = state.engine.api_tokens();
    let Some(token) = tokens.find(given).await? else {
        return Err(Unauthorized.into());
    };
    if !token.scope.allows(need) {
        return Err(ScopeDenied {
            name: token.name,
            have: token.scope,
            need,
        }
        .into());
    }
    tokens.note_use(&token).await;
    Ok(Caller::Token(token))
}

/// Why the API token given at start-up cannot guard the server.
#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    /// Empty, short, or holding characters a header cannot carry.
    #[error("the API token must be at least {MIN_API_TOKEN_CHARS} visible ASCII characters")]
    TooShort,
    /// The server listens beyond this machine and has no token.
    #[error("listening on {0} (not loopback) exposes /api/v1 without an API token")]
    Required(String),
}

impl UserFacing for ApiTokenError {
    fn code(&self) -> &'static str {
        match self {
            ApiTokenError::TooShort => "api.token_too_short",
            ApiTokenError::Required(_) => "api.token_required",
        }
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        match self {
            ApiTokenError::TooShort => format!(
                "API 令牌（SHOPRELAY_API_TOKEN 或 --api-token）至少需要 {MIN_API_TOKEN_CHARS} 个可见 ASCII 字符，\
                 不可为空；可用 `openssl rand -hex 32` 生成"
            ),
            ApiTokenError::Required(addr) => format!(
                "监听地址 {addr} 不只是本机（loopback），任何能访问该端口的人都能读取审计日志、修改规则：\
                 请设置 SHOPRELAY_API_TOKEN（至少 {MIN_API_TOKEN_CHARS} 个字符），或改为监听 127.0.0.1"
            ),
        }
    }
    fn message_en(&self) -> String {
        match self {
            ApiTokenError::TooShort => format!(
                "The API token (SHOPRELAY_API_TOKEN or --api-token) must be at least {MIN_API_TOKEN_CHARS} visible \
                 ASCII characters and not empty; generate one with `openssl rand -hex 32`"
            ),
            ApiTokenError::Required(addr) => format!(
                "Listening on {addr} (not loopback) lets anyone who reaches the port read the audit log and change \
                 rules: set SHOPRELAY_API_TOKEN (at least {MIN_API_TOKEN_CHARS} characters) or listen on 127.0.0.1"
            ),
        }
    }
}

/// A request a browser may have been tricked into sending.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The Host header names a host this server is not (DNS rebinding).
    #[error("the Host header names a host this server does not serve")]
    Host,
    /// A write from another site's page.
    #[error("a state-changing request came from another origin")]
    CrossOrigin,
    /// An API write that is not JSON.
    #[error("state-changing API requests must be application/json")]
    NotJson,
}

impl UserFacing for Refused {
    fn code(&self) -> &'static str {
        match self {
            Refused::Host => "http.host_not_allowed",
            Refused::CrossOrigin => "http.cross_origin",
            Refused::NotJson => "http.unsupported_media_type",
        }
    }
    fn status(&self) -> u16 {
        match self {
            Refused::NotJson => 415,
            _ => 403,
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Refused::Host => "请求的主机名（Host）不是本服务的地址：请通过 public_url、localhost 或 IP 地址访问；\
                              反向代理须转发原始 Host 头"
                .into(),
            Refused::CrossOrigin => "拒绝来自其他网站页面的修改请求：请在 shoprelay 自己的页面或命令行中操作".into(),
            Refused::NotJson => "修改类 API 请求须使用 Content-Type: application/json".into(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Refused::Host => "The Host header does not name this server: use public_url, localhost or an IP address; \
                              a reverse proxy must pass the original Host header"
                .into(),
            Refused::CrossOrigin => {
                "A state-changing request from another site's page was refused: act from shoprelay's own pages or the CLI"
                    .into()
            }
            Refused::NotJson => "State-changing API requests must send Content-Type: application/json".into(),
        }
    }
}

/// The names and origin this server answers to, from its public URL.
#[derive(Debug, Clone, Default)]
pub struct Site {
    public_host: Option<String>,
    public_origin: Option<String>,
}

impl Site {
    /// The site behind `public_url` (an unparsable URL leaves only loopback and IP addresses).
    pub fn new(public_url: &str) -> Self {
        let url = url::Url::parse(public_url).ok();
        Self {
            public_host: url.as_ref().and_then(|u| u.host_str()).map(str::to_ascii_lowercase),
            public_origin: url.map(|u| u.origin().ascii_serialization()),
        }
    }

    /// A browser names a host it resolved through DNS; a rebinding attack needs a name the attacker
    /// owns. IP literals cannot be rebound and `localhost` is the operator's own machine.
    fn allows_host(&self, host: &str) -> bool {
        let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
            return false;
        };
        let name = authority.host().trim_start_matches('[').trim_end_matches(']');
        name.parse::<std::net::IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || self
                .public_host
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(name))
    }

    /// Same origin: the public URL's, or the one the request itself was addressed to.
    fn allows_origin(&self, origin: &str, host: Option<&str>) -> bool {
        if self
            .public_origin
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(origin))
        {
            return true;
        }
        let Ok(url) = url::Url::parse(origin) else {
            return false;
        };
        let Some(name) = url.host_str() else {
            return false;
        };
        let authority = match url.port() {
            Some(port) => format!("{name}:{port}"),
            None => name.to_owned(),
        };
        host.is_some_and(|h| h.eq_ignore_ascii_case(&authority))
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a Host header that names another site. A request without one (HTTP/1.0) is no browser's.
pub async fn known_host(State(site): State<Site>, request: Request, next: Next) -> Response {
    match header(request.headers(), &HOST) {
        Some(host) if !site.allows_host(host) => ApiError::from(Refused::Host).into_response(),
        _ => next.run(request).await,
    }
}

/// Refuses writes that a browser sends on behalf of another site: browsers name the page's origin in
/// `Origin` (and `Sec-Fetch-Site`) on every such request; scripts and the CLI send neither.
pub async fn same_origin_writes(State(site): State<Site>, request: Request, next: Next) -> Response {
    if changes_state(request.method()) {
        let headers = request.headers();
        let fetch_site = header(headers, &HeaderName::from_static("sec-fetch-site"));
        // A browser's own word that the page is this origin settles it: under `Referrer-Policy:
        // no-referrer` (every page here) Chromium sends `Origin: null` with a form post.
        let same_origin = fetch_site == Some("same-origin");
        let cross_site = fetch_site == Some("cross-site");
        let foreign =
            !same_origin && header(headers, &ORIGIN).is_some_and(|o| !site.allows_origin(o, header(headers, &HOST)));
        if cross_site || foreign {
            return ApiError::from(Refused::CrossOrigin).into_response();
        }
    }
    next.run(request).await
}

/// API writes carry JSON or nothing: an HTML form (urlencoded, multipart, text/plain) cannot.
pub async fn json_writes(request: Request, next: Next) -> Response {
    if changes_state(request.method()) {
        let headers = request.headers();
        let acceptable = match header(headers, &CONTENT_TYPE) {
            Some(ct) => ct
                .split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json")),
            None => {
                let empty_length = header(headers, &CONTENT_LENGTH).is_none_or(|l| l.trim() == "0");
                empty_length && !headers.contains_key(TRANSFER_ENCODING)
            }
        };
        if !acceptable {
            return ApiError::from(Refused::NotJson).into_response();
        }
    }
    next.run(request).await
}

/// Nothing loads from elsewhere, no page can be framed (clickjacking the acknowledgement button), the
/// browser never guesses a type, and capability links (`/ack/…`, `/digests/…`) never leave in a Referer.
pub async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        ("content-security-policy", PAGE_CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ];
    for (name, value) in set {
        // A page that set its own policy keeps it: it is this one with one more form target (the login
        // page's WeCom button, see `console::accounts`).
        if name == "content-security-policy" && headers.contains_key(name) {
            continue;
        }
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

/// Every page's `Content-Security-Policy`.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; \
                            frame-ancestors 'none'; base-uri 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_the_scheme_is_any_case() {
        assert!(ApiToken::parse("").is_err());
        assert!(ApiToken::parse(&"x".repeat(31)).is_err());
        assert!(ApiToken::parse(&format!("{} ", "x".repeat(32))).is_err());
        let token = ApiToken::parse(&"t".repeat(32)).unwrap();
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(axum::http::header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert!(token.admits(&with(&format!("Bearer {}", "t".repeat(32)))));
        assert!(token.admits(&with(&format!("bEaReR {}", "t".repeat(32)))));
        assert!(!token.admits(&with(&format!("Basic {}", "t".repeat(32)))));
        assert!(!token.admits(&with("Bearer ")));
        assert!(!token.admits(&HeaderMap::new()));
    }

    #[test]
    fn scopes_follow_the_method_and_the_route() {
        assert_eq!(needed_scope(&Method::GET, "/api/v1/rules"), TokenScope::Read);
        assert_eq!(
            needed_scope(&Method::POST, "/api/v1/tasks/{id}/ack"),
            TokenScope::Operate
        );
        assert_eq!(
            needed_scope(&Method::POST, "/api/v1/deliveries/replay"),
            TokenScope::Operate
        );
        assert_eq!(needed_scope(&Method::PUT, "/api/v1/rules/{id}"), TokenScope::Admin);
        assert_eq!(
            needed_scope(&Method::POST, "/api/v1/rules/{id}/enable"),
            TokenScope::Admin
        );
        assert_eq!(
            needed_scope(&Method::PUT, "/api/v1/shops/{app_id}/{shop_id}/data-policy"),
            TokenScope::Admin
        );
        assert_eq!(
            needed_scope(&Method::POST, "/api/v1/unknown"),
            TokenScope::Admin,
            "unknown writes need admin"
        );
    }

    #[test]
    fn hosts_and_origins() {
        let site = Site::new("https://relay.example.com");
        for ok in [
            "127.0.0.1:8080",
            "[::1]:80",
            "localhost:1",
            "10.0.0.5",
            "Relay.Example.com",
        ] {
            assert!(site.allows_host(ok), "{ok}");
        }
        for bad in ["evil.example:8080", "relay.example.com.evil.example", "", "a b"] {
            assert!(!site.allows_host(bad), "{bad}");
        }
        assert!(site.allows_origin("https://relay.example.com", Some("shoprelay:8080")));
        assert!(site.allows_origin("http://127.0.0.1:8080", Some("127.0.0.1:8080")));
        assert!(!site.allows_origin("http://127.0.0.1:9999", Some("127.0.0.1:8080")));
        // A rebound name is "same origin" with itself; the Host check is what stops it.
        assert!(site.allows_origin("http://evil.example", Some("evil.example")) && !site.allows_host("evil.example"));
        assert!(!site.allows_origin("null", Some("127.0.0.1:8080")));
    }
}
