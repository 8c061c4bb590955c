//! `template_card` bodies: text_notice (order alerts) and button_interaction (claim / resolve).
//!
//! List lengths beyond WeCom's limits are cut while serialising, so a card is never rejected for
//! one row too many; absent optional fields are left out, as WeCom's examples do.

use serde::{Deserialize, Serialize, Serializer};

/// At most this many `horizontal_content_list` rows.
pub const HORIZONTAL_CONTENT_MAX: usize = 6;
/// At most this many `jump_list` links.
pub const JUMP_LIST_MAX: usize = 3;
/// At most this many `button_list` buttons.
pub const BUTTON_LIST_MAX: usize = 6;

/// Which template card layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardType {
    /// Text notice; `card_action` required.
    TextNotice,
    /// Buttons that call back with `template_card_event`; `task_id` and `button_list` required.
    ButtonInteraction,
}

/// A `template_card` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCard {
    /// Layout.
    pub card_type: CardType,
    /// Source line at the top (icon and name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<CardSource>,
    /// Title and description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_title: Option<MainTitle>,
    /// Big highlighted figure (e.g. the order amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emphasis_content: Option<EmphasisContent>,
    /// Quoted block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_area: Option<QuoteArea>,
    /// Secondary text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_title_text: Option<String>,
    /// Key/value rows; at most [`HORIZONTAL_CONTENT_MAX`] are sent.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "at_most::<HORIZONTAL_CONTENT_MAX, _, _>"
    )]
    pub horizontal_content_list: Vec<HorizontalContent>,
    /// Links under the card; at most [`JUMP_LIST_MAX`] are sent.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "at_most::<JUMP_LIST_MAX, _, _>"
    )]
    pub jump_list: Vec<Jump>,
    /// What a click on the card does; required by WeCom for text_notice.
    pub card_action: CardAction,
    /// Unique per app, `[0-9A-Za-z_-@]`, ≤ 128 bytes; required with buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Buttons (button_interaction); at most [`BUTTON_LIST_MAX`] are sent.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "at_most::<BUTTON_LIST_MAX, _, _>"
    )]
    pub button_list: Vec<Button>,
}

fn at_most<const N: usize, T: Serialize, S: Serializer>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(items.iter().take(N))
}

/// `source`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSource {
    /// Icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Source name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// 0 grey, 1 black, 2 red, 3 green.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc_color: Option<u8>,
}

/// `main_title`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MainTitle {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Line under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

/// `emphasis_content`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmphasisContent {
    /// The highlighted figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

/// `quote_area`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteArea {
    /// 0 none, 1 url.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    /// Link for type 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Quote title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Quoted text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_text: Option<String>,
}

/// A `horizontal_content_list` row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HorizontalContent {
    /// 0 text, 1 url, 2 media, 3 userid.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    /// Label.
    pub keyname: String,
    /// Shown value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Link for type 1 (`tel:` makes a one-click dial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl HorizontalContent {
    /// A plain label/value row.
    pub fn text(keyname: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: None,
            keyname: keyname.into(),
            value: Some(value.into()),
            url: None,
        }
    }

    /// A row whose value opens `url`.
    pub fn link(keyname: impl Into<String>, value: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            kind: Some(1),
            keyname: keyname.into(),
            value: Some(value.into()),
            url: Some(url.into()),
        }
    }

    /// A one-click dial row.
    pub fn dial(keyname: impl Into<String>, number: &str) -> Self {
        Self::link(keyname, number, format!("tel:{number}"))
    }
}

/// A `jump_list` link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jump {
    /// 0 none, 1 url, 2 mini program.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    /// Link text.
    pub title: String,
    /// Link for type 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `card_action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardAction {
    /// 1 url, 2 mini program.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Link for type 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl CardAction {
    /// Opens `url` on click.
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            kind: 1,
            url: Some(url.into()),
        }
    }
}

/// A `button_list` button.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// 0 callback (default), 1 url.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    /// Button text.
    pub text: String,
    /// 1–4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<u8>,
    /// Sent back as `EventKey` for type 0, ≤ 1024 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Link for type 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
