//! The Cedar request for one decision: the principal, a `Record` resource and
//! the `Person` carrying the facts, built fresh for every request (the schema
//! and the policies are parsed once, in [`crate::Authorizer::new`]).
//!
//! Two things are derived here rather than written in Cedar, because Cedar
//! has neither quantifiers nor a clock: the staff member's care link (linked
//! units and linked roles) and the emergency accesses in force at `now`.
//! Everything else goes to Cedar as it came, except that of the person's
//! sets and grants only the members a policy can read for this request are
//! sent (see [`Vocabulary::request`]).

use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression,
};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use time::OffsetDateTime;
use trygg_domain::{
    Account, Action, ActiveCare, Loa, Part, PersonFacts, PersonId, Principal, RelativeId, Resource,
    Role, StaffId, TenantId, UnitId,
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
    /// The requested record (the one `Record` of every request).
    requested: EntityUid,
}

/// Building the request failed (a bug: the inputs are typed).
#[derive(Debug)]
pub(crate) struct BuildError(pub(crate) String);

fn name(s: &str) -> Result<EntityTypeName, BuildError> {
    EntityTypeName::from_str(s).map_err(|e| BuildError(format!("entity type {s}: {e}")))
}

/// An id that names a Cedar entity: a UUID.
trait CedarId: Copy {
    fn bits(self) -> u128;
}

macro_rules! cedar_id {
    ($($t:ty),*) => {$(
        impl CedarId for $t {
            fn bits(self) -> u128 {
                self.as_uuid().as_u128()
            }
        }
    )*};
}
cedar_id!(TenantId, UnitId, StaffId, PersonId, RelativeId);

/// The length of a [`ShortId`]: 128 bits in 6-bit characters.
const SHORT_ID_LEN: usize = 22;

/// A UUID's 128 bits in 22 URL-safe base64 characters (no padding): the
/// entity ids (and relative ids) of the request. Cedar stores ids of up to 23
/// bytes inline, so a short id costs no allocation, and it hashes and compares
/// faster than the 36-character text form. Only the request's entities carry them.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct ShortId([u8; SHORT_ID_LEN]);

impl ShortId {
    fn new(id: impl CedarId) -> Self {
        let bits = id.bits();
        let mut text = [0u8; SHORT_ID_LEN];
        for (i, c) in (0u32..).zip(text.iter_mut()) {
            // Character i holds bits 6i..6i+6, counted from the least
            // significant; the last one holds the top 2 bits.
            let sextet = ((bits >> (6 * i)) & 0x3f) as u8;
            *c = match sextet {
                0..=25 => b'A' + sextet,
                26..=51 => b'a' + (sextet - 26),
                52..=61 => b'0' + (sextet - 52),
                62 => b'-',
                _ => b'_',
            };
        }
        Self(text)
    }

    fn as_str(&self) -> &str {
        // Every byte is an ASCII letter, digit, '-' or '_'.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The uid of the entity of type `ty` named by `id`.
fn uid(ty: &EntityTypeName, id: impl CedarId) -> EntityUid {
    named(ty, ShortId::new(id).as_str())
}

/// The uid of the entity of type `ty` with the id `name` as it is.
fn named(ty: &EntityTypeName, name: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(name))
}

fn entity_set<T: CedarId>(
    ty: &EntityTypeName,
    ids: impl IntoIterator<Item = T>,
) -> RestrictedExpression {
    RestrictedExpression::new_set(
        ids.into_iter()
            .map(|id| RestrictedExpression::new_entity_uid(uid(ty, id))),
    )
}

/// A set of strings, each once.
fn string_set<'a>(items: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    let items: BTreeSet<&str> = items.into_iter().collect();
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
        Part::Alarms => "alarms",
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
    // A staff member has a few roles and a person a few care relationships:
    // scanning them costs less than building a set of the care units.
    let direct = facts.care.contains(&ActiveCare::Staff(staff));
    roles
        .iter()
        .map(|(unit, _)| *unit)
        .filter(|unit| direct || facts.care.contains(&ActiveCare::Unit(*unit)))
        .collect()
}

/// Which of the person's facts go to Cedar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Only those a policy can read for the request (the decision path).
    #[default]
    Relevant,
    /// All of them, as they came (tests compare the two).
    #[cfg(test)]
    All,
}

/// How a request is built: by default as on the decision path; tests may
/// check it against the schema or send all the facts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Build<'a> {
    /// Check the entities and the request against this schema.
    pub(crate) schema: Option<&'a cedar_policy::Schema>,
    /// Which of the person's facts go to Cedar.
    pub(crate) sent: Sent,
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
        let record = name("Record")?;
        Ok(Self {
            tenant: name("Tenant")?,
            unit: name("Unit")?,
            person: name("Person")?,
            staff: name("Staff")?,
            citizen: name("Citizen")?,
            relative: name("Relative")?,
            admin: name("Admin")?,
            read: named(&action, "read"),
            write: named(&action, "write"),
            find: named(&action, "find"),
            begin_emergency_access: named(&action, "begin_emergency_access"),
            requested: named(&record, "requested"),
            record,
        })
    }

    /// The request and its entities. `resource` must already be normalised
    /// (for Find and BeginEmergencyAccess: overview, no owner). With a schema
    /// in `build`, the entities and the request are checked against it (tests
    /// do that).
    ///
    /// Of the person's facts, only those a policy can read for this request
    /// are sent ([`Sent::Relevant`]); the decision is the same as with all of
    /// them. Every policy reads the person's sets and grants in one of six
    /// forms only (`tests::the_policies_read_the_persons_sets_only_as_filtered`
    /// checks the policy text), each of which depends only on the members
    /// kept:
    ///
    /// | the policies read | depends only on | sent |
    /// |---|---|---|
    /// | `resource.person.care_staff.contains(principal)` | principal ∈ care_staff | care_staff ∩ {principal} |
    /// | `resource.person.emergency_staff.contains(principal)` | principal ∈ emergency_staff | emergency_staff ∩ {principal} |
    /// | `resource.person.blocked_units.contains(resource.owner_unit)` | owner ∈ blocked_units | blocked_units ∩ {owner} |
    /// | `principal.linked_units.containsAny(resource.person.consents)` | linked_units ∩ consents ≠ ∅ | consents ∩ linked_units |
    /// | `resource.person.hasTag(principal.relative_id)`, `.getTag(…)` | the principal's own tag | the principal's own tag |
    ///
    /// The principal, the owner unit and the linked units are those of this
    /// very request (the same values go into the principal and the record),
    /// so each form evaluates as it would on all the facts. The sets keep
    /// their types, so no read can fail that would not fail anyway. The
    /// person's other attributes go as they came.
    /// `tests::only_the_relevant_facts_decide` compares the two on random
    /// inputs.
    pub(crate) fn request(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &PersonFacts,
        now: OffsetDateTime,
        build: Build<'_>,
    ) -> Result<(Request, Entities), BuildError> {
        let Build { schema, sent } = build;
        let linked = match &principal.account {
            Account::Staff { staff, .. } => linked_units(*staff, &principal.roles, facts),
            Account::Person { .. } | Account::Relative { .. } | Account::BootstrapAdmin { .. } => {
                BTreeSet::new()
            }
        };
        let person = self.person_entity(principal, resource, &linked, facts, now, sent)?;
        let record = self.record_entity(resource)?;
        let principal_entity = self.principal_entity(principal, &linked)?;
        let context = self.context(principal, facts)?;
        let action_uid = match action {
            Action::Read(_) => &self.read,
            Action::Write(_) => &self.write,
            Action::Find => &self.find,
            Action::BeginEmergencyAccess => &self.begin_emergency_access,
        };
        let request = Request::new(
            principal_entity.uid(),
            action_uid.clone(),
            self.requested.clone(),
            context,
            schema,
        )
        .map_err(|e| BuildError(e.to_string()))?;
        // `add_entities` to an empty set computes the transitive closure more
        // cheaply than `Entities::from_entities`. With a schema (tests) it
        // checks each entity the same way. Unlike `from_entities`, it does not
        // add the schema's action entities. The schema has no action groups,
        // so no `action in ...` needs them.
        let entities = Entities::empty()
            .add_entities([person, record, principal_entity], schema)
            .map_err(|e| BuildError(e.to_string()))?;
        Ok((request, entities))
    }

    /// The person and the facts about them: with [`Sent::Relevant`], only
    /// the members of their sets and grants that the policies can read for
    /// this request (see [`Self::request`]).
    fn person_entity(
        &self,
        principal: &Principal,
        resource: &Resource,
        linked: &BTreeSet<UnitId>,
        facts: &PersonFacts,
        now: OffsetDateTime,
        sent: Sent,
    ) -> Result<Entity, BuildError> {
        let all = match sent {
            Sent::Relevant => false,
            #[cfg(test)]
            Sent::All => true,
        };
        let (staff, relative) = match &principal.account {
            Account::Staff { staff, .. } => (Some(*staff), None),
            Account::Relative { relative, .. } => (None, Some(*relative)),
            Account::Person { .. } | Account::BootstrapAdmin { .. } => (None, None),
        };
        let mut grants: BTreeMap<ShortId, BTreeSet<&'static str>> = BTreeMap::new();
        for (r, parts) in &facts.relative_grants {
            if all || Some(*r) == relative {
                grants
                    .entry(ShortId::new(*r))
                    .or_default()
                    .extend(parts.iter().map(|p| part_name(*p)));
            }
        }
        let care_staff = facts
            .care
            .iter()
            .filter_map(|c| match c {
                ActiveCare::Staff(s) => Some(*s),
                ActiveCare::Unit(_) => None,
            })
            .filter(|s| all || Some(*s) == staff);
        let emergency_staff = facts
            .emergency
            .iter()
            .filter(|e| e.until > now && (all || Some(e.staff) == staff))
            .map(|e| e.staff);
        let consents = facts
            .consents
            .iter()
            .copied()
            .filter(|u| all || linked.contains(u));
        let blocked_units = facts
            .blocked_units
            .iter()
            .copied()
            .filter(|u| all || Some(*u) == resource.owner_unit);
        Entity::new_with_tags(
            uid(&self.person, facts.person),
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
                ("consents".to_owned(), entity_set(&self.unit, consents)),
                (
                    "blocked_units".to_owned(),
                    entity_set(&self.unit, blocked_units),
                ),
                (
                    "emergency_staff".to_owned(),
                    entity_set(&self.staff, emergency_staff),
                ),
            ],
            [],
            grants
                .into_iter()
                .map(|(relative, parts)| (relative.as_str().to_owned(), string_set(parts))),
        )
        .map_err(|e| BuildError(e.to_string()))
    }

    /// The requested record.
    fn record_entity(&self, resource: &Resource) -> Result<Entity, BuildError> {
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
        entity(self.requested.clone(), attrs, [])
    }

    /// The principal, with the care link (`linked`: see [`linked_units`])
    /// for staff.
    fn principal_entity(
        &self,
        principal: &Principal,
        linked: &BTreeSet<UnitId>,
    ) -> Result<Entity, BuildError> {
        match &principal.account {
            Account::Staff { tenant, staff } => {
                let roles = principal.roles.iter().map(|(_, r)| r.as_str());
                let linked_roles = principal
                    .roles
                    .iter()
                    .filter(|(u, _)| linked.contains(u))
                    .map(|(_, r)| r.as_str());
                entity(
                    uid(&self.staff, *staff),
                    [
                        ("roles".to_owned(), string_set(roles)),
                        (
                            "linked_units".to_owned(),
                            entity_set(&self.unit, linked.iter().copied()),
                        ),
                        ("linked_roles".to_owned(), string_set(linked_roles)),
                    ],
                    [uid(&self.tenant, *tenant)],
                )
            }
            Account::Person { tenant, person } => entity(
                uid(&self.citizen, *person),
                [(
                    "person".to_owned(),
                    RestrictedExpression::new_entity_uid(uid(&self.person, *person)),
                )],
                [uid(&self.tenant, *tenant)],
            ),
            Account::Relative {
                tenant,
                relative,
                person,
            } => entity(
                uid(&self.relative, *relative),
                [
                    (
                        "person".to_owned(),
                        RestrictedExpression::new_entity_uid(uid(&self.person, *person)),
                    ),
                    (
                        "relative_id".to_owned(),
                        RestrictedExpression::new_string(
                            ShortId::new(*relative).as_str().to_owned(),
                        ),
                    ),
                ],
                [uid(&self.tenant, *tenant)],
            ),
            Account::BootstrapAdmin { name } => entity(named(&self.admin, name), [], []),
        }
    }

    /// The session, and the person the facts describe.
    fn context(&self, principal: &Principal, facts: &PersonFacts) -> Result<Context, BuildError> {
        Context::from_pairs([
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
                RestrictedExpression::new_entity_uid(uid(&self.person, facts.person)),
            ),
        ])
        .map_err(|e| BuildError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(bits: u128) -> UnitId {
        UnitId::from_str(&format!("{bits:032x}")).unwrap()
    }

    /// The bits back from a short id.
    fn decode(id: &str) -> u128 {
        id.bytes().rev().fold(0u128, |bits, c| {
            let sextet = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'-' => 62,
                b'_' => 63,
                _ => panic!("{c}"),
            };
            (bits << 6) | u128::from(sextet)
        })
    }

    /// Every node of `json`, depth first.
    fn nodes(json: &serde_json::Value) -> Vec<&serde_json::Value> {
        let children: Vec<&serde_json::Value> = match json {
            serde_json::Value::Array(items) => items.iter().collect(),
            serde_json::Value::Object(fields) => fields.values().collect(),
            _ => vec![],
        };
        std::iter::once(json)
            .chain(children.into_iter().flat_map(nodes))
            .collect()
    }

    /// The forms in which the policies may read the person's sets and
    /// grants: those whose value the filter of [`Vocabulary::request`]
    /// keeps.
    fn kept_forms() -> [serde_json::Value; 6] {
        use serde_json::{Value, json};
        let attr = |left: &Value, attr: &str| json!({ ".": { "left": left, "attr": attr } });
        let call =
            |op: &str, left: &Value, right: &Value| json!({ op: { "left": left, "right": right } });
        let principal = json!({ "Var": "principal" });
        let resource = json!({ "Var": "resource" });
        let person = attr(&resource, "person");
        let relative_id = attr(&principal, "relative_id");
        [
            call("contains", &attr(&person, "care_staff"), &principal),
            call("contains", &attr(&person, "emergency_staff"), &principal),
            call(
                "contains",
                &attr(&person, "blocked_units"),
                &attr(&resource, "owner_unit"),
            ),
            call(
                "containsAny",
                &attr(&principal, "linked_units"),
                &attr(&person, "consents"),
            ),
            call("hasTag", &person, &relative_id),
            call("getTag", &person, &relative_id),
        ]
    }

    /// The policies of `files` that read `care_staff`, `emergency_staff`,
    /// `blocked_units` or `consents` (by `.` or `has`), or a tag (`hasTag`,
    /// `getTag`), other than in one of the [`kept_forms`]; and how often each
    /// kept form occurs.
    fn reads_outside_the_kept_forms(files: &[(&'static str, &str)]) -> (Vec<String>, [usize; 6]) {
        use serde_json::Value;
        let forms = kept_forms();
        let filtered = ["care_staff", "emergency_staff", "blocked_units", "consents"];
        let is_read = |node: &Value| {
            // `has` may name a path of attributes.
            let read = |op: &str| match node.get(op).and_then(|n| n.get("attr")) {
                Some(Value::String(a)) => filtered.contains(&a.as_str()),
                Some(Value::Array(path)) => path
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| filtered.contains(&a))),
                _ => false,
            };
            read(".") || read("has") || node.get("hasTag").is_some() || node.get("getTag").is_some()
        };
        let mut outside = vec![];
        let mut seen = [0usize; 6];
        for policy in crate::authorizer::parse_policies(files).unwrap().policies() {
            let json = policy.to_json().unwrap();
            let nodes = nodes(&json);
            let reads = nodes.iter().filter(|n| is_read(n)).count();
            let mut in_forms = 0;
            for node in nodes {
                if let Some(i) = forms.iter().position(|f| f == node) {
                    seen[i] += 1;
                    in_forms += 1;
                }
            }
            if reads != in_forms {
                outside.push(policy.id().to_string());
            }
        }
        (outside, seen)
    }

    /// What filtering the person's sets and grants rests on (see
    /// [`Vocabulary::request`]): the policies read them only in the forms
    /// whose value the filter keeps. A policy that read them otherwise would
    /// fail here before it could decide differently.
    #[test]
    fn the_policies_read_the_persons_sets_only_as_filtered() {
        let (outside, seen) = reads_outside_the_kept_forms(&crate::authorizer::POLICIES);
        assert!(
            outside.is_empty(),
            "read outside the kept forms: {outside:?}"
        );
        // Each form is in the policies (the list describes them).
        assert!(seen.iter().all(|n| *n > 0), "{seen:?}");
    }

    /// The check above catches reads the filter would change.
    #[test]
    fn reads_the_filter_would_change_are_caught() {
        for condition in [
            // Another unit than the owner.
            "resource.person.blocked_units.contains(principal.linked_units)",
            // Another staff member than the principal.
            "resource.person.emergency_staff.contains(context.subject)",
            "resource.person.care_staff.isEmpty()",
            "resource.person.consents.containsAny(principal.linked_units)",
            "resource.person.consents == principal.linked_units",
            "resource.person has consents",
            // The person reached another way.
            "principal.linked_units.containsAny(context.subject.consents)",
            // Another relative's tag.
            r#"resource.person.hasTag("x")"#,
            "context.subject.getTag(principal.relative_id).isEmpty()",
        ] {
            let text = format!(
                "@id(\"mutant\") permit (principal is Staff, action, resource is Record) when {{ {condition} }};"
            );
            let (outside, _) = reads_outside_the_kept_forms(&[("mutant.cedar", &text)]);
            assert_eq!(outside, ["mutant"], "{condition}");
        }
    }

    #[test]
    fn short_ids_are_22_characters_of_url_safe_base64() {
        assert_eq!(ShortId::new(unit(0)).as_str(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(ShortId::new(unit(1)).as_str(), "BAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(
            ShortId::new(unit(1 << 127)).as_str(),
            "AAAAAAAAAAAAAAAAAAAAAC"
        );
        assert_eq!(
            ShortId::new(unit(u128::MAX)).as_str(),
            "_____________________D"
        );
    }

    /// A short id holds all 128 bits, so distinct ids stay distinct.
    #[test]
    fn short_ids_keep_every_bit() {
        let ids = (0..128)
            .map(|bit| 1u128 << bit)
            .chain((0..=255u8).map(|n| crate::inputs::unit(n).as_uuid().as_u128()))
            .chain([0, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210]);
        for bits in ids {
            let short = ShortId::new(unit(bits));
            assert_eq!(short.as_str().len(), SHORT_ID_LEN);
            assert_eq!(decode(short.as_str()), bits, "{bits:032x}");
        }
    }
}
