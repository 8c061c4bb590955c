//! Lazada Open Platform: verify a push, parse it, and read orders through the API client. Normalisation
//! into neutral events is written on the neutral order model; [`status_meaning`] is its input here.
//!
//! # Layout
//! - [`region`]: the six country sites ([`LazadaRegion`]): a push's `site`, a country code, an API host.
//! - [`auth`]: the seller authorization link.
//! - [`sign`]: API `sign` parameters and push `Authorization` verification (checked against shared vectors).
//! - [`push`]: a push body parsed into [`LazadaPush`]; [`push::dedupe_key`] for the inbox.
//! - [`model`]: the app ([`LazadaAppConfig`]) and the API's answers ([`LazadaOrder`], [`TokenGrant`], …).
//! - [`client`]: [`LazadaClient`], the signed HTTP calls (OAuth tokens, orders, order lines, updated orders).
//! - [`error`]: [`LazadaError`] and its [`Disposition`] (retry, refresh, reauthorize, fail).
//! - [`status`]: [`status_meaning`], the stage of an order each Lazada status stands for.

pub mod auth;
pub mod client;
pub mod error;
pub mod model;
pub mod push;
pub mod region;
pub mod sign;
pub mod status;

pub use auth::authorize_url;
pub use client::{LazadaClient, ORDERS_PAGE_MAX};
pub use error::{ApiErrorType, Disposition, LazadaError};
pub use model::{
    CountrySeller, LazadaAddress, LazadaAppConfig, LazadaOrder, LazadaOrderItem, OrdersPage, TokenGrant,
    DEFAULT_AUTH_BASE,
};
pub use push::{dedupe_key, LazadaPush, PushBody, PushParseError};
pub use region::LazadaRegion;
pub use sign::{api_sign, push_signature, verify_push};
pub use status::{status_meaning, LazadaStatusMeaning};

/// Lazada's name on cards.
pub const DISPLAY_NAME: &str = "Lazada";
