//! The benchmarks' shared scenario: a nurse reads a care plan written by
//! their own unit (allowed through the care relationship), with `n` facts in
//! all, and the three engines that decide it. Used by `decision.rs`
//! (criterion medians) and `latency.rs` (p50/p99 of single decisions).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

/// The allocator of the `trygg` binary, so that decisions are timed as the
/// server makes them (allocation is about a sixth of a Cedar decision).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../tests/support/inputs.rs"]
pub mod inputs;
#[path = "../../tests/support/rego.rs"]
pub mod rego;

use inputs::{NOW, person, staff, tenant, unit};
use time::Duration;
use trygg_domain::{
    Account, Action, ActiveCare, EmergencyAccess, Loa, Part, PersonFacts, Principal, Resource, Role,
};
use trygg_policy::{Authorizer, Via, reference};

/// The numbers of facts measured.
pub const SIZES: [u8; 3] = [5, 20, 50];

/// One decision's input.
#[derive(Debug)]
pub struct Scenario {
    /// The nurse.
    pub principal: Principal,
    /// Read the care plan.
    pub action: Action,
    /// The care plan, written by the nurse's unit.
    pub resource: Resource,
    /// The facts about the person.
    pub facts: PersonFacts,
}

/// A nurse reading a care plan written by their own unit, with `n` facts in
/// all: roles, care relationships, consents, blocked units and emergency
/// accesses.
pub fn scenario(n: u8) -> Scenario {
    let roles = (n / 5).max(1);
    let care = (2 * n / 5).max(1);
    let consents = n / 5;
    let blocked = n / 10;
    let emergency = n - roles - care - consents - blocked;
    let cycle = [Role::AlarmOperator, Role::HomeCareStaff, Role::UnitManager];
    let principal = Principal {
        account: Account::Staff {
            tenant: tenant(0),
            staff: staff(0),
        },
        // The nurse role in unit 0 comes last, other roles in units 1.. first.
        roles: (1..roles)
            .map(|i| (unit(i), cycle[usize::from(i) % cycle.len()]))
            .chain([(unit(0), Role::Nurse)])
            .collect(),
        loa: Loa::Loa3,
        stepped_up: false,
    };
    let facts = PersonFacts {
        person: person(0),
        tenant: tenant(0),
        protected_identity: false,
        // Units 100.. (not the nurse's), unit 0 last.
        care: (1..care)
            .map(|i| ActiveCare::Unit(unit(100 + i)))
            .chain([ActiveCare::Unit(unit(0))])
            .collect(),
        consents: (0..consents).map(|i| unit(150 + i)).collect(),
        blocked_units: (0..blocked).map(|i| unit(200 + i)).collect(),
        emergency: (0..emergency)
            .map(|i| EmergencyAccess {
                staff: staff(10 + i),
                until: NOW + Duration::hours(1),
            })
            .collect(),
        relative_grants: vec![],
    };
    let resource = Resource {
        person: person(0),
        part: Part::CarePlan,
        owner_unit: Some(unit(0)),
        min_loa: Loa::Loa2,
    };
    Scenario {
        principal,
        action: Action::Read(Part::CarePlan),
        resource,
        facts,
    }
}

/// The engines compared, each built once.
pub struct Engines {
    /// The decision path.
    pub cedar: Authorizer,
    /// The same rules in Rego, compiled once.
    pub rego: rego::Rego,
}

impl Engines {
    /// Builds the engines.
    pub fn new() -> Self {
        Self {
            cedar: Authorizer::new().unwrap(),
            rego: rego::Rego::new(),
        }
    }

    /// Cedar's decision (entities built per request).
    pub fn cedar(&self, s: &Scenario) -> Option<Via> {
        self.cedar
            .authorize(&s.principal, s.action, &s.resource, &s.facts, NOW)
            .ok()
            .map(|g| g.via())
    }

    /// regorus's decision (input built per request).
    pub fn rego(&self, s: &Scenario) -> Option<Via> {
        self.rego
            .decide(&s.principal, s.action, &s.resource, &s.facts, NOW)
    }

    /// The reference model's decision.
    pub fn reference(&self, s: &Scenario) -> Option<Via> {
        reference::decide(&s.principal, s.action, &s.resource, &s.facts, NOW)
    }

    /// Panics unless every engine allows `s` through the care relationship:
    /// the engines are timed on the same, allowed decision.
    pub fn check(&self, s: &Scenario) {
        let expected = Some(Via::CareRelationship);
        assert_eq!(self.cedar(s), expected, "cedar");
        assert_eq!(self.rego(s), expected, "regorus");
        assert_eq!(self.reference(s), expected, "reference");
    }
}
