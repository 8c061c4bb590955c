//! The reconciler: pushes that never arrived still become events. Some marketplaces keep the pushes they
//! failed to deliver until they are confirmed (Shopee, for three days), and every marketplace lists the
//! orders updated in a time range. Both go into the inbox like live pushes, so deduplication, ordering
//! and enrichment are the same — an order whose push was lost produces its event exactly once.

use std::time::Duration;

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_marketplaces::adapter::MarketplaceApp;
use shoprelay_store::{NewPush, ShopAuthStatus};
use tokio_util::sync::CancellationToken;

use super::Ingest;
use crate::error::{EngineError, SyncError};

/// How far back a shop's first reconciliation starts.
const FIRST_LOOKBACK: Duration = Duration::from_secs(3 * 24 * 3600);
/// Overlap with the previous pass, so an order updated while the last pass ran is not missed.
const OVERLAP: Duration = Duration::from_secs(300);
/// How far inside a listing's longest range a pass stays.
const RANGE_MARGIN: Duration = Duration::from_secs(60);
/// Most pages read per shop and pass (100 orders a page).
const MAX_PAGES: usize = 50;
/// Most lost-push pages read per app and pass (100 pushes a page); the rest waits for the next pass.
const MAX_LOST_PAGES: usize = 50;

/// What one pass found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Lost pushes fetched and stored.
    pub lost_pushes: usize,
    /// Orders listed.
    pub orders_checked: usize,
    /// Orders whose status we had not seen, stored as pushes.
    pub orders_recovered: usize,
    /// Problems met (the pass goes on with the next app or shop).
    pub errors: Vec<String>,
}

impl Ingest {
    /// Runs a pass now and then every `interval`, until `shutdown`.
    pub(crate) async fn reconcile_loop(&self, interval: std::time::Duration, shutdown: CancellationToken) {
        loop {
            match self.reconcile_once().await {
                Ok(report) if report.lost_pushes + report.orders_recovered > 0 || !report.errors.is_empty() => {
                    tracing::info!(?report, "reconciliation pass");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = ?err, "reconciliation pass failed"),
            }
            if !self.wait(interval, &shutdown).await {
                return;
            }
        }
    }

    /// One pass: every app's kept pushes, then every authorized shop's changed orders.
    pub async fn reconcile_once(&self) -> Result<ReconcileReport, EngineError> {
        let mut report = ReconcileReport::default();
        let registry = self.registry();
        for app in registry.marketplaces.iter() {
            if let Err(err) = self.recover_lost_pushes(app.as_ref(), &mut report).await {
                report.errors.push(format!("{}: lost pushes: {err}", app.id()));
            }
        }
        for auth in self.shops.list_shop_auth().await? {
            if auth.status != ShopAuthStatus::Active || registry.shop(&auth.app_id, auth.shop_id).is_none() {
                continue;
            }
            if let Err(err) = self.reconcile_shop(&auth.app_id, auth.shop_id, &mut report).await {
                report
                    .errors
                    .push(format!("{}/{}: order list: {err}", auth.app_id, auth.shop_id));
            }
        }
        if report.lost_pushes + report.orders_recovered > 0 {
            self.inbox_wake.notify_one();
        }
        Ok(report)
    }

    async fn recover_lost_pushes(
        &self,
        app: &dyn MarketplaceApp,
        report: &mut ReconcileReport,
    ) -> Result<(), SyncError> {
        for _ in 0..MAX_LOST_PAGES {
            let Some(page) = app.kept_pushes().await? else {
                return Ok(());
            };
            // Every item is stored before the page is confirmed — an unreadable one too (it fails in the
            // inbox, replayable): confirming acknowledges the whole page, and it is never sent again.
            for kept in &page.pushes {
                self.store_recovered(app, &kept.body, kept.dedupe_key.clone()).await?;
                report.lost_pushes += 1;
            }
            if page.pushes.is_empty() {
                return Ok(());
            }
            // A crash before this line fetches the page again; the inbox deduplicates it.
            let Some(confirm) = page.confirm else {
                return Err(SyncError::UnconfirmablePage);
            };
            app.confirm_kept_pushes(&confirm).await?;
            if !page.more {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn reconcile_shop(
        &self,
        app_id: &ConfigId,
        shop: ShopId,
        report: &mut ReconcileReport,
    ) -> Result<(), SyncError> {
        let registry = self.registry();
        let Some(app) = registry.marketplaces.get(app_id).cloned() else {
            return Ok(());
        };
        let region = registry.shop(app_id, shop).and_then(|s| s.region.clone());
        let region = region.as_deref();
        let key = format!("reconcile:{app_id}:{shop}");
        // Marketplaces list orders by unix seconds, and the watermark is kept in them: the pass ends at
        // this whole second.
        let now = UnixMs::from_secs(self.clock.now().as_secs());
        let since = match self.config_repo.meta(&key).await? {
            Some(v) => v.parse::<i64>().map_or(now - FIRST_LOOKBACK, UnixMs::from_secs) - OVERLAP,
            None => now - FIRST_LOOKBACK,
        }
        .max(now - app.max_listing_range() + RANGE_MARGIN);
        let token = self.tokens.access_token(app_id, shop).await?;
        let mut cursor: Option<String> = None;
        let mut complete = false;
        let mut missing_times = false;
        for _ in 0..MAX_PAGES {
            let page = app
                .changed_orders(shop, region, &token, since, now, cursor.as_deref())
                .await?;
            let mut changed = Vec::new();
            for order in page.orders {
                report.orders_checked += 1;
                let known = self.inbox.order_status(app_id, shop, &order.order_sn).await?;
                if known.as_ref().is_some_and(|(s, _)| *s == order.status) {
                    continue;
                }
                changed.push(order);
            }
            if !changed.is_empty() {
                let recovered = app.recovered_pushes(shop, region, &token, &changed).await?;
                for order in &changed {
                    let Some(push) = recovered.iter().find(|p| p.order_sn == order.order_sn) else {
                        // Without the platform's time the status is not stored; the watermark stays for a retry.
                        missing_times = true;
                        report.errors.push(format!(
                            "{app_id}/{shop}: no status or update time for {}",
                            order.order_sn
                        ));
                        continue;
                    };
                    self.store_recovered(app.as_ref(), &push.body, push.dedupe_key.clone())
                        .await?;
                    report.orders_recovered += 1;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => {
                    complete = true;
                    break;
                }
            }
        }
        // Only a complete pass moves the watermark; otherwise the next pass reads the same range again.
        if missing_times {
            return Ok(());
        }
        if !complete {
            report.errors.push(format!(
                "{app_id}/{shop}: more than {MAX_PAGES} pages changed; continuing next pass"
            ));
            return Ok(());
        }
        Ok(self.config_repo.set_meta(&key, &now.as_secs().to_string()).await?)
    }

    async fn store_recovered(&self, app: &dyn MarketplaceApp, body: &[u8], dedupe: String) -> Result<(), EngineError> {
        let (code, shop_id, order_sn) = match app.read_push(body) {
            Ok(push) => (push.code, push.shop, push.order),
            // Stored all the same: it fails in the inbox with the reason, and stays replayable.
            Err(_) => (app.unreadable_code(body), None, None),
        };
        let push = NewPush {
            platform: app.platform(),
            app_id: app.id().clone(),
            dedupe_key: dedupe,
            code,
            shop_id,
            order_sn,
            body: String::from_utf8_lossy(body).into_owned(),
            received_at: self.clock.now(),
        };
        self.accept_push(push).await?;
        Ok(())
    }
}
