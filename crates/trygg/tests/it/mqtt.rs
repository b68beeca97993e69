//! Sensors over MQTT with a real broker: each test starts its own Mosquitto
//! with the configuration, password and ACL files that `trygg admin mqtt`
//! prints (devices over TLS on a free port, with a certificate from `trygg
//! admin dev-cert`; the ingest over loopback on another; no anonymous
//! access), a Trygg server whose ingest reads from it, and publishes with
//! `mosquitto_pub` over TLS as the sensors.
//!
//! Nothing waits for a time to pass: each check polls the store or the
//! ingest's counts until they say so, within a bound.

use crate::alarms::provisioned_with_password;
use crate::kit::*;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use tokio::io::AsyncWriteExt as _;
use trygg::config::ServeArgs;
use trygg_sensors::IngestStats;
use trygg_store::{Device, NewDevice, Store};

const INGEST_USER: &str = "trygg-ingest";
const INGEST_PASSWORD: &str = "ingest-password-1";
const A_PASSWORD: &str = "sensor-a-password";
const B_PASSWORD: &str = "sensor-b-password";
/// In Mosquitto's password file but not in Trygg's registry.
const C_PASSWORD: &str = "sensor-c-password";

/// The `trygg` binary with `args` and `stdin`; the admin mqtt commands need
/// no database.
async fn trygg_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trygg"))
        .args(args)
        .env_remove("TRYGG_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A Mosquitto of the test's own, stopped when dropped.
struct Broker {
    _child: tokio::process::Child,
    /// Where devices connect, over TLS.
    port: u16,
    /// Where Trygg's ingest connects, over loopback.
    ingest_port: u16,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Broker {
    /// Starts Mosquitto for the ingest user and `devices` (user, password),
    /// with the files `trygg admin mqtt password | acl` print.
    async fn start(devices: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut passwords = String::new();
        for (user, password) in [(INGEST_USER, INGEST_PASSWORD)].iter().chain(devices) {
            let out = trygg_with_stdin(
                &["admin", "mqtt", "password", "--user", user],
                &format!("{password}\n"),
            )
            .await;
            assert!(out.status.success(), "{}", stderr(&out));
            passwords.push_str(&stdout(&out));
        }
        let passwd = dir.path().join("passwd");
        write_private(&passwd, &passwords);
        let out =
            trygg_with_stdin(&["admin", "mqtt", "acl", "--ingest-user", INGEST_USER], "").await;
        assert!(out.status.success(), "{}", stderr(&out));
        let acl = dir.path().join("acl");
        write_private(&acl, &stdout(&out));
        let (port, ingest_port) = (free_port(), free_port());
        // The broker's certificate, from a CA of the test's own.
        let tls = dir.path().join("tls");
        let out = trygg_with_stdin(
            &[
                "admin",
                "dev-cert",
                "--out",
                &tls.display().to_string(),
                "--host",
                "127.0.0.1",
            ],
            "",
        )
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        // Mosquitto's configuration as `trygg admin mqtt config` makes it,
        // with lines of the test's own after it.
        let sessions = dir.path().join("sessions");
        std::fs::create_dir(&sessions).unwrap();
        let path = |p: &Path| p.display().to_string();
        let out = trygg_with_stdin(
            &[
                "admin",
                "mqtt",
                "config",
                "--device-address",
                "127.0.0.1",
                "--device-port",
                &port.to_string(),
                "--ingest-port",
                &ingest_port.to_string(),
                "--cert",
                &path(&tls.join("cert.pem")),
                "--key",
                &path(&tls.join("key.pem")),
                "--password-file",
                &path(&passwd),
                "--acl-file",
                &path(&acl),
                "--persistence-dir",
                &path(&sessions),
            ],
            "",
        )
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        let log = dir.path().join("mosquitto.log");
        let conf = dir.path().join("mosquitto.conf");
        // `user root`: when the tests run as root, Mosquitto keeps root
        // (instead of switching to `mosquitto`, who cannot read the files).
        std::fs::write(
            &conf,
            format!(
                "{}\nuser root\nlog_dest file {}\nlog_type all\n",
                stdout(&out),
                log.display()
            ),
        )
        .unwrap();
        let child = tokio::process::Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto runs (scripts/test installs it)");
        let broker = Self {
            _child: child,
            port,
            ingest_port,
            log,
            dir,
        };
        for port in [port, ingest_port] {
            eventually("Mosquitto listens", || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            })
            .await;
        }
        broker
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.ingest_port)
    }

    /// Serve settings whose ingest reads from this broker.
    fn serve_args(&self) -> ServeArgs {
        let file = self.dir.path().join("ingest.pw");
        write_private(&file, &format!("{INGEST_PASSWORD}\n"));
        ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            mqtt_url: Some(self.url()),
            mqtt_user: Some(INGEST_USER.into()),
            mqtt_password_file: Some(file.display().to_string()),
            ..Default::default()
        }
    }

    /// Arguments that reach the device listener over TLS, trusting the
    /// test's CA.
    fn device_args(&self) -> Vec<String> {
        let ca = self.dir.path().join("tls").join("ca.pem");
        [
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "--cafile",
            &ca.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// `mosquitto_pub` as `user` (MQTT 5, QoS 1), with client id `id`,
    /// over TLS.
    async fn publish(
        &self,
        id: &str,
        user: &str,
        password: &str,
        topic: &str,
        payload: &str,
    ) -> Output {
        tokio::process::Command::new("mosquitto_pub")
            .args(self.device_args())
            .args(["-V", "mqttv5", "-q", "1", "-i", id])
            .args(["-u", user, "-P", password, "-t", topic, "-m", payload])
            .output()
            .await
            .expect("mosquitto_pub runs (scripts/test installs mosquitto-clients)")
    }

    /// Publishes on the device's own topic and expects it taken.
    async fn send(&self, user: &str, password: &str, payload: &str) {
        let out = self
            .publish(
                &format!("pub-{user}"),
                user,
                password,
                &trygg_sensors::topic(user),
                payload,
            )
            .await;
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            stderr(&out)
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Polls `check` until it holds, for at most 30 seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not within 30 s: {what}");
}

fn stats(app: &TestApp) -> IngestStats {
    app.server.sensors().expect("the ingest runs").stats()
}

async fn subscribed(app: &TestApp) {
    eventually("the ingest is subscribed", || async {
        stats(app).subscribed
    })
    .await;
}

async fn counts(store: &Store, device: &Device) -> (i64, i64) {
    store.alarm_counts(device.id).await.unwrap()
}

async fn wait_counts(store: &Store, device: &Device, want: (i64, i64)) {
    eventually(
        &format!("{} has alarms {want:?}", device.sip_user),
        || async { counts(store, device).await == want },
    )
    .await;
}

/// A second device of the same person (another sensor in the home).
async fn another_device(
    store: &Store,
    first: &Device,
    user: &str,
    cid: &str,
    password: &str,
) -> Device {
    let secrets = trygg_alarm::device_secrets(user, "trygg", password);
    let mut tx = store.begin().await.unwrap();
    let device = tx
        .add_device(&NewDevice {
            tenant: first.tenant,
            unit: first.unit,
            person: first.person,
            sip_user: user,
            cid,
            device_type: 12,
            heartbeat: time::Duration::minutes(60),
            secrets: &secrets,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    device
}

on_both_backends! {
    async fn a_sensor_event_becomes_one_alarm_and_its_repeat_is_the_same_alarm(backend) {
        let broker = Broker::start(&[("sensor-a", A_PASSWORD)]).await;
        let app = TestApp::spawn_configured(backend, clock(), broker.serve_args(), Vec::new()).await;
        let a = provisioned_with_password(&app.store, "sensor-a", "4600001", A_PASSWORD).await;
        subscribed(&app).await;

        broker.send("sensor-a", A_PASSWORD, r#"{"ref":"F1","event":"fall","at":"2026-06-01T09:59:58+02:00"}"#).await;
        wait_counts(&app.store, &a, (1, 0)).await;
        // The same ref again (a sensor that did not see its PUBACK sends
        // again): the same alarm, counted as a repeat.
        broker.send("sensor-a", A_PASSWORD, r#"{"ref":"F1","event":"fall"}"#).await;
        wait_counts(&app.store, &a, (1, 1)).await;
        // Another event is another alarm, of its own kind.
        broker.send("sensor-a", A_PASSWORD, r#"{"ref":"P2","event":"pill_taken"}"#).await;
        wait_counts(&app.store, &a, (2, 1)).await;
        // A heartbeat is heard, not stored.
        broker.send("sensor-a", A_PASSWORD, r#"{"ref":"H3","event":"heartbeat"}"#).await;
        eventually("the heartbeat is handled", || async { stats(&app).heartbeats == 1 }).await;
        assert_eq!(counts(&app.store, &a).await, (2, 1));
        let s = stats(&app);
        assert_eq!((s.delivered, s.recorded, s.repeats, s.refused, s.dropped), (4, 3, 1, 0, 0));
        // The event is stored sealed: its text is not in the database.
        let bytes = app.db.raw_bytes().await;
        assert_eq!(occurrences(&bytes, &app.db.as_stored(br#""event":"pill_taken""#)), 0);
        app.server.shutdown().await.unwrap();
    }

    async fn a_device_publishes_only_on_its_own_topic_and_only_with_its_password(backend) {
        let broker = Broker::start(&[("sensor-a", A_PASSWORD), ("sensor-b", B_PASSWORD)]).await;
        let app = TestApp::spawn_configured(backend, clock(), broker.serve_args(), Vec::new()).await;
        let a = provisioned_with_password(&app.store, "sensor-a", "4600001", A_PASSWORD).await;
        let b = another_device(&app.store, &a, "sensor-b", "4600002", B_PASSWORD).await;
        subscribed(&app).await;

        // Devices speak TLS or nothing: the same publish in plain MQTT on
        // the device listener never reaches the broker's MQTT layer.
        let plain = tokio::process::Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-V", "mqttv5", "-q", "1"])
            .args(["-i", "pub-plain", "-u", "sensor-b", "-P", B_PASSWORD])
            .args(["-t", &trygg_sensors::topic("sensor-b"), "-m", r#"{"ref":"P0","event":"fall"}"#])
            .output()
            .await
            .unwrap();
        assert!(!plain.status.success(), "plain MQTT was taken on the TLS listener");

        // A on B's topic: Mosquitto refuses it (MQTT 5 tells the publisher).
        let out = broker
            .publish("pub-a-cross", "sensor-a", A_PASSWORD, &trygg_sensors::topic("sensor-b"), r#"{"ref":"X1","event":"fall"}"#)
            .await;
        assert!(stderr(&out).contains("Not authorized"), "{}", stderr(&out));
        eventually("Mosquitto logs the refusal", || async {
            broker.log().contains("Denied PUBLISH from pub-a-cross")
        })
        .await;
        // A wrong password, and a user Mosquitto does not know: no connection.
        for (user, password) in [("sensor-a", "wrong-password-1"), ("sensor-x", A_PASSWORD)] {
            let out = broker
                .publish("pub-bad", user, password, &trygg_sensors::topic(user), r#"{"ref":"X2","event":"fall"}"#)
                .await;
            assert!(!out.status.success(), "{user}");
            assert!(stderr(&out).contains("Connection error: Not authorized"), "{}", stderr(&out));
        }
        // The ingest user cannot publish either (it may only read).
        let out = broker
            .publish("pub-ingest", INGEST_USER, INGEST_PASSWORD, &trygg_sensors::topic("sensor-b"), r#"{"ref":"X3","event":"fall"}"#)
            .await;
        assert!(stderr(&out).contains("Not authorized"), "{}", stderr(&out));
        // A device may subscribe (Mosquitto 2.0 grants it) but reads
        // nothing of others' events.
        let mut spy = tokio::process::Command::new("mosquitto_sub")
            .args(broker.device_args())
            .args(["-V", "mqttv5", "-i", "sub-a"])
            .args(["-u", "sensor-a", "-P", A_PASSWORD, "-t", trygg_sensors::TOPIC_FILTER, "-q", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        eventually("the device's subscription is in place", || async {
            broker.log().contains("Received SUBSCRIBE from sub-a")
        })
        .await;

        // B's own event arrives; what A sent on B's topic never did.
        broker.send("sensor-b", B_PASSWORD, r#"{"ref":"B1","event":"bed_exit"}"#).await;
        wait_counts(&app.store, &b, (1, 0)).await;
        assert_eq!(counts(&app.store, &a).await, (0, 0));
        assert_eq!(stats(&app).delivered, 1);
        spy.start_kill().unwrap();
        let spied = spy.wait_with_output().await.unwrap();
        assert!(spied.stdout.is_empty(), "{}", stdout(&spied));
        // The plain client was never an MQTT client of the broker.
        let log = broker.log();
        assert!(log.contains("as sub-a ") && !log.contains("as pub-plain "), "{log}");
        app.server.shutdown().await.unwrap();
    }

    async fn a_malformed_payload_is_dropped_without_harming_the_next_message(backend) {
        let broker = Broker::start(&[("sensor-a", A_PASSWORD), ("sensor-c", C_PASSWORD)]).await;
        let app = TestApp::spawn_configured(backend, clock(), broker.serve_args(), Vec::new()).await;
        let a = provisioned_with_password(&app.store, "sensor-a", "4600001", A_PASSWORD).await;
        subscribed(&app).await;

        broker.send("sensor-a", A_PASSWORD, "not json at all").await;
        broker.send("sensor-a", A_PASSWORD, r#"{"ref":"A1","event":"fall","extra":"Greta"}"#).await;
        broker.send("sensor-a", A_PASSWORD, r#"{"ref":"A1","event":"smoke"}"#).await;
        // Over the 1 KiB limit, within what the broker sends.
        let long = format!(r#"{{"ref":"A1","event":"fall","at":"{}"}}"#, "x".repeat(2000));
        broker.send("sensor-a", A_PASSWORD, &long).await;
        // Over the ingest's packet limit: the broker drops it for the ingest
        // instead of breaking its connection at every redelivery.
        let huge = format!(r#"{{"ref":"A1","event":"fall","at":"{}"}}"#, "x".repeat(8000));
        broker.send("sensor-a", A_PASSWORD, &huge).await;
        // In Mosquitto's password file but not in Trygg's registry.
        broker.send("sensor-c", C_PASSWORD, r#"{"ref":"C1","event":"fall"}"#).await;
        // The next good message is recorded.
        broker.send("sensor-a", A_PASSWORD, r#"{"ref":"A2","event":"door_open"}"#).await;
        wait_counts(&app.store, &a, (1, 0)).await;
        eventually("every message is handled", || async {
            let s = stats(&app);
            s.refused == 4 && s.dropped == 1
        })
        .await;
        let s = stats(&app);
        assert_eq!((s.delivered, s.recorded, s.connection_errors), (6, 1, 0));
        assert!(s.connected && s.subscribed);
        app.server.shutdown().await.unwrap();
    }

    async fn events_sent_while_trygg_is_down_are_recorded_when_it_is_back(backend) {
        let broker = Broker::start(&[("sensor-a", A_PASSWORD)]).await;
        let args = broker.serve_args();
        let app = TestApp::spawn_configured(backend, clock(), args.clone(), Vec::new()).await;
        let a = provisioned_with_password(&app.store, "sensor-a", "4600001", A_PASSWORD).await;
        subscribed(&app).await;
        let TestApp { server, store, db, bankid, .. } = app;
        server.shutdown().await.unwrap();

        // Mosquitto keeps the ingest's session and queues for it.
        broker.send("sensor-a", A_PASSWORD, r#"{"ref":"D1","event":"pill_not_taken"}"#).await;
        let settings = args.resolve(&trygg::config::FileValues::default()).unwrap();
        let server = trygg::server::Server::start(store.clone(), &settings, "trygg", Default::default())
            .await
            .unwrap();
        wait_counts(&store, &a, (1, 0)).await;
        server.shutdown().await.unwrap();
        drop((db, bankid));
    }
}

/// The commit fails (the database is locked past its busy timeout) and
/// Trygg stops before it succeeds: nothing was acknowledged, so Mosquitto
/// delivers the message again at the next start, and it is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_not_committed_before_a_stop_is_delivered_again_and_recorded_once() {
    let broker = Broker::start(&[("sensor-a", A_PASSWORD)]).await;
    let args = broker.serve_args();
    let app = TestApp::spawn_configured(Backend::Sqlite, clock(), args.clone(), Vec::new()).await;
    let a = provisioned_with_password(&app.store, "sensor-a", "4600001", A_PASSWORD).await;
    subscribed(&app).await;

    let raw = app.db.raw().await;
    let mut stall = raw.begin().await.unwrap();
    sqlx::query("UPDATE devices SET heartbeat_s = heartbeat_s")
        .execute(&mut *stall)
        .await
        .unwrap();
    broker
        .send("sensor-a", A_PASSWORD, r#"{"ref":"S1","event":"fall"}"#)
        .await;
    eventually("the commit fails", || async {
        stats(&app).storage_errors >= 1
    })
    .await;
    let TestApp {
        server,
        store,
        db,
        bankid,
        ..
    } = app;
    server.shutdown().await.unwrap();
    stall.rollback().await.unwrap();
    assert_eq!(counts(&store, &a).await, (0, 0));

    let settings = args.resolve(&trygg::config::FileValues::default()).unwrap();
    let server =
        trygg::server::Server::start(store.clone(), &settings, "trygg", Default::default())
            .await
            .unwrap();
    wait_counts(&store, &a, (1, 0)).await;
    assert_eq!(server.sensors().unwrap().stats().recorded, 1);
    server.shutdown().await.unwrap();
    drop((db, bankid, raw));
}
