//! Tamper detection at scale, with the streaming verifier over synthetic logs
//! signed like the sequencer signs them (a checkpoint at the end of every
//! batch, batches of irregular size):
//!
//! * 10,000 entries, exhaustively: every kind of change at every position is
//!   found, and reported at the right place;
//! * 1,000,000 entries, 10,000 random changes (random kinds, places, byte
//!   edits and replacement bodies): all found at the right place.
//!
//! A change at position `i` leaves entries `0..i` as they were, so each run
//! resumes from a snapshot of the verifier taken on the pristine log at the
//! last checkpoint at or before `i` (see `trygg_audit::verify`). Some changes
//! are also verified from the start, and must give the identical finding.
//!
//! The random seed is printed; `TRYGG_TAMPER_SEED=<n>` reproduces a run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hash::BuildHasher as _;
use time::macros::datetime;
use trygg_audit::merkle::{Hash, leaf_hash};
use trygg_audit::verify::{AuditFinding, Entry, Frontier, SignedHead, Verifier};
use trygg_audit::{Checkpoint, SigningKey, Tree};

const ORIGIN: &str = "trygg/audit";

// ---- Randomness --------------------------------------------------------------

/// SplitMix64: small, fast and good enough to place changes.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `lo..=hi` (bias is irrelevant here).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        out
    }
}

/// The SplitMix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `TRYGG_TAMPER_SEED`, or a fresh random seed; printed either way.
fn seed(test: &str) -> u64 {
    let seed = match std::env::var("TRYGG_TAMPER_SEED") {
        Ok(s) => s.trim().parse().expect("TRYGG_TAMPER_SEED is a u64"),
        Err(_) => std::collections::hash_map::RandomState::new().hash_one(test),
    };
    eprintln!("{test}: seed {seed} (TRYGG_TAMPER_SEED={seed} reproduces it)");
    seed
}

// ---- The pristine log --------------------------------------------------------

/// Body length: about what a real entry's canonical encoding is.
const BODY_LEN: usize = 100;

/// The body of entry `i`, made from `i` alone (so a million need no memory):
/// the number, then bytes derived from it. Distinct for distinct `i`.
fn body_into(i: u64, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(b"{\"entry\":");
    out.extend_from_slice(&i.to_be_bytes());
    let mut state = mix(i ^ 0x5151_5151_5151_5151);
    while out.len() < BODY_LEN {
        state = mix(state.wrapping_add(0x9e37_79b9_7f4a_7c15));
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(BODY_LEN);
}

fn body(i: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(BODY_LEN);
    body_into(i, &mut out);
    out
}

/// A log as stored, and what a verifier starts from.
struct Log {
    n: u64,
    /// The stored leaf hash of every entry.
    leaves: Vec<Hash>,
    /// The stored checkpoints that verify with the key, by size (the last
    /// covers the whole log).
    checkpoints: Vec<SignedHead>,
    /// The checkpoint kept outside: the latest.
    kept: SignedHead,
    /// `snapshots[k]` is the verifier after the pristine log's first
    /// `snapshot_sizes[k]` entries: 0 and every checkpoint's size.
    snapshots: Vec<Verifier>,
    snapshot_sizes: Vec<u64>,
}

impl Log {
    /// `n` entries, a checkpoint signed after every batch of `batch` entries
    /// (drawn at random; the last batch may be shorter).
    fn new(n: u64, batch: (u64, u64), rng: &mut Rng, cross_check_with_tree: bool) -> Self {
        let key = SigningKey::from_seed(ORIGIN, &rng.bytes::<32>()).unwrap();
        let verifying = key.verifying_key();
        let mut leaves = Vec::with_capacity(n as usize);
        let mut frontier = Frontier::new();
        let mut checkpoints = Vec::new();
        let mut buf = Vec::with_capacity(BODY_LEN);
        let mut next = rng.range(batch.0, batch.1).min(n);
        for i in 0..n {
            body_into(i, &mut buf);
            let leaf = leaf_hash(&buf);
            leaves.push(leaf);
            frontier.push(leaf).unwrap();
            if i + 1 == next {
                // The sequencer signs the new head; a verifier reads the note
                // back with the public key.
                let note = key
                    .sign(&Checkpoint {
                        origin: ORIGIN.to_owned(),
                        size: next,
                        root: frontier.root(),
                        time: datetime!(2026-11-23 09:30 UTC),
                    })
                    .unwrap();
                checkpoints.push(SignedHead::from(&verifying.verify(&note).unwrap()));
                next = (next + rng.range(batch.0, batch.1)).min(n);
            }
        }
        let kept = *checkpoints.last().unwrap();
        assert_eq!(kept.size, n);
        if cross_check_with_tree {
            let tree = Tree::from_leaves(leaves.iter().copied());
            for c in &checkpoints {
                assert_eq!(tree.root_at(c.size), Some(c.root), "size {}", c.size);
            }
        }
        // The pristine run, keeping a snapshot at every checkpoint.
        let mut v = Verifier::new(kept, checkpoints.iter().copied());
        let mut snapshots = vec![v.clone()];
        let mut snapshot_sizes = vec![0];
        let mut sizes = checkpoints.iter().map(|c| c.size).peekable();
        for i in 0..n {
            body_into(i, &mut buf);
            let entry = Entry {
                seq: i,
                body: &buf,
                leaf_hash: Some(leaves[i as usize]),
                columns_agree: true,
            };
            assert_eq!(v.push(entry), None, "pristine entry {i}");
            if sizes.peek() == Some(&(i + 1)) {
                sizes.next();
                snapshots.push(v.clone());
                snapshot_sizes.push(i + 1);
            }
        }
        assert_eq!(
            v.finish(),
            AuditFinding::Intact {
                covered: n,
                after: 0
            }
        );
        Self {
            n,
            leaves,
            checkpoints,
            kept,
            snapshots,
            snapshot_sizes,
        }
    }

    /// The snapshot to resume from for a change at `i`: the last one taken
    /// at or before `i`.
    fn snapshot(&self, i: u64) -> Verifier {
        let k = self.snapshot_sizes.partition_point(|&s| s <= i) - 1;
        self.snapshots[k].clone()
    }

    /// A fresh verifier, for full runs.
    fn fresh(&self) -> Verifier {
        Verifier::new(self.kept, self.checkpoints.iter().copied())
    }

    /// The checkpoint interval of entry `i`: from the last checkpoint at or
    /// before it to the entry before the first checkpoint after it.
    fn interval(&self, i: u64) -> (u64, u64) {
        let after = self.checkpoints.partition_point(|c| c.size <= i);
        let first = after.checked_sub(1).map_or(0, |k| self.checkpoints[k].size);
        let last = self.checkpoints[after].size - 1;
        (first, last)
    }

    fn changed(&self, i: u64) -> AuditFinding {
        let (first, last) = self.interval(i);
        AuditFinding::Changed { first, last }
    }
}

// ---- Changes -----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The body is edited; the stored leaf hash is left alone.
    EditBody,
    /// The body is edited and its stored leaf hash rewritten to match.
    EditBodyAndLeaf,
    /// A searchable column no longer matches the body.
    EditColumn,
    /// The entry is deleted; the others keep their numbers.
    Delete,
    /// The entry is deleted and the ones after it renumbered to close the gap.
    DeleteAndRenumber,
    /// Entries `i` and `i + 1` change places, each keeping its number.
    Swap,
    /// Entries `i` and `i + 1` change places and are renumbered, so the
    /// numbers still run in order (each keeps its own leaf hash).
    SwapAndRenumber,
    /// The log is cut off before entry `i`.
    Truncate,
}

const KINDS: [Kind; 8] = [
    Kind::EditBody,
    Kind::EditBodyAndLeaf,
    Kind::EditColumn,
    Kind::Delete,
    Kind::DeleteAndRenumber,
    Kind::Swap,
    Kind::SwapAndRenumber,
    Kind::Truncate,
];

impl Kind {
    /// Whether the change can be made at `i` in a log of `n` entries.
    fn applies(self, i: u64, n: u64) -> bool {
        match self {
            Kind::Swap | Kind::SwapAndRenumber => i + 1 < n,
            _ => i < n,
        }
    }
}

/// One change to a pristine log.
#[derive(Clone)]
struct Change {
    kind: Kind,
    at: u64,
    /// The edited body (`EditBody`, `EditBodyAndLeaf`).
    body: Vec<u8>,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} at {}", self.kind, self.at)?;
        if !self.body.is_empty() {
            write!(f, " (edited body of {} bytes)", self.body.len())?;
        }
        Ok(())
    }
}

/// Where the stored entry at a position comes from.
enum Stored {
    /// Pristine entry `index`, stored with number `seq`.
    Pristine { index: u64, seq: u64 },
    /// Pristine entry `index` with a column that disagrees.
    BadColumn { index: u64 },
    /// The edited body, with this leaf hash.
    Edited { leaf: Hash },
}

impl Change {
    fn new(kind: Kind, at: u64, edited: Option<Vec<u8>>) -> Self {
        let edited = match kind {
            Kind::EditBody | Kind::EditBodyAndLeaf => {
                let edited = edited.unwrap_or_else(|| {
                    // One byte, somewhere depending on the position.
                    let mut b = body(at);
                    let p = (at as usize * 7) % b.len();
                    b[p] ^= 0x20;
                    b
                });
                assert_ne!(edited, body(at), "an edit changes the body");
                edited
            }
            _ => Vec::new(),
        };
        Self {
            kind,
            at,
            body: edited,
        }
    }

    /// The number of stored entries after the change.
    fn len(&self, n: u64) -> u64 {
        match self.kind {
            Kind::Delete | Kind::DeleteAndRenumber => n - 1,
            Kind::Truncate => self.at,
            _ => n,
        }
    }

    /// The stored entry at position `p` after the change.
    fn stored(&self, p: u64) -> Stored {
        let i = self.at;
        let pristine = |index, seq| Stored::Pristine { index, seq };
        match self.kind {
            Kind::EditBody if p == i => Stored::Edited {
                leaf: leaf_hash(&body(i)),
            },
            Kind::EditBodyAndLeaf if p == i => Stored::Edited {
                leaf: leaf_hash(&self.body),
            },
            Kind::EditColumn if p == i => Stored::BadColumn { index: p },
            Kind::Delete if p >= i => pristine(p + 1, p + 1),
            Kind::DeleteAndRenumber if p >= i => pristine(p + 1, p),
            Kind::Swap if p == i => pristine(i + 1, i + 1),
            Kind::Swap if p == i + 1 => pristine(i, i),
            Kind::SwapAndRenumber if p == i => pristine(i + 1, i),
            Kind::SwapAndRenumber if p == i + 1 => pristine(i, i + 1),
            _ => pristine(p, p),
        }
    }

    /// Feeds the changed log from `v`'s position on, and returns the finding.
    fn verify(&self, log: &Log, mut v: Verifier) -> AuditFinding {
        let mut buf = Vec::with_capacity(BODY_LEN);
        for p in v.position()..self.len(log.n) {
            let entry = match self.stored(p) {
                Stored::Pristine { index, seq } => {
                    body_into(index, &mut buf);
                    Entry {
                        seq,
                        body: &buf,
                        leaf_hash: Some(log.leaves[index as usize]),
                        columns_agree: true,
                    }
                }
                Stored::BadColumn { index } => {
                    body_into(index, &mut buf);
                    Entry {
                        seq: p,
                        body: &buf,
                        leaf_hash: Some(log.leaves[index as usize]),
                        columns_agree: false,
                    }
                }
                Stored::Edited { leaf } => Entry {
                    seq: p,
                    body: &self.body,
                    leaf_hash: Some(leaf),
                    columns_agree: true,
                },
            };
            if v.push(entry).is_some() {
                break;
            }
        }
        v.finish()
    }

    /// What verification must report: the change, at its place.
    fn expected(&self, log: &Log) -> AuditFinding {
        use AuditFinding::*;
        let (i, n) = (self.at, log.n);
        let truncated = Truncated {
            held: n - 1,
            covered: n,
        };
        match self.kind {
            Kind::EditBody | Kind::EditColumn => Edited { seq: i },
            // The leaf hashes agree with the bodies: only a signed head shows
            // the change, the first one after it.
            Kind::EditBodyAndLeaf | Kind::SwapAndRenumber => log.changed(i),
            Kind::Swap => Missing { seq: i },
            Kind::Delete if i + 1 < n => Missing { seq: i },
            Kind::Delete => truncated,
            // Renumbered: the first checkpoint after `i` shows it, unless the
            // log, one shorter, now ends before that checkpoint.
            Kind::DeleteAndRenumber if log.interval(i).1 < n - 1 => log.changed(i),
            Kind::DeleteAndRenumber => truncated,
            Kind::Truncate => Truncated {
                held: i,
                covered: n,
            },
        }
    }

    /// Verifies from the snapshot and checks the finding.
    fn check(&self, log: &Log, seed: u64) -> AuditFinding {
        let found = self.verify(log, log.snapshot(self.at));
        assert!(
            !matches!(found, AuditFinding::Intact { .. }),
            "seed {seed}: not detected: {self:?}"
        );
        assert_eq!(found, self.expected(log), "seed {seed}: {self:?}");
        found
    }
}

// ---- The tests ---------------------------------------------------------------

/// 10,000 entries, checkpoints every 50 to 150: every kind of change at every
/// position is found at its place.
#[test]
fn every_change_at_every_position_of_a_10_000_entry_log_is_found() {
    let seed = seed("10k exhaustive");
    let mut rng = Rng(seed);
    let log = Log::new(10_000, (50, 150), &mut rng, true);
    assert!(log.checkpoints.len() > 60, "{}", log.checkpoints.len());
    let mut counts = [0u32; KINDS.len()];
    for i in 0..log.n {
        for (k, kind) in KINDS.into_iter().enumerate() {
            if kind.applies(i, log.n) {
                Change::new(kind, i, None).check(&log, seed);
                counts[k] += 1;
            }
        }
    }
    assert_eq!(
        counts,
        [10_000, 10_000, 10_000, 10_000, 10_000, 9_999, 9_999, 10_000]
    );

    // Resuming from a snapshot is a shortcut only: full runs give the same.
    let mut places = vec![0, 1, log.n / 2, log.n - 2, log.n - 1];
    for c in log
        .checkpoints
        .iter()
        .take(3)
        .chain(log.checkpoints.iter().rev().take(3))
    {
        places.extend([c.size - 1, c.size, c.size + 1]);
    }
    for _ in 0..4 {
        places.push(rng.range(0, log.n - 1));
    }
    let mut full_runs = 0;
    for &i in &places {
        for kind in KINDS {
            if kind.applies(i, log.n) {
                let change = Change::new(kind, i, None);
                let resumed = change.check(&log, seed);
                let full = change.verify(&log, log.fresh());
                assert_eq!(full, resumed, "seed {seed}: full run of {change:?}");
                full_runs += 1;
            }
        }
    }
    assert!(full_runs >= 100, "{full_runs}");
}

/// An edited body: a few bytes flipped, a run overwritten, bytes added or
/// removed, or a whole random replacement.
fn random_edit(rng: &mut Rng, at: u64) -> Vec<u8> {
    let original = body(at);
    loop {
        let mut b = original.clone();
        match rng.range(0, 4) {
            0 => {
                let p = rng.range(0, b.len() as u64 - 1) as usize;
                b[p] ^= 1 << rng.range(0, 7);
            }
            1 => {
                for _ in 0..rng.range(2, 16) {
                    let p = rng.range(0, b.len() as u64 - 1) as usize;
                    b[p] ^= rng.range(1, 255) as u8;
                }
            }
            2 => {
                let start = rng.range(0, b.len() as u64 - 2) as usize;
                let end = rng.range(start as u64 + 1, b.len() as u64) as usize;
                for x in &mut b[start..end] {
                    *x = rng.next_u64() as u8;
                }
            }
            3 => {
                if rng.range(0, 1) == 0 {
                    b.truncate(rng.range(0, b.len() as u64 - 1) as usize);
                } else {
                    for _ in 0..rng.range(1, 8) {
                        b.push(rng.next_u64() as u8);
                    }
                }
            }
            _ => {
                let len = rng.range(0, 2 * BODY_LEN as u64) as usize;
                b = (0..len).map(|_| rng.next_u64() as u8).collect();
            }
        }
        if b != original {
            return b;
        }
    }
}

/// 1,000,000 entries, checkpoints every 500 to 1,500: 10,000 random changes,
/// every one found at its place.
#[test]
fn ten_thousand_random_changes_to_a_1_000_000_entry_log_are_found() {
    let seed = seed("1M random");
    let mut rng = Rng(seed);
    let log = Log::new(1_000_000, (500, 1_500), &mut rng, false);
    assert!(log.checkpoints.len() > 600, "{}", log.checkpoints.len());
    let mut counts = [0u32; KINDS.len()];
    let mut changes = 0;
    while changes < 10_000 {
        let k = rng.range(0, KINDS.len() as u64 - 1) as usize;
        let kind = KINDS[k];
        let at = rng.range(0, log.n - 1);
        if !kind.applies(at, log.n) {
            continue;
        }
        let edited = matches!(kind, Kind::EditBody | Kind::EditBodyAndLeaf)
            .then(|| random_edit(&mut rng, at));
        let change = Change::new(kind, at, edited);
        change.check(&log, seed);
        // A few from the start as well.
        if changes % 2_500 == 0 {
            let full = change.verify(&log, log.fresh());
            assert_eq!(
                full,
                change.expected(&log),
                "seed {seed}: full run of {change:?}"
            );
        }
        counts[k] += 1;
        changes += 1;
    }
    assert!(counts.iter().all(|&c| c > 1_000), "{counts:?}");
}

/// Retention: the 10,000-entry log with its first entries disposed of at a
/// checkpoint, only the tree's frontier there kept. A tree rebuilt from the
/// frontier gives every later checkpoint's head and the full tree's proofs;
/// the verifier resumed from it starts where a full run's snapshot is, finds
/// every kind of change in the next two checkpoint intervals and at random
/// places after at its place, and reports a wrong frontier and a kept
/// checkpoint of disposed entries only.
#[test]
fn after_disposal_every_change_is_still_found_at_its_place() {
    let seed = seed("10k disposal");
    let mut rng = Rng(seed);
    let log = Log::new(10_000, (50, 150), &mut rng, false);
    let full = Tree::from_leaves(log.leaves.iter().copied());
    let last = log.checkpoints.len() - 1;
    let mut disposals = vec![0, 1, last / 2, last - 1];
    for _ in 0..3 {
        disposals.push(rng.range(0, last as u64 - 1) as usize);
    }
    let mut checked = 0;
    for d in disposals {
        let at_disposal = log.checkpoints[d];
        let k = at_disposal.size;
        let hashes = full.frontier(k).unwrap();
        assert!(hashes.len() <= 64);

        // The tree the store rebuilds.
        let mut pruned = Tree::from_frontier(k, &hashes).unwrap();
        for leaf in &log.leaves[k as usize..] {
            pruned.push(*leaf);
        }
        assert_eq!(pruned.len(), log.n);
        for c in &log.checkpoints {
            let want = (c.size >= k).then_some(c.root);
            assert_eq!(
                pruned.root_at(c.size),
                want,
                "seed {seed}: head at {}",
                c.size
            );
        }
        for _ in 0..200 {
            let s = rng.range(k + 1, log.n);
            let i = rng.range(k, s - 1);
            let old = rng.range(k, s);
            let p = pruned.inclusion_proof(i, s).unwrap();
            assert_eq!(Some(&p), full.inclusion_proof(i, s).as_ref());
            let c = pruned.consistency_proof(old, s).unwrap();
            assert_eq!(Some(&c), full.consistency_proof(old, s).as_ref());
        }
        assert_eq!(pruned.inclusion_proof(k.saturating_sub(1), log.n), None);

        // The verifier, from the frontier.
        let frontier = Frontier::from_hashes(k, hashes.clone()).unwrap();
        let v = Verifier::resume_from(frontier.clone(), log.kept, log.checkpoints.iter().copied());
        let snapshot = log.snapshot(k);
        assert_eq!(v.position(), snapshot.position());
        assert_eq!(v.frontier(), snapshot.frontier());
        assert_eq!(v.next_checkpoint(), snapshot.next_checkpoint());
        let end = log
            .checkpoints
            .get(d + 2)
            .map_or(log.n, |c| c.size)
            .min(log.n);
        let mut places: Vec<u64> = (k..end).collect();
        for _ in 0..20 {
            places.push(rng.range(k, log.n - 1));
        }
        for &i in &places {
            for kind in KINDS {
                if kind.applies(i, log.n) {
                    let change = Change::new(kind, i, None);
                    let found = change.verify(&log, v.clone());
                    assert_eq!(
                        found,
                        change.expected(&log),
                        "seed {seed}: k {k}, {change:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(
            v.clone().resume(std::iter::empty()),
            AuditFinding::Truncated {
                held: k,
                covered: log.n
            }
        );

        // A wrong frontier hash; a kept checkpoint of disposed entries only.
        let mut wrong = hashes.clone();
        let j = rng.range(0, wrong.len() as u64 - 1) as usize;
        wrong[j][7] ^= 0x40;
        let wrong = Frontier::from_hashes(k, wrong).unwrap();
        let v = Verifier::resume_from(wrong, log.kept, log.checkpoints.iter().copied());
        assert_eq!(
            Change::new(Kind::Truncate, log.n - 1, None).verify(&log, v),
            AuditFinding::PrunedPrefixMismatch { size: k }
        );
        if d > 0 {
            let kept = log.checkpoints[d - 1];
            let v = Verifier::resume_from(frontier, kept, log.checkpoints.iter().copied());
            assert_eq!(
                Change::new(Kind::Truncate, log.n - 1, None).verify(&log, v),
                AuditFinding::KeptBeforeDisposal {
                    kept: kept.size,
                    disposed: k
                }
            );
        }
    }
    assert!(checked > 5_000, "{checked}");
}
