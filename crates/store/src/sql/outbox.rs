//! The outbox: deliveries claimed, attempted and closed with their audit entries; destinations' pauses and
//! breakers; the send log budgets are counted over; digests; replay of dead letters.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::destination::Destination;

use super::{
    destination_from_sql, insert_event, notify, skip_locked, with_pool, with_read_pool, BeginWrite, SqlStore,
    OUTBOX_CHANNEL,
};
use crate::model::*;
use crate::store::{Outbox, Result, Writes};

/// Values bound per statement when a list can be long (SQLite allows 32,766, PostgreSQL 65,535).
const BIND_CHUNK: usize = 1_000;

/// Deliveries of one destination handed out per claim, so one destination's backlog never fills a
/// whole claim and starves the others.
const PER_DESTINATION: i64 = 8;

const DELIVERY_COLUMNS: &str = "id, event_id, route_id, destination, shop_id, order_sn, payload, attempts, created_at,
     COALESCE(claim_token, '') AS claim_token, priority, summary, recipients";

/// A [`DeliveryItem`] as its row holds it: destination not yet parsed, payload and summary still sealed.
#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    pub(crate) id: i64,
    pub(crate) event_id: i64,
    pub(crate) route_id: String,
    pub(crate) destination: String,
    pub(crate) shop_id: Option<i64>,
    pub(crate) order_sn: Option<String>,
    pub(crate) payload: String,
    pub(crate) attempts: i64,
    pub(crate) created_at: i64,
    pub(crate) claim_token: String,
    pub(crate) priority: i64,
    pub(crate) summary: String,
    pub(crate) recipients: String,
}

/// A [`HeldDelivery`] as its row holds it.
#[derive(sqlx::FromRow)]
struct HeldRow {
    #[sqlx(flatten)]
    item: DeliveryRow,
    quiet_until: i64,
}

/// A [`DestinationState`] as its row holds it.
#[derive(sqlx::FromRow)]
struct DestinationRow {
    destination: String,
    paused_until: i64,
    state: String,
    reason: String,
    failures: i64,
}

impl DestinationRow {
    fn parse(self) -> Result<DestinationState> {
        let state = BreakerState::parse(&self.state).ok_or_else(|| crate::StoreError::Corrupt {
            table: "destinations",
            reason: format!("state `{}`", self.state),
        })?;
        Ok(DestinationState {
            destination: destination_from_sql("destinations", &self.destination)?,
            paused_until: UnixMs::from_millis(self.paused_until),
            state,
            reason: self.reason,
            failures: self.failures,
        })
    }
}

/// The claim of the listed deliveries that are still claimable, pushed onto `q`: each row checked again
/// where it is locked, so a row claimed (PostgreSQL: by another replica), sent or put back since it was
/// found is skipped instead of claimed twice or early. The rows are looked up by id only (see
/// [`SqlStore::by_id_only`]): SQLite otherwise searched `deliveries_due` for every due row, a backlog's
/// worth, and kept the listed ones.
pub(crate) fn push_delivery_claim<DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<'_, DB>,
    ids: &[i64],
    until: i64,
    token: String,
    now: i64,
    store: &SqlStore,
) where
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.push("UPDATE deliveries SET claimed_until = ").push_bind(until);
    q.push(", claim_token = ").push_bind(token);
    q.push(" WHERE id IN (SELECT id FROM deliveries")
        .push(store.by_id_only());
    q.push(" WHERE id IN (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(") AND state = 'pending' AND claimed_until <= ").push_bind(now);
    q.push(" AND next_attempt_at <= ").push_bind(now);
    q.push(format!(" {}) RETURNING {DELIVERY_COLUMNS}", skip_locked(store)));
}

#[async_trait]
impl Outbox for SqlStore {
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: UnixMs,
        lease: Duration,
        destination_lease: Duration,
        limit: i64,
    ) -> Result<Vec<DeliveryItem>> {
        // `UnixMs + Duration` saturates, so no lease, however long, overflows the column.
        let until = (now + lease).as_millis();
        let lease_until = (now + destination_lease).as_millis();
        let now = now.as_millis();
        // First the destinations with due work that are neither paused, leased to another process, nor
        // busy with another claim (a dead replica's claims run out first, so nothing overtakes); urgent
        // and oldest first. Then a few deliveries of each, in order, read from the index — never a pass
        // over a whole backlog, which can be a million rows for one destination.
        // Grouped first, checked after: the in-flight, pause and lease checks run once per destination,
        // not once per due row (a backlog can be a million rows), and the grouping reads only the
        // covering index `deliveries_claimable`.
        let destinations_sql = "SELECT destination FROM (
                 SELECT destination, MIN(priority) AS first_priority, MIN(id) AS first_id FROM deliveries
                 WHERE state = 'pending' AND next_attempt_at <= $1 AND claimed_until <= $1
                 GROUP BY destination
             ) d
             WHERE NOT EXISTS (SELECT 1 FROM deliveries c WHERE c.destination = d.destination
                               AND c.state = 'pending' AND c.claimed_until > $1)
               AND NOT EXISTS (SELECT 1 FROM destinations p WHERE p.destination = d.destination AND p.paused_until > $1)
               AND NOT EXISTS (SELECT 1 FROM destination_leases l
                               WHERE l.destination = d.destination AND l.owner <> $2 AND l.until > $1)
             ORDER BY first_priority, first_id LIMIT $3";
        let token = uuid::Uuid::new_v4().to_string();
        // What to claim is found first, on a read connection: the search reads the index of every due
        // row, and on SQLite the one write connection (and the acknowledgements queued for it) would
        // wait for it. The claim below checks each row again under the lock, so what changed in between
        // is skipped, not claimed twice.
        let ids: Vec<i64> = with_read_pool!(self, pool => {
            let candidates: Vec<String> = sqlx::query_scalar(destinations_sql)
                .bind(now)
                .bind(owner)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            // A few deliveries of each destination, in order, from the index — one statement for all of
            // them (each a round trip to SQLite's connection thread otherwise).
            let per_destination = limit.min(PER_DESTINATION);
            let mut ids: Vec<i64> = Vec::new();
            if !candidates.is_empty() {
                let mut next = sqlx::QueryBuilder::new("");
                for (i, destination) in candidates.iter().enumerate() {
                    if i > 0 {
                        next.push(" UNION ALL ");
                    }
                    next.push("SELECT id, destination FROM (SELECT id, destination FROM deliveries WHERE destination = ");
                    next.push_bind(destination.as_str());
                    next.push(" AND state = 'pending' AND next_attempt_at <= ").push_bind(now);
                    next.push(" AND claimed_until <= ").push_bind(now);
                    next.push(" ORDER BY priority, id LIMIT ").push_bind(per_destination);
                    next.push(format!(") n{i}"));
                }
                let rows: Vec<(i64, String)> = next.build_query_as().fetch_all(pool).await?;
                let mut by_destination: HashMap<&str, Vec<i64>> = HashMap::new();
                for (id, destination) in &rows {
                    by_destination.entry(destination.as_str()).or_default().push(*id);
                }
                // Urgent and oldest destinations first, until the claim is full.
                for destination in &candidates {
                    let room = (limit - ids.len() as i64).max(0) as usize;
                    let next = by_destination.remove(destination.as_str()).unwrap_or_default();
                    ids.extend(next.into_iter().take(room));
                }
            }
            ids
        });
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut items: Vec<DeliveryRow> = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut items: Vec<DeliveryRow> = Vec::new();
            if !ids.is_empty() {
                let mut claim = sqlx::QueryBuilder::new("");
                push_delivery_claim(&mut claim, &ids, until, token.clone(), now, self);
                items = claim.build_query_as().fetch_all(&mut *tx).await?;
            }
            let mut destinations: Vec<String> = items.iter().map(|d| d.destination.clone()).collect();
            destinations.sort();
            destinations.dedup();
            if !destinations.is_empty() {
                // Take the leases unless another process holds a live one (it may have won a race with us):
                // one statement, in a fixed order so two replicas cannot deadlock; it returns those taken.
                let mut lease = sqlx::QueryBuilder::new("INSERT INTO destination_leases (destination, owner, until) ");
                lease.push_values(&destinations, |mut row, destination| {
                    row.push_bind(destination.as_str())
                        .push_bind(owner)
                        .push_bind(lease_until);
                });
                lease.push(
                    " ON CONFLICT (destination) DO UPDATE SET owner = excluded.owner, until = excluded.until
                     WHERE destination_leases.owner = excluded.owner OR destination_leases.until <= ",
                );
                lease.push_bind(now).push(" RETURNING destination");
                let taken: HashSet<String> = lease
                    .build_query_scalar::<String>()
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
                let lost: Vec<&String> = destinations.iter().filter(|d| !taken.contains(*d)).collect();
                if !lost.is_empty() {
                    let mut release = sqlx::QueryBuilder::new("UPDATE deliveries SET claimed_until = 0 WHERE claim_token = ");
                    release.push_bind(token.as_str()).push(" AND destination IN (");
                    let mut list = release.separated(", ");
                    for destination in &lost {
                        list.push_bind(destination.as_str());
                    }
                    release.push(")");
                    release.build().execute(&mut *tx).await?;
                    items.retain(|d| taken.contains(&d.destination));
                }
            }
            tx.commit().await?;
            items
        });
        items.sort_by_key(|d| (d.priority, d.id));
        items.into_iter().map(|d| self.open_delivery(d)).collect()
    }

    async fn renew_destination_leases(&self, owner: &str, until: UnixMs) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE destination_leases SET until = $1 WHERE owner = $2").bind(until.as_millis()).bind(owner).execute(pool).await?;
        });
        Ok(())
    }

    async fn release_destination_leases(&self, owner: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM destination_leases WHERE owner = $1").bind(owner).execute(pool).await?;
        });
        Ok(())
    }

    async fn finish_delivery(&self, item: &DeliveryItem, result: DeliveryResult, audit: AuditEntry) -> Result<bool> {
        self.finish(item, result, audit, None).await
    }

    async fn finish_sent(
        &self,
        item: &DeliveryItem,
        result: DeliveryResult,
        audit: AuditEntry,
        reserved_at: UnixMs,
        settled_at: UnixMs,
    ) -> Result<bool> {
        self.finish(item, result, audit, Some((reserved_at, settled_at))).await
    }

    async fn insert_event(&self, event: NewEvent, now: UnixMs) -> Result<bool> {
        let now = now.as_millis();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let inbox: Option<i64> = None;
            let created = insert_event!(self, tx, inbox, &event, now);
            notify!(self, tx, OUTBOX_CHANNEL);
            tx.commit().await?;
            Ok(created)
        })
    }

    async fn queue_depths(&self) -> Result<QueueDepths> {
        let (inbox_pending, deliveries_pending, deliveries_dead): (i64, i64, i64) = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM inbox WHERE state = 'pending'),
                        (SELECT COUNT(*) FROM deliveries WHERE state = 'pending'),
                        (SELECT COUNT(*) FROM deliveries WHERE state = 'dead')",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(QueueDepths {
            inbox_pending,
            deliveries_pending,
            deliveries_dead,
        })
    }

    async fn destination(&self, destination: &Destination) -> Result<Option<DestinationState>> {
        let row: Option<DestinationRow> = with_read_pool!(self, pool => {
            sqlx::query_as("SELECT destination, paused_until, state, reason, failures FROM destinations WHERE destination = $1")
                .bind(destination.to_string())
                .fetch_optional(pool)
                .await?
        });
        row.map(DestinationRow::parse).transpose()
    }

    async fn set_destination(&self, d: &DestinationState, now: UnixMs) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO destinations (destination, paused_until, state, reason, failures, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (destination) DO UPDATE SET paused_until = excluded.paused_until, state = excluded.state,
                    reason = excluded.reason, failures = excluded.failures, updated_at = excluded.updated_at",
            )
            .bind(d.destination.to_string())
            .bind(d.paused_until.as_millis())
            .bind(d.state.as_str())
            .bind(&d.reason)
            .bind(d.failures)
            .bind(now.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn release_held_destinations(&self, now: UnixMs) -> Result<u64> {
        let now = now.as_millis();
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // The held messages wait with their destination; bring them forward too (not those waiting
            // out quiet hours).
            sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1 WHERE state = 'pending' AND next_attempt_at > $1
                   AND quiet_until IS NULL AND destination IN (SELECT destination FROM destinations WHERE state = 'held' AND paused_until > $1)",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let released = sqlx::query("UPDATE destinations SET paused_until = $1, updated_at = $1 WHERE state = 'held' AND paused_until > $1")
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            released
        }))
    }

    async fn release_paced(&self, now: UnixMs, until: UnixMs) -> Result<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1 WHERE state = 'pending' AND attempts = 0
                   AND next_attempt_at > $1 AND next_attempt_at <= $2 AND claimed_until <= $1 AND quiet_until IS NULL",
            )
            .bind(now.as_millis())
            .bind(until.as_millis())
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    async fn reserve_send(&self, destination: &Destination, members: &[String], at: UnixMs) -> Result<()> {
        let batch = WriteBatch {
            sends: vec![SendReservation {
                destination: destination.clone(),
                members: members.to_vec(),
                at,
            }],
            ..WriteBatch::default()
        };
        self.write_batch(&batch, at).await?;
        Ok(())
    }

    async fn member_send_counts(
        &self,
        destination: &Destination,
        members: &[String],
        since: UnixMs,
    ) -> Result<Vec<(String, i64, UnixMs)>> {
        let destination = destination.to_string();
        let counts = with_read_pool!(self, pool => {
            let mut out: Vec<(String, i64, i64)> = Vec::new();
            for chunk in members.chunks(BIND_CHUNK) {
                let mut q = sqlx::QueryBuilder::new("SELECT member, COUNT(*), MIN(at) FROM sends WHERE destination = ");
                q.push_bind(destination.as_str()).push(" AND at > ").push_bind(since.as_millis()).push(" AND member IN (");
                let mut list = q.separated(", ");
                for member in chunk {
                    list.push_bind(member.as_str());
                }
                q.push(") GROUP BY member");
                out.extend(q.build_query_as::<(String, i64, i64)>().fetch_all(pool).await?);
            }
            out
        });
        Ok(counts
            .into_iter()
            .map(|(member, count, oldest)| (member, count, UnixMs::from_millis(oldest)))
            .collect())
    }

    async fn unreported_unreached(
        &self,
        destination: &Destination,
        day: i64,
        values: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        let reported: Vec<(String, String)> = with_read_pool!(self, pool => {
            sqlx::query_as("SELECT kind, value FROM unreached_reports WHERE destination = $1 AND day = $2")
                .bind(destination.to_string())
                .bind(day)
                .fetch_all(pool)
                .await?
        });
        Ok(values.iter().filter(|v| !reported.contains(v)).cloned().collect())
    }

    async fn report_unreached(
        &self,
        destination: &Destination,
        day: i64,
        values: &[(String, String)],
        notice: NewEvent,
        now: UnixMs,
    ) -> Result<bool> {
        let destination = destination.to_string();
        let now = now.as_millis();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (kind, value) in values {
                let new = sqlx::query(
                    "INSERT INTO unreached_reports (destination, kind, value, day, reported_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT DO NOTHING",
                )
                .bind(&destination)
                .bind(kind)
                .bind(value)
                .bind(day)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if new == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
            }
            let inbox: Option<i64> = None;
            insert_event!(self, tx, inbox, &notice, now);
            notify!(self, tx, OUTBOX_CHANNEL);
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn count_sends(
        &self,
        destination: &Destination,
        member: &str,
        since: UnixMs,
    ) -> Result<(i64, Option<UnixMs>)> {
        let (count, oldest): (i64, Option<i64>) = with_read_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*), MIN(at) FROM sends WHERE destination = $1 AND member = $2 AND at > $3")
                .bind(destination.to_string())
                .bind(member)
                .bind(since.as_millis())
                .fetch_one(pool)
                .await?
        });
        Ok((count, oldest.map(UnixMs::from_millis)))
    }

    async fn prune_sends(&self, before: UnixMs) -> Result<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query("DELETE FROM sends WHERE at < $1").bind(before.as_millis()).execute(pool).await?.rows_affected()
        }))
    }

    async fn prune_unreached(&self, before: UnixMs) -> Result<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query("DELETE FROM unreached_reports WHERE reported_at < $1")
                .bind(before.as_millis())
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    async fn coalescible(&self, destination: &Destination, _now: UnixMs, limit: i64) -> Result<Vec<DeliveryItem>> {
        // Only deliveries no claim holds or has left unfinished (`claimed_until = 0`): one whose claim
        // lapsed without a result (its process died) may have been sent, and must be sent again as the
        // same bytes, which WeCom's duplicate check absorbs, not folded into a digest that repeats it.
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE destination = $1 AND state = 'pending' AND priority = $2 AND claimed_until = 0 AND attempts = 0
               AND route_id <> 'digest' AND quiet_until IS NULL
             ORDER BY id LIMIT $3"
        );
        let items: Vec<DeliveryRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(destination.to_string()).bind(PRIORITY_BULK).bind(limit).fetch_all(pool).await?
        });
        items.into_iter().map(|d| self.open_delivery(d)).collect()
    }

    async fn count_coalescible(&self, destination: &Destination, _now: UnixMs, limit: i64) -> Result<i64> {
        // Counted from the index, never further than asked: a backlog can be a million rows.
        Ok(with_read_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM deliveries
                   WHERE destination = $1 AND state = 'pending' AND priority = $2 AND claimed_until = 0 AND attempts = 0
                     AND route_id <> 'digest' AND quiet_until IS NULL
                   LIMIT $3) q",
            )
            .bind(destination.to_string())
            .bind(PRIORITY_BULK)
            .bind(limit)
            .fetch_one(pool)
            .await?
        }))
    }

    async fn create_digest(&self, members: &[i64], d: NewDelivery, token: &str, now: UnixMs) -> Result<Option<i64>> {
        let Some(first) = members.first() else { return Ok(None) };
        let now = now.as_millis();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let event_id: i64 = sqlx::query_scalar("SELECT event_id FROM deliveries WHERE id = $1")
                .bind(first)
                .fetch_one(&mut *tx)
                .await?;
            let digest_id: i64 = sqlx::query_scalar(
                "INSERT INTO deliveries (event_id, route_id, destination, payload, state, next_attempt_at, created_at, updated_at,
                     priority, summary, recipients, link_token)
                 VALUES ($1, $2, $3, $9, 'pending', $4, $4, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(event_id)
            .bind(&d.route_id)
            .bind(d.destination.to_string())
            .bind(now)
            .bind(d.priority)
            .bind(self.seal_pii(&d.summary))
            .bind(&d.recipients)
            .bind(token)
            .bind(self.seal_pii(&d.payload))
            .fetch_one(&mut *tx)
            .await?;
            let mut folded = 0;
            for id in members {
                folded += sqlx::query(
                    "UPDATE deliveries SET state = 'coalesced', digest_id = $1, updated_at = $2
                     WHERE id = $3 AND state = 'pending' AND claimed_until <= $2",
                )
                .bind(digest_id)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            if folded != members.len() as u64 {
                // Someone claimed one meanwhile: leave everything as it was.
                tx.rollback().await?;
                return Ok(None);
            }
            notify!(self, tx, OUTBOX_CHANNEL);
            tx.commit().await?;
            Ok(Some(digest_id))
        })
    }

    async fn digest_items(&self, token: &str) -> Result<Vec<DigestItem>> {
        let items: Vec<(i64, String, Option<String>, i64)> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT m.id, m.summary, m.order_sn, m.created_at FROM deliveries m
                 JOIN deliveries d ON m.digest_id = d.id WHERE d.link_token = $1 ORDER BY m.id",
            )
            .bind(token)
            .fetch_all(pool)
            .await?
        });
        items
            .into_iter()
            .map(|(id, summary, order_sn, created_at)| {
                Ok(DigestItem {
                    id,
                    summary: self.open_pii(summary)?,
                    order_sn,
                    created_at: UnixMs::from_millis(created_at),
                })
            })
            .collect()
    }

    async fn replay_dead(&self, f: &ReplayFilter, now: UnixMs, limit: i64) -> Result<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, claimed_until = 0, updated_at = $1
                 WHERE id IN (SELECT id FROM deliveries WHERE state = 'dead'
                    AND ($2 IS NULL OR id = $2) AND ($3 IS NULL OR destination = $3) AND ($4 IS NULL OR shop_id = $4
                         OR id IN (SELECT digest_id FROM deliveries WHERE state = 'coalesced' AND shop_id = $4))
                    AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6)
                    ORDER BY id LIMIT $7)",
            )
            .bind(now.as_millis())
            .bind(f.id)
            .bind(f.destination.as_ref().map(Destination::to_string))
            .bind(f.shop_id)
            .bind(f.from)
            .bind(f.to)
            .bind(limit)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    async fn rule_counters(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_as("SELECT route_id, state, COUNT(*) FROM deliveries GROUP BY route_id, state ORDER BY route_id, state")
                .fetch_all(pool)
                .await?
        }))
    }

    async fn quiet_due(&self, now: UnixMs, limit: i64) -> Result<Vec<HeldDelivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, quiet_until FROM deliveries
             WHERE quiet_until IS NOT NULL AND quiet_until <= $1 AND state = 'pending' AND claimed_until <= $1
             ORDER BY destination, recipients, id LIMIT $2"
        );
        let held: Vec<HeldRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(now.as_millis()).bind(limit).fetch_all(pool).await?
        });
        held.into_iter()
            .map(|h| {
                Ok(HeldDelivery {
                    item: self.open_delivery(h.item)?,
                    quiet_until: UnixMs::from_millis(h.quiet_until),
                })
            })
            .collect()
    }

    async fn unhold(&self, ids: &[i64], now: UnixMs) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(with_pool!(self, pool => {
            let mut q = sqlx::QueryBuilder::new("UPDATE deliveries SET quiet_until = NULL, next_attempt_at = ");
            q.push_bind(now.as_millis()).push(" WHERE quiet_until IS NOT NULL AND id IN (");
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            q.push(")");
            q.build().execute(pool).await?.rows_affected()
        }))
    }

    async fn rule_matches(&self) -> Result<Vec<(String, i64)>> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_as("SELECT route_id, COUNT(DISTINCT event_id) FROM deliveries GROUP BY route_id ORDER BY route_id")
                .fetch_all(pool)
                .await?
        }))
    }

    async fn count_dead(&self, f: &ReplayFilter) -> Result<i64> {
        Ok(with_read_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'dead'
                    AND ($1 IS NULL OR id = $1) AND ($2 IS NULL OR destination = $2) AND ($3 IS NULL OR shop_id = $3
                         OR id IN (SELECT digest_id FROM deliveries WHERE state = 'coalesced' AND shop_id = $3))
                    AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5)",
            )
            .bind(f.id)
            .bind(f.destination.as_ref().map(Destination::to_string))
            .bind(f.shop_id)
            .bind(f.from)
            .bind(f.to)
            .fetch_one(pool)
            .await?
        }))
    }
}

impl SqlStore {
    /// Closes an attempt: its state, its audit entry and (when it was sent) its send's settled time, in one
    /// transaction. The state changes only while the claim holds.
    async fn finish(
        &self,
        item: &DeliveryItem,
        result: DeliveryResult,
        audit: AuditEntry,
        settle: Option<(UnixMs, UnixMs)>,
    ) -> Result<bool> {
        let now = audit.at;
        let batch = WriteBatch {
            finishes: vec![DeliveryFinish {
                id: item.id,
                claim_token: item.claim_token.clone(),
                destination: item.destination.clone(),
                result,
                audit,
                settle,
            }],
            ..WriteBatch::default()
        };
        Ok(self
            .write_batch(&batch, now)
            .await?
            .finishes
            .first()
            .copied()
            .unwrap_or(false))
    }
}
