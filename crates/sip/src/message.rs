//! Requests and responses: reading one from bytes (RFC 3261 §7 and the
//! §25 grammar, strictly), checking what every message must carry, and
//! writing one back.

use std::fmt;

use crate::header::{HeaderError, Headers, canonical_name};
use crate::text::{is_text, is_token, is_ws};
use crate::uri::{SipUri, UriError};
use crate::{MAX_BODY, MAX_HEADER_LINE, MAX_HEADERS, MAX_MESSAGE};

/// The only SIP version read or written.
pub const SIP_VERSION: &str = "SIP/2.0";

/// Why bytes were not read as a message, or why a message being built
/// would not be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message longer than {MAX_MESSAGE} bytes (as received or as written)")]
    TooLong,
    #[error("NUL byte in the header section")]
    Nul,
    #[error("no empty line ends the header section")]
    NoHeaderEnd,
    #[error("bare CR or LF in the header section")]
    LineEnding,
    #[error("header section is not UTF-8")]
    NotUtf8,
    #[error("malformed request or status line")]
    StartLine,
    #[error("version is not SIP/2.0")]
    Version,
    #[error("Request-URI: {0}")]
    RequestUri(UriError),
    #[error("status code is not 100-699")]
    Status,
    #[error("malformed header line")]
    HeaderLine,
    #[error("folded header line")]
    Folding,
    #[error("control character in a header value or reason phrase")]
    Control,
    #[error("more than {MAX_HEADERS} headers")]
    TooManyHeaders,
    #[error("line longer than {MAX_HEADER_LINE} bytes")]
    LineTooLong,
    #[error("{name}: {error}")]
    Header {
        name: &'static str,
        error: HeaderError,
    },
    #[error("Content-Length malformed or repeated")]
    ContentLength,
    #[error("Content-Length {declared} but the body has {actual} bytes")]
    ContentLengthMismatch { declared: usize, actual: usize },
    #[error("Content-Length missing on a stream")]
    ContentLengthMissing,
    #[error("body longer than {MAX_BODY} bytes")]
    BodyTooLong,
}

/// A request method. Methods are case-sensitive (RFC 3261 §7.1): `register`
/// is an unknown method, not REGISTER.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Register,
    Message,
    Options,
    Ack,
    Invite,
    Bye,
    Cancel,
    /// Any other token.
    Other(String),
}

impl Method {
    /// Reads a method: a known name, or any token.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "REGISTER" => Self::Register,
            "MESSAGE" => Self::Message,
            "OPTIONS" => Self::Options,
            "ACK" => Self::Ack,
            "INVITE" => Self::Invite,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            other if is_token(other) => Self::Other(other.to_owned()),
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Register => "REGISTER",
            Self::Message => "MESSAGE",
            Self::Options => "OPTIONS",
            Self::Ack => "ACK",
            Self::Invite => "INVITE",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Other(m) => m,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request. One that exists is valid: it has every mandatory header, its
/// CSeq method is its method, and it writes to at most [`MAX_MESSAGE`]
/// bytes that read back equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) uri: SipUri,
    pub(crate) headers: Headers,
    pub(crate) body: Vec<u8>,
}

/// A response, valid in the same sense as a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Headers,
    pub(crate) body: Vec<u8>,
}

/// A message read from the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Request {
    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn uri(&self) -> &SipUri {
        &self.uri
    }

    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Adds a header; refused (and the request left unchanged) when the
    /// request would no longer be valid.
    pub fn push_header(&mut self, name: &str, value: &str) -> Result<(), ParseError> {
        let before = self.headers.clone();
        let result = push_header(&mut self.headers, name, value).and_then(|()| self.check());
        if result.is_err() {
            self.headers = before;
        }
        result
    }

    /// Sets the body and its `Content-Type`.
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) -> Result<(), ParseError> {
        let before = self.headers.clone();
        let result = set_content_type(&mut self.headers, content_type).and_then(|()| {
            let old = std::mem::replace(&mut self.body, body);
            let checked = self.check();
            if checked.is_err() {
                self.body = old;
            }
            checked
        });
        if result.is_err() {
            self.headers = before;
        }
        result
    }

    fn start_line(&self) -> String {
        format!("{} {} {SIP_VERSION}", self.method, self.uri)
    }

    pub(crate) fn check(&self) -> Result<(), ParseError> {
        check_common(&self.headers, &self.body)?;
        let cseq = header("CSeq", self.headers.cseq())?;
        if cseq.method != self.method {
            return Err(ParseError::Header {
                name: "CSeq",
                error: HeaderError::MethodMismatch,
            });
        }
        header("Max-Forwards", self.headers.max_forwards())?;
        check_written_len(&self.start_line(), &self.headers, &self.body)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        write(&self.start_line(), &self.headers, &self.body)
    }
}

impl Response {
    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Adds a header (`WWW-Authenticate`, `Contact`, `Expires`, `Date`,
    /// …); refused (and the response left unchanged) when the response
    /// would no longer be valid.
    pub fn push_header(&mut self, name: &str, value: &str) -> Result<(), ParseError> {
        let before = self.headers.clone();
        let result = push_header(&mut self.headers, name, value).and_then(|()| self.check());
        if result.is_err() {
            self.headers = before;
        }
        result
    }

    fn start_line(&self) -> String {
        format!("{SIP_VERSION} {} {}", self.status, self.reason)
    }

    pub(crate) fn check(&self) -> Result<(), ParseError> {
        if !(100..=699).contains(&self.status) {
            return Err(ParseError::Status);
        }
        if !is_text(&self.reason) {
            return Err(ParseError::Control);
        }
        check_common(&self.headers, &self.body)?;
        check_written_len(&self.start_line(), &self.headers, &self.body)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        write(&self.start_line(), &self.headers, &self.body)
    }
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => r.headers(),
            Self::Response(r) => r.headers(),
        }
    }

    pub fn body(&self) -> &[u8] {
        match self {
            Self::Request(r) => r.body(),
            Self::Response(r) => r.body(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Request(r) => r.to_bytes(),
            Self::Response(r) => r.to_bytes(),
        }
    }
}

fn header<T>(name: &'static str, result: Result<T, HeaderError>) -> Result<T, ParseError> {
    result.map_err(|error| ParseError::Header { name, error })
}

fn push_header(headers: &mut Headers, name: &str, value: &str) -> Result<(), ParseError> {
    headers.push(name, value).map_err(|error| match error {
        HeaderError::TooManyHeaders => ParseError::TooManyHeaders,
        HeaderError::LineTooLong => ParseError::LineTooLong,
        HeaderError::Syntax => ParseError::Control,
        _ => ParseError::HeaderLine,
    })
}

fn set_content_type(headers: &mut Headers, content_type: &str) -> Result<(), ParseError> {
    if headers.get("Content-Type").is_some() {
        if !is_text(content_type) {
            return Err(ParseError::Control);
        }
        headers
            .replace_first("Content-Type", content_type.trim_matches(is_ws).to_owned())
            .map_err(|_| ParseError::LineTooLong)
    } else {
        push_header(headers, "Content-Type", content_type)
    }
}

/// What requests and responses must both carry (RFC 3261 §8.1.1): every
/// Via valid (at most [`crate::MAX_VIAS`]), one From with a tag, one To,
/// one Call-ID, one CSeq, and a Content-Type when there is a body.
fn check_common(headers: &Headers, body: &[u8]) -> Result<(), ParseError> {
    let vias = header("Via", headers.vias())?;
    if vias.is_empty() {
        return Err(ParseError::Header {
            name: "Via",
            error: HeaderError::Missing,
        });
    }
    for via in vias {
        header("Via", crate::Via::parse(via))?;
    }
    let from = header("From", headers.from())?;
    if header("From", from.tag())?.is_none() {
        return Err(ParseError::Header {
            name: "From",
            error: HeaderError::MissingParam("tag"),
        });
    }
    let to = header("To", headers.to())?;
    header("To", to.tag())?;
    header("Call-ID", headers.call_id())?;
    header("CSeq", headers.cseq())?;
    let content_type = header("Content-Type", headers.content_type())?;
    if !body.is_empty() && content_type.is_none() {
        return Err(ParseError::Header {
            name: "Content-Type",
            error: HeaderError::Missing,
        });
    }
    if body.len() > MAX_BODY {
        return Err(ParseError::BodyTooLong);
    }
    Ok(())
}

/// The message must fit [`MAX_MESSAGE`] as it will be written, not only as
/// it came: compact names grow when expanded, and a datagram without
/// Content-Length gains one. Checking the written form is what makes every
/// message read also one that writes and reads back.
fn check_written_len(start: &str, headers: &Headers, body: &[u8]) -> Result<(), ParseError> {
    if start.len() > MAX_HEADER_LINE {
        return Err(ParseError::LineTooLong);
    }
    if written_len(start, headers, body) > MAX_MESSAGE {
        return Err(ParseError::TooLong);
    }
    Ok(())
}

fn content_length_line(len: usize) -> String {
    format!("Content-Length: {len}\r\n")
}

fn written_len(start: &str, headers: &Headers, body: &[u8]) -> usize {
    start.len() + 2 + headers.written_len() + content_length_line(body.len()).len() + 2 + body.len()
}

fn write(start: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(written_len(start, headers, body));
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in headers.iter() {
        out.extend_from_slice(h.name().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(content_length_line(body.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Where `needle` first occurs in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one message from a datagram, or from a frame a [`crate::Framer`]
/// cut from a stream.
///
/// Strict, in one pass over at most [`MAX_MESSAGE`] bytes:
///
/// * lines end in CRLF; a bare CR or LF is refused, and so is a folded
///   header line (RFC 3261 §7.3.1 allows folding, but no device folds and
///   refusing it keeps one header to one line);
/// * the header section is UTF-8 without NUL or other controls (HTAB
///   aside), at most [`MAX_HEADERS`] lines (counting the Content-Length
///   line a written message always has) of at most [`MAX_HEADER_LINE`]
///   bytes;
/// * when `Content-Length` is present it must equal the body's length
///   exactly. RFC 3261 §18.3 lets a datagram carry bytes past the declared
///   length, to be dropped; they are refused here, since a sender whose
///   count is wrong is more likely broken than padded. Without
///   `Content-Length` the body is the rest of the datagram;
/// * the body is at most [`MAX_BODY`] bytes and has a `Content-Type`;
/// * the mandatory headers are present and valid (see [`Request`]).
pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
    if bytes.len() > MAX_MESSAGE {
        return Err(ParseError::TooLong);
    }
    let head_end = find(bytes, b"\r\n\r\n").ok_or(ParseError::NoHeaderEnd)?;
    let (head, body) = bytes
        .split_at_checked(head_end)
        .ok_or(ParseError::NoHeaderEnd)?;
    let body = body.get(4..).unwrap_or_default();
    if head.contains(&0) {
        return Err(ParseError::Nul);
    }
    let head = std::str::from_utf8(head).map_err(|_| ParseError::NotUtf8)?;
    let mut lines = head.split("\r\n");
    let start = parse_start_line(lines.next().unwrap_or_default())?;
    let mut headers = Headers::default();
    let mut content_length = None;
    for (count, line) in lines.enumerate() {
        if count >= MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
        let (name, value) = parse_header_line(line)?;
        let name = canonical_name(name);
        if name == "Content-Length" {
            let declared = value.parse::<usize>().ok().filter(|_| {
                !value.is_empty() && value.len() <= 5 && value.bytes().all(|b| b.is_ascii_digit())
            });
            if content_length.is_some() || declared.is_none() {
                return Err(ParseError::ContentLength);
            }
            content_length = declared;
        } else {
            headers
                .push_unchecked_text(name, value.to_owned())
                .map_err(|e| match e {
                    HeaderError::TooManyHeaders => ParseError::TooManyHeaders,
                    _ => ParseError::LineTooLong,
                })?;
        }
    }
    if let Some(declared) = content_length
        && declared != body.len()
    {
        return Err(ParseError::ContentLengthMismatch {
            declared,
            actual: body.len(),
        });
    }
    if body.len() > MAX_BODY {
        return Err(ParseError::BodyTooLong);
    }
    let body = body.to_vec();
    match start {
        StartLine::Request(method, uri) => {
            let request = Request {
                method,
                uri,
                headers,
                body,
            };
            request.check()?;
            Ok(Message::Request(request))
        }
        StartLine::Response(status, reason) => {
            let response = Response {
                status,
                reason: reason.to_owned(),
                headers,
                body,
            };
            response.check()?;
            Ok(Message::Response(response))
        }
    }
}

enum StartLine<'a> {
    Request(Method, SipUri),
    Response(u16, &'a str),
}

/// `Method SP Request-URI SP SIP/2.0` or `SIP/2.0 SP code SP reason`, with
/// single spaces.
fn parse_start_line(line: &str) -> Result<StartLine<'_>, ParseError> {
    if line.len() > MAX_HEADER_LINE {
        return Err(ParseError::LineTooLong);
    }
    if line.contains(['\r', '\n']) {
        return Err(ParseError::LineEnding);
    }
    if let Some(rest) = line.strip_prefix("SIP/") {
        let (version, rest) = rest.split_once(' ').ok_or(ParseError::StartLine)?;
        if version != "2.0" {
            return Err(ParseError::Version);
        }
        let (code, reason) = rest.split_once(' ').ok_or(ParseError::StartLine)?;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::Status);
        }
        let status = code.parse().map_err(|_| ParseError::Status)?;
        return Ok(StartLine::Response(status, reason));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::StartLine);
    };
    if version != SIP_VERSION {
        return Err(ParseError::Version);
    }
    Ok(StartLine::Request(
        Method::parse(method).ok_or(ParseError::StartLine)?,
        SipUri::parse(uri).map_err(ParseError::RequestUri)?,
    ))
}

/// Splits `name: value`, checking the line's length, that it is not a
/// continuation, that the name is a token and the value plain text.
fn parse_header_line(line: &str) -> Result<(&str, &str), ParseError> {
    if line.len() > MAX_HEADER_LINE {
        return Err(ParseError::LineTooLong);
    }
    if line.contains(['\r', '\n']) {
        return Err(ParseError::LineEnding);
    }
    if line.starts_with(is_ws) {
        return Err(ParseError::Folding);
    }
    let (name, value) = line.split_once(':').ok_or(ParseError::HeaderLine)?;
    let name = name.trim_end_matches(is_ws);
    if !is_token(name) {
        return Err(ParseError::HeaderLine);
    }
    let value = value.trim_matches(is_ws);
    if !is_text(value) {
        return Err(ParseError::Control);
    }
    Ok((name, value))
}
