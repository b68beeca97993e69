//! The care record's pages: a staff member's persons, search with emergency
//! access, a person's overview, care plans and visit notes with history.
//!
//! Every page calls the same functions as the JSON API (`record`), so the
//! decision path is one: these handlers only render.

use crate::i18n::{CareTexts, Lang, Texts};
use crate::pages::{is_stepped_up, page};
use crate::record::{self, Overview, Version};
use crate::session::{Authenticated, Session, redirect};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::HashMap;
use trygg_domain::{Account, PersonId, StaffId, UnitId};

/// `?lang=`.
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    pub(crate) lang: Option<String>,
}

/// What every care page needs to know about its visitor.
pub(crate) struct Ctx {
    pub(crate) lang: Lang,
    pub(crate) session: Session,
}

impl Ctx {
    pub(crate) fn t(&self) -> &'static Texts {
        self.lang.t()
    }
    fn c(&self) -> &'static CareTexts {
        self.lang.care()
    }
    pub(crate) fn code(&self) -> &'static str {
        self.lang.code()
    }
    pub(crate) fn render(&self, html: Result<String, askama::Error>) -> Response {
        page(self.lang, html)
    }
}

pub(crate) fn ctx(session: Session, q: &LangQuery, headers: &HeaderMap) -> Ctx {
    Ctx {
        lang: Lang::pick(q.lang.as_deref(), headers),
        session,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    message: &'static str,
}

/// An error as a page (the JSON API answers errors in JSON).
pub(crate) fn error_page(lang: Lang, e: WebError) -> Response {
    let status = e.status();
    let html = ErrorPage {
        lang: lang.code(),
        t: lang.t(),
        message: e.message_in(lang),
    }
    .render();
    match html {
        Ok(body) => (status, axum::response::Html(body)).into_response(),
        Err(_) => e.into_response(),
    }
}

/// Turns a page's result into a response, errors into error pages.
pub(crate) fn respond(lang: Lang, result: Result<Response, WebError>) -> Response {
    result.unwrap_or_else(|e| error_page(lang, e))
}

/// Staff names for "written by" (colleagues' names, not the person's data).
pub(crate) async fn authors(
    state: &AppState,
    session: &Session,
) -> Result<HashMap<StaffId, String>, WebError> {
    let Some(tenant) = session.record.account.tenant() else {
        return Ok(HashMap::new());
    };
    Ok(state
        .store
        .staff(tenant)
        .await
        .map_err(WebError::Unavailable)?
        .into_iter()
        .map(|s| {
            (
                s.id,
                format!("{} {}", s.details.given_name, s.details.family_name),
            )
        })
        .collect())
}

/// A version as a page shows it.
struct Shown {
    id: String,
    version: i64,
    text: String,
    author: String,
    written_at: String,
}

fn shown(versions: Vec<Version>, authors: &HashMap<StaffId, String>) -> Vec<Shown> {
    versions
        .into_iter()
        .map(|v| Shown {
            id: v.id.map(|i| i.to_string()).unwrap_or_default(),
            version: v.version,
            text: v.text,
            author: authors.get(&v.author).cloned().unwrap_or_default(),
            written_at: v.written_at.replace('T', " ").chars().take(16).collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "persons.html")]
struct PersonsPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    c: &'static CareTexts,
    csrf: String,
    persons: Vec<(PersonId, String)>,
    searched: Option<String>,
    stepped_up: bool,
}

/// `GET /persons`: a staff member's persons and the search; citizens and
/// relatives go straight to the person whose data they may see.
pub async fn persons(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = async {
        let (tenant, staff) = match cx.session.record.account {
            Account::Staff { tenant, staff } => (tenant, staff),
            Account::Person { person, .. } | Account::Relative { person, .. } => {
                return Ok(redirect(&format!("/persons/{person}")));
            }
            Account::BootstrapAdmin { .. } => return Err(WebError::Forbidden),
        };
        let now = state.store.clock().now();
        let ids = state
            .store
            .persons_in_care_of(tenant, staff, now)
            .await
            .map_err(WebError::Unavailable)?;
        let mut persons = Vec::new();
        for id in ids {
            if let Some(name) = record::listed_name(&state, &cx.session, id).await? {
                persons.push((id, name));
            }
        }
        persons.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(persons_page(&state, &cx, persons, None))
    }
    .await;
    respond(cx.lang, result)
}

fn persons_page(
    state: &AppState,
    cx: &Ctx,
    persons: Vec<(PersonId, String)>,
    searched: Option<String>,
) -> Response {
    cx.render(
        PersonsPage {
            lang: cx.code(),
            t: cx.t(),
            c: cx.c(),
            csrf: cx.session.csrf(),
            persons,
            searched,
            stepped_up: is_stepped_up(state, &cx.session),
        }
        .render(),
    )
}

/// `?identity_number=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    lang: Option<String>,
    identity_number: String,
}

/// `GET /persons/find?identity_number=…`: to the person's page if the
/// principal may find them; otherwise "not found" (whether or not they
/// exist), with the emergency access form.
pub async fn find(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<SearchQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &LangQuery { lang: q.lang }, &headers);
    match record::find_person(&state, &cx.session, &q.identity_number).await {
        Ok(person) => redirect(&format!("/persons/{person}")),
        Err(WebError::NotFound | WebError::BadRequest(_)) => {
            let number: String = q.identity_number.trim().chars().take(20).collect();
            persons_page(&state, &cx, Vec::new(), Some(number))
        }
        Err(e) => error_page(cx.lang, e),
    }
}

/// The emergency access form.
#[derive(Deserialize)]
pub struct EmergencyForm {
    identity_number: String,
    reason: String,
}

impl std::fmt::Debug for EmergencyForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmergencyForm(..)")
    }
}

/// `POST /persons/emergency-access`: a stale login is sent to identify
/// again first; then the person's page.
pub async fn emergency_access(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<EmergencyForm>,
) -> Response {
    let cx = ctx(session, &q, &headers);
    if !is_stepped_up(&state, &cx.session) {
        return redirect("/login?step_up=1&return=/persons");
    }
    let result = async {
        let person = match record::person_by_number(&state, &cx.session, &form.identity_number)
            .await
        {
            Err(WebError::NotFound) => {
                let action = trygg_domain::Action::BeginEmergencyAccess;
                record::audit_refusal(&state, &cx.session, None, action, None, "not_found").await?;
                return Err(WebError::NotFound);
            }
            other => other?,
        };
        record::begin_emergency(&state, &cx.session, person, &form.reason).await?;
        Ok(redirect(&format!("/persons/{person}")))
    }
    .await;
    respond(cx.lang, result)
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    c: &'static CareTexts,
    p: Overview,
    is_staff: bool,
}

/// `GET /persons/{id}`: the overview.
pub async fn person(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(person): Path<PersonId>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = async {
        let p = record::read_overview(&state, &cx.session, person).await?;
        Ok(cx.render(
            PersonPage {
                lang: cx.code(),
                t: cx.t(),
                c: cx.c(),
                is_staff: matches!(cx.session.record.account, Account::Staff { .. }),
                p,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// For a page of versions (oldest first, as read): what the principal may
/// do with the unit's documentation, the current version, and the earlier
/// ones newest first.
async fn with_history(
    state: &AppState,
    cx: &Ctx,
    person: PersonId,
    unit: UnitId,
    versions: Vec<Version>,
) -> Result<(record::Documentation, Option<Shown>, Vec<Shown>), WebError> {
    let doc = record::unit_documentation(state, &cx.session, person, unit).await?;
    let mut history = shown(versions, &authors(state, &cx.session).await?);
    let current = history.pop();
    history.reverse();
    Ok((doc, current, history))
}

#[derive(Template)]
#[template(path = "care_plan.html")]
struct CarePlanPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    c: &'static CareTexts,
    csrf: String,
    person: PersonId,
    unit_name: String,
    current: Option<Shown>,
    history: Vec<Shown>,
    may_write: bool,
}

/// `GET /persons/{id}/care-plan/{unit}`: the current plan, its history,
/// and a form for a new version.
pub async fn care_plan(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = async {
        let versions = record::read_care_plan(&state, &cx.session, person, unit).await?;
        let (doc, current, history) = with_history(&state, &cx, person, unit, versions).await?;
        Ok(cx.render(
            CarePlanPage {
                lang: cx.code(),
                t: cx.t(),
                c: cx.c(),
                csrf: cx.session.csrf(),
                person,
                unit_name: doc.unit_name,
                current,
                history,
                may_write: doc.write_care_plan,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// A text from a form.
#[derive(Deserialize)]
pub struct TextForm {
    text: String,
}

impl std::fmt::Debug for TextForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextForm(..)")
    }
}

/// `POST /persons/{id}/care-plan/{unit}`: saves a new version.
pub async fn write_care_plan(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<TextForm>,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = record::save_care_plan(&state, &cx.session, person, unit, &form.text)
        .await
        .map(|_| redirect(&format!("/persons/{person}/care-plan/{unit}")));
    respond(cx.lang, result)
}

#[derive(Template)]
#[template(path = "notes.html")]
struct NotesPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    c: &'static CareTexts,
    csrf: String,
    person: PersonId,
    unit: UnitId,
    unit_name: String,
    notes: Vec<Shown>,
    may_write: bool,
}

/// `GET /persons/{id}/notes/{unit}`: the unit's notes, newest first, and a
/// form for a new one.
pub async fn notes(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = async {
        let notes = record::read_notes(&state, &cx.session, person, unit).await?;
        let doc = record::unit_documentation(&state, &cx.session, person, unit).await?;
        Ok(cx.render(
            NotesPage {
                lang: cx.code(),
                t: cx.t(),
                c: cx.c(),
                csrf: cx.session.csrf(),
                person,
                unit,
                unit_name: doc.unit_name,
                notes: shown(notes, &authors(&state, &cx.session).await?),
                may_write: doc.write_notes,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// `POST /persons/{id}/notes/{unit}`: saves a new note.
pub async fn write_note(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit)): Path<(PersonId, UnitId)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<TextForm>,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = record::save_note(&state, &cx.session, person, unit, None, &form.text)
        .await
        .map(|_| redirect(&format!("/persons/{person}/notes/{unit}")));
    respond(cx.lang, result)
}

#[derive(Template)]
#[template(path = "note.html")]
struct NotePage<'a> {
    lang: &'a str,
    t: &'static Texts,
    c: &'static CareTexts,
    csrf: String,
    person: PersonId,
    unit: UnitId,
    current: Shown,
    history: Vec<Shown>,
    may_write: bool,
}

/// `GET /persons/{id}/notes/{unit}/{note}`: one note with its history,
/// and a form to change it.
pub async fn note(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit, note)): Path<(PersonId, UnitId, uuid::Uuid)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = async {
        let versions = record::read_note_history(&state, &cx.session, person, unit, note).await?;
        let (doc, current, history) = with_history(&state, &cx, person, unit, versions).await?;
        let current = current.ok_or(WebError::NotFound)?;
        Ok(cx.render(
            NotePage {
                lang: cx.code(),
                t: cx.t(),
                c: cx.c(),
                csrf: cx.session.csrf(),
                person,
                unit,
                current,
                history,
                may_write: doc.write_notes,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// `POST /persons/{id}/notes/{unit}/{note}`: saves a new version of a note.
pub async fn update_note(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, unit, note)): Path<(PersonId, UnitId, uuid::Uuid)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<TextForm>,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = record::save_note(&state, &cx.session, person, unit, Some(note), &form.text)
        .await
        .map(|_| redirect(&format!("/persons/{person}/notes/{unit}/{note}")));
    respond(cx.lang, result)
}

/// Routes of the care record pages (every one goes through `record`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/persons", get(persons))
        .route("/persons/find", get(find))
        .route("/persons/emergency-access", post(emergency_access))
        .route("/persons/{id}", get(person))
        .route(
            "/persons/{id}/care-plan/{unit}",
            get(care_plan).post(write_care_plan),
        )
        .route("/persons/{id}/notes/{unit}", get(notes).post(write_note))
        .route(
            "/persons/{id}/notes/{unit}/{note}",
            get(note).post(update_note),
        )
}
