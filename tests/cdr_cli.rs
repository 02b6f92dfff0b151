//! `switchboard cdr export` and `switchboard report` read the configured
//! store: records written through the library come back out of the binary
//! as CSV, JSON Lines, a table and JSON.

use std::path::Path;
use std::process::Command;

use switchboard::cdr::{Event, HungUpBy, Journey};
use switchboard::store::cdr::{CdrStore, CdrWrite, SqliteCdrStore};

/// 2026-11-23 10:00 UTC.
const T: i64 = 1_795_428_000_000;

fn fill(db: &Path) {
    let mut store = SqliteCdrStore::open(db).unwrap();
    let mut writes = Vec::new();
    // Answered after 15 s, 60 s of talk, by 1001.
    let mut a = Journey::new(
        "a",
        "sip-a",
        "+441234",
        Some("Ann, \"A\"".into()),
        "5000",
        T,
    );
    a.queued("billing", 0, T + 5_000);
    a.offer("1001", T + 6_000);
    a.connected("1001", "leg-a", T + 20_000);
    let (rec, evs) = a.end(T + 80_000, HungUpBy::Caller, "remote hangup");
    writes.extend(evs.into_iter().map(CdrWrite::Event));
    writes.push(CdrWrite::Close(rec));
    writes.push(CdrWrite::WrapUp {
        id: "a".into(),
        ms: 10_000,
    });
    // Abandoned after 40 s.
    let mut b = Journey::new("b", "sip-b", "+449999", None, "5000", T + 600_000);
    b.queued("billing", 0, T + 601_000);
    let (rec, evs) = b.end(T + 641_000, HungUpBy::Caller, "remote hangup");
    writes.extend(evs.into_iter().map(CdrWrite::Event));
    writes.push(CdrWrite::Close(rec));
    // The next day: outside the period asked for below.
    let c = Journey::new("c", "sip-c", "+440000", None, "5000", T + 86_400_000);
    let (rec, _) = c.end(T + 86_410_000, HungUpBy::Caller, "remote hangup");
    writes.push(CdrWrite::Close(rec));
    for (at, state) in [
        (0, switchboard::acd::AgentState::Available),
        (
            20_000,
            switchboard::acd::AgentState::OnCall {
                call: switchboard::acd::CallId(1),
                direct: false,
            },
        ),
        (80_000, switchboard::acd::AgentState::Available),
    ] {
        writes.push(CdrWrite::Event(Event::agent_state(
            T + at,
            "1001",
            &state,
            None,
        )));
    }
    store.apply(&writes).unwrap();
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .arg("--config")
        .arg(dir.join("sb.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sb.yaml"),
        "var_dir: var\ncdr:\n  service_level: { answered_within: 20s, target: 80% }\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("var")).unwrap();
    fill(&dir.path().join("var/cdr.db"));
    dir
}

const DAY: [&str; 6] = [
    "--since",
    "2026-11-23",
    "--until",
    "2026-11-24",
    "--tz",
    "UTC",
];

#[test]
fn export_csv_and_jsonl() {
    let dir = setup();
    let csv = run(
        dir.path(),
        &[&["cdr", "export", "--format", "csv"][..], &DAY].concat(),
    );
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let head = rows.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<_> = rows.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert_eq!(&rows[0][col("id")], "a");
    assert_eq!(&rows[0][col("caller_name")], "Ann, \"A\"");
    assert_eq!(&rows[0][col("arrived")], "2026-11-23T10:00:00Z");
    assert_eq!(&rows[0][col("disposition")], "completed");
    assert_eq!(&rows[0][col("wait_s")], "15.000");
    assert_eq!(&rows[0][col("wrap_up_s")], "10.000");
    assert_eq!(&rows[0][col("offers")], "1001:answered");
    assert_eq!(&rows[1][col("disposition")], "abandoned_in_queue");

    let jsonl = run(
        dir.path(),
        &[&["cdr", "export", "--format", "jsonl"][..], &DAY].concat(),
    );
    let recs: Vec<switchboard::cdr::CallRecord> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].wrap_up_ms, Some(10_000));
    // Without a period: everything.
    let all = run(dir.path(), &["cdr", "export", "--format", "jsonl"]);
    assert_eq!(all.lines().count(), 3);
    // The event log.
    let events = run(
        dir.path(),
        &[&["cdr", "export", "--events", "--format", "csv"][..], &DAY].concat(),
    );
    assert!(
        events.starts_with("at,event,call,agent,detail\n"),
        "{events}"
    );
    assert!(events.contains(",agent_state,,1001,"), "{events}");
}

#[test]
fn report_table_and_json() {
    let dir = setup();
    let json = run(
        dir.path(),
        &[&["report", "--by", "queue", "--format", "json"][..], &DAY].concat(),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let billing = &v["rows"][0];
    assert_eq!(billing["key"], "billing");
    assert_eq!(billing["offered"], 2);
    assert_eq!(billing["answered"], 1);
    assert_eq!(billing["abandoned"], 1);
    // 1 answered within 20 s out of 2 (the 40 s abandon is not short).
    assert_eq!(billing["service_level"], 0.5);
    assert_eq!(billing["aht"], 70.0); // 60 s talk + 10 s wrap-up
    assert_eq!(v["staffing"][0]["queue"], "billing");

    let text = run(
        dir.path(),
        &[&["report", "--by", "agent"][..], &DAY].concat(),
    );
    assert!(text.contains("1001"), "{text}");
    assert!(text.contains("Staffing advice"), "{text}");
    // Empty store file: a clear message, not an empty database.
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["report", "--var-dir"])
        .arg(dir.path().join("nowhere"))
        .arg("--config")
        .arg(dir.path().join("sb.yaml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no call records yet"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
