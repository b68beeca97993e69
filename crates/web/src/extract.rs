//! "Who looked at my data": a logged-in person's extract of the audit log
//! (HSLF-FS 2016:40 4 kap. 9 §, patientdatalagen 8 kap. 5 §): which units —
//! and, if the care provider has chosen so, which staff members — read or
//! changed their data, and when. Reading the extract is itself logged.

use crate::care::{LangQuery, ctx, respond};
use crate::i18n::{Lang, Texts};
use crate::record::{self, unit_names};
use crate::session::{Authenticated, Session};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use std::collections::HashMap;
use trygg_domain::{Account, Action, Actor, Outcome, Part, StaffId, UnitId};

/// One access as the person sees it.
struct Line {
    when: String,
    unit: String,
    staff: Option<String>,
    what: &'static str,
    emergency: bool,
}

#[derive(Template)]
#[template(path = "my_log.html")]
struct ExtractPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    e: &'static ExtractTexts,
    lines: Vec<Line>,
    names_staff: bool,
}

/// The page's words.
#[derive(Debug)]
pub struct ExtractTexts {
    title: &'static str,
    intro: &'static str,
    none: &'static str,
    when: &'static str,
    unit: &'static str,
    staff: &'static str,
    what: &'static str,
    emergency: &'static str,
    unknown_unit: &'static str,
    actions: [(&'static str, &'static str); 9],
}

static SV: ExtractTexts = ExtractTexts {
    title: "Vem har tittat på mina uppgifter?",
    intro: "Här ser du när personal har läst eller ändrat dina uppgifter, och vid vilken enhet. Allt som görs med dina uppgifter loggas. Om något ser fel ut, kontakta din kommun.",
    none: "Ingen personal har läst dina uppgifter ännu.",
    when: "När",
    unit: "Enhet",
    staff: "Personal",
    what: "Vad",
    emergency: "Nödåtkomst",
    unknown_unit: "okänd enhet",
    actions: [
        ("read:overview", "läste dina grunduppgifter"),
        ("read:care_plan", "läste genomförandeplanen"),
        ("write:care_plan", "skrev i genomförandeplanen"),
        ("read:visit_notes", "läste anteckningar"),
        ("write:visit_notes", "skrev en anteckning"),
        ("find", "sökte fram dig"),
        ("begin_emergency_access", "öppnade nödåtkomst"),
        ("manage_care", "ändrade en vårdrelation"),
        ("follow_up_emergency", "följde upp en nödåtkomst"),
    ],
};

static EN: ExtractTexts = ExtractTexts {
    title: "Who has looked at my data?",
    intro: "Here you see when staff read or changed your data, and at which unit. Everything done with your data is logged. If something looks wrong, contact your municipality.",
    none: "No staff member has read your data yet.",
    when: "When",
    unit: "Unit",
    staff: "Staff member",
    what: "What",
    emergency: "Emergency access",
    unknown_unit: "unknown unit",
    actions: [
        ("read:overview", "read your basic details"),
        ("read:care_plan", "read the care plan"),
        ("write:care_plan", "wrote in the care plan"),
        ("read:visit_notes", "read visit notes"),
        ("write:visit_notes", "wrote a visit note"),
        ("find", "looked you up"),
        ("begin_emergency_access", "opened emergency access"),
        ("manage_care", "changed a care relationship"),
        ("follow_up_emergency", "followed up an emergency access"),
    ],
};

fn texts(lang: Lang) -> &'static ExtractTexts {
    match lang {
        Lang::Sv => &SV,
        Lang::En => &EN,
    }
}

/// The staff member behind an actor id, if it is one.
fn staff_of_actor(actor: &Actor) -> Option<StaffId> {
    actor
        .0
        .strip_prefix("staff:")
        .and_then(|id| id.parse().ok())
}

/// The allowed accesses to the session's own data by others, newest first.
async fn lines(state: &AppState, session: &Session, lang: Lang) -> Result<Vec<Line>, WebError> {
    let Account::Person { tenant, person } = session.record.account else {
        return Err(WebError::Forbidden);
    };
    let grant =
        record::authorize(state, session, person, Action::Read(Part::Overview), None).await?;
    let entries = state
        .store
        .own_access_log(&grant)
        .await
        .map_err(WebError::Unavailable)?;
    let units = unit_names(state, tenant).await?;
    let staff_names = crate::care::authors(state, session).await?;
    let mut staff_units: HashMap<StaffId, Vec<UnitId>> = HashMap::new();
    let e = texts(lang);
    let me = Actor::of(&session.record.account);
    let mut out = Vec::new();
    for entry in entries {
        let ev = entry.event;
        if ev.actor == me || ev.outcome != Outcome::Allow {
            continue;
        }
        let staff = staff_of_actor(&ev.actor);
        // The unit the access concerned, or the units the staff member works in.
        let unit_ids = match (ev.unit, staff) {
            (Some(u), _) => vec![u],
            (None, Some(s)) => match staff_units.get(&s) {
                Some(u) => u.clone(),
                None => {
                    let u = state
                        .store
                        .units_of(tenant, s)
                        .await
                        .map_err(WebError::Unavailable)?;
                    staff_units.insert(s, u.clone());
                    u
                }
            },
            (None, None) => Vec::new(),
        };
        let unit: Vec<&str> = unit_ids
            .iter()
            .filter_map(|u| units.get(u).map(String::as_str))
            .collect();
        out.push(Line {
            when: ev.at.date().to_string()
                + " "
                + &format!("{:02}:{:02}", ev.at.hour(), ev.at.minute()),
            unit: if unit.is_empty() {
                e.unknown_unit.to_owned()
            } else {
                unit.join(", ")
            },
            staff: staff.and_then(|s| staff_names.get(&s).cloned()),
            what: e
                .actions
                .iter()
                .find(|(a, _)| *a == ev.action)
                .map_or("", |(_, t)| t),
            emergency: ev.ground == "emergency_access",
        });
    }
    Ok(out)
}

/// `GET /my-log`.
pub async fn page(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let cx = ctx(session, &q, &headers);
    let result = async {
        let lines = lines(&state, &cx.session, cx.lang).await?;
        Ok(cx.render(
            ExtractPage {
                lang: cx.code(),
                t: cx.t(),
                e: texts(cx.lang),
                lines,
                names_staff: state.auth.citizen_log_names_staff,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// The extract's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/my-log", get(page))
}
