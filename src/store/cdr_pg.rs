//! The PostgreSQL [`CdrStore`], for sites that want their records in a
//! shared database. Same tables as SQLite ([`migrations`]); records are `jsonb`, so admins
//! can query fields with SQL (`record->>'caller'`).
//!
//! The synchronous `postgres` client fits here: the store runs on the CDR
//! writer thread (and in the CLI), never on the tokio runtime.

use postgres::{Client, NoTls};

use super::cdr::{migrations, record, row, CdrStore, CdrWrite, Result};
use crate::cdr::{CallRecord, Event};

/// Serialises migrations of concurrent starters (server and CLI).
const MIGRATION_LOCK: i64 = 0x5357_4344_5200; // "SWCDR"

pub struct PgCdrStore {
    client: Client,
    conninfo: String,
}

impl PgCdrStore {
    /// Connects (`host=... user=... dbname=...`, libpq syntax) and brings
    /// the schema up to date.
    pub fn connect(conninfo: &str) -> Result<Self> {
        let mut client = Client::connect(conninfo, NoTls)?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS switchboard_schema (version INTEGER NOT NULL)",
        )?;
        let version: i32 = tx
            .query_opt("SELECT version FROM switchboard_schema", &[])?
            .map(|r| r.get(0))
            .unwrap_or(0);
        // `switchboard_schema.version` is the number of migrations applied.
        for (i, sql) in migrations(true)
            .iter()
            .enumerate()
            .skip(version.max(0) as usize)
        {
            tx.batch_execute(sql)?;
            let v = (i + 1) as i32;
            tx.execute("DELETE FROM switchboard_schema", &[])?;
            tx.execute(
                "INSERT INTO switchboard_schema (version) VALUES ($1)",
                &[&v],
            )?;
        }
        tx.commit()?;
        Ok(PgCdrStore {
            client,
            conninfo: conninfo.to_string(),
        })
    }

    fn query_events(
        &mut self,
        sql: &str,
        p: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Event>> {
        let rows = self.client.query(sql, p)?;
        Ok(rows
            .iter()
            .map(|r| serde_json::from_str(r.get::<_, &str>(0)))
            .collect::<std::result::Result<_, _>>()?)
    }
}

impl CdrStore for PgCdrStore {
    fn apply(&mut self, writes: &[CdrWrite]) -> Result<()> {
        // The server restarted or the network broke: the writer's retry
        // comes through here with a fresh connection.
        if self.client.is_closed() {
            self.client = Client::connect(&self.conninfo, NoTls)?;
        }
        let mut tx = self.client.transaction()?;
        let open = tx.prepare(
            "INSERT INTO calls (id, arrived_ms, ended_ms, queue, agent, disposition, record)
             VALUES ($1, $2, NULL, $3, $4, $5, $6::text::jsonb)
             ON CONFLICT (id) DO UPDATE SET queue = excluded.queue, agent = excluded.agent,
                 disposition = excluded.disposition, record = excluded.record
             WHERE calls.ended_ms IS NULL",
        )?;
        let close = tx.prepare(
            "INSERT INTO calls (id, arrived_ms, ended_ms, queue, agent, disposition, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)
             ON CONFLICT (id) DO UPDATE SET ended_ms = excluded.ended_ms,
                 queue = excluded.queue, agent = excluded.agent,
                 disposition = excluded.disposition, record = excluded.record",
        )?;
        let wrap = tx.prepare("UPDATE calls SET wrap_up_ms = $2 WHERE id = $1")?;
        let event = tx.prepare(
            "INSERT INTO events (at_ms, kind, call_id, agent, event)
             VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        )?;
        for w in writes {
            match w {
                CdrWrite::Open(rec) => {
                    let r = row(rec)?;
                    tx.execute(
                        &open,
                        &[
                            &rec.id,
                            &rec.arrived_ms,
                            &r.queue,
                            &r.agent,
                            &r.disposition,
                            &r.json,
                        ],
                    )?;
                }
                CdrWrite::Close(rec) => {
                    let r = row(rec)?;
                    tx.execute(
                        &close,
                        &[
                            &rec.id,
                            &rec.arrived_ms,
                            &rec.ended_ms,
                            &r.queue,
                            &r.agent,
                            &r.disposition,
                            &r.json,
                        ],
                    )?;
                }
                CdrWrite::WrapUp { id, ms } => {
                    tx.execute(&wrap, &[id, ms])?;
                }
                CdrWrite::Event(ev) => {
                    let json = serde_json::to_string(ev)?;
                    tx.execute(
                        &event,
                        &[&ev.at_ms, &ev.kind_name(), &ev.call(), &ev.agent(), &json],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn records(&mut self, since_ms: i64, until_ms: i64) -> Result<Vec<CallRecord>> {
        let rows = self.client.query(
            "SELECT record::text, wrap_up_ms FROM calls WHERE arrived_ms >= $1 AND arrived_ms < $2
             ORDER BY arrived_ms, id",
            &[&since_ms, &until_ms],
        )?;
        rows.iter()
            .map(|r| record(r.get::<_, &str>(0), r.get(1)))
            .collect()
    }

    fn events(&mut self, since_ms: i64, until_ms: i64) -> Result<Vec<Event>> {
        self.query_events(
            "SELECT event::text FROM events WHERE at_ms >= $1 AND at_ms < $2 ORDER BY at_ms, seq",
            &[&since_ms, &until_ms],
        )
    }

    fn agent_states_before(&mut self, at_ms: i64) -> Result<Vec<Event>> {
        self.query_events(
            "SELECT event::text FROM events WHERE seq IN (
                 SELECT MAX(seq) FROM events WHERE kind = 'agent_state' AND at_ms < $1
                 GROUP BY agent)
             ORDER BY agent",
            &[&at_ms],
        )
    }

    fn open_records(&mut self) -> Result<Vec<CallRecord>> {
        let rows = self.client.query(
            "SELECT record::text FROM calls WHERE ended_ms IS NULL ORDER BY arrived_ms",
            &[],
        )?;
        rows.iter()
            .map(|r| record(r.get::<_, &str>(0), None))
            .collect()
    }

    fn last_event_of(&mut self, call: &str) -> Result<Option<i64>> {
        let row = self
            .client
            .query_one("SELECT MAX(at_ms) FROM events WHERE call_id = $1", &[&call])?;
        Ok(row.get(0))
    }

    fn last_event(&mut self) -> Result<Option<i64>> {
        let row = self
            .client
            .query_one("SELECT MAX(at_ms) FROM events", &[])?;
        Ok(row.get(0))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    /// A throwaway PostgreSQL cluster in a temporary directory, on a free
    /// loopback port, stopped on drop. Debian's `postgresql` package puts
    /// the server programs in /usr/lib/postgresql/<version>/bin. The server
    /// refuses to run as root, so as root it runs as the `postgres` user
    /// the package creates.
    pub(crate) struct TempPostgres {
        dir: tempfile::TempDir,
        bin: PathBuf,
        as_root: bool,
        pub port: u16,
    }

    fn server_bin() -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop()
    }

    impl TempPostgres {
        /// `None` (with a note) only when PostgreSQL is missing and
        /// `SWITCHBOARD_ALLOW_MISSING_PEERS=1`; tests/run.sh installs it.
        pub(crate) fn start() -> Option<TempPostgres> {
            let Some(bin) = server_bin() else {
                if std::env::var("SWITCHBOARD_ALLOW_MISSING_PEERS").as_deref() == Ok("1") {
                    eprintln!("SKIPPED: PostgreSQL is not installed");
                    return None;
                }
                panic!(
                    "PostgreSQL is not installed: run tests/run.sh (apt-get install postgresql)"
                );
            };
            let as_root = Command::new("id")
                .arg("-u")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
                .unwrap_or(false);
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            if as_root {
                let ok = Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path())
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "cannot chown the cluster directory to postgres");
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let pg = TempPostgres {
                bin,
                as_root,
                port,
                dir,
            };
            pg.run(
                "initdb",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-U",
                    "switchboard",
                    "--auth=trust",
                    "--no-sync",
                ],
            );
            let opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                pg.dir.path().display()
            );
            pg.run(
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-o",
                    &opts,
                    "-l",
                    pg.dir.path().join("log").to_str().unwrap(),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            );
            Some(pg)
        }

        fn run(&self, program: &str, args: &[&str]) {
            let exe = self.bin.join(program);
            let mut cmd = if self.as_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&exe);
                c
            } else {
                Command::new(&exe)
            };
            let out = cmd.args(args).output().unwrap();
            assert!(
                out.status.success(),
                "{program} failed: {}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
            );
        }

        pub(crate) fn conninfo(&self) -> String {
            format!(
                "host=127.0.0.1 port={} user=switchboard dbname=postgres",
                self.port
            )
        }
    }

    impl Drop for TempPostgres {
        fn drop(&mut self) {
            let data = self.dir.path().join("data");
            let exe = self.bin.join("pg_ctl");
            let args = [
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ];
            let _ = if self.as_root {
                Command::new("runuser")
                    .args(["-u", "postgres", "--"])
                    .arg(&exe)
                    .args(args)
                    .output()
            } else {
                Command::new(&exe).args(args).output()
            };
        }
    }

    #[test]
    fn postgres_round_trip() {
        use crate::store::cdr::CdrStore;
        let Some(pg) = TempPostgres::start() else {
            return;
        };
        let mut store = super::PgCdrStore::connect(&pg.conninfo()).unwrap();
        crate::store::cdr::tests::round_trip(&mut store);
        drop(store);
        // Connecting again finds the schema in place.
        let mut again = super::PgCdrStore::connect(&pg.conninfo()).unwrap();
        assert_eq!(again.records(0, i64::MAX).unwrap().len(), 2);
    }
}
