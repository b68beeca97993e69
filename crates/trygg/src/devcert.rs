//! `trygg admin dev-cert`: a local certificate authority and a server
//! certificate signed by it, for trying HTTPS on a developer machine. Never
//! for production (use the organisation's certificates there).

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// Files written.
#[derive(Debug)]
pub struct DevCert {
    /// CA certificate (import into the browser or pass to curl --cacert).
    pub ca_cert: PathBuf,
    /// Server certificate chain.
    pub cert: PathBuf,
    /// Server private key (mode 0600).
    pub key: PathBuf,
}

/// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir` for `hosts`.
pub fn generate(dir: &Path, hosts: &[String]) -> anyhow::Result<DevCert> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Trygg local development CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(hosts.to_vec())?;
    params.distinguished_name.push(
        DnType::CommonName,
        hosts.first().map_or("localhost", String::as_str),
    );
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    let out = DevCert {
        ca_cert: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    write(&out.ca_cert, &ca_cert.pem(), 0o644)?;
    write(&out.cert, &cert.pem(), 0o644)?;
    write(&out.key, &key.serialize_pem(), 0o600)?;
    Ok(out)
}

fn write(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
