//! WeCom markdown. WeCom documents no escape sequence for its dialect (a backslash or an HTML entity may
//! show literally, or be decoded before the markup is read), so markup characters are replaced by their
//! full-width forms, which read the same to a person and mean nothing to the renderer:
//!
//! | written | shown as | would otherwise make |
//! | --- | --- | --- |
//! | `<` `>` | `＜` `＞` | `<font>` / `</font>`, `<@userid>` mentions, a `>` quote |
//! | `[` `]` | `［` `］` | links and images |
//! | `#` | `＃` | headings |
//! | `*` `` ` `` `~` | `＊` `｀` `～` | bold, code, strike-through, `*` lists |
//! | `\` `&` | `＼` `＆` | an escape or an entity that changes the markup next to the value |
//! | `@` | `＠` | a mention, when a rule's markdown goes out as a text message |
//! | `:` before `//` | `：` | a bare address the client would turn into a link |
//! | a leading `-` `+` `1.` `1)` before a space | `－` `＋` `1．` `1）` | a list item |
//!
//! Line breaks become spaces ([`inline`]), or every line becomes a quoted line of ours ([`quote`]).
//! `_` and `|` are kept: usernames are full of underscores, and tables exist only in `markdown_v2`,
//! which shoprelay does not send. So are runs like `---` and `===`: a value does not know whether it
//! starts a line, `{{ '-' * 10 }}` in a template is a separator its author wants, and WeCom's markdown
//! has neither rules nor underlined headings.

use super::{lines, one_line};

/// `s` as markdown text within one line: no markup of its own, no line break.
pub fn inline(s: &str) -> String {
    let line = one_line(s);
    let mut out = String::with_capacity(line.len() + 8);
    let list_dot = ordered_list_marker(&line);
    for (i, c) in line.char_indices() {
        let rest = &line[i + c.len_utf8()..];
        let shown = match c {
            '<' => '＜',
            '>' => '＞',
            '[' => '［',
            ']' => '］',
            '#' => '＃',
            '*' => '＊',
            '`' => '｀',
            '~' => '～',
            '\\' => '＼',
            '&' => '＆',
            '@' => '＠',
            ':' if rest.starts_with("//") => '：',
            '-' | '+' if i == 0 && ends_word(rest) => fullwidth_sign(c),
            '.' if list_dot == Some(i) => '．',
            ')' if list_dot == Some(i) => '）',
            c => c,
        };
        out.push(shown);
    }
    out
}

/// `s` (a chat message, a note) as quoted lines, `> ` and the line as [`inline`] text: the buyer's line
/// breaks are kept, but every line is ours.
pub fn quote(s: &str) -> String {
    lines(s)
        .map(|l| format!("> {}", inline(&l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `rest` is empty or starts with whitespace: what makes a leading marker a list item.
fn ends_word(rest: &str) -> bool {
    rest.chars().next().is_none_or(char::is_whitespace)
}

fn fullwidth_sign(c: char) -> char {
    if c == '-' {
        '－'
    } else {
        '＋'
    }
}

/// Where the `.` or `)` of an ordered-list start (`12. `, `3)`) is, when `line` begins with one.
fn ordered_list_marker(line: &str) -> Option<usize> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let marker = line[digits..].starts_with(['.', ')']);
    (digits > 0 && marker && ends_word(&line[digits + 1..])).then_some(digits)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::neutralize::is_hidden;

    const ATTACK: &str = "</font>\n### 系统通知\n[login](https://evil.example/login)";

    /// Inline text back in ASCII, to compare what a reader sees with what was written.
    fn read_back(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '＜' => '<',
                '＞' => '>',
                '［' => '[',
                '］' => ']',
                '＃' => '#',
                '＊' => '*',
                '｀' => '`',
                '～' => '~',
                '＼' => '\\',
                '＆' => '&',
                '＠' => '@',
                '：' => ':',
                '－' => '-',
                '＋' => '+',
                '．' => '.',
                '）' => ')',
                c => c,
            })
            .collect()
    }

    fn visible(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace() && !is_hidden(*c)).collect()
    }

    /// Whether a line would start a block of its own: a heading, quote, list, rule or setext underline.
    fn starts_block(line: &str) -> bool {
        let t = line.trim_start();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let ordered = digits > 0
            && t[digits..].starts_with(['.', ')'])
            && t[digits + 1..].chars().next().is_none_or(char::is_whitespace);
        let item = t.starts_with(['-', '+']) && t[1..].chars().next().is_none_or(char::is_whitespace);
        t.starts_with(['#', '>', '*', '`', '~']) || item || ordered
    }

    fn assert_inert(out: &str) {
        assert!(!out.chars().any(is_hidden), "{out:?}");
        for special in ['<', '>', '[', ']', '#', '*', '`', '~', '\\', '&', '@'] {
            assert!(!out.contains(special), "{special} in {out:?}");
        }
        assert!(!out.contains("://"), "{out:?}");
        assert!(!starts_block(out), "{out:?}");
    }

    #[test]
    fn the_attack_of_the_finding_reads_as_text() {
        let out = inline(ATTACK);
        assert_eq!(out, "＜/font＞ ＃＃＃ 系统通知 ［login］(https：//evil.example/login)");
        assert_inert(&out);
        let line = format!("> 买家：<font color=\"comment\">{out}</font>\n");
        assert_eq!(line.matches("<font").count(), 1);
        assert_eq!(line.matches("</font>").count(), 1);
        assert_eq!(line.lines().count(), 1);
    }

    #[test]
    fn block_starts_are_only_neutralised_at_the_start() {
        assert_eq!(inline("- item"), "－ item");
        assert_eq!(inline("-"), "－");
        assert_eq!(inline("+ x"), "＋ x");
        assert_eq!(inline("1.\tx"), "1． x");
        assert_eq!(inline("1. first"), "1． first");
        assert_eq!(inline("12)"), "12）");
        assert_eq!(inline("> quote"), "＞ quote");
        // Ordinary values are left as they are.
        assert_eq!(inline("-12.50"), "-12.50");
        assert_eq!(inline("----------"), "----------");
        assert_eq!(inline("1.5 kg - blue"), "1.5 kg - blue");
        assert_eq!(inline("tan_ah_kow"), "tan_ah_kow");
        assert_eq!(inline("T-Shirt (Black, M)"), "T-Shirt (Black, M)");
        assert_eq!(inline("<@all> a@b.c"), "＜＠all＞ a＠b.c");
    }

    #[test]
    fn quoted_lines_keep_the_buyer_s_lines_as_ours() {
        let out = quote("hi\r\n\n### 系统通知\n- list\n> q");
        assert_eq!(out, "> hi\n> ＃＃＃ 系统通知\n> － list\n> ＞ q");
        assert_eq!(quote("\n \n"), "");
    }

    /// Strings rich in what markdown, HTML and WeCom treat specially.
    fn hostile() -> impl Strategy<Value = String> {
        prop_oneof![
            "[<>\\[\\]()#*`~\\\\&@:/=+.)1-9 \t\n\r\u{2028}\u{202E}\u{0}a-z系统通知-]{0,40}",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn no_input_makes_markup_or_breaks_a_line(s in hostile()) {
            let out = inline(&s);
            assert_inert(&out);
            // Escaped, not deleted: every visible character is still there, in order.
            prop_assert_eq!(visible(&read_back(&out)), visible(&read_back(&s)));
        }

        #[test]
        fn every_quoted_line_is_ours(s in hostile()) {
            let out = quote(&s);
            let mut said = String::new();
            for line in out.lines() {
                let rest = line.strip_prefix("> ");
                prop_assert!(rest.is_some(), "{:?}", out);
                assert_inert(rest.unwrap_or_default());
                said.push_str(rest.unwrap_or_default());
            }
            prop_assert_eq!(visible(&read_back(&said)), visible(&read_back(&s)));
        }
    }
}
