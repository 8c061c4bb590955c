//! The service's status as `/api/v1/status` shows it: which database, how much work waits, and each
//! shop's authorization (never its tokens).

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_marketplaces::adapter::Unsupported;
use shoprelay_marketplaces::platform::display_name;
use shoprelay_store::{ConversationArchive, Outbox, QueueDepths, ShopAuthRepo, ShopAuthStatus, ShopChat};

use crate::stage::ingest::Ingest;
use crate::stage::ConfigView;
use crate::{Engine, EngineError};

/// One shop's authorization state, without its tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShopStatus {
    /// The marketplace app.
    pub app_id: String,
    /// The shop.
    pub shop_id: u64,
    /// Active, or what the seller must do.
    pub status: ShopAuthStatus,
    /// Why it is not active.
    pub status_reason: Option<String>,
    /// When the access token expires (unix seconds in the JSON, as before instants were typed).
    #[serde(with = "shoprelay_clock::unix_secs")]
    #[schema(value_type = i64)]
    pub access_expires_at: UnixMs,
    /// Whether members can answer the shop's buyers from WeCom.
    pub chat: ChatCapability,
}

/// Whether a shop can send buyer chat, as far as shoprelay knows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatCapability {
    /// Whether it can.
    pub state: ChatState,
    /// Why not, and what the seller can do.
    pub reason: Option<String>,
}

/// Whether a shop can send buyer chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatState {
    /// The marketplace refused (see `reason`).
    Refused,
    /// The shop's region cannot send through the API.
    UnsupportedRegion,
    /// The last send was accepted.
    Ok,
    /// Nothing sent yet.
    Untried,
}

/// The service's status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Waiting work.
    pub queues: QueueDepths,
    /// Every stored authorization.
    pub shops: Vec<ShopStatus>,
    /// The WeCom AI-bot long connections this replica runs, by WeCom app id.
    #[schema(value_type = Object)]
    pub long_connections: crate::stage::ingest::longconn::Links,
}

/// Reports the service's status.
pub struct StatusService<'a> {
    /// `sqlite` or `postgres`.
    backend: &'static str,
    /// Every shop's authorization.
    shops: &'a dyn ShopAuthRepo,
    /// Every shop's recorded chat capability.
    archive: &'a dyn ConversationArchive,
    /// Queue depths.
    deliveries: &'a dyn Outbox,
    config: &'a ConfigView,
    /// The long connections' states.
    ingest: &'a Ingest,
}

impl<'a> StatusService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            backend: engine.store.backend(),
            shops: &*engine.store,
            archive: &*engine.store,
            deliveries: &*engine.store,
            config: &engine.config,
            ingest: &engine.ingest,
        }
    }

    /// Queue depths and every shop's authorization state.
    pub async fn report(&self) -> Result<Status, EngineError> {
        let chats = self.archive.shop_chats().await?;
        let registry = self.config.current();
        let shops = self
            .shops
            .list_shop_auth()
            .await?
            .into_iter()
            .map(|a| {
                let region = registry.shop(&a.app_id, a.shop_id).and_then(|s| s.region.clone());
                let unsupported = registry
                    .marketplaces
                    .get(&a.app_id)
                    .and_then(|app| app.chat_unsupported(region.as_deref()));
                let recorded = chats
                    .iter()
                    .find(|c| c.app_id == a.app_id.as_str() && u64::try_from(c.shop_id).ok() == Some(a.shop_id.get()));
                ShopStatus {
                    app_id: a.app_id.to_string(),
                    shop_id: a.shop_id.get(),
                    status: a.status,
                    status_reason: a.status_reason,
                    access_expires_at: a.access_expires_at,
                    chat: capability(unsupported.as_ref(), recorded),
                }
            })
            .collect();
        Ok(Status {
            backend: self.backend,
            queues: self.deliveries.queue_depths().await?,
            shops,
            long_connections: self.ingest.long_connections().borrow().clone(),
        })
    }
}

/// A shop's chat capability: a recorded refusal first, then what the platform says of its region.
fn capability(unsupported: Option<&Unsupported>, recorded: Option<&ShopChat>) -> ChatCapability {
    if let Some(reason) = recorded.and_then(|c| c.refused_code.as_ref().map(|_| c.reason.clone())) {
        return ChatCapability {
            state: ChatState::Refused,
            reason,
        };
    }
    if let Some(u) = unsupported {
        let name = display_name(u.platform);
        return ChatCapability {
            state: ChatState::UnsupportedRegion,
            reason: Some(format!("{name}：{} · {name} cannot {}", u.what_zh, u.what)),
        };
    }
    ChatCapability {
        state: if recorded.is_some() {
            ChatState::Ok
        } else {
            ChatState::Untried
        },
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_clock::UnixMs;

    fn chat(refused: bool) -> ShopChat {
        ShopChat {
            app_id: "shop-app".into(),
            shop_id: 1,
            refused_code: refused.then(|| "marketplace.unsupported".into()),
            reason: refused.then(|| "not whitelisted".into()),
            notified_at: None,
            updated_at: UnixMs::from_millis(1),
        }
    }

    #[test]
    fn chat_states_keep_their_wire_words() {
        let words: Vec<String> = [
            ChatState::Refused,
            ChatState::UnsupportedRegion,
            ChatState::Ok,
            ChatState::Untried,
        ]
        .iter()
        .map(|s| serde_json::to_value(s).unwrap().as_str().unwrap().to_owned())
        .collect();
        assert_eq!(words, ["refused", "unsupported_region", "ok", "untried"]);
    }

    #[test]
    fn a_refusal_comes_first_then_the_region_then_what_was_seen() {
        let platform = shoprelay_marketplaces::platform::all().next().unwrap();
        let region = Unsupported {
            platform,
            what: "send chat messages in the XX region",
            what_zh: "XX 站点不支持通过接口发送聊天消息",
        };
        let refused = capability(None, Some(&chat(true)));
        assert_eq!(
            (refused.state, refused.reason.as_deref()),
            (ChatState::Refused, Some("not whitelisted"))
        );
        let unsupported = capability(Some(&region), None);
        assert_eq!(unsupported.state, ChatState::UnsupportedRegion);
        let name = display_name(platform);
        assert_eq!(
            unsupported.reason,
            Some(format!(
                "{name}：XX 站点不支持通过接口发送聊天消息 · {name} cannot send chat messages in the XX region"
            ))
        );
        assert_eq!(capability(Some(&region), Some(&chat(true))).state, ChatState::Refused);
        assert_eq!(capability(None, Some(&chat(false))).state, ChatState::Ok);
        assert_eq!(capability(None, None).state, ChatState::Untried);
    }
}
