//! The storage suite, on SQLite and PostgreSQL.

use crate::kit::*;
use time::Duration;
use time::macros::date;
use trygg_domain::*;
use trygg_store::StoreError;

on_both_backends! {
    async fn migrations_are_applied_once_and_recorded(backend) {
        let db = TestDb::new(backend).await;
        let first = trygg_store::Store::migrate_only(&db.database(), start_time()).await.unwrap();
        assert_eq!(first, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        let again = trygg_store::Store::migrate_only(&db.database(), start_time()).await.unwrap();
        assert!(again.is_empty());
        let store = db.open(&clock()).await.unwrap();
        store.ready().await.unwrap();
    }

    async fn organisation_tree_and_roles(backend) {
        let (_db, store, _clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await;
        let mut tx = store.begin().await.unwrap();
        let top = tx.add_unit(t.id, None, "Omsorg", None).await.unwrap();
        let hsa = HsaId::parse("SE2120009994-HT1").unwrap();
        let child = tx.add_unit(t.id, Some(top.id), "Hemtjänst", Some(&hsa)).await.unwrap();
        let grandchild = tx.add_unit(t.id, Some(child.id), "Nattpatrullen", None).await.unwrap();
        let staff = tx
            .add_staff(
                t.id,
                &StaffDetails {
                    given_name: PersonName::parse("Sara").unwrap(),
                    family_name: PersonName::parse("Ek").unwrap(),
                    hsa_id: Some(HsaId::parse("SE2120009994-P1").unwrap()),
                    identity_number: None,
                    email: None,
                    phone: None,
                },
            )
            .await
            .unwrap();
        let nurse = RoleAssignment { staff, unit: child.id, role: Role::Nurse };
        tx.assign_role(t.id, nurse).await.unwrap();
        tx.assign_role(t.id, nurse).await.unwrap(); // idempotent
        tx.commit().await.unwrap();

        let tree = store.unit_tree(t.id).await.unwrap();
        let shape: Vec<(usize, &str)> = tree.iter().map(|n| (n.depth, n.unit.name.as_str())).collect();
        assert_eq!(shape, vec![(0, "Omsorg"), (1, "Hemtjänst"), (2, "Nattpatrullen")]);
        assert_eq!(tree[1].unit.hsa_id, Some(hsa));
        assert_eq!(tree[2].unit.parent, Some(child.id));
        assert_eq!(store.roles_of(staff).await.unwrap(), vec![nurse]);
        assert_eq!(store.find_unit(t.id, "Hemtjänst").await.unwrap().id, child.id);
        assert_eq!(store.find_unit(t.id, &grandchild.id.to_string()).await.unwrap().id, grandchild.id);
        assert_eq!(store.find_tenant("2120009994").await.unwrap().id, t.id);
        assert_eq!(store.find_tenant(&t.id.to_string()).await.unwrap().id, t.id);
        let found = store.find_staff_by_hsa_id(t.id, &HsaId::parse("SE2120009994-P1").unwrap()).await.unwrap();
        assert_eq!(found.id, staff);
        assert_eq!(found.details.given_name.as_str(), "Sara");
    }

    async fn references_must_exist_in_the_same_tenant(backend) {
        let (_db, store, clock) = store(backend).await;
        let a = tenant(&store, "212000-9994").await;
        let b = tenant(&store, "212000-0142").await;
        let mut tx = store.begin().await.unwrap();
        let unit_a = tx.add_unit(a.id, None, "A-enheten", None).await.unwrap();
        let person_b = tx.add_person(b.id, &person("Ebba", "Berg", pnr(date!(1940-01-02), 982)), false).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        // A unit under another tenant's unit.
        assert!(matches!(
            tx.add_unit(b.id, Some(unit_a.id), "B-enheten", None).await,
            Err(StoreError::UnknownReference("parent unit"))
        ));
        // A care relationship across tenants.
        let period = Period::new(clock.now(), None).unwrap();
        assert!(matches!(
            tx.add_care_relationship(b.id, person_b, CareParty::Unit(unit_a.id), period).await,
            Err(StoreError::UnknownReference("unit"))
        ));
        assert!(matches!(
            tx.add_care_relationship(a.id, person_b, CareParty::Unit(unit_a.id), period).await,
            Err(StoreError::UnknownReference("person"))
        ));
        assert!(matches!(
            tx.add_unit(TenantId::generate(&clock), None, "X", None).await,
            Err(StoreError::UnknownReference("tenant"))
        ));
        drop(tx);
        // Reading across tenants finds nothing.
        assert!(matches!(store.unsafe_person(a.id, person_b).await, Err(StoreError::NotFound("person"))));
        assert!(matches!(store.find_unit(b.id, "A-enheten").await, Err(StoreError::NotFound("unit"))));
    }

    async fn persons_round_trip_and_are_found_by_number(backend) {
        let (_db, store, clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await;
        let number = IdentityNumber::from_parts(date!(1938-04-30), 991, IdentityNumberKind::Samordningsnummer).unwrap();
        let details = PersonDetails {
            identity_number: number,
            given_name: PersonName::parse("Gösta").unwrap(),
            family_name: PersonName::parse("Nyström").unwrap(),
            address: Some(Address::parse("Björkgatan 3\n999 42 Exempelby").unwrap()),
            phone: Some(Phone::parse("070-174 06 10").unwrap()),
            email: Some(Email::parse("gosta@exempelby.example").unwrap()),
        };
        let mut tx = store.begin().await.unwrap();
        let id = tx.add_person(t.id, &details, true).await.unwrap();
        let relative = RelativeDetails {
            given_name: PersonName::parse("Nora").unwrap(),
            family_name: PersonName::parse("Nyström").unwrap(),
            identity_number: Some(pnr(date!(1970-07-07), 985)),
            relation: Some(PersonName::parse("dotter").unwrap()),
            phone: None,
            email: None,
        };
        let rel = tx.add_relative(t.id, id, &relative).await.unwrap();
        let unit = tx.add_unit(t.id, None, "Hemtjänst", None).await.unwrap();
        let from = clock.now();
        let until = from + Duration::days(30);
        tx.add_care_relationship(t.id, id, CareParty::Unit(unit.id), Period::new(from, Some(until)).unwrap()).await.unwrap();
        tx.commit().await.unwrap();

        let p = store.unsafe_person(t.id, id).await.unwrap();
        assert_eq!(p.details, details);
        assert!(p.protected_identity);
        assert_eq!(store.unsafe_find_person(t.id, &number).await.unwrap().id, id);
        let other = pnr(date!(1938-04-30), 992);
        assert!(matches!(store.unsafe_find_person(t.id, &other).await, Err(StoreError::NotFound(_))));
        let rels = store.unsafe_relatives(t.id, id).await.unwrap();
        assert_eq!(rels.len(), 1);
        assert_eq!(rels[0].id, rel);
        assert_eq!(rels[0].details, relative);
        let care = store.care_relationships(t.id, id).await.unwrap();
        assert_eq!(care.len(), 1);
        assert_eq!(care[0].party, CareParty::Unit(unit.id));
        assert!(care[0].period.contains(from + Duration::days(29)));
        assert!(!care[0].period.contains(until));
        assert_eq!(store.unsafe_persons(t.id).await.unwrap().len(), 1);
        let counts = store.counts(t.id).await.unwrap();
        assert_eq!((counts.persons, counts.relatives, counts.care_relationships, counts.units), (1, 1, 1, 1));
    }

    async fn duplicate_identities_are_refused_and_nothing_is_half_written(backend) {
        let (_db, store, _clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await;
        let number = pnr(date!(1931-12-24), 987);
        let mut tx = store.begin().await.unwrap();
        tx.add_person(t.id, &person("Elsa", "Ek", number), false).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.add_unit(t.id, None, "Ska inte finnas", None).await.unwrap();
        let err = tx.add_person(t.id, &person("Annan", "Person", number), false).await.unwrap_err();
        assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
        assert!(err.to_string().contains("already exists"));
        drop(tx); // rolled back: the unit is not there either
        assert!(store.unit_tree(t.id).await.unwrap().is_empty());
        assert_eq!(store.unsafe_persons(t.id).await.unwrap().len(), 1);

        // The same number in another tenant is another record.
        let other = tenant(&store, "212000-0142").await;
        let mut tx = store.begin().await.unwrap();
        tx.add_person(other.id, &person("Elsa", "Ek", number), false).await.unwrap();
        tx.commit().await.unwrap();

        // Duplicate org numbers and unit names.
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(
            tx.add_tenant("Igen", &OrgNumber::parse("212000-9994").unwrap(), TenantKind::Municipality).await,
            Err(StoreError::Duplicate(_))
        ));
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        tx.add_unit(t.id, None, "Enhet", None).await.unwrap();
        assert!(matches!(tx.add_unit(t.id, None, "Enhet", None).await, Err(StoreError::Duplicate(_))));
    }

    async fn erasing_a_person_destroys_their_key(backend) {
        let (db, store, _clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await;
        let number = pnr(date!(1929-03-03), 983);
        let mut tx = store.begin().await.unwrap();
        let id = tx.add_person(t.id, &person("Raderas", "Helt", number), false).await.unwrap();
        let keep = tx.add_person(t.id, &person("Stannar", "Kvar", pnr(date!(1929-03-04), 983)), false).await.unwrap();
        tx.add_relative(t.id, id, &RelativeDetails {
            given_name: PersonName::parse("Anhörig").unwrap(),
            family_name: PersonName::parse("Helt").unwrap(),
            identity_number: None, relation: None, phone: None, email: None,
        }).await.unwrap();
        tx.commit().await.unwrap();

        let raw = db.raw().await;
        use sqlx::Row as _;
        let wrapped: Vec<u8> = sqlx::query("SELECT wrapped FROM data_keys WHERE id = $1")
            .bind(id.to_string()).fetch_one(&raw).await.unwrap().get(0);
        let sealed_name: Vec<u8> = sqlx::query("SELECT given_name FROM persons WHERE id = $1")
            .bind(id.to_string()).fetch_one(&raw).await.unwrap().get(0);

        store.erase_person(t.id, id, "test").await.unwrap();

        assert!(matches!(store.unsafe_person(t.id, id).await, Err(StoreError::Erased("person"))));
        assert!(matches!(store.unsafe_relatives(t.id, id).await, Err(StoreError::Erased("person"))));
        assert!(matches!(store.unsafe_find_person(t.id, &number).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.erase_person(t.id, id, "test").await, Err(StoreError::Erased(_))));
        assert_eq!(store.unsafe_persons(t.id).await.unwrap().len(), 1);
        assert_eq!(store.unsafe_person(t.id, keep).await.unwrap().details.given_name.as_str(), "Stannar");
        // The sealed data is still stored, but its key is gone: from the tables,
        // and from the bytes on disk (SQLite file) or the dump (PostgreSQL).
        let still: Vec<u8> = sqlx::query("SELECT given_name FROM persons WHERE id = $1")
            .bind(id.to_string()).fetch_one(&raw).await.unwrap().get(0);
        assert_eq!(still, sealed_name);
        let keys: i64 = sqlx::query("SELECT COUNT(*) FROM data_keys WHERE id = $1")
            .bind(id.to_string()).fetch_one(&raw).await.unwrap().get(0);
        assert_eq!(keys, 0);
        raw.close().await;
        store.close().await;
        let bytes = db.raw_bytes().await;
        assert_eq!(occurrences(&bytes, &db.as_stored(&sealed_name)), 1, "the ciphertext stays");
        assert_eq!(occurrences(&bytes, &db.as_stored(&wrapped)), 0, "the wrapped key must be gone");
        // The number is free again (a new record could be made after erasure).
        let store = db.open(&clock()).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.add_person(t.id, &person("Ny", "Post", number), false).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn concurrent_writers_do_not_fail(backend) {
        let (_db, store, _clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await;
        let mut tasks = Vec::new();
        for i in 0..8u16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.add_person(t.id, &person("Samtidig", "Skrivare", pnr(date!(1950-05-05), 980 + i)), false).await.unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(store.unsafe_persons(t.id).await.unwrap().len(), 8);
    }
}

on_both_backends! {
    async fn access_facts_reflect_care_consent_blocks_emergencies_and_grants(backend) {
        let (_db, store, clock) = store(backend).await;
        let t = tenant(&store, "212000-9994").await;
        let mut tx = store.begin().await.unwrap();
        let north = tx.add_unit(t.id, None, "Norr", None).await.unwrap();
        let south = tx.add_unit(t.id, None, "Söder", None).await.unwrap();
        let staff = tx.add_staff(t.id, &StaffDetails {
            given_name: PersonName::parse("Sara").unwrap(), family_name: PersonName::parse("Ek").unwrap(),
            hsa_id: None, identity_number: None, email: None, phone: None,
        }).await.unwrap();
        let p = tx.add_person(t.id, &person("Gun", "Ek", pnr(date!(1933-03-03), 991)), true).await.unwrap();
        let rel = tx.add_relative(t.id, p, &RelativeDetails {
            given_name: PersonName::parse("Per").unwrap(), family_name: PersonName::parse("Ek").unwrap(),
            identity_number: None, relation: None, phone: None, email: None,
        }).await.unwrap();
        let now = clock.now();
        tx.add_care_relationship(t.id, p, CareParty::Unit(north.id), Period::new(now - Duration::days(1), None).unwrap()).await.unwrap();
        tx.add_care_relationship(t.id, p, CareParty::Staff(staff), Period::new(now - Duration::days(10), Some(now - Duration::days(1))).unwrap()).await.unwrap();
        tx.add_care_relationship(t.id, p, CareParty::Unit(south.id), Period::new(now + Duration::days(1), None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        store.record_consent(t.id, p, north.id).await.unwrap();
        store.record_block(t.id, p, south.id).await.unwrap();
        store.grant_relative(t.id, rel, &[Part::Overview, Part::CarePlan]).await.unwrap();
        store.grant_relative(t.id, rel, &[Part::CarePlan]).await.unwrap();
        let facts = store.person_facts(t.id, p, now).await.unwrap();
        assert!(facts.protected_identity);
        assert_eq!(facts.care, vec![ActiveCare::Unit(north.id)], "only relationships in force now");
        assert_eq!(facts.consents, vec![north.id]);
        assert_eq!(facts.blocked_units, vec![south.id]);
        assert_eq!(facts.relative_grants, vec![(rel, vec![Part::CarePlan, Part::Overview])]);
        assert!(facts.emergency.is_empty());
        // References are checked, across tenants too.
        let other = tenant(&store, "212000-0142").await;
        assert!(matches!(store.record_consent(other.id, p, north.id).await, Err(StoreError::UnknownReference(_))));
        assert!(matches!(store.person_facts(other.id, p, now).await, Err(StoreError::NotFound(_))));
        // Later the future relationship holds and the past one still does not.
        let later = store.person_facts(t.id, p, now + Duration::days(2)).await.unwrap();
        assert_eq!(later.care.len(), 2);
        assert!(!later.care.contains(&ActiveCare::Staff(staff)));
    }
}
