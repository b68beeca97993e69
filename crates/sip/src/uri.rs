//! SIP and SIPS URIs (RFC 3261 §19.1), read strictly: no password, no
//! URI headers (`?…`), a host that is a valid name or address, a port in
//! 1–65535, at most [`MAX_PARAMS`] parameters, at most [`MAX_URI`] bytes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::{MAX_HOST, MAX_PARAMS, MAX_URI};

/// Why a URI was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("URI longer than {MAX_URI} bytes")]
    TooLong,
    #[error("scheme is not sip or sips")]
    Scheme,
    #[error("invalid user part")]
    User,
    #[error("password in URI")]
    Password,
    #[error("invalid host")]
    Host,
    #[error("invalid port")]
    Port,
    #[error("invalid URI parameter")]
    Param,
    #[error("more than {MAX_PARAMS} URI parameters, or one repeated")]
    TooManyParams,
    #[error("URI headers (`?`) are not accepted")]
    Headers,
}

/// A host: a domain name, an IPv4 address or an IPv6 address (written in
/// brackets in a URI).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name as written (RFC 3261 `hostname`); compare it with
    /// [`Host::eq_ignore_case`].
    Domain(String),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Reads a host as it appears in a URI or a Via's sent-by.
    pub fn parse(s: &str) -> Result<Self, UriError> {
        if let Some(inner) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            return Ipv6Addr::from_str(inner)
                .map(Self::Ipv6)
                .map_err(|_| UriError::Host);
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Ipv4Addr::from_str(s)
                .map(Self::Ipv4)
                .map_err(|_| UriError::Host);
        }
        let name = s.strip_suffix('.').unwrap_or(s);
        let labels_ok = name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        // The last label starts with a letter: that is what tells a name
        // from an address.
        let top_ok = name
            .rsplit('.')
            .next()
            .and_then(|top| top.bytes().next())
            .is_some_and(|b| b.is_ascii_alphabetic());
        if s.len() > MAX_HOST || !labels_ok || !top_ok {
            return Err(UriError::Host);
        }
        Ok(Self::Domain(s.to_owned()))
    }

    /// The address, for an IP host.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Domain(_) => None,
            Self::Ipv4(a) => Some(IpAddr::V4(*a)),
            Self::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// Equality as RFC 3261 §19.1.4 has it: host names without regard to
    /// case.
    pub fn eq_ignore_case(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Domain(a), Self::Domain(b)) => a.eq_ignore_ascii_case(b),
            _ => self == other,
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Self::Ipv4(a),
            IpAddr::V6(a) => Self::Ipv6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => f.write_str(d),
            Self::Ipv4(a) => write!(f, "{a}"),
            Self::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A `sip:` or `sips:` URI. It keeps its text exactly as written, since a
/// Digest `uri` is compared with the Request-URI as text, and a URI written
/// back must be the one received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    text: String,
    secure: bool,
    user: Option<String>,
    host: Host,
    port: Option<u16>,
    params: Vec<(String, Option<String>)>,
}

/// Characters of a URI's user part besides alphanumerics and escapes
/// (`mark` and `user-unreserved`).
const USER_CHARS: &[u8] = b"-_.!~*'()&=+$,;?/";
/// Characters of a URI parameter besides alphanumerics and escapes
/// (`mark` and `param-unreserved`).
const PARAM_CHARS: &[u8] = b"-_.!~*'()[]/:&+$";

/// Whether `s` is non-empty and made of alphanumerics, `extra` and valid
/// `%HH` escapes.
fn is_escaped_text(s: &str, extra: &[u8]) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex_pair = bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !hex_pair {
                return false;
            }
            i += 3;
        } else if b.is_ascii_alphanumeric() || extra.contains(&b) {
            i += 1;
        } else {
            return false;
        }
    }
    !s.is_empty()
}

impl SipUri {
    /// Reads a SIP or SIPS URI.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        if text.len() > MAX_URI {
            return Err(UriError::TooLong);
        }
        let (scheme, rest) = text.split_once(':').ok_or(UriError::Scheme)?;
        let secure = if scheme.eq_ignore_ascii_case("sip") {
            false
        } else if scheme.eq_ignore_ascii_case("sips") {
            true
        } else {
            return Err(UriError::Scheme);
        };
        let (user, rest) = match rest.split_once('@') {
            Some((user, rest)) => {
                if user.contains(':') {
                    return Err(UriError::Password);
                }
                if !is_escaped_text(user, USER_CHARS) {
                    return Err(UriError::User);
                }
                (Some(user.to_owned()), rest)
            }
            None => (None, rest),
        };
        if rest.contains('?') {
            return Err(UriError::Headers);
        }
        let (hostport, params_text) = rest.split_once(';').unwrap_or((rest, ""));
        let (host, port) = split_host_port(hostport).ok_or(UriError::Host)?;
        let host = Host::parse(host)?;
        let port = port.map(parse_port).transpose()?;
        let mut params: Vec<(String, Option<String>)> = Vec::new();
        if !params_text.is_empty() || rest.ends_with(';') {
            for param in params_text.split(';') {
                let (name, value) = match param.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (param, None),
                };
                let value_ok = value.is_none_or(|v| is_escaped_text(v, PARAM_CHARS));
                if !is_escaped_text(name, PARAM_CHARS) || !value_ok {
                    return Err(UriError::Param);
                }
                if params.len() >= MAX_PARAMS
                    || params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
                {
                    return Err(UriError::TooManyParams);
                }
                params.push((name.to_owned(), value.map(str::to_owned)));
            }
        }
        Ok(Self {
            text: text.to_owned(),
            secure,
            user,
            host,
            port,
            params,
        })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the scheme is `sips`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The user part, as written (escapes kept).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The URI parameter `name` (any case): `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits `host[:port]`, the host of an IPv6 address keeping its brackets.
pub(crate) fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if s.starts_with('[') {
        let end = s.find(']')? + 1;
        let (host, rest) = s.split_at_checked(end)?;
        match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        }
    } else {
        match s.split_once(':') {
            Some((host, port)) => Some((host, Some(port))),
            None => Some((s, None)),
        }
    }
}

/// A port: one to five digits, 1–65535.
pub(crate) fn parse_port(s: &str) -> Result<u16, UriError> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::Port);
    }
    match s.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(UriError::Port),
    }
}

impl FromStr for SipUri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            Host::parse("Alarm.Example.SE."),
            Ok(Host::Domain("Alarm.Example.SE.".into()))
        );
        assert!(Host::Domain("A.se".into()).eq_ignore_case(&Host::Domain("a.SE".into())));
        assert_eq!(Host::parse("[::1]"), Ok(Host::Ipv6(Ipv6Addr::LOCALHOST)));
        assert_eq!(
            Host::parse("127.0.0.1"),
            Ok(Host::Ipv4(Ipv4Addr::LOCALHOST))
        );
        for bad in [
            "",
            ".",
            "a..b",
            "-a",
            "a-",
            "1.2.3",
            "01.2.3.4",
            "1.2.3.4.5",
            "a.1se",
            "::1",
            "[::1",
            "[1.2.3.4]",
            "a_b",
            "ä.se",
        ] {
            assert_eq!(Host::parse(bad), Err(UriError::Host), "{bad}");
        }
        assert_eq!(
            Host::from(IpAddr::V6(Ipv6Addr::LOCALHOST)).to_string(),
            "[::1]"
        );
    }

    #[test]
    fn uris_keep_their_text() {
        let uri = SipUri::parse("SIP:Alice%20B@Example.se:5060;Transport=TCP;lr").unwrap();
        assert_eq!(
            uri.to_string(),
            "SIP:Alice%20B@Example.se:5060;Transport=TCP;lr"
        );
        assert_eq!(uri.user(), Some("Alice%20B"));
        assert_eq!(uri.port(), Some(5060));
        assert_eq!(uri.param("transport"), Some(Some("TCP")));
        assert_eq!(uri.param("lr"), Some(None));
        assert!(!uri.is_secure());
        // The user part may hold `;` and `?` (RFC 3261 user-unreserved).
        let uri = SipUri::parse("sip:a;b?c@h.se").unwrap();
        assert_eq!(uri.user(), Some("a;b?c"));
        for (bad, error) in [
            ("sip:", UriError::Host),
            ("sip:@h.se", UriError::User),
            ("sip:a b@h.se", UriError::User),
            ("sip:h.se:", UriError::Port),
            ("sip:h.se:080000", UriError::Port),
            ("sip:h.se;a=b=c", UriError::Param),
            ("sip:h.se;a=%g0", UriError::Param),
            ("sip:h.se;a?b", UriError::Headers),
            ("sip:[::1]x", UriError::Host),
            ("tel:123", UriError::Scheme),
            ("sip", UriError::Scheme),
        ] {
            assert_eq!(SipUri::parse(bad), Err(error), "{bad}");
        }
    }
}
