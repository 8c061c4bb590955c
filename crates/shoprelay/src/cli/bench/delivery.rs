//! Push → WeCom-simulator-accepted latency with the workers running as in production: the Shopee
//! simulator creates orders across many shops and pushes them; shoprelay stores, enriches (an API call to
//! the simulator), routes each shop to its own destination, paces and delivers; the WeCom simulator
//! stamps each message when it accepts it. Latency is that stamp minus the moment the order was created.
//!
//! A destination (paced on its own, its deliveries in order) is a WeCom app or a robot, so 100
//! destinations are 100 apps or 100 robots; 100 members of one app would be one destination.
//! shoprelay paces robots at WeCom's 20/min and app members at 30/min (fixed), and apps at their
//! configured `rate_per_minute`: the run beyond WeCom's limits therefore uses 100 apps with that budget
//! raised, against a simulator with its limits raised, each app's orders taking turns through enough
//! members that none gets more than 15 a minute. The per-person limit is never raised: shoprelay keeps it
//! whatever the app's budget, since WeCom drops what goes beyond it without an error (one member per app
//! made every message past a person's 30th of the minute wait for the next window — the old 52-s p99).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use shoprelay_clock::{Clock, SystemClock, UnixMs};
use shoprelay_sim::load::unix_ms_f64;
use shoprelay_sim::shopee::{NewOrder, ShopeeSim};
use shoprelay_sim::wecom::{SimLimits, WeComSim};
use shoprelay_store::{AuditFilter, AuditKind, AuditOutcome};
use tokio::time::Instant;

use super::fleet::{setup, shop_id, slot_payment, Fleet, Setup, UNLIMITED};
use super::machine::CpuSample;
use super::{per_sec, percentile, Args, LoadRuntime, Report};
use crate::server::Running;

/// WeCom's real limit per group robot, messages per minute.
const ROBOT_PER_MINUTE: f64 = 20.0;
/// WeCom's real limit per member of an app, messages per minute.
const MEMBER_PER_MINUTE: f64 = 30.0;
/// The WeCom simulator forgets older messages beyond 10,000; stay below.
const MAX_EVENTS: u64 = 9_000;
/// How long after the last push every message must have arrived (beyond it a message counts as lost).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(180);
/// Targets, milliseconds.
const P50_TARGET_MS: f64 = 5.0;
const P99_TARGET_MS: f64 = 50.0;

/// When each order was created (Unix ms), by order number.
pub(super) type Sent = HashMap<String, f64>;

/// Creates `total` orders at `rate` per second across the shops, each on its own task (open loop); with
/// `slots` above one, each shop's orders take turns through that many payment methods (see
/// [`Fleet::Apps`]). Returns when each order was created, and how long shoprelay took to acknowledge each push (whole
/// milliseconds, as the Shopee simulator times its attempts).
pub(super) async fn create_orders(
    shopee: Arc<ShopeeSim>,
    prefix: String,
    n: usize,
    rate: f64,
    total: u64,
    slots: usize,
) -> Result<(Sent, Vec<u64>)> {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until(started + period.mul_f64(i as f64)).await;
        let shopee = shopee.clone();
        let order_sn = format!("{prefix}{i:08}");
        let shop = shop_id(i as usize % n.max(1));
        tasks.push(tokio::spawn(async move {
            let sent = unix_ms_f64();
            let order = NewOrder {
                shop_id: Some(shop),
                order_sn: Some(order_sn.clone()),
                status: Some("UNPAID".into()),
                payment_method: (slots > 1).then(|| slot_payment((i as usize / n.max(1)) % slots)),
                ..NewOrder::default()
            };
            let change = shopee.create_order(order).await?;
            let delivered = change.pushes.iter().all(|p| p.delivered);
            let acks: Vec<u64> = change
                .pushes
                .iter()
                .filter_map(|p| p.attempts.last().map(|a| a.latency_ms))
                .collect();
            Ok::<_, anyhow::Error>((order_sn, sent, delivered, acks))
        }));
    }
    let mut sent = Sent::with_capacity(tasks.len());
    let mut acks = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (order_sn, at, delivered, ack) = task.await.context("an order task panicked")??;
        if !delivered {
            bail!("the push of order {order_sn} was not acknowledged by shoprelay");
        }
        sent.insert(order_sn, at);
        acks.extend(ack);
    }
    Ok((sent, acks))
}

/// When WeCom accepted each order's message (Unix ms), by order number.
type Accepted = HashMap<String, f64>;

/// Waits until WeCom has a message for every order in `sent` (messages with id > `after`); returns
/// when each was accepted and the highest message id seen.
async fn collect(wecom: &WeComSim, prefix: &str, sent: &Sent, after: u64) -> Result<(Accepted, u64)> {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let mut accepted = Accepted::with_capacity(sent.len());
        let mut last = after;
        for m in wecom.messages().into_iter().filter(|m| m.id > after) {
            last = last.max(m.id);
            // Every order the message names (a digest names several).
            let body = m.body.to_string();
            for (at, _) in body.match_indices(prefix) {
                let Some(sn) = body.get(at..at + prefix.len() + 8) else {
                    continue;
                };
                if sent.contains_key(sn) {
                    // The first acceptance counts; a duplicate (absorbed or not) does not make it later.
                    accepted.entry(sn.to_owned()).or_insert(m.at_unix_ms as f64);
                }
            }
        }
        if accepted.len() >= sent.len() {
            return Ok((accepted, last));
        }
        if Instant::now() > deadline {
            let q = wecom.stats();
            bail!(
                "{} of {} orders reached WeCom within {DRAIN_TIMEOUT:?} after the last push (WeCom refused: {:?})",
                accepted.len(),
                sent.len(),
                q.rejected
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Where the time went, per order, from the audit log (whole-millisecond stamps): the push reaching
/// the handler, the inbox stage (commit, queue, enrichment, routing), the outbox wait, the send.
async fn stages(server: &Running, from: UnixMs, sent: &Sent, accepted: &Accepted) -> Result<String> {
    #[derive(Default)]
    struct Times {
        received: Option<f64>,
        processed: Option<f64>,
        send_start: Option<f64>,
    }
    let mut times: HashMap<String, Times> = HashMap::with_capacity(sent.len());
    // Why deliveries were put back (the audit's `paced` entries), so a long outbox wait has a cause.
    let mut deferred: std::collections::BTreeMap<String, usize> = Default::default();
    let mut before_id = None;
    loop {
        let filter = AuditFilter {
            from: Some(from),
            before_id,
            limit: Some(1000),
            ..AuditFilter::default()
        };
        let page = server.engine.store().query_audit(&filter).await?;
        let Some(last) = page.last() else { break };
        before_id = Some(last.id);
        for e in page {
            if e.kind == AuditKind::Delivery && e.outcome == AuditOutcome::Paced {
                *deferred.entry(e.detail.clone()).or_default() += 1;
            }
            let Some(sn) = e.order_sn.filter(|sn| sent.contains_key(sn)) else {
                continue;
            };
            let t = times.entry(sn).or_default();
            let at = e.at.as_millis() as f64;
            match (e.kind, e.outcome) {
                (AuditKind::Push, AuditOutcome::Accepted) => t.received = Some(at),
                (AuditKind::Push, AuditOutcome::Processed) => t.processed = Some(at),
                (AuditKind::Delivery, AuditOutcome::Delivered) => {
                    t.send_start = Some(at - e.latency_ms.unwrap_or(0) as f64)
                }
                _ => {}
            }
        }
    }
    let mut spans: [Vec<f64>; 4] = Default::default();
    for (sn, t) in &times {
        let (Some(sent), Some(done)) = (sent.get(sn), accepted.get(sn)) else {
            continue;
        };
        let (Some(received), Some(processed), Some(send_start)) = (t.received, t.processed, t.send_start) else {
            continue;
        };
        for (span, ms) in spans.iter_mut().zip([
            received - sent,
            processed - received,
            send_start - processed,
            done - send_start,
        ]) {
            span.push(ms.max(0.0));
        }
    }
    let names = [
        "push→handler",
        "inbox (commit, queue, enrich, route)",
        "outbox wait",
        "send",
    ];
    let parts: Vec<String> = names
        .iter()
        .zip(spans.iter_mut())
        .map(|(name, span)| {
            span.sort_unstable_by(f64::total_cmp);
            let p = |q| percentile(span, q).unwrap_or_default();
            format!("{name} {:.0}/{:.0}", p(0.5), p(0.99))
        })
        .collect();
    let deferred = if deferred.is_empty() {
        "none".to_owned()
    } else {
        let counts: Vec<String> = deferred.iter().map(|(why, n)| format!("{n}× {why}")).collect();
        counts.join("; ")
    };
    Ok(format!(
        "stages p50/p99 ms ({} orders): {}; deliveries put back: {deferred}",
        spans[0].len(),
        parts.join(", ")
    ))
}

/// What one run produced.
struct Measured {
    sent: Sent,
    accepted: Accepted,
    wall: Duration,
    cpu: String,
    breakdown: Result<String>,
    /// What WeCom refused or dropped over its limits (should be nothing).
    refused: String,
    /// How long each push took to be acknowledged (ms, ascending), while the earlier ones were enriched
    /// and delivered.
    acks: Vec<u64>,
}

/// Warm-up (an order per shop, so connections and tokens are ready), then `rate` events/s for the
/// section's duration, until every message has reached WeCom.
async fn measure(
    load: &LoadRuntime,
    args: &Args,
    setup: &Setup,
    slots: usize,
    rate: f64,
    label: &str,
    report: &mut Report,
) -> Result<Measured> {
    let n = args.destinations.max(1);
    // Distinct per run, so a run never matches an earlier run's messages.
    let prefix = format!("BD{:05X}", SystemClock.now().as_millis().rem_euclid(0x10_0000));
    let warm_prefix = format!("{prefix}W");
    let warm = create_orders(setup.shopee.clone(), warm_prefix.clone(), n, 1_000.0, n as u64, slots);
    let (warm_sent, _) = load.run(warm).await??;
    let (_, after) = collect(&setup.wecom, &warm_prefix, &warm_sent, 0).await?;

    let duration = args.secs(args.delivery_duration);
    let mut total = (duration.as_secs_f64() * rate).floor() as u64;
    if total > MAX_EVENTS {
        report.note(format!(
            "delivery {label}: capped at {MAX_EVENTS} events (the WeCom simulator keeps the last 10,000 messages)"
        ));
        total = MAX_EVENTS;
    }
    let cpu = CpuSample::now();
    let started = Instant::now();
    // Audit stamps are whole milliseconds; start the window a little early.
    let from = SystemClock.now() - Duration::from_secs(1);
    let run = create_orders(setup.shopee.clone(), prefix.clone(), n, rate, total, slots);
    let (sent, mut acks) = load.run(run).await??;
    acks.sort_unstable();
    let (accepted, _) = collect(&setup.wecom, &prefix, &sent, after).await?;
    let cpu = CpuSample::now().since(&cpu);
    let wall = started.elapsed();
    let breakdown = stages(&setup.server, from, &sent, &accepted).await;
    let stats = setup.wecom.stats();
    let refused = format!(
        "WeCom refused {:?}, dropped over member limits {}",
        stats.rejected, stats.dropped_over_limit
    );
    Ok(Measured {
        sent,
        accepted,
        wall,
        cpu,
        breakdown,
        refused,
        acks,
    })
}

/// One run on fresh simulators and server, added to the table.
async fn run_at(
    load: &LoadRuntime,
    args: &Args,
    fleet: Fleet,
    limits: SimLimits,
    rate: f64,
    label: &str,
    report: &mut Report,
) -> Result<()> {
    let n = args.destinations.max(1);
    let setup = setup(n, fleet, limits).await?;
    let slots = match fleet {
        Fleet::Apps { members } => members,
        Fleet::Robots | Fleet::SharedApp => 1,
    };
    let outcome = measure(load, args, &setup, slots, rate, label, report).await;
    // Stopped whatever happened, so a failed run's workers do not disturb the next one.
    setup.server.stop().await?;
    let Measured {
        sent,
        accepted,
        wall,
        cpu,
        breakdown,
        refused,
        acks,
    } = outcome?;
    let mut latencies: Vec<f64> = accepted
        .iter()
        .filter_map(|(sn, at)| Some((at - sent.get(sn)?).max(0.0)))
        .collect();
    latencies.sort_unstable_by(f64::total_cmp);
    let p = |q| percentile(&latencies, q).unwrap_or_default();
    let what = format!("push → WeCom accepted @ {}, {label}", per_sec(rate));
    report.check(
        format!("{what}: p50"),
        format!("{:.0} ms", p(0.5)),
        format!("≤ {P50_TARGET_MS:.0} ms"),
        p(0.5) <= P50_TARGET_MS,
    );
    report.check(
        format!("{what}: p99"),
        format!("{:.0} ms", p(0.99)),
        format!("≤ {P99_TARGET_MS:.0} ms"),
        p(0.99) <= P99_TARGET_MS,
    );
    let ack = |q| percentile(&acks, q).unwrap_or_default();
    report.info(
        format!(
            "ack latency @ {}, {label}, while enriching and delivering: p50 / p99",
            per_sec(rate)
        ),
        format!("{} / {} ms", ack(0.5), ack(0.99)),
    );
    report.note(format!(
        "delivery {label}: {} events in {:.1} s (all delivered; {refused}), p99.9 {:.0} ms, max {:.0} ms; {}; {cpu}",
        latencies.len(),
        wall.as_secs_f64(),
        p(0.999),
        latencies.last().copied().unwrap_or_default(),
        breakdown.unwrap_or_else(|e| format!("stages unavailable: {e:#}")),
    ));
    println!("  delivery {label}: p50 {:.0} ms, p99 {:.0} ms", p(0.5), p(0.99));
    Ok(())
}

/// Section 3: at the asked rate with every budget raised, then within WeCom's real limits.
pub(super) async fn latency(load: &LoadRuntime, args: &Args, report: &mut Report) {
    let n = args.destinations.max(1);
    let robots = n as f64 * ROBOT_PER_MINUTE / 60.0;
    // Twice the people a minute of this rate needs at 30 a minute each: no person's budget is ever spent.
    let members = ((args.delivery_rate / n as f64 * 60.0 / MEMBER_PER_MINUTE) * 2.0)
        .ceil()
        .max(1.0) as usize;
    report.note(format!(
        "delivery: WeCom's real limits make {rate} to {n} destinations impossible within budget: {n} robots × \
         20/min = {}, {n} members × 30/min = {}, and a WeCom app's default budget is 200/min (3/s). The {rate} \
         run therefore uses {n} WeCom apps whose shoprelay budget (`rate_per_minute`) and simulator limits are \
         raised to {UNLIMITED}/min, each shop's orders taking turns through {members} members of its app (half of \
         a person's 30/min at this rate: shoprelay keeps WeCom's per-person limit whatever the app's budget): it \
         measures shoprelay's own latency, not what WeCom would accept. The second run uses {n} robots at WeCom's real limits (and shoprelay's pacing), \
         at 90 % of their budget. Times are the simulator's whole-millisecond stamps (±1 ms).",
        per_sec(robots),
        per_sec(n as f64 * MEMBER_PER_MINUTE / 60.0),
        rate = per_sec(args.delivery_rate),
    ));
    let raised = SimLimits {
        member_per_minute: UNLIMITED,
        member_per_hour: UNLIMITED,
        robot_per_minute: UNLIMITED,
        ..SimLimits::default()
    };
    let label = format!("{n} apps × {members} members, budgets raised");
    let fleet = Fleet::Apps { members };
    if let Err(e) = run_at(load, args, fleet, raised, args.delivery_rate, &label, report).await {
        report.fail("delivery (budgets raised)", e);
    }
    let label = format!("{n} robots, WeCom's real limits");
    if let Err(e) = run_at(
        load,
        args,
        Fleet::Robots,
        SimLimits::default(),
        robots * 0.9,
        &label,
        report,
    )
    .await
    {
        report.fail("delivery (real limits)", e);
    }
}
