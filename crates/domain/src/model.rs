//! Organisations, people and the relationships between them.

use crate::{
    Address, CareRelationshipId, Email, HsaId, IdentityNumber, OrgNumber, PersonId, PersonName,
    Phone, RelativeId, StaffId, TenantId, UnitId,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// What kind of organisation a tenant is. Municipalities are public
/// authorities: their log extracts name staff (public documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantKind {
    /// A municipality (kommun).
    Municipality,
    /// A region (region).
    Region,
    /// A private care provider (enskild vårdgivare / utförare).
    PrivateProvider,
}

/// A care provider or municipality. Every other row belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Id.
    pub id: TenantId,
    /// Name of the organisation (not personal data).
    pub name: String,
    /// Organisationsnummer.
    pub org_number: OrgNumber,
    /// Kind of organisation.
    pub kind: TenantKind,
}

/// A unit (enhet) in the tenant's organisation; units form a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Id.
    pub id: UnitId,
    /// Tenant.
    pub tenant: TenantId,
    /// Parent unit; `None` for a top-level unit.
    pub parent: Option<UnitId>,
    /// Name (not personal data).
    pub name: String,
    /// HSA-id of the unit, if it has one.
    pub hsa_id: Option<HsaId>,
}

/// A role a staff member holds in a unit. Roles are granted per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Larmoperatör.
    AlarmOperator,
    /// Hemtjänstpersonal.
    HomeCareStaff,
    /// Sjuksköterska.
    Nurse,
    /// Enhetschef.
    UnitManager,
    /// Informationssäkerhetsansvarig / dataskyddsombud.
    SecurityOfficer,
    /// Systemadministratör (reaches no personal data by role alone).
    Administrator,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 6] = [
        Role::AlarmOperator,
        Role::HomeCareStaff,
        Role::Nurse,
        Role::UnitManager,
        Role::SecurityOfficer,
        Role::Administrator,
    ];

    /// The stable machine name (`alarm_operator`, …) used in storage, CSV and CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::AlarmOperator => "alarm_operator",
            Role::HomeCareStaff => "home_care_staff",
            Role::Nurse => "nurse",
            Role::UnitManager => "unit_manager",
            Role::SecurityOfficer => "security_officer",
            Role::Administrator => "administrator",
        }
    }
}

/// Input that names no known role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}; roles are alarm_operator, home_care_staff, nurse, unit_manager, security_officer, administrator"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TenantKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "municipality" => Ok(TenantKind::Municipality),
            "region" => Ok(TenantKind::Region),
            "private_provider" => Ok(TenantKind::PrivateProvider),
            other => Err(format!(
                "unknown tenant kind {other:?}; kinds are municipality, region, private_provider"
            )),
        }
    }
}

impl TenantKind {
    /// The stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantKind::Municipality => "municipality",
            TenantKind::Region => "region",
            TenantKind::PrivateProvider => "private_provider",
        }
    }
}

/// A staff member's identity and contact data (personal data: stored encrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffDetails {
    /// Given name.
    pub given_name: PersonName,
    /// Family name.
    pub family_name: PersonName,
    /// HSA-id, for staff identified through SITHS.
    pub hsa_id: Option<HsaId>,
    /// Personnummer, for staff identified through BankID or Freja.
    pub identity_number: Option<IdentityNumber>,
    /// Work e-mail.
    pub email: Option<Email>,
    /// Work phone.
    pub phone: Option<Phone>,
}

/// A staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// Id.
    pub id: StaffId,
    /// Tenant.
    pub tenant: TenantId,
    /// Identity and contact data.
    pub details: StaffDetails,
    /// A disabled account cannot log in.
    pub disabled: bool,
}

/// A role assignment: staff member × unit × role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleAssignment {
    /// Who.
    pub staff: StaffId,
    /// Where.
    pub unit: UnitId,
    /// As what.
    pub role: Role,
}

/// A reference to the needs-and-risk analysis (behovs- och riskanalys) a
/// role assignment or care relationship rests on: a document or case number
/// such as `BRA 2026/114`. It is stored in plain text, so it may hold no
/// personal data: letters, digits, space and `._/:-`, at most 64 characters,
/// and fewer than ten digits (an identity number cannot fit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnalysisRef(String);

/// Input that is not an acceptable analysis reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "an analysis reference is 1-64 letters, digits, spaces or ._/:- with fewer than ten digits"
)]
pub struct BadAnalysisRef;

impl AnalysisRef {
    /// Parses a reference (trimmed).
    pub fn parse(s: &str) -> Result<Self, BadAnalysisRef> {
        let s = s.trim();
        let allowed = |c: char| c.is_alphanumeric() || " ._/:-".contains(c);
        let digits = s.chars().filter(char::is_ascii_digit).count();
        if s.is_empty() || s.chars().count() > 64 || !s.chars().all(allowed) || digits >= 10 {
            return Err(BadAnalysisRef);
        }
        Ok(Self(s.to_owned()))
    }

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AnalysisRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod analysis_ref_tests {
    use super::AnalysisRef;

    #[test]
    fn analysis_references_cannot_carry_identity_numbers() {
        for ok in ["BRA 2026/114", "Dnr KS-2026:0042", "risk.analys_v2"] {
            assert_eq!(AnalysisRef::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "   ",
            "19400101-1234",
            "194001011234",
            "a;b",
            "<script>",
            &"x".repeat(65),
        ] {
            assert!(AnalysisRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}

/// A person receiving care: identity and contact data (stored encrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonDetails {
    /// Personnummer or samordningsnummer.
    pub identity_number: IdentityNumber,
    /// Given name.
    pub given_name: PersonName,
    /// Family name.
    pub family_name: PersonName,
    /// Home address.
    pub address: Option<Address>,
    /// Phone.
    pub phone: Option<Phone>,
    /// E-mail.
    pub email: Option<Email>,
}

/// A person receiving care (brukare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Id.
    pub id: PersonId,
    /// Tenant.
    pub tenant: TenantId,
    /// Identity and contact data.
    pub details: PersonDetails,
    /// Protected identity (sekretessmarkering / skyddad folkbokföring): address
    /// and contact data are hidden and proxies get no access.
    pub protected_identity: bool,
}

/// A relative or proxy of a person (stored encrypted under the person's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelativeDetails {
    /// Given name.
    pub given_name: PersonName,
    /// Family name.
    pub family_name: PersonName,
    /// Personnummer, so the relative can log in with e-ID.
    pub identity_number: Option<IdentityNumber>,
    /// How they are related ("dotter", "god man", …).
    pub relation: Option<PersonName>,
    /// Phone.
    pub phone: Option<Phone>,
    /// E-mail.
    pub email: Option<Email>,
}

/// A relative or proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relative {
    /// Id.
    pub id: RelativeId,
    /// The person they are a relative of.
    pub person: PersonId,
    /// Details.
    pub details: RelativeDetails,
}

/// Who takes part in a person's care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CareParty {
    /// A named staff member.
    Staff(StaffId),
    /// A whole unit (e.g. the home-care group that serves the person).
    Unit(UnitId),
}

/// A half-open period `[from, until)`; `until = None` means open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: OffsetDateTime,
    until: Option<OffsetDateTime>,
}

/// A period whose end is not after its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the period ends before it starts")]
pub struct EmptyPeriod;

impl Period {
    /// A period; refuses one that ends at or before its start.
    pub fn new(from: OffsetDateTime, until: Option<OffsetDateTime>) -> Result<Self, EmptyPeriod> {
        match until {
            Some(until) if until <= from => Err(EmptyPeriod),
            _ => Ok(Self { from, until }),
        }
    }
    /// Start (inclusive).
    pub fn from(&self) -> OffsetDateTime {
        self.from
    }
    /// End (exclusive), if any.
    pub fn until(&self) -> Option<OffsetDateTime> {
        self.until
    }
    /// Whether `at` lies within the period.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        at >= self.from && self.until.is_none_or(|u| at < u)
    }
}

/// A care relationship (vårdrelation / pågående insats): the lawful basis for
/// staff to reach a person's data (inner secrecy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CareRelationship {
    /// Id.
    pub id: CareRelationshipId,
    /// Tenant.
    pub tenant: TenantId,
    /// The person cared for.
    pub person: PersonId,
    /// Who cares.
    pub party: CareParty,
    /// When it holds.
    pub period: Period,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn period_is_half_open() {
        let p = Period::new(
            datetime!(2026-01-01 00:00 UTC),
            Some(datetime!(2026-02-01 00:00 UTC)),
        )
        .unwrap();
        assert!(p.contains(datetime!(2026-01-01 00:00 UTC)));
        assert!(p.contains(datetime!(2026-01-31 23:59 UTC)));
        assert!(!p.contains(datetime!(2026-02-01 00:00 UTC)));
        assert!(!p.contains(datetime!(2025-12-31 23:59 UTC)));
        assert_eq!(
            Period::new(
                datetime!(2026-01-01 00:00 UTC),
                Some(datetime!(2026-01-01 00:00 UTC))
            ),
            Err(EmptyPeriod)
        );
        assert!(
            Period::new(datetime!(2026-01-01 00:00 UTC), None)
                .unwrap()
                .contains(datetime!(2100-01-01 00:00 UTC))
        );
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("god".parse::<Role>().is_err());
    }
}
