//! Retention: entries older than the retention period are removed by a
//! logged disposal that keeps the log verifiable. Only whole checkpoint
//! intervals go: the boundary is the size of a signed checkpoint made before
//! the cutoff, and what remains of the removed entries is the tree's compact
//! frontier at that size (one hash per set bit) with that checkpoint. From
//! there the tree serves every later root and proof, and verification
//! resumes (`trygg_audit::Tree::from_frontier`, `Verifier::resume_from`).

use super::{AuditLog, append};
use crate::{Result, StoreError, from_ms, ms};
use sqlx::Row as _;
use time::OffsetDateTime;
use trygg_domain::{Actor, AuditEvent, Outcome};

/// A disposal, done or proposed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposal {
    /// The first `size` entries of the tree go (or went).
    pub size: u64,
    /// How many stored entries that removes.
    pub removed: u64,
    /// Entries recorded before this were eligible.
    pub cutoff: OffsetDateTime,
    /// The signed checkpoint at `size`, kept.
    pub checkpoint: String,
}

/// A recorded disposal, as verification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisposalRecord {
    /// When it was done.
    pub at: OffsetDateTime,
    /// Who did it.
    pub operator: String,
    /// Entries recorded before this were eligible.
    pub cutoff: OffsetDateTime,
    /// The first `size` entries were removed.
    pub size: u64,
    /// The tree's frontier at `size`.
    pub frontier: Vec<trygg_audit::Hash>,
    /// The signed checkpoint at `size`.
    pub checkpoint: String,
}

pub(super) fn frontier_bytes(hashes: &[trygg_audit::Hash]) -> Vec<u8> {
    hashes.concat()
}

pub(super) fn frontier_hashes(bytes: &[u8]) -> Result<Vec<trygg_audit::Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(StoreError::Corrupt("audit disposal frontier".into()));
    }
    bytes
        .chunks_exact(32)
        .map(|c| {
            c.try_into()
                .map_err(|_| StoreError::Corrupt("audit disposal frontier".into()))
        })
        .collect()
}

/// A disposal record whose frontier does not fit its size.
pub(super) fn bad_frontier(size: u64) -> StoreError {
    StoreError::Corrupt(format!("the audit disposal at {size} has a bad frontier"))
}

fn size_col(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

fn record(row: &sqlx::any::AnyRow) -> Result<DisposalRecord> {
    Ok(DisposalRecord {
        at: from_ms(row.try_get("at")?)?,
        operator: row.try_get("operator")?,
        cutoff: from_ms(row.try_get("cutoff")?)?,
        size: u64::try_from(row.try_get::<i64, _>("size")?)
            .map_err(|_| StoreError::Corrupt("audit disposal size".into()))?,
        frontier: frontier_hashes(&row.try_get::<Vec<u8>, _>("frontier")?)?,
        checkpoint: row.try_get("checkpoint")?,
    })
}

impl AuditLog {
    /// Removes the entries recorded before `cutoff`, up to the largest signed
    /// checkpoint made before it, keeping that checkpoint and the tree's
    /// frontier at its size; logs the disposal (actor `operator:<name>`) in
    /// the same transaction. With `dry_run`, only says what would go.
    /// `None` if no whole checkpoint interval is old enough.
    pub async fn dispose(
        &self,
        cutoff: OffsetDateTime,
        operator: &str,
        dry_run: bool,
    ) -> Result<Option<Disposal>> {
        // Everything pending gets its place (and a checkpoint) first.
        while self.integrate().await?.is_some() {}
        let tree = self.tree.lock().await;
        let pool = &self.store.pool;
        let done = tree.pruned();
        // The first entry too young to go bounds the disposal.
        let young: Option<i64> = sqlx::query(
            "SELECT MIN(seq) AS s FROM audit_entries WHERE seq IS NOT NULL AND at >= $1",
        )
        .bind(ms(cutoff))
        .fetch_one(pool)
        .await?
        .try_get("s")?;
        let bound = young.map_or(tree.len(), |s| u64::try_from(s).unwrap_or(0));
        let row = sqlx::query(
            "SELECT size, note FROM audit_checkpoints WHERE size <= $1 AND size > $2 AND at < $3 \
             ORDER BY size DESC LIMIT 1",
        )
        .bind(size_col(bound))
        .bind(size_col(done))
        .bind(ms(cutoff))
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let size = u64::try_from(row.try_get::<i64, _>("size")?)
            .map_err(|_| StoreError::Corrupt("audit checkpoint size".into()))?;
        let checkpoint: String = row.try_get("note")?;
        let frontier = tree
            .frontier(size)
            .ok_or_else(|| StoreError::Corrupt(format!("no frontier at {size}")))?;
        let removed: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM audit_entries WHERE seq IS NOT NULL AND seq < $1",
        )
        .bind(size_col(size))
        .fetch_one(pool)
        .await?
        .try_get("n")?;
        let disposal = Disposal {
            size,
            removed: u64::try_from(removed).unwrap_or(0),
            cutoff,
            checkpoint: checkpoint.clone(),
        };
        if dry_run {
            return Ok(Some(disposal));
        }
        let now = self.store.clock.now();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO audit_disposals (id, at, operator, cutoff, size, frontier, checkpoint, removed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(self.store.audit_id().to_string())
        .bind(ms(now))
        .bind(operator)
        .bind(ms(cutoff))
        .bind(size_col(size))
        .bind(frontier_bytes(&frontier))
        .bind(&checkpoint)
        .bind(removed)
        .execute(&mut *tx.tx)
        .await?;
        sqlx::query("DELETE FROM audit_entries WHERE seq IS NOT NULL AND seq < $1")
            .bind(size_col(size))
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("DELETE FROM audit_checkpoints WHERE size < $1")
            .bind(size_col(size))
            .execute(&mut *tx.tx)
            .await?;
        let event = AuditEvent {
            tenant: None,
            at: now,
            actor: Actor(format!("operator:{operator}")),
            method: None,
            loa: None,
            person: None,
            action: "dispose_audit_log".to_owned(),
            unit: None,
            outcome: Outcome::Allow,
            ground: format!("retention:{size}"),
            request_id: None,
        };
        append(&mut tx.tx, self.store.audit_id(), &event, None).await?;
        tx.commit().await?;
        Ok(Some(disposal))
    }
}

impl crate::Store {
    /// Every recorded disposal, oldest first; the last one is where the
    /// tree and verification start.
    pub async fn audit_disposals(&self) -> Result<Vec<DisposalRecord>> {
        sqlx::query(
            "SELECT at, operator, cutoff, size, frontier, checkpoint FROM audit_disposals ORDER BY size",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(record)
        .collect()
    }
}
