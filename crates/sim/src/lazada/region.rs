//! Lazada's six countries: each has a site (`lazada_sg`, named in pushes), a regional API host, and a local
//! UTC offset that order times are written in.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Lazada country, by its lower-case code (`sg`, `my`, `th`, `vn`, `ph`, `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// Singapore, `api.lazada.sg`.
    Sg,
    /// Malaysia, `api.lazada.com.my`.
    My,
    /// Thailand, `api.lazada.co.th`.
    Th,
    /// Vietnam, `api.lazada.vn`.
    Vn,
    /// The Philippines, `api.lazada.com.ph`.
    Ph,
    /// Indonesia, `api.lazada.co.id`.
    Id,
}

impl Region {
    /// Every country Lazada runs in.
    pub const ALL: [Region; 6] = [Self::Sg, Self::My, Self::Th, Self::Vn, Self::Ph, Self::Id];

    /// The code Lazada uses in `country` fields, e.g. `sg`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Sg => "sg",
            Self::My => "my",
            Self::Th => "th",
            Self::Vn => "vn",
            Self::Ph => "ph",
            Self::Id => "id",
        }
    }

    /// The country of a code, in any case.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code().eq_ignore_ascii_case(code))
    }

    /// The `site` a push names, e.g. `lazada_sg`.
    pub fn site(self) -> String {
        format!("lazada_{}", self.code())
    }

    /// Seconds east of UTC that the country's order times are written in (`+0800`, `+0700`).
    pub fn utc_offset_secs(self) -> i32 {
        match self {
            Self::Sg | Self::My | Self::Ph => 8 * 3600,
            Self::Th | Self::Vn | Self::Id => 7 * 3600,
        }
    }

    /// The country's currency, as order items carry it.
    pub fn currency(self) -> &'static str {
        match self {
            Self::Sg => "SGD",
            Self::My => "MYR",
            Self::Th => "THB",
            Self::Vn => "VND",
            Self::Ph => "PHP",
            Self::Id => "IDR",
        }
    }

    /// The country's name, as shipping addresses spell it.
    pub fn country_name(self) -> &'static str {
        match self {
            Self::Sg => "Singapore",
            Self::My => "Malaysia",
            Self::Th => "Thailand",
            Self::Vn => "Vietnam",
            Self::Ph => "Philippines",
            Self::Id => "Indonesia",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_sites_and_offsets() {
        assert_eq!(Region::parse("SG"), Some(Region::Sg));
        assert_eq!(Region::parse("xx"), None);
        assert_eq!(Region::Vn.site(), "lazada_vn");
        assert_eq!(Region::Id.utc_offset_secs(), 7 * 3600);
        assert_eq!(serde_json::to_string(&Region::Th).unwrap(), "\"th\"");
    }
}
