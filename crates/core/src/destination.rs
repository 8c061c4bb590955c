//! Where a delivery goes, as far as budgets, breakers and leases are concerned: one WeCom app, one
//! group robot, one app group chat or one webhook.
//!
//! Stored, logged and shown as a key (`wecom_app:hq`, `robot:r1`, `appchat:hq:CHATID`, `webhook:wms`);
//! [`Destination::parse`] reads exactly what [`std::fmt::Display`] writes, so keys stored by earlier
//! versions read back unchanged.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::{ChatId, ConfigId, IdError};

/// A delivery's destination: what its budget, breaker and lease belong to.
///
/// Variants are declared in the order of their keys' prefixes, so sorting destinations mostly agrees with
/// sorting their keys (nothing relies on more than grouping equal ones).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// An app group chat of a WeCom app (`appchat:APP:CHATID`): each chat has a budget of its own.
    Appchat {
        /// The WeCom app that owns the chat.
        app: ConfigId,
        /// The chat.
        chat: ChatId,
    },
    /// A group robot (`robot:ID`).
    Robot(ConfigId),
    /// The seller's own system (`webhook:ID`).
    Webhook(ConfigId),
    /// A WeCom self-built app messaging members (`wecom_app:ID`).
    WecomApp(ConfigId),
}

/// Why a key is not a destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// The key does not start with a known kind.
    #[error("destination `{0}`: expected `wecom_app:ID`, `robot:ID`, `appchat:APP:CHATID` or `webhook:ID`")]
    UnknownKind(String),
    /// An appchat key without its chat id.
    #[error("destination `{0}`: an app group chat is `appchat:APP:CHATID`")]
    MissingChat(String),
    /// A kind is known but an id in the key is not valid. The reason is part of the message (not a
    /// source) because the command line and the API show only the message.
    #[error("destination `{key}`: {reason}")]
    Id {
        /// The key as given.
        key: String,
        /// Why its id was refused.
        reason: IdError,
    },
}

impl Destination {
    /// Parses a key as [`std::fmt::Display`] writes it.
    pub fn parse(key: &str) -> Result<Self, DestinationError> {
        let id = |raw: &str| {
            ConfigId::parse(raw).map_err(|reason| DestinationError::Id {
                key: key.to_owned(),
                reason,
            })
        };
        let Some((kind, rest)) = key.split_once(':') else {
            return Err(DestinationError::UnknownKind(key.to_owned()));
        };
        match kind {
            "wecom_app" => Ok(Self::WecomApp(id(rest)?)),
            "robot" => Ok(Self::Robot(id(rest)?)),
            "webhook" => Ok(Self::Webhook(id(rest)?)),
            "appchat" => {
                // Neither a config id nor a chat id holds `:`, so the first one splits them.
                let (app, chat) = rest
                    .split_once(':')
                    .ok_or_else(|| DestinationError::MissingChat(key.to_owned()))?;
                let chat = ChatId::parse(chat).map_err(|reason| DestinationError::Id {
                    key: key.to_owned(),
                    reason,
                })?;
                Ok(Self::Appchat { app: id(app)?, chat })
            }
            _ => Err(DestinationError::UnknownKind(key.to_owned())),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WecomApp(app) => write!(f, "wecom_app:{app}"),
            Self::Robot(robot) => write!(f, "robot:{robot}"),
            Self::Appchat { app, chat } => write!(f, "appchat:{app}:{chat}"),
            Self::Webhook(hook) => write!(f, "webhook:{hook}"),
        }
    }
}

impl std::str::FromStr for Destination {
    type Err = DestinationError;
    fn from_str(s: &str) -> Result<Self, DestinationError> {
        Self::parse(s)
    }
}

impl Serialize for Destination {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Destination {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn config(raw: &str) -> ConfigId {
        ConfigId::parse(raw).unwrap()
    }

    #[test]
    fn every_kind_round_trips_through_its_key() {
        let cases = [
            (Destination::WecomApp(config("hq")), "wecom_app:hq"),
            (Destination::Robot(config("r1")), "robot:r1"),
            (
                Destination::Appchat {
                    app: config("hq"),
                    chat: ChatId::parse("CHATID01").unwrap(),
                },
                "appchat:hq:CHATID01",
            ),
            (Destination::Webhook(config("wms")), "webhook:wms"),
        ];
        for (destination, key) in cases {
            assert_eq!(destination.to_string(), key);
            assert_eq!(Destination::parse(key), Ok(destination.clone()));
            let json = serde_json::to_string(&destination).unwrap();
            assert_eq!(json, format!("\"{key}\""));
            assert_eq!(serde_json::from_str::<Destination>(&json).unwrap(), destination);
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        for key in ["", "hq", "wecom_app", "wecom_app:", "robot:", "webhook:"] {
            assert!(Destination::parse(key).is_err(), "{key:?}");
        }
        assert!(matches!(
            Destination::parse("mail:ops"),
            Err(DestinationError::UnknownKind(_))
        ));
        assert!(matches!(
            Destination::parse("Robot:r1"),
            Err(DestinationError::UnknownKind(_))
        ));
        assert!(matches!(
            Destination::parse("appchat:hq"),
            Err(DestinationError::MissingChat(_))
        ));
        assert!(matches!(
            Destination::parse("robot:r 1"),
            Err(DestinationError::Id { .. })
        ));
        assert!(matches!(
            Destination::parse("robot:r1:x"),
            Err(DestinationError::Id { .. })
        ));
        assert!(matches!(
            Destination::parse("appchat::chat1"),
            Err(DestinationError::Id { .. })
        ));
        assert!(matches!(
            Destination::parse("appchat:hq:"),
            Err(DestinationError::Id { .. })
        ));
        assert!(matches!(
            Destination::parse("appchat:hq:bad-id"),
            Err(DestinationError::Id { .. })
        ));
        assert!(matches!(
            Destination::parse("appchat:hq:a:b"),
            Err(DestinationError::Id { .. })
        ));
        assert!(Destination::parse(&format!("appchat:hq:{}", "a".repeat(33))).is_err());
        let refused = serde_json::from_str::<Destination>("\"robot:\"")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("must not be empty"), "the reason is shown: {refused}");
    }

    fn destinations() -> impl Strategy<Value = Destination> {
        let id = "[A-Za-z0-9_-]{1,64}".prop_map(|s| config(&s));
        let chat = "[A-Za-z0-9]{1,32}".prop_map(|s| ChatId::parse(&s).unwrap());
        prop_oneof![
            id.clone().prop_map(Destination::WecomApp),
            id.clone().prop_map(Destination::Robot),
            id.clone().prop_map(Destination::Webhook),
            (id, chat).prop_map(|(app, chat)| Destination::Appchat { app, chat }),
        ]
    }

    proptest! {
        #[test]
        fn any_destination_reads_back_as_itself(destination in destinations()) {
            prop_assert_eq!(Destination::parse(&destination.to_string()), Ok(destination));
        }

        #[test]
        fn any_key_that_parses_is_written_back_unchanged(key in "[a-z_]{0,10}:[A-Za-z0-9_:-]{0,12}") {
            if let Ok(destination) = Destination::parse(&key) {
                prop_assert_eq!(destination.to_string(), key);
            }
        }
    }
}
