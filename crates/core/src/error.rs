//! The contract every user-facing error honours: a stable code, an HTTP status and a sentence in
//! Chinese and English that tells the reader what to do.

use serde::Serialize;

/// An error a seller or operator can meet, described so they can act on it.
pub trait UserFacing {
    /// Stable machine-readable code, e.g. `push.signature_invalid`. Never changes once published.
    fn code(&self) -> &'static str;
    /// HTTP status the API answers with.
    fn status(&self) -> u16;
    /// What happened and what to do, in Simplified Chinese.
    fn message_zh(&self) -> String;
    /// What happened and what to do, in English.
    fn message_en(&self) -> String;

    /// The JSON body the API and CLI show for this error.
    fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.message_zh(),
            message_en: self.message_en(),
        }
    }
}

/// Serialised form of a [`UserFacing`] error: `{"code","message","message_en"}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Stable code.
    pub code: &'static str,
    /// Chinese sentence (the product's default language).
    pub message: String,
    /// English sentence.
    pub message_en: String,
}

/// Display language of the console, CLI and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    #[serde(rename = "zh-CN", alias = "zh")]
    Zh,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// Picks the sentence of an error in this language.
    pub fn message(self, err: &dyn UserFacing) -> String {
        match self {
            Lang::Zh => err.message_zh(),
            Lang::En => err.message_en(),
        }
    }
}
