//! The one decision path: Cedar decides, this module turns the answer into a
//! [`Grant`] or a [`Denial`].

use crate::entities::{Build, BuildError, ENVIRONMENTS, Vocabulary, environment, linked_units};
use crate::{Grant, Via, reference};
use cedar_policy::{
    ActionConstraint, Decision, Policy, PolicyId, PolicySet, PrincipalConstraint, RequestEnv,
    ResourceConstraint, Schema, ValidationMode, Validator,
};
use std::fmt;
use time::OffsetDateTime;
use trygg_domain::{Account, Action, Part, PersonFacts, Principal, Resource};

/// The schema the policies are validated against.
pub(crate) const SCHEMA: &str = include_str!("../policies/trygg.cedarschema");

/// The policy files, by name.
pub(crate) const POLICIES: [(&str, &str); 4] = [
    ("common.cedar", include_str!("../policies/common.cedar")),
    ("citizen.cedar", include_str!("../policies/citizen.cedar")),
    ("relative.cedar", include_str!("../policies/relative.cedar")),
    ("staff.cedar", include_str!("../policies/staff.cedar")),
];

/// The policies could not be loaded (a build of Trygg with broken policies
/// must not start).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The schema does not parse.
    #[error("PO001 the Cedar schema does not parse: {0}")]
    Schema(String),
    /// A policy file does not parse.
    #[error("PO002 the Cedar policies in {file} do not parse: {message}")]
    Parse {
        /// Which file.
        file: &'static str,
        /// Cedar's message.
        message: String,
    },
    /// A policy has no `@id("...")`, or two have the same.
    #[error("PO003 policy ids: {0}")]
    Id(String),
    /// The policies do not validate against the schema.
    #[error("PO004 the Cedar policies do not validate against the schema: {0}")]
    Validation(String),
    /// A policy could not be specialised to a request environment.
    #[error("PO005 a Cedar policy could not be specialised to a request environment: {0}")]
    Specialise(String),
}

/// Why access was denied: for the audit log. Users are told only that it was
/// not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// The bootstrap administrator reaches no personal data.
    BootstrapAdmin,
    /// The facts describe another person than the resource's (a caller bug).
    WrongPerson,
    /// The principal belongs to another tenant than the person.
    WrongTenant,
    /// The session's level of assurance is below the resource's.
    LoaTooLow,
    /// The documentation belongs to a unit the person has blocked.
    Blocked,
    /// The person has a protected identity.
    ProtectedIdentity,
    /// Another unit's documentation, without consent or emergency access.
    NoConsent,
    /// No care relationship (staff), or not the principal's own person or
    /// the person they are a relative of.
    NoRelationship,
    /// No role (or kind of account) the principal has may do this at all.
    RoleCannot,
    /// A relative without a grant for this part.
    NotGranted,
    /// Emergency access needs a fresh (stepped-up) LoA3 authentication.
    StepUpNeeded,
    /// The decision could not be evaluated (fail closed; a bug).
    EvaluationError,
    /// A permission change about the principal themselves (their own role,
    /// their own emergency access).
    AboutSelf,
}

/// A denied request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not allowed")]
pub struct Denial {
    /// Why (for the audit log).
    pub reason: DenyReason,
}

impl Denial {
    pub(crate) fn new(reason: DenyReason) -> Self {
        Self { reason }
    }
}

/// Forbid policies and the reason they give, most telling first.
const FORBIDS: [(&str, DenyReason); 8] = [
    ("bootstrap-admin", DenyReason::BootstrapAdmin),
    ("facts-about-another-person", DenyReason::WrongPerson),
    ("other-tenant", DenyReason::WrongTenant),
    ("loa-too-low", DenyReason::LoaTooLow),
    ("staff-blocked-unit", DenyReason::Blocked),
    ("relative-protected-identity", DenyReason::ProtectedIdentity),
    ("staff-protected-contact", DenyReason::ProtectedIdentity),
    ("staff-other-unit-without-consent", DenyReason::NoConsent),
];

/// The ground each permit policy gives; `None`: a care relationship, refined
/// by the ownership rule (care, consent or emergency access).
const PERMITS: [(&str, Option<Via>); 10] = [
    ("citizen-own-data", Some(Via::Own)),
    ("relative-granted-part", Some(Via::RelativeGrant)),
    ("relative-find", Some(Via::RelativeGrant)),
    ("staff-read-care", None),
    ("staff-write-care", None),
    ("staff-find-care", None),
    ("staff-read-emergency", Some(Via::EmergencyAccess)),
    ("staff-write-emergency", Some(Via::EmergencyAccess)),
    ("staff-find-emergency", Some(Via::EmergencyAccess)),
    ("staff-begin-emergency-access", Some(Via::EmergencyAccess)),
];

/// Trygg's access decisions. Built once (parses and validates the policies);
/// cheap to share.
pub struct Authorizer {
    #[cfg(test)]
    schema: Schema,
    policies: PolicySet,
    /// The policies that can apply in each request environment (kind of
    /// principal × action), as the validator sees them, specialised to it:
    /// Cedar evaluates every policy of a set, so each request gets only its
    /// environment's.
    slices: Vec<Slice>,
    cedar: cedar_policy::Authorizer,
    vocabulary: Vocabulary,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("policies", &self.policies.num_of_policies())
            .finish_non_exhaustive()
    }
}

/// Parses `files` (name, text) into one set, each policy under its
/// `@id("...")`; a policy without one, or a repeated id, is refused.
pub(crate) fn parse_policies(files: &[(&'static str, &str)]) -> Result<PolicySet, PolicyError> {
    let mut set = PolicySet::new();
    for &(file, text) in files {
        let parsed: PolicySet =
            text.parse()
                .map_err(|e: cedar_policy::ParseErrors| PolicyError::Parse {
                    file,
                    message: e.to_string(),
                })?;
        for policy in parsed.policies() {
            let id = policy
                .annotation("id")
                .ok_or_else(|| PolicyError::Id(format!("a policy in {file} has no @id")))?;
            set.add(policy.new_id(PolicyId::new(id)))
                .map_err(|e| PolicyError::Id(format!("{id} in {file}: {e}")))?;
        }
    }
    Ok(set)
}

/// Parses `schema` and the policy `files` and validates the policies
/// against the schema (strict mode); any error or warning is refused.
pub(crate) fn validated(
    schema: &str,
    files: &[(&'static str, &str)],
) -> Result<(Schema, PolicySet), PolicyError> {
    let (schema, _warnings) =
        Schema::from_cedarschema_str(schema).map_err(|e| PolicyError::Schema(e.to_string()))?;
    let policies = parse_policies(files)?;
    let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
    if !validation.validation_passed_without_warnings() {
        let messages: Vec<String> = validation
            .validation_errors()
            .map(ToString::to_string)
            .chain(validation.validation_warnings().map(ToString::to_string))
            .collect();
        return Err(PolicyError::Validation(messages.join("; ")));
    }
    Ok((schema, policies))
}

/// The policies of one request environment.
#[derive(Default)]
struct Slice {
    /// The environment; `None` until a policy applies in it.
    env: Option<RequestEnv>,
    /// Its policies, each [`specialised`] to it.
    policies: PolicySet,
}

/// `policy` for the requests of `env` only: the same policy without the scope
/// constraints that every request of `env` meets (`principal is Staff`,
/// `action == Action::"read"`, `action in [...]` naming the action,
/// `resource is Record`), and without source locations. Cedar evaluates the
/// scope of every policy it is given and copies the policy's source location
/// onto each value it computes; within one environment the scope decides
/// nothing, and the locations serve only error messages, which Trygg does not
/// show (an evaluation error denies). Any other constraint (`==` or `in` an
/// entity) depends on the request and is kept. The conditions are unchanged.
fn specialised(policy: &Policy, env: &RequestEnv) -> Result<Policy, PolicyError> {
    let principal = match policy.principal_constraint() {
        PrincipalConstraint::Is(ty) => ty == *env.principal(),
        PrincipalConstraint::Any
        | PrincipalConstraint::In(_)
        | PrincipalConstraint::Eq(_)
        | PrincipalConstraint::IsIn(..) => false,
    };
    let action = match policy.action_constraint() {
        ActionConstraint::Eq(action) => action == *env.action(),
        ActionConstraint::In(actions) => actions.contains(env.action()),
        ActionConstraint::Any => false,
    };
    let resource = match policy.resource_constraint() {
        ResourceConstraint::Is(ty) => ty == *env.resource(),
        ResourceConstraint::Any
        | ResourceConstraint::In(_)
        | ResourceConstraint::Eq(_)
        | ResourceConstraint::IsIn(..) => false,
    };
    let id = policy.id();
    let error = |e: String| PolicyError::Specialise(format!("{id}: {e}"));
    // Through Cedar's JSON form, whose scope is `{"op": "All"}` when
    // unconstrained (and which carries no source locations).
    let mut json = policy.to_json().map_err(|e| error(e.to_string()))?;
    let scope = json
        .as_object_mut()
        .ok_or_else(|| error("not a JSON object".to_owned()))?;
    for (key, met) in [
        ("principal", principal),
        ("action", action),
        ("resource", resource),
    ] {
        if met {
            scope.insert(key.to_owned(), serde_json::json!({ "op": "All" }));
        }
    }
    Policy::from_json(Some(id.clone()), json).map_err(|e| error(e.to_string()))
}

impl Authorizer {
    /// Parses the schema and the policies and validates the policies against
    /// the schema (strict mode); any error or warning is refused.
    pub fn new() -> Result<Self, PolicyError> {
        let (schema, policies) = validated(SCHEMA, &POLICIES)?;
        let vocabulary = Vocabulary::new().map_err(|BuildError(e)| PolicyError::Schema(e))?;
        let mut slices: Vec<Slice> = (0..ENVIRONMENTS).map(|_| Slice::default()).collect();
        for policy in policies.policies() {
            for env in policy.get_valid_request_envs(&schema) {
                let slice = vocabulary
                    .environment_of(&env)
                    .and_then(|i| slices.get_mut(i))
                    .ok_or_else(|| PolicyError::Schema(format!("unexpected request {env:?}")))?;
                slice
                    .policies
                    .add(specialised(policy, &env)?)
                    .map_err(|e| PolicyError::Id(e.to_string()))?;
                slice.env = Some(env);
            }
        }
        Ok(Self {
            #[cfg(test)]
            schema,
            policies,
            slices,
            cedar: cedar_policy::Authorizer::new(),
            vocabulary,
        })
    }

    /// The ids of the loaded policies.
    pub fn policy_ids(&self) -> impl Iterator<Item = &str> {
        self.policies.policies().map(|p| p.id().as_ref())
    }

    /// The one decision path: may `principal` do `action` on `resource`,
    /// given the `facts` about the person, at time `now` (emergency accesses
    /// end at their `until`)? A [`Grant`] is made only when Cedar allows.
    pub fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &PersonFacts,
        now: OffsetDateTime,
    ) -> Result<Grant, Denial> {
        self.decide(principal, action, resource, facts, now, Build::default())
    }

    /// [`Self::authorize`], the request built as `build` says (tests may
    /// check it against the schema, or send Cedar all the facts).
    pub(crate) fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &PersonFacts,
        now: OffsetDateTime,
        build: Build<'_>,
    ) -> Result<Grant, Denial> {
        // Find and BeginEmergencyAccess concern the person, not a record.
        let (part, owner_unit) = match action {
            Action::Read(part) | Action::Write(part) => (Some(part), resource.owner_unit),
            Action::Find | Action::BeginEmergencyAccess => (None, None),
        };
        let record = Resource {
            part: part.unwrap_or(Part::Overview),
            owner_unit,
            ..*resource
        };
        let (request, entities) = self
            .vocabulary
            .request(principal, action, &record, facts, now, build)
            .map_err(|_| Denial::new(DenyReason::EvaluationError))?;
        let slice = self
            .slices
            .get(environment(&principal.account, action))
            .ok_or(Denial::new(DenyReason::EvaluationError))?;
        // The slice's policies are specialised to its environment: the
        // request must be in it.
        if !slice
            .env
            .as_ref()
            .is_some_and(|env| in_environment(&request, env))
        {
            return Err(Denial::new(DenyReason::EvaluationError));
        }
        let response = self
            .cedar
            .is_authorized(&request, &slice.policies, &entities);
        let diagnostics = response.diagnostics();
        let reasons: Vec<&str> = diagnostics.reason().map(AsRef::as_ref).collect();
        let errors = diagnostics.errors().next().is_some();

        if response.decision() == Decision::Allow && !errors {
            let via = via(&reasons, principal, &record, facts)
                .ok_or(Denial::new(DenyReason::EvaluationError))?;
            return Ok(Grant::new(
                principal.account.clone(),
                facts.person,
                action,
                part,
                owner_unit,
                via,
            ));
        }
        Err(Denial::new(deny_reason(
            &reasons, errors, principal, action, facts,
        )))
    }

    /// Checks the request's entities against the schema as well (tests).
    #[cfg(test)]
    pub(crate) fn authorize_checked(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        facts: &PersonFacts,
        now: OffsetDateTime,
    ) -> Result<Grant, Denial> {
        self.decide(
            principal,
            action,
            resource,
            facts,
            now,
            Build {
                schema: Some(&self.schema),
                ..Build::default()
            },
        )
    }
}

/// Whether `request` is in the request environment `env`.
fn in_environment(request: &cedar_policy::Request, env: &RequestEnv) -> bool {
    request.principal().map(cedar_policy::EntityUid::type_name) == Some(env.principal())
        && request.action() == Some(env.action())
        && request.resource().map(cedar_policy::EntityUid::type_name) == Some(env.resource())
}

/// The ground of an allow, from the permits Cedar found satisfied: the
/// strongest of them (own data, a relative's grant, a care relationship, the
/// person's consent, an emergency access), the care relationship refined by
/// the ownership rule.
fn via(
    reasons: &[&str],
    principal: &Principal,
    record: &Resource,
    facts: &PersonFacts,
) -> Option<Via> {
    let grounds: Vec<Option<Via>> = PERMITS
        .iter()
        .filter(|(id, _)| reasons.contains(id))
        .map(|(_, via)| *via)
        .collect();
    let by_care = grounds.contains(&None);
    let fixed = |v: Via| grounds.contains(&Some(v)).then_some(v);
    if let Some(v) = fixed(Via::Own).or_else(|| fixed(Via::RelativeGrant)) {
        return Some(v);
    }
    if by_care && let Account::Staff { staff, .. } = &principal.account {
        let linked = linked_units(*staff, &principal.roles, facts);
        return Some(match record.owner_unit {
            None => Via::CareRelationship,
            Some(w) if linked.contains(&w) => Via::CareRelationship,
            Some(_) if facts.consents.iter().any(|c| linked.contains(c)) => Via::Consent,
            Some(_) => Via::EmergencyAccess,
        });
    }
    fixed(Via::EmergencyAccess)
}

/// The reason for a denial: the first forbid that applied, or else what was
/// missing for a permit (for the audit log only; the decision is Cedar's).
fn deny_reason(
    reasons: &[&str],
    errors: bool,
    principal: &Principal,
    action: Action,
    facts: &PersonFacts,
) -> DenyReason {
    if let Some((_, reason)) = FORBIDS.iter().find(|(id, _)| reasons.contains(id)) {
        return *reason;
    }
    if errors {
        return DenyReason::EvaluationError;
    }
    let any_role_can = principal
        .roles
        .iter()
        .any(|(_, role)| reference::can(*role, action));
    match &principal.account {
        Account::BootstrapAdmin { .. } => DenyReason::BootstrapAdmin,
        Account::Person { person, .. } if *person != facts.person => DenyReason::NoRelationship,
        Account::Person { .. } => DenyReason::RoleCannot,
        Account::Relative { person, .. } if *person != facts.person => DenyReason::NoRelationship,
        Account::Relative { .. } => DenyReason::NotGranted,
        Account::Staff { .. } if !any_role_can => DenyReason::RoleCannot,
        Account::Staff { .. } if action == Action::BeginEmergencyAccess => DenyReason::StepUpNeeded,
        Account::Staff { .. } => DenyReason::NoRelationship,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::Sent;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// The entities and requests built for random inputs conform to the
    /// schema, and checking them changes no decision.
    #[test]
    fn requests_conform_to_the_schema() {
        let authorizer = Authorizer::new().unwrap();
        let config = Config {
            failure_persistence: None,
            ..Config::with_cases(2_000)
        };
        let mut runner = TestRunner::new(config);
        runner
            .run(&crate::inputs::input(), |i| {
                let checked = authorizer.authorize_checked(
                    &i.principal,
                    i.action,
                    &i.resource,
                    &i.facts,
                    i.now,
                );
                let unchecked =
                    authorizer.authorize(&i.principal, i.action, &i.resource, &i.facts, i.now);
                prop_assert_ne!(
                    checked.as_ref().err().map(|d| d.reason),
                    Some(DenyReason::EvaluationError)
                );
                prop_assert_eq!(checked, unchecked);
                Ok(())
            })
            .unwrap();
    }

    /// Cedar's whole answer: the decision, the satisfied policies, the
    /// policies in error.
    fn answer(response: &cedar_policy::Response) -> (Decision, Vec<String>, Vec<String>) {
        let diagnostics = response.diagnostics();
        let ids = |ids: Vec<&PolicyId>| -> Vec<String> {
            let mut ids: Vec<String> = ids.into_iter().map(ToString::to_string).collect();
            ids.sort_unstable();
            ids
        };
        (
            response.decision(),
            ids(diagnostics.reason().collect()),
            ids(diagnostics
                .errors()
                .map(|e| match e {
                    cedar_policy::AuthorizationError::PolicyEvaluationError(e) => e.policy_id(),
                })
                .collect()),
        )
    }

    /// Sending Cedar only the facts a policy can read for the request
    /// decides as sending all of them (see `Vocabulary::request`): for random
    /// inputs, Cedar gives the same answer (decision, satisfied policies,
    /// policies in error), with the request's slice and with the whole policy
    /// set, and `authorize` the same grant or denial. The inputs' resources
    /// are passed both as they are and normalised as `authorize` does.
    #[test]
    fn only_the_relevant_facts_decide() {
        let authorizer = Authorizer::new().unwrap();
        let config = Config {
            failure_persistence: None,
            ..Config::with_cases(10_000)
        };
        let filtered = std::cell::Cell::new(0usize);
        let mut runner = TestRunner::new(config);
        runner
            .run(&crate::inputs::input(), |i| {
                let build = |sent| {
                    authorizer
                        .vocabulary
                        .request(
                            &i.principal,
                            i.action,
                            &i.resource,
                            &i.facts,
                            i.now,
                            Build { schema: None, sent },
                        )
                        .unwrap()
                };
                let (request, relevant) = build(Sent::Relevant);
                let (_, all) = build(Sent::All);
                if all
                    .iter()
                    .any(|e| !relevant.get(&e.uid()).is_some_and(|r| r.deep_eq(e)))
                {
                    filtered.set(filtered.get() + 1);
                }
                let slice = &authorizer.slices[environment(&i.principal.account, i.action)];
                for policies in [&slice.policies, &authorizer.policies] {
                    let cedar =
                        |entities| authorizer.cedar.is_authorized(&request, policies, entities);
                    prop_assert_eq!(answer(&cedar(&relevant)), answer(&cedar(&all)));
                }
                let decide = |sent| {
                    authorizer.decide(
                        &i.principal,
                        i.action,
                        &i.resource,
                        &i.facts,
                        i.now,
                        Build { schema: None, sent },
                    )
                };
                prop_assert_eq!(decide(Sent::Relevant), decide(Sent::All));
                Ok(())
            })
            .unwrap();
        // Most inputs have facts the policies cannot read, so the comparison
        // means something.
        eprintln!("{} of 10,000 inputs had facts left out", filtered.get());
        assert!(filtered.get() > 5_000, "only {} filtered", filtered.get());
    }

    /// Slicing and specialising change nothing: for random inputs, the
    /// request is in its slice's environment, and the slice gives Cedar's
    /// answer for the whole policy set as parsed (the same decision, the same
    /// satisfied policies, the same policies in error).
    #[test]
    fn each_slice_answers_as_the_whole_policy_set() {
        let authorizer = Authorizer::new().unwrap();
        let config = Config {
            failure_persistence: None,
            ..Config::with_cases(2_000)
        };
        let mut runner = TestRunner::new(config);
        runner
            .run(&crate::inputs::input(), |i| {
                let (request, entities) = authorizer
                    .vocabulary
                    .request(
                        &i.principal,
                        i.action,
                        &i.resource,
                        &i.facts,
                        i.now,
                        Build::default(),
                    )
                    .unwrap();
                let slice = &authorizer.slices[environment(&i.principal.account, i.action)];
                prop_assert!(in_environment(&request, slice.env.as_ref().unwrap()));
                let part = authorizer
                    .cedar
                    .is_authorized(&request, &slice.policies, &entities);
                let whole =
                    authorizer
                        .cedar
                        .is_authorized(&request, &authorizer.policies, &entities);
                prop_assert_eq!(answer(&part), answer(&whole));
                Ok(())
            })
            .unwrap();
    }

    /// Specialising keeps each policy's effect, conditions and annotations,
    /// and drops only scope constraints.
    #[test]
    fn specialising_drops_only_the_scope() {
        let authorizer = Authorizer::new().unwrap();
        let mut dropped = 0;
        for slice in &authorizer.slices {
            for policy in slice.policies.policies() {
                let original = authorizer.policies.policy(policy.id()).unwrap();
                let (ours, theirs) = (policy.to_json().unwrap(), original.to_json().unwrap());
                for key in ["effect", "conditions", "annotations"] {
                    assert_eq!(ours[key], theirs[key], "{} {key}", policy.id());
                }
                for key in ["principal", "action", "resource"] {
                    if ours[key] != theirs[key] {
                        assert_eq!(ours[key], serde_json::json!({ "op": "All" }));
                        dropped += 1;
                    }
                }
            }
        }
        assert!(dropped > 0);
    }

    /// A request is evaluated only with the slice of its own environment.
    #[test]
    fn requests_are_checked_against_their_environment() {
        let authorizer = Authorizer::new().unwrap();
        let staff_read = authorizer.slices[0].env.as_ref().unwrap();
        let citizen_read = authorizer.slices[4].env.as_ref().unwrap();
        let request = |env: &RequestEnv| {
            cedar_policy::Request::new(
                cedar_policy::EntityUid::from_type_name_and_id(
                    env.principal().clone(),
                    cedar_policy::EntityId::new("p"),
                ),
                env.action().clone(),
                cedar_policy::EntityUid::from_type_name_and_id(
                    env.resource().clone(),
                    cedar_policy::EntityId::new("r"),
                ),
                cedar_policy::Context::empty(),
                None,
            )
            .unwrap()
        };
        assert!(in_environment(&request(staff_read), staff_read));
        assert!(!in_environment(&request(citizen_read), staff_read));
        assert!(!in_environment(&request(staff_read), citizen_read));
    }

    #[test]
    fn the_authorizer_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Authorizer>();
    }

    #[test]
    fn every_policy_has_a_meaning() {
        let authorizer = Authorizer::new().unwrap();
        let mut ids: Vec<&str> = authorizer.policy_ids().collect();
        ids.sort_unstable();
        let mut known: Vec<&str> = FORBIDS
            .iter()
            .map(|(id, _)| *id)
            .chain(PERMITS.iter().map(|(id, _)| *id))
            .collect();
        known.sort_unstable();
        assert_eq!(
            ids, known,
            "every forbid gives a reason, every permit a ground"
        );
        for (id, _) in FORBIDS {
            let policy = authorizer.policies.policy(&PolicyId::new(id)).unwrap();
            assert_eq!(policy.effect(), cedar_policy::Effect::Forbid, "{id}");
        }
        for (id, _) in PERMITS {
            let policy = authorizer.policies.policy(&PolicyId::new(id)).unwrap();
            assert_eq!(policy.effect(), cedar_policy::Effect::Permit, "{id}");
        }
    }

    /// Each request environment gets the rule-0 forbids; every policy is in
    /// some environment; a kind of principal gets no other kind's policies.
    #[test]
    fn every_environment_gets_its_policies() {
        let authorizer = Authorizer::new().unwrap();
        let ids = |i: usize| -> Vec<String> {
            authorizer.slices[i]
                .policies
                .policies()
                .map(|p| p.id().to_string())
                .collect()
        };
        for i in 0..ENVIRONMENTS {
            let ids = ids(i);
            for id in ["facts-about-another-person", "other-tenant", "loa-too-low"] {
                assert!(
                    ids.iter().any(|x| x == id),
                    "{id} missing in environment {i}"
                );
            }
            let kind = ["staff-", "citizen-", "relative-", "bootstrap-"][i / 4];
            for id in &ids {
                let common = ["facts-about-another-person", "other-tenant", "loa-too-low"];
                assert!(
                    id.starts_with(kind) || common.contains(&id.as_str()),
                    "{id} in {i}"
                );
            }
        }
        for id in authorizer.policy_ids() {
            assert!(
                (0..ENVIRONMENTS).any(|i| ids(i).iter().any(|x| x == id)),
                "{id} applies nowhere"
            );
        }
    }
}
