//! API tokens for automation: made with a name and a scope (the token is shown once, then only its hash
//! is kept), listed, revoked, and found again when a request presents one. Each change is recorded in
//! the console actions.

use std::time::Duration;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::error::UserFacing;
use shoprelay_core::secret::Secret;
use shoprelay_store::{ApiTokenRecord, ApiTokens, TokenScope};

use super::console::{new_token, token_hash};
use crate::{Engine, EngineError};

/// How often a token's `last_used_at` is written at most: a busy script must not turn every read into a
/// write.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// The stored API tokens.
pub struct ApiTokenService<'a> {
    api_tokens: &'a dyn ApiTokens,
    clock: &'a SharedClock,
}

impl<'a> ApiTokenService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            api_tokens: &*engine.store,
            clock: &engine.clock,
        }
    }

    /// Every token, revoked ones included.
    pub async fn list(&self) -> Result<Vec<ApiTokenRecord>, EngineError> {
        Ok(self.api_tokens.list_api_tokens().await?)
    }

    /// The unrevoked token `given` is, if any.
    pub async fn find(&self, given: &str) -> Result<Option<ApiTokenRecord>, EngineError> {
        Ok(self.api_tokens.api_token(&token_hash(given)).await?)
    }

    /// Notes that `token` was just used (at most once a minute); losing this note costs a stale "last
    /// used", never the request.
    pub async fn note_use(&self, token: &ApiTokenRecord) {
        let now = self.clock.now();
        if token
            .last_used_at
            .is_none_or(|t| now.saturating_duration_since(t) >= TOUCH_EVERY)
        {
            if let Err(err) = self.api_tokens.touch_api_token(token.id, now).await {
                tracing::warn!(error = ?err, token = %token.name, "noting an API token's use failed");
            }
        }
    }

    /// Makes a token named `name` with `scope` for `actor` (see [`create_token`]).
    pub async fn create(
        &self,
        name: &str,
        scope: TokenScope,
        actor: &str,
    ) -> Result<(ApiTokenRecord, Secret), TokenError> {
        create_token(self.api_tokens, name, scope, actor, self.clock.now()).await
    }

    /// Revokes the token `id` for `actor` (see [`revoke_token`]).
    pub async fn revoke(&self, id: i64, actor: &str) -> Result<(), TokenError> {
        revoke_token(self.api_tokens, id, actor, self.clock.now()).await
    }
}

/// What stored tokens start with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "srt_";

/// Longest token name, in characters.
pub const MAX_TOKEN_NAME_CHARS: usize = 64;

/// Why a stored API token could not be made or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name is empty, too long or holds other characters.
    #[error("a token name is 1 to {MAX_TOKEN_NAME_CHARS} letters, digits, `.`, `_` or `-`")]
    BadName,
    /// Another token has the name.
    #[error("a token named `{0}` exists")]
    NameTaken(String),
    /// No unrevoked token has the id.
    #[error("no unrevoked token #{0}")]
    NotFound(i64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] shoprelay_store::StoreError),
}

impl UserFacing for TokenError {
    fn code(&self) -> &'static str {
        match self {
            TokenError::BadName => "tokens.bad_name",
            TokenError::NameTaken(_) => "tokens.name_taken",
            TokenError::NotFound(_) => "tokens.not_found",
            TokenError::Store(e) => e.code(),
        }
    }
    fn status(&self) -> u16 {
        match self {
            TokenError::BadName => 400,
            TokenError::NameTaken(_) => 409,
            TokenError::NotFound(_) => 404,
            TokenError::Store(e) => e.status(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            TokenError::BadName => format!("令牌名称须为 1 到 {MAX_TOKEN_NAME_CHARS} 个字母、数字、`.`、`_` 或 `-`"),
            TokenError::NameTaken(name) => format!("已有名为「{name}」的令牌（含已吊销的）：请换一个名称"),
            TokenError::NotFound(id) => format!("没有未吊销的令牌 #{id}"),
            TokenError::Store(e) => e.message_zh(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            TokenError::BadName => {
                format!("A token name is 1 to {MAX_TOKEN_NAME_CHARS} letters, digits, `.`, `_` or `-`")
            }
            TokenError::NameTaken(name) => {
                format!("A token named `{name}` exists (revoked ones count): pick another name")
            }
            TokenError::NotFound(id) => format!("There is no unrevoked token #{id}"),
            TokenError::Store(e) => e.message_en(),
        }
    }
}

/// A token's name, checked.
fn token_name(raw: &str) -> Result<&str, TokenError> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_TOKEN_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ok.then_some(name).ok_or(TokenError::BadName)
}

/// Makes a stored API token named `name` with `scope` for `actor` at `now`, recording the action;
/// answers the record and the token, which exists nowhere else afterwards: show it once.
pub async fn create_token(
    store: &dyn ApiTokens,
    name: &str,
    scope: TokenScope,
    actor: &str,
    now: UnixMs,
) -> Result<(ApiTokenRecord, Secret), TokenError> {
    let name = token_name(name)?;
    let token = Secret::new(format!("{TOKEN_PREFIX}{}", new_token().expose()));
    let new = shoprelay_store::NewApiToken {
        name: name.to_owned(),
        token_hash: token_hash(token.expose()),
        scope,
        created_by: actor.to_owned(),
    };
    let done = shoprelay_store::ConsoleAction::new(now, actor, "token.create", Some(name), format!("scope {scope}"));
    match store.create_api_token(&new, &done).await? {
        shoprelay_store::TokenCreated::Created(record) => Ok((record, token)),
        shoprelay_store::TokenCreated::NameTaken => Err(TokenError::NameTaken(name.to_owned())),
    }
}

/// Revokes the stored token `id` for `actor` at `now`, recording the action.
pub async fn revoke_token(store: &dyn ApiTokens, id: i64, actor: &str, now: UnixMs) -> Result<(), TokenError> {
    let name = store
        .list_api_tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id && t.revoked_at.is_none())
        .map(|t| t.name)
        .ok_or(TokenError::NotFound(id))?;
    let done = shoprelay_store::ConsoleAction::new(now, actor, "token.revoke", Some(&name), format!("token #{id}"));
    if store.revoke_api_token(id, &done).await? {
        Ok(())
    } else {
        Err(TokenError::NotFound(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names_are_short_and_plain() {
        assert_eq!(token_name(" ci-deploy.1 ").unwrap(), "ci-deploy.1");
        for bad in ["", "  ", "a b", "名字", &"x".repeat(65)] {
            assert!(token_name(bad).is_err(), "{bad}");
        }
    }
}
