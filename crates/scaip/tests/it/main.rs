//! The codec from the outside: realistic messages, the XML rules and their
//! `snu`, the attacks, properties over generated messages and bytes, and the
//! fuzzing corpus.

// Test support: helpers and strategies outside `#[test]` functions unwrap
// and panic too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod attacks;
mod corpus;
mod examples;
mod properties;
mod structure;

use trygg_scaip::{
    Rejection, Request, Response, StatusNumber, encode_request, encode_response, parse_request,
    parse_response,
};

/// The `snu` numbers a rejection may carry.
const REJECTION_SNUS: [StatusNumber; 5] = [
    StatusNumber::TooLong,
    StatusNumber::InvalidFormat,
    StatusNumber::WrongContent,
    StatusNumber::MandatoryTagMissing,
    StatusNumber::RefMissing,
];

/// What must hold for any body: reading it does not panic; a message read
/// encodes to a text that reads back equal; a rejection carries one of the
/// rejection `snu`s, and its answer encodes to an `<mrs>` that reads back
/// equal.
fn check_any_body(body: &[u8]) {
    match parse_request(body) {
        Ok(request) => assert_request_round_trips(&request),
        Err(rejection) => assert_valid_rejection(&rejection),
    }
    match parse_response(body) {
        Ok(response) => assert_response_round_trips(&response),
        Err(rejection) => assert_valid_rejection(&rejection),
    }
}

fn assert_request_round_trips(request: &Request) {
    let text = encode_request(request);
    assert!(text.len() <= trygg_scaip::MAX_BODY, "{text}");
    assert_eq!(
        parse_request(text.as_bytes()).as_ref(),
        Ok(request),
        "{text}"
    );
}

fn assert_response_round_trips(response: &Response) {
    let text = encode_response(response);
    assert_eq!(
        parse_response(text.as_bytes()).as_ref(),
        Ok(response),
        "{text}"
    );
}

fn assert_valid_rejection(rejection: &Rejection) {
    assert!(
        REJECTION_SNUS.contains(&rejection.status_number()),
        "{rejection}"
    );
    assert_eq!(
        rejection.status_number(),
        rejection.reason().status_number()
    );
    assert_response_round_trips(&rejection.response());
}

/// The rejection of a request body, which must not parse.
#[track_caller]
fn reject(body: impl AsRef<[u8]>) -> Rejection {
    match parse_request(body.as_ref()) {
        Ok(request) => panic!("accepted: {request:?}"),
        Err(rejection) => {
            assert_valid_rejection(&rejection);
            rejection
        }
    }
}

/// A request body that must parse.
#[track_caller]
fn accept(body: impl AsRef<[u8]>) -> Request {
    match parse_request(body.as_ref()) {
        Ok(request) => {
            assert_request_round_trips(&request);
            request
        }
        Err(rejection) => panic!("rejected: {rejection}"),
    }
}
