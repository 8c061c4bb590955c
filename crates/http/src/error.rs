//! Every error the API answers: a status and `{code, message, message_en}`. Internal causes are logged,
//! never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shoprelay_core::error::{ErrorBody, UserFacing};

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// Builds the answer for any user-facing error, logging server-side ones with their cause.
    pub fn from_user_facing<E: UserFacing + std::fmt::Debug>(err: &E) -> Self {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = ?err, code = err.code(), "request failed");
        }
        Self {
            status,
            body: err.to_body(),
        }
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code answered.
    pub fn code(&self) -> &'static str {
        self.body.code
    }
}

impl<E: UserFacing + std::fmt::Debug> From<E> for ApiError {
    fn from(err: E) -> Self {
        Self::from_user_facing(&err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
