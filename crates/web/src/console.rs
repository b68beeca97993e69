//! The alarm console: the queue of open alarms for the operator's units,
//! a person's alarms with the steps of handling them, and live updates.
//!
//! Every page calls the functions of the alarm API ([`alarms`]) and the
//! care record ([`record`]), so the decision path is one: these handlers
//! only render. The live updates carry no personal data: an event says only
//! "something changed", and the page reloads through the same decisions.

use crate::alarms::{self, AlarmView, Step};
use crate::care::{LangQuery, authors, ctx, respond};
use crate::i18n::{AlarmTexts, CareTexts, Texts};
use crate::record;
use crate::session::{Authenticated, redirect};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::convert::Infallible;
use trygg_domain::{Account, Action, AlarmId, Part, PersonId, StaffId, TenantId};

/// An alarm as a page shows it.
struct Shown {
    id: AlarmId,
    kind: &'static str,
    state: &'static str,
    state_name: &'static str,
    received: String,
    message: String,
    /// What the device said, in words (status, device, location, info).
    said: Vec<(&'static str, String)>,
    /// Where a GPS alarm was: `lat,lon`, when it was fixed, a `geo:` URI
    /// (opens the map app of a phone or a desktop) and the configured
    /// map service's link.
    position: Option<Place>,
    repeats: i64,
    note: String,
    escalated: bool,
    checked_out: String,
    /// A status message: asks no one to act, so it is history at once.
    is_status: bool,
}

/// A reported position as a page shows it.
struct Place {
    coordinates: String,
    fixed: String,
    geo_uri: String,
    map_link: Option<String>,
    /// The tiles of a map drawn around it, if a tile server is configured.
    tiles: Vec<alarms::Tile>,
}

impl Place {
    /// The drawn map's width and height.
    fn size(&self) -> (i64, i64) {
        alarms::MAP_SIZE
    }

    /// The drawn map's centre: the position.
    fn centre(&self) -> (i64, i64) {
        (alarms::MAP_SIZE.0 / 2, alarms::MAP_SIZE.1 / 2)
    }
}

fn local(rfc3339: &str) -> String {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| {
            let l = trygg_domain::swedish_time(t);
            format!("{} {:02}:{:02}", l.date(), l.hour(), l.minute())
        })
        .unwrap_or_default()
}

fn shown(a: &'static AlarmTexts, maps: &alarms::Maps, v: AlarmView) -> Shown {
    let mut said = Vec::new();
    let mut position = None;
    if let Some(r) = v.reported {
        for (label, text) in [
            (a.status_text, r.status_text),
            (a.device_text, r.device_text),
            (a.location_text, r.location_text),
            (a.info_text, r.info_text),
        ] {
            if let Some(text) = text {
                said.push((label, text));
            }
        }
        position = r.position.map(|p| Place {
            coordinates: p.coordinates(),
            fixed: p.fixed_at.as_deref().map(local).unwrap_or_default(),
            geo_uri: format!("geo:{}", p.coordinates()),
            map_link: maps.link.as_ref().map(|m| m.link(&p)),
            tiles: maps.tiles.as_ref().map(|t| t.draw(&p)).unwrap_or_default(),
        });
    }
    Shown {
        id: v.id,
        kind: a.kind_name(&v.kind),
        state: v.state,
        state_name: a.state_name(v.state),
        received: local(&v.received_at),
        message: v.message,
        said,
        position,
        repeats: v.repeats,
        note: v.note.unwrap_or_default(),
        escalated: v.escalated_at.is_some(),
        is_status: v.kind == "status",
        checked_out: v.checked_out_at.as_deref().map(local).unwrap_or_default(),
    }
}

/// One person in the queue.
struct Item {
    person: PersonId,
    name: String,
    alarms: Vec<Shown>,
}

/// Of `persons`, those whose alarms and name the session may read, with
/// their name and alarms (each read audited). Whether they may is asked
/// quietly first: for a list, "no" is an expected answer, not an attempt.
async fn readable(
    state: &AppState,
    session: &crate::session::Session,
    persons: Vec<PersonId>,
) -> Result<Vec<(PersonId, String, Vec<AlarmView>)>, WebError> {
    let mut out = Vec::new();
    for person in persons {
        let Some((name, grant)) =
            record::listed(state, session, person, Action::Read(Part::Alarms)).await?
        else {
            continue;
        };
        out.push((person, name, alarms::alarms_under(state, &grant).await?));
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "alarm_queue.html")]
struct QueuePage<'a> {
    lang: &'a str,
    t: &'static Texts,
    a: &'static AlarmTexts,
    items: Vec<Item>,
    technical: Vec<Item>,
    /// The alarm fingerprint read before the lists: the page's live stream
    /// reports any change after it (see [`events`]).
    since: String,
}

/// `GET /alarms`: the open alarms of the units the staff member works in,
/// untaken first. Each person is shown only if the policy lets the staff
/// member read their alarms and overview (each read audited).
pub async fn queue(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let a = cx.lang.alarms();
    let result = async {
        let Account::Staff { tenant, staff } = cx.session.record.account else {
            return Err(WebError::Forbidden);
        };
        let since = fingerprint(&state, tenant).await?;
        let units: Vec<_> = state
            .store
            .roles_of(staff)
            .await
            .map_err(WebError::Unavailable)?
            .into_iter()
            .map(|r| r.unit)
            .collect();
        let persons = state
            .store
            .open_alarm_persons(tenant, &units)
            .await
            .map_err(WebError::Unavailable)?;
        // Technical alarms apart, below: a storm of them after an outage
        // must not bury someone who needs help.
        let mut items = Vec::new();
        let mut technical = Vec::new();
        for (person, name, views) in readable(&state, &cx.session, persons).await? {
            let (tech, open): (Vec<AlarmView>, Vec<AlarmView>) = views
                .into_iter()
                .filter(|v| v.state != "closed" && v.kind != "status")
                .rev()
                .partition(|v| v.kind == "technical");
            let show = |views: Vec<AlarmView>| {
                views
                    .into_iter()
                    .map(|v| shown(a, &state.alarm_map, v))
                    .collect::<Vec<_>>()
            };
            if !open.is_empty() {
                items.push(Item {
                    person,
                    name: name.clone(),
                    alarms: show(open),
                });
            }
            if !tech.is_empty() {
                technical.push(Item {
                    person,
                    name,
                    alarms: show(tech),
                });
            }
        }
        Ok(cx.render(
            QueuePage {
                lang: cx.code(),
                t: cx.t(),
                a,
                items,
                technical,
                since,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

#[derive(Template)]
#[template(path = "my_alarms.html")]
struct MinePage<'a> {
    lang: &'a str,
    t: &'static Texts,
    a: &'static AlarmTexts,
    items: Vec<Item>,
    /// As in [`QueuePage`].
    since: String,
}

/// `GET /alarms/mine`: the alarms a home-care staff member was sent to, on
/// their phone; each opens the person's alarm page (on site, close).
pub async fn mine(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let a = cx.lang.alarms();
    let result = async {
        let Account::Staff { tenant, staff } = cx.session.record.account else {
            return Err(WebError::Forbidden);
        };
        let since = fingerprint(&state, tenant).await?;
        let persons = state
            .store
            .persons_with_alarms_dispatched_to(tenant, staff)
            .await
            .map_err(WebError::Unavailable)?;
        let mut items = Vec::new();
        for (person, name, views) in readable(&state, &cx.session, persons).await? {
            let alarms: Vec<Shown> = views
                .into_iter()
                .filter(|v| {
                    matches!(v.state, "dispatched" | "on_site") && v.dispatched_to == Some(staff)
                })
                .map(|v| shown(a, &state.alarm_map, v))
                .collect();
            if !alarms.is_empty() {
                items.push(Item {
                    person,
                    name,
                    alarms,
                });
            }
        }
        Ok(cx.render(
            MinePage {
                lang: cx.code(),
                t: cx.t(),
                a,
                items,
                since,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// The tenant's alarm fingerprint (counts and times, no personal data).
async fn fingerprint(state: &AppState, tenant: TenantId) -> Result<String, WebError> {
    state
        .store
        .alarms_fingerprint(tenant)
        .await
        .map_err(WebError::Unavailable)
}

/// The longest `since` an event stream takes; longer is no fingerprint.
const MAX_SINCE: usize = 200;

/// The query of [`events`].
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// The fingerprint the page was rendered after.
    since: Option<String>,
}

/// `GET /alarms/events[?since=…]`: server-sent events, one `changed`
/// whenever an alarm of the staff member's tenant is received or moves a
/// step (see [`crate::live`]). No personal data: the page reloads and
/// decides again. A page passes the fingerprint it was rendered after, so
/// that a change between its rendering and its stream's opening is
/// reported too; without one (or with one that is no fingerprint: at worst
/// a reload), the stream starts from now.
pub async fn events(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<EventsQuery>,
) -> Result<impl IntoResponse, WebError> {
    let Account::Staff { tenant, staff } = session.record.account else {
        return Err(WebError::Forbidden);
    };
    let current = match q.since {
        Some(since)
            if since.len() <= MAX_SINCE
                && since.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
        {
            since
        }
        _ => fingerprint(&state, tenant).await?,
    };
    let subscription = state
        .alarm_events
        .subscribe(&state.store, tenant, staff, current)?;
    let stream = futures_util::stream::unfold(subscription, |mut subscription| async move {
        subscription.changed().await.then(|| {
            let event = Event::default().event("changed").data("1");
            (Ok::<_, Infallible>(event), subscription)
        })
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(Template)]
#[template(path = "person_alarms.html")]
struct PersonPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    a: &'static AlarmTexts,
    c: &'static CareTexts,
    csrf: String,
    person: PersonId,
    /// Who the person is and where they live, beside the alarms, when the
    /// policy lets the session read the overview.
    about: Option<record::Overview>,
    open: Vec<Shown>,
    closed: Vec<Shown>,
    staff: Vec<(StaffId, String)>,
}

/// `GET /persons/{id}/alarms`: the person's alarms, the open ones with
/// what can be done next.
pub async fn person(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(person): Path<PersonId>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let a = cx.lang.alarms();
    let result = async {
        // Two accesses, each its own decision and audit entry: the alarms,
        // then (if the policy allows it, asked quietly so a "no" is not an
        // attempt) the overview, which an operator needs to send help: who
        // the person is and, unless their identity is protected, where
        // they live and their phone.
        let views = alarms::read_alarms(&state, &cx.session, person).await?;
        let about = record::read_overview_if_allowed(&state, &cx.session, person).await?;
        let (closed, open): (Vec<_>, Vec<_>) = views
            .into_iter()
            .map(|v| shown(a, &state.alarm_map, v))
            .partition(|s| s.state == "closed" || s.is_status);
        let mut staff: Vec<_> = authors(&state, &cx.session).await?.into_iter().collect();
        staff.sort_by(|x, y| x.1.cmp(&y.1));
        Ok(cx.render(
            PersonPage {
                lang: cx.code(),
                t: cx.t(),
                a,
                c: cx.lang.care(),
                csrf: cx.session.csrf(),
                person,
                about,
                open,
                closed,
                staff,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// A step's form: the CSRF token (checked by the middleware) and what the
/// step needs.
#[derive(Deserialize)]
pub struct StepForm {
    staff: Option<StaffId>,
    #[serde(alias = "text")]
    note: Option<String>,
}

impl std::fmt::Debug for StepForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepForm(..)")
    }
}

async fn step_page(
    state: AppState,
    session: crate::session::Session,
    person: PersonId,
    alarm: AlarmId,
    q: LangQuery,
    headers: HeaderMap,
    step: Result<Step, WebError>,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = async {
        alarms::handle_alarm(&state, &cx.session, person, alarm, step?).await?;
        Ok(redirect(&format!("/persons/{person}/alarms")))
    }
    .await;
    respond(cx.lang, result)
}

/// `POST /persons/{id}/alarms/{alarm}/take`.
pub async fn take(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    step_page(state, session, person, alarm, q, headers, Ok(Step::Take)).await
}

/// `POST /persons/{id}/alarms/{alarm}/dispatch` (`staff`).
pub async fn dispatch(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<StepForm>,
) -> Response {
    let step = form
        .staff
        .map(Step::Dispatch)
        .ok_or(WebError::BadRequest("choose who to send"));
    step_page(state, session, person, alarm, q, headers, step).await
}

/// `POST /persons/{id}/alarms/{alarm}/on-site`.
pub async fn on_site(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    step_page(state, session, person, alarm, q, headers, Ok(Step::OnSite)).await
}

/// `POST /persons/{id}/alarms/{alarm}/close` (`note`).
pub async fn close(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path((person, alarm)): Path<(PersonId, AlarmId)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<StepForm>,
) -> Response {
    let step = Ok(Step::Close(form.note.unwrap_or_default()));
    step_page(state, session, person, alarm, q, headers, step).await
}

/// `GET /static/alarms.js`: reloads the queue when the server says so.
pub async fn script() -> Response {
    crate::pages::static_file(
        "text/javascript; charset=utf-8",
        include_str!("../static/alarms.js"),
    )
}

/// `GET /sw.js`: the service worker that shows the queue's and "my
/// alarms"' notifications. At the root, so that its scope covers both
/// pages; it caches nothing.
pub async fn service_worker() -> Response {
    let mut r = crate::pages::static_file(
        "text/javascript; charset=utf-8",
        include_str!("../static/sw.js"),
    );
    // A new version is taken at the next visit, not an hour later.
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    r
}

/// Routes of the console.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alarms", get(queue))
        .route("/alarms/events", get(events))
        .route("/alarms/mine", get(mine))
        .route("/static/alarms.js", get(script))
        .route("/sw.js", get(service_worker))
        .route("/persons/{id}/alarms", get(person))
        .route("/persons/{id}/alarms/{alarm}/take", post(take))
        .route("/persons/{id}/alarms/{alarm}/dispatch", post(dispatch))
        .route("/persons/{id}/alarms/{alarm}/on-site", post(on_site))
        .route("/persons/{id}/alarms/{alarm}/close", post(close))
}
