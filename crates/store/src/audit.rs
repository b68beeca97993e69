//! The audit log's storage: appending entries (in the transaction of the
//! write they record, or on their own before a read's response), and reading
//! them back for verification, review and the person's own extract.
//!
//! An entry's `body` is its canonical encoding — the event and its sealed
//! details — and is what the Merkle leaf hashes (see `trygg-audit`). The
//! columns beside it exist for searching; verification checks that they
//! agree with the body.

use crate::{Result, Store, StoreError, ms};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use trygg_crypto::DataKey;
use trygg_domain::{AuditEvent, Outcome};

mod disposal;
pub use disposal::{Disposal, DisposalRecord};

/// What the leaf hashes: the entry's id, the event, and the sealed details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredEntry {
    /// The entry's id (UUIDv7).
    pub id: uuid::Uuid,
    /// The event.
    pub event: AuditEvent,
    /// Details sealed under the person's data key (base64), if any.
    pub details: Option<String>,
}

impl StoredEntry {
    /// The canonical bytes (serde_json with the fields in declaration order).
    pub fn body(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| StoreError::Corrupt(format!("audit entry: {e}")))
    }

    /// Parses a stored body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        serde_json::from_slice(body).map_err(|e| StoreError::Corrupt(format!("audit entry: {e}")))
    }
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "allow",
        Outcome::Deny => "deny",
    }
}

/// Appends `event` on `conn` (a transaction's or the pool's connection),
/// with `details` sealed under `key` if given.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    id: uuid::Uuid,
    event: &AuditEvent,
    details: Option<(&DataKey, &str)>,
) -> Result<()> {
    let sealed = match details {
        Some((key, text)) => {
            Some(key.seal_str(text, format!("audit_entries/{id}/details").as_bytes())?)
        }
        None => None,
    };
    let entry = StoredEntry {
        id,
        event: event.clone(),
        details: sealed.as_ref().map(|s| STANDARD.encode(s)),
    };
    let body = entry.body()?;
    sqlx::query(
        "INSERT INTO audit_entries (id, tenant_id, at, person_id, actor, action, unit_id, outcome, ground, \
         method, loa, request_id, details, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id.to_string())
    .bind(event.tenant.map(|t| t.to_string()))
    .bind(ms(event.at))
    .bind(event.person.map(|p| p.to_string()))
    .bind(event.actor.0.clone())
    .bind(event.action.clone())
    .bind(event.unit.map(|u| u.to_string()))
    .bind(outcome_str(event.outcome))
    .bind(event.ground.clone())
    .bind(event.method.map(|m| m.as_str().to_owned()))
    .bind(event.loa.map(|l| l.as_str().to_owned()))
    .bind(event.request_id.clone())
    .bind(sealed)
    .bind(body)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    pub(crate) fn audit_id(&self) -> uuid::Uuid {
        trygg_domain::ids::new_v7(self.clock.as_ref())
    }

    /// Appends one event on its own (a read's or a denial's entry): durable
    /// when this returns, before the response leaves.
    pub async fn record_event(&self, event: &AuditEvent) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        append(&mut conn, self.audit_id(), event, None).await
    }

    /// Appends the entry for using `grant` now (a read, or a find), on its own.
    pub async fn record_access(&self, grant: &trygg_policy::Grant) -> Result<()> {
        self.record_event(&grant.audit_event(self.clock.now()))
            .await
    }

    /// Appends the entry for using an administration grant now (about
    /// `person`, if any) on `conn`.
    pub(crate) async fn record_admin_in(
        &self,
        conn: &mut AnyConnection,
        grant: &trygg_policy::AdminGrant,
        person: Option<trygg_domain::PersonId>,
    ) -> Result<()> {
        let event = grant.audit_event(self.clock.now(), person);
        append(conn, self.audit_id(), &event, None).await
    }

    /// Appends the entry for an allowed attempt that failed (`reason`: what
    /// was missing), on its own.
    pub async fn record_failure(&self, grant: &trygg_policy::Grant, reason: &str) -> Result<()> {
        let mut event = grant.audit_event(self.clock.now());
        event.outcome = Outcome::Deny;
        event.ground = reason.to_owned();
        self.record_event(&event).await
    }

    /// Appends the entry for using `grant` now inside `conn`'s transaction,
    /// with optional sealed details.
    pub(crate) async fn record_access_in(
        &self,
        conn: &mut AnyConnection,
        grant: &trygg_policy::Grant,
        details: Option<(&DataKey, &str)>,
    ) -> Result<()> {
        append(
            conn,
            self.audit_id(),
            &grant.audit_event(self.clock.now()),
            details,
        )
        .await
    }
}

impl Store {
    /// The entries a request appended, read without a grant (`unsafe_`: for
    /// the operator's verification and the tests; reviewers read the log
    /// through their own decision, which is itself logged).
    pub async fn unsafe_audit_entries_of_request(
        &self,
        request_id: &str,
    ) -> Result<Vec<StoredEntry>> {
        use sqlx::Row as _;
        sqlx::query("SELECT body FROM audit_entries WHERE request_id = $1 ORDER BY id")
            .bind(request_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| StoredEntry::parse(&row.try_get::<Vec<u8>, _>("body")?))
            .collect()
    }
}

impl Store {
    /// The log about the grant's person, newest first (at most 1,000
    /// entries), for the person themselves: a grant on the ground `Own`.
    /// Reading it is itself logged.
    pub async fn own_access_log(&self, grant: &trygg_policy::Grant) -> Result<Vec<StoredEntry>> {
        use sqlx::Row as _;
        if grant.via() != trygg_policy::Via::Own {
            return Err(StoreError::Corrupt(
                "only the person themselves reads their log extract this way".into(),
            ));
        }
        let tenant = grant
            .account()
            .tenant()
            .ok_or(StoreError::UnknownReference("tenant of the grant"))?;
        let mut event = grant.audit_event(self.clock.now());
        event.action = "read:audit_log".to_owned();
        self.record_event(&event).await?;
        sqlx::query(
            "SELECT body FROM audit_entries WHERE person_id = $1 AND tenant_id = $2 \
             ORDER BY at DESC, id DESC LIMIT 1000",
        )
        .bind(grant.person().to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| StoredEntry::parse(&row.try_get::<Vec<u8>, _>("body")?))
        .collect()
    }
}

/// The log's name in its checkpoints and the signing key's name.
pub const AUDIT_ORIGIN: &str = "trygg/audit";

/// Most entries one integration takes.
const INTEGRATE_BATCH: i64 = 50_000;

/// The audit log's sequencer: gives pending entries their place in the
/// Merkle tree (in the order of their ids), records each leaf hash, and signs
/// a checkpoint of the new tree head — one transaction per step. Keeps the
/// tree in memory for heads and proofs. One per server process.
pub struct AuditLog {
    store: Store,
    tree: tokio::sync::Mutex<trygg_audit::Tree>,
    key: trygg_audit::SigningKey,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Loads the integrated leaves (they must be numbered 0, 1, 2, … without
    /// a gap) and the signing key.
    pub async fn open(store: &Store) -> Result<Self> {
        use sqlx::Row as _;
        let rows = sqlx::query(
            "SELECT seq, leaf_hash FROM audit_entries WHERE seq IS NOT NULL ORDER BY seq",
        )
        .fetch_all(&store.pool)
        .await?;
        // After a disposal the tree starts from its frontier.
        let mut tree = match store.audit_disposals().await?.pop() {
            Some(d) => trygg_audit::Tree::from_frontier(d.size, &d.frontier)
                .ok_or_else(|| disposal::bad_frontier(d.size))?,
            None => trygg_audit::Tree::new(),
        };
        let first = tree.len();
        for (i, row) in rows.iter().enumerate() {
            let expected = first + i as u64;
            let seq: i64 = row.try_get("seq")?;
            if u64::try_from(seq).ok() != Some(expected) {
                return Err(StoreError::Corrupt(format!(
                    "the audit log has entry {seq} where {expected} should be; run `trygg audit verify`"
                )));
            }
            let leaf: Vec<u8> = row.try_get("leaf_hash")?;
            tree.push(
                leaf.try_into()
                    .map_err(|_| StoreError::Corrupt(format!("audit leaf hash {seq}")))?,
            );
        }
        let seed = store.keys.audit_signing_seed();
        let key = trygg_audit::SigningKey::from_seed(AUDIT_ORIGIN, &seed)
            .map_err(|e| StoreError::Corrupt(format!("audit signing key: {e}")))?;
        Ok(Self {
            store: store.clone(),
            tree: tokio::sync::Mutex::new(tree),
            key,
        })
    }

    /// The public key outside parties verify checkpoints with.
    pub fn verifying_key(&self) -> trygg_audit::VerifyingKey {
        self.key.verifying_key()
    }

    /// How many entries are in the tree.
    pub async fn size(&self) -> u64 {
        self.tree.lock().await.len()
    }

    /// Integrates pending entries (at most a batch) and signs a checkpoint
    /// of the new head; returns the checkpoint note, or `None` if nothing
    /// was pending.
    pub async fn integrate(&self) -> Result<Option<String>> {
        use sqlx::Row as _;
        let mut tree = self.tree.lock().await;
        let mut tx = self.store.begin().await?;
        let pending = sqlx::query(
            "SELECT id, body FROM audit_entries WHERE seq IS NULL ORDER BY id LIMIT $1",
        )
        .bind(INTEGRATE_BATCH)
        .fetch_all(&mut *tx.tx)
        .await?;
        if pending.is_empty() {
            return Ok(None);
        }
        let start = tree.len();
        let mut leaves = Vec::with_capacity(pending.len());
        for (i, row) in pending.iter().enumerate() {
            let id: String = row.try_get("id")?;
            let body: Vec<u8> = row.try_get("body")?;
            let leaf = trygg_audit::merkle::leaf_hash(&body);
            let seq = i64::try_from(start + i as u64)
                .map_err(|_| StoreError::Corrupt("audit log too large".into()))?;
            sqlx::query(
                "UPDATE audit_entries SET seq = $1, leaf_hash = $2 WHERE id = $3 AND seq IS NULL",
            )
            .bind(seq)
            .bind(leaf.to_vec())
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
            leaves.push(leaf);
        }
        // The new head, on a copy until the transaction has committed.
        let mut next = tree.clone();
        for leaf in &leaves {
            next.push(*leaf);
        }
        let now = self.store.clock.now();
        let checkpoint = trygg_audit::Checkpoint {
            origin: AUDIT_ORIGIN.to_owned(),
            size: next.len(),
            root: next.root(),
            time: now,
        };
        let note = self
            .key
            .sign(&checkpoint)
            .map_err(|e| StoreError::Corrupt(format!("signing a checkpoint: {e}")))?;
        sqlx::query("INSERT INTO audit_checkpoints (size, root, at, note) VALUES ($1, $2, $3, $4)")
            .bind(i64::try_from(checkpoint.size).unwrap_or(i64::MAX))
            .bind(checkpoint.root.to_vec())
            .bind(ms(now))
            .bind(note.clone())
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        *tree = next;
        Ok(Some(note))
    }

    /// The latest signed checkpoint, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<String>> {
        use sqlx::Row as _;
        sqlx::query("SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.store.pool)
            .await?
            .map(|row| row.try_get("note").map_err(StoreError::from))
            .transpose()
    }

    /// The proof that entry `seq` is in the tree of `size` entries.
    pub async fn inclusion_proof(&self, seq: u64, size: u64) -> Option<Vec<trygg_audit::Hash>> {
        self.tree.lock().await.inclusion_proof(seq, size)
    }

    /// The proof that the tree of `new_size` entries extends that of `old_size`.
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Option<Vec<trygg_audit::Hash>> {
        self.tree.lock().await.consistency_proof(old_size, new_size)
    }
}

/// What `verify_audit` found (defined with the verifier in `trygg-audit`).
pub use trygg_audit::AuditFinding;

fn column_matches(row: &sqlx::any::AnyRow, entry: &StoredEntry) -> Result<bool> {
    use sqlx::Row as _;
    let e = &entry.event;
    let text = |c: &str| row.try_get::<Option<String>, _>(c);
    Ok(
        text("id")?.as_deref() == Some(entry.id.to_string().as_str())
            && text("tenant_id")? == e.tenant.map(|t| t.to_string())
            && row.try_get::<i64, _>("at")? == ms(e.at)
            && text("person_id")? == e.person.map(|p| p.to_string())
            && text("actor")?.as_deref() == Some(e.actor.0.as_str())
            && text("action")?.as_deref() == Some(e.action.as_str())
            && text("unit_id")? == e.unit.map(|u| u.to_string())
            && text("outcome")?.as_deref() == Some(outcome_str(e.outcome))
            && text("ground")?.as_deref() == Some(e.ground.as_str())
            && text("method")? == e.method.map(|m| m.as_str().to_owned())
            && text("loa")? == e.loa.map(|l| l.as_str().to_owned())
            && text("request_id")? == e.request_id,
    )
}

impl Store {
    /// Checks the whole log against a checkpoint kept outside the system
    /// (verified with `key`), and reports the first entry that was edited,
    /// deleted, reordered or truncated.
    ///
    /// The entries are streamed in order through `trygg_audit`'s
    /// [`Verifier`](trygg_audit::Verifier), which also checks every signed
    /// checkpoint stored with the log as soon as it reaches its size: where a
    /// change rewrote an entry's leaf hash too, it is found at the first
    /// signed checkpoint after it, and reported as the entries between that
    /// checkpoint and the last one that matched. Memory does not grow with the
    /// log beyond the stored checkpoints' sizes and heads.
    pub async fn verify_audit(
        &self,
        checkpoint_note: &str,
        key: &trygg_audit::VerifyingKey,
    ) -> Result<AuditFinding> {
        use futures_util::TryStreamExt as _;
        use sqlx::Row as _;
        let kept = key
            .verify(checkpoint_note)
            .map_err(|e| StoreError::Corrupt(format!("the checkpoint does not verify: {e}")))?;
        // The stored checkpoints that verify with the key; others are ignored.
        let mut signed = Vec::new();
        let mut notes =
            sqlx::query("SELECT note FROM audit_checkpoints ORDER BY size").fetch(&self.pool);
        while let Some(row) = notes.try_next().await? {
            let note: String = row.try_get("note")?;
            if let Ok(c) = key.verify(&note) {
                signed.push(trygg_audit::SignedHead::from(&c));
            }
        }
        drop(notes);
        // After a disposal, verification starts from the disposed entries'
        // frontier, which must give the signed head kept at that size.
        let kept = trygg_audit::SignedHead::from(&kept);
        let mut verifier = match self.audit_disposals().await?.pop() {
            Some(d) => {
                let frontier = trygg_audit::verify::Frontier::from_hashes(d.size, d.frontier)
                    .ok_or_else(|| disposal::bad_frontier(d.size))?;
                trygg_audit::Verifier::resume_from(frontier, kept, signed)
            }
            None => trygg_audit::Verifier::new(kept, signed),
        };
        if let Some(finding) = verifier.finding() {
            return Ok(finding);
        }
        let mut rows = sqlx::query(
            "SELECT id, seq, tenant_id, at, person_id, actor, action, unit_id, outcome, ground, method, loa, \
             request_id, body, leaf_hash FROM audit_entries WHERE seq IS NOT NULL ORDER BY seq",
        )
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let Ok(seq) = u64::try_from(row.try_get::<i64, _>("seq")?) else {
                // A negative number: not in its place.
                return Ok(AuditFinding::Missing {
                    seq: verifier.position(),
                });
            };
            let body: Vec<u8> = row.try_get("body")?;
            let stored: Option<Vec<u8>> = row.try_get("leaf_hash")?;
            let columns_agree = StoredEntry::parse(&body)
                .and_then(|entry| column_matches(&row, &entry))
                .unwrap_or(false);
            let entry = trygg_audit::verify::Entry {
                seq,
                body: &body,
                leaf_hash: stored.and_then(|h| trygg_audit::Hash::try_from(h.as_slice()).ok()),
                columns_agree,
            };
            if let Some(finding) = verifier.push(entry) {
                return Ok(finding);
            }
        }
        Ok(verifier.finish())
    }
}
