use super::*;
use crate::merkle::{Tree, leaf_hash};
use proptest::prelude::*;
use time::macros::datetime;

const SEED: [u8; 32] = [7; 32];
const LOG: &str = "trygg.example/audit/exempelby";

fn key() -> SigningKey {
    SigningKey::from_seed(LOG, &SEED).unwrap()
}

fn checkpoint() -> Checkpoint {
    let tree = Tree::from_leaves((0..1042u32).map(|i| leaf_hash(&i.to_be_bytes())));
    Checkpoint {
        origin: LOG.to_owned(),
        size: tree.len(),
        root: tree.root(),
        time: datetime!(2026-11-23 09:30:00 UTC),
    }
}

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap()
}

// ---- Known answers -----------------------------------------------------------

/// RFC 8032 §7.1, test 1: the public key of a seed.
#[test]
fn ed25519_public_key_matches_rfc_8032() {
    let mut seed = [0u8; 32];
    let hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    let key = SigningKey::from_seed("rfc8032", &seed).unwrap();
    let public: String = key
        .verifying_key()
        .public_key()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        public,
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
}

/// The example of the Go implementation of signed notes
/// (golang.org/x/mod/sumdb/note): same key id, same verifier key text, and
/// byte-for-byte the same signed note (Ed25519 is deterministic).
#[test]
fn signed_note_matches_the_go_reference_example() {
    // "PRIVATE+KEY+PeterNeumann+c74f20a3+" || base64(0x01 || seed)
    let typed_seed = b64("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
    assert_eq!(typed_seed[0], 0x01);
    let seed: [u8; 32] = typed_seed[1..].try_into().unwrap();
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let note = format!(
        "{text}\n\u{2014} PeterNeumann \
         x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    );

    let signer = SigningKey::from_seed("PeterNeumann", &seed).unwrap();
    assert_eq!(signer.verifying_key().key_id(), 0xc74f20a3);
    assert_eq!(signer.verifying_key().to_text(), vkey);
    assert_eq!(signer.sign_note(text).unwrap(), note);

    let verifier = VerifyingKey::parse(vkey).unwrap();
    assert_eq!(verifier, signer.verifying_key());
    assert_eq!(verifier.open_note(&note), Ok(text));
    let altered = note.replace("cryptography", "cryptographY");
    assert_eq!(
        verifier.open_note(&altered),
        Err(CheckpointError::BadSignature)
    );
    // A valid note, but not a checkpoint.
    assert!(matches!(
        verifier.verify(&note),
        Err(CheckpointError::MalformedCheckpoint(_))
    ));
}

/// Verifier keys written by other implementations parse, and print back the same.
#[test]
fn verifier_keys_of_other_implementations_parse() {
    for text in [
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
        // Its base64 contains a '+'.
        "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
    ] {
        let key = VerifyingKey::parse(text).unwrap();
        assert_eq!(key.to_text(), text);
    }
}

// ---- Round trip and format ---------------------------------------------------

#[test]
fn sign_and_verify_round_trip() {
    let key = key();
    let c = checkpoint();
    let note = key.sign(&c).unwrap();
    assert_eq!(key.verifying_key().verify(&note), Ok(c.clone()));

    // Sub-second times and other offsets survive (as the same instant, in UTC).
    let mut precise = c.clone();
    precise.time = datetime!(2026-11-23 10:30:00.123456789 +01:00);
    let back = key
        .verifying_key()
        .verify(&key.sign(&precise).unwrap())
        .unwrap();
    assert_eq!(back, precise);
    assert_eq!(back.time.offset(), UtcOffset::UTC);

    // The empty tree.
    let empty = Checkpoint {
        size: 0,
        root: crate::merkle::empty_root(),
        ..c
    };
    assert_eq!(
        key.verifying_key().verify(&key.sign(&empty).unwrap()),
        Ok(empty)
    );
}

#[test]
fn note_has_the_c2sp_layout() {
    let key = key();
    let c = checkpoint();
    let note = key.sign(&c).unwrap();
    let lines: Vec<&str> = note.split('\n').collect();
    assert_eq!(lines.len(), 7, "{note}");
    assert_eq!(lines[0], LOG);
    assert_eq!(lines[1], "1042");
    assert_eq!(b64(lines[2]), c.root);
    assert_eq!(lines[3], "2026-11-23T09:30:00Z");
    assert_eq!(lines[4], "");
    let sig = lines[5].strip_prefix(&format!("\u{2014} {LOG} ")).unwrap();
    let blob = b64(sig);
    assert_eq!(blob.len(), 68);
    assert_eq!(blob[..4], key.verifying_key().key_id().to_be_bytes());
    assert_eq!(lines[6], "");

    // The key id: SHA-256(name || "\n" || 0x01 || public key)[..4].
    let vk = key.verifying_key();
    let mut input = format!("{LOG}\n").into_bytes();
    input.push(0x01);
    input.extend_from_slice(vk.public_key());
    let hash = digest::digest(&digest::SHA256, &input);
    assert_eq!(hash.as_ref()[..4], vk.key_id().to_be_bytes());
    let text = vk.to_text();
    assert!(text.starts_with(&format!("{LOG}+{:08x}+", vk.key_id())));
    assert_eq!(VerifyingKey::parse(&text), Ok(vk));
}

#[test]
fn debug_does_not_show_the_seed() {
    let seed = [0xab; 32];
    let key = SigningKey::from_seed(LOG, &seed).unwrap();
    let shown = format!("{key:?}");
    assert!(shown.contains(LOG), "{shown}");
    assert!(!shown.contains("abab"), "{shown}");
    assert!(!shown.contains("171, 171"), "{shown}");
    assert!(!shown.contains(&STANDARD.encode(seed)[..8]), "{shown}");
}

// ---- Tampering ---------------------------------------------------------------

#[test]
fn tampered_checkpoints_are_rejected() {
    let key = key();
    let vk = key.verifying_key();
    let c = checkpoint();
    let note = key.sign(&c).unwrap();
    let root_b64 = STANDARD.encode(c.root);
    let other_root = STANDARD.encode(leaf_hash(b"other"));

    let tampered = [
        note.replacen("\n1042\n", "\n1043\n", 1),
        note.replacen("\n1042\n", "\n1041\n", 1),
        note.replacen(&root_b64, &other_root, 1),
        note.replacen("2026-11-23T09:30:00Z", "2026-11-23T09:30:01Z", 1),
        note.replacen("2026-11-23T09:30:00Z", "2025-11-23T09:30:00Z", 1),
        note.replacen(LOG, "trygg.example/audit/annanby", 1),
    ];
    for bad in &tampered {
        assert_ne!(bad, &note);
        assert_eq!(vk.verify(bad), Err(CheckpointError::BadSignature), "{bad}");
    }

    // The signature itself: flip one bit of the Ed25519 signature.
    let (head, sig_line) = note.trim_end().rsplit_once('\n').unwrap();
    let sig = sig_line.rsplit_once(' ').unwrap().1;
    for bit in [0, 1, 100, 511] {
        let mut blob = b64(sig);
        blob[4 + bit / 8] ^= 1 << (bit % 8);
        let bad = format!("{head}\n\u{2014} {LOG} {}\n", STANDARD.encode(&blob));
        assert_eq!(vk.verify(&bad), Err(CheckpointError::BadSignature));
    }
    // A truncated signature by this key.
    let mut blob = b64(sig);
    blob.truncate(40);
    let bad = format!("{head}\n\u{2014} {LOG} {}\n", STANDARD.encode(&blob));
    assert_eq!(vk.verify(&bad), Err(CheckpointError::BadSignature));
}

#[test]
fn other_keys_are_ignored_but_not_trusted() {
    let key = key();
    let c = checkpoint();
    let note = key.sign(&c).unwrap();
    let other = SigningKey::from_seed(LOG, &[8; 32]).unwrap();
    let witness = SigningKey::from_seed("witness.example/w1", &[9; 32]).unwrap();

    // Signed by a different key of the same name: not ours.
    assert_eq!(
        key.verifying_key().verify(&other.sign(&c).unwrap()),
        Err(CheckpointError::NotSignedByKey)
    );
    assert_eq!(
        other.verifying_key().verify(&note),
        Err(CheckpointError::NotSignedByKey)
    );

    // A cosignature by another key is ignored.
    let text = c.body().unwrap();
    let witness_line = witness
        .sign_note(&text)
        .unwrap()
        .rsplit_once("\n\n")
        .unwrap()
        .1
        .to_owned();
    let cosigned = format!("{note}{witness_line}");
    assert_eq!(key.verifying_key().verify(&cosigned), Ok(c.clone()));
    assert_eq!(witness.verifying_key().verify(&cosigned), Ok(c.clone()));

    // A second, bad signature by this key rejects the note.
    let sig_line = note.rsplit_once("\n\n").unwrap().1;
    let other_line = other.sign_note(&text).unwrap();
    let other_sig = other_line.trim_end().rsplit_once(' ').unwrap().1;
    let mut forged = b64(other_sig);
    forged[..4].copy_from_slice(&key.verifying_key().key_id().to_be_bytes());
    let forged_line = format!("\u{2014} {LOG} {}\n", STANDARD.encode(&forged));
    let doubled = format!("{text}\n{sig_line}{forged_line}");
    assert_eq!(
        key.verifying_key().verify(&doubled),
        Err(CheckpointError::BadSignature)
    );
}

#[test]
fn non_canonical_bodies_are_rejected_even_when_signed() {
    let key = key();
    let vk = key.verifying_key();
    let root = STANDARD.encode(checkpoint().root);
    let bodies = [
        format!("{LOG}\n01042\n{root}\n2026-11-23T09:30:00Z\n"),
        format!("{LOG}\n+1042\n{root}\n2026-11-23T09:30:00Z\n"),
        format!("{LOG}\n1042\n{root}\n2026-11-23T10:30:00+01:00\n"),
        format!("{LOG}\n1042\n{root}\n2026-11-23t09:30:00z\n"),
        format!("{LOG}\n1042\n{root}\n2026-11-23T09:30:00.000Z\n"),
        format!("{LOG}\n1042\n{root}\n2026-11-23T09:30:00Z\nextension\n"),
        format!("{LOG}\n1042\n{root}\n"),
        format!("{LOG}\n1042\n{}\n2026-11-23T09:30:00Z\n", &root[..40]),
        format!(
            "{LOG}\n1042\n{}\n2026-11-23T09:30:00Z\n",
            root.trim_end_matches('=')
        ),
        format!("{LOG}\n18446744073709551616\n{root}\n2026-11-23T09:30:00Z\n"),
        format!("{LOG}\n\n{root}\n2026-11-23T09:30:00Z\n"),
        format!("\n1042\n{root}\n2026-11-23T09:30:00Z\n"),
        format!("{LOG}\n1042\n{root}\nyesterday\n"),
        // Valid RFC 3339, but year 10000 in UTC.
        format!("{LOG}\n1042\n{root}\n9999-12-31T23:30:00-01:00\n"),
        format!("{LOG}\n1042\n{root}\n0000-01-01T00:30:00+01:00\n"),
    ];
    for body in &bodies {
        let note = key.sign_note(body).unwrap();
        assert!(
            matches!(
                vk.verify(&note),
                Err(CheckpointError::MalformedCheckpoint(_))
            ),
            "{body:?}: {:?}",
            vk.verify(&note)
        );
    }
    // The largest size is fine.
    let max = Checkpoint {
        size: u64::MAX,
        ..checkpoint()
    };
    assert_eq!(vk.verify(&key.sign(&max).unwrap()), Ok(max));
}

#[test]
fn malformed_notes_are_rejected() {
    let key = key();
    let vk = key.verifying_key();
    let note = key.sign(&checkpoint()).unwrap();
    let (text, sig_line) = note.rsplit_once("\n\n").unwrap();

    // Every truncation.
    for (end, _) in note.char_indices() {
        assert!(vk.verify(&note[..end]).is_err(), "truncated at {end}");
    }
    let cases = [
        String::new(),
        "\n".to_owned(),
        "\n\n".to_owned(),
        format!("{text}\n"),
        format!("{text}\n\n"),
        format!("{text}\n{sig_line}"),
        format!("{text}\n\n\n{sig_line}"),
        format!("{text}\n{sig_line}\n"),
        note.replace('\n', "\r\n"),
        note.replace('\u{2014}', "-"),
        note.replacen(&format!("{LOG} "), &format!("{LOG}  "), 1),
        format!("{text}\n\n\u{2014} {LOG} AAAA\n"),
        format!("{text}\n\n\u{2014} {LOG} not-base64!\n"),
        format!("{text}\n\n\u{2014}  x\n"),
        format!("{text}\n\n\u{2014} {LOG}\n"),
        format!("{text}\n\n\u{2014} {LOG} {}\n", STANDARD.encode([1u8; 3])),
        format!("{note}\t"),
        format!("\0{note}"),
        "— \n\n— \n".to_owned(),
    ];
    for bad in &cases {
        assert!(vk.verify(bad).is_err(), "{bad:?}");
    }

    // Too large.
    let big = format!(
        "{text}\n\n{}",
        sig_line.repeat(MAX_NOTE_BYTES / sig_line.len() + 1)
    );
    assert!(matches!(
        vk.verify(&big),
        Err(CheckpointError::TooLarge { .. })
    ));
    // Too many signatures (ours is valid, but the 17th line is too many).
    let many = format!("{text}\n\n{}", sig_line.repeat(MAX_SIGNATURES + 1));
    assert!(many.len() <= MAX_NOTE_BYTES);
    assert_eq!(vk.verify(&many), Err(CheckpointError::TooManySignatures));
    let sixteen = format!("{text}\n\n{}", sig_line.repeat(MAX_SIGNATURES));
    assert!(vk.verify(&sixteen).is_ok());
}

// ---- Keys ----------------------------------------------------------------------

#[test]
fn key_names_and_origins_are_checked() {
    for name in [
        "",
        "a b",
        "a+b",
        "a\nb",
        "a\u{a0}b",
        "a\tb",
        &"x".repeat(256),
    ] {
        assert_eq!(
            SigningKey::from_seed(name, &SEED).unwrap_err(),
            CheckpointError::InvalidKeyName,
            "{name:?}"
        );
    }
    assert!(SigningKey::from_seed(&"x".repeat(255), &SEED).is_ok());

    let key = key();
    for origin in ["", "a\nb", "a\rb", &"x".repeat(256)] {
        let c = Checkpoint {
            origin: origin.to_owned(),
            ..checkpoint()
        };
        assert_eq!(
            key.sign(&c).unwrap_err(),
            CheckpointError::Unsignable("origin"),
            "{origin:?}"
        );
    }
    // Origins may contain spaces (only key names may not).
    let spaced = Checkpoint {
        origin: "Exempelby kommun audit".to_owned(),
        ..checkpoint()
    };
    assert_eq!(
        key.verifying_key().verify(&key.sign(&spaced).unwrap()),
        Ok(spaced)
    );
    // Years RFC 3339 cannot write.
    let ancient = Checkpoint {
        time: time::Date::from_calendar_date(-1, time::Month::January, 1)
            .unwrap()
            .midnight()
            .assume_utc(),
        ..checkpoint()
    };
    assert!(matches!(
        key.sign(&ancient),
        Err(CheckpointError::Unsignable(_))
    ));
    // Year 9999 in its own offset, year 10000 in UTC.
    let too_late = Checkpoint {
        time: time::macros::datetime!(9999-12-31 23:30:00 -01:00),
        ..checkpoint()
    };
    assert!(matches!(
        key.sign(&too_late),
        Err(CheckpointError::Unsignable(_))
    ));
}

#[test]
fn malformed_verifier_keys_are_rejected() {
    let vk = key().verifying_key();
    let text = vk.to_text();
    // Every proper substring and every single-character change.
    for start in 0..text.len() {
        for end in start + 1..=text.len() {
            if (start, end) != (0, text.len()) {
                assert!(VerifyingKey::parse(&text[start..end]).is_err());
            }
        }
    }
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[i] = if changed[i] == b'z' {
            b'y'
        } else {
            changed[i] + 1
        };
        let changed = String::from_utf8(changed).unwrap();
        assert!(VerifyingKey::parse(&changed).is_err(), "{changed}");
    }
    let typed = |kind: u8, len: usize| {
        let mut k = vec![kind];
        k.extend(std::iter::repeat_n(1u8, len));
        STANDARD.encode(k)
    };
    for bad in [
        format!(
            "{LOG}+{:08X}+{}",
            vk.key_id(),
            text.rsplit_once('+').unwrap().1
        ),
        format!("{LOG}+{:08x}+{}", vk.key_id(), typed(0x02, 32)),
        format!("{LOG}+{:08x}+{}", vk.key_id(), typed(0x01, 31)),
        format!("{LOG}+{:08x}+{}", vk.key_id(), typed(0x01, 33)),
        format!(
            "{LOG}+{:07x}+{}",
            vk.key_id() & 0x0fff_ffff,
            typed(0x01, 32)
        ),
        format!("{text}\n"),
        format!(" {text}"),
        format!("{}+{}", "x".repeat(300), text),
        String::new(),
        "+".to_owned(),
        "++".to_owned(),
    ] {
        assert!(VerifyingKey::parse(&bad).is_err(), "{bad}");
    }
}

// ---- Never a panic -------------------------------------------------------------

proptest! {
    #[test]
    fn verify_and_parse_never_panic_on_arbitrary_text(s in any::<String>()) {
        let vk = key().verifying_key();
        prop_assert!(vk.verify(&s).is_err());
        let _ = VerifyingKey::parse(&s);
    }

    #[test]
    fn verify_never_panics_on_note_shaped_text(
        lines in proptest::collection::vec("[a-z0-9+/=:. \u{2014}-]{0,60}", 0..8),
        sigs in proptest::collection::vec("[A-Za-z0-9+/=]{0,100}", 0..4),
    ) {
        let vk = key().verifying_key();
        let mut note = lines.join("\n");
        note.push_str("\n\n");
        for s in &sigs {
            note.push_str(&format!("\u{2014} {LOG} {s}\n"));
        }
        prop_assert!(vk.verify(&note).is_err());
    }

    /// Bodies signed by the right key are parsed without panicking, whatever
    /// they hold (the body is only read once the signature verifies).
    #[test]
    fn signed_arbitrary_bodies_never_panic(
        lines in proptest::collection::vec("[a-zA-Z0-9+/=:.TZ -]{0,48}", 0..6),
        time in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})",
    ) {
        let key = key();
        let root = STANDARD.encode(checkpoint().root);
        for body in [
            format!("{}\n", lines.join("\n")),
            format!("{LOG}\n1\n{root}\n{time}\n"),
        ] {
            let note = key.sign_note(&body).unwrap();
            if let Ok(c) = key.verifying_key().verify(&note) {
                prop_assert_eq!(key.sign(&c).unwrap(), note);
            }
        }
    }

    /// Any change of one character of a signed note is rejected.
    #[test]
    fn any_changed_character_is_rejected(at in any::<prop::sample::Index>(), c in any::<char>()) {
        let key = key();
        let note = key.sign(&checkpoint()).unwrap();
        let chars: Vec<char> = note.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != c);
        let mut changed = chars;
        changed[i] = c;
        let changed: String = changed.into_iter().collect();
        prop_assert!(key.verifying_key().verify(&changed).is_err());
    }

    #[test]
    fn round_trip_of_arbitrary_checkpoints(
        origin in "[a-z0-9./ -]{1,80}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        seconds in 0i64..253_402_300_799,
        nanos in 0u32..1_000_000_000,
    ) {
        let key = key();
        let c = Checkpoint {
            origin,
            size,
            root,
            time: OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                + time::Duration::nanoseconds(i64::from(nanos)),
        };
        prop_assert_eq!(key.verifying_key().verify(&key.sign(&c).unwrap()), Ok(c));
    }
}

/// The example in the module documentation: Ed25519 is deterministic, so the
/// note for a given key and checkpoint never changes.
#[test]
fn the_documented_example_is_exact() {
    let note = "trygg.example/audit/exempelby\n\
                1042\n\
                p+4rPp+KkwW3oaLN7VxZBUPvOL/MLWkyrHuUaNYZGuY=\n\
                2026-11-23T09:30:00Z\n\
                \n\
                \u{2014} trygg.example/audit/exempelby \
                iOXGORp5e9j7o0l1MQJXznr3zuSHg+Ft5uaxynGdSRTaVGftFzOaddR30VZ2dkBX2lCqBB1qEdEw6VVz4CyRL5RIqQA=\n";
    let vkey =
        "trygg.example/audit/exempelby+88e5c639+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
    assert_eq!(key().sign(&checkpoint()).unwrap(), note);
    assert_eq!(key().verifying_key().to_text(), vkey);
    assert_eq!(
        VerifyingKey::parse(vkey).unwrap().verify(note),
        Ok(checkpoint())
    );
}
