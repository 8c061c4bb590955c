//! Typed request bodies for app messages, app group chats and group robots, serialised exactly
//! as WeCom expects, with WeCom's size limits applied while serialising.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::card::TemplateCard;

/// App `text.content` limit; WeCom truncates beyond it, we cut on a char boundary first.
pub const TEXT_MAX_BYTES: usize = 2048;
/// App `markdown.content` limit.
pub const APP_MARKDOWN_MAX_BYTES: usize = 2048;
/// Robot `text.content` limit.
pub const ROBOT_TEXT_MAX_BYTES: usize = 2048;
/// Robot `markdown.content` limit.
pub const ROBOT_MARKDOWN_MAX_BYTES: usize = 4096;
/// `textcard.title` limit.
pub const TEXTCARD_TITLE_MAX_BYTES: usize = 128;
/// `textcard.description` limit.
pub const TEXTCARD_DESCRIPTION_MAX_BYTES: usize = 512;
/// `textcard.btntxt` limit, counted in characters.
pub const TEXTCARD_BTNTXT_MAX_CHARS: usize = 4;
/// Longest `duplicate_check_interval` WeCom accepts (4 hours).
pub const DUPLICATE_CHECK_INTERVAL_MAX_SECS: u32 = 14_400;

/// The longest prefix of `s` that fits in `max_bytes` without splitting a UTF-8 character.
pub fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    // Index 0 is always a boundary, so this stops.
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Who an app message goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients {
    /// Member userids.
    pub touser: Vec<String>,
    /// Department ids.
    pub toparty: Vec<String>,
    /// Tag ids.
    pub totag: Vec<String>,
    /// Everyone in the app's visible range (`touser = "@all"`); the lists are then ignored.
    pub all: bool,
}

impl Recipients {
    /// Members only.
    pub fn users<I: IntoIterator<Item = S>, S: Into<String>>(users: I) -> Self {
        Self {
            touser: users.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        if self.all {
            return map.serialize_entry("touser", "@all");
        }
        for (key, ids) in [
            ("touser", &self.touser),
            ("toparty", &self.toparty),
            ("totag", &self.totag),
        ] {
            if !ids.is_empty() {
                map.serialize_entry(key, &ids.join("|"))?;
            }
        }
        Ok(())
    }
}

/// The content of an app or app-chat message; the variant picks `msgtype`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppBody {
    /// `msgtype: text`.
    Text {
        /// Plain text, at most [`TEXT_MAX_BYTES`].
        content: String,
    },
    /// `msgtype: markdown` (WeCom's markdown subset).
    Markdown {
        /// Markdown, at most [`APP_MARKDOWN_MAX_BYTES`].
        content: String,
    },
    /// `msgtype: textcard`, the older card every client renders.
    TextCard(TextCard),
    /// `msgtype: template_card` (app messages only; app chats answer 40008).
    TemplateCard(Box<TemplateCard>),
}

impl AppBody {
    /// A text body, cut to the limit.
    pub fn text(content: &str) -> Self {
        AppBody::Text {
            content: truncate_utf8(content, TEXT_MAX_BYTES).to_owned(),
        }
    }

    /// A markdown body, cut to the limit.
    pub fn markdown(content: &str) -> Self {
        AppBody::Markdown {
            content: truncate_utf8(content, APP_MARKDOWN_MAX_BYTES).to_owned(),
        }
    }

    /// The `msgtype` value.
    pub fn msgtype(&self) -> &'static str {
        match self {
            AppBody::Text { .. } => "text",
            AppBody::Markdown { .. } => "markdown",
            AppBody::TextCard(_) => "textcard",
            AppBody::TemplateCard(_) => "template_card",
        }
    }

    fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let msgtype = self.msgtype();
        map.serialize_entry("msgtype", msgtype)?;
        match self {
            AppBody::Text { content } => map.serialize_entry(msgtype, &Content::new(content, TEXT_MAX_BYTES)),
            AppBody::Markdown { content } => {
                map.serialize_entry(msgtype, &Content::new(content, APP_MARKDOWN_MAX_BYTES))
            }
            AppBody::TextCard(card) => map.serialize_entry(msgtype, card),
            AppBody::TemplateCard(card) => map.serialize_entry(msgtype, card),
        }
    }
}

#[derive(Serialize)]
struct Content<'a> {
    content: &'a str,
}

impl<'a> Content<'a> {
    fn new(content: &'a str, max_bytes: usize) -> Self {
        Self {
            content: truncate_utf8(content, max_bytes),
        }
    }
}

/// `textcard`: title, description and a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextCard {
    /// At most [`TEXTCARD_TITLE_MAX_BYTES`].
    pub title: String,
    /// At most [`TEXTCARD_DESCRIPTION_MAX_BYTES`]; WeCom allows a few HTML tags.
    pub description: String,
    /// Where a click goes.
    pub url: String,
    /// Button text, at most [`TEXTCARD_BTNTXT_MAX_CHARS`] characters; WeCom shows "详情" without it.
    pub btntxt: Option<String>,
}

impl Serialize for TextCard {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("title", truncate_utf8(&self.title, TEXTCARD_TITLE_MAX_BYTES))?;
        map.serialize_entry(
            "description",
            truncate_utf8(&self.description, TEXTCARD_DESCRIPTION_MAX_BYTES),
        )?;
        map.serialize_entry("url", &self.url)?;
        if let Some(btntxt) = &self.btntxt {
            let cut: String = btntxt.chars().take(TEXTCARD_BTNTXT_MAX_CHARS).collect();
            map.serialize_entry("btntxt", &cut)?;
        }
        map.end()
    }
}

/// A `message/send` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMessage {
    /// Who receives it.
    pub recipients: Recipients,
    /// The sending app; must be the app whose token is used (else 301002).
    pub agentid: i64,
    /// What is sent.
    pub body: AppBody,
    /// Ask WeCom not to deliver an identical body twice within the interval (our retries' safety net).
    pub enable_duplicate_check: bool,
    /// Seconds; WeCom's default is 1800, the maximum [`DUPLICATE_CHECK_INTERVAL_MAX_SECS`].
    pub duplicate_check_interval: Option<u32>,
}

impl Serialize for AppMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.recipients.write(&mut map)?;
        map.serialize_entry("agentid", &self.agentid)?;
        self.body.write(&mut map)?;
        if self.enable_duplicate_check {
            map.serialize_entry("enable_duplicate_check", &1)?;
            if let Some(secs) = self.duplicate_check_interval {
                map.serialize_entry("duplicate_check_interval", &secs.min(DUPLICATE_CHECK_INTERVAL_MAX_SECS))?;
            }
        }
        map.end()
    }
}

/// An `appchat/send` request body.
pub(crate) struct AppChatMessage<'a> {
    pub(crate) chatid: &'a str,
    pub(crate) body: &'a AppBody,
}

impl Serialize for AppChatMessage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("chatid", self.chatid)?;
        self.body.write(&mut map)?;
        map.end()
    }
}

/// An `appchat/create` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppChatSpec {
    /// Group name, at most 50 characters.
    pub name: String,
    /// Owner userid; WeCom picks a member when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Members, 2 to 2000 userids.
    pub userlist: Vec<String>,
    /// Wanted chat id (≤ 32 of `[0-9a-zA-Z]`); WeCom generates one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chatid: Option<String>,
}

/// A group robot (`webhook/send`) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotMessage {
    /// Plain text with optional @-mentions.
    Text {
        /// At most [`ROBOT_TEXT_MAX_BYTES`].
        content: String,
        /// Userids to mention; `"@all"` mentions everyone.
        mentioned_list: Vec<String>,
        /// Mobile numbers to mention.
        mentioned_mobile_list: Vec<String>,
    },
    /// Markdown; mention with `<@userid>` inside the content.
    Markdown {
        /// At most [`ROBOT_MARKDOWN_MAX_BYTES`].
        content: String,
    },
}

impl Serialize for RobotMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Text<'a> {
            content: &'a str,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            mentioned_list: &'a [String],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            mentioned_mobile_list: &'a [String],
        }
        let mut map = s.serialize_map(Some(2))?;
        match self {
            RobotMessage::Text {
                content,
                mentioned_list,
                mentioned_mobile_list,
            } => {
                map.serialize_entry("msgtype", "text")?;
                map.serialize_entry(
                    "text",
                    &Text {
                        content: truncate_utf8(content, ROBOT_TEXT_MAX_BYTES),
                        mentioned_list,
                        mentioned_mobile_list,
                    },
                )?;
            }
            RobotMessage::Markdown { content } => {
                map.serialize_entry("msgtype", "markdown")?;
                map.serialize_entry("markdown", &Content::new(content, ROBOT_MARKDOWN_MAX_BYTES))?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
