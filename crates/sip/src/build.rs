//! Writing messages: the response to a request (RFC 3261 §8.2.6) and a
//! request of this side's own (§8.1.1), each checked as the reader would
//! check it, so what is written reads back equal.

use std::net::SocketAddr;

use crate::header::{HeaderError, Headers, NameAddr, Via};
use crate::message::{Method, ParseError, Request, Response};
use crate::text::split_list;
use crate::uri::SipUri;

/// The Max-Forwards of a request this side sends (RFC 3261 §8.1.1.6).
pub const MAX_FORWARDS: u8 = 70;

fn header_error(name: &'static str) -> impl Fn(HeaderError) -> ParseError {
    move |error| ParseError::Header { name, error }
}

impl Response {
    /// The response to `request`: its Via headers, From, To, Call-ID and
    /// CSeq copied, and nothing else; the caller adds what the status needs
    /// with [`Response::push_header`] (`WWW-Authenticate`, `Contact` with
    /// `expires`, `Expires`, `Date`, …).
    ///
    /// * `source`, the address the request came from, marks the top Via
    ///   with `received` and fills its `rport` (RFC 3261 §18.2.1, RFC 3581
    ///   §4), so the response can follow the request back through NAT.
    /// * `to_tag` is added to `To` for a final response (200–699) when the
    ///   request's `To` has no tag (§8.2.6.2). The caller makes it (at
    ///   least 32 random bits, §19.3): the crate has no random source.
    pub fn for_request(
        request: &Request,
        status: u16,
        reason: &str,
        source: Option<SocketAddr>,
        to_tag: &str,
    ) -> Result<Self, ParseError> {
        let from = request.headers.one("From").map_err(header_error("From"))?;
        let call_id = request
            .headers
            .one("Call-ID")
            .map_err(header_error("Call-ID"))?;
        let cseq = request.headers.one("CSeq").map_err(header_error("CSeq"))?;
        let mut to = request
            .headers
            .one("To")
            .map_err(header_error("To"))?
            .to_owned();
        let to_addr = request.headers.to().map_err(header_error("To"))?;
        if status >= 200 && to_addr.tag().map_err(header_error("To"))?.is_none() {
            to = to_addr
                .with_param("tag", Some(to_tag))
                .map_err(header_error("To"))?
                .to_string();
        }
        let mut headers = Headers::default();
        let mut vias = request.headers.get_all("Via");
        if let Some(top) = vias.next() {
            headers
                .push_unchecked_text("Via".to_owned(), stamp_top_via(top, source)?)
                .map_err(header_error("Via"))?;
        }
        for (name, value) in vias.map(|v| ("Via", v.to_owned())).chain([
            ("From", from.to_owned()),
            ("To", to),
            ("Call-ID", call_id.to_owned()),
            ("CSeq", cseq.to_owned()),
        ]) {
            headers
                .push_unchecked_text(name.to_owned(), value)
                .map_err(header_error(name))?;
        }
        let response = Self {
            status,
            reason: reason.to_owned(),
            headers,
            body: Vec::new(),
        };
        response.check()?;
        Ok(response)
    }
}

/// The first Via header's value with its first Via value stamped with the
/// source address; the other values of that header are kept as written.
fn stamp_top_via(value: &str, source: Option<SocketAddr>) -> Result<String, ParseError> {
    let Some(source) = source else {
        return Ok(value.to_owned());
    };
    let values = split_list(value).map_err(header_error("Via"))?;
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        if i == 0 {
            let mut via = Via::parse(v).map_err(header_error("Via"))?;
            via.stamp_source(source.ip(), source.port())
                .map_err(header_error("Via"))?;
            out.push(via.to_string());
        } else {
            out.push(v.to_owned());
        }
    }
    Ok(out.join(", "))
}

/// What a request this side sends is made of. The `From` must carry a tag
/// and the Via a branch with the magic cookie; the caller makes both (and
/// the Call-ID) from its own random source.
#[derive(Clone, Debug)]
pub struct NewRequest<'a> {
    pub method: Method,
    pub uri: SipUri,
    pub via: Via,
    pub from: NameAddr,
    pub to: NameAddr,
    pub call_id: &'a str,
    pub cseq: u32,
}

impl Request {
    /// A request with Via, Max-Forwards 70, From, To, Call-ID and CSeq, and
    /// no body; add a body with [`Request::set_body`] and other headers with
    /// [`Request::push_header`].
    pub fn new(parts: NewRequest<'_>) -> Result<Self, ParseError> {
        let mut headers = Headers::default();
        for (name, value) in [
            ("Via", parts.via.to_string()),
            ("Max-Forwards", MAX_FORWARDS.to_string()),
            ("From", parts.from.to_string()),
            ("To", parts.to.to_string()),
            ("Call-ID", parts.call_id.to_owned()),
            ("CSeq", format!("{} {}", parts.cseq, parts.method)),
        ] {
            headers.push(name, &value).map_err(header_error(name))?;
        }
        let request = Self {
            method: parts.method,
            uri: parts.uri,
            headers,
            body: Vec::new(),
        };
        request.check()?;
        Ok(request)
    }
}
