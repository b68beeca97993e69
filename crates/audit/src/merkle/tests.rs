use super::*;
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
