//! What the middle may say about a marketplace without knowing it: its name as sellers read it, and where
//! its seller centre shows an order. Each platform's facts live with its adapter; this is the one place
//! the middle asks.

use shoprelay_core::event::Platform;
use shoprelay_core::ids::OrderSn;

use crate::shopee;

/// The marketplace's name on cards and digests.
pub fn display_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Shopee => shopee::DISPLAY_NAME,
    }
}

/// The seller-centre page of an order. An [`OrderSn`] is letters, digits, `-` and `_` only, so the
/// address cannot be steered elsewhere.
pub fn order_url(platform: Platform, order_sn: &OrderSn) -> String {
    match platform {
        Platform::Shopee => shopee::order_url(order_sn),
    }
}

/// The seller centre's front page, for messages about no particular order.
pub fn seller_centre_url(platform: Platform) -> &'static str {
    match platform {
        Platform::Shopee => shopee::SELLER_CENTRE,
    }
}
