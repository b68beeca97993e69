//! The simulated RP API v6.0: `/auth`, `/sign`, `/collect`, `/cancel`.
//!
//! Status codes and error codes as BankID publishes them: 200 with a JSON
//! body on success; `{"errorCode","details"}` with 400 (`invalidParameters`,
//! `alreadyInProgress`), 401 (`unauthorized`), 404 (`notFound`), 405
//! (`methodNotAllowed`), 408 (`requestTimeout`), 415
//! (`unsupportedMediaType`), 500 (`internalError`), 503 (`maintenance`).

use super::state::{Approver, Kind, Phase, SimOrder};
use super::{BankIdSimulator, Fault};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::IpAddr;
use time::OffsetDateTime;

/// `userVisibleData` limits after base64 encoding (auth, sign) and
/// `userNonVisibleData`.
const AUTH_VISIBLE_MAX: usize = 1_500;
const SIGN_VISIBLE_MAX: usize = 40_000;
const NON_VISIBLE_MAX: usize = 200_000;

pub(super) fn error(status: StatusCode, code: &str, details: &str) -> Response {
    (
        status,
        Json(json!({ "errorCode": code, "details": details })),
    )
        .into_response()
}

fn invalid(details: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalidParameters", details)
}

impl Fault {
    fn response(self) -> Response {
        match self {
            Fault::Maintenance => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "maintenance",
                "Simulated maintenance (BankID simulator)",
            ),
            Fault::RequestTimeout => error(
                StatusCode::REQUEST_TIMEOUT,
                "requestTimeout",
                "Simulated request timeout (BankID simulator)",
            ),
            Fault::InternalError => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internalError",
                "Simulated internal error (BankID simulator)",
            ),
            Fault::AlreadyInProgress => error(
                StatusCode::BAD_REQUEST,
                "alreadyInProgress",
                "Order already in progress for the user (BankID simulator)",
            ),
            Fault::Unauthorized => error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Simulated unauthorized RP (BankID simulator)",
            ),
        }
    }
}

/// The checks every RP call shares: an injected fault, then the media type.
/// `Some` is the error answer.
fn precheck(sim: &BankIdSimulator, headers: &HeaderMap) -> Option<Response> {
    let fault = sim
        .inner
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .next_fault
        .take();
    if let Some(fault) = fault {
        tracing::info!(?fault, "BankID simulator: injected fault");
        return Some(fault.response());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    (!json).then(|| {
        error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupportedMediaType",
            "Content-Type must be application/json",
        )
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartIn {
    end_user_ip: Option<String>,
    user_visible_data: Option<String>,
    user_visible_data_format: Option<String>,
    user_non_visible_data: Option<String>,
    requirement: Option<RequirementIn>,
    // Accepted as the API defines them; the simulator does not use them.
    #[allow(dead_code)]
    return_url: Option<String>,
    #[allow(dead_code)]
    return_risk: Option<bool>,
    #[allow(dead_code)]
    app: Option<Value>,
    #[allow(dead_code)]
    web: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequirementIn {
    #[allow(dead_code)]
    pin_code: Option<bool>,
    mrtd: Option<bool>,
    card_reader: Option<String>,
    #[allow(dead_code)]
    certificate_policies: Option<Vec<String>>,
    personal_number: Option<String>,
}

pub(super) async fn auth(
    State(sim): State<BankIdSimulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    start(&sim, &headers, &body, Kind::Auth)
}

pub(super) async fn sign(
    State(sim): State<BankIdSimulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    start(&sim, &headers, &body, Kind::Sign)
}

fn start(sim: &BankIdSimulator, headers: &HeaderMap, body: &[u8], kind: Kind) -> Response {
    if let Some(response) = precheck(sim, headers) {
        return response;
    }
    let Ok(input) = serde_json::from_slice::<StartIn>(body) else {
        return invalid("Invalid JSON in request body");
    };
    let Some(end_user_ip) = input
        .end_user_ip
        .as_deref()
        .and_then(|ip| ip.parse::<IpAddr>().ok())
    else {
        return invalid("Incorrect endUserIp");
    };
    let visible_max = match kind {
        Kind::Auth => AUTH_VISIBLE_MAX,
        Kind::Sign => SIGN_VISIBLE_MAX,
    };
    let user_visible_text = match input.user_visible_data.as_deref() {
        None if kind == Kind::Sign => return invalid("Missing userVisibleData"),
        None => None,
        Some(encoded) => match decode_text(encoded, visible_max) {
            Some(text) => Some(text),
            None => return invalid("Incorrect userVisibleData"),
        },
    };
    if let Some(format) = input.user_visible_data_format.as_deref()
        && format != "simpleMarkdownV1"
    {
        return invalid("Incorrect userVisibleDataFormat");
    }
    if let Some(encoded) = input.user_non_visible_data.as_deref()
        && (kind == Kind::Auth || !valid_base64(encoded, NON_VISIBLE_MAX))
    {
        return invalid("Incorrect userNonVisibleData");
    }
    let mut mrtd_required = false;
    if let Some(requirement) = &input.requirement {
        if let Some(reader) = requirement.card_reader.as_deref()
            && !matches!(reader, "class1" | "class2")
        {
            return invalid("Incorrect requirement.cardReader");
        }
        if let Some(number) = requirement.personal_number.as_deref()
            && (number.len() != 12 || !number.bytes().all(|b| b.is_ascii_digit()))
        {
            return invalid("Incorrect requirement.personalNumber");
        }
        mrtd_required = requirement.mrtd.unwrap_or(false);
    }

    let now = sim.now();
    let mut order = SimOrder::new(kind, end_user_ip, now, user_visible_text);
    order.user_visible_data = input.user_visible_data;
    order.user_non_visible_data = input.user_non_visible_data;
    order.mrtd_required = mrtd_required;
    let response = json!({
        "orderRef": order.order_ref,
        "autoStartToken": order.auto_start_token,
        "qrStartToken": order.qr_start_token,
        "qrStartSecret": order.qr_start_secret,
    });
    tracing::info!(order_ref = %order.order_ref, ?kind, "BankID simulator: order started");
    sim.state(now).orders.insert(order.order_ref.clone(), order);
    Json(response).into_response()
}

fn decode_text(encoded: &str, max: usize) -> Option<String> {
    if !valid_base64(encoded, max) {
        return None;
    }
    let bytes = BASE64.decode(encoded).ok()?;
    String::from_utf8(bytes).ok()
}

fn valid_base64(encoded: &str, max: usize) -> bool {
    !encoded.is_empty() && encoded.len() <= max && BASE64.decode(encoded).is_ok()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderRefIn {
    order_ref: String,
}

fn parse_order_ref(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<OrderRefIn>(body)
        .ok()
        .map(|input| input.order_ref)
}

pub(super) async fn collect(
    State(sim): State<BankIdSimulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = precheck(&sim, &headers) {
        return response;
    }
    let Some(order_ref) = parse_order_ref(&body) else {
        return invalid("Invalid JSON in request body");
    };
    let now = sim.now();
    let mut state = sim.state(now);
    let Some(order) = state.orders.get_mut(&order_ref) else {
        return invalid("No such order");
    };
    let body = collect_body(order, now);
    order.collected();
    Json(body).into_response()
}

fn collect_body(order: &SimOrder, now: OffsetDateTime) -> Value {
    match &order.phase {
        Phase::Pending { hint, .. } | Phase::Failed { hint, .. } => json!({
            "orderRef": order.order_ref,
            "status": order.status(),
            "hintCode": hint.as_str(),
        }),
        Phase::Complete { approver, .. } => json!({
            "orderRef": order.order_ref,
            "status": "complete",
            "completionData": completion_data(order, approver, now),
        }),
    }
}

fn completion_data(order: &SimOrder, approver: &Approver, now: OffsetDateTime) -> Value {
    let today = now.date();
    let issued = today
        .checked_sub(time::Duration::days(400))
        .unwrap_or(today)
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| "2024-01-01".to_owned());
    let signature = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\
         <SimulatedSignature xmlns=\"urn:trygg:bankid-simulator\">\
         <Notice>NOT A BANKID SIGNATURE: issued by the Trygg BankID simulator</Notice>\
         <OrderRef>{}</OrderRef><Kind>{}</Kind><UserVisibleData>{}</UserVisibleData>\
         <UserNonVisibleData>{}</UserNonVisibleData></SimulatedSignature>",
        order.order_ref,
        match order.kind {
            Kind::Auth => "auth",
            Kind::Sign => "sign",
        },
        order.user_visible_data.as_deref().unwrap_or_default(),
        order.user_non_visible_data.as_deref().unwrap_or_default(),
    );
    let mut data = json!({
        "user": {
            "personalNumber": approver.personal_number.canonical(),
            "name": format!("{} {}", approver.given_name, approver.surname),
            "givenName": approver.given_name,
            "surname": approver.surname,
        },
        "device": {
            "ipAddress": order.end_user_ip.to_string(),
            "uhi": "U0lNVUxBVE9SLW5vdC1hLXJlYWwtZGV2aWNl",
        },
        "bankIdIssueDate": issued,
        "signature": BASE64.encode(signature),
        "ocspResponse": BASE64.encode("NOT AN OCSP RESPONSE: Trygg BankID simulator"),
    });
    if order.mrtd_required
        && let Some(object) = data.as_object_mut()
    {
        object.insert("stepUp".into(), json!({ "mrtd": true }));
    }
    data
}

pub(super) async fn cancel(
    State(sim): State<BankIdSimulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = precheck(&sim, &headers) {
        return response;
    }
    let Some(order_ref) = parse_order_ref(&body) else {
        return invalid("Invalid JSON in request body");
    };
    let now = sim.now();
    let mut state = sim.state(now);
    match state.orders.get(&order_ref) {
        Some(order) if order.is_pending() => {
            state.orders.remove(&order_ref);
            tracing::info!(%order_ref, "BankID simulator: order cancelled by the RP");
            Json(json!({})).into_response()
        }
        _ => invalid("No such order"),
    }
}

pub(super) async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "methodNotAllowed",
        "Only POST is allowed",
    )
}

pub(super) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "notFound", "No such method")
}
