//! Shops' data policies: the sensitive fields each keeps, with the commitment acceptance that allows them.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use shoprelay_clock::UnixMs;
use shoprelay_core::event::Platform;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::policy::{Acceptance, FieldPolicy, SensitiveField};

use super::{shop_to_sql, with_pool, with_read_pool, BeginWrite, SqlStore};
use crate::error::StoreError;
use crate::model::{AuditEntry, AuditKind, AuditOutcome};
use crate::store::{DataPolicies, Result};

/// Shops looked up per statement in a batched read.
const KEYS_PER_READ: usize = 300;

type Row = (String, Option<String>, Option<i64>, Option<String>);

/// The stored row as a policy; a row that does not parse is corruption, never a silent default.
fn parse(row: Row) -> Result<FieldPolicy> {
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "data_policies",
        reason,
    };
    let (fields, by, at, version) = row;
    let fields = fields
        .split(',')
        .filter(|f| !f.is_empty())
        .map(SensitiveField::parse)
        .collect::<std::result::Result<BTreeSet<_>, _>>()
        .map_err(|e| corrupt(e.to_string()))?;
    let accepted = match (by, at, version) {
        (Some(by), Some(at), Some(version)) => Some(Acceptance {
            by,
            at: UnixMs::from_millis(at),
            version,
        }),
        _ => None,
    };
    if !fields.is_empty() && accepted.is_none() {
        return Err(corrupt("sensitive fields without a commitment acceptance".into()));
    }
    Ok(FieldPolicy { fields, accepted })
}

/// `phone,address`: the stored form of a field set.
fn fields_text(policy: &FieldPolicy) -> String {
    policy.fields.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(",")
}

#[async_trait]
impl DataPolicies for SqlStore {
    async fn data_policy(&self, app: &ConfigId, shop: ShopId) -> Result<FieldPolicy> {
        let row: Option<Row> = with_read_pool!(self, pool => {
            sqlx::query_as(
                "SELECT fields, accepted_by, accepted_at, commitment_version FROM data_policies
                 WHERE app_id = $1 AND shop_id = $2",
            )
            .bind(app.as_str())
            .bind(shop_to_sql(shop))
            .fetch_optional(pool)
            .await?
        });
        row.map_or_else(|| Ok(FieldPolicy::minimal()), parse)
    }

    async fn data_policies(&self, shops: &[(ConfigId, ShopId)]) -> Result<Vec<FieldPolicy>> {
        let mut found: HashMap<(String, i64), FieldPolicy> = HashMap::with_capacity(shops.len());
        for chunk in shops.chunks(KEYS_PER_READ) {
            let rows: Vec<(String, i64, String, Option<String>, Option<i64>, Option<String>)> = with_read_pool!(self, pool => {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT app_id, shop_id, fields, accepted_by, accepted_at, commitment_version FROM data_policies WHERE ",
                );
                for (i, (app, shop)) in chunk.iter().enumerate() {
                    q.push(if i == 0 { "(app_id = " } else { " OR (app_id = " });
                    q.push_bind(app.as_str()).push(" AND shop_id = ").push_bind(shop_to_sql(*shop)).push(")");
                }
                q.build_query_as().fetch_all(pool).await?
            });
            for (app, shop, fields, by, at, version) in rows {
                found.insert((app, shop), parse((fields, by, at, version))?);
            }
        }
        Ok(shops
            .iter()
            .map(|(app, shop)| {
                found
                    .get(&(app.as_str().to_owned(), shop_to_sql(*shop)))
                    .cloned()
                    .unwrap_or_else(FieldPolicy::minimal)
            })
            .collect())
    }

    async fn set_data_policy(
        &self,
        app: &ConfigId,
        platform: Option<Platform>,
        shop: ShopId,
        policy: &FieldPolicy,
        now: UnixMs,
    ) -> Result<()> {
        // The statements bind the columns' unit, unix milliseconds.
        let now = now.as_millis();
        let fields = fields_text(policy);
        let accepted = policy.accepted.as_ref();
        let detail = match accepted {
            Some(a) if !policy.fields.is_empty() => format!(
                "data policy: fields [{fields}]; commitment {} accepted by {}",
                a.version, a.by
            ),
            _ => "data policy: minimal (no sensitive field)".to_owned(),
        };
        let mut audit = AuditEntry::new(
            AuditKind::Privacy,
            AuditOutcome::DataPolicySet,
            UnixMs::from_millis(now),
            detail,
        );
        audit.app_id = Some(app.to_string());
        audit.platform = platform;
        audit.shop_id = Some(shop_to_sql(shop));
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO data_policies (app_id, shop_id, fields, accepted_by, accepted_at, commitment_version, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (app_id, shop_id) DO UPDATE SET fields = excluded.fields,
                     accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at,
                     commitment_version = excluded.commitment_version, updated_at = excluded.updated_at",
            )
            .bind(app.as_str())
            .bind(shop_to_sql(shop))
            .bind(&fields)
            .bind(accepted.map(|a| a.by.as_str()))
            .bind(accepted.map(|a| a.at.as_millis()))
            .bind(accepted.map(|a| a.version.as_str()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            super::insert_audit!(&mut *tx, &audit);
            tx.commit().await?;
        });
        Ok(())
    }
}
