//! The device simulator (`trygg_alarm::simulator`) against the real
//! receiver, and the **kill -9 loop**: "0 acknowledged alarms lost, 0
//! duplicates" shown against the real `trygg serve`.
//!
//! The loop provisions devices in a fresh database, starts `trygg serve`
//! as a child process, and lets simulated devices send alarms with unique
//! refs without pause, each repeated until it is answered `snu=0`. The
//! child is killed with SIGKILL at random moments (during its start, or a
//! random time after its receiver listens) and started again on the same
//! SIP port, `TRYGG_KILL_CYCLES` times (default 200; `scripts/kill-loop`
//! runs more). At the end every `(device, ref)` that was acknowledged must
//! be stored exactly once, and nothing else may be stored.

use crate::alarms::provisioned_with_password;
use crate::kit::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::time::Instant;
use trygg_alarm::simulator::{Persistence, SimConfig, SimDevice, SimError, Simulator};
use trygg_scaip::StatusNumber;
use trygg_store::{Device, NewDevice, Store};

/// `n` devices of one person each, in one tenant and alarm unit, with
/// passwords in the realm `trygg`: `larm-0001`…, cid `46000001`….
async fn fleet(store: &Store, n: u16) -> Vec<(Device, SimDevice)> {
    let t = tenant(store, "212000-0142").await;
    let mut tx = store.begin().await.unwrap();
    let unit = tx
        .add_unit(t.id, None, "Larmcentralen", None)
        .await
        .unwrap();
    let born = time::Date::from_calendar_date(1938, time::Month::April, 12).unwrap();
    let mut out = Vec::new();
    for i in 1..=n {
        let person = tx
            .add_person(t.id, &person("Greta", "Lind", pnr(born, i)), false)
            .await
            .unwrap();
        let sim = SimDevice::new(
            &format!("larm-{i:04}"),
            &format!("hemligt-losen-{i:04}"),
            &format!("4600{i:04}"),
            "trygg",
        );
        let device = tx
            .add_device(&NewDevice {
                tenant: t.id,
                unit: unit.id,
                person,
                sip_user: &sim.user,
                cid: &sim.cid,
                device_type: 5,
                heartbeat: time::Duration::minutes(60),
                secrets: &trygg_alarm::device_secrets(&sim.user, &sim.realm, &sim.password),
            })
            .await
            .unwrap();
        out.push((device, sim));
    }
    tx.commit().await.unwrap();
    out
}

fn device_one() -> SimDevice {
    SimDevice::new("larm-0001", "hemligt-losen-1", "4600001", "trygg")
}

/// Holds the alarms table locked in a transaction of its own, so that a
/// commit of an alarm waits (holding its commit slot) until `release`.
struct TableLock(sqlx::pool::PoolConnection<sqlx::Any>);

impl TableLock {
    async fn take(db: &TestDb) -> Self {
        let pool = db.raw().await;
        let mut conn = pool.acquire().await.unwrap();
        let sql = match db.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN; LOCK TABLE alarms IN EXCLUSIVE MODE",
        };
        sqlx::raw_sql(sql).execute(&mut *conn).await.unwrap();
        Self(conn)
    }

    async fn release(mut self) {
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut *self.0)
            .await
            .unwrap();
    }
}

on_both_backends! {
    async fn a_disabled_device_is_refused_within_a_second_and_an_enabled_one_accepted(backend) {
        // The receiver remembers the devices it authenticated; disabling one
        // (here as `trygg admin device disable` does, another process could)
        // still takes effect within a second, and so does enabling it.
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let sim = Simulator::bind(app.server.alarms().unwrap().udp_addr(), SimConfig::default()).await.unwrap();
        let d = device_one();
        sim.register(&d).await.unwrap();
        let beat = || async { sim.send(&d, &d.heartbeat(sim.fresh_ref().unwrap()).unwrap()).await };
        assert_eq!(beat().await.unwrap().snu, StatusNumber::Ok);
        let set = |disabled: bool| {
            let store = app.store.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                let d = tx.set_device_disabled(device.tenant, "larm-0001", disabled).await.unwrap();
                tx.commit().await.unwrap();
                assert_eq!(d.disabled, disabled);
            }
        };
        set(true).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(matches!(beat().await, Err(SimError::Forbidden)), "a disabled device is refused");
        let mut tx = app.store.begin().await.unwrap();
        assert!(tx.set_device_disabled(device.tenant, "larm-9999", true).await.is_err(), "no such device");
        drop(tx);
        set(false).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // The refusal cost the device its nonce; it authenticates again.
        sim.forget_nonce(&d);
        assert_eq!(beat().await.unwrap().snu, StatusNumber::Ok, "enabled again");
    }

    async fn the_simulator_registers_and_its_alarm_is_acknowledged_once(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let sim = Simulator::bind(app.server.alarms().unwrap().udp_addr(), SimConfig::default()).await.unwrap();
        let d = device_one();
        assert_eq!(sim.register(&d).await.unwrap().expires, 3600);
        assert_eq!(sim.stats().challenges, 1);
        let mrq = d.alarm("A17".parse().unwrap()).unwrap();
        let first = sim.send(&d, &mrq).await.unwrap();
        assert_eq!(first.snu, StatusNumber::Ok);
        assert_eq!(first.response.reference.as_ref().map(|r| r.as_str()), Some("A17"));
        // The REGISTER's nonce is used again with the next count: no new challenge.
        assert_eq!(sim.stats().challenges, 1);
        // A repeat, as a device sends when it missed the answer: the same alarm.
        let again = sim.send_until_acknowledged(&d, &mrq, &Persistence::default()).await.unwrap();
        assert_eq!((again.attempts, again.busy, again.failures), (1, 0, 0));
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (1, 1));
        assert_eq!(app.store.alarm_refs(device.id).await.unwrap(), vec![("A17".to_owned(), "alarm".to_owned(), 1)]);
        // A heartbeat is answered, not stored.
        let beat = sim.send(&d, &d.heartbeat(sim.fresh_ref().unwrap()).unwrap()).await.unwrap();
        assert_eq!(beat.snu, StatusNumber::Ok);
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (1, 1));
        // Past the nonce's lifetime the receiver answers 401 stale=true, and
        // the device answers the fresh challenge at once.
        app.clock.advance(time::Duration::seconds(i64::try_from(trygg_alarm::NONCE_LIFETIME).unwrap() + 1));
        let late = sim.send(&d, &d.alarm("A18".parse().unwrap()).unwrap()).await.unwrap();
        assert_eq!(late.snu, StatusNumber::Ok);
        assert_eq!(sim.stats().challenges, 2);
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (2, 1));
        // Another device's cid is refused with snu=3, and not repeated.
        let thief = SimDevice { cid: "4699999".into(), ..d.clone() };
        let err = sim
            .send_until_acknowledged(&thief, &thief.alarm("X1".parse().unwrap()).unwrap(), &Persistence::default())
            .await
            .unwrap_err();
        assert!(matches!(err, SimError::Answered { snu: StatusNumber::WrongContent }), "{err}");
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (2, 1));
        let stats = sim.stats();
        assert_eq!(stats.unreadable, 0, "{stats:?}");
        assert!(app.server.alarms().unwrap().last_seen(device.id).is_some());
    }

    async fn the_simulator_reports_refused_credentials_as_typed_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let sim = Simulator::bind(app.server.alarms().unwrap().udp_addr(), SimConfig::default()).await.unwrap();
        let wrong = SimDevice { password: "fel-losen".into(), ..device_one() };
        let err = sim.register(&wrong).await.unwrap_err();
        assert!(matches!(err, SimError::Forbidden), "{err}");
        // Not repeated: a wrong password stays wrong.
        let alarm = wrong.alarm("Z1".parse().unwrap()).unwrap();
        let err = sim.send_until_acknowledged(&wrong, &alarm, &Persistence::default()).await.unwrap_err();
        assert!(matches!(err, SimError::Forbidden) && !err.is_transient(), "{err}");
        // An unknown device gets the same answer.
        let unknown = SimDevice { user: "larm-9999".into(), ..device_one() };
        assert!(matches!(sim.register(&unknown).await, Err(SimError::Forbidden)));
        // A device provisioned for another realm does not answer this one's challenge.
        let elsewhere = SimDevice { realm: "annan".into(), ..device_one() };
        let err = sim.register(&elsewhere).await.unwrap_err();
        assert!(matches!(err, SimError::WrongRealm { .. }), "{err}");
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (0, 0));
        assert!(app.server.alarms().unwrap().last_seen(device.id).is_none());
    }

    async fn busy_answers_are_repeated_until_acknowledged(backend) {
        let app = TestApp::spawn(backend).await;
        let fleet = fleet(&app.store, 2).await;
        // A receiver of its own that commits one alarm at a time.
        let receiver = trygg_alarm::Receiver::start(
            app.store.clone(),
            Arc::new(app.clock.clone()),
            trygg_alarm::Config {
                udp: "127.0.0.1:0".parse().unwrap(),
                tls: None,
                realm: "trygg".into(),
                max_in_flight: 1,
                prefer_sha256: false,
                heartbeat_grace: time::Duration::minutes(2),
                escalate_after: time::Duration::minutes(2),
            },
        )
        .await
        .unwrap();
        let config = SimConfig { answer_timeout: Duration::from_secs(20), ..SimConfig::default() };
        let sim = Arc::new(Simulator::bind(receiver.udp_addr(), config).await.unwrap());
        let (a, b) = (fleet[0].1.clone(), fleet[1].1.clone());
        sim.register(&a).await.unwrap();
        sim.register(&b).await.unwrap();
        // With the table locked, one alarm's commit waits in the store,
        // holding the only commit slot; the other is answered busy at once.
        let lock = TableLock::take(&app.db).await;
        let (a1, b1) = (a.alarm("A1".parse().unwrap()).unwrap(), b.alarm("B1".parse().unwrap()).unwrap());
        let mut first = tokio::spawn({
            let (sim, a, a1) = (sim.clone(), a.clone(), a1.clone());
            async move { sim.send(&a, &a1).await }
        });
        let mut second = tokio::spawn({
            let (sim, b, b1) = (sim.clone(), b.clone(), b1.clone());
            async move { sim.send(&b, &b1).await }
        });
        let (first_done, busy) = tokio::select! {
            r = &mut first => (true, r),
            r = &mut second => (false, r),
        };
        assert_eq!(busy.unwrap().unwrap().snu, StatusNumber::Busy);
        // The one still waiting, and the busy one to send again.
        let (waiting, device, request) = if first_done { (second, a.clone(), a1) } else { (first, b.clone(), b1) };
        // Repeating, as a device does, the busy one is accepted once the slot is free.
        let retry = tokio::spawn({
            let sim = sim.clone();
            let persistence = Persistence {
                first_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_millis(300),
                max_attempts: 100,
            };
            async move { sim.send_until_acknowledged(&device, &request, &persistence).await }
        });
        lock.release().await;
        assert_eq!(waiting.await.unwrap().unwrap().snu, StatusNumber::Ok);
        let retry = retry.await.unwrap().unwrap();
        assert!(retry.attempts >= 1 && retry.attempts == retry.busy + 1, "{retry:?}");
        // The busy answers stored nothing: one alarm each.
        assert_eq!(app.store.alarm_counts(fleet[0].0.id).await.unwrap(), (1, 0));
        assert_eq!(app.store.alarm_counts(fleet[1].0.id).await.unwrap(), (1, 0));
        receiver.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trygg_simulate_alarms_sends_and_summarises() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let fleet = fleet(&app.store, 3).await;
    let csv = app.db.dir.path().join("devices.csv");
    let mut lines = String::from("# user;password;cid\n");
    for (_, d) in &fleet {
        lines.push_str(&format!("{};{};{}\n", d.user, d.password, d.cid));
    }
    std::fs::write(&csv, lines).unwrap();
    let target = app.server.alarms().unwrap().udp_addr().to_string();
    let out = trygg(
        &app.db,
        &[
            "simulate",
            "alarms",
            "--target",
            &target,
            "--credentials",
            csv.to_str().unwrap(),
            "--devices",
            "2",
            "--alarms-per-second",
            "10",
            "--duration",
            "1",
            "--heartbeats",
            "--heartbeat-interval",
            "1",
        ],
    )
    .await;
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("registered    2 of 2"), "{text}");
    assert!(text.contains("failed        0"), "{text}");
    assert!(
        text.contains("heartbeats    2 sent, 2 answered snu=0"),
        "{text}"
    );
    // Round robin over the two devices (how many fit in the second depends
    // on the machine: only that every one sent was acknowledged is asserted).
    let (a, b) = (
        app.store.alarm_counts(fleet[0].0.id).await.unwrap(),
        app.store.alarm_counts(fleet[1].0.id).await.unwrap(),
    );
    assert!(
        text.contains(&format!("acknowledged  {} (snu=0)", a.0 + b.0)),
        "{text}"
    );
    assert!(a.0 + b.0 >= 2 && a.0.abs_diff(b.0) <= 1, "{a:?} {b:?}");
    assert_eq!(app.store.alarm_counts(fleet[2].0.id).await.unwrap(), (0, 0));
    // Wrong credentials: a failure, said so.
    std::fs::write(&csv, "larm-0001;fel;46000001\n").unwrap();
    let out = trygg(
        &app.db,
        &[
            "simulate",
            "alarms",
            "--target",
            &target,
            "--credentials",
            csv.to_str().unwrap(),
            "--duration",
            "1",
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no device could register"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------
// The kill -9 loop

/// Devices sending at once.
const DEVICES: u16 = 8;

/// The longest a child lives after alarms flow through it, in milliseconds.
const MAX_ALIVE_MS: u64 = 200;

/// One in this many kills lands while the child is still starting.
const EARLY_KILL_ONE_IN: u64 = 8;

/// A `trygg serve` child process and the task that copies its log.
struct Serve {
    child: tokio::process::Child,
    spawned: Instant,
    ready: Option<tokio::sync::oneshot::Receiver<()>>,
    log: tokio::task::JoinHandle<()>,
}

impl Serve {
    fn spawn(db: &TestDb, sip_port: u16, log_path: &Path) -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trygg"))
            .args(db.cli_args())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--sip-listen", &format!("127.0.0.1:{sip_port}")])
            .env_remove("TRYGG_MASTER_KEY")
            .env_remove("TRYGG_CONFIG")
            .env_remove("TRYGG_DATABASE_URL")
            .env("TRYGG_LOG_FORMAT", "json")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let spawned = Instant::now();
        let stderr = child.stderr.take().unwrap();
        let (tx, ready) = tokio::sync::oneshot::channel();
        let log_path = log_path.to_owned();
        let log = tokio::spawn(async move {
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .await
                .unwrap();
            let mut tx = Some(tx);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("SIP receiver listening")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
                let _ = file.write_all(line.as_bytes()).await;
                let _ = file.write_all(b"\n").await;
            }
            let _ = file.write_all(b"---- process ended ----\n").await;
        });
        Self {
            child,
            spawned,
            ready: Some(ready),
            log,
        }
    }

    /// Waits until the receiver listens; how long the start took. `Err`
    /// when the process ended first.
    async fn ready(&mut self) -> Result<Duration, ()> {
        let Some(ready) = self.ready.take() else {
            return Ok(Duration::ZERO);
        };
        match tokio::time::timeout(Duration::from_secs(60), ready).await {
            Ok(Ok(())) => Ok(self.spawned.elapsed()),
            Ok(Err(_)) => Err(()),
            Err(_) => panic!("no \"SIP receiver listening\" from trygg serve within 60 s"),
        }
    }

    /// SIGKILL, and a check that the signal is what ended it (it did not
    /// exit on its own before).
    async fn kill9(mut self, log_path: &Path) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "trygg serve exited on its own ({status}):\n{}",
                tail(log_path)
            );
        }
        self.child.start_kill().unwrap();
        let status = self.child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(9), "{status}\n{}", tail(log_path));
        let _ = self.log.await;
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Waits until the child's receiver listens, and how long its start took.
/// A port for the child's SIP receiver, kept across its restarts: free for
/// both UDP and TCP, and below Linux's ephemeral range (32768 and up), so
/// that no outgoing connection of another test can take it meanwhile.
fn sip_port() -> u16 {
    loop {
        let port = 20_000 + u16::try_from(trygg_crypto::random_below(12_000).unwrap()).unwrap();
        let free = std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            return port;
        }
    }
}

/// Starts it again if its SIP port was still taken (the kernel frees it
/// when the killed process is gone, so this is rare).
async fn ready(serve: &mut Serve, db: &TestDb, port: u16, log_path: &Path) -> Duration {
    for _ in 0..20 {
        match serve.ready().await {
            Ok(took) => return took,
            Err(()) => {
                let _ = serve.child.wait().await;
                let log = tail(log_path);
                assert!(log.contains("SP001"), "trygg serve failed to start:\n{log}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                *serve = Serve::spawn(db, port, log_path);
            }
        }
    }
    panic!("the SIP port stayed taken:\n{}", tail(log_path));
}

/// What one device did.
#[derive(Debug, Default)]
struct DeviceLog {
    sent: Vec<String>,
    acknowledged: Vec<String>,
    attempts: u64,
    busy: u64,
    failures: u64,
    gave_up: u64,
    latencies: Vec<Duration>,
}

/// A device as the standard has it: each alarm repeated with its ref
/// until answered `snu=0`, whatever happens to the receiver, then the
/// next one, until `stop`.
async fn device_loop(
    sim: Arc<Simulator>,
    device: SimDevice,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicU64>,
) -> DeviceLog {
    let persistence = Persistence {
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(250),
        max_attempts: 50,
    };
    let mut log = DeviceLog::default();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let reference = format!("K{n}");
        let mrq = device.alarm(reference.parse().unwrap()).unwrap();
        log.sent.push(reference.clone());
        loop {
            match sim
                .send_until_acknowledged(&device, &mrq, &persistence)
                .await
            {
                Ok(ack) => {
                    log.attempts += u64::from(ack.attempts);
                    log.busy += u64::from(ack.busy);
                    log.failures += u64::from(ack.failures);
                    log.latencies.push(ack.latency);
                    log.acknowledged.push(reference);
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                // The receiver was down through every attempt: the same
                // ref again, as a device does after it reconnects.
                Err(SimError::GaveUp { attempts, .. }) => {
                    log.attempts += u64::from(attempts);
                    log.gave_up += 1;
                }
                Err(e) => panic!("{} {reference}: {e}", device.user),
            }
        }
    }
    log
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn random_ms(below: u64) -> Duration {
    Duration::from_millis(trygg_crypto::random_below(below).unwrap())
}

fn cycles() -> usize {
    std::env::var("TRYGG_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

on_both_backends! {
    async fn kill_loop(backend) {
        let began = Instant::now();
        let cycles = cycles();
        let db = TestDb::new(backend).await;
        let clock = clock();
        let store = db.open(&clock).await.unwrap();
        let fleet = fleet(&store, DEVICES).await;
        let port = sip_port();
        let target = SocketAddr::from(([127, 0, 0, 1], port));
        let log_path: PathBuf = db.dir.path().join("serve.log");

        let mut serve = Serve::spawn(&db, port, &log_path);
        let mut startups = vec![ready(&mut serve, &db, port, &log_path).await];
        let config = SimConfig {
            // Short, so that the devices come back soon after a restart
            // (the receiver answers in milliseconds when it is up); a
            // late answer only makes a repeat, which the receiver absorbs.
            response_timeout: Duration::from_secs(1),
            answer_timeout: Duration::from_secs(1),
            register_expires: 3600,
        };
        let sim = Arc::new(Simulator::bind(target, config).await.unwrap());
        for (_, d) in &fleet {
            sim.register(d).await.unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(AtomicU64::new(0));
        let devices: Vec<_> = fleet
            .iter()
            .map(|(_, d)| tokio::spawn(device_loop(sim.clone(), d.clone(), stop.clone(), acknowledged.clone())))
            .collect();

        let (mut early_kills, mut quiet_cycles) = (0u64, 0u64);
        for _ in 0..cycles {
            if devices.iter().any(|d| d.is_finished()) {
                // A device stopped early: it failed; its panic is below.
                break;
            }
            let before = acknowledged.load(Ordering::Relaxed);
            if trygg_crypto::random_below(EARLY_KILL_ONE_IN).unwrap() == 0 {
                // While it starts: connecting, checking migrations and
                // keys, binding its sockets.
                tokio::time::sleep(random_ms(150)).await;
                early_kills += 1;
            } else {
                startups.push(ready(&mut serve, &db, port, &log_path).await);
                // Once alarms flow through this process (the devices come
                // back on their retransmission timers), a random moment.
                let since = acknowledged.load(Ordering::Relaxed);
                let waited = Instant::now();
                while acknowledged.load(Ordering::Relaxed) == since && waited.elapsed() < Duration::from_secs(5) {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                tokio::time::sleep(random_ms(MAX_ALIVE_MS)).await;
            }
            if acknowledged.load(Ordering::Relaxed) == before {
                quiet_cycles += 1;
            }
            serve.kill9(&log_path).await;
            serve = Serve::spawn(&db, port, &log_path);
        }
        // The last one lives: every device finishes the alarm it is on.
        startups.push(ready(&mut serve, &db, port, &log_path).await);
        let loop_time = began.elapsed();
        stop.store(true, Ordering::Relaxed);
        let mut logs = Vec::new();
        for task in devices {
            logs.push(tokio::time::timeout(Duration::from_secs(120), task).await.expect("a device never got its last alarm acknowledged").unwrap());
        }

        // Every acknowledged (device, ref) is stored exactly once, and
        // nothing was stored that was not sent.
        let (mut lost, mut duplicated, mut unknown, mut unacknowledged) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut stored_total, mut repeats_total, mut repeated_alarms, mut raised) = (0usize, 0i64, 0usize, 0usize);
        for ((device, sim_device), log) in fleet.iter().zip(&logs) {
            let rows = store.alarm_refs(device.id).await.unwrap();
            let mut stored: BTreeMap<&str, usize> = BTreeMap::new();
            for (reference, kind, repeats) in &rows {
                if kind != "alarm" {
                    // Raised by the receiver itself: the devices were
                    // provisioned at the test clock's time, months before
                    // the child's clock, so their heartbeats are overdue.
                    raised += 1;
                    continue;
                }
                *stored.entry(reference.as_str()).or_default() += 1;
                repeats_total += repeats;
                repeated_alarms += usize::from(*repeats > 0);
                stored_total += 1;
            }
            let sent: BTreeSet<&str> = log.sent.iter().map(String::as_str).collect();
            let acked: BTreeSet<&str> = log.acknowledged.iter().map(String::as_str).collect();
            let who = &sim_device.user;
            lost.extend(acked.iter().filter(|r| !stored.contains_key(*r)).map(|r| format!("{who}/{r}")));
            duplicated.extend(stored.iter().filter(|(_, n)| **n > 1).map(|(r, n)| format!("{who}/{r}×{n}")));
            unknown.extend(stored.keys().filter(|r| !sent.contains(*r)).map(|r| format!("{who}/{r}")));
            unacknowledged.extend(sent.iter().filter(|r| !acked.contains(*r)).map(|r| format!("{who}/{r}")));
        }
        let mut latencies: Vec<Duration> = logs.iter().flat_map(|l| l.latencies.iter().copied()).collect();
        latencies.sort();
        startups.sort();
        let sum = |f: fn(&DeviceLog) -> u64| logs.iter().map(f).sum::<u64>();
        let report = format!(
            "kill -9 loop on {backend:?}: {cycles} kills ({early_kills} while starting, {quiet_cycles} cycles without an acknowledgement) in {loop_time:.1?}\n\
             start until the receiver listens: p50 {:?}, max {:?}\n\
             alarms: {} acknowledged, {stored_total} stored, {repeated_alarms} of them repeated ({repeats_total} repeats: the device re-sent after the commit); {raised} technical alarms raised by the receiver\n\
             lost {}, duplicated {}, stored but never sent {}, sent but never acknowledged {}\n\
             sends {} (busy {}, failed {}, given up and resumed {}), latency to snu=0 p50 {:?} p99 {:?} max {:?}\n\
             simulator {:?}\n\
             total {:.1?}",
            percentile(&startups, 0.5),
            startups.last().copied().unwrap_or_default(),
            acknowledged.load(Ordering::Relaxed),
            lost.len(), duplicated.len(), unknown.len(), unacknowledged.len(),
            sum(|l| l.attempts), sum(|l| l.busy), sum(|l| l.failures), sum(|l| l.gave_up),
            percentile(&latencies, 0.5), percentile(&latencies, 0.99), latencies.last().copied().unwrap_or_default(),
            sim.stats(),
            began.elapsed(),
        );
        println!("{report}");
        let clean = lost.is_empty() && duplicated.is_empty() && unknown.is_empty() && unacknowledged.is_empty();
        let kept = std::env::temp_dir().join(format!("trygg-kill-loop-{backend:?}-{}.log", std::process::id()));
        if !clean {
            // The evidence outlives the test's temporary folder.
            std::fs::copy(&log_path, &kept).unwrap();
        }
        assert!(
            clean,
            "{report}\nlost: {lost:?}\nduplicated: {duplicated:?}\nnever sent: {unknown:?}\nnever acknowledged: {unacknowledged:?}\nthe children's log: {}",
            kept.display()
        );
        assert!(stored_total > 0 && quiet_cycles < cycles as u64, "{report}");
        serve.kill9(&log_path).await;
        store.close().await;
    }
}
