//! Retention: entries older than the retention period are disposed of by a
//! logged command, and the rest of the log still verifies and proves; a
//! disposal that removed younger entries, a tampered summary of the removed
//! entries, or a kept checkpoint older than the disposal is reported. On
//! both backends.

use crate::kit::*;
use time::{Duration, OffsetDateTime};
use trygg_domain::*;
use trygg_store::AuditLog;

fn event(at: OffsetDateTime, i: usize) -> AuditEvent {
    AuditEvent {
        tenant: None,
        at,
        actor: Actor(format!("staff:{i}")),
        method: Some(AuthMethod::BankId),
        loa: Some(Loa::Loa3),
        person: None,
        action: "read:overview".into(),
        unit: None,
        outcome: Outcome::Allow,
        ground: "care_relationship".into(),
        request_id: Some(format!("r{i}")),
    }
}

on_both_backends! {
    async fn old_entries_are_disposed_of_and_the_rest_still_verifies(backend) {
        let (db, store, clock) = store(backend).await;
        let log = AuditLog::open(&store).await.unwrap();
        // Four batches of ten, each integrated under its own checkpoint: two
        // long before the retention period, two within it. (The command line
        // runs on the real clock, so "within" is relative to now.)
        let now = trygg_domain::Clock::now(&trygg::clock::SystemClock);
        let batches = [
            time::macros::datetime!(2001-03-01 10:00 UTC),
            time::macros::datetime!(2002-06-01 10:00 UTC),
            now - Duration::days(1),
            now - Duration::minutes(5),
        ];
        let mut notes = Vec::new();
        for (b, at) in batches.iter().enumerate() {
            clock.set(*at);
            for i in 0..10 {
                store.record_event(&event(*at + Duration::seconds(i as i64), b * 10 + i)).await.unwrap();
            }
            notes.push(log.integrate().await.unwrap().unwrap());
        }
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let (kept, old_kept) = (file("kept.txt", &notes[3]), file("old.txt", &notes[0]));
        let key = file("audit.pub", &format!("{}\n", log.verifying_key().to_text()));
        let verify = |checkpoint: String| {
            let (db, key) = (&db, key.clone());
            async move { trygg(db, &["audit", "verify", "--checkpoint", &checkpoint, "--key", &key]).await }
        };

        // What would go, then the disposal itself (the default five years).
        let out = trygg(&db, &["audit", "dispose", "--dry-run"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("Would dispose of 20 entries"), "{}", stdout(&out));
        let out = trygg(&db, &["audit", "dispose"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("Disposed of 20 entries") && stdout(&out).contains(&notes[1]), "{}", stdout(&out));
        // Nothing more is old enough.
        let out = trygg(&db, &["audit", "dispose"]).await;
        assert!(stdout(&out).contains("Nothing to dispose of"), "{}", stdout(&out));
        let raw = db.raw().await;
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries WHERE seq < 20").fetch_one(&raw).await.unwrap();
        assert_eq!(left, 0, "the old entries are gone");
        let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries WHERE action = 'dispose_audit_log'").fetch_one(&raw).await.unwrap();
        assert_eq!(logged, 1, "the disposal is itself in the log");

        // The rest verifies against the checkpoint kept before the disposal.
        let out = verify(kept.clone()).await;
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).contains("intact") && stdout(&out).contains("the first 20 entries"), "{}", stdout(&out));
        // A checkpoint kept from before the boundary can no longer be checked: said so.
        let out = verify(old_kept).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout(&out).contains("keep a newer one"), "{}", stdout(&out));
        // A reopened log starts from the frontier and still proves later entries.
        let reopened = AuditLog::open(&store).await.unwrap();
        assert!(reopened.size().await >= 40);
        assert!(reopened.inclusion_proof(25, 40).await.is_some());
        assert_eq!(reopened.inclusion_proof(5, 40).await, None, "no proof for a disposed entry");
        let old = log.verifying_key().verify(&notes[3]).unwrap();
        assert_eq!(reopened.consistency_proof(40, 40).await, Some(Vec::new()));
        assert!(reopened.consistency_proof(20, 40).await.is_some());
        assert_eq!(old.size, 40);

        // Tampering after the disposal is still found where it is.
        let body: Vec<u8> = sqlx::query_scalar("SELECT body FROM audit_entries WHERE seq = 25").fetch_one(&raw).await.unwrap();
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains("\"request_id\":\"r"), "{text}");
        let edited = text.replace("\"request_id\":\"r", "\"request_id\":\"x").into_bytes();
        let set_body = |b: Vec<u8>| {
            let raw = &raw;
            async move { sqlx::query("UPDATE audit_entries SET body = $1 WHERE seq = 25").bind(b).execute(raw).await.unwrap() }
        };
        set_body(edited).await;
        let out = verify(kept.clone()).await;
        assert!(stdout(&out).contains("entry 25 was edited"), "{}", stdout(&out));
        set_body(body).await;
        assert!(verify(kept.clone()).await.status.success());
        // A changed summary of the removed entries is found.
        let frontier: Vec<u8> = sqlx::query_scalar("SELECT frontier FROM audit_disposals").fetch_one(&raw).await.unwrap();
        let mut bad = frontier.clone();
        bad[0] ^= 1;
        sqlx::query("UPDATE audit_disposals SET frontier = $1").bind(bad).execute(&raw).await.unwrap();
        let out = verify(kept.clone()).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout(&out).contains("does not match its signed checkpoint"), "{}", stdout(&out));
        sqlx::query("UPDATE audit_disposals SET frontier = $1").bind(frontier).execute(&raw).await.unwrap();

        // A disposal of entries within the retention period (an operator with
        // a wrong clock, or someone hiding recent accesses) is reported.
        clock.set(now + Duration::days(1));
        let done = log.dispose(now + Duration::days(1), "mallory", false).await.unwrap().unwrap();
        assert!(done.size >= 40);
        let out = verify(kept).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout(&out).contains("by mallory") && stdout(&out).contains("within the retention period"), "{}", stdout(&out));
        store.close().await;
    }
}
