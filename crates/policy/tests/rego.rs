//! The Rego version used in the benchmark agrees with the reference model,
//! so that the benchmark compares like with like.

#[path = "support/inputs.rs"]
mod inputs;
#[path = "support/rego.rs"]
mod rego;

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::Cell;
use trygg_policy::reference;

#[test]
fn rego_agrees_with_the_reference_model() {
    let rego = rego::Rego::new();
    let allowed = Cell::new(0usize);
    let config = Config {
        failure_persistence: None,
        ..Config::with_cases(3_000)
    };
    let mut runner = TestRunner::new(config);
    runner
        .run(&inputs::input(), |i| {
            let got = rego.decide(&i.principal, i.action, &i.resource, &i.facts, i.now);
            let spec = reference::decide(&i.principal, i.action, &i.resource, &i.facts, i.now);
            if got != spec {
                return Err(TestCaseError::fail(format!(
                    "rego {got:?} but the reference {spec:?} for {i:#?}"
                )));
            }
            allowed.set(allowed.get() + usize::from(got.is_some()));
            Ok(())
        })
        .unwrap();
    assert!(allowed.get() > 300, "only {} allows", allowed.get());
}
