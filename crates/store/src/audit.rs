//! The audit log's storage: appending entries (in the transaction of the
//! write they record, or on their own before a read's response), and reading
//! them back for verification, review and the person's own extract.
//!
//! An entry's `body` is its canonical encoding — the event and its sealed
//! details — and is what the Merkle leaf hashes (see `trygg-audit`). The
//! columns beside it exist for searching; verification checks that they
//! agree with the body.
//!
//! Entries are appended to `audit_queue` and moved into `audit_entries` by
//! the sequencer ([`AuditLog::integrate`]), numbered and hashed; readers
//! read both tables, so an entry is visible from its commit on.

use crate::group::{self, GroupWriter, Writes};
use crate::{Backend, Result, Store, StoreError, ms};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AnyPool};
use std::sync::Arc;
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

/// Rows per statement when many are written at once, largest first: a
/// group is written with as few statements as these sizes allow (each
/// statement costs a round trip to the database's worker or server).
pub(crate) const ROWS_PER_STATEMENT: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// Most bytes of values in one multi-row statement, by backend. sqlx 0.9.0
/// no longer sets `TCP_NODELAY`, and a PostgreSQL message over about 16 KiB
/// then waits some 40 ms for a delayed acknowledgement
/// (<https://github.com/transact-rs/sqlx/issues/4335>); below it, the
/// statements stay fast.
pub(crate) fn statement_bytes(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => usize::MAX,
        Backend::Postgres => 10_000,
    }
}

/// `rows` parenthesised groups of `columns` numbered placeholders.
pub(crate) fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The insert statements, one per size in [`ROWS_PER_STATEMENT`] (the last
/// inserts one row). Their text is made once from the constants here, never
/// from input. Appends go to `audit_queue`, which has no index but its row
/// number (see migration 0012), with their leaf hash.
static INSERT: std::sync::LazyLock<[String; ROWS_PER_STATEMENT.len()]> = std::sync::LazyLock::new(
    || {
        ROWS_PER_STATEMENT.map(|n| {
            let values = placeholders(n, 15);
            format!(
                "INSERT INTO audit_queue (id, tenant_id, at, person_id, actor, action, unit_id, \
                 outcome, ground, method, loa, request_id, details, body, leaf_hash) VALUES {values}"
            )
        })
    },
);

/// Splits `items` into runs of the sizes in [`ROWS_PER_STATEMENT`], each
/// with the index of its size: the largest that fits, and whose values come
/// to at most `budget` bytes (by `bytes`) unless it is a single row.
pub(crate) fn runs<T>(
    mut items: &[T],
    bytes: impl Fn(&T) -> usize,
    budget: usize,
) -> impl Iterator<Item = (usize, &[T])> {
    std::iter::from_fn(move || {
        let size = ROWS_PER_STATEMENT.iter().position(|&n| {
            items
                .get(..n)
                .is_some_and(|run| n == 1 || run.iter().map(&bytes).sum::<usize>() <= budget)
        })?;
        let (run, rest) = items.split_at(ROWS_PER_STATEMENT.get(size).copied()?);
        items = rest;
        Some((size, run))
    })
}

/// An entry ready to be inserted: its columns and its canonical body.
pub(crate) struct NewEntry {
    id: String,
    tenant: Option<String>,
    at: i64,
    person: Option<String>,
    actor: String,
    action: String,
    unit: Option<String>,
    outcome: &'static str,
    ground: String,
    method: Option<String>,
    loa: Option<String>,
    request_id: Option<String>,
    details: Option<Vec<u8>>,
    body: Vec<u8>,
    /// The Merkle leaf hash of `body`.
    leaf: trygg_audit::Hash,
}

impl NewEntry {
    /// The entry `id` for `event`, with `details` sealed under `key` if given.
    fn new(id: uuid::Uuid, event: &AuditEvent, details: Option<(&DataKey, &str)>) -> Result<Self> {
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
        let leaf = trygg_audit::merkle::leaf_hash(&body);
        Ok(Self {
            id: id.to_string(),
            tenant: event.tenant.map(|t| t.to_string()),
            at: ms(event.at),
            person: event.person.map(|p| p.to_string()),
            actor: event.actor.0.clone(),
            action: event.action.clone(),
            unit: event.unit.map(|u| u.to_string()),
            outcome: outcome_str(event.outcome),
            ground: event.ground.clone(),
            method: event.method.map(|m| m.as_str().to_owned()),
            loa: event.loa.map(|l| l.as_str().to_owned()),
            request_id: event.request_id.clone(),
            details: sealed,
            body,
            leaf,
        })
    }

    async fn insert(&self, conn: &mut AnyConnection) -> Result<()> {
        // A single row is written whatever the byte budget.
        Self::insert_all(conn, usize::MAX, &[self]).await
    }

    /// Inserts `entries` with as few statements as [`ROWS_PER_STATEMENT`]
    /// allow, each with at most `budget` bytes of values (see
    /// [`statement_bytes`]).
    async fn insert_all(
        conn: &mut AnyConnection,
        budget: usize,
        entries: &[&NewEntry],
    ) -> Result<()> {
        for (size, run) in runs(entries, |e| e.bytes(), budget) {
            let sql = INSERT
                .get(size)
                .ok_or_else(|| StoreError::Corrupt("audit statement size".into()))?;
            let mut query = sqlx::query(sql.as_str());
            for entry in run {
                query = entry.bind(query);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// About how many bytes its values take in a statement.
    fn bytes(&self) -> usize {
        let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
        self.id.len()
            + text(&self.tenant)
            + 8
            + text(&self.person)
            + self.actor.len()
            + self.action.len()
            + text(&self.unit)
            + self.outcome.len()
            + self.ground.len()
            + text(&self.method)
            + text(&self.loa)
            + text(&self.request_id)
            + self.details.as_ref().map_or(0, Vec::len)
            + self.body.len()
            + self.leaf.len()
            // Each value's length and format in the message.
            + 15 * 6
    }

    /// Binds the entry's 15 columns to the next placeholders of `query`.
    fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        query
            .bind(self.id.as_str())
            .bind(self.tenant.as_deref())
            .bind(self.at)
            .bind(self.person.as_deref())
            .bind(self.actor.as_str())
            .bind(self.action.as_str())
            .bind(self.unit.as_deref())
            .bind(self.outcome)
            .bind(self.ground.as_str())
            .bind(self.method.as_deref())
            .bind(self.loa.as_deref())
            .bind(self.request_id.as_deref())
            .bind(self.details.as_deref())
            .bind(self.body.as_slice())
            .bind(self.leaf.as_slice())
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
    NewEntry::new(id, event, details)?.insert(conn).await
}

impl crate::Tx<'_> {
    /// Appends, in this transaction, the entry for what an operator read or
    /// changed from the command line (about `person`, if any): a change and
    /// its entry commit together; a read's entry commits before it is shown.
    /// The operator acts with the key file's authority, not through a policy
    /// decision: actor `operator:<operator>`, ground `key_file`, no e-ID.
    pub async fn record_operator(
        &mut self,
        operator: &str,
        tenant: trygg_domain::TenantId,
        person: Option<trygg_domain::PersonId>,
        action: &str,
    ) -> Result<()> {
        let event = AuditEvent {
            tenant: Some(tenant),
            at: self.now(),
            actor: trygg_domain::Actor(format!("operator:{operator}")),
            method: None,
            loa: None,
            person,
            action: action.to_owned(),
            unit: None,
            outcome: Outcome::Allow,
            ground: "key_file".to_owned(),
            request_id: None,
        };
        append(&mut self.tx, self.store.audit_id(), &event, None).await
    }
}

/// The stand-alone appends (a read's entry, a refusal's), group-committed
/// (see [`crate::group`]): a group's entries go in one transaction, a lone
/// entry on its own, as before; every caller of a group that did not commit
/// fails.
pub(crate) struct Appends;

/// The audit log's group writer.
pub(crate) type Appender = GroupWriter<Appends>;

impl Writes for Appends {
    type Item = NewEntry;
    type Output = ();

    async fn write(
        &self,
        pool: &AnyPool,
        backend: Backend,
        group: Vec<NewEntry>,
    ) -> Vec<group::Outcome<()>> {
        let n = group.len();
        let result = write_group(pool, backend, &group).await.map_err(Arc::new);
        vec![result; n]
    }
}

/// Inserts `group` in one transaction (a lone entry on its own).
async fn write_group(pool: &AnyPool, backend: Backend, group: &[NewEntry]) -> Result<()> {
    if let [entry] = group {
        let mut conn = pool.acquire().await?;
        return entry.insert(&mut conn).await;
    }
    let mut tx = crate::group::begin(pool, backend).await?;
    let entries: Vec<&NewEntry> = group.iter().collect();
    NewEntry::insert_all(&mut tx, statement_bytes(backend), &entries).await?;
    tx.commit().await?;
    Ok(())
}

impl Store {
    pub(crate) fn audit_id(&self) -> uuid::Uuid {
        trygg_domain::ids::new_v7(self.clock.as_ref())
    }

    /// Appends one event on its own (a read's or a denial's entry): durable
    /// when this returns, before the response leaves.
    ///
    /// Concurrent calls share one transaction (group commit, see
    /// [`crate::group`]); each returns only after that transaction committed, and
    /// fails if it did not.
    pub async fn record_event(&self, event: &AuditEvent) -> Result<()> {
        let entry = NewEntry::new(self.audit_id(), event, None)?;
        self.appender.write(entry).await
    }

    /// How many transactions the stand-alone appends ([`Store::record_event`])
    /// have been written in since the store was opened: with the number of
    /// entries, the mean size of a group commit.
    pub fn audit_group_commits(&self) -> u64 {
        self.appender.groups()
    }

    /// The store's own connection pool, for the benchmarks' baselines
    /// (`benches/audit_appends.rs`: plain inserts with exactly Trygg's
    /// connection settings). Not for use outside this crate's benchmarks.
    #[doc(hidden)]
    pub fn pool_for_benchmarks(&self) -> &AnyPool {
        &self.pool
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
        sqlx::query(
            "SELECT body, id FROM audit_entries WHERE request_id = $1 \
             UNION ALL SELECT body, id FROM audit_queue WHERE request_id = $1 ORDER BY id",
        )
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
            "SELECT body, at, id FROM audit_entries WHERE person_id = $1 AND tenant_id = $2 \
             UNION ALL SELECT body, at, id FROM audit_queue WHERE person_id = $1 AND tenant_id = $2 \
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

/// The audit log's sequencer: gives queued entries their place in the
/// Merkle tree (in the order they were queued), moves them into the log with
/// their leaf hashes, and signs a checkpoint of the new tree head, all in
/// one transaction per round. Keeps the
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
        let rows = sqlx::query("SELECT seq, leaf_hash FROM audit_entries ORDER BY seq")
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
        // Read and hash before taking the write lock (SQLite has one, which
        // the appends wait for); an entry committed meanwhile waits for the
        // next round, as one committed just after the read would.
        // Entries queued before migration 0012 have no leaf hash yet.
        let pending = sqlx::query(
            "SELECT n, leaf_hash, CASE WHEN leaf_hash IS NULL THEN body END AS body \
             FROM audit_queue ORDER BY n LIMIT $1",
        )
        .bind(INTEGRATE_BATCH)
        .fetch_all(&self.store.pool)
        .await?;
        if pending.is_empty() {
            return Ok(None);
        }
        let mut numbers = Vec::with_capacity(pending.len());
        let mut leaves = Vec::with_capacity(pending.len());
        let mut unhashed = Vec::new();
        for row in &pending {
            let n: i64 = row.try_get("n")?;
            let leaf = match row.try_get::<Option<Vec<u8>>, _>("leaf_hash")? {
                Some(leaf) => trygg_audit::Hash::try_from(leaf.as_slice())
                    .map_err(|_| StoreError::Corrupt(format!("queued audit leaf hash {n}")))?,
                None => {
                    let body: Vec<u8> = row.try_get("body")?;
                    let leaf = trygg_audit::merkle::leaf_hash(&body);
                    unhashed.push((n, leaf));
                    leaf
                }
            };
            numbers.push(n);
            leaves.push(leaf);
        }
        drop(pending);
        let mut tx = self.store.begin().await?;
        for (n, leaf) in &unhashed {
            sqlx::query("UPDATE audit_queue SET leaf_hash = $1 WHERE n = $2")
                .bind(leaf.as_slice())
                .bind(*n)
                .execute(&mut *tx.tx)
                .await?;
        }
        // Each run of consecutive row numbers moves with one statement (nearly
        // always there is one run): row n of a run that starts at row `first`
        // and place `seq` takes place seq + (n - first).
        let mut seq = tree.len();
        for (first, last) in consecutive(numbers.iter().copied()) {
            let count = u64::try_from(last - first + 1)
                .map_err(|_| StoreError::Corrupt("audit queue numbers".into()))?;
            let offset = i64::try_from(seq)
                .ok()
                .and_then(|s| s.checked_sub(first))
                .ok_or_else(|| StoreError::Corrupt("audit log too large".into()))?;
            let moved = sqlx::query(
                "INSERT INTO audit_entries (id, seq, tenant_id, at, person_id, actor, action, \
                 unit_id, outcome, ground, method, loa, request_id, details, body, leaf_hash) \
                 SELECT id, n + $1, tenant_id, at, person_id, actor, action, unit_id, outcome, \
                 ground, method, loa, request_id, details, body, leaf_hash \
                 FROM audit_queue WHERE n >= $2 AND n <= $3 ORDER BY n",
            )
            .bind(offset)
            .bind(first)
            .bind(last)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
            let removed = sqlx::query("DELETE FROM audit_queue WHERE n >= $1 AND n <= $2")
                .bind(first)
                .bind(last)
                .execute(&mut *tx.tx)
                .await?
                .rows_affected();
            if moved != count || removed != count {
                // Another sequencer took some of them: nothing is changed.
                return Err(taken_elsewhere());
            }
            seq += count;
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

/// Two sequencers integrated the same queued entries at once.
fn taken_elsewhere() -> StoreError {
    StoreError::Corrupt("audit entries were integrated by someone else at the same time".into())
}

/// The runs of consecutive numbers in an ascending sequence, as (first, last).
fn consecutive(numbers: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for n in numbers {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(n) => *last = n,
            _ => runs.push((n, n)),
        }
    }
    runs
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
             request_id, body, leaf_hash FROM audit_entries ORDER BY seq",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_written_with_few_statements_in_order() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        let items: Vec<usize> = (0..131).collect();
        let split: Vec<(usize, &[usize])> = runs(&items, |_| 1, usize::MAX).collect();
        let sizes: Vec<usize> = split.iter().map(|(_, run)| run.len()).collect();
        assert_eq!(sizes, [64, 64, 2, 1]);
        assert!(
            split
                .iter()
                .all(|(i, run)| ROWS_PER_STATEMENT[*i] == run.len())
        );
        let again: Vec<usize> = split
            .iter()
            .flat_map(|(_, run)| run.iter().copied())
            .collect();
        assert_eq!(again, items);
        assert_eq!(runs::<usize>(&[], |_| 1, usize::MAX).count(), 0);
        // A byte budget: runs of at most 1,000 bytes, and a larger item alone.
        let mut sized = vec![100; 40];
        sized[20] = 5000;
        let sizes: Vec<usize> = runs(&sized, |&b| b, 1000)
            .map(|(_, run)| run.len())
            .collect();
        assert_eq!(sizes, [8, 8, 4, 1, 8, 8, 2, 1]);
    }

    #[test]
    fn queued_rows_are_removed_in_runs_of_consecutive_numbers() {
        assert_eq!(consecutive([]), []);
        assert_eq!(consecutive([7]), [(7, 7)]);
        assert_eq!(consecutive([1, 2, 3, 5, 6, 9]), [(1, 3), (5, 6), (9, 9)]);
        assert_eq!(
            consecutive([i64::MAX - 1, i64::MAX]),
            [(i64::MAX - 1, i64::MAX)]
        );
    }
}
