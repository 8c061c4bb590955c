//! [`ShopeeAppConfig`]: a Shopee partner app as the operator configures it (`[[shopee.apps]]`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shoprelay_clock::SharedClock;
use shoprelay_core::event::Platform;
use shoprelay_core::ids::ConfigId;
use shoprelay_core::secret::Secret;

use super::{default_auth_base, AuthLinkKind, ShopeeApp, ShopeeClient, ShopeeMarketplace, PLATFORM};
use crate::adapter::MarketplaceApp;
use crate::config::{expose, expose_opt, is_http_url, AppConfig, FieldProblem};

/// A Shopee partner app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopeeAppConfig {
    /// Operator-chosen id; pushes arrive at `/push/shopee/{id}`.
    pub id: ConfigId,
    /// Shopee's partner id.
    pub partner_id: u64,
    /// Key API calls are signed with.
    #[serde(serialize_with = "expose")]
    pub partner_key: Secret,
    /// Key pushes are signed with (the console's "Live Push Partner Key"); defaults to `partner_key`.
    #[serde(default, serialize_with = "expose_opt", skip_serializing_if = "Option::is_none")]
    pub push_key: Option<Secret>,
    /// API host.
    #[serde(default = "default_shopee_api")]
    pub api_base: String,
    /// The push URL exactly as set at Shopee, when it is not `{public_url}/push/shopee/{id}` (a proxy
    /// path or a query string): signatures cover it byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_url: Option<String>,
    /// Which authorization link sellers get: `open` (the current unsigned one) or `legacy` (signed).
    #[serde(default)]
    pub auth_link: AuthLinkKind,
    /// Host of the `open` authorization page; by default the one that belongs to `api_base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_base: Option<String>,
}

impl ShopeeAppConfig {
    /// Where the `open` authorization link points.
    pub fn auth_base(&self) -> String {
        self.auth_base
            .clone()
            .unwrap_or_else(|| default_auth_base(&self.api_base))
    }

    /// The key that signs this app's pushes.
    pub fn push_key(&self) -> &Secret {
        self.push_key.as_ref().unwrap_or(&self.partner_key)
    }

    /// The callback URL Shopee signs pushes with.
    pub fn callback_url(&self, public_url: &str) -> String {
        self.push_url
            .clone()
            .unwrap_or_else(|| format!("{}/push/shopee/{}", public_url.trim_end_matches('/'), self.id))
    }
}

fn default_shopee_api() -> String {
    "https://partner.shopeemobile.com".into()
}

impl ShopeeAppConfig {
    /// The API view of the app.
    pub fn api_app(&self) -> ShopeeApp {
        ShopeeApp {
            partner_id: self.partner_id,
            partner_key: self.partner_key.clone(),
            api_base: self.api_base.clone(),
        }
    }
}

impl ShopeeAppConfig {
    /// The fields kept as numbers (the console's form types them as text).
    pub(crate) const NUMBER_FIELDS: &'static [&'static str] = &["partner_id"];
}

impl AppConfig for ShopeeAppConfig {
    fn id(&self) -> &ConfigId {
        &self.id
    }

    fn platform(&self) -> Platform {
        PLATFORM
    }

    fn problems(&self) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        if !is_http_url(&self.api_base) {
            out.push(("api_base", format!("`{}` is not an http(s) URL", self.api_base)));
        }
        if self.partner_key.expose().is_empty() {
            out.push(("partner_key", "must not be empty".into()));
        }
        if self.auth_base.as_deref().is_some_and(|u| !is_http_url(u)) {
            out.push(("auth_base", "must be an http(s) URL".into()));
        }
        if self.push_url.as_deref().is_some_and(|u| !is_http_url(u)) {
            out.push(("push_url", "must be an http(s) URL".into()));
        }
        out
    }

    fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn connect(&self, http: &reqwest::Client, clock: SharedClock) -> Arc<dyn MarketplaceApp> {
        Arc::new(ShopeeMarketplace::new(
            self.clone(),
            ShopeeClient::new(http.clone(), clock),
        ))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
