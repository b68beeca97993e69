//! The `trygg` binary end to end: admin commands, errors, serve.

use crate::kit::*;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, BufReader};

async fn ok(db: &TestDb, args: &[&str]) -> String {
    let out = trygg(db, args).await;
    assert!(
        out.status.success(),
        "trygg {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

async fn fails(db: &TestDb, args: &[&str]) -> String {
    let out = trygg(db, args).await;
    assert!(
        !out.status.success(),
        "trygg {args:?} should fail: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    err
}

on_both_backends! {
    async fn admin_commands_build_an_organisation(backend) {
        let db = TestDb::new(backend).await;
        assert!(ok(&db, &["admin", "migrate"]).await.contains("Applied migrations [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]"));
        assert!(ok(&db, &["admin", "migrate"]).await.contains("up to date"));
        let tenant = ok(&db, &["admin", "tenant", "add", "--name", "Exempelby kommun", "--org-number", "212000-9994"]).await;
        let tenant = tenant.trim();
        assert!(ok(&db, &["admin", "tenant", "list"]).await.contains("Exempelby kommun"));
        let top = ok(&db, &["admin", "unit", "add", "--tenant", tenant, "--name", "Omsorg"]).await;
        ok(&db, &["admin", "unit", "add", "--tenant", "212000-9994", "--name", "Hemtjänst Norr", "--parent", "Omsorg", "--hsa-id", "SE2120009994-HTN"]).await;
        let tree = ok(&db, &["admin", "unit", "list", "--tenant", tenant]).await;
        assert!(tree.contains(&format!("{}  Omsorg", top.trim())), "{tree}");
        assert!(tree.contains("    Hemtjänst Norr"), "{tree}");
        let staff = ok(&db, &["admin", "staff", "add", "--tenant", tenant, "--given-name", "Sara", "--family-name", "Ek", "--hsa-id", "SE2120009994-P1", "--unit", "Hemtjänst Norr", "--role", "home_care_staff"]).await;
        ok(&db, &["admin", "role", "add", "--tenant", tenant, "--staff", staff.trim(), "--unit", "Omsorg", "--role", "nurse"]).await;
        let list = ok(&db, &["admin", "staff", "list", "--tenant", tenant]).await;
        assert!(list.contains("Sara Ek") && list.contains("home_care_staff@Hemtjänst Norr") && list.contains("nurse@Omsorg"), "{list}");
        let person = ok(&db, &["admin", "person", "add", "--tenant", tenant, "--personnummer", "19121212-1212", "--given-name", "Tolvan", "--family-name", "Tolvansson", "--protected-identity"]).await;
        ok(&db, &["admin", "relative", "add", "--tenant", tenant, "--person", "191212121212", "--given-name", "Elva", "--family-name", "Tolvansson", "--relation", "dotter"]).await;
        ok(&db, &["admin", "care", "add", "--tenant", tenant, "--person", person.trim(), "--unit", "Hemtjänst Norr", "--from", "2026-01-01"]).await;
        ok(&db, &["admin", "care", "add", "--tenant", tenant, "--person", "19121212-1212", "--staff", staff.trim(), "--from", "2026-01-01", "--until", "2026-07-01T00:00:00Z"]).await;
        let list = ok(&db, &["admin", "person", "list", "--tenant", tenant]).await;
        assert!(list.contains("19121212-1212  Tolvan Tolvansson  [skyddad identitet]"), "{list}");
        let show = ok(&db, &["admin", "person", "show", "--tenant", tenant, "--person", "121212+1212"]).await;
        assert!(show.contains("relative:      Elva Tolvansson (dotter)"), "{show}");
        assert!(show.contains("unit Hemtjänst Norr from 2026-01-01T00:00:00Z until open"), "{show}");
        assert!(show.contains("until 2026-07-01T00:00:00Z"), "{show}");
        let rels = ok(&db, &["admin", "relative", "list", "--tenant", tenant, "--person", "19121212-1212"]).await;
        assert_eq!(rels, "Elva Tolvansson (dotter)\n");
        let care = ok(&db, &["admin", "care", "list", "--tenant", tenant, "--person", "19121212-1212"]).await;
        assert_eq!(care.lines().count(), 2, "{care}");
        {
            // Everything the operator did with the person's data from the
            // command line is in the audit log, named `operator:cli`.
            use sqlx::Row as _;
            let raw = db.raw().await;
            let rows = sqlx::query(
                "SELECT action, person_id, actor, ground, at, id FROM audit_entries \
                 UNION ALL SELECT action, person_id, actor, ground, at, id FROM audit_queue ORDER BY at, id",
            )
            .fetch_all(&raw)
            .await
            .unwrap();
            raw.close().await;
            let logged: Vec<(String, Option<String>)> = rows
                .iter()
                .inspect(|r| {
                    assert_eq!(r.try_get::<String, _>("actor").unwrap(), "operator:cli");
                    assert_eq!(r.try_get::<String, _>("ground").unwrap(), "key_file");
                })
                .map(|r| (r.try_get("action").unwrap(), r.try_get("person_id").unwrap()))
                .collect();
            let p = Some(person.trim().to_owned());
            let expected: Vec<(String, Option<String>)> = [
                ("assign_role:home_care_staff", None),
                ("assign_role:nurse", None),
                ("create:person", p.clone()),
                ("manage_relatives", p.clone()),
                ("manage_care", p.clone()),
                ("manage_care", p.clone()),
                ("find", p.clone()),
                ("read:overview", p.clone()),
                ("read:contact", p.clone()),
                ("read:contact", p.clone()),
                ("read:overview", p.clone()),
            ]
            .into_iter()
            .map(|(a, p)| (a.to_owned(), p))
            .collect();
            assert_eq!(logged, expected);
        }

        // A safety alarm for the person: the password is shown once, and
        // the registry keeps only its Digest hashes.
        let added = ok(&db, &["admin", "device", "add", "--tenant", tenant, "--person", "19121212-1212", "--unit", "Hemtjänst Norr", "--cid", "4600001", "--device-type", "0005"]).await;
        let password = added.lines().find_map(|l| l.strip_prefix("SIP password: ")).unwrap().to_owned();
        assert_eq!(password.len(), 20, "{added}");
        assert!(added.contains("SIP user: 4600001  realm: trygg"), "{added}");
        let list = ok(&db, &["admin", "device", "list", "--tenant", tenant]).await;
        assert!(list.contains("4600001") && list.contains("dty 0005") && list.contains("heartbeat 60 min"), "{list}");
        assert!(!list.contains(&password));
        let said = ok(&db, &["admin", "device", "disable", "--tenant", tenant, "--sip-user", "4600001"]).await;
        assert!(said.contains("4600001 is disabled"), "{said}");
        assert!(ok(&db, &["admin", "device", "list", "--tenant", tenant]).await.contains("  disabled"));
        ok(&db, &["admin", "device", "enable", "--tenant", tenant, "--sip-user", "4600001"]).await;
        assert!(!ok(&db, &["admin", "device", "list", "--tenant", tenant]).await.contains("disabled"));
        let err = fails(&db, &["admin", "device", "disable", "--tenant", tenant, "--sip-user", "larm-9999"]).await;
        assert!(err.contains("not found") || err.contains("no such"), "{err}");
        {
            let store = db.open(&clock()).await.unwrap();
            let (_, secrets) = store.device_by_sip_user("4600001").await.unwrap().unwrap();
            let expected = trygg_alarm::device_secrets("4600001", "trygg", &password);
            assert_eq!(secrets.ha1_md5.as_str(), expected.ha1_md5.as_str());
            assert_eq!(secrets.ha1_sha256.as_str(), expected.ha1_sha256.as_str());
            store.close().await;
        }
        let err = fails(&db, &["admin", "device", "add", "--tenant", tenant, "--person", "19121212-1212", "--unit", "Hemtjänst Norr", "--cid", "4600001", "--sip-user", "larm-2"]).await;
        assert!(err.contains("already exists"), "{err}");
        let err = fails(&db, &["admin", "device", "add", "--tenant", tenant, "--person", "19121212-1212", "--unit", "Hemtjänst Norr", "--cid", "46x0001"]).await;
        assert!(err.contains("--cid"), "{err}");
        let err = fails(&db, &["admin", "device", "add", "--tenant", tenant, "--person", "19121212-1212", "--unit", "Hemtjänst Norr", "--cid", "4600002", "--sip-user", "larm 2"]).await;
        assert!(err.contains("--sip-user"), "{err}");
        assert_eq!(ok(&db, &["admin", "device", "list", "--tenant", tenant]).await.lines().count(), 1);

        // CSV import: every row checked first; one bad row imports nothing.
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("devices.csv");
        std::fs::write(&csv, "personnummer;unit;cid;sip_user;device_type\n\
            19121212-1212;Hemtjänst Norr;4600011;larm-11;0005\n\
            19121212-1212;Hemtjänst Norr;4600001;larm-12;0005\n\
            19121212-1213;Ingen sådan;46x;larm 13;99999\n").unwrap();
        let err = fails(&db, &["admin", "device", "import", "--tenant", tenant, csv.to_str().unwrap()]).await;
        assert!(err.contains("line 3: cid 4600001 is already a device"), "{err}");
        assert!(err.contains("line 4: personnummer:") && err.contains("unit: no unit") && err.contains("cid:") && err.contains("sip_user:") && err.contains("device_type:"), "{err}");
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(ok(&db, &["admin", "device", "list", "--tenant", tenant]).await.lines().count(), 1);
        // With --skip-bad the good row is imported and its password printed once.
        let out = trygg(&db, &["admin", "device", "import", "--tenant", tenant, csv.to_str().unwrap(), "--skip-bad"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let printed = stdout(&out);
        let line = printed.lines().find(|l| l.starts_with("larm-11;")).unwrap();
        let password = line.split(';').nth(1).unwrap();
        assert_eq!((password.len(), line.ends_with(";4600011")), (20, true), "{printed}");
        assert!(stderr(&out).contains("Imported 1 of 3 devices"), "{}", stderr(&out));
        {
            let store = db.open(&clock()).await.unwrap();
            let (_, secrets) = store.device_by_sip_user("larm-11").await.unwrap().unwrap();
            let expected = trygg_alarm::device_secrets("larm-11", "trygg", password);
            assert_eq!(secrets.ha1_md5.as_str(), expected.ha1_md5.as_str());
            store.close().await;
        }

        // Erasure needs --yes, then the person is gone for good.
        let err = fails(&db, &["admin", "erase-person", "--tenant", tenant, "--person", "19121212-1212"]).await;
        assert!(err.contains("--yes"));
        ok(&db, &["admin", "erase-person", "--tenant", tenant, "--person", "19121212-1212", "--yes"]).await;
        let err = fails(&db, &["admin", "person", "show", "--tenant", tenant, "--person", person.trim()]).await;
        assert!(err.contains("erased"), "{err}");
    }

    async fn bad_input_gets_a_clear_error_and_changes_nothing(backend) {
        let db = TestDb::new(backend).await;
        ok(&db, &["admin", "tenant", "add", "--name", "Exempelby kommun", "--org-number", "212000-9994"]).await;
        let err = fails(&db, &["admin", "tenant", "add", "--name", "X", "--org-number", "212000-9995"]).await;
        assert!(err.contains("--org-number") && err.contains("check digit"), "{err}");
        let err = fails(&db, &["admin", "tenant", "add", "--name", "X", "--org-number", "212000-9994"]).await;
        assert!(err.contains("already exists"), "{err}");
        let err = fails(&db, &["admin", "person", "add", "--tenant", "212000-9994", "--personnummer", "19121212-1213", "--given-name", "A", "--family-name", "B"]).await;
        assert!(err.contains("--personnummer") && err.contains("check digit"), "{err}");
        assert!(!err.contains("1212-1213"), "errors do not echo identity numbers: {err}");
        let err = fails(&db, &["admin", "person", "add", "--tenant", "212000-9994", "--personnummer", "19121312-1212", "--given-name", "A", "--family-name", "B"]).await;
        assert!(err.contains("month 13"), "{err}");
        let err = fails(&db, &["admin", "person", "add", "--tenant", "nope", "--personnummer", "19121212-1212", "--given-name", "A", "--family-name", "B"]).await;
        assert!(err.contains("tenant not found"), "{err}");
        let err = fails(&db, &["admin", "unit", "add", "--tenant", "212000-9994", "--name", "X", "--parent", "Finns inte"]).await;
        assert!(err.contains("no unit \"Finns inte\""), "{err}");
        ok(&db, &["admin", "person", "add", "--tenant", "212000-9994", "--personnummer", "19121212-1212", "--given-name", "A", "--family-name", "B"]).await;
        let err = fails(&db, &["admin", "person", "add", "--tenant", "212000-9994", "--personnummer", "191212121212", "--given-name", "C", "--family-name", "D"]).await;
        assert!(err.contains("already exists"), "{err}");
        let err = fails(&db, &["admin", "care", "add", "--tenant", "212000-9994", "--person", "19121212-1212", "--unit", "Finns inte"]).await;
        assert!(err.contains("unit not found"), "{err}");
        let err = fails(&db, &["admin", "care", "add", "--tenant", "212000-9994", "--person", "19121212-1212", "--staff", "x"]).await;
        assert!(err.contains("not a staff id"), "{err}");
        let list = ok(&db, &["admin", "person", "list", "--tenant", "212000-9994"]).await;
        assert_eq!(list.lines().count(), 1, "{list}");
    }
}

#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password() {
    let db = TestDb::new(Backend::Sqlite).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trygg"))
        .args(["--data-dir", &db.data_dir().display().to_string()])
        .args([
            "--database-url",
            "postgres://trygg:hemligt@127.0.0.1:9/trygg",
        ])
        .args(["admin", "tenant", "list"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ST001") && err.contains("postgres://trygg:***@127.0.0.1:9/trygg"),
        "{err}"
    );
    assert!(!err.contains("hemligt"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trygg"))
        .args(["--database-url", "mysql://x", "admin", "tenant", "list"])
        .output()
        .await
        .unwrap();
    assert!(
        stderr(&out).contains("CF001 invalid value for database_url"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn help_and_example_config_show_every_setting() {
    let run = |args: &'static [&'static str]| async move {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trygg"))
            .args(args)
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        stdout(&out)
    };
    let help = run(&["serve", "--help"]).await;
    let example = run(&["config", "example"]).await;
    for name in trygg::config::GlobalArgs::NAMES
        .iter()
        .chain(trygg::config::ServeArgs::NAMES)
    {
        let flag = format!("--{}", name.replace('_', "-"));
        assert!(help.contains(&flag), "serve --help lacks {flag}");
        assert!(
            example.contains(&format!("#{name} = ")),
            "example lacks {name}"
        );
    }
    assert!(help.contains("TRYGG_DATA_DIR") && help.contains("TRYGG_LISTEN"));
}

#[tokio::test]
async fn serve_with_demo_data_answers_and_stops_gracefully() {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = db.dir.path().join("trygg.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nshutdown_grace_secs = 5\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trygg"))
        .args(["--config", &config.display().to_string()])
        .args([
            "serve",
            "--demo",
            "--data-dir",
            &db.data_dir().display().to_string(),
        ])
        .env("TRYGG_LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = Vec::new();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push(line.clone());
            if let Some(rest) = line.strip_prefix("Trygg is running at ") {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("server exited: {log:?}");
    })
    .await
    .expect("server did not start");
    let client = reqwest::Client::new();
    let ready = client.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // Structured JSON logs with the request id.
    let id = ready.headers()["x-request-id"].to_str().unwrap().to_owned();

    // The demo municipality is there (and seeding twice is harmless).
    let store = db.open(&clock()).await.unwrap();
    let t = store.find_tenant(trygg::demo::ORG_NUMBER).await.unwrap();
    let counts = store.counts(t.id).await.unwrap();
    assert_eq!((counts.units, counts.staff, counts.persons), (6, 20, 50));
    assert!(
        counts.relatives > 20 && counts.care_relationships > 100,
        "{counts:?}"
    );
    trygg::demo::seed(&store, "trygg").await.unwrap();
    assert_eq!(store.counts(t.id).await.unwrap(), counts);
    store.close().await;

    let pid = child.id().unwrap().to_string();
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit on SIGTERM: {status:?}");
    while let Ok(Some(line)) = lines.next_line().await {
        log.push(line);
    }
    let joined = log.join("\n");
    assert!(
        joined.contains("\"request_id\":\"") && joined.contains(&id),
        "{joined}"
    );
    assert!(joined.contains("server stopped"), "{joined}");
    assert!(client.get(format!("{url}/healthz")).send().await.is_err());
}
