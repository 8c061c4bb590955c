//! Group commit: several workers' writes — pushes, inbox results, send reservations, delivery results,
//! audit entries — in ONE transaction, each kind as a few multi-row statements. On SQLite every statement
//! is a round trip to the connection's worker thread and every commit an fsync, so a batch of a hundred
//! writes costs about what one did.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;

use shoprelay_clock::UnixMs;
use shoprelay_core::audit_text;

use super::audit::{seal_statement, SEAL_CHUNK};
use super::inbox::claimable;
use super::{shop_to_sql, BeginWrite, Pool, SqlStore, HELD, INBOX_CHANNEL, OUTBOX_CHANNEL};
use crate::model::*;
use crate::store::{Result, Writes};

/// Values bound per statement: within SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 30_000;

/// A stored order time further ahead of now than this is not a real one — the engine applies no push
/// dated more than ten minutes ahead of its arrival — but one written before that check existed: a
/// real push may replace it, so it cannot freeze the order.
const FROZEN_AFTER_SECS: i64 = 600;

/// Rows of `binds` values each that fit in one statement.
fn rows_per_statement(binds: usize) -> usize {
    (MAX_BINDS / binds).max(1)
}

/// What a batch needs computed before its transaction opens (sealing, JSON), so the write lock is held
/// for statements only.
struct Prepared {
    /// Push indexes in dedupe-key order: two replicas' overlapping batches then lock rows in the same
    /// order and cannot deadlock on PostgreSQL.
    push_order: Vec<usize>,
    /// Each push's sealed body (raw pushes carry buyers' names and messages).
    push_bodies: Vec<String>,
    /// Every completion's events, in batch order.
    events: Vec<EventRow>,
}

/// An event of a completion, sealed.
struct EventRow {
    /// Index of its completion in the batch.
    done: usize,
    /// Index of the event in that completion.
    event: usize,
    /// The event as JSON, sealed.
    body: String,
    /// The keyed hash of its buyer, if it names one.
    buyer_hash: Option<String>,
    /// Its deliveries: destination key, sealed payload, sealed summary.
    deliveries: Vec<(String, String, String)>,
}

/// What a closed inbox item's audit entry names: its app, platform, shop and order.
type Closed = (String, String, Option<i64>, Option<String>);

/// An audit row to insert.
struct AuditRow {
    at: i64,
    kind: String,
    outcome: &'static str,
    app_id: Option<String>,
    platform: Option<String>,
    shop_id: Option<i64>,
    order_sn: Option<String>,
    destination: Option<String>,
    attempt: Option<i64>,
    http_status: Option<i64>,
    errcode: Option<i64>,
    latency_ms: Option<i64>,
    detail: String,
    /// The outbox row a delivery attempt sent.
    delivery_id: Option<i64>,
    /// When the push behind a delivery attempt was received.
    received_at: Option<i64>,
}

impl From<&AuditEntry> for AuditRow {
    fn from(a: &AuditEntry) -> Self {
        Self {
            at: a.at.as_millis(),
            kind: a.kind.as_str().to_owned(),
            outcome: a.outcome.as_str(),
            app_id: a.app_id.clone(),
            platform: a.platform.as_ref().map(|p| p.as_str().to_owned()),
            shop_id: a.shop_id,
            order_sn: a.order_sn.clone(),
            destination: a.destination.as_ref().map(ToString::to_string),
            attempt: a.attempt,
            http_status: a.http_status,
            errcode: a.errcode,
            latency_ms: a.latency_ms,
            detail: a.detail.clone(),
            delivery_id: None,
            received_at: None,
        }
    }
}

impl AuditRow {
    /// A push's entry: only the columns a push fills.
    fn push(at: i64, outcome: AuditOutcome, app_id: String, platform: String, shop_id: Option<i64>) -> Self {
        Self {
            at,
            kind: AuditKind::Push.as_str().to_owned(),
            outcome: outcome.as_str(),
            app_id: Some(app_id),
            platform: Some(platform),
            shop_id,
            order_sn: None,
            destination: None,
            attempt: None,
            http_status: None,
            errcode: None,
            latency_ms: None,
            detail: String::new(),
            delivery_id: None,
            received_at: None,
        }
    }
}

/// A delivery result as its columns: state, next attempt time, error, attempts spent.
fn finish_columns(result: &DeliveryResult) -> (DeliveryState, Option<i64>, Option<&str>, i64) {
    match result {
        DeliveryResult::Delivered => (DeliveryState::Delivered, None, None, 1),
        DeliveryResult::Retry { at, error } => (DeliveryState::Pending, Some(at.as_millis()), Some(error.as_str()), 1),
        DeliveryResult::Dead { error } => (DeliveryState::Dead, None, Some(error.as_str()), 1),
        DeliveryResult::Deferred { at, reason } => {
            (DeliveryState::Pending, Some(at.as_millis()), Some(reason.as_str()), 0)
        }
    }
}

/// Splits `items` into rounds in which `key` is unique, keeping their order: one multi-row statement
/// cannot write one row twice (PostgreSQL refuses; SQLite would keep an arbitrary one).
fn rounds<T, K: std::hash::Hash + Eq>(items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut pending = items;
    while !pending.is_empty() {
        let mut keys = HashSet::new();
        let (this, rest): (Vec<T>, Vec<T>) = pending.into_iter().partition(|t| keys.insert(key(t)));
        out.push(this);
        pending = rest;
    }
    out
}

/// Appends `VALUES (id), (id), …`, each typed, for a one-column list to join a table to by id.
fn values_of_ids<DB: sqlx::Database>(q: &mut sqlx::QueryBuilder<'_, DB>, ids: &[i64])
where
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.push("VALUES ");
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            q.push(", ");
        }
        q.push("(CAST(").push_bind(*id).push(" AS BIGINT))");
    }
}

/// The claim of the listed items that are still claimable at `now`, pushed onto `q`. Joined to the list
/// by id: with `id IN (…)` beside `state = 'pending'` SQLite searched every pending item (through an
/// index on the state) for the listed ones — the whole backlog.
pub(crate) fn push_inbox_claim<DB: sqlx::Database>(
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
    q.push("WITH v(claim_id) AS (");
    values_of_ids(q, ids);
    q.push(") UPDATE inbox AS i")
        .push(store.by_id_only())
        .push(" SET claimed_until = ");
    q.push_bind(until).push(", attempts = attempts + 1, claim_token = ");
    // `now` is the batch's own integer, written into the text: the condition names it twice.
    q.push_bind(token)
        .push(format!(" FROM v WHERE i.id = {}v.claim_id AND ", store.list_side()));
    q.push(claimable(&now.to_string())).push(" RETURNING id");
}

/// The close of inbox items after `WITH v(id, token, state, note) AS (VALUES …)`: each item's state and
/// note, only where it is still pending under the claim `token` (the fence of a completion); returns the
/// items closed, with what their audit entries name.
pub(crate) fn close_inbox(store: &SqlStore) -> String {
    let v = store.list_side();
    format!(
        "UPDATE inbox{} SET state = v.state, last_error = v.note, claimed_until = 0 FROM v
         WHERE inbox.id = {v}v.id AND inbox.claim_token = {v}v.token AND inbox.state = 'pending'
         RETURNING inbox.id, inbox.app_id, inbox.platform, inbox.shop_id, inbox.order_sn",
        store.by_id_only()
    )
}

/// The settling of send reservations after `WITH v(d, r, s) AS (VALUES …)`: the reservation of
/// destination `d` made for `r` moved to when the message went, `s`.
pub(crate) fn settle_sends(store: &SqlStore) -> String {
    let v = store.list_side();
    format!("UPDATE sends SET at = v.s FROM v WHERE sends.destination = {v}v.d AND sends.at = {v}v.r")
}

/// The results of delivery attempts after `WITH v(id, token, state, next_at, err, counted, at) AS
/// (VALUES …)`, written only where the claim still holds; returns the deliveries written.
pub(crate) fn finish_deliveries(store: &SqlStore) -> String {
    let v = store.list_side();
    format!(
        "UPDATE deliveries{} SET state = v.state, attempts = deliveries.attempts + v.counted,
             next_attempt_at = COALESCE(v.next_at, deliveries.next_attempt_at),
             last_error = v.err, claimed_until = 0, updated_at = v.at
         FROM v WHERE deliveries.id = {v}v.id AND deliveries.claim_token = {v}v.token
           AND deliveries.state = 'pending'
         RETURNING deliveries.id",
        store.by_id_only()
    )
}

impl SqlStore {
    fn prepare(&self, batch: &WriteBatch) -> Result<Prepared> {
        let mut push_order: Vec<usize> = (0..batch.pushes.len()).collect();
        push_order.sort_by(|a, b| batch.pushes[*a].dedupe_key.cmp(&batch.pushes[*b].dedupe_key));
        let push_bodies = batch.pushes.iter().map(|p| self.seal_pii(&p.body)).collect();
        let mut events = Vec::new();
        for (done, d) in batch.completions.iter().enumerate() {
            for (event, new) in d.completion.events.iter().enumerate() {
                let body = serde_json::to_string(&new.event).map_err(|source| crate::StoreError::CorruptJson {
                    table: "events",
                    source,
                })?;
                events.push(EventRow {
                    done,
                    event,
                    body: self.seal_pii(&body),
                    buyer_hash: self.event_buyer_hash(&new.event),
                    deliveries: new
                        .deliveries
                        .iter()
                        .map(|d| {
                            (
                                d.destination.to_string(),
                                self.seal_pii(&d.payload),
                                self.seal_pii(&d.summary),
                            )
                        })
                        .collect(),
                });
            }
        }
        Ok(Prepared {
            push_order,
            push_bodies,
            events,
        })
    }
}

/// Defines `$name`, the body of [`Writes::write_batch`] inside an open transaction of database `$db`:
/// one text for both backends, whose transactions differ in type.
macro_rules! write_in_transaction {
    ($name:ident, $db:ty) => {
        impl SqlStore {
            async fn $name(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                batch: &WriteBatch,
                prep: &Prepared,
                now: i64,
            ) -> Result<WriteOutcome> {
                let mut out = WriteOutcome {
                    pushes: vec![PushInsert::Duplicate; batch.pushes.len()],
                    completions: vec![None; batch.completions.len()],
                    finishes: vec![false; batch.finishes.len()],
                    claims: Vec::with_capacity(batch.claims.len()),
                    seals: Vec::with_capacity(batch.seals.len()),
                };
                let mut audits: Vec<AuditRow> = Vec::new();

                // Pushes: one multi-row insert; a repeat of a stored push (or of one earlier in the batch)
                // is audited as a duplicate.
                if !batch.pushes.is_empty() {
                    let pushes = &batch.pushes;
                    let mut stored: Vec<(i64, String, String)> = Vec::new();
                    for chunk in prep.push_order.chunks(rows_per_statement(10)) {
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO inbox (platform, app_id, dedupe_key, code, shop_id, order_sn, body, received_at, state, next_attempt_at) ",
                        );
                        insert.push_values(chunk, |mut row, &i| {
                            let p = &pushes[i];
                            row.push_bind(p.platform.as_str())
                                .push_bind(p.app_id.as_str())
                                .push_bind(p.dedupe_key.as_str())
                                .push_bind(p.code)
                                .push_bind(p.shop_id.map(shop_to_sql))
                                .push_bind(p.order_sn.as_ref().map(|o| o.as_str()))
                                .push_bind(prep.push_bodies[i].as_str())
                                .push_bind(p.received_at.as_millis())
                                .push_bind(InboxState::Pending.as_str())
                                .push_bind(p.received_at.as_millis());
                        });
                        insert.push(" ON CONFLICT (platform, app_id, dedupe_key) DO NOTHING RETURNING id, app_id, dedupe_key");
                        stored.extend(insert.build_query_as::<(i64, String, String)>().fetch_all(&mut **tx).await?);
                    }
                    let mut ids: HashMap<(String, String), i64> =
                        stored.into_iter().map(|(id, app, key)| ((app, key), id)).collect();
                    for &i in &prep.push_order {
                        let p = &pushes[i];
                        // A key stored by this batch is "accepted" once; a repeat inside the batch is a duplicate.
                        let outcome = match ids.remove(&(p.app_id.to_string(), p.dedupe_key.clone())) {
                            Some(id) => {
                                out.pushes[i] = PushInsert::Stored(id);
                                AuditOutcome::Accepted
                            }
                            None => AuditOutcome::Duplicate,
                        };
                        let mut row = AuditRow::push(
                            p.received_at.as_millis(),
                            outcome,
                            p.app_id.to_string(),
                            p.platform.as_str().to_owned(),
                            p.shop_id.map(shop_to_sql),
                        );
                        row.order_sn = p.order_sn.as_ref().map(|o| o.as_str().to_owned());
                        row.http_status = Some(200);
                        row.detail = format!("code {} ({})", p.code, p.dedupe_key);
                        audits.push(row);
                    }
                }

                // Completions: the items closed first, only where the claim still holds — a worker whose
                // lease ran out must not write events the new owner also writes — then, for the items
                // closed, events, deliveries and order states. The close is the fence: one statement per
                // round, not a locking read and then a write of the same rows.
                if !batch.completions.is_empty() {
                    // Each closed completion with what its audit entry names: app, platform, shop, order.
                    let mut closed_items: Vec<(usize, Closed)> = Vec::new();
                    // Two completions of one item (a lease lost and the item claimed again in between) go in
                    // separate rounds: the first whose token holds closes it, the other finds it closed.
                    for mut round in rounds((0..batch.completions.len()).collect(), |&i| batch.completions[i].id) {
                        // Ids in order: two replicas' overlapping closes lock rows in the same order.
                        round.sort_by_key(|&i| batch.completions[i].id);
                        for chunk in round.chunks(rows_per_statement(4)) {
                            let mut close = sqlx::QueryBuilder::<$db>::new("WITH v(id, token, state, note) AS (VALUES ");
                            let mut first_row = true;
                            for &i in chunk {
                                let d = &batch.completions[i];
                                if !first_row {
                                    close.push(", ");
                                }
                                first_row = false;
                                close.push("(CAST(").push_bind(d.id).push(" AS BIGINT), CAST(");
                                close.push_bind(d.claim_token.as_str()).push(" AS TEXT), CAST(");
                                close.push_bind(d.completion.state.as_str()).push(" AS TEXT), CAST(");
                                close.push_bind(d.completion.note.as_deref()).push(" AS TEXT))");
                            }
                            close.push(") ").push(close_inbox(self));
                            let closed: Vec<(i64, String, String, Option<i64>, Option<String>)> =
                                close.build_query_as().fetch_all(&mut **tx).await?;
                            let mut by_id: HashMap<i64, Closed> = closed
                                .into_iter()
                                .map(|(id, app, platform, shop, order)| (id, (app, platform, shop, order)))
                                .collect();
                            closed_items.extend(
                                chunk
                                    .iter()
                                    .filter_map(|&i| by_id.remove(&batch.completions[i].id).map(|c| (i, c))),
                            );
                        }
                    }
                    closed_items.sort_by_key(|c| c.0);
                    let held: HashSet<usize> = closed_items.iter().map(|c| c.0).collect();

                    // Events: an event whose dedupe key is stored (or comes earlier in the batch) is skipped whole.
                    let mut first = HashSet::new();
                    let candidates: Vec<&EventRow> = prep
                        .events
                        .iter()
                        .filter(|e| {
                            let key = &batch.completions[e.done].completion.events[e.event].event.dedupe_key;
                            held.contains(&e.done) && first.insert(key.as_str())
                        })
                        .collect();
                    let mut event_ids: HashMap<String, i64> = HashMap::new();
                    for chunk in candidates.chunks(rows_per_statement(10)) {
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO events (dedupe_key, inbox_id, kind, app_id, shop_id, order_sn, occurred_at, body, created_at, buyer_hash) ",
                        );
                        insert.push_values(chunk, |mut row, r| {
                            let d = &batch.completions[r.done];
                            let e = &d.completion.events[r.event].event;
                            row.push_bind(e.dedupe_key.as_str())
                                .push_bind(d.id)
                                .push_bind(e.kind().as_str())
                                .push_bind(e.app.as_str())
                                .push_bind(e.shop_id.map(shop_to_sql))
                                .push_bind(e.order_sn.as_ref().map(|o| o.as_str()))
                                .push_bind(e.occurred_at.as_secs())
                                .push_bind(r.body.as_str())
                                .push_bind(now)
                                .push_bind(r.buyer_hash.as_deref());
                        });
                        insert.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key");
                        event_ids.extend(
                            insert
                                .build_query_as::<(i64, String)>()
                                .fetch_all(&mut **tx)
                                .await?
                                .into_iter()
                                .map(|(id, key)| (key, id)),
                        );
                    }
                    let mut new_events = vec![0usize; batch.completions.len()];
                    let mut rows: Vec<(i64, &EventRow, usize)> = Vec::new();
                    for r in &candidates {
                        let e = &batch.completions[r.done].completion.events[r.event];
                        if let Some(id) = event_ids.get(&e.event.dedupe_key) {
                            new_events[r.done] += 1;
                            rows.extend((0..e.deliveries.len()).map(|j| (*id, *r, j)));
                        }
                    }
                    for chunk in rows.chunks(rows_per_statement(14)) {
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO deliveries (event_id, route_id, destination, shop_id, order_sn, payload, state,
                                 next_attempt_at, created_at, updated_at, priority, summary, recipients, quiet_until) ",
                        );
                        insert.push_values(chunk, |mut row, (event_id, r, j)| {
                            let e = &batch.completions[r.done].completion.events[r.event];
                            let d = &e.deliveries[*j];
                            let (destination, payload, summary) = &r.deliveries[*j];
                            row.push_bind(*event_id)
                                .push_bind(d.route_id.as_str())
                                .push_bind(destination.as_str())
                                .push_bind(e.event.shop_id.map(shop_to_sql))
                                .push_bind(e.event.order_sn.as_ref().map(|o| o.as_str()))
                                .push_bind(payload.as_str())
                                .push_bind(DeliveryState::Pending.as_str())
                                // Held for quiet hours: due never, until released (the claim reads only its index).
                                .push_bind(if d.quiet_until.is_some() { HELD } else { now })
                                .push_bind(now)
                                .push_bind(now)
                                .push_bind(d.priority)
                                .push_bind(summary.as_str())
                                .push_bind(d.recipients.as_str())
                                .push_bind(d.quiet_until.map(UnixMs::as_millis));
                        });
                        insert.build().execute(&mut **tx).await?;
                    }

                    // Order states: an older status never overwrites a newer one, unless the stored one is
                    // dated beyond the window (written before the window existed).
                    let updates: Vec<&OrderStateUpdate> = closed_items
                        .iter()
                        .flat_map(|(i, _)| batch.completions[*i].completion.order_updates.iter())
                        .collect();
                    let key = |u: &&OrderStateUpdate| (u.app_id.as_str().to_owned(), u.shop_id, u.order_sn.as_str().to_owned());
                    for mut round in rounds(updates, key) {
                        round.sort_by_key(key);
                        for chunk in round.chunks(rows_per_statement(7)) {
                            let mut upsert = sqlx::QueryBuilder::<$db>::new(
                                "INSERT INTO order_state (app_id, shop_id, order_sn, status, status_time, updated_at, ship_by_date) ",
                            );
                            upsert.push_values(chunk, |mut row, u| {
                                row.push_bind(u.app_id.as_str())
                                    .push_bind(shop_to_sql(u.shop_id))
                                    .push_bind(u.order_sn.as_str())
                                    .push_bind(u.status.as_str())
                                    .push_bind(u.status_time.as_secs())
                                    .push_bind(now)
                                    .push_bind(u.ship_by_date.map(UnixMs::as_secs));
                            });
                            upsert.push(
                                " ON CONFLICT (app_id, shop_id, order_sn) DO UPDATE SET status = excluded.status,
                                    status_time = excluded.status_time, updated_at = excluded.updated_at,
                                    ship_by_date = COALESCE(excluded.ship_by_date, order_state.ship_by_date)
                                  WHERE excluded.status_time >= order_state.status_time OR order_state.status_time > ",
                            );
                            upsert.push_bind(now.div_euclid(1_000) + FROZEN_AFTER_SECS);
                            upsert.build().execute(&mut **tx).await?;
                        }
                    }

                    // Each closed item's audit entry, now that its new events are counted.
                    for (i, (app_id, platform, shop_id, order_sn)) in closed_items {
                        let d = &batch.completions[i];
                        let n = new_events[i];
                        out.completions[i] = Some(n);
                        let mut row = AuditRow::push(
                            now,
                            AuditOutcome::of_inbox(d.completion.state),
                            app_id,
                            platform,
                            shop_id,
                        );
                        row.order_sn = order_sn;
                        row.detail = audit_text::new_events(n, d.completion.note.as_deref());
                        audits.push(row);
                    }
                    if !held.is_empty() && self.is_postgres() {
                        // Wakes the other replicas' delivery workers (delivered on commit).
                        sqlx::query("SELECT pg_notify($1, '')").bind(OUTBOX_CHANNEL).execute(&mut **tx).await?;
                    }
                }

                // Retries: rare (a marketplace call failed), one statement each.
                for r in &batch.retries {
                    sqlx::query(
                        "UPDATE inbox SET next_attempt_at = $1, last_error = $2, claimed_until = 0
                         WHERE id = $3 AND claim_token = $4 AND state = 'pending'",
                    )
                    .bind(r.next_at.as_millis())
                    .bind(r.error.as_str())
                    .bind(r.id)
                    .bind(r.claim_token.as_str())
                    .execute(&mut **tx)
                    .await?;
                }

                // Claims: the ids a worker found claimable, claimed only if still claimable under the lock.
                for claim in &batch.claims {
                    let until = (UnixMs::from_millis(now) + claim.lease).as_millis();
                    let token = uuid::Uuid::new_v4().to_string();
                    let mut ids: Vec<i64> = Vec::with_capacity(claim.ids.len());
                    for chunk in claim.ids.chunks(rows_per_statement(1)) {
                        let mut update = sqlx::QueryBuilder::<$db>::new("");
                        push_inbox_claim(&mut update, chunk, until, token.clone(), now, self);
                        // Its text changes with `now`: not worth a place in the connection's statement cache.
                        let query = update.build_query_scalar::<i64>().persistent(false);
                        ids.extend(query.fetch_all(&mut **tx).await?);
                    }
                    ids.sort_unstable();
                    out.claims.push(ClaimedInbox { token, ids });
                }

                // Send reservations: a department or `@all` can be thousands of people, still a few statements.
                let sends: Vec<(String, &str, i64)> = batch
                    .sends
                    .iter()
                    .flat_map(|s| {
                        let destination = s.destination.to_string();
                        std::iter::once("*")
                            .chain(s.members.iter().map(String::as_str))
                            .map(move |m| (destination.clone(), m, s.at.as_millis()))
                    })
                    .collect();
                for chunk in sends.chunks(rows_per_statement(3)) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new("INSERT INTO sends (destination, member, at) ");
                    insert.push_values(chunk, |mut row, (destination, member, at)| {
                        row.push_bind(destination.as_str()).push_bind(*member).push_bind(*at);
                    });
                    insert.build().execute(&mut **tx).await?;
                }

                // Delivery results: each sent one's send moved to when WeCom answered, then the states,
                // changed only where the claim still holds.
                let finishes: Vec<usize> = (0..batch.finishes.len()).collect();
                // When the push behind each finished delivery was received: its audit entry keeps it, so
                // the dashboard measures push → accepted from the audit log alone.
                let mut received: HashMap<i64, i64> = HashMap::new();
                let ids: Vec<i64> = batch.finishes.iter().map(|f| f.id).collect();
                for chunk in ids.chunks(rows_per_statement(1)) {
                    let mut select = sqlx::QueryBuilder::<$db>::new(
                        "SELECT d.id, i.received_at FROM deliveries d JOIN events e ON e.id = d.event_id
                         JOIN inbox i ON i.id = e.inbox_id WHERE d.id IN (",
                    );
                    let mut list = select.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    select.push(")");
                    let rows: Vec<(i64, i64)> = select.build_query_as().fetch_all(&mut **tx).await?;
                    received.extend(rows);
                }
                for round in rounds(finishes, |&i| batch.finishes[i].id) {
                    let settled: Vec<(String, i64, i64)> = round
                        .iter()
                        .filter_map(|&i| {
                            let f = &batch.finishes[i];
                            f.settle.map(|(reserved, settled)| {
                                (f.destination.to_string(), reserved.as_millis(), settled.as_millis())
                            })
                        })
                        .collect();
                    for chunk in settled.chunks(rows_per_statement(3)) {
                        let mut settle = sqlx::QueryBuilder::<$db>::new("WITH v(d, r, s) AS (VALUES ");
                        let mut first_row = true;
                        for (destination, reserved, settled) in chunk {
                            if !first_row {
                                settle.push(", ");
                            }
                            first_row = false;
                            settle.push("(CAST(").push_bind(destination.as_str()).push(" AS TEXT), CAST(");
                            settle.push_bind(*reserved).push(" AS BIGINT), CAST(");
                            settle.push_bind(*settled).push(" AS BIGINT))");
                        }
                        settle.push(") ").push(settle_sends(self));
                        settle.build().execute(&mut **tx).await?;
                    }
                    let mut held: HashSet<i64> = HashSet::new();
                    for chunk in round.chunks(rows_per_statement(7)) {
                        let mut update = sqlx::QueryBuilder::<$db>::new(
                            "WITH v(id, token, state, next_at, err, counted, at) AS (VALUES ",
                        );
                        let mut first_row = true;
                        for &i in chunk {
                            let f = &batch.finishes[i];
                            let (state, next_at, error, counted) = finish_columns(&f.result);
                            if !first_row {
                                update.push(", ");
                            }
                            first_row = false;
                            update.push("(CAST(").push_bind(f.id).push(" AS BIGINT), CAST(");
                            update.push_bind(f.claim_token.as_str()).push(" AS TEXT), CAST(");
                            update.push_bind(state.as_str()).push(" AS TEXT), CAST(");
                            update.push_bind(next_at).push(" AS BIGINT), CAST(");
                            update.push_bind(error).push(" AS TEXT), CAST(");
                            update.push_bind(counted).push(" AS BIGINT), CAST(");
                            update.push_bind(f.audit.at.as_millis()).push(" AS BIGINT))");
                        }
                        update.push(") ").push(finish_deliveries(self));
                        held.extend(update.build_query_scalar::<i64>().fetch_all(&mut **tx).await?);
                    }
                    for &i in &round {
                        let f = &batch.finishes[i];
                        out.finishes[i] = held.contains(&f.id);
                        // The attempt is audited whether or not the claim held.
                        let mut row = AuditRow::from(&f.audit);
                        row.delivery_id = Some(f.id);
                        row.received_at = received.get(&f.id).copied();
                        audits.push(row);
                    }
                }

                audits.extend(batch.audits.iter().map(AuditRow::from));
                for chunk in audits.chunks(rows_per_statement(15)) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO audit (at, kind, outcome, app_id, shop_id, order_sn, destination, attempt, http_status,
                             errcode, latency_ms, detail, platform, delivery_id, received_at) ",
                    );
                    insert.push_values(chunk, |mut row, a| {
                        row.push_bind(a.at)
                            .push_bind(a.kind.as_str())
                            .push_bind(a.outcome)
                            .push_bind(a.app_id.as_deref())
                            .push_bind(a.shop_id)
                            .push_bind(a.order_sn.as_deref())
                            .push_bind(a.destination.as_deref())
                            .push_bind(a.attempt)
                            .push_bind(a.http_status)
                            .push_bind(a.errcode)
                            .push_bind(a.latency_ms)
                            .push_bind(a.detail.as_str())
                            .push_bind(a.platform.as_deref())
                            .push_bind(a.delivery_id)
                            .push_bind(a.received_at);
                    });
                    insert.build().execute(&mut **tx).await?;
                }
                // Seals: a plan's links only if the head is still the one they were hashed from (on
                // PostgreSQL the head row's lock orders the replicas' sealers); a savepoint undoes one whose
                // entries are no longer all unsealed, and the rest of the batch stands.
                let head_sql = if self.is_postgres() {
                    "SELECT seq, hash FROM audit_chain WHERE id = 1 FOR UPDATE"
                } else {
                    "SELECT seq, hash FROM audit_chain WHERE id = 1"
                };
                for plan in &batch.seals {
                    let Some((_, last_seq, last_hash)) = plan.links.last() else {
                        out.seals.push(true);
                        continue;
                    };
                    let (seq, hash): (i64, String) = sqlx::query_as(head_sql).fetch_one(&mut **tx).await?;
                    if seq != plan.from_seq || hash != plan.from_hash {
                        out.seals.push(false);
                        continue;
                    }
                    sqlx::query("SAVEPOINT seal").execute(&mut **tx).await?;
                    let mut sealed = 0;
                    for chunk in plan.links.chunks(SEAL_CHUNK) {
                        let sql = seal_statement(chunk.len(), self);
                        let mut q = sqlx::query(&sql);
                        for (id, seq, hash) in chunk {
                            q = q.bind(*id).bind(*seq).bind(hash.as_str());
                        }
                        sealed += q.execute(&mut **tx).await?.rows_affected();
                    }
                    let whole = sealed == plan.links.len() as u64;
                    if !whole {
                        sqlx::query("ROLLBACK TO SAVEPOINT seal").execute(&mut **tx).await?;
                    }
                    sqlx::query("RELEASE SAVEPOINT seal").execute(&mut **tx).await?;
                    if whole {
                        sqlx::query("UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1")
                            .bind(*last_seq)
                            .bind(last_hash.as_str())
                            .execute(&mut **tx)
                            .await?;
                    }
                    out.seals.push(whole);
                }

                if !batch.pushes.is_empty() && self.is_postgres() {
                    // Wakes the other replicas' inbox workers (delivered on commit).
                    sqlx::query("SELECT pg_notify($1, '')").bind(INBOX_CHANNEL).execute(&mut **tx).await?;
                }
                Ok(out)
            }
        }
    };
}

write_in_transaction!(write_sqlite, sqlx::Sqlite);
write_in_transaction!(write_postgres, sqlx::Postgres);

/// Times the phases of a group commit into `shoprelay_write_phase_seconds{phase}`: `begin` (waiting for
/// the write connection and its lock — on SQLite, behind every other writer of the one connection),
/// `statements`, and `commit` (the fsync, and on SQLite any checkpoint the commit runs). Where an
/// acknowledgement's time goes is read from these.
struct Phases(std::time::Instant);

impl Phases {
    fn start() -> Self {
        Self(std::time::Instant::now())
    }

    fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        metrics::histogram!("shoprelay_write_phase_seconds", "phase" => phase)
            .record(now.duration_since(self.0).as_secs_f64());
        self.0 = now;
    }
}

#[async_trait]
impl Writes for SqlStore {
    async fn write_batch(&self, batch: &WriteBatch, now: UnixMs) -> Result<WriteOutcome> {
        if batch.is_empty() {
            return Ok(WriteOutcome::default());
        }
        // The statements bind the columns' unit, unix milliseconds.
        let now = now.as_millis();
        let prep = self.prepare(batch)?;
        let mut phases = Phases::start();
        match &self.pool {
            Pool::Sqlite { write, .. } => {
                let mut tx = write.begin_write().await?;
                phases.mark("begin");
                let out = self.write_sqlite(&mut tx, batch, &prep, now).await?;
                phases.mark("statements");
                tx.commit().await?;
                phases.mark("commit");
                Ok(out)
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin_write().await?;
                phases.mark("begin");
                let out = self.write_postgres(&mut tx, batch, &prep, now).await?;
                phases.mark("statements");
                tx.commit().await?;
                phases.mark("commit");
                Ok(out)
            }
        }
    }

    fn one_writer_at_a_time(&self) -> bool {
        !self.is_postgres()
    }
}
