//! What a member's text to the app asks for. Staff type on phones: the grammar is forgiving (a
//! conversation is `#12` or `＃12`, commands in Chinese or English, any case), and anything that is not a
//! command is a reply to the buyer.

/// A member's text, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send `text` to the buyer of `conversation` (the member's latest held one when not named).
    Reply {
        /// The conversation named with `#12`.
        conversation: Option<i64>,
        /// What the buyer receives.
        text: String,
    },
    /// Take the conversation (认领).
    Claim(i64),
    /// Mark it handled (已处理).
    Resolve(i64),
    /// Let go of it for someone else to take (转人工).
    HandOff(i64),
}

const CLAIM: [&str; 3] = ["认领", "claim", "take"];
const RESOLVE: [&str; 4] = ["已处理", "结束", "resolve", "done"];
const HAND_OFF: [&str; 4] = ["转人工", "转主管", "handoff", "release"];

/// `#12` or `＃12` at the start of `s`: the number and the rest.
fn conversation_ref(s: &str) -> Option<(i64, &str)> {
    let rest = s.strip_prefix('#').or_else(|| s.strip_prefix('＃'))?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let id = rest[..digits].parse().ok()?;
    Some((id, &rest[digits..]))
}

impl Command {
    /// Reads a member's text; `None` when it holds nothing to send.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let mut words = text.splitn(2, char::is_whitespace);
        let first = words.next().unwrap_or_default();
        let rest = words.next().unwrap_or_default().trim();
        let verb = first.to_lowercase();
        if let Some((id, "")) = conversation_ref(rest) {
            if CLAIM.contains(&verb.as_str()) {
                return Some(Self::Claim(id));
            }
            if RESOLVE.contains(&verb.as_str()) {
                return Some(Self::Resolve(id));
            }
            if HAND_OFF.contains(&verb.as_str()) {
                return Some(Self::HandOff(id));
            }
        }
        match conversation_ref(text) {
            Some((id, said)) => {
                let said = said.trim_start_matches([':', '：']).trim();
                (!said.is_empty()).then(|| Self::Reply {
                    conversation: Some(id),
                    text: said.to_owned(),
                })
            }
            None => (!text.is_empty()).then(|| Self::Reply {
                conversation: None,
                text: text.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(conversation: Option<i64>, text: &str) -> Option<Command> {
        Some(Command::Reply {
            conversation,
            text: text.into(),
        })
    }

    #[test]
    fn texts_are_replies_unless_they_are_commands() {
        assert_eq!(Command::parse("亲，已经帮您催了"), reply(None, "亲，已经帮您催了"));
        assert_eq!(Command::parse("#12 明天发货"), reply(Some(12), "明天发货"));
        assert_eq!(Command::parse("＃7：好的"), reply(Some(7), "好的"));
        assert_eq!(Command::parse("#12"), None, "a bare reference sends nothing");
        assert_eq!(Command::parse("   "), None);
        assert_eq!(Command::parse("认领 #12"), Some(Command::Claim(12)));
        assert_eq!(Command::parse("Claim #3"), Some(Command::Claim(3)));
        assert_eq!(Command::parse("已处理 ＃3"), Some(Command::Resolve(3)));
        assert_eq!(Command::parse("转人工 #3"), Some(Command::HandOff(3)));
        assert_eq!(
            Command::parse("认领 #12 then more"),
            reply(None, "认领 #12 then more"),
            "a command is the whole text"
        );
        assert_eq!(
            Command::parse("#99999999999999999999 hi"),
            reply(None, "#99999999999999999999 hi")
        );
    }
}
