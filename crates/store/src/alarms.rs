//! Safety alarms: the device registry and received alarms.
//!
//! A device's SIP Digest credentials are kept only as HA1 values
//! (`H(user:realm:password)`, one per algorithm), sealed under the
//! installation's secrets key. The request a device sent (positions, texts)
//! is sealed under the person's data key.
//!
//! [`Store::record_alarm`] is what makes an acknowledgement safe: it returns
//! only after the alarm is committed, and a repeat of the same `(device,
//! ref)` within [`REPEAT_WINDOW`] finds the stored alarm instead of making a
//! second one.

use crate::group::{self, Writes};
use crate::org::id_col;
use crate::seal::Fields;
use crate::{Backend, Result, Store, StoreError, Tx, from_ms, ms};
use sqlx::Row as _;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};
use std::collections::HashMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use trygg_crypto::DataKey;
use trygg_domain::{AlarmId, DeviceId, PersonId, TenantId, UnitId};
use zeroize::Zeroizing;

/// How long after its last repeat an alarm's `ref` still names it. A device
/// answered `snu=4` (hold) polls for at most 30 minutes; after a reconnect
/// it repeats what it had not had answered. A ref seen again later than
/// this is a new alarm (devices count their refs round).
pub const REPEAT_WINDOW: Duration = Duration::hours(2);

/// A device in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id.
    pub id: DeviceId,
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// The unit that answers its alarms.
    pub unit: UnitId,
    /// The person it is provisioned for.
    pub person: PersonId,
    /// The SIP Digest user name.
    pub sip_user: String,
    /// The SCAIP controller id (`cid`) it sends.
    pub cid: String,
    /// The SCAIP device type (`dty`).
    pub device_type: u16,
    /// The heartbeat interval it is supervised against.
    pub heartbeat: Duration,
    /// Whether it is refused.
    pub disabled: bool,
}

/// A device's Digest HA1 values, hex as in the Digest computation.
pub struct DeviceSecrets {
    /// `MD5(user:realm:password)`.
    pub ha1_md5: Zeroizing<String>,
    /// `SHA-256(user:realm:password)`.
    pub ha1_sha256: Zeroizing<String>,
}

impl std::fmt::Debug for DeviceSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceSecrets(..)")
    }
}

/// A device to provision.
#[derive(Debug)]
pub struct NewDevice<'a> {
    /// Tenant.
    pub tenant: TenantId,
    /// Unit.
    pub unit: UnitId,
    /// Person.
    pub person: PersonId,
    /// SIP user name (unique in the installation).
    pub sip_user: &'a str,
    /// SCAIP controller id (unique in the tenant).
    pub cid: &'a str,
    /// SCAIP device type.
    pub device_type: u16,
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// The credentials.
    pub secrets: &'a DeviceSecrets,
}

/// What kind of message an alarm row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    /// Someone needs help (no status code, or an alarm status code).
    Alarm,
    /// The device or its link needs attention (battery, power, link, missed heartbeat).
    Technical,
    /// Information that needs no one to act (presence, check-out, pill taken).
    Status,
}

impl AlarmKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::Alarm => "alarm",
            AlarmKind::Technical => "technical",
            AlarmKind::Status => "status",
        }
    }
}

/// A received request to record.
#[derive(Debug)]
pub struct IncomingAlarm<'a> {
    /// The SCAIP `ref`.
    pub reference: &'a str,
    /// Its kind.
    pub kind: AlarmKind,
    /// The SCAIP status code (`stc`), absent for a plain alarm.
    pub status_code: Option<u16>,
    /// The SCAIP priority (`pri`).
    pub priority: Option<u8>,
    /// The request in canonical form; sealed under the person's key.
    pub request: &'a str,
}

/// The outcome of [`Store::record_alarm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The alarm.
    pub alarm: AlarmId,
    /// True when the request repeated an alarm already stored.
    pub repeat: bool,
}

/// Writing when devices were heard, one statement per size in
/// `audit::ROWS_PER_STATEMENT`; the text is made once from constants, never
/// from input. A device's time only moves forward.
/// Devices whose last heartbeat one transaction writes.
const HEARD_PER_TRANSACTION: usize = 1_024;

/// How much later than its heartbeat asks the SIP receiver stores a
/// device's due time ([`Store::devices_heard`]'s `slack`). The receiver
/// supervises the devices it has heard from memory, exactly, and writes a
/// device's heard time only when the stored one no longer covers its next
/// heartbeat, about once in this time; the stored due time finds the
/// devices not heard since the receiver started.
pub const STORED_DUE_SLACK: Duration = Duration::minutes(5);

static HEARD: std::sync::LazyLock<[String; crate::audit::ROWS_PER_STATEMENT.len()]> =
    std::sync::LazyLock::new(|| {
        crate::audit::ROWS_PER_STATEMENT.map(|n| {
            format!(
                "UPDATE devices SET last_seen_at = v.column2, \
                 due_at = v.column2 + devices.heartbeat_s * 1000 + ${} \
                 FROM (VALUES {}) AS v WHERE devices.id = v.column1 \
                 AND (devices.last_seen_at IS NULL OR devices.last_seen_at < v.column2)",
                2 * n + 1,
                crate::audit::placeholders(n, 2)
            )
        })
    });

/// What a supervision row holds in place of a device's request.
fn supervision_note(event: &str, at: OffsetDateTime) -> String {
    format!("<supervision><{event}>{}</{event}></supervision>", ms(at))
}

/// A technical alarm raised by supervision, not by the device; `note`
/// is what its row holds (sealed before the transaction).
fn technical<'a>(reference: &'a str, note: &'a str) -> IncomingAlarm<'a> {
    IncomingAlarm {
        reference,
        kind: AlarmKind::Technical,
        status_code: None,
        priority: None,
        request: note,
    }
}

/// An alarm without its personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmSummary {
    /// When it was first received.
    pub received_at: OffsetDateTime,
    /// `alarm`, `technical` or `status`.
    pub kind: String,
    /// Where it is in the workflow.
    pub state: String,
    /// The device's `ref`.
    pub reference: String,
}

fn device_from_row(row: &AnyRow) -> Result<Device> {
    let device_type: i64 = row.try_get("device_type")?;
    let heartbeat_s: i64 = row.try_get("heartbeat_s")?;
    Ok(Device {
        id: id_col(row, "id")?,
        tenant: id_col(row, "tenant_id")?,
        unit: id_col(row, "unit_id")?,
        person: id_col(row, "person_id")?,
        sip_user: row.try_get("sip_user")?,
        cid: row.try_get("cid")?,
        device_type: u16::try_from(device_type)
            .map_err(|_| StoreError::Corrupt(format!("device type {device_type}")))?,
        heartbeat: Duration::seconds(heartbeat_s),
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
    })
}

/// The columns `device_from_row` reads, as a literal for `concat!`.
macro_rules! device_columns {
    () => {
        "id, tenant_id, unit_id, person_id, sip_user, cid, device_type, heartbeat_s, disabled_at"
    };
}

fn secret_context(device: DeviceId, field: &str) -> Vec<u8> {
    format!("devices/{device}/{field}").into_bytes()
}

impl Tx<'_> {
    /// Provisions a device. The unit and person must be the tenant's.
    pub async fn add_device(&mut self, new: &NewDevice<'_>) -> Result<Device> {
        let id = DeviceId::generate(self.store.clock.as_ref());
        let secrets = self.store.keys.secrets();
        let md5 = secrets.seal(
            new.secrets.ha1_md5.as_bytes(),
            &secret_context(id, "ha1_md5"),
        )?;
        let sha256 = secrets.seal(
            new.secrets.ha1_sha256.as_bytes(),
            &secret_context(id, "ha1_sha256"),
        )?;
        let heartbeat_s = new.heartbeat.whole_seconds();
        sqlx::query(
            "INSERT INTO devices (id, tenant_id, unit_id, person_id, sip_user, cid, device_type, \
             ha1_md5, ha1_sha256, heartbeat_s, created_at, due_at) \
             SELECT $1, $2, u.id, p.id, $5, $6, $7, $8, $9, $10, $11, $12 FROM units u, persons p \
             WHERE u.id = $3 AND u.tenant_id = $2 AND p.id = $4 AND p.tenant_id = $2",
        )
        .bind(id.to_string())
        .bind(new.tenant.to_string())
        .bind(new.unit.to_string())
        .bind(new.person.to_string())
        .bind(new.sip_user)
        .bind(new.cid)
        .bind(i64::from(new.device_type))
        .bind(md5)
        .bind(sha256)
        .bind(heartbeat_s)
        .bind(ms(self.now()))
        .bind(ms(self.now() + new.heartbeat))
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            crate::error::constraint(
                e,
                "a device with this SIP user or cid already exists",
                "unit or person",
            )
        })
        .and_then(|done| {
            if done.rows_affected() == 1 {
                Ok(())
            } else {
                Err(StoreError::UnknownReference("unit or person of the tenant"))
            }
        })?;
        Ok(Device {
            id,
            tenant: new.tenant,
            unit: new.unit,
            person: new.person,
            sip_user: new.sip_user.to_owned(),
            cid: new.cid.to_owned(),
            device_type: new.device_type,
            heartbeat: Duration::seconds(heartbeat_s),
            disabled: false,
        })
    }

    /// Disables the tenant's device with SIP user name `sip_user` (a lost or
    /// stolen one: the receivers refuse it within a second), or enables it
    /// again. Returns the device as it now is.
    pub async fn set_device_disabled(
        &mut self,
        tenant: TenantId,
        sip_user: &str,
        disabled: bool,
    ) -> Result<Device> {
        let at = disabled.then(|| ms(self.now()));
        let done = sqlx::query(
            "UPDATE devices SET disabled_at = $1 WHERE tenant_id = $2 AND sip_user = $3",
        )
        .bind(at)
        .bind(tenant.to_string())
        .bind(sip_user)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound("device"));
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            " FROM devices WHERE tenant_id = $1 AND sip_user = $2"
        ))
        .bind(tenant.to_string())
        .bind(sip_user)
        .fetch_one(&mut *self.tx)
        .await?;
        device_from_row(&row)
    }
}

/// An alarm's id and its request sealed under the person's key, made
/// before the transaction (opening the key needs a connection of its own),
/// with the id of the key it was sealed under: the insert writes the alarm
/// only while that is still the person's key.
struct SealedAlarm {
    id: AlarmId,
    request: Vec<u8>,
    key_id: String,
}

impl SealedAlarm {
    fn new(
        clock: &dyn trygg_domain::Clock,
        key_id: &str,
        key: &DataKey,
        request: &str,
    ) -> Result<Self> {
        let id = AlarmId::generate(clock);
        let request = Fields::new(key, "alarms", id).seal("request", request)?;
        Ok(Self {
            id,
            request,
            key_id: key_id.to_owned(),
        })
    }
}

impl Store {
    async fn seal_alarm(&self, device: &Device, request: &str) -> Result<SealedAlarm> {
        let (key_id, key) = self.person_key_and_id(device.tenant, device.person).await?;
        SealedAlarm::new(self.clock.as_ref(), &key_id, &key, request)
    }
}

/// How long the alarm path uses a person's data key it opened before it
/// reads the key again.
const REMEMBERED_KEY_TTL: Duration = Duration::minutes(10);
/// The most person keys remembered (a few hundred bytes each).
const MAX_REMEMBERED_KEYS: usize = 100_000;

/// The data keys of persons whose devices alarmed lately, so that an alarm
/// costs no key read before its commit (one hand-over to the database less
/// between a device's request and its acknowledgement).
///
/// A remembered key is never trusted on its own word: an alarm's insert
/// writes nothing unless the key it was sealed under is still the person's
/// (`data_key_id` checked in the same statement), so an erasure anywhere,
/// by this process or another on the same database, takes effect at the
/// next alarm; the alarm is then sealed again with the key read afresh (or
/// refused, the person being erased). This process also forgets the key
/// at once when it erases the person. Keys are zeroized when dropped.
#[derive(Default)]
pub(crate) struct RememberedKeys {
    keys: std::sync::Mutex<HashMap<(TenantId, PersonId), RememberedKey>>,
}

struct RememberedKey {
    id: String,
    key: Arc<DataKey>,
    read_at: OffsetDateTime,
}

impl std::fmt::Debug for RememberedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RememberedKeys(..)")
    }
}

impl RememberedKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, PersonId), RememberedKey>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(
        &self,
        tenant: TenantId,
        person: PersonId,
        now: OffsetDateTime,
    ) -> Option<(String, Arc<DataKey>)> {
        let mut keys = self.lock();
        match keys.get(&(tenant, person)) {
            Some(k) if now - k.read_at < REMEMBERED_KEY_TTL => Some((k.id.clone(), k.key.clone())),
            Some(_) => {
                keys.remove(&(tenant, person));
                None
            }
            None => None,
        }
    }

    fn remember(
        &self,
        tenant: TenantId,
        person: PersonId,
        id: String,
        key: Arc<DataKey>,
        now: OffsetDateTime,
    ) {
        let mut keys = self.lock();
        if keys.len() >= MAX_REMEMBERED_KEYS {
            keys.retain(|_, k| now - k.read_at < REMEMBERED_KEY_TTL);
            if keys.len() >= MAX_REMEMBERED_KEYS {
                keys.clear();
            }
        }
        keys.insert(
            (tenant, person),
            RememberedKey {
                id,
                key,
                read_at: now,
            },
        );
    }

    /// Forgets a person's key (erased, or refused by an insert).
    pub(crate) fn forget(&self, tenant: TenantId, person: PersonId) {
        self.lock().remove(&(tenant, person));
    }
}

/// An alarm's row, ready to be written.
pub(crate) struct AlarmRow {
    device: DeviceId,
    tenant: TenantId,
    person: PersonId,
    unit: UnitId,
    reference: String,
    kind: AlarmKind,
    status_code: Option<u16>,
    priority: Option<u8>,
    sealed: SealedAlarm,
}

impl AlarmRow {
    fn new(device: &Device, incoming: &IncomingAlarm<'_>, sealed: SealedAlarm) -> Self {
        Self {
            device: device.id,
            tenant: device.tenant,
            person: device.person,
            unit: device.unit,
            reference: incoming.reference.to_owned(),
            kind: incoming.kind,
            status_code: incoming.status_code,
            priority: incoming.priority,
            sealed,
        }
    }
}

/// Inserts the alarm, or, while its `(device, ref)` names a live alarm
/// repeated within [`REPEAT_WINDOW`], counts a repeat of that one. One
/// statement in the usual case; a ref whose live alarm is older than the
/// window is first retired (its own statement, harmless on its own: the
/// old alarm no longer matches either way) and the insert made again.
async fn insert_alarm(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
    row: &AlarmRow,
) -> Result<Recorded> {
    let window = ms(now - REPEAT_WINDOW);
    let upsert = || {
        sqlx::query(
            "INSERT INTO alarms (id, tenant_id, device_id, person_id, unit_id, ref, kind, \
             status_code, priority, request, received_at, last_repeat_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11 \
             WHERE EXISTS (SELECT 1 FROM persons WHERE id = $4 AND data_key_id = $13) \
             ON CONFLICT (device_id, ref) WHERE ref_live = 1 \
             DO UPDATE SET repeats = alarms.repeats + 1, last_repeat_at = $11 \
             WHERE alarms.last_repeat_at >= $12 \
             RETURNING id, repeats",
        )
        .bind(row.sealed.id.to_string())
        .bind(row.tenant.to_string())
        .bind(row.device.to_string())
        .bind(row.person.to_string())
        .bind(row.unit.to_string())
        .bind(row.reference.as_str())
        .bind(row.kind.as_str())
        .bind(row.status_code.map(i64::from))
        .bind(row.priority.map(i64::from))
        .bind(row.sealed.request.as_slice())
        .bind(ms(now))
        .bind(window)
        .bind(row.sealed.key_id.as_str())
    };
    let found = match upsert().fetch_optional(&mut *conn).await? {
        Some(found) => found,
        None => {
            sqlx::query(
                "UPDATE alarms SET ref_live = 0 \
                 WHERE device_id = $1 AND ref = $2 AND ref_live = 1 AND last_repeat_at < $3",
            )
            .bind(row.device.to_string())
            .bind(row.reference.as_str())
            .bind(window)
            .execute(&mut *conn)
            .await?;
            match upsert().fetch_optional(&mut *conn).await? {
                Some(found) => found,
                None => return Err(key_gone(conn, row).await),
            }
        }
    };
    Ok(Recorded {
        alarm: id_col(&found, "id")?,
        repeat: found.try_get::<i64, _>("repeats")? > 0,
    })
}

/// Why an alarm was neither inserted nor repeated: the key it was sealed
/// under is no longer the person's.
async fn key_gone(conn: &mut AnyConnection, row: &AlarmRow) -> StoreError {
    let current =
        sqlx::query_scalar::<_, Option<String>>("SELECT data_key_id FROM persons WHERE id = $1")
            .bind(row.person.to_string())
            .fetch_optional(&mut *conn)
            .await;
    match current {
        Ok(Some(None)) => StoreError::Erased("person"),
        Ok(Some(Some(id))) if id != row.sealed.key_id => {
            StoreError::Conflict("the person's data key changed while the alarm was sealed".into())
        }
        Ok(None) => StoreError::NotFound("person"),
        Ok(Some(Some(_))) => StoreError::Corrupt("an alarm neither inserted nor repeated".into()),
        Err(e) => e.into(),
    }
}

impl Tx<'_> {
    /// Inserts an alarm, or counts a repeat of the live `(device, ref)`.
    async fn insert_alarm(
        &mut self,
        device: &Device,
        incoming: &IncomingAlarm<'_>,
        sealed: SealedAlarm,
    ) -> Result<Recorded> {
        let now = self.now();
        insert_alarm(&mut self.tx, now, &AlarmRow::new(device, incoming, sealed)).await
    }
}

/// Received alarms, group-committed (see [`crate::group`]): a lone alarm is
/// one statement on its own; a group shares one transaction, and if that
/// fails (a deadlock between two groups on PostgreSQL, a device removed
/// meanwhile) each of its alarms is written again on its own, so that one
/// alarm's trouble is never another's.
pub(crate) struct AlarmWrites {
    pub(crate) clock: std::sync::Arc<dyn trygg_domain::Clock>,
}

impl AlarmWrites {
    async fn one(&self, pool: &AnyPool, row: &AlarmRow) -> Result<Recorded> {
        let mut conn = pool.acquire().await?;
        insert_alarm(&mut conn, self.clock.now(), row).await
    }

    async fn together(
        &self,
        pool: &AnyPool,
        backend: Backend,
        group: &[AlarmRow],
    ) -> Result<Vec<Recorded>> {
        let mut tx = crate::group::begin(pool, backend).await?;
        let mut recorded = Vec::with_capacity(group.len());
        for row in group {
            recorded.push(insert_alarm(&mut tx, self.clock.now(), row).await?);
        }
        tx.commit().await?;
        Ok(recorded)
    }
}

impl Writes for AlarmWrites {
    type Item = AlarmRow;
    type Output = Recorded;

    async fn write(
        &self,
        pool: &AnyPool,
        backend: Backend,
        group: Vec<AlarmRow>,
    ) -> Vec<group::Outcome<Recorded>> {
        if group.len() > 1 {
            match self.together(pool, backend, &group).await {
                Ok(recorded) => return recorded.into_iter().map(Ok).collect(),
                Err(e) => tracing::warn!(alarms = group.len(), error = %e,
                    "a group of alarms was not committed: writing each on its own"),
            }
        }
        let mut outcomes = Vec::with_capacity(group.len());
        for row in &group {
            outcomes.push(self.one(pool, row).await.map_err(std::sync::Arc::new));
        }
        outcomes
    }
}

impl Store {
    /// The device with this SIP user name and its credentials, if any.
    pub async fn device_by_sip_user(&self, user: &str) -> Result<Option<(Device, DeviceSecrets)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            ", ha1_md5, ha1_sha256 FROM devices WHERE sip_user = $1"
        ))
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let device = device_from_row(&row)?;
        let open = |field: &str| -> Result<Zeroizing<String>> {
            let sealed: Vec<u8> = row.try_get(field)?;
            let bytes = self
                .keys
                .secrets()
                .open(&sealed, &secret_context(device.id, field))?;
            String::from_utf8(bytes.to_vec())
                .map(Zeroizing::new)
                .map_err(|_| StoreError::Corrupt(format!("devices.{field}")))
        };
        let secrets = DeviceSecrets {
            ha1_md5: open("ha1_md5")?,
            ha1_sha256: open("ha1_sha256")?,
        };
        Ok(Some((device, secrets)))
    }

    /// The device registry's version: it changes whenever a device is
    /// changed in a way a receiver's memory of it must follow (migration
    /// 0013), whoever changed it.
    pub async fn device_registry_version(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT version FROM device_registry WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// A tenant's devices, by SIP user name.
    pub async fn devices(&self, tenant: TenantId) -> Result<Vec<Device>> {
        sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            " FROM devices WHERE tenant_id = $1 ORDER BY sip_user"
        ))
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(device_from_row)
        .collect()
    }

    /// Records a request from a device and commits it before returning: a
    /// new alarm, or the alarm it repeats (same `ref` within
    /// [`REPEAT_WINDOW`] of that alarm's last repeat). Safe against
    /// concurrent repeats: the live `(device, ref)` is unique in the
    /// database, so exactly one of them creates the alarm.
    pub async fn record_alarm(
        &self,
        device: &Device,
        incoming: &IncomingAlarm<'_>,
    ) -> Result<Recorded> {
        let (tenant, person) = (device.tenant, device.person);
        if let Some((key_id, key)) = self.remembered_keys.get(tenant, person, self.clock.now()) {
            match self.write_sealed(device, incoming, &key_id, &key).await {
                Ok(recorded) => return Ok(recorded),
                // Erased or otherwise refused: read the key afresh and try
                // once more (the insert is idempotent by `(device, ref)`).
                Err(e) => {
                    tracing::debug!(error = %e, "an alarm sealed with a remembered key was refused");
                    self.remembered_keys.forget(tenant, person);
                }
            }
        }
        let (key_id, key) = self.person_key_and_id(tenant, person).await?;
        let recorded = self.write_sealed(device, incoming, &key_id, &key).await?;
        self.remembered_keys
            .remember(tenant, person, key_id, Arc::new(key), self.clock.now());
        Ok(recorded)
    }

    /// Seals the alarm under `key` and writes it (group-committed).
    async fn write_sealed(
        &self,
        device: &Device,
        incoming: &IncomingAlarm<'_>,
        key_id: &str,
        key: &DataKey,
    ) -> Result<Recorded> {
        let sealed = SealedAlarm::new(self.clock.as_ref(), key_id, key, incoming.request)?;
        self.alarms
            .write(AlarmRow::new(device, incoming, sealed))
            .await
    }

    /// The devices reported silent and not heard since (few: found through
    /// a partial index, not by reading the registry).
    pub async fn silent_devices(&self) -> Result<std::collections::HashSet<DeviceId>> {
        sqlx::query("SELECT id FROM devices WHERE silent_since IS NOT NULL")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| id_col(row, "id"))
            .collect()
    }

    /// Records that devices were heard (each at its latest time): their
    /// next heartbeat is due one interval and `slack` later (zero for a
    /// writer that records every sign of life; the SIP receiver's
    /// [`STORED_DUE_SLACK`]). A device that had been reported silent is
    /// heard again: its silence ends and a technical alarm says so, next to
    /// the one that reported it. Returns the devices heard again.
    pub async fn devices_heard(
        &self,
        heard: &[(DeviceId, OffsetDateTime)],
        slack: Duration,
    ) -> Result<Vec<DeviceId>> {
        let slack_ms = i64::try_from(slack.whole_milliseconds().max(0)).unwrap_or(i64::MAX);
        let now = self.clock.now();
        let heard_note = supervision_note("heard-again", now);
        // The silent ones among them (few), prepared before the transaction.
        let silent = self.silent_devices().await?;
        let mut back = Vec::new();
        for (id, _) in heard {
            if silent.contains(id) {
                let device = self.device(*id).await?;
                let sealed = self.seal_alarm(&device, &heard_note).await?;
                back.push((device, sealed));
            }
        }
        // Many devices per statement: at 5,000 heartbeats a second, a round
        // writes tens of thousands of devices. A transaction of its own per
        // HEARD_PER_TRANSACTION of them, so that an alarm's commit waits for
        // SQLite's one writer a few milliseconds, not for the whole round.
        let rows: Vec<(String, i64)> = heard
            .iter()
            .map(|(d, at)| (d.to_string(), ms(*at)))
            .collect();
        let budget = crate::audit::statement_bytes(self.backend);
        for chunk in rows.chunks(HEARD_PER_TRANSACTION) {
            let mut tx = self.begin().await?;
            for (size, run) in crate::audit::runs(chunk, |(id, _)| id.len() + 20, budget) {
                let sql = HEARD
                    .get(size)
                    .ok_or_else(|| StoreError::Corrupt("devices heard statement size".into()))?;
                let mut query = sqlx::query(sql.as_str());
                for (id, at) in run {
                    query = query.bind(id.as_str()).bind(*at);
                }
                query.bind(slack_ms).execute(&mut *tx.tx).await?;
            }
            tx.commit().await?;
        }
        let mut ended = Vec::new();
        if back.is_empty() {
            return Ok(ended);
        }
        let mut tx = self.begin().await?;
        for (device, sealed) in back {
            let was_silent = sqlx::query(
                "UPDATE devices SET silent_since = NULL WHERE id = $1 AND silent_since IS NOT NULL",
            )
            .bind(device.id.to_string())
            .execute(&mut *tx.tx)
            .await?
            .rows_affected()
                == 1;
            if was_silent {
                let reference = format!("heard{}", ms(now));
                tx.insert_alarm(&device, &technical(&reference, &heard_note), sealed)
                    .await?;
                ended.push(device.id);
            }
        }
        tx.commit().await?;
        Ok(ended)
    }

    /// Devices whose heartbeat was due before `cutoff` and that are not yet
    /// reported silent (at most `limit`, the longest overdue first).
    pub async fn overdue_devices(&self, cutoff: OffsetDateTime, limit: i64) -> Result<Vec<Device>> {
        sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            " FROM devices WHERE silent_since IS NULL AND disabled_at IS NULL AND due_at < $1 \
             ORDER BY due_at LIMIT $2"
        ))
        .bind(ms(cutoff))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(device_from_row)
        .collect()
    }

    /// Reports a device silent: a technical alarm, once per silence (a
    /// device already reported gives `None`).
    pub async fn report_silent(&self, device: &Device) -> Result<Option<Recorded>> {
        let now = self.clock.now();
        let note = supervision_note("missed-heartbeat", now);
        let sealed = self.seal_alarm(device, &note).await?;
        let mut tx = self.begin().await?;
        let marked = sqlx::query(
            "UPDATE devices SET silent_since = $1 WHERE id = $2 AND silent_since IS NULL",
        )
        .bind(ms(now))
        .bind(device.id.to_string())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if marked != 1 {
            return Ok(None);
        }
        let reference = format!("silent{}", ms(now));
        let recorded = tx
            .insert_alarm(device, &technical(&reference, &note), sealed)
            .await?;
        tx.commit().await?;
        Ok(Some(recorded))
    }

    /// One device by id.
    pub async fn device(&self, id: DeviceId) -> Result<Device> {
        let row = sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            " FROM devices WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("device"))?;
        device_from_row(&row)
    }

    /// The technical alarms of a device (id and ref), oldest first: counts
    /// and references only, no personal data (for supervision and tests).
    pub async fn technical_alarms(&self, device: DeviceId) -> Result<Vec<(AlarmId, String)>> {
        sqlx::query(
            "SELECT id, ref FROM alarms WHERE device_id = $1 AND kind = 'technical' \
             ORDER BY received_at, id",
        )
        .bind(device.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| Ok((id_col(row, "id")?, row.try_get("ref")?)))
        .collect()
    }

    /// How many alarm rows a device has and how many repeats they absorbed:
    /// counts only, no personal data (for supervision and tests).
    pub async fn alarm_counts(&self, device: DeviceId) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(repeats), 0) AS BIGINT) AS r FROM alarms WHERE device_id = $1",
        )
        .bind(device.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("r")?))
    }

    /// Every alarm row of a device: its `ref`, its kind (`alarm`,
    /// `technical`, `status`) and the repeats it absorbed, in `ref` order;
    /// no personal data (for supervision and the kill -9 loop, which checks
    /// that each acknowledged `ref` is stored exactly once; the kind tells
    /// what a device sent from what the receiver raised itself, such as a
    /// missed heartbeat). A `ref` is listed twice only if it was reused
    /// after [`REPEAT_WINDOW`]; retired rows are included.
    pub async fn alarm_refs(&self, device: DeviceId) -> Result<Vec<(String, String, i64)>> {
        sqlx::query("SELECT ref, kind, repeats FROM alarms WHERE device_id = $1 ORDER BY ref, id")
            .bind(device.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("ref")?,
                    row.try_get("kind")?,
                    row.try_get("repeats")?,
                ))
            })
            .collect()
    }

    /// When an alarm was received, and its kind, state and ref (no personal data).
    pub async fn alarm_summary(&self, alarm: AlarmId) -> Result<AlarmSummary> {
        let row = sqlx::query("SELECT received_at, kind, state, ref FROM alarms WHERE id = $1")
            .bind(alarm.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("alarm"))?;
        Ok(AlarmSummary {
            received_at: from_ms(row.try_get("received_at")?)?,
            kind: row.try_get("kind")?,
            state: row.try_get("state")?,
            reference: row.try_get("ref")?,
        })
    }
}
