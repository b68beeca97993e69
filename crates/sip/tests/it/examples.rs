//! Messages as devices and sipp send them, and the messages the receiver
//! writes.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use trygg_sip::{
    Contact, Host, Method, NameAddr, NewRequest, Request, Response, SipUri, Transport, Via, parse,
};

use crate::{ALARM, REGISTER, accept, accept_request, accept_response, sip, sipp_message};

#[test]
fn a_devices_register_reads_field_by_field() {
    let request = accept_request(sip(REGISTER, ""));
    assert_eq!(request.method(), &Method::Register);
    assert_eq!(request.uri().as_str(), "sip:alarm.example.se");
    let h = request.headers();
    let via = h.via().unwrap();
    assert_eq!(via.transport(), Transport::Udp);
    assert_eq!(via.host(), &Host::Ipv4("10.0.0.23".parse().unwrap()));
    assert_eq!(via.port(), Some(5060));
    assert_eq!(via.branch(), "z9hG4bKPj3f7a2c1e9d");
    assert_eq!(via.rport(), Some(None));
    assert_eq!(via.received(), None);
    assert_eq!(h.from().unwrap().tag().unwrap(), Some("a83b1c4d"));
    assert_eq!(h.to().unwrap().tag().unwrap(), None);
    assert_eq!(h.to().unwrap().uri().user(), Some("46701234567"));
    assert_eq!(h.call_id().unwrap(), "5f1b2c3d4e5f60718293@10.0.0.23");
    let cseq = h.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (1, Method::Register));
    assert_eq!(h.max_forwards().unwrap(), 70);
    assert_eq!(h.expires().unwrap(), Some(3600));
    let Some(Contact::Address(contact)) = h.contact().unwrap() else {
        panic!("no contact");
    };
    assert_eq!(contact.expires().unwrap(), Some(3600));
    assert_eq!(contact.uri().port(), Some(5060));
    assert_eq!(contact.uri().param("ob"), Some(None));
    assert_eq!(h.authorization().unwrap(), None);
    assert_eq!(h.content_type().unwrap(), None);
    assert!(request.body().is_empty());
}

#[test]
fn sipps_compact_message_carries_a_scaip_alarm() {
    let request = accept_request(sipp_message());
    assert_eq!(request.method(), &Method::Message);
    let h = request.headers();
    assert_eq!(h.get("Via"), h.get("v"));
    assert!(h.get("Call-ID").is_some());
    assert_eq!(h.from().unwrap().display_name(), Some("sipp"));
    assert!(
        h.content_type()
            .unwrap()
            .unwrap()
            .is("application/scaip+xml")
    );
    let alarm = trygg_scaip::parse_request(request.body()).unwrap();
    assert_eq!(alarm.reference.to_string(), "A7F3K2");
    // Compact names are written long.
    let text = String::from_utf8(request.to_bytes()).unwrap();
    assert!(text.contains("\r\nVia: SIP/2.0/UDP 192.0.2.55:5061;"));
    assert!(text.contains("\r\nContent-Type: application/scaip+xml\r\n"));
    assert!(text.contains(&format!("\r\nContent-Length: {}\r\n\r\n", ALARM.len())));
}

#[test]
fn header_names_are_read_in_any_case() {
    let lower: Vec<String> = REGISTER
        .iter()
        .enumerate()
        .map(|(i, line)| match (i, line.split_once(':')) {
            (0, _) | (_, None) => (*line).to_owned(),
            (_, Some((name, value))) if i % 2 == 0 => format!("{}:{value}", name.to_lowercase()),
            (_, Some((name, value))) => format!("{} :{value}", name.to_uppercase()),
        })
        .collect();
    let lines: Vec<&str> = lower.iter().map(String::as_str).collect();
    assert_eq!(accept(sip(&lines, "")), accept(sip(REGISTER, "")));
}

#[test]
fn a_proxied_message_has_several_vias_and_the_top_one_counts() {
    let request = accept_request(sip(
        &[
            "MESSAGE sip:receiver@alarm.example.se SIP/2.0",
            "Via: SIP/2.0/TLS proxy2.example.net;branch=z9hG4bKp2, SIP/2.0/TCP [2001:db8::7]:5070;branch=z9hG4bKp1",
            "Via: SIP/2.0/UDP device.local;branch=z9hG4bKd0;received=198.51.100.4;rport=40312",
            "Max-Forwards: 68",
            "From: \"Anna \\\"Mor\\\" Berg\" <sip:46701234567@alarm.example.se>;tag=x1",
            "To: sip:receiver@alarm.example.se",
            "Call-ID: abc",
            "CSeq: 7 MESSAGE",
            "Content-Type: text/plain;charset=UTF-8",
            "Content-Length: 2",
        ],
        "hi",
    ));
    let h = request.headers();
    let vias = h.vias().unwrap();
    assert_eq!(vias.len(), 3);
    let top = h.via().unwrap();
    assert_eq!(top.transport(), Transport::Tls);
    assert_eq!(top.host(), &Host::Domain("proxy2.example.net".into()));
    let second = Via::parse(vias[1]).unwrap();
    assert_eq!(
        second.host(),
        &Host::Ipv6("2001:db8::7".parse::<Ipv6Addr>().unwrap())
    );
    let third = Via::parse(vias[2]).unwrap();
    assert_eq!(third.rport(), Some(Some(40312)));
    assert_eq!(third.received(), Some("198.51.100.4".parse().unwrap()));
    assert_eq!(h.from().unwrap().display_name(), Some("Anna \"Mor\" Berg"));
    assert_eq!(
        h.to().unwrap().uri().as_str(),
        "sip:receiver@alarm.example.se"
    );
    let ct = h.content_type().unwrap().unwrap();
    assert_eq!(ct.media_type(), "text/plain");
    assert_eq!(ct.params().get("charset"), Some(Some("UTF-8")));
}

#[test]
fn an_ipv6_device_registers() {
    let request = accept_request(sip(
        &[
            "REGISTER sips:[2001:DB8::1]:5061;transport=tls SIP/2.0",
            "Via: SIP/2.0/TLS [2001:db8::23]:40000;branch=z9hG4bK.v6",
            "Max-Forwards: 70",
            "From: <sips:dev@[2001:db8::1]>;tag=t",
            "To: <sips:dev@[2001:db8::1]>",
            "Call-ID: v6@[2001:db8::23]",
            "CSeq: 3 REGISTER",
            "Contact: *",
            "Expires: 0",
            "Content-Length: 0",
        ],
        "",
    ));
    let uri = request.uri();
    assert!(uri.is_secure());
    assert_eq!(uri.host(), &Host::Ipv6("2001:db8::1".parse().unwrap()));
    assert_eq!(uri.as_str(), "sips:[2001:DB8::1]:5061;transport=tls");
    assert_eq!(uri.param("TRANSPORT"), Some(Some("tls")));
    assert_eq!(
        request.headers().contact().unwrap(),
        Some(Contact::Wildcard)
    );
    assert_eq!(request.headers().expires().unwrap(), Some(0));
}

#[test]
fn a_401_and_a_200_as_the_device_sees_them() {
    let challenge = accept_response(sip(
        &[
            "SIP/2.0 401 Unauthorized",
            "Via: SIP/2.0/UDP 10.0.0.23:5060;rport=40312;branch=z9hG4bKPj3f7a2c1e9d;received=198.51.100.4",
            "From: <sip:46701234567@alarm.example.se>;tag=a83b1c4d",
            "To: <sip:46701234567@alarm.example.se>;tag=srv1",
            "Call-ID: 5f1b2c3d4e5f60718293@10.0.0.23",
            "CSeq: 1 REGISTER",
            "WWW-Authenticate: Digest realm=\"alarm.example.se\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\"",
            "WWW-Authenticate: Digest realm=\"alarm.example.se\", nonce=\"abc\", algorithm=MD5, qop=\"auth,auth-int\", stale=TRUE",
            "Content-Length: 0",
        ],
        "",
    ));
    assert_eq!(
        (challenge.status(), challenge.reason()),
        (401, "Unauthorized")
    );
    let challenges = challenge.headers().www_authenticate().unwrap();
    assert_eq!(challenges.len(), 2);
    assert_eq!(challenges[0].algorithm, trygg_sip::Algorithm::Sha256);
    assert!(!challenges[0].stale && challenges[1].stale);
    let ok = accept_response(sip(
        &[
            "SIP/2.0 200 OK",
            "Via: SIP/2.0/UDP 10.0.0.23:5060;branch=z9hG4bKx",
            "From: <sip:46701234567@alarm.example.se>;tag=a83b1c4d",
            "To: <sip:46701234567@alarm.example.se>;tag=srv1",
            "Call-ID: c",
            "CSeq: 2 REGISTER",
            "Contact: <sip:46701234567@10.0.0.23:5060;ob>;expires=600",
            "Expires: 600",
            "Content-Length: 0",
        ],
        "",
    ));
    assert_eq!(ok.status(), 200);
    let response_reason_may_be_empty = accept_response(sip(
        &[
            "SIP/2.0 202 ",
            "Via: SIP/2.0/UDP h;branch=z9hG4bKx",
            "From: <sip:a@h>;tag=1",
            "To: <sip:a@h>",
            "Call-ID: c",
            "CSeq: 2 OPTIONS",
        ],
        "",
    ));
    assert_eq!(response_reason_may_be_empty.reason(), "");
}

#[test]
fn the_response_to_a_register_follows_it_back_through_nat() {
    let request = accept_request(sip(REGISTER, ""));
    let source: SocketAddr = "198.51.100.4:40312".parse().unwrap();
    let mut response = Response::for_request(&request, 200, "OK", Some(source), "srv77").unwrap();
    response
        .push_header("Contact", "<sip:46701234567@10.0.0.23:5060;ob>;expires=600")
        .unwrap();
    response.push_header("Expires", "600").unwrap();
    response
        .push_header("Date", "Sat, 13 Nov 2010 23:29:00 GMT")
        .unwrap();
    let text = String::from_utf8(response.to_bytes()).unwrap();
    assert!(text.starts_with(
        "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/UDP 10.0.0.23:5060;rport=40312;branch=z9hG4bKPj3f7a2c1e9d;received=198.51.100.4\r\n\
         From: <sip:46701234567@alarm.example.se>;tag=a83b1c4d\r\n\
         To: <sip:46701234567@alarm.example.se>;tag=srv77\r\n\
         Call-ID: 5f1b2c3d4e5f60718293@10.0.0.23\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: "
    ));
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    accept(response.to_bytes());
}

#[test]
fn responses_keep_a_to_tag_and_add_none_to_provisional_ones() {
    let mut lines = REGISTER.to_vec();
    lines[4] = "To: <sip:46701234567@alarm.example.se>;tag=dialog";
    let request = accept_request(sip(&lines, ""));
    let response = Response::for_request(&request, 401, "Unauthorized", None, "new").unwrap();
    assert_eq!(
        response.headers().to().unwrap().tag().unwrap(),
        Some("dialog")
    );
    // No source: the Via is copied as it came.
    assert_eq!(response.headers().get("Via"), request.headers().get("Via"));
    let request = accept_request(sip(REGISTER, ""));
    let trying = Response::for_request(&request, 100, "Trying", None, "new").unwrap();
    assert_eq!(trying.headers().to().unwrap().tag().unwrap(), None);
}

#[test]
fn received_is_added_only_when_needed() {
    let mut lines = REGISTER.to_vec();
    lines[1] =
        "Via: SIP/2.0/UDP 10.0.0.23:5060;branch=z9hG4bK1, SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK0";
    let request = accept_request(sip(&lines, ""));
    let same: SocketAddr = "10.0.0.23:5060".parse().unwrap();
    let response = Response::for_request(&request, 200, "OK", Some(same), "t").unwrap();
    let via = response.headers().via().unwrap();
    assert_eq!((via.received(), via.rport()), (None, None));
    let natted: SocketAddr = "[2001:db8::99]:5060".parse().unwrap();
    let response = Response::for_request(&request, 200, "OK", Some(natted), "t").unwrap();
    let via = response.headers().via().unwrap();
    assert_eq!(
        via.received(),
        Some(IpAddr::V6("2001:db8::99".parse().unwrap()))
    );
    assert_eq!(via.rport(), None);
    // The second Via of the same header line is left as written.
    assert_eq!(
        response.headers().vias().unwrap()[1],
        "SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK0"
    );
}

#[test]
fn the_receiver_writes_its_mrs_message() {
    let contact: SipUri = "sip:46701234567@198.51.100.4:40312;ob".parse().unwrap();
    let mut request = Request::new(NewRequest {
        method: Method::Message,
        uri: contact.clone(),
        via: Via::new(
            Transport::Udp,
            Host::Domain("alarm.example.se".into()),
            Some(5060),
            "z9hG4bK7d1f0c",
        )
        .unwrap(),
        from: NameAddr::new("sip:receiver@alarm.example.se".parse().unwrap())
            .with_param("tag", Some("r1a2b3"))
            .unwrap(),
        to: NameAddr::new("sip:46701234567@alarm.example.se".parse().unwrap()),
        call_id: "e4c1a7@alarm.example.se",
        cseq: 1,
    })
    .unwrap();
    let mrs = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><mrs><ref>A7F3K2</ref><snu>0</snu></mrs>";
    request
        .set_body("application/scaip+xml", mrs.as_bytes().to_vec())
        .unwrap();
    let text = String::from_utf8(request.to_bytes()).unwrap();
    assert_eq!(
        text,
        format!(
            "MESSAGE sip:46701234567@198.51.100.4:40312;ob SIP/2.0\r\n\
             Via: SIP/2.0/UDP alarm.example.se:5060;branch=z9hG4bK7d1f0c\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:receiver@alarm.example.se>;tag=r1a2b3\r\n\
             To: <sip:46701234567@alarm.example.se>\r\n\
             Call-ID: e4c1a7@alarm.example.se\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Type: application/scaip+xml\r\n\
             Content-Length: {}\r\n\r\n{mrs}",
            mrs.len()
        )
    );
    assert_eq!(accept_request(request.to_bytes()), request);
    // The device's 200 OK reads.
    let ok = Response::for_request(&request, 200, "OK", None, "dev9").unwrap();
    assert_eq!(parse(&ok.to_bytes()), Ok(trygg_sip::Message::Response(ok)));
}

#[test]
fn builders_refuse_what_would_not_read_back() {
    let request = accept_request(sip(REGISTER, ""));
    assert!(Response::for_request(&request, 99, "x", None, "t").is_err());
    assert!(Response::for_request(&request, 200, "O\r\nK", None, "t").is_err());
    assert!(Response::for_request(&request, 200, "OK", None, "bad tag").is_err());
    let mut response = Response::for_request(&request, 200, "OK", None, "t").unwrap();
    let before = response.clone();
    for (name, value) in [
        ("Bad Name", "x"),
        ("X-Injected", "a\r\nVia: evil"),
        ("Content-Length", "0"),
        ("From", "<sip:a@b>;tag=2"),
        ("CSeq", "x"),
        ("Content-Type", "text"),
    ] {
        assert!(response.push_header(name, value).is_err(), "{name}");
        assert_eq!(response, before);
    }
    assert!(Via::new(Transport::Udp, Host::Domain("h".into()), None, "nocookie").is_err());
    let mut request = request;
    assert!(
        request
            .set_body("text/plain", vec![b'x'; trygg_sip::MAX_BODY + 1])
            .is_err()
    );
    assert!(request.body().is_empty());
    assert!(request.headers().content_type().unwrap().is_none());
}
