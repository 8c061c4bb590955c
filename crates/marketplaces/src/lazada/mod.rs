//! Lazada Open Platform: verify a push, parse it, read orders through the API client, and turn both into
//! neutral events and order snapshots.
//!
//! # Layout
//! - [`app`]: [`LazadaMarketplace`], a configured app behind the neutral `MarketplaceApp` interface.
//! - [`region`]: the six country sites ([`LazadaRegion`]): a push's `site`, a country code, an API host.
//! - [`auth`]: the seller authorization link.
//! - [`sign`]: API `sign` parameters and push `Authorization` verification (checked against shared vectors).
//! - [`push`]: a push body parsed into [`LazadaPush`]; [`push::dedupe_key`] for the inbox.
//! - [`model`]: the app ([`LazadaAppConfig`]) and the API's answers ([`LazadaOrder`], [`TokenGrant`], …).
//! - [`client`]: [`LazadaClient`], the signed HTTP calls (OAuth tokens, orders, order lines, updated orders).
//! - [`error`]: [`LazadaError`] and its [`Disposition`] (retry, refresh, reauthorize, fail).
//! - [`normalize`](mod@normalize): pure mapping of a push to neutral events, one per order (not per line).
//! - [`snapshot`](mod@snapshot): an order and its lines as the neutral
//!   [`OrderSnapshot`](shoprelay_core::order::OrderSnapshot), personal fields as the shop's policy allows.
//! - [`status`]: Lazada's order statuses and the neutral stage of each.

pub mod app;
pub mod auth;
pub mod client;
pub mod error;
pub mod model;
pub mod normalize;
pub mod push;
pub mod region;
pub mod sign;
pub mod snapshot;
pub mod status;

pub use app::LazadaMarketplace;
pub use auth::authorize_url;
pub use client::{LazadaClient, ORDERS_PAGE_MAX};
pub use error::{ApiErrorType, Disposition, LazadaError};
pub use model::{
    CountrySeller, LazadaAddress, LazadaAppConfig, LazadaOrder, LazadaOrderItem, OrdersPage, TokenGrant,
    DEFAULT_AUTH_BASE,
};
pub use normalize::normalize;
pub use push::{dedupe_key, LazadaPush, PushBody, PushParseError};
pub use region::LazadaRegion;
pub use sign::{api_sign, push_signature, verify_push};
pub use snapshot::snapshot;
pub use status::{is_status, order_status};

use shoprelay_core::event::Platform;
use shoprelay_core::ids::OrderSn;

use crate::platform::CredentialField;

/// Lazada's name in storage, URLs and rules.
pub const PLATFORM: Platform = Platform::named("lazada");

/// Lazada's name on cards.
pub const DISPLAY_NAME: &str = "Lazada";

/// The key pushes are signed with, as Lazada's console names it.
pub const PUSH_KEY: &str = "App Secret";

/// The app's credentials as the onboarding form asks for them (names as in `[[lazada.apps]]`).
pub const CREDENTIALS: &[CredentialField] = &[
    CredentialField::new("app_key", "App Key", "App Key", false),
    CredentialField::new("app_secret", "App Secret", "App Secret", true),
    CredentialField::API_BASE,
    CredentialField::AUTH_BASE,
];

/// The seller center links point to. Each country has a seller center of its own
/// (`sellercenter.lazada.co.th`, `.com.my`, `.vn`, `.com.ph`, `.co.id`); Singapore's is the default.
pub const SELLER_CENTRE: &str = "https://sellercenter.lazada.sg/";

/// An order's page in the seller center.
pub fn order_url(order_sn: &OrderSn) -> String {
    format!("{SELLER_CENTRE}apps/order/detail?tradeOrderId={order_sn}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_and_order_links() {
        assert_eq!(PLATFORM.as_str(), "lazada");
        let order = OrderSn::parse("260422900198363").unwrap();
        assert_eq!(
            order_url(&order),
            "https://sellercenter.lazada.sg/apps/order/detail?tradeOrderId=260422900198363"
        );
    }
}
