//! How an identity provider is configured: one [`ProviderConfig`] per provider,
//! read from the configuration file by the binary.

use crate::OidcError;
use crate::secret::Secret;
use serde::Deserialize;
use trygg_domain::Loa;

/// `https://id.oidc.se/claim/personalIdentityNumber` (oidc-sweden).
pub const CLAIM_PERSONAL_IDENTITY_NUMBER: &str = "https://id.oidc.se/claim/personalIdentityNumber";
/// `https://id.oidc.se/claim/coordinationNumber` (oidc-sweden).
pub const CLAIM_COORDINATION_NUMBER: &str = "https://id.oidc.se/claim/coordinationNumber";
/// `https://id.oidc.se/claim/orgAffiliation` (oidc-sweden), `pid@orgnr`.
pub const CLAIM_ORG_AFFILIATION: &str = "https://id.oidc.se/claim/orgAffiliation";
/// The scope that asks for the identity number (oidc-sweden).
pub const SCOPE_NATURAL_PERSON_NUMBER: &str = "https://id.oidc.se/scope/naturalPersonNumber";

/// Longest provider name accepted.
const MAX_NAME_LEN: usize = 32;

/// One OpenID Provider Trygg trusts: an e-ID broker (BankID, Freja eID+) or
/// Inera IdP (SITHS eID).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Stable id, `[a-z0-9-]+` (at most 32 characters): recorded on every
    /// session as `VerifiedIdentity::provider`.
    pub name: String,
    /// Shown on the login page.
    pub display_name: String,
    /// The issuer identifier; discovery reads `{issuer}/.well-known/openid-configuration`
    /// and the document must name exactly this issuer.
    pub issuer: String,
    /// The client id Trygg is registered under at this provider.
    pub client_id: String,
    /// The client secret (`client_secret_basic`); `None` for a public client.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Scopes besides `openid` (always sent).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The lowest level of assurance accepted from this provider, whatever a
    /// login asks for.
    #[serde(default = "default_min_loa")]
    pub min_loa: Loa,
    /// Where the provider sends the browser back (registered at the provider).
    pub redirect_uri: String,
    /// Which claims carry the identity.
    #[serde(default)]
    pub identity_claims: IdentityClaims,
}

fn default_scopes() -> Vec<String> {
    vec!["profile".to_owned(), SCOPE_NATURAL_PERSON_NUMBER.to_owned()]
}

fn default_min_loa() -> Loa {
    Loa::Loa3
}

/// The claim names the identity is read from. Each is a list: the first name
/// present in the ID token is used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityClaims {
    /// Personnummer (or samordningsnummer), 12 digits.
    pub personal_identity_number: Vec<String>,
    /// Samordningsnummer, 12 digits.
    pub coordination_number: Vec<String>,
    /// `pid@orgnr`.
    pub org_affiliation: Vec<String>,
    /// HSA-id (SITHS through Inera IdP).
    pub hsa_id: Vec<String>,
    /// Given name.
    pub given_name: Vec<String>,
    /// Family name.
    pub family_name: Vec<String>,
}

impl Default for IdentityClaims {
    fn default() -> Self {
        let list = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect();
        Self {
            personal_identity_number: list(&[CLAIM_PERSONAL_IDENTITY_NUMBER]),
            coordination_number: list(&[CLAIM_COORDINATION_NUMBER]),
            org_affiliation: list(&[CLAIM_ORG_AFFILIATION]),
            hsa_id: list(&["employeeHsaId", "https://id.oidc.se/claim/employeeHsaId"]),
            given_name: list(&["given_name"]),
            family_name: list(&["family_name"]),
        }
    }
}

impl ProviderConfig {
    /// A configuration with the defaults for everything optional.
    pub fn new(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<Secret>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        let name = name.into();
        Self {
            display_name: name.clone(),
            name,
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret,
            scopes: default_scopes(),
            min_loa: default_min_loa(),
            redirect_uri: redirect_uri.into(),
            identity_claims: IdentityClaims::default(),
        }
    }

    /// Checks what can be checked without asking the provider.
    pub fn validate(&self) -> Result<(), OidcError> {
        let bad = |detail: String| OidcError::Config {
            provider: self.name.clone(),
            detail,
        };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= MAX_NAME_LEN
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(OidcError::Config {
                provider: sanitize(&self.name),
                detail: format!(
                    "the provider name must be 1-{MAX_NAME_LEN} characters of a-z, 0-9 and '-'"
                ),
            });
        }
        if self.display_name.trim().is_empty() {
            return Err(bad("display_name is empty".to_owned()));
        }
        if self.client_id.is_empty() {
            return Err(bad("client_id is empty".to_owned()));
        }
        if self
            .client_secret
            .as_ref()
            .is_some_and(|s| s.expose().is_empty())
        {
            return Err(bad(
                "client_secret is empty; leave it out for a public client".to_owned(),
            ));
        }
        for scope in &self.scopes {
            let ok = !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
            if !ok {
                return Err(bad(format!(
                    "scope {:?} is not a valid scope token",
                    sanitize(scope)
                )));
            }
        }
        let claims = &self.identity_claims;
        if claims.personal_identity_number.is_empty()
            && claims.coordination_number.is_empty()
            && claims.hsa_id.is_empty()
        {
            return Err(bad(
                "identity_claims names no claim for an identity number or an HSA-id".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Makes an untrusted string safe to put in a log line: at most 64
/// characters, control characters replaced.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProviderConfig {
        ProviderConfig::new(
            "freja",
            "https://idp.example",
            "trygg",
            None,
            "https://trygg.example/login/oidc/callback",
        )
    }

    #[test]
    fn names_are_checked() {
        assert!(config().validate().is_ok());
        for bad in ["", "Freja", "freja eid", "freja_eid", &"a".repeat(33)] {
            let mut c = config();
            c.name = bad.to_owned();
            let err = c.validate().unwrap_err();
            assert_eq!(err.code(), "OI001", "{bad}");
        }
    }

    #[test]
    fn deserializes_with_defaults() {
        let json = serde_json::json!({
            "name": "inera",
            "display_name": "SITHS eID",
            "issuer": "https://idp.inera.example",
            "client_id": "trygg",
            "client_secret": "s3cret",
            "redirect_uri": "https://trygg.example/cb",
            "min_loa": "loa4",
            "identity_claims": { "hsa_id": ["employeeHsaId"] }
        });
        let c: ProviderConfig = serde_json::from_value(json).unwrap();
        assert_eq!(c.min_loa, Loa::Loa4);
        assert_eq!(c.identity_claims.hsa_id, ["employeeHsaId"]);
        assert_eq!(
            c.identity_claims.personal_identity_number,
            [CLAIM_PERSONAL_IDENTITY_NUMBER]
        );
        assert_eq!(c.scopes, default_scopes());
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json = serde_json::json!({
            "name": "x", "display_name": "X", "issuer": "https://x", "client_id": "c",
            "redirect_uri": "https://t/cb", "secret": "typo"
        });
        assert!(serde_json::from_value::<ProviderConfig>(json).is_err());
    }
}
