//! Golden tests of `switchboard simulate` on the demo flow: the exact steps,
//! timers and outcome for scripted callers. Regenerate an expectation only
//! after reading the new output line by line.

use std::process::Command;

fn simulate(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "simulate",
            "support",
            "--config",
            "switchboard.yaml",
            "--language",
            "en",
        ])
        .args(args)
        .output()
        .expect("run switchboard simulate");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn order_status_in_english() {
    let got = simulate(&[
        "--input",
        "1, 3, 12345#",
        "--at",
        "2026-11-23T10:00:00[Europe/London]",
        "--caller",
        "07700900123",
        "--dialed",
        "5000",
    ]);
    assert_eq!(
        got,
        "\
flow support: caller 07700900123, dialed 5000, language en, at 2026-11-23T10:00:00Z
[   0.000] node welcome (play)
[   0.000] play 1 [en]: welcome
[   2.000] playback 1 finished
[   2.000] node choose-language (menu)
[   2.000] play 2 [en]: language-menu
[   4.000] playback 2 finished
[   4.000] timer set: 5s from now
[   4.000] caller presses 1
[   4.000] choose-language takes 1
[   4.000] language is now en
[   4.000] node check-hours (hours)
[   4.000] check-hours: open
[   4.000] node main-menu (menu)
[   4.000] play 3 [en]: main-menu
[   6.000] playback 3 finished
[   6.000] timer set: 5s from now
[   6.000] caller presses 3
[   6.000] main-menu takes 3
[   6.000] node order-number (collect)
[   6.000] play 4 [en]: enter-order
[   8.000] playback 4 finished
[   8.000] timer set: 7s from now
[   8.000] caller presses 1
[   8.000] timer set: 3s from now
[   8.300] caller presses 2
[   8.300] timer set: 3s from now
[   8.600] caller presses 3
[   8.600] timer set: 3s from now
[   8.900] caller presses 4
[   8.900] timer set: 3s from now
[   9.200] caller presses 5
[   9.200] timer set: 3s from now
[   9.500] caller presses #
[   9.500] order-number takes 12345
[   9.500] set order = 12345
[   9.500] node read-back (say)
[   9.500] play 5 [en]: digits/1, digits/2, digits/3, digits/4, digits/5
[  19.500] playback 5 finished
[  19.500] node orders (queue)
[  19.500] enqueue in orders (priority 0, language en, skills [], vars {order=12345})
outcome: queued in orders after 19.5s
variables: caller=07700900123, dialed=5000, language=en, order=12345
"
    );
}

#[test]
fn silent_caller_ends_with_the_operator() {
    let got = simulate(&["--input", "", "--at", "2026-11-23T10:00:00[Europe/London]"]);
    assert_eq!(
        got,
        "\
flow support: caller anonymous, dialed -, language en, at 2026-11-23T10:00:00Z
[   0.000] node welcome (play)
[   0.000] play 1 [en]: welcome
[   2.000] playback 1 finished
[   2.000] node choose-language (menu)
[   2.000] play 2 [en]: language-menu
[   4.000] playback 2 finished
[   4.000] timer set: 5s from now
[   9.000] timer fired
[   9.000] choose-language: no key (failure 1)
[   9.000] play 3 [en]: timeout, language-menu
[  13.000] playback 3 finished
[  13.000] timer set: 5s from now
[  18.000] timer fired
[  18.000] choose-language: no key (failure 2)
[  18.000] play 4 [en]: timeout, language-menu
[  22.000] playback 4 finished
[  22.000] timer set: 5s from now
[  27.000] timer fired
[  27.000] choose-language: no key (failure 3)
[  27.000] choose-language: out of retries
[  27.000] node check-hours (hours)
[  27.000] check-hours: open
[  27.000] node main-menu (menu)
[  27.000] play 5 [en]: main-menu
[  29.000] playback 5 finished
[  29.000] timer set: 5s from now
[  34.000] timer fired
[  34.000] main-menu: no key (failure 1)
[  34.000] play 6 [en]: timeout, main-menu-short
[  38.000] playback 6 finished
[  38.000] timer set: 5s from now
[  43.000] timer fired
[  43.000] main-menu: no key (failure 2)
[  43.000] play 7 [en]: timeout, main-menu-short
[  47.000] playback 7 finished
[  47.000] timer set: 5s from now
[  52.000] timer fired
[  52.000] main-menu: no key (failure 3)
[  52.000] play 8 [en]: timeout, main-menu-short
[  56.000] playback 8 finished
[  56.000] timer set: 5s from now
[  61.000] timer fired
[  61.000] main-menu: no key (failure 4)
[  61.000] main-menu: out of retries
[  61.000] node operator (queue)
[  61.000] enqueue in operator (priority 5, language en, skills [], vars {})
outcome: queued in operator after 61.0s
variables: caller=anonymous, dialed=, language=en
"
    );
}

#[test]
fn wait_then_keys_from_the_issue() {
    let got = simulate(&["--input", "1, wait 6s, 42#", "--at", "2026-11-23T10:00:00Z"]);
    assert_eq!(
        got,
        "\
flow support: caller anonymous, dialed -, language en, at 2026-11-23T10:00:00Z
[   0.000] node welcome (play)
[   0.000] play 1 [en]: welcome
[   2.000] playback 1 finished
[   2.000] node choose-language (menu)
[   2.000] play 2 [en]: language-menu
[   4.000] playback 2 finished
[   4.000] timer set: 5s from now
[   4.000] caller presses 1
[   4.000] choose-language takes 1
[   4.000] language is now en
[   4.000] node check-hours (hours)
[   4.000] check-hours: open
[   4.000] node main-menu (menu)
[   4.000] play 3 [en]: main-menu
[   4.000] caller waits 6s
[   6.000] playback 3 finished
[   6.000] timer set: 5s from now
[  10.000] caller presses 4
[  10.000] main-menu: invalid 4 (failure 1)
[  10.000] play 4 [en]: invalid, main-menu-short
[  10.300] caller presses 2
[  10.300] stop playback
[  10.300] main-menu takes 2
[  10.300] set department = tech
[  10.300] node tech (queue)
[  10.300] enqueue in tech (priority 0, language en, skills [], vars {department=tech})
outcome: queued in tech after 10.3s
variables: caller=anonymous, department=tech, dialed=, language=en
"
    );
}

#[test]
fn christmas_goes_to_voicemail() {
    let got = simulate(&["--input", "1, wait 20s, #", "--at", "2026-12-25T10:00:00Z"]);
    assert_eq!(
        got,
        "\
flow support: caller anonymous, dialed -, language en, at 2026-12-25T10:00:00Z
[   0.000] node welcome (play)
[   0.000] play 1 [en]: welcome
[   2.000] playback 1 finished
[   2.000] node choose-language (menu)
[   2.000] play 2 [en]: language-menu
[   4.000] playback 2 finished
[   4.000] timer set: 5s from now
[   4.000] caller presses 1
[   4.000] choose-language takes 1
[   4.000] language is now en
[   4.000] node check-hours (hours)
[   4.000] check-hours: closed
[   4.000] node closed (play)
[   4.000] play 3 [en]: closed
[   4.000] caller waits 20s
[   6.000] playback 3 finished
[   6.000] node leave-message (voicemail)
[   6.000] play 4 [en] (no barge-in): voicemail-beep
[   8.000] playback 4 finished
[   8.000] record voicemail in support (max 3m, silence 5s, # ends)
[  24.000] caller presses #
[  24.000] stop recording
[  24.000] voicemail saved in support: var/voicemail/support/simulated.wav (16.0s)
[  24.000] node goodbye (play)
[  24.000] play 5 [en] (no barge-in): thank-you, goodbye
[  28.000] playback 5 finished
[  28.000] node hang-up (hangup)
[  28.000] hang up
outcome: hung up by the IVR after 28.0s
variables: caller=anonymous, dialed=, language=en
"
    );
}

#[test]
fn barge_in_persian_saturday_invalid_key() {
    let got = simulate(&[
        "--input",
        "!2, 7, 1",
        "--at",
        "2026-11-21T13:59:00[Europe/London]",
    ]);
    assert_eq!(
        got,
        "\
flow support: caller anonymous, dialed -, language en, at 2026-11-21T13:59:00Z
[   0.000] node welcome (play)
[   0.000] play 1 [en]: welcome
[   0.000] caller presses 2
[   0.000] stop playback
[   0.000] node choose-language (menu)
[   0.000] choose-language takes 2
[   0.000] language is now fa
[   0.000] node check-hours (hours)
[   0.000] check-hours: open
[   0.000] node main-menu (menu)
[   0.000] play 2 [fa]: main-menu
[   2.000] playback 2 finished
[   2.000] timer set: 5s from now
[   2.000] caller presses 7
[   2.000] main-menu: invalid 7 (failure 1)
[   2.000] play 3 [fa]: invalid, main-menu-short
[   6.000] playback 3 finished
[   6.000] timer set: 5s from now
[   6.000] caller presses 1
[   6.000] main-menu takes 1
[   6.000] set department = billing
[   6.000] node billing (queue)
[   6.000] enqueue in billing (priority 0, language fa, skills [], vars {department=billing})
outcome: queued in billing after 6.0s
variables: caller=anonymous, department=billing, dialed=, language=fa
"
    );
}

#[test]
fn bad_scripts_and_flows_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["simulate", "support", "--input", "1, jump"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`jump` is not keys"));
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["simulate", "tests/flows/broken/syntax.yaml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tests/flows/broken/syntax.yaml:5:4: did not find expected key, while parsing a block mapping\n"
    );
}

#[test]
fn lookup_stubs_feed_the_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flow = dir.path().join("crm.yaml");
    std::fs::write(
        &flow,
        "nodes:\n  find:\n    lookup:\n      url: \"http://crm/c?n={caller}\"\n      fields: { name: customer.name }\n      on_error: operator\n    next: vip\n  vip:\n    queue: billing\n  operator:\n    queue: operator\n",
    )
    .expect("write");
    let run = |stub: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("simulate")
            .arg(&flow)
            .args([
                "--caller",
                "+1 555",
                "--at",
                "2026-01-01T00:00:00Z",
                "--lookup",
                stub,
            ])
            .output()
            .expect("run");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ok = run(r#"{"customer": {"name": "Ann"}}"#);
    assert!(
        ok.contains("lookup 1 GET http://crm/c?n=%2B1%20555 (timeout 3s)"),
        "{ok}"
    );
    assert!(ok.contains("set name = Ann"), "{ok}");
    assert!(ok.contains("outcome: queued in billing"), "{ok}");
    let failed = run("error");
    assert!(failed.contains("find: lookup failed"), "{failed}");
    assert!(failed.contains("outcome: queued in operator"), "{failed}");
    let slow = run("timeout");
    assert!(slow.contains("[   3.000] timer fired"), "{slow}");
    assert!(
        slow.contains("outcome: queued in operator after 3.0s"),
        "{slow}"
    );
}

#[test]
fn graph_writes_dot_and_mermaid() {
    let run = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["graph", "support", "--format", format])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dot = run("dot");
    assert!(dot.starts_with("digraph \"support\" {"), "{dot}");
    assert!(dot.contains("[label=\"3\"]"), "{dot}");
    assert!(dot.contains("back [label=\"previous menu\""), "{dot}");
    let mermaid = run("mermaid");
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    assert!(mermaid.contains("-- \"closed\" -->"), "{mermaid}");
}
