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
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use trygg_domain::{
    Account, Action, ActiveCare, Actor, AuditEvent, FreeText, IdentityNumber, Loa, Outcome, Part,
    PersonId, Principal, Resource, StaffId, TenantId, UnitId,
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

/// The session's principal, with the roles the store holds now (so a
/// change of roles takes effect on the next request).
pub async fn load_principal(state: &AppState, session: &Session) -> Result<Principal, WebError> {
    let account = &session.record.account;
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
    Ok(Principal {
        account: account.clone(),
        roles,
        loa: session.record.loa,
        stepped_up: crate::pages::is_stepped_up(state, session),
    })
}

/// Loads the principal's roles and the person's facts for this session.
pub async fn load_access(
    state: &AppState,
    session: &Session,
    person: PersonId,
) -> Result<Access, WebError> {
    let Some(tenant) = session.record.account.tenant() else {
        tracing::warn!("refused: the bootstrap administrator reaches no personal data");
        return Err(WebError::Forbidden);
    };
    let now = state.store.clock().now();
    let principal = load_principal(state, session).await?;
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

fn resource_for(access: &Access, action: Action, owner: Option<UnitId>) -> Resource {
    Resource {
        person: access.facts.person,
        part: part_of(action),
        owner_unit: owner,
        min_loa: RECORD_MIN_LOA,
    }
}

/// Asks the policy whether `action` (on documentation written by `owner`) is
/// allowed, given what [`load_access`] loaded. A refusal is logged and
/// audited before it is answered; a grant carries the request for the
/// audit entry the store writes when it is used.
pub async fn decide(
    state: &AppState,
    access: &Access,
    session: &Session,
    action: Action,
    owner: Option<UnitId>,
) -> Result<Grant, WebError> {
    let resource = resource_for(access, action, owner);
    match state.policy.authorize(
        &access.principal,
        action,
        &resource,
        &access.facts,
        access.now,
    ) {
        Ok(grant) => Ok(grant.in_request(session.request_info())),
        Err(denial) => {
            tracing::warn!(action = ?action, reason = ?denial.reason, person = %access.facts.person, "access refused");
            audit_refusal(
                state,
                session,
                Some(access.facts.person),
                action,
                owner,
                denial.reason.as_str(),
            )
            .await?;
            Err(WebError::Forbidden)
        }
    }
}

/// Appends the audit entry for a refused or failed attempt.
pub async fn audit_refusal(
    state: &AppState,
    session: &Session,
    person: Option<PersonId>,
    action: Action,
    owner: Option<UnitId>,
    reason: &str,
) -> Result<(), WebError> {
    audit_refusal_of(state, session, person, action.audit_name(), owner, reason).await
}

/// [`audit_refusal`] for an action named as the audit log names it.
pub async fn audit_refusal_of(
    state: &AppState,
    session: &Session,
    person: Option<PersonId>,
    action: String,
    owner: Option<UnitId>,
    reason: &str,
) -> Result<(), WebError> {
    let info = session.request_info();
    let event = AuditEvent {
        tenant: session.record.account.tenant(),
        at: state.store.clock().now(),
        actor: Actor::of(&session.record.account),
        method: info.method,
        loa: info.loa,
        person,
        action,
        unit: owner,
        outcome: Outcome::Deny,
        ground: reason.to_owned(),
        request_id: info.request_id,
    };
    state
        .store
        .record_event(&event)
        .await
        .map_err(WebError::Unavailable)
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
    let access = load_audited(state, session, person, action, owner).await?;
    decide(state, &access, session, action, owner).await
}

/// [`load_access`] for an attempt: a person who does not exist (or not in
/// the principal's tenant), or a principal who reaches no personal data,
/// is a refused attempt and is audited as one.
async fn load_audited(
    state: &AppState,
    session: &Session,
    person: PersonId,
    action: Action,
    owner: Option<UnitId>,
) -> Result<Access, WebError> {
    match load_access(state, session, person).await {
        Err(WebError::NotFound) => {
            audit_refusal(state, session, None, action, owner, "not_found").await?;
            Err(WebError::NotFound)
        }
        Err(WebError::Forbidden) => {
            let reason = trygg_policy::DenyReason::BootstrapAdmin.as_str();
            audit_refusal(state, session, Some(person), action, owner, reason).await?;
            Err(WebError::Forbidden)
        }
        other => other,
    }
}

pub(crate) fn staff_of(session: &Session) -> Result<StaffId, WebError> {
    match session.record.account {
        Account::Staff { staff, .. } => Ok(staff),
        _ => Err(WebError::Forbidden),
    }
}

pub(crate) fn store_err(e: StoreError) -> WebError {
    match e {
        StoreError::NotFound(_) | StoreError::Erased(_) => WebError::NotFound,
        StoreError::Conflict(why) => WebError::Conflict(why),
        StoreError::UnknownReference(what) => WebError::BadRequest(what),
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
    /// The units whose documentation about the person the principal may
    /// read (a blocked unit's documentation is not listed).
    pub documentation: Vec<Documentation>,
    /// Until when the principal's own emergency access to the person holds
    /// (RFC 3339), if one is in force.
    pub emergency_access_until: Option<String>,
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

/// One unit's documentation about a person, and what the principal may do with it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Documentation {
    /// The unit that writes it.
    pub unit: UnitId,
    /// The unit's name.
    pub unit_name: String,
    /// May read the care plan.
    pub read_care_plan: bool,
    /// May write the care plan.
    pub write_care_plan: bool,
    /// May read the visit notes.
    pub read_notes: bool,
    /// May write visit notes.
    pub write_notes: bool,
}

/// Reads a person's overview: name, identity number, contact data if
/// allowed, and whose documentation the principal may reach.
pub async fn read_overview(
    state: &AppState,
    session: &Session,
    person: PersonId,
) -> Result<Overview, WebError> {
    let overview = Action::Read(Part::Overview);
    let access = load_audited(state, session, person, overview, None).await?;
    overview_with(state, session, &access).await
}

/// [`read_overview`] where a "no" is an expected answer (a page that shows
/// the overview beside its own part): `None`, not logged as a refusal, if
/// the policy does not allow it; else the read, audited. The person's facts
/// are loaded once for the question and the read.
pub async fn read_overview_if_allowed(
    state: &AppState,
    session: &Session,
    person: PersonId,
) -> Result<Option<Overview>, WebError> {
    let access = load_access(state, session, person).await?;
    if !decide_quietly(state, &access, Action::Read(Part::Overview), None) {
        return Ok(None);
    }
    overview_with(state, session, &access).await.map(Some)
}

async fn overview_with(
    state: &AppState,
    session: &Session,
    access: &Access,
) -> Result<Overview, WebError> {
    let overview = Action::Read(Part::Overview);
    let grant = decide(state, access, session, overview, None).await?;
    let contact_allowed = decide_quietly(state, access, Action::Read(Part::Contact), None);
    let p = state.store.person_record(&grant).await.map_err(store_err)?;
    // Documentation is owned by units: those caring for the person, and the
    // principal's own.
    let mut units: Vec<UnitId> = access
        .facts
        .care
        .iter()
        .filter_map(|c| match c {
            ActiveCare::Unit(u) => Some(*u),
            ActiveCare::Staff(_) => None,
        })
        .chain(access.principal.roles.iter().map(|(u, _)| *u))
        .collect();
    units.sort();
    units.dedup();
    let names = unit_names(state, access.facts.tenant).await?;
    let mut documentation: Vec<Documentation> = units
        .into_iter()
        .map(|unit| documentation_for(state, access, unit, &names))
        .filter(|d| d.read_care_plan || d.read_notes)
        .collect();
    documentation.sort_by(|a, b| a.unit_name.cmp(&b.unit_name));
    Ok(Overview {
        id: p.id,
        name: format!("{} {}", p.details.given_name, p.details.family_name),
        identity_number: p.details.identity_number.display_form(),
        protected_identity: p.protected_identity,
        contact: contact_allowed.then(|| Contact {
            address: p.details.address.map(String::from),
            phone: p.details.phone.map(String::from),
            email: p.details.email.map(String::from),
        }),
        documentation,
        emergency_access_until: match access.principal.account {
            Account::Staff { staff, .. } => access
                .facts
                .emergency
                .iter()
                .filter(|e| e.staff == staff && e.until > access.now)
                .map(|e| e.until)
                .max()
                .map(when),
            _ => None,
        },
    })
}

fn documentation_for(
    state: &AppState,
    access: &Access,
    unit: UnitId,
    names: &HashMap<UnitId, String>,
) -> Documentation {
    let may = |action| decide_quietly(state, access, action, Some(unit));
    Documentation {
        unit,
        unit_name: names.get(&unit).cloned().unwrap_or_default(),
        read_care_plan: may(Action::Read(Part::CarePlan)),
        write_care_plan: may(Action::Write(Part::CarePlan)),
        read_notes: may(Action::Read(Part::VisitNotes)),
        write_notes: may(Action::Write(Part::VisitNotes)),
    }
}

/// What the principal may do with `unit`'s documentation about `person`
/// (for the pages' buttons; every read and write still decides itself).
pub async fn unit_documentation(
    state: &AppState,
    session: &Session,
    person: PersonId,
    unit: UnitId,
) -> Result<Documentation, WebError> {
    let access = load_access(state, session, person).await?;
    let names = unit_names(state, access.facts.tenant).await?;
    if !names.contains_key(&unit) {
        return Err(WebError::NotFound);
    }
    Ok(documentation_for(state, &access, unit, &names))
}

/// The person's name for a staff member's list, if the principal may find
/// them and read their overview (a block or a lapsed relationship drops
/// them from the list).
pub async fn listed_name(
    state: &AppState,
    session: &Session,
    person: PersonId,
) -> Result<Option<String>, WebError> {
    let access = load_access(state, session, person).await?;
    if !decide_quietly(state, &access, Action::Find, None) {
        return Ok(None);
    }
    name_in_list(state, session, &access).await.map(Some)
}

/// For a list of persons and one part of their data: loads the person's
/// access once and, where the principal may find them and may `action`
/// (both asked quietly: for a list, "no" is an expected answer), gives
/// their name (the overview read, audited) and the grant for `action`
/// (audited by the store when it is used).
pub async fn listed(
    state: &AppState,
    session: &Session,
    person: PersonId,
    action: Action,
) -> Result<Option<(String, Grant)>, WebError> {
    let access = load_access(state, session, person).await?;
    if !decide_quietly(state, &access, Action::Find, None)
        || !decide_quietly(state, &access, action, None)
    {
        return Ok(None);
    }
    let name = name_in_list(state, session, &access).await?;
    let grant = decide(state, &access, session, action, None).await?;
    Ok(Some((name, grant)))
}

/// The person's name, read under a grant to read the overview.
async fn name_in_list(
    state: &AppState,
    session: &Session,
    access: &Access,
) -> Result<String, WebError> {
    let grant = decide(state, access, session, Action::Read(Part::Overview), None).await?;
    let p = state.store.person_record(&grant).await.map_err(store_err)?;
    Ok(format!(
        "{} {}",
        p.details.given_name, p.details.family_name
    ))
}

/// [`decide`] for a question whose "no" is an expected answer (which
/// buttons to show), not an attempt: not logged as a refusal.
fn decide_quietly(
    state: &AppState,
    access: &Access,
    action: Action,
    owner: Option<UnitId>,
) -> bool {
    let resource = resource_for(access, action, owner);
    state
        .policy
        .authorize(
            &access.principal,
            action,
            &resource,
            &access.facts,
            access.now,
        )
        .is_ok()
}

/// The tenant's unit names (not personal data).
pub async fn unit_names(
    state: &AppState,
    tenant: TenantId,
) -> Result<HashMap<UnitId, String>, WebError> {
    Ok(state
        .store
        .unit_tree(tenant)
        .await
        .map_err(WebError::Unavailable)?
        .into_iter()
        .map(|n| (n.unit.id, n.unit.name))
        .collect())
}

/// Finds a person by identity number; a person the principal may not find
/// is "not found", like one who does not exist.
pub async fn find_person(
    state: &AppState,
    session: &Session,
    identity_number: &str,
) -> Result<PersonId, WebError> {
    let person = match person_by_number(state, session, identity_number).await {
        Ok(person) => person,
        Err(WebError::NotFound) => {
            // A search for nobody is an attempt too (the number is not logged).
            audit_refusal(state, session, None, Action::Find, None, "not_found").await?;
            return Err(WebError::NotFound);
        }
        Err(WebError::Forbidden) => {
            let reason = trygg_policy::DenyReason::BootstrapAdmin.as_str();
            audit_refusal(state, session, None, Action::Find, None, reason).await?;
            return Err(WebError::Forbidden);
        }
        Err(e) => return Err(e),
    };
    let grant = authorize(state, session, person, Action::Find, None)
        .await
        .map_err(|_| WebError::NotFound)?;
    state
        .store
        .record_access(&grant)
        .await
        .map_err(WebError::Unavailable)?;
    Ok(person)
}

/// The id behind an identity number in the session's tenant (no decision:
/// callers decide before they reveal anything).
pub async fn person_by_number(
    state: &AppState,
    session: &Session,
    identity_number: &str,
) -> Result<PersonId, WebError> {
    let tenant = session.record.account.tenant().ok_or(WebError::Forbidden)?;
    let number = IdentityNumber::parse(identity_number, state.store.clock().today())
        .map_err(|_| WebError::BadRequest("not a personnummer or samordningsnummer"))?;
    state
        .store
        .person_id_by_number(tenant, &number)
        .await
        .map_err(store_err)
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

pub(crate) fn when(t: time::OffsetDateTime) -> String {
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

fn parse_text(text: &str) -> Result<FreeText, WebError> {
    FreeText::parse(text).map_err(|_| WebError::BadRequest("the text is empty or too long"))
}

/// Every version of `unit`'s care plan for `person`, oldest first.
pub async fn read_care_plan(
    state: &AppState,
    session: &Session,
    person: PersonId,
    unit: UnitId,
) -> Result<Vec<Version>, WebError> {
    let grant = authorize(
        state,
        session,
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
    Ok(history.into_iter().map(Version::from).collect())
}

/// Writes a new version of `unit`'s care plan; returns its number.
pub async fn save_care_plan(
    state: &AppState,
    session: &Session,
    person: PersonId,
    unit: UnitId,
    text: &str,
) -> Result<i64, WebError> {
    let text = parse_text(text)?;
    let grant = authorize(
        state,
        session,
        person,
        Action::Write(Part::CarePlan),
        Some(unit),
    )
    .await?;
    let author = staff_of(session)?;
    state
        .store
        .write_care_plan(&grant, author, &text)
        .await
        .map_err(store_err)
}

/// The latest version of each of `unit`'s visit notes, newest first.
pub async fn read_notes(
    state: &AppState,
    session: &Session,
    person: PersonId,
    unit: UnitId,
) -> Result<Vec<Version>, WebError> {
    let grant = authorize(
        state,
        session,
        person,
        Action::Read(Part::VisitNotes),
        Some(unit),
    )
    .await?;
    let notes = state.store.visit_notes(&grant).await.map_err(store_err)?;
    Ok(notes.into_iter().map(Version::from).collect())
}

/// Every version of one visit note, oldest first.
pub async fn read_note_history(
    state: &AppState,
    session: &Session,
    person: PersonId,
    unit: UnitId,
    note: uuid::Uuid,
) -> Result<Vec<Version>, WebError> {
    let grant = authorize(
        state,
        session,
        person,
        Action::Read(Part::VisitNotes),
        Some(unit),
    )
    .await?;
    let history = state
        .store
        .visit_note_history(&grant, note)
        .await
        .map_err(store_err)?;
    Ok(history.into_iter().map(Version::from).collect())
}

/// Writes a new visit note, or with `note` a new version of it; returns
/// the note's id and the version's number.
pub async fn save_note(
    state: &AppState,
    session: &Session,
    person: PersonId,
    unit: UnitId,
    note: Option<uuid::Uuid>,
    text: &str,
) -> Result<(uuid::Uuid, i64), WebError> {
    let text = parse_text(text)?;
    let grant = authorize(
        state,
        session,
        person,
        Action::Write(Part::VisitNotes),
        Some(unit),
    )
    .await?;
    let author = staff_of(session)?;
    state
        .store
        .write_visit_note(&grant, note, author, &text)
        .await
        .map_err(store_err)
}

/// Begins an emergency access: needs a stated reason and a fresh login;
/// holds for [`EMERGENCY_ACCESS_DURATION`]; goes on the follow-up list.
/// Returns its id and when it ends.
pub async fn begin_emergency(
    state: &AppState,
    session: &Session,
    person: PersonId,
    reason: &str,
) -> Result<(uuid::Uuid, time::OffsetDateTime), WebError> {
    let reason =
        FreeText::parse(reason).map_err(|_| WebError::BadRequest("a reason is required"))?;
    let grant = authorize(state, session, person, Action::BeginEmergencyAccess, None).await?;
    let staff = staff_of(session)?;
    let until = state.store.clock().now() + EMERGENCY_ACCESS_DURATION;
    let id = state
        .store
        .begin_emergency_access(&grant, staff, &reason, until)
        .await
        .map_err(store_err)?;
    tracing::warn!(%person, %staff, "emergency access begun");
    Ok((id, until))
}

// The JSON API: thin wrappers over the functions above.

/// `GET /api/persons/{id}`.
pub async fn overview(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(person): Path<PersonId>,
) -> Result<Json<Overview>, WebError> {
    Ok(Json(read_overview(&state, &session, person).await?))
}

/// `?identity_number=`.
#[derive(Debug, Deserialize)]
pub struct FindQuery {
    /// The number to look up.
    pub identity_number: String,
}

/// `GET /api/persons?identity_number=…`: exact lookup.
pub async fn find(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<FindQuery>,
) -> Result<Json<serde_json::Value>, WebError> {
    let person = find_person(&state, &session, &q.identity_number).await?;
    Ok(Json(serde_json::json!({ "id": person })))
}

/// `GET /api/persons/{id}/care-plan/{unit}`: every version, oldest first.
pub async fn care_plan(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
) -> Result<Json<Vec<Version>>, WebError> {
    Ok(Json(read_care_plan(&state, &session, person, unit).await?))
}

/// A text to write. Nothing else is accepted (no author, version or unit:
/// those come from the session and the path).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    text: String,
}

/// `POST /api/persons/{id}/care-plan/{unit}`: a new version.
pub async fn write_care_plan(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
    Json(body): Json<TextBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    let version = save_care_plan(&state, &session, person, unit, &body.text).await?;
    Ok(Json(serde_json::json!({ "version": version })))
}

/// `GET /api/persons/{id}/notes/{unit}`: the latest version of each note.
pub async fn notes(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
) -> Result<Json<Vec<Version>>, WebError> {
    Ok(Json(read_notes(&state, &session, person, unit).await?))
}

/// `POST /api/persons/{id}/notes/{unit}`: a new note.
pub async fn write_note(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
    Json(body): Json<TextBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    let (id, version) = save_note(&state, &session, person, unit, None, &body.text).await?;
    Ok(Json(serde_json::json!({ "id": id, "version": version })))
}

/// `GET /api/persons/{id}/notes/{unit}/{note}`: every version of a note.
pub async fn note_history(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit, note)): Path<(PersonId, UnitId, uuid::Uuid)>,
) -> Result<Json<Vec<Version>>, WebError> {
    Ok(Json(
        read_note_history(&state, &session, person, unit, note).await?,
    ))
}

/// `POST /api/persons/{id}/notes/{unit}/{note}`: a new version of a note.
pub async fn update_note(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit, note)): Path<(PersonId, UnitId, uuid::Uuid)>,
    Json(body): Json<TextBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    let (id, version) = save_note(&state, &session, person, unit, Some(note), &body.text).await?;
    Ok(Json(serde_json::json!({ "id": id, "version": version })))
}

/// The reason for an emergency access.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyBody {
    reason: String,
}

/// `POST /api/persons/{id}/emergency-access`.
pub async fn emergency_access(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(person): Path<PersonId>,
    Json(body): Json<EmergencyBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    let (id, until) = begin_emergency(&state, &session, person, &body.reason).await?;
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
        .route(
            "/api/persons/{id}/notes/{unit}/{note}",
            get(note_history).post(update_note),
        )
        .route("/api/persons/{id}/emergency-access", post(emergency_access))
}
