//! The login methods: BankID and OpenID Connect providers. Each starts at
//! `POST /login/start`, keeps its state server-side in a login flow (the
//! browser holds only the flow cookie `__Host-trygg-login`), and ends in
//! [`session::establish`] with the account its verified identity maps to.

use crate::i18n::{Lang, Texts};
use crate::pages::{ClientAddr, form_page};
use crate::session::{
    Authentication, FLOW_COOKIE, MaybeSession, cookie, establish, redirect, safe_return_path,
    set_cookie,
};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use time::OffsetDateTime;
use trygg_auth::Token;
use trygg_bankid::{
    BankIdClient, BankIdError, CollectStatus, Flow, Order, QrStartSecret, messages,
};
use trygg_domain::{Account, AuthMethod, IdentityNumber, Loa, VerifiedIdentity};

/// BankID as a login method.
#[derive(Debug)]
pub struct BankIdLogin {
    /// The relying-party client.
    pub client: BankIdClient,
    /// In the demo: where the BankID simulator's "phone app" page is.
    pub simulator_app: Option<String>,
}

/// The configured login methods.
#[derive(Debug, Default)]
pub struct LoginMethods {
    /// BankID, if configured.
    pub bankid: Option<BankIdLogin>,
    /// Passkeys, if configured.
    pub passkey: Option<crate::passkey::PasskeyLogin>,
    /// OpenID Connect providers, if configured.
    pub oidc: Option<trygg_oidc::OidcRp>,
}

impl LoginMethods {
    /// `(name, display name)` of each OIDC provider.
    pub fn oidc_providers(&self) -> Vec<(String, String)> {
        self.oidc
            .iter()
            .flat_map(|rp| rp.providers())
            .map(|p| (p.name.to_owned(), p.display_name.to_owned()))
            .collect()
    }

    /// Origins the login form may send the browser to (CSP `form-action`).
    pub fn form_targets(&self) -> Vec<String> {
        self.oidc
            .iter()
            .flat_map(|rp| rp.authorization_origins())
            .collect()
    }

    /// Whether BankID is configured.
    pub fn bankid_enabled(&self) -> bool {
        self.bankid.is_some()
    }
}

/// Who is logging in: staff, or a citizen (person receiving care or relative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Staff.
    Staff,
    /// Person receiving care, or relative.
    Citizen,
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    method: String,
    audience: Audience,
    #[serde(rename = "return")]
    return_to: Option<String>,
}

/// How long a login may take from start to finish.
const FLOW_LIFETIME: time::Duration = time::Duration::minutes(10);
const BANKID_FLOW: &str = "bankid";
/// BankID asks callers to collect every two seconds.
const COLLECT_INTERVAL: time::Duration = time::Duration::seconds(2);

/// A BankID login in progress.
#[derive(Serialize, Deserialize)]
struct BankIdFlow {
    order_ref: String,
    auto_start_token: String,
    qr_start_token: String,
    qr_start_secret: String,
    started_at: i64,
    last_collect: Option<i64>,
    audience: Audience,
    return_to: String,
}

fn secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// `POST /login/start`.
pub async fn start(
    State(state): State<AppState>,
    addr: ClientAddr,
    Form(form): Form<StartForm>,
) -> Result<Response, WebError> {
    let now = state.store.clock().now();
    if !state.auth.by_address.attempt(&addr.key(), now) {
        return Ok(redirect("/login?error=too-many"));
    }
    let return_to = safe_return_path(form.return_to.as_deref()).to_owned();
    match form.method.split_once(':') {
        None if form.method == "bankid" => {
            start_bankid(&state, addr, form.audience, return_to).await
        }
        Some(("oidc", provider)) => start_oidc(&state, provider, form.audience, return_to).await,
        _ => Err(WebError::BadRequest("unknown login method")),
    }
}

const OIDC_FLOW: &str = "oidc";

/// An OpenID Connect login in progress.
#[derive(Serialize, Deserialize)]
struct OidcFlow {
    pending: trygg_oidc::PendingLogin,
    audience: Audience,
    return_to: String,
}

async fn start_oidc(
    state: &AppState,
    provider: &str,
    audience: Audience,
    return_to: String,
) -> Result<Response, WebError> {
    let Some(rp) = &state.auth.methods.oidc else {
        return Err(WebError::BadRequest("no OpenID providers are configured"));
    };
    // Trygg's pages need LoA3; the provider may demand more (its min_loa).
    let (url, pending) = match rp.begin(provider, Loa::Loa3) {
        Ok(begun) => begun,
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "OIDC login could not begin");
            return Ok(redirect("/login?error=failed"));
        }
    };
    let token = Token::generate().map_err(|_| WebError::Internal("random source failed"))?;
    save_flow(
        state,
        &token,
        OIDC_FLOW,
        &OidcFlow {
            pending,
            audience,
            return_to,
        },
    )
    .await?;
    let mut r = redirect(url.as_str());
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLOW_COOKIE, Some(token.expose())),
    );
    Ok(r)
}

/// What the provider sends back.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// `GET /login/oidc/callback`: the provider sends the browser back here.
pub async fn oidc_callback(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some(rp) = &state.auth.methods.oidc else {
        return Err(WebError::NotFound);
    };
    // The flow is taken (used once) whatever happens next.
    let flow = match cookie(&headers, FLOW_COOKIE).and_then(|c| Token::from_cookie(&c)) {
        Some(token) => state
            .store
            .take_login_flow(&token.hash(), OIDC_FLOW)
            .await
            .map_err(WebError::Unavailable)?,
        None => None,
    };
    let clear = set_cookie(FLOW_COOKIE, None);
    let fail = |code: &str| {
        let mut r = redirect(&format!("/login?error={code}"));
        r.headers_mut().append(header::SET_COOKIE, clear.clone());
        Ok(r)
    };
    let Some(flow) = flow.and_then(|f| serde_json::from_str::<OidcFlow>(&f).ok()) else {
        return fail("expired");
    };
    if let Some(error) = q.error {
        tracing::info!(%error, "the provider ended the login");
        return fail(if error == "access_denied" {
            "cancelled"
        } else {
            "failed"
        });
    }
    let (Some(returned_state), Some(code)) = (q.state, q.code) else {
        return fail("failed");
    };
    let identity = match rp.complete(flow.pending, &returned_state, &code).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "OIDC login refused");
            return fail(match e {
                trygg_oidc::OidcError::LoaTooLow { .. } => "loa",
                _ => "failed",
            });
        }
    };
    let (next, cookies) = finish_login(
        &state,
        current.session.as_ref(),
        &identity,
        flow.audience,
        &flow.return_to,
    )
    .await?;
    let mut r = redirect(&next);
    for c in cookies {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r.headers_mut().append(header::SET_COOKIE, clear);
    Ok(r)
}

async fn start_bankid(
    state: &AppState,
    addr: ClientAddr,
    audience: Audience,
    return_to: String,
) -> Result<Response, WebError> {
    let Some(bankid) = &state.auth.methods.bankid else {
        return Err(WebError::BadRequest("BankID is not configured"));
    };
    let request = trygg_bankid::AuthRequest {
        end_user_ip: addr.0.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        user_visible_data: Some("Inloggning i Trygg".to_owned()),
        requirement: None,
    };
    let order: Order = match bankid.client.auth(&request).await {
        Ok(order) => order,
        Err(e) => return Ok(bankid_error_page(e)),
    };
    let flow = BankIdFlow {
        order_ref: order.order_ref.clone(),
        auto_start_token: order.auto_start_token.clone(),
        qr_start_token: order.qr_start_token.clone(),
        qr_start_secret: order.qr_start_secret.expose_secret().to_owned(),
        started_at: secs(state.store.clock().now()),
        last_collect: None,
        audience,
        return_to,
    };
    let token = Token::generate().map_err(|_| WebError::Internal("random source failed"))?;
    save_flow(state, &token, BANKID_FLOW, &flow).await?;
    let mut r = redirect("/login/bankid");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLOW_COOKIE, Some(token.expose())),
    );
    Ok(r)
}

fn bankid_error_page(e: BankIdError) -> Response {
    let message = e.user_message();
    if e.is_our_fault() {
        tracing::error!(error = %e, "BankID call failed");
    } else {
        tracing::warn!(error = %e, "BankID refused");
    }
    redirect(&format!("/login?error=bankid-{}", message.rfa.code()))
}

async fn save_flow<T: Serialize>(
    state: &AppState,
    token: &Token,
    kind: &str,
    flow: &T,
) -> Result<(), WebError> {
    let data = serde_json::to_string(flow).map_err(|_| WebError::Internal("flow encoding"))?;
    let expires = state.store.clock().now() + FLOW_LIFETIME;
    state
        .store
        .put_login_flow(&token.hash(), kind, &data, expires)
        .await
        .map_err(WebError::Unavailable)
}

async fn load_flow<T: for<'de> Deserialize<'de>>(
    state: &AppState,
    headers: &HeaderMap,
    kind: &str,
) -> Result<Option<(Token, T)>, WebError> {
    let Some(token) = cookie(headers, FLOW_COOKIE).and_then(|c| Token::from_cookie(&c)) else {
        return Ok(None);
    };
    let Some(data) = state
        .store
        .login_flow(&token.hash(), kind)
        .await
        .map_err(WebError::Unavailable)?
    else {
        return Ok(None);
    };
    let flow = serde_json::from_str(&data).map_err(|_| WebError::Internal("flow decoding"))?;
    Ok(Some((token, flow)))
}

#[derive(Template)]
#[template(path = "bankid.html")]
struct BankIdPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    autostart: String,
    simulator: Option<String>,
    csrf: String,
}

/// `GET /login/bankid`: the QR code (a new frame every second), the
/// same-device button, and the status, updated by `/static/bankid.js`.
pub async fn bankid_page(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((_, flow)) = load_flow::<BankIdFlow>(&state, &headers, BANKID_FLOW).await? else {
        return Ok(redirect("/login?error=expired"));
    };
    let lang = Lang::pick(q.lang.as_deref(), &headers);
    let (csrf, set) = crate::pages::form_csrf(current.session.as_ref(), &headers)?;
    let simulator = state
        .auth
        .methods
        .bankid
        .as_ref()
        .and_then(|b| b.simulator_app.as_ref())
        .map(|url| format!("{url}?autostarttoken={}", flow.auto_start_token));
    let html = BankIdPage {
        lang: lang.code(),
        t: lang.t(),
        autostart: trygg_bankid::qr::autostart_url(&flow.auto_start_token, None),
        simulator,
        csrf,
    }
    .render();
    Ok(form_page(lang, html, set))
}

/// `?lang=`.
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// `GET /login/bankid/qr`: the current QR frame as SVG.
pub async fn bankid_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((_, flow)) = load_flow::<BankIdFlow>(&state, &headers, BANKID_FLOW).await? else {
        return Err(WebError::NotFound);
    };
    let started = OffsetDateTime::from_unix_timestamp(flow.started_at)
        .map_err(|_| WebError::Internal("time"))?;
    let secret = QrStartSecret::new(flow.qr_start_secret.clone());
    let data = trygg_bankid::qr::qr_data(
        &flow.qr_start_token,
        &secret,
        trygg_bankid::qr::qr_time_secs(started, state.store.clock().as_ref()),
    );
    let svg = qrcode::QrCode::new(data.as_bytes())
        .map_err(|_| WebError::Internal("qr"))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build();
    let mut r = svg.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    Ok(r)
}

/// What `/login/bankid/status` answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct BankIdStatus {
    /// `pending`, `complete` or `failed`.
    pub state: &'static str,
    /// The recommended user message (RFA), in the page's language.
    pub message: String,
    /// Where to go next (complete or failed).
    pub next: Option<String>,
}

/// `GET /login/bankid/status`: collects (at most every 2 s) and reports.
/// On completion the session starts and its cookie is set on this response.
pub async fn bankid_status(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lang = Lang::pick(q.lang.as_deref(), &headers);
    let rfa_text = |rfa: trygg_bankid::Rfa| match lang {
        Lang::Sv => rfa.sv().to_owned(),
        Lang::En => rfa.en().to_owned(),
    };
    let Some((token, mut flow)) = load_flow::<BankIdFlow>(&state, &headers, BANKID_FLOW).await?
    else {
        return Ok(axum::Json(BankIdStatus {
            state: "failed",
            message: crate::i18n::login_error(lang, "expired")
                .unwrap_or_default()
                .to_owned(),
            next: Some("/login?error=expired".into()),
        })
        .into_response());
    };
    let Some(bankid) = &state.auth.methods.bankid else {
        return Err(WebError::NotFound);
    };
    let now = state.store.clock().now();
    let due = flow
        .last_collect
        .is_none_or(|t| now.unix_timestamp() - t >= COLLECT_INTERVAL.whole_seconds());
    if !due {
        return Ok(axum::Json(BankIdStatus {
            state: "pending",
            message: String::new(),
            next: None,
        })
        .into_response());
    }
    flow.last_collect = Some(secs(now));
    save_flow(&state, &token, BANKID_FLOW, &flow).await?;
    let collected = match bankid.client.collect(&flow.order_ref).await {
        Ok(c) => c,
        Err(e) if e.is_retryable() => {
            return Ok(axum::Json(BankIdStatus {
                state: "pending",
                message: rfa_text(e.user_message().rfa),
                next: None,
            })
            .into_response());
        }
        Err(e) => {
            let _ = state
                .store
                .take_login_flow(&token.hash(), BANKID_FLOW)
                .await;
            let rfa = e.user_message().rfa;
            if e.is_our_fault() {
                tracing::error!(error = %e, "BankID collect failed");
            }
            return Ok(axum::Json(BankIdStatus {
                state: "failed",
                message: rfa_text(rfa),
                next: Some(format!("/login?error=bankid-{}", rfa.code())),
            })
            .into_response());
        }
    };
    match collected.status {
        CollectStatus::Pending { hint_code } => Ok(axum::Json(BankIdStatus {
            state: "pending",
            message: rfa_text(messages::pending_message(&hint_code, Flow::QrCode)),
            next: None,
        })
        .into_response()),
        CollectStatus::Failed { hint_code } => {
            let _ = state
                .store
                .take_login_flow(&token.hash(), BANKID_FLOW)
                .await;
            let rfa = messages::failed_message(&hint_code, Flow::QrCode);
            Ok(axum::Json(BankIdStatus {
                state: "failed",
                message: rfa_text(rfa),
                next: Some(format!("/login?error=bankid-{}", rfa.code())),
            })
            .into_response())
        }
        CollectStatus::Complete(data) => {
            // The flow is used once: whoever takes it logs in.
            if state
                .store
                .take_login_flow(&token.hash(), BANKID_FLOW)
                .await
                .map_err(WebError::Unavailable)?
                .is_none()
            {
                return Err(WebError::BadRequest("login already completed"));
            }
            let identity = VerifiedIdentity {
                identity_number: Some(data.user.personal_number),
                hsa_id: None,
                given_name: trygg_domain::PersonName::parse(&data.user.given_name).ok(),
                family_name: trygg_domain::PersonName::parse(&data.user.surname).ok(),
                org_affiliation: None,
                method: AuthMethod::BankId,
                provider: "bankid".to_owned(),
                loa: Loa::Loa3,
                authenticated_at: now,
            };
            let (next, cookies) = finish_login(
                &state,
                current.session.as_ref(),
                &identity,
                flow.audience,
                &flow.return_to,
            )
            .await?;
            let mut r = axum::Json(BankIdStatus {
                state: if cookies.is_empty() {
                    "failed"
                } else {
                    "complete"
                },
                message: String::new(),
                next: Some(next),
            })
            .into_response();
            for c in cookies {
                r.headers_mut().append(header::SET_COOKIE, c);
            }
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, None));
            Ok(r)
        }
    }
}

/// `POST /login/bankid/cancel`.
pub async fn bankid_cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if let Some((token, flow)) = load_flow::<BankIdFlow>(&state, &headers, BANKID_FLOW).await? {
        let _ = state
            .store
            .take_login_flow(&token.hash(), BANKID_FLOW)
            .await;
        if let Some(bankid) = &state.auth.methods.bankid
            && let Err(e) = bankid.client.cancel(&flow.order_ref).await
        {
            tracing::info!(error = %e, "BankID cancel");
        }
    }
    let mut r = redirect("/login?error=cancelled");
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(FLOW_COOKIE, None));
    Ok(r)
}

/// Maps a verified identity to an account and starts its session. Returns
/// where to go next and the cookies to set (none if the login is refused).
pub async fn finish_login(
    state: &AppState,
    previous: Option<&crate::session::Session>,
    identity: &VerifiedIdentity,
    audience: Audience,
    return_to: &str,
) -> Result<(String, Vec<HeaderValue>), WebError> {
    let account = match resolve_account(state, identity, audience).await? {
        Ok(account) => account,
        Err(code) => {
            tracing::info!(code, method = identity.method.as_str(), "login refused");
            return Ok((format!("/login?error={code}"), Vec::new()));
        }
    };
    if identity.loa < crate::session::min_loa(&account) {
        return Ok(("/login?error=loa".to_owned(), Vec::new()));
    }
    let cookie = establish(
        state,
        previous,
        account,
        Authentication {
            method: identity.method,
            provider: identity.provider.clone(),
            loa: identity.loa,
            at: identity.authenticated_at,
        },
    )
    .await?;
    Ok((safe_return_path(Some(return_to)).to_owned(), vec![cookie]))
}

/// The account a verified identity logs in to, or an error code for the
/// login page.
async fn resolve_account(
    state: &AppState,
    identity: &VerifiedIdentity,
    audience: Audience,
) -> Result<Result<Account, &'static str>, WebError> {
    let number: Option<&IdentityNumber> = identity.identity_number.as_ref();
    match audience {
        Audience::Staff => {
            let found = state
                .store
                .staff_accounts(number, identity.hsa_id.as_ref())
                .await
                .map_err(WebError::Unavailable)?;
            if let Some((tenant, staff, _)) = found.iter().find(|(_, _, disabled)| !disabled) {
                return Ok(Ok(Account::Staff {
                    tenant: *tenant,
                    staff: *staff,
                }));
            }
            Ok(Err(if found.is_empty() {
                "no-account"
            } else {
                "disabled"
            }))
        }
        Audience::Citizen => {
            let Some(number) = number else {
                return Ok(Err("no-account"));
            };
            let found = state
                .store
                .citizen_accounts(number)
                .await
                .map_err(WebError::Unavailable)?;
            Ok(found.into_iter().next().ok_or("no-account"))
        }
    }
}

/// `GET /static/bankid.js`.
pub async fn bankid_js() -> Response {
    let mut r = include_str!("../static/bankid.js").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

/// Routes of the login methods.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/bankid", get(bankid_page))
        .route("/login/bankid/qr", get(bankid_qr))
        .route("/login/bankid/status", get(bankid_status))
        .route("/login/bankid/cancel", post(bankid_cancel))
        .route("/login/oidc/callback", get(oidc_callback))
        .route("/static/bankid.js", get(bankid_js))
}
