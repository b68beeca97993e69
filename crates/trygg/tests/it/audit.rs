//! The audit log as its readers see it: the person's own extract ("who
//! looked at my data"). On both backends.

use crate::kit::*;
use time::Duration;
use time::macros::date;
use trygg_domain::*;

on_both_backends! {
    async fn a_person_sees_which_units_looked_at_their_data(backend) {
        let app = TestApp::spawn(backend).await;
        let t = tenant(&app.store, "212000-9994").await.id;
        let mut tx = app.store.begin().await.unwrap();
        let north = tx.add_unit(t, None, "Hemtjänst Norr", None).await.unwrap().id;
        let south = tx.add_unit(t, None, "Hemtjänst Söder", None).await.unwrap().id;
        let mut staff = Vec::new();
        for (given, unit) in [("Nora", north), ("Siv", south)] {
            let id = tx.add_staff(t, &StaffDetails {
                given_name: PersonName::parse(given).unwrap(), family_name: PersonName::parse("Testsson").unwrap(),
                hsa_id: None, identity_number: None, email: None, phone: None,
            }).await.unwrap();
            tx.assign_role(t, RoleAssignment { staff: id, unit, role: Role::Nurse }).await.unwrap();
            staff.push(id);
        }
        let elsa = tx.add_person(t, &person("Elsa", "Ek", pnr(date!(1931 - 03 - 03), 981)), false).await.unwrap();
        let relative = tx.add_relative(t, elsa, &RelativeDetails {
            given_name: PersonName::parse("Rut").unwrap(), family_name: PersonName::parse("Ek").unwrap(),
            identity_number: None, relation: None, phone: None, email: None,
        }).await.unwrap();
        tx.add_care_relationship(t, elsa, CareParty::Unit(north), Period::new(app.clock.now() - Duration::days(1), None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        let nora = As::new(&app, Account::Staff { tenant: t, staff: staff[0] }).await;
        let siv = As::new(&app, Account::Staff { tenant: t, staff: staff[1] }).await;
        let me = As::new(&app, Account::Person { tenant: t, person: elsa }).await;

        let empty = me.get("/my-log").await.text().await.unwrap();
        assert!(empty.contains("log-empty"), "{empty}");
        // Nora reads the plan; Siv is refused, then opens emergency access and reads.
        assert_eq!(nora.get(&format!("/api/persons/{elsa}/care-plan/{north}")).await.status(), 200);
        assert_eq!(siv.get(&format!("/api/persons/{elsa}")).await.status(), 403);
        let res = siv.json(&format!("/api/persons/{elsa}/emergency-access"), &serde_json::json!({"reason": "Larm utan svar"})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(siv.get(&format!("/api/persons/{elsa}")).await.status(), 200);

        let res = me.get("/my-log").await;
        let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let page = res.text().await.unwrap();
        assert!(page.contains("Hemtjänst Norr") && page.contains("läste genomförandeplanen"), "{page}");
        assert!(page.contains("Hemtjänst Söder") && page.contains("öppnade nödåtkomst") && page.contains("Nödåtkomst"), "{page}");
        assert_eq!(page.matches("<tr><td>").count(), 3, "three allowed accesses by others, not the refusal: {page}");
        assert!(!page.contains("Testsson"), "staff are not named unless the provider chooses so");
        // Reading the extract is itself logged.
        let entries = app.store.unsafe_audit_entries_of_request(&rid).await.unwrap();
        assert!(entries.iter().any(|e| e.event.action == "read:audit_log" && e.event.person == Some(elsa)), "{entries:?}");
        // A relative, or staff, cannot read the person's extract.
        let rut = As::new(&app, Account::Relative { tenant: t, relative, person: elsa }).await;
        assert_eq!(rut.get("/my-log").await.status(), 403);
        assert_eq!(nora.get("/my-log").await.status(), 403);
    }
}
