//! Sessions and CSRF: the one place where a request becomes "someone".
//!
//! * The session cookie `__Host-trygg-session` holds a 256-bit random token;
//!   the database holds only its SHA-256. `Secure`, `HttpOnly`,
//!   `SameSite=Lax`, `Path=/`, no `Domain` (the `__Host-` rules).
//! * Every login and step-up makes a new token and ends the previous session
//!   (no fixation). Logout, disabling an account and changing its roles end
//!   sessions at once: the row is gone, the next request is anonymous.
//! * Idle and absolute limits are checked on every request with the store's
//!   clock ([`trygg_auth::SessionPolicy`]).
//! * Every state-changing request (not GET/HEAD/OPTIONS) must carry a CSRF
//!   token — derived from the session token, or for anonymous visitors from
//!   the `__Host-trygg-csrf` cookie — in the `csrf` form field or the
//!   `x-csrf-token` header, and any `Origin` must be our own.

use crate::{AppState, WebError};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use trygg_auth::Token;
use trygg_domain::{Account, AuthMethod, Loa};
use trygg_store::SessionRecord;

/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-trygg-session";
/// The anonymous CSRF cookie (before login).
pub const CSRF_COOKIE: &str = "__Host-trygg-csrf";
/// The login-flow cookie (a login in progress: OIDC, BankID, passkey).
pub const FLOW_COOKIE: &str = "__Host-trygg-login";
/// Header for CSRF tokens from scripts.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body the CSRF check reads.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value for a `__Host-` cookie (or removes it when `value` is None).
pub fn set_cookie(name: &str, value: Option<&str>) -> HeaderValue {
    let text = match value {
        Some(v) => format!("{name}={v}; Path=/; Secure; HttpOnly; SameSite=Lax"),
        None => format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The logged-in session of this request, if any.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token from the cookie (to derive CSRF, and to end the session).
    pub token: Token,
    /// What is stored.
    pub record: SessionRecord,
    /// This request's id (for the audit log).
    pub request_id: Option<String>,
}

impl Session {
    /// What the audit log records about this request.
    pub fn request_info(&self) -> trygg_domain::RequestInfo {
        trygg_domain::RequestInfo {
            method: Some(self.record.method),
            loa: Some(self.record.loa),
            request_id: self.request_id.clone(),
        }
    }

    /// The CSRF token for forms on this session's pages.
    pub fn csrf(&self) -> String {
        self.token.csrf()
    }
}

/// Request extension: the session (or none) and whether one just ended.
#[derive(Debug, Clone, Default)]
pub struct CurrentSession {
    /// The valid session.
    pub session: Option<Session>,
    /// A session cookie was sent but its session had ended (idle/absolute/revoked).
    pub ended: bool,
}

/// Loads and checks the session on every request.
pub async fn load(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mut current = CurrentSession::default();
    let token = cookie(req.headers(), SESSION_COOKIE).and_then(|c| Token::from_cookie(&c));
    if let Some(token) = token {
        let hash = token.hash();
        match state.store.session(&hash).await {
            Ok(Some(record)) => {
                let now = state.store.clock().now();
                match state.auth.policy.check(
                    &record.account,
                    record.last_seen_at,
                    record.expires_at,
                    now,
                ) {
                    Ok(()) => {
                        if let Err(e) = state.store.touch_session(&hash, now).await {
                            return WebError::Unavailable(e).into_response();
                        }
                        let request_id = req
                            .headers()
                            .get(crate::REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        current.session = Some(Session {
                            token,
                            record,
                            request_id,
                        });
                    }
                    Err(ended) => {
                        tracing::info!(reason = %ended, "session ended");
                        if let Err(e) = state.store.delete_session(&hash).await {
                            return WebError::Unavailable(e).into_response();
                        }
                        current.ended = true;
                    }
                }
            }
            Ok(None) => current.ended = true,
            Err(e) => return WebError::Unavailable(e).into_response(),
        }
    }
    let ended = current.ended;
    req.extensions_mut().insert(current);
    let mut response = next.run(req).await;
    if ended {
        // Tell the browser to forget a cookie that no longer opens anything.
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, None));
    }
    response
}

/// The origin the browser must be on: `public_url` if configured, else the
/// request's own `Host` (with the scheme the server speaks).
fn expected_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(public) = &state.auth.public_origin {
        return Some(public.clone());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if state.auth.tls { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// Refuses state-changing requests without a valid CSRF token or from a
/// foreign origin.
pub async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .zip(expected_origin(&state, req.headers()))
            .is_some_and(|(o, e)| o == e);
        if !ok {
            tracing::warn!(origin = ?origin, "refused a request from a foreign origin");
            return WebError::Csrf.into_response();
        }
    }
    let session_token = req
        .extensions()
        .get::<CurrentSession>()
        .and_then(|c| c.session.as_ref())
        .map(|s| s.token.clone());
    let anon_token = cookie(req.headers(), CSRF_COOKIE).and_then(|c| Token::from_cookie(&c));
    let Some(expected) = session_token.or(anon_token) else {
        return WebError::Csrf.into_response();
    };
    let header_token = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (req, submitted) = match header_token {
        Some(t) => (req, Some(t)),
        None => {
            let is_form = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            if !is_form {
                return WebError::Csrf.into_response();
            }
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
                return WebError::TooLarge.into_response();
            };
            let submitted = form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.into_owned());
            (Request::from_parts(parts, Body::from(bytes)), submitted)
        }
    };
    if !submitted.is_some_and(|s| expected.csrf_matches(&s)) {
        return WebError::Csrf.into_response();
    }
    next.run(req).await
}

/// Extractor: the session if there is one (never rejects).
#[derive(Debug, Clone)]
pub struct MaybeSession(pub CurrentSession);

impl<S: Send + Sync> FromRequestParts<S> for MaybeSession {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<CurrentSession>()
                .cloned()
                .unwrap_or_default(),
        ))
    }
}

/// Extractor: a logged-in session at LoA3 or higher; otherwise the visitor is
/// sent to the login page (which says why).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let MaybeSession(current) = MaybeSession::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match current.session {
            Some(s) if s.record.loa >= min_loa(&s.record.account) => Ok(Self(s)),
            Some(_) => Err(redirect("/login?error=loa")),
            None if current.ended => Err(redirect("/login?error=session-ended")),
            None => Err(redirect("/login")),
        }
    }
}

/// The lowest LoA a session of this account may use Trygg with. The
/// bootstrap administrator (password + TOTP) is LoA2 and reaches no personal data.
pub fn min_loa(account: &Account) -> Loa {
    match account {
        Account::BootstrapAdmin { .. } => Loa::Loa2,
        _ => Loa::Loa3,
    }
}

/// A 303 redirect.
pub fn redirect(to: &str) -> Response {
    let mut r = axum::http::StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Only same-site paths are followed after login (no open redirects).
pub fn safe_return_path(path: Option<&str>) -> &str {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains(['\\', '\r', '\n'])
                && p.len() < 512 =>
        {
            p
        }
        _ => "/",
    }
}

/// How the person authenticated, as recorded on the new session.
#[derive(Debug, Clone)]
pub struct Authentication {
    /// Method.
    pub method: AuthMethod,
    /// Provider.
    pub provider: String,
    /// LoA.
    pub loa: Loa,
    /// When.
    pub at: time::OffsetDateTime,
}

/// Starts a new session for `account` (ending the one the browser had, if
/// any) and returns the `Set-Cookie` header for it.
pub async fn establish(
    state: &AppState,
    previous: Option<&Session>,
    account: Account,
    how: Authentication,
) -> Result<HeaderValue, WebError> {
    if let Some(previous) = previous {
        state
            .store
            .delete_session(&previous.token.hash())
            .await
            .map_err(WebError::Unavailable)?;
    }
    let token = Token::generate().map_err(|_| WebError::Internal("random source failed"))?;
    let now = state.store.clock().now();
    let record = SessionRecord {
        account,
        method: how.method,
        provider: how.provider,
        loa: how.loa,
        authenticated_at: how.at,
        created_at: now,
        last_seen_at: now,
        expires_at: now + state.auth.policy.absolute,
    };
    state
        .store
        .create_session(&token.hash(), &record)
        .await
        .map_err(WebError::Unavailable)?;
    tracing::info!(
        kind = record.account.kind_str(),
        method = record.method.as_str(),
        provider = %record.provider,
        loa = %record.loa,
        "login"
    );
    Ok(set_cookie(SESSION_COOKIE, Some(token.expose())))
}
