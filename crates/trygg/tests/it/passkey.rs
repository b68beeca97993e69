//! Passkey endpoints over plain HTTP: who may register, what the options
//! ask for, and how refusals look. The ceremonies themselves run in a real
//! browser with a virtual authenticator (`browser.rs`).

use crate::kit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;
use time::macros::date;
use trygg_auth::Token;
use trygg_domain::*;
use trygg_store::SessionRecord;

/// A client with a cookie jar of our own (the `__Host-` cookies are `Secure`).
struct Client {
    app_base: String,
    http: reqwest::Client,
    jar: CookieJar,
}

impl Client {
    fn new(app: &TestApp) -> Self {
        Self {
            app_base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: CookieJar::default(),
        }
    }

    fn absorb(&mut self, res: &reqwest::Response) {
        self.jar.absorb(res.headers());
    }

    fn has_cookie(&self, name: &str) -> bool {
        self.jar.get(name).is_some()
    }

    /// The CSRF token of the login page (anonymous) or of the session.
    async fn csrf(&mut self, page: &str) -> String {
        let res = self
            .http
            .get(format!("{}{page}", self.app_base))
            .header("cookie", self.jar.header())
            .send()
            .await
            .unwrap();
        self.absorb(&res);
        let html = res.text().await.unwrap();
        let start = "name=\"csrf\" value=\"";
        let at = html
            .find(start)
            .unwrap_or_else(|| panic!("no csrf in {html}"))
            + start.len();
        html[at..].split('"').next().unwrap().to_owned()
    }

    async fn post_json(
        &mut self,
        path: &str,
        csrf: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.app_base))
            .header("cookie", self.jar.header())
            .header("origin", &self.app_base)
            .json(&body);
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        let res = req.send().await.unwrap();
        self.absorb(&res);
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    fn login_as(&mut self, token: &Token) {
        self.jar.set("__Host-trygg-session", Some(token.expose()));
    }
}

/// A session as a login would make it.
async fn session(
    app: &TestApp,
    account: Account,
    method: AuthMethod,
    loa: Loa,
    ago: Duration,
) -> Token {
    let token = Token::generate().unwrap();
    let now = app.clock.now();
    app.store
        .create_session(
            &token.hash(),
            &SessionRecord {
                account,
                method,
                provider: method.as_str().into(),
                loa,
                authenticated_at: now - ago,
                created_at: now,
                last_seen_at: now,
                expires_at: now + Duration::hours(12),
            },
        )
        .await
        .unwrap();
    token
}

fn b64u_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url: {s}"),
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        acc = (acc << 6) | u32::from(value(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

on_both_backends! {
    async fn only_a_fresh_eid_session_may_register_a_passkey(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenant(&app.store, "212000-9994").await;
        let mut tx = app.store.begin().await.unwrap();
        let person = tx.add_person(t.id, &person("Greta", "Lind", pnr(date!(1938-08-08), 985)), false).await.unwrap();
        tx.commit().await.unwrap();
        let account = Account::Person { tenant: t.id, person };
        let start = "/account/passkeys/register/start";

        // Anonymous (with a valid anonymous CSRF token): not logged in.
        let mut anon = Client::new(&app);
        let csrf = anon.csrf("/login").await;
        let (status, body) = anon.post_json(start, Some(&csrf), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("PK002")), "{body}");
        // Without the CSRF header: refused before anything else.
        let (status, body) = anon.post_json(start, None, json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("WB403")), "{body}");

        // The bootstrap administrator never has passkeys.
        let mut admin = Client::new(&app);
        admin.login_as(&session(&app, Account::BootstrapAdmin { name: "admin".into() }, AuthMethod::PasswordTotp, Loa::Loa2, Duration::ZERO).await);
        let csrf = admin.csrf("/").await;
        let (status, body) = admin.post_json(start, Some(&csrf), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("PK004")), "{body}");

        // An e-ID login older than the step-up window: identify again.
        let mut stale = Client::new(&app);
        stale.login_as(&session(&app, account.clone(), AuthMethod::BankId, Loa::Loa3, Duration::minutes(11)).await);
        let csrf = stale.csrf("/").await;
        let (status, body) = stale.post_json(start, Some(&csrf), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("PK003")), "{body}");
        assert_eq!(body["next"], "/login?step_up=1&return=/account/security");
        assert_eq!(body["message"], "Identifiera dig igen med e-legitimation först.");

        // A passkey session, however fresh, may not add passkeys.
        let mut by_passkey = Client::new(&app);
        by_passkey.login_as(&session(&app, account.clone(), AuthMethod::Passkey, Loa::Loa3, Duration::ZERO).await);
        let csrf = by_passkey.csrf("/").await;
        let (status, body) = by_passkey.post_json(start, Some(&csrf), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("PK005")), "{body}");

        // A fresh BankID login: options for a discoverable, user-verifying
        // credential, with no personal data for the authenticator.
        let mut fresh = Client::new(&app);
        fresh.login_as(&session(&app, account.clone(), AuthMethod::BankId, Loa::Loa3, Duration::minutes(2)).await);
        let csrf = fresh.csrf("/account/security").await;
        let (status, options) = fresh.post_json(start, Some(&csrf), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{options}");
        let pk = &options["publicKey"];
        assert_eq!(pk["rp"]["id"], "localhost");
        assert_eq!(pk["rp"]["name"], "Trygg");
        assert_eq!(pk["user"]["name"], "Trygg");
        assert_eq!(pk["user"]["displayName"], "Trygg");
        assert_eq!(b64u_decode(pk["user"]["id"].as_str().unwrap()), person.as_uuid().as_bytes());
        assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(pk["authenticatorSelection"]["requireResidentKey"], true);
        assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
        assert_eq!(pk["excludeCredentials"], json!([]));

        // A made-up answer does not register anything.
        let (status, body) = fresh.post_json("/account/passkeys/register/finish", Some(&csrf), json!({
            "id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": { "attestationObject": "AAAA", "clientDataJSON": "AAAA" }, "extensions": {}
        })).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("PK007")), "{body}");
        assert!(app.store.passkeys_of(&account).await.unwrap().is_empty());
        // The ceremony is used once.
        let (status, body) = fresh.post_json("/account/passkeys/register/finish", Some(&csrf), json!({
            "id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": { "attestationObject": "AAAA", "clientDataJSON": "AAAA" }, "extensions": {}
        })).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("PK006")), "{body}");
    }

    async fn passkey_login_gives_one_generic_refusal(backend) {
        let app = TestApp::spawn(backend).await;
        let mut c = Client::new(&app);
        let csrf = c.csrf("/login?lang=en").await;

        // Finishing without a started login.
        let (status, body) = c.post_json("/login/passkey/finish", Some(&csrf), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("PK006")), "{body}");

        // Discoverable-credential options: no allow list, user verification required.
        let (status, options) = c.post_json("/login/passkey/start", Some(&csrf), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{options}");
        assert!(c.has_cookie("__Host-trygg-login"));
        assert_eq!(options["publicKey"]["rpId"], "localhost");
        assert_eq!(options["publicKey"]["allowCredentials"], json!([]));
        assert_eq!(options["publicKey"]["userVerification"], "required");
        assert!(options.get("mediation").is_none(), "{options}");

        // An unknown credential: 401 with a message that says nothing more.
        let (status, body) = c.post_json("/login/passkey/finish", Some(&csrf), json!({
            "id": "c29tZS1jcmVkZW50aWFs", "rawId": "c29tZS1jcmVkZW50aWFs", "type": "public-key",
            "response": { "authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA",
                          "userHandle": "AAAAAAAAAAAAAAAAAAAAAA" },
            "extensions": {}
        })).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("PK011")), "{body}");
        assert_eq!(body["message"], "The passkey login failed. Try again or log in with an e-ID.");
        assert!(!c.has_cookie("__Host-trygg-login"), "the flow is spent");
        assert!(!c.has_cookie("__Host-trygg-session"));

        // Starting logins is rate-limited per address.
        let mut limited = false;
        for _ in 0..25 {
            let (status, body) = c.post_json("/login/passkey/start", Some(&csrf), json!({})).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(body["code"], "PK013");
                limited = true;
                break;
            }
        }
        assert!(limited, "no rate limit");
    }
}
