//! The SIP layer from the outside: messages as devices and sipp send them,
//! every rejection, the limits at their boundaries, Digest, transactions,
//! stream framing, properties over generated and mutated messages, and the
//! fuzzing corpus.

// Test support: helpers and strategies outside `#[test]` functions unwrap
// and panic too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod corpus;
mod digest;
mod examples;
mod framer;
mod limits;
mod properties;
mod rejections;
mod transactions;

use trygg_sip::{Framer, Message, ParseError, Request, Response, parse};

/// A message from its lines (joined with CRLF, then an empty line) and
/// body.
fn sip(lines: &[&str], body: &str) -> Vec<u8> {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n\r\n");
    text.push_str(body);
    text.into_bytes()
}

/// What must hold for any bytes: reading does not panic, and a message
/// read writes to bytes that read back equal, also through a [`Framer`].
fn check_any(bytes: &[u8]) {
    if let Ok(message) = parse(bytes) {
        assert_round_trips(&message);
    }
}

fn assert_round_trips(message: &Message) {
    let bytes = message.to_bytes();
    assert!(bytes.len() <= trygg_sip::MAX_MESSAGE);
    assert_eq!(
        parse(&bytes).as_ref(),
        Ok(message),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let mut framer = Framer::new();
    framer.push(&bytes).unwrap();
    assert_eq!(
        framer.next_frame(),
        Ok(Some(trygg_sip::Frame::Message(message.clone())))
    );
    assert_eq!(framer.buffered(), 0);
}

#[track_caller]
fn accept(bytes: impl AsRef<[u8]>) -> Message {
    match parse(bytes.as_ref()) {
        Ok(message) => {
            assert_round_trips(&message);
            message
        }
        Err(e) => panic!("rejected: {e}"),
    }
}

#[track_caller]
fn accept_request(bytes: impl AsRef<[u8]>) -> Request {
    match accept(bytes) {
        Message::Request(r) => r,
        Message::Response(r) => panic!("a response: {r:?}"),
    }
}

#[track_caller]
fn accept_response(bytes: impl AsRef<[u8]>) -> Response {
    match accept(bytes) {
        Message::Response(r) => r,
        Message::Request(r) => panic!("a request: {r:?}"),
    }
}

#[track_caller]
fn reject(bytes: impl AsRef<[u8]>) -> ParseError {
    match parse(bytes.as_ref()) {
        Ok(message) => panic!("accepted: {message:?}"),
        Err(e) => e,
    }
}

/// A device's first REGISTER, before it has been challenged.
const REGISTER: &[&str] = &[
    "REGISTER sip:alarm.example.se SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.23:5060;rport;branch=z9hG4bKPj3f7a2c1e9d",
    "Max-Forwards: 70",
    "From: <sip:46701234567@alarm.example.se>;tag=a83b1c4d",
    "To: <sip:46701234567@alarm.example.se>",
    "Call-ID: 5f1b2c3d4e5f60718293@10.0.0.23",
    "CSeq: 1 REGISTER",
    "User-Agent: CareAlarm/2.4.1",
    "Contact: <sip:46701234567@10.0.0.23:5060;ob>;expires=3600",
    "Expires: 3600",
    "Allow: MESSAGE, OPTIONS",
    "Content-Length: 0",
];

/// The SCAIP alarm the MESSAGE examples carry.
const ALARM: &str =
    include_str!("../../../../fuzz/corpus/scaip_codec/mrq-alarm-automatic-fall.xml");

/// An alarm as sipp sends it: compact header names, a display name token.
fn sipp_message() -> Vec<u8> {
    let length = format!("l: {}", ALARM.len());
    sip(
        &[
            "MESSAGE sip:receiver@192.0.2.10:5060 SIP/2.0",
            "v: SIP/2.0/UDP 192.0.2.55:5061;branch=z9hG4bK-4711-1-0",
            "f: sipp <sip:sipp@192.0.2.55:5061>;tag=4711SIPpTag001",
            "t: <sip:receiver@192.0.2.10:5060>",
            "i: 1-4711@192.0.2.55",
            "CSeq: 1 MESSAGE",
            "Max-Forwards: 70",
            "c: application/scaip+xml",
            &length,
        ],
        ALARM,
    )
}
