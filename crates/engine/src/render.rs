//! Turning a neutral event into the message each target receives: a `template_card` for WeCom apps,
//! markdown for group robots. Rendered once, when routed, and stored in the outbox so that every retry
//! sends identical bytes (which is what WeCom's duplicate check compares).
//!
//! Every value that comes from a buyer, a shop or a marketplace is neutralised for the format it goes
//! into ([`shoprelay_core::neutralize`]): facts, items and summaries are kept raw until a format is
//! chosen, and escaped there. The only URLs a message opens are shoprelay's own (the seller-centre page
//! of a validated order number, acknowledgement and digest links).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shoprelay_clock::UnixMs;
use shoprelay_core::error::Lang;
use shoprelay_core::event::{Event, EventBody, TrailStep};
use shoprelay_core::ids::ConfigId;
use shoprelay_core::neutralize::{card as card_field, markdown as md, text};
use shoprelay_core::order::OrderSnapshot;
use shoprelay_core::policy::Display;
use shoprelay_core::route::{ChatCreate, Target};
use shoprelay_core::time::{format_local, region_timezone};
use shoprelay_marketplaces::platform;

use crate::chat::buttons;
use shoprelay_wecom::card::{
    Button, CardAction, CardSource, CardType, EmphasisContent, HorizontalContent, Jump, MainTitle, TemplateCard,
};
use shoprelay_wecom::contacts::Group;
use shoprelay_wecom::message::{
    truncate_utf8, AppBody, AppMessage, Recipients, RobotMessage, APP_MARKDOWN_MAX_BYTES, ROBOT_MARKDOWN_MAX_BYTES,
    ROBOT_TEXT_MAX_BYTES,
};

/// How long WeCom should treat a resent identical message as a duplicate (its maximum, 4 h).
const DUPLICATE_CHECK_SECS: u32 = 14_400;
/// The mention of everyone in a robot's `mentioned_list`.
const EVERYONE: &str = "@all";

/// A rendered delivery as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Payload {
    /// `message/send` body for a WeCom app.
    WecomApp {
        /// WeCom app id.
        app: ConfigId,
        /// The request body, exactly as sent.
        message: Value,
    },
    /// `webhook/send` body for a group robot.
    Robot {
        /// Robot id.
        robot: ConfigId,
        /// The request body, exactly as sent.
        message: Value,
    },
    /// Markdown for an app group chat (WeCom refuses template cards there).
    Appchat {
        /// The WeCom app that owns the chat.
        app: ConfigId,
        /// The chat.
        chatid: String,
        /// The markdown sent, exactly.
        content: String,
        /// How to create the chat if WeCom says it does not exist.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create: Option<ChatCreate>,
    },
    /// The event as JSON for the seller's own system.
    Webhook {
        /// Webhook id.
        webhook: ConfigId,
        /// The request body, exactly as sent.
        message: Value,
    },
}

impl Payload {
    /// The request body as the destination receives it.
    pub fn body(&self) -> Value {
        match self {
            Payload::WecomApp { message, .. } | Payload::Robot { message, .. } | Payload::Webhook { message, .. } => {
                message.clone()
            }
            Payload::Appchat { chatid, content, .. } => {
                serde_json::json!({ "chatid": chatid, "msgtype": "markdown", "markdown": { "content": content } })
            }
        }
    }
}

/// What rendering needs besides the event.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// Shop display name.
    pub shop_name: Option<&'a str>,
    /// Shop region (time zone), when the order does not say.
    pub region: Option<&'a str>,
    /// AgentId of the WeCom app, for app targets.
    pub agent_id: Option<i64>,
    /// The rule's own message (its template, rendered), sent as markdown instead of the built-in ones.
    pub custom_text: Option<&'a str>,
    /// Language of the built-in messages.
    pub lang: Lang,
    /// Who the event is assigned to (分单), when it is.
    pub assignee: Option<&'a str>,
    /// Where the recipient acknowledges handling it, when the rule wants that.
    pub ack_url: Option<&'a str>,
    /// Whether the event's personal fields are shown in full (then a card offers one-click dial).
    pub personal_data: Display,
    /// Set when the WeCom app receives card clicks (a callback URL or long connection): the card gets
    /// real buttons instead of the acknowledgement link.
    pub buttons: Option<CardButtons<'a>>,
}

/// What the buttons of an interactive card need.
#[derive(Debug, Clone, Copy)]
pub struct CardButtons<'a> {
    /// The card's task_id ([`crate::chat::buttons::CardRef`]), unique per app; a click brings it back.
    pub task_id: &'a str,
    /// The conversation's page, on buyer-message cards.
    pub conversation_url: Option<&'a str>,
}

/// Where a WeCom admin fixes what shoprelay's own notices report.
const WECOM_ADMIN_CONSOLE: &str = "https://work.weixin.qq.com/wework_admin/frame";

/// The sentence in the message language.
fn t(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

fn status_label(status: &shoprelay_core::order::OrderStatus, lang: Lang) -> String {
    match lang {
        Lang::Zh => status.label_zh().to_owned(),
        Lang::En => status.label_en().to_owned(),
    }
}

/// The message title of an event, as a seller reads it.
pub fn title(event: &Event, lang: Lang) -> String {
    match &event.body {
        EventBody::OrderCreated => t(lang, "新订单", "New order").into(),
        EventBody::OrderStatusChanged { to, .. } => {
            format!(
                "{}{}",
                t(lang, "订单状态变更：", "Order status: "),
                status_label(to, lang)
            )
        }
        EventBody::TrackingNumberAssigned { .. } => t(lang, "已分配运单号", "Tracking number assigned").into(),
        EventBody::ShopAuthorized => t(lang, "店铺已授权", "Shop authorized").into(),
        EventBody::ShopDeauthorized => t(lang, "店铺已取消授权", "Shop deauthorized").into(),
        EventBody::AuthorizationExpiring { .. } => t(lang, "店铺授权即将到期", "Shop authorization expiring").into(),
        EventBody::ReauthorizationRequired { .. } => {
            t(lang, "店铺需要重新授权", "Shop must be authorized again").into()
        }
        EventBody::BuyerMessage { .. } => t(lang, "买家消息", "Buyer message").into(),
        EventBody::OrderCancelled { .. } => t(lang, "订单已取消", "Order cancelled").into(),
        EventBody::CancellationRequested { .. } => t(lang, "买家申请取消订单", "Buyer asks to cancel").into(),
        EventBody::ReturnRequested { .. } => t(lang, "买家申请退货/退款", "Return / refund requested").into(),
        EventBody::LogisticsException { issue, .. } => match lang {
            Lang::Zh => format!("物流异常：{}", issue.label_zh()),
            Lang::En => format!("Shipping problem: {}", issue.label_en()),
        },
        EventBody::Escalation { .. } => t(lang, "超时未处理", "Not handled in time").into(),
        EventBody::ChatUnavailable { .. } => t(lang, "店铺无法收发买家聊天", "Shop cannot send buyer chat").into(),
        EventBody::DeliveryFailing { .. } => t(
            lang,
            "消息发送受阻（已暂存，修复后自动补发）",
            "Messages held (kept; sent once fixed)",
        )
        .into(),
    }
}

/// One line about an event, for digests: `新订单 220810QSK8S7BX · SGD 29.3 · 待发货`.
pub fn summary(event: &Event, lang: Lang) -> String {
    let mut line = title(event, lang);
    if let Some(sn) = &event.order_sn {
        line.push_str(&format!(" {sn}"));
    }
    if let Some(order) = &event.order {
        if let Some(total) = order.total_display() {
            line.push_str(&format!(" · {total}"));
        }
        if let Some(buyer) = &order.buyer_username {
            line.push_str(&format!(" · {buyer}"));
        }
    }
    if let EventBody::TrackingNumberAssigned { tracking_no, .. } = &event.body {
        line.push_str(&format!(" · {tracking_no}"));
    }
    line
}

/// Who a target's messages are for: deliveries coalesce only with others for the same recipients, and
/// the members listed count against WeCom's per-member limits. `u:a,b;p:2;t:1;all` or `robot`.
pub fn recipients_key(target: &Target) -> String {
    match target {
        Target::WecomApp {
            users,
            departments,
            tags,
            all,
            ..
        } => {
            let join = |v: Vec<String>| v.join(",");
            let mut key = format!(
                "u:{};p:{};t:{}",
                join(users.iter().map(|u| u.as_str().to_owned()).collect()),
                join(departments.iter().map(u32::to_string).collect()),
                join(tags.iter().map(u32::to_string).collect())
            );
            if *all {
                key.push_str(";all");
            }
            key
        }
        Target::Robot {
            mentions,
            mention_mobiles,
            ..
        } => {
            let mut key = format!(
                "robot:{}",
                mentions.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",")
            );
            if !mention_mobiles.is_empty() {
                key.push_str(&format!(";m:{}", mention_mobiles.join(",")));
            }
            key
        }
        Target::Webhook { .. } => "webhook".to_owned(),
        Target::Appchat { chatid, .. } => format!("chat:{chatid}"),
    }
}

/// Whom an app delivery's recipients key addresses: users by userid (lower-cased, as WeCom compares
/// them) and groups whose members WeCom's per-person limits count one by one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    /// Member userids, lower-cased.
    pub users: Vec<String>,
    /// Departments, tags and `@all`.
    pub groups: Vec<Group>,
}

/// The [`Audience`] of a recipients key (`u:a,b;p:2;t:1;all`); other keys address nobody by name.
pub fn audience_of(recipients: &str) -> Audience {
    let mut out = Audience::default();
    for part in recipients.split(';') {
        if part == "all" {
            out.groups.push(Group::Everyone);
            continue;
        }
        let Some((prefix, ids)) = part.split_once(':') else {
            continue;
        };
        for id in ids.split(',').filter(|id| !id.is_empty()) {
            match (prefix, id.parse::<u32>()) {
                ("u", _) => out.users.push(id.to_lowercase()),
                ("p", Ok(n)) => out.groups.push(Group::Department(n)),
                ("t", Ok(n)) => out.groups.push(Group::Tag(n)),
                _ => {}
            }
        }
    }
    out
}

/// The userids and mobile numbers a robot recipients key (`robot:a,b;m:138…`) mentions.
fn robot_mentions(recipients: &str) -> (Vec<String>, Vec<String>) {
    let Some(rest) = recipients.strip_prefix("robot:") else {
        return (Vec::new(), Vec::new());
    };
    let list = |s: &str| s.split(',').filter(|id| !id.is_empty()).map(str::to_owned).collect();
    let mut parts = rest.split(';');
    let users = parts.next().map(list).unwrap_or_default();
    let mobiles = parts.find_map(|p| p.strip_prefix("m:")).map(list).unwrap_or_default();
    (users, mobiles)
}

/// Whether a robot must mention everyone, which WeCom allows only in a text message's mention lists
/// ("不支持艾特全员" in markdown).
fn mentions_everyone<'a>(mentions: impl IntoIterator<Item = &'a str>) -> bool {
    mentions.into_iter().any(|m| m.eq_ignore_ascii_case(EVERYONE))
}

/// Why messages were folded into a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestReason {
    /// The destination's budget was spent.
    Budget,
    /// They waited out their rule's quiet hours.
    QuietHours,
}

/// A digest of several deliveries to one destination and recipients, as one markdown message: the first
/// lines that fit, "…还有 N 条", and a link to the page listing every one. A robot that must mention
/// everyone or mobile numbers gets it as text, the only kind that can.
/// `None` for webhooks: a receiving system takes every event as it is, at its own pace.
pub fn digest(
    sample: &Payload,
    lines: &[String],
    link: &str,
    recipients: &str,
    lang: Lang,
    reason: DigestReason,
) -> Option<Payload> {
    let (users, mobiles) = robot_mentions(recipients);
    let robot_text = mentions_everyone(users.iter().map(String::as_str)) || !mobiles.is_empty();
    type Wrap = Box<dyn FnOnce(String) -> Result<Value, serde_json::Error>>;
    let (limit, wrap): (usize, Wrap) = match sample {
        Payload::WecomApp { message, .. } => {
            let base = message.clone();
            (
                APP_MARKDOWN_MAX_BYTES,
                Box::new(move |content| {
                    let mut m = serde_json::Map::new();
                    for key in ["touser", "toparty", "totag", "agentid"] {
                        if let Some(v) = base.get(key) {
                            m.insert(key.to_owned(), v.clone());
                        }
                    }
                    m.insert("msgtype".into(), "markdown".into());
                    m.insert("markdown".into(), serde_json::json!({ "content": content }));
                    m.insert("enable_duplicate_check".into(), 1.into());
                    m.insert("duplicate_check_interval".into(), DUPLICATE_CHECK_SECS.into());
                    Ok(Value::Object(m))
                }),
            )
        }
        Payload::Robot { .. } if robot_text => {
            let (mentioned_list, mentioned_mobile_list) = (users.clone(), mobiles.clone());
            (
                ROBOT_TEXT_MAX_BYTES,
                Box::new(move |content| {
                    serde_json::to_value(RobotMessage::Text {
                        content,
                        mentioned_list,
                        mentioned_mobile_list,
                    })
                }),
            )
        }
        Payload::Robot { .. } => (
            ROBOT_MARKDOWN_MAX_BYTES,
            Box::new(|content| serde_json::to_value(RobotMessage::Markdown { content })),
        ),
        Payload::Webhook { .. } | Payload::Appchat { .. } => return None,
    };
    let n = lines.len();
    let (title, note) = match (lang, reason) {
        (Lang::Zh, DigestReason::Budget) => (
            format!("消息汇总：共 {n} 条"),
            "发送量已达企业微信限额，以下消息合并发送，不会遗漏。",
        ),
        (Lang::En, DigestReason::Budget) => (
            format!("Digest: {n} messages"),
            "WeCom's limit was reached; these come together, none is lost.",
        ),
        (Lang::Zh, DigestReason::QuietHours) => (
            format!("免打扰期间的消息：共 {n} 条"),
            "以下消息在免打扰时段内产生，现合并发送。",
        ),
        (Lang::En, DigestReason::QuietHours) => (
            format!("During quiet hours: {n} messages"),
            "These came in during quiet hours and come together now.",
        ),
    };
    let (head, all) = if robot_text {
        let all = match lang {
            Lang::Zh => format!("查看全部 {n} 条：{link}"),
            Lang::En => format!("See all {n}: {link}"),
        };
        (format!("{title}\n{note}\n"), all)
    } else {
        let all = match lang {
            Lang::Zh => format!("[查看全部 {n} 条]({link})"),
            Lang::En => format!("[See all {n}]({link})"),
        };
        (format!("### {title}\n> {note}\n"), all)
    };
    // Markdown mentions are `<@userid>`; text ones travel in the mention lists.
    let mentions = if robot_text {
        String::new()
    } else {
        users.iter().map(|u| format!("<@{u}>")).collect::<Vec<_>>().join(" ")
    };
    let tail = if mentions.is_empty() {
        format!("\n{all}")
    } else {
        format!("\n{all}\n{mentions}")
    };
    let more = |k: usize| match lang {
        Lang::Zh => format!("\n…还有 {k} 条"),
        Lang::En => format!("\n…and {k} more"),
    };
    // The lines are summaries of buyers' orders and messages: text in either format.
    let escape: fn(&str) -> String = if robot_text { text::inline } else { md::inline };
    let lines: Vec<String> = lines.iter().map(|l| escape(l)).collect();
    let body = fit_list(&lines, head.len() + tail.len(), limit, more);
    let content = format!("{}{body}{tail}", fit_lines(&head, limit.saturating_sub(tail.len())));
    let message = match wrap(content) {
        Ok(message) => message,
        Err(err) => {
            tracing::error!(error = %err, "rendering a digest failed");
            return None;
        }
    };
    match sample {
        Payload::WecomApp { app, .. } => Some(Payload::WecomApp {
            app: app.clone(),
            message,
        }),
        Payload::Robot { robot, .. } => Some(Payload::Robot {
            robot: robot.clone(),
            message,
        }),
        Payload::Webhook { .. } | Payload::Appchat { .. } => None,
    }
}

/// The list items that fit beside `used` bytes within `limit`, as `\n- item` lines, then "more" for the
/// rest: the middle of a message is cut, never its head or its links at the end.
fn fit_list(items: &[String], used: usize, limit: usize, more: impl Fn(usize) -> String) -> String {
    // Room for the longest possible "more" line, so adding it never overflows.
    let reserve = more(99_999).len();
    let mut body = String::new();
    let mut shown = 0;
    for item in items {
        let next = format!("\n- {item}");
        if used + body.len() + next.len() + reserve > limit {
            break;
        }
        body.push_str(&next);
        shown += 1;
    }
    if shown < items.len() {
        body.push_str(&more(items.len() - shown));
    }
    body
}

/// The longest run of whole lines of `text` within `max` bytes, so no link or `<font>` tag is cut in
/// half; a first line longer than that is cut before its first unfinished tag or link.
fn fit_lines(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let cut = truncate_utf8(text, max);
    match cut.rfind('\n') {
        Some(end) => &cut[..=end],
        None => {
            // One long line: stop before the last tag or link that may not be finished.
            let open = [cut.rfind('<'), cut.rfind('[')].into_iter().flatten().max();
            let closed = [cut.rfind('>'), cut.rfind(')')].into_iter().flatten().max();
            match (open, closed) {
                (Some(o), c) if c.is_none_or(|c| c < o) => &cut[..o],
                _ => cut,
            }
        }
    }
}

/// A rule's own text within `limit` bytes with `tail` (links, mentions) kept whole at its end.
fn fit_with_tail(text: &str, tail: &str, limit: usize) -> String {
    format!("{}{tail}", fit_lines(text, limit.saturating_sub(tail.len())))
}

/// Renders the payload for one target.
pub fn render(event: &Event, target: &Target, ctx: RenderContext<'_>) -> Result<Payload, serde_json::Error> {
    match target {
        Target::WecomApp {
            app,
            users,
            departments,
            tags,
            all,
        } => {
            let recipients = Recipients {
                touser: users.iter().map(|u| u.as_str().to_owned()).collect(),
                toparty: departments.iter().map(u32::to_string).collect(),
                totag: tags.iter().map(u32::to_string).collect(),
                all: *all,
            };
            let message = AppMessage {
                recipients,
                agentid: ctx.agent_id.unwrap_or_default(),
                body: match ctx.custom_text {
                    Some(text) => AppBody::markdown(&custom(text, ctx, "", APP_MARKDOWN_MAX_BYTES)),
                    None => AppBody::TemplateCard(Box::new(card(event, ctx))),
                },
                enable_duplicate_check: true,
                duplicate_check_interval: Some(DUPLICATE_CHECK_SECS),
            };
            Ok(Payload::WecomApp {
                app: app.clone(),
                message: serde_json::to_value(&message)?,
            })
        }
        Target::Robot {
            robot,
            mentions,
            mention_mobiles,
        } => {
            let message = if mention_mobiles.is_empty() && !mentions_everyone(mentions.iter().map(|m| m.as_str())) {
                let mentions: Vec<String> = mentions.iter().map(|m| format!("<@{m}>")).collect();
                let content = match ctx.custom_text {
                    Some(text) => custom(text, ctx, &mentions.join(" "), ROBOT_MARKDOWN_MAX_BYTES),
                    None => markdown(event, ctx, &mentions.join(" "), ROBOT_MARKDOWN_MAX_BYTES),
                };
                RobotMessage::Markdown { content }
            } else {
                // WeCom mentions mobile numbers and everyone only in text messages, so these go as plain text.
                let content = match ctx.custom_text {
                    Some(text) => custom(text, ctx, "", ROBOT_TEXT_MAX_BYTES),
                    None => plain_text(event, ctx),
                };
                RobotMessage::Text {
                    content: truncate_utf8(&content, ROBOT_TEXT_MAX_BYTES).to_owned(),
                    mentioned_list: mentions.iter().map(|m| m.as_str().to_owned()).collect(),
                    mentioned_mobile_list: mention_mobiles.clone(),
                }
            };
            Ok(Payload::Robot {
                robot: robot.clone(),
                message: serde_json::to_value(&message)?,
            })
        }
        Target::Appchat { app, chatid, create } => {
            // An app group chat takes 2,048 bytes of markdown, half a robot's: built for that, not cut after.
            let content = match ctx.custom_text {
                Some(text) => custom(text, ctx, "", APP_MARKDOWN_MAX_BYTES),
                None => markdown(event, ctx, "", APP_MARKDOWN_MAX_BYTES),
            };
            Ok(Payload::Appchat {
                app: app.clone(),
                chatid: chatid.clone(),
                content,
                create: create.clone(),
            })
        }
        Target::Webhook { webhook } => {
            let message = serde_json::json!({
                "type": event.kind().as_str(),
                "timestamp": event.occurred_at.as_secs(),
                "data": event,
            });
            Ok(Payload::Webhook {
                webhook: webhook.clone(),
                message,
            })
        }
    }
}

/// A rule's own text within `limit` bytes, with the acknowledgement link (when the rule wants one) and
/// `mentions` kept whole at its end.
fn custom(text: &str, ctx: RenderContext<'_>, mentions: &str, limit: usize) -> String {
    let mut tail = String::new();
    if let Some(url) = ctx.ack_url {
        tail.push_str(&format!("\n[{}]({url})", ack_label(ctx.lang)));
    }
    if !mentions.is_empty() {
        tail.push_str(&format!("\n{mentions}"));
    }
    fit_with_tail(text, &tail, limit)
}

fn ack_label(lang: Lang) -> &'static str {
    t(lang, "确认处理", "Acknowledge")
}

fn local_time(at: UnixMs, order: Option<&OrderSnapshot>, ctx: RenderContext<'_>) -> String {
    let region = order.and_then(|o| o.region.as_deref()).or(ctx.region);
    format_local(at, region_timezone(region))
}

/// An order line, `name（model） [sku] × 2`, its marketplace-written parts passed through `escape`.
fn item_line(item: &shoprelay_core::order::OrderItem, escape: fn(&str) -> String) -> String {
    let mut line = escape(&item.name);
    if let Some(model) = item.model_name.as_deref().filter(|m| !m.is_empty()) {
        line.push_str(&format!("（{}）", escape(model)));
    }
    if let Some(sku) = item.sku.as_deref().filter(|s| !s.is_empty()) {
        line.push_str(&format!(" [{}]", escape(sku)));
    }
    line.push_str(&format!(" × {}", item.quantity));
    line
}

/// Key facts of an event as (label, value) rows, shared by cards, text and markdown. The values are raw
/// (many are written by buyers and marketplaces): each format escapes them.
fn facts(event: &Event, ctx: RenderContext<'_>) -> Vec<(&'static str, String)> {
    let l = ctx.lang;
    let mut rows = Vec::new();
    if let Some(sn) = &event.order_sn {
        rows.push((t(l, "订单号", "Order"), sn.to_string()));
    }
    if let Some(order) = &event.order {
        if let Some(buyer) = &order.buyer_username {
            rows.push((t(l, "买家", "Buyer"), buyer.clone()));
        }
        if let Some(r) = &order.recipient {
            if let Some(name) = &r.name {
                rows.push((t(l, "收件人", "Recipient"), name.clone()));
            }
            if let Some(phone) = &r.phone {
                rows.push((t(l, "电话", "Phone"), phone.clone()));
            }
            if let Some(email) = &r.email {
                rows.push((t(l, "邮箱", "E-mail"), email.clone()));
            }
            if let Some(address) = &r.address {
                rows.push((t(l, "地址", "Address"), address.display()));
            }
        }
        rows.push((t(l, "状态", "Status"), status_label(&order.status, l)));
        if let Some(total) = order.total_display() {
            rows.push((total_label(l), total));
        }
        if let Some(pay) = order.pay_time {
            rows.push((
                t(l, "付款时间", "Paid"),
                local_time(UnixMs::from_secs(pay), Some(order), ctx),
            ));
        }
        if order.cod {
            rows.push((
                t(l, "付款方式", "Payment"),
                t(l, "货到付款 (COD)", "Cash on delivery").into(),
            ));
        }
    }
    match &event.body {
        EventBody::TrackingNumberAssigned { tracking_no, .. } => {
            rows.push((t(l, "运单号", "Tracking"), tracking_no.clone()))
        }
        EventBody::AuthorizationExpiring {
            expire_before: Some(at),
        } => rows.push((
            t(l, "到期时间", "Expires"),
            local_time(UnixMs::from_secs(*at), None, ctx),
        )),
        EventBody::ReauthorizationRequired { reason } | EventBody::ChatUnavailable { reason } => {
            rows.push((t(l, "原因", "Reason"), reason.clone()))
        }
        EventBody::BuyerMessage {
            from_user_name,
            conversation,
            latest_order,
            ..
        } => {
            rows.push((t(l, "买家", "Buyer"), from_user_name.clone()));
            if let Some(id) = conversation {
                let how = match l {
                    Lang::Zh => format!("#{id}（给本应用发「#{id} 内容」即可回复买家）"),
                    Lang::En => format!("#{id} (write \"#{id} <text>\" to this app to answer the buyer)"),
                };
                rows.push((t(l, "会话", "Conversation"), how));
            }
            // One row, not a list: a card holds six rows, and the conversation view lists the rest.
            if let Some(order) = latest_order {
                rows.push((
                    t(l, "最近订单", "Latest order"),
                    format!("{} · {}", order.order_sn, order.status),
                ));
            }
        }
        EventBody::DeliveryFailing { destination, reason } => {
            rows.push((t(l, "目标", "Destination"), destination.to_string()));
            rows.push((t(l, "原因", "Reason"), reason.clone()));
        }
        EventBody::LogisticsException {
            logistics_status,
            description,
            days_without_update,
            hours_to_ship_by,
            trail,
            ..
        } => {
            if let Some(status) = logistics_status {
                rows.push((t(l, "物流状态", "Logistics"), status.clone()));
            }
            // The trail itself is listed below the facts; without one, the carrier's last words.
            if let (Some(line), true) = (description, trail.is_empty()) {
                rows.push((t(l, "最新轨迹", "Latest"), line.clone()));
            }
            if let Some(days) = days_without_update {
                rows.push((t(l, "无更新天数", "Days silent"), days.to_string()));
            }
            if let Some(hours) = hours_to_ship_by {
                rows.push((t(l, "距最晚发货(小时)", "Hours to ship-by"), format!("< {hours}")));
            }
        }
        EventBody::Escalation {
            about,
            assignee,
            waited_minutes,
            ..
        } => {
            rows.push((t(l, "事项", "About"), about.clone()));
            if let Some(who) = assignee {
                rows.push((t(l, "负责人", "Assignee"), who.clone()));
            }
            rows.push((t(l, "已等待(分钟)", "Waited (min)"), waited_minutes.to_string()));
        }
        _ => {}
    }
    if let Some(who) = ctx.assignee {
        rows.push((t(l, "负责人", "Assigned to"), who.to_owned()));
    }
    if let Some(shop) = event.shop_id {
        let name = match (ctx.shop_name, l) {
            (Some(n), Lang::Zh) => format!("{n}（{shop}）"),
            (Some(n), Lang::En) => format!("{n} ({shop})"),
            (None, _) => shop.to_string(),
        };
        rows.push((t(l, "店铺", "Shop"), name));
    }
    rows
}

/// A parcel's latest steps as `time description` lines, newest first.
fn trail_lines(trail: &[TrailStep], order: Option<&OrderSnapshot>, ctx: RenderContext<'_>) -> Vec<String> {
    trail
        .iter()
        .take(3)
        .map(|step| format!("{} {}", local_time(step.at, order, ctx), step.description))
        .collect()
}

fn total_label(lang: Lang) -> &'static str {
    t(lang, "金额", "Total")
}

fn card(event: &Event, ctx: RenderContext<'_>) -> TemplateCard {
    let order = event.order.as_ref();
    let buttons = ctx.buttons.map(|_| card_buttons(event, ctx)).unwrap_or_default();
    let interactive = ctx.buttons.filter(|_| !buttons.is_empty());
    // With buttons the acknowledgement is a click, not a link to open.
    let ack_link = ctx.ack_url.filter(|_| interactive.is_none());
    // A card must open something: the order, else the seller centre; shoprelay's own notices (a
    // destination failing) are fixed in the WeCom admin console.
    let url = event
        .order_sn
        .as_ref()
        .and_then(|sn| platform::order_url(event.platform, sn))
        .or_else(|| platform::seller_centre_url(event.platform).map(str::to_owned))
        .or_else(|| ack_link.map(str::to_owned))
        .unwrap_or_else(|| WECOM_ADMIN_CONSOLE.to_owned());
    let items: Vec<String> = order
        .map(|o| o.items.iter().map(|i| item_line(i, card_field::line)).collect())
        .unwrap_or_default();
    let sub_title = match &event.body {
        EventBody::BuyerMessage { text, .. } => Some(card_field::text(text)),
        EventBody::LogisticsException { trail, .. } if !trail.is_empty() => {
            Some(card_field::text(&trail_lines(trail, order, ctx).join("\n")))
        }
        _ if !items.is_empty() => Some(card_field::text(&items.join("\n"))),
        _ => None,
    };
    let conversation_link = interactive.and_then(|b| b.conversation_url).map(|url| Jump {
        kind: Some(1),
        title: t(ctx.lang, "查看会话", "Open the conversation").into(),
        url: Some(url.to_owned()),
    });
    TemplateCard {
        card_type: if interactive.is_some() {
            CardType::ButtonInteraction
        } else {
            CardType::TextNotice
        },
        source: Some(CardSource {
            icon_url: None,
            desc: Some(card_field::line(&format!(
                "{} · {}",
                platform::display_name(event.platform),
                ctx.shop_name.unwrap_or(t(ctx.lang, "店铺", "shop"))
            ))),
            desc_color: None,
        }),
        main_title: Some(MainTitle {
            title: Some(card_field::line(&title(event, ctx.lang))),
            desc: order.and_then(|o| o.create_time).map(|at| {
                format!(
                    "{} {}",
                    t(ctx.lang, "下单", "Placed"),
                    local_time(UnixMs::from_secs(at), order, ctx)
                )
            }),
        }),
        emphasis_content: order
            .and_then(OrderSnapshot::total_display)
            .map(|total| EmphasisContent {
                title: Some(card_field::line(&total)),
                desc: Some(t(ctx.lang, "订单金额", "Order total").into()),
            }),
        quote_area: None,
        sub_title_text: sub_title,
        horizontal_content_list: facts(event, ctx)
            .into_iter()
            .filter(|(label, _)| *label != total_label(ctx.lang))
            .map(|(k, v)| HorizontalContent::text(k, card_field::line(&v)))
            .collect(),
        jump_list: ack_link
            .map(|ack| Jump {
                kind: Some(1),
                title: ack_label(ctx.lang).into(),
                url: Some(ack.to_owned()),
            })
            .into_iter()
            .chain(conversation_link)
            .chain(std::iter::once(Jump {
                kind: Some(1),
                title: t(ctx.lang, "查看订单", "View order").into(),
                url: Some(url.clone()),
            }))
            .chain(dial_url(order, ctx).map(|tel| Jump {
                kind: Some(1),
                title: t(ctx.lang, "拨打收件人电话", "Call the recipient").into(),
                url: Some(tel),
            }))
            .collect(),
        card_action: CardAction::url(url),
        task_id: interactive.map(|b| b.task_id.to_owned()),
        button_list: if interactive.is_some() { buttons } else { Vec::new() },
    }
}

/// The buttons a card gets when its app receives clicks: a buyer conversation's claim / resolve / hand
/// off, else a task's acknowledge (or claim, when nobody was assigned); none for anything else.
fn card_buttons(event: &Event, ctx: RenderContext<'_>) -> Vec<Button> {
    match &event.body {
        EventBody::BuyerMessage {
            conversation: Some(_), ..
        } => buttons::conversation_buttons(ctx.lang, false),
        _ if ctx.ack_url.is_some() => vec![buttons::task_button(ctx.lang, ctx.assignee.is_some())],
        _ => Vec::new(),
    }
}

/// The `tel:` link of one-click dial: only when the rule shows personal fields in full and the phone
/// is a number (digits, an optional leading `+`); the number is rebuilt from its digits, so nothing
/// else can ride along in the link.
fn dial_url(order: Option<&OrderSnapshot>, ctx: RenderContext<'_>) -> Option<String> {
    if ctx.personal_data != Display::Full {
        return None;
    }
    let phone = order?.recipient.as_ref()?.phone.as_deref()?.trim();
    let (plus, rest) = match phone.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", phone),
    };
    let ok = rest.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (ok && (5..=15).contains(&digits.len())).then(|| format!("tel:{plus}{digits}"))
}

/// Plain text for a robot text message (the only kind that can @mention mobile numbers): the title and
/// the key facts, one per line.
pub fn plain_text(event: &Event, ctx: RenderContext<'_>) -> String {
    let mut out = text::inline(&title(event, ctx.lang));
    for (label, value) in facts(event, ctx) {
        out.push_str(&format!("\n{label}：{}", text::inline(&value)));
    }
    if let EventBody::BuyerMessage { text: said, .. } = &event.body {
        out.push_str(&format!("\n{}", text::quote(said)));
    }
    if let Some(ack) = ctx.ack_url {
        out.push_str(&format!("\n{}：{ack}", ack_label(ctx.lang)));
    }
    if let Some(url) = event
        .order_sn
        .as_ref()
        .and_then(|sn| platform::order_url(event.platform, sn))
    {
        out.push_str(&format!("\n{url}"));
    }
    out
}

/// Markdown within `limit` bytes (a robot's 4,096, an app group chat's 2,048): the head (title and facts)
/// and the links at the end are kept whole, and item lines that do not fit are summarised as
/// "…还有 N 项" — the middle is cut, never a tag or a link.
pub fn markdown(event: &Event, ctx: RenderContext<'_>, mentions: &str, limit: usize) -> String {
    let mut head = format!("### {}\n", md::inline(&title(event, ctx.lang)));
    for (label, value) in facts(event, ctx) {
        head.push_str(&format!(
            "> {label}：<font color=\"comment\">{}</font>\n",
            md::inline(&value)
        ));
    }
    if let EventBody::BuyerMessage { text, .. } = &event.body {
        head.push_str(&format!("\n{}\n", md::quote(text)));
    }
    if let EventBody::LogisticsException { trail, .. } = &event.body {
        for line in trail_lines(trail, event.order.as_ref(), ctx) {
            head.push_str(&format!("> {}\n", md::inline(&line)));
        }
    }
    let mut tail = String::new();
    if let Some(ack) = ctx.ack_url {
        tail.push_str(&format!("\n[{}]({ack})", ack_label(ctx.lang)));
    }
    if let Some(url) = event
        .order_sn
        .as_ref()
        .and_then(|sn| platform::order_url(event.platform, sn))
    {
        tail.push_str(&format!("\n[{}]({url})", t(ctx.lang, "查看订单", "View order")));
    }
    if !mentions.is_empty() {
        tail.push_str(&format!("\n{mentions}"));
    }
    let items: Vec<String> = event
        .order
        .as_ref()
        .map(|o| o.items.iter().map(|i| item_line(i, md::inline)).collect())
        .unwrap_or_default();
    let more = |k: usize| match ctx.lang {
        Lang::Zh => format!("\n…还有 {k} 项"),
        Lang::En => format!("\n…and {k} more items"),
    };
    // A long buyer message can fill the head; it gives way (at a line) before the links do.
    let head = fit_lines(&head, limit.saturating_sub(tail.len() + more(99_999).len()));
    let body = fit_list(&items, head.len() + tail.len(), limit, more);
    format!("{head}{body}{tail}")
}

#[cfg(test)]
mod tests;
