//! The care record (care plans and visit notes, with history) and the facts
//! that decide access to it (care relationships, consents, blocks, emergency
//! access, relatives' grants).
//!
//! Every function that reads or writes a person's record takes a
//! [`Grant`]: only `trygg-policy` can make one, so code that has not asked for
//! a decision cannot reach the data. The grant must be for the exact action;
//! anything else is refused as a programming error.

use crate::org::id_col;
use crate::{Result, Store, StoreError, from_ms, ms};
use sqlx::Row as _;
use time::OffsetDateTime;
use trygg_crypto::DataKey;
use trygg_domain::{
    Action, ActiveCare, EmergencyAccess, FreeText, Part, PersonFacts, PersonId, RelativeId,
    StaffId, TenantId, UnitId,
};
use trygg_policy::Grant;

/// One version of a unit's care plan for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarePlan {
    /// The unit whose plan it is.
    pub owner_unit: UnitId,
    /// 1, 2, 3, …
    pub version: i64,
    /// The plan.
    pub text: FreeText,
    /// Who wrote this version.
    pub author: StaffId,
    /// When.
    pub written_at: OffsetDateTime,
}

/// One version of a visit note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitNote {
    /// The note.
    pub id: uuid::Uuid,
    /// The unit whose documentation it is.
    pub owner_unit: UnitId,
    /// 1, 2, 3, …
    pub version: i64,
    /// The text.
    pub text: FreeText,
    /// Who wrote this version.
    pub author: StaffId,
    /// When.
    pub written_at: OffsetDateTime,
}

/// An emergency access, for the follow-up list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyRecord {
    /// Id.
    pub id: uuid::Uuid,
    /// Whose data.
    pub person: PersonId,
    /// Who opened it.
    pub staff: StaffId,
    /// When.
    pub started_at: OffsetDateTime,
    /// Until when it held.
    pub until: OffsetDateTime,
    /// Followed up, if it has been.
    pub followed_up_at: Option<OffsetDateTime>,
}

fn refused(what: &'static str) -> StoreError {
    StoreError::Corrupt(format!("a grant for another action was used to {what}"))
}

impl Store {
    pub(crate) async fn person_key(&self, tenant: TenantId, person: PersonId) -> Result<DataKey> {
        Ok(self.person_key_and_id(tenant, person).await?.1)
    }

    /// The person's data key and its id (which an alarm's insert checks is
    /// still the person's: see [`crate::alarms`]).
    pub(crate) async fn person_key_and_id(
        &self,
        tenant: TenantId,
        person: PersonId,
    ) -> Result<(String, DataKey)> {
        let row = sqlx::query(
            "SELECT p.data_key_id, k.kek_id, k.wrapped FROM persons p \
             LEFT JOIN data_keys k ON k.id = p.data_key_id WHERE p.id = $1 AND p.tenant_id = $2",
        )
        .bind(person.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("person"))?;
        let key = self.row_key(&row, "person")?;
        let id: Option<String> = row.try_get("data_key_id")?;
        Ok((id.ok_or(StoreError::Erased("person"))?, key))
    }

    fn grant_tenant(grant: &Grant) -> Result<TenantId> {
        grant
            .account()
            .tenant()
            .ok_or(StoreError::UnknownReference("tenant of the grant"))
    }

    fn grant_for(
        grant: &Grant,
        action: Action,
        what: &'static str,
    ) -> Result<(TenantId, PersonId, UnitId)> {
        if grant.action() != action {
            return Err(refused(what));
        }
        let unit = grant.owner_unit().ok_or_else(|| refused(what))?;
        Ok((Self::grant_tenant(grant)?, grant.person(), unit))
    }

    /// Everything that decides access to a person's data, as it holds at `now`.
    pub async fn person_facts(
        &self,
        tenant: TenantId,
        person: PersonId,
        now: OffsetDateTime,
    ) -> Result<PersonFacts> {
        let p = sqlx::query(
            "SELECT protected_identity, erased_at FROM persons WHERE id = $1 AND tenant_id = $2",
        )
        .bind(person.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("person"))?;
        if p.try_get::<Option<i64>, _>("erased_at")?.is_some() {
            return Err(StoreError::Erased("person"));
        }
        let t = ms(now);
        let care = sqlx::query(
            "SELECT staff_id, unit_id FROM care_relationships WHERE person_id = $1 AND tenant_id = $2 \
             AND valid_from <= $3 AND (valid_until IS NULL OR valid_until > $3)",
        )
        .bind(person.to_string())
        .bind(tenant.to_string())
        .bind(t)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let staff: Option<StaffId> = crate::org::opt_uuid_col(row, "staff_id")?;
            let unit: Option<UnitId> = crate::org::opt_uuid_col(row, "unit_id")?;
            match (staff, unit) {
                (Some(s), None) => Ok(ActiveCare::Staff(s)),
                (None, Some(u)) => Ok(ActiveCare::Unit(u)),
                _ => Err(StoreError::Corrupt("care relationship without one party".into())),
            }
        })
        .collect::<Result<Vec<_>>>()?;
        let units = |sql: &'static str| async move {
            sqlx::query(sql)
                .bind(person.to_string())
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| id_col::<UnitId>(row, "unit_id"))
                .collect::<Result<Vec<_>>>()
        };
        let consents =
            units("SELECT unit_id FROM consents WHERE person_id = $1 AND withdrawn_at IS NULL")
                .await?;
        let blocked_units =
            units("SELECT unit_id FROM blocks WHERE person_id = $1 AND lifted_at IS NULL").await?;
        let emergency = sqlx::query(
            "SELECT staff_id, until FROM emergency_accesses WHERE person_id = $1 AND until > $2",
        )
        .bind(person.to_string())
        .bind(t)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(EmergencyAccess {
                staff: id_col(row, "staff_id")?,
                until: from_ms(row.try_get("until")?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let mut relative_grants: Vec<(RelativeId, Vec<Part>)> = Vec::new();
        for row in sqlx::query(
            "SELECT g.relative_id, g.part FROM relative_grants g JOIN relatives r ON r.id = g.relative_id \
             WHERE r.person_id = $1 ORDER BY g.relative_id, g.part",
        )
        .bind(person.to_string())
        .fetch_all(&self.pool)
        .await?
        {
            let relative: RelativeId = id_col(&row, "relative_id")?;
            let part = part_from(&row.try_get::<String, _>("part")?)?;
            match relative_grants.iter_mut().find(|(r, _)| *r == relative) {
                Some((_, parts)) => parts.push(part),
                None => relative_grants.push((relative, vec![part])),
            }
        }
        Ok(PersonFacts {
            person,
            tenant,
            protected_identity: p.try_get::<i64, _>("protected_identity")? != 0,
            care,
            consents,
            blocked_units,
            emergency,
            relative_grants,
        })
    }

    /// The latest version of the care plan the grant is for.
    pub async fn care_plan(&self, grant: &Grant) -> Result<Option<CarePlan>> {
        Ok(self.care_plan_history(grant).await?.into_iter().last())
    }

    /// Every version of the care plan the grant is for, oldest first.
    pub async fn care_plan_history(&self, grant: &Grant) -> Result<Vec<CarePlan>> {
        let (tenant, person, unit) =
            Self::grant_for(grant, Action::Read(Part::CarePlan), "read a care plan")?;
        let key = self.person_key(tenant, person).await?;
        self.record_access(grant).await?;
        sqlx::query(
            "SELECT version, body, author_id, created_at FROM care_plan_versions \
             WHERE person_id = $1 AND owner_unit_id = $2 AND tenant_id = $3 ORDER BY version",
        )
        .bind(person.to_string())
        .bind(unit.to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let version: i64 = row.try_get("version")?;
            let sealed: Vec<u8> = row.try_get("body")?;
            let text = key.open_string(
                &sealed,
                format!("care_plan_versions/{person}/{unit}/{version}/body").as_bytes(),
            )?;
            Ok(CarePlan {
                owner_unit: unit,
                version,
                text: FreeText::parse(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                author: id_col(row, "author_id")?,
                written_at: from_ms(row.try_get("created_at")?)?,
            })
        })
        .collect()
    }

    /// Writes a new version of the care plan the grant is for; returns its number.
    pub async fn write_care_plan(
        &self,
        grant: &Grant,
        author: StaffId,
        text: &FreeText,
    ) -> Result<i64> {
        let (tenant, person, unit) =
            Self::grant_for(grant, Action::Write(Part::CarePlan), "write a care plan")?;
        let key = self.person_key(tenant, person).await?;
        let mut tx = self.begin().await?;
        self.record_access_in(&mut tx.tx, grant, None).await?;
        let version: i64 = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM care_plan_versions WHERE person_id = $1 AND owner_unit_id = $2",
        )
        .bind(person.to_string())
        .bind(unit.to_string())
        .fetch_one(&mut *tx.tx)
        .await?
        .try_get(0)?;
        let sealed = key.seal_str(
            text.as_str(),
            format!("care_plan_versions/{person}/{unit}/{version}/body").as_bytes(),
        )?;
        sqlx::query(
            "INSERT INTO care_plan_versions (person_id, owner_unit_id, version, tenant_id, body, author_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(person.to_string())
        .bind(unit.to_string())
        .bind(version)
        .bind(tenant.to_string())
        .bind(sealed)
        .bind(author.to_string())
        .bind(ms(self.clock.now()))
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// The latest version of each visit note of the unit the grant is for, newest first.
    pub async fn visit_notes(&self, grant: &Grant) -> Result<Vec<VisitNote>> {
        let (tenant, person, unit) =
            Self::grant_for(grant, Action::Read(Part::VisitNotes), "read visit notes")?;
        let key = self.person_key(tenant, person).await?;
        self.record_access(grant).await?;
        sqlx::query(
            "SELECT n.id, v.version, v.body, v.author_id, v.created_at FROM visit_notes n \
             JOIN visit_note_versions v ON v.note_id = n.id \
             WHERE n.person_id = $1 AND n.owner_unit_id = $2 AND n.tenant_id = $3 \
             AND v.version = (SELECT MAX(version) FROM visit_note_versions WHERE note_id = n.id) \
             ORDER BY n.created_at DESC, n.id DESC",
        )
        .bind(person.to_string())
        .bind(unit.to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| note_from(row, &key, unit))
        .collect()
    }

    /// Every version of one visit note, oldest first.
    pub async fn visit_note_history(
        &self,
        grant: &Grant,
        note: uuid::Uuid,
    ) -> Result<Vec<VisitNote>> {
        let (tenant, person, unit) =
            Self::grant_for(grant, Action::Read(Part::VisitNotes), "read visit notes")?;
        let key = self.person_key(tenant, person).await?;
        let rows = sqlx::query(
            "SELECT n.id, v.version, v.body, v.author_id, v.created_at FROM visit_notes n \
             JOIN visit_note_versions v ON v.note_id = n.id \
             WHERE n.id = $1 AND n.person_id = $2 AND n.owner_unit_id = $3 AND n.tenant_id = $4 ORDER BY v.version",
        )
        .bind(note.to_string())
        .bind(person.to_string())
        .bind(unit.to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            self.record_failure(grant, "not_found").await?;
            return Err(StoreError::NotFound("visit note"));
        }
        self.record_access(grant).await?;
        rows.iter().map(|row| note_from(row, &key, unit)).collect()
    }

    /// Adds a visit note (version 1) or, with `note`, a new version of it.
    pub async fn write_visit_note(
        &self,
        grant: &Grant,
        note: Option<uuid::Uuid>,
        author: StaffId,
        text: &FreeText,
    ) -> Result<(uuid::Uuid, i64)> {
        let (tenant, person, unit) =
            Self::grant_for(grant, Action::Write(Part::VisitNotes), "write a visit note")?;
        let key = self.person_key(tenant, person).await?;
        let now = ms(self.clock.now());
        let mut tx = self.begin().await?;
        self.record_access_in(&mut tx.tx, grant, None).await?;
        let (id, version) = match note {
            None => {
                let id = trygg_domain::ids::new_v7(self.clock.as_ref());
                sqlx::query(
                    "INSERT INTO visit_notes (id, tenant_id, person_id, owner_unit_id, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id.to_string())
                .bind(tenant.to_string())
                .bind(person.to_string())
                .bind(unit.to_string())
                .bind(now)
                .execute(&mut *tx.tx)
                .await?;
                (id, 1)
            }
            Some(id) => {
                let row = sqlx::query(
                    "SELECT COALESCE(MAX(v.version), 0) + 1 FROM visit_notes n JOIN visit_note_versions v ON v.note_id = n.id \
                     WHERE n.id = $1 AND n.person_id = $2 AND n.owner_unit_id = $3 AND n.tenant_id = $4",
                )
                .bind(id.to_string())
                .bind(person.to_string())
                .bind(unit.to_string())
                .bind(tenant.to_string())
                .fetch_one(&mut *tx.tx)
                .await?;
                let version: i64 = row.try_get(0)?;
                if version == 1 {
                    drop(tx);
                    self.record_failure(grant, "not_found").await?;
                    return Err(StoreError::NotFound("visit note"));
                }
                (id, version)
            }
        };
        let sealed = key.seal_str(
            text.as_str(),
            format!("visit_note_versions/{id}/{version}/body").as_bytes(),
        )?;
        sqlx::query(
            "INSERT INTO visit_note_versions (note_id, version, body, author_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(version)
        .bind(sealed)
        .bind(author.to_string())
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok((id, version))
    }

    /// Opens an emergency access: the reason is sealed under the person's key;
    /// it holds until `until` and stays on the follow-up list until reviewed.
    pub async fn begin_emergency_access(
        &self,
        grant: &Grant,
        staff: StaffId,
        reason: &FreeText,
        until: OffsetDateTime,
    ) -> Result<uuid::Uuid> {
        if grant.action() != Action::BeginEmergencyAccess {
            return Err(refused("begin an emergency access"));
        }
        let tenant = Self::grant_tenant(grant)?;
        let person = grant.person();
        let key = self.person_key(tenant, person).await?;
        let id = trygg_domain::ids::new_v7(self.clock.as_ref());
        let sealed = key.seal_str(
            reason.as_str(),
            format!("emergency_accesses/{id}/reason").as_bytes(),
        )?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO emergency_accesses (id, tenant_id, person_id, staff_id, reason, started_at, until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(person.to_string())
        .bind(staff.to_string())
        .bind(sealed)
        .bind(ms(self.clock.now()))
        .bind(ms(until))
        .execute(&mut *tx.tx)
        .await?;
        // The log carries the reason too (sealed), so a review sees it.
        self.record_access_in(&mut tx.tx, grant, Some((&key, reason.as_str())))
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Emergency accesses not yet followed up, oldest first.
    pub async fn emergency_follow_up_list(&self, tenant: TenantId) -> Result<Vec<EmergencyRecord>> {
        sqlx::query(
            "SELECT id, person_id, staff_id, started_at, until, followed_up_at FROM emergency_accesses \
             WHERE tenant_id = $1 AND followed_up_at IS NULL ORDER BY started_at",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let followed: Option<i64> = row.try_get("followed_up_at")?;
            Ok(EmergencyRecord {
                id: id.parse().map_err(|_| StoreError::Corrupt("emergency id".into()))?,
                person: id_col(row, "person_id")?,
                staff: id_col(row, "staff_id")?,
                started_at: from_ms(row.try_get("started_at")?)?,
                until: from_ms(row.try_get("until")?)?,
                followed_up_at: followed.map(from_ms).transpose()?,
            })
        })
        .collect()
    }

    /// Records the follow-up of an emergency access: the grant must be for
    /// a unit the staff member who opened it holds a role in.
    pub async fn follow_up_emergency_access(
        &self,
        grant: &trygg_policy::AdminGrant,
        id: uuid::Uuid,
        by: StaffId,
        note: &FreeText,
    ) -> Result<()> {
        if grant.action() != trygg_domain::AdminAction::FollowUpEmergency {
            return Err(refused("follow up an emergency access"));
        }
        let tenant = grant.tenant();
        let row = sqlx::query(
            "SELECT person_id FROM emergency_accesses WHERE id = $1 AND tenant_id = $2 \
             AND staff_id IN (SELECT staff_id FROM role_assignments WHERE unit_id = $3)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(grant.unit().to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("emergency access"))?;
        let person: PersonId = id_col(&row, "person_id")?;
        let key = self.person_key(tenant, person).await?;
        let sealed = key.seal_str(
            note.as_str(),
            format!("emergency_accesses/{id}/follow_up_note").as_bytes(),
        )?;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE emergency_accesses SET followed_up_at = $1, followed_up_by = $2, follow_up_note = $3 \
             WHERE id = $4 AND followed_up_at IS NULL",
        )
        .bind(ms(self.clock.now()))
        .bind(by.to_string())
        .bind(sealed)
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Duplicate(
                "this emergency access has been followed up already".into(),
            ));
        }
        self.record_admin_in(&mut tx.tx, grant, Some(person))
            .await?;
        tx.commit().await
    }

    /// Records the person's consent that `unit` may reach other units' documentation.
    pub async fn record_consent(
        &self,
        tenant: TenantId,
        person: PersonId,
        unit: UnitId,
    ) -> Result<()> {
        self.person_unit_row("INSERT INTO consents (id, tenant_id, person_id, unit_id, given_at) VALUES ($1, $2, $3, $4, $5)", tenant, person, unit).await
    }

    /// Records the person's block of `unit`'s documentation from every other unit.
    pub async fn record_block(
        &self,
        tenant: TenantId,
        person: PersonId,
        unit: UnitId,
    ) -> Result<()> {
        self.person_unit_row("INSERT INTO blocks (id, tenant_id, person_id, unit_id, created_at) VALUES ($1, $2, $3, $4, $5)", tenant, person, unit).await
    }

    async fn person_unit_row(
        &self,
        sql: &'static str,
        tenant: TenantId,
        person: PersonId,
        unit: UnitId,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        crate::org::check_unit_in_tenant(&mut tx.tx, tenant, unit, "unit").await?;
        sqlx::query("SELECT 1 FROM persons WHERE id = $1 AND tenant_id = $2")
            .bind(person.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&mut *tx.tx)
            .await?
            .ok_or(StoreError::UnknownReference("person"))?;
        sqlx::query(sql)
            .bind(trygg_domain::ids::new_v7(self.clock.as_ref()).to_string())
            .bind(tenant.to_string())
            .bind(person.to_string())
            .bind(unit.to_string())
            .bind(ms(self.clock.now()))
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    /// Grants a relative access to parts of the person's data.
    pub async fn grant_relative(
        &self,
        tenant: TenantId,
        relative: RelativeId,
        parts: &[Part],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT 1 FROM relatives WHERE id = $1 AND tenant_id = $2")
            .bind(relative.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&mut *tx.tx)
            .await?
            .ok_or(StoreError::UnknownReference("relative"))?;
        for part in parts {
            sqlx::query(
                "INSERT INTO relative_grants (relative_id, part, granted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(relative.to_string())
            .bind(part_str(*part))
            .bind(ms(self.clock.now()))
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await
    }
}

fn note_from(row: &sqlx::any::AnyRow, key: &DataKey, unit: UnitId) -> Result<VisitNote> {
    let id: String = row.try_get("id")?;
    let version: i64 = row.try_get("version")?;
    let sealed: Vec<u8> = row.try_get("body")?;
    let text = key.open_string(
        &sealed,
        format!("visit_note_versions/{id}/{version}/body").as_bytes(),
    )?;
    Ok(VisitNote {
        id: id
            .parse()
            .map_err(|_| StoreError::Corrupt("note id".into()))?,
        owner_unit: unit,
        version,
        text: FreeText::parse(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        author: id_col(row, "author_id")?,
        written_at: from_ms(row.try_get("created_at")?)?,
    })
}

fn part_str(part: Part) -> &'static str {
    match part {
        Part::Overview => "overview",
        Part::Contact => "contact",
        Part::CarePlan => "care_plan",
        Part::VisitNotes => "visit_notes",
        Part::Alarms => "alarms",
    }
}

fn part_from(s: &str) -> Result<Part> {
    Part::ALL
        .into_iter()
        .find(|p| part_str(*p) == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown part {s:?}")))
}
