//! Digest: the published test vectors, and the receiver's checks one by
//! one.

use trygg_sip::{
    Algorithm, Authorization, DigestError, DigestServer, HeaderError, Method, NewRequest,
    NonceCountError, NonceCounts, Response, ha1, ha2, request_digest,
};

use crate::{REGISTER, accept_request, accept_response, sip};

const REALM: &str = "alarm.example.se";
const URI: &str = "sip:alarm.example.se";
const USER: &str = "46701234567";
const PASSWORD: &str = "hemligt-lösen";
const NOW: u64 = 1_767_225_600;
const LIFETIME: u64 = 300;

fn server() -> DigestServer {
    DigestServer::new(&[7; 32], REALM, LIFETIME).unwrap()
}

/// The device's answer to the server's challenge for `algorithm`.
fn answer(algorithm: Algorithm, password: &str, nc: u32) -> Authorization {
    let challenges = server().challenges(NOW, [1; 16], false);
    let challenge = challenges
        .iter()
        .find(|c| c.algorithm == algorithm)
        .unwrap();
    challenge.answer(USER, password, &Method::Register, URI, "0a4f113b", nc)
}

fn verify(auth: &Authorization, now: u64) -> Result<trygg_sip::Verified, DigestError> {
    let stored = ha1(auth.algorithm, USER, REALM, PASSWORD);
    server().verify(auth, &Method::Register, URI, &stored, now)
}

#[test]
fn rfc_2617_md5_example() {
    // RFC 2617 §3.5, with qop=auth.
    let ha1 = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    assert_eq!(ha1, "939e7578ed9e3c518a452acee763bce9");
    let ha2 = ha2(Algorithm::Md5, "GET", "/dir/index.html");
    let response = request_digest(
        Algorithm::Md5,
        &ha1,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "00000001",
        "0a4f113b",
        &ha2,
    );
    assert_eq!(response, "6629fae49393a05397450978507c4ef1");
}

#[test]
fn rfc_7616_examples() {
    // RFC 7616 §3.9.1: the same request with MD5 and with SHA-256.
    let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    for (algorithm, expected) in [
        (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
        (
            Algorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let ha1 = ha1(
            algorithm,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        let ha2 = ha2(algorithm, "GET", "/dir/index.html");
        let response = request_digest(algorithm, &ha1, nonce, "00000001", cnonce, &ha2);
        assert_eq!(response, expected, "{algorithm:?}");
    }
}

#[test]
fn challenges_offer_sha256_then_md5_with_one_nonce() {
    let [first, second] = server().challenges(NOW, [9; 16], true);
    assert_eq!(first.algorithm, Algorithm::Sha256);
    assert_eq!(second.algorithm, Algorithm::Md5);
    assert_eq!(first.nonce, second.nonce);
    assert_eq!(first.nonce.len(), 75);
    assert!(
        first
            .nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        first.to_string(),
        format!(
            "Digest realm=\"{REALM}\", nonce=\"{}\", algorithm=SHA-256, qop=\"auth\", stale=true",
            first.nonce
        )
    );
    assert_eq!(trygg_sip::Challenge::parse(&first.to_string()), Ok(first));
    // Another random part or time gives another nonce.
    assert_ne!(server().nonce(NOW, [1; 16]), server().nonce(NOW, [2; 16]));
    assert_ne!(
        server().nonce(NOW, [1; 16]),
        server().nonce(NOW + 1, [1; 16])
    );
}

#[test]
fn the_right_password_is_accepted_with_either_algorithm() {
    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let auth = answer(algorithm, PASSWORD, 1);
        // The header written and read back is the same.
        assert_eq!(Authorization::parse(&auth.to_string()), Ok(auth.clone()));
        let verified = verify(&auth, NOW + LIFETIME).unwrap();
        assert_eq!(verified.username, USER);
        assert_eq!(verified.algorithm, algorithm);
        assert_eq!((verified.nc, verified.issued_at), (1, NOW));
    }
}

#[test]
fn each_check_refuses_what_it_should() {
    let good = answer(Algorithm::Md5, PASSWORD, 1);
    assert_eq!(
        verify(&answer(Algorithm::Md5, "wrong", 1), NOW),
        Err(DigestError::WrongResponse)
    );
    assert_eq!(
        verify(&answer(Algorithm::Sha256, "wrong", 1), NOW),
        Err(DigestError::WrongResponse)
    );
    let other_realm = Authorization {
        realm: "other.example.se".into(),
        ..good.clone()
    };
    assert_eq!(verify(&other_realm, NOW), Err(DigestError::WrongRealm));
    let stored = ha1(Algorithm::Md5, USER, REALM, PASSWORD);
    assert_eq!(
        server().verify(
            &good,
            &Method::Register,
            "sip:other.example.se",
            &stored,
            NOW
        ),
        Err(DigestError::WrongUri)
    );
    // The method is part of the hash.
    assert_eq!(
        server().verify(&good, &Method::Message, URI, &stored, NOW),
        Err(DigestError::WrongResponse)
    );
    // A nonce with one character changed, or from another key or realm.
    let mut tampered = good.clone();
    let flipped = if tampered.nonce.starts_with('A') {
        "B"
    } else {
        "A"
    };
    tampered.nonce.replace_range(..1, flipped);
    assert_eq!(verify(&tampered, NOW), Err(DigestError::BadNonce));
    for nonce in [
        DigestServer::new(&[8; 32], REALM, LIFETIME)
            .unwrap()
            .nonce(NOW, [1; 16]),
        DigestServer::new(&[7; 32], "other", LIFETIME)
            .unwrap()
            .nonce(NOW, [1; 16]),
        "dcd98b7102dd2f0e8b11d0f600bfb0c093".to_owned(),
        String::new(),
        "!!".to_owned(),
    ] {
        let auth = Authorization {
            nonce,
            ..good.clone()
        };
        assert_eq!(verify(&auth, NOW), Err(DigestError::BadNonce));
    }
    // Expired, or from the future (a clock stepped back): stale, but only
    // with the right password.
    assert_eq!(verify(&good, NOW + LIFETIME + 1), Err(DigestError::Stale));
    assert_eq!(verify(&good, NOW - 1), Err(DigestError::Stale));
    assert_eq!(
        verify(&answer(Algorithm::Md5, "wrong", 1), NOW + LIFETIME + 1),
        Err(DigestError::WrongResponse)
    );
    // qop=auth, cnonce and nc are required.
    for auth in [
        Authorization {
            qop: None,
            ..good.clone()
        },
        Authorization {
            qop: Some("auth-int".into()),
            ..good.clone()
        },
    ] {
        assert_eq!(verify(&auth, NOW), Err(DigestError::QopRequired));
    }
    let no_cnonce = Authorization {
        cnonce: None,
        ..good.clone()
    };
    assert_eq!(
        verify(&no_cnonce, NOW),
        Err(DigestError::MissingParam("cnonce"))
    );
    let no_nc = Authorization {
        nc: None,
        ..good.clone()
    };
    assert_eq!(verify(&no_nc, NOW), Err(DigestError::MissingParam("nc")));
    for username in [String::new(), "u".repeat(trygg_sip::MAX_USERNAME + 1)] {
        let auth = Authorization {
            username,
            ..good.clone()
        };
        assert_eq!(verify(&auth, NOW), Err(DigestError::Username));
    }
    // A stored HA1 of the wrong algorithm.
    let sha = ha1(Algorithm::Sha256, USER, REALM, PASSWORD);
    assert_eq!(
        server().verify(&good, &Method::Register, URI, &sha, NOW),
        Err(DigestError::Ha1)
    );
    // Upper-case hex in the response is the same response.
    let upper = Authorization {
        response: good.response.to_uppercase(),
        ..good.clone()
    };
    assert!(verify(&upper, NOW).is_ok());
    assert!(DigestServer::new(&[0; 32], "", 1).is_err());
    assert!(DigestServer::new(&[0; 32], "a\nb", 1).is_err());
}

#[test]
fn authorization_headers_are_read_strictly() {
    let base = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", response=\"0\"";
    let auth = Authorization::parse(base).unwrap();
    assert_eq!(auth.algorithm, Algorithm::Md5);
    assert_eq!((auth.qop, auth.nc, auth.cnonce), (None, None, None));
    let full =
        format!("{base},algorithm=sha-256,qop=auth,nc=0000000a,cnonce=\"x\",opaque=\"o\",extra=1");
    let auth = Authorization::parse(&full).unwrap();
    assert_eq!(auth.algorithm, Algorithm::Sha256);
    assert_eq!(auth.nc.as_deref(), Some("0000000a"));
    assert_eq!(auth.opaque.as_deref(), Some("o"));
    for (value, error) in [
        (
            format!("{base}, algorithm=MD5-sess"),
            HeaderError::Unsupported("algorithm"),
        ),
        (
            format!("{base}, algorithm=SHA-512-256"),
            HeaderError::Unsupported("algorithm"),
        ),
        (
            format!("{base}, userhash=true"),
            HeaderError::Unsupported("userhash"),
        ),
        (format!("{base}, nc=1"), HeaderError::Syntax),
        (format!("{base}, nc=0000000g"), HeaderError::Syntax),
        (format!("{base}, realm=\"r\""), HeaderError::RepeatedParam),
        (format!("{base}, uri=sip:x"), HeaderError::Syntax),
        (format!("{base}, cnonce=\"open"), HeaderError::Syntax),
        (format!("{base},"), HeaderError::Syntax),
        ("Digest".to_owned(), HeaderError::Syntax),
        (
            "Bearer abc".to_owned(),
            HeaderError::Unsupported("authentication scheme"),
        ),
        (
            "Digest realm=\"r\", nonce=\"n\", uri=\"u\", response=\"0\"".to_owned(),
            HeaderError::MissingParam("username"),
        ),
    ] {
        assert_eq!(Authorization::parse(&value), Err(error), "{value}");
    }
    // Quoted values may hold escaped quotes and commas.
    let escaped =
        "Digest username=\"a\\\"b,c\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", response=\"0\"";
    assert_eq!(Authorization::parse(escaped).unwrap().username, "a\"b,c");
}

#[test]
fn nonce_counts_refuse_replays_and_stay_bounded() {
    let mut counts = NonceCounts::new(2, LIFETIME);
    let first = verify(&answer(Algorithm::Md5, PASSWORD, 1), NOW).unwrap();
    assert_eq!(counts.check(&first, NOW), Ok(()));
    assert_eq!(counts.check(&first, NOW), Err(NonceCountError::Replay));
    let third = verify(&answer(Algorithm::Md5, PASSWORD, 3), NOW).unwrap();
    assert_eq!(counts.check(&third, NOW), Ok(()));
    let second = verify(&answer(Algorithm::Md5, PASSWORD, 2), NOW).unwrap();
    assert_eq!(counts.check(&second, NOW), Err(NonceCountError::Replay));
    let other = |random: u8, at: u64| {
        let challenge = &server().challenges(at, [random; 16], false)[1];
        let auth = challenge.answer(USER, PASSWORD, &Method::Register, URI, "c", 1);
        verify(&auth, at).unwrap()
    };
    assert_eq!(counts.check(&other(2, NOW), NOW), Ok(()));
    assert_eq!(
        counts.check(&other(3, NOW), NOW),
        Err(NonceCountError::Full)
    );
    assert_eq!(counts.len(), 2);
    // Once their nonces have expired, entries make room.
    let later = NOW + LIFETIME + 1;
    assert_eq!(counts.check(&other(3, later), later), Ok(()));
    assert_eq!(counts.len(), 1);
}

#[test]
fn a_device_registers_through_a_challenge() {
    let server = server();
    // 1. The first REGISTER has no credentials: 401 with both challenges.
    let register = accept_request(sip(REGISTER, ""));
    assert_eq!(register.headers().authorization(), Ok(None));
    let mut unauthorized =
        Response::for_request(&register, 401, "Unauthorized", None, "s1").unwrap();
    for challenge in server.challenges(NOW, [5; 16], false) {
        unauthorized
            .push_header("WWW-Authenticate", &challenge.to_string())
            .unwrap();
    }
    // 2. The device reads the 401 and answers the first challenge it
    //    supports, here MD5 (as sipp and most devices do).
    let received = accept_response(unauthorized.to_bytes());
    let challenges = received.headers().www_authenticate().unwrap();
    let md5 = challenges
        .iter()
        .find(|c| c.algorithm == Algorithm::Md5)
        .unwrap();
    let auth = md5.answer(USER, PASSWORD, &Method::Register, URI, "6a9c", 1);
    let via = trygg_sip::Via::parse("SIP/2.0/UDP 10.0.0.23:5060;rport;branch=z9hG4bK2").unwrap();
    let mut again = trygg_sip::Request::new(NewRequest {
        method: Method::Register,
        uri: URI.parse().unwrap(),
        via,
        from: register.headers().from().unwrap(),
        to: register.headers().to().unwrap(),
        call_id: register.headers().call_id().unwrap(),
        cseq: 2,
    })
    .unwrap();
    again
        .push_header("Authorization", &auth.to_string())
        .unwrap();
    // 3. The receiver reads the second REGISTER and checks it.
    let again = accept_request(again.to_bytes());
    let auth = again.headers().authorization().unwrap().unwrap();
    let stored = ha1(auth.algorithm, &auth.username, REALM, PASSWORD);
    let verified = server
        .verify(
            &auth,
            again.method(),
            again.uri().as_str(),
            &stored,
            NOW + 2,
        )
        .unwrap();
    assert_eq!(verified.username, USER);
}
