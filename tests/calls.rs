//! Calls from real SIP peers to the support line and the echo test: the
//! caller hears the prompt, every kind of DTMF is recognised, late offer and
//! hold/resume work.

mod common;

use common::audio::{best_envelope_match, dtmf_tones, read_wav, sine, tone_share, write_wav};
use common::{logged_digits, pj_call, repo, require_pjsua2, require_tool, wait_log, Server, Sipp};

#[test]
fn caller_hears_the_welcome_prompt() {
    if require_pjsua2().is_none() {
        return;
    }
    let server = Server::demo();
    let (run, dir) = pj_call(
        &server,
        "5000",
        &["--record", "{dir}/heard.wav", "--hold", "6"],
    );
    assert_eq!(run.summary()["ok"], true, "{}", run.describe());
    let heard = read_wav(&dir.path().join("heard.wav"));
    let welcome = read_wav(&repo().join("sounds/en/welcome.wav"));
    let score = best_envelope_match(&heard, &welcome);
    assert!(
        score > 0.8,
        "the recording does not contain the welcome prompt (match {score:.2})"
    );
    // And not just any noise: silence does not match it.
    assert!(best_envelope_match(&vec![0i16; heard.len()], &welcome) < 0.5);
    assert!(wait_log(&server, "call ended"), "{}", server.log_text());
}

/// A PJSUA2 call to 5000 with `args`; the server must log exactly `want`
/// as digits from `source`.
fn digits_heard(args: &[&str], source: &str, want: &str) {
    if require_pjsua2().is_none() {
        return;
    }
    let server = Server::demo();
    let (run, _dir) = pj_call(&server, "5000", args);
    assert_eq!(run.summary()["ok"], true, "{}", run.describe());
    wait_log(&server, "call ended");
    assert_eq!(
        logged_digits(&server, source),
        want,
        "{}",
        server.log_text()
    );
}

#[test]
fn rfc4733_digits_from_pjsua2() {
    digits_heard(
        &["--dtmf", "1234", "--dtmf-at", "1", "--hold", "3"],
        "rfc4733",
        "1234",
    );
}

#[test]
fn sip_info_digits_from_pjsua2() {
    digits_heard(
        &[
            "--dtmf",
            "59#",
            "--dtmf-info",
            "--dtmf-at",
            "1",
            "--hold",
            "3",
        ],
        "sip-info",
        "59#",
    );
}

#[test]
fn inband_digits_from_pjsua2_audio() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tones.wav");
    let mut pcm = vec![0i16; 4000];
    pcm.extend(dtmf_tones("905*"));
    write_wav(&wav, &pcm);
    let play = wav.display().to_string();
    digits_heard(&["--play", &play, "--hold", "3"], "inband", "905*");
}

#[test]
fn echo_test_returns_the_callers_audio() {
    if require_pjsua2().is_none() {
        return;
    }
    let server = Server::demo();
    let dir = tempfile::tempdir().unwrap();
    let tone = dir.path().join("tone.wav");
    write_wav(&tone, &sine(1000.0, 30.0, 0.3));
    let play = tone.display().to_string();
    let (run, d) = pj_call(
        &server,
        "9196",
        &["--play", &play, "--record", "{dir}/echo.wav", "--hold", "9"],
    );
    assert_eq!(run.summary()["ok"], true, "{}", run.describe());
    let heard = read_wav(&d.path().join("echo.wav"));
    let echo_prompt = read_wav(&repo().join("sounds/en/echo-test.wav"));
    // First the echo-test prompt...
    assert!(best_envelope_match(&heard, &echo_prompt) > 0.8);
    // ...then our own 1 kHz tone coming back.
    let tail = &heard[heard.len().saturating_sub(8000 * 2)..];
    let share = tone_share(tail, 1000.0);
    assert!(share > 0.5, "the last 2 s hold {share:.2} of 1 kHz");
}

#[test]
fn sipp_rfc4733_digits_and_bye() {
    if !require_tool("sipp") {
        return;
    }
    let server = Server::demo();
    let run = Sipp::new("call_dtmf.xml", server.sip)
        .arg("-s")
        .arg("5000")
        .run();
    run.assert_ok("call with RFC 4733 digits");
    wait_log(&server, "call ended");
    assert_eq!(
        logged_digits(&server, "rfc4733"),
        "13",
        "{}",
        server.log_text()
    );
    assert!(server.log_text().contains("RemoteHangup"));
}

#[test]
fn sipp_late_offer_then_hold_and_resume() {
    if !require_tool("sipp") {
        return;
    }
    let server = Server::demo();
    for transport in [common::Transport::Udp, common::Transport::Tcp] {
        let run = Sipp::new("call_late_offer_hold.xml", server.sip)
            .transport(transport)
            .arg("-s")
            .arg("5000")
            .run();
        run.assert_ok(&format!(
            "late offer, hold, resume over {}",
            transport.name()
        ));
    }
}
