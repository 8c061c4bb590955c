//! shoprelay's own HTML pages: the five characters that can end a text node or an attribute value.

/// `s` as HTML text or a quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn escapes_everything_that_can_leave_an_attribute_or_a_tag() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    proptest! {
        #[test]
        fn no_input_makes_a_tag_and_every_character_comes_back(s in "[<>\"'&a-z;#]{0,40}|.*") {
            let out = escape(&s);
            prop_assert!(!out.contains(['<', '>', '"', '\'']), "{:?}", out);
            let back = out
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            prop_assert_eq!(back, s);
        }
    }
}
