//! `POST /cgi-bin/message/update_template_card`: changing an interactive card after it was sent, with
//! the single-use `response_code` WeCom handed out for it (72 hours).
//!
//! WeCom names no errcode of its own for a spent or expired response_code (the simulator answers 40058,
//! as the field reports say); a code known to be too old is refused here, before any call.

use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use shoprelay_clock::UnixMs;
use shoprelay_core::error::UserFacing;

use crate::card::TemplateCard;
use crate::error::WeComError;

/// How long a response_code can update its card (WeCom: 72 hours).
pub const RESPONSE_CODE_TTL: Duration = Duration::from_secs(72 * 3_600);

/// Errcodes WeCom answers for a response_code it no longer takes (or, in some reports, a bad field).
const CODE_REJECTED_ERRCODES: [i64; 2] = [40058, 42045];

/// What the card becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardChange {
    /// Its buttons are replaced by this (unclickable) text.
    ReplaceButtons(String),
    /// The whole card is replaced.
    Card(Box<TemplateCard>),
}

/// Who sees the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardAudience {
    /// Everyone the card reached (`atall = 1`).
    Everyone,
    /// These members only.
    Users(Vec<String>),
}

/// An `update_template_card` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardUpdate {
    /// The app's AgentId.
    pub agentid: i64,
    /// The code from `message/send` or from the click.
    pub response_code: String,
    /// Who sees it.
    pub audience: CardAudience,
    /// What changes.
    pub change: CardChange,
}

impl Serialize for CardUpdate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match &self.audience {
            CardAudience::Everyone => map.serialize_entry("atall", &1)?,
            CardAudience::Users(users) => map.serialize_entry("userids", users)?,
        }
        map.serialize_entry("agentid", &self.agentid)?;
        map.serialize_entry("response_code", &self.response_code)?;
        match &self.change {
            CardChange::ReplaceButtons(name) => {
                map.serialize_entry("button", &serde_json::json!({ "replace_name": name }))?
            }
            CardChange::Card(card) => map.serialize_entry("template_card", card)?,
        }
        map.end()
    }
}

/// Why a card was not updated.
#[derive(Debug, thiserror::Error)]
pub enum CardUpdateError {
    /// The click came without a response_code, so there is nothing to update the card with.
    #[error("the click carried no response_code")]
    NoCode,
    /// The response_code is older than 72 hours: refused before calling WeCom.
    #[error("the response_code is older than 72 hours")]
    Expired,
    /// WeCom refused the response_code: spent already, expired, or not this app's.
    #[error("WeCom refused the response_code (errcode {errcode}: {errmsg})")]
    CodeRejected {
        /// WeCom's errcode.
        errcode: i64,
        /// WeCom's errmsg.
        errmsg: String,
    },
    /// Any other failure of the call.
    #[error(transparent)]
    WeCom(WeComError),
}

impl From<WeComError> for CardUpdateError {
    fn from(err: WeComError) -> Self {
        match err {
            WeComError::Api { errcode, errmsg } if CODE_REJECTED_ERRCODES.contains(&errcode) => {
                Self::CodeRejected { errcode, errmsg }
            }
            other => Self::WeCom(other),
        }
    }
}

impl UserFacing for CardUpdateError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoCode => "wecom.response_code_missing",
            Self::Expired => "wecom.response_code_expired",
            Self::CodeRejected { .. } => "wecom.response_code_rejected",
            Self::WeCom(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NoCode | Self::Expired | Self::CodeRejected { .. } => 409,
            Self::WeCom(e) => e.status(),
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::NoCode => "卡片点击没有带 response_code，无法更新该卡片；操作本身已生效".into(),
            Self::Expired => "卡片的 response_code 已超过 72 小时，无法再更新该卡片；操作本身已生效".into(),
            Self::CodeRejected { errcode, .. } => format!(
                "企业微信拒绝了卡片的 response_code（已用过、已过期或不属于该应用，errcode {errcode}）：卡片未更新，操作本身已生效"
            ),
            Self::WeCom(e) => e.message_zh(),
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::NoCode => {
                "the click carried no response_code, so the card cannot be updated; the action itself took effect".into()
            }
            Self::Expired => {
                "the card's response_code is older than 72 hours, so the card can no longer be updated; the action itself took effect".into()
            }
            Self::CodeRejected { errcode, .. } => format!(
                "WeCom refused the card's response_code (used before, expired, or another app's; errcode {errcode}): the card is unchanged, the action itself took effect"
            ),
            Self::WeCom(e) => e.message_en(),
        }
    }
}

/// Whether a response_code handed out at `issued_at` can still be used at `now`.
pub fn response_code_usable(issued_at: UnixMs, now: UnixMs) -> bool {
    now.saturating_duration_since(issued_at) < RESPONSE_CODE_TTL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_serialises_as_wecom_documents_it() {
        let update = CardUpdate {
            agentid: 1000003,
            response_code: "rc".into(),
            audience: CardAudience::Everyone,
            change: CardChange::ReplaceButtons("已处理".into()),
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            serde_json::json!({"atall": 1, "agentid": 1000003, "response_code": "rc", "button": {"replace_name": "已处理"}})
        );
        let only = CardUpdate {
            audience: CardAudience::Users(vec!["zhangsan".into()]),
            ..update
        };
        assert_eq!(
            serde_json::to_value(&only).unwrap()["userids"],
            serde_json::json!(["zhangsan"])
        );
    }

    #[test]
    fn a_refused_code_is_told_apart_from_other_failures() {
        let rejected = CardUpdateError::from(WeComError::Api {
            errcode: 40058,
            errmsg: "invalid".into(),
        });
        assert_eq!(rejected.code(), "wecom.response_code_rejected");
        let other = CardUpdateError::from(WeComError::Api {
            errcode: 60020,
            errmsg: "ip".into(),
        });
        assert_eq!(other.code(), "wecom.ip_not_trusted");
    }

    #[test]
    fn a_code_lasts_72_hours() {
        let issued = UnixMs::from_millis(1_000);
        assert!(response_code_usable(
            issued,
            issued + RESPONSE_CODE_TTL - Duration::from_millis(1)
        ));
        assert!(!response_code_usable(issued, issued + RESPONSE_CODE_TTL));
        assert!(
            response_code_usable(issued, UnixMs::EPOCH),
            "a clock reading earlier than the click"
        );
    }
}
