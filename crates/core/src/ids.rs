//! Identifiers parsed once at the edge, so the inside of the pipeline cannot hold an invalid one.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a raw value is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct IdError {
    /// Which identifier was being parsed.
    pub kind: &'static str,
    /// What is wrong with the value.
    pub reason: &'static str,
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses a raw value, rejecting empty, over-long or ill-formed ones.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let allowed: fn(char) -> bool = $allowed;
                if raw.is_empty() {
                    return Err(IdError { kind: $kind, reason: "must not be empty" });
                }
                if raw.len() > $max {
                    return Err(IdError { kind: $kind, reason: concat!("longer than ", stringify!($max), " bytes") });
                }
                if !raw.chars().all(allowed) {
                    return Err(IdError { kind: $kind, reason: "contains a character that is not allowed" });
                }
                Ok(Self(raw.to_owned()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn config_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn order_sn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn chat_char(c: char) -> bool {
    // WeCom accepts an appchat id of letters and digits only (1–32 of them).
    c.is_ascii_alphanumeric()
}

fn wecom_user_char(c: char) -> bool {
    // WeCom userids are 1–64 bytes of letters, digits and `_-@.`.
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@' | '.')
}

string_id!(
    /// The operator-chosen id of a configured object (a marketplace app, a WeCom app, a robot, a route).
    ConfigId, "config id", 64, config_char
);
string_id!(
    /// A marketplace order number (e.g. `220810QSK8S7BX`).
    OrderSn, "order_sn", 64, order_sn_char
);
string_id!(
    /// A WeCom member's userid.
    WeComUserId, "WeCom userid", 64, wecom_user_char
);
string_id!(
    /// The id of an app group chat (appchat) a WeCom app created.
    ChatId, "chatid", 32, chat_char
);

impl ConfigId {
    /// The id of events shoprelay raises about itself (a destination failing), which belong to no app.
    pub fn internal() -> Self {
        Self("shoprelay".to_owned())
    }
}

/// A marketplace shop or seller id: a positive 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ShopId(u64);

impl ShopId {
    /// Accepts any positive id.
    pub fn new(raw: u64) -> Result<Self, IdError> {
        // Stored as a signed 64-bit integer; marketplaces' ids are far below that.
        if raw > i64::MAX as u64 {
            return Err(IdError {
                kind: "shop_id",
                reason: "is larger than 9223372036854775807",
            });
        }
        if raw == 0 {
            return Err(IdError {
                kind: "shop_id",
                reason: "must be positive",
            });
        }
        Ok(Self(raw))
    }

    /// The numeric id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ShopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for ShopId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let raw = s.parse::<u64>().map_err(|_| IdError {
            kind: "shop_id",
            reason: "must be a positive integer",
        })?;
        Self::new(raw)
    }
}

impl<'de> Deserialize<'de> for ShopId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A WeCom department id (positive integer).
pub type DepartmentId = u32;
/// A WeCom tag id (positive integer).
pub type TagId = u32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_sn_rejects_bad_input() {
        assert!(OrderSn::parse("220810QSK8S7BX").is_ok());
        assert!(OrderSn::parse("").is_err());
        assert!(OrderSn::parse("a b").is_err());
        assert!(OrderSn::parse(&"A".repeat(65)).is_err());
        assert!(OrderSn::parse("订单").is_err());
    }

    #[test]
    fn shop_id_must_be_positive() {
        assert!(ShopId::new(0).is_err());
        assert_eq!("727720655".parse::<ShopId>().map(ShopId::get), Ok(727720655));
        assert!("-1".parse::<ShopId>().is_err());
        assert!(serde_json::from_str::<ShopId>("0").is_err());
        assert!(
            ShopId::new(u64::MAX).is_err(),
            "must fit the database's signed 64-bit column"
        );
    }

    #[test]
    fn config_ids_deserialize_through_parse() {
        assert!(serde_json::from_str::<ConfigId>("\"app-1\"").is_ok());
        assert!(serde_json::from_str::<ConfigId>("\"app 1\"").is_err());
        assert!(WeComUserId::parse("zhang.san@corp").is_ok());
        assert!(WeComUserId::parse("张三").is_err());
    }

    #[test]
    fn chat_ids_are_letters_and_digits() {
        assert!(ChatId::parse("orders01").is_ok());
        assert!(ChatId::parse(&"a".repeat(32)).is_ok());
        assert!(ChatId::parse(&"a".repeat(33)).is_err());
        assert!(ChatId::parse("").is_err());
        assert!(ChatId::parse("bad-id").is_err());
        assert!(ChatId::parse("a:b").is_err());
    }
}
