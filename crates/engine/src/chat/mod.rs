//! Customer service from WeCom (客服协同): buyer messages are filed under conversations, a conversation a
//! member holds keeps coming to that member, and what members write to the app — replies, `认领 #12`,
//! `已处理 #12`, `转人工 #12`, and the buttons of cards (`buttons`) — is acted on from the stored callbacks.
//!
//! A reply is filed (sealed) before it is sent and sent at most once: a callback processed again after a
//! crash finds its reply filed and only tells the member what became of it.

mod autoreply;
pub mod buttons;
mod command;
pub mod matcher;
pub(crate) mod sent_cards;
mod sla;

use std::collections::HashSet;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoprelay_clock::{SharedClock, UnixMs};
use shoprelay_core::audit_text::{self, ConversationNote};
use shoprelay_core::destination::Destination;
use shoprelay_core::error::UserFacing;
use shoprelay_core::event::{Event, EventBody, LatestOrder};
use shoprelay_core::ids::{ConfigId, ShopId, WeComUserId};
use shoprelay_marketplaces::adapter::ChatDisposition;
use shoprelay_store::{
    AuditEntry, AuditKind, AuditOutcome, Author, CallbackState, Claim, ConsoleAction, ConsoleUser, Conversation,
    ConversationFilter, ConversationMessage, ConversationState, MessageOutcome, NewBuyerMessage, NewDelivery, NewReply,
    Role, StoredCallback,
};
use shoprelay_store::{
    AuditLog, Callbacks, CardCodes, ConfigRepo, ConsoleAccounts, ConversationArchive, Conversations, OrderWatch, Tasks,
};
use shoprelay_wecom::callback::CallbackMessage;
use shoprelay_wecom::client::WeComClient;
use shoprelay_wecom::message::{AppBody, AppMessage, Recipients};
use tokio::sync::Notify;

pub use command::Command;

use crate::config::Registry;
use crate::engine::EngineSettings;
use crate::error::EngineError;
use crate::render::recipients_key;
use crate::routing;
use crate::stage::deliver::app_credentials;
use crate::stage::outbox::{Outbox, Pacing};
use crate::stage::route::Route;
use crate::stage::{stage_common, ConfigView};
use crate::tokens::MarketplaceTokens;

/// Callbacks taken per pass.
const BATCH: i64 = 16;
/// How long a claimed callback stays with its worker.
const LEASE: Duration = Duration::from_secs(30);

/// What became of one callback.
enum Handled {
    /// Acted on; the note says how.
    Done(String),
    /// Nothing to do (an event shoprelay does not act on).
    Ignored,
    /// Cannot be acted on (its XML does not read); kept for inspection.
    Failed(String),
    /// The member cannot be told yet (WeCom's per-member limit): the callback comes back after its lease.
    Later,
}

/// What a member does to a conversation, by text command, card button or the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// 认领.
    Claim,
    /// 已处理.
    Resolve,
    /// 转人工.
    HandOff,
}

/// What a claim, resolve or hand-off did.
enum Applied {
    /// The member holds the conversation now.
    Claimed(Conversation),
    /// Marked handled.
    Resolved,
    /// Let go.
    HandedOff,
    /// Another member holds it; nothing changed.
    HeldByOther(Conversation),
    /// No such conversation.
    Missing,
}

/// A command applied: what it did, the note for the record and what the member is told.
struct AppliedCommand {
    outcome: Applied,
    note: String,
    told: String,
}

impl Action {
    /// The console action's name (`conversation.claim`, …).
    pub fn console_name(self) -> &'static str {
        match self {
            Action::Claim => "conversation.claim",
            Action::Resolve => "conversation.resolve",
            Action::HandOff => "conversation.handoff",
        }
    }
}

/// Why a reply did not reach the buyer. It displays as the member reads it (the server's language),
/// which is also what the archive keeps; the cause stays reachable as the source.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// The conversation's app id does not read (a row from another version).
    #[error("{0}")]
    AppId(#[source] shoprelay_core::ids::IdError),
    /// The conversation's shop id is not a shop id.
    #[error("shop {0}")]
    ShopId(i64),
    /// The conversation's marketplace app is no longer configured.
    #[error("{}", app_gone(*.lang, .app))]
    AppGone {
        /// The app.
        app: ConfigId,
        /// The language the member reads.
        lang: shoprelay_core::error::Lang,
    },
    /// The shop's token could not be had.
    #[error("{0}")]
    Token(#[source] crate::tokens::TokenError),
    /// The marketplace did not take the message.
    #[error("{}", say(*.lang, .source.message_zh(), .source.message_en()))]
    Marketplace {
        /// The marketplace's error.
        #[source]
        source: shoprelay_marketplaces::adapter::ApiError,
        /// The language the member reads.
        lang: shoprelay_core::error::Lang,
    },
    /// An automatic answer with the same key was filed already (sent or not by an earlier pass).
    #[error("already filed")]
    AlreadyFiled,
}

/// What a member reads when a conversation's app is no longer configured.
fn app_gone(lang: shoprelay_core::error::Lang, app: &ConfigId) -> String {
    say(
        lang,
        format!("店铺应用 {app} 已不在配置中"),
        format!("app {app} is no longer configured"),
    )
}

/// What a claim, resolve or hand-off from the console did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleActed {
    /// Whether the conversation changed (not when another member holds it or it does not exist).
    pub changed: bool,
    /// What happened, in the words a member gets in WeCom (the server's language).
    pub told: String,
}

/// Where the WeCom member a console user acts as is kept, per console user.
fn member_key(username: &str) -> String {
    format!("console.member.{username}")
}

/// The two languages of a message to a member, picked by the server's language.
fn say(lang: shoprelay_core::error::Lang, zh: String, en: String) -> String {
    match lang {
        shoprelay_core::error::Lang::Zh => zh,
        shoprelay_core::error::Lang::En => en,
    }
}

/// Customer service, beside the spine: buyer messages filed under conversations on their way through
/// the inbox, members' replies and commands (WeCom callbacks) acted on and sent back to the buyer.
pub struct Chat {
    /// Conversations, their holders and messages.
    pub(crate) conversations: Arc<dyn Conversations>,
    /// Stored WeCom callbacks, claimed and closed.
    pub(crate) callbacks: Arc<dyn Callbacks>,
    /// Which member a console user acts as (kept as a meta value).
    pub(crate) config_repo: Arc<dyn ConfigRepo>,
    /// Records console users' actions on conversations.
    pub(crate) accounts: Arc<dyn ConsoleAccounts>,
    /// Whether each shop may chat (refusals told to the admins once).
    pub(crate) archive: Arc<dyn ConversationArchive>,
    /// Queues the events of conversations.
    pub(crate) deliveries: Arc<dyn shoprelay_store::Outbox>,
    /// Tasks acknowledged from a card's button.
    pub(crate) tasks: Arc<dyn Tasks>,
    /// The codes of sent cards, spent when a member answers with one.
    pub(crate) card_codes: Arc<dyn CardCodes>,
    /// Whether a buyer-waiting event was raised already.
    pub(crate) order_watch: Arc<dyn OrderWatch>,
    /// Records what members and console users did to conversations.
    pub(crate) audit_log: Arc<dyn AuditLog>,
    pub(crate) clock: SharedClock,
    pub(crate) settings: EngineSettings,
    pub(crate) config: ConfigView,
    /// Tells members what their command did, updates cards.
    pub(crate) wecom: WeComClient,
    /// The shop's token for replies sent to the buyer.
    pub(crate) tokens: Arc<MarketplaceTokens>,
    /// Routes the events of conversations (buyers waiting too long, members' hand-offs).
    pub(crate) route: Arc<Route>,
    /// Budgets asked before a member is told something.
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) outbox_wake: Arc<Notify>,
    /// Conversations whose buyer message is being decided for an automatic answer right now.
    pub(crate) auto_deciding: Mutex<HashSet<i64>>,
    /// When the buyer-response watch last looked (unix ms, engine clock).
    pub(crate) last_response_watch: AtomicI64,
}

stage_common!(Chat);

impl Chat {
    /// Files a buyer message under its conversation and names the conversation in the event. Returns
    /// the member holding it, if any: the message goes to them instead of where the rules send it.
    pub(crate) async fn file_buyer_message(&self, event: &mut Event) -> Result<Option<Conversation>, EngineError> {
        let Some(shop) = event.shop_id else { return Ok(None) };
        let EventBody::BuyerMessage {
            conversation_id,
            from_user_name,
            text,
            message_id,
            buyer_id,
            conversation,
            latest_order,
        } = &mut event.body
        else {
            return Ok(None);
        };
        let Some(buyer) = buyer_id.clone() else { return Ok(None) };
        let message = NewBuyerMessage {
            app_id: event.app.clone(),
            shop_id: shop,
            thread: conversation_id.clone(),
            buyer_id: buyer,
            buyer_name: from_user_name.clone(),
            dedupe_key: format!("{}:{}:{}:{message_id}", event.platform, event.app, shop),
            text: text.clone(),
            at: event.occurred_at,
        };
        let filed = self
            .conversations
            .file_buyer_message(&message, self.clock.now())
            .await?;
        *conversation = Some(filed.conversation.id);
        // The card shows the buyer's latest order: what the member is most likely asked about.
        *latest_order = self
            .conversations
            .buyer_latest_order(event.app.as_str(), shop, from_user_name)
            .await?
            .map(|(order_sn, status)| LatestOrder { order_sn, status });
        Ok(
            (filed.conversation.state == ConversationState::Claimed && filed.conversation.holder.is_some())
                .then_some(filed.conversation),
        )
    }

    /// The deliveries that bring a buyer message to the member holding its conversation.
    pub(crate) fn to_holder(&self, registry: &Registry, event: &Event, held: &Conversation) -> Vec<NewDelivery> {
        let (Some(app), Some(member)) = (
            held.holder_app.as_deref().and_then(|a| ConfigId::parse(a).ok()),
            held.holder.as_deref().and_then(|m| WeComUserId::parse(m).ok()),
        ) else {
            return Vec::new();
        };
        routing::to_member(registry, event, &app, &member, self.settings.language)
    }

    /// Conversations matching the filter, newest buyer message first.
    pub async fn conversations(&self, filter: &ConversationFilter) -> Result<Vec<Conversation>, EngineError> {
        Ok(self.conversations.list_conversations(filter).await?)
    }

    /// A conversation and its latest `limit` messages (oldest first).
    pub async fn conversation_thread(
        &self,
        id: i64,
        limit: i64,
    ) -> Result<Option<(Conversation, Vec<ConversationMessage>)>, EngineError> {
        let Some(conversation) = self.conversations.conversation(id).await? else {
            return Ok(None);
        };
        let messages = self.conversations.conversation_messages(id, limit).await?;
        Ok(Some((conversation, messages)))
    }

    /// The WeCom member (`app`, `userid`) a console user last acted as, when any.
    pub async fn console_member(&self, username: &str) -> Result<Option<(ConfigId, WeComUserId)>, EngineError> {
        let stored = self.config_repo.meta(&member_key(username)).await?;
        // A value that no longer reads (an app since renamed) is as good as none: the user names it again.
        Ok(stored.and_then(|v| {
            let (app, member) = v.split_once(' ')?;
            Some((ConfigId::parse(app).ok()?, WeComUserId::parse(member).ok()?))
        }))
    }

    /// Claims, resolves or hands off conversation `id` from the console, on the path of a member's text
    /// command or card button, acting as WeCom `member` of `app` (remembered for the console user's next
    /// action). Audited like a command, with the console user named, and recorded as a console action; what
    /// it did is told in the console user's `lang`.
    pub async fn act_from_console(
        &self,
        actor: &ConsoleUser,
        app: &ConfigId,
        member: &WeComUserId,
        action: Action,
        id: i64,
        lang: shoprelay_core::error::Lang,
    ) -> Result<ConsoleActed, crate::service::console::ConsoleError> {
        crate::service::console::require(actor, Role::Operator)?;
        self.config_repo
            .set_meta(&member_key(&actor.username), &format!("{app} {member}"))
            .await
            .map_err(EngineError::from)?;
        let applied = self.apply_command(app, member, action, id, lang).await?;
        let note = audit_text::by_console_user(&applied.note, &actor.username);
        self.audit_chat(app, &note).await?;
        let done = ConsoleAction::new(
            self.clock.now(),
            &actor.username,
            action.console_name(),
            Some(&format!("#{id}")),
            note,
        );
        self.accounts
            .record_console_action(&done)
            .await
            .map_err(EngineError::from)?;
        // Done and recorded already: cards that cannot be updated are logged, the action still stands.
        if let Err(err) = self
            .update_cards_after_console(&applied.outcome, member.as_str(), id)
            .await
        {
            tracing::warn!(conversation = id, error = %err, "cards not updated after a console action");
        }
        Ok(ConsoleActed {
            changed: matches!(
                applied.outcome,
                Applied::Claimed(_) | Applied::Resolved | Applied::HandedOff
            ),
            told: applied.told,
        })
    }

    /// Updates the cards already sent about conversation `id` to show what the console did.
    async fn update_cards_after_console(&self, outcome: &Applied, member: &str, id: i64) -> Result<(), EngineError> {
        let change = match outcome {
            Applied::Claimed(c) => sent_cards::ConsoleChange::Claimed(c, member),
            Applied::Resolved => sent_cards::ConsoleChange::Resolved(member),
            Applied::HandedOff => sent_cards::ConsoleChange::HandedOff(member),
            Applied::HeldByOther(_) | Applied::Missing => return Ok(()),
        };
        self.update_sent_cards(shoprelay_store::CardSubject::Conversation(id), change)
            .await?;
        Ok(())
    }

    /// Acts on the stored callbacks that are due; returns how many were handled.
    pub async fn process_callbacks_once(&self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let claimed = self.callbacks.claim_callbacks(now, LEASE, BATCH).await?;
        let mut handled = 0;
        for callback in &claimed {
            match self.handle_callback(callback).await {
                Ok(Handled::Done(note)) => {
                    self.callbacks
                        .finish_callback(callback.id, CallbackState::Done, Some(&note))
                        .await?;
                    handled += 1;
                }
                Ok(Handled::Ignored) => {
                    self.callbacks
                        .finish_callback(callback.id, CallbackState::Ignored, None)
                        .await?;
                    handled += 1;
                }
                Ok(Handled::Failed(why)) => {
                    self.callbacks
                        .finish_callback(callback.id, CallbackState::Failed, Some(&why))
                        .await?;
                    handled += 1;
                }
                Ok(Handled::Later) => {}
                Err(err) => {
                    // Storage failed midway: the lease brings it back, and every step is idempotent.
                    tracing::warn!(callback = callback.id, error = %err, "acting on a WeCom callback failed");
                }
            }
        }
        Ok(handled)
    }

    async fn handle_callback(&self, callback: &StoredCallback) -> Result<Handled, EngineError> {
        let message = match CallbackMessage::parse(&callback.body) {
            Ok(m) => m,
            Err(err) => return Ok(Handled::Failed(format!("unreadable: {err}"))),
        };
        let Ok(app) = ConfigId::parse(&callback.app_id) else {
            return Ok(Handled::Ignored);
        };
        match message {
            CallbackMessage::Text { from_user, content, .. } => {
                let Ok(member) = WeComUserId::parse(&from_user) else {
                    return Ok(Handled::Ignored);
                };
                let key = format!("reply:{}:{}", callback.app_id, callback.dedupe_key);
                self.member_text(&app, &member, &content, &key).await
            }
            CallbackMessage::TemplateCardEvent {
                from_user,
                event_key,
                task_id,
                response_code,
                create_time,
                ..
            } => {
                let Ok(member) = WeComUserId::parse(&from_user) else {
                    return Ok(Handled::Ignored);
                };
                let click = buttons::Click {
                    app: &app,
                    member: &member,
                    task_id: &task_id,
                    key: &event_key,
                    response_code: &response_code,
                    at: UnixMs::from_secs(create_time),
                };
                self.card_click(click).await
            }
            CallbackMessage::Other { .. } => Ok(Handled::Ignored),
        }
    }

    async fn member_text(
        &self,
        app: &ConfigId,
        member: &WeComUserId,
        text: &str,
        key: &str,
    ) -> Result<Handled, EngineError> {
        match Command::parse(text) {
            None => Ok(Handled::Ignored),
            Some(Command::Reply { conversation, text }) => self.reply(app, member, conversation, &text, key).await,
            Some(Command::Claim(id)) => self.member_command(app, member, Action::Claim, id).await,
            Some(Command::Resolve(id)) => self.member_command(app, member, Action::Resolve, id).await,
            Some(Command::HandOff(id)) => self.member_command(app, member, Action::HandOff, id).await,
        }
    }

    /// Claim, resolve or hand off, then tell the member.
    async fn member_command(
        &self,
        app: &ConfigId,
        member: &WeComUserId,
        action: Action,
        id: i64,
    ) -> Result<Handled, EngineError> {
        let applied = self
            .apply_command(app, member, action, id, self.settings.language)
            .await?;
        self.audit_chat(app, &applied.note).await?;
        self.told(app, member, &applied.told, &applied.note).await
    }

    /// Claims, resolves or hands off a conversation for `member` (a text command, a card button or the
    /// console), telling what it did in `lang`.
    async fn apply_command(
        &self,
        app: &ConfigId,
        member: &WeComUserId,
        action: Action,
        id: i64,
        lang: shoprelay_core::error::Lang,
    ) -> Result<AppliedCommand, EngineError> {
        let now = self.clock.now();
        let done = |outcome, note: String, told: String| AppliedCommand { outcome, note, told };
        Ok(match action {
            Action::Claim => match self
                .conversations
                .claim_conversation(id, member.as_str(), app.as_str(), now)
                .await?
            {
                Claim::Held(c) => {
                    let told = say(
                        lang,
                        format!("✅ 已认领会话 #{id}（买家 {}）。直接发消息即可回复买家。", c.buyer_name),
                        format!(
                            "✅ Conversation #{id} (buyer {}) is yours. Write here to answer the buyer.",
                            c.buyer_name
                        ),
                    );
                    done(
                        Applied::Claimed(c),
                        ConversationNote::ClaimedBy.note(id, member.as_str()),
                        told,
                    )
                }
                Claim::HeldByOther(c) => {
                    let told = held_by_other(lang, &c);
                    done(
                        Applied::HeldByOther(c),
                        ConversationNote::AlreadyHeld.note(id, ""),
                        told,
                    )
                }
                Claim::Missing => done(
                    Applied::Missing,
                    ConversationNote::Missing.note(id, ""),
                    missing(lang, id),
                ),
            },
            Action::Resolve | Action::HandOff => {
                let resolved = action == Action::Resolve;
                match self.conversations.conversation(id).await? {
                    None => done(
                        Applied::Missing,
                        ConversationNote::Missing.note(id, ""),
                        missing(lang, id),
                    ),
                    Some(c)
                        if c.holder.as_deref().is_some_and(|h| h != member.as_str())
                            && c.state == ConversationState::Claimed =>
                    {
                        let told = held_by_other(lang, &c);
                        done(
                            Applied::HeldByOther(c),
                            ConversationNote::HeldByAnother.note(id, ""),
                            told,
                        )
                    }
                    Some(_) => {
                        self.conversations.release_conversation(id, resolved, now).await?;
                        if resolved {
                            done(
                                Applied::Resolved,
                                ConversationNote::ResolvedBy.note(id, member.as_str()),
                                say(
                                    lang,
                                    format!("✅ 会话 #{id} 已标记为已处理。"),
                                    format!("✅ Conversation #{id} is marked handled."),
                                ),
                            )
                        } else {
                            done(
                                Applied::HandedOff,
                                ConversationNote::HandedOffBy.note(id, member.as_str()),
                                say(
                                    lang,
                                    format!("↪ 会话 #{id} 已转出，买家的下一条消息将按规则重新分配。"),
                                    format!("↪ Conversation #{id} is handed off: the buyer's next message is assigned by the rules again."),
                                ),
                            )
                        }
                    }
                }
            }
        })
    }

    /// Sends a member's reply to the buyer (once), then tells the member what became of it.
    async fn reply(
        &self,
        app: &ConfigId,
        member: &WeComUserId,
        named: Option<i64>,
        text: &str,
        key: &str,
    ) -> Result<Handled, EngineError> {
        let lang = self.settings.language;
        if let Some(filed) = self.conversations.reply_by_key(key).await? {
            // Processed before (a crash, or the member's limit): never send twice, only tell again.
            let told = match filed.outcome {
                MessageOutcome::Sent => sent(lang, filed.conversation_id),
                MessageOutcome::Failed => {
                    not_sent(lang, filed.conversation_id, filed.note.as_deref().unwrap_or_default())
                }
                MessageOutcome::Sending | MessageOutcome::Received => {
                    let why = "interrupted while sending: check the chat in the seller centre";
                    self.conversations
                        .finish_reply(filed.id, MessageOutcome::Failed, Some(why), None, self.clock.now())
                        .await?;
                    not_sent(lang, filed.conversation_id, why)
                }
            };
            return Ok(if self.tell(app, member, &told).await? {
                Handled::Done(format!("reply {key} told again"))
            } else {
                Handled::Later
            });
        }
        let conversation = match named {
            Some(id) => self.conversations.conversation(id).await?,
            None => self
                .conversations
                .list_conversations(&ConversationFilter {
                    holder: Some(member.as_str().to_owned()),
                    state: Some(ConversationState::Claimed),
                    limit: 1,
                    ..Default::default()
                })
                .await?
                .into_iter()
                .next(),
        };
        let Some(conversation) = conversation else {
            let told = match named {
                Some(id) => missing(lang, id),
                None => say(
                    lang,
                    "你当前没有正在处理的买家会话。回复买家请发送「#会话号 内容」，例如：#12 您好".into(),
                    "You hold no buyer conversation. To answer a buyer, write \"#<conversation> <text>\", e.g. #12 Hello".into(),
                ),
            };
            return self.told(app, member, &told, "no conversation").await;
        };
        // Answering an unheld conversation takes it; one another member holds stays theirs.
        let now = self.clock.now();
        let conversation = match self
            .conversations
            .claim_conversation(conversation.id, member.as_str(), app.as_str(), now)
            .await?
        {
            Claim::Held(c) => c,
            Claim::HeldByOther(c) => {
                return self
                    .told(app, member, &held_by_other(lang, &c), "held by another")
                    .await
            }
            Claim::Missing => return self.told(app, member, &missing(lang, conversation.id), "missing").await,
        };
        let reply = NewReply {
            conversation_id: conversation.id,
            author: Author::Staff,
            sender: Some(member.as_str().to_owned()),
            dedupe_key: key.to_owned(),
            text: text.to_owned(),
            rule: None,
            at: now,
        };
        let Some(reply_id) = self.conversations.add_reply(&reply).await? else {
            return Ok(Handled::Later);
        };
        let outcome = self.send_to_buyer(&conversation, text).await;
        let (told, note) = match &outcome {
            Ok(message_id) => {
                self.conversations
                    .finish_reply(
                        reply_id,
                        MessageOutcome::Sent,
                        None,
                        message_id.as_deref(),
                        self.clock.now(),
                    )
                    .await?;
                (sent(lang, conversation.id), audit_text::reply_sent(conversation.id))
            }
            Err(why) => {
                let why = why.to_string();
                self.conversations
                    .finish_reply(reply_id, MessageOutcome::Failed, Some(&why), None, self.clock.now())
                    .await?;
                (
                    not_sent(lang, conversation.id, &why),
                    audit_text::reply_failed(conversation.id, &why),
                )
            }
        };
        self.audit_chat(app, &note).await?;
        Ok(if self.tell(app, member, &told).await? {
            Handled::Done(note)
        } else {
            Handled::Later
        })
    }

    /// Sends `text` through the conversation's marketplace; the error is what the member reads.
    async fn send_to_buyer(&self, conversation: &Conversation, text: &str) -> Result<Option<String>, SendError> {
        let lang = self.settings.language;
        let registry = self.registry();
        let app_id = ConfigId::parse(&conversation.app_id).map_err(SendError::AppId)?;
        let shop = u64::try_from(conversation.shop_id)
            .ok()
            .and_then(|s| ShopId::new(s).ok())
            .ok_or(SendError::ShopId(conversation.shop_id))?;
        let Some(app) = registry.marketplaces.get(&app_id) else {
            return Err(SendError::AppGone { app: app_id, lang });
        };
        let region = registry.shop(&app_id, shop).and_then(|s| s.region.clone());
        let token = self
            .tokens
            .access_token(&app_id, shop)
            .await
            .map_err(SendError::Token)?;
        let outcome = app
            .send_chat(shop, region.as_deref(), &token, &conversation.buyer_id, text)
            .await;
        let refusal = match &outcome {
            Ok(_) => Some(None),
            Err(e) if e.chat_disposition() == ChatDisposition::Unavailable => {
                Some(Some((e.code(), say(lang, e.message_zh(), e.message_en()))))
            }
            // Transient or unrelated to the shop (rate limits, a bad buyer id): says nothing of its chat.
            Err(_) => None,
        };
        if let Some(refusal) = refusal {
            // The reply's own outcome is archived either way; a failed bookkeeping write is only logged.
            if let Err(err) = self.record_chat_capability(&app_id, shop, refusal).await {
                tracing::warn!(app = %app_id, shop = %shop, error = ?err, "could not record the shop's chat capability");
            }
        }
        outcome
            .map(|sent| sent.message_id)
            .map_err(|source| SendError::Marketplace { source, lang })
    }

    /// Records whether the shop could send chat; the first refusal raises a `chat_unavailable` notice
    /// to the admins (once, until a send is accepted again).
    async fn record_chat_capability(
        &self,
        app_id: &ConfigId,
        shop: ShopId,
        refusal: Option<(&str, String)>,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let stored = refusal.as_ref().map(|(code, reason)| (*code, reason.as_str()));
        if !self
            .archive
            .record_shop_chat(app_id.as_str(), shop, stored, now)
            .await?
        {
            return Ok(());
        }
        let Some((_, reason)) = refusal else { return Ok(()) };
        let registry = self.registry();
        let Some(platform) = registry.marketplaces.get(app_id).map(|app| app.platform()) else {
            return Ok(());
        };
        let event = Event {
            // Once per refusal: the store tells again only after the shop could send in between.
            dedupe_key: format!("{platform}:chat_unavailable:{app_id}:{shop}:{now}"),
            platform,
            app: app_id.clone(),
            shop_id: Some(shop),
            order_sn: None,
            occurred_at: self.clock.now(),
            order: None,
            body: EventBody::ChatUnavailable { reason },
        };
        let deliveries = self.route.route(&registry, &event).await?;
        self.deliveries
            .insert_event(shoprelay_store::NewEvent { event, deliveries }, self.clock.now())
            .await?;
        self.outbox_wake.notify_one();
        tracing::warn!(app = %app_id, shop = %shop, "the shop cannot send chat; admins told");
        Ok(())
    }

    /// Tells a member and closes the callback with `note` (or leaves it for later).
    async fn told(&self, app: &ConfigId, member: &WeComUserId, text: &str, note: &str) -> Result<Handled, EngineError> {
        Ok(if self.tell(app, member, text).await? {
            Handled::Done(note.to_owned())
        } else {
            Handled::Later
        })
    }

    /// A text to one member through the app, within WeCom's budgets; `false` when it must wait.
    async fn tell(&self, app: &ConfigId, member: &WeComUserId, text: &str) -> Result<bool, EngineError> {
        let registry = self.registry();
        let Some(cfg) = registry.wecom_apps.get(app) else {
            return Ok(true);
        };
        let destination = Destination::WecomApp(app.clone());
        let recipients = recipients_key(&routing::member_target(app, member));
        match self.outbox.reserve_send(&destination, &recipients).await? {
            Pacing::Reserved(_) => {}
            Pacing::DestinationFull(_) | Pacing::RecipientsFull(_) => return Ok(false),
        }
        let message = AppMessage {
            recipients: Recipients::users([member.as_str()]),
            agentid: cfg.agent_id,
            body: AppBody::text(text),
            enable_duplicate_check: false,
            duplicate_check_interval: None,
        };
        if let Err(err) = self.wecom.send_app_message(&app_credentials(cfg), &message).await {
            // The reply itself is archived with its outcome; a lost confirmation is logged, not retried.
            tracing::warn!(app = %app, member = %member, error = %err, "could not tell the member");
        }
        Ok(true)
    }

    async fn audit_chat(&self, app: &ConfigId, detail: &str) -> Result<(), EngineError> {
        let mut audit = AuditEntry::new(AuditKind::Callback, AuditOutcome::Acted, self.clock.now(), detail);
        audit.app_id = Some(app.to_string());
        self.audit_log.append_audit(audit).await?;
        Ok(())
    }
}

fn sent(lang: shoprelay_core::error::Lang, id: i64) -> String {
    say(
        lang,
        format!("✅ 已发送给买家（会话 #{id}）"),
        format!("✅ Sent to the buyer (conversation #{id})"),
    )
}

fn not_sent(lang: shoprelay_core::error::Lang, id: i64, why: &str) -> String {
    say(
        lang,
        format!("❌ 未能发送给买家（会话 #{id}）：{why}"),
        format!("❌ Not sent to the buyer (conversation #{id}): {why}"),
    )
}

fn missing(lang: shoprelay_core::error::Lang, id: i64) -> String {
    say(
        lang,
        format!("没有会话 #{id}：请核对会话号"),
        format!("There is no conversation #{id}: check the number"),
    )
}

fn held_by_other(lang: shoprelay_core::error::Lang, c: &Conversation) -> String {
    let holder = c.holder.as_deref().unwrap_or_default();
    say(
        lang,
        format!(
            "会话 #{} 正由 {holder} 处理；如需接手请先让对方转出（转人工 #{}）",
            c.id, c.id
        ),
        format!(
            "Conversation #{} is held by {holder}; ask them to hand it off first (handoff #{})",
            c.id, c.id
        ),
    )
}
