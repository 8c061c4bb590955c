//! Which automatic answer, if any, a buyer's message calls for: keyword and pattern rules in the languages
//! of Shopee's markets (zh, en, id, vi, th, ms, tl), with built-in rules for "I want a human" and "where is
//! my order". Matching is pure: what the answer says is decided elsewhere, from stored and fetched facts.

use regex::{Regex, RegexBuilder};

use crate::config::{AutoAnswer, AutoReplyConfig};

/// The id logged for the built-in human request.
pub const HUMAN_RULE: &str = "builtin.human";
/// The id logged for the built-in "where is my order".
pub const ORDER_STATUS_RULE: &str = "builtin.order_status";
/// The id logged for the out-of-hours answer.
pub const OUT_OF_HOURS_RULE: &str = "out_of_hours";

/// A language buyers write in on Shopee's markets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuyerLang {
    /// Chinese.
    Zh,
    /// English.
    En,
    /// Indonesian.
    Id,
    /// Vietnamese.
    Vi,
    /// Thai.
    Th,
    /// Malay.
    Ms,
    /// Tagalog.
    Tl,
}

impl BuyerLang {
    /// The language buyers of a market most likely read (when their message does not say).
    pub fn of_region(region: Option<&str>) -> Self {
        match region.map(str::to_ascii_uppercase).as_deref() {
            Some("TW") | Some("CN") => Self::Zh,
            Some("ID") => Self::Id,
            Some("VN") => Self::Vi,
            Some("TH") => Self::Th,
            Some("MY") => Self::Ms,
            _ => Self::En,
        }
    }
}

/// What a matching rule asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this text.
    Text(String),
    /// Answer from the buyer's latest order and its tracking.
    OrderStatus,
    /// Hand off to a person (an explicit request for one, or the seller's rule).
    Handoff,
}

/// The rule a message matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The rule's id (logged with the answer).
    pub rule: String,
    /// What it asks for.
    pub action: Action,
    /// The language of the words that matched, when a built-in list knows it.
    pub lang: Option<BuyerLang>,
}

/// One rule, compiled.
#[derive(Debug, Clone)]
struct Rule {
    id: String,
    keywords: Vec<(String, Option<BuyerLang>)>,
    patterns: Vec<Regex>,
    /// The language the patterns are written for, when known.
    pattern_lang: Option<BuyerLang>,
    action: Action,
}

impl Rule {
    /// The language of the first keyword or pattern found in `text` (already folded).
    fn find(&self, text: &str) -> Option<Option<BuyerLang>> {
        if let Some((_, lang)) = self.keywords.iter().find(|(k, _)| contains_word(text, k)) {
            return Some(*lang);
        }
        self.patterns
            .iter()
            .any(|p| p.is_match(text))
            .then_some(self.pattern_lang)
    }
}

/// Why a seller's rule does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// The rule's index in `rules`.
    pub rule: usize,
    /// The pattern's index in the rule.
    pub pattern: usize,
    /// The regex library's explanation.
    pub message: String,
}

/// A shop's automatic-answer rules, compiled: the built-in human request, the seller's rules in order,
/// then the built-in "where is my order".
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: Vec<Rule>,
}

/// Patterns are matched against folded text; a pattern longer than this is refused (buyer text is short).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
}

impl Matcher {
    /// Compiles the rules of one `[chat.autoreply]`.
    pub fn compile(config: &AutoReplyConfig) -> Result<Self, PatternError> {
        let mut rules = Vec::new();
        if config.builtin {
            rules.push(builtin(HUMAN_RULE, HUMAN, &[], Action::Handoff));
        }
        for (i, rule) in config.rules.iter().enumerate() {
            let mut patterns = Vec::new();
            for (j, p) in rule.patterns.iter().enumerate() {
                patterns.push(compile_pattern(p).map_err(|e| PatternError {
                    rule: i,
                    pattern: j,
                    message: e.to_string(),
                })?);
            }
            rules.push(Rule {
                id: rule.id.to_string(),
                keywords: rule
                    .keywords
                    .iter()
                    .map(|k| fold(k))
                    .filter(|k| !k.is_empty())
                    .map(|k| (k, None))
                    .collect(),
                patterns,
                pattern_lang: None,
                action: match rule.answer {
                    AutoAnswer::Text => Action::Text(rule.reply.clone().unwrap_or_default()),
                    AutoAnswer::OrderStatus => Action::OrderStatus,
                    AutoAnswer::Handoff => Action::Handoff,
                },
            });
        }
        if config.builtin {
            rules.push(builtin(
                ORDER_STATUS_RULE,
                WHERE_IS_MY_ORDER,
                WHERE_IS_MY_ORDER_PATTERNS,
                Action::OrderStatus,
            ));
        }
        Ok(Self { rules })
    }

    /// The first rule `text` matches.
    pub fn decide(&self, text: &str) -> Option<Matched> {
        let folded = fold(text);
        self.rules.iter().find_map(|rule| {
            rule.find(&folded).map(|lang| Matched {
                rule: rule.id.clone(),
                action: rule.action.clone(),
                lang,
            })
        })
    }
}

fn builtin(id: &str, words: &[(&str, BuyerLang)], patterns: &[&str], action: Action) -> Rule {
    Rule {
        id: id.to_owned(),
        keywords: words.iter().map(|(w, l)| (fold(w), Some(*l))).collect(),
        // Constants, each tested to compile in this module.
        patterns: patterns.iter().filter_map(|p| compile_pattern(p).ok()).collect(),
        pattern_lang: Some(BuyerLang::En),
        action,
    }
}

/// Lower case, whitespace collapsed, curly apostrophes straightened: how buyers type on phones.
fn fold(text: &str) -> String {
    let lower = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `needle` occurs in `haystack`; a needle that starts or ends with a Latin letter or digit must
/// not run on into one there (`cs` is not in `pics`), while Chinese and Thai are matched anywhere.
fn contains_word(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    // Latin script, Vietnamese letters and their combining marks included.
    let latin = |c: char| {
        c.is_ascii_alphanumeric()
            || ('\u{00C0}'..='\u{024F}').contains(&c)
            || ('\u{0300}'..='\u{036F}').contains(&c)
            || ('\u{1E00}'..='\u{1EFF}').contains(&c)
    };
    let guard_start = needle.chars().next().is_some_and(latin);
    let guard_end = needle.chars().last().is_some_and(latin);
    let mut from = 0;
    while let Some(found) = haystack[from..].find(needle) {
        let start = from + found;
        let end = start + needle.len();
        let before_ok = !guard_start || !haystack[..start].chars().next_back().is_some_and(latin);
        let after_ok = !guard_end || !haystack[end..].chars().next().is_some_and(latin);
        if before_ok && after_ok {
            return true;
        }
        from = start + needle.chars().next().map_or(1, char::len_utf8);
    }
    false
}

use BuyerLang::{En, Id, Ms, Th, Tl, Vi, Zh};

/// An explicit request for a person, in each market's language (Vietnamese also without diacritics,
/// as many buyers type it).
const HUMAN: &[(&str, BuyerLang)] = &[
    ("人工", Zh),
    ("客服", Zh),
    ("真人", Zh),
    ("human", En),
    ("agent", En),
    ("live agent", En),
    ("real person", En),
    ("customer service", En),
    ("customer support", En),
    ("cs", En),
    ("representative", En),
    ("talk to someone", En),
    ("speak to someone", En),
    ("manusia", Id),
    ("orang asli", Id),
    ("layanan pelanggan", Id),
    ("agen", Id),
    ("ejen", Ms),
    ("orang sebenar", Ms),
    ("khidmat pelanggan", Ms),
    ("nhân viên", Vi),
    ("nhan vien", Vi),
    ("người thật", Vi),
    ("nguoi that", Vi),
    ("tư vấn viên", Vi),
    ("tu van vien", Vi),
    ("cskh", Vi),
    ("พนักงาน", Th),
    ("คนจริง", Th),
    ("เจ้าหน้าที่", Th),
    ("totoong tao", Tl),
    ("ahente", Tl),
    ("makausap ang tao", Tl),
    ("kausapin ang tao", Tl),
];

/// "Where is my order / parcel?", in each market's language.
const WHERE_IS_MY_ORDER: &[(&str, BuyerLang)] = &[
    ("订单到哪", Zh),
    ("到哪了", Zh),
    ("到哪里了", Zh),
    ("什么时候到", Zh),
    ("什么时候发货", Zh),
    ("发货了吗", Zh),
    ("物流", Zh),
    ("快递", Zh),
    ("包裹", Zh),
    ("查件", Zh),
    ("where is my order", En),
    ("where's my order", En),
    ("where is my parcel", En),
    ("where's my parcel", En),
    ("where is my package", En),
    ("where's my package", En),
    ("track my", En),
    ("tracking", En),
    ("order status", En),
    ("delivery status", En),
    ("shipped yet", En),
    ("not received", En),
    ("haven't received", En),
    ("di mana pesanan", Id),
    ("dimana pesanan", Id),
    ("pesanan saya", Id),
    ("paket saya", Id),
    ("kapan sampai", Id),
    ("kapan dikirim", Id),
    ("lacak", Id),
    ("status pesanan", Id),
    ("belum sampai", Id),
    ("belum diterima", Id),
    ("mana pesanan", Ms),
    ("bila sampai", Ms),
    ("bila nak sampai", Ms),
    ("bungkusan saya", Ms),
    ("parcel saya", Ms),
    ("jejak", Ms),
    ("đơn hàng của tôi", Vi),
    ("don hang cua toi", Vi),
    ("đơn hàng đâu", Vi),
    ("đơn hàng ở đâu", Vi),
    ("don hang o dau", Vi),
    ("khi nào giao", Vi),
    ("khi nao giao", Vi),
    ("bao giờ nhận", Vi),
    ("bao gio nhan", Vi),
    ("theo dõi đơn", Vi),
    ("chưa nhận được", Vi),
    ("tình trạng đơn", Vi),
    ("พัสดุ", Th),
    ("ของถึงเมื่อไหร่", Th),
    ("สินค้าถึงไหน", Th),
    ("ส่งของยัง", Th),
    ("สถานะคำสั่งซื้อ", Th),
    ("nasaan na ang order", Tl),
    ("nasaan ang order", Tl),
    ("nasaan na yung order", Tl),
    ("kailan darating", Tl),
    ("parcel ko", Tl),
    ("order ko", Tl),
    ("hindi ko pa natatanggap", Tl),
];

/// English phrasings a list cannot hold ("when will my parcel arrive").
const WHERE_IS_MY_ORDER_PATTERNS: &[&str] = &[
    r"\bwhen (will|does|do|is) (my|the|it|our)\b.*\b(arrive|come|deliver|ship)",
    r"\bwhere (is|are) (my|the) (item|order|parcel|package|stuff)",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AutoReplyRule;
    use shoprelay_core::ids::ConfigId;

    fn builtin_only() -> Matcher {
        Matcher::compile(&AutoReplyConfig::default()).unwrap()
    }

    fn rule_of(m: &Matcher, text: &str) -> Option<(String, Option<BuyerLang>)> {
        m.decide(text).map(|d| (d.rule, d.lang))
    }

    #[test]
    fn a_request_for_a_person_is_recognised_in_every_market_language() {
        let m = builtin_only();
        for (text, lang) in [
            ("我要人工", Zh),
            ("请转客服", Zh),
            ("Can I talk to a HUMAN please", En),
            ("need CS now", En),
            ("saya mau bicara dengan manusia", Id),
            ("boleh saya cakap dengan ejen?", Ms),
            ("cho tôi gặp nhân viên", Vi),
            ("cho toi gap nhan vien", Vi),
            ("ขอคุยกับพนักงานค่ะ", Th),
            ("gusto ko ng totoong tao", Tl),
        ] {
            assert_eq!(rule_of(&m, text), Some((HUMAN_RULE.to_owned(), Some(lang))), "{text}");
        }
    }

    #[test]
    fn where_is_my_order_is_recognised_in_every_market_language() {
        let m = builtin_only();
        for (text, lang) in [
            ("我的快递到哪了？", Zh),
            ("Where's my order??", En),
            ("when will my parcel arrive", En),
            ("kak, pesanan saya belum sampai", Id),
            ("bila sampai ya?", Ms),
            ("đơn hàng của tôi đâu rồi", Vi),
            ("พัสดุถึงไหนแล้วคะ", Th),
            ("nasaan na ang order ko", Tl),
        ] {
            assert_eq!(
                rule_of(&m, text),
                Some((ORDER_STATUS_RULE.to_owned(), Some(lang))),
                "{text}"
            );
            assert_eq!(m.decide(text).unwrap().action, Action::OrderStatus);
        }
    }

    #[test]
    fn a_human_request_wins_over_a_tracking_question() {
        let m = builtin_only();
        let d = m.decide("where is my order? I want a human").unwrap();
        assert_eq!((d.rule.as_str(), d.action), (HUMAN_RULE, Action::Handoff));
    }

    #[test]
    fn latin_keywords_match_whole_words_only() {
        let m = builtin_only();
        // "cs" inside "pics", "agent" inside "agentic", "tracking" is fine as a word.
        assert_eq!(m.decide("can you send more pics"), None);
        assert_eq!(m.decide("agentic stuff"), None);
        assert_eq!(m.decide("hello, is this in stock?"), None);
        assert!(m.decide("tracking?").is_some());
    }

    #[test]
    fn sellers_rules_come_after_the_human_request_and_before_where_is_my_order() {
        let config = AutoReplyConfig {
            rules: vec![
                AutoReplyRule {
                    id: ConfigId::parse("returns").unwrap(),
                    keywords: vec!["退货".into(), "Return".into()],
                    patterns: vec![r"refund(ed)?\b".into()],
                    answer: AutoAnswer::Text,
                    reply: Some("Returns: see the shop page".into()),
                },
                AutoReplyRule {
                    id: ConfigId::parse("complaint").unwrap(),
                    keywords: vec!["投诉".into()],
                    patterns: vec![],
                    answer: AutoAnswer::Handoff,
                    reply: None,
                },
            ],
            ..AutoReplyConfig::default()
        };
        let m = Matcher::compile(&config).unwrap();
        let d = m.decide("I want a REFUND, where is my parcel").unwrap();
        assert_eq!(d.rule, "returns");
        assert_eq!(d.action, Action::Text("Returns: see the shop page".into()));
        assert_eq!(m.decide("我要退货").unwrap().rule, "returns");
        assert_eq!(m.decide("我要投诉").unwrap().action, Action::Handoff);
        assert_eq!(m.decide("退货找人工").unwrap().rule, HUMAN_RULE);
        assert_eq!(m.decide("tracking please").unwrap().rule, ORDER_STATUS_RULE);
    }

    #[test]
    fn without_the_builtin_rules_only_the_sellers_match() {
        let config = AutoReplyConfig {
            builtin: false,
            ..AutoReplyConfig::default()
        };
        let m = Matcher::compile(&config).unwrap();
        assert_eq!(m.decide("我要人工"), None);
        assert_eq!(m.decide("where is my order"), None);
    }

    #[test]
    fn a_bad_pattern_is_reported_with_its_place() {
        let config = AutoReplyConfig {
            rules: vec![AutoReplyRule {
                id: ConfigId::parse("bad").unwrap(),
                keywords: vec![],
                patterns: vec!["ok".into(), "(unclosed".into()],
                answer: AutoAnswer::Text,
                reply: Some("x".into()),
            }],
            ..AutoReplyConfig::default()
        };
        let err = Matcher::compile(&config).unwrap_err();
        assert_eq!((err.rule, err.pattern), (0, 1));
    }

    #[test]
    fn the_builtin_patterns_compile() {
        for p in WHERE_IS_MY_ORDER_PATTERNS {
            assert!(compile_pattern(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn the_market_language_follows_the_region() {
        assert_eq!(BuyerLang::of_region(Some("vn")), Vi);
        assert_eq!(BuyerLang::of_region(Some("SG")), En);
        assert_eq!(BuyerLang::of_region(None), En);
    }
}
