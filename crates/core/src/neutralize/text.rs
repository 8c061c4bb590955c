//! Plain-text messages. Nothing is markup there, but a line break lets a value pose as a line of the
//! message ("系统通知：…"), and an `@all` reads as a mention of everyone: line breaks become spaces (or
//! every line becomes a quoted line of ours), `@` becomes the full-width `＠`.

use super::{lines, one_line};

/// `s` as text within one line, mentioning nobody.
pub fn inline(s: &str) -> String {
    one_line(s).replace('@', "＠")
}

/// `s` (a chat message) as quoted lines, `> ` and the line as [`inline`] text.
pub fn quote(s: &str) -> String {
    lines(s)
        .map(|l| format!("> {}", inline(&l)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::neutralize::is_hidden;

    fn visible(s: &str) -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && !is_hidden(*c))
            .map(|c| if c == '＠' { '@' } else { c })
            .collect()
    }

    #[test]
    fn mentions_and_line_breaks_are_text() {
        assert_eq!(inline("@all 请登录\n系统通知：x"), "＠all 请登录 系统通知：x");
        assert_eq!(quote("hi\n@all 系统通知\r\n"), "> hi\n> ＠all 系统通知");
    }

    proptest! {
        #[test]
        fn no_input_mentions_or_breaks_a_line(s in "[@a-z \n\r\t\u{85}\u{2028}\u{202E}系统]{0,40}|.*") {
            let out = inline(&s);
            prop_assert!(!out.contains('@') && !out.chars().any(is_hidden), "{:?}", out);
            prop_assert_eq!(visible(&out), visible(&s));
            let quoted = quote(&s);
            for line in quoted.lines() {
                prop_assert!(line.starts_with("> ") && !line.contains('@'), "{:?}", quoted);
            }
        }
    }
}
