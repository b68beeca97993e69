//! The pages in a real browser: headless Chromium driven over the W3C
//! WebDriver protocol (plain HTTP + JSON to `chromedriver`), with WebDriver's
//! virtual authenticator standing in for a phone or a security key.
//!
//! * Passkeys: a person logs in with BankID (the simulator), creates a
//!   passkey on the security page, logs out and logs in with it; the passkey
//!   logs in only the account that registered it; an assertion without user
//!   verification is refused.
//! * Accessibility: axe-core (pinned in `tests/browser/package-lock.json`)
//!   finds no serious or critical WCAG 2.1 A/AA violation on the login,
//!   bootstrap, BankID, home and security pages.
//!
//! `scripts/browser-test-setup.sh` installs Chromium, chromedriver (Debian
//! packages) and axe-core (`npm ci`) the first time. Pages are opened on
//! `http://localhost:PORT` so that the WebAuthn RP id (`localhost`) matches.

use crate::kit::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use time::macros::date;
use tokio::process::{Child, Command};
use trygg_domain::*;

/// How long any wait in these tests may take.
const WAIT: Duration = Duration::from_secs(10);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);
/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs scripts/browser-test-setup.sh once per test process.
fn setup() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    let result = DONE.get_or_init(|| {
        let script = workspace_root().join("scripts/browser-test-setup.sh");
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
        panic!("the browser tests cannot be set up: {e}");
    }
}

/// A headless Chromium session behind its own chromedriver; both end when dropped.
struct Browser {
    http: reqwest::Client,
    driver: String,
    session: String,
    _chromedriver: Child,
    _profile: tempfile::TempDir,
}

/// A virtual authenticator's settings.
#[derive(Clone, Copy)]
struct Authenticator {
    user_verified: bool,
}

impl Browser {
    async fn start() -> Self {
        setup();
        let port = free_port();
        let chromedriver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn chromedriver (run scripts/browser-test-setup.sh)");
        let http = reqwest::Client::new();
        let driver = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = match http.get(format!("{driver}/status")).send().await {
                Ok(res) => res
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(POLL).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1024",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let res: Value = http
            .post(format!("{driver}/session"))
            .json(&json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "webauthn:virtualAuthenticators": true,
                "goog:chromeOptions": { "args": args },
            }}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {res}"))
            .to_owned();
        let browser = Self {
            http,
            driver,
            session,
            _chromedriver: chromedriver,
            _profile: profile,
        };
        browser
            .cmd(
                "POST",
                "/timeouts",
                json!({ "script": 30_000, "pageLoad": 30_000 }),
            )
            .await;
        browser
    }

    /// A WebDriver command on this session; its `value`, or a panic with the error.
    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        self.try_cmd(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    async fn try_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, Value> {
        let url = format!("{}/session/{}{path}", self.driver, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let res = req.send().await.unwrap();
        let ok = res.status().is_success();
        let v: Value = res.json().await.unwrap();
        if ok { Ok(v["value"].clone()) } else { Err(v) }
    }

    async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url })).await;
    }

    async fn url(&self) -> String {
        self.cmd("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Runs a synchronous script in the page.
    async fn exec(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Runs an asynchronous script: it ends by calling its last argument.
    async fn exec_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    async fn text(&self) -> String {
        self.exec("return document.body.innerText;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn click(&self, css: &str) {
        let found = self
            .cmd(
                "POST",
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        let id = found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned();
        self.cmd("POST", &format!("/element/{id}/click"), json!({}))
            .await;
    }

    /// The notifications the page's service worker shows (title, text,
    /// tag), once there are `count` of them (at most [`WAIT`]).
    async fn notifications(&self, count: usize) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let shown = self
                .exec_async(
                    "const done = arguments[arguments.length - 1];\
                     navigator.serviceWorker.ready\
                       .then(r => r.getNotifications())\
                       .then(ns => done(ns.map(n => [n.title, n.body, n.tag])), e => done(String(e)));",
                    json!([]),
                )
                .await;
            if shown.as_array().is_some_and(|a| a.len() == count) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "not {count} notifications: {shown}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until exactly one notification shows: `title` over the fixed
    /// text, with `tag`, and nothing else.
    async fn assert_notified(&self, title: &str, tag: &str) {
        assert_eq!(
            self.notifications(1).await,
            json!([[title, "Öppna Trygg för att se vem och var.", tag]])
        );
    }

    /// Waits (at most [`WAIT`]) until the script returns something truthy.
    async fn wait_for(&self, what: &str, condition: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self
                .try_cmd(
                    "POST",
                    "/execute/sync",
                    json!({ "script": format!("return !!({condition});"), "args": [] }),
                )
                .await;
            if v == Ok(Value::Bool(true)) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {what} at {}: {}",
                    self.url().await,
                    self.text().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the page's path (with query) is `path`.
    async fn wait_for_path(&self, path: &str) {
        self.wait_for(
            &format!("the page {path}"),
            &format!(
                "document.readyState === 'complete' && location.pathname + location.search === {}",
                json!(path)
            ),
        )
        .await;
    }

    /// Adds a virtual CTAP2 platform authenticator with a resident-key store.
    async fn add_authenticator(&self, a: Authenticator) -> String {
        self.cmd(
            "POST",
            "/webauthn/authenticator",
            json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": a.user_verified,
            }),
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    async fn remove_authenticator(&self, id: &str) {
        self.cmd(
            "DELETE",
            &format!("/webauthn/authenticator/{id}"),
            Value::Null,
        )
        .await;
    }

    async fn credentials(&self, authenticator: &str) -> Vec<Value> {
        self.cmd(
            "GET",
            &format!("/webauthn/authenticator/{authenticator}/credentials"),
            Value::Null,
        )
        .await
        .as_array()
        .unwrap()
        .clone()
    }

    async fn add_credential(&self, authenticator: &str, credential: &Value) {
        self.cmd(
            "POST",
            &format!("/webauthn/authenticator/{authenticator}/credential"),
            credential.clone(),
        )
        .await;
    }

    /// Runs axe-core on the page; the serious and critical WCAG 2.1 A/AA violations.
    async fn axe(&self) -> Vec<Value> {
        static AXE: OnceLock<String> = OnceLock::new();
        let source = AXE.get_or_init(|| {
            let path = workspace_root()
                .join("crates/trygg/tests/browser/node_modules/axe-core/axe.min.js");
            std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (run scripts/browser-test-setup.sh)",
                    path.display()
                )
            })
        });
        self.exec(source, json!([])).await;
        let result = self
            .exec_async(
                "var done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(function (r) { done({ violations: r.violations, passes: r.passes.length }); })
                   .catch(function (e) { done({ error: String(e) }); });",
                json!([]),
            )
            .await;
        assert!(result["error"].is_null(), "axe failed: {result}");
        assert!(
            result["passes"].as_u64().unwrap_or(0) > 0,
            "axe checked nothing: {result}"
        );
        result["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .cloned()
            .collect()
    }

    async fn assert_accessible(&self, page: &str) {
        let violations = self.axe().await;
        let report: Vec<String> = violations
            .iter()
            .map(|v| {
                let nodes: Vec<String> = v["nodes"]
                    .as_array()
                    .map(|n| {
                        n.iter()
                            .map(|n| format!("{} {}", n["target"], n["failureSummary"]))
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "{} ({}): {}\n    {}",
                    v["id"],
                    v["impact"],
                    v["help"],
                    nodes.join("\n    ")
                )
            })
            .collect();
        assert!(
            violations.is_empty(),
            "axe found serious or critical violations on {page}:\n{}",
            report.join("\n")
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the WebDriver session (closes Chromium); chromedriver is killed on drop.
        let url = format!("{}/session/{}", self.driver, self.session);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _ = reqwest::Client::new()
                    .delete(url)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
            });
        })
        .join();
    }
}

/// A person receiving care, who logs in as a citizen.
struct Citizen {
    id: PersonId,
    number: IdentityNumber,
    given: &'static str,
    family: &'static str,
}

async fn add_citizen(
    app: &TestApp,
    tenant: TenantId,
    given: &'static str,
    family: &'static str,
    serial: u16,
) -> Citizen {
    let number = pnr(date!(1940 - 04 - 04), serial);
    let mut tx = app.store.begin().await.unwrap();
    let id = tx
        .add_person(tenant, &person(given, family, number), false)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Citizen {
        id,
        number,
        given,
        family,
    }
}

async fn simulator(app: &TestApp, order: &str, action: &str, body: Value) {
    let res = reqwest::Client::new()
        .post(format!(
            "http://{}/simulator/orders/{order}/{action}",
            app.bankid.addr()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "{action}: {}",
        res.text().await.unwrap()
    );
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in {text}"))
        + start.len();
    &text[at..][..text[at..].find(end).unwrap()]
}

/// Starts a citizen BankID login from the real login page; returns the
/// simulator's order reference, with the browser on `/login/bankid`.
async fn start_bankid(app: &TestApp, b: &Browser) -> String {
    start_bankid_as(app, b, "citizen").await
}

/// [`start_bankid`] for `audience` (`citizen` or `staff`).
async fn start_bankid_as(app: &TestApp, b: &Browser, audience: &str) -> String {
    b.goto(&app.localhost_url("/login")).await;
    b.click(&format!("input[name=audience][value={audience}]"))
        .await;
    b.click("button[name=method][value=bankid]").await;
    b.wait_for_path("/login/bankid").await;
    let href = b
        .exec(
            "return document.querySelector('a[href^=\"bankid:\"]').getAttribute('href');",
            json!([]),
        )
        .await;
    let token = between(href.as_str().unwrap(), "autostarttoken=", "&").to_owned();
    // The simulator's "phone" finds the order by its autostart token.
    let app_page = reqwest::get(format!(
        "http://{}/simulator/app?autostarttoken={token}",
        app.bankid.addr()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    between(&app_page, "order=", "&").to_owned()
}

/// Approves a started BankID login and lets the page's status polling see it:
/// the clock moves two seconds at a time (the server collects at most every
/// two seconds) until the browser lands on `/`.
async fn finish_bankid(app: &TestApp, b: &Browser, order: &str, who: &Citizen) {
    simulator(app, order, "scan", json!({})).await;
    simulator(
        app,
        order,
        "approve",
        json!({ "personalNumber": who.number.canonical(), "givenName": who.given, "surname": who.family }),
    )
    .await;
    let deadline = Instant::now() + WAIT;
    loop {
        app.clock.advance(time::Duration::seconds(2));
        let done = b
            .try_cmd(
                "POST",
                "/execute/sync",
                json!({ "script": "return location.pathname === '/' && document.readyState === 'complete';", "args": [] }),
            )
            .await;
        if done == Ok(Value::Bool(true)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "BankID login did not finish: {} {}",
            b.url().await,
            b.text().await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn bankid_login(app: &TestApp, b: &Browser, who: &Citizen) {
    let order = start_bankid(app, b).await;
    finish_bankid(app, b, &order, who).await;
    assert!(
        b.text()
            .await
            .contains(&format!("{} {}", who.given, who.family)),
        "{}",
        b.text().await
    );
}

async fn log_out(app: &TestApp, b: &Browser) {
    b.goto(&app.localhost_url("/")).await;
    b.click("form[action='/logout'] button").await;
    b.wait_for_path("/login").await;
}

/// Creates a passkey on the security page (the session must be a fresh e-ID login).
async fn register_passkey(app: &TestApp, b: &Browser) {
    b.goto(&app.localhost_url("/account/security")).await;
    b.wait_for_path("/account/security").await;
    b.wait_for(
        "the create button",
        "document.getElementById('passkey-create') && !document.getElementById('passkey-create').disabled",
    )
    .await;
    b.click("#passkey-create").await;
    b.wait_for_path("/account/security?passkey=created").await;
    let items = b
        .exec(
            "return document.querySelectorAll('#passkey-list li').length;",
            json!([]),
        )
        .await;
    assert_eq!(items, 1, "{}", b.text().await);
}

/// Clicks "Logga in med nyckel (passkey)" on the login page.
async fn click_passkey_login(app: &TestApp, b: &Browser) {
    b.goto(&app.localhost_url("/login")).await;
    b.wait_for(
        "the passkey button",
        "document.getElementById('passkey-login') && !document.getElementById('passkey-login').disabled \
         && !document.querySelector('[data-passkey]').hidden",
    )
    .await;
    b.click("#passkey-login").await;
}

/// Runs a passkey login by script, bypassing passkey.js, so a test can change
/// what the browser sends. Returns the HTTP status and the JSON answer of
/// `/login/passkey/finish`.
async fn scripted_passkey_login(
    b: &Browser,
    user_verification: &str,
    user_handle: Option<&str>,
) -> Value {
    b.exec_async(
        r#"
        var uv = arguments[0], handle = arguments[1], done = arguments[arguments.length - 1];
        function fromB64u(s) { s = s.replace(/-/g, '+').replace(/_/g, '/'); while (s.length % 4) s += '=';
          var bin = atob(s), out = new Uint8Array(bin.length); for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i); return out.buffer; }
        function toB64u(buf) { var b = new Uint8Array(buf), s = ''; for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
          return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
        var csrf = document.querySelector('input[name="csrf"]').value;
        function post(url, body) {
          return fetch(url, { method: 'POST', credentials: 'same-origin',
            headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) })
            .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
        }
        post('/login/passkey/start', {}).then(function (r) {
          var pk = r.body.publicKey;
          pk.challenge = fromB64u(pk.challenge);
          pk.userVerification = uv;
          return navigator.credentials.get({ publicKey: pk });
        }).then(function (cred) {
          var r = cred.response;
          return post('/login/passkey/finish', { id: cred.id, rawId: toB64u(cred.rawId), type: cred.type,
            response: { authenticatorData: toB64u(r.authenticatorData), clientDataJSON: toB64u(r.clientDataJSON),
              signature: toB64u(r.signature), userHandle: handle || (r.userHandle ? toB64u(r.userHandle) : null) },
            extensions: {} });
        }).then(done, function (e) { done({ error: String(e) }); });
        "#,
        json!([user_verification, user_handle]),
    )
    .await
}

fn b64u(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_registered_after_bankid_logs_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let t = tenant(&app.store, "212000-9994").await;
    let margit = add_citizen(&app, t.id, "Margit", "Holm", 981).await;
    let b = Browser::start().await;
    let authenticator = b
        .add_authenticator(Authenticator {
            user_verified: true,
        })
        .await;

    bankid_login(&app, &b, &margit).await;
    register_passkey(&app, &b).await;
    let credentials = b.credentials(&authenticator).await;
    assert_eq!(credentials.len(), 1, "{credentials:?}");
    assert_eq!(credentials[0]["isResidentCredential"], true);
    assert_eq!(credentials[0]["rpId"], "localhost");
    let stored = app
        .store
        .passkeys_of(&Account::Person {
            tenant: t.id,
            person: margit.id,
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].registered_loa, Loa::Loa3);

    log_out(&app, &b).await;
    click_passkey_login(&app, &b).await;
    b.wait_for_path("/").await;
    let home = b.text().await;
    assert!(
        home.contains("Margit Holm") && home.contains("passkey") && home.contains("loa3"),
        "{home}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_logs_in_only_its_own_account_and_only_with_user_verification() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let t = tenant(&app.store, "212000-9994").await;
    let a = add_citizen(&app, t.id, "Astrid", "Berg", 982).await;
    let bertil = add_citizen(&app, t.id, "Bertil", "Ek", 983).await;
    let b = Browser::start().await;
    let authenticator = b
        .add_authenticator(Authenticator {
            user_verified: true,
        })
        .await;

    // A registers a passkey; B logs in with BankID in the same browser.
    bankid_login(&app, &b, &a).await;
    register_passkey(&app, &b).await;
    log_out(&app, &b).await;
    bankid_login(&app, &b, &bertil).await;
    log_out(&app, &b).await;

    // The passkey logs in as A, whoever used the browser last.
    click_passkey_login(&app, &b).await;
    b.wait_for_path("/").await;
    let home = b.text().await;
    assert!(
        home.contains("Astrid Berg") && !home.contains("Bertil Ek"),
        "{home}"
    );
    log_out(&app, &b).await;

    // A's credential with B's user handle: refused, with the generic answer.
    b.goto(&app.localhost_url("/login")).await;
    let answer =
        scripted_passkey_login(&b, "required", Some(&b64u(bertil.id.as_uuid().as_bytes()))).await;
    assert_eq!(answer["status"], 401, "{answer}");
    assert_eq!(answer["body"]["code"], "PK011", "{answer}");
    b.goto(&app.localhost_url("/")).await;
    b.wait_for_path("/login").await;

    // Without user verification: the page's login fails in the browser, and
    // an assertion made without it is refused by the server.
    let credentials = b.credentials(&authenticator).await;
    assert_eq!(credentials.len(), 1);
    b.remove_authenticator(&authenticator).await;
    let unverified = b
        .add_authenticator(Authenticator {
            user_verified: false,
        })
        .await;
    b.add_credential(&unverified, &credentials[0]).await;

    click_passkey_login(&app, &b).await;
    b.wait_for(
        "the failure message",
        "document.getElementById('passkey-login-status').textContent.length > 0 \
         && document.getElementById('passkey-login-status').classList.contains('error')",
    )
    .await;
    assert!(b.url().await.ends_with("/login"), "{}", b.url().await);
    let status = b
        .exec(
            "return document.getElementById('passkey-login-status').textContent;",
            json!([]),
        )
        .await;
    assert_eq!(
        status,
        "Inloggningen med nyckel misslyckades. Försök igen eller logga in med e-legitimation."
    );

    b.goto(&app.localhost_url("/login")).await;
    let answer = scripted_passkey_login(&b, "discouraged", None).await;
    assert_eq!(answer["status"], 401, "{answer}");
    assert_eq!(answer["body"]["code"], "PK011", "{answer}");
    b.goto(&app.localhost_url("/")).await;
    b.wait_for_path("/login").await;

    // With user verification again, but the account is gone (erased): refused.
    b.remove_authenticator(&unverified).await;
    let verified = b
        .add_authenticator(Authenticator {
            user_verified: true,
        })
        .await;
    b.add_credential(&verified, &credentials[0]).await;
    app.store.erase_person(t.id, a.id, "test").await.unwrap();
    b.goto(&app.localhost_url("/login")).await;
    let answer = scripted_passkey_login(&b, "required", None).await;
    assert_eq!(answer["status"], 403, "{answer}");
    assert_eq!(answer["body"]["code"], "PK012", "{answer}");
    b.goto(&app.localhost_url("/")).await;
    b.wait_for_path("/login").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_have_no_serious_accessibility_violations() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let t = tenant(&app.store, "212000-9994").await;
    let karin = add_citizen(&app, t.id, "Karin", "Lund", 984).await;
    let b = Browser::start().await;

    for path in ["/login", "/login?lang=en", "/login/bootstrap"] {
        b.goto(&app.localhost_url(path)).await;
        b.wait_for_path(path).await;
        b.assert_accessible(path).await;
    }
    // Back to Swedish (the language choice is remembered in a cookie).
    b.goto(&app.localhost_url("/login?lang=sv")).await;

    let order = start_bankid(&app, &b).await;
    b.assert_accessible("/login/bankid").await;
    finish_bankid(&app, &b, &order, &karin).await;
    b.assert_accessible("/").await;

    b.goto(&app.localhost_url("/account/security")).await;
    b.wait_for_path("/account/security").await;
    b.assert_accessible("/account/security").await;
}

/// Fills a field and submits its form.
async fn submit_text(b: &Browser, field: &str, text: &str) {
    b.exec(
        "const f = document.querySelector(arguments[0]); f.value = arguments[1]; f.form.requestSubmit();",
        json!([field, text]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn care_record_pages_work_and_are_accessible() {
    // A nurse opens her own unit's person, writes a care plan twice and a
    // visit note, changes the note, and sees the history; the person then
    // reads their own record. Every page is checked with axe-core.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let t = tenant(&app.store, "212000-9994").await;
    let elsa = add_citizen(&app, t.id, "Elsa", "Ek", 986).await;
    let other = add_citizen(&app, t.id, "Olle", "Annan", 987).await;
    let nurse = Citizen {
        id: elsa.id,
        number: pnr(date!(1980 - 02 - 02), 988),
        given: "Nora",
        family: "Sköterska",
    };
    let mut tx = app.store.begin().await.unwrap();
    let north = tx
        .add_unit(t.id, None, "Hemtjänst Norr", None)
        .await
        .unwrap()
        .id;
    let south = tx
        .add_unit(t.id, None, "Hemtjänst Söder", None)
        .await
        .unwrap()
        .id;
    let staff = tx
        .add_staff(
            t.id,
            &StaffDetails {
                given_name: PersonName::parse(nurse.given).unwrap(),
                family_name: PersonName::parse(nurse.family).unwrap(),
                hsa_id: None,
                identity_number: Some(nurse.number),
                email: None,
                phone: None,
            },
        )
        .await
        .unwrap();
    tx.assign_role(
        t.id,
        RoleAssignment {
            staff,
            unit: north,
            role: Role::Nurse,
        },
    )
    .await
    .unwrap();
    let since = Period::new(app.clock.now() - time::Duration::days(1), None).unwrap();
    tx.add_care_relationship(t.id, elsa.id, CareParty::Unit(north), since)
        .await
        .unwrap();
    tx.add_care_relationship(t.id, other.id, CareParty::Unit(south), since)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let b = Browser::start().await;
    let order = start_bankid_as(&app, &b, "staff").await;
    finish_bankid(&app, &b, &order, &nurse).await;
    b.click("a[href='/persons']").await;
    b.wait_for_path("/persons").await;
    let list = b.text().await;
    assert!(
        list.contains("Elsa Ek") && !list.contains("Olle Annan"),
        "{list}"
    );
    b.assert_accessible("/persons").await;

    // Someone of another unit cannot be found; the page offers emergency access.
    submit_text(&b, "#identity_number", &other.number.canonical()).await;
    b.wait_for(
        "the not-found answer",
        "document.getElementById('not-found')",
    )
    .await;
    assert!(!b.text().await.contains("Olle"));
    b.assert_accessible("/persons/find (not found)").await;

    b.goto(&app.localhost_url("/persons")).await;
    b.click(&format!("a[href='/persons/{}']", elsa.id)).await;
    b.wait_for_path(&format!("/persons/{}", elsa.id)).await;
    b.assert_accessible("/persons/{id}").await;

    let plan = format!("/persons/{}/care-plan/{north}", elsa.id);
    b.click(&format!("a[href='{plan}']")).await;
    b.wait_for_path(&plan).await;
    submit_text(&b, "#text", "Hjälp med frukost kl 8.").await;
    b.wait_for(
        "the first version",
        "document.getElementById('care-plan-text')",
    )
    .await;
    submit_text(&b, "#text", "Hjälp med frukost kl 8 och promenad.").await;
    b.wait_for(
        "the second version",
        "document.body.innerText.includes('Version 2')",
    )
    .await;
    let text = b.text().await;
    assert!(
        text.contains("Hjälp med frukost kl 8 och promenad.") && text.contains("Version 1"),
        "{text}"
    );
    assert!(
        text.contains("Nora Sköterska"),
        "the author is named: {text}"
    );
    b.assert_accessible("care plan").await;

    let notes = format!("/persons/{}/notes/{north}", elsa.id);
    b.goto(&app.localhost_url(&notes)).await;
    submit_text(&b, "#text", "Elsa var pigg i dag.").await;
    b.wait_for(
        "the note",
        "document.body.innerText.includes('Elsa var pigg')",
    )
    .await;
    b.assert_accessible("visit notes").await;
    b.click(&format!("a[href^='{notes}/']")).await;
    b.wait_for("the note's page", "document.getElementById('note-text')")
        .await;
    submit_text(&b, "#text", "Elsa var pigg och glad i dag.").await;
    b.wait_for(
        "the new version",
        "document.body.innerText.includes('pigg och glad')",
    )
    .await;
    assert!(
        b.text().await.contains("Elsa var pigg i dag."),
        "the old version is kept"
    );
    b.assert_accessible("visit note").await;
    b.goto(&app.localhost_url(&format!("{notes}?lang=en")))
        .await;
    b.wait_for("English", "document.documentElement.lang === 'en'")
        .await;
    b.assert_accessible("visit notes (en)").await;
    log_out(&app, &b).await;

    // Elsa reads her own record, but cannot write in it.
    b.goto(&app.localhost_url("/login?lang=sv")).await;
    bankid_login(&app, &b, &elsa).await;
    b.click("a[href='/persons']").await;
    b.wait_for_path(&format!("/persons/{}", elsa.id)).await;
    b.click(&format!("a[href='{plan}']")).await;
    b.wait_for_path(&plan).await;
    assert!(b.text().await.contains("och promenad"));
    let forms = b
        .exec(
            "return document.querySelectorAll('textarea').length;",
            json!([]),
        )
        .await;
    assert_eq!(forms, 0, "a citizen gets no form");
    b.assert_accessible("care plan (citizen)").await;
    // Who looked at her data: the nurse's unit, reading and writing.
    b.goto(&app.localhost_url("/")).await;
    b.click("a[href='/my-log']").await;
    b.wait_for_path("/my-log").await;
    let text = b.text().await;
    assert!(
        text.contains("Hemtjänst Norr") && text.contains("skrev i genomförandeplanen"),
        "{text}"
    );
    b.assert_accessible("/my-log").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_pages_work_and_are_accessible() {
    // A unit manager logs in with BankID, gives a nurse a role resting on an
    // analysis, and follows up a colleague's emergency access.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let t = tenant(&app.store, "212000-9994").await;
    let elsa = add_citizen(&app, t.id, "Elsa", "Ek", 986).await;
    let maja = Citizen {
        id: elsa.id,
        number: pnr(date!(1975 - 05 - 05), 989),
        given: "Maja",
        family: "Chef",
    };
    let mut tx = app.store.begin().await.unwrap();
    let north = tx
        .add_unit(t.id, None, "Hemtjänst Norr", None)
        .await
        .unwrap()
        .id;
    let mut ids = Vec::new();
    for (given, number, role) in [
        ("Maja", Some(maja.number), Some(Role::UnitManager)),
        ("Nora", None, None),
        ("Siv", None, Some(Role::Nurse)),
    ] {
        let id = tx
            .add_staff(
                t.id,
                &StaffDetails {
                    given_name: PersonName::parse(given).unwrap(),
                    family_name: PersonName::parse(if given == "Maja" { "Chef" } else { "Test" })
                        .unwrap(),
                    hsa_id: None,
                    identity_number: number,
                    email: None,
                    phone: None,
                },
            )
            .await
            .unwrap();
        if let Some(role) = role {
            tx.assign_role(
                t.id,
                RoleAssignment {
                    staff: id,
                    unit: north,
                    role,
                },
            )
            .await
            .unwrap();
        }
        ids.push(id);
    }
    tx.commit().await.unwrap();
    let siv = As::new(
        &app,
        Account::Staff {
            tenant: t.id,
            staff: ids[2],
        },
    )
    .await;
    let res = siv
        .json(
            &format!("/api/persons/{}/emergency-access", elsa.id),
            &json!({"reason": "Larm utan svar."}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let b = Browser::start().await;
    let order = start_bankid_as(&app, &b, "staff").await;
    finish_bankid(&app, &b, &order, &maja).await;
    b.click("a[href='/permissions']").await;
    b.wait_for_path("/permissions").await;
    b.assert_accessible("/permissions").await;
    let unit = format!("/permissions/{north}");
    b.click(&format!("a[href='{unit}']")).await;
    b.wait_for_path(&unit).await;
    b.assert_accessible("/permissions/{unit}").await;
    b.exec(
        "document.getElementById('role-staff').value = arguments[0]; document.getElementById('role-role').value = 'nurse';",
        json!([ids[1].to_string()]),
    )
    .await;
    submit_text(&b, "#role-ref", "BRA 2026/114").await;
    b.wait_for("the saved change", "document.getElementById('outcome')")
        .await;
    let text = b.text().await;
    assert!(
        text.contains("Nora Test: Sjuksköterska") && text.contains("BRA 2026/114"),
        "{text}"
    );
    b.assert_accessible("/permissions/{unit} after a change")
        .await;

    b.goto(&app.localhost_url("/follow-up")).await;
    b.wait_for_path("/follow-up").await;
    assert!(b.text().await.contains("Larm utan svar."));
    b.assert_accessible("/follow-up").await;
    submit_text(&b, "textarea[name=note]", "Befogad.").await;
    b.wait_for(
        "the follow-up saved",
        "document.getElementById('follow-up-none')",
    )
    .await;
    b.goto(&app.localhost_url("/follow-up?lang=en")).await;
    b.wait_for("English", "document.documentElement.lang === 'en'")
        .await;
    b.assert_accessible("/follow-up (en)").await;

    // Log review: the emergency access is flagged; a random sample is
    // checked and the review recorded.
    b.goto(&app.localhost_url("/?lang=sv")).await;
    b.click("a[href='/log-review']").await;
    b.wait_for_path("/log-review").await;
    b.assert_accessible("/log-review").await;
    let review = format!("/log-review/{north}");
    b.click(&format!("a[href='{review}']")).await;
    b.wait_for_path(&review).await;
    let text = b.text().await;
    assert!(
        text.contains("Siv Test") && text.contains("Nödåtkomst") && text.contains("Elsa Ek"),
        "{text}"
    );
    b.assert_accessible("/log-review/{unit}").await;
    b.exec(
        "document.querySelector('input[name=show][value=sample]').checked = true; document.getElementById('n').value = '2'; document.getElementById('from').form.requestSubmit();",
        json!([]),
    )
    .await;
    b.wait_for(
        "the sample",
        "location.search.includes('show=sample') && document.querySelectorAll('#entries tbody tr').length === 2",
    )
    .await;
    b.exec(
        "document.querySelector('input[name=conclusion][value=follow_up]').checked = true;",
        json!([]),
    )
    .await;
    submit_text(&b, "#note", "Fråga Siv om larmet.").await;
    b.wait_for("the saved review", "document.getElementById('outcome')")
        .await;
    let text = b.text().await;
    assert!(
        text.contains("Kontrollen är sparad.")
            && text.contains("Behöver följas upp")
            && text.contains("Fråga Siv om larmet."),
        "{text}"
    );
    b.assert_accessible("/log-review/{unit} after a review")
        .await;
    b.goto(&app.localhost_url(&format!("{review}?lang=en&show=flagged")))
        .await;
    b.wait_for("English", "document.documentElement.lang === 'en'")
        .await;
    b.assert_accessible("/log-review/{unit} (en)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_sent_by_sipp_appears_live_in_the_console_and_is_taken_and_closed() {
    // An alarm operator logs in with BankID and opens the queue; a safety
    // alarm (sipp, over SIP) with a GPS position appears without a reload
    // by hand; its page draws the position on the tile server's map; she
    // takes it and closes it with a note. Every page is checked with axe-core.
    let tiles = TileServer::start().await;
    let args = trygg::config::ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        alarm_map_tiles: Some(format!("http://{}/{{z}}/{{x}}/{{y}}.png", tiles.addr)),
        ..Default::default()
    };
    let app = TestApp::spawn_configured(Backend::Sqlite, clock(), args, Vec::new()).await;
    let device = crate::alarms::provisioned_with_password(
        &app.store,
        "larm-0001",
        "4600001",
        "hemligt-losen-1",
    )
    .await;
    crate::alarms::staffed(&app.store, &device, &app.clock).await;
    let olle = Citizen {
        id: device.person,
        number: pnr(date!(1980 - 02 - 02), 990),
        given: "Olle",
        family: "Operatör",
    };
    let mut tx = app.store.begin().await.unwrap();
    let staff = tx
        .add_staff(
            device.tenant,
            &StaffDetails {
                given_name: PersonName::parse(olle.given).unwrap(),
                family_name: PersonName::parse(olle.family).unwrap(),
                hsa_id: None,
                identity_number: Some(olle.number),
                email: None,
                phone: None,
            },
        )
        .await
        .unwrap();
    tx.assign_role(
        device.tenant,
        RoleAssignment {
            staff,
            unit: device.unit,
            role: Role::AlarmOperator,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let b = Browser::start().await;
    let order = start_bankid_as(&app, &b, "staff").await;
    finish_bankid(&app, &b, &order, &olle).await;
    // Notifications allowed on this device (the page asks with a button).
    b.cmd(
        "POST",
        "/permissions",
        json!({ "descriptor": { "name": "notifications" }, "state": "granted" }),
    )
    .await;
    b.click("a[href='/alarms']").await;
    b.wait_for_path("/alarms").await;
    assert!(b.text().await.contains("Inga öppna larm"));
    b.wait_for(
        "notifications offered as on",
        "document.getElementById('notify-on') && !document.getElementById('notify-on').hidden",
    )
    .await;
    b.assert_accessible("/alarms (empty)").await;

    // The device raises an alarm; the open queue shows it by itself.
    let body = crate::sip::alarm_body(&device, "B1")
        .replace("</mrq>", "<lge><geo>59.329323,18.068581</geo></lge></mrq>");
    let run = crate::sip::sipp(&app, "device.xml", "larm-0001", "hemligt-losen-1", &body).await;
    assert!(run.ok, "{}\n{}", run.output, run.messages);
    b.wait_for(
        "the alarm in the queue",
        "document.querySelector('#queue .alarm.received')",
    )
    .await;
    let text = b.text().await;
    assert!(
        text.contains("Greta Lind") && text.contains("Ej taget"),
        "{text}"
    );
    // The operator's device is notified of it, with nothing of who or where.
    let queued = b
        .exec(
            "return document.querySelector('#queue li.alarm').id;",
            json!([]),
        )
        .await;
    b.assert_notified(
        "Nytt larm i kön",
        &format!("queue-{}", queued.as_str().unwrap()),
    )
    .await;
    b.assert_accessible("/alarms (an untaken alarm)").await;

    let page = format!("/persons/{}/alarms", device.person);
    b.click(&format!("#queue h3 a[href='{page}']")).await;
    b.wait_for_path(&page).await;
    b.assert_accessible("/persons/{id}/alarms (received)").await;
    // The browser fetched the map's tiles (the content security policy let
    // it), the one holding the position among them.
    b.wait_for(
        "the map drawn",
        "document.querySelectorAll('svg.map image').length === 9",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while tiles.fetched().len() < 9 {
        assert!(
            Instant::now() < deadline,
            "tiles fetched: {:?}",
            tiles.fetched()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        tiles.fetched().contains(&"/16/36057/19273.png".to_owned()),
        "{:?}",
        tiles.fetched()
    );
    b.click("form[action$='/take'] button").await;
    b.wait_for(
        "the alarm taken",
        "document.querySelector('form[action$=\"/close\"]')",
    )
    .await;
    b.assert_accessible("/persons/{id}/alarms (taken)").await;

    // He keeps "my alarms" open on his phone, notifications allowed; the
    // alarm is sent to him (from another of his sessions): the page
    // notifies him, saying nothing of who or where.
    let section = b
        .exec(
            "return document.querySelector('section.alarm').id;",
            json!([]),
        )
        .await;
    let alarm = section
        .as_str()
        .unwrap()
        .trim_start_matches("alarm-")
        .to_owned();
    // Taken, it is no news in the queue: its notification goes.
    b.goto(&app.localhost_url("/alarms")).await;
    b.wait_for_path("/alarms").await;
    assert_eq!(b.notifications(0).await, json!([]));
    b.goto(&app.localhost_url("/alarms/mine")).await;
    b.wait_for(
        "notifications offered as on",
        "document.getElementById('notify-on') && !document.getElementById('notify-on').hidden",
    )
    .await;
    let phone = As::new(
        &app,
        Account::Staff {
            tenant: device.tenant,
            staff,
        },
    )
    .await;
    let sent = phone
        .form(
            &format!("{page}/{alarm}/dispatch"),
            &[("staff", &staff.to_string())],
        )
        .await;
    assert_eq!(sent.status(), 303);
    b.wait_for(
        "the notification of the alarm sent to him",
        "document.querySelector('#mine li.alarm')",
    )
    .await;
    b.assert_notified("Nytt larm att åka på", &format!("mine-alarm-{alarm}"))
        .await;
    assert!(
        b.text().await.contains("Greta Lind"),
        "the page shows the alarm"
    );
    b.goto(&app.localhost_url(&page)).await;
    b.wait_for_path(&page).await;
    submit_text(
        &b,
        "textarea[name=note]",
        "Hade halkat, oskadd. Hjälpte upp.",
    )
    .await;
    b.wait_for(
        "the alarm closed",
        "document.body.innerText.includes('Avslutat: Hade halkat')",
    )
    .await;
    b.goto(&app.localhost_url("/alarms?lang=en")).await;
    b.wait_for("English", "document.documentElement.lang === 'en'")
        .await;
    assert!(b.text().await.contains("No open alarms."));
    b.assert_accessible("/alarms (en)").await;
    b.goto(&app.localhost_url("/alarms/mine?lang=sv")).await;
    b.wait_for_path("/alarms/mine?lang=sv").await;
    assert!(b.text().await.contains("Du har inga larm att åka på."));
    b.assert_accessible("/alarms/mine").await;
    // Not yet asked: the button asks; refused: the page says how to turn
    // notifications on, and nothing more is asked.
    for (state, shown, hidden) in [
        ("prompt", "notify-ask", "notify-blocked"),
        ("denied", "notify-blocked", "notify-ask"),
    ] {
        b.cmd(
            "POST",
            "/permissions",
            json!({ "descriptor": { "name": "notifications" }, "state": state }),
        )
        .await;
        b.goto(&app.localhost_url("/alarms/mine")).await;
        b.wait_for(
            &format!("{shown} shown when notifications are {state}"),
            &format!(
                "!document.getElementById('{shown}').hidden && \
                 document.getElementById('{hidden}').hidden && \
                 document.getElementById('notify-on').hidden"
            ),
        )
        .await;
        b.assert_accessible(&format!("/alarms/mine (notifications {state})"))
            .await;
    }
}

/// A tile server for the console's map: answers every GET with a tiny PNG
/// and remembers the paths asked for.
struct TileServer {
    addr: std::net::SocketAddr,
    fetched: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _task: tokio::task::JoinHandle<()>,
}

/// A 1×1 PNG.
const TILE_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0x73, 0xf7, 0x0c,
    0x00, 0x04, 0xee, 0x02, 0x76, 0x47, 0x44, 0x21, 0x06, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

impl TileServer {
    async fn start() -> Self {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fetched = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = fetched.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut n = 0;
                    while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") && n < buf.len() {
                        match conn.read(&mut buf[n..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(m) => n += m,
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if let Some(path) = head.split(' ').nth(1) {
                        seen.lock().unwrap().push(path.to_owned());
                    }
                    let mut answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        TILE_PNG.len()
                    )
                    .into_bytes();
                    answer.extend_from_slice(&TILE_PNG);
                    let _ = conn.write_all(&answer).await;
                });
            }
        });
        Self {
            addr,
            fetched,
            _task: task,
        }
    }

    fn fetched(&self) -> Vec<String> {
        self.fetched.lock().unwrap().clone()
    }
}
