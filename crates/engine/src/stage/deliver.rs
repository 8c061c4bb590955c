//! The delivery stage: outbox rows are paced, sent, and each attempt's outcome — delivered, retry later,
//! deferred (over budget, throttled, held) or dead letter — is committed together with its audit entry.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use futures::future::join_all;
use shoprelay_core::destination::Destination;
use shoprelay_core::error::UserFacing;
use shoprelay_store::{
    AuditEntry, AuditKind, AuditOutcome, DeliveryFinish, DeliveryItem, DeliveryResult, WriteBatch, PRIORITY_BULK,
};
use shoprelay_wecom::client::{AppCredentials, Unreached};
use shoprelay_wecom::error::{Disposition, WeComError};
use shoprelay_wecom::message::{AppBody, AppChatSpec};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use std::time::Duration;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::error::Lang;
use shoprelay_store::CardCodes;
use shoprelay_store::NewEvent;
use shoprelay_wecom::client::WeComClient;
use tokio::sync::Notify;

use crate::chat::sent_cards::{sent_card, SentCard};
use crate::config::{WeComAppConfig, WebhookConfig};
use crate::egress::{admit, literal_ip, refusal_of};
use crate::engine::EngineSettings;
use crate::error::EngineError;
use crate::render::Payload;
use crate::routing::admin_notice;
use crate::stage::outbox::{delivery_failing, BreakerSignal, Outbox, Pacing, DIGEST_ROUTE};
use crate::stage::{stage_common, ConfigView};
use crate::webhook::{secret_key, signature, RedirectRefused, WebhookClients};
use crate::writer::Writer;

/// Why an attempt did not deliver.
struct Failure {
    /// Worth retrying (network, 5xx, busy, rate limited); otherwise only a change can help.
    transient: bool,
    /// An admin must fix the destination's configuration; every message to it must wait.
    holds_destination: bool,
    /// WeCom throttled us (45009, 45033): back off without spending the delivery's attempts.
    throttled: bool,
    /// What went wrong.
    error: String,
    /// WeCom's errcode, when it answered with one.
    errcode: Option<i64>,
    /// The HTTP status, when it was not 200.
    http_status: Option<i64>,
    /// The receiver asked us to slow down for this long (a webhook's 429 with Retry-After, …).
    slow_down: Option<Option<Duration>>,
}

impl Failure {
    /// A configuration an admin must fix: the destination holds, no attempt is spent.
    fn held(err: &dyn UserFacing, http_status: Option<i64>) -> Self {
        Self {
            transient: false,
            slow_down: None,
            holds_destination: true,
            throttled: false,
            error: format!("{}: {} / {}", err.code(), err.message_en(), err.message_zh()),
            errcode: None,
            http_status,
        }
    }

    fn permanent(error: String) -> Self {
        Self {
            transient: false,
            slow_down: None,
            holds_destination: false,
            throttled: false,
            error,
            errcode: None,
            http_status: None,
        }
    }
}

/// What a delivered attempt reports.
struct Sent {
    /// For the audit log.
    detail: String,
    /// Recipients WeCom accepted the message for but reached nobody through.
    unreached: Vec<Unreached>,
    /// An interactive card and the response_code WeCom answered for it.
    card: Option<SentCard>,
}

impl Sent {
    fn accepted(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            unreached: Vec::new(),
            card: None,
        }
    }
}

/// Sends the outbox: WeCom, robots and webhooks, paced by the outbox stage.
pub struct Deliver {
    /// Claims due deliveries, holds the destination leases, reports unreached recipients.
    pub(crate) deliveries: Arc<dyn shoprelay_store::Outbox>,
    /// Keeps the codes of the cards it delivered (members answer with them).
    pub(crate) card_codes: Arc<dyn CardCodes>,
    pub(crate) writer: Writer,
    /// WeCom API client (its token cache is shared by every delivery).
    pub(crate) wecom: WeComClient,
    /// Webhook clients: no redirects, destination addresses checked.
    pub(crate) webhooks: WebhookClients,
    pub(crate) config: ConfigView,
    pub(crate) clock: SharedClock,
    pub(crate) settings: EngineSettings,
    /// Budgets, digests and the breaker, asked before and told after every send.
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) outbox_wake: Arc<Notify>,
    /// This process among the replicas: the owner of the destination leases it takes.
    pub(crate) instance_id: String,
}

stage_common!(Deliver, wait);

impl Deliver {
    /// Keeps this process's destination leases alive while long sends are in flight.
    pub(crate) async fn lease_heartbeat(&self, shutdown: CancellationToken) {
        loop {
            let until = self.clock.now() + self.settings.destination_lease;
            if let Err(err) = self.deliveries.renew_destination_leases(&self.instance_id, until).await {
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
        if let Err(err) = self.deliveries.release_destination_leases(&self.instance_id).await {
            tracing::warn!(error = ?err, "releasing destination leases failed");
        }
    }

    /// Sends the deliveries that are due; returns how many were claimed.
    pub async fn deliver_once(&self) -> Result<usize, EngineError> {
        let lanes = self.claim_lanes(self.settings.delivery_concurrency.max(1)).await?;
        let count = lanes.iter().map(|(_, lane)| lane.len()).sum();
        for result in join_all(lanes.into_iter().map(|(dest, lane)| self.run_lane(dest, lane))).await {
            result?;
        }
        Ok(count)
    }

    /// Claims up to `limit` due deliveries, grouped by destination. Destinations run concurrently; within
    /// one destination deliveries go out in order, so a seller never reads "cancelled" before "new order".
    async fn claim_lanes(&self, limit: usize) -> Result<Vec<(Destination, Vec<DeliveryItem>)>, EngineError> {
        let items = self
            .deliveries
            .claim_deliveries(
                &self.instance_id,
                self.clock.now(),
                self.settings.lease,
                self.settings.destination_lease,
                limit as i64,
            )
            .await?;
        let mut by_destination: BTreeMap<Destination, Vec<DeliveryItem>> = BTreeMap::new();
        for item in items {
            by_destination.entry(item.destination.clone()).or_default().push(item);
        }
        Ok(by_destination.into_iter().collect())
    }

    /// The delivery worker: claims due deliveries whenever fewer than `delivery_concurrency` are in
    /// flight, and sends each destination's on its own task. A destination's claim is not waited for by
    /// the others — one slow receiver or a full pass no longer holds up what becomes due meanwhile — and
    /// a destination with deliveries in flight is not claimed again until they are settled, so its
    /// order holds. On shutdown it waits for the sends in flight, so the destination leases are given
    /// back only after them.
    pub(crate) async fn delivery_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let capacity = self.settings.delivery_concurrency.max(1);
        let mut lanes: JoinSet<Result<(), EngineError>> = JoinSet::new();
        // Each running lane task: the deliveries it holds, and how many wake-ups had come when it started.
        let mut held: HashMap<tokio::task::Id, (usize, u64)> = HashMap::new();
        let mut wakes: u64 = 0;
        let mut claim = true;
        while !shutdown.is_cancelled() {
            let room = capacity.saturating_sub(held.values().map(|(n, _)| n).sum());
            if claim && room > 0 {
                claim = match self.claim_lanes(room).await {
                    Ok(claimed) => {
                        let mut count = 0;
                        for (destination, lane) in claimed {
                            count += lane.len();
                            let n = lane.len();
                            let me = self.clone();
                            let task = lanes.spawn(async move { me.run_lane(destination, lane).await });
                            held.insert(task.id(), (n, wakes));
                        }
                        // A full claim may have left more that is due.
                        count == room
                    }
                    Err(err) => {
                        tracing::warn!(worker = "outbox", error = ?err, "worker step failed; retrying shortly");
                        false
                    }
                };
            }
            while let Some(done) = lanes.try_join_next_with_id() {
                claim |= settled(&mut held, wakes, done);
            }
            if claim && held.values().map(|(n, _)| n).sum::<usize>() < capacity {
                continue;
            }
            // Woken by new work or a settled lane, or polling for retries that come due. New work for a
            // destination busy when it came was skipped by that claim: the lane's end claims again.
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = self.outbox_wake.notified() => {
                    wakes += 1;
                    claim = true;
                }
                Some(done) = lanes.join_next_with_id(), if !lanes.is_empty() => claim |= settled(&mut held, wakes, done),
                _ = self.clock.sleep(Duration::from_millis(500)) => claim = true,
            }
        }
        while let Some(done) = lanes.join_next_with_id().await {
            settled(&mut held, wakes, done);
        }
    }

    /// Sends one destination's deliveries in order until its budget is spent, a send fails or its
    /// breaker opens; the rest wait (without spending attempts) behind it, so none overtakes another.
    async fn run_lane(&self, destination: Destination, lane: Vec<DeliveryItem>) -> Result<(), EngineError> {
        // Bulk singles fold into a digest when the queue is beyond what the window can carry; urgent
        // messages and digests still go, in order. So does a single older than a claim's lease: its claim
        // may have lapsed in a process that died after sending it, and it must go again as the same
        // bytes (which WeCom's duplicate check absorbs), not folded into a digest that repeats it.
        let lapsed = self.clock.now() - self.settings.lease;
        let (singles, others): (Vec<DeliveryItem>, Vec<DeliveryItem>) = lane
            .into_iter()
            .partition(|d| d.priority == PRIORITY_BULK && d.route_id != DIGEST_ROUTE && d.created_at > lapsed);
        let lane = if self.outbox.fold_backlog(&destination, &singles).await? {
            others
        } else {
            // As claimed: urgent first, then oldest first.
            let mut lane = [singles, others].concat();
            lane.sort_by_key(|d| (d.priority, d.id));
            lane
        };
        let mut lane = lane.into_iter();
        while let Some(item) = lane.next() {
            let wait_until = match self.outbox.reserve_send(&destination, &item.recipients).await? {
                Pacing::Reserved(at) => self.attempt(item, at).await?,
                Pacing::DestinationFull(free_at) => {
                    // Everything claimed waits too, before folding, so the digest carries it all in order.
                    let mut batch = self.deferral(&item, free_at, "budget spent: waiting for a free slot");
                    for rest in lane.by_ref() {
                        batch.append(self.deferral(&rest, free_at, "destination paused"));
                    }
                    self.writer.write(batch).await?;
                    self.outbox.pace(&destination, free_at).await?;
                    None
                }
                Pacing::RecipientsFull(free_at) => {
                    let why = "a recipient is at WeCom's per-member limit: waiting for a free slot";
                    self.writer.write(self.deferral(&item, free_at, why)).await?;
                    self.outbox.coalesce(&destination, Some(&item.recipients)).await?;
                    None
                }
            };
            if let Some(until) = wait_until {
                let mut batch = WriteBatch::default();
                for rest in lane.by_ref() {
                    batch.append(self.deferral(&rest, until, "waiting behind an earlier message"));
                }
                self.writer.write(batch).await?;
            }
        }
        Ok(())
    }

    /// The write that puts `item` back until `at` without spending an attempt (audited `paced`).
    fn deferral(&self, item: &DeliveryItem, at: UnixMs, reason: &str) -> WriteBatch {
        deferral_of(item, at, reason, self.clock.now())
    }

    fn audit_for(&self, item: &DeliveryItem, outcome: AuditOutcome) -> AuditEntry {
        audit_of(item, outcome, self.clock.now())
    }

    /// One attempt; returns until when the rest of the destination's deliveries must wait (the breaker
    /// opened, or this one will be retried and must go first).
    async fn attempt(&self, item: DeliveryItem, reserved_at: UnixMs) -> Result<Option<UnixMs>, EngineError> {
        let attempt = item.attempts + 1;
        let started = Instant::now();
        let outcome = self.send(&item).await;
        let latency = started.elapsed();
        // The window counts from the message's arrival, which a slow request (a token refresh, a retry
        // inside the client) can make much later than the reservation; settled with the result below.
        let settled_at = self.clock.now();
        let mut audit = self.audit_for(&item, AuditOutcome::Delivered);
        audit.latency_ms = Some(latency.as_millis() as i64);
        let mut paused_until = None;
        let mut unreached = Vec::new();
        let mut card = None;
        let result = match outcome {
            Ok(sent) => {
                audit.errcode = Some(0);
                audit.http_status = Some(200);
                audit.detail = sent.detail;
                unreached = sent.unreached;
                card = sent.card;
                DeliveryResult::Delivered
            }
            Err(failure) => {
                audit.errcode = failure.errcode;
                audit.http_status = failure.http_status;
                audit.detail = failure.error.clone();
                let throttled = failure.throttled || failure.slow_down.is_some();
                let signal = if failure.holds_destination {
                    BreakerSignal::Hold(failure.error.clone())
                } else if throttled {
                    BreakerSignal::Throttled(failure.error.clone(), failure.slow_down.flatten())
                } else {
                    BreakerSignal::Failure(failure.error.clone())
                };
                let hold = failure.holds_destination || throttled;
                paused_until = self.outbox.breaker_failure(&item.destination, signal).await?;
                let error = failure.error;
                match (hold, paused_until) {
                    // Held or throttled: the message waits with the destination; no attempt is spent.
                    (true, Some(until)) => {
                        audit.outcome = if failure.holds_destination {
                            AuditOutcome::Held
                        } else {
                            AuditOutcome::Throttled
                        };
                        DeliveryResult::Deferred {
                            at: until,
                            reason: error,
                        }
                    }
                    _ if !failure.transient => {
                        audit.outcome = AuditOutcome::Dead;
                        DeliveryResult::Dead { error }
                    }
                    _ => match self.settings.delivery_backoff.delay(attempt) {
                        Some(delay) => {
                            audit.outcome = AuditOutcome::Retry;
                            let at = (self.clock.now() + delay).max(paused_until.unwrap_or(UnixMs::EPOCH));
                            paused_until = Some(at);
                            DeliveryResult::Retry { at, error }
                        }
                        None => {
                            audit.outcome = AuditOutcome::Dead;
                            audit.detail = format!("retries exhausted after {attempt} attempts: {error}");
                            DeliveryResult::Dead { error }
                        }
                    },
                }
            }
        };
        if audit.outcome != AuditOutcome::Delivered {
            tracing::warn!(delivery = item.id, destination = %item.destination, outcome = %audit.outcome, detail = %audit.detail, "delivery attempt failed");
        }
        let delivered = result == DeliveryResult::Delivered;
        let outcome = audit.outcome;
        let finish = finish_of(&item, result, audit, Some((reserved_at, settled_at)));
        self.writer
            .write(WriteBatch {
                finishes: vec![finish],
                ..WriteBatch::default()
            })
            .await?;
        // Counted once the result is durable: nothing reports a delivery that a crash could make unsent.
        metrics::counter!("shoprelay_deliveries_total", "outcome" => outcome.as_str()).increment(1);
        metrics::histogram!("shoprelay_delivery_latency_seconds").record(latency.as_secs_f64());
        // After the result is stored: a failure here must not make a delivered message look unsent.
        if delivered {
            if let Err(err) = self.outbox.breaker_success(&item.destination).await {
                tracing::warn!(error = ?err, destination = %item.destination, "could not close the breaker");
            }
            if let Some(card) = &card {
                crate::chat::sent_cards::keep_card_code(&*self.card_codes, self.clock.now(), item.id, card).await;
            }
            if !unreached.is_empty() {
                if let Err(err) = self.report_unreached(&item.destination, &unreached).await {
                    tracing::warn!(error = ?err, destination = %item.destination, "could not report unreached recipients");
                }
            }
        }
        Ok(paused_until)
    }

    async fn send(&self, item: &DeliveryItem) -> Result<Sent, Failure> {
        let payload: Payload = serde_json::from_str(&item.payload)
            .map_err(|e| Failure::permanent(format!("unreadable outbox payload: {e}")))?;
        let registry = self.registry();
        match payload {
            Payload::WecomApp { app, mut message } => {
                let cfg = registry
                    .wecom_apps
                    .get(&app)
                    .ok_or_else(|| Failure::permanent(format!("WeCom app `{app}` is no longer configured")))?;
                let creds = app_credentials(cfg);
                // The AgentId in force now, so a corrected agent_id applies to queued messages too.
                message["agentid"] = cfg.agent_id.into();
                let receipt = self.wecom.send_app_message(&creds, &message).await.map_err(classify)?;
                let unreached = receipt.unreached();
                let mut detail = format!("msgid {}", receipt.msgid);
                if !unreached.is_empty() {
                    let listed: Vec<String> = unreached.iter().map(Unreached::to_string).collect();
                    detail.push_str(&format!(
                        "; reached nobody through (WeCom: invalid) / 以下接收人无效、未送达: {}",
                        listed.join(", ")
                    ));
                }
                let card = sent_card(&app, &message, receipt.response_code.as_deref());
                Ok(Sent {
                    detail,
                    unreached,
                    card,
                })
            }
            Payload::Robot { robot, message } => {
                let cfg = registry
                    .robots
                    .get(&robot)
                    .ok_or_else(|| Failure::permanent(format!("robot `{robot}` is no longer configured")))?;
                self.wecom
                    .send_robot(&cfg.api_base, &cfg.key, &message)
                    .await
                    .map_err(classify)?;
                Ok(Sent::accepted("accepted"))
            }
            Payload::Appchat {
                app,
                chatid,
                content,
                create,
            } => {
                let cfg = registry
                    .wecom_apps
                    .get(&app)
                    .ok_or_else(|| Failure::permanent(format!("WeCom app `{app}` is no longer configured")))?;
                let creds = app_credentials(cfg);
                let body = AppBody::markdown(&content);
                match (self.wecom.send_appchat(&creds, &chatid, &body).await, create) {
                    (Ok(()), _) => Ok(Sent::accepted("accepted")),
                    // The rule's chat does not exist yet (86001 or 86003): create it (another replica may
                    // just have), then send.
                    (Err(err), Some(create)) if err.disposition() == Disposition::ChatMissing => {
                        let spec = AppChatSpec {
                            name: create.name,
                            owner: create.owner.map(|o| o.as_str().to_owned()),
                            userlist: create.members.iter().map(|m| m.as_str().to_owned()).collect(),
                            chatid: Some(chatid.clone()),
                        };
                        match self.wecom.create_appchat(&creds, &spec).await {
                            Ok(_) => {}
                            Err(e) if e.disposition() == Disposition::ChatExists => {}
                            Err(e) => return Err(classify(e)),
                        }
                        self.wecom
                            .send_appchat(&creds, &chatid, &body)
                            .await
                            .map_err(classify)?;
                        Ok(Sent::accepted(format!("created group chat {chatid}; accepted")))
                    }
                    (Err(err), _) => Err(classify(err)),
                }
            }
            Payload::Webhook { webhook, message } => {
                let cfg = registry
                    .webhooks
                    .get(&webhook)
                    .ok_or_else(|| Failure::permanent(format!("webhook `{webhook}` is no longer configured")))?;
                self.send_webhook(cfg, item.id, &message).await.map(Sent::accepted)
            }
        }
    }
}

impl Deliver {
    /// POSTs an event to the seller's system, signed (Standard Webhooks); the id stays the same across
    /// retries so the receiver can deduplicate.
    async fn send_webhook(
        &self,
        cfg: &WebhookConfig,
        delivery_id: i64,
        message: &serde_json::Value,
    ) -> Result<String, Failure> {
        let key =
            secret_key(&cfg.secret).ok_or_else(|| Failure::permanent("the webhook secret is not whsec_…".into()))?;
        let url = url::Url::parse(&cfg.url).map_err(|e| Failure::permanent(format!("invalid webhook URL: {e}")))?;
        // The client connects to an address written in the URL without resolving it: checked here.
        if let Some(ip) = literal_ip(&url) {
            admit(&ip.to_string(), &[ip], cfg.allow_private_network).map_err(|r| Failure::held(&r, None))?;
        }
        let body = serde_json::to_vec(message).map_err(|e| Failure::permanent(e.to_string()))?;
        let id = format!("msg_shoprelay_{delivery_id}");
        let timestamp = self.clock.now().as_secs();
        let response = self
            .webhooks
            .client(cfg.allow_private_network)
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature(&key, &id, timestamp, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| match refusal_of(&e) {
                Some(refused) => Failure::held(refused, None),
                None => Failure {
                    transient: true,
                    holds_destination: false,
                    throttled: false,
                    error: format!("cannot reach the webhook: {}", e.without_url()),
                    errcode: None,
                    http_status: None,
                    slow_down: None,
                },
            })?;
        if response.status().is_redirection() {
            return Err(redirect_refused(&url, &response));
        }
        let status = response.status();
        if status.is_success() {
            return Ok(format!("HTTP {}", status.as_u16()));
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            // Honoured, within reason: a receiver cannot park our queue for a day.
            .map(|secs| Duration::from_secs(secs.clamp(1, 3_600)));
        let code = status.as_u16();
        Err(Failure {
            transient: status.is_server_error() || code == 429,
            holds_destination: false,
            throttled: false,
            error: match code {
                410 => "HTTP 410: the receiver says this endpoint is gone; fix the webhook URL".to_owned(),
                _ => format!("the webhook answered HTTP {code}"),
            },
            errcode: None,
            http_status: Some(i64::from(code)),
            slow_down: matches!(code, 429 | 502 | 503 | 504).then_some(retry_after),
        })
    }
}
/// The write that puts `item` back until `at` without spending an attempt (audited `paced` at `now`).
pub(crate) fn deferral_of(item: &DeliveryItem, at: UnixMs, reason: &str, now: UnixMs) -> WriteBatch {
    let mut audit = audit_of(item, AuditOutcome::Paced, now);
    audit.detail = reason.to_owned();
    let result = DeliveryResult::Deferred {
        at,
        reason: reason.to_owned(),
    };
    WriteBatch {
        finishes: vec![finish_of(item, result, audit, None)],
        ..WriteBatch::default()
    }
}

/// The audit entry of an attempt at `item` at `now`.
fn audit_of(item: &DeliveryItem, outcome: AuditOutcome, now: UnixMs) -> AuditEntry {
    let mut audit = AuditEntry::new(AuditKind::Delivery, outcome, now, "");
    audit.shop_id = item.shop_id;
    audit.order_sn = item.order_sn.clone();
    audit.destination = Some(item.destination.clone());
    audit.attempt = Some(item.attempts + 1);
    audit
}

/// A webhook's redirect, not followed: it would re-send the signed event to a host nobody configured. The
/// destination holds until an admin sets the final URL (or a probe finds the redirect gone).
fn redirect_refused(url: &url::Url, response: &reqwest::Response) -> Failure {
    let status = response.status().as_u16();
    // Only the target's origin: its path and query are the receiver's and may carry anything.
    let to = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url.join(v).ok())
        .map(|u| u.origin().ascii_serialization());
    Failure::held(&RedirectRefused { status, to }, Some(i64::from(status)))
}

/// How the WeCom client signs in as a configured app.
pub(crate) fn app_credentials(cfg: &WeComAppConfig) -> AppCredentials {
    AppCredentials {
        corp_id: cfg.corp_id.clone(),
        secret: cfg.secret.clone(),
        agent_id: cfg.agent_id,
        api_base: cfg.api_base.clone(),
    }
}

fn classify(err: WeComError) -> Failure {
    // What WeCom said, then what to do about it (in both languages), for whoever reads the audit log.
    let error = format!("{err} — {} / {}", err.message_en(), err.message_zh());
    let disposition = err.disposition();
    Failure {
        transient: err.is_transient(),
        holds_destination: disposition == Disposition::Hold,
        throttled: disposition == Disposition::Throttled,
        errcode: err.errcode(),
        http_status: match &err {
            WeComError::Http { status, .. } => Some(i64::from(*status)),
            _ => None,
        },
        error,
        slow_down: None,
    }
}

/// Forgets a finished lane task's deliveries and logs its failure (what it had not settled is claimed
/// again when its claims run out); true when a wake-up came while it ran, whose claim skipped its
/// destination.
fn settled(
    held: &mut HashMap<tokio::task::Id, (usize, u64)>,
    wakes: u64,
    done: Result<(tokio::task::Id, Result<(), EngineError>), tokio::task::JoinError>,
) -> bool {
    let id = match done {
        Ok((id, Ok(()))) => id,
        Ok((id, Err(err))) => {
            tracing::warn!(worker = "outbox", error = ?err, "worker step failed; retrying shortly");
            id
        }
        Err(err) => {
            tracing::error!(worker = "outbox", error = %err, "a delivery lane panicked");
            err.id()
        }
    };
    held.remove(&id).is_some_and(|(_, started)| wakes > started)
}

/// The write that records an attempt's result (and, for one that was sent, settles its send).
fn finish_of(
    item: &DeliveryItem,
    result: DeliveryResult,
    audit: AuditEntry,
    settle: Option<(UnixMs, UnixMs)>,
) -> DeliveryFinish {
    DeliveryFinish {
        id: item.id,
        claim_token: item.claim_token.clone(),
        destination: item.destination.clone(),
        result,
        audit,
        settle,
    }
}

/// Days since the epoch in China Standard Time, where WeCom's admins read their day.
fn china_day(now: UnixMs) -> i64 {
    (now + Duration::from_secs(8 * 3_600))
        .as_millis()
        .div_euclid(86_400_000)
}

impl Deliver {
    /// Tells the `[admin]` targets whom a delivery reached nobody through — each value once a day per
    /// destination, since the same broken rule names it in every message.
    async fn report_unreached(&self, destination: &Destination, unreached: &[Unreached]) -> Result<(), EngineError> {
        let now = self.clock.now();
        let day = china_day(now);
        let values: Vec<(String, String)> = unreached
            .iter()
            .map(|u| (u.field().to_owned(), u.id().to_owned()))
            .collect();
        let new: Vec<Unreached> = self
            .deliveries
            .unreported_unreached(destination, day, &values)
            .await?
            .iter()
            .filter_map(|(field, id)| Unreached::from_field(field, id))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let listed: Vec<String> = new.iter().map(Unreached::to_string).collect();
        let reason = format!(
            "WeCom accepted the message but reached nobody through {} (a member who left, a removed \
             department or tag, or one outside the app's visible range); fix the rule or the app's visible range \
             / 企业微信已接收消息，但以下接收人无效、没有人收到：{}（成员已离职、部门或标签已删除，或不在应用可见范围内）；请更正规则或应用可见范围",
            listed.join(", "),
            listed.join("，")
        );
        let key = format!("recipients_unreached:{destination}:{day}:{}", listed.join(","));
        let event = delivery_failing(key, destination, reason, now);
        let text = unreached_notice(destination, &new, self.settings.language);
        let deliveries = admin_notice(&self.registry(), &event, &text, self.settings.language);
        let notice = NewEvent { event, deliveries };
        if self
            .deliveries
            .report_unreached(destination, day, &values_of(&new), notice, now)
            .await?
        {
            tracing::warn!(%destination, unreached = %listed.join(", "), "recipients not reached; admins told");
            self.outbox_wake.notify_one();
        }
        Ok(())
    }
}

fn values_of(unreached: &[Unreached]) -> Vec<(String, String)> {
    unreached
        .iter()
        .map(|u| (u.field().to_owned(), u.id().to_owned()))
        .collect()
}

/// The admins' message about unreached recipients, markdown.
fn unreached_notice(destination: &Destination, unreached: &[Unreached], lang: Lang) -> String {
    let ids = |pick: fn(&Unreached) -> Option<&str>| -> String {
        unreached.iter().filter_map(pick).collect::<Vec<_>>().join(", ")
    };
    let users = ids(|u| matches!(u, Unreached::User(_)).then(|| u.id()));
    let parties = ids(|u| matches!(u, Unreached::Party(_)).then(|| u.id()));
    let tags = ids(|u| matches!(u, Unreached::Tag(_)).then(|| u.id()));
    let (title, labels, note) = match lang {
        Lang::Zh => (
            "接收人无效：消息未送达",
            ["目标", "无效成员", "无效部门", "无效标签"],
            "企业微信已接收消息，但以上接收人不存在或不在应用可见范围内（成员已离职、部门或标签已删除），他们没有收到。请更正规则，或在企业微信管理后台调整应用的可见范围。同一接收人今天不再重复提醒。",
        ),
        Lang::En => (
            "Recipients not reached",
            ["Destination", "Invalid members", "Invalid departments", "Invalid tags"],
            "WeCom accepted the message, but the recipients above do not exist or are outside the app's visible range (a member who left, a removed department or tag), so nobody there got it. Fix the rule or the app's visible range in the WeCom admin console. Each is reported once a day.",
        ),
    };
    let mut text = format!("### {title}\n> {}：{destination}\n", labels[0]);
    for (label, value) in labels[1..].iter().zip([users, parties, tags]) {
        if !value.is_empty() {
            text.push_str(&format!("> {label}：{value}\n"));
        }
    }
    text.push_str(&format!("\n{note}"));
    text
}
