//! Trygg's keys and encryption at rest.
//!
//! * A [`Keyring`] holds the key-encryption keys (KEKs), from a key file made on
//!   first start (mode 0600) or from the environment. One key is active (wraps
//!   new keys); earlier ones are retired (only unwrap) until nothing uses them.
//! * A [`DataKey`] is a random AES-256-GCM-SIV key. Each person has one; it
//!   encrypts their fields and is stored only wrapped by a KEK ([`WrappedKey`]).
//!   Destroying the wrapped key destroys the data (crypto-shredding).
//! * A [`BlindIndexKey`] makes keyed hashes (HMAC-SHA-256) for exact lookup of
//!   identity numbers without storing them in plaintext.
//!
//! Every ciphertext is bound to its place by associated data (table, record id,
//! field name), so it cannot be moved to another row or field unnoticed.
//!
//! Architecture invariant: this crate does no storage and never reads the clock.
//! Its only I/O is reading and writing the key file.

mod keyring;

pub use keyring::{KekId, KeySource, Keyring};

use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hmac;
use std::fmt;
use zeroize::Zeroizing;

/// Length of every symmetric key in bytes.
pub const KEY_LEN: usize = 32;
const CIPHERTEXT_VERSION: u8 = 1;
const TAG_LEN: usize = 16;

/// What went wrong with keys or ciphertexts. Messages name the problem, never
/// key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Authentication failed: wrong key, wrong place, or tampered bytes.
    #[error("decryption failed: the data was encrypted under another key or has been altered")]
    Decrypt,
    /// A wrapped key names a KEK the keyring does not have.
    #[error("key-encryption key {0} is not in the keyring (wrong or outdated key file?)")]
    UnknownKek(KekId),
    /// A ciphertext is not in a format this version knows.
    #[error("ciphertext format not recognised")]
    Format,
    /// The operating system's random source failed.
    #[error("the system random source failed")]
    Random,
    /// The key file is missing.
    #[error("key file {0} does not exist")]
    KeyFileMissing(std::path::PathBuf),
    /// The key file can be read by other users.
    #[error("key file {path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")]
    KeyFilePermissions {
        /// The file.
        path: std::path::PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The key file or environment value is not a keyring.
    #[error("{source_name} is not a valid Trygg keyring: line {line}: {reason}")]
    KeyringMalformed {
        /// Where it came from.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Reading or writing the key file failed.
    #[error("key file {path}: {error}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
    let mut raw = Zeroizing::new([0u8; KEY_LEN]);
    aws_lc_rs::rand::fill(raw.as_mut()).map_err(|_| CryptoError::Random)?;
    Ok(raw)
}

/// `N` bytes from the system's random source: nonces, tags, branches and
/// call ids that nobody may predict.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut raw = [0u8; N];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| CryptoError::Random)?;
    Ok(raw)
}

/// A uniformly random number in `0..bound` from the system's random source
/// (rejection sampling, so no value is likelier than another). For the log
/// review's random sample: nobody can predict or steer which entries it
/// picks. `bound` 0 gives 0.
pub fn random_below(bound: u64) -> Result<u64, CryptoError> {
    if bound == 0 {
        return Ok(0);
    }
    // The largest multiple of `bound` that fits; draws at or above it are
    // redrawn.
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let mut raw = [0u8; 8];
        aws_lc_rs::rand::fill(&mut raw).map_err(|_| CryptoError::Random)?;
        let draw = u64::from_le_bytes(raw);
        if draw < zone {
            return Ok(draw % bound);
        }
    }
}

/// A 256-bit symmetric key for data: AES-256-GCM-SIV with random nonces
/// (nonce-misuse resistant). Zeroized on drop.
pub struct DataKey {
    raw: Zeroizing<[u8; KEY_LEN]>,
    aead: RandomizedNonceKey,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

impl DataKey {
    /// The key's bytes as the seed of a signing key. Only for a key domain
    /// dedicated to that signing key (never a key that also seals data).
    pub fn signing_seed(&self) -> Zeroizing<[u8; KEY_LEN]> {
        self.raw.clone()
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self, CryptoError> {
        Self::from_raw(random_key()?)
    }

    fn from_raw(raw: Zeroizing<[u8; KEY_LEN]>) -> Result<Self, CryptoError> {
        let aead = RandomizedNonceKey::new(&AES_256_GCM_SIV, raw.as_ref())
            .map_err(|_| CryptoError::Random)?;
        Ok(Self { raw, aead })
    }

    /// Encrypts `plaintext`, binding it to `aad` (its place: table, id, field).
    /// Output: version byte, 12-byte nonce, ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut buf = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        buf.push(CIPHERTEXT_VERSION);
        buf.extend_from_slice(&[0u8; NONCE_LEN]);
        let mut body = plaintext.to_vec();
        let nonce = self
            .aead
            .seal_in_place_append_tag(Aad::from(aad), &mut body)
            .map_err(|_| CryptoError::Random)?;
        if let Some(slot) = buf.get_mut(1..1 + NONCE_LEN) {
            slot.copy_from_slice(nonce.as_ref());
        }
        buf.extend_from_slice(&body);
        Ok(buf)
    }

    /// Decrypts what [`DataKey::seal`] made with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::Format)?;
        if version != CIPHERTEXT_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Format);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Format)?;
        let mut body = Zeroizing::new(body.to_vec());
        let len = self
            .aead
            .open_in_place(nonce, Aad::from(aad), body.as_mut_slice())
            .map_err(|_| CryptoError::Decrypt)?
            .len();
        body.truncate(len);
        Ok(body)
    }

    /// Encrypts a UTF-8 string.
    pub fn seal_str(&self, plaintext: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal(plaintext.as_bytes(), aad)
    }

    /// Decrypts a UTF-8 string.
    pub fn open_string(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<String>, CryptoError> {
        let bytes = self.open(sealed, aad)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CryptoError::Format)?;
        Ok(Zeroizing::new(text.to_owned()))
    }

    fn raw(&self) -> &[u8] {
        self.raw.as_ref()
    }
}

/// A data key encrypted under a KEK, as stored in the database.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Which KEK wrapped it.
    pub kek_id: KekId,
    /// The sealed key bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedKey({})", self.kek_id)
    }
}

/// A key for blind indexes: HMAC-SHA-256 over a normalised value with a
/// purpose prefix, so the same number gives unrelated digests in different
/// tenants and fields.
pub struct BlindIndexKey(hmac::Key);

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexKey(<secret>)")
    }
}

impl BlindIndexKey {
    /// Uses a (dedicated, stored-wrapped) data key as blind-index key.
    pub fn from_data_key(key: &DataKey) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, key.raw()))
    }

    /// The digest of `parts`, each length-prefixed so that no two different
    /// part lists collide.
    pub fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.0);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sealed_data_opens_only_in_its_place_with_its_key() {
        let key = DataKey::generate().unwrap();
        let other = DataKey::generate().unwrap();
        let sealed = key
            .seal(b"Astrid Lindqvist", b"person/1/given_name")
            .unwrap();
        assert_eq!(
            &*key.open(&sealed, b"person/1/given_name").unwrap(),
            b"Astrid Lindqvist"
        );
        assert!(matches!(
            key.open(&sealed, b"person/2/given_name"),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            other.open(&sealed, b"person/1/given_name"),
            Err(CryptoError::Decrypt)
        ));
        assert!(!sealed.windows(6).any(|w| w == b"Astrid"));
    }

    #[test]
    fn same_plaintext_gives_different_ciphertexts() {
        let key = DataKey::generate().unwrap();
        assert_ne!(key.seal(b"x", b"a").unwrap(), key.seal(b"x", b"a").unwrap());
    }

    #[test]
    fn malformed_ciphertexts_are_rejected_not_panicked_on() {
        let key = DataKey::generate().unwrap();
        for bad in [&[][..], &[1], &[2; 40], &[1; 28]] {
            assert!(key.open(bad, b"").is_err());
        }
    }

    #[test]
    fn blind_index_is_keyed_and_unambiguous() {
        let k1 = BlindIndexKey::from_data_key(&DataKey::generate().unwrap());
        let k2 = BlindIndexKey::from_data_key(&DataKey::generate().unwrap());
        let a = k1.digest(&[b"t1", b"191212121212"]);
        assert_eq!(a, k1.digest(&[b"t1", b"191212121212"]));
        assert_ne!(a, k2.digest(&[b"t1", b"191212121212"]));
        assert_ne!(a, k1.digest(&[b"t2", b"191212121212"]));
        assert_ne!(k1.digest(&[b"ab", b"c"]), k1.digest(&[b"a", b"bc"]));
    }

    proptest! {
        #[test]
        fn any_bit_flip_is_detected(data in proptest::collection::vec(any::<u8>(), 0..64), at in any::<usize>(), bit in 0u8..8) {
            let key = DataKey::generate().unwrap();
            let mut sealed = key.seal(&data, b"aad").unwrap();
            let i = at % sealed.len();
            sealed[i] ^= 1 << bit;
            prop_assert!(key.open(&sealed, b"aad").is_err());
        }

        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..256), aad in proptest::collection::vec(any::<u8>(), 0..32)) {
            let key = DataKey::generate().unwrap();
            let sealed = key.seal(&data, &aad).unwrap();
            prop_assert_eq!(&*key.open(&sealed, &aad).unwrap(), &data);
        }
    }

    #[test]
    fn random_below_stays_in_range_and_reaches_every_value() {
        let mut seen = [0u32; 7];
        for _ in 0..2_000 {
            let v = random_below(7).unwrap();
            assert!(v < 7);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
        assert_eq!(random_below(0).unwrap(), 0);
        assert_eq!(random_below(1).unwrap(), 0);
    }
}
