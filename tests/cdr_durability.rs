//! A call record is durable when the call ends: a process writing records
//! through the CDR writer thread is killed with SIGKILL mid-stream, and no
//! record it had closed is lost; records it left open are closed as
//! `interrupted` when the store is opened again.
//!
//! The writing process is this test binary itself, started again with
//! `SWITCHBOARD_CDR_CHILD` set to the database path (see `child_writer`).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchboard::cdr::{Disposition, HungUpBy, Journey};
use switchboard::server::cdr_writer::CdrThread;
use switchboard::store::cdr::{CdrStore, SqliteCdrStore};

const CHILD_ENV: &str = "SWITCHBOARD_CDR_CHILD";
const T0: i64 = 1_790_000_000_000;

/// The child: writes calls until killed (bounded in count and time). Every
/// third call is left open; the others are closed. A line is printed only
/// after the writer has committed what it announces.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return; // only meaningful as the child of the test below
    };
    let store = SqliteCdrStore::open(path.as_ref()).unwrap();
    let cdr = CdrThread::start(Box::new(store), T0).unwrap();
    let w = cdr.writer();
    let started = Instant::now();
    for i in 0..20_000i64 {
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
        let at = T0 + i * 1000;
        let mut j = Journey::new(format!("c{i}"), format!("sip-{i}"), "100", None, "5000", at);
        j.answered(at + 10);
        j.queued("billing", 0, at + 100);
        w.open(&j.snapshot());
        w.events(j.take_events());
        w.flush();
        println!("open c{i}");
        if i % 3 == 0 {
            continue;
        }
        j.connected("1001", format!("leg-{i}"), at + 200);
        let (rec, events) = j.end(at + 900, HungUpBy::Caller, "remote hangup");
        w.events(events);
        w.close(rec);
        w.flush();
        println!("closed c{i}");
    }
    cdr.finish();
}

#[test]
fn sigkill_loses_no_closed_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cdr.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut opened = BTreeSet::new();
    let mut closed = BTreeSet::new();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("open ") {
            opened.insert(id.to_string());
        } else if let Some(id) = line.strip_prefix("closed ") {
            closed.insert(id.to_string());
        }
        if closed.len() >= 200 {
            break;
        }
    }
    // SIGKILL while the child keeps writing.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(closed.len() >= 200, "the child stopped early: {closed:?}");

    let mut store = SqliteCdrStore::open(&db).unwrap();
    let interrupted = store.close_interrupted(T0 + 100_000_000).unwrap();
    let recs = store.records(0, i64::MAX).unwrap();
    let by_id: std::collections::BTreeMap<_, _> = recs.iter().map(|r| (r.id.clone(), r)).collect();
    for id in &closed {
        let r = by_id
            .get(id)
            .unwrap_or_else(|| panic!("closed record {id} lost"));
        assert_eq!(r.disposition, Disposition::Completed, "{id}");
    }
    for id in &opened {
        assert!(by_id.contains_key(id), "open record {id} lost");
    }
    // Calls the child never closed (every third) are interrupted, at their
    // last event.
    let never_closed: Vec<_> = opened
        .iter()
        .filter(|id| id[1..].parse::<i64>().unwrap() % 3 == 0)
        .collect();
    assert!(interrupted >= never_closed.len(), "{interrupted}");
    for id in never_closed {
        let r = by_id[id];
        assert_eq!(r.disposition, Disposition::Interrupted, "{id}");
        assert_eq!(r.ended_ms, Some(r.queued_ms.unwrap()), "{id}");
    }
    assert!(store.open_records().unwrap().is_empty());
}
