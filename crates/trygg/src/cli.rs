//! The command line: `trygg serve`, `trygg admin …`, `trygg config …`.

use crate::clock::SystemClock;
use crate::config::{FileValues, GlobalArgs, GlobalSettings, ServeArgs};
use crate::{admin, logging};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Trygg: secure welfare technology and digital care.
#[derive(Debug, Parser)]
#[command(name = "trygg", version, about, max_term_width = 100)]
pub struct Cli {
    /// TOML config file (see `trygg config example`).
    #[arg(long, env = "TRYGG_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Settings shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (web UI, API).
    // Boxed: the serve settings are many times larger than the other commands.
    Serve(Box<ServeCmd>),
    /// Operators' tools: migrations, organisation, people, imports, keys.
    Admin {
        /// Admin command.
        #[command(subcommand)]
        command: admin::AdminCmd,
    },
    /// The audit log: checkpoints, the public key, verification.
    Audit {
        /// Audit command.
        #[command(subcommand)]
        command: crate::audit::AuditCmd,
    },
    /// Simulated safety-alarm devices, for load tests and end-to-end checks.
    Simulate {
        /// Simulate command.
        #[command(subcommand)]
        command: crate::simulate::SimulateCmd,
    },
    /// Configuration helpers.
    Config {
        /// Config command.
        #[command(subcommand)]
        command: ConfigCmd,
    },
}

/// `trygg serve`.
#[derive(Debug, Args)]
pub struct ServeCmd {
    /// Serve settings.
    #[command(flatten)]
    pub settings: ServeArgs,
    /// Seed the fictional demo municipality "Exempelby kommun" (if not there yet).
    #[arg(long)]
    pub demo: bool,
}

/// `trygg config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print a commented config file with every setting and its default.
    Example,
}

/// Loads the config file (if any) and resolves the global settings.
pub fn resolve_global(
    cli_config: Option<&PathBuf>,
    global: &GlobalArgs,
) -> anyhow::Result<(FileValues, GlobalSettings)> {
    let file = match cli_config {
        Some(path) => FileValues::load(path)?,
        None => FileValues::default(),
    };
    let settings = global.resolve(&file)?;
    Ok((file, settings))
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Config {
        command: ConfigCmd::Example,
    } = &cli.command
    {
        print!("{}", crate::config::example_config());
        return Ok(ExitCode::SUCCESS);
    }
    let (file, global) = resolve_global(cli.config.as_ref(), &cli.global)?;
    logging::init(&global.log_level, global.log_format)?;
    let clock = Arc::new(SystemClock);
    match cli.command {
        Command::Serve(cmd) => {
            let mut settings = cmd.settings.resolve(&file)?;
            if cmd.demo && settings.sip_listen.is_none() {
                settings.sip_listen = Some(crate::demo::sip_listen());
            }
            settings.check()?;
            let store = crate::open_store(&global, clock.clone()).await?;
            tracing::info!(database = %global.database().describe(), "store open");
            if cmd.demo {
                crate::demo::seed(&store, &global.sip_realm).await?;
            }
            let (methods, simulator) = crate::server::login_methods(
                &store,
                &settings,
                file.oidc_providers.clone(),
                cmd.demo,
            )
            .await?;
            let server =
                crate::server::Server::start(store.clone(), &settings, &global.sip_realm, methods)
                    .await?;
            let scheme = if server.tls() { "https" } else { "http" };
            // Browsers treat localhost as a secure context (passkeys work there).
            let host = if server.addr().ip().is_loopback() {
                format!("localhost:{}", server.addr().port())
            } else {
                server.addr().to_string()
            };
            eprintln!(
                "Trygg is running at {scheme}://{host} (Ctrl-C stops it); log in at {scheme}://{host}/login"
            );
            if let Some(alarms) = server.alarms() {
                eprintln!(
                    "Safety alarms (SCAIP over SIP, UDP and TCP) are received at {}",
                    alarms.udp_addr()
                );
            }
            server.run_until_signal().await?;
            if let Some(simulator) = simulator {
                simulator.shutdown().await;
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command } => admin::run(command, &global, clock).await,
        Command::Audit { command } => crate::audit::run(command, &global, clock).await,
        Command::Simulate { command } => crate::simulate::run(command, &global.sip_realm).await,
        Command::Config { .. } => Ok(ExitCode::SUCCESS),
    }
}
