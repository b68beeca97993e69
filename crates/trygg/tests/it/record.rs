//! The care record through the one decision path: facts from the store →
//! Cedar decision → Grant → the store. On both backends.

use crate::kit::*;
use time::Duration;
use time::macros::date;
use trygg_domain::*;
use trygg_policy::{Authorizer, Via};
use trygg_store::{Store, StoreError};

struct World {
    t: Tenant,
    north: UnitId,
    south: UnitId,
    nurse_north: StaffId,
    nurse_south: StaffId,
    person: PersonId,
}

async fn world(store: &Store, clock: &ManualClock) -> World {
    let t = tenant(store, "212000-9994").await;
    let mut tx = store.begin().await.unwrap();
    let north = tx
        .add_unit(t.id, None, "Hemtjänst Norr", None)
        .await
        .unwrap()
        .id;
    let south = tx
        .add_unit(t.id, None, "Hemtjänst Söder", None)
        .await
        .unwrap()
        .id;
    let staff = |given: &str| StaffDetails {
        given_name: PersonName::parse(given).unwrap(),
        family_name: PersonName::parse("Ek").unwrap(),
        hsa_id: None,
        identity_number: None,
        email: None,
        phone: None,
    };
    let nurse_north = tx.add_staff(t.id, &staff("Nora")).await.unwrap();
    let nurse_south = tx.add_staff(t.id, &staff("Siv")).await.unwrap();
    tx.assign_role(
        t.id,
        RoleAssignment {
            staff: nurse_north,
            unit: north,
            role: Role::Nurse,
        },
    )
    .await
    .unwrap();
    tx.assign_role(
        t.id,
        RoleAssignment {
            staff: nurse_south,
            unit: south,
            role: Role::Nurse,
        },
    )
    .await
    .unwrap();
    let person = tx
        .add_person(
            t.id,
            &person("Greta", "Lind", pnr(date!(1936 - 06 - 06), 989)),
            false,
        )
        .await
        .unwrap();
    tx.add_care_relationship(
        t.id,
        person,
        CareParty::Unit(north),
        Period::new(clock.now() - Duration::days(1), None).unwrap(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    World {
        t,
        north,
        south,
        nurse_north,
        nurse_south,
        person,
    }
}

fn principal(w: &World, staff: StaffId, unit: UnitId, stepped_up: bool) -> Principal {
    Principal {
        account: Account::Staff {
            tenant: w.t.id,
            staff,
        },
        roles: vec![(unit, Role::Nurse)],
        loa: Loa::Loa3,
        stepped_up,
    }
}

fn resource(w: &World, part: Part, owner: Option<UnitId>) -> Resource {
    Resource {
        person: w.person,
        part,
        owner_unit: owner,
        min_loa: Loa::Loa3,
    }
}

on_both_backends! {
    async fn care_plans_and_notes_need_a_grant_and_keep_history(backend) {
        let (db, store, clock) = store(backend).await;
        let w = world(&store, &clock).await;
        let authz = Authorizer::new().unwrap();
        let north = principal(&w, w.nurse_north, w.north, false);
        let facts = store.person_facts(w.t.id, w.person, clock.now()).await.unwrap();

        // The north nurse writes her unit's plan twice: history is kept.
        let write = authz.authorize(&north, Action::Write(Part::CarePlan), &resource(&w, Part::CarePlan, Some(w.north)), &facts, clock.now()).unwrap();
        assert_eq!(write.via(), Via::CareRelationship);
        let v1 = store.write_care_plan(&write, w.nurse_north, &FreeText::parse("Hjälp med dusch tisdagar.").unwrap()).await.unwrap();
        clock.advance(Duration::minutes(5));
        let v2 = store.write_care_plan(&write, w.nurse_north, &FreeText::parse("Hjälp med dusch tisdagar och fredagar.").unwrap()).await.unwrap();
        assert_eq!((v1, v2), (1, 2));
        let read = authz.authorize(&north, Action::Read(Part::CarePlan), &resource(&w, Part::CarePlan, Some(w.north)), &facts, clock.now()).unwrap();
        let plan = store.care_plan(&read).await.unwrap().unwrap();
        assert_eq!((plan.version, plan.text.as_str()), (2, "Hjälp med dusch tisdagar och fredagar."));
        assert_eq!(store.care_plan_history(&read).await.unwrap().len(), 2);
        // A read grant does not write, and a write grant does not read.
        assert!(store.write_care_plan(&read, w.nurse_north, &FreeText::parse("x").unwrap()).await.is_err());
        assert!(store.care_plan(&write).await.is_err());

        // Visit notes, with versions.
        let write_notes = authz.authorize(&north, Action::Write(Part::VisitNotes), &resource(&w, Part::VisitNotes, Some(w.north)), &facts, clock.now()).unwrap();
        let (note, _) = store.write_visit_note(&write_notes, None, w.nurse_north, &FreeText::parse("Åt frukost.").unwrap()).await.unwrap();
        let (same, v) = store.write_visit_note(&write_notes, Some(note), w.nurse_north, &FreeText::parse("Åt frukost och lunch.").unwrap()).await.unwrap();
        assert_eq!((same, v), (note, 2));
        let read_notes = authz.authorize(&north, Action::Read(Part::VisitNotes), &resource(&w, Part::VisitNotes, Some(w.north)), &facts, clock.now()).unwrap();
        let notes = store.visit_notes(&read_notes).await.unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].text.as_str(), "Åt frukost och lunch.");
        assert_eq!(store.visit_note_history(&read_notes, note).await.unwrap().len(), 2);
        assert!(matches!(
            store.write_visit_note(&write_notes, Some(uuid::Uuid::nil()), w.nurse_north, &FreeText::parse("x").unwrap()).await,
            Err(StoreError::NotFound(_))
        ));

        // The south nurse has no care relationship: no grant, no data.
        let south = principal(&w, w.nurse_south, w.south, false);
        assert!(authz.authorize(&south, Action::Read(Part::CarePlan), &resource(&w, Part::CarePlan, Some(w.north)), &facts, clock.now()).is_err());
        assert!(authz.authorize(&south, Action::Find, &resource(&w, Part::Overview, None), &facts, clock.now()).is_err());

        // Free text is sealed: not in the database file or dump.
        store.close().await;
        let bytes = db.raw_bytes().await;
        for text in ["dusch tisdagar", "frukost"] {
            assert_eq!(occurrences(&bytes, text.as_bytes()), 0, "{text}");
        }
    }

    async fn emergency_access_needs_step_up_expires_and_is_followed_up(backend) {
        let (db, store, clock) = store(backend).await;
        let w = world(&store, &clock).await;
        let authz = Authorizer::new().unwrap();
        let facts = store.person_facts(w.t.id, w.person, clock.now()).await.unwrap();
        let overview = resource(&w, Part::Overview, None);
        // Without a fresh login, no emergency access.
        let south = principal(&w, w.nurse_south, w.south, false);
        assert!(authz.authorize(&south, Action::BeginEmergencyAccess, &overview, &facts, clock.now()).is_err());
        let south = principal(&w, w.nurse_south, w.south, true);
        let begin = authz.authorize(&south, Action::BeginEmergencyAccess, &overview, &facts, clock.now()).unwrap();
        let until = clock.now() + Duration::hours(1);
        let id = store.begin_emergency_access(&begin, w.nurse_south, &FreeText::parse("Larm, ingen svarar, behöver läkemedelslista.").unwrap(), until).await.unwrap();
        // In force: the north unit's care plan opens, via emergency access.
        let facts = store.person_facts(w.t.id, w.person, clock.now()).await.unwrap();
        let plan = resource(&w, Part::CarePlan, Some(w.north));
        let grant = authz.authorize(&south, Action::Read(Part::CarePlan), &plan, &facts, clock.now()).unwrap();
        assert_eq!(grant.via(), Via::EmergencyAccess);
        // At its end it is over (controlled clock, no sleeping).
        clock.set(until);
        let facts = store.person_facts(w.t.id, w.person, clock.now()).await.unwrap();
        assert!(authz.authorize(&south, Action::Read(Part::CarePlan), &plan, &facts, clock.now()).is_err());
        // It waits on the follow-up list until a manager has looked at it.
        let list = store.emergency_follow_up_list(w.t.id).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].id, list[0].staff, list[0].person), (id, w.nurse_south, w.person));
        // The follow-up is decided for a unit the staff member works in: the
        // north nurse's grant (as if she managed north) reaches nothing of a
        // south nurse's access; a south manager's does, reason included.
        let admin = trygg_policy::AdminAuthorizer::new().unwrap();
        let manager_of = |unit| Principal {
            account: Account::Staff { tenant: w.t.id, staff: w.nurse_north },
            roles: vec![(unit, Role::UnitManager)], loa: Loa::Loa3, stepped_up: true,
        };
        let follow_up = |unit| AdminRequest { action: AdminAction::FollowUpEmergency, unit, tenant: w.t.id, about_self: false };
        let wrong_unit = admin.authorize(&manager_of(w.north), &follow_up(w.north)).unwrap();
        assert!(matches!(store.emergency_detail(&wrong_unit, id).await, Err(StoreError::NotFound(_))));
        let note = FreeText::parse("Befogad: larm utan svar.").unwrap();
        assert!(matches!(store.follow_up_emergency_access(&wrong_unit, id, w.nurse_north, &note).await, Err(StoreError::NotFound(_))));
        let grant = admin.authorize(&manager_of(w.south), &follow_up(w.south)).unwrap();
        let detail = store.emergency_detail(&grant, id).await.unwrap();
        assert_eq!(detail.reason.as_str(), "Larm, ingen svarar, behöver läkemedelslista.");
        store.follow_up_emergency_access(&grant, id, w.nurse_north, &note).await.unwrap();
        assert!(store.emergency_follow_up_list(w.t.id).await.unwrap().is_empty());
        assert!(matches!(
            store.follow_up_emergency_access(&grant, id, w.nurse_north, &FreeText::parse("igen").unwrap()).await,
            Err(StoreError::Duplicate(_))
        ));
        // The reason is in the audit log too (so a review sees it), sealed:
        // neither the table nor the log holds it in plaintext.
        store.close().await;
        let bytes = db.raw_bytes().await;
        assert_eq!(occurrences(&bytes, "läkemedelslista".as_bytes()), 0);
        assert!(occurrences(&bytes, b"begin_emergency_access") > 0, "the access is in the log");
    }

    async fn a_block_hides_a_units_record_even_with_consent(backend) {
        let (_db, store, clock) = store(backend).await;
        let w = world(&store, &clock).await;
        let authz = Authorizer::new().unwrap();
        // The south unit also cares for the person now.
        let mut tx = store.begin().await.unwrap();
        tx.add_care_relationship(w.t.id, w.person, CareParty::Unit(w.south), Period::new(clock.now() - Duration::hours(1), None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        let south = principal(&w, w.nurse_south, w.south, false);
        let north_plan = resource(&w, Part::CarePlan, Some(w.north));
        let facts = store.person_facts(w.t.id, w.person, clock.now()).await.unwrap();
        assert!(authz.authorize(&south, Action::Read(Part::CarePlan), &north_plan, &facts, clock.now()).is_err(), "no consent");
        store.record_consent(w.t.id, w.person, w.south).await.unwrap();
        let facts = store.person_facts(w.t.id, w.person, clock.now()).await.unwrap();
        assert_eq!(authz.authorize(&south, Action::Read(Part::CarePlan), &north_plan, &facts, clock.now()).unwrap().via(), Via::Consent);
        store.record_block(w.t.id, w.person, w.north).await.unwrap();
        let facts = store.person_facts(w.t.id, w.person, clock.now()).await.unwrap();
        assert!(authz.authorize(&south, Action::Read(Part::CarePlan), &north_plan, &facts, clock.now()).is_err(), "blocked");
        // The north unit still reads its own record.
        let north = principal(&w, w.nurse_north, w.north, false);
        assert!(authz.authorize(&north, Action::Read(Part::CarePlan), &north_plan, &facts, clock.now()).is_ok());
    }
}
