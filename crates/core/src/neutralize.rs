//! Text that a buyer, a shop or a marketplace controls (buyer names, chat messages, item and model
//! names, SKUs, notes to the seller, carrier lines, shop names, the platform's error texts), made inert
//! for the format it is put into. One module per format:
//!
//! - [`markdown`]: WeCom markdown (robots, app group chats, app markdown, digests, rule templates).
//! - [`text`]: plain-text messages.
//! - [`card`]: `template_card` fields, which WeCom shows as text but bounds in length.
//! - [`html`]: shoprelay's own pages (digest and acknowledgement pages).
//!
//! Webhooks need none: their bodies are JSON written by serde, which escapes every string.
//!
//! Neutralising keeps the words: characters that would be markup are replaced by look-alikes that read
//! the same, line breaks by spaces; nothing the buyer wrote disappears.

pub mod card;
pub mod html;
pub mod markdown;
pub mod text;

/// Whether `c` ends a line in some renderer (WeCom's clients, browsers, editors).
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Whether `c` is invisible and changes what the reader sees: a line break, another control character,
/// or a bidirectional override that shows text in another order than it is (`evil\u{202E}nigol`).
pub(crate) fn is_hidden(c: char) -> bool {
    is_line_break(c)
        || c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` as one line: each run of hidden characters becomes one space, and the ends are trimmed, so that
/// the value cannot start, end or break a line of the message it goes into.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if is_hidden(c) {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        out.push(c);
    }
    out.trim().to_owned()
}

/// The lines of `s`, each made [`one_line`], blank ones left out.
fn lines(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(is_line_break).map(one_line).filter(|l| !l.is_empty())
}

/// `s` within `max` bytes, cut on a character boundary and ended with `…` when it was longer.
fn cut(s: String, max: usize) -> String {
    const ELLIPSIS: &str = "…";
    if s.len() <= max {
        return s;
    }
    let mut end = max.saturating_sub(ELLIPSIS.len());
    // Index 0 is always a boundary, so this stops.
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_turns_each_run_of_breaks_into_a_space() {
        assert_eq!(one_line("  a\r\n\r\nb\u{2028}c\u{202E}d\t"), "a b c d");
        assert_eq!(one_line("\n\n"), "");
        assert_eq!(lines("a\n\n  b \r\nc").collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("abcdef".into(), 10), "abcdef");
        assert_eq!(cut("字字字字".into(), 9), "字字…");
        assert_eq!(cut("abcdef".into(), 5), "ab…");
    }
}
