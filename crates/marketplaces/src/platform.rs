//! What the middle may say about a marketplace without knowing it: which platforms exist, their names as
//! sellers read them, where their seller centres show an order, and their own order-status words (for
//! checking rules). Each platform's facts live with its adapter; this is the one place the middle asks.

use shoprelay_core::event::Platform;
use shoprelay_core::ids::OrderSn;
use shoprelay_core::order::OrderStage;
use shoprelay_core::rules::Vocabulary;

use crate::{lazada, shopee, tiktok};

/// The facts the middle needs of one marketplace.
struct Facts {
    platform: Platform,
    display_name: &'static str,
    push_key: &'static str,
    seller_centre: &'static str,
    order_url: fn(&OrderSn) -> String,
    is_status: fn(&str) -> bool,
    statuses: &'static [(&'static str, OrderStage)],
    credentials: &'static [CredentialField],
}

/// A credential of a marketplace app as a seller enters it: its configuration name, its label in Chinese
/// and in English (the platforms' own names for their credentials stay as their consoles show them), and
/// whether it is a secret (never shown back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialField {
    /// The field's name in the app's configuration.
    pub name: &'static str,
    /// Its label on Chinese pages.
    pub label_zh: &'static str,
    /// Its label on English pages.
    pub label_en: &'static str,
    /// Whether it is a secret.
    pub secret: bool,
}

impl CredentialField {
    /// The optional API base every app takes (a proxy, a simulator).
    pub const API_BASE: Self = Self::new("api_base", "API 地址", "API base", false);
    /// The optional authorization base every app takes.
    pub const AUTH_BASE: Self = Self::new("auth_base", "授权地址", "Auth base", false);

    /// A field.
    pub const fn new(name: &'static str, label_zh: &'static str, label_en: &'static str, secret: bool) -> Self {
        Self {
            name,
            label_zh,
            label_en,
            secret,
        }
    }
}

/// Every marketplace shoprelay connects to.
const PLATFORMS: [Facts; 3] = [
    Facts {
        platform: shopee::PLATFORM,
        display_name: shopee::DISPLAY_NAME,
        push_key: shopee::PUSH_KEY,
        seller_centre: shopee::SELLER_CENTRE,
        order_url: shopee::order_url,
        is_status: shopee::status::is_status,
        statuses: &shopee::status::STATUSES,
        credentials: shopee::CREDENTIALS,
    },
    Facts {
        platform: lazada::PLATFORM,
        display_name: lazada::DISPLAY_NAME,
        push_key: lazada::PUSH_KEY,
        seller_centre: lazada::SELLER_CENTRE,
        order_url: lazada::order_url,
        is_status: lazada::is_status,
        statuses: &lazada::status::STATUSES,
        credentials: lazada::CREDENTIALS,
    },
    Facts {
        platform: tiktok::PLATFORM,
        display_name: tiktok::DISPLAY_NAME,
        push_key: tiktok::PUSH_KEY,
        seller_centre: tiktok::SELLER_CENTRE,
        order_url: tiktok::order_url,
        is_status: tiktok::is_status,
        statuses: &tiktok::status::STATUSES,
        credentials: tiktok::CREDENTIALS,
    },
];

fn facts(platform: Platform) -> Option<&'static Facts> {
    PLATFORMS.iter().find(|f| f.platform == platform)
}

/// Every marketplace shoprelay connects to.
pub fn all() -> impl Iterator<Item = Platform> {
    PLATFORMS.iter().map(|f| f.platform)
}

/// The marketplace's name on cards and digests (events shoprelay raises itself say "shoprelay").
pub fn display_name(platform: Platform) -> &'static str {
    facts(platform).map_or("shoprelay", |f| f.display_name)
}

/// What the platform's console calls the key its pushes are signed with.
pub fn push_key_name(platform: Platform) -> Option<&'static str> {
    facts(platform).map(|f| f.push_key)
}

/// The push key named as a seller finds it: the platform's name, then its console's name for the key
/// ("Shopee: Live Push Partner Key"), for the fixes that tell a seller which key to check.
pub fn push_key_label(platform: Platform) -> String {
    let name = display_name(platform);
    push_key_name(platform).map_or_else(|| name.to_owned(), |key| format!("{name}: {key}"))
}

/// The credentials a seller enters to connect an app of the platform (none for shoprelay's own events).
pub fn credential_fields(platform: Platform) -> &'static [CredentialField] {
    facts(platform).map_or(&[], |f| f.credentials)
}

/// The seller-centre page of an order, when the platform has one. An [`OrderSn`] is letters, digits,
/// `-` and `_` only, so the address cannot be steered elsewhere.
pub fn order_url(platform: Platform, order_sn: &OrderSn) -> Option<String> {
    facts(platform).map(|f| (f.order_url)(order_sn))
}

/// The seller centre's front page, for messages about no particular order.
pub fn seller_centre_url(platform: Platform) -> Option<&'static str> {
    facts(platform).map(|f| f.seller_centre)
}

/// Every platform's own status words that are one of these stages, as the platforms spell them (stored
/// order states keep the platform's word; this finds them by stage).
pub fn status_words(stages: &[OrderStage]) -> Vec<&'static str> {
    PLATFORMS
        .iter()
        .flat_map(|f| f.statuses.iter())
        .filter(|(_, stage)| stages.contains(stage))
        .map(|(word, _)| *word)
        .collect()
}

/// The marketplaces' names, for checking the platforms and statuses a rule names.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marketplaces;

impl Vocabulary for Marketplaces {
    fn knows_platform(&self, platform: Platform) -> bool {
        facts(platform).is_some()
    }

    fn knows_status(&self, name: &str) -> bool {
        PLATFORMS.iter().any(|f| (f.is_status)(name))
    }
}

/// An integer field at the top of a JSON body that otherwise could not be read (a push's type), if present.
pub(crate) fn json_int_field(raw: &[u8], field: &str) -> Option<i64> {
    serde_json::from_slice::<serde_json::Value>(raw)
        .ok()?
        .get(field)?
        .as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_knows_each_platform_and_its_statuses() {
        assert!(Marketplaces.knows_platform(shopee::PLATFORM));
        assert!(!Marketplaces.knows_platform(Platform::INTERNAL));
        assert!(Marketplaces.knows_status("READY_TO_SHIP"));
        assert!(!Marketplaces.knows_status("READY_TO_SHIPP"));
        assert!(Marketplaces.knows_platform(lazada::PLATFORM));
        assert!(Marketplaces.knows_status("ready_to_ship") && Marketplaces.knows_status("packed"));
        assert_eq!(display_name(Platform::INTERNAL), "shoprelay");
        assert!(Marketplaces.knows_platform(tiktok::PLATFORM));
        assert!(Marketplaces.knows_status("AWAITING_COLLECTION") && Marketplaces.knows_status("in_transit"));
        assert_eq!(display_name(tiktok::PLATFORM), "TikTok Shop");
        assert_eq!(push_key_name(shopee::PLATFORM), Some("Live Push Partner Key"));
        assert_eq!(push_key_name(Platform::INTERNAL), None);
        assert_eq!(push_key_label(shopee::PLATFORM), "Shopee: Live Push Partner Key");
        assert_eq!(push_key_label(Platform::INTERNAL), "shoprelay");
        assert!(all().any(|p| p.as_str() == "tiktok"));
    }

    #[test]
    fn status_words_are_found_by_stage_in_every_platform() {
        let shipped = status_words(&[OrderStage::Shipped]);
        assert!(shipped.contains(&"SHIPPED") && shipped.contains(&"shipped"));
        assert!(!shipped.contains(&"READY_TO_SHIP"));
        let to_ship = status_words(&[OrderStage::ToShip, OrderStage::Arranged]);
        assert!(to_ship.contains(&"PROCESSED") && to_ship.contains(&"packed"));
        assert!(to_ship.contains(&"AWAITING_SHIPMENT") && to_ship.contains(&"AWAITING_COLLECTION"));
        assert!(shipped.contains(&"IN_TRANSIT"));
    }

    #[test]
    fn an_unreadable_push_still_tells_its_type_where_the_body_names_one() {
        assert_eq!(json_int_field(br#"{"type":11,"data":"?"}"#, "type"), Some(11));
        assert_eq!(json_int_field(br#"{"code":"3"}"#, "code"), None);
        assert_eq!(json_int_field(b"not json", "code"), None);
    }
}
