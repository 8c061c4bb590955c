use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

use shoprelay_clock::ManualClock;

struct Counter(AtomicUsize);

impl Counter {
    fn new() -> Arc<Self> {
        Arc::new(Self(AtomicUsize::new(0)))
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// A fake gettoken that takes a second and numbers its tokens.
    fn fetch(self: &Arc<Self>) -> impl Future<Output = Result<FreshToken, WeComError>> {
        let me = self.clone();
        async move {
            let n = me.0.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(FreshToken {
                access_token: format!("token-{n}"),
                expires_in: Duration::from_secs(7200),
            })
        }
    }
}

/// A cache on a clock of the test's own, standing until the test moves it.
fn cache() -> (TokenCache, ManualClock) {
    let clock = ManualClock::new(UnixMs::EPOCH);
    (TokenCache::new(clock.shared()), clock)
}

fn secret() -> Secret {
    Secret::new("s")
}

#[tokio::test(start_paused = true)]
async fn cached_until_five_minutes_before_expiry() {
    let (cache, clock) = cache();
    let calls = Counter::new();
    assert_eq!(cache.get("c", &secret(), || calls.fetch()).await.unwrap(), "token-1");
    clock.advance(Duration::from_secs(7200 - 300 - 2));
    assert_eq!(cache.get("c", &secret(), || calls.fetch()).await.unwrap(), "token-1");
    assert_eq!(calls.count(), 1);
    clock.advance(Duration::from_secs(2));
    assert_eq!(cache.get("c", &secret(), || calls.fetch()).await.unwrap(), "token-2");
    assert_eq!(calls.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn one_token_per_corp_and_secret() {
    let cache = cache().0;
    let calls = Counter::new();
    cache.get("c", &secret(), || calls.fetch()).await.unwrap();
    cache.get("c", &Secret::new("other"), || calls.fetch()).await.unwrap();
    cache.get("d", &secret(), || calls.fetch()).await.unwrap();
    cache.get("c", &secret(), || calls.fetch()).await.unwrap();
    assert_eq!(calls.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_refresh() {
    let cache = Arc::new(cache().0);
    let calls = Counter::new();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move { cache.get("c", &secret(), || calls.fetch()).await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "token-1");
    }
    assert_eq!(calls.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn many_invalidations_of_one_token_cause_one_refresh() {
    let cache = Arc::new(cache().0);
    let calls = Counter::new();
    let failed = cache.get("c", &secret(), || calls.fetch()).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (cache, calls, failed) = (cache.clone(), calls.clone(), failed.clone());
            tokio::spawn(async move {
                cache.invalidate("c", &secret(), &failed).await;
                cache.get("c", &secret(), || calls.fetch()).await.unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "token-2");
    }
    assert_eq!(calls.count(), 2);
    // A stale invalidation leaves the new token alone.
    cache.invalidate("c", &secret(), &failed).await;
    assert_eq!(cache.get("c", &secret(), || calls.fetch()).await.unwrap(), "token-2");
}

#[tokio::test(start_paused = true)]
async fn rejected_secret_is_not_retried_for_a_minute() {
    let (cache, clock) = cache();
    let calls = Counter::new();
    let reject = || {
        let calls = calls.clone();
        async move {
            calls.0.fetch_add(1, Ordering::SeqCst);
            Err(WeComError::Api {
                errcode: 40001,
                errmsg: "invalid credential".into(),
            })
        }
    };
    for _ in 0..5 {
        let err = cache.get("c", &secret(), reject).await.unwrap_err();
        assert_eq!(err.errcode(), Some(40001));
    }
    assert_eq!(calls.count(), 1);
    clock.advance(REJECTED_CREDENTIALS_BACKOFF);
    assert_eq!(cache.get("c", &secret(), || calls.fetch()).await.unwrap(), "token-2");
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_not_remembered() {
    let cache = cache().0;
    let calls = Counter::new();
    let busy = || async {
        Err(WeComError::Api {
            errcode: -1,
            errmsg: "system busy".into(),
        })
    };
    assert!(cache.get("c", &secret(), busy).await.is_err());
    assert_eq!(cache.get("c", &secret(), || calls.fetch()).await.unwrap(), "token-1");
}
