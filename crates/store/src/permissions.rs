//! Permission administration: role assignments and care relationships
//! granted and ended by a unit manager, each resting on a needs-and-risk
//! analysis and due for periodic review; and the follow-up of emergency
//! accesses.
//!
//! Every function takes an [`AdminGrant`] for the exact change, in the unit
//! it concerns: only `trygg-policy` can make one. Roles and care
//! relationships are read from the store on every request, so a change here
//! takes effect on the holder's next request.

use crate::org::{id_col, opt_uuid_col};
use crate::{Result, Store, StoreError, from_ms, ms};
use sqlx::Row as _;
use time::OffsetDateTime;
use trygg_domain::{
    AdminAction, AnalysisRef, CareParty, CareRelationshipId, FreeText, Period, PersonId, Role,
    StaffId, TenantId, UnitId,
};
use trygg_policy::AdminGrant;

/// A role assignment, for the review list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    /// Who holds it.
    pub staff: StaffId,
    /// The role.
    pub role: Role,
    /// The analysis it rests on (`None` for assignments made before the
    /// reference was required, or from the command line).
    pub analysis_ref: Option<String>,
    /// Who granted it (`None`: the command line or an import).
    pub granted_by: Option<StaffId>,
    /// Since when.
    pub since: OffsetDateTime,
    /// When it is due for review (`None`: never reviewed, due now).
    pub review_due_at: Option<OffsetDateTime>,
}

/// A care relationship, for the review list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareRow {
    /// Id.
    pub id: CareRelationshipId,
    /// With whom.
    pub person: PersonId,
    /// The unit, or the staff member directly.
    pub party: CareParty,
    /// The analysis it rests on.
    pub analysis_ref: Option<String>,
    /// Since when.
    pub since: OffsetDateTime,
    /// When it is due for review.
    pub review_due_at: Option<OffsetDateTime>,
}

/// An emergency access as its follow-up sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyDetail {
    /// Id.
    pub id: uuid::Uuid,
    /// Whose data.
    pub person: PersonId,
    /// Their name (the follow-up must know whose data was opened).
    pub person_name: String,
    /// Who opened it.
    pub staff: StaffId,
    /// The reason they gave.
    pub reason: FreeText,
    /// When.
    pub started_at: OffsetDateTime,
    /// Until when it held.
    pub until: OffsetDateTime,
}

fn refused(what: &'static str) -> StoreError {
    StoreError::Corrupt(format!(
        "an administration grant for another change was used to {what}"
    ))
}

pub(crate) fn expect(grant: &AdminGrant, action: AdminAction, what: &'static str) -> Result<()> {
    if grant.action() == action {
        Ok(())
    } else {
        Err(refused(what))
    }
}

impl Store {
    /// Gives `staff` the grant's role in the grant's unit, resting on
    /// `analysis`, granted by `by`, to be reviewed by `review_due`.
    pub async fn grant_role(
        &self,
        grant: &AdminGrant,
        staff: StaffId,
        analysis: &AnalysisRef,
        by: StaffId,
        review_due: OffsetDateTime,
    ) -> Result<()> {
        let AdminAction::AssignRole(role) = grant.action() else {
            return Err(refused("assign a role"));
        };
        let mut tx = self.begin().await?;
        crate::people::check_staff_in_tenant(&mut tx.tx, grant.tenant(), staff).await?;
        let done = sqlx::query(
            "INSERT INTO role_assignments (staff_id, unit_id, role, created_at, analysis_ref, granted_by, review_due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(staff.to_string())
        .bind(grant.unit().to_string())
        .bind(role.as_str())
        .bind(ms(self.clock.now()))
        .bind(analysis.as_str())
        .bind(by.to_string())
        .bind(ms(review_due))
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Duplicate(format!(
                "the staff member already has the role {role} in this unit"
            )));
        }
        self.record_admin_in(&mut tx.tx, grant, None).await?;
        tx.commit().await
    }

    /// Takes the grant's role in the grant's unit from `staff`.
    pub async fn end_role(&self, grant: &AdminGrant, staff: StaffId) -> Result<()> {
        let AdminAction::EndRole(role) = grant.action() else {
            return Err(refused("end a role"));
        };
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "DELETE FROM role_assignments WHERE staff_id = $1 AND unit_id = $2 AND role = $3 \
             AND unit_id IN (SELECT id FROM units WHERE tenant_id = $4)",
        )
        .bind(staff.to_string())
        .bind(grant.unit().to_string())
        .bind(role.as_str())
        .bind(grant.tenant().to_string())
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("role assignment"));
        }
        self.record_admin_in(&mut tx.tx, grant, None).await?;
        tx.commit().await
    }

    /// Adds a care relationship from now between `person` and the grant's
    /// unit, or a staff member who holds a role in it.
    pub async fn grant_care(
        &self,
        grant: &AdminGrant,
        person: PersonId,
        party: CareParty,
        analysis: &AnalysisRef,
        by: StaffId,
        review_due: OffsetDateTime,
    ) -> Result<CareRelationshipId> {
        expect(grant, AdminAction::ManageCare, "add a care relationship")?;
        let unit = grant.unit();
        let mut tx = self.begin().await?;
        match party {
            CareParty::Unit(u) if u != unit => {
                return Err(refused("add another unit's care relationship"));
            }
            CareParty::Unit(_) => {}
            CareParty::Staff(s) => {
                sqlx::query("SELECT 1 FROM role_assignments WHERE staff_id = $1 AND unit_id = $2")
                    .bind(s.to_string())
                    .bind(unit.to_string())
                    .fetch_optional(&mut *tx.tx)
                    .await?
                    .ok_or(StoreError::UnknownReference("staff member of the unit"))?;
            }
        }
        let now = self.clock.now();
        let period = Period::new(now, None).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id = tx
            .add_care_relationship(grant.tenant(), person, party, period)
            .await?;
        sqlx::query(
            "UPDATE care_relationships SET analysis_ref = $1, granted_by = $2, review_due_at = $3, admin_unit_id = $4 \
             WHERE id = $5",
        )
        .bind(analysis.as_str())
        .bind(by.to_string())
        .bind(ms(review_due))
        .bind(unit.to_string())
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await?;
        self.record_admin_in(&mut tx.tx, grant, Some(person))
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Ends a care relationship of the grant's unit now.
    pub async fn end_care(
        &self,
        grant: &AdminGrant,
        id: CareRelationshipId,
        by: StaffId,
    ) -> Result<()> {
        expect(grant, AdminAction::ManageCare, "end a care relationship")?;
        let now = ms(self.clock.now());
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE care_relationships SET valid_until = $1, ended_by = $2 \
             WHERE id = $3 AND tenant_id = $4 AND (unit_id = $5 OR admin_unit_id = $5) \
             AND valid_from < $1 AND (valid_until IS NULL OR valid_until > $1)",
        )
        .bind(now)
        .bind(by.to_string())
        .bind(id.to_string())
        .bind(grant.tenant().to_string())
        .bind(grant.unit().to_string())
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("care relationship in force"));
        }
        let person: PersonId = id_col(
            &sqlx::query("SELECT person_id FROM care_relationships WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(&mut *tx.tx)
                .await?,
            "person_id",
        )?;
        self.record_admin_in(&mut tx.tx, grant, Some(person))
            .await?;
        tx.commit().await
    }

    /// The grant's unit's role assignments and care relationships in force,
    /// those due for review first (never reviewed before everything else).
    pub async fn review_list(
        &self,
        grant: &AdminGrant,
    ) -> Result<(Vec<AssignmentRow>, Vec<CareRow>)> {
        expect(grant, AdminAction::Review, "list assignments")?;
        let mut conn = self.pool.acquire().await?;
        self.record_admin_in(&mut conn, grant, None).await?;
        drop(conn);
        let unit = grant.unit().to_string();
        let roles = sqlx::query(
            "SELECT r.staff_id, r.role, r.analysis_ref, r.granted_by, r.created_at, r.review_due_at \
             FROM role_assignments r JOIN units u ON u.id = r.unit_id \
             WHERE r.unit_id = $1 AND u.tenant_id = $2",
        )
        .bind(&unit)
        .bind(grant.tenant().to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let role: String = row.try_get("role")?;
            let due: Option<i64> = row.try_get("review_due_at")?;
            Ok(AssignmentRow {
                staff: id_col(row, "staff_id")?,
                role: role.parse().map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?,
                analysis_ref: row.try_get("analysis_ref")?,
                granted_by: opt_uuid_col(row, "granted_by")?,
                since: from_ms(row.try_get("created_at")?)?,
                review_due_at: due.map(from_ms).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let now = ms(self.clock.now());
        let care = sqlx::query(
            "SELECT id, person_id, staff_id, unit_id, analysis_ref, valid_from, review_due_at FROM care_relationships \
             WHERE tenant_id = $1 AND (unit_id = $2 OR admin_unit_id = $2) \
             AND (valid_until IS NULL OR valid_until > $3)",
        )
        .bind(grant.tenant().to_string())
        .bind(&unit)
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let party = match (opt_uuid_col(row, "staff_id")?, opt_uuid_col(row, "unit_id")?) {
                (Some(s), None) => CareParty::Staff(s),
                (None, Some(u)) => CareParty::Unit(u),
                _ => return Err(StoreError::Corrupt("care relationship without one party".into())),
            };
            let due: Option<i64> = row.try_get("review_due_at")?;
            Ok(CareRow {
                id: id_col(row, "id")?,
                person: id_col(row, "person_id")?,
                party,
                analysis_ref: row.try_get("analysis_ref")?,
                since: from_ms(row.try_get("valid_from")?)?,
                review_due_at: due.map(from_ms).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let mut roles = roles;
        let mut care = care;
        roles.sort_by_key(|r| (r.review_due_at, r.since));
        care.sort_by_key(|c| (c.review_due_at, c.since));
        Ok((roles, care))
    }

    /// Records the review of a role assignment in the grant's unit, with
    /// the analysis it now rests on, and when it is next due.
    pub async fn review_role(
        &self,
        grant: &AdminGrant,
        staff: StaffId,
        role: Role,
        analysis: &AnalysisRef,
        next_due: OffsetDateTime,
    ) -> Result<()> {
        expect(grant, AdminAction::Review, "review a role assignment")?;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE role_assignments SET review_due_at = $1, analysis_ref = $2 \
             WHERE staff_id = $3 AND unit_id = $4 AND role = $5 \
             AND unit_id IN (SELECT id FROM units WHERE tenant_id = $6)",
        )
        .bind(ms(next_due))
        .bind(analysis.as_str())
        .bind(staff.to_string())
        .bind(grant.unit().to_string())
        .bind(role.as_str())
        .bind(grant.tenant().to_string())
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("role assignment"));
        }
        self.record_admin_in(&mut tx.tx, grant, None).await?;
        tx.commit().await
    }

    /// Records the review of a care relationship of the grant's unit.
    pub async fn review_care(
        &self,
        grant: &AdminGrant,
        id: CareRelationshipId,
        analysis: &AnalysisRef,
        next_due: OffsetDateTime,
    ) -> Result<()> {
        expect(grant, AdminAction::Review, "review a care relationship")?;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE care_relationships SET review_due_at = $1, analysis_ref = $2 \
             WHERE id = $3 AND tenant_id = $4 AND (unit_id = $5 OR admin_unit_id = $5)",
        )
        .bind(ms(next_due))
        .bind(analysis.as_str())
        .bind(id.to_string())
        .bind(grant.tenant().to_string())
        .bind(grant.unit().to_string())
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("care relationship"));
        }
        self.record_admin_in(&mut tx.tx, grant, None).await?;
        tx.commit().await
    }

    /// The units a staff member holds a role in (no personal data): an
    /// emergency access is followed up in these units.
    pub async fn units_of(&self, tenant: TenantId, staff: StaffId) -> Result<Vec<UnitId>> {
        let mut units: Vec<UnitId> = sqlx::query(
            "SELECT DISTINCT r.unit_id FROM role_assignments r JOIN units u ON u.id = r.unit_id \
             WHERE r.staff_id = $1 AND u.tenant_id = $2",
        )
        .bind(staff.to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| id_col(row, "unit_id"))
        .collect::<Result<_>>()?;
        units.sort();
        Ok(units)
    }

    /// An emergency access with its reason, for its follow-up: the grant
    /// must be for a unit the staff member who opened it holds a role in.
    pub async fn emergency_detail(
        &self,
        grant: &AdminGrant,
        id: uuid::Uuid,
    ) -> Result<EmergencyDetail> {
        expect(
            grant,
            AdminAction::FollowUpEmergency,
            "read an emergency access",
        )?;
        let row = sqlx::query(
            "SELECT e.person_id, e.staff_id, e.reason, e.started_at, e.until FROM emergency_accesses e \
             WHERE e.id = $1 AND e.tenant_id = $2 \
             AND e.staff_id IN (SELECT staff_id FROM role_assignments WHERE unit_id = $3)",
        )
        .bind(id.to_string())
        .bind(grant.tenant().to_string())
        .bind(grant.unit().to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("emergency access"))?;
        let person: PersonId = id_col(&row, "person_id")?;
        let key = self.person_key(grant.tenant(), person).await?;
        let mut conn = self.pool.acquire().await?;
        self.record_admin_in(&mut conn, grant, Some(person)).await?;
        drop(conn);
        let sealed: Vec<u8> = row.try_get("reason")?;
        let reason = key.open_string(
            &sealed,
            format!("emergency_accesses/{id}/reason").as_bytes(),
        )?;
        // The grant to follow the access up is the justification for
        // reading the person's name without a care-record grant.
        let p = self.unsafe_person(grant.tenant(), person).await?;
        Ok(EmergencyDetail {
            id,
            person,
            person_name: format!("{} {}", p.details.given_name, p.details.family_name),
            staff: id_col(&row, "staff_id")?,
            reason: FreeText::parse(&reason).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            started_at: from_ms(row.try_get("started_at")?)?,
            until: from_ms(row.try_get("until")?)?,
        })
    }
}
