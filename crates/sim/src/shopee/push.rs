//! Pushes to the partners' callback URLs, signed like Shopee's, with every attempt recorded.
//!
//! A push succeeds on a 2xx with an EMPTY body within 3 s (2 s for chat, code 10), as Shopee requires.
//! A failed push is retried only when asked (`POST /sim/push/retry`), standing in for Shopee's
//! 300 s / 1800 s / 10800 s schedule (1 / 2 / 3 s for chat), and is listed by `get_lost_push_message`
//! until it is delivered or confirmed consumed.
//!
//! Chat pushes (code 10) are ordered, as Shopee promises: they go through one lane, a task that sends
//! them one at a time in the order they were made, and the out-of-order fault never holds them back.
//! The lane also lets a push be made without waiting for it (the echo of a seller's own message, made
//! while answering `send_message`) and still keep its place.

use std::time::{Duration, Instant};

use super::sign::push_signature;
use axum::body::Bytes;
use axum::extract::{Query as QueryParams, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::api::{check_public, ok_dashed, ApiError, Query};
use super::state::{random_hex, Core, Shared, State as SimState};

/// The push code of buyer chat.
pub(crate) const CHAT_CODE: i64 = 10;

/// Earliest lost pushes `get_lost_push_message` returns per call.
const LOST_PAGE: usize = 100;
/// How far back lost pushes are kept.
const LOST_WINDOW_SECS: i64 = 3 * 86400;
/// The documented text of the verification push.
const VERIFY_INFO: &str = "This is a Verification message. Please return status code of 200 with empty body.";

/// One push to one callback URL, with every delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushRecord {
    /// Sequence number; also its `message_id` in the lost list.
    pub id: u64,
    /// The partner it is for.
    pub partner_id: u64,
    /// Push code.
    pub code: i64,
    /// The shop, for shop-level pushes.
    pub shop_id: Option<u64>,
    /// Unix seconds (simulator clock) it was made.
    pub timestamp: i64,
    /// The callback URL, exactly as signed.
    pub url: String,
    /// The raw body, exactly as signed.
    pub body: String,
    /// The `Authorization` header.
    pub authorization: String,
    /// Delivery attempts, oldest first.
    pub attempts: Vec<Attempt>,
    /// Whether an attempt succeeded.
    pub delivered: bool,
    /// Held back by the out-of-order fault, not sent yet.
    pub held: bool,
    /// Confirmed through `confirm_consumed_lost_push_message`.
    pub lost_consumed: bool,
}

impl PushRecord {
    /// Failed, and not yet delivered or confirmed consumed: what `get_lost_push_message` lists.
    pub fn is_lost(&self) -> bool {
        !self.delivered && !self.attempts.is_empty() && !self.lost_consumed
    }
}

/// Chat pushes waiting in the lane, and who to tell once they were attempted.
pub(crate) struct ChatJob {
    ids: Vec<u64>,
    done: oneshot::Sender<()>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// The receiver's answer body (must be empty for success).
    pub body: String,
    /// Milliseconds until the answer or the failure.
    pub latency_ms: u64,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl Core {
    /// Callback URLs of the chosen partner (or every partner), with the partner id.
    fn targets(&self, partner: Option<u64>) -> Vec<(u64, String)> {
        let state = self.state();
        self.config
            .partners
            .iter()
            .filter(|p| partner.is_none_or(|id| id == p.partner_id))
            .filter_map(|p| {
                let url = state
                    .push_targets
                    .get(&p.partner_id)
                    .or(p.push_url.as_ref())
                    .or(self.config.push_url.as_ref());
                url.map(|u| (p.partner_id, u.clone()))
            })
            .collect()
    }

    /// Sets a partner's (or every partner's) callback URL and, like the Shopee console, sends the
    /// verification push to it.
    pub(crate) async fn set_push_target(&self, partner: Option<u64>, url: String) -> Vec<PushRecord> {
        {
            let mut state = self.state();
            for p in self
                .config
                .partners
                .iter()
                .filter(|p| partner.is_none_or(|id| id == p.partner_id))
            {
                state.push_targets.insert(p.partner_id, url.clone());
            }
        }
        self.send_verification(partner).await
    }

    /// The code-0 push Shopee sends when a callback URL is set.
    pub(crate) async fn send_verification(&self, partner: Option<u64>) -> Vec<PushRecord> {
        let body = json!({ "code": 0, "data": { "verify_info": VERIFY_INFO } }).to_string();
        self.send_raw(partner, 0, None, body).await
    }

    /// A shop push in Shopee's shape: `{data, shop_id, code, timestamp[, msg_id]}`.
    pub(crate) async fn push_shop_event(&self, shop_id: u64, code: i64, data: Value) -> Vec<PushRecord> {
        let body = self.shop_event_body(shop_id, code, data);
        self.send_raw(None, code, Some(shop_id), body).await
    }

    /// The body of a shop push.
    pub(crate) fn shop_event_body(&self, shop_id: u64, code: i64, data: Value) -> String {
        let mut body = json!({ "data": data, "shop_id": shop_id, "code": code, "timestamp": self.now() });
        if self.config.push_msg_id {
            body["msg_id"] = random_hex().into();
        }
        body.to_string()
    }

    /// Sends any body (codes 1, 2, 10, 12, unknown codes, even non-JSON), reading its code and shop for the record.
    pub(crate) async fn send_any(&self, partner: Option<u64>, body: String) -> Vec<PushRecord> {
        let parsed = serde_json::from_str::<Value>(&body).ok();
        let field = |key: &str| parsed.as_ref().and_then(|v| v.get(key));
        let code = field("code").and_then(Value::as_i64).unwrap_or(-1);
        let shop_id = field("shop_id").and_then(Value::as_u64);
        self.send_raw(partner, code, shop_id, body).await
    }

    /// Signs and sends exactly `body` to the chosen partner's (or every partner's) callback URL.
    pub(crate) async fn send_raw(
        &self,
        partner: Option<u64>,
        code: i64,
        shop_id: Option<u64>,
        body: String,
    ) -> Vec<PushRecord> {
        if code == CHAT_CODE {
            let (ids, done) = self.queue_chat(partner, shop_id, body);
            // An error means the lane stopped: the simulator is shutting down, nothing more will be sent.
            let _ = done.await;
            return self.records(&ids);
        }
        let targets = self.targets(partner);
        let (created, to_send) = {
            let mut state = self.state();
            let created = self.record_pushes(&mut state, targets, code, shop_id, &body);
            // Out of order: a push waits; the next one goes out first, then the one that waited.
            let to_send = if state.faults.reorder_pushes && state.held.is_empty() {
                for id in &created {
                    state.pushes[index(*id)].held = true;
                }
                state.held = created.clone();
                Vec::new()
            } else {
                let mut send = created.clone();
                send.append(&mut state.held);
                send
            };
            (created, to_send)
        };
        self.deliver(&to_send).await;
        let released: Vec<u64> = to_send.into_iter().filter(|id| !created.contains(id)).collect();
        let mut touched = created;
        touched.extend(released);
        self.records(&touched)
    }

    /// Records one push of `body` to each target, signed for its URL; returns their ids.
    fn record_pushes(
        &self,
        state: &mut SimState,
        targets: Vec<(u64, String)>,
        code: i64,
        shop_id: Option<u64>,
        body: &str,
    ) -> Vec<u64> {
        let timestamp = self.now();
        let mut created = Vec::with_capacity(targets.len());
        for (partner_id, url) in targets {
            let Some(partner) = self.partner(partner_id) else {
                continue;
            };
            let id = state.pushes.len() as u64 + 1;
            let authorization = push_signature(partner.push_key(), &url, body.as_bytes());
            state.pushes.push(PushRecord {
                id,
                partner_id,
                code,
                shop_id,
                timestamp,
                url,
                body: body.to_owned(),
                authorization,
                attempts: Vec::new(),
                delivered: false,
                held: false,
                lost_consumed: false,
            });
            created.push(id);
        }
        created
    }

    /// Makes a chat push (code 10) and puts it in the lane behind the chat pushes before it. Returns its
    /// ids and a receiver that completes once it was attempted; dropping the receiver does not stop it.
    pub(crate) fn queue_chat(
        &self,
        partner: Option<u64>,
        shop_id: Option<u64>,
        body: String,
    ) -> (Vec<u64>, oneshot::Receiver<()>) {
        let targets = self.targets(partner);
        let (done, attempted) = oneshot::channel();
        let mut state = self.state();
        let ids = self.record_pushes(&mut state, targets, CHAT_CODE, shop_id, &body);
        // Queued under the lock, so the lane's order is the order the pushes were made in. A send error
        // means the lane stopped with the simulator; the dropped sender then ends the wait.
        let _ = self.chat_lane.send(ChatJob { ids: ids.clone(), done });
        (ids, attempted)
    }

    /// Completes once every chat push made so far has been attempted.
    pub(crate) async fn chat_settled(&self) {
        let (done, attempted) = oneshot::channel();
        if self.chat_lane.send(ChatJob { ids: Vec::new(), done }).is_ok() {
            let _ = attempted.await;
        }
    }

    /// Sends the pushes the out-of-order fault is holding back.
    pub(crate) async fn flush_held(&self) -> Vec<PushRecord> {
        let held = std::mem::take(&mut self.state().held);
        self.deliver(&held).await;
        self.records(&held)
    }

    /// Tries every failed push again (Shopee's retry schedule, on demand).
    pub(crate) async fn retry_failed(&self) -> Vec<PushRecord> {
        let failed: Vec<u64> = self
            .state()
            .pushes
            .iter()
            .filter(|p| p.is_lost())
            .map(|p| p.id)
            .collect();
        self.deliver(&failed).await;
        self.records(&failed)
    }

    /// Copies of the given pushes.
    pub(crate) fn records(&self, ids: &[u64]) -> Vec<PushRecord> {
        let state = self.state();
        ids.iter()
            .filter_map(|id| state.pushes.get(index(*id)).cloned())
            .collect()
    }

    async fn deliver(&self, ids: &[u64]) {
        let times = if self.state().faults.duplicate_pushes { 2 } else { 1 };
        for id in ids {
            for _ in 0..times {
                self.attempt(*id).await;
            }
        }
    }

    async fn attempt(&self, id: u64) {
        let Some(push) = self.state().pushes.get(index(id)).cloned() else {
            return;
        };
        let timeout = Duration::from_secs(if push.code == CHAT_CODE { 2 } else { 3 });
        let started = Instant::now();
        let sent = self
            .http
            .post(&push.url)
            .header(reqwest::header::AUTHORIZATION, &push.authorization)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(push.body)
            .timeout(timeout)
            .send()
            .await;
        let (status, body, error) = match sent {
            Err(e) => (None, String::new(), Some(e.to_string())),
            Ok(answer) => {
                let status = answer.status().as_u16();
                match answer.text().await {
                    Err(e) => (Some(status), String::new(), Some(e.to_string())),
                    Ok(body) if !(200..300).contains(&status) => (Some(status), body, Some(format!("HTTP {status}"))),
                    Ok(body) if !body.is_empty() => {
                        (Some(status), body, Some("the answer body must be empty".to_owned()))
                    }
                    Ok(body) => (Some(status), body, None),
                }
            }
        };
        let attempt = Attempt {
            status,
            body,
            latency_ms: started.elapsed().as_millis() as u64,
            error,
        };
        let mut state = self.state();
        if let Some(record) = state.pushes.get_mut(index(id)) {
            record.held = false;
            record.delivered |= attempt.error.is_none();
            record.attempts.push(attempt);
        }
    }
}

/// The chat lane: sends each queued chat push in turn, the next only after the one before was attempted.
/// Runs until the simulator is dropped.
pub(crate) async fn run_chat_lane(core: Shared, mut lane: mpsc::UnboundedReceiver<ChatJob>) {
    while let Some(job) = lane.recv().await {
        core.deliver(&job.ids).await;
        // The maker may not wait (an echo is made without waiting): nobody to tell is fine.
        let _ = job.done.send(());
    }
}

/// Push ids start at 1 and are positions in the record list plus one.
fn index(id: u64) -> usize {
    id.saturating_sub(1) as usize
}

/// `POST /api/v2/push/get_lost_push_message` (public signing; also GET with `legacy_lost_push_get`).
///
/// Each item is `{shop_id?, code, timestamp, data}` where `data` is a JSON string holding the WHOLE
/// original push body, byte for byte; `shop_id` is absent for partner-level codes. The answer carries
/// `"-"` in `error`, `message` and `warning`, as the reference's success sample does.
pub(crate) async fn get_lost_push_message(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
) -> Result<Response, ApiError> {
    let partner_id = check_public(&core, "/api/v2/push/get_lost_push_message", &q)?;
    let since = core.now() - LOST_WINDOW_SECS;
    let state = core.state();
    let lost: Vec<&PushRecord> = state
        .pushes
        .iter()
        .filter(|p| p.partner_id == partner_id && p.is_lost() && p.timestamp >= since)
        .collect();
    let page = &lost[..lost.len().min(LOST_PAGE)];
    let list: Vec<Value> = page
        .iter()
        .map(|p| {
            let mut message = json!({ "code": p.code, "timestamp": p.timestamp, "data": p.body });
            if let Some(shop_id) = p.shop_id {
                message["shop_id"] = shop_id.into();
            }
            message
        })
        .collect();
    let last_message_id = page.last().map_or(0, |p| p.id);
    Ok(ok_dashed(
        json!({ "push_message_list": list, "has_next_page": lost.len() > LOST_PAGE, "last_message_id": last_message_id }),
    ))
}

#[derive(Deserialize)]
struct ConfirmBody {
    last_message_id: u64,
}

/// `POST /api/v2/push/confirm_consumed_lost_push_message` (public signing): acknowledges every lost push
/// up to `last_message_id`.
pub(crate) async fn confirm_consumed_lost_push_message(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let partner_id = check_public(&core, "/api/v2/push/confirm_consumed_lost_push_message", &q)?;
    let confirm: ConfirmBody =
        serde_json::from_slice(&body).map_err(|_| ApiError::param("Invalid last_message_id."))?;
    for p in core.state().pushes.iter_mut() {
        if p.partner_id == partner_id && p.id <= confirm.last_message_id && p.is_lost() {
            p.lost_consumed = true;
        }
    }
    Ok(ok_dashed(json!({})))
}
