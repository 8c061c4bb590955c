//! `/console/rules`: the message rules — listed with their counters, enabled and disabled, created and
//! edited in an editor whose Preview button shows what the rule would send the way WeCom shows it (a
//! template card, markdown, text; a webhook's JSON as JSON), and a dry run of every rule against a recent
//! stored event or a sample one. Without script, "live" is the Preview button re-rendering the form with
//! the preview beside it; nothing is saved or sent until Save.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use serde_json::Value;
use shoprelay_core::destination::Destination;
use shoprelay_core::error::Lang;
use shoprelay_core::event::{Event, EventKind};
use shoprelay_core::ids::ConfigId;
use shoprelay_core::rules::sample_event;
use shoprelay_engine::routing::RuleOutcome;
use shoprelay_engine::service::rules::{DryRun, RuleDraft, RuleError};

use super::page::{error_box, error_page, ok_page};
use super::{t, Authed, Posted};
use crate::AppState;

/// The look of WeCom's chat window, cards and markdown; inline because the page loads nothing else.
const WECOM_CSS: &str = "
.editor{display:flex;gap:1rem;flex-wrap:wrap;align-items:flex-start}.editor>form{flex:1 1 28rem}.editor>aside{flex:1 1 22rem}
textarea{width:100%;font-family:ui-monospace,monospace;font-size:.85rem}.events label{display:inline-block;margin:.1rem .6rem .1rem 0}
.events input,.inline input{min-width:0}
.wx{background:#ededed;border-radius:8px;padding:.8rem;margin:.5rem 0}.wx-to{color:#888;font-size:.8rem;margin-bottom:.3rem}
.wx-card{background:#fff;border-radius:6px;padding:.8rem 1rem;box-shadow:0 1px 2px rgba(0,0,0,.08);max-width:24rem}
.wx-src{color:#888;font-size:.8rem}.wx-title{font-size:1.05rem;font-weight:600;margin:.35rem 0 .1rem}
.wx-desc{color:#888;font-size:.85rem}.wx-emph{font-size:1.7rem;color:#1a1a1a;margin:.4rem 0 0}
.wx-quote{background:#f5f5f5;border-radius:4px;padding:.4rem .6rem;color:#555;font-size:.85rem;margin:.4rem 0}
.wx-sub{color:#555;font-size:.9rem;margin:.4rem 0;white-space:pre-wrap}
.wx-kv{display:flex;gap:1rem;font-size:.88rem;margin:.15rem 0}.wx-kv .k{color:#888;min-width:5rem}
.wx-jump{color:#3975c6;font-size:.88rem;border-top:1px solid #eee;padding-top:.35rem;margin-top:.4rem}
.wx-btns{display:flex;gap:.5rem;margin-top:.6rem}.wx-btn{flex:1;text-align:center;border:1px solid #ddd;border-radius:4px;padding:.3rem;font-size:.88rem}
.wx-btn.primary{background:#3975c6;border-color:#3975c6;color:#fff}
.wx-bubble{background:#fff;border-radius:6px;padding:.6rem .8rem;max-width:24rem;white-space:pre-wrap}
.wx-md h4{margin:.2rem 0}.wx-md p{margin:.15rem 0}.wx-md blockquote{margin:.2rem 0;padding-left:.5rem;border-left:3px solid #ddd;color:#666}
.wx-md .info{color:#1a7f37}.wx-md .comment{color:#888}.wx-md .warning{color:#d97706}
pre.json{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:.8rem}
";

/// Text up to the first `end`, and what follows it.
fn until<'a>(text: &'a str, end: &str) -> Option<(&'a str, &'a str)> {
    text.find(end).map(|i| (&text[..i], &text[i + end.len()..]))
}

/// One line of WeCom markdown's inline syntax: `**bold**`, `[text](url)`, `` `code` `` and
/// `<font color="info|comment|warning">`. Everything else is text, escaped by maud.
fn inline(text: &str) -> Markup {
    let mut parts: Vec<Markup> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let flush = |plain: &mut String, parts: &mut Vec<Markup>| {
        if !plain.is_empty() {
            parts.push(html! { (plain.as_str()) });
            plain.clear();
        }
    };
    while let Some(c) = rest.chars().next() {
        if let Some((inner, after)) = rest.strip_prefix("**").and_then(|r| until(r, "**")) {
            flush(&mut plain, &mut parts);
            parts.push(html! { strong { (inline(inner)) } });
            rest = after;
            continue;
        }
        if let Some((color, body)) = rest.strip_prefix("<font color=\"").and_then(|r| until(r, "\">")) {
            if let Some((inner, after)) = until(body, "</font>") {
                flush(&mut plain, &mut parts);
                let class = match color {
                    "info" => "info",
                    "comment" => "comment",
                    "warning" => "warning",
                    _ => "",
                };
                parts.push(html! { span class=(class) { (inline(inner)) } });
                rest = after;
                continue;
            }
        }
        if let Some((label, tail)) = rest.strip_prefix('[').and_then(|r| until(r, "](")) {
            if let Some((url, after)) = until(tail, ")") {
                flush(&mut plain, &mut parts);
                // Only web links become links: a preview must not carry `javascript:` or the like.
                let web = url.starts_with("https://") || url.starts_with("http://");
                parts.push(html! { @if web { a href=(url) { (label) } } @else { (label) } });
                rest = after;
                continue;
            }
        }
        if let Some((code, after)) = rest.strip_prefix('`').and_then(|r| until(r, "`")) {
            flush(&mut plain, &mut parts);
            parts.push(html! { code { (code) } });
            rest = after;
            continue;
        }
        plain.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut plain, &mut parts);
    html! { @for p in parts { (p) } }
}

/// WeCom markdown as WeCom shows it: headings, quotes, lines of inline syntax.
pub fn markdown(content: &str) -> Markup {
    html! {
        div.wx-bubble.wx-md {
            @for line in content.lines() {
                @let heading = line.trim_start_matches('#');
                @if line.starts_with('#') && heading.starts_with(' ') {
                    h4 { (inline(heading.trim())) }
                } @else if let Some(quote) = line.strip_prefix('>') {
                    blockquote { (inline(quote.trim_start())) }
                } @else if line.trim().is_empty() {
                    br;
                } @else {
                    p { (inline(line)) }
                }
            }
        }
    }
}

fn text_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A template card as WeCom draws it: source, title, the emphasised figure, quote, lines of key and
/// value, links and buttons.
pub fn template_card(card: &Value) -> Markup {
    html! {
        div.wx-card {
            @if let Some(src) = text_at(card, "/source/desc") { div.wx-src { (src) } }
            @if let Some(title) = text_at(card, "/main_title/title") { div.wx-title { (title) } }
            @if let Some(desc) = text_at(card, "/main_title/desc") { div.wx-desc { (desc) } }
            @if let Some(big) = text_at(card, "/emphasis_content/title") {
                div.wx-emph { (big) }
                @if let Some(desc) = text_at(card, "/emphasis_content/desc") { div.wx-desc { (desc) } }
            }
            @if card.get("quote_area").is_some() {
                div.wx-quote {
                    @if let Some(q) = text_at(card, "/quote_area/title") { strong { (q) } br; }
                    @if let Some(q) = text_at(card, "/quote_area/quote_text") { (q) }
                }
            }
            @if let Some(sub) = text_at(card, "/sub_title_text") { div.wx-sub { (sub) } }
            @for kv in items(card, "horizontal_content_list") {
                div.wx-kv {
                    span.k { (kv.get("keyname").and_then(Value::as_str).unwrap_or_default()) }
                    span { (kv.get("value").and_then(Value::as_str).unwrap_or_default()) }
                }
            }
            @for jump in items(card, "jump_list") {
                div.wx-jump { (jump.get("title").and_then(Value::as_str).unwrap_or_default()) " ›" }
            }
            @if !items(card, "button_list").is_empty() {
                div.wx-btns {
                    @for b in items(card, "button_list") {
                        @let primary = b.get("style").and_then(Value::as_i64) == Some(1);
                        div.wx-btn.primary[primary] { (b.get("text").and_then(Value::as_str).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// A message as its destination shows it: WeCom's card, markdown or text, or a webhook's JSON.
pub fn message_view(lang: Lang, destination: &Destination, message: &Value) -> Markup {
    let msgtype = message.get("msgtype").and_then(Value::as_str).unwrap_or_default();
    html! {
        div.wx {
            div.wx-to { (t(lang, "发送到 ", "To ")) code { (destination.to_string()) } }
            @match (destination, msgtype) {
                (Destination::Webhook(_), _) => pre.json { (serde_json::to_string_pretty(message).unwrap_or_default()) },
                (_, "template_card") => (template_card(message.get("template_card").unwrap_or(&Value::Null))),
                (_, "markdown") => (markdown(text_at(message, "/markdown/content").unwrap_or_default())),
                (_, "text") => div.wx-bubble { (text_at(message, "/text/content").unwrap_or_default()) },
                _ => pre.json { (serde_json::to_string_pretty(message).unwrap_or_default()) },
            }
        }
    }
}

/// A rule's decision in a dry run, in the page language (a failed condition keeps the evaluator's words).
fn rule_outcome(lang: Lang, outcome: &RuleOutcome) -> String {
    match outcome {
        RuleOutcome::Matched => t(lang, "匹配", "matched").to_owned(),
        RuleOutcome::NotMatched => t(lang, "条件不成立", "not matched").to_owned(),
        RuleOutcome::WrongKindOrShop => {
            t(lang, "事件类型或店铺不适用", "not for this kind of event or shop").to_owned()
        }
        RuleOutcome::Disabled => t(lang, "已停用", "disabled").to_owned(),
        RuleOutcome::Failed(why) => format!("{}{why}", t(lang, "条件无法求值：", "condition failed: ")),
    }
}

/// A rule counter's name (a delivery state, `failed` or `matched`) in the page language.
fn counter_name(lang: Lang, key: &str) -> &str {
    match key {
        "matched" => t(lang, "匹配", "matched"),
        "pending" => t(lang, "待发送", "pending"),
        "delivered" => t(lang, "已送达", "delivered"),
        "dead" => t(lang, "死信", "dead"),
        "failed" => t(lang, "失败", "failed"),
        "coalesced" => t(lang, "已合并", "coalesced"),
        other => other,
    }
}

/// A dry run: each rule's decision, then every message as it would be shown.
fn dry_run_markup(lang: Lang, run: &DryRun) -> Markup {
    html! {
        table {
            tr { th { (t(lang, "规则", "Rule")) } th { (t(lang, "结果", "Outcome")) } }
            @for d in &run.decisions {
                tr { td { code { (d.rule) } }
                     td { @if d.outcome == RuleOutcome::Matched { span.step-ok { (rule_outcome(lang, &d.outcome)) } } @else { span.muted { (rule_outcome(lang, &d.outcome)) } } } }
            }
        }
        @if run.messages.is_empty() {
            p { (t(lang, "此事件不会发送任何消息。", "This event sends no message.")) }
        }
        @for m in &run.messages {
            (message_view(lang, &m.destination, &m.message))
        }
    }
}

fn kind_of(raw: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| k.as_str() == raw)
}

/// The event a dry run starts from: `order:SN` (that order's newest stored event) or `kind:KIND` (a sample).
async fn source_event(state: &AppState, source: &str) -> Result<Event, RuleError> {
    match source.split_once(':') {
        Some(("order", order)) => state.engine.rules().event_of_order(order, None).await,
        Some(("kind", kind)) => Ok(sample_event(kind_of(kind).unwrap_or(EventKind::OrderCreated))),
        _ => Ok(sample_event(EventKind::OrderCreated)),
    }
}

/// The dry run's choice of event: recent stored orders first, then a sample of each kind.
async fn source_select(state: &AppState, lang: Lang, chosen: &str) -> Result<Markup, RuleError> {
    let orders = state.engine.rules().recent_orders(10).await?;
    Ok(html! {
        label { (t(lang, "试运行事件", "Dry-run event")) " "
            select name="source" {
                @for o in &orders {
                    @let v = format!("order:{o}");
                    option value=(v) selected[chosen == v] { (t(lang, "最近订单 ", "Recent order ")) (o) }
                }
                @for k in EventKind::ALL {
                    @let v = format!("kind:{}", k.as_str());
                    option value=(v) selected[chosen == v] { (t(lang, "示例事件 ", "Sample ")) (k.as_str()) }
                }
            }
        }
    })
}

/// Which event the rules page dry-runs.
#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    source: String,
}

/// `GET /console/rules?source=`: every rule with its counters and switches, and a dry run of all of them.
pub async fn list(State(state): State<AppState>, authed: Authed, Query(q): Query<ListQuery>) -> Response {
    let lang = authed.lang;
    let rules = match state.engine.rules().list().await {
        Ok(r) => r,
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let select = match source_select(&state, lang, &q.source).await {
        Ok(s) => s,
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let run = if q.source.is_empty() {
        None
    } else {
        let now = state.engine.clock.now();
        Some(
            source_event(&state, &q.source)
                .await
                .map(|event| state.engine.rules().dry_run(&event, now)),
        )
    };
    let body = html! {
        style { (PreEscaped(WECOM_CSS)) }
        p { a href="/console/rules/new" { (t(lang, "＋ 新建规则", "+ New rule")) } }
        table {
            tr { th { "id" } th { (t(lang, "启用", "Enabled")) } th { (t(lang, "事件", "Events")) } th { (t(lang, "目标", "Targets")) } th { (t(lang, "计数", "Counters")) } th {} }
            @for (rule, counters) in &rules {
                tr {
                    td { a href={ "/console/rules/" (rule.id) "/edit" } { code { (rule.id) } } }
                    td { @if rule.enabled { span.step-ok { (t(lang, "是", "yes")) } } @else { span.step-fail { (t(lang, "否", "no")) } } }
                    td { @for e in &rule.events { code { (e.as_str()) } " " } }
                    td { @for target in &rule.targets { @if let Ok(d) = target.destination() { code { (d.to_string()) } " " } } }
                    td { @for (k, v) in counters { (counter_name(lang, k)) ": " (v) br; } }
                    td {
                        @let (path, label) = if rule.enabled { ("disable", t(lang, "停用", "Disable")) } else { ("enable", t(lang, "启用", "Enable")) };
                        form method="post" action={ "/console/rules/" (rule.id) "/" (path) } {
                            input type="hidden" name="csrf" value=(authed.csrf);
                            button type="submit" { (label) }
                        }
                    }
                }
            }
        }
        @if rules.is_empty() { p { (t(lang, "尚无规则。", "No rule yet.")) } }
        section id="dry-run" {
            h2 { (t(lang, "试运行全部规则", "Dry run of every rule")) }
            p.muted { (t(lang, "不会发送任何消息。", "Nothing is sent.")) }
            form method="get" action="/console/rules" {
                (select)
                button type="submit" { (t(lang, "试运行", "Dry run")) }
            }
            @match &run {
                Some(Ok(run)) => (dry_run_markup(lang, run)),
                Some(Err(err)) => (error_box(lang, err)),
                None => {},
            }
        }
    };
    ok_page(
        lang,
        Some(&authed),
        "/console/rules",
        t(lang, "消息规则", "Message rules"),
        body,
    )
}

/// The editor's page, with the preview (or why there is none) beside the form.
async fn editor(
    state: &AppState,
    authed: &Authed,
    draft: &RuleDraft,
    source: &str,
    outcome: Option<Result<DryRun, RuleError>>,
) -> Response {
    let lang = authed.lang;
    let select = match source_select(state, lang, source).await {
        Ok(s) => s,
        Err(err) => return error_page(lang, Some(authed), &err),
    };
    let mut targets_hint = String::from("{ type = \"robot\", robot = \"ops\" }");
    let registry = state.engine.registry();
    let mut apps: Vec<_> = registry.wecom_apps.keys().collect();
    apps.sort();
    if let Some(app) = apps.first() {
        targets_hint = format!("{{ type = \"wecom_app\", app = \"{app}\", users = [\"zhangsan\"] }}");
    }
    let body = html! {
        style { (PreEscaped(WECOM_CSS)) }
        div.editor {
            form method="post" action="/console/rules/editor" {
                input type="hidden" name="csrf" value=(authed.csrf);
                label { "id " input type="text" name="id" value=(draft.id) required pattern="[A-Za-z0-9_-]+"; }
                p.inline {
                    label { input type="checkbox" name="enabled" value="1" checked[draft.enabled]; " " (t(lang, "启用", "Enabled")) }
                    label { input type="checkbox" name="urgent" value="1" checked[draft.urgent]; " " (t(lang, "紧急（优先发送，不合并、不受免打扰影响）", "Urgent (first, never folded or held)")) }
                }
                fieldset.events {
                    legend { (t(lang, "事件类型（不选 = 全部）", "Event kinds (none = every kind)")) }
                    @for k in EventKind::ALL {
                        label { input type="checkbox" name={ "ev." (k.as_str()) } value="1" checked[draft.events.iter().any(|e| e == k.as_str())]; " " (k.as_str()) }
                    }
                }
                label { (t(lang, "店铺 ID（逗号分隔，空 = 全部）", "Shop ids (commas; empty = every shop)")) " " input type="text" name="shops" value=(draft.shops); }
                label { (t(lang, "条件 when（TOML，如 { expr = \"order.quantity >= 5\" }）", "Condition `when` (TOML, e.g. { expr = \"order.quantity >= 5\" })")) textarea name="when" rows="2" { (draft.when) } }
                label { (t(lang, "发送目标（每行一个）", "Targets (one per line)")) textarea name="targets" rows="3" placeholder=(targets_hint) { (draft.targets) } }
                label { (t(lang, "消息模板（minijinja + markdown，空 = 内置卡片）", "Message template (minijinja + markdown; empty = the built-in card)")) textarea name="template" rows="5" { (draft.template) } }
                label { (t(lang, "其他设置（TOML，如 quiet_hours）", "Other settings (TOML, e.g. quiet_hours)")) textarea name="extra" rows="2" { (draft.extra) } }
                (select)
                button type="submit" name="intent" value="preview" { (t(lang, "预览", "Preview")) } " "
                button type="submit" name="intent" value="save" { (t(lang, "保存", "Save")) }
            }
            aside id="preview" {
                h2 { (t(lang, "预览（企业微信中的样子）", "Preview (as WeCom shows it)")) }
                @match &outcome {
                    Some(Ok(run)) => (dry_run_markup(lang, run)),
                    Some(Err(err)) => (error_box(lang, err)),
                    None => p.muted { (t(lang, "点击「预览」查看此规则将发送的消息。", "Press Preview to see what this rule would send.")) },
                }
            }
        }
    };
    let title = t(lang, "编辑规则", "Edit rule");
    ok_page(lang, Some(authed), "/console/rules", title, body)
}

/// `GET /console/rules/new`.
pub async fn new_rule(State(state): State<AppState>, authed: Authed) -> Response {
    let draft = RuleDraft {
        enabled: true,
        events: vec![EventKind::OrderCreated.as_str().to_owned()],
        ..RuleDraft::default()
    };
    editor(&state, &authed, &draft, "", None).await
}

/// `GET /console/rules/{id}/edit`.
pub async fn edit(State(state): State<AppState>, authed: Authed, Path(id): Path<String>) -> Response {
    let found = match ConfigId::parse(&id) {
        Ok(id) => state.engine.rules().get(&id).await,
        Err(_) => Err(RuleError::NotFound(id)),
    };
    match found {
        Ok((rule, _)) => editor(&state, &authed, &RuleDraft::of(&rule), "", None).await,
        Err(err) => error_page(authed.lang, Some(&authed), &err),
    }
}

/// The editor's fields as a draft.
fn draft_of(form: &BTreeMap<String, String>) -> RuleDraft {
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    RuleDraft {
        id: field("id"),
        enabled: form.contains_key("enabled"),
        urgent: form.contains_key("urgent"),
        events: form
            .keys()
            .filter_map(|k| k.strip_prefix("ev."))
            .map(str::to_owned)
            .collect(),
        shops: field("shops"),
        when: field("when"),
        targets: field("targets"),
        template: field("template"),
        extra: field("extra"),
    }
}

/// `POST /console/rules/editor`: Preview (the form again, with what the rule alone would send for the
/// chosen event) or Save (operators and admins; recorded), then back to the list.
pub async fn submit(State(state): State<AppState>, posted: Posted<BTreeMap<String, String>>) -> Response {
    let Posted { authed, form } = posted;
    let draft = draft_of(&form);
    let source = form.get("source").cloned().unwrap_or_default();
    let rules = state.engine.rules();
    if form.get("intent").map(String::as_str) == Some("save") {
        let saved = match draft.parse() {
            Ok(rule) => rules.save_as(&authed.user, &rule).await.map(|_| rule.id),
            Err(err) => Err(err),
        };
        return match saved {
            Ok(_) => Redirect::to("/console/rules").into_response(),
            Err(err) => editor(&state, &authed, &draft, &source, Some(Err(err))).await,
        };
    }
    let outcome = match draft.parse() {
        Ok(rule) => match source_event(&state, &source).await {
            Ok(event) => rules.preview(&rule, &event, state.engine.clock.now()),
            Err(err) => Err(err),
        },
        Err(err) => Err(err),
    };
    editor(&state, &authed, &draft, &source, Some(outcome)).await
}

async fn switch(state: AppState, id: String, posted: Posted<BTreeMap<String, String>>, enabled: bool) -> Response {
    let authed = posted.authed;
    let done = match ConfigId::parse(&id) {
        Ok(id) => state.engine.rules().set_enabled_as(&authed.user, &id, enabled).await,
        Err(_) => Err(RuleError::NotFound(id)),
    };
    match done {
        Ok(()) => Redirect::to("/console/rules").into_response(),
        Err(err) => error_page(authed.lang, Some(&authed), &err),
    }
}

/// `POST /console/rules/{id}/enable` (operators and admins; recorded).
pub async fn enable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<BTreeMap<String, String>>,
) -> Response {
    switch(state, id, posted, true).await
}

/// `POST /console/rules/{id}/disable` (operators and admins; recorded).
pub async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<BTreeMap<String, String>>,
) -> Response {
    switch(state, id, posted, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_drawn_not_shown_as_source() {
        let html = markdown("### 新订单\n> 买家 <b>x</b>\n**SGD 12** <font color=\"warning\">待发货</font> [查看](https://a.example/o) [x](javascript:alert(1))")
            .into_string();
        assert!(html.contains("<h4>新订单</h4>"), "{html}");
        assert!(
            html.contains("<blockquote>买家 &lt;b&gt;x&lt;/b&gt;</blockquote>"),
            "{html}"
        );
        assert!(html.contains("<strong>SGD 12</strong>"), "{html}");
        assert!(html.contains("<span class=\"warning\">待发货</span>"), "{html}");
        assert!(html.contains("<a href=\"https://a.example/o\">查看</a>"), "{html}");
        assert!(!html.contains("javascript:"), "only web links become links: {html}");
        assert!(!html.contains("**") && !html.contains("<font"), "{html}");
    }

    #[test]
    fn a_card_shows_its_parts() {
        let card = serde_json::json!({"msgtype": "template_card", "template_card": {
            "card_type": "button_interaction",
            "source": {"desc": "Shopee"},
            "main_title": {"title": "新订单 2401"},
            "emphasis_content": {"title": "SGD 12.00"},
            "horizontal_content_list": [{"keyname": "买家", "value": "<i>bob</i>"}],
            "button_list": [{"text": "认领", "style": 1}, {"text": "已处理", "style": 2}]
        }});
        let app = Destination::WecomApp(ConfigId::parse("hq").unwrap());
        let html = message_view(Lang::Zh, &app, &card).into_string();
        for part in [
            "新订单 2401",
            "SGD 12.00",
            "&lt;i&gt;bob&lt;/i&gt;",
            "wx-btn primary\">认领",
            "已处理",
        ] {
            assert!(html.contains(part), "{part} missing from {html}");
        }
        assert!(!html.contains("main_title"), "not raw JSON: {html}");
    }
}
