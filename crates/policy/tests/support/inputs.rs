//! Inputs for the tests: small pools of ids, so that relationships collide,
//! and a proptest strategy over every kind of principal, action, resource and
//! set of facts. Shared by the unit tests, the integration tests and the
//! benchmark (included with `#[path]`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)] // test support

use proptest::prelude::*;
use std::str::FromStr;
use time::{Duration, OffsetDateTime, macros::datetime};
use trygg_domain::{
    Account, Action, ActiveCare, EmergencyAccess, Loa, Part, PersonFacts, PersonId, Principal,
    RelativeId, Resource, Role, StaffId, TenantId, UnitId,
};

/// The request time of every generated input.
pub const NOW: OffsetDateTime = datetime!(2026-03-02 10:00 UTC);

fn id<T: FromStr>(kind: u8, n: u8) -> T
where
    T::Err: std::fmt::Debug,
{
    T::from_str(&format!(
        "01900000-0000-7000-8000-0000{kind:02x}0000{n:02x}"
    ))
    .unwrap()
}

/// Tenant number `n`.
pub fn tenant(n: u8) -> TenantId {
    id(1, n)
}
/// Unit number `n`.
pub fn unit(n: u8) -> UnitId {
    id(2, n)
}
/// Staff member number `n`.
pub fn staff(n: u8) -> StaffId {
    id(3, n)
}
/// Person number `n`.
pub fn person(n: u8) -> PersonId {
    id(4, n)
}
/// Relative number `n`.
pub fn relative(n: u8) -> RelativeId {
    id(5, n)
}

/// One decision's input.
#[derive(Debug, Clone)]
pub struct Input {
    /// Who.
    pub principal: Principal,
    /// What.
    pub action: Action,
    /// On what.
    pub resource: Resource,
    /// About whom.
    pub facts: PersonFacts,
    /// When.
    pub now: OffsetDateTime,
}

fn part() -> impl Strategy<Value = Part> {
    prop::sample::select(Part::ALL.to_vec())
}

/// Sessions are mostly LoA3 or higher, records mostly need LoA2.
fn loa(weights: [u32; 3]) -> impl Strategy<Value = Loa> {
    let [two, three, four] = weights;
    prop_oneof![two => Just(Loa::Loa2), three => Just(Loa::Loa3), four => Just(Loa::Loa4)]
}

fn a_unit() -> impl Strategy<Value = UnitId> {
    (0..4u8).prop_map(unit)
}

fn account() -> impl Strategy<Value = Account> {
    prop_oneof![
        10 => (0..2u8, 0..3u8).prop_map(|(t, s)| Account::Staff { tenant: tenant(t), staff: staff(s) }),
        3 => (0..2u8, 0..2u8).prop_map(|(t, p)| Account::Person { tenant: tenant(t), person: person(p) }),
        4 => (0..2u8, 0..2u8, 0..2u8).prop_map(|(t, r, p)| Account::Relative {
            tenant: tenant(t),
            relative: relative(r),
            person: person(p),
        }),
        1 => Just(Account::BootstrapAdmin { name: "admin".to_owned() }),
    ]
}

fn principal() -> impl Strategy<Value = Principal> {
    (
        account(),
        prop::collection::vec((a_unit(), prop::sample::select(Role::ALL.to_vec())), 0..=4),
        loa([1, 3, 2]),
        any::<bool>(),
    )
        .prop_map(|(account, roles, loa, stepped_up)| Principal {
            account,
            roles,
            loa,
            stepped_up,
        })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => part().prop_map(Action::Read),
        3 => part().prop_map(Action::Write),
        1 => Just(Action::Find),
        1 => Just(Action::BeginEmergencyAccess),
    ]
}

fn resource() -> impl Strategy<Value = Resource> {
    (0..2u8, part(), prop::option::of(a_unit()), loa([3, 2, 1])).prop_map(
        |(p, part, owner_unit, min_loa)| Resource {
            person: person(p),
            part,
            owner_unit,
            min_loa,
        },
    )
}

fn care() -> impl Strategy<Value = ActiveCare> {
    prop_oneof![
        (0..3u8).prop_map(|s| ActiveCare::Staff(staff(s))),
        a_unit().prop_map(ActiveCare::Unit),
    ]
}

fn emergency() -> impl Strategy<Value = EmergencyAccess> {
    // Ends a second before, exactly at, or a second after the request time.
    (0..3u8, -1i64..=1).prop_map(|(s, k)| EmergencyAccess {
        staff: staff(s),
        until: NOW + Duration::seconds(k),
    })
}

fn facts() -> impl Strategy<Value = PersonFacts> {
    (
        (0..2u8, 0..2u8, prop::bool::weighted(0.3)),
        prop::collection::vec(care(), 0..4),
        prop::collection::vec(a_unit(), 0..4),
        prop::collection::vec(a_unit(), 0..3),
        prop::collection::vec(emergency(), 0..3),
        prop::collection::vec(
            (
                (0..2u8).prop_map(relative),
                prop::collection::vec(part(), 0..4),
            ),
            0..4,
        ),
    )
        .prop_map(
            |((p, t, protected_identity), care, consents, blocked_units, emergency, grants)| {
                PersonFacts {
                    person: person(p),
                    tenant: tenant(t),
                    protected_identity,
                    care,
                    consents,
                    blocked_units,
                    emergency,
                    relative_grants: grants,
                }
            },
        )
}

/// Random inputs. Most describe the resource's person in the
/// principal's tenant, so that most inputs get past rule 0.
pub fn input() -> impl Strategy<Value = Input> {
    (
        principal(),
        action(),
        resource(),
        facts(),
        prop::bool::weighted(0.85),
    )
        .prop_map(|(principal, action, resource, mut facts, align)| {
            if align {
                facts.person = resource.person;
                if let Some(t) = principal.account.tenant() {
                    facts.tenant = t;
                }
            }
            Input {
                principal,
                action,
                resource,
                facts,
                now: NOW,
            }
        })
}
