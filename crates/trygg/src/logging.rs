//! Structured logs with `tracing`: human-readable or JSON, filtered by
//! `log_level`. Logs never carry personal data: domain types redact
//! themselves in `Debug`, and request spans record the path, never the query.

use crate::config::{ConfigError, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (stderr).
pub fn init(level: &str, format: LogFormat) -> Result<(), ConfigError> {
    let filter = EnvFilter::try_new(level).map_err(|e| ConfigError::Invalid {
        setting: "log_level",
        origin: "--log-level, TRYGG_LOG or the config file".to_owned(),
        reason: e.to_string(),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
    Ok(())
}
