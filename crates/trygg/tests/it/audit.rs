//! The audit log as its readers see it: the person's own extract ("who
//! looked at my data"). On both backends.

use crate::kit::*;
use time::Duration;
use time::macros::date;
use trygg_domain::*;

on_both_backends! {
    async fn a_person_sees_which_units_looked_at_their_data(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenant(&app.store, "212000-9994").await.id;
        let mut tx = app.store.begin().await.unwrap();
        let north = tx.add_unit(t, None, "Hemtjänst Norr", None).await.unwrap().id;
        let south = tx.add_unit(t, None, "Hemtjänst Söder", None).await.unwrap().id;
        let mut staff = Vec::new();
        for (given, unit) in [("Nora", north), ("Siv", south)] {
            let id = tx.add_staff(t, &StaffDetails {
                given_name: PersonName::parse(given).unwrap(), family_name: PersonName::parse("Testsson").unwrap(),
                hsa_id: None, identity_number: None, email: None, phone: None,
            }).await.unwrap();
            tx.assign_role(t, RoleAssignment { staff: id, unit, role: Role::Nurse }).await.unwrap();
            staff.push(id);
        }
        let elsa = tx.add_person(t, &person("Elsa", "Ek", pnr(date!(1931 - 03 - 03), 981)), false).await.unwrap();
        let relative = tx.add_relative(t, elsa, &RelativeDetails {
            given_name: PersonName::parse("Rut").unwrap(), family_name: PersonName::parse("Ek").unwrap(),
            identity_number: None, relation: None, phone: None, email: None,
        }).await.unwrap();
        tx.add_care_relationship(t, elsa, CareParty::Unit(north), Period::new(app.clock.now() - Duration::days(1), None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        let nora = As::new(&app, Account::Staff { tenant: t, staff: staff[0] }).await;
        let siv = As::new(&app, Account::Staff { tenant: t, staff: staff[1] }).await;
        let me = As::new(&app, Account::Person { tenant: t, person: elsa }).await;

        let empty = me.get("/my-log").await.text().await.unwrap();
        assert!(empty.contains("log-empty"), "{empty}");
        // Nora reads the plan; Siv is refused, then opens emergency access and reads.
        assert_eq!(nora.get(&format!("/api/persons/{elsa}/care-plan/{north}")).await.status(), 200);
        assert_eq!(siv.get(&format!("/api/persons/{elsa}")).await.status(), 403);
        let res = siv.json(&format!("/api/persons/{elsa}/emergency-access"), &serde_json::json!({"reason": "Larm utan svar"})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(siv.get(&format!("/api/persons/{elsa}")).await.status(), 200);

        let res = me.get("/my-log").await;
        let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let page = res.text().await.unwrap();
        assert!(page.contains("Hemtjänst Norr") && page.contains("läste genomförandeplanen"), "{page}");
        assert!(page.contains("Hemtjänst Söder") && page.contains("öppnade nödåtkomst") && page.contains("Nödåtkomst"), "{page}");
        assert_eq!(page.matches("<tr><td>").count(), 3, "three allowed accesses by others, not the refusal: {page}");
        assert!(!page.contains("Testsson"), "staff are not named unless the provider chooses so");
        // Reading the extract is itself logged.
        let entries = app.store.unsafe_audit_entries_of_request(&rid).await.unwrap();
        assert!(entries.iter().any(|e| e.event.action == "read:audit_log" && e.event.person == Some(elsa)), "{entries:?}");
        // A relative, or staff, cannot read the person's extract.
        let rut = As::new(&app, Account::Relative { tenant: t, relative, person: elsa }).await;
        assert_eq!(rut.get("/my-log").await.status(), 403);
        assert_eq!(nora.get("/my-log").await.status(), 403);
    }
}

/// An event about `person` by a made-up staff member.
fn event(clock: &ManualClock, t: TenantId, person: PersonId, n: usize) -> AuditEvent {
    AuditEvent {
        tenant: Some(t),
        at: clock.now(),
        actor: Actor(format!("staff:{}", StaffId::generate(clock))),
        method: Some(AuthMethod::BankId),
        loa: Some(Loa::Loa3),
        person: Some(person),
        action: if n.is_multiple_of(3) {
            "write:visit_notes"
        } else {
            "read:care_plan"
        }
        .to_owned(),
        unit: None,
        outcome: Outcome::Allow,
        ground: "care_relationship".to_owned(),
        request_id: Some(format!("req-{n}")),
    }
}

/// Runs one statement on the raw database.
async fn sql(pool: &sqlx::AnyPool, q: &'static str) {
    sqlx::query(q).execute(pool).await.unwrap();
}

on_both_backends! {
    async fn queued_entries_are_read_at_once_and_integrated_in_the_order_they_came(backend) {
        use sqlx::Row as _;
        let (db, store, clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await.id;
        let mut tx = store.begin().await.unwrap();
        let p = tx.add_person(t, &person("Elsa", "Ek", pnr(date!(1931 - 03 - 03), 981)), false).await.unwrap();
        tx.commit().await.unwrap();
        let log = trygg_store::AuditLog::open(&store).await.unwrap();
        for n in 0..12 {
            store.record_event(&event(&clock, t, p, n)).await.unwrap();
        }
        // Queued, not yet in the tree, and already found by request.
        assert_eq!(log.size().await, 0);
        assert_eq!(store.unsafe_audit_entries_of_request("req-5").await.unwrap().len(), 1);
        // Entries queued before the queue kept leaf hashes (migration 0012)
        // are hashed by the sequencer.
        let raw = db.raw().await;
        sqlx::query("UPDATE audit_queue SET leaf_hash = NULL WHERE request_id IN ('req-3', 'req-4')").execute(&raw).await.unwrap();
        assert_eq!(log.integrate().await.unwrap().map(|_| ()), Some(()));
        assert_eq!(log.size().await, 12);
        let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_queue").fetch_one(&raw).await.unwrap();
        assert_eq!(queued, 0, "integrated entries leave the queue");
        let order: Vec<String> = sqlx::query("SELECT request_id FROM audit_entries ORDER BY seq")
            .fetch_all(&raw).await.unwrap().iter().map(|r| r.try_get("request_id").unwrap()).collect();
        assert_eq!(order, (0..12).map(|n| format!("req-{n}")).collect::<Vec<_>>(), "in the order they were queued");
        let kept = log.latest_checkpoint().await.unwrap().unwrap();
        assert_eq!(store.verify_audit(&kept, &log.verifying_key()).await.unwrap(), trygg_store::AuditFinding::Intact { covered: 12, after: 0 });
        assert_eq!(log.integrate().await.unwrap(), None, "nothing left to integrate");

        // A second sequencer over the same database (another process) that
        // took the same queued entries changes nothing and says so.
        store.record_event(&event(&clock, t, p, 12)).await.unwrap();
        let other = trygg_store::AuditLog::open(&store).await.unwrap();
        other.integrate().await.unwrap().unwrap();
        sqlx::query("INSERT INTO audit_queue (id, tenant_id, at, actor, action, outcome, ground, body, leaf_hash) \
                     SELECT id, tenant_id, at, actor, action, outcome, ground, body, leaf_hash FROM audit_entries WHERE seq = 12")
            .execute(&raw).await.unwrap();
        sqlx::query("UPDATE audit_queue SET id = 'twin'").execute(&raw).await.unwrap();
        assert!(log.integrate().await.is_err(), "the place is taken");
        assert_eq!(log.size().await, 12, "the tree is unchanged");
        raw.close().await;
    }
}

on_both_backends! {
    async fn every_kind_of_tampering_is_found_and_erasure_keeps_the_log_verifiable(backend) {
        use sqlx::Row as _;
        let (db, store, clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await.id;
        let mut tx = store.begin().await.unwrap();
        let p = tx.add_person(t, &person("Elsa", "Ek", pnr(date!(1931 - 03 - 03), 981)), false).await.unwrap();
        tx.commit().await.unwrap();
        let log = trygg_store::AuditLog::open(&store).await.unwrap();
        const N: u64 = 90;
        for n in 0..N as usize {
            store.record_event(&event(&clock, t, p, n)).await.unwrap();
            clock.advance(Duration::seconds(1));
            if n % 30 == 29 {
                log.integrate().await.unwrap().unwrap();
            }
        }
        let kept = log.latest_checkpoint().await.unwrap().unwrap();
        let key = log.verifying_key();
        assert_eq!(store.verify_audit(&kept, &key).await.unwrap(), trygg_store::AuditFinding::Intact { covered: N, after: 0 });
        // A checkpoint signed by another key is refused outright.
        let other = trygg_audit::SigningKey::from_seed(trygg_store::AUDIT_ORIGIN, &[7; 32]).unwrap();
        assert!(store.verify_audit(&kept, &other.verifying_key()).await.is_err());

        // Erasing the person destroys their key; every hash still verifies.
        store.erase_person(t, p, "test").await.unwrap();
        assert!(matches!(store.verify_audit(&kept, &key).await.unwrap(), trygg_store::AuditFinding::Intact { .. }));

        let raw = db.raw().await;
        sql(&raw, "CREATE TABLE audit_backup AS SELECT * FROM audit_entries").await;
        let restore = || async {
            sql(&raw, "DELETE FROM audit_entries").await;
            sql(&raw, "INSERT INTO audit_entries SELECT * FROM audit_backup").await;
        };
        let body_of = |i: u64| {
            let raw = raw.clone();
            async move {
                let row = sqlx::query("SELECT body FROM audit_entries WHERE seq = $1").bind(i as i64).fetch_one(&raw).await.unwrap();
                row.try_get::<Vec<u8>, _>("body").unwrap()
            }
        };
        use trygg_store::AuditFinding::*;
        let within = |f: &trygg_store::AuditFinding, i: u64| matches!(f, Changed { first, last } if *first <= i && i <= *last);
        for i in 0..N {
            // An edited column.
            sqlx::query("UPDATE audit_entries SET action = 'find' WHERE seq = $1").bind(i as i64).execute(&raw).await.unwrap();
            assert_eq!(store.verify_audit(&kept, &key).await.unwrap(), Edited { seq: i }, "column of {i}");
            restore().await;
            // An edited body, its stored leaf hash left alone.
            let mut body = body_of(i).await;
            body.push(b' ');
            sqlx::query("UPDATE audit_entries SET body = $1 WHERE seq = $2").bind(body.clone()).bind(i as i64).execute(&raw).await.unwrap();
            assert_eq!(store.verify_audit(&kept, &key).await.unwrap(), Edited { seq: i }, "body of {i}");
            // ...and with the leaf hash rewritten to match: the signed heads find it.
            let leaf = trygg_audit::merkle::leaf_hash(&body).to_vec();
            sqlx::query("UPDATE audit_entries SET leaf_hash = $1 WHERE seq = $2").bind(leaf).bind(i as i64).execute(&raw).await.unwrap();
            let f = store.verify_audit(&kept, &key).await.unwrap();
            assert!(within(&f, i), "rewritten {i}: {f:?}");
            restore().await;
            // A deleted entry.
            sqlx::query("DELETE FROM audit_entries WHERE seq = $1").bind(i as i64).execute(&raw).await.unwrap();
            let f = store.verify_audit(&kept, &key).await.unwrap();
            let expected = if i + 1 == N { Truncated { held: i, covered: N } } else { Missing { seq: i } };
            assert_eq!(f, expected, "deleted {i}");
            restore().await;
            // Two entries swapped.
            if i + 1 < N {
                sqlx::query("UPDATE audit_entries SET seq = -1 WHERE seq = $1").bind(i as i64).execute(&raw).await.unwrap();
                sqlx::query("UPDATE audit_entries SET seq = $1 WHERE seq = $2").bind(i as i64).bind((i + 1) as i64).execute(&raw).await.unwrap();
                sqlx::query("UPDATE audit_entries SET seq = $1 WHERE seq = -1").bind((i + 1) as i64).execute(&raw).await.unwrap();
                let f = store.verify_audit(&kept, &key).await.unwrap();
                assert!(within(&f, i), "swapped {i}: {f:?}");
                restore().await;
            }
            // Truncated from here.
            sqlx::query("DELETE FROM audit_entries WHERE seq >= $1").bind(i as i64).execute(&raw).await.unwrap();
            assert_eq!(store.verify_audit(&kept, &key).await.unwrap(), Truncated { held: i, covered: N }, "truncated at {i}");
            restore().await;
        }
        assert!(matches!(store.verify_audit(&kept, &key).await.unwrap(), Intact { .. }));
    }
}

#[tokio::test]
async fn the_command_line_exports_checkpoints_and_verifies_the_log() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let t = tenant(&app.store, "212000-9994").await.id;
    let mut tx = app.store.begin().await.unwrap();
    let p = tx
        .add_person(
            t,
            &person("Elsa", "Ek", pnr(date!(1931 - 03 - 03), 981)),
            false,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for n in 0..5 {
        app.store
            .record_event(&event(&app.clock, t, p, n))
            .await
            .unwrap();
    }
    // On shutdown the server integrates every pending entry and signs.
    let (db, store) = (app.db, app.store.clone());
    app.server.shutdown().await.unwrap();
    store.close().await;
    let dir = db.dir.path();
    let (cp, key) = (dir.join("checkpoint.txt"), dir.join("audit.pub"));
    let run = |args: Vec<String>| {
        let db = &db;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            trygg(db, &args).await
        }
    };
    let s = |x: &str| x.to_owned();
    let out = run(vec![
        s("audit"),
        s("checkpoint"),
        s("--out"),
        cp.display().to_string(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let note = std::fs::read_to_string(&cp).unwrap();
    assert!(note.starts_with("trygg/audit\n5\n"), "{note}");
    assert!(
        run(vec![
            s("audit"),
            s("key"),
            s("--out"),
            key.display().to_string()
        ])
        .await
        .status
        .success()
    );
    let verify = vec![
        s("audit"),
        s("verify"),
        s("--checkpoint"),
        cp.display().to_string(),
        s("--key"),
        key.display().to_string(),
    ];
    let out = run(verify.clone()).await;
    assert!(
        out.status.success() && stdout(&out).contains("intact"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // Someone edits an entry directly in the database.
    let raw = db.raw().await;
    sql(
        &raw,
        "UPDATE audit_entries SET ground = 'consent' WHERE seq = 3",
    )
    .await;
    raw.close().await;
    let out = run(verify).await;
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("entry 3 was edited"),
        "{}",
        stdout(&out)
    );
}

on_both_backends! {
    async fn concurrent_entries_are_committed_together_each_exactly_once(backend) {
        use sqlx::Row as _;
        use std::collections::{BTreeMap, BTreeSet};
        let (db, store, clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await.id;
        let mut tx = store.begin().await.unwrap();
        let p = tx.add_person(t, &person("Elsa", "Ek", pnr(date!(1931 - 03 - 03), 981)), false).await.unwrap();
        tx.commit().await.unwrap();
        let spawn = |n: usize, tenant: TenantId| {
            let (store, event) = (store.clone(), event(&clock, tenant, p, n));
            tokio::spawn(async move { (n, store.record_event(&event).await) })
        };
        let mut acknowledged = BTreeSet::new();
        // 200 at once: each returns once its entry is committed.
        let calls: Vec<_> = (0..200).map(|n| spawn(n, t)).collect();
        for call in calls {
            let (n, result) = call.await.unwrap();
            result.unwrap_or_else(|e| panic!("entry {n}: {e}"));
            acknowledged.insert(n);
        }
        for n in 0..200 {
            assert_eq!(store.unsafe_audit_entries_of_request(&format!("req-{n}")).await.unwrap().len(), 1, "entry {n}");
        }
        let log = trygg_store::AuditLog::open(&store).await.unwrap();
        log.integrate().await.unwrap().unwrap();
        assert_eq!(log.size().await, 200);

        // An entry the database refuses (its tenant does not exist) fails, and
        // so does every entry that shared its transaction: none is acknowledged
        // without being stored, none is stored without being acknowledged.
        let calls: Vec<_> = (200..260)
            .map(|n| spawn(n, if n == 230 { TenantId::generate(&clock) } else { t }))
            .collect();
        for call in calls {
            let (n, result) = call.await.unwrap();
            match result {
                Ok(()) => assert!(n != 230 && acknowledged.insert(n)),
                Err(e) => assert!(n == 230 || e.to_string().contains("group"), "entry {n}: {e}"),
            }
        }

        // The store is closed while 200 more are on their way: every caller
        // gets an answer, and a true one. Those that come after are refused.
        let mut calls: Vec<_> = (300..400).map(|n| spawn(n, t)).collect();
        let closing = {
            let store = store.clone();
            tokio::spawn(async move { store.close().await })
        };
        calls.extend((400..500).map(|n| spawn(n, t)));
        closing.await.unwrap();
        calls.extend((500..550).map(|n| spawn(n, t)));
        for call in calls {
            let (n, result) = call.await.unwrap();
            if result.is_ok() {
                assert!(n < 500, "nothing is accepted after the close: {n}");
                acknowledged.insert(n);
            }
        }
        let raw = db.raw().await;
        let mut stored = BTreeMap::<usize, usize>::new();
        for row in sqlx::query("SELECT request_id FROM audit_entries UNION ALL SELECT request_id FROM audit_queue").fetch_all(&raw).await.unwrap() {
            let Some(rid) = row.try_get::<Option<String>, _>("request_id").unwrap() else { continue };
            let Some(n) = rid.strip_prefix("req-") else { continue };
            *stored.entry(n.parse().unwrap()).or_default() += 1;
        }
        raw.close().await;
        for n in 0..550 {
            let expected = usize::from(acknowledged.contains(&n));
            assert_eq!(stored.get(&n).copied().unwrap_or(0), expected, "entry {n}: stored once if and only if acknowledged");
        }
    }
}
