//! Permission administration and emergency follow-up over HTTP: a unit
//! manager grants and removes roles and care relationships (each with a
//! needs-and-risk analysis reference and a review date), changes apply on the
//! next request, and nobody grants more than they hold. On both backends.

use crate::kit::*;
use time::Duration;
use time::macros::date;
use trygg_domain::*;

struct World {
    t: TenantId,
    north: UnitId,
    south: UnitId,
    maja: StaffId,
    nora: StaffId,
    siv: StaffId,
    sune: StaffId,
    saga: StaffId,
    elsa: PersonId,
    olle: PersonId,
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
    for (given, unit, role) in [
        ("Maja", Some(north), Role::UnitManager),
        ("Nora", None, Role::Nurse),
        ("Siv", Some(south), Role::Nurse),
        ("Sune", Some(south), Role::UnitManager),
        ("Saga", Some(south), Role::SecurityOfficer),
    ] {
        let id = tx
            .add_staff(
                t,
                &StaffDetails {
                    given_name: PersonName::parse(given).unwrap(),
                    family_name: PersonName::parse("Test").unwrap(),
                    hsa_id: None,
                    identity_number: None,
                    email: None,
                    phone: None,
                },
            )
            .await
            .unwrap();
        if let Some(unit) = unit {
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
        }
        staff.push(id);
    }
    let since = Period::new(app.clock.now() - Duration::days(1), None).unwrap();
    let elsa = tx
        .add_person(
            t,
            &person("Elsa", "Ek", pnr(date!(1931 - 03 - 03), 981)),
            false,
        )
        .await
        .unwrap();
    let olle = tx
        .add_person(
            t,
            &person("Olle", "Lind", pnr(date!(1932 - 04 - 04), 982)),
            false,
        )
        .await
        .unwrap();
    tx.add_care_relationship(t, elsa, CareParty::Unit(north), since)
        .await
        .unwrap();
    tx.add_care_relationship(t, olle, CareParty::Unit(south), since)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    World {
        t,
        north,
        south,
        maja: staff[0],
        nora: staff[1],
        siv: staff[2],
        sune: staff[3],
        saga: staff[4],
        elsa,
        olle,
    }
}

fn staff(w: &World, staff: StaffId) -> Account {
    Account::Staff { tenant: w.t, staff }
}

async fn roles(app: &TestApp, staff: StaffId) -> Vec<(UnitId, Role)> {
    let mut r: Vec<_> = app
        .store
        .roles_of(staff)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.unit, a.role))
        .collect();
    r.sort();
    r
}

async fn all_roles(app: &TestApp, w: &World) -> Vec<Vec<(UnitId, Role)>> {
    let mut all = Vec::new();
    for id in [w.maja, w.nora, w.siv, w.sune, w.saga] {
        all.push(roles(app, id).await);
    }
    all
}

/// The audit events a response's request appended.
async fn audited(app: &TestApp, res: &reqwest::Response) -> Vec<AuditEvent> {
    let id = res.headers()["x-request-id"].to_str().unwrap();
    app.store
        .unsafe_audit_entries_of_request(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

async fn pending(who: &As) -> serde_json::Value {
    who.get("/api/emergency-follow-ups")
        .await
        .json()
        .await
        .unwrap()
}

on_both_backends! {
    async fn a_unit_manager_grants_and_removes_and_it_applies_on_the_next_request(backend) {
        let app = TestApp::spawn(backend).await;
        let w = world(&app).await;
        let maja = As::new(&app, staff(&w, w.maja)).await;
        let nora = As::new(&app, staff(&w, w.nora)).await;
        let (n, nora_id) = (w.north.to_string(), w.nora.to_string());
        let elsa = format!("/api/persons/{}", w.elsa);
        assert_eq!(nora.get(&elsa).await.status(), 403, "no role yet");

        // A role resting on an analysis: Nora reaches Elsa on her next request.
        let res = maja.form(&format!("/permissions/{n}/roles"), &[("staff", &nora_id), ("role", "nurse"), ("analysis_ref", "BRA 2026/114")]).await;
        assert_eq!(location(&res), format!("/permissions/{n}?done=1"));
        let audit = audited(&app, &res).await;
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!((audit[0].action.as_str(), audit[0].outcome, audit[0].unit), ("assign_role:nurse", Outcome::Allow, Some(w.north)));
        assert_eq!(audit[0].actor, Actor::of(&staff(&w, w.maja)));
        assert_eq!(nora.get(&elsa).await.status(), 200);
        // On the review list, with its reference and its review date a year on.
        let page = maja.get(&format!("/permissions/{n}")).await.text().await.unwrap();
        let due = (app.clock.now() + Duration::days(365)).date().to_string();
        assert!(page.contains("Nora Test: Sjuksköterska") && page.contains("BRA 2026/114") && page.contains(&due), "{page}");
        // The assignment that came from the command line has no reference: due now.
        assert!(page.contains("Maja Test: Enhetschef") && page.contains("Ska omprövas nu"), "{page}");

        // A reference that could carry an identity number is refused; nothing changes.
        let before = roles(&app, w.nora).await;
        let res = maja.form(&format!("/permissions/{n}/roles"), &[("staff", &nora_id), ("role", "home_care_staff"), ("analysis_ref", "19400101-1234")]).await;
        assert_eq!(location(&res), format!("/permissions/{n}?error=analysis-ref"));
        assert_eq!(roles(&app, w.nora).await, before);
        // The same role twice is refused as existing.
        let res = maja.form(&format!("/permissions/{n}/roles"), &[("staff", &nora_id), ("role", "nurse"), ("analysis_ref", "BRA 2026/114")]).await;
        assert_eq!(location(&res), format!("/permissions/{n}?error=exists"));

        // A care relationship for Olle (until now only the south unit's).
        let olle = format!("/api/persons/{}", w.olle);
        assert_eq!(nora.get(&olle).await.status(), 403);
        let res = maja.form(&format!("/permissions/{n}/care"), &[("identity_number", &pnr(date!(1932 - 04 - 04), 982).canonical()), ("staff", ""), ("analysis_ref", "BRA 2026/115")]).await;
        assert_eq!(location(&res), format!("/permissions/{n}?done=1"));
        assert_eq!(nora.get(&olle).await.status(), 200, "the new relationship applies at once");
        let care = app.store.care_relationships(w.t, w.olle).await.unwrap();
        let added = care.iter().find(|c| c.party == CareParty::Unit(w.north)).unwrap();
        // Reviewed, with a new reference; then ended: Nora's next request is refused.
        let res = maja.form(&format!("/permissions/{n}/care/review"), &[("id", &added.id.to_string()), ("analysis_ref", "BRA 2027/001")]).await;
        assert_eq!(location(&res), format!("/permissions/{n}?done=1"));
        assert!(maja.get(&format!("/permissions/{n}")).await.text().await.unwrap().contains("BRA 2027/001"));
        app.clock.advance(Duration::minutes(1));
        let res = maja.form(&format!("/permissions/{n}/care/end"), &[("id", &added.id.to_string())]).await;
        assert_eq!(location(&res), format!("/permissions/{n}?done=1"));
        assert_eq!(nora.get(&olle).await.status(), 403, "ended");
        // Ending it again: not found.
        let res = maja.form(&format!("/permissions/{n}/care/end"), &[("id", &added.id.to_string())]).await;
        assert_eq!(location(&res), format!("/permissions/{n}?error=not-found"));

        // The role removed: Nora's next request is refused.
        let res = maja.form(&format!("/permissions/{n}/roles/end"), &[("staff", &nora_id), ("role", "nurse")]).await;
        assert_eq!(location(&res), format!("/permissions/{n}?done=1"));
        assert_eq!(nora.get(&elsa).await.status(), 403);
        assert!(roles(&app, w.nora).await.is_empty());
    }

    async fn nobody_grants_more_than_they_hold(backend) {
        let app = TestApp::spawn(backend).await;
        let w = world(&app).await;
        let (n, s) = (w.north.to_string(), w.south.to_string());
        let maja = As::new(&app, staff(&w, w.maja)).await;
        let start = all_roles(&app, &w).await;
        let nora_id = w.nora.to_string();
        let maja_id = w.maja.to_string();
        let grant = |unit: &str, staff: &str, role: &str| (format!("/permissions/{unit}/roles"), vec![("staff".to_owned(), staff.to_owned()), ("role".to_owned(), role.to_owned()), ("analysis_ref".to_owned(), "BRA 1".to_owned())]);
        let attempts = [
            ("a role above her own", grant(&n, &nora_id, "security_officer")),
            ("the administrator role", grant(&n, &nora_id, "administrator")),
            ("a unit she does not manage", grant(&s, &nora_id, "nurse")),
            ("a role to herself", grant(&n, &maja_id, "nurse")),
        ];
        for (what, (path, fields)) in &attempts {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let res = maja.form(path, &fields).await;
            let to = location(&res);
            assert!(to.ends_with("?error=forbidden") || to.ends_with("?error=not-found"), "{what}: {to}");
            // The refused attempt is in the audit log.
            let audit = audited(&app, &res).await;
            assert!(audit.len() == 1 && audit[0].outcome == Outcome::Deny, "{what}: {audit:?}");
        }
        // Care relationships in another unit: no.
        let res = maja.form(&format!("/permissions/{s}/care"), &[("identity_number", &pnr(date!(1931 - 03 - 03), 981).canonical()), ("analysis_ref", "BRA 1")]).await;
        assert!(location(&res).ends_with("?error=forbidden"));
        // A nurse grants nothing; a security officer reviews but grants nothing.
        let siv = As::new(&app, staff(&w, w.siv)).await;
        let res = siv.form(&format!("/permissions/{s}/roles"), &[("staff", &nora_id), ("role", "nurse"), ("analysis_ref", "BRA 1")]).await;
        assert!(location(&res).ends_with("?error=forbidden"));
        assert_eq!(siv.get(&format!("/permissions/{s}")).await.status(), 403);
        let saga = As::new(&app, staff(&w, w.saga)).await;
        assert_eq!(saga.get(&format!("/permissions/{n}")).await.status(), 200, "a security officer reviews every unit");
        let res = saga.form(&format!("/permissions/{n}/roles"), &[("staff", &nora_id), ("role", "nurse"), ("analysis_ref", "BRA 1")]).await;
        assert!(location(&res).ends_with("?error=forbidden"));
        // A stale login is sent to identify again; nothing changes.
        let stale = As::authenticated_at(&app, staff(&w, w.maja), app.clock.now() - Duration::minutes(11)).await;
        let res = stale.form(&format!("/permissions/{n}/roles"), &[("staff", &nora_id), ("role", "nurse"), ("analysis_ref", "BRA 1")]).await;
        assert!(location(&res).starts_with("/login?step_up=1"), "{}", location(&res));
        assert!(location(&stale.get(&format!("/permissions/{n}")).await).starts_with("/login?step_up=1"));
        // A citizen, and another tenant's manager, reach nothing.
        let citizen = As::new(&app, Account::Person { tenant: w.t, person: w.elsa }).await;
        let res = citizen.form(&format!("/permissions/{n}/roles"), &[("staff", &nora_id), ("role", "nurse"), ("analysis_ref", "BRA 1")]).await;
        assert!(location(&res).ends_with("?error=forbidden"));
        let t2 = tenant(&app.store, "212000-0142").await.id;
        let mut tx = app.store.begin().await.unwrap();
        let far = tx.add_unit(t2, None, "Annan", None).await.unwrap().id;
        let boss = tx.add_staff(t2, &StaffDetails {
            given_name: PersonName::parse("Bo").unwrap(), family_name: PersonName::parse("Annan").unwrap(),
            hsa_id: None, identity_number: None, email: None, phone: None,
        }).await.unwrap();
        tx.assign_role(t2, RoleAssignment { staff: boss, unit: far, role: Role::UnitManager }).await.unwrap();
        tx.commit().await.unwrap();
        let boss = As::new(&app, Account::Staff { tenant: t2, staff: boss }).await;
        let res = boss.form(&format!("/permissions/{n}/roles"), &[("staff", &nora_id), ("role", "nurse"), ("analysis_ref", "BRA 1")]).await;
        assert!(location(&res).ends_with("?error=not-found"), "another tenant's unit does not exist for them");
        assert_eq!(all_roles(&app, &w).await, start, "no attempt changed anything");
    }

    async fn emergency_access_is_followed_up_by_the_staff_members_manager(backend) {
        let app = TestApp::spawn(backend).await;
        let w = world(&app).await;
        // Siv (south) opens an emergency access to Elsa (north's).
        let siv = As::new(&app, staff(&w, w.siv)).await;
        let res = siv.json(&format!("/api/persons/{}/emergency-access", w.elsa), &serde_json::json!({"reason": "Larm utan svar, behöver läkemedelslistan."})).await;
        assert_eq!(res.status(), 200);
        // Sune manages south too, and opens one himself.
        let mut tx = app.store.begin().await.unwrap();
        tx.assign_role(w.t, RoleAssignment { staff: w.sune, unit: w.south, role: Role::Nurse }).await.unwrap();
        tx.commit().await.unwrap();
        let sune = As::new(&app, staff(&w, w.sune)).await;
        assert_eq!(sune.json(&format!("/api/persons/{}/emergency-access", w.elsa), &serde_json::json!({"reason": "Eget larm"})).await.status(), 200);

        // North's manager follows up nobody of south's.
        let maja = As::new(&app, staff(&w, w.maja)).await;
        assert_eq!(pending(&maja).await.as_array().unwrap().len(), 0);
        // Sune sees Siv's, with the reason and whose data, but not his own.
        let list = pending(&sune).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["staff"], w.siv.to_string());
        assert_eq!(list[0]["person_name"], "Elsa Ek");
        assert_eq!(list[0]["reason"], "Larm utan svar, behöver läkemedelslistan.");
        // The security officer sees both.
        let saga = As::new(&app, staff(&w, w.saga)).await;
        let all = pending(&saga).await;
        assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
        let own = all.as_array().unwrap().iter().find(|e| e["staff"] == w.sune.to_string()).unwrap()["id"].as_str().unwrap().to_owned();
        // Sune cannot follow up his own; a conclusion is required.
        assert_eq!(sune.json(&format!("/api/emergency-follow-ups/{own}"), &serde_json::json!({"note": "Befogad"})).await.status(), 403);
        let id = list[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(sune.json(&format!("/api/emergency-follow-ups/{id}"), &serde_json::json!({"note": "  "})).await.status(), 400);
        assert_eq!(maja.json(&format!("/api/emergency-follow-ups/{id}"), &serde_json::json!({"note": "Befogad"})).await.status(), 403);
        let res = sune.json(&format!("/api/emergency-follow-ups/{id}"), &serde_json::json!({"note": "Befogad: larm utan svar."})).await;
        assert_eq!(res.status(), 200);
        // The conclusion is in the log (reading the reasons was, at the listing).
        let actions: Vec<String> = audited(&app, &res).await.into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["follow_up_emergency"]);
        assert_eq!(sune.json(&format!("/api/emergency-follow-ups/{id}"), &serde_json::json!({"note": "Igen"})).await.status(), 404, "once");
        assert_eq!(pending(&sune).await.as_array().unwrap().len(), 0);
        // The security officer follows up Sune's through the page.
        let res = saga.form(&format!("/follow-up/{own}"), &[("note", "Befogad, men chefen ska prata med Sune.")]).await;
        assert_eq!(location(&res), "/follow-up?done=1");
        let page = saga.get("/follow-up").await.text().await.unwrap();
        assert!(page.contains("follow-up-none"), "{page}");
        assert!(app.store.emergency_follow_up_list(w.t).await.unwrap().is_empty());
        // A stale login sees nothing.
        let stale = As::authenticated_at(&app, staff(&w, w.saga), app.clock.now() - Duration::minutes(11)).await;
        assert_eq!(stale.get("/api/emergency-follow-ups").await.status(), 403);
    }
}
