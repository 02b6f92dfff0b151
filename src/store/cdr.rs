//! Call records and the event log on disk: SQLite (`var/cdr.db`, the
//! default) or PostgreSQL, behind [`CdrStore`].
//!
//! A record is inserted when the call starts (open: no end time), replaced
//! when it ends (closed) and given its wrap-up time later. Writes come in
//! batches of [`CdrWrite`]s applied in one transaction, committed before the
//! writer takes the next batch, so a closed record survives `kill -9`.
//! Records still open when a store is opened again were cut off by a crash:
//! [`CdrStore::close_interrupted`] closes them as `interrupted`.
//!
//! Each row keeps the whole record as JSON next to the columns that queries
//! select on, so new record fields need no migration.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::cdr::{AgentStatus, CallRecord, Event, EventKind};

/// One change to the store.
#[derive(Debug, Clone, PartialEq)]
pub enum CdrWrite {
    /// A call started (or its open record changed).
    Open(CallRecord),
    /// The call ended: the final record.
    Close(CallRecord),
    /// The agent finished after-call work for call `id`.
    WrapUp {
        id: String,
        ms: i64,
    },
    Event(Event),
}

#[derive(Debug, thiserror::Error)]
pub enum CdrStoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("stored record is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, CdrStoreError>;

/// Where call records go.
pub trait CdrStore: Send {
    /// Applies `writes` in one transaction, in order.
    fn apply(&mut self, writes: &[CdrWrite]) -> Result<()>;
    /// Records of calls that arrived in `[since_ms, until_ms)`, oldest first.
    fn records(&mut self, since_ms: i64, until_ms: i64) -> Result<Vec<CallRecord>>;
    /// Events in `[since_ms, until_ms)`, in the order they were written.
    fn events(&mut self, since_ms: i64, until_ms: i64) -> Result<Vec<Event>>;
    /// Each agent's last state event before `at_ms` (what it was doing when
    /// a report period starts).
    fn agent_states_before(&mut self, at_ms: i64) -> Result<Vec<Event>>;
    /// Records left open (the server stopped during the call).
    fn open_records(&mut self) -> Result<Vec<CallRecord>>;
    /// The time of the last event written for `call`, if any.
    fn last_event_of(&mut self, call: &str) -> Result<Option<i64>>;
    /// The time of the last event written at all.
    fn last_event(&mut self) -> Result<Option<i64>>;

    /// After a crash: closes every open record as `interrupted` at the last
    /// thing known about it, and logs out agents whose last state was not
    /// logged-out (so their time is not counted across the outage).
    /// Returns the number of calls closed.
    fn close_interrupted(&mut self, now_ms: i64) -> Result<usize> {
        let open = self.open_records()?;
        let crash = self.last_event()?.unwrap_or(now_ms);
        let mut writes = Vec::new();
        for mut rec in open.iter().cloned() {
            let at = self.last_event_of(&rec.id)?.unwrap_or(rec.arrived_ms);
            rec.interrupt(at);
            writes.push(CdrWrite::Event(Event {
                at_ms: at,
                kind: EventKind::CallEnded {
                    call: rec.id.clone(),
                    disposition: rec.disposition.name().into(),
                    queue: rec.queue.clone(),
                    wait_ms: None,
                },
            }));
            writes.push(CdrWrite::Close(rec));
        }
        for ev in self.agent_states_before(i64::MAX)? {
            if let EventKind::AgentState {
                agent, state: s, ..
            } = ev.kind
            {
                if s != AgentStatus::LoggedOut {
                    writes.push(CdrWrite::Event(Event {
                        at_ms: crash.max(ev.at_ms),
                        kind: EventKind::AgentState {
                            agent,
                            state: AgentStatus::LoggedOut,
                            reason: Some("server stopped".into()),
                            call: None,
                        },
                    }));
                }
            }
        }
        if !writes.is_empty() {
            self.apply(&writes)?;
        }
        Ok(open.len())
    }
}

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Sqlite(std::path::PathBuf),
    /// A libpq-style connection string (`host=... user=... dbname=...`).
    Postgres(String),
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => write!(f, "SQLite {}", p.display()),
            // The connection string may hold a password: show only where.
            StoreLocation::Postgres(c) => {
                let shown: Vec<&str> = c
                    .split_whitespace()
                    .filter(|kv| !kv.starts_with("password"))
                    .collect();
                write!(f, "PostgreSQL {}", shown.join(" "))
            }
        }
    }
}

/// Opens the store, bringing its schema up to date.
pub fn open(at: &StoreLocation) -> Result<Box<dyn CdrStore>> {
    Ok(match at {
        StoreLocation::Sqlite(path) => Box::new(SqliteCdrStore::open(path)?),
        StoreLocation::Postgres(conn) => Box::new(super::cdr_pg::PgCdrStore::connect(conn)?),
    })
}

/// Schema versions of the CDR tables, applied in order, written once for
/// both databases: `{int}` is a 64-bit integer, `{json}` the record type
/// (TEXT in SQLite, JSONB in PostgreSQL), `{serial}` an auto-increment key.
const MIGRATIONS: &[&str] = &[
    // 1: call records and the event log.
    "CREATE TABLE calls (
        id          TEXT PRIMARY KEY,
        arrived_ms  {int} NOT NULL,
        ended_ms    {int},
        queue       TEXT,
        agent       TEXT,
        disposition TEXT NOT NULL,
        wrap_up_ms  {int},
        record      {json} NOT NULL
    );
    CREATE INDEX calls_arrived ON calls (arrived_ms);
    CREATE INDEX calls_open ON calls (id) WHERE ended_ms IS NULL;
    CREATE TABLE events (
        seq     {serial},
        at_ms   {int} NOT NULL,
        kind    TEXT NOT NULL,
        call_id TEXT,
        agent   TEXT,
        event   {json} NOT NULL
    );
    CREATE INDEX events_at ON events (at_ms);
    CREATE INDEX events_call ON events (call_id);
    CREATE INDEX events_agent ON events (agent, at_ms) WHERE kind = 'agent_state';",
];

/// [`MIGRATIONS`] in SQLite's (`postgres: false`) or PostgreSQL's types.
pub(super) fn migrations(postgres: bool) -> Vec<String> {
    let (int, json, serial) = if postgres {
        ("BIGINT", "JSONB", "BIGSERIAL PRIMARY KEY")
    } else {
        ("INTEGER", "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT")
    };
    MIGRATIONS
        .iter()
        .map(|m| {
            m.replace("{int}", int)
                .replace("{json}", json)
                .replace("{serial}", serial)
        })
        .collect()
}

pub struct SqliteCdrStore {
    conn: Connection,
}

impl SqliteCdrStore {
    /// Opens `path` (usually `var/cdr.db`). `synchronous=FULL`: a committed
    /// record survives a power cut too, at one fsync per batch.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(SqliteCdrStore {
            conn: super::open_with(path, &migrations(false), "FULL")?,
        })
    }
}

/// The row a record is stored as: its JSON and the columns queries use.
pub(super) struct Row {
    pub json: String,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub disposition: &'static str,
}

pub(super) fn row(rec: &CallRecord) -> Result<Row> {
    Ok(Row {
        json: serde_json::to_string(rec)?,
        queue: rec.queue.clone(),
        agent: rec.agent.clone(),
        disposition: rec.disposition.name(),
    })
}

/// A stored record with the wrap-up column (written separately) merged in.
pub(super) fn record(json: &str, wrap_up_ms: Option<i64>) -> Result<CallRecord> {
    let mut rec: CallRecord = serde_json::from_str(json)?;
    if wrap_up_ms.is_some() {
        rec.wrap_up_ms = wrap_up_ms;
    }
    Ok(rec)
}

impl CdrStore for SqliteCdrStore {
    fn apply(&mut self, writes: &[CdrWrite]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            // An open record never replaces a closed one (a late update).
            let mut open = tx.prepare_cached(
                "INSERT INTO calls (id, arrived_ms, ended_ms, queue, agent, disposition, record)
                 VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET queue = excluded.queue, agent = excluded.agent,
                     disposition = excluded.disposition, record = excluded.record
                 WHERE calls.ended_ms IS NULL",
            )?;
            let mut close = tx.prepare_cached(
                "INSERT INTO calls (id, arrived_ms, ended_ms, queue, agent, disposition, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET ended_ms = excluded.ended_ms,
                     queue = excluded.queue, agent = excluded.agent,
                     disposition = excluded.disposition, record = excluded.record",
            )?;
            let mut wrap = tx.prepare_cached("UPDATE calls SET wrap_up_ms = ?2 WHERE id = ?1")?;
            let mut event = tx.prepare_cached(
                "INSERT INTO events (at_ms, kind, call_id, agent, event) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for w in writes {
                match w {
                    CdrWrite::Open(rec) => {
                        let r = row(rec)?;
                        open.execute(params![
                            rec.id,
                            rec.arrived_ms,
                            r.queue,
                            r.agent,
                            r.disposition,
                            r.json
                        ])?;
                    }
                    CdrWrite::Close(rec) => {
                        let r = row(rec)?;
                        close.execute(params![
                            rec.id,
                            rec.arrived_ms,
                            rec.ended_ms,
                            r.queue,
                            r.agent,
                            r.disposition,
                            r.json
                        ])?;
                    }
                    CdrWrite::WrapUp { id, ms } => {
                        wrap.execute(params![id, ms])?;
                    }
                    CdrWrite::Event(ev) => {
                        event.execute(params![
                            ev.at_ms,
                            ev.kind_name(),
                            ev.call(),
                            ev.agent(),
                            serde_json::to_string(ev)?
                        ])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn records(&mut self, since_ms: i64, until_ms: i64) -> Result<Vec<CallRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT record, wrap_up_ms FROM calls WHERE arrived_ms >= ?1 AND arrived_ms < ?2
             ORDER BY arrived_ms, id",
        )?;
        let rows = stmt.query_map(params![since_ms, until_ms], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, wrap) = row?;
            out.push(record(&json, wrap)?);
        }
        Ok(out)
    }

    fn events(&mut self, since_ms: i64, until_ms: i64) -> Result<Vec<Event>> {
        self.query_events(
            "SELECT event FROM events WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY at_ms, seq",
            params![since_ms, until_ms],
        )
    }

    fn agent_states_before(&mut self, at_ms: i64) -> Result<Vec<Event>> {
        self.query_events(
            "SELECT event FROM events WHERE seq IN (
                 SELECT MAX(seq) FROM events WHERE kind = 'agent_state' AND at_ms < ?1
                 GROUP BY agent)
             ORDER BY agent",
            params![at_ms],
        )
    }

    fn open_records(&mut self) -> Result<Vec<CallRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT record FROM calls WHERE ended_ms IS NULL ORDER BY arrived_ms",
        )?;
        let jsons = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        jsons.iter().map(|j| record(j, None)).collect()
    }

    fn last_event_of(&mut self, call: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT MAX(at_ms) FROM events WHERE call_id = ?1",
                params![call],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten())
    }

    fn last_event(&mut self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT MAX(at_ms) FROM events", [], |r| {
                r.get::<_, Option<i64>>(0)
            })?)
    }
}

impl SqliteCdrStore {
    fn query_events(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Event>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let jsons = stmt
            .query_map(p, |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(jsons
            .iter()
            .map(|j| serde_json::from_str(j))
            .collect::<std::result::Result<_, _>>()?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cdr::{Disposition, HungUpBy, Journey};

    /// Records and events exercising every write, for each store's tests.
    pub(crate) fn round_trip(store: &mut dyn CdrStore) {
        let t0 = 1_790_000_000_000;
        let mut a = Journey::new("a", "sip-a", "100", None, "5000", t0);
        a.queued("billing", 2, t0 + 1000);
        a.offer("1001", t0 + 2000);
        let open_a = a.snapshot();
        let mut writes = vec![CdrWrite::Open(open_a.clone())];
        writes.extend(a.take_events().into_iter().map(CdrWrite::Event));
        writes.push(CdrWrite::Event(Event::agent_state(
            t0 + 2000,
            "1001",
            &crate::acd::AgentState::Available,
            None,
        )));
        store.apply(&writes).unwrap();
        assert_eq!(store.open_records().unwrap(), vec![open_a]);

        a.connected("1001", "leg-a", t0 + 5000);
        let (closed_a, ev) = a.end(t0 + 65_000, HungUpBy::Caller, "remote hangup");
        let mut writes: Vec<_> = ev.into_iter().map(CdrWrite::Event).collect();
        writes.push(CdrWrite::Close(closed_a.clone()));
        // A late open never reopens a closed record.
        writes.push(CdrWrite::Open(
            Journey::new("a", "sip-a", "100", None, "5000", t0).snapshot(),
        ));
        writes.push(CdrWrite::WrapUp {
            id: "a".into(),
            ms: 7000,
        });
        // b is left open, as a crash would leave it.
        let mut b = Journey::new("b", "sip-b", "200", Some("Bo".into()), "5000", t0 + 100_000);
        b.queued("tech", 0, t0 + 101_000);
        writes.push(CdrWrite::Open(b.snapshot()));
        writes.extend(b.take_events().into_iter().map(CdrWrite::Event));
        writes.push(CdrWrite::Event(Event::agent_state(
            t0 + 120_000,
            "1001",
            &crate::acd::AgentState::Paused {
                reason: "lunch".into(),
            },
            None,
        )));
        store.apply(&writes).unwrap();

        let recs = store.records(t0, t0 + 200_000).unwrap();
        assert_eq!(recs.len(), 2);
        let mut want_a = closed_a;
        want_a.wrap_up_ms = Some(7000);
        assert_eq!(recs[0], want_a);
        assert_eq!(recs[0].handle_ms(), Some(60_000 + 7000));
        assert!(recs[1].is_open());
        // The period is half-open.
        assert_eq!(store.records(t0 + 1, t0 + 100_000).unwrap().len(), 0);
        let events = store.events(t0, t0 + 200_000).unwrap();
        assert_eq!(events.first().unwrap().kind_name(), "call_arrived");
        assert_eq!(events.len(), 10, "{events:#?}");
        let before = store.agent_states_before(t0 + 100_000).unwrap();
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].at_ms, t0 + 2000);

        // Reopening after a crash: b is closed at its last event, 1001 logged out.
        assert_eq!(store.close_interrupted(t0 + 500_000).unwrap(), 1);
        assert!(store.open_records().unwrap().is_empty());
        let recs = store.records(t0, t0 + 200_000).unwrap();
        assert_eq!(recs[1].disposition, Disposition::Interrupted);
        assert_eq!(recs[1].ended_ms, Some(t0 + 101_000));
        let states = store.agent_states_before(i64::MAX).unwrap();
        assert!(matches!(
            &states[0].kind,
            EventKind::AgentState {
                state: AgentStatus::LoggedOut,
                ..
            }
        ));
        assert_eq!(states[0].at_ms, t0 + 120_000);
        assert_eq!(store.close_interrupted(t0 + 600_000).unwrap(), 0);
    }

    #[test]
    fn sqlite_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cdr.db");
        let mut store = SqliteCdrStore::open(&path).unwrap();
        round_trip(&mut store);
        drop(store);
        // The schema is not applied twice.
        let mut again = SqliteCdrStore::open(&path).unwrap();
        assert_eq!(again.records(0, i64::MAX).unwrap().len(), 2);
    }
}
