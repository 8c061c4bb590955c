//! What the simulated TikTok Shop knows at start: the app, the sellers and their shops, token lifetimes
//! and push behaviour. Every field has a default, so a TOML or JSON file only states what differs.

use serde::{Deserialize, Serialize};

/// The simulated TikTok Shop Partner API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TiktokSimConfig {
    /// The app's key (`app_key`).
    pub app_key: String,
    /// The app's secret: API calls are signed with it, and so are pushes.
    pub app_secret: String,
    /// The app's service id, which authorization links name.
    pub service_id: String,
    /// Sellers that can authorize the app.
    pub sellers: Vec<SimSeller>,
    /// The app's push callback URL (settable at run time too).
    pub push_url: Option<String>,
    /// Seconds an access token lives.
    pub access_token_ttl_secs: i64,
    /// Seconds a refresh token lives.
    pub refresh_token_ttl_secs: i64,
    /// Seconds an authorization code lives (TikTok: 30 minutes).
    pub code_ttl_secs: i64,
    /// How far behind the simulator's clock a call's `timestamp` may be (TikTok: 5 minutes).
    pub timestamp_past_secs: i64,
    /// How far ahead of it (TikTok: 30 seconds).
    pub timestamp_future_secs: i64,
    /// Milliseconds a receiver has to answer a push with 200 (TikTok: 3 s).
    pub push_ack_timeout_ms: u64,
    /// When each retry of a failed push comes, in seconds after its first attempt (TikTok: 2 min, 30 min,
    /// 3 h, 12 h).
    pub push_retry_after_secs: Vec<i64>,
}

impl Default for TiktokSimConfig {
    fn default() -> Self {
        Self {
            app_key: "29a39d".into(),
            app_secret: "e59af819cc".into(),
            service_id: "7100000000000000001".into(),
            sellers: vec![SimSeller {
                open_id: "7010736057180325637".into(),
                seller_name: "Ana's Store".into(),
                shops: vec![SimShop {
                    id: "7494049642642441621".into(),
                    name: "Ana's UK Store".into(),
                    region: "GB".into(),
                    cipher: "ROW_vTUgdAAAAAB1bq-ZVeRPJyQ3iFP5xLGd".into(),
                }],
            }],
            push_url: None,
            access_token_ttl_secs: 7 * 86_400,
            refresh_token_ttl_secs: 365 * 86_400,
            code_ttl_secs: 1800,
            timestamp_past_secs: 300,
            timestamp_future_secs: 30,
            push_ack_timeout_ms: 3000,
            push_retry_after_secs: vec![120, 1800, 3 * 3600, 12 * 3600],
        }
    }
}

/// A seller: one login, one token pair, one or more shops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSeller {
    /// The seller's id for the app (`open_id` in token answers).
    pub open_id: String,
    /// The seller's name (`seller_name` in token answers).
    pub seller_name: String,
    /// The seller's shops.
    pub shops: Vec<SimShop>,
}

/// One shop of a seller, as `/authorization/202309/shops` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimShop {
    /// The shop id (what pushes name).
    pub id: String,
    /// The shop's name.
    pub name: String,
    /// The shop's market, e.g. `GB`.
    pub region: String,
    /// The `shop_cipher` calls about the shop carry.
    pub cipher: String,
}
