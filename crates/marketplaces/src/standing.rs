//! Where a shop stands at its marketplace (trading, frozen, no longer authorized), as far as the
//! marketplace tells: Shopee in its shop information, Lazada only by pushing a change of the seller's
//! status (the middle keeps the latest push and hands it back), TikTok Shop not at all — its authorized
//! shops list shows whether the shop is still authorized, and documents no status beside it.

use shoprelay_clock::UnixMs;
use shoprelay_core::entity::ShopState;

/// A seller-status push as the middle keeps it (the latest per shop), in the platform's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedStanding {
    /// The platform's word (Lazada: `normal` or `close`).
    pub status: String,
    /// When the platform stamped the push.
    pub reported_at: UnixMs,
}

/// What the marketplace says of a shop's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The marketplace says so.
    Known {
        /// Where the shop stands.
        state: ShopState,
        /// When the push that said so was stamped; `None` when an API call said so just now.
        reported_at: Option<UnixMs>,
    },
    /// Nothing the marketplace tells says; why.
    Unknown(StandingUnknown),
}

/// Why a shop's standing is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandingUnknown {
    /// The platform pushes only a change of the seller's status, and none came for this shop yet.
    NotPushedYet,
    /// The platform sent a status word its documents do not list.
    Unrecognised(String),
    /// The platform's API lists the shop as authorized but documents no trading status for it.
    NotReported,
}

impl StandingUnknown {
    /// What the check says, in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            Self::NotPushedYet => "平台尚未推送店铺状态：Lazada 仅在卖家状态变化时推送（消息类型 13），\
                                   如店铺被关停将在此显示"
                .into(),
            Self::Unrecognised(word) => format!("平台推送的店铺状态「{word}」不在其文档之列：请在卖家中心查看店铺状态"),
            Self::NotReported => "店铺仍在授权列表中；TikTok Shop 的已授权店铺接口不提供店铺状态（是否冻结），\
                                  请在卖家中心查看"
                .into(),
        }
    }

    /// What the check says, in English.
    pub fn message_en(&self) -> String {
        match self {
            Self::NotPushedYet => "The marketplace has not pushed the shop's status: Lazada pushes only a change of \
                                   the seller's status (message type 13); a closed shop will show here"
                .into(),
            Self::Unrecognised(word) => format!(
                "The marketplace pushed a shop status `{word}` its documents do not list: check the shop in its seller centre"
            ),
            Self::NotReported => "The shop is still among the authorized shops; TikTok Shop's authorized shops API \
                                  reports no shop status (frozen or not): check it in Seller Center"
                .into(),
        }
    }
}
