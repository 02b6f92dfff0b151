//! Registrations on disk, so a restart does not forget registered agents.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};

use crate::sip::registrar::Binding;
use crate::sip::transport::{Peer, Transport};

/// A binding with wall-clock expiry (Instants do not survive a restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBinding {
    pub contact: String,
    pub expires_unix: i64,
    pub call_id: String,
    pub cseq: u32,
    pub q: Option<String>,
    pub source: Peer,
    pub instance: Option<String>,
    pub user_agent: Option<String>,
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl StoredBinding {
    /// `now` and `wall` are the same moment on the two clocks.
    pub fn from_binding(b: &Binding, now: Instant, wall: SystemTime) -> StoredBinding {
        StoredBinding {
            contact: b.contact.clone(),
            expires_unix: unix(wall + b.expires_at.saturating_duration_since(now)),
            call_id: b.call_id.clone(),
            cseq: b.cseq,
            q: b.q.clone(),
            source: b.source,
            instance: b.instance.clone(),
            user_agent: b.user_agent.clone(),
        }
    }

    pub fn into_binding(self, now: Instant, wall: SystemTime) -> Binding {
        let left = (self.expires_unix - unix(wall)).max(0) as u64;
        Binding {
            contact: self.contact,
            expires_at: now + Duration::from_secs(left),
            call_id: self.call_id,
            cseq: self.cseq,
            q: self.q,
            source: self.source,
            instance: self.instance,
            user_agent: self.user_agent,
            reachable: true,
        }
    }
}

pub struct BindingStore {
    conn: Connection,
}

impl BindingStore {
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        Ok(BindingStore {
            conn: super::open(path)?,
        })
    }

    /// Replaces every binding of `extension` in one transaction.
    pub fn replace(&mut self, extension: &str, bindings: &[StoredBinding]) -> rusqlite::Result<()> {
        let one = std::iter::once((extension.to_string(), bindings.to_vec())).collect();
        self.replace_many(&one)
    }

    /// Replaces the bindings of several extensions in one transaction.
    pub fn replace_many(
        &mut self,
        all: &std::collections::BTreeMap<String, Vec<StoredBinding>>,
    ) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached("DELETE FROM bindings WHERE extension = ?1")?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO bindings (extension, contact, expires_unix, call_id, cseq, q, transport, source, instance, user_agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for (extension, bindings) in all {
                del.execute(params![extension])?;
                for b in bindings {
                    ins.execute(params![
                        extension,
                        b.contact,
                        b.expires_unix,
                        b.call_id,
                        b.cseq,
                        b.q,
                        b.source.transport.as_str(),
                        b.source.addr.to_string(),
                        b.instance,
                        b.user_agent
                    ])?;
                }
            }
        }
        tx.commit()
    }

    /// Every binding not yet expired at `now_unix`, grouped by extension.
    pub fn load(&self, now_unix: i64) -> rusqlite::Result<Vec<(String, StoredBinding)>> {
        let mut stmt = self.conn.prepare(
            "SELECT extension, contact, expires_unix, call_id, cseq, q, transport, source, instance, user_agent
             FROM bindings WHERE expires_unix > ?1 ORDER BY extension, expires_unix",
        )?;
        let rows = stmt.query_map(params![now_unix], |r| {
            let transport: String = r.get(6)?;
            let source: String = r.get(7)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, u32>(4)?,
                r.get::<_, Option<String>>(5)?,
                transport,
                source,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                ext,
                contact,
                expires_unix,
                call_id,
                cseq,
                q,
                transport,
                source,
                instance,
                user_agent,
            ) = row?;
            // A row we cannot interpret is skipped, not fatal: the phone re-registers.
            let (Some(transport), Ok(addr)) =
                (Transport::parse(&transport), source.parse::<SocketAddr>())
            else {
                continue;
            };
            out.push((
                ext,
                StoredBinding {
                    contact,
                    expires_unix,
                    call_id,
                    cseq,
                    q,
                    source: Peer { transport, addr },
                    instance,
                    user_agent,
                },
            ));
        }
        Ok(out)
    }

    pub fn now_unix() -> i64 {
        unix(SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(contact: &str, expires_unix: i64) -> StoredBinding {
        StoredBinding {
            contact: contact.into(),
            expires_unix,
            call_id: "c1".into(),
            cseq: 3,
            q: None,
            source: Peer {
                transport: Transport::Tcp,
                addr: "127.0.0.1:5090".parse().unwrap(),
            },
            instance: Some("<urn:uuid:1>".into()),
            user_agent: Some("baresip".into()),
        }
    }

    #[test]
    fn bindings_survive_reopen_and_expired_ones_are_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        {
            let mut s = BindingStore::open(&path).unwrap();
            s.replace(
                "1001",
                &[
                    sample("sip:1001@127.0.0.1:5090", 2000),
                    sample("sip:old@h", 500),
                ],
            )
            .unwrap();
            s.replace("1002", &[sample("sip:1002@h", 2000)]).unwrap();
            s.replace("1002", &[]).unwrap();
        }
        let s = BindingStore::open(&path).unwrap();
        let loaded = s.load(1000).unwrap();
        assert_eq!(
            loaded,
            vec![("1001".to_string(), sample("sip:1001@127.0.0.1:5090", 2000))]
        );
    }

    #[test]
    fn instants_convert_through_wall_clock() {
        let now = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let stored = sample("sip:x@h", 1_000_090);
        let b = stored.clone().into_binding(now, wall);
        assert_eq!(b.expires_at, now + Duration::from_secs(90));
        assert_eq!(StoredBinding::from_binding(&b, now, wall), stored);
    }
}
