//! Model-based tests: random event sequences against the router, with the
//! invariants checked after every step by an independent model (eligibility
//! and widening re-implemented here from the configuration).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::tests::config;
use super::*;
use crate::config::Config;

const AGENTS: [&str; 4] = ["1001", "1002", "1003", "1004"];
const QUEUES: [&str; 3] = ["billing", "tech", "operator"];
const LANGS: [&str; 4] = ["", "en", "fa", "ru"];
const CALLS: u64 = 10;
/// Calls to an agent's own extension (`Input::DirectCall`) are ids
/// `DIRECT..DIRECT + DIRECTS`, apart from the queue callers' ids.
const DIRECT: u64 = 100;
const DIRECTS: u64 = 3;

fn model_config() -> Config {
    config(
        &[
            ("billing: 8, tech: 3", "en"),
            ("billing: 4, tech: 8", "en, fa"),
            ("tech: 6", "en, ru"),
            ("billing: 2, operator: 9", "en"),
        ],
        r#"queues:
  billing:
    skills: { billing: 5 }
    ring_timeout: 10s
    wrap_up: 5s
    announce_every: 7s
    widen:
      - { after: 20s, skills: { billing: 2 } }
      - { after: 40s, any_language: true }
    max_wait: { after: 90s, overflow: { queue: operator } }
    callback: { max_attempts: 2, retry_delay: 15s, timeout: 10s }
  tech:
    skills: { tech: 6 }
    strategy: ring-all
    ring_timeout: 8s
    wrap_up: 0s
    widen:
      - { after: 30s, any_language: true }
    max_length: { callers: 3, overflow: callback }
    callback: { max_attempts: 1 }
    when_empty: { queue: operator }
  operator:
    skills: { operator: 1 }
    strategy: best-skill
    widen:
      - { after: 10s, any_language: true }
    max_length: { callers: 4, overflow: { flow: busy } }
    when_empty: { voicemail: op }
agent_policy:
  no_answer: { pause_after: 2 }
  busy: { pause_after: 3 }
  unreachable: { pause_after: 1 }
"#,
    )
}

#[derive(Debug, Clone)]
enum Op {
    Join {
        call: u64,
        queue: usize,
        prio: u8,
        lang: usize,
    },
    Leave {
        call: u64,
    },
    End {
        call: u64,
    },
    /// Answer by one of the agents ringing (or a random agent).
    Answer {
        call: u64,
        pick: usize,
    },
    Reject {
        call: u64,
        pick: usize,
        reason: u8,
    },
    Register {
        agent: usize,
    },
    Unreachable {
        agent: usize,
    },
    Command {
        agent: usize,
        cmd: u8,
    },
    CallbackRequest {
        call: u64,
    },
    CallbackResult {
        call: u64,
        answered: bool,
    },
    Advance {
        ms: u64,
    },
    /// A call to `agent`'s extension rings (transfer or flow).
    Direct {
        agent: usize,
        n: u64,
    },
    /// Answered by the agent it rings (or a random agent).
    DirectAnswer {
        n: u64,
        pick: usize,
    },
    /// Over, answered or not (for the agent it rings, or a random one).
    DirectEnd {
        n: u64,
        pick: usize,
    },
    /// An attended transfer gives direct call `n` to id `m` (for the agent
    /// it rings, or a random one).
    DirectHandOver {
        n: u64,
        m: u64,
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let call = 0..CALLS;
    prop_oneof![
        4 => (call.clone(), 0..QUEUES.len(), 0u8..3, 0..LANGS.len())
            .prop_map(|(call, queue, prio, lang)| Op::Join { call, queue, prio, lang }),
        1 => call.clone().prop_map(|call| Op::Leave { call }),
        2 => call.clone().prop_map(|call| Op::End { call }),
        4 => (call.clone(), 0..4usize).prop_map(|(call, pick)| Op::Answer { call, pick }),
        2 => (call.clone(), 0..4usize, 0u8..4).prop_map(|(call, pick, reason)| Op::Reject { call, pick, reason }),
        2 => (0..AGENTS.len()).prop_map(|agent| Op::Register { agent }),
        1 => (0..AGENTS.len()).prop_map(|agent| Op::Unreachable { agent }),
        2 => (0..AGENTS.len(), 0u8..4).prop_map(|(agent, cmd)| Op::Command { agent, cmd }),
        1 => call.clone().prop_map(|call| Op::CallbackRequest { call }),
        1 => (call, any::<bool>()).prop_map(|(call, answered)| Op::CallbackResult { call, answered }),
        5 => (1u64..30_000).prop_map(|ms| Op::Advance { ms }),
        2 => (0..AGENTS.len(), 0..DIRECTS).prop_map(|(agent, n)| Op::Direct { agent, n }),
        2 => (0..DIRECTS, 0..8usize).prop_map(|(n, pick)| Op::DirectAnswer { n, pick }),
        2 => (0..DIRECTS, 0..8usize).prop_map(|(n, pick)| Op::DirectEnd { n, pick }),
        1 => (0..DIRECTS, 0..DIRECTS, 0..8usize).prop_map(|(n, m, pick)| Op::DirectHandOver { n, m, pick }),
    ]
}

/// What the model knows about a call that is in the router.
#[derive(Debug, Clone)]
struct Present {
    queue: String,
    joined: Instant,
    priority: u8,
    language: String,
    /// Arrival order in its current queue (router order for equal priority).
    order: u64,
}

struct Model {
    cfg: Config,
    r: Router,
    now: Instant,
    present: HashMap<u64, Present>,
    gone: BTreeSet<u64>,
    /// Last state each agent was reported in.
    reported: HashMap<String, AgentState>,
    /// Calls waiting (on hold or holding a callback place) at the last check.
    waiting_before: BTreeSet<u64>,
    order: u64,
    /// Direct calls in progress by call id.
    direct: HashMap<u64, DirectCall>,
    /// A `DirectHandedOver` input is being applied: its agent is reported
    /// offered again, for the new call.
    handing_over: bool,
}

/// What the model knows of a call to an agent's own extension.
#[derive(Debug, Clone)]
struct DirectCall {
    agent: String,
    answered: bool,
    /// The agent's state when it began.
    before: AgentState,
    /// Commands and registration changes of the agent since: `None` if
    /// there were none, `Some(true)` if the last of them was an accepted
    /// pause (and nothing but pauses happened), else `Some(false)`.
    asked: Option<bool>,
}

impl Model {
    fn new() -> Model {
        let cfg = model_config();
        let now = Instant::now();
        let r = Router::new(now, &cfg);
        let reported = AGENTS
            .iter()
            .map(|a| (a.to_string(), AgentState::Unreachable))
            .collect();
        Model {
            cfg,
            r,
            now,
            present: HashMap::new(),
            gone: BTreeSet::new(),
            reported,
            waiting_before: BTreeSet::new(),
            order: 0,
            direct: HashMap::new(),
            handing_over: false,
        }
    }

    /// Can `agent` serve this caller now, by the configuration? Widening
    /// counts only strictly after its time, so a tie with the router's timer
    /// never produces a false alarm.
    fn eligible(&self, p: &Present, agent: &str) -> bool {
        let q = &self.cfg.queues[&p.queue];
        let a = self.cfg.agent(agent).unwrap();
        let waited = self.now.saturating_duration_since(p.joined);
        let mut req = q.skills.clone();
        let mut lang = !p.language.is_empty();
        for step in q.widen.iter().filter(|s| waited > s.after) {
            for (s, &l) in &step.skills {
                if l == 0 {
                    req.remove(s);
                } else {
                    req.insert(s.clone(), l);
                }
            }
            lang &= !step.any_language;
        }
        req.iter()
            .all(|(s, &l)| a.skills.get(s).copied().unwrap_or(0) >= l)
            && (!lang || a.languages.contains(&p.language))
    }

    fn status(&self, call: u64) -> Option<CallStatus> {
        self.r.call_info(CallId(call)).map(|i| i.status)
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Advance { ms } => {
                let end = self.now + Duration::from_millis(*ms);
                // Wake at every deadline, as the shell does, so outputs are
                // attributed to the instant they happen.
                while let Some(t) = self.r.poll_timeout() {
                    if t > end {
                        break;
                    }
                    self.now = t.max(self.now);
                    self.input(Input::Timeout)?;
                }
                self.now = end;
                self.input(Input::Timeout)
            }
            Op::Join {
                call,
                queue,
                prio,
                lang,
            } => self.input(Input::CallJoins {
                call: CallId(*call),
                queue: QUEUES[*queue].into(),
                priority: *prio,
                language: LANGS[*lang].into(),
                skills: vec![],
                vars: BTreeMap::new(),
            }),
            Op::Leave { call } => self.input(Input::CallLeft {
                call: CallId(*call),
            }),
            Op::End { call } => self.input(Input::CallEnded {
                call: CallId(*call),
            }),
            Op::Answer { call, pick } | Op::Reject { call, pick, .. } => {
                let agent = match self.status(*call) {
                    Some(CallStatus::Offered { agents }) => agents[pick % agents.len()].to_string(),
                    _ => AGENTS[*pick].to_string(),
                };
                let call = CallId(*call);
                self.input(match op {
                    Op::Answer { .. } => Input::OfferAnswered { call, agent },
                    Op::Reject { reason, .. } => Input::OfferRejected {
                        call,
                        agent,
                        reason: [
                            RejectReason::NoAnswer,
                            RejectReason::Busy,
                            RejectReason::Declined,
                            RejectReason::Unreachable,
                        ][*reason as usize],
                    },
                    _ => unreachable!(),
                })
            }
            Op::Register { agent } => self.input(Input::AgentRegistered {
                agent: AGENTS[*agent].into(),
            }),
            Op::Unreachable { agent } => self.input(Input::AgentUnreachable {
                agent: AGENTS[*agent].into(),
            }),
            Op::Command { agent, cmd } => {
                let command = match cmd {
                    0 => Command::Login,
                    1 => Command::Logout,
                    2 => Command::Pause { reason: "x".into() },
                    _ => Command::Unpause,
                };
                self.input(Input::AgentCommand {
                    agent: AGENTS[*agent].into(),
                    command,
                })
            }
            Op::CallbackRequest { call } => self.input(Input::CallbackRequested {
                call: CallId(*call),
                number: format!("0{call}"),
            }),
            Op::CallbackResult { call, answered } => self.input(Input::CallbackResult {
                call: CallId(*call),
                answered: *answered,
            }),
            Op::Direct { agent, n } => {
                // The shell never starts a call it has going already.
                if self.direct.contains_key(&(DIRECT + n)) {
                    return Ok(());
                }
                self.input(Input::DirectCall {
                    agent: AGENTS[*agent].into(),
                    call: CallId(DIRECT + n),
                })
            }
            Op::DirectAnswer { n, pick } | Op::DirectEnd { n, pick } => {
                let call = DIRECT + n;
                let agent = match self.direct.get(&call) {
                    Some(d) if *pick < 6 => d.agent.clone(),
                    _ => AGENTS[pick % AGENTS.len()].to_string(),
                };
                let call = CallId(call);
                self.input(match op {
                    Op::DirectAnswer { .. } => Input::DirectAnswered { agent, call },
                    _ => Input::DirectEnded { agent, call },
                })
            }
            Op::DirectHandOver { n, m, pick } => {
                let (from, to) = (DIRECT + n, DIRECT + m);
                // The shell hands a call over to a caller with no call of its own.
                if n == m || self.direct.contains_key(&to) {
                    return Ok(());
                }
                let agent = match self.direct.get(&from) {
                    Some(d) if *pick < 6 => d.agent.clone(),
                    _ => AGENTS[pick % AGENTS.len()].to_string(),
                };
                self.handing_over = true;
                let result = self.input(Input::DirectHandedOver {
                    agent,
                    from: CallId(from),
                    to: CallId(to),
                });
                self.handing_over = false;
                result
            }
        }
    }

    /// Keeps the model's direct calls in step with an input's result, and
    /// checks that result; returns a direct call the input ended.
    fn direct_input(
        &mut self,
        input: &Input,
        result: &Result<(), RouterError>,
    ) -> Result<Option<DirectCall>, TestCaseError> {
        let resting = |s: Option<&AgentState>| {
            matches!(
                s,
                Some(AgentState::Available | AgentState::Paused { .. } | AgentState::LoggedOut)
            )
        };
        let ringing = |d: &DirectCall, agent: &str| d.agent == agent && !d.answered;
        match (input, result) {
            (Input::DirectCall { agent, call }, Ok(())) => {
                let before = self.reported[agent.as_str()].clone();
                prop_assert!(
                    resting(Some(&before)),
                    "{} took direct call {} while {}",
                    agent,
                    call,
                    before
                );
                let d = DirectCall {
                    agent: agent.clone(),
                    answered: false,
                    before,
                    asked: None,
                };
                self.direct.insert(call.0, d);
            }
            (Input::DirectCall { agent, call }, Err(e)) => {
                // Refused only when busy or unreachable.
                prop_assert!(
                    matches!(e, RouterError::Transition(_)),
                    "direct call {call} to {agent}: {e}"
                );
                prop_assert!(
                    !resting(self.reported.get(agent.as_str())),
                    "{agent} refused direct call {call} while resting"
                );
            }
            (Input::DirectAnswered { agent, call }, result) => {
                let d = self.direct.get_mut(&call.0);
                let expected = d.as_ref().is_some_and(|d| ringing(d, agent));
                prop_assert_eq!(result.is_ok(), expected, "{} answers {}", agent, call);
                if let (Ok(()), Some(d)) = (result, d) {
                    d.answered = true;
                }
            }
            (Input::DirectHandedOver { agent, from, to }, result) => {
                let expected = self.direct.get(&from.0).is_some_and(|d| d.agent == *agent);
                prop_assert_eq!(
                    result.is_ok(),
                    expected,
                    "{} hands {} over to {}",
                    agent,
                    from,
                    to
                );
                if result.is_ok() {
                    if let Some(d) = self.direct.remove(&from.0) {
                        self.direct.insert(to.0, d);
                    }
                }
            }
            (Input::DirectEnded { agent, call }, result) => {
                prop_assert!(result.is_ok(), "{agent} ends {call}: {result:?}");
                if self.direct.get(&call.0).is_some_and(|d| d.agent == *agent) {
                    return Ok(self.direct.remove(&call.0));
                }
            }
            (Input::AgentCommand { agent, command }, Ok(())) => {
                for d in self.direct.values_mut().filter(|d| d.agent == *agent) {
                    let pause = matches!(command, Command::Pause { .. });
                    d.asked = Some(pause && d.asked.unwrap_or(true));
                }
            }
            (Input::AgentRegistered { agent } | Input::AgentUnreachable { agent }, _) => {
                for d in self.direct.values_mut().filter(|d| d.agent == *agent) {
                    d.asked = Some(false);
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// After a direct call ends the agent goes where it rests, never to
    /// wrap-up: where it was before if nothing changed meanwhile, the pause
    /// it asked for if it asked for one.
    fn check_direct_end(&self, d: &DirectCall, outputs: &[Output]) -> Result<(), TestCaseError> {
        let after = outputs.iter().find_map(|o| match o {
            Output::AgentState { agent, state } if **agent == *d.agent => Some(state),
            _ => None,
        });
        let Some(after) = after else {
            return Err(TestCaseError::fail(format!(
                "{} stayed on its direct call",
                d.agent
            )));
        };
        match d.asked {
            None => prop_assert_eq!(after, &d.before, "{} after its direct call", &d.agent),
            Some(true) => prop_assert!(
                matches!(after, AgentState::Paused { reason } if reason == "x")
                    || *after == AgentState::Unreachable,
                "{} asked for a pause during its direct call, then {}",
                d.agent,
                after
            ),
            Some(false) => prop_assert!(
                matches!(
                    after,
                    AgentState::Available
                        | AgentState::Paused { .. }
                        | AgentState::LoggedOut
                        | AgentState::Unreachable
                ),
                "{} after its direct call: {}",
                d.agent,
                after
            ),
        }
        Ok(())
    }

    fn input(&mut self, input: Input) -> Result<(), TestCaseError> {
        let result = self.r.handle(self.now, input.clone());
        let ended = self.direct_input(&input, &result)?;
        match (&result, &input) {
            (
                Ok(()),
                Input::CallJoins {
                    call,
                    queue,
                    priority,
                    language,
                    ..
                },
            ) => {
                self.order += 1;
                self.present.insert(
                    call.0,
                    Present {
                        queue: queue.clone(),
                        joined: self.now,
                        priority: *priority,
                        language: language.clone(),
                        order: self.order,
                    },
                );
                self.gone.remove(&call.0);
            }
            (Ok(()), Input::CallLeft { call } | Input::CallEnded { call }) => {
                self.present.remove(&call.0);
                self.gone.insert(call.0);
            }
            // Internal transitions never fail; only an agent's own illegal
            // command may be refused by the transition check.
            (Err(RouterError::Transition(_)), Input::AgentCommand { .. }) => {}
            // A busy agent refuses a call to its extension (checked above).
            (Err(RouterError::Transition(_)), Input::DirectCall { .. }) => {}
            (Err(RouterError::Transition(e)), _) => {
                return Err(TestCaseError::fail(format!(
                    "internal transition refused: {e}"
                )))
            }
            _ => {}
        }
        let outputs: Vec<Output> = std::iter::from_fn(|| self.r.poll_output()).collect();
        for o in &outputs {
            self.apply_output(o)?;
        }
        if let Some(d) = ended {
            self.check_direct_end(&d, &outputs)?;
        }
        // A phone that went away while ringing with a direct call drops it.
        let reported = &self.reported;
        self.direct.retain(|_, d| {
            d.answered || reported.get(d.agent.as_str()) != Some(&AgentState::Unreachable)
        });
        self.check(&outputs)
    }

    fn apply_output(&mut self, o: &Output) -> Result<(), TestCaseError> {
        match o {
            Output::AgentState { agent, state } => {
                let before = self.reported.insert(agent.to_string(), state.clone());
                match state {
                    // Never offered a second call: only a free agent rings
                    // for a queue...
                    AgentState::Offered { direct: false, .. } => prop_assert_eq!(
                        before,
                        Some(AgentState::Available),
                        "agent {} offered while not available",
                        agent
                    ),
                    // ...and for its own extension, one out of the queues too
                    // (or the same ringing, handed over to another caller).
                    AgentState::Offered { direct: true, .. } => prop_assert!(
                        matches!(
                            before,
                            Some(
                                AgentState::Available
                                    | AgentState::Paused { .. }
                                    | AgentState::LoggedOut
                            )
                        ) || self.handing_over
                            && matches!(before, Some(AgentState::Offered { direct: true, .. })),
                        "agent {} rung directly while {:?}",
                        agent,
                        before
                    ),
                    _ => {}
                }
            }
            Output::Overflow { call, target, .. } => match target {
                OverflowTarget::Queue(q) => {
                    self.order += 1;
                    let order = self.order;
                    if let Some(p) = self.present.get_mut(&call.0) {
                        p.queue = q.clone();
                        p.joined = self.now;
                        p.order = order;
                    } else if let Some(p) = self.r.call_info(*call) {
                        // Refused at join (max_length / when_empty) and moved.
                        self.present.insert(
                            call.0,
                            Present {
                                queue: q.clone(),
                                joined: self.now,
                                priority: p.priority,
                                language: p.language.clone(),
                                order,
                            },
                        );
                    }
                }
                OverflowTarget::Callback => {}
                _ => {
                    self.present.remove(&call.0);
                    self.gone.insert(call.0);
                }
            },
            Output::CallbackFailed { call } => {
                self.present.remove(&call.0);
                self.gone.insert(call.0);
            }
            _ => {}
        }
        Ok(())
    }

    fn check(&mut self, outputs: &[Output]) -> Result<(), TestCaseError> {
        // Reported states match the router's.
        for (ext, state) in self.r.agents() {
            prop_assert_eq!(Some(state), self.reported.get(ext), "agent {}", ext);
        }
        // Each call is exactly where the model says: present or gone.
        let mut claimed: HashMap<String, u64> = HashMap::new();
        for call in 0..CALLS {
            let status = self.status(call);
            if self.gone.contains(&call) || !self.present.contains_key(&call) {
                prop_assert!(status.is_none(), "{call} should be gone: {status:?}");
                continue;
            }
            let Some(status) = status else {
                return Err(TestCaseError::fail(format!("{call} vanished")));
            };
            let info = self.r.call_info(CallId(call)).unwrap();
            prop_assert_eq!(&*info.queue, self.present[&call].queue.as_str());
            let (agents, want): (Vec<_>, AgentState) = match &status {
                CallStatus::Offered { agents } => {
                    prop_assert!(!agents.is_empty());
                    let offered = AgentState::Offered {
                        call: CallId(call),
                        direct: false,
                    };
                    (agents.clone(), offered)
                }
                CallStatus::CallbackDialing { agent } => (
                    vec![agent.clone()],
                    AgentState::Offered {
                        call: CallId(call),
                        direct: false,
                    },
                ),
                CallStatus::Connected { agent } => (
                    vec![agent.clone()],
                    AgentState::OnCall {
                        call: CallId(call),
                        direct: false,
                    },
                ),
                _ => (vec![], AgentState::Available),
            };
            for a in agents {
                prop_assert_eq!(
                    self.r.agent_state(&a),
                    Some(&want),
                    "agent {} for {}",
                    a,
                    call
                );
                prop_assert!(
                    claimed.insert(a.to_string(), call).is_none(),
                    "agent {} claimed twice",
                    a
                );
            }
        }
        // A direct call holds its agent, and only it: never two calls at once.
        for (&call, d) in &self.direct {
            let want = if d.answered {
                AgentState::OnCall {
                    call: CallId(call),
                    direct: true,
                }
            } else {
                AgentState::Offered {
                    call: CallId(call),
                    direct: true,
                }
            };
            prop_assert_eq!(
                self.r.agent_state(&d.agent),
                Some(&want),
                "agent {} for direct call {}",
                &d.agent,
                call
            );
            prop_assert!(
                claimed.insert(d.agent.clone(), call).is_none(),
                "agent {} claimed twice",
                &d.agent
            );
        }
        // No agent is tied to a call that is gone, or that does not know it.
        for (ext, state) in self.r.agents() {
            if let Some(call) = state.call() {
                prop_assert_eq!(
                    claimed.get(ext),
                    Some(&call.0),
                    "agent {} stuck in {}",
                    ext,
                    state
                );
            }
        }
        // No caller waits while an agent able to serve it is free.
        let waiting: BTreeSet<u64> = self
            .present
            .keys()
            .copied()
            .filter(|&c| {
                matches!(
                    self.status(c),
                    Some(CallStatus::Waiting | CallStatus::CallbackWaiting)
                )
            })
            .collect();
        for &c in &waiting {
            for (ext, state) in self.r.agents() {
                if *state == AgentState::Available {
                    prop_assert!(
                        !self.eligible(&self.present[&c], ext),
                        "{} waits while {} is free",
                        c,
                        ext
                    );
                }
            }
        }
        // Offers respect priority, then arrival: nobody that was already
        // waiting, and still is, was ahead of the offered caller for one of
        // the agents offered.
        for o in outputs {
            let (call, agents) = match o {
                Output::Offer { call, agents, .. } => (call.0, agents.clone()),
                Output::StartCallback { call, agent, .. } => (call.0, vec![agent.clone()]),
                _ => continue,
            };
            let Some(x) = self.present.get(&call) else {
                continue;
            };
            for &y in waiting.intersection(&self.waiting_before) {
                let py = &self.present[&y];
                let ahead =
                    py.priority > x.priority || (py.priority == x.priority && py.order < x.order);
                for a in &agents {
                    prop_assert!(
                        !(ahead && self.eligible(py, a)),
                        "{} offered to {} ahead of {} ({:?} vs {:?})",
                        call,
                        a,
                        y,
                        x,
                        py
                    );
                }
            }
        }
        self.waiting_before = waiting;
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Thousands of random sequences; every invariant after every step.
    #[test]
    fn random_sequences_keep_every_invariant(ops in proptest::collection::vec(op(), 1..120)) {
        let mut m = Model::new();
        for op in &ops {
            m.step(op)?;
        }
    }
}
