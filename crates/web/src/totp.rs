//! One-time codes (TOTP) for staff without a passkey: enrolment on the
//! security page (only in a fresh e-ID session), and step-up with a code.
//!
//! A TOTP step-up starts a new session for the same account with method
//! `totp`, the LoA of the session it steps up, and a fresh authentication
//! time. It satisfies `require_step_up`, but not the e-ID-only actions
//! (creating passkeys, changing one-time codes).

use crate::pages::{ClientAddr, require_step_up};
use crate::session::{Authenticated, Authentication, establish, redirect, safe_return_path};
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use trygg_auth::Totp;
use trygg_domain::{Account, AuthMethod, StaffId};

/// What the security page shows about one-time codes.
#[derive(Debug, Clone, Default)]
pub struct TotpView {
    /// The account is staff (only staff use one-time codes).
    pub staff: bool,
    /// Confirmed and in use.
    pub on: bool,
    /// Enrolment begun: the QR code (SVG data URI) and the secret to type.
    pub pending: Option<(String, String)>,
    /// This session may change one-time codes (a fresh e-ID login).
    pub can_manage: bool,
}

fn staff_of(account: &Account) -> Option<StaffId> {
    match account {
        Account::Staff { staff, .. } => Some(*staff),
        _ => None,
    }
}

/// The security page's view for this session.
pub async fn view(
    state: &AppState,
    session: &crate::session::Session,
) -> Result<TotpView, WebError> {
    let Some(staff) = staff_of(&session.record.account) else {
        return Ok(TotpView::default());
    };
    let can_manage = crate::passkey::registration_allowed(session.record.method);
    let stored = state
        .store
        .staff_totp(staff)
        .await
        .map_err(WebError::Unavailable)?;
    let (on, pending) = match stored {
        Some((_, true)) => (true, None),
        Some((secret, false)) if can_manage => {
            let totp = Totp::from_secret(&secret);
            let uri = totp.uri("Trygg", "personal");
            let svg = qrcode::QrCode::new(uri.as_bytes())
                .map_err(|_| WebError::Internal("qr"))?
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build();
            let data = format!(
                "data:image/svg+xml;base64,{}",
                base64_encode(svg.as_bytes())
            );
            (false, Some((data, totp.secret_base32())))
        }
        _ => (false, None),
    };
    Ok(TotpView {
        staff: true,
        on,
        pending,
        can_manage,
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The staff member, if this session may change one-time codes (staff, fresh
/// e-ID login); otherwise where to send the browser.
fn managing_staff(
    state: &AppState,
    session: &crate::session::Session,
) -> Result<StaffId, &'static str> {
    let staff = staff_of(&session.record.account).ok_or("/account/security")?;
    let fresh = require_step_up(state, session, "/account/security").is_none();
    if !fresh || !crate::passkey::registration_allowed(session.record.method) {
        return Err("/login?step_up=1&return=/account/security");
    }
    Ok(staff)
}

/// `POST /account/totp/enroll`: a new secret, unconfirmed until a code proves it.
pub async fn enroll(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
) -> Result<Response, WebError> {
    let staff = match managing_staff(&state, &session) {
        Ok(staff) => staff,
        Err(to) => return Ok(redirect(to)),
    };
    let tenant = session
        .record
        .account
        .tenant()
        .ok_or(WebError::Internal("staff without tenant"))?;
    let totp = Totp::generate().map_err(|_| WebError::Internal("random source failed"))?;
    state
        .store
        .set_staff_totp(tenant, staff, totp.secret())
        .await
        .map_err(WebError::Unavailable)?;
    tracing::info!(%staff, "TOTP enrolment begun");
    Ok(redirect("/account/security?totp=pending"))
}

/// A one-time code.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    code: String,
    #[serde(rename = "return")]
    return_to: Option<String>,
}

/// Checks a code for a staff member, rate-limited, each code once.
async fn check_code(
    state: &AppState,
    staff: StaffId,
    addr: &ClientAddr,
    code: &str,
    confirm: bool,
) -> Result<Result<(), &'static str>, WebError> {
    let now = state.store.clock().now();
    if !state.auth.by_address.attempt(&addr.key(), now)
        || !state.auth.by_account.attempt(&format!("totp:{staff}"), now)
    {
        return Ok(Err("too-many"));
    }
    let Some((secret, confirmed)) = state
        .store
        .staff_totp(staff)
        .await
        .map_err(WebError::Unavailable)?
    else {
        return Ok(Err("wrong"));
    };
    if confirmed == confirm {
        // Confirming an active secret, or stepping up with an unconfirmed one.
        return Ok(Err("wrong"));
    }
    let Ok(step) = Totp::from_secret(&secret).verify(code, now) else {
        return Ok(Err("wrong"));
    };
    if !state
        .store
        .spend_staff_totp_step(staff, step, confirm)
        .await
        .map_err(WebError::Unavailable)?
    {
        return Ok(Err("wrong"));
    }
    Ok(Ok(()))
}

/// `POST /account/totp/confirm`: the first code turns one-time codes on.
pub async fn confirm(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    addr: ClientAddr,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let staff = match managing_staff(&state, &session) {
        Ok(staff) => staff,
        Err(to) => return Ok(redirect(to)),
    };
    Ok(
        match check_code(&state, staff, &addr, &form.code, true).await? {
            Ok(()) => {
                tracing::info!(%staff, "TOTP turned on");
                redirect("/account/security?totp=on")
            }
            Err(code) => redirect(&format!("/account/security?totp={code}")),
        },
    )
}

/// `POST /account/step-up/totp`: confirms a sensitive action with a code.
pub async fn step_up(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    addr: ClientAddr,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let return_to = safe_return_path(form.return_to.as_deref()).to_owned();
    let Some(staff) = staff_of(&session.record.account) else {
        return Ok(redirect("/login?step_up=1"));
    };
    if let Err(code) = check_code(&state, staff, &addr, &form.code, false).await? {
        tracing::warn!(%staff, reason = code, "TOTP step-up refused");
        return Ok(redirect(&format!(
            "/login?step_up=1&error={code}&return={return_to}"
        )));
    }
    let r = &session.record;
    let cookie = establish(
        &state,
        Some(&session),
        r.account.clone(),
        Authentication {
            method: AuthMethod::Totp,
            provider: r.provider.clone(),
            loa: r.loa,
            at: state.store.clock().now(),
        },
    )
    .await?;
    tracing::info!(%staff, "step-up with TOTP");
    let mut response = redirect(&return_to);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/totp/enroll", post(enroll))
        .route("/account/totp/confirm", post(confirm))
        .route("/account/step-up/totp", post(step_up))
}
