//! What the simulated Shopee knows: partner apps, shops, main accounts, token lifetimes, push behaviour.
//!
//! Every field has a default, so a TOML or JSON file only states what differs.

use serde::{Deserialize, Serialize};

/// The simulated Shopee Open Platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShopeeSimConfig {
    /// Partner apps whose calls are accepted.
    pub partners: Vec<SimPartner>,
    /// Shops sellers can authorize and place orders in.
    pub shops: Vec<SimShop>,
    /// Main accounts (one authorization covering several shops and merchants).
    pub main_accounts: Vec<SimMainAccount>,
    /// Seconds an access token lives (Shopee: 4 hours).
    pub access_token_ttl_secs: i64,
    /// Seconds a refresh token lives (Shopee: 30 days).
    pub refresh_token_ttl_secs: i64,
    /// Seconds the old access token keeps working after a refresh (Shopee: 5 minutes).
    pub refresh_grace_secs: i64,
    /// Answer `expire_in` as the absolute unix time the access token expires, as one API reference
    /// sample does (off: seconds, as the guide's samples).
    pub expire_in_as_epoch: bool,
    /// Approve authorization links at once (redirect straight back) instead of showing a page.
    pub auto_approve: bool,
    /// Callback URL for partners that name none of their own.
    pub push_url: Option<String>,
    /// Add the top-level `msg_id` live pushes carry (off: the documented samples' shape).
    pub push_msg_id: bool,
    /// Also answer `get_lost_push_message` on GET, as older guides describe it (the reference: POST only).
    pub legacy_lost_push_get: bool,
    /// Shops whose chat API access is not whitelisted: `sellerchat/send_message` answers
    /// `error_api_permission` for them. Every other shop is whitelisted.
    pub chat_not_whitelisted_shops: Vec<u64>,
}

impl Default for ShopeeSimConfig {
    fn default() -> Self {
        Self {
            partners: vec![SimPartner {
                partner_id: 2001887,
                partner_key: "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f".into(),
                push_key: None,
                push_url: None,
            }],
            shops: vec![SimShop {
                shop_id: 727720655,
                region: "SG".into(),
                name: "Demo Shop SG".into(),
            }],
            main_accounts: Vec::new(),
            access_token_ttl_secs: 4 * 3600,
            refresh_token_ttl_secs: 30 * 86400,
            refresh_grace_secs: 300,
            expire_in_as_epoch: false,
            auto_approve: true,
            push_url: None,
            push_msg_id: true,
            legacy_lost_push_get: false,
            chat_not_whitelisted_shops: Vec::new(),
        }
    }
}

/// A partner app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimPartner {
    /// Shopee's partner id.
    pub partner_id: u64,
    /// The key API calls must be signed with.
    pub partner_key: String,
    /// The key pushes are signed with (Shopee's "Live Push Partner Key"); defaults to `partner_key`.
    #[serde(default)]
    pub push_key: Option<String>,
    /// This partner's callback URL.
    #[serde(default)]
    pub push_url: Option<String>,
}

impl SimPartner {
    /// The key this partner's pushes are signed with.
    pub fn push_key(&self) -> &str {
        self.push_key.as_deref().unwrap_or(&self.partner_key)
    }
}

/// A shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimShop {
    /// Shopee's shop id.
    pub shop_id: u64,
    /// Market, e.g. `SG`; also decides the currency.
    #[serde(default = "default_region")]
    pub region: String,
    /// Shown on the authorization page.
    #[serde(default)]
    pub name: String,
}

fn default_region() -> String {
    "SG".into()
}

/// A main account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimMainAccount {
    /// Shopee's main account id.
    pub main_account_id: u64,
    /// Shops its authorization covers.
    #[serde(default)]
    pub shop_ids: Vec<u64>,
    /// Merchants its authorization covers.
    #[serde(default)]
    pub merchant_ids: Vec<u64>,
}
