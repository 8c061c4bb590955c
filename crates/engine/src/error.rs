//! Errors of the engine's stages.

use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::IdError;
use shoprelay_store::StoreError;

use crate::tokens::TokenError;

/// What can stop a stage.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A batch write failed; each request in it gets this (the cause is logged once).
    #[error("storage unavailable")]
    StoreUnavailable,
    /// The HTTP client could not be built (TLS roots, system configuration).
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// The service is shutting down and no longer accepts work.
    #[error("shutting down")]
    ShuttingDown,
    /// An export could not be written.
    #[error("cannot write the export")]
    Export(#[source] std::io::Error),
    /// The writer's thread could not be started (the system is out of threads or memory).
    #[error("cannot start the writer")]
    WriterThread(#[source] std::io::Error),
}

impl UserFacing for EngineError {
    fn code(&self) -> &'static str {
        match self {
            EngineError::Store(e) => e.code(),
            EngineError::StoreUnavailable => "store.unavailable",
            EngineError::HttpClient(_) => "server.http_client",
            EngineError::ShuttingDown => "server.shutting_down",
            EngineError::Export(_) => "server.export",
            EngineError::WriterThread(_) => "server.writer_thread",
        }
    }

    fn status(&self) -> u16 {
        503
    }

    fn message_zh(&self) -> String {
        match self {
            EngineError::Store(e) => e.message_zh(),
            EngineError::HttpClient(e) => format!("无法创建 HTTP 客户端：{e}"),
            EngineError::StoreUnavailable => "数据库暂时不可用，推送未保存：平台会自动重发，请检查数据库".into(),
            EngineError::ShuttingDown => "服务正在停止，请稍后重试（平台会自动重发推送）".into(),
            EngineError::Export(e) => format!("导出写入失败：{e}，请重试"),
            EngineError::WriterThread(e) => format!("无法启动写入线程：{e}。请检查系统的线程数和内存限制后重启服务"),
        }
    }

    fn message_en(&self) -> String {
        match self {
            EngineError::Store(e) => e.message_en(),
            EngineError::HttpClient(e) => format!("Cannot build the HTTP client: {e}"),
            EngineError::StoreUnavailable => "The database is unavailable and the push was not stored: the platform will resend it; check the database".into(),
            EngineError::ShuttingDown => "The service is shutting down; retry shortly (the platform resends pushes)".into(),
            EngineError::Export(e) => format!("Writing the export failed: {e}; retry"),
            EngineError::WriterThread(e) => format!(
                "Cannot start the writer's thread: {e}. Check the system's thread and memory limits, then restart"
            ),
        }
    }
}

/// Why a background pass over a marketplace (a shop's order list, an app's lost pushes, a parcel's
/// trail) failed for one shop or order. Logged or listed in the pass's report, never answered to a
/// client; the cause is kept so a log shows the whole chain.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    /// The marketplace refused or could not be reached.
    #[error(transparent)]
    Api(#[from] shoprelay_marketplaces::adapter::ApiError),
    /// No usable access token for the shop.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Storing what was found failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Reading what was stored failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored id no longer parses.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A stored shop id is out of range.
    #[error("shop id {0}")]
    ShopId(i64),
    /// A page of lost pushes came without the id that confirms it.
    #[error("a page of lost pushes without last_message_id cannot be confirmed")]
    UnconfirmablePage,
}
