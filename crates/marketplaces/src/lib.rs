//! Marketplace adapters: everything platform-specific on the way in — signing, push verification and
//! parsing, the API client, and normalisation into the neutral events of `shoprelay_core::event`.
//!
//! Every adapter has the same shape: verify the push, parse it, normalise it (enriching from the API).
//!
//! # Layout
//! - [`adapter`]: [`adapter::MarketplaceApp`], the one interface the middle has to a marketplace app.
//! - [`config`]: the marketplace sections of the configuration file ([`config::Sections`]).
//! - [`platform`]: what the middle may say about a marketplace — its name, its seller-centre links.
//! - [`standing`]: where a shop stands at its marketplace ([`standing::Standing`]), and the seller-status
//!   push the middle keeps for it.
//! - [`shopee`]: Shopee Open Platform v2.
//!   - `sign`: API request signatures and push `Authorization` verification.
//!   - `push`: parsing a push body into a typed [`shopee::ShopeePush`], and its dedupe key.
//!   - `model`: the partner app configuration and the API's response types.
//!   - `client`: the HTTP client for OAuth, orders and lost pushes.
//!   - `error`: [`shopee::ShopeeError`] and what the caller should do about each error.
//!   - `normalize`: pure mapping of a parsed push (plus order detail) to events.
//! - [`lazada`]: Lazada Open Platform — `region`, `auth`, `sign`, `push`, `model`, `client`, `error`, and
//!   `status` (what each Lazada order status means, for normalisation).
//! - [`tiktok`]: TikTok Shop Partner API 202309 — `sign`, `push`, `model`, `client`, `error`, `status`,
//!   `snapshot`, `normalize`, `shops` (each shop's `shop_cipher`, kept in its profile), and `app`.

pub mod adapter;
pub mod config;
pub mod lazada;
pub mod platform;
pub mod shopee;
pub mod standing;
pub mod tiktok;
