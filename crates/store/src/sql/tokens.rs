//! API tokens: stored by hash, listed, looked up, marked used and revoked.

use async_trait::async_trait;
use shoprelay_clock::UnixMs;

use super::console::insert_action;
use super::{with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::console::{corrupt, ConsoleAction};
use crate::store::{ApiTokens, Result};
use crate::tokens::{ApiTokenRecord, NewApiToken, TokenCreated, TokenScope};

const TOKEN: &str = "id, name, scope, created_by, created_at, last_used_at, revoked_at";

type TokenRow = (i64, String, String, String, i64, Option<i64>, Option<i64>);

fn token(row: TokenRow) -> Result<ApiTokenRecord> {
    let (id, name, scope, created_by, created_at, last_used_at, revoked_at) = row;
    let scope = TokenScope::parse(&scope).ok_or_else(|| corrupt("api_tokens", format!("scope `{scope}`")))?;
    Ok(ApiTokenRecord {
        id,
        name,
        scope,
        created_by,
        created_at: UnixMs::from_millis(created_at),
        last_used_at: last_used_at.map(UnixMs::from_millis),
        revoked_at: revoked_at.map(UnixMs::from_millis),
    })
}

#[async_trait]
impl ApiTokens for SqlStore {
    async fn create_api_token(&self, new: &NewApiToken, done: &ConsoleAction) -> Result<TokenCreated> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<TokenRow> = sqlx::query_as(&format!(
                "INSERT INTO api_tokens (name, token_hash, scope, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO NOTHING RETURNING {TOKEN}"
            ))
            .bind(&new.name)
            .bind(&new.token_hash)
            .bind(new.scope.as_str())
            .bind(&new.created_by)
            .bind(done.at.as_millis())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(TokenCreated::NameTaken) };
            insert_action!(&mut *tx, done);
            tx.commit().await?;
            Ok(TokenCreated::Created(token(row)?))
        })
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>> {
        let rows: Vec<TokenRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&format!("SELECT {TOKEN} FROM api_tokens ORDER BY id"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(token).collect()
    }

    async fn api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>> {
        let row: Option<TokenRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT {TOKEN} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
            ))
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(token).transpose()
    }

    async fn touch_api_token(&self, id: i64, now: UnixMs) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)")
                .bind(id)
                .bind(now.as_millis())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn revoke_api_token(&self, id: i64, done: &ConsoleAction) -> Result<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let revoked = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(done.at.as_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if revoked == 0 {
                return Ok(false);
            }
            insert_action!(&mut *tx, done);
            tx.commit().await?;
            Ok(true)
        })
    }
}
