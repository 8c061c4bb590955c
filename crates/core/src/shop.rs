//! What a marketplace tells about a shop when the seller authorizes it, kept beside the shop's tokens.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A shop as its marketplace described it at authorization. The middle may show `name` and `region`;
/// `adapter_data` belongs to the shop's marketplace adapter alone (what its API calls need about the shop
/// and only authorization tells), stored and handed back exactly as the adapter gave it, never read by
/// the middle. It is stored unsealed: an adapter keeps no secret in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopProfile {
    /// The shop's name at the marketplace.
    pub name: Option<String>,
    /// The shop's market or country code (`GB`, `SG`, …), as the marketplace writes it.
    pub region: Option<String>,
    /// The adapter's own data about the shop (`null` when it keeps none).
    pub adapter_data: Value,
}

impl ShopProfile {
    /// Whether the profile says nothing at all.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.region.is_none() && self.adapter_data.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_profile_without_any_field_is_empty() {
        assert!(ShopProfile::default().is_empty());
        let named = ShopProfile {
            name: Some("Ana's Store".into()),
            ..ShopProfile::default()
        };
        assert!(!named.is_empty());
        let data = ShopProfile {
            adapter_data: serde_json::json!({"k": 1}),
            ..ShopProfile::default()
        };
        assert!(!data.is_empty());
    }
}
