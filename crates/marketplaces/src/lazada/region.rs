//! Lazada's six country sites: the country code a push's `site` names, and the API host serving it.
//!
//! Every seller API call must go to the host of the seller's country; only the token endpoints live on
//! the shared `auth.lazada.com`.

use std::fmt;

/// A Lazada country site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LazadaRegion {
    /// Singapore, `lazada_sg`.
    Sg,
    /// Thailand, `lazada_th`.
    Th,
    /// Malaysia, `lazada_my`.
    My,
    /// Vietnam, `lazada_vn`.
    Vn,
    /// The Philippines, `lazada_ph`.
    Ph,
    /// Indonesia, `lazada_id`.
    Id,
}

impl LazadaRegion {
    /// Every site, in Lazada's usual order.
    pub const ALL: [Self; 6] = [Self::Sg, Self::Th, Self::My, Self::Vn, Self::Ph, Self::Id];

    /// The upper-case country code the rest of shoprelay uses (`SG`, `TH`, …).
    pub fn code(self) -> &'static str {
        match self {
            Self::Sg => "SG",
            Self::Th => "TH",
            Self::My => "MY",
            Self::Vn => "VN",
            Self::Ph => "PH",
            Self::Id => "ID",
        }
    }

    /// The country's currency: Lazada sells in the local currency only.
    pub fn currency(self) -> &'static str {
        match self {
            Self::Sg => "SGD",
            Self::Th => "THB",
            Self::My => "MYR",
            Self::Vn => "VND",
            Self::Ph => "PHP",
            Self::Id => "IDR",
        }
    }

    /// The site's API base, e.g. `https://api.lazada.sg/rest`.
    pub fn api_base(self) -> &'static str {
        match self {
            Self::Sg => "https://api.lazada.sg/rest",
            Self::Th => "https://api.lazada.co.th/rest",
            Self::My => "https://api.lazada.com.my/rest",
            Self::Vn => "https://api.lazada.vn/rest",
            Self::Ph => "https://api.lazada.com.ph/rest",
            Self::Id => "https://api.lazada.co.id/rest",
        }
    }

    /// A country code in either case (`sg`, `SG`), as token answers and configuration spell it.
    pub fn from_code(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code().eq_ignore_ascii_case(raw))
    }

    /// A push's `site`. The documented form is `lazada_sg`, but Lazada's own samples also show
    /// `lazada-sg` and `LAZADA_SG`, so case and separator are ignored.
    pub fn from_site(site: &str) -> Option<Self> {
        let site = site.trim();
        let prefix = site.get(..7)?;
        if !prefix.eq_ignore_ascii_case("lazada_") && !prefix.eq_ignore_ascii_case("lazada-") {
            return None;
        }
        Self::from_code(site.get(7..)?)
    }
}

impl fmt::Display for LazadaRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_name_their_country() {
        let cases = [
            ("lazada_sg", Some(LazadaRegion::Sg)),
            ("lazada_th", Some(LazadaRegion::Th)),
            ("lazada_my", Some(LazadaRegion::My)),
            ("lazada_vn", Some(LazadaRegion::Vn)),
            ("lazada_ph", Some(LazadaRegion::Ph)),
            ("lazada_id", Some(LazadaRegion::Id)),
            ("lazada-sg", Some(LazadaRegion::Sg)),
            ("LAZADA_SG", Some(LazadaRegion::Sg)),
            (" lazada_vn ", Some(LazadaRegion::Vn)),
            ("lazada_ sg", None),
            ("lazada_cn", None),
            ("lazada__sg", None),
            ("lazadasg", None),
            ("shopee_sg", None),
            ("lazada_", None),
            ("", None),
            ("lazada_越南", None),
        ];
        for (site, want) in cases {
            assert_eq!(LazadaRegion::from_site(site), want, "{site:?}");
        }
        assert_eq!(LazadaRegion::from_site("lazada_sg").map(LazadaRegion::code), Some("SG"));
    }

    #[test]
    fn codes_and_hosts() {
        for region in LazadaRegion::ALL {
            assert_eq!(LazadaRegion::from_code(&region.code().to_lowercase()), Some(region));
            assert!(region.api_base().starts_with("https://api.lazada."));
            assert!(region.api_base().ends_with("/rest"));
        }
        assert_eq!(LazadaRegion::Th.api_base(), "https://api.lazada.co.th/rest");
        let currencies: Vec<_> = LazadaRegion::ALL.into_iter().map(LazadaRegion::currency).collect();
        assert_eq!(currencies, ["SGD", "THB", "MYR", "VND", "PHP", "IDR"]);
        assert_eq!(LazadaRegion::Id.to_string(), "ID");
        assert_eq!(LazadaRegion::from_code("cb"), None);
    }
}
