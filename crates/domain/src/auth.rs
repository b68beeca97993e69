//! How a person proved who they are: the method, the identity provider, the
//! level of assurance and when. Produced by the e-ID, BankID and passkey
//! logins; recorded on every session; read by authorization and audit.

use crate::{HsaId, IdentityNumber, PersonId, PersonName, RelativeId, StaffId, TenantId};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// Level of assurance per the Swedish trust framework for electronic
/// identification (Tillitsramverk för Svensk e-legitimation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loa {
    /// LoA2.
    Loa2,
    /// LoA3: BankID, Freja eID+, SITHS eID in practice.
    Loa3,
    /// LoA4.
    Loa4,
}

impl Loa {
    /// The `acr` URI that asks for (and proves) this level.
    pub fn acr(self) -> &'static str {
        match self {
            Loa::Loa2 => "http://id.elegnamnden.se/loa/1.0/loa2",
            Loa::Loa3 => "http://id.elegnamnden.se/loa/1.0/loa3",
            Loa::Loa4 => "http://id.elegnamnden.se/loa/1.0/loa4",
        }
    }

    /// The level an `acr` value proves, if Trygg knows it. eIDAS levels map
    /// to their Swedish counterparts (substantial → LoA3, high → LoA4).
    pub fn from_acr(acr: &str) -> Option<Loa> {
        match acr.trim() {
            "http://id.elegnamnden.se/loa/1.0/loa2" => Some(Loa::Loa2),
            "http://id.elegnamnden.se/loa/1.0/loa3"
            | "http://id.elegnamnden.se/loa/1.0/eidas-sub"
            | "http://id.elegnamnden.se/loa/1.0/eidas-nf-sub" => Some(Loa::Loa3),
            "http://id.elegnamnden.se/loa/1.0/loa4"
            | "http://id.elegnamnden.se/loa/1.0/eidas-high"
            | "http://id.elegnamnden.se/loa/1.0/eidas-nf-high" => Some(Loa::Loa4),
            _ => None,
        }
    }

    /// Short name: `loa2`, `loa3`, `loa4`.
    pub fn as_str(self) -> &'static str {
        match self {
            Loa::Loa2 => "loa2",
            Loa::Loa3 => "loa3",
            Loa::Loa4 => "loa4",
        }
    }

    /// Parses a short name.
    pub fn parse(s: &str) -> Option<Loa> {
        match s.trim().to_ascii_lowercase().as_str() {
            "loa2" => Some(Loa::Loa2),
            "loa3" => Some(Loa::Loa3),
            "loa4" => Some(Loa::Loa4),
            _ => None,
        }
    }
}

impl fmt::Display for Loa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the person authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// An OpenID Connect identity provider (e-ID broker, Inera IdP, …).
    Oidc,
    /// BankID through the relying-party API.
    BankId,
    /// A passkey (WebAuthn with user verification) registered after an e-ID login.
    Passkey,
    /// Password and TOTP: only the local bootstrap administrator, who reaches no personal data.
    PasswordTotp,
    /// A step-up with a one-time code (TOTP) on a session that began with an
    /// e-ID; the session keeps the LoA of that e-ID login.
    Totp,
}

impl AuthMethod {
    /// Stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Oidc => "oidc",
            AuthMethod::BankId => "bankid",
            AuthMethod::Passkey => "passkey",
            AuthMethod::PasswordTotp => "password_totp",
            AuthMethod::Totp => "totp",
        }
    }
}

/// The outcome of a successful authentication, before it is tied to an
/// account: who (by identity number and/or HSA-id), how, how strongly, when.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// Personnummer or samordningsnummer, if the method gives one.
    pub identity_number: Option<IdentityNumber>,
    /// HSA-id (SITHS), if the method gives one.
    pub hsa_id: Option<HsaId>,
    /// Given name as the identity provider states it.
    pub given_name: Option<PersonName>,
    /// Family name as the identity provider states it.
    pub family_name: Option<PersonName>,
    /// `orgAffiliation` (`pid@orgnr`), if given.
    pub org_affiliation: Option<String>,
    /// How.
    pub method: AuthMethod,
    /// Which configured provider (OIDC provider name, `bankid`, `passkey`).
    pub provider: String,
    /// How strongly.
    pub loa: Loa,
    /// When the person actually authenticated (for step-up freshness).
    pub authenticated_at: OffsetDateTime,
}

impl fmt::Debug for VerifiedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedIdentity")
            .field("identity_number", &self.identity_number)
            .field("hsa_id", &self.hsa_id)
            .field("method", &self.method)
            .field("provider", &self.provider)
            .field("loa", &self.loa)
            .field("authenticated_at", &self.authenticated_at)
            .finish_non_exhaustive()
    }
}

/// Who a session (or passkey) belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// A staff member.
    Staff {
        /// Tenant.
        tenant: TenantId,
        /// Staff member.
        staff: StaffId,
    },
    /// A person receiving care (citizen).
    Person {
        /// Tenant.
        tenant: TenantId,
        /// Person.
        person: PersonId,
    },
    /// A relative or proxy.
    Relative {
        /// Tenant.
        tenant: TenantId,
        /// Relative.
        relative: RelativeId,
        /// The person they are a relative of.
        person: PersonId,
    },
    /// The local bootstrap administrator (no personal data).
    BootstrapAdmin {
        /// User name.
        name: String,
    },
}

impl Account {
    /// Stable machine name of the kind of account.
    pub fn kind_str(&self) -> &'static str {
        match self {
            Account::Staff { .. } => "staff",
            Account::Person { .. } => "person",
            Account::Relative { .. } => "relative",
            Account::BootstrapAdmin { .. } => "bootstrap_admin",
        }
    }

    /// The tenant, if the account belongs to one.
    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Account::Staff { tenant, .. }
            | Account::Person { tenant, .. }
            | Account::Relative { tenant, .. } => Some(*tenant),
            Account::BootstrapAdmin { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_round_trips_and_orders() {
        for loa in [Loa::Loa2, Loa::Loa3, Loa::Loa4] {
            assert_eq!(Loa::from_acr(loa.acr()), Some(loa));
            assert_eq!(Loa::parse(loa.as_str()), Some(loa));
        }
        assert!(Loa::Loa2 < Loa::Loa3 && Loa::Loa3 < Loa::Loa4);
        assert_eq!(
            Loa::from_acr("http://id.elegnamnden.se/loa/1.0/eidas-high"),
            Some(Loa::Loa4)
        );
        assert_eq!(Loa::from_acr("urn:unknown"), None);
        assert_eq!(Loa::from_acr("http://id.elegnamnden.se/loa/1.0/loa1"), None);
    }
}
