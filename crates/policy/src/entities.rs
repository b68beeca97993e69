//! The Cedar request for one decision: the principal, a `Record` resource and
//! the `Person` carrying the facts, built fresh for every request (the schema
//! and the policies are parsed once, in [`crate::Authorizer::new`]).
//!
//! Two things are derived here rather than written in Cedar, because Cedar
//! has neither quantifiers nor a clock: the staff member's care link (linked
//! units and linked roles) and the emergency accesses in force at `now`.
//! Everything else goes to Cedar as it came.

use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::str::FromStr;
use time::OffsetDateTime;
use trygg_domain::{
    Account, Action, ActiveCare, Loa, Part, PersonFacts, Principal, Resource, Role, StaffId, UnitId,
};

/// The names the schema declares, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct Vocabulary {
    tenant: EntityTypeName,
    unit: EntityTypeName,
    person: EntityTypeName,
    record: EntityTypeName,
    staff: EntityTypeName,
    citizen: EntityTypeName,
    relative: EntityTypeName,
    admin: EntityTypeName,
    read: EntityUid,
    write: EntityUid,
    find: EntityUid,
    begin_emergency_access: EntityUid,
}

/// Building the request failed (a bug: the inputs are typed).
#[derive(Debug)]
pub(crate) struct BuildError(pub(crate) String);

fn name(s: &str) -> Result<EntityTypeName, BuildError> {
    EntityTypeName::from_str(s).map_err(|e| BuildError(format!("entity type {s}: {e}")))
}

fn uid(ty: &EntityTypeName, id: impl Display) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id.to_string()))
}

fn entity_set(
    ty: &EntityTypeName,
    ids: impl IntoIterator<Item = impl Display>,
) -> RestrictedExpression {
    RestrictedExpression::new_set(
        ids.into_iter()
            .map(|id| RestrictedExpression::new_entity_uid(uid(ty, id))),
    )
}

fn string_set<'a>(items: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(
        items
            .into_iter()
            .map(|s| RestrictedExpression::new_string(s.to_owned())),
    )
}

fn entity(
    uid: EntityUid,
    attrs: impl IntoIterator<Item = (String, RestrictedExpression)>,
    parents: impl IntoIterator<Item = EntityUid>,
) -> Result<Entity, BuildError> {
    Entity::new_with_tags(uid, attrs, parents, []).map_err(|e| BuildError(e.to_string()))
}

/// The name of a part in the policies.
pub(crate) fn part_name(part: Part) -> &'static str {
    match part {
        Part::Overview => "overview",
        Part::Contact => "contact",
        Part::CarePlan => "care_plan",
        Part::VisitNotes => "visit_notes",
    }
}

fn loa_level(loa: Loa) -> i64 {
    match loa {
        Loa::Loa2 => 2,
        Loa::Loa3 => 3,
        Loa::Loa4 => 4,
    }
}

/// The units linked to the person for this staff member: units where they
/// hold a role and the person is in that unit's care; every unit where they
/// hold a role if the person is in their own (direct) care.
pub(crate) fn linked_units(
    staff: StaffId,
    roles: &[(UnitId, Role)],
    facts: &PersonFacts,
) -> BTreeSet<UnitId> {
    let direct = facts.care.contains(&ActiveCare::Staff(staff));
    let care_units: BTreeSet<UnitId> = facts
        .care
        .iter()
        .filter_map(|c| match c {
            ActiveCare::Unit(u) => Some(*u),
            ActiveCare::Staff(_) => None,
        })
        .collect();
    roles
        .iter()
        .map(|(unit, _)| *unit)
        .filter(|unit| direct || care_units.contains(unit))
        .collect()
}

/// The number of request environments (kinds of principal × actions).
pub(crate) const ENVIRONMENTS: usize = 16;

/// The request environment of a request: which kind of principal, which
/// action (an index below [`ENVIRONMENTS`]).
pub(crate) fn environment(account: &Account, action: Action) -> usize {
    let kind = match account {
        Account::Staff { .. } => 0,
        Account::Person { .. } => 1,
        Account::Relative { .. } => 2,
        Account::BootstrapAdmin { .. } => 3,
    };
    let action = match action {
        Action::Read(_) => 0,
        Action::Write(_) => 1,
        Action::Find => 2,
        Action::BeginEmergencyAccess => 3,
    };
    kind * 4 + action
}

impl Vocabulary {
    /// The index of a request environment the schema declares (the same as
    /// [`environment`] gives), if it is one of Trygg's.
    pub(crate) fn environment_of(&self, env: &cedar_policy::RequestEnv) -> Option<usize> {
        let kinds = [&self.staff, &self.citizen, &self.relative, &self.admin];
        let actions = [
            &self.read,
            &self.write,
            &self.find,
            &self.begin_emergency_access,
        ];
        let kind = kinds.iter().position(|k| *k == env.principal())?;
        let action = actions.iter().position(|a| *a == env.action())?;
        (env.resource() == &self.record).then_some(kind * 4 + action)
    }

    pub(crate) fn new() -> Result<Self, BuildError> {
        let action = name("Action")?;
        Ok(Self {
            tenant: name("Tenant")?,
            unit: name("Unit")?,
            person: name("Person")?,
            record: name("Record")?,
            staff: name("Staff")?,
            citizen: name("Citizen")?,
            relative: name("Relative")?,
            admin: name("Admin")?,
            read: uid(&action, "read"),
            write: uid(&action, "write"),
            find: uid(&action, "find"),
            begin_emergency_access: uid(&action, "begin_emergency_access"),
        })
    }

    /// The request and its entities. `resource` must already be normalised
    /// (for Find and BeginEmergencyAccess: overview, no owner). With a schema,
    /// the entities and the request are checked against it (tests do that).
    pub(crate) fn request(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &PersonFacts,
        now: OffsetDateTime,
        schema: Option<&cedar_policy::Schema>,
    ) -> Result<(Request, Entities), BuildError> {
        // The person and the facts about them.
        let mut grants: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
        for (relative, parts) in &facts.relative_grants {
            grants
                .entry(relative.to_string())
                .or_default()
                .extend(parts.iter().map(|p| part_name(*p)));
        }
        let person_uid = uid(&self.person, facts.person);
        let care_staff = facts.care.iter().filter_map(|c| match c {
            ActiveCare::Staff(s) => Some(*s),
            ActiveCare::Unit(_) => None,
        });
        let emergency_staff = facts
            .emergency
            .iter()
            .filter(|e| e.until > now)
            .map(|e| e.staff);
        let person = Entity::new_with_tags(
            person_uid.clone(),
            [
                (
                    "tenant".to_owned(),
                    RestrictedExpression::new_entity_uid(uid(&self.tenant, facts.tenant)),
                ),
                (
                    "protected_identity".to_owned(),
                    RestrictedExpression::new_bool(facts.protected_identity),
                ),
                ("care_staff".to_owned(), entity_set(&self.staff, care_staff)),
                (
                    "consents".to_owned(),
                    entity_set(&self.unit, facts.consents.iter()),
                ),
                (
                    "blocked_units".to_owned(),
                    entity_set(&self.unit, facts.blocked_units.iter()),
                ),
                (
                    "emergency_staff".to_owned(),
                    entity_set(&self.staff, emergency_staff),
                ),
            ],
            [],
            grants
                .into_iter()
                .map(|(relative, parts)| (relative, string_set(parts))),
        )
        .map_err(|e| BuildError(e.to_string()))?;

        // The record.
        let record_uid = uid(&self.record, "requested");
        let mut attrs = vec![
            (
                "person".to_owned(),
                RestrictedExpression::new_entity_uid(uid(&self.person, resource.person)),
            ),
            (
                "part".to_owned(),
                RestrictedExpression::new_string(part_name(resource.part).to_owned()),
            ),
            (
                "min_loa".to_owned(),
                RestrictedExpression::new_long(loa_level(resource.min_loa)),
            ),
        ];
        if let Some(owner) = resource.owner_unit {
            attrs.push((
                "owner_unit".to_owned(),
                RestrictedExpression::new_entity_uid(uid(&self.unit, owner)),
            ));
        }
        let record = entity(record_uid.clone(), attrs, [])?;

        // The principal.
        let principal_entity = match &principal.account {
            Account::Staff { tenant, staff } => {
                let linked = linked_units(*staff, &principal.roles, facts);
                let roles = principal.roles.iter().map(|(_, r)| r.as_str());
                let linked_roles = principal
                    .roles
                    .iter()
                    .filter(|(u, _)| linked.contains(u))
                    .map(|(_, r)| r.as_str());
                entity(
                    uid(&self.staff, staff),
                    [
                        ("roles".to_owned(), string_set(roles)),
                        ("linked_units".to_owned(), entity_set(&self.unit, &linked)),
                        ("linked_roles".to_owned(), string_set(linked_roles)),
                    ],
                    [uid(&self.tenant, tenant)],
                )
            }
            Account::Person { tenant, person } => entity(
                uid(&self.citizen, person),
                [(
                    "person".to_owned(),
                    RestrictedExpression::new_entity_uid(uid(&self.person, person)),
                )],
                [uid(&self.tenant, tenant)],
            ),
            Account::Relative {
                tenant,
                relative,
                person,
            } => entity(
                uid(&self.relative, relative),
                [
                    (
                        "person".to_owned(),
                        RestrictedExpression::new_entity_uid(uid(&self.person, person)),
                    ),
                    (
                        "relative_id".to_owned(),
                        RestrictedExpression::new_string(relative.to_string()),
                    ),
                ],
                [uid(&self.tenant, tenant)],
            ),
            Account::BootstrapAdmin { name } => entity(uid(&self.admin, name), [], []),
        }?;
        let principal_uid = principal_entity.uid();

        let context = Context::from_pairs([
            (
                "loa".to_owned(),
                RestrictedExpression::new_long(loa_level(principal.loa)),
            ),
            (
                "stepped_up".to_owned(),
                RestrictedExpression::new_bool(principal.stepped_up),
            ),
            (
                "subject".to_owned(),
                RestrictedExpression::new_entity_uid(person_uid),
            ),
        ])
        .map_err(|e| BuildError(e.to_string()))?;
        let action_uid = match action {
            Action::Read(_) => &self.read,
            Action::Write(_) => &self.write,
            Action::Find => &self.find,
            Action::BeginEmergencyAccess => &self.begin_emergency_access,
        };
        let request = Request::new(
            principal_uid,
            action_uid.clone(),
            record_uid,
            context,
            schema,
        )
        .map_err(|e| BuildError(e.to_string()))?;
        let entities = Entities::from_entities([person, record, principal_entity], schema)
            .map_err(|e| BuildError(e.to_string()))?;
        Ok((request, entities))
    }
}
