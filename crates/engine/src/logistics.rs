//! The logistics watch: logistics-exception events derived from what the marketplaces do not push.
//!
//! Only while some enabled rule selects `logistics_exception`:
//! - shipped orders' trails are polled (where the marketplace offers them) every `tracking_poll`; a newest step that
//!   says failed delivery, return to sender or lost is an exception, once per step;
//! - a shipped order whose trail has not moved for a rule's `stalled_after_days` (default 3) is one, once
//!   per threshold and last movement;
//! - an order still to be shipped within a rule's `ship_risk_hours` (default 24) of its ship-by date is a
//!   late-shipment risk — the costliest penalty for a seller — once per threshold.
//!
//! Each rule hears only about its own thresholds (see `routing`).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use shoprelay_clock::UnixMs;
use shoprelay_core::event::{Event, EventBody, EventKind, LogisticsIssue, Platform, TrailStep};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::{OrderSnapshot, OrderStage};
use shoprelay_marketplaces::adapter::{MarketplaceApp, ParcelState, Trail};
use shoprelay_marketplaces::platform::status_words;
use shoprelay_store::{NewEvent, WatchedOrder};

use crate::config::Registry;
use crate::error::{EngineError, SyncError};
use crate::escalate::Timers;
use crate::routing::{DEFAULT_SHIP_RISK_HOURS, DEFAULT_STALLED_DAYS};
use crate::tokens::TokenError;

/// Stages of an order handed to the carrier and not yet delivered.
const SHIPPED: [OrderStage; 1] = [OrderStage::Shipped];
/// Stages of an order the seller still has to ship.
const TO_SHIP: [OrderStage; 2] = [OrderStage::ToShip, OrderStage::Arranged];
/// An hour and a day, the units of the rules' thresholds.
const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(86_400);
/// Shipped orders polled per pass.
const BATCH: i64 = 50;
/// Orders read per page of the ship-by scan, and most pages per scan.
const PAGE: i64 = 500;
const MAX_PAGES: i64 = 20;

/// The thresholds the enabled rules selecting logistics exceptions ask for.
struct Thresholds {
    stalled_days: BTreeSet<u32>,
    risk_hours: BTreeSet<u32>,
}

fn thresholds(registry: &Registry) -> Option<Thresholds> {
    let rules: Vec<_> = registry
        .routes
        .iter()
        .filter(|r| r.enabled && r.events.contains(&EventKind::LogisticsException))
        .collect();
    if rules.is_empty() {
        return None;
    }
    Some(Thresholds {
        stalled_days: rules
            .iter()
            .map(|r| r.stalled_after_days.unwrap_or(DEFAULT_STALLED_DAYS))
            .collect(),
        risk_hours: rules
            .iter()
            .map(|r| r.ship_risk_hours.unwrap_or(DEFAULT_SHIP_RISK_HOURS))
            .collect(),
    })
}

/// A logistics-exception event about a watched order.
struct Found {
    key: String,
    issue: LogisticsIssue,
    logistics_status: Option<String>,
    description: Option<String>,
    days_without_update: Option<u32>,
    hours_to_ship_by: Option<u32>,
    trail: Vec<TrailStep>,
}

impl Timers {
    /// Looks at the orders that are due; returns how many events it produced.
    pub async fn watch_logistics_once(&self) -> Result<usize, EngineError> {
        let registry = self.registry();
        let Some(limits) = thresholds(&registry) else {
            return Ok(0);
        };
        let now = self.clock.now();
        let mut found: Vec<(WatchedOrder, Found)> = Vec::new();
        let last_scan = UnixMs::from_millis(self.last_ship_by_scan.load(Ordering::Relaxed));
        let scan_due = now.saturating_duration_since(last_scan) >= self.settings.ship_by_scan;
        if let (Some(max_hours), true) = (limits.risk_hours.last(), scan_due) {
            self.last_ship_by_scan.store(now.as_millis(), Ordering::Relaxed);
            let horizon = now + HOUR * *max_hours;
            let mut orders = Vec::new();
            // Every order due to ship within the largest threshold (a day late at most: past that the
            // marketplace has cancelled it or the seller knows), a page at a time.
            let to_ship = status_words(&TO_SHIP);
            for page in 0..MAX_PAGES {
                let rows = self
                    .order_watch
                    .ship_by_between(&to_ship, now - DAY, horizon, page * PAGE, PAGE)
                    .await?;
                let last = (rows.len() as i64) < PAGE;
                orders.extend(rows);
                if last {
                    break;
                }
            }
            for order in orders {
                let Some(ship_by) = order.ship_by_date else { continue };
                for hours in limits.risk_hours.iter().filter(|h| ship_by < now + HOUR * **h) {
                    let Some(platform) = platform_of(&registry, &order) else {
                        continue;
                    };
                    // Keys name times in seconds, as those of events already stored do.
                    let key = format!(
                        "{platform}:{}:{}:late_risk:{hours}:{}",
                        order.shop_id,
                        order.order_sn,
                        ship_by.as_secs()
                    );
                    found.push((
                        order.clone(),
                        Found {
                            key,
                            issue: LogisticsIssue::LateShipmentRisk,
                            logistics_status: None,
                            description: None,
                            days_without_update: None,
                            hours_to_ship_by: Some(*hours),
                            trail: Vec::new(),
                        },
                    ));
                }
            }
        }
        let checked_before = now - self.settings.tracking_poll;
        for order in self
            .order_watch
            .claim_tracking_checks(&status_words(&SHIPPED), now, checked_before, BATCH)
            .await?
        {
            let Some(platform) = platform_of(&registry, &order) else {
                continue;
            };
            let trail = match self.trail(&registry, &order).await {
                Ok(Some(trail)) => trail,
                // The marketplace offers no trail: only the ship-by risk is watched for its orders.
                Ok(None) => continue,
                Err(error) => {
                    // Polled again at the next interval; a trail we cannot read is no exception of the parcel's.
                    tracing::warn!(order = %order.order_sn, %error, "cannot read the parcel's trail");
                    continue;
                }
            };
            let latest = trail.latest();
            // The parcel last moved at its trail's newest step; with no trail yet, when it was shipped.
            let moved_at = latest.map_or(order.status_time, |s| s.at);
            let status = trail.current_status();
            self.order_watch
                .record_tracking(&order.app_id, order.shop_id, &order.order_sn, moved_at, status)
                .await?;
            let mut steps: Vec<&TrailStep> = trail.steps.iter().collect();
            steps.sort_by_key(|s| std::cmp::Reverse(s.at));
            let recent: Vec<TrailStep> = steps.into_iter().take(3).cloned().collect();
            if let ParcelState::Exception(issue) = trail.state {
                let key = format!(
                    "{platform}:{}:{}:logistics:{status}:{}",
                    order.shop_id,
                    order.order_sn,
                    moved_at.as_secs()
                );
                found.push((
                    order.clone(),
                    Found {
                        key,
                        issue,
                        logistics_status: Some(status.to_owned()),
                        description: latest.map(|s| s.description.clone()).filter(|d| !d.is_empty()),
                        days_without_update: None,
                        hours_to_ship_by: None,
                        trail: recent,
                    },
                ));
                continue;
            }
            if trail.state == ParcelState::Delivered {
                // Arrived: silence is expected until the buyer confirms.
                continue;
            }
            let silent_days = now.saturating_duration_since(moved_at).as_secs() / DAY.as_secs();
            for days in limits.stalled_days.iter().filter(|d| silent_days >= u64::from(**d)) {
                let key = format!(
                    "{platform}:{}:{}:stalled:{days}:{}",
                    order.shop_id,
                    order.order_sn,
                    moved_at.as_secs()
                );
                found.push((
                    order.clone(),
                    Found {
                        key,
                        issue: LogisticsIssue::Stalled,
                        logistics_status: Some(status.to_owned()).filter(|s| !s.is_empty()),
                        description: latest.map(|s| s.description.clone()).filter(|d| !d.is_empty()),
                        days_without_update: Some(*days),
                        hours_to_ship_by: None,
                        trail: recent.clone(),
                    },
                ));
            }
        }
        let mut produced = 0;
        for (order, f) in found {
            if self.order_watch.event_exists(&f.key).await? {
                continue;
            }
            let Some(event) = exception_event(&registry, &order, f, now) else {
                continue;
            };
            let deliveries = self.route.route(&registry, &event).await?;
            if self
                .deliveries
                .insert_event(NewEvent { event, deliveries }, self.clock.now())
                .await?
            {
                metrics::counter!("shoprelay_logistics_exceptions_total").increment(1);
                produced += 1;
            }
        }
        if produced > 0 {
            self.outbox_wake.notify_one();
        }
        Ok(produced)
    }

    async fn trail(&self, registry: &Registry, order: &WatchedOrder) -> Result<Option<Trail>, SyncError> {
        let app_id = ConfigId::parse(&order.app_id)?;
        let shop = u64::try_from(order.shop_id)
            .ok()
            .and_then(|s| ShopId::new(s).ok())
            .ok_or(SyncError::ShopId(order.shop_id))?;
        let order_sn = OrderSn::parse(&order.order_sn)?;
        let app = registry
            .marketplaces
            .get(&app_id)
            .ok_or_else(|| TokenError::UnknownApp(app_id.clone()))?;
        let region = registry.shop(&app_id, shop).and_then(|s| s.region.clone());
        let token = self.tokens.access_token(&app_id, shop).await?;
        Ok(app.trail(shop, region.as_deref(), &token, &order_sn).await?)
    }
}

/// The marketplace of a watched order's app, while the app is configured.
fn platform_of(registry: &Registry, order: &WatchedOrder) -> Option<Platform> {
    registry.platform_of(&ConfigId::parse(&order.app_id).ok()?)
}

fn exception_event(registry: &Registry, order: &WatchedOrder, f: Found, now: UnixMs) -> Option<Event> {
    let app = ConfigId::parse(&order.app_id).ok()?;
    let marketplace: &dyn MarketplaceApp = registry.marketplaces.get(&app)?.as_ref();
    let shop = u64::try_from(order.shop_id).ok().and_then(|s| ShopId::new(s).ok())?;
    let order_sn = OrderSn::parse(&order.order_sn).ok()?;
    let mut snapshot = OrderSnapshot::bare(order_sn.clone(), marketplace.status(&order.status));
    snapshot.ship_by_date = order.ship_by_date.map(UnixMs::as_secs);
    Some(Event {
        dedupe_key: f.key,
        platform: marketplace.platform(),
        app,
        shop_id: Some(shop),
        order_sn: Some(order_sn),
        occurred_at: now,
        order: Some(snapshot),
        body: EventBody::LogisticsException {
            issue: f.issue,
            logistics_status: f.logistics_status,
            description: f.description,
            days_without_update: f.days_without_update,
            hours_to_ship_by: f.hours_to_ship_by,
            trail: f.trail,
        },
    })
}
