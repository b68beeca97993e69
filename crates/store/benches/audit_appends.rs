//! The audit log under load, in one process and one run: durable appends
//! per second through `Store::record_event` (group commit) while the
//! sequencer integrates and signs a checkpoint every 500 ms as `trygg serve`
//! does; the time from an append returning to the signed checkpoint that
//! covers it; and proof generation at 1,000,000 leaves. Side by side with
//! baselines measured in the same run on the same database and pool:
//!
//! * A: a plain insert of a row of the same size, one transaction per row,
//!   by the same number of concurrent callers;
//! * B: plain inserts in transactions of the size Trygg's group commits had,
//!   one after another (what group commit can at best reach);
//! * A′ and B′: the same audit rows into a copy of the log table as every
//!   append wrote it before migration 0012; Q: into a copy of the queue
//!   appends write now, in groups (Trygg's bound);
//! * `ct-merkle` proving over the same leaves (given aws-lc-rs SHA-256 as in
//!   `crates/audit/benches/merkle.rs`).
//!
//! A load generator, not a criterion benchmark: throughput under concurrency
//! needs many callers at once. `cargo bench -p trygg-store --bench
//! audit_appends`; results in docs/benchmarks.md.
//!
//! Environment: `TRYGG_BENCH_SECONDS` (each measurement; default 5),
//! `TRYGG_BENCH_POSTGRES_URL` (a URL that may create databases; default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `off` skips PostgreSQL),
//! `TRYGG_BENCH_LEAVES` (the proofs' tree size; default 1,000,000),
//! `TRYGG_BENCH_SQLITE=off` (PostgreSQL only, without the proofs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::digest as aws;
use ct_merkle::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update, consts::U32};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use sqlx::Row as _;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use trygg_domain::*;
use trygg_store::{AuditLog, Backend, Database, KeyConfig, Store, StoreOptions, StoredEntry};

/// How often `trygg serve` integrates (crates/trygg/src/server.rs).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);
/// Concurrent callers.
const CONCURRENCY: [usize; 4] = [1, 8, 64, 256];
/// Pool size: `trygg serve`'s default (`db_max_connections`).
const MAX_CONNECTIONS: u32 = 10;

/// Real time without reading the system clock: a fixed origin plus the
/// monotonic time since the start (ids stay UUIDv7 in time order).
#[derive(Debug)]
struct BenchClock {
    origin: OffsetDateTime,
    start: Instant,
}

impl Clock for BenchClock {
    fn now(&self) -> OffsetDateTime {
        self.origin + self.start.elapsed()
    }
}

/// aws-lc-rs SHA-256 behind the `digest` traits `ct-merkle` is generic over
/// (as in crates/audit/benches/merkle.rs).
#[derive(Clone)]
struct AwsSha256(aws::Context);

impl Default for AwsSha256 {
    fn default() -> Self {
        Self(aws::Context::new(&aws::SHA256))
    }
}
impl HashMarker for AwsSha256 {}
impl OutputSizeUser for AwsSha256 {
    type OutputSize = U32;
}
impl Update for AwsSha256 {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}
impl FixedOutput for AwsSha256 {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(self.0.finish().as_ref());
    }
}

/// The people and places the entries are about.
#[derive(Clone)]
struct World {
    tenant: TenantId,
    unit: UnitId,
    persons: Arc<Vec<PersonId>>,
    staff: Arc<Vec<StaffId>>,
}

/// A request id that names its entry: the phase, the caller and its count.
fn request_id(phase: u64, caller: u64, k: u64) -> String {
    uuid::Uuid::from_u128((u128::from(phase) << 96) | (u128::from(caller) << 64) | u128::from(k))
        .to_string()
}

fn key_of(request_id: &str) -> u128 {
    uuid::Uuid::parse_str(request_id).unwrap().as_u128()
}

/// A read's entry, as `record_access` makes it.
fn event(clock: &dyn Clock, w: &World, phase: u64, caller: u64, k: u64) -> AuditEvent {
    let i = (caller.wrapping_mul(7919) + k) as usize;
    AuditEvent {
        tenant: Some(w.tenant),
        at: clock.now(),
        actor: Actor(format!("staff:{}", w.staff[i % w.staff.len()])),
        method: Some(AuthMethod::BankId),
        loa: Some(Loa::Loa3),
        person: Some(w.persons[i % w.persons.len()]),
        action: "read:care_plan".to_owned(),
        unit: Some(w.unit),
        outcome: Outcome::Allow,
        ground: "care_relationship".to_owned(),
        request_id: Some(request_id(phase, caller, k)),
    }
}

/// The bytes an entry occupies in its row (columns and body), roughly.
fn row_bytes(e: &AuditEvent) -> usize {
    let body = StoredEntry {
        id: uuid::Uuid::nil(),
        event: e.clone(),
        details: None,
    }
    .body()
    .unwrap()
    .len();
    36 + 36
        + 8
        + 36
        + e.actor.0.len()
        + e.action.len()
        + 36
        + 5
        + e.ground.len()
        + 6
        + 4
        + 36
        + body
}

fn pct(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64) * q) as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Throughput of one measurement.
struct Rate {
    entries: u64,
    elapsed: Duration,
}

impl Rate {
    fn per_sec(&self) -> f64 {
        self.entries as f64 / self.elapsed.as_secs_f64()
    }
}

/// What a baseline inserts.
#[derive(Clone, Copy)]
enum Rows {
    /// A row of the same size into a table with only a primary key.
    Plain,
    /// The same audit entries as `record_event`'s, into a copy of the log
    /// table as every append wrote it before migration 0012 (all its
    /// indexes, its foreign key), one plain statement each.
    Old,
    /// The same, into a copy of `audit_queue`, where appends go now.
    Queue,
}
/// What the baselines write with.
#[derive(Clone)]
struct Baseline {
    store: Store,
    world: World,
    payload: Arc<Vec<u8>>,
}

impl Baseline {
    async fn insert(
        &self,
        conn: &mut sqlx::AnyConnection,
        rows: Rows,
        phase: u64,
        caller: u64,
        k: u64,
    ) {
        match rows {
            Rows::Plain => {
                sqlx::query("INSERT INTO bench_rows (id, payload) VALUES ($1, $2)")
                    .bind(request_id(phase, caller, k))
                    .bind(self.payload.as_slice())
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            Rows::Old | Rows::Queue => {
                let clock = self.store.clock().as_ref();
                let e = event(clock, &self.world, phase, caller, k);
                let id = ids::new_v7(clock);
                let body = StoredEntry {
                    id,
                    event: e.clone(),
                    details: None,
                }
                .body()
                .unwrap();
                // The old path hashed entries when it integrated them; the
                // queue takes each with its leaf hash.
                let leaf = matches!(rows, Rows::Queue)
                    .then(|| trygg_audit::merkle::leaf_hash(&body).to_vec());
                sqlx::query(if matches!(rows, Rows::Old) {
                    "INSERT INTO bench_old (id, tenant_id, at, person_id, actor, action, unit_id, \
                     outcome, ground, method, loa, request_id, details, body, leaf_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'allow', $8, 'bankid', 'loa3', $9, NULL, $10, $11)"
                } else {
                    "INSERT INTO bench_queue (id, tenant_id, at, person_id, actor, action, unit_id, \
                     outcome, ground, method, loa, request_id, details, body, leaf_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'allow', $8, 'bankid', 'loa3', $9, NULL, $10, $11)"
                })
                .bind(id.to_string())
                .bind(self.world.tenant.to_string())
                .bind((e.at.unix_timestamp_nanos() / 1_000_000) as i64)
                .bind(e.person.map(|p| p.to_string()))
                .bind(e.actor.0)
                .bind(e.action)
                .bind(self.world.unit.to_string())
                .bind(e.ground)
                .bind(e.request_id)
                .bind(body)
                .bind(leaf)
                .execute(&mut *conn)
                .await
                .unwrap();
            }
        }
    }

    /// `callers` tasks, each inserting one row per transaction (autocommit
    /// on a pooled connection: what `record_event` did before group commit).
    async fn single(
        &self,
        rows: Rows,
        phase: u64,
        callers: usize,
        run: Duration,
    ) -> (Rate, Vec<Duration>) {
        let start = Instant::now();
        let end = start + run;
        let tasks: Vec<_> = (0..callers as u64)
            .map(|caller| {
                let this = self.clone();
                tokio::spawn(async move {
                    let pool = this.store.pool_for_benchmarks();
                    let (mut k, mut took) = (0, Vec::new());
                    while Instant::now() < end {
                        let t0 = Instant::now();
                        let mut conn = pool.acquire().await.unwrap();
                        this.insert(&mut conn, rows, phase, caller, k).await;
                        took.push(t0.elapsed());
                        k += 1;
                    }
                    (k, Instant::now(), took)
                })
            })
            .collect();
        let (mut entries, mut last, mut latency) = (0, start, Vec::new());
        for t in tasks {
            let (k, at, took) = t.await.unwrap();
            entries += k;
            last = last.max(at);
            latency.extend(took);
        }
        latency.sort();
        (
            Rate {
                entries,
                elapsed: last - start,
            },
            latency,
        )
    }

    /// One writer, transactions of `group` rows, one after another.
    async fn batched(&self, rows: Rows, phase: u64, group: usize, run: Duration) -> Rate {
        let pool = self.store.pool_for_benchmarks();
        let start = Instant::now();
        let mut k = 0;
        while start.elapsed() < run {
            let mut tx = match self.store.backend() {
                Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await.unwrap(),
                Backend::Postgres => pool.begin().await.unwrap(),
            };
            for _ in 0..group {
                self.insert(&mut tx, rows, phase, 0, k).await;
                k += 1;
            }
            tx.commit().await.unwrap();
        }
        Rate {
            entries: k,
            elapsed: start.elapsed(),
        }
    }
}

/// What Trygg did under one load.
struct Trygg {
    rate: Rate,
    groups: u64,
    append: Vec<Duration>,
    covered: Vec<Duration>,
    integrate: Vec<Duration>,
    checkpoints: usize,
}

impl Trygg {
    fn mean_group(&self) -> f64 {
        self.rate.entries as f64 / self.groups.max(1) as f64
    }
}

/// `callers` tasks calling `record_event` in a loop while the sequencer
/// integrates every `interval`; afterwards, when each entry was first
/// covered by a signed checkpoint.
async fn trygg_phase(
    store: &Store,
    log: &Arc<AuditLog>,
    world: &World,
    phase: u64,
    callers: usize,
    run: Duration,
    interval: Duration,
) -> Trygg {
    while log.integrate().await.unwrap().is_some() {}
    let size0 = log.size().await;
    let groups0 = store.audit_group_commits();
    // The sequencer, as in `trygg serve`, until every entry is covered.
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let sequencer = {
        let (log, target) = (log.clone(), target.clone());
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut signed = Vec::new();
            loop {
                tick.tick().await;
                let t0 = Instant::now();
                if log.integrate().await.unwrap().is_some() {
                    let done = Instant::now();
                    signed.push((done, log.size().await, done - t0));
                }
                if log.size().await >= target.load(Ordering::SeqCst) {
                    return signed;
                }
            }
        })
    };
    let start = Instant::now();
    let end = start + run;
    let tasks: Vec<_> = (0..callers as u64)
        .map(|caller| {
            let (store, world) = (store.clone(), world.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                let mut k = 0;
                while Instant::now() < end {
                    let e = event(store.clock().as_ref(), &world, phase, caller, k);
                    let t0 = Instant::now();
                    store.record_event(&e).await.unwrap();
                    let t1 = Instant::now();
                    done.push((key_of(e.request_id.as_deref().unwrap()), t1, t1 - t0));
                    k += 1;
                }
                done
            })
        })
        .collect();
    let mut returned = HashMap::new();
    let mut append = Vec::new();
    let mut last = start;
    for t in tasks {
        for (key, at, took) in t.await.unwrap() {
            returned.insert(key, at);
            append.push(took);
            last = last.max(at);
        }
    }
    let entries = returned.len() as u64;
    let groups = store.audit_group_commits() - groups0;
    target.store(size0 + entries, Ordering::SeqCst);
    let signed = sequencer.await.unwrap();
    // Which checkpoint covered each entry.
    let rows = sqlx::query("SELECT request_id, seq FROM audit_entries WHERE seq >= $1")
        .bind(size0 as i64)
        .fetch_all(store.pool_for_benchmarks())
        .await
        .unwrap();
    assert_eq!(
        rows.len() as u64,
        entries,
        "every acknowledged entry is stored once"
    );
    let mut covered = Vec::with_capacity(rows.len());
    for row in rows {
        let key = key_of(&row.try_get::<String, _>("request_id").unwrap());
        let seq = row.try_get::<i64, _>("seq").unwrap() as u64;
        let i = signed.partition_point(|(_, size, _)| *size <= seq);
        let (at, _, _) = signed[i];
        covered.push(at.saturating_duration_since(returned[&key]));
    }
    append.sort();
    covered.sort();
    let mut integrate: Vec<_> = signed.iter().map(|(_, _, d)| *d).collect();
    integrate.sort();
    Trygg {
        rate: Rate {
            entries,
            elapsed: last - start,
        },
        groups,
        append,
        covered,
        integrate,
        checkpoints: signed.len(),
    }
}

/// Opens a store with `trygg serve`'s settings on `database`, with a unit,
/// 1,000 persons and 200 staff to name in the entries.
async fn open(
    database: Database,
    key: std::path::PathBuf,
    clock: Arc<BenchClock>,
) -> (Store, World) {
    let store = Store::open(
        StoreOptions {
            database,
            keys: KeyConfig::File(key),
            max_connections: MAX_CONNECTIONS,
        },
        clock.clone(),
    )
    .await
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    let tenant = tx
        .add_tenant(
            "Benchby kommun",
            &OrgNumber::parse("212000-9994").unwrap(),
            TenantKind::Municipality,
        )
        .await
        .unwrap()
        .id;
    let unit = tx
        .add_unit(tenant, None, "Hemtjänst Norr", None)
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    let persons = (0..1000)
        .map(|_| PersonId::generate(clock.as_ref()))
        .collect();
    let staff = (0..200)
        .map(|_| StaffId::generate(clock.as_ref()))
        .collect();
    // bench_old: audit_entries as migrations 0006 and 0007 made it;
    // bench_queue: audit_queue as migration 0012 makes it.
    let columns = |int: &str, blob: &str| {
        format!(
            "tenant_id TEXT REFERENCES tenants(id), at {int} NOT NULL, person_id TEXT, \
             actor TEXT NOT NULL, action TEXT NOT NULL, unit_id TEXT, outcome TEXT NOT NULL, \
             ground TEXT NOT NULL, method TEXT, loa TEXT, request_id TEXT, details {blob}, \
             body {blob} NOT NULL"
        )
    };
    let tables = match store.backend() {
        Backend::Sqlite => [
            "CREATE TABLE bench_rows (id TEXT PRIMARY KEY, payload BLOB NOT NULL)".to_owned(),
            format!(
                "CREATE TABLE bench_old (id TEXT PRIMARY KEY, seq INTEGER UNIQUE, {}, leaf_hash BLOB)",
                columns("INTEGER", "BLOB")
            ),
            format!(
                "CREATE TABLE bench_queue (n INTEGER PRIMARY KEY, id TEXT NOT NULL, {}, leaf_hash BLOB)",
                columns("INTEGER", "BLOB")
            ),
        ],
        Backend::Postgres => [
            "CREATE TABLE bench_rows (id TEXT PRIMARY KEY, payload BYTEA NOT NULL)".to_owned(),
            format!(
                "CREATE TABLE bench_old (id TEXT PRIMARY KEY, seq BIGINT UNIQUE, {}, leaf_hash BYTEA)",
                columns("BIGINT", "BYTEA")
            ),
            format!(
                "CREATE TABLE bench_queue (n BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, {}, leaf_hash BYTEA)",
                columns("BIGINT", "BYTEA")
            ),
        ],
    };
    for sql in tables.into_iter().chain(
        [
            "CREATE INDEX bench_old_person ON bench_old (person_id, at)",
            "CREATE INDEX bench_old_tenant_time ON bench_old (tenant_id, at)",
            "CREATE INDEX bench_old_pending ON bench_old (id) WHERE seq IS NULL",
            "CREATE INDEX bench_old_actor_time ON bench_old (tenant_id, actor, at)",
        ]
        .map(str::to_owned),
    ) {
        // Made above from constants only.
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(store.pool_for_benchmarks())
            .await
            .unwrap();
    }
    (
        store,
        World {
            tenant,
            unit,
            persons: Arc::new(persons),
            staff: Arc::new(staff),
        },
    )
}

fn rate(r: &Rate) -> String {
    format!("{:.0}/s", r.per_sec())
}

/// Every measurement at each concurrency, one after another; prints the
/// tables.
async fn appends(name: &str, store: &Store, world: &World, run: Duration, phase0: u64) {
    let log = Arc::new(AuditLog::open(store).await.unwrap());
    let sample = event(store.clock().as_ref(), world, 0, 0, 0);
    let base = Baseline {
        store: store.clone(),
        world: world.clone(),
        payload: Arc::new(vec![0x5a; row_bytes(&sample) - 36]),
    };
    println!(
        "\n### {name}\n\nRows of about {} bytes; {} s per measurement; a pool of {MAX_CONNECTIONS} connections.\n",
        row_bytes(&sample),
        run.as_secs()
    );
    let mut throughput = vec![
        "| callers | A: plain row, 1/tx | A′: audit row into the old log table, 1/tx | **Trygg** | Trygg, sequencer held off | B: plain rows, group/tx | B′: audit rows into the old log table, group/tx | Q: audit rows into the queue, group/tx | Trygg ÷ A | Trygg ÷ A′ | Trygg ÷ B | Trygg ÷ B′ | Trygg ÷ Q |".to_owned(),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".to_owned(),
    ];
    let mut latency = vec![
        "| callers | mean group | append p50 / p99 ms | A′ p50 / p99 ms | append → signed checkpoint p50 / p99 / max ms | integrate p50 / max ms | checkpoints |".to_owned(),
        "|---:|---:|---:|---:|---:|---:|---:|".to_owned(),
    ];
    for (i, &callers) in CONCURRENCY.iter().enumerate() {
        let phase = phase0 + 8 * i as u64;
        let (a, _) = base.single(Rows::Plain, phase, callers, run).await;
        let (a2, a2_latency) = base.single(Rows::Old, phase + 1, callers, run).await;
        let t = trygg_phase(
            store,
            &log,
            world,
            phase + 2,
            callers,
            run,
            CHECKPOINT_INTERVAL,
        )
        .await;
        let held = trygg_phase(
            store,
            &log,
            world,
            phase + 3,
            callers,
            run,
            run + CHECKPOINT_INTERVAL,
        )
        .await;
        let group = t.mean_group().round().max(1.0) as usize;
        let b = base.batched(Rows::Plain, phase + 4, group, run).await;
        let b2 = base.batched(Rows::Old, phase + 5, group, run).await;
        let q = base.batched(Rows::Queue, phase + 6, group, run).await;
        let x = |r: &Rate| format!("{:.2}", t.rate.per_sec() / r.per_sec());
        throughput.push(format!(
            "| {callers} | {} | {} | **{}** | {} | {} ({group}) | {} ({group}) | {} ({group}) | {} | {} | {} | {} | {} |",
            rate(&a),
            rate(&a2),
            rate(&t.rate),
            rate(&held.rate),
            rate(&b),
            rate(&b2),
            rate(&q),
            x(&a),
            x(&a2),
            x(&b),
            x(&b2),
            x(&q),
        ));
        latency.push(format!(
            "| {callers} | {:.1} | {} / {} | {} / {} | {} / {} / {} | {} / {} | {} |",
            t.mean_group(),
            ms(pct(&t.append, 0.5)),
            ms(pct(&t.append, 0.99)),
            ms(pct(&a2_latency, 0.5)),
            ms(pct(&a2_latency, 0.99)),
            ms(pct(&t.covered, 0.5)),
            ms(pct(&t.covered, 0.99)),
            ms(t.covered.last().copied().unwrap_or_default()),
            ms(pct(&t.integrate, 0.5)),
            ms(t.integrate.last().copied().unwrap_or_default()),
            t.checkpoints,
        ));
        eprintln!(
            "{name}: {callers} callers measured; load average {}",
            loadavg()
        );
    }
    println!(
        "Durable entries per second:\n\n{}\n\nUnder the same load (Trygg, sequencer every 500 ms):\n\n{}",
        throughput.join("\n"),
        latency.join("\n")
    );
}

/// 1,024 spread-out values below `bound` (the LCG of the Merkle benchmark).
fn spread(bound: u64) -> Vec<u64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..1024)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) % bound
        })
        .collect()
}

/// The median over `rounds` of the mean time per call of `f` over `items`.
fn per_call<T>(items: &[T], rounds: usize, mut f: impl FnMut(&T)) -> Duration {
    let mut times: Vec<_> = (0..rounds)
        .map(|_| {
            let t0 = Instant::now();
            for x in items {
                f(x);
            }
            t0.elapsed() / items.len() as u32
        })
        .collect();
    times.sort();
    pct(&times, 0.5)
}

async fn per_call_async<T, F: std::future::Future>(
    items: &[T],
    rounds: usize,
    mut f: impl FnMut(&T) -> F,
) -> Duration {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t0 = Instant::now();
        for x in items {
            black_box(f(x).await);
        }
        times.push(t0.elapsed() / items.len() as u32);
    }
    times.sort();
    pct(&times, 0.5)
}

/// Fills the log up to `leaves` entries (plain inserts of entries like the
/// others, queued), integrates them as the sequencer would, reopens the log
/// and times its proofs against ct-merkle over the same leaves.
async fn proofs(store: &Store, world: &World, leaves: u64) {
    let pool = store.pool_for_benchmarks();
    let log = AuditLog::open(store).await.unwrap();
    while log.integrate().await.unwrap().is_some() {}
    let have = log.size().await;
    let fill = Instant::now();
    let mut k = 0;
    while have + k < leaves {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        for _ in 0..10_000.min(leaves - have - k) {
            let e = event(store.clock().as_ref(), world, 99, 0, k);
            let id = ids::new_v7(store.clock().as_ref());
            let body = StoredEntry {
                id,
                event: e.clone(),
                details: None,
            }
            .body()
            .unwrap();
            sqlx::query(
                "INSERT INTO audit_queue (id, tenant_id, at, actor, action, outcome, ground, body, \
                 leaf_hash) VALUES ($1, $2, $3, $4, $5, 'allow', $6, $7, $8)",
            )
            .bind(id.to_string())
            .bind(world.tenant.to_string())
            .bind((e.at.unix_timestamp_nanos() / 1_000_000) as i64)
            .bind(e.actor.0)
            .bind(e.action)
            .bind(e.ground)
            .bind(body.clone())
            .bind(trygg_audit::merkle::leaf_hash(&body).to_vec())
            .execute(&mut *tx)
            .await
            .unwrap();
            k += 1;
        }
        tx.commit().await.unwrap();
    }
    let filled = fill.elapsed();
    let t0 = Instant::now();
    let mut batches = Vec::new();
    loop {
        let t = Instant::now();
        let before = log.size().await;
        if log.integrate().await.unwrap().is_none() {
            break;
        }
        batches.push((log.size().await - before, t.elapsed()));
    }
    let integrated = t0.elapsed();
    let t0 = Instant::now();
    let log = AuditLog::open(store).await.unwrap();
    let opened = t0.elapsed();
    let n = log.size().await;
    assert_eq!(n, leaves.max(have));
    let note = log.latest_checkpoint().await.unwrap().unwrap();
    let head = log.verifying_key().verify(&note).unwrap();
    assert_eq!(head.size, n);

    // ct-merkle over the same bodies, in the same order: the same tree.
    let t0 = Instant::now();
    let mut theirs = MemoryBackedTree::<AwsSha256, Vec<u8>>::new();
    {
        use futures_util::TryStreamExt as _;
        let mut rows =
            sqlx::query("SELECT body FROM audit_entries WHERE seq IS NOT NULL ORDER BY seq")
                .fetch(pool);
        while let Some(row) = rows.try_next().await.unwrap() {
            theirs.push(row.try_get::<Vec<u8>, _>("body").unwrap());
        }
    }
    let built = t0.elapsed();
    assert_eq!(
        theirs.root().as_bytes().as_slice(),
        head.root.as_slice(),
        "the same tree head"
    );

    let indexes = spread(n);
    let old_sizes: Vec<u64> = spread(n - 1).into_iter().map(|s| s + 1).collect();
    let rounds = 50;
    let ours_incl = per_call_async(&indexes, rounds, |&i| log.inclusion_proof(i, n)).await;
    let theirs_incl = per_call(&indexes, rounds, |&i| {
        black_box(theirs.prove_inclusion(i as usize));
    });
    let ours_cons = per_call_async(&old_sizes, rounds, |&m| log.consistency_proof(m, n)).await;
    let theirs_cons = per_call(&old_sizes, rounds, |&m| {
        black_box(theirs.prove_consistency((n - m) as usize));
    });
    let baseline = per_call(&indexes, rounds, |&i| {
        black_box(aws::digest(&aws::SHA256, &[i as u8; 64]));
    });
    let us = |d: Duration| format!("{:.2} µs", d.as_secs_f64() * 1e6);
    let rate = |entries: u64, d: Duration| format!("{:.0}/s", entries as f64 / d.as_secs_f64());
    println!(
        "\n### SQLite: proofs at {n} leaves\n\n{} entries added with plain inserts in {:.1} s.",
        n - have,
        filled.as_secs_f64()
    );
    println!(
        "integrating {} entries: {:.1} s ({}), {} calls of at most 50,000, slowest {:.0} ms; AuditLog::open at {n}: {:.2} s; ct-merkle built from the bodies in {:.1} s; heads equal",
        n - have,
        integrated.as_secs_f64(),
        rate(n - have, integrated),
        batches.len(),
        batches
            .iter()
            .map(|(_, d)| d.as_secs_f64() * 1000.0)
            .fold(0.0, f64::max),
        opened.as_secs_f64(),
        built.as_secs_f64(),
    );
    println!("\n| operation | AuditLog | ct-merkle | AuditLog ÷ ct-merkle |\n|---|---:|---:|---:|");
    println!("| baseline: SHA-256 of 64 B | {} | | |", us(baseline));
    println!(
        "| inclusion proof at {n} | {} | {} | {:.2} |",
        us(ours_incl),
        us(theirs_incl),
        ours_incl.as_secs_f64() / theirs_incl.as_secs_f64()
    );
    println!(
        "| consistency proof, random old size → {n} | {} | {} | {:.2} |",
        us(ours_cons),
        us(theirs_cons),
        ours_cons.as_secs_f64() / theirs_cons.as_secs_f64()
    );
}

/// A fresh PostgreSQL database, if the server answers.
async fn postgres_database(admin: &str) -> Option<(String, String)> {
    use sqlx::Connection as _;
    let mut conn = tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(admin))
        .await
        .ok()?
        .ok()?;
    let name = format!("trygg_bench_{}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .ok()?;
    let (base, _) = admin.rsplit_once('/')?;
    Some((name.clone(), format!("{base}/{name}")))
}

async fn drop_postgres_database(admin: &str, name: &str) {
    use sqlx::Connection as _;
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

async fn run() {
    let secs: u64 = std::env::var("TRYGG_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let leaves: u64 = std::env::var("TRYGG_BENCH_LEAVES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let run = Duration::from_secs(secs);
    println!(
        "audit_appends: {} worker threads; load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let clock = Arc::new(BenchClock {
        origin: time::macros::datetime!(2026-11-23 00:00 UTC),
        start: Instant::now(),
    });
    let dir = tempfile::tempdir().unwrap();
    let sqlite = if std::env::var("TRYGG_BENCH_SQLITE").as_deref() == Ok("off") {
        None
    } else {
        let (store, world) = open(
            Database::Sqlite(dir.path().join("trygg.sqlite3")),
            dir.path().join("trygg.key"),
            clock.clone(),
        )
        .await;
        appends(
            "SQLite (WAL, synchronous = FULL)",
            &store,
            &world,
            run,
            0x100,
        )
        .await;
        Some((store, world))
    };

    let admin = std::env::var("TRYGG_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if admin != "off" {
        match postgres_database(&admin).await {
            Some((name, url)) => {
                let pg_dir = tempfile::tempdir().unwrap();
                let (pg, pg_world) = open(
                    Database::Postgres(url),
                    pg_dir.path().join("trygg.key"),
                    clock.clone(),
                )
                .await;
                appends(
                    "PostgreSQL (127.0.0.1, synchronous_commit on)",
                    &pg,
                    &pg_world,
                    run,
                    0x200,
                )
                .await;
                pg.close().await;
                drop_postgres_database(&admin, &name).await;
            }
            None => println!("\nPostgreSQL is not reachable: skipped"),
        }
    }

    if let Some((store, world)) = sqlite {
        proofs(&store, &world, leaves).await;
        store.close().await;
    }
    println!("\nload average after: {}", loadavg());
}

fn main() {
    // As `trygg serve` (`#[tokio::main]`): a worker thread per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
