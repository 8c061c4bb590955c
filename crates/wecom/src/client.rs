//! HTTP client for app messages, app group chats and group robots.
//!
//! WeCom answers HTTP 200 with an `errcode` for almost every failure, so success is decided from
//! the body. A token WeCom rejects (40014 / 42001) is refreshed and the call retried once; every
//! other decision about retrying belongs to the caller, guided by [`WeComError::disposition`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::card_update::{CardUpdate, CardUpdateError};
use crate::contacts::MemberCache;
use crate::error::WeComError;
use crate::message::{truncate_utf8, AppBody, AppChatMessage, AppChatSpec};
use crate::token::{FreshToken, TokenCache};
use shoprelay_clock::SharedClock;
use shoprelay_core::secret::Secret;

/// WeCom's production API host.
pub const DEFAULT_API_BASE: &str = "https://qyapi.weixin.qq.com";

/// How much of an unexpected body is kept in an error for the log.
const BODY_SNIPPET_BYTES: usize = 256;

/// Credentials of one self-built app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentials {
    /// Corp id (`ww…`).
    pub corp_id: String,
    /// The app's Secret.
    pub secret: Secret,
    /// The app's AgentId.
    pub agent_id: i64,
    /// API host, [`DEFAULT_API_BASE`] in production; tests point it at the simulator.
    pub api_base: String,
}

/// What WeCom reported for an accepted app message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReceipt {
    /// WeCom's message id (needed to recall a message).
    pub msgid: String,
    /// Userids WeCom could not deliver to (lower-cased by WeCom).
    pub invalid_users: Vec<String>,
    /// Department ids WeCom rejected.
    pub invalid_parties: Vec<String>,
    /// Tag ids WeCom rejected.
    pub invalid_tags: Vec<String>,
    /// For interactive cards: the code to update the card with.
    pub response_code: Option<String>,
}

/// A recipient WeCom accepted a message for but reached nobody through (errcode 0 with `invaliduser`,
/// `invalidparty` or `invalidtag`): a member who left, a removed department or tag, one outside the
/// app's visible range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unreached {
    /// A userid (lower-cased by WeCom).
    User(String),
    /// A department id.
    Party(String),
    /// A tag id.
    Tag(String),
}

impl Unreached {
    /// The answer field that named it: `invaliduser`, `invalidparty` or `invalidtag`.
    pub fn field(&self) -> &'static str {
        match self {
            Unreached::User(_) => "invaliduser",
            Unreached::Party(_) => "invalidparty",
            Unreached::Tag(_) => "invalidtag",
        }
    }

    /// The id WeCom named.
    pub fn id(&self) -> &str {
        match self {
            Unreached::User(id) | Unreached::Party(id) | Unreached::Tag(id) => id,
        }
    }

    /// Rebuilds one from its field and id (as stored); `None` for another field.
    pub fn from_field(field: &str, id: &str) -> Option<Self> {
        let id = id.to_owned();
        match field {
            "invaliduser" => Some(Unreached::User(id)),
            "invalidparty" => Some(Unreached::Party(id)),
            "invalidtag" => Some(Unreached::Tag(id)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Unreached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field(), self.id())
    }
}

impl SendReceipt {
    /// Everyone the answer says the message did not reach, users first.
    pub fn unreached(&self) -> Vec<Unreached> {
        let users = self.invalid_users.iter().cloned().map(Unreached::User);
        let parties = self.invalid_parties.iter().cloned().map(Unreached::Party);
        let tags = self.invalid_tags.iter().cloned().map(Unreached::Tag);
        users.chain(parties).chain(tags).collect()
    }
}

/// The WeCom API client; cheap to clone, clones share one token cache.
#[derive(Clone)]
pub struct WeComClient {
    http: reqwest::Client,
    tokens: Arc<TokenCache>,
    members: Arc<MemberCache>,
}

#[derive(Deserialize)]
struct Status {
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct SendReply {
    #[serde(default)]
    msgid: String,
    #[serde(default)]
    invaliduser: String,
    #[serde(default)]
    invalidparty: String,
    #[serde(default)]
    invalidtag: String,
    #[serde(default)]
    response_code: Option<String>,
}

#[derive(Deserialize)]
struct ChatCreated {
    chatid: String,
}

/// Replies whose only content is errcode/errmsg.
#[derive(Deserialize)]
struct Empty {}

impl WeComClient {
    /// Wraps an HTTP client; give it a timeout, WeCom calls otherwise wait as long as the socket does.
    /// Cached tokens and group memberships age by `clock`.
    pub fn new(http: reqwest::Client, clock: SharedClock) -> Self {
        Self {
            http,
            tokens: Arc::new(TokenCache::new(clock.clone())),
            members: Arc::new(MemberCache::new(clock)),
        }
    }

    pub(crate) fn member_cache(&self) -> &MemberCache {
        &self.members
    }

    /// `GET path?access_token=…&query`, refreshing the token once if WeCom rejects it.
    pub(crate) async fn get_with_token<T: DeserializeOwned>(
        &self,
        creds: &AppCredentials,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, WeComError> {
        let url = endpoint(&creds.api_base, path);
        self.with_token(creds, |token| {
            let request = self
                .http
                .get(&url)
                .query(&[("access_token", token.as_str())])
                .query(query);
            self.execute(&creds.api_base, request)
        })
        .await
    }

    /// `POST /cgi-bin/message/send` with an [`AppMessage`], or with a body rendered earlier (the
    /// outbox stores bodies so every retry sends identical bytes for WeCom's duplicate check).
    pub async fn send_app_message<M: Serialize + ?Sized>(
        &self,
        creds: &AppCredentials,
        msg: &M,
    ) -> Result<SendReceipt, WeComError> {
        let url = endpoint(&creds.api_base, "/cgi-bin/message/send");
        let reply: SendReply = self
            .with_token(creds, |token| {
                self.post(&creds.api_base, &url, ("access_token", token), msg)
            })
            .await?;
        Ok(SendReceipt {
            msgid: reply.msgid,
            invalid_users: split_ids(&reply.invaliduser),
            invalid_parties: split_ids(&reply.invalidparty),
            invalid_tags: split_ids(&reply.invalidtag),
            response_code: reply.response_code.filter(|c| !c.is_empty()),
        })
    }

    /// `POST /cgi-bin/message/update_template_card`. Each response_code works once: a spent, expired or
    /// foreign one is [`CardUpdateError::CodeRejected`], never retried here.
    pub async fn update_template_card(
        &self,
        creds: &AppCredentials,
        update: &CardUpdate,
    ) -> Result<(), CardUpdateError> {
        let url = endpoint(&creds.api_base, "/cgi-bin/message/update_template_card");
        let _: Empty = self
            .with_token(creds, |token| {
                self.post(&creds.api_base, &url, ("access_token", token), update)
            })
            .await?;
        Ok(())
    }

    /// `POST /cgi-bin/appchat/create`; returns the chat id.
    pub async fn create_appchat(&self, creds: &AppCredentials, spec: &AppChatSpec) -> Result<String, WeComError> {
        let url = endpoint(&creds.api_base, "/cgi-bin/appchat/create");
        let reply: ChatCreated = self
            .with_token(creds, |token| {
                self.post(&creds.api_base, &url, ("access_token", token), spec)
            })
            .await?;
        Ok(reply.chatid)
    }

    /// `POST /cgi-bin/appchat/send` to a chat this app created. WeCom reports nothing about
    /// individual members here; template cards are refused with 40008.
    pub async fn send_appchat(&self, creds: &AppCredentials, chatid: &str, body: &AppBody) -> Result<(), WeComError> {
        let url = endpoint(&creds.api_base, "/cgi-bin/appchat/send");
        let msg = AppChatMessage { chatid, body };
        let _: Empty = self
            .with_token(creds, |token| {
                self.post(&creds.api_base, &url, ("access_token", token), &msg)
            })
            .await?;
        Ok(())
    }

    /// `POST /cgi-bin/webhook/send?key=` to a group robot (no token involved), with a
    /// [`RobotMessage`] or a body rendered earlier.
    pub async fn send_robot<M: Serialize + ?Sized>(
        &self,
        api_base: &str,
        key: &Secret,
        msg: &M,
    ) -> Result<(), WeComError> {
        let url = endpoint(api_base, "/cgi-bin/webhook/send");
        let _: Empty = self.post(api_base, &url, ("key", key.expose().to_owned()), msg).await?;
        Ok(())
    }

    /// Runs `call` with the cached token; on 40014/42001 refreshes it and runs `call` once more.
    async fn with_token<T, F, Fut>(&self, creds: &AppCredentials, call: F) -> Result<T, WeComError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, WeComError>>,
    {
        let token = self.token(creds).await?;
        match call(token.clone()).await {
            Err(WeComError::Api {
                errcode: errcode @ (40014 | 42001),
                ..
            }) => {
                tracing::debug!(
                    errcode,
                    agent_id = creds.agent_id,
                    "WeCom rejected the token; refreshing once"
                );
                self.tokens.invalidate(&creds.corp_id, &creds.secret, &token).await;
                call(self.token(creds).await?).await
            }
            other => other,
        }
    }

    async fn token(&self, creds: &AppCredentials) -> Result<String, WeComError> {
        self.tokens
            .get(&creds.corp_id, &creds.secret, || self.fetch_token(creds))
            .await
    }

    async fn fetch_token(&self, creds: &AppCredentials) -> Result<FreshToken, WeComError> {
        let url = endpoint(&creds.api_base, "/cgi-bin/gettoken");
        let request = self.http.get(url).query(&[
            ("corpid", creds.corp_id.as_str()),
            ("corpsecret", creds.secret.expose()),
        ]);
        let reply: TokenReply = self.execute(&creds.api_base, request).await?;
        Ok(FreshToken {
            access_token: reply.access_token,
            expires_in: Duration::from_secs(reply.expires_in),
        })
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        api_base: &str,
        url: &str,
        credential: (&str, String),
        body: &B,
    ) -> Result<T, WeComError> {
        let request = self.http.post(url).query(&[credential]).json(body);
        self.execute(api_base, request).await
    }

    /// Sends the request and turns WeCom's answer into `T` or the error it describes.
    async fn execute<T: DeserializeOwned>(
        &self,
        api_base: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, WeComError> {
        let response = request
            .send()
            .await
            .map_err(|e| WeComError::from_reqwest(e, api_base))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| WeComError::from_reqwest(e, api_base))?;
        if !status.is_success() {
            return Err(WeComError::Http {
                status: status.as_u16(),
                body: snippet(&bytes),
            });
        }
        let bad_json = |source| WeComError::BadJson {
            source,
            body: snippet(&bytes),
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(bad_json)?;
        let Status { errcode, errmsg } = Status::deserialize(&value).map_err(bad_json)?;
        if errcode != 0 {
            return Err(WeComError::Api { errcode, errmsg });
        }
        T::deserialize(&value).map_err(bad_json)
    }
}

fn endpoint(api_base: &str, path: &str) -> String {
    format!("{}{path}", api_base.trim_end_matches('/'))
}

/// WeCom lists ids as `"a|b|c"`.
fn split_ids(joined: &str) -> Vec<String> {
    joined
        .split('|')
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

fn snippet(bytes: &[u8]) -> String {
    truncate_utf8(&String::from_utf8_lossy(bytes), BODY_SNIPPET_BYTES).to_owned()
}
