//! What the audit log records about one access to personal data (HSLF-FS
//! 2016:40 4 kap. 9 §): the action, the care unit, the care provider, the
//! time, the user with how they were identified, the person, the ground or
//! reason, the decision, and the request. Persons and staff are named by
//! opaque ids; anything more sensitive (an emergency access's reason) is
//! sealed under the person's key by the store.

use crate::{AuthMethod, Loa, PersonId, TenantId, UnitId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who acted, by opaque id (`staff:…`, `person:…`, `relative:…`,
/// `admin:<name>` for the bootstrap administrator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor(pub String);

impl Actor {
    /// The actor of an account.
    pub fn of(account: &crate::Account) -> Self {
        Self(match account {
            crate::Account::Staff { staff, .. } => format!("staff:{staff}"),
            crate::Account::Person { person, .. } => format!("person:{person}"),
            crate::Account::Relative { relative, .. } => format!("relative:{relative}"),
            crate::Account::BootstrapAdmin { name } => format!("admin:{name}"),
        })
    }
}

/// Allowed (on a ground) or denied (for a reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
}

/// One audit event, before the store seals its details and appends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The care provider (none for the bootstrap administrator's events).
    pub tenant: Option<TenantId>,
    /// When (the store's clock).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who.
    pub actor: Actor,
    /// How they were identified.
    pub method: Option<AuthMethod>,
    /// At what level of assurance.
    pub loa: Option<Loa>,
    /// Whose data (none when the person is unknown, e.g. a failed search).
    pub person: Option<PersonId>,
    /// What: `read:care_plan`, `write:visit_notes`, `find`,
    /// `begin_emergency_access`, `assign_role:nurse`, `read:audit_log`, …
    pub action: String,
    /// The care unit whose documentation or permissions it concerns.
    pub unit: Option<UnitId>,
    /// The decision.
    pub outcome: Outcome,
    /// The ground of an allow (`care_relationship`, `consent`,
    /// `emergency_access`, `own`, `relative_grant`, `administration`) or the
    /// reason of a deny.
    pub ground: String,
    /// The request it was part of.
    pub request_id: Option<String>,
}
