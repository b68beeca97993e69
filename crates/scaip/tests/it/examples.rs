//! Realistic messages, read field by field, and the canonical text.

use trygg_scaip::{
    CallHandlingReply, DeviceType, FixTime, GeoLocation, GeoPosition, HeartbeatInterval,
    HeartbeatOption, MediaReply, MessageType, Request, Response, StatusCode, StatusNumber,
    VoiceMediaKind, encode_request, encode_response, parse_response,
};

use crate::accept;

#[test]
fn automatic_alarm_from_a_fall_detector() {
    let request = accept(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<mrq>
  <ref>A7F3K2</ref>
  <ver>01.00</ver>
  <sco>0</sco>
  <cha>0</cha>
  <mty>ME</mty>
  <hbo>001</hbo>
  <cid>46701234567</cid>
  <dty>0005</dty>
  <did>1</did>
  <dco>002</dco>
  <dte>Fallarmband</dte>
  <crd>gsm:+46701234567</crd>
  <stc>0009</stc>
  <stt>Fall detected</stt>
  <pri>1</pri>
  <lco>012</lco>
  <lte>Sovrum</lte>
</mrq>
"#,
    );
    assert_eq!(request.reference.as_str(), "A7F3K2");
    assert_eq!(request.controller_id.as_str(), "46701234567");
    assert_eq!(request.device_type, DeviceType::FALL_DETECTOR);
    assert_eq!(request.status_code, Some(StatusCode::AUTOMATIC_ALARM));
    assert_eq!(request.effective_message_type(), MessageType::Message);
    assert_eq!(request.heartbeat_option, Some(HeartbeatOption::ADJUSTABLE));
    assert_eq!(
        request.voice_media.as_ref().map(|m| m.kind()),
        Some(VoiceMediaKind::Gsm)
    );
    assert_eq!(
        request.status_text.as_ref().map(|t| t.as_str()),
        Some("Fall detected")
    );
    assert_eq!(request.location_code.map(|c| c.value()), Some(12));
    assert_eq!(
        request.location_text.as_ref().map(|t| t.as_str()),
        Some("Sovrum")
    );
    assert!(!request.is_alarm_without_status());
}

#[test]
fn an_alarm_without_a_status_code_is_an_alarm() {
    let request = accept("<mrq><ref>1</ref><cid>0046812345</cid><dty>3</dty></mrq>");
    assert!(request.is_alarm_without_status());
    assert_eq!(request.effective_version().to_string(), "01.00");
    assert_eq!(
        request.controller_id.as_str(),
        "0046812345",
        "leading zeros kept"
    );
}

#[test]
fn heartbeat() {
    let request = accept(
        "<mrq><ref>HB000412</ref><mty>PI</mty><hbo>001</hbo><cid>46701234567</cid><dty>0002</dty></mrq>",
    );
    assert_eq!(request.message_type, Some(MessageType::Heartbeat));
    assert!(!request.is_alarm_without_status());
}

#[test]
fn gps_alarm_with_a_position() {
    let request = accept(
        "<mrq><ref>G1</ref><cid>4670555000111</cid><dty>0051</dty><stc>0010</stc>\
         <lge><geo>59.329323,18.068581</geo><tim>2026-11-30T21:04:05+01</tim>\
         <gga>$GPGGA,200405,5919.7594,N,01804.1149,E,1,08,0.9,28.0,M,23.4,M,,*74</gga></lge></mrq>",
    );
    assert_eq!(request.device_type, DeviceType::TRACKING_DEVICE);
    let lge = request.geo_location.unwrap();
    let position = lge.position.unwrap();
    assert_eq!(position.latitude_micro(), 59_329_323);
    assert_eq!(position.longitude_micro(), 18_068_581);
    let time = lge.time.unwrap().at();
    assert_eq!(time.offset().whole_hours(), 1);
    assert_eq!((time.hour(), time.minute(), time.second()), (21, 4, 5));
    assert!(lge.gga.unwrap().as_str().starts_with("$GPGGA,"));
}

#[test]
fn gps_alarm_without_a_fix_is_still_an_alarm() {
    let request = accept("<mrq><ref>G2</ref><cid>1</cid><dty>51</dty><lge/></mrq>");
    assert_eq!(request.geo_location, Some(GeoLocation::default()));
    let request = accept("<mrq><ref>G3</ref><cid>1</cid><dty>51</dty><lge><gga/></lge></mrq>");
    assert_eq!(request.geo_location, Some(GeoLocation::default()));
}

#[test]
fn check_out_after_an_intervention() {
    let request = accept(
        "<mrq><ref>CO3381</ref><mty>ME</mty><cid>46701234567</cid><dty>0002</dty>\
         <stc>0111</stc><stt>Intervention complete</stt></mrq>",
    );
    assert_eq!(request.status_code, Some(StatusCode::CHECK_OUT));
}

#[test]
fn reset_of_an_earlier_alarm() {
    let request =
        accept("<mrq><ref>A7F3K2</ref><mty>RE</mty><cid>46701234567</cid><dty>0005</dty></mrq>");
    assert_eq!(request.message_type, Some(MessageType::Reset));
    assert_eq!(request.reference.as_str(), "A7F3K2");
}

#[test]
fn escaped_text_reads_as_text() {
    let request = accept(
        "<mrq><ref>1</ref><cid>1</cid><dty>1</dty>\
         <ite>Hemtj&#228;nst p&#xE5; plats &amp; &lt;kvitterat&gt; &quot;ok&quot; &apos;</ite></mrq>",
    );
    assert_eq!(
        request.info_text.unwrap().as_str(),
        "Hemtjänst på plats & <kvitterat> \"ok\" '"
    );
}

#[test]
fn a_request_encodes_canonically() {
    let mut request = Request::new(
        "A1".parse().unwrap(),
        "4670".parse().unwrap(),
        DeviceType::FALL_DETECTOR,
    );
    request.message_type = Some(MessageType::Message);
    request.status_code = Some(StatusCode::AUTOMATIC_ALARM);
    request.status_text = Some("Fall & <trip>".parse().unwrap());
    request.geo_location = Some(GeoLocation {
        position: Some(GeoPosition::from_degrees(59.3293, 18.0686).unwrap()),
        time: Some("2026-11-30T21:04:05+01:00".parse::<FixTime>().unwrap()),
        gga: None,
    });
    request.more_follows = Some(false);
    assert_eq!(
        encode_request(&request),
        r#"<?xml version="1.0" encoding="UTF-8"?><mrq><ref>A1</ref><mty>ME</mty><cid>4670</cid><dty>0005</dty><stc>0009</stc><stt>Fall &amp; &lt;trip&gt;</stt><lge><geo>59.329300,18.068600</geo><tim>2026-11-30T21:04:05+01</tim></lge><ame>0</ame></mrq>"#
    );
}

#[test]
fn responses_encode_canonically_and_read_back() {
    let mut ok = Response::ok("A7F3K2".parse().unwrap());
    ok.media_reply = Some(MediaReply::Duplex);
    ok.call_handling_reply = Some(CallHandlingReply::CallPredefined);
    ok.heartbeat_interval = Some(HeartbeatInterval::new(60).unwrap());
    let text = encode_response(&ok);
    assert_eq!(
        text,
        r#"<?xml version="1.0" encoding="UTF-8"?><mrs><ref>A7F3K2</ref><snu>0</snu><mre>01</mre><cre>61</cre><hbi>60</hbi></mrs>"#
    );
    assert_eq!(parse_response(text.as_bytes()), Ok(ok));

    let hold = parse_response(b"<mrs><ref>A7F3K2</ref><snu>4</snu><ste>Hold</ste></mrs>").unwrap();
    assert_eq!(hold.status, StatusNumber::Hold);

    // A device reads the one-digit form of the standard's summary too.
    let short =
        parse_response(b"<mrs><ref>Q</ref><snu>0</snu><mre>1</mre><cre>5</cre></mrs>").unwrap();
    assert_eq!(short.media_reply, Some(MediaReply::Duplex));
    assert_eq!(short.call_handling_reply.map(|c| c.code()), Some(5));

    let no_ref = parse_response(b"<mrs><snu>10</snu></mrs>").unwrap();
    assert_eq!(no_ref.reference, None);
    assert_eq!(no_ref.status, StatusNumber::RefMissing);
}
