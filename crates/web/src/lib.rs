//! Trygg's HTTP edge.
//!
//! Architecture invariant: this is the only crate that knows HTTP. Handlers
//! are thin: extract, call one function of the core, map the result. Errors
//! become responses in exactly one place ([`error::WebError`]).

pub mod alarms;
pub mod auditlog;
pub mod care;
pub mod console;
pub mod error;
pub mod extract;
pub mod fhir;
pub mod i18n;
pub mod live;
pub mod methods;
pub mod pages;
pub mod passkey;
pub mod permissions;
pub mod record;
pub mod review;
pub mod session;
pub mod totp;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use trygg_store::Store;

pub use error::WebError;

/// The request id header, set on every request and echoed on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Largest request body accepted (routes that need more set their own limit).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Authentication settings and services.
    pub auth: std::sync::Arc<Auth>,
    /// The access decisions.
    pub policy: std::sync::Arc<trygg_policy::Authorizer>,
    /// The decisions of permission administration.
    pub admin_policy: std::sync::Arc<trygg_policy::AdminAuthorizer>,
    /// The audit log's tree and checkpoints.
    pub audit: std::sync::Arc<trygg_store::AuditLog>,
    /// How alarm positions are shown: links, a drawn map.
    pub alarm_map: alarms::Maps,
    /// The alarm console's live updates.
    pub alarm_events: live::AlarmEvents,
}

/// Authentication settings and services.
#[derive(Debug)]
pub struct Auth {
    /// Session rules.
    pub policy: trygg_auth::SessionPolicy,
    /// Login attempts per client address.
    pub by_address: trygg_auth::RateLimiter,
    /// Login attempts per account.
    pub by_account: trygg_auth::RateLimiter,
    /// The origin browsers use (`https://trygg.example.se`), if configured.
    pub public_origin: Option<String>,
    /// Whether the server speaks TLS.
    pub tls: bool,
    /// The configured login methods.
    pub methods: methods::LoginMethods,
    /// Whether a person's log extract names the staff members (not only
    /// the units) who accessed their data.
    pub citizen_log_names_staff: bool,
}

impl Auth {
    /// Default rules: 20 login attempts per address and 10 per account per
    /// 5 minutes.
    pub fn new(public_origin: Option<String>, tls: bool, methods: methods::LoginMethods) -> Self {
        Self {
            policy: trygg_auth::SessionPolicy::default(),
            by_address: trygg_auth::RateLimiter::new(20, time::Duration::minutes(5), 100_000),
            by_account: trygg_auth::RateLimiter::new(10, time::Duration::minutes(5), 100_000),
            public_origin,
            tls,
            methods,
            citizen_log_names_staff: false,
        }
    }
}

/// Router options.
#[derive(Clone, Copy, Debug)]
pub struct RouterOptions {
    /// Answer 408 after this long.
    pub request_timeout: Duration,
    /// Whether the server speaks TLS (adds HSTS).
    pub tls: bool,
}

/// Every route, with the layers that apply to all of them.
pub fn router(state: AppState, options: RouterOptions) -> Router {
    // The login form may send the browser on to an OpenID provider.
    let form_targets = state.auth.methods.form_targets().join(" ");
    // Alarm pages may draw positions on the configured tile server's tiles.
    let tiles = state
        .alarm_map
        .tiles
        .as_ref()
        .map(|t| format!(" {}", t.origin()))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' {form_targets}"
    );
    let csp = HeaderValue::from_str(csp.trim_end())
        .unwrap_or(HeaderValue::from_static("default-src 'none'"));
    let mut security_headers = vec![
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // same-origin (not no-referrer): browsers then send a real Origin on
        // same-origin form posts, which the CSRF check needs.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    if options.tls {
        security_headers.push((header::STRICT_TRANSPORT_SECURITY, "max-age=63072000"));
    }
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/", get(pages::home))
        .route("/login", get(pages::login))
        .route("/login/start", post(methods::start))
        .route(
            "/login/bootstrap",
            get(pages::bootstrap_page).post(pages::bootstrap_login),
        )
        .route("/logout", post(pages::logout))
        .route("/account/security", get(pages::security))
        .route("/static/trygg.css", get(pages::css))
        .merge(methods::routes())
        .merge(passkey::routes())
        .merge(totp::routes())
        .merge(record::routes())
        .merge(alarms::routes())
        .merge(console::routes())
        .merge(care::routes())
        .merge(permissions::routes())
        .merge(extract::routes())
        .merge(review::routes())
        .merge(auditlog::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::csrf,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::load,
        ))
        .with_state(state);
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router = router.layer(SetResponseHeaderLayer::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        csp,
    ));
    router.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::map_request(drop_bad_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings may carry personal data.
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                options.request_timeout,
            ))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)),
    )
}

/// A caller may bring its own request id (a proxy's, say) only if it is short
/// and plain; anything else is replaced, so logs cannot be forged through it.
async fn drop_bad_request_id<B>(mut req: Request<B>) -> Request<B> {
    let acceptable = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| {
            (1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
    if !acceptable {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

/// Liveness: the process is up and serving.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers with the expected schema.
async fn readyz(State(state): State<AppState>) -> Result<Response, WebError> {
    state.store.ready().await.map_err(WebError::Unavailable)?;
    Ok(Json(serde_json::json!({ "status": "ready" })).into_response())
}

async fn not_found() -> WebError {
    WebError::NotFound
}
