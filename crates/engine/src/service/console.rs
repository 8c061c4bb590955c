//! The console's accounts: the first admin made through a one-time setup link, logins with argon2
//! password hashes, sessions whose tokens the store keeps only hashed, users and their roles, and the
//! record of every change made through the console (who, what, when).

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::WeComUserId;
use shoprelay_core::secret::Secret;
use shoprelay_store::{
    ConsoleAccounts, ConsoleAction, ConsoleActionFilter, ConsoleUser, NewConsoleUser, Role, StoreError, UserCreated,
    UserUpdated, WeComLinked,
};
use shoprelay_wecom::client::WeComClient;
use shoprelay_wecom::login::sso_login_url;
use shoprelay_wecom::{LoginIdentity, WeComError};

use crate::config::WeComAppConfig;
use crate::stage::deliver::app_credentials;
use crate::stage::ConfigView;
use crate::{Engine, EngineError, EngineSettings};

/// How long a setup link works.
pub const SETUP_LINK_TTL: Duration = Duration::from_secs(24 * 3_600);
/// How long a session lasts from login (no sliding renewal: a stolen cookie dies with it).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3_600);
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 takes any length; this only bounds the work a request can cause).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest username.
pub const MAX_USERNAME_CHARS: usize = 64;
/// How long a WeCom login link works: WeCom's code lives 5 minutes once scanned, and finding the phone
/// and opening WeCom takes a moment before that.
pub const WECOM_LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// The path WeCom sends the browser back to after a login scan (under `public_url`).
pub const WECOM_LOGIN_PATH: &str = "/console/login/wecom";
/// Actions listed per page by default, and at most.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// Why a console account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Unknown user, wrong password or a disabled user: one answer for all, so names cannot be probed.
    #[error("wrong username or password")]
    BadLogin,
    /// The setup link is unknown, used or expired, or an admin exists already.
    #[error("the setup link is invalid, used or expired")]
    SetupClosed,
    /// The username is taken.
    #[error("the username `{0}` is taken")]
    NameTaken(String),
    /// The username has characters other than letters, digits and `._@-`, or is empty or too long.
    #[error("usernames are 1–{MAX_USERNAME_CHARS} letters, digits or ._@-")]
    BadUsername,
    /// The password is too short or too long.
    #[error("passwords are {MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// The user's role does not allow this.
    #[error("the role {have} may not do this ({need} needed)")]
    Forbidden {
        /// The user's role.
        have: Role,
        /// The role needed.
        need: Role,
    },
    /// No such user.
    #[error("no user `{0}`")]
    NoSuchUser(String),
    /// The change would leave no enabled admin.
    #[error("the last enabled admin cannot be demoted or disabled")]
    LastAdmin,
    /// No WeCom self-built app is configured, so there is no QR login.
    #[error("WeCom QR login needs a WeCom self-built app")]
    WeComLoginOff,
    /// WeCom's redirect came back without a code (the scan was cancelled or the link was opened by hand).
    #[error("the WeCom login redirect has no code")]
    WeComNoCode,
    /// The login redirect's state is missing, forged, from another browser, used or expired.
    #[error("the WeCom login state is invalid, used or expired")]
    WeComStateInvalid,
    /// Someone outside the corp scanned (WeCom named them by an openid only).
    #[error("the person who scanned is not a member of the WeCom company")]
    WeComNotMember,
    /// A member scanned whom no console user is linked to.
    #[error("no console user is linked to the WeCom member `{0}`")]
    WeComUnlinked(WeComUserId),
    /// The user linked to the member who scanned is disabled.
    #[error("the console user `{0}` is disabled")]
    AccountDisabled(String),
    /// WeCom refused the login (a used or expired code, an untrusted redirect domain …) or could not be reached.
    #[error("WeCom login failed: {0}")]
    WeComLogin(#[source] WeComError),
    /// Another user is linked to that WeCom member already.
    #[error("the WeCom member `{userid}` is linked to `{holder}` already")]
    WeComTaken {
        /// The member.
        userid: WeComUserId,
        /// The user linked to it.
        holder: String,
    },
    /// The text given as a userid is not one.
    #[error("`{0}` is not a WeCom userid")]
    BadWeComUserId(String),
    /// Hashing a password failed (argon2's parameters or the random source).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Storage failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ConsoleError {
    fn from(err: StoreError) -> Self {
        Self::Engine(err.into())
    }
}

impl UserFacing for ConsoleError {
    fn code(&self) -> &'static str {
        match self {
            Self::BadLogin => "console.bad_login",
            Self::SetupClosed => "console.setup_closed",
            Self::NameTaken(_) => "console.name_taken",
            Self::BadUsername => "console.bad_username",
            Self::WeakPassword => "console.weak_password",
            Self::Forbidden { .. } => "console.forbidden",
            Self::NoSuchUser(_) => "console.no_such_user",
            Self::LastAdmin => "console.last_admin",
            Self::WeComLoginOff => "console.wecom_login_off",
            Self::WeComNoCode => "console.wecom_no_code",
            Self::WeComStateInvalid => "console.wecom_state_invalid",
            Self::WeComNotMember => "console.wecom_not_member",
            Self::WeComUnlinked(_) => "console.wecom_unlinked",
            Self::AccountDisabled(_) => "console.account_disabled",
            Self::WeComLogin(e) => e.code(),
            Self::WeComTaken { .. } => "console.wecom_taken",
            Self::BadWeComUserId(_) => "console.bad_wecom_userid",
            Self::Hash(_) => "console.hash_failed",
            Self::Engine(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::BadLogin => 401,
            Self::SetupClosed => 410,
            Self::NameTaken(_) | Self::LastAdmin => 409,
            Self::BadUsername | Self::WeakPassword => 400,
            Self::Forbidden { .. } => 403,
            Self::NoSuchUser(_) => 404,
            Self::WeComLoginOff => 404,
            Self::WeComNoCode | Self::WeComStateInvalid | Self::BadWeComUserId(_) => 400,
            Self::WeComNotMember | Self::WeComUnlinked(_) | Self::AccountDisabled(_) => 403,
            // A code WeCom refuses is the visitor's to retry, not a fault of the server.
            Self::WeComLogin(e) if e.is_login_code_refused() => 400,
            Self::WeComLogin(e) => e.status(),
            Self::WeComTaken { .. } => 409,
            Self::Hash(_) => 500,
            Self::Engine(e) => e.status(),
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::BadLogin => "用户名或密码错误（或账号已停用）".into(),
            Self::SetupClosed => "初始化链接无效、已使用或已过期（24 小时内有效），或管理员已存在：\
                                  请运行 `shoprelay console setup-link` 生成新链接，或用已有管理员账号登录"
                .into(),
            Self::NameTaken(name) => format!("用户名「{name}」已被使用：请换一个"),
            Self::BadUsername => {
                format!("用户名须为 1–{MAX_USERNAME_CHARS} 个字母、数字或 . _ @ -")
            }
            Self::WeakPassword => format!("密码须为 {MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} 个字符"),
            Self::Forbidden { have, need } => format!(
                "当前角色（{}）无权执行此操作，需要 {} 角色：请联系管理员",
                role_zh(*have),
                role_zh(*need)
            ),
            Self::NoSuchUser(name) => format!("没有用户「{name}」"),
            Self::LastAdmin => "不能降级或停用最后一个管理员：请先将另一位用户设为管理员".into(),
            Self::WeComLoginOff => "未配置企业微信自建应用，无法扫码登录：请用用户名和密码登录，或先在接入向导中连接企业微信".into(),
            Self::WeComNoCode => "企业微信没有返回登录 code（扫码已取消，或链接不是由企业微信跳转而来）：请回到登录页重新扫码".into(),
            Self::WeComStateInvalid => "登录链接无效、已使用、已过期（10 分钟内有效）或不是在本浏览器打开的：请回到登录页，重新点击「企业微信扫码登录」".into(),
            Self::WeComNotMember => "扫码的人不是本企业的成员：请用本企业企业微信里的账号扫码".into(),
            Self::WeComUnlinked(userid) => format!(
                "企业微信成员「{userid}」没有关联控制台账号：请管理员在「用户」页面把该 userid 关联到你的账号"
            ),
            Self::AccountDisabled(name) => format!("控制台账号「{name}」已停用：请联系管理员重新启用"),
            Self::WeComLogin(e) => format!("企业微信扫码登录失败：{}", e.message_zh()),
            Self::WeComTaken { userid, holder } => {
                format!("企业微信成员「{userid}」已关联到用户「{holder}」：一个成员只能关联一个账号，请先解除那边的关联")
            }
            Self::BadWeComUserId(raw) => {
                format!("「{raw}」不是企业微信 userid：userid 为 1–64 个字母、数字或 _ - @ .，见通讯录中成员的「账号」")
            }
            Self::Hash(_) => "密码处理失败：请查看服务日志".into(),
            Self::Engine(e) => e.message_zh(),
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::BadLogin => "Wrong username or password (or the account is disabled)".into(),
            Self::SetupClosed => "The setup link is invalid, used or expired (it lives 24 hours), or an admin exists \
                                  already: run `shoprelay console setup-link` for a new one, or log in as an admin"
                .into(),
            Self::NameTaken(name) => format!("The username `{name}` is taken: choose another"),
            Self::BadUsername => format!("Usernames are 1–{MAX_USERNAME_CHARS} letters, digits or . _ @ -"),
            Self::WeakPassword => format!("Passwords are {MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters long"),
            Self::Forbidden { have, need } => format!(
                "Your role ({}) may not do this; {} is needed: ask an admin",
                have.as_str(),
                need.as_str()
            ),
            Self::NoSuchUser(name) => format!("There is no user `{name}`"),
            Self::LastAdmin => {
                "The last enabled admin cannot be demoted or disabled: make another user an admin first".into()
            }
            Self::WeComLoginOff => "WeCom QR login needs a WeCom self-built app: log in with your username and \
                                    password, or connect WeCom in the onboarding wizard first"
                .into(),
            Self::WeComNoCode => "WeCom sent no login code back (the scan was cancelled, or the address was not \
                                  opened by WeCom): go back to the login page and scan again"
                .into(),
            Self::WeComStateInvalid => "The login link is invalid, used, expired (it lives 10 minutes) or was opened \
                                        in another browser: go back to the login page and click Log in with WeCom again"
                .into(),
            Self::WeComNotMember => {
                "Whoever scanned is not a member of this company: scan with your account in this company's WeCom".into()
            }
            Self::WeComUnlinked(userid) => format!(
                "No console user is linked to the WeCom member `{userid}`: ask an admin to link that userid to your \
                 account on the Users page"
            ),
            Self::AccountDisabled(name) => format!("The console user `{name}` is disabled: ask an admin to enable it"),
            Self::WeComLogin(e) => format!("WeCom login failed: {}", e.message_en()),
            Self::WeComTaken { userid, holder } => format!(
                "The WeCom member `{userid}` is linked to `{holder}` already: a member links to one user; unlink it there first"
            ),
            Self::BadWeComUserId(raw) => format!(
                "`{raw}` is not a WeCom userid: 1–64 letters, digits or _ - @ . (the member's Account in the contacts)"
            ),
            Self::Hash(_) => "Processing the password failed: see the service log".into(),
            Self::Engine(e) => e.message_en(),
        }
    }
}

/// A role's Chinese name.
pub fn role_zh(role: Role) -> &'static str {
    match role {
        Role::Admin => "管理员",
        Role::Operator => "运营",
        Role::Viewer => "只读",
    }
}

/// A fresh, unguessable token (256 random bits, hex): setup links and session cookies.
pub fn new_token() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(hex::encode(bytes))
}

/// What the store keeps of a token: its SHA-256, so the database alone opens nothing.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a session: derived from the session token (which only the browser's HttpOnly cookie
/// holds), so a page of another site can neither read nor compute it, and nothing more is stored.
pub fn csrf_token(session: &str) -> String {
    hex::encode(Sha256::digest(format!("shoprelay-csrf\0{session}").as_bytes()))
}

fn check_username(name: &str) -> Result<(), ConsoleError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ConsoleError::BadUsername)
    }
}

fn check_password(password: &str) -> Result<(), ConsoleError> {
    let n = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        Ok(())
    } else {
        Err(ConsoleError::WeakPassword)
    }
}

/// Hashes off the async threads: argon2 is built to take tens of milliseconds of CPU.
async fn hash_password(password: &str) -> Result<String, ConsoleError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ConsoleError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| ConsoleError::Hash(e.to_string()))?
}

/// Whether `password` matches the PHC string `stored`; an unreadable stored hash matches nothing.
async fn verify_password(password: &str, stored: &str) -> Result<bool, ConsoleError> {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
            .unwrap_or(false)
    })
    .await
    .map_err(|e| ConsoleError::Hash(e.to_string()))
}

/// An argon2 hash of no one's password, verified when the username is unknown so that a login takes as
/// long for a name that does not exist as for one that does.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2hvcHJlbGF5LWR1bW15$0y8SGd8s6uvk0m5ffLsmpIX+dM0i7IWcGHUaFf7QhLA";

/// Makes a one-time setup link under `public_url` (replacing any earlier one) and records that it was
/// made, or answers `None` when an admin exists already: the link only ever creates the first admin.
/// A free function so the CLI can make one without a running server.
pub async fn setup_link(
    store: &dyn ConsoleAccounts,
    now: UnixMs,
    public_url: &str,
    actor: &str,
) -> Result<Option<String>, ConsoleError> {
    if store.has_console_admin().await? {
        return Ok(None);
    }
    let token = new_token();
    store
        .create_setup_token(&token_hash(token.expose()), now, now + SETUP_LINK_TTL)
        .await?;
    store
        .record_console_action(&ConsoleAction::new(
            now,
            actor,
            "setup.link",
            None,
            "one-time setup link made",
        ))
        .await?;
    Ok(Some(format!(
        "{}/console/setup/{}",
        public_url.trim_end_matches('/'),
        token.expose()
    )))
}

/// The `state` of a WeCom login link, derived from the secret the browser keeps in a cookie: only that
/// browser can bring it back, and the link (which WeCom, logs and the address bar see) reveals no cookie.
pub fn wecom_login_state(browser_secret: &str) -> String {
    hex::encode(Sha256::digest(
        format!("shoprelay-wecom-login\0{browser_secret}").as_bytes(),
    ))
}

/// A WeCom login link handed to one browser.
#[derive(Debug)]
pub struct WeComLoginLink {
    /// WeCom's login page, with the app, the redirect back and the state.
    pub url: String,
    /// The secret the browser must keep (in a cookie) for the state to be accepted on return.
    pub browser_secret: Secret,
}

/// A session opened by a login.
#[derive(Debug)]
pub struct Session {
    /// The cookie's value; the store keeps only its hash.
    pub token: Secret,
    /// Who logged in.
    pub user: ConsoleUser,
}

/// The console's accounts.
pub struct ConsoleService<'a> {
    accounts: &'a dyn ConsoleAccounts,
    clock: &'a SharedClock,
    config: &'a ConfigView,
    settings: &'a EngineSettings,
    /// Asks WeCom who scanned a login code.
    wecom: &'a WeComClient,
}

impl<'a> ConsoleService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            accounts: &*engine.store,
            clock: &engine.clock,
            config: &engine.config,
            settings: &engine.settings,
            wecom: &engine.wecom,
        }
    }

    fn now(&self) -> UnixMs {
        self.clock.now()
    }

    /// A new one-time setup link (replacing any earlier one), or `None` when an admin exists already.
    /// `actor` names who asked (`serve`, `cli`), for the record.
    pub async fn setup_link(&self, actor: &str) -> Result<Option<String>, ConsoleError> {
        setup_link(self.accounts, self.now(), &self.settings.public_url, actor).await
    }

    /// Whether the console still waits for its first admin.
    pub async fn needs_setup(&self) -> Result<bool, ConsoleError> {
        Ok(!self.accounts.has_console_admin().await?)
    }

    /// Creates the first admin with the setup link's token and logs them in.
    pub async fn create_first_admin(
        &self,
        setup_token: &str,
        username: &str,
        password: &str,
    ) -> Result<Session, ConsoleError> {
        check_username(username)?;
        check_password(password)?;
        let new = NewConsoleUser {
            username: username.to_owned(),
            password_hash: hash_password(password).await?,
            role: Role::Admin,
        };
        match self
            .accounts
            .create_first_admin(&token_hash(setup_token), &new, self.now())
            .await?
        {
            UserCreated::Created(user) => self.open_session(user).await,
            UserCreated::NameTaken => Err(ConsoleError::NameTaken(username.to_owned())),
            UserCreated::SetupClosed => Err(ConsoleError::SetupClosed),
        }
    }

    async fn open_session(&self, user: ConsoleUser) -> Result<Session, ConsoleError> {
        let token = new_token();
        let now = self.now();
        self.accounts
            .create_console_session(&token_hash(token.expose()), user.id, now, now + SESSION_TTL)
            .await?;
        Ok(Session { token, user })
    }

    /// Checks the password and opens a session.
    pub async fn login(&self, username: &str, password: &str) -> Result<Session, ConsoleError> {
        let user = self.accounts.console_user(username).await?;
        let stored = user.as_ref().map_or(DUMMY_HASH, |u| u.password_hash.as_str());
        let matches = verify_password(password, stored).await?;
        match user {
            Some(user) if matches && user.disabled_at.is_none() => {
                let _ = self.accounts.prune_console_sessions(self.now()).await;
                self.open_session(user).await
            }
            _ => Err(ConsoleError::BadLogin),
        }
    }

    /// The WeCom app the QR login goes through: the first by id. One app, because a login maps a userid
    /// and userids are only unique within one corp; most sellers have a single self-built app.
    pub fn wecom_login_app(&self) -> Option<WeComAppConfig> {
        let registry = self.config.current();
        let first = registry.wecom_apps.keys().min()?;
        registry.wecom_apps.get(first).cloned()
    }

    /// A fresh WeCom login link, its state remembered (hashed) for [`WECOM_LOGIN_TTL`].
    pub async fn wecom_login_link(&self) -> Result<WeComLoginLink, ConsoleError> {
        let app = self.wecom_login_app().ok_or(ConsoleError::WeComLoginOff)?;
        let browser_secret = new_token();
        let state = wecom_login_state(browser_secret.expose());
        let now = self.now();
        self.accounts
            .create_console_login_state(&token_hash(&state), now, now + WECOM_LOGIN_TTL)
            .await?;
        let redirect = format!("{}{WECOM_LOGIN_PATH}", self.settings.public_url.trim_end_matches('/'));
        Ok(WeComLoginLink {
            url: sso_login_url(&app_credentials(&app), &redirect, &state),
            browser_secret,
        })
    }

    /// Completes a WeCom login: the state must be the one derived from this browser's secret and unspent
    /// (checked before the code is spent at WeCom), then WeCom names who scanned, and the user linked to
    /// that member gets a session, exactly as a password login does.
    pub async fn login_wecom(
        &self,
        browser_secret: Option<&str>,
        state: &str,
        code: &str,
    ) -> Result<Session, ConsoleError> {
        let app = self.wecom_login_app().ok_or(ConsoleError::WeComLoginOff)?;
        // Both sides are the visitor's own (cookie and query), so a plain comparison leaks nothing.
        let bound = browser_secret.is_some_and(|secret| wecom_login_state(secret) == state);
        if !bound
            || !self
                .accounts
                .take_console_login_state(&token_hash(state), self.now())
                .await?
        {
            return Err(ConsoleError::WeComStateInvalid);
        }
        if code.is_empty() {
            return Err(ConsoleError::WeComNoCode);
        }
        let identity = self
            .wecom
            .login_identity(&app_credentials(&app), code)
            .await
            .map_err(ConsoleError::WeComLogin)?;
        let userid = match identity {
            LoginIdentity::Member(userid) => userid,
            LoginIdentity::NonMember { .. } => return Err(ConsoleError::WeComNotMember),
        };
        match self.accounts.console_user_by_wecom(&userid).await? {
            None => Err(ConsoleError::WeComUnlinked(userid)),
            Some(user) if user.disabled_at.is_some() => Err(ConsoleError::AccountDisabled(user.username)),
            Some(user) => {
                let _ = self.accounts.prune_console_sessions(self.now()).await;
                self.open_session(user).await
            }
        }
    }

    /// Links a user to a WeCom member, or removes the link when `userid` is blank (admins only), recorded.
    pub async fn link_wecom(&self, actor: &ConsoleUser, username: &str, userid: &str) -> Result<(), ConsoleError> {
        require(actor, Role::Admin)?;
        let userid = userid.trim();
        let userid = if userid.is_empty() {
            None
        } else {
            Some(WeComUserId::parse(userid).map_err(|_| ConsoleError::BadWeComUserId(userid.to_owned()))?)
        };
        let detail = userid
            .as_ref()
            .map_or_else(|| "WeCom link removed".to_owned(), |u| format!("WeCom userid {u}"));
        let done = ConsoleAction::new(self.now(), &actor.username, "user.wecom", Some(username), detail);
        let linked = self
            .accounts
            .link_console_wecom(username, userid.as_ref(), &done)
            .await?;
        match (linked, userid) {
            (WeComLinked::Linked, _) => Ok(()),
            (WeComLinked::Taken(holder), Some(userid)) => Err(ConsoleError::WeComTaken { userid, holder }),
            // Removing a link conflicts with nobody: the store names a holder only for a member being linked.
            (WeComLinked::NoSuchUser | WeComLinked::Taken(_), _) => Err(ConsoleError::NoSuchUser(username.to_owned())),
        }
    }

    /// The user a session cookie belongs to, while the session lasts.
    pub async fn session(&self, token: &str) -> Result<Option<ConsoleUser>, ConsoleError> {
        Ok(self.accounts.console_session(&token_hash(token), self.now()).await?)
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<(), ConsoleError> {
        Ok(self.accounts.delete_console_session(&token_hash(token)).await?)
    }

    /// Creates a user (admins only), recorded.
    pub async fn create_user(
        &self,
        actor: &ConsoleUser,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<ConsoleUser, ConsoleError> {
        require(actor, Role::Admin)?;
        check_username(username)?;
        check_password(password)?;
        let new = NewConsoleUser {
            username: username.to_owned(),
            password_hash: hash_password(password).await?,
            role,
        };
        let done = ConsoleAction::new(
            self.now(),
            &actor.username,
            "user.create",
            Some(username),
            format!("role {}", role.as_str()),
        );
        match self.accounts.create_console_user(&new, &done).await? {
            UserCreated::Created(user) => Ok(user),
            UserCreated::NameTaken | UserCreated::SetupClosed => Err(ConsoleError::NameTaken(username.to_owned())),
        }
    }

    /// Sets a user's role and whether it is disabled (admins only), recorded.
    pub async fn update_user(
        &self,
        actor: &ConsoleUser,
        username: &str,
        role: Role,
        disabled: bool,
    ) -> Result<(), ConsoleError> {
        require(actor, Role::Admin)?;
        let detail = format!("role {}{}", role.as_str(), if disabled { ", disabled" } else { "" });
        let done = ConsoleAction::new(self.now(), &actor.username, "user.update", Some(username), detail);
        match self
            .accounts
            .update_console_user(username, role, disabled, &done)
            .await?
        {
            UserUpdated::Updated => Ok(()),
            UserUpdated::NoSuchUser => Err(ConsoleError::NoSuchUser(username.to_owned())),
            UserUpdated::LastAdmin => Err(ConsoleError::LastAdmin),
        }
    }

    /// Sets a password — one's own, or anyone's as an admin — ending that user's sessions, recorded.
    pub async fn set_password(&self, actor: &ConsoleUser, username: &str, password: &str) -> Result<(), ConsoleError> {
        if actor.username != username {
            require(actor, Role::Admin)?;
        }
        check_password(password)?;
        let hash = hash_password(password).await?;
        let done = ConsoleAction::new(
            self.now(),
            &actor.username,
            "user.password",
            Some(username),
            "password set",
        );
        if self.accounts.set_console_password(username, &hash, &done).await? {
            Ok(())
        } else {
            Err(ConsoleError::NoSuchUser(username.to_owned()))
        }
    }

    /// Every user (admins only).
    pub async fn users(&self, actor: &ConsoleUser) -> Result<Vec<ConsoleUser>, ConsoleError> {
        require(actor, Role::Admin)?;
        Ok(self.accounts.list_console_users().await?)
    }

    /// Records a change made through the console by `actor`.
    pub async fn record(
        &self,
        actor: &ConsoleUser,
        action: &str,
        target: Option<&str>,
        detail: impl Into<String>,
    ) -> Result<(), ConsoleError> {
        let done = ConsoleAction::new(self.now(), &actor.username, action, target, detail);
        Ok(self.accounts.record_console_action(&done).await?)
    }

    /// Records an action of the user named `actor` (a login, where no [`ConsoleUser`] is at hand yet).
    pub async fn record_as(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        detail: impl Into<String>,
    ) -> Result<(), ConsoleError> {
        let done = ConsoleAction::new(self.now(), actor, action, target, detail);
        Ok(self.accounts.record_console_action(&done).await?)
    }

    /// Recorded changes newest first, a page at a time (`before_id` from the last row of the previous page).
    pub async fn actions(
        &self,
        actor: Option<String>,
        before_id: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<ConsoleAction>, ConsoleError> {
        let filter = ConsoleActionFilter {
            actor,
            before_id,
            limit: limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        };
        Ok(self.accounts.console_actions(&filter).await?)
    }
}

/// Refuses a user whose role is below `need`.
pub fn require(user: &ConsoleUser, need: Role) -> Result<(), ConsoleError> {
    if user.role.allows(need) {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden { have: user.role, need })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_are_checked() {
        for ok in ["ops", "a.b_c-d@shop", &"x".repeat(MAX_USERNAME_CHARS)] {
            assert!(check_username(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "<script>", "张三", &"x".repeat(MAX_USERNAME_CHARS + 1)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password("十个字符的中文密码啊").is_ok(), "counted in characters");
        assert!(check_password(&"p".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }

    #[tokio::test]
    async fn passwords_verify_against_their_own_hash_only() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash).await.unwrap());
        assert!(!verify_password("correct horse batter", &hash).await.unwrap());
        assert!(!verify_password("anything", "not a phc string").await.unwrap());
        assert!(
            PasswordHash::new(DUMMY_HASH).is_ok(),
            "the dummy hash must parse, or unknown names answer faster"
        );
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_from_the_session() {
        let a = csrf_token("session-a");
        assert_eq!(a, csrf_token("session-a"));
        assert_ne!(a, csrf_token("session-b"));
        assert_ne!(a, token_hash("session-a"), "the stored hash must not be the CSRF token");
    }
}
