//! `GET /sim`: a self-contained page listing delivered messages, for `shoprelay demo`.

use std::fmt::Write as _;

use serde_json::Value;

use super::state::{Destination, SimMessage, SimState};

/// Newest first, at most this many rows.
const PAGE_ROWS: usize = 200;
/// Content previews are cut to this many characters.
const PREVIEW_CHARS: usize = 300;
/// China Standard Time, which the page shows.
const CST_OFFSET_SECS: u64 = 8 * 3600;

pub(crate) fn render(state: &SimState) -> String {
    let (messages, stats, chat_names) = {
        let inner = state.lock();
        let chat_names: Vec<(String, String)> = inner
            .chats
            .iter()
            .map(|(id, chat)| (id.clone(), chat.name.clone()))
            .collect();
        let recent: Vec<SimMessage> = inner.messages.iter().rev().take(PAGE_ROWS).cloned().collect();
        (recent, inner.stats.clone(), chat_names)
    };
    let mut rows = String::new();
    for m in &messages {
        let target = match &m.destination {
            Destination::App { agentid } => format!("应用 {agentid}"),
            Destination::AppChat { agentid, chatid } => {
                let name = chat_names
                    .iter()
                    .find(|(id, _)| id == chatid)
                    .map_or("", |(_, name)| name.as_str());
                format!("群聊 {name}（{chatid}，应用 {agentid}）")
            }
            Destination::Robot { key } => {
                format!("群机器人 {}…", key.chars().take(8).collect::<String>())
            }
        };
        let mut recipients = m.recipients.join("、");
        if !m.dropped.is_empty() {
            let _ = write!(recipients, "（超限丢弃：{}）", m.dropped.join("、"));
        }
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"c\">{}</td></tr>",
            m.id,
            clock_time(m.at_unix_ms),
            escape(&target),
            escape(&recipients),
            escape(&m.msgtype),
            escape(&preview(&m.body, &m.msgtype)),
        );
    }
    if messages.is_empty() {
        rows.push_str("<tr><td colspan=\"6\" class=\"empty\">暂无消息</td></tr>");
    }
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>企业微信模拟器 · 已送达消息</title>
<style>
body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2rem;color:#1f2329}}
h1{{font-size:1.3rem}} .stats span{{margin-right:1.5rem}}
table{{border-collapse:collapse;width:100%;margin-top:1rem}}
th,td{{border-bottom:1px solid #e5e6eb;padding:.45rem .6rem;text-align:left;vertical-align:top;font-size:.9rem}}
th{{background:#f2f3f5}} td.c{{white-space:pre-wrap;max-width:40rem}} td.empty{{color:#8f959e;text-align:center}}
</style></head><body>
<h1>企业微信模拟器 · 已送达消息</h1>
<p class="stats"><span>已接收请求 {accepted}</span><span>已送达 {delivered} 人次</span><span>超限静默丢弃 {dropped}</span><span>重复消息拦截 {dup}</span><span>被拒绝 {rejected}</span></p>
<table><thead><tr><th>编号</th><th>时间（北京时间）</th><th>发送至</th><th>接收人</th><th>类型</th><th>内容</th></tr></thead>
<tbody>{rows}</tbody></table>
<p class="stats">页面每 3 秒自动刷新；最多显示最近 {PAGE_ROWS} 条。</p>
</body></html>"#,
        accepted = stats.accepted,
        delivered = stats.delivered,
        dropped = stats.dropped_over_limit,
        dup = stats.duplicate_absorbed,
        rejected = stats.rejected.values().sum::<u64>(),
    )
}

/// `HH:MM:SS` in China Standard Time.
fn clock_time(unix_ms: u64) -> String {
    let secs = (unix_ms / 1000 + CST_OFFSET_SECS) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The human-readable part of a body.
fn preview(body: &Value, msgtype: &str) -> String {
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str);
    let full = match msgtype {
        "text" | "markdown" | "markdown_v2" => text(&format!("/{msgtype}/content")).map(str::to_owned),
        "textcard" => {
            text("/textcard/title").map(|t| format!("{t}\n{}", text("/textcard/description").unwrap_or_default()))
        }
        "template_card" => {
            let parts: Vec<&str> = [
                "/template_card/main_title/title",
                "/template_card/emphasis_content/title",
                "/template_card/sub_title_text",
            ]
            .iter()
            .filter_map(|p| text(p))
            .collect();
            Some(parts.join("\n"))
        }
        _ => None,
    };
    let full = full.unwrap_or_else(|| format!("[{msgtype}]"));
    full.chars().take(PREVIEW_CHARS).collect()
}

/// HTML-escapes text placed in element content.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_formats_beijing_time() {
        assert_eq!(
            escape("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
        // 2024-01-01T00:00:00Z is 08:00 in Beijing.
        assert_eq!(clock_time(1_704_067_200_000), "08:00:00");
    }

    #[test]
    fn previews_cards_by_their_titles() {
        let body =
            serde_json::json!({"template_card": {"main_title": {"title": "新订单"}, "sub_title_text": "请尽快发货"}});
        assert_eq!(preview(&body, "template_card"), "新订单\n请尽快发货");
        assert_eq!(preview(&serde_json::json!({}), "image"), "[image]");
    }
}
