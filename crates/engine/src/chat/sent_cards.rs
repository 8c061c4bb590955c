//! Cards already in members' WeCom, updated when the console changes what they are about. `message/send`
//! answers an interactive card with a response_code (once, within 72 hours, for everyone the card
//! reached); the delivery keeps it, and a console claim, resolve, hand-off or task acknowledgement spends
//! the unspent codes of the cards about that conversation or task, so nobody is left with buttons for a
//! conversation already taken. A member's click updates the card with the click's own code and leaves
//! the kept one alone, so a console action after it still finds one.

use serde_json::Value;
use shoprelay_clock::UnixMs;
use shoprelay_core::error::{Lang, UserFacing};
use shoprelay_core::ids::{ConfigId, IdError};
use shoprelay_store::{AuditEntry, AuditKind, AuditOutcome, CardCode, CardSubject, Conversation, NewCardCode};
use shoprelay_wecom::card_update::{
    CardAudience, CardChange, CardUpdate, CardUpdateError as WeComCardError, RESPONSE_CODE_TTL,
};

use super::buttons::CardRef;
use super::say;
use shoprelay_store::CardCodes;

use super::Chat;
use crate::error::EngineError;
use crate::stage::deliver::app_credentials;

/// An interactive card `message/send` accepted, with the code it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentCard {
    /// The WeCom app that sent it.
    pub app: ConfigId,
    /// Its task_id.
    pub task_id: String,
    /// The response_code WeCom answered.
    pub response_code: String,
}

/// The card in a sent app message body, when WeCom answered a response_code for it and shoprelay made it
/// (its task_id names a conversation or a task).
pub(crate) fn sent_card(app: &ConfigId, message: &Value, response_code: Option<&str>) -> Option<SentCard> {
    let response_code = response_code.filter(|c| !c.is_empty())?;
    let task_id = message.get("template_card")?.get("task_id")?.as_str()?;
    CardRef::parse(task_id)?;
    Some(SentCard {
        app: app.clone(),
        task_id: task_id.to_owned(),
        response_code: response_code.to_owned(),
    })
}

/// What the console did, as the cards show it.
pub(crate) enum ConsoleChange<'a> {
    /// `member` holds the conversation now.
    Claimed(&'a Conversation, &'a str),
    /// `member` marked it handled.
    Resolved(&'a str),
    /// `member` let it go.
    HandedOff(&'a str),
    /// `by` acknowledged the task.
    TaskAcked(&'a str),
}

/// Keeps the code of a card delivered at `now` (after its delivery is stored: a failure here only means
/// the card cannot be updated from the console, so it is logged, not retried).
pub(crate) async fn keep_card_code(store: &dyn CardCodes, now: UnixMs, delivery_id: i64, card: &SentCard) {
    let Some(about) = CardRef::parse(&card.task_id) else {
        return;
    };
    let code = NewCardCode {
        delivery_id,
        app_id: card.app.to_string(),
        task_id: card.task_id.clone(),
        conversation_id: about.conversation,
        task_ref: about.task,
        response_code: card.response_code.clone(),
        issued_at: now,
    };
    if let Err(err) = store.record_card_code(&code, now - RESPONSE_CODE_TTL).await {
        tracing::warn!(delivery = delivery_id, error = %err, "could not keep a card's response_code");
    }
}

impl Chat {
    /// Updates every card about `subject` that still has an unspent, unexpired code; returns how many.
    /// Each code is marked spent before it is used (WeCom takes it once, so a second process must not
    /// try it too); a card WeCom refuses to update is audited, never a reason to undo the action.
    pub(crate) async fn update_sent_cards(
        &self,
        subject: CardSubject,
        change: ConsoleChange<'_>,
    ) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let codes = self
            .card_codes
            .usable_card_codes(subject, now - RESPONSE_CODE_TTL)
            .await?;
        let mut updated = 0;
        for code in codes {
            let Some(card_change) = self.card_change(&change, &code) else {
                continue;
            };
            if !self.card_codes.spend_card_code(code.id, now).await? {
                continue;
            }
            match self.send_card_update(&code, card_change).await {
                Ok(()) => updated += 1,
                Err(why) => {
                    tracing::warn!(app = %code.app_id, task_id = %code.task_id, error = %why, "sent card not updated");
                    let detail = format!("card {} not updated after a console action: {why}", code.task_id);
                    let mut audit = AuditEntry::new(AuditKind::Callback, AuditOutcome::Failed, now, &detail);
                    audit.app_id = Some(code.app_id.clone());
                    self.audit_log.append_audit(audit).await?;
                }
            }
        }
        Ok(updated)
    }

    /// What one card becomes; `None` leaves it (a conversation card is not changed by acknowledging the
    /// task it also names: its buttons are the conversation's).
    fn card_change(&self, change: &ConsoleChange<'_>, code: &CardCode) -> Option<CardChange> {
        let lang = self.settings.language;
        let about = CardRef::parse(&code.task_id)?;
        Some(match change {
            ConsoleChange::Claimed(c, member) => {
                CardChange::Card(Box::new(self.claimed_card(c, &code.task_id, member)))
            }
            ConsoleChange::Resolved(member) => CardChange::ReplaceButtons(resolved_text(lang, member)),
            ConsoleChange::HandedOff(member) => CardChange::ReplaceButtons(handed_off_text(lang, member)),
            ConsoleChange::TaskAcked(_) if about.conversation.is_some() => return None,
            ConsoleChange::TaskAcked(by) => {
                CardChange::ReplaceButtons(say(lang, format!("✅ {by} 已确认处理"), format!("✅ {by} is on it")))
            }
        })
    }

    async fn send_card_update(&self, code: &CardCode, change: CardChange) -> Result<(), CardUpdateError> {
        let registry = self.registry();
        let app = ConfigId::parse(&code.app_id).map_err(CardUpdateError::AppId)?;
        let Some(cfg) = registry.wecom_apps.get(&app) else {
            return Err(CardUpdateError::AppGone(app));
        };
        let update = CardUpdate {
            agentid: cfg.agent_id,
            response_code: code.response_code.clone(),
            audience: CardAudience::Everyone,
            change,
        };
        self.wecom
            .update_template_card(&app_credentials(cfg), &update)
            .await
            .map_err(CardUpdateError::WeCom)
    }
}

/// Why a sent card could not be updated.
#[derive(Debug, thiserror::Error)]
enum CardUpdateError {
    /// The card's app id does not read (a row from another version).
    #[error("{0}")]
    AppId(#[source] IdError),
    /// The card's WeCom app is no longer configured.
    #[error("WeCom app `{0}` is no longer configured")]
    AppGone(ConfigId),
    /// WeCom refused the update or could not be reached.
    #[error("{}: {}", .0.code(), .0)]
    WeCom(#[source] WeComCardError),
}

/// The buttons' replacement once `member` resolved the conversation.
fn resolved_text(lang: Lang, member: &str) -> String {
    say(lang, format!("✅ 已处理 · {member}"), format!("✅ Resolved · {member}"))
}

/// The buttons' replacement once `member` handed the conversation off.
fn handed_off_text(lang: Lang, member: &str) -> String {
    say(lang, format!("↪ {member} 已转出"), format!("↪ Handed off by {member}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_card_shoprelay_made_with_a_code_is_kept() {
        let app = ConfigId::parse("hq").unwrap();
        let task_id = CardRef {
            conversation: Some(12),
            task: None,
        }
        .task_id("x");
        let card = serde_json::json!({"msgtype": "template_card", "template_card": {"task_id": task_id}});
        let kept = sent_card(&app, &card, Some("rc-1")).unwrap();
        assert_eq!(kept.task_id, task_id);
        assert_eq!(kept.response_code, "rc-1");
        assert_eq!(sent_card(&app, &card, None), None, "WeCom answered no code");
        assert_eq!(sent_card(&app, &card, Some("")), None);
        let foreign = serde_json::json!({"template_card": {"task_id": "someone-elses"}});
        assert_eq!(sent_card(&app, &foreign, Some("rc-2")), None);
        let markdown = serde_json::json!({"msgtype": "markdown", "markdown": {"content": "hi"}});
        assert_eq!(sent_card(&app, &markdown, Some("rc-3")), None);
    }
}
