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
struct SippRun {
    ok: bool,
    messages: String,
    output: String,
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

/// Runs sipp as `user` with `password` against the app's receiver.
async fn sipp(app: &TestApp, name: &str, user: &str, password: &str, body: &str) -> SippRun {
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
    let target = app.server.alarms().unwrap().udp_addr();
    let mut command = tokio::process::Command::new("sipp");
    if !body.is_empty() {
        command.args(["-set", "body", body]);
    }
    let out = command
        .arg(target.to_string())
        .args(["-sf", scenario(name).to_str().unwrap()])
        .args(["-oocsf", scenario("ooc.xml").to_str().unwrap()])
        .args(["-inf", fields.to_str().unwrap()])
        .args(["-au", user, "-ap", password])
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

fn alarm_body(device: &Device, reference: &str) -> String {
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
        // Due again one interval after it was heard: nothing new before that.
        app.clock.advance(time::Duration::minutes(61));
        receiver.supervise().await.unwrap();
        assert_eq!(technical().await.len(), 2);
        app.clock.advance(time::Duration::minutes(2));
        receiver.supervise().await.unwrap();
        assert_eq!(technical().await.len(), 3);
    }
}
