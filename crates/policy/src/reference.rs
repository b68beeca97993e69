//! The specification: Trygg's access rules in plain Rust.
//!
//! This module is the rules as written in `docs/design/authorization.md`,
//! with nothing optimised away. It is not a decision path: production
//! decisions go through [`crate::Authorizer`] (the Cedar policies), and the
//! tests assert that the two agree on every input they generate, both on
//! allow/deny and on the ground ([`Via`]) of an allow.
//!
//! The rules, in order:
//!
//! 0. The principal's tenant is the person's tenant, the resource belongs to
//!    the person the facts describe, and the session's LoA is at least the
//!    resource's. The bootstrap administrator is always denied.
//! 1. A citizen reads all of their own data and finds themselves ([`Via::Own`]).
//! 2. A relative reads the parts the person has granted them and finds the
//!    person if granted anything, unless the person has a protected identity
//!    ([`Via::RelativeGrant`]).
//! 3. Staff: a role that may do the action ([`can`]) must be held in a linked
//!    unit, or in any unit while an emergency access is in force; the
//!    ownership rule (documentation of another unit needs consent or an
//!    emergency access, and a block hides it even then) and the
//!    protected-identity rule (contact data only through a direct care
//!    relationship) must hold. Beginning an emergency access needs a role that
//!    may, a stepped-up session and LoA3.
//! 4. Everything else is denied.
//!
//! For [`Action::Find`] and [`Action::BeginEmergencyAccess`] the resource's
//! part and owner are ignored (they concern the person, not a record).

use crate::Via;
use time::OffsetDateTime;
use trygg_domain::{
    Account, Action, ActiveCare, Loa, Part, PersonFacts, PersonId, Principal, RelativeId, Resource,
    Role, StaffId, UnitId,
};

/// The role table: whether `role` may do `action` at all (before care
/// relationships, ownership and protected identity are considered).
pub fn can(role: Role, action: Action) -> bool {
    use Part::{Alarms, CarePlan, Contact, Overview, VisitNotes};
    use Role::{AlarmOperator, HomeCareStaff, Nurse, UnitManager};
    match action {
        Action::Read(Overview | Contact | Alarms) | Action::Find | Action::BeginEmergencyAccess => {
            matches!(role, AlarmOperator | HomeCareStaff | Nurse | UnitManager)
        }
        Action::Read(CarePlan | VisitNotes) => matches!(role, HomeCareStaff | Nurse | UnitManager),
        Action::Write(CarePlan) => matches!(role, Nurse | UnitManager),
        Action::Write(VisitNotes) => matches!(role, HomeCareStaff | Nurse),
        // Handling an alarm: taking it, dispatching, presence, closing.
        Action::Write(Alarms) => matches!(role, AlarmOperator | HomeCareStaff),
        Action::Write(Overview | Contact) => false,
    }
}

/// Whether an emergency access by `staff` is in force at `now` (it ends at
/// `until`, exclusive).
pub fn emergency_in_force(facts: &PersonFacts, staff: StaffId, now: OffsetDateTime) -> bool {
    facts
        .emergency
        .iter()
        .any(|e| e.staff == staff && e.until > now)
}

/// The decision: `Some(ground)` if the rules allow `principal` to do `action`
/// on `resource`, `None` if they deny it.
pub fn decide(
    principal: &Principal,
    action: Action,
    resource: &Resource,
    facts: &PersonFacts,
    now: OffsetDateTime,
) -> Option<Via> {
    // Rule 0.
    let tenant = principal.account.tenant()?; // the bootstrap administrator has none
    if tenant != facts.tenant || resource.person != facts.person || principal.loa < resource.min_loa
    {
        return None;
    }
    match &principal.account {
        Account::BootstrapAdmin { .. } => None,
        Account::Person { person, .. } => citizen(*person, action, facts),
        Account::Relative {
            relative, person, ..
        } => relative_of(*relative, *person, action, facts),
        Account::Staff { staff, .. } => {
            staff_member(*staff, principal, action, resource, facts, now)
        }
    }
}

/// Rule 1.
fn citizen(person: PersonId, action: Action, facts: &PersonFacts) -> Option<Via> {
    let own = person == facts.person;
    (own && matches!(action, Action::Read(_) | Action::Find)).then_some(Via::Own)
}

/// Rule 2.
fn relative_of(
    relative: RelativeId,
    person: PersonId,
    action: Action,
    facts: &PersonFacts,
) -> Option<Via> {
    if person != facts.person || facts.protected_identity {
        return None;
    }
    let mut granted = facts
        .relative_grants
        .iter()
        .filter(|(r, _)| *r == relative)
        .flat_map(|(_, parts)| parts.iter().copied());
    let allowed = match action {
        Action::Read(part) => granted.any(|p| p == part),
        Action::Find => granted.next().is_some(),
        Action::Write(_) | Action::BeginEmergencyAccess => false,
    };
    allowed.then_some(Via::RelativeGrant)
}

/// On what ground documentation owned by a unit may be reached (the
/// ownership rule), before roles are considered.
enum Ownership {
    /// No owner, or the owner is a linked unit.
    Care,
    /// Another unit's documentation, and a linked unit has consent.
    Consent,
    /// Another unit's documentation, reachable only by the emergency access.
    Emergency,
}

/// Rule 3.
fn staff_member(
    staff: StaffId,
    principal: &Principal,
    action: Action,
    resource: &Resource,
    facts: &PersonFacts,
    now: OffsetDateTime,
) -> Option<Via> {
    let roles = &principal.roles;

    if action == Action::BeginEmergencyAccess {
        let may = roles.iter().any(|(_, role)| can(*role, action));
        return (may && principal.stepped_up && principal.loa >= Loa::Loa3)
            .then_some(Via::EmergencyAccess);
    }

    // The care link.
    let direct = facts.care.contains(&ActiveCare::Staff(staff));
    let linked = |unit: UnitId| {
        roles.iter().any(|(u, _)| *u == unit)
            && (direct || facts.care.contains(&ActiveCare::Unit(unit)))
    };
    let emergency = emergency_in_force(facts, staff, now);

    // The role condition.
    let by_care = roles
        .iter()
        .any(|(unit, role)| linked(*unit) && can(*role, action));
    let by_emergency = emergency && roles.iter().any(|(_, role)| can(*role, action));
    if !by_care && !by_emergency {
        return None;
    }

    // Protected identity.
    if facts.protected_identity && action == Action::Read(Part::Contact) && !direct {
        return None;
    }

    // The ownership rule (Find concerns the person, not a unit's record).
    let owner = match action {
        Action::Read(_) | Action::Write(_) => resource.owner_unit,
        Action::Find | Action::BeginEmergencyAccess => None,
    };
    let ownership = match owner {
        None => Ownership::Care,
        Some(w) if linked(w) => Ownership::Care,
        Some(w) if facts.blocked_units.contains(&w) => return None,
        Some(_) if facts.consents.iter().any(|c| linked(*c)) => Ownership::Consent,
        Some(_) if emergency => Ownership::Emergency,
        Some(_) => return None,
    };

    // The ground: the emergency access whenever it was needed, so that every
    // access that depended on it is followed up.
    Some(match (by_care, ownership) {
        (true, Ownership::Care) => Via::CareRelationship,
        (true, Ownership::Consent) => Via::Consent,
        (true, Ownership::Emergency) | (false, _) => Via::EmergencyAccess,
    })
}

/// The rules of permission administration (`policies/admin.cedar`): whether
/// `principal` may make `request`.
///
/// 0. Staff only, in the unit's tenant, with a fresh LoA3 login.
/// 1. A unit manager assigns and ends the care roles (alarm operator,
///    home-care staff, nurse, unit manager) in the units they manage, never
///    to themselves: nobody grants more than they hold. Security officer and
///    administrator are assigned only from the operator's command line.
/// 2. A unit manager adds and ends care relationships with the units they manage.
/// 3. Reviews and emergency follow-ups: the unit's manager, or a security
///    officer of the tenant; nobody follows up their own emergency access.
pub fn decide_admin(principal: &Principal, request: &trygg_domain::AdminRequest) -> bool {
    use trygg_domain::AdminAction;
    let Account::Staff { tenant, .. } = principal.account else {
        return false;
    };
    if tenant != request.tenant || !principal.stepped_up || principal.loa < Loa::Loa3 {
        return false;
    }
    let holds = |role: Role, unit: Option<UnitId>| {
        principal
            .roles
            .iter()
            .any(|(u, r)| *r == role && unit.is_none_or(|unit| *u == unit))
    };
    let manages = holds(Role::UnitManager, Some(request.unit));
    let care_role = |role: Role| {
        matches!(
            role,
            Role::AlarmOperator | Role::HomeCareStaff | Role::Nurse | Role::UnitManager
        )
    };
    match request.action {
        AdminAction::AssignRole(role) => manages && care_role(role) && !request.about_self,
        AdminAction::EndRole(role) => manages && care_role(role),
        AdminAction::ManageCare => manages,
        AdminAction::Review | AdminAction::ReviewLog => {
            manages || holds(Role::SecurityOfficer, None)
        }
        AdminAction::FollowUpEmergency => {
            (manages || holds(Role::SecurityOfficer, None)) && !request.about_self
        }
    }
}
