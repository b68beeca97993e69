//! **BankID-simulator (inte riktigt BankID) — a BankID API simulator, not BankID.**
//!
//! BankID's servers are unreachable from here, so tests and the demo talk to
//! this local stand-in. It implements the RP API v6.0 as published
//! (`POST /rp/v6.0/auth`, `/sign`, `/collect`, `/cancel`; camelCase JSON;
//! `{"errorCode","details"}` errors with BankID's status codes) and keeps
//! order state driven by the injected [`Clock`] (no background tasks).
//!
//! Separate from the API, a control surface plays the user's BankID app:
//!
//! * `POST /simulator/orders/{orderRef}/scan`: the QR code was scanned or the
//!   app opened via autostart (→ `started`, then `userSign`);
//! * `POST /simulator/orders/{orderRef}/approve` with
//!   `{"personalNumber","givenName","surname"}` (→ `complete`);
//! * `POST /simulator/orders/{orderRef}/cancel-by-user` (→ `failed userCancel`);
//! * `POST /simulator/orders/{orderRef}/hint` with `{"hintCode"}` and
//!   optionally `"status": "pending" | "failed"` (documented failure codes
//!   are final by default, all others pending);
//! * `POST /simulator/faults` with `{"next": "maintenance" | "requestTimeout" |
//!   "internalError" | "alreadyInProgress" | "unauthorized"}`: the next RP call
//!   fails that way;
//! * `GET /simulator/app[?autostarttoken=…]`: an HTML page (Swedish) listing
//!   pending orders with buttons to approve as a demo identity.
//!
//! What it is not: it checks no RP certificate beyond the TLS client
//! certificate (when served with TLS), issues no real signature or OCSP
//! response (`completionData.signature` and `ocspResponse` are clearly marked
//! placeholders), and identifies nobody. The control surface has no
//! authentication: serve it only on a loopback or test network.

mod app;
mod control;
mod rp;
mod state;

pub use state::{COMPLETE_RETENTION, FAILED_RETENTION, ORDER_TIMEOUT, START_TIMEOUT};

use axum::Router;
use axum::routing::{any, get, post};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use state::SimOrder;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use time::OffsetDateTime;
use trygg_domain::{Clock, IdentityNumber};

/// A person the simulated app can approve orders as (demo data only).
#[derive(Clone, PartialEq, Eq)]
pub struct DemoIdentity {
    /// The personal number returned in `completionData.user.personalNumber`.
    pub personal_number: IdentityNumber,
    /// `givenName`.
    pub given_name: String,
    /// `surname`.
    pub surname: String,
}

impl fmt::Debug for DemoIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DemoIdentity(<redacted>)")
    }
}

/// The BankID API simulator. Cheap to clone (shared state).
#[derive(Clone)]
pub struct BankIdSimulator {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    demo_identities: Vec<DemoIdentity>,
    state: Mutex<SimState>,
}

#[derive(Default)]
struct SimState {
    orders: HashMap<String, SimOrder>,
    next_fault: Option<Fault>,
}

/// A failure injected into the next RP call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Maintenance,
    RequestTimeout,
    InternalError,
    AlreadyInProgress,
    Unauthorized,
}

impl fmt::Debug for BankIdSimulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BankIdSimulator")
            .field("demo_identities", &self.inner.demo_identities.len())
            .finish_non_exhaustive()
    }
}

impl BankIdSimulator {
    /// A simulator with no orders, reading time from `clock`, whose app page
    /// offers to approve as any of `demo_identities`.
    pub fn new(clock: Arc<dyn Clock>, demo_identities: Vec<DemoIdentity>) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                demo_identities,
                state: Mutex::new(SimState::default()),
            }),
        }
    }

    /// The routes: the RP API under `/rp/v6.0/` and the control surface and
    /// app page under `/simulator/`. Merge or nest it into any router, or use
    /// [`serve`](Self::serve).
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/rp/v6.0/auth",
                post(rp::auth).fallback(rp::method_not_allowed),
            )
            .route(
                "/rp/v6.0/sign",
                post(rp::sign).fallback(rp::method_not_allowed),
            )
            .route(
                "/rp/v6.0/collect",
                post(rp::collect).fallback(rp::method_not_allowed),
            )
            .route(
                "/rp/v6.0/cancel",
                post(rp::cancel).fallback(rp::method_not_allowed),
            )
            .route("/rp/{*rest}", any(rp::not_found))
            .route("/simulator/orders/{order_ref}/scan", post(control::scan))
            .route(
                "/simulator/orders/{order_ref}/approve",
                post(control::approve),
            )
            .route(
                "/simulator/orders/{order_ref}/cancel-by-user",
                post(control::cancel_by_user),
            )
            .route("/simulator/orders/{order_ref}/hint", post(control::hint))
            .route("/simulator/faults", post(control::faults))
            .route("/simulator/app", get(app::page).post(app::action))
            .with_state(self.clone())
    }

    /// Serves [`router`](Self::router) on `addr` (port 0 picks a free port).
    ///
    /// With `tls`, it speaks HTTPS and, like BankID's API, **requires** a
    /// client certificate issued by `tls.client_ca`; connections without
    /// one (or with one from another CA) fail in the TLS handshake.
    pub async fn serve(
        &self,
        addr: SocketAddr,
        tls: Option<SimulatorTls>,
    ) -> Result<SimulatorServer, SimulatorError> {
        let handle: Handle<SocketAddr> = Handle::new();
        let service = self.router().into_make_service();
        let task = match tls {
            Some(tls) => {
                let config = RustlsConfig::from_config(Arc::new(tls.server_config()?));
                let server = axum_server::bind_rustls(addr, config).handle(handle.clone());
                tokio::spawn(server.serve(service))
            }
            None => {
                let server = axum_server::bind(addr).handle(handle.clone());
                tokio::spawn(server.serve(service))
            }
        };
        let Some(bound) = handle.listening().await else {
            let reason = match task.await {
                Ok(Err(e)) => e.to_string(),
                Ok(Ok(())) => "server stopped".to_owned(),
                Err(e) => e.to_string(),
            };
            return Err(SimulatorError::Bind { addr, reason });
        };
        tracing::info!(addr = %bound, "BankID simulator (not real BankID) listening");
        Ok(SimulatorServer {
            addr: bound,
            handle,
            task,
        })
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    fn demo_identities(&self) -> &[DemoIdentity] {
        &self.inner.demo_identities
    }

    /// Locks the state after applying the time limits and forgetting orders
    /// past their retention. Never held across an `.await`.
    fn state(&self, now: OffsetDateTime) -> MutexGuard<'_, SimState> {
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.orders.retain(|_, order| {
            order.refresh(now);
            order.retained(now)
        });
        state
    }
}

/// TLS for [`BankIdSimulator::serve`]: PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatorTls {
    /// The server certificate chain.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// The CA that must have issued every client certificate.
    pub client_ca: PathBuf,
}

impl SimulatorTls {
    fn server_config(&self) -> Result<rustls::ServerConfig, SimulatorError> {
        let tls_error = |what: &str, path: &PathBuf, e: &dyn fmt::Display| SimulatorError::Tls {
            reason: format!("{what} {}: {e}", path.display()),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.client_ca)
            .map_err(|e| tls_error("client CA", &self.client_ca, &e))?
        {
            let cert = cert.map_err(|e| tls_error("client CA", &self.client_ca, &e))?;
            roots
                .add(cert)
                .map_err(|e| tls_error("client CA", &self.client_ca, &e))?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| tls_error("client CA", &self.client_ca, &e))?;
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| tls_error("certificate", &self.cert, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tls_error("certificate", &self.cert, &e))?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| tls_error("private key", &self.key, &e))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SimulatorError::Tls {
                reason: e.to_string(),
            })?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| tls_error("certificate/key", &self.cert, &e))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A running simulator server.
#[derive(Debug)]
pub struct SimulatorServer {
    addr: SocketAddr,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimulatorServer {
    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that can stop the server from elsewhere
    /// (`handle.graceful_shutdown(…)` or `handle.shutdown()`).
    pub fn handle(&self) -> Handle<SocketAddr> {
        self.handle.clone()
    }

    /// Stops accepting connections, lets open ones finish (at most a
    /// second), and waits for the server to end.
    pub async fn shutdown(self) {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(1)));
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "BankID simulator stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "BankID simulator task failed"),
        }
    }
}

/// The simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// A TLS file is missing or invalid.
    #[error("BI301 BankID simulator TLS setup failed: {reason}")]
    Tls {
        /// Why.
        reason: String,
    },
    /// The address could not be bound.
    #[error("BI302 BankID simulator cannot listen on {addr}: {reason}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}
