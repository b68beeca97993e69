//! Safety alarms over SIP with a third-party peer: sipp (Debian's
//! `sip-tester`) plays the device from the scenarios in `tests/sipp/`. It
//! registers with Digest authentication, sends a SCAIP MESSAGE and its
//! repeat, and answers the receiver's `<mrs>` MESSAGEs (out of its call,
//! `ooc.xml`). What sipp received is read from its message log; what the
//! receiver stored, from the database. On both backends.

use crate::alarms::provisioned_with_password;
use crate::kit::*;
use std::path::{Path, PathBuf};
use trygg_store::Device;

/// What a sipp run gave: whether every call succeeded, and the SIP
/// messages it sent and received.
pub(crate) struct SippRun {
    pub(crate) ok: bool,
    pub(crate) messages: String,
    pub(crate) output: String,
}

impl SippRun {
    /// The bodies of the `<mrs>` MESSAGEs sipp received, in order.
    fn mrs_bodies(&self) -> Vec<String> {
        self.messages
            .split("received [")
            .skip(1)
            .filter(|m| m.contains("MESSAGE sip:"))
            .filter_map(|m| m.find("<mrs>").map(|i| m[i..].to_owned()))
            .map(|b| b[..b.find("</mrs>").map_or(b.len(), |e| e + 6)].to_owned())
            .collect()
    }
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// Runs sipp as `user` with `password` against the app's receiver, over UDP.
pub(crate) async fn sipp(
    app: &TestApp,
    name: &str,
    user: &str,
    password: &str,
    body: &str,
) -> SippRun {
    sipp_over(app, "u1", name, user, password, body).await
}

/// The same over a sipp transport: `u1` (UDP) or `t1` (one TCP connection).
async fn sipp_over(
    app: &TestApp,
    transport: &str,
    name: &str,
    user: &str,
    password: &str,
    body: &str,
) -> SippRun {
    let dir = tempfile::tempdir().unwrap();
    let fields = dir.path().join("fields.csv");
    std::fs::write(&fields, format!("SEQUENTIAL\n{user};{password};trygg\n")).unwrap();
    let log = dir.path().join("messages.log");
    // A free local port for sipp (its default, 5060, may be taken).
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let receiver = app.server.alarms().unwrap();
    let target = if transport == "u1" {
        receiver.udp_addr()
    } else {
        receiver.tcp_addr()
    };
    let mut command = tokio::process::Command::new("sipp");
    if !body.is_empty() {
        command.args(["-set", "body", body]);
    }
    let out = command
        .arg(target.to_string())
        .args(["-sf", scenario(name).to_str().unwrap()])
        .args(["-oocsf", scenario("ooc.xml").to_str().unwrap()])
        .args(["-inf", fields.to_str().unwrap()])
        .args(["-au", user, "-ap", password, "-t", transport])
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1", "-l", "1", "-timeout", "30s", "-timeout_error"])
        .args(["-trace_msg", "-message_file", log.to_str().unwrap()])
        .args(["-nostdin", "-trace_err"])
        .current_dir(dir.path())
        .output()
        .await
        .expect("sipp runs (scripts/test installs sip-tester)");
    let messages = std::fs::read_to_string(&log).unwrap_or_default();
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if entry.file_name().to_string_lossy().ends_with("_errors.log") {
            output.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    SippRun {
        ok: out.status.success(),
        messages,
        output,
    }
}

pub(crate) fn alarm_body(device: &Device, reference: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mrq><ref>{reference}</ref><cid>{}</cid>\
         <dty>0005</dty><stc>0009</stc><pri>1</pri></mrq>",
        device.cid
    )
}

on_both_backends! {
    async fn sipp_registers_sends_an_alarm_and_its_repeat_is_the_same_alarm(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let run = sipp(&app, "device.xml", "larm-0001", "hemligt-losen-1", &alarm_body(&device, "A17")).await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        // Both MESSAGEs were answered snu=0 for ref A17, in <mrs> MESSAGEs.
        let mrs = run.mrs_bodies();
        assert_eq!(mrs.len(), 2, "{}", run.messages);
        for m in &mrs {
            assert!(m.contains("<ref>A17</ref>") && m.contains("<snu>0</snu>"), "{m}");
        }
        // One alarm, which absorbed the repeat.
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (1, 1));
        assert!(app.server.alarms().unwrap().last_seen(device.id).is_some());
    }

    async fn sipp_over_tcp_gets_its_mrs_on_the_same_connection(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let run = sipp_over(&app, "t1", "device.xml", "larm-0001", "hemligt-losen-1", &alarm_body(&device, "T5")).await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        let mrs = run.mrs_bodies();
        assert_eq!(mrs.len(), 2, "{}", run.messages);
        assert!(mrs.iter().all(|m| m.contains("<ref>T5</ref>") && m.contains("<snu>0</snu>")), "{mrs:?}");
        assert!(run.messages.contains("SIP/2.0/TCP"), "{}", run.messages);
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (1, 1));
    }

    async fn sipp_heartbeats_are_answered_and_not_stored(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let body = format!("<mrq><ref>H1</ref><mty>PI</mty><cid>{}</cid><dty>0005</dty></mrq>", device.cid);
        let run = sipp(&app, "device.xml", "larm-0001", "hemligt-losen-1", &body).await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        let mrs = run.mrs_bodies();
        assert_eq!(mrs.len(), 2, "{}", run.messages);
        assert!(mrs.iter().all(|m| m.contains("<ref>H1</ref>") && m.contains("<snu>0</snu>")), "{mrs:?}");
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (0, 0));
        assert!(app.server.alarms().unwrap().last_seen(device.id).is_some());
    }

    async fn sipp_malformed_xml_and_another_devices_cid_are_refused_with_their_snu(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        // Not well-formed: snu=2, with the ref it could read.
        let run = sipp(&app, "device.xml", "larm-0001", "hemligt-losen-1", "<mrq><ref>X1</ref><cid>4600001</cid><dty>0005</mrq>").await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        let mrs = run.mrs_bodies();
        assert_eq!(mrs.len(), 2, "{}", run.messages);
        assert!(mrs.iter().all(|m| m.contains("<snu>2</snu>")), "{mrs:?}");
        // A billion-laughs body: refused at the DOCTYPE, snu=2.
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE mrq [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><mrq><ref>&b;</ref></mrq>";
        let run = sipp(&app, "device.xml", "larm-0001", "hemligt-losen-1", laughs).await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        assert!(run.mrs_bodies().iter().all(|m| m.contains("<snu>2</snu>")), "{}", run.messages);
        // A well-formed alarm naming another device's cid: snu=3, nothing stored.
        let run = sipp(&app, "device.xml", "larm-0001", "hemligt-losen-1", "<mrq><ref>X2</ref><cid>4699999</cid><dty>0005</dty></mrq>").await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        let mrs = run.mrs_bodies();
        assert_eq!(mrs.len(), 2, "{}", run.messages);
        assert!(mrs.iter().all(|m| m.contains("<ref>X2</ref>") && m.contains("<snu>3</snu>")), "{mrs:?}");
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (0, 0));
    }

    async fn sipp_with_a_wrong_password_or_an_unknown_user_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let run = sipp(&app, "wrong_password.xml", "larm-0001", "fel-losen", "").await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        let run = sipp(&app, "wrong_password.xml", "larm-9999", "hemligt-losen-1", "").await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        // A device with a wrong password never gets past the REGISTER: its
        // alarm is never sent, nothing is stored, it was never seen.
        let run = sipp(&app, "device.xml", "larm-0001", "fel-losen", &alarm_body(&device, "Z1")).await;
        assert!(!run.ok, "{}", run.messages);
        assert!(run.mrs_bodies().is_empty());
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (0, 0));
        assert!(app.server.alarms().unwrap().last_seen(device.id).is_none());
    }

    async fn a_silent_device_raises_one_technical_alarm_until_it_is_heard_again(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let receiver = app.server.alarms().unwrap();
        let technical = || async { app.store.technical_alarms(device.id).await.unwrap() };
        // Due after its interval (60 minutes), reported after the grace (2 minutes).
        app.clock.advance(time::Duration::minutes(61));
        receiver.supervise().await.unwrap();
        assert!(technical().await.is_empty());
        app.clock.advance(time::Duration::minutes(2));
        receiver.supervise().await.unwrap();
        let silent = technical().await;
        assert_eq!(silent.len(), 1, "{silent:?}");
        assert!(silent[0].1.starts_with("silent"), "{silent:?}");
        // Once per silence, however long it lasts.
        app.clock.advance(time::Duration::hours(5));
        receiver.supervise().await.unwrap();
        assert_eq!(technical().await.len(), 1);
        // A heartbeat ends the silence, and says so next to the report.
        let body = format!("<mrq><ref>H9</ref><mty>PI</mty><cid>{}</cid><dty>0005</dty></mrq>", device.cid);
        let run = sipp(&app, "device.xml", "larm-0001", "hemligt-losen-1", &body).await;
        assert!(run.ok, "{}\n{}", run.output, run.messages);
        receiver.supervise().await.unwrap();
        let after = technical().await;
        assert_eq!(after.len(), 2, "{after:?}");
        assert!(after[1].1.starts_with("heard"), "{after:?}");
        let heartbeat = |reference: &str| {
            let body = format!("<mrq><ref>{reference}</ref><mty>PI</mty><cid>{}</cid><dty>0005</dty></mrq>", device.cid);
            let app = &app;
            async move {
                let run = sipp(app, "device.xml", "larm-0001", "hemligt-losen-1", &body).await;
                assert!(run.ok, "{}\n{}", run.output, run.messages);
            }
        };
        // Heard a minute later: the registry's time still covers the next
        // heartbeat, so nothing is written; five minutes after the last
        // write, it is written again.
        app.clock.advance(time::Duration::minutes(1));
        heartbeat("H10").await;
        assert_eq!(receiver.supervise().await.unwrap().heard, 0);
        app.clock.advance(trygg_store::STORED_DUE_SLACK);
        heartbeat("H11").await;
        assert_eq!(receiver.supervise().await.unwrap().heard, 1);
        // Due again one interval after it was last heard (from memory, to
        // the minute): nothing new before that.
        app.clock.advance(time::Duration::minutes(61));
        receiver.supervise().await.unwrap();
        assert_eq!(technical().await.len(), 2);
        app.clock.advance(time::Duration::minutes(2));
        receiver.supervise().await.unwrap();
        assert_eq!(technical().await.len(), 3);
        // Once per silence from memory too.
        app.clock.advance(time::Duration::minutes(30));
        assert!(receiver.supervise().await.unwrap().silent.is_empty());
        assert_eq!(technical().await.len(), 3);
    }

    async fn the_registry_finds_a_device_not_heard_since_a_restart_a_slack_after_it_was_due(backend) {
        // After a restart the receiver has no memory of when devices were
        // heard; the registry's due time, written at most every
        // STORED_DUE_SLACK, is then that much later than the heartbeat asks.
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let heard = trygg_domain::Clock::now(&app.clock);
        app.store.devices_heard(&[(device.id, heard)], trygg_store::STORED_DUE_SLACK).await.unwrap();
        let due = heard + device.heartbeat + trygg_store::STORED_DUE_SLACK;
        assert!(app.store.overdue_devices(due, 10).await.unwrap().is_empty());
        let overdue = app.store.overdue_devices(due + time::Duration::milliseconds(1), 10).await.unwrap();
        assert_eq!(overdue.iter().map(|d| d.id).collect::<Vec<_>>(), [device.id]);
    }

    async fn with_every_commit_slot_taken_an_alarm_is_answered_busy_and_nothing_is_lost(backend) {
        let args = trygg::config::ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            alarm_max_in_flight: Some("1".into()),
            ..Default::default()
        };
        let app = TestApp::spawn_configured(backend, clock(), args, Vec::new()).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        // Storage stalls: another transaction holds the lock alarms need.
        let raw = app.db.raw().await;
        let mut stall = raw.begin().await.unwrap();
        let lock = match backend {
            Backend::Sqlite => "UPDATE devices SET heartbeat_s = heartbeat_s",
            Backend::Postgres => "LOCK TABLE alarms IN SHARE ROW EXCLUSIVE MODE",
        };
        sqlx::query(lock).execute(&mut *stall).await.unwrap();
        let mut tcp = StreamDevice::connect_tcp(app.server.alarms().unwrap().tcp_addr()).await;
        tcp.alarm("TCP", 1, &alarm_body(&device, "R1")).await;
        tcp.alarm("TCP", 3, &alarm_body(&device, "R2")).await;
        // One of the two holds the only commit slot, waiting for storage;
        // the other is answered busy at once, so the device retries.
        let first = tcp.mrs().await;
        assert!(first.contains("<snu>6</snu>"), "{first}");
        let busy = if first.contains("<ref>R1</ref>") { "R1" } else { "R2" };
        stall.rollback().await.unwrap();
        let second = tcp.mrs().await;
        assert!(second.contains("<snu>0</snu>") && !second.contains(&format!("<ref>{busy}</ref>")), "{second}");
        // Only the acknowledged alarm is stored; the busy one, sent again, is.
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (1, 0));
        tcp.alarm("TCP", 5, &alarm_body(&device, busy)).await;
        let again = tcp.mrs().await;
        assert!(again.contains("<snu>0</snu>") && again.contains(&format!("<ref>{busy}</ref>")), "{again}");
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (2, 0));
    }

    async fn a_device_over_tls_registers_and_gets_its_mrs_on_the_connection(backend) {
        let dir = tempfile::tempdir().unwrap();
        let hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let files = trygg::devcert::generate(dir.path(), &hosts).unwrap();
        let args = trygg::config::ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            tls_cert: Some(files.cert.to_str().unwrap().into()),
            tls_key: Some(files.key.to_str().unwrap().into()),
            sips_listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        };
        let app = TestApp::spawn_configured(backend, clock(), args, Vec::new()).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let addr = app.server.alarms().unwrap().tls_addr().unwrap();
        let mut tls = TlsDevice::connect(addr, &files.ca_cert).await;

        let register = |n: u32, auth: Option<String>| sip_request("REGISTER", "sip:trygg", n, auth, "");
        tls.send(&register(1, None)).await;
        let challenge = tls.response(401).await;
        let auth = answer(&challenge, "REGISTER", "sip:trygg");
        tls.send(&register(2, Some(auth))).await;
        tls.response(200).await;

        let body = alarm_body(&device, "S1");
        let message = |n: u32, auth: Option<String>| sip_request("MESSAGE", "sip:alarm@trygg", n, auth, &body);
        tls.send(&message(3, None)).await;
        let challenge = tls.response(401).await;
        let auth = answer(&challenge, "MESSAGE", "sip:alarm@trygg");
        tls.send(&message(4, Some(auth))).await;
        tls.response(200).await;
        // The <mrs> comes over the same connection; the device answers it.
        let mrs = tls.request().await;
        let text = String::from_utf8(mrs.body().to_vec()).unwrap();
        assert!(text.contains("<ref>S1</ref>") && text.contains("<snu>0</snu>"), "{text}");
        assert!(mrs.headers().via().unwrap().transport() == trygg_sip::Transport::Tls);
        let ok = trygg_sip::Response::for_request(&mrs, 200, "OK", None, "devtag").unwrap();
        tls.send(&ok.to_bytes()).await;
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (1, 0));
        // A keep-alive ping is answered.
        tls.send(b"\r\n\r\n").await;
        assert_eq!(tls.raw(2).await, b"\r\n");
        // A message without Content-Length ends the connection.
        tls.send(b"OPTIONS sip:trygg SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKx\r\n\r\n").await;
        assert!(tls.closed().await);
    }

    async fn presence_and_check_out_reported_by_the_device_move_the_alarm(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let mut tcp = StreamDevice::connect_tcp(app.server.alarms().unwrap().tcp_addr()).await;
        tcp.alarm("TCP", 1, &alarm_body(&device, "P1")).await;
        assert!(tcp.mrs().await.contains("<snu>0</snu>"));
        let alarm = app.store.technical_alarms(device.id).await.unwrap();
        assert!(alarm.is_empty());
        // Staff were sent (as the console would); the device reports them.
        let raw = app.db.raw().await;
        sqlx::query("UPDATE alarms SET state = 'dispatched' WHERE ref = 'P1'").execute(&raw).await.unwrap();
        let status = |reference: &str, code: &str| format!(
            "<mrq><ref>{reference}</ref><cid>{}</cid><dty>0005</dty><stc>{code}</stc></mrq>", device.cid);
        tcp.alarm("TCP", 3, &status("P2", "0088")).await;
        assert!(tcp.mrs().await.contains("<snu>0</snu>"));
        let state = |reference: &'static str| {
            let raw = raw.clone();
            async move {
                sqlx::query_as::<_, (String, Option<i64>)>("SELECT state, checked_out_at FROM alarms WHERE ref = $1")
                    .bind(reference).fetch_one(&raw).await.unwrap()
            }
        };
        assert_eq!(state("P1").await.0, "on_site");
        tcp.alarm("TCP", 5, &status("P3", "0111")).await;
        assert!(tcp.mrs().await.contains("<snu>0</snu>"));
        let (s, checked_out) = state("P1").await;
        assert_eq!(s, "on_site");
        assert!(checked_out.is_some());
        // The reports are stored too, as status messages.
        assert_eq!(state("P2").await.0, "received");
    }

    async fn a_gzip_body_is_an_alarm_and_a_bomb_or_an_unknown_coding_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let device = provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let mut tcp = StreamDevice::connect_tcp(app.server.alarms().unwrap().tcp_addr()).await;
        // Each MESSAGE answers its own challenge, as `alarm` does.
        let mut cseq = 1;
        let mut send = async |tcp: &mut StreamDevice<tokio::net::TcpStream>, coding: &str, body: &[u8]| {
            let message = |n: u32, auth: Option<String>| encoded(sip_request_over("TCP", "MESSAGE", "sip:alarm@trygg", n, auth, ""), coding, body);
            tcp.send(&message(cseq, None)).await;
            let challenge = tcp.response(401).await;
            let auth = answer(&challenge, "MESSAGE", "sip:alarm@trygg");
            tcp.send(&message(cseq + 1, Some(auth))).await;
            cseq += 2;
            tcp.frame().await
        };
        // A gzip body is decompressed and is an alarm like any other.
        let ok = send(&mut tcp, "gzip", &gzip(alarm_body(&device, "Z1").as_bytes())).await;
        assert!(matches!(&ok, trygg_sip::Message::Response(r) if r.status() == 200), "{ok:?}");
        let mrs = tcp.mrs().await;
        assert!(mrs.contains("<ref>Z1</ref>") && mrs.contains("<snu>0</snu>"), "{mrs}");
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (1, 0));
        // 5 MB of XML whitespace in 5 KiB (deflate at its best): decompressed only as far as
        // the codec reads, and refused as too large.
        let mut huge = alarm_body(&device, "Z2").into_bytes();
        huge.extend(std::iter::repeat_n(b' ', 5 * 1024 * 1024));
        let bomb = gzip(&huge);
        assert!(bomb.len() < trygg_sip::MAX_BODY, "{}", bomb.len());
        let ok = send(&mut tcp, "gzip", &bomb).await;
        assert!(matches!(&ok, trygg_sip::Message::Response(r) if r.status() == 200), "{ok:?}");
        let mrs = tcp.mrs().await;
        assert!(!mrs.contains("<snu>0</snu>"), "{mrs}");
        // Not gzip at all: refused at the SIP level.
        let bad = send(&mut tcp, "gzip", b"<mrq>not compressed</mrq>").await;
        assert!(matches!(&bad, trygg_sip::Message::Response(r) if r.status() == 400), "{bad:?}");
        // A coding Trygg does not speak: 415, naming the one it does.
        let other = send(&mut tcp, "br", alarm_body(&device, "Z3").as_bytes()).await;
        match &other {
            trygg_sip::Message::Response(r) => {
                assert_eq!(r.status(), 415);
                assert_eq!(r.headers().get("Accept-Encoding"), Some("gzip"));
            }
            other => panic!("expected 415, got {other:?}"),
        }
        assert_eq!(app.store.alarm_counts(device.id).await.unwrap(), (1, 0));
    }

    async fn guessing_a_password_is_stopped_for_that_user_from_that_address_only(backend) {
        let app = TestApp::spawn(backend).await;
        provisioned_with_password(&app.store, "larm-0001", "4600001", "hemligt-losen-1").await;
        let mut tx = app.store.begin().await.unwrap();
        let first = app.store.device_by_sip_user("larm-0001").await.unwrap().unwrap().0;
        let secrets = trygg_alarm::device_secrets("larm-0002", "trygg", "annat-losen-22");
        tx.add_device(&trygg_store::NewDevice { tenant: first.tenant, unit: first.unit, person: first.person, sip_user: "larm-0002", cid: "4600002", device_type: 5, heartbeat: time::Duration::minutes(60), secrets: &secrets }).await.unwrap();
        tx.commit().await.unwrap();
        let mut tcp = StreamDevice::connect_tcp(app.server.alarms().unwrap().tcp_addr()).await;
        let mut cseq = 0;
        for _ in 0..trygg_alarm::MAX_AUTH_FAILURES {
            cseq += 2;
            register_as(&mut tcp, "larm-0001", "gissat-losen-1", cseq, 403).await;
        }
        // Now even the right password is refused, without being checked ...
        register_as(&mut tcp, "larm-0001", "hemligt-losen-1", cseq + 2, 403).await;
        // ... but only for this user: the neighbour behind the same address registers.
        register_as(&mut tcp, "larm-0002", "annat-losen-22", cseq + 4, 200).await;
        // When the failures have left the window, the right password works again.
        app.clock.advance(trygg_alarm::AUTH_FAILURE_WINDOW + time::Duration::seconds(1));
        register_as(&mut tcp, "larm-0001", "hemligt-losen-1", cseq + 6, 200).await;
    }
}

/// A device's TCP or TLS connection, framed like the receiver frames it.
struct StreamDevice<S> {
    stream: S,
    framer: trygg_sip::Framer,
}

type TlsDevice = StreamDevice<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

impl StreamDevice<tokio::net::TcpStream> {
    async fn connect_tcp(addr: std::net::SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        Self {
            stream,
            framer: trygg_sip::Framer::new(),
        }
    }
}

impl TlsDevice {
    async fn connect(addr: std::net::SocketAddr, ca: &Path) -> Self {
        use tokio_rustls::rustls::pki_types::pem::PemObject as _;
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        for cert in tokio_rustls::rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider =
            std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        Self {
            stream,
            framer: trygg_sip::Framer::new(),
        }
    }
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> StreamDevice<S> {
    async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt as _;
        self.stream.write_all(bytes).await.unwrap();
    }

    async fn frame(&mut self) -> trygg_sip::Message {
        use tokio::io::AsyncReadExt as _;
        loop {
            if let Some(frame) = self.framer.next_frame().unwrap() {
                match frame {
                    trygg_sip::Frame::Message(m) => return m,
                    trygg_sip::Frame::Ping => continue,
                }
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                self.stream.read(&mut buf),
            )
            .await
            .expect("an answer within 10 s")
            .unwrap();
            assert!(n > 0, "connection closed");
            self.framer.push(&buf[..n]).unwrap();
        }
    }

    async fn response(&mut self, status: u16) -> trygg_sip::Response {
        match self.frame().await {
            trygg_sip::Message::Response(r) if r.status() == status => r,
            other => panic!("expected {status}, got {other:?}"),
        }
    }

    async fn request(&mut self) -> trygg_sip::Request {
        match self.frame().await {
            trygg_sip::Message::Request(r) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    async fn raw(&mut self, n: usize) -> Vec<u8> {
        use tokio::io::AsyncReadExt as _;
        let mut buf = vec![0u8; n];
        self.stream.read_exact(&mut buf).await.unwrap();
        buf
    }

    /// MESSAGE with a SCAIP body, answered 401 and then, with Digest, 200.
    async fn alarm(&mut self, transport: &str, cseq: u32, body: &str) {
        let message = |n: u32, auth: Option<String>| {
            sip_request_over(transport, "MESSAGE", "sip:alarm@trygg", n, auth, body)
        };
        self.send(&message(cseq, None)).await;
        let challenge = self.response(401).await;
        let auth = answer(&challenge, "MESSAGE", "sip:alarm@trygg");
        self.send(&message(cseq + 1, Some(auth))).await;
        self.response(200).await;
    }

    /// The next `<mrs>`, answered 200 OK.
    async fn mrs(&mut self) -> String {
        let mrs = self.request().await;
        let ok = trygg_sip::Response::for_request(&mrs, 200, "OK", None, "devtag").unwrap();
        self.send(&ok.to_bytes()).await;
        String::from_utf8(mrs.body().to_vec()).unwrap()
    }

    async fn closed(&mut self) -> bool {
        use tokio::io::AsyncReadExt as _;
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(
                std::time::Duration::from_secs(10),
                self.stream.read(&mut buf)
            )
            .await,
            Ok(Ok(0) | Err(_))
        )
    }
}

/// REGISTER as `user` with `password` over a stream: 401, then the
/// answer with Digest, which must get `expect`.
async fn register_as(
    tcp: &mut StreamDevice<tokio::net::TcpStream>,
    user: &str,
    password: &str,
    cseq: u32,
    expect: u16,
) {
    tcp.send(&sip_request_as(
        user,
        "TCP",
        "REGISTER",
        "sip:trygg",
        cseq,
        None,
        "",
    ))
    .await;
    let challenge = tcp.response(401).await;
    let auth = answer_as(&challenge, user, password, "REGISTER", "sip:trygg");
    tcp.send(&sip_request_as(
        user,
        "TCP",
        "REGISTER",
        "sip:trygg",
        cseq + 1,
        Some(auth),
        "",
    ))
    .await;
    tcp.response(expect).await;
}

/// A request as the TLS device writes it.
fn sip_request(method: &str, uri: &str, cseq: u32, auth: Option<String>, body: &str) -> Vec<u8> {
    sip_request_over("TLS", method, uri, cseq, auth, body)
}

/// A request as a stream device writes it, over `TCP` or `TLS`.
fn sip_request_over(
    transport: &str,
    method: &str,
    uri: &str,
    cseq: u32,
    auth: Option<String>,
    body: &str,
) -> Vec<u8> {
    sip_request_as("larm-0001", transport, method, uri, cseq, auth, body)
}

/// A request as device `user` writes it.
fn sip_request_as(
    user: &str,
    transport: &str,
    method: &str,
    uri: &str,
    cseq: u32,
    auth: Option<String>,
    body: &str,
) -> Vec<u8> {
    let mut text = format!(
        "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:5061;branch=z9hG4bKdev{user}{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{user}@trygg>;tag=dev1\r\n"
    );
    if method == "REGISTER" {
        text.push_str(&format!(
            "To: <sip:{user}@trygg>\r\nContact: <sip:{user}@127.0.0.1:5061;transport=tls>\r\n"
        ));
    } else {
        text.push_str("To: <sip:alarm@trygg>\r\nContent-Type: application/scaip+xml\r\n");
    }
    text.push_str(&format!(
        "Call-ID: tls-device-1\r\nCSeq: {cseq} {method}\r\n"
    ));
    if let Some(auth) = auth {
        text.push_str(&format!("Authorization: {auth}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    text.into_bytes()
}

/// The device's Authorization for the first (MD5) challenge of a 401.
fn answer(challenge: &trygg_sip::Response, method: &str, uri: &str) -> String {
    answer_as(challenge, "larm-0001", "hemligt-losen-1", method, uri)
}

/// Device `user`'s Authorization with `password` for the first challenge.
fn answer_as(
    challenge: &trygg_sip::Response,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
) -> String {
    let challenges = challenge.headers().www_authenticate().unwrap();
    let first = challenges.first().unwrap();
    assert_eq!(first.algorithm, trygg_sip::Algorithm::Md5);
    let method = trygg_sip::Method::parse(method).unwrap();
    first
        .answer(user, password, &method, uri, "c0ffee", 1)
        .to_string()
}

/// `request` (written with an empty body) with `body` sent in `coding`.
fn encoded(request: Vec<u8>, coding: &str, body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(request).unwrap();
    let head = text.strip_suffix("Content-Length: 0\r\n\r\n").unwrap();
    let mut out = format!(
        "{head}Content-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}
