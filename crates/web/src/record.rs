//! The care record's JSON API, and the one decision path every handler that
//! touches a person's data goes through: [`authorize`] turns the session and
//! the request into a `Grant` (or a refusal); the store demands the grant.
//!
//! Refusals tell the user little (403 "not allowed", or 404 where saying more
//! would reveal that someone exists); the log gets the reason.

use crate::session::{Authenticated, Session};
use crate::{AppState, WebError};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use trygg_domain::{
    Account, Action, FreeText, IdentityNumber, Loa, Part, PersonId, Principal, Resource, StaffId,
    UnitId,
};
use trygg_policy::Grant;
use trygg_store::StoreError;

/// How long an emergency access holds.
pub const EMERGENCY_ACCESS_DURATION: time::Duration = time::Duration::hours(2);

/// The lowest LoA any session needs for care data.
const RECORD_MIN_LOA: Loa = Loa::Loa3;

/// What a decision about one person is made from, loaded once per request:
/// the principal (with roles) and the person's facts.
#[derive(Debug)]
pub struct Access {
    principal: Principal,
    facts: trygg_domain::PersonFacts,
    now: time::OffsetDateTime,
}

/// Loads the principal's roles and the person's facts for this session.
pub async fn load_access(
    state: &AppState,
    session: &Session,
    person: PersonId,
) -> Result<Access, WebError> {
    let account = &session.record.account;
    let Some(tenant) = account.tenant() else {
        tracing::warn!("refused: the bootstrap administrator reaches no personal data");
        return Err(WebError::Forbidden);
    };
    let now = state.store.clock().now();
    let roles = match account {
        Account::Staff { staff, .. } => state
            .store
            .roles_of(*staff)
            .await
            .map_err(WebError::Unavailable)?
            .into_iter()
            .map(|r| (r.unit, r.role))
            .collect(),
        _ => Vec::new(),
    };
    let principal = Principal {
        account: account.clone(),
        roles,
        loa: session.record.loa,
        stepped_up: crate::pages::is_stepped_up(state, session),
    };
    let facts = state
        .store
        .person_facts(tenant, person, now)
        .await
        .map_err(store_err)?;
    Ok(Access {
        principal,
        facts,
        now,
    })
}

/// The part of the person's data an action concerns (Find and emergency
/// access concern the person as such: their overview).
fn part_of(action: Action) -> Part {
    match action {
        Action::Read(part) | Action::Write(part) => part,
        Action::Find | Action::BeginEmergencyAccess => Part::Overview,
    }
}

/// Asks the policy whether `action` (on documentation written by `owner`) is
/// allowed, given what [`load_access`] loaded.
pub fn decide(
    state: &AppState,
    access: &Access,
    action: Action,
    owner: Option<UnitId>,
) -> Result<Grant, WebError> {
    let resource = Resource {
        person: access.facts.person,
        part: part_of(action),
        owner_unit: owner,
        min_loa: RECORD_MIN_LOA,
    };
    state
        .policy
        .authorize(&access.principal, action, &resource, &access.facts, access.now)
        .map_err(|denial| {
            tracing::warn!(action = ?action, reason = ?denial.reason, person = %access.facts.person, "access refused");
            WebError::Forbidden
        })
}

/// The one decision path: may this session do `action` on `person`'s data
/// (documentation written by `owner`)? Loads the facts, asks the policy, and
/// returns the grant the store demands.
pub async fn authorize(
    state: &AppState,
    session: &Session,
    person: PersonId,
    action: Action,
    owner: Option<UnitId>,
) -> Result<Grant, WebError> {
    decide(
        state,
        &load_access(state, session, person).await?,
        action,
        owner,
    )
}

fn staff_of(session: &Session) -> Result<StaffId, WebError> {
    match session.record.account {
        Account::Staff { staff, .. } => Ok(staff),
        _ => Err(WebError::Forbidden),
    }
}

fn store_err(e: StoreError) -> WebError {
    match e {
        StoreError::NotFound(_) | StoreError::Erased(_) => WebError::NotFound,
        other => WebError::Unavailable(other),
    }
}

/// A person's overview.
#[derive(Debug, Serialize, Deserialize)]
pub struct Overview {
    /// Id.
    pub id: PersonId,
    /// Name.
    pub name: String,
    /// Personnummer or samordningsnummer.
    pub identity_number: String,
    /// Protected identity.
    pub protected_identity: bool,
    /// Address and contact data, when the principal may see them.
    pub contact: Option<Contact>,
}

/// Address and contact data.
#[derive(Debug, Serialize, Deserialize)]
pub struct Contact {
    /// Address.
    pub address: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// `GET /api/persons/{id}`.
pub async fn overview(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(person): Path<PersonId>,
) -> Result<Json<Overview>, WebError> {
    let access = load_access(&state, &session, person).await?;
    let grant = decide(&state, &access, Action::Read(Part::Overview), None)?;
    let contact_allowed = decide(&state, &access, Action::Read(Part::Contact), None).is_ok();
    let p = state.store.person_record(&grant).await.map_err(store_err)?;
    Ok(Json(Overview {
        id: p.id,
        name: format!("{} {}", p.details.given_name, p.details.family_name),
        identity_number: p.details.identity_number.display_form(),
        protected_identity: p.protected_identity,
        contact: contact_allowed.then(|| Contact {
            address: p.details.address.map(String::from),
            phone: p.details.phone.map(String::from),
            email: p.details.email.map(String::from),
        }),
    }))
}

/// `?identity_number=`.
#[derive(Debug, Deserialize)]
pub struct FindQuery {
    identity_number: String,
}

/// `GET /api/persons?identity_number=…`: exact lookup; a person the
/// principal may not find is "not found", like one who does not exist.
pub async fn find(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<FindQuery>,
) -> Result<Json<serde_json::Value>, WebError> {
    let tenant = session.record.account.tenant().ok_or(WebError::Forbidden)?;
    let number = IdentityNumber::parse(&q.identity_number, state.store.clock().today())
        .map_err(|_| WebError::BadRequest("not a personnummer or samordningsnummer"))?;
    let person = state
        .store
        .person_id_by_number(tenant, &number)
        .await
        .map_err(store_err)?;
    authorize(&state, &session, person, Action::Find, None)
        .await
        .map_err(|_| WebError::NotFound)?;
    Ok(Json(serde_json::json!({ "id": person })))
}

/// One version of a text (plan or note).
#[derive(Debug, Serialize, Deserialize)]
pub struct Version {
    /// Note id (notes only).
    pub id: Option<uuid::Uuid>,
    /// Version number.
    pub version: i64,
    /// Text.
    pub text: String,
    /// Author (staff id).
    pub author: StaffId,
    /// When (RFC 3339).
    pub written_at: String,
}

fn when(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl From<trygg_store::CarePlan> for Version {
    fn from(p: trygg_store::CarePlan) -> Self {
        Self {
            id: None,
            version: p.version,
            text: p.text.into(),
            author: p.author,
            written_at: when(p.written_at),
        }
    }
}

impl From<trygg_store::VisitNote> for Version {
    fn from(n: trygg_store::VisitNote) -> Self {
        Self {
            id: Some(n.id),
            version: n.version,
            text: n.text.into(),
            author: n.author,
            written_at: when(n.written_at),
        }
    }
}

/// `GET /api/persons/{id}/care-plan/{unit}`: every version, oldest first.
pub async fn care_plan(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
) -> Result<Json<Vec<Version>>, WebError> {
    let grant = authorize(
        &state,
        &session,
        person,
        Action::Read(Part::CarePlan),
        Some(unit),
    )
    .await?;
    let history = state
        .store
        .care_plan_history(&grant)
        .await
        .map_err(store_err)?;
    Ok(Json(history.into_iter().map(Version::from).collect()))
}

/// A text to write. Nothing else is accepted (no author, version or unit:
/// those come from the session and the path).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    text: String,
}

impl TextBody {
    fn parse(&self) -> Result<FreeText, WebError> {
        FreeText::parse(&self.text)
            .map_err(|_| WebError::BadRequest("the text is empty or too long"))
    }
}

/// `POST /api/persons/{id}/care-plan/{unit}`: a new version.
pub async fn write_care_plan(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
    Json(body): Json<TextBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    let author = staff_of(&session)?;
    let text = body.parse()?;
    let grant = authorize(
        &state,
        &session,
        person,
        Action::Write(Part::CarePlan),
        Some(unit),
    )
    .await?;
    let version = state
        .store
        .write_care_plan(&grant, author, &text)
        .await
        .map_err(store_err)?;
    Ok(Json(serde_json::json!({ "version": version })))
}

/// `GET /api/persons/{id}/notes/{unit}`: the latest version of each note.
pub async fn notes(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
) -> Result<Json<Vec<Version>>, WebError> {
    let grant = authorize(
        &state,
        &session,
        person,
        Action::Read(Part::VisitNotes),
        Some(unit),
    )
    .await?;
    let notes = state.store.visit_notes(&grant).await.map_err(store_err)?;
    Ok(Json(notes.into_iter().map(Version::from).collect()))
}

/// `POST /api/persons/{id}/notes/{unit}`: a new note.
pub async fn write_note(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
    Json(body): Json<TextBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    let author = staff_of(&session)?;
    let text = body.parse()?;
    let grant = authorize(
        &state,
        &session,
        person,
        Action::Write(Part::VisitNotes),
        Some(unit),
    )
    .await?;
    let (id, version) = state
        .store
        .write_visit_note(&grant, None, author, &text)
        .await
        .map_err(store_err)?;
    Ok(Json(serde_json::json!({ "id": id, "version": version })))
}

/// The reason for an emergency access.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyBody {
    reason: String,
}

/// `POST /api/persons/{id}/emergency-access`: needs a stated reason and a
/// fresh login; holds for two hours; goes on the follow-up list.
pub async fn emergency_access(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(person): Path<PersonId>,
    Json(body): Json<EmergencyBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    let staff = staff_of(&session)?;
    let reason =
        FreeText::parse(&body.reason).map_err(|_| WebError::BadRequest("a reason is required"))?;
    let grant = authorize(&state, &session, person, Action::BeginEmergencyAccess, None).await?;
    let until = state.store.clock().now() + EMERGENCY_ACCESS_DURATION;
    let id = state
        .store
        .begin_emergency_access(&grant, staff, &reason, until)
        .await
        .map_err(store_err)?;
    tracing::warn!(%person, %staff, "emergency access begun");
    Ok(Json(serde_json::json!({ "id": id, "until": when(until) })))
}

/// Routes of the care record API (every one goes through [`authorize`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/persons", get(find))
        .route("/api/persons/{id}", get(overview))
        .route(
            "/api/persons/{id}/care-plan/{unit}",
            get(care_plan).post(write_care_plan),
        )
        .route(
            "/api/persons/{id}/notes/{unit}",
            get(notes).post(write_note),
        )
        .route("/api/persons/{id}/emergency-access", post(emergency_access))
}
