//! The conversation archive searched: SQL narrows by what it can compare, the text is opened and matched
//! here (it is sealed at rest), a bounded number of messages per call, oldest first.

use async_trait::async_trait;
use shoprelay_clock::UnixMs;

use super::{shop_to_sql, with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::archive::{ArchivePage, ArchiveQuery, ArchivedMessage, BuyerOrder, ShopChat, MAX_SCAN};
use crate::conversation::message_from_row;
use crate::store::{ConversationArchive, Result};
use shoprelay_core::ids::ShopId;

/// A message row followed by its conversation's app, shop, buyer id, sealed buyer name and holder.
type ArchiveRow = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
    String,
    Option<String>,
);

#[async_trait]
impl ConversationArchive for SqlStore {
    async fn search_archive(&self, q: &ArchiveQuery) -> Result<ArchivePage> {
        let scan = q.scan.clamp(1, MAX_SCAN);
        let limit = q.limit.clamp(1, MAX_SCAN);
        let rows: Vec<ArchiveRow> = with_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT m.id, m.conversation_id, m.author, m.sender, m.text, m.at, m.outcome, m.note, m.rule,
                        m.platform_message_id, c.app_id, c.shop_id, c.buyer_id, c.buyer_name, c.holder
                 FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.id > ",
            );
            b.push_bind(q.after_id.unwrap_or(0));
            if let Some(shop) = q.shop_id {
                b.push(" AND c.shop_id = ").push_bind(shop_to_sql(shop));
            }
            if let Some(buyer) = &q.buyer_id {
                b.push(" AND c.buyer_id = ").push_bind(buyer.clone());
            }
            if let Some(member) = &q.member {
                b.push(" AND (m.sender = ").push_bind(member.clone());
                b.push(" OR c.holder = ").push_bind(member.clone()).push(")");
            }
            if let Some(order) = &q.order_sn {
                // Order events carry their buyer's keyed hash, as conversations do: the order's buyer is
                // found without either side naming them.
                b.push(
                    " AND c.buyer_hash IN (SELECT e.buyer_hash FROM events e
                       WHERE e.app_id = c.app_id AND e.shop_id = c.shop_id AND e.buyer_hash IS NOT NULL
                         AND e.order_sn = ",
                )
                .push_bind(order.clone())
                .push(")");
            }
            if let Some(from) = q.from {
                b.push(" AND m.at >= ").push_bind(from.as_millis());
            }
            if let Some(to) = q.to {
                b.push(" AND m.at < ").push_bind(to.as_millis());
            }
            b.push(" ORDER BY m.id LIMIT ").push_bind(scan);
            b.build_query_as::<ArchiveRow>().fetch_all(pool).await?
        });
        let needle = q.text.as_deref().map(str::to_lowercase).filter(|t| !t.is_empty());
        let full = rows.len() as i64 == scan;
        let mut messages = Vec::new();
        let mut scanned = 0;
        let mut last_seen = None;
        for row in rows {
            let (id, conversation, author, sender, text, at, outcome, note, rule, pmid, app, shop, buyer, name, holder) =
                row;
            scanned += 1;
            last_seen = Some(id);
            let message = message_from_row(
                (id, conversation, author, sender, text, at, outcome, note, rule, pmid),
                |v| self.open_pii(v),
            )?;
            if needle
                .as_ref()
                .is_some_and(|n| !message.text.to_lowercase().contains(n))
            {
                continue;
            }
            messages.push(ArchivedMessage {
                message,
                app_id: app,
                shop_id: shop,
                buyer_id: buyer,
                buyer_name: self.open_pii(name)?,
                holder,
            });
            if messages.len() as i64 == limit {
                break;
            }
        }
        // More may follow when the page filled up or the scan budget ran out before the end.
        let next_after_id = if messages.len() as i64 == limit || full {
            last_seen
        } else {
            None
        };
        Ok(ArchivePage {
            messages,
            next_after_id,
            scanned,
        })
    }

    async fn buyer_recent_orders(
        &self,
        app: &str,
        shop: ShopId,
        buyer_name: &str,
        limit: i64,
    ) -> Result<Vec<BuyerOrder>> {
        // As `buyer_latest_order`: by the keyed hash the order events carry, the order first seen last first.
        let hash = self.hash_buyer(shop, buyer_name);
        let rows: Vec<(String, String, i64)> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.order_sn, s.status, s.status_time FROM events e
                 JOIN order_state s ON s.app_id = e.app_id AND s.shop_id = e.shop_id AND s.order_sn = e.order_sn
                 WHERE e.buyer_hash = $1 AND e.app_id = $2 AND e.shop_id = $3 AND e.order_sn IS NOT NULL
                 GROUP BY e.order_sn, s.status, s.status_time
                 ORDER BY MIN(e.id) DESC
                 LIMIT $4",
            )
            .bind(&hash)
            .bind(app)
            .bind(shop_to_sql(shop))
            .bind(limit.clamp(1, 50))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(order_sn, status, status_time)| BuyerOrder {
                order_sn,
                status,
                status_time: UnixMs::from_secs(status_time),
            })
            .collect())
    }

    async fn record_shop_chat(
        &self,
        app: &str,
        shop: ShopId,
        refusal: Option<(&str, &str)>,
        now: UnixMs,
    ) -> Result<bool> {
        let shop = shop_to_sql(shop);
        let (code, reason) = refusal.unzip();
        let notify = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO shop_chat (app_id, shop_id, refused_code, reason, notified_at, updated_at)
                 VALUES ($1, $2, $3, $4, NULL, $5)
                 ON CONFLICT (app_id, shop_id) DO UPDATE SET refused_code = $3, reason = $4, updated_at = $5,
                     notified_at = CASE WHEN $3 IS NULL THEN NULL ELSE shop_chat.notified_at END",
            )
            .bind(app)
            .bind(shop)
            .bind(code)
            .bind(reason)
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
            // Marked in the same transaction, so two replicas meeting the refusal at once tell the admins once.
            let notify = code.is_some()
                && sqlx::query(
                    "UPDATE shop_chat SET notified_at = $1 WHERE app_id = $2 AND shop_id = $3 AND notified_at IS NULL",
                )
                .bind(now.as_millis())
                .bind(app)
                .bind(shop)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
            tx.commit().await?;
            notify
        });
        Ok(notify)
    }

    async fn shop_chats(&self) -> Result<Vec<ShopChat>> {
        let rows: Vec<(String, i64, Option<String>, Option<String>, Option<i64>, i64)> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT app_id, shop_id, refused_code, reason, notified_at, updated_at FROM shop_chat
                 ORDER BY app_id, shop_id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(app_id, shop_id, refused_code, reason, notified_at, updated_at)| ShopChat {
                    app_id,
                    shop_id,
                    refused_code,
                    reason,
                    notified_at: notified_at.map(UnixMs::from_millis),
                    updated_at: UnixMs::from_millis(updated_at),
                },
            )
            .collect())
    }
}
