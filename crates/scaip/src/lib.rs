//! The SCAIP codec: the messages digital safety alarms send (SS 91100:2014,
//! CLC/TS 50134-9:2018). A device sends a request `<mrq>` as the body of a
//! SIP MESSAGE (`application/scaip+xml`); the receiver answers with a
//! response `<mrs>` in a MESSAGE of its own, matched on `ref`.
//!
//! * [`parse_request`] and [`parse_response`] read a body strictly: one pass
//!   over at most [`MAX_BODY`] bytes of UTF-8 XML 1.0, the message's fixed
//!   shape (root, values, and `<lge>` with its values: depth 3 at most), no
//!   DTD, no entities beyond the five predefined ones and character
//!   references, no processing instructions, CDATA or attributes, no
//!   unknown or repeated elements. A body that breaks a rule gives a
//!   [`Rejection`]: the `snu` to answer, the `ref` when it could be read,
//!   and a [`Reason`] for the log that never repeats a value from the body.
//! * [`Request`] and [`Response`] hold every element of the brief as a type
//!   that admits only valid values ([`value`], [`location`]): where the
//!   sources disagree, the wider form is read and the narrower one written.
//! * [`encode_request`] and [`encode_response`] write the canonical text:
//!   parsing it gives back an equal message.
//!
//! Sources: SS 91100:2014 as summarised in the project's protocol brief, and
//! the XSD-derived patterns of the open `caruhome/scaip-gateway` project
//! (`xml/scaip.py`), whose `hbi` pattern is a known error.
//! `docs/design/alarms.md` gives each rule's source and the `snu` for each
//! kind of bad input.
//!
//! Architecture invariant: no I/O, no clock, no panics; time and memory are
//! bounded by [`MAX_BODY`].

pub mod location;
pub mod value;

mod decode;
mod encode;
mod message;
mod rejection;

pub use encode::{encode_request, encode_response};
pub use location::{FixTime, GeoLocation, GeoPosition, Gga};
pub use message::{Field, Request, Response};
pub use rejection::{Reason, Rejection, Snippet};
pub use value::{
    AnswerWindow, CallHandling, CallHandlingReply, ControllerId, DeviceComponent, DeviceId,
    DeviceType, HeartbeatInterval, HeartbeatOption, InfoCode, InvalidValue, LocationCode,
    LocationValue, LongText, MediaReply, MessageType, Priority, Ref, ShortText, StatusCode,
    StatusNumber, SystemConfiguration, Text, TransferNumber, Version, VoiceMedia, VoiceMediaKind,
};

/// The largest body read: 8 KiB. The largest valid `<mrq>` takes about
/// 3.3 KiB in canonical form, and about 5.3 KiB with every character of
/// every value written as a numeric character reference; SIP MESSAGE bodies
/// over 1300 bytes are already unusual (the standard fragments at 1300
/// bytes). A longer body is answered `snu=1` without being parsed.
pub const MAX_BODY: usize = 8 * 1024;

/// Read a device's request `<mrq>`.
pub fn parse_request(body: &[u8]) -> Result<Request, Rejection> {
    decode::decode::<decode::RequestTarget>(body)
}

/// Read a receiver's response `<mrs>` (for the device simulator). An `<mrs>`
/// without `ref` is accepted: a receiver sends one when it could not read
/// the request's reference.
pub fn parse_response(body: &[u8]) -> Result<Response, Rejection> {
    decode::decode::<decode::ResponseTarget>(body)
}
