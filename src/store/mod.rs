//! Durable state in SQLite under `var/`: registrations today, CDRs later.
//!
//! SQLite runs on one writer thread fed by a channel, so the SIP core never
//! waits for the disk; WAL mode keeps a write durable across a crash.

mod bindings;
pub mod voicemail;

pub use bindings::{BindingStore, StoredBinding};

use rusqlite::Connection;

/// Schema versions, applied in order; `PRAGMA user_version` records the last one.
const MIGRATIONS: &[&str] = &[
    // 1: agent registrations (RFC 3261 §10 bindings) survive restarts.
    "CREATE TABLE bindings (
        extension   TEXT NOT NULL,
        contact     TEXT NOT NULL,
        expires_unix INTEGER NOT NULL,
        call_id     TEXT NOT NULL,
        cseq        INTEGER NOT NULL,
        q           TEXT,
        transport   TEXT NOT NULL,
        source      TEXT NOT NULL,
        instance    TEXT,
        user_agent  TEXT,
        PRIMARY KEY (extension, contact)
    );",
];

/// Opens (creating if needed) the database and brings its schema up to date.
pub fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        conn.execute_batch(&format!(
            "BEGIN; {sql} PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(conn)
}
