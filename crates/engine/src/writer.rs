//! The writer: one task (on SQLite on a thread of its own; two lanes on PostgreSQL, see below) commits
//! what the workers write — verified pushes, inbox results, send reservations, delivery results — in
//! shared transactions (group commit).
//! Whoever asks waits until its write is durable, so an acknowledgement still follows its push's fsync
//! and nothing reports a delivery before its result is stored; but one commit carries everyone's writes
//! of that moment, as a few multi-row statements per kind, instead of one transaction (and one fsync) per
//! write. On SQLite the inbox's claims and the audit chain's seals come here too (see
//! [`Writer::shares_commits`]).
//!
//! Acknowledgements come first: each commit takes every push waiting, and background writes only up to
//! [`BACKGROUND_ROWS`], so a backlog of inbox or outbox work adds at most one bounded transaction to an
//! acknowledgement's wait. That sharing is for a database that writes one transaction at a time
//! (SQLite); on PostgreSQL pushes and background writes commit in two lanes side by side.

use std::sync::Arc;
use std::time::Instant;

use shoprelay_clock::SharedClock;
use shoprelay_store::{NewPush, PushInsert, WriteBatch, WriteOutcome, Writes};
use tokio::sync::{mpsc, oneshot, Notify};

use crate::error::EngineError;

/// Most pushes committed in one transaction.
const MAX_PUSHES: usize = 256;
/// Background rows (inbox results, sends, delivery results, audit entries) taken into one transaction,
/// beyond the first request: bounds what an acknowledgement may wait behind.
const BACKGROUND_ROWS: usize = 256;
/// Background requests waiting before their senders wait too.
const BACKGROUND_QUEUE: usize = 1_024;

type PushReply = oneshot::Sender<Result<PushInsert, EngineError>>;
/// A push waiting to be committed, with when it was handed over.
type PushRequest = (NewPush, PushReply, Instant);
type BatchReply = oneshot::Sender<Result<WriteOutcome, EngineError>>;

/// The sending side: what the HTTP handler and the workers call.
#[derive(Clone)]
pub struct Writer {
    acks: mpsc::Sender<PushRequest>,
    background: mpsc::Sender<(WriteBatch, BatchReply)>,
    /// Whether the database writes one transaction at a time (see [`Writer::shares_commits`]).
    one_writer: bool,
}

impl Writer {
    /// Starts the writer's task (on SQLite on a thread of its own; on PostgreSQL its two lanes' tasks);
    /// they stop when every [`Writer`] handle is dropped. `inbox_wake` is told about stored pushes.
    pub fn start(writes: Arc<dyn Writes>, clock: SharedClock, inbox_wake: Arc<Notify>) -> Result<Self, EngineError> {
        let one_writer = writes.one_writer_at_a_time();
        let (acks, acks_rx) = mpsc::channel(8 * MAX_PUSHES);
        let (background, background_rx) = mpsc::channel(BACKGROUND_QUEUE);
        if one_writer {
            Task {
                writes,
                clock,
                inbox_wake,
                acks: Some(acks_rx),
                background: Some(background_rx),
            }
            .run_on_own_thread()
            .map_err(EngineError::WriterThread)?;
        } else {
            // Where writers run side by side (PostgreSQL), an acknowledgement gains nothing from sharing
            // a commit with background rows and loses their statements' time: two lanes, committing
            // independently, each still grouping what waits in it.
            tokio::spawn(
                Task {
                    writes: writes.clone(),
                    clock: clock.clone(),
                    inbox_wake: inbox_wake.clone(),
                    acks: Some(acks_rx),
                    background: None,
                }
                .run(),
            );
            tokio::spawn(
                Task {
                    writes,
                    clock,
                    inbox_wake,
                    acks: None,
                    background: Some(background_rx),
                }
                .run(),
            );
        }
        Ok(Self {
            acks,
            background,
            one_writer,
        })
    }

    /// Whether workers should hand their inbox claims and audit seals to [`Writer::write`] rather than
    /// make transactions of their own: on a database that writes one transaction at a time (SQLite) they
    /// then share a commit instead of adding one — its own fsync — that acknowledgements wait behind.
    pub fn shares_commits(&self) -> bool {
        self.one_writer
    }

    /// Stores a push durably; returns once it is committed (or found to be a duplicate).
    pub async fn store_push(&self, push: NewPush) -> Result<PushInsert, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.acks
            .send((push, reply, Instant::now()))
            .await
            .map_err(|_| EngineError::ShuttingDown)?;
        answer.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// Commits `batch` (with whatever else is waiting); returns once it is durable.
    pub async fn write(&self, batch: WriteBatch) -> Result<WriteOutcome, EngineError> {
        if batch.is_empty() {
            return Ok(WriteOutcome::default());
        }
        let (reply, answer) = oneshot::channel();
        self.background
            .send((batch, reply))
            .await
            .map_err(|_| EngineError::ShuttingDown)?;
        answer.await.map_err(|_| EngineError::ShuttingDown)?
    }
}

/// How many writes of each kind a request put into a combined batch, to hand each its outcomes.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    pushes: usize,
    completions: usize,
    retries: usize,
    sends: usize,
    finishes: usize,
    audits: usize,
    claims: usize,
    /// Items the claims name.
    claimed_ids: usize,
    seals: usize,
    /// Links the seals write.
    seal_links: usize,
    /// Rows the completions write beyond closing their items: events, deliveries, order states.
    completion_rows: usize,
}

impl Shape {
    fn of(batch: &WriteBatch) -> Self {
        let completion_rows = batch
            .completions
            .iter()
            .map(|d| {
                let c = &d.completion;
                c.order_updates.len() + c.events.iter().map(|e| 1 + e.deliveries.len()).sum::<usize>()
            })
            .sum();
        Self {
            pushes: batch.pushes.len(),
            completions: batch.completions.len(),
            retries: batch.retries.len(),
            sends: batch.sends.len(),
            finishes: batch.finishes.len(),
            audits: batch.audits.len(),
            claims: batch.claims.len(),
            claimed_ids: batch.claims.iter().map(|c| c.ids.len()).sum(),
            seals: batch.seals.len(),
            seal_links: batch.seals.iter().map(|s| s.links.len()).sum(),
            completion_rows,
        }
    }

    /// Rows it writes, roughly: what bounds a transaction's length. A completion counts with its events,
    /// deliveries and order states, so a pass of orders routed to many places cannot make one commit —
    /// and an acknowledgement waiting behind it — many times longer than the bound says.
    fn rows(&self) -> usize {
        self.pushes
            + self.completions
            + self.completion_rows
            + self.retries
            + self.sends
            + self.finishes
            + self.audits
            + self.claimed_ids
            + self.seal_links
    }

    /// Takes this request's part off the front of a combined batch.
    fn take_batch(&self, from: &mut WriteBatch) -> WriteBatch {
        WriteBatch {
            pushes: from.pushes.drain(..self.pushes).collect(),
            completions: from.completions.drain(..self.completions).collect(),
            retries: from.retries.drain(..self.retries).collect(),
            sends: from.sends.drain(..self.sends).collect(),
            finishes: from.finishes.drain(..self.finishes).collect(),
            audits: from.audits.drain(..self.audits).collect(),
            claims: from.claims.drain(..self.claims).collect(),
            seals: from.seals.drain(..self.seals).collect(),
        }
    }

    /// Takes this request's outcomes off the front of a combined outcome.
    fn take_outcome(&self, from: &mut WriteOutcome) -> WriteOutcome {
        WriteOutcome {
            pushes: from.pushes.drain(..self.pushes.min(from.pushes.len())).collect(),
            completions: from
                .completions
                .drain(..self.completions.min(from.completions.len()))
                .collect(),
            finishes: from.finishes.drain(..self.finishes.min(from.finishes.len())).collect(),
            claims: from.claims.drain(..self.claims.min(from.claims.len())).collect(),
            seals: from.seals.drain(..self.seals.min(from.seals.len())).collect(),
        }
    }
}

/// Who waits for a part of a combined batch.
enum Waiter {
    Pushes(Vec<PushReply>),
    Batch(BatchReply),
}

/// A lane of the writer: pushes, background requests, or (one writer at a time) both.
struct Task {
    writes: Arc<dyn Writes>,
    clock: SharedClock,
    inbox_wake: Arc<Notify>,
    acks: Option<mpsc::Receiver<PushRequest>>,
    background: Option<mpsc::Receiver<(WriteBatch, BatchReply)>>,
}

/// Waits for pushes on a lane that takes them; never returns on one that does not.
async fn recv_pushes(acks: &mut Option<mpsc::Receiver<PushRequest>>, into: &mut Vec<PushRequest>) -> usize {
    match acks {
        Some(rx) => rx.recv_many(into, MAX_PUSHES).await,
        None => std::future::pending().await,
    }
}

/// Waits for a background request on a lane that takes them; never returns on one that does not.
async fn recv_work(
    background: &mut Option<mpsc::Receiver<(WriteBatch, BatchReply)>>,
    into: &mut Vec<(WriteBatch, BatchReply)>,
) -> usize {
    match background {
        Some(rx) => rx.recv_many(into, 1).await,
        None => std::future::pending().await,
    }
}

impl Task {
    /// Runs the lane on a thread of its own. SQLite's one write connection is held from BEGIN to COMMIT,
    /// and between two statements the lane must be polled again: on the server's runtime it then waits
    /// its turn behind every HTTP request ready to run, with the lock held. On its own thread it is
    /// woken the moment a statement's answer arrives. The thread ends when every `Writer` is dropped.
    fn run_on_own_thread(self) -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new()
            .name("shoprelay-writer".to_owned())
            .spawn(move || runtime.block_on(self.run()))?;
        Ok(())
    }

    async fn run(mut self) {
        let mut pushes: Vec<PushRequest> = Vec::with_capacity(MAX_PUSHES);
        let mut work: Vec<(WriteBatch, BatchReply)> = Vec::new();
        loop {
            // A lane's channels close when every handle is dropped (one lane, both channels together).
            let open = tokio::select! {
                biased;
                n = recv_pushes(&mut self.acks, &mut pushes) => n > 0,
                n = recv_work(&mut self.background, &mut work) => n > 0,
            };
            if !open {
                return;
            }
            if let Some(acks) = &mut self.acks {
                while pushes.len() < MAX_PUSHES {
                    match acks.try_recv() {
                        Ok(p) => pushes.push(p),
                        Err(_) => break,
                    }
                }
            }
            if let Some(background) = &mut self.background {
                let mut rows: usize = work.iter().map(|(b, _)| Shape::of(b).rows()).sum();
                while rows < BACKGROUND_ROWS {
                    match background.try_recv() {
                        Ok(w) => {
                            rows += Shape::of(&w.0).rows();
                            work.push(w);
                        }
                        Err(_) => break,
                    }
                }
            }
            self.commit(std::mem::take(&mut pushes), std::mem::take(&mut work))
                .await;
        }
    }

    /// Commits the pushes and the background requests in one transaction; when it fails, each part
    /// alone (pushes first), so one request that cannot be written fails only itself.
    async fn commit(&self, pushes: Vec<PushRequest>, work: Vec<(WriteBatch, BatchReply)>) {
        let mut combined = WriteBatch::default();
        let mut parts: Vec<(Shape, Waiter)> = Vec::with_capacity(work.len() + 1);
        if !pushes.is_empty() {
            // How long each push waited for a commit to take it: the share of an acknowledgement spent
            // queued behind the commit before.
            let started = Instant::now();
            for (_, _, sent) in &pushes {
                metrics::histogram!("shoprelay_ack_queue_seconds").record(started.duration_since(*sent).as_secs_f64());
            }
            let (pushes, replies): (Vec<NewPush>, Vec<PushReply>) = pushes.into_iter().map(|(p, r, _)| (p, r)).unzip();
            combined.pushes = pushes;
            parts.push((Shape::of(&combined), Waiter::Pushes(replies)));
        }
        for (batch, reply) in work {
            parts.push((Shape::of(&batch), Waiter::Batch(reply)));
            combined.append(batch);
        }
        let pushed = combined.pushes.len();
        match self.writes.write_batch(&combined, self.clock.now()).await {
            Ok(mut outcome) => {
                if pushed > 0 {
                    metrics::histogram!("shoprelay_ingest_batch_size").record(pushed as f64);
                    self.inbox_wake.notify_one();
                }
                metrics::histogram!("shoprelay_write_batch_rows")
                    .record(parts.iter().map(|p| p.0.rows()).sum::<usize>() as f64);
                for (shape, waiter) in parts {
                    answer(waiter, Ok(shape.take_outcome(&mut outcome)));
                }
            }
            Err(err) if parts.len() == 1 => {
                if let Some((_, waiter)) = parts.into_iter().next() {
                    fail(waiter, err);
                }
            }
            Err(err) => {
                tracing::warn!(error = ?err, parts = parts.len(), "a shared commit failed; committing its parts one by one");
                for (shape, waiter) in parts {
                    let part = shape.take_batch(&mut combined);
                    match self.writes.write_batch(&part, self.clock.now()).await {
                        Ok(outcome) => {
                            if shape.pushes > 0 {
                                metrics::histogram!("shoprelay_ingest_batch_size").record(shape.pushes as f64);
                                self.inbox_wake.notify_one();
                            }
                            answer(waiter, Ok(outcome));
                        }
                        Err(err) => fail(waiter, err),
                    }
                }
            }
        }
    }
}

/// Hands a part its outcomes.
fn answer(waiter: Waiter, outcome: Result<WriteOutcome, EngineError>) {
    match (waiter, outcome) {
        (Waiter::Pushes(replies), Ok(outcome)) => {
            for (reply, insert) in replies.into_iter().zip(outcome.pushes) {
                let _ = reply.send(Ok(insert));
            }
        }
        (Waiter::Pushes(replies), Err(_)) => {
            for reply in replies {
                let _ = reply.send(Err(EngineError::StoreUnavailable));
            }
        }
        (Waiter::Batch(reply), outcome) => {
            let _ = reply.send(outcome);
        }
    }
}

/// Tells a part its write failed.
fn fail(waiter: Waiter, err: shoprelay_store::StoreError) {
    match waiter {
        Waiter::Pushes(replies) => {
            tracing::error!(error = ?err, count = replies.len(), "storing pushes failed; answering 503 so the platform resends");
            answer(Waiter::Pushes(replies), Err(EngineError::StoreUnavailable));
        }
        Waiter::Batch(reply) => {
            let _ = reply.send(Err(EngineError::Store(err)));
        }
    }
}
