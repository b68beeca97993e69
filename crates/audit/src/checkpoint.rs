//! Signed checkpoints: a tree size, its tree head and a time, signed with
//! Ed25519 in the C2SP signed-note format, so that anyone holding the log's
//! verifier key can check a tree head without trusting the server that
//! handed it over.
//!
//! A checkpoint note (C2SP tlog-checkpoint, with the time as its one
//! extension line):
//!
//! ```text
//! trygg.example/audit/exempelby
//! 1042
//! p+4rPp+KkwW3oaLN7VxZBUPvOL/MLWkyrHuUaNYZGuY=
//! 2026-11-23T09:30:00Z
//!
//! — trygg.example/audit/exempelby iOXGORp5e9j7o0l1MQJXznr3zuSHg+Ft5uaxynGdSRTaVGftFzOaddR30VZ2dkBX2lCqBB1qEdEw6VVz4CyRL5RIqQA=
//! ```
//!
//! and the verifier key that checks it:
//!
//! ```text
//! trygg.example/audit/exempelby+88e5c639+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs
//! ```
//!
//! The signed text is everything up to and including the newline before the
//! blank line. The signature line carries the key name and the base64 of the
//! 4-byte key id followed by the 64-byte Ed25519 signature; the key id is the
//! first four bytes of `SHA-256(key name || 0x0A || 0x01 || public key)`.
//! A verifier key is written `<name>+<key id, 8 hex digits>+<base64(0x01 ||
//! public key)>`.
//!
//! Parsing is strict and bounded: a note larger than [`MAX_NOTE_BYTES`], with
//! more than [`MAX_SIGNATURES`] signature lines, with control characters, or
//! whose body is not exactly the canonical form [`SigningKey::sign`] writes
//! (no leading zeros, canonical base64, UTC time) is refused with an error.
//!
//! References: <https://c2sp.org/signed-note>, <https://c2sp.org/tlog-checkpoint>,
//! RFC 8032 (Ed25519), RFC 3339 (time).

use crate::merkle::Hash;
use aws_lc_rs::digest;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The largest note [`VerifyingKey::verify`] reads, in bytes.
pub const MAX_NOTE_BYTES: usize = 8 * 1024;
/// The most signature lines [`VerifyingKey::verify`] reads (the note
/// specification requires accepting at least 16).
pub const MAX_SIGNATURES: usize = 16;
/// The longest key name or origin, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// The longest verifier key text [`VerifyingKey::parse`] reads, in bytes.
const MAX_VERIFIER_KEY_BYTES: usize = MAX_NAME_BYTES + 1 + 8 + 1 + 44;

/// Signature type byte of Ed25519 in the note specification.
const ED25519_TYPE: u8 = 0x01;
const ED25519_PUBLIC_KEY_LEN: usize = 32;
const ED25519_SIGNATURE_LEN: usize = 64;
const KEY_ID_LEN: usize = 4;
/// Starts every signature line: em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A tree head at a point in time: what a log signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `trygg.example/audit/exempelby`: non-empty, at
    /// most [`MAX_NAME_BYTES`] bytes, no control characters.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The tree head (MTH) over those leaves.
    pub root: Hash,
    /// When the log made the checkpoint. Written in UTC with RFC 3339
    /// (years 0000–9999); a verified checkpoint's time is in UTC.
    pub time: OffsetDateTime,
}

impl Checkpoint {
    /// The note text of this checkpoint: the lines that are signed.
    fn body(&self) -> Result<String, CheckpointError> {
        if !valid_origin(&self.origin) {
            return Err(CheckpointError::Unsignable("origin"));
        }
        let time = self
            .time
            .checked_to_offset(UtcOffset::UTC)
            .and_then(|utc| utc.format(&Rfc3339).ok())
            .ok_or(CheckpointError::Unsignable("time (year outside 0000-9999)"))?;
        Ok(format!(
            "{}\n{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root),
            time
        ))
    }

    /// Parses a note text; it must be exactly what [`Checkpoint::body`] writes.
    fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let malformed = CheckpointError::MalformedCheckpoint;
        let lines = text
            .strip_suffix('\n')
            .ok_or(malformed("no final newline"))?;
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root), Some(time), None) = (
            lines.next(),
            lines.next(),
            lines.next(),
            lines.next(),
            lines.next(),
        ) else {
            return Err(malformed("not four lines"));
        };
        if !valid_origin(origin) {
            return Err(malformed("origin"));
        }
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(malformed("tree size"));
        }
        let size = size.parse::<u64>().map_err(|_| malformed("tree size"))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
            .ok_or(malformed("root hash"))?;
        let time = OffsetDateTime::parse(time, &Rfc3339)
            .ok()
            .and_then(|t| t.checked_to_offset(UtcOffset::UTC))
            .ok_or(malformed("time"))?;
        let checkpoint = Self {
            origin: origin.to_owned(),
            size,
            root,
            time,
        };
        // One encoding per checkpoint: refuse every other spelling.
        if checkpoint.body().ok().as_deref() != Some(text) {
            return Err(malformed("not in canonical form"));
        }
        Ok(checkpoint)
    }
}

/// What went wrong with a key, a note or a checkpoint. Messages name the
/// problem, never key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A key name is empty, too long, or contains a space, a `+` or a control
    /// character.
    #[error(
        "invalid key name: empty, over {MAX_NAME_BYTES} bytes, or with a space, '+' or control character"
    )]
    InvalidKeyName,
    /// The Ed25519 seed was refused.
    #[error("the Ed25519 seed was refused")]
    InvalidSeed,
    /// A verifier key text is not `<name>+<key id>+<base64 key>`.
    #[error("invalid verifier key: {0}")]
    InvalidVerifierKey(&'static str),
    /// The note is larger than [`MAX_NOTE_BYTES`].
    #[error("note too large: {len} bytes, the limit is {max}")]
    TooLarge {
        /// The note's size in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The note is not a signed note.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// The note has more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// No signature line is by this key (name and key id).
    #[error("the note is not signed by this key")]
    NotSignedByKey,
    /// A signature line by this key does not verify.
    #[error("signature does not verify: the note was altered or signed by another key")]
    BadSignature,
    /// The signed text is not a checkpoint in canonical form.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// The checkpoint cannot be written as a note.
    #[error("cannot sign checkpoint: invalid {0}")]
    Unsignable(&'static str),
    /// The signing operation failed.
    #[error("signing failed")]
    SigningFailed,
}

/// The key that signs a log's checkpoints: an Ed25519 key pair and its key
/// name. `Debug` shows the name and key id, never the private key.
pub struct SigningKey {
    key_pair: Ed25519KeyPair,
    verifying: VerifyingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.verifying.name)
            .field("key_id", &format_args!("{:08x}", self.verifying.key_id()))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The key with this name and 32-byte Ed25519 seed (RFC 8032 private key).
    /// The name should be the log's origin.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        let key_pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| CheckpointError::InvalidSeed)?;
        let public_key = <[u8; ED25519_PUBLIC_KEY_LEN]>::try_from(key_pair.public_key().as_ref())
            .map_err(|_| CheckpointError::InvalidSeed)?;
        Ok(Self {
            key_pair,
            verifying: VerifyingKey::new(name.to_owned(), public_key),
        })
    }

    /// The matching public key, to publish.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// Signs the checkpoint and returns the note text.
    ///
    /// Fails if the origin is empty, too long or has control characters, or
    /// the time cannot be written in RFC 3339 (a year outside 0000–9999).
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
        let body = checkpoint.body()?;
        self.sign_note(&body)
    }

    /// Signs a note text (which must end in a newline).
    fn sign_note(&self, text: &str) -> Result<String, CheckpointError> {
        let signature = self
            .key_pair
            .try_sign(text.as_bytes())
            .map_err(|_| CheckpointError::SigningFailed)?;
        let mut blob = Vec::with_capacity(KEY_ID_LEN + ED25519_SIGNATURE_LEN);
        blob.extend_from_slice(&self.verifying.key_id.to_be_bytes());
        blob.extend_from_slice(signature.as_ref());
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.verifying.name,
            STANDARD.encode(blob)
        ))
    }
}

/// A log's public key: a key name and an Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    name: String,
    public_key: [u8; ED25519_PUBLIC_KEY_LEN],
    key_id: u32,
}

impl VerifyingKey {
    fn new(name: String, public_key: [u8; ED25519_PUBLIC_KEY_LEN]) -> Self {
        let key_id = key_id(&name, &public_key);
        Self {
            name,
            public_key,
            key_id,
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The key id: the first four bytes of `SHA-256(name || 0x0A || 0x01 ||
    /// public key)`, big-endian.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The verifier key text: `<name>+<key id as 8 hex digits>+<base64(0x01
    /// || public key)>`.
    pub fn to_text(&self) -> String {
        let mut typed = Vec::with_capacity(1 + ED25519_PUBLIC_KEY_LEN);
        typed.push(ED25519_TYPE);
        typed.extend_from_slice(&self.public_key);
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(typed)
        )
    }

    /// Parses a verifier key text (see [`VerifyingKey::to_text`]). The key id
    /// must match the name and key; only Ed25519 keys are accepted.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let invalid = CheckpointError::InvalidVerifierKey;
        if text.len() > MAX_VERIFIER_KEY_BYTES {
            return Err(invalid("too long"));
        }
        // The name and the key id contain no '+'; the base64 may.
        let (name, rest) = text.split_once('+').ok_or(invalid("no '+'"))?;
        let (id, key) = rest.split_once('+').ok_or(invalid("no second '+'"))?;
        check_key_name(name).map_err(|_| invalid("key name"))?;
        if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid("key id is not 8 lower-case hexadecimal digits"));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| invalid("key id"))?;
        let typed = STANDARD
            .decode(key)
            .map_err(|_| invalid("key is not base64"))?;
        let (&kind, public_key) = typed.split_first().ok_or(invalid("empty key"))?;
        if kind != ED25519_TYPE {
            return Err(invalid("not an Ed25519 key"));
        }
        let public_key = <[u8; ED25519_PUBLIC_KEY_LEN]>::try_from(public_key)
            .map_err(|_| invalid("Ed25519 key is not 32 bytes"))?;
        let parsed = Self::new(name.to_owned(), public_key);
        if parsed.key_id != id {
            return Err(invalid("key id does not match the name and key"));
        }
        Ok(parsed)
    }

    /// Verifies a checkpoint note signed by this key and returns the
    /// checkpoint. Signatures by other keys are ignored; a signature by this
    /// key that does not verify rejects the note.
    ///
    /// The caller checks that the origin is the log it expects, and compares
    /// the size with the last checkpoint it holds (with a consistency proof).
    pub fn verify(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let text = self.open_note(note)?;
        Checkpoint::parse_body(text)
    }

    /// Verifies a signed note and returns its signed text.
    fn open_note<'a>(&self, note: &'a str) -> Result<&'a str, CheckpointError> {
        let malformed = CheckpointError::MalformedNote;
        if note.len() > MAX_NOTE_BYTES {
            return Err(CheckpointError::TooLarge {
                len: note.len(),
                max: MAX_NOTE_BYTES,
            });
        }
        if note.chars().any(|c| c.is_ascii_control() && c != '\n') {
            return Err(malformed("control character"));
        }
        // The text ends at the last blank line; signature lines follow it.
        let split = note.rfind("\n\n").ok_or(malformed("no blank line"))?;
        let text = note.get(..=split).ok_or(malformed("no text"))?;
        let signatures = note.get(split + 2..).ok_or(malformed("no signatures"))?;
        let signatures = signatures
            .strip_suffix('\n')
            .ok_or(malformed("no final newline"))?;
        if signatures.is_empty() {
            return Err(malformed("no signatures"));
        }
        let verifier = UnparsedPublicKey::new(&ED25519, &self.public_key);
        let mut verified = false;
        for (n, line) in signatures.split('\n').enumerate() {
            if n >= MAX_SIGNATURES {
                return Err(CheckpointError::TooManySignatures);
            }
            let line = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or(malformed("signature line without em dash"))?;
            let (name, blob) = line
                .split_once(' ')
                .ok_or(malformed("signature line without signature"))?;
            check_key_name(name).map_err(|_| malformed("signature key name"))?;
            let blob = STANDARD
                .decode(blob)
                .map_err(|_| malformed("signature is not base64"))?;
            let (id, signature) = blob
                .split_first_chunk::<KEY_ID_LEN>()
                .ok_or(malformed("signature too short"))?;
            if name != self.name || u32::from_be_bytes(*id) != self.key_id {
                continue; // another key's signature: ignored
            }
            if signature.len() != ED25519_SIGNATURE_LEN
                || verifier.verify(text.as_bytes(), signature).is_err()
            {
                return Err(CheckpointError::BadSignature);
            }
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(CheckpointError::NotSignedByKey)
        }
    }
}

/// The note key id of an Ed25519 key.
fn key_id(name: &str, public_key: &[u8; ED25519_PUBLIC_KEY_LEN]) -> u32 {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[ED25519_TYPE]);
    ctx.update(public_key);
    let hash = ctx.finish();
    hash.as_ref()
        .first_chunk::<KEY_ID_LEN>()
        .map_or(0, |id| u32::from_be_bytes(*id))
}

/// Key names: non-empty, at most [`MAX_NAME_BYTES`], no Unicode space, no
/// `+`, no control character.
fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(CheckpointError::InvalidKeyName);
    }
    Ok(())
}

/// Origins: non-empty, at most [`MAX_NAME_BYTES`], no control character.
fn valid_origin(origin: &str) -> bool {
    !origin.is_empty() && origin.len() <= MAX_NAME_BYTES && !origin.chars().any(char::is_control)
}

#[cfg(test)]
mod tests;
