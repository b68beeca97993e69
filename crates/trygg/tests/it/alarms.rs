//! Safety alarms in storage, on both backends: the device registry keeps
//! credentials sealed, a repeat of (device, ref) is the same alarm even when
//! many arrive at once, and a ref reused after the repeat window is a new
//! alarm.

use crate::kit::*;
use time::Duration;
use trygg_store::{AlarmKind, Device, DeviceSecrets, IncomingAlarm, NewDevice, REPEAT_WINDOW};
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
        .add_person(t.id, &person("Greta", "Lind", pnr(born(), 123)), false)
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
}
