//! A queued caller reaches a real softphone agent, and both hear each other:
//! distinct tones each way, checked by frequency on each side's recording.

mod common;

use std::time::Duration;

use common::audio::{read_wav, sine, tone_share, write_wav};
use common::{
    agent_args, pj_call, pj_peer, require_pjsua2, require_tool, wait_log, Baresip, Server,
    Transport,
};

/// A baresip phone registered as `ext` (demo password) that rings and never answers.
fn ringing_phone(server: &Server, ext: &str) -> Baresip {
    let mut phone = Baresip::start(None);
    let password = format!("secret{ext}");
    phone.add_account(
        ext,
        &password,
        server.sip,
        Transport::Udp,
        ";answermode=manual",
    );
    assert!(
        phone
            .wait_event(&["REGISTER_OK"], Duration::from_secs(10))
            .is_some(),
        "{}",
        phone.log_text()
    );
    phone
}

const OPEN: &str = "2026-11-23T10:00:00[Europe/London]";

#[test]
fn billing_caller_is_bridged_to_agent_1001_with_audio_both_ways() {
    let Some(python) = require_pjsua2() else {
        return;
    };
    let (server, _flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", OPEN)]);
    let dir = tempfile::tempdir().unwrap();
    let agent_tone = dir.path().join("agent.wav");
    let caller_tone = dir.path().join("caller.wav");
    write_wav(&agent_tone, &sine(1000.0, 60.0, 0.3));
    write_wav(&caller_tone, &sine(500.0, 60.0, 0.3));
    let agent_rec = dir.path().join("agent-heard.wav");

    // Agent 1001 (billing 8): registers, auto-answers one call, plays 1 kHz.
    let args = agent_args(
        server.sip,
        "1001",
        "secret1001",
        &[
            "--answer",
            "--play",
            &agent_tone.display().to_string(),
            "--loop",
            "--record",
            &agent_rec.display().to_string(),
            "--calls",
            "1",
            "--timeout",
            "40",
        ],
    );
    let agent = std::thread::spawn(move || pj_peer(&python, &args, Duration::from_secs(50)));
    assert!(
        wait_log(&server, "registered"),
        "the agent did not register\n{}",
        server.log_text()
    );

    // The caller: English (1), billing (1), typed ahead; plays 500 Hz.
    let play = caller_tone.display().to_string();
    let (caller, cdir) = pj_call(
        &server,
        "5000",
        &[
            "--play",
            &play,
            "--loop",
            "--record",
            "{dir}/caller-heard.wav",
            "--dtmf",
            "11",
            "--dtmf-at",
            "1",
            "--hold",
            "12",
        ],
    );
    assert_eq!(caller.summary()["ok"], true, "{}", caller.describe());
    let agent = agent.join().unwrap();
    assert!(
        agent.events.iter().any(|e| e["ev"] == "call_state"),
        "{}",
        agent.describe()
    );
    let log = server.log_text();
    assert!(
        log.contains("offering") && log.contains("agent=1001"),
        "{log}"
    );
    assert!(log.contains("bridged"), "{log}");

    // Each side hears the other's tone once bridged.
    let heard_by_caller = read_wav(&cdir.path().join("caller-heard.wav"));
    let tail = &heard_by_caller[heard_by_caller.len().saturating_sub(8000 * 2)..];
    let share = tone_share(tail, 1000.0);
    assert!(
        share > 0.4,
        "the caller's last 2 s hold {share:.2} of the agent's 1 kHz"
    );
    let heard_by_agent = read_wav(&agent_rec);
    let tail = &heard_by_agent[heard_by_agent.len().saturating_sub(8000 * 2)..];
    let share = tone_share(tail, 500.0);
    assert!(
        share > 0.4,
        "the agent's last 2 s hold {share:.2} of the caller's 500 Hz"
    );

    // The call's record, field by field.
    let records = server.records(1);
    let r = &records[0];
    assert_eq!(r["disposition"]["kind"], "completed", "{r:#}");
    assert_eq!(
        (&r["caller"], &r["dialed"], &r["language"]),
        (&"pjpeer".into(), &"5000".into(), &"en".into()),
        "{r:#}"
    );
    assert_eq!(
        (&r["queue"], &r["agent"]),
        (&"billing".into(), &"1001".into())
    );
    assert_eq!(r["queues"], serde_json::json!(["billing"]));
    assert_eq!(r["offers"].as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(
        (&r["offers"][0]["agent"], &r["offers"][0]["outcome"]),
        (&"1001".into(), &"answered".into())
    );
    assert_eq!(r["hung_up_by"], "caller", "{r:#}");
    assert!(
        r["agent_call_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{r:#}"
    );
    let (arrived, answered, queued, agent_answered, ended) = (
        r["arrived_ms"].as_i64().unwrap(),
        r["answered_ms"].as_i64().unwrap(),
        r["queued_ms"].as_i64().unwrap(),
        r["agent_answered_ms"].as_i64().unwrap(),
        r["ended_ms"].as_i64().unwrap(),
    );
    assert!(
        arrived <= answered
            && answered <= queued
            && queued <= agent_answered
            && agent_answered < ended
    );
    assert_eq!(r["wait_ms"].as_i64(), Some(agent_answered - queued));
    assert_eq!(r["talk_ms"].as_i64(), Some(ended - agent_answered));
    let keys: Vec<&str> = r["trail"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "key")
        .filter_map(|s| s["key"].as_str())
        .collect();
    assert_eq!(keys, ["1", "1"], "language, then billing\n{r:#}");
    assert_eq!(r["vars"]["department"], "billing", "{r:#}");
    // billing records its calls in stereo: caller left, agent right.
    let wav = std::path::Path::new(r["recording"].as_str().expect("recording path"));
    let spec = hound::WavReader::open(wav).expect("the recording").spec();
    assert_eq!(spec.channels, 2);
}

#[test]
fn an_agent_pauses_and_resumes_with_star_46_from_the_phone() {
    let Some(python) = require_pjsua2() else {
        return;
    };
    let (server, _flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", OPEN)]);
    let dial = |python: &str| {
        let args: Vec<String> = agent_args(
            server.sip,
            "1002",
            "secret1002",
            &["--call", &format!("sip:*46@{}", server.sip), "--hold", "3"],
        );
        pj_peer(python, &args, Duration::from_secs(30))
    };
    let first = dial(&python);
    assert_eq!(first.summary()["ok"], true, "{}", first.describe());
    assert!(wait_log(&server, "Paused"), "{}", server.log_text());
    let second = dial(&python);
    assert_eq!(second.summary()["ok"], true, "{}", second.describe());
    // The phone's own states, in order (it also unregisters when it exits,
    // which makes the agent Unreachable in between: that is right).
    let log = server.log_text();
    let states: Vec<&str> = log
        .lines()
        .filter(|l| {
            (l.contains("agent state") && l.contains("agent=1002")) || l.contains("feature code")
        })
        .collect();
    let at = |needle: &str, from: usize| {
        states
            .iter()
            .skip(from)
            .position(|l| l.contains(needle))
            .map(|p| p + from)
    };
    let paused = at("state=Paused", 0).unwrap_or_else(|| panic!("never paused: {states:#?}"));
    let unpause =
        at("command=Unpause", paused).unwrap_or_else(|| panic!("no unpause: {states:#?}"));
    assert!(
        at("state=Available", unpause).is_some(),
        "not available again: {states:#?}"
    );
}

#[test]
fn a_caller_hanging_up_while_the_agent_rings_cancels_the_ring() {
    if require_pjsua2().is_none() || !require_tool("baresip") {
        return;
    }
    let (server, _flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", OPEN)]);
    // Agent 1001 on baresip, answering by hand: it will ring and never answer.
    let mut agent = ringing_phone(&server, "1001");
    // The caller picks English and billing, then gives up after 6 s.
    let (caller, _d) = pj_call(
        &server,
        "5000",
        &["--dtmf", "11", "--dtmf-at", "1", "--hold", "6"],
    );
    assert_eq!(caller.summary()["ok"], true, "{}", caller.describe());
    assert!(
        agent
            .wait_event(&["CALL_INCOMING"], Duration::from_secs(5))
            .is_some(),
        "the agent never rang"
    );
    // The ring stops at the agent's phone: CANCEL, 487, and the router knows.
    assert!(
        agent
            .wait_event(&["CALL_CLOSED"], Duration::from_secs(10))
            .is_some(),
        "the agent's phone kept ringing"
    );
    assert!(
        wait_log(&server, "agent leg ended"),
        "{}",
        server.log_text()
    );
    let log = server.log_text();
    let ended = log
        .lines()
        .find(|l| l.contains("agent leg ended"))
        .unwrap_or_default();
    assert!(
        ended.contains("agent=1001") && ended.contains("Cancelled"),
        "{ended}"
    );
    assert!(log.contains("offer withdrawn"), "{log}");
    agent.stop();
    // Abandoned in the queue, with its wait; the ring is recorded as cancelled.
    let records = server.records(1);
    let r = &records[0];
    assert_eq!(r["disposition"]["kind"], "abandoned_in_queue", "{r:#}");
    let wait = r["disposition"]["wait_ms"].as_i64().unwrap();
    assert!(wait > 0 && r["wait_ms"].as_i64() == Some(wait), "{r:#}");
    assert_eq!(r["hung_up_by"], "caller");
    assert_eq!(
        (&r["offers"][0]["agent"], &r["offers"][0]["outcome"]),
        (&"1001".into(), &"cancelled".into()),
        "{r:#}"
    );
    assert!(r.get("agent").is_none(), "{r:#}");
}

#[test]
fn an_agent_who_does_not_answer_is_skipped_and_paused() {
    let Some(python) = require_pjsua2() else {
        return;
    };
    if !require_tool("baresip") {
        return;
    }
    // One missed call pauses an agent here (the demo waits for three).
    let (server, _flows) = Server::demo_with_flows_and(
        &[("SWITCHBOARD_CLOCK", OPEN)],
        &[
            (
                "no_answer: { pause_after: 3 }",
                "no_answer: { pause_after: 1 }",
            ),
            ("ring_timeout: 15s", "ring_timeout: 4s"),
        ],
    );
    // 1001 (billing 8) rings first but never answers; 1002 (billing 4) answers.
    let mut silent = ringing_phone(&server, "1001");
    let answering_args: Vec<String> = agent_args(
        server.sip,
        "1002",
        "secret1002",
        &["--answer", "--calls", "1", "--timeout", "30"],
    );
    let answering =
        std::thread::spawn(move || pj_peer(&python, &answering_args, Duration::from_secs(40)));
    // Both phones registered before the caller joins the queue.
    for _ in 0..50 {
        if server.log_text().matches(" registered ").count() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (caller, _d) = pj_call(
        &server,
        "5000",
        &["--dtmf", "11", "--dtmf-at", "1", "--hold", "12"],
    );
    assert_eq!(caller.summary()["ok"], true, "{}", caller.describe());
    let _ = answering.join();
    let log = server.log_text();
    let lines: Vec<&str> = log.lines().collect();
    let at = |needle: &[&str], from: usize| {
        lines
            .iter()
            .skip(from)
            .position(|l| needle.iter().all(|n| l.contains(n)))
            .map(|p| p + from)
    };
    let first =
        at(&["offering", "agent=1001"], 0).unwrap_or_else(|| panic!("1001 never rang\n{log}"));
    let missed = at(&["agent state", "agent=1001", "Paused"], first)
        .unwrap_or_else(|| panic!("1001 not paused\n{log}"));
    let next =
        at(&["offering", "agent=1002"], first).unwrap_or_else(|| panic!("1002 never rang\n{log}"));
    assert!(
        at(&["bridged"], next).is_some(),
        "no bridge with 1002\n{log}"
    );
    let _ = missed;
    silent.stop();
    // RONA then answered, in the record.
    let records = server.records(1);
    let r = &records[0];
    assert_eq!(r["disposition"]["kind"], "completed", "{r:#}");
    let offers: Vec<(&str, &str)> = r["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["agent"].as_str().unwrap(), o["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        offers,
        [("1001", "no_answer"), ("1002", "answered")],
        "{r:#}"
    );
    assert_eq!(r["agent"], "1002");
}

/// Agent 1001 has two phones registered (baresip, not answering; PJSUA2,
/// answering): both ring, the first to answer takes the caller, the other
/// stops ringing, and the agent is counted once.
#[test]
fn all_of_an_agents_phones_ring_and_the_first_to_answer_wins() {
    let Some(python) = require_pjsua2() else {
        return;
    };
    if !require_tool("baresip") {
        return;
    }
    let (server, _flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", OPEN)]);
    let mut desk = ringing_phone(&server, "1001");
    let args = agent_args(
        server.sip,
        "1001",
        "secret1001",
        &["--answer", "--calls", "1", "--timeout", "30"],
    );
    let soft = std::thread::spawn(move || pj_peer(&python, &args, Duration::from_secs(40)));
    for _ in 0..50 {
        if server.log_text().matches(" registered ").count() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (caller, _d) = pj_call(
        &server,
        "5000",
        &["--dtmf", "11", "--dtmf-at", "1", "--hold", "8"],
    );
    assert_eq!(caller.summary()["ok"], true, "{}", caller.describe());
    let soft = soft.join().unwrap();
    assert_eq!(soft.summary()["confirmed"], 1, "{}", soft.describe());
    assert!(
        desk.wait_event(&["CALL_INCOMING"], Duration::from_secs(5))
            .is_some(),
        "the desk phone never rang"
    );
    assert!(
        desk.wait_event(&["CALL_CLOSED"], Duration::from_secs(10))
            .is_some(),
        "the desk phone kept ringing"
    );
    desk.stop();
    let log = server.log_text();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("dialling") && l.contains("target=sip:1001"))
            .count(),
        2,
        "{log}"
    );
    assert!(
        log.contains("another phone of the agent answered: cancelled"),
        "{log}"
    );
    let records = server.records(1);
    let r = &records[0];
    assert_eq!(r["disposition"]["kind"], "completed", "{r:#}");
    assert_eq!(r["offers"].as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(r["offers"][0]["outcome"], "answered", "{r:#}");
}
