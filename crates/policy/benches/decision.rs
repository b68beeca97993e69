//! Decision latency: Cedar (the decision path: entities built per request,
//! policies cached), the same rules in Rego on regorus (input built per
//! request, policy compiled once), and the plain-Rust reference model, for
//! requests whose facts number 5, 20 and 50 (roles, care relationships,
//! consents, blocked units and emergency accesses).
//!
//! `cargo bench -p trygg-policy -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../tests/support/inputs.rs"]
mod inputs;
#[path = "../tests/support/rego.rs"]
mod rego;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use inputs::{NOW, person, staff, tenant, unit};
use std::hint::black_box;
use time::Duration;
use trygg_domain::{
    Account, Action, ActiveCare, EmergencyAccess, Loa, Part, PersonFacts, Principal, Resource, Role,
};
use trygg_policy::{Authorizer, Via, reference};

/// A nurse reading a care plan written by their own unit (allowed through the
/// care relationship), with `n` facts in all.
fn scenario(n: u8) -> (Principal, Action, Resource, PersonFacts) {
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
    (principal, Action::Read(Part::CarePlan), resource, facts)
}

fn decision(c: &mut Criterion) {
    let authorizer = Authorizer::new().unwrap();
    let rego = rego::Rego::new();
    let mut group = c.benchmark_group("decision");
    for n in [5u8, 20, 50] {
        let (principal, action, resource, facts) = scenario(n);
        let expected = Some(Via::CareRelationship);
        let cedar = authorizer.authorize(&principal, action, &resource, &facts, NOW);
        assert_eq!(cedar.ok().map(|g| g.via()), expected);
        assert_eq!(
            reference::decide(&principal, action, &resource, &facts, NOW),
            expected
        );
        assert_eq!(
            rego.decide(&principal, action, &resource, &facts, NOW),
            expected
        );

        group.bench_with_input(BenchmarkId::new("cedar", n), &n, |b, _| {
            b.iter(|| {
                authorizer.authorize(
                    black_box(&principal),
                    action,
                    black_box(&resource),
                    black_box(&facts),
                    NOW,
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("regorus", n), &n, |b, _| {
            b.iter(|| {
                rego.decide(
                    black_box(&principal),
                    action,
                    black_box(&resource),
                    black_box(&facts),
                    NOW,
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("reference", n), &n, |b, _| {
            b.iter(|| {
                reference::decide(
                    black_box(&principal),
                    action,
                    black_box(&resource),
                    black_box(&facts),
                    NOW,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
