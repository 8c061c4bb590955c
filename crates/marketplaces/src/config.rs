//! The marketplace part of `shoprelay.toml`: one section per platform (`[shopee]`, `[lazada]`, `[tiktok]`), each with
//! its apps (fields of the platform's own) and the shops connected through them. The engine reads the
//! sections through [`Sections`] and [`AppConfig`], so a new platform adds a field here and nothing there.

use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};
use shoprelay_clock::SharedClock;
use shoprelay_core::event::Platform;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::secret::Secret;

use crate::adapter::MarketplaceApp;
use crate::lazada::LazadaAppConfig;
use crate::shopee::ShopeeAppConfig;
use crate::tiktok::TiktokAppConfig;

/// A problem with one field of an app: the field's name and what is wrong.
pub type FieldProblem = (&'static str, String);

/// A configured marketplace app, whatever its platform.
pub trait AppConfig: Send + Sync + std::fmt::Debug {
    /// The operator-chosen id.
    fn id(&self) -> &ConfigId;
    /// Which marketplace.
    fn platform(&self) -> Platform;
    /// What serde cannot check: URLs, empty keys.
    fn problems(&self) -> Vec<FieldProblem>;
    /// The stored form (secrets in the clear: the store seals them).
    fn to_value(&self) -> Result<serde_json::Value, serde_json::Error>;
    /// The app as the middle talks to it.
    fn connect(&self, http: &reqwest::Client, clock: SharedClock) -> Arc<dyn MarketplaceApp>;
    /// For the platform-specific features not behind [`MarketplaceApp`] yet.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// One platform's section: its apps and shops.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section<A> {
    /// The apps.
    #[serde(default = "Vec::new")]
    pub apps: Vec<A>,
    /// The shops (sellers) connected through them.
    #[serde(default)]
    pub shops: Vec<ShopConfig>,
}

impl<A> Default for Section<A> {
    fn default() -> Self {
        Self {
            apps: Vec::new(),
            shops: Vec::new(),
        }
    }
}

/// Every platform's section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Sections {
    /// `[shopee]`.
    #[serde(default)]
    pub shopee: Section<ShopeeAppConfig>,
    /// `[lazada]`.
    #[serde(default)]
    pub lazada: Section<LazadaAppConfig>,
    /// `[tiktok]`.
    #[serde(default)]
    pub tiktok: Section<TiktokAppConfig>,
}

impl Sections {
    /// The top-level keys the sections take.
    pub const NAMES: [&'static str; 3] = ["shopee", "lazada", "tiktok"];

    /// Every app with its section name and index in it.
    pub fn apps(&self) -> Vec<(&'static str, usize, &dyn AppConfig)> {
        let shopee = self
            .shopee
            .apps
            .iter()
            .enumerate()
            .map(|(i, a)| ("shopee", i, a as &dyn AppConfig));
        let lazada = self
            .lazada
            .apps
            .iter()
            .enumerate()
            .map(|(i, a)| ("lazada", i, a as &dyn AppConfig));
        let tiktok = self
            .tiktok
            .apps
            .iter()
            .enumerate()
            .map(|(i, a)| ("tiktok", i, a as &dyn AppConfig));
        shopee.chain(lazada).chain(tiktok).collect()
    }

    /// Every app, owned.
    pub fn app_configs(&self) -> Vec<Arc<dyn AppConfig>> {
        let shopee = self
            .shopee
            .apps
            .iter()
            .map(|a| Arc::new(a.clone()) as Arc<dyn AppConfig>);
        let lazada = self
            .lazada
            .apps
            .iter()
            .map(|a| Arc::new(a.clone()) as Arc<dyn AppConfig>);
        let tiktok = self
            .tiktok
            .apps
            .iter()
            .map(|a| Arc::new(a.clone()) as Arc<dyn AppConfig>);
        shopee.chain(lazada).chain(tiktok).collect()
    }

    /// Every shop with its section name and index in it.
    pub fn shops(&self) -> Vec<(&'static str, usize, &ShopConfig)> {
        let shopee = self.shopee.shops.iter().enumerate().map(|(i, s)| ("shopee", i, s));
        let lazada = self.lazada.shops.iter().enumerate().map(|(i, s)| ("lazada", i, s));
        let tiktok = self.tiktok.shops.iter().enumerate().map(|(i, s)| ("tiktok", i, s));
        shopee.chain(lazada).chain(tiktok).collect()
    }

    /// An app from the console's form: `kind` as for [`Sections::open_app`], `fields` by name as typed
    /// (blank ones left out). A field the platform keeps as a number is read as one when it is one.
    pub fn form_app(kind: &str, fields: &[(&str, &str)]) -> Option<Result<Arc<dyn AppConfig>, serde_json::Error>> {
        let numbers: &[&str] = match kind {
            "shopee_app" => ShopeeAppConfig::NUMBER_FIELDS,
            _ => &[],
        };
        let mut value = serde_json::Map::new();
        for (name, text) in fields {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let v = match text.parse::<u64>() {
                Ok(n) if numbers.contains(name) => serde_json::Value::from(n),
                _ => serde_json::Value::from(text),
            };
            value.insert((*name).to_owned(), v);
        }
        Self::open_app(kind, serde_json::Value::Object(value))
    }

    /// An app from its stored form: `kind` is `{platform}_app`; `None` when no platform has that kind.
    pub fn open_app(kind: &str, value: serde_json::Value) -> Option<Result<Arc<dyn AppConfig>, serde_json::Error>> {
        Some(match kind {
            "shopee_app" => serde_json::from_value::<ShopeeAppConfig>(value).map(|a| Arc::new(a) as Arc<dyn AppConfig>),
            "lazada_app" => serde_json::from_value::<LazadaAppConfig>(value).map(|a| Arc::new(a) as Arc<dyn AppConfig>),
            "tiktok_app" => serde_json::from_value::<TiktokAppConfig>(value).map(|a| Arc::new(a) as Arc<dyn AppConfig>),
            _ => return None,
        })
    }
}

/// The stored kind of an app of `platform`.
pub fn app_kind(platform: Platform) -> String {
    format!("{platform}_app")
}

/// Whether `url` is an http(s) URL.
pub(crate) fn is_http_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

pub(crate) fn expose<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

pub(crate) fn expose_opt<S: Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(v) => s.serialize_some(v.expose()),
        None => s.serialize_none(),
    }
}

/// A shop the seller connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopConfig {
    /// The app the shop (seller) authorized.
    pub app: ConfigId,
    /// The marketplace's shop id (Lazada: the seller id of the country; TikTok Shop: the shop id).
    pub shop_id: ShopId,
    /// Display name shown in messages.
    pub name: String,
    /// Legal entity on the shop's business licence (onboarding compares it with the WeCom company).
    #[serde(default)]
    pub legal_entity: Option<String>,
    /// Marketplace region (`SG`, `MY`, …): decides the time zone of times in messages.
    #[serde(default)]
    pub region: Option<String>,
    /// Tokens given by hand (tests, migrations); normally they come from authorization.
    #[serde(default, serialize_with = "expose_opt", skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    /// See `access_token`.
    #[serde(default, serialize_with = "expose_opt", skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_keeps_text_as_text_except_the_platforms_number_fields() {
        let shopee = Sections::form_app(
            "shopee_app",
            &[
                ("id", "main"),
                ("partner_id", " 1007 "),
                ("partner_key", "k"),
                ("push_key", " "),
            ],
        )
        .unwrap()
        .unwrap();
        let stored = shopee.to_value().unwrap();
        assert_eq!(stored["partner_id"], serde_json::json!(1007));
        assert!(stored.get("push_key").is_none(), "a blank field is left out: {stored}");
        // Lazada's app key is digits but text.
        let lazada = Sections::form_app(
            "lazada_app",
            &[("id", "lz"), ("app_key", "123456"), ("app_secret", "s")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(lazada.to_value().unwrap()["app_key"], serde_json::json!("123456"));
        assert!(Sections::form_app("shopee_app", &[("id", "main"), ("partner_id", "x")])
            .unwrap()
            .is_err());
        assert!(Sections::form_app("ebay_app", &[]).is_none());
    }
}
