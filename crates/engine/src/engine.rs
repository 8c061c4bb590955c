//! [`Engine`]: the state every stage shares, and the background workers that move work along.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use shoprelay_clock::SharedClock;
use shoprelay_core::secret::SecretBox;
use shoprelay_store::{NewPush, PushInsert, Store};
use shoprelay_wecom::client::WeComClient;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::audit_sink::AuditSink;
use crate::backoff::Backoff;
use crate::config::Registry;
use crate::error::EngineError;
use crate::tokens::TokenManager;
use crate::writer::Writer;

/// Tunables of the pipeline; the defaults suit production.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The public base URL the marketplaces call (push signatures cover it).
    pub public_url: String,
    /// Retry schedule of deliveries.
    pub delivery_backoff: Backoff,
    /// Retry schedule of enrichment (marketplace API) before an event goes out without details.
    pub enrich_backoff: Backoff,
    /// How long a claimed item stays claimed before another worker may take it over.
    pub lease: Duration,
    /// Timeout of every outbound HTTP call.
    pub http_timeout: Duration,
    /// Refresh marketplace access tokens this long before they expire.
    pub refresh_ahead: Duration,
    /// How often the configuration is re-read from the database.
    pub config_reload: Duration,
    /// How often the reconciler asks the marketplace for lost pushes and changed orders.
    pub reconcile_every: Duration,
    /// Deliveries sent at once.
    pub delivery_concurrency: usize,
    /// How long a destination stays with this process without a heartbeat (then another replica may
    /// take it over).
    pub destination_lease: Duration,
    /// First back-off of an open breaker (doubles, up to ten minutes).
    pub breaker_open: Duration,
    /// How often a held destination is probed when the configuration does not change.
    pub hold_probe: Duration,
    /// Language of the built-in messages (`[server] language`).
    pub language: shoprelay_core::error::Lang,
    /// How often a shipped order's parcel trail is polled (where its marketplace offers one) while a rule selects
    /// logistics exceptions.
    pub tracking_poll: Duration,
    /// How often unshipped orders are checked against their ship-by date.
    pub ship_by_scan: Duration,
}

impl EngineSettings {
    /// Production defaults for a service reachable at `public_url`.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            delivery_backoff: Backoff {
                base: Duration::from_secs(5),
                max: Duration::from_secs(1_800),
                max_attempts: 12,
            },
            enrich_backoff: Backoff {
                base: Duration::from_secs(2),
                max: Duration::from_secs(300),
                max_attempts: 6,
            },
            lease: Duration::from_secs(30),
            http_timeout: Duration::from_secs(10),
            refresh_ahead: Duration::from_secs(1_800),
            config_reload: Duration::from_secs(5),
            reconcile_every: Duration::from_secs(600),
            delivery_concurrency: 64,
            breaker_open: Duration::from_secs(30),
            destination_lease: Duration::from_secs(15),
            hold_probe: Duration::from_secs(300),
            language: shoprelay_core::error::Lang::Zh,
            tracking_poll: Duration::from_secs(6 * 3_600),
            ship_by_scan: Duration::from_secs(60),
        }
    }
}

/// The shared state of the pipeline.
pub struct Engine {
    /// Durable state.
    pub store: Arc<dyn Store>,
    /// Seals and opens stored secrets.
    pub secrets: SecretBox,
    /// Tunables.
    pub settings: EngineSettings,
    /// What every stage reads the time from and waits on (tests advance a manual one).
    pub clock: SharedClock,
    /// WeCom API client (its token cache is shared by every delivery).
    pub wecom: WeComClient,
    /// Plain HTTP client (marketplace and WeCom APIs).
    pub http: reqwest::Client,
    /// Webhook clients: no redirects, destination addresses checked.
    pub webhooks: crate::webhook::WebhookClients,
    /// Marketplace tokens.
    pub tokens: TokenManager,
    /// Audit entries written off the request path.
    pub audit_sink: AuditSink,
    registry: RwLock<Arc<Registry>>,
    config_fingerprint: std::sync::Mutex<String>,
    /// Commits the workers' writes and the pushes together (group commit).
    pub(crate) writer: Writer,
    pub(crate) inbox_wake: Arc<Notify>,
    pub(crate) outbox_wake: Arc<Notify>,
    pub(crate) callback_wake: Arc<Notify>,
    /// This process among the replicas: the owner of the destination leases it takes.
    pub instance_id: String,
    /// When the ship-by scan last ran (unix ms).
    pub(crate) last_ship_by_scan: std::sync::atomic::AtomicI64,
    /// When the buyer-response watch last looked (unix ms, engine clock).
    pub(crate) last_response_watch: std::sync::atomic::AtomicI64,
    /// Conversations whose buyer message is being decided for an automatic answer right now.
    pub(crate) auto_deciding: std::sync::Mutex<std::collections::HashSet<i64>>,
    /// The WeCom AI-bot long connections this process holds ([`crate::longconn`]).
    pub(crate) links: tokio::sync::watch::Sender<crate::longconn::Links>,
    /// When each flooded destination may fold its queue into digests again (unix ms); see
    /// [`Engine::fold_backlog`]. This process alone sends for a destination (its lease), so memory will do.
    pub(crate) next_fold: std::sync::Mutex<std::collections::HashMap<shoprelay_core::destination::Destination, i64>>,
}

impl Engine {
    /// Builds the engine and loads the stored configuration. Call [`Engine::spawn_workers`] to run it.
    pub async fn new(
        store: Arc<dyn Store>,
        secrets: SecretBox,
        settings: EngineSettings,
        clock: SharedClock,
    ) -> Result<Arc<Self>, EngineError> {
        let http = reqwest::Client::builder()
            .timeout(settings.http_timeout)
            .connect_timeout(settings.http_timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(EngineError::HttpClient)?;
        let objects = store.list_config().await?;
        let registry = Registry::from_objects(&objects, &secrets)?.connect(&http, clock.clone());
        let inbox_wake = Arc::new(Notify::new());
        Ok(Arc::new(Self {
            writer: Writer::start(store.clone(), clock.clone(), inbox_wake.clone()),
            audit_sink: AuditSink::start(store.clone()),
            store,
            secrets,
            wecom: WeComClient::new(http.clone()),
            http,
            webhooks: crate::webhook::WebhookClients::new(settings.http_timeout).map_err(EngineError::HttpClient)?,
            tokens: TokenManager::default(),
            settings,
            clock,
            registry: RwLock::new(Arc::new(registry)),
            config_fingerprint: std::sync::Mutex::new(config_fingerprint(&objects)),
            inbox_wake,
            outbox_wake: Arc::new(Notify::new()),
            callback_wake: Arc::new(Notify::new()),
            instance_id: uuid::Uuid::new_v4().simple().to_string(),
            last_ship_by_scan: std::sync::atomic::AtomicI64::new(0),
            last_response_watch: std::sync::atomic::AtomicI64::new(0),
            auto_deciding: std::sync::Mutex::default(),
            links: tokio::sync::watch::Sender::new(Default::default()),
            next_fold: std::sync::Mutex::new(std::collections::HashMap::new()),
        }))
    }

    /// The configuration now in force.
    pub fn registry(&self) -> Arc<Registry> {
        match self.registry.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the configuration from the database (after `shoprelay apply`).
    pub async fn reload_config(&self) -> Result<(), EngineError> {
        let objects = self.store.list_config().await?;
        let fingerprint = config_fingerprint(&objects);
        let mut fresh = Registry::from_objects(&objects, &self.secrets)?.connect(&self.http, self.clock.clone());
        fresh.public_url = self.settings.public_url.trim_end_matches('/').to_owned();
        let fresh = Arc::new(fresh);
        match self.registry.write() {
            Ok(mut r) => *r = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        let changed = match self.config_fingerprint.lock() {
            Ok(mut fp) => std::mem::replace(&mut *fp, fingerprint.clone()) != fingerprint,
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), fingerprint.clone()) != fingerprint,
        };
        if changed {
            // A held destination waits for an admin's fix; a changed configuration may be it: probe now.
            let released = self.store.release_held_destinations(self.clock.now_ms()).await?;
            if released > 0 {
                tracing::info!(released, "configuration changed: probing held destinations now");
                self.outbox_wake.notify_one();
            }
        }
        Ok(())
    }

    /// Stores a verified push before it is acknowledged (group-committed).
    pub async fn accept_push(&self, push: NewPush) -> Result<PushInsert, EngineError> {
        self.writer.store_push(push).await
    }

    /// Wakes the delivery worker (after a replay).
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Wakes the callback worker (a member's message or click was stored).
    pub fn wake_callbacks(&self) {
        self.callback_wake.notify_one();
    }

    /// The notifiers that wake the inbox and delivery workers (for other replicas' NOTIFYs).
    pub fn wakers(&self) -> (Arc<Notify>, Arc<Notify>) {
        (self.inbox_wake.clone(), self.outbox_wake.clone())
    }

    /// Runs every pending stage until no work is due: for tests and the demo, instead of sleeping.
    pub async fn dispatch_all_pending(&self) -> Result<(), EngineError> {
        self.audit_sink.flush().await;
        loop {
            let timers = self.timers_once().await?;
            let processed = self.process_inbox_once().await?;
            let acted = self.process_callbacks_once().await?;
            let delivered = self.deliver_once().await?;
            if timers == 0 && processed == 0 && acted == 0 && delivered == 0 {
                self.audit_sink.flush().await;
                self.seal_audit_now().await?;
                return Ok(());
            }
        }
    }

    /// Starts the workers; they stop when `shutdown` is cancelled.
    pub fn spawn_workers(self: &Arc<Self>, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            me.worker_loop(
                "inbox",
                stop,
                |e| Box::pin(e.process_inbox_once()),
                |e| e.inbox_wake.clone(),
            )
            .await
        }));
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { me.delivery_loop(stop).await }));
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            me.worker_loop(
                "callbacks",
                stop,
                |e| Box::pin(e.process_callbacks_once()),
                |e| e.callback_wake.clone(),
            )
            .await
        }));
        tasks.push(self.spawn_long_connections(shutdown.clone()));
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { me.refresh_loop(stop).await }));
        let me = self.clone();
        let stop = shutdown.clone();
        let every = self.settings.reconcile_every;
        tasks.push(tokio::spawn(async move { me.reconcile_loop(every, stop).await }));
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { me.lease_heartbeat(stop).await }));
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { me.seal_audit_loop(stop).await }));
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { me.retention_loop(stop).await }));
        let me = self.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(err) = me.timers_once().await {
                    tracing::warn!(error = ?err, "quiet-hour release or escalation failed; retrying");
                }
                if !me.wait(Duration::from_secs(1), &stop).await {
                    break;
                }
            }
        }));
        let me = self.clone();
        tasks.push(tokio::spawn(async move {
            while me.wait(me.settings.config_reload, &shutdown).await {
                if let Err(err) = me.reload_config().await {
                    tracing::warn!(error = ?err, "reloading configuration failed; keeping the previous one");
                }
            }
        }));
        tasks
    }

    /// Waits `period` by the engine's clock; false when `shutdown` comes first.
    pub(crate) async fn wait(&self, period: Duration, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = self.clock.sleep(period) => true,
        }
    }

    /// Keeps this process's destination leases alive while long sends are in flight.
    async fn lease_heartbeat(&self, shutdown: CancellationToken) {
        loop {
            let until = self.clock.now_ms() + self.settings.destination_lease.as_millis() as i64;
            if let Err(err) = self.store.renew_destination_leases(&self.instance_id, until).await {
                tracing::warn!(error = ?err, "renewing destination leases failed");
            }
            if !self.wait(self.settings.destination_lease / 3, &shutdown).await {
                break;
            }
        }
    }

    /// Gives back this process's destination leases, so another replica takes over at once. Call after
    /// the delivery worker has stopped: a lease given back while a send is in flight would let another
    /// replica overtake it.
    pub async fn release_destination_leases(&self) {
        if let Err(err) = self.store.release_destination_leases(&self.instance_id).await {
            tracing::warn!(error = ?err, "releasing destination leases failed");
        }
    }

    async fn worker_loop<F>(
        self: Arc<Self>,
        name: &'static str,
        shutdown: CancellationToken,
        step: F,
        wake: fn(&Engine) -> Arc<Notify>,
    ) where
        F: for<'a> Fn(
            &'a Engine,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, EngineError>> + Send + 'a>>,
    {
        let notify = wake(&self);
        loop {
            let idle = match step(&self).await {
                Ok(0) => true,
                Ok(_) => false,
                Err(err) => {
                    tracing::warn!(worker = name, error = ?err, "worker step failed; retrying shortly");
                    true
                }
            };
            if idle {
                // Woken by new work, or polling for retries that come due.
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = notify.notified() => {}
                    _ = self.clock.sleep(Duration::from_millis(500)) => {}
                }
            } else if shutdown.is_cancelled() {
                return;
            }
        }
    }
}

/// Identifies a set of stored configuration objects (their keyed fingerprints, in order).
fn config_fingerprint(objects: &[shoprelay_store::ConfigObject]) -> String {
    objects
        .iter()
        .map(|o| format!("{}/{}={}", o.kind, o.id, o.fingerprint))
        .collect::<Vec<_>>()
        .join(";")
}
