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
}

impl Server {
    /// Binds and starts serving; returns once the socket listens.
    pub async fn start(store: Store, settings: &ServeSettings) -> anyhow::Result<Self> {
        settings.check()?;
        let tls = settings.tls_cert.is_some();
        let app = trygg_web::router(
            AppState { store },
            RouterOptions {
                request_timeout: Duration::from_secs(settings.request_timeout_secs),
                tls,
            },
        );
        let handle = Handle::new();
        let service = app.into_make_service();
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
        Ok(Self {
            addr,
            handle,
            task,
            grace: Duration::from_secs(settings.shutdown_grace_secs),
            tls,
        })
    }

    /// The address it listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
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
        tracing::info!("server stopped");
        Ok(())
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
