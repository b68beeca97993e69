//! The SIP layer of the safety-alarm receiver: the part of SIP (RFC 3261)
//! that digital safety alarms (SCAIP, SS 91100) use. A device REGISTERs
//! with Digest authentication and sends each alarm as the body of a MESSAGE
//! (RFC 3428, `application/scaip+xml`); the receiver answers 200 OK, and
//! later sends its own MESSAGE, the SCAIP `<mrs>`, to the device's
//! registered contact.
//!
//! * [`parse`] reads a datagram or a framed message strictly into a
//!   [`Message`]; typed accessors on [`Headers`] read Via, From, To,
//!   Call-ID, CSeq, Contact, Expires, Max-Forwards, Content-Type,
//!   Authorization and WWW-Authenticate on demand.
//! * [`Framer`] cuts messages out of a TCP/TLS stream and answers RFC 5626
//!   keep-alive pings.
//! * [`Response::for_request`] and [`Request::new`] write messages; what
//!   is written reads back equal (`parse(&m.to_bytes())` gives `m`).
//! * [`DigestServer`] issues stateless nonces and checks `Authorization`
//!   (MD5 and SHA-256, `qop=auth`); [`NonceCounts`] refuses replays.
//! * [`ServerTransactions`] absorbs retransmitted requests and repeats the
//!   stored response; [`ClientTransaction`] times the retransmissions of a
//!   request this side sends.
//!
//! Limits, each a constant: a message is at most [`MAX_MESSAGE`] bytes,
//! its body [`MAX_BODY`], at most [`MAX_HEADERS`] header lines of at most
//! [`MAX_HEADER_LINE`] bytes, [`MAX_VIAS`] Via values, URIs of
//! [`MAX_URI`] bytes with [`MAX_PARAMS`] parameters.
//!
//! Architecture invariant: no I/O, no clock, no random source, no panics.
//! Time and random bytes are parameters; time and memory are bounded by
//! the limits above. `docs/design/alarms.md` ("The SIP layer") explains the choices.

mod build;
mod digest;
mod framer;
mod header;
mod message;
mod text;
mod transaction;
mod uri;

pub use build::{MAX_FORWARDS, NewRequest};
pub use digest::{
    Algorithm, Authorization, Challenge, DigestError, DigestServer, NonceCountError, NonceCounts,
    Verified, ha1, ha2, request_digest,
};
pub use framer::{Frame, FrameError, Framer, PONG};
pub use header::{
    CSeq, Contact, ContentType, Header, HeaderError, Headers, MAX_CSEQ, NameAddr, Transport, Via,
};
pub use message::{Message, Method, ParseError, Request, Response, SIP_VERSION, parse};
pub use text::{Param, Params};
pub use transaction::{
    Arrival, ClientAction, ClientTransaction, ServerTransactions, T1, T2, TIMER_F, TIMER_J,
    TransactionKey, retransmit_after,
};
pub use uri::{Host, SipUri, UriError};

/// The largest message read or written: 16 KiB. A REGISTER or a MESSAGE
/// with the largest SCAIP body fits with room to spare; RFC 3261 §18.1.1
/// already moves anything over 1300 bytes off UDP. Bytes past the limit
/// are refused before they are looked at.
pub const MAX_MESSAGE: usize = 16 * 1024;

/// The largest body: 8 KiB, the SCAIP codec's own limit
/// (`trygg_scaip::MAX_BODY`), so no body the codec would refuse unread is
/// passed to it.
pub const MAX_BODY: usize = 8 * 1024;

/// The most header lines. A device's REGISTER has about 12; sipp's about 10.
pub const MAX_HEADERS: usize = 64;

/// The longest line (start line or header), as received and as written.
/// The longest line a device sends is an `Authorization` of about 400
/// bytes.
pub const MAX_HEADER_LINE: usize = 2 * 1024;

/// The most Via values. A device talks to the receiver directly, or
/// through one or two proxies; more hops than this is a loop or an attack.
pub const MAX_VIAS: usize = 8;

/// The longest URI.
pub const MAX_URI: usize = 512;

/// The longest host name (RFC 1035).
pub const MAX_HOST: usize = 253;

/// The most parameters in a URI or on a header value.
pub const MAX_PARAMS: usize = 16;

/// The longest Digest username.
pub const MAX_USERNAME: usize = 128;

/// The prefix of every RFC 3261 branch (§8.1.1.7). Requests without it come
/// from RFC 2543 implementations, whose transactions cannot be matched by
/// branch; they are refused.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// The most bytes a [`Framer`] holds: a message being completed plus one
/// push of at most [`MAX_MESSAGE`] bytes.
pub const MAX_BUFFERED: usize = 2 * MAX_MESSAGE;

/// The most server transactions kept. A transaction answered over UDP is
/// kept 64·T1 (32 s) for retransmissions, so 400,000 allow 12,500 requests
/// a second: 300,000 devices with heartbeats every 60 s send 5,000, and
/// twice that while they all register again after an outage. Beyond it
/// requests are answered 503 and devices try again later.
pub const MAX_TRANSACTIONS: usize = 400_000;

/// The most bytes of keys and stored responses the server transactions
/// hold: 256 MiB. The receiver's responses take about 0.5 KiB, so the count
/// limit comes first in practice; this bounds the worst case.
pub const MAX_STORED_BYTES: usize = 256 * 1024 * 1024;

/// The most nonces whose counts [`NonceCounts`] tracks: a nonce lives
/// five minutes and each device has one in use, so 1,000,000 covers
/// 300,000 devices that all registered again within those minutes, in
/// about 60 MiB.
pub const MAX_NONCE_COUNTS: usize = 1_000_000;
