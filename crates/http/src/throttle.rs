//! Request rates per source on every endpoint: a source whose requests keep being refused (forged
//! pushes, wrong API tokens, probes of unknown paths) is answered 429 for a while without being served.
//!
//! Only refused requests are charged, so a marketplace sending a burst of genuine pushes is never
//! slowed by it, whatever its rate; an abuser cannot spend anyone else's budget, since each source
//! address has its own. Behind a reverse proxy the source is read from `X-Forwarded-For`, but only when
//! the connection comes from a proxy the operator named as trusted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use shoprelay_core::error::UserFacing;

use crate::error::ApiError;

/// Blocked sources remembered at most; past it, those whose block ended are forgotten first.
const MAX_BLOCKED: usize = 10_000;

/// The address a connection came from, set on every request by the connection handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub IpAddr);

/// The per-source budget of refused requests.
pub struct Throttle<C: Clock = DefaultClock> {
    limiter: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<C::Instant>>,
    blocked: Mutex<HashMap<IpAddr, C::Instant>>,
    clock: C,
    trusted_proxies: Vec<IpAddr>,
}

impl Throttle<DefaultClock> {
    /// `per_minute` refused requests per source (as a burst, refilling evenly over the minute); `None`
    /// when it is 0, which turns throttling off.
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpAddr>) -> Option<Self> {
        Self::with_clock(per_minute, trusted_proxies, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Throttle<C> {
    /// Like [`Throttle::new`] on `clock` (tests drive a fake one).
    pub fn with_clock(per_minute: u32, trusted_proxies: Vec<IpAddr>, clock: C) -> Option<Self> {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute)?);
        Some(Self {
            limiter: RateLimiter::new(quota, Default::default(), clock.clone()),
            blocked: Mutex::new(HashMap::new()),
            clock,
            trusted_proxies,
        })
    }

    fn blocked(&self) -> MutexGuard<'_, HashMap<IpAddr, C::Instant>> {
        // A panic elsewhere while holding the map leaves it usable: it holds only deadlines.
        self.blocked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long `source` is still refused, if it is.
    pub fn refused_for(&self, source: IpAddr) -> Option<Duration> {
        let now = self.clock.now();
        let mut blocked = self.blocked();
        let until = *blocked.get(&source)?;
        if until <= now {
            blocked.remove(&source);
            return None;
        }
        Some(until.duration_since(now).into())
    }

    /// Charges one refused request to `source`; once its budget is spent it is refused until it refills.
    pub fn charge(&self, source: IpAddr) {
        let Err(not_until) = self.limiter.check_key(&source) else {
            return;
        };
        let until = not_until.earliest_possible();
        let mut blocked = self.blocked();
        if blocked.len() >= MAX_BLOCKED {
            let now = self.clock.now();
            blocked.retain(|_, u| *u > now);
            self.limiter.retain_recent();
        }
        if blocked.len() < MAX_BLOCKED {
            blocked.insert(source, until);
        }
        metrics::counter!("shoprelay_http_sources_throttled_total").increment(1);
    }

    /// The client a request stands for: the peer, or — when the peer is a trusted proxy — the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn source(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|a| a.trim().parse::<IpAddr>())
            .collect::<Vec<_>>();
        // Read from the right: entries left of the first untrusted one are whatever the client wrote.
        for hop in forwarded.iter().rev() {
            match hop {
                Ok(ip) if self.trusted_proxies.contains(ip) => continue,
                Ok(ip) => return *ip,
                Err(_) => return peer,
            }
        }
        peer
    }
}

/// Whether an answer counts against its source: a client error other than our own 429.
fn is_refusal(status: StatusCode) -> bool {
    status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS
}

/// The middleware: refuses a throttled source, charges refusals.
pub async fn check(State(throttle): State<Arc<Throttle>>, request: Request, next: Next) -> Response {
    let Some(Peer(peer)) = request.extensions().get::<Peer>().copied() else {
        return next.run(request).await;
    };
    let source = throttle.source(peer, request.headers());
    if let Some(wait) = throttle.refused_for(source) {
        let mut response = ApiError::from(Throttled).into_response();
        let secs = wait.as_secs().max(1);
        if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
        return response;
    }
    let response = next.run(request).await;
    if is_refusal(response.status()) {
        throttle.charge(source);
    }
    response
}

/// A source that was refused too often, answered without being served.
#[derive(Debug, thiserror::Error)]
#[error("too many refused requests from this address")]
pub struct Throttled;

impl UserFacing for Throttled {
    fn code(&self) -> &'static str {
        "http.too_many_refused"
    }
    fn status(&self) -> u16 {
        429
    }
    fn message_zh(&self) -> String {
        "该地址的请求被拒绝次数过多，已暂时限制访问：请检查签名、API 令牌和地址，稍后（见 Retry-After）再试。".into()
    }
    fn message_en(&self) -> String {
        "Too many refused requests from this address; it is held back for a while: check the signature, API \
         token and path, then retry after the Retry-After seconds."
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_is_refused_once_its_budget_of_refusals_is_spent_and_then_again_served() {
        let clock = FakeRelativeClock::default();
        let throttle = Throttle::with_clock(3, Vec::new(), clock.clone()).unwrap();
        let (abuser, other) = (ip("203.0.113.5"), ip("203.0.113.6"));
        for _ in 0..3 {
            throttle.charge(abuser);
            assert_eq!(throttle.refused_for(abuser), None, "within the burst");
        }
        throttle.charge(abuser);
        let wait = throttle.refused_for(abuser).expect("refused once spent");
        assert!(
            wait <= Duration::from_secs(20),
            "one cell refills in a third of a minute: {wait:?}"
        );
        assert_eq!(throttle.refused_for(other), None, "others keep their own budget");
        clock.advance(wait);
        assert_eq!(throttle.refused_for(abuser), None, "served again once it refilled");
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy = ip("10.0.0.2");
        let throttle = Throttle::new(10, vec![proxy]).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.2".parse().unwrap());
        assert_eq!(
            throttle.source(proxy, &headers),
            ip("198.51.100.7"),
            "the nearest untrusted hop"
        );
        assert_eq!(
            throttle.source(ip("192.0.2.1"), &headers),
            ip("192.0.2.1"),
            "a client cannot name its own address"
        );
        headers.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(throttle.source(proxy, &headers), proxy);
        assert_eq!(throttle.source(proxy, &HeaderMap::new()), proxy);
    }

    #[test]
    fn throttling_off_is_no_throttle() {
        assert!(Throttle::new(0, Vec::new()).is_none());
    }

    #[test]
    fn only_client_errors_are_charged() {
        assert!(is_refusal(StatusCode::UNAUTHORIZED));
        assert!(is_refusal(StatusCode::NOT_FOUND));
        assert!(!is_refusal(StatusCode::OK));
        assert!(!is_refusal(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!is_refusal(StatusCode::TOO_MANY_REQUESTS));
    }
}
