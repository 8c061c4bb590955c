//! `/console/entity`: the entity consistency check (主体一致性) per shop — each problem with its code, the
//! character-level diff and the fix — and the forms that correct either side.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use shoprelay_core::entity::{DiffOp, EntityProblem, ShopState, Side};
use shoprelay_core::error::{Lang, UserFacing};
use shoprelay_core::time::{format_local, region_timezone};
use shoprelay_engine::service::entity::{ShopLicence, WeComEntity};

use super::page::{error_page, ok_page};
use super::{t, Authed, Posted};
use crate::AppState;

/// The diff as marked-up text: what only the shop has struck through, what only WeCom has underlined.
fn diff_markup(lang: Lang, problem: &EntityProblem) -> Markup {
    let EntityProblem::Mismatch(m) = problem else {
        return html! {};
    };
    html! {
        p.diff {
            (t(lang, "差异（删除线：仅店铺有；高亮：仅企业微信有）：", "Diff (struck: only the shop's; highlighted: only WeCom's): "))
            @for part in &m.diff {
                @match part.op {
                    DiffOp::Same => span { (part.text) },
                    DiffOp::OnlyShop => del { (part.text) },
                    DiffOp::OnlyWeCom => ins { (part.text) },
                }
            }
        }
        p { strong { (t(lang, "修改：", "Fix: ")) }
            (match m.fix.change { Side::Shop => t(lang, "店铺一侧", "the shop's side"), Side::WeCom => t(lang, "企业微信一侧", "the WeCom side") })
            " → " code { (m.fix.to) }
        }
    }
}

fn state_name(lang: Lang, state: ShopState) -> &'static str {
    match state {
        ShopState::Active => t(lang, "已授权", "authorized"),
        ShopState::Inactive => t(lang, "未授权", "not authorized"),
        ShopState::Frozen => t(lang, "已冻结", "frozen"),
    }
}

/// `GET /console/entity`.
pub async fn page(State(state): State<AppState>, authed: Authed) -> Response {
    let lang = authed.lang;
    let service = state.engine.entity();
    let (wecom, reports) = match (service.wecom_entity().await, service.reports().await) {
        (Ok(w), Ok(r)) => (w, r),
        (Err(err), _) | (_, Err(err)) => return error_page(lang, Some(&authed), &err),
    };
    let body = html! {
        section {
            h2 { (t(lang, "企业微信认证主体", "The WeCom company")) }
            p.muted { (t(lang,
                "在企业微信管理后台「我的企业 › 企业信息」查看认证主体名称与认证状态后填写。",
                "Copy the verified company name and verification state from WeCom's admin console (My company › Company info).")) }
            form method="post" action="/console/entity/wecom" {
                input type="hidden" name="csrf" value=(authed.csrf);
                label { (t(lang, "认证主体名称", "Verified company name")) " " input type="text" name="name" value=(wecom.name) required; }
                label { input type="checkbox" name="verified" value="1" checked[wecom.verified] style="min-width:0"; (t(lang, "已完成企业认证", "Verified by WeCom")) }
                label { (t(lang, "法定代表人（可选）", "Legal representative (optional)")) " " input type="text" name="representative" value=[wecom.representative.as_deref()]; }
                label { (t(lang, "注册资本（可选，如 100万元）", "Registered capital (optional, e.g. RMB 1,000,000)")) " " input type="text" name="registered_capital" value=[wecom.registered_capital.as_deref()]; }
                button type="submit" { (t(lang, "保存", "Save")) }
            }
        }
        @if reports.is_empty() {
            section { p { (t(lang, "尚未配置店铺。", "No shop is configured yet.")) } }
        }
        @for r in &reports {
            section id={ "shop-" (r.app) "-" (r.shop) } {
                h2 { (r.name) " " span.muted { "(" (r.app) " / " (r.shop) ", " (state_name(lang, r.state)) ")" } }
                @if let Some(at) = r.reported_at {
                    p.muted { (t(lang, "店铺状态由平台推送于 ", "Shop status pushed by the marketplace at "))
                        (format_local(at, region_timezone(None))) }
                }
                p { (t(lang, "营业执照主体：", "Licensed company: ")) code { (r.legal_entity.as_deref().unwrap_or("—")) } }
                @if r.problems.is_empty() {
                    div.ok { (t(lang, "主体一致 ✔", "Entities match ✔")) }
                }
                @for p in &r.problems {
                    div.err role="alert" {
                        strong { code { (p.code()) } } " " (lang.message(p))
                        (diff_markup(lang, p))
                    }
                }
                form method="post" action={ "/console/entity/shop/" (r.app) "/" (r.shop) } {
                    input type="hidden" name="csrf" value=(authed.csrf);
                    label { (t(lang, "更正店铺营业执照主体", "Correct the shop's licensed company")) " "
                        input type="text" name="legal_entity" value=(suggested(r.legal_entity.as_deref(), &r.problems)) required; }
                    label { (t(lang, "营业执照法定代表人（可选）", "Legal representative on the licence (optional)")) " "
                        input type="text" name="representative" value=[r.licence.representative.as_deref()]; }
                    label { (t(lang, "营业执照注册资本（可选）", "Registered capital on the licence (optional)")) " "
                        input type="text" name="registered_capital" value=[r.licence.registered_capital.as_deref()]; }
                    button type="submit" { (t(lang, "保存并重新检查", "Save and check again")) }
                }
            }
        }
    };
    ok_page(
        lang,
        Some(&authed),
        "/console/entity",
        t(lang, "主体一致性检查", "Entity consistency check"),
        body,
    )
}

/// The shop form's value: the fix when the shop's side is the one to change, else what is recorded.
fn suggested(current: Option<&str>, problems: &[EntityProblem]) -> String {
    problems
        .iter()
        .find_map(|p| match p {
            EntityProblem::Mismatch(m) if m.fix.change == Side::Shop => Some(m.fix.to.clone()),
            _ => None,
        })
        .or_else(|| current.map(str::to_owned))
        .unwrap_or_default()
}

/// The WeCom company's facts.
#[derive(Deserialize)]
pub struct WeComForm {
    name: String,
    verified: Option<String>,
    representative: Option<String>,
    registered_capital: Option<String>,
}

/// `POST /console/entity/wecom`.
pub async fn set_wecom(State(state): State<AppState>, posted: Posted<WeComForm>) -> Response {
    let Posted { authed, form } = posted;
    let entity = WeComEntity {
        name: form.name,
        verified: form.verified.is_some(),
        representative: form.representative,
        registered_capital: form.registered_capital,
    };
    match state.engine.entity().set_wecom_entity(&authed.user, entity).await {
        Ok(()) => Redirect::to("/console/entity").into_response(),
        Err(err) => error_page(authed.lang, Some(&authed), &err),
    }
}

/// The shop's licensed company.
#[derive(Deserialize)]
pub struct ShopForm {
    legal_entity: String,
    representative: Option<String>,
    registered_capital: Option<String>,
}

/// `POST /console/entity/shop/{app}/{shop}`.
pub async fn set_shop(
    State(state): State<AppState>,
    Path((app, shop)): Path<(String, String)>,
    posted: Posted<ShopForm>,
) -> Response {
    let Posted { authed, form } = posted;
    match state
        .engine
        .entity()
        .set_shop_entity(
            &authed.user,
            &app,
            &shop,
            &form.legal_entity,
            ShopLicence {
                representative: form.representative,
                registered_capital: form.registered_capital,
            },
        )
        .await
    {
        Ok(()) => Redirect::to("/console/entity").into_response(),
        Err(err) => error_page(authed.lang, Some(&authed), &err),
    }
}
