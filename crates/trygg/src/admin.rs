//! `trygg admin …`: operators' tools. Each command opens the store (which
//! applies pending migrations and checks the keys), does one thing, and says
//! what it did. Errors name the problem; nothing is half-written.

use crate::config::GlobalSettings;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use trygg_domain::{
    Address, CareParty, Clock, Email, HsaId, IdentityNumber, OrgNumber, Period, PersonDetails,
    PersonId, PersonName, Phone, RelativeDetails, Role, RoleAssignment, StaffDetails, StaffId,
    Tenant, TenantKind,
};
use trygg_store::{Store, StoreError};

/// Prints a line to stdout; a closed pipe (`trygg … | head`) ends the
/// command quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// Who the audit log names for reads of personal data from these commands
/// (`operator:cli`): whoever holds the key file.
pub(crate) const OPERATOR: &str = "cli";

/// Admin commands.
#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// Apply pending database migrations (they are also applied at start).
    Migrate,
    /// Care providers and municipalities.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Units (the organisation tree).
    #[command(subcommand)]
    Unit(UnitCmd),
    /// Staff members.
    #[command(subcommand)]
    Staff(StaffCmd),
    /// Persons receiving care.
    #[command(subcommand)]
    Person(PersonCmd),
    /// Relatives and proxies of persons.
    #[command(subcommand)]
    Relative(RelativeCmd),
    /// Care relationships (who takes part in a person's care, and when).
    #[command(subcommand)]
    Care(CareCmd),
    /// Role assignments.
    #[command(subcommand)]
    Role(RoleCmd),
    /// Safety-alarm devices (trygghetslarm).
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Mosquitto's password and ACL files for sensors over MQTT.
    #[command(subcommand)]
    Mqtt(crate::mqtt::MqttCmd),
    /// Import staff or persons from CSV (all rows are checked first).
    #[command(subcommand)]
    Import(ImportCmd),
    /// Erase a person for good: destroys their data key (crypto-shredding).
    ErasePerson {
        /// Tenant (id or organisation number).
        #[arg(long)]
        tenant: String,
        /// Person (id or personnummer).
        #[arg(long)]
        person: String,
        /// Confirm; without it nothing is erased.
        #[arg(long)]
        yes: bool,
    },
    /// Re-wrap every data key under a new key-encryption key, without downtime.
    RotateKeys {
        /// Afterwards, remove retired keys that nothing uses from the key file.
        #[arg(long)]
        purge_retired: bool,
    },
    /// Create the local bootstrap administrator (password + TOTP; reaches no
    /// personal data). The password is read from TRYGG_BOOTSTRAP_PASSWORD or
    /// standard input.
    BootstrapAdmin {
        /// User name.
        #[arg(long, default_value = "admin")]
        name: String,
    },
    /// Make a local CA and server certificate for trying HTTPS on this machine.
    DevCert {
        /// Folder to write ca.pem, cert.pem and key.pem to.
        #[arg(long, default_value = "trygg-dev-tls")]
        out: PathBuf,
        /// Host names and addresses the certificate is for.
        #[arg(long = "host", default_values = ["localhost", "127.0.0.1", "::1"])]
        hosts: Vec<String>,
    },
}

/// `admin tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Add a care provider or municipality.
    Add {
        /// Name, e.g. "Exempelby kommun".
        #[arg(long)]
        name: String,
        /// Organisationsnummer (NNNNNN-NNNN).
        #[arg(long)]
        org_number: String,
        /// municipality, region or private_provider.
        #[arg(long, default_value = "municipality")]
        kind: String,
    },
    /// List tenants.
    List,
}

/// A tenant reference.
#[derive(Debug, Args)]
pub struct TenantArg {
    /// Tenant (id or organisation number).
    #[arg(long)]
    pub tenant: String,
}

/// `admin unit …`
#[derive(Debug, Subcommand)]
pub enum UnitCmd {
    /// Add a unit.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// Name, unique within the tenant.
        #[arg(long)]
        name: String,
        /// Parent unit (id or name); none for a top-level unit.
        #[arg(long)]
        parent: Option<String>,
        /// The unit's HSA-id.
        #[arg(long)]
        hsa_id: Option<String>,
    },
    /// Show the unit tree.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
}

/// `admin staff …`
#[derive(Debug, Subcommand)]
pub enum StaffCmd {
    /// Add a staff member (with a role in a unit, if given).
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// Given name.
        #[arg(long)]
        given_name: String,
        /// Family name.
        #[arg(long)]
        family_name: String,
        /// HSA-id (for SITHS login).
        #[arg(long)]
        hsa_id: Option<String>,
        /// Personnummer (for BankID/Freja login).
        #[arg(long)]
        personnummer: Option<String>,
        /// Work e-mail.
        #[arg(long)]
        email: Option<String>,
        /// Work phone.
        #[arg(long)]
        phone: Option<String>,
        /// Unit (id or name) for --role.
        #[arg(long, requires = "role")]
        unit: Option<String>,
        /// Role in --unit.
        #[arg(long, requires = "unit")]
        role: Option<String>,
    },
    /// List staff with their roles.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
}

/// `admin person …`
#[derive(Debug, Subcommand)]
pub enum PersonCmd {
    /// Add a person receiving care.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// Personnummer or samordningsnummer.
        #[arg(long)]
        personnummer: String,
        /// Given name.
        #[arg(long)]
        given_name: String,
        /// Family name.
        #[arg(long)]
        family_name: String,
        /// Home address.
        #[arg(long)]
        address: Option<String>,
        /// Phone.
        #[arg(long)]
        phone: Option<String>,
        /// E-mail.
        #[arg(long)]
        email: Option<String>,
        /// Protected identity (sekretessmarkering / skyddad folkbokföring).
        #[arg(long)]
        protected_identity: bool,
    },
    /// List persons.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Show one person with relatives and care relationships.
    Show {
        #[command(flatten)]
        tenant: TenantArg,
        /// Person (id or personnummer).
        #[arg(long)]
        person: String,
    },
}

/// `admin relative …`
#[derive(Debug, Subcommand)]
pub enum RelativeCmd {
    /// Add a relative or proxy of a person.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// Person (id or personnummer).
        #[arg(long)]
        person: String,
        /// Given name.
        #[arg(long)]
        given_name: String,
        /// Family name.
        #[arg(long)]
        family_name: String,
        /// The relative's personnummer (for e-ID login).
        #[arg(long)]
        personnummer: Option<String>,
        /// Relation ("dotter", "god man", …).
        #[arg(long)]
        relation: Option<String>,
        /// Phone.
        #[arg(long)]
        phone: Option<String>,
        /// E-mail.
        #[arg(long)]
        email: Option<String>,
    },
    /// List a person's relatives.
    List {
        #[command(flatten)]
        tenant: TenantArg,
        /// Person (id or personnummer).
        #[arg(long)]
        person: String,
    },
}

/// `admin care …`
#[derive(Debug, Subcommand)]
pub enum CareCmd {
    /// Record that a staff member or unit takes part in a person's care.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// Person (id or personnummer).
        #[arg(long)]
        person: String,
        /// Staff member id.
        #[arg(long, conflicts_with = "unit", required_unless_present = "unit")]
        staff: Option<String>,
        /// Unit (id or name).
        #[arg(long)]
        unit: Option<String>,
        /// Start: YYYY-MM-DD (UTC midnight) or RFC 3339; default now.
        #[arg(long)]
        from: Option<String>,
        /// End (exclusive): YYYY-MM-DD or RFC 3339; default open-ended.
        #[arg(long)]
        until: Option<String>,
    },
    /// List a person's care relationships.
    List {
        #[command(flatten)]
        tenant: TenantArg,
        /// Person (id or personnummer).
        #[arg(long)]
        person: String,
    },
}

/// `admin role …`
#[derive(Debug, Subcommand)]
pub enum RoleCmd {
    /// Give a staff member a role in a unit.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// Staff member id.
        #[arg(long)]
        staff: String,
        /// Unit (id or name).
        #[arg(long)]
        unit: String,
        /// alarm_operator, home_care_staff, nurse, unit_manager, security_officer or administrator.
        #[arg(long)]
        role: String,
    },
}

/// `admin device …`
#[derive(Debug, Subcommand)]
pub enum DeviceCmd {
    /// Provision a device for a person: prints its SIP password once (only
    /// its Digest hashes are kept).
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// The person it is for (id or personnummer).
        #[arg(long)]
        person: String,
        /// The unit that answers its alarms (id or name).
        #[arg(long)]
        unit: String,
        /// The SCAIP controller id (cid) the device sends, 1 to 32 digits.
        #[arg(long)]
        cid: String,
        /// The SIP user name (default: the cid).
        #[arg(long)]
        sip_user: Option<String>,
        /// The SCAIP device type (dty), e.g. 0005 for a fall detector.
        #[arg(long, default_value = "0001")]
        device_type: String,
        /// Minutes between the device's heartbeats.
        #[arg(long, default_value_t = 60)]
        heartbeat_minutes: u32,
        /// Read the password from standard input instead of generating one
        /// (for a device whose password is set at the factory).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a tenant's devices.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Import devices: personnummer, unit, cid[, sip_user, device_type,
    /// heartbeat_minutes, password]. Prints `sip_user;password;cid` for each
    /// generated password, once.
    Import(ImportArgs),
    /// Disable a device (lost, stolen, returned): running receivers refuse
    /// it within a second.
    Disable {
        #[command(flatten)]
        tenant: TenantArg,
        /// The device's SIP user name.
        #[arg(long)]
        sip_user: String,
    },
    /// Enable a disabled device again.
    Enable {
        #[command(flatten)]
        tenant: TenantArg,
        /// The device's SIP user name.
        #[arg(long)]
        sip_user: String,
    },
}

/// `admin import …`
#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Import staff: given_name, family_name[, personnummer, hsa_id, email, phone, unit, role].
    Staff(ImportArgs),
    /// Import persons: personnummer, given_name, family_name[, address, phone, email, protected_identity, unit].
    Persons(ImportArgs),
}

/// Arguments of an import.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// CSV file (comma or semicolon separated, UTF-8, header row first).
    pub file: PathBuf,
    /// Import the good rows and report the bad ones (default: import nothing if any row is bad).
    #[arg(long)]
    pub skip_bad: bool,
}

fn parse_opt<T, E: std::fmt::Display>(
    value: Option<&String>,
    what: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> anyhow::Result<Option<T>> {
    value
        .map(|v| parse(v).map_err(|e| anyhow::anyhow!("{what}: {e}")))
        .transpose()
}

fn parse_req<T, E: std::fmt::Display>(
    value: &str,
    what: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> anyhow::Result<T> {
    parse(value).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
pub fn parse_time(s: &str) -> anyhow::Result<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let date = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"))?;
    Ok(date.midnight().assume_utc())
}

/// Lists an import's bad rows; true when they stop it (no `--skip-bad`).
fn refused(report: &crate::import::Report, skip_bad: bool) -> bool {
    for bad in &report.bad {
        eprintln!("line {}: {}", bad.line, bad.reasons.join("; "));
    }
    if report.bad.is_empty() || skip_bad {
        return false;
    }
    eprintln!(
        "{} of {} rows are bad; nothing was imported. Fix them, or use --skip-bad to import the {} good rows.",
        report.bad.len(),
        report.rows,
        report.rows - report.bad.len()
    );
    true
}

/// Resolves a person given by id or by personnummer.
pub async fn find_person(store: &Store, tenant: &Tenant, key: &str) -> anyhow::Result<PersonId> {
    if let Ok(id) = key.parse::<PersonId>() {
        return Ok(store.unsafe_person(tenant.id, id).await?.id);
    }
    let number = IdentityNumber::parse(key, store.clock().today())
        .map_err(|e| anyhow::anyhow!("--person is neither an id nor a valid personnummer: {e}"))?;
    Ok(store.unsafe_find_person(tenant.id, &number).await?.id)
}

fn role_names(roles: &[RoleAssignment], units: &[trygg_store::UnitNode]) -> String {
    roles
        .iter()
        .map(|r| {
            let unit = units
                .iter()
                .find(|u| u.unit.id == r.unit)
                .map_or("?", |u| u.unit.name.as_str());
            format!("{}@{unit}", r.role)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs one admin command.
pub async fn run(
    command: AdminCmd,
    global: &GlobalSettings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<ExitCode> {
    match command {
        AdminCmd::Migrate => {
            let applied = Store::migrate_only(&global.database(), clock.now()).await?;
            if applied.is_empty() {
                say!(
                    "The database is up to date (schema version {}).",
                    trygg_store::latest_version()
                );
            } else {
                say!("Applied migrations {applied:?}.");
            }
            return Ok(ExitCode::SUCCESS);
        }
        AdminCmd::DevCert { out, hosts } => {
            let files = crate::devcert::generate(&out, &hosts)?;
            say!(
                "Wrote {}, {} and {}.\nStart with:\n  trygg serve --tls-cert {} --tls-key {}\n\
                 and trust the local CA, e.g. curl --cacert {} https://localhost:8080/healthz",
                files.ca_cert.display(),
                files.cert.display(),
                files.key.display(),
                files.cert.display(),
                files.key.display(),
                files.ca_cert.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        AdminCmd::Mqtt(command) => return crate::mqtt::run(command),
        _ => {}
    }
    let store = crate::open_store(global, clock.clone()).await?;
    let result = run_with_store(command, &store, clock.as_ref(), &global.sip_realm).await;
    store.close().await;
    result
}

async fn run_with_store(
    command: AdminCmd,
    store: &Store,
    clock: &dyn Clock,
    sip_realm: &str,
) -> anyhow::Result<ExitCode> {
    let today = clock.today();
    match command {
        AdminCmd::Migrate | AdminCmd::DevCert { .. } | AdminCmd::Mqtt(_) => {}
        AdminCmd::Tenant(TenantCmd::Add {
            name,
            org_number,
            kind,
        }) => {
            let org = parse_req(&org_number, "--org-number", OrgNumber::parse)?;
            let kind: TenantKind = kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let mut tx = store.begin().await?;
            let tenant = tx.add_tenant(&name, &org, kind).await?;
            tx.commit().await?;
            say!("{}", tenant.id);
        }
        AdminCmd::Tenant(TenantCmd::List) => {
            for t in store.tenants().await? {
                say!(
                    "{}  {}  {:<16}  {}",
                    t.id,
                    t.org_number,
                    t.kind.as_str(),
                    t.name
                );
            }
        }
        AdminCmd::Unit(UnitCmd::Add {
            tenant,
            name,
            parent,
            hsa_id,
        }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let parent = match parent {
                Some(p) => Some(store.find_unit(tenant.id, &p).await.map_err(|e| match e {
                    StoreError::NotFound(_) => anyhow::anyhow!("no unit {p:?} in {}", tenant.name),
                    e => e.into(),
                })?),
                None => None,
            };
            let hsa = parse_opt(hsa_id.as_ref(), "--hsa-id", HsaId::parse)?;
            let mut tx = store.begin().await?;
            let unit = tx
                .add_unit(tenant.id, parent.map(|p| p.id), &name, hsa.as_ref())
                .await?;
            tx.commit().await?;
            say!("{}", unit.id);
        }
        AdminCmd::Unit(UnitCmd::List { tenant }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            for node in store.unit_tree(tenant.id).await? {
                say!(
                    "{}  {}{}",
                    node.unit.id,
                    "  ".repeat(node.depth),
                    node.unit.name
                );
            }
        }
        AdminCmd::Staff(StaffCmd::Add {
            tenant,
            given_name,
            family_name,
            hsa_id,
            personnummer,
            email,
            phone,
            unit,
            role,
        }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let details = StaffDetails {
                given_name: parse_req(&given_name, "--given-name", PersonName::parse)?,
                family_name: parse_req(&family_name, "--family-name", PersonName::parse)?,
                hsa_id: parse_opt(hsa_id.as_ref(), "--hsa-id", HsaId::parse)?,
                identity_number: parse_opt(personnummer.as_ref(), "--personnummer", |s| {
                    IdentityNumber::parse(s, today)
                })?,
                email: parse_opt(email.as_ref(), "--email", Email::parse)?,
                phone: parse_opt(phone.as_ref(), "--phone", Phone::parse)?,
            };
            let role = parse_opt(role.as_ref(), "--role", str::parse::<Role>)?;
            let unit = match unit {
                Some(u) => Some(store.find_unit(tenant.id, &u).await?),
                None => None,
            };
            let mut tx = store.begin().await?;
            let id = tx.add_staff(tenant.id, &details).await?;
            if let (Some(unit), Some(role)) = (unit, role) {
                tx.assign_role(
                    tenant.id,
                    RoleAssignment {
                        staff: id,
                        unit: unit.id,
                        role,
                    },
                )
                .await?;
                tx.record_operator(OPERATOR, tenant.id, None, &format!("assign_role:{role}"))
                    .await?;
            }
            tx.commit().await?;
            say!("{id}");
        }
        AdminCmd::Staff(StaffCmd::List { tenant }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let units = store.unit_tree(tenant.id).await?;
            for s in store.staff(tenant.id).await? {
                let roles = store.roles_of(s.id).await?;
                say!(
                    "{}  {} {}  {}  {}",
                    s.id,
                    s.details.given_name,
                    s.details.family_name,
                    s.details.hsa_id.as_ref().map_or("-", HsaId::as_str),
                    role_names(&roles, &units)
                );
            }
        }
        AdminCmd::Person(PersonCmd::Add {
            tenant,
            personnummer,
            given_name,
            family_name,
            address,
            phone,
            email,
            protected_identity,
        }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let details = PersonDetails {
                identity_number: parse_req(&personnummer, "--personnummer", |s| {
                    IdentityNumber::parse(s, today)
                })?,
                given_name: parse_req(&given_name, "--given-name", PersonName::parse)?,
                family_name: parse_req(&family_name, "--family-name", PersonName::parse)?,
                address: parse_opt(address.as_ref(), "--address", Address::parse)?,
                phone: parse_opt(phone.as_ref(), "--phone", Phone::parse)?,
                email: parse_opt(email.as_ref(), "--email", Email::parse)?,
            };
            let mut tx = store.begin().await?;
            let id = tx
                .add_person(tenant.id, &details, protected_identity)
                .await?;
            tx.record_operator(OPERATOR, tenant.id, Some(id), "create:person")
                .await?;
            tx.commit().await?;
            say!("{id}");
        }
        AdminCmd::Person(PersonCmd::List { tenant }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let persons = store.unsafe_persons(tenant.id).await?;
            let finds: Vec<_> = persons.iter().map(|p| (p.id, "find")).collect();
            log_reads(store, &tenant, &finds).await?;
            for p in persons {
                say!(
                    "{}  {}  {} {}{}",
                    p.id,
                    p.details.identity_number.display_form(),
                    p.details.given_name,
                    p.details.family_name,
                    if p.protected_identity {
                        "  [skyddad identitet]"
                    } else {
                        ""
                    }
                );
            }
        }
        AdminCmd::Person(PersonCmd::Show { tenant, person }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let id = find_person(store, &tenant, &person).await?;
            let p = store.unsafe_person(tenant.id, id).await?;
            log_reads(
                store,
                &tenant,
                &[(id, "read:overview"), (id, "read:contact")],
            )
            .await?;
            say!("id:            {}", p.id);
            say!(
                "personnummer:  {}",
                p.details.identity_number.display_form()
            );
            say!(
                "name:          {} {}",
                p.details.given_name,
                p.details.family_name
            );
            say!("protected:     {}", p.protected_identity);
            if let Some(a) = &p.details.address {
                say!("address:       {}", a.as_str().replace('\n', ", "));
            }
            if let Some(ph) = &p.details.phone {
                say!("phone:         {ph}");
            }
            if let Some(e) = &p.details.email {
                say!("e-mail:        {e}");
            }
            print_relatives(store, &tenant, id, "relative:      ").await?;
            print_care(store, &tenant, id, "care:          ").await?;
        }
        AdminCmd::Relative(RelativeCmd::List { tenant, person }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let id = find_person(store, &tenant, &person).await?;
            log_reads(store, &tenant, &[(id, "read:contact")]).await?;
            print_relatives(store, &tenant, id, "").await?;
        }
        AdminCmd::Care(CareCmd::List { tenant, person }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let id = find_person(store, &tenant, &person).await?;
            log_reads(store, &tenant, &[(id, "read:overview")]).await?;
            print_care(store, &tenant, id, "").await?;
        }
        AdminCmd::Relative(RelativeCmd::Add {
            tenant,
            person,
            given_name,
            family_name,
            personnummer,
            relation,
            phone,
            email,
        }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let person = find_person(store, &tenant, &person).await?;
            let details = RelativeDetails {
                given_name: parse_req(&given_name, "--given-name", PersonName::parse)?,
                family_name: parse_req(&family_name, "--family-name", PersonName::parse)?,
                identity_number: parse_opt(personnummer.as_ref(), "--personnummer", |s| {
                    IdentityNumber::parse(s, today)
                })?,
                relation: parse_opt(relation.as_ref(), "--relation", PersonName::parse)?,
                phone: parse_opt(phone.as_ref(), "--phone", Phone::parse)?,
                email: parse_opt(email.as_ref(), "--email", Email::parse)?,
            };
            let mut tx = store.begin().await?;
            let id = tx.add_relative(tenant.id, person, &details).await?;
            tx.record_operator(OPERATOR, tenant.id, Some(person), "manage_relatives")
                .await?;
            tx.commit().await?;
            say!("{id}");
        }
        AdminCmd::Care(CareCmd::Add {
            tenant,
            person,
            staff,
            unit,
            from,
            until,
        }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let person = find_person(store, &tenant, &person).await?;
            let party = match (staff, unit) {
                (Some(s), _) => CareParty::Staff(
                    s.parse::<StaffId>()
                        .map_err(|_| anyhow::anyhow!("--staff {s:?} is not a staff id"))?,
                ),
                (None, Some(u)) => CareParty::Unit(store.find_unit(tenant.id, &u).await?.id),
                (None, None) => bail!("give --staff or --unit"),
            };
            let from = match from {
                Some(f) => parse_time(&f)?,
                None => clock.now(),
            };
            let until = until.as_deref().map(parse_time).transpose()?;
            let period = Period::new(from, until)?;
            let mut tx = store.begin().await?;
            let id = tx
                .add_care_relationship(tenant.id, person, party, period)
                .await?;
            tx.record_operator(OPERATOR, tenant.id, Some(person), "manage_care")
                .await?;
            tx.commit().await?;
            say!("{id}");
        }
        AdminCmd::Role(RoleCmd::Add {
            tenant,
            staff,
            unit,
            role,
        }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let staff: StaffId = staff
                .parse()
                .map_err(|_| anyhow::anyhow!("--staff {staff:?} is not a staff id"))?;
            let unit = store.find_unit(tenant.id, &unit).await?;
            let role: Role = role.parse()?;
            let mut tx = store.begin().await?;
            tx.assign_role(
                tenant.id,
                RoleAssignment {
                    staff,
                    unit: unit.id,
                    role,
                },
            )
            .await?;
            tx.record_operator(OPERATOR, tenant.id, None, &format!("assign_role:{role}"))
                .await?;
            tx.commit().await?;
            say!("{staff} is {role} in {}", unit.name);
        }
        AdminCmd::Device(DeviceCmd::Add {
            tenant,
            person,
            unit,
            cid,
            sip_user,
            device_type,
            heartbeat_minutes,
            password_stdin,
        }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            let person = find_person(store, &tenant, &person).await?;
            let unit = store.find_unit(tenant.id, &unit).await?;
            let cid: trygg_scaip::ControllerId =
                cid.parse().map_err(|e| anyhow::anyhow!("--cid: {e}"))?;
            let dty: trygg_scaip::DeviceType = device_type
                .parse()
                .map_err(|e| anyhow::anyhow!("--device-type: {e}"))?;
            let user = sip_user.unwrap_or_else(|| cid.as_str().to_owned());
            crate::devices::check_user(&user).map_err(|e| anyhow::anyhow!("--sip-user {e}"))?;
            crate::devices::check_heartbeat(heartbeat_minutes)
                .map_err(|e| anyhow::anyhow!("--heartbeat-minutes {e}"))?;
            let generated = !password_stdin;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                let line = line.trim_end_matches(['\r', '\n']).to_owned();
                if line.chars().count() < crate::devices::MIN_PASSWORD {
                    bail!(
                        "the password must be at least {} characters",
                        crate::devices::MIN_PASSWORD
                    );
                }
                zeroize::Zeroizing::new(line)
            } else {
                zeroize::Zeroizing::new(trygg_alarm::generate_password()?)
            };
            let secrets = trygg_alarm::device_secrets(&user, sip_realm, &password);
            let mut tx = store.begin().await?;
            let device = tx
                .add_device(&trygg_store::NewDevice {
                    tenant: tenant.id,
                    unit: unit.id,
                    person,
                    sip_user: &user,
                    cid: cid.as_str(),
                    device_type: dty.value(),
                    heartbeat: time::Duration::minutes(i64::from(heartbeat_minutes)),
                    secrets: &secrets,
                })
                .await?;
            tx.commit().await?;
            say!("{}", device.id);
            say!("SIP user: {user}  realm: {sip_realm}");
            if generated {
                say!("SIP password: {}", password.as_str());
                say!("The password is shown only now; Trygg keeps only its Digest hashes.");
            }
        }
        AdminCmd::Device(DeviceCmd::List { tenant }) => {
            let tenant = store.find_tenant(&tenant.tenant).await?;
            for d in store.devices(tenant.id).await? {
                say!(
                    "{}  {:<16}  cid {:<12}  dty {:04}  heartbeat {} min{}",
                    d.id,
                    d.sip_user,
                    d.cid,
                    d.device_type,
                    d.heartbeat.whole_minutes(),
                    if d.disabled { "  disabled" } else { "" }
                );
            }
        }
        AdminCmd::Device(DeviceCmd::Disable { tenant, sip_user }) => {
            set_device_disabled(store, &tenant, &sip_user, true).await?;
        }
        AdminCmd::Device(DeviceCmd::Enable { tenant, sip_user }) => {
            set_device_disabled(store, &tenant, &sip_user, false).await?;
        }
        AdminCmd::Device(DeviceCmd::Import(args)) => {
            let tenant = store.find_tenant(&args.tenant.tenant).await?;
            let (report, provisioned) =
                crate::devices::import_file(store, &tenant, sip_realm, &args.file, args.skip_bad)
                    .await?;
            if refused(&report, args.skip_bad) {
                return Ok(ExitCode::FAILURE);
            }
            if !provisioned.is_empty() {
                say!("sip_user;password;cid");
                for p in &provisioned {
                    say!("{};{};{}", p.user, p.password.as_str(), p.cid);
                }
            }
            eprintln!(
                "Imported {} of {} devices (realm {sip_realm}){}. Generated passwords are shown only now.",
                report.imported,
                report.rows,
                if report.bad.is_empty() {
                    String::new()
                } else {
                    format!("; skipped {} bad rows", report.bad.len())
                }
            );
        }
        AdminCmd::Import(cmd) => {
            let (kind, args) = match cmd {
                ImportCmd::Staff(a) => (crate::import::Kind::Staff, a),
                ImportCmd::Persons(a) => (crate::import::Kind::Persons, a),
            };
            let tenant = store.find_tenant(&args.tenant.tenant).await?;
            let report =
                crate::import::import_file(store, &tenant, kind, &args.file, args.skip_bad).await?;
            if refused(&report, args.skip_bad) {
                return Ok(ExitCode::FAILURE);
            }
            say!(
                "Imported {} of {} rows{}.",
                report.imported,
                report.rows,
                if report.bad.is_empty() {
                    String::new()
                } else {
                    format!("; skipped {} bad rows", report.bad.len())
                }
            );
        }
        AdminCmd::ErasePerson {
            tenant,
            person,
            yes,
        } => {
            let tenant = store.find_tenant(&tenant).await?;
            let id = find_person(store, &tenant, &person).await?;
            if !yes {
                eprintln!(
                    "This destroys the data key of person {id}: their personal data can never be read \
                     again. Run again with --yes to erase."
                );
                return Ok(ExitCode::FAILURE);
            }
            store.erase_person(tenant.id, id, OPERATOR).await?;
            say!("Person {id} erased: the data key is destroyed.");
        }
        AdminCmd::BootstrapAdmin { name } => {
            let password = match std::env::var("TRYGG_BOOTSTRAP_PASSWORD") {
                Ok(p) => zeroize::Zeroizing::new(p),
                Err(_) => {
                    eprintln!(
                        "Password for {name} (at least {} characters):",
                        trygg_auth::password::MIN_LEN
                    );
                    let mut line = zeroize::Zeroizing::new(String::new());
                    std::io::stdin().read_line(&mut line)?;
                    zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
                }
            };
            let pw = password.clone();
            let hash =
                tokio::task::spawn_blocking(move || trygg_auth::password::hash(&pw)).await??;
            let totp = trygg_auth::Totp::generate()?;
            store
                .create_bootstrap_admin(&name, &hash, totp.secret())
                .await?;
            let uri = totp.uri("Trygg", &name);
            say!(
                "Bootstrap administrator {name:?} created. It can log in at /login/bootstrap and reaches no personal data."
            );
            say!("Add this to an authenticator app (scan or type the secret):");
            if let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) {
                say!(
                    "{}",
                    code.render::<qrcode::render::unicode::Dense1x2>()
                        .quiet_zone(true)
                        .build()
                );
            }
            say!("secret: {}", totp.secret_base32());
            say!("uri:    {uri}");
        }
        AdminCmd::RotateKeys { purge_retired } => {
            let report = store.rotate_keys(purge_retired).await?;
            say!(
                "Active key-encryption key: {}. Re-wrapped {} keys.",
                report.active,
                report.rewrapped
            );
            for id in &report.purged {
                say!("Removed retired key {id} (no longer used).");
            }
            for id in &report.retired {
                say!(
                    "Kept retired key {id} (still unwraps; run with --purge-retired once every node has the new key)."
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs the operator's reads of persons' data (person, action), all in one
/// commit, before anything of it is printed.
async fn log_reads(
    store: &Store,
    tenant: &Tenant,
    reads: &[(PersonId, &str)],
) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    for (person, action) in reads {
        tx.record_operator(OPERATOR, tenant.id, Some(*person), action)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `admin device disable | enable`, logged for the device's person.
async fn set_device_disabled(
    store: &Store,
    tenant: &TenantArg,
    sip_user: &str,
    disabled: bool,
) -> anyhow::Result<()> {
    let tenant = store.find_tenant(&tenant.tenant).await?;
    let mut tx = store.begin().await?;
    let device = tx
        .set_device_disabled(tenant.id, sip_user, disabled)
        .await?;
    let action = if disabled {
        "disable_device"
    } else {
        "enable_device"
    };
    tx.record_operator(OPERATOR, tenant.id, Some(device.person), action)
        .await?;
    tx.commit().await?;
    if disabled {
        say!(
            "{} is disabled: receivers refuse it within a second.",
            device.sip_user
        );
    } else {
        say!("{} is enabled.", device.sip_user);
    }
    Ok(())
}

async fn print_relatives(
    store: &Store,
    tenant: &Tenant,
    person: PersonId,
    prefix: &str,
) -> anyhow::Result<()> {
    for r in store.unsafe_relatives(tenant.id, person).await? {
        say!(
            "{prefix}{} {} ({})",
            r.details.given_name,
            r.details.family_name,
            r.details.relation.as_ref().map_or("-", PersonName::as_str)
        );
    }
    Ok(())
}

async fn print_care(
    store: &Store,
    tenant: &Tenant,
    person: PersonId,
    prefix: &str,
) -> anyhow::Result<()> {
    let units = store.unit_tree(tenant.id).await?;
    for c in store.care_relationships(tenant.id, person).await? {
        let party = match c.party {
            CareParty::Staff(s) => format!("staff {s}"),
            CareParty::Unit(u) => format!(
                "unit {}",
                units
                    .iter()
                    .find(|n| n.unit.id == u)
                    .map_or("?", |n| n.unit.name.as_str())
            ),
        };
        let until = c
            .period
            .until()
            .and_then(|u| u.format(&Rfc3339).ok())
            .unwrap_or_else(|| "open".to_owned());
        let from = c.period.from().format(&Rfc3339).unwrap_or_default();
        say!("{prefix}{party} from {from} until {until}");
    }
    Ok(())
}
