//! WeCom AI-bot long connections: for each WeCom app configured with `bot_id` and `bot_secret`, shoprelay
//! dials out ([`shoprelay_wecom::longconn::Session`]), heartbeats, and stores what arrives — members'
//! messages and card clicks — as callbacks in the same queue, deduplicated the same way, that the
//! callback URL fills; the callback worker acts on both alike.
//!
//! WeCom keeps ONE connection per bot and a second kicks the first, so in a cluster only the replica
//! holding the bot's lease (a row per bot, renewed with every heartbeat) dials. A broken connection is
//! dialled again after a back-off (1 s doubling to 30 s, by the engine's clock); one kicked by another
//! connection waits the longest back-off, so two programs sharing a bot do not kick each other every
//! second.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ConfigId;
use shoprelay_store::NewCallback;
use shoprelay_wecom::callback::CallbackMessage;
use shoprelay_wecom::longconn::{BotCredentials, Inbound, LongConnError, Session, HEARTBEAT};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Ingest;

/// How long a replica's claim on a bot lasts without a heartbeat renewing it.
const BOT_LEASE: Duration = Duration::from_secs(90);
/// The first wait after a failure; it doubles with each failure in a row.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait (and the wait after being kicked).
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How often the configuration is checked for bots added or removed.
const CONFIG_CHECK: Duration = Duration::from_secs(5);

/// Where one bot's long connection stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LinkState {
    /// Another replica holds the bot's lease: this one waits.
    Standby,
    /// Dialling and subscribing.
    Connecting,
    /// Subscribed: messages and clicks arrive.
    Connected,
    /// Waiting before dialling again.
    Backoff {
        /// Until when (engine clock); `until_ms` in the status JSON, as before instants were typed.
        #[serde(rename = "until_ms")]
        until: UnixMs,
    },
}

/// One bot's long connection, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkStatus {
    /// The bot.
    pub bot_id: String,
    /// Where it stands (`state`, and `until_ms` while backing off).
    #[serde(flatten)]
    pub state: LinkState,
    /// Subscriptions that succeeded.
    pub connects: u64,
    /// Messages and clicks received (repeats included).
    pub received: u64,
    /// Why the last connection ended or failed (error code), when it did.
    pub last_error: Option<String>,
}

/// The long connections of this process, by WeCom app id.
pub type Links = BTreeMap<String, LinkStatus>;

/// How a held connection ended.
enum Ended {
    /// shoprelay is stopping (or the bot left the configuration).
    Stopped,
    /// Another connection took the bot over.
    Kicked,
    /// Another replica holds the lease now.
    LeaseLost,
    /// The connection broke.
    Lost(LongConnError),
}

/// What woke a held connection.
enum Step {
    Stop,
    Heartbeat,
    Frame(Result<Inbound, LongConnError>),
}

/// The wait after `failures` failures in a row: 1 s, 2 s, 4 s … at most 30 s.
fn backoff(failures: u32) -> Duration {
    let doubled = BACKOFF_MIN.saturating_mul(1 << failures.saturating_sub(1).min(5));
    doubled.min(BACKOFF_MAX)
}

impl Ingest {
    /// The long connections' states, updated as they change (tests wait on it; the status shows it).
    pub fn long_connections(&self) -> watch::Receiver<Links> {
        self.links.subscribe()
    }

    /// Starts one task per configured bot (and keeps the set in step with the configuration) until
    /// `shutdown`.
    pub fn spawn_long_connections(self: &Arc<Self>, shutdown: CancellationToken) -> JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move { me.long_connection_manager(shutdown).await })
    }

    async fn long_connection_manager(self: Arc<Self>, shutdown: CancellationToken) {
        let mut running: HashMap<ConfigId, (BotCredentials, CancellationToken, JoinHandle<()>)> = HashMap::new();
        loop {
            let registry = self.registry();
            let wanted: HashMap<ConfigId, BotCredentials> = registry
                .wecom_apps
                .values()
                .filter_map(|app| app.long_connection().map(|c| (app.id.clone(), c)))
                .collect();
            let gone: Vec<ConfigId> = running
                .iter()
                .filter(|(id, (creds, _, _))| wanted.get(*id) != Some(creds))
                .map(|(id, _)| id.clone())
                .collect();
            for id in gone {
                if let Some((_, stop, task)) = running.remove(&id) {
                    stop.cancel();
                    let _ = task.await;
                }
                self.links.send_modify(|links| {
                    links.remove(id.as_str());
                });
            }
            for (id, creds) in wanted {
                if running.contains_key(&id) {
                    continue;
                }
                let stop = shutdown.child_token();
                let me = self.clone();
                let (task_id, task_creds, task_stop) = (id.clone(), creds.clone(), stop.clone());
                let task = tokio::spawn(async move { me.hold_bot(task_id, task_creds, task_stop).await });
                running.insert(id, (creds, stop, task));
            }
            if !self.wait(CONFIG_CHECK, &shutdown).await {
                break;
            }
        }
        for (_, (_, stop, task)) in running {
            stop.cancel();
            let _ = task.await;
        }
    }

    fn set_link(&self, app: &ConfigId, bot_id: &str, change: impl FnOnce(&mut LinkStatus)) {
        self.links.send_modify(|links| {
            let status = links.entry(app.to_string()).or_insert_with(|| LinkStatus {
                bot_id: bot_id.to_owned(),
                state: LinkState::Connecting,
                connects: 0,
                received: 0,
                last_error: None,
            });
            change(status);
        });
    }

    /// Keeps one bot connected while this replica holds its lease, until `stop`.
    async fn hold_bot(self: Arc<Self>, app: ConfigId, creds: BotCredentials, stop: CancellationToken) {
        let bot = creds.bot_id.clone();
        let mut failures: u32 = 0;
        while !stop.is_cancelled() {
            let now = self.clock.now();
            match self
                .callbacks
                .take_bot_lease(&bot, &self.instance_id, now, now + BOT_LEASE)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    self.set_link(&app, &bot, |s| s.state = LinkState::Standby);
                    if !self.wait(BOT_LEASE / 3, &stop).await {
                        break;
                    }
                    continue;
                }
                Err(err) => {
                    tracing::warn!(app = %app, bot = %bot, error = %err, "taking the bot's lease failed");
                    if !self.wait(BACKOFF_MAX, &stop).await {
                        break;
                    }
                    continue;
                }
            }
            self.set_link(&app, &bot, |s| s.state = LinkState::Connecting);
            let delay = match Session::open(&creds).await {
                Ok(session) => {
                    failures = 0;
                    self.set_link(&app, &bot, |s| {
                        s.state = LinkState::Connected;
                        s.connects += 1;
                    });
                    tracing::info!(app = %app, bot = %bot, "WeCom long connection subscribed");
                    match self.hold(&app, &creds, session, &stop).await {
                        Ended::Stopped => break,
                        Ended::Kicked => {
                            tracing::warn!(app = %app, bot = %bot, "another connection took the WeCom bot over: is the bot used by another program or another shoprelay?");
                            self.set_link(&app, &bot, |s| {
                                s.last_error = Some("wecom.long_connection_kicked".into())
                            });
                            BACKOFF_MAX
                        }
                        Ended::LeaseLost => Duration::ZERO,
                        Ended::Lost(err) => {
                            failures = 1;
                            self.link_failed(&app, &bot, &err);
                            backoff(failures)
                        }
                    }
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    self.link_failed(&app, &bot, &err);
                    backoff(failures)
                }
            };
            let until = self.clock.now() + delay;
            self.set_link(&app, &bot, |s| s.state = LinkState::Backoff { until });
            if !self.wait(delay, &stop).await {
                break;
            }
        }
        if let Err(err) = self.callbacks.release_bot_lease(&bot, &self.instance_id).await {
            tracing::warn!(app = %app, bot = %bot, error = %err, "releasing the bot's lease failed");
        }
        self.links.send_modify(|links| {
            links.remove(app.as_str());
        });
    }

    fn link_failed(&self, app: &ConfigId, bot: &str, err: &LongConnError) {
        tracing::warn!(app = %app, bot = %bot, code = err.code(), error = %err, "WeCom long connection failed; reconnecting after a back-off");
        self.set_link(app, bot, |s| s.last_error = Some(err.code().to_owned()));
    }

    /// Reads the connection until it ends, heartbeating (and renewing the lease) every 30 s.
    async fn hold(
        &self,
        app: &ConfigId,
        creds: &BotCredentials,
        mut session: Session,
        stop: &CancellationToken,
    ) -> Ended {
        let mut next_ping = self.clock.now() + HEARTBEAT;
        loop {
            let step = tokio::select! {
                _ = stop.cancelled() => Step::Stop,
                _ = self.clock.sleep_until(next_ping) => Step::Heartbeat,
                got = session.recv() => Step::Frame(got),
            };
            match step {
                Step::Stop => {
                    session.close().await;
                    return Ended::Stopped;
                }
                Step::Heartbeat => {
                    if let Err(err) = session.ping().await {
                        return Ended::Lost(err);
                    }
                    let now = self.clock.now();
                    match self
                        .callbacks
                        .take_bot_lease(&creds.bot_id, &self.instance_id, now, now + BOT_LEASE)
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => {
                            session.close().await;
                            return Ended::LeaseLost;
                        }
                        // The database is away: keep the connection; the lease has a minute to spare.
                        Err(err) => tracing::warn!(app = %app, error = %err, "renewing the bot's lease failed"),
                    }
                    next_ping = now + HEARTBEAT;
                }
                Step::Frame(Ok(Inbound::Kicked)) => return Ended::Kicked,
                Step::Frame(Ok(inbound)) => self.received(app, &creds.bot_id, inbound).await,
                Step::Frame(Err(err)) => return Ended::Lost(err),
            }
        }
    }

    /// Stores a message or click as a callback of `app`, once per WeCom msgid, and wakes the worker.
    async fn received(&self, app: &ConfigId, bot: &str, inbound: Inbound) {
        let registry = self.registry();
        let Some(cfg) = registry.wecom_apps.get(app) else {
            return;
        };
        // WeCom's create_time is unix seconds.
        let now_secs = self.clock.now().as_secs();
        let (msgid, message) = match inbound {
            Inbound::Message {
                msgid,
                from_user,
                msgtype,
                text,
                create_time,
            } => {
                let create_time = create_time.unwrap_or(now_secs);
                let message = match (msgtype.as_str(), text) {
                    ("text", Some(content)) => CallbackMessage::Text {
                        from_user,
                        content,
                        msg_id: msgid.clone(),
                        agent_id: Some(cfg.agent_id),
                        create_time,
                    },
                    _ => CallbackMessage::Other {
                        msg_type: msgtype,
                        from_user,
                        msg_id: Some(msgid.clone()),
                        create_time,
                    },
                };
                (msgid, message)
            }
            Inbound::CardClick {
                msgid,
                from_user,
                task_id,
                event_key,
                card_type,
                response_code,
                create_time,
            } => {
                let message = CallbackMessage::TemplateCardEvent {
                    from_user,
                    event_key,
                    task_id,
                    card_type,
                    response_code: response_code.unwrap_or_default(),
                    agent_id: Some(cfg.agent_id),
                    create_time: create_time.unwrap_or(now_secs),
                };
                (msgid, message)
            }
            Inbound::Kicked => return,
            Inbound::Other { kind, .. } => {
                tracing::debug!(app = %app, kind, "long-connection event not acted on");
                return;
            }
        };
        let kind = match &message {
            CallbackMessage::Text { .. } => "text".to_owned(),
            CallbackMessage::TemplateCardEvent { .. } => "template_card_event".to_owned(),
            CallbackMessage::Other { msg_type, .. } => msg_type.chars().take(64).collect(),
        };
        let new = NewCallback {
            app_id: app.clone(),
            // WeCom: "deduplicate by msgid"; the bot's msgids are a namespace of their own.
            dedupe_key: format!("bot:{bot}:{msgid}"),
            kind,
            body: message.to_xml(&cfg.corp_id),
            received_at: self.clock.now(),
        };
        match self.callbacks.insert_callback(&new).await {
            Ok(stored) => {
                let outcome = if stored { "received" } else { "duplicate" };
                metrics::counter!("shoprelay_wecom_callbacks_total", "outcome" => outcome).increment(1);
                if stored {
                    self.wake_callbacks();
                }
            }
            // WeCom does not resend over the connection: the loss is logged for the operator.
            Err(err) => tracing::error!(app = %app, error = %err, "storing a long-connection message failed"),
        }
        self.set_link(app, bot, |s| s.received += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_one_second_to_thirty() {
        let secs: Vec<u64> = (1..=7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
