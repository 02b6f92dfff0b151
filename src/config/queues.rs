//! The `queues:` and `agent_policy:` sections of `switchboard.yaml`: the model
//! the skill-based router ([`crate::acd`]) is built from, and the cross-checks
//! that need the rest of the file (agents' skills, flow files, other queues).
//!
//! ```yaml
//! queues:
//!   billing:
//!     skills: { billing: 5 }             # required: minimum levels
//!     preferred: [orders]                # best-skill ranking only
//!     strategy: longest-idle             # | least-calls | best-skill | round-robin | ring-all
//!     widen:                             # relax over time; callers keep their place
//!       - { after: 60s, skills: { billing: 3 } }
//!       - { after: 120s, any_language: true }
//!     ring_timeout: 15s
//!     wrap_up: 10s
//!     max_wait: { after: 10m, overflow: { voicemail: billing } }
//!     max_length: { callers: 50, overflow: { queue: operator } }
//!     when_empty: { voicemail: billing }
//!     announce_every: 30s
//!     callback: { key: "1", max_attempts: 3, retry_delay: 2m }
//!     survey: survey
//!     record: false
//!     leave: { key: "2", to: { voicemail: billing } }
//! agent_policy:
//!   auto_login: true
//!   no_answer: { pause_after: 3 }
//!   busy: { pause_after: 3 }
//!   unreachable: { pause_after: 1 }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;

use super::{Config, Problem};
use crate::yaml_path;

/// How a queue picks among the agents free to take a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The agent idle the longest (mod_callcenter's default, and fairest).
    #[default]
    LongestIdle,
    /// The agent who has answered the fewest calls since start.
    LeastCalls,
    /// The highest sum of levels in the required and preferred skills.
    BestSkill,
    /// Agents in configuration order, continuing after the last one offered.
    RoundRobin,
    /// Every free agent rings at once; the first to answer wins.
    RingAll,
}

/// Where a caller goes when a queue cannot (or will no longer) keep it.
/// Written `{queue: NAME}`, `{voicemail: BOX}`, `{flow: NAME}` or `callback`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverflowTarget {
    /// Join another queue (done inside the router, priority kept).
    Queue(String),
    /// Leave a message in this mailbox.
    Voicemail(String),
    /// Run this IVR flow.
    Flow(String),
    /// Offer a callback; the caller keeps its place while deciding.
    Callback,
}

// serde_yaml 0.9 writes externally tagged enums as `!queue x` tags; admins
// write maps, so read the map (and the bare word `callback`) by hand.
impl<'de> Deserialize<'de> for OverflowTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "`callback` or one of {queue: NAME}, {voicemail: BOX}, {flow: NAME}";
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OverflowTarget;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    "callback" => Ok(OverflowTarget::Callback),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &EXPECTED)),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let Some(key) = m.next_key::<String>()? else {
                    return Err(A::Error::custom(format!("expected {EXPECTED}")));
                };
                let value: String = m.next_value()?;
                let target = match key.as_str() {
                    "queue" => OverflowTarget::Queue(value),
                    "voicemail" => OverflowTarget::Voicemail(value),
                    "flow" => OverflowTarget::Flow(value),
                    other => {
                        return Err(A::Error::unknown_field(
                            other,
                            &["queue", "voicemail", "flow"],
                        ))
                    }
                };
                if m.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom(format!("expected only one of {EXPECTED}")));
                }
                Ok(target)
            }
        }
        d.deserialize_any(V)
    }
}

/// A relaxation of the requirements after a caller has waited `after`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidenStep {
    #[serde(with = "humantime_serde")]
    pub after: Duration,
    /// New minimum levels; 0 drops the skill from the requirements.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// From this step on, the caller's language is no longer required.
    #[serde(default)]
    pub any_language: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxWait {
    #[serde(with = "humantime_serde")]
    pub after: Duration,
    pub overflow: OverflowTarget,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxLength {
    /// Callers in the queue (waiting, ringing or awaiting a callback).
    pub callers: usize,
    pub overflow: OverflowTarget,
}

fn yes() -> bool {
    true
}
fn default_callback_key() -> String {
    "1".into()
}
fn default_attempts() -> u32 {
    3
}
fn default_retry_delay() -> Duration {
    Duration::from_secs(120)
}
fn default_dial_timeout() -> Duration {
    Duration::from_secs(30)
}

/// Queued callback: the caller hangs up and keeps its place.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The key that asks for a callback while waiting.
    #[serde(default = "default_callback_key")]
    pub key: String,
    /// Calls to the customer before giving up.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_retry_delay", with = "humantime_serde")]
    pub retry_delay: Duration,
    /// How long one attempt may take before it counts as unanswered, so a
    /// lost result can never keep the reserved agent.
    #[serde(default = "default_dial_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

/// A key a caller can press: 0-9, * or #.
fn is_key(k: &str) -> bool {
    k.len() == 1
        && k.chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

fn default_ring_timeout() -> Duration {
    Duration::from_secs(15)
}
fn default_wrap_up() -> Duration {
    Duration::from_secs(10)
}

/// One queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Required skills with minimum levels (1..=10).
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// Skills that rank agents higher under `best-skill`.
    #[serde(default)]
    pub preferred: Vec<String>,
    #[serde(default)]
    pub strategy: Strategy,
    /// Steps with ascending `after`; each relaxes the previous requirements.
    #[serde(default)]
    pub widen: Vec<WidenStep>,
    #[serde(default = "default_ring_timeout", with = "humantime_serde")]
    pub ring_timeout: Duration,
    #[serde(default = "default_wrap_up", with = "humantime_serde")]
    pub wrap_up: Duration,
    #[serde(default)]
    pub max_wait: Option<MaxWait>,
    #[serde(default)]
    pub max_length: Option<MaxLength>,
    /// Where callers go when no agent able to serve them is logged in (and
    /// reachable, not paused). Unset: the mailbox named after the queue, so a
    /// caller is never stranded in a queue nobody serves.
    #[serde(default)]
    pub when_empty: Option<OverflowTarget>,
    /// Position and estimated wait are announced this often while waiting.
    #[serde(default, with = "humantime_serde")]
    pub announce_every: Option<Duration>,
    #[serde(default)]
    pub callback: Option<CallbackConfig>,
    /// Flow run for the caller after the agent hangs up (score 1-5).
    #[serde(default)]
    pub survey: Option<String>,
    /// Record the bridged call (stereo: caller left, agent right).
    #[serde(default)]
    pub record: bool,
    /// A key that takes a waiting caller out of the queue (to voicemail, a
    /// flow or another queue).
    #[serde(default)]
    pub leave: Option<LeaveConfig>,
}

/// `leave: { key: "2", to: { voicemail: billing } }`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaveConfig {
    pub key: String,
    pub to: OverflowTarget,
}

impl QueueConfig {
    pub fn callback_enabled(&self) -> bool {
        self.callback.as_ref().is_some_and(|c| c.enabled)
    }
}

fn default_no_answer() -> MissRule {
    MissRule { pause_after: 3 }
}
fn default_unreachable() -> MissRule {
    MissRule { pause_after: 1 }
}

/// Consecutive misses of one kind before the agent is paused; 0: never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissRule {
    pub pause_after: u32,
}

/// How agents are treated across queues.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentPolicy {
    /// An agent is logged in when its phone first registers (otherwise it
    /// starts logged out and dials `*45`).
    pub auto_login: bool,
    /// Ring timeouts (RONA).
    pub no_answer: MissRule,
    /// Busy (486/600) and declined (603) answers.
    pub busy: MissRule,
    /// The phone could not be reached (408, 503, transport failure).
    pub unreachable: MissRule,
}

impl Default for AgentPolicy {
    fn default() -> Self {
        AgentPolicy {
            auto_login: true,
            no_answer: default_no_answer(),
            busy: default_no_answer(),
            unreachable: default_unreachable(),
        }
    }
}

/// `[A-Za-z0-9_-]+`, as the IVR requires of mailbox names (they become
/// directory names).
fn valid_box(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Cross-checks of `queues:` against the rest of the file. Only broken
/// references and impossible settings are errors.
pub(super) fn validate(cfg: &Config, text: &str, out: &mut Vec<Problem>) {
    let mut held: BTreeSet<&str> = BTreeSet::new();
    for a in &cfg.agents {
        held.extend(a.skills.keys().map(String::as_str));
    }
    for (name, q) in &cfg.queues {
        let n = name.as_str();
        for (skill, level) in &q.skills {
            let at = yaml_path!["queues", n, "skills", skill.as_str()];
            if !(1..=10).contains(level) {
                out.push(cfg.problem(
                    text,
                    &at,
                    format!("minimum level {level} for {skill:?} must be 1 to 10"),
                ));
            }
            if !held.contains(skill.as_str()) {
                out.push(cfg.problem(
                    text,
                    &at,
                    format!("queue {name}: no agent has the skill {skill:?}"),
                ));
            }
        }
        for (i, skill) in q.preferred.iter().enumerate() {
            if !held.contains(skill.as_str()) {
                out.push(cfg.problem(
                    text,
                    &yaml_path!["queues", n, "preferred", i],
                    format!("queue {name}: no agent has the skill {skill:?}"),
                ));
            }
        }
        let mut levels = q.skills.clone();
        let mut last = Duration::ZERO;
        for (i, step) in q.widen.iter().enumerate() {
            if step.after <= last {
                out.push(cfg.problem(
                    text,
                    &yaml_path!["queues", n, "widen", i, "after"],
                    "widening steps must have ascending `after` times above 0s",
                ));
            }
            last = step.after;
            for (skill, &level) in &step.skills {
                let at = yaml_path!["queues", n, "widen", i, "skills", skill.as_str()];
                let before = levels.get(skill).copied();
                // A step may only relax: lowering a level of a queue skill, or
                // dropping (0) a skill the IVR might add for the caller.
                match before {
                    Some(b) if level > b => out.push(cfg.problem(
                        text,
                        &at,
                        format!("widening may only relax: {skill:?} is already at {b}"),
                    )),
                    None if level != 0 => out.push(cfg.problem(
                        text,
                        &at,
                        format!(
                            "widening may only relax: {skill:?} is not required by the queue (0 drops a skill)"
                        ),
                    )),
                    _ => {}
                }
                if level == 0 {
                    levels.remove(skill);
                } else {
                    levels.insert(skill.clone(), level);
                }
            }
        }
        if q.ring_timeout.is_zero() {
            out.push(cfg.problem(
                text,
                &yaml_path!["queues", n, "ring_timeout"],
                "ring_timeout must be above 0s",
            ));
        }
        if q.announce_every.is_some_and(|d| d.is_zero()) {
            out.push(cfg.problem(
                text,
                &yaml_path!["queues", n, "announce_every"],
                "announce_every must be above 0s (leave it out for no announcements)",
            ));
        }
        if let Some(leave) = &q.leave {
            let at = yaml_path!["queues", n, "leave", "key"];
            if !is_key(&leave.key) {
                out.push(cfg.problem(
                    text,
                    &at,
                    format!("leave key {:?} must be one of 0-9, * or #", leave.key),
                ));
            } else if q.callback_enabled()
                && q.callback.as_ref().is_some_and(|cb| cb.key == leave.key)
            {
                out.push(cfg.problem(
                    text,
                    &at,
                    format!("leave key {:?} is already the callback key", leave.key),
                ));
            }
            if matches!(
                leave.to,
                OverflowTarget::Callback | OverflowTarget::Queue(_)
            ) {
                out.push(cfg.problem(
                    text,
                    &yaml_path!["queues", n, "leave", "to"],
                    "leave goes to {voicemail: BOX} or {flow: NAME} (the callback has its own key)",
                ));
            }
        }
        if let Some(cb) = &q.callback {
            if !is_key(&cb.key) {
                out.push(cfg.problem(
                    text,
                    &yaml_path!["queues", n, "callback", "key"],
                    format!("callback key {:?} must be one of 0-9, * or #", cb.key),
                ));
            }
            if cb.max_attempts == 0 {
                out.push(cfg.problem(
                    text,
                    &yaml_path!["queues", n, "callback", "max_attempts"],
                    "max_attempts must be at least 1",
                ));
            }
        }
        if let Some(flow) = &q.survey {
            check_flow(cfg, text, &yaml_path!["queues", n, "survey"], flow, out);
        }
        let targets = [
            ("max_wait", q.max_wait.as_ref().map(|m| &m.overflow)),
            ("max_length", q.max_length.as_ref().map(|m| &m.overflow)),
            ("when_empty", q.when_empty.as_ref()),
            ("leave", q.leave.as_ref().map(|l| &l.to)),
        ];
        for (key, target) in targets {
            let Some(target) = target else { continue };
            let at: Vec<_> = if key == "when_empty" {
                yaml_path!["queues", n, key].to_vec()
            } else if key == "leave" {
                yaml_path!["queues", n, key, "to"].to_vec()
            } else {
                yaml_path!["queues", n, key, "overflow"].to_vec()
            };
            match target {
                OverflowTarget::Queue(_) if key == "leave" => {}
                OverflowTarget::Queue(other) => {
                    if !cfg.queues.contains_key(other) {
                        out.push(cfg.problem(
                            text,
                            &at,
                            format!("queue {other:?} is not defined under `queues`"),
                        ));
                    } else if other == name {
                        out.push(cfg.problem(
                            text,
                            &at,
                            format!("queue {name} overflows into itself"),
                        ));
                    }
                }
                OverflowTarget::Voicemail(b) => {
                    if !valid_box(b) {
                        out.push(cfg.problem(
                            text,
                            &at,
                            format!("mailbox name {b:?} may only use letters, digits, `_` and `-`"),
                        ));
                    }
                }
                OverflowTarget::Flow(flow) => check_flow(cfg, text, &at, flow, out),
                OverflowTarget::Callback if key == "when_empty" => out.push(cfg.problem(
                    text,
                    &at,
                    "when_empty cannot be `callback`: callers on hold would wait in a queue nobody serves",
                )),
                OverflowTarget::Callback if key == "leave" => {}
                OverflowTarget::Callback => {
                    if !q.callback_enabled() {
                        out.push(cfg.problem(
                            text,
                            &at,
                            format!("queue {name} overflows to a callback but has no `callback` enabled"),
                        ));
                    }
                }
            }
        }
        if q.when_empty.is_none() && !valid_box(name) {
            out.push(cfg.problem(
                text,
                &yaml_path!["queues", n],
                format!("queue {name:?} needs `when_empty` (its name is not a valid mailbox name)"),
            ));
        }
    }
    // `when_empty` and `max_length` move a caller at once; a cycle of them
    // would bounce a caller forever, so refuse it here.
    for start in cfg.queues.keys() {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.as_str()];
        while let Some(q) = stack.pop() {
            for next in immediate_targets(cfg, q) {
                if next == start {
                    out.push(cfg.problem(
                        text,
                        &yaml_path!["queues", start.as_str()],
                        format!("queue {start}: when_empty/max_length overflows lead back to it"),
                    ));
                    stack.clear();
                    break;
                }
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
    }
}

fn immediate_targets<'a>(cfg: &'a Config, queue: &str) -> Vec<&'a str> {
    let Some(q) = cfg.queues.get(queue) else {
        return Vec::new();
    };
    [
        q.when_empty.as_ref(),
        q.max_length.as_ref().map(|m| &m.overflow),
    ]
    .into_iter()
    .flatten()
    .filter_map(|t| match t {
        OverflowTarget::Queue(q) => Some(q.as_str()),
        _ => None,
    })
    .collect()
}

fn check_flow(
    cfg: &Config,
    text: &str,
    at: &[super::locate::Step],
    flow: &str,
    out: &mut Vec<Problem>,
) {
    let file = cfg.flow_path(flow);
    if !file.is_file() {
        out.push(cfg.problem(
            text,
            at,
            format!("flow {flow:?} not found: no file {}", file.display()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(text: &str) -> Result<Config, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ivr-flows")).unwrap();
        std::fs::write(dir.path().join("ivr-flows/survey.yaml"), "x").unwrap();
        let path = dir.path().join("sb.yaml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).map_err(|e| match e {
            super::super::ConfigError::Invalid(ps) => ps
                .into_iter()
                .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
                .collect(),
            other => vec![other.to_string()],
        })
    }

    const AGENT: &str =
        "agents:\n  - { extension: \"1001\", name: A, password: secret, skills: { billing: 5 } }\n";

    #[test]
    fn demo_queues_load() {
        let cfg = Config::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/switchboard.yaml"
        )))
        .unwrap();
        let names: Vec<_> = cfg.queues.keys().map(String::as_str).collect();
        assert_eq!(names, ["billing", "operator", "orders", "tech"]);
        let b = &cfg.queues["billing"];
        assert_eq!(b.strategy, Strategy::BestSkill);
        assert_eq!(b.widen[0].after, Duration::from_secs(60));
        assert_eq!(
            b.max_wait.as_ref().unwrap().overflow,
            OverflowTarget::Callback
        );
        assert_eq!(
            cfg.queues["tech"].max_length.as_ref().unwrap().overflow,
            OverflowTarget::Queue("operator".into())
        );
        assert_eq!(cfg.queues["operator"].strategy, Strategy::RingAll);
        assert_eq!(cfg.queues["orders"].ring_timeout, Duration::from_secs(15));
        assert_eq!(cfg.agent_policy.no_answer.pause_after, 3);
    }

    #[test]
    fn defaults() {
        let cfg = load(&format!(
            "{AGENT}queues:\n  billing:\n    skills: {{ billing: 1 }}\n"
        ))
        .unwrap();
        let q = &cfg.queues["billing"];
        assert_eq!(q.strategy, Strategy::LongestIdle);
        assert_eq!(q.ring_timeout, Duration::from_secs(15));
        assert_eq!(q.wrap_up, Duration::from_secs(10));
        assert_eq!(cfg.agent_policy, AgentPolicy::default());
        assert!(cfg.agent_policy.auto_login);
    }

    #[test]
    fn broken_references_are_located() {
        let text = format!(
            "{AGENT}queues:\n  billing:\n    skills: {{ biling: 5 }}\n    widen:\n      - {{ after: 60s, skills: {{ biling: 7 }} }}\n      - {{ after: 30s }}\n    when_empty: {{ queue: nowhere }}\n    max_wait: {{ after: 1m, overflow: callback }}\n    survey: missing\n  a:\n    when_empty: {{ queue: b }}\n  b:\n    when_empty: {{ queue: a }}\n"
        );
        let errs = load(&text).unwrap_err();
        let want = [
            "12:3: queue a: when_empty/max_length overflows lead back to it",
            "14:3: queue b: when_empty/max_length overflows lead back to it",
        ];
        for w in want {
            assert!(errs.iter().any(|e| e == w), "missing {w:?} in {errs:#?}");
        }
        let starts = [
            "5:15: queue billing: no agent has the skill \"biling\"",
            "7:33: widening may only relax: \"biling\" is already at 5",
            "8:11: widening steps must have ascending",
            "9:5: queue \"nowhere\" is not defined",
            "10:28: queue billing overflows to a callback but has no `callback` enabled",
            "11:5: flow \"missing\" not found",
        ];
        for w in starts {
            assert!(
                errs.iter().any(|e| e.starts_with(w)),
                "missing {w:?} in {errs:#?}"
            );
        }
    }

    #[test]
    fn overflow_target_shapes() {
        let e = load(&format!(
            "{AGENT}queues:\n  billing:\n    when_empty: {{ mailbox: x }}\n"
        ))
        .unwrap_err();
        assert!(e[0].contains("unknown field `mailbox`"), "{e:?}");
        let e = load(&format!(
            "{AGENT}queues:\n  billing:\n    when_empty: later\n"
        ))
        .unwrap_err();
        assert!(e[0].contains("expected `callback` or one of"), "{e:?}");
        let e = load(&format!(
            "{AGENT}queues:\n  billing:\n    strategy: random\n"
        ))
        .unwrap_err();
        assert!(e[0].contains("unknown variant `random`"), "{e:?}");
    }
}
