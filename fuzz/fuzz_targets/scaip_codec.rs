//! The SCAIP codec under libFuzzer: any body either reads as a message whose
//! canonical text reads back equal, or is refused with a rejection `snu`
//! whose answer encodes and reads back equal. Never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trygg_scaip::{
    Rejection, StatusNumber, encode_request, encode_response, parse_request, parse_response,
};

fn check_rejection(rejection: &Rejection) {
    assert!(matches!(
        rejection.status_number(),
        StatusNumber::TooLong
            | StatusNumber::InvalidFormat
            | StatusNumber::WrongContent
            | StatusNumber::MandatoryTagMissing
            | StatusNumber::RefMissing
    ));
    let answer = rejection.response();
    let text = encode_response(&answer);
    assert_eq!(parse_response(text.as_bytes()), Ok(answer));
}

fuzz_target!(|body: &[u8]| {
    match parse_request(body) {
        Ok(request) => {
            let text = encode_request(&request);
            assert!(text.len() <= trygg_scaip::MAX_BODY);
            assert_eq!(parse_request(text.as_bytes()), Ok(request));
        }
        Err(rejection) => check_rejection(&rejection),
    }
    match parse_response(body) {
        Ok(response) => {
            let text = encode_response(&response);
            assert_eq!(parse_response(text.as_bytes()), Ok(response));
        }
        Err(rejection) => check_rejection(&rejection),
    }
});
