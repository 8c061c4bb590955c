//! [`Engine`]: the composition root. It builds the stages of the spine ([`crate::stage`]) and the parts
//! beside it, hands each only what it works with, runs their workers, and is what the application services
//! ([`crate::service`]) and the edges start from.

use std::sync::Arc;
use std::time::Duration;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::secret::SecretBox;
use shoprelay_store::{NewPush, PushInsert, Store};
use shoprelay_wecom::client::WeComClient;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::audit_sink::AuditSink;
use crate::backoff::Backoff;
use crate::chat::Chat;
use crate::config::Registry;
use crate::error::EngineError;
use crate::escalate::Timers;
use crate::stage::audit::Audit;
use crate::stage::deliver::Deliver;
use crate::stage::enrich::Enrich;
use crate::stage::inbox::Inbox;
use crate::stage::ingest::reconcile::ReconcileReport;
use crate::stage::ingest::{longconn, Ingest};
use crate::stage::outbox::Outbox;
use crate::stage::route::Route;
use crate::stage::ConfigView;
use crate::tokens::{MarketplaceTokens, TokenError, TokenManager};
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

/// The composition root: the stages, the parts they share, and what the services read.
pub struct Engine {
    /// Durable state, whole: each stage gets only its parts of it; the services borrow theirs; never
    /// reached by the edges.
    pub(crate) store: Arc<dyn Store>,
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
    /// Audit entries written off the request path.
    pub audit_sink: AuditSink,
    /// The configuration in force, shared with the stages (the services read it too).
    pub(crate) config: ConfigView,
    config_fingerprint: std::sync::Mutex<String>,
    inbox_wake: Arc<Notify>,
    /// Wakes the delivery worker.
    pub(crate) outbox_wake: Arc<Notify>,
    callback_wake: Arc<Notify>,
    /// This process among the replicas: the owner of the destination and bot leases it takes.
    pub instance_id: String,
    /// Marketplace tokens, shared by every stage that calls a marketplace.
    pub(crate) tokens: Arc<MarketplaceTokens>,
    route: Arc<Route>,
    /// Where work enters (the status reads its long connections).
    pub(crate) ingest: Arc<Ingest>,
    inbox: Arc<Inbox>,
    deliver: Arc<Deliver>,
    audit: Arc<Audit>,
    pub(crate) chat: Arc<Chat>,
    timers: Arc<Timers>,
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
        let config = ConfigView::new(registry);
        let inbox_wake = Arc::new(Notify::new());
        let outbox_wake = Arc::new(Notify::new());
        let callback_wake = Arc::new(Notify::new());
        let writer = Writer::start(store.clone(), clock.clone(), inbox_wake.clone())?;
        let wecom = WeComClient::new(http.clone(), clock.clone());
        let instance_id = uuid::Uuid::new_v4().simple().to_string();
        // Downstream first: each stage is handed the ones it calls.
        let audit = Arc::new(Audit {
            audit_log: store.clone(),
            retention: store.clone(),
            clock: clock.clone(),
            config: config.clone(),
            seal_through: writer.shares_commits().then(|| writer.clone()),
        });
        let route = Arc::new(Route {
            tasks: store.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
        });
        let outbox = Arc::new(Outbox {
            deliveries: store.clone(),
            writer: writer.clone(),
            wecom: wecom.clone(),
            config: config.clone(),
            route: route.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            outbox_wake: outbox_wake.clone(),
            next_fold: std::sync::Mutex::default(),
        });
        let deliver = Arc::new(Deliver {
            deliveries: store.clone(),
            card_codes: store.clone(),
            writer: writer.clone(),
            wecom: wecom.clone(),
            webhooks: crate::webhook::WebhookClients::new(settings.http_timeout).map_err(EngineError::HttpClient)?,
            config: config.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            outbox: outbox.clone(),
            outbox_wake: outbox_wake.clone(),
            instance_id: instance_id.clone(),
        });
        let tokens = Arc::new(MarketplaceTokens {
            shops: store.clone(),
            deliveries: store.clone(),
            audit_log: store.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            config: config.clone(),
            route: route.clone(),
            outbox_wake: outbox_wake.clone(),
            tokens: TokenManager::default(),
        });
        let enrich = Arc::new(Enrich {
            shops: store.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            tokens: tokens.clone(),
        });
        let chat = Arc::new(Chat {
            conversations: store.clone(),
            callbacks: store.clone(),
            config_repo: store.clone(),
            accounts: store.clone(),
            archive: store.clone(),
            deliveries: store.clone(),
            tasks: store.clone(),
            card_codes: store.clone(),
            order_watch: store.clone(),
            audit_log: store.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            config: config.clone(),
            wecom: wecom.clone(),
            tokens: tokens.clone(),
            route: route.clone(),
            outbox: outbox.clone(),
            outbox_wake: outbox_wake.clone(),
            auto_deciding: std::sync::Mutex::default(),
            last_response_watch: std::sync::atomic::AtomicI64::new(0),
        });
        let inbox = Arc::new(Inbox {
            inbox: store.clone(),
            policies: store.clone(),
            shops: store.clone(),
            standings: store.clone(),
            writer: writer.clone(),
            config: config.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            enrich,
            route: route.clone(),
            chat: chat.clone(),
            outbox_wake: outbox_wake.clone(),
        });
        let audit_sink = AuditSink::start(writer.clone());
        let ingest = Arc::new(Ingest {
            callbacks: store.clone(),
            shops: store.clone(),
            config_repo: store.clone(),
            inbox: store.clone(),
            writer,
            clock: clock.clone(),
            config: config.clone(),
            tokens: tokens.clone(),
            inbox_wake: inbox_wake.clone(),
            callback_wake: callback_wake.clone(),
            instance_id: instance_id.clone(),
            links: tokio::sync::watch::Sender::new(Default::default()),
        });
        let timers = Arc::new(Timers {
            tasks: store.clone(),
            order_watch: store.clone(),
            deliveries: store.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            config: config.clone(),
            route: route.clone(),
            tokens: tokens.clone(),
            outbox,
            chat: chat.clone(),
            outbox_wake: outbox_wake.clone(),
            last_ship_by_scan: std::sync::atomic::AtomicI64::new(0),
        });
        Ok(Arc::new(Self {
            audit_sink,
            store,
            secrets,
            wecom,
            http,
            settings,
            clock,
            config,
            config_fingerprint: std::sync::Mutex::new(config_fingerprint(&objects)),
            inbox_wake,
            outbox_wake,
            callback_wake,
            instance_id,
            tokens,
            route,
            ingest,
            inbox,
            deliver,
            audit,
            chat,
            timers,
        }))
    }

    /// The store beneath the services, for tools and tests that inspect or prepare it directly.
    #[cfg(feature = "store-access")]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The configuration now in force.
    pub fn registry(&self) -> Arc<Registry> {
        self.config.current()
    }

    /// Re-reads the configuration from the database (after `shoprelay apply`).
    pub async fn reload_config(&self) -> Result<(), EngineError> {
        let objects = self.store.list_config().await?;
        let fingerprint = config_fingerprint(&objects);
        let mut fresh = Registry::from_objects(&objects, &self.secrets)?.connect(&self.http, self.clock.clone());
        fresh.public_url = self.settings.public_url.trim_end_matches('/').to_owned();
        self.config.replace(Arc::new(fresh));
        let changed = match self.config_fingerprint.lock() {
            Ok(mut fp) => std::mem::replace(&mut *fp, fingerprint.clone()) != fingerprint,
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), fingerprint.clone()) != fingerprint,
        };
        if changed {
            // A held destination waits for an admin's fix; a changed configuration may be it: probe now.
            let released = self.store.release_held_destinations(self.clock.now()).await?;
            if released > 0 {
                tracing::info!(released, "configuration changed: probing held destinations now");
                self.outbox_wake.notify_one();
            }
        }
        Ok(())
    }

    /// Stores a verified push before it is acknowledged (group-committed); see [`Ingest::accept_push`].
    pub async fn accept_push(&self, push: NewPush) -> Result<PushInsert, EngineError> {
        self.ingest.accept_push(push).await
    }

    /// Wakes the callback worker (a member's message or click was stored).
    pub fn wake_callbacks(&self) {
        self.callback_wake.notify_one();
    }

    /// The notifiers that wake the inbox and delivery workers (for other replicas' NOTIFYs).
    pub fn wakers(&self) -> (Arc<Notify>, Arc<Notify>) {
        (self.inbox_wake.clone(), self.outbox_wake.clone())
    }

    /// Refreshes the shop's tokens unless someone moved past `seen_version` (see
    /// [`MarketplaceTokens::refresh_shop`]).
    pub async fn refresh_shop(
        &self,
        app_id: &ConfigId,
        shop: ShopId,
        seen_version: i64,
    ) -> Result<shoprelay_core::secret::Secret, TokenError> {
        self.tokens.refresh_shop(app_id, shop, seen_version).await
    }

    /// One refresh pass over every shop; returns how many were refreshed.
    pub async fn refresh_due(&self) -> Result<usize, EngineError> {
        self.tokens.refresh_due().await
    }

    /// One reconciliation pass now (see [`Ingest::reconcile_once`]).
    pub async fn reconcile_once(&self) -> Result<ReconcileReport, EngineError> {
        self.ingest.reconcile_once().await
    }

    /// The long connections' states, updated as they change (tests wait on it; the status shows it).
    pub fn long_connections(&self) -> tokio::sync::watch::Receiver<longconn::Links> {
        self.ingest.long_connections()
    }

    /// Starts the long connections' manager alone (see [`Ingest::spawn_long_connections`]).
    pub fn spawn_long_connections(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        self.ingest.spawn_long_connections(shutdown)
    }

    /// The outbox rows an event gets under `registry` (see [`Route::route`]); the bench fills its backlog
    /// with them.
    pub async fn route(
        &self,
        registry: &Registry,
        event: &shoprelay_core::event::Event,
    ) -> Result<Vec<shoprelay_store::NewDelivery>, EngineError> {
        self.route.route(registry, event).await
    }

    /// Purges rows past their retention as of `now`; see [`Audit::purge_expired`].
    pub async fn purge_expired(
        &self,
        now: UnixMs,
    ) -> Result<Vec<(shoprelay_store::RetentionTarget, u64)>, EngineError> {
        self.audit.purge_expired(now).await
    }

    /// Runs every pending stage until no work is due: for tests and the demo, instead of sleeping.
    pub async fn dispatch_all_pending(&self) -> Result<(), EngineError> {
        self.audit_sink.flush().await;
        loop {
            let timers = self.timers.timers_once().await?;
            let processed = self.inbox.process_inbox_once().await?;
            let acted = self.chat.process_callbacks_once().await?;
            let delivered = self.deliver.deliver_once().await?;
            if timers == 0 && processed == 0 && acted == 0 && delivered == 0 {
                self.audit_sink.flush().await;
                self.audit.seal_audit_now().await?;
                return Ok(());
            }
        }
    }

    /// Starts the workers; they stop when `shutdown` is cancelled.
    pub fn spawn_workers(self: &Arc<Self>, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        // Passes of the inbox overlap: while one pass's results wait for their commit, the next claims and
        // works. They are safe side by side as replicas' passes are (leases; one order's pushes claimed one
        // at a time).
        for _ in 0..INBOX_PASSES {
            let inbox = self.inbox.clone();
            let stop = shutdown.clone();
            let wake = self.inbox_wake.clone();
            let clock = self.clock.clone();
            tasks.push(tokio::spawn(async move {
                worker_loop("inbox", &clock, stop, || inbox.process_inbox_once(), wake).await
            }));
        }
        let deliver = self.deliver.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { deliver.delivery_loop(stop).await }));
        let chat = self.chat.clone();
        let stop = shutdown.clone();
        let wake = self.callback_wake.clone();
        let clock = self.clock.clone();
        tasks.push(tokio::spawn(async move {
            worker_loop("callbacks", &clock, stop, || chat.process_callbacks_once(), wake).await
        }));
        tasks.push(self.ingest.spawn_long_connections(shutdown.clone()));
        let tokens = self.tokens.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { tokens.refresh_loop(stop).await }));
        let ingest = self.ingest.clone();
        let stop = shutdown.clone();
        let every = self.settings.reconcile_every;
        tasks.push(tokio::spawn(async move { ingest.reconcile_loop(every, stop).await }));
        let deliver = self.deliver.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { deliver.lease_heartbeat(stop).await }));
        let audit = self.audit.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { audit.seal_audit_loop(stop).await }));
        let audit = self.audit.clone();
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { audit.retention_loop(stop).await }));
        let timers = self.timers.clone();
        let stop = shutdown.clone();
        let clock = self.clock.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(err) = timers.timers_once().await {
                    tracing::warn!(error = ?err, "quiet-hour release or escalation failed; retrying");
                }
                if !crate::stage::wait(&clock, Duration::from_secs(1), &stop).await {
                    break;
                }
            }
        }));
        let me = self.clone();
        tasks.push(tokio::spawn(async move {
            while crate::stage::wait(&me.clock, me.settings.config_reload, &shutdown).await {
                if let Err(err) = me.reload_config().await {
                    tracing::warn!(error = ?err, "reloading configuration failed; keeping the previous one");
                }
            }
        }));
        tasks
    }

    /// Gives back this process's destination leases (see [`Deliver::release_destination_leases`]).
    pub async fn release_destination_leases(&self) {
        self.deliver.release_destination_leases().await
    }
}

/// Inbox passes in flight at once in one process.
const INBOX_PASSES: usize = 2;

/// Runs `step` until `shutdown`: again at once while it finds work, else when `wake` is notified or half a
/// second has passed (polling for retries that come due).
async fn worker_loop<F, Fut>(
    name: &'static str,
    clock: &SharedClock,
    shutdown: CancellationToken,
    step: F,
    wake: Arc<Notify>,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<usize, EngineError>>,
{
    loop {
        let idle = match step().await {
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
                _ = wake.notified() => {}
                _ = clock.sleep(Duration::from_millis(500)) => {}
            }
        } else if shutdown.is_cancelled() {
            return;
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
