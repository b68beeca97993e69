//! The pure core of Trygg's tamper-evident audit log, in the style of
//! Certificate Transparency: entries are the leaves of an append-only Merkle
//! tree, and the log periodically signs a checkpoint of the tree's size and
//! head. Anyone holding a checkpoint can then demand proof that an entry is in
//! the log (inclusion) and that a later checkpoint only appended to an
//! earlier one (consistency) — so entries cannot be removed or rewritten
//! without the change showing.
//!
//! * [`merkle`]: the tree of RFC 9162 §2.1 (identical to RFC 6962 §2.1) over
//!   SHA-256, with domain separation between leaves and interior nodes:
//!   `leaf = SHA-256(0x00 || entry)`, `node = SHA-256(0x01 || left || right)`,
//!   and the empty tree's head is `SHA-256("")`. Without the prefixes a node
//!   hash could be presented as a leaf (second-preimage attacks on the tree).
//!   [`merkle::Tree`] keeps the hashes of all complete subtrees in memory, so
//!   heads and proofs for any earlier size cost O(log² n); the `verify_*`
//!   functions follow the RFC's verification algorithms step by step. For
//!   retention, a tree can be rebuilt from its compact frontier at a size `k`
//!   ([`merkle::Tree::frontier`], [`merkle::Tree::from_frontier`]) once the
//!   first `k` entries are disposed of: it still gives every head, inclusion
//!   and consistency proof that involves only sizes and leaves from `k` on.
//! * [`checkpoint`]: a checkpoint (origin, tree size, base64 tree head, and the
//!   RFC 3339 time as an extension line) in the C2SP tlog-checkpoint format,
//!   signed with Ed25519 as a C2SP signed note (`— <key name>
//!   base64(4-byte key id || signature)`, key id = first four bytes of
//!   `SHA-256(key name || 0x0A || 0x01 || public key)`), and the matching
//!   verifier key text `<name>+<hex key id>+<base64(0x01 || public key)>`.
//! * [`verify`]: verifying a stored log as a stream. [`verify::Frontier`] is
//!   the compact form of the tree (the heads of its perfect subtrees, at most
//!   64 hashes); [`verify::Verifier`] reads the entries once, in stored order,
//!   checks each entry's number and leaf hash, and checks every signed
//!   checkpoint as soon as the stream reaches its size, so it reports the
//!   first problem ([`verify::AuditFinding`]) within one checkpoint interval
//!   of where it is. Its state is a cheap clone: resuming from a snapshot
//!   gives exactly the result of a full run. After disposal it starts from
//!   the kept frontier instead ([`verify::Verifier::resume_from`]), checked
//!   against the signed checkpoint of the disposed prefix.
//!
//! References:
//! * RFC 9162, Certificate Transparency Version 2.0, §2.1 (Merkle trees,
//!   inclusion and consistency proofs and their verification);
//!   RFC 6962 §2.1 defines the same tree (its test vectors are used here).
//! * C2SP signed-note: <https://c2sp.org/signed-note>
//! * C2SP tlog-checkpoint: <https://c2sp.org/tlog-checkpoint>
//! * RFC 8032 (Ed25519), RFC 3339 (date and time), RFC 4648 §4 (base64).
//!
//! Architecture invariant: no I/O, no database, no clock reads — the
//! checkpoint's time is an argument. SHA-256 and Ed25519 come from aws-lc-rs.

pub mod checkpoint;
pub mod merkle;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, SigningKey, VerifyingKey};
pub use merkle::{Hash, Tree};
pub use verify::{AuditFinding, Frontier, SignedHead, Verifier};
