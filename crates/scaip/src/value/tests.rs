//! Each element's rule at its boundaries: just valid, just invalid.

use super::*;

/// `input` parses to a value whose canonical text is `canonical`, or (None)
/// is refused.
#[track_caller]
fn check<T>(cases: &[(&str, Option<&str>)])
where
    T: FromStr<Err = InvalidValue> + Display,
{
    for (input, expected) in cases {
        let got = input.parse::<T>().map(|v| v.to_string()).ok();
        assert_eq!(
            got.as_deref(),
            *expected,
            "{} from {input:?}",
            std::any::type_name::<T>()
        );
    }
}

#[test]
fn reference_is_1_to_16_letters_or_digits() {
    check::<Ref>(&[
        ("a", Some("a")),
        ("0123456789abcDEF", Some("0123456789abcDEF")),
        ("0123456789abcDEFG", None),
        ("", None),
        ("ab-1", None),
        ("ab 1", None),
        (" ab", None),
        ("åäö", None),
    ]);
}

#[test]
fn controller_id_is_1_to_32_digits() {
    let d32 = "1".repeat(32);
    let d33 = "1".repeat(33);
    check::<ControllerId>(&[
        ("0", Some("0")),
        ("0046701234567", Some("0046701234567")),
        (&d32, Some(&d32)),
        (&d33, None),
        ("", None),
        ("12a", None),
        ("+46", None),
        ("١٢٣", None),
    ]);
}

#[test]
fn version_is_nn_dot_nn() {
    check::<Version>(&[
        ("01.00", Some("01.00")),
        ("99.99", Some("99.99")),
        ("00.00", Some("00.00")),
        ("1.00", None),
        ("01.0", None),
        ("010.00", None),
        ("01,00", None),
        ("0100", None),
        ("+1.00", None),
        ("", None),
    ]);
    assert_eq!(Version::default(), Version::V01_00);
    assert!(Version::new(100, 0).is_err());
}

#[test]
fn text_is_1_to_max_characters_without_controls() {
    let s32 = "å".repeat(32);
    let s33 = "å".repeat(33);
    check::<ShortText>(&[
        ("x", Some("x")),
        (&s32, Some(&s32)),
        (&s33, None),
        ("", None),
        ("  spaced  ", Some("  spaced  ")),
        ("a&b<c>\"d'", Some("a&b<c>\"d'")),
        ("line\nbreak", None),
        ("tab\t", None),
        ("esc\u{1b}[31m", None),
        ("del\u{7f}", None),
        ("c1\u{85}", None),
        ("bidi\u{202E}", None),
        ("isolate\u{2066}", None),
        ("nonchar\u{FFFF}", None),
        ("emoji 🚑", Some("emoji 🚑")),
    ]);
    check::<LocationValue>(&[("1", Some("1")), ("1A", Some("1A")), ("1AB", None)]);
    let s128 = "x".repeat(128);
    let s129 = "x".repeat(129);
    check::<LongText>(&[(&s128, Some(&s128)), (&s129, None)]);
    let s16 = "d".repeat(16);
    let s17 = "d".repeat(17);
    check::<DeviceId>(&[(&s16, Some(&s16)), (&s17, None)]);
    let s256 = "9".repeat(256);
    let s257 = "9".repeat(257);
    check::<TransferNumber>(&[(&s256, Some(&s256)), (&s257, None)]);
}

#[test]
fn text_debug_does_not_show_the_text() {
    let t: ShortText = "Anna Andersson".parse().unwrap();
    assert_eq!(format!("{t:?}"), "Text(<14 chars>)");
}

#[test]
fn voice_media_has_one_of_four_schemes() {
    let long_sip = format!("sip:{}", "a".repeat(252));
    let too_long_sip = format!("sip:{}", "a".repeat(253));
    check::<VoiceMedia>(&[
        ("gsm:+46701234567", Some("gsm:+46701234567")),
        ("GSM:+46701234567", Some("gsm:+46701234567")),
        ("gsm:0701234567", Some("gsm:0701234567")),
        (
            "gsm:+12345678901234567890",
            Some("gsm:+12345678901234567890"),
        ),
        ("gsm:+123456789012345678901", None),
        ("gsm:+", None),
        ("gsm:", None),
        ("gsm:+46 70", None),
        ("sip:alarm@example.org", Some("sip:alarm@example.org")),
        ("sip:", None),
        ("sip:a b", None),
        ("sip-pp:10.0.0.1:5060", Some("sip-pp:10.0.0.1:5060")),
        ("no-voice:", Some("no-voice:")),
        ("no-voice:x", Some("no-voice:x")),
        ("tel:+4670", None),
        ("sip", None),
        ("", None),
        (&long_sip, Some(&long_sip)),
        (&too_long_sip, None),
    ]);
    let m: VoiceMedia = "Sip-PP:a@b".parse().unwrap();
    assert_eq!(m.kind(), VoiceMediaKind::SipPp);
    assert_eq!(m.address(), "a@b");
    assert_eq!(format!("{m:?}"), "VoiceMedia(sip-pp:<redacted>)");
}

#[test]
fn four_digit_codes_read_1_to_4_digits_and_write_4() {
    check::<StatusCode>(&[
        ("9", Some("0009")),
        ("0009", Some("0009")),
        ("0111", Some("0111")),
        ("9999", Some("9999")),
        ("0", Some("0000")),
        ("00009", None),
        ("", None),
        ("+9", None),
        ("-1", None),
        (" 9", None),
        ("9a", None),
    ]);
    check::<DeviceType>(&[("5", Some("0005")), ("0051", Some("0051")), ("12345", None)]);
}

#[test]
fn unknown_but_well_formed_codes_are_kept() {
    let code: StatusCode = "4242".parse().unwrap();
    assert_eq!(code.value(), 4242);
    assert_eq!(code.name(), None);
    assert_eq!(StatusCode::CHECK_OUT.name(), Some("check-out"));
    let device: DeviceType = "0777".parse().unwrap();
    assert_eq!(device.name(), None);
    assert_eq!(DeviceType::FALL_DETECTOR.name(), Some("fall detector"));
}

#[test]
fn three_digit_codes_read_1_to_3_digits_and_write_3() {
    check::<DeviceComponent>(&[("1", Some("001")), ("999", Some("999")), ("1000", None)]);
    check::<LocationCode>(&[("021", Some("021")), ("", None), ("0210", None)]);
    check::<InfoCode>(&[("7", Some("007")), ("x", None)]);
    check::<HeartbeatOption>(&[
        ("001", Some("001")),
        ("1", Some("001")),
        ("0", Some("000")),
        ("3", Some("003")),
        ("0001", None),
    ]);
}

#[test]
fn one_digit_codes() {
    check::<Priority>(&[("0", Some("0")), ("9", Some("9")), ("10", None), ("", None)]);
    check::<SystemConfiguration>(&[
        ("0", Some("0")),
        ("3", Some("3")),
        ("4", None),
        ("00", None),
    ]);
    check::<CallHandling>(&[
        ("0", Some("0")),
        ("1", Some("1")),
        ("9", Some("9")),
        ("x", None),
    ]);
}

#[test]
fn heartbeat_interval_is_1_to_1440_minutes() {
    check::<HeartbeatInterval>(&[
        ("1", Some("1")),
        ("0001", Some("1")),
        ("1440", Some("1440")),
        ("1441", None),
        ("0", None),
        ("00060", None),
        ("", None),
    ]);
    assert!(HeartbeatInterval::new(0).is_err());
    assert_eq!(HeartbeatInterval::new(60).unwrap().minutes(), 60);
}

#[test]
fn message_type_is_one_of_four() {
    check::<MessageType>(&[
        ("ME", Some("ME")),
        ("RE", Some("RE")),
        ("IN", Some("IN")),
        ("PI", Some("PI")),
        ("me", None),
        ("XX", None),
        ("", None),
    ]);
}

#[test]
fn status_number_is_one_the_standard_defines() {
    check::<StatusNumber>(&[
        ("0", Some("0")),
        ("00000", Some("0")),
        ("7", Some("7")),
        ("10", Some("10")),
        ("99", Some("99")),
        ("8", None),
        ("11", None),
        ("100", None),
        ("000000", None),
        ("", None),
    ]);
    for s in StatusNumber::ALL {
        assert_eq!(StatusNumber::from_code(u32::from(s.code())), Some(s));
    }
}

#[test]
fn media_reply_reads_one_or_two_digits_and_writes_two() {
    check::<MediaReply>(&[
        ("0", Some("00")),
        ("1", Some("01")),
        ("03", Some("03")),
        ("04", None),
        ("4", None),
        ("001", None),
    ]);
}

#[test]
fn call_handling_reply_is_01_to_62() {
    check::<CallHandlingReply>(&[
        ("01", Some("01")),
        ("1", Some("01")),
        ("60", Some("60")),
        ("61", Some("61")),
        ("62", Some("62")),
        ("63", None),
        ("00", None),
        ("0", None),
        ("062", None),
    ]);
    assert_eq!(
        "61".parse::<CallHandlingReply>().unwrap(),
        CallHandlingReply::CallPredefined
    );
    assert_eq!(
        "15".parse::<CallHandlingReply>().unwrap(),
        CallHandlingReply::KeepAutoAnswer(AnswerWindow::new(15).unwrap())
    );
    assert!(AnswerWindow::new(61).is_err());
}

#[test]
fn more_follows_is_0_or_1() {
    assert_eq!(parse_more_follows("0"), Ok(false));
    assert_eq!(parse_more_follows("1"), Ok(true));
    assert!(parse_more_follows("2").is_err());
    assert!(parse_more_follows("01").is_err());
}
