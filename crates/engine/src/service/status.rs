//! The service's status as `/api/v1/status` shows it: which database, how much work waits, and each
//! shop's authorization (never its tokens).

use serde::Serialize;
use shoprelay_store::{QueueDepths, ShopAuthStatus};

use crate::{Engine, EngineError};

/// One shop's authorization state, without its tokens.
#[derive(Debug, Serialize)]
pub struct ShopStatus {
    /// The marketplace app.
    pub app_id: String,
    /// The shop.
    pub shop_id: u64,
    /// Active, or what the seller must do.
    pub status: ShopAuthStatus,
    /// Why it is not active.
    pub status_reason: Option<String>,
    /// When the access token expires (unix seconds).
    pub access_expires_at: i64,
}

/// The service's status.
#[derive(Debug, Serialize)]
pub struct Status {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Waiting work.
    pub queues: QueueDepths,
    /// Every stored authorization.
    pub shops: Vec<ShopStatus>,
    /// The WeCom AI-bot long connections this replica runs, by WeCom app id.
    pub long_connections: crate::longconn::Links,
}

/// Reports the service's status.
pub struct StatusService<'a> {
    engine: &'a Engine,
}

impl<'a> StatusService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self { engine }
    }

    /// Queue depths and every shop's authorization state.
    pub async fn report(&self) -> Result<Status, EngineError> {
        let store = &self.engine.store;
        let shops = store
            .list_shop_auth()
            .await?
            .into_iter()
            .map(|a| ShopStatus {
                app_id: a.app_id.to_string(),
                shop_id: a.shop_id.get(),
                status: a.status,
                status_reason: a.status_reason,
                access_expires_at: a.access_expires_at,
            })
            .collect();
        Ok(Status {
            backend: store.backend(),
            queues: store.queue_depths().await?,
            shops,
            long_connections: self.engine.links.borrow().clone(),
        })
    }
}
