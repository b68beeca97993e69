//! The XML rules, and the `snu` each kind of bad input gets.

use trygg_scaip::{
    DeviceType, Field, MAX_BODY, Reason, Request, StatusCode, StatusNumber, encode_request,
    parse_request, parse_response,
};

use crate::{accept, reject};

const MIN: &str = "<ref>R1</ref><cid>1</cid><dty>1</dty>";

fn mrq(inner: &str) -> String {
    format!("<mrq>{inner}</mrq>")
}

/// `body` is rejected with `snu`, and the rejection names `reference`.
#[track_caller]
fn check(body: &str, snu: u8, reference: Option<&str>) -> Reason {
    let rejection = reject(body);
    assert_eq!(rejection.status_number().code(), snu, "{body}: {rejection}");
    assert_eq!(
        rejection.reference().map(|r| r.as_str()),
        reference,
        "{body}: {rejection}"
    );
    rejection.reason().clone()
}

#[test]
fn declaration_byte_order_mark_whitespace_comments_and_any_order_are_fine() {
    let plain = accept(mrq(MIN));
    for body in [
        format!(r#"<?xml version="1.0"?>{}"#, mrq(MIN)),
        format!(r#"<?xml version="1.0" encoding="utf-8" standalone="yes"?>{}"#, mrq(MIN)),
        format!("\u{FEFF}{}", mrq(MIN)),
        format!("\n  {}\n", mrq(MIN)),
        "<!-- a --><mrq>\n\t<dty>1</dty>\r\n <!-- b --> <cid>1</cid><ref>R1</ref>\n</mrq><!-- c -->\n"
            .to_owned(),
        "<mrq ><ref >R1</ref ><cid>1</cid><dty>1</dty></mrq >".to_owned(),
    ] {
        assert_eq!(accept(&body), plain, "{body}");
    }
}

#[test]
fn comments_inside_a_value_are_dropped() {
    let request = accept(mrq(&format!("{MIN}<stt>Fa<!-- x -->ll</stt>")));
    assert_eq!(request.status_text.unwrap().as_str(), "Fall");
    check(&mrq(&format!("{MIN}<!-- a -- b -->")), 2, Some("R1"));
}

#[test]
fn the_declaration_must_come_first_and_say_1_0_in_utf_8() {
    let min = mrq(MIN);
    for body in [
        format!(" <?xml version=\"1.0\"?>{min}"),
        format!("<!-- x --><?xml version=\"1.0\"?>{min}"),
        format!("<?xml version=\"1.1\"?>{min}"),
        format!("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{min}"),
        format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{min}"),
        format!("<?xml encoding=\"UTF-8\"?>{min}"),
    ] {
        check(&body, 2, None);
    }
}

#[test]
fn no_dtd_processing_instruction_or_cdata() {
    assert_eq!(
        check(&format!("<!DOCTYPE mrq>{}", mrq(MIN)), 2, None),
        Reason::DocType
    );
    assert!(matches!(
        check(
            &format!("<?xml-stylesheet href=\"a\"?>{}", mrq(MIN)),
            2,
            None
        ),
        Reason::ProcessingInstruction(_)
    ));
    assert!(matches!(
        check(&mrq(&format!("{MIN}<?php echo 1?>")), 2, Some("R1")),
        Reason::ProcessingInstruction(_)
    ));
    assert_eq!(
        check(
            &mrq(&format!("{MIN}<stt><![CDATA[x]]></stt>")),
            2,
            Some("R1")
        ),
        Reason::Cdata
    );
}

#[test]
fn only_the_predefined_entities_and_character_references() {
    for entity in [
        "&nbsp;",
        "&lol;",
        "&xxe;",
        "&#0;",
        "&#x1;",
        "&#xFFFE;",
        "&#xD800;",
        "&#x110000;",
        "&#;",
        "&#xZZ;",
    ] {
        let reason = check(&mrq(&format!("{MIN}<stt>a{entity}</stt>")), 2, Some("R1"));
        assert!(
            matches!(reason, Reason::Entity(_) | Reason::Malformed(_)),
            "{entity}: {reason}"
        );
    }
    check(&mrq(&format!("{MIN}<stt>a & b</stt>")), 2, Some("R1"));
    // A reference where no value stands.
    check(&mrq(&format!("{MIN}&#32;")), 2, Some("R1"));
    // A valid character reference to a character text does not allow.
    check(&mrq(&format!("{MIN}<stt>a&#x9B;2J</stt>")), 3, Some("R1"));
    check(&mrq(&format!("{MIN}<stt>a&#9;b</stt>")), 3, Some("R1"));
    check(&mrq(&format!("{MIN}<stt>a&#x202E;</stt>")), 3, Some("R1"));
}

#[test]
fn no_attributes() {
    for body in [
        format!(r#"<mrq xmlns="urn:x">{MIN}</mrq>"#),
        mrq(r#"<ref id="1">R1</ref><cid>1</cid><dty>1</dty>"#),
        mrq(&format!(r#"{MIN}<lge a="b"/>"#)),
        mrq(&format!(r#"{MIN}<stc x='1'/>"#)),
    ] {
        assert!(
            matches!(reject(&body).reason(), Reason::Attribute(_)),
            "{body}"
        );
        assert_eq!(reject(&body).status_number(), StatusNumber::InvalidFormat);
    }
}

#[test]
fn the_shape_is_fixed() {
    // The root.
    check(&format!("<mrs>{MIN}</mrs>"), 2, None);
    check("<MRQ><ref>R1</ref></MRQ>", 2, None);
    check(&format!("{}<mrq/>", mrq(MIN)), 2, Some("R1"));
    check(&format!("{}x", mrq(MIN)), 2, Some("R1"));
    check(&format!("{}&amp;", mrq(MIN)), 2, Some("R1"));
    check(&format!("x{}", mrq(MIN)), 2, None);
    // Text between elements.
    check(&mrq(&format!("{MIN}help")), 2, Some("R1"));
    check(
        &mrq(&format!("{MIN}<lge>x<geo>1,1</geo></lge>")),
        2,
        Some("R1"),
    );
    // Elements inside values.
    let reason = check(&mrq(&format!("{MIN}<stc><b>9</b></stc>")), 2, Some("R1"));
    assert!(matches!(
        reason,
        Reason::Nested {
            field: Field::Stc,
            ..
        }
    ));
    check(
        &mrq(&format!("{MIN}<lge><geo><geo>1,1</geo></geo></lge>")),
        2,
        Some("R1"),
    );
    // Truncated, mismatched, empty.
    check("<mrq><ref>R1</ref><cid>1</cid><dty>1</dty>", 2, Some("R1"));
    check("<mrq><ref>R1</ref><cid>1</cid></dty></mrq>", 2, Some("R1"));
    check("", 2, None);
    check("   ", 2, None);
    check("<!-- only -->", 2, None);
}

#[test]
fn a_repeated_element_is_invalid_format() {
    let reason = check(
        &mrq(&format!("{MIN}<stc>0009</stc><stc>0111</stc>")),
        2,
        Some("R1"),
    );
    assert_eq!(reason, Reason::Duplicate(Field::Stc));
    check(&mrq(&format!("{MIN}<lge/><lge/>")), 2, Some("R1"));
    check(
        &mrq(&format!("{MIN}<lge><geo>1,1</geo><geo>2,2</geo></lge>")),
        2,
        Some("R1"),
    );
    // Two references are no reference.
    let reason = check(&mrq(&format!("{MIN}<ref>R2</ref>")), 2, None);
    assert_eq!(reason, Reason::Duplicate(Field::Ref));
}

#[test]
fn an_unknown_element_is_wrong_content() {
    let reason = check(&mrq(&format!("{MIN}<xyz>1</xyz>")), 3, Some("R1"));
    assert!(matches!(reason, Reason::UnknownElement(ref s) if s.as_str() == "xyz"));
    check(&mrq(&format!("{MIN}<REF>1</REF>")), 3, Some("R1"));
    check(&mrq(&format!("{MIN}<s:stc>1</s:stc>")), 3, Some("R1"));
    check(&mrq(&format!("{MIN}<snu>0</snu>")), 3, Some("R1"));
    check(&mrq(&format!("{MIN}<geo>1,1</geo>")), 3, Some("R1"));
    check(
        &mrq(&format!("{MIN}<lge><stc>1</stc></lge>")),
        3,
        Some("R1"),
    );
    check(&mrq(&format!("{MIN}<mrq/>")), 3, Some("R1"));
    // Found before the reference: the answer cannot name it.
    check(&mrq(&format!("<xyz/>{MIN}")), 3, None);
}

#[test]
fn a_value_that_breaks_its_rule_is_wrong_content() {
    for (inner, field) in [
        ("<stc>00x9</stc>", Field::Stc),
        ("<stc> 9</stc>", Field::Stc),
        ("<stc></stc>", Field::Stc),
        ("<stc/>", Field::Stc),
        ("<mty>XX</mty>", Field::Mty),
        ("<ver>1.0</ver>", Field::Ver),
        ("<pri>10</pri>", Field::Pri),
        ("<crd>tel:+46</crd>", Field::Crd),
        ("<stt></stt>", Field::Stt),
        ("<ame>2</ame>", Field::Ame),
        ("<lge><geo>91,0</geo></lge>", Field::Geo),
        ("<lge><tim>2026-11-30T21:04:05</tim></lge>", Field::Tim),
    ] {
        let reason = check(&mrq(&format!("{MIN}{inner}")), 3, Some("R1"));
        assert!(
            matches!(reason, Reason::Value { field: f, .. } if f == field),
            "{inner}: {reason}"
        );
    }
}

#[test]
fn after_a_bad_value_reading_goes_on_to_find_the_reference() {
    let reason = check(
        "<mrq><stc>x</stc><ref>R9</ref><cid>1</cid><dty>1</dty></mrq>",
        3,
        Some("R9"),
    );
    assert!(matches!(
        reason,
        Reason::Value {
            field: Field::Stc,
            ..
        }
    ));
    // The first bad value is the one reported.
    let reason = check(
        "<mrq><stc>x</stc><pri>x</pri><ref>R9</ref><cid>1</cid><dty>1</dty></mrq>",
        3,
        Some("R9"),
    );
    assert!(matches!(
        reason,
        Reason::Value {
            field: Field::Stc,
            ..
        }
    ));
    // A structural problem later still ends the reading with snu 2.
    check(
        "<mrq><stc>x</stc><ref>R9</ref><cid a='1'>1</cid></mrq>",
        2,
        Some("R9"),
    );
    // A bad value and a missing mandatory element: the bad value.
    check("<mrq><ref>R9</ref><stc>x</stc></mrq>", 3, Some("R9"));
}

#[test]
fn reference_missing_is_10_and_other_mandatory_elements_7() {
    assert_eq!(
        check("<mrq><cid>1</cid><dty>1</dty></mrq>", 10, None),
        Reason::RefMissing
    );
    check("<mrq/>", 10, None);
    check("<mrq></mrq>", 10, None);
    // Without a reference, 10 wins over a bad value.
    check("<mrq><stc>x</stc><cid>1</cid><dty>1</dty></mrq>", 10, None);
    // A reference that breaks its rule is there but unusable: 3, without it.
    check("<mrq><ref>R-1</ref><cid>1</cid><dty>1</dty></mrq>", 3, None);
    check("<mrq><ref></ref><cid>1</cid><dty>1</dty></mrq>", 3, None);
    check(
        &mrq(&format!(
            "<ref>{}</ref><cid>1</cid><dty>1</dty>",
            "A".repeat(17)
        )),
        3,
        None,
    );
    assert_eq!(
        check("<mrq><ref>R1</ref><dty>1</dty></mrq>", 7, Some("R1")),
        Reason::Missing(Field::Cid)
    );
    assert_eq!(
        check("<mrq><ref>R1</ref><cid>1</cid></mrq>", 7, Some("R1")),
        Reason::Missing(Field::Dty)
    );
}

#[test]
fn not_utf_8_is_invalid_format() {
    let mut body = b"<mrq><ref>R1</ref><cid>1</cid><dty>1</dty><stt>".to_vec();
    body.extend_from_slice(b"\xe5\xe4\xf6</stt></mrq>");
    let rejection = reject(&body);
    assert_eq!(rejection.status_number(), StatusNumber::InvalidFormat);
    assert!(matches!(rejection.reason(), Reason::NotUtf8 { at: 47 }));
    assert_eq!(rejection.reference().map(|r| r.as_str()), Some("R1"));

    let utf16: Vec<u8> = "<mrq><ref>R1</ref></mrq>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(reject(&utf16).status_number(), StatusNumber::InvalidFormat);
}

#[test]
fn too_long_is_1_and_keeps_a_reference_from_the_start() {
    let head = mrq(MIN);
    let mut body = head.clone().into_bytes();
    body.resize(MAX_BODY, b' ');
    accept(&body);
    body.push(b' ');
    let rejection = reject(&body);
    assert_eq!(rejection.status_number(), StatusNumber::TooLong);
    assert_eq!(rejection.reference().map(|r| r.as_str()), Some("R1"));
    assert_eq!(
        rejection.reason(),
        &Reason::TooLong {
            len: MAX_BODY + 1,
            limit: MAX_BODY
        }
    );
    let rejection = reject(vec![b'x'; MAX_BODY + 1]);
    assert_eq!(rejection.status_number(), StatusNumber::TooLong);
    assert_eq!(rejection.reference(), None);
}

#[test]
fn rejections_never_repeat_a_value() {
    let secret = "AnnaAndersson";
    for body in [
        mrq(&format!("{MIN}<stt>{secret}\u{1b}</stt>")),
        mrq(&format!("{MIN}<crd>tel:{secret}</crd>")),
        mrq(&format!("{MIN}<lge><geo>{secret}</geo></lge>")),
        mrq(&format!("{MIN}<cid>{secret}</cid>")),
    ] {
        let rejection = reject(&body);
        let shown = format!("{rejection} {rejection:?} {:?}", rejection.response());
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn snippets_in_reasons_are_bounded_and_sanitised() {
    let tag = format!("x{}", "y".repeat(5000));
    let rejection = reject(mrq(&format!("{MIN}<{tag}/>")));
    assert!(rejection.to_string().len() < 200, "{rejection}");
    let rejection = reject(mrq(&format!("{MIN}<x\u{202E}y/>")));
    assert!(rejection.to_string().is_ascii(), "{rejection}");
}

/// A request with every element at its longest, its free text made of
/// `wide` and its ASCII values of `ascii`.
fn largest_request(wide: &str, ascii: &str) -> Request {
    use trygg_scaip::*;
    let mut r = Request::new(
        "ABCDEFGHIJKLMNOP".parse().unwrap(),
        "1".repeat(32).parse().unwrap(),
        DeviceType::new(9999).unwrap(),
    );
    let wide = |n: usize| wide.repeat(n);
    r.version = Some(Version::new(99, 99).unwrap());
    r.system_configuration = Some("3".parse().unwrap());
    r.call_handling = Some("9".parse().unwrap());
    r.message_type = Some(MessageType::Heartbeat);
    r.heartbeat_option = Some("999".parse().unwrap());
    r.device_id = Some(wide(16).parse().unwrap());
    r.device_component = Some("999".parse().unwrap());
    r.device_text = Some(wide(32).parse().unwrap());
    r.voice_media = Some(format!("sip:{}", ascii.repeat(252)).parse().unwrap());
    r.status_code = Some(StatusCode::new(9999).unwrap());
    r.status_text = Some(wide(32).parse().unwrap());
    r.priority = Some("9".parse().unwrap());
    r.location_code = Some("999".parse().unwrap());
    r.location_value = Some(wide(2).parse().unwrap());
    r.geo_location = Some(GeoLocation {
        position: Some("-89.999999,-179.999999".parse().unwrap()),
        time: Some("2026-11-30T21:04:05-09:30".parse().unwrap()),
        gga: Some(ascii.repeat(81).parse().unwrap()),
    });
    r.location_text = Some(wide(32).parse().unwrap());
    r.info_code = Some("999".parse().unwrap());
    r.info_text = Some(wide(128).parse().unwrap());
    r.more_follows = Some(true);
    r
}

#[test]
fn the_largest_request_is_under_4_kib() {
    // `&` is the character that grows most when written (`&amp;`).
    let canonical = encode_request(&largest_request("&", "&"));
    assert!(canonical.len() < 4 * 1024, "{}", canonical.len());
    let canonical = encode_request(&largest_request("\u{10FFFF}", "~"));
    assert!(canonical.len() < 4 * 1024, "{}", canonical.len());
}

#[test]
fn the_largest_request_fits_even_with_every_character_as_a_reference() {
    // The longest references: `&#1114111;` and, in ASCII-only values, `&#126;`.
    let r = largest_request("\u{10FFFF}", "~");
    let canonical = encode_request(&r);

    // Every character of every value as a numeric character reference.
    let mut referenced = String::new();
    let mut in_value = false;
    for c in canonical.chars() {
        match c {
            '<' => {
                in_value = false;
                referenced.push(c);
            }
            '>' => {
                in_value = true;
                referenced.push(c);
            }
            c if in_value => referenced.push_str(&format!("&#{};", u32::from(c))),
            c => referenced.push(c),
        }
    }
    assert!(referenced.len() <= MAX_BODY, "{}", referenced.len());
    assert_eq!(parse_request(referenced.as_bytes()), Ok(r));
}

#[test]
fn responses_follow_the_same_rules() {
    let rejection = parse_response(b"<mrs><ref>R1</ref></mrs>").unwrap_err();
    assert_eq!(rejection.status_number(), StatusNumber::MandatoryTagMissing);
    assert_eq!(rejection.reference().map(|r| r.as_str()), Some("R1"));
    for (body, snu) in [
        ("<mrs><ref>R1</ref><snu>8</snu></mrs>", 3),
        ("<mrs><ref>R1</ref><snu>0</snu><hbi>0</hbi></mrs>", 3),
        ("<mrs><ref>R1</ref><snu>0</snu><hbi>1441</hbi></mrs>", 3),
        ("<mrs><ref>R1</ref><snu>0</snu><cre>63</cre></mrs>", 3),
        ("<mrs><ref>R1</ref><snu>0</snu><stc>1</stc></mrs>", 3),
        ("<mrs><ref>R1</ref><snu>0</snu><snu>0</snu></mrs>", 2),
        ("<mrq><ref>R1</ref><snu>0</snu></mrq>", 2),
        ("<!DOCTYPE mrs><mrs><ref>R1</ref><snu>0</snu></mrs>", 2),
    ] {
        let rejection = parse_response(body.as_bytes()).unwrap_err();
        assert_eq!(rejection.status_number().code(), snu, "{body}: {rejection}");
    }
}

#[test]
fn encoding_escapes_markup_in_text() {
    let mut r = Request::new(
        "R".parse().unwrap(),
        "1".parse().unwrap(),
        DeviceType::new(1).unwrap(),
    );
    r.status_text = Some("</stt><stc>0009</stc>".parse().unwrap());
    r.voice_media = Some("sip:a&b<c>@x".parse().unwrap());
    let text = encode_request(&r);
    assert!(!text.contains("<stc>"), "{text}");
    let back = accept(&text);
    assert_eq!(back.status_code, None::<StatusCode>);
    assert_eq!(back, r);
}

#[test]
fn element_order_does_not_change_the_message() {
    let a = accept(
        "<mrq><ref>R</ref><cid>1</cid><dty>1</dty><stc>9</stc><lge><tim>2026-01-01T00:00:00Z</tim><geo>1,2</geo></lge></mrq>",
    );
    let b = accept(
        "<mrq><lge><geo>1,2</geo><tim>2026-01-01T00:00:00Z</tim></lge><stc>9</stc><dty>1</dty><cid>1</cid><ref>R</ref></mrq>",
    );
    assert_eq!(a, b);
}
