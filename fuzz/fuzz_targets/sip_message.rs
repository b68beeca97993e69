//! The SIP layer under libFuzzer: any bytes either read as a message whose
//! written form reads back equal, or are refused; the same bytes pushed
//! into a stream framer in chunks give only messages that round-trip, and
//! the framer's buffer stays bounded. Never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trygg_sip::{Frame, Framer, MAX_BUFFERED, MAX_MESSAGE, parse};

fn check_round_trip(message: trygg_sip::Message) {
    let bytes = message.to_bytes();
    assert!(bytes.len() <= MAX_MESSAGE);
    assert_eq!(parse(&bytes), Ok(message));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = parse(data) {
        check_round_trip(message);
    }
    // The chunk sizes come from the data itself, so the fuzzer explores
    // the cuts too.
    let mut sizes = data.iter().map(|&b| usize::from(b % 64) + 1).cycle();
    let mut framer = Framer::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(sizes.next().unwrap_or(1).min(rest.len()));
        rest = tail;
        if framer.push(chunk).is_err() {
            break;
        }
        let mut failed = false;
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(message))) => check_round_trip(message),
                Ok(Some(Frame::Ping)) => {}
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(framer.buffered() <= MAX_BUFFERED);
        if failed {
            break;
        }
    }
});
