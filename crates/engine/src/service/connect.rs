//! Onboarding's live checks: a WeCom self-built app is tested with its own credentials — the access token
//! (gettoken), then a test message to an admin member, which also proves the AgentId belongs to the Secret —
//! and saved only when every step passes; group robots get a test message; "test connection" runs every
//! check over what is configured. Each failed step carries WeCom's errcode and the advice of
//! [`WeComError`] (40001 Secret, 40013 CorpID, 60020 with the IP WeCom saw, 40056 AgentId, 301002 another
//! app's Secret, 93000 robot key).

use serde::Serialize;
use shoprelay_core::entity::EntityProblem;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ConfigId;
use shoprelay_core::secret::Secret;
use shoprelay_store::{ConsoleAction, ConsoleUser, Role};
use shoprelay_wecom::client::AppCredentials;
use shoprelay_wecom::error::WeComError;
use shoprelay_wecom::message::{AppBody, AppMessage, Recipients, RobotMessage};

use super::console::{require, ConsoleError};
use crate::config::{Registry, WeComAppConfig};
use crate::Engine;

/// What one step of a check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `gettoken` with the CorpID and Secret.
    Token,
    /// A test message from the app to a member (AgentId and Secret of one app, the member reachable).
    TestMessage,
    /// A test message through a group robot.
    Robot,
    /// The entity consistency check of a shop.
    Entity,
}

/// Why a step failed: a stable code, WeCom's errcode when it gave one, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepFailure {
    /// Stable code (`wecom.secret_rejected`, `ERR_AUTH_MISMATCH`, …).
    pub code: &'static str,
    /// WeCom's errcode.
    pub errcode: Option<i64>,
    /// What happened and what to do, in Chinese.
    pub message_zh: String,
    /// The same in English.
    pub message_en: String,
}

impl StepFailure {
    fn of(err: &dyn UserFacing, errcode: Option<i64>) -> Self {
        Self {
            code: err.code(),
            errcode,
            message_zh: err.message_zh(),
            message_en: err.message_en(),
        }
    }
}

/// One step and how it went: `None` passed, `Some` failed. A step after a failed one is not listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Which step.
    pub kind: StepKind,
    /// What it was run on (an app, a robot, a shop).
    pub subject: String,
    /// Why it failed, if it did.
    pub failure: Option<StepFailure>,
}

impl Step {
    /// Whether the step passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// A self-built app as typed into the wizard.
#[derive(Debug, Clone)]
pub struct WeComAppInput {
    /// shoprelay's id for it (`hq`); the callback URL ends with it.
    pub id: String,
    /// CorpID.
    pub corp_id: String,
    /// AgentId.
    pub agent_id: String,
    /// Secret.
    pub secret: Secret,
    /// Callback Token (optional: only for receiving members' messages).
    pub callback_token: Option<Secret>,
    /// Callback EncodingAESKey (with the token).
    pub encoding_aes_key: Option<Secret>,
    /// API host; WeCom's production host when empty.
    pub api_base: String,
    /// The member who receives the test message.
    pub test_user: String,
}

/// A field of the wizard that cannot be right.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The field named is malformed.
    #[error("the field {0} is malformed")]
    Field(&'static str),
    /// Accounts or storage.
    #[error(transparent)]
    Console(#[from] ConsoleError),
}

impl From<shoprelay_store::StoreError> for ConnectError {
    fn from(err: shoprelay_store::StoreError) -> Self {
        Self::Console(err.into())
    }
}

impl From<crate::EngineError> for ConnectError {
    fn from(err: crate::EngineError) -> Self {
        Self::Console(err.into())
    }
}

fn field_zh(field: &str) -> &'static str {
    match field {
        "id" => "应用标识须为字母、数字、- 或 _",
        "corp_id" => "企业 ID（CorpID）须为字母和数字，见企业微信管理后台「我的企业」页面底部",
        "agent_id" => "AgentId 须为正整数，见应用详情页",
        "secret" => "请填写应用的 Secret（应用详情页「查看」后发送到企业微信）",
        "callback_token" => "回调 Token 须为 1–32 个字母或数字",
        "encoding_aes_key" => "EncodingAESKey 须恰好 43 个字母或数字；Token 与 EncodingAESKey 须同时填写",
        "api_base" => "API 地址须以 http:// 或 https:// 开头",
        _ => "请填写接收测试消息的成员 userid（通讯录中成员详情的「账号」）",
    }
}

fn field_en(field: &str) -> &'static str {
    match field {
        "id" => "The app id is letters, digits, - or _",
        "corp_id" => "The CorpID is letters and digits (bottom of My Company in WeCom's admin console)",
        "agent_id" => "The AgentId is a positive number (the app's detail page)",
        "secret" => "Enter the app's Secret (the app's detail page, View)",
        "callback_token" => "The callback Token is 1–32 letters or digits",
        "encoding_aes_key" => "The EncodingAESKey is exactly 43 letters or digits; give it together with the Token",
        "api_base" => "The API base starts with http:// or https://",
        _ => "Enter the userid (account) of the member who gets the test message",
    }
}

impl UserFacing for ConnectError {
    fn code(&self) -> &'static str {
        match self {
            Self::Field(_) => "onboarding.bad_field",
            Self::Console(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::Field(_) => 400,
            Self::Console(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::Field(f) => field_zh(f).into(),
            Self::Console(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::Field(f) => field_en(f).into(),
            Self::Console(e) => e.message_en(),
        }
    }
}

/// gettoken's own failures: the CorpID, the Secret, the caller's IP, or reaching WeCom at all.
fn failed_at_token(err: &WeComError) -> bool {
    match err.errcode() {
        Some(code) => matches!(code, 40001 | 40013 | 60020 | 40091 | 42009),
        None => true,
    }
}

fn alnum(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks the wizard's fields and builds the app's configuration.
fn parse_input(input: &WeComAppInput) -> Result<WeComAppConfig, ConnectError> {
    let id = ConfigId::parse(input.id.trim()).map_err(|_| ConnectError::Field("id"))?;
    let corp_id = input.corp_id.trim();
    if !alnum(corp_id) || corp_id.len() > 64 {
        return Err(ConnectError::Field("corp_id"));
    }
    let agent_id = input
        .agent_id
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|a| *a > 0)
        .ok_or(ConnectError::Field("agent_id"))?;
    if input.secret.expose().trim().is_empty() {
        return Err(ConnectError::Field("secret"));
    }
    let given = |s: &Option<Secret>| s.as_ref().filter(|s| !s.expose().trim().is_empty()).cloned();
    let (token, key) = (given(&input.callback_token), given(&input.encoding_aes_key));
    if token
        .as_ref()
        .is_some_and(|t| !alnum(t.expose()) || t.expose().len() > 32)
    {
        return Err(ConnectError::Field("callback_token"));
    }
    let key_ok = key.as_ref().is_none_or(|k| k.expose().len() == 43 && alnum(k.expose()));
    if !key_ok || token.is_some() != key.is_some() {
        return Err(ConnectError::Field("encoding_aes_key"));
    }
    let api_base = match input.api_base.trim() {
        "" => shoprelay_wecom::client::DEFAULT_API_BASE.to_owned(),
        b if b.starts_with("http://") || b.starts_with("https://") => b.trim_end_matches('/').to_owned(),
        _ => return Err(ConnectError::Field("api_base")),
    };
    if input.test_user.trim().is_empty() {
        return Err(ConnectError::Field("test_user"));
    }
    Ok(WeComAppConfig {
        id,
        corp_id: corp_id.to_owned(),
        secret: Secret::new(input.secret.expose().trim()),
        agent_id,
        api_base,
        callback_token: token,
        encoding_aes_key: key,
        rate_per_minute: 200,
        // The wizard connects by callback URL; a long connection is configured in TOML for now.
        bot_id: None,
        bot_secret: None,
        long_connection_url: None,
    })
}

/// Onboarding's checks.
pub struct ConnectService<'a> {
    engine: &'a Engine,
}

impl<'a> ConnectService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self { engine }
    }

    /// The URL to paste into WeCom as the app's callback (接收消息服务器 URL).
    pub fn callback_url(&self, app_id: &str) -> String {
        format!("{}/wecom/callback/{app_id}", self.engine.settings.public_url)
    }

    /// Token, then a test message to `to`, with the app's credentials.
    async fn app_steps(&self, app: &WeComAppConfig, to: &str) -> Vec<Step> {
        let creds = AppCredentials {
            corp_id: app.corp_id.clone(),
            secret: app.secret.clone(),
            agent_id: app.agent_id,
            api_base: app.api_base.clone(),
        };
        let message = AppMessage {
            recipients: Recipients::users([to]),
            agentid: app.agent_id,
            body: AppBody::text("shoprelay 连接测试：企业微信应用已接通 ✅ / connection test: the WeCom app works"),
            enable_duplicate_check: false,
            duplicate_check_interval: None,
        };
        let subject = app.id.to_string();
        let step = |kind, failure| Step {
            kind,
            subject: subject.clone(),
            failure,
        };
        // One call: message/send fetches the token first, so a token failure surfaces here too.
        match self.engine.wecom.send_app_message(&creds, &message).await {
            Ok(receipt) if receipt.invalid_users.is_empty() => {
                vec![step(StepKind::Token, None), step(StepKind::TestMessage, None)]
            }
            Ok(_) => {
                let unreached = WeComError::Api {
                    errcode: 81013,
                    errmsg: format!("user {to} unreachable"),
                };
                vec![
                    step(StepKind::Token, None),
                    step(StepKind::TestMessage, Some(StepFailure::of(&unreached, Some(81013)))),
                ]
            }
            Err(err) if failed_at_token(&err) => {
                vec![step(StepKind::Token, Some(StepFailure::of(&err, err.errcode())))]
            }
            Err(err) => vec![
                step(StepKind::Token, None),
                step(StepKind::TestMessage, Some(StepFailure::of(&err, err.errcode()))),
            ],
        }
    }

    /// Tests a self-built app typed into the wizard and, when every step passes, saves it (operators and
    /// admins). Returns the steps and whether it was saved; both are recorded as a console action.
    pub async fn connect_app(
        &self,
        actor: &ConsoleUser,
        input: &WeComAppInput,
    ) -> Result<(Vec<Step>, bool), ConnectError> {
        require(actor, Role::Operator)?;
        let app = parse_input(input)?;
        let steps = self.app_steps(&app, input.test_user.trim()).await;
        let passed = steps.iter().all(Step::passed);
        if passed {
            let object = Registry::wecom_app_object(&self.engine.secrets, &app)?;
            self.engine
                .store
                .put_config(&object, self.engine.clock.now_ms())
                .await?;
            self.engine.reload_config().await?;
        }
        let outcome = steps
            .iter()
            .find_map(|s| s.failure.as_ref().map(|f| format!("failed: {}", f.code)))
            .unwrap_or_else(|| "passed, saved".into());
        let detail = format!("corp_id {}, agent_id {}; {outcome}", app.corp_id, app.agent_id);
        self.record(actor, "wecom.connect", Some(app.id.as_str()), detail)
            .await?;
        Ok((steps, passed))
    }

    /// Runs every check over what is configured: each WeCom app (token, a test message to `to`), each
    /// robot (a test message), each shop's entity check (operators and admins; recorded).
    pub async fn test_all(&self, actor: &ConsoleUser, to: &str) -> Result<Vec<Step>, ConnectError> {
        require(actor, Role::Operator)?;
        if to.trim().is_empty() {
            return Err(ConnectError::Field("test_user"));
        }
        let registry = self.engine.registry();
        let mut steps = Vec::new();
        let mut apps: Vec<_> = registry.wecom_apps.values().collect();
        apps.sort_by(|a, b| a.id.cmp(&b.id));
        for app in apps {
            steps.extend(self.app_steps(app, to.trim()).await);
        }
        let mut robots: Vec<_> = registry.robots.values().collect();
        robots.sort_by(|a, b| a.id.cmp(&b.id));
        for robot in robots {
            let message = RobotMessage::Markdown {
                content: "**shoprelay** 连接测试：群机器人已接通 ✅ / connection test: the robot works".into(),
            };
            let failure = match self
                .engine
                .wecom
                .send_robot(&robot.api_base, &robot.key, &message)
                .await
            {
                Ok(()) => None,
                Err(err) => Some(StepFailure::of(&err, err.errcode())),
            };
            steps.push(Step {
                kind: StepKind::Robot,
                subject: robot.id.to_string(),
                failure,
            });
        }
        for report in self.engine.entity().reports().await.map_err(|e| match e {
            super::entity::EntityError::Console(c) => ConnectError::Console(c),
            _ => ConnectError::Field("shop"),
        })? {
            let failure = report
                .problems
                .first()
                .map(|p: &EntityProblem| StepFailure::of(p, None));
            steps.push(Step {
                kind: StepKind::Entity,
                subject: format!("{} ({}/{})", report.name, report.app, report.shop),
                failure,
            });
        }
        let failed = steps.iter().filter(|s| !s.passed()).count();
        let detail = format!("{} steps, {failed} failed", steps.len());
        self.record(actor, "connection.test", None, detail).await?;
        Ok(steps)
    }

    async fn record(
        &self,
        actor: &ConsoleUser,
        action: &str,
        target: Option<&str>,
        detail: String,
    ) -> Result<(), ConnectError> {
        let done = ConsoleAction::new(self.engine.clock.now_ms(), &actor.username, action, target, detail);
        Ok(self.engine.store.record_console_action(&done).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> WeComAppInput {
        WeComAppInput {
            id: "hq".into(),
            corp_id: "ww0123abc".into(),
            agent_id: "1000002".into(),
            secret: Secret::new("s3cret"),
            callback_token: None,
            encoding_aes_key: None,
            api_base: String::new(),
            test_user: "zhangsan".into(),
        }
    }

    #[test]
    fn wizard_fields_are_checked_before_any_call() {
        let ok = parse_input(&input()).unwrap();
        assert_eq!(ok.api_base, shoprelay_wecom::client::DEFAULT_API_BASE);
        let bad = |f: fn(&mut WeComAppInput), field: &str| {
            let mut i = input();
            f(&mut i);
            match parse_input(&i) {
                Err(ConnectError::Field(got)) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        };
        bad(|i| i.id = "h q".into(), "id");
        bad(|i| i.corp_id = "ww 1".into(), "corp_id");
        bad(|i| i.agent_id = "abc".into(), "agent_id");
        bad(|i| i.agent_id = "0".into(), "agent_id");
        bad(|i| i.secret = Secret::new(" "), "secret");
        bad(|i| i.callback_token = Some(Secret::new("tok en")), "callback_token");
        bad(|i| i.callback_token = Some(Secret::new("token")), "encoding_aes_key");
        bad(
            |i| {
                i.callback_token = Some(Secret::new("token"));
                i.encoding_aes_key = Some(Secret::new("k".repeat(42)));
            },
            "encoding_aes_key",
        );
        bad(|i| i.api_base = "ftp://x".into(), "api_base");
        bad(|i| i.test_user = String::new(), "test_user");
        let mut with_callback = input();
        with_callback.callback_token = Some(Secret::new("token"));
        with_callback.encoding_aes_key = Some(Secret::new("k".repeat(43)));
        assert!(parse_input(&with_callback).is_ok());
    }

    #[test]
    fn token_failures_are_told_from_send_failures() {
        let api = |errcode| WeComError::Api {
            errcode,
            errmsg: String::new(),
        };
        for code in [40001, 40013, 60020] {
            assert!(failed_at_token(&api(code)), "{code}");
        }
        for code in [40056, 301002, 81013] {
            assert!(!failed_at_token(&api(code)), "{code}");
        }
    }
}
