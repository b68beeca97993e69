//! Mutual TLS: the simulator served over HTTPS requires a client certificate
//! from its client CA, like BankID's API. All certificates are made here.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::macros::datetime;
use trygg_bankid::{
    AuthRequest, BankIdClient, BankIdConfig, BankIdError, BankIdSimulator, CollectStatus,
    SimulatorTls,
};
use trygg_domain::ManualClock;

struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        cert_pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// Writes `{name}.pem` and `{name}.key` signed by `ca`; returns their paths.
fn leaf(
    dir: &Path,
    name: &str,
    ca: &Ca,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (PathBuf, PathBuf) {
    let mut params =
        CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let cert_path = dir.join(format!("{name}.pem"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

fn request() -> AuthRequest {
    AuthRequest {
        end_user_ip: "203.0.113.9".parse().unwrap(),
        user_visible_data: None,
        requirement: None,
    }
}

#[tokio::test]
async fn client_certificate_from_the_ca_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let test_ca = ca("Trygg test CA (BankID simulator)");
    let rogue_ca = ca("Some other CA");
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &test_ca.cert_pem).unwrap();
    let (server_cert, server_key) = leaf(
        dir.path(),
        "server",
        &test_ca,
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let good = leaf(
        dir.path(),
        "rp",
        &test_ca,
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let rogue = leaf(
        dir.path(),
        "rogue",
        &rogue_ca,
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    );

    let clock = ManualClock::new(datetime!(2026-03-02 09:00 UTC));
    let simulator = BankIdSimulator::new(Arc::new(clock), vec![]);
    let server = simulator
        .serve(
            "127.0.0.1:0".parse().unwrap(),
            Some(SimulatorTls {
                cert: server_cert,
                key: server_key,
                client_ca: ca_path.clone(),
            }),
        )
        .await
        .unwrap();
    let base_url = format!("https://{}", server.addr());
    let client = |identity: Option<(PathBuf, PathBuf)>| {
        BankIdClient::new(BankIdConfig {
            base_url: base_url.clone(),
            client_identity: identity,
            ca_pem: Some(ca_path.clone()),
        })
        .unwrap()
    };

    // The RP with a certificate from the test CA gets through.
    let rp = client(Some(good));
    let order = rp.auth(&request()).await.unwrap();
    let collect = rp.collect(&order.order_ref).await.unwrap();
    assert!(matches!(collect.status, CollectStatus::Pending { .. }));

    // No client certificate, or one from another CA: refused in the handshake.
    for (what, identity) in [("none", None), ("rogue", Some(rogue))] {
        let error = client(identity).auth(&request()).await.unwrap_err();
        assert!(
            matches!(error, BankIdError::Transport(_)),
            "{what}: {error}"
        );
        assert!(error.is_our_fault());
    }

    // Trusting the system roots instead of the test CA: the server is refused.
    let untrusting = BankIdClient::new(BankIdConfig {
        base_url: base_url.clone(),
        client_identity: None,
        ca_pem: None,
    })
    .unwrap();
    assert!(matches!(
        untrusting.auth(&request()).await,
        Err(BankIdError::Transport(_))
    ));

    // Plain HTTP to the TLS port fails too.
    let plain = BankIdClient::new(BankIdConfig {
        base_url: format!("http://{}", server.addr()),
        client_identity: None,
        ca_pem: None,
    })
    .unwrap();
    assert!(plain.auth(&request()).await.is_err());

    server.shutdown().await;
}

#[tokio::test]
async fn bad_tls_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let simulator = BankIdSimulator::new(
        Arc::new(ManualClock::new(datetime!(2026-03-02 09:00 UTC))),
        vec![],
    );
    let error = simulator
        .serve(
            "127.0.0.1:0".parse().unwrap(),
            Some(SimulatorTls {
                cert: missing.clone(),
                key: missing.clone(),
                client_ca: missing.clone(),
            }),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("BI301"), "{error}");

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not pem").unwrap();
    let error = BankIdClient::new(BankIdConfig {
        base_url: "https://127.0.0.1:1".into(),
        client_identity: Some((junk.clone(), junk.clone())),
        ca_pem: None,
    })
    .unwrap_err();
    assert!(error.to_string().contains("BI203"), "{error}");
    let error = BankIdClient::new(BankIdConfig {
        base_url: "https://127.0.0.1:1".into(),
        client_identity: None,
        ca_pem: Some(missing),
    })
    .unwrap_err();
    assert!(error.to_string().contains("BI202"), "{error}");
}
