//! Coded errors (`OI…`). `Display` is the detail for the log (never a secret
//! or personal data); [`OidcError::message`] is what the user is told.

use trygg_domain::Loa;

/// Why an OpenID Connect login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// A provider's configuration is unusable.
    #[error("OIDC provider {provider:?} is misconfigured: {detail}")]
    Config {
        /// The provider's configured name.
        provider: String,
        /// What is wrong.
        detail: String,
    },
    /// Discovery or the first JWKS fetch failed.
    #[error("OIDC provider {provider:?} could not be discovered: {detail}")]
    Discovery {
        /// The provider's configured name.
        provider: String,
        /// What went wrong.
        detail: String,
    },
    /// A login names a provider that is not configured.
    #[error("no OIDC provider named {provider:?} is configured")]
    UnknownProvider {
        /// The name asked for.
        provider: String,
    },
    /// The pending login is older than its lifetime.
    #[error("the login was begun too long ago and has expired")]
    LoginExpired,
    /// The `state` returned by the browser is not the one sent.
    #[error("the returned state does not match the pending login")]
    StateMismatch,
    /// The pending login has already been completed (or attempted) once.
    #[error("the pending login has already been used")]
    Replayed,
    /// The callback is unusable (no code, an absurdly long code, a broken pending login).
    #[error("invalid callback: {detail}")]
    InvalidCallback {
        /// What is wrong.
        detail: String,
    },
    /// The provider could not be reached or answered outside the protocol.
    #[error("HTTP request to OIDC provider {provider:?} failed: {detail}")]
    Http {
        /// The provider's configured name.
        provider: String,
        /// What went wrong.
        detail: String,
    },
    /// The token endpoint refused the code (e.g. `invalid_grant`: wrong PKCE
    /// verifier, used or expired code).
    #[error("OIDC provider {provider:?} refused the token request: {error}")]
    TokenRejected {
        /// The provider's configured name.
        provider: String,
        /// The OAuth error code (and description, if any).
        error: String,
    },
    /// The token response or ID token cannot be parsed.
    #[error("malformed token response or ID token: {detail}")]
    MalformedToken {
        /// What is wrong.
        detail: String,
    },
    /// The ID token's `iss` is not the provider's issuer.
    #[error("ID token issuer is wrong: {detail}")]
    WrongIssuer {
        /// What was found.
        detail: String,
    },
    /// The ID token's `aud` does not name Trygg's client id (or names others).
    #[error("ID token audience is wrong: {detail}")]
    WrongAudience {
        /// What was found.
        detail: String,
    },
    /// The ID token has expired, or its `iat`/`auth_time` is not plausible.
    #[error("ID token is expired or not yet valid: {detail}")]
    TokenExpired {
        /// What was found.
        detail: String,
    },
    /// The ID token's algorithm is not allowed (`none`, `HS*`, …).
    #[error("ID token algorithm is not allowed: {detail}")]
    DisallowedAlgorithm {
        /// What was found.
        detail: String,
    },
    /// The ID token's signature does not verify.
    #[error("ID token signature is invalid: {detail}")]
    BadSignature {
        /// What was found.
        detail: String,
    },
    /// The ID token is signed with a key the provider does not publish, even
    /// after fetching its JWKS again.
    #[error("ID token is signed with a key unknown to OIDC provider {provider:?}")]
    UnknownKey {
        /// The provider's configured name.
        provider: String,
    },
    /// The ID token's `nonce` is missing or not the one sent.
    #[error("ID token nonce does not match the pending login: {detail}")]
    NonceMismatch {
        /// What was found.
        detail: String,
    },
    /// The asserted level of assurance is missing, unknown or too low.
    #[error(
        "level of assurance too low: the provider asserted {} ({}), {needed} is required",
        acr.as_deref().unwrap_or("no acr"),
        got.map_or("unknown level", Loa::as_str)
    )]
    LoaTooLow {
        /// The level the `acr` maps to, if Trygg knows it.
        got: Option<Loa>,
        /// The `acr` value as asserted (truncated), if any.
        acr: Option<String>,
        /// The level required: `max(wanted, provider's min_loa)`.
        needed: Loa,
    },
    /// The ID token carries neither an identity number nor an HSA-id.
    #[error("ID token from OIDC provider {provider:?} carries no identity number and no HSA-id")]
    MissingIdentity {
        /// The provider's configured name.
        provider: String,
    },
    /// An identity claim is present but invalid.
    #[error("claim {claim:?} in the ID token is invalid: {reason}")]
    InvalidClaim {
        /// The claim name.
        claim: String,
        /// Why (never the value).
        reason: String,
    },
    /// The system random generator failed.
    #[error("internal error: {detail}")]
    Internal {
        /// What failed.
        detail: String,
    },
}

const UNAVAILABLE_SV: &str = "Inloggningstjänsten är inte tillgänglig just nu. Försök igen senare.";
const UNAVAILABLE_EN: &str =
    "The login service is not available right now. Please try again later.";
const RESTART_SV: &str = "Inloggningen kunde inte slutföras. Börja om.";
const RESTART_EN: &str = "The login could not be completed. Please start again.";
const REFUSED_SV: &str = "Svaret från identitetsleverantören kunde inte godtas. Börja om.";
const REFUSED_EN: &str =
    "The identity provider's answer could not be accepted. Please start again.";

impl OidcError {
    /// Stable code for the user and for support.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Config { .. } => "OI001",
            OidcError::Discovery { .. } => "OI002",
            OidcError::UnknownProvider { .. } => "OI003",
            OidcError::LoginExpired => "OI004",
            OidcError::StateMismatch => "OI005",
            OidcError::Replayed => "OI006",
            OidcError::InvalidCallback { .. } => "OI007",
            OidcError::Http { .. } => "OI008",
            OidcError::TokenRejected { .. } => "OI009",
            OidcError::MalformedToken { .. } => "OI010",
            OidcError::WrongIssuer { .. } => "OI011",
            OidcError::WrongAudience { .. } => "OI012",
            OidcError::TokenExpired { .. } => "OI013",
            OidcError::DisallowedAlgorithm { .. } => "OI014",
            OidcError::BadSignature { .. } => "OI015",
            OidcError::UnknownKey { .. } => "OI016",
            OidcError::NonceMismatch { .. } => "OI017",
            OidcError::LoaTooLow { .. } => "OI018",
            OidcError::MissingIdentity { .. } => "OI019",
            OidcError::InvalidClaim { .. } => "OI020",
            OidcError::Internal { .. } => "OI021",
        }
    }

    /// What the user is told, in Swedish.
    pub fn message_sv(&self) -> &'static str {
        self.messages().0
    }

    /// What the user is told, in English.
    pub fn message_en(&self) -> &'static str {
        self.messages().1
    }

    /// What the user is told (Swedish first, English after), like `WebError::message`.
    pub fn message(&self) -> String {
        let (sv, en) = self.messages();
        format!("{sv} / {en}")
    }

    /// Whether the fault is on Trygg's or the provider's side rather than in
    /// this login attempt (log as an error, not as a refused login).
    pub fn is_service_failure(&self) -> bool {
        matches!(
            self,
            OidcError::Config { .. }
                | OidcError::Discovery { .. }
                | OidcError::UnknownProvider { .. }
                | OidcError::Http { .. }
                | OidcError::Internal { .. }
        )
    }

    fn messages(&self) -> (&'static str, &'static str) {
        match self {
            OidcError::Config { .. }
            | OidcError::Discovery { .. }
            | OidcError::UnknownProvider { .. }
            | OidcError::Http { .. }
            | OidcError::Internal { .. } => (UNAVAILABLE_SV, UNAVAILABLE_EN),
            OidcError::LoginExpired => (
                "Inloggningen tog för lång tid. Börja om.",
                "The login took too long. Please start again.",
            ),
            OidcError::StateMismatch | OidcError::Replayed | OidcError::InvalidCallback { .. } => {
                (RESTART_SV, RESTART_EN)
            }
            OidcError::TokenRejected { .. }
            | OidcError::MalformedToken { .. }
            | OidcError::WrongIssuer { .. }
            | OidcError::WrongAudience { .. }
            | OidcError::TokenExpired { .. }
            | OidcError::DisallowedAlgorithm { .. }
            | OidcError::BadSignature { .. }
            | OidcError::UnknownKey { .. }
            | OidcError::NonceMismatch { .. } => (REFUSED_SV, REFUSED_EN),
            OidcError::LoaTooLow { .. } => (
                "Inloggningsmetoden är inte tillräckligt säker här. Logga in med t.ex. BankID, Freja eID+ eller SITHS eID.",
                "This login method is not strong enough here. Log in with e.g. BankID, Freja eID+ or SITHS eID.",
            ),
            OidcError::MissingIdentity { .. } | OidcError::InvalidClaim { .. } => (
                "Identitetsleverantören lämnade inte ut ditt personnummer eller HSA-id.",
                "The identity provider did not give your personal identity number or HSA-id.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_messages_short() {
        let all = [
            OidcError::Config {
                provider: "p".into(),
                detail: "d".into(),
            },
            OidcError::Discovery {
                provider: "p".into(),
                detail: "d".into(),
            },
            OidcError::UnknownProvider {
                provider: "p".into(),
            },
            OidcError::LoginExpired,
            OidcError::StateMismatch,
            OidcError::Replayed,
            OidcError::InvalidCallback { detail: "d".into() },
            OidcError::Http {
                provider: "p".into(),
                detail: "d".into(),
            },
            OidcError::TokenRejected {
                provider: "p".into(),
                error: "invalid_grant".into(),
            },
            OidcError::MalformedToken { detail: "d".into() },
            OidcError::WrongIssuer { detail: "d".into() },
            OidcError::WrongAudience { detail: "d".into() },
            OidcError::TokenExpired { detail: "d".into() },
            OidcError::DisallowedAlgorithm { detail: "d".into() },
            OidcError::BadSignature { detail: "d".into() },
            OidcError::UnknownKey {
                provider: "p".into(),
            },
            OidcError::NonceMismatch { detail: "d".into() },
            OidcError::LoaTooLow {
                got: Some(Loa::Loa2),
                acr: None,
                needed: Loa::Loa3,
            },
            OidcError::MissingIdentity {
                provider: "p".into(),
            },
            OidcError::InvalidClaim {
                claim: "c".into(),
                reason: "r".into(),
            },
            OidcError::Internal { detail: "d".into() },
        ];
        let mut codes: Vec<_> = all.iter().map(OidcError::code).collect();
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(*code, format!("OI{:03}", i + 1));
        }
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for e in &all {
            assert!(
                e.message_sv().len() < 160 && e.message_en().len() < 160,
                "{e}"
            );
            assert!(e.message().contains(" / "));
        }
    }

    #[test]
    fn loa_message_names_both_levels() {
        let e = OidcError::LoaTooLow {
            got: Some(Loa::Loa2),
            acr: Some(Loa::Loa2.acr().to_owned()),
            needed: Loa::Loa3,
        };
        let s = e.to_string();
        assert!(s.contains("loa2") && s.contains("loa3 is required"), "{s}");
        let none = OidcError::LoaTooLow {
            got: None,
            acr: None,
            needed: Loa::Loa4,
        };
        assert!(none.to_string().contains("no acr (unknown level), loa4"));
    }
}
