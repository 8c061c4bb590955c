//! `/wecom/callback/{app_id}`: WeCom's callbacks for a self-built app (`{app_id}` is its `[[wecom.apps]]`
//! id), encrypted per WXBizMsgCrypt with the app's Token and EncodingAESKey.
//!
//! - `GET` is WeCom's URL verification: the signed, encrypted `echostr` is answered decrypted.
//! - `POST` carries a member's message to the app, a card button click or an event. It is verified,
//!   decrypted, parsed and stored once (WeCom retries three times and must get an answer within 5 s, so
//!   nothing slow happens before it), then answered `200` with an empty body.
//!
//! A callback whose signature, receiver or encryption does not check out is refused, audited and never
//! stored. The inner XML is parsed without expanding entities.

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shoprelay_core::error::UserFacing;
use shoprelay_core::ids::ConfigId;
use shoprelay_store::NewCallback;
use shoprelay_wecom::callback::{CallbackEnvelope, CallbackMessage};
use shoprelay_wecom::crypto::{CallbackCrypto, CryptoError};

use crate::error::ApiError;
use crate::AppState;

/// Largest callback body accepted: WeCom's are a few KiB.
pub const MAX_CALLBACK_BYTES: usize = 64 * 1024;

/// The signature parameters WeCom adds to the callback URL.
#[derive(Debug, Deserialize)]
pub struct Signed {
    msg_signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    echostr: Option<String>,
}

/// Why a callback was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No WeCom app with this id, or it has no callback Token and EncodingAESKey.
    #[error("no WeCom app `{0}` with a callback Token and EncodingAESKey is configured")]
    NotConfigured(String),
    /// `msg_signature`, `timestamp`, `nonce` (or, to verify the URL, `echostr`) is missing.
    #[error("the callback URL lacks msg_signature, timestamp, nonce or echostr")]
    MissingParameters,
    /// Body over [`MAX_CALLBACK_BYTES`].
    #[error("callback body larger than 64 KiB")]
    TooLarge,
    /// The signature does not match.
    #[error("callback signature does not match")]
    SignatureInvalid,
    /// Decrypted for another corp.
    #[error("callback addressed to another corp")]
    WrongReceiver,
    /// Not WXBizMsgCrypt XML, or it does not decrypt.
    #[error("callback cannot be read: {0}")]
    Malformed(CryptoError),
}

impl From<CryptoError> for CallbackError {
    fn from(err: CryptoError) -> Self {
        match err {
            CryptoError::InvalidSignature => Self::SignatureInvalid,
            CryptoError::ReceiveIdMismatch { .. } => Self::WrongReceiver,
            other => Self::Malformed(other),
        }
    }
}

impl UserFacing for CallbackError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured(_) => "wecom_callback.not_configured",
            Self::MissingParameters => "wecom_callback.missing_parameters",
            Self::TooLarge => "wecom_callback.too_large",
            Self::SignatureInvalid => "wecom_callback.signature_invalid",
            Self::WrongReceiver => "wecom_callback.wrong_receiver",
            Self::Malformed(_) => "wecom_callback.malformed",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotConfigured(_) => 404,
            Self::MissingParameters | Self::Malformed(_) => 400,
            Self::TooLarge => 413,
            Self::SignatureInvalid | Self::WrongReceiver => 401,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::NotConfigured(id) => format!(
                "未配置 ID 为「{id}」且填写了 callback_token 与 encoding_aes_key 的企业微信应用：请核对企业微信后台「接收消息」的 URL 与 [[wecom.apps]]"
            ),
            Self::MissingParameters => "回调地址缺少 msg_signature、timestamp、nonce 或 echostr 参数".into(),
            Self::TooLarge => "回调内容超过 64 KiB，已拒收".into(),
            Self::SignatureInvalid => {
                "回调签名不匹配：请确认 callback_token 与企业微信后台「接收消息」中的 Token 完全一致".into()
            }
            Self::WrongReceiver => "回调不是发给本企业的：请确认该应用的 corp_id 正确".into(),
            Self::Malformed(_) => {
                "回调内容无法解密或解析：请确认 encoding_aes_key 与企业微信后台的 EncodingAESKey 完全一致".into()
            }
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::NotConfigured(id) => format!(
                "No WeCom app `{id}` with callback_token and encoding_aes_key is configured: check the URL set under \"Receive messages\" in the WeCom admin console against [[wecom.apps]]"
            ),
            Self::SignatureInvalid => {
                "Callback signature mismatch: callback_token must equal the Token set under \"Receive messages\" in the WeCom admin console".into()
            }
            Self::WrongReceiver => "The callback is addressed to another corp: check the app's corp_id".into(),
            Self::Malformed(_) => {
                "The callback cannot be decrypted or read: encoding_aes_key must equal the EncodingAESKey set in the WeCom admin console".into()
            }
            other => other.to_string(),
        }
    }
}

/// The app's callback crypto, when it is configured for callbacks.
fn crypto_of(state: &AppState, app_id: &str) -> Result<(ConfigId, CallbackCrypto), CallbackError> {
    let not_configured = || CallbackError::NotConfigured(app_id.chars().take(64).collect());
    let id = ConfigId::parse(app_id).map_err(|_| not_configured())?;
    let registry = state.engine.registry();
    let app = registry.wecom_apps.get(&id).ok_or_else(not_configured)?;
    let (Some(token), Some(key)) = (&app.callback_token, &app.encoding_aes_key) else {
        return Err(not_configured());
    };
    let crypto = CallbackCrypto::new(token.expose(), key.expose(), app.corp_id.clone())?;
    Ok((id, crypto))
}

/// The three signature parameters, all present.
fn signed(q: &Signed) -> Result<(&str, &str, &str), CallbackError> {
    match (&q.msg_signature, &q.timestamp, &q.nonce) {
        (Some(s), Some(t), Some(n)) => Ok((s, t, n)),
        _ => Err(CallbackError::MissingParameters),
    }
}

/// URL verification: answers the decrypted `echostr` as plain text.
pub async fn verify(State(state): State<AppState>, Path(app_id): Path<String>, Query(q): Query<Signed>) -> Response {
    let result = (|| {
        let (_, crypto) = crypto_of(&state, &app_id)?;
        let (signature, timestamp, nonce) = signed(&q)?;
        let echostr = q.echostr.as_deref().ok_or(CallbackError::MissingParameters)?;
        Ok::<_, CallbackError>(crypto.open(signature, timestamp, nonce, echostr)?)
    })();
    match result {
        Ok(plain) => {
            state.engine.callbacks().verified(&app_id);
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], plain).into_response()
        }
        Err(err) => refuse(&state, &app_id, err),
    }
}

/// A message, card click or event: stored once, then answered 200 with an empty body.
pub async fn receive(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(q): Query<Signed>,
    body: Body,
) -> Response {
    let opened = async {
        let (id, crypto) = crypto_of(&state, &app_id)?;
        let (signature, timestamp, nonce) = signed(&q)?;
        let raw = to_bytes(body, MAX_CALLBACK_BYTES)
            .await
            .map_err(|_| CallbackError::TooLarge)?;
        let text = std::str::from_utf8(&raw).map_err(|_| CallbackError::Malformed(CryptoError::IllegalBuffer))?;
        let envelope = CallbackEnvelope::parse(text)?;
        let inner = crypto.open(signature, timestamp, nonce, &envelope.encrypt)?;
        let message = CallbackMessage::parse(&inner)?;
        Ok::<_, CallbackError>((id, inner, message))
    }
    .await;
    let (id, inner, message) = match opened {
        Ok(opened) => opened,
        Err(err) => return refuse(&state, &app_id, err),
    };
    let new = NewCallback {
        app_id: id,
        dedupe_key: message.dedupe_key(),
        kind: kind_of(&message),
        body: inner,
        received_at: state.engine.clock.now(),
    };
    match state.engine.callbacks().receive(&new).await {
        Ok(stored) => {
            let outcome = if stored { "received" } else { "duplicate" };
            metrics::counter!("shoprelay_wecom_callbacks_total", "outcome" => outcome).increment(1);
            if stored {
                state.engine.wake_callbacks();
            }
            StatusCode::OK.into_response()
        }
        // Not stored: a 5xx makes WeCom retry, which is what we want.
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The stored kind of a message: `text`, `template_card_event`, or WeCom's own type.
fn kind_of(message: &CallbackMessage) -> String {
    match message {
        CallbackMessage::Text { .. } => "text".into(),
        CallbackMessage::TemplateCardEvent { .. } => "template_card_event".into(),
        CallbackMessage::Other { msg_type, .. } => msg_type.chars().take(64).collect(),
    }
}

/// Audits a refused callback (never stored, never processed) and answers why.
fn refuse(state: &AppState, app_id: &str, err: CallbackError) -> Response {
    let detail = match &err {
        CallbackError::Malformed(cause) => format!("{}: {cause}", err.code()),
        _ => format!("{}: {err}", err.code()),
    };
    state.engine.callbacks().refused(app_id, err.status(), detail);
    tracing::warn!(app = app_id, code = err.code(), "WeCom callback refused");
    metrics::counter!("shoprelay_wecom_callbacks_total", "outcome" => "rejected").increment(1);
    ApiError::from(err).into_response()
}
