//! Handling an alarm: received → taken by an operator → dispatched to a
//! home-care staff member → on site → closed with a note. Reading a person's
//! alarms needs a grant to read `Part::Alarms`; every step needs a grant to
//! write it. Each step is one transaction with its audit entry, and moves
//! only from the state it expects, so two operators cannot both take an
//! alarm, and a closed alarm stays closed.

use crate::org::{id_col, opt_uuid_col};
use crate::seal::Fields;
use crate::{Result, Store, StoreError, from_ms, ms};
use sqlx::Row as _;
use time::OffsetDateTime;
use trygg_domain::{Account, Action, AlarmId, FreeText, Part, PersonId, StaffId, TenantId};
use trygg_policy::Grant;
use zeroize::Zeroizing;

/// Where an alarm is in its handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    /// Received from the device; nobody has it yet.
    Received,
    /// An operator has taken it.
    Taken,
    /// Home-care staff are on their way.
    Dispatched,
    /// Staff are with the person.
    OnSite,
    /// Handled, with a note.
    Closed,
}

impl AlarmState {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Received => "received",
            AlarmState::Taken => "taken",
            AlarmState::Dispatched => "dispatched",
            AlarmState::OnSite => "on_site",
            AlarmState::Closed => "closed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        [
            AlarmState::Received,
            AlarmState::Taken,
            AlarmState::Dispatched,
            AlarmState::OnSite,
            AlarmState::Closed,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("alarm state {s:?}")))
    }
}

/// An alarm as the people handling it see it.
#[derive(Debug)]
pub struct AlarmRecord {
    /// Its id.
    pub id: AlarmId,
    /// `alarm`, `technical` or `status`.
    pub kind: String,
    /// Where it is in its handling.
    pub state: AlarmState,
    /// The device's `ref`.
    pub reference: String,
    /// The SCAIP status code, if any.
    pub status_code: Option<u16>,
    /// The SCAIP priority, if any.
    pub priority: Option<u8>,
    /// What the device sent (canonical `<mrq>`, or a supervision note).
    pub request: Zeroizing<String>,
    /// When it was first received.
    pub received_at: OffsetDateTime,
    /// How many repeats of it the device sent.
    pub repeats: i64,
    /// The operator who took it, and when.
    pub taken: Option<(StaffId, OffsetDateTime)>,
    /// Who it was dispatched to, and when.
    pub dispatched: Option<(StaffId, OffsetDateTime)>,
    /// When staff were on site.
    pub on_site_at: Option<OffsetDateTime>,
    /// Who closed it, when, and the note.
    pub closed: Option<(StaffId, OffsetDateTime, FreeText)>,
    /// When it was escalated for not being taken in time.
    pub escalated_at: Option<OffsetDateTime>,
    /// When the device reported check-out (SCAIP 0111).
    pub checked_out_at: Option<OffsetDateTime>,
}

/// A step of the workflow before closing.
#[derive(Debug, Clone, Copy)]
enum Step {
    Take(StaffId),
    Dispatch(StaffId),
    OnSite,
}

impl Step {
    fn what(self) -> &'static str {
        match self {
            Step::Take(_) => "taken",
            Step::Dispatch(_) => "dispatched",
            Step::OnSite => "marked on site",
        }
    }
}

/// A step that does not apply to the alarm as it stands.
fn wrong_state(what: &str) -> StoreError {
    StoreError::Conflict(format!("the alarm cannot be {what} in its present state"))
}

fn grant_parts(grant: &Grant, action: Action) -> Result<(TenantId, PersonId)> {
    if grant.action() != action {
        return Err(StoreError::Corrupt(
            "a grant for another action was used on alarms".into(),
        ));
    }
    let tenant = grant
        .account()
        .tenant()
        .ok_or(StoreError::UnknownReference("tenant of the grant"))?;
    Ok((tenant, grant.person()))
}

fn acting_staff(grant: &Grant) -> Result<StaffId> {
    match grant.account() {
        Account::Staff { staff, .. } => Ok(*staff),
        _ => Err(StoreError::Corrupt(
            "only staff handle alarms; the grant is not a staff member's".into(),
        )),
    }
}

impl Store {
    /// The alarms of the person the grant is for, newest first. The read is
    /// audited before anything is returned.
    pub async fn person_alarms(&self, grant: &Grant) -> Result<Vec<AlarmRecord>> {
        let (tenant, person) = grant_parts(grant, Action::Read(Part::Alarms))?;
        let key = self.person_key(tenant, person).await?;
        self.record_access(grant).await?;
        let rows = sqlx::query(
            "SELECT id, kind, state, ref, status_code, priority, request, received_at, repeats, \
             taken_by, taken_at, dispatched_to, dispatched_at, on_site_at, closed_by, closed_at, \
             close_note, escalated_at, checked_out_at FROM alarms WHERE tenant_id = $1 AND person_id = $2 \
             ORDER BY received_at DESC, id DESC",
        )
        .bind(tenant.to_string())
        .bind(person.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: AlarmId = id_col(row, "id")?;
                let f = Fields::new(&key, "alarms", id);
                let at = |col: &str| -> Result<Option<OffsetDateTime>> {
                    row.try_get::<Option<i64>, _>(col)?.map(from_ms).transpose()
                };
                let pair = |who: &str, when: &str| -> Result<Option<(StaffId, OffsetDateTime)>> {
                    Ok(opt_uuid_col::<StaffId>(row, who)?.zip(at(when)?))
                };
                let note =
                    f.parse_opt("close_note", row.try_get("close_note")?, FreeText::parse)?;
                let closed = pair("closed_by", "closed_at")?
                    .zip(note)
                    .map(|((who, when), note)| (who, when, note));
                Ok(AlarmRecord {
                    id,
                    kind: row.try_get("kind")?,
                    state: AlarmState::parse(&row.try_get::<String, _>("state")?)?,
                    reference: row.try_get("ref")?,
                    status_code: row
                        .try_get::<Option<i64>, _>("status_code")?
                        .and_then(|c| u16::try_from(c).ok()),
                    priority: row
                        .try_get::<Option<i64>, _>("priority")?
                        .and_then(|p| u8::try_from(p).ok()),
                    request: f.open("request", row.try_get("request")?)?,
                    received_at: from_ms(row.try_get("received_at")?)?,
                    repeats: row.try_get("repeats")?,
                    taken: pair("taken_by", "taken_at")?,
                    dispatched: pair("dispatched_to", "dispatched_at")?,
                    on_site_at: at("on_site_at")?,
                    closed,
                    escalated_at: at("escalated_at")?,
                    checked_out_at: at("checked_out_at")?,
                })
            })
            .collect()
    }

    /// The persons with open (not closed) alarms or technical alarms (status
    /// messages ask no one to act) answered by one of
    /// `units`, each once: those with an alarm nobody has taken first, then
    /// by their oldest open alarm. Ids only: what the queue shows of each
    /// is read under that person's own grant.
    pub async fn open_alarm_persons(
        &self,
        tenant: TenantId,
        units: &[trygg_domain::UnitId],
    ) -> Result<Vec<PersonId>> {
        let rows = sqlx::query(
            "SELECT person_id, unit_id, state FROM alarms \
             WHERE tenant_id = $1 AND state <> 'closed' AND kind <> 'status' \
             ORDER BY received_at, id",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut untaken = Vec::new();
        let mut taken = Vec::new();
        for row in &rows {
            let unit: trygg_domain::UnitId = id_col(row, "unit_id")?;
            if !units.contains(&unit) {
                continue;
            }
            let person: PersonId = id_col(row, "person_id")?;
            let state: String = row.try_get("state")?;
            let list = if state == "received" {
                &mut untaken
            } else {
                &mut taken
            };
            if !list.contains(&person) {
                list.push(person);
            }
        }
        taken.retain(|p| !untaken.contains(p));
        untaken.extend(taken);
        Ok(untaken)
    }

    /// The persons whose open alarms `staff` was sent to, the longest
    /// waiting first (ids only; each is read under its own grant).
    pub async fn persons_with_alarms_dispatched_to(
        &self,
        tenant: TenantId,
        staff: StaffId,
    ) -> Result<Vec<PersonId>> {
        let rows = sqlx::query(
            "SELECT person_id FROM alarms WHERE tenant_id = $1 AND dispatched_to = $2 \
             AND state IN ('dispatched', 'on_site') ORDER BY dispatched_at, id",
        )
        .bind(tenant.to_string())
        .bind(staff.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut persons: Vec<PersonId> = Vec::new();
        for row in &rows {
            let person = id_col(row, "person_id")?;
            if !persons.contains(&person) {
                persons.push(person);
            }
        }
        Ok(persons)
    }

    /// A value that changes whenever an alarm of the tenant is received,
    /// repeated or moves a step (for live updates; no personal data).
    pub async fn alarms_fingerprint(&self, tenant: TenantId) -> Result<String> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(MAX(last_repeat_at), 0) AS BIGINT) AS r, \
             COUNT(taken_at) AS t, COUNT(dispatched_at) AS d, \
             CAST(COALESCE(MAX(dispatched_at), 0) AS BIGINT) AS dm, \
             COUNT(on_site_at) AS o, COUNT(closed_at) AS c, COUNT(escalated_at) AS e, \
             COUNT(checked_out_at) AS k FROM alarms WHERE tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_one(&self.pool)
        .await?;
        let mut parts = Vec::new();
        for col in ["n", "r", "t", "d", "dm", "o", "c", "e", "k"] {
            parts.push(row.try_get::<i64, _>(col)?.to_string());
        }
        Ok(parts.join("."))
    }

    /// Escalates the alarms (not technical or status messages) that nobody
    /// has taken within `after` of their arrival, once each; returns them.
    /// Run by the receiver's supervision, not by a person: no grant.
    pub async fn escalate_untaken(&self, after: time::Duration) -> Result<Vec<AlarmId>> {
        let now = self.clock.now();
        sqlx::query(
            "UPDATE alarms SET escalated_at = $1 \
             WHERE state = 'received' AND escalated_at IS NULL AND kind = 'alarm' \
             AND received_at < $2 RETURNING id",
        )
        .bind(ms(now))
        .bind(ms(now - after))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| id_col(row, "id"))
        .collect()
    }

    /// The device reports staff on site (SCAIP 0088, presence upon alarm):
    /// its latest alarm that staff were sent to, or that was taken, moves on
    /// site. Returns the alarm, if there was one. Done by the device, not a
    /// person: no grant.
    pub async fn device_reports_presence(
        &self,
        device: trygg_domain::DeviceId,
    ) -> Result<Option<AlarmId>> {
        let now = ms(self.clock.now());
        sqlx::query(
            "UPDATE alarms SET state = 'on_site', on_site_at = $1 WHERE id = \
             (SELECT id FROM alarms WHERE device_id = $2 AND kind = 'alarm' \
              AND state IN ('taken', 'dispatched') ORDER BY received_at DESC, id DESC LIMIT 1) \
             RETURNING id",
        )
        .bind(now)
        .bind(device.to_string())
        .fetch_optional(&self.pool)
        .await?
        .map(|row| id_col(&row, "id"))
        .transpose()
    }

    /// The device reports check-out (SCAIP 0111, intervention complete):
    /// its latest open alarm that someone is handling is marked checked
    /// out; it stays open until staff close it with a note.
    pub async fn device_reports_check_out(
        &self,
        device: trygg_domain::DeviceId,
    ) -> Result<Option<AlarmId>> {
        let now = ms(self.clock.now());
        sqlx::query(
            "UPDATE alarms SET checked_out_at = $1 WHERE id = \
             (SELECT id FROM alarms WHERE device_id = $2 AND kind = 'alarm' \
              AND state IN ('taken', 'dispatched', 'on_site') AND checked_out_at IS NULL \
              ORDER BY received_at DESC, id DESC LIMIT 1) \
             RETURNING id",
        )
        .bind(now)
        .bind(device.to_string())
        .fetch_optional(&self.pool)
        .await?
        .map(|row| id_col(&row, "id"))
        .transpose()
    }

    /// The operator the grant is for takes a received alarm.
    pub async fn take_alarm(&self, grant: &Grant, alarm: AlarmId) -> Result<()> {
        let staff = acting_staff(grant)?;
        self.step(grant, alarm, Step::Take(staff)).await
    }

    /// Sends home-care staff member `to` to the person (again, if the first
    /// could not go).
    pub async fn dispatch_alarm(&self, grant: &Grant, alarm: AlarmId, to: StaffId) -> Result<()> {
        let (tenant, _) = grant_parts(grant, Action::Write(Part::Alarms))?;
        let known = sqlx::query("SELECT 1 FROM staff WHERE id = $1 AND tenant_id = $2")
            .bind(to.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?;
        if known.is_none() {
            self.record_failure(grant, "unknown_staff").await?;
            return Err(StoreError::UnknownReference("staff member"));
        }
        self.step(grant, alarm, Step::Dispatch(to)).await
    }

    /// Staff are with the person (SCAIP 0088, or the staff member says so).
    pub async fn alarm_on_site(&self, grant: &Grant, alarm: AlarmId) -> Result<()> {
        self.step(grant, alarm, Step::OnSite).await
    }

    /// Closes a handled alarm with a note (sealed under the person's key).
    pub async fn close_alarm(&self, grant: &Grant, alarm: AlarmId, note: &FreeText) -> Result<()> {
        let (tenant, person) = grant_parts(grant, Action::Write(Part::Alarms))?;
        let staff = acting_staff(grant)?;
        let key = self.person_key(tenant, person).await?;
        let sealed = Fields::new(&key, "alarms", alarm).seal("close_note", note.as_str())?;
        let mut tx = self.begin().await?;
        self.record_access_in(&mut tx.tx, grant, None).await?;
        let done = sqlx::query(
            "UPDATE alarms SET state = 'closed', closed_by = $4, closed_at = $5, close_note = $6 \
             WHERE id = $1 AND tenant_id = $2 AND person_id = $3 \
             AND state IN ('taken', 'dispatched', 'on_site')",
        )
        .bind(alarm.to_string())
        .bind(tenant.to_string())
        .bind(person.to_string())
        .bind(staff.to_string())
        .bind(ms(self.clock.now()))
        .bind(sealed)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if done != 1 {
            // Roll back before the failure is audited, which needs the lock.
            tx.tx.rollback().await?;
            return Err(self.failed(grant, alarm, tenant, person, "closed").await);
        }
        tx.commit().await?;
        Ok(())
    }

    /// One step of the workflow, for the grant's person's alarm, from the
    /// states the step applies to.
    async fn step(&self, grant: &Grant, alarm: AlarmId, step: Step) -> Result<()> {
        let (tenant, person) = grant_parts(grant, Action::Write(Part::Alarms))?;
        let now = ms(self.clock.now());
        let mut tx = self.begin().await?;
        self.record_access_in(&mut tx.tx, grant, None).await?;
        let query = match step {
            Step::Take(staff) => sqlx::query(
                "UPDATE alarms SET state = 'taken', taken_by = $4, taken_at = $5 \
                 WHERE id = $1 AND tenant_id = $2 AND person_id = $3 AND state = 'received'",
            )
            .bind(alarm.to_string())
            .bind(tenant.to_string())
            .bind(person.to_string())
            .bind(staff.to_string())
            .bind(now),
            Step::Dispatch(to) => sqlx::query(
                "UPDATE alarms SET state = 'dispatched', dispatched_to = $4, dispatched_at = $5 \
                 WHERE id = $1 AND tenant_id = $2 AND person_id = $3 \
                 AND state IN ('taken', 'dispatched') \
                 AND EXISTS (SELECT 1 FROM staff WHERE id = $4 AND tenant_id = $2)",
            )
            .bind(alarm.to_string())
            .bind(tenant.to_string())
            .bind(person.to_string())
            .bind(to.to_string())
            .bind(now),
            Step::OnSite => sqlx::query(
                "UPDATE alarms SET state = 'on_site', on_site_at = $4 \
                 WHERE id = $1 AND tenant_id = $2 AND person_id = $3 AND state = 'dispatched'",
            )
            .bind(alarm.to_string())
            .bind(tenant.to_string())
            .bind(person.to_string())
            .bind(now),
        };
        let done = query.execute(&mut *tx.tx).await?.rows_affected();
        if done != 1 {
            // Roll back before the failure is audited, which needs the lock.
            tx.tx.rollback().await?;
            return Err(self.failed(grant, alarm, tenant, person, step.what()).await);
        }
        tx.commit().await?;
        Ok(())
    }

    /// A step that changed nothing (its transaction rolled back): why, and
    /// the attempt audited as a failure.
    async fn failed(
        &self,
        grant: &Grant,
        alarm: AlarmId,
        tenant: TenantId,
        person: PersonId,
        what: &str,
    ) -> StoreError {
        let error = self.missing_or(alarm, tenant, person, what).await;
        let reason = match &error {
            StoreError::NotFound(_) => "not_found",
            StoreError::Conflict(_) => "wrong_state",
            _ => "failed",
        };
        match self.record_failure(grant, reason).await {
            Ok(()) => error,
            Err(audit) => audit,
        }
    }

    /// Why a step changed nothing: the alarm is not the person's (not
    /// found), or it is in another state (conflict).
    async fn missing_or(
        &self,
        alarm: AlarmId,
        tenant: TenantId,
        person: PersonId,
        what: &str,
    ) -> StoreError {
        let found =
            sqlx::query("SELECT 1 FROM alarms WHERE id = $1 AND tenant_id = $2 AND person_id = $3")
                .bind(alarm.to_string())
                .bind(tenant.to_string())
                .bind(person.to_string())
                .fetch_optional(&self.pool)
                .await;
        match found {
            Ok(Some(_)) => wrong_state(what),
            Ok(None) => StoreError::NotFound("alarm"),
            Err(e) => e.into(),
        }
    }
}
