//! Cedar agrees with the reference model (the specification) on every
//! generated input: allow or deny, and the ground of every allow.

#[path = "support/inputs.rs"]
mod inputs;

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::RefCell;
use std::collections::BTreeMap;
use trygg_policy::{Authorizer, DenyReason, reference};

#[test]
fn cedar_agrees_with_the_reference_model() {
    let authorizer = Authorizer::new().unwrap();
    let outcomes: RefCell<BTreeMap<String, usize>> = RefCell::default();
    let config = Config {
        failure_persistence: None,
        ..Config::with_cases(10_000)
    };
    let mut runner = TestRunner::new(config);
    runner
        .run(&inputs::input(), |i| {
            let cedar = authorizer.authorize(&i.principal, i.action, &i.resource, &i.facts, i.now);
            let spec = reference::decide(&i.principal, i.action, &i.resource, &i.facts, i.now);
            let cedar_via = cedar.as_ref().ok().map(|g| g.via());
            if cedar_via != spec {
                return Err(TestCaseError::fail(format!(
                    "cedar {cedar:?} but the reference {spec:?} for {i:#?}"
                )));
            }
            if let Err(denial) = &cedar
                && denial.reason == DenyReason::EvaluationError
            {
                return Err(TestCaseError::fail(format!("evaluation error for {i:#?}")));
            }
            if let Ok(grant) = &cedar {
                // The grant describes the request.
                assert_eq!(grant.account(), &i.principal.account);
                assert_eq!(grant.person(), i.facts.person);
                assert_eq!(grant.action(), i.action);
            }
            let key = match &cedar {
                Ok(grant) => format!("allow {:?}", grant.via()),
                Err(denial) => format!("deny {:?}", denial.reason),
            };
            *outcomes.borrow_mut().entry(key).or_default() += 1;
            Ok(())
        })
        .unwrap();

    // The generator reaches every ground and every reason, so the agreement
    // means something.
    let outcomes = outcomes.into_inner();
    eprintln!("{outcomes:#?}");
    for via in [
        "Own",
        "RelativeGrant",
        "CareRelationship",
        "Consent",
        "EmergencyAccess",
    ] {
        let n = outcomes.get(&format!("allow {via}")).copied().unwrap_or(0);
        assert!(n >= 20, "only {n} allows via {via}: {outcomes:#?}");
    }
    for reason in [
        "BootstrapAdmin",
        "WrongPerson",
        "WrongTenant",
        "LoaTooLow",
        "Blocked",
        "ProtectedIdentity",
        "NoConsent",
        "NoRelationship",
        "RoleCannot",
        "NotGranted",
        "StepUpNeeded",
    ] {
        let n = outcomes
            .get(&format!("deny {reason}"))
            .copied()
            .unwrap_or(0);
        assert!(n >= 10, "only {n} denials for {reason}: {outcomes:#?}");
    }
}
