//! Faithful simulators of the marketplaces and WeCom, used by tests, `shoprelay demo` and the benchmarks.
//!
//! # Layout
//! - [`shopee`]: the Shopee Open Platform (OAuth, order APIs, signed pushes to a callback URL, faults).
//! - [`wecom`]: the WeCom server API (gettoken, app messages, app chats, group robots, limits, faults,
//!   an inspection API and page).
//! - [`load`]: a load generator (signed pushes, closed- and open-loop drivers, a bare handler) for
//!   `shoprelay bench`.

pub mod load;
pub mod shopee;
pub mod wecom;
