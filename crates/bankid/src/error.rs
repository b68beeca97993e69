//! Errors of the RP API and of setting up the client.
//!
//! Codes: `BI0xx` are BankID's answers, `BI1xx` our side of the call,
//! `BI2xx` configuration.

use crate::messages::{ErrorMessage, Rfa};
use std::path::PathBuf;

/// A failed call to the BankID RP API.
///
/// Show [`BankIdError::user_message`] to the user; the `Display` text is for
/// the log (it never contains secrets or personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankIdError {
    /// `alreadyInProgress` (400): an order for this user is already running.
    #[error("BI001 BankID: an order is already in progress for the user (alreadyInProgress)")]
    AlreadyInProgress,
    /// `requestTimeout` (408). Do not retry automatically.
    #[error("BI002 BankID: the request timed out (requestTimeout)")]
    RequestTimeout,
    /// `internalError` (500). Do not retry automatically.
    #[error("BI003 BankID: internal error (internalError)")]
    InternalError,
    /// `maintenance` (503): the only error that may be retried automatically.
    #[error("BI004 BankID: the service is under maintenance (maintenance)")]
    Maintenance,
    /// `unauthorized` (401/403): our RP certificate is not accepted.
    #[error("BI005 BankID: unauthorized (unauthorized): check the RP certificate")]
    Unauthorized,
    /// `notFound` (404): wrong URL.
    #[error("BI006 BankID: not found (notFound): check the base URL")]
    NotFound,
    /// `invalidParameters` (400), with BankID's `details`. Also what BankID
    /// answers for an unknown or finished `orderRef` ("No such order").
    #[error("BI007 BankID: invalid parameters (invalidParameters): {0}")]
    InvalidParameters(String),
    /// The call did not reach BankID or no answer came back (DNS, TCP, TLS,
    /// our client timeout).
    #[error("BI101 BankID: transport error: {0}")]
    Transport(String),
    /// An answer BankID does not document (status, error code or body).
    #[error("BI102 BankID: unexpected response: {0}")]
    UnexpectedResponse(String),
}

impl BankIdError {
    /// What to show the user, following BankID's recommendations:
    ///
    /// * `alreadyInProgress` → RFA4;
    /// * `requestTimeout`, `internalError` → RFA5, **no automatic retry**;
    /// * `maintenance` → RFA5, and the caller may retry (the only one);
    /// * everything else is a fault on our side, not a BankID error: the
    ///   generic RFA22; the detail goes to the log only (the client logs it
    ///   when the error happens).
    pub fn user_message(&self) -> ErrorMessage {
        match self {
            BankIdError::AlreadyInProgress => ErrorMessage {
                rfa: Rfa::Rfa4,
                retry: false,
            },
            BankIdError::RequestTimeout | BankIdError::InternalError => ErrorMessage {
                rfa: Rfa::Rfa5,
                retry: false,
            },
            BankIdError::Maintenance => ErrorMessage {
                rfa: Rfa::Rfa5,
                retry: true,
            },
            BankIdError::Unauthorized
            | BankIdError::NotFound
            | BankIdError::InvalidParameters(_)
            | BankIdError::Transport(_)
            | BankIdError::UnexpectedResponse(_) => ErrorMessage {
                rfa: Rfa::Rfa22,
                retry: false,
            },
        }
    }

    /// Whether the caller may retry the same call automatically (only
    /// `maintenance`).
    pub fn is_retryable(&self) -> bool {
        self.user_message().retry
    }

    /// Whether this is a fault on our side (configuration, a bug, the
    /// network) rather than an answer BankID documents for the user.
    pub fn is_our_fault(&self) -> bool {
        self.user_message().rfa == Rfa::Rfa22
    }
}

/// The client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The base URL does not parse or is not http(s).
    #[error("BI201 BankID base URL {0:?} is not an http(s) URL")]
    BaseUrl(String),
    /// A certificate or key file could not be read.
    #[error("BI202 cannot read BankID file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The client certificate and key do not form an identity.
    #[error("BI203 BankID client certificate/key {} is not valid PEM: {reason}", path.display())]
    Identity {
        /// The certificate file.
        path: PathBuf,
        /// Why (never the key material).
        reason: String,
    },
    /// The CA file holds no usable certificate.
    #[error("BI204 BankID CA file {} is not valid PEM: {reason}", path.display())]
    Ca {
        /// The CA file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("BI205 cannot build the BankID HTTP client: {0}")]
    Http(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfa_and_retry_per_bankid_recommendations() {
        let cases = [
            (BankIdError::AlreadyInProgress, Rfa::Rfa4, false),
            (BankIdError::RequestTimeout, Rfa::Rfa5, false),
            (BankIdError::InternalError, Rfa::Rfa5, false),
            (BankIdError::Maintenance, Rfa::Rfa5, true),
            (BankIdError::Unauthorized, Rfa::Rfa22, false),
            (BankIdError::NotFound, Rfa::Rfa22, false),
            (
                BankIdError::InvalidParameters("x".into()),
                Rfa::Rfa22,
                false,
            ),
            (BankIdError::Transport("x".into()), Rfa::Rfa22, false),
            (
                BankIdError::UnexpectedResponse("x".into()),
                Rfa::Rfa22,
                false,
            ),
        ];
        for (error, rfa, retry) in cases {
            let message = error.user_message();
            assert_eq!(message.rfa, rfa, "{error}");
            assert_eq!(message.retry, retry, "{error}");
            assert_eq!(error.is_retryable(), retry);
        }
        assert!(BankIdError::NotFound.is_our_fault());
        assert!(!BankIdError::Maintenance.is_our_fault());
    }
}
