//! What the simulated Lazada knows at start: the app, the sellers, token lifetimes and push behaviour.
//! Every field has a default, so a TOML or JSON file only states what differs.

use serde::{Deserialize, Serialize};

use super::region::Region;

/// The simulated Lazada Open Platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LazadaSimConfig {
    /// The app's key (`app_key`).
    pub app_key: String,
    /// The app's secret: API calls are signed with it, and so are pushes.
    pub app_secret: String,
    /// Seller accounts that can authorize the app.
    pub sellers: Vec<SimSeller>,
    /// The app's push callback URL (settable at run time too).
    pub push_url: Option<String>,
    /// Seconds an access token lives (`expires_in`).
    pub access_token_ttl_secs: i64,
    /// Seconds a refresh token lives (`refresh_expires_in`).
    pub refresh_token_ttl_secs: i64,
    /// Seconds an authorization code lives (Lazada: 30 minutes).
    pub code_ttl_secs: i64,
    /// How far a call's `timestamp` may be from the simulator's clock (Lazada: under 7200 s).
    pub timestamp_window_secs: i64,
    /// Milliseconds a receiver has to answer a push with 200 (Lazada: 500).
    pub push_ack_timeout_ms: u64,
    /// Seconds between a failed push and its retry (Lazada: 30 minutes).
    pub push_retry_interval_secs: i64,
    /// How many times a failed push is retried (Lazada: 12).
    pub push_retries: usize,
}

impl Default for LazadaSimConfig {
    fn default() -> Self {
        Self {
            app_key: "123456".into(),
            app_secret: "helloworld".into(),
            sellers: vec![SimSeller {
                account: "seller@example.com".into(),
                country_user_info: vec![CountryUserInfo {
                    country: Region::Sg,
                    seller_id: "1234567".into(),
                    user_id: "100001".into(),
                    short_code: "SG4K2J7Q".into(),
                }],
            }],
            push_url: None,
            access_token_ttl_secs: 7 * 86400,
            refresh_token_ttl_secs: 30 * 86400,
            code_ttl_secs: 1800,
            timestamp_window_secs: 7200,
            push_ack_timeout_ms: 500,
            push_retry_interval_secs: 1800,
            push_retries: 12,
        }
    }
}

/// A seller account (one login), with a shop in one or more countries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSeller {
    /// The login (`account` in token answers).
    pub account: String,
    /// One entry per country the account sells in.
    pub country_user_info: Vec<CountryUserInfo>,
}

/// The account's shop in one country, as token answers list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryUserInfo {
    /// The country.
    pub country: Region,
    /// Lazada's seller id there (what pushes name).
    pub seller_id: String,
    /// Lazada's user id there.
    pub user_id: String,
    /// The seller short code there.
    pub short_code: String,
}
