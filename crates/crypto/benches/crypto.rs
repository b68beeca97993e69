//! What encryption at rest costs per record, next to two baselines measured
//! in the same run: SHA-256 of 64 bytes and AES-256-GCM-SIV of 4 KiB.
//!
//! `cargo bench -p trygg-crypto`; results in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::digest;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trygg_crypto::{BlindIndexKey, DataKey, Keyring};

/// A person's fields as the store seals them: (field, typical value).
const FIELDS: [(&str, &str); 6] = [
    ("identity_number", "193303139978"),
    ("given_name", "Margit"),
    ("family_name", "Lindqvist"),
    ("address", "Björkgatan 12\n999 42 Exempelby"),
    ("phone", "0701740610"),
    ("email", "margit.lindqvist@exempelby.example"),
];

fn aad(field: &str) -> Vec<u8> {
    format!("persons/01a2096c-2085-7f15-b9a1-c5ac947bba9f/{field}").into_bytes()
}

fn bench(c: &mut Criterion) {
    let ring = Keyring::generate().unwrap();
    let dek = DataKey::generate().unwrap();
    let wrapped = ring.wrap(&dek, b"data-key/x").unwrap();
    let sealed: Vec<Vec<u8>> = FIELDS
        .iter()
        .map(|(f, v)| dek.seal_str(v, &aad(f)).unwrap())
        .collect();
    let blind = BlindIndexKey::from_data_key(&DataKey::generate().unwrap());
    let block = vec![7u8; 4096];

    let mut g = c.benchmark_group("crypto");
    g.bench_function("baseline/sha256_64B", |b| {
        b.iter(|| digest::digest(&digest::SHA256, black_box(&[1u8; 64])))
    });
    g.bench_function("baseline/aes256gcmsiv_seal_4KiB", |b| {
        b.iter(|| dek.seal(black_box(&block), b"x").unwrap())
    });
    g.bench_function("person/seal_6_fields_with_new_key", |b| {
        b.iter(|| {
            let key = DataKey::generate().unwrap();
            let w = ring.wrap(&key, b"data-key/x").unwrap();
            let fields: Vec<_> = FIELDS
                .iter()
                .map(|(f, v)| key.seal_str(v, &aad(f)).unwrap())
                .collect();
            black_box((w, fields))
        })
    });
    g.bench_function("person/unwrap_key_and_open_6_fields", |b| {
        b.iter(|| {
            let key = ring.unwrap(black_box(&wrapped), b"data-key/x").unwrap();
            let out: Vec<_> = FIELDS
                .iter()
                .zip(&sealed)
                .map(|((f, _), s)| key.open_string(s, &aad(f)).unwrap())
                .collect();
            black_box(out)
        })
    });
    g.bench_function("key/unwrap_data_key", |b| {
        b.iter(|| ring.unwrap(black_box(&wrapped), b"data-key/x").unwrap())
    });
    g.bench_function("index/blind_index_identity_number", |b| {
        b.iter(|| {
            blind.digest(&[
                b"identity-number",
                b"01a2096c-205a-711a-94d5-8cfe6f2c5750",
                black_box(b"193303139978"),
            ])
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
