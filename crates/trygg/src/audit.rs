//! `trygg audit …`: the audit log's checkpoints, its public key, and
//! verification of the whole log against a checkpoint kept outside Trygg.

use crate::config::GlobalSettings;
use anyhow::Context as _;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use trygg_domain::Clock;
use trygg_store::{AuditFinding, AuditLog};

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Integrate pending entries, sign a checkpoint, and print the latest
    /// signed checkpoint (keep it outside Trygg: a file, a mail, a second site).
    Checkpoint {
        /// Write it to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the public key that verifies the checkpoints.
    Key {
        /// Write it to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify the whole log against a kept checkpoint; report the first entry
    /// that was edited, deleted, reordered or truncated. Exits 1 if the log
    /// does not verify.
    Verify {
        /// A checkpoint kept outside Trygg (from `trygg audit checkpoint`).
        #[arg(long)]
        checkpoint: PathBuf,
        /// The public key (from `trygg audit key`), kept outside Trygg.
        /// Without it, the installation's own key is used.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Check a proof bundle a person downloaded (`/my-log/proof`): the
    /// checkpoint's signature and every entry's inclusion in the tree it
    /// signs. Exits 1 if it does not verify. With `--key` it needs no
    /// database: anyone can run it.
    VerifyProof {
        /// The bundle (JSON).
        #[arg(long)]
        proof: PathBuf,
        /// The public key (from `trygg audit key` or `/audit/key`), kept
        /// outside Trygg. Without it, the installation's own key is used.
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

fn write(out: Option<&PathBuf>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(())
        }
    }
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    read_at_most(path, 64 * 1024)
}

fn read_at_most(path: &PathBuf, limit: u64) -> anyhow::Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(meta.len() <= limit, "{} is too large", path.display());
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn parse_key(path: &PathBuf) -> anyhow::Result<trygg_audit::VerifyingKey> {
    trygg_audit::VerifyingKey::parse(read(path)?.trim())
        .map_err(|e| anyhow::anyhow!("AU001 not a verifier key: {e}"))
}

/// Checks a proof bundle; prints what it proves.
fn verify_proof(path: &PathBuf, key: &trygg_audit::VerifyingKey) -> anyhow::Result<ExitCode> {
    let bundle = trygg_store::ProofBundle::from_json(&read_at_most(path, 16 << 20)?)
        .map_err(|e| anyhow::anyhow!("AU002 {e}"))?;
    match bundle.verify(key) {
        Ok(c) => {
            println!(
                "verified: the {} entries are in the log of {} entries signed at {}",
                bundle.entries.len(),
                c.size,
                c.time
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("does not verify: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Runs an audit command.
pub async fn run(
    command: AuditCmd,
    global: &GlobalSettings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<ExitCode> {
    if let AuditCmd::VerifyProof {
        proof,
        key: Some(key),
    } = &command
    {
        return verify_proof(proof, &parse_key(key)?);
    }
    let store = crate::open_store(global, clock).await?;
    let log = AuditLog::open(&store).await?;
    let code = match command {
        AuditCmd::Checkpoint { out } => {
            while log.integrate().await?.is_some() {}
            let note = log
                .latest_checkpoint()
                .await?
                .context("the audit log is empty: nothing to sign yet")?;
            write(out.as_ref(), &note)?;
            ExitCode::SUCCESS
        }
        AuditCmd::Key { out } => {
            write(
                out.as_ref(),
                &format!("{}\n", log.verifying_key().to_text()),
            )?;
            ExitCode::SUCCESS
        }
        AuditCmd::Verify { checkpoint, key } => {
            let key = match key {
                Some(path) => parse_key(&path)?,
                None => log.verifying_key(),
            };
            let finding = store.verify_audit(&read(&checkpoint)?, &key).await?;
            println!("{finding}");
            if matches!(finding, AuditFinding::Intact { .. }) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        AuditCmd::VerifyProof { proof, .. } => verify_proof(&proof, &log.verifying_key())?,
    };
    store.close().await;
    Ok(code)
}
