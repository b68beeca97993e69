//! Decision latency, p50 and p99 of single decisions: the scenario of
//! `decision.rs` (criterion gives only a median of batch means), each
//! decision timed on its own with `Instant`. For each number of facts, every
//! engine is warmed up, then the samples are taken in rounds, the engines
//! taking turns (in a rotating order), so that a change of load during the
//! run touches all of them alike. The clock itself is timed the same way
//! (`clock`: an empty timing): at a few nanoseconds per decision the
//! reference model's figures are mostly the clock's.
//!
//! `cargo bench -p trygg-policy --bench latency [-- [--samples 20000] [FILTER]]`
//!
//! As with criterion, a FILTER measures only the engines whose
//! `engine/n` contains it (`cedar/50`, `regorus`); ratios need the reference.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::hint::black_box;
use std::time::Instant;
use support::{Engines, SIZES, Scenario, scenario};

/// Samples per engine and number of facts, unless `--samples N` says otherwise.
const SAMPLES: usize = 20_000;
/// Untimed decisions per engine before the first sample.
const WARM_UP: usize = 2_000;
/// The engines take turns this many times.
const ROUNDS: usize = 10;

/// The timed engines, in the order of the report.
const ENGINES: [&str; 4] = ["clock", "reference", "cedar", "regorus"];

fn decide(engines: &Engines, engine: usize, s: &Scenario) {
    match engine {
        0 => {}
        1 => {
            black_box(engines.reference(black_box(s)));
        }
        2 => {
            black_box(engines.cedar(black_box(s)));
        }
        _ => {
            black_box(engines.rego(black_box(s)));
        }
    }
}

/// The `p`-quantile of sorted `samples` (nearest rank), in microseconds.
fn quantile(samples: &[u64], p: f64) -> f64 {
    let rank = (p * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1] as f64 / 1_000.0
}

/// The number of samples (`--samples N`) and the filter (the first other
/// argument that is not a flag; cargo passes `--bench`).
fn arguments() -> (usize, Option<String>) {
    let mut samples = SAMPLES;
    let mut filter = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--samples" {
            samples = args.next().unwrap().parse().unwrap();
        } else if !arg.starts_with('-') && filter.is_none() {
            filter = Some(arg);
        }
    }
    (samples.div_ceil(ROUNDS) * ROUNDS, filter)
}

fn main() {
    let (samples, filter) = arguments();
    let engines = Engines::new();
    println!("p50 and p99 of {samples} single decisions per engine and number of facts (µs)");
    println!("| n | engine | p50 | p99 | p50 ÷ reference p50 | p99 ÷ reference p99 |");
    println!("|---|---|---:|---:|---:|---:|");
    for n in SIZES {
        let wanted: Vec<usize> = (0..ENGINES.len())
            .filter(|e| {
                filter
                    .as_ref()
                    .is_none_or(|f| format!("{}/{n}", ENGINES[*e]).contains(f.as_str()))
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let s = scenario(n);
        engines.check(&s);
        for &engine in &wanted {
            for _ in 0..WARM_UP {
                decide(&engines, engine, &s);
            }
        }
        let mut times: Vec<Vec<u64>> = vec![Vec::with_capacity(samples); ENGINES.len()];
        for round in 0..ROUNDS {
            for turn in 0..wanted.len() {
                let engine = wanted[(round + turn) % wanted.len()];
                let into = &mut times[engine];
                for _ in 0..samples / ROUNDS {
                    let start = Instant::now();
                    decide(&engines, engine, &s);
                    let took = start.elapsed();
                    into.push(u64::try_from(took.as_nanos()).unwrap());
                }
            }
        }
        for t in &mut times {
            t.sort_unstable();
        }
        let reference = &times[1];
        for &engine in &wanted {
            let t = &times[engine];
            let (p50, p99) = (quantile(t, 0.50), quantile(t, 0.99));
            let ratios = if reference.is_empty() {
                "– | –".to_owned()
            } else {
                format!(
                    "{:.1} | {:.1}",
                    p50 / quantile(reference, 0.50),
                    p99 / quantile(reference, 0.99)
                )
            };
            println!(
                "| {n} | {} | {p50:.3} | {p99:.3} | {ratios} |",
                ENGINES[engine]
            );
        }
    }
}
