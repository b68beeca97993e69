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
    operator: &'static str,
    proof_title: &'static str,
    proof_intro: &'static str,
    proof_link: &'static str,
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
    operator: "systemförvaltningen (drift)",
    proof_title: "Bevis för loggen",
    proof_intro: "Loggen är skyddad mot ändringar. Du kan ladda ner ett bevis för att raderna ovan finns i loggen, som du eller någon du litar på kan kontrollera utan kommunens hjälp.",
    proof_link: "Ladda ner bevis (JSON-fil)",
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
    operator: "system administration (operations)",
    proof_title: "Proof of the log",
    proof_intro: "The log is protected against changes. You can download a proof that the lines above are in the log, which you or someone you trust can check without the municipality's help.",
    proof_link: "Download the proof (JSON file)",
};

/// What each audited action means, in words (the log keeps codes).
static ACTIONS_SV: [(&str, &str); 22] = [
    ("read:overview", "läste grunduppgifter"),
    ("read:contact", "läste kontaktuppgifter"),
    ("read:care_plan", "läste genomförandeplanen"),
    ("write:care_plan", "skrev i genomförandeplanen"),
    ("read:visit_notes", "läste anteckningar"),
    ("write:visit_notes", "skrev en anteckning"),
    ("read:alarms", "läste larm"),
    ("write:alarms", "hanterade ett larm"),
    ("find", "sökte fram personen"),
    ("begin_emergency_access", "öppnade nödåtkomst"),
    ("manage_care", "ändrade en vårdrelation"),
    ("review", "granskade behörigheter"),
    ("follow_up_emergency", "följde upp en nödåtkomst"),
    ("read:audit_log", "läste loggen"),
    ("review_log", "sökte i loggen (loggkontroll)"),
    ("record_log_review", "registrerade en loggkontroll"),
    ("close_log_review", "följde upp en loggkontroll"),
    ("read:log_proof", "hämtade ett loggbevis"),
    ("assign_role", "gav en roll"),
    ("end_role", "tog bort en roll"),
    ("create:person", "registrerade dig"),
    ("manage_relatives", "ändrade uppgifter om anhöriga"),
];
static ACTIONS_EN: [(&str, &str); 22] = [
    ("read:overview", "read basic details"),
    ("read:contact", "read contact details"),
    ("read:care_plan", "read the care plan"),
    ("write:care_plan", "wrote in the care plan"),
    ("read:visit_notes", "read visit notes"),
    ("write:visit_notes", "wrote a visit note"),
    ("read:alarms", "read alarms"),
    ("write:alarms", "handled an alarm"),
    ("find", "looked the person up"),
    ("begin_emergency_access", "opened emergency access"),
    ("manage_care", "changed a care relationship"),
    ("review", "reviewed permissions"),
    ("follow_up_emergency", "followed up an emergency access"),
    ("read:audit_log", "read the log"),
    ("review_log", "searched the log (log review)"),
    ("record_log_review", "recorded a log review"),
    ("close_log_review", "followed up a log review"),
    ("read:log_proof", "fetched a log proof"),
    ("assign_role", "gave a role"),
    ("end_role", "ended a role"),
    ("create:person", "registered you"),
    ("manage_relatives", "changed details of relatives"),
];

/// The words for an audited action in `lang` (`assign_role:nurse` reads as
/// `assign_role`), if there are any.
pub(crate) fn action_words(lang: Lang, action: &str) -> Option<&'static str> {
    let words: &[(&str, &str)] = match lang {
        Lang::Sv => &ACTIONS_SV,
        Lang::En => &ACTIONS_EN,
    };
    let find = |a: &str| words.iter().find(|(code, _)| *code == a).map(|(_, w)| *w);
    find(action).or_else(|| action.split(':').next().and_then(find))
}

fn texts(lang: Lang) -> &'static ExtractTexts {
    match lang {
        Lang::Sv => &SV,
        Lang::En => &EN,
    }
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
        let staff = trygg_store::staff_of_actor(&ev.actor);
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
            when: {
                let l = trygg_domain::swedish_time(ev.at);
                format!("{} {:02}:{:02}", l.date(), l.hour(), l.minute())
            },
            unit: if ev.actor.0.starts_with("operator:") {
                e.operator.to_owned()
            } else if unit.is_empty() {
                e.unknown_unit.to_owned()
            } else {
                unit.join(", ")
            },
            staff: staff.and_then(|s| staff_names.get(&s).cloned()),
            what: action_words(lang, &ev.action).unwrap_or_default(),
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
