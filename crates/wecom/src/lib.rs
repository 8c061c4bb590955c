//! The WeCom (企业微信) client: access tokens, app messages, app group chats, group robots,
//! template cards and the callback crypto, following `shared/protocols/wecom.md`.
//!
//! # Layout
//! - [`client`]: [`WeComClient`] — sends app messages, app-chat messages and robot messages,
//!   refreshing the token and retrying once when WeCom rejects it.
//! - `token`: the per-(corp, secret) token cache with single-flight refresh (internal).
//! - [`agent`]: `agent/get` — the app's name, proving AgentId and Secret are one app's ([`AgentInfo`]).
//! - [`contacts`]: who is in a department, a tag or `@all` ([`Group`], [`Membership`]), cached, for
//!   WeCom's per-person limits.
//! - [`message`]: request bodies ([`AppMessage`], [`AppBody`], [`RobotMessage`]) and size limits.
//! - [`card`]: the `template_card` body ([`TemplateCard`]).
//! - [`card_update`]: `update_template_card` with a click's single-use response_code ([`CardUpdate`]).
//! - [`error`]: [`WeComError`], its [`Disposition`] (retry, back off, hold, create the chat, give up)
//!   and bilingual advice.
//! - [`crypto`]: WXBizMsgCrypt signature and AES for callbacks ([`CallbackCrypto`]).
//! - [`callback`]: callback XML — envelope, decrypted message, passive reply.
//! - [`login`]: web login by QR scan — the login link and who scanned ([`LoginIdentity`]).
//! - [`longconn`]: the AI-bot long connection ([`longconn::Session`]), for servers without a public address.

pub mod agent;
pub mod callback;
pub mod card;
pub mod card_update;
pub mod client;
pub mod contacts;
pub mod crypto;
pub mod error;
pub mod login;
pub mod longconn;
pub mod message;
mod token;

pub use agent::AgentInfo;
pub use callback::{CallbackEnvelope, CallbackMessage};
pub use card::TemplateCard;
pub use card_update::{CardAudience, CardChange, CardUpdate, CardUpdateError};
pub use client::{AppCredentials, SendReceipt, Unreached, WeComClient, DEFAULT_API_BASE};
pub use contacts::{Group, Membership};
pub use crypto::{CallbackCrypto, CryptoError};
pub use error::{Disposition, WeComError};
pub use login::LoginIdentity;
pub use message::{AppBody, AppChatSpec, AppMessage, Recipients, RobotMessage};
pub use shoprelay_core::secret::Secret;
