//! Access-token cache: one token per (corp id, secret), refreshed by one caller at a time.
//!
//! WeCom blocks callers that fetch tokens too often and bans an IP for an hour after repeated
//! wrong secrets, so this cache (1) answers from memory until 5 minutes before expiry, (2) lets
//! concurrent callers wait on a single `gettoken`, (3) drops a token only if it is still the one
//! that failed, so a burst of 40014s causes one refresh, and (4) remembers a rejected secret for
//! a minute instead of asking again for every queued message.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use shoprelay_clock::{SharedClock, UnixMs};

use crate::error::WeComError;
use shoprelay_core::secret::Secret;

/// Refresh this long before WeCom's `expires_in` runs out.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// How long a rejected secret or corp id is answered from memory.
const REJECTED_CREDENTIALS_BACKOFF: Duration = Duration::from_secs(60);

/// What one `gettoken` returned.
pub(crate) struct FreshToken {
    pub(crate) access_token: String,
    pub(crate) expires_in: Duration,
}

#[derive(Default)]
struct Slot {
    token: Option<(String, UnixMs)>,
    rejected: Option<(i64, String, UnixMs)>,
}

type SlotKey = (String, Secret);

/// Token cache shared by every clone of a client; a token's age is read on the process's clock.
pub(crate) struct TokenCache {
    // The std mutex only guards the map lookup; the per-slot tokio mutex is held across the
    // `gettoken` await, which is what makes the refresh single-flight.
    slots: Mutex<HashMap<SlotKey, Arc<tokio::sync::Mutex<Slot>>>>,
    clock: SharedClock,
}

impl TokenCache {
    /// An empty cache that ages its tokens by `clock`.
    pub(crate) fn new(clock: SharedClock) -> Self {
        Self {
            slots: Mutex::default(),
            clock,
        }
    }

    fn slot(&self, corp_id: &str, secret: &Secret) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry((corp_id.to_owned(), secret.clone())).or_default().clone()
    }

    /// The cached token, or the result of `fetch` when there is none or it is near expiry.
    pub(crate) async fn get<F, Fut>(&self, corp_id: &str, secret: &Secret, fetch: F) -> Result<String, WeComError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FreshToken, WeComError>>,
    {
        let slot = self.slot(corp_id, secret);
        let mut slot = slot.lock().await;
        let now = self.clock.now();
        if let Some((token, refresh_at)) = &slot.token {
            if now < *refresh_at {
                return Ok(token.clone());
            }
        }
        if let Some((errcode, errmsg, until)) = &slot.rejected {
            if now < *until {
                return Err(WeComError::Api {
                    errcode: *errcode,
                    errmsg: errmsg.clone(),
                });
            }
        }
        match fetch().await {
            Ok(fresh) => {
                let lifetime = fresh
                    .expires_in
                    .checked_sub(REFRESH_MARGIN)
                    .unwrap_or(fresh.expires_in / 2);
                slot.token = Some((fresh.access_token.clone(), self.clock.now() + lifetime));
                slot.rejected = None;
                Ok(fresh.access_token)
            }
            Err(err) => {
                if let WeComError::Api {
                    errcode: errcode @ (40001 | 40013),
                    errmsg,
                } = &err
                {
                    slot.rejected = Some((
                        *errcode,
                        errmsg.clone(),
                        self.clock.now() + REJECTED_CREDENTIALS_BACKOFF,
                    ));
                }
                Err(err)
            }
        }
    }

    /// Forgets `failed_token`, unless another caller already replaced it.
    pub(crate) async fn invalidate(&self, corp_id: &str, secret: &Secret, failed_token: &str) {
        let slot = self.slot(corp_id, secret);
        let mut slot = slot.lock().await;
        if slot.token.as_ref().is_some_and(|(token, _)| token == failed_token) {
            slot.token = None;
        }
    }
}

#[cfg(test)]
mod tests;
