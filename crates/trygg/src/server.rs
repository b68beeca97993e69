//! `trygg serve`: the HTTP(S) server with graceful shutdown.

use crate::config::ServeSettings;
use anyhow::Context as _;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::time::Duration;
use trygg_store::Store;
use trygg_web::{AppState, RouterOptions};

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    grace: Duration,
    tls: bool,
    audit: std::sync::Arc<trygg_store::AuditLog>,
    sequencer: tokio::task::JoinHandle<()>,
    alarms: Option<trygg_alarm::Receiver>,
    sensors: Option<trygg_sensors::Ingest>,
}

/// The TLS server configuration for SIP over TLS, from PEM files: aws-lc-rs,
/// TLS 1.2 and 1.3 (embedded alarm devices often lack 1.3).
fn sip_tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<std::sync::Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let context = || {
        format!(
            "SV001 cannot load TLS certificate {} and key {}",
            cert.display(),
            key.display()
        )
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(context)?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(context)?;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(context)?;
    Ok(std::sync::Arc::new(config))
}

/// How often pending audit entries are integrated and a checkpoint signed.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Integrates the audit log every [`CHECKPOINT_INTERVAL`] until aborted.
fn spawn_sequencer(audit: std::sync::Arc<trygg_store::AuditLog>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = audit.integrate().await {
                tracing::error!(error = %e, "could not integrate the audit log; retrying");
            }
        }
    })
}

impl Server {
    /// Binds and starts serving; returns once the sockets listen. With
    /// `sip_listen` set, also receives safety alarms, devices
    /// authenticating in `sip_realm`.
    pub async fn start(
        store: Store,
        settings: &ServeSettings,
        sip_realm: &str,
        methods: trygg_web::methods::LoginMethods,
    ) -> anyhow::Result<Self> {
        settings.check()?;
        let tls = settings.tls_cert.is_some();
        let mut auth = trygg_web::Auth::new(settings.public_url.clone().map(|u| u.0), tls, methods);
        auth.citizen_log_names_staff = settings.citizen_log_names_staff;
        let audit = std::sync::Arc::new(
            trygg_store::AuditLog::open(&store)
                .await
                .context("SV003 cannot open the audit log")?,
        );
        let sips = match (settings.sips_listen, &settings.tls_cert, &settings.tls_key) {
            (None, _, _) => None,
            (Some(addr), Some(cert), Some(key)) => Some((addr, sip_tls_config(cert, key)?)),
            (Some(_), _, _) => anyhow::bail!("SV005 sips_listen needs tls_cert and tls_key"),
        };
        let sensors = crate::mqtt::ingest_config(settings)?;
        let alarms = match settings.sip_listen {
            Some(udp) => Some(
                trygg_alarm::Receiver::start(
                    store.clone(),
                    store.clock().clone(),
                    trygg_alarm::Config {
                        udp,
                        tls: sips,
                        realm: sip_realm.to_owned(),
                        max_in_flight: usize::try_from(settings.alarm_max_in_flight)
                            .unwrap_or(usize::MAX),
                        prefer_sha256: settings.sip_prefer_sha256,
                        escalate_after: time::Duration::seconds(
                            i64::try_from(settings.alarm_escalate_after_secs.min(3600))
                                .unwrap_or(3600),
                        ),
                        heartbeat_grace: time::Duration::seconds(
                            i64::try_from(settings.alarm_heartbeat_grace_secs.min(86_400))
                                .unwrap_or(86_400),
                        ),
                    },
                )
                .await?,
            ),
            None => None,
        };
        let sensors = sensors.map(|config| crate::mqtt::start_ingest(&store, &config));
        let app = trygg_web::router(
            AppState {
                audit: audit.clone(),
                store,
                auth: std::sync::Arc::new(auth),
                policy: std::sync::Arc::new(trygg_policy::Authorizer::new()?),
                admin_policy: std::sync::Arc::new(trygg_policy::AdminAuthorizer::new()?),
                alarm_map: trygg_web::alarms::Maps {
                    link: settings.alarm_map_url.clone(),
                    tiles: settings.alarm_map_tiles.clone(),
                },
                alarm_events: Default::default(),
            },
            RouterOptions {
                request_timeout: Duration::from_secs(settings.request_timeout_secs),
                tls,
            },
        );
        let handle = Handle::new();
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let task = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => {
                let config = RustlsConfig::from_pem_file(cert, key)
                    .await
                    .with_context(|| {
                        format!(
                            "SV001 cannot load TLS certificate {} and key {}",
                            cert.display(),
                            key.display()
                        )
                    })?;
                let server =
                    axum_server::bind_rustls(settings.listen, config).handle(handle.clone());
                tokio::spawn(server.serve(service))
            }
            _ => {
                let server = axum_server::bind(settings.listen).handle(handle.clone());
                tokio::spawn(server.serve(service))
            }
        };
        let Some(addr) = handle.listening().await else {
            let result = task.await.context("server task failed")?;
            return Err(match result {
                Err(e) => anyhow::anyhow!("SV002 cannot listen on {}: {e}", settings.listen),
                Ok(()) => anyhow::anyhow!("SV002 cannot listen on {}", settings.listen),
            });
        };
        tracing::info!(%addr, tls, "listening");
        let sequencer = spawn_sequencer(audit.clone());
        Ok(Self {
            addr,
            handle,
            task,
            grace: Duration::from_secs(settings.shutdown_grace_secs),
            tls,
            audit,
            sequencer,
            alarms,
            sensors,
        })
    }

    /// The address it listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The safety-alarm receiver, when `sip_listen` is set.
    pub fn alarms(&self) -> Option<&trygg_alarm::Receiver> {
        self.alarms.as_ref()
    }

    /// The sensor ingest, when `mqtt_url` is set.
    pub fn sensors(&self) -> Option<&trygg_sensors::Ingest> {
        self.sensors.as_ref()
    }

    /// Whether it speaks TLS.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// Stops accepting, lets open requests finish (up to the grace period),
    /// and waits for the server to stop.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.handle.graceful_shutdown(Some(self.grace));
        self.task.await.context("server task failed")??;
        if let Some(alarms) = self.alarms {
            alarms.shutdown().await;
        }
        if let Some(sensors) = self.sensors {
            sensors.shutdown().await;
        }
        // The last entries get their checkpoint before the process ends.
        // If the database is already gone, the entries stay pending and the
        // next start integrates them: nothing is lost, only signed later.
        self.sequencer.abort();
        loop {
            match self.audit.integrate().await {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "SV004 audit entries left for the next start to checkpoint");
                    break;
                }
            }
        }
        tracing::info!("server stopped");
        Ok(())
    }

    /// The audit log's sequencer.
    pub fn audit(&self) -> &trygg_store::AuditLog {
        &self.audit
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!(grace_secs = self.grace.as_secs(), "shutting down");
        self.shutdown().await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The login methods the settings configure. With `demo` and no BankID
/// configured, starts the BankID *simulator* on a loopback port with the demo
/// municipality's people as its identities (returned so it lives as long as
/// the server).
pub async fn login_methods(
    store: &Store,
    settings: &ServeSettings,
    oidc: Vec<trygg_oidc::ProviderConfig>,
    demo: bool,
) -> anyhow::Result<(
    trygg_web::methods::LoginMethods,
    Option<trygg_bankid::SimulatorServer>,
)> {
    use trygg_bankid::{BankIdClient, BankIdConfig};
    let mut methods = trygg_web::methods::LoginMethods::default();
    let mut simulator = None;
    if !oidc.is_empty() {
        let names: Vec<String> = oidc.iter().map(|p| p.name.clone()).collect();
        let rp =
            trygg_oidc::OidcRp::discover(oidc, store.clock().clone(), trygg_oidc::http_client()?)
                .await?;
        tracing::info!(providers = ?names, "OpenID providers discovered");
        methods.oidc = Some(rp);
    }
    if let Some(url) = &settings.bankid_url {
        let client_identity = match (&settings.bankid_client_cert, &settings.bankid_client_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            (None, None) => None,
            _ => anyhow::bail!(
                "CF004 bankid_client_cert and bankid_client_key must be given together"
            ),
        };
        let client = BankIdClient::new(BankIdConfig {
            base_url: url.clone(),
            client_identity,
            ca_pem: settings.bankid_ca.clone(),
        })?;
        methods.bankid = Some(trygg_web::methods::BankIdLogin {
            client,
            simulator_app: None,
        });
    } else if demo {
        let sim = trygg_bankid::BankIdSimulator::new(
            store.clock().clone(),
            crate::demo::identities(store).await?,
        );
        let server = sim
            .serve(SocketAddr::from(([127, 0, 0, 1], 0)), None)
            .await?;
        let base = format!("http://{}", server.addr());
        tracing::warn!(%base, "BankID SIMULATOR running for the demo (not real BankID)");
        methods.bankid = Some(trygg_web::methods::BankIdLogin {
            client: BankIdClient::new(BankIdConfig {
                base_url: base.clone(),
                client_identity: None,
                ca_pem: None,
            })?,
            simulator_app: Some(format!("{base}/simulator/app")),
        });
        simulator = Some(server);
    }
    // Passkeys need no external service: always on, bound to public_url's
    // host (or localhost). A public_url without a domain name (an IP
    // address) cannot be a WebAuthn relying party: passkeys are then off.
    let public_origin = settings.public_url.as_ref().map(|u| u.0.as_str());
    methods.passkey = match trygg_web::passkey::PasskeyLogin::new(public_origin) {
        Ok(passkey) => Some(passkey),
        Err(e) => {
            tracing::warn!(error = %e, "passkeys are off");
            None
        }
    };
    Ok((methods, simulator))
}
