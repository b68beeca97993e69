//! Permission administration (unit managers) and the follow-up of emergency
//! accesses (unit managers and security officers).
//!
//! Each change is decided by `AdminAuthorizer` (policies/admin.cedar) and
//! the store demands the resulting `AdminGrant`. Every page and change needs
//! a fresh e-ID login. Roles are read on every request, so a change applies
//! from the holder's next request.

use crate::care::{LangQuery, authors, ctx, error_page, respond};
use crate::i18n::{PermTexts, Texts};
use crate::pages::{is_stepped_up, require_step_up};
use crate::record::{self, load_principal, staff_of, store_err};
use crate::session::{Authenticated, Session, redirect};
use crate::{AppState, WebError};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use trygg_domain::{
    AdminAction, AdminRequest, AnalysisRef, CareParty, CareRelationshipId, FreeText, Principal,
    Role, StaffId, TenantId, UnitId,
};
use trygg_policy::AdminGrant;
use trygg_store::StoreError;

/// How long a role assignment or care relationship holds before it is due
/// for review.
pub const REVIEW_INTERVAL: time::Duration = time::Duration::days(365);

/// The tenant of a staff session (nobody else administers anything).
pub(crate) fn staff_tenant(session: &Session) -> Result<(TenantId, StaffId), WebError> {
    let staff = staff_of(session)?;
    let tenant = session.record.account.tenant().ok_or(WebError::Forbidden)?;
    Ok((tenant, staff))
}

/// Asks the policy about a change in `unit` (which must be a unit of the
/// session's tenant); logs a refusal.
pub(crate) async fn decide(
    state: &AppState,
    session: &Session,
    principal: &Principal,
    action: AdminAction,
    unit: UnitId,
    about_self: bool,
) -> Result<AdminGrant, WebError> {
    let name = || format!("{action:?}").to_lowercase();
    let Ok((tenant, _)) = staff_tenant(session) else {
        // Only staff administer anything; the attempt is logged all the same.
        record::audit_refusal_of(state, session, None, name(), Some(unit), "not_staff").await?;
        return Err(WebError::Forbidden);
    };
    if !record::unit_names(state, tenant).await?.contains_key(&unit) {
        return Err(WebError::NotFound);
    }
    let request = AdminRequest {
        action,
        unit,
        tenant,
        about_self,
    };
    match state.admin_policy.authorize(principal, &request) {
        Ok(grant) => Ok(grant.in_request(session.request_info())),
        Err(denial) => {
            tracing::warn!(action = ?action, %unit, reason = ?denial.reason, "permission change refused");
            record::audit_refusal_of(
                state,
                session,
                None,
                name(),
                Some(unit),
                denial.reason.as_str(),
            )
            .await?;
            Err(WebError::Forbidden)
        }
    }
}

/// The same question, as a yes or no for which forms to show.
pub(crate) fn may_admin(
    state: &AppState,
    principal: &Principal,
    tenant: TenantId,
    action: AdminAction,
    unit: UnitId,
) -> bool {
    let request = AdminRequest {
        action,
        unit,
        tenant,
        about_self: false,
    };
    state.admin_policy.authorize(principal, &request).is_ok()
}

/// The units of the session's tenant where the policy allows `action`, by name.
pub(crate) async fn units_allowing(
    state: &AppState,
    session: &Session,
    action: AdminAction,
) -> Result<Vec<(UnitId, String)>, WebError> {
    let (tenant, _) = staff_tenant(session)?;
    let principal = load_principal(state, session).await?;
    let mut units: Vec<(UnitId, String)> = record::unit_names(state, tenant)
        .await?
        .into_iter()
        .filter(|(unit, _)| may_admin(state, &principal, tenant, action, *unit))
        .collect();
    units.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(units)
}

fn date(t: time::OffsetDateTime) -> String {
    t.date().to_string()
}

#[derive(Template)]
#[template(path = "permissions.html")]
struct UnitsPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    p: &'static PermTexts,
    units: Vec<(UnitId, String)>,
}

/// `GET /permissions`: the units the principal reviews.
pub async fn units(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = require_step_up(&state, &session, "/permissions") {
        return r;
    }
    let cx = ctx(session, &q, &headers);
    let result = async {
        let units = units_allowing(&state, &cx.session, AdminAction::Review).await?;
        Ok(cx.render(
            UnitsPage {
                lang: cx.code(),
                t: cx.t(),
                p: cx.lang.perm(),
                units,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// A role assignment as the page shows it.
struct RoleLine {
    staff: StaffId,
    staff_name: String,
    role: &'static str,
    role_name: &'static str,
    analysis_ref: Option<String>,
    since: String,
    review_due: Option<String>,
    due: bool,
    may_end: bool,
}

/// A care relationship as the page shows it.
struct CareLine {
    id: CareRelationshipId,
    person: Option<String>,
    directly: Option<String>,
    analysis_ref: Option<String>,
    since: String,
    review_due: Option<String>,
    due: bool,
}

#[derive(Template)]
#[template(path = "permissions_unit.html")]
struct UnitPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    c: &'static crate::i18n::CareTexts,
    p: &'static PermTexts,
    csrf: String,
    unit: UnitId,
    unit_name: String,
    roles: Vec<RoleLine>,
    care: Vec<CareLine>,
    assignable: Vec<(&'static str, &'static str)>,
    staff: Vec<(StaffId, String)>,
    may_manage_care: bool,
    notice: Option<&'static str>,
    error: bool,
}

/// `?done=` or `?error=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Outcome {
    lang: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

fn outcome_text(p: &'static PermTexts, o: &Outcome) -> (Option<&'static str>, bool) {
    if o.done.is_some() {
        return (Some(p.done), false);
    }
    let text = match o.error.as_deref() {
        Some("analysis-ref") => p.error_ref,
        Some("exists") => p.error_exists,
        Some("forbidden") => p.error_forbidden,
        Some(_) => p.error_not_found,
        None => return (None, false),
    };
    (Some(text), true)
}

/// `GET /permissions/{unit}`: the review list and the forms.
pub async fn unit(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(unit): Path<UnitId>,
    Query(o): Query<Outcome>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = require_step_up(&state, &session, &format!("/permissions/{unit}")) {
        return r;
    }
    let cx = ctx(
        session,
        &LangQuery {
            lang: o.lang.clone(),
        },
        &headers,
    );
    let p = cx.lang.perm();
    let result = async {
        let (tenant, me) = staff_tenant(&cx.session)?;
        let principal = load_principal(&state, &cx.session).await?;
        let grant = decide(
            &state,
            &cx.session,
            &principal,
            AdminAction::Review,
            unit,
            false,
        )
        .await?;
        let (roles, care) = state.store.review_list(&grant).await.map_err(store_err)?;
        let names = authors(&state, &cx.session).await?;
        let name = |s: &StaffId| names.get(s).cloned().unwrap_or_default();
        let now = state.store.clock().now();
        let due = |d: Option<time::OffsetDateTime>| d.is_none_or(|d| d <= now);
        let roles = roles
            .into_iter()
            .map(|r| RoleLine {
                staff_name: name(&r.staff),
                role: r.role.as_str(),
                role_name: p.role_name(r.role.as_str()),
                analysis_ref: r.analysis_ref,
                since: date(r.since),
                review_due: r.review_due_at.map(date),
                due: due(r.review_due_at),
                may_end: may_admin(
                    &state,
                    &principal,
                    tenant,
                    AdminAction::EndRole(r.role),
                    unit,
                ),
                staff: r.staff,
            })
            .collect();
        let mut lines = Vec::new();
        for c in care {
            lines.push(CareLine {
                id: c.id,
                person: record::listed_name(&state, &cx.session, c.person).await?,
                directly: match c.party {
                    CareParty::Staff(s) => Some(name(&s)),
                    CareParty::Unit(_) => None,
                },
                analysis_ref: c.analysis_ref,
                since: date(c.since),
                review_due: c.review_due_at.map(date),
                due: due(c.review_due_at),
            });
        }
        let assignable = Role::ALL
            .into_iter()
            .filter(|r| {
                may_admin(
                    &state,
                    &principal,
                    tenant,
                    AdminAction::AssignRole(*r),
                    unit,
                )
            })
            .map(|r| (r.as_str(), p.role_name(r.as_str())))
            .collect();
        let mut staff: Vec<(StaffId, String)> =
            names.into_iter().filter(|(id, _)| *id != me).collect();
        staff.sort_by(|a, b| a.1.cmp(&b.1));
        let (notice, error) = outcome_text(p, &o);
        Ok(cx.render(
            UnitPage {
                lang: cx.code(),
                t: cx.t(),
                c: cx.lang.care(),
                p,
                csrf: cx.session.csrf(),
                unit,
                unit_name: record::unit_names(&state, tenant)
                    .await?
                    .remove(&unit)
                    .unwrap_or_default(),
                roles,
                care: lines,
                assignable,
                staff,
                may_manage_care: may_admin(
                    &state,
                    &principal,
                    tenant,
                    AdminAction::ManageCare,
                    unit,
                ),
                notice,
                error,
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// A change form: every field optional here, checked per change.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    staff: Option<String>,
    role: Option<String>,
    analysis_ref: Option<String>,
    identity_number: Option<String>,
    id: Option<String>,
}

impl ChangeForm {
    fn staff(&self) -> Result<StaffId, WebError> {
        self.staff
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or(WebError::BadRequest("staff"))
    }
    fn role(&self) -> Result<Role, WebError> {
        self.role
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or(WebError::BadRequest("role"))
    }
    fn analysis(&self) -> Result<AnalysisRef, WebError> {
        AnalysisRef::parse(self.analysis_ref.as_deref().unwrap_or_default())
            .map_err(|_| WebError::BadRequest("analysis-ref"))
    }
    fn care_id(&self) -> Result<CareRelationshipId, WebError> {
        self.id
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or(WebError::BadRequest("id"))
    }
}

/// Which change a form makes.
#[derive(Debug, Clone, Copy)]
enum Change {
    AssignRole,
    EndRole,
    ReviewRole,
    AddCare,
    EndCare,
    ReviewCare,
}

/// Makes one change; every path decides first.
async fn change(
    state: &AppState,
    session: &Session,
    unit: UnitId,
    what: Change,
    form: &ChangeForm,
) -> Result<(), WebError> {
    let (_, me) = staff_tenant(session)?;
    let principal = load_principal(state, session).await?;
    let due = state.store.clock().now() + REVIEW_INTERVAL;
    let grant = |action, about_self| decide(state, session, &principal, action, unit, about_self);
    let store = &state.store;
    let result = match what {
        Change::AssignRole => {
            let (staff, role, analysis) = (form.staff()?, form.role()?, form.analysis()?);
            let g = grant(AdminAction::AssignRole(role), staff == me).await?;
            store.grant_role(&g, staff, &analysis, me, due).await
        }
        Change::EndRole => {
            let (staff, role) = (form.staff()?, form.role()?);
            let g = grant(AdminAction::EndRole(role), staff == me).await?;
            store.end_role(&g, staff).await
        }
        Change::ReviewRole => {
            let (staff, role, analysis) = (form.staff()?, form.role()?, form.analysis()?);
            let g = grant(AdminAction::Review, false).await?;
            store.review_role(&g, staff, role, &analysis, due).await
        }
        Change::AddCare => {
            let analysis = form.analysis()?;
            let party = match form.staff.as_deref().filter(|s| !s.is_empty()) {
                Some(_) => CareParty::Staff(form.staff()?),
                None => CareParty::Unit(unit),
            };
            let g = grant(AdminAction::ManageCare, false).await?;
            let number = form.identity_number.as_deref().unwrap_or_default();
            let person = record::person_by_number(state, session, number).await?;
            store
                .grant_care(&g, person, party, &analysis, me, due)
                .await
                .map(|_| ())
        }
        Change::EndCare => {
            let id = form.care_id()?;
            let g = grant(AdminAction::ManageCare, false).await?;
            store.end_care(&g, id, me).await
        }
        Change::ReviewCare => {
            let (id, analysis) = (form.care_id()?, form.analysis()?);
            let g = grant(AdminAction::Review, false).await?;
            store.review_care(&g, id, &analysis, due).await
        }
    };
    result.map_err(|e| match e {
        StoreError::Duplicate(_) => WebError::BadRequest("exists"),
        StoreError::UnknownReference(_) => WebError::NotFound,
        other => store_err(other),
    })
}

/// Runs a change form and goes back to the unit's page with the outcome.
async fn change_page(
    state: AppState,
    session: Session,
    unit: UnitId,
    what: Change,
    form: ChangeForm,
) -> Response {
    let back = format!("/permissions/{unit}");
    if !is_stepped_up(&state, &session) {
        return redirect(&format!("/login?step_up=1&return={back}"));
    }
    match change(&state, &session, unit, what, &form).await {
        Ok(()) => redirect(&format!("{back}?done=1")),
        Err(WebError::BadRequest(code @ ("analysis-ref" | "exists"))) => {
            redirect(&format!("{back}?error={code}"))
        }
        Err(WebError::BadRequest(_) | WebError::NotFound) => {
            redirect(&format!("{back}?error=not-found"))
        }
        Err(WebError::Forbidden) => redirect(&format!("{back}?error=forbidden")),
        Err(e) => error_page(crate::i18n::Lang::Sv, e),
    }
}

macro_rules! change_handler {
    ($name:ident, $change:expr, $doc:literal) => {
        #[doc = $doc]
        pub async fn $name(
            State(state): State<AppState>,
            Authenticated(session): Authenticated,
            Path(unit): Path<UnitId>,
            Form(form): Form<ChangeForm>,
        ) -> Response {
            change_page(state, session, unit, $change, form).await
        }
    };
}

change_handler!(
    assign_role,
    Change::AssignRole,
    "`POST /permissions/{unit}/roles`."
);
change_handler!(
    end_role,
    Change::EndRole,
    "`POST /permissions/{unit}/roles/end`."
);
change_handler!(
    review_role,
    Change::ReviewRole,
    "`POST /permissions/{unit}/roles/review`."
);
change_handler!(
    add_care,
    Change::AddCare,
    "`POST /permissions/{unit}/care`."
);
change_handler!(
    end_care,
    Change::EndCare,
    "`POST /permissions/{unit}/care/end`."
);
change_handler!(
    review_care,
    Change::ReviewCare,
    "`POST /permissions/{unit}/care/review`."
);

/// An emergency access waiting for its follow-up.
#[derive(Debug, Serialize)]
pub struct PendingFollowUp {
    /// Id.
    pub id: uuid::Uuid,
    /// Whose data.
    pub person_name: String,
    /// Who opened it.
    pub staff: StaffId,
    /// Their name.
    pub staff_name: String,
    /// The reason they gave.
    pub reason: String,
    /// When (RFC 3339).
    pub started_at: String,
    /// Until when it held (RFC 3339).
    pub until: String,
}

/// The grant to follow up `staff`'s emergency access: decided for each unit
/// they work in until one allows (a unit manager of theirs, or a security
/// officer). `loud` logs the refusal.
async fn follow_up_grant(
    state: &AppState,
    session: &Session,
    principal: &Principal,
    staff: StaffId,
) -> Result<Option<AdminGrant>, WebError> {
    let (tenant, me) = staff_tenant(session)?;
    let units = state
        .store
        .units_of(tenant, staff)
        .await
        .map_err(WebError::Unavailable)?;
    Ok(units.into_iter().find_map(|unit| {
        let request = AdminRequest {
            action: AdminAction::FollowUpEmergency,
            unit,
            tenant,
            about_self: staff == me,
        };
        state
            .admin_policy
            .authorize(principal, &request)
            .ok()
            .map(|g| g.in_request(session.request_info()))
    }))
}

/// The emergency accesses the principal may follow up, oldest first.
pub async fn pending_follow_ups(
    state: &AppState,
    session: &Session,
) -> Result<Vec<PendingFollowUp>, WebError> {
    let (tenant, _) = staff_tenant(session)?;
    let principal = load_principal(state, session).await?;
    let names = authors(state, session).await?;
    let mut out = Vec::new();
    let list = state
        .store
        .emergency_follow_up_list(tenant)
        .await
        .map_err(WebError::Unavailable)?;
    for e in list {
        let Some(grant) = follow_up_grant(state, session, &principal, e.staff).await? else {
            continue;
        };
        let d = state
            .store
            .emergency_detail(&grant, e.id)
            .await
            .map_err(store_err)?;
        out.push(PendingFollowUp {
            id: d.id,
            person_name: d.person_name,
            staff: d.staff,
            staff_name: names.get(&d.staff).cloned().unwrap_or_default(),
            reason: d.reason.into(),
            started_at: d.started_at.format(&Rfc3339).unwrap_or_default(),
            until: d.until.format(&Rfc3339).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Records the follow-up of one emergency access.
pub async fn follow_up(
    state: &AppState,
    session: &Session,
    id: uuid::Uuid,
    note: &str,
) -> Result<(), WebError> {
    let (tenant, me) = staff_tenant(session)?;
    let note =
        FreeText::parse(note).map_err(|_| WebError::BadRequest("a conclusion is required"))?;
    let principal = load_principal(state, session).await?;
    let list = state
        .store
        .emergency_follow_up_list(tenant)
        .await
        .map_err(WebError::Unavailable)?;
    let e = list
        .into_iter()
        .find(|e| e.id == id)
        .ok_or(WebError::NotFound)?;
    let Some(grant) = follow_up_grant(state, session, &principal, e.staff).await? else {
        tracing::warn!(%id, "emergency follow-up refused");
        let action = "follow_up_emergency".to_owned();
        record::audit_refusal_of(state, session, Some(e.person), action, None, "role_cannot")
            .await?;
        return Err(WebError::Forbidden);
    };
    state
        .store
        .follow_up_emergency_access(&grant, id, me, &note)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => WebError::NotFound,
            other => store_err(other),
        })
}

#[derive(Template)]
#[template(path = "follow_up.html")]
struct FollowUpPage<'a> {
    lang: &'a str,
    t: &'static Texts,
    p: &'static PermTexts,
    csrf: String,
    pending: Vec<PendingFollowUp>,
    done: bool,
}

/// `GET /follow-up`.
pub async fn follow_up_page(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Query(o): Query<Outcome>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = require_step_up(&state, &session, "/follow-up") {
        return r;
    }
    let cx = ctx(
        session,
        &LangQuery {
            lang: o.lang.clone(),
        },
        &headers,
    );
    let result = async {
        let pending = pending_follow_ups(&state, &cx.session).await?;
        Ok(cx.render(
            FollowUpPage {
                lang: cx.code(),
                t: cx.t(),
                p: cx.lang.perm(),
                csrf: cx.session.csrf(),
                pending,
                done: o.done.is_some(),
            }
            .render(),
        ))
    }
    .await;
    respond(cx.lang, result)
}

/// The follow-up's conclusion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    note: String,
}

/// The follow-up form (with its CSRF field).
#[derive(Debug, Deserialize)]
pub struct FollowUpForm {
    note: String,
}

/// `POST /follow-up/{id}`.
pub async fn follow_up_form(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<uuid::Uuid>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<FollowUpForm>,
) -> Response {
    if !is_stepped_up(&state, &session) {
        return redirect("/login?step_up=1&return=/follow-up");
    }
    let cx = ctx(session, &q, &headers);
    let result = follow_up(&state, &cx.session, id, &form.note)
        .await
        .map(|()| redirect("/follow-up?done=1"));
    respond(cx.lang, result)
}

/// `GET /api/emergency-follow-ups`: what the principal may follow up.
pub async fn api_pending(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
) -> Result<Json<Vec<PendingFollowUp>>, WebError> {
    if !is_stepped_up(&state, &session) {
        return Err(WebError::Forbidden);
    }
    Ok(Json(pending_follow_ups(&state, &session).await?))
}

/// `POST /api/emergency-follow-ups/{id}`: records a follow-up.
pub async fn api_follow_up(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<FollowUpBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    if !is_stepped_up(&state, &session) {
        return Err(WebError::Forbidden);
    }
    follow_up(&state, &session, id, &body.note).await?;
    Ok(Json(serde_json::json!({ "id": id, "followed_up": true })))
}

/// Routes of permission administration and emergency follow-up.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/permissions", get(units))
        .route("/permissions/{unit}", get(unit))
        .route("/permissions/{unit}/roles", post(assign_role))
        .route("/permissions/{unit}/roles/end", post(end_role))
        .route("/permissions/{unit}/roles/review", post(review_role))
        .route("/permissions/{unit}/care", post(add_care))
        .route("/permissions/{unit}/care/end", post(end_care))
        .route("/permissions/{unit}/care/review", post(review_care))
        .route("/follow-up", get(follow_up_page))
        .route("/follow-up/{id}", post(follow_up_form))
        .route("/api/emergency-follow-ups", get(api_pending))
        .route("/api/emergency-follow-ups/{id}", post(api_follow_up))
}
