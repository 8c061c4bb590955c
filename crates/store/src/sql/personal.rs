//! Personal data at rest: the columns that can hold a buyer's name, messages or address are sealed with
//! the master key on the way in and opened on the way out; a buyer's rows are found through keyed hashes.
//!
//! Rows written before sealing existed hold plain text, which has no seal prefix; they are read as they
//! are until `shoprelay keys rotate` seals them. A value WITH a seal prefix that does not open is an
//! error, never handed out as it is.

use shoprelay_clock::UnixMs;
use shoprelay_core::event::{Event, EventBody};
use shoprelay_core::ids::ShopId;
use shoprelay_core::secret::{KeyedHash, SecretBox};

use super::outbox::DeliveryRow;
use super::tasks::TaskRow;
use super::{destination_from_sql, Pool, SqlStore};
use crate::error::StoreError;
use crate::model::{DeliveryItem, Task, TaskState};

/// What the master key check fingerprints.
pub(crate) const KEY_CHECK: &[u8] = b"shoprelay master key check";

/// Prefix of a hashed sticky key (older rows hold the key itself).
const STICKY_HASHED: &str = "h1:";

/// Checks the master key against the database and loads (or, on first start, creates) the lookup key.
pub(crate) async fn prepare_keys(pool: &Pool, secrets: &SecretBox) -> Result<KeyedHash, StoreError> {
    let check = secrets.fingerprint(KEY_CHECK);
    let candidate = secrets.new_lookup_key();
    macro_rules! on {
        ($pool:expr) => {{
            sqlx::query("INSERT INTO meta (key, value) VALUES ('master_key_check', $1) ON CONFLICT (key) DO NOTHING")
                .bind(&check)
                .execute($pool)
                .await?;
            let stored: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'master_key_check'")
                .fetch_optional($pool)
                .await?;
            // During a rotation the database may still be checked against the previous key.
            if !stored.is_some_and(|s| secrets.fingerprints(KEY_CHECK).contains(&s)) {
                return Err(StoreError::Seal(shoprelay_core::secret::SealError::Open));
            }
            sqlx::query("INSERT INTO meta (key, value) VALUES ('lookup_key', $1) ON CONFLICT (key) DO NOTHING")
                .bind(&candidate)
                .execute($pool)
                .await?;
            let sealed: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'lookup_key'")
                .fetch_one($pool)
                .await?;
            Ok(secrets.open_lookup_key(&sealed)?)
        }};
    }
    match pool {
        Pool::Sqlite { write, .. } => on!(write),
        Pool::Postgres(pg) => on!(pg),
    }
}

/// A buyer's name as the hashes see it: Shopee user names do not depend on case or surrounding blanks.
fn normalise_buyer(name: &str) -> String {
    name.trim().to_lowercase()
}

impl SqlStore {
    /// Seals a column value that may hold personal data.
    pub(crate) fn seal_pii(&self, plain: &str) -> String {
        self.secrets.seal_str(plain)
    }

    /// Opens a column value sealed by [`SqlStore::seal_pii`]; a row older than sealing is returned as it is.
    pub(crate) fn open_pii(&self, stored: String) -> Result<String, StoreError> {
        if SecretBox::is_sealed(&stored) {
            Ok(self.secrets.open_str(&stored)?)
        } else {
            Ok(stored)
        }
    }

    /// The keyed hash that finds everything about one buyer of one shop.
    pub(crate) fn hash_buyer(&self, shop: ShopId, buyer: &str) -> String {
        self.lookup.hash("buyer", &format!("{shop}:{}", normalise_buyer(buyer)))
    }

    /// The buyer an event is about (the sender of a message, else the order's buyer), hashed.
    pub(crate) fn event_buyer_hash(&self, e: &Event) -> Option<String> {
        let buyer = match &e.body {
            EventBody::BuyerMessage { from_user_name, .. } => Some(from_user_name.as_str()),
            _ => e.order.as_ref().and_then(|o| o.buyer_username.as_deref()),
        }?;
        Some(self.hash_buyer(e.shop_id?, buyer))
    }

    /// A task's sticky key (`buyer:SHOP:NAME`, `order:SHOP:SN`) as stored: hashed, since it can name a buyer.
    pub(crate) fn sticky_hash(&self, key: &str) -> String {
        format!("{STICKY_HASHED}{}", self.lookup.hash("sticky", key))
    }

    /// On SQLite, copies the write-ahead log into the database and empties it: the log keeps earlier
    /// versions of pages (a deleted buyer's rows, values before re-sealing) until then. Best effort: a
    /// reader holding an old snapshot makes SQLite stop early, and the next checkpoint finishes the job.
    pub(crate) async fn truncate_wal(&self) -> Result<(), StoreError> {
        if let Pool::Sqlite { write, .. } = &self.pool {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(write).await?;
        }
        Ok(())
    }

    /// Whether a stored sticky key is already hashed.
    pub(crate) fn is_sticky_hashed(stored: &str) -> bool {
        stored.starts_with(STICKY_HASHED)
    }

    /// A claimed or listed delivery with its destination parsed and its payload and summary opened.
    pub(crate) fn open_delivery(&self, d: DeliveryRow) -> Result<DeliveryItem, StoreError> {
        Ok(DeliveryItem {
            destination: destination_from_sql("deliveries", &d.destination)?,
            payload: self.open_pii(d.payload)?,
            summary: self.open_pii(d.summary)?,
            id: d.id,
            event_id: d.event_id,
            route_id: d.route_id,
            shop_id: d.shop_id,
            order_sn: d.order_sn,
            attempts: d.attempts,
            created_at: UnixMs::from_millis(d.created_at),
            claim_token: d.claim_token,
            priority: d.priority,
            recipients: d.recipients,
        })
    }

    /// A task with its state parsed and its summary opened.
    pub(crate) fn opened_task(&self, t: TaskRow) -> Result<Task, StoreError> {
        let state = TaskState::parse(&t.state).ok_or_else(|| StoreError::Corrupt {
            table: "tasks",
            reason: format!("state `{}`", t.state),
        })?;
        Ok(Task {
            summary: self.open_pii(t.summary)?,
            state,
            id: t.id,
            rule_id: t.rule_id,
            event_key: t.event_key,
            shop_id: t.shop_id,
            order_sn: t.order_sn,
            assignee: t.assignee,
            token: t.token,
            created_at: UnixMs::from_millis(t.created_at),
            escalate_at: t.escalate_at.map(UnixMs::from_millis),
            acked_at: t.acked_at.map(UnixMs::from_millis),
            acked_by: t.acked_by,
        })
    }
}
