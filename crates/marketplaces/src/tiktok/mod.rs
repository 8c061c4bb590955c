//! TikTok Shop Partner API (version 202309): verify a push, parse it, read orders through the API client,
//! and turn both into neutral events and order snapshots.
//!
//! # Layout
//! - [`app`]: [`TiktokMarketplace`], a configured app behind the neutral `MarketplaceApp` interface.
//! - [`sign`]: API `sign` parameters and push `Authorization` verification (checked against shared vectors).
//! - [`push`]: a push body parsed into [`TiktokPush`]; [`push::dedupe_key`] for the inbox.
//! - [`model`]: the app ([`TiktokAppConfig`]) and the API's answers ([`TiktokOrder`], [`TokenGrant`], …).
//! - [`client`]: [`TiktokClient`], the signed HTTP calls (tokens, authorized shops, orders, the order
//!   search that finds orders updated since the last reconciliation pass).
//! - [`shops`]: what only the authorized-shops listing tells about a shop (its `shop_cipher`), kept in
//!   the shop's profile, and the ciphers learnt or refused while running.
//! - [`error`]: [`TiktokError`] and its [`Disposition`](crate::adapter::Disposition).
//! - [`normalize`](mod@normalize): pure mapping of a push to neutral events.
//! - [`snapshot`](mod@snapshot): an order as the neutral
//!   [`OrderSnapshot`](shoprelay_core::order::OrderSnapshot), personal fields as the shop's policy allows.
//! - [`status`]: TikTok Shop's order and cancellation statuses and the neutral stage of each.

pub mod app;
pub mod client;
pub mod error;
pub mod model;
pub mod normalize;
pub mod push;
pub mod shops;
pub mod sign;
pub mod snapshot;
pub mod status;

pub use app::TiktokMarketplace;
pub use client::TiktokClient;
pub use error::TiktokError;
pub use model::{AuthorizedShop, OrderSearchPage, TiktokAppConfig, TiktokOrder, TokenGrant};
pub use normalize::normalize;
pub use push::{dedupe_key, PushBody, PushParseError, TiktokPush};
pub use sign::{api_sign, push_signature, verify_push};
pub use snapshot::snapshot;
pub use status::{is_status, order_status};

use shoprelay_core::event::Platform;
use shoprelay_core::ids::OrderSn;

use crate::platform::CredentialField;

/// TikTok Shop's name in storage, URLs and rules.
pub const PLATFORM: Platform = Platform::named("tiktok");

/// TikTok Shop's name on cards.
pub const DISPLAY_NAME: &str = "TikTok Shop";

/// The key pushes are signed with, as TikTok Shop's console names it.
pub const PUSH_KEY: &str = "App Secret";

/// The app's credentials as the onboarding form asks for them (names as in `[[tiktok.apps]]`).
pub const CREDENTIALS: &[CredentialField] = &[
    CredentialField::new("app_key", "App Key", "App Key", false),
    CredentialField::new("app_secret", "App Secret", "App Secret", true),
    CredentialField::new("service_id", "Service ID", "Service ID", false),
    CredentialField::API_BASE,
    CredentialField::AUTH_BASE,
];

/// The seller center links point to (the global one; sellers of a local market are sent on from it).
pub const SELLER_CENTRE: &str = "https://seller.tiktokglobalshop.com/";

/// An order's page in the seller center.
pub fn order_url(order_sn: &OrderSn) -> String {
    format!("{SELLER_CENTRE}order/detail?order_no={order_sn}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_and_order_links() {
        assert_eq!(PLATFORM.as_str(), "tiktok");
        let order = OrderSn::parse("576461413038785752").unwrap();
        assert_eq!(
            order_url(&order),
            "https://seller.tiktokglobalshop.com/order/detail?order_no=576461413038785752"
        );
    }
}
