//! No personal data in plaintext: canary values are written through the CLI
//! and the store, then the raw SQLite files, a `pg_dump`, and the logs are
//! scanned for them.

use crate::kit::*;
use time::macros::date;
use trygg_domain::*;

/// Values nobody else would write, in every form they could appear in.
struct Canaries {
    number: IdentityNumber,
}

impl Canaries {
    fn strings(&self) -> Vec<String> {
        let canonical = self.number.canonical();
        let display = self.number.display_form();
        vec![
            "Kanariefrida".into(),
            "Xyzzyqvist".into(),
            "KANARIEFRIDA".into(),
            "kanariefrida".into(),
            "Hemligvägen".into(),
            "0701740677".into(),
            "frida.kanarie@".into(),
            "Kanarieanhörig".into(),
            "Kanariepersonal".into(),
            "SE2120009994-KANARIE".into(),
            canonical.clone(),
            display,
            canonical[2..].to_owned(),
            format!("{}-{}", &canonical[2..8], &canonical[8..]),
        ]
    }
}

fn scan(haystack: &[u8], canaries: &Canaries) -> Vec<String> {
    canaries
        .strings()
        .into_iter()
        .filter(|c| occurrences(haystack, c.as_bytes()) > 0)
        .collect()
}

on_both_backends! {
    async fn no_plaintext_personal_data_in_the_database_or_logs(backend) {
        let db = TestDb::new(backend).await;
        let canaries = Canaries { number: pnr(date!(1933-03-13), 997) };
        let number = canaries.number.display_form();
        let run = |args: Vec<String>| {
            let db = &db;
            async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                // Most verbose logging: nothing personal may show even at trace.
                let out = trygg_env(db, &args, &[("TRYGG_LOG", "trace")]).await;
                assert!(out.status.success(), "{args:?}: {}", stderr(&out));
                out
            }
        };
        let mut logs = Vec::new();
        let out = run(vec!["admin".into(), "tenant".into(), "add".into(), "--name".into(), "Kanarieby kommun".into(), "--org-number".into(), "212000-9994".into()]).await;
        logs.extend(out.stderr);
        let out = run(vec!["admin".into(), "unit".into(), "add".into(), "--tenant".into(), "212000-9994".into(), "--name".into(), "Kanarieenheten".into()]).await;
        logs.extend(out.stderr);
        let out = run(vec![
            "admin".into(), "person".into(), "add".into(), "--tenant".into(), "212000-9994".into(),
            "--personnummer".into(), number.clone(), "--given-name".into(), "Kanariefrida".into(),
            "--family-name".into(), "Xyzzyqvist".into(), "--address".into(), "Hemligvägen 7, 999 99 Exempelby".into(),
            "--phone".into(), "070-174 06 77".into(), "--email".into(), "frida.kanarie@exempelby.example".into(),
        ]).await;
        logs.extend(out.stderr);
        let out = run(vec![
            "admin".into(), "relative".into(), "add".into(), "--tenant".into(), "212000-9994".into(),
            "--person".into(), number.clone(), "--given-name".into(), "Kanarieanhörig".into(),
            "--family-name".into(), "Xyzzyqvist".into(),
        ]).await;
        logs.extend(out.stderr);
        let out = run(vec![
            "admin".into(), "staff".into(), "add".into(), "--tenant".into(), "212000-9994".into(),
            "--given-name".into(), "Kanariepersonal".into(), "--family-name".into(), "Xyzzyqvist".into(),
            "--hsa-id".into(), "SE2120009994-KANARIE".into(),
        ]).await;
        logs.extend(out.stderr);
        // Reading it back works (so the canaries really were stored)...
        let out = run(vec!["admin".into(), "person".into(), "show".into(), "--tenant".into(), "212000-9994".into(), "--person".into(), number.clone()]).await;
        assert!(stdout(&out).contains("Kanariefrida Xyzzyqvist"));
        assert!(stdout(&out).contains("Kanarieanhörig"));
        logs.extend(out.stderr);

        // ...but no form of them is in the stored bytes or the logs.
        let bytes = db.raw_bytes().await;
        assert!(occurrences(&bytes, "Kanarieenheten".as_bytes()) > 0, "the scan must see plaintext (unit names are not personal)");
        assert_eq!(scan(&bytes, &canaries), Vec::<String>::new(), "plaintext personal data in the database");
        assert!(!logs.is_empty(), "trace logging produced output");
        assert_eq!(scan(&logs, &canaries), Vec::<String>::new(), "plaintext personal data in the logs");
    }
}

on_both_backends! {
    async fn the_audit_log_and_log_reviews_hold_no_plaintext_personal_data(backend) {
        // Every audited path a canary can travel: a search by identity
        // number, readings, a refused attempt, an emergency access with its
        // reason, a log review searched by identity number with a note, the
        // person's extract and proof download. Then the database is scanned.
        let app = TestApp::spawn(backend).await;
        let canaries = Canaries { number: pnr(date!(1933-03-13), 997) };
        let t = tenant(&app.store, "212000-9994").await.id;
        let mut tx = app.store.begin().await.unwrap();
        let unit = tx.add_unit(t, None, "Kanarieenheten", None).await.unwrap().id;
        let other = tx.add_unit(t, None, "Andra enheten", None).await.unwrap().id;
        let mut staff = Vec::new();
        for (given, unit, role) in [("Kanariepersonal", unit, Role::Nurse), ("Maja", unit, Role::UnitManager), ("Siv", other, Role::Nurse)] {
            let id = tx.add_staff(t, &StaffDetails {
                given_name: PersonName::parse(given).unwrap(), family_name: PersonName::parse("Xyzzyqvist").unwrap(),
                hsa_id: None, identity_number: None, email: None, phone: None,
            }).await.unwrap();
            tx.assign_role(t, RoleAssignment { staff: id, unit, role }).await.unwrap();
            staff.push(id);
        }
        let mut details = person("Kanariefrida", "Xyzzyqvist", canaries.number);
        details.address = Some(Address::parse("Hemligvägen 7, 999 99 Exempelby").unwrap());
        let frida = tx.add_person(t, &details, false).await.unwrap();
        tx.add_care_relationship(t, frida, CareParty::Unit(unit), Period::new(app.clock.now() - time::Duration::days(1), None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        let as_staff = |i: usize| As::new(&app, Account::Staff { tenant: t, staff: staff[i] });
        let (nurse, manager, siv) = (as_staff(0).await, as_staff(1).await, as_staff(2).await);
        let number = canaries.number.canonical();

        assert_eq!(nurse.get(&format!("/api/persons?identity_number={number}")).await.status(), 200);
        assert_eq!(nurse.get(&format!("/api/persons/{frida}")).await.status(), 200);
        assert_eq!(siv.get(&format!("/api/persons/{frida}")).await.status(), 403);
        let res = siv.json(&format!("/api/persons/{frida}/emergency-access"), &serde_json::json!({"reason": "Kanarieskäl vid larm"})).await;
        assert_eq!(res.status(), 200);
        let res = manager.form(&format!("/log-review/{unit}"), &[("from", "2026-05-01"), ("to", "2026-06-30"), ("identity_number", &number), ("show", "all")]).await;
        let page = manager.get(&location(&res)).await.text().await.unwrap();
        assert!(page.contains("Kanariefrida Xyzzyqvist"), "the reviewer sees the name: {page}");
        let res = manager.form(&format!("/log-review/{unit}/reviews"), &[("from", "2026-05-01"), ("to", "2026-06-30"), ("selection", "search:person"), ("entries", ""), ("conclusion", "follow_up"), ("note", "Kanarieanteckning om Kanariefrida")]).await;
        assert!(location(&res).contains("done=1"));
        let me = As::new(&app, Account::Person { tenant: t, person: frida }).await;
        assert_eq!(me.get("/my-log").await.status(), 200);
        app.server.audit().integrate().await.unwrap();
        assert_eq!(me.get("/my-log/proof").await.status(), 200);

        app.server.shutdown().await.unwrap();
        app.store.close().await;
        let bytes = app.db.raw_bytes().await;
        for logged in ["review_log", "record_log_review", "begin_emergency_access", "read:log_proof", "no_relationship"] {
            assert!(occurrences(&bytes, logged.as_bytes()) > 0, "{logged} is in the log, so the scan sees it");
        }
        let mut found = scan(&bytes, &canaries);
        found.extend(["Kanarieskäl", "Kanarieanteckning"].into_iter().filter(|c| occurrences(&bytes, c.as_bytes()) > 0).map(str::to_owned));
        assert_eq!(found, Vec::<String>::new(), "plaintext personal data in the database");
    }
}
