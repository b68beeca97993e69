//! trygg-oidc against a real, certified OpenID Provider: the npm package
//! `oidc-provider`, started from `tests/provider/provider.mjs`.
//!
//! Needs Node.js 20+ and npm; `scripts/oidc-provider-setup.sh` installs the
//! pinned package (`npm ci`) the first time. The login pages are driven with
//! plain HTTP and a cookie store, no browser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use reqwest::StatusCode;
use reqwest::header::{DATE, LOCATION};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use trygg_domain::{AuthMethod, Clock, Loa, ManualClock};
use trygg_oidc::{OidcError, OidcRp, PendingLogin, ProviderConfig, Secret, Url};

const CLIENT_ID: &str = "trygg-test";
const CLIENT_SECRET: &str = "a-client-secret-only-for-this-test-0123456789";
const REDIRECT_URI: &str = "http://127.0.0.1:9/login/oidc/callback";
const ACCOUNT: &str = "19121212-1212";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs scripts/oidc-provider-setup.sh once per test process.
fn setup() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    let result = DONE.get_or_init(|| {
        let script = workspace_root().join("scripts/oidc-provider-setup.sh");
        let status = std::process::Command::new("bash")
            .arg(&script)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed ({status}); see its message above",
                script.display()
            ))
        }
    });
    if let Err(e) = result {
        panic!("the OIDC test provider cannot be set up: {e}");
    }
}

/// A running `node provider.mjs`; killed when dropped.
struct NodeProvider {
    issuer: String,
    _child: Child,
}

async fn start_provider(id_token_alg: &str) -> NodeProvider {
    setup();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/provider");
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .args(["0", CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, id_token_alg])
        .current_dir(&dir)
        .env("PROVIDER_EXIT_WITH_STDIN", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn node (is Node.js installed?)");
    // Pass the provider's errors on, without its fixed warnings (unsupported
    // Node version, in-memory adapter).
    let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = errors.next_line().await {
            if !line.starts_with("oidc-provider WARNING") {
                eprintln!("[provider] {line}");
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let issuer = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("LISTENING ") {
                return url.trim().to_owned();
            }
        }
        panic!("the provider exited before listening");
    })
    .await
    .expect("the provider did not start within 30 s");
    // Keep draining stdout so the provider never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    NodeProvider {
        issuer,
        _child: child,
    }
}

/// A manual clock set to the provider's own time (its `Date` header): the
/// ID token's `iat`/`exp` come from the provider's clock, and this test does
/// not read the system clock itself.
async fn clock_of(issuer: &str) -> ManualClock {
    let response = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap();
    let date = response.headers()[DATE].to_str().unwrap().to_owned();
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let now = time::PrimitiveDateTime::parse(&date, format)
        .unwrap()
        .assume_utc();
    ManualClock::new(now)
}

fn config(issuer: &str) -> ProviderConfig {
    let mut config = ProviderConfig::new(
        "test-broker",
        issuer,
        CLIENT_ID,
        Some(Secret::new(CLIENT_SECRET)),
        REDIRECT_URI,
    );
    config.display_name = "Test e-ID broker".to_owned();
    config
}

struct Rig {
    rp: OidcRp,
    clock: ManualClock,
    _provider: NodeProvider,
}

async fn rig(id_token_alg: &str) -> Rig {
    let provider = start_provider(id_token_alg).await;
    let clock = clock_of(&provider.issuer).await;
    let rp = OidcRp::discover(
        vec![config(&provider.issuer)],
        Arc::new(clock.clone()),
        trygg_oidc::http_client().unwrap(),
    )
    .await
    .unwrap();
    Rig {
        rp,
        clock,
        _provider: provider,
    }
}

/// Plays the browser: follows redirects by hand (with a cookie store),
/// submits the login form as `account` with an optional `acr`, and stops at
/// the redirect to our callback. Returns the callback's `state` and `code`.
async fn drive_login(authorize: Url, account: &str, acr: Option<&str>) -> (String, String) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = authorize;
    let mut submitted = false;
    for _ in 0..12 {
        let response = browser.get(url.clone()).send().await.unwrap();
        let response =
            if response.status() == StatusCode::OK && url.path().starts_with("/interaction/") {
                assert!(
                    !submitted,
                    "the login form came back after it was submitted"
                );
                submitted = true;
                let mut form = vec![("login", account)];
                form.extend(acr.map(|a| ("acr", a)));
                let post = url.join(&format!("{}/login", url.path())).unwrap();
                browser.post(post).form(&form).send().await.unwrap()
            } else {
                response
            };
        assert!(
            response.status().is_redirection(),
            "expected a redirect from {url}, got {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
        let location = response.headers()[LOCATION].to_str().unwrap();
        let next = url.join(location).unwrap();
        if next.as_str().starts_with(REDIRECT_URI) {
            let param = |name: &str| {
                next.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_else(|| panic!("no {name} in the callback {next}"))
            };
            return (param("state"), param("code"));
        }
        url = next;
    }
    panic!("no redirect to the callback after 12 steps");
}

async fn login(rig: &Rig, wanted: Loa, acr: Option<&str>) -> (PendingLogin, String, String) {
    let (authorize, pending) = rig.rp.begin("test-broker", wanted).unwrap();
    let query: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("code_challenge_method"), Some("S256"));
    assert_eq!(get("acr_values"), Some(Loa::Loa3.max(wanted).acr()));
    assert_eq!(get("state"), Some(pending.state()));
    assert!(get("nonce").is_some_and(|n| n.len() >= 43));
    let (state, code) = drive_login(authorize, ACCOUNT, acr).await;
    (pending, state, code)
}

#[tokio::test]
async fn login_at_a_real_provider_yields_a_verified_identity() {
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let rig = rig(alg).await;
        assert_eq!(
            rig.rp
                .providers()
                .map(|p| p.display_name)
                .collect::<Vec<_>>(),
            ["Test e-ID broker"]
        );
        let (pending, state, code) = login(&rig, Loa::Loa3, None).await;
        rig.clock.advance(time::Duration::seconds(3));
        let identity = rig.rp.complete(pending, &state, &code).await.unwrap();
        assert_eq!(
            identity.identity_number.unwrap().canonical(),
            "191212121212",
            "{alg}"
        );
        assert_eq!(identity.loa, Loa::Loa3);
        assert_eq!(identity.provider, "test-broker");
        assert_eq!(identity.method, AuthMethod::Oidc);
        assert_eq!(identity.given_name.unwrap().as_str(), "Tolvan");
        assert_eq!(identity.family_name.unwrap().as_str(), "Tolvansson");
        assert!(identity.hsa_id.is_none());
        let skew = (identity.authenticated_at - rig.clock.now()).abs();
        assert!(skew < time::Duration::seconds(30), "{alg}: {skew}");
    }
}

#[tokio::test]
async fn real_provider_asserting_a_lower_level_is_refused() {
    let rig = rig("RS256").await;
    let (pending, state, code) = login(&rig, Loa::Loa3, Some(Loa::Loa2.acr())).await;
    let err = rig.rp.complete(pending, &state, &code).await.unwrap_err();
    assert_eq!(
        err,
        OidcError::LoaTooLow {
            got: Some(Loa::Loa2),
            acr: Some(Loa::Loa2.acr().to_owned()),
            needed: Loa::Loa3
        }
    );

    // Asking for LoA4 and getting it passes.
    let (pending, state, code) = login(&rig, Loa::Loa4, Some(Loa::Loa4.acr())).await;
    let identity = rig.rp.complete(pending, &state, &code).await.unwrap();
    assert_eq!(identity.loa, Loa::Loa4);
}

#[tokio::test]
async fn real_provider_refuses_a_wrong_pkce_verifier_and_a_used_code() {
    let rig = rig("ES256").await;
    let (pending, state, code) = login(&rig, Loa::Loa3, None).await;
    let mut json = serde_json::to_value(&pending).unwrap();
    json["pkce_verifier"] = "A".repeat(43).into();
    let tampered: PendingLogin = serde_json::from_value(json).unwrap();
    let err = rig.rp.complete(tampered, &state, &code).await.unwrap_err();
    assert!(
        matches!(&err, OidcError::TokenRejected { error, .. } if error.starts_with("invalid_grant")),
        "{err}"
    );

    // The same pending login is good once, even with the right verifier.
    let err = rig.rp.complete(pending, &state, &code).await.unwrap_err();
    assert_eq!(err, OidcError::Replayed);
}

#[tokio::test]
async fn an_issuer_that_does_not_answer_is_named() {
    let provider = start_provider("RS256").await;
    let clock = clock_of(&provider.issuer).await;
    let mut unreachable = config("http://127.0.0.1:9");
    unreachable.name = "dead-broker".to_owned();
    let err = OidcRp::discover(
        vec![config(&provider.issuer), unreachable],
        Arc::new(clock),
        trygg_oidc::http_client().unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "OI002");
    assert!(err.to_string().contains("\"dead-broker\""), "{err}");
}
