//! trygg-oidc against a hostile fake provider: an axum server that serves
//! discovery, a JWKS of EC P-256 keys generated at test start, and a token
//! endpoint that returns whatever ID token a test crafts (JWTs built by hand,
//! ES256 signed with aws-lc-rs). Every forgery must be refused with its own
//! error; the valid token and a key rotation must pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openidconnect::url::form_urlencoded;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::Duration;
use time::macros::datetime;
use trygg_domain::{AuthMethod, Clock, Loa, ManualClock, VerifiedIdentity};
use trygg_oidc::{OidcError, OidcRp, PendingLogin, ProviderConfig, Secret, Url};

const CLIENT_ID: &str = "trygg";
const CLIENT_SECRET: &str = "client-secret-shared-with-the-provider";
const REDIRECT_URI: &str = "https://trygg.example/login/oidc/callback";
const PIN_CLAIM: &str = "https://id.oidc.se/claim/personalIdentityNumber";

// ---------------------------------------------------------------------------
// The fake provider
// ---------------------------------------------------------------------------

/// An ID token before signing; a test's tweak changes any part of it.
struct Token {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing: Signing,
}

enum Signing {
    /// ES256 with the provider's current key.
    Current,
    /// ES256 with this key (not published).
    Key(Arc<EcdsaKeyPair>),
    /// No signature at all (`alg: none`).
    Unsigned,
    /// HMAC-SHA-256 with this secret.
    Hs256(String),
    /// A valid signature with one bit flipped.
    Corrupt,
}

type Tweak = Box<dyn Fn(&mut Token) + Send + Sync>;

/// What the token endpoint returns for a code.
enum Answer {
    /// A fresh token for this login (nonce included), changed by the tweak.
    Mint(Tweak),
    /// Exactly this ID token.
    Fixed(String),
}

struct Grant {
    challenge: String,
    nonce: String,
    answer: Answer,
}

struct Keys {
    published: Vec<(String, Arc<EcdsaKeyPair>)>,
    signing: (String, Arc<EcdsaKeyPair>),
}

struct Shared {
    issuer: String,
    clock: ManualClock,
    keys: Mutex<Keys>,
    grants: Mutex<HashMap<String, Grant>>,
    jwks_fetches: Mutex<usize>,
    token_requests: Mutex<usize>,
}

#[derive(Clone)]
struct Fake {
    name: &'static str,
    shared: Arc<Shared>,
}

fn new_key() -> Arc<EcdsaKeyPair> {
    Arc::new(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jwk(kid: &str, key: &EcdsaKeyPair) -> Value {
    // Uncompressed point: 0x04 || x || y.
    let point = key.public_key().as_ref();
    assert_eq!(point.len(), 65);
    json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": b64(&point[1..33]), "y": b64(&point[33..65]),
    })
}

impl Fake {
    async fn start(name: &'static str, clock: ManualClock) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let key = new_key();
        let kid = format!("{name}-key-1");
        let shared = Arc::new(Shared {
            issuer,
            clock,
            keys: Mutex::new(Keys {
                published: vec![(kid.clone(), key.clone())],
                signing: (kid, key),
            }),
            grants: Mutex::new(HashMap::new()),
            jwks_fetches: Mutex::new(0),
            token_requests: Mutex::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake { name, shared }
    }

    fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    fn config(&self) -> ProviderConfig {
        ProviderConfig::new(
            self.name,
            self.issuer(),
            CLIENT_ID,
            Some(Secret::new(CLIENT_SECRET)),
            REDIRECT_URI,
        )
    }

    /// Plays the authorization endpoint: remembers the PKCE challenge and the
    /// nonce of `authorize` and returns a code that yields `answer`.
    fn authorize(&self, authorize: &Url, answer: Answer) -> String {
        assert!(
            authorize
                .as_str()
                .starts_with(&format!("{}/auth?", self.issuer()))
        );
        let param = |name: &str| {
            authorize
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("no {name} in {authorize}"))
        };
        assert_eq!(param("response_type"), "code");
        assert_eq!(param("client_id"), CLIENT_ID);
        assert_eq!(param("redirect_uri"), REDIRECT_URI);
        assert_eq!(param("code_challenge_method"), "S256");
        assert!(param("scope").split(' ').any(|s| s == "openid"));
        let code = format!("code-{}", b64(&random::<16>()));
        self.shared.grants.lock().unwrap().insert(
            code.clone(),
            Grant {
                challenge: param("code_challenge"),
                nonce: param("nonce"),
                answer,
            },
        );
        code
    }

    /// An ID token from this provider, as its token endpoint would mint it.
    fn mint(&self, nonce: &str, tweak: &(dyn Fn(&mut Token) + Send + Sync)) -> String {
        mint(&self.shared, nonce, tweak)
    }

    /// Publishes a new key (dropping the old one) and signs with it from now on.
    fn rotate_key(&self) -> String {
        let key = new_key();
        let kid = format!("{}-key-{}", self.name, b64(&random::<4>()));
        let mut keys = self.shared.keys.lock().unwrap();
        keys.published = vec![(kid.clone(), key.clone())];
        keys.signing = (kid.clone(), key);
        kid
    }

    fn jwks_fetches(&self) -> usize {
        *self.shared.jwks_fetches.lock().unwrap()
    }

    fn token_requests(&self) -> usize {
        *self.shared.token_requests.lock().unwrap()
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    bytes
}

fn mint(shared: &Shared, nonce: &str, tweak: &(dyn Fn(&mut Token) + Send + Sync)) -> String {
    let now = shared.clock.now().unix_timestamp();
    let (kid, key) = shared.keys.lock().unwrap().signing.clone();
    let Value::Object(header) = json!({ "alg": "ES256", "typ": "JWT", "kid": kid }) else {
        unreachable!()
    };
    let Value::Object(claims) = json!({
        "iss": shared.issuer,
        "aud": CLIENT_ID,
        "sub": "subject-1",
        "iat": now,
        "exp": now + 300,
        "auth_time": now - 20,
        "nonce": nonce,
        "acr": Loa::Loa3.acr(),
        PIN_CLAIM: "191212121212",
        "given_name": "Tolvan",
        "family_name": "Tolvansson",
    }) else {
        unreachable!()
    };
    let mut token = Token {
        header,
        claims,
        signing: Signing::Current,
    };
    tweak(&mut token);
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&token.header).unwrap()),
        b64(&serde_json::to_vec(&token.claims).unwrap())
    );
    let es256 = |key: &EcdsaKeyPair| {
        key.sign(&SystemRandom::new(), input.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec()
    };
    let signature = match &token.signing {
        Signing::Current => es256(&key),
        Signing::Key(other) => es256(other),
        Signing::Unsigned => Vec::new(),
        Signing::Hs256(secret) => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
            aws_lc_rs::hmac::sign(&key, input.as_bytes())
                .as_ref()
                .to_vec()
        }
        Signing::Corrupt => {
            let mut signature = es256(&key);
            signature[10] ^= 0x01;
            signature
        }
    };
    format!("{input}.{}", b64(&signature))
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    let issuer = &shared.issuer;
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": [Loa::Loa2.acr(), Loa::Loa3.acr(), Loa::Loa4.acr()],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    }))
    .into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    *shared.jwks_fetches.lock().unwrap() += 1;
    let keys = shared.keys.lock().unwrap();
    let keys: Vec<Value> = keys
        .published
        .iter()
        .map(|(kid, key)| jwk(kid, key))
        .collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({ "error": error }))).into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    *shared.token_requests.lock().unwrap() += 1;
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("authorization_code")
        || form.get("redirect_uri").map(String::as_str) != Some(REDIRECT_URI)
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // A code is good once, whatever happens next.
    let Some(grant) = form
        .get("code")
        .and_then(|code| shared.grants.lock().unwrap().remove(code))
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    // PKCE (RFC 7636): BASE64URL(SHA256(code_verifier)) == code_challenge.
    let verified = form.get("code_verifier").is_some_and(|verifier| {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        b64(digest.as_ref()) == grant.challenge
    });
    if !verified {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let id_token = match &grant.answer {
        Answer::Mint(tweak) => mint(&shared, &grant.nonce, tweak.as_ref()),
        Answer::Fixed(token) => token.clone(),
    };
    axum::Json(json!({
        "access_token": b64(&random::<24>()),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

// ---------------------------------------------------------------------------
// The relying party under test
// ---------------------------------------------------------------------------

struct Harness {
    rp: OidcRp,
    clock: ManualClock,
    a: Fake,
    b: Fake,
}

impl Harness {
    /// Two fake providers, "broker-a" and "broker-b", both configured.
    async fn new() -> Harness {
        let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
        let a = Fake::start("broker-a", clock.clone()).await;
        let b = Fake::start("broker-b", clock.clone()).await;
        let rp = OidcRp::discover(
            vec![a.config(), b.config()],
            Arc::new(clock.clone()),
            trygg_oidc::http_client().unwrap(),
        )
        .await
        .unwrap();
        Harness { rp, clock, a, b }
    }

    /// A whole login at `fake` asking for LoA3, answered with `answer`.
    async fn login(&self, fake: &Fake, answer: Answer) -> Result<VerifiedIdentity, OidcError> {
        let (url, pending) = self.rp.begin(fake.name, Loa::Loa3).unwrap();
        let code = fake.authorize(&url, answer);
        let state = pending.state().to_owned();
        self.rp.complete(pending, &state, &code).await
    }

    /// A login at provider A whose token is changed by `tweak`.
    async fn login_a(
        &self,
        tweak: impl Fn(&mut Token) + Send + Sync + 'static,
    ) -> Result<VerifiedIdentity, OidcError> {
        self.login(&self.a, Answer::Mint(Box::new(tweak))).await
    }
}

fn valid() -> Answer {
    Answer::Mint(Box::new(|_| {}))
}

fn code_of(result: Result<VerifiedIdentity, OidcError>) -> &'static str {
    result.map(|_| "ok").unwrap_or_else(|e| e.code())
}

// ---------------------------------------------------------------------------
// Positive cases
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_token_passes() {
    let h = Harness::new().await;
    let identity = h.login(&h.a, valid()).await.unwrap();
    assert_eq!(
        identity.identity_number.unwrap().canonical(),
        "191212121212"
    );
    assert_eq!(identity.loa, Loa::Loa3);
    assert_eq!(identity.provider, "broker-a");
    assert_eq!(identity.method, AuthMethod::Oidc);
    assert_eq!(
        identity.authenticated_at,
        h.clock.now() - Duration::seconds(20)
    );
    assert_eq!(identity.given_name.unwrap().as_str(), "Tolvan");

    // Provider B, with an HSA-id and no identity number, and no auth_time.
    let identity = h
        .login(
            &h.b,
            Answer::Mint(Box::new(|t| {
                t.claims.remove(PIN_CLAIM);
                t.claims.remove("auth_time");
                t.claims
                    .insert("employeeHsaId".into(), "SE2321000016-7FJK".into());
                t.claims.insert("acr".into(), Loa::Loa4.acr().into());
            })),
        )
        .await
        .unwrap();
    assert!(identity.identity_number.is_none());
    assert_eq!(identity.hsa_id.unwrap().as_str(), "SE2321000016-7FJK");
    assert_eq!(identity.loa, Loa::Loa4);
    assert_eq!(identity.provider, "broker-b");
    assert_eq!(identity.authenticated_at, h.clock.now());
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_accepted() {
    let h = Harness::new().await;
    h.login(&h.a, valid()).await.unwrap();
    assert_eq!(h.a.jwks_fetches(), 1);

    let kid = h.a.rotate_key();
    h.clock.advance(Duration::minutes(2));
    let identity = h
        .login_a(move |t| assert_eq!(t.header["kid"], kid.as_str()))
        .await
        .unwrap();
    assert_eq!(identity.provider, "broker-a");
    assert_eq!(h.a.jwks_fetches(), 2, "one re-fetch for the new kid");

    // The new key is now known: no further fetch.
    h.login(&h.a, valid()).await.unwrap();
    assert_eq!(h.a.jwks_fetches(), 2);
}

// ---------------------------------------------------------------------------
// Forged or wrong ID tokens
// ---------------------------------------------------------------------------

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let h = Harness::new().await;
    let err = h
        .login_a(|t| {
            t.claims.insert("iss".into(), "https://evil.example".into());
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::WrongIssuer { .. }), "{err}");
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let h = Harness::new().await;
    let err = h
        .login_a(|t| {
            t.claims.insert("aud".into(), "another-client".into());
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::WrongAudience { .. }), "{err}");
    // Our client id plus an audience we do not trust.
    let err = h
        .login_a(|t| {
            t.claims
                .insert("aud".into(), json!([CLIENT_ID, "another-client"]));
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::WrongAudience { .. }), "{err}");
}

#[tokio::test]
async fn expired_and_stale_tokens_are_refused() {
    let h = Harness::new().await;
    let now = h.clock.now().unix_timestamp();
    let err = h
        .login_a(move |t| {
            t.claims.insert("iat".into(), (now - 900).into());
            t.claims.insert("exp".into(), (now - 300).into());
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::TokenExpired { .. }), "{err}");
    // Still valid by exp, but issued long before this login began.
    let err = h
        .login_a(move |t| {
            t.claims.insert("iat".into(), (now - 3600).into());
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::TokenExpired { .. }), "{err}");
    // Issued in the future.
    let err = h
        .login_a(move |t| {
            t.claims.insert("iat".into(), (now + 600).into());
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::TokenExpired { .. }), "{err}");
    // Within the leeway: an exp 30 s ago still passes.
    h.login_a(move |t| {
        t.claims.insert("exp".into(), (now - 30).into());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn alg_none_is_refused() {
    let h = Harness::new().await;
    let err = h
        .login_a(|t| {
            t.header.insert("alg".into(), "none".into());
            t.header.remove("kid");
            t.signing = Signing::Unsigned;
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::DisallowedAlgorithm { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn hs256_signed_with_the_client_secret_is_refused() {
    let h = Harness::new().await;
    let err = h
        .login_a(|t| {
            t.header.insert("alg".into(), "HS256".into());
            t.header.remove("kid");
            t.signing = Signing::Hs256(CLIENT_SECRET.to_owned());
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::DisallowedAlgorithm { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_signature_is_refused() {
    let h = Harness::new().await;
    let err = h
        .login_a(|t| t.signing = Signing::Corrupt)
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::BadSignature { .. }), "{err}");
    // Signed by another key under the published kid.
    let other = new_key();
    let err = h
        .login_a(move |t| t.signing = Signing::Key(other.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::BadSignature { .. }), "{err}");
    // A changed payload under a valid signature.
    let good = h.a.mint("n", &|_| {});
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut claims: Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims.insert(PIN_CLAIM.into(), "194001019803".into());
    parts[1] = b64(&serde_json::to_vec(&claims).unwrap());
    let forged = parts.join(".");
    let (url, pending) = h.rp.begin("broker-a", Loa::Loa3).unwrap();
    let code = h.a.authorize(&url, Answer::Fixed(forged));
    let state = pending.state().to_owned();
    let err = h.rp.complete(pending, &state, &code).await.unwrap_err();
    assert!(matches!(err, OidcError::BadSignature { .. }), "{err}");
}

#[tokio::test]
async fn a_malformed_id_token_is_refused_without_quoting_it() {
    let h = Harness::new().await;
    for garbage in [
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJFUzI1NiJ9.MTkxMjEyMTIxMjEy.c2ln",
    ] {
        let err = h
            .login(&h.a, Answer::Fixed(garbage.to_owned()))
            .await
            .unwrap_err();
        assert!(matches!(err, OidcError::MalformedToken { .. }), "{err}");
        assert!(!err.to_string().contains("191212121212"), "{err}");
    }
}

#[tokio::test]
async fn an_unknown_kid_is_refused_after_one_jwks_refresh() {
    let h = Harness::new().await;
    assert_eq!(h.a.jwks_fetches(), 1);
    h.clock.advance(Duration::minutes(2));
    let stranger = new_key();
    let tweak = move |t: &mut Token| {
        t.header.insert("kid".into(), "not-published".into());
        t.signing = Signing::Key(stranger.clone());
    };
    let tweak = Arc::new(tweak);
    let again = tweak.clone();
    let err = h.login_a(move |t| tweak(t)).await.unwrap_err();
    assert_eq!(
        err,
        OidcError::UnknownKey {
            provider: "broker-a".into()
        }
    );
    assert_eq!(h.a.jwks_fetches(), 2, "exactly one re-fetch");

    // Within the minute: refused without asking the provider again.
    let err = h.login_a(move |t| again(t)).await.unwrap_err();
    assert_eq!(err.code(), "OI016");
    assert_eq!(h.a.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_wrong_missing_or_replayed_nonce_is_refused() {
    let h = Harness::new().await;
    let err = h
        .login_a(|t| {
            t.claims.insert("nonce".into(), "some-other-nonce".into());
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::NonceMismatch { .. }), "{err}");

    let err = h
        .login_a(|t| {
            t.claims.remove("nonce");
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::NonceMismatch { .. }), "{err}");

    // A token from an earlier, completed login presented again.
    let (url, pending) = h.rp.begin("broker-a", Loa::Loa3).unwrap();
    let first_nonce = url
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let old_token = h.a.mint(&first_nonce, &|_| {});
    let code = h.a.authorize(&url, Answer::Fixed(old_token.clone()));
    let state = pending.state().to_owned();
    h.rp.complete(pending, &state, &code).await.unwrap();
    let err = h.login(&h.a, Answer::Fixed(old_token)).await.unwrap_err();
    assert!(matches!(err, OidcError::NonceMismatch { .. }), "{err}");
}

#[tokio::test]
async fn a_too_low_missing_or_unknown_acr_is_refused() {
    let h = Harness::new().await;
    let err = h
        .login_a(|t| {
            t.claims.insert("acr".into(), Loa::Loa2.acr().into());
        })
        .await
        .unwrap_err();
    assert_eq!(
        err,
        OidcError::LoaTooLow {
            got: Some(Loa::Loa2),
            acr: Some(Loa::Loa2.acr().into()),
            needed: Loa::Loa3
        }
    );
    assert!(err.to_string().contains("loa3 is required"), "{err}");

    let err = h
        .login_a(|t| {
            t.claims.remove("acr");
        })
        .await
        .unwrap_err();
    assert_eq!(
        err,
        OidcError::LoaTooLow {
            got: None,
            acr: None,
            needed: Loa::Loa3
        }
    );

    let err = h
        .login_a(|t| {
            t.claims.insert("acr".into(), "urn:example:password".into());
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OidcError::LoaTooLow {
                got: None,
                acr: Some(_),
                ..
            }
        ),
        "{err}"
    );

    // A login asking for LoA4 is not satisfied by LoA3.
    let (url, pending) = h.rp.begin("broker-a", Loa::Loa4).unwrap();
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "acr_values" && v == Loa::Loa4.acr())
    );
    let code = h.a.authorize(&url, valid());
    let state = pending.state().to_owned();
    let err = h.rp.complete(pending, &state, &code).await.unwrap_err();
    assert!(
        matches!(
            err,
            OidcError::LoaTooLow {
                needed: Loa::Loa4,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_token_without_identity_is_refused() {
    let h = Harness::new().await;
    let err = h
        .login_a(|t| {
            t.claims.remove(PIN_CLAIM);
        })
        .await
        .unwrap_err();
    assert_eq!(
        err,
        OidcError::MissingIdentity {
            provider: "broker-a".into()
        }
    );
    let err = h
        .login_a(|t| {
            t.claims.insert(PIN_CLAIM.into(), "191212121213".into());
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::InvalidClaim { .. }), "{err}");
}

#[tokio::test]
async fn a_token_from_another_configured_provider_is_refused() {
    let h = Harness::new().await;
    // Begun at B; B's token endpoint hands over a genuine token of A's
    // (A's issuer and key, this login's nonce, our client id).
    let (url, pending) = h.rp.begin("broker-b", Loa::Loa3).unwrap();
    let nonce = url
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let from_a = h.a.mint(&nonce, &|_| {});
    let code = h.b.authorize(&url, Answer::Fixed(from_a.clone()));
    let state = pending.state().to_owned();
    let err = h.rp.complete(pending, &state, &code).await.unwrap_err();
    assert!(matches!(err, OidcError::WrongIssuer { .. }), "{err}");

    // Claiming B's issuer does not help: A's key is not B's.
    let a = h.a.clone();
    let b_issuer = h.b.issuer().to_owned();
    let err = h
        .login(
            &h.b,
            Answer::Mint(Box::new(move |t| {
                let (kid, key) = a.shared.keys.lock().unwrap().signing.clone();
                t.header.insert("kid".into(), kid.into());
                t.claims.insert("iss".into(), b_issuer.clone().into());
                t.signing = Signing::Key(key);
            })),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "OI016", "{err}");
}

// ---------------------------------------------------------------------------
// The callback and the pending login
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_mismatched_state_is_refused_before_the_code_is_used() {
    let h = Harness::new().await;
    let (url, pending) = h.rp.begin("broker-a", Loa::Loa3).unwrap();
    let code = h.a.authorize(&url, valid());
    let err =
        h.rp.complete(pending.clone(), "forged-state", &code)
            .await
            .unwrap_err();
    assert_eq!(err, OidcError::StateMismatch);
    let err = h.rp.complete(pending.clone(), "", &code).await.unwrap_err();
    assert_eq!(err, OidcError::StateMismatch);
    assert_eq!(h.a.token_requests(), 0);
    // The right state still works afterwards.
    let state = pending.state().to_owned();
    h.rp.complete(pending, &state, &code).await.unwrap();
}

#[tokio::test]
async fn a_wrong_or_missing_pkce_verifier_is_refused() {
    let h = Harness::new().await;
    let tamper = |pending: &PendingLogin, verifier: &str| -> PendingLogin {
        let mut json = serde_json::to_value(pending).unwrap();
        json["pkce_verifier"] = verifier.into();
        serde_json::from_value(json).unwrap()
    };

    // Wrong verifier: the provider's PKCE check refuses the code.
    let (url, pending) = h.rp.begin("broker-a", Loa::Loa3).unwrap();
    let code = h.a.authorize(&url, valid());
    let state = pending.state().to_owned();
    let err =
        h.rp.complete(tamper(&pending, &"x".repeat(43)), &state, &code)
            .await
            .unwrap_err();
    assert_eq!(
        err,
        OidcError::TokenRejected {
            provider: "broker-a".into(),
            error: "invalid_grant".into()
        }
    );

    // Missing verifier: refused before the provider is asked.
    let (url, pending) = h.rp.begin("broker-a", Loa::Loa3).unwrap();
    let code = h.a.authorize(&url, valid());
    let state = pending.state().to_owned();
    let requests = h.a.token_requests();
    let err =
        h.rp.complete(tamper(&pending, ""), &state, &code)
            .await
            .unwrap_err();
    assert!(matches!(err, OidcError::InvalidCallback { .. }), "{err}");
    assert_eq!(h.a.token_requests(), requests);
}

#[tokio::test]
async fn a_pending_login_is_good_once_and_for_ten_minutes() {
    let h = Harness::new().await;
    let (url, pending) = h.rp.begin("broker-a", Loa::Loa3).unwrap();
    let code = h.a.authorize(&url, valid());
    let state = pending.state().to_owned();
    h.rp.complete(pending.clone(), &state, &code).await.unwrap();
    let err = h.rp.complete(pending, &state, &code).await.unwrap_err();
    assert_eq!(err, OidcError::Replayed);

    let (url, pending) = h.rp.begin("broker-a", Loa::Loa3).unwrap();
    assert_eq!(pending.expires_at(), h.clock.now() + Duration::minutes(10));
    let code = h.a.authorize(&url, valid());
    h.clock
        .advance(Duration::minutes(10) + Duration::seconds(1));
    let state = pending.state().to_owned();
    let err = h.rp.complete(pending, &state, &code).await.unwrap_err();
    assert_eq!(err, OidcError::LoginExpired);
}

#[tokio::test]
async fn begin_makes_fresh_secrets_and_keeps_them_out_of_debug() {
    let h = Harness::new().await;
    let (url1, p1) = h.rp.begin("broker-a", Loa::Loa2).unwrap();
    let (url2, p2) = h.rp.begin("broker-a", Loa::Loa2).unwrap();
    assert_ne!(p1.state(), p2.state());
    assert!(p1.state().len() >= 43, "at least 256 bits, base64url");
    let param = |url: &Url, name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert_ne!(param(&url1, "nonce"), param(&url2, "nonce"));
    assert_ne!(
        param(&url1, "code_challenge"),
        param(&url2, "code_challenge")
    );
    // The provider's min_loa (LoA3 by default) raises what is asked for.
    assert_eq!(param(&url1, "acr_values"), Loa::Loa3.acr());
    let json = serde_json::to_value(&p1).unwrap();
    let debug = format!("{p1:?} {:?}", h.rp);
    for secret in ["state", "nonce", "pkce_verifier"] {
        let value = json[secret].as_str().unwrap();
        assert!(value.len() >= 43);
        assert!(!debug.contains(value), "{secret} in Debug: {debug}");
    }
    assert!(!debug.contains(CLIENT_SECRET));
    assert_eq!(
        h.rp.begin("nope", Loa::Loa3).unwrap_err(),
        OidcError::UnknownProvider {
            provider: "nope".into()
        }
    );
}

#[tokio::test]
async fn discovery_failures_name_the_provider() {
    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let good = Fake::start("good", clock.clone()).await;
    // An issuer whose discovery document names another issuer.
    let liar = Fake::start("liar", clock.clone()).await;
    let mut config = liar.config();
    config.issuer = format!("{}/tenant", liar.issuer());
    let err = OidcRp::discover(
        vec![good.config(), config],
        Arc::new(clock.clone()),
        trygg_oidc::http_client().unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, OidcError::Discovery { provider, .. } if provider == "liar"),
        "{err}"
    );

    let err = OidcRp::discover(
        vec![good.config(), good.config()],
        Arc::new(clock),
        trygg_oidc::http_client().unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "OI001");
}

#[test]
fn every_refusal_has_its_own_code() {
    // The codes the cases above rely on, in one place.
    let cases = [
        (
            OidcError::WrongIssuer {
                detail: String::new(),
            },
            "OI011",
        ),
        (
            OidcError::WrongAudience {
                detail: String::new(),
            },
            "OI012",
        ),
        (
            OidcError::TokenExpired {
                detail: String::new(),
            },
            "OI013",
        ),
        (
            OidcError::DisallowedAlgorithm {
                detail: String::new(),
            },
            "OI014",
        ),
        (
            OidcError::BadSignature {
                detail: String::new(),
            },
            "OI015",
        ),
        (
            OidcError::UnknownKey {
                provider: String::new(),
            },
            "OI016",
        ),
        (
            OidcError::NonceMismatch {
                detail: String::new(),
            },
            "OI017",
        ),
        (OidcError::StateMismatch, "OI005"),
        (
            OidcError::MissingIdentity {
                provider: String::new(),
            },
            "OI019",
        ),
    ];
    for (err, code) in cases {
        assert_eq!(code_of(Err(err)), code);
    }
}
