//! Cutting messages out of a TCP or TLS byte stream (RFC 3261 §18.3) and
//! answering keep-alive pings (RFC 5626 §3.5.1).

use crate::message::{Message, ParseError, find, parse};
use crate::{MAX_BUFFERED, MAX_MESSAGE};

/// What a stream's keep-alive ping (`CRLFCRLF`) is answered with.
pub const PONG: &[u8] = b"\r\n";

/// What the framer cut from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete message.
    Message(Message),
    /// A keep-alive ping: write [`PONG`] back.
    Ping,
}

/// Why a stream can no longer be read. The framer keeps failing with the
/// same error; the caller closes the connection (a device reconnects).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("more than {MAX_BUFFERED} bytes buffered: drain frames between pushes")]
    Overflow,
    #[error("message longer than {MAX_MESSAGE} bytes")]
    TooLong,
    #[error("{0}")]
    Message(ParseError),
}

/// A stream's bytes in, messages and pings out. Push what the connection
/// gave (at most [`MAX_MESSAGE`] bytes at a time), then call
/// [`Framer::next_frame`] until it returns `Ok(None)`; so drained, the
/// buffer never holds more than [`MAX_BUFFERED`] bytes.
///
/// On a stream `Content-Length` is mandatory (RFC 3261 §18.3): it is the
/// only way to know where the body ends. CRLFs between messages are
/// skipped (§7.5), except a pair, which is a ping. A message that breaks a
/// rule ends the stream: with its framing in doubt, nothing after it can be
/// trusted.
#[derive(Clone, Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// How far the search for the end of the header section has got.
    scanned: usize,
    failed: Option<FrameError>,
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    fn fail(&mut self, error: FrameError) -> FrameError {
        self.buf = Vec::new();
        self.failed = Some(error.clone());
        error
    }

    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.buf.len().saturating_add(bytes.len()) > MAX_BUFFERED {
            return Err(self.fail(FrameError::Overflow));
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// How many bytes wait for the rest of their message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        loop {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.consume(4);
                return Ok(Some(Frame::Ping));
            }
            if !self.buf.is_empty() && b"\r\n\r\n".starts_with(&self.buf) {
                return Ok(None);
            }
            if !self.buf.starts_with(b"\r\n") {
                break;
            }
            self.consume(2);
        }
        let window = self.buf.get(..self.buf.len().min(MAX_MESSAGE));
        let from = self.scanned.saturating_sub(3);
        let found = window
            .and_then(|w| w.get(from..))
            .and_then(|w| find(w, b"\r\n\r\n"))
            .map(|at| at + from);
        let Some(head_end) = found else {
            if self.buf.len() >= MAX_MESSAGE {
                return Err(self.fail(FrameError::TooLong));
            }
            self.scanned = self.buf.len();
            return Ok(None);
        };
        self.scanned = head_end;
        let head = self.buf.get(..head_end).unwrap_or_default();
        let length = match content_length(head) {
            Ok(Some(length)) => length,
            Ok(None) => {
                return Err(self.fail(FrameError::Message(ParseError::ContentLengthMissing)));
            }
            Err(e) => return Err(self.fail(FrameError::Message(e))),
        };
        let total = head_end + 4 + length;
        if total > MAX_MESSAGE {
            return Err(self.fail(FrameError::TooLong));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let result = parse(self.buf.get(..total).unwrap_or_default());
        self.consume(total);
        match result {
            Ok(message) => Ok(Some(Frame::Message(message))),
            Err(e) => Err(self.fail(FrameError::Message(e))),
        }
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
        self.scanned = 0;
    }
}

/// The `Content-Length` (or `l`) of a header section, read ahead of the
/// full parse to know where the body ends.
fn content_length(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut found = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let name = name.trim_ascii_end();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        if found.is_some()
            || value.is_empty()
            || value.len() > 5
            || !value.iter().all(u8::is_ascii_digit)
        {
            return Err(ParseError::ContentLength);
        }
        found = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
    }
    Ok(found)
}
