//! The console's "watch" pages: the dashboard (traffic per minute, push → accepted latency, failures by
//! errcode, per shop, the share of orders in WeCom within 30 s, time to a person's first reply) and a
//! delivery attempt's message "as WeCom received it", read back from the outbox and parsed into what
//! WeCom's clients draw (the console renders it; nothing here is HTML).

use std::time::Duration;

use serde_json::Value;
use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::error::UserFacing;
use shoprelay_store::dashboard::{
    Dashboard, FailureCount, InTime, MinuteCount, Percentiles, ResponseTimes, ShopLatency, ShopTraffic, Window,
};
use shoprelay_store::AuditEntry;
use shoprelay_wecom::card::TemplateCard;

use crate::render::Payload;
use crate::{Engine, EngineError};

/// A minute, in ms: the chart's bars start at whole minutes of the unix-ms clock.
const MINUTE_MS: i64 = 60_000;
/// A minute.
const MINUTE: Duration = Duration::from_secs(60);
/// An hour.
const HOUR: Duration = Duration::from_secs(3_600);
/// A day.
const DAY: Duration = Duration::from_secs(24 * 3_600);
/// The product's promise: an order is in WeCom within 30 s of its push.
pub const IN_TIME: Duration = Duration::from_secs(30);

/// The window of the latency, failure, shop and response figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    /// The last hour.
    Hour,
    /// The last 24 hours.
    #[default]
    Day,
    /// The last 7 days.
    Week,
}

impl Range {
    /// `1h`, `24h` or `7d`.
    pub fn parse(raw: &str) -> Result<Self, UnknownRange> {
        match raw {
            "1h" => Ok(Self::Hour),
            "24h" => Ok(Self::Day),
            "7d" => Ok(Self::Week),
            other => Err(UnknownRange(other.chars().take(16).collect())),
        }
    }

    /// The name [`Range::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }

    fn span(self) -> Duration {
        match self {
            Self::Hour => HOUR,
            Self::Day => DAY,
            Self::Week => 7 * DAY,
        }
    }
}

/// A range name that is none of `1h`, `24h`, `7d`.
#[derive(Debug, thiserror::Error)]
#[error("unknown dashboard range `{0}`")]
pub struct UnknownRange(String);

impl UserFacing for UnknownRange {
    fn code(&self) -> &'static str {
        "dashboard.bad_range"
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        format!("时间范围「{}」无效：可选 1h、24h、7d", self.0)
    }
    fn message_en(&self) -> String {
        format!("The range `{}` is invalid: choose 1h, 24h or 7d", self.0)
    }
}

/// A share of orders in WeCom in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// Order pushes counted and how many were in time.
    pub counts: InTime,
}

impl Share {
    /// The share in tenths of a percent (992 = 99.2 %), rounded down so 99.95 % never shows as 100 %;
    /// `None` without orders.
    pub fn permille(&self) -> Option<i64> {
        (self.counts.orders > 0).then(|| self.counts.within * 1_000 / self.counts.orders)
    }
}

/// One shop's row: its traffic and its latency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopRow {
    /// Pushes, deliveries and failures.
    pub traffic: ShopTraffic,
    /// Push → accepted percentiles of its deliveries, when it had any.
    pub latency: Option<Percentiles>,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct Overview {
    /// When it was computed.
    pub now: UnixMs,
    /// The window of the latency, failure, shop and response figures.
    pub range: Range,
    /// Each of the last 60 minutes, oldest first, zeros included.
    pub per_minute: Vec<MinuteCount>,
    /// Push → accepted over every delivery accepted in the range.
    pub latency: Option<Percentiles>,
    /// Failed attempts by destination kind, errcode and outcome.
    pub failures: Vec<FailureCount>,
    /// Per shop.
    pub shops: Vec<ShopRow>,
    /// Orders in WeCom within 30 s of their push, last 24 hours.
    pub in_time_day: Share,
    /// The same over the last 7 days.
    pub in_time_week: Share,
    /// Time to a person's first reply to buyers.
    pub responses: ResponseTimes,
}

/// What the console draws for a delivery attempt's message.
#[derive(Debug, Clone, PartialEq)]
pub enum WecomView {
    /// `text`, with the robot's mentions.
    Text {
        /// The text.
        content: String,
        /// Who it mentions (`@all` included).
        mentions: Vec<String>,
    },
    /// `markdown` (WeCom's subset), parsed into lines.
    Markdown(Vec<MdLine>),
    /// `textcard`.
    TextCard {
        /// Title.
        title: String,
        /// Description (WeCom shows a few HTML tags in it; the console shows it as text).
        description: String,
        /// Button text ("详情" when absent).
        button: Option<String>,
    },
    /// `template_card`.
    TemplateCard(Box<TemplateCard>),
    /// `news`: articles.
    News(Vec<NewsArticle>),
    /// A webhook's JSON body (the seller's own system, not WeCom), pretty-printed.
    Webhook(String),
    /// A message type the console does not draw, as its JSON.
    Other {
        /// Its `msgtype`.
        msgtype: String,
        /// The body, pretty-printed.
        json: String,
    },
}

/// A `news` article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsArticle {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Where a tap goes.
    pub url: String,
}

/// A line of WeCom markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdLine {
    /// Heading level 1–6 (`# …`), 0 for a plain line.
    pub heading: u8,
    /// A `> ` quote line.
    pub quote: bool,
    /// Its pieces.
    pub spans: Vec<MdSpan>,
}

/// A run of WeCom markdown text with one style.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MdSpan {
    /// The text.
    pub text: String,
    /// `**bold**`.
    pub bold: bool,
    /// `` `code` ``.
    pub code: bool,
    /// `<font color="info|comment|warning">`.
    pub color: Option<String>,
    /// `[text](url)`.
    pub link: Option<String>,
}

/// A delivery attempt and its message as WeCom drew it.
#[derive(Debug, Clone)]
pub struct SentView {
    /// The attempt.
    pub entry: AuditEntry,
    /// The message; `None` when the outbox no longer keeps it (retention, a forgotten buyer, an attempt
    /// audited before the link was stored).
    pub view: Option<WecomView>,
}

/// The dashboard and the "as WeCom received it" view.
pub struct DashboardService<'a> {
    dashboard: &'a dyn Dashboard,
    clock: &'a SharedClock,
}

impl<'a> DashboardService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            dashboard: &*engine.store,
            clock: &engine.clock,
        }
    }

    /// The dashboard now, latency, failures, shops and responses over `range`.
    pub async fn overview(&self, range: Range) -> Result<Overview, EngineError> {
        let store = self.dashboard;
        // Sum what was sealed since the last look first, so the figures below read few log entries. The
        // figures do not depend on it (entries not summed are read from the log), so a failed rollup
        // makes the page slower, never wrong, and does not fail it.
        if let Err(err) = store.roll_up_dashboard().await {
            tracing::warn!(error = ?err, "rolling up the dashboard's sums failed; reading the log instead");
        }
        let now = self.clock.now();
        // Whole minutes, so a bar is a full minute and the chart does not shift within one.
        let into_minute = Duration::from_millis(now.as_millis().rem_euclid(MINUTE_MS).unsigned_abs());
        let end = now - into_minute + MINUTE;
        let hour = Window {
            from: end - HOUR,
            to: end,
        };
        // `to` is exclusive: one ms past now takes in what happened this very ms.
        let to = now + Duration::from_millis(1);
        let window = Window {
            from: now - range.span(),
            to,
        };
        let counted = store.traffic_per_minute(hour).await?;
        let per_minute = fill_minutes(hour, &counted);
        let latency = store.delivery_latency(window).await?;
        let failures = store.delivery_failures(window).await?;
        let by_shop = store.delivery_latency_by_shop(window).await?;
        let shops = join_shops(store.shop_traffic(window).await?, by_shop);
        let day = Window { from: now - DAY, to };
        let week = Window {
            from: now - 7 * DAY,
            to,
        };
        let in_time_day = Share {
            counts: store.orders_in_wecom_within(day, IN_TIME).await?,
        };
        let in_time_week = Share {
            counts: store.orders_in_wecom_within(week, IN_TIME).await?,
        };
        let responses = store.first_response_times(window).await?;
        Ok(Overview {
            now,
            range,
            per_minute,
            latency,
            failures,
            shops,
            in_time_day,
            in_time_week,
            responses,
        })
    }

    /// Audit entry `audit_id`'s message as WeCom received it; `None` when it is no delivery attempt.
    pub async fn sent_message(&self, audit_id: i64) -> Result<Option<SentView>, EngineError> {
        let Some(sent) = self.dashboard.sent_message(audit_id).await? else {
            return Ok(None);
        };
        let view = sent.payload.as_deref().map(view_of_payload);
        Ok(Some(SentView {
            entry: sent.entry,
            view,
        }))
    }
}

/// Every minute of `hour`, with its counts or zeros.
fn fill_minutes(hour: Window, counted: &[MinuteCount]) -> Vec<MinuteCount> {
    let minutes = hour.to.saturating_duration_since(hour.from).as_secs() / MINUTE.as_secs();
    (0..minutes)
        .map(|i| {
            let minute = hour.from + Duration::from_secs(i * MINUTE.as_secs());
            counted
                .iter()
                .find(|c| c.minute == minute)
                .cloned()
                .unwrap_or(MinuteCount {
                    minute,
                    pushes: 0,
                    delivered: 0,
                })
        })
        .collect()
}

/// Each shop's traffic with its latency (a shop with deliveries has traffic, so none is lost).
fn join_shops(traffic: Vec<ShopTraffic>, latency: Vec<ShopLatency>) -> Vec<ShopRow> {
    traffic
        .into_iter()
        .map(|t| {
            let latency = latency
                .iter()
                .find(|l| l.shop_id == t.shop_id)
                .map(|l| l.latency.clone());
            ShopRow { traffic: t, latency }
        })
        .collect()
}

/// The stored outbox payload as WeCom drew it (a webhook's as its JSON).
pub fn view_of_payload(stored: &str) -> WecomView {
    let Ok(payload) = serde_json::from_str::<Payload>(stored) else {
        return WecomView::Other {
            msgtype: "?".into(),
            json: stored.to_owned(),
        };
    };
    let body = payload.body();
    if matches!(payload, Payload::Webhook { .. }) {
        return WecomView::Webhook(pretty(&body));
    }
    view_of_body(&body)
}

/// A WeCom request body (app message, app chat or robot) as WeCom draws it.
pub fn view_of_body(body: &Value) -> WecomView {
    let msgtype = body["msgtype"].as_str().unwrap_or_default();
    let part = &body[msgtype];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    match msgtype {
        "text" => {
            let mut mentions: Vec<String> = part["mentioned_list"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(part["mentioned_mobile_list"].as_array().into_iter().flatten())
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect();
            mentions.dedup();
            WecomView::Text {
                content: text(&part["content"]),
                mentions,
            }
        }
        "markdown" | "markdown_v2" => WecomView::Markdown(parse_markdown(part["content"].as_str().unwrap_or_default())),
        "textcard" => WecomView::TextCard {
            title: text(&part["title"]),
            description: text(&part["description"]),
            button: part["btntxt"].as_str().map(str::to_owned),
        },
        "template_card" => match serde_json::from_value::<TemplateCard>(part.clone()) {
            Ok(card) => WecomView::TemplateCard(Box::new(card)),
            Err(_) => WecomView::Other {
                msgtype: msgtype.to_owned(),
                json: pretty(body),
            },
        },
        "news" => WecomView::News(
            part["articles"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| NewsArticle {
                    title: text(&a["title"]),
                    description: text(&a["description"]),
                    url: text(&a["url"]),
                })
                .collect(),
        ),
        other => WecomView::Other {
            msgtype: other.to_owned(),
            json: pretty(body),
        },
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// WeCom's markdown subset as lines of styled runs: `#`–`######` headings, `> ` quotes, `**bold**`,
/// `` `code` ``, `[text](url)` and `<font color="info|comment|warning">…</font>`. Anything else is text.
pub fn parse_markdown(content: &str) -> Vec<MdLine> {
    content
        .lines()
        .map(|raw| {
            let hashes = raw.chars().take_while(|c| *c == '#').count();
            let (heading, rest) = if (1..=6).contains(&hashes) && raw[hashes..].starts_with(' ') {
                (hashes as u8, &raw[hashes + 1..])
            } else {
                (0, raw)
            };
            let (quote, rest) = match rest.strip_prefix("> ").or_else(|| rest.strip_prefix('>')) {
                Some(r) if heading == 0 => (true, r),
                _ => (false, rest),
            };
            MdLine {
                heading,
                quote,
                spans: parse_spans(rest),
            }
        })
        .collect()
}

/// One line's runs.
fn parse_spans(line: &str) -> Vec<MdSpan> {
    let mut spans: Vec<MdSpan> = Vec::new();
    let mut style = MdSpan::default();
    let mut rest = line;
    let flush = |spans: &mut Vec<MdSpan>, style: &MdSpan, text: &str| {
        if !text.is_empty() {
            spans.push(MdSpan {
                text: text.to_owned(),
                ..style.clone()
            });
        }
    };
    while !rest.is_empty() {
        // The next marker of any kind; text before it keeps the current style.
        let next = ["**", "`", "[", "<font color=\"", "</font>"]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, *m)))
            .min_by_key(|(i, _)| *i);
        let Some((at, marker)) = next else {
            flush(&mut spans, &style, rest);
            break;
        };
        flush(&mut spans, &style, &rest[..at]);
        let after = &rest[at + marker.len()..];
        match marker {
            "**" => {
                style.bold = !style.bold;
                rest = after;
            }
            "`" => match after.find('`') {
                Some(end) => {
                    let code = MdSpan {
                        code: true,
                        ..style.clone()
                    };
                    flush(&mut spans, &code, &after[..end]);
                    rest = &after[end + 1..];
                }
                None => {
                    flush(&mut spans, &style, marker);
                    rest = after;
                }
            },
            "[" => match after
                .find("](")
                .and_then(|t| after[t + 2..].find(')').map(|u| (t, t + 2 + u)))
            {
                Some((text_end, url_end)) => {
                    let link = MdSpan {
                        link: Some(after[text_end + 2..url_end].to_owned()),
                        ..style.clone()
                    };
                    flush(&mut spans, &link, &after[..text_end]);
                    rest = &after[url_end + 1..];
                }
                None => {
                    flush(&mut spans, &style, marker);
                    rest = after;
                }
            },
            "</font>" => {
                style.color = None;
                rest = after;
            }
            _ => match after.find("\">") {
                Some(end) => {
                    let color = &after[..end];
                    style.color = ["info", "comment", "warning"]
                        .contains(&color)
                        .then(|| color.to_owned());
                    rest = &after[end + 2..];
                }
                None => {
                    flush(&mut spans, &style, marker);
                    rest = after;
                }
            },
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_parsed_into_wecoms_styles() {
        let lines = parse_markdown(
            "## 新订单 <font color=\"warning\">待发货</font>\n> 订单 `220810QSK8S7BX`\n**金额** SGD 29.30 [查看](https://x/o)",
        );
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].heading, 2);
        assert_eq!(lines[0].spans[0].text, "新订单 ");
        assert_eq!(lines[0].spans[1].text, "待发货");
        assert_eq!(lines[0].spans[1].color.as_deref(), Some("warning"));
        assert!(lines[1].quote);
        assert!(lines[1].spans[1].code);
        assert_eq!(lines[1].spans[1].text, "220810QSK8S7BX");
        assert!(lines[2].spans[0].bold && lines[2].spans[0].text == "金额");
        assert!(!lines[2].spans[1].bold);
        assert_eq!(lines[2].spans[2].link.as_deref(), Some("https://x/o"));
        assert_eq!(lines[2].spans[2].text, "查看");
        // An unknown colour is no colour; an unclosed marker is text.
        let odd = parse_markdown("<font color=\"red\">x</font> `open [a");
        assert_eq!(odd[0].spans[0].color, None);
        let text: String = odd[0].spans.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(text, "x `open [a");
    }

    #[test]
    fn payloads_become_the_view_of_their_msgtype() {
        let robot = r#"{"target":"robot","robot":"ops","message":{"msgtype":"text","text":{"content":"hi","mentioned_list":["@all"]}}}"#;
        assert_eq!(
            view_of_payload(robot),
            WecomView::Text {
                content: "hi".into(),
                mentions: vec!["@all".into()]
            }
        );
        let chat = r##"{"target":"appchat","app":"hq","chatid":"c1","content":"# 标题"}"##;
        let WecomView::Markdown(lines) = view_of_payload(chat) else {
            panic!("markdown")
        };
        assert_eq!(lines[0].heading, 1);
        let card = r#"{"target":"wecom_app","app":"hq","message":{"msgtype":"template_card","template_card":{
            "card_type":"text_notice","main_title":{"title":"新订单"},"card_action":{"type":1,"url":"https://x"},
            "horizontal_content_list":[{"keyname":"订单","value":"220810QSK8S7BX"}]}}}"#;
        let WecomView::TemplateCard(card) = view_of_payload(card) else {
            panic!("card")
        };
        assert_eq!(card.main_title.and_then(|t| t.title).as_deref(), Some("新订单"));
        let news = r#"{"target":"robot","robot":"ops","message":{"msgtype":"news","news":{"articles":[{"title":"t","description":"d","url":"u"}]}}}"#;
        assert_eq!(
            view_of_payload(news),
            WecomView::News(vec![NewsArticle {
                title: "t".into(),
                description: "d".into(),
                url: "u".into()
            }])
        );
        let hook = r#"{"target":"webhook","webhook":"wms","message":{"kind":"order_created"}}"#;
        assert!(matches!(view_of_payload(hook), WecomView::Webhook(j) if j.contains("order_created")));
        assert!(matches!(view_of_payload("not json"), WecomView::Other { .. }));
    }

    #[test]
    fn the_share_rounds_down_and_needs_orders() {
        let share = |orders, within| Share {
            counts: InTime { orders, within },
        };
        assert_eq!(share(1_000, 992).permille(), Some(992));
        assert_eq!(share(2_000, 1_999).permille(), Some(999));
        assert_eq!(share(0, 0).permille(), None);
    }

    #[test]
    fn every_minute_of_the_hour_is_there() {
        let hour = Window {
            from: UnixMs::from_secs(60 * 60),
            to: UnixMs::from_secs(120 * 60),
        };
        let filled = fill_minutes(
            hour,
            &[MinuteCount {
                minute: UnixMs::from_secs(61 * 60),
                pushes: 3,
                delivered: 2,
            }],
        );
        assert_eq!(filled.len(), 60);
        assert_eq!(filled[1].pushes, 3);
        assert_eq!(filled[0].pushes + filled[59].delivered, 0);
        assert_eq!(Range::parse("7d").map(Range::as_str).ok(), Some("7d"));
        assert!(Range::parse("1y").is_err());
    }
}
