//! Decision latency, criterion medians: Cedar (the decision path: entities
//! built per request, policies cached), the same rules in Rego on regorus
//! (input built per request, policy compiled once), and the plain-Rust
//! reference model, for requests whose facts number 5, 20 and 50 (roles,
//! care relationships, consents, blocked units and emergency accesses).
//! `latency.rs` gives the p50 and p99 of single decisions of the same
//! scenario.
//!
//! `cargo bench -p trygg-policy --bench decision -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use support::{Engines, SIZES, scenario};

fn decision(c: &mut Criterion) {
    let engines = Engines::new();
    let mut group = c.benchmark_group("decision");
    for n in SIZES {
        let s = scenario(n);
        engines.check(&s);
        group.bench_with_input(BenchmarkId::new("cedar", n), &n, |b, _| {
            b.iter(|| engines.cedar(black_box(&s)))
        });
        group.bench_with_input(BenchmarkId::new("regorus", n), &n, |b, _| {
            b.iter(|| engines.rego(black_box(&s)))
        });
        group.bench_with_input(BenchmarkId::new("reference", n), &n, |b, _| {
            b.iter(|| engines.reference(black_box(&s)))
        });
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
