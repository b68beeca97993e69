//! A person's proof that their log entries are in the audit log: the latest
//! signed checkpoint, the key that verifies it, and for each entry its
//! canonical bytes and its inclusion proof (RFC 9162). Anyone can check it
//! without Trygg: `leaf = SHA-256(0x00 || body)`, the RFC's inclusion
//! verification against the checkpoint's head, and the checkpoint's Ed25519
//! signature (`trygg audit verify-proof` does all three).

use crate::audit::AuditLog;
use crate::{Result, Store, StoreError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

/// The bundle's format name.
pub const PROOF_FORMAT: &str = "trygg-audit-proof/1";
/// Most entries one bundle proves (the newest).
pub const PROOF_LIMIT: i64 = 1_000;

/// One entry and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryProof {
    /// The entry's place in the tree.
    pub seq: u64,
    /// Its canonical bytes, base64 (what the leaf hashes).
    pub body: String,
    /// The inclusion proof's hashes, base64, from the leaf up.
    pub proof: Vec<String>,
}

/// What a person downloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// [`PROOF_FORMAT`].
    pub format: String,
    /// The signed checkpoint (C2SP signed note) the proofs lead to.
    pub checkpoint: String,
    /// The key that verifies it (note verifier key text). Compare it with the
    /// key the care provider publishes; a bundle's own key proves nothing.
    pub key: String,
    /// The entries, newest first.
    pub entries: Vec<EntryProof>,
    /// Entries about the person too new for the checkpoint (integrated
    /// within a second; download again to have them proved).
    pub pending: u64,
}

/// Why a bundle does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not a bundle of this format.
    #[error("not a {PROOF_FORMAT} bundle")]
    Format,
    /// The checkpoint's signature does not verify with the key.
    #[error("the checkpoint is not signed by this key: {0}")]
    Checkpoint(String),
    /// An entry is not in the tree the checkpoint signs.
    #[error("entry {0} is not in the log the checkpoint signs")]
    Entry(u64),
}

fn decode_hash(text: &str) -> Option<trygg_audit::Hash> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

impl ProofBundle {
    /// Parses a bundle (JSON).
    pub fn from_json(text: &str) -> std::result::Result<Self, ProofError> {
        serde_json::from_str(text).map_err(|_| ProofError::Format)
    }

    /// Checks the checkpoint's signature with `key` and every entry's
    /// inclusion in the tree it signs; returns the verified checkpoint.
    pub fn verify(
        &self,
        key: &trygg_audit::VerifyingKey,
    ) -> std::result::Result<trygg_audit::Checkpoint, ProofError> {
        if self.format != PROOF_FORMAT {
            return Err(ProofError::Format);
        }
        let checkpoint = key
            .verify(&self.checkpoint)
            .map_err(|e| ProofError::Checkpoint(e.to_string()))?;
        for e in &self.entries {
            let body = STANDARD
                .decode(&e.body)
                .map_err(|_| ProofError::Entry(e.seq))?;
            let proof: Option<Vec<_>> = e.proof.iter().map(|h| decode_hash(h)).collect();
            let proof = proof.ok_or(ProofError::Entry(e.seq))?;
            let leaf = trygg_audit::merkle::leaf_hash(&body);
            if !trygg_audit::merkle::verify_inclusion(
                &leaf,
                e.seq,
                checkpoint.size,
                &proof,
                &checkpoint.root,
            ) {
                return Err(ProofError::Entry(e.seq));
            }
        }
        Ok(checkpoint)
    }
}

impl Store {
    /// The proof bundle of the grant's person's own log entries, for the
    /// person themselves (a grant on the ground `Own`). Fetching it is logged.
    pub async fn own_log_proof(
        &self,
        log: &AuditLog,
        grant: &trygg_policy::Grant,
    ) -> Result<ProofBundle> {
        if grant.via() != trygg_policy::Via::Own {
            return Err(StoreError::Corrupt(
                "only the person themselves fetches their log proof this way".into(),
            ));
        }
        let tenant = grant
            .account()
            .tenant()
            .ok_or(StoreError::UnknownReference("tenant of the grant"))?;
        let mut event = grant.audit_event(self.clock.now());
        event.action = "read:log_proof".to_owned();
        self.record_event(&event).await?;
        let key = log.verifying_key();
        let note = log.latest_checkpoint().await?.unwrap_or_default();
        let size = if note.is_empty() {
            0
        } else {
            key.verify(&note)
                .map_err(|e| StoreError::Corrupt(format!("the latest checkpoint: {e}")))?
                .size
        };
        let size_col = i64::try_from(size).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT seq, body FROM audit_entries WHERE person_id = $1 AND tenant_id = $2 \
             AND seq < $3 ORDER BY seq DESC LIMIT $4",
        )
        .bind(grant.person().to_string())
        .bind(tenant.to_string())
        .bind(size_col)
        .bind(PROOF_LIMIT)
        .fetch_all(&self.pool)
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let seq = u64::try_from(row.try_get::<i64, _>("seq")?)
                .map_err(|_| StoreError::Corrupt("audit seq".into()))?;
            let body: Vec<u8> = row.try_get("body")?;
            let proof = log
                .inclusion_proof(seq, size)
                .await
                .ok_or_else(|| StoreError::Corrupt(format!("no inclusion proof for {seq}")))?;
            entries.push(EntryProof {
                seq,
                body: STANDARD.encode(body),
                proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
            });
        }
        let pending: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM audit_entries WHERE person_id = $1 AND tenant_id = $2 \
             AND seq >= $3) + (SELECT COUNT(*) FROM audit_queue WHERE person_id = $1 AND tenant_id = $2) AS n",
        )
        .bind(grant.person().to_string())
        .bind(tenant.to_string())
        .bind(size_col)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(ProofBundle {
            format: PROOF_FORMAT.to_owned(),
            checkpoint: note,
            key: key.to_text(),
            entries,
            pending: u64::try_from(pending).unwrap_or(0),
        })
    }
}
