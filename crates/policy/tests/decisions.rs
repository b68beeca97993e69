//! The rules, edge by edge: every case goes through one `check`, which asks
//! both the Cedar authorizer and the reference model.

#[path = "support/inputs.rs"]
mod inputs;

use inputs::{NOW, person, relative, staff, tenant, unit};
use std::sync::LazyLock;
use time::Duration;
use trygg_domain::{
    Account, Action, ActiveCare, EmergencyAccess, Loa, Part, PersonFacts, Principal, Resource, Role,
};
use trygg_policy::{Authorizer, DenyReason, Via, reference};

use DenyReason::*;
use Part::*;
use Role::*;
use Via::*;

#[allow(clippy::unwrap_used)] // test setup
static AUTHORIZER: LazyLock<Authorizer> = LazyLock::new(|| Authorizer::new().unwrap());

/// A request. By default: person 0 in tenant 0, in the care of unit 0; a
/// record of theirs (overview, no owner unit, LoA2); staff member 0 of tenant
/// 0 with no roles, at LoA3, not stepped up; reading.
#[derive(Clone)]
struct Case {
    principal: Principal,
    action: Action,
    resource: Resource,
    facts: PersonFacts,
}

fn case(account: Account, roles: &[(u8, Role)]) -> Case {
    Case {
        principal: Principal {
            account,
            roles: roles.iter().map(|(u, r)| (unit(*u), *r)).collect(),
            loa: Loa::Loa3,
            stepped_up: false,
        },
        action: Action::Read(Overview),
        resource: Resource {
            person: person(0),
            part: Overview,
            owner_unit: None,
            min_loa: Loa::Loa2,
        },
        facts: PersonFacts {
            person: person(0),
            tenant: tenant(0),
            protected_identity: false,
            care: vec![ActiveCare::Unit(unit(0))],
            consents: vec![],
            blocked_units: vec![],
            emergency: vec![],
            relative_grants: vec![],
        },
    }
}

fn staff_with(roles: &[(u8, Role)]) -> Case {
    case(
        Account::Staff {
            tenant: tenant(0),
            staff: staff(0),
        },
        roles,
    )
}

fn citizen(p: u8) -> Case {
    case(
        Account::Person {
            tenant: tenant(0),
            person: person(p),
        },
        &[],
    )
}

fn relative_of(p: u8, grants: &[Part]) -> Case {
    let mut c = case(
        Account::Relative {
            tenant: tenant(0),
            relative: relative(0),
            person: person(p),
        },
        &[],
    );
    c.facts.relative_grants = vec![(relative(0), grants.to_vec())];
    c
}

impl Case {
    fn does(mut self, action: Action) -> Self {
        self.action = action;
        if let Action::Read(part) | Action::Write(part) = action {
            self.resource.part = part;
        }
        self
    }
    fn owned_by(mut self, u: u8) -> Self {
        self.resource.owner_unit = Some(unit(u));
        self
    }
    fn facts(mut self, f: impl FnOnce(&mut PersonFacts)) -> Self {
        f(&mut self.facts);
        self
    }
    fn session(mut self, loa: Loa, stepped_up: bool) -> Self {
        self.principal.loa = loa;
        self.principal.stepped_up = stepped_up;
        self
    }
    fn min_loa(mut self, loa: Loa) -> Self {
        self.resource.min_loa = loa;
        self
    }
    /// An emergency access by staff member 0 ending `secs` after now.
    fn emergency(self, secs: i64) -> Self {
        self.facts(|f| {
            f.emergency.push(EmergencyAccess {
                staff: staff(0),
                until: NOW + Duration::seconds(secs),
            })
        })
    }
    fn direct_care(self) -> Self {
        self.facts(|f| f.care.push(ActiveCare::Staff(staff(0))))
    }
}

/// The one check: Cedar and the specification both give `expected` (the
/// reference model has no reasons, only allow with a ground or deny).
#[track_caller]
fn check(name: &str, c: &Case, expected: Result<Via, DenyReason>) {
    let cedar = AUTHORIZER
        .authorize(&c.principal, c.action, &c.resource, &c.facts, NOW)
        .map(|g| g.via())
        .map_err(|d| d.reason);
    assert_eq!(cedar, expected, "Cedar: {name}");
    let spec = reference::decide(&c.principal, c.action, &c.resource, &c.facts, NOW);
    assert_eq!(spec, expected.ok(), "reference: {name}");
}

fn run(table: Vec<(&str, Case, Result<Via, DenyReason>)>) {
    for (name, c, expected) in table {
        check(name, &c, expected);
    }
}

#[test]
fn rule_0_tenant_person_loa_and_the_bootstrap_admin() {
    let nurse = || staff_with(&[(0, Nurse)]);
    run(vec![
        ("same tenant", nurse(), Ok(CareRelationship)),
        (
            "other tenant",
            nurse().facts(|f| f.tenant = tenant(1)),
            Err(WrongTenant),
        ),
        (
            "citizen of another tenant",
            citizen(0).facts(|f| f.tenant = tenant(1)),
            Err(WrongTenant),
        ),
        (
            "facts about another person",
            nurse().facts(|f| f.person = person(1)),
            Err(WrongPerson),
        ),
        (
            "LoA equal to the record's",
            nurse().min_loa(Loa::Loa3),
            Ok(CareRelationship),
        ),
        (
            "LoA below the record's",
            nurse().min_loa(Loa::Loa4),
            Err(LoaTooLow),
        ),
        (
            "LoA below the record's, citizen",
            citizen(0).session(Loa::Loa2, false).min_loa(Loa::Loa3),
            Err(LoaTooLow),
        ),
        (
            "find uses the resource's LoA too",
            nurse().does(Action::Find).min_loa(Loa::Loa4),
            Err(LoaTooLow),
        ),
        (
            "bootstrap admin",
            case(
                Account::BootstrapAdmin {
                    name: "admin".into(),
                },
                &[(0, Administrator)],
            ),
            Err(BootstrapAdmin),
        ),
        (
            "bootstrap admin finds",
            case(
                Account::BootstrapAdmin {
                    name: "admin".into(),
                },
                &[],
            )
            .does(Action::Find)
            .session(Loa::Loa4, true),
            Err(BootstrapAdmin),
        ),
    ]);
}

#[test]
fn rule_1_citizens_read_their_own_data() {
    let me = || citizen(0);
    run(vec![
        ("reads own overview", me(), Ok(Own)),
        (
            "reads own visit notes",
            me().does(Action::Read(VisitNotes)).owned_by(1),
            Ok(Own),
        ),
        (
            "reads own notes of a blocked unit",
            me().does(Action::Read(CarePlan))
                .owned_by(1)
                .facts(|f| f.blocked_units = vec![unit(1)]),
            Ok(Own),
        ),
        (
            "reads own contact under protected identity",
            me().does(Action::Read(Contact))
                .facts(|f| f.protected_identity = true),
            Ok(Own),
        ),
        ("finds self", me().does(Action::Find), Ok(Own)),
        (
            "writes",
            me().does(Action::Write(VisitNotes)),
            Err(RoleCannot),
        ),
        (
            "begins emergency access",
            me().does(Action::BeginEmergencyAccess)
                .session(Loa::Loa3, true),
            Err(RoleCannot),
        ),
        ("another person's data", citizen(1), Err(NoRelationship)),
        (
            "finds another person",
            citizen(1).does(Action::Find),
            Err(NoRelationship),
        ),
    ]);
}

#[test]
fn rule_2_relatives_read_what_is_granted() {
    let granted = || relative_of(0, &[VisitNotes]);
    run(vec![
        (
            "granted part",
            granted().does(Action::Read(VisitNotes)),
            Ok(RelativeGrant),
        ),
        (
            "part not granted",
            granted().does(Action::Read(CarePlan)),
            Err(NotGranted),
        ),
        (
            "grants in two entries",
            granted()
                .facts(|f| f.relative_grants.push((relative(0), vec![CarePlan])))
                .does(Action::Read(CarePlan)),
            Ok(RelativeGrant),
        ),
        (
            "another relative's grant",
            granted()
                .facts(|f| f.relative_grants = vec![(relative(1), vec![VisitNotes])])
                .does(Action::Read(VisitNotes)),
            Err(NotGranted),
        ),
        (
            "finds with a grant",
            granted().does(Action::Find),
            Ok(RelativeGrant),
        ),
        (
            "finds without a grant",
            relative_of(0, &[]).does(Action::Find),
            Err(NotGranted),
        ),
        (
            "finds with no entry at all",
            relative_of(0, &[])
                .facts(|f| f.relative_grants.clear())
                .does(Action::Find),
            Err(NotGranted),
        ),
        (
            "protected identity, granted part",
            granted()
                .does(Action::Read(VisitNotes))
                .facts(|f| f.protected_identity = true),
            Err(ProtectedIdentity),
        ),
        (
            "protected identity, find",
            granted()
                .does(Action::Find)
                .facts(|f| f.protected_identity = true),
            Err(ProtectedIdentity),
        ),
        (
            "writes a granted part",
            granted().does(Action::Write(VisitNotes)),
            Err(NotGranted),
        ),
        (
            "begins emergency access",
            granted()
                .does(Action::BeginEmergencyAccess)
                .session(Loa::Loa4, true),
            Err(NotGranted),
        ),
        (
            "relative of another person",
            relative_of(1, &[VisitNotes]).does(Action::Read(VisitNotes)),
            Err(NoRelationship),
        ),
    ]);
}

#[test]
fn rule_3_each_role_can_what_the_table_says() {
    // (role, parts it reads, parts it writes, finds and begins emergency access)
    let table: [(Role, &[Part], &[Part], bool); 6] = [
        (AlarmOperator, &[Overview, Contact, Alarms], &[Alarms], true),
        (
            HomeCareStaff,
            &[Overview, Contact, CarePlan, VisitNotes, Alarms],
            &[VisitNotes, Alarms],
            true,
        ),
        (
            Nurse,
            &[Overview, Contact, CarePlan, VisitNotes, Alarms],
            &[CarePlan, VisitNotes],
            true,
        ),
        (
            UnitManager,
            &[Overview, Contact, CarePlan, VisitNotes, Alarms],
            &[CarePlan],
            true,
        ),
        (SecurityOfficer, &[], &[], false),
        (Administrator, &[], &[], false),
    ];
    for (role, reads, writes, finds) in table {
        let c = || staff_with(&[(0, role)]).owned_by(0);
        let answer = |yes: bool| {
            if yes {
                Ok(CareRelationship)
            } else {
                Err(RoleCannot)
            }
        };
        for part in Part::ALL {
            let name = format!("{role} reads {part:?}");
            check(
                &name,
                &c().does(Action::Read(part)),
                answer(reads.contains(&part)),
            );
            let name = format!("{role} writes {part:?}");
            check(
                &name,
                &c().does(Action::Write(part)),
                answer(writes.contains(&part)),
            );
        }
        check(
            &format!("{role} finds"),
            &c().does(Action::Find),
            answer(finds),
        );
        let begin = c()
            .does(Action::BeginEmergencyAccess)
            .session(Loa::Loa3, true);
        let expected = if finds {
            Ok(EmergencyAccess)
        } else {
            Err(RoleCannot)
        };
        check(&format!("{role} begins emergency access"), &begin, expected);
    }
}

#[test]
fn rule_3_care_link_and_ownership() {
    let nurse = |u: u8| staff_with(&[(u, Nurse)]).does(Action::Read(CarePlan));
    run(vec![
        (
            "own unit's notes",
            nurse(0).owned_by(0),
            Ok(CareRelationship),
        ),
        ("notes of no unit", nurse(0), Ok(CareRelationship)),
        ("other unit's notes", nurse(0).owned_by(1), Err(NoConsent)),
        (
            "unit without care relationship",
            nurse(1),
            Err(NoRelationship),
        ),
        (
            "other unit's notes, consent to the linked unit",
            nurse(0).owned_by(1).facts(|f| f.consents = vec![unit(0)]),
            Ok(Consent),
        ),
        (
            "other unit's notes, consent to an unlinked unit",
            nurse(0).owned_by(1).facts(|f| f.consents = vec![unit(2)]),
            Err(NoConsent),
        ),
        (
            "other unit's notes, consent, but that unit blocked",
            nurse(0).owned_by(1).facts(|f| {
                f.consents = vec![unit(0)];
                f.blocked_units = vec![unit(1)];
            }),
            Err(Blocked),
        ),
        (
            "a block does not hide a unit's notes from itself",
            nurse(0)
                .owned_by(0)
                .facts(|f| f.blocked_units = vec![unit(0)]),
            Ok(CareRelationship),
        ),
        (
            "written by the other linked unit",
            staff_with(&[(0, Nurse), (1, SecurityOfficer)])
                .does(Action::Read(CarePlan))
                .owned_by(1)
                .facts(|f| f.care.push(ActiveCare::Unit(unit(1)))),
            Ok(CareRelationship),
        ),
        (
            "a capable role in an unlinked unit does not count",
            staff_with(&[(0, AlarmOperator), (1, Nurse)]).does(Action::Read(CarePlan)),
            Err(NoRelationship),
        ),
        (
            "direct care links every unit",
            staff_with(&[(0, AlarmOperator), (1, Nurse)])
                .does(Action::Read(CarePlan))
                .owned_by(1)
                .direct_care(),
            Ok(CareRelationship),
        ),
        (
            "direct care without a role",
            staff_with(&[]).direct_care(),
            Err(RoleCannot),
        ),
        (
            "writes the own unit's visit notes",
            staff_with(&[(0, HomeCareStaff)])
                .does(Action::Write(VisitNotes))
                .owned_by(0),
            Ok(CareRelationship),
        ),
        (
            "writes another unit's care plan with consent",
            staff_with(&[(0, Nurse)])
                .does(Action::Write(CarePlan))
                .owned_by(1)
                .facts(|f| f.consents = vec![unit(0)]),
            Ok(Consent),
        ),
    ]);
}

#[test]
fn rule_3_emergency_access() {
    let nurse = |u: u8| staff_with(&[(u, Nurse)]).does(Action::Read(CarePlan));
    run(vec![
        ("in force", nurse(1).emergency(1), Ok(EmergencyAccess)),
        (
            "ended exactly now",
            nurse(1).emergency(0),
            Err(NoRelationship),
        ),
        (
            "ended a second ago",
            nurse(1).emergency(-1),
            Err(NoRelationship),
        ),
        (
            "another staff member's",
            nurse(1).facts(|f| {
                f.emergency.push(EmergencyAccess {
                    staff: staff(1),
                    until: NOW + Duration::hours(1),
                })
            }),
            Err(NoRelationship),
        ),
        (
            "other unit's notes",
            nurse(1).owned_by(2).emergency(60),
            Ok(EmergencyAccess),
        ),
        (
            "linked role, other unit's notes without consent",
            nurse(0).owned_by(2).emergency(60),
            Ok(EmergencyAccess),
        ),
        (
            "linked role, consent: consent, not emergency",
            nurse(0)
                .owned_by(2)
                .emergency(60)
                .facts(|f| f.consents = vec![unit(0)]),
            Ok(Consent),
        ),
        (
            "a block holds in an emergency",
            nurse(1)
                .owned_by(2)
                .emergency(60)
                .facts(|f| f.blocked_units = vec![unit(2)]),
            Err(Blocked),
        ),
        (
            "a role that cannot",
            staff_with(&[(1, SecurityOfficer)]).emergency(60),
            Err(RoleCannot),
        ),
        (
            "emergency role, notes of a linked unit: still emergency",
            staff_with(&[(0, SecurityOfficer), (1, Nurse)])
                .does(Action::Read(CarePlan))
                .owned_by(0)
                .emergency(60),
            Ok(EmergencyAccess),
        ),
        (
            "finds in an emergency",
            nurse(1).does(Action::Find).emergency(60),
            Ok(EmergencyAccess),
        ),
        (
            "finds without",
            nurse(1).does(Action::Find),
            Err(NoRelationship),
        ),
        (
            "finds through care",
            nurse(0).does(Action::Find),
            Ok(CareRelationship),
        ),
        (
            "begins: stepped up at LoA3, no care needed",
            nurse(1)
                .does(Action::BeginEmergencyAccess)
                .session(Loa::Loa3, true),
            Ok(EmergencyAccess),
        ),
        (
            "begins: not stepped up",
            nurse(1)
                .does(Action::BeginEmergencyAccess)
                .session(Loa::Loa4, false),
            Err(StepUpNeeded),
        ),
        (
            "begins: stepped up at LoA2",
            nurse(1)
                .does(Action::BeginEmergencyAccess)
                .session(Loa::Loa2, true),
            Err(StepUpNeeded),
        ),
        (
            "begins: the resource's LoA still applies",
            nurse(1)
                .does(Action::BeginEmergencyAccess)
                .session(Loa::Loa3, true)
                .min_loa(Loa::Loa4),
            Err(LoaTooLow),
        ),
        (
            "begins: an administrator cannot",
            staff_with(&[(0, Administrator)])
                .does(Action::BeginEmergencyAccess)
                .session(Loa::Loa4, true),
            Err(RoleCannot),
        ),
    ]);
}

#[test]
fn rule_3_protected_identity() {
    let protected = |c: Case| c.facts(|f| f.protected_identity = true);
    let contact = || staff_with(&[(0, Nurse)]).does(Action::Read(Contact));
    run(vec![
        (
            "contact through a unit",
            protected(contact()),
            Err(ProtectedIdentity),
        ),
        (
            "contact through direct care",
            protected(contact().direct_care()),
            Ok(CareRelationship),
        ),
        (
            "contact in an emergency",
            protected(
                staff_with(&[(1, Nurse)])
                    .does(Action::Read(Contact))
                    .emergency(60),
            ),
            Err(ProtectedIdentity),
        ),
        (
            "overview through a unit",
            protected(staff_with(&[(0, Nurse)])),
            Ok(CareRelationship),
        ),
        (
            "care plan through a unit",
            protected(staff_with(&[(0, Nurse)]).does(Action::Read(CarePlan))),
            Ok(CareRelationship),
        ),
        (
            "find through a unit",
            protected(contact().does(Action::Find)),
            Ok(CareRelationship),
        ),
        (
            "contact without protection",
            contact(),
            Ok(CareRelationship),
        ),
    ]);
}

#[test]
fn grants_describe_the_decision() {
    let read = staff_with(&[(0, Nurse)])
        .does(Action::Read(CarePlan))
        .owned_by(0);
    let grant = AUTHORIZER
        .authorize(
            &read.principal,
            read.action,
            &read.resource,
            &read.facts,
            NOW,
        )
        .unwrap();
    assert_eq!(grant.account(), &read.principal.account);
    assert_eq!(grant.person(), person(0));
    assert_eq!(grant.action(), Action::Read(CarePlan));
    assert_eq!(grant.part(), Some(CarePlan));
    assert_eq!(grant.owner_unit(), Some(unit(0)));
    assert_eq!(grant.via(), CareRelationship);

    // Find concerns the person: the record's part and owner are ignored.
    let find = staff_with(&[(0, Nurse)])
        .does(Action::Find)
        .owned_by(3)
        .facts(|f| f.blocked_units = vec![unit(3)]);
    let grant = AUTHORIZER
        .authorize(
            &find.principal,
            find.action,
            &find.resource,
            &find.facts,
            NOW,
        )
        .unwrap();
    assert_eq!((grant.part(), grant.owner_unit()), (None, None));
}

#[test]
fn the_policies_validate_against_the_schema() {
    // `Authorizer::new` refuses policies with validation errors or warnings.
    let authorizer = Authorizer::new().unwrap();
    assert_eq!(authorizer.policy_ids().count(), 18);
}
