//! The one place where errors become HTTP responses: the user is told little
//! (a code and a short message), the log is told everything.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use trygg_store::StoreError;

/// An error on its way to becoming a response.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such route or resource.
    #[error("not found")]
    NotFound,
    /// A dependency (the database) is not ready.
    #[error("service unavailable: {0}")]
    Unavailable(#[source] StoreError),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Stable code for the user and for support.
    pub fn code(&self) -> &'static str {
        match self {
            WebError::NotFound => "WB404",
            WebError::Unavailable(_) => "WB503",
        }
    }

    /// What the user is told (Swedish first, English after).
    pub fn message(&self) -> &'static str {
        match self {
            WebError::NotFound => "Sidan finns inte. / Not found.",
            WebError::Unavailable(_) => {
                "Tjänsten är inte tillgänglig just nu. / The service is not available right now."
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "request refused");
        }
        (
            status,
            Json(serde_json::json!({ "code": self.code(), "message": self.message() })),
        )
            .into_response()
    }
}
