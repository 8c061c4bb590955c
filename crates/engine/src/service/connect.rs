//! Onboarding's live checks: a WeCom self-built app is tested with its own credentials — the access token
//! (gettoken), the agent lookup (agent/get, which reads only the Secret's own app: it proves the AgentId
//! belongs to the Secret and names the app), then a test message to an admin member — and saved only when
//! every step passes; a group robot typed into the wizard gets a test message and is saved when it
//! arrives; "test connection" runs every check over what is configured. Each failed step carries WeCom's
//! errcode and the advice of [`WeComError`] (40001 Secret, 40013 CorpID, 60020 with the IP WeCom saw, 40056
//! AgentId, 301002 another app's Secret, 93000 robot key).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use shoprelay_core::audit_text;
use shoprelay_core::entity::EntityProblem;
use shoprelay_core::error::UserFacing;
use shoprelay_core::event::Platform;
use shoprelay_core::ids::ConfigId;
use shoprelay_core::secret::Secret;
use shoprelay_marketplaces::adapter::{MarketplaceApp, ShopAccess};
use shoprelay_marketplaces::config::{Sections, ShopConfig};
use shoprelay_marketplaces::platform::push_key_label;
use shoprelay_marketplaces::standing::Standing;
use shoprelay_store::{ConsoleAction, ConsoleUser, Role};
use shoprelay_wecom::client::AppCredentials;
use shoprelay_wecom::error::WeComError;
use shoprelay_wecom::message::{AppBody, AppMessage, Recipients, RobotMessage};

use super::console::{require, ConsoleError};
use super::entity::standing_key;
use crate::config::{Registry, RobotConfig, WeComAppConfig};
use crate::standing;
use crate::tokens::TokenError;
use crate::Engine;

/// How far back the order API step lists changed orders (seconds).
const ORDER_WINDOW: Duration = Duration::from_secs(15 * 60);

/// What one step of a check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `gettoken` with the CorpID and Secret.
    Token,
    /// `agent/get` of the AgentId with the Secret's token (the app's name; the AgentId is the Secret's app).
    AgentLookup,
    /// A test message from the app to a member (AgentId and Secret of one app, the member reachable).
    TestMessage,
    /// A test message through a group robot.
    Robot,
    /// The entity consistency check of a shop.
    Entity,
    /// A push signed with the marketplace app's keys, sent to this server's own push endpoint.
    PushSignature,
    /// A refresh of the shop's tokens (the single-use refresh token spent, the new pair kept).
    TokenRefresh,
    /// An order API call with the fresh token (the orders changed in the last 15 minutes).
    OrderApi,
    /// The shop's standing in the marketplace's shop information (frozen or trading).
    ShopStanding,
}

/// Why a marketplace step failed where the marketplace gave no error of its own.
#[derive(Debug, thiserror::Error)]
pub enum MarketplaceStepError {
    /// This server's push endpoint refused the signed push.
    #[error("the push endpoint {url} answered {status}")]
    PushRefused {
        /// The app's marketplace.
        platform: Platform,
        /// Where it was sent.
        url: String,
        /// The answer's status.
        status: u16,
    },
    /// This server's push endpoint could not be reached at its public URL.
    #[error("the push endpoint {0} cannot be reached")]
    PushUnreachable(String),
    /// Another process is refreshing the shop's tokens.
    #[error("the shop's tokens are being refreshed by another process")]
    RefreshBusy,
    /// Storage or configuration.
    #[error("{0}")]
    Internal(String),
}

impl UserFacing for MarketplaceStepError {
    fn code(&self) -> &'static str {
        match self {
            Self::PushRefused { status: 401, .. } => "push.signature_invalid",
            Self::PushRefused { .. } => "connect.push_refused",
            Self::PushUnreachable(_) => "connect.push_unreachable",
            Self::RefreshBusy => "connect.refresh_busy",
            Self::Internal(_) => "connect.internal",
        }
    }
    fn status(&self) -> u16 {
        502
    }
    fn message_zh(&self) -> String {
        match self {
            Self::PushRefused {
                platform,
                url,
                status: 401,
            } => format!(
                "推送签名未通过（{url}）：请核对应用的推送密钥（{}），\
                 且 server.public_url 与平台后台填写的推送地址完全一致",
                push_key_label(*platform)
            ),
            Self::PushRefused { url, status, .. } => {
                format!("推送地址 {url} 返回 {status}：请确认地址中的平台与应用 ID 与配置一致，且没有代理改写请求")
            }
            Self::PushUnreachable(url) => format!(
                "无法访问推送地址 {url}：请确认 server.public_url 正确、可从公网访问（平台也要能访问），证书有效"
            ),
            Self::RefreshBusy => "另一个进程正在刷新该店铺的令牌：稍后再测试一次".into(),
            Self::Internal(why) => format!("内部错误：{why}"),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::PushRefused {
                platform,
                url,
                status: 401,
            } => format!(
                "The push signature was refused ({url}): check the app's push key ({}) and that server.public_url is \
                 exactly the push URL set at the marketplace",
                push_key_label(*platform)
            ),
            Self::PushRefused { url, status, .. } => format!(
                "The push URL {url} answered {status}: check that its platform and app id match the configuration and \
                 that no proxy rewrites the request"
            ),
            Self::PushUnreachable(url) => format!(
                "The push URL {url} cannot be reached: check that server.public_url is right, reachable from the \
                 internet (the marketplace must reach it too) and its certificate valid"
            ),
            Self::RefreshBusy => "Another process is refreshing this shop's tokens: test again in a moment".into(),
            Self::Internal(why) => format!("Internal error: {why}"),
        }
    }
}

/// A token failure as a step's failure, with what to do.
fn token_failure(err: &TokenError) -> StepFailure {
    match err {
        TokenError::NotAuthorized(_) | TokenError::NeedsReauthorization(_) => {
            StepFailure::of(&EntityProblem::ShopInactive, None)
        }
        TokenError::Marketplace(api) => StepFailure::of(api, None),
        TokenError::RefreshInProgress(_) => StepFailure::of(&MarketplaceStepError::RefreshBusy, None),
        other => StepFailure::of(&MarketplaceStepError::Internal(other.to_string()), None),
    }
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
    /// What a passed step could not tell (a marketplace that reports no shop status), or when the
    /// marketplace told what it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<StepNote>,
}

/// A passed step's remark, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepNote {
    /// In Chinese.
    pub message_zh: String,
    /// In English.
    pub message_en: String,
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

/// A group robot as typed into the wizard.
#[derive(Debug, Clone)]
pub struct RobotInput {
    /// shoprelay's id for it (`ops`); rules name it.
    pub id: String,
    /// The webhook key, or the whole webhook address WeCom shows (`…/cgi-bin/webhook/send?key=…`).
    pub key: Secret,
    /// API host; the webhook address's host, else WeCom's production host, when empty.
    pub api_base: String,
}

/// A field of the wizard that cannot be right.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The field named is malformed.
    #[error("the field {0} is malformed")]
    Field(&'static str),
    /// A marketplace app's fields do not make an app: each problem with its field.
    #[error("the marketplace app cannot be saved: {}", .0.join("; "))]
    App(Vec<String>),
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
        "robot_id" => "机器人标识须为字母、数字、- 或 _（规则用它指定机器人）",
        "robot_key" => {
            "请填写群机器人的 Webhook 地址或其中 key= 后的部分（群聊「群机器人」详情页），只含字母、数字和 -"
        }
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
        "robot_id" => "The robot id is letters, digits, - or _ (rules name the robot by it)",
        "robot_key" => {
            "Enter the robot's webhook address or the part after key= (the group chat's robot details): \
             letters, digits and - only"
        }
        _ => "Enter the userid (account) of the member who gets the test message",
    }
}

impl UserFacing for ConnectError {
    fn code(&self) -> &'static str {
        match self {
            Self::Field(_) => "onboarding.bad_field",
            Self::App(_) => "onboarding.bad_app",
            Self::Console(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            Self::Field(_) | Self::App(_) => 400,
            Self::Console(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::Field(f) => field_zh(f).into(),
            Self::App(problems) => format!("未保存电商平台应用，请修正：{}", problems.join("；")),
            Self::Console(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::Field(f) => field_en(f).into(),
            Self::App(problems) => format!("The marketplace app was not saved; fix: {}", problems.join("; ")),
            Self::Console(e) => e.message_en(),
        }
    }
}

fn alnum(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The API host typed in; else `fallback`; else WeCom's production host.
fn api_base_of(typed: &str, fallback: Option<String>) -> Result<String, ConnectError> {
    match typed.trim() {
        "" => Ok(fallback.unwrap_or_else(|| shoprelay_wecom::client::DEFAULT_API_BASE.to_owned())),
        b if b.starts_with("http://") || b.starts_with("https://") => Ok(b.trim_end_matches('/').to_owned()),
        _ => Err(ConnectError::Field("api_base")),
    }
}

/// Checks the wizard's robot fields and builds the robot's configuration. Admins paste the whole webhook
/// address as often as the key, so the key is taken out of it, and its host is the API host unless one
/// is typed.
fn parse_robot(input: &RobotInput) -> Result<RobotConfig, ConnectError> {
    let id = ConfigId::parse(input.id.trim()).map_err(|_| ConnectError::Field("robot_id"))?;
    let typed = input.key.expose().trim();
    let (key, host) = if typed.starts_with("http://") || typed.starts_with("https://") {
        let url = reqwest::Url::parse(typed).map_err(|_| ConnectError::Field("robot_key"))?;
        let key = url.query_pairs().find(|(k, _)| k == "key").map(|(_, v)| v.into_owned());
        (key.unwrap_or_default(), Some(url.origin().ascii_serialization()))
    } else {
        (typed.to_owned(), None)
    };
    let key_ok = !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !key_ok {
        return Err(ConnectError::Field("robot_key"));
    }
    Ok(RobotConfig {
        id,
        key: Secret::new(key),
        api_base: api_base_of(&input.api_base, host)?,
    })
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
    let api_base = api_base_of(&input.api_base, None)?;
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

    /// Token, the agent lookup, then a test message to `to`, with the app's credentials.
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
            note: None,
        };
        let failed = |err: &WeComError| Some(StepFailure::of(err, err.errcode()));
        // agent/get fetches the token first, so a token failure surfaces here.
        let agent = match self.engine.wecom.agent(&creds).await {
            Ok(agent) => agent,
            Err(err) if err.failed_at_token() => return vec![step(StepKind::Token, failed(&err))],
            Err(err) => return vec![step(StepKind::Token, None), step(StepKind::AgentLookup, failed(&err))],
        };
        let lookup = Step {
            note: Some(StepNote {
                message_zh: format!("应用名称：{}", agent.name),
                message_en: format!("App name: {}", agent.name),
            }),
            ..step(StepKind::AgentLookup, None)
        };
        let sent = match self.engine.wecom.send_app_message(&creds, &message).await {
            Ok(receipt) if receipt.invalid_users.is_empty() => None,
            Ok(_) => {
                let unreached = WeComError::recipients_unreachable(to);
                Some(StepFailure::of(&unreached, unreached.errcode()))
            }
            Err(err) => failed(&err),
        };
        vec![step(StepKind::Token, None), lookup, step(StepKind::TestMessage, sent)]
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
            self.engine.store.put_config(&object, self.engine.clock.now()).await?;
            self.engine.reload_config().await?;
        }
        let what = format!("corp_id {}, agent_id {}", app.corp_id, app.agent_id);
        let detail = match steps.iter().find_map(|s| s.failure.as_ref()) {
            Some(f) => audit_text::connect_failed(&what, f.code),
            None => audit_text::connect_passed(&what),
        };
        self.record(actor, "wecom.connect", Some(app.id.as_str()), detail)
            .await?;
        Ok((steps, passed))
    }

    /// A test message through the robot.
    async fn robot_step(&self, robot: &RobotConfig) -> Step {
        let message = RobotMessage::Markdown {
            content: "**shoprelay** 连接测试：群机器人已接通 ✅ / connection test: the robot works".into(),
        };
        let sent = self
            .engine
            .wecom
            .send_robot(&robot.api_base, &robot.key, &message)
            .await;
        Step {
            kind: StepKind::Robot,
            subject: robot.id.to_string(),
            failure: sent.err().map(|err| StepFailure::of(&err, err.errcode())),
            note: None,
        }
    }

    /// Tests a group robot typed into the wizard with a message through it and, when WeCom takes it,
    /// saves it as the `robot` configuration object (operators and admins). Returns the step and whether
    /// it was saved; both are recorded as a console action.
    pub async fn connect_robot(
        &self,
        actor: &ConsoleUser,
        input: &RobotInput,
    ) -> Result<(Vec<Step>, bool), ConnectError> {
        require(actor, Role::Operator)?;
        let robot = parse_robot(input)?;
        let step = self.robot_step(&robot).await;
        let passed = step.passed();
        if passed {
            let object = Registry::robot_object(&self.engine.secrets, &robot)?;
            self.engine.store.put_config(&object, self.engine.clock.now()).await?;
            self.engine.reload_config().await?;
        }
        let what = format!("api_base {}", robot.api_base);
        let detail = match &step.failure {
            Some(f) => audit_text::connect_failed(&what, f.code),
            None => audit_text::connect_passed(&what),
        };
        self.record(actor, "robot.connect", Some(robot.id.as_str()), detail)
            .await?;
        Ok((vec![step], passed))
    }

    /// Saves a marketplace app typed into the wizard (operators and admins; recorded): `platform` is
    /// `shopee`, `lazada` or `tiktok`, `fields` its settings as in `shoprelay.toml` (blank ones left out).
    /// Its credentials are proven by "test connection" (a signed push, a token refresh, an order call).
    pub async fn connect_marketplace_app(
        &self,
        actor: &ConsoleUser,
        platform: &str,
        fields: &[(&str, &str)],
    ) -> Result<ConfigId, ConnectError> {
        require(actor, Role::Operator)?;
        let kind = format!("{platform}_app");
        let app = match Sections::form_app(&kind, fields) {
            None => {
                return Err(ConnectError::App(vec![format!(
                    "platform: `{platform}` is not a marketplace"
                )]))
            }
            Some(Err(err)) => return Err(ConnectError::App(vec![err.to_string()])),
            Some(Ok(app)) => app,
        };
        let problems: Vec<String> = app
            .problems()
            .into_iter()
            .map(|(field, why)| format!("{field}: {why}"))
            .collect();
        if !problems.is_empty() {
            return Err(ConnectError::App(problems));
        }
        let object = Registry::app_object(&self.engine.secrets, app.as_ref())?;
        self.engine.store.put_config(&object, self.engine.clock.now()).await?;
        self.engine.reload_config().await?;
        let id = app.id().clone();
        self.record(
            actor,
            "marketplace.connect",
            Some(id.as_str()),
            format!("{platform} app saved"),
        )
        .await?;
        Ok(id)
    }

    /// Runs every check over what is configured: each WeCom app (token, a test message to `to`), each
    /// robot (a test message), each marketplace app (a self-sent signed push) and its shops (token
    /// refresh, an order API call, the shop's standing), each shop's entity check (operators and admins;
    /// recorded).
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
            steps.push(self.robot_step(robot).await);
        }
        let mut markets: Vec<_> = registry.marketplaces.iter().cloned().collect();
        markets.sort_by(|a, b| a.id().cmp(b.id()));
        for app in &markets {
            steps.extend(self.marketplace_steps(&registry, app).await);
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
                note: None,
            });
        }
        let failed = steps.iter().filter(|s| !s.passed()).count();
        let detail = audit_text::steps_failed(steps.len(), failed);
        self.record(actor, "connection.test", None, detail).await?;
        Ok(steps)
    }

    /// One marketplace app's steps: a push signed with its keys sent to this server's push endpoint, then
    /// for each of its shops a token refresh, an order API call and the shop's standing (kept for the
    /// entity check). A shop's later steps are skipped when its token cannot be had.
    async fn marketplace_steps(&self, registry: &Registry, app: &Arc<dyn MarketplaceApp>) -> Vec<Step> {
        let mut steps = vec![self.push_step(app.as_ref()).await];
        let mut shops: Vec<&ShopConfig> = registry.shops.values().filter(|s| &s.app == app.id()).collect();
        shops.sort_by_key(|s| s.shop_id);
        for shop in shops {
            steps.extend(self.shop_steps(app.as_ref(), shop).await);
        }
        steps
    }

    async fn push_step(&self, app: &dyn MarketplaceApp) -> Step {
        let public_url = &self.engine.settings.public_url;
        let url = format!(
            "{}/push/{}/{}",
            public_url.trim_end_matches('/'),
            app.platform().as_str(),
            app.id()
        );
        let body = serde_json::json!({
            "shoprelay_probe": "test connection",
            "timestamp": self.engine.clock.now().as_secs(),
        })
        .to_string();
        let signature = app.sign_push(public_url, body.as_bytes());
        let sent = self
            .engine
            .http
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("x-shoprelay-probe", "1")
            .body(body)
            .send()
            .await;
        let failure = match sent {
            Ok(answer) if answer.status().is_success() => None,
            Ok(answer) => Some(MarketplaceStepError::PushRefused {
                platform: app.platform(),
                url,
                status: answer.status().as_u16(),
            }),
            Err(_) => Some(MarketplaceStepError::PushUnreachable(url)),
        };
        Step {
            kind: StepKind::PushSignature,
            subject: format!("{} {}", app.platform(), app.id()),
            failure: failure.map(|f| StepFailure::of(&f, None)),
            note: None,
        }
    }

    async fn shop_steps(&self, app: &dyn MarketplaceApp, shop: &ShopConfig) -> Vec<Step> {
        let subject = format!("{} ({}/{})", shop.name, shop.app, shop.shop_id);
        let step = |kind, failure| Step {
            kind,
            subject: subject.clone(),
            failure,
            note: None,
        };
        let version = match self.engine.store.shop_auth(&shop.app, shop.shop_id).await {
            Ok(Some(auth)) => auth.version,
            Ok(None) => {
                return vec![step(
                    StepKind::TokenRefresh,
                    Some(token_failure(&TokenError::NotAuthorized(shop.shop_id))),
                )]
            }
            Err(err) => {
                let failure = MarketplaceStepError::Internal(err.to_string());
                return vec![step(StepKind::TokenRefresh, Some(StepFailure::of(&failure, None)))];
            }
        };
        if let Err(err) = self.engine.tokens.refresh_shop(&shop.app, shop.shop_id, version).await {
            return vec![step(StepKind::TokenRefresh, Some(token_failure(&err)))];
        }
        // Just refreshed, so this reads the new token and the profile the refresh kept.
        let access = match self.engine.tokens.access_token(&shop.app, shop.shop_id).await {
            Ok(access) => access,
            Err(err) => return vec![step(StepKind::TokenRefresh, Some(token_failure(&err)))],
        };
        let mut steps = vec![step(StepKind::TokenRefresh, None)];
        let region = shop.region.as_deref();
        let now = self.engine.clock.now();
        let listed = app
            .changed_orders(shop.shop_id, region, &access, now - ORDER_WINDOW, now, None)
            .await;
        steps.push(step(
            StepKind::OrderApi,
            listed.err().map(|e| StepFailure::of(&e, None)),
        ));
        steps.push(self.standing_step(app, shop, &access, &subject).await);
        steps
    }

    /// The shop's standing step: what its adapter says, from the marketplace's API or from the shop's
    /// latest seller-status push (with when it came); kept for the entity check when it says anything.
    async fn standing_step(
        &self,
        app: &dyn MarketplaceApp,
        shop: &ShopConfig,
        access: &ShopAccess,
        subject: &str,
    ) -> Step {
        let region = shop.region.as_deref();
        let step = |failure, note| Step {
            kind: StepKind::ShopStanding,
            subject: subject.to_owned(),
            failure,
            note,
        };
        let internal = |err: shoprelay_store::StoreError| {
            let failure = MarketplaceStepError::Internal(err.to_string());
            step(Some(StepFailure::of(&failure, None)), None)
        };
        let pushed = match standing::pushed(self.engine.store.as_ref(), &shop.app, shop.shop_id).await {
            Ok(pushed) => pushed,
            Err(err) => return internal(err),
        };
        let standing = match app.shop_standing(shop.shop_id, region, access, pushed.as_ref()).await {
            Ok(standing) => standing,
            Err(err) => return step(Some(StepFailure::of(&err, None)), None),
        };
        let (kept, failure, note) = match &standing {
            Standing::Known { state, reported_at } => {
                let failure = standing::problem_of(*state).map(|problem| {
                    let (message_zh, message_en) = standing::problem_text(&problem, *reported_at, region);
                    StepFailure {
                        code: problem.code(),
                        errcode: None,
                        message_zh,
                        message_en,
                    }
                });
                // A standing read from a push says when; one read from the API just now needs no remark.
                let note = match (&failure, reported_at) {
                    (None, Some(_)) => {
                        let (zh, en) = standing::reported_suffix(*reported_at, region);
                        Some(StepNote {
                            message_zh: format!("店铺状态正常{zh}"),
                            message_en: format!("The shop is trading{en}"),
                        })
                    }
                    _ => None,
                };
                (standing::meta_value(*state), failure, note)
            }
            Standing::Unknown(why) => (
                "unknown",
                None,
                Some(StepNote {
                    message_zh: why.message_zh(),
                    message_en: why.message_en(),
                }),
            ),
        };
        match self
            .engine
            .store
            .set_meta(&standing_key(&shop.app, shop.shop_id), kept)
            .await
        {
            Ok(()) => step(failure, note),
            Err(err) => internal(err),
        }
    }

    async fn record(
        &self,
        actor: &ConsoleUser,
        action: &str,
        target: Option<&str>,
        detail: String,
    ) -> Result<(), ConnectError> {
        let done = ConsoleAction::new(self.engine.clock.now(), &actor.username, action, target, detail);
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
    fn a_robot_is_its_key_or_its_webhook_address() {
        let robot = |id: &str, key: &str, api_base: &str| {
            parse_robot(&RobotInput {
                id: id.into(),
                key: Secret::new(key),
                api_base: api_base.into(),
            })
        };
        let plain = robot("ops", " 693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa ", "").unwrap();
        assert_eq!(plain.key.expose(), "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa");
        assert_eq!(plain.api_base, shoprelay_wecom::client::DEFAULT_API_BASE);
        let pasted = robot("ops", "http://127.0.0.1:9/cgi-bin/webhook/send?key=abc-123", "").unwrap();
        assert_eq!(
            (pasted.key.expose(), pasted.api_base.as_str()),
            ("abc-123", "http://127.0.0.1:9")
        );
        let typed_host = robot(
            "ops",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1",
            "http://sim:1/",
        );
        assert_eq!(typed_host.unwrap().api_base, "http://sim:1");
        let field = |r: Result<RobotConfig, ConnectError>| match r {
            Err(ConnectError::Field(f)) => f,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(robot("o p", "k", "")), "robot_id");
        assert_eq!(field(robot("ops", " ", "")), "robot_key");
        assert_eq!(field(robot("ops", "k y", "")), "robot_key");
        assert_eq!(
            field(robot("ops", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "")),
            "robot_key"
        );
        assert_eq!(field(robot("ops", "k", "ftp://x")), "api_base");
    }
}
