//! The console's accounts as the store keeps them: users with a role, their sessions, the one-time setup
//! link, and the record of every change made through the console (who, what, when).

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::WeComUserId;

use crate::error::StoreError;

/// What a console user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads every page; changes nothing.
    Viewer,
    /// Everyday work: tests connections, claims conversations, replays dead letters.
    Operator,
    /// Everything, accounts included.
    Admin,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Reads a column (or form) value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role includes everything `needed` may do.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A console account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsoleUser {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Argon2 PHC string; never serialized.
    #[serde(skip)]
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// When created.
    pub created_at: UnixMs,
    /// When disabled; a disabled user cannot log in and has no session.
    pub disabled_at: Option<UnixMs>,
    /// The WeCom member who may log in as this user by scanning the login QR code, when linked.
    pub wecom_userid: Option<WeComUserId>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewConsoleUser {
    /// Login name (checked by the caller).
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
}

/// A change made through the console, recorded with who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsoleAction {
    /// Id (0 before it is stored); newer actions have larger ids.
    pub id: i64,
    /// When.
    pub at: UnixMs,
    /// The username that acted (`setup` for the setup link, `cli` for the command line).
    pub actor: String,
    /// What was done, a stable dotted name (`user.create`, `wecom.test`, …).
    pub action: String,
    /// What it was done to (a username, an app id), when anything.
    pub target: Option<String>,
    /// Details a reader needs (never a password or a secret).
    pub detail: String,
}

impl ConsoleAction {
    /// An action to record at `at`.
    pub fn new(at: UnixMs, actor: &str, action: &str, target: Option<&str>, detail: impl Into<String>) -> Self {
        Self {
            id: 0,
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            detail: detail.into(),
        }
    }
}

/// Which recorded actions to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ConsoleActionFilter {
    /// Only this actor's.
    pub actor: Option<String>,
    /// Only ids below this one (the keyset of the next page).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// What creating a user came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCreated {
    /// Stored.
    Created(ConsoleUser),
    /// The username is taken.
    NameTaken,
    /// The setup link was wrong, used or expired, or an admin exists already (first admin only).
    SetupClosed,
}

/// What updating a user came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserUpdated {
    /// Stored.
    Updated,
    /// No user of that name.
    NoSuchUser,
    /// Refused: no enabled admin would be left.
    LastAdmin,
}

/// What linking a user to a WeCom member came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeComLinked {
    /// Stored (or the link removed).
    Linked,
    /// No user of that name.
    NoSuchUser,
    /// Another user is linked to that member already (named here); WeCom userids compare without case.
    Taken(String),
}

pub(crate) fn corrupt(table: &'static str, reason: String) -> StoreError {
    StoreError::Corrupt { table, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_and_order_by_power() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
    }
}
