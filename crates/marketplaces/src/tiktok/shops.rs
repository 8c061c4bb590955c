//! What TikTok tells about a shop only through `/authorization/202309/shops`, kept so that calls about
//! the shop need not ask again: its `shop_cipher` above all (every shop call must carry it), its name,
//! market, code and seller type.
//!
//! The adapter hands it to the middle as the shop's profile at authorization and on every refresh (the
//! cipher in the adapter's data), and the middle hands it back with every call. A cipher learnt or
//! refused while running sits in memory beside it ([`Ciphers`]): learnt wins over the stored one, and a
//! stored one that TikTok refused is not used again until a refresh brings a new profile.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use shoprelay_core::ids::ShopId;
use shoprelay_core::shop::ShopProfile;

use super::error::TiktokError;
use super::model::AuthorizedShop;
use crate::adapter::ShopAccess;

/// The adapter's own data in a TikTok shop's profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopData {
    /// The `shop_cipher` every call about the shop carries.
    pub cipher: Option<String>,
    /// The shop's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `CROSS_BORDER` or `LOCAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_type: Option<String>,
}

impl ShopData {
    /// The data in what the middle handed back; empty when it kept none, or none this adapter wrote.
    pub fn of(access: &ShopAccess) -> Self {
        serde_json::from_value(access.adapter_data().clone()).unwrap_or_default()
    }
}

/// One listed shop as its id and the profile to keep. A shop whose id is not one the middle can hold
/// fails the whole answer: silently leaving it out would leave the seller wondering.
pub fn profile(shop: &AuthorizedShop) -> Result<(ShopId, ShopProfile), TiktokError> {
    let raw = shop.id.as_deref().unwrap_or_default().trim();
    let id = raw.parse::<ShopId>().map_err(|e| TiktokError::InvalidField {
        field: "shops.id",
        detail: format!("`{raw}`: {e}"),
    })?;
    let data = ShopData {
        cipher: shop.cipher.clone().filter(|c| !c.trim().is_empty()),
        code: shop.code.clone(),
        seller_type: shop.seller_type.clone(),
    };
    let profile = ShopProfile {
        name: shop.name.clone(),
        region: shop.region.clone(),
        // Plain strings and options: writing them as JSON cannot fail.
        adapter_data: serde_json::to_value(data).unwrap_or_default(),
    };
    Ok((id, profile))
}

/// The ciphers learnt (from a listing) and refused (by TikTok) while running, per shop.
#[derive(Debug, Default)]
pub struct Ciphers {
    inner: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    learnt: HashMap<ShopId, String>,
    refused: HashMap<ShopId, String>,
}

impl Ciphers {
    fn known(&self) -> MutexGuard<'_, Known> {
        // Only whole entries are ever written, so a poisoned map is still a valid one.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cipher to call with: one learnt while running, else the stored one unless TikTok refused it.
    pub fn get(&self, shop: ShopId, access: &ShopAccess) -> Option<String> {
        let known = self.known();
        if let Some(cipher) = known.learnt.get(&shop) {
            return Some(cipher.clone());
        }
        ShopData::of(access)
            .cipher
            .filter(|stored| known.refused.get(&shop) != Some(stored))
    }

    /// Remembers the ciphers of a listing.
    pub fn learn<'a>(&self, listed: impl IntoIterator<Item = (ShopId, &'a ShopProfile)>) {
        let mut known = self.known();
        for (shop, profile) in listed {
            let data: ShopData = serde_json::from_value(profile.adapter_data.clone()).unwrap_or_default();
            if let Some(cipher) = data.cipher {
                known.refused.remove(&shop);
                known.learnt.insert(shop, cipher);
            }
        }
    }

    /// TikTok refused a call made with `cipher` (it went stale when the shop re-authorized): it is not
    /// used again, so the next call asks for the shop's cipher anew.
    pub fn refuse(&self, shop: ShopId, cipher: &str) {
        let mut known = self.known();
        if known.learnt.get(&shop).is_some_and(|c| c == cipher) {
            known.learnt.remove(&shop);
        }
        known.refused.insert(shop, cipher.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_core::secret::Secret;

    fn listed(id: &str, cipher: &str) -> AuthorizedShop {
        AuthorizedShop {
            id: Some(id.into()),
            name: Some("Ana's Store".into()),
            region: Some("GB".into()),
            seller_type: Some("LOCAL".into()),
            cipher: Some(cipher.into()),
            code: Some("GBLCXXXX".into()),
        }
    }

    fn access(profile: Option<ShopProfile>) -> ShopAccess {
        ShopAccess {
            token: Secret::new("t"),
            profile,
        }
    }

    #[test]
    fn a_listed_shop_becomes_a_profile_whose_data_carries_its_cipher() {
        let (id, profile) = profile(&listed("7494049642642441621", "ROW_a")).unwrap();
        assert_eq!(id.get(), 7_494_049_642_642_441_621);
        assert_eq!(profile.name.as_deref(), Some("Ana's Store"));
        assert_eq!(profile.region.as_deref(), Some("GB"));
        let data = ShopData::of(&access(Some(profile)));
        assert_eq!(data.cipher.as_deref(), Some("ROW_a"));
        assert_eq!(data.seller_type.as_deref(), Some("LOCAL"));
        assert!(super::profile(&listed("not a number", "ROW_a")).is_err());
    }

    #[test]
    fn a_stored_cipher_is_used_until_refused_and_a_learnt_one_wins() {
        let shop = ShopId::new(7).unwrap();
        let (_, stored) = profile(&listed("7", "ROW_stored")).unwrap();
        let access = access(Some(stored));
        let ciphers = Ciphers::default();
        assert_eq!(ciphers.get(shop, &access).as_deref(), Some("ROW_stored"));
        ciphers.refuse(shop, "ROW_stored");
        assert_eq!(ciphers.get(shop, &access), None, "refused: ask TikTok again");
        let (_, fresh) = profile(&listed("7", "ROW_fresh")).unwrap();
        ciphers.learn([(shop, &fresh)]);
        assert_eq!(ciphers.get(shop, &access).as_deref(), Some("ROW_fresh"));
        // Nothing stored, nothing learnt: nothing to call with.
        assert_eq!(Ciphers::default().get(shop, &super::tests::access(None)), None);
    }
}
