//! Log review (loggkontroll) over HTTP: a unit manager searches her unit's
//! log, sees the accesses worth a look flagged by each rule, draws random
//! samples, records a review with its conclusion and follows it up; other
//! units' managers and staff cannot; the FHIR export names nobody. On both
//! backends.

use crate::kit::*;
use std::collections::{BTreeSet, HashMap};
use time::Duration;
use time::macros::{date, datetime};
use trygg_domain::*;

struct World {
    t: TenantId,
    north: UnitId,
    south: UnitId,
    maja: StaffId,
    nora: StaffId,
    vera: StaffId,
    siv: StaffId,
    sune: StaffId,
    saga: StaffId,
    elsa: PersonId,
    olle: PersonId,
    pia: PersonId,
    many: Vec<PersonId>,
}

async fn world(app: &TestApp) -> World {
    let t = tenant(&app.store, "212000-9994").await.id;
    let mut tx = app.store.begin().await.unwrap();
    let north = tx
        .add_unit(t, None, "Hemtjänst Norr", None)
        .await
        .unwrap()
        .id;
    let south = tx
        .add_unit(t, None, "Hemtjänst Söder", None)
        .await
        .unwrap()
        .id;
    let mut staff = Vec::new();
    for (given, family, unit, role) in [
        ("Maja", "Test", north, Role::UnitManager),
        ("Nora", "Ek", north, Role::Nurse),
        ("Vera", "Test", north, Role::HomeCareStaff),
        ("Siv", "Test", south, Role::Nurse),
        ("Sune", "Test", south, Role::UnitManager),
        ("Saga", "Test", south, Role::SecurityOfficer),
    ] {
        let details = StaffDetails {
            given_name: PersonName::parse(given).unwrap(),
            family_name: PersonName::parse(family).unwrap(),
            hsa_id: None,
            identity_number: None,
            email: None,
            phone: None,
        };
        let id = tx.add_staff(t, &details).await.unwrap();
        tx.assign_role(
            t,
            RoleAssignment {
                staff: id,
                unit,
                role,
            },
        )
        .await
        .unwrap();
        staff.push(id);
    }
    let since = Period::new(app.clock.now() - Duration::days(1), None).unwrap();
    let mut add = async |given: &str, family: &str, serial: u16, protected: bool, unit: UnitId| {
        let id = tx
            .add_person(
                t,
                &person(given, family, pnr(date!(1931 - 03 - 03), serial)),
                protected,
            )
            .await
            .unwrap();
        tx.add_care_relationship(t, id, CareParty::Unit(unit), since)
            .await
            .unwrap();
        id
    };
    let elsa = add("Elsa", "Ek", 901, false, north).await;
    let olle = add("Olle", "Lind", 902, false, south).await;
    let pia = add("Pia", "Berg", 903, true, north).await;
    let mut many = Vec::new();
    for i in 0..10u16 {
        many.push(add("Många", "Person", 910 + i, false, north).await);
    }
    tx.commit().await.unwrap();
    World {
        t,
        north,
        south,
        maja: staff[0],
        nora: staff[1],
        vera: staff[2],
        siv: staff[3],
        sune: staff[4],
        saga: staff[5],
        elsa,
        olle,
        pia,
        many,
    }
}

fn staff(w: &World, staff: StaffId) -> Account {
    Account::Staff { tenant: w.t, staff }
}

/// The search's entries by (actor's staff id, person) with their flags.
fn flags_of(body: &serde_json::Value) -> Vec<(String, Option<String>, BTreeSet<String>)> {
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"]["actor"].as_str().unwrap().to_owned(),
                e["event"]["person"].as_str().map(str::to_owned),
                e["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn set(flags: &[&str]) -> BTreeSet<String> {
    flags.iter().map(|f| (*f).to_owned()).collect()
}

/// Makes the log the review looks at: ordinary and flagged accesses by the
/// north unit's staff, and a south nurse's access that north must not see.
async fn make_log(app: &TestApp, w: &World) {
    // 10:00 Swedish time.
    app.clock.set(datetime!(2026-06-01 08:00 UTC));
    let nora = As::new(app, staff(w, w.nora)).await;
    assert_eq!(
        nora.get(&format!("/api/persons/{}", w.elsa)).await.status(),
        200
    );
    assert_eq!(
        nora.get(&format!("/api/persons/{}", w.olle)).await.status(),
        403
    );
    assert_eq!(
        nora.get(&format!("/api/persons/{}", w.pia)).await.status(),
        200
    );
    let siv = As::new(app, staff(w, w.siv)).await;
    assert_eq!(
        siv.get(&format!("/api/persons/{}", w.olle)).await.status(),
        200
    );
    // Vera opens ten persons' records in five minutes.
    let vera = As::new(app, staff(w, w.vera)).await;
    for p in &w.many {
        app.clock.advance(Duration::seconds(30));
        assert_eq!(vera.get(&format!("/api/persons/{p}")).await.status(), 200);
    }
    // 23:30 Swedish time.
    app.clock.set(datetime!(2026-06-01 21:30 UTC));
    let nora = As::new(app, staff(w, w.nora)).await;
    assert_eq!(
        nora.get(&format!("/api/persons/{}", w.elsa)).await.status(),
        200
    );
    app.clock.set(datetime!(2026-06-02 07:00 UTC));
}

on_both_backends! {
    async fn a_unit_manager_reviews_her_units_log_with_flags_and_samples(backend) {
        let app = TestApp::spawn(backend).await;
        let w = world(&app).await;
        make_log(&app, &w).await;
        let maja = As::new(&app, staff(&w, w.maja)).await;
        let n = w.north;
        let res = maja.get(&format!("/api/log-review/{n}")).await;
        assert_eq!(res.status(), 200);
        let request = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: serde_json::Value = res.json().await.unwrap();
        let entries = flags_of(&body);
        let actor = |s: StaffId| Actor::of(&staff(&w, s)).0;
        let about = |p: PersonId| Some(p.to_string());
        let find = |who: StaffId, whom: PersonId| -> Vec<BTreeSet<String>> {
            entries.iter().filter(|(a, p, _)| *a == actor(who) && *p == about(whom)).map(|(_, _, f)| f.clone()).collect()
        };
        // Nora and Elsa share a surname; once in the day, once at 23:30.
        let mut elsa = find(w.nora, w.elsa);
        elsa.sort();
        assert_eq!(elsa, vec![set(&["outside_working_hours", "same_surname"]), set(&["same_surname"])]);
        // Refused for want of a care relationship.
        assert_eq!(find(w.nora, w.olle), vec![set(&["no_care_relationship", "refused"])]);
        assert_eq!(find(w.nora, w.pia), vec![set(&["protected_identity"])]);
        // Ten persons in five minutes.
        for p in &w.many {
            assert_eq!(find(w.vera, *p), vec![set(&["many_persons"])], "{p}");
        }
        // The south nurse's access to a south person is not north's to review.
        assert!(entries.iter().all(|(a, _, _)| *a != actor(w.siv)), "{entries:?}");
        assert_eq!(body["found"], entries.len());
        assert_eq!(body["flagged"], 14);
        // The search itself is logged.
        let logged = app.store.unsafe_audit_entries_of_request(&request).await.unwrap();
        assert_eq!(logged.len(), 1);
        assert_eq!((logged[0].event.action.as_str(), logged[0].event.unit), ("review_log", Some(n)));
        assert_eq!(logged[0].event.actor, Actor::of(&staff(&w, w.maja)));

        // Only the flagged.
        let flagged: serde_json::Value = maja.get(&format!("/api/log-review/{n}?show=flagged")).await.json().await.unwrap();
        assert_eq!(flagged["entries"].as_array().unwrap().len(), 14);
        assert!(flags_of(&flagged).iter().all(|(_, _, f)| !f.is_empty()));
        // A search for one person, one staff member.
        let one: serde_json::Value = maja.get(&format!("/api/log-review/{n}?person={}", w.elsa)).await.json().await.unwrap();
        let actions: Vec<&str> = one["entries"].as_array().unwrap().iter().map(|e| e["event"]["action"].as_str().unwrap()).collect();
        // Nora's two readings, and this search itself (it is about Elsa).
        assert_eq!(actions, ["review_log", "read:overview", "read:overview"]);
        let hers: serde_json::Value = maja.get(&format!("/api/log-review/{n}?staff={}", w.vera)).await.json().await.unwrap();
        assert_eq!(hers["entries"].as_array().unwrap().len(), 10);
        // A period that holds nothing.
        let none: serde_json::Value = maja.get(&format!("/api/log-review/{n}?from=2026-05-01&to=2026-05-31")).await.json().await.unwrap();
        assert_eq!(none["found"], 0);
        assert_eq!(maja.get(&format!("/api/log-review/{n}?from=2026-06-02&to=2026-06-01")).await.status(), 400);
        assert_eq!(maja.get(&format!("/api/log-review/{n}?from=igår")).await.status(), 400);

        // Random samples: the asked-for size, distinct entries of the search,
        // not the same every time.
        let all: BTreeSet<String> = body["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        let mut seen = BTreeSet::new();
        for _ in 0..8 {
            let s: serde_json::Value = maja.get(&format!("/api/log-review/{n}?show=sample&n=3")).await.json().await.unwrap();
            let entries = s["entries"].as_array().unwrap();
            let ids: BTreeSet<String> = entries.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
            assert_eq!(ids.len(), 3);
            // Drawn from the search, which by now holds the earlier searches too.
            for e in entries {
                assert!(all.contains(e["id"].as_str().unwrap()) || e["event"]["action"] == "review_log", "{e}");
            }
            seen.insert(ids.into_iter().collect::<Vec<_>>());
        }
        assert!(seen.len() > 1, "eight samples of 3 from {} were all the same", all.len());
    }

    async fn a_review_is_recorded_followed_up_and_sealed(backend) {
        let app = TestApp::spawn(backend).await;
        let w = world(&app).await;
        make_log(&app, &w).await;
        let maja = As::new(&app, staff(&w, w.maja)).await;
        let n = w.north;
        // The search form turns an identity number into an opaque id.
        let res = maja.form(&format!("/log-review/{n}"), &[("from", "2026-05-20"), ("to", "2026-06-02"), ("identity_number", &pnr(date!(1931 - 03 - 03), 901).canonical()), ("staff", ""), ("show", "all"), ("n", "20")]).await;
        let to = location(&res);
        assert!(to.starts_with(&format!("/log-review/{n}?")) && to.contains(&format!("person={}", w.elsa)), "{to}");
        assert!(!to.contains("19310303"), "no identity number in an address: {to}");
        let page = maja.get(&to).await.text().await.unwrap();
        assert!(page.contains("Loggkontroll: Hemtjänst Norr") && page.contains("Samma efternamn") && page.contains("Utanför arbetstid"), "{page}");

        // A sample, reviewed with remarks: the note is required and sealed.
        let s: serde_json::Value = maja.get(&format!("/api/log-review/{n}?show=sample&n=5")).await.json().await.unwrap();
        let ids: Vec<String> = s["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        let ids = ids.join(" ");
        let record = |conclusion: &'static str, note: &'static str, entries: String| {
            let maja = &maja;
            async move {
                location(&maja.form(&format!("/log-review/{n}/reviews"), &[("from", "2026-05-03"), ("to", "2026-06-02"), ("selection", "sample:5"), ("entries", &entries), ("conclusion", conclusion), ("note", note)]).await)
            }
        };
        assert_eq!(record("follow_up", "", ids.clone()).await, format!("/log-review/{n}?error=1#outcome"), "remarks need a note");
        // An entry of another unit cannot be claimed as checked.
        let south_entry = {
            let sune = As::new(&app, staff(&w, w.sune)).await;
            let b: serde_json::Value = sune.get(&format!("/api/log-review/{}", w.south)).await.json().await.unwrap();
            b["entries"].as_array().unwrap().iter().find(|e| e["event"]["actor"] == Actor::of(&staff(&w, w.siv)).0).unwrap()["id"].as_str().unwrap().to_owned()
        };
        assert_eq!(record("no_remarks", "", format!("{ids} {south_entry}")).await, format!("/log-review/{n}?error=1#outcome"));
        assert_eq!(record("no_remarks", "", "inte-ett-id".into()).await, format!("/log-review/{n}?error=1#outcome"));
        assert_eq!(record("whatever", "", ids.clone()).await, format!("/log-review/{n}?error=1#outcome"));
        let res = maja.form(&format!("/log-review/{n}/reviews"), &[("from", "2026-05-03"), ("to", "2026-06-02"), ("selection", "sample:5"), ("entries", &ids), ("conclusion", "follow_up"), ("note", "Kanariefågel: fråga Nora om kvällsbesöket")]).await;
        assert_eq!(location(&res), format!("/log-review/{n}?done=1#reviews"));
        let logged = app.store.unsafe_audit_entries_of_request(res.headers()["x-request-id"].to_str().unwrap()).await.unwrap();
        assert_eq!(logged.iter().map(|e| e.event.action.as_str()).collect::<Vec<_>>(), ["record_log_review"]);
        assert_eq!(record("no_remarks", "", String::new()).await, format!("/log-review/{n}?done=1#reviews"), "a review of an empty selection is a review too");

        // Listed for follow-up, then closed.
        let page = maja.get(&format!("/log-review/{n}")).await.text().await.unwrap();
        assert!(page.contains("Behöver följas upp") && page.contains("Kanariefågel: fråga Nora") && page.contains("sample:5"), "{page}");
        let article = page.split("<article").find(|a| a.contains("Kanariefågel")).unwrap();
        let id = article.split("data-review=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        assert!(page.contains(&format!("/log-review/{n}/reviews/{id}/close")), "the open review has a close button");
        let res = maja.form(&format!("/log-review/{n}/reviews/{id}/close"), &[]).await;
        assert_eq!(location(&res), format!("/log-review/{n}?done=1#reviews"));
        let res = maja.form(&format!("/log-review/{n}/reviews/{id}/close"), &[]).await;
        assert_eq!(location(&res), format!("/log-review/{n}?error=1#outcome"), "closed once");
        let page = maja.get(&format!("/log-review/{n}")).await.text().await.unwrap();
        assert!(page.contains("Uppföljd") && !page.contains(&format!("/reviews/{id}/close")), "{page}");
        // The south manager neither sees nor closes north's reviews.
        let sune = As::new(&app, staff(&w, w.sune)).await;
        let south = sune.get(&format!("/log-review/{}", w.south)).await.text().await.unwrap();
        assert!(!south.contains("Kanariefågel"));
        assert_eq!(location(&sune.form(&format!("/log-review/{}/reviews/{id}/close", w.south), &[]).await), format!("/log-review/{}?error=1#outcome", w.south));

        // The note is sealed: not in the database file or dump.
        app.server.shutdown().await.unwrap();
        app.store.close().await;
        let raw = app.db.raw_bytes().await;
        assert_eq!(occurrences(&raw, "Kanariefågel".as_bytes()), 0, "the note is sealed");
        assert!(occurrences(&raw, b"record_log_review") > 0, "the review is in the log");
    }

    async fn only_the_units_manager_and_security_officers_review_its_log(backend) {
        let app = TestApp::spawn(backend).await;
        let w = world(&app).await;
        make_log(&app, &w).await;
        let n = w.north;
        let path = format!("/api/log-review/{n}");
        // The south manager, a nurse of the unit, a citizen: refused, and each refusal logged.
        let elsa = Account::Person { tenant: w.t, person: w.elsa };
        for account in [staff(&w, w.sune), staff(&w, w.nora), elsa] {
            let who = As::new(&app, account.clone()).await;
            let res = who.get(&path).await;
            assert_eq!(res.status(), 403, "{account:?}");
            let logged = app.store.unsafe_audit_entries_of_request(res.headers()["x-request-id"].to_str().unwrap()).await.unwrap();
            assert_eq!(logged.len(), 1, "{account:?}");
            assert_eq!(logged[0].event.outcome, Outcome::Deny);
            assert_eq!(who.get(&format!("/log-review/{n}")).await.status(), 403);
            let res = who.form(&format!("/log-review/{n}/reviews"), &[("from", "2026-06-01"), ("to", "2026-06-02"), ("selection", "search"), ("entries", ""), ("conclusion", "no_remarks")]).await;
            assert!(res.status() == 403 || location(&res).contains("error") , "{account:?}");
        }
        // The security officer (of another unit) reviews any unit of the tenant.
        let saga = As::new(&app, staff(&w, w.saga)).await;
        assert_eq!(saga.get(&path).await.status(), 200);
        let units = saga.get("/log-review").await.text().await.unwrap();
        assert!(units.contains("Hemtjänst Norr") && units.contains("Hemtjänst Söder"), "{units}");
        let maja_units = As::new(&app, staff(&w, w.maja)).await.get("/log-review").await.text().await.unwrap();
        assert!(maja_units.contains("Hemtjänst Norr") && !maja_units.contains("Hemtjänst Söder"), "{maja_units}");
        // A log review needs a fresh e-ID login.
        let stale = As::authenticated_at(&app, staff(&w, w.maja), app.clock.now() - Duration::minutes(20)).await;
        assert_eq!(stale.get(&path).await.status(), 403);
        assert!(location(&stale.get(&format!("/log-review/{n}")).await).starts_with("/login?step_up=1"));
        // A unit of another tenant, or none: not found.
        let maja = As::new(&app, staff(&w, w.maja)).await;
        assert_eq!(maja.get(&format!("/api/log-review/{}", "0192f0c8-0000-7000-8000-000000000000")).await.status(), 404);
    }

    async fn the_fhir_export_is_a_bundle_of_audit_events_that_names_nobody(backend) {
        let app = TestApp::spawn(backend).await;
        let w = world(&app).await;
        make_log(&app, &w).await;
        let maja = As::new(&app, staff(&w, w.maja)).await;
        let n = w.north;
        let res = maja.get(&format!("/api/log-review/{n}/fhir?show=flagged")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/fhir+json");
        let text = res.text().await.unwrap();
        for name in ["Elsa", "Nora", "Vera", "Pia", "19310303"] {
            assert!(!text.contains(name), "{name} in the export");
        }
        let b: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!((b["resourceType"].as_str(), b["type"].as_str()), (Some("Bundle"), Some("collection")));
        let entries = b["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 14);
        assert_eq!(b["total"], 14);
        let mut outcomes = HashMap::new();
        for e in entries {
            let r = &e["resource"];
            assert_eq!(r["resourceType"], "AuditEvent");
            assert_eq!(e["fullUrl"], format!("urn:uuid:{}", r["id"].as_str().unwrap()));
            assert_eq!(r["type"]["code"], "rest");
            assert!(r["recorded"].as_str().unwrap().starts_with("2026-06-01T"));
            assert_eq!(r["agent"][0]["requestor"], true);
            assert!(r["agent"][0]["who"]["identifier"]["value"].as_str().unwrap().starts_with("staff:"));
            assert_eq!(r["source"]["observer"]["display"], "Trygg");
            assert!(r["entity"][0]["what"]["reference"].as_str().unwrap().starts_with("Patient/"));
            *outcomes.entry(r["outcome"].as_str().unwrap().to_owned()).or_insert(0) += 1;
        }
        assert_eq!(outcomes.get("4"), Some(&1), "Nora's refused attempt");
        assert_eq!(outcomes.get("0"), Some(&13));
    }
}
