//! The connection layer: how long a client may take, how many may be connected, how long a stop waits.
//! HTTP/1.1 only: the marketplaces, WeCom and browsers all speak it, and hyper's header timeout (which
//! also closes idle kept-alive connections) is an HTTP/1 setting.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use shoprelay_core::error::UserFacing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::error::ApiError;
use crate::throttle::{self, Peer, Throttle};

/// Bounds on what one client can hold on to.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time to send a request's headers, counted from the connection's start or the end of the previous
    /// response — so it is also the idle timeout of a kept-alive connection.
    pub header_timeout: Duration,
    /// Longest wait for the next piece of a request body.
    pub body_timeout: Duration,
    /// Longest a request may take from its headers to its answer; past it the client gets 408.
    pub request_timeout: Duration,
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Connections one source address may hold at once (0: no per-source cap, e.g. behind a reverse
    /// proxy, where every connection comes from the proxy): one abuser cannot take every connection and
    /// starve the marketplaces' pushes.
    pub max_connections_per_source: usize,
    /// How long a stop waits for requests in flight before it closes their connections.
    pub shutdown_grace: Duration,
    /// Refused requests (client errors) one source may cause per minute before it is answered 429 for a
    /// while; 0 turns this off. Genuine requests are never charged.
    pub refused_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the real source.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_connections_per_source: 256,
            shutdown_grace: Duration::from_secs(10),
            refused_per_minute: 120,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves; then stops accepting, lets
/// requests in flight finish for up to [`Limits::shutdown_grace`] and closes what is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn_with_state(limits.request_timeout, deadline));
    let app = match Throttle::new(limits.refused_per_minute, limits.trusted_proxies.clone()) {
        Some(throttle) => app.layer(axum::middleware::from_fn_with_state(
            Arc::new(throttle),
            throttle::check,
        )),
        None => app,
    };
    // Outside the router, where hyper's body type is still concrete.
    let service = ServiceBuilder::new()
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .service(app);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let sources = Arc::new(Sources::new(limits.max_connections_per_source));
    let (stop, stopping) = watch::channel(());
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: accepting again at once would spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (stream, peer) = stream;
        let Some(source) = sources.admit(peer.ip()) else {
            metrics::counter!("shoprelay_http_connections_refused_total", "cap" => "source").increment(1);
            tokio::spawn(refuse(stream, limits.header_timeout));
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("shoprelay_http_connections_refused_total", "cap" => "server").increment(1);
            tokio::spawn(refuse(stream, limits.header_timeout));
            continue;
        };
        // Every request learns which address its connection came from (for the per-source throttle).
        let peer_ip = Peer(peer.ip());
        let service = TowerToHyperService::new(service.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(peer_ip);
                request
            },
        ));
        let mut stopping = stopping.clone();
        let header_timeout = limits.header_timeout;
        connections.spawn(async move {
            let _held = (permit, source);
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let done = tokio::select! {
                done = conn.as_mut() => done,
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(err) = done {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stop.send(());
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "closing connections still busy after the shutdown grace period"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Open connections per source address, for the per-source cap.
struct Sources {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection of a source; dropping it (the connection ended) frees its place.
struct SourceGuard {
    sources: Arc<Sources>,
    ip: IpAddr,
}

impl Sources {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Counts only: a panic elsewhere cannot leave them in a state worse than off by one.
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for one more connection from `ip`, unless it holds the cap already (0: no cap).
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<SourceGuard> {
        let mut open = self.open();
        let held = open.entry(ip).or_default();
        if self.cap != 0 && *held >= self.cap {
            return None;
        }
        *held += 1;
        Some(SourceGuard {
            sources: self.clone(),
            ip,
        })
    }
}

impl Drop for SourceGuard {
    fn drop(&mut self) {
        let mut open = self.sources.open();
        if let Some(held) = open.get_mut(&self.ip) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A request that takes longer than the deadline is answered 408 with its stable code.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::from(TooSlow).into_response(),
    }
}

/// The client took longer than the request deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request took too long")]
pub struct TooSlow;

impl UserFacing for TooSlow {
    fn code(&self) -> &'static str {
        "http.request_timeout"
    }
    fn status(&self) -> u16 {
        408
    }
    fn message_zh(&self) -> String {
        "请求超时：请求未能在规定时间内发送完毕或处理完毕，请重试".into()
    }
    fn message_en(&self) -> String {
        "The request timed out: it was not sent or handled in time; try again".into()
    }
}

/// Answers 503 past the connection cap. The request the client already sent is read and dropped for a
/// moment, because closing a socket with unread data resets it and the client would never see the 503.
async fn refuse(mut stream: TcpStream, linger: Duration) {
    let body = "服务繁忙，请稍后重试 / busy, try again";
    let busy = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(busy.as_bytes()).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(linger, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
