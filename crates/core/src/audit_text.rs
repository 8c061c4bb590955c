//! The sentences shoprelay itself writes into audit details and console-action notes, and how the console
//! shows them in the reader's language.
//!
//! The log keeps them in English as written: an entry is hash-chained evidence, so its text never changes
//! after the fact, and exports and the API read the same bytes whatever the reader's language. Every
//! writer builds its sentence here, so [`localize`] recognises exactly what was written; anything else in a
//! detail (a marketplace's or WeCom's error text, a buyer's words, a note an older version wrote) is shown
//! as recorded.

use std::borrow::Cow;

use crate::error::Lang;

/// A shop's authorization code was exchanged for its first tokens.
pub const AUTH_CODE_EXCHANGED: &str = "authorization code exchanged";
/// A shop's access token was refreshed.
pub const TOKEN_REFRESHED: &str = "access token refreshed";
/// A marketplace's push that only checks the callback address answers.
pub const VERIFICATION_PUSH: &str = "callback URL verification push";
/// The first console admin, created from the one-time setup link.
pub const FIRST_ADMIN: &str = "first admin, from the setup link";

const SHARED_REFRESH: (&str, &str) = ("access token refreshed with shop ", ", which shares its authorization");
const NEW_EVENTS: &str = " new event(s)";
const CONSOLE_USER: &str = " (console user ";
const WITHOUT_DETAILS: &str = "sent without order details: ";
const ANSWERED: &str = "answered automatically: ";
const BUYER_MESSAGES: &str = " buyer message(s)";
const UNMATCHED: &str = "unmatched: no route selects ";
const AUTO_ANSWERED: &str = " answered automatically by rule ";
const HANDED_OFF: &str = " handed off to a person: ";
const REPLY_TO: &str = "reply to #";
const REPLY_SENT: &str = " sent";
const REPLY_FAILED: &str = " failed: ";
const WAITED: &str = " after ";
const WITHOUT_REPLY: &str = " min without a person's reply (";
const NOTICES: &str = " notice(s))";
const PASSED_SAVED: &str = "passed, saved";
const FAILED: &str = "failed: ";
const STEPS: &str = " steps, ";
const STEPS_FAILED: &str = " failed";

/// The access token was refreshed together with `shop`, which shares the authorization.
pub fn refreshed_with(shop: impl std::fmt::Display) -> String {
    format!("{}{shop}{}", SHARED_REFRESH.0, SHARED_REFRESH.1)
}

/// An inbox item closed with `n` new events, and what went wrong on the way, if anything.
pub fn new_events(n: usize, note: Option<&str>) -> String {
    match note {
        Some(note) => format!("{n}{NEW_EVENTS}; {note}"),
        None => format!("{n}{NEW_EVENTS}"),
    }
}

/// An event went out without the order's details: fetching them failed for good.
pub fn sent_without_details(error: impl std::fmt::Display) -> String {
    format!("{WITHOUT_DETAILS}{error}")
}

/// `n` buyer messages of an inbox item were answered automatically.
pub fn answered_automatically(n: usize) -> String {
    format!("{ANSWERED}{n}{BUYER_MESSAGES}")
}

/// No route selects the events of these kinds (comma-separated): said, never silently dropped.
pub fn unmatched(kinds: &str) -> String {
    format!("{UNMATCHED}{kinds}")
}

/// Conversation `id`'s buyer was answered automatically by `rule`.
pub fn auto_answered(id: i64, rule: &str) -> String {
    format!("#{id}{AUTO_ANSWERED}{rule}")
}

/// Conversation `id` went to a person, and why.
pub fn handed_off(id: i64, reason: &str) -> String {
    format!("#{id}{HANDED_OFF}{reason}")
}

/// A member's reply to conversation `id` reached the marketplace.
pub fn reply_sent(id: i64) -> String {
    format!("{REPLY_TO}{id}{REPLY_SENT}")
}

/// A member's reply to conversation `id` was refused, and why.
pub fn reply_failed(id: i64, why: &str) -> String {
    format!("{REPLY_TO}{id}{REPLY_FAILED}{why}")
}

/// Conversation `id`'s buyer has waited `minutes` without a person's reply, so the response watch took
/// `stage` (`escalate`, `warn_holder`, `warn_supervisor`) and sent `told` notices.
pub fn response_warned(id: i64, stage: &str, minutes: i64, told: usize) -> String {
    format!("#{id} {stage}{WAITED}{minutes}{WITHOUT_REPLY}{told}{NOTICES}")
}

/// An onboarding check of `what` (the WeCom app's or robot's ids) passed and was saved.
pub fn connect_passed(what: &str) -> String {
    format!("{what}; {PASSED_SAVED}")
}

/// An onboarding check of `what` failed with `code`.
pub fn connect_failed(what: &str, code: &str) -> String {
    format!("{what}; {FAILED}{code}")
}

/// A connection test of `steps` steps, `failed` of which failed.
pub fn steps_failed(steps: usize, failed: usize) -> String {
    format!("{steps}{STEPS}{failed}{STEPS_FAILED}")
}

/// What a member's command or click did to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationNote {
    /// The member claimed it.
    ClaimedBy,
    /// Someone else already held it (a claim refused).
    AlreadyHeld,
    /// Someone else holds it (a resolve or hand-off refused).
    HeldByAnother,
    /// No such conversation.
    Missing,
    /// The member marked it handled.
    ResolvedBy,
    /// The member handed it back to the rules.
    HandedOffBy,
}

impl ConversationNote {
    const ALL: [Self; 6] = [
        Self::ClaimedBy,
        Self::AlreadyHeld,
        Self::HeldByAnother,
        Self::Missing,
        Self::ResolvedBy,
        Self::HandedOffBy,
    ];

    /// The English words after `#id`; those ending in "by" take the member.
    fn en(self) -> &'static str {
        match self {
            Self::ClaimedBy => "claimed by",
            Self::AlreadyHeld => "already held",
            Self::HeldByAnother => "held by another",
            Self::Missing => "missing",
            Self::ResolvedBy => "resolved by",
            Self::HandedOffBy => "handed off by",
        }
    }

    fn takes_member(self) -> bool {
        matches!(self, Self::ClaimedBy | Self::ResolvedBy | Self::HandedOffBy)
    }

    fn zh(self, id: &str, member: &str) -> String {
        match self {
            Self::ClaimedBy => format!("会话 #{id} 由 {member} 认领"),
            Self::AlreadyHeld => format!("会话 #{id} 已有人处理"),
            Self::HeldByAnother => format!("会话 #{id} 由他人处理中"),
            Self::Missing => format!("会话 #{id} 不存在"),
            Self::ResolvedBy => format!("会话 #{id} 由 {member} 标记为已处理"),
            Self::HandedOffBy => format!("会话 #{id} 由 {member} 转出"),
        }
    }

    /// The note for conversation `id`; `member` is named only where the words take one.
    pub fn note(self, id: i64, member: &str) -> String {
        if self.takes_member() {
            format!("#{id} {} {member}", self.en())
        } else {
            format!("#{id} {}", self.en())
        }
    }
}

/// A note made in the console: what the command did, and which console user did it.
pub fn by_console_user(note: &str, username: &str) -> String {
    format!("{note}{CONSOLE_USER}{username})")
}

/// `detail` as the reader of `lang` should see it: one of the sentences above in Chinese, anything else
/// (and everything in English) as recorded.
pub fn localize(detail: &str, lang: Lang) -> Cow<'_, str> {
    if lang == Lang::En {
        return Cow::Borrowed(detail);
    }
    match zh(detail) {
        Some(text) => Cow::Owned(text),
        None => Cow::Borrowed(detail),
    }
}

fn zh(detail: &str) -> Option<String> {
    match detail {
        AUTH_CODE_EXCHANGED => return Some("授权码已换取令牌".to_owned()),
        TOKEN_REFRESHED => return Some("访问令牌已刷新".to_owned()),
        VERIFICATION_PUSH => return Some("回调地址验证推送".to_owned()),
        FIRST_ADMIN => return Some("首位管理员，由初始设置链接创建".to_owned()),
        _ => {}
    }
    if let Some(shop) = detail
        .strip_prefix(SHARED_REFRESH.0)
        .and_then(|rest| rest.strip_suffix(SHARED_REFRESH.1))
    {
        return Some(format!("访问令牌已随共用授权的店铺 {shop} 一起刷新"));
    }
    if let Some((count, rest)) = detail.split_once(NEW_EVENTS) {
        if is_number(count) {
            return match rest.strip_prefix("; ") {
                Some(note) => {
                    let lines: Vec<String> = note.split("; ").map(line_zh).collect();
                    Some(format!("{count} 个新事件；{}", lines.join("; ")))
                }
                None if rest.is_empty() => Some(format!("{count} 个新事件")),
                None => None,
            };
        }
    }
    if let Some((steps, failed)) = detail
        .strip_suffix(STEPS_FAILED)
        .and_then(|rest| rest.split_once(STEPS))
        .filter(|(steps, failed)| is_number(steps) && is_number(failed))
    {
        return Some(format!("{steps} 步，{failed} 步未通过"));
    }
    if let Some((what, outcome)) = detail.rsplit_once("; ") {
        if outcome == PASSED_SAVED {
            return Some(format!("{what}；通过，已保存"));
        }
        if let Some(code) = outcome.strip_prefix(FAILED) {
            return Some(format!("{what}；未通过：{code}"));
        }
    }
    if let Some((note, username)) = detail.strip_suffix(')').and_then(|rest| rest.rsplit_once(CONSOLE_USER)) {
        let note = zh(note).unwrap_or_else(|| note.to_owned());
        return Some(format!("{note}（控制台用户 {username}）"));
    }
    conversation_zh(detail)
}

/// One line of an inbox item's note in Chinese, or as recorded (an error text, or a piece of one that
/// held "; " itself).
fn line_zh(line: &str) -> String {
    if let Some(error) = line.strip_prefix(WITHOUT_DETAILS) {
        return format!("未取得订单详情即发出：{error}");
    }
    if let Some(n) = line
        .strip_prefix(ANSWERED)
        .and_then(|rest| rest.strip_suffix(BUYER_MESSAGES))
        .filter(|n| is_number(n))
    {
        return format!("已自动回复 {n} 条买家消息");
    }
    if let Some(kinds) = line.strip_prefix(UNMATCHED) {
        return format!("未匹配：没有规则选中 {kinds}");
    }
    line.to_owned()
}

/// The response watch's note after `#id `: `STAGE after M min without a person's reply (N notice(s))`.
fn waited_zh(id: &str, words: &str) -> Option<String> {
    let (stage, rest) = words.split_once(WAITED)?;
    let (minutes, rest) = rest.split_once(WITHOUT_REPLY)?;
    let told = rest.strip_suffix(NOTICES)?;
    if !is_number(minutes) || !is_number(told) {
        return None;
    }
    let stage = match stage {
        "escalate" => "已升级",
        "warn_holder" => "已提醒处理人",
        "warn_supervisor" => "已提醒主管",
        _ => return None,
    };
    Some(format!(
        "会话 #{id} 已 {minutes} 分钟无人回复，{stage}（{told} 条通知）"
    ))
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn conversation_zh(detail: &str) -> Option<String> {
    if let Some(rest) = detail.strip_prefix(REPLY_TO) {
        let (id, rest) = rest.split_once(' ')?;
        if !is_number(id) {
            return None;
        }
        let rest = format!(" {rest}");
        if rest == REPLY_SENT {
            return Some(format!("会话 #{id} 的回复已发出"));
        }
        return rest
            .strip_prefix(REPLY_FAILED)
            .map(|why| format!("会话 #{id} 的回复发送失败：{why}"));
    }
    let (id, words) = detail.strip_prefix('#')?.split_once(' ')?;
    if !is_number(id) {
        return None;
    }
    let spaced = format!(" {words}");
    if let Some(rule) = spaced.strip_prefix(AUTO_ANSWERED) {
        return Some(format!("会话 #{id} 已由规则 {rule} 自动回复"));
    }
    if let Some(reason) = spaced.strip_prefix(HANDED_OFF) {
        return Some(format!("会话 #{id} 转人工：{reason}"));
    }
    if let Some(zh) = waited_zh(id, words) {
        return Some(zh);
    }
    ConversationNote::ALL.into_iter().find_map(|note| {
        if note.takes_member() {
            let member = words.strip_prefix(note.en())?.strip_prefix(' ')?;
            (!member.is_empty()).then(|| note.zh(id, member))
        } else {
            (words == note.en()).then(|| note.zh(id, ""))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentence_written_here_reads_in_chinese() {
        let written = [
            AUTH_CODE_EXCHANGED.to_owned(),
            TOKEN_REFRESHED.to_owned(),
            VERIFICATION_PUSH.to_owned(),
            FIRST_ADMIN.to_owned(),
            refreshed_with(12_345),
            new_events(3, None),
            new_events(0, Some("order detail unavailable")),
            new_events(1, Some(&sent_without_details("error 500"))),
            new_events(2, Some(&answered_automatically(2))),
            new_events(1, Some(&unmatched("order_cancelled, order_paid"))),
            auto_answered(5, "faq"),
            handed_off(5, "no rule answers"),
            reply_sent(8),
            reply_failed(8, "shop cannot chat"),
            response_warned(6, "warn_holder", 30, 2),
            connect_passed("corp_id ww1, agent_id 1000002"),
            connect_failed("api_base http://127.0.0.1:1", "93000"),
            steps_failed(4, 1),
        ]
        .into_iter()
        .chain(ConversationNote::ALL.map(|n| n.note(12, "zhangsan")))
        .chain(ConversationNote::ALL.map(|n| by_console_user(&n.note(7, "lisi"), "ops")));
        for sentence in written {
            let shown = localize(&sentence, Lang::Zh);
            assert_ne!(shown, sentence, "{sentence} is shown untranslated");
            assert_eq!(localize(&sentence, Lang::En), sentence);
        }
    }

    #[test]
    fn the_parts_a_sentence_names_are_kept() {
        assert_eq!(
            localize(&refreshed_with(77), Lang::Zh),
            "访问令牌已随共用授权的店铺 77 一起刷新"
        );
        assert_eq!(localize(&new_events(2, Some("x; y")), Lang::Zh), "2 个新事件；x; y");
        assert_eq!(
            localize(
                &by_console_user(&ConversationNote::ClaimedBy.note(9, "zhangsan"), "ops"),
                Lang::Zh
            ),
            "会话 #9 由 zhangsan 认领（控制台用户 ops）"
        );
        assert_eq!(
            localize(&ConversationNote::Missing.note(4, "x"), Lang::Zh),
            "会话 #4 不存在"
        );
        let note = format!("{}; {}", sent_without_details("a; b"), unmatched("order_paid"));
        assert_eq!(
            localize(&new_events(1, Some(&note)), Lang::Zh),
            "1 个新事件；未取得订单详情即发出：a; b; 未匹配：没有规则选中 order_paid"
        );
        assert_eq!(
            localize(&handed_off(3, "after hours"), Lang::Zh),
            "会话 #3 转人工：after hours"
        );
        assert_eq!(
            localize(&reply_failed(3, "x: y"), Lang::Zh),
            "会话 #3 的回复发送失败：x: y"
        );
        assert_eq!(
            localize(&response_warned(6, "escalate", 15, 1), Lang::Zh),
            "会话 #6 已 15 分钟无人回复，已升级（1 条通知）"
        );
        assert_eq!(
            localize(&connect_failed("corp_id ww1", "40013"), Lang::Zh),
            "corp_id ww1；未通过：40013"
        );
    }

    #[test]
    fn anything_else_is_shown_as_recorded() {
        for other in [
            "errcode 40058: invalid parameter",
            "#12 claimed by",
            "#x missing",
            "reply to #x sent",
            "reply to #3 queued",
            "3 new event(s) and more",
            "new event(s)",
            "where is my parcel? (console user",
            "",
        ] {
            assert_eq!(localize(other, Lang::Zh), other);
        }
    }
}
