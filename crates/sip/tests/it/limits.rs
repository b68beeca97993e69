//! The limits at their boundaries, as received and as written.

use std::time::Instant;

use trygg_sip::{
    HeaderError, MAX_BODY, MAX_HEADER_LINE, MAX_HEADERS, MAX_MESSAGE, MAX_PARAMS, MAX_URI,
    MAX_VIAS, ParseError, SipUri, UriError,
};

use crate::{REGISTER, accept, accept_request, reject, sip};

/// REGISTER padded with `X-Pad` headers to exactly `total` bytes, in
/// canonical form (what is written is what was read).
fn padded(total: usize) -> Vec<u8> {
    let base = sip(REGISTER, "").len();
    let mut deficit = total - base;
    let mut pads = Vec::new();
    while deficit > 0 {
        // A pad line takes its length plus CRLF; "X-Pad: " is 7 bytes.
        let line = deficit.min(MAX_HEADER_LINE + 2) - 2;
        let line = if deficit - (line + 2) > 0 && deficit - (line + 2) < 9 {
            line - 9
        } else {
            line
        };
        pads.push(format!("X-Pad: {}", "a".repeat(line - 7)));
        deficit -= line + 2;
    }
    let mut lines: Vec<&str> = REGISTER[..11].to_vec();
    lines.extend(pads.iter().map(String::as_str));
    lines.push(REGISTER[11]);
    let bytes = sip(&lines, "");
    assert_eq!(bytes.len(), total);
    bytes
}

#[test]
fn the_message_limit_holds_as_received_and_as_written() {
    let exact = padded(MAX_MESSAGE);
    assert_eq!(accept(&exact).to_bytes(), exact);
    assert_eq!(reject(padded(MAX_MESSAGE + 1)), ParseError::TooLong);
    // Same size received, but a compact name grows when written.
    let compact = String::from_utf8(padded(MAX_MESSAGE))
        .unwrap()
        .replacen("\r\nVia: ", "\r\nv: ", 1)
        .replacen("CareAlarm/", "CareAlarm/ab", 1);
    assert_eq!(compact.len(), MAX_MESSAGE);
    assert_eq!(reject(&compact), ParseError::TooLong);
    // A datagram without Content-Length gains one when written.
    let cl_line = "Content-Length: 0\r\n";
    let without = String::from_utf8(padded(MAX_MESSAGE + cl_line.len()))
        .unwrap()
        .replace(cl_line, "");
    assert_eq!(without.len(), MAX_MESSAGE);
    assert_eq!(reject(&without), ParseError::TooLong);
}

#[test]
fn ten_megabytes_are_refused_without_being_read() {
    let huge = vec![b'A'; 10 * 1024 * 1024];
    let start = Instant::now();
    assert_eq!(reject(&huge), ParseError::TooLong);
    let mut framer = trygg_sip::Framer::new();
    assert_eq!(framer.push(&huge), Err(trygg_sip::FrameError::Overflow));
    assert!(start.elapsed().as_millis() < 100, "{:?}", start.elapsed());
}

#[test]
fn header_count_limit() {
    let with = |extra: usize| {
        let names: Vec<String> = (0..extra).map(|i| format!("X-{i}: {i}")).collect();
        let mut lines = REGISTER.to_vec();
        lines.extend(names.iter().map(String::as_str));
        sip(&lines, "")
    };
    let base = REGISTER.len() - 1;
    accept(with(MAX_HEADERS - base));
    assert_eq!(
        reject(with(MAX_HEADERS - base + 1)),
        ParseError::TooManyHeaders
    );
    // Without Content-Length, one line less: writing adds it.
    let mut lines: Vec<String> = REGISTER[..11].iter().map(|l| (*l).to_owned()).collect();
    lines.extend((0..MAX_HEADERS - 10).map(|i| format!("X-{i}: {i}")));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_eq!(lines.len() - 1, MAX_HEADERS);
    assert_eq!(reject(sip(&lines, "")), ParseError::TooManyHeaders);
    accept(sip(&lines[..lines.len() - 1], ""));
}

#[test]
fn header_line_limit() {
    let line = |len: usize| format!("User-Agent: {}", "x".repeat(len - 12));
    let at = line(MAX_HEADER_LINE);
    assert_eq!(at.len(), MAX_HEADER_LINE);
    let mut lines = REGISTER.to_vec();
    lines[7] = &at;
    accept(sip(&lines, ""));
    let over = line(MAX_HEADER_LINE + 1);
    lines[7] = &over;
    assert_eq!(reject(sip(&lines, "")), ParseError::LineTooLong);
    let start = format!("REGISTER sip:{} SIP/2.0", "a".repeat(MAX_HEADER_LINE));
    lines[0] = &start;
    assert_eq!(reject(sip(&lines, "")), ParseError::LineTooLong);
}

#[test]
fn via_limit() {
    let with = |n: usize| {
        let vias: Vec<String> = (0..n)
            .map(|i| format!("Via: SIP/2.0/UDP proxy{i}.example.net;branch=z9hG4bK{i}"))
            .collect();
        let mut lines = REGISTER.to_vec();
        lines.remove(1);
        for (i, via) in vias.iter().enumerate() {
            lines.insert(1 + i, via);
        }
        sip(&lines, "")
    };
    let request = accept_request(with(MAX_VIAS));
    assert_eq!(request.headers().vias().unwrap().len(), MAX_VIAS);
    assert_eq!(
        reject(with(MAX_VIAS + 1)),
        ParseError::Header {
            name: "Via",
            error: HeaderError::TooManyVias
        }
    );
    // Counted by value, not by line.
    let mut lines = REGISTER.to_vec();
    let joined = format!(
        "Via: {}",
        (0..=MAX_VIAS)
            .map(|i| format!("SIP/2.0/TCP p{i}.example.net;branch=z9hG4bK{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    lines[1] = &joined;
    assert!(matches!(
        reject(sip(&lines, "")),
        ParseError::Header {
            error: HeaderError::TooManyVias,
            ..
        }
    ));
}

#[test]
fn body_limit() {
    let with = |len: usize| {
        let length = format!("Content-Length: {len}");
        let mut lines = REGISTER.to_vec();
        lines[11] = "Content-Type: application/octet-stream";
        lines.push(&length);
        sip(&lines, &"b".repeat(len))
    };
    assert_eq!(accept_request(with(MAX_BODY)).body().len(), MAX_BODY);
    assert_eq!(reject(with(MAX_BODY + 1)), ParseError::BodyTooLong);
    assert_eq!(MAX_BODY, trygg_scaip::MAX_BODY);
}

#[test]
fn uri_limits() {
    let uri = |len: usize| format!("sip:{}@h.se", "u".repeat(len - 9));
    assert!(SipUri::parse(&uri(MAX_URI)).is_ok());
    assert_eq!(SipUri::parse(&uri(MAX_URI + 1)), Err(UriError::TooLong));
    let params = |n: usize| {
        format!(
            "sip:h.se{}",
            (0..n).map(|i| format!(";p{i}")).collect::<String>()
        )
    };
    assert!(SipUri::parse(&params(MAX_PARAMS)).is_ok());
    assert_eq!(
        SipUri::parse(&params(MAX_PARAMS + 1)),
        Err(UriError::TooManyParams)
    );
    let label = "a".repeat(63);
    assert!(SipUri::parse(&format!("sip:{label}.se")).is_ok());
    assert_eq!(
        SipUri::parse(&format!("sip:{label}a.se")),
        Err(UriError::Host)
    );
    let long_host = format!("sip:{}.se", vec!["a".repeat(60); 5].join("."));
    assert_eq!(SipUri::parse(&long_host), Err(UriError::Host));
    let header_params = |n: usize| {
        let params: String = (0..n).map(|i| format!(";p{i}")).collect();
        let to = format!("To: <sip:46701234567@alarm.example.se>{params}");
        let mut lines = REGISTER.to_vec();
        lines[4] = &to;
        parse_result(sip(&lines, ""))
    };
    assert!(header_params(MAX_PARAMS));
    assert!(!header_params(MAX_PARAMS + 1));
}

fn parse_result(bytes: Vec<u8>) -> bool {
    trygg_sip::parse(&bytes).is_ok()
}
