//! `POST /push/{platform}/{app_id}`: verify the signature (the app's adapter knows how: Shopee over the
//! exact callback URL and raw body), store the push durably (group commit), then answer 2xx with an empty
//! body. Nothing slow happens before the answer — no network I/O — since Shopee disables subscriptions
//! that answer slowly or fail (within 3 s; Lazada counts anything over 500 ms as a failure).
//!
//! Every correctly signed push is stored and answered 2xx, whatever its shape: Shopee counts any other
//! answer as a failure, disables the subscription below 30 % success, and never resends what it missed
//! meanwhile. A push we cannot read is our problem — it becomes a failed inbox item, visible in the audit
//! log and replayable (`shoprelay replay --failed-pushes`) after an upgrade. Only a body over 1 MiB, an
//! unknown app and a missing or wrong signature are refused.

use std::time::Instant;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ConfigId;
use shoprelay_marketplaces::adapter::PushRefusal;
use shoprelay_marketplaces::platform::push_key_label;
use shoprelay_store::{NewPush, PushInsert};

use crate::error::ApiError;
use crate::AppState;

/// Header of the push "test connection" sends itself: once its signature checks out it is answered like a
/// verification push — audited, never stored — since it proves the URL and the keys, and carries no news.
pub const PROBE_HEADER: &str = "x-shoprelay-probe";

/// Largest push body accepted.
pub const MAX_PUSH_BYTES: usize = 1024 * 1024;

/// Why a push was refused: only these get a non-2xx answer. Nothing is stored (each is audited as rejected).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Body over [`MAX_PUSH_BYTES`].
    #[error("push body larger than 1 MiB")]
    TooLarge,
    /// No app of this marketplace with this id is configured.
    #[error("no {platform} app `{app}` is configured")]
    UnknownApp {
        /// The marketplace the URL names.
        platform: String,
        /// The app id the URL names.
        app: String,
    },
    /// No `Authorization` header.
    #[error("missing Authorization header")]
    SignatureMissing,
    /// The signature does not match.
    #[error("push signature does not match")]
    SignatureInvalid {
        /// The key the marketplace signs with, as its console names it (e.g. "Shopee: Live Push Partner Key").
        key: String,
    },
}

impl UserFacing for PushError {
    fn code(&self) -> &'static str {
        match self {
            PushError::TooLarge => "push.too_large",
            PushError::UnknownApp { .. } => "push.unknown_app",
            PushError::SignatureMissing => "push.signature_missing",
            PushError::SignatureInvalid { .. } => "push.signature_invalid",
        }
    }

    fn status(&self) -> u16 {
        match self {
            PushError::TooLarge => 413,
            PushError::UnknownApp { .. } => 404,
            PushError::SignatureMissing | PushError::SignatureInvalid { .. } => 401,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            PushError::TooLarge => "推送内容超过 1 MiB，已拒收".into(),
            PushError::UnknownApp { platform, app } => {
                format!("未配置 ID 为「{app}」的 {platform} 应用：请检查平台后台填写的推送地址（/push/{platform}/{app}）与 shoprelay.toml 中 [[{platform}.apps]] 的 id 是否一致")
            }
            PushError::SignatureMissing => "推送缺少 Authorization 签名头".into(),
            PushError::SignatureInvalid { key } => {
                format!("推送签名不匹配：请确认应用的推送密钥正确（{key}），且 server.public_url 与平台后台填写的回调地址完全一致")
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            PushError::UnknownApp { platform, app } => format!(
                "No {platform} app `{app}` is configured: check that the push URL set at the marketplace (/push/{platform}/{app}) matches an [[{platform}.apps]] id in shoprelay.toml"
            ),
            PushError::SignatureInvalid { key } => format!("Push signature mismatch: check the app's push key ({key}) and that server.public_url is exactly the callback URL set at the marketplace"),
            other => other.to_string(),
        }
    }
}

/// The push handler of every marketplace: `/push/{platform}/{app_id}`.
pub async fn receive(
    State(state): State<AppState>,
    Path((platform, app_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let result = accept(&state, &platform, &app_id, &headers, body).await;
    let outcome = match &result {
        Ok(Ack::Stored) => "accepted",
        Ok(Ack::Duplicate) => "duplicate",
        Ok(Ack::Verification) => "verification",
        Ok(Ack::Unreadable) => "unreadable",
        Err(_) => "rejected",
    };
    metrics::counter!("shoprelay_pushes_total", "outcome" => outcome).increment(1);
    metrics::histogram!("shoprelay_push_ack_seconds").record(started.elapsed().as_secs_f64());
    match result {
        // Shopee counts a push as delivered only on 2xx with an EMPTY body; the others accept it too.
        Ok(_) => StatusCode::OK.into_response(),
        Err(err) => err.into_response(),
    }
}

/// How an accepted push was acknowledged.
enum Ack {
    Stored,
    Duplicate,
    Verification,
    /// Stored, but its shape is not one we read: it fails in the inbox, replayable.
    Unreadable,
}

async fn accept(
    state: &AppState,
    platform: &str,
    app_id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Ack, ApiError> {
    let raw = match to_bytes(body, MAX_PUSH_BYTES).await {
        Ok(raw) => raw,
        Err(_) => return Err(reject(state, platform, app_id, PushError::TooLarge).await),
    };
    let registry = state.engine.registry();
    let Some(app) = ConfigId::parse(app_id)
        .ok()
        .and_then(|id| registry.marketplaces.get(&id).cloned())
        .filter(|app| app.platform().as_str() == platform)
    else {
        let unknown = PushError::UnknownApp {
            platform: platform.chars().take(24).collect(),
            app: app_id.to_owned(),
        };
        return Err(reject(state, platform, app_id, unknown).await);
    };
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let public_url = &state.engine.settings.public_url;
    match app.verify_push(public_url, authorization, &raw) {
        Ok(()) => {}
        Err(PushRefusal::SignatureMissing) => {
            return Err(reject(state, platform, app_id, PushError::SignatureMissing).await)
        }
        Err(PushRefusal::SignatureInvalid) => {
            let key = push_key_label(app.platform());
            return Err(reject(state, platform, app_id, PushError::SignatureInvalid { key }).await);
        }
    }
    if headers.contains_key(PROBE_HEADER) {
        state.engine.pushes().verified(app.as_ref()).await?;
        return Ok(Ack::Verification);
    }
    let push = match app.read_push(&raw) {
        Ok(push) => push,
        Err(err) => {
            // Signed by the marketplace, so kept: the inbox worker fails it with the reason (audited), and
            // a replay after an upgrade reads it again. The answer is a plain 2xx like any other push.
            tracing::warn!(app = app_id, error = %err, "signed push we cannot read; stored as a failed item");
            let new = NewPush {
                platform: app.platform(),
                app_id: app.id().clone(),
                dedupe_key: app.unreadable_dedupe_key(&raw),
                code: app.unreadable_code(&raw),
                shop_id: None,
                order_sn: None,
                body: String::from_utf8_lossy(&raw).into_owned(),
                received_at: state.engine.clock.now(),
            };
            return Ok(match state.engine.accept_push(new).await? {
                PushInsert::Stored(_) => Ack::Unreadable,
                PushInsert::Duplicate => Ack::Duplicate,
            });
        }
    };
    if push.verification {
        state.engine.pushes().verified(app.as_ref()).await?;
        return Ok(Ack::Verification);
    }
    let new = NewPush {
        platform: app.platform(),
        app_id: app.id().clone(),
        dedupe_key: push.dedupe_key,
        code: push.code,
        shop_id: push.shop,
        order_sn: push.order,
        body: utf8(raw),
        received_at: state.engine.clock.now(),
    };
    Ok(match state.engine.accept_push(new).await? {
        PushInsert::Stored(_) => Ack::Stored,
        PushInsert::Duplicate => Ack::Duplicate,
    })
}

fn utf8(raw: Bytes) -> String {
    // The adapter has already read it as JSON, which is UTF-8.
    String::from_utf8_lossy(&raw).into_owned()
}

/// Audits a refused push (queued, never waited for) and turns the reason into the answer.
async fn reject(state: &AppState, platform: &str, app_id: &str, err: PushError) -> ApiError {
    let detail = format!("{}: {err}", err.code());
    state.engine.pushes().refused(platform, app_id, err.status(), detail);
    tracing::info!(app = app_id, code = err.code(), "push rejected");
    ApiError::from(err)
}
