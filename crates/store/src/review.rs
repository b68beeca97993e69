//! Log review (loggkontroll, HSLF-FS 2016:40 4 kap. 9 §): a unit manager or
//! security officer searches the audit log of a unit, sees the accesses
//! worth a look flagged, draws a random sample, and records what was checked
//! and what they concluded. Everything here takes an `AdminGrant` for
//! `ReviewLog` in the unit; every search and every recorded review is itself
//! an audit entry.
//!
//! A unit's log is every entry about its documentation (`unit_id`) and every
//! entry made by a staff member who holds a role in it — so a nurse looking
//! up a neighbour in another unit's records shows in her own unit's review.

use crate::audit::{StoredEntry, append};
use crate::org::id_col;
use crate::permissions::expect;
use crate::{Result, Store, StoreError, from_ms, ms};
use sqlx::Row as _;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use trygg_domain::{AdminAction, FreeText, Outcome, PersonId, StaffId, swedish_time};
use trygg_policy::AdminGrant;

/// Most entries one search returns (the newest); the page says when a
/// search found more.
pub const SEARCH_LIMIT: usize = 2_000;
/// Most entries one recorded review names.
pub const REVIEW_ENTRIES_LIMIT: usize = SEARCH_LIMIT;

/// Working hours in Swedish local time, `[from, to)`: staff accesses outside
/// them are flagged. Home care runs evenings too; night staff are few, so a
/// night-time access is worth a look.
pub const WORKING_HOURS: (u8, u8) = (7, 22);
/// "Many persons in a short time": this many different persons ...
pub const MANY_PERSONS: usize = 10;
/// ... within this long, by one staff member.
pub const MANY_PERSONS_WINDOW: time::Duration = time::Duration::minutes(10);

/// What to search: a period, optionally one person, optionally one staff member.
#[derive(Debug, Clone, Copy)]
pub struct LogSearch {
    /// From (inclusive).
    pub from: OffsetDateTime,
    /// To (exclusive).
    pub to: OffsetDateTime,
    /// Only entries about this person.
    pub person: Option<PersonId>,
    /// Only entries made by this staff member.
    pub staff: Option<StaffId>,
}

/// Why an access is worth a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// The access was refused.
    Refused,
    /// It did not rest on a care relationship (consent, emergency access) or
    /// was refused for want of one.
    NoCareRelationship,
    /// Emergency access.
    Emergency,
    /// The person has a protected identity.
    ProtectedIdentity,
    /// The staff member and the person share a family name.
    SameSurname,
    /// Outside working hours ([`WORKING_HOURS`], Swedish time).
    OutsideHours,
    /// One of [`MANY_PERSONS`] different persons the staff member accessed
    /// within [`MANY_PERSONS_WINDOW`].
    ManyPersons,
}

impl Flag {
    /// Every flag, in the order pages show them.
    pub const ALL: [Flag; 7] = [
        Flag::Refused,
        Flag::NoCareRelationship,
        Flag::Emergency,
        Flag::ProtectedIdentity,
        Flag::SameSurname,
        Flag::OutsideHours,
        Flag::ManyPersons,
    ];

    /// The flag's code.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Refused => "refused",
            Flag::NoCareRelationship => "no_care_relationship",
            Flag::Emergency => "emergency_access",
            Flag::ProtectedIdentity => "protected_identity",
            Flag::SameSurname => "same_surname",
            Flag::OutsideHours => "outside_working_hours",
            Flag::ManyPersons => "many_persons",
        }
    }
}

/// One entry as a reviewer sees it.
#[derive(Debug, Clone)]
pub struct ReviewedEntry {
    /// The entry.
    pub entry: StoredEntry,
    /// Its place in the Merkle tree, once integrated.
    pub seq: Option<u64>,
    /// The person's name (none if there is no person or they were erased).
    pub person_name: Option<String>,
    /// The staff member who made the access, if a staff member did.
    pub staff: Option<StaffId>,
    /// Their name.
    pub staff_name: Option<String>,
    /// Why it is worth a look.
    pub flags: Vec<Flag>,
}

/// A search's result, newest first.
#[derive(Debug, Clone)]
pub struct LogSelection {
    /// The entries (at most [`SEARCH_LIMIT`]).
    pub entries: Vec<ReviewedEntry>,
    /// Whether the search found more than it returns.
    pub truncated: bool,
}

/// What a reviewer concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    /// Nothing to remark.
    NoRemarks,
    /// Something needs following up (ask the staff member, check a care
    /// relationship).
    FollowUp,
    /// Suspected unauthorised access: to the security officer and, as the
    /// case may be, a report (anmälan).
    SuspectedMisuse,
}

impl Conclusion {
    /// The conclusion's code.
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::NoRemarks => "no_remarks",
            Conclusion::FollowUp => "follow_up",
            Conclusion::SuspectedMisuse => "suspected_misuse",
        }
    }
}

impl std::str::FromStr for Conclusion {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "no_remarks" => Ok(Conclusion::NoRemarks),
            "follow_up" => Ok(Conclusion::FollowUp),
            "suspected_misuse" => Ok(Conclusion::SuspectedMisuse),
            other => Err(StoreError::Corrupt(format!("conclusion {other:?}"))),
        }
    }
}

/// A review to record.
#[derive(Debug, Clone)]
pub struct NewReview<'a> {
    /// The period searched.
    pub from: OffsetDateTime,
    /// Its end.
    pub to: OffsetDateTime,
    /// What was checked: a short code with no personal data (`search`,
    /// `flagged`, `sample:20`).
    pub selection: &'a str,
    /// The entries checked.
    pub entries: &'a [uuid::Uuid],
    /// The conclusion.
    pub conclusion: Conclusion,
    /// What was found or done (may name people: sealed).
    pub note: Option<&'a FreeText>,
}

/// A recorded review.
#[derive(Debug, Clone)]
pub struct LogReview {
    /// Id.
    pub id: uuid::Uuid,
    /// Who reviewed.
    pub reviewer: StaffId,
    /// When.
    pub at: OffsetDateTime,
    /// The period checked.
    pub from: OffsetDateTime,
    /// Its end.
    pub to: OffsetDateTime,
    /// What was checked.
    pub selection: String,
    /// How many entries.
    pub entries: usize,
    /// The conclusion.
    pub conclusion: Conclusion,
    /// The note.
    pub note: Option<String>,
    /// When its follow-up was closed, and by whom.
    pub closed: Option<(OffsetDateTime, StaffId)>,
}

fn valid_selection(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'_')
}

/// The staff member behind an actor id, if it is one.
pub fn staff_of_actor(actor: &trygg_domain::Actor) -> Option<StaffId> {
    actor
        .0
        .strip_prefix("staff:")
        .and_then(|id| id.parse().ok())
}

/// What flagging needs to know about a person.
#[derive(Debug, Clone, Default)]
pub struct PersonFlagFacts {
    /// Their family name.
    pub family_name: Option<String>,
    /// Whether their identity is protected.
    pub protected_identity: bool,
}

/// Flags `entries` (pure: the rules of the review, tested on their own).
pub fn flag_entries(
    entries: &mut [ReviewedEntry],
    persons: &HashMap<PersonId, PersonFlagFacts>,
    staff_family: &HashMap<StaffId, String>,
) {
    let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
    for r in entries.iter_mut() {
        let e = &r.entry.event;
        let facts = e.person.and_then(|p| persons.get(&p));
        let mut flags = Vec::new();
        if e.outcome == Outcome::Deny {
            flags.push(Flag::Refused);
        }
        let staff_access = r.staff.is_some() && e.person.is_some();
        if staff_access
            && match e.outcome {
                Outcome::Allow => matches!(e.ground.as_str(), "consent" | "emergency_access"),
                Outcome::Deny => e.ground == "no_relationship",
            }
        {
            flags.push(Flag::NoCareRelationship);
        }
        if e.ground == "emergency_access" || e.action == "begin_emergency_access" {
            flags.push(Flag::Emergency);
        }
        if facts.is_some_and(|f| f.protected_identity) {
            flags.push(Flag::ProtectedIdentity);
        }
        let staff_name = r.staff.and_then(|s| staff_family.get(&s));
        if let (Some(a), Some(b)) = (facts.and_then(|f| f.family_name.as_deref()), staff_name)
            && same(a, b)
        {
            flags.push(Flag::SameSurname);
        }
        let hour = swedish_time(e.at).hour();
        if r.staff.is_some() && (hour < WORKING_HOURS.0 || hour >= WORKING_HOURS.1) {
            flags.push(Flag::OutsideHours);
        }
        r.flags = flags;
    }
    // Many persons in a short time: per staff member, a sliding window.
    let mut by_staff: HashMap<StaffId, Vec<usize>> = HashMap::new();
    for (i, r) in entries.iter().enumerate() {
        if let (Some(s), Some(_)) = (r.staff, r.entry.event.person) {
            by_staff.entry(s).or_default().push(i);
        }
    }
    let mut many = HashSet::new();
    for mut idx in by_staff.into_values() {
        idx.sort_by_key(|&i| entries.get(i).map(|r| r.entry.event.at));
        let at = |k: usize| {
            idx.get(k)
                .and_then(|&i| entries.get(i))
                .map(|r| r.entry.event.at)
        };
        let person = |k: usize| {
            idx.get(k)
                .and_then(|&i| entries.get(i))
                .and_then(|r| r.entry.event.person)
        };
        let mut counts: HashMap<PersonId, usize> = HashMap::new();
        let mut lo = 0;
        for hi in 0..idx.len() {
            if let Some(p) = person(hi) {
                *counts.entry(p).or_default() += 1;
            }
            while let (Some(a), Some(b)) = (at(lo), at(hi)) {
                if b - a <= MANY_PERSONS_WINDOW {
                    break;
                }
                if let Some(p) = person(lo)
                    && let Some(c) = counts.get_mut(&p)
                {
                    *c -= 1;
                    if *c == 0 {
                        counts.remove(&p);
                    }
                }
                lo += 1;
            }
            if counts.len() >= MANY_PERSONS {
                many.extend((lo..=hi).filter_map(|k| idx.get(k).copied()));
            }
        }
    }
    for i in many {
        if let Some(r) = entries.get_mut(i) {
            r.flags.push(Flag::ManyPersons);
        }
    }
}

/// A uniformly random sample of `n` entries (all if there are fewer), in
/// their original order. Drawn from the system's random source, so nobody
/// can foresee which accesses will be checked.
pub fn sample(entries: Vec<ReviewedEntry>, n: usize) -> Result<Vec<ReviewedEntry>> {
    if entries.len() <= n {
        return Ok(entries);
    }
    // Partial Fisher–Yates over the indexes.
    let mut idx: Vec<usize> = (0..entries.len()).collect();
    for i in 0..n {
        let remaining = (idx.len() - i) as u64;
        let j = i + usize::try_from(trygg_crypto::random_below(remaining)?)
            .map_err(|_| StoreError::Corrupt("random index".into()))?;
        idx.swap(i, j);
    }
    let mut chosen: Vec<usize> = idx.into_iter().take(n).collect();
    chosen.sort_unstable();
    let chosen: HashSet<usize> = chosen.into_iter().collect();
    Ok(entries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| chosen.contains(i))
        .map(|(_, e)| e)
        .collect())
}

/// The audit entries of a unit, integrated (`audit_entries`) or still
/// queued (`audit_queue`): about its documentation, or made by one of its
/// staff. `$1` tenant, `$2` unit, `$3`/`$4` period, `$5` person or NULL,
/// `$6` actor or NULL. `$logged` and `$queued` are the columns taken from
/// each table, `$and` a further condition, `$tail` what follows the union.
macro_rules! unit_entries {
    ($logged:literal, $queued:literal, $and:literal, $tail:literal) => {
        concat!(
            "SELECT ", $logged, " FROM audit_entries a WHERE ", unit_entries!(@where), $and,
            " UNION ALL SELECT ", $queued, " FROM audit_queue a WHERE ", unit_entries!(@where), $and,
            " ", $tail
        )
    };
    (@where) => {
        "a.tenant_id = $1 AND a.at >= $3 AND a.at < $4 \
         AND (a.unit_id = $2 OR a.actor IN \
         (SELECT 'staff:' || r.staff_id FROM role_assignments r WHERE r.unit_id = $2)) \
         AND ($5 IS NULL OR a.person_id = $5) AND ($6 IS NULL OR a.actor = $6) "
    };
}

impl Store {
    /// Searches the unit's log (newest first, at most [`SEARCH_LIMIT`]) and
    /// flags the accesses worth a look. The search is logged first.
    pub async fn review_log(&self, grant: &AdminGrant, search: &LogSearch) -> Result<LogSelection> {
        expect(grant, AdminAction::ReviewLog, "review the log")?;
        let tenant = grant.tenant();
        let mut conn = self.pool.acquire().await?;
        self.record_admin_in(&mut conn, grant, search.person)
            .await?;
        drop(conn);
        let limit = i64::try_from(SEARCH_LIMIT + 1).unwrap_or(i64::MAX);
        let rows = sqlx::query(unit_entries!(
            "a.body, a.seq, a.at, a.id",
            "a.body, NULL AS seq, a.at, a.id",
            "",
            "ORDER BY at DESC, id DESC LIMIT $7"
        ))
        .bind(tenant.to_string())
        .bind(grant.unit().to_string())
        .bind(ms(search.from))
        .bind(ms(search.to))
        .bind(search.person.map(|p| p.to_string()))
        .bind(search.staff.map(|s| format!("staff:{s}")))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let truncated = rows.len() > SEARCH_LIMIT;
        let mut entries = Vec::with_capacity(rows.len().min(SEARCH_LIMIT));
        for row in rows.iter().take(SEARCH_LIMIT) {
            let entry = StoredEntry::parse(&row.try_get::<Vec<u8>, _>("body")?)?;
            let seq: Option<i64> = row.try_get("seq")?;
            entries.push(ReviewedEntry {
                staff: staff_of_actor(&entry.event.actor),
                entry,
                seq: seq.and_then(|s| u64::try_from(s).ok()),
                person_name: None,
                staff_name: None,
                flags: Vec::new(),
            });
        }
        // Names: the reviewer must see who looked at whom. The ReviewLog
        // grant is the justification for reading them without a
        // care-record grant; the search above is logged.
        let mut persons: HashMap<PersonId, PersonFlagFacts> = HashMap::new();
        let mut person_names: HashMap<PersonId, String> = HashMap::new();
        for p in entries.iter().filter_map(|r| r.entry.event.person) {
            if persons.contains_key(&p) {
                continue;
            }
            // An erased person's data cannot be opened any more.
            let facts = match self.unsafe_person(tenant, p).await {
                Ok(person) => {
                    person_names.insert(
                        p,
                        format!(
                            "{} {}",
                            person.details.given_name, person.details.family_name
                        ),
                    );
                    PersonFlagFacts {
                        family_name: Some(person.details.family_name.to_string()),
                        protected_identity: person.protected_identity,
                    }
                }
                Err(_) => PersonFlagFacts::default(),
            };
            persons.insert(p, facts);
        }
        let staff = self.staff(tenant).await?;
        let staff_family: HashMap<StaffId, String> = staff
            .iter()
            .map(|s| (s.id, s.details.family_name.to_string()))
            .collect();
        let staff_names: HashMap<StaffId, String> = staff
            .iter()
            .map(|s| {
                let d = &s.details;
                (s.id, format!("{} {}", d.given_name, d.family_name))
            })
            .collect();
        for r in &mut entries {
            r.person_name = r
                .entry
                .event
                .person
                .and_then(|p| person_names.get(&p).cloned());
            r.staff_name = r.staff.and_then(|s| staff_names.get(&s).cloned());
        }
        flag_entries(&mut entries, &persons, &staff_family);
        Ok(LogSelection { entries, truncated })
    }

    /// Records a review of the unit's log; every entry named must be one of
    /// the unit's entries in the period. Returns its id.
    pub async fn record_log_review(
        &self,
        grant: &AdminGrant,
        reviewer: StaffId,
        review: &NewReview<'_>,
    ) -> Result<uuid::Uuid> {
        expect(grant, AdminAction::ReviewLog, "record a log review")?;
        if !valid_selection(review.selection) {
            return Err(StoreError::Corrupt("a review's selection code".into()));
        }
        if review.entries.len() > REVIEW_ENTRIES_LIMIT {
            return Err(StoreError::Corrupt("too many entries in one review".into()));
        }
        let tenant = grant.tenant();
        let id = self.audit_id();
        let mut tx = self.begin().await?;
        for entry in review.entries {
            sqlx::query(unit_entries!("1", "1", "AND a.id = $7", ""))
                .bind(tenant.to_string())
                .bind(grant.unit().to_string())
                .bind(ms(review.from))
                .bind(ms(review.to))
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(entry.to_string())
                .fetch_optional(&mut *tx.tx)
                .await?
                .ok_or(StoreError::UnknownReference("audit entry of the unit"))?;
        }
        let note = review
            .note
            .map(|n| {
                self.keys
                    .secrets()
                    .seal_str(n.as_str(), format!("log_reviews/{id}/note").as_bytes())
            })
            .transpose()?;
        let entries = serde_json::to_string(review.entries)
            .map_err(|e| StoreError::Corrupt(format!("review entries: {e}")))?;
        sqlx::query(
            "INSERT INTO log_reviews (id, tenant_id, unit_id, reviewer, at, period_from, period_to, \
             selection, entries, conclusion, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(grant.unit().to_string())
        .bind(reviewer.to_string())
        .bind(ms(self.clock.now()))
        .bind(ms(review.from))
        .bind(ms(review.to))
        .bind(review.selection)
        .bind(entries)
        .bind(review.conclusion.as_str())
        .bind(note)
        .execute(&mut *tx.tx)
        .await?;
        let mut event = grant.audit_event(self.clock.now(), None);
        event.action = "record_log_review".to_owned();
        append(&mut tx.tx, self.audit_id(), &event, None).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The unit's recorded reviews, newest first (at most 200).
    pub async fn log_reviews(&self, grant: &AdminGrant) -> Result<Vec<LogReview>> {
        expect(grant, AdminAction::ReviewLog, "read log reviews")?;
        sqlx::query(
            "SELECT id, reviewer, at, period_from, period_to, selection, entries, conclusion, note, \
             closed_at, closed_by FROM log_reviews WHERE tenant_id = $1 AND unit_id = $2 \
             ORDER BY at DESC, id DESC LIMIT 200",
        )
        .bind(grant.tenant().to_string())
        .bind(grant.unit().to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let id: uuid::Uuid = id_col(row, "id")?;
            let note: Option<Vec<u8>> = row.try_get("note")?;
            let note = note
                .map(|n| {
                    self.keys
                        .secrets()
                        .open_string(&n, format!("log_reviews/{id}/note").as_bytes())
                        .map(|s| s.to_string())
                })
                .transpose()?;
            let entries: String = row.try_get("entries")?;
            let entries: Vec<uuid::Uuid> = serde_json::from_str(&entries)
                .map_err(|e| StoreError::Corrupt(format!("review entries: {e}")))?;
            let closed_at: Option<i64> = row.try_get("closed_at")?;
            let closed_by: Option<String> = row.try_get("closed_by")?;
            let closed = match (closed_at, closed_by) {
                (Some(at), Some(by)) => Some((
                    from_ms(at)?,
                    by.parse()
                        .map_err(|_| StoreError::Corrupt("closed_by".into()))?,
                )),
                _ => None,
            };
            Ok(LogReview {
                id,
                reviewer: id_col(row, "reviewer")?,
                at: from_ms(row.try_get("at")?)?,
                from: from_ms(row.try_get("period_from")?)?,
                to: from_ms(row.try_get("period_to")?)?,
                selection: row.try_get("selection")?,
                entries: entries.len(),
                conclusion: row.try_get::<String, _>("conclusion")?.parse()?,
                note,
                closed,
            })
        })
        .collect()
    }

    /// Closes the follow-up of a review whose conclusion asked for one.
    pub async fn close_log_review(
        &self,
        grant: &AdminGrant,
        id: uuid::Uuid,
        by: StaffId,
    ) -> Result<()> {
        expect(grant, AdminAction::ReviewLog, "close a log review")?;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE log_reviews SET closed_at = $1, closed_by = $2 WHERE id = $3 AND tenant_id = $4 \
             AND unit_id = $5 AND closed_at IS NULL AND conclusion <> 'no_remarks'",
        )
        .bind(ms(self.clock.now()))
        .bind(by.to_string())
        .bind(id.to_string())
        .bind(grant.tenant().to_string())
        .bind(grant.unit().to_string())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Err(StoreError::NotFound("open log review"));
        }
        let mut event = grant.audit_event(self.clock.now(), None);
        event.action = "close_log_review".to_owned();
        append(&mut tx.tx, self.audit_id(), &event, None).await?;
        tx.commit().await
    }
}
