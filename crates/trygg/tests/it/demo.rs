//! The demo shows what the authorization issue promised: a nurse who opens
//! her own unit's persons but not others', an emergency access with its
//! reason waiting for follow-up, and a blocked record that no other unit
//! finds; and a log review with flagged entries and a random sample.
//! Through the real server, on both backends.

use crate::kit::*;
use trygg_domain::*;

/// The units whose documentation the overview lists for `who`.
async fn documentation(who: &As, person: PersonId) -> Vec<String> {
    let o: serde_json::Value = who
        .get(&format!("/api/persons/{person}"))
        .await
        .json()
        .await
        .unwrap();
    o["documentation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["unit"].as_str().unwrap().to_owned())
        .collect()
}

on_both_backends! {
    async fn the_demo_shows_inner_secrecy_emergency_access_and_a_block(backend) {
        let app = TestApp::spawn(backend).await;
        trygg::demo::seed(&app.store, "trygg").await.unwrap();
        let store = &app.store;
        let t = store.find_tenant(trygg::demo::ORG_NUMBER).await.unwrap().id;
        let units = store.unit_tree(t).await.unwrap();
        let unit = |name: &str| units.iter().find(|u| u.unit.name == name).unwrap().unit.id;
        let (nursing, north) = (unit("Hemsjukvården"), unit("Hemtjänst Norr"));
        let mut holders = Vec::new();
        for s in store.staff(t).await.unwrap() {
            for r in store.roles_of(s.id).await.unwrap() {
                holders.push((r.role, r.unit, s.id));
            }
        }
        let first = |role: Role, unit: Option<UnitId>| holders.iter().find(|(r, u, _)| *r == role && unit.is_none_or(|x| x == *u)).unwrap().2;
        let nurse = As::new(&app, Account::Staff { tenant: t, staff: first(Role::Nurse, Some(nursing)) }).await;

        // The nurse's list: home nursing's persons, and only they.
        let now = app.clock.now();
        let persons = store.unsafe_persons(t).await.unwrap();
        let mut nursing_persons = Vec::new();
        let mut others = Vec::new();
        for p in &persons {
            let facts = store.person_facts(t, p.id, now).await.unwrap();
            if facts.care.contains(&ActiveCare::Unit(nursing)) { nursing_persons.push((p, facts)) } else { others.push(p) }
        }
        assert!(nursing_persons.len() >= 10, "{}", nursing_persons.len());
        let list = nurse.get("/persons").await.text().await.unwrap();
        for (p, _) in &nursing_persons {
            assert!(list.contains(&format!("/persons/{}\"", p.id)), "{} missing", p.id);
            assert_eq!(nurse.get(&format!("/api/persons/{}", p.id)).await.status(), 200);
        }
        for p in &others {
            assert!(!list.contains(&p.id.to_string()));
            assert_eq!(nurse.get(&format!("/api/persons/{}", p.id)).await.status(), 403);
        }

        // A consent lets home nursing read the home-care unit's documentation;
        // a block hides it from home nursing everywhere.
        let consenting = nursing_persons.iter().find(|(_, f)| f.consents.contains(&nursing)).expect("a consent");
        let blocking = nursing_persons.iter().find(|(_, f)| !f.blocked_units.is_empty()).expect("a block");
        let home_care_of = |f: &PersonFacts| f.care.iter().find_map(|c| match c { ActiveCare::Unit(u) if *u != nursing && units.iter().any(|n| n.unit.id == *u && n.unit.name.starts_with("Hemtjänst")) => Some(*u), _ => None }).unwrap();
        let shared = home_care_of(&consenting.1);
        assert!(documentation(&nurse, consenting.0.id).await.contains(&shared.to_string()));
        let plan = format!("/api/persons/{}/care-plan/{shared}", consenting.0.id);
        let versions: serde_json::Value = nurse.get(&plan).await.json().await.unwrap();
        assert!(!versions.as_array().unwrap().is_empty(), "the home-care plan is there to read");
        let blocked = blocking.1.blocked_units[0];
        assert!(!documentation(&nurse, blocking.0.id).await.contains(&blocked.to_string()), "the blocked unit is not listed");
        assert_eq!(nurse.get(&format!("/api/persons/{}/care-plan/{blocked}", blocking.0.id)).await.status(), 403);
        let own: serde_json::Value = nurse.get(&format!("/api/persons/{}/care-plan/{nursing}", blocking.0.id)).await.json().await.unwrap();
        assert_eq!(own.as_array().unwrap().len(), 1, "her own unit's plan");

        // An emergency access by a home-care worker of Söder on a north
        // person, with its reason, waits for the security officer.
        let officer = As::new(&app, Account::Staff { tenant: t, staff: first(Role::SecurityOfficer, None) }).await;
        let pending: serde_json::Value = officer.get("/api/emergency-follow-ups").await.json().await.unwrap();
        assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
        assert!(pending[0]["reason"].as_str().unwrap().contains("ingen svarade"));
        let emergency = &store.emergency_follow_up_list(t).await.unwrap()[0];
        let facts = store.person_facts(t, emergency.person, now).await.unwrap();
        assert!(facts.care.contains(&ActiveCare::Unit(north)));

        // The south unit manager's log review flags the refused attempt and
        // the emergency access, and draws a random sample.
        let south = unit("Hemtjänst Söder");
        let manager = As::new(&app, Account::Staff { tenant: t, staff: first(Role::UnitManager, Some(south)) }).await;
        let flagged: serde_json::Value = manager.get(&format!("/api/log-review/{south}?show=flagged")).await.json().await.unwrap();
        let flags: Vec<Vec<&str>> = flagged["entries"].as_array().unwrap().iter().map(|e| e["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect()).collect();
        assert!(flags.contains(&vec!["refused", "no_care_relationship"]), "{flagged}");
        assert!(flags.iter().any(|f| f.contains(&"emergency_access")), "{flagged}");
        let sample: serde_json::Value = manager.get(&format!("/api/log-review/{south}?show=sample&n=5")).await.json().await.unwrap();
        assert_eq!(sample["entries"].as_array().unwrap().len(), 5, "the demo log has enough to sample");
    }
}
