//! Trygg's OpenID Connect relying party.
//!
//! One [`OidcRp`] serves any number of configured providers
//! ([`ProviderConfig`]): Swedish e-ID brokers (BankID, Freja eID+) and Inera
//! IdP (SITHS eID). [`OidcRp::begin`] starts an authorization-code login with
//! PKCE and asks for a level of assurance; [`OidcRp::complete`] validates the
//! answer and yields a [`trygg_domain::VerifiedIdentity`].
//! See `docs/design/oidc.md`.
//!
//! Architecture invariant: time comes from a [`trygg_domain::Clock`]; this
//! crate never reads the system clock. Secrets (client secret, state, nonce,
//! PKCE verifier) never appear in `Debug` output or logs.

mod claims;
mod config;
mod error;
mod http;
mod rp;
mod secret;

pub use config::{
    CLAIM_COORDINATION_NUMBER, CLAIM_ORG_AFFILIATION, CLAIM_PERSONAL_IDENTITY_NUMBER,
    IdentityClaims, ProviderConfig, SCOPE_NATURAL_PERSON_NUMBER,
};
pub use error::OidcError;
pub use http::http_client;
pub use openidconnect::url::Url;
pub use rp::{
    CLOCK_LEEWAY, JWKS_REFRESH_INTERVAL, LOGIN_LIFETIME, OidcRp, PendingLogin, ProviderInfo,
};
pub use secret::Secret;
