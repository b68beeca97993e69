//! Every rule of the reader, each broken once in an otherwise valid
//! REGISTER, and the error it gives.

use trygg_sip::{HeaderError, ParseError, UriError, parse};

use crate::{REGISTER, accept_request, reject, sip};

/// REGISTER with line `i` replaced (or removed when `line` is `None`).
fn register_with(i: usize, line: Option<&str>) -> Vec<u8> {
    let mut lines = REGISTER.to_vec();
    match line {
        Some(line) => lines[i] = line,
        None => {
            lines.remove(i);
        }
    }
    sip(&lines, "")
}

fn header_error(name: &'static str, error: HeaderError) -> ParseError {
    ParseError::Header { name, error }
}

#[test]
fn a_canonical_message_is_written_back_byte_for_byte() {
    let bytes = sip(REGISTER, "");
    assert_eq!(accept_request(&bytes).to_bytes(), bytes);
}

#[test]
fn framing_and_encoding_errors() {
    let good = sip(REGISTER, "");
    assert_eq!(reject(&good[..good.len() - 2]), ParseError::NoHeaderEnd);
    let lf_only = String::from_utf8(good.clone())
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(reject(lf_only), ParseError::NoHeaderEnd);
    assert_eq!(
        reject(register_with(7, Some("User-Agent: a\nb"))),
        ParseError::LineEnding
    );
    assert_eq!(
        reject(register_with(7, Some("User-Agent: a\rb"))),
        ParseError::LineEnding
    );
    assert_eq!(
        reject(register_with(0, Some("REGISTER sip:a\n SIP/2.0"))),
        ParseError::LineEnding
    );
    assert_eq!(
        reject(register_with(7, Some("User-Agent: a\0b"))),
        ParseError::Nul
    );
    let mut latin1 = register_with(7, Some("User-Agent: Larm AB"));
    let at = latin1.iter().position(|&b| b == b'L').unwrap();
    latin1[at + 1] = 0xE4;
    assert_eq!(reject(latin1), ParseError::NotUtf8);
    assert_eq!(
        reject(register_with(7, Some("User-Agent: a\u{7}"))),
        ParseError::Control
    );
    assert_eq!(
        reject(register_with(7, Some("User-Agent: a\u{85}"))),
        ParseError::Control
    );
    let mut leading_crlf = b"\r\n".to_vec();
    leading_crlf.extend_from_slice(&good);
    assert_eq!(reject(leading_crlf), ParseError::StartLine);
    assert_eq!(reject(b""), ParseError::NoHeaderEnd);
    assert_eq!(reject(b"\r\n\r\n"), ParseError::StartLine);
}

#[test]
fn start_line_errors() {
    for (line, error) in [
        (
            "REGISTER sip:alarm.example.se SIP/2.0 x",
            ParseError::StartLine,
        ),
        (
            "REGISTER  sip:alarm.example.se SIP/2.0",
            ParseError::StartLine,
        ),
        ("REGISTER sip:alarm.example.se", ParseError::StartLine),
        (
            "REGI(STER sip:alarm.example.se SIP/2.0",
            ParseError::StartLine,
        ),
        ("REGISTER sip:alarm.example.se SIP/3.0", ParseError::Version),
        ("REGISTER sip:alarm.example.se sip/2.0", ParseError::Version),
        (
            "REGISTER tel:+46701234567 SIP/2.0",
            ParseError::RequestUri(UriError::Scheme),
        ),
        (
            "REGISTER http://alarm.example.se SIP/2.0",
            ParseError::RequestUri(UriError::Scheme),
        ),
        (
            "REGISTER sip:u:pw@alarm.example.se SIP/2.0",
            ParseError::RequestUri(UriError::Password),
        ),
        (
            "REGISTER sip:alarm.example.se?subject=x SIP/2.0",
            ParseError::RequestUri(UriError::Headers),
        ),
        (
            "REGISTER sip:alarm..example.se SIP/2.0",
            ParseError::RequestUri(UriError::Host),
        ),
        (
            "REGISTER sip:-alarm.se SIP/2.0",
            ParseError::RequestUri(UriError::Host),
        ),
        (
            "REGISTER sip:10.0.0.256 SIP/2.0",
            ParseError::RequestUri(UriError::Host),
        ),
        (
            "REGISTER sip:[2001:db8::g] SIP/2.0",
            ParseError::RequestUri(UriError::Host),
        ),
        (
            "REGISTER sip:alarm.example.se:0 SIP/2.0",
            ParseError::RequestUri(UriError::Port),
        ),
        (
            "REGISTER sip:alarm.example.se:65536 SIP/2.0",
            ParseError::RequestUri(UriError::Port),
        ),
        (
            "REGISTER sip:alarm.example.se; SIP/2.0",
            ParseError::RequestUri(UriError::Param),
        ),
        (
            "REGISTER sip:alarm.example.se;a;A SIP/2.0",
            ParseError::RequestUri(UriError::TooManyParams),
        ),
        (
            "REGISTER sip:us%2er@alarm.example.se SIP/2.0",
            ParseError::Header {
                name: "CSeq",
                error: HeaderError::Missing,
            },
        ),
        (
            "REGISTER sip:us%zzr@alarm.example.se SIP/2.0",
            ParseError::RequestUri(UriError::User),
        ),
    ] {
        let mut lines = REGISTER.to_vec();
        lines[0] = line;
        if line.contains("%2e") {
            // A valid escape passes the URI; prove it by failing later.
            lines.retain(|l| !l.starts_with("CSeq"));
        }
        assert_eq!(reject(sip(&lines, "")), error, "{line}");
    }
}

#[test]
fn status_line_errors() {
    let response = |status: &str| {
        sip(
            &[
                status,
                "Via: SIP/2.0/UDP h;branch=z9hG4bKx",
                "From: <sip:a@h>;tag=1",
                "To: <sip:a@h>",
                "Call-ID: c",
                "CSeq: 1 REGISTER",
            ],
            "",
        )
    };
    assert!(parse(&response("SIP/2.0 699 Whatever")).is_ok());
    for (status, error) in [
        ("SIP/2.0 099 Early", ParseError::Status),
        ("SIP/2.0 700 Late", ParseError::Status),
        ("SIP/2.0 2000 OK", ParseError::Status),
        ("SIP/2.0 20x OK", ParseError::Status),
        ("SIP/2.0 200", ParseError::StartLine),
        ("SIP/1.0 200 OK", ParseError::Version),
        ("SIP/2.0 200 O\u{1b}K", ParseError::Control),
    ] {
        assert_eq!(reject(response(status)), error, "{status}");
    }
}

#[test]
fn header_line_errors() {
    for (line, error) in [
        ("User-Agent CareAlarm", ParseError::HeaderLine),
        ("User Agent: CareAlarm", ParseError::HeaderLine),
        (": CareAlarm", ParseError::HeaderLine),
        (" CareAlarm/2.4.1", ParseError::Folding),
        ("\tCareAlarm/2.4.1", ParseError::Folding),
    ] {
        assert_eq!(reject(register_with(7, Some(line))), error, "{line:?}");
    }
    let mut lines = REGISTER.to_vec();
    lines.insert(7, "X-Long: a");
    lines.insert(8, "  continued");
    assert_eq!(reject(sip(&lines, "")), ParseError::Folding);
}

#[test]
fn mandatory_headers_must_be_there_once() {
    for (i, name) in [
        (1, "Via"),
        (3, "From"),
        (4, "To"),
        (5, "Call-ID"),
        (6, "CSeq"),
        (2, "Max-Forwards"),
    ] {
        assert_eq!(
            reject(register_with(i, None)),
            header_error(name, HeaderError::Missing),
            "{name}"
        );
        let mut lines = REGISTER.to_vec();
        lines.insert(i, REGISTER[i]);
        let expected = if name == "Via" {
            // Two Via headers are two hops, not an error.
            continue;
        } else {
            header_error(name, HeaderError::Repeated)
        };
        assert_eq!(reject(sip(&lines, "")), expected, "{name}");
    }
}

#[test]
fn mandatory_headers_must_be_valid() {
    for (i, line, name, error) in [
        (
            1,
            "Via: SIP/2.0/UDP 10.0.0.23:5060",
            "Via",
            HeaderError::Branch,
        ),
        (
            1,
            "Via: SIP/2.0/UDP 10.0.0.23;branch=abc",
            "Via",
            HeaderError::Branch,
        ),
        (
            1,
            "Via: SIP/2.0/UDP 10.0.0.23;branch=z9hG4bK",
            "Via",
            HeaderError::Branch,
        ),
        (
            1,
            "Via: SIP/2.0/UDP 10.0.0.23;branch=z9hG4bK1;branch=z9hG4bK2",
            "Via",
            HeaderError::RepeatedParam,
        ),
        (
            1,
            "Via: SIP/2.0/SCTP 10.0.0.23;branch=z9hG4bK1",
            "Via",
            HeaderError::Transport,
        ),
        (
            1,
            "Via: SIP/2.0/WS 10.0.0.23;branch=z9hG4bK1",
            "Via",
            HeaderError::Transport,
        ),
        (
            1,
            "Via: SIP/1.0/UDP 10.0.0.23;branch=z9hG4bK1",
            "Via",
            HeaderError::Syntax,
        ),
        (1, "Via: SIP/2.0/UDP", "Via", HeaderError::Syntax),
        (
            1,
            "Via: SIP/2.0/UDP 10.0.0.23;rport=0;branch=z9hG4bK1",
            "Via",
            HeaderError::Uri(UriError::Port),
        ),
        (
            1,
            "Via: SIP/2.0/UDP 10.0.0.23;received=host;branch=z9hG4bK1",
            "Via",
            HeaderError::Syntax,
        ),
        (
            1,
            "Via: SIP/2.0/UDP 10.0.0.23;branch=z9hG4bK1,",
            "Via",
            HeaderError::Syntax,
        ),
        (
            2,
            "Max-Forwards: 256",
            "Max-Forwards",
            HeaderError::OutOfRange,
        ),
        (2, "Max-Forwards: -1", "Max-Forwards", HeaderError::Syntax),
        (
            3,
            "From: <sip:46701234567@alarm.example.se>",
            "From",
            HeaderError::MissingParam("tag"),
        ),
        (
            3,
            "From: <sip:46701234567@alarm.example.se>;tag=\"q\"",
            "From",
            HeaderError::Syntax,
        ),
        (
            3,
            "From: <sip:46701234567@alarm.example.se;tag=1",
            "From",
            HeaderError::Syntax,
        ),
        (
            3,
            "From: Anna, Berg <sip:a@b>;tag=1",
            "From",
            HeaderError::Syntax,
        ),
        (
            4,
            "To: <mailto:a@b>",
            "To",
            HeaderError::Uri(UriError::Scheme),
        ),
        (4, "To: sip:a@b?x=y", "To", HeaderError::Syntax),
        (5, "Call-ID: has space", "Call-ID", HeaderError::Syntax),
        (5, "Call-ID: a@b@c", "Call-ID", HeaderError::Syntax),
        (5, "Call-ID:", "Call-ID", HeaderError::Syntax),
        (6, "CSeq: 1 MESSAGE", "CSeq", HeaderError::MethodMismatch),
        (6, "CSeq: 1 register", "CSeq", HeaderError::MethodMismatch),
        (
            6,
            "CSeq: 2147483648 REGISTER",
            "CSeq",
            HeaderError::OutOfRange,
        ),
        (6, "CSeq: 99999999999 REGISTER", "CSeq", HeaderError::Syntax),
        (6, "CSeq: REGISTER", "CSeq", HeaderError::Syntax),
    ] {
        assert_eq!(
            reject(register_with(i, Some(line))),
            header_error(name, error),
            "{line}"
        );
    }
    // The largest CSeq is accepted.
    accept_request(register_with(6, Some("CSeq: 2147483647 REGISTER")));
    // A lower-case method is an unknown method, and the CSeq must say so.
    let mut lines = REGISTER.to_vec();
    lines[0] = "register sip:alarm.example.se SIP/2.0";
    lines[6] = "CSeq: 1 register";
    let request = accept_request(sip(&lines, ""));
    assert_eq!(request.method().as_str(), "register");
    assert_ne!(request.method(), &trygg_sip::Method::Register);
}

#[test]
fn content_length_and_body_errors() {
    let with = |length: &str, body: &str| {
        let mut lines = REGISTER.to_vec();
        lines[11] = length;
        lines.insert(10, "Content-Type: text/plain");
        sip(&lines, body)
    };
    accept_request(with("Content-Length: 2", "hi"));
    accept_request(with("l: 2", "hi"));
    for (length, body, error) in [
        (
            "Content-Length: 1",
            "hi",
            ParseError::ContentLengthMismatch {
                declared: 1,
                actual: 2,
            },
        ),
        (
            "Content-Length: 3",
            "hi",
            ParseError::ContentLengthMismatch {
                declared: 3,
                actual: 2,
            },
        ),
        (
            "Content-Length: 0",
            "\r\n",
            ParseError::ContentLengthMismatch {
                declared: 0,
                actual: 2,
            },
        ),
        ("Content-Length: two", "hi", ParseError::ContentLength),
        ("Content-Length: -2", "hi", ParseError::ContentLength),
        ("Content-Length: ", "hi", ParseError::ContentLength),
        ("Content-Length: 123456", "hi", ParseError::ContentLength),
    ] {
        assert_eq!(reject(with(length, body)), error, "{length}");
    }
    let mut lines = REGISTER.to_vec();
    lines.insert(10, "l: 0");
    assert_eq!(reject(sip(&lines, "")), ParseError::ContentLength);
    // A body needs a Content-Type.
    let mut lines = REGISTER.to_vec();
    lines[11] = "Content-Length: 2";
    assert_eq!(
        reject(sip(&lines, "hi")),
        header_error("Content-Type", HeaderError::Missing)
    );
    // Without Content-Length, a datagram's body is the rest.
    let mut lines = REGISTER.to_vec();
    lines[11] = "Content-Type: text/plain";
    assert_eq!(accept_request(sip(&lines, "rest")).body(), b"rest");
    let mut lines = REGISTER.to_vec();
    lines[11] = "Content-Type: text";
    assert_eq!(
        reject(sip(&lines, "rest")),
        header_error("Content-Type", HeaderError::Syntax)
    );
}

#[test]
fn accessors_refuse_what_the_reader_does_not_check() {
    let h = |i: usize, line: &str| accept_request(register_with(i, Some(line)));
    let r = h(8, "Contact: <sip:a@10.0.0.1>, <sip:a@10.0.0.2>");
    assert_eq!(r.headers().contact(), Err(HeaderError::MultipleContacts));
    let r = h(8, "Contact: <sip:a@10.0.0.1>;expires=soon");
    assert_eq!(r.headers().contact(), Err(HeaderError::Syntax));
    let r = h(8, "Contact: <sip:a@10.0.0.1>;expires=4294967296");
    assert_eq!(r.headers().contact(), Err(HeaderError::OutOfRange));
    let r = h(9, "Expires: 1h");
    assert_eq!(r.headers().expires(), Err(HeaderError::Syntax));
    let r = h(9, "Authorization: Basic YTpi");
    assert_eq!(
        r.headers().authorization(),
        Err(HeaderError::Unsupported("authentication scheme"))
    );
    let r = h(9, "Authorization: Digest username=\"a\", realm=\"r\"");
    assert_eq!(
        r.headers().authorization(),
        Err(HeaderError::MissingParam("nonce"))
    );
}
