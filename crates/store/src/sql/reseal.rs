//! Key rotation: every sealed value (shop tokens, configuration secrets, the lookup key, personal data)
//! re-sealed under the current master key a batch at a time, while the server runs with both keys.
//! Each batch commits with its cursor, so an interrupted rotation resumes where it stopped. The same pass
//! seals rows stored before personal data was sealed, and gives their events a buyer hash.

use serde_json::Value;
use shoprelay_clock::UnixMs;
use shoprelay_core::event::Event;
use shoprelay_core::secret::SecretBox;

use super::{with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::error::StoreError;
use crate::model::{AuditEntry, AuditKind, AuditOutcome};

/// What a rotation walks, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResealTarget {
    /// Shop tokens, configuration secrets and the lookup key (few rows, done in one batch).
    Secrets,
    /// Raw pushes.
    Pushes,
    /// Events (their buyer hash filled in where missing).
    Events,
    /// Rendered messages and their summaries.
    Deliveries,
    /// Task summaries (and sticky keys hashed where older rows hold them in clear).
    Tasks,
    /// WeCom callbacks (members' messages, which can quote buyers).
    Callbacks,
    /// Buyers' names in conversations.
    Conversations,
    /// Conversation messages (buyer messages, replies, automatic answers).
    ConversationMessages,
}

impl ResealTarget {
    /// Every target, in the order a rotation walks them.
    pub const ALL: [ResealTarget; 8] = [
        ResealTarget::Secrets,
        ResealTarget::Pushes,
        ResealTarget::Events,
        ResealTarget::Deliveries,
        ResealTarget::Tasks,
        ResealTarget::Callbacks,
        ResealTarget::Conversations,
        ResealTarget::ConversationMessages,
    ];

    /// The name shown in progress and stored with the cursor.
    pub fn as_str(self) -> &'static str {
        match self {
            ResealTarget::Secrets => "secrets",
            ResealTarget::Pushes => "pushes",
            ResealTarget::Events => "events",
            ResealTarget::Deliveries => "deliveries",
            ResealTarget::Tasks => "tasks",
            ResealTarget::Callbacks => "callbacks",
            ResealTarget::Conversations => "conversations",
            ResealTarget::ConversationMessages => "conversation_messages",
        }
    }

    /// The table of a row target, the SELECT of a batch (id, first sealed column, second sealed column,
    /// lookup column; NULL where the table has none), and the compare-and-swap UPDATE of one row ($1 new
    /// first column, $2 id, $3 old first column, $4 the second sealed or the lookup column where the table
    /// has one). `None` for [`ResealTarget::Secrets`], which is not walked by id.
    fn table(self) -> Option<(&'static str, &'static str, &'static str)> {
        Some(match self {
            ResealTarget::Secrets => return None,
            ResealTarget::Pushes => (
                "inbox",
                "SELECT id, body, CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM inbox",
                "UPDATE inbox SET body = $1 WHERE id = $2 AND body = $3",
            ),
            ResealTarget::Events => (
                "events",
                "SELECT id, body, CAST(NULL AS TEXT), buyer_hash FROM events",
                "UPDATE events SET body = $1, buyer_hash = $4 WHERE id = $2 AND body = $3",
            ),
            ResealTarget::Deliveries => (
                "deliveries",
                "SELECT id, payload, summary, CAST(NULL AS TEXT) FROM deliveries",
                "UPDATE deliveries SET payload = $1, summary = $4 WHERE id = $2 AND payload = $3",
            ),
            ResealTarget::Tasks => (
                "tasks",
                "SELECT id, summary, CAST(NULL AS TEXT), sticky_key FROM tasks",
                "UPDATE tasks SET summary = $1, sticky_key = $4 WHERE id = $2 AND summary = $3",
            ),
            ResealTarget::Callbacks => (
                "wecom_callbacks",
                "SELECT id, body, CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM wecom_callbacks",
                "UPDATE wecom_callbacks SET body = $1 WHERE id = $2 AND body = $3",
            ),
            ResealTarget::Conversations => (
                "conversations",
                "SELECT id, buyer_name, CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM conversations",
                "UPDATE conversations SET buyer_name = $1 WHERE id = $2 AND buyer_name = $3",
            ),
            ResealTarget::ConversationMessages => (
                "conversation_messages",
                "SELECT id, text, CAST(NULL AS TEXT), CAST(NULL AS TEXT) FROM conversation_messages",
                "UPDATE conversation_messages SET text = $1 WHERE id = $2 AND text = $3",
            ),
        })
    }
}

/// A row of a batch: id, first sealed column, second sealed column, lookup column.
type BatchRow = (i64, String, Option<String>, Option<String>);

/// A row's new values: first column, then second sealed or lookup column.
type Resealed = (i64, String, String, Option<String>);

/// Rows re-sealed per transaction.
const BATCH: i64 = 500;

impl SqlStore {
    /// The meta key holding a target's cursor for the current key.
    fn cursor_key(&self, target: ResealTarget) -> String {
        format!("reseal:{}:{}", self.secrets.key_id(), target.as_str())
    }

    async fn cursor(&self, target: ResealTarget) -> Result<i64, StoreError> {
        let key = self.cursor_key(target);
        let stored: Option<String> = with_read_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM meta WHERE key = $1").bind(&key).fetch_optional(pool).await?
        });
        Ok(stored.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Rows a rotation still has to look at, from where an earlier run stopped (for its progress bar).
    pub async fn reseal_remaining(&self) -> Result<i64, StoreError> {
        let mut total = 0;
        for target in ResealTarget::ALL {
            let after = self.cursor(target).await?;
            total += match target.table() {
                None => i64::from(after == 0),
                Some((table, _, _)) => {
                    let sql = format!("SELECT COUNT(*) FROM {table} WHERE id > $1");
                    let n: i64 = with_read_pool!(self, pool => {
                        sqlx::query_scalar(&sql).bind(after).fetch_one(pool).await?
                    });
                    n
                }
            };
        }
        Ok(total)
    }

    /// Re-seals the next batch of `target` under the current key (values already under it are left
    /// alone) and moves the target's cursor, in one transaction. Returns the rows looked at, `None` when
    /// the target is done.
    pub async fn reseal_batch(&self, target: ResealTarget) -> Result<Option<u64>, StoreError> {
        let Some((_, select, update)) = target.table() else {
            return self.reseal_secrets().await;
        };
        let after = self.cursor(target).await?;
        let select = format!("{select} WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<BatchRow> = with_pool!(self, pool => {
            sqlx::query_as(&select).bind(after).bind(BATCH).fetch_all(pool).await?
        });
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let mut changed: Vec<(Resealed, String)> = Vec::new();
        for row in &rows {
            if let Some(new) = self.reseal_row(target, row)? {
                changed.push((new, row.1.clone()));
            }
        }
        let cursor = self.cursor_key(target);
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for ((id, first, second, lookup), old) in &changed {
                let q = sqlx::query(update).bind(first).bind(id).bind(old);
                let q = match target {
                    ResealTarget::Deliveries => q.bind(second),
                    ResealTarget::Events | ResealTarget::Tasks => q.bind(lookup.as_deref()),
                    ResealTarget::Secrets
                    | ResealTarget::Pushes
                    | ResealTarget::Callbacks
                    | ResealTarget::Conversations
                    | ResealTarget::ConversationMessages => q,
                };
                q.execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(&cursor)
                .bind(last.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(Some(rows.len() as u64))
    }

    /// A value under the current key, or `None` when it already is.
    fn resealed(&self, stored: &str) -> Result<Option<String>, StoreError> {
        if stored.starts_with(&self.secrets.current_prefix()) {
            return Ok(None);
        }
        Ok(Some(self.seal_pii(&self.open_pii(stored.to_owned())?)))
    }

    /// One row's new values, or `None` when nothing changes.
    fn reseal_row(&self, target: ResealTarget, row: &BatchRow) -> Result<Option<Resealed>, StoreError> {
        let (id, first, second, lookup) = row;
        let new_first = self.resealed(first)?;
        let mut dirty = new_first.is_some();
        let mut new_second = second.clone().unwrap_or_default();
        let mut new_lookup = lookup.clone();
        match target {
            ResealTarget::Deliveries => {
                if let Some(s) = self.resealed(&new_second)? {
                    new_second = s;
                    dirty = true;
                }
            }
            ResealTarget::Events if lookup.is_none() => {
                let event: Event =
                    serde_json::from_str(&self.open_pii(first.clone())?).map_err(|source| StoreError::CorruptJson {
                        table: "events",
                        source,
                    })?;
                new_lookup = self.event_buyer_hash(&event);
                dirty |= new_lookup.is_some();
            }
            ResealTarget::Tasks => {
                if let Some(key) = lookup.as_deref().filter(|k| !Self::is_sticky_hashed(k)) {
                    new_lookup = Some(self.sticky_hash(key));
                    dirty = true;
                }
            }
            _ => {}
        }
        Ok(dirty.then(|| (*id, new_first.unwrap_or_else(|| first.clone()), new_second, new_lookup)))
    }

    /// Shop tokens, configuration secrets and the lookup key, all at once (one cursor value: done).
    async fn reseal_secrets(&self) -> Result<Option<u64>, StoreError> {
        if self.cursor(ResealTarget::Secrets).await? != 0 {
            return Ok(None);
        }
        let cursor = self.cursor_key(ResealTarget::Secrets);
        let mut looked_at = 0u64;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let tokens: Vec<(String, i64, String, String)> =
                sqlx::query_as("SELECT app_id, shop_id, access_token, refresh_token FROM shop_auth")
                    .fetch_all(&mut *tx)
                    .await?;
            for (app, shop, access, refresh) in tokens {
                looked_at += 1;
                let (new_access, new_refresh) = (self.resealed_secret(&access)?, self.resealed_secret(&refresh)?);
                if new_access == access && new_refresh == refresh {
                    continue;
                }
                // A refresh that stored new tokens meanwhile wins: they are sealed under the current key.
                sqlx::query(
                    "UPDATE shop_auth SET access_token = $1, refresh_token = $2
                     WHERE app_id = $3 AND shop_id = $4 AND access_token = $5 AND refresh_token = $6",
                )
                .bind(new_access)
                .bind(new_refresh)
                .bind(&app)
                .bind(shop)
                .bind(&access)
                .bind(&refresh)
                .execute(&mut *tx)
                .await?;
            }
            let objects: Vec<(String, String, String)> = sqlx::query_as("SELECT kind, id, body FROM config_objects")
                .fetch_all(&mut *tx)
                .await?;
            for (kind, id, body) in objects {
                looked_at += 1;
                let Some((new_body, fingerprint)) = self.resealed_config(&body)? else { continue };
                sqlx::query("UPDATE config_objects SET body = $1, fingerprint = $2 WHERE kind = $3 AND id = $4 AND body = $5")
                    .bind(new_body)
                    .bind(fingerprint)
                    .bind(&kind)
                    .bind(&id)
                    .bind(&body)
                    .execute(&mut *tx)
                    .await?;
            }
            let lookup: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'lookup_key'")
                .fetch_one(&mut *tx)
                .await?;
            looked_at += 1;
            let new = self.resealed_secret(&lookup)?;
            if new != lookup {
                sqlx::query("UPDATE meta SET value = $1 WHERE key = 'lookup_key'").bind(new).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(&cursor)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(Some(looked_at))
    }

    /// A secret under the current key (as it was when it already is).
    fn resealed_secret(&self, stored: &str) -> Result<String, StoreError> {
        if stored.starts_with(&self.secrets.current_prefix()) {
            return Ok(stored.to_owned());
        }
        Ok(self.secrets.seal(&self.secrets.open(stored)?))
    }

    /// A configuration body with every sealed string under the current key, and its fingerprint under
    /// the current key (computed, as when it was applied, over the body with its secrets in clear).
    fn resealed_config(&self, body: &str) -> Result<Option<(String, String)>, StoreError> {
        let corrupt = |source| StoreError::CorruptJson {
            table: "config_objects",
            source,
        };
        let mut sealed: Value = serde_json::from_str(body).map_err(corrupt)?;
        let mut plain = sealed.clone();
        if !self.walk_sealed(&mut sealed, &mut plain)? {
            return Ok(None);
        }
        let fingerprint = self.secrets.fingerprint(&serde_json::to_vec(&plain).map_err(corrupt)?);
        Ok(Some((sealed.to_string(), fingerprint)))
    }

    /// Re-seals every sealed string of `sealed` and opens it in its twin `plain`; whether any was not
    /// under the current key.
    fn walk_sealed(&self, sealed: &mut Value, plain: &mut Value) -> Result<bool, StoreError> {
        Ok(match (sealed, plain) {
            (Value::String(s), Value::String(p)) if SecretBox::is_sealed(s) => {
                let secret = self.secrets.open(s)?;
                *p = secret.expose().to_owned();
                if s.starts_with(&self.secrets.current_prefix()) {
                    false
                } else {
                    *s = self.secrets.seal(&secret);
                    true
                }
            }
            (Value::Array(s), Value::Array(p)) => {
                let mut any = false;
                for (s, p) in s.iter_mut().zip(p.iter_mut()) {
                    any |= self.walk_sealed(s, p)?;
                }
                any
            }
            (Value::Object(s), Value::Object(p)) => {
                let mut any = false;
                for (key, s) in s.iter_mut() {
                    if let Some(p) = p.get_mut(key) {
                        any |= self.walk_sealed(s, p)?;
                    }
                }
                any
            }
            _ => false,
        })
    }

    /// Ends a rotation whose every target is done: the database is checked against the current key
    /// from now on (the previous one can go), the cursors are dropped, and the audit log says so.
    pub async fn finish_reseal(&self, looked_at: u64, now: UnixMs) -> Result<(), StoreError> {
        let check = self.secrets.fingerprint(super::personal::KEY_CHECK);
        let prefix = format!("reseal:{}:%", self.secrets.key_id());
        let audit = AuditEntry::new(
            AuditKind::Privacy,
            AuditOutcome::KeysRotated,
            now,
            format!(
                "every sealed value is under master key {} ({looked_at} row(s) looked at)",
                self.secrets.key_id()
            ),
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE meta SET value = $1 WHERE key = 'master_key_check'").bind(&check).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM meta WHERE key LIKE $1").bind(&prefix).execute(&mut *tx).await?;
            super::insert_audit!(&mut *tx, &audit);
            tx.commit().await?;
        });
        self.truncate_wal().await
    }
}
