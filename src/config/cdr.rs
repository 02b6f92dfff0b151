//! The `cdr:` section of `switchboard.yaml`: where call records go and how
//! reports judge them.
//!
//! ```yaml
//! cdr:
//!   store: sqlite                 # default: <var_dir>/cdr.db
//!   # sqlite: /data/cdr.db        # another file
//!   # store: postgres
//!   # postgres: "host=db user=switchboard password=... dbname=switchboard"
//!   service_level: { answered_within: 20s, target: 80% }
//!   short_abandon: 5s             # callers gone this fast are not counted against the service level
//!   queues:                       # per-queue overrides of the two above
//!     operator: { service_level: { answered_within: 10s, target: 90% } }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{Config, Problem};
use crate::store::cdr::StoreLocation;
use crate::yaml_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Sqlite,
    Postgres,
}

/// A percentage written `80%` (or a plain number, 80).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percent(pub f64);

impl Percent {
    /// As a fraction, 0.8 for 80 %.
    pub fn fraction(self) -> f64 {
        self.0 / 100.0
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        let v = match Raw::deserialize(d)? {
            Raw::Number(n) => n,
            Raw::Text(t) => t
                .trim()
                .strip_suffix('%')
                .unwrap_or(&t)
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom("expected a percentage like 80%"))?,
        };
        if !(v > 0.0 && v <= 100.0) {
            return Err(serde::de::Error::custom(
                "a percentage must be above 0% and at most 100%",
            ));
        }
        Ok(Percent(v))
    }
}

fn default_within() -> Duration {
    Duration::from_secs(20)
}
fn default_target() -> Percent {
    Percent(80.0)
}
fn default_short_abandon() -> Duration {
    Duration::from_secs(5)
}

/// "`target` of calls answered within `answered_within`".
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevel {
    #[serde(default = "default_within", with = "humantime_serde")]
    pub answered_within: Duration,
    #[serde(default = "default_target")]
    pub target: Percent,
}

impl Default for ServiceLevel {
    fn default() -> Self {
        ServiceLevel {
            answered_within: default_within(),
            target: default_target(),
        }
    }
}

/// Per-queue overrides.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueReport {
    #[serde(default)]
    pub service_level: Option<ServiceLevel>,
    #[serde(default, with = "humantime_serde")]
    pub short_abandon: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CdrConfig {
    pub store: StoreKind,
    /// SQLite file; default `<var_dir>/cdr.db`. Relative to the config file.
    pub sqlite: Option<PathBuf>,
    /// libpq connection string, for `store: postgres`.
    pub postgres: Option<String>,
    pub service_level: ServiceLevel,
    #[serde(with = "humantime_serde")]
    pub short_abandon: Duration,
    pub queues: BTreeMap<String, QueueReport>,
}

impl Default for CdrConfig {
    fn default() -> Self {
        CdrConfig {
            store: StoreKind::Sqlite,
            sqlite: None,
            postgres: None,
            service_level: ServiceLevel::default(),
            short_abandon: default_short_abandon(),
            queues: BTreeMap::new(),
        }
    }
}

/// The report settings that apply to one queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueTargets {
    pub service_level: ServiceLevel,
    pub short_abandon: Duration,
}

impl CdrConfig {
    pub fn targets(&self, queue: &str) -> QueueTargets {
        let q = self.queues.get(queue);
        QueueTargets {
            service_level: q
                .and_then(|q| q.service_level)
                .unwrap_or(self.service_level),
            short_abandon: q
                .and_then(|q| q.short_abandon)
                .unwrap_or(self.short_abandon),
        }
    }
}

impl Config {
    /// Where call records are stored.
    pub fn cdr_store(&self) -> StoreLocation {
        match (&self.cdr.store, &self.cdr.postgres) {
            (StoreKind::Postgres, Some(c)) => StoreLocation::Postgres(c.clone()),
            _ => StoreLocation::Sqlite(
                self.cdr
                    .sqlite
                    .clone()
                    .unwrap_or_else(|| self.var_dir.join("cdr.db")),
            ),
        }
    }
}

pub(super) fn validate(cfg: &Config, text: &str, out: &mut Vec<Problem>) {
    let c = &cfg.cdr;
    match (c.store, &c.postgres, &c.sqlite) {
        (StoreKind::Postgres, None, _) => out.push(cfg.problem(
            text,
            &yaml_path!["cdr", "store"],
            "store: postgres needs `postgres: \"host=... user=... dbname=...\"`",
        )),
        (StoreKind::Postgres, Some(_), Some(_)) => out.push(cfg.problem(
            text,
            &yaml_path!["cdr", "sqlite"],
            "`sqlite` is only used with store: sqlite",
        )),
        (StoreKind::Sqlite, Some(_), _) => out.push(cfg.problem(
            text,
            &yaml_path!["cdr", "postgres"],
            "`postgres` is set but store is sqlite; add `store: postgres`",
        )),
        _ => {}
    }
    for name in c.queues.keys() {
        if !cfg.queues.contains_key(name) {
            out.push(cfg.problem(
                text,
                &yaml_path!["cdr", "queues", name.as_str()],
                format!("queue {name:?} is not defined under `queues`"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::tests::load;

    const QUEUE: &str = "agents:\n  - { extension: \"1001\", name: A, password: secret, skills: { billing: 5 } }\nqueues:\n  billing:\n    skills: { billing: 1 }\n";

    #[test]
    fn defaults_and_overrides() {
        let cfg = load("{}").unwrap();
        assert_eq!(cfg.cdr.store, StoreKind::Sqlite);
        assert_eq!(
            cfg.cdr_store(),
            StoreLocation::Sqlite(cfg.var_dir.join("cdr.db"))
        );
        let t = cfg.cdr.targets("any");
        assert_eq!(t.service_level.answered_within, Duration::from_secs(20));
        assert_eq!(t.service_level.target.fraction(), 0.8);
        assert_eq!(t.short_abandon, Duration::from_secs(5));

        let cfg = load(&format!(
            "{QUEUE}cdr:\n  store: postgres\n  postgres: \"host=db user=sb dbname=sb\"\n  service_level: {{ answered_within: 30s, target: 90% }}\n  queues:\n    billing: {{ short_abandon: 10s }}\n"
        ))
        .unwrap();
        assert_eq!(
            cfg.cdr_store(),
            StoreLocation::Postgres("host=db user=sb dbname=sb".into())
        );
        let t = cfg.cdr.targets("billing");
        assert_eq!(t.service_level.answered_within, Duration::from_secs(30));
        assert_eq!(t.service_level.target.0, 90.0);
        assert_eq!(t.short_abandon, Duration::from_secs(10));
    }

    #[test]
    fn problems_are_located() {
        let errs = load(&format!(
            "{QUEUE}cdr:\n  store: postgres\n  queues:\n    biling: {{ short_abandon: 10s }}\n"
        ))
        .unwrap_err();
        assert!(
            errs.contains(
                &"7:3: store: postgres needs `postgres: \"host=... user=... dbname=...\"`"
                    .to_string()
            ),
            "{errs:?}"
        );
        assert!(
            errs.contains(&"9:5: queue \"biling\" is not defined under `queues`".to_string()),
            "{errs:?}"
        );
        let errs = load("cdr:\n  service_level: { target: 180% }\n").unwrap_err();
        assert!(errs[0].starts_with("2:"), "{errs:?}");
        assert!(errs[0].contains("at most 100%"), "{errs:?}");
        let errs = load("cdr:\n  postgres: \"host=x\"\n").unwrap_err();
        assert_eq!(
            errs,
            ["2:3: `postgres` is set but store is sqlite; add `store: postgres`"]
        );
    }
}
