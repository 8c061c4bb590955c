//! Everything the simulator remembers, behind one mutex that no handler holds across an await.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::callback::{CallbackRecord, CallbackTarget};
use super::cards::{CardUpdate, IssuedCode, SentCard};
use super::clock::SimClock;
use super::config::WeComSimConfig;
use super::content::parse_object;
use super::faults::Fault;
use super::limits::{RateLog, Window};
use super::login::LoginCode;
use super::longconn::{Live, LongConnRecord};
use super::reply::{ApiError, ApiResult};

/// Oldest messages (and callbacks) are forgotten beyond this, so a long demo does not grow without bound.
pub(crate) const MAX_KEPT_MESSAGES: usize = 10_000;

/// A message the simulator accepted and delivered to at least one member (or to a robot's group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimMessage {
    /// Sequence number, from 1.
    pub id: u64,
    /// The msgid WeCom answered with.
    pub msgid: String,
    /// When it was accepted, Unix milliseconds by the simulator's clock.
    pub at_unix_ms: u64,
    /// Where it was sent.
    pub destination: Destination,
    /// Members it reached (for robots: the mentioned userids).
    pub recipients: Vec<String>,
    /// Members it did not reach because they were over their limit (dropped silently).
    pub dropped: Vec<String>,
    /// `msgtype`.
    pub msgtype: String,
    /// The request body as delivered (text already cut to WeCom's limit).
    pub body: serde_json::Value,
}

/// The channel a message went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// `message/send` from an app.
    App {
        /// Sending app.
        agentid: i64,
    },
    /// `appchat/send`.
    AppChat {
        /// Sending app.
        agentid: i64,
        /// The chat.
        chatid: String,
    },
    /// `webhook/send`.
    Robot {
        /// The robot's key.
        key: String,
    },
}

/// Counters for tests and the demo page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// `gettoken` calls, successful or not.
    pub gettoken_calls: u64,
    /// Send calls answered with errcode 0 (app, app chat, robot), duplicates included.
    pub accepted: u64,
    /// Deliveries to members, summed over members.
    pub delivered: u64,
    /// Deliveries per member userid.
    pub delivered_per_member: BTreeMap<String, u64>,
    /// Member deliveries dropped silently for exceeding a per-member limit.
    pub dropped_over_limit: u64,
    /// The same per member userid.
    pub dropped_per_member: BTreeMap<String, u64>,
    /// Identical bodies answered errcode 0 but not delivered (`enable_duplicate_check`).
    pub duplicate_absorbed: u64,
    /// Calls refused, by errcode (injected faults included).
    pub rejected: BTreeMap<i64, u64>,
    /// Faults that fired.
    pub faults_fired: u64,
}

pub(crate) struct TokenInfo {
    pub(crate) agent_id: i64,
    /// Unix milliseconds.
    pub(crate) expires_at: i64,
    pub(crate) force_expired: bool,
}

pub(crate) struct Chat {
    pub(crate) name: String,
    pub(crate) members: Vec<String>,
    pub(crate) agent_id: i64,
}

/// Which per-member limit applies.
#[derive(Clone, Copy)]
pub(crate) enum MemberLimit {
    App,
    AppChat,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) tokens: HashMap<String, TokenInfo>,
    pub(crate) chats: HashMap<String, Chat>,
    pub(crate) messages: VecDeque<SimMessage>,
    pub(crate) stats: SimStats,
    pub(crate) faults: Vec<Fault>,
    pub(crate) robot_log: RateLog<String>,
    /// (agentid, canonical body) → until when (Unix ms) an identical body is absorbed, and its msgid.
    pub(crate) duplicates: HashMap<(i64, String), (i64, String)>,
    /// Where each app's callbacks go, by AgentId.
    pub(crate) callback_targets: HashMap<i64, CallbackTarget>,
    /// Callbacks made, oldest first.
    pub(crate) callbacks: VecDeque<CallbackRecord>,
    /// Button-interaction cards sent, by (AgentId, task_id), for clicks.
    pub(crate) cards: HashMap<(i64, String), SentCard>,
    /// response_codes handed out (by `message/send` and with clicks), for `update_template_card`.
    pub(crate) response_codes: HashMap<String, IssuedCode>,
    /// Accepted `update_template_card` calls, oldest first.
    pub(crate) card_updates: Vec<CardUpdate>,
    pub(crate) next_callback_id: u64,
    pub(crate) next_msg_id: u64,
    /// Each bot's live long connection.
    pub(crate) bot_links: HashMap<String, Live>,
    /// Every long connection accepted, oldest first.
    pub(crate) longconns: Vec<LongConnRecord>,
    pub(crate) next_longconn_id: u64,
    /// Login codes handed out by scans, for `auth/getuserinfo`.
    pub(crate) login_codes: HashMap<String, LoginCode>,
    next_id: u64,
    app_log: RateLog<(i64, String)>,
    chat_log: RateLog<(i64, String)>,
}

/// An API call's work once its token, caller and body checked out: given the token's app and the body.
pub(crate) type Handler = fn(&SimState, &mut Inner, i64, Map<String, Value>) -> ApiResult;

/// Shared by the handlers and the [`super::WeComSim`] handle.
pub(crate) struct SimState {
    pub(crate) config: WeComSimConfig,
    pub(crate) clock: SimClock,
    pub(crate) shutdown: CancellationToken,
    /// For callbacks into the product.
    pub(crate) http: reqwest::Client,
    /// MsgIds of member messages are this plus a sequence number: unique, and unlike another run's.
    pub(crate) msg_id_base: u64,
    inner: Mutex<Inner>,
}

impl SimState {
    pub(crate) fn new(config: WeComSimConfig, clock: SimClock, shutdown: CancellationToken) -> Self {
        let chats = config
            .chats
            .iter()
            .map(|c| {
                let chat = Chat {
                    name: c.name.clone(),
                    members: c.members.clone(),
                    agent_id: c.agent_id,
                };
                (c.chatid.clone(), chat)
            })
            .collect();
        Self {
            config,
            clock,
            shutdown,
            http: reqwest::Client::new(),
            msg_id_base: rand::thread_rng().gen_range(1_000_000_000_000_000_000..9_000_000_000_000_000_000),
            inner: Mutex::new(Inner {
                chats,
                ..Inner::default()
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code path panics while holding the lock; recovering keeps a test's failure local.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The checks every app API call starts with — token, caller IP, a JSON object body — then `handler`
    /// with the token's app, all under one lock.
    pub(crate) fn authorised(&self, ip: IpAddr, token: Option<&str>, raw: &[u8], handler: Handler) -> ApiResult {
        let mut inner = self.lock();
        let agent_id = inner.check_token(token, self.clock.now_ms(), self.config.expired_token_errcode)?;
        self.check_ip(ip)?;
        let body = parse_object(raw)?;
        handler(self, &mut inner, agent_id, body)
    }

    /// 60020 unless the caller is among the trusted IPs (or none are configured).
    pub(crate) fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        let trusted = &self.config.trusted_ips;
        if trusted.is_empty() || trusted.contains(&ip.to_canonical()) {
            Ok(())
        } else {
            Err(ApiError(60020))
        }
    }

    fn member_windows(&self, limit: MemberLimit) -> Vec<Window> {
        let l = &self.config.limits;
        match limit {
            MemberLimit::App => vec![
                Window::per_minute(l.member_per_minute),
                Window::per_hour(l.member_per_hour),
            ],
            MemberLimit::AppChat => vec![Window::per_minute(l.appchat_member_per_minute)],
        }
    }

    /// Splits `members` into those who receive the message and those over their limit.
    pub(crate) fn deliver(
        &self,
        inner: &mut Inner,
        limit: MemberLimit,
        agentid: i64,
        members: &[String],
        now: i64,
    ) -> (Vec<String>, Vec<String>) {
        let windows = self.member_windows(limit);
        let (mut delivered, mut dropped) = (Vec::new(), Vec::new());
        for member in members {
            let log = match limit {
                MemberLimit::App => &mut inner.app_log,
                MemberLimit::AppChat => &mut inner.chat_log,
            };
            if log.try_acquire((agentid, member.clone()), now, &windows) {
                inner.stats.delivered += 1;
                *inner.stats.delivered_per_member.entry(member.clone()).or_default() += 1;
                delivered.push(member.clone());
            } else {
                inner.stats.dropped_over_limit += 1;
                *inner.stats.dropped_per_member.entry(member.clone()).or_default() += 1;
                dropped.push(member.clone());
            }
        }
        (delivered, dropped)
    }
}

impl Inner {
    /// The app a token belongs to, or the errcode WeCom gives for it.
    pub(crate) fn check_token(&self, token: Option<&str>, now: i64, expired_errcode: i64) -> Result<i64, ApiError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(ApiError(41001))?;
        let info = self.tokens.get(token).ok_or(ApiError(40014))?;
        if info.force_expired || now >= info.expires_at {
            return Err(ApiError(expired_errcode));
        }
        Ok(info.agent_id)
    }

    /// Adds a message to the inspection list, numbering it.
    pub(crate) fn record(&mut self, mut message: SimMessage) {
        self.next_id += 1;
        message.id = self.next_id;
        if self.messages.len() >= MAX_KEPT_MESSAGES {
            self.messages.pop_front();
        }
        self.messages.push_back(message);
    }

    pub(crate) fn count_rejected(&mut self, errcode: i64) {
        *self.stats.rejected.entry(errcode).or_default() += 1;
    }
}

/// A random id of the given length, like WeCom's msgids and tokens.
pub(crate) fn random_id(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}
