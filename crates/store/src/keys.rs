//! Keys at rest: the keyring, key domains, per-person data keys, rotation and
//! crypto-shredding.
//!
//! * The key-encryption keys (KEKs) live outside the database: in the key file
//!   (created on first start, mode 0600) or in `TRYGG_MASTER_KEY`.
//! * Key domains (today: the blind-index key) are random keys stored wrapped
//!   in `key_domains`, so rotating the KEK re-wraps them without recomputing
//!   any index.
//! * Each person and staff member has a data key in `data_keys`, wrapped by the
//!   active KEK, bound to its own id. Deleting that row is crypto-shredding.
//! * Rotation adds a new active KEK, re-wraps row by row (small transactions,
//!   compare-and-set, so running servers keep working), and retires the old KEK.
//!   A running server re-reads the key file when it meets a KEK it does not
//!   know or when the file changes.

use crate::{Result, Store, StoreError};
use sqlx::{AnyConnection, AnyPool, Row as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;
use trygg_crypto::{BlindIndexKey, CryptoError, DataKey, KekId, KeySource, Keyring, WrappedKey};
use zeroize::Zeroizing;

/// Where the key-encryption keys come from.
pub enum KeyConfig {
    /// A key file; created with a fresh key if missing *and* the database holds
    /// no encrypted data yet.
    File(PathBuf),
    /// Keyring text from the environment (`TRYGG_MASTER_KEY`).
    Environment(Zeroizing<String>),
    /// A keyring made in memory (tests).
    Memory(Keyring),
}

impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyConfig::File(p) => write!(f, "KeyConfig::File({})", p.display()),
            KeyConfig::Environment(_) => f.write_str("KeyConfig::Environment"),
            KeyConfig::Memory(_) => f.write_str("KeyConfig::Memory"),
        }
    }
}

const BLIND_INDEX_DOMAIN: &str = "blind-index";
/// Seals small secrets that are not personal data (TOTP seeds).
const SECRETS_DOMAIN: &str = "secrets";
/// The seed of the audit log's checkpoint signing key (Ed25519).
const AUDIT_SIGNING_DOMAIN: &str = "audit-signing";

fn domain_context(name: &str) -> Vec<u8> {
    format!("key-domain/{name}").into_bytes()
}

fn data_key_context(id: &str) -> Vec<u8> {
    format!("data-key/{id}").into_bytes()
}

pub(crate) struct KeyService {
    ring: RwLock<Arc<Keyring>>,
    file: Option<(PathBuf, Mutex<Option<SystemTime>>)>,
    blind: BlindIndexKey,
    secrets: DataKey,
    audit_signing: DataKey,
}

impl std::fmt::Debug for KeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyService")
            .field("ring", &self.ring())
            .finish()
    }
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn describe(ring: &Keyring) -> String {
    match ring.source() {
        KeySource::File(p) => format!("key file {}", p.display()),
        KeySource::Environment => "TRYGG_MASTER_KEY".to_owned(),
        KeySource::Memory => "in-memory keyring".to_owned(),
    }
}

impl KeyService {
    pub(crate) async fn init(pool: &AnyPool, config: KeyConfig, now_ms: i64) -> Result<Self> {
        let existing = sqlx::query("SELECT kek_id, wrapped FROM key_domains WHERE name = $1")
            .bind(BLIND_INDEX_DOMAIN)
            .fetch_optional(pool)
            .await?;
        let path = match &config {
            KeyConfig::File(p) => Some(p.clone()),
            _ => None,
        };
        let ring = match config {
            KeyConfig::File(path) => match Keyring::load_file(&path) {
                Ok(ring) => ring,
                Err(CryptoError::KeyFileMissing(_)) => {
                    let has_data: i64 = sqlx::query("SELECT COUNT(*) FROM data_keys")
                        .fetch_one(pool)
                        .await?
                        .try_get(0)?;
                    if existing.is_some() || has_data > 0 {
                        return Err(StoreError::KeyFileMissing {
                            path: path.display().to_string(),
                        });
                    }
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir).map_err(|error| CryptoError::Io {
                            path: dir.to_owned(),
                            error,
                        })?;
                    }
                    tracing::info!(path = %path.display(), "created a new key file");
                    Keyring::create_file(&path)?
                }
                Err(e) => return Err(e.into()),
            },
            KeyConfig::Environment(text) => Keyring::parse(&text, KeySource::Environment)?,
            KeyConfig::Memory(ring) => ring,
        };
        if existing.is_none() {
            tracing::info!("initialising key domains");
        }
        let blind_key = load_or_create_domain(pool, &ring, BLIND_INDEX_DOMAIN, now_ms).await?;
        let secrets = load_or_create_domain(pool, &ring, SECRETS_DOMAIN, now_ms).await?;
        let audit_signing =
            load_or_create_domain(pool, &ring, AUDIT_SIGNING_DOMAIN, now_ms).await?;
        let file = path.map(|p| {
            let m = mtime(&p);
            (p, Mutex::new(m))
        });
        Ok(Self {
            ring: RwLock::new(Arc::new(ring)),
            file,
            blind: BlindIndexKey::from_data_key(&blind_key),
            secrets,
            audit_signing,
        })
    }

    pub(crate) fn ring(&self) -> Arc<Keyring> {
        self.ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn replace(&self, ring: Keyring) {
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
    }

    /// Re-reads the key file if it changed since last read (or `force`).
    fn reload(&self, force: bool) -> Result<bool> {
        let Some((path, seen)) = &self.file else {
            return Ok(false);
        };
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        let now = mtime(path);
        if !force && now == *seen {
            return Ok(false);
        }
        let ring = Keyring::load_file(path)?;
        *seen = now;
        tracing::info!(active = %ring.active_id(), "reloaded key file");
        self.replace(ring);
        Ok(true)
    }

    /// The key that seals small non-personal secrets (TOTP seeds).
    pub(crate) fn secrets(&self) -> &DataKey {
        &self.secrets
    }

    /// The seed of the audit log's checkpoint signing key.
    pub(crate) fn audit_signing_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.audit_signing.signing_seed()
    }

    pub(crate) fn blind_index(&self, parts: &[&[u8]]) -> Vec<u8> {
        self.blind.digest(parts).to_vec()
    }

    pub(crate) fn wrap_data_key(&self, id: &str, key: &DataKey) -> Result<WrappedKey> {
        if let Err(e) = self.reload(false) {
            tracing::warn!(error = %e, "could not re-read the key file; using the keys in memory");
        }
        Ok(self.ring().wrap(key, &data_key_context(id))?)
    }

    pub(crate) fn unwrap_data_key(&self, id: &str, wrapped: &WrappedKey) -> Result<DataKey> {
        match self.ring().unwrap(wrapped, &data_key_context(id)) {
            Err(CryptoError::UnknownKek(_)) if self.reload(true).unwrap_or(false) => {
                Ok(self.ring().unwrap(wrapped, &data_key_context(id))?)
            }
            other => Ok(other?),
        }
    }
}

async fn load_or_create_domain(
    pool: &AnyPool,
    ring: &Keyring,
    name: &str,
    now_ms: i64,
) -> Result<DataKey> {
    let read = || async {
        let row = sqlx::query("SELECT kek_id, wrapped FROM key_domains WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?;
        row.map(|row| {
            Ok::<_, StoreError>(WrappedKey {
                kek_id: KekId::from_stored(&row.try_get::<String, _>(0)?),
                bytes: row.try_get(1)?,
            })
        })
        .transpose()
    };
    if let Some(stored) = read().await? {
        return unwrap_domain(ring, name, &stored);
    }
    let key = DataKey::generate()?;
    let wrapped = ring.wrap(&key, &domain_context(name))?;
    // Two nodes may start at once: the first insert wins and the other
    // re-reads (and fails if its keys differ).
    sqlx::query(
        "INSERT INTO key_domains (name, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(wrapped.kek_id.as_str())
    .bind(wrapped.bytes.clone())
    .bind(now_ms)
    .execute(pool)
    .await?;
    match read().await? {
        Some(stored) if stored == wrapped => Ok(key),
        Some(stored) => unwrap_domain(ring, name, &stored),
        None => Err(StoreError::Schema(format!("key domain {name} vanished"))),
    }
}

fn unwrap_domain(ring: &Keyring, name: &str, wrapped: &WrappedKey) -> Result<DataKey> {
    match ring.unwrap(wrapped, &domain_context(name)) {
        Ok(key) => Ok(key),
        Err(CryptoError::UnknownKek(_) | CryptoError::Decrypt) => Err(StoreError::WrongKey {
            expected: wrapped.kek_id.to_string(),
            source_desc: describe(ring),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Makes a data key for a new record, stores it wrapped, returns it.
pub(crate) async fn create_data_key(
    conn: &mut AnyConnection,
    keys: &KeyService,
    tenant: &str,
    id: &str,
    now_ms: i64,
) -> Result<DataKey> {
    let key = DataKey::generate()?;
    let wrapped = keys.wrap_data_key(id, &key)?;
    sqlx::query(
        "INSERT INTO data_keys (id, tenant_id, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(tenant)
    .bind(wrapped.kek_id.as_str())
    .bind(wrapped.bytes)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(key)
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The KEK that now wraps every key.
    pub active: KekId,
    /// Keys re-wrapped in this run.
    pub rewrapped: u64,
    /// Retired KEKs dropped from the key file (only with purge).
    pub purged: Vec<KekId>,
    /// Retired KEKs kept because something still uses them.
    pub retired: Vec<KekId>,
}

impl Store {
    /// How many stored keys are wrapped under `kek`.
    pub async fn kek_usage(&self, kek: &KekId) -> Result<i64> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM data_keys WHERE kek_id = $1) \
                  + (SELECT COUNT(*) FROM key_domains WHERE kek_id = $1)",
        )
        .bind(kek.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// The KEK ids of the keyring in use, active first.
    pub fn kek_ids(&self) -> Vec<KekId> {
        self.keys.ring().ids()
    }

    /// Rotates the key-encryption key without downtime.
    ///
    /// With a key file: adds a fresh active KEK to the file (atomically), then
    /// re-wraps every data key and key domain under it in small transactions.
    /// With `TRYGG_MASTER_KEY`: re-wraps under the environment's active key
    /// (put the new key first, marked active, and the old one as retired).
    /// With `purge`, retired KEKs that no row uses any more are removed from the
    /// key file.
    pub async fn rotate_keys(&self, purge: bool) -> Result<RotationReport> {
        let mut ring = Keyring::parse(
            &self.keys.ring().to_text(),
            self.keys.ring().source().clone(),
        )?;
        if let Some((path, _)) = &self.keys.file {
            ring.rotate()?;
            ring.save_file(path)?;
            tracing::info!(active = %ring.active_id(), "added a new active key-encryption key");
        }
        let active = ring.active_id();
        self.keys.replace(ring);
        let rewrapped = self.rewrap_all(&active).await?;
        let mut purged = Vec::new();
        let mut retired = Vec::new();
        for id in self.kek_ids().into_iter().filter(|id| *id != active) {
            if purge && self.kek_usage(&id).await? == 0 {
                purged.push(id);
            } else {
                retired.push(id);
            }
        }
        if let Some((path, _)) = self.keys.file.as_ref().filter(|_| !purged.is_empty()) {
            let mut ring =
                Keyring::parse(&self.keys.ring().to_text(), KeySource::File(path.clone()))?;
            ring.purge_retired(|id| !purged.contains(id));
            ring.save_file(path)?;
            self.keys.replace(ring);
        }
        Ok(RotationReport {
            active,
            rewrapped,
            purged,
            retired,
        })
    }

    async fn rewrap_all(&self, active: &KekId) -> Result<u64> {
        let mut count = 0u64;
        loop {
            let rows = sqlx::query(
                "SELECT id, kek_id, wrapped FROM data_keys WHERE kek_id <> $1 ORDER BY id LIMIT 200",
            )
            .bind(active.as_str())
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            let before = count;
            let mut tx = self.begin().await?;
            for row in rows {
                let id: String = row.try_get(0)?;
                let old = WrappedKey {
                    kek_id: KekId::from_stored(&row.try_get::<String, _>(1)?),
                    bytes: row.try_get(2)?,
                };
                let key = self.keys.unwrap_data_key(&id, &old)?;
                let new = self.keys.ring().wrap(&key, &data_key_context(&id))?;
                let done = sqlx::query(
                    "UPDATE data_keys SET kek_id = $1, wrapped = $2 WHERE id = $3 AND kek_id = $4 AND wrapped = $5",
                )
                .bind(new.kek_id.as_str())
                .bind(new.bytes)
                .bind(&id)
                .bind(old.kek_id.as_str())
                .bind(old.bytes)
                .execute(&mut *tx.tx)
                .await?;
                count += done.rows_affected();
            }
            tx.commit().await?;
            if count == before {
                // Every row of the batch changed under us (another rotation?):
                // stop rather than spin; running again finishes the job.
                return Err(StoreError::Schema(
                    "key rotation made no progress: is another rotation running? Run it again"
                        .into(),
                ));
            }
        }
        let rows = sqlx::query("SELECT name, kek_id, wrapped FROM key_domains WHERE kek_id <> $1")
            .bind(active.as_str())
            .fetch_all(&self.pool)
            .await?;
        for row in rows {
            let name: String = row.try_get(0)?;
            let old = WrappedKey {
                kek_id: KekId::from_stored(&row.try_get::<String, _>(1)?),
                bytes: row.try_get(2)?,
            };
            let ring = self.keys.ring();
            let key = ring.unwrap(&old, &domain_context(&name))?;
            let new = ring.wrap(&key, &domain_context(&name))?;
            let done = sqlx::query(
                "UPDATE key_domains SET kek_id = $1, wrapped = $2 WHERE name = $3 AND kek_id = $4",
            )
            .bind(new.kek_id.as_str())
            .bind(new.bytes)
            .bind(&name)
            .bind(old.kek_id.as_str())
            .execute(&self.pool)
            .await?;
            count += done.rows_affected();
        }
        Ok(count)
    }
}
