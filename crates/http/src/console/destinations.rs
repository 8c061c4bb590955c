//! `/console/destinations`: each configured destination — pacing budget used in the last minute, breaker
//! state, dead letters with a replay button (operators) — and the queues' totals.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use shoprelay_core::destination::Destination;
use shoprelay_core::error::Lang;
use shoprelay_engine::service::console::require;
use shoprelay_store::{BreakerState, ReplayFilter, Role};

use super::page::{error_page, ok_page, time};
use super::{t, Authed, FormError, Posted};
use crate::AppState;

/// A breaker state in the page language.
fn breaker_name(lang: Lang, state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => t(lang, "正常", "closed"),
        BreakerState::Paced => t(lang, "配额用尽，暂停中", "paced"),
        BreakerState::Open => t(lang, "熔断中", "open"),
        BreakerState::Held => t(lang, "配置有误，已暂停", "held"),
    }
}

/// `GET /console/destinations`.
pub async fn page(State(state): State<AppState>, authed: Authed) -> Response {
    let lang = authed.lang;
    let overview = match state.engine.destinations().overview().await {
        Ok(o) => o,
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let q = &overview.queues;
    let body = html! {
        section {
            p { (t(lang, "待处理推送：", "Pushes waiting: ")) strong { (q.inbox_pending) } " · "
                (t(lang, "待投递：", "Deliveries queued: ")) strong { (q.deliveries_pending) } " · "
                (t(lang, "死信：", "Dead letters: ")) strong { (q.deliveries_dead) } }
        }
        table {
            tr { th { (t(lang, "目标", "Destination")) } th { (t(lang, "近一分钟发送 / 配额", "Sent last minute / budget")) }
                 th { (t(lang, "熔断状态", "Breaker")) } th { (t(lang, "死信", "Dead letters")) } th {} }
            @for r in &overview.rows {
                tr {
                    td { code { (r.destination.to_string()) } }
                    td { (r.sent_last_minute) " / " (r.per_minute) }
                    td {
                        @if r.breaker == BreakerState::Closed { span.step-ok { (breaker_name(lang, r.breaker)) } }
                        @else { span.step-fail { (breaker_name(lang, r.breaker)) } " " (r.reason) }
                        @if let Some(until) = r.paused_until { br; span.muted { (t(lang, "暂停至 ", "paused until ")) (time(until.as_millis())) } }
                    }
                    td { (r.dead) }
                    td {
                        @if r.dead > 0 {
                            form method="post" action="/console/destinations/replay" {
                                input type="hidden" name="csrf" value=(authed.csrf);
                                input type="hidden" name="destination" value=(r.destination.to_string());
                                button type="submit" { (t(lang, "重新投递死信", "Replay dead letters")) }
                            }
                        }
                    }
                }
            }
        }
    };
    ok_page(
        lang,
        Some(&authed),
        "/console/destinations",
        t(lang, "发送目标", "Destinations"),
        body,
    )
}

/// The destination whose dead letters go back in the queue.
#[derive(Deserialize)]
pub struct ReplayForm {
    destination: String,
}

/// `POST /console/destinations/replay` (operators): the destination's dead letters queued again, recorded.
pub async fn replay(State(state): State<AppState>, posted: Posted<ReplayForm>) -> Response {
    let Posted { authed, form } = posted;
    let lang = authed.lang;
    if let Err(err) = require(&authed.user, Role::Operator) {
        return error_page(lang, Some(&authed), &err);
    }
    let Ok(destination) = Destination::parse(&form.destination) else {
        return error_page(lang, Some(&authed), &FormError::Unreadable(form.destination));
    };
    let filter = ReplayFilter {
        destination: Some(destination),
        ..ReplayFilter::default()
    };
    let replayed = match state.engine.queues().replay_dead(&filter).await {
        Ok(n) => n,
        Err(err) => return error_page(lang, Some(&authed), &err),
    };
    let detail = format!("{replayed} dead letters queued again");
    if let Err(err) = state
        .engine
        .console()
        .record(&authed.user, "deliveries.replay", Some(&form.destination), detail)
        .await
    {
        return error_page(lang, Some(&authed), &err);
    }
    Redirect::to("/console/destinations").into_response()
}
