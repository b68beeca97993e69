//! A person's safety alarms and their handling, as a JSON API for the
//! operator console and the home-care staff's phones. Every handler goes
//! through [`record::authorize`] (the one decision path) and hands the grant
//! to the store, which audits the read or the step.

use crate::record::{self, store_err};
use crate::session::Authenticated;
use crate::{AppState, WebError};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use trygg_domain::{Action, AlarmId, FreeText, Part, PersonId, StaffId};
use trygg_store::AlarmRecord;

/// An alarm as the API shows it.
#[derive(Debug, Serialize)]
pub struct AlarmView {
    /// Its id.
    pub id: AlarmId,
    /// `alarm`, `technical` or `status`.
    pub kind: String,
    /// `received`, `taken`, `dispatched`, `on_site` or `closed`.
    pub state: &'static str,
    /// The device's reference.
    pub reference: String,
    /// The SCAIP status code, if any.
    pub status_code: Option<u16>,
    /// The SCAIP priority, if any.
    pub priority: Option<u8>,
    /// What the device sent (canonical SCAIP `<mrq>`, or a supervision note).
    pub message: String,
    /// When it was received (RFC 3339, UTC).
    pub received_at: String,
    /// Repeats the device sent.
    pub repeats: i64,
    /// The operator who took it.
    pub taken_by: Option<StaffId>,
    /// Who was dispatched.
    pub dispatched_to: Option<StaffId>,
    /// When staff were on site.
    pub on_site_at: Option<String>,
    /// Who closed it.
    pub closed_by: Option<StaffId>,
    /// The closing note.
    pub note: Option<String>,
    /// When it was escalated for not being taken in time.
    pub escalated_at: Option<String>,
    /// When the device reported check-out (SCAIP 0111).
    pub checked_out_at: Option<String>,
}

impl From<AlarmRecord> for AlarmView {
    fn from(a: AlarmRecord) -> Self {
        Self {
            id: a.id,
            kind: a.kind,
            state: a.state.as_str(),
            reference: a.reference,
            status_code: a.status_code,
            priority: a.priority,
            message: a.request.to_string(),
            received_at: record::when(a.received_at),
            repeats: a.repeats,
            taken_by: a.taken.map(|t| t.0),
            dispatched_to: a.dispatched.map(|d| d.0),
            on_site_at: a.on_site_at.map(record::when),
            closed_by: a.closed.as_ref().map(|c| c.0),
            note: a.closed.map(|c| c.2.as_str().to_owned()),
            escalated_at: a.escalated_at.map(record::when),
            checked_out_at: a.checked_out_at.map(record::when),
        }
    }
}

/// A step in handling an alarm.
#[derive(Debug)]
pub enum Step {
    /// The operator takes it.
    Take,
    /// A home-care staff member is sent.
    Dispatch(StaffId),
    /// Staff are with the person.
    OnSite,
    /// Handled, with a note.
    Close(String),
}

/// The person's alarms, newest first.
pub async fn read_alarms(
    state: &AppState,
    session: &crate::session::Session,
    person: PersonId,
) -> Result<Vec<AlarmView>, WebError> {
    let grant = record::authorize(state, session, person, Action::Read(Part::Alarms), None).await?;
    let alarms = state.store.person_alarms(&grant).await.map_err(store_err)?;
    Ok(alarms.into_iter().map(AlarmView::from).collect())
}

/// Takes one step in handling `alarm`, one of `person`'s.
pub async fn handle_alarm(
    state: &AppState,
    session: &crate::session::Session,
    person: PersonId,
    alarm: AlarmId,
    step: Step,
) -> Result<(), WebError> {
    let note = match &step {
        Step::Close(text) => {
            Some(FreeText::parse(text).map_err(|_| WebError::BadRequest("a note is required"))?)
        }
        _ => None,
    };
    let grant =
        record::authorize(state, session, person, Action::Write(Part::Alarms), None).await?;
    let store = &state.store;
    let done = match (step, note) {
        (Step::Take, _) => store.take_alarm(&grant, alarm).await,
        (Step::Dispatch(to), _) => store.dispatch_alarm(&grant, alarm, to).await,
        (Step::OnSite, _) => store.alarm_on_site(&grant, alarm).await,
        (Step::Close(_), Some(note)) => store.close_alarm(&grant, alarm, &note).await,
        (Step::Close(_), None) => return Err(WebError::BadRequest("a note is required")),
    };
    done.map_err(store_err)
}

// The JSON API.

/// `GET /api/persons/{id}/alarms`.
pub async fn alarms(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(person): Path<PersonId>,
) -> Result<Json<Vec<AlarmView>>, WebError> {
    Ok(Json(read_alarms(&state, &session, person).await?))
}

async fn step(
    state: &AppState,
    session: &crate::session::Session,
    person: PersonId,
    alarm: AlarmId,
    step: Step,
) -> Result<Json<serde_json::Value>, WebError> {
    handle_alarm(state, session, person, alarm, step).await?;
    Ok(Json(serde_json::json!({ "id": alarm })))
}

/// `POST /api/persons/{id}/alarms/{alarm}/take` (no body).
pub async fn take(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
) -> Result<Json<serde_json::Value>, WebError> {
    step(&state, &session, person, alarm, Step::Take).await
}

/// Who to send.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    staff: StaffId,
}

/// `POST /api/persons/{id}/alarms/{alarm}/dispatch` `{"staff": id}`.
pub async fn dispatch(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
    Json(body): Json<DispatchBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    step(&state, &session, person, alarm, Step::Dispatch(body.staff)).await
}

/// `POST /api/persons/{id}/alarms/{alarm}/on-site` (no body).
pub async fn on_site(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
) -> Result<Json<serde_json::Value>, WebError> {
    step(&state, &session, person, alarm, Step::OnSite).await
}

/// The closing note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    note: String,
}

/// `POST /api/persons/{id}/alarms/{alarm}/close` `{"note": "…"}`.
pub async fn close(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
    Json(body): Json<CloseBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    step(&state, &session, person, alarm, Step::Close(body.note)).await
}

/// Routes of the alarm API (every one goes through [`record::authorize`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/persons/{id}/alarms", get(alarms))
        .route("/api/persons/{id}/alarms/{alarm}/take", post(take))
        .route("/api/persons/{id}/alarms/{alarm}/dispatch", post(dispatch))
        .route("/api/persons/{id}/alarms/{alarm}/on-site", post(on_site))
        .route("/api/persons/{id}/alarms/{alarm}/close", post(close))
}
