//! Every file of the fuzzing corpus (`fuzz/corpus/sip_message/`) through the
//! reader, so the corpus is exercised without a fuzzer. A file's name says
//! what it must give: `ok-…` a message that round-trips, `err-…` a refusal
//! (for the files below, a particular one); other files (found by the
//! fuzzer) only have to hold the invariants.

use std::path::PathBuf;

use trygg_sip::{HeaderError, ParseError, UriError, parse};

use crate::{accept, check_any};

/// What the hand-written `err-` files must be refused with.
fn expected(name: &str) -> Option<ParseError> {
    let header = |name, error| ParseError::Header { name, error };
    Some(match name {
        "err-body-without-content-type.sip" => header("Content-Type", HeaderError::Missing),
        "err-branch-without-magic-cookie.sip" => header("Via", HeaderError::Branch),
        "err-content-length-mismatch.sip" => ParseError::ContentLengthMismatch {
            declared: 3,
            actual: 5,
        },
        "err-cseq-method-mismatch.sip" => header("CSeq", HeaderError::MethodMismatch),
        "err-folded-header.sip" => ParseError::Folding,
        "err-lf-line-endings.sip" => ParseError::NoHeaderEnd,
        "err-missing-call-id.sip" => header("Call-ID", HeaderError::Missing),
        "err-nul-in-header.sip" => ParseError::Nul,
        "err-password-in-uri.sip" => ParseError::RequestUri(UriError::Password),
        "err-sctp-transport.sip" => header("Via", HeaderError::Transport),
        "err-sip-version-3.sip" => ParseError::Version,
        "err-too-many-vias.sip" => header("Via", HeaderError::TooManyVias),
        _ => return None,
    })
}

#[test]
fn every_corpus_file_gives_what_its_name_says() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sip_message");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    entries.sort();
    let (mut ok, mut err) = (0, 0);
    for path in &entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        check_any(&bytes);
        if name.starts_with("ok-") {
            accept(&bytes);
            ok += 1;
        } else if name.starts_with("err-") {
            let error = parse(&bytes).expect_err(&name);
            if let Some(expected) = expected(&name) {
                assert_eq!(error, expected, "{name}");
            }
            err += 1;
        }
    }
    assert!(
        ok >= 8 && err >= 10,
        "only {ok} ok- and {err} err- files in {}",
        dir.display()
    );
}
