//! No personal data in plaintext: canary values are written through the CLI
//! and the store, then the raw SQLite files, a `pg_dump`, and the logs are
//! scanned for them.

use crate::kit::*;
use time::macros::date;
use trygg_domain::*;

/// Values nobody else would write, in every form they could appear in.
struct Canaries {
    number: IdentityNumber,
}

impl Canaries {
    fn strings(&self) -> Vec<String> {
        let canonical = self.number.canonical();
        let display = self.number.display_form();
        vec![
            "Kanariefrida".into(),
            "Xyzzyqvist".into(),
            "KANARIEFRIDA".into(),
            "kanariefrida".into(),
            "Hemligvägen".into(),
            "0701740677".into(),
            "frida.kanarie@".into(),
            "Kanarieanhörig".into(),
            "Kanariepersonal".into(),
            "SE2120009994-KANARIE".into(),
            canonical.clone(),
            display,
            canonical[2..].to_owned(),
            format!("{}-{}", &canonical[2..8], &canonical[8..]),
        ]
    }
}

fn scan(haystack: &[u8], canaries: &Canaries) -> Vec<String> {
    canaries
        .strings()
        .into_iter()
        .filter(|c| occurrences(haystack, c.as_bytes()) > 0)
        .collect()
}

on_both_backends! {
    async fn no_plaintext_personal_data_in_the_database_or_logs(backend) {
        let db = TestDb::new(backend).await;
        let canaries = Canaries { number: pnr(date!(1933-03-13), 997) };
        let number = canaries.number.display_form();
        let run = |args: Vec<String>| {
            let db = &db;
            async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                // Most verbose logging: nothing personal may show even at trace.
                let out = trygg_env(db, &args, &[("TRYGG_LOG", "trace")]).await;
                assert!(out.status.success(), "{args:?}: {}", stderr(&out));
                out
            }
        };
        let mut logs = Vec::new();
        let out = run(vec!["admin".into(), "tenant".into(), "add".into(), "--name".into(), "Kanarieby kommun".into(), "--org-number".into(), "212000-9994".into()]).await;
        logs.extend(out.stderr);
        let out = run(vec!["admin".into(), "unit".into(), "add".into(), "--tenant".into(), "212000-9994".into(), "--name".into(), "Kanarieenheten".into()]).await;
        logs.extend(out.stderr);
        let out = run(vec![
            "admin".into(), "person".into(), "add".into(), "--tenant".into(), "212000-9994".into(),
            "--personnummer".into(), number.clone(), "--given-name".into(), "Kanariefrida".into(),
            "--family-name".into(), "Xyzzyqvist".into(), "--address".into(), "Hemligvägen 7, 999 99 Exempelby".into(),
            "--phone".into(), "070-174 06 77".into(), "--email".into(), "frida.kanarie@exempelby.example".into(),
        ]).await;
        logs.extend(out.stderr);
        let out = run(vec![
            "admin".into(), "relative".into(), "add".into(), "--tenant".into(), "212000-9994".into(),
            "--person".into(), number.clone(), "--given-name".into(), "Kanarieanhörig".into(),
            "--family-name".into(), "Xyzzyqvist".into(),
        ]).await;
        logs.extend(out.stderr);
        let out = run(vec![
            "admin".into(), "staff".into(), "add".into(), "--tenant".into(), "212000-9994".into(),
            "--given-name".into(), "Kanariepersonal".into(), "--family-name".into(), "Xyzzyqvist".into(),
            "--hsa-id".into(), "SE2120009994-KANARIE".into(),
        ]).await;
        logs.extend(out.stderr);
        // Reading it back works (so the canaries really were stored)...
        let out = run(vec!["admin".into(), "person".into(), "show".into(), "--tenant".into(), "212000-9994".into(), "--person".into(), number.clone()]).await;
        assert!(stdout(&out).contains("Kanariefrida Xyzzyqvist"));
        assert!(stdout(&out).contains("Kanarieanhörig"));
        logs.extend(out.stderr);

        // ...but no form of them is in the stored bytes or the logs.
        let bytes = db.raw_bytes().await;
        assert!(occurrences(&bytes, "Kanarieenheten".as_bytes()) > 0, "the scan must see plaintext (unit names are not personal)");
        assert_eq!(scan(&bytes, &canaries), Vec::<String>::new(), "plaintext personal data in the database");
        assert!(!logs.is_empty(), "trace logging produced output");
        assert_eq!(scan(&logs, &canaries), Vec::<String>::new(), "plaintext personal data in the logs");
    }
}
