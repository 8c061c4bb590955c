//! Faithful simulators of the marketplaces and WeCom, used by tests, `shoprelay demo` and the benchmarks.
//!
//! # Layout
//! - [`lazada`]: the Lazada Open Platform (seller authorization, order APIs, signed pushes with Lazada's
//!   retry rule on the simulator's clock, faults).
//! - [`shopee`]: the Shopee Open Platform (OAuth, order APIs, signed pushes to a callback URL, buyer
//!   chat with `sellerchat/send_message`, faults).
//! - [`tiktok`]: the TikTok Shop Partner API 202309 (seller authorization with absolute-time token
//!   expiry, shops and ciphers, the order API, signed pushes with TikTok's retry rule, faults).
//! - [`wecom`]: the WeCom server API (gettoken, app messages, app chats, group robots, limits, faults,
//!   an inspection API and page) and its callbacks: members' messages and card clicks, encrypted with
//!   the simulator's own WXBizMsgCrypt, and `update_template_card`.
//! - [`push_sender`]: the push sender the Lazada and TikTok Shop simulators share (attempts, retries on
//!   the simulator's clock, the callback URL).
//! - [`load`]: a load generator (signed pushes, closed- and open-loop drivers, a bare handler) for
//!   `shoprelay bench`.

pub mod lazada;
pub mod load;
pub mod push_sender;
pub mod shopee;
pub mod tiktok;
pub mod wecom;
