//! What the audit log's Merkle tree costs at a million leaves, side by side
//! with the `ct-merkle` crate doing the same operations, next to a baseline
//! measured in the same run: SHA-256 of 64 bytes.
//!
//! Both trees hash with the same SHA-256 (aws-lc-rs; `ct-merkle` through a
//! small `digest` adapter below), so the comparison is of the tree code.
//!
//! `cargo bench -p trygg-audit`; results in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use aws_lc_rs::digest as aws;
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use ct_merkle::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update, consts::U32};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use std::hint::black_box;
use trygg_audit::merkle::{self, Tree, leaf_hash};

const N: u64 = 1_000_000;

/// aws-lc-rs SHA-256 behind the `digest` traits `ct-merkle` is generic over.
#[derive(Clone)]
struct AwsSha256(aws::Context);

impl Default for AwsSha256 {
    fn default() -> Self {
        Self(aws::Context::new(&aws::SHA256))
    }
}
impl HashMarker for AwsSha256 {}
impl OutputSizeUser for AwsSha256 {
    type OutputSize = U32;
}
impl Update for AwsSha256 {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}
impl FixedOutput for AwsSha256 {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(self.0.finish().as_ref());
    }
}

type CtTree = MemoryBackedTree<AwsSha256, [u8; 32]>;

/// The log entries: 32 bytes each (an entry's own hash, as the log will store).
fn entries(n: u64) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| {
            let mut e = [0u8; 32];
            e[..8].copy_from_slice(&i.to_be_bytes());
            e
        })
        .collect()
}

/// 1,024 spread-out values below `bound` (a fixed LCG, the same every run).
fn spread(bound: u64) -> Vec<u64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..1024)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) % bound
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let entries = entries(N);
    let ours = Tree::from_leaves(entries.iter().map(|e| leaf_hash(e)));
    let mut theirs = CtTree::new();
    for e in &entries {
        theirs.push(*e);
    }
    assert_eq!(ours.root().as_slice(), theirs.root().as_bytes().as_slice());

    let indexes = spread(N);
    let old_sizes: Vec<u64> = spread(N - 1).into_iter().map(|s| s + 1).collect();

    let mut g = c.benchmark_group("merkle");
    g.bench_function("baseline/sha256_64B", |b| {
        b.iter(|| aws::digest(&aws::SHA256, black_box(&[1u8; 64])))
    });

    g.bench_function("root_1M/trygg", |b| b.iter(|| black_box(&ours).root()));
    g.bench_function("root_1M/ct-merkle", |b| {
        b.iter(|| black_box(&theirs).root())
    });

    let mut i = 0;
    g.bench_function("inclusion_proof_1M/trygg", |b| {
        b.iter(|| {
            i = (i + 1) % indexes.len();
            ours.inclusion_proof(black_box(indexes[i]), N).unwrap()
        })
    });
    g.bench_function("inclusion_proof_1M/ct-merkle", |b| {
        b.iter(|| {
            i = (i + 1) % indexes.len();
            theirs.prove_inclusion(black_box(indexes[i] as usize))
        })
    });

    g.bench_function("consistency_proof_1M/trygg", |b| {
        b.iter(|| {
            i = (i + 1) % old_sizes.len();
            ours.consistency_proof(black_box(old_sizes[i]), N).unwrap()
        })
    });
    g.bench_function("consistency_proof_1M/ct-merkle", |b| {
        b.iter(|| {
            i = (i + 1) % old_sizes.len();
            theirs.prove_consistency(black_box((N - old_sizes[i]) as usize))
        })
    });

    // At an earlier size (ct-merkle proves only at its current size).
    g.bench_function("root_at_earlier_size/trygg", |b| {
        b.iter(|| {
            i = (i + 1) % old_sizes.len();
            ours.root_at(black_box(old_sizes[i])).unwrap()
        })
    });
    g.bench_function("inclusion_proof_at_earlier_size/trygg", |b| {
        b.iter(|| {
            i = (i + 1) % old_sizes.len();
            let size = old_sizes[i];
            ours.inclusion_proof(black_box(indexes[i] % size), size)
                .unwrap()
        })
    });

    // Verification, as an auditor does it.
    let root = ours.root();
    let their_root = theirs.root();
    let proofs: Vec<_> = indexes
        .iter()
        .map(|&x| ours.inclusion_proof(x, N).unwrap())
        .collect();
    let their_proofs: Vec<_> = indexes
        .iter()
        .map(|&x| theirs.prove_inclusion(x as usize))
        .collect();
    g.bench_function("verify_inclusion_1M/trygg", |b| {
        b.iter(|| {
            i = (i + 1) % indexes.len();
            let x = indexes[i];
            assert!(merkle::verify_inclusion(
                &leaf_hash(&entries[x as usize]),
                x,
                N,
                black_box(&proofs[i]),
                &root
            ));
        })
    });
    g.bench_function("verify_inclusion_1M/ct-merkle", |b| {
        b.iter(|| {
            i = (i + 1) % indexes.len();
            let x = indexes[i];
            their_root
                .verify_inclusion(&entries[x as usize], x, black_box(&their_proofs[i]))
                .unwrap();
        })
    });
    g.finish();

    // Appending: a whole tree of a million entries per iteration.
    let mut g = c.benchmark_group("append");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("append_1M/trygg", |b| {
        b.iter_batched(
            Tree::new,
            |mut tree| {
                for e in &entries {
                    tree.push(leaf_hash(e));
                }
                tree
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("append_1M/ct-merkle", |b| {
        b.iter_batched(
            CtTree::new,
            |mut tree| {
                for e in &entries {
                    tree.push(*e);
                }
                tree
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
