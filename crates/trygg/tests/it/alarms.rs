//! Safety alarms in storage, on both backends: the device registry keeps
//! credentials sealed, a repeat of (device, ref) is the same alarm even when
//! many arrive at once, and a ref reused after the repeat window is a new
//! alarm.

use crate::kit::*;
use time::Duration;
use trygg_domain::*;
use trygg_store::{
    AlarmKind, AlarmState, Device, DeviceSecrets, IncomingAlarm, NewDevice, REPEAT_WINDOW,
    StoreError,
};
use zeroize::Zeroizing;

/// A unit, a person and a device of theirs.
pub async fn provisioned(store: &trygg_store::Store, sip_user: &str, cid: &str) -> Device {
    let secrets = DeviceSecrets {
        ha1_md5: Zeroizing::new("0123456789abcdef0123456789abcdef".into()),
        ha1_sha256: Zeroizing::new("ab".repeat(32)),
    };
    provision(store, sip_user, cid, &secrets).await
}

/// The same, with a password in the realm `trygg`.
pub async fn provisioned_with_password(
    store: &trygg_store::Store,
    sip_user: &str,
    cid: &str,
    password: &str,
) -> Device {
    let secrets = trygg_alarm::device_secrets(sip_user, "trygg", password);
    provision(store, sip_user, cid, &secrets).await
}

async fn provision(
    store: &trygg_store::Store,
    sip_user: &str,
    cid: &str,
    secrets: &DeviceSecrets,
) -> Device {
    let t = tenant(store, "212000-0142").await;
    let mut tx = store.begin().await.unwrap();
    let unit = tx
        .add_unit(t.id, None, "Larmcentralen", None)
        .await
        .unwrap();
    let p = tx
        .add_person(
            t.id,
            &PersonDetails {
                address: Some(Address::parse("Storgatan 1\n123 45 Bänkby").unwrap()),
                phone: Some(Phone::parse("070-123 45 67").unwrap()),
                ..person("Greta", "Lind", pnr(born(), 123))
            },
            false,
        )
        .await
        .unwrap();
    let device = tx
        .add_device(&NewDevice {
            tenant: t.id,
            unit: unit.id,
            person: p,
            sip_user,
            cid,
            device_type: 5,
            heartbeat: Duration::minutes(60),
            secrets,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    device
}

fn born() -> time::Date {
    time::Date::from_calendar_date(1938, time::Month::April, 12).unwrap()
}

fn alarm<'a>(reference: &'a str, request: &'a str) -> IncomingAlarm<'a> {
    IncomingAlarm {
        reference,
        kind: AlarmKind::Alarm,
        status_code: None,
        priority: Some(1),
        request,
    }
}

on_both_backends! {
    async fn devices_are_found_by_sip_user_with_sealed_credentials(backend) {
        let (db, store, _clock) = store(backend).await;
        let device = provisioned(&store, "larm-0001", "4600001").await;
        let (found, secrets) = store.device_by_sip_user("larm-0001").await.unwrap().unwrap();
        assert_eq!(found, device);
        assert_eq!(secrets.ha1_md5.as_str(), "0123456789abcdef0123456789abcdef");
        assert_eq!(secrets.ha1_sha256.as_str(), "ab".repeat(32));
        assert!(store.device_by_sip_user("larm-0002").await.unwrap().is_none());
        assert_eq!(store.devices(device.tenant).await.unwrap(), vec![device.clone()]);
        // The HA1 values never reach the database file in the clear.
        let bytes = db.raw_bytes().await;
        assert_eq!(occurrences(&bytes, &db.as_stored(b"0123456789abcdef0123456789abcdef")), 0);
        // A second device with the same SIP user or cid is refused.
        let mut tx = store.begin().await.unwrap();
        let again = tx
            .add_device(&NewDevice {
                tenant: device.tenant,
                unit: device.unit,
                person: device.person,
                sip_user: "larm-0001",
                cid: "4600009",
                device_type: 5,
                heartbeat: Duration::minutes(60),
                secrets: &DeviceSecrets {
                    ha1_md5: Zeroizing::new("x".into()),
                    ha1_sha256: Zeroizing::new("y".into()),
                },
            })
            .await;
        assert!(matches!(again, Err(trygg_store::StoreError::Duplicate(_))), "{again:?}");
    }

    async fn a_repeated_ref_is_the_same_alarm_and_a_late_one_is_new(backend) {
        let (db, store, clock) = store(backend).await;
        let device = provisioned(&store, "larm-0001", "4600001").await;
        let request = "<mrq><ref>A1</ref><cid>4600001</cid><dty>0005</dty></mrq>";
        let first = store.record_alarm(&device, &alarm("A1", request)).await.unwrap();
        assert!(!first.repeat);
        clock.advance(Duration::minutes(20));
        let again = store.record_alarm(&device, &alarm("A1", request)).await.unwrap();
        assert_eq!(again.alarm, first.alarm);
        assert!(again.repeat);
        // Another ref is another alarm.
        let other = store.record_alarm(&device, &alarm("A2", request)).await.unwrap();
        assert_ne!(other.alarm, first.alarm);
        assert_eq!(store.alarm_counts(device.id).await.unwrap(), (2, 1));
        // The window runs from the last repeat: just inside it, still the same.
        clock.advance(REPEAT_WINDOW - Duration::seconds(1));
        let inside = store.record_alarm(&device, &alarm("A1", request)).await.unwrap();
        assert_eq!(inside.alarm, first.alarm);
        // After it, the device has counted its refs round: a new alarm.
        clock.advance(REPEAT_WINDOW + Duration::seconds(1));
        let late = store.record_alarm(&device, &alarm("A1", request)).await.unwrap();
        assert!(!late.repeat);
        assert_ne!(late.alarm, first.alarm);
        assert_eq!(store.alarm_counts(device.id).await.unwrap(), (3, 2));
        let summary = store.alarm_summary(late.alarm).await.unwrap();
        assert_eq!((summary.kind.as_str(), summary.state.as_str(), summary.reference.as_str()), ("alarm", "received", "A1"));
        // The request is sealed.
        let bytes = db.raw_bytes().await;
        assert_eq!(occurrences(&bytes, &db.as_stored(b"<cid>4600001</cid>")), 0);
    }

    async fn an_erased_persons_alarm_is_refused_even_where_their_key_is_remembered(backend) {
        // The receiver remembers the data key of a person whose device
        // alarmed. Another process on the same database erases the person:
        // the receiver's next alarm for them must not be stored under the
        // destroyed key, and must say why.
        let (db, receiver, clock) = store(backend).await;
        let device = provisioned(&receiver, "larm-0001", "4600001").await;
        let request = "<mrq><ref>K1</ref><cid>4600001</cid><dty>0005</dty></mrq>";
        receiver.record_alarm(&device, &alarm("K1", request)).await.unwrap();
        let other = db.open(&clock).await.unwrap();
        other.erase_person(device.tenant, device.person, "test").await.unwrap();
        let refused = receiver.record_alarm(&device, &alarm("K2", request)).await;
        assert!(matches!(refused, Err(StoreError::Erased(_))), "{refused:?}");
        // Not even a repeat of the alarm stored before the erasure.
        let repeat = receiver.record_alarm(&device, &alarm("K1", request)).await;
        assert!(matches!(repeat, Err(StoreError::Erased(_))), "{repeat:?}");
        assert_eq!(receiver.alarm_counts(device.id).await.unwrap(), (1, 0));
        other.close().await;
    }

    async fn concurrent_repeats_make_one_alarm(backend) {
        let (_db, store, _clock) = store(backend).await;
        let device = provisioned(&store, "larm-0001", "4600001").await;
        let request = "<mrq><ref>B7</ref><cid>4600001</cid><dty>0005</dty></mrq>";
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (store, device) = (store.clone(), device.clone());
                tokio::spawn(async move {
                    store.record_alarm(&device, &alarm("B7", request)).await.unwrap()
                })
            })
            .collect();
        let mut alarms = Vec::new();
        for t in tasks {
            alarms.push(t.await.unwrap());
        }
        assert!(alarms.iter().all(|r| r.alarm == alarms[0].alarm));
        assert_eq!(alarms.iter().filter(|r| !r.repeat).count(), 1);
        assert_eq!(store.alarm_counts(device.id).await.unwrap(), (1, 15));
    }

    async fn alarms_arriving_together_each_get_their_own_answer(backend) {
        // Alarms that arrive together are committed together; each caller
        // still learns its own alarm, a repeat within the group is the same
        // alarm, and one alarm that cannot be stored (its device is not in
        // the registry) fails alone: the others are stored all the same.
        let (_db, store, clock) = store(backend).await;
        let device = provisioned(&store, "larm-0001", "4600001").await;
        let ghost = Device { id: DeviceId::generate(&clock), ..device.clone() };
        let request = "<mrq><ref>C</ref><cid>4600001</cid><dty>0005</dty></mrq>";
        let mut tasks = Vec::new();
        for i in 0..30 {
            for _ in 0..2 {
                let (store, device) = (store.clone(), device.clone());
                tasks.push(tokio::spawn(async move {
                    let reference = format!("C{i}");
                    let recorded = store.record_alarm(&device, &alarm(&reference, request)).await;
                    (reference, recorded)
                }));
            }
            if i == 15 {
                let (store, ghost) = (store.clone(), ghost.clone());
                tasks.push(tokio::spawn(async move {
                    ("ghost".to_owned(), store.record_alarm(&ghost, &alarm("G1", request)).await)
                }));
            }
        }
        let mut by_ref: std::collections::BTreeMap<String, Vec<trygg_store::Recorded>> =
            Default::default();
        for task in tasks {
            let (reference, recorded) = task.await.unwrap();
            if reference == "ghost" {
                assert!(recorded.is_err(), "an alarm of a device not in the registry was stored");
            } else {
                by_ref.entry(reference).or_default().push(recorded.unwrap());
            }
        }
        assert_eq!(by_ref.len(), 30);
        let mut ids = std::collections::BTreeSet::new();
        for (reference, answers) in &by_ref {
            assert_eq!(answers[0].alarm, answers[1].alarm, "{reference}: two alarms");
            assert_eq!(answers.iter().filter(|r| !r.repeat).count(), 1, "{reference}");
            ids.insert(answers[0].alarm);
        }
        assert_eq!(ids.len(), 30, "distinct refs are distinct alarms");
        assert_eq!(store.alarm_counts(device.id).await.unwrap(), (30, 30));
        assert_eq!(store.alarm_counts(ghost.id).await.unwrap(), (0, 0));
    }
}

/// Staff of the device's unit: an operator with a care relationship
/// between the unit and the person, and a home-care worker of another
/// unit without one.
pub async fn staffed(
    store: &trygg_store::Store,
    device: &Device,
    clock: &ManualClock,
) -> (StaffId, StaffId, UnitId) {
    let details = |given: &str| StaffDetails {
        given_name: PersonName::parse(given).unwrap(),
        family_name: PersonName::parse("Ek").unwrap(),
        hsa_id: None,
        identity_number: None,
        email: None,
        phone: None,
    };
    let mut tx = store.begin().await.unwrap();
    let operator = tx.add_staff(device.tenant, &details("Olle")).await.unwrap();
    tx.assign_role(
        device.tenant,
        RoleAssignment {
            staff: operator,
            unit: device.unit,
            role: Role::AlarmOperator,
        },
    )
    .await
    .unwrap();
    let other = tx
        .add_unit(device.tenant, None, "Hemtjänst Söder", None)
        .await
        .unwrap()
        .id;
    let worker = tx
        .add_staff(device.tenant, &details("Hanna"))
        .await
        .unwrap();
    tx.assign_role(
        device.tenant,
        RoleAssignment {
            staff: worker,
            unit: other,
            role: Role::HomeCareStaff,
        },
    )
    .await
    .unwrap();
    tx.add_care_relationship(
        device.tenant,
        device.person,
        CareParty::Unit(device.unit),
        Period::new(clock.now() - Duration::days(1), None).unwrap(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (operator, worker, other)
}

fn staff_principal(device: &Device, staff: StaffId, unit: UnitId, role: Role) -> Principal {
    Principal {
        account: Account::Staff {
            tenant: device.tenant,
            staff,
        },
        roles: vec![(unit, role)],
        loa: Loa::Loa3,
        stepped_up: false,
    }
}

fn alarms_of(device: &Device) -> Resource {
    Resource {
        person: device.person,
        part: Part::Alarms,
        owner_unit: None,
        min_loa: Loa::Loa3,
    }
}

on_both_backends! {
    async fn an_alarm_is_taken_dispatched_on_site_and_closed_once_each_under_policy(backend) {
        let (db, store, clock) = store(backend).await;
        let device = provisioned(&store, "larm-0001", "4600001").await;
        let (operator, worker, other) = staffed(&store, &device, &clock).await;
        let request = "<mrq><ref>A1</ref><cid>4600001</cid><dty>0005</dty><stc>0009</stc></mrq>";
        let alarm = store.record_alarm(&device, &alarm("A1", request)).await.unwrap().alarm;
        let authz = trygg_policy::Authorizer::new().unwrap();
        let facts = store.person_facts(device.tenant, device.person, clock.now()).await.unwrap();
        let op = staff_principal(&device, operator, device.unit, Role::AlarmOperator);
        let read = authz.authorize(&op, Action::Read(Part::Alarms), &alarms_of(&device), &facts, clock.now()).unwrap();
        let write = authz.authorize(&op, Action::Write(Part::Alarms), &alarms_of(&device), &facts, clock.now()).unwrap();

        let list = store.person_alarms(&read).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].id, list[0].state, list[0].request.as_str()), (alarm, AlarmState::Received, request));
        // A write grant does not read, a read grant does not write.
        assert!(store.person_alarms(&write).await.is_err());
        assert!(store.take_alarm(&read, alarm).await.is_err());

        // The workflow, each step once, in order.
        assert!(matches!(store.alarm_on_site(&write, alarm).await, Err(StoreError::Conflict(_))));
        store.take_alarm(&write, alarm).await.unwrap();
        assert!(matches!(store.take_alarm(&write, alarm).await, Err(StoreError::Conflict(_))), "taken twice");
        clock.advance(Duration::minutes(1));
        store.dispatch_alarm(&write, alarm, worker).await.unwrap();
        clock.advance(Duration::minutes(14));
        store.alarm_on_site(&write, alarm).await.unwrap();
        let note = FreeText::parse("Greta hade halkat i badrummet, oskadd. Hjälpte henne upp.").unwrap();
        store.close_alarm(&write, alarm, &note).await.unwrap();
        assert!(matches!(store.close_alarm(&write, alarm, &note).await, Err(StoreError::Conflict(_))));
        assert!(matches!(store.take_alarm(&write, alarm).await, Err(StoreError::Conflict(_))));
        // An alarm that is not this person's is not found.
        let stranger = AlarmId::generate(&clock);
        assert!(matches!(store.take_alarm(&write, stranger).await, Err(StoreError::NotFound(_))));

        let handled = &store.person_alarms(&read).await.unwrap()[0];
        assert_eq!(handled.state, AlarmState::Closed);
        assert_eq!(handled.taken.map(|t| t.0), Some(operator));
        assert_eq!(handled.dispatched.map(|d| d.0), Some(worker));
        let on_site = handled.on_site_at.unwrap();
        assert_eq!(on_site - handled.dispatched.unwrap().1, Duration::minutes(14));
        let (closer, _, text) = handled.closed.as_ref().unwrap();
        assert_eq!((*closer, text.as_str()), (operator, note.as_str()));

        // Staff of a unit without a care relationship get no grant.
        let outsider = staff_principal(&device, worker, other, Role::HomeCareStaff);
        assert!(authz.authorize(&outsider, Action::Read(Part::Alarms), &alarms_of(&device), &facts, clock.now()).is_err());
        assert!(authz.authorize(&outsider, Action::Write(Part::Alarms), &alarms_of(&device), &facts, clock.now()).is_err());

        // Every step and every read is in the audit log; the note is sealed.
        let raw = db.raw().await;
        let count = |action: &'static str, outcome: &'static str| {
            let raw = raw.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT (SELECT COUNT(*) FROM audit_entries WHERE action = $1 AND outcome = $2) \
                     + (SELECT COUNT(*) FROM audit_queue WHERE action = $1 AND outcome = $2)",
                )
                    .bind(action)
                    .bind(outcome)
                    .fetch_one(&raw)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(count("write:alarms", "allow").await, 4);
        // The steps that changed nothing are audited as failed attempts:
        // on site too early, taken twice, closed twice, taken when closed,
        // and another person's alarm.
        assert_eq!(count("write:alarms", "deny").await, 5);
        assert_eq!(count("read:alarms", "allow").await, 2);
        let bytes = db.raw_bytes().await;
        assert_eq!(occurrences(&bytes, &db.as_stored("halkat i badrummet".as_bytes())), 0);
    }
}

on_both_backends! {
    async fn untaken_alarms_are_escalated_once_and_the_device_moves_the_handled_one(backend) {
        let (db, store, clock) = store(backend).await;
        let device = provisioned(&store, "larm-0001", "4600001").await;
        let request = "<mrq><ref>E1</ref><cid>4600001</cid><dty>0005</dty></mrq>";
        let waiting = store.record_alarm(&device, &alarm("E1", request)).await.unwrap().alarm;
        let technical = IncomingAlarm { kind: AlarmKind::Technical, ..alarm("T1", request) };
        store.record_alarm(&device, &technical).await.unwrap();
        let after = Duration::minutes(2);
        clock.advance(after - Duration::seconds(1));
        assert!(store.escalate_untaken(after).await.unwrap().is_empty());
        clock.advance(Duration::seconds(2));
        // Only the alarm, not the technical message, and only once.
        assert_eq!(store.escalate_untaken(after).await.unwrap(), vec![waiting]);
        clock.advance(Duration::minutes(10));
        assert!(store.escalate_untaken(after).await.unwrap().is_empty());

        // The device reports presence, then check-out: the alarm being
        // handled moves; an untaken one does not.
        assert_eq!(store.device_reports_presence(device.id).await.unwrap(), None);
        let raw = db.raw().await;
        sqlx::query("UPDATE alarms SET state = 'dispatched' WHERE id = $1").bind(waiting.to_string()).execute(&raw).await.unwrap();
        assert_eq!(store.device_reports_presence(device.id).await.unwrap(), Some(waiting));
        assert_eq!(store.alarm_summary(waiting).await.unwrap().state, "on_site");
        assert_eq!(store.device_reports_check_out(device.id).await.unwrap(), Some(waiting));
        // Checked out once; it stays open for the closing note.
        assert_eq!(store.device_reports_check_out(device.id).await.unwrap(), None);
        assert_eq!(store.alarm_summary(waiting).await.unwrap().state, "on_site");
    }
}

on_both_backends! {
    async fn many_devices_heard_at_once_are_due_one_interval_later(backend) {
        let (_db, store, clock) = store(backend).await;
        let first = provisioned(&store, "larm-0000", "4600000").await;
        let secrets = trygg_alarm::device_secrets("x", "trygg", "lösenord-för-test");
        let mut tx = store.begin().await.unwrap();
        let mut devices = vec![first.id];
        for i in 1..=99 {
            let (user, cid) = (format!("larm-{i:04}"), format!("46{i:05}"));
            let d = tx
                .add_device(&NewDevice { tenant: first.tenant, unit: first.unit, person: first.person, sip_user: &user, cid: &cid, device_type: 5, heartbeat: Duration::minutes(60), secrets: &secrets })
                .await
                .unwrap();
            devices.push(d.id);
        }
        tx.commit().await.unwrap();
        // All heard now (more than the largest statement holds), in one round.
        clock.advance(Duration::minutes(30));
        let now = clock.now();
        let heard: Vec<_> = devices.iter().map(|d| (*d, now)).collect();
        assert!(store.devices_heard(&heard, Duration::ZERO).await.unwrap().is_empty());
        // An older time never moves a device back.
        store.devices_heard(&[(devices[7], now - Duration::hours(1))], Duration::ZERO).await.unwrap();
        assert!(store.overdue_devices(now + Duration::minutes(59), 1000).await.unwrap().is_empty());
        let due = store.overdue_devices(now + Duration::minutes(61), 1000).await.unwrap();
        assert_eq!(due.len(), 100);
    }
}
