//! Properties over generated messages and bytes.

use std::str::FromStr;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
use trygg_scaip::{
    AnswerWindow, CallHandling, CallHandlingReply, ControllerId, DeviceComponent, DeviceType,
    FixTime, GeoLocation, GeoPosition, Gga, HeartbeatInterval, HeartbeatOption, InfoCode,
    LocationCode, MediaReply, MessageType, Priority, Ref, Request, Response, StatusCode,
    StatusNumber, SystemConfiguration, Text, Version, VoiceMedia, encode_request, encode_response,
    parse_request,
};

use crate::{
    assert_request_round_trips, assert_response_round_trips, assert_valid_rejection, check_any_body,
};

const ALNUM: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn from_chars(
    chars: &'static str,
    len: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = String> {
    vec(select(chars.chars().collect::<Vec<_>>()), len).prop_map(String::from_iter)
}

fn digits(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    from_chars("0123456789", len)
}

fn parsed<T: FromStr + std::fmt::Debug>(
    s: impl Strategy<Value = String>,
) -> impl Strategy<Value = T> {
    s.prop_filter_map("valid", |s| s.parse().ok())
}

/// Any character free text allows (most of Unicode).
fn text_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("text character", |c| {
        c.to_string().parse::<Text<1>>().is_ok()
    })
}

fn text<const N: usize>() -> impl Strategy<Value = Text<N>> {
    vec(text_char(), 1..=N).prop_filter_map("text", |cs| String::from_iter(cs).parse().ok())
}

fn visible_ascii(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    vec((0x21u8..=0x7E).prop_map(char::from), len).prop_map(String::from_iter)
}

fn voice_media() -> impl Strategy<Value = VoiceMedia> {
    let s = prop_oneof![
        (any::<bool>(), digits(1..=20))
            .prop_map(|(plus, d)| format!("gsm:{}{d}", if plus { "+" } else { "" })),
        visible_ascii(1..=252).prop_map(|a| format!("sip:{a}")),
        visible_ascii(1..=249).prop_map(|a| format!("sip-pp:{a}")),
        visible_ascii(0..=247).prop_map(|a| format!("no-voice:{a}")),
    ];
    parsed(s)
}

fn geo_location() -> impl Strategy<Value = GeoLocation> {
    let position = (-90_000_000i64..=90_000_000, -180_000_000i64..=180_000_000)
        .prop_map(|(lat, lon)| GeoPosition::from_micro(lat, lon).unwrap());
    let time = (
        (0i32..=9999, 1u8..=12, 1u8..=28),
        (0u8..=23, 0u8..=59, 0u8..=59),
        (any::<bool>(), 0i8..=23, prop_oneof![Just(0i8), 0i8..=59]),
    )
        .prop_map(|((y, mo, d), (h, mi, s), (negative, oh, om))| {
            let sign = if negative { -1 } else { 1 };
            let date = Date::from_calendar_date(y, Month::try_from(mo).unwrap(), d).unwrap();
            let at = PrimitiveDateTime::new(date, Time::from_hms(h, mi, s).unwrap())
                .assume_offset(UtcOffset::from_hms(sign * oh, sign * om, 0).unwrap());
            FixTime::new(at).unwrap()
        });
    let gga = vec((0x20u8..=0x7E).prop_map(char::from), 1..=81)
        .prop_map(|cs| String::from_iter(cs).parse::<Gga>().unwrap());
    (
        proptest::option::of(position),
        proptest::option::of(time),
        proptest::option::of(gga),
    )
        .prop_map(|(position, time, gga)| GeoLocation {
            position,
            time,
            gga,
        })
}

fn request() -> impl Strategy<Value = Request> {
    use proptest::option::of;
    let ids = (
        parsed::<Ref>(from_chars(ALNUM, 1..=16)),
        parsed::<ControllerId>(digits(1..=32)),
        (0u16..=9999).prop_map(|v| DeviceType::new(v).unwrap()),
    );
    let header = (
        of((0u8..=99, 0u8..=99).prop_map(|(a, b)| Version::new(a, b).unwrap())),
        of((0u8..=3).prop_map(|v| SystemConfiguration::new(v).unwrap())),
        of((0u8..=9).prop_map(|v| CallHandling::new(v).unwrap())),
        of(select(vec![
            MessageType::Message,
            MessageType::Reset,
            MessageType::Info,
            MessageType::Heartbeat,
        ])),
        of((0u16..=999).prop_map(|v| HeartbeatOption::new(v).unwrap())),
    );
    let device = (
        of(text::<16>()),
        of((0u16..=999).prop_map(|v| DeviceComponent::new(v).unwrap())),
        of(text::<32>()),
        of(voice_media()),
    );
    let status = (
        of((0u16..=9999).prop_map(|v| StatusCode::new(v).unwrap())),
        of(text::<32>()),
        of((0u8..=9).prop_map(|v| Priority::new(v).unwrap())),
    );
    let location = (
        of((0u16..=999).prop_map(|v| LocationCode::new(v).unwrap())),
        of(text::<2>()),
        of(geo_location()),
        of(text::<32>()),
    );
    let info = (
        of((0u16..=999).prop_map(|v| InfoCode::new(v).unwrap())),
        of(text::<128>()),
        of(any::<bool>()),
    );
    (ids, header, device, status, location, info).prop_map(
        |(
            (reference, controller_id, device_type),
            (version, system_configuration, call_handling, message_type, heartbeat_option),
            (device_id, device_component, device_text, voice_media),
            (status_code, status_text, priority),
            (location_code, location_value, geo_location, location_text),
            (info_code, info_text, more_follows),
        )| Request {
            reference,
            version,
            system_configuration,
            call_handling,
            message_type,
            heartbeat_option,
            controller_id,
            device_type,
            device_id,
            device_component,
            device_text,
            voice_media,
            status_code,
            status_text,
            priority,
            location_code,
            location_value,
            geo_location,
            location_text,
            info_code,
            info_text,
            more_follows,
        },
    )
}

fn response() -> impl Strategy<Value = Response> {
    use proptest::option::of;
    let call_handling_reply = prop_oneof![
        (1u8..=60).prop_map(|m| CallHandlingReply::KeepAutoAnswer(AnswerWindow::new(m).unwrap())),
        Just(CallHandlingReply::CallPredefined),
        Just(CallHandlingReply::CallTransferNumber),
    ];
    (
        of(parsed::<Ref>(from_chars(ALNUM, 1..=16))),
        select(StatusNumber::ALL.to_vec()),
        of(text::<128>()),
        of((0u8..=99, 0u8..=99).prop_map(|(a, b)| Version::new(a, b).unwrap())),
        of(select(vec![
            MediaReply::None,
            MediaReply::Duplex,
            MediaReply::MicrophoneOnly,
            MediaReply::SpeakerOnly,
        ])),
        of(call_handling_reply),
        of(text::<256>()),
        of((1u16..=1440).prop_map(|v| HeartbeatInterval::new(v).unwrap())),
    )
        .prop_map(
            |(
                reference,
                status,
                status_text,
                version,
                media_reply,
                call_handling_reply,
                transfer_number,
                heartbeat_interval,
            )| Response {
                reference,
                status,
                status_text,
                version,
                media_reply,
                call_handling_reply,
                transfer_number,
                heartbeat_interval,
            },
        )
}

/// Pieces of SCAIP and of XML, to reach deeper into the reader than random
/// bytes do.
const TOKENS: &[&str] = &[
    "<mrq>",
    "</mrq>",
    "<mrs>",
    "</mrs>",
    "<ref>",
    "</ref>",
    "<cid>",
    "</cid>",
    "<dty>",
    "</dty>",
    "<stc>",
    "</stc>",
    "<snu>",
    "</snu>",
    "<lge>",
    "</lge>",
    "<geo>",
    "</geo>",
    "<tim>",
    "</tim>",
    "<gga>",
    "</gga>",
    "<stt>",
    "</stt>",
    "<ame/>",
    "<lge/>",
    "<x>",
    "</x>",
    "<mrq a='1'>",
    "R1",
    "0009",
    "1",
    "0",
    "59.3,18.0",
    "2026-01-01T00:00:00Z",
    "ME",
    "PI",
    " ",
    "\n",
    "&amp;",
    "&lt;",
    "&#x41;",
    "&#0;",
    "&lol;",
    "&",
    "<",
    ">",
    "<!-- c -->",
    "<!--",
    "-->",
    "<![CDATA[x]]>",
    "<!DOCTYPE mrq>",
    "<!DOCTYPE x [<!ENTITY a 'b'>]>",
    "<?xml version=\"1.0\"?>",
    "<?pi x?>",
    "\u{FEFF}",
    "\u{0}",
    "\u{202E}",
    "å",
    "\"",
    "'",
    "=",
    "/",
    "</",
    "/>",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_valid_request_round_trips(request in request()) {
        assert_request_round_trips(&request);
    }

    #[test]
    fn any_valid_response_round_trips(response in response()) {
        assert_response_round_trips(&response);
    }

    #[test]
    fn whitespace_and_comments_between_elements_change_nothing(request in request()) {
        let text = encode_request(&request).replace("><", ">\n  <!-- note -->\t<");
        prop_assert_eq!(parse_request(text.as_bytes()), Ok(request));
    }

    #[test]
    fn any_bytes_parse_or_give_a_rejection_with_a_valid_snu(bytes in vec(any::<u8>(), 0..2048)) {
        check_any_body(&bytes);
    }

    #[test]
    fn any_token_soup_parses_or_gives_a_rejection_with_a_valid_snu(
        tokens in vec(select(TOKENS.to_vec()), 0..80),
    ) {
        check_any_body(tokens.concat().as_bytes());
    }

    #[test]
    fn any_mutation_of_a_valid_message_parses_or_gives_a_valid_rejection(
        request in request(),
        response in response(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        for text in [encode_request(&request), encode_response(&response)] {
            let mut bytes = text.into_bytes();
            for (at, byte, kind) in &edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = *byte,
                    1 => bytes.insert(i, *byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            check_any_body(&bytes);
        }
    }

    #[test]
    fn a_rejection_answers_with_an_mrs_that_reads_back(bytes in vec(any::<u8>(), 0..256)) {
        if let Err(rejection) = parse_request(&bytes) {
            assert_valid_rejection(&rejection);
        }
    }
}
