//! `/console/dashboard`: traffic per minute over the last hour (an inline SVG bar chart, drawn on the
//! server: no script, nothing loaded from elsewhere), push → accepted latency percentiles overall and per
//! shop, failed attempts by destination kind and errcode, the share of orders in WeCom within 30 s of
//! their push (24 h and 7 d), and time to a person's first reply to buyers, per member and per shop.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use shoprelay_core::error::Lang;
use shoprelay_engine::service::dashboard::{Overview, Range, Share};
use shoprelay_store::dashboard::{MinuteCount, Percentiles};

use super::page::{error_page, ok_page, time};
use super::{t, Authed};
use crate::AppState;

/// Chart size, in SVG units.
const CHART_W: i64 = 720;
const CHART_H: i64 = 160;
/// Room for the axis labels.
const AXIS: i64 = 40;

/// The page's query: the window of everything but the chart and the headline.
#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    range: String,
}

/// A duration the way a person reads it, in the page language.
pub fn duration(lang: Lang, ms: i64) -> String {
    let (value, zh, en) = if ms < 1_000 {
        return match lang {
            Lang::Zh => format!("{ms} 毫秒"),
            Lang::En => format!("{ms} ms"),
        };
    } else if ms < 60_000 {
        (ms as f64 / 1_000.0, "秒", "s")
    } else if ms < 3_600_000 {
        (ms as f64 / 60_000.0, "分钟", "min")
    } else {
        (ms as f64 / 3_600_000.0, "小时", "h")
    };
    format!("{value:.1} {}", t(lang, zh, en))
}

/// A share as `99.2 %`, or a dash without orders.
fn share_text(share: &Share) -> String {
    share
        .permille()
        .map(|p| format!("{}.{} %", p / 10, p % 10))
        .unwrap_or_else(|| "—".into())
}

/// Pushes and deliveries per minute as bars, each with a tooltip (`<title>`), and the axis labels.
fn chart(lang: Lang, minutes: &[MinuteCount]) -> Markup {
    let max = minutes
        .iter()
        .map(|m| m.pushes.max(m.delivered))
        .max()
        .unwrap_or(0)
        .max(1);
    let n = (minutes.len() as i64).max(1);
    let slot = CHART_W / n;
    let bar = (slot / 2 - 1).max(1);
    let height = |v: i64| v * CHART_H / max;
    let label_at = |i: usize| {
        minutes
            .get(i)
            .and_then(|m| time(m.minute.as_millis()).get(11..16).map(str::to_owned))
            .unwrap_or_default()
    };
    html! {
        svg.chart role="img" width=(CHART_W + AXIS) height=(CHART_H + 24) viewBox={ "0 0 " (CHART_W + AXIS) " " (CHART_H + 24) }
            aria-label=(t(lang, "最近一小时每分钟的推送与送达", "Pushes and deliveries per minute, last hour")) {
            line x1=(AXIS) y1=(CHART_H) x2=(CHART_W + AXIS) y2=(CHART_H) stroke="#d0d7de" {}
            text x="0" y="10" font-size="10" fill="#656d76" { (max) }
            text x="0" y=(CHART_H) font-size="10" fill="#656d76" { "0" }
            @for (i, m) in minutes.iter().enumerate() {
                @let x = AXIS + i as i64 * slot;
                rect.push x=(x) y=(CHART_H - height(m.pushes)) width=(bar) height=(height(m.pushes)) fill="#0969da" {
                    title { (time(m.minute.as_millis())) " · " (t(lang, "推送", "pushes")) " " (m.pushes) }
                }
                rect.delivered x=(x + bar + 1) y=(CHART_H - height(m.delivered)) width=(bar) height=(height(m.delivered)) fill="#1a7f37" {
                    title { (time(m.minute.as_millis())) " · " (t(lang, "送达", "delivered")) " " (m.delivered) }
                }
            }
            text x=(AXIS) y=(CHART_H + 16) font-size="10" fill="#656d76" { (label_at(0)) }
            text x=(AXIS + CHART_W / 2 - 12) y=(CHART_H + 16) font-size="10" fill="#656d76" { (label_at(minutes.len() / 2)) }
            text x=(CHART_W + AXIS - 30) y=(CHART_H + 16) font-size="10" fill="#656d76" { (label_at(minutes.len().saturating_sub(1))) }
        }
        p.muted {
            span style="color:#0969da" { "■ " } (t(lang, "推送（已接收）", "Pushes accepted")) "  "
            span style="color:#1a7f37" { "■ " } (t(lang, "送达（企业微信/Webhook 已接受）", "Delivered (accepted by WeCom / webhook)"))
            " · UTC"
        }
    }
}

fn percentile_cells(lang: Lang, p: Option<&Percentiles>) -> Markup {
    html! {
        @match p {
            Some(p) => {
                td { (p.count) } td { (duration(lang, p.p50)) } td { (duration(lang, p.p95)) } td { (duration(lang, p.p99)) }
            }
            None => { td { "0" } td { "—" } td { "—" } td { "—" } }
        }
    }
}

fn shop_label(lang: Lang, shop: Option<i64>) -> String {
    shop.map(|s| s.to_string())
        .unwrap_or_else(|| t(lang, "（无店铺）", "(no shop)").to_owned())
}

fn body(lang: Lang, o: &Overview) -> Markup {
    let ranges = [
        (Range::Hour, t(lang, "最近 1 小时", "Last hour")),
        (Range::Day, t(lang, "最近 24 小时", "Last 24 hours")),
        (Range::Week, t(lang, "最近 7 天", "Last 7 days")),
    ];
    html! {
        section.headline {
            h2 { (t(lang, "订单 30 秒内进入企业微信的比例", "Orders in WeCom within 30 s of the push")) }
            div style="display:flex;gap:2rem;flex-wrap:wrap" {
                @for (label, share) in [(t(lang, "最近 24 小时", "Last 24 hours"), &o.in_time_day), (t(lang, "最近 7 天", "Last 7 days"), &o.in_time_week)] {
                    div {
                        div.muted { (label) }
                        div.big style="font-size:2.2rem;font-weight:600" data-share=(share.permille().unwrap_or(-1)) { (share_text(share)) }
                        div.muted { (share.counts.within) " / " (share.counts.orders) " " (t(lang, "个订单推送", "order pushes")) }
                    }
                }
            }
            p.muted { (t(lang,
                "从收到平台推送到企业微信（应用消息、群聊或群机器人）接受第一条消息；只计已尝试发送的订单推送。",
                "From the marketplace's push received to WeCom (app message, group chat or robot) accepting the first message; order pushes whose delivery was attempted.")) }
        }
        section {
            h2 { (t(lang, "最近一小时每分钟", "Per minute, last hour")) }
            (chart(lang, &o.per_minute))
        }
        p {
            (t(lang, "以下数据的时间范围：", "Figures below cover: "))
            @for (r, label) in ranges {
                @if r == o.range { strong { (label) } } @else { a href={ "/console/dashboard?range=" (r.as_str()) } { (label) } }
                " "
            }
        }
        section {
            h2 { (t(lang, "送达延迟（推送接收 → 目标接受）", "Delivery latency (push received → destination accepted)")) }
            table.latency {
                tr { th { (t(lang, "店铺", "Shop")) } th { (t(lang, "送达数", "Delivered")) } th { "p50" } th { "p95" } th { "p99" } }
                tr.overall { td { strong { (t(lang, "全部", "All")) } } (percentile_cells(lang, o.latency.as_ref())) }
                @for s in o.shops.iter().filter(|s| s.latency.is_some()) {
                    tr { td { (shop_label(lang, s.traffic.shop_id)) } (percentile_cells(lang, s.latency.as_ref())) }
                }
            }
        }
        section {
            h2 { (t(lang, "各店铺", "Per shop")) }
            @if o.shops.is_empty() { p.muted { (t(lang, "该时间范围内没有推送或发送。", "No push or delivery in this range.")) } }
            @else {
                table.shops {
                    tr { th { (t(lang, "店铺", "Shop")) } th { (t(lang, "推送", "Pushes")) } th { (t(lang, "送达", "Delivered")) } th { (t(lang, "失败尝试", "Failed attempts")) } th { "p95" } }
                    @for s in &o.shops {
                        tr {
                            td { @match s.traffic.shop_id { Some(id) => { a href={ "/console/audit?shop_id=" (id) } { (id) } } None => { (shop_label(lang, None)) } } }
                            td { (s.traffic.pushes) } td { (s.traffic.delivered) } td { (s.traffic.failed) }
                            td { (s.latency.as_ref().map(|l| duration(lang, l.p95)).unwrap_or_else(|| "—".into())) }
                        }
                    }
                }
            }
        }
        section {
            h2 { (t(lang, "失败（按目标类型与 errcode）", "Failures by destination kind and errcode")) }
            @if o.failures.is_empty() { p.muted { (t(lang, "没有失败的发送尝试。", "No failed attempt.")) } }
            @else {
                table.failures {
                    tr { th { (t(lang, "目标类型", "Destination kind")) } th { "errcode" } th { (t(lang, "结果", "Outcome")) } th { (t(lang, "次数", "Attempts")) } }
                    @for f in &o.failures {
                        tr {
                            td { code { (f.destination_kind.as_str()) } }
                            td { (f.errcode.map(|c| c.to_string()).unwrap_or_else(|| "—".into())) }
                            td { a href={ "/console/audit?kind=delivery&outcome=" (f.outcome.as_str()) } { code { (f.outcome.as_str()) } } }
                            td { (f.count) }
                        }
                    }
                }
            }
        }
        section {
            h2 { (t(lang, "买家消息首次人工回复时间", "Time to first human reply to buyers")) }
            p.muted { (t(lang, "自动回复不计入；从买家开始等待到成员的回复发出。", "Automatic answers do not count; from the buyer's first unanswered message to a member's reply sent.")) }
            p {
                (t(lang, "中位数：", "Median: "))
                strong.median { (o.responses.overall.as_ref().map(|m| duration(lang, m.median_ms)).unwrap_or_else(|| "—".into())) }
                " · " (t(lang, "已回复", "answered")) " " (o.responses.overall.as_ref().map_or(0, |m| m.answered))
                " · " (t(lang, "未回复", "unanswered")) " " (o.responses.unanswered)
            }
            div style="display:flex;gap:1rem;flex-wrap:wrap" {
                table.members style="width:auto" {
                    tr { th { (t(lang, "成员", "Member")) } th { (t(lang, "回复数", "Answered")) } th { (t(lang, "中位数", "Median")) } }
                    @for m in &o.responses.per_member {
                        tr { td { (m.key) } td { (m.answered) } td { (duration(lang, m.median_ms)) } }
                    }
                }
                table.response-shops style="width:auto" {
                    tr { th { (t(lang, "店铺", "Shop")) } th { (t(lang, "回复数", "Answered")) } th { (t(lang, "中位数", "Median")) } }
                    @for m in &o.responses.per_shop {
                        tr { td { (m.key) } td { (m.answered) } td { (duration(lang, m.median_ms)) } }
                    }
                }
            }
        }
        p.muted { (t(lang, "计算于 ", "Computed at ")) (time(o.now.as_millis())) }
    }
}

/// `GET /console/dashboard?range=1h|24h|7d` (any role).
pub async fn page(State(state): State<AppState>, authed: Authed, Query(q): Query<DashboardQuery>) -> Response {
    let lang = authed.lang;
    let range = match q.range.trim() {
        "" => Range::default(),
        raw => match Range::parse(raw) {
            Ok(r) => r,
            Err(err) => return error_page(lang, Some(&authed), &err),
        },
    };
    match state.engine.dashboard().overview(range).await {
        Ok(o) => ok_page(
            lang,
            Some(&authed),
            "/console/dashboard",
            t(lang, "仪表盘", "Dashboard"),
            body(lang, &o),
        ),
        Err(err) => error_page(lang, Some(&authed), &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(duration(Lang::En, 850), "850 ms");
        assert_eq!(duration(Lang::En, 1_840), "1.8 s");
        assert_eq!(duration(Lang::Zh, 108_000), "1.8 分钟");
        assert_eq!(duration(Lang::En, 5_400_000), "1.5 h");
    }

    #[test]
    fn the_chart_has_a_bar_per_minute_scaled_to_the_busiest() {
        let minutes: Vec<MinuteCount> = (0..60)
            .map(|i| MinuteCount {
                minute: shoprelay_clock::UnixMs::from_millis(1_796_119_200_000 + i * 60_000),
                pushes: i,
                delivered: i / 2,
            })
            .collect();
        let svg = chart(Lang::En, &minutes).into_string();
        assert_eq!(svg.matches("<rect class=\"push\"").count(), 60);
        assert_eq!(svg.matches("<rect class=\"delivered\"").count(), 60);
        // The busiest minute (59 pushes) fills the chart's height.
        assert!(
            svg.contains(&format!("y=\"0\" width=\"5\" height=\"{CHART_H}\"")),
            "{svg}"
        );
        assert!(svg.contains("10:00") && svg.contains("10:59"));
    }
}
