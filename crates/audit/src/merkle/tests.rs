use super::*;
use crate::verify::FrontierFull;
use proptest::prelude::*;

// ---- A naive reference: the RFC 9162 §2.1 definitions, recursively --------

/// k: the largest power of two smaller than n (n > 1).
fn naive_split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]), RFC 9162 §2.1.1.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = naive_split(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]), RFC 9162 §2.1.3.1.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return Vec::new();
    }
    let k = naive_split(n);
    let (mut p, sibling) = if m < k {
        (path(m, &d[..k]), mth(&d[k..]))
    } else {
        (path(m - k, &d[k..]), mth(&d[..k]))
    };
    p.push(sibling);
    p
}

/// SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1.
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(d)] };
    }
    let k = naive_split(n);
    let (mut p, sibling) = if m <= k {
        (subproof(m, &d[..k], b), mth(&d[k..]))
    } else {
        (subproof(m - k, &d[k..], false), mth(&d[..k]))
    };
    p.push(sibling);
    p
}

/// PROOF(m, D[n]) for 0 < m < n; empty for the trivial cases.
fn proof(m: usize, d: &[Hash]) -> Vec<Hash> {
    if m == 0 || m == d.len() {
        Vec::new()
    } else {
        subproof(m, d, true)
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn hex(s: &str) -> Hash {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[(bit / 8) % 32] ^= 1 << (bit % 8);
    h
}

// ---- Known answers: RFC 6962 / Certificate Transparency test vectors --------

/// The eight entries of the Certificate Transparency reference test vectors.
const KAT_ENTRIES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// Tree heads for sizes 0 to 8.
const KAT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const H1: &str = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7";
const H23: &str = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e";
const H4567: &str = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4";
const H4: &str = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b";
const H67: &str = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0";
const H5: &str = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a";

fn kat_tree() -> Tree {
    Tree::from_leaves(KAT_ENTRIES.iter().map(|e| leaf_hash(e)))
}

#[test]
fn known_answer_tree_heads() {
    assert_eq!(empty_root(), hex(KAT_ROOTS[0]));
    assert_eq!(Tree::new().root(), hex(KAT_ROOTS[0]));
    let tree = kat_tree();
    for (size, root) in KAT_ROOTS.iter().enumerate() {
        assert_eq!(tree.root_at(size as u64), Some(hex(root)), "size {size}");
        let own = Tree::from_leaves(KAT_ENTRIES[..size].iter().map(|e| leaf_hash(e)));
        assert_eq!(own.root(), hex(root), "size {size}");
    }
}

#[test]
fn known_answer_inclusion_proofs() {
    let tree = kat_tree();
    let cases: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (0, 8, &[H1, H23, H4567]),
        (5, 8, &[H4, H67, KAT_ROOTS[4]]),
        (2, 3, &[KAT_ROOTS[2]]),
        (1, 5, &[KAT_ROOTS[1], H23, H4]),
    ];
    for (index, size, want) in cases {
        let want: Vec<Hash> = want.iter().map(|h| hex(h)).collect();
        assert_eq!(
            tree.inclusion_proof(index, size),
            Some(want.clone()),
            "{index}/{size}"
        );
        let leaf = leaf_hash(KAT_ENTRIES[index as usize]);
        let root = hex(KAT_ROOTS[size as usize]);
        assert!(verify_inclusion(&leaf, index, size, &want, &root));
    }
}

#[test]
fn known_answer_consistency_proofs() {
    let tree = kat_tree();
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (1, 8, &[H1, H23, H4567]),
        (6, 8, &[H5, H67, KAT_ROOTS[4]]),
        (2, 5, &[H23, H4]),
    ];
    for (old, new, want) in cases {
        let want: Vec<Hash> = want.iter().map(|h| hex(h)).collect();
        assert_eq!(
            tree.consistency_proof(old, new),
            Some(want.clone()),
            "{old}->{new}"
        );
        let (old_root, new_root) = (hex(KAT_ROOTS[old as usize]), hex(KAT_ROOTS[new as usize]));
        assert!(verify_consistency(old, new, &old_root, &new_root, &want));
    }
}

#[test]
fn hashes_are_domain_separated() {
    // A leaf is SHA-256(0x00 || entry), a node SHA-256(0x01 || l || r): the
    // same bytes never hash alike as a leaf and as a node.
    let (l, r) = (leaf_hash(b"a"), leaf_hash(b"b"));
    let mut concat = l.to_vec();
    concat.extend_from_slice(&r);
    assert_ne!(node_hash(&l, &r), leaf_hash(&concat));
    let mut prefixed = vec![0x01];
    prefixed.extend_from_slice(&concat);
    let plain = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &prefixed);
    assert_eq!(node_hash(&l, &r).as_slice(), plain.as_ref());
    assert_eq!(
        leaf_hash(b"").as_slice(),
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &[0x00]).as_ref()
    );
}

// ---- Against the naive reference, exhaustively for small trees -------------

#[test]
fn every_size_up_to_70_matches_the_rfc_definitions() {
    const MAX: usize = 70;
    let d = leaves(MAX);
    let big = Tree::from_leaves(d.iter().copied());
    for size in 0..=MAX {
        let prefix = &d[..size];
        let own = Tree::from_leaves(prefix.iter().copied());
        let want_root = mth(prefix);
        assert_eq!(own.len(), size as u64);
        assert_eq!(own.root(), want_root, "size {size}");
        assert_eq!(big.root_at(size as u64), Some(want_root), "size {size}");
        for (index, leaf) in prefix.iter().enumerate() {
            let want = path(index, prefix);
            let (i, s) = (index as u64, size as u64);
            assert_eq!(big.inclusion_proof(i, s).as_ref(), Some(&want), "{i}/{s}");
            assert_eq!(own.inclusion_proof(i, s).as_ref(), Some(&want), "{i}/{s}");
            assert!(verify_inclusion(leaf, i, s, &want, &want_root));
        }
        for old in 0..=size {
            let want = proof(old, prefix);
            let (o, s) = (old as u64, size as u64);
            assert_eq!(
                big.consistency_proof(o, s).as_ref(),
                Some(&want),
                "{o}->{s}"
            );
            assert_eq!(
                own.consistency_proof(o, s).as_ref(),
                Some(&want),
                "{o}->{s}"
            );
            assert!(
                verify_consistency(o, s, &mth(&d[..old]), &want_root, &want),
                "{o}->{s}"
            );
        }
    }
}

#[test]
fn out_of_range_requests_give_none() {
    let tree = Tree::from_leaves(leaves(10));
    assert_eq!(tree.root_at(11), None);
    assert_eq!(tree.leaf(10), None);
    assert_eq!(tree.leaf(9), Some(leaves(10)[9]));
    assert_eq!(tree.inclusion_proof(10, 10), None);
    assert_eq!(tree.inclusion_proof(0, 11), None);
    assert_eq!(tree.inclusion_proof(0, 0), None);
    assert_eq!(tree.consistency_proof(5, 11), None);
    assert_eq!(tree.consistency_proof(6, 5), None);
    assert_eq!(tree.consistency_proof(u64::MAX, u64::MAX), None);
    assert_eq!(tree.inclusion_proof(u64::MAX - 1, u64::MAX), None);
    let empty = Tree::new();
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    assert_eq!(empty.root_at(0), Some(empty_root()));
    assert_eq!(empty.consistency_proof(0, 0), Some(Vec::new()));
    assert!(format!("{tree:?}").starts_with("Tree { len: 10, root: "));
}

#[test]
fn push_and_from_leaves_agree() {
    let d = leaves(100);
    let mut pushed = Tree::new();
    for (n, leaf) in d.iter().enumerate() {
        assert_eq!(pushed.root(), mth(&d[..n]));
        pushed.push(*leaf);
    }
    let built = Tree::from_leaves(d.iter().copied());
    assert_eq!(pushed.root(), built.root());
    assert_eq!(pushed.len(), 100);
    assert!(!pushed.is_empty());
}

// ---- Tampering: every change to a proof, index, size or head fails ---------

/// Every single-bit flip of every proof element, for every proof of trees of
/// up to 12 leaves, and one bit per element up to 33 leaves.
#[test]
fn any_bit_flip_in_a_proof_fails() {
    let d = leaves(33);
    let tree = Tree::from_leaves(d.iter().copied());
    for size in 1..=33u64 {
        let root = tree.root_at(size).unwrap();
        let bits: Vec<usize> = if size <= 12 {
            (0..256).collect()
        } else {
            vec![size as usize * 7 % 256]
        };
        for index in 0..size {
            let p = tree.inclusion_proof(index, size).unwrap();
            for at in 0..p.len() {
                for &bit in &bits {
                    let mut bad = p.clone();
                    bad[at] = flip(&bad[at], bit);
                    assert!(!verify_inclusion(
                        &d[index as usize],
                        index,
                        size,
                        &bad,
                        &root
                    ));
                }
            }
        }
        for old in 1..size {
            let old_root = tree.root_at(old).unwrap();
            let p = tree.consistency_proof(old, size).unwrap();
            for at in 0..p.len() {
                for &bit in &bits {
                    let mut bad = p.clone();
                    bad[at] = flip(&bad[at], bit);
                    assert!(!verify_consistency(old, size, &old_root, &root, &bad));
                }
            }
        }
    }
}

/// A proof verifies for its own leaf, index, size and head only.
#[test]
fn wrong_leaf_index_size_or_head_fails() {
    const MAX: u64 = 40;
    let d = leaves(MAX as usize);
    let tree = Tree::from_leaves(d.iter().copied());
    for size in 1..=MAX {
        let root = tree.root_at(size).unwrap();
        for index in 0..size {
            let leaf = d[index as usize];
            let p = tree.inclusion_proof(index, size).unwrap();
            assert!(verify_inclusion(&leaf, index, size, &p, &root));
            for other in (0..size + 3).filter(|&o| o != index) {
                assert!(
                    !verify_inclusion(&leaf, other, size, &p, &root),
                    "{index} as {other}"
                );
            }
            for other in (1..=MAX).filter(|&o| o != size) {
                let other_root = tree.root_at(other).unwrap();
                assert!(
                    !verify_inclusion(&leaf, index, other, &p, &other_root),
                    "{index}/{size} as size {other}"
                );
            }
            assert!(!verify_inclusion(&flip(&leaf, 3), index, size, &p, &root));
            assert!(!verify_inclusion(&leaf, index, size, &p, &flip(&root, 200)));
            assert!(!verify_inclusion(&leaf, index, size, &p, &empty_root()));
            // Truncated or extended proofs.
            if let Some((_, shorter)) = p.split_last() {
                assert!(!verify_inclusion(&leaf, index, size, shorter, &root));
            }
            let mut longer = p.clone();
            longer.push(root);
            assert!(!verify_inclusion(&leaf, index, size, &longer, &root));
        }
        for old in 1..size {
            let old_root = tree.root_at(old).unwrap();
            let p = tree.consistency_proof(old, size).unwrap();
            assert!(verify_consistency(old, size, &old_root, &root, &p));
            assert!(!verify_consistency(
                old,
                size,
                &flip(&old_root, 9),
                &root,
                &p
            ));
            assert!(!verify_consistency(
                old,
                size,
                &old_root,
                &flip(&root, 77),
                &p
            ));
            assert!(!verify_consistency(old, size, &root, &old_root, &p));
            assert!(!verify_consistency(size, old, &root, &old_root, &p));
            for o in (0..=size).filter(|&o| o != old) {
                let o_root = tree.root_at(o).unwrap();
                assert!(
                    !verify_consistency(o, size, &o_root, &root, &p),
                    "{old}->{size} as {o}->{size}"
                );
            }
            for s in (1..=MAX).filter(|&s| s != size && s > old) {
                let s_root = tree.root_at(s).unwrap();
                assert!(
                    !verify_consistency(old, s, &old_root, &s_root, &p),
                    "{old}->{size} as {old}->{s}"
                );
            }
            if let Some((_, shorter)) = p.split_last() {
                assert!(!verify_consistency(old, size, &old_root, &root, shorter));
            }
            let mut longer = p.clone();
            longer.push(root);
            assert!(!verify_consistency(old, size, &old_root, &root, &longer));
            assert!(!verify_consistency(old, size, &old_root, &root, &[]));
        }
    }
}

#[test]
fn trivial_consistency_cases() {
    let tree = Tree::from_leaves(leaves(5));
    let root = tree.root();
    // Equal sizes: equal heads and an empty proof.
    assert!(verify_consistency(5, 5, &root, &root, &[]));
    assert!(!verify_consistency(5, 5, &root, &flip(&root, 1), &[]));
    assert!(!verify_consistency(5, 5, &root, &root, &[root]));
    // The empty tree is consistent with every tree, with an empty proof.
    assert!(verify_consistency(0, 5, &empty_root(), &root, &[]));
    assert!(!verify_consistency(0, 5, &root, &root, &[]));
    assert!(!verify_consistency(0, 5, &empty_root(), &root, &[root]));
    assert!(verify_consistency(0, 0, &empty_root(), &empty_root(), &[]));
    // Shrinking is never consistent.
    assert!(!verify_consistency(
        5,
        4,
        &root,
        &tree.root_at(4).unwrap(),
        &[]
    ));
    // Index outside the tree.
    assert!(!verify_inclusion(&tree.leaf(0).unwrap(), 5, 5, &[], &root));
    assert!(!verify_inclusion(&root, 0, 0, &[], &empty_root()));
    assert!(verify_inclusion(&root, 0, 1, &[], &root));
}

/// Inclusion verification binds the tree size only through the head: a
/// proof for size 5 also checks out for "size 6" against the size-5 head.
/// Size and head must therefore come from the same signed checkpoint.
#[test]
fn inclusion_binds_the_size_only_through_the_head() {
    let tree = Tree::from_leaves(leaves(6));
    let leaf = tree.leaf(0).unwrap();
    let proof = tree.inclusion_proof(0, 5).unwrap();
    let root5 = tree.root_at(5).unwrap();
    assert!(verify_inclusion(&leaf, 0, 6, &proof, &root5));
    assert!(!verify_inclusion(&leaf, 0, 6, &proof, &tree.root()));
}

// ---- Large and random trees ------------------------------------------------

/// Over a million leaves: the head matches the recursive definition, and
/// proofs near the edges and between distant sizes verify.
#[test]
fn a_million_leaves() {
    const N: usize = 1_000_003;
    let d = leaves(N);
    let tree = Tree::from_leaves(d.iter().copied());
    assert_eq!(tree.len(), N as u64);
    let root = tree.root();
    assert_eq!(root, mth(&d));
    let n = N as u64;
    for index in [0, 1, 524_287, 524_288, 999_999, n - 2, n - 1] {
        let p = tree.inclusion_proof(index, n).unwrap();
        assert!(p.len() <= 21);
        assert!(verify_inclusion(&d[index as usize], index, n, &p, &root));
    }
    for old in [1, 3, 1 << 19, 700_001, n - 1] {
        let old_root = tree.root_at(old).unwrap();
        let p = tree.consistency_proof(old, n).unwrap();
        assert!(verify_consistency(old, n, &old_root, &root, &p));
    }
    assert_eq!(tree.root_at(123_457), Some(mth(&d[..123_457])));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random trees up to 5,000 leaves: heads and proofs at any earlier size
    /// equal the RFC's definitions, and verify.
    #[test]
    fn random_sizes_match_the_rfc_definitions(
        total in 1usize..5_000,
        size_frac in 0.0f64..=1.0,
        index_frac in 0.0f64..1.0,
        old_frac in 0.0f64..=1.0,
    ) {
        let d = leaves(total);
        let tree = Tree::from_leaves(d.iter().copied());
        let size = ((total as f64 * size_frac) as usize).clamp(1, total);
        let index = ((size as f64 * index_frac) as usize).min(size - 1);
        let old = ((size as f64 * old_frac) as usize).min(size);
        let prefix = &d[..size];
        let root = mth(prefix);
        let (i, s, o) = (index as u64, size as u64, old as u64);
        prop_assert_eq!(tree.root_at(s), Some(root));
        let p = tree.inclusion_proof(i, s).unwrap();
        prop_assert_eq!(&p, &path(index, prefix));
        prop_assert!(verify_inclusion(&d[index], i, s, &p, &root));
        let c = tree.consistency_proof(o, s).unwrap();
        prop_assert_eq!(&c, &proof(old, prefix));
        prop_assert!(verify_consistency(o, s, &mth(&d[..old]), &root, &c));
    }

    /// A random single-bit flip in a random proof of a tree up to 300 leaves.
    #[test]
    fn random_bit_flips_fail(
        size in 2u64..300,
        index_frac in 0.0f64..1.0,
        at in any::<usize>(),
        bit in 0usize..256,
    ) {
        let d = leaves(size as usize);
        let tree = Tree::from_leaves(d.iter().copied());
        let root = tree.root();
        let index = ((size as f64 * index_frac) as u64).min(size - 1);
        let mut p = tree.inclusion_proof(index, size).unwrap();
        let k = at % p.len();
        p[k] = flip(&p[k], bit);
        prop_assert!(!verify_inclusion(&d[index as usize], index, size, &p, &root));

        let old = index.max(1);
        let old_root = tree.root_at(old).unwrap();
        let mut c = tree.consistency_proof(old, size).unwrap();
        if !c.is_empty() {
            let k = at % c.len();
            c[k] = flip(&c[k], bit);
            prop_assert!(!verify_consistency(old, size, &old_root, &root, &c));
        }
    }

    /// Verification never panics on arbitrary input.
    #[test]
    fn verification_of_garbage_is_false_not_a_panic(
        index in any::<u64>(),
        size in any::<u64>(),
        old in any::<u64>(),
        proof in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
        a in any::<[u8; 32]>(),
        b in any::<[u8; 32]>(),
    ) {
        let _ = verify_inclusion(&a, index, size, &proof, &b);
        let _ = verify_consistency(old, size, &a, &b, &proof);
        let _ = verify_consistency(old % 1000, size % 1000, &a, &b, &proof);
    }
}

// ---- Pruned trees: rebuilt from the frontier at k ----------------------------

/// The largest power of two smaller than `n` (`n > 1`), for any `u64`.
fn naive_split_u64(n: u64) -> u64 {
    let mut k = 1;
    while k < n - k {
        k *= 2;
    }
    k
}

/// The ranges `[lo, hi)` of the perfect subtrees that make up `[0, size)`,
/// largest first: what [`Tree::frontier`] hashes.
fn frontier_ranges(size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64).rev() {
        if (size >> level) & 1 == 1 {
            out.push((start, start + (1 << level)));
            start += 1 << level;
        }
    }
    out
}

/// The ranges of the siblings on leaf `m`'s path in the tree of `[lo, hi)`
/// (PATH, RFC 9162 §2.1.3.1).
fn path_ranges(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    if hi - lo == 1 {
        return;
    }
    let k = naive_split_u64(hi - lo);
    if m < lo + k {
        path_ranges(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        path_ranges(m, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// The ranges of the nodes of the consistency proof from size `m` in the
/// tree of `[lo, hi)` (SUBPROOF, RFC 9162 §2.1.4.1).
fn subproof_ranges(m: u64, lo: u64, hi: u64, b: bool, out: &mut Vec<(u64, u64)>) {
    if m == hi {
        if !b {
            out.push((lo, hi));
        }
        return;
    }
    let k = naive_split_u64(hi - lo);
    if m <= lo + k {
        subproof_ranges(m, lo, lo + k, b, out);
        out.push((lo + k, hi));
    } else {
        subproof_ranges(m, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// The key fact behind pruning: every node of the tree head at `s >= k`, of
/// an inclusion proof of a leaf `i >= k`, and of a consistency proof from
/// `old >= k`, that lies entirely inside `[0, k)`, is one of the frontier's
/// subtrees at `k`. Returns how many such nodes were seen.
fn check_key_fact(k: u64, i: u64, s: u64, old: u64, new: u64) -> usize {
    let frontier = frontier_ranges(k);
    let mut seen = 0;
    let mut check = |what: &str, nodes: &[(u64, u64)]| {
        for &(lo, hi) in nodes {
            if hi <= k {
                assert!(
                    frontier.contains(&(lo, hi)),
                    "{what}: node [{lo}, {hi}) inside [0, {k}) is not a frontier subtree"
                );
                seen += 1;
            }
        }
    };
    check(&format!("head at {s}"), &frontier_ranges(s));
    let mut nodes = Vec::new();
    if k <= i && i < s {
        path_ranges(i, 0, s, &mut nodes);
        check(&format!("inclusion of {i} in {s}"), &nodes);
    }
    if k <= old && old != 0 && old < new {
        nodes.clear();
        subproof_ranges(old, 0, new, true, &mut nodes);
        check(&format!("consistency {old} -> {new}"), &nodes);
    }
    seen
}

#[test]
fn nodes_inside_the_pruned_prefix_are_frontier_subtrees_exhaustively_to_48() {
    let mut seen = 0;
    for k in 0..=48u64 {
        for s in k.max(1)..=48 {
            for i in k..s {
                seen += check_key_fact(k, i, s, k.max(1).min(s), s);
            }
            for old in k.max(1)..=s {
                seen += check_key_fact(k, s - 1, s, old, s);
            }
        }
    }
    // The prefix is actually used, not just avoided.
    assert!(seen > 10_000, "{seen}");
}

/// The full tree of `d` and the tree rebuilt from its frontier at `k` with
/// the leaves from `k` on appended.
fn full_and_pruned(d: &[Hash], k: u64) -> (Tree, Tree) {
    let full = Tree::from_leaves(d.iter().copied());
    let frontier = full.frontier(k).unwrap();
    assert_eq!(frontier.len() as u32, k.count_ones());
    let mut pruned = Tree::from_frontier(k, &frontier).unwrap();
    assert_eq!(pruned.len(), k);
    assert_eq!(pruned.pruned(), k);
    assert_eq!(pruned.root(), full.root_at(k).unwrap());
    assert_eq!(pruned.frontier(k), Some(frontier));
    for leaf in &d[k as usize..] {
        pruned.push(*leaf);
    }
    (full, pruned)
}

/// What the pruned tree must answer: the full tree's answer where `ok`,
/// `None` elsewhere.
fn want<T>(ok: bool, full: Option<T>) -> Option<T> {
    if ok { full } else { None }
}

/// Compares the pruned tree with the full one on every request with sizes up
/// to `n + 1` (`stride` 1) or a sample of them.
fn assert_pruned_agrees(full: &Tree, pruned: &Tree, k: u64, stride: u64) {
    let n = full.len();
    assert_eq!(pruned.len(), n, "k {k}");
    assert_eq!(pruned.is_empty(), n == 0);
    assert_eq!(pruned.root(), full.root(), "k {k}");
    let sizes: Vec<u64> = (0..=n + 1)
        .filter(|&s| stride == 1 || s % stride == 0 || s.abs_diff(k) <= 2 || s + 2 >= n)
        .collect();
    for &s in &sizes {
        let above = s >= k;
        assert_eq!(
            pruned.root_at(s),
            want(above, full.root_at(s)),
            "root {s}, k {k}"
        );
        assert_eq!(
            pruned.frontier(s),
            want(above, full.frontier(s)),
            "frontier {s}, k {k}"
        );
        assert_eq!(pruned.leaf(s), want(above, full.leaf(s)), "leaf {s}, k {k}");
        if above && s <= n {
            assert!(pruned.root_at(s).is_some(), "root {s}, k {k}");
        }
        for &i in sizes.iter().take_while(|&&i| i <= s) {
            let got = pruned.inclusion_proof(i, s);
            assert_eq!(
                got,
                want(i >= k, full.inclusion_proof(i, s)),
                "incl {i}/{s}, k {k}"
            );
            if i >= k && i < s && s <= n {
                assert!(got.is_some(), "incl {i}/{s}, k {k}");
            }
        }
        for &old in sizes.iter().take_while(|&&old| old <= s + 1) {
            let got = pruned.consistency_proof(old, s);
            assert_eq!(
                got,
                want(old >= k, full.consistency_proof(old, s)),
                "cons {old}->{s}, k {k}"
            );
            if old >= k && old <= s && s <= n {
                assert!(got.is_some(), "cons {old}->{s}, k {k}");
            }
        }
    }
}

#[test]
fn a_tree_pruned_at_any_k_agrees_with_the_full_tree_exhaustively_to_33() {
    let d = leaves(33);
    for n in 0..=33 {
        for k in 0..=n as u64 {
            let (full, pruned) = full_and_pruned(&d[..n], k);
            assert_pruned_agrees(&full, &pruned, k, 1);
        }
    }
}

#[test]
fn a_tree_pruned_around_powers_of_two_agrees_with_the_full_tree() {
    let d = leaves(300);
    for n in [63usize, 64, 65, 127, 128, 129, 255, 256, 257, 300] {
        let mut ks: Vec<u64> = vec![
            0, 1, 2, 3, 5, 7, 31, 33, 63, 64, 65, 127, 128, 129, 255, 256,
        ];
        ks.extend([n as u64 / 2, n as u64 - 1, n as u64]);
        for k in ks.into_iter().filter(|&k| k <= n as u64) {
            let (full, pruned) = full_and_pruned(&d[..n], k);
            assert_pruned_agrees(&full, &pruned, k, 7);
        }
    }
}

#[test]
fn the_frontier_of_a_tree_is_the_streaming_frontier() {
    let d = leaves(300);
    let tree = Tree::from_leaves(d.iter().copied());
    let mut stream = crate::verify::Frontier::new();
    for size in 0..=300u64 {
        let hashes = tree.frontier(size).unwrap();
        assert_eq!(hashes.as_slice(), stream.peaks(), "size {size}");
        let rebuilt = crate::verify::Frontier::from_hashes(size, hashes.clone()).unwrap();
        assert_eq!(rebuilt, stream);
        assert_eq!(rebuilt.clone().into_hashes(), hashes);
        assert_eq!(tree.root_at(size), Some(rebuilt.root()));
        if let Some(leaf) = d.get(size as usize) {
            stream.push(*leaf).unwrap();
        }
    }
    assert_eq!(tree.frontier(301), None);
}

#[test]
fn a_frontier_of_the_wrong_length_is_refused() {
    let h = [[9u8; 32]; 3];
    assert!(Tree::from_frontier(0, &[]).is_some());
    assert!(Tree::from_frontier(0, &h[..1]).is_none());
    assert!(Tree::from_frontier(5, &h[..1]).is_none());
    assert!(Tree::from_frontier(5, &h[..2]).is_some());
    assert!(Tree::from_frontier(5, &h).is_none());
    assert!(Tree::from_frontier(7, &h).is_some());
    assert!(Tree::from_frontier(u64::MAX, &h).is_none());
    assert!(crate::verify::Frontier::from_hashes(5, h[..1].to_vec()).is_none());
    assert!(crate::verify::Frontier::from_hashes(5, h.to_vec()).is_none());
    assert!(crate::verify::Frontier::from_hashes(7, h.to_vec()).is_some());
    // Pruned at 0: the empty tree, and from there a full one.
    let mut zero = Tree::from_frontier(0, &[]).unwrap();
    assert_eq!(zero.pruned(), 0);
    assert_eq!(zero.root(), empty_root());
    for leaf in leaves(10) {
        zero.push(leaf);
    }
    assert_eq!(zero.root(), Tree::from_leaves(leaves(10)).root());
    assert_eq!(zero.leaf(0), Some(leaves(1)[0]));
}

#[test]
fn a_wrong_frontier_hash_gives_other_heads_never_a_panic() {
    let d = leaves(40);
    let full = Tree::from_leaves(d.iter().copied());
    let mut frontier = full.frontier(21).unwrap();
    frontier[1] = flip(&frontier[1], 3);
    let mut pruned = Tree::from_frontier(21, &frontier).unwrap();
    for leaf in &d[21..] {
        pruned.push(*leaf);
    }
    assert_ne!(pruned.root_at(21), full.root_at(21));
    assert_ne!(pruned.root(), full.root());
    // Proofs still verify against the pruned tree's own (wrong) heads, and
    // not against the real ones.
    let p = pruned.inclusion_proof(30, 40).unwrap();
    assert!(verify_inclusion(&d[30], 30, 40, &p, &pruned.root()));
    assert!(!verify_inclusion(&d[30], 30, 40, &p, &full.root()));
    let debug = format!("{pruned:?}");
    assert!(
        debug.starts_with("Tree { len: 40, pruned: 21, root: "),
        "{debug}"
    );
}

#[test]
fn a_pruned_tree_at_the_largest_sizes_counts_to_u64_max_and_stops() {
    let hashes = |size: u64| -> Vec<Hash> {
        (0..size.count_ones() as u64)
            .map(|j| leaf_hash(&j.to_be_bytes()))
            .collect()
    };
    let mut tree = Tree::from_frontier(u64::MAX - 2, &hashes(u64::MAX - 2)).unwrap();
    assert_eq!(tree.len(), u64::MAX - 2);
    let d = leaves(3);
    tree.push(d[0]);
    assert_eq!(tree.try_push(d[1]), Ok(()));
    assert_eq!(tree.len(), u64::MAX);
    let before = tree.clone();
    assert_eq!(tree.try_push(d[2]), Err(FrontierFull));
    tree.push(d[2]);
    assert_eq!(tree.len(), u64::MAX);
    assert_eq!(tree.root(), before.root());
    assert_eq!(tree.leaf(u64::MAX - 1), Some(d[1]));
    assert_eq!(tree.leaf(u64::MAX), None);
    assert_eq!(tree.leaf(u64::MAX - 3), None);
    for s in u64::MAX - 2..=u64::MAX {
        let root = tree.root_at(s).unwrap();
        assert_eq!(
            tree.frontier(s).map(|f| f.len() as u32),
            Some(s.count_ones())
        );
        for i in u64::MAX - 2..s {
            let p = tree.inclusion_proof(i, s).unwrap();
            let leaf = tree.leaf(i).unwrap();
            assert!(verify_inclusion(&leaf, i, s, &p, &root), "{i}/{s}");
        }
        for old in u64::MAX - 2..=s {
            let p = tree.consistency_proof(old, s).unwrap();
            let old_root = tree.root_at(old).unwrap();
            assert!(
                verify_consistency(old, s, &old_root, &root, &p),
                "{old}->{s}"
            );
        }
    }
    assert_eq!(tree.root_at(u64::MAX - 3), None);
    assert_eq!(tree.consistency_proof(0, u64::MAX), None);
    assert_eq!(tree.inclusion_proof(0, u64::MAX), None);
    // Rebuilt at u64::MAX itself: full at once.
    let mut full = Tree::from_frontier(u64::MAX, &hashes(u64::MAX)).unwrap();
    assert_eq!(full.try_push(d[0]), Err(FrontierFull));
    assert_eq!(full.root_at(u64::MAX), Some(full.root()));
    assert_eq!(full.consistency_proof(u64::MAX, u64::MAX), Some(Vec::new()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The key fact for arbitrary sizes up to 2^64 - 1.
    #[test]
    fn nodes_inside_the_pruned_prefix_are_frontier_subtrees(
        a in any::<u64>(),
        b in any::<u64>(),
        c in any::<u64>(),
        d in any::<u64>(),
        e in any::<u64>(),
    ) {
        // k <= old <= new and k <= i < s, all drawn from the same order.
        let mut v = [a, b, c, d, e];
        v.sort_unstable();
        let [k, i, old, new, s] = v;
        prop_assume!(s > i);
        check_key_fact(k, i, s, old.max(1), new.max(old.max(1)));
    }

    /// Random trees up to 3,000 leaves pruned at a random `k`: a sample of
    /// heads and proofs agree with the full tree's.
    #[test]
    fn a_tree_pruned_at_random_k_agrees_with_the_full_tree(
        n in 0usize..3_000,
        k_frac in 0.0f64..=1.0,
        queries in proptest::collection::vec((0.0f64..=1.0, 0.0f64..=1.0), 16),
    ) {
        let d = leaves(n);
        let k = ((n as f64 * k_frac) as u64).min(n as u64);
        let (full, pruned) = full_and_pruned(&d, k);
        prop_assert_eq!(pruned.len(), n as u64);
        prop_assert_eq!(pruned.root(), full.root());
        let n = n as u64;
        for (x, y) in queries {
            let s = ((n + 1) as f64 * x) as u64;
            let t = ((n + 1) as f64 * y) as u64;
            let (lo, hi) = (s.min(t), s.max(t));
            prop_assert_eq!(pruned.root_at(lo), want(lo >= k, full.root_at(lo)));
            prop_assert_eq!(pruned.frontier(hi), want(hi >= k, full.frontier(hi)));
            prop_assert_eq!(pruned.leaf(lo), want(lo >= k, full.leaf(lo)));
            prop_assert_eq!(
                pruned.inclusion_proof(lo, hi),
                want(lo >= k, full.inclusion_proof(lo, hi))
            );
            prop_assert_eq!(
                pruned.consistency_proof(lo, hi),
                want(lo >= k, full.consistency_proof(lo, hi))
            );
            if k <= lo && lo < hi && hi <= n {
                prop_assert!(pruned.inclusion_proof(lo, hi).is_some());
                prop_assert!(pruned.consistency_proof(lo, hi).is_some());
            }
        }
    }

    /// A tree rebuilt from an arbitrary frontier at an arbitrary size, with a
    /// few leaves appended: no panic, and every head and proof it gives above
    /// the prefix verifies (RFC 9162's algorithms) against its own heads.
    #[test]
    fn a_tree_pruned_at_any_size_serves_proofs_that_verify(
        size in prop_oneof![
            any::<u64>(),
            (0u32..64, -3i64..=3).prop_map(|(k, d)| (1u64 << k).wrapping_add_signed(d)),
            (0u64..4).prop_map(|d| u64::MAX - d),
        ],
        seed in any::<u64>(),
        more in 0u64..24,
    ) {
        let frontier: Vec<Hash> = (0..size.count_ones() as u64)
            .map(|j| leaf_hash(&(seed ^ j).to_be_bytes()))
            .collect();
        let mut tree = Tree::from_frontier(size, &frontier).unwrap();
        prop_assert_eq!(
            tree.root(),
            crate::verify::Frontier::from_hashes(size, frontier.clone()).unwrap().root()
        );
        let more = more.min(u64::MAX - size);
        for j in 0..more {
            tree.push(leaf_hash(&(seed ^ !j).to_be_bytes()));
        }
        let end = size + more;
        prop_assert_eq!(tree.len(), end);
        prop_assert_eq!(tree.try_push([0; 32]).is_err(), end == u64::MAX);
        let end = tree.len();
        for s in size..=end {
            let root = tree.root_at(s).unwrap();
            for i in size..s {
                let p = tree.inclusion_proof(i, s).unwrap();
                prop_assert!(verify_inclusion(&tree.leaf(i).unwrap(), i, s, &p, &root));
            }
            for old in size..=s {
                let p = tree.consistency_proof(old, s).unwrap();
                let old_root = tree.root_at(old).unwrap();
                prop_assert!(verify_consistency(old, s, &old_root, &root, &p));
            }
        }
        if size > 0 {
            prop_assert_eq!(tree.root_at(size - 1), None);
            prop_assert_eq!(tree.leaf(size - 1), None);
            prop_assert_eq!(tree.inclusion_proof(size - 1, end), None);
            prop_assert_eq!(tree.consistency_proof(size - 1, end), None);
            prop_assert_eq!(tree.frontier(size - 1), None);
        }
    }
}
