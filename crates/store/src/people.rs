//! Staff, persons, relatives and care relationships: personal data, sealed
//! under the owner's data key (staff: their own; persons: their own;
//! relatives: the person's, so erasing a person erases what was said about
//! their relatives too).

use crate::error::constraint;
use crate::keys::create_data_key;
use crate::org::{check_unit_in_tenant, id_col, opt_uuid_col};
use crate::seal::Fields;
use crate::{Result, Store, StoreError, Tx, from_ms, ms};
use sqlx::{AnyConnection, Row as _, any::AnyRow};
use trygg_crypto::{DataKey, KekId, WrappedKey};
use trygg_domain::{
    Address, CareParty, CareRelationship, CareRelationshipId, Email, HsaId, IdentityNumber, Period,
    Person, PersonDetails, PersonId, PersonName, Phone, Relative, RelativeDetails, RelativeId,
    Staff, StaffDetails, StaffId, TenantId,
};

/// `SELECT` of a person row with its wrapped data key, followed by `$tail`.
/// Only literals: no SQL is ever built from input.
macro_rules! person_select {
    ($tail:literal) => {
        concat!(
            "SELECT p.id, p.tenant_id, p.protected_identity, p.identity_number, p.given_name, ",
            "p.family_name, p.address, p.phone, p.email, p.data_key_id, k.kek_id, k.wrapped ",
            "FROM persons p LEFT JOIN data_keys k ON k.id = p.data_key_id ",
            $tail
        )
    };
}

/// `SELECT` of a staff row with its wrapped data key, followed by `$tail`.
macro_rules! staff_select {
    ($tail:literal) => {
        concat!(
            "SELECT s.id, s.tenant_id, s.disabled, s.given_name, s.family_name, s.identity_number, ",
            "s.hsa_id, s.email, s.phone, s.data_key_id, k.kek_id, k.wrapped ",
            "FROM staff s LEFT JOIN data_keys k ON k.id = s.data_key_id ",
            $tail
        )
    };
}

pub(crate) async fn check_staff_in_tenant(
    conn: &mut AnyConnection,
    tenant: TenantId,
    staff: StaffId,
) -> Result<()> {
    sqlx::query("SELECT 1 FROM staff WHERE id = $1 AND tenant_id = $2")
        .bind(staff.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(|_| ())
        .ok_or(StoreError::UnknownReference("staff member"))
}

async fn check_person_in_tenant(
    conn: &mut AnyConnection,
    tenant: TenantId,
    person: PersonId,
) -> Result<()> {
    let row = sqlx::query("SELECT erased_at FROM persons WHERE id = $1 AND tenant_id = $2")
        .bind(person.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::UnknownReference("person"))?;
    match row.try_get::<Option<i64>, _>(0)? {
        Some(_) => Err(StoreError::Erased("person")),
        None => Ok(()),
    }
}

impl Store {
    pub(crate) fn identity_bidx(&self, tenant: TenantId, id: &IdentityNumber) -> Vec<u8> {
        self.keys.blind_index(&[
            b"identity-number",
            tenant.to_string().as_bytes(),
            id.canonical().as_bytes(),
        ])
    }

    pub(crate) fn hsa_bidx(&self, tenant: TenantId, id: &HsaId) -> Vec<u8> {
        self.keys.blind_index(&[
            b"hsa-id",
            tenant.to_string().as_bytes(),
            id.as_str().as_bytes(),
        ])
    }

    /// The data key from a row's `data_key_id, kek_id, wrapped` columns;
    /// `Erased` if the key has been destroyed.
    pub(crate) fn row_key(&self, row: &AnyRow, what: &'static str) -> Result<DataKey> {
        let id: Option<String> = row.try_get("data_key_id")?;
        let kek: Option<String> = row.try_get("kek_id")?;
        let wrapped: Option<Vec<u8>> = row.try_get("wrapped")?;
        match (id, kek, wrapped) {
            (Some(id), Some(kek), Some(bytes)) => self.keys.unwrap_data_key(
                &id,
                &WrappedKey {
                    kek_id: KekId::from_stored(&kek),
                    bytes,
                },
            ),
            _ => Err(StoreError::Erased(what)),
        }
    }

    fn person_from_row(&self, row: &AnyRow) -> Result<Person> {
        let id: PersonId = id_col(row, "id")?;
        let key = self.row_key(row, "person")?;
        let f = Fields::new(&key, "persons", id);
        Ok(Person {
            id,
            tenant: id_col(row, "tenant_id")?,
            protected_identity: row.try_get::<i64, _>("protected_identity")? != 0,
            details: PersonDetails {
                identity_number: f.parse(
                    "identity_number",
                    row.try_get("identity_number")?,
                    IdentityNumber::parse_canonical,
                )?,
                given_name: f.parse("given_name", row.try_get("given_name")?, PersonName::parse)?,
                family_name: f.parse(
                    "family_name",
                    row.try_get("family_name")?,
                    PersonName::parse,
                )?,
                address: f.parse_opt("address", row.try_get("address")?, Address::parse)?,
                phone: f.parse_opt("phone", row.try_get("phone")?, Phone::parse)?,
                email: f.parse_opt("email", row.try_get("email")?, Email::parse)?,
            },
        })
    }

    fn staff_from_row(&self, row: &AnyRow) -> Result<Staff> {
        let id: StaffId = id_col(row, "id")?;
        let key = self.row_key(row, "staff member")?;
        let f = Fields::new(&key, "staff", id);
        Ok(Staff {
            id,
            tenant: id_col(row, "tenant_id")?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            details: StaffDetails {
                given_name: f.parse("given_name", row.try_get("given_name")?, PersonName::parse)?,
                family_name: f.parse(
                    "family_name",
                    row.try_get("family_name")?,
                    PersonName::parse,
                )?,
                identity_number: f.parse_opt(
                    "identity_number",
                    row.try_get("identity_number")?,
                    IdentityNumber::parse_canonical,
                )?,
                hsa_id: f.parse_opt("hsa_id", row.try_get("hsa_id")?, HsaId::parse)?,
                email: f.parse_opt("email", row.try_get("email")?, Email::parse)?,
                phone: f.parse_opt("phone", row.try_get("phone")?, Phone::parse)?,
            },
        })
    }

    /// A person, decrypted.
    ///
    /// `unsafe_`: reads personal data without a `Grant`. Only for the
    /// operator's command line (which holds the key file's authority), the
    /// demo, and showing a logged-in person their own name; request handlers
    /// use [`Store::person_record`].
    pub async fn unsafe_person(&self, tenant: TenantId, id: PersonId) -> Result<Person> {
        let row = sqlx::query(person_select!("WHERE p.id = $1 AND p.tenant_id = $2"))
            .bind(id.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("person"))?;
        self.person_from_row(&row)
    }

    /// Every person of a tenant who has not been erased, decrypted.
    ///
    /// `unsafe_`: reads personal data without a `Grant`. Only for the
    /// operator's command line (which holds the key file's authority), the
    /// demo, and showing a logged-in person their own name; request handlers
    /// use [`Store::person_record`].
    pub async fn unsafe_persons(&self, tenant: TenantId) -> Result<Vec<Person>> {
        sqlx::query(person_select!(
            "WHERE p.tenant_id = $1 AND p.erased_at IS NULL ORDER BY p.id"
        ))
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| self.person_from_row(r))
        .collect()
    }

    /// Exact lookup by personnummer or samordningsnummer, through the blind index.
    ///
    /// `unsafe_`: reads personal data without a `Grant`. Only for the
    /// operator's command line (which holds the key file's authority), the
    /// demo, and showing a logged-in person their own name; request handlers
    /// use [`Store::person_record`].
    pub async fn unsafe_find_person(
        &self,
        tenant: TenantId,
        number: &IdentityNumber,
    ) -> Result<Person> {
        let row = sqlx::query(person_select!(
            "WHERE p.tenant_id = $1 AND p.identity_number_bidx = $2"
        ))
        .bind(tenant.to_string())
        .bind(self.identity_bidx(tenant, number))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("person"))?;
        self.person_from_row(&row)
    }

    /// A staff member, decrypted.
    pub async fn staff_member(&self, tenant: TenantId, id: StaffId) -> Result<Staff> {
        let row = sqlx::query(staff_select!("WHERE s.id = $1 AND s.tenant_id = $2"))
            .bind(id.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("staff member"))?;
        self.staff_from_row(&row)
    }

    /// Every staff member of a tenant, decrypted.
    pub async fn staff(&self, tenant: TenantId) -> Result<Vec<Staff>> {
        sqlx::query(staff_select!(
            "WHERE s.tenant_id = $1 AND s.erased_at IS NULL ORDER BY s.id"
        ))
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| self.staff_from_row(r))
        .collect()
    }

    /// Exact lookup of a staff member by HSA-id.
    pub async fn find_staff_by_hsa_id(&self, tenant: TenantId, hsa: &HsaId) -> Result<Staff> {
        let row = sqlx::query(staff_select!(
            "WHERE s.tenant_id = $1 AND s.hsa_id_bidx = $2"
        ))
        .bind(tenant.to_string())
        .bind(self.hsa_bidx(tenant, hsa))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("staff member"))?;
        self.staff_from_row(&row)
    }

    /// The person with this number (blind index), by id only: no personal
    /// data is returned, so no grant is needed to ask.
    pub async fn person_id_by_number(
        &self,
        tenant: TenantId,
        number: &IdentityNumber,
    ) -> Result<PersonId> {
        let row = sqlx::query(
            "SELECT id FROM persons WHERE tenant_id = $1 AND identity_number_bidx = $2 AND erased_at IS NULL",
        )
        .bind(tenant.to_string())
        .bind(self.identity_bidx(tenant, number))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("person"))?;
        id_col(&row, "id")
    }

    /// The persons a staff member's work list starts from, by id only (no
    /// personal data, so no grant; each is decided before it is shown):
    /// those in a care relationship now with the staff member or one of
    /// their units, and those they hold an emergency access to.
    pub async fn persons_in_care_of(
        &self,
        tenant: TenantId,
        staff: StaffId,
        now: time::OffsetDateTime,
    ) -> Result<Vec<PersonId>> {
        sqlx::query(
            "SELECT DISTINCT c.person_id AS id FROM care_relationships c \
             JOIN persons p ON p.id = c.person_id AND p.erased_at IS NULL \
             WHERE c.tenant_id = $1 AND c.valid_from <= $3 AND (c.valid_until IS NULL OR c.valid_until > $3) \
             AND (c.staff_id = $2 OR c.unit_id IN (SELECT unit_id FROM role_assignments WHERE staff_id = $2)) \
             UNION SELECT e.person_id AS id FROM emergency_accesses e \
             WHERE e.tenant_id = $1 AND e.staff_id = $2 AND e.until > $3",
        )
        .bind(tenant.to_string())
        .bind(staff.to_string())
        .bind(ms(now))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| id_col(row, "id"))
        .collect()
    }

    /// The person a grant to read the overview is for.
    pub async fn person_record(&self, grant: &trygg_policy::Grant) -> Result<Person> {
        if grant.action() != trygg_domain::Action::Read(trygg_domain::Part::Overview) {
            return Err(StoreError::Corrupt(
                "a grant for another action was used to read a person".into(),
            ));
        }
        let tenant = grant
            .account()
            .tenant()
            .ok_or(StoreError::UnknownReference("tenant of the grant"))?;
        let person = self.unsafe_person(tenant, grant.person()).await?;
        self.record_access(grant).await?;
        Ok(person)
    }

    /// Whether a person with this number exists in the tenant.
    pub async fn person_exists(&self, tenant: TenantId, number: &IdentityNumber) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM persons WHERE tenant_id = $1 AND identity_number_bidx = $2")
                .bind(tenant.to_string())
                .bind(self.identity_bidx(tenant, number))
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// Whether a staff member with this number or HSA-id exists in the tenant.
    pub async fn staff_exists(
        &self,
        tenant: TenantId,
        number: Option<&IdentityNumber>,
        hsa: Option<&HsaId>,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM staff WHERE tenant_id = $1 AND (identity_number_bidx = $2 OR hsa_id_bidx = $3)",
        )
        .bind(tenant.to_string())
        .bind(number.map(|n| self.identity_bidx(tenant, n)))
        .bind(hsa.map(|h| self.hsa_bidx(tenant, h)))
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// A person's relatives, decrypted with the person's key.
    ///
    /// `unsafe_`: reads personal data without a `Grant`. Only for the
    /// operator's command line (which holds the key file's authority), the
    /// demo, and showing a logged-in person their own name; request handlers
    /// use [`Store::person_record`].
    pub async fn unsafe_relatives(
        &self,
        tenant: TenantId,
        person: PersonId,
    ) -> Result<Vec<Relative>> {
        let rows = sqlx::query(
            "SELECT r.id, r.given_name, r.family_name, r.identity_number, r.relation, r.phone, r.email, \
                    p.data_key_id, k.kek_id, k.wrapped \
             FROM relatives r JOIN persons p ON p.id = r.person_id \
             LEFT JOIN data_keys k ON k.id = p.data_key_id \
             WHERE r.person_id = $1 AND r.tenant_id = $2 ORDER BY r.id",
        )
        .bind(person.to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: RelativeId = id_col(row, "id")?;
                let key = self.row_key(row, "person")?;
                let f = Fields::new(&key, "relatives", id);
                Ok(Relative {
                    id,
                    person,
                    details: RelativeDetails {
                        given_name: f.parse(
                            "given_name",
                            row.try_get("given_name")?,
                            PersonName::parse,
                        )?,
                        family_name: f.parse(
                            "family_name",
                            row.try_get("family_name")?,
                            PersonName::parse,
                        )?,
                        identity_number: f.parse_opt(
                            "identity_number",
                            row.try_get("identity_number")?,
                            IdentityNumber::parse_canonical,
                        )?,
                        relation: f.parse_opt(
                            "relation",
                            row.try_get("relation")?,
                            PersonName::parse,
                        )?,
                        phone: f.parse_opt("phone", row.try_get("phone")?, Phone::parse)?,
                        email: f.parse_opt("email", row.try_get("email")?, Email::parse)?,
                    },
                })
            })
            .collect()
    }

    /// A person's care relationships, past, present and future.
    pub async fn care_relationships(
        &self,
        tenant: TenantId,
        person: PersonId,
    ) -> Result<Vec<CareRelationship>> {
        sqlx::query(
            "SELECT id, tenant_id, person_id, staff_id, unit_id, valid_from, valid_until \
             FROM care_relationships WHERE person_id = $1 AND tenant_id = $2 ORDER BY valid_from, id",
        )
        .bind(person.to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let party = match (
                opt_uuid_col(row, "staff_id")?,
                opt_uuid_col(row, "unit_id")?,
            ) {
                (Some(s), None) => CareParty::Staff(s),
                (None, Some(u)) => CareParty::Unit(u),
                _ => return Err(StoreError::Corrupt("care relationship without one party".into())),
            };
            let until: Option<i64> = row.try_get("valid_until")?;
            Ok(CareRelationship {
                id: id_col(row, "id")?,
                tenant: id_col(row, "tenant_id")?,
                person: id_col(row, "person_id")?,
                party,
                period: Period::new(
                    from_ms(row.try_get("valid_from")?)?,
                    until.map(from_ms).transpose()?,
                )
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        })
        .collect()
    }

    /// Crypto-shredding: destroys the person's data key, so that their sealed
    /// fields (and their relatives' details) can never be opened again, and
    /// removes their blind-index entries. The row stays, marked erased, so
    /// references (care relationships, the audit log) remain valid. The
    /// erasure is logged, by `operator`, in the same transaction.
    pub async fn erase_person(
        &self,
        tenant: TenantId,
        person: PersonId,
        operator: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT data_key_id, erased_at FROM persons WHERE id = $1 AND tenant_id = $2",
        )
        .bind(person.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&mut *tx.tx)
        .await?
        .ok_or(StoreError::NotFound("person"))?;
        if row.try_get::<Option<i64>, _>("erased_at")?.is_some() {
            return Err(StoreError::Erased("person"));
        }
        let key: Option<String> = row.try_get("data_key_id")?;
        sqlx::query(
            "UPDATE persons SET erased_at = $1, data_key_id = NULL, identity_number_bidx = NULL WHERE id = $2",
        )
        .bind(ms(tx.now()))
        .bind(person.to_string())
        .execute(&mut *tx.tx)
        .await?;
        sqlx::query("UPDATE relatives SET identity_number_bidx = NULL WHERE person_id = $1")
            .bind(person.to_string())
            .execute(&mut *tx.tx)
            .await?;
        if let Some(key) = key {
            sqlx::query("DELETE FROM data_keys WHERE id = $1")
                .bind(key)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.record_operator(operator, tenant, Some(person), "erase_person")
            .await?;
        tx.commit().await?;
        self.remembered_keys.forget(tenant, person);
        self.checkpoint().await?;
        tracing::info!(%person, "person erased (data key destroyed)");
        Ok(())
    }
}

impl Tx<'_> {
    /// Adds a person receiving care, with a fresh data key. Fails with
    /// `Duplicate` if the tenant already has this identity number.
    pub async fn add_person(
        &mut self,
        tenant: TenantId,
        details: &PersonDetails,
        protected_identity: bool,
    ) -> Result<PersonId> {
        self.require_tenant(tenant).await?;
        let store = self.store;
        let id = PersonId::generate(store.clock.as_ref());
        let now = ms(self.now());
        let key_id = id.to_string();
        let key =
            create_data_key(&mut self.tx, &store.keys, &tenant.to_string(), &key_id, now).await?;
        let f = Fields::new(&key, "persons", id);
        sqlx::query(
            "INSERT INTO persons (id, tenant_id, data_key_id, identity_number, given_name, family_name, \
             address, phone, email, identity_number_bidx, protected_identity, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(key_id)
        .bind(f.seal("identity_number", &details.identity_number.canonical())?)
        .bind(f.seal("given_name", details.given_name.as_str())?)
        .bind(f.seal("family_name", details.family_name.as_str())?)
        .bind(f.seal_opt("address", details.address.as_ref().map(Address::as_str))?)
        .bind(f.seal_opt("phone", details.phone.as_ref().map(Phone::as_str))?)
        .bind(f.seal_opt("email", details.email.as_ref().map(Email::as_str))?)
        .bind(store.identity_bidx(tenant, &details.identity_number))
        .bind(i64::from(protected_identity))
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            constraint(
                e,
                "a person with this identity number already exists in this tenant",
                "tenant",
            )
        })?;
        Ok(id)
    }

    /// Adds a staff member, with a fresh data key. Fails with `Duplicate` if
    /// the tenant already has this identity number or HSA-id.
    pub async fn add_staff(&mut self, tenant: TenantId, details: &StaffDetails) -> Result<StaffId> {
        self.require_tenant(tenant).await?;
        let store = self.store;
        let id = StaffId::generate(store.clock.as_ref());
        let now = ms(self.now());
        let key_id = id.to_string();
        let key =
            create_data_key(&mut self.tx, &store.keys, &tenant.to_string(), &key_id, now).await?;
        let f = Fields::new(&key, "staff", id);
        sqlx::query(
            "INSERT INTO staff (id, tenant_id, data_key_id, given_name, family_name, identity_number, \
             hsa_id, email, phone, identity_number_bidx, hsa_id_bidx, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(key_id)
        .bind(f.seal("given_name", details.given_name.as_str())?)
        .bind(f.seal("family_name", details.family_name.as_str())?)
        .bind(f.seal_opt(
            "identity_number",
            details.identity_number.as_ref().map(IdentityNumber::canonical).as_deref(),
        )?)
        .bind(f.seal_opt("hsa_id", details.hsa_id.as_ref().map(HsaId::as_str))?)
        .bind(f.seal_opt("email", details.email.as_ref().map(Email::as_str))?)
        .bind(f.seal_opt("phone", details.phone.as_ref().map(Phone::as_str))?)
        .bind(details.identity_number.as_ref().map(|n| store.identity_bidx(tenant, n)))
        .bind(details.hsa_id.as_ref().map(|h| store.hsa_bidx(tenant, h)))
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            constraint(
                e,
                "a staff member with this identity number or HSA-id already exists in this tenant",
                "tenant",
            )
        })?;
        Ok(id)
    }

    /// Adds a relative of a person; sealed under the person's data key.
    pub async fn add_relative(
        &mut self,
        tenant: TenantId,
        person: PersonId,
        details: &RelativeDetails,
    ) -> Result<RelativeId> {
        check_person_in_tenant(&mut self.tx, tenant, person).await?;
        let store = self.store;
        let row = sqlx::query(
            "SELECT p.data_key_id, k.kek_id, k.wrapped FROM persons p \
             LEFT JOIN data_keys k ON k.id = p.data_key_id WHERE p.id = $1",
        )
        .bind(person.to_string())
        .fetch_one(&mut *self.tx)
        .await?;
        let key = store.row_key(&row, "person")?;
        let id = RelativeId::generate(store.clock.as_ref());
        let f = Fields::new(&key, "relatives", id);
        sqlx::query(
            "INSERT INTO relatives (id, tenant_id, person_id, given_name, family_name, identity_number, \
             relation, phone, email, identity_number_bidx, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(person.to_string())
        .bind(f.seal("given_name", details.given_name.as_str())?)
        .bind(f.seal("family_name", details.family_name.as_str())?)
        .bind(f.seal_opt(
            "identity_number",
            details.identity_number.as_ref().map(IdentityNumber::canonical).as_deref(),
        )?)
        .bind(f.seal_opt("relation", details.relation.as_ref().map(PersonName::as_str))?)
        .bind(f.seal_opt("phone", details.phone.as_ref().map(Phone::as_str))?)
        .bind(f.seal_opt("email", details.email.as_ref().map(Email::as_str))?)
        .bind(details.identity_number.as_ref().map(|n| store.identity_bidx(tenant, n)))
        .bind(ms(self.now()))
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Records that a staff member or unit takes part in a person's care
    /// during `period`.
    pub async fn add_care_relationship(
        &mut self,
        tenant: TenantId,
        person: PersonId,
        party: CareParty,
        period: Period,
    ) -> Result<CareRelationshipId> {
        check_person_in_tenant(&mut self.tx, tenant, person).await?;
        let (staff, unit) = match party {
            CareParty::Staff(s) => {
                check_staff_in_tenant(&mut self.tx, tenant, s).await?;
                (Some(s.to_string()), None)
            }
            CareParty::Unit(u) => {
                check_unit_in_tenant(&mut self.tx, tenant, u, "unit").await?;
                (None, Some(u.to_string()))
            }
        };
        let id = CareRelationshipId::generate(self.store.clock.as_ref());
        sqlx::query(
            "INSERT INTO care_relationships (id, tenant_id, person_id, staff_id, unit_id, valid_from, \
             valid_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(person.to_string())
        .bind(staff)
        .bind(unit)
        .bind(ms(period.from()))
        .bind(period.until().map(ms))
        .bind(ms(self.now()))
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }
}
