//! Orders from start to end: QR codes, every hint, cancel, expiry, the app page.

use crate::kit::{END_USER_IP, start};
use aws_lc_rs::hmac;
use base64::Engine as _;
use serde_json::json;
use time::Duration;
use trygg_bankid::qr::{current_qr_data, qr_data, qr_time_secs};
use trygg_bankid::{
    BankIdError, CollectStatus, Flow, HintCode, Rfa, SignRequest, messages, user_message,
};

fn hmac_hex(key: &str, message: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    hmac::sign(&key, message.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn qr_frames_change_every_second_and_match_an_independent_hmac() {
    let sim = start().await;
    let order = sim.auth().await;
    let started_at = trygg_domain::Clock::now(&sim.clock);
    let mut frames = Vec::new();
    for qr_time in 0..3u64 {
        assert_eq!(qr_time_secs(started_at, &sim.clock), qr_time);
        let frame = current_qr_data(&order, started_at, &sim.clock);
        assert_eq!(
            frame,
            qr_data(&order.qr_start_token, &order.qr_start_secret, qr_time)
        );
        let expected = format!(
            "bankid.{}.{qr_time}.{}",
            order.qr_start_token,
            hmac_hex(order.qr_start_secret.expose_secret(), &qr_time.to_string())
        );
        assert_eq!(frame, expected);
        frames.push(frame);
        sim.clock.advance(Duration::seconds(1));
    }
    assert_ne!(frames[0], frames[1]);
    assert_ne!(frames[1], frames[2]);
    assert_ne!(frames[0], frames[2]);
}

#[tokio::test]
async fn auth_scan_approve_collect_complete() {
    let sim = start().await;
    let order = sim.auth().await;
    assert_ne!(order.order_ref, order.auto_start_token);

    let status = sim.status(&order).await;
    assert_eq!(
        status,
        CollectStatus::Pending {
            hint_code: HintCode::OutstandingTransaction
        }
    );
    assert_eq!(user_message(&status, Flow::QrCode), Some(Rfa::Rfa1));
    assert_eq!(
        user_message(&status, Flow::SameDeviceMobile),
        Some(Rfa::Rfa13)
    );

    sim.clock.advance(Duration::seconds(5));
    sim.order_control(&order, "scan", json!({})).await;
    let status = sim.status(&order).await;
    assert_eq!(
        status,
        CollectStatus::Pending {
            hint_code: HintCode::Started
        }
    );
    sim.clock.advance(Duration::seconds(2));
    let status = sim.status(&order).await;
    assert_eq!(
        status,
        CollectStatus::Pending {
            hint_code: HintCode::UserSign
        }
    );
    assert_eq!(user_message(&status, Flow::QrCode), Some(Rfa::Rfa9));

    // Past the 30-second start limit: a scanned order does not fail.
    sim.clock.advance(Duration::seconds(40));
    let approved = sim
        .order_control(
            &order,
            "approve",
            json!({"personalNumber": "191212121212", "givenName": "Tolvan", "surname": "Tolvansson"}),
        )
        .await;
    assert_eq!(approved["status"], "complete");

    let CollectStatus::Complete(data) = sim.status(&order).await else {
        panic!("not complete");
    };
    assert_eq!(data.user.personal_number.canonical(), "191212121212");
    assert_eq!(data.user.name, "Tolvan Tolvansson");
    assert_eq!(data.user.given_name, "Tolvan");
    assert_eq!(data.user.surname, "Tolvansson");
    assert_eq!(data.device.ip_address.to_string(), END_USER_IP);
    assert!(data.step_up.is_none());
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&data.signature)
        .unwrap();
    let signature = String::from_utf8(signature).unwrap();
    assert!(signature.contains("NOT A BANKID SIGNATURE"), "{signature}");
    assert!(signature.contains(&order.order_ref));
    assert_eq!(
        user_message(&CollectStatus::Complete(data), Flow::QrCode),
        None
    );

    // A complete order can be collected again for a while, then it is gone.
    assert!(matches!(
        sim.status(&order).await,
        CollectStatus::Complete(_)
    ));
    sim.clock.advance(Duration::minutes(3));
    assert_eq!(
        sim.client.collect(&order.order_ref).await,
        Err(BankIdError::InvalidParameters("No such order".into()))
    );
}

#[tokio::test]
async fn sign_with_mrtd_requirement_reports_step_up() {
    let sim = start().await;
    let order = sim
        .client
        .sign(&SignRequest {
            end_user_ip: sim.ip(),
            user_visible_data: "Jag godkänner **vårdplanen**.".into(),
            user_non_visible_data: Some(b"sha256:abc".to_vec()),
            requirement: Some(trygg_bankid::Requirement {
                mrtd: Some(true),
                pin_code: Some(true),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    sim.order_control(&order, "scan", json!({})).await;
    sim.order_control(
        &order,
        "approve",
        json!({"personalNumber": "194807141231", "givenName": "Astrid", "surname": "Lindqvist"}),
    )
    .await;
    let CollectStatus::Complete(data) = sim.status(&order).await else {
        panic!("not complete");
    };
    assert_eq!(data.step_up, Some(trygg_bankid::StepUp { mrtd: true }));
    assert_eq!(data.user.name, "Astrid Lindqvist");
}

#[tokio::test]
async fn every_forced_hint_gives_its_message() {
    use Flow::*;
    let sim = start().await;
    // (hint, final?, flow, message)
    let cases: &[(&str, bool, Flow, Rfa)] = &[
        ("outstandingTransaction", false, QrCode, Rfa::Rfa1),
        (
            "outstandingTransaction",
            false,
            SameDeviceComputer,
            Rfa::Rfa13,
        ),
        ("noClient", false, QrCode, Rfa::Rfa1),
        ("noClient", false, SameDeviceMobile, Rfa::Rfa1),
        ("started", false, QrCode, Rfa::Rfa15B),
        ("started", false, SameDeviceComputer, Rfa::Rfa15A),
        ("started", false, SameDeviceMobile, Rfa::Rfa15B),
        ("userSign", false, QrCode, Rfa::Rfa9),
        ("userMrtd", false, QrCode, Rfa::Rfa23),
        ("userCallConfirm", false, QrCode, Rfa::Rfa21),
        ("somethingNewPending", false, QrCode, Rfa::Rfa21),
        ("expiredTransaction", true, QrCode, Rfa::Rfa8),
        ("certificateErr", true, QrCode, Rfa::Rfa16),
        ("userCancel", true, QrCode, Rfa::Rfa6),
        ("cancelled", true, QrCode, Rfa::Rfa3),
        ("startFailed", true, QrCode, Rfa::Rfa17B),
        ("startFailed", true, SameDeviceComputer, Rfa::Rfa17A),
        ("somethingNewFailed", true, QrCode, Rfa::Rfa22),
    ];
    for &(hint, failed, flow, rfa) in cases {
        let order = sim.auth().await;
        let mut body = json!({ "hintCode": hint });
        if hint.starts_with("somethingNew") {
            body["status"] = json!(if failed { "failed" } else { "pending" });
        }
        let forced = sim.order_control(&order, "hint", body).await;
        assert_eq!(forced["hintCode"], hint);
        let status = sim.status(&order).await;
        let expected_hint = HintCode::parse(hint);
        match (&status, failed) {
            (CollectStatus::Pending { hint_code }, false)
            | (CollectStatus::Failed { hint_code }, true) => {
                assert_eq!(hint_code, &expected_hint, "{hint}");
            }
            _ => panic!("{hint}: unexpected {status:?}"),
        }
        assert_eq!(user_message(&status, flow), Some(rfa), "{hint} {flow:?}");
        // A forced pending hint stays until something else happens.
        if !failed {
            assert_eq!(sim.status(&order).await, status, "{hint}");
        }
    }
    assert_eq!(
        messages::failed_message(&HintCode::StartFailed, Flow::SameDeviceMobile),
        Rfa::Rfa17A
    );
}

#[tokio::test]
async fn user_cancel_in_the_app() {
    let sim = start().await;
    let order = sim.auth().await;
    sim.order_control(&order, "scan", json!({})).await;
    sim.order_control(&order, "cancel-by-user", json!({})).await;
    let status = sim.status(&order).await;
    assert_eq!(
        status,
        CollectStatus::Failed {
            hint_code: HintCode::UserCancel
        }
    );
    assert_eq!(user_message(&status, Flow::QrCode), Some(Rfa::Rfa6));
    // Finished: the app cannot act on it any more.
    let (code, _) = sim
        .control(
            &format!("/simulator/orders/{}/approve", order.order_ref),
            json!({"personalNumber": "191212121212", "givenName": "T", "surname": "T"}),
        )
        .await;
    assert_eq!(code, 409);
}

#[tokio::test]
async fn cancel_by_the_rp() {
    let sim = start().await;
    let order = sim.auth().await;
    sim.client.cancel(&order.order_ref).await.unwrap();
    let error = sim.client.collect(&order.order_ref).await.unwrap_err();
    assert_eq!(
        error,
        BankIdError::InvalidParameters("No such order".into())
    );
    assert_eq!(error.user_message().rfa, Rfa::Rfa22);
    assert!(!error.is_retryable());
    assert_eq!(
        sim.client.cancel(&order.order_ref).await,
        Err(BankIdError::InvalidParameters("No such order".into()))
    );
    let (code, _) = sim
        .control(
            &format!("/simulator/orders/{}/scan", order.order_ref),
            json!({}),
        )
        .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn started_order_expires_after_three_minutes() {
    let sim = start().await;
    let order = sim.auth().await;
    sim.order_control(&order, "scan", json!({})).await;
    sim.clock.advance(Duration::seconds(179));
    assert!(matches!(
        sim.status(&order).await,
        CollectStatus::Pending { .. }
    ));
    sim.clock.advance(Duration::seconds(2));
    let status = sim.status(&order).await;
    assert_eq!(
        status,
        CollectStatus::Failed {
            hint_code: HintCode::ExpiredTransaction
        }
    );
    assert_eq!(user_message(&status, Flow::QrCode), Some(Rfa::Rfa8));
    // Failed orders stay collectable for five minutes.
    sim.clock.advance(Duration::minutes(4));
    assert_eq!(sim.status(&order).await, status);
    sim.clock.advance(Duration::minutes(2));
    assert!(matches!(
        sim.client.collect(&order.order_ref).await,
        Err(BankIdError::InvalidParameters(_))
    ));
}

#[tokio::test]
async fn unscanned_order_fails_to_start_after_thirty_seconds() {
    let sim = start().await;
    let order = sim.auth().await;
    sim.clock.advance(Duration::seconds(29));
    assert!(matches!(
        sim.status(&order).await,
        CollectStatus::Pending { .. }
    ));
    sim.clock.advance(Duration::seconds(1));
    let status = sim.status(&order).await;
    assert_eq!(
        status,
        CollectStatus::Failed {
            hint_code: HintCode::StartFailed
        }
    );
    assert_eq!(user_message(&status, Flow::QrCode), Some(Rfa::Rfa17B));
    assert_eq!(
        user_message(&status, Flow::SameDeviceComputer),
        Some(Rfa::Rfa17A)
    );
}

#[tokio::test]
async fn app_page_lists_highlights_and_approves() {
    let sim = start().await;
    let other = sim.auth().await;
    let order = sim.auth().await;

    let page = sim
        .http
        .get(format!("{}/simulator/app", sim.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"sv\">"));
    assert!(html.contains("<h1>BankID-simulator (inte riktigt BankID)</h1>"));
    assert!(html.contains(&order.order_ref) && html.contains(&other.order_ref));
    assert!(html.contains("Godkänn som Tolvan Tolvansson (19121212-1212)"));
    assert!(html.contains("Godkänn som Astrid Lindqvist"));
    assert!(html.contains("Logga in på **Trygg**"));
    assert!(!html.contains("Startad på den här enheten"));
    assert!(!html.contains(order.qr_start_secret.expose_secret()));

    // The same-device flow: the autostart token picks out the order.
    let url = format!(
        "{}/simulator/app?autostarttoken={}",
        sim.base, order.auto_start_token
    );
    let html = sim
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let here = html.find("Startad på den här enheten").unwrap();
    let mine = html.find(&order.order_ref).unwrap();
    let theirs = html.find(&other.order_ref).unwrap();
    assert!(mine < theirs, "the matching order is listed first");
    assert!(here < theirs);

    // Press "approve as Astrid" (identity 1), like the form does.
    let response = sim
        .http
        .post(format!(
            "{}/simulator/app?order={}&action=approve&identity=1&autostarttoken={}",
            sim.base, order.order_ref, order.auto_start_token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        format!("app?autostarttoken={}", order.auto_start_token).as_str()
    );
    let CollectStatus::Complete(data) = sim.status(&order).await else {
        panic!("not complete");
    };
    assert_eq!(data.user.given_name, "Astrid");
    assert_eq!(data.user.personal_number.canonical(), "194807141231");

    // Pressing again: the order is no longer pending.
    let response = sim
        .http
        .post(format!(
            "{}/simulator/app?order={}&action=approve&identity=0",
            sim.base, order.order_ref
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);

    let html = sim
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Ingen pågående order matchar autostarttoken"));
    assert!(!html.contains(&order.order_ref));
    sim.server.shutdown().await;
}
