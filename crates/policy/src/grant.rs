//! The capability: proof that a decision allowed an action on a person's data.

use trygg_domain::{Account, Action, Part, PersonId, UnitId};

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
