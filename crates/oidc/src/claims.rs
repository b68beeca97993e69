//! Reading the identity out of a verified ID token's claims, by the claim
//! names configured for the provider.

use crate::OidcError;
use crate::config::{IdentityClaims, sanitize};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use trygg_domain::{HsaId, IdentityNumber, PersonName};

/// Longest `orgAffiliation` accepted (`pid@orgnr`).
const MAX_ORG_AFFILIATION: usize = 128;

/// The identity parts of an ID token.
pub(crate) struct Identity {
    pub identity_number: Option<IdentityNumber>,
    pub hsa_id: Option<HsaId>,
    pub given_name: Option<PersonName>,
    pub family_name: Option<PersonName>,
    pub org_affiliation: Option<String>,
}

/// The JSON payload of a compact JWS. Only called on a token whose signature
/// has been verified over exactly these bytes.
pub(crate) fn payload(compact: &str) -> Result<Map<String, Value>, OidcError> {
    let malformed = |detail: &str| OidcError::MalformedToken {
        detail: detail.to_owned(),
    };
    let segment = compact
        .split('.')
        .nth(1)
        .ok_or_else(|| malformed("the ID token is not a compact JWS"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| malformed("the ID token payload is not base64url"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| malformed("the ID token payload is not a JSON object"))
}

/// The first of `names` present in `claims`, with its name.
fn first<'a>(
    claims: &'a Map<String, Value>,
    names: &'a [String],
) -> Result<Option<(&'a str, &'a str)>, OidcError> {
    for name in names {
        match claims.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::String(value)) => return Ok(Some((name, value))),
            Some(_) => {
                return Err(OidcError::InvalidClaim {
                    claim: sanitize(name),
                    reason: "not a string".to_owned(),
                });
            }
        }
    }
    Ok(None)
}

fn invalid(claim: &str, reason: impl ToString) -> OidcError {
    OidcError::InvalidClaim {
        claim: sanitize(claim),
        reason: reason.to_string(),
    }
}

/// Extracts the identity; `provider` names the provider in errors.
pub(crate) fn identity(
    claims: &Map<String, Value>,
    names: &IdentityClaims,
    provider: &str,
) -> Result<Identity, OidcError> {
    let mut identity_number = None;
    if let Some((claim, value)) = first(claims, &names.personal_identity_number)? {
        // The messages of IdentityNumberError name the problem, never the number.
        identity_number =
            Some(IdentityNumber::parse_canonical(value).map_err(|e| invalid(claim, e))?);
    }
    if identity_number.is_none()
        && let Some((claim, value)) = first(claims, &names.coordination_number)?
    {
        let number = IdentityNumber::parse_canonical(value).map_err(|e| invalid(claim, e))?;
        if !number.is_coordination_number() {
            return Err(invalid(claim, "not a samordningsnummer"));
        }
        identity_number = Some(number);
    }
    let hsa_id = match first(claims, &names.hsa_id)? {
        Some((claim, value)) => Some(HsaId::parse(value).map_err(|e| invalid(claim, e))?),
        None => None,
    };
    if identity_number.is_none() && hsa_id.is_none() {
        return Err(OidcError::MissingIdentity {
            provider: provider.to_owned(),
        });
    }
    let org_affiliation = match first(claims, &names.org_affiliation)? {
        Some((claim, value)) => {
            let value = value.trim();
            let ok = value.chars().count() <= MAX_ORG_AFFILIATION
                && !value.chars().any(char::is_control)
                && value
                    .split_once('@')
                    .is_some_and(|(pid, org)| !pid.is_empty() && !org.is_empty());
            if !ok {
                return Err(invalid(claim, "expected pid@orgnr"));
            }
            Some(value.to_owned())
        }
        None => None,
    };
    // Names are informative: one the domain refuses (too long, control
    // characters) is left out rather than failing the login.
    let name = |list: &[String]| -> Result<Option<PersonName>, OidcError> {
        Ok(
            first(claims, list)?.and_then(|(claim, value)| match PersonName::parse(value) {
                Ok(name) => Some(name),
                Err(e) => {
                    tracing::debug!(claim = %sanitize(claim), error = %e, "name claim ignored");
                    None
                }
            }),
        )
    };
    Ok(Identity {
        identity_number,
        hsa_id,
        given_name: name(&names.given_name)?,
        family_name: name(&names.family_name)?,
        org_affiliation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(claims: Value) -> Result<Identity, OidcError> {
        let Value::Object(map) = claims else {
            panic!("object")
        };
        identity(&map, &IdentityClaims::default(), "test")
    }

    #[test]
    fn swedish_claims() {
        let id = check(json!({
            "https://id.oidc.se/claim/personalIdentityNumber": "191212121212",
            "https://id.oidc.se/claim/orgAffiliation": "191212121212@2321000016",
            "given_name": "Tolvan", "family_name": "Tolvansson"
        }))
        .unwrap();
        assert_eq!(id.identity_number.unwrap().canonical(), "191212121212");
        assert_eq!(id.given_name.unwrap().as_str(), "Tolvan");
        assert_eq!(id.family_name.unwrap().as_str(), "Tolvansson");
        assert_eq!(
            id.org_affiliation.as_deref(),
            Some("191212121212@2321000016")
        );
        assert!(id.hsa_id.is_none());
    }

    #[test]
    fn coordination_number_and_hsa_id() {
        let samordningsnummer = IdentityNumber::from_parts(
            time::macros::date!(1990 - 10 - 10),
            238,
            trygg_domain::IdentityNumberKind::Samordningsnummer,
        )
        .unwrap()
        .canonical();
        let id = check(json!({
            "https://id.oidc.se/claim/coordinationNumber": samordningsnummer,
            "employeeHsaId": "SE2321000016-1234"
        }))
        .unwrap();
        assert!(id.identity_number.unwrap().is_coordination_number());
        assert_eq!(id.hsa_id.unwrap().as_str(), "SE2321000016-1234");

        let hsa_only =
            check(json!({"https://id.oidc.se/claim/employeeHsaId": "SE2321000016-abc1"})).unwrap();
        assert_eq!(hsa_only.hsa_id.unwrap().as_str(), "SE2321000016-ABC1");
    }

    #[test]
    fn refusals() {
        let code = |v: Value| check(v).err().map(|e| e.code());
        assert_eq!(code(json!({"given_name": "Tolvan"})), Some("OI019"));
        assert_eq!(
            code(json!({"https://id.oidc.se/claim/personalIdentityNumber": "191212121213"})),
            Some("OI020")
        );
        assert_eq!(
            code(json!({"https://id.oidc.se/claim/personalIdentityNumber": 191212121212_u64})),
            Some("OI020")
        );
        assert_eq!(
            code(json!({"https://id.oidc.se/claim/coordinationNumber": "191212121212"})),
            Some("OI020")
        );
        assert_eq!(code(json!({"employeeHsaId": "nope"})), Some("OI020"));
        let err = check(json!({"https://id.oidc.se/claim/personalIdentityNumber": "191212121213"}))
            .err()
            .unwrap();
        assert!(!err.to_string().contains("191212121213"), "{err}");
        // An unusable name is dropped, not fatal.
        let id = check(json!({
            "https://id.oidc.se/claim/personalIdentityNumber": "19121212-1212",
            "given_name": "\u{7}"
        }))
        .unwrap();
        assert!(id.given_name.is_none());
    }

    #[test]
    fn payload_is_decoded() {
        let body = URL_SAFE_NO_PAD.encode(br#"{"a":1}"#);
        assert_eq!(payload(&format!("x.{body}.y")).unwrap()["a"], 1);
        assert_eq!(payload("nodots").unwrap_err().code(), "OI010");
    }
}
