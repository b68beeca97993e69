//! Verifying a stored log against its signed checkpoints, as a stream: the
//! entries are read once, in stored order, in memory that does not grow with
//! the log.
//!
//! [`Frontier`] is the compact form of the Merkle tree of RFC 9162 §2.1: only
//! the heads of the perfect subtrees that make up the tree of the current size
//! (one per set bit of the size, at most 64), enough to append a leaf and to
//! compute the tree head. [`Verifier`] feeds the stored entries through a
//! frontier and checks, in this order:
//!
//! 1. each entry on its own: its number is its place (otherwise
//!    [`AuditFinding::Missing`]), its body gives its stored leaf hash and the
//!    caller found its searchable columns to agree with the body (otherwise
//!    [`AuditFinding::Edited`]);
//! 2. every signed checkpoint — the kept one and those stored with the log —
//!    as soon as the stream reaches its size: the recomputed head must be the
//!    signed one (otherwise [`AuditFinding::Changed`], between the last
//!    checkpoint that matched and this one). A change that also rewrote the
//!    stored leaf hashes is therefore found within one checkpoint interval of
//!    where it is, not only at the end of the log;
//! 3. at the end, that the log reaches the kept checkpoint's size (otherwise
//!    [`AuditFinding::Truncated`]).
//!
//! The first finding is final. Stored checkpoints beyond the end of the log
//! are not checked (there is nothing to check them against); the kept one
//! always is.
//!
//! # Snapshots
//!
//! A [`Verifier`] is a plain value (the frontier, the position, the index of
//! the next checkpoint, the size of the last matched one, the finding) and is
//! cheap to [`Clone`]; the checkpoints are shared. A full run
//! ([`verify`], [`Verifier::resume`]) is the fold of [`Verifier::push`] over
//! the entries followed by [`Verifier::finish`], and each step depends only on
//! the state and the entry. So a clone taken after the first `k` entries of
//! one input, then fed the rest of another input that has the same first `k`
//! entries, gives exactly the result of a full run over that other input.
//!
//! # After disposal (retention)
//!
//! When the oldest `k` entries are disposed of, `k` the size of a signed
//! checkpoint, the store keeps the frontier of the tree at `k` (see
//! [`crate::merkle`]: [`crate::Tree::frontier`], [`Frontier::from_hashes`])
//! and that checkpoint. [`Verifier::resume_from`] starts from the frontier
//! instead of from entry 0:
//!
//! * the frontier's head must be the signed head of every checkpoint of size
//!   `k` (otherwise [`AuditFinding::PrunedPrefixMismatch`]), and there must be
//!   one (otherwise [`AuditFinding::PrunedPrefixUnsigned`]);
//! * the kept checkpoint must cover at least the `k` disposed entries: one
//!   that covers fewer cannot be checked any more
//!   ([`AuditFinding::KeptBeforeDisposal`]), rather than a false "intact";
//! * stored checkpoints smaller than `k` are skipped;
//! * the stream then starts at entry number `k`, and every later check is as
//!   in a full run. With the pristine log's frontier at `k`, the verifier is
//!   the very state a full run reaches after the first `k` entries, so a
//!   problem after `k` is reported exactly as a full run reports it.

use crate::checkpoint::Checkpoint;
use crate::merkle::{Hash, empty_root, leaf_hash, node_hash};
use std::fmt;
use std::sync::Arc;

/// The compact Merkle frontier of an append-only tree (RFC 9162 §2.1): the
/// heads of the perfect subtrees of `2^k` leaves that make up the tree of the
/// current size, largest (leftmost) first — one per set bit of the size, so at
/// most 64 hashes. [`Frontier::root`] equals [`crate::Tree::root`] over the
/// same leaves.
///
/// Appending costs one node hash on average (at most 64); the head costs one
/// node hash per set bit of the size.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    /// The number of leaves.
    len: u64,
    /// `peaks[j]` is the head of the `j`-th perfect subtree from the left;
    /// their sizes are the set bits of `len`, largest first.
    peaks: Vec<Hash>,
}

/// The tree already holds `u64::MAX` leaves: a larger size cannot be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the tree already holds 2^64 - 1 leaves, the most a size can count")]
pub struct FrontierFull;

impl fmt::Debug for Frontier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frontier")
            .field("len", &self.len)
            .field("root", &Hex(&self.root()))
            .finish()
    }
}

/// Lower-case hexadecimal in `Debug` output.
struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self {
            len: 0,
            peaks: Vec::new(),
        }
    }

    /// Appends a leaf hash (see [`crate::merkle::leaf_hash`]). Refused, and
    /// nothing changes, if the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf: Hash) -> Result<(), FrontierFull> {
        let len = self.len.checked_add(1).ok_or(FrontierFull)?;
        // Every trailing set bit of the old size is a subtree of the same size
        // as the one being completed: merge them, smallest first.
        let mut carry = leaf;
        let mut merging = self.len;
        while merging & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                break; // unreachable: one peak per set bit of `len`
            };
            carry = node_hash(&left, &carry);
            merging >>= 1;
        }
        self.peaks.push(carry);
        self.len = len;
        Ok(())
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The heads of the perfect subtrees, largest (leftmost) first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// The frontier of a tree of `size` leaves from the heads of its perfect
    /// subtrees, largest (leftmost) first, as [`crate::Tree::frontier`] gives
    /// them; `None` unless there is one hash per set bit of `size`.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        (hashes.len() == usize::try_from(size.count_ones()).ok()?).then_some(Self {
            len: size,
            peaks: hashes,
        })
    }

    /// The heads of the perfect subtrees, largest (leftmost) first: the
    /// input of [`crate::Tree::from_frontier`] and [`Frontier::from_hashes`].
    pub fn into_hashes(self) -> Vec<Hash> {
        self.peaks
    }

    /// The tree head (MTH of RFC 9162 §2.1.1): the peaks folded from the
    /// right, `node(p0, node(p1, … node(p_{m-2}, p_{m-1})))`; the empty tree's
    /// head is `SHA-256("")`.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(&last) = peaks.next() else {
            return empty_root();
        };
        peaks.fold(last, |right, left| node_hash(left, &right))
    }
}

/// A tree size and its head from a checkpoint whose signature has already
/// been verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignedHead {
    /// The number of entries the checkpoint covers.
    pub size: u64,
    /// The signed tree head over them.
    pub root: Hash,
}

impl From<&Checkpoint> for SignedHead {
    fn from(c: &Checkpoint) -> Self {
        Self {
            size: c.size,
            root: c.root,
        }
    }
}

/// One stored entry, as the verifier is fed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The sequence number stored with the entry.
    pub seq: u64,
    /// The entry's canonical encoding, which the leaf hashes.
    pub body: &'a [u8],
    /// The leaf hash stored with the entry (`None` if absent or malformed).
    pub leaf_hash: Option<Hash>,
    /// Whether the caller found the entry's other stored data (a store's
    /// searchable columns) to agree with its body.
    pub columns_agree: bool,
}

/// What verification found: the first problem, or that the log is intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFinding {
    /// Every entry the checkpoint covers is there, unchanged and in order.
    Intact {
        /// Entries the checkpoint covers.
        covered: u64,
        /// Entries integrated after it.
        after: u64,
    },
    /// Entry `seq` is missing, or out of its place.
    Missing {
        /// The first place without its entry.
        seq: u64,
    },
    /// Entry `seq` no longer matches its leaf hash, or its columns no longer
    /// match its body.
    Edited {
        /// The first edited entry.
        seq: u64,
    },
    /// The log ends before the checkpoint's size.
    Truncated {
        /// Entries the log holds.
        held: u64,
        /// Entries the checkpoint covers.
        covered: u64,
    },
    /// The entries do not give the signed head: one in `first..=last` was
    /// changed, replaced or moved (together with its stored leaf hash).
    Changed {
        /// The first entry that may have been changed.
        first: u64,
        /// The last.
        last: u64,
    },
    /// The frontier kept for the disposed entries `0..size` does not give
    /// the signed head of a checkpoint of that size.
    PrunedPrefixMismatch {
        /// The number of disposed entries.
        size: u64,
    },
    /// No signed checkpoint has the size of the disposed prefix, so the
    /// frontier kept for it cannot be checked.
    PrunedPrefixUnsigned {
        /// The number of disposed entries.
        size: u64,
    },
    /// The kept checkpoint covers fewer entries than were disposed of: what
    /// it signed can no longer be recomputed.
    KeptBeforeDisposal {
        /// Entries the kept checkpoint covers.
        kept: u64,
        /// Entries disposed of.
        disposed: u64,
    },
}

impl fmt::Display for AuditFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditFinding::Intact { covered, after } => write!(
                f,
                "intact: the {covered} entries the checkpoint covers verify ({after} entries after it)"
            ),
            AuditFinding::Missing { seq } => write!(f, "entry {seq} was deleted or moved"),
            AuditFinding::Edited { seq } => write!(f, "entry {seq} was edited"),
            AuditFinding::Truncated { held, covered } => write!(
                f,
                "the log was truncated: it holds {held} entries, the checkpoint covers {covered}"
            ),
            AuditFinding::Changed { first, last } => write!(
                f,
                "an entry between {first} and {last} was changed, replaced or reordered"
            ),
            AuditFinding::PrunedPrefixMismatch { size } => write!(
                f,
                "the disposed entries' summary at {size} does not match its signed checkpoint"
            ),
            AuditFinding::PrunedPrefixUnsigned { size } => write!(
                f,
                "no signed checkpoint covers exactly the {size} disposed entries, so their summary cannot be checked"
            ),
            AuditFinding::KeptBeforeDisposal { kept, disposed } => write!(
                f,
                "the kept checkpoint covers only disposed entries ({kept}, of {disposed} disposed); keep a newer one"
            ),
        }
    }
}

/// Streaming verification of a log against a kept checkpoint and the signed
/// checkpoints stored with it; see the [module documentation](self).
///
/// Feed every stored entry, in stored order, to [`Verifier::push`], stop at
/// the first finding it returns, and call [`Verifier::finish`] at the end of
/// the log. Memory: the frontier (at most 64 hashes) and the checkpoints.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// The kept checkpoint and the stored ones, sorted by size, without
    /// duplicates; shared between clones.
    checkpoints: Arc<[SignedHead]>,
    /// The checkpoint kept outside the system.
    kept: SignedHead,
    /// The tree of the entries read so far.
    frontier: Frontier,
    /// The first checkpoint not yet checked.
    next: usize,
    /// The size of the last checkpoint that matched (0 before any).
    matched: u64,
    /// The first finding, once there is one.
    finding: Option<AuditFinding>,
}

impl Verifier {
    /// A verifier for a log that must extend `kept` (a checkpoint kept outside
    /// the system) and that was signed at the `stored` checkpoints along the
    /// way. Both must already have been verified with the log's key; `stored`
    /// may be in any order, may contain `kept`, and may repeat a checkpoint.
    ///
    /// Checkpoints of size 0 are checked at once against the empty tree's
    /// head; a mismatch there is reported as `Changed { first: 0, last: 0 }`.
    pub fn new(kept: SignedHead, stored: impl IntoIterator<Item = SignedHead>) -> Self {
        Self::resume_from(Frontier::new(), kept, stored)
    }

    /// A verifier for a log whose first `frontier.len()` entries were
    /// disposed of, keeping only `frontier` (the frontier of the tree at that
    /// size): the stream starts at entry number `frontier.len()`. `kept` and
    /// `stored` are as for [`Verifier::new`], which is this with the empty
    /// frontier. See the [module documentation](self#after-disposal-retention).
    ///
    /// Checked at once, the first failure being the finding: there must be a
    /// checkpoint of the frontier's size ([`AuditFinding::PrunedPrefixUnsigned`])
    /// and every one must have the frontier's head
    /// ([`AuditFinding::PrunedPrefixMismatch`]); the kept checkpoint must not
    /// be smaller ([`AuditFinding::KeptBeforeDisposal`]). Smaller stored
    /// checkpoints are skipped: they cover only disposed entries.
    pub fn resume_from(
        frontier: Frontier,
        kept: SignedHead,
        stored: impl IntoIterator<Item = SignedHead>,
    ) -> Self {
        let mut checkpoints: Vec<SignedHead> = stored.into_iter().collect();
        checkpoints.push(kept);
        checkpoints.sort_unstable();
        checkpoints.dedup();
        let mut verifier = Self {
            checkpoints: checkpoints.into(),
            kept,
            frontier,
            next: 0,
            matched: 0,
            finding: None,
        };
        if verifier.frontier.is_empty() {
            verifier.check_reached();
        } else {
            verifier.check_disposed();
        }
        verifier
    }

    /// Checks the next stored entry, and every checkpoint whose size the log
    /// reaches with it. Returns the finding once there is one (every later
    /// call returns the same finding and changes nothing).
    ///
    /// The entry at position `u64::MAX` cannot be counted (the size after it
    /// does not fit in a `u64`) and is reported as missing.
    pub fn push(&mut self, entry: Entry<'_>) -> Option<AuditFinding> {
        if self.finding.is_some() {
            return self.finding;
        }
        let pos = self.frontier.len();
        if entry.seq != pos {
            return self.found(AuditFinding::Missing { seq: pos });
        }
        let leaf = leaf_hash(entry.body);
        if entry.leaf_hash != Some(leaf) || !entry.columns_agree {
            return self.found(AuditFinding::Edited { seq: pos });
        }
        if self.frontier.push(leaf).is_err() {
            return self.found(AuditFinding::Missing { seq: pos });
        }
        self.check_reached();
        self.finding
    }

    /// Feeds the rest of the log and finishes: the fold of
    /// [`Verifier::push`] over `entries`, then [`Verifier::finish`]. On a
    /// clone taken after the first `k` entries, with the entries from `k` on,
    /// this gives exactly the result of a full run.
    pub fn resume<'a>(mut self, entries: impl IntoIterator<Item = Entry<'a>>) -> AuditFinding {
        for entry in entries {
            if self.push(entry).is_some() {
                break;
            }
        }
        self.finish()
    }

    /// The result once the log has ended: the first finding, else
    /// [`AuditFinding::Truncated`] if the log is shorter than the kept
    /// checkpoint, else [`AuditFinding::Intact`].
    pub fn finish(&self) -> AuditFinding {
        if let Some(finding) = self.finding {
            return finding;
        }
        let held = self.frontier.len();
        match held.checked_sub(self.kept.size) {
            None => AuditFinding::Truncated {
                held,
                covered: self.kept.size,
            },
            Some(after) => AuditFinding::Intact {
                covered: self.kept.size,
                after,
            },
        }
    }

    /// The first finding so far, if any.
    pub fn finding(&self) -> Option<AuditFinding> {
        self.finding
    }

    /// How many entries have been read and found in order: the position of
    /// the next entry.
    pub fn position(&self) -> u64 {
        self.frontier.len()
    }

    /// The frontier over the entries read so far.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// The kept checkpoint.
    pub fn kept(&self) -> SignedHead {
        self.kept
    }

    /// The size of the next checkpoint the stream will be checked against,
    /// if any is left.
    pub fn next_checkpoint(&self) -> Option<u64> {
        self.checkpoints.get(self.next).map(|c| c.size)
    }

    fn found(&mut self, finding: AuditFinding) -> Option<AuditFinding> {
        self.finding = Some(finding);
        self.finding
    }

    /// Checks the disposed prefix: the frontier against the checkpoints of
    /// its size, and that the kept checkpoint is not smaller. Skips the
    /// checkpoints up to that size.
    fn check_disposed(&mut self) {
        let size = self.frontier.len();
        let from = self.checkpoints.partition_point(|c| c.size < size);
        let to = self.checkpoints.partition_point(|c| c.size <= size);
        let signed = self.checkpoints.get(from..to).unwrap_or_default();
        let root = self.frontier.root();
        self.finding = if signed.is_empty() {
            Some(AuditFinding::PrunedPrefixUnsigned { size })
        } else if signed.iter().any(|c| c.root != root) {
            Some(AuditFinding::PrunedPrefixMismatch { size })
        } else if self.kept.size < size {
            Some(AuditFinding::KeptBeforeDisposal {
                kept: self.kept.size,
                disposed: size,
            })
        } else {
            None
        };
        self.next = to;
        self.matched = size;
    }

    /// Checks every checkpoint of the current size. All smaller ones have
    /// been checked already: this runs at the start and after every entry.
    fn check_reached(&mut self) {
        let pos = self.frontier.len();
        let mut root = None;
        let mut reached = false;
        while let Some(c) = self.checkpoints.get(self.next) {
            if c.size > pos {
                break;
            }
            let head = *root.get_or_insert_with(|| self.frontier.root());
            if c.root != head {
                self.finding = Some(AuditFinding::Changed {
                    first: self.matched,
                    last: pos.saturating_sub(1),
                });
                return;
            }
            self.next += 1;
            reached = true;
        }
        if reached {
            self.matched = pos;
        }
    }
}

/// Verifies a whole log in one pass: [`Verifier::new`], then
/// [`Verifier::resume`] with all the entries in stored order.
pub fn verify<'a>(
    kept: SignedHead,
    stored: impl IntoIterator<Item = SignedHead>,
    entries: impl IntoIterator<Item = Entry<'a>>,
) -> AuditFinding {
    Verifier::new(kept, stored).resume(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::Tree;
    use proptest::prelude::*;

    fn leaf(i: u64) -> Hash {
        leaf_hash(&i.to_be_bytes())
    }

    fn body(i: u64) -> Vec<u8> {
        format!("entry {i}").into_bytes()
    }

    /// A log of `n` entries and its checkpoints at `sizes` (each `<= n`).
    fn log(n: u64, sizes: &[u64]) -> (Vec<Vec<u8>>, Vec<SignedHead>) {
        let bodies: Vec<Vec<u8>> = (0..n).map(body).collect();
        let tree = Tree::from_leaves(bodies.iter().map(|b| leaf_hash(b)));
        let heads = sizes
            .iter()
            .map(|&size| SignedHead {
                size,
                root: tree.root_at(size).unwrap(),
            })
            .collect();
        (bodies, heads)
    }

    fn entries(bodies: &[Vec<u8>]) -> impl Iterator<Item = Entry<'_>> {
        bodies.iter().enumerate().map(|(i, b)| Entry {
            seq: i as u64,
            body: b,
            leaf_hash: Some(leaf_hash(b)),
            columns_agree: true,
        })
    }

    #[test]
    fn the_frontier_head_is_the_tree_head_at_every_size_up_to_1100() {
        let mut frontier = Frontier::new();
        let mut tree = Tree::new();
        assert_eq!(frontier.root(), tree.root());
        assert!(frontier.is_empty());
        for i in 0..1100 {
            frontier.push(leaf(i)).unwrap();
            tree.push(leaf(i));
            assert_eq!(frontier.len(), tree.len());
            assert_eq!(frontier.root(), tree.root(), "size {}", i + 1);
            assert_eq!(frontier.peaks().len() as u32, frontier.len().count_ones());
        }
    }

    #[test]
    fn a_full_frontier_refuses_a_leaf_and_stays_as_it_was() {
        let mut full = Frontier {
            len: u64::MAX,
            peaks: vec![[7; 32]; 64],
        };
        let before = full.clone();
        assert_eq!(full.push(leaf(0)), Err(FrontierFull));
        assert_eq!(full, before);
        let _ = full.root();
        // A verifier at that position reports the entry as out of place.
        let mut v = Verifier::new(
            SignedHead {
                size: 0,
                root: empty_root(),
            },
            [],
        );
        v.frontier = full;
        let b = body(0);
        let e = Entry {
            seq: u64::MAX,
            body: &b,
            leaf_hash: Some(leaf_hash(&b)),
            columns_agree: true,
        };
        assert_eq!(v.push(e), Some(AuditFinding::Missing { seq: u64::MAX }));
    }

    #[test]
    fn an_intact_log_verifies_against_any_of_its_checkpoints() {
        let (bodies, heads) = log(40, &[0, 7, 16, 30, 40]);
        for (k, kept) in heads.iter().enumerate() {
            let found = verify(*kept, heads.clone(), entries(&bodies));
            assert_eq!(
                found,
                AuditFinding::Intact {
                    covered: kept.size,
                    after: 40 - kept.size
                },
                "kept {k}"
            );
        }
        // The stored checkpoints in any order and repeated: the same.
        let mut shuffled = heads.clone();
        shuffled.reverse();
        shuffled.extend(heads.iter().copied());
        assert_eq!(
            verify(heads[2], shuffled, entries(&bodies)),
            AuditFinding::Intact {
                covered: 16,
                after: 24
            }
        );
    }

    #[test]
    fn the_empty_log() {
        let empty = SignedHead {
            size: 0,
            root: empty_root(),
        };
        assert_eq!(
            verify(empty, [], []),
            AuditFinding::Intact {
                covered: 0,
                after: 0
            }
        );
        let five = SignedHead {
            size: 5,
            root: [1; 32],
        };
        assert_eq!(
            verify(five, [empty], []),
            AuditFinding::Truncated {
                held: 0,
                covered: 5
            }
        );
        // A signed head of size 0 that is not the empty tree's.
        let bad = SignedHead {
            size: 0,
            root: [2; 32],
        };
        let v = Verifier::new(empty, [bad]);
        assert_eq!(
            v.finding(),
            Some(AuditFinding::Changed { first: 0, last: 0 })
        );
    }

    #[test]
    fn a_change_is_reported_at_the_first_checkpoint_after_it() {
        let (mut bodies, heads) = log(40, &[7, 16, 30, 40]);
        bodies[20] = b"rewritten".to_vec();
        let mut v = Verifier::new(heads[3], heads.clone());
        let mut stopped_at = None;
        for (i, e) in entries(&bodies).enumerate() {
            if v.push(e).is_some() {
                stopped_at = Some(i);
                break;
            }
        }
        // Found on reaching 30 (after entry 29), not at the end.
        assert_eq!(stopped_at, Some(29));
        assert_eq!(
            v.finish(),
            AuditFinding::Changed {
                first: 16,
                last: 29
            }
        );
        // Sticky: later entries change nothing.
        let b = body(30);
        let e = Entry {
            seq: 30,
            body: &b,
            leaf_hash: Some(leaf_hash(&b)),
            columns_agree: true,
        };
        assert_eq!(
            v.push(e),
            Some(AuditFinding::Changed {
                first: 16,
                last: 29
            })
        );
        assert_eq!(v.position(), 30);
    }

    #[test]
    fn checkpoints_beyond_the_kept_one_are_checked_and_beyond_the_end_ignored() {
        let (mut bodies, heads) = log(40, &[10, 20, 30, 40]);
        let beyond = SignedHead {
            size: 1000,
            root: [3; 32],
        };
        let mut stored = heads.clone();
        stored.push(beyond);
        assert_eq!(
            verify(heads[1], stored.clone(), entries(&bodies)),
            AuditFinding::Intact {
                covered: 20,
                after: 20
            }
        );
        bodies[35] = b"rewritten".to_vec();
        assert_eq!(
            verify(heads[1], stored, entries(&bodies)),
            AuditFinding::Changed {
                first: 30,
                last: 39
            }
        );
    }

    #[test]
    fn two_signed_heads_of_one_size_that_differ_are_a_change() {
        let (bodies, heads) = log(20, &[5, 10, 20]);
        let fork = SignedHead {
            size: 10,
            root: [4; 32],
        };
        let mut stored = heads.clone();
        stored.push(fork);
        assert_eq!(
            verify(heads[2], stored, entries(&bodies)),
            AuditFinding::Changed { first: 5, last: 9 }
        );
    }

    #[test]
    fn numbers_hashes_and_columns_are_checked_per_entry() {
        let (bodies, heads) = log(10, &[10]);
        let run = |f: &dyn Fn(usize, &mut Entry<'_>)| {
            let mut v = Verifier::new(heads[0], heads.clone());
            for (i, mut e) in entries(&bodies).enumerate() {
                f(i, &mut e);
                if v.push(e).is_some() {
                    break;
                }
            }
            v.finish()
        };
        assert_eq!(
            run(&|i, e| if i == 4 {
                e.seq = 5
            }),
            AuditFinding::Missing { seq: 4 }
        );
        assert_eq!(
            run(&|i, e| if i == 6 {
                e.leaf_hash = None
            }),
            AuditFinding::Edited { seq: 6 }
        );
        assert_eq!(
            run(&|i, e| if i == 7 {
                e.columns_agree = false
            }),
            AuditFinding::Edited { seq: 7 }
        );
    }

    #[test]
    fn findings_read_as_before() {
        use AuditFinding::*;
        let texts = [
            (
                Intact {
                    covered: 5,
                    after: 2,
                },
                "intact: the 5 entries the checkpoint covers verify (2 entries after it)",
            ),
            (Missing { seq: 3 }, "entry 3 was deleted or moved"),
            (Edited { seq: 3 }, "entry 3 was edited"),
            (
                Truncated {
                    held: 4,
                    covered: 5,
                },
                "the log was truncated: it holds 4 entries, the checkpoint covers 5",
            ),
            (
                Changed { first: 2, last: 4 },
                "an entry between 2 and 4 was changed, replaced or reordered",
            ),
        ];
        for (finding, text) in texts {
            assert_eq!(finding.to_string(), text);
        }
    }

    // ---- After disposal -------------------------------------------------------

    /// The frontier of the log `bodies` at `k`, as the store keeps it when it
    /// disposes of the first `k` entries.
    fn disposal_frontier(bodies: &[Vec<u8>], k: u64) -> Frontier {
        let tree = Tree::from_leaves(bodies.iter().map(|b| leaf_hash(b)));
        Frontier::from_hashes(k, tree.frontier(k).unwrap()).unwrap()
    }

    /// Everything a verifier's result depends on.
    fn state(
        v: &Verifier,
    ) -> (
        Vec<SignedHead>,
        SignedHead,
        Frontier,
        usize,
        u64,
        Option<AuditFinding>,
    ) {
        (
            v.checkpoints.to_vec(),
            v.kept,
            v.frontier.clone(),
            v.next,
            v.matched,
            v.finding,
        )
    }

    /// A stored entry, owned.
    type Stored = (u64, Vec<u8>, Option<Hash>, bool);

    /// The log `bodies` changed at `at` in one of seven ways: a body edited
    /// (its leaf hash left, or rewritten), its columns disagreeing, deleted
    /// (numbers left, or renumbered), swapped with the next and renumbered
    /// (cut off instead at the last entry), or cut off.
    fn changed(bodies: &[Vec<u8>], kind: usize, at: usize) -> Vec<Stored> {
        let mut log: Vec<Stored> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| (i as u64, b.clone(), Some(leaf_hash(b)), true))
            .collect();
        match kind {
            0 => log[at].1.push(b'!'),
            1 => {
                log[at].1.push(b'!');
                log[at].2 = Some(leaf_hash(&log[at].1));
            }
            2 => log[at].3 = false,
            3 => {
                log.remove(at);
            }
            4 => {
                log.remove(at);
                for (i, e) in log.iter_mut().enumerate().skip(at) {
                    e.0 = i as u64;
                }
            }
            5 if at + 1 < log.len() => {
                log.swap(at, at + 1);
                (log[at].0, log[at + 1].0) = (at as u64, at as u64 + 1);
            }
            _ => log.truncate(at),
        }
        log
    }

    fn stored_entries(log: &[Stored]) -> impl Iterator<Item = Entry<'_>> {
        log.iter()
            .map(|(seq, body, leaf_hash, columns_agree)| Entry {
                seq: *seq,
                body,
                leaf_hash: *leaf_hash,
                columns_agree: *columns_agree,
            })
    }

    #[test]
    fn resumed_from_a_disposal_frontier_is_a_full_runs_state_at_that_size() {
        let sizes = [1, 7, 16, 30, 31, 32, 45, 60];
        let (bodies, heads) = log(60, &sizes);
        for (j, &k) in sizes.iter().enumerate() {
            for kept in &heads[j..] {
                let mut full = Verifier::new(*kept, heads.clone());
                for e in entries(&bodies).take(k as usize) {
                    assert_eq!(full.push(e), None);
                }
                let resumed =
                    Verifier::resume_from(disposal_frontier(&bodies, k), *kept, heads.clone());
                assert_eq!(state(&resumed), state(&full), "k {k}, kept {}", kept.size);
                assert_eq!(resumed.position(), k);
                assert_eq!(resumed.finding(), None);
                assert_eq!(
                    resumed.resume(entries(&bodies).skip(k as usize)),
                    AuditFinding::Intact {
                        covered: kept.size,
                        after: 60 - kept.size
                    }
                );
            }
        }
        // The empty frontier is `Verifier::new`.
        let fresh = Verifier::resume_from(Frontier::new(), heads[3], heads.clone());
        assert_eq!(
            state(&fresh),
            state(&Verifier::new(heads[3], heads.clone()))
        );
    }

    #[test]
    fn a_change_after_disposal_is_found_where_a_full_run_finds_it() {
        let sizes = [5, 16, 23, 32, 40, 41, 55, 64, 70];
        let (bodies, heads) = log(70, &sizes);
        let mut compared = 0;
        for &k in &sizes[..sizes.len() - 1] {
            let frontier = disposal_frontier(&bodies, k);
            for kept in heads.iter().filter(|h| h.size >= k) {
                for at in k as usize..70 {
                    for kind in 0..7 {
                        let log = changed(&bodies, kind, at);
                        let full = verify(*kept, heads.clone(), stored_entries(&log));
                        let resumed = Verifier::resume_from(frontier.clone(), *kept, heads.clone())
                            .resume(stored_entries(&log).skip(k as usize));
                        assert_eq!(resumed, full, "k {k}, kept {}, {kind} at {at}", kept.size);
                        // Against the latest checkpoint, every change shows.
                        if kept.size == 70 {
                            assert!(
                                !matches!(full, AuditFinding::Intact { .. }),
                                "{kind} at {at}"
                            );
                        }
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared > 10_000, "{compared}");
    }

    #[test]
    fn a_disposal_frontier_that_does_not_give_the_signed_head_is_reported() {
        let (bodies, heads) = log(40, &[10, 21, 30, 40]);
        let good = disposal_frontier(&bodies, 21);
        for j in 0..good.peaks().len() {
            let mut hashes = good.clone().into_hashes();
            hashes[j][0] ^= 1;
            let bad = Frontier::from_hashes(21, hashes).unwrap();
            let mut v = Verifier::resume_from(bad, heads[3], heads.clone());
            let found = AuditFinding::PrunedPrefixMismatch { size: 21 };
            assert_eq!(v.finding(), Some(found));
            let b = &bodies[21];
            let e = Entry {
                seq: 21,
                body: b,
                leaf_hash: Some(leaf_hash(b)),
                columns_agree: true,
            };
            assert_eq!(v.push(e), Some(found), "sticky");
            assert_eq!(v.resume(entries(&bodies).skip(22)), found);
        }
        // The frontier of another log of the same size.
        let (other, _) = log(21, &[]);
        let other: Vec<Vec<u8>> = other
            .into_iter()
            .map(|mut b| {
                b.push(b'.');
                b
            })
            .collect();
        assert_eq!(
            Verifier::resume_from(disposal_frontier(&other, 21), heads[3], heads.clone())
                .resume(entries(&bodies).skip(21)),
            AuditFinding::PrunedPrefixMismatch { size: 21 }
        );
        // A second, different signed head of the disposal size: a fork.
        let mut forked = heads.clone();
        forked.push(SignedHead {
            size: 21,
            root: [5; 32],
        });
        assert_eq!(
            Verifier::resume_from(good.clone(), heads[3], forked).finding(),
            Some(AuditFinding::PrunedPrefixMismatch { size: 21 })
        );
        // The kept checkpoint at the disposal size is checked the same way.
        let kept = SignedHead {
            size: 21,
            root: [6; 32],
        };
        assert_eq!(
            Verifier::resume_from(good, kept, [heads[3]]).finding(),
            Some(AuditFinding::PrunedPrefixMismatch { size: 21 })
        );
    }

    #[test]
    fn a_disposal_without_a_checkpoint_of_its_size_is_reported() {
        let (bodies, heads) = log(40, &[10, 21, 30, 40]);
        let frontier = disposal_frontier(&bodies, 20);
        let v = Verifier::resume_from(frontier, heads[3], heads.clone());
        assert_eq!(
            v.resume(entries(&bodies).skip(20)),
            AuditFinding::PrunedPrefixUnsigned { size: 20 }
        );
        // The checkpoint kept at disposal is enough, stored or kept.
        let frontier = disposal_frontier(&bodies, 21);
        for (kept, stored) in [(heads[3], vec![heads[1]]), (heads[1], vec![heads[3]])] {
            assert_eq!(
                Verifier::resume_from(frontier.clone(), kept, stored)
                    .resume(entries(&bodies).skip(21)),
                AuditFinding::Intact {
                    covered: kept.size,
                    after: 40 - kept.size
                }
            );
        }
    }

    #[test]
    fn a_kept_checkpoint_of_disposed_entries_only_is_reported_not_intact() {
        let (bodies, heads) = log(40, &[0, 10, 21, 30, 40]);
        let frontier = disposal_frontier(&bodies, 21);
        for kept in &heads[..2] {
            let v = Verifier::resume_from(frontier.clone(), *kept, heads.clone());
            let found = AuditFinding::KeptBeforeDisposal {
                kept: kept.size,
                disposed: 21,
            };
            assert_eq!(v.finding(), Some(found));
            assert_eq!(v.resume(entries(&bodies).skip(21)), found);
        }
        // Stored checkpoints of disposed entries alone are skipped, even wrong
        // ones.
        let mut stored = heads.clone();
        stored.push(SignedHead {
            size: 10,
            root: [7; 32],
        });
        let v = Verifier::resume_from(frontier.clone(), heads[3], stored);
        assert_eq!(v.next_checkpoint(), Some(30));
        assert_eq!(
            v.resume(entries(&bodies).skip(21)),
            AuditFinding::Intact {
                covered: 30,
                after: 10
            }
        );
        // A log that ends at the disposal: the kept checkpoint of that size
        // verifies, a later one is reported as truncation.
        assert_eq!(
            Verifier::resume_from(frontier.clone(), heads[2], heads.clone()).finish(),
            AuditFinding::Intact {
                covered: 21,
                after: 0
            }
        );
        assert_eq!(
            Verifier::resume_from(frontier, heads[4], heads.clone()).finish(),
            AuditFinding::Truncated {
                held: 21,
                covered: 40
            }
        );
    }

    #[test]
    fn disposal_findings_read_clearly() {
        use AuditFinding::*;
        let texts = [
            (
                PrunedPrefixMismatch { size: 21 },
                "the disposed entries' summary at 21 does not match its signed checkpoint",
            ),
            (
                PrunedPrefixUnsigned { size: 20 },
                "no signed checkpoint covers exactly the 20 disposed entries, so their summary cannot be checked",
            ),
            (
                KeptBeforeDisposal {
                    kept: 10,
                    disposed: 21,
                },
                "the kept checkpoint covers only disposed entries (10, of 21 disposed); keep a newer one",
            ),
        ];
        for (finding, text) in texts {
            assert_eq!(finding.to_string(), text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random sizes, with extra weight just around powers of two.
        #[test]
        fn the_frontier_head_is_the_tree_head(
            n in prop_oneof![
                0u64..20_000,
                (1u32..15, -2i64..=2).prop_map(|(k, d)| (1i64 << k).saturating_add(d).max(0) as u64),
            ],
        ) {
            let mut frontier = Frontier::new();
            let mut tree = Tree::new();
            for i in 0..n {
                frontier.push(leaf(i)).unwrap();
                tree.push(leaf(i));
            }
            let snapshot = frontier.clone();
            prop_assert_eq!(frontier.len(), n);
            prop_assert_eq!(frontier.root(), tree.root());
            // A clone goes on like the original.
            let mut a = snapshot;
            a.push(leaf(n)).unwrap();
            frontier.push(leaf(n)).unwrap();
            tree.push(leaf(n));
            prop_assert_eq!(a.root(), tree.root());
            prop_assert_eq!(frontier.root(), tree.root());
        }

        /// Arbitrary checkpoints and entries: no panic, and resuming a clone
        /// taken at any point gives the full run's result.
        #[test]
        fn any_input_gives_a_finding_and_resuming_agrees_with_a_full_run(
            kept_size in prop_oneof![0u64..12, any::<u64>()],
            kept_root in any::<[u8; 32]>(),
            stored in proptest::collection::vec(
                (prop_oneof![0u64..12, any::<u64>()], any::<bool>()), 0..8),
            raw in proptest::collection::vec(
                (prop_oneof![0u64..12, any::<u64>()], any::<bool>(), any::<bool>(), any::<bool>()), 0..12),
            split in 0usize..13,
        ) {
            let bodies: Vec<Vec<u8>> = (0..12).map(body).collect();
            let tree = Tree::from_leaves(bodies.iter().map(|b| leaf_hash(b)));
            let head = |size: u64, real: bool| SignedHead {
                size,
                root: match tree.root_at(size) {
                    Some(root) if real => root,
                    _ => kept_root,
                },
            };
            let kept = head(kept_size, kept_root[0] & 1 == 0);
            let stored: Vec<SignedHead> = stored.iter().map(|&(s, real)| head(s, real)).collect();
            let input: Vec<Entry<'_>> = raw
                .iter()
                .enumerate()
                .map(|(i, &(seq, in_order, good_leaf, agree))| {
                    let seq = if in_order { i as u64 } else { seq };
                    let b = bodies.get(seq as usize % 12).map_or(&[][..], |b| b.as_slice());
                    Entry {
                        seq,
                        body: b,
                        leaf_hash: good_leaf.then(|| leaf_hash(b)),
                        columns_agree: agree,
                    }
                })
                .collect();
            let full = verify(kept, stored.clone(), input.iter().copied());
            let split = split.min(input.len());
            let mut v = Verifier::new(kept, stored);
            for e in input.iter().take(split) {
                v.push(*e);
            }
            let resumed = v.clone().resume(input.iter().skip(split).copied());
            prop_assert_eq!(resumed, full);
            if let AuditFinding::Changed { first, last } = full {
                prop_assert!(first <= last);
            }
        }

        /// A random log disposed of at a random checkpoint, then changed at a
        /// random place after it (or not at all), with random further checkpoints (some
        /// forged): resumed from the disposal frontier, the verifier gives
        /// exactly a full run's finding, or reports a kept checkpoint that
        /// covers disposed entries only.
        #[test]
        fn resumed_from_a_disposal_agrees_with_a_full_run(
            n in 1u64..80,
            k_frac in 0.0f64..=1.0,
            sizes in proptest::collection::vec((0.0f64..=1.0, any::<bool>()), 0..8),
            kept_frac in 0.0f64..=1.0,
            change in (0usize..7, 0.0f64..1.0),
        ) {
            let k = ((n as f64 * k_frac) as u64).clamp(1, n);
            let at = |f: f64| ((n + 1) as f64 * f) as u64;
            let (bodies, _) = log(n, &[]);
            let tree = Tree::from_leaves(bodies.iter().map(|b| leaf_hash(b)));
            let head = |size: u64| SignedHead { size, root: tree.root_at(size).unwrap() };
            let mut stored = vec![head(k)];
            for &(f, real) in &sizes {
                let size = at(f).min(n);
                // Forged heads only after the disposal: before it, a full run
                // would catch what the pruned one can no longer see.
                stored.push(if real || size <= k {
                    head(size)
                } else {
                    SignedHead { size, root: [8; 32] }
                });
            }
            let kept = head(at(kept_frac).min(n));
            let (kind, f) = change;
            // At the end: cut off there, i.e. unchanged.
            let pos = k + ((n - k) as f64 * f) as u64;
            let kind = if pos < n { kind } else { 6 };
            let log = changed(&bodies, kind, pos as usize);
            let full = verify(kept, stored.clone(), stored_entries(&log));
            let frontier = Frontier::from_hashes(k, tree.frontier(k).unwrap()).unwrap();
            let resumed = Verifier::resume_from(frontier, kept, stored)
                .resume(stored_entries(&log).skip(k as usize));
            if kept.size < k {
                prop_assert_eq!(resumed, AuditFinding::KeptBeforeDisposal { kept: kept.size, disposed: k });
            } else {
                prop_assert_eq!(resumed, full);
            }
        }
    }
}
