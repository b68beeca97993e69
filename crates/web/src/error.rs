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
    /// Not allowed (the reason is logged, not shown).
    #[error("not allowed")]
    Forbidden,
    /// A state-changing request without a valid CSRF token, or from a foreign origin.
    #[error("CSRF check failed")]
    Csrf,
    /// A body too large to read.
    #[error("request body too large")]
    TooLarge,
    /// More of something at once than one client may hold (event streams).
    #[error("too many at once")]
    TooMany,
    /// Malformed input.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The change no longer applies (e.g. another operator took the alarm).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A bug or an environment failure.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl WebError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Csrf | WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable code for the user and for support.
    pub fn code(&self) -> &'static str {
        match self {
            WebError::NotFound => "WB404",
            WebError::Unavailable(_) => "WB503",
            WebError::Csrf => "WB403",
            WebError::Forbidden => "WB403A",
            WebError::TooLarge => "WB413",
            WebError::TooMany => "WB429",
            WebError::BadRequest(_) => "WB400",
            WebError::Conflict(_) => "WB409",
            WebError::Internal(_) => "WB500",
        }
    }

    /// What the user is told (Swedish first, English after).
    pub fn message(&self) -> &'static str {
        match self {
            WebError::NotFound => "Sidan finns inte. / Not found.",
            WebError::Unavailable(_) => {
                "Tjänsten är inte tillgänglig just nu. / The service is not available right now."
            }
            WebError::Csrf => {
                "Begäran kunde inte verifieras. Ladda om sidan och försök igen. / The request could not be verified. Reload the page and try again."
            }
            WebError::Forbidden => {
                "Du har inte behörighet till detta. / You are not allowed to do this."
            }
            WebError::TooLarge => "För mycket data. / Too much data.",
            WebError::TooMany => {
                "För många öppna sidor. Stäng någon och försök igen. / Too many open pages. Close one and try again."
            }
            WebError::BadRequest(_) => "Felaktig begäran. / Bad request.",
            WebError::Conflict(_) => {
                "Någon annan hann före, eller så är det redan gjort. Ladda om sidan. / Someone else got there first, or it is already done. Reload the page."
            }
            WebError::Internal(_) => "Ett internt fel inträffade. / An internal error occurred.",
        }
    }
}

impl WebError {
    /// What the user is told, in one language.
    pub fn message_in(&self, lang: crate::i18n::Lang) -> &'static str {
        let mut both = self.message().split(" / ");
        let sv = both.next().unwrap_or_default();
        match lang {
            crate::i18n::Lang::Sv => sv,
            crate::i18n::Lang::En => both.next().unwrap_or(sv),
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
