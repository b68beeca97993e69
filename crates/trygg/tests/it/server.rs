//! The HTTP server: health, readiness, request ids, security headers, errors,
//! TLS, graceful shutdown.

use crate::kit::*;
use trygg::config::{FileValues, ServeArgs};
use trygg::server::Server;

on_both_backends! {
    async fn health_and_readiness(backend) {
        let app = TestApp::spawn(backend).await;
        let res = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let first = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "ok");
        let res = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let second = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(first, second, "every request gets its own id");
        // A caller's request id is kept.
        let res = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
        assert_eq!(res.headers()["x-request-id"], "abc-123");
        // ...but not one that could forge log lines.
        for bad in ["a b\"}{\"level\":\"ERROR", &"x".repeat(65), ""] {
            let res = app.client.get(app.url("/healthz")).header("x-request-id", bad).send().await.unwrap();
            let got = res.headers()["x-request-id"].to_str().unwrap();
            assert!(got != bad && uuid::Uuid::parse_str(got).is_ok(), "{bad:?} -> {got:?}");
        }
        // Oversized bodies are refused before anyone reads them.
        let res = app.client.post(app.url("/healthz")).body(vec![b'x'; 100 * 1024]).send().await.unwrap();
        assert_eq!(res.status(), 413);

        // When the database goes away, readiness says so (and tells little).
        app.store.close().await;
        let res = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(res.status(), 503);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "WB503");
        assert!(!body.to_string().contains("pool"), "no internals in the response: {body}");
        app.server.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_get_a_coded_error_with_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app
        .client
        .get(app.url("/nope?personnummer=191212121212"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let h = res.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        !h.contains_key("strict-transport-security"),
        "no HSTS over plain HTTP"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "WB404");
    app.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_local_certificate() {
    let (db, store, _clock) = store(Backend::Sqlite).await;
    let certs =
        trygg::devcert::generate(&db.dir.path().join("tls"), &["localhost".to_owned()]).unwrap();
    // The private key is private; the files are never overwritten.
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&certs.key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        trygg::devcert::generate(&db.dir.path().join("tls"), &["localhost".to_owned()]).is_err()
    );

    let mut args = ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        tls_cert: Some(certs.cert.display().to_string()),
        tls_key: Some(certs.key.display().to_string()),
        ..Default::default()
    };
    let settings = args.resolve(&FileValues::default()).unwrap();
    let server = Server::start(store, &settings, "trygg", Default::default())
        .await
        .unwrap();
    let port = server.addr().port();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&certs.ca_cert).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let res = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=63072000"
    );
    // Plain HTTP to the TLS port gets nothing.
    assert!(
        reqwest::Client::new()
            .get(format!("http://localhost:{port}/healthz"))
            .send()
            .await
            .is_err()
    );
    // A client that does not trust the local CA refuses the connection.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
            .is_err()
    );
    server.shutdown().await.unwrap();

    // A missing key is a clear startup error.
    args.tls_key = Some(db.dir.path().join("missing.pem").display().to_string());
    let settings = args.resolve(&FileValues::default()).unwrap();
    let err = Server::start(
        db.open(&clock()).await.unwrap(),
        &settings,
        "trygg",
        Default::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("SV001"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_a_clear_error() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let args = ServeArgs {
        listen: Some(app.server.addr().to_string()),
        ..Default::default()
    };
    let settings = args.resolve(&FileValues::default()).unwrap();
    let err = Server::start(app.store.clone(), &settings, "trygg", Default::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SV002"), "{err}");
    app.server.shutdown().await.unwrap();
}
