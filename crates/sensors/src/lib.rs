//! Passive sensors over MQTT: door, bed, fall and pill-dispenser sensors
//! (or the gateways they hang off) publish small JSON events through
//! Mosquitto, and Trygg records them in the same alarm model as the SCAIP
//! safety alarms.
//!
//! ```text
//! sensor ─ MQTT (its own user and password) ─► Mosquitto ─ ACL: only trygg/devices/{user}/events
//!        ─► ingest (Trygg's user, QoS 1, persistent session, manual acknowledgement)
//!        ─► event::parse ─► Store::record_alarm (committed) ─► PUBACK
//! ```
//!
//! * [`event`]: the message format (strict, at most 1 KiB) and its mapping
//!   to an [`trygg_store::IncomingAlarm`] with the SCAIP status codes.
//! * [`mosquitto`]: the lines of Mosquitto's password file (PBKDF2-SHA512,
//!   as `mosquitto_passwd` writes them) and its ACL file. Mosquitto, not
//!   Trygg, checks each device's password and what it may publish.
//! * [`client`]: the MQTT client behind a small trait ([`Connection`],
//!   [`Acker`]); [`Rumqttc`] is the implementation used.
//! * [`ingest`]: the task that takes deliveries, records them and only then
//!   acknowledges them.
//!
//! Architecture invariant: a delivery is acknowledged only after its alarm
//! is committed (or the message is dropped for good); nothing from a
//! payload reaches a log line; the system clock is read only through the
//! `Clock`.

pub mod client;
pub mod event;
pub mod ingest;
pub mod mosquitto;

pub use client::{
    Acker, BrokerUrl, ClientConfig, Connection, ConnectionError, Delivery, Incoming, Rumqttc,
};
pub use event::{Event, MAX_PAYLOAD, Refusal, SensorMessage, TOPIC_FILTER, parse, topic};
pub use ingest::{HEARD_INTERVAL, Ingest, IngestStats, MAX_IN_FLIGHT, Sink};
