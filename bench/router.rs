//! Router decisions per second at scale: `cargo bench --bench router`.
//!
//! Steady state of a busy call centre: every agent is on a call and
//! `callers` wait across 4 queues, 3 languages and 3 priorities (with
//! widening steps pending). One iteration is 3 events: a call ends (the
//! agent is free at once: wrap-up 0s), the router offers it the best waiting
//! caller it can serve, the agent answers, and a new caller joins so the
//! line stays full. The throughput line is events per second.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use switchboard::acd::{CallId, Input, Output, Router};
use switchboard::config::{AgentConfig, Config};

fn main() {
    divan::main();
}

const QUEUES: usize = 4;
const LANGS: [&str; 3] = ["en", "fa", "ru"];

fn config(agents: usize) -> Config {
    let mut y = String::from("queues:\n");
    for q in 0..QUEUES {
        y += &format!(
            "  q{q}:\n    skills: {{ s{q}: 3 }}\n    wrap_up: 0s\n    widen:\n      - {{ after: 60s, skills: {{ s{q}: 1 }} }}\n      - {{ after: 120s, any_language: true }}\n"
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
    /// agent extension -> its connected call
    on_call: BTreeMap<String, CallId>,
    queue_names: Vec<String>,
    rng: u64,
}

impl World {
    fn rand(&mut self) -> u64 {
        // xorshift: cheap and deterministic
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn join(&mut self) {
        let call = CallId(self.next_call);
        self.next_call += 1;
        let x = self.rand();
        let input = Input::CallJoins {
            call,
            queue: self.queue_names[(x % QUEUES as u64) as usize].clone(),
            priority: ((x >> 8) % 3) as u8,
            language: LANGS[((x >> 16) % 3) as usize].into(),
            skills: Vec::new(),
            vars: BTreeMap::new(),
        };
        self.r.handle(self.now, input).expect("join");
    }

    /// Answers every offer made so far.
    fn answer_offers(&mut self) {
        let mut offers = Vec::new();
        while let Some(o) = self.r.poll_output() {
            if let Output::Offer { call, agents, .. } = o {
                offers.push((call, agents[0].to_string()));
            }
        }
        for (call, agent) in offers {
            self.r
                .handle(
                    self.now,
                    Input::OfferAnswered {
                        call,
                        agent: agent.clone(),
                    },
                )
                .expect("answer");
            self.on_call.insert(agent, call);
        }
        while self.r.poll_output().is_some() {}
    }

    fn new(agents: usize, callers: usize) -> World {
        let cfg = config(agents);
        let now = Instant::now();
        let mut w = World {
            r: Router::new(now, &cfg),
            now,
            next_call: 0,
            on_call: BTreeMap::new(),
            queue_names: (0..QUEUES).map(|q| format!("q{q}")).collect(),
            rng: 0x9E37_79B9_7F4A_7C15,
        };
        for a in &cfg.agents {
            w.r.handle(
                now,
                Input::AgentRegistered {
                    agent: a.extension.clone(),
                },
            )
            .expect("register");
        }
        // Busy every agent, then fill the line.
        while w.on_call.len() < agents && w.next_call < (agents * 4) as u64 {
            w.join();
            w.answer_offers();
        }
        let target = w.r.queue_stats("q0").map_or(0, |_| callers);
        let mut waiting = 0;
        while waiting < target {
            w.join();
            waiting = (0..QUEUES)
                .map(|q| w.r.queue_stats(&format!("q{q}")).unwrap().callers)
                .sum();
        }
        while w.r.poll_output().is_some() {}
        w
    }

    /// One iteration: end a call, route, answer, refill. 3 inputs.
    fn cycle(&mut self) {
        self.now += Duration::from_millis(1);
        let x = self.rand();
        let ext = {
            // A pseudo-random busy agent (BTreeMap range: O(log n)).
            let key = format!("{}", 100_000 + x % self.on_call.len().max(1) as u64);
            self.on_call
                .range(key..)
                .next()
                .or_else(|| self.on_call.iter().next())
                .map(|(k, _)| k.clone())
        };
        let Some(ext) = ext else { return };
        let call = self.on_call.remove(&ext).expect("busy agent");
        self.r
            .handle(self.now, Input::CallEnded { call })
            .expect("end");
        self.answer_offers();
        self.join();
        while self.r.poll_output().is_some() {}
    }
}

/// (agents, waiting callers)
const SIZES: [(usize, usize); 3] = [(100, 1_000), (1_000, 10_000), (10_000, 100_000)];

#[divan::bench(args = SIZES, sample_count = 20, sample_size = 2000)]
fn steady_state(bencher: divan::Bencher, size: (usize, usize)) {
    let mut w = World::new(size.0, size.1);
    bencher
        .counter(divan::counter::ItemsCount::new(3usize))
        .bench_local(|| w.cycle());
}
