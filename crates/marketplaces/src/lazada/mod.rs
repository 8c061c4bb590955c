//! Lazada Open Platform: verify a push, parse it, and read orders through the API client. Normalisation
//! into neutral events is written on the neutral order model; [`status_meaning`] is its input here.
//!
//! # Layout
//! - [`region`]: the six country sites ([`LazadaRegion`]): a push's `site`, a country code, an API host.
//! - [`sign`]: API `sign` parameters and push `Authorization` verification (checked against shared vectors).
//! - [`push`]: a push body parsed into [`LazadaPush`]; [`push::dedupe_key`] for the inbox.
//! - [`status`]: [`status_meaning`], the stage of an order each Lazada status stands for.

pub mod push;
pub mod region;
pub mod sign;
pub mod status;

pub use push::{dedupe_key, LazadaPush, PushBody, PushParseError};
pub use region::LazadaRegion;
pub use sign::{api_sign, push_signature, verify_push};
pub use status::{status_meaning, LazadaStatusMeaning};

/// Lazada's name on cards.
pub const DISPLAY_NAME: &str = "Lazada";
