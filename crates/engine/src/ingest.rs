//! Group commit of verified pushes: concurrent requests' inserts share one transaction, so every
//! acknowledgement waits for a durable commit while the database does one fsync per batch.

use std::sync::Arc;

use shoprelay_store::{NewPush, PushInsert, Store};
use tokio::sync::{mpsc, oneshot, Notify};

use crate::error::EngineError;

/// Most pushes committed in one transaction.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<PushInsert, EngineError>>;

/// The sending side: what the HTTP handler calls.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<(NewPush, Reply)>,
}

impl Ingest {
    /// Starts the committer task; it stops when every [`Ingest`] handle is dropped.
    pub fn start(store: Arc<dyn Store>, wake: Arc<Notify>) -> Self {
        let (tx, rx) = mpsc::channel(8 * MAX_BATCH);
        tokio::spawn(commit_loop(store, wake, rx));
        Self { tx }
    }

    /// Stores a push durably; returns once it is committed (or found to be a duplicate).
    pub async fn store(&self, push: NewPush) -> Result<PushInsert, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((push, reply))
            .await
            .map_err(|_| EngineError::ShuttingDown)?;
        answer.await.map_err(|_| EngineError::ShuttingDown)?
    }
}

async fn commit_loop(store: Arc<dyn Store>, wake: Arc<Notify>, mut rx: mpsc::Receiver<(NewPush, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (pushes, replies): (Vec<NewPush>, Vec<Reply>) = batch.drain(..).unzip();
        match store.insert_pushes(&pushes).await {
            Ok(outcomes) => {
                metrics::histogram!("shoprelay_ingest_batch_size").record(pushes.len() as f64);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
                wake.notify_one();
            }
            Err(err) => {
                tracing::error!(error = ?err, count = pushes.len(), "storing pushes failed; answering 503 so the platform resends");
                for reply in replies {
                    let _ = reply.send(Err(EngineError::StoreUnavailable));
                }
            }
        }
    }
}
