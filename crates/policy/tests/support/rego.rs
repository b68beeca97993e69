//! The Rego version of the rules (`policies/trygg.rego`) on regorus, for the
//! benchmark and its agreement test. The input is built from the domain
//! types per request, as the Cedar entities are.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support

use serde_json::{Value, json};
use time::OffsetDateTime;
use trygg_domain::{Account, Action, ActiveCare, Loa, Part, PersonFacts, Principal, Resource};
use trygg_policy::Via;

/// The Rego policy.
pub const REGO: &str = include_str!("../../policies/trygg.rego");

fn part(p: Part) -> &'static str {
    match p {
        Part::Overview => "overview",
        Part::Contact => "contact",
        Part::CarePlan => "care_plan",
        Part::VisitNotes => "visit_notes",
        Part::Alarms => "alarms",
    }
}

fn loa(l: Loa) -> i64 {
    match l {
        Loa::Loa2 => 2,
        Loa::Loa3 => 3,
        Loa::Loa4 => 4,
    }
}

fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap()
}

/// The input document.
pub fn input(
    principal: &Principal,
    action: Action,
    resource: &Resource,
    facts: &PersonFacts,
    now: OffsetDateTime,
) -> Value {
    let (kind, tenant, id, person) = match &principal.account {
        Account::Staff { tenant, staff } => ("staff", json!(tenant), json!(staff), Value::Null),
        Account::Person { tenant, person } => {
            ("person", json!(tenant), json!(person), json!(person))
        }
        Account::Relative {
            tenant,
            relative,
            person,
        } => ("relative", json!(tenant), json!(relative), json!(person)),
        Account::BootstrapAdmin { name } => {
            ("bootstrap_admin", Value::Null, json!(name), Value::Null)
        }
    };
    let (action_kind, action_part, owner) = match action {
        Action::Read(p) => ("read", p, resource.owner_unit),
        Action::Write(p) => ("write", p, resource.owner_unit),
        Action::Find => ("find", Part::Overview, None),
        Action::BeginEmergencyAccess => ("begin_emergency_access", Part::Overview, None),
    };
    json!({
        "principal": {
            "kind": kind,
            "tenant": tenant,
            "id": id,
            "person": person,
            "roles": principal.roles.iter()
                .map(|(unit, role)| json!({"unit": unit, "role": role.as_str()}))
                .collect::<Vec<_>>(),
            "loa": loa(principal.loa),
            "stepped_up": principal.stepped_up,
        },
        "action": {"kind": action_kind, "part": part(action_part)},
        "resource": {
            "person": resource.person,
            "part": part(action_part),
            "owner_unit": owner,
            "min_loa": loa(resource.min_loa),
        },
        "facts": {
            "person": facts.person,
            "tenant": facts.tenant,
            "protected_identity": facts.protected_identity,
            "care": facts.care.iter().map(|c| match c {
                ActiveCare::Staff(s) => json!({"staff": s}),
                ActiveCare::Unit(u) => json!({"unit": u}),
            }).collect::<Vec<_>>(),
            "consents": facts.consents,
            "blocked_units": facts.blocked_units,
            "emergency": facts.emergency.iter()
                .map(|e| json!({"staff": e.staff, "until": micros(e.until)}))
                .collect::<Vec<_>>(),
            "relative_grants": facts.relative_grants.iter()
                .map(|(r, parts)| json!({
                    "relative": r,
                    "parts": parts.iter().map(|p| part(*p)).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>(),
        },
        "now": micros(now),
    })
}

/// The Rego policy compiled once for the entry point `data.trygg.via`.
pub struct Rego {
    policy: regorus::CompiledPolicy,
}

impl Rego {
    /// Parses and compiles the policy.
    pub fn new() -> Self {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("trygg.rego".to_owned(), REGO.to_owned())
            .unwrap();
        let policy = engine
            .compile_with_entrypoint(&"data.trygg.via".into())
            .unwrap();
        Self { policy }
    }

    /// The decision: the ground of an allow, `None` on a deny.
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &PersonFacts,
        now: OffsetDateTime,
    ) -> Option<Via> {
        let input = regorus::Value::from(input(principal, action, resource, facts, now));
        let via = self.policy.eval_with_input(input).unwrap();
        if via == regorus::Value::Undefined {
            return None;
        }
        Some(match via.as_string().unwrap().as_ref() {
            "own" => Via::Own,
            "relative_grant" => Via::RelativeGrant,
            "care_relationship" => Via::CareRelationship,
            "consent" => Via::Consent,
            "emergency_access" => Via::EmergencyAccess,
            other => panic!("unknown ground {other}"),
        })
    }
}
