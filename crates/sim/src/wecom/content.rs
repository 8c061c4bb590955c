//! Message content rules: which msgtypes each channel takes and WeCom's size limits.

use serde_json::{Map, Value};

use super::reply::ApiError;

/// Which send API the content arrived through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    App,
    AppChat,
    Robot,
}

const APP_TYPES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "file",
    "textcard",
    "news",
    "mpnews",
    "markdown",
    "miniprogram_notice",
    "template_card",
];
const APPCHAT_TYPES: &[&str] = &[
    "text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown",
];
const ROBOT_TYPES: &[&str] = &[
    "text",
    "markdown",
    "markdown_v2",
    "image",
    "news",
    "file",
    "voice",
    "template_card",
];
const CARD_TYPES: &[&str] = &[
    "text_notice",
    "news_notice",
    "button_interaction",
    "vote_interaction",
    "multiple_interaction",
];

/// Checked content: its msgtype, the body as delivered, and whether the card is interactive.
pub(crate) struct Checked {
    pub(crate) msgtype: String,
    pub(crate) body: Value,
    pub(crate) interactive: bool,
}

/// Validates `body[msgtype]`, cutting app text to 2048 bytes the way WeCom does.
pub(crate) fn check(body: &Map<String, Value>, channel: Channel) -> Result<Checked, ApiError> {
    let msgtype = body.get("msgtype").and_then(Value::as_str).ok_or(ApiError(40008))?;
    let allowed = match channel {
        Channel::App => APP_TYPES,
        Channel::AppChat => APPCHAT_TYPES,
        Channel::Robot => ROBOT_TYPES,
    };
    if !allowed.contains(&msgtype) {
        return Err(ApiError(40008));
    }
    let payload_value = body.get(msgtype).ok_or(ApiError(40058))?;
    let payload = payload_value.as_object().ok_or(ApiError(40058))?;
    let mut delivered = Value::Object(body.clone());
    let mut interactive = false;
    match msgtype {
        "text" => {
            let content = non_empty_content(payload)?;
            if content.len() > 2048 {
                if channel == Channel::Robot {
                    return Err(ApiError(45002));
                }
                // Apps truncate instead of refusing.
                delivered[msgtype]["content"] = cut(content, 2048).into();
            }
        }
        "markdown" | "markdown_v2" => {
            let content = non_empty_content(payload)?;
            // Robots refuse an over-long markdown as an invalid parameter; apps and app chats as too long.
            match channel {
                Channel::Robot if content.len() > 4096 => return Err(ApiError(40058)),
                Channel::App | Channel::AppChat if content.len() > 2048 => return Err(ApiError(45002)),
                _ => {}
            }
        }
        "textcard" => {
            let field = |name| payload.get(name).and_then(Value::as_str).unwrap_or("");
            if field("title").is_empty() || field("description").is_empty() || field("url").is_empty() {
                return Err(ApiError(40058));
            }
            if field("title").len() > 128 || field("description").len() > 512 {
                return Err(ApiError(45002));
            }
        }
        "news" => {
            let articles = payload.get("articles").and_then(Value::as_array);
            match articles.map(Vec::len) {
                Some(1..=8) => {}
                Some(9..) => return Err(ApiError(45008)),
                _ => return Err(ApiError(40058)),
            }
        }
        "template_card" => interactive = check_card(payload_value)?,
        _ => {}
    }
    Ok(Checked {
        msgtype: msgtype.to_owned(),
        body: delivered,
        interactive,
    })
}

fn non_empty_content(payload: &Map<String, Value>) -> Result<&str, ApiError> {
    payload
        .get("content")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or(ApiError(44004))
}

fn cut(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Template card structure; true when WeCom would answer a response_code.
pub(crate) fn check_card(card: &Value) -> Result<bool, ApiError> {
    let invalid = ApiError(40058);
    let card_type = card
        .get("card_type")
        .and_then(Value::as_str)
        .filter(|t| CARD_TYPES.contains(t))
        .ok_or(invalid)?;
    let list_len = |name| card.get(name).and_then(Value::as_array).map_or(0, Vec::len);
    if list_len("horizontal_content_list") > 6 || list_len("jump_list") > 3 || list_len("button_list") > 6 {
        return Err(invalid);
    }
    let task_id = card.get("task_id").and_then(Value::as_str);
    if let Some(task_id) = task_id {
        let charset_ok = task_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@'));
        if task_id.is_empty() || task_id.len() > 128 || !charset_ok {
            return Err(invalid);
        }
    }
    let has_text = |pointer| {
        card.pointer(pointer)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if card_type == "text_notice" {
        let action_ok = match card.pointer("/card_action/type").and_then(Value::as_i64) {
            Some(1) => has_text("/card_action/url"),
            Some(2) => has_text("/card_action/appid"),
            _ => false,
        };
        if !action_ok || !(has_text("/main_title/title") || has_text("/sub_title_text")) {
            return Err(invalid);
        }
    }
    if card_type == "button_interaction" && (task_id.is_none() || list_len("button_list") == 0) {
        return Err(invalid);
    }
    Ok(matches!(
        card_type,
        "button_interaction" | "vote_interaction" | "multiple_interaction"
    ))
}

/// A JSON request body that must be an object (else 47001, WeCom's "data format error").
pub(crate) fn parse_object(raw: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(raw) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError(47001)),
    }
}

/// An integer WeCom also accepts as a numeric string (`"agentid": "1000002"`).
pub(crate) fn as_int(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}
