//! `[[chat]]`: customer service per shop — automatic answers to buyers, the hand-off to a person, and the
//! response-time watch (a supervisor hears about buyers left unanswered; the 12-hour countdown).

use serde::{Deserialize, Serialize};
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::route::Target;
use shoprelay_core::rules::condition::TimeWindow;

/// One `[[chat]]` table: the customer-service settings of its shops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    /// Operator-chosen id.
    pub id: ConfigId,
    /// The shops these settings apply to (a shop is in at most one `[[chat]]`).
    pub shops: Vec<ShopId>,
    /// Who hears about buyers left unanswered (the supervisor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supervisor: Vec<Target>,
    /// Minutes a buyer message may wait for a person's reply before the supervisor hears of it; 0: never.
    #[serde(default = "default_escalate_after_minutes")]
    pub escalate_after_minutes: u32,
    /// Hours after the buyer's last message without a person's reply at which its holder is warned
    /// (the marketplaces count a reply within 12 hours only).
    #[serde(default = "default_warn_holder_after_hours")]
    pub warn_holder_after_hours: u32,
    /// Hours at which the supervisor is warned of the same.
    #[serde(default = "default_warn_supervisor_after_hours")]
    pub warn_supervisor_after_hours: u32,
    /// Automatic answers.
    #[serde(default)]
    pub autoreply: AutoReplyConfig,
}

/// The marketplaces' response window: only a person's reply within it counts.
pub const RESPONSE_WINDOW_HOURS: u32 = 12;

fn default_escalate_after_minutes() -> u32 {
    30
}

fn default_warn_holder_after_hours() -> u32 {
    10
}

fn default_warn_supervisor_after_hours() -> u32 {
    11
}

/// `[chat.autoreply]`: which buyer messages are answered automatically, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoReplyConfig {
    /// Off unless switched on: an automatic answer speaks to buyers in the seller's name.
    pub enabled: bool,
    /// The built-in rules: "where is my order" (answered from the order and its tracking) and
    /// "I want a human" (handed off at once).
    pub builtin: bool,
    /// Business hours in the shop's local time; outside them the out-of-hours answer is sent before
    /// the hand-off. Absent: always within hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<TimeWindow>,
    /// Business days (`mon` … `sun`); every day when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    /// What a buyer writing outside business hours is told (no answer when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_hours: Option<String>,
    /// At most this many automatic answers to one buyer within `per_minutes`.
    pub max_per_buyer: u32,
    /// The rate limit's window in minutes.
    pub per_minutes: u32,
    /// The seller's own rules, tried in order after the built-in human request and before the built-in
    /// "where is my order".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<AutoReplyRule>,
}

impl Default for AutoReplyConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            builtin: true,
            hours: None,
            days: Vec::new(),
            out_of_hours: None,
            max_per_buyer: 2,
            per_minutes: 60,
            rules: Vec::new(),
        }
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoAnswer {
    /// Sends the rule's `reply` text.
    #[default]
    Text,
    /// Answers from the buyer's latest order and its tracking; hands off when there is neither.
    OrderStatus,
    /// Hands off to a person without answering.
    Handoff,
}

/// `[[chat.autoreply.rules]]`: a keyword or pattern rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoReplyRule {
    /// Operator-chosen id, logged with every answer the rule produces.
    pub id: ConfigId,
    /// Words or phrases found anywhere in the message, ignoring case (Latin words whole).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Regular expressions (case-insensitive) tried against the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
    /// What the rule does.
    #[serde(default)]
    pub answer: AutoAnswer,
    /// The text sent when `answer = "text"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

/// One problem of a `[[chat]]` table: the field it sits in, the path below the table, its stable code and
/// what is wrong (English / Chinese).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatProblem {
    /// The table's field (for the line number).
    pub field: &'static str,
    /// Path below the table, starting with `.`.
    pub path: String,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong, in English and Chinese.
    pub message: String,
}

/// Everything wrong with one `[[chat]]` table, given the configured ids (the shop-overlap check is
/// the caller's, across tables).
pub fn chat_problems(chat: &ChatConfig, known: &super::Known) -> Vec<ChatProblem> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, path: String, code: &'static str, en: String, zh: String| {
        out.push(ChatProblem {
            field,
            path,
            code,
            message: format!("{en} / {zh}"),
        })
    };
    if chat.shops.is_empty() {
        push(
            "shops",
            ".shops".into(),
            "chat.no_shops",
            "name the shops these settings apply to".into(),
            "请列出这些设置适用的店铺".into(),
        );
    }
    for shop in chat.shops.iter().filter(|s| !known.shops.contains(*s)) {
        push(
            "shops",
            ".shops".into(),
            "chat.unknown_shop",
            format!("shop {shop} is not configured"),
            format!("店铺 {shop} 不在配置中"),
        );
    }
    for (j, target) in chat.supervisor.iter().enumerate() {
        for msg in known.target_problems(target) {
            push(
                "supervisor",
                format!(".supervisor[{j}]"),
                "chat.supervisor_invalid",
                msg.clone(),
                format!("主管目标无效：{msg}"),
            );
        }
    }
    let window = RESPONSE_WINDOW_HOURS;
    let (holder, supervisor) = (chat.warn_holder_after_hours, chat.warn_supervisor_after_hours);
    if holder >= window || supervisor >= window || (holder > 0 && supervisor > 0 && holder >= supervisor) {
        push(
            "warn_holder_after_hours",
            ".warn_holder_after_hours".into(),
            "chat.warning_hours",
            format!(
                "warnings must come before the {window}-hour mark, the holder's before the supervisor's \
                 (0 turns one off); got {holder} and {supervisor}"
            ),
            format!(
                "提醒须在 {window} 小时之前，且处理人的提醒早于主管的（0 表示不提醒）；当前为 {holder} 和 {supervisor}"
            ),
        );
    }
    let auto = &chat.autoreply;
    if let Some(hours) = &auto.hours {
        if let Err(e) = shoprelay_core::rules::Window::compile(hours, &auto.days, "autoreply.hours") {
            push(
                "autoreply",
                ".autoreply.hours".into(),
                "autoreply.hours_invalid",
                e.to_string(),
                format!("营业时间无效：{e}"),
            );
        }
    } else if !auto.days.is_empty() {
        push(
            "autoreply",
            ".autoreply.days".into(),
            "autoreply.hours_invalid",
            "business days need business hours (`hours = { from = \"09:00\", to = \"18:00\" }`)".into(),
            "设置营业日时也需设置营业时间（hours）".into(),
        );
    }
    if auto.out_of_hours.as_deref().is_some_and(|t| t.trim().is_empty()) {
        push(
            "autoreply",
            ".autoreply.out_of_hours".into(),
            "autoreply.reply_missing",
            "the out-of-hours answer is empty".into(),
            "非营业时间回复内容为空".into(),
        );
    }
    if auto.max_per_buyer == 0 || auto.per_minutes == 0 {
        push(
            "autoreply",
            ".autoreply.max_per_buyer".into(),
            "autoreply.rate_invalid",
            "max_per_buyer and per_minutes must be at least 1 (switch answers off with enabled = false)".into(),
            "max_per_buyer 和 per_minutes 至少为 1（关闭自动回复请用 enabled = false）".into(),
        );
    }
    let mut ids = std::collections::HashSet::new();
    for (j, rule) in auto.rules.iter().enumerate() {
        let at = format!(".autoreply.rules[{j}]");
        if !ids.insert(rule.id.clone()) || rule.id.as_str().starts_with("builtin") {
            push(
                "autoreply",
                format!("{at}.id"),
                "autoreply.rule_id",
                format!(
                    "`{}` is taken (ids are unique, and `builtin…` names the built-in rules)",
                    rule.id
                ),
                format!("规则 id `{}` 重复或以 builtin 开头", rule.id),
            );
        }
        if rule.keywords.iter().all(|k| k.trim().is_empty()) && rule.patterns.is_empty() {
            push(
                "autoreply",
                at.clone(),
                "autoreply.rule_empty",
                "give keywords or patterns".into(),
                "请设置关键词（keywords）或正则（patterns）".into(),
            );
        }
        if rule.answer == AutoAnswer::Text && rule.reply.as_deref().is_none_or(|r| r.trim().is_empty()) {
            push(
                "autoreply",
                format!("{at}.reply"),
                "autoreply.reply_missing",
                "answer = \"text\" needs the reply text".into(),
                "answer = \"text\" 需要填写回复内容（reply）".into(),
            );
        }
    }
    if let Err(e) = crate::chat::matcher::Matcher::compile(auto) {
        push(
            "autoreply",
            format!(".autoreply.rules[{}].patterns[{}]", e.rule, e.pattern),
            "autoreply.pattern_invalid",
            format!("not a valid pattern: {}", e.message),
            format!("正则表达式无效：{}", e.message),
        );
    }
    out
}

/// A shop's `[[chat]]` settings with their rules and hours compiled.
#[derive(Debug, Clone)]
pub struct CompiledChat {
    /// The settings as configured.
    pub config: ChatConfig,
    /// The automatic-answer rules; `None` when they do not compile (validated files never have that),
    /// so the shop gets no automatic answers.
    pub matcher: Option<crate::chat::matcher::Matcher>,
    /// Business hours; `None`: always within hours.
    pub hours: Option<shoprelay_core::rules::Window>,
}

/// The compiled settings of every shop a `[[chat]]` table names.
pub fn index_chat(
    tables: &std::collections::HashMap<ConfigId, ChatConfig>,
) -> std::collections::HashMap<ShopId, std::sync::Arc<CompiledChat>> {
    let mut out = std::collections::HashMap::new();
    let mut ids: Vec<&ConfigId> = tables.keys().collect();
    // Validated files name a shop once; otherwise the first table by id wins, whatever the map's order.
    ids.sort();
    for id in ids {
        let Some(config) = tables.get(id) else { continue };
        let matcher = match crate::chat::matcher::Matcher::compile(&config.autoreply) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!(chat = %config.id, error = %e.message, "automatic-answer rules do not compile; none are sent");
                None
            }
        };
        let hours =
            config.autoreply.hours.as_ref().and_then(|h| {
                shoprelay_core::rules::Window::compile(h, &config.autoreply.days, "autoreply.hours").ok()
            });
        let compiled = std::sync::Arc::new(CompiledChat {
            config: config.clone(),
            matcher,
            hours,
        });
        for shop in &config.shops {
            out.entry(*shop).or_insert_with(|| compiled.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::{parse_config, ConfigError, Registry};
    use shoprelay_core::ids::ShopId;

    const BASE: &str = r#"
[[shopee.apps]]
id = "main"
partner_id = 2001887
partner_key = "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f"

[[shopee.shops]]
app = "main"
shop_id = 727720655
name = "测试店铺"
region = "SG"

[[wecom.apps]]
id = "cs"
corp_id = "wwsim00000000000001"
secret = "s"
agent_id = 1000003
"#;

    fn problems(chat: &str) -> Vec<(Option<usize>, String, Option<&'static str>)> {
        match parse_config(&format!("{BASE}{chat}")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid(p)) => p.into_iter().map(|p| (p.line, p.path, p.code)).collect(),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn a_valid_table_is_indexed_by_shop_with_defaults() {
        let file = parse_config(&format!(
            "{BASE}\n[[chat]]\nid = \"sg\"\nshops = [727720655]\n\
             supervisor = [{{ type = \"wecom_app\", app = \"cs\", users = [\"lisi\"] }}]\n\
             [chat.autoreply]\nenabled = true\nhours = {{ from = \"09:00\", to = \"21:00\" }}\ndays = [\"mon\", \"fri\"]\n\
             out_of_hours = \"We answer from 09:00.\"\n\
             [[chat.autoreply.rules]]\nid = \"returns\"\nkeywords = [\"退货\"]\npatterns = [\"refund\"]\nreply = \"See our return policy.\"\n"
        ))
        .unwrap();
        let registry = Registry::from_file(&file);
        let chat = registry.chat_of(ShopId::new(727720655).unwrap()).unwrap();
        assert!(chat.matcher.is_some() && chat.hours.is_some());
        let c = &chat.config;
        assert_eq!(
            (
                c.escalate_after_minutes,
                c.warn_holder_after_hours,
                c.warn_supervisor_after_hours
            ),
            (30, 10, 11)
        );
        assert!(c.autoreply.enabled && c.autoreply.builtin);
        assert_eq!((c.autoreply.max_per_buyer, c.autoreply.per_minutes), (2, 60));
        // Without the table, or without `enabled`, nothing is answered.
        let off = parse_config(&format!("{BASE}\n[[chat]]\nid = \"sg\"\nshops = [727720655]\n")).unwrap();
        assert!(!off.chat[0].autoreply.enabled);
    }

    #[test]
    fn mistakes_are_refused_with_their_code_line_and_path() {
        let found = problems(
            "\n[[chat]]\nid = \"a\"\nshops = [1, 727720655]\nwarn_holder_after_hours = 11\nwarn_supervisor_after_hours = 10\n\
             [chat.autoreply]\nhours = { from = \"25:00\", to = \"18:00\" }\nmax_per_buyer = 0\n\
             [[chat.autoreply.rules]]\nid = \"r\"\npatterns = [\"(unclosed\"]\n\
             [[chat.autoreply.rules]]\nid = \"r\"\nkeywords = []\n\
             [[chat]]\nid = \"b\"\nshops = [727720655]\n",
        );
        let codes: Vec<&str> = found.iter().filter_map(|p| p.2).collect();
        for code in [
            "chat.unknown_shop",
            "chat.warning_hours",
            "autoreply.hours_invalid",
            "autoreply.rate_invalid",
            "autoreply.rule_id",
            "autoreply.rule_empty",
            "autoreply.reply_missing",
            "autoreply.pattern_invalid",
            "chat.shop_twice",
        ] {
            assert!(codes.contains(&code), "{code} missing from {found:?}");
        }
        let at = |code: &str| found.iter().find(|p| p.2 == Some(code)).cloned().unwrap();
        assert_eq!(at("chat.unknown_shop").0, Some(21));
        assert_eq!(
            at("autoreply.pattern_invalid").1,
            "chat[0].autoreply.rules[0].patterns[0]"
        );
        assert_eq!(at("chat.shop_twice").1, "chat[1].shops");
    }

    #[test]
    fn a_supervisor_must_be_a_configured_target() {
        let found = problems(
            "\n[[chat]]\nid = \"a\"\nshops = [727720655]\nsupervisor = [{ type = \"wecom_app\", app = \"nope\", users = [\"x\"] }]\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].2, Some("chat.supervisor_invalid"));
    }
}
