//! Tenants, units and role assignments (organisation data, not personal data).

use crate::error::constraint;
use crate::{Result, Store, StoreError, Tx, ms};
use sqlx::{AnyConnection, Row as _, any::AnyRow};
use trygg_domain::{
    HsaId, OrgNumber, Role, RoleAssignment, StaffId, Tenant, TenantId, TenantKind, Unit, UnitId,
};

pub(crate) fn id_col<T: std::str::FromStr>(row: &AnyRow, col: &str) -> Result<T> {
    let s: String = row.try_get(col)?;
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("{col} {s:?} is not an id")))
}

pub(crate) fn opt_uuid_col<T: std::str::FromStr>(row: &AnyRow, col: &str) -> Result<Option<T>> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| {
        s.parse()
            .map_err(|_| StoreError::Corrupt(format!("{col} {s:?} is not an id")))
    })
    .transpose()
}

fn tenant_from_row(row: &AnyRow) -> Result<Tenant> {
    let org: String = row.try_get("org_number")?;
    let kind: String = row.try_get("kind")?;
    Ok(Tenant {
        id: id_col(row, "id")?,
        name: row.try_get("name")?,
        org_number: OrgNumber::parse(&org).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        kind: kind.parse().map_err(StoreError::Corrupt)?,
    })
}

fn unit_from_row(row: &AnyRow) -> Result<Unit> {
    let hsa: Option<String> = row.try_get("hsa_id")?;
    Ok(Unit {
        id: id_col(row, "id")?,
        tenant: id_col(row, "tenant_id")?,
        parent: opt_uuid_col(row, "parent_id")?,
        name: row.try_get("name")?,
        hsa_id: hsa
            .map(|h| HsaId::parse(&h).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?,
    })
}

/// A unit with its depth in the tree, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitNode {
    /// The unit.
    pub unit: Unit,
    /// 0 for top-level units.
    pub depth: usize,
}

/// How much a tenant holds (no personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Units.
    pub units: i64,
    /// Staff members.
    pub staff: i64,
    /// Persons (not erased).
    pub persons: i64,
    /// Relatives.
    pub relatives: i64,
    /// Care relationships.
    pub care_relationships: i64,
}

pub(crate) async fn check_unit_in_tenant(
    conn: &mut AnyConnection,
    tenant: TenantId,
    unit: UnitId,
    what: &'static str,
) -> Result<()> {
    let found = sqlx::query("SELECT 1 FROM units WHERE id = $1 AND tenant_id = $2")
        .bind(unit.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    found.map(|_| ()).ok_or(StoreError::UnknownReference(what))
}

impl Tx<'_> {
    /// Adds a tenant (care provider or municipality).
    pub async fn add_tenant(
        &mut self,
        name: &str,
        org_number: &OrgNumber,
        kind: TenantKind,
    ) -> Result<Tenant> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(StoreError::Corrupt(
                "a tenant name has 1 to 200 characters".to_owned(),
            ));
        }
        let tenant = Tenant {
            id: TenantId::generate(self.store.clock.as_ref()),
            name: name.to_owned(),
            org_number: org_number.clone(),
            kind,
        };
        sqlx::query(
            "INSERT INTO tenants (id, name, org_number, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.id.to_string())
        .bind(&tenant.name)
        .bind(tenant.org_number.as_str())
        .bind(kind.as_str())
        .bind(ms(self.now()))
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            constraint(
                e,
                &format!("a tenant with organisation number {} already exists", org_number.as_str()),
                "tenant",
            )
        })?;
        Ok(tenant)
    }

    /// Adds a unit under `parent` (same tenant) or at the top.
    pub async fn add_unit(
        &mut self,
        tenant: TenantId,
        parent: Option<UnitId>,
        name: &str,
        hsa_id: Option<&HsaId>,
    ) -> Result<Unit> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(StoreError::Corrupt(
                "a unit name has 1 to 200 characters".to_owned(),
            ));
        }
        self.require_tenant(tenant).await?;
        if let Some(parent) = parent {
            check_unit_in_tenant(&mut self.tx, tenant, parent, "parent unit").await?;
        }
        let unit = Unit {
            id: UnitId::generate(self.store.clock.as_ref()),
            tenant,
            parent,
            name: name.to_owned(),
            hsa_id: hsa_id.cloned(),
        };
        sqlx::query(
            "INSERT INTO units (id, tenant_id, parent_id, name, hsa_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(unit.id.to_string())
        .bind(tenant.to_string())
        .bind(parent.map(|p| p.to_string()))
        .bind(&unit.name)
        .bind(hsa_id.map(|h| h.as_str().to_owned()))
        .bind(ms(self.now()))
        .execute(&mut *self.tx)
        .await
        .map_err(|e| constraint(e, &format!("a unit named {name:?} already exists"), "unit"))?;
        Ok(unit)
    }

    /// Gives a staff member a role in a unit of the same tenant.
    pub async fn assign_role(
        &mut self,
        tenant: TenantId,
        assignment: RoleAssignment,
    ) -> Result<()> {
        check_unit_in_tenant(&mut self.tx, tenant, assignment.unit, "unit").await?;
        crate::people::check_staff_in_tenant(&mut self.tx, tenant, assignment.staff).await?;
        sqlx::query(
            "INSERT INTO role_assignments (staff_id, unit_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(assignment.staff.to_string())
        .bind(assignment.unit.to_string())
        .bind(assignment.role.as_str())
        .bind(ms(self.now()))
        .execute(&mut *self.tx)
        .await?;
        // A change of roles takes effect at once: the staff member logs in again.
        sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
            .bind(assignment.staff.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub(crate) async fn require_tenant(&mut self, tenant: TenantId) -> Result<()> {
        sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
            .bind(tenant.to_string())
            .fetch_optional(&mut *self.tx)
            .await?
            .map(|_| ())
            .ok_or(StoreError::UnknownReference("tenant"))
    }
}

impl Store {
    /// Every tenant.
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        sqlx::query("SELECT id, name, org_number, kind FROM tenants ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(tenant_from_row)
            .collect()
    }

    /// A tenant by id or organisation number.
    pub async fn find_tenant(&self, key: &str) -> Result<Tenant> {
        let key = key.trim();
        let by_org = OrgNumber::parse(key).ok().map(|o| o.as_str().to_owned());
        let row = sqlx::query(
            "SELECT id, name, org_number, kind FROM tenants WHERE id = $1 OR org_number = $2",
        )
        .bind(key.to_lowercase())
        .bind(by_org.unwrap_or_default())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(tenant_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound("tenant"))
    }

    /// A tenant's units, depth-first in name order.
    pub async fn unit_tree(&self, tenant: TenantId) -> Result<Vec<UnitNode>> {
        let units: Vec<Unit> = sqlx::query(
            "SELECT id, tenant_id, parent_id, name, hsa_id FROM units WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(unit_from_row)
        .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(units.len());
        // Depth-first; a cycle cannot arise (a parent exists before its
        // children), and the depth is capped all the same.
        fn walk(units: &[Unit], parent: Option<UnitId>, depth: usize, out: &mut Vec<UnitNode>) {
            for u in units.iter().filter(|u| u.parent == parent) {
                out.push(UnitNode {
                    unit: u.clone(),
                    depth,
                });
                if depth < 64 {
                    walk(units, Some(u.id), depth + 1, out);
                }
            }
        }
        walk(&units, None, 0, &mut out);
        Ok(out)
    }

    /// A unit by id or by name within the tenant.
    pub async fn find_unit(&self, tenant: TenantId, key: &str) -> Result<Unit> {
        let key = key.trim();
        let row = sqlx::query(
            "SELECT id, tenant_id, parent_id, name, hsa_id FROM units \
             WHERE tenant_id = $1 AND (id = $2 OR name = $3)",
        )
        .bind(tenant.to_string())
        .bind(key.to_lowercase())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(unit_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound("unit"))
    }

    /// A staff member's roles.
    pub async fn roles_of(&self, staff: StaffId) -> Result<Vec<RoleAssignment>> {
        sqlx::query(
            "SELECT unit_id, role FROM role_assignments WHERE staff_id = $1 ORDER BY unit_id, role",
        )
        .bind(staff.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let role: String = row.try_get("role")?;
            Ok(RoleAssignment {
                staff,
                unit: id_col(row, "unit_id")?,
                role: role
                    .parse::<Role>()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        })
        .collect()
    }

    /// Counts of what a tenant holds.
    pub async fn counts(&self, tenant: TenantId) -> Result<Counts> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM units WHERE tenant_id = $1), \
               (SELECT COUNT(*) FROM staff WHERE tenant_id = $1), \
               (SELECT COUNT(*) FROM persons WHERE tenant_id = $1 AND erased_at IS NULL), \
               (SELECT COUNT(*) FROM relatives WHERE tenant_id = $1), \
               (SELECT COUNT(*) FROM care_relationships WHERE tenant_id = $1)",
        )
        .bind(tenant.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts {
            units: row.try_get(0)?,
            staff: row.try_get(1)?,
            persons: row.try_get(2)?,
            relatives: row.try_get(3)?,
            care_relationships: row.try_get(4)?,
        })
    }
}
