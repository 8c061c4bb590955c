//! Conversations with buyers and their messages. The buyer's name and every text are sealed; a claim is
//! one conditional update, so two members clicking 认领 at once cannot both hold a conversation.

use async_trait::async_trait;
use shoprelay_clock::UnixMs;

use super::{shop_to_sql, with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::conversation::{
    conversation_from_row, message_from_row, Author, Claim, Conversation, ConversationFilter, ConversationMessage,
    ConversationRow, FiledMessage, MessageOutcome, MessageRow, NewBuyerMessage, NewReply,
};
use crate::store::{Conversations, Result};
use shoprelay_core::ids::ShopId;

const CONVERSATION: &str = "id, app_id, shop_id, thread, buyer_id, buyer_name, state, holder, holder_app, \
     last_buyer_at, last_reply_at, created_at, updated_at";
const MESSAGE: &str = "id, conversation_id, author, sender, text, at, outcome, note, rule, platform_message_id";

impl SqlStore {
    fn conversation_row(&self, row: ConversationRow) -> Result<Conversation> {
        conversation_from_row(row, |v| self.open_pii(v))
    }
}

#[async_trait]
impl Conversations for SqlStore {
    async fn file_buyer_message(&self, m: &NewBuyerMessage, now: UnixMs) -> Result<FiledMessage> {
        let shop = shop_to_sql(m.shop_id);
        let name = self.seal_pii(&m.buyer_name);
        let text = self.seal_pii(&m.text);
        let hash = self.hash_buyer(m.shop_id, &m.buyer_name);
        // A marketplace's conversation id can name the buyer: only its keyed hash is kept.
        let thread = self.lookup.hash("thread", &format!("{}:{}", m.shop_id, m.thread));
        let select =
            format!("SELECT {CONVERSATION} FROM conversations WHERE app_id = $1 AND shop_id = $2 AND thread = $3");
        let (row, new) = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO conversations (app_id, shop_id, thread, buyer_id, buyer_name, buyer_hash, state,
                     last_buyer_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $8)
                 ON CONFLICT (app_id, shop_id, thread) DO NOTHING",
            )
            .bind(m.app_id.as_str())
            .bind(shop)
            .bind(&thread)
            .bind(&m.buyer_id)
            .bind(&name)
            .bind(&hash)
            .bind(m.at.as_millis())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
            let (id,): (i64,) = sqlx::query_as("SELECT id FROM conversations WHERE app_id = $1 AND shop_id = $2 AND thread = $3")
                .bind(m.app_id.as_str())
                .bind(shop)
                .bind(&thread)
                .fetch_one(&mut *tx)
                .await?;
            let new = sqlx::query(
                "INSERT INTO conversation_messages (conversation_id, dedupe_key, author, text, at, outcome)
                 VALUES ($1, $2, 'buyer', $3, $4, 'received')
                 ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(id)
            .bind(&m.dedupe_key)
            .bind(&text)
            .bind(m.at.as_millis())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if new {
                // A resolved conversation the buyer writes to again is back with its holder, if any.
                sqlx::query(
                    "UPDATE conversations SET
                         last_buyer_at = CASE WHEN last_buyer_at < $1 THEN $1 ELSE last_buyer_at END,
                         state = CASE WHEN state <> 'resolved' THEN state WHEN holder IS NULL THEN 'open' ELSE 'claimed' END,
                         updated_at = $2
                     WHERE id = $3",
                )
                .bind(m.at.as_millis())
                .bind(now.as_millis())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            let row: ConversationRow = sqlx::query_as(&select)
                .bind(m.app_id.as_str())
                .bind(shop)
                .bind(&thread)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            (row, new)
        });
        Ok(FiledMessage {
            conversation: self.conversation_row(row)?,
            new,
        })
    }

    async fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        let sql = format!("SELECT {CONVERSATION} FROM conversations WHERE id = $1");
        let row: Option<ConversationRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(|r| self.conversation_row(r)).transpose()
    }

    async fn list_conversations(&self, f: &ConversationFilter) -> Result<Vec<Conversation>> {
        let rows: Vec<ConversationRow> = with_read_pool!(self, pool => {
            let mut q = sqlx::QueryBuilder::new(format!("SELECT {CONVERSATION} FROM conversations WHERE 1 = 1"));
            if let Some(shop) = f.shop_id {
                q.push(" AND shop_id = ").push_bind(shop_to_sql(shop));
            }
            if let Some(holder) = &f.holder {
                q.push(" AND holder = ").push_bind(holder.clone());
            }
            if let Some(state) = f.state {
                q.push(" AND state = ").push_bind(state.as_str());
            }
            if let Some(buyer) = &f.buyer_id {
                q.push(" AND buyer_id = ").push_bind(buyer.clone());
            }
            if let Some(since) = f.since {
                q.push(" AND last_buyer_at >= ").push_bind(since.as_millis());
            }
            q.push(" ORDER BY last_buyer_at DESC, id DESC LIMIT ").push_bind(f.limit.clamp(1, 1_000));
            q.build_query_as::<ConversationRow>().fetch_all(pool).await?
        });
        rows.into_iter().map(|r| self.conversation_row(r)).collect()
    }

    async fn claim_conversation(&self, id: i64, member: &str, app: &str, now: UnixMs) -> Result<Claim> {
        let claimed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE conversations SET holder = $1, holder_app = $2, state = 'claimed', updated_at = $3
                 WHERE id = $4 AND (state <> 'claimed' OR holder IS NULL OR holder = $1)",
            )
            .bind(member)
            .bind(app)
            .bind(now.as_millis())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        });
        Ok(match (self.conversation(id).await?, claimed) {
            (None, _) => Claim::Missing,
            (Some(c), true) => Claim::Held(c),
            (Some(c), false) => Claim::HeldByOther(c),
        })
    }

    async fn release_conversation(&self, id: i64, resolved: bool, now: UnixMs) -> Result<Option<Conversation>> {
        let sql = if resolved {
            "UPDATE conversations SET state = 'resolved', updated_at = $1 WHERE id = $2"
        } else {
            "UPDATE conversations SET state = 'open', holder = NULL, holder_app = NULL, updated_at = $1 WHERE id = $2"
        };
        with_pool!(self, pool => {
            sqlx::query(sql).bind(now.as_millis()).bind(id).execute(pool).await?;
        });
        self.conversation(id).await
    }

    async fn add_reply(&self, r: &NewReply) -> Result<Option<i64>> {
        let text = self.seal_pii(&r.text);
        let id: Option<(i64,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO conversation_messages (conversation_id, dedupe_key, author, sender, text, at, outcome, rule)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (dedupe_key) DO NOTHING
                 RETURNING id",
            )
            .bind(r.conversation_id)
            .bind(&r.dedupe_key)
            .bind(r.author.as_str())
            .bind(&r.sender)
            .bind(&text)
            .bind(r.at.as_millis())
            .bind(MessageOutcome::Sending.as_str())
            .bind(&r.rule)
            .fetch_optional(pool)
            .await?
        });
        Ok(id.map(|(id,)| id))
    }

    async fn finish_reply(
        &self,
        id: i64,
        outcome: MessageOutcome,
        note: Option<&str>,
        platform_message_id: Option<&str>,
        now: UnixMs,
    ) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE conversation_messages SET outcome = $1, note = $2, platform_message_id = $3 WHERE id = $4")
                .bind(outcome.as_str())
                .bind(note)
                .bind(platform_message_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if outcome == MessageOutcome::Sent {
                // Only a person's answer counts toward the marketplace's response rate.
                sqlx::query(
                    "UPDATE conversations SET last_reply_at = $1, updated_at = $1
                     WHERE id = (SELECT conversation_id FROM conversation_messages WHERE id = $2 AND author = $3)",
                )
                .bind(now.as_millis())
                .bind(id)
                .bind(Author::Staff.as_str())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn reply_by_key(&self, dedupe_key: &str) -> Result<Option<ConversationMessage>> {
        let sql = format!("SELECT {MESSAGE} FROM conversation_messages WHERE dedupe_key = $1");
        let row: Option<MessageRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(dedupe_key).fetch_optional(pool).await?
        });
        row.map(|r| message_from_row(r, |v| self.open_pii(v))).transpose()
    }

    async fn conversation_messages(&self, id: i64, limit: i64) -> Result<Vec<ConversationMessage>> {
        let sql = format!(
            "SELECT {MESSAGE} FROM (SELECT {MESSAGE} FROM conversation_messages WHERE conversation_id = $1
             ORDER BY id DESC LIMIT $2) latest ORDER BY id"
        );
        let rows: Vec<MessageRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).bind(limit.clamp(1, 10_000)).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| message_from_row(r, |v| self.open_pii(v)))
            .collect()
    }

    async fn buyer_latest_order(&self, app: &str, shop: ShopId, buyer_name: &str) -> Result<Option<(String, String)>> {
        // Order events carry the keyed hash of their buyer's name: the buyer's orders are found without
        // storing who the buyer is. The order first seen last is the latest one.
        let hash = self.hash_buyer(shop, buyer_name);
        let row: Option<(String, String)> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.order_sn, s.status FROM events e
                 JOIN order_state s ON s.app_id = e.app_id AND s.shop_id = e.shop_id AND s.order_sn = e.order_sn
                 WHERE e.buyer_hash = $1 AND e.app_id = $2 AND e.shop_id = $3 AND e.order_sn IS NOT NULL
                 GROUP BY e.order_sn, s.status
                 ORDER BY MIN(e.id) DESC
                 LIMIT 1",
            )
            .bind(&hash)
            .bind(app)
            .bind(shop_to_sql(shop))
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    async fn unanswered_conversations(
        &self,
        from: UnixMs,
        to: UnixMs,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Conversation>> {
        let sql = format!(
            "SELECT {CONVERSATION} FROM conversations
             WHERE last_buyer_at >= $1 AND last_buyer_at < $2 AND state <> 'resolved'
               AND (last_reply_at IS NULL OR last_reply_at < last_buyer_at)
             ORDER BY last_buyer_at, id LIMIT $3 OFFSET $4"
        );
        let rows: Vec<ConversationRow> = with_read_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(from.as_millis())
                .bind(to.as_millis())
                .bind(limit.clamp(1, 10_000))
                .bind(offset.max(0))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(|r| self.conversation_row(r)).collect()
    }
}
