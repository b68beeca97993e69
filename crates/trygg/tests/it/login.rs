//! Logging in with BankID through the real server and the BankID simulator,
//! as staff and as a citizen.

use crate::kit::*;
use reqwest::header::LOCATION;
use time::Duration;
use time::macros::date;
use trygg_domain::*;

struct Flow {
    base: String,
    client: reqwest::Client,
    jar: CookieJar,
}

impl Flow {
    async fn get(&mut self, path: &str) -> reqwest::Response {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.jar.header())
            .send()
            .await
            .unwrap();
        self.jar.absorb(res.headers());
        res
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.jar.header())
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .unwrap();
        self.jar.absorb(res.headers());
        res
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in {text}"))
        + start.len();
    &text[at..][..text[at..].find(end).unwrap()]
}

/// Starts a BankID login; returns the simulator's order reference.
async fn start(app: &TestApp, f: &mut Flow, audience: &str) -> String {
    let html = f.get("/login").await.text().await.unwrap();
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"").to_owned();
    let res = f
        .post(
            "/login/start",
            &[
                ("csrf", &csrf),
                ("method", "bankid"),
                ("audience", audience),
                ("return", "/"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/login/bankid");
    let page = f.get("/login/bankid").await.text().await.unwrap();
    assert!(page.contains("bankid:///?autostarttoken="), "{page}");
    let token = between(&page, "autostarttoken=", "&").to_owned();
    // The simulator's "phone" finds the order by its autostart token.
    let sim = reqwest::get(format!(
        "http://{}/simulator/app?autostarttoken={token}",
        app.bankid.addr()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    between(&sim, "order=", "&").to_owned()
}

async fn control(app: &TestApp, order: &str, action: &str, body: serde_json::Value) {
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

async fn status(app: &TestApp, f: &mut Flow) -> serde_json::Value {
    app.clock.advance(Duration::seconds(2));
    f.get("/login/bankid/status").await.json().await.unwrap()
}

on_both_backends! {
    async fn staff_and_citizens_log_in_with_bankid(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenant(&app.store, "212000-9994").await;
        let staff_number = pnr(date!(1985-03-03), 983);
        let citizen_number = pnr(date!(1932-02-02), 984);
        let mut tx = app.store.begin().await.unwrap();
        tx.add_staff(t.id, &StaffDetails {
            given_name: PersonName::parse("Linnea").unwrap(), family_name: PersonName::parse("Persson").unwrap(),
            hsa_id: None, identity_number: Some(staff_number), email: None, phone: None,
        }).await.unwrap();
        tx.add_person(t.id, &person("Margit", "Holm", citizen_number), false).await.unwrap();
        tx.commit().await.unwrap();

        let mut f = Flow { base: app.base.clone(), client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), jar: CookieJar::default() };
        let order = start(&app, &mut f, "staff").await;
        // The QR code changes every second.
        let qr1 = f.get("/login/bankid/qr").await.text().await.unwrap();
        assert!(qr1.starts_with("<?xml") || qr1.contains("<svg"), "{qr1}");
        app.clock.advance(Duration::seconds(1));
        let qr2 = f.get("/login/bankid/qr").await.text().await.unwrap();
        assert_ne!(qr1, qr2);
        // Pending: the official message for a QR login not yet scanned (RFA1).
        let s = status(&app, &mut f).await;
        assert_eq!(s["state"], "pending", "{s}");
        assert_eq!(s["message"], trygg_bankid::Rfa::Rfa1.sv(), "RFA1");
        // Asked again within two seconds, the server does not call collect.
        let again: serde_json::Value = f.get("/login/bankid/status").await.json().await.unwrap();
        assert_eq!(again["message"], "");
        control(&app, &order, "scan", serde_json::json!({})).await;
        let s = status(&app, &mut f).await;
        assert_eq!(s["state"], "pending", "{s}");
        control(&app, &order, "approve", serde_json::json!({
            "personalNumber": staff_number.canonical(), "givenName": "Linnea", "surname": "Persson"
        })).await;
        let s = status(&app, &mut f).await;
        assert_eq!(s["state"], "complete", "{s}");
        assert_eq!(s["next"], "/");
        let home = f.get("/").await.text().await.unwrap();
        assert!(home.contains("Linnea Persson") && home.contains("bankid") && home.contains("loa3"), "{home}");

        // A citizen logs in the same way; a number with no account is refused.
        let mut c = Flow { base: app.base.clone(), client: f.client.clone(), jar: CookieJar::default() };
        let order = start(&app, &mut c, "citizen").await;
        control(&app, &order, "scan", serde_json::json!({})).await;
        control(&app, &order, "approve", serde_json::json!({
            "personalNumber": citizen_number.canonical(), "givenName": "Margit", "surname": "Holm"
        })).await;
        assert_eq!(status(&app, &mut c).await["state"], "complete");
        assert!(c.get("/").await.text().await.unwrap().contains("Margit Holm"));

        let mut u = Flow { base: app.base.clone(), client: f.client.clone(), jar: CookieJar::default() };
        let order = start(&app, &mut u, "staff").await;
        control(&app, &order, "scan", serde_json::json!({})).await;
        control(&app, &order, "approve", serde_json::json!({
            "personalNumber": citizen_number.canonical(), "givenName": "Margit", "surname": "Holm"
        })).await;
        let s = status(&app, &mut u).await;
        assert_eq!(s["next"], "/login?error=no-account", "a citizen is not staff: {s}");
        assert_eq!(u.get("/").await.status(), 303);

        // Cancelled in the app: the official message, and no session.
        let mut x = Flow { base: app.base.clone(), client: f.client.clone(), jar: CookieJar::default() };
        let order = start(&app, &mut x, "citizen").await;
        control(&app, &order, "cancel-by-user", serde_json::json!({})).await;
        let s = status(&app, &mut x).await;
        assert_eq!(s["state"], "failed", "{s}");
        assert_eq!(s["message"], trygg_bankid::Rfa::Rfa6.sv(), "RFA6");
        assert_eq!(x.get("/").await.status(), 303);

        // Cancelled on the page.
        let mut y = Flow { base: app.base.clone(), client: f.client.clone(), jar: CookieJar::default() };
        start(&app, &mut y, "citizen").await;
        let page = y.get("/login/bankid").await.text().await.unwrap();
        let csrf = between(&page, "name=\"csrf\" value=\"", "\"").to_owned();
        let res = y.post("/login/bankid/cancel", &[("csrf", &csrf)]).await;
        assert_eq!(res.headers()[LOCATION], "/login?error=cancelled");
        let s: serde_json::Value = y.get("/login/bankid/status").await.json().await.unwrap();
        assert_eq!(s["state"], "failed");
    }
}
