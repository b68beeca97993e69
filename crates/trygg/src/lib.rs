//! The `trygg` binary's library: command line, configuration, and the wiring
//! that puts the crates together (`serve`, `admin …`).
//!
//! Architecture invariant: this crate is the only one that reads the system
//! clock ([`clock::SystemClock`]) and the process environment.

pub mod admin;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod devcert;
pub mod devices;
pub mod import;
pub mod logging;
pub mod mqtt;
pub mod server;
pub mod simulate;

use std::sync::Arc;
use trygg_domain::Clock;
use trygg_store::{Store, StoreOptions};

/// Opens the store the settings describe: connects, migrates, loads keys.
pub async fn open_store(
    settings: &config::GlobalSettings,
    clock: Arc<dyn Clock>,
) -> Result<Store, trygg_store::StoreError> {
    Store::open(
        StoreOptions {
            database: settings.database(),
            keys: settings.keys(),
            max_connections: settings.db_max_connections,
        },
        clock,
    )
    .await
}
