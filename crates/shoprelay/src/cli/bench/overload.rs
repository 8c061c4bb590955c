//! Overload: 10,000 orders (signed pushes from the Shopee simulator, distinct order numbers) to ONE WeCom
//! app at its default budget of 200/min, workers on, SQLite. shoprelay must keep every 60-s window of
//! the app within budget and still make every order visible — in a message's body, or on the digest page
//! (`{public_url}/digests/{token}`) a digest message links to.
//!
//! The orders come from 10 shops, each routed to its own member of the app, so each member gets a tenth of
//! them: WeCom's per-member limit (30/min) × 10 members = 300/min, above the app's 200/min, so the app
//! budget is the one that binds. (With one member or one department, its 30/min would bind first.)

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result};
use shoprelay_clock::{Clock, SystemClock};
use shoprelay_sim::load::unix_ms_f64;
use shoprelay_sim::wecom::{Destination, SimLimits, SimMessage};
use tokio::time::Instant;

use super::delivery::{create_orders, Sent};
use super::fleet::{setup, shared_agent_id, Fleet, Setup};
use super::{LoadRuntime, Report};

/// Orders of the run.
const ORDERS: u64 = 10_000;
/// Members of the app the orders are spread over (one shop each).
const MEMBERS: usize = 10;
/// Orders created per second (the pushes take ORDERS / ORDERS_PER_SEC seconds).
const ORDERS_PER_SEC: f64 = 1_000.0;
/// The app's budget (shoprelay's default `rate_per_minute`, WeCom's limit for an app).
const APP_BUDGET: usize = 200;
/// WeCom's limit per member, per minute.
const MEMBER_BUDGET: usize = 30;
/// Target: every order visible within this long after the first push (the pushes take 10 s; the queue
/// folds into digests as soon as it outgrows what the window's budget can carry).
const VISIBLE_TARGET: Duration = Duration::from_secs(30);
/// Give up waiting after this long.
const GIVE_UP: Duration = Duration::from_secs(300);
const WINDOW_MS: u64 = 60_000;

/// The most of `stamps` (unsorted, ms) in any window of `WINDOW_MS`.
fn max_in_window(mut stamps: Vec<u64>) -> usize {
    stamps.sort_unstable();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..stamps.len() {
        while stamps[hi] - stamps[lo] >= WINDOW_MS {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

/// The order numbers with `prefix` (followed by 8 digits, as [`create_orders`] makes them) in `text`.
fn order_sns<'a>(text: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.match_indices(prefix)
        .filter_map(move |(at, _)| text.get(at..at + prefix.len() + 8))
}

/// The digest page tokens a message links to.
fn digest_tokens(text: &str) -> Vec<String> {
    text.match_indices("/digests/")
        .map(|(at, m)| {
            text[at + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>()
        })
        .filter(|t| !t.is_empty())
        .collect()
}

fn is_app(m: &SimMessage, agent: i64) -> bool {
    matches!(m.destination, Destination::App { agentid } if agentid == agent)
}

/// Waits until every order in `sent` is visible; returns when each became visible (simulator stamp, ms).
async fn watch(setup: &Setup, prefix: &str, sent: &Sent, deadline: Instant) -> Result<HashMap<String, u64>> {
    let agent = shared_agent_id();
    let http = reqwest::Client::new();
    let base = format!("http://{}", setup.server.addr);
    let mut visible: HashMap<String, u64> = HashMap::with_capacity(sent.len());
    let mut seen_pages: HashSet<String> = HashSet::new();
    let mut last_id = 0;
    loop {
        let after = last_id;
        let fresh: Vec<SimMessage> = setup
            .wecom
            .messages()
            .into_iter()
            .filter(|m| m.id > after && is_app(m, agent))
            .collect();
        for m in fresh {
            last_id = last_id.max(m.id);
            let body = m.body.to_string();
            for sn in order_sns(&body, prefix) {
                if sent.contains_key(sn) {
                    visible.entry(sn.to_owned()).or_insert(m.at_unix_ms);
                }
            }
            for token in digest_tokens(&body) {
                if !seen_pages.insert(token.clone()) {
                    continue;
                }
                let page = http
                    .get(format!("{base}/digests/{token}"))
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .with_context(|| format!("digest page {token}"))?
                    .text()
                    .await?;
                for sn in order_sns(&page, prefix) {
                    if sent.contains_key(sn) {
                        visible.entry(sn.to_owned()).or_insert(m.at_unix_ms);
                    }
                }
            }
        }
        if visible.len() >= sent.len() || Instant::now() > deadline {
            return Ok(visible);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The overload section (`--overload`).
pub(super) async fn overload(load: &LoadRuntime, report: &mut Report) -> Result<()> {
    let setup = setup(MEMBERS, Fleet::SharedApp, SimLimits::default()).await?;
    let outcome = run(load, &setup, report).await;
    setup.server.stop().await?;
    outcome
}

async fn run(load: &LoadRuntime, setup: &Setup, report: &mut Report) -> Result<()> {
    let prefix = format!("OV{:05X}", SystemClock.now().as_millis().rem_euclid(0x10_0000));
    let started_ms = unix_ms_f64() as u64;
    let started = Instant::now();
    let pushes = create_orders(setup.shopee.clone(), prefix.clone(), MEMBERS, ORDERS_PER_SEC, ORDERS, 1);
    let (sent, _) = load.run(pushes).await??;
    let pushed = started.elapsed();
    let visible = watch(setup, &prefix, &sent, started + GIVE_UP).await?;

    let agent = shared_agent_id();
    let messages: Vec<SimMessage> = setup
        .wecom
        .messages()
        .into_iter()
        .filter(|m| is_app(m, agent))
        .collect();
    let app_max = max_in_window(messages.iter().map(|m| m.at_unix_ms).collect());
    let mut per_member: HashMap<&str, Vec<u64>> = HashMap::new();
    for m in &messages {
        for r in &m.recipients {
            per_member.entry(r.as_str()).or_default().push(m.at_unix_ms);
        }
    }
    let member_max = per_member.into_values().map(max_in_window).max().unwrap_or(0);
    let digests = messages
        .iter()
        .filter(|m| !digest_tokens(&m.body.to_string()).is_empty())
        .count();
    let stats = setup.wecom.stats();

    let all = visible.len() as u64 == ORDERS;
    let last = visible.values().max().copied().unwrap_or(started_ms);
    let took = Duration::from_millis(last.saturating_sub(started_ms));
    let what = format!("overload: 10,000 orders → 1 app (200/min), {MEMBERS} members: all visible in WeCom");
    if all {
        report.check(
            what,
            format!("{:.1} s", took.as_secs_f64()),
            format!("≤ {} s", VISIBLE_TARGET.as_secs()),
            took <= VISIBLE_TARGET,
        );
    } else {
        report.check(
            what,
            format!("{} of {ORDERS} after {} s", visible.len(), GIVE_UP.as_secs()),
            format!("≤ {} s", VISIBLE_TARGET.as_secs()),
            false,
        );
    }
    report.check(
        "overload: most messages WeCom accepted for the app in any 60-s window",
        app_max.to_string(),
        format!("≤ {APP_BUDGET} (0 windows over)"),
        app_max <= APP_BUDGET,
    );
    let bound = if app_max >= APP_BUDGET * 95 / 100 && member_max < MEMBER_BUDGET {
        format!("the app's {APP_BUDGET}/min bound (members peaked at {member_max} < {MEMBER_BUDGET}/min)")
    } else if member_max >= MEMBER_BUDGET {
        format!("the per-member {MEMBER_BUDGET}/min bound (app peaked at {app_max}/min)")
    } else {
        format!("neither limit was reached (app peak {app_max}, member peak {member_max} per 60 s)")
    };
    report.note(format!(
        "overload: {ORDERS} pushes in {:.1} s from 10 shops, each routed to its own member of one app (10 × \
         {MEMBER_BUDGET}/min = {}/min > the app's {APP_BUDGET}/min, so the app budget should bind; with one \
         member or department its {MEMBER_BUDGET}/min binds first): {bound}. WeCom accepted {} messages for the \
         app ({digests} digests), most per member in any 60 s {member_max}; simulator dropped over member limits \
         {}, refused {:?}. Visible = order number in a message body or on the digest page it links to.",
        pushed.as_secs_f64(),
        MEMBERS * MEMBER_BUDGET,
        messages.len(),
        stats.dropped_over_limit,
        stats.rejected,
    ));
    println!(
        "  overload: {} of {ORDERS} visible, last after {:.1} s; max per 60 s {app_max}",
        visible.len(),
        took.as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_counts_the_busiest_minute() {
        assert_eq!(max_in_window(vec![]), 0);
        assert_eq!(max_in_window(vec![0, 59_999, 60_000, 119_999]), 2);
        assert_eq!(max_in_window(vec![5, 1, 3, 2]), 4);
    }

    #[test]
    fn finds_digest_tokens_and_order_numbers() {
        let text = r#"{"markdown":{"content":"共 3 条 OV1234500000001 [全部](http://x/digests/ab-C_9)"}}"#;
        assert_eq!(digest_tokens(text), vec!["ab-C_9".to_owned()]);
        assert_eq!(order_sns(text, "OV12345").collect::<Vec<_>>(), vec!["OV1234500000001"]);
    }
}
