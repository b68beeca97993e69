//! The IDOR matrix: every care-record route × every kind of principal ×
//! every kind of object, through the real server. The expected answer comes
//! from the policy's reference model (the specification) over the facts the
//! store holds at that moment; the server must agree. A route of the API that
//! has no entry here fails the test.

use crate::kit::*;
use time::Duration;
use time::macros::date;
use trygg_auth::Token;
use trygg_domain::*;
use trygg_store::SessionRecord;

/// How a route answers: the JSON API, or a page (forms answer with a 303
/// to the page they changed; search answers "not found" on its own page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Api,
    Page,
}

/// (kind, method, path template, action, part). `{id}` is the object,
/// `{unit}` the north unit, `{note}` a north visit note about the object
/// (a random id where there is none), `{pnr}` the object's identity number,
/// `{alarm}` a fresh alarm of the object's device in the state the step
/// applies to (see [`alarm_state_for`]; a random id where there is none).
/// Pages that show a second part of the person's record beside the route's
/// own, read only where the policy allows it (asked quietly first, so a "no"
/// leaves no entry): (page, the second read). Each read is an entry of its
/// own in the same request.
const ALSO_READS: &[(&str, Part)] = &[("/persons/{id}/alarms", Part::Overview)];

const ROUTES: &[(Kind, &str, &str, Action, Part)] = &[
    (
        Kind::Api,
        "GET",
        "/api/persons/{id}",
        Action::Read(Part::Overview),
        Part::Overview,
    ),
    (
        Kind::Api,
        "GET",
        "/api/persons?identity_number={pnr}",
        Action::Find,
        Part::Overview,
    ),
    (
        Kind::Api,
        "GET",
        "/api/persons/{id}/care-plan/{unit}",
        Action::Read(Part::CarePlan),
        Part::CarePlan,
    ),
    (
        Kind::Api,
        "POST",
        "/api/persons/{id}/care-plan/{unit}",
        Action::Write(Part::CarePlan),
        Part::CarePlan,
    ),
    (
        Kind::Api,
        "GET",
        "/api/persons/{id}/notes/{unit}",
        Action::Read(Part::VisitNotes),
        Part::VisitNotes,
    ),
    (
        Kind::Api,
        "POST",
        "/api/persons/{id}/notes/{unit}",
        Action::Write(Part::VisitNotes),
        Part::VisitNotes,
    ),
    (
        Kind::Api,
        "GET",
        "/api/persons/{id}/notes/{unit}/{note}",
        Action::Read(Part::VisitNotes),
        Part::VisitNotes,
    ),
    (
        Kind::Api,
        "POST",
        "/api/persons/{id}/notes/{unit}/{note}",
        Action::Write(Part::VisitNotes),
        Part::VisitNotes,
    ),
    (
        Kind::Api,
        "POST",
        "/api/persons/{id}/emergency-access",
        Action::BeginEmergencyAccess,
        Part::Overview,
    ),
    (
        Kind::Api,
        "GET",
        "/api/persons/{id}/alarms",
        Action::Read(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Api,
        "POST",
        "/api/persons/{id}/alarms/{alarm}/take",
        Action::Write(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Api,
        "POST",
        "/api/persons/{id}/alarms/{alarm}/dispatch",
        Action::Write(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Api,
        "POST",
        "/api/persons/{id}/alarms/{alarm}/on-site",
        Action::Write(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Api,
        "POST",
        "/api/persons/{id}/alarms/{alarm}/close",
        Action::Write(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Page,
        "GET",
        "/persons/{id}",
        Action::Read(Part::Overview),
        Part::Overview,
    ),
    (
        Kind::Page,
        "GET",
        "/persons/find?identity_number={pnr}",
        Action::Find,
        Part::Overview,
    ),
    (
        Kind::Page,
        "GET",
        "/persons/{id}/care-plan/{unit}",
        Action::Read(Part::CarePlan),
        Part::CarePlan,
    ),
    (
        Kind::Page,
        "POST",
        "/persons/{id}/care-plan/{unit}",
        Action::Write(Part::CarePlan),
        Part::CarePlan,
    ),
    (
        Kind::Page,
        "GET",
        "/persons/{id}/notes/{unit}",
        Action::Read(Part::VisitNotes),
        Part::VisitNotes,
    ),
    (
        Kind::Page,
        "POST",
        "/persons/{id}/notes/{unit}",
        Action::Write(Part::VisitNotes),
        Part::VisitNotes,
    ),
    (
        Kind::Page,
        "GET",
        "/persons/{id}/notes/{unit}/{note}",
        Action::Read(Part::VisitNotes),
        Part::VisitNotes,
    ),
    (
        Kind::Page,
        "POST",
        "/persons/{id}/notes/{unit}/{note}",
        Action::Write(Part::VisitNotes),
        Part::VisitNotes,
    ),
    (
        Kind::Page,
        "POST",
        "/persons/emergency-access",
        Action::BeginEmergencyAccess,
        Part::Overview,
    ),
    (
        Kind::Page,
        "GET",
        "/persons/{id}/alarms",
        Action::Read(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Page,
        "POST",
        "/persons/{id}/alarms/{alarm}/take",
        Action::Write(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Page,
        "POST",
        "/persons/{id}/alarms/{alarm}/dispatch",
        Action::Write(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Page,
        "POST",
        "/persons/{id}/alarms/{alarm}/on-site",
        Action::Write(Part::Alarms),
        Part::Alarms,
    ),
    (
        Kind::Page,
        "POST",
        "/persons/{id}/alarms/{alarm}/close",
        Action::Write(Part::Alarms),
        Part::Alarms,
    ),
];

/// The state an alarm must be in for the step a route takes.
fn alarm_state_for(template: &str) -> &'static str {
    match template.rsplit('/').next() {
        Some("dispatch" | "close") => "taken",
        Some("on-site") => "dispatched",
        _ => "received",
    }
}

/// Routes about no single object, tested on their own: the staff list
/// (checked at the end of `idor_matrix`).
const LIST_ROUTES: &[(&str, &str)] = &[
    ("GET", "/persons"),
    ("GET", "/alarms"),
    ("GET", "/alarms/mine"),
];

#[test]
fn every_record_route_has_a_matrix_entry() {
    let mut paths = Vec::new();
    for source in [
        include_str!("../../../web/src/record.rs"),
        include_str!("../../../web/src/care.rs"),
        include_str!("../../../web/src/alarms.rs"),
        include_str!("../../../web/src/console.rs"),
    ] {
        for (path, handlers) in route_calls(source) {
            if NOT_PERSONAL.contains(&path.as_str()) {
                continue;
            }
            for method in ["get(", "post("] {
                if handlers.contains(method) {
                    paths.push((method.trim_end_matches('(').to_uppercase(), path.clone()));
                }
            }
        }
    }
    assert!(paths.len() >= 29, "{paths:?}");
    for (method, path) in paths {
        let covered = ROUTES
            .iter()
            .any(|(_, m, p, _, _)| *m == method && p.split('?').next().unwrap() == path.as_str())
            || LIST_ROUTES.contains(&(method.as_str(), path.as_str()));
        assert!(covered, "{method} {path} has no IDOR matrix entry");
    }
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Checks that a request left exactly one audit entry, and that it records
/// the action, the care provider, the time, the user with method and LoA,
/// the person (when they exist), the decision and its ground, and the request.
fn check_entry(
    entries: &[trygg_store::StoredEntry],
    who: &Who,
    action: Action,
    allowed: bool,
    object: PersonId,
    exists: bool,
    request_id: &str,
) -> Result<(), String> {
    let [entry] = entries else {
        return Err(format!("{} entries", entries.len()));
    };
    let e = &entry.event;
    let expected_outcome = if allowed {
        Outcome::Allow
    } else {
        Outcome::Deny
    };
    let checks = [
        ("action", e.action == action.audit_name()),
        ("outcome", e.outcome == expected_outcome),
        ("ground", !e.ground.is_empty()),
        ("actor", e.actor == Actor::of(&who.account)),
        ("tenant", e.tenant == who.account.tenant()),
        ("method", e.method.is_some()),
        ("loa", e.loa.is_some()),
        ("person", !allowed || e.person == Some(object)),
        (
            "no unknown person",
            exists || e.person.is_none() || e.person == Some(object),
        ),
        ("request", e.request_id.as_deref() == Some(request_id)),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        Some((field, _)) => Err(format!("wrong {field}: {e:?}")),
        None => Ok(()),
    }
}

struct Who {
    name: &'static str,
    account: Account,
    roles: Vec<(UnitId, Role)>,
    token: Option<Token>,
}

on_both_backends! {
    async fn idor_matrix(backend) {
        let app = TestApp::spawn(backend).await;
        let store = &app.store;
        let now = app.clock.now();
        let t = tenant(store, "212000-9994").await;
        let t2 = tenant(store, "212000-0142").await;
        let mut tx = store.begin().await.unwrap();
        let north = tx.add_unit(t.id, None, "Norr", None).await.unwrap().id;
        let south = tx.add_unit(t.id, None, "Söder", None).await.unwrap().id;
        let other_unit = tx.add_unit(t2.id, None, "Annan", None).await.unwrap().id;
        let staff_details = |g: &str| StaffDetails {
            given_name: PersonName::parse(g).unwrap(), family_name: PersonName::parse("Test").unwrap(),
            hsa_id: None, identity_number: None, email: None, phone: None,
        };
        let mut staff = Vec::new();
        for (name, unit, role) in [("Nora", north, Role::Nurse), ("Siv", south, Role::Nurse), ("Maja", north, Role::UnitManager), ("Saga", north, Role::SecurityOfficer), ("Hugo", north, Role::HomeCareStaff), ("Alva", north, Role::AlarmOperator)] {
            let id = tx.add_staff(t.id, &staff_details(name)).await.unwrap();
            tx.assign_role(t.id, RoleAssignment { staff: id, unit, role }).await.unwrap();
            staff.push((name, id, unit, role));
        }
        let since = Period::new(now - Duration::days(1), None).unwrap();
        let add = |given: &'static str, serial: u16, protected: bool| {
            let d = person(given, "Objekt", pnr(date!(1935-05-05), serial));
            (d, protected)
        };
        let objects_details = [add("Egen", 981, false), add("Andra", 982, false), add("Sparrad", 983, false), add("Skyddad", 984, true)];
        let mut ids = Vec::new();
        for (d, protected) in &objects_details {
            ids.push(tx.add_person(t.id, d, *protected).await.unwrap());
        }
        let (own, other, blocked, protected) = (ids[0], ids[1], ids[2], ids[3]);
        tx.add_care_relationship(t.id, own, CareParty::Unit(north), since).await.unwrap();
        tx.add_care_relationship(t.id, other, CareParty::Unit(south), since).await.unwrap();
        tx.add_care_relationship(t.id, blocked, CareParty::Unit(north), since).await.unwrap();
        tx.add_care_relationship(t.id, blocked, CareParty::Unit(south), since).await.unwrap();
        tx.add_care_relationship(t.id, protected, CareParty::Unit(north), since).await.unwrap();
        let foreign = tx.add_person(t2.id, &person("Annan", "Kommun", pnr(date!(1935-05-05), 985)), false).await.unwrap();
        tx.add_care_relationship(t2.id, foreign, CareParty::Unit(other_unit), since).await.unwrap();
        let rel_details = |g: &str| RelativeDetails {
            given_name: PersonName::parse(g).unwrap(), family_name: PersonName::parse("Objekt").unwrap(),
            identity_number: None, relation: None, phone: None, email: None,
        };
        // A safety alarm for every person, in the north unit (abroad: theirs).
        let secrets = trygg_alarm::device_secrets("x", "trygg", "lösenord-för-test");
        let mut devices = std::collections::HashMap::new();
        for (n, (tenant_id, object, unit)) in [(t.id, own, north), (t.id, other, north), (t.id, blocked, north), (t.id, protected, north), (t2.id, foreign, other_unit)].into_iter().enumerate() {
            let (user, cid) = (format!("larm-{n}"), format!("460000{n}"));
            let device = tx.add_device(&trygg_store::NewDevice { tenant: tenant_id, unit, person: object, sip_user: &user, cid: &cid, device_type: 1, heartbeat: Duration::minutes(60), secrets: &secrets }).await.unwrap();
            devices.insert(object, device);
        }
        let granted = tx.add_relative(t.id, own, &rel_details("Beviljad")).await.unwrap();
        let ungranted = tx.add_relative(t.id, own, &rel_details("Utan")).await.unwrap();
        tx.commit().await.unwrap();
        store.record_consent(t.id, blocked, south).await.unwrap();
        store.record_block(t.id, blocked, north).await.unwrap();
        store.grant_relative(t.id, granted, &[Part::Overview, Part::CarePlan]).await.unwrap();

        let mut principals = vec![
            Who { name: "citizen", account: Account::Person { tenant: t.id, person: own }, roles: vec![], token: None },
            Who { name: "relative with grant", account: Account::Relative { tenant: t.id, relative: granted, person: own }, roles: vec![], token: None },
            Who { name: "relative without grant", account: Account::Relative { tenant: t.id, relative: ungranted, person: own }, roles: vec![], token: None },
            Who { name: "bootstrap admin", account: Account::BootstrapAdmin { name: "admin".into() }, roles: vec![], token: None },
        ];
        for (name, id, unit, role) in &staff {
            principals.push(Who { name, account: Account::Staff { tenant: t.id, staff: *id }, roles: vec![(*unit, *role)], token: None });
        }
        for who in &mut principals {
            let token = Token::generate().unwrap();
            let loa = if matches!(who.account, Account::BootstrapAdmin { .. }) { Loa::Loa2 } else { Loa::Loa3 };
            store.create_session(&token.hash(), &SessionRecord {
                account: who.account.clone(),
                method: if loa == Loa::Loa2 { AuthMethod::PasswordTotp } else { AuthMethod::BankId },
                provider: "bankid".into(), loa, authenticated_at: now, created_at: now, last_seen_at: now,
                expires_at: now + Duration::hours(12),
            }).await.unwrap();
            who.token = Some(token);
        }

        let objects: Vec<(&str, PersonId, Option<String>, Option<TenantId>)> = vec![
            ("own / same unit", own, Some("19350505-9811".into()), Some(t.id)),
            ("other unit", other, None, Some(t.id)),
            ("blocked", blocked, None, Some(t.id)),
            ("protected identity", protected, None, Some(t.id)),
            ("other tenant", foreign, None, None),
            ("non-existent", PersonId::generate(&app.clock), None, None),
        ];
        // A north visit note about every object north may write about.
        let nora = &principals.iter().find(|w| w.name == "Nora").unwrap().token.as_ref().unwrap().clone();
        let client = no_redirects();
        let mut notes = std::collections::HashMap::new();
        for (_, object, _, _) in &objects {
            let res = client.post(format!("{}/api/persons/{object}/notes/{north}", app.base))
                .header("cookie", format!("__Host-trygg-session={}", nora.expose()))
                .header("x-csrf-token", nora.csrf()).header("origin", &app.base)
                .json(&serde_json::json!({"text": "Första"})).send().await.unwrap();
            if res.status().is_success() {
                let v: serde_json::Value = res.json().await.unwrap();
                notes.insert(*object, v["id"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(notes.len(), 3, "own, blocked and protected have north notes");
        let raw = app.db.raw().await;
        let hugo = staff.iter().find(|s| s.0 == "Hugo").unwrap().1;
        let mut alarm_refs = 0;
        let mut alarm_steps_allowed = 0;
        // Alarm pages shown with the person's overview beside.
        let mut also_shown = 0;
        let mut checked = 0;
        let mut allowed_count = 0;
        let mut mismatches = Vec::new();
        for (kind, method, template, action, part) in ROUTES {
            for who in &principals {
                for (object_name, object, _, tenant_of) in &objects {
                    let number = store.unsafe_person(tenant_of.unwrap_or(t.id), *object).await.ok().map(|p| p.details.identity_number.canonical());
                    if template.contains("{pnr}") && number.is_none() {
                        continue; // nothing to look up
                    }
                    if *kind == Kind::Page && *action == Action::BeginEmergencyAccess && number.is_none() {
                        continue; // the form names a person by number
                    }
                    let note = notes.get(object).cloned();
                    // A fresh alarm in the state the route's step applies to.
                    let alarm = match devices.get(object) {
                        Some(device) if template.contains("{alarm}") => {
                            alarm_refs += 1;
                            let reference = format!("M{alarm_refs}");
                            let incoming = trygg_store::IncomingAlarm { reference: &reference, kind: trygg_store::AlarmKind::Alarm, status_code: Some(9), priority: None, request: "<mrq/>" };
                            let recorded = store.record_alarm(device, &incoming).await.unwrap();
                            sqlx::query("UPDATE alarms SET state = $1 WHERE id = $2").bind(alarm_state_for(template)).bind(recorded.alarm.to_string()).execute(&raw).await.unwrap();
                            Some(recorded.alarm.to_string())
                        }
                        _ => None,
                    };
                    let path = template
                        .replace("{id}", &object.to_string())
                        .replace("{unit}", &north.to_string())
                        .replace("{note}", note.as_deref().unwrap_or("0190a7b4-0000-7000-8000-000000000000"))
                        .replace("{pnr}", number.as_deref().unwrap_or("193505059811"))
                        .replace("{alarm}", alarm.as_deref().unwrap_or("0190a7b4-0000-7000-8000-000000000001"));
                    // Expected: the specification over the facts as they are now.
                    let owner = matches!(part, Part::CarePlan | Part::VisitNotes).then_some(north);
                    let exists = (!template.contains("{note}") || note.is_some())
                        && (!template.contains("{alarm}") || alarm.is_some());
                    let facts_now = match tenant_of {
                        Some(tenant) => Some(store.person_facts(*tenant, *object, app.clock.now()).await.unwrap()),
                        None => None,
                    };
                    let principal = Principal { account: who.account.clone(), roles: who.roles.clone(), loa: if who.name == "bootstrap admin" { Loa::Loa2 } else { Loa::Loa3 }, stepped_up: who.name != "bootstrap admin" };
                    let policy_allows = match &facts_now {
                        Some(facts) => {
                            let resource = Resource { person: *object, part: *part, owner_unit: owner, min_loa: Loa::Loa3 };
                            trygg_policy::reference::decide(&principal, *action, &resource, facts, app.clock.now()).is_some()
                        }
                        None => false,
                    };
                    let expected = exists && policy_allows;
                    // The second read of a page that shows one beside its own.
                    let also_read = ALSO_READS
                        .iter()
                        .find(|(page, _)| *kind == Kind::Page && *method == "GET" && page == template)
                        .map(|(_, also)| {
                            let resource = Resource { person: *object, part: *also, owner_unit: None, min_loa: Loa::Loa3 };
                            let allows = facts_now.as_ref().is_some_and(|facts| {
                                trygg_policy::reference::decide(&principal, Action::Read(*also), &resource, facts, app.clock.now()).is_some()
                            });
                            (Action::Read(*also), allows)
                        });
                    let token = who.token.as_ref().unwrap();
                    let url = format!("{}{path}", app.base);
                    let emergency = *action == Action::BeginEmergencyAccess;
                    let req = match (*method, kind) {
                        ("GET", _) => client.get(&url),
                        (_, Kind::Api) => client.post(&url)
                            .header("x-csrf-token", token.csrf())
                            .header("origin", &app.base)
                            .json(&if emergency {
                                serde_json::json!({"reason": "Larm utan svar"})
                            } else if template.ends_with("/dispatch") {
                                serde_json::json!({"staff": hugo})
                            } else if template.ends_with("/close") {
                                serde_json::json!({"note": "Hjälpte upp, oskadd."})
                            } else {
                                serde_json::json!({"text": "Anteckning"})
                            }),
                        (_, Kind::Page) => {
                            let csrf = token.csrf();
                            let pnr = number.clone().unwrap_or_else(|| "193505059811".into());
                            let hugo = hugo.to_string();
                            let form: Vec<(&str, &str)> = if emergency {
                                vec![("csrf", &csrf), ("identity_number", &pnr), ("reason", "Larm utan svar")]
                            } else if template.ends_with("/dispatch") {
                                vec![("csrf", &csrf), ("staff", &hugo)]
                            } else {
                                vec![("csrf", &csrf), ("text", "Anteckning")]
                            };
                            client.post(&url).header("origin", &app.base).form(&form)
                        }
                    };
                    let res = req.header("cookie", format!("__Host-trygg-session={}", token.expose())).send().await.unwrap();
                    let status = res.status();
                    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
                    let location = res.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("").to_owned();
                    let finding_page = *kind == Kind::Page && *action == Action::Find;
                    let body = res.text().await.unwrap_or_default();
                    let (allowed, refused) = match kind {
                        Kind::Api => (status.is_success(), status == 403 || status == 404),
                        // A page answers 200 or, after a form or a search, 303 to the person.
                        Kind::Page if finding_page || *method == "POST" => (
                            status == 303 && location.starts_with("/persons/"),
                            status == 403 || status == 404 || (finding_page && status == 200 && body.contains("id=\"not-found\"")),
                        ),
                        Kind::Page => (status == 200, status == 403 || status == 404),
                    };
                    // The bootstrap administrator's LoA2 session is sent to the login page (303).
                    let refused = refused || (status == 303 && location.starts_with("/login") && who.name == "bootstrap admin");
                    // Every attempt that reached a decision left exactly one
                    // audit entry with every required field, allow or deny.
                    let mut entries = store.unsafe_audit_entries_of_request(&request_id).await.unwrap();
                    if let Some((also, also_allows)) = also_read {
                        let (second, own): (Vec<_>, Vec<_>) = entries.into_iter().partition(|e| e.event.action == also.audit_name());
                        entries = own;
                        let shown = allowed && also_allows;
                        also_shown += usize::from(shown);
                        let result = if shown {
                            check_entry(&second, who, also, true, *object, true, &request_id)
                        } else if second.is_empty() {
                            Ok(())
                        } else {
                            Err(format!("{} entries of a second read the page should not make", second.len()))
                        };
                        if let Err(e) = result {
                            mismatches.push(format!("audit of the second read of {template} as {} on {object_name}: {e}", who.name));
                        }
                        if shown != (status == 200 && body.contains("id=\"about-person\"")) {
                            mismatches.push(format!("{template} as {} on {object_name}: the person's overview shown: {}", who.name, !shown));
                        }
                    }
                    if (who.name != "bootstrap admin" || status != 303)
                        && let Err(e) = check_entry(&entries, who, *action, policy_allows && exists, *object, tenant_of.is_some(), &request_id)
                    {
                        mismatches.push(format!("audit of {method} {template} as {} on {object_name}: {e}", who.name));
                    }
                    checked += 1;
                    allowed_count += usize::from(allowed);
                    if template.contains("{alarm}") && allowed {
                        alarm_steps_allowed += 1;
                    }
                    if allowed != expected || (!allowed && !refused) {
                        mismatches.push(format!("{method} {template} as {} on {object_name}: expected {}, got {status} {location}", who.name, if expected { "allow" } else { "deny" }));
                    }
                }
            }
        }
        // The staff list shows exactly the persons the policy lets them find.
        for who in &principals {
            let token = who.token.as_ref().unwrap();
            let res = client.get(format!("{}/persons", app.base))
                .header("cookie", format!("__Host-trygg-session={}", token.expose())).send().await.unwrap();
            let Account::Staff { .. } = who.account else {
                // Citizens and relatives are sent to the person; the administrator is refused.
                let expected = if who.name == "bootstrap admin" { 403 } else { 303 };
                assert_eq!(res.status(), expected, "{}", who.name);
                continue;
            };
            let body = res.text().await.unwrap();
            for ((d, _), object) in objects_details.iter().zip(&ids) {
                let facts = store.person_facts(t.id, *object, app.clock.now()).await.unwrap();
                let principal = Principal { account: who.account.clone(), roles: who.roles.clone(), loa: Loa::Loa3, stepped_up: true };
                let resource = Resource { person: *object, part: Part::Overview, owner_unit: None, min_loa: Loa::Loa3 };
                let findable = trygg_policy::reference::decide(&principal, Action::Find, &resource, &facts, app.clock.now()).is_some();
                let listed = body.contains(&format!("/persons/{object}\""));
                let name = format!("{} {}", d.given_name, d.family_name);
                assert_eq!(listed, findable, "{} listing {name}", who.name);
                assert_eq!(body.contains(&name), findable, "{} listing {name}", who.name);
            }
        }
        assert!(checked > 900, "{checked}");
        // Each of the four steps was taken by someone (the citizen's alarm
        // operator and home-care worker, on several objects).
        assert!(alarm_steps_allowed >= 8, "{alarm_steps_allowed} alarm steps allowed");
        assert!(also_shown > 0, "overview beside alarms shown {also_shown} times");
        // Both answers occur, so the matrix can catch a wrong one either way.
        assert!(allowed_count > 60 && checked - allowed_count > 300, "{allowed_count} of {checked} allowed");
        assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    }

    async fn fields_a_role_may_not_write_stay_unchanged(backend) {
        // Mass assignment: only `text` is accepted; author, version and unit
        // come from the session and the path.
        let app = TestApp::spawn(backend).await;
        let now = app.clock.now();
        let t = tenant(&app.store, "212000-9994").await;
        let mut tx = app.store.begin().await.unwrap();
        let north = tx.add_unit(t.id, None, "Norr", None).await.unwrap().id;
        let nurse = tx.add_staff(t.id, &StaffDetails {
            given_name: PersonName::parse("Nora").unwrap(), family_name: PersonName::parse("Test").unwrap(),
            hsa_id: None, identity_number: None, email: None, phone: None,
        }).await.unwrap();
        tx.assign_role(t.id, RoleAssignment { staff: nurse, unit: north, role: Role::Nurse }).await.unwrap();
        let p = tx.add_person(t.id, &person("Elsa", "Ek", pnr(date!(1933-01-01), 981)), false).await.unwrap();
        tx.add_care_relationship(t.id, p, CareParty::Unit(north), Period::new(now - Duration::days(1), None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        let token = Token::generate().unwrap();
        app.store.create_session(&token.hash(), &SessionRecord {
            account: Account::Staff { tenant: t.id, staff: nurse }, method: AuthMethod::BankId, provider: "bankid".into(),
            loa: Loa::Loa3, authenticated_at: now, created_at: now, last_seen_at: now, expires_at: now + Duration::hours(12),
        }).await.unwrap();
        let url = format!("{}/api/persons/{p}/care-plan/{north}", app.base);
        let post = |body: serde_json::Value| {
            reqwest::Client::new().post(&url)
                .header("cookie", format!("__Host-trygg-session={}", token.expose()))
                .header("x-csrf-token", token.csrf()).header("origin", &app.base)
                .json(&body).send()
        };
        assert!(post(serde_json::json!({"text": "Plan A"})).await.unwrap().status().is_success());
        let forged = post(serde_json::json!({"text": "Plan B", "author": uuid::Uuid::nil(), "version": 99})).await.unwrap();
        assert_eq!(forged.status(), 422, "unknown fields are refused");
        let history: serde_json::Value = reqwest::Client::new().get(&url)
            .header("cookie", format!("__Host-trygg-session={}", token.expose())).send().await.unwrap().json().await.unwrap();
        assert_eq!(history.as_array().unwrap().len(), 1);
        assert_eq!(history[0]["text"], "Plan A");
        assert_eq!(history[0]["author"], nurse.to_string());
        assert_eq!(history[0]["version"], 1);
    }
}

on_both_backends! {
    async fn emergency_access_over_http(backend) {
        // Reason required, fresh login required, access for two hours, then
        // gone; on the follow-up list until reviewed.
        let app = TestApp::spawn(backend).await;
        let now = app.clock.now();
        let t = tenant(&app.store, "212000-9994").await;
        let mut tx = app.store.begin().await.unwrap();
        let north = tx.add_unit(t.id, None, "Norr", None).await.unwrap().id;
        let south = tx.add_unit(t.id, None, "Söder", None).await.unwrap().id;
        let siv = tx.add_staff(t.id, &StaffDetails {
            given_name: PersonName::parse("Siv").unwrap(), family_name: PersonName::parse("Test").unwrap(),
            hsa_id: None, identity_number: None, email: None, phone: None,
        }).await.unwrap();
        tx.assign_role(t.id, RoleAssignment { staff: siv, unit: south, role: Role::Nurse }).await.unwrap();
        let p = tx.add_person(t.id, &person("Greta", "Lind", pnr(date!(1936-06-06), 989)), false).await.unwrap();
        tx.add_care_relationship(t.id, p, CareParty::Unit(north), Period::new(now - Duration::days(1), None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        let token = Token::generate().unwrap();
        app.store.create_session(&token.hash(), &SessionRecord {
            account: Account::Staff { tenant: t.id, staff: siv }, method: AuthMethod::BankId, provider: "bankid".into(),
            loa: Loa::Loa3, authenticated_at: now, created_at: now, last_seen_at: now, expires_at: now + Duration::hours(12),
        }).await.unwrap();
        let client = reqwest::Client::new();
        let get = |path: String| client.get(format!("{}{path}", app.base)).header("cookie", format!("__Host-trygg-session={}", token.expose())).send();
        let begin = |reason: &'static str| client.post(format!("{}/api/persons/{p}/emergency-access", app.base))
            .header("cookie", format!("__Host-trygg-session={}", token.expose()))
            .header("x-csrf-token", token.csrf()).header("origin", &app.base)
            .json(&serde_json::json!({ "reason": reason })).send();
        let overview = format!("/api/persons/{p}");
        assert_eq!(get(overview.clone()).await.unwrap().status(), 403, "no care relationship");
        assert_eq!(begin("   ").await.unwrap().status(), 400, "a reason is required");
        // Eleven minutes after login the step-up is stale.
        app.clock.advance(Duration::minutes(11));
        assert_eq!(begin("Larm utan svar").await.unwrap().status(), 403);
        app.clock.set(now + Duration::minutes(5));
        let res = begin("Larm utan svar").await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(get(overview.clone()).await.unwrap().status(), 200, "emergency access in force");
        assert_eq!(get(format!("/api/persons/{p}/care-plan/{north}")).await.unwrap().status(), 200);
        // Two hours later it is over (the session is kept alive meanwhile).
        for _ in 0..4 {
            app.clock.advance(Duration::minutes(29));
            get("/".into()).await.unwrap();
        }
        app.clock.advance(Duration::minutes(4));
        assert_eq!(get(overview).await.unwrap().status(), 403, "expired");
        let list = app.store.emergency_follow_up_list(t.id).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].staff, list[0].person), (siv, p));
    }
}

/// Routes outside the matrix that read or change personal data, and the
/// test that checks their audit entries.
const AUDITED_ELSEWHERE: &[(&str, &str)] = &[
    (
        "/permissions/{unit}",
        "permissions.rs: a_unit_manager_grants_and_removes_and_it_applies_on_the_next_request",
    ),
    (
        "/permissions/{unit}/roles",
        "permissions.rs: a_unit_manager_grants_and_removes_and_it_applies_on_the_next_request",
    ),
    (
        "/permissions/{unit}/roles/end",
        "permissions.rs: nobody_grants_more_than_they_hold",
    ),
    (
        "/permissions/{unit}/roles/review",
        "permissions.rs: nobody_grants_more_than_they_hold",
    ),
    (
        "/permissions/{unit}/care",
        "permissions.rs: nobody_grants_more_than_they_hold",
    ),
    (
        "/permissions/{unit}/care/end",
        "permissions.rs: nobody_grants_more_than_they_hold",
    ),
    (
        "/permissions/{unit}/care/review",
        "permissions.rs: nobody_grants_more_than_they_hold",
    ),
    (
        "/follow-up",
        "permissions.rs: emergency_access_is_followed_up_by_the_staff_members_manager",
    ),
    (
        "/follow-up/{id}",
        "permissions.rs: emergency_access_is_followed_up_by_the_staff_members_manager",
    ),
    (
        "/api/emergency-follow-ups",
        "permissions.rs: emergency_access_is_followed_up_by_the_staff_members_manager",
    ),
    (
        "/api/emergency-follow-ups/{id}",
        "permissions.rs: emergency_access_is_followed_up_by_the_staff_members_manager",
    ),
    (
        "/my-log",
        "audit.rs: a_person_sees_which_units_looked_at_their_data",
    ),
    (
        "/my-log/proof",
        "proofs.rs: a_person_downloads_a_proof_that_anyone_can_check",
    ),
    (
        "/log-review/{unit}",
        "review.rs: a_review_is_recorded_followed_up_and_sealed",
    ),
    (
        "/log-review/{unit}/reviews",
        "review.rs: a_review_is_recorded_followed_up_and_sealed",
    ),
    (
        "/log-review/{unit}/reviews/{id}/close",
        "review.rs: a_review_is_recorded_followed_up_and_sealed",
    ),
    (
        "/api/log-review/{unit}",
        "review.rs: a_unit_manager_reviews_her_units_log_with_flags_and_samples",
    ),
    (
        "/api/log-review/{unit}/fhir",
        "review.rs: the_fhir_export_is_a_bundle_of_audit_events_that_names_nobody",
    ),
];

/// Routes that touch no one's personal data (or only the logged-in user's
/// own name and login details), so they leave no audit entry.
const NOT_PERSONAL: &[&str] = &[
    "/healthz",
    "/readyz",
    "/",
    "/login",
    "/login/start",
    "/login/bootstrap",
    "/logout",
    "/account/security",
    "/static/trygg.css",
    "/static/bankid.js",
    "/static/passkey.js",
    "/static/alarms.js",
    // The notification service worker: the same script for everyone.
    "/sw.js",
    // Says only that something changed; the page then decides again.
    "/alarms/events",
    "/login/bankid",
    "/login/bankid/qr",
    "/login/bankid/status",
    "/login/bankid/cancel",
    "/login/oidc/callback",
    "/account/passkeys/register/start",
    "/account/passkeys/register/finish",
    "/login/passkey/start",
    "/login/passkey/finish",
    "/account/totp/enroll",
    "/account/totp/confirm",
    "/account/step-up/totp",
    // Lists of units, not of people.
    "/permissions",
    "/log-review",
    // A checkpoint is a size, a hash and a time.
    "/audit/checkpoint",
    "/audit/key",
    "/audit/consistency",
];

/// Every route of the router is classified for the audit log: in the
/// matrix above (which checks one complete entry per attempt), audited and
/// checked by a named test, or touching no personal data. A new route that
/// is none of these fails here.
#[test]
fn every_route_is_classified_for_the_audit_log() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        for (route, _) in route_calls(&source) {
            seen += 1;
            let in_matrix = ["record.rs", "care.rs", "alarms.rs", "console.rs"]
                .contains(&file.as_str())
                && (ROUTES
                    .iter()
                    .any(|(_, _, p, _, _)| p.split('?').next().unwrap() == route)
                    || LIST_ROUTES.iter().any(|(_, p)| *p == route));
            let elsewhere = AUDITED_ELSEWHERE.iter().find(|(p, _)| *p == route);
            let not_personal = NOT_PERSONAL.contains(&route.as_str());
            let kinds = usize::from(in_matrix)
                + usize::from(elsewhere.is_some())
                + usize::from(not_personal);
            assert_eq!(
                kinds, 1,
                "{file}: {route} must be classified exactly once for the audit log"
            );
            if let Some((_, test)) = elsewhere {
                let (test_file, name) = test.split_once(": ").unwrap();
                let text = std::fs::read_to_string(tests.join(test_file)).unwrap();
                assert!(
                    text.contains(&format!("fn {name}(")),
                    "{route}: no test {test}"
                );
                assert!(
                    text.contains("unsafe_audit_entries_of_request"),
                    "{test_file} checks no audit entries"
                );
            }
        }
    }
    assert!(seen >= 59, "{seen} routes found");
}
