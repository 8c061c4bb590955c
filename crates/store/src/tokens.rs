//! API tokens for automation as the store keeps them: a name, a scope, who made it and when, when it was
//! last used and whether it was revoked. The token itself is never stored, only its SHA-256 hash.

use serde::Serialize;
use shoprelay_clock::UnixMs;

use crate::console::Role;

/// What an API token may do; each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// `GET` only: reads the audit log, status, rules, conversations, tasks.
    Read,
    /// Also everyday writes: replays dead letters, acknowledges tasks, forgets buyers, dry-runs rules.
    Operate,
    /// Everything, rules and data policies included.
    Admin,
}

impl TokenScope {
    /// Every scope, weakest first.
    pub const ALL: [TokenScope; 3] = [TokenScope::Read, TokenScope::Operate, TokenScope::Admin];

    /// Column (and CLI, form) value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Operate => "operate",
            TokenScope::Admin => "admin",
        }
    }

    /// Reads a column (or CLI, form) value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The console role that may do the same: viewer, operator, admin.
    pub fn role(self) -> Role {
        match self {
            TokenScope::Read => Role::Viewer,
            TokenScope::Operate => Role::Operator,
            TokenScope::Admin => Role::Admin,
        }
    }

    /// Whether this scope includes everything `needed` may do.
    pub fn allows(self, needed: TokenScope) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for TokenScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored API token (without the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiTokenRecord {
    /// Id.
    pub id: i64,
    /// A name saying what uses it (unique).
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// Who made it (a console username, or `cli`).
    pub created_by: String,
    /// When made.
    #[schema(value_type = i64)]
    pub created_at: UnixMs,
    /// When a request last carried it (updated at most once a minute).
    #[schema(value_type = Option<i64>)]
    pub last_used_at: Option<UnixMs>,
    /// When revoked; a revoked token is refused.
    #[schema(value_type = Option<i64>)]
    pub revoked_at: Option<UnixMs>,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// Its name.
    pub name: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// What it may do.
    pub scope: TokenScope,
    /// Who makes it.
    pub created_by: String,
}

/// What creating a token came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCreated {
    /// Stored.
    Created(ApiTokenRecord),
    /// Another token has that name.
    NameTaken,
}
