//! Trygg's domain model.
//!
//! Types here are parsed once at the edge and trusted afterwards ("parse, don't
//! validate"): a value of [`IdentityNumber`] is a valid personnummer or
//! samordningsnummer, a [`PersonName`] is a non-empty name without control
//! characters, and so on.
//!
//! Architecture invariant: this crate does no I/O and never reads the system
//! clock. Time comes in through [`Clock`].

pub mod access;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod identity;
pub mod ids;
pub mod model;
pub mod text;

pub use access::{
    Action, ActiveCare, AdminAction, AdminRequest, EmergencyAccess, Part, PersonFacts, Principal,
    RequestInfo, Resource,
};
pub use audit::{Actor, AuditEvent, Outcome};
pub use auth::{Account, AuthMethod, Loa, VerifiedIdentity};
pub use clock::{Clock, ManualClock, swedish_time};
pub use identity::{HsaId, IdentityNumber, IdentityNumberError, IdentityNumberKind, OrgNumber};
pub use ids::{
    AlarmId, CareRelationshipId, DeviceId, PersonId, RelativeId, StaffId, TenantId, UnitId,
};
pub use model::*;
pub use text::{Address, Email, FreeText, PersonName, Phone, TextError};
