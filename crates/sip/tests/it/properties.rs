//! Properties over arbitrary bytes, mutated messages and generated ones.

use std::net::{IpAddr, SocketAddr};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use trygg_sip::{
    Frame, Framer, Host, Message, Method, NameAddr, NewRequest, Request, Response, SipUri,
    Transport, Via, parse,
};

use crate::{REGISTER, assert_round_trips, check_any, sip, sipp_message};

fn seeds() -> Vec<Vec<u8>> {
    vec![
        sip(REGISTER, ""),
        sipp_message(),
        sip(
            &[
                "SIP/2.0 401 Unauthorized",
                "v: SIP/2.0/TCP [2001:db8::1]:5060;rport=1;branch=z9hG4bKx;received=2001:db8::2",
                "f: <sip:a@h>;tag=1",
                "t: \"B\" <sip:b@h>;tag=2",
                "i: c@d",
                "CSeq: 9 REGISTER",
                "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\"",
                "l: 0",
            ],
            "",
        ),
    ]
}

/// Byte-level edits: overwrite, insert or delete at a position.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop_oneof![any::<u8>(), select(b"\r\n :;,<>\"\\@=/\t0z%[]".to_vec()),];
    prop_oneof![
        (any::<usize>(), interesting.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), interesting).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match *e {
            Edit::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            _ => {}
        }
    }
    bytes
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.!%*_+`'~-]{1,12}"
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9]{0,5}){0,3}"
            .prop_filter_map("valid host name", |h| Host::parse(&h).ok()),
        any::<std::net::Ipv4Addr>().prop_map(Host::Ipv4),
        any::<std::net::Ipv6Addr>().prop_map(Host::Ipv6),
    ]
}

fn uri() -> impl Strategy<Value = SipUri> {
    (
        any::<bool>(),
        proptest::option::of("[a-zA-Z0-9._~+-]{1,16}"),
        host(),
        proptest::option::of(1u16..),
        vec(("[a-z]{1,6}", proptest::option::of("[a-z0-9]{1,6}")), 0..3),
    )
        .prop_filter_map("valid URI", |(secure, user, host, port, params)| {
            let mut text = format!("{}:", if secure { "sips" } else { "sip" });
            if let Some(user) = user {
                text.push_str(&user);
                text.push('@');
            }
            text.push_str(&host.to_string());
            if let Some(port) = port {
                text.push_str(&format!(":{port}"));
            }
            for (name, value) in params {
                text.push(';');
                text.push_str(&name);
                if let Some(value) = value {
                    text.push('=');
                    text.push_str(&value);
                }
            }
            SipUri::parse(&text).ok()
        })
}

/// Display names: any text without controls, quotes and backslashes
/// included.
fn display() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[^\\p{Cc}]{0,16}")
}

fn name_addr(tag: Option<String>) -> impl Strategy<Value = NameAddr> {
    (display(), uri()).prop_map(move |(display, uri)| {
        let text = match display {
            Some(d) => format!(
                "\"{}\" <{uri}>",
                d.replace('\\', "\\\\").replace('"', "\\\"")
            ),
            None => format!("<{uri}>"),
        };
        let addr = NameAddr::parse(&text).unwrap();
        match &tag {
            Some(tag) => addr.with_param("tag", Some(tag)).unwrap(),
            None => addr,
        }
    })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Register),
        Just(Method::Message),
        Just(Method::Options),
        Just(Method::Bye),
        "[A-Z]{1,10}".prop_map(|m| Method::parse(&m).unwrap()),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        (
            method(),
            uri(),
            host(),
            proptest::option::of(1u16..),
            token(),
        ),
        (
            token(),
            name_addr(None),
            "[a-zA-Z0-9.-]{1,20}(@[a-z0-9.]{1,12})?",
            0u32..=trygg_sip::MAX_CSEQ,
        ),
        vec((token(), "[^\\p{Cc}]{0,40}"), 0..5),
        proptest::option::of((
            "(text|application)/[a-z+.-]{1,16}",
            vec(any::<u8>(), 0..200),
        )),
    )
        .prop_flat_map(|(a, b, headers, body)| {
            (name_addr(Some(b.0.clone())), Just((a, b, headers, body)))
        })
        .prop_map(
            |(from, ((method, uri, host, port, branch), (_, to, call_id, cseq), headers, body))| {
                let via =
                    Via::new(Transport::Udp, host, port, &format!("z9hG4bK{branch}")).unwrap();
                let mut request = Request::new(NewRequest {
                    method,
                    uri,
                    via,
                    from,
                    to,
                    call_id: &call_id,
                    cseq,
                })
                .unwrap();
                for (name, value) in headers {
                    // Names that clash with the mandatory headers are refused,
                    // and the request stays as it was.
                    let before = request.clone();
                    if request.push_header(&name, &value).is_err() {
                        assert_eq!(request, before);
                    }
                }
                if let Some((content_type, body)) = body
                    && !body.is_empty()
                {
                    request.set_body(&content_type, body).unwrap();
                }
                request
            },
        )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
        check_any(&bytes);
    }

    #[test]
    fn mutated_messages_hold_the_invariants(seed in 0usize..3, edits in vec(edit(), 1..8)) {
        let bytes = apply(seeds()[seed].clone(), &edits);
        check_any(&bytes);
    }

    #[test]
    fn line_soup_holds_the_invariants(lines in vec(select(vec![
        "REGISTER sip:a.se SIP/2.0", "MESSAGE sip:u@[::1]:5060 SIP/2.0", "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "v: SIP/2.0/TCP 1.2.3.4:5;rport;branch=z9hG4bK2",
        "From: <sip:a@h>;tag=1", "f: sip:a@h;tag=2", "To: <sip:a@h>", "t: B <sip:b@h>",
        "Call-ID: x@y", "i: z", "CSeq: 1 REGISTER", "CSeq: 2 MESSAGE", "Max-Forwards: 70",
        "Content-Type: text/plain", "l: 0", "Content-Length: 3", "Contact: *", "Expires: 60",
        " folded", "", "X-A: \"quoted, with comma\"",
    ]), 0..16), body in "[a-z\r\n]{0,6}") {
        let mut text = lines.join("\r\n");
        text.push_str("\r\n\r\n");
        text.push_str(&body);
        check_any(text.as_bytes());
    }

    #[test]
    fn built_requests_and_their_responses_round_trip(
        request in request(),
        status in 100u16..=699,
        source in proptest::option::of((any::<IpAddr>(), 1u16..)),
        tag in token(),
    ) {
        let message = Message::Request(request.clone());
        assert_round_trips(&message);
        prop_assert_eq!(parse(&request.to_bytes()), Ok(message));
        let source = source.map(|(ip, port)| SocketAddr::new(ip, port));
        let response = Response::for_request(&request, status, "Reason phrase", source, &tag).unwrap();
        assert_round_trips(&Message::Response(response.clone()));
        if status >= 200 {
            prop_assert!(response.headers().to().unwrap().tag().unwrap().is_some());
        }
        if let Some(source) = source {
            let via = response.headers().via().unwrap();
            let host_is_source = via.host().ip() == Some(source.ip());
            prop_assert_eq!(via.received().is_some(), !host_is_source);
        }
    }

    #[test]
    fn the_framer_gives_the_same_frames_in_any_chunks(
        order in vec(0usize..4, 1..6),
        cuts in vec(1usize..64, 1..40),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for &i in &order {
            if i == 3 {
                stream.extend_from_slice(b"\r\n\r\n");
                expected.push(Frame::Ping);
            } else {
                let bytes = seeds()[i].clone();
                expected.push(Frame::Message(parse(&bytes).unwrap()));
                stream.extend_from_slice(&bytes);
            }
        }
        let mut framer = Framer::new();
        let mut got = Vec::new();
        let mut rest = stream.as_slice();
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at((*cut).min(rest.len()));
            rest = tail;
            framer.push(piece).unwrap();
            while let Some(frame) = framer.next_frame().unwrap() {
                got.push(frame);
            }
        }
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn the_framer_never_panics(chunks in vec(vec(any::<u8>(), 0..300), 0..20)) {
        let mut framer = Framer::new();
        for chunk in chunks {
            if framer.push(&chunk).is_err() {
                break;
            }
            loop {
                match framer.next_frame() {
                    Ok(Some(Frame::Message(m))) => assert_round_trips(&m),
                    Ok(Some(Frame::Ping)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            prop_assert!(framer.buffered() <= trygg_sip::MAX_BUFFERED);
        }
    }

    #[test]
    fn any_username_and_password_verify(
        user in "[^\\p{Cc}\"\\\\]{1,32}",
        password in "[^\\p{Cc}]{0,32}",
        nc in 1u32..,
        sha in any::<bool>(),
    ) {
        let server = trygg_sip::DigestServer::new(&[3; 32], "r.example", 60).unwrap();
        let challenge = &server.challenges(1_000, [4; 16], false)[usize::from(!sha)];
        let auth = challenge.answer(&user, &password, &Method::Message, "sip:r.example", "cn", nc);
        let read = trygg_sip::Authorization::parse(&auth.to_string()).unwrap();
        prop_assert_eq!(&read, &auth);
        let stored = trygg_sip::ha1(auth.algorithm, &user, "r.example", &password);
        let verified = server.verify(&read, &Method::Message, "sip:r.example", &stored, 1_030).unwrap();
        prop_assert_eq!(verified.nc, nc);
    }
}
