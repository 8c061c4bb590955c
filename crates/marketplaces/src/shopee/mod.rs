//! Shopee Open Platform v2: verify a push, parse it, normalise it (enriched through the API client).
//!
//! # Layout
//! - [`app`]: [`ShopeeMarketplace`], a configured app behind the neutral `MarketplaceApp` interface.
//! - [`config`]: [`ShopeeAppConfig`], the app as the operator configures it.
//! - [`auth`]: authorization links (current and legacy) and token lifetimes.
//! - [`sign`]: API `sign` parameters and push `Authorization` verification (checked against shared vectors).
//! - [`push`]: a push body parsed into [`ShopeePush`]; [`push::dedupe_key`] for the inbox.
//! - [`model`]: the partner app ([`ShopeeApp`]) and the API's answers ([`OrderDetail`], [`TokenGrant`], …).
//! - [`client`]: [`ShopeeClient`], the signed HTTP calls (OAuth, orders, lost pushes).
//! - [`error`]: [`ShopeeError`] and its [`Disposition`] (retry, refresh, reauthorize, fail).
//! - [`normalize`]: pure mapping of a push to neutral events.
//! - [`status`]: Shopee's order statuses and the neutral stage of each.

pub mod app;
pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod model;
pub mod normalize;
pub mod push;
pub mod sign;
pub mod status;

pub use app::ShopeeMarketplace;
pub use auth::{default_auth_base, open_auth_url, AuthLinkKind, TokenExpiry};
pub use client::ShopeeClient;
pub use config::ShopeeAppConfig;
pub use error::{Disposition, ShopeeError};
pub use model::{
    AuthTarget, LostPush, LostPushPage, OrderDetail, OrderListItem, OrderListPage, ShopeeApp, TokenGrant, TrackingInfo,
    TrackingStep,
};
pub use normalize::normalize;
pub use push::{dedupe_key, PushBody, PushParseError, ShopeePush};
pub use sign::{api_sign, push_signature, verify_push};

use shoprelay_core::ids::OrderSn;

use crate::platform::CredentialField;

/// Shopee's name in storage, URLs and rules.
pub const PLATFORM: shoprelay_core::event::Platform = shoprelay_core::event::Platform::named("shopee");

/// Shopee's name on cards.
pub const DISPLAY_NAME: &str = "Shopee";
/// The key pushes are signed with, as Shopee's console names it.
pub const PUSH_KEY: &str = "Live Push Partner Key";
/// The app's credentials as the onboarding form asks for them (names as in `[[shopee.apps]]`).
pub const CREDENTIALS: &[CredentialField] = &[
    CredentialField::new("partner_id", "Partner ID", "Partner ID", false),
    CredentialField::new("partner_key", "Partner Key", "Partner Key", true),
    CredentialField::new("push_key", PUSH_KEY, PUSH_KEY, true),
    CredentialField::API_BASE,
    CredentialField::AUTH_BASE,
];
/// The seller centre (China cross-border sellers' portal).
pub const SELLER_CENTRE: &str = "https://seller.shopee.cn/";

/// An order's page in the seller centre.
pub fn order_url(order_sn: &OrderSn) -> String {
    format!("{SELLER_CENTRE}portal/sale/order?search={order_sn}")
}
