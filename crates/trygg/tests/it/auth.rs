//! Sessions, CSRF, timeouts, revocation, step-up and the bootstrap
//! administrator, through the real server.

use crate::kit::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use time::Duration;
use trygg_auth::{Token, Totp};
use trygg_domain::*;
use trygg_store::SessionRecord;

/// A browser without JavaScript: keeps cookies, follows nothing by itself.
struct Browser {
    base: String,
    client: reqwest::Client,
    jar: CookieJar,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: CookieJar::default(),
        }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, HeaderMap, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.jar.header())
            .send()
            .await
            .unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        self.jar.absorb(&headers);
        (status, headers, res.text().await.unwrap())
    }

    async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.jar.header())
            .form(form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        self.jar.absorb(&headers);
        (status, headers, res.text().await.unwrap())
    }

    fn session(&self) -> Option<String> {
        self.jar.get("__Host-trygg-session").map(str::to_owned)
    }
}

fn csrf_of(html: &str) -> String {
    let at =
        html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

fn location(headers: &HeaderMap) -> String {
    headers[LOCATION].to_str().unwrap().to_owned()
}

async fn admin(app: &TestApp) -> Totp {
    let totp = Totp::generate().unwrap();
    let hash = trygg_auth::password::hash("korrekt häst batteri").unwrap();
    app.store
        .create_bootstrap_admin("admin", &hash, totp.secret())
        .await
        .unwrap();
    totp
}

/// Logs the bootstrap administrator in; returns the TOTP step used.
async fn admin_login(
    app: &TestApp,
    b: &mut Browser,
    totp: &Totp,
    password: &str,
) -> (StatusCode, String) {
    let (_, _, html) = b.get("/login/bootstrap").await;
    let csrf = csrf_of(&html);
    let code = totp.code(Totp::step(app.clock.now()));
    let (status, headers, _) = b
        .post(
            "/login/bootstrap",
            &[
                ("csrf", &csrf),
                ("name", "admin"),
                ("password", password),
                ("code", &code),
            ],
            Some(&app.base),
        )
        .await;
    (status, location(&headers))
}

/// A session for an account, as a login would make it (for accounts whose
/// login methods are tested elsewhere).
async fn session_for(
    app: &TestApp,
    b: &mut Browser,
    account: Account,
    loa: Loa,
    authenticated_ago: Duration,
) {
    let token = Token::generate().unwrap();
    let now = app.clock.now();
    app.store
        .create_session(
            &token.hash(),
            &SessionRecord {
                account,
                method: AuthMethod::BankId,
                provider: "bankid".into(),
                loa,
                authenticated_at: now - authenticated_ago,
                created_at: now,
                last_seen_at: now,
                expires_at: now + Duration::hours(12),
            },
        )
        .await
        .unwrap();
    b.jar.set("__Host-trygg-session", Some(token.expose()));
}

on_both_backends! {
    async fn bootstrap_admin_logs_in_with_password_and_a_one_time_code(backend) {
        let app = TestApp::spawn(backend).await;
        let totp = admin(&app).await;
        let mut b = Browser::new(&app);
        // Anonymous: the home page sends you to log in.
        let (status, headers, _) = b.get("/").await;
        assert_eq!((status, location(&headers).as_str()), (StatusCode::SEE_OTHER, "/login"));
        // A wrong password is refused, with no session.
        assert_eq!(admin_login(&app, &mut b, &totp, "fel lösenord helt").await.1, "/login/bootstrap?error=wrong");
        assert!(b.session().is_none());
        // The right one works.
        let (status, to) = admin_login(&app, &mut b, &totp, "korrekt häst batteri").await;
        assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/"));
        let first = b.session().expect("a session cookie");
        let (status, _, html) = b.get("/").await;
        assert_eq!(status, 200);
        assert!(html.contains("admin") && html.contains("password_totp") && html.contains("loa2"), "{html}");
        // The same code again (same 30-second step) is refused: one use per code.
        assert_eq!(admin_login(&app, &mut b, &totp, "korrekt häst batteri").await.1, "/login/bootstrap?error=wrong");
        // The next step's code works, and gives a new session id (no fixation);
        // the old id is dead.
        app.clock.advance(Duration::seconds(30));
        let (_, to) = admin_login(&app, &mut b, &totp, "korrekt häst batteri").await;
        assert_eq!(to, "/");
        let second = b.session().unwrap();
        assert_ne!(first, second);
        let mut old = Browser::new(&app);
        old.jar.set("__Host-trygg-session", Some(&first));
        let (_, headers, _) = old.get("/").await;
        assert_eq!(location(&headers), "/login?error=session-ended");
        // The administrator may not take sensitive actions (no e-ID).
        let (_, headers, _) = b.get("/account/security").await;
        assert!(location(&headers).starts_with("/login?step_up=1"));
        // Logout ends the session at once.
        let (_, _, html) = b.get("/").await;
        let (status, headers, _) = b.post("/logout", &[("csrf", &csrf_of(&html))], Some(&app.base)).await;
        assert_eq!((status, location(&headers).as_str()), (StatusCode::SEE_OTHER, "/login"));
        assert!(b.session().is_none());
        let mut replay = Browser::new(&app);
        replay.jar.set("__Host-trygg-session", Some(&second));
        let (_, headers, _) = replay.get("/").await;
        assert_eq!(location(&headers), "/login?error=session-ended");

        // Every cookie Trygg set had the strict flags.
        assert!(!b.jar.seen.is_empty());
        for c in b.jar.seen.iter().chain(&old.jar.seen).chain(&replay.jar.seen) {
            assert!(c.starts_with("__Host-"), "{c}");
            for flag in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"] {
                assert!(c.contains(flag), "{c} lacks {flag}");
            }
            assert!(!c.to_lowercase().contains("domain="), "{c}");
        }
    }

    async fn sessions_end_after_idle_and_absolute_limits(backend) {
        let app = TestApp::spawn(backend).await;
        let totp = admin(&app).await;
        let mut b = Browser::new(&app);
        admin_login(&app, &mut b, &totp, "korrekt häst batteri").await;
        // Idle: 30 minutes without a request. T-1 s is fine (and counts as activity)…
        app.clock.advance(Duration::minutes(30) - Duration::seconds(1));
        assert_eq!(b.get("/").await.0, 200);
        // …T+1 s after the last request is not.
        app.clock.advance(Duration::minutes(30) + Duration::seconds(1));
        let (_, headers, _) = b.get("/").await;
        assert_eq!(location(&headers), "/login?error=session-ended");

        // Absolute: 12 hours even when active.
        app.clock.advance(Duration::seconds(30));
        admin_login(&app, &mut b, &totp, "korrekt häst batteri").await;
        for _ in 0..24 {
            app.clock.advance(Duration::minutes(29) + Duration::seconds(59));
            assert_eq!(b.get("/").await.0, 200);
        }
        // 24 × (30 min − 1 s) = 12 h − 24 s: one request at 12 h − 1 s is fine…
        app.clock.advance(Duration::seconds(23));
        assert_eq!(b.get("/").await.0, 200);
        app.clock.advance(Duration::seconds(2));
        let (_, headers, _) = b.get("/").await;
        assert_eq!(location(&headers), "/login?error=session-ended");
    }

    async fn role_changes_and_disabling_revoke_sessions(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenant(&app.store, "212000-9994").await;
        let mut tx = app.store.begin().await.unwrap();
        let unit = tx.add_unit(t.id, None, "Hemtjänst", None).await.unwrap();
        let staff = tx.add_staff(t.id, &StaffDetails {
            given_name: PersonName::parse("Sara").unwrap(), family_name: PersonName::parse("Ek").unwrap(),
            hsa_id: None, identity_number: None, email: None, phone: None,
        }).await.unwrap();
        tx.commit().await.unwrap();
        let account = Account::Staff { tenant: t.id, staff };
        let mut b = Browser::new(&app);
        session_for(&app, &mut b, account.clone(), Loa::Loa3, Duration::ZERO).await;
        let (status, _, html) = b.get("/").await;
        assert_eq!(status, 200);
        assert!(html.contains("Sara Ek"), "{html}");
        // A new role: the next request is anonymous.
        let mut tx = app.store.begin().await.unwrap();
        tx.assign_role(t.id, RoleAssignment { staff, unit: unit.id, role: Role::Nurse }).await.unwrap();
        tx.commit().await.unwrap();
        let (_, headers, _) = b.get("/").await;
        assert_eq!(location(&headers), "/login?error=session-ended");
        // Disabled: the same.
        session_for(&app, &mut b, account.clone(), Loa::Loa3, Duration::ZERO).await;
        assert_eq!(b.get("/").await.0, 200);
        app.store.set_staff_disabled(t.id, staff, true).await.unwrap();
        let (_, headers, _) = b.get("/").await;
        assert_eq!(location(&headers), "/login?error=session-ended");
        // A LoA2 session cannot use a staff account.
        session_for(&app, &mut b, account.clone(), Loa::Loa2, Duration::ZERO).await;
        let (_, headers, _) = b.get("/").await;
        assert_eq!(location(&headers), "/login?error=loa");
    }

    async fn step_up_needs_a_fresh_strong_login(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenant(&app.store, "212000-9994").await;
        let mut tx = app.store.begin().await.unwrap();
        let person = tx.add_person(t.id, &person("Astrid", "Lind", pnr(time::macros::date!(1931-05-05), 981)), false).await.unwrap();
        tx.commit().await.unwrap();
        let account = Account::Person { tenant: t.id, person };
        let mut b = Browser::new(&app);
        session_for(&app, &mut b, account.clone(), Loa::Loa3, Duration::minutes(10) + Duration::seconds(1)).await;
        let (status, headers, _) = b.get("/account/security").await;
        assert_eq!((status, location(&headers).as_str()), (StatusCode::SEE_OTHER, "/login?step_up=1&return=/account/security"));
        session_for(&app, &mut b, account, Loa::Loa3, Duration::minutes(10) - Duration::seconds(1)).await;
        assert_eq!(b.get("/account/security").await.0, 200);
    }

    async fn staff_step_up_with_one_time_codes(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenant(&app.store, "212000-9994").await;
        let mut tx = app.store.begin().await.unwrap();
        let staff = tx.add_staff(t.id, &StaffDetails {
            given_name: PersonName::parse("Ali").unwrap(), family_name: PersonName::parse("Hassan").unwrap(),
            hsa_id: None, identity_number: None, email: None, phone: None,
        }).await.unwrap();
        let person = tx.add_person(t.id, &person("Elsa", "Berg", pnr(time::macros::date!(1930-01-01), 990)), false).await.unwrap();
        tx.commit().await.unwrap();
        let mut b = Browser::new(&app);
        session_for(&app, &mut b, Account::Staff { tenant: t.id, staff }, Loa::Loa3, Duration::ZERO).await;
        let (status, _, html) = b.get("/account/security").await;
        assert_eq!(status, 200);
        let csrf = csrf_of(&html);
        let (_, headers, _) = b.post("/account/totp/enroll", &[("csrf", &csrf)], Some(&app.base)).await;
        assert_eq!(location(&headers), "/account/security?totp=pending");
        let (_, _, html) = b.get("/account/security?totp=pending").await;
        assert!(html.contains("<code>") && html.contains("/account/totp/confirm"), "{html}");
        let (secret, confirmed) = app.store.staff_totp(staff).await.unwrap().unwrap();
        assert!(!confirmed);
        let totp = Totp::from_secret(&secret);
        // Not yet confirmed: it cannot be used to step up.
        let code = totp.code(Totp::step(app.clock.now()));
        let (_, headers, _) = b.post("/account/step-up/totp", &[("csrf", &csrf), ("code", &code), ("return", "/")], Some(&app.base)).await;
        assert!(location(&headers).contains("error=wrong"), "{}", location(&headers));
        let (_, headers, _) = b.post("/account/totp/confirm", &[("csrf", &csrf), ("code", "000000")], Some(&app.base)).await;
        assert_eq!(location(&headers), "/account/security?totp=wrong");
        let (_, headers, _) = b.post("/account/totp/confirm", &[("csrf", &csrf), ("code", &code)], Some(&app.base)).await;
        assert_eq!(location(&headers), "/account/security?totp=on");

        // Eleven minutes later the security page asks for a fresh authentication…
        app.clock.advance(Duration::minutes(11));
        let (_, headers, _) = b.get("/account/security").await;
        assert_eq!(location(&headers), "/login?step_up=1&return=/account/security");
        let (_, _, login) = b.get("/login?step_up=1&return=/account/security").await;
        assert!(login.contains("/account/step-up/totp"), "{login}");
        // …the code that confirmed the app cannot be replayed…
        let (_, headers, _) = b.post("/account/step-up/totp", &[("csrf", &csrf), ("code", &code), ("return", "/account/security")], Some(&app.base)).await;
        assert!(location(&headers).contains("error=wrong"));
        // …a fresh one works, with a new session id.
        let before = b.session().unwrap();
        let fresh = totp.code(Totp::step(app.clock.now()));
        let (status, headers, _) = b.post("/account/step-up/totp", &[("csrf", &csrf), ("code", &fresh), ("return", "/account/security")], Some(&app.base)).await;
        assert_eq!((status, location(&headers).as_str()), (StatusCode::SEE_OTHER, "/account/security"));
        assert_ne!(b.session().unwrap(), before);
        let (status, _, page) = b.get("/account/security").await;
        assert_eq!(status, 200);
        // A code may confirm actions, not change how one logs in.
        assert!(!page.contains("/account/totp/enroll") && !page.contains("passkey-create\""), "{page}");
        let (_, _, home) = b.get("/").await;
        assert!(home.contains("totp") && home.contains("loa3"), "{home}");

        // Wrong codes are rate-limited per account.
        let home_csrf = csrf_of(&home);
        for _ in 0..10 {
            b.post("/account/step-up/totp", &[("csrf", &home_csrf), ("code", "000000")], Some(&app.base)).await;
        }
        let next = totp.code(Totp::step(app.clock.now()) + 1);
        let (_, headers, _) = b.post("/account/step-up/totp", &[("csrf", &home_csrf), ("code", &next)], Some(&app.base)).await;
        assert!(location(&headers).contains("error=too-many"), "{}", location(&headers));

        // Citizens have no one-time codes.
        let mut c = Browser::new(&app);
        session_for(&app, &mut c, Account::Person { tenant: t.id, person }, Loa::Loa3, Duration::ZERO).await;
        let (_, _, page) = c.get("/account/security").await;
        assert!(!page.contains("/account/totp/enroll"));
        let (_, headers, _) = c.post("/account/totp/enroll", &[("csrf", &csrf_of(&page))], Some(&app.base)).await;
        assert_eq!(location(&headers), "/account/security");
    }

    async fn csrf_is_required_on_every_state_changing_route(backend) {
        let app = TestApp::spawn(backend).await;
        let totp = admin(&app).await;
        let mut b = Browser::new(&app);
        let (_, _, html) = b.get("/login/bootstrap").await;
        let anon = csrf_of(&html);
        for route in STATE_CHANGING_ROUTES {
            // No token at all.
            let (status, _, body) = b.post(route, &[("x", "y")], None).await;
            assert_eq!(status, 403, "{route}: {body}");
            assert!(body.contains("WB403"), "{route}: {body}");
            // A token, but a foreign origin.
            let (status, _, _) = b.post(route, &[("csrf", &anon)], Some("https://evil.example")).await;
            assert_eq!(status, 403, "{route}");
            // Someone else's token.
            let (status, _, _) = b.post(route, &[("csrf", &Token::generate().unwrap().csrf())], None).await;
            assert_eq!(status, 403, "{route}");
        }
        // With the right token and origin the CSRF check passes.
        let (status, _, _) = b.post("/logout", &[("csrf", &anon)], Some(&app.base)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        // Once logged in, the anonymous token no longer counts: the session's does.
        admin_login(&app, &mut b, &totp, "korrekt häst batteri").await;
        let (status, _, _) = b.post("/logout", &[("csrf", &anon)], Some(&app.base)).await;
        assert_eq!(status, 403);
        let (_, _, home) = b.get("/").await;
        let (status, _, _) = b.post("/logout", &[("csrf", &csrf_of(&home))], Some(&app.base)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }

    async fn login_attempts_are_rate_limited(backend) {
        let app = TestApp::spawn(backend).await;
        let totp = admin(&app).await;
        let mut b = Browser::new(&app);
        for _ in 0..10 {
            assert_eq!(admin_login(&app, &mut b, &totp, "fel lösenord helt").await.1, "/login/bootstrap?error=wrong");
        }
        // Even the right password is refused now…
        assert_eq!(admin_login(&app, &mut b, &totp, "korrekt häst batteri").await.1, "/login/bootstrap?error=too-many");
        // …until the window has passed.
        app.clock.advance(Duration::minutes(5) + Duration::seconds(1));
        assert_eq!(admin_login(&app, &mut b, &totp, "korrekt häst batteri").await.1, "/");
    }
}

/// Every POST route. The CSRF test fails for a route missing here only if
/// the route is unprotected; keep the list complete when adding routes.
const STATE_CHANGING_ROUTES: &[&str] = &[
    "/login/start",
    "/login/bootstrap",
    "/login/bankid/cancel",
    "/login/passkey/start",
    "/login/passkey/finish",
    "/account/passkeys/register/start",
    "/account/passkeys/register/finish",
    "/account/totp/enroll",
    "/account/totp/confirm",
    "/account/step-up/totp",
    "/api/persons/{id}/care-plan/{unit}",
    "/api/persons/{id}/notes/{unit}",
    "/api/persons/{id}/notes/{unit}/{note}",
    "/api/persons/{id}/emergency-access",
    "/api/persons/{id}/alarms/{alarm}/take",
    "/api/persons/{id}/alarms/{alarm}/dispatch",
    "/api/persons/{id}/alarms/{alarm}/on-site",
    "/api/persons/{id}/alarms/{alarm}/close",
    "/persons/{id}/alarms/{alarm}/take",
    "/persons/{id}/alarms/{alarm}/dispatch",
    "/persons/{id}/alarms/{alarm}/on-site",
    "/persons/{id}/alarms/{alarm}/close",
    "/persons/emergency-access",
    "/persons/{id}/care-plan/{unit}",
    "/persons/{id}/notes/{unit}",
    "/persons/{id}/notes/{unit}/{note}",
    "/permissions/{unit}/roles",
    "/permissions/{unit}/roles/end",
    "/permissions/{unit}/roles/review",
    "/permissions/{unit}/care",
    "/permissions/{unit}/care/end",
    "/permissions/{unit}/care/review",
    "/follow-up/{id}",
    "/api/emergency-follow-ups/{id}",
    "/log-review/{unit}",
    "/log-review/{unit}/reviews",
    "/log-review/{unit}/reviews/{id}/close",
    "/logout",
];

/// A POST route missing from [`STATE_CHANGING_ROUTES`] fails this test, so
/// the CSRF test above covers every state-changing route there is.
#[test]
fn every_post_route_is_in_the_csrf_list() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (path, handlers) in route_calls(&text) {
            if handlers.contains("post(") {
                found.push(path);
            }
        }
    }
    assert!(found.len() >= 5, "{found:?}");
    for route in &found {
        assert!(
            STATE_CHANGING_ROUTES.contains(&route.as_str()),
            "{route} is not in STATE_CHANGING_ROUTES"
        );
    }
}
