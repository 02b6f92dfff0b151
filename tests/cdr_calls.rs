//! Call records from real calls (PJSUA2 callers and agent): a scripted mix of
//! dispositions, `switchboard report` agreeing with the records and with a
//! count by hand, and `kill -9` losing no finished call.

mod common;

use std::process::Command;
use std::time::Duration;

use common::http::get;
use common::{agent_args, pj_call, pj_call_to, pj_peer, require_pjsua2, Server};

const OPEN: &str = "2026-11-23T10:00:00[Europe/London]";

fn disposition(r: &serde_json::Value) -> &str {
    r["disposition"]["kind"].as_str().unwrap_or("")
}

/// `switchboard report --by queue --format json` over the test's day.
fn report(server: &Server) -> serde_json::Value {
    let config = server.var_dir().parent().unwrap().join("switchboard.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["report", "--by", "queue", "--format", "json", "--config"])
        .arg(&config)
        .arg("--var-dir")
        .arg(server.var_dir())
        .args([
            "--since",
            "2026-11-23",
            "--until",
            "2026-11-24",
            "--tz",
            "Europe/London",
        ])
        .output()
        .expect("switchboard report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

/// Three callers: one talks to agent 1001 (completed), one waits in billing
/// while 1001 is busy and gives up (abandoned in queue), one hangs up during
/// the welcome (abandoned in the IVR).
#[test]
fn a_mix_of_calls_gives_the_records_and_the_report_it_should() {
    let Some(python) = require_pjsua2() else {
        return;
    };
    let (mut server, _flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", OPEN)]);
    let args = agent_args(
        server.sip,
        "1001",
        "secret1001",
        &["--answer", "--calls", "1", "--timeout", "40"],
    );
    let agent = std::thread::spawn({
        let python = python.clone();
        move || pj_peer(&python, &args, Duration::from_secs(50))
    });
    for _ in 0..100 {
        if server.log_text().contains(" registered ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sip = server.sip;
    let talker = std::thread::spawn(move || {
        pj_call_to(
            sip,
            "5000",
            &["--dtmf", "11", "--dtmf-at", "1", "--hold", "14"],
        )
    });
    assert!(
        (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            server.log_text().contains("bridged")
        }),
        "{}",
        server.log_text()
    );
    let (waiter, _d1) = pj_call(
        &server,
        "5000",
        &["--dtmf", "11", "--dtmf-at", "1", "--hold", "6"],
    );
    let (quitter, _d2) = pj_call(&server, "5000", &["--hold", "1.5"]);
    let (talker, _d3) = talker.join().unwrap();
    let _ = agent.join();
    for run in [&talker, &waiter, &quitter] {
        assert_eq!(run.summary()["ok"], true, "{}", run.describe());
    }

    let records = server.records(3);
    let mut kinds: Vec<&str> = records.iter().map(disposition).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["abandoned_in_ivr", "abandoned_in_queue", "completed"],
        "{records:#?}"
    );
    let quit = records
        .iter()
        .find(|r| disposition(r) == "abandoned_in_ivr")
        .unwrap();
    assert!(quit.get("queue").is_none() && quit["offers"] == serde_json::json!([]));
    assert_eq!(quit["hung_up_by"], "caller");
    let waited = records
        .iter()
        .find(|r| disposition(r) == "abandoned_in_queue")
        .unwrap();
    let wait = waited["disposition"]["wait_ms"].as_i64().unwrap();
    assert_eq!(waited["queue"], "billing");
    assert!(wait > 0, "{waited:#}");

    // The report agrees with the records (and with the count above).
    let rep = report(&server);
    let billing = rep["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "billing")
        .unwrap_or_else(|| panic!("{rep:#}"));
    assert_eq!(
        (
            &billing["offered"],
            &billing["answered"],
            &billing["abandoned"]
        ),
        (&2.into(), &1.into(), &1.into()),
        "{billing:#}"
    );
    let answered = records
        .iter()
        .find(|r| disposition(r) == "completed")
        .unwrap();
    let asa = answered["wait_ms"].as_f64().unwrap() / 1000.0;
    let reported = billing["asa"].as_f64().unwrap();
    assert!((reported - asa).abs() < 0.01, "ASA {reported} vs {asa}");
    let longest = billing["longest_wait"].as_f64().unwrap();
    let by_hand = (wait as f64 / 1000.0).max(asa);
    assert!(
        (longest - by_hand).abs() < 0.01,
        "longest wait {longest} vs {by_hand}"
    );

    // The live numbers the wallboard shows (its stream carries the same
    // snapshot) agree with the records: 2 offered, 1 answered, 1 abandoned,
    // and the service level by hand — answered within 20 s over the offered
    // calls that were not short abandons (under 5 s).
    let live = get(
        server.admin,
        "/api/queues/billing",
        Some("switchboard-demo"),
    )
    .json();
    let today = &live["today"];
    assert_eq!(
        (&today["offered"], &today["answered"], &today["abandoned"]),
        (&2.into(), &1.into(), &1.into()),
        "{live:#}"
    );
    let in_time = u64::from(asa <= 20.0);
    let short = u64::from(wait < 5000);
    let by_hand = 100.0 * in_time as f64 / (2 - short) as f64;
    let shown = live["service_level"]["today"].as_f64().unwrap();
    assert!(
        (shown - by_hand).abs() < 0.1,
        "wallboard service level {shown} vs {by_hand}\n{live:#}"
    );
    let reported = billing["service_level"].as_f64().unwrap();
    assert!(
        (reported * 100.0 - by_hand).abs() < 0.1 || (reported - by_hand).abs() < 0.1,
        "report's service level {reported} vs {by_hand}\n{billing:#}"
    );

    // A restart (kill -9) keeps the wallboard's day: it is read back from the event log.
    server.restart();
    let again = get(
        server.admin,
        "/api/queues/billing",
        Some("switchboard-demo"),
    )
    .json();
    assert_eq!(again["today"], live["today"], "{again:#}");
    assert_eq!(
        again["service_level"]["today"], live["service_level"]["today"],
        "{again:#}"
    );
}

/// A finished call survives `kill -9`; the call in progress at the kill is
/// closed as interrupted when the server starts again.
#[test]
fn kill_9_loses_no_finished_call() {
    if require_pjsua2().is_none() {
        return;
    }
    let (mut server, _flows) = Server::demo_with_flows(&[("SWITCHBOARD_CLOCK", OPEN)]);
    let (done, _d) = pj_call(&server, "5000", &["--hold", "1.5"]);
    assert_eq!(done.summary()["ok"], true, "{}", done.describe());
    let finished = server.records(1);
    assert_eq!(finished.len(), 1);
    let sip = server.sip;
    let live = std::thread::spawn(move || pj_call_to(sip, "5000", &["--hold", "30"]));
    // Kill while the second caller is in the flow.
    assert!(
        (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            server.log_text().matches("answering").count() >= 2
        }),
        "{}",
        server.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    server.restart();
    let _ = live.join();
    let records = server.records(2);
    let ids: Vec<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(
        ids.contains(&finished[0]["id"].as_str().unwrap()),
        "{records:#?}"
    );
    assert!(
        records.iter().any(|r| disposition(r) == "interrupted"),
        "{records:#?}"
    );
}
