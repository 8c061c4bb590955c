//! The response-time watch: the marketplaces count only a person's reply within 12 hours of the buyer's
//! message (automatic answers do not count). A buyer left without a person's reply is escalated to the
//! shop's supervisor after `escalate_after_minutes`, its holder is warned at `warn_holder_after_hours`
//! and the supervisor at `warn_supervisor_after_hours` — each once per unanswered message, driven by the
//! clock. A resolved conversation is taken as answered (a member may have answered in the seller centre).

use std::sync::atomic::Ordering;
use std::time::Duration;

use shoprelay_clock::UnixMs;
use shoprelay_core::audit_text;
use shoprelay_core::error::Lang;
use shoprelay_core::event::{Event, EventBody, Platform};
use shoprelay_core::ids::{ConfigId, ShopId, WeComUserId};
use shoprelay_store::{AuditEntry, AuditKind, AuditOutcome, Conversation, NewDelivery, NewEvent};

use super::Chat;
use crate::config::chat::{CompiledChat, RESPONSE_WINDOW_HOURS};
use crate::config::Registry;
use crate::error::EngineError;
use crate::routing;

/// The watch looks at most this often (engine clock): warnings are minutes apart, not seconds.
const EVERY: Duration = Duration::from_secs(60);
/// How long after the buyer's message a person's reply still counts for the marketplace.
const RESPONSE_WINDOW: Duration = Duration::from_secs(RESPONSE_WINDOW_HOURS as u64 * 3_600);
/// Unanswered conversations read per page, oldest first, and most pages per pass.
const PAGE: i64 = 500;
const MAX_PAGES: i64 = 40;

/// A step of the countdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Unanswered for `escalate_after_minutes`: the supervisor.
    Escalate,
    /// Nearing the 12-hour mark: the holder (the supervisor when nobody holds it).
    WarnHolder,
    /// Closer still: the supervisor.
    WarnSupervisor,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Escalate => "escalate",
            Stage::WarnHolder => "warn_holder",
            Stage::WarnSupervisor => "warn_supervisor",
        }
    }
}

/// The stages a shop's settings ask for, with the wait after which each is due.
fn stages(chat: &CompiledChat) -> Vec<(Stage, Duration)> {
    let c = &chat.config;
    let has_supervisor = !c.supervisor.is_empty();
    let mut out = Vec::new();
    if c.escalate_after_minutes > 0 && has_supervisor {
        out.push((Stage::Escalate, minutes(c.escalate_after_minutes)));
    }
    if c.warn_holder_after_hours > 0 {
        out.push((Stage::WarnHolder, hours(c.warn_holder_after_hours)));
    }
    if c.warn_supervisor_after_hours > 0 && has_supervisor {
        out.push((Stage::WarnSupervisor, hours(c.warn_supervisor_after_hours)));
    }
    out
}

/// `n` minutes.
fn minutes(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 60)
}

/// `n` hours.
fn hours(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 3_600)
}

/// Whole minutes from the buyer's last message to `now` (none when the clock reads earlier).
fn waited_minutes(conversation: &Conversation, now: UnixMs) -> i64 {
    now.millis_since(conversation.last_buyer_at).max(0) / 60_000
}

impl Chat {
    /// Escalates and warns about buyers waiting for a person's reply; returns how many notices it made.
    pub async fn watch_responses_once(&self) -> Result<usize, EngineError> {
        let registry = self.registry();
        let now = self.clock.now();
        let Some(first) = registry
            .chat_shops
            .values()
            .flat_map(|c| stages(c).into_iter().map(|(_, wait)| wait))
            .min()
        else {
            return Ok(0);
        };
        let last_pass = UnixMs::from_millis(self.last_response_watch.load(Ordering::Relaxed));
        if now.saturating_duration_since(last_pass) < EVERY {
            return Ok(0);
        }
        self.last_response_watch.store(now.as_millis(), Ordering::Relaxed);
        // Past the 12-hour mark the reply no longer counts: nothing left to warn about.
        let mut waiting = Vec::new();
        for page in 0..MAX_PAGES {
            let rows = self
                .conversations
                .unanswered_conversations(
                    now - RESPONSE_WINDOW,
                    now - first + Duration::from_millis(1),
                    page * PAGE,
                    PAGE,
                )
                .await?;
            let last = (rows.len() as i64) < PAGE;
            waiting.extend(rows);
            if last {
                break;
            }
        }
        let mut produced = 0;
        for conversation in waiting {
            let Some(shop) = u64::try_from(conversation.shop_id)
                .ok()
                .and_then(|s| ShopId::new(s).ok())
            else {
                continue;
            };
            let Some(chat) = registry.chat_of(shop) else { continue };
            let waited = now.saturating_duration_since(conversation.last_buyer_at);
            for (stage, _) in stages(chat).into_iter().filter(|(_, wait)| waited >= *wait) {
                let key = format!(
                    "chat_sla:{}:{}:{}",
                    conversation.id,
                    conversation.last_buyer_at,
                    stage.name()
                );
                if self.order_watch.event_exists(&key).await? {
                    continue;
                }
                let event = notice(&registry, &conversation, shop, stage, key, now, self.settings.language);
                let deliveries = self.notice_deliveries(&registry, &event, chat, &conversation, stage);
                let told = deliveries.len();
                if self
                    .deliveries
                    .insert_event(NewEvent { event, deliveries }, now)
                    .await?
                {
                    let detail = audit_text::response_warned(
                        conversation.id,
                        stage.name(),
                        waited_minutes(&conversation, now),
                        told,
                    );
                    let mut audit = AuditEntry::new(AuditKind::Chat, AuditOutcome::ResponseWarned, now, detail);
                    audit.app_id = Some(conversation.app_id.clone());
                    audit.shop_id = Some(conversation.shop_id);
                    self.audit_log.append_audit(audit).await?;
                    metrics::counter!("shoprelay_chat_response_warnings_total").increment(1);
                    produced += 1;
                }
            }
        }
        if produced > 0 {
            self.outbox_wake.notify_one();
        }
        Ok(produced)
    }

    /// Who hears of a buyer still waiting at this stage: the supervisor, or at the holder stage the member
    /// holding the conversation (the supervisor when it has none).
    fn notice_deliveries(
        &self,
        registry: &Registry,
        event: &Event,
        chat: &CompiledChat,
        conversation: &Conversation,
        stage: Stage,
    ) -> Vec<NewDelivery> {
        let lang = self.settings.language;
        let supervisor = || routing::to_targets(registry, event, &chat.config.supervisor, "chat_response", lang);
        match stage {
            Stage::Escalate | Stage::WarnSupervisor => supervisor(),
            Stage::WarnHolder => {
                let holder = (
                    conversation.holder_app.as_deref().and_then(|a| ConfigId::parse(a).ok()),
                    conversation.holder.as_deref().and_then(|m| WeComUserId::parse(m).ok()),
                );
                match holder {
                    (Some(app), Some(member)) => routing::to_member(registry, event, &app, &member, lang),
                    _ => supervisor(),
                }
            }
        }
    }
}

/// The notice: an `escalation` event about the conversation (its number in place of a task's), saying how
/// long the buyer has waited and how long is left before the 12-hour mark. No buyer text or name: the
/// number is enough to answer (`#12 …`).
fn notice(
    registry: &Registry,
    conversation: &Conversation,
    shop: ShopId,
    stage: Stage,
    key: String,
    now: UnixMs,
    lang: Lang,
) -> Event {
    let app = ConfigId::parse(&conversation.app_id).unwrap_or_else(|_| ConfigId::internal());
    let waited = waited_minutes(conversation, now);
    let left = (i64::from(RESPONSE_WINDOW_HOURS) * 60 - waited).max(0);
    let id = conversation.id;
    let about = match (lang, stage) {
        (Lang::Zh, Stage::Escalate) => format!("买家消息（会话 #{id}）已等待 {waited} 分钟无人回复；回复请发「#{id} 内容」"),
        (Lang::Zh, _) => format!(
            "会话 #{id} 的买家已等待 {waited} 分钟，距平台 12 小时回复考核还剩 {left} 分钟（自动回复不计）；回复请发「#{id} 内容」"
        ),
        (Lang::En, Stage::Escalate) => format!(
            "A buyer (conversation #{id}) has waited {waited} min without a reply; answer with \"#{id} <text>\""
        ),
        (Lang::En, _) => format!(
            "The buyer of conversation #{id} has waited {waited} min: {left} min left before the marketplace's 12-hour \
             response mark (automatic answers do not count); answer with \"#{id} <text>\""
        ),
    };
    Event {
        dedupe_key: key,
        platform: registry.platform_of(&app).unwrap_or(Platform::INTERNAL),
        app,
        shop_id: Some(shop),
        order_sn: None,
        occurred_at: now,
        order: None,
        body: EventBody::Escalation {
            task_id: id,
            rule: format!("chat:{}", stage.name()),
            assignee: conversation.holder.clone(),
            waited_minutes: waited,
            about,
        },
    }
}
