//! Start-up: store, engine and HTTP wired onto an already-bound listener, so tests bind port 0 and run
//! the real thing in-process.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use shoprelay_clock::{SharedClock, SystemClock};
use shoprelay_core::secret::SecretBox;
use shoprelay_engine::{Engine, EngineSettings};
use shoprelay_http::AppState;
use shoprelay_store::SqlStore;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The pipeline (tests call `dispatch_all_pending` on it).
    pub engine: Arc<Engine>,
    /// Cancel to stop.
    pub shutdown: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
    listener_task: Option<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests and the current worker steps finish.
    pub async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.http.await.context("HTTP task panicked")??;
        for w in self.workers {
            let _ = w.await;
        }
        self.engine.release_destination_leases().await;
        if let Some(task) = self.listener_task {
            task.abort();
        }
        Ok(())
    }
}

/// How to start.
pub struct StartOptions {
    /// Database URL.
    pub database: String,
    /// Master key.
    pub secrets: SecretBox,
    /// Public URL; `None` means `http://{bound address}`.
    pub public_url: Option<String>,
    /// API bearer token.
    pub api_token: Option<shoprelay_http::guard::ApiToken>,
    /// Run the background workers (tests that dispatch by hand turn them off).
    pub workers: bool,
    /// Language of the built-in messages.
    pub language: shoprelay_core::error::Lang,
    /// Adjusts the engine's tunables (tests shorten retry delays).
    pub tune: fn(&mut EngineSettings),
    /// Timeouts, the connection cap and the stop's grace period.
    pub http: shoprelay_http::edge::Limits,
    /// Serve `/metrics` without the API token.
    pub metrics_public: bool,
    /// The engine's time (tests pass a manual clock they advance).
    pub clock: SharedClock,
}

impl StartOptions {
    /// Defaults for a database and key.
    pub fn new(database: impl Into<String>, secrets: SecretBox) -> Self {
        Self {
            database: database.into(),
            secrets,
            public_url: None,
            api_token: None,
            workers: true,
            language: shoprelay_core::error::Lang::Zh,
            tune: |_| {},
            http: shoprelay_http::edge::Limits::default(),
            metrics_public: false,
            clock: SystemClock::shared(),
        }
    }
}

/// Connects the store, builds the engine and serves HTTP on `listener`.
pub async fn start(listener: TcpListener, options: StartOptions) -> Result<Running> {
    let addr = listener.local_addr()?;
    let store = SqlStore::connect(&options.database, options.secrets.clone())
        .await
        .with_context(|| format!("cannot open the database {}", redact(&options.database)))?;
    if options.workers {
        store.release_orphaned_claims().await?;
    }
    let mut settings = EngineSettings::new(options.public_url.unwrap_or_else(|| format!("http://{addr}")));
    settings.language = options.language;
    (options.tune)(&mut settings);
    let store = Arc::new(store);
    let engine = Engine::new(store.clone(), options.secrets, settings, options.clock).await?;
    let shutdown = CancellationToken::new();
    let workers = if options.workers {
        engine.spawn_workers(shutdown.clone())
    } else {
        Vec::new()
    };
    // Other replicas' NOTIFYs wake this one's workers (PostgreSQL only).
    let (inbox, outbox) = engine.wakers();
    let listener_task = store.spawn_wakeup_listener(inbox, outbox);
    // Histograms keep their samples until upkeep folds them; without it memory grows between scrapes.
    let metrics = shoprelay_http::ops::metrics_handle();
    let upkeep_stop = shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = upkeep_stop.cancelled() => break,
                _ = tick.tick() => metrics.run_upkeep(),
            }
        }
    });
    let state = AppState {
        engine: engine.clone(),
        api_token: options.api_token,
        metrics_public: options.metrics_public,
    };
    let stop = shutdown.clone();
    let http = tokio::spawn(shoprelay_http::serve(listener, state, options.http, async move {
        stop.cancelled().await
    }));
    Ok(Running {
        addr,
        engine,
        shutdown,
        http,
        workers,
        listener_task,
    })
}

/// The database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
