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
    /// Remove the entries older than the retention period
    /// (`audit_retention_years`). Only whole checkpoint intervals go; what
    /// remains of them is the tree's frontier and the signed checkpoint at
    /// the boundary, so the rest of the log still verifies. The disposal is
    /// itself logged. Keep a checkpoint newer than the boundary.
    Dispose {
        /// Show what would be removed, and remove nothing.
        #[arg(long)]
        dry_run: bool,
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

/// The moment before which entries may be disposed of: `years` calendar
/// years before `now` (29 February falls back to 28 February).
pub fn retention_cutoff(now: time::OffsetDateTime, years: u32) -> time::OffsetDateTime {
    let years = i32::try_from(years).unwrap_or(i32::MAX);
    let year = now.year().saturating_sub(years);
    let date = time::Date::from_calendar_date(year, now.month(), now.day())
        .or_else(|_| time::Date::from_calendar_date(year, now.month(), 28))
        .unwrap_or(time::Date::MIN);
    now.replace_date(date)
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
            // A disposal may only have removed entries older than the
            // retention period: its checkpoint's signed time says how old.
            let cutoff = retention_cutoff(store.clock().now(), global.audit_retention_years);
            let mut premature = false;
            for d in store.audit_disposals().await? {
                match key.verify(&d.checkpoint) {
                    Ok(c) if c.time <= cutoff => println!(
                        "disposal on {} by {}: the first {} entries (signed {}), older than the retention period",
                        d.at.date(),
                        d.operator,
                        d.size,
                        c.time
                    ),
                    Ok(c) => {
                        premature = true;
                        println!(
                            "disposal on {} by {}: the first {} entries were removed, but they were signed {}, within the retention period",
                            d.at.date(),
                            d.operator,
                            d.size,
                            c.time
                        );
                    }
                    Err(e) => {
                        premature = true;
                        println!(
                            "disposal at {}: its checkpoint does not verify: {e}",
                            d.size
                        );
                    }
                }
            }
            if matches!(finding, AuditFinding::Intact { .. }) && !premature {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        AuditCmd::VerifyProof { proof, .. } => verify_proof(&proof, &log.verifying_key())?,
        AuditCmd::Dispose { dry_run } => {
            let years = global.audit_retention_years;
            anyhow::ensure!(years >= 1, "AU003 audit_retention_years must be at least 1");
            let cutoff = retention_cutoff(store.clock().now(), years);
            match log.dispose(cutoff, "cli", dry_run).await? {
                None => println!(
                    "Nothing to dispose of: no whole checkpoint interval was recorded before {cutoff}."
                ),
                Some(d) if dry_run => println!(
                    "Would dispose of {} entries recorded before {cutoff} (the first {} of the log).",
                    d.removed, d.size
                ),
                Some(d) => println!(
                    "Disposed of {} entries recorded before {cutoff} (the first {} of the log). \
                     Checkpoints kept from before now cover disposed entries: keep this one:\n{}",
                    d.removed, d.size, d.checkpoint
                ),
            }
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}
