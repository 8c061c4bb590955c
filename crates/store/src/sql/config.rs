//! Configuration objects: applied as a whole set, atomically (`apply`), or one at a time (rules API).

use std::collections::HashMap;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;

use super::{with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::model::*;
use crate::store::{ConfigRepo, Result};

/// Creates or replaces one configuration object inside the open transaction `$tx`, written from
/// `$origin` (a macro: the transaction's type differs per backend).
macro_rules! upsert_object {
    ($tx:ident, $object:expr, $now:expr, $origin:expr) => {{
        let o: &ConfigObject = $object;
        let origin: ConfigOrigin = $origin;
        sqlx::query(
            "INSERT INTO config_objects (kind, id, body, fingerprint, updated_at, origin) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, fingerprint = excluded.fingerprint,
             updated_at = excluded.updated_at, origin = excluded.origin",
        )
        .bind(&o.kind)
        .bind(&o.id)
        .bind(&o.body)
        .bind(&o.fingerprint)
        .bind($now.as_millis())
        .bind(origin.as_str())
        .execute(&mut *$tx)
        .await?;
    }};
}

#[derive(sqlx::FromRow)]
struct Row {
    kind: String,
    id: String,
    body: String,
    fingerprint: String,
}

#[async_trait]
impl ConfigRepo for SqlStore {
    async fn apply_config(&self, objects: &[ConfigObject], now: UnixMs) -> Result<Vec<(String, String, ConfigChange)>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: Vec<Row> = sqlx::query_as("SELECT kind, id, body, fingerprint FROM config_objects")
                .fetch_all(&mut *tx)
                .await?;
            let mut old: HashMap<(String, String), String> =
                existing.into_iter().map(|r| ((r.kind, r.id), r.fingerprint)).collect();
            let mut changes = Vec::with_capacity(objects.len());
            for o in objects {
                let change = match old.remove(&(o.kind.clone(), o.id.clone())) {
                    None => ConfigChange::Created,
                    Some(fp) if fp == o.fingerprint => ConfigChange::Unchanged,
                    Some(_) => ConfigChange::Updated,
                };
                if change == ConfigChange::Unchanged {
                    // The file now says the same as the console did: the object is the file's from here on.
                    sqlx::query("UPDATE config_objects SET origin = $1 WHERE kind = $2 AND id = $3 AND origin <> $1")
                        .bind(ConfigOrigin::File.as_str())
                        .bind(&o.kind)
                        .bind(&o.id)
                        .execute(&mut *tx)
                        .await?;
                } else {
                    upsert_object!(tx, o, now, ConfigOrigin::File);
                }
                changes.push((o.kind.clone(), o.id.clone(), change));
            }
            let mut removed: Vec<(String, String)> = old.into_keys().collect();
            removed.sort();
            for (kind, id) in removed {
                sqlx::query("DELETE FROM config_objects WHERE kind = $1 AND id = $2")
                    .bind(&kind)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                changes.push((kind, id, ConfigChange::Removed));
            }
            tx.commit().await?;
            Ok(changes)
        })
    }

    async fn list_config(&self) -> Result<Vec<ConfigObject>> {
        let rows: Vec<Row> = with_read_pool!(self, pool => {
            sqlx::query_as("SELECT kind, id, body, fingerprint FROM config_objects ORDER BY kind, id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| ConfigObject {
                kind: r.kind,
                id: r.id,
                body: r.body,
                fingerprint: r.fingerprint,
            })
            .collect())
    }

    async fn console_made_config(&self) -> Result<Vec<ConsoleMadeConfig>> {
        let rows: Vec<(String, String, String, i64)> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kind, id, fingerprint, updated_at FROM config_objects WHERE origin = $1 ORDER BY kind, id",
            )
            .bind(ConfigOrigin::Console.as_str())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(kind, id, fingerprint, updated_at)| ConsoleMadeConfig {
                kind,
                id,
                fingerprint,
                updated_at: UnixMs::from_millis(updated_at),
            })
            .collect())
    }

    async fn put_config(&self, o: &ConfigObject, now: UnixMs) -> Result<ConfigChange> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let old: Option<String> = sqlx::query_scalar("SELECT fingerprint FROM config_objects WHERE kind = $1 AND id = $2")
                .bind(&o.kind)
                .bind(&o.id)
                .fetch_optional(&mut *tx)
                .await?;
            let change = match old {
                None => ConfigChange::Created,
                Some(fp) if fp == o.fingerprint => ConfigChange::Unchanged,
                Some(_) => ConfigChange::Updated,
            };
            if change != ConfigChange::Unchanged {
                upsert_object!(tx, o, now, ConfigOrigin::Console);
            }
            tx.commit().await?;
            Ok(change)
        })
    }

    async fn delete_config(&self, kind: &str, id: &str) -> Result<bool> {
        Ok(with_pool!(self, pool => {
            sqlx::query("DELETE FROM config_objects WHERE kind = $1 AND id = $2")
                .bind(kind)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
                == 1
        }))
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(pool).await?
        }))
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
