//! Log review (loggkontroll) for unit managers and security officers:
//! search a unit's audit log by period, person and staff member, see the
//! accesses worth a look flagged, draw a random sample, record the review
//! and follow it up; export any selection as FHIR AuditEvents.
//!
//! Every page and call decides `ReviewLog` for the unit (policies/admin.cedar)
//! and needs a fresh e-ID login; every search and every recorded review is
//! itself an audit entry (the store writes it).

use crate::care::{LangQuery, authors, ctx, respond};
use crate::i18n::{Lang, Texts};
use crate::pages::{is_stepped_up, require_step_up};
use crate::permissions::{decide, staff_tenant, units_allowing};
use crate::record::{self, load_principal, store_err};
use crate::session::{Authenticated, Session, redirect};
use crate::{AppState, WebError};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{Date, OffsetDateTime};
use trygg_domain::{AdminAction, FreeText, Outcome, PersonId, StaffId, UnitId, swedish_time};
use trygg_policy::AdminGrant;
use trygg_store::{Conclusion, Flag, LogSearch, NewReview, ReviewedEntry, StoreError};

/// The default period: the last 30 days.
const DEFAULT_DAYS: i64 = 30;
/// Default and largest random sample.
const DEFAULT_SAMPLE: usize = 20;
const MAX_SAMPLE: usize = 200;
/// Most entries a page shows (and a recorded review names); a search that
/// finds more says so and asks for a narrower one.
pub const PAGE_LIMIT: usize = 500;

/// What to show of the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Show {
    /// Everything the search found.
    #[default]
    All,
    /// Only flagged accesses.
    Flagged,
    /// A random sample.
    Sample,
}

/// The search, as the page's address carries it (opaque ids only: an
/// identity number is turned into the person's id by a POST first).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ReviewQuery {
    #[serde(skip_serializing)]
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    person: Option<PersonId>,
    staff: Option<String>,
    show: Option<Show>,
    n: Option<usize>,
    #[serde(skip_serializing)]
    done: Option<String>,
    #[serde(skip_serializing)]
    error: Option<String>,
}

fn parse_date(s: &str) -> Result<Date, WebError> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| WebError::BadRequest("a date is written YYYY-MM-DD"))
}

/// Swedish local midnight at the start of `d`, as an instant.
fn local_midnight(d: Date) -> OffsetDateTime {
    let offset = swedish_time(d.midnight().assume_utc()).offset();
    d.midnight().assume_offset(offset)
}

fn local_text(t: OffsetDateTime) -> String {
    let l = swedish_time(t);
    format!("{} {:02}:{:02}", l.date(), l.hour(), l.minute())
}

/// The search the query asks for, with the dates it covers (inclusive).
struct Resolved {
    search: LogSearch,
    from_date: Date,
    to_date: Date,
    show: Show,
    n: usize,
}

impl ReviewQuery {
    fn resolve(&self, now: OffsetDateTime) -> Result<Resolved, WebError> {
        let today = swedish_time(now).date();
        let to_date = match self.to.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => parse_date(s)?,
            None => today,
        };
        let from_date = match self.from.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => parse_date(s)?,
            None => to_date - time::Duration::days(DEFAULT_DAYS),
        };
        if from_date > to_date {
            return Err(WebError::BadRequest("the period ends before it starts"));
        }
        let staff = match self.staff.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse().map_err(|_| WebError::BadRequest("staff"))?),
            None => None,
        };
        let end = to_date
            .next_day()
            .ok_or(WebError::BadRequest("a date is out of range"))?;
        Ok(Resolved {
            search: LogSearch {
                from: local_midnight(from_date),
                to: local_midnight(end),
                person: self.person,
                staff,
            },
            from_date,
            to_date,
            show: self.show.unwrap_or_default(),
            n: self.n.unwrap_or(DEFAULT_SAMPLE).clamp(1, MAX_SAMPLE),
        })
    }
}

/// The page's words.
#[derive(Debug)]
pub struct ReviewTexts {
    title: &'static str,
    intro: &'static str,
    units: &'static str,
    no_units: &'static str,
    search: &'static str,
    from: &'static str,
    to: &'static str,
    person: &'static str,
    person_hint: &'static str,
    staff: &'static str,
    anyone: &'static str,
    show: &'static str,
    show_all: &'static str,
    show_flagged: &'static str,
    show_sample: &'static str,
    sample_size: &'static str,
    run: &'static str,
    found: &'static str,
    flagged: &'static str,
    truncated: &'static str,
    none: &'static str,
    when: &'static str,
    who: &'static str,
    whose: &'static str,
    what: &'static str,
    unit: &'static str,
    decision: &'static str,
    flags: &'static str,
    allowed: &'static str,
    refused: &'static str,
    erased: &'static str,
    record: &'static str,
    conclusion: &'static str,
    no_remarks: &'static str,
    follow_up: &'static str,
    suspected_misuse: &'static str,
    note: &'static str,
    save: &'static str,
    saved: &'static str,
    error: &'static str,
    reviews: &'static str,
    no_reviews: &'static str,
    reviewer: &'static str,
    period: &'static str,
    checked: &'static str,
    closed: &'static str,
    close: &'static str,
    export: &'static str,
    flag_names: [(&'static str, &'static str); 7],
}

static SV: ReviewTexts = ReviewTexts {
    title: "Loggkontroll",
    intro: "Granska vem som har läst eller ändrat uppgifter i enhetens dokumentation och vad enhetens personal har gjort. Åtkomster som bör granskas är markerade. Varje sökning och varje registrerad kontroll loggas.",
    units: "Enheter du kontrollerar",
    no_units: "Du har ingen enhet att kontrollera.",
    search: "Sök i loggen",
    from: "Från och med",
    to: "Till och med",
    person: "Personnummer (valfritt)",
    person_hint: "ÅÅÅÅMMDD-NNNN. Lämna tomt för alla personer.",
    staff: "Personal",
    anyone: "All personal",
    show: "Visa",
    show_all: "Alla poster",
    show_flagged: "Endast markerade",
    show_sample: "Slumpmässigt urval",
    sample_size: "Antal i urvalet",
    run: "Sök",
    found: "poster",
    flagged: "markerade",
    truncated: "Sökningen gav fler träffar än som visas. Välj en kortare period eller en person.",
    none: "Inga poster matchar sökningen.",
    when: "När",
    who: "Vem",
    whose: "Vems uppgifter",
    what: "Vad",
    unit: "Enhet",
    decision: "Beslut",
    flags: "Markeringar",
    allowed: "tillåten",
    refused: "nekad",
    erased: "(raderad person)",
    record: "Registrera kontrollen",
    conclusion: "Slutsats",
    no_remarks: "Inga anmärkningar",
    follow_up: "Behöver följas upp",
    suspected_misuse: "Misstänkt obehörig åtkomst",
    note: "Anteckning",
    save: "Spara kontrollen",
    saved: "Kontrollen är sparad.",
    error: "Kontrollen kunde inte sparas. Kontrollera uppgifterna och försök igen.",
    reviews: "Registrerade kontroller",
    no_reviews: "Inga kontroller är registrerade ännu.",
    reviewer: "Granskare",
    period: "Period",
    checked: "Kontrollerade poster",
    closed: "Uppföljd",
    close: "Markera som uppföljd",
    export: "Exportera urvalet som FHIR AuditEvent (JSON)",
    flag_names: [
        ("refused", "Nekad"),
        ("no_care_relationship", "Utan vårdrelation"),
        ("emergency_access", "Nödåtkomst"),
        ("protected_identity", "Skyddad identitet"),
        ("same_surname", "Samma efternamn"),
        ("outside_working_hours", "Utanför arbetstid"),
        ("many_persons", "Många personer på kort tid"),
    ],
};

static EN: ReviewTexts = ReviewTexts {
    title: "Log review",
    intro: "Review who read or changed data in the unit's documentation and what the unit's staff did. Accesses worth a look are flagged. Every search and every recorded review is logged.",
    units: "Units you review",
    no_units: "You have no unit to review.",
    search: "Search the log",
    from: "From",
    to: "To (inclusive)",
    person: "Personal identity number (optional)",
    person_hint: "YYYYMMDD-NNNN. Leave empty for all persons.",
    staff: "Staff member",
    anyone: "All staff",
    show: "Show",
    show_all: "All entries",
    show_flagged: "Flagged only",
    show_sample: "Random sample",
    sample_size: "Sample size",
    run: "Search",
    found: "entries",
    flagged: "flagged",
    truncated: "The search found more entries than are shown. Choose a shorter period or a person.",
    none: "No entries match the search.",
    when: "When",
    who: "Who",
    whose: "Whose data",
    what: "What",
    unit: "Unit",
    decision: "Decision",
    flags: "Flags",
    allowed: "allowed",
    refused: "refused",
    erased: "(erased person)",
    record: "Record the review",
    conclusion: "Conclusion",
    no_remarks: "No remarks",
    follow_up: "Needs follow-up",
    suspected_misuse: "Suspected unauthorised access",
    note: "Note",
    save: "Save the review",
    saved: "The review is saved.",
    error: "The review could not be saved. Check the details and try again.",
    reviews: "Recorded reviews",
    no_reviews: "No reviews are recorded yet.",
    reviewer: "Reviewer",
    period: "Period",
    checked: "Entries checked",
    closed: "Followed up",
    close: "Mark as followed up",
    export: "Export the selection as FHIR AuditEvent (JSON)",
    flag_names: [
        ("refused", "Refused"),
        ("no_care_relationship", "No care relationship"),
        ("emergency_access", "Emergency access"),
        ("protected_identity", "Protected identity"),
        ("same_surname", "Same surname"),
        ("outside_working_hours", "Outside working hours"),
        ("many_persons", "Many persons in a short time"),
    ],
};

fn texts(lang: Lang) -> &'static ReviewTexts {
    match lang {
        Lang::Sv => &SV,
        Lang::En => &EN,
    }
}

impl ReviewTexts {
    fn flag(&self, f: Flag) -> &'static str {
        self.flag_names
            .iter()
            .find(|(code, _)| *code == f.as_str())
            .map_or("", |(_, name)| name)
    }
}

#[derive(Template)]
#[template(path = "log_review_units.html")]
struct UnitsPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    r: &'static ReviewTexts,
    units: Vec<(UnitId, String)>,
}

/// `GET /log-review`.
pub async fn units(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = require_step_up(&state, &session, "/log-review") {
        return r;
    }
    let cx = ctx(session, &q, &headers);
    let result = async {
        let units = units_allowing(&state, &cx.session, AdminAction::ReviewLog).await?;
        Ok(cx.render(
            UnitsPage {
                lang: cx.code(),
                t: cx.t(),
                r: texts(cx.lang),
                units,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// The grant to review `unit`'s log (a refusal is logged by `decide`).
async fn review_grant(
    state: &AppState,
    session: &Session,
    unit: UnitId,
) -> Result<AdminGrant, WebError> {
    let principal = load_principal(state, session).await?;
    decide(
        state,
        session,
        &principal,
        AdminAction::ReviewLog,
        unit,
        false,
    )
    .await
}

/// A search's result, as the API and the export see it.
struct Selection {
    grant: AdminGrant,
    resolved: Resolved,
    entries: Vec<ReviewedEntry>,
    found: usize,
    flagged: usize,
    truncated: bool,
}

/// Decides, searches (the store logs the search) and picks what to show.
async fn select(
    state: &AppState,
    session: &Session,
    unit: UnitId,
    q: &ReviewQuery,
) -> Result<Selection, WebError> {
    let resolved = q.resolve(state.store.clock().now())?;
    let grant = review_grant(state, session, unit).await?;
    let found = state
        .store
        .review_log(&grant, &resolved.search)
        .await
        .map_err(store_err)?;
    let total = found.entries.len();
    let flagged = found.entries.iter().filter(|e| !e.flags.is_empty()).count();
    let mut entries = match resolved.show {
        Show::All => found.entries,
        Show::Flagged => found
            .entries
            .into_iter()
            .filter(|e| !e.flags.is_empty())
            .collect(),
        Show::Sample => trygg_store::sample(found.entries, resolved.n).map_err(store_err)?,
    };
    let truncated = found.truncated || entries.len() > PAGE_LIMIT;
    entries.truncate(PAGE_LIMIT);
    Ok(Selection {
        grant,
        resolved,
        entries,
        found: total,
        flagged,
        truncated,
    })
}

/// One entry as the page shows it.
struct Line {
    id: uuid::Uuid,
    when: String,
    who: String,
    whose: String,
    what: String,
    unit: String,
    allowed: bool,
    ground: String,
    flags: Vec<&'static str>,
}

/// A recorded review as the page shows it.
struct ReviewLine {
    id: uuid::Uuid,
    at: String,
    reviewer: String,
    period: String,
    selection: String,
    entries: usize,
    conclusion: &'static str,
    open: bool,
    note: Option<String>,
    closed: Option<String>,
}

#[derive(Template)]
#[template(path = "log_review.html")]
struct UnitPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    r: &'static ReviewTexts,
    csrf: String,
    unit: UnitId,
    unit_name: String,
    from: String,
    to: String,
    staff: Vec<(StaffId, String, bool)>,
    show: &'static str,
    n: usize,
    found: usize,
    flagged: usize,
    truncated: bool,
    lines: Vec<Line>,
    entry_ids: String,
    selection: String,
    export: String,
    reviews: Vec<ReviewLine>,
    notice: Option<&'static str>,
    error: bool,
}

fn show_code(s: Show) -> &'static str {
    match s {
        Show::All => "all",
        Show::Flagged => "flagged",
        Show::Sample => "sample",
    }
}

/// The code a recorded review keeps for what was checked.
fn selection_code(r: &Resolved) -> String {
    let base = match r.show {
        Show::All => "search".to_owned(),
        Show::Flagged => "flagged".to_owned(),
        Show::Sample => format!("sample:{}", r.n),
    };
    match (r.search.person.is_some(), r.search.staff.is_some()) {
        (false, false) => base,
        (true, false) => format!("{base}:person"),
        (false, true) => format!("{base}:staff"),
        (true, true) => format!("{base}:person_staff"),
    }
}

fn conclusion_text(r: &'static ReviewTexts, c: Conclusion) -> &'static str {
    match c {
        Conclusion::NoRemarks => r.no_remarks,
        Conclusion::FollowUp => r.follow_up,
        Conclusion::SuspectedMisuse => r.suspected_misuse,
    }
}

/// `GET /log-review/{unit}`: the search, its result and the recorded reviews.
pub async fn unit_page(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(unit): Path<UnitId>,
    Query(q): Query<ReviewQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = require_step_up(&state, &session, &format!("/log-review/{unit}")) {
        return r;
    }
    let cx = ctx(
        session,
        &LangQuery {
            lang: q.lang.clone(),
        },
        &headers,
    );
    let r = texts(cx.lang);
    let result = async {
        let sel = select(&state, &cx.session, unit, &q).await?;
        let (tenant, _) = staff_tenant(&cx.session)?;
        let units = record::unit_names(&state, tenant).await?;
        let names = authors(&state, &cx.session).await?;
        let lines: Vec<Line> = sel
            .entries
            .iter()
            .map(|e| {
                let ev = &e.entry.event;
                Line {
                    id: e.entry.id,
                    when: local_text(ev.at),
                    who: e.staff_name.clone().unwrap_or_else(|| ev.actor.0.clone()),
                    whose: match (ev.person, &e.person_name) {
                        (None, _) => String::new(),
                        (Some(_), Some(n)) => n.clone(),
                        (Some(_), None) => r.erased.to_owned(),
                    },
                    what: crate::extract::action_words(cx.lang, &ev.action)
                        .map_or_else(|| ev.action.clone(), str::to_owned),
                    unit: ev
                        .unit
                        .and_then(|u| units.get(&u).cloned())
                        .unwrap_or_default(),
                    allowed: ev.outcome == Outcome::Allow,
                    ground: ev.ground.clone(),
                    flags: e.flags.iter().map(|f| r.flag(*f)).collect(),
                }
            })
            .collect();
        let reviews = state
            .store
            .log_reviews(&sel.grant)
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|v| ReviewLine {
                id: v.id,
                at: local_text(v.at),
                reviewer: names.get(&v.reviewer).cloned().unwrap_or_default(),
                period: format!(
                    "{} – {}",
                    swedish_time(v.from).date(),
                    swedish_time(v.to - time::Duration::DAY).date()
                ),
                selection: v.selection,
                entries: v.entries,
                conclusion: conclusion_text(r, v.conclusion),
                open: v.conclusion != Conclusion::NoRemarks && v.closed.is_none(),
                note: v.note,
                closed: v.closed.map(|(at, by)| {
                    format!(
                        "{} ({})",
                        local_text(at),
                        names.get(&by).cloned().unwrap_or_default()
                    )
                }),
            })
            .collect();
        let mut staff: Vec<(StaffId, String)> = names.into_iter().collect();
        staff.sort_by(|a, b| a.1.cmp(&b.1));
        let export = serde_urlencoded::to_string(&q).unwrap_or_default();
        let (notice, error) = match (&q.done, &q.error) {
            (Some(_), _) => (Some(r.saved), false),
            (_, Some(_)) => (Some(r.error), true),
            _ => (None, false),
        };
        Ok(cx.render(
            UnitPage {
                lang: cx.code(),
                t: cx.t(),
                r,
                csrf: cx.session.csrf(),
                unit,
                unit_name: units.get(&unit).cloned().unwrap_or_default(),
                from: sel.resolved.from_date.to_string(),
                to: sel.resolved.to_date.to_string(),
                staff: staff
                    .into_iter()
                    .map(|(id, name)| (id, name, sel.resolved.search.staff == Some(id)))
                    .collect(),
                show: show_code(sel.resolved.show),
                n: sel.resolved.n,
                found: sel.found,
                flagged: sel.flagged,
                truncated: sel.truncated,
                entry_ids: lines
                    .iter()
                    .map(|l| l.id.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                lines,
                selection: selection_code(&sel.resolved),
                export,
                reviews,
                notice,
                error,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// The search form: an identity number becomes the person's opaque id
/// before it reaches an address (addresses end up in histories and logs).
#[derive(Debug, Deserialize)]
pub struct SearchForm {
    from: Option<String>,
    to: Option<String>,
    identity_number: Option<String>,
    staff: Option<String>,
    show: Option<Show>,
    n: Option<usize>,
}

/// `POST /log-review/{unit}`: runs the search form.
pub async fn search_form(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(unit): Path<UnitId>,
    Form(form): Form<SearchForm>,
) -> Response {
    let back = format!("/log-review/{unit}");
    if !is_stepped_up(&state, &session) {
        return redirect(&format!("/login?step_up=1&return={back}"));
    }
    let person = match form.identity_number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(number) => match record::person_by_number(&state, &session, number).await {
            Ok(p) => Some(p),
            Err(e) => return crate::care::error_page(Lang::Sv, e),
        },
    };
    let q = ReviewQuery {
        from: form.from,
        to: form.to,
        person,
        staff: form.staff.filter(|s| !s.is_empty()),
        show: form.show,
        n: form.n,
        ..ReviewQuery::default()
    };
    redirect(&format!(
        "{back}?{}",
        serde_urlencoded::to_string(&q).unwrap_or_default()
    ))
}

/// The form that records a review.
#[derive(Debug, Deserialize)]
pub struct RecordForm {
    from: String,
    to: String,
    selection: String,
    #[serde(default)]
    entries: String,
    conclusion: String,
    #[serde(default)]
    note: String,
}

async fn record_review(
    state: &AppState,
    session: &Session,
    unit: UnitId,
    form: &RecordForm,
) -> Result<uuid::Uuid, WebError> {
    let (_, me) = staff_tenant(session)?;
    let (from, to) = (parse_date(&form.from)?, parse_date(&form.to)?);
    let end = to
        .next_day()
        .ok_or(WebError::BadRequest("a date is out of range"))?;
    let entries = form
        .entries
        .split_whitespace()
        .map(|s| s.parse::<uuid::Uuid>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| WebError::BadRequest("entries"))?;
    if entries.len() > PAGE_LIMIT {
        return Err(WebError::BadRequest("entries"));
    }
    let conclusion: Conclusion = form
        .conclusion
        .parse()
        .map_err(|_| WebError::BadRequest("conclusion"))?;
    let note = match form.note.trim() {
        "" => None,
        text => Some(FreeText::parse(text).map_err(|_| WebError::BadRequest("note"))?),
    };
    if conclusion != Conclusion::NoRemarks && note.is_none() {
        return Err(WebError::BadRequest(
            "a conclusion with remarks needs a note",
        ));
    }
    let grant = review_grant(state, session, unit).await?;
    let review = NewReview {
        from: local_midnight(from),
        to: local_midnight(end),
        selection: &form.selection,
        entries: &entries,
        conclusion,
        note: note.as_ref(),
    };
    state
        .store
        .record_log_review(&grant, me, &review)
        .await
        .map_err(|e| match e {
            StoreError::UnknownReference(_) => WebError::BadRequest("entries"),
            StoreError::Corrupt(_) => WebError::BadRequest("selection"),
            other => store_err(other),
        })
}

/// `POST /log-review/{unit}/reviews`.
pub async fn record_form(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(unit): Path<UnitId>,
    Form(form): Form<RecordForm>,
) -> Response {
    let back = format!("/log-review/{unit}");
    if !is_stepped_up(&state, &session) {
        return redirect(&format!("/login?step_up=1&return={back}"));
    }
    match record_review(&state, &session, unit, &form).await {
        Ok(_) => redirect(&format!("{back}?done=1#reviews")),
        Err(WebError::BadRequest(_) | WebError::NotFound) => {
            redirect(&format!("{back}?error=1#outcome"))
        }
        Err(e) => crate::care::error_page(Lang::Sv, e),
    }
}

/// `POST /log-review/{unit}/reviews/{id}/close`: the follow-up is done.
pub async fn close_form(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((unit, id)): Path<(UnitId, uuid::Uuid)>,
) -> Response {
    let back = format!("/log-review/{unit}");
    if !is_stepped_up(&state, &session) {
        return redirect(&format!("/login?step_up=1&return={back}"));
    }
    let result = async {
        let (_, me) = staff_tenant(&session)?;
        let grant = review_grant(&state, &session, unit).await?;
        state
            .store
            .close_log_review(&grant, id, me)
            .await
            .map_err(store_err)
    }
    .await;
    match result {
        Ok(()) => redirect(&format!("{back}?done=1#reviews")),
        Err(WebError::NotFound) => redirect(&format!("{back}?error=1#outcome")),
        Err(e) => crate::care::error_page(Lang::Sv, e),
    }
}

/// One entry in the JSON API.
#[derive(Debug, Serialize)]
pub struct ApiEntry {
    /// The entry's id.
    pub id: uuid::Uuid,
    /// Its place in the Merkle tree, once integrated.
    pub seq: Option<u64>,
    /// The event.
    pub event: trygg_domain::AuditEvent,
    /// The person's name, if known.
    pub person_name: Option<String>,
    /// The staff member's name, if a staff member acted.
    pub staff_name: Option<String>,
    /// Flag codes.
    pub flags: Vec<&'static str>,
}

/// The JSON API's answer.
#[derive(Debug, Serialize)]
pub struct ApiSelection {
    /// Entries the search found (before `show`).
    pub found: usize,
    /// Of which flagged.
    pub flagged: usize,
    /// Whether there were more than could be returned.
    pub truncated: bool,
    /// The entries shown.
    pub entries: Vec<ApiEntry>,
}

/// `GET /api/log-review/{unit}`: the same search as JSON.
pub async fn api_search(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(unit): Path<UnitId>,
    Query(q): Query<ReviewQuery>,
) -> Result<Json<ApiSelection>, WebError> {
    if !is_stepped_up(&state, &session) {
        return Err(WebError::Forbidden);
    }
    let sel = select(&state, &session, unit, &q).await?;
    Ok(Json(ApiSelection {
        found: sel.found,
        flagged: sel.flagged,
        truncated: sel.truncated,
        entries: sel
            .entries
            .into_iter()
            .map(|e| ApiEntry {
                id: e.entry.id,
                seq: e.seq,
                flags: e.flags.iter().map(|f| f.as_str()).collect(),
                event: e.entry.event,
                person_name: e.person_name,
                staff_name: e.staff_name,
            })
            .collect(),
    }))
}

/// `GET /api/log-review/{unit}/fhir`: the selection as a FHIR R4 Bundle of
/// AuditEvents (IHE Basic Audit Log Patterns).
pub async fn api_fhir(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(unit): Path<UnitId>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, WebError> {
    if !is_stepped_up(&state, &session) {
        return Err(WebError::Forbidden);
    }
    let (tenant, _) = staff_tenant(&session)?;
    let sel = select(&state, &session, unit, &q).await?;
    let units: HashMap<UnitId, String> = record::unit_names(&state, tenant).await?;
    let bundle = crate::fhir::bundle(&sel.entries, &units, state.store.clock().now());
    Ok((
        [(header::CONTENT_TYPE, "application/fhir+json")],
        bundle.to_string(),
    )
        .into_response())
}

/// The log review's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log-review", get(units))
        .route("/log-review/{unit}", get(unit_page).post(search_form))
        .route("/log-review/{unit}/reviews", post(record_form))
        .route("/log-review/{unit}/reviews/{id}/close", post(close_form))
        .route("/api/log-review/{unit}", get(api_search))
        .route("/api/log-review/{unit}/fhir", get(api_fhir))
}
