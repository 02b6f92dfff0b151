//! `switchboard.yaml`: the model, loading, and validation.
//!
//! Every problem is reported as `file:line:column: message`. Syntax and schema
//! errors come from serde_yaml (which knows the position); cross-checks done
//! after deserialisation find their position with [`locate`].

pub mod cdr;
pub mod locate;
pub mod queues;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::yaml_path;
use locate::{locate, Step};

/// One problem found in a configuration file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Why a configuration was refused: one or more located problems.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Udp,
    Tcp,
}

fn default_transports() -> Vec<TransportKind> {
    vec![TransportKind::Udp, TransportKind::Tcp]
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5060))
}
fn default_domain() -> String {
    "127.0.0.1".into()
}
fn default_max_message() -> usize {
    65_535
}
fn default_user_agent() -> String {
    concat!("Switchboard/", env!("CARGO_PKG_VERSION")).into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    /// Address for SIP; every transport in `transports` binds it.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default = "default_transports")]
    pub transports: Vec<TransportKind>,
    /// The SIP domain agents register in (`sip:1001@DOMAIN`).
    #[serde(default = "default_domain")]
    pub domain: String,
    /// Digest realm; defaults to the domain.
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default = "default_max_message")]
    pub max_message_size: usize,
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: default_listen(),
            transports: default_transports(),
            domain: default_domain(),
            realm: None,
            max_message_size: default_max_message(),
            user_agent: default_user_agent(),
        }
    }
}

impl SipConfig {
    pub fn realm(&self) -> &str {
        self.realm.as_deref().unwrap_or(&self.domain)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthFailures {
    /// Failed authentications from one source address before it is blocked.
    pub max: u32,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    #[serde(with = "humantime_serde")]
    pub block: Duration,
}

impl Default for AuthFailures {
    fn default() -> Self {
        AuthFailures {
            max: 10,
            window: Duration::from_secs(60),
            block: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrarConfig {
    #[serde(with = "humantime_serde")]
    pub min_expires: Duration,
    #[serde(with = "humantime_serde")]
    pub max_expires: Duration,
    #[serde(with = "humantime_serde")]
    pub default_expires: Duration,
    /// A nonce older than this is answered with `stale=true` (RFC 7616 §3.3).
    #[serde(with = "humantime_serde")]
    pub nonce_lifetime: Duration,
    /// How often registered contacts are pinged with OPTIONS; 0 turns qualify off.
    #[serde(with = "humantime_serde")]
    pub qualify_interval: Duration,
    /// Contacts per extension; the oldest is replaced beyond this.
    pub max_contacts: usize,
    pub auth_failures: AuthFailures,
    /// Digest challenges offered, one WWW-Authenticate each, in this order.
    /// MD5 comes first by default: many phones (sipsak, older softphones) answer
    /// only the first challenge and fail on SHA-256 (RFC 8760 §3 leaves the choice
    /// to the client, which RFC 7616 §3.7 says takes the first it supports).
    pub algorithms: Vec<DigestAlgorithm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DigestAlgorithm {
    #[serde(rename = "MD5", alias = "md5")]
    Md5,
    #[serde(rename = "SHA-256", alias = "sha-256")]
    Sha256,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: Duration::from_secs(60),
            max_expires: Duration::from_secs(3600),
            default_expires: Duration::from_secs(600),
            nonce_lifetime: Duration::from_secs(300),
            qualify_interval: Duration::from_secs(30),
            max_contacts: 5,
            auth_failures: AuthFailures::default(),
            algorithms: vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256],
        }
    }
}

/// RTP and prompts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Local address RTP binds to; defaults to the SIP listen address's IP.
    pub rtp_ip: Option<std::net::IpAddr>,
    /// RTP ports, `first-last` (even ports are used).
    pub rtp_ports: PortRange,
    /// A call whose far end sends no RTP for this long is hung up (0: never).
    #[serde(with = "humantime_serde")]
    pub inactivity_timeout: Duration,
    /// Prompt language used when a caller has not chosen one.
    pub default_language: String,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            rtp_ip: None,
            rtp_ports: PortRange {
                first: 10000,
                last: 19999,
            },
            inactivity_timeout: Duration::from_secs(60),
            default_language: "en".into(),
        }
    }
}

/// `10000-19999`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| serde::de::Error::custom("expected a range like 10000-19999"))?;
        let first: u16 = a
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom("bad first port"))?;
        let last: u16 = b
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom("bad last port"))?;
        if first > last || first < 1024 || last - first < 3 {
            return Err(serde::de::Error::custom(
                "the range must be ascending, above 1023, with at least 4 ports",
            ));
        }
        Ok(PortRange { first, last })
    }
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// The admin HTTP API, `/metrics` and the wallboard (`admin:`). Without the
/// section none of them is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
    /// Bearer token every API request must carry. Optional on a loopback
    /// address only: anyone who can reach a public port could pause agents.
    #[serde(default)]
    pub token: Option<String>,
    /// IANA time zone whose midnight starts the wallboard's "today"
    /// (default: the system's).
    #[serde(default)]
    pub timezone: Option<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: default_admin_listen(),
            token: None,
            timezone: None,
        }
    }
}

impl AdminConfig {
    /// The configured time zone, or the system's (UTC when it cannot be told).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.timezone
            .as_deref()
            .and_then(|z| jiff::tz::TimeZone::get(z).ok())
            .unwrap_or_else(|| jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC))
    }

    /// Why this section cannot be served as it is, if it cannot.
    pub fn refusal(&self) -> Option<String> {
        let no_token = self.token.as_deref().is_none_or(str::is_empty);
        (no_token && !self.listen.ip().is_loopback()).then(|| {
            format!(
                "admin.listen {} is not a loopback address: set admin.token",
                self.listen
            )
        })
    }
}

/// An agent extension: a softphone that registers and takes queue calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub extension: String,
    pub name: String,
    /// Digest password. Never logged.
    pub password: String,
    /// Skill name → proficiency 1..=10 (used by the queue router).
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// Languages the agent speaks (routing treats them as skills).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Digest challenges for this extension, overriding `registrar.algorithms`
    /// (baresip 1.0 gives up when any SHA-256 challenge is offered).
    #[serde(default)]
    pub algorithms: Option<Vec<DigestAlgorithm>>,
}

/// What a dialled number does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberConfig {
    /// Run the IVR flow `ivr-flows/<flow>.yaml`.
    #[serde(default)]
    pub flow: Option<String>,
    /// Echo the caller's audio back (audio-path test).
    #[serde(default)]
    pub echo: bool,
}

/// `trunk: { address: 127.0.0.1:5080 }`: outgoing calls go there over UDP
/// as `sip:<number>@<address>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    pub address: SocketAddr,
}

fn default_var() -> PathBuf {
    PathBuf::from("var")
}
fn default_flows() -> PathBuf {
    PathBuf::from("ivr-flows")
}
fn default_sounds() -> PathBuf {
    PathBuf::from("sounds")
}

/// The whole `switchboard.yaml`. Relative paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub sip: SipConfig,
    #[serde(default)]
    pub registrar: RegistrarConfig,
    #[serde(default)]
    pub media: MediaConfig,
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    #[serde(default)]
    pub numbers: BTreeMap<String, NumberConfig>,
    /// Skill-based queues by name (see [`queues`]).
    #[serde(default)]
    pub queues: BTreeMap<String, queues::QueueConfig>,
    /// Ring-no-answer and unreachable rules for every agent.
    #[serde(default)]
    pub agent_policy: queues::AgentPolicy,
    /// The SIP gateway for calls to numbers that are not extensions
    /// (queued callbacks). Without it, only extensions can be called back.
    #[serde(default)]
    pub trunk: Option<TrunkConfig>,
    /// Call records: the store and the report targets (see [`cdr`]).
    #[serde(default)]
    pub cdr: cdr::CdrConfig,
    /// Admin HTTP API and wallboard; off when absent.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// State, CDRs, recordings and voicemail.
    #[serde(default = "default_var")]
    pub var_dir: PathBuf,
    #[serde(default = "default_flows")]
    pub flows_dir: PathBuf,
    #[serde(default = "default_sounds")]
    pub sounds_dir: PathBuf,
    /// The file this was loaded from (not part of the YAML).
    #[serde(skip)]
    pub source: PathBuf,
}

impl Config {
    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_str_at(&text, path)
    }

    /// Parses and validates `text` as if read from `path`.
    pub fn from_str_at(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            ConfigError::Invalid(vec![Problem {
                file: path.to_path_buf(),
                line,
                column,
                message: clean_serde_message(&e.to_string()),
            }])
        })?;
        cfg.source = path.to_path_buf();
        let base = path.parent().unwrap_or(Path::new("."));
        let sqlite = cfg.cdr.sqlite.iter_mut();
        for p in [&mut cfg.var_dir, &mut cfg.flows_dir, &mut cfg.sounds_dir]
            .into_iter()
            .chain(sqlite)
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        let problems = cfg.validate(text);
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    fn problem(&self, text: &str, path: &[Step], message: impl Into<String>) -> Problem {
        let (line, column) = locate(text, path);
        Problem {
            file: self.source.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    fn validate(&self, text: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.sip.transports.is_empty() {
            out.push(self.problem(
                text,
                &yaml_path!["sip", "transports"],
                "at least one transport is needed",
            ));
        }
        let r = &self.registrar;
        if r.min_expires > r.max_expires {
            out.push(self.problem(
                text,
                &yaml_path!["registrar", "min_expires"],
                "min_expires is larger than max_expires",
            ));
        }
        if r.default_expires < r.min_expires || r.default_expires > r.max_expires {
            out.push(self.problem(
                text,
                &yaml_path!["registrar", "default_expires"],
                "default_expires must lie between min_expires and max_expires",
            ));
        }
        if r.algorithms.is_empty() {
            out.push(self.problem(
                text,
                &yaml_path!["registrar", "algorithms"],
                "at least one digest algorithm is needed",
            ));
        }
        if r.max_contacts == 0 {
            out.push(self.problem(
                text,
                &yaml_path!["registrar", "max_contacts"],
                "max_contacts must be at least 1",
            ));
        }
        let mut seen = HashSet::new();
        for (i, a) in self.agents.iter().enumerate() {
            if !is_extension(&a.extension) {
                out.push(self.problem(
                    text,
                    &yaml_path!["agents", i, "extension"],
                    format!("extension {:?} must be 2 to 12 digits", a.extension),
                ));
            }
            if !seen.insert(a.extension.clone()) {
                out.push(self.problem(
                    text,
                    &yaml_path!["agents", i, "extension"],
                    format!("extension {} is defined twice", a.extension),
                ));
            }
            if a.password.len() < 6 {
                out.push(self.problem(
                    text,
                    &yaml_path!["agents", i, "password"],
                    format!(
                        "password of extension {} is shorter than 6 characters",
                        a.extension
                    ),
                ));
            }
            for (skill, level) in &a.skills {
                if !(1..=10).contains(level) {
                    out.push(self.problem(
                        text,
                        &yaml_path!["agents", i, "skills", skill.as_str()],
                        format!("skill level {level} for {skill:?} must be 1 to 10"),
                    ));
                }
            }
        }
        for (number, n) in &self.numbers {
            let at = yaml_path!["numbers", number.as_str()];
            if !is_extension(number) {
                out.push(self.problem(
                    text,
                    &at,
                    format!("number {number:?} must be 2 to 12 digits"),
                ));
            }
            if seen.contains(number) {
                out.push(self.problem(
                    text,
                    &at,
                    format!("number {number} is also an agent extension"),
                ));
            }
            match (&n.flow, n.echo) {
                (Some(_), true) | (None, false) => out.push(self.problem(
                    text,
                    &at,
                    "a number needs exactly one of `flow` or `echo: true`",
                )),
                (Some(flow), false) => {
                    let file = self.flow_path(flow);
                    if !file.is_file() {
                        out.push(self.problem(
                            text,
                            &yaml_path!["numbers", number.as_str(), "flow"],
                            format!("flow {flow:?} not found: no file {}", file.display()),
                        ));
                    }
                }
                (None, true) => {}
            }
        }
        queues::validate(self, text, &mut out);
        cdr::validate(self, text, &mut out);
        if let Some(admin) = &self.admin {
            if let Some(why) = admin.refusal() {
                out.push(self.problem(text, &yaml_path!["admin", "listen"], why));
            }
            if admin.token.as_deref().is_some_and(|t| t.len() < 8) {
                out.push(self.problem(
                    text,
                    &yaml_path!["admin", "token"],
                    "admin.token must be at least 8 characters",
                ));
            }
            if let Some(zone) = &admin.timezone {
                if jiff::tz::TimeZone::get(zone).is_err() {
                    out.push(self.problem(
                        text,
                        &yaml_path!["admin", "timezone"],
                        format!("unknown time zone {zone:?} (an IANA name like Europe/London)"),
                    ));
                }
            }
        }
        out
    }

    /// `ivr-flows/<name>.yaml`.
    pub fn flow_path(&self, name: &str) -> PathBuf {
        self.flows_dir.join(format!("{name}.yaml"))
    }

    pub fn agent(&self, extension: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.extension == extension)
    }
}

fn is_extension(s: &str) -> bool {
    (2..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// serde_yaml appends " at line L column C" to its messages; we print the
/// position in front instead, so drop the duplicate.
fn clean_serde_message(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests;
