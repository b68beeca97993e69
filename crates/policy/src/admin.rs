//! Permission administration: who may change who reaches personal data.
//!
//! The same shape as the data decisions: Cedar policies (`policies/admin.cedar`,
//! validated against `policies/admin.cedarschema` when built) decide, and an
//! allow is an [`AdminGrant`] — a capability the store demands before it
//! changes a role assignment or a care relationship, or shows the review and
//! follow-up lists. [`crate::reference::decide_admin`] is the specification.

use crate::{Denial, DenyReason, PolicyError};
use cedar_policy::{Context, Decision, Entities, EntityUid, PolicyId, PolicySet, Request, Schema};
use serde_json::json;
use std::fmt;
use std::str::FromStr;
use trygg_domain::{
    Account, Actor, AdminAction, AdminRequest, AuditEvent, Loa, Outcome, PersonId, Principal,
    RequestInfo, Role, TenantId, UnitId,
};

const SCHEMA: &str = include_str!("../policies/admin.cedarschema");
const POLICIES: [(&str, &str); 1] = [("admin.cedar", include_str!("../policies/admin.cedar"))];

/// Forbids and the reason each gives, most telling first.
const FORBIDS: [(&str, DenyReason); 4] = [
    ("admin-other-tenant", DenyReason::WrongTenant),
    ("admin-step-up", DenyReason::StepUpNeeded),
    ("admin-own-role", DenyReason::AboutSelf),
    ("admin-own-emergency", DenyReason::AboutSelf),
];

/// Proof that `account` may make `action` in `unit`. Only this crate can
/// make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminGrant {
    account: Account,
    action: AdminAction,
    unit: UnitId,
    tenant: TenantId,
    request: RequestInfo,
}

impl AdminGrant {
    /// Who was allowed.
    pub fn account(&self) -> &Account {
        &self.account
    }
    /// What.
    pub fn action(&self) -> AdminAction {
        self.action
    }
    /// In which unit.
    pub fn unit(&self) -> UnitId {
        self.unit
    }
    /// The unit's tenant.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The same grant, with the request it was decided in (for the audit log).
    #[must_use]
    pub fn in_request(mut self, request: RequestInfo) -> Self {
        self.request = request;
        self
    }

    /// The audit log's entry for using this grant at `at` (about `person`,
    /// if the change or the reading concerns one).
    pub fn audit_event(&self, at: time::OffsetDateTime, person: Option<PersonId>) -> AuditEvent {
        let action = match self.action {
            AdminAction::AssignRole(role) => format!("assign_role:{role}"),
            AdminAction::EndRole(role) => format!("end_role:{role}"),
            other => action_name(other).to_owned(),
        };
        AuditEvent {
            tenant: Some(self.tenant),
            at,
            actor: Actor::of(&self.account),
            method: self.request.method,
            loa: self.request.loa,
            person,
            action,
            unit: Some(self.unit),
            outcome: Outcome::Allow,
            ground: "administration".to_owned(),
            request_id: self.request.request_id.clone(),
        }
    }
}

/// The decisions of permission administration. Built once; cheap to share.
pub struct AdminAuthorizer {
    schema: Schema,
    policies: PolicySet,
    cedar: cedar_policy::Authorizer,
}

impl fmt::Debug for AdminAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAuthorizer")
            .field("policies", &self.policies.num_of_policies())
            .finish_non_exhaustive()
    }
}

fn action_name(action: AdminAction) -> &'static str {
    match action {
        AdminAction::AssignRole(_) => "assign_role",
        AdminAction::EndRole(_) => "end_role",
        AdminAction::ManageCare => "manage_care",
        AdminAction::Review => "review",
        AdminAction::FollowUpEmergency => "follow_up_emergency",
        AdminAction::ReviewLog => "review_log",
    }
}

fn uid(text: String) -> Result<EntityUid, Denial> {
    EntityUid::from_str(&text).map_err(|_| Denial::new(DenyReason::EvaluationError))
}

impl AdminAuthorizer {
    /// Parses and validates (strict mode) the schema and the policies.
    pub fn new() -> Result<Self, PolicyError> {
        let (schema, policies) = crate::authorizer::validated(SCHEMA, &POLICIES)?;
        Ok(Self {
            schema,
            policies,
            cedar: cedar_policy::Authorizer::new(),
        })
    }

    /// May `principal` make the change? Only staff can; the bootstrap
    /// administrator, citizens and relatives never.
    pub fn authorize(
        &self,
        principal: &Principal,
        request: &AdminRequest,
    ) -> Result<AdminGrant, Denial> {
        let (tenant, staff) = match &principal.account {
            Account::Staff { tenant, staff } => (*tenant, *staff),
            Account::BootstrapAdmin { .. } => return Err(Denial::new(DenyReason::BootstrapAdmin)),
            Account::Person { .. } | Account::Relative { .. } => {
                return Err(Denial::new(DenyReason::RoleCannot));
            }
        };
        let manages: Vec<serde_json::Value> = principal
            .roles
            .iter()
            .filter(|(_, role)| *role == Role::UnitManager)
            .map(|(unit, _)| json!({ "__entity": { "type": "Unit", "id": unit.to_string() } }))
            .collect();
        let security_officer = principal
            .roles
            .iter()
            .any(|(_, role)| *role == Role::SecurityOfficer);
        let entities = json!([
            { "uid": { "type": "Tenant", "id": tenant.to_string() }, "attrs": {}, "parents": [] },
            { "uid": { "type": "Tenant", "id": request.tenant.to_string() }, "attrs": {}, "parents": [] },
            {
                "uid": { "type": "Unit", "id": request.unit.to_string() },
                "attrs": { "tenant": { "__entity": { "type": "Tenant", "id": request.tenant.to_string() } } },
                "parents": []
            },
            {
                "uid": { "type": "Staff", "id": staff.to_string() },
                "attrs": { "manages": manages, "security_officer": security_officer },
                "parents": [{ "type": "Tenant", "id": tenant.to_string() }]
            }
        ]);
        let fail = |_| Denial::new(DenyReason::EvaluationError);
        let entities = Entities::from_json_value(entities, Some(&self.schema)).map_err(fail)?;
        let action = uid(format!(r#"Action::"{}""#, action_name(request.action)))?;
        let role = match request.action {
            AdminAction::AssignRole(r) | AdminAction::EndRole(r) => r.as_str(),
            _ => "",
        };
        let context = Context::from_json_value(
            json!({
                "role": role,
                "about_self": request.about_self,
                "loa": match principal.loa { Loa::Loa2 => 2, Loa::Loa3 => 3, Loa::Loa4 => 4 },
                "stepped_up": principal.stepped_up,
            }),
            Some((&self.schema, &action)),
        )
        .map_err(|_| Denial::new(DenyReason::EvaluationError))?;
        let request_cedar = Request::new(
            uid(format!(r#"Staff::"{staff}""#))?,
            action,
            uid(format!(r#"Unit::"{}""#, request.unit))?,
            context,
            Some(&self.schema),
        )
        .map_err(|_| Denial::new(DenyReason::EvaluationError))?;
        let response = self
            .cedar
            .is_authorized(&request_cedar, &self.policies, &entities);
        if response.diagnostics().errors().next().is_some() {
            return Err(Denial::new(DenyReason::EvaluationError));
        }
        match response.decision() {
            Decision::Allow => Ok(AdminGrant {
                account: principal.account.clone(),
                action: request.action,
                unit: request.unit,
                tenant: request.tenant,
                request: RequestInfo::default(),
            }),
            Decision::Deny => {
                let applied: Vec<&PolicyId> = response.diagnostics().reason().collect();
                let reason = FORBIDS
                    .iter()
                    .find(|(id, _)| applied.iter().any(|p| AsRef::<str>::as_ref(p) == *id))
                    .map_or(DenyReason::RoleCannot, |(_, reason)| *reason);
                Err(Denial::new(reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::decide_admin;
    use proptest::prelude::*;
    use trygg_domain::{ManualClock, StaffId};

    fn ids() -> (ManualClock, TenantId, TenantId, [UnitId; 3], StaffId) {
        let clock = ManualClock::new(time::macros::datetime!(2026-11-23 12:00 UTC));
        (
            clock.clone(),
            TenantId::generate(&clock),
            TenantId::generate(&clock),
            [
                UnitId::generate(&clock),
                UnitId::generate(&clock),
                UnitId::generate(&clock),
            ],
            StaffId::generate(&clock),
        )
    }

    fn arb_action() -> impl Strategy<Value = AdminAction> {
        let role = proptest::sample::select(Role::ALL.to_vec());
        prop_oneof![
            role.clone().prop_map(AdminAction::AssignRole),
            role.prop_map(AdminAction::EndRole),
            Just(AdminAction::ManageCare),
            Just(AdminAction::Review),
            Just(AdminAction::FollowUpEmergency),
            Just(AdminAction::ReviewLog),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        /// Cedar agrees with the specification on every generated input.
        #[test]
        fn cedar_agrees_with_the_reference(
            kind in 0u8..4,
            roles in proptest::collection::vec((0usize..3, proptest::sample::select(Role::ALL.to_vec())), 0..4),
            loa in proptest::sample::select(vec![Loa::Loa2, Loa::Loa3, Loa::Loa4]),
            stepped_up: bool,
            action in arb_action(),
            unit in 0usize..3,
            other_tenant: bool,
            about_self: bool,
        ) {
            let (clock, t, t2, units, staff) = ids();
            let account = match kind {
                0 => Account::Staff { tenant: t, staff },
                1 => Account::BootstrapAdmin { name: "admin".into() },
                2 => Account::Person { tenant: t, person: trygg_domain::PersonId::generate(&clock) },
                _ => Account::Relative { tenant: t, relative: trygg_domain::RelativeId::generate(&clock), person: trygg_domain::PersonId::generate(&clock) },
            };
            let principal = Principal {
                account,
                roles: roles.into_iter().map(|(u, r)| (units[u], r)).collect(),
                loa,
                stepped_up,
            };
            let request = AdminRequest { action, unit: units[unit], tenant: if other_tenant { t2 } else { t }, about_self };
            let cedar = AUTHORIZER.authorize(&principal, &request);
            prop_assert!(!matches!(cedar, Err(Denial { reason: DenyReason::EvaluationError })), "{cedar:?}");
            prop_assert_eq!(cedar.is_ok(), decide_admin(&principal, &request), "{:?} {:?}", principal, request);
        }
    }

    static AUTHORIZER: std::sync::LazyLock<AdminAuthorizer> =
        std::sync::LazyLock::new(|| AdminAuthorizer::new().unwrap());

    #[test]
    fn nobody_grants_more_than_they_hold() {
        let (_, t, t2, [north, south, _], staff) = ids();
        let manager = |roles: Vec<(UnitId, Role)>| Principal {
            account: Account::Staff { tenant: t, staff },
            roles,
            loa: Loa::Loa3,
            stepped_up: true,
        };
        let req = |action, unit, about_self| AdminRequest {
            action,
            unit,
            tenant: t,
            about_self,
        };
        let north_manager = manager(vec![(north, Role::UnitManager)]);
        let may = |p: &Principal, r: AdminRequest| AUTHORIZER.authorize(p, &r).map(|_| ());
        // In the unit they manage, the care roles, to others.
        for role in [
            Role::AlarmOperator,
            Role::HomeCareStaff,
            Role::Nurse,
            Role::UnitManager,
        ] {
            assert_eq!(
                may(
                    &north_manager,
                    req(AdminAction::AssignRole(role), north, false)
                ),
                Ok(())
            );
            assert_eq!(
                may(
                    &north_manager,
                    req(AdminAction::EndRole(role), north, false)
                ),
                Ok(())
            );
        }
        // Never the roles above a manager's.
        for role in [Role::SecurityOfficer, Role::Administrator] {
            assert_eq!(
                may(
                    &north_manager,
                    req(AdminAction::AssignRole(role), north, false)
                )
                .unwrap_err()
                .reason,
                DenyReason::RoleCannot
            );
        }
        // Never in a unit they do not manage, never to themselves.
        assert!(
            may(
                &north_manager,
                req(AdminAction::AssignRole(Role::Nurse), south, false)
            )
            .is_err()
        );
        assert!(may(&north_manager, req(AdminAction::ManageCare, south, false)).is_err());
        assert_eq!(
            may(
                &north_manager,
                req(AdminAction::AssignRole(Role::Nurse), north, true)
            )
            .unwrap_err()
            .reason,
            DenyReason::AboutSelf
        );
        // A nurse, an administrator or a security officer grants nothing.
        for role in [Role::Nurse, Role::Administrator, Role::SecurityOfficer] {
            let p = manager(vec![(north, role)]);
            assert!(
                may(&p, req(AdminAction::AssignRole(Role::Nurse), north, false)).is_err(),
                "{role:?}"
            );
            assert!(
                may(&p, req(AdminAction::ManageCare, north, false)).is_err(),
                "{role:?}"
            );
        }
        // Another tenant's unit, or a stale login: no.
        let foreign = AdminRequest {
            action: AdminAction::ManageCare,
            unit: north,
            tenant: t2,
            about_self: false,
        };
        assert_eq!(
            may(&north_manager, foreign).unwrap_err().reason,
            DenyReason::WrongTenant
        );
        let stale = Principal {
            stepped_up: false,
            ..north_manager.clone()
        };
        assert_eq!(
            may(&stale, req(AdminAction::ManageCare, north, false))
                .unwrap_err()
                .reason,
            DenyReason::StepUpNeeded
        );
        // Reviews and follow-ups: the manager, or a security officer anywhere
        // in the tenant; nobody follows up their own emergency access.
        let officer = manager(vec![(south, Role::SecurityOfficer)]);
        assert_eq!(
            may(&officer, req(AdminAction::Review, north, false)),
            Ok(())
        );
        assert_eq!(
            may(&officer, req(AdminAction::FollowUpEmergency, north, false)),
            Ok(())
        );
        assert!(may(&officer, req(AdminAction::FollowUpEmergency, north, true)).is_err());
        assert_eq!(
            may(&officer, req(AdminAction::ReviewLog, north, false)),
            Ok(())
        );
        assert_eq!(
            may(&north_manager, req(AdminAction::ReviewLog, north, false)),
            Ok(())
        );
        assert!(may(&north_manager, req(AdminAction::ReviewLog, south, false)).is_err());
        assert_eq!(
            may(
                &north_manager,
                req(AdminAction::FollowUpEmergency, north, false)
            ),
            Ok(())
        );
    }
}
