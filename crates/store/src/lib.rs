//! Trygg's storage on SQLite (default, embedded) or PostgreSQL.
//!
//! Architecture invariants:
//! * This is the only crate that contains SQL.
//! * Personal data never reaches the database in plaintext: every personal
//!   field is sealed under its owner's data key here, on the way in, and
//!   opened here, on the way out (see [`keys`]).
//! * One query text serves both backends (sqlx's `Any` driver, `$n`
//!   placeholders, `CAST()` rather than `::`); only migrations differ.
//! * Writes that belong together run in one [`Tx`].

mod alarm_workflow;
mod alarms;
mod audit;
mod auth;
mod error;
mod group;
pub mod keys;
mod migrate;
mod org;
mod people;
mod permissions;
mod proof;
mod record;
mod review;
mod seal;

pub use alarm_workflow::{AlarmRecord, AlarmState};
pub use alarms::{
    AlarmKind, AlarmSummary, Device, DeviceSecrets, IncomingAlarm, NewDevice, REPEAT_WINDOW,
    Recorded, STORED_DUE_SLACK,
};
pub use audit::{AUDIT_ORIGIN, AuditFinding, AuditLog, Disposal, DisposalRecord, StoredEntry};
pub use auth::{SessionRecord, StoredPasskey};
pub use error::{Result, StoreError};
pub use keys::KeyConfig;
pub use migrate::latest_version;
pub use org::{Counts, UnitNode};
pub use permissions::{AssignmentRow, CareRow, EmergencyDetail};
pub use proof::{EntryProof, PROOF_FORMAT, ProofBundle, ProofError};
pub use record::{CarePlan, EmergencyRecord, VisitNote};
pub use review::{
    Conclusion, Flag, LogReview, LogSearch, LogSelection, NewReview, PersonFlagFacts,
    ReviewedEntry, flag_entries, sample, staff_of_actor,
};

use keys::KeyService;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor as _, Row as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use trygg_domain::Clock;

/// Which database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a file.
    Sqlite,
    /// PostgreSQL over the network.
    Postgres,
}

/// Where the data lives.
#[derive(Clone)]
pub enum Database {
    /// A SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Database {
    /// A description safe to log (no password).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite:{}", path.display()),
            Database::Postgres(url) => redact_url(url),
        }
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }
}

fn redact_url(url: &str) -> String {
    // postgres://user:secret@host/db -> postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = url.get(scheme + 3..at).unwrap_or("");
            let user = creds.split(':').next().unwrap_or("");
            let prefix = url.get(..scheme + 3).unwrap_or("");
            let rest = url.get(at..).unwrap_or("");
            if creds.contains(':') {
                format!("{prefix}{user}:***{rest}")
            } else {
                url.to_owned()
            }
        }
        _ => url.to_owned(),
    }
}

/// How to open the store.
#[derive(Debug)]
pub struct StoreOptions {
    /// Where the data lives.
    pub database: Database,
    /// Where the key-encryption keys come from.
    pub keys: KeyConfig,
    /// Largest number of pooled connections.
    pub max_connections: u32,
}

/// The store: a connection pool, the keys, and a clock.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    keys: Arc<KeyService>,
    clock: Arc<dyn Clock>,
    appender: audit::Appender,
    alarms: group::GroupWriter<alarms::AlarmWrites>,
    remembered_keys: Arc<alarms::RememberedKeys>,
}

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

impl Store {
    /// Connects, applies pending migrations, and loads (or on a fresh database,
    /// creates) the keys. Refuses keys that do not belong to the database.
    pub async fn open(options: StoreOptions, clock: Arc<dyn Clock>) -> Result<Self> {
        let (pool, backend) = connect(&options.database, options.max_connections).await?;
        migrate::run(&pool, backend, ms(clock.now())).await?;
        let keys = KeyService::init(&pool, options.keys, ms(clock.now())).await?;
        let appender = audit::Appender::spawn(audit::Appends, pool.clone(), backend);
        let alarms = group::GroupWriter::spawn(
            alarms::AlarmWrites {
                clock: clock.clone(),
            },
            pool.clone(),
            backend,
        );
        Ok(Self {
            pool,
            backend,
            keys: Arc::new(keys),
            clock,
            appender,
            alarms,
            remembered_keys: Arc::default(),
        })
    }

    /// Connects and migrates without touching keys (`trygg admin migrate`).
    /// Returns the versions applied.
    pub async fn migrate_only(database: &Database, now: OffsetDateTime) -> Result<Vec<i64>> {
        let (pool, backend) = connect(database, 1).await?;
        let applied = migrate::run(&pool, backend, ms(now)).await;
        pool.close().await;
        applied
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The clock the store stamps rows with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Whether the database answers and has the schema this build expects.
    pub async fn ready(&self) -> Result<()> {
        let row = sqlx::query("SELECT MAX(version) FROM trygg_migrations")
            .fetch_one(&self.pool)
            .await?;
        let version: Option<i64> = row.try_get(0)?;
        if version != Some(latest_version()) {
            return Err(StoreError::Schema(format!(
                "schema version {version:?}, expected {}",
                latest_version()
            )));
        }
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`) so concurrent writers wait instead of failing.
    pub async fn begin(&self) -> Result<Tx<'_>> {
        let tx = group::begin(&self.pool, self.backend).await?;
        Ok(Tx { tx, store: self })
    }

    /// Commits the alarms and audit entries already queued (their callers
    /// are released), refuses later ones, then closes the pool, waiting for
    /// connections to be returned.
    pub async fn close(&self) {
        self.alarms.close().await;
        self.appender.close().await;
        self.pool.close().await;
    }

    /// On SQLite, moves the write-ahead log into the database file and
    /// truncates it, so that deleted bytes do not linger in the WAL.
    pub(crate) async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls back.
#[derive(Debug)]
pub struct Tx<'s> {
    tx: sqlx::Transaction<'static, Any>,
    store: &'s Store,
}

impl Tx<'_> {
    /// Commits every write made in this transaction.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    fn now(&self) -> OffsetDateTime {
        self.store.clock.now()
    }
}

async fn connect(database: &Database, max_connections: u32) -> Result<(AnyPool, Backend)> {
    install_default_drivers();
    let location = database.describe();
    let unreachable = |source| StoreError::Unreachable {
        location: location.clone(),
        source,
    };
    let options = AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10));
    match database {
        Database::Sqlite(path) => {
            let text = path.display().to_string();
            if text.contains(['?', '#']) {
                return Err(StoreError::Unreachable {
                    location,
                    source: sqlx::Error::Configuration(
                        "the SQLite path must not contain '?' or '#'".into(),
                    ),
                });
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| unreachable(sqlx::Error::Io(e)))?;
            }
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let pool = options
                // A connection to a local file does not go away: no ping
                // (a round trip to SQLite's worker thread) before each use.
                .test_before_acquire(false)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        // Durable, concurrent readers, referential integrity,
                        // and deleted bytes overwritten (crypto-shredding). A
                        // page cache of 16 MiB instead of 2: the sequencer adds
                        // thousands of entries at once to the audit log's
                        // indexes by person and by actor, at pages all over
                        // them (docs/benchmarks.md, "durable appends").
                        conn.execute(
                            "PRAGMA journal_mode = WAL; \
                             PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000; \
                             PRAGMA secure_delete = ON; \
                             PRAGMA cache_size = -16384;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await
                .map_err(unreachable)?;
            Ok((pool, Backend::Sqlite))
        }
        Database::Postgres(url) => {
            let pool = options.connect(url).await.map_err(unreachable)?;
            Ok((pool, Backend::Postgres))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_logged_without_passwords() {
        assert_eq!(
            redact_url("postgres://trygg:hemligt@db:5432/trygg"),
            "postgres://trygg:***@db:5432/trygg"
        );
        assert_eq!(
            redact_url("postgres://trygg@db/trygg"),
            "postgres://trygg@db/trygg"
        );
    }
}
