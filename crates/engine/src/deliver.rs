//! The delivery stage: outbox rows are sent, and each attempt's outcome — delivered, retry later, or
//! dead letter — is committed together with its audit entry.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::future::join_all;
use shoprelay_store::{AuditEntry, AuditKind, DeliveryItem, DeliveryResult};
use shoprelay_wecom::client::AppCredentials;
use shoprelay_wecom::error::{Disposition, WeComError};

use crate::clock::now_ms;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::render::Payload;

/// Why an attempt did not deliver.
enum Failure {
    /// Worth retrying (network, 5xx, busy, rate limited).
    Transient(String, Option<i64>),
    /// Retrying cannot help until something changes.
    Permanent(String, Option<i64>),
}

impl Engine {
    /// Sends the deliveries that are due; returns how many were attempted.
    pub async fn deliver_once(&self) -> Result<usize, EngineError> {
        let limit = self.settings.delivery_concurrency.max(1) as i64;
        let items = self
            .store
            .claim_deliveries(now_ms(), self.settings.lease.as_millis() as i64, limit)
            .await?;
        let count = items.len();
        // Destinations run concurrently; within one destination deliveries go out in order, so a
        // seller never reads "cancelled" before "new order".
        let mut by_destination: BTreeMap<String, Vec<DeliveryItem>> = BTreeMap::new();
        for item in items {
            by_destination.entry(item.destination.clone()).or_default().push(item);
        }
        let lanes = by_destination.into_values().map(|lane| async move {
            for item in lane {
                self.attempt(item).await?;
            }
            Ok::<(), EngineError>(())
        });
        for result in join_all(lanes).await {
            result?;
        }
        Ok(count)
    }

    async fn attempt(&self, item: DeliveryItem) -> Result<(), EngineError> {
        let attempt = item.attempts + 1;
        let started = Instant::now();
        let outcome = self.send(&item).await;
        let latency = started.elapsed();
        let mut audit = AuditEntry::new(AuditKind::Delivery, "delivered", now_ms(), "");
        audit.shop_id = item.shop_id;
        audit.order_sn = item.order_sn.clone();
        audit.destination = Some(item.destination.clone());
        audit.attempt = Some(attempt);
        audit.latency_ms = Some(latency.as_millis() as i64);
        let result = match outcome {
            Ok(detail) => {
                audit.errcode = Some(0);
                audit.detail = detail;
                DeliveryResult::Delivered
            }
            Err(Failure::Transient(error, errcode)) => {
                audit.errcode = errcode;
                audit.detail = error.clone();
                match self.settings.delivery_backoff.delay(attempt) {
                    Some(delay) => {
                        audit.outcome = "retry".into();
                        DeliveryResult::Retry {
                            at: now_ms() + delay.as_millis() as i64,
                            error,
                        }
                    }
                    None => {
                        audit.outcome = "dead".into();
                        audit.detail = format!("retries exhausted after {attempt} attempts: {error}");
                        DeliveryResult::Dead { error }
                    }
                }
            }
            Err(Failure::Permanent(error, errcode)) => {
                audit.outcome = "dead".into();
                audit.errcode = errcode;
                audit.detail = error.clone();
                DeliveryResult::Dead { error }
            }
        };
        metrics::counter!("shoprelay_deliveries_total", "outcome" => audit.outcome.clone()).increment(1);
        metrics::histogram!("shoprelay_delivery_latency_seconds").record(latency.as_secs_f64());
        if audit.outcome != "delivered" {
            tracing::warn!(delivery = item.id, destination = %item.destination, outcome = %audit.outcome, detail = %audit.detail, "delivery attempt failed");
        }
        self.store.finish_delivery(item.id, result, audit).await?;
        Ok(())
    }

    async fn send(&self, item: &DeliveryItem) -> Result<String, Failure> {
        let payload: Payload = serde_json::from_str(&item.payload)
            .map_err(|e| Failure::Permanent(format!("unreadable outbox payload: {e}"), None))?;
        let registry = self.registry();
        match payload {
            Payload::WecomApp { app, message } => {
                let cfg = registry
                    .wecom_apps
                    .get(&app)
                    .ok_or_else(|| Failure::Permanent(format!("WeCom app `{app}` is no longer configured"), None))?;
                let creds = AppCredentials {
                    corp_id: cfg.corp_id.clone(),
                    secret: cfg.secret.clone(),
                    agent_id: cfg.agent_id,
                    api_base: cfg.api_base.clone(),
                };
                let receipt = self.wecom.send_app_message(&creds, &message).await.map_err(classify)?;
                let mut detail = format!("msgid {}", receipt.msgid);
                if !receipt.invalid_users.is_empty() {
                    detail.push_str(&format!("; invalid users: {}", receipt.invalid_users.join(",")));
                }
                Ok(detail)
            }
            Payload::Robot { robot, message } => {
                let cfg = registry
                    .robots
                    .get(&robot)
                    .ok_or_else(|| Failure::Permanent(format!("robot `{robot}` is no longer configured"), None))?;
                self.wecom
                    .send_robot(&cfg.api_base, &cfg.key, &message)
                    .await
                    .map_err(classify)?;
                Ok("accepted".into())
            }
        }
    }
}

fn classify(err: WeComError) -> Failure {
    let errcode = err.errcode();
    let text = match err.errmsg() {
        Some(msg) => format!("{err} (errmsg: {msg})"),
        None => err.to_string(),
    };
    match err.disposition() {
        Disposition::Retry => Failure::Transient(text, errcode),
        Disposition::Fail => Failure::Permanent(text, errcode),
    }
}
