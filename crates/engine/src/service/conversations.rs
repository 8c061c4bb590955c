//! Buyer conversations as the console and the API see them: listed, read with their messages, and
//! claimed, resolved or handed off by a console user acting as a WeCom member (through the chat part,
//! [`crate::chat`], so a console action does what the same command from WeCom does).

use shoprelay_core::error::Lang;
use shoprelay_core::ids::{ConfigId, WeComUserId};
use shoprelay_store::{ConsoleUser, Conversation, ConversationFilter, ConversationMessage};

use super::console::ConsoleError;
use crate::chat::{Action, Chat, ConsoleActed};
use crate::{Engine, EngineError};

/// Conversations read and acted on.
pub struct ConversationService<'a> {
    chat: &'a Chat,
}

impl<'a> ConversationService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self { chat: &engine.chat }
    }

    /// Conversations by filter, newest buyer message first.
    pub async fn list(&self, filter: &ConversationFilter) -> Result<Vec<Conversation>, EngineError> {
        self.chat.conversations(filter).await
    }

    /// A conversation and its latest `limit` messages.
    pub async fn thread(
        &self,
        id: i64,
        limit: i64,
    ) -> Result<Option<(Conversation, Vec<ConversationMessage>)>, EngineError> {
        self.chat.conversation_thread(id, limit).await
    }

    /// The WeCom member a console user acts as (see [`Chat::console_member`]).
    pub async fn console_member(&self, username: &str) -> Result<Option<(ConfigId, WeComUserId)>, EngineError> {
        self.chat.console_member(username).await
    }

    /// A claim, resolve or hand-off from the console (see [`Chat::act_from_console`]).
    pub async fn act(
        &self,
        actor: &ConsoleUser,
        app: &ConfigId,
        member: &WeComUserId,
        action: Action,
        id: i64,
        lang: Lang,
    ) -> Result<ConsoleActed, ConsoleError> {
        self.chat.act_from_console(actor, app, member, action, id, lang).await
    }
}
