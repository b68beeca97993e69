//! What an access decision is made from: who asks (with their roles and
//! session), what they want to do, and the facts about the person whose data
//! it is. The store loads these per request; the policy crate decides.

use crate::{Account, Loa, PersonId, RelativeId, Role, StaffId, TenantId, UnitId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A part of a person's data, as the law and the UI distinguish them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Name, identity number, who cares for them (not address/contact data).
    Overview,
    /// Address and contact data (hidden under protected identity).
    Contact,
    /// The care plan (genomförandeplan).
    CarePlan,
    /// Visit notes (social documentation).
    VisitNotes,
    /// Safety alarms: what the person's devices reported and how each alarm
    /// was handled. Not any one unit's documentation: it has no owner unit.
    Alarms,
}

impl Part {
    /// Its name in policies and the audit log: `overview`, `contact`,
    /// `care_plan`, `visit_notes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Overview => "overview",
            Part::Contact => "contact",
            Part::CarePlan => "care_plan",
            Part::VisitNotes => "visit_notes",
            Part::Alarms => "alarms",
        }
    }

    /// Every part.
    pub const ALL: [Part; 5] = [
        Part::Overview,
        Part::Contact,
        Part::CarePlan,
        Part::VisitNotes,
        Part::Alarms,
    ];
}

/// What the principal wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read a part of the person's data written by `unit`.
    Read(Part),
    /// Create or change a part (care plan, visit notes).
    Write(Part),
    /// Find the person in a search or a list.
    Find,
    /// Begin emergency access (nödåtkomst) to the person.
    BeginEmergencyAccess,
}

impl Action {
    /// Its name in the audit log: `read:care_plan`, `write:visit_notes`,
    /// `find`, `begin_emergency_access`.
    pub fn audit_name(self) -> String {
        match self {
            Action::Read(part) => format!("read:{}", part.as_str()),
            Action::Write(part) => format!("write:{}", part.as_str()),
            Action::Find => "find".to_owned(),
            Action::BeginEmergencyAccess => "begin_emergency_access".to_owned(),
        }
    }
}

/// The request a decision was made in, as the audit log records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// How the user was identified.
    pub method: Option<crate::AuthMethod>,
    /// At what level of assurance.
    pub loa: Option<Loa>,
    /// The request id.
    pub request_id: Option<String>,
}

/// Who is asking, as the session and the store know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account.
    pub account: Account,
    /// Roles (staff only): unit × role.
    pub roles: Vec<(UnitId, Role)>,
    /// The session's level of assurance.
    pub loa: Loa,
    /// Whether the session's authentication is fresh enough for step-up.
    pub stepped_up: bool,
}

/// A care relationship that holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveCare {
    /// A staff member directly.
    Staff(StaffId),
    /// A unit.
    Unit(UnitId),
}

/// An emergency access in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAccess {
    /// Who.
    pub staff: StaffId,
    /// Until when.
    pub until: OffsetDateTime,
}

/// Everything about the person that decides access to their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacts {
    /// Whose data.
    pub person: PersonId,
    /// Their tenant.
    pub tenant: TenantId,
    /// Protected identity: contact data hidden, no proxies.
    pub protected_identity: bool,
    /// Care relationships that hold now.
    pub care: Vec<ActiveCare>,
    /// Units the person has consented may reach documentation written by other units.
    pub consents: Vec<UnitId>,
    /// Units whose documentation the person has blocked from every other unit.
    pub blocked_units: Vec<UnitId>,
    /// Emergency accesses in force.
    pub emergency: Vec<EmergencyAccess>,
    /// What each relative has been granted.
    pub relative_grants: Vec<(RelativeId, Vec<Part>)>,
}

/// The data the action touches: a part of the person's data, written by a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// Whose.
    pub person: PersonId,
    /// Which part.
    pub part: Part,
    /// The unit that wrote it (documentation belongs to the unit that made
    /// it); `None` for data that belongs to no unit (overview, contact data).
    pub owner_unit: Option<UnitId>,
    /// The lowest LoA a session must have to reach it.
    pub min_loa: Loa,
}

/// A change to who may reach personal data (permission administration), or
/// a look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminAction {
    /// Give a staff member a role in the unit.
    AssignRole(Role),
    /// Take a role in the unit from a staff member.
    EndRole(Role),
    /// Add or end a care relationship between a person and the unit (or a
    /// staff member of it).
    ManageCare,
    /// See the unit's role assignments and care relationships, and mark them
    /// reviewed (the periodic review).
    Review,
    /// Follow up an emergency access used by a staff member of the unit.
    FollowUpEmergency,
    /// Review the audit log of the unit (loggkontroll): search it, see the
    /// flagged accesses, draw a random sample and record the review.
    ReviewLog,
}

/// What a permission change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminRequest {
    /// The change.
    pub action: AdminAction,
    /// The unit it is made in.
    pub unit: UnitId,
    /// The unit's tenant.
    pub tenant: TenantId,
    /// Whether it concerns the principal themselves (their own role, their
    /// own emergency access).
    pub about_self: bool,
}
