//! Pages: login, the bootstrap administrator, home, logout, security
//! settings (behind step-up), and the static files they use.

use crate::i18n::{LANG_COOKIE, Lang, Texts, login_error};
use crate::session::{
    Authenticated, Authentication, CSRF_COOKIE, MaybeSession, Session, cookie, establish, redirect,
    safe_return_path, set_cookie,
};
use crate::{AppState, WebError};
use askama::Template;
use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use std::net::IpAddr;
use time::format_description::well_known::Rfc3339;
use trygg_auth::{Token, Totp, password};
use trygg_domain::{Account, AuthMethod, Loa};

/// The client's address (from the connection), for rate limits.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

impl ClientAddr {
    /// Rate-limit key for this address.
    pub fn key(&self) -> String {
        self.0
            .map_or_else(|| "ip:unknown".to_owned(), |ip| format!("ip:{ip}"))
    }
}

/// `?lang=`, `?error=`, `?return=`, `?step_up=`.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    error: Option<String>,
    #[serde(rename = "return")]
    return_to: Option<String>,
    step_up: Option<String>,
}

/// Renders a template into a response, with the language cookie.
pub fn page(lang: Lang, html: Result<String, askama::Error>) -> Response {
    match html {
        Ok(body) => {
            let mut r = Html(body).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(LANG_COOKIE, Some(lang.code())),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            WebError::Internal("template").into_response()
        }
    }
}

/// [`page`] for a page with forms: also sets the anonymous CSRF cookie that
/// [`form_csrf`] made, if it made one.
pub fn form_page(
    lang: Lang,
    html: Result<String, askama::Error>,
    csrf_cookie: Option<HeaderValue>,
) -> Response {
    let mut r = page(lang, html);
    if let Some(cookie) = csrf_cookie {
        r.headers_mut().append(header::SET_COOKIE, cookie);
    }
    r
}

/// The CSRF token for an anonymous visitor's forms, and the cookie to set
/// if they have none yet.
fn anonymous_csrf(headers: &HeaderMap) -> Result<(String, Option<HeaderValue>), WebError> {
    if let Some(token) = cookie(headers, CSRF_COOKIE).and_then(|c| Token::from_cookie(&c)) {
        return Ok((token.csrf(), None));
    }
    let token = Token::generate().map_err(|_| WebError::Internal("random source failed"))?;
    Ok((
        token.csrf(),
        Some(set_cookie(CSRF_COOKIE, Some(token.expose()))),
    ))
}

/// The CSRF token for this visitor's forms (session-bound once logged in).
pub fn form_csrf(
    current: Option<&Session>,
    headers: &HeaderMap,
) -> Result<(String, Option<HeaderValue>), WebError> {
    match current {
        Some(s) => Ok((s.csrf(), None)),
        None => anonymous_csrf(headers),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    error: Option<&'static str>,
    csrf: String,
    return_to: &'a str,
    step_up: bool,
    audience_staff: bool,
    methods_available: bool,
    bankid: bool,
    providers: Vec<(String, String)>,
    totp_step_up: bool,
}

/// `GET /login`.
pub async fn login(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lang = Lang::pick(q.lang.as_deref(), &headers);
    let (csrf, set) = form_csrf(current.session.as_ref(), &headers)?;
    let providers = state.auth.methods.oidc_providers();
    let bankid = state.auth.methods.bankid_enabled();
    let audience_staff = current
        .session
        .as_ref()
        .is_none_or(|s| matches!(s.record.account, Account::Staff { .. }));
    // Staff with one-time codes may step up with a code instead of an e-ID.
    let totp_step_up = match (
        &q.step_up,
        current.session.as_ref().map(|s| &s.record.account),
    ) {
        (Some(_), Some(Account::Staff { staff, .. })) => matches!(
            state
                .store
                .staff_totp(*staff)
                .await
                .map_err(WebError::Unavailable)?,
            Some((_, true))
        ),
        _ => false,
    };
    let html = LoginPage {
        lang: lang.code(),
        t: lang.t(),
        error: q.error.as_deref().and_then(|e| login_error(lang, e)),
        csrf,
        return_to: safe_return_path(q.return_to.as_deref()),
        step_up: q.step_up.is_some(),
        audience_staff,
        methods_available: bankid || !providers.is_empty(),
        bankid,
        providers,
        totp_step_up,
    }
    .render();
    Ok(form_page(lang, html, set))
}

#[derive(Template)]
#[template(path = "bootstrap.html")]
struct BootstrapPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    error: Option<&'static str>,
    csrf: String,
}

/// `GET /login/bootstrap`.
pub async fn bootstrap_page(
    MaybeSession(current): MaybeSession,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lang = Lang::pick(q.lang.as_deref(), &headers);
    let (csrf, set) = form_csrf(current.session.as_ref(), &headers)?;
    let html = BootstrapPage {
        lang: lang.code(),
        t: lang.t(),
        error: q.error.as_deref().and_then(|e| login_error(lang, e)),
        csrf,
    }
    .render();
    Ok(form_page(lang, html, set))
}

/// The bootstrap login form.
#[derive(Deserialize)]
pub struct BootstrapForm {
    name: String,
    password: String,
    code: String,
}

impl std::fmt::Debug for BootstrapForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapForm")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// `POST /login/bootstrap`: password + TOTP, rate-limited per address and
/// per name, each code usable once. The session reaches no personal data.
pub async fn bootstrap_login(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    addr: ClientAddr,
    Form(form): Form<BootstrapForm>,
) -> Result<Response, WebError> {
    let now = state.store.clock().now();
    let name: String = form.name.trim().chars().take(64).collect();
    if !state.auth.by_address.attempt(&addr.key(), now)
        || !state.auth.by_account.attempt(&format!("admin:{name}"), now)
    {
        tracing::warn!(%name, "bootstrap login rate-limited");
        return Ok(redirect("/login/bootstrap?error=too-many"));
    }
    let admin = state
        .store
        .bootstrap_admin(&name)
        .await
        .map_err(WebError::Unavailable)?;
    let (hash, secret) = match &admin {
        Some((hash, secret)) => (hash.clone(), secret.to_vec()),
        None => (password::dummy_hash().to_owned(), vec![0u8; 20]),
    };
    let pw = form.password;
    let password_ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
        .await
        .unwrap_or(false);
    let step = Totp::from_secret(&secret).verify(&form.code, now);
    let accepted = match (admin.is_some(), password_ok, step) {
        (true, true, Ok(step)) => state
            .store
            .spend_totp_step(&name, step)
            .await
            .map_err(WebError::Unavailable)?,
        _ => false,
    };
    if !accepted {
        tracing::warn!(%name, "bootstrap login refused");
        return Ok(redirect("/login/bootstrap?error=wrong"));
    }
    let cookie = establish(
        &state,
        current.session.as_ref(),
        Account::BootstrapAdmin { name: name.clone() },
        Authentication {
            method: AuthMethod::PasswordTotp,
            provider: "local".to_owned(),
            loa: Loa::Loa2,
            at: now,
        },
    )
    .await?;
    tracing::warn!(%name, "bootstrap administrator logged in");
    let mut r = redirect("/");
    r.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(r)
}

/// `POST /logout`: the session ends at once.
pub async fn logout(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
) -> Result<Response, WebError> {
    if let Some(s) = current.session {
        state
            .store
            .delete_session(&s.token.hash())
            .await
            .map_err(WebError::Unavailable)?;
        tracing::info!(kind = s.record.account.kind_str(), "logout");
    }
    let mut r = redirect("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(crate::session::SESSION_COOKIE, None),
    );
    Ok(r)
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    lang: &'a str,
    t: &'static Texts,
    c: &'static crate::i18n::CareTexts,
    p: &'static crate::i18n::PermTexts,
    a: &'static crate::i18n::AlarmTexts,
    is_staff: bool,
    administers: bool,
    is_citizen: bool,
    is_person: bool,
    who: String,
    kind: &'static str,
    is_admin: bool,
    method: &'static str,
    provider: &'a str,
    loa: &'static str,
    authenticated_at: String,
    expires_at: String,
    csrf: String,
}

/// The account's display name: their own data, read without a grant
/// (`unsafe_…`: the person is reading about themselves).
async fn display_name(state: &AppState, account: &Account) -> Result<String, WebError> {
    let full = |g: &str, f: &str| format!("{g} {f}");
    Ok(match account {
        Account::Staff { tenant, staff } => {
            let s = state
                .store
                .staff_member(*tenant, *staff)
                .await
                .map_err(WebError::Unavailable)?;
            full(
                s.details.given_name.as_str(),
                s.details.family_name.as_str(),
            )
        }
        Account::Person { tenant, person } => {
            let p = state
                .store
                .unsafe_person(*tenant, *person)
                .await
                .map_err(WebError::Unavailable)?;
            full(
                p.details.given_name.as_str(),
                p.details.family_name.as_str(),
            )
        }
        Account::Relative {
            tenant,
            relative,
            person,
        } => state
            .store
            .unsafe_relatives(*tenant, *person)
            .await
            .map_err(WebError::Unavailable)?
            .into_iter()
            .find(|r| r.id == *relative)
            .map(|r| {
                full(
                    r.details.given_name.as_str(),
                    r.details.family_name.as_str(),
                )
            })
            .unwrap_or_default(),
        Account::BootstrapAdmin { name } => name.clone(),
    })
}

/// `GET /`: who is logged in, and how.
pub async fn home(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lang = Lang::pick(q.lang.as_deref(), &headers);
    let t = lang.t();
    let r = &session.record;
    let kind = match r.account {
        Account::Staff { .. } => t.kind_staff,
        Account::Person { .. } => t.kind_person,
        Account::Relative { .. } => t.kind_relative,
        Account::BootstrapAdmin { .. } => t.kind_admin,
    };
    // Unit managers and security officers administer permissions.
    let administers = match r.account {
        Account::Staff { staff, .. } => state
            .store
            .roles_of(staff)
            .await
            .map_err(WebError::Unavailable)?
            .iter()
            .any(|a| {
                matches!(
                    a.role,
                    trygg_domain::Role::UnitManager | trygg_domain::Role::SecurityOfficer
                )
            }),
        _ => false,
    };
    let html = HomePage {
        lang: lang.code(),
        t,
        c: lang.care(),
        p: lang.perm(),
        a: lang.alarms(),
        is_staff: matches!(r.account, Account::Staff { .. }),
        administers,
        is_citizen: matches!(r.account, Account::Person { .. } | Account::Relative { .. }),
        is_person: matches!(r.account, Account::Person { .. }),
        who: display_name(&state, &r.account).await?,
        kind,
        is_admin: matches!(r.account, Account::BootstrapAdmin { .. }),
        method: r.method.as_str(),
        provider: &r.provider,
        loa: r.loa.as_str(),
        authenticated_at: r.authenticated_at.format(&Rfc3339).unwrap_or_default(),
        expires_at: r.expires_at.format(&Rfc3339).unwrap_or_default(),
        csrf: session.csrf(),
    }
    .render();
    Ok(page(lang, html))
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    csrf: String,
    passkeys: Vec<crate::passkey::PasskeyListItem>,
    can_register: bool,
    created: bool,
    totp: crate::totp::TotpView,
    totp_wrong: bool,
}

/// `?passkey=created`, `?totp=…` on the security page.
#[derive(Debug, Default, Deserialize)]
pub struct SecurityQuery {
    passkey: Option<String>,
    totp: Option<String>,
}

/// `GET /account/security`: a sensitive page; needs a fresh e-ID login.
/// Lists the account's passkeys; a session that began with an e-ID may
/// create one.
pub async fn security(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<PageQuery>,
    Query(sq): Query<SecurityQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if let Some(r) = require_step_up(&state, &session, "/account/security") {
        return Ok(r);
    }
    let lang = Lang::pick(q.lang.as_deref(), &headers);
    let account = &session.record.account;
    let can_register = state.auth.methods.passkey.is_some()
        && !matches!(account, Account::BootstrapAdmin { .. })
        && crate::passkey::registration_allowed(session.record.method);
    Ok(page(
        lang,
        SecurityPage {
            lang: lang.code(),
            t: lang.t(),
            csrf: session.csrf(),
            passkeys: crate::passkey::list(&state, account).await?,
            can_register,
            created: sq.passkey.as_deref() == Some("created"),
            totp: crate::totp::view(&state, &session).await?,
            totp_wrong: matches!(sq.totp.as_deref(), Some("wrong" | "too-many")),
        }
        .render(),
    ))
}

/// `None` if the session's authentication is fresh and strong enough for a
/// sensitive action; otherwise the redirect to identify again.
pub fn require_step_up(state: &AppState, session: &Session, return_to: &str) -> Option<Response> {
    (!is_stepped_up(state, session))
        .then(|| redirect(&format!("/login?step_up=1&return={return_to}")))
}

/// Whether the session's authentication is fresh and strong enough for a
/// sensitive action (never the bootstrap administrator's password + TOTP).
pub fn is_stepped_up(state: &AppState, session: &Session) -> bool {
    let r = &session.record;
    state
        .auth
        .policy
        .step_up_satisfied(r.loa, r.authenticated_at, state.store.clock().now())
        && !matches!(r.method, AuthMethod::PasswordTotp)
}

/// `GET /static/trygg.css`.
pub async fn css() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../static/trygg.css"),
    )
}

pub(crate) fn static_file(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}
