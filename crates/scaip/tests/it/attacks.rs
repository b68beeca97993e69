//! The XML attacks: each is refused at once, with the `snu` its kind gets,
//! and nothing is expanded, fetched or allocated beyond the body limit.

use trygg_scaip::{MAX_BODY, Reason, StatusNumber};

use crate::reject;

const LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<mrq><ref>R1</ref><cid>1</cid><dty>1</dty><stt>&lol9;</stt></mrq>"#;

#[test]
fn billion_laughs() {
    let rejection = reject(LAUGHS);
    assert_eq!(rejection.status_number(), StatusNumber::InvalidFormat);
    assert_eq!(rejection.reason(), &Reason::DocType);
}

#[test]
fn billion_laughs_without_its_declarations_expands_nothing() {
    // The references alone, as if the DTD had been accepted elsewhere.
    let rejection = reject("<mrq><ref>R1</ref><cid>1</cid><dty>1</dty><stt>&lol9;</stt></mrq>");
    assert_eq!(rejection.status_number(), StatusNumber::InvalidFormat);
    assert!(matches!(rejection.reason(), Reason::Entity(s) if s.as_str() == "lol9"));
    assert_eq!(rejection.reference().map(|r| r.as_str()), Some("R1"));
}

#[test]
fn external_entity() {
    for body in [
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE mrq [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<mrq><ref>R1</ref><cid>1</cid><dty>1</dty><stt>&xxe;</stt></mrq>"#,
        r#"<!DOCTYPE mrq SYSTEM "http://127.0.0.1:1/scaip.dtd"><mrq><ref>R1</ref><cid>1</cid><dty>1</dty></mrq>"#,
        r#"<!DOCTYPE mrq [ <!ENTITY % p SYSTEM "file:///etc/passwd"> %p; ]><mrq><ref>R1</ref><cid>1</cid><dty>1</dty></mrq>"#,
    ] {
        let rejection = reject(body);
        assert_eq!(
            rejection.status_number(),
            StatusNumber::InvalidFormat,
            "{body}"
        );
        assert_eq!(rejection.reason(), &Reason::DocType, "{body}");
        assert!(!rejection.to_string().contains("root:"), "{rejection}");
    }
}

#[test]
fn quadratic_blowup() {
    let big = "x".repeat(4000);
    let body = format!(
        "<!DOCTYPE mrq [<!ENTITY a \"{big}\">]><mrq><ref>R1</ref><cid>1</cid><dty>1</dty><ite>{}</ite></mrq>",
        "&a;".repeat(100)
    );
    assert!(body.len() <= MAX_BODY);
    assert_eq!(reject(&body).reason(), &Reason::DocType);
}

/// 10,000 levels of nesting take 30,000 bytes or more: over the limit, so
/// the answer is `snu=1` and only the first `MAX_BODY` bytes are ever
/// looked at (for a reference). Within the limit, nesting is refused at the
/// first level the shape does not allow.
#[test]
fn ten_thousand_deep_nesting() {
    let deep = |prefix: &str, open: &str, n: usize| {
        let mut body = String::from(prefix);
        for _ in 0..n {
            body.push_str(open);
        }
        body
    };
    let ten_thousand = [
        deep("", "<a>", 10_000),
        deep("", "<mrq>", 10_000),
        deep("<mrq><ref>R1</ref>", "<lge>", 10_000),
        deep("<mrq><ref>R1</ref><lge><geo>", "<geo>", 10_000),
    ];
    for body in &ten_thousand {
        let rejection = reject(body);
        assert_eq!(rejection.status_number(), StatusNumber::TooLong);
    }
    assert_eq!(
        reject(&ten_thousand[2]).reference().map(|r| r.as_str()),
        Some("R1")
    );

    // 1,500 levels fit in the limit: the first extra level ends the reading.
    let within = |prefix: &str, open: &str| {
        let body = deep(prefix, open, 1_500);
        assert!(body.len() <= MAX_BODY);
        reject(body)
    };
    assert!(matches!(within("", "<a>").reason(), Reason::Root { .. }));
    assert!(matches!(
        within("", "<mrq>").reason(),
        Reason::UnknownElement(_)
    ));
    assert!(matches!(
        within("<mrq><ref>R1</ref>", "<lge>").reason(),
        Reason::UnknownElement(_)
    ));
    let r = within("<mrq><ref>R1</ref><lge><geo>", "<geo>");
    assert!(matches!(r.reason(), Reason::Nested { .. }));
    assert_eq!(r.status_number(), StatusNumber::InvalidFormat);
    assert_eq!(r.reference().map(|r| r.as_str()), Some("R1"));
    let r = within("<mrq><ref>R1</ref><stt>", "<b>");
    assert!(matches!(r.reason(), Reason::Nested { .. }));
}

#[test]
fn ten_megabyte_body() {
    let mut body = b"<mrq><ref>BIG1</ref><cid>1</cid><dty>1</dty><ite>".to_vec();
    body.resize(10 * 1024 * 1024, b'A');
    body.extend_from_slice(b"</ite></mrq>");
    let rejection = reject(&body);
    assert_eq!(rejection.status_number(), StatusNumber::TooLong);
    assert_eq!(rejection.reference().map(|r| r.as_str()), Some("BIG1"));

    // The same without a reference, and as binary noise.
    let rejection = reject(vec![b'<'; 10 * 1024 * 1024]);
    assert_eq!(rejection.status_number(), StatusNumber::TooLong);
    assert_eq!(rejection.reference(), None);
    let noise: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    assert_eq!(reject(&noise).status_number(), StatusNumber::TooLong);
}

#[test]
fn many_small_events_within_the_limit() {
    // The most events a body can hold: one per byte or two.
    for body in [
        format!(
            "<mrq><ref>R1</ref><cid>1</cid><dty>1</dty><ite>{}</ite></mrq>",
            "&amp;".repeat(1500)
        ),
        format!(
            "<mrq><ref>R1</ref><cid>1</cid><dty>1</dty>{}</mrq>",
            "<!---->".repeat(1100)
        ),
        format!(
            "<mrq><ref>R1</ref><cid>1</cid><dty>1</dty><stt>{}</stt></mrq>",
            "<!---->".repeat(1100)
        ),
    ] {
        assert!(body.len() <= MAX_BODY);
        crate::check_any_body(body.as_bytes());
    }
}

#[test]
fn unclosed_constructs_end_at_the_end_of_the_body() {
    for body in [
        "<!DOCTYPE mrq [",
        "<!-- never closed",
        "<![CDATA[ never closed",
        "<?xml version=\"1.0\"",
        "<mrq><ref>R1</ref><stt>&amp",
        "<mrq a=\"",
        "<mrq><ref>R1</ref><",
        "<",
        "&",
        "]]>",
    ] {
        let rejection = reject(body);
        assert_eq!(
            rejection.status_number(),
            StatusNumber::InvalidFormat,
            "{body}: {rejection}"
        );
    }
}
