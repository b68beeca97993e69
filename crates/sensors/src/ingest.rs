//! The ingest: takes the devices' events from the broker and records them
//! as alarms.
//!
//! ```text
//! publish on trygg/devices/{user}/events (QoS 1)
//!   ─► retained copy, or not a device's topic ─► dropped, acknowledged
//!   ─► event::parse ─ refused ─► logged (rule only), dropped, acknowledged
//!   ─► Sink::device(user) ─ unknown or disabled ─► logged, dropped, acknowledged
//!   ─► heartbeat ─► heard (written every 10 s) ─► acknowledged
//!   ─► Sink::record (committed) ─► acknowledged
//!        storage error ─► tried again (0.5 s doubling to 30 s), not acknowledged
//! ```
//!
//! Why an event cannot be lost between the broker and the store: it is
//! acknowledged only after [`Sink::record`] has returned, which is after
//! the commit. If Trygg stops or dies before that, the broker still holds
//! the message in the ingest's session (persistent, MQTT 5) and delivers it
//! again when the ingest reconnects; the stored `(device, ref)` makes that
//! delivery the same alarm.

use crate::client::{Acker, Connection, Delivery, Incoming};
use crate::event;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};
use trygg_domain::{Clock, DeviceId};
use trygg_store::{Device, IncomingAlarm, Recorded, Store, StoreError};

/// Messages handled at once; the broker is told the same (MQTT 5 receive
/// maximum), so it never has more outstanding.
pub const MAX_IN_FLIGHT: u16 = 64;

/// How often the devices heard are written.
pub const HEARD_INTERVAL: Duration = Duration::from_secs(10);

/// The first wait before connecting again or retrying storage.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The longest wait.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the ingest needs from storage. [`Store`] is the one used; tests use
/// others.
pub trait Sink: Send + Sync + 'static {
    /// The device with this user name, if any.
    fn device(&self, user: &str)
    -> impl Future<Output = Result<Option<Device>, StoreError>> + Send;
    /// Records an alarm; returns after the commit.
    fn record(
        &self,
        device: &Device,
        alarm: &IncomingAlarm<'_>,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;
    /// Writes when devices were last heard.
    fn heard(
        &self,
        heard: &[(DeviceId, OffsetDateTime)],
    ) -> impl Future<Output = Result<Vec<DeviceId>, StoreError>> + Send;
}

impl Sink for Store {
    async fn device(&self, user: &str) -> Result<Option<Device>, StoreError> {
        Ok(self
            .device_by_sip_user(user)
            .await?
            .map(|(device, _)| device))
    }

    async fn record(
        &self,
        device: &Device,
        alarm: &IncomingAlarm<'_>,
    ) -> Result<Recorded, StoreError> {
        self.record_alarm(device, alarm).await
    }

    async fn heard(
        &self,
        heard: &[(DeviceId, OffsetDateTime)],
    ) -> Result<Vec<DeviceId>, StoreError> {
        // Every sign of life is written (every round): no slack.
        self.devices_heard(heard, time::Duration::ZERO).await
    }
}

/// Counts of what the ingest did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Whether it is connected to the broker now.
    pub connected: bool,
    /// Whether the broker granted the subscription on this connection.
    pub subscribed: bool,
    /// Connection attempts that failed or connections that broke.
    pub connection_errors: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Alarms recorded (new or repeats).
    pub recorded: u64,
    /// Of those, repeats of an alarm already stored.
    pub repeats: u64,
    /// Heartbeats.
    pub heartbeats: u64,
    /// Messages refused by the format's rules.
    pub refused: u64,
    /// Messages dropped for their sender: an unknown or disabled device, a
    /// topic that is no device's, or a retained copy.
    pub dropped: u64,
    /// Storage errors (each retried).
    pub storage_errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connected: AtomicBool,
    subscribed: AtomicBool,
    connection_errors: AtomicU64,
    delivered: AtomicU64,
    recorded: AtomicU64,
    repeats: AtomicU64,
    heartbeats: AtomicU64,
    refused: AtomicU64,
    dropped: AtomicU64,
    storage_errors: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> IngestStats {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        IngestStats {
            connected: self.connected.load(Ordering::Relaxed),
            subscribed: self.subscribed.load(Ordering::Relaxed),
            connection_errors: n(&self.connection_errors),
            delivered: n(&self.delivered),
            recorded: n(&self.recorded),
            repeats: n(&self.repeats),
            heartbeats: n(&self.heartbeats),
            refused: n(&self.refused),
            dropped: n(&self.dropped),
            storage_errors: n(&self.storage_errors),
        }
    }
}

struct Shared<S> {
    sink: S,
    clock: Arc<dyn Clock>,
    /// The ingest's own user: its topic is nobody's events.
    own_user: String,
    counters: Arc<Counters>,
    /// Heard since the last write.
    heard: Mutex<HashMap<DeviceId, OffsetDateTime>>,
    slots: Arc<Semaphore>,
    max_in_flight: u32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Resolves once a stop is asked for (or the ingest's handle is gone).
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// A running ingest.
#[derive(Debug)]
pub struct Ingest {
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Ingest {
    /// Connects to the broker in `config` with rumqttc and records into
    /// `store`. Returns at once; connecting (and connecting again, with
    /// backoff) goes on in the background.
    pub fn connect(store: Store, clock: Arc<dyn Clock>, config: &crate::ClientConfig) -> Self {
        info!(broker = %config.url, user = %config.user, "sensor ingest starting");
        Self::start(
            crate::Rumqttc::new(config),
            store,
            clock,
            &config.user,
            config.max_in_flight,
        )
    }

    /// Starts taking deliveries from `connection` into `sink`, handling at
    /// most `max_in_flight` at once. `own_user` is the ingest's MQTT user.
    pub fn start<C: Connection, S: Sink>(
        connection: C,
        sink: S,
        clock: Arc<dyn Clock>,
        own_user: &str,
        max_in_flight: u16,
    ) -> Self {
        let max_in_flight = max_in_flight.max(1);
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            sink,
            clock,
            own_user: own_user.to_owned(),
            counters: counters.clone(),
            heard: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(usize::from(max_in_flight))),
            max_in_flight: u32::from(max_in_flight),
        });
        let (stop, stopped) = watch::channel(false);
        let writer = tokio::spawn(write_heard_every(shared.clone(), stopped.clone()));
        let task = tokio::spawn(run(connection, shared, stopped));
        Self {
            counters,
            stop,
            task,
            writer,
        }
    }

    /// What it has done so far.
    pub fn stats(&self) -> IngestStats {
        self.counters.snapshot()
    }

    /// Stops: takes no more deliveries, lets those being handled finish
    /// (one waiting for storage gives up, unacknowledged, and the broker
    /// delivers it again at the next start), sends their acknowledgements,
    /// disconnects keeping the session, and writes when devices were heard.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.writer.await;
        let _ = self.task.await;
        info!("sensor ingest stopped");
    }
}

async fn write_heard_every<S: Sink>(shared: Arc<Shared<S>>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(HEARD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopping(&mut stopped) => return,
            _ = tick.tick() => shared.write_heard().await,
        }
    }
}

async fn run<C: Connection, S: Sink>(
    mut connection: C,
    shared: Arc<Shared<S>>,
    mut stopped: watch::Receiver<bool>,
) {
    let acker = connection.acker();
    let counters = shared.counters.clone();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let incoming = tokio::select! {
            () = stopping(&mut stopped) => break,
            incoming = connection.poll() => incoming,
        };
        match incoming {
            Ok(Incoming::Connected { session_present }) => {
                backoff = FIRST_BACKOFF;
                counters.connected.store(true, Ordering::Relaxed);
                info!(session_present, "connected to the MQTT broker");
            }
            Ok(Incoming::Subscribed) => {
                counters.subscribed.store(true, Ordering::Relaxed);
                info!(
                    filter = event::TOPIC_FILTER,
                    "subscribed to the devices' events"
                );
            }
            Ok(Incoming::SubscriptionRefused) => {
                counters.subscribed.store(false, Ordering::Relaxed);
                error!(
                    filter = event::TOPIC_FILTER,
                    "the broker refused the subscription: no sensor events are received; \
                     check its ACL (`trygg admin mqtt acl`)"
                );
            }
            Ok(Incoming::Delivery(delivery)) => {
                let permit = tokio::select! {
                    () = stopping(&mut stopped) => break,
                    permit = shared.slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                };
                let shared = shared.clone();
                let acker = acker.clone();
                let stopped = stopped.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Some(token) = shared.handle(delivery, stopped).await
                        && let Err(e) = acker.ack(token).await
                    {
                        warn!(error = %e, "acknowledgement not sent; the broker delivers the message again");
                    }
                });
            }
            Ok(Incoming::Other) => {}
            Err(e) => {
                counters.connected.store(false, Ordering::Relaxed);
                counters.subscribed.store(false, Ordering::Relaxed);
                bump(&counters.connection_errors);
                warn!(error = %e, retry_in_ms = backoff.as_millis(), "MQTT connection failed; trying again");
                tokio::select! {
                    () = stopping(&mut stopped) => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    // The deliveries being handled finish first: each holds a slot.
    let _ = shared.slots.acquire_many(shared.max_in_flight).await;
    connection.close().await;
    counters.connected.store(false, Ordering::Relaxed);
    counters.subscribed.store(false, Ordering::Relaxed);
    shared.write_heard().await;
}

impl<S: Sink> Shared<S> {
    /// Handles one delivery; returns its token when it may be acknowledged
    /// (recorded, or dropped for good), `None` when stopping first.
    async fn handle<T>(
        &self,
        delivery: Delivery<T>,
        mut stopped: watch::Receiver<bool>,
    ) -> Option<T> {
        let counters = &self.counters;
        bump(&counters.delivered);
        let Delivery {
            topic,
            payload,
            retained,
            token,
        } = delivery;
        if retained {
            bump(&counters.dropped);
            info!("retained sensor message ignored (an old one)");
            return Some(token);
        }
        let Some(user) = event::topic_user(&topic).filter(|user| *user != self.own_user) else {
            bump(&counters.dropped);
            warn!("message on a topic that is no device's events topic dropped");
            return Some(token);
        };
        let message = match event::parse(&payload) {
            Ok(message) => message,
            Err(refusal) => {
                bump(&counters.refused);
                warn!(user, reason = %refusal, "sensor message refused");
                return Some(token);
            }
        };
        let device = self.retry(&mut stopped, || self.sink.device(user)).await?;
        let Some(device) = device.filter(|device| !device.disabled) else {
            bump(&counters.dropped);
            warn!(
                user,
                "sensor message from an unknown or disabled device dropped"
            );
            return Some(token);
        };
        let now = self.clock.now();
        lock(&self.heard)
            .entry(device.id)
            .and_modify(|at| *at = (*at).max(now))
            .or_insert(now);
        let Some(incoming) = message.incoming() else {
            bump(&counters.heartbeats);
            debug!(user, "sensor heartbeat");
            return Some(token);
        };
        let recorded = self
            .retry(&mut stopped, || self.sink.record(&device, &incoming))
            .await?;
        bump(&counters.recorded);
        if recorded.repeat {
            bump(&counters.repeats);
        }
        info!(user, alarm = %recorded.alarm, repeat = recorded.repeat, "sensor event recorded");
        Some(token)
    }

    /// Runs `attempt` until it succeeds, waiting longer after each storage
    /// error; `None` when a stop comes first.
    async fn retry<R, F, Fut>(
        &self,
        stopped: &mut watch::Receiver<bool>,
        mut attempt: F,
    ) -> Option<R>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R, StoreError>>,
    {
        let mut wait = FIRST_BACKOFF;
        loop {
            match attempt().await {
                Ok(r) => return Some(r),
                Err(e) => {
                    bump(&self.counters.storage_errors);
                    error!(error = %e, retry_in_ms = wait.as_millis(),
                           "storage error: the sensor message stays unacknowledged and is tried again");
                }
            }
            if *stopped.borrow() {
                return None;
            }
            tokio::select! {
                () = stopping(stopped) => return None,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(MAX_BACKOFF);
        }
    }

    /// Writes the devices heard since the last write; on failure they are
    /// kept for the next.
    async fn write_heard(&self) {
        let batch: Vec<_> = std::mem::take(&mut *lock(&self.heard))
            .into_iter()
            .collect();
        if batch.is_empty() {
            return;
        }
        match self.sink.heard(&batch).await {
            Ok(again) => {
                for device in again {
                    info!(device = %device, "device heard again after being reported silent");
                }
            }
            Err(e) => {
                error!(error = %e, "when devices were heard is not written; trying again");
                let mut heard = lock(&self.heard);
                for (device, at) in batch {
                    let t = heard.entry(device).or_insert(at);
                    *t = (*t).max(at);
                }
            }
        }
    }
}
