//! The variables a CEL condition (`expr`) and a message template see. Both read the same three,
//! built from one event by [`PreparedEvent`](super::PreparedEvent), so what a seller tests in a
//! condition is what they can print in a message.
//!
//! Numbers are CEL `int` (signed) so that they compare and add with literals like `2` without casts.
//! Every field is always present; a field that does not apply to the event is `null` (in a template
//! it prints as nothing). `order` is absent for events without an order (shop authorisation events):
//! an expression that reads it then fails and counts as not matched; a template should test
//! `{% if order %}`.
//!
//! | variable | type | meaning |
//! | --- | --- | --- |
//! | `event.kind` | string | `order_created`, `order_status_changed`, `tracking_number_assigned`, `shop_authorized`, `shop_deauthorized`, `authorization_expiring`, `reauthorization_required`, `buyer_message`, `delivery_failing`, `order_cancelled`, `cancellation_requested`, `return_requested`, `logistics_exception`, `escalation` |
//! | `event.platform` | string | the marketplace: `shopee`, `lazada`, `tiktok` |
//! | `event.shop_id` | int or null | the marketplace shop id |
//! | `event.order_sn` | string or null | the order number |
//! | `event.occurred_at` | int | unix seconds at which the platform says it happened |
//! | `event.from_status` | string or null | status change, cancellation, return: the stage before (`unpaid`, `to_ship`, `arranged`, `shipped`, `delivered`, `completed`, `cancel_requested`, `cancelled`, `return_requested`, `other`), when known |
//! | `event.to_status` | string or null | status change: the new stage |
//! | `event.from_platform_status`, `event.to_platform_status` | string or null | the same, in the marketplace's own words (`READY_TO_SHIP`, `ready_to_ship`, …) |
//! | `event.tracking_no` | string or null | tracking number assigned: the carrier's number |
//! | `event.package_number` | string or null | tracking number assigned: the marketplace's package number |
//! | `event.buyer_name` | string or null | buyer message: the buyer's display name |
//! | `event.message_text` | string or null | buyer message: the text (`[image]` etc. for other types) |
//! | `event.conversation_id` | string or null | buyer message: the marketplace conversation |
//! | `event.expire_before` | int or null | authorisation expiring: unix seconds it ends |
//! | `event.reason` | string or null | re-authorisation required: the platform's error; delivery failing: what failed |
//! | `event.destination` | string or null | delivery failing: the destination (`wecom_app:ID`, `robot:ID`) |
//! | `event.issue` | string or null | logistics exception: `failed_delivery`, `return_to_sender`, `lost`, `stalled`, `late_shipment_risk` |
//! | `event.logistics_status` | string or null | logistics exception: the carrier's latest status |
//! | `event.description` | string or null | logistics exception: the carrier's latest tracking line |
//! | `event.days_without_update` | int or null | logistics exception (stalled): days since the last tracking update |
//! | `event.hours_to_ship_by` | int or null | logistics exception (late-shipment risk): hours left to the ship-by date |
//! | `event.trail` | list | logistics exception: the latest tracking steps, newest first, each `{at, description, status}` |
//! | `event.rule`, `event.assignee`, `event.waited_minutes`, `event.about` | | escalation: the rule, who had it, how long it waited, what it was about |
//! | `order.order_sn` | string | order number |
//! | `order.status` | string | current stage (`to_ship`, `shipped`, …: the same words for every marketplace) |
//! | `order.platform_status` | string | current status in the marketplace's own words (`READY_TO_SHIP`, `ready_to_ship`, …) |
//! | `order.region` | string or null | marketplace region (`SG`, `BR`, …), which sets the shop's time zone |
//! | `order.currency` | string or null | ISO currency code |
//! | `order.total_amount` | double or null | amount the buyer pays |
//! | `order.quantity` | int | total units over all items |
//! | `order.cod` | bool | cash on delivery |
//! | `order.payment_method` | string or null | payment method name |
//! | `order.buyer_username` | string or null | the buyer's public nickname (when the data policy allows) |
//! | `order.shipping_carrier` | string or null | logistics channel |
//! | `order.message_to_seller` | string or null | the buyer's note |
//! | `order.create_time`, `order.pay_time`, `order.ship_by_date` | int or null | unix seconds |
//! | `order.recipient` | map or null | `{name, phone, email, address, district, city}`, each string or null: only the fields the shop's data policy keeps, masked (`138****1234`, the address reduced to its district) unless the rule sets `personal_data = "full"` |
//! | `order.items` | list | each `{name, sku, model, quantity, unit_price}`; `sku`, `model`, `unit_price` may be null |
//! | `now.hour`, `now.minute` | int | the evaluation time in the shop's time zone (0–23, 0–59) |
//! | `now.weekday` | string | `mon` … `sun`, in the shop's time zone |
//! | `now.unix` | int | the evaluation time, unix seconds |
//! | `now.local` | string | the evaluation time as `YYYY-MM-DD HH:MM` in the shop's time zone |
//! | `now.timezone` | string | the shop's time zone (`Asia/Singapore`, …) |
//!
//! CEL examples: `order.total_amount >= 100.0 && order.currency == "SGD"`,
//! `order.items.exists(i, i.sku != null && i.sku.startsWith("TS-"))`,
//! `event.kind == "buyer_message" && event.message_text.contains("refund")`,
//! `now.weekday in ["sat", "sun"] || now.hour >= 22`.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use shoprelay_clock::UnixMs;

use crate::destination::Destination;
use crate::event::{Event, EventBody, TrailStep};
use crate::order::{OrderItem, OrderSnapshot, OrderStatus};
use crate::time::region_timezone;

/// The evaluation time read on the shop's wall clock.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShopClock {
    pub(super) tz: Tz,
    pub(super) at: UnixMs,
    pub(super) local: NaiveDateTime,
}

impl ShopClock {
    /// Reads `at` in the time zone of the event's order region (UTC+8 when unknown).
    pub(super) fn for_event(event: &Event, at: UnixMs) -> Self {
        let tz = region_timezone(event.order.as_ref().and_then(|o| o.region.as_deref()));
        Self {
            tz,
            at,
            local: local_datetime(at, tz),
        }
    }

    /// Minutes since local midnight.
    pub(super) fn minute_of_day(&self) -> u16 {
        // At most 23 * 60 + 59, which fits.
        (self.local.hour() * 60 + self.local.minute()) as u16
    }

    /// The local weekday.
    pub(super) fn weekday(&self) -> Weekday {
        self.local.weekday()
    }
}

/// `at` on the wall clock of `tz`; an out-of-range instant reads as the epoch rather than failing,
/// because a clock value is never the seller's fault.
pub(super) fn local_datetime(at: UnixMs, tz: Tz) -> NaiveDateTime {
    let utc = DateTime::<Utc>::from_timestamp_millis(at.as_millis()).unwrap_or_default();
    tz.from_utc_datetime(&utc.naive_utc()).naive_local()
}

/// Lower-case three-letter weekday name, as conditions and `now.weekday` spell it.
pub(super) fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// All variables of one event, serialised into CEL values or template values.
#[derive(Debug, Serialize)]
pub(super) struct Vars<'a> {
    pub(super) event: EventVars<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) order: Option<OrderVars<'a>>,
    pub(super) now: NowVars,
}

/// `event.*`.
#[derive(Debug, Default, Serialize)]
pub(super) struct EventVars<'a> {
    kind: &'static str,
    platform: &'a str,
    shop_id: Option<i64>,
    order_sn: Option<&'a str>,
    occurred_at: i64,
    from_status: Option<&'static str>,
    to_status: Option<&'static str>,
    from_platform_status: Option<&'a str>,
    to_platform_status: Option<&'a str>,
    tracking_no: Option<&'a str>,
    package_number: Option<&'a str>,
    buyer_name: Option<&'a str>,
    message_text: Option<&'a str>,
    conversation_id: Option<&'a str>,
    expire_before: Option<i64>,
    reason: Option<&'a str>,
    destination: Option<&'a Destination>,
    issue: Option<&'static str>,
    logistics_status: Option<&'a str>,
    description: Option<&'a str>,
    days_without_update: Option<i64>,
    hours_to_ship_by: Option<i64>,
    trail: &'a [TrailStep],
    rule: Option<&'a str>,
    assignee: Option<&'a str>,
    waited_minutes: Option<i64>,
    about: Option<&'a str>,
}

/// `order.*`.
#[derive(Debug, Serialize)]
pub(super) struct OrderVars<'a> {
    order_sn: &'a str,
    status: &'static str,
    platform_status: &'a str,
    region: Option<&'a str>,
    currency: Option<&'a str>,
    total_amount: Option<f64>,
    quantity: i64,
    cod: bool,
    payment_method: Option<&'a str>,
    buyer_username: Option<&'a str>,
    shipping_carrier: Option<&'a str>,
    message_to_seller: Option<&'a str>,
    create_time: Option<i64>,
    pay_time: Option<i64>,
    ship_by_date: Option<i64>,
    recipient: Option<RecipientVars>,
    items: Vec<ItemVars<'a>>,
}

/// `order.recipient`.
#[derive(Debug, Serialize)]
struct RecipientVars {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    district: Option<String>,
    city: Option<String>,
}

/// `order.items[*]`.
#[derive(Debug, Serialize)]
struct ItemVars<'a> {
    name: &'a str,
    sku: Option<&'a str>,
    model: Option<&'a str>,
    quantity: i64,
    unit_price: Option<f64>,
}

/// `now.*`.
#[derive(Debug, Serialize)]
pub(super) struct NowVars {
    hour: i64,
    minute: i64,
    weekday: &'static str,
    unix: i64,
    local: String,
    timezone: &'static str,
}

impl<'a> Vars<'a> {
    /// Builds the variables of `event` evaluated at `clock`.
    pub(super) fn new(event: &'a Event, clock: &ShopClock) -> Self {
        Self {
            event: EventVars::new(event),
            order: event.order.as_ref().map(OrderVars::new),
            now: NowVars {
                hour: i64::from(clock.local.hour()),
                minute: i64::from(clock.local.minute()),
                weekday: weekday_name(clock.weekday()),
                unix: clock.at.as_secs(),
                local: clock.local.format("%Y-%m-%d %H:%M").to_string(),
                timezone: clock.tz.name(),
            },
        }
    }
}

impl<'a> EventVars<'a> {
    fn set_from(&mut self, status: Option<&'a OrderStatus>) {
        self.from_status = status.map(|s| s.stage.as_str());
        self.from_platform_status = status.map(|s| s.raw.as_str());
    }

    fn set_to(&mut self, status: Option<&'a OrderStatus>) {
        self.to_status = status.map(|s| s.stage.as_str());
        self.to_platform_status = status.map(|s| s.raw.as_str());
    }

    fn new(event: &'a Event) -> Self {
        let mut vars = Self {
            kind: event.kind().as_str(),
            platform: event.platform.as_str(),
            shop_id: event.shop_id.and_then(|s| i64::try_from(s.get()).ok()),
            order_sn: event.order_sn.as_ref().map(|s| s.as_str()),
            occurred_at: event.occurred_at.as_secs(),
            ..Self::default()
        };
        match &event.body {
            EventBody::OrderStatusChanged { from, to } => {
                vars.set_from(from.as_ref());
                vars.set_to(Some(to));
            }
            EventBody::TrackingNumberAssigned {
                tracking_no,
                package_number,
            } => {
                vars.tracking_no = Some(tracking_no);
                vars.package_number = package_number.as_deref();
            }
            EventBody::AuthorizationExpiring { expire_before } => vars.expire_before = *expire_before,
            EventBody::ReauthorizationRequired { reason } => vars.reason = Some(reason),
            EventBody::ChatUnavailable { reason } => vars.reason = Some(reason),
            EventBody::DeliveryFailing { destination, reason } => {
                vars.destination = Some(destination);
                vars.reason = Some(reason);
            }
            EventBody::BuyerMessage {
                conversation_id,
                from_user_name,
                text,
                ..
            } => {
                vars.buyer_name = Some(from_user_name);
                vars.message_text = Some(text);
                vars.conversation_id = Some(conversation_id);
            }
            EventBody::OrderCancelled { from }
            | EventBody::CancellationRequested { from }
            | EventBody::ReturnRequested { from } => {
                vars.set_from(from.as_ref());
                vars.set_to(event.order.as_ref().map(|o| &o.status));
            }
            EventBody::LogisticsException {
                issue,
                logistics_status,
                description,
                days_without_update,
                hours_to_ship_by,
                trail,
            } => {
                vars.trail = trail;
                vars.issue = Some(issue.as_str());
                vars.logistics_status = logistics_status.as_deref();
                vars.description = description.as_deref();
                vars.days_without_update = days_without_update.map(i64::from);
                vars.hours_to_ship_by = hours_to_ship_by.map(i64::from);
            }
            EventBody::Escalation {
                rule,
                assignee,
                waited_minutes,
                about,
                ..
            } => {
                vars.rule = Some(rule);
                vars.assignee = assignee.as_deref();
                vars.waited_minutes = Some(*waited_minutes);
                vars.about = Some(about);
            }
            EventBody::OrderCreated | EventBody::ShopAuthorized | EventBody::ShopDeauthorized => {}
        }
        vars
    }
}

impl<'a> OrderVars<'a> {
    fn new(order: &'a OrderSnapshot) -> Self {
        Self {
            order_sn: order.order_sn.as_str(),
            status: order.status.stage.as_str(),
            platform_status: &order.status.raw,
            region: order.region.as_deref(),
            currency: order.currency.as_deref(),
            total_amount: order.total_amount.and_then(|d| d.to_f64()),
            quantity: i64::try_from(total_units(order)).unwrap_or(i64::MAX),
            cod: order.cod,
            payment_method: order.payment_method.as_deref(),
            buyer_username: order.buyer_username.as_deref(),
            shipping_carrier: order.shipping_carrier.as_deref(),
            message_to_seller: order.message_to_seller.as_deref(),
            create_time: order.create_time,
            pay_time: order.pay_time,
            ship_by_date: order.ship_by_date,
            recipient: order.recipient.as_ref().map(|r| RecipientVars {
                name: r.name.clone(),
                phone: r.phone.clone(),
                email: r.email.clone(),
                address: r.address.as_ref().map(|a| a.display()),
                district: r.address.as_ref().and_then(|a| a.district.clone()),
                city: r.address.as_ref().and_then(|a| a.city.clone()),
            }),
            items: order.items.iter().map(ItemVars::new).collect(),
        }
    }
}

impl<'a> ItemVars<'a> {
    fn new(item: &'a OrderItem) -> Self {
        Self {
            name: &item.name,
            sku: item.sku.as_deref(),
            model: item.model_name.as_deref(),
            quantity: i64::from(item.quantity),
            unit_price: item.unit_price.and_then(|d| d.to_f64()),
        }
    }
}

/// Units over all items of the order.
pub(super) fn total_units(order: &OrderSnapshot) -> u64 {
    order.items.iter().map(|i| u64::from(i.quantity)).sum()
}
