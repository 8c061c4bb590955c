//! Rule evaluation: event × rule evaluations per second on one core with 1,000 rules configured, for
//! field conditions and for a mix with CEL expressions; and whole routing (evaluation plus rendering
//! of what matched) per event.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use shoprelay_core::event::EventKind;
use shoprelay_core::route::Route;
use shoprelay_core::rules::{sample_event, PreparedEvent, SAMPLE_TIME};
use shoprelay_engine::config::Registry;
use shoprelay_engine::routing;

use super::{per_sec, Report};

/// Rules configured.
const RULES: usize = 1_000;
/// Target evaluations per second per core.
const TARGET: f64 = 100_000.0;

/// The `n`th rule: every one selects new orders; its condition is one of a few realistic shapes, and
/// every `cel_every`th is a CEL expression instead (0: none).
fn rule(n: usize, cel_every: usize) -> Result<Route> {
    let when = if cel_every > 0 && n % cel_every == 0 {
        serde_json::json!({ "expr": format!(
            "order.total_amount >= {}.0 && order.items.exists(i, i.sku != null && i.sku.startsWith('TS-'))",
            n % 200
        )})
    } else {
        match n % 5 {
            0 => serde_json::json!({ "total_amount": { "gte": format!("{}", n % 300), "currency": "SGD" } }),
            1 => serde_json::json!({ "sku": { "prefix": format!("TS-{:03}", n % 50) } }),
            2 => serde_json::json!({ "all": [ { "status_to": ["READY_TO_SHIP"] }, { "buyer_region": ["SG", "MY"] } ] }),
            3 => serde_json::json!({ "any": [ { "cod": true }, { "quantity": { "gte": n % 7 } } ] }),
            _ => serde_json::json!({ "time_of_day": { "from": "09:00", "to": "18:00" } }),
        }
    };
    serde_json::from_value(serde_json::json!({
        "id": format!("rule-{n:04}"),
        "events": ["order_created"],
        "when": when,
        "targets": [{ "type": "robot", "robot": "ops" }],
    }))
    .context("building a benchmark rule")
}

fn registry(cel_every: usize) -> Result<Registry> {
    let routes = (0..RULES).map(|n| rule(n, cel_every)).collect::<Result<Vec<_>>>()?;
    let mut registry = Registry {
        routes,
        ..Registry::default()
    };
    registry.compiled = registry
        .routes
        .iter()
        .map(|r| {
            shoprelay_engine::config::CompiledRule::compile(r)
                .map(|c| (r.id.clone(), std::sync::Arc::new(c)))
                .map_err(|e| anyhow::anyhow!("rule {}: {e}", r.id))
        })
        .collect::<Result<_>>()?;
    Ok(registry)
}

/// Event × rule evaluations per second on this thread for `duration`, and how many matched per event.
fn evaluations(registry: &Registry, duration: Duration) -> (f64, usize) {
    let event = sample_event(EventKind::OrderCreated);
    let started = Instant::now();
    let mut evaluated = 0u64;
    let mut matched = 0;
    while started.elapsed() < duration {
        for _ in 0..10 {
            let prepared = PreparedEvent::new(&event, SAMPLE_TIME);
            matched = 0;
            for rule in registry.routes.iter().filter(|r| r.matches(&event)) {
                let hit = registry
                    .compiled
                    .get(&rule.id)
                    .and_then(|c| c.condition.as_ref())
                    .is_none_or(|c| c.eval(&prepared).is_match());
                matched += usize::from(hit);
                evaluated += 1;
            }
        }
    }
    (evaluated as f64 / started.elapsed().as_secs_f64(), matched)
}

/// Whole routing (evaluation and rendering of every delivery) of one event, per second.
fn routings(registry: &Registry, duration: Duration) -> (f64, usize) {
    let event = sample_event(EventKind::OrderCreated);
    let started = Instant::now();
    let mut events = 0u64;
    let mut deliveries = 0;
    while started.elapsed() < duration {
        deliveries = routing::route(registry, &event, SAMPLE_TIME, Default::default())
            .deliveries
            .len();
        events += 1;
    }
    (events as f64 / started.elapsed().as_secs_f64(), deliveries)
}

/// Runs the section on a blocking thread (one core) and adds its rows.
pub(crate) async fn run(duration: Duration, report: &mut Report) -> Result<()> {
    let (fields, mixed, routed) = tokio::task::spawn_blocking(move || -> Result<_> {
        let plain = registry(0)?;
        let with_cel = registry(10)?;
        Ok((
            evaluations(&plain, duration),
            evaluations(&with_cel, duration),
            routings(&with_cel, duration),
        ))
    })
    .await
    .context("the rules benchmark panicked")??;
    let line = |(rate, matched): (f64, usize)| format!("{} ({matched} of {RULES} match)", per_sec(rate));
    println!("rules: {} field, {} with CEL", per_sec(fields.0), per_sec(mixed.0));
    report.check(
        "rule evaluations, 1,000 field-condition rules, one core",
        line(fields),
        "≥ 100,000/s",
        fields.0 >= TARGET,
    );
    report.check(
        "rule evaluations, 1,000 rules with 10 % CEL, one core",
        line(mixed),
        "≥ 100,000/s",
        mixed.0 >= TARGET,
    );
    report.info(
        "events routed and rendered, 1,000 rules (10 % CEL), one core",
        format!("{} ({} deliveries each)", per_sec(routed.0), routed.1),
    );
    Ok(())
}
