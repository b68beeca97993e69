//! Key-encryption keys: the key file, the environment, rotation.
//!
//! Key file format (text, one key per line, `#` comments):
//!
//! ```text
//! trygg-kek v1 active  <base64 of 32 bytes>
//! trygg-kek v1 retired <base64 of 32 bytes>
//! ```
//!
//! A key's id is derived from the key itself (HMAC-SHA-256 of a fixed label,
//! first 8 bytes, hex), so an id can never point at the wrong key.

use crate::{CryptoError, DataKey, KEY_LEN, WrappedKey, random_key};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Identifies a KEK without revealing it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KekId(String);

impl KekId {
    fn of(raw: &[u8]) -> Self {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, raw), b"trygg kek id v1");
        Self(
            tag.as_ref()
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }

    /// Reads an id as stored in the database.
    pub fn from_stored(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// The id as text (16 hex digits).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KekId({})", self.0)
    }
}

/// Where the keyring came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file.
    File(PathBuf),
    /// The `TRYGG_MASTER_KEY` environment variable.
    Environment,
    /// Made in memory (tests).
    Memory,
}

struct Kek {
    id: KekId,
    active: bool,
    raw: Zeroizing<[u8; KEY_LEN]>,
    key: DataKey,
}

/// The key-encryption keys: exactly one active, any number retired.
pub struct Keyring {
    keys: Vec<Kek>,
    source: KeySource,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active_id())
            .field("keys", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>())
            .field("source", &self.source)
            .finish()
    }
}

fn wrap_aad(context: &[u8]) -> Vec<u8> {
    let mut aad = b"trygg wrapped key v1/".to_vec();
    aad.extend_from_slice(context);
    aad
}

impl Keyring {
    /// A new keyring with one fresh active key.
    pub fn generate() -> Result<Self, CryptoError> {
        let raw = random_key()?;
        Ok(Self {
            keys: vec![Kek::new(raw, true)?],
            source: KeySource::Memory,
        })
    }

    /// Parses keyring text (the key file's content, or `TRYGG_MASTER_KEY`).
    /// A bare base64 key is accepted as a keyring of one active key.
    pub fn parse(text: &str, source: KeySource) -> Result<Self, CryptoError> {
        let name = match &source {
            KeySource::File(p) => p.display().to_string(),
            KeySource::Environment => "TRYGG_MASTER_KEY".to_owned(),
            KeySource::Memory => "keyring".to_owned(),
        };
        let bad = |line, reason| CryptoError::KeyringMalformed {
            source_name: name.clone(),
            line,
            reason,
        };
        let mut keys: Vec<Kek> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (active, b64) = match fields.as_slice() {
                ["trygg-kek", "v1", "active", b64] => (true, *b64),
                ["trygg-kek", "v1", "retired", b64] => (false, *b64),
                [b64] => (true, *b64),
                ["trygg-kek", ..] => {
                    return Err(bad(i + 1, "expected: trygg-kek v1 active|retired KEY"));
                }
                _ => return Err(bad(i + 1, "not a key line")),
            };
            let decoded = Zeroizing::new(
                STANDARD
                    .decode(b64)
                    .map_err(|_| bad(i + 1, "key is not base64"))?,
            );
            let mut raw = Zeroizing::new([0u8; KEY_LEN]);
            if decoded.len() != KEY_LEN {
                return Err(bad(i + 1, "key is not 32 bytes"));
            }
            raw.copy_from_slice(&decoded);
            let kek = Kek::new(raw, active)?;
            if keys.iter().any(|k| k.id == kek.id) {
                return Err(bad(i + 1, "the same key appears twice"));
            }
            keys.push(kek);
        }
        match keys.iter().filter(|k| k.active).count() {
            0 if keys.is_empty() => Err(bad(0, "no keys")),
            1 => Ok(Self { keys, source }),
            0 => Err(bad(0, "no active key")),
            _ => Err(bad(0, "more than one active key")),
        }
    }

    /// The keyring as text for the key file.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::from(
            "# Trygg key-encryption keys. Secret: mode 0600, back it up apart from the database.\n\
             # Losing it makes all personal data unreadable. Rotate with `trygg admin rotate-keys`.\n",
        ));
        for k in &self.keys {
            let state = if k.active { "active " } else { "retired" };
            out.push_str(&format!(
                "trygg-kek v1 {state} {}\n",
                STANDARD.encode(k.raw.as_ref())
            ));
        }
        out
    }

    /// Reads a key file, refusing one that other users can read.
    pub fn load_file(path: &Path) -> Result<Self, CryptoError> {
        let io = |error| CryptoError::Io {
            path: path.to_owned(),
            error,
        };
        let meta = match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CryptoError::KeyFileMissing(path.to_owned()));
            }
            other => other.map_err(io)?,
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CryptoError::KeyFilePermissions {
                path: path.to_owned(),
                mode,
            });
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Self::parse(&text, KeySource::File(path.to_owned()))
    }

    /// Creates a new key file with a fresh key. Never overwrites: fails if the
    /// file exists.
    pub fn create_file(path: &Path) -> Result<Self, CryptoError> {
        let mut ring = Self::generate()?;
        write_new(path, &ring.to_text())?;
        ring.source = KeySource::File(path.to_owned());
        Ok(ring)
    }

    /// Replaces the key file with this keyring, atomically (write a new file
    /// beside it, fsync, rename, fsync the directory).
    pub fn save_file(&mut self, path: &Path) -> Result<(), CryptoError> {
        let io = |error| CryptoError::Io {
            path: path.to_owned(),
            error,
        };
        let tmp = path.with_extension("key.new");
        let _ = std::fs::remove_file(&tmp);
        write_new(&tmp, &self.to_text())?;
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        self.source = KeySource::File(path.to_owned());
        Ok(())
    }

    /// Where the keyring came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The key that wraps new data keys.
    pub fn active_id(&self) -> KekId {
        self.keys
            .iter()
            .find(|k| k.active)
            .map(|k| k.id.clone())
            .unwrap_or_else(|| KekId(String::new()))
    }

    /// All key ids, active first.
    pub fn ids(&self) -> Vec<KekId> {
        let mut ids: Vec<_> = self
            .keys
            .iter()
            .filter(|k| k.active)
            .map(|k| k.id.clone())
            .collect();
        ids.extend(self.keys.iter().filter(|k| !k.active).map(|k| k.id.clone()));
        ids
    }

    /// Whether the keyring holds this key.
    pub fn contains(&self, id: &KekId) -> bool {
        self.keys.iter().any(|k| &k.id == id)
    }

    /// Adds a fresh key and makes it the active one; the old active key is
    /// retired (still unwraps). Returns the new key's id.
    pub fn rotate(&mut self) -> Result<KekId, CryptoError> {
        let new = Kek::new(random_key()?, true)?;
        let id = new.id.clone();
        for k in &mut self.keys {
            k.active = false;
        }
        self.keys.insert(0, new);
        Ok(id)
    }

    /// Drops retired keys for which `in_use` says false. Returns the ids dropped.
    pub fn purge_retired(&mut self, in_use: impl Fn(&KekId) -> bool) -> Vec<KekId> {
        let mut dropped = Vec::new();
        self.keys.retain(|k| {
            let keep = k.active || in_use(&k.id);
            if !keep {
                dropped.push(k.id.clone());
            }
            keep
        });
        dropped
    }

    /// Wraps a data key under the active KEK; `context` (e.g. the owning
    /// record's id) is bound to the result.
    pub fn wrap(&self, key: &DataKey, context: &[u8]) -> Result<WrappedKey, CryptoError> {
        let kek = self
            .keys
            .iter()
            .find(|k| k.active)
            .ok_or_else(|| CryptoError::UnknownKek(KekId(String::new())))?;
        Ok(WrappedKey {
            kek_id: kek.id.clone(),
            bytes: kek.key.seal(key.raw(), &wrap_aad(context))?,
        })
    }

    /// Unwraps a data key made by [`Keyring::wrap`] with the same `context`.
    pub fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<DataKey, CryptoError> {
        let kek = self
            .keys
            .iter()
            .find(|k| k.id == wrapped.kek_id)
            .ok_or_else(|| CryptoError::UnknownKek(wrapped.kek_id.clone()))?;
        let bytes = kek.key.open(&wrapped.bytes, &wrap_aad(context))?;
        let mut raw = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::Format);
        }
        raw.copy_from_slice(&bytes);
        DataKey::from_raw(raw)
    }
}

impl Kek {
    fn new(raw: Zeroizing<[u8; KEY_LEN]>, active: bool) -> Result<Self, CryptoError> {
        let id = KekId::of(raw.as_ref());
        let key = DataKey::from_raw(raw.clone())?;
        Ok(Self {
            id,
            active,
            raw,
            key,
        })
    }
}

fn write_new(path: &Path, text: &str) -> Result<(), CryptoError> {
    let io = |error| CryptoError::Io {
        path: path.to_owned(),
        error,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_keys_unwrap_only_with_the_same_kek_and_context() {
        let ring = Keyring::generate().unwrap();
        let other = Keyring::generate().unwrap();
        let dek = DataKey::generate().unwrap();
        let wrapped = ring.wrap(&dek, b"person/1").unwrap();
        let back = ring.unwrap(&wrapped, b"person/1").unwrap();
        let sealed = dek.seal(b"x", b"f").unwrap();
        assert_eq!(&*back.open(&sealed, b"f").unwrap(), b"x");
        assert!(matches!(
            ring.unwrap(&wrapped, b"person/2"),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            other.unwrap(&wrapped, b"person/1"),
            Err(CryptoError::UnknownKek(_))
        ));
    }

    #[test]
    fn rotation_keeps_old_keys_for_unwrapping_until_purged() {
        let mut ring = Keyring::generate().unwrap();
        let old = ring.active_id();
        let dek = DataKey::generate().unwrap();
        let wrapped = ring.wrap(&dek, b"c").unwrap();
        let new = ring.rotate().unwrap();
        assert_ne!(old, new);
        assert_eq!(ring.active_id(), new);
        assert!(ring.unwrap(&wrapped, b"c").is_ok());
        assert_eq!(ring.wrap(&dek, b"c").unwrap().kek_id, new);
        // Round trip through text keeps both keys and which one is active.
        let text = ring.to_text();
        let reparsed = Keyring::parse(&text, KeySource::Memory).unwrap();
        assert_eq!(reparsed.ids(), vec![new.clone(), old.clone()]);
        assert_eq!(ring.purge_retired(|id| id == &old), Vec::<KekId>::new());
        assert_eq!(ring.purge_retired(|_| false), vec![old]);
        assert!(matches!(
            ring.unwrap(&wrapped, b"c"),
            Err(CryptoError::UnknownKek(_))
        ));
    }

    #[test]
    fn key_file_is_created_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trygg.key");
        let ring = Keyring::create_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            Keyring::create_file(&path),
            Err(CryptoError::Io { .. })
        ));
        assert_eq!(
            Keyring::load_file(&path).unwrap().active_id(),
            ring.active_id()
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Keyring::load_file(&path),
            Err(CryptoError::KeyFilePermissions { mode: 0o644, .. })
        ));
        assert!(matches!(
            Keyring::load_file(&dir.path().join("missing.key")),
            Err(CryptoError::KeyFileMissing(_))
        ));
    }

    #[test]
    fn malformed_keyrings_are_refused_with_the_line() {
        for (text, line) in [
            ("", 0),
            ("trygg-kek v1 active !!!", 1),
            ("# c\ntrygg-kek v1 active AAAA", 2),
            ("trygg-kek v2 active AAAA", 1),
            ("hello world", 1),
        ] {
            match Keyring::parse(text, KeySource::Memory) {
                Err(CryptoError::KeyringMalformed { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        let key = STANDARD.encode([7u8; 32]);
        let two_active = format!(
            "trygg-kek v1 active {key}\ntrygg-kek v1 active {}",
            STANDARD.encode([8u8; 32])
        );
        assert!(Keyring::parse(&two_active, KeySource::Memory).is_err());
        let dup = format!("trygg-kek v1 active {key}\ntrygg-kek v1 retired {key}");
        assert!(Keyring::parse(&dup, KeySource::Memory).is_err());
        assert!(Keyring::parse(&key, KeySource::Environment).is_ok());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let ring = Keyring::generate().unwrap();
        let text = ring.to_text();
        let b64 = text
            .lines()
            .last()
            .unwrap()
            .split_whitespace()
            .last()
            .unwrap()
            .to_owned();
        assert!(!format!("{ring:?}").contains(&b64));
    }
}
