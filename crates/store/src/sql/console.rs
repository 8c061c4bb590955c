//! The console's accounts, sessions, setup link and action record.

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::WeComUserId;

use super::{with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::console::{
    corrupt, ConsoleAction, ConsoleActionFilter, ConsoleUser, NewConsoleUser, Role, UserCreated, UserUpdated,
    WeComLinked,
};
use crate::store::{ConsoleAccounts, Result};

const USER: &str = "id, username, password_hash, role, created_at, disabled_at, wecom_userid";

type UserRow = (i64, String, String, String, i64, Option<i64>, Option<String>);

fn user(row: UserRow) -> Result<ConsoleUser> {
    let (id, username, password_hash, role, created_at, disabled_at, wecom_userid) = row;
    let role = Role::parse(&role).ok_or_else(|| corrupt("console_users", format!("role `{role}`")))?;
    let wecom_userid = wecom_userid
        .map(|u| WeComUserId::parse(&u).map_err(|e| corrupt("console_users", format!("wecom_userid: {e}"))))
        .transpose()?;
    Ok(ConsoleUser {
        id,
        username,
        password_hash,
        role,
        created_at: UnixMs::from_millis(created_at),
        disabled_at: disabled_at.map(UnixMs::from_millis),
        wecom_userid,
    })
}

type ActionRow = (i64, i64, String, String, Option<String>, String);

fn action(row: ActionRow) -> ConsoleAction {
    let (id, at, actor, action, target, detail) = row;
    ConsoleAction {
        id,
        at: UnixMs::from_millis(at),
        actor,
        action,
        target,
        detail,
    }
}

/// Inserts an action with `$executor` (a pool or an open transaction) of either backend.
macro_rules! insert_action {
    ($executor:expr, $a:expr) => {{
        let a: &ConsoleAction = $a;
        sqlx::query("INSERT INTO console_actions (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(a.at.as_millis())
            .bind(&a.actor)
            .bind(&a.action)
            .bind(a.target.as_deref())
            .bind(&a.detail)
            .execute($executor)
            .await?;
    }};
}
pub(super) use insert_action;

const ENABLED_ADMINS: &str = "SELECT COUNT(*) FROM console_users WHERE role = 'admin' AND disabled_at IS NULL";

#[async_trait]
impl ConsoleAccounts for SqlStore {
    async fn has_console_admin(&self) -> Result<bool> {
        let n: i64 = with_read_pool!(self, pool => sqlx::query_scalar(ENABLED_ADMINS).fetch_one(pool).await?);
        Ok(n > 0)
    }

    async fn create_setup_token(&self, token_hash: &str, now: UnixMs, expires_at: UnixMs) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM console_setup_tokens").execute(&mut *tx).await?;
            sqlx::query("INSERT INTO console_setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
                .bind(token_hash)
                .bind(now.as_millis())
                .bind(expires_at.as_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    async fn create_first_admin(&self, token_hash: &str, new: &NewConsoleUser, now: UnixMs) -> Result<UserCreated> {
        let done = ConsoleAction::new(
            now,
            "setup",
            "user.create",
            Some(&new.username),
            shoprelay_core::audit_text::FIRST_ADMIN,
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let spent = sqlx::query("DELETE FROM console_setup_tokens WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let admins: i64 = sqlx::query_scalar(ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            if spent == 0 || admins > 0 {
                return Ok(UserCreated::SetupClosed);
            }
            let row: Option<UserRow> = sqlx::query_as(&format!(
                "INSERT INTO console_users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (username) DO NOTHING RETURNING {USER}"
            ))
            .bind(&new.username)
            .bind(&new.password_hash)
            .bind(Role::Admin.as_str())
            .bind(now.as_millis())
            .fetch_optional(&mut *tx)
            .await?;
            // A disabled user of that name: the link stays unspent (the transaction is dropped).
            let Some(row) = row else { return Ok(UserCreated::NameTaken) };
            insert_action!(&mut *tx, &done);
            tx.commit().await?;
            Ok(UserCreated::Created(user(row)?))
        })
    }

    async fn create_console_user(&self, new: &NewConsoleUser, done: &ConsoleAction) -> Result<UserCreated> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<UserRow> = sqlx::query_as(&format!(
                "INSERT INTO console_users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (username) DO NOTHING RETURNING {USER}"
            ))
            .bind(&new.username)
            .bind(&new.password_hash)
            .bind(new.role.as_str())
            .bind(done.at.as_millis())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(UserCreated::NameTaken) };
            insert_action!(&mut *tx, done);
            tx.commit().await?;
            Ok(UserCreated::Created(user(row)?))
        })
    }

    async fn console_user(&self, username: &str) -> Result<Option<ConsoleUser>> {
        let row: Option<UserRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&format!("SELECT {USER} FROM console_users WHERE username = $1"))
                .bind(username)
                .fetch_optional(pool)
                .await?
        });
        row.map(user).transpose()
    }

    async fn list_console_users(&self) -> Result<Vec<ConsoleUser>> {
        let rows: Vec<UserRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&format!("SELECT {USER} FROM console_users ORDER BY username"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(user).collect()
    }

    async fn update_console_user(
        &self,
        username: &str,
        role: Role,
        disabled: bool,
        done: &ConsoleAction,
    ) -> Result<UserUpdated> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "UPDATE console_users SET role = $2,
                     disabled_at = CASE WHEN $3 THEN COALESCE(disabled_at, $4) ELSE NULL END
                 WHERE username = $1 RETURNING id",
            )
            .bind(username)
            .bind(role.as_str())
            .bind(disabled)
            .bind(done.at.as_millis())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = id else { return Ok(UserUpdated::NoSuchUser) };
            let admins: i64 = sqlx::query_scalar(ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            if admins == 0 {
                return Ok(UserUpdated::LastAdmin);
            }
            if disabled {
                sqlx::query("DELETE FROM console_sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            }
            insert_action!(&mut *tx, done);
            tx.commit().await?;
            Ok(UserUpdated::Updated)
        })
    }

    async fn set_console_password(&self, username: &str, password_hash: &str, done: &ConsoleAction) -> Result<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: Option<i64> =
                sqlx::query_scalar("UPDATE console_users SET password_hash = $2 WHERE username = $1 RETURNING id")
                    .bind(username)
                    .bind(password_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(id) = id else { return Ok(false) };
            sqlx::query("DELETE FROM console_sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            insert_action!(&mut *tx, done);
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn create_console_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: UnixMs,
        expires_at: UnixMs,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO console_sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(token_hash)
                .bind(user_id)
                .bind(now.as_millis())
                .bind(expires_at.as_millis())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn console_session(&self, token_hash: &str, now: UnixMs) -> Result<Option<ConsoleUser>> {
        let row: Option<UserRow> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT u.id, u.username, u.password_hash, u.role, u.created_at, u.disabled_at, u.wecom_userid
                 FROM console_sessions s JOIN console_users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
            )
            .bind(token_hash)
            .bind(now.as_millis())
            .fetch_optional(pool)
            .await?
        });
        row.map(user).transpose()
    }

    async fn delete_console_session(&self, token_hash: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
        });
        Ok(())
    }

    async fn prune_console_sessions(&self, now: UnixMs) -> Result<u64> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1").bind(now.as_millis()).execute(pool).await?.rows_affected()
        });
        Ok(n)
    }

    async fn record_console_action(&self, done: &ConsoleAction) -> Result<()> {
        with_pool!(self, pool => insert_action!(pool, done));
        Ok(())
    }

    async fn console_actions(&self, filter: &ConsoleActionFilter) -> Result<Vec<ConsoleAction>> {
        let rows: Vec<ActionRow> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, actor, action, target, detail FROM console_actions
                 WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR id < $2)
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(filter.actor.as_deref())
            .bind(filter.before_id)
            .bind(filter.limit.clamp(1, 1000))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(action).collect())
    }

    async fn link_console_wecom(
        &self,
        username: &str,
        userid: Option<&WeComUserId>,
        done: &ConsoleAction,
    ) -> Result<WeComLinked> {
        let userid = userid.map(WeComUserId::as_str);
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if let Some(userid) = userid {
                let holder: Option<String> = sqlx::query_scalar(
                    "SELECT username FROM console_users WHERE lower(wecom_userid) = lower($1) AND username <> $2",
                )
                .bind(userid)
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(holder) = holder {
                    return Ok(WeComLinked::Taken(holder));
                }
            }
            let id: Option<i64> =
                sqlx::query_scalar("UPDATE console_users SET wecom_userid = $2 WHERE username = $1 RETURNING id")
                    .bind(username)
                    .bind(userid)
                    .fetch_optional(&mut *tx)
                    .await?;
            if id.is_none() {
                return Ok(WeComLinked::NoSuchUser);
            }
            insert_action!(&mut *tx, done);
            tx.commit().await?;
            Ok(WeComLinked::Linked)
        })
    }

    async fn console_user_by_wecom(&self, userid: &WeComUserId) -> Result<Option<ConsoleUser>> {
        let row: Option<UserRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&format!("SELECT {USER} FROM console_users WHERE lower(wecom_userid) = lower($1)"))
                .bind(userid.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(user).transpose()
    }

    async fn create_console_login_state(&self, state_hash: &str, now: UnixMs, expires_at: UnixMs) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM console_login_states WHERE expires_at <= $1").bind(now.as_millis()).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO console_login_states (state_hash, expires_at) VALUES ($1, $2)")
                .bind(state_hash)
                .bind(expires_at.as_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    async fn take_console_login_state(&self, state_hash: &str, now: UnixMs) -> Result<bool> {
        let spent = with_pool!(self, pool => {
            sqlx::query("DELETE FROM console_login_states WHERE state_hash = $1 AND expires_at > $2")
                .bind(state_hash)
                .bind(now.as_millis())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(spent == 1)
    }
}
