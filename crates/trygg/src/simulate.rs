//! `trygg simulate alarms`: simulated safety-alarm devices that register
//! with a receiver and send it alarms at a steady rate, each repeated with
//! its ref until answered `snu=0`, then a summary of what was acknowledged
//! and how fast. For load tests and end-to-end checks of an installation
//! (`trygg serve --demo` and `--demo` here work together); it is a
//! simulator, not a device. The devices are `trygg_alarm::simulator`'s:
//! many devices behind one UDP socket.

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Args, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;
use trygg_alarm::simulator::{
    Acknowledged, Persistence, SimConfig, SimDevice, SimError, Simulator,
};

/// `trygg simulate …`.
#[derive(Debug, Subcommand)]
pub enum SimulateCmd {
    /// Simulated devices send alarms to a receiver; prints what was
    /// acknowledged (snu=0), answered busy or failed, and the latency.
    Alarms(AlarmsArgs),
}

/// `trygg simulate alarms`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("fleet").required(true).args(["credentials", "demo"])))]
pub struct AlarmsArgs {
    /// The receiver's SIP address (UDP).
    #[arg(long, default_value = "127.0.0.1:5060", value_name = "ADDR:PORT")]
    pub target: SocketAddr,
    /// How many of the devices to use (default: all).
    #[arg(long, value_name = "N")]
    pub devices: Option<usize>,
    /// The devices' credentials: one `user;password;cid` per line; lines
    /// starting with `#` are comments. Realm: the global `--sip-realm`.
    #[arg(long, value_name = "FILE.csv")]
    pub credentials: Option<PathBuf>,
    /// The demo installation's devices (larm-01 …, see `trygg serve --demo`).
    #[arg(long)]
    pub demo: bool,
    /// New alarms per second, over all devices (round robin).
    #[arg(long, default_value_t = 1.0, value_name = "R")]
    pub alarms_per_second: f64,
    /// How long to send new alarms, in seconds; those under way then get
    /// up to a minute more to be acknowledged.
    #[arg(long, default_value_t = 10, value_name = "S")]
    pub duration: u64,
    /// Also send every device's heartbeat (mty=PI), every
    /// `--heartbeat-interval` seconds.
    #[arg(long)]
    pub heartbeats: bool,
    /// Seconds between a device's heartbeats.
    #[arg(long, default_value_t = 60, value_name = "S")]
    pub heartbeat_interval: u64,
}

/// How long alarms still under way when sending stops may take.
const DRAIN: Duration = Duration::from_secs(60);

/// Devices registering at once, so a large fleet does not start with a
/// burst the receiver must drop.
const REGISTER_AT_ONCE: usize = 64;

/// Runs a `trygg simulate` command; `realm` is the global `sip_realm`.
pub async fn run(cmd: SimulateCmd, realm: &str) -> anyhow::Result<ExitCode> {
    match cmd {
        SimulateCmd::Alarms(args) => alarms(args, realm).await,
    }
}

/// The demo installation's devices (`crate::demo::device`): persons 1–50
/// except every fifth.
fn demo_devices(realm: &str) -> Vec<SimDevice> {
    (1..=50)
        .filter(|n| n % 5 != 0)
        .map(|n| {
            let (user, cid, password) = crate::demo::device(n);
            SimDevice::new(&user, &password, &cid, realm)
        })
        .collect()
}

/// Reads `user;password;cid` lines (with or without the header
/// `sip_user;password;cid` that `trygg admin device import` prints, so that
/// the output of several imports can be joined).
fn read_credentials(path: &Path, realm: &str) -> anyhow::Result<Vec<SimDevice>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut devices = Vec::new();
    for record in reader.records() {
        let record =
            record.with_context(|| format!("{} is not user;password;cid", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().eq(["sip_user", "password", "cid"]) {
            continue;
        }
        match (record.get(0), record.get(1), record.get(2), record.len()) {
            (Some(user), Some(password), Some(cid), 3)
                if !user.is_empty() && !password.is_empty() =>
            {
                if cid.is_empty() || cid.len() > 32 || !cid.bytes().all(|b| b.is_ascii_digit()) {
                    bail!(
                        "{} line {line}: the cid must be 1 to 32 digits",
                        path.display()
                    );
                }
                devices.push(SimDevice::new(user, password, cid, realm));
            }
            _ => bail!("{} line {line}: expected user;password;cid", path.display()),
        }
    }
    if devices.is_empty() {
        bail!("{} lists no devices", path.display());
    }
    Ok(devices)
}

/// What the alarms came to.
#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    acknowledged: u64,
    busy: u64,
    failed: u64,
    latencies: Vec<Duration>,
    errors: Vec<String>,
}

impl Tally {
    fn record(
        &mut self,
        done: Result<(String, Result<Acknowledged, SimError>), tokio::task::JoinError>,
    ) {
        match done {
            Ok((_, Ok(ack))) => {
                self.acknowledged += 1;
                self.busy += u64::from(ack.busy);
                self.latencies.push(ack.latency);
            }
            Ok((user, Err(e))) => {
                tracing::warn!(%user, error = %e, "simulated alarm not acknowledged");
                self.failed += 1;
                self.note(e.to_string());
            }
            Err(e) => {
                self.failed += 1;
                self.note(e.to_string());
            }
        }
    }

    /// Keeps a few distinct errors for the summary.
    fn note(&mut self, error: String) {
        if self.errors.len() < 5 && !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }
}

/// Heartbeats sent, answered `snu=0`, and not.
#[derive(Debug, Default)]
struct Beats {
    sent: AtomicU64,
    answered: AtomicU64,
    failed: AtomicU64,
}

/// The value at `p` (0–1) of sorted durations, by nearest rank.
fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    let last = sorted.len().checked_sub(1)?;
    // `last` is far below 2^52, so the float holds it exactly.
    let rank = ((last as f64) * p).round() as usize;
    sorted.get(rank.min(last)).copied()
}

fn millis(d: Option<Duration>) -> String {
    d.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0),
    )
}

async fn alarms(args: AlarmsArgs, realm: &str) -> anyhow::Result<ExitCode> {
    if !args.alarms_per_second.is_finite() || args.alarms_per_second <= 0.0 {
        bail!("--alarms-per-second must be a number above 0");
    }
    let period = Duration::try_from_secs_f64(1.0 / args.alarms_per_second)
        .ok()
        .filter(|p| *p >= Duration::from_micros(10))
        .context("--alarms-per-second must be at most 100000")?;
    let mut fleet = match &args.credentials {
        Some(path) => read_credentials(path, realm)?,
        None => demo_devices(realm),
    };
    if let Some(n) = args.devices {
        if n == 0 || n > fleet.len() {
            bail!(
                "--devices must be 1 to {} (the devices listed)",
                fleet.len()
            );
        }
        fleet.truncate(n);
    }
    let sim = Arc::new(
        Simulator::bind(args.target, SimConfig::default())
            .await
            .context("cannot start the simulator")?,
    );

    // Register every device, a bounded number at a time.
    let mut registered = Vec::new();
    let mut refused = Vec::new();
    for chunk in fleet.chunks(REGISTER_AT_ONCE) {
        let mut set = JoinSet::new();
        for device in chunk {
            let (sim, device) = (sim.clone(), device.clone());
            set.spawn(async move {
                let result = sim
                    .register_until_accepted(&device, &Persistence::default())
                    .await;
                (device, result)
            });
        }
        while let Some(done) = set.join_next().await {
            match done {
                Ok((device, Ok(_))) => registered.push(device),
                Ok((device, Err(e))) => refused.push(format!("{}: {e}", device.user)),
                Err(e) => refused.push(e.to_string()),
            }
        }
    }
    println!(
        "Simulating {} devices against {} for {} s at {} alarms/s",
        fleet.len(),
        args.target,
        args.duration,
        args.alarms_per_second
    );
    println!("  registered    {} of {}", registered.len(), fleet.len());
    for line in refused.iter().take(5) {
        println!("    refused     {line}");
    }
    if registered.is_empty() {
        bail!("no device could register with {}", args.target);
    }
    let registered = Arc::new(registered);

    let started = Instant::now();
    let end = started + Duration::from_secs(args.duration);
    let beats = Arc::new(Beats::default());
    let mut heartbeats = JoinSet::new();
    if args.heartbeats {
        let interval = Duration::from_secs(args.heartbeat_interval.max(1));
        for device in registered.iter() {
            let (sim, device, beats) = (sim.clone(), device.clone(), beats.clone());
            heartbeats.spawn(async move {
                // Spread over the interval, as a fleet's devices are.
                let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
                let mut next = Instant::now()
                    + Duration::from_millis(trygg_crypto::random_below(ms).unwrap_or(0));
                while next < end {
                    tokio::time::sleep_until(next).await;
                    next += interval;
                    let Ok(reference) = sim.fresh_ref() else {
                        continue;
                    };
                    let Ok(mrq) = device.heartbeat(reference) else {
                        continue;
                    };
                    beats.sent.fetch_add(1, Ordering::Relaxed);
                    match sim.send(&device, &mrq).await {
                        Ok(o) if o.snu == trygg_scaip::StatusNumber::Ok => {
                            beats.answered.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => beats.failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
    }

    let mut tally = Tally::default();
    let mut inflight = JoinSet::new();
    let mut tick = tokio::time::interval(period);
    let mut turn = 0usize;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(end) => break,
            _ = tick.tick() => {
                let Some(device) = registered.get(turn % registered.len()).cloned() else { break };
                turn = turn.wrapping_add(1);
                let mrq = device.alarm(sim.fresh_ref()?)?;
                let sim = sim.clone();
                tally.sent += 1;
                inflight.spawn(async move {
                    let result = sim.send_until_acknowledged(&device, &mrq, &Persistence::default()).await;
                    (device.user, result)
                });
            }
            Some(done) = inflight.join_next(), if !inflight.is_empty() => tally.record(done),
        }
    }
    let sending = started.elapsed();
    let drain_until = Instant::now() + DRAIN;
    let mut unfinished = 0;
    while !inflight.is_empty() {
        match tokio::time::timeout_at(drain_until, inflight.join_next()).await {
            Ok(Some(done)) => tally.record(done),
            Ok(None) => break,
            Err(_) => {
                unfinished = inflight.len();
                inflight.abort_all();
                break;
            }
        }
    }
    heartbeats.abort_all();
    tally.failed += u64::try_from(unfinished).unwrap_or(u64::MAX);
    tally.latencies.sort();

    let stats = sim.stats();
    println!(
        "  sent          {} alarms in {:.1} s",
        tally.sent,
        sending.as_secs_f64()
    );
    println!("  acknowledged  {} (snu=0)", tally.acknowledged);
    println!(
        "  busy          {} answers snu=6, each repeated until acknowledged",
        tally.busy
    );
    println!(
        "  failed        {}{}",
        tally.failed,
        if unfinished > 0 {
            format!(
                " ({unfinished} still unanswered after {} s)",
                DRAIN.as_secs()
            )
        } else {
            String::new()
        }
    );
    for e in &tally.errors {
        println!("    error       {e}");
    }
    println!(
        "  latency       p50 {}, p99 {} (first send to snu=0, repeats included)",
        millis(percentile(&tally.latencies, 0.5)),
        millis(percentile(&tally.latencies, 0.99)),
    );
    if args.heartbeats {
        println!(
            "  heartbeats    {} sent, {} answered snu=0, {} not",
            beats.sent.load(Ordering::Relaxed),
            beats.answered.load(Ordering::Relaxed),
            beats.failed.load(Ordering::Relaxed),
        );
    }
    println!(
        "  SIP           {} requests, {} retransmissions, {} challenges, {} <mrs> received",
        stats.requests, stats.retransmissions, stats.challenges, stats.answers
    );
    Ok(if tally.failed == 0 && refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_devices_are_the_seeded_ones() {
        let devices = demo_devices("trygg");
        assert_eq!(devices.len(), 40);
        assert_eq!(devices[0].user, "larm-01");
        assert_eq!(devices[0].cid, "4600000001");
        assert!(devices.iter().all(|d| d.user != "larm-05"));
    }

    #[test]
    fn credentials_are_read_strictly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("devices.csv");
        std::fs::write(
            &path,
            "# user;password;cid\nlarm-1;hemligt;4600001\n larm-2 ; x ; 0042\n",
        )
        .unwrap();
        let devices = read_credentials(&path, "trygg").unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(
            (devices[1].user.as_str(), devices[1].cid.as_str()),
            ("larm-2", "0042")
        );
        // The output of several `trygg admin device import`s, joined.
        std::fs::write(
            &path,
            "sip_user;password;cid\nlarm-1;hemligt;4600001\nsip_user;password;cid\nlarm-2;x;0042\n",
        )
        .unwrap();
        assert_eq!(read_credentials(&path, "trygg").unwrap().len(), 2);
        for bad in [
            "sip_user;password;cid\n",
            "larm-1;hemligt\n",
            "larm-1;hemligt;46a\n",
            "a;b;1;2\n",
            "# nothing\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(read_credentials(&path, "trygg").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 0.5), Some(Duration::from_millis(51)));
        assert_eq!(percentile(&d, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
