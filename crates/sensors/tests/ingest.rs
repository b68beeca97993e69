//! The ingest against a scripted connection and storage: a delivery is
//! acknowledged only after its alarm is committed; storage errors are
//! retried and never acknowledged; what is dropped is acknowledged once;
//! a stop leaves what is unfinished unacknowledged for the broker to
//! deliver again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::{Semaphore, mpsc};
use trygg_domain::{AlarmId, DeviceId, ManualClock, PersonId, TenantId, UnitId};
use trygg_sensors::{
    Acker, Connection, ConnectionError, Delivery, Incoming, Ingest, IngestStats, Sink,
};
use trygg_store::{AlarmKind, Device, IncomingAlarm, Recorded, StoreError};

type Event = Result<Incoming<u32>, ConnectionError>;

/// A recorded alarm: ref, kind, status code, request.
type Stored = (String, AlarmKind, Option<u16>, String);

/// A connection that yields what the test sends, and reports acknowledgements.
struct Scripted {
    events: mpsc::UnboundedReceiver<Event>,
    acks: mpsc::UnboundedSender<u32>,
    closed: Arc<Mutex<bool>>,
}

#[derive(Clone)]
struct ScriptedAcker(mpsc::UnboundedSender<u32>);

impl Acker for ScriptedAcker {
    type Token = u32;
    async fn ack(&self, token: u32) -> Result<(), ConnectionError> {
        self.0.send(token).unwrap();
        Ok(())
    }
}

impl Connection for Scripted {
    type Acker = ScriptedAcker;
    fn acker(&self) -> ScriptedAcker {
        ScriptedAcker(self.acks.clone())
    }
    async fn poll(&mut self) -> Event {
        match self.events.recv().await {
            Some(event) => event,
            None => std::future::pending().await,
        }
    }
    async fn close(&mut self) {
        *self.closed.lock().unwrap() = true;
    }
}

/// Storage: one known device, alarms kept in memory; commits can be held
/// back (`gate`) or made to fail.
struct Memory {
    device: Device,
    recorded: Arc<Mutex<Vec<Stored>>>,
    heard: Arc<Mutex<Vec<DeviceId>>>,
    gate: Arc<Semaphore>,
    entered: mpsc::UnboundedSender<()>,
    failures: Arc<Mutex<u32>>,
}

impl Sink for Memory {
    async fn device(&self, user: &str) -> Result<Option<Device>, StoreError> {
        Ok(
            (user == self.device.sip_user || user == "disabled").then(|| Device {
                disabled: user == "disabled",
                ..self.device.clone()
            }),
        )
    }
    async fn record(
        &self,
        _device: &Device,
        alarm: &IncomingAlarm<'_>,
    ) -> Result<Recorded, StoreError> {
        let _ = self.entered.send(());
        let _permit = self.gate.acquire().await.unwrap();
        {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(StoreError::NotFound("storage (test)"));
            }
        }
        let mut recorded = self.recorded.lock().unwrap();
        let repeat = recorded.iter().any(|(r, ..)| r == alarm.reference);
        recorded.push((
            alarm.reference.to_owned(),
            alarm.kind,
            alarm.status_code,
            alarm.request.to_owned(),
        ));
        Ok(Recorded {
            alarm: AlarmId::generate(&clock()),
            repeat,
        })
    }
    async fn heard(
        &self,
        heard: &[(DeviceId, OffsetDateTime)],
    ) -> Result<Vec<DeviceId>, StoreError> {
        self.heard
            .lock()
            .unwrap()
            .extend(heard.iter().map(|(d, _)| *d));
        Ok(Vec::new())
    }
}

fn clock() -> ManualClock {
    ManualClock::new(datetime!(2026-06-01 08:00 UTC))
}

struct Rig {
    ingest: Ingest,
    events: mpsc::UnboundedSender<Event>,
    acks: mpsc::UnboundedReceiver<u32>,
    entered: mpsc::UnboundedReceiver<()>,
    recorded: Arc<Mutex<Vec<Stored>>>,
    heard: Arc<Mutex<Vec<DeviceId>>>,
    gate: Arc<Semaphore>,
    failures: Arc<Mutex<u32>>,
    closed: Arc<Mutex<bool>>,
    device: Device,
}

fn rig() -> Rig {
    let (events_tx, events) = mpsc::unbounded_channel();
    let (acks, acks_rx) = mpsc::unbounded_channel();
    let (entered_tx, entered) = mpsc::unbounded_channel();
    let closed = Arc::new(Mutex::new(false));
    let c = clock();
    let device = Device {
        id: DeviceId::generate(&c),
        tenant: TenantId::generate(&c),
        unit: UnitId::generate(&c),
        person: PersonId::generate(&c),
        sip_user: "sensor-1".into(),
        cid: "4600001".into(),
        device_type: 5,
        heartbeat: time::Duration::hours(1),
        disabled: false,
    };
    let memory = Memory {
        device: device.clone(),
        recorded: Arc::default(),
        heard: Arc::default(),
        gate: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
        entered: entered_tx,
        failures: Arc::default(),
    };
    let (recorded, heard, gate, failures) = (
        memory.recorded.clone(),
        memory.heard.clone(),
        memory.gate.clone(),
        memory.failures.clone(),
    );
    let connection = Scripted {
        events,
        acks,
        closed: closed.clone(),
    };
    let ingest = Ingest::start(connection, memory, Arc::new(c), "trygg-ingest", 4);
    events_tx
        .send(Ok(Incoming::Connected {
            session_present: false,
        }))
        .unwrap();
    events_tx.send(Ok(Incoming::Subscribed)).unwrap();
    Rig {
        ingest,
        events: events_tx,
        acks: acks_rx,
        entered,
        recorded,
        heard,
        gate,
        failures,
        closed,
        device,
    }
}

impl Rig {
    fn deliver(&self, token: u32, user: &str, payload: &str) {
        self.deliver_with(token, &trygg_sensors::topic(user), payload, false);
    }

    fn deliver_with(&self, token: u32, topic: &str, payload: &str, retained: bool) {
        self.events
            .send(Ok(Incoming::Delivery(Delivery {
                topic: topic.to_owned(),
                payload: payload.as_bytes().to_vec(),
                retained,
                token,
            })))
            .unwrap();
    }

    async fn ack(&mut self) -> u32 {
        self.acks.recv().await.unwrap()
    }

    fn stats(&self) -> IngestStats {
        self.ingest.stats()
    }
}

#[tokio::test(start_paused = true)]
async fn an_event_is_acknowledged_only_after_its_alarm_is_committed() {
    let mut rig = rig();
    let permits = rig.gate.available_permits();
    rig.gate.forget_permits(permits);
    rig.deliver(1, "sensor-1", r#"{"ref":"A1","event":"fall"}"#);
    // The commit has begun and is held back: nothing is acknowledged.
    rig.entered.recv().await.unwrap();
    tokio::task::yield_now().await;
    assert!(rig.acks.try_recv().is_err());
    assert!(rig.recorded.lock().unwrap().is_empty());
    // The commit returns: now it is acknowledged.
    rig.gate.add_permits(1);
    assert_eq!(rig.ack().await, 1);
    let recorded = rig.recorded.lock().unwrap().clone();
    assert_eq!(
        recorded,
        [(
            "A1".to_owned(),
            AlarmKind::Alarm,
            Some(9),
            r#"{"ref":"A1","event":"fall"}"#.to_owned()
        )]
    );
    let stats = rig.stats();
    assert!(stats.connected && stats.subscribed);
    assert_eq!((stats.delivered, stats.recorded, stats.repeats), (1, 1, 0));
    rig.ingest.shutdown().await;
    assert!(*rig.closed.lock().unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_storage_error_is_retried_and_never_acknowledged_until_it_succeeds() {
    let mut rig = rig();
    *rig.failures.lock().unwrap() = 3;
    rig.deliver(7, "sensor-1", r#"{"ref":"B2","event":"pill_not_taken"}"#);
    // Paused time runs the backoff at once: three failures, then success.
    assert_eq!(rig.ack().await, 7);
    assert_eq!(rig.recorded.lock().unwrap().len(), 1);
    assert_eq!(rig.stats().storage_errors, 3);
    assert!(rig.acks.try_recv().is_err(), "acknowledged once only");
    rig.ingest.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_storage_trouble_leaves_the_message_unacknowledged() {
    let mut rig = rig();
    *rig.failures.lock().unwrap() = u32::MAX;
    rig.deliver(3, "sensor-1", r#"{"ref":"C3","event":"fall"}"#);
    rig.entered.recv().await.unwrap();
    rig.ingest.shutdown().await;
    assert!(rig.acks.try_recv().is_err());
    assert!(rig.recorded.lock().unwrap().is_empty());
    assert!(*rig.closed.lock().unwrap());
}

#[tokio::test(start_paused = true)]
async fn dropped_messages_are_acknowledged_and_the_next_one_is_recorded() {
    let mut rig = rig();
    // Malformed, unknown device, disabled device, a retained copy, the
    // ingest's own topic, a topic that is no device's.
    rig.deliver(1, "sensor-1", r#"{"ref":"A1","event":"fall","extra":1}"#);
    rig.deliver(2, "sensor-1", "\u{0}\u{1}not json");
    rig.deliver(3, "sensor-9", r#"{"ref":"A1","event":"fall"}"#);
    rig.deliver(4, "disabled", r#"{"ref":"A1","event":"fall"}"#);
    rig.deliver_with(
        5,
        &trygg_sensors::topic("sensor-1"),
        r#"{"ref":"A1","event":"fall"}"#,
        true,
    );
    rig.deliver(6, "trygg-ingest", r#"{"ref":"A1","event":"fall"}"#);
    rig.deliver_with(
        7,
        "trygg/devices/a/b/events",
        r#"{"ref":"A1","event":"fall"}"#,
        false,
    );
    rig.deliver(8, "sensor-1", r#"{"ref":"OK1","event":"battery_low"}"#);
    let mut acked = Vec::new();
    for _ in 0..8 {
        acked.push(rig.ack().await);
    }
    acked.sort_unstable();
    assert_eq!(acked, (1..=8).collect::<Vec<_>>());
    let recorded = rig.recorded.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].0.as_str(), recorded[0].1, recorded[0].2),
        ("OK1", AlarmKind::Technical, Some(16))
    );
    let stats = rig.stats();
    assert_eq!(
        (
            stats.delivered,
            stats.refused,
            stats.dropped,
            stats.recorded
        ),
        (8, 2, 5, 1)
    );
    rig.ingest.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_repeat_is_recorded_as_one_and_heartbeats_are_only_heard() {
    let mut rig = rig();
    rig.deliver(1, "sensor-1", r#"{"ref":"R1","event":"door_open"}"#);
    assert_eq!(rig.ack().await, 1);
    rig.deliver(2, "sensor-1", r#"{"ref":"R1","event":"door_open"}"#);
    assert_eq!(rig.ack().await, 2);
    rig.deliver(3, "sensor-1", r#"{"ref":"H1","event":"heartbeat"}"#);
    assert_eq!(rig.ack().await, 3);
    let stats = rig.stats();
    assert_eq!((stats.recorded, stats.repeats, stats.heartbeats), (2, 1, 1));
    assert_eq!(rig.recorded.lock().unwrap().len(), 2);
    // When the device was heard is written at shutdown at the latest.
    let device = rig.device.id;
    rig.ingest.shutdown().await;
    assert!(rig.heard.lock().unwrap().contains(&device));
}

#[tokio::test(start_paused = true)]
async fn a_broken_connection_is_tried_again_and_deliveries_go_on() {
    let mut rig = rig();
    rig.events
        .send(Err(ConnectionError("refused (test)".into())))
        .unwrap();
    rig.events
        .send(Ok(Incoming::Connected {
            session_present: true,
        }))
        .unwrap();
    rig.deliver(9, "sensor-1", r#"{"ref":"Z9","event":"fall"}"#);
    assert_eq!(rig.ack().await, 9);
    let stats = rig.stats();
    assert_eq!(stats.connection_errors, 1);
    assert!(stats.connected);
    // A refused subscription is reported.
    rig.events.send(Ok(Incoming::SubscriptionRefused)).unwrap();
    rig.deliver(10, "sensor-1", r#"{"ref":"Z10","event":"fall"}"#);
    assert_eq!(rig.ack().await, 10);
    assert!(!rig.stats().subscribed);
    rig.ingest.shutdown().await;
}
