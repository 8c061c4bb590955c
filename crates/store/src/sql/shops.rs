//! Shop authorizations: tokens sealed at rest, rotated by compare-and-swap; the shop's profile from its
//! authorization beside them; authorization link states.

use std::collections::HashMap;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::shop::ShopProfile;

use super::{shop_to_sql, with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::error::StoreError;
use crate::model::*;
use crate::store::{Result, ShopAuthRepo};

/// Shops looked up per statement in a batched read.
const KEYS_PER_READ: usize = 300;

#[derive(sqlx::FromRow)]
struct Row {
    app_id: String,
    shop_id: i64,
    access_token: String,
    refresh_token: String,
    // The expiries are unix seconds in their columns (the platforms' unit); the other times are milliseconds.
    access_expires_at: i64,
    refresh_expires_at: i64,
    status: String,
    status_reason: Option<String>,
    version: i64,
}

const COLUMNS: &str =
    "app_id, shop_id, access_token, refresh_token, access_expires_at, refresh_expires_at, status, status_reason, version";

impl SqlStore {
    fn open_row(&self, r: Row) -> Result<ShopAuth> {
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "shop_auth",
            reason,
        };
        Ok(ShopAuth {
            app_id: ConfigId::parse(&r.app_id).map_err(|source| StoreError::CorruptId {
                table: "shop_auth",
                source,
            })?,
            shop_id: u64::try_from(r.shop_id)
                .ok()
                .and_then(|s| ShopId::new(s).ok())
                .ok_or_else(|| corrupt(format!("shop id {}", r.shop_id)))?,
            access_token: self.secrets.open(&r.access_token)?,
            refresh_token: self.secrets.open(&r.refresh_token)?,
            access_expires_at: UnixMs::from_secs(r.access_expires_at),
            refresh_expires_at: UnixMs::from_secs(r.refresh_expires_at),
            status: ShopAuthStatus::parse(&r.status).ok_or_else(|| corrupt(format!("status {}", r.status)))?,
            status_reason: r.status_reason,
            version: r.version,
        })
    }
}

#[async_trait]
impl ShopAuthRepo for SqlStore {
    async fn save_shop_auth(&self, a: &ShopAuth, now: UnixMs) -> Result<()> {
        let access = self.secrets.seal(&a.access_token);
        let refresh = self.secrets.seal(&a.refresh_token);
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO shop_auth (app_id, shop_id, access_token, refresh_token, access_expires_at, refresh_expires_at,
                     status, status_reason, version, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)
                 ON CONFLICT (app_id, shop_id) DO UPDATE SET access_token = excluded.access_token,
                     refresh_token = excluded.refresh_token, access_expires_at = excluded.access_expires_at,
                     refresh_expires_at = excluded.refresh_expires_at, status = excluded.status,
                     status_reason = excluded.status_reason, version = shop_auth.version + 1, updated_at = excluded.updated_at",
            )
            .bind(a.app_id.as_str())
            .bind(shop_to_sql(a.shop_id))
            .bind(access)
            .bind(refresh)
            .bind(a.access_expires_at.as_secs())
            .bind(a.refresh_expires_at.as_secs())
            .bind(a.status.as_str())
            .bind(a.status_reason.as_deref())
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn begin_refresh(&self, app: &ConfigId, shop: ShopId, now: UnixMs, until: UnixMs) -> Result<bool> {
        // One row per shop: the conditional UPDATE takes its row lock, so of two replicas exactly one wins.
        let taken = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO token_refresh (app_id, shop_id, refreshing_until) VALUES ($1, $2, 0)
                 ON CONFLICT (app_id, shop_id) DO NOTHING",
            )
            .bind(app.as_str())
            .bind(shop_to_sql(shop))
            .execute(pool)
            .await?;
            sqlx::query(
                "UPDATE token_refresh SET refreshing_until = $1
                 WHERE app_id = $2 AND shop_id = $3 AND refreshing_until <= $4",
            )
            .bind(until.as_millis())
            .bind(app.as_str())
            .bind(shop_to_sql(shop))
            .bind(now.as_millis())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    async fn end_refresh(&self, app: &ConfigId, shop: ShopId) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE token_refresh SET refreshing_until = 0 WHERE app_id = $1 AND shop_id = $2")
                .bind(app.as_str())
                .bind(shop_to_sql(shop))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn shop_auth(&self, app: &ConfigId, shop: ShopId) -> Result<Option<ShopAuth>> {
        let sql = format!("SELECT {COLUMNS} FROM shop_auth WHERE app_id = $1 AND shop_id = $2");
        let row: Option<Row> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(app.as_str()).bind(shop_to_sql(shop)).fetch_optional(pool).await?
        });
        row.map(|r| self.open_row(r)).transpose()
    }

    async fn shop_auths(&self, shops: &[(ConfigId, ShopId)]) -> Result<Vec<Option<ShopAuth>>> {
        let mut found: HashMap<(String, i64), ShopAuth> = HashMap::with_capacity(shops.len());
        for chunk in shops.chunks(KEYS_PER_READ) {
            let rows: Vec<Row> = with_read_pool!(self, pool => {
                let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM shop_auth WHERE "));
                for (i, (app, shop)) in chunk.iter().enumerate() {
                    q.push(if i == 0 { "(app_id = " } else { " OR (app_id = " });
                    q.push_bind(app.as_str()).push(" AND shop_id = ").push_bind(shop_to_sql(*shop)).push(")");
                }
                q.build_query_as().fetch_all(pool).await?
            });
            for r in rows {
                let key = (r.app_id.clone(), r.shop_id);
                found.insert(key, self.open_row(r)?);
            }
        }
        Ok(shops
            .iter()
            .map(|(app, shop)| found.get(&(app.as_str().to_owned(), shop_to_sql(*shop))).cloned())
            .collect())
    }

    async fn list_shop_auth(&self) -> Result<Vec<ShopAuth>> {
        let sql = format!("SELECT {COLUMNS} FROM shop_auth ORDER BY app_id, shop_id");
        let rows: Vec<Row> = with_read_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(|r| self.open_row(r)).collect()
    }

    async fn rotate_shop_tokens(&self, a: &ShopAuth, now: UnixMs) -> Result<bool> {
        let access = self.secrets.seal(&a.access_token);
        let refresh = self.secrets.seal(&a.refresh_token);
        let won = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE shop_auth SET access_token = $1, refresh_token = $2, access_expires_at = $3,
                     refresh_expires_at = $4, status = $5, status_reason = $6, updated_at = $7, version = version + 1
                 WHERE app_id = $8 AND shop_id = $9 AND version = $10",
            )
            .bind(access)
            .bind(refresh)
            .bind(a.access_expires_at.as_secs())
            .bind(a.refresh_expires_at.as_secs())
            .bind(a.status.as_str())
            .bind(a.status_reason.as_deref())
            .bind(now.as_millis())
            .bind(a.app_id.as_str())
            .bind(shop_to_sql(a.shop_id))
            .bind(a.version)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(won == 1)
    }

    async fn save_shop_profile(
        &self,
        app: &ConfigId,
        shop: ShopId,
        profile: &ShopProfile,
        now: UnixMs,
    ) -> Result<bool> {
        // The adapter's data is kept as the JSON text it wrote; `null` (it keeps none) as NULL.
        let data = match &profile.adapter_data {
            serde_json::Value::Null => None,
            value => Some(serde_json::to_string(value).map_err(|source| StoreError::CorruptJson {
                table: "shop_auth",
                source,
            })?),
        };
        // The version stays: a profile changes no token, so a refresher's compare-and-swap is unaffected.
        let saved = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE shop_auth SET profile_name = $1, profile_region = $2, profile_data = $3, updated_at = $4
                 WHERE app_id = $5 AND shop_id = $6",
            )
            .bind(profile.name.as_deref())
            .bind(profile.region.as_deref())
            .bind(data)
            .bind(now.as_millis())
            .bind(app.as_str())
            .bind(shop_to_sql(shop))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(saved == 1)
    }

    async fn shop_profile(&self, app: &ConfigId, shop: ShopId) -> Result<Option<ShopProfile>> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT profile_name, profile_region, profile_data FROM shop_auth WHERE app_id = $1 AND shop_id = $2",
            )
            .bind(app.as_str())
            .bind(shop_to_sql(shop))
            .fetch_optional(pool)
            .await?
        });
        let Some((name, region, data)) = row else {
            return Ok(None);
        };
        let adapter_data = match data {
            Some(text) => serde_json::from_str(&text).map_err(|source| StoreError::CorruptJson {
                table: "shop_auth",
                source,
            })?,
            None => serde_json::Value::Null,
        };
        let profile = ShopProfile {
            name,
            region,
            adapter_data,
        };
        Ok((!profile.is_empty()).then_some(profile))
    }

    async fn create_auth_state(&self, state: &str, app: &ConfigId, now: UnixMs, expires_at: UnixMs) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // Links nobody completed would pile up otherwise.
            sqlx::query("DELETE FROM auth_states WHERE expires_at <= $1")
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO auth_states (state, app_id, expires_at) VALUES ($1, $2, $3)")
                .bind(state)
                .bind(app.as_str())
                .bind(expires_at.as_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    async fn take_auth_state(&self, state: &str, app: &ConfigId, now: UnixMs) -> Result<bool> {
        // The DELETE is the check: of two redirects carrying one state, exactly one deletes it.
        let taken = with_pool!(self, pool => {
            sqlx::query("DELETE FROM auth_states WHERE state = $1 AND app_id = $2 AND expires_at > $3")
                .bind(state)
                .bind(app.as_str())
                .bind(now.as_millis())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(taken == 1)
    }

    async fn set_shop_status(
        &self,
        app: &ConfigId,
        shop: ShopId,
        status: ShopAuthStatus,
        reason: Option<&str>,
        now: UnixMs,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE shop_auth SET status = $1, status_reason = $2, version = version + 1, updated_at = $3
                 WHERE app_id = $4 AND shop_id = $5",
            )
            .bind(status.as_str())
            .bind(reason)
            .bind(now.as_millis())
            .bind(app.as_str())
            .bind(shop_to_sql(shop))
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
