//! Passkeys (WebAuthn): registration after an e-ID login, and login with them.
//!
//! * Registration: only a logged-in staff member, person or relative (never
//!   the bootstrap administrator), in a session that began with an e-ID
//!   (BankID or OIDC) within the step-up window. The credential must be
//!   discoverable and verify the user (PIN or biometrics); it is bound to the
//!   account that registered it, with the LoA of that e-ID login.
//! * Login: discoverable-credential authentication (no user name). The
//!   credential id finds the stored passkey and so the account; the user
//!   handle the authenticator returns must name the same account. The session
//!   is `passkey` at LoA3 at most (never above the LoA it was registered at).
//! * Ceremony state lives server-side in login flows: registration under the
//!   hash of the session token, login under the flow cookie. The browser gets
//!   options and sends back the authenticator's answer as JSON
//!   (`/static/passkey.js`); errors are JSON `{code, message, next?}`.
//!
//! No personal data goes to the authenticator: the user handle is the
//! account's own opaque id and the user name is "Trygg" (passkeys may sync to
//! a phone vendor's cloud).

use crate::i18n::Lang;
use crate::pages::{ClientAddr, require_step_up};
use crate::session::{
    Authentication, FLOW_COOKIE, MaybeSession, Session, cookie, establish, min_loa, set_cookie,
};
use crate::{AppState, WebError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use trygg_auth::Token;
use trygg_domain::{Account, AuthMethod, Loa};
use trygg_store::StoreError;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// The relying party's name, shown by browsers and authenticators.
const RP_NAME: &str = "Trygg";
/// What the authenticator stores as the user's name: deliberately no personal data.
const USER_NAME: &str = "Trygg";
/// How long a registration or login ceremony may take.
const CEREMONY_LIFETIME: time::Duration = time::Duration::minutes(5);
/// Login-flow kinds.
const REGISTER_FLOW: &str = "passkey-register";
const LOGIN_FLOW: &str = "passkey-login";
/// Most passkeys one account may register.
pub const MAX_PASSKEYS: usize = 10;
/// The highest LoA a passkey session gets.
const PASSKEY_MAX_LOA: Loa = Loa::Loa3;
/// Where a registration sends the browser when it is done.
const SECURITY_PAGE: &str = "/account/security";

/// Passkeys as a login method.
#[derive(Debug)]
pub struct PasskeyLogin {
    webauthn: Webauthn,
}

/// The relying party cannot be configured from `public_url`.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyConfigError {
    /// Not a URL with a domain name (WebAuthn needs one: an IP address cannot be an RP id).
    #[error(
        "CF020 public_url must name a domain for passkeys (WebAuthn needs a domain, not an IP address)"
    )]
    NoDomain,
    /// webauthn-rs refused the configuration.
    #[error("CF021 passkeys cannot be configured: {0}")]
    Webauthn(String),
}

impl PasskeyLogin {
    /// The relying party for the origin browsers use. With `public_url`
    /// (`https://trygg.example.se`) the RP id is its host and only that exact
    /// origin is accepted; without it (tests, the demo) the RP id is
    /// `localhost` and `http://localhost` and `https://localhost` are accepted
    /// on any port (browsers treat localhost as a secure context).
    pub fn new(public_origin: Option<&str>) -> Result<Self, PasskeyConfigError> {
        let webauthn = match public_origin {
            Some(origin) => {
                let url = Url::parse(origin).map_err(|_| PasskeyConfigError::NoDomain)?;
                let rp_id = url.domain().ok_or(PasskeyConfigError::NoDomain)?.to_owned();
                WebauthnBuilder::new(&rp_id, &url)
                    .map_err(|e| PasskeyConfigError::Webauthn(e.to_string()))?
                    .rp_name(RP_NAME)
                    .build()
            }
            None => {
                let http = Url::parse("http://localhost")
                    .map_err(|e| PasskeyConfigError::Webauthn(e.to_string()))?;
                let https = Url::parse("https://localhost")
                    .map_err(|e| PasskeyConfigError::Webauthn(e.to_string()))?;
                WebauthnBuilder::new("localhost", &http)
                    .map_err(|e| PasskeyConfigError::Webauthn(e.to_string()))?
                    .append_allowed_origin(&https)
                    .allow_any_port(true)
                    .rp_name(RP_NAME)
                    .build()
            }
        }
        .map_err(|e| PasskeyConfigError::Webauthn(e.to_string()))?;
        Ok(Self { webauthn })
    }
}

/// The user handle of an account: its own id (opaque, no personal data). A
/// passkey's user handle must name the account it is stored for.
fn user_handle(account: &Account) -> Option<Uuid> {
    match account {
        Account::Staff { staff, .. } => Some(staff.as_uuid()),
        Account::Person { person, .. } => Some(person.as_uuid()),
        Account::Relative { relative, .. } => Some(relative.as_uuid()),
        Account::BootstrapAdmin { .. } => None,
    }
}

/// Why a passkey request was refused. Answered as JSON `{code, message, next?}`.
#[derive(Debug)]
pub enum PasskeyError {
    /// Passkeys are not configured.
    Disabled,
    /// No (valid) session.
    NotLoggedIn,
    /// The session's identification is not fresh enough.
    StepUp,
    /// The bootstrap administrator cannot have passkeys.
    NotForAccount,
    /// Registration needs a session that began with an e-ID.
    NeedsEid,
    /// The ceremony expired or was never started.
    Expired,
    /// The authenticator's registration answer did not verify.
    Invalid,
    /// The credential is not discoverable, so it cannot log in without a user name.
    NotDiscoverable,
    /// Already registered.
    Duplicate,
    /// The account has as many passkeys as it may.
    TooManyKeys,
    /// Login refused (unknown credential, bad signature, no user
    /// verification...): deliberately one generic answer.
    LoginFailed,
    /// The account may not log in (disabled, erased).
    AccountDisabled,
    /// Rate limit.
    TooMany,
    /// Anything else.
    Web(WebError),
}

impl From<WebError> for PasskeyError {
    fn from(e: WebError) -> Self {
        Self::Web(e)
    }
}

impl PasskeyError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, &'static str) {
        use PasskeyError as E;
        match self {
            E::Disabled => (
                StatusCode::NOT_FOUND,
                "PK001",
                "Nycklar (passkeys) används inte här.",
                "Passkeys are not used here.",
            ),
            E::NotLoggedIn => (
                StatusCode::UNAUTHORIZED,
                "PK002",
                "Du är inte inloggad. Logga in igen.",
                "You are not logged in. Please log in again.",
            ),
            E::StepUp => (
                StatusCode::FORBIDDEN,
                "PK003",
                "Identifiera dig igen med e-legitimation först.",
                "Identify yourself again with an e-ID first.",
            ),
            E::NotForAccount => (
                StatusCode::FORBIDDEN,
                "PK004",
                "Det här kontot kan inte ha nycklar.",
                "This account cannot have passkeys.",
            ),
            E::NeedsEid => (
                StatusCode::FORBIDDEN,
                "PK005",
                "Logga in med e-legitimation för att skapa en nyckel.",
                "Log in with an e-ID to create a passkey.",
            ),
            E::Expired => (
                StatusCode::BAD_REQUEST,
                "PK006",
                "Det tog för lång tid. Försök igen.",
                "That took too long. Please try again.",
            ),
            E::Invalid => (
                StatusCode::BAD_REQUEST,
                "PK007",
                "Nyckeln kunde inte skapas. Försök igen.",
                "The passkey could not be created. Please try again.",
            ),
            E::NotDiscoverable => (
                StatusCode::BAD_REQUEST,
                "PK008",
                "Enheten kunde inte spara nyckeln. Använd en annan enhet eller nyckel.",
                "The device could not store the passkey. Use another device or key.",
            ),
            E::Duplicate => (
                StatusCode::CONFLICT,
                "PK009",
                "Den här nyckeln är redan registrerad.",
                "This passkey is already registered.",
            ),
            E::TooManyKeys => (
                StatusCode::CONFLICT,
                "PK010",
                "Du har redan så många nycklar som går.",
                "You already have as many passkeys as allowed.",
            ),
            E::LoginFailed => (
                StatusCode::UNAUTHORIZED,
                "PK011",
                "Inloggningen med nyckel misslyckades. Försök igen eller logga in med e-legitimation.",
                "The passkey login failed. Try again or log in with an e-ID.",
            ),
            E::AccountDisabled => (
                StatusCode::FORBIDDEN,
                "PK012",
                "Kontot kan inte logga in. Kontakta din enhetschef eller kommunen.",
                "The account cannot log in. Contact your unit manager or the municipality.",
            ),
            E::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "PK013",
                "För många försök. Vänta en stund och försök igen.",
                "Too many attempts. Wait a while and try again.",
            ),
            E::Web(_) => (StatusCode::INTERNAL_SERVER_ERROR, "WB500", "", ""),
        }
    }

    fn next(&self) -> Option<String> {
        match self {
            PasskeyError::NotLoggedIn => Some("/login".to_owned()),
            PasskeyError::StepUp => Some(format!("/login?step_up=1&return={SECURITY_PAGE}")),
            _ => None,
        }
    }

    /// The response, with the message in `lang`.
    pub fn into_response_in(self, lang: Lang) -> Response {
        if let PasskeyError::Web(e) = self {
            return e.into_response();
        }
        let (status, code, sv, en) = self.parts();
        tracing::debug!(code, "passkey request refused");
        let message = match lang {
            Lang::Sv => sv,
            Lang::En => en,
        };
        let mut body = serde_json::json!({ "code": code, "message": message });
        if let (Some(next), Some(obj)) = (self.next(), body.as_object_mut()) {
            obj.insert("next".to_owned(), serde_json::Value::String(next));
        }
        (status, axum::Json(body)).into_response()
    }
}

/// Runs a handler body and turns its error into JSON in the visitor's language.
fn respond(headers: &HeaderMap, result: Result<Response, PasskeyError>) -> Response {
    result.unwrap_or_else(|e| e.into_response_in(Lang::pick(None, headers)))
}

fn passkeys(state: &AppState) -> Result<&PasskeyLogin, PasskeyError> {
    state
        .auth
        .methods
        .passkey
        .as_ref()
        .ok_or(PasskeyError::Disabled)
}

fn json<T: Serialize>(value: &T) -> Result<Response, PasskeyError> {
    let body = serde_json::to_vec(value).map_err(|_| WebError::Internal("json encoding"))?;
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, PasskeyError> {
    serde_json::from_slice(body)
        .map_err(|_| PasskeyError::Web(WebError::BadRequest("malformed WebAuthn response")))
}

async fn put_flow<T: Serialize>(
    state: &AppState,
    key: &[u8],
    kind: &str,
    flow: &T,
) -> Result<(), PasskeyError> {
    let data = serde_json::to_string(flow).map_err(|_| WebError::Internal("flow encoding"))?;
    let expires = state.store.clock().now() + CEREMONY_LIFETIME;
    state
        .store
        .put_login_flow(key, kind, &data, expires)
        .await
        .map_err(|e| PasskeyError::Web(WebError::Unavailable(e)))
}

/// Takes a flow (it is used once), if it exists and has not expired.
async fn take_flow<T: for<'de> Deserialize<'de>>(
    state: &AppState,
    key: &[u8],
    kind: &str,
) -> Result<T, PasskeyError> {
    let data = state
        .store
        .take_login_flow(key, kind)
        .await
        .map_err(|e| PasskeyError::Web(WebError::Unavailable(e)))?
        .ok_or(PasskeyError::Expired)?;
    serde_json::from_str(&data).map_err(|_| PasskeyError::Web(WebError::Internal("flow decoding")))
}

/// The session that may register a passkey: logged in at its account's
/// LoA, not the bootstrap administrator, identified with an e-ID within the
/// step-up window.
fn registering_session(
    state: &AppState,
    current: Option<Session>,
) -> Result<Session, PasskeyError> {
    let session = current.ok_or(PasskeyError::NotLoggedIn)?;
    let r = &session.record;
    if matches!(r.account, Account::BootstrapAdmin { .. }) {
        return Err(PasskeyError::NotForAccount);
    }
    if r.loa < min_loa(&r.account) {
        return Err(PasskeyError::NotLoggedIn);
    }
    if require_step_up(state, &session, SECURITY_PAGE).is_some() {
        return Err(PasskeyError::StepUp);
    }
    if !registration_allowed(r.method) {
        return Err(PasskeyError::NeedsEid);
    }
    Ok(session)
}

/// Only an e-ID login may register a passkey (a passkey may not beget another).
pub fn registration_allowed(method: AuthMethod) -> bool {
    matches!(method, AuthMethod::BankId | AuthMethod::Oidc)
}

/// A registration in progress.
#[derive(Serialize, Deserialize)]
struct RegisterFlow {
    state: PasskeyRegistration,
}

/// `POST /account/passkeys/register/start`: creation options for the
/// browser's `navigator.credentials.create`.
async fn register_start(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    headers: HeaderMap,
) -> Response {
    respond(
        &headers,
        register_start_inner(&state, current.session).await,
    )
}

async fn register_start_inner(
    state: &AppState,
    current: Option<Session>,
) -> Result<Response, PasskeyError> {
    let pk = passkeys(state)?;
    let session = registering_session(state, current)?;
    let account = &session.record.account;
    let handle = user_handle(account).ok_or(PasskeyError::NotForAccount)?;
    let existing = state
        .store
        .passkeys_of(account)
        .await
        .map_err(|e| PasskeyError::Web(WebError::Unavailable(e)))?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(PasskeyError::TooManyKeys);
    }
    let mut exclude = Vec::with_capacity(existing.len());
    for stored in &existing {
        let passkey: Passkey = serde_json::from_str(&stored.passkey)
            .map_err(|_| PasskeyError::Web(WebError::Internal("stored passkey")))?;
        exclude.push(passkey.cred_id().clone());
    }
    let (options, registration) = pk
        .webauthn
        .start_passkey_registration(handle, USER_NAME, USER_NAME, Some(exclude))
        .map_err(|e| {
            tracing::error!(error = %e, "passkey registration could not start");
            PasskeyError::Web(WebError::Internal("webauthn"))
        })?;
    put_flow(
        state,
        &session.token.hash(),
        REGISTER_FLOW,
        &RegisterFlow {
            state: registration,
        },
    )
    .await?;
    // webauthn-rs asks for a non-resident key; Trygg logs in without a user
    // name, so the credential must be discoverable.
    let mut options =
        serde_json::to_value(&options).map_err(|_| WebError::Internal("json encoding"))?;
    if let Some(selection) = options
        .get_mut("publicKey")
        .and_then(|p| p.get_mut("authenticatorSelection"))
        .and_then(|s| s.as_object_mut())
    {
        selection.insert("residentKey".to_owned(), "required".into());
        selection.insert("requireResidentKey".to_owned(), true.into());
        selection.insert("userVerification".to_owned(), "required".into());
    } else {
        return Err(PasskeyError::Web(WebError::Internal("creation options")));
    }
    json(&options)
}

/// `POST /account/passkeys/register/finish`: verifies the new credential and
/// binds it to the session's account.
async fn register_finish(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        &headers,
        register_finish_inner(&state, current.session, &body).await,
    )
}

async fn register_finish_inner(
    state: &AppState,
    current: Option<Session>,
    body: &[u8],
) -> Result<Response, PasskeyError> {
    let pk = passkeys(state)?;
    let session = registering_session(state, current)?;
    let credential: RegisterPublicKeyCredential = parse_body(body)?;
    let flow: RegisterFlow = take_flow(state, &session.token.hash(), REGISTER_FLOW).await?;
    let passkey = pk
        .webauthn
        .finish_passkey_registration(&credential, &flow.state)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            PasskeyError::Invalid
        })?;
    // The browser's (unsigned) report: a credential it says is not
    // discoverable could never log in here.
    if credential.extensions.cred_props.as_ref().and_then(|p| p.rk) == Some(false) {
        return Err(PasskeyError::NotDiscoverable);
    }
    let account = &session.record.account;
    if state
        .store
        .passkeys_of(account)
        .await
        .map_err(|e| PasskeyError::Web(WebError::Unavailable(e)))?
        .len()
        >= MAX_PASSKEYS
    {
        return Err(PasskeyError::TooManyKeys);
    }
    let stored =
        serde_json::to_string(&passkey).map_err(|_| WebError::Internal("passkey encoding"))?;
    match state
        .store
        .add_passkey(account, passkey.cred_id(), &stored, session.record.loa)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => return Err(PasskeyError::Duplicate),
        Err(e) => return Err(PasskeyError::Web(WebError::Unavailable(e))),
    }
    tracing::info!(
        kind = account.kind_str(),
        loa = %session.record.loa,
        "passkey registered"
    );
    json(&serde_json::json!({ "next": format!("{SECURITY_PAGE}?passkey=created") }))
}

/// A login in progress.
#[derive(Serialize, Deserialize)]
struct LoginFlow {
    state: DiscoverableAuthentication,
}

/// `POST /login/passkey/start`: request options for a discoverable
/// credential, with the flow cookie.
async fn login_start(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
) -> Response {
    respond(&headers, login_start_inner(&state, addr).await)
}

async fn login_start_inner(state: &AppState, addr: ClientAddr) -> Result<Response, PasskeyError> {
    let pk = passkeys(state)?;
    let now = state.store.clock().now();
    if !state.auth.by_address.attempt(&addr.key(), now) {
        tracing::warn!("passkey login rate-limited");
        return Err(PasskeyError::TooMany);
    }
    let (mut options, authentication) =
        pk.webauthn
            .start_discoverable_authentication()
            .map_err(|e| {
                tracing::error!(error = %e, "passkey login could not start");
                PasskeyError::Web(WebError::Internal("webauthn"))
            })?;
    // A button-driven (modal) login, not conditional autofill UI.
    options.mediation = None;
    let token = Token::generate().map_err(|_| WebError::Internal("random source failed"))?;
    put_flow(
        state,
        &token.hash(),
        LOGIN_FLOW,
        &LoginFlow {
            state: authentication,
        },
    )
    .await?;
    let mut r = json(&options)?;
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLOW_COOKIE, Some(token.expose())),
    );
    Ok(r)
}

/// `POST /login/passkey/finish`: verifies the assertion and starts the
/// session of the account the passkey belongs to.
async fn login_finish(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = login_finish_inner(&state, current.session.as_ref(), &headers, &body).await;
    let mut r = respond(&headers, result);
    // The flow is spent whatever the outcome.
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, None));
    r
}

async fn login_finish_inner(
    state: &AppState,
    previous: Option<&Session>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, PasskeyError> {
    let pk = passkeys(state)?;
    let token = cookie(headers, FLOW_COOKIE)
        .and_then(|c| Token::from_cookie(&c))
        .ok_or(PasskeyError::Expired)?;
    let credential: PublicKeyCredential = parse_body(body)?;
    let flow: LoginFlow = take_flow(state, &token.hash(), LOGIN_FLOW).await?;
    let refused = |why: &'static str| {
        tracing::warn!(reason = why, "passkey login refused");
        PasskeyError::LoginFailed
    };
    let (handle, credential_id) = pk
        .webauthn
        .identify_discoverable_authentication(&credential)
        .map_err(|_| refused("no user handle"))?;
    let stored = state
        .store
        .passkey_by_credential(credential_id)
        .await
        .map_err(|e| PasskeyError::Web(WebError::Unavailable(e)))?
        .ok_or_else(|| refused("unknown credential"))?;
    if user_handle(&stored.account) != Some(handle) {
        return Err(refused(
            "user handle does not match the credential's account",
        ));
    }
    let mut passkey: Passkey = serde_json::from_str(&stored.passkey)
        .map_err(|_| PasskeyError::Web(WebError::Internal("stored passkey")))?;
    let result = pk
        .webauthn
        .finish_discoverable_authentication_v2(&credential, flow.state, &passkey)
        .map_err(|e| {
            tracing::warn!(error = %e, "passkey assertion did not verify");
            PasskeyError::LoginFailed
        })?;
    if !result.user_verified() {
        return Err(refused("no user verification"));
    }
    // Keep the signature counter (clone detection) and the last use.
    passkey.update_credential(&result);
    let updated =
        serde_json::to_string(&passkey).map_err(|_| WebError::Internal("passkey encoding"))?;
    state
        .store
        .update_passkey(&stored.id, &updated)
        .await
        .map_err(|e| PasskeyError::Web(WebError::Unavailable(e)))?;
    let account = stored.account;
    if !account_may_log_in(state, &account).await? {
        tracing::info!(
            kind = account.kind_str(),
            "passkey login refused: account disabled or erased"
        );
        return Err(PasskeyError::AccountDisabled);
    }
    let loa = stored.registered_loa.min(PASSKEY_MAX_LOA);
    if loa < min_loa(&account) {
        return Err(refused("level of assurance too low"));
    }
    let now = state.store.clock().now();
    let session_cookie = establish(
        state,
        previous,
        account,
        Authentication {
            method: AuthMethod::Passkey,
            provider: "passkey".to_owned(),
            loa,
            at: now,
        },
    )
    .await?;
    let mut r = json(&serde_json::json!({ "next": "/" }))?;
    r.headers_mut().append(header::SET_COOKIE, session_cookie);
    Ok(r)
}

/// Whether the account still exists and may log in (not disabled, not erased).
async fn account_may_log_in(state: &AppState, account: &Account) -> Result<bool, PasskeyError> {
    let gone = |e: StoreError| match e {
        StoreError::NotFound(_) | StoreError::Erased(_) => Ok(false),
        e => Err(PasskeyError::Web(WebError::Unavailable(e))),
    };
    match account {
        Account::Staff { tenant, staff } => match state.store.staff_member(*tenant, *staff).await {
            Ok(s) => Ok(!s.disabled),
            Err(e) => gone(e),
        },
        Account::Person { tenant, person } => {
            match state.store.unsafe_person(*tenant, *person).await {
                Ok(_) => Ok(true),
                Err(e) => gone(e),
            }
        }
        Account::Relative {
            tenant,
            relative,
            person,
        } => match state.store.unsafe_relatives(*tenant, *person).await {
            Ok(all) => Ok(all.iter().any(|r| r.id == *relative)),
            Err(e) => gone(e),
        },
        Account::BootstrapAdmin { .. } => Ok(false),
    }
}

/// A registered passkey as the security page lists it.
#[derive(Debug, Clone)]
pub struct PasskeyListItem {
    /// When it was registered (UTC date), from its UUIDv7 id.
    pub registered: String,
    /// The LoA of the e-ID login that registered it.
    pub loa: &'static str,
}

/// The passkeys of an account, for the security page.
pub async fn list(state: &AppState, account: &Account) -> Result<Vec<PasskeyListItem>, WebError> {
    if matches!(account, Account::BootstrapAdmin { .. }) {
        return Ok(Vec::new());
    }
    let stored = state
        .store
        .passkeys_of(account)
        .await
        .map_err(WebError::Unavailable)?;
    Ok(stored
        .iter()
        .map(|p| {
            let registered = Uuid::parse_str(&p.id)
                .ok()
                .and_then(|u| u.get_timestamp())
                .and_then(|ts| {
                    let (secs, _) = ts.to_unix();
                    time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()
                })
                .map(|t| t.date().to_string())
                .unwrap_or_default();
            PasskeyListItem {
                registered,
                loa: p.registered_loa.as_str(),
            }
        })
        .collect())
}

/// `GET /static/passkey.js`.
async fn passkey_js() -> Response {
    let mut r = include_str!("../static/passkey.js").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

/// Routes of passkey registration and login.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/passkeys/register/start", post(register_start))
        .route("/account/passkeys/register/finish", post(register_finish))
        .route("/login/passkey/start", post(login_start))
        .route("/login/passkey/finish", post(login_finish))
        .route("/static/passkey.js", get(passkey_js))
}
