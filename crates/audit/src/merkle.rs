//! The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2, the same
//! tree as RFC 6962): tree heads, inclusion proofs and consistency proofs, and
//! their verification.
//!
//! Hashing is SHA-256 with domain separation: a leaf is `SHA-256(0x00 ||
//! entry)`, an interior node `SHA-256(0x01 || left || right)`, and the empty
//! tree `SHA-256("")`. A leaf hash can therefore never be passed off as a
//! node hash (or the other way round) to forge a proof.
//!
//! Sizes and indexes are `u64`; an index is 0-based, a size counts leaves.
//!
//! # Pruned trees (retention)
//!
//! When the oldest entries are disposed of, the first `k` leaves (`k` the
//! size of a signed checkpoint) are dropped and only the tree's compact
//! frontier at `k` is kept ([`Tree::frontier`]): the heads of the perfect
//! subtrees that make up `[0, k)`, one per set bit of `k`, largest first.
//! [`Tree::from_frontier`] rebuilds a tree from it, and the later leaves are
//! appended as usual.
//!
//! That is enough for everything about the leaves that remain. The nodes of
//! the head at a size `s >= k` are the perfect subtrees of `[0, s)`; those of
//! an inclusion proof of a leaf `i >= k` are the perfect subtrees of
//! `[0, i)` and nodes right of `i`; those of a consistency proof from
//! `old >= k` are perfect subtrees of `[0, old)` and nodes right of `old`. A
//! perfect subtree of `[0, m)`, `m >= k`, that ends at or before `k` agrees
//! with `k` on every bit from its own size up, so it is also one of
//! `[0, k)`'s: a frontier hash. Every other node lies after `k` or straddles
//! it; those are built while the later leaves are appended, from frontier
//! hashes and new leaves, exactly as in a full tree.
//!
//! So a pruned tree gives, for every size `>= k`, the head and consistency
//! proofs from that size, and for every leaf `>= k` its hash and inclusion
//! proofs — each identical to the full tree's. Below `k` it answers `None`,
//! even where an answer could happen to be derived from the frontier (the
//! empty tree's head, a leaf that is a frontier hash): what a pruned tree
//! serves depends only on `k`.

use crate::verify::FrontierFull;
use aws_lc_rs::digest;
use std::fmt;

/// A SHA-256 hash: a leaf hash, a node hash or a tree head.
pub type Hash = [u8; 32];

/// Prefix of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Prefix of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

fn to_hash(d: &digest::Digest) -> Hash {
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(d.as_ref()) {
        *o = *b;
    }
    out
}

/// The hash of a log entry as a leaf: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[LEAF_PREFIX]);
    ctx.update(entry);
    to_hash(&ctx.finish())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [NODE_PREFIX; 65];
    for (b, s) in buf.iter_mut().skip(1).zip(left.iter().chain(right)) {
        *b = *s;
    }
    to_hash(&digest::digest(&digest::SHA256, &buf))
}

/// The tree head of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    to_hash(&digest::digest(&digest::SHA256, b""))
}

/// For `n >= 2`, the largest power of two strictly smaller than `n` (the `k`
/// of RFC 9162 §2.1.1).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// An append-only Merkle tree over leaf hashes, kept in memory so that tree
/// heads and proofs for any earlier size are cheap.
///
/// The tree stores, for every level `k`, the hashes of the complete subtrees
/// of `2^k` leaves that start at a multiple of `2^k` — 2n hashes in all for
/// n leaves (64 MB for a million). Every subtree the RFC's recursion visits
/// is a run of at most 64 such stored subtrees, so a tree head costs O(log n)
/// node hashes and a proof O(log² n), independent of how old the requested
/// size is. Appending costs one node hash on average.
///
/// A tree rebuilt from a frontier ([`Tree::from_frontier`], see the
/// [module documentation](self)) stores, at each level, only the subtrees from
/// the frontier's one on (if the level has one) or from the first one not
/// entirely inside the pruned prefix: about 2(n − k) hashes for `k` pruned
/// leaves of `n`.
#[derive(Clone, Default)]
pub struct Tree {
    /// `levels[k][j]` is the hash of the `(start(k) + j)`-th complete subtree
    /// of `2^k` leaves, leaves `(start(k) + j)·2^k .. (start(k) + j + 1)·2^k`;
    /// `levels[0]` holds the leaf hashes.
    levels: Vec<Vec<Hash>>,
    /// The number of leaves known only by the frontier they were rebuilt
    /// from (0 for a tree built from its leaves).
    pruned: u64,
}

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Tree");
        d.field("len", &self.len());
        if self.pruned != 0 {
            d.field("pruned", &self.pruned);
        }
        d.field("root", &Hex(&self.root())).finish()
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

impl Tree {
    /// The empty tree.
    pub fn new() -> Self {
        Self {
            levels: Vec::new(),
            pruned: 0,
        }
    }

    /// A tree whose first `size` leaves are known only by `frontier`, the
    /// heads of the perfect subtrees that make up the tree of `size` leaves,
    /// largest (leftmost) first, as [`Tree::frontier`] gives them; `None`
    /// unless there is one hash per set bit of `size`.
    ///
    /// Append the later leaves with [`Tree::push`]. The tree then answers,
    /// exactly as the full tree would, everything about sizes `>= size` and
    /// leaves `>= size`, and `None` about smaller ones (see the [module
    /// documentation](self)). The hashes are taken on trust: check the
    /// head at `size` against a signed checkpoint.
    pub fn from_frontier(size: u64, frontier: &[Hash]) -> Option<Tree> {
        if frontier.len() != usize::try_from(size.count_ones()).ok()? {
            return None;
        }
        // One row per level up to the largest subtree; a level whose bit is
        // set holds its frontier hash, the others start out empty.
        let top = 64 - size.leading_zeros();
        let mut levels: Vec<Vec<Hash>> = (0..top).map(|_| Vec::new()).collect();
        let mut hashes = frontier.iter();
        for (level, row) in levels.iter_mut().enumerate().rev() {
            if (size >> level) & 1 == 1 {
                row.push(*hashes.next()?);
            }
        }
        Some(Self {
            levels,
            pruned: size,
        })
    }

    /// The compact frontier of the tree of the first `size` leaves: the
    /// heads of its perfect subtrees, largest (leftmost) first, one per set
    /// bit of `size` (empty for 0). `None` if the tree is smaller, or if
    /// `size` is below the pruned prefix. The input of
    /// [`Tree::from_frontier`] and of [`crate::verify::Frontier::from_hashes`].
    pub fn frontier(&self, size: u64) -> Option<Vec<Hash>> {
        if size > self.len() || size < self.pruned {
            return None;
        }
        let mut out = Vec::with_capacity(usize::try_from(size.count_ones()).ok()?);
        for level in (0..64u32).rev() {
            let count = size >> level;
            if count & 1 == 1 {
                out.push(*self.subtree(level, count - 1)?);
            }
        }
        Some(out)
    }

    /// The number of leaves known only by the frontier the tree was rebuilt
    /// from ([`Tree::from_frontier`]); 0 for a tree built from its leaves.
    pub fn pruned(&self) -> u64 {
        self.pruned
    }

    /// A tree over these leaf hashes, in order.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let leaves = leaves.into_iter();
        let mut tree = Self::new();
        let (lower, _) = leaves.size_hint();
        if lower > 0 {
            tree.levels.push(Vec::with_capacity(lower));
        }
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash (see [`leaf_hash`]).
    ///
    /// A tree that already holds `u64::MAX` leaves (only a tree rebuilt from
    /// a frontier can get there) cannot count another: the leaf is refused
    /// and nothing changes. [`Tree::try_push`] says so.
    pub fn push(&mut self, leaf: Hash) {
        let _ = self.try_push(leaf);
    }

    /// Appends a leaf hash, or refuses it, changing nothing, if the tree
    /// already holds `u64::MAX` leaves.
    pub fn try_push(&mut self, leaf: Hash) -> Result<(), FrontierFull> {
        if self.len() == u64::MAX {
            return Err(FrontierFull);
        }
        self.append(leaf);
        Ok(())
    }

    /// [`Tree::push`] below `u64::MAX` leaves.
    ///
    /// Every row starts at an even index ([`Tree::start`]), so the parity of
    /// a row's length is that of the number of subtrees of its level before
    /// its end, and a completed pair is always the row's last two hashes.
    fn append(&mut self, leaf: Hash) {
        let mut level = 0;
        let mut carry = leaf;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(carry);
            if row.len() % 2 != 0 {
                return;
            }
            // The last two subtrees of this level complete one of the next.
            let Some([left, right]) = row.last_chunk::<2>() else {
                return;
            };
            carry = node_hash(left, right);
            level += 1;
        }
    }

    /// The number of leaves, the pruned ones included.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| {
            self.start(0).saturating_add(leaves.len() as u64)
        })
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hash at `index`; `None` beyond the end and for a pruned leaf.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        if index < self.pruned {
            return None;
        }
        self.subtree(0, index).copied()
    }

    /// The tree head over all leaves (MTH of RFC 9162 §2.1.1).
    pub fn root(&self) -> Hash {
        self.root_at(self.len()).unwrap_or_else(empty_root)
    }

    /// The tree head over the first `size` leaves; `None` if the tree is
    /// smaller, or if `size` is below the pruned prefix.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        if size > self.len() || size < self.pruned {
            None
        } else if size == 0 {
            Some(empty_root())
        } else {
            self.range_hash(0, size)
        }
    }

    /// The inclusion proof (audit path) of the leaf at `index` in the tree of
    /// the first `size` leaves, RFC 9162 §2.1.3.1; `None` unless
    /// `pruned <= index < size <= len`. The sibling nearest the leaf comes
    /// first.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if size > self.len() || index >= size || index < self.pruned {
            return None;
        }
        // Walk down from the root (PATH's recursion, unrolled), collecting the
        // sibling subtree at each level; the RFC lists them bottom-up.
        let mut path = Vec::with_capacity(64);
        let (mut lo, mut hi) = (0u64, size);
        while hi - lo > 1 {
            let k = split(hi - lo);
            if index < lo + k {
                path.push(self.range_hash(lo + k, hi - lo - k)?);
                hi = lo + k;
            } else {
                path.push(self.range_hash(lo, k)?);
                lo += k;
            }
        }
        path.reverse();
        Some(path)
    }

    /// The consistency proof between the trees of the first `old_size` and
    /// the first `new_size` leaves, RFC 9162 §2.1.4.1; `None` unless
    /// `pruned <= old_size <= new_size <= len`. The proof is empty when
    /// `old_size` is 0 or equal to `new_size` (nothing to prove; see
    /// [`verify_consistency`]).
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Option<Vec<Hash>> {
        if new_size > self.len() || old_size > new_size || old_size < self.pruned {
            return None;
        }
        if old_size == 0 || old_size == new_size {
            return Some(Vec::new());
        }
        // SUBPROOF(m, D[lo:hi], b) unrolled: `old_size` is lo + m, `whole`
        // is b (the old tree is still a complete subtree the verifier knows).
        let mut siblings = Vec::with_capacity(64);
        let (mut lo, mut hi) = (0u64, new_size);
        let mut whole = true;
        let base = loop {
            if old_size == hi {
                break if whole {
                    None
                } else {
                    Some(self.range_hash(lo, hi - lo)?)
                };
            }
            let k = split(hi - lo);
            if old_size <= lo + k {
                siblings.push(self.range_hash(lo + k, hi - lo - k)?);
                hi = lo + k;
            } else {
                siblings.push(self.range_hash(lo, k)?);
                lo += k;
                whole = false;
            }
        };
        let mut proof = Vec::with_capacity(siblings.len() + 1);
        proof.extend(base);
        proof.extend(siblings.into_iter().rev());
        Some(proof)
    }

    /// The index of the first stored subtree at `level`: the number of
    /// complete subtrees of that level inside the pruned prefix, rounded
    /// down to an even number. When that number is odd, the last of them is
    /// the frontier hash of the level and is stored; every other subtree
    /// inside the prefix is not (and is never needed). Always 0 when nothing
    /// is pruned.
    fn start(&self, level: u32) -> u64 {
        self.pruned.checked_shr(level).unwrap_or(0) & !1
    }

    /// The stored hash of the complete subtree `index` at `level`.
    fn subtree(&self, level: u32, index: u64) -> Option<&Hash> {
        let row = self.levels.get(usize::try_from(level).ok()?)?;
        let stored = index.checked_sub(self.start(level))?;
        row.get(usize::try_from(stored).ok()?)
    }

    /// MTH of leaves `start .. start + len`, for a range the RFC's recursion
    /// visits: `start` is a multiple of the smallest power of two `>= len`.
    /// Such a range is a run of complete subtrees, largest first (one per
    /// set bit of `len`), and its MTH folds them from the right.
    fn range_hash(&self, start: u64, len: u64) -> Option<Hash> {
        if len == 0 || start.checked_add(len)? > self.len() {
            return None;
        }
        let mut acc: Option<Hash> = None;
        let mut rest = len;
        while rest != 0 {
            // The rightmost remaining subtree: the lowest set bit of `rest`.
            let level = rest.trailing_zeros();
            rest &= rest - 1;
            let pos = start + rest;
            if pos.trailing_zeros() < level {
                return None; // not aligned: not a range of the recursion
            }
            let piece = *self.subtree(level, pos >> level)?;
            acc = Some(match acc {
                None => piece,
                Some(right) => node_hash(&piece, &right),
            });
        }
        acc
    }
}

/// Verifies an inclusion proof, RFC 9162 §2.1.3.2: that `leaf` (a leaf hash)
/// is at `index` in the tree of `size` leaves whose head is `root`.
///
/// `size` and `root` must come from the same trusted source (one signed
/// checkpoint): the algorithm does not bind the size by itself, so a proof
/// may also verify for another size whose tree has the same shape along the
/// path — against that other size's own head it fails.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// Verifies a consistency proof, RFC 9162 §2.1.4.2: that the tree of
/// `new_size` leaves with head `new_root` extends the tree of `old_size`
/// leaves with head `old_root`.
///
/// Beyond the RFC (which defines proofs for `0 < old_size < new_size`): equal
/// sizes are consistent with an empty proof if the heads are equal, and the
/// empty tree (`old_size` 0, head SHA-256 of the empty string) with an empty
/// proof is consistent with every tree.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    // 1. An empty path fails.
    if proof.is_empty() {
        return false;
    }
    // 2. and 5. A complete old tree is itself the first node of the path.
    let mut path = proof.iter();
    let first = if old_size.is_power_of_two() {
        Some(old_root)
    } else {
        path.next()
    };
    let Some(&first) = first else {
        return false;
    };
    let (mut fr, mut sr) = (first, first);
    // 3. and 4.
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // 6.
    for c in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // 7.
    fr == *old_root && sr == *new_root && snode == 0
}

#[cfg(test)]
mod tests;
