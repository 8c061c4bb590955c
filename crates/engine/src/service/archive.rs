//! The conversation archive searched and exported, a bounded page at a time (text is sealed at rest and
//! matched after opening: see `shoprelay_store::archive`).

use shoprelay_core::ids::ShopId;
use shoprelay_store::{ArchivePage, ArchiveQuery, BuyerOrder, Conversation, ConversationArchive};

use crate::conversation_export::{self, ExportFormat};
use crate::{Engine, EngineError};

/// Messages opened and matched per page of an export.
pub const EXPORT_PAGE: i64 = 2_000;

/// Searches and exports the archive.
pub struct ArchiveService<'a> {
    archive: &'a dyn ConversationArchive,
}

impl<'a> ArchiveService<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            archive: &*engine.store,
        }
    }

    /// One page of matching messages, oldest first, with the cursor to go on from.
    pub async fn search(&self, query: &ArchiveQuery) -> Result<ArchivePage, EngineError> {
        Ok(self.archive.search_archive(query).await?)
    }

    /// The buyer's latest `limit` orders in the conversation's shop, newest first, with their last known
    /// status (from the stored order events; nothing is asked of the marketplace).
    pub async fn buyer_orders(&self, conversation: &Conversation, limit: i64) -> Result<Vec<BuyerOrder>, EngineError> {
        let Some(shop) = u64::try_from(conversation.shop_id)
            .ok()
            .and_then(|s| ShopId::new(s).ok())
        else {
            return Ok(Vec::new());
        };
        Ok(self
            .archive
            .buyer_recent_orders(&conversation.app_id, shop, &conversation.buyer_name, limit)
            .await?)
    }

    /// The next chunk of an export, or `None` when it is complete.
    pub async fn export_chunk(&self, export: &mut Export) -> Result<Option<Vec<u8>>, EngineError> {
        export.next_chunk(self.archive).await
    }
}

/// Where an export stands: the query (its cursor moves on), and how much was written.
#[derive(Debug, Clone)]
pub struct Export {
    query: ArchiveQuery,
    format: ExportFormat,
    started: bool,
    done: bool,
    /// Messages written so far.
    pub written: u64,
    /// Messages looked at so far.
    pub scanned: u64,
}

impl Export {
    /// An export of every message matching `query` (its limit and scan are set per page).
    pub fn new(mut query: ArchiveQuery, format: ExportFormat) -> Self {
        query.limit = EXPORT_PAGE;
        query.scan = EXPORT_PAGE;
        Self {
            query,
            format,
            started: false,
            done: false,
            written: 0,
            scanned: 0,
        }
    }

    /// The next chunk (one page of messages, written), or `None` when the export is complete. Takes the
    /// store itself so the CLI exports while the server is down.
    pub async fn next_chunk<S: ConversationArchive + ?Sized>(
        &mut self,
        store: &S,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        if self.done {
            return Ok(None);
        }
        let page = store.search_archive(&self.query).await?;
        let mut out = Vec::new();
        conversation_export::write(self.format, &page.messages, !self.started, &mut out)
            .map_err(EngineError::Export)?;
        self.started = true;
        self.written += page.messages.len() as u64;
        self.scanned += page.scanned as u64;
        match page.next_after_id {
            Some(next) => self.query.after_id = Some(next),
            None => self.done = true,
        }
        Ok(Some(out))
    }

    /// Whether every matching message was written.
    pub fn is_done(&self) -> bool {
        self.done
    }
}
