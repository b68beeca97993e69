//! Header fields: the list a message carries, and the typed values read
//! from it on demand (RFC 3261 §20). A typed accessor reads the text each
//! time it is called and returns an error for text that breaks the grammar;
//! nothing is cached, so a header changed through the writing API is read
//! as it now is.

use std::fmt;
use std::net::IpAddr;

use crate::digest::Authorization;
use crate::text::{Params, is_text, is_token, is_ws, quote, split_list, unquote};
use crate::uri::{Host, SipUri, UriError, parse_port, split_host_port};
use crate::{MAGIC_COOKIE, MAX_HEADER_LINE, MAX_HEADERS, MAX_VIAS, Method};

/// Why a header's value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("missing")]
    Missing,
    #[error("present more than once")]
    Repeated,
    #[error("does not follow the grammar")]
    Syntax,
    #[error("URI: {0}")]
    Uri(#[from] UriError),
    #[error("transport is not UDP, TCP or TLS")]
    Transport,
    #[error("branch missing or without the z9hG4bK magic cookie")]
    Branch,
    #[error("number out of range")]
    OutOfRange,
    #[error("CSeq method differs from the request method")]
    MethodMismatch,
    #[error("more than one contact")]
    MultipleContacts,
    #[error("more than {MAX_VIAS} Via values")]
    TooManyVias,
    #[error("a parameter is repeated")]
    RepeatedParam,
    #[error("too many parameters")]
    TooManyParams,
    #[error("missing parameter `{0}`")]
    MissingParam(&'static str),
    #[error("unsupported {0}")]
    Unsupported(&'static str),
    #[error("header name is not a token")]
    Name,
    #[error("more than {MAX_HEADERS} headers")]
    TooManyHeaders,
    #[error("header line longer than {MAX_HEADER_LINE} bytes")]
    LineTooLong,
}

/// The compact forms RFC 3261 §7.3.3 and RFC 3841 define, and the long
/// forms they expand to.
const COMPACT: [(&str, &str); 10] = [
    ("v", "Via"),
    ("f", "From"),
    ("t", "To"),
    ("i", "Call-ID"),
    ("m", "Contact"),
    ("l", "Content-Length"),
    ("c", "Content-Type"),
    ("k", "Supported"),
    ("s", "Subject"),
    ("e", "Content-Encoding"),
];

/// Header names written in their usual case whatever case they came in, so
/// messages read the same however a peer spells them.
const CANONICAL: [&str; 27] = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Content-Length",
    "Content-Type",
    "Content-Encoding",
    "Supported",
    "Subject",
    "Max-Forwards",
    "Expires",
    "Min-Expires",
    "Authorization",
    "WWW-Authenticate",
    "Proxy-Authorization",
    "Proxy-Authenticate",
    "User-Agent",
    "Server",
    "Allow",
    "Accept",
    "Date",
    "Require",
    "Unsupported",
    "Route",
    "Record-Route",
];

/// The long form of a compact name; any other name as it is.
fn long_form(name: &str) -> &str {
    COMPACT
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(name))
        .map_or(name, |(_, long)| long)
}

/// The name a header is kept under: compact forms expanded, known names in
/// their usual case, other names as written.
pub(crate) fn canonical_name(name: &str) -> String {
    let name = long_form(name);
    CANONICAL
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .map_or(name, |known| known)
        .to_owned()
}

/// One header field: its name (see [`Headers`]) and its value without the
/// surrounding whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    name: String,
    value: String,
}

impl Header {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The bytes `Name: value\r\n` takes when written.
    pub(crate) fn written_len(&self) -> usize {
        self.line_len() + 2
    }

    /// The length of the line `Name: value`, without its CRLF, which is
    /// what [`MAX_HEADER_LINE`] bounds.
    pub(crate) fn line_len(&self) -> usize {
        self.name.len() + 2 + self.value.len()
    }
}

/// The header fields of a message, in order. Names are kept in their long
/// form (compact forms expanded) and looked up without regard to case.
/// `Content-Length` is never kept: it is the body's length, written by
/// `to_bytes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// Adds a header at the end, after checking what the reader checks: the
    /// name is a token (and not `Content-Length`), the value holds no
    /// control character, the line fits [`MAX_HEADER_LINE`] and the count
    /// [`MAX_HEADERS`] (counting the Content-Length line).
    pub fn push(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        if !is_token(name) || canonical_name(name) == "Content-Length" {
            return Err(HeaderError::Name);
        }
        let value = value.trim_matches(is_ws);
        if !is_text(value) {
            return Err(HeaderError::Syntax);
        }
        self.push_unchecked_text(canonical_name(name), value.to_owned())
    }

    /// Adds a header whose name and value are already valid text.
    pub(crate) fn push_unchecked_text(
        &mut self,
        name: String,
        value: String,
    ) -> Result<(), HeaderError> {
        let header = Header { name, value };
        if header.line_len() > MAX_HEADER_LINE {
            return Err(HeaderError::LineTooLong);
        }
        // One line is kept for the Content-Length every written message
        // carries.
        if self.0.len() >= MAX_HEADERS - 1 {
            return Err(HeaderError::TooManyHeaders);
        }
        self.0.push(header);
        Ok(())
    }

    /// Replaces the value of the first header named `name`.
    pub(crate) fn replace_first(&mut self, name: &str, value: String) -> Result<(), HeaderError> {
        let header = self
            .0
            .iter_mut()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .ok_or(HeaderError::Missing)?;
        if header.name.len() + 2 + value.len() > MAX_HEADER_LINE {
            return Err(HeaderError::LineTooLong);
        }
        header.value = value;
        Ok(())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values of every header named `name` (any case, long or compact
    /// form).
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        let name = long_form(name);
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The value of the first header named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// The value of the one header named `name`: an error when it is
    /// missing or present more than once.
    pub fn one(&self, name: &str) -> Result<&str, HeaderError> {
        let mut values = self.get_all(name);
        let first = values.next().ok_or(HeaderError::Missing)?;
        match values.next() {
            Some(_) => Err(HeaderError::Repeated),
            None => Ok(first),
        }
    }

    /// The value of `name` if present once, `None` if absent.
    fn optional(&self, name: &str) -> Result<Option<&str>, HeaderError> {
        match self.one(name) {
            Ok(v) => Ok(Some(v)),
            Err(HeaderError::Missing) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The bytes the headers take when written.
    pub(crate) fn written_len(&self) -> usize {
        self.0.iter().map(Header::written_len).sum()
    }

    /// Every Via value, in order, across all Via headers (at most
    /// [`MAX_VIAS`]).
    pub fn vias(&self) -> Result<Vec<&str>, HeaderError> {
        let mut all = Vec::new();
        for value in self.get_all("Via") {
            all.extend(split_list(value)?);
            if all.len() > MAX_VIAS {
                return Err(HeaderError::TooManyVias);
            }
        }
        Ok(all)
    }

    /// The top Via: the one the previous hop added and the response goes
    /// back to.
    pub fn via(&self) -> Result<Via, HeaderError> {
        Via::parse(self.vias()?.first().ok_or(HeaderError::Missing)?)
    }

    pub fn from(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.one("From")?)
    }

    pub fn to(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.one("To")?)
    }

    /// `Call-ID`: `word [ "@" word ]`.
    pub fn call_id(&self) -> Result<&str, HeaderError> {
        let value = self.one("Call-ID")?;
        let is_word = |w: &str| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~()<>:\\\"/[]?{}".contains(&b))
        };
        let ok = match value.split_once('@') {
            Some((a, b)) => is_word(a) && is_word(b),
            None => is_word(value),
        };
        if ok {
            Ok(value)
        } else {
            Err(HeaderError::Syntax)
        }
    }

    pub fn cseq(&self) -> Result<CSeq, HeaderError> {
        CSeq::parse(self.one("CSeq")?)
    }

    /// The single `Contact` (a REGISTER names one binding; several are
    /// refused), or `None` when absent.
    pub fn contact(&self) -> Result<Option<Contact>, HeaderError> {
        let Some(value) = self.optional("Contact")? else {
            return Ok(None);
        };
        match split_list(value)?.as_slice() {
            [one] => Contact::parse(one).map(Some),
            _ => Err(HeaderError::MultipleContacts),
        }
    }

    /// `Expires`: delta-seconds.
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        self.optional("Expires")?.map(parse_u32).transpose()
    }

    /// `Max-Forwards`: 0–255.
    pub fn max_forwards(&self) -> Result<u8, HeaderError> {
        let value = self.one("Max-Forwards")?;
        if value.is_empty() || value.len() > 3 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HeaderError::Syntax);
        }
        value.parse().map_err(|_| HeaderError::OutOfRange)
    }

    pub fn content_type(&self) -> Result<Option<ContentType>, HeaderError> {
        self.optional("Content-Type")?
            .map(ContentType::parse)
            .transpose()
    }

    /// The one `Authorization` header, if any (Digest only).
    pub fn authorization(&self) -> Result<Option<Authorization>, HeaderError> {
        self.optional("Authorization")?
            .map(Authorization::parse)
            .transpose()
    }

    /// Every `WWW-Authenticate` challenge, in order.
    pub fn www_authenticate(&self) -> Result<Vec<crate::Challenge>, HeaderError> {
        self.get_all("WWW-Authenticate")
            .map(crate::Challenge::parse)
            .collect()
    }
}

/// Reads a number of at most ten digits that fits in 32 bits.
pub(crate) fn parse_u32(s: &str) -> Result<u32, HeaderError> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeaderError::Syntax);
    }
    s.parse().map_err(|_| HeaderError::OutOfRange)
}

/// The transports a Via may name. SCTP and WebSocket are refused: no
/// safety alarm uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    /// Whether the transport delivers reliably, so nothing is retransmitted
    /// and no transaction outlives its final response (RFC 3261 §17).
    pub fn is_reliable(self) -> bool {
        self != Self::Udp
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
        }
    }
}

/// One Via value: `SIP/2.0/UDP host[:port];branch=z9hG4bK…;rport;received=…`.
/// A Via that reads has a `branch` with the RFC 3261 magic cookie; `rport`
/// and `received`, when present, are valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    transport: Transport,
    host: Host,
    port: Option<u16>,
    params: Params,
}

impl Via {
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let rest = value.strip_prefix("SIP/2.0/").ok_or(HeaderError::Syntax)?;
        let (transport, rest) = rest.split_once(is_ws).ok_or(HeaderError::Syntax)?;
        let transport = match transport.to_ascii_uppercase().as_str() {
            "UDP" => Transport::Udp,
            "TCP" => Transport::Tcp,
            "TLS" => Transport::Tls,
            _ => return Err(HeaderError::Transport),
        };
        let rest = rest.trim_start_matches(is_ws);
        let end = rest.find(|c| c == ';' || is_ws(c)).unwrap_or(rest.len());
        let (sent_by, params) = rest.split_at_checked(end).ok_or(HeaderError::Syntax)?;
        let (host, port) = split_host_port(sent_by).ok_or(HeaderError::Syntax)?;
        let via = Self {
            transport,
            host: Host::parse(host)?,
            port: port.map(parse_port).transpose()?,
            params: Params::parse(params)?,
        };
        via.check()?;
        Ok(via)
    }

    /// A Via for a request this side sends.
    pub fn new(
        transport: Transport,
        host: Host,
        port: Option<u16>,
        branch: &str,
    ) -> Result<Self, HeaderError> {
        // A `Host` made by the caller is checked as the reader would.
        Host::parse(&host.to_string())?;
        let mut params = Params::default();
        params.set("branch", Some(branch))?;
        let via = Self {
            transport,
            host,
            port,
            params,
        };
        via.check()?;
        Ok(via)
    }

    fn check(&self) -> Result<(), HeaderError> {
        let branch_ok = self
            .params
            .get("branch")
            .flatten()
            .and_then(|b| b.strip_prefix(MAGIC_COOKIE))
            .is_some_and(is_token);
        if !branch_ok {
            return Err(HeaderError::Branch);
        }
        if let Some(Some(port)) = self.params.get("rport") {
            parse_port(port)?;
        }
        if let Some(received) = self.params.get("received") {
            received
                .and_then(|r| r.parse::<IpAddr>().ok())
                .ok_or(HeaderError::Syntax)?;
        }
        Ok(())
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The branch, magic cookie included.
    pub fn branch(&self) -> &str {
        self.params.get("branch").flatten().unwrap_or_default()
    }

    /// `rport`: `Some(None)` when the sender asks for it (RFC 3581),
    /// `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|p| p.and_then(|p| parse_port(p).ok()))
    }

    pub fn received(&self) -> Option<IpAddr> {
        self.params.get("received").flatten()?.parse().ok()
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Marks the Via with the address the request came from: `received`
    /// when the sent-by host is not that address or `rport` is asked for
    /// (RFC 3261 §18.2.1, RFC 3581 §4), and the port in `rport` when asked
    /// for.
    pub fn stamp_source(&mut self, ip: IpAddr, port: u16) -> Result<(), HeaderError> {
        let wants_rport = self.params.get("rport").is_some();
        if wants_rport || self.host.ip() != Some(ip) {
            self.params.set("received", Some(&ip.to_string()))?;
        }
        if wants_rport {
            self.params.set("rport", Some(&port.to_string()))?;
        }
        Ok(())
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport.as_str(), self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// A `From`, `To` or `Contact` address: an optional display name, a SIP
/// URI and the header's parameters (`tag`, `expires`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    display: Option<String>,
    uri: SipUri,
    params: Params,
}

impl NameAddr {
    /// Reads `"Name" <uri>;params`, `Name <uri>;params` or the addr-spec
    /// form `uri;params`, where (RFC 3261 §20.10) every parameter belongs
    /// to the header.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let (display, rest) = if value.starts_with('"') {
            let (display, rest) = unquote(value).ok_or(HeaderError::Syntax)?;
            (Some(display), rest.trim_start_matches(is_ws))
        } else if let Some(open) = value.find('<') {
            let (display, rest) = value.split_at_checked(open).ok_or(HeaderError::Syntax)?;
            let display = display.trim_matches(is_ws);
            let words_ok = display.split(is_ws).all(|w| w.is_empty() || is_token(w));
            if !words_ok {
                return Err(HeaderError::Syntax);
            }
            ((!display.is_empty()).then(|| display.to_owned()), rest)
        } else {
            let end = value.find(';').unwrap_or(value.len());
            let (uri, params) = value.split_at_checked(end).ok_or(HeaderError::Syntax)?;
            if uri.contains([',', '?', ' ', '\t']) {
                return Err(HeaderError::Syntax);
            }
            return Ok(Self {
                display: None,
                uri: SipUri::parse(uri)?,
                params: Params::parse(params)?,
            });
        };
        let inner = rest.strip_prefix('<').ok_or(HeaderError::Syntax)?;
        let (uri, params) = inner.split_once('>').ok_or(HeaderError::Syntax)?;
        Ok(Self {
            display,
            uri: SipUri::parse(uri)?,
            params: Params::parse(params)?,
        })
    }

    /// An address without display name or parameters.
    pub fn new(uri: SipUri) -> Self {
        Self {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    /// Sets a parameter (a token name, a token or host value).
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Result<Self, HeaderError> {
        self.params.set(name, value)?;
        Ok(self)
    }

    pub fn display_name(&self) -> Option<&str> {
        self.display.as_deref()
    }

    pub fn uri(&self) -> &SipUri {
        &self.uri
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The `tag` parameter (RFC 3261 §19.3), which must be a token.
    pub fn tag(&self) -> Result<Option<&str>, HeaderError> {
        match self.params.get("tag") {
            None => Ok(None),
            Some(Some(tag)) if is_token(tag) => Ok(Some(tag)),
            Some(_) => Err(HeaderError::Syntax),
        }
    }

    /// The `expires` parameter of a Contact.
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        match self.params.get("expires") {
            None => Ok(None),
            Some(Some(v)) => parse_u32(v).map(Some),
            Some(None) => Err(HeaderError::Syntax),
        }
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(display) = &self.display {
            write!(f, "{} ", quote(display))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// A REGISTER's `Contact`: one binding, or `*` to remove them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contact {
    Wildcard,
    Address(NameAddr),
}

impl Contact {
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        if value == "*" {
            return Ok(Self::Wildcard);
        }
        let address = NameAddr::parse(value)?;
        address.expires()?;
        Ok(Self::Address(address))
    }
}

/// `CSeq`: a sequence number below 2^31 and a method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

/// The largest CSeq number (RFC 3261 §8.1.1.5: less than 2^31).
pub const MAX_CSEQ: u32 = (1 << 31) - 1;

impl CSeq {
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let (seq, method) = value.split_once(is_ws).ok_or(HeaderError::Syntax)?;
        let seq = parse_u32(seq)?;
        if seq > MAX_CSEQ {
            return Err(HeaderError::OutOfRange);
        }
        let method = Method::parse(method.trim_start_matches(is_ws)).ok_or(HeaderError::Syntax)?;
        Ok(Self { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// `Content-Type`: a media type, kept in lower case, and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    media_type: String,
    params: Params,
}

impl ContentType {
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let end = value.find(|c| c == ';' || is_ws(c)).unwrap_or(value.len());
        let (media_type, params) = value.split_at_checked(end).ok_or(HeaderError::Syntax)?;
        let (kind, sub) = media_type.split_once('/').ok_or(HeaderError::Syntax)?;
        if !is_token(kind) || !is_token(sub) {
            return Err(HeaderError::Syntax);
        }
        Ok(Self {
            media_type: media_type.to_ascii_lowercase(),
            params: Params::parse(params)?,
        })
    }

    /// `type/subtype`, in lower case.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// Whether the media type is `media_type` (any case).
    pub fn is(&self, media_type: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type)
    }

    pub fn params(&self) -> &Params {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_long_and_in_their_usual_case() {
        for (given, kept) in [
            ("v", "Via"),
            ("I", "Call-ID"),
            ("call-id", "Call-ID"),
            ("CSEQ", "CSeq"),
            ("www-authenticate", "WWW-Authenticate"),
            ("e", "Content-Encoding"),
            ("X-Custom", "X-Custom"),
            ("x", "x"),
        ] {
            assert_eq!(canonical_name(given), kept);
        }
    }

    #[test]
    fn name_addr_forms() {
        let plain = NameAddr::parse("sip:a@h.se;tag=1;x").unwrap();
        assert_eq!(plain.uri().param("tag"), None);
        assert_eq!(plain.tag(), Ok(Some("1")));
        assert_eq!(plain.to_string(), "<sip:a@h.se>;tag=1;x");
        let named = NameAddr::parse("Anna  Berg <sip:a@h.se;lr>;tag=2").unwrap();
        assert_eq!(named.display_name(), Some("Anna  Berg"));
        assert_eq!(named.uri().param("lr"), Some(None));
        assert_eq!(named.to_string(), "\"Anna  Berg\" <sip:a@h.se;lr>;tag=2");
        let quoted = NameAddr::parse("\"\" <sip:a@h.se>").unwrap();
        assert_eq!(quoted.display_name(), Some(""));
        for bad in [
            "<sip:a@h.se",
            "\"x\" sip:a@h.se",
            "sip:a@h.se x",
            "<sip:a@h.se> x",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn via_stamping() {
        let mut via = Via::parse("SIP/2.0/udp h.se;branch=z9hG4bKa;rport").unwrap();
        via.stamp_source("192.0.2.1".parse().unwrap(), 4000)
            .unwrap();
        assert_eq!(
            via.to_string(),
            "SIP/2.0/UDP h.se;branch=z9hG4bKa;rport=4000;received=192.0.2.1"
        );
        assert_eq!(Via::parse(&via.to_string()), Ok(via));
    }
}
