//! CSV import of staff and persons.
//!
//! Every row is checked first (identity numbers, names, contact data, unit
//! references, duplicates within the file and against the database). If any
//! row is bad, nothing is imported and every bad row is reported with its line
//! number and all its problems — unless `--skip-bad`, which imports the good
//! rows. The import itself is one transaction: it all lands or none of it.

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::Path;
use trygg_domain::{
    Address, CareParty, Email, HsaId, IdentityNumber, Period, PersonDetails, PersonName, Phone,
    Role, RoleAssignment, StaffDetails, Tenant, UnitId,
};
use trygg_store::Store;

/// Largest file accepted.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Most rows accepted in one file.
pub const MAX_ROWS: usize = 200_000;

/// What is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Staff members.
    Staff,
    /// Persons receiving care.
    Persons,
}

/// A row that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// Line in the file (1-based; the header is line 1).
    pub line: u64,
    /// Everything wrong with it.
    pub reasons: Vec<String>,
}

/// The outcome of an import.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Data rows in the file.
    pub rows: usize,
    /// Rows imported.
    pub imported: usize,
    /// Rows refused.
    pub bad: Vec<BadRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    IdentityNumber,
    GivenName,
    FamilyName,
    Address,
    Phone,
    Email,
    Protected,
    Unit,
    Role,
    HsaId,
}

fn column(header: &str, kind: Kind) -> Option<Col> {
    let h = header.trim().to_lowercase().replace(['-', ' '], "_");
    let col = match h.as_str() {
        "personnummer" | "pnr" | "identity_number" => Col::IdentityNumber,
        "given_name" | "förnamn" | "fornamn" => Col::GivenName,
        "family_name" | "efternamn" => Col::FamilyName,
        "phone" | "telefon" => Col::Phone,
        "email" | "e_mail" | "e_post" | "epost" => Col::Email,
        "unit" | "enhet" => Col::Unit,
        "address" | "adress" if kind == Kind::Persons => Col::Address,
        "protected_identity" | "skyddad_identitet" if kind == Kind::Persons => Col::Protected,
        "role" | "roll" if kind == Kind::Staff => Col::Role,
        "hsa_id" if kind == Kind::Staff => Col::HsaId,
        _ => return None,
    };
    Some(col)
}

enum Row {
    Staff {
        details: StaffDetails,
        unit: Option<UnitId>,
        role: Option<Role>,
    },
    Person {
        details: PersonDetails,
        protected: bool,
        unit: Option<UnitId>,
    },
}

/// Reads and imports a CSV file.
pub async fn import_file(
    store: &Store,
    tenant: &Tenant,
    kind: Kind,
    path: &Path,
    skip_bad: bool,
) -> anyhow::Result<Report> {
    let text = read_text(path)?;
    import_csv(store, tenant, kind, &text, skip_bad).await
}

/// A CSV file's text: at most [`MAX_FILE_BYTES`], UTF-8.
pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!(
            "{} is {size} bytes; the largest file accepted is {MAX_FILE_BYTES} bytes: split it",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (byte {}); save it as \"CSV UTF-8\"",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// A reader of CSV text as spreadsheets save it: an optional byte-order
/// mark, `;` or `,` between fields (whichever the header uses), fields
/// trimmed, every row as long as the header.
pub(crate) fn reader(text: &str) -> csv::Reader<&[u8]> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains(';') && !first_line.contains(',') {
        b';'
    } else {
        b','
    };
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes())
}

/// Imports CSV text (see the module documentation).
pub async fn import_csv(
    store: &Store,
    tenant: &Tenant,
    kind: Kind,
    text: &str,
    skip_bad: bool,
) -> anyhow::Result<Report> {
    let mut reader = reader(text);
    let headers = reader
        .headers()
        .context("cannot read the header row")?
        .clone();
    let mut columns: Vec<Option<Col>> = Vec::with_capacity(headers.len());
    for h in &headers {
        match column(h, kind) {
            Some(c) if columns.contains(&Some(c)) => bail!("line 1: column {h:?} appears twice"),
            Some(c) => columns.push(Some(c)),
            None => bail!(
                "line 1: unknown column {h:?}; {} columns are: {}",
                match kind {
                    Kind::Staff => "staff",
                    Kind::Persons => "person",
                },
                match kind {
                    Kind::Staff =>
                        "given_name, family_name, personnummer, hsa_id, email, phone, unit, role",
                    Kind::Persons =>
                        "personnummer, given_name, family_name, address, phone, email, protected_identity, unit",
                }
            ),
        }
    }
    let required: &[(Col, &str)] = match kind {
        Kind::Staff => &[
            (Col::GivenName, "given_name"),
            (Col::FamilyName, "family_name"),
        ],
        Kind::Persons => &[
            (Col::IdentityNumber, "personnummer"),
            (Col::GivenName, "given_name"),
            (Col::FamilyName, "family_name"),
        ],
    };
    for (col, name) in required {
        if !columns.contains(&Some(*col)) {
            bail!("line 1: the required column {name} is missing");
        }
    }

    let today = store.clock().today();
    let mut report = Report::default();
    let mut good: Vec<(u64, Row)> = Vec::new();
    let mut seen_numbers: HashMap<String, u64> = HashMap::new();
    let mut seen_hsa: HashMap<String, u64> = HashMap::new();
    let mut units: HashMap<String, Result<UnitId, String>> = HashMap::new();

    for record in reader.records() {
        report.rows += 1;
        if report.rows > MAX_ROWS {
            bail!("the file has more than {MAX_ROWS} rows: split it");
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        len, expected_len, ..
                    } => {
                        format!("has {len} fields, the header has {expected_len}")
                    }
                    _ => format!("cannot be read: {e}"),
                };
                report.bad.push(BadRow {
                    line,
                    reasons: vec![reason],
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |c: Col| -> Option<&str> {
            columns
                .iter()
                .position(|x| *x == Some(c))
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
        };
        let mut reasons = Vec::new();
        macro_rules! field {
            ($col:expr, $name:literal, $parse:expr) => {
                match get($col).map($parse).transpose() {
                    Ok(v) => v,
                    Err(e) => {
                        reasons.push(format!("{}: {}", $name, e));
                        None
                    }
                }
            };
        }
        let number = field!(Col::IdentityNumber, "personnummer", |s| {
            IdentityNumber::parse(s, today)
        });
        let given = field!(Col::GivenName, "given_name", PersonName::parse);
        let family = field!(Col::FamilyName, "family_name", PersonName::parse);
        let phone = field!(Col::Phone, "phone", Phone::parse);
        let email = field!(Col::Email, "email", Email::parse);
        let address = field!(Col::Address, "address", Address::parse);
        let hsa = field!(Col::HsaId, "hsa_id", HsaId::parse);
        let role = field!(Col::Role, "role", str::parse::<Role>);
        let protected = field!(Col::Protected, "protected_identity", parse_yes_no);
        if given.is_none() && get(Col::GivenName).is_none() {
            reasons.push("given_name is empty".to_owned());
        }
        if family.is_none() && get(Col::FamilyName).is_none() {
            reasons.push("family_name is empty".to_owned());
        }
        if kind == Kind::Persons && number.is_none() && get(Col::IdentityNumber).is_none() {
            reasons.push("personnummer is empty".to_owned());
        }
        let unit = match get(Col::Unit) {
            None => None,
            Some(name) => {
                if !units.contains_key(name) {
                    let found = match store.find_unit(tenant.id, name).await {
                        Ok(u) => Ok(u.id),
                        Err(trygg_store::StoreError::NotFound(_)) => {
                            Err(format!("unit: no unit {name:?} in {}", tenant.name))
                        }
                        Err(e) => return Err(e.into()),
                    };
                    units.insert(name.to_owned(), found);
                }
                match units.get(name) {
                    Some(Ok(id)) => Some(*id),
                    Some(Err(reason)) => {
                        reasons.push(reason.clone());
                        None
                    }
                    None => None,
                }
            }
        };
        if kind == Kind::Staff && get(Col::Role).is_some() != get(Col::Unit).is_some() {
            reasons.push("role and unit go together: give both or neither".to_owned());
        }
        if let Some(n) = &number {
            match seen_numbers.insert(n.canonical(), line) {
                Some(first) => reasons.push(format!("same personnummer as line {first}")),
                None => {
                    let exists = match kind {
                        Kind::Persons => store.person_exists(tenant.id, n).await?,
                        Kind::Staff => store.staff_exists(tenant.id, Some(n), None).await?,
                    };
                    if exists {
                        reasons.push("a record with this personnummer already exists".to_owned());
                    }
                }
            }
        }
        if let Some(h) = &hsa {
            match seen_hsa.insert(h.as_str().to_owned(), line) {
                Some(first) => reasons.push(format!("same hsa_id as line {first}")),
                None => {
                    if store.staff_exists(tenant.id, None, Some(h)).await? {
                        reasons.push("a staff member with this hsa_id already exists".to_owned());
                    }
                }
            }
        }
        match (reasons.is_empty(), given, family) {
            (true, Some(given_name), Some(family_name)) => {
                let row = match kind {
                    Kind::Staff => Row::Staff {
                        details: StaffDetails {
                            given_name,
                            family_name,
                            hsa_id: hsa,
                            identity_number: number,
                            email,
                            phone,
                        },
                        unit,
                        role,
                    },
                    Kind::Persons => match number {
                        Some(identity_number) => Row::Person {
                            details: PersonDetails {
                                identity_number,
                                given_name,
                                family_name,
                                address,
                                phone,
                                email,
                            },
                            protected: protected.unwrap_or(false),
                            unit,
                        },
                        None => continue,
                    },
                };
                good.push((line, row));
            }
            _ => report.bad.push(BadRow { line, reasons }),
        }
    }

    if !report.bad.is_empty() && !skip_bad {
        return Ok(report);
    }
    let progress = ProgressBar::new(good.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let now = store.clock().now();
    let mut tx = store.begin().await?;
    for (line, row) in &good {
        let result = match row {
            Row::Staff {
                details,
                unit,
                role,
            } => {
                async {
                    let id = tx.add_staff(tenant.id, details).await?;
                    if let (Some(unit), Some(role)) = (unit, role) {
                        tx.assign_role(
                            tenant.id,
                            RoleAssignment {
                                staff: id,
                                unit: *unit,
                                role: *role,
                            },
                        )
                        .await?;
                        tx.record_operator(
                            crate::admin::OPERATOR,
                            tenant.id,
                            None,
                            &format!("assign_role:{role}"),
                        )
                        .await?;
                    }
                    Ok::<_, trygg_store::StoreError>(())
                }
                .await
            }
            Row::Person {
                details,
                protected,
                unit,
            } => {
                async {
                    let id = tx.add_person(tenant.id, details, *protected).await?;
                    tx.record_operator(
                        crate::admin::OPERATOR,
                        tenant.id,
                        Some(id),
                        "create:person",
                    )
                    .await?;
                    if let Some(unit) = unit {
                        let period = Period::new(now, None)
                            .map_err(|e| trygg_store::StoreError::Corrupt(e.to_string()))?;
                        tx.add_care_relationship(tenant.id, id, CareParty::Unit(*unit), period)
                            .await?;
                    }
                    Ok(())
                }
                .await
            }
        };
        if let Err(e) = result {
            progress.abandon();
            bail!("line {line}: {e}; nothing was imported");
        }
        progress.inc(1);
    }
    tx.commit().await?;
    progress.finish_and_clear();
    report.imported = good.len();
    Ok(report)
}

fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "1" | "ja" | "j" | "yes" | "y" | "true" | "x" => Ok(true),
        "0" | "nej" | "n" | "no" | "false" => Ok(false),
        other => Err(format!("{other:?} is not ja/nej")),
    }
}
