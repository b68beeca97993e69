//! The sensor message: what a passive sensor (or its gateway) publishes on
//! `trygg/devices/{user}/events`, and how it becomes an alarm.
//!
//! ```json
//! {"ref":"A1B2","event":"fall","at":"2026-06-01T08:00:00Z"}
//! ```
//!
//! * `ref`: 1–16 ASCII letters or digits, as SCAIP's `ref`. The sensor
//!   chooses it; a repeat of the same `ref` is the same alarm (the store's
//!   `(device, ref)` rule), so a sensor sends a new `ref` for each event and
//!   the same one when it sends an event again.
//! * `event`: one of [`Event`]'s names.
//! * `at` (optional): when the sensor saw it, RFC 3339. Kept with the alarm;
//!   the alarm's time is when Trygg received it.
//!
//! Strict: at most [`MAX_PAYLOAD`] bytes of UTF-8 JSON, one object with these
//! members and no other, none repeated. Anything else is a [`Refusal`]; the
//! reader never panics and its [`Refusal`] never repeats a value from the
//! message (it goes to the log).

use serde::Deserialize;
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use trygg_store::{AlarmKind, IncomingAlarm};

/// The largest message read: 1 KiB. A message takes about 70 bytes.
pub const MAX_PAYLOAD: usize = 1024;

/// The longest `ref`, as in SCAIP.
pub const MAX_REF: usize = 16;

/// SCAIP status codes (`stc`) the events map to (SS 91100; the numbers as in
/// the code list of the open `caruhome/scaip-gateway` project, `spec.py`).
pub mod stc {
    /// 0003: absent (a bed monitor: not in bed).
    pub const ABSENT: u16 = 3;
    /// 0009: automatic alarm (a fall detector).
    pub const AUTOMATIC_ALARM: u16 = 9;
    /// 0016: battery low.
    pub const BATTERY_LOW: u16 = 16;
    /// 0076: open (a door sensor).
    pub const OPEN: u16 = 76;
    /// 0081: pill not taken.
    pub const PILL_NOT_TAKEN: u16 = 81;
    /// 0083: pill taken.
    pub const PILL_TAKEN: u16 = 83;
    /// 0117: lying in bed (has not got up).
    pub const LYING_IN_BED: u16 = 117;
}

/// What a sensor reports. The set is closed: a name not listed here is
/// refused, not guessed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A fall detector detected a fall: stc 0009, automatic alarm.
    Fall,
    /// A door sensor: the door was opened (sent when it matters, e.g. at
    /// night for a person who may wander): stc 0076.
    DoorOpen,
    /// A bed sensor: the person left the bed and has not come back: stc
    /// 0003 (absent).
    BedExit,
    /// A bed sensor: the person is still lying in bed (has not got up):
    /// stc 0117.
    LyingInBed,
    /// A pill dispenser: a dose was not taken: stc 0081.
    PillNotTaken,
    /// A pill dispenser: a dose was taken: stc 0083, status.
    PillTaken,
    /// The sensor's battery is low: stc 0016, technical.
    BatteryLow,
    /// A sign of life, stored as nothing: the device was heard (as SCAIP's
    /// `mty=PI`).
    Heartbeat,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 8] = [
        Event::Fall,
        Event::DoorOpen,
        Event::BedExit,
        Event::LyingInBed,
        Event::PillNotTaken,
        Event::PillTaken,
        Event::BatteryLow,
        Event::Heartbeat,
    ];

    /// Its name in a message.
    pub fn name(self) -> &'static str {
        match self {
            Event::Fall => "fall",
            Event::DoorOpen => "door_open",
            Event::BedExit => "bed_exit",
            Event::LyingInBed => "lying_in_bed",
            Event::PillNotTaken => "pill_not_taken",
            Event::PillTaken => "pill_taken",
            Event::BatteryLow => "battery_low",
            Event::Heartbeat => "heartbeat",
        }
    }

    /// The event with this name.
    pub fn from_name(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The SCAIP status code it is recorded with (`None` for a heartbeat).
    pub fn status_code(self) -> Option<u16> {
        Some(match self {
            Event::Fall => stc::AUTOMATIC_ALARM,
            Event::DoorOpen => stc::OPEN,
            Event::BedExit => stc::ABSENT,
            Event::LyingInBed => stc::LYING_IN_BED,
            Event::PillNotTaken => stc::PILL_NOT_TAKEN,
            Event::PillTaken => stc::PILL_TAKEN,
            Event::BatteryLow => stc::BATTERY_LOW,
            Event::Heartbeat => return None,
        })
    }

    /// The kind of alarm row it makes, or `None` for a heartbeat (not
    /// stored). The same as the SIP receiver gives a SCAIP message with this
    /// status code (a test holds them equal): technical for the battery,
    /// status for a pill taken, and an alarm for everything else.
    pub fn kind(self) -> Option<AlarmKind> {
        Some(match self {
            Event::Heartbeat => return None,
            Event::BatteryLow => AlarmKind::Technical,
            Event::PillTaken => AlarmKind::Status,
            Event::Fall
            | Event::DoorOpen
            | Event::BedExit
            | Event::LyingInBed
            | Event::PillNotTaken => AlarmKind::Alarm,
        })
    }
}

/// Why a message was refused. Names the rule, never a value from the
/// message: it goes to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Over [`MAX_PAYLOAD`] bytes.
    TooLong,
    /// Not UTF-8 JSON (or more than one value).
    NotJson,
    /// Not an object of `ref`, `event` and optional `at` as strings: a
    /// member missing, unknown, repeated or of the wrong type.
    WrongShape,
    /// `ref` is not 1–16 ASCII letters or digits.
    BadRef,
    /// `event` is not one of [`Event`]'s names.
    UnknownEvent,
    /// `at` is not an RFC 3339 time.
    BadTime,
}

impl Refusal {
    /// A short description for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::TooLong => "message over 1 KiB",
            Refusal::NotJson => "not UTF-8 JSON",
            Refusal::WrongShape => "not an object of ref, event and optional at (strings)",
            Refusal::BadRef => "ref must be 1 to 16 letters A-Z, a-z or digits",
            Refusal::UnknownEvent => "unknown event",
            Refusal::BadTime => "at must be an RFC 3339 time",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Refusal {}

/// A sensor message that has passed every rule.
#[derive(Clone, PartialEq, Eq)]
pub struct SensorMessage {
    reference: String,
    event: Event,
    at: Option<OffsetDateTime>,
    canonical: String,
}

impl fmt::Debug for SensorMessage {
    // What a sensor reports says something about a person: not in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SensorMessage")
            .field("ref", &self.reference)
            .finish_non_exhaustive()
    }
}

/// The message as JSON, before its values are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(rename = "ref")]
    reference: String,
    event: String,
    #[serde(default)]
    at: Option<String>,
}

impl SensorMessage {
    /// A message from its parts (for sensors, simulators and tests).
    pub fn new(reference: &str, event: Event, at: Option<OffsetDateTime>) -> Result<Self, Refusal> {
        if !valid_ref(reference) {
            return Err(Refusal::BadRef);
        }
        let at = at.map(|t| t.to_offset(time::UtcOffset::UTC));
        let at_text = match at {
            Some(t) => Some(t.format(&Rfc3339).map_err(|_| Refusal::BadTime)?),
            None => None,
        };
        // Every value is ASCII letters, digits, '_' or RFC 3339 punctuation:
        // nothing to escape.
        let canonical = match &at_text {
            Some(t) => format!(
                "{{\"ref\":\"{reference}\",\"event\":\"{}\",\"at\":\"{t}\"}}",
                event.name()
            ),
            None => format!("{{\"ref\":\"{reference}\",\"event\":\"{}\"}}", event.name()),
        };
        Ok(Self {
            reference: reference.to_owned(),
            event,
            at,
            canonical,
        })
    }

    /// The `ref`.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The event.
    pub fn event(&self) -> Event {
        self.event
    }

    /// When the sensor saw it, in UTC, if it said.
    pub fn at(&self) -> Option<OffsetDateTime> {
        self.at
    }

    /// The canonical text: members in the order `ref`, `event`, `at`, no
    /// spaces, `at` in UTC. Parsing it gives an equal message.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The alarm to record, or `None` for a heartbeat. The request kept
    /// (sealed under the person's key) is the canonical text.
    pub fn incoming(&self) -> Option<IncomingAlarm<'_>> {
        Some(IncomingAlarm {
            reference: &self.reference,
            kind: self.event.kind()?,
            status_code: self.event.status_code(),
            // A sensor does not rank its own events; the alarm centre does.
            priority: None,
            request: &self.canonical,
        })
    }
}

fn valid_ref(s: &str) -> bool {
    (1..=MAX_REF).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Reads a sensor message.
pub fn parse(payload: &[u8]) -> Result<SensorMessage, Refusal> {
    if payload.len() > MAX_PAYLOAD {
        return Err(Refusal::TooLong);
    }
    let raw: Raw = serde_json::from_slice(payload).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Refusal::WrongShape,
        serde_json::error::Category::Io
        | serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof => Refusal::NotJson,
    })?;
    if !valid_ref(&raw.reference) {
        return Err(Refusal::BadRef);
    }
    let event = Event::from_name(&raw.event).ok_or(Refusal::UnknownEvent)?;
    let at = match raw.at {
        Some(text) => Some(OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| Refusal::BadTime)?),
        None => None,
    };
    SensorMessage::new(&raw.reference, event, at)
}

/// The topic a device publishes its events on.
pub fn topic(user: &str) -> String {
    format!("trygg/devices/{user}/events")
}

/// The topic filter the ingest subscribes to.
pub const TOPIC_FILTER: &str = "trygg/devices/+/events";

/// The device user a topic names, if it is a device's events topic with a
/// valid user name.
pub fn topic_user(topic: &str) -> Option<&str> {
    let user = topic
        .strip_prefix("trygg/devices/")?
        .strip_suffix("/events")?;
    crate::mosquitto::valid_user(user).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_fall_becomes_an_automatic_alarm() {
        let m =
            parse(br#"{"ref":"A1B2","event":"fall","at":"2026-06-01T10:00:00+02:00"}"#).unwrap();
        assert_eq!(m.reference(), "A1B2");
        assert_eq!(m.event(), Event::Fall);
        assert_eq!(
            m.canonical(),
            r#"{"ref":"A1B2","event":"fall","at":"2026-06-01T08:00:00Z"}"#
        );
        let incoming = m.incoming().unwrap();
        assert_eq!(incoming.reference, "A1B2");
        assert_eq!(incoming.kind, AlarmKind::Alarm);
        assert_eq!(incoming.status_code, Some(9));
        assert_eq!(incoming.priority, None);
        assert_eq!(incoming.request, m.canonical());
    }

    #[test]
    fn every_event_maps_to_its_code_and_kind() {
        let expect = [
            ("fall", Some(9), Some(AlarmKind::Alarm)),
            ("door_open", Some(76), Some(AlarmKind::Alarm)),
            ("bed_exit", Some(3), Some(AlarmKind::Alarm)),
            ("lying_in_bed", Some(117), Some(AlarmKind::Alarm)),
            ("pill_not_taken", Some(81), Some(AlarmKind::Alarm)),
            ("pill_taken", Some(83), Some(AlarmKind::Status)),
            ("battery_low", Some(16), Some(AlarmKind::Technical)),
            ("heartbeat", None, None),
        ];
        assert_eq!(expect.len(), Event::ALL.len());
        for (name, code, kind) in expect {
            let m = parse(format!(r#"{{"ref":"R1","event":"{name}"}}"#).as_bytes()).unwrap();
            assert_eq!(m.event().name(), name);
            assert_eq!(m.event().status_code(), code, "{name}");
            assert_eq!(m.event().kind(), kind, "{name}");
            assert_eq!(m.incoming().map(|i| i.kind), kind, "{name}");
        }
    }

    #[test]
    fn kinds_agree_with_the_sip_receiver() {
        // The same code in a SCAIP request is classified by the receiver.
        for event in Event::ALL {
            let Some(code) = event.status_code() else {
                continue;
            };
            let body =
                format!("<mrq><ref>K1</ref><cid>1</cid><dty>0005</dty><stc>{code:04}</stc></mrq>");
            let request = trygg_scaip::parse_request(body.as_bytes()).unwrap();
            assert_eq!(
                trygg_alarm::kind_of(&request),
                event.kind(),
                "{}",
                event.name()
            );
        }
        // Codes the scaip crate names are the same numbers.
        assert_eq!(
            trygg_scaip::StatusCode::AUTOMATIC_ALARM.value(),
            stc::AUTOMATIC_ALARM
        );
        assert_eq!(
            trygg_scaip::StatusCode::BATTERY_LOW.value(),
            stc::BATTERY_LOW
        );
        assert_eq!(
            trygg_scaip::StatusCode::PILL_NOT_TAKEN.value(),
            stc::PILL_NOT_TAKEN
        );
        assert_eq!(trygg_scaip::StatusCode::PILL_TAKEN.value(), stc::PILL_TAKEN);
        assert_eq!(
            trygg_scaip::StatusCode::LYING_IN_BED.value(),
            stc::LYING_IN_BED
        );
    }

    #[test]
    fn bad_messages_are_refused_with_their_rule() {
        let cases: &[(&[u8], Refusal)] = &[
            (b"", Refusal::NotJson),
            (b"not json", Refusal::NotJson),
            (b"\xff\xfe{}", Refusal::NotJson),
            (br#"{"ref":"A1","event":"fall"} {}"#, Refusal::NotJson),
            (br#"{"ref":"A1","event":"fall""#, Refusal::NotJson),
            (b"[]", Refusal::WrongShape),
            (b"{}", Refusal::WrongShape),
            (br#"{"ref":"A1"}"#, Refusal::WrongShape),
            (br#"{"event":"fall"}"#, Refusal::WrongShape),
            (br#"{"ref":"A1","event":"fall","x":1}"#, Refusal::WrongShape),
            (
                br#"{"ref":"A1","event":"fall","ref":"A2"}"#,
                Refusal::WrongShape,
            ),
            (br#"{"ref":17,"event":"fall"}"#, Refusal::WrongShape),
            (br#"{"ref":"A1","event":["fall"]}"#, Refusal::WrongShape),
            (
                br#"{"ref":"A1","event":"fall","at":5}"#,
                Refusal::WrongShape,
            ),
            (br#"{"ref":"","event":"fall"}"#, Refusal::BadRef),
            (br#"{"ref":"A-1","event":"fall"}"#, Refusal::BadRef),
            (
                br#"{"ref":"A1234567890123456","event":"fall"}"#,
                Refusal::BadRef,
            ),
            (br#"{"ref":"\u00e51","event":"fall"}"#, Refusal::BadRef),
            (br#"{"ref":"A1","event":"Fall"}"#, Refusal::UnknownEvent),
            (br#"{"ref":"A1","event":"smoke"}"#, Refusal::UnknownEvent),
            (
                br#"{"ref":"A1","event":"fall","at":"yesterday"}"#,
                Refusal::BadTime,
            ),
            (
                br#"{"ref":"A1","event":"fall","at":"2026-06-01 08:00:00"}"#,
                Refusal::BadTime,
            ),
        ];
        for (payload, refusal) in cases {
            assert_eq!(
                parse(payload),
                Err(*refusal),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        // Exactly at the limit is read; one byte more is not.
        let body = r#"{"ref":"A1","event":"fall"}"#;
        let padded = format!("{body}{}", " ".repeat(MAX_PAYLOAD - body.len()));
        assert!(parse(padded.as_bytes()).is_ok());
        let over = format!("{padded} ");
        assert_eq!(parse(over.as_bytes()), Err(Refusal::TooLong));
        // Deep nesting in a member is refused at its first bracket.
        let deep = format!(r#"{{"ref":{}"#, "[".repeat(900));
        assert_eq!(parse(deep.as_bytes()), Err(Refusal::WrongShape));
        // A null `at` is no time; the 16-character ref is the longest.
        let m = parse(br#"{"ref":"A123456789012345","event":"pill_taken","at":null}"#).unwrap();
        assert_eq!(
            m.canonical(),
            r#"{"ref":"A123456789012345","event":"pill_taken"}"#
        );
    }

    #[test]
    fn refusals_never_repeat_the_message() {
        let secret = "Greta Lind 19380412-1234";
        for payload in [
            format!(r#"{{"ref":"{secret}","event":"fall"}}"#),
            format!(r#"{{"ref":"A1","event":"{secret}"}}"#),
            format!(r#"{{"ref":"A1","event":"fall","{secret}":1}}"#),
            format!(r#"{{"ref":"A1","event":"fall","at":"{secret}"}}"#),
        ] {
            let refusal = parse(payload.as_bytes()).unwrap_err();
            assert!(!refusal.to_string().contains("Greta"), "{refusal}");
            assert!(!format!("{refusal:?}").contains("Greta"));
        }
        let m = parse(br#"{"ref":"A1","event":"fall"}"#).unwrap();
        assert!(!format!("{m:?}").contains("fall"));
    }

    #[test]
    fn topics_name_their_user() {
        assert_eq!(topic("sensor-0001"), "trygg/devices/sensor-0001/events");
        assert_eq!(
            topic_user("trygg/devices/sensor-0001/events"),
            Some("sensor-0001")
        );
        for bad in [
            "trygg/devices//events",
            "trygg/devices/a/b/events",
            "trygg/devices/a/events/",
            "trygg/devices/a+/events",
            "trygg/devices/#/events",
            "trygg/devices/a",
            "other/devices/a/events",
        ] {
            assert_eq!(topic_user(bad), None, "{bad}");
        }
    }

    fn event() -> impl Strategy<Value = Event> {
        prop::sample::select(Event::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn json_like_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
            "{", "}", "[", "]", ",", ":", "\"ref\"", "\"event\"", "\"at\"", "\"fall\"",
            "\"A1\"", "null", "1", "-0.5e9", "\"\\u0000\"", "\"\\ud800\"", "true", " ", "\"x\"",
            "\"2026-06-01T08:00:00Z\"", "\"9999-12-31T23:59:59-23:59\"",
        ]), 0..40)) {
            let text: String = parts.concat();
            if let Ok(m) = parse(text.as_bytes()) {
                prop_assert_eq!(parse(m.canonical().as_bytes()), Ok(m.clone()));
            }
        }

        #[test]
        fn valid_messages_round_trip(
            reference in "[A-Za-z0-9]{1,16}",
            event in event(),
            secs in proptest::option::of(-62_000_000_000i64..253_000_000_000),
            offset_min in -1439i32..1440,
        ) {
            let at = secs.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                .and_then(|t| time::UtcOffset::from_whole_seconds(offset_min * 60).ok()
                    .map(|o| t.to_offset(o)));
            let text = match at.and_then(|t| t.format(&Rfc3339).ok()) {
                Some(t) => format!(r#"{{ "event": "{}", "at": "{t}", "ref": "{reference}" }}"#, event.name()),
                None => format!(r#"{{"event":"{}","ref":"{reference}"}}"#, event.name()),
            };
            let m = parse(text.as_bytes());
            prop_assert!(m.is_ok(), "{text}: {m:?}");
            let m = m.unwrap();
            prop_assert_eq!(m.reference(), reference.as_str());
            prop_assert_eq!(m.event(), event);
            prop_assert_eq!(m.at().map(OffsetDateTime::unix_timestamp), at.map(OffsetDateTime::unix_timestamp));
            prop_assert_eq!(parse(m.canonical().as_bytes()), Ok(m.clone()));
        }

        #[test]
        fn mutated_messages_never_panic(
            index in 0usize..80,
            byte in any::<u8>(),
            event in event(),
        ) {
            let mut bytes = format!(r#"{{"ref":"A1","event":"{}","at":"2026-06-01T08:00:00Z"}}"#, event.name()).into_bytes();
            let i = index % bytes.len();
            bytes[i] = byte;
            if let Ok(m) = parse(&bytes) {
                prop_assert_eq!(parse(m.canonical().as_bytes()), Ok(m.clone()));
            }
        }
    }
}
