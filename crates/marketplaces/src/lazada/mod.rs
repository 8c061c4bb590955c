//! Lazada Open Platform: verify a push, parse it, and read orders through the API client. Normalisation
//! into neutral events is written on the neutral order model.
//!
//! # Layout
//! - [`region`]: the six country sites ([`LazadaRegion`]): a push's `site`, a country code, an API host.
//! - [`sign`]: API `sign` parameters and push `Authorization` verification (checked against shared vectors).

pub mod region;
pub mod sign;

pub use region::LazadaRegion;
pub use sign::{api_sign, push_signature, verify_push};

/// Lazada's name on cards.
pub const DISPLAY_NAME: &str = "Lazada";
