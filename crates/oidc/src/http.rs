//! openidconnect's asynchronous HTTP client: a small function over our own
//! reqwest client (redirects never followed, responses size-limited).

use crate::OidcError;
use openidconnect::{HttpRequest, HttpResponse};
use std::time::Duration;

/// Largest response body read from a provider (discovery, JWKS, token).
pub(crate) const MAX_RESPONSE_BYTES: usize = 512 * 1024;

/// Builds the HTTP client [`OidcRp::discover`](crate::OidcRp::discover)
/// expects: redirects are never followed (a provider that redirects its token
/// endpoint is refused, not obeyed), bounded connect and total time.
pub fn http_client() -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("trygg-oidc/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| OidcError::Internal {
            detail: format!("building the HTTP client: {e}"),
        })
}

/// Why a request to a provider failed below the protocol.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// openidconnect built a request reqwest cannot send.
    #[error("invalid request: {0}")]
    Request(String),
    /// Connection, TLS, timeout, …
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
    /// The body exceeded [`MAX_RESPONSE_BYTES`].
    #[error("response body larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

/// Sends one request; used as openidconnect's `AsyncHttpClient` through a
/// closure `|request| send(client.clone(), request)`.
pub(crate) async fn send(
    client: reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let request =
        reqwest::Request::try_from(request).map_err(|e| HttpError::Request(e.to_string()))?;
    let mut response = client.execute(request).await?;
    let mut builder = openidconnect::http::Response::builder()
        .status(response.status())
        .version(response.version());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    builder
        .body(body)
        .map_err(|e| HttpError::Request(e.to_string()))
}
