//! Sessions, login flows, passkeys and the bootstrap administrator.
//!
//! Tokens are stored only as hashes (the caller hashes them); this module
//! never sees a session token. Expiry rules live in `trygg-auth`; here rows
//! are only stored, found and removed.

use crate::org::{id_col, opt_uuid_col};
use crate::{Result, Store, StoreError, from_ms, ms};
use sqlx::{Row as _, any::AnyRow};
use time::OffsetDateTime;
use trygg_domain::{Account, AuthMethod, HsaId, IdentityNumber, Loa, StaffId, TenantId};
use zeroize::Zeroizing;

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Whose.
    pub account: Account,
    /// How they authenticated.
    pub method: AuthMethod,
    /// Which provider.
    pub provider: String,
    /// How strongly.
    pub loa: Loa,
    /// When they last authenticated (step-up freshness).
    pub authenticated_at: OffsetDateTime,
    /// When the session began.
    pub created_at: OffsetDateTime,
    /// Last request.
    pub last_seen_at: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
}

fn method_from(s: &str) -> Result<AuthMethod> {
    Ok(match s {
        "oidc" => AuthMethod::Oidc,
        "bankid" => AuthMethod::BankId,
        "passkey" => AuthMethod::Passkey,
        "password_totp" => AuthMethod::PasswordTotp,
        "totp" => AuthMethod::Totp,
        other => return Err(StoreError::Corrupt(format!("unknown method {other:?}"))),
    })
}

fn account_from(row: &AnyRow) -> Result<Account> {
    let kind: String = row.try_get("kind")?;
    let tenant: Option<TenantId> = opt_uuid_col(row, "tenant_id")?;
    let missing = || StoreError::Corrupt(format!("{kind} row without its ids"));
    Ok(match kind.as_str() {
        "staff" => Account::Staff {
            tenant: tenant.ok_or_else(missing)?,
            staff: opt_uuid_col(row, "staff_id")?.ok_or_else(missing)?,
        },
        "person" => Account::Person {
            tenant: tenant.ok_or_else(missing)?,
            person: opt_uuid_col(row, "person_id")?.ok_or_else(missing)?,
        },
        "relative" => Account::Relative {
            tenant: tenant.ok_or_else(missing)?,
            relative: opt_uuid_col(row, "relative_id")?.ok_or_else(missing)?,
            person: opt_uuid_col(row, "person_id")?.ok_or_else(missing)?,
        },
        "bootstrap_admin" => Account::BootstrapAdmin {
            name: row
                .try_get::<Option<String>, _>("admin_name")?
                .ok_or_else(missing)?,
        },
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown account kind {other:?}"
            )));
        }
    })
}

struct AccountColumns {
    tenant: Option<String>,
    staff: Option<String>,
    person: Option<String>,
    relative: Option<String>,
    admin: Option<String>,
}

fn columns(account: &Account) -> AccountColumns {
    let mut c = AccountColumns {
        tenant: account.tenant().map(|t| t.to_string()),
        staff: None,
        person: None,
        relative: None,
        admin: None,
    };
    match account {
        Account::Staff { staff, .. } => c.staff = Some(staff.to_string()),
        Account::Person { person, .. } => c.person = Some(person.to_string()),
        Account::Relative {
            relative, person, ..
        } => {
            c.relative = Some(relative.to_string());
            c.person = Some(person.to_string());
        }
        Account::BootstrapAdmin { name } => c.admin = Some(name.clone()),
    }
    c
}

/// A passkey as stored: the serialized credential and whose it is.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    /// Row id.
    pub id: String,
    /// Whose.
    pub account: Account,
    /// The credential (webauthn-rs `Passkey` as JSON).
    pub passkey: String,
    /// LoA of the e-ID login that registered it.
    pub registered_loa: Loa,
}

impl Store {
    /// Stores a new session under the hash of its token.
    pub async fn create_session(&self, token_hash: &[u8], s: &SessionRecord) -> Result<()> {
        let c = columns(&s.account);
        sqlx::query(
            "INSERT INTO sessions (token_hash, kind, tenant_id, staff_id, person_id, relative_id, admin_name, \
             method, provider, loa, authenticated_at, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(token_hash.to_vec())
        .bind(s.account.kind_str())
        .bind(c.tenant)
        .bind(c.staff)
        .bind(c.person)
        .bind(c.relative)
        .bind(c.admin)
        .bind(s.method.as_str())
        .bind(&s.provider)
        .bind(s.loa.as_str())
        .bind(ms(s.authenticated_at))
        .bind(ms(s.created_at))
        .bind(ms(s.last_seen_at))
        .bind(ms(s.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session stored under this hash, if any (expired or not: the
    /// caller applies the rules).
    pub async fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT kind, tenant_id, staff_id, person_id, relative_id, admin_name, method, provider, loa, \
             authenticated_at, created_at, last_seen_at, expires_at FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let loa: String = row.try_get("loa")?;
        Ok(Some(SessionRecord {
            account: account_from(&row)?,
            method: method_from(&row.try_get::<String, _>("method")?)?,
            provider: row.try_get("provider")?,
            loa: Loa::parse(&loa).ok_or_else(|| StoreError::Corrupt(format!("loa {loa:?}")))?,
            authenticated_at: from_ms(row.try_get("authenticated_at")?)?,
            created_at: from_ms(row.try_get("created_at")?)?,
            last_seen_at: from_ms(row.try_get("last_seen_at")?)?,
            expires_at: from_ms(row.try_get("expires_at")?)?,
        }))
    }

    /// Records activity on a session.
    pub async fn touch_session(&self, token_hash: &[u8], at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(ms(at))
            .bind(token_hash.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session at once.
    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of a staff member (role change, disabled account).
    pub async fn delete_staff_sessions(&self, staff: StaffId) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
            .bind(staff.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Removes sessions and login flows past their absolute end.
    pub async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM login_flows WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(a + b)
    }

    /// Stores (or replaces) the state of a login in progress.
    pub async fn put_login_flow(
        &self,
        token_hash: &[u8],
        kind: &str,
        data: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let now = ms(self.clock.now());
        sqlx::query(
            "INSERT INTO login_flows (token_hash, kind, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (token_hash) DO UPDATE SET kind = $2, data = $3, expires_at = $5",
        )
        .bind(token_hash.to_vec())
        .bind(kind)
        .bind(data)
        .bind(now)
        .bind(ms(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The state of a login in progress of this kind, if not expired.
    pub async fn login_flow(&self, token_hash: &[u8], kind: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT data FROM login_flows WHERE token_hash = $1 AND kind = $2 AND expires_at > $3",
        )
        .bind(token_hash.to_vec())
        .bind(kind)
        .bind(ms(self.clock.now()))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Takes a login flow: returns it and removes it, so it is used once.
    pub async fn take_login_flow(&self, token_hash: &[u8], kind: &str) -> Result<Option<String>> {
        let data = self.login_flow(token_hash, kind).await?;
        let gone = sqlx::query("DELETE FROM login_flows WHERE token_hash = $1 AND kind = $2")
            .bind(token_hash.to_vec())
            .bind(kind)
            .execute(&self.pool)
            .await?
            .rows_affected();
        // Two concurrent takes: only the one that deleted the row may use it.
        Ok(data.filter(|_| gone == 1))
    }

    /// Staff accounts (in any tenant) for an identity number or HSA-id.
    pub async fn staff_accounts(
        &self,
        number: Option<&IdentityNumber>,
        hsa: Option<&HsaId>,
    ) -> Result<Vec<(TenantId, StaffId, bool)>> {
        let mut out = Vec::new();
        for tenant in self.tenants().await? {
            let rows = sqlx::query(
                "SELECT id, disabled FROM staff WHERE tenant_id = $1 AND erased_at IS NULL \
                 AND (identity_number_bidx = $2 OR hsa_id_bidx = $3)",
            )
            .bind(tenant.id.to_string())
            .bind(number.map(|n| self.identity_bidx(tenant.id, n)))
            .bind(hsa.map(|h| self.hsa_bidx(tenant.id, h)))
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                out.push((
                    tenant.id,
                    id_col(&row, "id")?,
                    row.try_get::<i64, _>("disabled")? != 0,
                ));
            }
        }
        Ok(out)
    }

    /// Citizen accounts (persons, then relatives, in any tenant) for an identity number.
    pub async fn citizen_accounts(&self, number: &IdentityNumber) -> Result<Vec<Account>> {
        let mut out = Vec::new();
        for tenant in self.tenants().await? {
            let bidx = self.identity_bidx(tenant.id, number);
            for row in sqlx::query(
                "SELECT id FROM persons WHERE tenant_id = $1 AND identity_number_bidx = $2 AND erased_at IS NULL",
            )
            .bind(tenant.id.to_string())
            .bind(bidx.clone())
            .fetch_all(&self.pool)
            .await?
            {
                out.push(Account::Person {
                    tenant: tenant.id,
                    person: id_col(&row, "id")?,
                });
            }
            for row in sqlx::query(
                "SELECT r.id, r.person_id FROM relatives r JOIN persons p ON p.id = r.person_id \
                 WHERE r.tenant_id = $1 AND r.identity_number_bidx = $2 AND p.erased_at IS NULL",
            )
            .bind(tenant.id.to_string())
            .bind(bidx)
            .fetch_all(&self.pool)
            .await?
            {
                out.push(Account::Relative {
                    tenant: tenant.id,
                    relative: id_col(&row, "id")?,
                    person: id_col(&row, "person_id")?,
                });
            }
        }
        Ok(out)
    }

    /// Disables or enables a staff account; disabling ends their sessions.
    pub async fn set_staff_disabled(
        &self,
        tenant: TenantId,
        staff: StaffId,
        disabled: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE staff SET disabled = $1 WHERE id = $2 AND tenant_id = $3")
            .bind(i64::from(disabled))
            .bind(staff.to_string())
            .bind(tenant.to_string())
            .execute(&mut *tx.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("staff member"));
        }
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
                .bind(staff.to_string())
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.commit().await
    }

    /// Stores a passkey registered by `account`.
    pub async fn add_passkey(
        &self,
        account: &Account,
        credential_id: &[u8],
        passkey: &str,
        registered_loa: Loa,
    ) -> Result<()> {
        let c = columns(account);
        if matches!(account, Account::BootstrapAdmin { .. }) {
            return Err(StoreError::UnknownReference("account for a passkey"));
        }
        sqlx::query(
            "INSERT INTO passkeys (id, credential_id, kind, tenant_id, staff_id, person_id, relative_id, passkey, \
             registered_loa, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(trygg_domain::ids::new_v7(self.clock.as_ref()).to_string())
        .bind(credential_id.to_vec())
        .bind(account.kind_str())
        .bind(c.tenant)
        .bind(c.staff)
        .bind(c.person)
        .bind(c.relative)
        .bind(passkey)
        .bind(registered_loa.as_str())
        .bind(ms(self.clock.now()))
        .execute(&self.pool)
        .await
        .map_err(|e| crate::error::constraint(e, "this passkey is already registered", "account"))?;
        Ok(())
    }

    /// The passkeys an account has registered.
    pub async fn passkeys_of(&self, account: &Account) -> Result<Vec<StoredPasskey>> {
        let c = columns(account);
        sqlx::query(
            "SELECT id, kind, tenant_id, staff_id, person_id, relative_id, NULL AS admin_name, passkey, registered_loa \
             FROM passkeys WHERE kind = $1 AND tenant_id = $2 \
             AND (staff_id = $3 OR relative_id = $4 OR (kind = 'person' AND person_id = $5)) ORDER BY created_at",
        )
        .bind(account.kind_str())
        .bind(c.tenant)
        .bind(c.staff)
        .bind(c.relative)
        .bind(c.person)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(passkey_from)
        .collect()
    }

    /// The passkey with this credential id, if registered.
    pub async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<StoredPasskey>> {
        sqlx::query(
            "SELECT id, kind, tenant_id, staff_id, person_id, relative_id, NULL AS admin_name, passkey, registered_loa \
             FROM passkeys WHERE credential_id = $1",
        )
        .bind(credential_id.to_vec())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(passkey_from)
        .transpose()
    }

    /// Saves a passkey's updated state (signature counter) after a login.
    pub async fn update_passkey(&self, id: &str, passkey: &str) -> Result<()> {
        sqlx::query("UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE id = $3")
            .bind(passkey)
            .bind(ms(self.clock.now()))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Creates the local bootstrap administrator. The TOTP seed is sealed.
    pub async fn create_bootstrap_admin(
        &self,
        name: &str,
        password_hash: &str,
        totp_secret: &[u8],
    ) -> Result<()> {
        let sealed = self.keys.secrets().seal(
            totp_secret,
            format!("bootstrap_admins/{name}/totp_secret").as_bytes(),
        )?;
        sqlx::query(
            "INSERT INTO bootstrap_admins (name, password_hash, totp_secret, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(password_hash)
        .bind(sealed)
        .bind(ms(self.clock.now()))
        .execute(&self.pool)
        .await
        .map_err(|e| crate::error::constraint(e, "a bootstrap administrator with this name exists", "name"))?;
        Ok(())
    }

    /// The bootstrap administrator's password hash and TOTP seed.
    pub async fn bootstrap_admin(
        &self,
        name: &str,
    ) -> Result<Option<(String, Zeroizing<Vec<u8>>)>> {
        let row =
            sqlx::query("SELECT password_hash, totp_secret FROM bootstrap_admins WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = row.try_get("totp_secret")?;
        let secret = self.keys.secrets().open(
            &sealed,
            format!("bootstrap_admins/{name}/totp_secret").as_bytes(),
        )?;
        Ok(Some((row.try_get("password_hash")?, secret)))
    }

    /// Spends a TOTP time step: true only the first time a step (or a later
    /// one) is used, so a code works once.
    pub async fn spend_totp_step(&self, name: &str, step: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE bootstrap_admins SET totp_last_step = $1 WHERE name = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(name)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }
}

fn passkey_from(row: &AnyRow) -> Result<StoredPasskey> {
    let loa: String = row.try_get("registered_loa")?;
    Ok(StoredPasskey {
        id: row.try_get("id")?,
        account: account_from(row)?,
        passkey: row.try_get("passkey")?,
        registered_loa: Loa::parse(&loa)
            .ok_or_else(|| StoreError::Corrupt(format!("loa {loa:?}")))?,
    })
}

impl Store {
    /// Starts (or restarts) TOTP enrolment for a staff member: the sealed
    /// secret is stored unconfirmed until a first code proves the app has it.
    pub async fn set_staff_totp(
        &self,
        tenant: TenantId,
        staff: StaffId,
        secret: &[u8],
    ) -> Result<()> {
        let sealed = self
            .keys
            .secrets()
            .seal(secret, format!("staff_totp/{staff}/secret").as_bytes())?;
        sqlx::query(
            "INSERT INTO staff_totp (staff_id, tenant_id, secret, last_step, confirmed, created_at) \
             VALUES ($1, $2, $3, 0, 0, $4) \
             ON CONFLICT (staff_id) DO UPDATE SET secret = $3, last_step = 0, confirmed = 0, created_at = $4",
        )
        .bind(staff.to_string())
        .bind(tenant.to_string())
        .bind(sealed)
        .bind(ms(self.clock.now()))
        .execute(&self.pool)
        .await
        .map_err(|e| crate::error::constraint(e, "TOTP already set", "staff member"))?;
        Ok(())
    }

    /// A staff member's TOTP secret and whether it is confirmed.
    pub async fn staff_totp(&self, staff: StaffId) -> Result<Option<(Zeroizing<Vec<u8>>, bool)>> {
        let row = sqlx::query("SELECT secret, confirmed FROM staff_totp WHERE staff_id = $1")
            .bind(staff.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = row.try_get("secret")?;
        let secret = self
            .keys
            .secrets()
            .open(&sealed, format!("staff_totp/{staff}/secret").as_bytes())?;
        Ok(Some((secret, row.try_get::<i64, _>("confirmed")? != 0)))
    }

    /// Spends a time step of a staff member's TOTP: true only the first time
    /// a step (or a later one) is used. `confirm` accepts an unconfirmed
    /// secret and confirms it; otherwise the secret must be confirmed.
    pub async fn spend_staff_totp_step(
        &self,
        staff: StaffId,
        step: i64,
        confirm: bool,
    ) -> Result<bool> {
        let sql = if confirm {
            "UPDATE staff_totp SET last_step = $1, confirmed = 1 WHERE staff_id = $2 AND last_step < $1"
        } else {
            "UPDATE staff_totp SET last_step = $1 WHERE staff_id = $2 AND last_step < $1 AND confirmed = 1"
        };
        Ok(sqlx::query(sql)
            .bind(step)
            .bind(staff.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }
}
