//! Seller-status reports (latest per shop) and the response_codes of sent interactive cards.

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{ConfigId, ShopId};

use super::{shop_to_sql, with_pool, with_read_pool, SqlStore};
use crate::standing::*;
use crate::store::Result;

#[derive(sqlx::FromRow)]
struct StandingRow {
    status: String,
    reported_at: i64,
    received_at: i64,
}

/// A kept response_code as read, its issue time still the column's milliseconds.
#[derive(sqlx::FromRow)]
struct CardCodeRow {
    id: i64,
    app_id: String,
    task_id: String,
    response_code: String,
    issued_at: i64,
}

#[async_trait]
impl ShopStandings for SqlStore {
    async fn record_shop_standing(&self, s: &ShopStanding) -> Result<bool> {
        // Equal times replace too, so a corrected word sent with the same stamp is not lost.
        let done = with_pool!(self, pool => sqlx::query(
            "INSERT INTO shop_standing (app_id, shop_id, status, reported_at, received_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (app_id, shop_id) DO UPDATE SET status = excluded.status,
                 reported_at = excluded.reported_at, received_at = excluded.received_at
             WHERE shop_standing.reported_at <= excluded.reported_at",
        )
        .bind(s.app_id.as_str())
        .bind(shop_to_sql(s.shop_id))
        .bind(&s.status)
        .bind(s.reported_at.as_millis())
        .bind(s.received_at.as_millis())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done > 0)
    }

    async fn shop_standing(&self, app: &ConfigId, shop: ShopId) -> Result<Option<ShopStanding>> {
        let row: Option<StandingRow> = with_read_pool!(self, pool => sqlx::query_as(
            "SELECT status, reported_at, received_at FROM shop_standing WHERE app_id = $1 AND shop_id = $2",
        )
        .bind(app.as_str())
        .bind(shop_to_sql(shop))
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|r| ShopStanding {
            app_id: app.clone(),
            shop_id: shop,
            status: r.status,
            reported_at: UnixMs::from_millis(r.reported_at),
            received_at: UnixMs::from_millis(r.received_at),
        }))
    }
}

#[async_trait]
impl CardCodes for SqlStore {
    async fn record_card_code(&self, c: &NewCardCode, forget_before: UnixMs) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM card_codes WHERE issued_at < $1")
                .bind(forget_before.as_millis())
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO card_codes (delivery_id, app_id, task_id, conversation_id, task_ref, response_code, issued_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_id) DO NOTHING",
            )
            .bind(c.delivery_id)
            .bind(&c.app_id)
            .bind(&c.task_id)
            .bind(c.conversation_id)
            .bind(c.task_ref)
            .bind(&c.response_code)
            .bind(c.issued_at.as_millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn usable_card_codes(&self, subject: CardSubject, issued_since: UnixMs) -> Result<Vec<CardCode>> {
        let (column, id) = match subject {
            CardSubject::Conversation(id) => ("conversation_id", id),
            CardSubject::Task(id) => ("task_ref", id),
        };
        let sql = format!(
            "SELECT id, app_id, task_id, response_code, issued_at FROM card_codes
             WHERE {column} = $1 AND issued_at >= $2 AND spent_at IS NULL ORDER BY issued_at, id"
        );
        let rows: Vec<CardCodeRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(id)
            .bind(issued_since.as_millis())
            .fetch_all(pool)
            .await?);
        Ok(rows
            .into_iter()
            .map(|r| CardCode {
                id: r.id,
                app_id: r.app_id,
                task_id: r.task_id,
                response_code: r.response_code,
                issued_at: UnixMs::from_millis(r.issued_at),
            })
            .collect())
    }

    async fn spend_card_code(&self, id: i64, now: UnixMs) -> Result<bool> {
        let done = with_pool!(self, pool => sqlx::query(
            "UPDATE card_codes SET spent_at = $1 WHERE id = $2 AND spent_at IS NULL",
        )
        .bind(now.as_millis())
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done == 1)
    }
}
