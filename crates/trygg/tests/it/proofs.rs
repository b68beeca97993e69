//! The audit log's proofs from the outside: a person downloads the inclusion
//! proofs of the entries about them and checks them with only the published
//! key; anyone fetches checkpoints and consistency proofs without logging
//! in; a changed byte anywhere makes the check fail. On both backends.

use crate::kit::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::Duration;
use time::macros::date;
use trygg_domain::*;
use trygg_store::{ProofBundle, ProofError, StoredEntry};

on_both_backends! {
    async fn a_person_downloads_a_proof_that_anyone_can_check(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenant(&app.store, "212000-9994").await.id;
        let mut tx = app.store.begin().await.unwrap();
        let north = tx.add_unit(t, None, "Hemtjänst Norr", None).await.unwrap().id;
        let nora = tx.add_staff(t, &StaffDetails {
            given_name: PersonName::parse("Nora").unwrap(), family_name: PersonName::parse("Test").unwrap(),
            hsa_id: None, identity_number: None, email: None, phone: None,
        }).await.unwrap();
        tx.assign_role(t, RoleAssignment { staff: nora, unit: north, role: Role::Nurse }).await.unwrap();
        let elsa = tx.add_person(t, &person("Elsa", "Ek", pnr(date!(1931 - 03 - 03), 981)), false).await.unwrap();
        let olle = tx.add_person(t, &person("Olle", "Lind", pnr(date!(1932 - 04 - 04), 982)), false).await.unwrap();
        for p in [elsa, olle] {
            tx.add_care_relationship(t, p, CareParty::Unit(north), Period::new(app.clock.now() - Duration::days(1), None).unwrap()).await.unwrap();
        }
        tx.commit().await.unwrap();
        // Before any entry there is no checkpoint to fetch.
        assert_eq!(app.client.get(app.url("/audit/checkpoint")).send().await.unwrap().status(), 404);
        let staff = As::new(&app, Account::Staff { tenant: t, staff: nora }).await;
        for p in [elsa, olle, elsa] {
            assert_eq!(staff.get(&format!("/api/persons/{p}")).await.status(), 200);
        }
        app.server.audit().integrate().await.unwrap();
        let first = app.client.get(app.url("/audit/checkpoint")).send().await.unwrap().text().await.unwrap();

        // Elsa downloads her proof; the key comes from the public address.
        let me = As::new(&app, Account::Person { tenant: t, person: elsa }).await;
        assert!(me.get("/my-log").await.text().await.unwrap().contains("/my-log/proof"));
        let res = me.get("/my-log/proof").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let text = res.text().await.unwrap();
        let bundle = ProofBundle::from_json(&text).unwrap();
        let key_text = app.client.get(app.url("/audit/key")).send().await.unwrap().text().await.unwrap();
        let key = trygg_audit::VerifyingKey::parse(key_text.trim()).unwrap();
        let signed = bundle.verify(&key).unwrap();
        // Three readings are integrated; her reading of her extract and
        // fetching the proof are logged too, and are in the bundle or pending
        // depending on the sequencer's timing.
        assert!((3..=5).contains(&signed.size), "{}", signed.size);
        assert_eq!(bundle.entries.len() as u64 + bundle.pending, 4);
        // Her entries, each about her; Olle's is not in her bundle.
        let mut readings = 0;
        for e in &bundle.entries {
            let entry = StoredEntry::parse(&STANDARD.decode(&e.body).unwrap()).unwrap();
            assert_eq!(entry.event.person, Some(elsa));
            readings += usize::from(entry.event.action == "read:overview");
        }
        assert_eq!(readings, 2);
        let logged = app.store.unsafe_audit_entries_of_request(&rid).await.unwrap();
        assert_eq!(logged.iter().map(|e| e.event.action.as_str()).collect::<Vec<_>>(), ["read:log_proof"]);

        // A changed byte in a body, a proof hash, or the checkpoint: refused.
        let mut edited = bundle.clone();
        let mut body = STANDARD.decode(&edited.entries[0].body).unwrap();
        body[10] ^= 1;
        edited.entries[0].body = STANDARD.encode(body);
        assert_eq!(edited.verify(&key), Err(ProofError::Entry(bundle.entries[0].seq)));
        let mut edited = bundle.clone();
        edited.entries[1].proof[0] = STANDARD.encode([7u8; 32]);
        assert_eq!(edited.verify(&key), Err(ProofError::Entry(bundle.entries[1].seq)));
        let mut edited = bundle.clone();
        edited.checkpoint = edited.checkpoint.replacen(&format!("\n{}\n", signed.size), &format!("\n{}\n", signed.size - 1), 1);
        assert_ne!(edited.checkpoint, bundle.checkpoint);
        assert!(matches!(edited.verify(&key), Err(ProofError::Checkpoint(_))));
        // A bundle signed by another key proves nothing against the published one.
        let other = trygg_audit::SigningKey::from_seed("trygg/audit", &[9u8; 32]).unwrap();
        assert!(matches!(bundle.verify(&other.verifying_key()), Err(ProofError::Checkpoint(_))));

        // The command line checks it with nothing but the key.
        let dir = tempfile::tempdir().unwrap();
        let (file, key_file, bad) = (dir.path().join("bevis.json"), dir.path().join("audit.pub"), dir.path().join("fel.json"));
        std::fs::write(&file, &text).unwrap();
        std::fs::write(&key_file, &key_text).unwrap();
        let out = trygg(&app.db, &["audit", "verify-proof", "--proof", file.to_str().unwrap(), "--key", key_file.to_str().unwrap()]).await;
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        let expected = format!("verified: the {} entries are in the log of {} entries", bundle.entries.len(), signed.size);
        assert!(stdout(&out).contains(&expected), "{}", stdout(&out));
        let mut tampered = bundle.clone();
        tampered.entries.swap(0, 1);
        tampered.entries[0].seq = bundle.entries[0].seq;
        std::fs::write(&bad, serde_json::to_string(&tampered).unwrap()).unwrap();
        let out = trygg(&app.db, &["audit", "verify-proof", "--proof", bad.to_str().unwrap(), "--key", key_file.to_str().unwrap()]).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout(&out).contains("does not verify"), "{}", stdout(&out));

        // Nobody but the person gets their proof.
        assert_eq!(staff.get("/my-log/proof").await.status(), 403);
        let anonymous = app.client.get(app.url("/my-log/proof")).send().await.unwrap();
        assert_eq!(anonymous.url().path(), "/login", "not logged in: to the login page");
        assert!(!anonymous.text().await.unwrap().contains("trygg-audit-proof"));

        // Consistency between the first checkpoint and a later one, for anyone.
        assert_eq!(staff.get(&format!("/api/persons/{olle}")).await.status(), 200);
        app.server.audit().integrate().await.unwrap();
        let later = app.client.get(app.url("/audit/checkpoint")).send().await.unwrap().text().await.unwrap();
        let (old, new) = (key.verify(&first).unwrap(), key.verify(&later).unwrap());
        assert!(new.size > old.size);
        let c: serde_json::Value = app.client.get(app.url(&format!("/audit/consistency?from={}&to={}", old.size, new.size))).send().await.unwrap().json().await.unwrap();
        let proof: Vec<trygg_audit::Hash> = c["proof"].as_array().unwrap().iter().map(|h| STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()).collect();
        assert!(trygg_audit::merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof));
        assert!(!trygg_audit::merkle::verify_consistency(old.size, new.size, &[0u8; 32], &new.root, &proof));
        assert_eq!(app.client.get(app.url(&format!("/audit/consistency?from={}&to={}", new.size, old.size))).send().await.unwrap().status(), 400);
        assert_eq!(app.client.get(app.url(&format!("/audit/consistency?from=1&to={}", new.size + 100))).send().await.unwrap().status(), 404);
        assert_eq!(app.client.get(app.url("/audit/consistency?from=x&to=1")).send().await.unwrap().status(), 400);
    }
}
