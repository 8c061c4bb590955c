//! `/console/onboarding`: the wizard — connect a WeCom self-built app (tested live, saved when it works,
//! shown with the callback URL to paste into WeCom), authorize the marketplace shops (the signed
//! authorization link, the push URL to configure; the marketplace's redirect lands back here naming the
//! shops bound), the entity check, and "test connection", which runs every check and shows each step
//! green or red with its code and fix.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use shoprelay_core::entity::ShopState;
use shoprelay_core::error::Lang;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::secret::Secret;
use shoprelay_engine::config::RobotConfig;
use shoprelay_engine::service::connect::{RobotInput, Step, StepKind, WeComAppInput};
use shoprelay_marketplaces::platform::{self, credential_fields, display_name};

use super::page::{error_box, error_page, ok_page};
use super::{lang_of, t, Authed, Posted};
use crate::AppState;

fn step_name(lang: Lang, kind: StepKind) -> &'static str {
    match kind {
        StepKind::Token => t(
            lang,
            "获取 access_token（CorpID + Secret）",
            "Access token (CorpID + Secret)",
        ),
        StepKind::AgentLookup => t(
            lang,
            "查询应用（agent/get：AgentId 属于该 Secret 的应用）",
            "Agent lookup (agent/get: the AgentId is the Secret's app)",
        ),
        StepKind::TestMessage => t(
            lang,
            "发送测试消息（AgentId、接收人）",
            "Test message (AgentId, recipient)",
        ),
        StepKind::Robot => t(lang, "群机器人测试消息", "Group robot test message"),
        StepKind::Entity => t(lang, "主体一致性", "Entity check"),
        StepKind::PushSignature => t(
            lang,
            "推送签名（向本服务推送地址自发一条签名推送）",
            "Push signature (a signed push sent to our own push URL)",
        ),
        StepKind::TokenRefresh => t(lang, "刷新店铺令牌", "Shop token refresh"),
        StepKind::OrderApi => t(lang, "订单接口调用", "Order API call"),
        StepKind::ShopStanding => t(lang, "店铺状态（是否冻结）", "Shop standing (frozen or not)"),
    }
}

/// The steps as a list, each green or red with its code, errcode and fix.
pub fn steps_markup(lang: Lang, steps: &[Step]) -> Markup {
    html! {
        ol.steps {
            @for s in steps {
                @match &s.failure {
                    None => li.step-ok {
                        (step_name(lang, s.kind)) " · " (s.subject) " — " (t(lang, "通过", "passed"))
                        @if let Some(n) = &s.note {
                            br;
                            span.muted { (match lang { Lang::Zh => n.message_zh.as_str(), Lang::En => n.message_en.as_str() }) }
                        }
                    },
                    Some(f) => li.step-fail {
                        (step_name(lang, s.kind)) " · " (s.subject) " — "
                        strong { code { (f.code) } }
                        @if let Some(e) = f.errcode { " (errcode " (e) ")" }
                        br;
                        (match lang { Lang::Zh => f.message_zh.as_str(), Lang::En => f.message_en.as_str() })
                    },
                }
            }
        }
    }
}

/// What the wizard shows before and after a WeCom app is tested.
#[derive(Default)]
struct Outcome {
    market: Option<Markup>,
    wecom: Option<(Vec<Step>, bool)>,
    wecom_form: Option<WeComForm>,
    robot: Option<Markup>,
    test: Option<Vec<Step>>,
    error: Option<Markup>,
}

async fn render(state: &AppState, authed: &Authed, outcome: Outcome) -> Response {
    let lang = authed.lang;
    let registry = state.engine.registry();
    let connect = state.engine.connect();
    let reports = match state.engine.entity().reports().await {
        Ok(r) => r,
        Err(err) => return error_page(lang, Some(authed), &err),
    };
    let base = &state.engine.settings.public_url;
    let form = outcome.wecom_form.unwrap_or_default();
    let app_id = if form.id.is_empty() { "hq" } else { form.id.as_str() };
    let mut wecom_apps: Vec<_> = registry.wecom_apps.values().collect();
    wecom_apps.sort_by(|a, b| a.id.cmp(&b.id));
    let mut robots: Vec<_> = registry.robots.values().collect();
    robots.sort_by(|a, b| a.id.cmp(&b.id));
    let mut markets: Vec<_> = registry.marketplaces.iter().collect();
    markets.sort_by(|a, b| a.id().cmp(b.id()));
    let body = html! {
        @if let Some(e) = outcome.error { (e) }
        section id="wecom" {
            h2 { "1. " (t(lang, "连接企业微信（自建应用）", "Connect WeCom (self-built app)")) }
            @if !wecom_apps.is_empty() {
                table {
                    tr { th { (t(lang, "应用", "App")) } th { "CorpID" } th { "AgentId" } th { (t(lang, "回调 URL（填入企业微信「接收消息」设置）", "Callback URL (paste into WeCom's Receive messages settings)")) } }
                    @for a in &wecom_apps {
                        tr { td { (a.id) } td { (a.corp_id) } td { (a.agent_id) } td { code { (connect.callback_url(a.id.as_str())) } } }
                    }
                }
            }
            @if let Some((steps, saved)) = &outcome.wecom {
                (steps_markup(lang, steps))
                @if *saved {
                    div.ok { (t(lang, "企业微信应用已接通并保存。", "The WeCom app works and is saved.")) }
                } @else {
                    div.err { (t(lang, "未保存：请按上面的提示修改后重试。", "Not saved: fix what the steps say and try again.")) }
                }
            }
            form method="post" action="/console/onboarding/wecom" {
                input type="hidden" name="csrf" value=(authed.csrf);
                label { (t(lang, "应用标识（shoprelay 内的名字）", "App id (shoprelay's name for it)")) " " input type="text" name="id" value=(app_id) required; }
                label { (t(lang, "企业 ID（CorpID）", "Corp ID")) " " input type="text" name="corp_id" value=(form.corp_id) required; }
                label { "AgentId " input type="text" name="agent_id" value=(form.agent_id) required; }
                label { "Secret " input type="password" name="secret" required autocomplete="off"; }
                label { (t(lang, "回调 Token（可选）", "Callback Token (optional)")) " " input type="text" name="callback_token" value=(form.callback_token) autocomplete="off"; }
                label { (t(lang, "回调 EncodingAESKey（可选）", "Callback EncodingAESKey (optional)")) " " input type="text" name="encoding_aes_key" value=(form.encoding_aes_key) autocomplete="off"; }
                label { (t(lang, "接收测试消息的成员 userid", "Member userid for the test message")) " " input type="text" name="test_user" value=(form.test_user) required; }
                label { (t(lang, "API 地址（默认企业微信官方，测试时可填模拟器）", "API base (WeCom's by default; a simulator for trials)")) " " input type="text" name="api_base" value=(form.api_base) placeholder="https://qyapi.weixin.qq.com"; }
                p.muted { (t(lang, "回调 URL：", "Callback URL: ")) code { (connect.callback_url(app_id)) } }
                button type="submit" { (t(lang, "测试并保存", "Test and save")) }
            }
            (robot_part(lang, &authed.csrf, &robots, outcome.robot))
        }
        section id="shops" {
            h2 { "2. " (t(lang, "授权店铺", "Authorize shops")) }
            @if let Some(m) = outcome.market { (m) }
            p.muted { (t(lang,
                "填写电商平台开放平台应用的凭证并保存，再打开签名授权链接授权店铺，并把推送地址填入平台的推送设置。凭证由下方「测试连接」实际验证。",
                "Enter the marketplace app's credentials and save, then open the signed authorization link to authorize shops, and paste the push URL into the platform's push settings. \"Test connection\" below proves the credentials.")) }
            @for platform in platform::all() {
                @let apps: Vec<_> = markets.iter().filter(|m| m.platform() == platform).collect();
                div id={ "shops-" (platform.as_str()) } {
                    h3 { (display_name(platform)) }
                    @for m in &apps {
                        p {
                            strong { (m.id()) } br;
                            (t(lang, "推送地址（填入平台开放平台的推送设置）：", "Push URL (set it in the platform's push settings): "))
                            code { (base) "/push/" (m.platform().as_str()) "/" (m.id()) } br;
                            a href={ "/auth/" (m.platform().as_str()) "/" (m.id()) } { (t(lang, "打开签名授权链接，授权店铺 →", "Open the signed authorization link →")) }
                        }
                    }
                    details open[apps.is_empty()] {
                        summary { (t(lang, "添加应用凭证", "Add app credentials")) }
                        form method="post" action="/console/onboarding/marketplace" {
                            input type="hidden" name="csrf" value=(authed.csrf);
                            input type="hidden" name="platform" value=(platform.as_str());
                            label { (t(lang, "应用标识（推送地址以它结尾）", "App id (the push URL ends with it)")) " " input type="text" name="id" required pattern="[A-Za-z0-9_-]+"; }
                            @for field in credential_fields(platform) {
                                label { (t(lang, field.label_zh, field.label_en)) " "
                                    @if field.secret { input type="password" name=(field.name) autocomplete="off"; }
                                    @else { input type="text" name=(field.name); }
                                }
                            }
                            button type="submit" { (t(lang, "保存", "Save")) }
                        }
                    }
                }
            }
            @if !reports.is_empty() {
                table {
                    tr { th { (t(lang, "店铺", "Shop")) } th { (t(lang, "授权", "Authorization")) } }
                    @for r in &reports {
                        tr { td { (r.name) " (" (r.app) "/" (r.shop) ")" }
                             td { @if r.state == ShopState::Active { span.step-ok { (t(lang, "已授权", "authorized")) } } @else { span.step-fail { (t(lang, "未授权", "not authorized")) } } } }
                    }
                }
            }
        }
        section id="entity" {
            h2 { "3. " (t(lang, "主体一致性", "Entity check")) }
            @let bad = reports.iter().filter(|r| !r.problems.is_empty()).count();
            p { @if bad == 0 && !reports.is_empty() { span.step-ok { (t(lang, "全部店铺主体一致", "Every shop's entity matches")) } }
                @else { span.step-fail { (bad) (t(lang, " 家店铺待处理", " shop(s) to fix")) } }
                " · " a href="/console/entity" { (t(lang, "查看与修正 →", "Review and fix →")) } }
        }
        section id="test" {
            h2 { "4. " (t(lang, "测试连接", "Test connection")) }
            @if let Some(steps) = &outcome.test { (steps_markup(lang, steps)) }
            form method="post" action="/console/onboarding/test" {
                input type="hidden" name="csrf" value=(authed.csrf);
                label { (t(lang, "接收测试消息的成员 userid", "Member userid for the test messages")) " " input type="text" name="test_user" value=(form.test_user) required; }
                button type="submit" { (t(lang, "测试连接", "Test connection")) }
            }
        }
    };
    ok_page(
        lang,
        Some(authed),
        "/console/onboarding",
        t(lang, "接入向导", "Onboarding"),
        body,
    )
}

/// Step 1's group robots: those configured, what the last test said, and the form that adds one.
fn robot_part(lang: Lang, csrf: &str, robots: &[&RobotConfig], tested: Option<Markup>) -> Markup {
    html! {
        h3 id="robots" { (t(lang, "群机器人", "Group robots")) }
        @if !robots.is_empty() {
            table {
                tr { th { (t(lang, "机器人", "Robot")) } th { (t(lang, "API 地址", "API base")) } }
                @for r in robots { tr { td { (r.id) } td { (r.api_base) } } }
            }
        }
        @if let Some(m) = tested { (m) }
        form method="post" action="/console/onboarding/robot" {
            input type="hidden" name="csrf" value=(csrf);
            label { (t(lang, "机器人标识（规则用它指定机器人）", "Robot id (rules name it)")) " " input type="text" name="id" required pattern="[A-Za-z0-9_-]+"; }
            label { (t(lang, "Webhook 地址或 key", "Webhook address or key")) " " input type="password" name="key" required autocomplete="off"; }
            label { (t(lang, "API 地址（默认取 Webhook 地址的主机，或企业微信官方）", "API base (the webhook address's host, or WeCom's, by default)")) " " input type="text" name="api_base" placeholder="https://qyapi.weixin.qq.com"; }
            button type="submit" { (t(lang, "发送测试消息并保存", "Send a test message and save")) }
        }
    }
}

/// The robot form (the key is never shown again).
#[derive(Deserialize)]
pub struct RobotForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    api_base: String,
}

/// `POST /console/onboarding/robot`: sends a test message through the robot and saves it when WeCom
/// takes it (operators and admins).
pub async fn connect_robot(State(state): State<AppState>, posted: Posted<RobotForm>) -> Response {
    let Posted { authed, mut form } = posted;
    let lang = authed.lang;
    let input = RobotInput {
        id: form.id.clone(),
        key: Secret::new(std::mem::take(&mut form.key)),
        api_base: form.api_base.clone(),
    };
    let tested = match state.engine.connect().connect_robot(&authed.user, &input).await {
        Ok((steps, saved)) => html! {
            (steps_markup(lang, &steps))
            @if saved {
                div.ok { (t(lang, "群机器人已接通并保存，规则可以用它发送。", "The robot works and is saved; rules can send through it.")) }
            } @else {
                div.err { (t(lang, "未保存：请按上面的提示修改后重试。", "Not saved: fix what the steps say and try again.")) }
            }
        },
        Err(err) => error_box(lang, &err),
    };
    let outcome = Outcome {
        robot: Some(tested),
        ..Outcome::default()
    };
    render(&state, &authed, outcome).await
}

/// `POST /console/onboarding/marketplace`: saves a marketplace app's credentials (operators and admins).
pub async fn connect_marketplace(State(state): State<AppState>, posted: Posted<BTreeMap<String, String>>) -> Response {
    let Posted { authed, form } = posted;
    let lang = authed.lang;
    let platform = form.get("platform").cloned().unwrap_or_default();
    let fields: Vec<(&str, &str)> = form
        .iter()
        .filter(|(k, _)| k.as_str() != "platform")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let market = match state
        .engine
        .connect()
        .connect_marketplace_app(&authed.user, &platform, &fields)
        .await
    {
        Ok(id) => {
            html! { div.ok role="status" { (t(lang, "已保存电商平台应用 ", "Saved the marketplace app ")) code { (id) } } }
        }
        Err(err) => error_box(lang, &err),
    };
    let outcome = Outcome {
        market: Some(market),
        ..Outcome::default()
    };
    render(&state, &authed, outcome).await
}

/// Where the authorization callback sends the seller once `shops` of `app` are bound.
pub fn authorized_link(app: &ConfigId, shops: &[ShopId]) -> String {
    let shops: Vec<String> = shops.iter().map(ToString::to_string).collect();
    format!("/console/onboarding?authorized={app}&shops={}#shops", shops.join(","))
}

/// The query [`authorized_link`] writes; `again` marks the page's one reload of itself.
#[derive(Deserialize, Default)]
pub struct Bound {
    #[serde(default)]
    authorized: String,
    #[serde(default)]
    shops: String,
    again: Option<String>,
}

impl Bound {
    fn parsed(&self) -> Option<(ConfigId, Vec<ShopId>)> {
        let app = ConfigId::parse(self.authorized.trim()).ok()?;
        let shops = self
            .shops
            .split(',')
            .filter_map(|s| s.trim().parse::<u64>().ok())
            .filter_map(|s| ShopId::new(s).ok())
            .collect();
        Some((app, shops))
    }
}

/// The seller comes back from the marketplace's site, and that cross-site navigation carries no
/// SameSite=Strict session cookie; a reload started by this site's own page does. So the first answer
/// without a session is a page that reloads itself once (marked `again`), no script needed.
fn reload_once(lang: Lang, app: &ConfigId, shops: &[ShopId]) -> Response {
    let link = authorized_link(app, shops).replacen("#shops", "&again=1#shops", 1);
    let body = html! {
        meta http-equiv="refresh" content={ "0;url=" (link) };
        p { a href=(link) { (t(lang, "授权已完成，返回接入向导 →", "Authorized: back to onboarding →")) } }
    };
    ok_page(
        lang,
        None,
        "/console/onboarding",
        t(lang, "接入向导", "Onboarding"),
        body,
    )
}

/// The notice naming the shops a redirect says were bound. Only shops whose authorization is active in
/// the store are named, so a hand-made link cannot make the page claim anything.
async fn bound_notice(state: &AppState, lang: Lang, bound: &Bound) -> Option<Markup> {
    let (app, shops) = bound.parsed()?;
    let bound = state.engine.authorization().bound(&app, &shops).await;
    let named: Vec<String> = bound
        .into_iter()
        .map(|(shop, name)| match name {
            Some(name) => format!("{name} ({app}/{shop})"),
            None => format!("{app}/{shop}"),
        })
        .collect();
    if named.is_empty() {
        return None;
    }
    Some(html! {
        div.ok role="status" {
            @match lang {
                Lang::Zh => { "授权成功：店铺 " strong { (named.join("、")) } " 已绑定到 shoprelay，新订单将推送到企业微信。" },
                Lang::En => { "Authorized: shop(s) " strong { (named.join(", ")) } " now bound to shoprelay; new orders will reach WeCom." },
            }
        }
    })
}

/// `GET /console/onboarding`, with a notice naming the shops just bound when the authorization
/// callback sent the seller here.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    authed: Result<Authed, Response>,
    Query(bound): Query<Bound>,
) -> Response {
    let authed = match (authed, bound.parsed()) {
        (Ok(authed), _) => authed,
        (Err(_), Some((app, shops))) if bound.again.is_none() => return reload_once(lang_of(&headers), &app, &shops),
        (Err(to_login), _) => return to_login,
    };
    let outcome = Outcome {
        market: bound_notice(&state, authed.lang, &bound).await,
        ..Outcome::default()
    };
    render(&state, &authed, outcome).await
}

/// The WeCom app form (the Secret is never shown again).
#[derive(Deserialize, Default)]
pub struct WeComForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    corp_id: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    callback_token: String,
    #[serde(default)]
    encoding_aes_key: String,
    #[serde(default)]
    api_base: String,
    #[serde(default)]
    test_user: String,
}

/// `POST /console/onboarding/wecom`: tests the app live and saves it when every step passes.
pub async fn connect_wecom(State(state): State<AppState>, posted: Posted<WeComForm>) -> Response {
    let Posted { authed, mut form } = posted;
    let optional = |s: &str| (!s.trim().is_empty()).then(|| Secret::new(s.trim()));
    let input = WeComAppInput {
        id: form.id.clone(),
        corp_id: form.corp_id.clone(),
        agent_id: form.agent_id.clone(),
        secret: Secret::new(std::mem::take(&mut form.secret)),
        callback_token: optional(&form.callback_token),
        encoding_aes_key: optional(&form.encoding_aes_key),
        api_base: form.api_base.clone(),
        test_user: form.test_user.clone(),
    };
    let outcome = match state.engine.connect().connect_app(&authed.user, &input).await {
        Ok(result) => Outcome {
            wecom: Some(result),
            wecom_form: Some(form),
            ..Outcome::default()
        },
        Err(err) => Outcome {
            error: Some(error_box(authed.lang, &err)),
            wecom_form: Some(form),
            ..Outcome::default()
        },
    };
    render(&state, &authed, outcome).await
}

/// The test's recipient.
#[derive(Deserialize)]
pub struct TestForm {
    #[serde(default)]
    test_user: String,
}

/// `POST /console/onboarding/test`: every check, step by step.
pub async fn test(State(state): State<AppState>, posted: Posted<TestForm>) -> Response {
    let Posted { authed, form } = posted;
    let to = form.test_user.clone();
    let wecom_form = WeComForm {
        test_user: to.clone(),
        ..WeComForm::default()
    };
    let outcome = match state.engine.connect().test_all(&authed.user, &to).await {
        Ok(steps) => Outcome {
            test: Some(steps),
            wecom_form: Some(wecom_form),
            ..Outcome::default()
        },
        Err(err) => Outcome {
            error: Some(error_box(authed.lang, &err)),
            wecom_form: Some(wecom_form),
            ..Outcome::default()
        },
    };
    render(&state, &authed, outcome).await
}
