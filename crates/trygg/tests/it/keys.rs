//! Keys: wrong or missing key files, keys from the environment, rotation
//! without downtime — on both backends.

use crate::kit::*;
use time::macros::date;
use trygg_crypto::Keyring;
use trygg_store::{KeyConfig, StoreError};

on_both_backends! {
    async fn a_wrong_key_file_is_refused_and_changes_nothing(backend) {
        let (db, store, clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await;
        let mut tx = store.begin().await.unwrap();
        let id = tx.add_person(t.id, &person("Rätt", "Nyckel", pnr(date!(1944-02-02), 990)), false).await.unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        let before = fingerprint(&db).await;

        // Another key file in the same place.
        let right = std::fs::read(db.key_file()).unwrap();
        std::fs::remove_file(db.key_file()).unwrap();
        Keyring::create_file(&db.key_file()).unwrap();
        let err = db.open(&clock).await.unwrap_err();
        assert!(matches!(err, StoreError::WrongKey { .. }), "{err}");
        assert!(err.to_string().contains("Nothing was changed"));
        // The CLI says so too, and exits non-zero.
        let out = trygg(&db, &["admin", "person", "list", "--tenant", "212000-9994"]).await;
        assert!(!out.status.success());
        assert!(stderr(&out).contains("ST003"), "{}", stderr(&out));
        assert_eq!(fingerprint(&db).await, before, "the keys and data must not change");

        // A missing key file is not replaced by a new one while data exists.
        std::fs::remove_file(db.key_file()).unwrap();
        let err = db.open(&clock).await.unwrap_err();
        assert!(matches!(err, StoreError::KeyFileMissing { .. }), "{err}");
        assert!(!db.key_file().exists());

        // A world-readable key file is refused.
        std::fs::write(db.key_file(), &right).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(db.key_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(db.open(&clock).await.unwrap_err().to_string().contains("chmod 600"));

        // The right key opens it again, with the data intact.
        std::fs::set_permissions(db.key_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
        let store = db.open(&clock).await.unwrap();
        assert_eq!(store.unsafe_person(t.id, id).await.unwrap().details.given_name.as_str(), "Rätt");
    }

    async fn keys_can_come_from_the_environment(backend) {
        let db = TestDb::new(backend).await;
        let ring = Keyring::generate().unwrap();
        let text = ring.to_text();
        let clock = clock();
        let store = db.open_with(KeyConfig::Environment(text.clone()), &clock).await.unwrap();
        let t = tenant(&store, "212000-9994").await;
        let mut tx = store.begin().await.unwrap();
        let id = tx.add_person(t.id, &person("Miljö", "Nyckel", pnr(date!(1950-01-01), 981)), false).await.unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        assert!(!db.key_file().exists(), "no key file is made when keys come from the environment");
        // The binary reads TRYGG_MASTER_KEY too.
        let out = trygg_env(&db, &["admin", "person", "list", "--tenant", "212000-9994"], &[("TRYGG_MASTER_KEY", &text)]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("Miljö Nyckel"));
        let other = Keyring::generate().unwrap().to_text();
        let out = trygg_env(&db, &["admin", "person", "list", "--tenant", "212000-9994"], &[("TRYGG_MASTER_KEY", &other)]).await;
        assert!(!out.status.success());
        let store = db.open_with(KeyConfig::Environment(text), &clock).await.unwrap();
        assert!(store.unsafe_person(t.id, id).await.is_ok());
    }

    async fn rotation_rewraps_every_key_while_a_server_keeps_running(backend) {
        let (db, server, clock) = store(backend).await;
        let t = tenant(&server, "212000-9994").await;
        let mut ids = Vec::new();
        let mut tx = server.begin().await.unwrap();
        for i in 0..30u16 {
            ids.push(tx.add_person(t.id, &person("Före", "Rotation", pnr(date!(1940-06-06), 900 + i)), false).await.unwrap());
        }
        tx.commit().await.unwrap();
        let original = std::fs::read(db.key_file()).unwrap();
        let old = Keyring::load_file(&db.key_file()).unwrap().active_id();
        assert_eq!(server.kek_usage(&old).await.unwrap(), 33); // 30 persons + 3 key domains

        // An operator rotates with the CLI while `server` keeps its store open.
        let out = trygg(&db, &["admin", "rotate-keys"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("Re-wrapped 33 keys"), "{}", stdout(&out));
        let ring = Keyring::load_file(&db.key_file()).unwrap();
        let new = ring.active_id();
        assert_ne!(new, old);
        assert_eq!(ring.ids(), vec![new.clone(), old.clone()], "the old key is kept, retired");
        assert_eq!(server.kek_usage(&old).await.unwrap(), 0);
        assert_eq!(server.kek_usage(&new).await.unwrap(), 33);

        // The running server reads keys wrapped under the new KEK (it re-reads
        // the key file) and wraps new keys under it.
        for id in &ids {
            assert_eq!(server.unsafe_person(t.id, *id).await.unwrap().details.given_name.as_str(), "Före");
        }
        let mut tx = server.begin().await.unwrap();
        let after = tx.add_person(t.id, &person("Efter", "Rotation", pnr(date!(1941-06-06), 990)), false).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(server.kek_usage(&new).await.unwrap(), 34);
        assert_eq!(server.unsafe_find_person(t.id, &pnr(date!(1940-06-06), 905)).await.unwrap().id, ids[5]);

        // A second rotation with purge removes the retired keys nobody uses.
        let out = trygg(&db, &["admin", "rotate-keys", "--purge-retired"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let ring = Keyring::load_file(&db.key_file()).unwrap();
        assert_eq!(ring.ids().len(), 1, "{}", stdout(&out));
        assert!(!ring.contains(&old) && !ring.contains(&new));
        assert_eq!(server.unsafe_person(t.id, after).await.unwrap().details.given_name.as_str(), "Efter");
        // A fresh start with the rotated file reads everything.
        server.close().await;
        let fresh = db.open(&clock).await.unwrap();
        assert_eq!(fresh.unsafe_persons(t.id).await.unwrap().len(), 31);
        // A copy of the original key file (say, from an old backup) no
        // longer opens the database once its key is purged.
        let stale = db.dir.path().join("stale.key");
        write_private(&stale, &original);
        assert!(matches!(
            db.open_with(KeyConfig::File(stale), &clock).await,
            Err(StoreError::WrongKey { .. })
        ));
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

/// The stored keys and sealed data, to compare before and after.
async fn fingerprint(db: &TestDb) -> Vec<(String, String, Vec<u8>)> {
    use sqlx::Row as _;
    let raw = db.raw().await;
    let mut all = Vec::new();
    for sql in [
        "SELECT name, kek_id, wrapped FROM key_domains ORDER BY name",
        "SELECT id, kek_id, wrapped FROM data_keys ORDER BY id",
        "SELECT id, tenant_id, given_name FROM persons ORDER BY id",
    ] {
        for row in sqlx::query(sql).fetch_all(&raw).await.unwrap() {
            all.push((row.get(0), row.get(1), row.get(2)));
        }
    }
    raw.close().await;
    assert!(all.len() >= 3);
    all
}
