//! Audit entries written off the request path: refused pushes are audited through a bounded channel
//! and batched, so a flood of bad requests can neither slow down genuine acknowledgements (SQLite has one
//! writer) nor grow memory without bound. When the channel is full, entries are counted and dropped. The
//! batches go through the [`Writer`], into its shared commits as background rows, not into transactions
//! of their own that acknowledgements would wait behind.

use shoprelay_store::{AuditEntry, WriteBatch};
use tokio::sync::{mpsc, oneshot};

use crate::writer::Writer;

/// Entries waiting to be written before new ones are dropped.
const CAPACITY: usize = 4096;
/// Most entries written in one transaction.
const BATCH: usize = 256;

enum Msg {
    Entry(Box<AuditEntry>),
    Flush(oneshot::Sender<()>),
}

/// The sending side.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Msg>,
}

impl AuditSink {
    /// Starts the sink's task, which hands batches to `writer`; it ends when every sink handle is dropped.
    pub fn start(writer: Writer) -> Self {
        let (tx, mut rx) = mpsc::channel::<Msg>(CAPACITY);
        tokio::spawn(async move {
            let mut msgs = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut msgs, BATCH).await > 0 {
                let mut entries = Vec::with_capacity(msgs.len());
                let mut flushed = Vec::new();
                for msg in msgs.drain(..) {
                    match msg {
                        Msg::Entry(e) => entries.push(*e),
                        Msg::Flush(done) => flushed.push(done),
                    }
                }
                if !entries.is_empty() {
                    let count = entries.len();
                    let batch = WriteBatch {
                        audits: entries,
                        ..WriteBatch::default()
                    };
                    if let Err(err) = writer.write(batch).await {
                        tracing::error!(error = ?err, count, "could not write audit entries");
                    }
                }
                for done in flushed {
                    let _ = done.send(());
                }
            }
        });
        Self { tx }
    }

    /// Queues an entry without waiting; under overload it is dropped and counted.
    pub fn record(&self, entry: AuditEntry) {
        if self.tx.try_send(Msg::Entry(Box::new(entry))).is_err() {
            metrics::counter!("shoprelay_audit_dropped_total").increment(1);
        }
    }

    /// Waits until everything queued before this call is written (tests, shutdown).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}
