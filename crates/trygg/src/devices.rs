//! Provisioning safety-alarm devices: the checks `trygg admin device add`
//! and `trygg admin device import` share, and the CSV import.
//!
//! An import checks every row first (person, unit, controller id, device
//! type, SIP user name, heartbeat, duplicates in the file and in the
//! registry). If any row is bad, nothing is imported and every bad row is
//! reported with its line number, unless `--skip-bad`. The import is one
//! transaction. Rows without a password get a generated one, printed once
//! for the installer (Trygg keeps only the Digest hashes).

use crate::import::{BadRow, MAX_ROWS, Report};
use anyhow::{Context as _, bail};
use std::collections::HashSet;
use std::path::Path;
use trygg_domain::{IdentityNumber, PersonId, Tenant, UnitId};
use trygg_store::{NewDevice, Store};
use zeroize::Zeroizing;

/// The shortest password accepted for a device whose password is set at
/// the factory (generated ones have 20 characters).
pub const MIN_PASSWORD: usize = 12;

/// A SIP user name: 1 to 64 letters, digits, `-`, `_` or `.`.
pub fn check_user(user: &str) -> Result<(), String> {
    let ok = !user.is_empty()
        && user.len() <= 64
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 64 letters, digits, '-', '_' or '.'".into())
    }
}

/// A heartbeat interval in minutes, SCAIP's range.
pub fn check_heartbeat(minutes: u32) -> Result<(), String> {
    if (1..=1440).contains(&minutes) {
        Ok(())
    } else {
        Err("must be 1 to 1440 minutes (SCAIP's range)".into())
    }
}

/// A device ready to be added.
struct Row {
    person: PersonId,
    unit: UnitId,
    cid: String,
    user: String,
    device_type: u16,
    heartbeat: u32,
    password: Option<Zeroizing<String>>,
}

/// A device provisioned by an import with a generated password: what the
/// installer loads into it.
#[derive(Debug)]
pub struct Provisioned {
    /// SIP user name.
    pub user: String,
    /// The generated password (shown once).
    pub password: Zeroizing<String>,
    /// SCAIP controller id.
    pub cid: String,
}

/// Imports devices from a CSV file: `personnummer` (or a person id),
/// `unit`, `cid`, and optionally `sip_user` (default: the cid),
/// `device_type` (default 0001), `heartbeat_minutes` (default 60) and
/// `password` (default: generated).
pub async fn import_file(
    store: &Store,
    tenant: &Tenant,
    realm: &str,
    path: &Path,
    skip_bad: bool,
) -> anyhow::Result<(Report, Vec<Provisioned>)> {
    let text = crate::import::read_text(path)?;
    let mut reader = crate::import::reader(&text);
    let headers: Vec<String> = reader
        .headers()
        .context("cannot read the header row")?
        .iter()
        .map(|h| h.trim().to_lowercase().replace(['-', ' '], "_"))
        .collect();
    const KNOWN: [&str; 7] = [
        "personnummer",
        "unit",
        "cid",
        "sip_user",
        "device_type",
        "heartbeat_minutes",
        "password",
    ];
    for (i, h) in headers.iter().enumerate() {
        if !KNOWN.contains(&h.as_str()) {
            bail!(
                "line 1: unknown column {h:?}; device columns are: {}",
                KNOWN.join(", ")
            );
        }
        if headers.iter().take(i).any(|o| o == h) {
            bail!("line 1: column {h:?} appears twice");
        }
    }
    for required in ["personnummer", "unit", "cid"] {
        if !headers.iter().any(|h| h == required) {
            bail!("line 1: the required column {required} is missing");
        }
    }

    let today = store.clock().today();
    let mut report = Report::default();
    let mut good = Vec::new();
    let (mut users, mut cids) = (HashSet::new(), HashSet::new());
    let known_cids: HashSet<String> = store
        .devices(tenant.id)
        .await?
        .into_iter()
        .map(|d| d.cid)
        .collect();
    for record in reader.records() {
        report.rows += 1;
        if report.rows > MAX_ROWS {
            bail!("the file has more than {MAX_ROWS} rows: split it");
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report.bad.push(BadRow {
                    line,
                    reasons: vec![format!("cannot be read: {e}")],
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
        };
        let mut reasons = Vec::new();
        let person = match get("personnummer") {
            None => {
                reasons.push("personnummer is empty".to_owned());
                None
            }
            Some(key) => {
                let found = match key.parse::<PersonId>() {
                    Ok(id) => Ok(store.unsafe_person(tenant.id, id).await.ok().map(|p| p.id)),
                    Err(_) => match IdentityNumber::parse(key, today) {
                        Ok(number) => Ok(store
                            .unsafe_find_person(tenant.id, &number)
                            .await
                            .ok()
                            .map(|p| p.id)),
                        Err(e) => Err(format!("personnummer: {e}")),
                    },
                };
                match found {
                    Ok(Some(id)) => Some(id),
                    Ok(None) => {
                        reasons.push("personnummer: no such person in this tenant".to_owned());
                        None
                    }
                    Err(e) => {
                        reasons.push(e);
                        None
                    }
                }
            }
        };
        let unit = match get("unit") {
            None => {
                reasons.push("unit is empty".to_owned());
                None
            }
            Some(name) => match store.find_unit(tenant.id, name).await {
                Ok(u) => Some(u.id),
                Err(_) => {
                    reasons.push(format!("unit: no unit {name:?}"));
                    None
                }
            },
        };
        let cid = match get("cid").map(str::parse::<trygg_scaip::ControllerId>) {
            Some(Ok(c)) => Some(c.as_str().to_owned()),
            Some(Err(e)) => {
                reasons.push(format!("cid: {e}"));
                None
            }
            None => {
                reasons.push("cid is empty".to_owned());
                None
            }
        };
        let user = get("sip_user").map(str::to_owned).or_else(|| cid.clone());
        if let Some(u) = &user {
            if let Err(e) = check_user(u) {
                reasons.push(format!("sip_user: {e}"));
            } else if !users.insert(u.clone()) {
                reasons.push(format!("sip_user {u:?} appears twice in the file"));
            } else if store.device_by_sip_user(u).await?.is_some() {
                reasons.push(format!("sip_user {u:?} is already a device"));
            }
        }
        if let Some(c) = &cid {
            if !cids.insert(c.clone()) {
                reasons.push(format!("cid {c} appears twice in the file"));
            } else if known_cids.contains(c) {
                reasons.push(format!("cid {c} is already a device"));
            }
        }
        let device_type = match get("device_type")
            .unwrap_or("0001")
            .parse::<trygg_scaip::DeviceType>()
        {
            Ok(d) => d.value(),
            Err(e) => {
                reasons.push(format!("device_type: {e}"));
                0
            }
        };
        // Not a number: out of range, reported as such.
        let heartbeat = get("heartbeat_minutes")
            .unwrap_or("60")
            .parse::<u32>()
            .unwrap_or(u32::MAX);
        if let Err(e) = check_heartbeat(heartbeat) {
            reasons.push(format!("heartbeat_minutes: {e}"));
        }
        let password = get("password").map(|p| Zeroizing::new(p.to_owned()));
        if password
            .as_ref()
            .is_some_and(|p| p.chars().count() < MIN_PASSWORD)
        {
            reasons.push(format!("password: at least {MIN_PASSWORD} characters"));
        }
        match (reasons.is_empty(), person, unit, cid, user) {
            (true, Some(person), Some(unit), Some(cid), Some(user)) => good.push(Row {
                person,
                unit,
                cid,
                user,
                device_type,
                heartbeat,
                password,
            }),
            _ => report.bad.push(BadRow { line, reasons }),
        }
    }
    if !report.bad.is_empty() && !skip_bad {
        return Ok((report, Vec::new()));
    }
    let mut provisioned = Vec::new();
    let mut tx = store.begin().await?;
    for row in &good {
        let (password, generated) = match &row.password {
            Some(p) => (p.clone(), false),
            None => (Zeroizing::new(trygg_alarm::generate_password()?), true),
        };
        let secrets = trygg_alarm::device_secrets(&row.user, realm, &password);
        tx.add_device(&NewDevice {
            tenant: tenant.id,
            unit: row.unit,
            person: row.person,
            sip_user: &row.user,
            cid: &row.cid,
            device_type: row.device_type,
            heartbeat: time::Duration::minutes(i64::from(row.heartbeat)),
            secrets: &secrets,
        })
        .await?;
        if generated {
            provisioned.push(Provisioned {
                user: row.user.clone(),
                password,
                cid: row.cid.clone(),
            });
        }
    }
    tx.commit().await?;
    report.imported = good.len();
    Ok((report, provisioned))
}
