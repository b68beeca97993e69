//! The alarm console over HTTP, on both backends: the queue shows an
//! operator the open alarms of their units (untaken marked and first), not
//! to staff without a care relationship; the person's alarm page takes,
//! dispatches, marks on site and closes; the live updates say only that
//! something changed.

use crate::alarms::{provisioned, staffed};
use crate::kit::*;
use trygg_domain::*;
use trygg_store::{AlarmKind, IncomingAlarm};

fn incoming(reference: &str) -> IncomingAlarm<'_> {
    IncomingAlarm {
        reference,
        kind: AlarmKind::Alarm,
        status_code: Some(9),
        priority: Some(1),
        request: "<mrq><ref>Q1</ref><cid>4600001</cid><dty>0005</dty><stc>0009</stc></mrq>",
    }
}

on_both_backends! {
    async fn the_queue_shows_open_alarms_and_the_person_page_handles_them(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned(&app.store, "larm-0001", "4600001").await;
        let (operator, worker, _) = staffed(&app.store, &device, &app.clock).await;
        let alarm = app.store.record_alarm(&device, &incoming("Q1")).await.unwrap().alarm;
        let op = As::new(&app, Account::Staff { tenant: device.tenant, staff: operator }).await;
        let outsider = As::new(&app, Account::Staff { tenant: device.tenant, staff: worker }).await;

        let queue = op.get("/alarms").await.text().await.unwrap();
        assert!(queue.contains("Greta Lind"), "{queue}");
        assert!(queue.contains(&format!("/persons/{}/alarms", device.person)), "{queue}");
        assert!(queue.contains("class=\"alarm received\"") && queue.contains("Ej taget"), "{queue}");
        // An untaken alarm notifies (with a fixed text, no name).
        assert!(queue.contains(&format!("data-notify=\"Nytt larm i kön\" data-notify-key=\"queue-alarm-{alarm}\"")), "{queue}");
        assert!(!queue.contains("Eskalerat"), "{queue}");
        // A technical alarm of the same person is listed apart, below.
        let technical = IncomingAlarm { kind: AlarmKind::Technical, status_code: Some(16), ..incoming("T1") };
        app.store.record_alarm(&device, &technical).await.unwrap();
        let queue = op.get("/alarms").await.text().await.unwrap();
        let (alarms_part, technical_part) = queue.split_once("id=\"technical-heading\"").unwrap();
        assert!(alarms_part.contains(&format!("alarm-{alarm}")) && technical_part.contains("Tekniskt larm"), "{queue}");
        assert!(!alarms_part.contains("Tekniskt larm"), "{queue}");
        assert!(!technical_part.contains("data-notify-key"), "a technical alarm notifies no one: {queue}");
        // Not taken within two minutes: escalated, and marked so.
        app.clock.advance(time::Duration::minutes(3));
        let round = app.server.alarms().unwrap().supervise().await.unwrap();
        assert_eq!(round.escalated, vec![alarm]);
        let queue = op.get("/alarms").await.text().await.unwrap();
        assert!(queue.contains("Eskalerat: väntar för länge"), "{queue}");
        // Its escalation is news of its own.
        assert!(queue.contains(&format!("data-notify=\"Larm har väntat för länge\" data-notify-key=\"queue-alarm-{alarm}-escalated\"")), "{queue}");
        // Staff of another unit, without a care relationship, see nothing of it.
        let theirs = outsider.get("/alarms").await.text().await.unwrap();
        assert!(!theirs.contains("Greta") && theirs.contains("Inga öppna larm"), "{theirs}");
        assert_eq!(outsider.get(&format!("/persons/{}/alarms", device.person)).await.status(), 403);

        // Take, send staff, on site, close: each a form, each back to the page.
        let page = format!("/persons/{}/alarms", device.person);
        let step = |name: &str| format!("{page}/{alarm}/{name}");
        let res = op.form(&step("take"), &[]).await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, page.clone()));
        let shown = op.get(&page).await.text().await.unwrap();
        assert!(shown.contains("Taget") && shown.contains("/dispatch"), "{shown}");
        // Taking it again is a conflict, answered as such.
        assert_eq!(op.form(&step("take"), &[]).await.status(), 409);
        let res = op.form(&step("dispatch"), &[("staff", &worker.to_string())]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(op.form(&step("on-site"), &[]).await.status(), 303);
        // A close without a note is refused and changes nothing.
        assert_eq!(op.form(&step("close"), &[("note", "")]).await.status(), 400);
        let res = op.form(&step("close"), &[("note", "Hade halkat, oskadd.")]).await;
        assert_eq!(res.status(), 303);
        let shown = op.get(&page).await.text().await.unwrap();
        assert!(shown.contains("Avslutat: Hade halkat, oskadd."), "{shown}");
        let queue = op.get("/alarms?lang=en").await.text().await.unwrap();
        assert!(queue.contains("No open alarms."), "{queue}");
    }

    async fn the_alarm_page_shows_who_the_person_is_and_where_they_live(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned(&app.store, "larm-0001", "4600001").await;
        let (operator, _, _) = staffed(&app.store, &device, &app.clock).await;
        app.store.record_alarm(&device, &incoming("Q1")).await.unwrap();
        let op = As::new(&app, Account::Staff { tenant: device.tenant, staff: operator }).await;
        let res = op.get(&format!("/persons/{}/alarms", device.person)).await;
        assert_eq!(res.status(), 200);
        let request = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let page = res.text().await.unwrap();
        // Above the alarms: name, address, and the phone as a link to call.
        let (about, _) = page.split_once("id=\"alarm-").unwrap();
        for shown in ["id=\"about-person\"", "Greta Lind", "Storgatan 1", "123 45 Bänkby", "href=\"tel:0701234567\""] {
            assert!(about.contains(shown), "{shown} in {page}");
        }
        // Two accesses, each its own entry of the request.
        let mut logged: Vec<String> = app.store.unsafe_audit_entries_of_request(&request).await.unwrap().into_iter().map(|e| e.event.action).collect();
        logged.sort();
        assert_eq!(logged, [Action::Read(Part::Alarms).audit_name(), Action::Read(Part::Overview).audit_name()]);
    }

    async fn a_gps_alarm_shows_what_the_device_said_and_where(backend) {
        // With a map service configured, the position links to it; with a
        // tile server, it is drawn on its map; the coordinates and a geo:
        // link are always there.
        let args = trygg::config::ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            alarm_map_url: Some("https://karta.example.se/?lat={lat}&lon={lon}".into()),
            alarm_map_tiles: Some("https://tiles.example.se/{z}/{x}/{y}.png".into()),
            ..Default::default()
        };
        let app = TestApp::spawn_configured(backend, clock(), args, Vec::new()).await;
        let device = provisioned(&app.store, "larm-0001", "4600001").await;
        let (operator, _, _) = staffed(&app.store, &device, &app.clock).await;
        let gps = IncomingAlarm {
            request: "<mrq><ref>G1</ref><cid>4600001</cid><dty>0005</dty><stc>0009</stc>\
                      <stt>Fall</stt><dte>Falllarm arm</dte><lte>Ute, Storgatan</lte>\
                      <lge><geo>59.329323,18.068581</geo><tim>2026-05-04T03:12:09+02:00</tim></lge></mrq>",
            ..incoming("G1")
        };
        app.store.record_alarm(&device, &gps).await.unwrap();
        let op = As::new(&app, Account::Staff { tenant: device.tenant, staff: operator }).await;
        let response = op.get(&format!("/persons/{}/alarms", device.person)).await;
        // Images from the tile server are allowed, and nothing else is.
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("img-src 'self' data: https://tiles.example.se;"), "{csp}");
        assert!(!csp.contains("karta.example.se"), "{csp}");
        let page = response.text().await.unwrap();
        // The tile holding the position (zoom 16) is in the map, which the
        // marker marks in its middle.
        let map = page.split("<svg class=\"map\"").nth(1).expect("a map is drawn").split("</svg>").next().unwrap();
        assert!(map.contains("aria-label=\"Karta med larmets position, mitt i bilden: 59.329323,18.068581\""), "{map}");
        assert_eq!(map.matches("<image ").count(), 9, "{map}");
        assert!(map.contains("href=\"https://tiles.example.se/16/36057/19273.png\" x=\"168\" y=\"63\""), "{map}");
        assert!(map.contains("<circle class=\"marker\" cx=\"240\" cy=\"160\""), "{map}");
        for shown in ["Larmet säger</dt><dd>Fall", "Enhet</dt><dd>Falllarm arm", "Plats</dt><dd>Ute, Storgatan",
                      "59.329323,18.068581", "bestämd 2026-05-04 03:12", "href=\"geo:59.329323,18.068581\"",
                      "href=\"https://karta.example.se/?lat=59.329323&#38;lon=18.068581\""] {
            assert!(page.contains(shown), "{shown}: {page}");
        }
        let queue = op.get("/alarms").await.text().await.unwrap();
        assert!(queue.contains("Ute, Storgatan") && queue.contains("Position (GPS)"), "{queue}");
        // The JSON API says the same in numbers.
        let api: serde_json::Value = op.get(&format!("/api/persons/{}/alarms", device.person)).await.json().await.unwrap();
        let reported = &api[0]["reported"];
        assert_eq!(reported["location_text"], "Ute, Storgatan");
        assert_eq!(reported["position"]["latitude"], 59.329323);
        assert_eq!(reported["position"]["fixed_at"], "2026-05-04T01:12:09Z");
    }

    async fn live_updates_say_that_something_changed_and_nothing_else(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned(&app.store, "larm-0001", "4600001").await;
        let (operator, _, _) = staffed(&app.store, &device, &app.clock).await;
        let op = As::new(&app, Account::Staff { tenant: device.tenant, staff: operator }).await;
        let mut events = op.get("/alarms/events").await;
        assert_eq!(events.status(), 200);
        assert!(events.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        app.store.record_alarm(&device, &incoming("Q2")).await.unwrap();
        let seen = until_changed(&mut events).await;
        assert!(!seen.contains("Greta") && !seen.contains("4600001"), "{seen}");
        // Not for citizens.
        let citizen = As::new(&app, Account::Person { tenant: device.tenant, person: device.person }).await;
        assert_eq!(citizen.get("/alarms/events").await.status(), 403);
    }

    async fn every_live_stream_hears_a_change_and_streams_are_capped_per_staff_member(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned(&app.store, "larm-0001", "4600001").await;
        let (operator, colleague, _) = staffed(&app.store, &device, &app.clock).await;
        let op = As::new(&app, Account::Staff { tenant: device.tenant, staff: operator }).await;
        let mut open = Vec::new();
        for _ in 0..trygg_web::live::STREAMS_PER_STAFF {
            let stream = op.get("/alarms/events").await;
            assert_eq!(stream.status(), 200);
            open.push(stream);
        }
        // One more from the same staff member is refused, clearly.
        let refused = op.get("/alarms/events").await;
        assert_eq!(refused.status(), 429);
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["code"], "WB429");
        // A colleague is not hurt by it.
        let other = As::new(&app, Account::Staff { tenant: device.tenant, staff: colleague }).await;
        let mut theirs = other.get("/alarms/events").await;
        assert_eq!(theirs.status(), 200);
        // Every stream hears of a change, from one watcher of the tenant.
        app.store.record_alarm(&device, &incoming("Q3")).await.unwrap();
        for stream in open.iter_mut().chain(std::iter::once(&mut theirs)) {
            until_changed(stream).await;
        }
        // A page opened after a change the watcher has not read yet shows
        // it already: the watcher catching up is no change for that page
        // (a needless reload would lose what an operator is typing).
        app.store.record_alarm(&device, &incoming("Q4")).await.unwrap();
        let mut late = other.get("/alarms/events").await;
        assert_eq!(late.status(), 200);
        until_changed(&mut theirs).await;
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(500), late.chunk()).await;
        if let Ok(chunk) = quiet {
            let chunk = chunk.unwrap().expect("the stream stays open");
            assert!(!String::from_utf8_lossy(&chunk).contains("changed"), "a change the page already shows");
        }
        app.store.record_alarm(&device, &incoming("Q5")).await.unwrap();
        until_changed(&mut late).await;
        // A change between a page's rendering and its stream's opening is
        // reported: the page passes the state it was rendered after.
        for page in ["/alarms", "/alarms/mine"] {
            let html = other.get(page).await.text().await.unwrap();
            let since = html
                .split("data-since=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("{page} names the state it shows: {html}"))
                .to_owned();
            app.store.record_alarm(&device, &incoming(&format!("R{}", page.len()))).await.unwrap();
            let mut stream = other.get(&format!("/alarms/events?since={since}")).await;
            assert_eq!(stream.status(), 200);
            until_changed(&mut stream).await;
        }
        // Something that is no fingerprint is ignored: the stream starts from now.
        let odd = other.get("/alarms/events?since=%3Cscript%3E").await;
        assert_eq!(odd.status(), 200);
        // A page closed gives its place back.
        drop(open.pop());
        let mut again = None;
        for _ in 0..60 {
            let response = op.get("/alarms/events").await;
            if response.status() == 200 {
                again = Some(response);
                break;
            }
            assert_eq!(response.status(), 429);
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        assert!(again.is_some(), "a closed stream's place was never given back");
    }
}

on_both_backends! {
    async fn home_care_staff_see_the_alarms_they_were_sent_to_and_handle_them(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned(&app.store, "larm-0001", "4600001").await;
        let (operator, worker, their_unit) = staffed(&app.store, &device, &app.clock).await;
        // The worker's unit cares for the person too.
        let mut tx = app.store.begin().await.unwrap();
        let since = Period::new(app.clock.now() - time::Duration::days(1), None).unwrap();
        tx.add_care_relationship(device.tenant, device.person, CareParty::Unit(their_unit), since).await.unwrap();
        tx.commit().await.unwrap();
        let alarm = app.store.record_alarm(&device, &incoming("M1")).await.unwrap().alarm;
        let op = As::new(&app, Account::Staff { tenant: device.tenant, staff: operator }).await;
        let hanna = As::new(&app, Account::Staff { tenant: device.tenant, staff: worker }).await;
        let none = hanna.get("/alarms/mine").await.text().await.unwrap();
        assert!(none.contains("Du har inga larm att åka på."), "{none}");

        let page = format!("/persons/{}/alarms", device.person);
        assert_eq!(op.form(&format!("{page}/{alarm}/take"), &[]).await.status(), 303);
        let res = op.form(&format!("{page}/{alarm}/dispatch"), &[("staff", &worker.to_string())]).await;
        assert_eq!(res.status(), 303);
        let mine = hanna.get("/alarms/mine").await.text().await.unwrap();
        assert!(mine.contains("Greta Lind") && mine.contains("Personal på väg"), "{mine}");
        // Only hers: the operator was sent nowhere.
        assert!(op.get("/alarms/mine").await.text().await.unwrap().contains("Du har inga larm att åka på."));
        // She is on site, then closes it from her phone.
        assert_eq!(hanna.form(&format!("{page}/{alarm}/on-site"), &[]).await.status(), 303);
        assert!(hanna.get("/alarms/mine").await.text().await.unwrap().contains("Personal på plats"));
        let res = hanna.form(&format!("{page}/{alarm}/close"), &[("note", "Hjälpte upp, oskadd.")]).await;
        assert_eq!(res.status(), 303);
        let after = hanna.get("/alarms/mine?lang=en").await.text().await.unwrap();
        assert!(after.contains("You have no alarms to go to."), "{after}");
    }
}

/// What an event stream sends up to and including its next `changed`,
/// which must come within 30 s (keep-alive comments do not count).
async fn until_changed(events: &mut reqwest::Response) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut seen = String::new();
    while !seen.contains("event: changed") {
        let chunk = tokio::time::timeout_at(deadline, events.chunk())
            .await
            .unwrap_or_else(|_| panic!("no change reported within 30 s; the stream sent {seen:?}"))
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}
