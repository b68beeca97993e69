//! The simulator's control surface (`/simulator/…`): plays the user's
//! BankID app and injects faults. Not part of BankID's API.
//!
//! Answers: 200 with `{"orderRef","status","hintCode"?}`; errors as
//! `{"error": "…"}` with 400 (bad body), 404 (no such order) or 409 (the
//! order is no longer pending).

use super::state::{Approver, ControlError, SimOrder};
use super::{BankIdSimulator, Fault};
use crate::model::HintCode;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use trygg_domain::IdentityNumber;

fn control_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn refused(error: &ControlError) -> Response {
    match error {
        ControlError::NoSuchOrder => control_error(StatusCode::NOT_FOUND, "no such order"),
        ControlError::NotPending(status) => control_error(
            StatusCode::CONFLICT,
            &format!("the order is no longer pending (it is {status})"),
        ),
    }
}

pub(super) fn order_state(order: &SimOrder) -> serde_json::Value {
    let mut body = json!({ "orderRef": order.order_ref, "status": order.status() });
    if let (Some(hint), Some(object)) = (order.hint(), body.as_object_mut()) {
        object.insert("hintCode".into(), json!(hint.as_str()));
    }
    body
}

/// Applies `action` to the order and answers with its new state.
pub(super) fn with_order(
    sim: &BankIdSimulator,
    order_ref: &str,
    action: impl FnOnce(&mut SimOrder, OffsetDateTime) -> Result<(), ControlError>,
) -> Result<serde_json::Value, ControlError> {
    let now = sim.now();
    let mut state = sim.state(now);
    let order = state
        .orders
        .get_mut(order_ref)
        .ok_or(ControlError::NoSuchOrder)?;
    action(order, now)?;
    tracing::info!(
        %order_ref,
        status = order.status(),
        hint = order.hint().map(HintCode::as_str),
        "BankID simulator: order changed"
    );
    Ok(order_state(order))
}

fn respond(result: Result<serde_json::Value, ControlError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => refused(&error),
    }
}

pub(super) async fn scan(
    State(sim): State<BankIdSimulator>,
    Path(order_ref): Path<String>,
) -> Response {
    respond(with_order(&sim, &order_ref, |order, _| order.scan()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApproveIn {
    personal_number: IdentityNumber,
    given_name: String,
    surname: String,
}

pub(super) async fn approve(
    State(sim): State<BankIdSimulator>,
    Path(order_ref): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(input) = serde_json::from_slice::<ApproveIn>(&body) else {
        return control_error(
            StatusCode::BAD_REQUEST,
            "expected {\"personalNumber\": 12 digits, \"givenName\", \"surname\"}",
        );
    };
    let given_name = input.given_name.trim().to_owned();
    let surname = input.surname.trim().to_owned();
    if given_name.is_empty() || surname.is_empty() {
        return control_error(
            StatusCode::BAD_REQUEST,
            "givenName and surname are required",
        );
    }
    let approver = Approver {
        personal_number: input.personal_number,
        given_name,
        surname,
    };
    respond(with_order(&sim, &order_ref, |order, now| {
        order.approve(approver, now)
    }))
}

pub(super) async fn cancel_by_user(
    State(sim): State<BankIdSimulator>,
    Path(order_ref): Path<String>,
) -> Response {
    respond(with_order(&sim, &order_ref, |order, now| {
        order.cancel_by_user(now)
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HintIn {
    hint_code: String,
    status: Option<String>,
}

pub(super) async fn hint(
    State(sim): State<BankIdSimulator>,
    Path(order_ref): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(input) = serde_json::from_slice::<HintIn>(&body) else {
        return control_error(
            StatusCode::BAD_REQUEST,
            "expected {\"hintCode\": \"…\", \"status\": \"pending\" | \"failed\" (optional)}",
        );
    };
    let code = input.hint_code.as_str();
    if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return control_error(
            StatusCode::BAD_REQUEST,
            "hintCode must be 1-64 letters or digits",
        );
    }
    let hint = HintCode::parse(code);
    let failed = match input.status.as_deref() {
        None => hint.is_failure(),
        Some("pending") => false,
        Some("failed") => true,
        Some(_) => {
            return control_error(StatusCode::BAD_REQUEST, "status must be pending or failed");
        }
    };
    respond(with_order(&sim, &order_ref, |order, now| {
        order.force_hint(hint, failed, now)
    }))
}

#[derive(Deserialize)]
struct FaultIn {
    next: String,
}

pub(super) async fn faults(State(sim): State<BankIdSimulator>, body: Bytes) -> Response {
    let next = serde_json::from_slice::<FaultIn>(&body)
        .ok()
        .map(|input| input.next);
    let fault = match next.as_deref() {
        Some("maintenance") => Fault::Maintenance,
        Some("requestTimeout") => Fault::RequestTimeout,
        Some("internalError") => Fault::InternalError,
        Some("alreadyInProgress") => Fault::AlreadyInProgress,
        Some("unauthorized") => Fault::Unauthorized,
        _ => {
            return control_error(
                StatusCode::BAD_REQUEST,
                "expected {\"next\": \"maintenance\" | \"requestTimeout\" | \"internalError\" | \
                 \"alreadyInProgress\" | \"unauthorized\"}",
            );
        }
    };
    sim.inner
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .next_fault = Some(fault);
    tracing::info!(?fault, "BankID simulator: the next RP call will fail");
    Json(json!({ "next": next })).into_response()
}
