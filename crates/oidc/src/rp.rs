//! The relying party: discovery, the authorization request and the callback.

use crate::OidcError;
use crate::claims;
use crate::config::{ProviderConfig, sanitize};
use crate::http::{HttpError, send};
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdToken, CoreIdTokenClaims,
    CoreIdTokenVerifier, CoreJsonWebKey, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreTokenResponse,
};
use openidconnect::url::Url;
use openidconnect::{
    AuthType, AuthenticationContextClass, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, DiscoveryError, EndpointNotSet, EndpointSet, HttpRequest, IssuerUrl,
    JsonWebKeySet, JsonWebKeySetUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use time::{Duration, OffsetDateTime};
use trygg_domain::{AuthMethod, Clock, Loa, VerifiedIdentity};

/// How long a begun login may take before [`OidcRp::complete`] refuses it.
pub const LOGIN_LIFETIME: Duration = Duration::minutes(10);
/// Tolerated clock difference between Trygg and a provider.
pub const CLOCK_LEEWAY: Duration = Duration::seconds(60);
/// At most one JWKS re-fetch per provider in this interval (an unknown `kid`
/// must not let anyone make Trygg hammer the provider).
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::minutes(1);

/// The only ID-token signature algorithms accepted: never `none`, never `HS*`.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 4] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EdDsa,
];
/// Longest authorization code accepted from the browser.
const MAX_CODE_LEN: usize = 2048;
/// Random bytes in `state`, `nonce` and the PKCE verifier (256 bits; the
/// verifier becomes 43 base64url characters, the RFC 7636 minimum).
const RANDOM_BYTES: usize = 32;

type RpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// A login between [`OidcRp::begin`] and [`OidcRp::complete`].
///
/// Kept server-side by the caller (e.g. keyed by [`state`](Self::state) in a
/// short-lived store); only the state travels through the browser, inside the
/// authorization URL. Holds secrets: `Debug` shows none of them.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    provider: String,
    state: Secret,
    nonce: Secret,
    pkce_verifier: Secret,
    wanted: Loa,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl PendingLogin {
    /// The provider the login was begun at.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The `state` sent in the authorization URL (the key to find this
    /// pending login again when the browser comes back).
    pub fn state(&self) -> &str {
        self.state.expose()
    }

    /// The level of assurance the login asked for.
    pub fn wanted(&self) -> Loa {
        self.wanted
    }

    /// When the login was begun.
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// After this instant [`OidcRp::complete`] refuses the login.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.created_at + LOGIN_LIFETIME
    }
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("provider", &self.provider)
            .field("wanted", &self.wanted)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A configured provider as a login page lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderInfo<'a> {
    /// The stable name ([`ProviderConfig::name`]).
    pub name: &'a str,
    /// What the user sees.
    pub display_name: &'a str,
    /// The lowest level of assurance accepted from it.
    pub min_loa: Loa,
}

struct Provider {
    config: ProviderConfig,
    client: RpClient,
    client_id: ClientId,
    issuer: IssuerUrl,
    jwks_uri: JsonWebKeySetUrl,
    keys: RwLock<Vec<CoreJsonWebKey>>,
    last_jwks_fetch: Mutex<OffsetDateTime>,
}

/// The OpenID Connect relying party for every configured provider.
///
/// Built once at start by [`discover`](Self::discover); shared (`Arc`) by
/// the handlers that call [`begin`](Self::begin) and [`complete`](Self::complete).
pub struct OidcRp {
    providers: Vec<Provider>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// SHA-256 of the state of every login completed (or attempted) in the
    /// last [`LOGIN_LIFETIME`], with its expiry: a pending login is good once.
    used: Mutex<HashMap<[u8; 32], OffsetDateTime>>,
}

impl fmt::Debug for OidcRp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcRp")
            .field(
                "providers",
                &self
                    .providers
                    .iter()
                    .map(|p| &p.config.name)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl OidcRp {
    /// Runs OpenID Connect discovery and fetches the JWKS of every provider.
    ///
    /// `http` should come from [`http_client`](crate::http_client) (or at
    /// least never follow redirects). Fails on the first provider that is
    /// misconfigured or cannot be discovered, naming it.
    pub async fn discover(
        configs: Vec<ProviderConfig>,
        clock: Arc<dyn Clock>,
        http: reqwest::Client,
    ) -> Result<Self, OidcError> {
        let mut names = HashSet::new();
        for config in &configs {
            config.validate()?;
            if !names.insert(config.name.clone()) {
                return Err(OidcError::Config {
                    provider: config.name.clone(),
                    detail: "two providers have this name".to_owned(),
                });
            }
        }
        let mut providers = Vec::with_capacity(configs.len());
        for config in configs {
            let provider = Provider::discover(config, &http, clock.now()).await?;
            tracing::info!(
                provider = %provider.config.name,
                issuer = %provider.issuer.as_str(),
                keys = provider.key_count(),
                "OIDC provider discovered"
            );
            providers.push(provider);
        }
        Ok(Self {
            providers,
            clock,
            http,
            used: Mutex::new(HashMap::new()),
        })
    }

    /// The origins (`https://idp.example`) the browser is sent to, for the
    /// login form's Content-Security-Policy `form-action`.
    pub fn authorization_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = self
            .providers
            .iter()
            .map(|p| p.client.auth_uri().url().origin().ascii_serialization())
            .filter(|o| o != "null")
            .collect();
        origins.dedup();
        origins
    }

    /// The configured providers, in configuration order.
    pub fn providers(&self) -> impl Iterator<Item = ProviderInfo<'_>> {
        self.providers.iter().map(|p| ProviderInfo {
            name: &p.config.name,
            display_name: &p.config.display_name,
            min_loa: p.config.min_loa,
        })
    }

    /// Begins a login at `provider` asking for at least `wanted` (raised to
    /// the provider's `min_loa`): returns the URL to send the browser to and
    /// the [`PendingLogin`] to keep until it comes back.
    ///
    /// Authorization code flow with PKCE (S256), a fresh random `state` and
    /// `nonce` (256 bits each) and `acr_values` for the level.
    pub fn begin(&self, provider: &str, wanted: Loa) -> Result<(Url, PendingLogin), OidcError> {
        let p = self.provider(provider)?;
        let needed = wanted.max(p.config.min_loa);
        let state = random_token()?;
        let nonce = random_token()?;
        let pkce_verifier = random_token()?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pkce_verifier.expose().to_owned(),
        ));
        let (state_param, nonce_param) = (state.expose().to_owned(), nonce.expose().to_owned());
        let (url, _, _) = p
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state_param),
                move || Nonce::new(nonce_param),
            )
            .add_scopes(
                p.config
                    .scopes
                    .iter()
                    .filter(|s| s.as_str() != "openid")
                    .map(|s| Scope::new(s.clone())),
            )
            .add_auth_context_value(AuthenticationContextClass::new(needed.acr().to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        tracing::debug!(provider = %p.config.name, loa = %needed, "OIDC login begun");
        let pending = PendingLogin {
            provider: p.config.name.clone(),
            state,
            nonce,
            pkce_verifier,
            wanted,
            created_at: self.clock.now(),
        };
        Ok((url, pending))
    }

    /// Completes a login when the browser returns with `state` and `code`.
    ///
    /// Checks the state (constant time) and the pending login's age,
    /// exchanges the code with the PKCE verifier, validates the ID token
    /// (issuer, audience, expiry and issue time, signature against the
    /// provider's JWKS with an algorithm allow-list, nonce), maps `acr` to a
    /// level of assurance and reads the identity claims. A pending login is
    /// good for one attempt.
    pub async fn complete(
        &self,
        pending: PendingLogin,
        returned_state: &str,
        code: &str,
    ) -> Result<VerifiedIdentity, OidcError> {
        let p = self.provider(&pending.provider)?;
        let now = self.clock.now();
        if aws_lc_rs::constant_time::verify_slices_are_equal(
            returned_state.as_bytes(),
            pending.state.expose().as_bytes(),
        )
        .is_err()
        {
            return Err(OidcError::StateMismatch);
        }
        if now > pending.expires_at() {
            return Err(OidcError::LoginExpired);
        }
        if pending.created_at > now + CLOCK_LEEWAY {
            return Err(OidcError::InvalidCallback {
                detail: "the pending login was created in the future".to_owned(),
            });
        }
        if code.is_empty()
            || code.len() > MAX_CODE_LEN
            || !code.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(OidcError::InvalidCallback {
                detail: "the authorization code is missing or malformed".to_owned(),
            });
        }
        let verifier = pending.pkce_verifier.expose();
        let verifier_ok = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        if !verifier_ok {
            return Err(OidcError::InvalidCallback {
                detail: "the pending login's PKCE verifier is malformed".to_owned(),
            });
        }
        self.mark_used(&pending, now)?;

        let http = |request: HttpRequest| send(self.http.clone(), request);
        let response: CoreTokenResponse = p
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| token_error(&p.config.name, e))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::MalformedToken {
                detail: "the token response has no id_token".to_owned(),
            })?;

        let nonce = Nonce::new(pending.nonce.expose().to_owned());
        let verified = match self.verify(p, id_token, &nonce, pending.created_at) {
            Err(e) if is_unknown_key(&e) => {
                if !self.refresh_jwks(p).await? {
                    return Err(OidcError::UnknownKey {
                        provider: p.config.name.clone(),
                    });
                }
                self.verify(p, id_token, &nonce, pending.created_at)
            }
            other => other,
        };
        let id_claims = verified.map_err(|e| claims_error(&p.config.name, e))?;

        let needed = pending.wanted.max(p.config.min_loa);
        let acr = id_claims.auth_context_ref().map(|a| a.as_str());
        let got = acr.and_then(Loa::from_acr);
        let loa = match got {
            Some(loa) if loa >= needed => loa,
            _ => {
                return Err(OidcError::LoaTooLow {
                    got,
                    acr: acr.map(sanitize),
                    needed,
                });
            }
        };
        let authenticated_at = match id_claims.auth_time() {
            Some(t) => OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|_| {
                OidcError::TokenExpired {
                    detail: "auth_time is out of range".to_owned(),
                }
            })?,
            None => now,
        };

        // The payload's signature has just been verified; read the Swedish
        // claims (configurable names) from it.
        let raw = claims::payload(&id_token.to_string())?;
        let identity = claims::identity(&raw, &p.config.identity_claims, &p.config.name)?;
        tracing::info!(
            provider = %p.config.name,
            loa = %loa,
            identity_number = identity.identity_number.is_some(),
            hsa_id = identity.hsa_id.is_some(),
            "OIDC login verified"
        );
        Ok(VerifiedIdentity {
            identity_number: identity.identity_number,
            hsa_id: identity.hsa_id,
            given_name: identity.given_name,
            family_name: identity.family_name,
            org_affiliation: identity.org_affiliation,
            method: AuthMethod::Oidc,
            provider: p.config.name.clone(),
            loa,
            authenticated_at,
        })
    }

    fn provider(&self, name: &str) -> Result<&Provider, OidcError> {
        self.providers
            .iter()
            .find(|p| p.config.name == name)
            .ok_or_else(|| OidcError::UnknownProvider {
                provider: sanitize(name),
            })
    }

    /// Records the pending login as used; refuses it if it already was.
    fn mark_used(&self, pending: &PendingLogin, now: OffsetDateTime) -> Result<(), OidcError> {
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            pending.state.expose().as_bytes(),
        );
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        used.retain(|_, expires| *expires >= now);
        if used.insert(key, pending.expires_at()).is_some() {
            return Err(OidcError::Replayed);
        }
        Ok(())
    }

    /// Verifies the ID token against the provider's current keys.
    fn verify<'t>(
        &self,
        p: &Provider,
        id_token: &'t CoreIdToken,
        nonce: &Nonce,
        login_began: OffsetDateTime,
    ) -> Result<&'t CoreIdTokenClaims, ClaimsVerificationError> {
        let keys = p
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (exp_clock, iat_clock, auth_clock) =
            (self.clock.clone(), self.clock.clone(), self.clock.clone());
        // A public-client verifier has no client secret, so HS* can never
        // verify; the allow-list refuses it (and `none`) before that.
        let verifier = CoreIdTokenVerifier::new_public_client(
            p.client_id.clone(),
            p.issuer.clone(),
            JsonWebKeySet::new(keys),
        )
        .set_allowed_algs(ALLOWED_ALGS)
        // openidconnect refuses when now >= exp; the leeway moves "now" back.
        .set_time_fn(move || to_chrono(exp_clock.now() - CLOCK_LEEWAY))
        .set_issue_time_verifier_fn(move |iat| {
            let iat = from_chrono(iat);
            if iat > iat_clock.now() + CLOCK_LEEWAY {
                Err("the ID token was issued in the future".to_owned())
            } else if iat < login_began - CLOCK_LEEWAY {
                Err("the ID token was issued before this login began".to_owned())
            } else {
                Ok(())
            }
        })
        .set_auth_time_verifier_fn(move |auth_time| match auth_time {
            Some(t) if from_chrono(t) > auth_clock.now() + CLOCK_LEEWAY => {
                Err("auth_time is in the future".to_owned())
            }
            _ => Ok(()),
        });
        id_token.claims(&verifier, nonce)
    }

    /// Fetches the provider's JWKS again unless that was done less than
    /// [`JWKS_REFRESH_INTERVAL`] ago. Returns whether it did.
    async fn refresh_jwks(&self, p: &Provider) -> Result<bool, OidcError> {
        let now = self.clock.now();
        {
            let mut last = p
                .last_jwks_fetch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if now < *last + JWKS_REFRESH_INTERVAL {
                tracing::warn!(provider = %p.config.name, "unknown ID-token key; JWKS fetched less than a minute ago, not again");
                return Ok(false);
            }
            *last = now;
        }
        let http = |request: HttpRequest| send(self.http.clone(), request);
        let jwks = JsonWebKeySet::<CoreJsonWebKey>::fetch_async(&p.jwks_uri, &http)
            .await
            .map_err(|e| OidcError::Http {
                provider: p.config.name.clone(),
                detail: format!("re-fetching the JWKS: {}", discovery_detail(&e)),
            })?;
        let count = jwks.keys().len();
        *p.keys.write().unwrap_or_else(PoisonError::into_inner) = jwks.keys().clone();
        tracing::info!(provider = %p.config.name, keys = count, "unknown ID-token key; JWKS re-fetched");
        Ok(true)
    }
}

impl Provider {
    async fn discover(
        config: ProviderConfig,
        http: &reqwest::Client,
        now: OffsetDateTime,
    ) -> Result<Self, OidcError> {
        let config_error = |detail: String| OidcError::Config {
            provider: config.name.clone(),
            detail,
        };
        let discovery_error = |detail: String| OidcError::Discovery {
            provider: config.name.clone(),
            detail,
        };
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| config_error(format!("issuer is not a URL: {e}")))?;
        let redirect = RedirectUrl::new(config.redirect_uri.clone())
            .map_err(|e| config_error(format!("redirect_uri is not a URL: {e}")))?;
        let send_with = |request: HttpRequest| send(http.clone(), request);
        let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &send_with)
            .await
            .map_err(|e| discovery_error(discovery_detail(&e)))?;
        let token_url = metadata
            .token_endpoint()
            .cloned()
            .ok_or_else(|| discovery_error("the provider has no token endpoint".to_owned()))?;
        // client_secret_basic is the default when the provider lists nothing.
        let auth_type = match metadata.token_endpoint_auth_methods_supported() {
            Some(methods)
                if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
            {
                AuthType::RequestBody
            }
            _ => AuthType::BasicAuth,
        };
        let client_id = ClientId::new(config.client_id.clone());
        let mut client = CoreClient::new(
            client_id.clone(),
            issuer.clone(),
            JsonWebKeySet::new(Vec::new()),
        )
        .set_auth_uri(metadata.authorization_endpoint().clone())
        .set_token_uri(token_url)
        .set_redirect_uri(redirect)
        .set_auth_type(auth_type);
        if let Some(secret) = &config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
        }
        Ok(Self {
            client,
            client_id,
            issuer,
            jwks_uri: metadata.jwks_uri().clone(),
            keys: RwLock::new(metadata.jwks().keys().clone()),
            last_jwks_fetch: Mutex::new(now),
            config,
        })
    }

    fn key_count(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// 256 random bits, base64url without padding (43 characters).
fn random_token() -> Result<Secret, OidcError> {
    let mut bytes = [0u8; RANDOM_BYTES];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| OidcError::Internal {
        detail: "the system random generator failed".to_owned(),
    })?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
}

fn to_chrono(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    // Out of chrono's range cannot happen for a real clock; fail closed
    // (everything counts as expired) if it ever does.
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.timestamp()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn is_unknown_key(e: &ClaimsVerificationError) -> bool {
    matches!(
        e,
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey
                | SignatureVerificationError::AmbiguousKeyId(_)
        )
    )
}

/// An error and its sources, one line.
fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn discovery_detail(e: &DiscoveryError<HttpError>) -> String {
    chain(e)
}

fn token_error(
    provider: &str,
    e: RequestTokenError<
        HttpError,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> OidcError {
    match e {
        RequestTokenError::ServerResponse(response) => OidcError::TokenRejected {
            provider: provider.to_owned(),
            error: match response.error_description() {
                Some(d) => format!("{} ({})", response.error().as_ref(), sanitize(d)),
                None => response.error().as_ref().to_owned(),
            },
        },
        RequestTokenError::Request(e) => OidcError::Http {
            provider: provider.to_owned(),
            detail: chain(&e),
        },
        // The path names the field. Neither the body (tokens) nor serde's
        // message (it may quote a claim's value) is kept.
        RequestTokenError::Parse(e, _body) => OidcError::MalformedToken {
            detail: format!(
                "the token response does not parse at `{}` ({:?} error)",
                e.path(),
                e.inner().classify()
            ),
        },
        RequestTokenError::Other(detail) => OidcError::Http {
            provider: provider.to_owned(),
            detail: sanitize(&detail),
        },
    }
}

fn claims_error(provider: &str, e: ClaimsVerificationError) -> OidcError {
    use ClaimsVerificationError as C;
    use SignatureVerificationError as S;
    match e {
        C::InvalidIssuer(detail) => OidcError::WrongIssuer { detail },
        C::InvalidAudience(detail) => OidcError::WrongAudience { detail },
        C::Expired(detail) | C::InvalidAuthTime(detail) => OidcError::TokenExpired { detail },
        C::InvalidNonce(detail) => OidcError::NonceMismatch { detail },
        C::SignatureVerification(S::NoMatchingKey | S::AmbiguousKeyId(_)) => {
            OidcError::UnknownKey {
                provider: provider.to_owned(),
            }
        }
        C::SignatureVerification(
            s @ (S::DisallowedAlg(_) | S::UnsupportedAlg(_) | S::NoSignature),
        ) => OidcError::DisallowedAlgorithm {
            detail: s.to_string(),
        },
        C::SignatureVerification(s) => OidcError::BadSignature {
            detail: s.to_string(),
        },
        other => OidcError::MalformedToken {
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_rp_can_be_shared_between_handlers() {
        is_send_sync::<OidcRp>();
        is_send_sync::<PendingLogin>();
    }

    // Compiles only if `complete` can run inside a multi-threaded server.
    #[allow(dead_code)]
    fn complete_is_send(rp: &OidcRp, pending: PendingLogin) -> impl Send + '_ {
        rp.complete(pending, "", "")
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn chrono_round_trip() {
        let t = time::macros::datetime!(2026-03-02 09:00:07 UTC);
        assert_eq!(from_chrono(to_chrono(t)), t);
    }
}
