//! A load generator for benchmarks (`shoprelay bench`): Shopee order pushes signed as Shopee signs them,
//! a closed-loop driver (N connections, each sending its next request when the previous one is answered)
//! and an open-loop driver (a fixed rate, whatever the answers), both over one keep-alive HTTP/1.1
//! client, plus a bare axum handler to compare a server against.
//!
//! It only drives and times requests; percentiles and reporting belong to the caller.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::shopee::sign::push_signature;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use rand::Rng;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One signed push, ready to send.
#[derive(Debug, Clone)]
pub struct SignedPush {
    /// The order it announces (distinct for every push a [`PushMaker`] makes).
    pub order_sn: String,
    /// The raw JSON body, exactly as signed.
    pub body: String,
    /// The `Authorization` header: HMAC-SHA256 over the callback URL, `|` and the body.
    pub authorization: String,
}

/// Makes order-status pushes (code 3, `UNPAID`) for one shop, each for a new order, signed for one
/// callback URL — the shape the Shopee simulator sends, with a distinct `msg_id` and `ordersn` each.
pub struct PushMaker {
    callback_url: String,
    push_key: String,
    shop_id: u64,
    run: String,
    seq: AtomicU64,
}

impl PushMaker {
    /// Pushes to `callback_url` (signatures cover it byte for byte), signed with `push_key`.
    pub fn new(callback_url: impl Into<String>, push_key: impl Into<String>, shop_id: u64) -> Self {
        // A per-run prefix keeps order numbers and msg_ids distinct across runs on one database.
        let run = format!("{:06X}", rand::thread_rng().gen_range(0..0x100_0000u32));
        Self {
            callback_url: callback_url.into(),
            push_key: push_key.into(),
            shop_id,
            run,
            seq: AtomicU64::new(0),
        }
    }

    /// The callback URL the pushes are signed for (and sent to).
    pub fn url(&self) -> &str {
        &self.callback_url
    }

    /// The next push: a new order, a new body.
    pub fn next(&self) -> SignedPush {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let order_sn = format!("BN{}{n:08}", self.run);
        let now = unix_secs();
        let body = json!({
            "data": {
                "items": [],
                "ordersn": order_sn,
                "status": "UNPAID",
                "completed_scenario": "",
                "update_time": now,
            },
            "shop_id": self.shop_id,
            "code": 3,
            "timestamp": now,
            "msg_id": format!("{}{n:026x}", self.run),
        })
        .to_string();
        let authorization = push_signature(&self.push_key, &self.callback_url, body.as_bytes());
        SignedPush {
            order_sn,
            body,
            authorization,
        }
    }
}

/// What a run of requests produced.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Requests answered 2xx.
    pub ok: u64,
    /// Requests that failed (transport error or a non-2xx status).
    pub failed: u64,
    /// The first failure, to show.
    pub first_failure: Option<String>,
    /// Time from sending to the complete answer, of every 2xx request.
    pub latencies: Vec<Duration>,
    /// When each of those requests was sent, from the start of the run (same order as `latencies`).
    pub sent_at: Vec<Duration>,
    /// From the first request sent to the last answer received.
    pub elapsed: Duration,
    /// Open loop only: the largest delay between a request's scheduled and actual send time.
    pub max_send_lag: Duration,
}

impl LoadReport {
    /// Answered 2xx per second over [`LoadReport::elapsed`].
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    fn record(&mut self, sent_at: Duration, outcome: Result<Duration, String>) {
        match outcome {
            Ok(latency) => {
                self.ok += 1;
                self.latencies.push(latency);
                self.sent_at.push(sent_at);
            }
            Err(failure) => {
                self.failed += 1;
                self.first_failure.get_or_insert(failure);
            }
        }
    }

    fn merge(&mut self, other: LoadReport) {
        self.ok += other.ok;
        self.failed += other.failed;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.latencies.extend(other.latencies);
        self.sent_at.extend(other.sent_at);
        self.max_send_lag = self.max_send_lag.max(other.max_send_lag);
    }
}

/// An HTTP/1.1 client with keep-alive and no request timeout beyond `timeout`, for driving load.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(timeout)
        .build()
}

/// Posts one push and times it until the whole answer is read.
async fn post_push(client: &reqwest::Client, url: &str, push: SignedPush) -> Result<Duration, String> {
    let started = Instant::now();
    let answer = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::AUTHORIZATION, push.authorization)
        .body(push.body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = answer.status();
    let body = answer
        .bytes()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    let latency = started.elapsed();
    if status.is_success() {
        Ok(latency)
    } else {
        Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))
    }
}

/// Closed loop: `connections` senders, each posting `make()` to `url` again as soon as its previous
/// request is answered, until `duration` has passed (requests in flight then are finished and counted).
/// Run it on the runtime whose threads should carry the client's work.
pub async fn closed_loop<F>(
    client: reqwest::Client,
    url: String,
    connections: usize,
    duration: Duration,
    make: Arc<F>,
) -> LoadReport
where
    F: Fn() -> SignedPush + Send + Sync + 'static,
{
    let started = Instant::now();
    let deadline = started + duration;
    let url: Arc<str> = url.into();
    let senders: Vec<JoinHandle<LoadReport>> = (0..connections.max(1))
        .map(|_| {
            let (client, url, make) = (client.clone(), url.clone(), make.clone());
            tokio::spawn(async move {
                let mut report = LoadReport::default();
                loop {
                    let sent_at = Instant::now();
                    if sent_at >= deadline {
                        break;
                    }
                    let outcome = post_push(&client, &url, make()).await;
                    report.record(sent_at - started, outcome);
                }
                report
            })
        })
        .collect();
    gather(senders, started).await
}

/// Open loop: posts `make()` to `url` at `rate` requests per second for `duration`, each request on its
/// own task so a slow answer never delays the next send; waits for every answer.
pub async fn open_loop<F>(
    client: reqwest::Client,
    url: String,
    rate: f64,
    duration: Duration,
    make: Arc<F>,
) -> LoadReport
where
    F: Fn() -> SignedPush + Send + Sync + 'static,
{
    let url: Arc<str> = url.into();
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let total = (duration.as_secs_f64() * rate).floor() as u64;
    let started = Instant::now();
    let mut max_send_lag = Duration::ZERO;
    let mut requests = Vec::with_capacity(total as usize);
    for i in 0..total {
        let push = make();
        let due = started + period.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let sent_at = Instant::now();
        max_send_lag = max_send_lag.max(sent_at.saturating_duration_since(due));
        let (client, url) = (client.clone(), url.clone());
        requests.push(tokio::spawn(async move {
            let mut report = LoadReport::default();
            report.record(sent_at - started, post_push(&client, &url, push).await);
            report
        }));
    }
    let mut report = gather(requests, started).await;
    report.max_send_lag = max_send_lag;
    report
}

async fn gather(tasks: Vec<JoinHandle<LoadReport>>, started: Instant) -> LoadReport {
    let mut total = LoadReport::default();
    for task in tasks {
        match task.await {
            Ok(report) => total.merge(report),
            Err(e) => total.record(Duration::ZERO, Err(format!("a load task failed: {e}"))),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// A handler that reads the request body and answers `200` with an empty body: the floor any push
/// handler on the same HTTP stack can reach. Routed like the real one, at `POST /push/shopee/{app_id}`.
pub fn bare_router() -> Router {
    Router::new().route("/push/shopee/{app_id}", post(|_body: Bytes| async { StatusCode::OK }))
}

/// Serves [`bare_router`] on `listener` until the returned task is aborted.
pub fn serve_bare(listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, bare_router()).await {
            tracing::error!(error = %e, "bare benchmark handler stopped");
        }
    })
}

/// Now as Unix milliseconds with sub-millisecond precision (to compare with the simulators' timestamps).
pub fn unix_ms_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_are_distinct_and_verify() {
        let maker = PushMaker::new("http://127.0.0.1:1/push/shopee/x", "key", 727720655);
        let (a, b) = (maker.next(), maker.next());
        assert_ne!(a.body, b.body);
        assert_ne!(a.order_sn, b.order_sn);
        assert!(shoprelay_marketplaces::shopee::verify_push(
            "key",
            maker.url(),
            a.body.as_bytes(),
            &a.authorization
        ));
        let parsed = shoprelay_marketplaces::shopee::ShopeePush::parse(a.body.as_bytes()).unwrap();
        assert_eq!(parsed.code, 3);
    }
}
