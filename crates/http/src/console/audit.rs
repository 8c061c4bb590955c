//! `/console/audit`: the audit log — every push and delivery attempt — filtered by kind, outcome, platform,
//! shop, order, destination and time, newest first, a page at a time by id (keyset: a page costs the same however deep),
//! and `/console/audit.csv`: every matching entry with the same filters, streamed a page at a time so an
//! export of a million rows needs no more memory than one page.
//! `/console/audit/{id}/wecom`: a delivery attempt's message "as WeCom received it" — the stored request
//! drawn the way WeCom's clients draw a template card, markdown, text, text card or news (HTML and CSS
//! only), not its JSON.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use maud::html;
use serde::Deserialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::audit_text::localize;
use shoprelay_core::destination::Destination;
use shoprelay_core::error::{Lang, UserFacing};
use shoprelay_engine::audit_export::write_csv;
use shoprelay_engine::service::audit::known_platform;
use shoprelay_marketplaces::platform::{self, display_name};
use shoprelay_store::{AuditFilter, AuditKind, AuditOutcome};

use super::page::{error_page, ok_page, time};
use super::wecom_view;
use super::{t, Authed};
use crate::AppState;

/// Rows on a page.
const PAGE: i64 = 50;
/// Rows fetched per step of an export.
const EXPORT_PAGE: i64 = 1_000;

/// The filters, as the form sends them (every field text, so an empty field means "any").
#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    shop_id: String,
    #[serde(default)]
    order_sn: String,
    #[serde(default)]
    destination: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before_id: String,
}

/// A filter field that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("bad audit filter {0}")]
pub struct BadFilter(&'static str);

impl UserFacing for BadFilter {
    fn code(&self) -> &'static str {
        "console.bad_filter"
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        format!(
            "筛选条件「{}」无效：店铺为数字，目标形如 wecom_app:ID、robot:ID、appchat:APP:CHATID、webhook:ID，时间为 UTC 的 年-月-日T时:分",
            self.0
        )
    }
    fn message_en(&self) -> String {
        format!(
            "The filter `{}` is invalid: shops are numbers, destinations look like wecom_app:ID, robot:ID, appchat:APP:CHATID or webhook:ID, times are UTC YYYY-MM-DDTHH:MM",
            self.0
        )
    }
}

/// A `datetime-local` value (UTC), as unix ms.
fn parse_time(raw: &str, field: &'static str) -> Result<Option<i64>, BadFilter> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| Some(t.and_utc().timestamp_millis()))
        .map_err(|_| BadFilter(field))
}

fn number(raw: &str, field: &'static str) -> Result<Option<i64>, BadFilter> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| BadFilter(field))
}

impl AuditForm {
    fn filter(&self, limit: i64) -> Result<AuditFilter, Box<dyn UserFacingDebug>> {
        let pick = |raw: &str| (!raw.trim().is_empty()).then(|| raw.trim().to_owned());
        let kind = match pick(&self.kind) {
            None => None,
            Some(k) => {
                Some(AuditKind::parse(&k).ok_or_else(|| Box::new(BadFilter("kind")) as Box<dyn UserFacingDebug>)?)
            }
        };
        let outcome = match pick(&self.outcome) {
            None => None,
            Some(o) => Some(AuditOutcome::parse(&o).ok_or_else(|| Box::new(BadFilter("outcome")) as Box<_>)?),
        };
        let platform = match pick(&self.platform) {
            None => None,
            Some(p) => Some(known_platform(&p).map_err(|e| Box::new(e) as Box<dyn UserFacingDebug>)?),
        };
        let boxed = |e: BadFilter| Box::new(e) as Box<dyn UserFacingDebug>;
        Ok(AuditFilter {
            kind,
            platform,
            shop_id: number(&self.shop_id, "shop_id").map_err(boxed)?,
            order_sn: pick(&self.order_sn),
            outcome,
            destination: match pick(&self.destination) {
                None => None,
                Some(d) => Some(Destination::parse(&d).map_err(|_| boxed(BadFilter("destination")))?),
            },
            from: parse_time(&self.from, "from").map_err(boxed)?.map(UnixMs::from_millis),
            to: parse_time(&self.to, "to").map_err(boxed)?.map(UnixMs::from_millis),
            before_id: number(&self.before_id, "before_id").map_err(boxed)?,
            limit: Some(limit),
        })
    }

    /// The query string of these filters, without the page position.
    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("kind", &self.kind),
            ("outcome", &self.outcome),
            ("platform", &self.platform),
            ("shop_id", &self.shop_id),
            ("order_sn", &self.order_sn),
            ("destination", &self.destination),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        q.finish()
    }
}

/// A user-facing error that can also be logged.
pub trait UserFacingDebug: UserFacing + std::fmt::Debug + Send + Sync {}
impl<T: UserFacing + std::fmt::Debug + Send + Sync> UserFacingDebug for T {}

/// Boxed errors answer like the error inside.
#[derive(Debug)]
struct Boxed(Box<dyn UserFacingDebug>);

impl UserFacing for Boxed {
    fn code(&self) -> &'static str {
        self.0.code()
    }
    fn status(&self) -> u16 {
        self.0.status()
    }
    fn message_zh(&self) -> String {
        self.0.message_zh()
    }
    fn message_en(&self) -> String {
        self.0.message_en()
    }
}

/// A filter's choices: `(code, label)`, the code sent, the label shown.
fn select(name: &str, current: &str, options: &[(&str, &str)], lang: Lang) -> maud::Markup {
    html! {
        select name=(name) {
            option value="" { (t(lang, "全部", "any")) }
            @for (code, label) in options {
                option value=(code) selected[*code == current] { (label) }
            }
        }
    }
}

/// An entry's kind in the page language: the code itself on English pages, as the filter and the CSV
/// write it.
fn kind_name(lang: Lang, kind: AuditKind) -> &'static str {
    match kind {
        AuditKind::Push => t(lang, "推送", "push"),
        AuditKind::Delivery => t(lang, "投递", "delivery"),
        AuditKind::Auth => t(lang, "授权", "auth"),
        AuditKind::Privacy => t(lang, "个人数据", "privacy"),
        AuditKind::Callback => t(lang, "企业微信回调", "callback"),
        AuditKind::Chat => t(lang, "买家会话", "chat"),
    }
}

/// An entry's outcome in the page language: the code itself on English pages, as the filter and the CSV
/// write it.
fn outcome_name(lang: Lang, outcome: AuditOutcome) -> &'static str {
    let zh = match outcome {
        AuditOutcome::Accepted => "已接收",
        AuditOutcome::Duplicate => "重复",
        AuditOutcome::Rejected => "已拒绝",
        AuditOutcome::Verified => "已验证",
        AuditOutcome::Processed => "已处理",
        AuditOutcome::UnknownShop => "未知店铺",
        AuditOutcome::Failed => "失败",
        AuditOutcome::OutOfWindow => "时间异常",
        AuditOutcome::Pending => "待处理",
        AuditOutcome::Replayed => "已重放",
        AuditOutcome::Received => "已收到",
        AuditOutcome::Delivered => "已送达",
        AuditOutcome::Retry => "将重试",
        AuditOutcome::Dead => "死信",
        AuditOutcome::Held => "暂停（待修正配置）",
        AuditOutcome::Throttled => "被限流",
        AuditOutcome::Paced => "排队（配额）",
        AuditOutcome::Authorized => "已授权",
        AuditOutcome::Refreshed => "已刷新",
        AuditOutcome::RefreshFailed => "刷新失败",
        AuditOutcome::NeedsReauthorization => "需重新授权",
        AuditOutcome::DataPolicySet => "数据策略已设置",
        AuditOutcome::BuyerForgotten => "买家数据已删除",
        AuditOutcome::ShopPurged => "店铺数据已清除",
        AuditOutcome::KeysRotated => "密钥已轮换",
        AuditOutcome::Acted => "已执行",
        AuditOutcome::AutoAnswered => "已自动回复",
        AuditOutcome::HandedOff => "已转人工",
        AuditOutcome::ResponseWarned => "已发超时提醒",
    };
    t(lang, zh, outcome.as_str())
}

/// `GET /console/audit`.
pub async fn page(State(state): State<AppState>, authed: Authed, Query(form): Query<AuditForm>) -> Response {
    let lang = authed.lang;
    let filter = match form.filter(PAGE) {
        Ok(f) => f,
        Err(err) => return error_page(lang, Some(&authed), &Boxed(err)),
    };
    let rows = match state.engine.audit().query(&filter).await {
        Ok(rows) => rows,
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let query = form.query();
    let next = rows.last().map(|r| r.id).filter(|_| rows.len() as i64 >= PAGE);
    let outcomes: Vec<(&str, &str)> = AuditOutcome::ALL
        .iter()
        .map(|o| (o.as_str(), outcome_name(lang, *o)))
        .collect();
    let kinds: Vec<(&str, &str)> = AuditKind::ALL
        .iter()
        .map(|k| (k.as_str(), kind_name(lang, *k)))
        .collect();
    let known: Vec<_> = platform::all().collect();
    let platforms: Vec<(&str, &str)> = known.iter().map(|p| (p.as_str(), display_name(*p))).collect();
    let body = html! {
        section {
            form method="get" action="/console/audit" {
                label style="display:inline-block" { (t(lang, "类型", "Kind")) " " (select("kind", form.kind.trim(), &kinds, lang)) }
                " "
                label style="display:inline-block" { (t(lang, "结果", "Outcome")) " " (select("outcome", form.outcome.trim(), &outcomes, lang)) }
                " "
                label style="display:inline-block" { (t(lang, "平台", "Platform")) " " (select("platform", form.platform.trim(), &platforms, lang)) }
                label { (t(lang, "店铺 ID", "Shop id")) " " input type="text" name="shop_id" value=(form.shop_id); }
                label { (t(lang, "订单号", "Order")) " " input type="text" name="order_sn" value=(form.order_sn); }
                label { (t(lang, "目标", "Destination")) " " input type="text" name="destination" placeholder="wecom_app:hq" value=(form.destination); }
                label { (t(lang, "起（UTC）", "From (UTC)")) " " input type="datetime-local" name="from" value=(form.from); }
                label { (t(lang, "止（UTC）", "Until (UTC)")) " " input type="datetime-local" name="to" value=(form.to); }
                button type="submit" { (t(lang, "筛选", "Filter")) }
                " "
                a href={ "/console/audit.csv?" (query) } { (t(lang, "导出 CSV（相同筛选条件）", "Export CSV (same filters)")) }
            }
        }
        table {
            tr {
                th { "#" } th { (t(lang, "时间", "When")) } th { (t(lang, "类型", "Kind")) } th { (t(lang, "结果", "Outcome")) }
                th { (t(lang, "店铺", "Shop")) } th { (t(lang, "订单", "Order")) } th { (t(lang, "目标", "Destination")) }
                th { "errcode" } th { (t(lang, "详情", "Detail")) }
            }
            @for e in &rows {
                tr {
                    // The codes stay in reach as titles: what the filter takes and the CSV writes.
                    td { (e.id) } td { (time(e.at.as_millis())) } td.nowrap title=(e.kind.as_str()) { (kind_name(lang, e.kind)) }
                    td.nowrap title=(e.outcome.as_str()) { (outcome_name(lang, e.outcome)) }
                    td { (e.shop_id.map(|s| s.to_string()).unwrap_or_default()) }
                    td { (e.order_sn.as_deref().unwrap_or("")) }
                    td {
                        (e.destination.as_ref().map(ToString::to_string).unwrap_or_default())
                        @if e.kind == AuditKind::Delivery {
                            br;
                            a.as-received href={ "/console/audit/" (e.id) "/wecom" } { (t(lang, "企业微信收到的样子", "As WeCom received it")) }
                        }
                    }
                    td { (e.errcode.map(|c| c.to_string()).unwrap_or_default()) }
                    td.detail { (localize(&e.detail, lang)) }
                }
            }
        }
        @if rows.is_empty() { p.muted { (t(lang, "没有符合条件的记录。", "No entry matches.")) } }
        @if let Some(id) = next {
            p { a href={ "/console/audit?" (query) "&before_id=" (id) } { (t(lang, "更早 →", "Older →")) } }
        }
    };
    ok_page(
        lang,
        Some(&authed),
        "/console/audit",
        t(lang, "审计日志", "Audit log"),
        body,
    )
}

/// No delivery attempt has this id.
#[derive(Debug, thiserror::Error)]
#[error("no delivery attempt {0} in the audit log")]
pub struct NoAttempt(i64);

impl UserFacing for NoAttempt {
    fn code(&self) -> &'static str {
        "console.no_delivery_attempt"
    }
    fn status(&self) -> u16 {
        404
    }
    fn message_zh(&self) -> String {
        format!(
            "审计日志中没有编号为 {} 的发送尝试：请从审计日志中类型为 delivery 的记录打开",
            self.0
        )
    }
    fn message_en(&self) -> String {
        format!(
            "The audit log has no delivery attempt {}: open it from an entry of kind delivery in the audit log",
            self.0
        )
    }
}

/// `GET /console/audit/{id}/wecom`: the message a delivery attempt sent, drawn as WeCom shows it, beside
/// the attempt's facts. Personal data appears masked as it was sent (the outbox keeps the request as
/// rendered under the shop's data policy).
pub async fn as_received(State(state): State<AppState>, authed: Authed, Path(id): Path<i64>) -> Response {
    let lang = authed.lang;
    let sent = match state.engine.dashboard().sent_message(id).await {
        Ok(Some(sent)) => sent,
        Ok(None) => return error_page(lang, Some(&authed), &NoAttempt(id)),
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let e = &sent.entry;
    let destination = e.destination.as_ref().map(ToString::to_string).unwrap_or_default();
    let sender = destination.split(':').nth(1).unwrap_or("shoprelay").to_owned();
    let body = html! {
        section {
            table style="width:auto" {
                tr { th { "#" } td { (e.id) } }
                tr { th { (t(lang, "时间", "When")) } td { (time(e.at.as_millis())) } }
                tr { th { (t(lang, "目标", "Destination")) } td { code { (destination) } } }
                tr { th { (t(lang, "结果", "Outcome")) } td { span title=(e.outcome.as_str()) { (outcome_name(lang, e.outcome)) } " errcode " (e.errcode.map(|c| c.to_string()).unwrap_or_else(|| "—".into())) } }
                tr { th { (t(lang, "第几次尝试", "Attempt")) } td { (e.attempt.unwrap_or_default()) } }
                tr { th { (t(lang, "店铺 / 订单", "Shop / order")) } td {
                    (e.shop_id.map(|s| s.to_string()).unwrap_or_default()) " / " (e.order_sn.as_deref().unwrap_or(""))
                } }
                tr { th { (t(lang, "详情", "Detail")) } td { (localize(&e.detail, lang)) } }
            }
        }
        section.as-received {
            h2 { (t(lang, "企业微信收到的样子", "As WeCom received it")) }
            @match &sent.view {
                Some(view) => {
                    (wecom_view::render(lang, &sender, view))
                    p.muted { (t(lang,
                        "按发送时的内容绘制；个人信息按店铺的数据策略脱敏，与发出时一致。",
                        "Drawn from the request as sent; personal data is masked by the shop's data policy, as it went out.")) }
                }
                None => {
                    p.muted { (t(lang,
                        "发件箱已不再保存这条消息（保留期已过、买家数据已删除，或记录早于此功能）。",
                        "The outbox no longer keeps this message (past its retention, the buyer's data forgotten, or the entry predates this view).")) }
                }
            }
        }
        p { a href={ "/console/audit?kind=delivery&order_sn=" (e.order_sn.as_deref().unwrap_or("")) } { (t(lang, "← 该订单的发送记录", "← This order's deliveries")) } }
    };
    ok_page(
        lang,
        Some(&authed),
        &format!("/console/audit/{id}/wecom"),
        t(lang, "企业微信收到的样子", "As WeCom received it"),
        body,
    )
}

/// `GET /console/audit.csv`: every matching entry, newest first, streamed a page at a time (recorded).
pub async fn export(State(state): State<AppState>, authed: Authed, Query(form): Query<AuditForm>) -> Response {
    let lang = authed.lang;
    let filter = match form.filter(EXPORT_PAGE) {
        Ok(f) => f,
        Err(err) => return error_page(lang, Some(&authed), &Boxed(err)),
    };
    let console = state.engine.console();
    if let Err(err) = console
        .record(&authed.user, "audit.export", None, format!("filters: {}", form.query()))
        .await
    {
        return error_page(lang, Some(&authed), &err);
    }
    // Each step reads one page after the last id of the previous one; a failure mid-way ends the stream
    // with an error, so a truncated export is never mistaken for a whole one.
    let pages = futures::stream::unfold(Some((filter, true)), move |cursor| {
        let engine = state.engine.clone();
        async move {
            let (filter, first) = cursor?;
            match engine.audit().query(&filter).await {
                Ok(rows) => {
                    let mut buf = Vec::new();
                    if let Err(err) = write_csv(&rows, first, &mut buf) {
                        return Some((Err(std::io::Error::other(err)), None));
                    }
                    let next = rows.last().filter(|_| rows.len() as i64 >= EXPORT_PAGE).map(|last| {
                        (
                            AuditFilter {
                                before_id: Some(last.id),
                                ..filter
                            },
                            false,
                        )
                    });
                    if buf.is_empty() && !first {
                        return None;
                    }
                    Some((Ok(buf), next))
                }
                Err(err) => {
                    tracing::error!(error = ?err, "audit export failed mid-way");
                    Some((Err(std::io::Error::other("audit export failed")), None))
                }
            }
        }
    });
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"shoprelay-audit.csv\""),
        ],
        Body::from_stream(pages),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_round_trip_into_the_query() {
        let form = AuditForm {
            kind: "delivery".into(),
            outcome: "dead".into(),
            shop_id: "42".into(),
            destination: "robot:ops".into(),
            from: "2026-12-01T10:00".into(),
            ..AuditForm::default()
        };
        let f = form.filter(10).unwrap();
        assert_eq!(f.kind, Some(AuditKind::Delivery));
        assert_eq!(f.outcome, Some(AuditOutcome::Dead));
        assert_eq!(f.shop_id, Some(42));
        assert_eq!(f.destination.map(|d| d.to_string()).as_deref(), Some("robot:ops"));
        assert_eq!(f.from, Some(UnixMs::from_millis(1_796_119_200_000)));
        assert_eq!(
            form.query(),
            "kind=delivery&outcome=dead&shop_id=42&destination=robot%3Aops&from=2026-12-01T10%3A00"
        );
        for bad in [
            AuditForm {
                shop_id: "x".into(),
                ..AuditForm::default()
            },
            AuditForm {
                from: "yesterday".into(),
                ..AuditForm::default()
            },
            AuditForm {
                outcome: "nope".into(),
                ..AuditForm::default()
            },
            AuditForm {
                platform: "amazon".into(),
                ..AuditForm::default()
            },
            AuditForm {
                destination: "nowhere".into(),
                ..AuditForm::default()
            },
        ] {
            assert!(form_fails(&bad), "{bad:?}");
        }
    }

    fn form_fails(f: &AuditForm) -> bool {
        f.filter(10).is_err()
    }
}
