//! A WeCom message drawn the way WeCom's clients draw it — a chat row with the sender and a bubble or a
//! card — in HTML and CSS only, from the engine's parsed [`WecomView`]. Every value goes through maud's
//! escaping; links are shown, never followed automatically.

use maud::{html, Markup, PreEscaped};
use shoprelay_core::error::Lang;
use shoprelay_engine::service::dashboard::{MdLine, WecomView};
use shoprelay_wecom::card::{CardType, TemplateCard};

use super::t;

/// The look, inline like the rest of the console's (no stylesheet is loaded).
pub const CSS: &str = "
.wx{background:#ededed;border-radius:8px;padding:1rem;max-width:26rem;font-size:15px;line-height:1.45}
.wx-row{display:flex;gap:.6rem;align-items:flex-start}
.wx-avatar{width:2.4rem;height:2.4rem;border-radius:4px;background:#2b7cff;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:600;flex:none}
.wx-name{font-size:12px;color:#888;margin-bottom:.2rem}
.wx-bubble{background:#fff;border-radius:6px;padding:.55rem .75rem;white-space:pre-wrap;word-break:break-word}
.wx-mention{color:#2b7cff}
.wx-md h1,.wx-md h2,.wx-md h3,.wx-md h4,.wx-md h5,.wx-md h6{margin:.1rem 0;font-size:16px}
.wx-md h1{font-size:19px}.wx-md h2{font-size:17px}
.wx-md .q{border-left:3px solid #dcdcdc;padding-left:.5rem;color:#777}
.wx-md p{margin:0}.wx-md a,.wx-card a{color:#2b7cff;text-decoration:none}
.wx-md code{background:#f3f3f3}
.wx-info{color:#06ad56}.wx-comment{color:#999}.wx-warning{color:#fa9d3b}
.wx-card{background:#fff;border-radius:6px;width:19rem;overflow:hidden}
.wx-card .in{padding:.8rem .9rem}
.wx-src{font-size:12px;color:#888;margin-bottom:.4rem}
.wx-title{font-size:17px;font-weight:600;color:#191919}
.wx-desc{font-size:13px;color:#888;margin-top:.15rem}
.wx-em{margin:.6rem 0}.wx-em .v{font-size:30px;color:#2b7cff;font-weight:500}.wx-em .d{font-size:13px;color:#888}
.wx-quote{background:#f5f5f5;border-radius:4px;padding:.4rem .6rem;margin:.5rem 0;font-size:13px;color:#666}
.wx-sub{font-size:14px;color:#555;margin:.4rem 0}
.wx-kv{display:flex;justify-content:space-between;gap:.8rem;font-size:14px;margin:.2rem 0}.wx-kv .k{color:#888;flex:none}.wx-kv .v{text-align:right;word-break:break-all}
.wx-jump{border-top:1px solid #eee;padding:.45rem 0;font-size:14px}
.wx-foot{border-top:1px solid #eee;padding:.55rem .9rem;font-size:14px;color:#2b7cff;display:flex;justify-content:space-between}
.wx-btns{display:flex;gap:.5rem;padding:0 .9rem .8rem;flex-wrap:wrap}
.wx-btn{flex:1;text-align:center;border-radius:4px;padding:.4rem;font-size:14px;background:#f2f2f2;color:#191919}
.wx-btn.s1{background:#2b7cff;color:#fff}.wx-btn.s2{background:#fa5151;color:#fff}.wx-btn.s3{background:#f2f2f2;color:#2b7cff}
.wx-news{display:flex;gap:.6rem;justify-content:space-between}.wx-thumb{width:3.5rem;height:3.5rem;background:#dcdcdc;border-radius:4px;flex:none}
";

/// The sender's initial in the avatar square.
fn avatar(sender: &str) -> String {
    sender
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default()
}

fn markdown(lines: &[MdLine]) -> Markup {
    html! {
        div.wx-bubble.wx-md style="white-space:normal" {
            @for line in lines {
                @let spans = html! {
                    @for s in &line.spans {
                        @let class = s.color.as_ref().map(|c| format!("wx-{c}")).unwrap_or_default();
                        @let inner = html! {
                            @if s.code { code { (s.text) } } @else if s.bold { strong { (s.text) } } @else { (s.text) }
                        };
                        @match &s.link {
                            Some(url) => { a class=(class) href=(url) rel="noreferrer noopener" target="_blank" { (inner) } }
                            None => { span class=(class) { (inner) } }
                        }
                    }
                };
                @match line.heading {
                    1 => { h1 { (spans) } }
                    2 => { h2 { (spans) } }
                    3 => { h3 { (spans) } }
                    4 => { h4 { (spans) } }
                    5 => { h5 { (spans) } }
                    6 => { h6 { (spans) } }
                    _ => { p.q[line.quote] { (spans) @if line.spans.is_empty() { (PreEscaped("&nbsp;")) } } }
                }
            }
        }
    }
}

fn template_card(lang: Lang, card: &TemplateCard) -> Markup {
    html! {
        div.wx-card {
            div.in {
                @if let Some(src) = card.source.as_ref().and_then(|s| s.desc.as_deref()) { div.wx-src { (src) } }
                @if let Some(main) = &card.main_title {
                    @if let Some(title) = &main.title { div.wx-title { (title) } }
                    @if let Some(desc) = &main.desc { div.wx-desc { (desc) } }
                }
                @if let Some(em) = &card.emphasis_content {
                    div.wx-em {
                        @if let Some(v) = &em.title { div.v { (v) } }
                        @if let Some(d) = &em.desc { div.d { (d) } }
                    }
                }
                @if let Some(q) = &card.quote_area {
                    div.wx-quote {
                        @if let Some(title) = &q.title { div { strong { (title) } } }
                        @if let Some(text) = &q.quote_text { div style="white-space:pre-wrap" { (text) } }
                    }
                }
                @if let Some(sub) = &card.sub_title_text { div.wx-sub style="white-space:pre-wrap" { (sub) } }
                @for kv in card.horizontal_content_list.iter().take(shoprelay_wecom::card::HORIZONTAL_CONTENT_MAX) {
                    div.wx-kv {
                        span.k { (kv.keyname) }
                        @match &kv.url {
                            Some(url) => { a.v href=(url) rel="noreferrer noopener" { (kv.value.as_deref().unwrap_or("")) } }
                            None => { span.v { (kv.value.as_deref().unwrap_or("")) } }
                        }
                    }
                }
                @for jump in card.jump_list.iter().take(shoprelay_wecom::card::JUMP_LIST_MAX) {
                    div.wx-jump {
                        @match &jump.url {
                            Some(url) => { a href=(url) rel="noreferrer noopener" { (jump.title) " ›" } }
                            None => { span { (jump.title) } }
                        }
                    }
                }
            }
            @if card.card_type == CardType::ButtonInteraction && !card.button_list.is_empty() {
                div.wx-btns {
                    @for b in card.button_list.iter().take(shoprelay_wecom::card::BUTTON_LIST_MAX) {
                        span class={ "wx-btn s" (b.style.unwrap_or(1)) } { (b.text) }
                    }
                }
            } @else {
                div.wx-foot { span { (t(lang, "查看详情", "View details")) } span { "›" } }
            }
        }
    }
}

/// The message as WeCom shows it, sent by `sender` (the app's or robot's name).
pub fn render(lang: Lang, sender: &str, view: &WecomView) -> Markup {
    let content = match view {
        WecomView::Text { content, mentions } => html! {
            div.wx-bubble {
                (content)
                @for m in mentions {
                    " " span.wx-mention { "@" (if m == "@all" { t(lang, "所有人", "all") } else { m.as_str() }) }
                }
            }
        },
        WecomView::Markdown(lines) => markdown(lines),
        WecomView::TextCard {
            title,
            description,
            button,
        } => html! {
            div.wx-card {
                div.in { div.wx-title { (title) } div.wx-desc style="white-space:pre-wrap" { (description) } }
                div.wx-foot { span { (button.as_deref().unwrap_or("详情")) } span { "›" } }
            }
        },
        WecomView::TemplateCard(card) => template_card(lang, card),
        WecomView::News(articles) => html! {
            div.wx-card {
                @for a in articles {
                    div.in.wx-news {
                        div { div.wx-title style="font-size:15px" { (a.title) } div.wx-desc { (a.description) } }
                        div.wx-thumb {}
                    }
                }
            }
        },
        WecomView::Webhook(json) => html! {
            p.muted { (t(lang, "Webhook 发往卖家自己的系统（不是企业微信），以下是发送的 JSON：", "A webhook goes to the seller's own system (not WeCom); the JSON sent:")) }
            pre.wx-json { (json) }
        },
        WecomView::Other { msgtype, json } => html! {
            p.muted { (t(lang, "控制台无法绘制此消息类型：", "The console does not draw this message type: ")) code { (msgtype) } }
            pre.wx-json { (json) }
        },
    };
    if matches!(view, WecomView::Webhook(_)) {
        return content;
    }
    html! {
        style { (PreEscaped(CSS)) }
        div.wx {
            div.wx-row {
                div.wx-avatar { (avatar(sender)) }
                div { div.wx-name { (sender) } (content) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_engine::service::dashboard::{parse_markdown, view_of_payload};

    #[test]
    fn markdown_is_drawn_with_wecom_colours_and_escaped() {
        let view = WecomView::Markdown(parse_markdown(
            "## 新订单\n<font color=\"warning\">待发货</font> **<script>x</script>**",
        ));
        let html = render(Lang::Zh, "hq", &view).into_string();
        assert!(html.contains("<h2><span class=\"\">新订单</span></h2>"), "{html}");
        assert!(html.contains("<span class=\"wx-warning\">待发货</span>"), "{html}");
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
    }

    #[test]
    fn a_template_card_is_drawn_as_a_card_not_json() {
        let view = view_of_payload(
            r#"{"target":"wecom_app","app":"hq","message":{"msgtype":"template_card","template_card":{
            "card_type":"button_interaction","main_title":{"title":"买家消息","desc":"Shop A"},
            "horizontal_content_list":[{"keyname":"订单","value":"220810QSK8S7BX"}],
            "card_action":{"type":1,"url":"https://x"},"task_id":"t1",
            "button_list":[{"text":"认领","key":"claim","style":1},{"text":"已解决","key":"resolve","style":2}]}}}"#,
        );
        let html = render(Lang::En, "hq", &view).into_string();
        assert!(html.contains("<div class=\"wx-title\">买家消息</div>"), "{html}");
        assert!(html.contains("<span class=\"k\">订单</span><span class=\"v\">220810QSK8S7BX</span>"));
        assert!(html.contains("<span class=\"wx-btn s2\">已解决</span>"));
        assert!(!html.contains("card_type"), "not raw JSON");
    }
}
