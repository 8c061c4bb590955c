//! `template_card` fields. WeCom shows them as text (no markdown, no mentions), so what matters is
//! that a value stays on its line and within a length WeCom accepts. The URLs a card opens are built by
//! shoprelay alone (the seller-centre page of a validated order number, the acknowledgement link),
//! never taken from marketplace data.

use super::{cut, lines, one_line};

/// Longest one-line field shoprelay sends: room for WeCom's suggested 26 characters and more, far
/// below what makes a card invalid.
pub const LINE_MAX_BYTES: usize = 128;
/// Longest multi-line text (`sub_title_text`).
pub const TEXT_MAX_BYTES: usize = 1_000;

/// `s` for a one-line field (a title, a row's value): one line, at most [`LINE_MAX_BYTES`].
pub fn line(s: &str) -> String {
    cut(one_line(s), LINE_MAX_BYTES)
}

/// `s` for `sub_title_text`: its lines kept (without blank ones or control characters), at most
/// [`TEXT_MAX_BYTES`].
pub fn text(s: &str) -> String {
    cut(lines(s).collect::<Vec<_>>().join("\n"), TEXT_MAX_BYTES)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::neutralize::is_hidden;

    #[test]
    fn fields_stay_on_their_line_and_within_bounds() {
        assert_eq!(line("ana</font>\n### 系统通知"), "ana</font> ### 系统通知");
        assert_eq!(text("a\r\n\r\nb\u{202E}c"), "a\nb c");
        assert!(line(&"字".repeat(100)).ends_with('…'));
    }

    proptest! {
        #[test]
        fn no_input_leaves_its_field(s in "[a-z \n\r\t\u{2028}\u{202E}字]{0,600}|.*") {
            let one = line(&s);
            prop_assert!(one.len() <= LINE_MAX_BYTES && !one.chars().any(is_hidden), "{:?}", one);
            let many = text(&s);
            prop_assert!(many.len() <= TEXT_MAX_BYTES, "{}", many.len());
            prop_assert!(!many.chars().any(|c| c != '\n' && is_hidden(c)), "{:?}", many);
        }
    }
}
