//! Every file of the fuzzing corpus (`fuzz/corpus/scaip_codec/`) through the
//! parsers, so the corpus is exercised without a fuzzer. A file's name says
//! what it must give: `mrq-…` a request, `mrs-…` a response, `snuN-…` a
//! request rejected with `snu=N`; other files (found by the fuzzer) only
//! have to hold the invariants.

use std::path::PathBuf;

use trygg_scaip::{parse_request, parse_response};

use crate::check_any_body;

#[test]
fn every_corpus_file_gives_what_its_name_says() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/scaip_codec");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    entries.sort();
    let mut named = 0;
    for path in &entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let body = std::fs::read(path).unwrap();
        check_any_body(&body);
        if name.starts_with("mrq-") {
            if let Err(rejection) = parse_request(&body) {
                panic!("{name}: {rejection}");
            }
        } else if name.starts_with("mrs-") {
            if let Err(rejection) = parse_response(&body) {
                panic!("{name}: {rejection}");
            }
        } else if let Some(rest) = name.strip_prefix("snu") {
            let snu: u8 = rest.split('-').next().unwrap().parse().unwrap();
            match parse_request(&body) {
                Ok(_) => panic!("{name}: accepted"),
                Err(rejection) => {
                    assert_eq!(rejection.status_number().code(), snu, "{name}: {rejection}");
                }
            }
        } else {
            continue;
        }
        named += 1;
    }
    assert!(
        named >= 30,
        "only {named} named corpus files in {}",
        dir.display()
    );
}
