//! Real callers (PJSUA2) walking the demo flow `ivr-flows/support.yaml` by
//! DTMF, leaving voicemail after hours, and a flow edited during a live call.

mod common;

use std::process::Command;
use std::time::Duration;

use common::audio::{best_envelope_match, read_wav, sine, tone_share, write_wav};
use common::{pj_call, pj_call_to, repo, require_pjsua2, wait_log, Server};

/// A Monday morning in London: the support centre is open.
const OPEN: &str = "2026-11-23T10:00:00[Europe/London]";
/// A Sunday: closed, so callers reach voicemail.
const CLOSED: &str = "2026-11-22T10:00:00[Europe/London]";

#[test]
fn a_caller_walks_the_demo_flow_by_dtmf_to_the_orders_queue() {
    if require_pjsua2().is_none() {
        return;
    }
    let (server, _flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", OPEN)]);
    // English (1), order status (3), order number 12345 ended by #: typed ahead
    // during the welcome, as callers who know the menu do.
    let (run, _d) = pj_call(
        &server,
        "5000",
        &["--dtmf", "1312345#", "--dtmf-at", "1", "--hold", "8"],
    );
    assert_eq!(run.summary()["ok"], true, "{}", run.describe());
    assert!(wait_log(&server, "call ended"));
    let log = server.log_text();
    let trail: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" ivr ") || l.contains(" queued "))
        .collect();
    let joined = trail.join("\n");
    for step in [
        "node: \"choose-language\"",
        "node: \"check-hours\"",
        "node: \"main-menu\"",
        "node: \"order-number\"",
    ] {
        assert!(joined.contains(step), "missing {step} in\n{joined}");
    }
    let queued = log
        .lines()
        .find(|l| l.contains(" queued "))
        .unwrap_or_else(|| panic!("not queued:\n{log}"));
    assert!(queued.contains("queue=orders"), "{queued}");
    assert!(queued.contains("\"order\": \"12345\""), "{queued}");
}

#[test]
fn after_hours_the_caller_leaves_voicemail() {
    if require_pjsua2().is_none() {
        return;
    }
    let (server, _flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", CLOSED)]);
    let dir = tempfile::tempdir().unwrap();
    let tone = dir.path().join("message.wav");
    write_wav(&tone, &sine(440.0, 40.0, 0.3));
    let play = tone.display().to_string();
    // English (1), then the closed message, the beep, and the caller speaks.
    let (run, _d) = pj_call(
        &server,
        "5000",
        &[
            "--play",
            &play,
            "--dtmf",
            "1",
            "--dtmf-at",
            "1",
            "--hold",
            "14",
        ],
    );
    assert_eq!(run.summary()["ok"], true, "{}", run.describe());
    assert!(
        wait_log(&server, "voicemail saved"),
        "{}",
        server.log_text()
    );
    let boxdir = server.var_dir().join("voicemail/support");
    let wav = std::fs::read_dir(&boxdir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "wav"))
        .expect("a message in the support box");
    let pcm = read_wav(&wav);
    assert!(pcm.len() > 8000, "message too short: {} samples", pcm.len());
    // The caller's 440 Hz tone is what was recorded.
    let share = tone_share(&pcm[pcm.len() / 2..], 440.0);
    assert!(
        share > 0.5,
        "440 Hz share {share:.2} over {} samples",
        pcm.len()
    );
    let listing = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["voicemail", "list", "--box", "support", "--var-dir"])
        .arg(server.var_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.status.success()
            && text.contains("support")
            && text.contains(&*wav.display().to_string()),
        "{text}"
    );
    // The record: closed hours, a message left.
    let records = server.records(1);
    let r = &records[0];
    assert_eq!(r["disposition"]["kind"], "voicemail", "{r:#}");
    assert_eq!(r["closed_hours"], true, "{r:#}");
    assert_eq!(
        std::path::Path::new(r["voicemail"].as_str().unwrap()).file_name(),
        wav.file_name(),
        "{r:#}"
    );
}

#[test]
fn editing_a_flow_during_a_call_changes_only_the_next_call() {
    if require_pjsua2().is_none() {
        return;
    }
    let (server, flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", OPEN)]);
    let flow = flows.join("support.yaml");
    let original = std::fs::read_to_string(&flow).unwrap();
    // Call A stays on the line while the flow changes under it.
    let sip = server.sip;
    let first = std::thread::spawn(move || {
        pj_call_to(sip, "5000", &["--record", "{dir}/a.wav", "--hold", "9"])
    });
    std::thread::sleep(Duration::from_secs(2));
    // The welcome becomes the goodbye prompt.
    let edited = original.replacen("play: welcome", "play: goodbye", 1);
    assert_ne!(edited, original);
    std::fs::write(&flow, &edited).unwrap();
    assert!(
        wait_log(&server, "flows and prompts reloaded"),
        "{}",
        server.log_text()
    );
    // Call B starts on the new version.
    let (b, bdir) = pj_call(&server, "5000", &["--record", "{dir}/b.wav", "--hold", "4"]);
    assert_eq!(b.summary()["ok"], true, "{}", b.describe());
    let goodbye = read_wav(&repo().join("sounds/en/goodbye.wav"));
    let welcome = read_wav(&repo().join("sounds/en/welcome.wav"));
    let heard_b = read_wav(&bdir.path().join("b.wav"));
    assert!(
        best_envelope_match(&heard_b, &goodbye) > 0.8,
        "call B did not hear the new flow"
    );
    // Call A, already in the flow, went on unaffected to the language menu.
    let (a, adir) = first.join().unwrap();
    assert_eq!(a.summary()["ok"], true, "{}", a.describe());
    let heard_a = read_wav(&adir.path().join("a.wav"));
    assert!(
        best_envelope_match(&heard_a, &welcome) > 0.8,
        "call A lost its welcome"
    );
    let menu = read_wav(&repo().join("sounds/common/language-menu.wav"));
    assert!(
        best_envelope_match(&heard_a, &menu[..8000 * 3]) > 0.8,
        "call A did not reach the language menu"
    );

    // A broken edit is refused with its position, and the last good flow serves.
    std::fs::write(
        &flow,
        edited.replacen("next: choose-language", "next: no-such-node", 1),
    )
    .unwrap();
    assert!(wait_log(&server, "reload refused"), "{}", server.log_text());
    let refused = server.log_text();
    let line = refused
        .lines()
        .find(|l| l.contains("reload refused:") && l.contains("no-such-node"))
        .expect("the reason");
    assert!(
        line.contains("support.yaml:"),
        "no file:line:column in {line}"
    );
    let (c, cdir) = pj_call(&server, "5000", &["--record", "{dir}/c.wav", "--hold", "4"]);
    assert_eq!(c.summary()["ok"], true, "{}", c.describe());
    assert!(best_envelope_match(&read_wav(&cdir.path().join("c.wav")), &goodbye) > 0.8);
}
