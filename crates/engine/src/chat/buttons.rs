//! Card buttons (button_interaction): what a card's `task_id` and button keys say, and what a click
//! (`template_card_event`) does — claim, resolve or hand off a conversation through the same paths as
//! the text commands, acknowledge a task — and the card then updated with the click's single-use
//! response_code to show who took it.
//!
//! A card's task_id names what it is about, `sr-c12-t5-h<hash>` (conversation 12, task 5; either may be
//! absent), so a click needs nothing remembered from the send. The hash keeps task_ids unique per app,
//! as WeCom requires, when one event sends several cards.

use std::hash::{Hash, Hasher};

use shoprelay_clock::UnixMs;
use shoprelay_core::error::{Lang, UserFacing};
use shoprelay_core::ids::{ConfigId, WeComUserId};
use shoprelay_store::{AuditEntry, AuditKind, AuditOutcome, Conversation, TaskRef};
use shoprelay_wecom::card::{Button, CardAction, CardType, HorizontalContent, Jump, MainTitle, TemplateCard};
use shoprelay_wecom::card_update::{response_code_usable, CardAudience, CardChange, CardUpdate, CardUpdateError};

use super::{say, Action, Applied, Chat, Handled};
use crate::error::EngineError;
use crate::stage::deliver::app_credentials;

/// Button key: take the conversation.
pub const CLAIM: &str = "claim";
/// Button key: mark it handled.
pub const RESOLVE: &str = "resolve";
/// Button key: let go of it.
pub const HAND_OFF: &str = "handoff";
/// Button key: acknowledge the task ("I'm on it").
pub const ACK: &str = "ack";

/// What a card is about, as its task_id carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CardRef {
    /// The buyer conversation (`#12`).
    pub conversation: Option<i64>,
    /// The task to acknowledge.
    pub task: Option<i64>,
}

impl CardRef {
    /// The task_id of one card: `salt` (anything naming the event, rule and recipients) keeps it unique.
    pub fn task_id(&self, salt: &str) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        let mut id = "sr".to_owned();
        if let Some(c) = self.conversation {
            id.push_str(&format!("-c{c}"));
        }
        if let Some(t) = self.task {
            id.push_str(&format!("-t{t}"));
        }
        format!("{id}-h{:016x}", hasher.finish())
    }

    /// Reads a task_id made by [`CardRef::task_id`]; `None` for anything else.
    pub fn parse(task_id: &str) -> Option<Self> {
        let mut parts = task_id.split('-');
        if parts.next()? != "sr" {
            return None;
        }
        let mut card = Self::default();
        for part in parts {
            if let Some(n) = part.strip_prefix('c') {
                card.conversation = Some(n.parse().ok()?);
            } else if let Some(n) = part.strip_prefix('t') {
                card.task = Some(n.parse().ok()?);
            } else if !part.starts_with('h') {
                return None;
            }
        }
        (card.conversation.is_some() || card.task.is_some()).then_some(card)
    }
}

/// The page of conversation `id` in the console.
pub fn conversation_url(public_url: &str, id: i64) -> String {
    format!("{}/console/conversations/{id}", public_url.trim_end_matches('/'))
}

/// The buttons of a buyer-message card (claim, resolve, hand off); `held` leaves claim out.
pub fn conversation_buttons(lang: Lang, held: bool) -> Vec<Button> {
    let button = |zh: &str, en: &str, key: &str, style: u8| Button {
        kind: None,
        text: say(lang, zh.into(), en.into()),
        style: Some(style),
        key: Some(key.into()),
        url: None,
    };
    let claim = (!held).then(|| button("认领", "Claim", CLAIM, 1));
    claim
        .into_iter()
        .chain([
            button("已处理", "Resolve", RESOLVE, 2),
            button("转人工", "Hand off", HAND_OFF, 3),
        ])
        .collect()
}

/// The button of a task card: acknowledge, or claim when nobody was assigned.
pub fn task_button(lang: Lang, assigned: bool) -> Button {
    let (zh, en) = if assigned {
        ("确认处理", "Acknowledge")
    } else {
        ("我来处理", "I'll take it")
    };
    Button {
        kind: None,
        text: say(lang, zh.into(), en.into()),
        style: Some(1),
        key: Some(ACK.into()),
        url: None,
    }
}

/// A click as the worker acts on it.
pub(super) struct Click<'a> {
    pub app: &'a ConfigId,
    pub member: &'a WeComUserId,
    pub task_id: &'a str,
    pub key: &'a str,
    pub response_code: &'a str,
    /// When WeCom handed out the response_code (the click's CreateTime).
    pub at: UnixMs,
}

impl Chat {
    /// Acts on a button click, then updates the card; a card that cannot be updated is logged and
    /// audited, never a reason to act twice or to stop.
    pub(super) async fn card_click(&self, click: Click<'_>) -> Result<Handled, EngineError> {
        let Some(card) = CardRef::parse(click.task_id) else {
            return Ok(Handled::Ignored);
        };
        let lang = self.settings.language;
        let member = click.member.as_str();
        let (note, change, told) = match (click.key, card.conversation, card.task) {
            (ACK, _, Some(task)) | (CLAIM, None, Some(task)) => {
                match self
                    .tasks
                    .ack_task(&TaskRef::Id(task), member, self.clock.now())
                    .await?
                {
                    Some(t) => {
                        let by = t.acked_by.unwrap_or_else(|| member.to_owned());
                        let shown = say(lang, format!("✅ {by} 已确认处理"), format!("✅ {by} is on it"));
                        (
                            format!("task {task} acknowledged by {member}"),
                            Some((CardAudience::Everyone, CardChange::ReplaceButtons(shown))),
                            None,
                        )
                    }
                    None => (format!("task {task} missing"), None, None),
                }
            }
            (CLAIM | RESOLVE | HAND_OFF, Some(id), task) => {
                let action = match click.key {
                    CLAIM => Action::Claim,
                    RESOLVE => Action::Resolve,
                    _ => Action::HandOff,
                };
                let applied = self
                    .apply_command(click.app, click.member, action, id, self.settings.language)
                    .await?;
                // Taking the conversation is taking its task: it must not escalate any more.
                if let (Applied::Claimed(_), Some(task)) = (&applied.outcome, task) {
                    self.tasks
                        .ack_task(&TaskRef::Id(task), member, self.clock.now())
                        .await?;
                }
                let change = match &applied.outcome {
                    Applied::Claimed(c) => Some((
                        CardAudience::Everyone,
                        CardChange::Card(Box::new(self.claimed_card(c, click.task_id, member))),
                    )),
                    Applied::Resolved => Some((
                        CardAudience::Everyone,
                        CardChange::ReplaceButtons(say(
                            lang,
                            format!("✅ 已处理 · {member}"),
                            format!("✅ Resolved · {member}"),
                        )),
                    )),
                    Applied::HandedOff => Some((
                        CardAudience::Everyone,
                        CardChange::ReplaceButtons(say(
                            lang,
                            format!("↪ {member} 已转出"),
                            format!("↪ Handed off by {member}"),
                        )),
                    )),
                    Applied::HeldByOther(c) => {
                        let holder = c.holder.clone().unwrap_or_default();
                        Some((
                            CardAudience::Users(vec![member.to_owned()]),
                            CardChange::ReplaceButtons(say(
                                lang,
                                format!("{holder} 处理中"),
                                format!("Held by {holder}"),
                            )),
                        ))
                    }
                    Applied::Missing => None,
                };
                // A click that did nothing is explained to the member in the app, as a text command is.
                let told =
                    matches!(applied.outcome, Applied::HeldByOther(_) | Applied::Missing).then_some(applied.told);
                (applied.note, change, told)
            }
            _ => return Ok(Handled::Ignored),
        };
        self.audit_chat(click.app, &note).await?;
        let mut note = note;
        if let Some((audience, change)) = change {
            if let Err(err) = self.update_card(&click, audience, change).await {
                tracing::warn!(app = %click.app, task_id = click.task_id, code = err.code(), error = %err, "card not updated");
                let why = format!("card {} not updated: {}: {err}", click.task_id, err.code());
                let mut audit = AuditEntry::new(AuditKind::Callback, AuditOutcome::Failed, self.clock.now(), &why);
                audit.app_id = Some(click.app.to_string());
                self.audit_log.append_audit(audit).await?;
                note = format!("{note}; {why}");
            }
        }
        match told {
            Some(text) => self.told(click.app, click.member, &text, &note).await,
            None => Ok(Handled::Done(note)),
        }
    }

    /// `update_template_card` with the click's response_code, unless it is past its 72 hours.
    async fn update_card(
        &self,
        click: &Click<'_>,
        audience: CardAudience,
        change: CardChange,
    ) -> Result<(), CardUpdateError> {
        if click.response_code.is_empty() {
            return Err(CardUpdateError::NoCode);
        }
        if !response_code_usable(click.at, self.clock.now()) {
            return Err(CardUpdateError::Expired);
        }
        let registry = self.registry();
        let Some(cfg) = registry.wecom_apps.get(click.app) else {
            return Ok(());
        };
        let update = CardUpdate {
            agentid: cfg.agent_id,
            response_code: click.response_code.to_owned(),
            audience,
            change,
        };
        self.wecom.update_template_card(&app_credentials(cfg), &update).await
    }

    /// A buyer-message card once `member` holds the conversation: who has it, and the buttons left.
    pub(super) fn claimed_card(&self, c: &Conversation, task_id: &str, member: &str) -> TemplateCard {
        let lang = self.settings.language;
        let url = conversation_url(&self.settings.public_url, c.id);
        TemplateCard {
            card_type: CardType::ButtonInteraction,
            source: None,
            main_title: Some(MainTitle {
                title: Some(say(
                    lang,
                    format!("买家消息 #{}", c.id),
                    format!("Buyer message #{}", c.id),
                )),
                desc: Some(say(
                    lang,
                    format!("{member} 已认领：给本应用发消息即可回复买家"),
                    format!("Claimed by {member}: write to this app to answer the buyer"),
                )),
            }),
            emphasis_content: None,
            quote_area: None,
            sub_title_text: None,
            horizontal_content_list: vec![
                HorizontalContent::text(say(lang, "买家".into(), "Buyer".into()), &c.buyer_name),
                HorizontalContent::text(say(lang, "处理人".into(), "Held by".into()), member),
            ],
            jump_list: vec![Jump {
                kind: Some(1),
                title: say(lang, "查看会话".into(), "Open the conversation".into()),
                url: Some(url.clone()),
            }],
            card_action: CardAction::url(url),
            task_id: Some(task_id.to_owned()),
            button_list: conversation_buttons(lang, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_id_names_what_the_card_is_about_and_stays_within_wecom_rules() {
        let card = CardRef {
            conversation: Some(12),
            task: Some(5),
        };
        let id = card.task_id("event:rule:u:zhangsan");
        assert!(id.starts_with("sr-c12-t5-h"), "{id}");
        assert!(id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_eq!(CardRef::parse(&id), Some(card));
        assert_ne!(id, card.task_id("event:rule:u:lisi"), "one per card");
        let only_task = CardRef {
            conversation: None,
            task: Some(7),
        };
        assert_eq!(CardRef::parse(&only_task.task_id("x")), Some(only_task));
        assert_eq!(CardRef::parse("someone-elses-card"), None);
        assert_eq!(CardRef::parse("sr-cx-1"), None);
        assert_eq!(CardRef::parse("sr-0123"), None);
    }
}
