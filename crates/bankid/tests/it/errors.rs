//! Error answers: injected faults, invalid parameters, malformed requests.

use crate::kit::{Sim, start};
use serde_json::{Value, json};
use trygg_bankid::{AuthRequest, BankIdClient, BankIdConfig, BankIdError, Rfa};

async fn fail_next(sim: &Sim, fault: &str) {
    let (code, body) = sim
        .control("/simulator/faults", json!({ "next": fault }))
        .await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test]
async fn injected_faults_map_to_messages_and_retry_rules() {
    let sim = start().await;
    let cases = [
        (
            "alreadyInProgress",
            BankIdError::AlreadyInProgress,
            Rfa::Rfa4,
            false,
        ),
        (
            "requestTimeout",
            BankIdError::RequestTimeout,
            Rfa::Rfa5,
            false,
        ),
        (
            "internalError",
            BankIdError::InternalError,
            Rfa::Rfa5,
            false,
        ),
        ("maintenance", BankIdError::Maintenance, Rfa::Rfa5, true),
        ("unauthorized", BankIdError::Unauthorized, Rfa::Rfa22, false),
    ];
    for (fault, expected, rfa, retry) in cases {
        fail_next(&sim, fault).await;
        let error = sim
            .client
            .auth(&AuthRequest {
                end_user_ip: sim.ip(),
                user_visible_data: None,
                requirement: None,
            })
            .await
            .unwrap_err();
        assert_eq!(error, expected, "{fault}");
        let message = error.user_message();
        assert_eq!(message.rfa, rfa, "{fault}");
        assert_eq!(message.retry, retry, "{fault}");
        assert_eq!(error.is_retryable(), retry, "{fault}");
        // One shot: the next call works.
        sim.auth().await;
    }

    // Faults hit collect and cancel too.
    let order = sim.auth().await;
    fail_next(&sim, "maintenance").await;
    let error = sim.client.collect(&order.order_ref).await.unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(
        error.user_message().rfa.sv(),
        "Något gick fel. Försök igen."
    );
    sim.status(&order).await;
    fail_next(&sim, "internalError").await;
    assert_eq!(
        sim.client.cancel(&order.order_ref).await,
        Err(BankIdError::InternalError)
    );
    sim.client.cancel(&order.order_ref).await.unwrap();

    let (code, _) = sim
        .control("/simulator/faults", json!({ "next": "meteorStrike" }))
        .await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn malformed_end_user_ip_is_invalid_parameters() {
    let sim = start().await;
    for body in [
        json!({ "endUserIp": "not-an-ip" }),
        json!({ "endUserIp": "300.1.1.1" }),
        json!({ "endUserIp": 17 }),
        json!({}),
    ] {
        let (code, answer) = sim
            .post_raw("/rp/v6.0/auth", "application/json", &body.to_string())
            .await;
        assert_eq!(code, 400, "{body}");
        assert_eq!(answer["errorCode"], "invalidParameters", "{body}");
        assert!(answer["details"].is_string());
    }
    // What the client makes of invalidParameters: our bug, generic message.
    let error = sim.client.collect("no-such-order").await.unwrap_err();
    assert_eq!(
        error,
        BankIdError::InvalidParameters("No such order".into())
    );
    assert_eq!(error.user_message().rfa, Rfa::Rfa22);
    assert!(error.is_our_fault());
}

#[tokio::test]
async fn start_parameters_are_checked() {
    let sim = start().await;
    let cases = [
        (
            "/rp/v6.0/auth",
            json!({"endUserIp": "192.0.2.1", "userVisibleData": "%%%"}),
        ),
        (
            "/rp/v6.0/auth",
            json!({"endUserIp": "192.0.2.1", "userVisibleData": "aGVq", "userVisibleDataFormat": "html"}),
        ),
        (
            "/rp/v6.0/auth",
            json!({"endUserIp": "192.0.2.1", "userNonVisibleData": "aGVq"}),
        ),
        (
            "/rp/v6.0/auth",
            json!({"endUserIp": "192.0.2.1", "requirement": {"cardReader": "class9"}}),
        ),
        (
            "/rp/v6.0/auth",
            json!({"endUserIp": "192.0.2.1", "requirement": "pin"}),
        ),
        ("/rp/v6.0/sign", json!({"endUserIp": "192.0.2.1"})),
        ("/rp/v6.0/collect", json!({"order": "x"})),
        ("/rp/v6.0/cancel", json!({"orderRef": 5})),
    ];
    for (path, body) in cases {
        let (code, answer) = sim
            .post_raw(path, "application/json", &body.to_string())
            .await;
        assert_eq!(code, 400, "{path} {body}");
        assert_eq!(answer["errorCode"], "invalidParameters", "{path} {body}");
    }
    let (code, answer) = sim
        .post_raw(
            "/rp/v6.0/auth",
            "application/json; charset=utf-8",
            &json!({"endUserIp": "2001:db8::1", "userVisibleData": "aGVq",
                    "userVisibleDataFormat": "simpleMarkdownV1"})
            .to_string(),
        )
        .await;
    assert_eq!(code, 200, "{answer}");
    for field in [
        "orderRef",
        "autoStartToken",
        "qrStartToken",
        "qrStartSecret",
    ] {
        assert!(answer[field].is_string(), "{field}");
    }
}

#[tokio::test]
async fn malformed_requests_get_errors_never_a_panic() {
    let sim = start().await;
    let order = sim.auth().await;
    let paths = [
        "/rp/v6.0/auth".to_owned(),
        "/rp/v6.0/sign".to_owned(),
        "/rp/v6.0/collect".to_owned(),
        "/rp/v6.0/cancel".to_owned(),
        format!("/simulator/orders/{}/approve", order.order_ref),
        format!("/simulator/orders/{}/hint", order.order_ref),
        "/simulator/faults".to_owned(),
    ];
    let garbage = [
        "{",
        "",
        "null",
        "[]",
        "\"x\"",
        "{\"endUserIp\": }",
        "\u{feff}{}",
        "{\"orderRef\": null, \"hintCode\": [1], \"next\": {}}",
    ];
    for path in &paths {
        for body in garbage {
            let (code, answer) = sim.post_raw(path, "application/json", body).await;
            assert_eq!(code, 400, "{path} {body:?}");
            if path.starts_with("/rp/") {
                assert_eq!(answer["errorCode"], "invalidParameters", "{path} {body:?}");
            } else {
                assert!(answer["error"].is_string(), "{path} {body:?}");
            }
        }
    }
    // Bad hint codes and approvals.
    for body in [
        json!({"hintCode": ""}),
        json!({"hintCode": "<script>"}),
        json!({"hintCode": "userSign", "status": "weird"}),
    ] {
        let (code, _) = sim
            .control(&format!("/simulator/orders/{}/hint", order.order_ref), body)
            .await;
        assert_eq!(code, 400);
    }
    for body in [
        json!({"personalNumber": "191212121213", "givenName": "T", "surname": "T"}),
        json!({"personalNumber": "191212121212", "givenName": " ", "surname": "T"}),
    ] {
        let (code, _) = sim
            .control(
                &format!("/simulator/orders/{}/approve", order.order_ref),
                body,
            )
            .await;
        assert_eq!(code, 400);
    }
    // The order survived all that.
    assert!(matches!(
        sim.status(&order).await,
        trygg_bankid::CollectStatus::Pending { .. }
    ));

    // Wrong media type, method and path: BankID's codes.
    let (code, answer) = sim
        .post_raw("/rp/v6.0/collect", "text/plain", "{\"orderRef\":\"x\"}")
        .await;
    assert_eq!(
        (code, answer["errorCode"].clone()),
        (415, json!("unsupportedMediaType"))
    );
    let response = sim
        .http
        .get(format!("{}/rp/v6.0/auth", sim.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["errorCode"], "methodNotAllowed");
    let (code, answer) = sim
        .post_raw("/rp/v6.0/phone/auth", "application/json", "{}")
        .await;
    assert_eq!(
        (code, answer["errorCode"].clone()),
        (404, json!("notFound"))
    );
    let (code, _) = sim
        .post_raw("/simulator/app?action=approve", "application/json", "")
        .await;
    assert_eq!(code, 400);
    let (code, _) = sim
        .post_raw(
            "/simulator/app?order=x&action=approve&identity=9",
            "application/json",
            "",
        )
        .await;
    assert_eq!(code, 400);

    // A client pointed at a wrong base URL gets notFound: our bug, RFA22.
    let lost = BankIdClient::new(BankIdConfig {
        base_url: format!("{}/wrong", sim.base),
        client_identity: None,
        ca_pem: None,
    })
    .unwrap();
    let error = lost.collect(&order.order_ref).await.unwrap_err();
    assert_eq!(error, BankIdError::NotFound);
    assert_eq!(error.user_message().rfa, Rfa::Rfa22);
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error() {
    let sim = start().await;
    let base = sim.base.clone();
    sim.server.shutdown().await;
    let client = BankIdClient::new(BankIdConfig {
        base_url: base,
        client_identity: None,
        ca_pem: None,
    })
    .unwrap();
    let error = client.collect("x").await.unwrap_err();
    assert!(matches!(error, BankIdError::Transport(_)), "{error}");
    assert_eq!(error.user_message().rfa, Rfa::Rfa22);
    assert!(!error.is_retryable());
}
