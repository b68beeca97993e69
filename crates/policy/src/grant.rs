//! The capability: proof that a decision allowed an action on a person's data.

use crate::DenyReason;
use time::OffsetDateTime;
use trygg_domain::{
    Account, Action, Actor, AuditEvent, Outcome, Part, PersonId, RequestInfo, UnitId,
};

/// Why access was allowed (recorded in the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A care relationship (the staff member's own unit, or named directly).
    CareRelationship,
    /// The person's consent to cross-unit access.
    Consent,
    /// Emergency access (nödåtkomst), to be followed up.
    EmergencyAccess,
    /// The person's own data.
    Own,
    /// A relative's grant from the person.
    RelativeGrant,
}

impl Via {
    /// Its name in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::CareRelationship => "care_relationship",
            Via::Consent => "consent",
            Via::EmergencyAccess => "emergency_access",
            Via::Own => "own",
            Via::RelativeGrant => "relative_grant",
        }
    }
}

impl DenyReason {
    /// Its name in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::BootstrapAdmin => "bootstrap_admin",
            DenyReason::WrongPerson => "wrong_person",
            DenyReason::WrongTenant => "wrong_tenant",
            DenyReason::LoaTooLow => "loa_too_low",
            DenyReason::Blocked => "blocked",
            DenyReason::ProtectedIdentity => "protected_identity",
            DenyReason::NoConsent => "no_consent",
            DenyReason::NoRelationship => "no_relationship",
            DenyReason::RoleCannot => "role_cannot",
            DenyReason::NotGranted => "not_granted",
            DenyReason::StepUpNeeded => "step_up_needed",
            DenyReason::EvaluationError => "evaluation_error",
            DenyReason::AboutSelf => "about_self",
        }
    }
}

/// Proof that `account` may do `action` on `part` of `person`'s data (written
/// by `owner_unit`). Only this crate can make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    account: Account,
    person: PersonId,
    action: Action,
    part: Option<Part>,
    owner_unit: Option<UnitId>,
    via: Via,
    request: RequestInfo,
}

impl Grant {
    /// Made only by a decision in this crate.
    pub(crate) fn new(
        account: Account,
        person: PersonId,
        action: Action,
        part: Option<Part>,
        owner_unit: Option<UnitId>,
        via: Via,
    ) -> Self {
        Self {
            account,
            person,
            action,
            part,
            owner_unit,
            via,
            request: RequestInfo::default(),
        }
    }

    /// The same grant, with the request it was decided in (for the audit
    /// log; it widens nothing).
    #[must_use]
    pub fn in_request(mut self, request: RequestInfo) -> Self {
        self.request = request;
        self
    }

    /// The audit log's entry for using this grant at `at`.
    pub fn audit_event(&self, at: OffsetDateTime) -> AuditEvent {
        AuditEvent {
            tenant: self.account.tenant(),
            at,
            actor: Actor::of(&self.account),
            method: self.request.method,
            loa: self.request.loa,
            person: Some(self.person),
            action: self.action.audit_name(),
            unit: self.owner_unit,
            outcome: Outcome::Allow,
            ground: self.via.as_str().to_owned(),
            request_id: self.request.request_id.clone(),
        }
    }

    /// Who was allowed.
    pub fn account(&self) -> &Account {
        &self.account
    }
    /// Whose data.
    pub fn person(&self) -> PersonId {
        self.person
    }
    /// What action.
    pub fn action(&self) -> Action {
        self.action
    }
    /// Which part, if the action concerns one.
    pub fn part(&self) -> Option<Part> {
        self.part
    }
    /// The unit whose documentation it is, if any.
    pub fn owner_unit(&self) -> Option<UnitId> {
        self.owner_unit
    }
    /// On what ground.
    pub fn via(&self) -> Via {
        self.via
    }
}
