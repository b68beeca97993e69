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
