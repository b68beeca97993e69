//! CSV import: all rows checked first, bad rows reported by line, all or
//! nothing (or only the good rows with --skip-bad). Through the binary, on
//! both backends.

use crate::kit::*;

async fn setup(backend: Backend) -> TestDb {
    let db = TestDb::new(backend).await;
    for args in [
        &[
            "admin",
            "tenant",
            "add",
            "--name",
            "Exempelby kommun",
            "--org-number",
            "212000-9994",
        ][..],
        &[
            "admin",
            "unit",
            "add",
            "--tenant",
            "212000-9994",
            "--name",
            "Hemtjänst Norr",
        ][..],
    ] {
        let out = trygg(&db, args).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    db
}

fn write(db: &TestDb, name: &str, text: &str) -> String {
    let path = db.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn persons(db: &TestDb) -> String {
    stdout(&trygg(db, &["admin", "person", "list", "--tenant", "212000-9994"]).await)
}

on_both_backends! {
    async fn a_bad_row_stops_the_whole_import_and_is_reported_by_line(backend) {
        let db = setup(backend).await;
        let file = write(&db, "persons.csv", "\
personnummer,given_name,family_name,address,phone,protected_identity,unit
19121212-1212,Tolvan,Tolvansson,\"Storgatan 1, 999 99 Exempelby\",070-174 06 11,nej,Hemtjänst Norr
19121212-1213,Fel,Siffra,,,,
19400101-0000,Noll,Löpnummer,,,,
19811218-9876,Ann,Andersson,,inte ett nummer,kanske,Finns Inte
19121212-1212,Dubbel,Post,,,,
,,,,,,
19811218-9876,För,Många,,,,,extra
");
        let out = trygg(&db, &["admin", "import", "persons", "--tenant", "212000-9994", &file]).await;
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("line 3: personnummer: wrong check digit"), "{err}");
        assert!(err.contains("line 4: personnummer:"), "{err}");
        assert!(err.contains("line 5: phone:") && err.contains("protected_identity:") && err.contains("no unit \"Finns Inte\""), "{err}");
        assert!(err.contains("line 6: same personnummer as line 2"), "{err}");
        assert!(err.contains("line 7: ") && err.contains("given_name is empty"), "{err}");
        assert!(err.contains("line 8: has 8 fields, the header has 7"), "{err}");
        assert!(err.contains("nothing was imported"), "{err}");
        assert!(!err.contains("panicked"));
        assert_eq!(persons(&db).await, "", "nothing may be imported");

        // --skip-bad imports the good row only, and still reports the rest.
        let out = trygg(&db, &["admin", "import", "persons", "--tenant", "212000-9994", &file, "--skip-bad"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("Imported 1 of 7 rows; skipped 6 bad rows"), "{}", stdout(&out));
        assert!(stderr(&out).contains("line 3:"));
        let list = persons(&db).await;
        assert!(list.contains("19121212-1212  Tolvan Tolvansson"), "{list}");
        let show = stdout(&trygg(&db, &["admin", "person", "show", "--tenant", "212000-9994", "--person", "19121212-1212"]).await);
        assert!(show.contains("Storgatan 1, 999 99 Exempelby") && show.contains("unit Hemtjänst Norr"), "{show}");

        // Importing the same file again: the good row now exists in the database.
        let out = trygg(&db, &["admin", "import", "persons", "--tenant", "212000-9994", &file]).await;
        assert!(stderr(&out).contains("line 2: a record with this personnummer already exists"), "{}", stderr(&out));
    }

    async fn staff_import_with_semicolons_and_swedish_headers(backend) {
        let db = setup(backend).await;
        let file = write(&db, "staff.csv", "\u{feff}förnamn;efternamn;hsa_id;personnummer;e-post;enhet;roll
Sara;Ek;SE2120009994-P1;19811218-9876;sara.ek@exempelby.example;Hemtjänst Norr;home_care_staff
Ali;Hassan;SE2120009994-P2;;;Hemtjänst Norr;nurse
Johan;Berg;;;;;
");
        let out = trygg(&db, &["admin", "import", "staff", "--tenant", "212000-9994", &file]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("Imported 3 of 3 rows."));
        let list = stdout(&trygg(&db, &["admin", "staff", "list", "--tenant", "212000-9994"]).await);
        assert!(list.contains("Sara Ek  SE2120009994-P1  home_care_staff@Hemtjänst Norr"), "{list}");
        assert!(list.contains("Ali Hassan  SE2120009994-P2  nurse@Hemtjänst Norr"), "{list}");
        assert!(list.contains("Johan Berg  -"), "{list}");

        let bad = write(&db, "bad.csv", "given_name;family_name;hsa_id;unit;role
Ny;Person;SE2120009994-P1;;
Utan;Enhet;;;nurse
Fel;Roll;;Hemtjänst Norr;chef
");
        let out = trygg(&db, &["admin", "import", "staff", "--tenant", "212000-9994", &bad]).await;
        let err = stderr(&out);
        assert!(!out.status.success());
        assert!(err.contains("line 2: a staff member with this hsa_id already exists"), "{err}");
        assert!(err.contains("line 3: role and unit go together"), "{err}");
        assert!(err.contains("line 4: role: unknown role \"chef\""), "{err}");
    }

    async fn malformed_files_are_refused_as_a_whole(backend) {
        let db = setup(backend).await;
        let cases = [
            ("unknown.csv", "personnummer,given_name,family_name,shoe_size\n", "unknown column \"shoe_size\""),
            ("missing.csv", "given_name,family_name\nA,B\n", "required column personnummer is missing"),
            ("twice.csv", "personnummer,pnr,given_name,family_name\n", "appears twice"),
        ];
        for (name, text, expected) in cases {
            let file = write(&db, name, text);
            let err = stderr(&trygg(&db, &["admin", "import", "persons", "--tenant", "212000-9994", &file]).await);
            assert!(err.contains(expected), "{name}: {err}");
        }
        let latin1 = db.dir.path().join("latin1.csv");
        std::fs::write(&latin1, b"personnummer,given_name,family_name\n19121212-1212,G\xf6sta,Ek\n").unwrap();
        let err = stderr(&trygg(&db, &["admin", "import", "persons", "--tenant", "212000-9994", latin1.to_str().unwrap()]).await);
        assert!(err.contains("not UTF-8"), "{err}");
        let err = stderr(&trygg(&db, &["admin", "import", "persons", "--tenant", "212000-9994", "/no/such/file.csv"]).await);
        assert!(err.contains("cannot read /no/such/file.csv"), "{err}");
        assert_eq!(persons(&db).await, "");
    }
}
