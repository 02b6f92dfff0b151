//! Router decisions per second at scale: `cargo bench --bench router`.
//!
//! Steady state of a busy call centre: agents on calls, in wrap-up or on a
//! break, and `callers` waiting across 4 queues (one per strategy), 3
//! languages and 3 priorities, widening twice while they wait. One iteration
//! feeds 12 inputs, the mix of a real centre (bench/README.md explains it):
//!
//! 1. `Timeout`: the wrap-ups that started 20 iterations ago end; one agent
//!    becomes available and is offered the best waiting caller, one goes on
//!    its break (paused);
//! 2. `AgentCommand Unpause` for the agent that went on break: available
//!    again, offered a caller;
//! 3. `OfferAnswered` for the first offer, `OfferRejected` (busy) for the
//!    second, which the router re-offers, and `OfferAnswered` for that;
//! 4. `AgentCommand Pause` for an agent on a call (it takes a break after
//!    the call), and `CallEnded` for its call and for another agent's call:
//!    both go into wrap-up (a timer each);
//! 5. `CallJoins` three times and `CallLeft` once (a caller abandons), so
//!    the line stays as long.
//!
//! Virtual time advances 1 ms per iteration; wrap-up lasts 20 ms and widening
//! happens 100 ms and 200 ms after joining, so the share of agents in
//! wrap-up and of callers widened is alike at every size. Divan's throughput
//! line counts the 12 inputs; the harness's own work (picking agents,
//! draining outputs, building inputs) is inside the timing.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::acd::{AgentState, CallId, Command, Input, Output, RejectReason, Router};
use switchboard::config::{AgentConfig, Config};

fn main() {
    divan::main();
}

const QUEUES: usize = 4;
const STRATEGIES: [&str; QUEUES] = ["longest-idle", "least-calls", "best-skill", "round-robin"];
const LANGS: [&str; 3] = ["en", "fa", "ru"];
/// Inputs fed by one steady-state iteration.
const EVENTS: usize = 12;
const TICK: Duration = Duration::from_millis(1);
/// Wrap-up, in iterations (keep in step with `wrap_up` in `config`).
const WRAP_TICKS: usize = 20;

fn config(agents: usize) -> Config {
    let mut y = String::from("queues:\n");
    for (q, strategy) in STRATEGIES.iter().enumerate() {
        y += &format!(
            "  q{q}:\n    strategy: {strategy}\n    skills: {{ s{q}: 3 }}\n    wrap_up: 20ms\n    widen:\n      - {{ after: 100ms, skills: {{ s{q}: 1 }} }}\n      - {{ after: 200ms, any_language: true }}\n"
        );
    }
    let mut cfg: Config = serde_yaml::from_str(&y).expect("bench config");
    for i in 0..agents {
        let mut skills = BTreeMap::new();
        skills.insert(format!("s{}", i % QUEUES), 1 + (i * 7 % 10) as u8);
        skills.insert(format!("s{}", (i + 1) % QUEUES), 1 + (i * 3 % 10) as u8);
        let mut languages = vec!["en".to_string()];
        if i % 3 == 0 {
            languages.push("fa".into());
        }
        if i % 5 == 0 {
            languages.push("ru".into());
        }
        cfg.agents.push(AgentConfig {
            extension: format!("{}", 100_000 + i),
            name: format!("agent {i}"),
            password: "secret".into(),
            skills,
            languages,
            algorithms: None,
        });
    }
    cfg
}

struct World {
    r: Router,
    now: Instant,
    next_call: u64,
    /// Agents on a call and the call (picked at random, removed with
    /// `swap_remove`).
    on_call: Vec<(Arc<str>, CallId)>,
    /// Answered calls still in `recent`, so that an abandoning caller is one
    /// still waiting.
    served: HashSet<CallId, foldhash::fast::RandomState>,
    /// Recent joins; the oldest of them is the next to abandon.
    recent: VecDeque<CallId>,
    abandon_lag: usize,
    /// Agents that asked for a break, in the order their wrap-up ends.
    breaks: VecDeque<Arc<str>>,
    queue_names: Vec<String>,
    rng: u64,
    /// Inputs fed so far (checked against `EVENTS`).
    fed: usize,
}

impl World {
    fn rand(&mut self) -> u64 {
        // xorshift: cheap and deterministic
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn feed(&mut self, input: Input) {
        self.fed += 1;
        self.r.handle(self.now, input).expect("input refused");
    }

    fn join(&mut self) {
        let call = CallId(self.next_call);
        self.next_call += 1;
        let x = self.rand();
        self.feed(Input::CallJoins {
            call,
            queue: self.queue_names[(x % QUEUES as u64) as usize].clone(),
            priority: ((x >> 8) % 3) as u8,
            language: LANGS[((x >> 16) % 3) as usize].into(),
            skills: Vec::new(),
            vars: BTreeMap::new(),
        });
        self.recent.push_back(call);
    }

    /// A caller that joined `abandon_lag` joins ago hangs up, if it is
    /// still waiting (else the next one).
    fn abandon(&mut self) {
        let mut done = false;
        while self.recent.len() > self.abandon_lag {
            let call = self.recent.pop_front().expect("non-empty");
            if !self.served.remove(&call) && !done {
                self.feed(Input::CallLeft { call });
                done = true;
            }
        }
    }

    /// Answers every offer; an offer to `reject` is refused once (busy),
    /// and the router's next offer answered.
    fn answer_offers(&mut self, mut reject: Option<Arc<str>>) {
        let mut offers = Vec::new();
        loop {
            while let Some(o) = self.r.poll_output() {
                if let Output::Offer { call, agents, .. } = o {
                    offers.push((call, agents[0].clone()));
                }
            }
            if offers.is_empty() {
                return;
            }
            for (call, agent) in offers.drain(..) {
                if reject.as_ref() == Some(&agent) {
                    reject = None;
                    self.feed(Input::OfferRejected {
                        call,
                        agent: agent.to_string(),
                        reason: RejectReason::Busy,
                    });
                } else {
                    self.feed(Input::OfferAnswered {
                        call,
                        agent: agent.to_string(),
                    });
                    self.served.insert(call);
                    self.on_call.push((agent, call));
                }
            }
        }
    }

    fn end_random_call(&mut self) -> Option<Arc<str>> {
        if self.on_call.is_empty() {
            return None;
        }
        let i = (self.rand() % self.on_call.len() as u64) as usize;
        let (agent, call) = self.on_call.swap_remove(i);
        self.feed(Input::CallEnded { call });
        Some(agent)
    }

    /// One iteration; see the module docs.
    fn cycle(&mut self) {
        self.now += TICK;
        self.feed(Input::Timeout);
        let mut rejecter = None;
        let paused = self
            .breaks
            .front()
            .is_some_and(|a| matches!(self.r.agent_state(a), Some(AgentState::Paused { .. })));
        if paused {
            let agent = self.breaks.pop_front().expect("front");
            self.feed(Input::AgentCommand {
                agent: agent.to_string(),
                command: Command::Unpause,
            });
            rejecter = Some(agent);
        }
        self.answer_offers(rejecter);
        // The agent whose call ends first takes a break after it.
        if !self.on_call.is_empty() {
            let i = (self.rand() % self.on_call.len() as u64) as usize;
            let agent = self.on_call[i].0.to_string();
            self.feed(Input::AgentCommand {
                agent,
                command: Command::Pause {
                    reason: "break".into(),
                },
            });
            let (agent, call) = self.on_call.swap_remove(i);
            self.feed(Input::CallEnded { call });
            self.breaks.push_back(agent);
        }
        self.end_random_call();
        // Two served and one abandoned: three join, and the line stays full.
        self.join();
        self.join();
        self.join();
        self.abandon();
        // Wrap-ups end only at the next Timeout: no offers here.
        while self.r.poll_output().is_some() {}
    }

    fn new(agents: usize, callers: usize) -> World {
        let cfg = config(agents);
        let now = Instant::now();
        let mut w = World {
            r: Router::new(now, &cfg),
            now,
            next_call: 0,
            on_call: Vec::new(),
            served: HashSet::default(),
            recent: VecDeque::new(),
            abandon_lag: (callers / 20).max(1),
            breaks: VecDeque::new(),
            queue_names: (0..QUEUES).map(|q| format!("q{q}")).collect(),
            rng: 0x9E37_79B9_7F4A_7C15,
            fed: 0,
        };
        for a in &cfg.agents {
            w.feed(Input::AgentRegistered {
                agent: a.extension.clone(),
            });
        }
        // Busy every agent, then fill the line.
        while w.on_call.len() < agents && w.next_call < (agents * 4) as u64 {
            w.join();
            w.answer_offers(None);
        }
        let waiting = |w: &World| -> usize {
            (0..QUEUES)
                .map(|q| w.r.queue_stats(&format!("q{q}")).expect("queue").callers)
                .sum()
        };
        while waiting(&w) < callers {
            w.join();
        }
        w.answer_offers(None);
        // Fill the wrap-up and break pipeline, then check the mix.
        for _ in 0..WRAP_TICKS * 3 {
            w.cycle();
        }
        let before = w.fed;
        w.cycle();
        assert_eq!(w.fed - before, EVENTS, "steady state feeds {EVENTS} inputs");
        let line = waiting(&w);
        assert!(
            line >= callers && line < callers + 1_000,
            "line of {line} callers"
        );
        w
    }
}

/// (agents, waiting callers)
const SIZES: [(usize, usize); 4] = [
    (100, 1_000),
    (1_000, 10_000),
    (10_000, 100_000),
    (100_000, 1_000_000),
];

#[divan::bench(args = SIZES, sample_count = 20, sample_size = 2000)]
fn steady_state(bencher: divan::Bencher, size: (usize, usize)) {
    let mut w = World::new(size.0, size.1);
    bencher
        .counter(divan::counter::ItemsCount::new(EVENTS))
        .bench_local(|| w.cycle());
}
