//! Durable state in SQLite under `var/`: registrations in `switchboard.db`,
//! call records and the event log in `cdr.db` (or PostgreSQL, see [`cdr`]).
//!
//! SQLite runs on one writer thread fed by a channel, so the SIP core never
//! waits for the disk; WAL mode keeps a write durable across a crash.

mod bindings;
pub mod cdr;
mod cdr_pg;
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
    open_with(path, MIGRATIONS, "NORMAL")
}

/// Opens a database with its own migration list; `synchronous` is SQLite's
/// durability level (`NORMAL` survives a crash of the process, `FULL` also
/// a power cut).
pub(crate) fn open_with(
    path: &std::path::Path,
    migrations: &[impl AsRef<str>],
    synchronous: &str,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in migrations.iter().enumerate().skip(version.max(0) as usize) {
        let sql = sql.as_ref();
        conn.execute_batch(&format!(
            "BEGIN; {sql} PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(conn)
}
