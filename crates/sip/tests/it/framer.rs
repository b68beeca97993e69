//! Framing a TCP/TLS stream: messages back to back, in any chunks, with
//! keep-alives between them.

use trygg_sip::{Frame, FrameError, Framer, MAX_MESSAGE, Message, PONG, ParseError};

use crate::{REGISTER, accept, sip, sipp_message};

fn frames(framer: &mut Framer) -> Vec<Frame> {
    let mut out = Vec::new();
    while let Some(frame) = framer.next_frame().unwrap() {
        out.push(frame);
    }
    out
}

#[test]
fn messages_and_pings_in_any_chunks() {
    let register = sip(REGISTER, "");
    let message = sipp_message();
    let mut stream = Vec::new();
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(&register);
    stream.extend_from_slice(b"\r\n\r\n");
    stream.extend_from_slice(&message);
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(&register);
    let expected = vec![
        Frame::Message(accept(&register)),
        Frame::Ping,
        Frame::Message(accept(&message)),
        Frame::Message(accept(&register)),
    ];
    for chunk in [1, 2, 3, 7, 100, stream.len()] {
        let mut framer = Framer::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            framer.push(piece).unwrap();
            got.extend(frames(&mut framer));
        }
        assert_eq!(got, expected, "chunks of {chunk}");
        assert_eq!(framer.buffered(), 0);
    }
    assert_eq!(PONG, b"\r\n");
}

#[test]
fn a_ping_is_told_from_a_lone_crlf_only_when_complete() {
    let mut framer = Framer::new();
    framer.push(b"\r\n\r").unwrap();
    assert_eq!(framer.next_frame(), Ok(None));
    framer.push(b"\n").unwrap();
    assert_eq!(framer.next_frame(), Ok(Some(Frame::Ping)));
    framer.push(b"\r\n").unwrap();
    assert_eq!(framer.next_frame(), Ok(None));
    framer.push(b"REG").unwrap();
    assert_eq!(framer.next_frame(), Ok(None));
    assert_eq!(framer.buffered(), 3);
}

#[test]
fn content_length_is_required_on_a_stream() {
    let mut lines = REGISTER.to_vec();
    lines.pop();
    let mut framer = Framer::new();
    framer.push(&sip(&lines, "")).unwrap();
    let error = FrameError::Message(ParseError::ContentLengthMissing);
    assert_eq!(framer.next_frame(), Err(error.clone()));
    // The framer stays failed.
    assert_eq!(framer.push(b"x"), Err(error.clone()));
    assert_eq!(framer.next_frame(), Err(error));
}

#[test]
fn limits_end_the_stream() {
    // A header section that never ends.
    let mut framer = Framer::new();
    framer.push(b"REGISTER sip:a SIP/2.0\r\n").unwrap();
    let filler = format!("X: {}\r\n", "a".repeat(100));
    let mut result = Ok(None);
    while result == Ok(None) {
        framer.push(filler.as_bytes()).unwrap();
        result = framer.next_frame();
    }
    assert_eq!(result, Err(FrameError::TooLong));
    // A Content-Length that points past the limit.
    let mut lines = REGISTER.to_vec();
    let length = format!("Content-Length: {MAX_MESSAGE}");
    lines[11] = &length;
    let mut framer = Framer::new();
    framer.push(&sip(&lines, "")).unwrap();
    assert_eq!(framer.next_frame(), Err(FrameError::TooLong));
    // A malformed message.
    let mut framer = Framer::new();
    framer
        .push(b"GARBAGE\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    assert_eq!(
        framer.next_frame(),
        Err(FrameError::Message(ParseError::StartLine))
    );
    // Pushing more than the buffer holds.
    let mut framer = Framer::new();
    framer.push(&vec![b'a'; MAX_MESSAGE]).unwrap();
    framer.push(&vec![b'a'; MAX_MESSAGE]).unwrap();
    assert_eq!(framer.push(b"a"), Err(FrameError::Overflow));
}

#[test]
fn a_message_split_inside_its_body_waits_for_the_rest() {
    let message = sipp_message();
    let (head, tail) = message.split_at(message.len() - 10);
    let mut framer = Framer::new();
    framer.push(head).unwrap();
    assert_eq!(framer.next_frame(), Ok(None));
    framer.push(tail).unwrap();
    let Ok(Some(Frame::Message(Message::Request(request)))) = framer.next_frame() else {
        panic!("no message");
    };
    assert!(request.body().ends_with(b"</mrq>\n"));
}
