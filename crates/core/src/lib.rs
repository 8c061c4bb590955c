//! Domain types and pure logic shared by every shoprelay crate. No I/O, no async.
//!
//! # Layout
//! - [`audit_text`]: the sentences shoprelay writes into audit details and console notes, shown in the
//!   reader's language.
//! - [`ids`]: validated identifiers parsed at the edge (`ShopId`, `OrderSn`, `ConfigId`, `ChatId`, …).
//! - [`destination`]: where a delivery goes (a WeCom app, robot, app group chat or webhook), keyed as stored.
//! - [`entity`]: the entity consistency check (主体一致性): names normalized, real differences named and
//!   diffed, with the fix.
//! - [`event`]: the platform-neutral event model the middle of the pipeline speaks.
//! - [`order`]: the policy-filtered order snapshot an event carries.
//! - [`policy`]: the per-shop data policy (which personal fields are kept) and masking.
//! - [`neutralize`]: text a buyer, shop or marketplace controls, made inert per output format.
//! - [`route`]: which event kinds from which shops go to which targets.
//! - [`rules`]: message rules' conditions (compiled once, evaluated per event) and sandboxed templates.
//! - [`status_change`]: the events an order's move to a status announces, for every marketplace.
//! - [`secret`]: secrets that never print, and their encryption at rest.
//! - [`shop`]: what a marketplace tells about a shop at authorization ([`shop::ShopProfile`]).
//! - [`error`]: the contract of user-facing errors (code, status, zh + en sentence).
//! - [`time`]: the shop's time zone and timestamp formatting.

pub mod audit_text;
pub mod destination;
pub mod entity;
pub mod error;
pub mod event;
pub mod ids;
pub mod neutralize;
pub mod order;
pub mod policy;
pub mod route;
pub mod rules;
pub mod secret;
pub mod shop;
pub mod status_change;
pub mod time;
