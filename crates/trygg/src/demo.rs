//! Demo data: the fictional municipality "Exempelby kommun", so a newcomer
//! sees a living system. Everything here is invented: names are common Swedish
//! names combined at random (fixed seed), identity numbers are generated with
//! valid check digits and serial numbers 980–999, phone numbers come from the
//! range the Swedish telecoms regulator reserves for fiction (070-174 06 05 to
//! 070-174 06 99), addresses use the unused postcode area 999, and e-mail
//! addresses the reserved `.example` domain.

use time::{Date, Duration, Month};
use trygg_domain::{
    Account, Action, Address, CareParty, Email, FreeText, HsaId, IdentityNumber,
    IdentityNumberKind, Loa, OrgNumber, Part, Period, PersonDetails, PersonId, PersonName, Phone,
    Principal, RelativeDetails, Resource, Role, RoleAssignment, StaffDetails, StaffId, TenantId,
    TenantKind, UnitId,
};
use trygg_store::Store;

/// The demo municipality's name.
pub const NAME: &str = "Exempelby kommun";
/// Its (fictional, checksum-valid) organisation number.
pub const ORG_NUMBER: &str = "212000-9994";

/// Where `trygg serve --demo` receives safety alarms unless `sip_listen` says otherwise.
pub const SIP_LISTEN: std::net::SocketAddr = std::net::SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    5060,
));

/// [`SIP_LISTEN`] when both its UDP and TCP ports are free, otherwise any
/// free port on loopback (the server prints where it listens): the demo
/// must start even where another program holds 5060.
pub fn sip_listen() -> std::net::SocketAddr {
    let free = std::net::UdpSocket::bind(SIP_LISTEN).is_ok()
        && std::net::TcpListener::bind(SIP_LISTEN).is_ok();
    if free {
        SIP_LISTEN
    } else {
        tracing::warn!(
            port = SIP_LISTEN.port(),
            "port taken: the demo receives alarms on another port"
        );
        std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0))
    }
}

/// The demo's safety-alarm devices are `larm-NN` with controller id
/// `46000000NN` and password `demo-larm-NN`, for the persons NN = 01…50
/// who have a safety alarm (all but every fifth). These credentials are
/// published in the README so anyone can send an alarm by hand: they are
/// demo data, like the persons, and exist only in the demo municipality.
pub fn device(n: usize) -> (String, String, String) {
    (
        format!("larm-{n:02}"),
        format!("46000000{n:02}"),
        format!("demo-larm-{n:02}"),
    )
}

/// A small deterministic generator (SplitMix64): the demo is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

const OLDER_GIVEN: &[&str] = &[
    "Astrid", "Margit", "Ingrid", "Elsa", "Birgitta", "Gunnel", "Maj", "Signe", "Karin", "Ulla",
    "Gösta", "Karl", "Sven", "Nils", "Bertil", "Erik", "Olle", "Rune", "Lennart", "Stig",
];
const YOUNGER_GIVEN: &[&str] = &[
    "Sara", "Emma", "Linnea", "Fatima", "Amina", "Johanna", "Maria", "Elin", "Hanna", "Nora",
    "Ahmed", "Jonas", "Mikael", "Oskar", "David", "Ali", "Johan", "Viktor", "Emil", "Daniel",
];
const FAMILY: &[&str] = &[
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Lindqvist",
    "Berg",
    "Lundgren",
    "Holm",
    "Ek",
    "Sandberg",
    "Hassan",
    "Mohammed",
    "Virtanen",
    "Nyström",
];
const STREETS: &[&str] = &[
    "Exempelvägen",
    "Björkgatan",
    "Storgatan",
    "Kyrkvägen",
    "Ängsvägen",
    "Skolgatan",
    "Tallstigen",
];
const RELATIONS: &[&str] = &[
    "dotter", "son", "make", "maka", "barnbarn", "god man", "syster",
];

fn name(s: &str) -> anyhow::Result<PersonName> {
    Ok(PersonName::parse(s)?)
}

fn phone(rng: &mut Rng) -> anyhow::Result<Phone> {
    Ok(Phone::parse(&format!(
        "070-174 06 {:02}",
        5 + rng.below(95)
    ))?)
}

fn identity(
    rng: &mut Rng,
    first_year: i32,
    years: usize,
    coordination: bool,
) -> anyhow::Result<IdentityNumber> {
    let year = first_year + i32::try_from(rng.below(years)).unwrap_or(0);
    let month = Month::try_from(u8::try_from(1 + rng.below(12)).unwrap_or(1))?;
    let day = u8::try_from(1 + rng.below(28)).unwrap_or(1);
    let serial = u16::try_from(980 + rng.below(20)).unwrap_or(980);
    let kind = if coordination {
        IdentityNumberKind::Samordningsnummer
    } else {
        IdentityNumberKind::Personnummer
    };
    Ok(IdentityNumber::from_parts(
        Date::from_calendar_date(year, month, day)?,
        serial,
        kind,
    )?)
}

/// Seeds the demo municipality unless it is already there.
pub async fn seed(store: &Store, sip_realm: &str) -> anyhow::Result<()> {
    if store.find_tenant(ORG_NUMBER).await.is_ok() {
        tracing::info!("demo data already present");
        return Ok(());
    }
    let mut rng = Rng(0x5452_5947_4721);
    let org = OrgNumber::parse(ORG_NUMBER)?;
    let now = store.clock().now();
    let mut tx = store.begin().await?;
    let tenant = tx.add_tenant(NAME, &org, TenantKind::Municipality).await?;
    let t = tenant.id;
    let hsa = |suffix: &str| HsaId::parse(&format!("SE2120009994-{suffix}"));
    let top = tx
        .add_unit(
            t,
            None,
            "Vård- och omsorgsförvaltningen",
            Some(&hsa("VOF")?),
        )
        .await?;
    let north = tx
        .add_unit(t, Some(top.id), "Hemtjänst Norr", Some(&hsa("HTN")?))
        .await?;
    let south = tx
        .add_unit(t, Some(top.id), "Hemtjänst Söder", Some(&hsa("HTS")?))
        .await?;
    let alarm = tx
        .add_unit(t, Some(top.id), "Larmcentralen", Some(&hsa("LC")?))
        .await?;
    let nursing = tx
        .add_unit(t, Some(top.id), "Hemsjukvården", Some(&hsa("HSV")?))
        .await?;
    let home = tx
        .add_unit(
            t,
            Some(top.id),
            "Särskilt boende Björkhagen",
            Some(&hsa("SBB")?),
        )
        .await?;

    // 20 staff members: who works where, as what.
    let staffing: [(&trygg_domain::Unit, Role, usize); 10] = [
        (&alarm, Role::AlarmOperator, 3),
        (&alarm, Role::UnitManager, 1),
        (&north, Role::HomeCareStaff, 4),
        (&south, Role::HomeCareStaff, 4),
        (&home, Role::HomeCareStaff, 1),
        (&nursing, Role::Nurse, 3),
        (&north, Role::UnitManager, 1),
        (&south, Role::UnitManager, 1),
        (&top, Role::SecurityOfficer, 1),
        (&top, Role::Administrator, 1),
    ];
    let mut north_staff = Vec::new();
    let mut south_staff = Vec::new();
    let mut holders: Vec<(UnitId, Role, StaffId)> = Vec::new();
    let mut n = 0;
    for (unit, role, count) in staffing {
        for _ in 0..count {
            n += 1;
            let given = rng.pick(YOUNGER_GIVEN);
            let family = rng.pick(FAMILY);
            let details = StaffDetails {
                given_name: name(given)?,
                family_name: name(family)?,
                hsa_id: Some(hsa(&format!("P{n:04}"))?),
                identity_number: Some(identity(&mut rng, 1965, 35, false)?),
                email: Some(Email::parse(&format!(
                    "{}.{}{n}@exempelby.example",
                    given.to_lowercase(),
                    family.to_lowercase()
                ))?),
                phone: Some(phone(&mut rng)?),
            };
            let id = tx.add_staff(t, &details).await?;
            tx.assign_role(
                t,
                RoleAssignment {
                    staff: id,
                    unit: unit.id,
                    role,
                },
            )
            .await?;
            holders.push((unit.id, role, id));
            if role == Role::HomeCareStaff && unit.id == north.id {
                north_staff.push(id);
            }
            if role == Role::HomeCareStaff && unit.id == south.id {
                south_staff.push(id);
            }
        }
    }

    // 50 persons receiving care, with relatives and care relationships.
    let started = now - Duration::days(180);
    let mut numbers = std::collections::HashSet::new();
    let mut cared = Vec::new();
    let mut made = 0;
    while made < 50 {
        let number = identity(&mut rng, 1925, 26, made % 17 == 16)?;
        if !numbers.insert(number.canonical()) {
            continue;
        }
        made += 1;
        let protected = made % 23 == 0;
        let details = PersonDetails {
            identity_number: number,
            given_name: name(rng.pick(OLDER_GIVEN))?,
            family_name: name(rng.pick(FAMILY))?,
            address: Some(Address::parse(&format!(
                "{} {}\n999 {:02} Exempelby",
                rng.pick(STREETS),
                1 + rng.below(60),
                10 + rng.below(80)
            ))?),
            phone: Some(phone(&mut rng)?),
            email: None,
        };
        let person = tx.add_person(t, &details, protected).await?;
        let nursing_now = made % 4 == 1;
        let (unit, staff) = match made % 5 {
            0 => (&home, &Vec::new()),
            1 | 3 => (&north, &north_staff),
            _ => (&south, &south_staff),
        };
        let always = Period::new(started, None)?;
        tx.add_care_relationship(t, person, CareParty::Unit(unit.id), always)
            .await?;
        let mut contact = None;
        if !staff.is_empty() {
            contact = staff.get(rng.below(staff.len())).copied();
            if let Some(contact) = contact {
                tx.add_care_relationship(t, person, CareParty::Staff(contact), always)
                    .await?;
            }
        }
        if nursing_now {
            // Home nursing (hemsjukvård) now: the nurses' persons.
            tx.add_care_relationship(t, person, CareParty::Unit(nursing.id), always)
                .await?;
        }
        cared.push(Cared {
            person,
            unit: unit.id,
            contact,
            nursing: nursing_now,
        });
        if made % 5 != 0 {
            // Safety alarm users: the alarm centre takes part in their care,
            // and a safety alarm in their home calls it.
            tx.add_care_relationship(t, person, CareParty::Unit(alarm.id), always)
                .await?;
            let (user, cid, password) = device(made);
            tx.add_device(&trygg_store::NewDevice {
                tenant: t,
                unit: alarm.id,
                person,
                sip_user: &user,
                cid: &cid,
                device_type: 1,
                heartbeat: Duration::minutes(60),
                secrets: &trygg_alarm::device_secrets(&user, sip_realm, &password),
            })
            .await?;
        }
        if made % 10 == 7 {
            // A finished home-nursing period.
            let period = Period::new(started, Some(now - Duration::days(30)))?;
            tx.add_care_relationship(t, person, CareParty::Unit(nursing.id), period)
                .await?;
        }
        for _ in 0..(made % 3) {
            let relative = RelativeDetails {
                given_name: name(rng.pick(YOUNGER_GIVEN))?,
                family_name: name(rng.pick(FAMILY))?,
                identity_number: Some(identity(&mut rng, 1955, 40, false)?),
                relation: Some(name(rng.pick(RELATIONS))?),
                phone: Some(phone(&mut rng)?),
                email: None,
            };
            tx.add_relative(t, person, &relative).await?;
        }
    }
    tx.commit().await?;
    let staff_of = |unit: UnitId, role: Role| {
        holders
            .iter()
            .find(|(u, r, _)| *u == unit && *r == role)
            .map(|(_, _, s)| *s)
    };
    let world = RecordWorld {
        store,
        policy: trygg_policy::Authorizer::new()?,
        tenant: t,
        north: north.id,
        south: south.id,
        nursing: nursing.id,
        north_manager: staff_of(north.id, Role::UnitManager),
        south_manager: staff_of(south.id, Role::UnitManager),
        south_staff: south_staff.first().copied(),
        nurse: staff_of(nursing.id, Role::Nurse),
    };
    world.seed_records(&cared).await?;
    tracing::info!(tenant = %t, "seeded the demo municipality {NAME}");
    Ok(())
}

/// A person receiving care, as the seed made them.
struct Cared {
    person: PersonId,
    unit: UnitId,
    contact: Option<StaffId>,
    nursing: bool,
}

/// What the care-record demo is written with: staff acting through the
/// same decisions as the server (a staff member's fresh login is assumed,
/// as if they had just identified themselves).
struct RecordWorld<'s> {
    store: &'s Store,
    policy: trygg_policy::Authorizer,
    tenant: TenantId,
    north: UnitId,
    south: UnitId,
    nursing: UnitId,
    north_manager: Option<StaffId>,
    south_manager: Option<StaffId>,
    south_staff: Option<StaffId>,
    nurse: Option<StaffId>,
}

const PLANS: &[&str] = &[
    "Hjälp med frukost och läkemedel kl 8. Promenad tisdag och fredag om vädret tillåter. Dusch onsdagar.",
    "Tillsyn morgon och kväll. Stöd vid på- och avklädning. Inköp varannan måndag; listan skrivs tillsammans.",
    "Hjälp med middag kl 17. Trygghetslarm testas första måndagen i månaden. Vill gärna prata om trädgården.",
];
const NOTES: &[&str] = &[
    "Pigg och glad i dag. Åt hela frukosten. Tog läkemedlen.",
    "Lite trött, sov dåligt i natt. Vi pratade en stund; larmet testat, fungerar.",
    "Promenad runt kvarteret. Bad om hjälp att ringa dottern, vilket vi gjorde.",
];
const NURSE_PLAN: &str =
    "Såromläggning vänster underben måndag och torsdag. Blodtryck kontrolleras varje vecka.";

impl RecordWorld<'_> {
    /// A decision as `staff` (with the roles the store holds) about `person`.
    async fn grant(
        &self,
        staff: StaffId,
        person: PersonId,
        action: Action,
        owner: Option<UnitId>,
    ) -> anyhow::Result<trygg_policy::Grant> {
        let now = self.store.clock().now();
        let roles = self.store.roles_of(staff).await?;
        let principal = Principal {
            account: Account::Staff {
                tenant: self.tenant,
                staff,
            },
            roles: roles.into_iter().map(|r| (r.unit, r.role)).collect(),
            loa: Loa::Loa3,
            stepped_up: true,
        };
        let part = match action {
            Action::Read(p) | Action::Write(p) => p,
            Action::Find | Action::BeginEmergencyAccess => Part::Overview,
        };
        let resource = Resource {
            person,
            part,
            owner_unit: owner,
            min_loa: Loa::Loa3,
        };
        let facts = self.store.person_facts(self.tenant, person, now).await?;
        self.policy
            .authorize(&principal, action, &resource, &facts, now)
            .map_err(|d| anyhow::anyhow!("the demo was refused {action:?}: {:?}", d.reason))
    }

    /// Care plans and visit notes for the home-care units' persons, the
    /// nurses' plans, a consent, a block and an emergency access waiting for
    /// its follow-up.
    async fn seed_records(&self, cared: &[Cared]) -> anyhow::Result<()> {
        let text = |s: &str| FreeText::parse(s).map_err(anyhow::Error::from);
        for (i, c) in cared.iter().enumerate() {
            let manager = if c.unit == self.north {
                self.north_manager
            } else if c.unit == self.south {
                self.south_manager
            } else {
                None
            };
            if let Some(manager) = manager {
                let plan = PLANS.get(i % PLANS.len()).copied().unwrap_or_default();
                let g = self
                    .grant(
                        manager,
                        c.person,
                        Action::Write(Part::CarePlan),
                        Some(c.unit),
                    )
                    .await?;
                self.store
                    .write_care_plan(&g, manager, &text(plan)?)
                    .await?;
            }
            if let Some(contact) = c.contact {
                let g = self
                    .grant(
                        contact,
                        c.person,
                        Action::Write(Part::VisitNotes),
                        Some(c.unit),
                    )
                    .await?;
                for k in 0..2 {
                    let note = NOTES
                        .get((i + k) % NOTES.len())
                        .copied()
                        .unwrap_or_default();
                    self.store
                        .write_visit_note(&g, None, contact, &text(note)?)
                        .await?;
                }
            }
            if let (true, Some(nurse)) = (c.nursing, self.nurse) {
                let g = self
                    .grant(
                        nurse,
                        c.person,
                        Action::Write(Part::CarePlan),
                        Some(self.nursing),
                    )
                    .await?;
                self.store
                    .write_care_plan(&g, nurse, &text(NURSE_PLAN)?)
                    .await?;
            }
        }
        // Among the nurses' persons in home care: the first has consented
        // that home nursing may read the home-care unit's documentation; the
        // second has blocked it (a block holds even against emergency access).
        let mut shared = cared
            .iter()
            .filter(|c| c.nursing && c.unit != self.nursing && c.contact.is_some());
        if let Some(c) = shared.next() {
            self.store
                .record_consent(self.tenant, c.person, self.nursing)
                .await?;
        }
        if let Some(c) = shared.next() {
            self.store
                .record_block(self.tenant, c.person, c.unit)
                .await?;
        }
        // A south home-care worker opened the record of a north person when
        // an alarm went unanswered: on the follow-up list.
        let north_person = cared.iter().find(|c| c.unit == self.north && !c.nursing);
        if let (Some(c), Some(staff)) = (north_person, self.south_staff) {
            // First the ordinary way, refused (no care relationship): the
            // refusal is logged, and flagged in the log review.
            let account = trygg_domain::Account::Staff {
                tenant: self.tenant,
                staff,
            };
            self.store
                .record_event(&trygg_domain::AuditEvent {
                    tenant: Some(self.tenant),
                    at: self.store.clock().now(),
                    actor: trygg_domain::Actor::of(&account),
                    method: None,
                    loa: None,
                    person: Some(c.person),
                    action: Action::Read(Part::CarePlan).audit_name(),
                    unit: Some(c.unit),
                    outcome: trygg_domain::Outcome::Deny,
                    ground: "no_relationship".to_owned(),
                    request_id: None,
                })
                .await?;
            let g = self
                .grant(staff, c.person, Action::BeginEmergencyAccess, None)
                .await?;
            let until = self.store.clock().now() + Duration::hours(2);
            let reason =
                "Larmet gick, ingen svarade i telefon. Behövde genomförandeplanen och portkoden.";
            self.store
                .begin_emergency_access(&g, staff, &text(reason)?, until)
                .await?;
        }
        Ok(())
    }
}

/// Who can "sign in with BankID" in the demo: staff in every role, persons
/// receiving care and relatives of the demo municipality, named with their
/// role so a newcomer knows whom they are choosing.
pub async fn identities(store: &Store) -> anyhow::Result<Vec<trygg_bankid::DemoIdentity>> {
    let Ok(tenant) = store.find_tenant(ORG_NUMBER).await else {
        return Ok(Vec::new());
    };
    let units = store.unit_tree(tenant.id).await?;
    let mut out = Vec::new();
    // One staff member of each role in each unit.
    let mut roles_seen = Vec::new();
    for staff in store.staff(tenant.id).await? {
        let roles = store.roles_of(staff.id).await?;
        let Some(first) = roles.first() else { continue };
        if roles_seen.contains(&(first.role, first.unit)) {
            continue;
        }
        roles_seen.push((first.role, first.unit));
        let Some(number) = staff.details.identity_number else {
            continue;
        };
        let unit = units
            .iter()
            .find(|u| u.unit.id == first.unit)
            .map_or("", |u| u.unit.name.as_str());
        out.push(trygg_bankid::DemoIdentity {
            personal_number: number,
            given_name: staff.details.given_name.as_str().to_owned(),
            surname: format!(
                "{} (personal: {}, {unit})",
                staff.details.family_name, first.role
            ),
        });
    }
    let persons = store.unsafe_persons(tenant.id).await?;
    for person in persons.iter().filter(|p| !p.protected_identity).take(4) {
        out.push(trygg_bankid::DemoIdentity {
            personal_number: person.details.identity_number,
            given_name: person.details.given_name.as_str().to_owned(),
            surname: format!("{} (brukare)", person.details.family_name),
        });
    }
    'relatives: for person in &persons {
        for relative in store.unsafe_relatives(tenant.id, person.id).await? {
            if let Some(number) = relative.details.identity_number {
                out.push(trygg_bankid::DemoIdentity {
                    personal_number: number,
                    given_name: relative.details.given_name.as_str().to_owned(),
                    surname: format!(
                        "{} (anhörig till {} {})",
                        relative.details.family_name,
                        person.details.given_name,
                        person.details.family_name
                    ),
                });
                if out.len() >= 18 {
                    break 'relatives;
                }
            }
        }
    }
    Ok(out)
}
