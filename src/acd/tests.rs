//! Router unit tests in virtual time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::config::Config;

/// Agents 1001..: `(skills, languages)`.
pub(super) fn config(agents: &[(&str, &str)], queues: &str) -> Config {
    let mut y = String::from("agents:\n");
    for (i, (skills, langs)) in agents.iter().enumerate() {
        y += &format!(
            "  - {{ extension: \"{}\", name: A, password: secret, skills: {{ {skills} }}, languages: [{langs}] }}\n",
            1001 + i
        );
    }
    y += queues;
    serde_yaml::from_str(&y).unwrap_or_else(|e| panic!("{e}\n{y}"))
}

pub(super) struct H {
    pub r: Router,
    pub now: Instant,
}

pub(super) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

impl H {
    pub fn new(cfg: &Config) -> H {
        let t0 = Instant::now();
        H {
            r: Router::new(t0, cfg),
            now: t0,
        }
    }

    /// Registers every agent (logging them in, with auto_login) and drops
    /// the resulting outputs.
    fn online(cfg: &Config) -> H {
        let mut h = H::new(cfg);
        for a in &cfg.agents {
            h.ok(Input::AgentRegistered {
                agent: a.extension.clone(),
            });
            h.advance(0.001);
        }
        h.drain();
        h
    }

    pub fn advance(&mut self, s: f64) {
        self.now += secs(s);
        self.r.handle(self.now, Input::Timeout).unwrap();
    }

    pub fn ok(&mut self, input: Input) {
        self.r
            .handle(self.now, input.clone())
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
    }

    pub fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.r.poll_output()).collect()
    }

    fn join(&mut self, call: u64, queue: &str, priority: u8, language: &str) {
        self.ok(Input::CallJoins {
            call: CallId(call),
            queue: queue.into(),
            priority,
            language: language.into(),
            skills: vec![],
            vars: BTreeMap::new(),
        });
    }

    /// The offers among the pending outputs (drains them): (call, agents).
    fn offers(&mut self) -> Vec<(u64, Vec<String>)> {
        self.drain()
            .into_iter()
            .filter_map(|o| match o {
                Output::Offer { call, agents, .. } => {
                    Some((call.0, agents.iter().map(|a| a.to_string()).collect()))
                }
                _ => None,
            })
            .collect()
    }

    fn answer(&mut self, call: u64, agent: &str) {
        self.ok(Input::OfferAnswered {
            call: CallId(call),
            agent: agent.into(),
        });
    }

    fn state(&self, ext: &str) -> AgentState {
        self.r.agent_state(ext).unwrap().clone()
    }

    /// Ends a connected call and lets a wrap-up of up to 10 s pass.
    fn finish(&mut self, call: u64) {
        self.ok(Input::CallEnded { call: CallId(call) });
        self.advance(10.0);
    }
}

fn one(agent: &str, call: u64) -> Vec<(u64, Vec<String>)> {
    vec![(call, vec![agent.to_string()])]
}

const Q: &str = "queues:\n  q:\n    skills: { s: 1 }\n";

fn q_with(strategy: &str) -> String {
    format!("queues:\n  q:\n    skills: {{ s: 1 }}\n    strategy: {strategy}\n    wrap_up: 0s\n")
}

#[test]
fn longest_idle_offers_the_agent_free_longest() {
    let cfg = config(
        &[("s: 1", ""), ("s: 1", ""), ("s: 1", "")],
        &q_with("longest-idle"),
    );
    let mut h = H::online(&cfg); // registered 1001, 1002, 1003 in that order
    h.join(1, "q", 0, "");
    assert_eq!(h.offers(), one("1001", 1));
    h.answer(1, "1001");
    h.finish(1); // 1001 free again, now the most recently idle
    h.join(2, "q", 0, "");
    assert_eq!(h.offers(), one("1002", 2));
    h.join(3, "q", 0, "");
    assert_eq!(h.offers(), one("1003", 3));
    h.join(4, "q", 0, "");
    assert_eq!(h.offers(), one("1001", 4));
}

#[test]
fn least_calls_offers_the_agent_with_fewest_answered() {
    let cfg = config(&[("s: 1", ""), ("s: 1", "")], &q_with("least-calls"));
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    assert_eq!(h.offers(), one("1001", 1));
    h.answer(1, "1001");
    h.finish(1);
    h.join(2, "q", 0, "");
    assert_eq!(h.offers(), one("1002", 2)); // 0 calls against 1
    h.answer(2, "1002");
    h.join(3, "q", 0, "");
    assert_eq!(h.offers(), one("1001", 3));
    h.answer(3, "1001");
    h.finish(3);
    h.advance(5.0);
    h.finish(2);
    // 1001 has been idle longer but answered 2 calls; 1002 answered 1.
    h.join(4, "q", 0, "");
    assert_eq!(h.offers(), one("1002", 4));
}

#[test]
fn best_skill_offers_the_strongest_and_uses_preferred_skills() {
    let q = "queues:\n  q:\n    skills: { s: 1 }\n    preferred: [p]\n    strategy: best-skill\n";
    let cfg = config(&[("s: 3", ""), ("s: 9", ""), ("s: 5, p: 6", "")], q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    assert_eq!(h.offers(), one("1003", 1)); // 5 + 6 beats 9
    h.join(2, "q", 0, "");
    assert_eq!(h.offers(), one("1002", 2));
    h.join(3, "q", 0, "");
    assert_eq!(h.offers(), one("1001", 3));
}

#[test]
fn round_robin_rotates_in_configuration_order() {
    let cfg = config(
        &[("s: 1", ""), ("s: 1", ""), ("s: 1", "")],
        &q_with("round-robin"),
    );
    let mut h = H::online(&cfg);
    let mut got = Vec::new();
    for call in 1..=5 {
        h.join(call, "q", 0, "");
        let o = h.offers();
        let agent = o[0].1[0].clone();
        h.answer(call, &agent);
        h.finish(call);
        got.push(agent);
    }
    assert_eq!(got, ["1001", "1002", "1003", "1001", "1002"]);
}

#[test]
fn ring_all_rings_everyone_and_cancels_the_losers() {
    let cfg = config(
        &[("s: 1", ""), ("s: 1", ""), ("x: 1", "")],
        &q_with("ring-all"),
    );
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    assert_eq!(h.offers(), vec![(1, vec!["1001".into(), "1002".into()])]);
    h.answer(1, "1002");
    let out = h.drain();
    assert!(out.contains(&Output::CancelOffer {
        call: CallId(1),
        agent: "1001".into()
    }));
    assert_eq!(h.state("1001"), AgentState::Available);
    assert_eq!(
        h.state("1002"),
        AgentState::OnCall {
            call: CallId(1),
            direct: false
        }
    );
    // The loser's late answer is refused, so the shell hangs its leg up.
    assert_eq!(
        h.r.handle(
            h.now,
            Input::OfferAnswered {
                call: CallId(1),
                agent: "1001".into()
            }
        ),
        Err(RouterError::NotOffered {
            call: CallId(1),
            agent: "1001".into()
        })
    );
}

#[test]
fn priority_first_then_arrival_order() {
    let cfg = config(&[("s: 1", "")], Q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, ""); // takes the only agent
    assert_eq!(h.offers(), one("1001", 1));
    h.join(2, "q", 0, "");
    h.join(3, "q", 5, "");
    h.join(4, "q", 0, "");
    h.join(5, "q", 5, "");
    h.answer(1, "1001"); // connected callers are no longer in line
    assert_eq!(h.r.call_info(CallId(3)).unwrap().position, Some(1));
    assert_eq!(h.r.call_info(CallId(5)).unwrap().position, Some(2));
    assert_eq!(h.r.call_info(CallId(2)).unwrap().position, Some(3));
    assert_eq!(h.r.call_info(CallId(4)).unwrap().position, Some(4));
    let mut order = Vec::new();
    let mut current = 1;
    for _ in 0..4 {
        h.ok(Input::CallEnded {
            call: CallId(current),
        });
        h.advance(11.0);
        let o = h.offers();
        current = o[0].0;
        order.push(current);
        h.answer(current, "1001");
    }
    assert_eq!(order, [3, 5, 2, 4]);
}

#[test]
fn widening_relaxes_levels_without_losing_the_place() {
    let q = "queues:\n  q:\n    skills: { s: 8 }\n    widen:\n      - { after: 60s, skills: { s: 3 } }\n      - { after: 120s, any_language: true }\n";
    // 1001 is expert but busy; 1002 is junior and free; 1003 speaks only fa.
    let cfg = config(&[("s: 9", "en"), ("s: 4", "en"), ("s: 9", "fa")], q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "en");
    assert_eq!(h.offers(), one("1001", 1));
    h.answer(1, "1001");
    h.ok(Input::AgentCommand {
        agent: "1003".into(),
        command: Command::Pause {
            reason: "lunch".into(),
        },
    });
    h.join(2, "q", 0, "ru");
    h.join(3, "q", 0, "en");
    h.advance(59.0);
    assert!(h.offers().is_empty(), "nobody qualifies before 60s");
    // At 60s the level drops to 3: 1002 qualifies for the English caller
    // only (call 2 still needs Russian).
    h.advance(1.0);
    assert_eq!(h.offers(), one("1002", 3));
    h.answer(3, "1002");
    assert_eq!(h.r.call_info(CallId(2)).unwrap().position, Some(1));
    // At 120s the language requirement goes; call 2 is first in line for
    // whoever frees up.
    h.advance(60.0);
    h.join(4, "q", 0, "ru");
    h.ok(Input::CallEnded { call: CallId(1) });
    h.advance(10.0);
    assert_eq!(h.offers(), one("1001", 2));
}

#[test]
fn ring_timeout_moves_to_the_next_agent() {
    let cfg = config(
        &[("s: 1", ""), ("s: 1", "")],
        "queues:\n  q:\n    skills: { s: 1 }\n    ring_timeout: 15s\n",
    );
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    assert_eq!(h.offers(), one("1001", 1));
    assert_eq!(h.r.poll_timeout(), Some(h.now + secs(15.0)));
    h.advance(14.999);
    assert!(h.drain().is_empty());
    h.advance(0.001);
    let out = h.drain();
    assert!(out.contains(&Output::CancelOffer {
        call: CallId(1),
        agent: "1001".into()
    }));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Offer { agents, .. } if agents[0].as_ref() == "1002")));
    // A rejection (busy) also moves on at once, back to 1001.
    h.ok(Input::OfferRejected {
        call: CallId(1),
        agent: "1002".into(),
        reason: RejectReason::Busy,
    });
    assert_eq!(h.offers(), one("1001", 1));
}

#[test]
fn rona_pauses_after_three_misses_in_a_row() {
    let cfg = config(&[("s: 1", "")], "queues:\n  q:\n    skills: { s: 1 }\n    ring_timeout: 10s\n    when_empty: { voicemail: vm }\n");
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    for _ in 0..2 {
        h.advance(10.0);
        assert_eq!(
            h.state("1001"),
            AgentState::Offered {
                call: CallId(1),
                direct: false
            }
        );
    }
    h.advance(10.0);
    assert_eq!(
        h.state("1001"),
        AgentState::Paused {
            reason: PAUSE_NO_ANSWER.into()
        }
    );
    // Nobody else staffs the queue: the caller is not left stranded.
    let out = h.drain();
    assert!(out.contains(&Output::Overflow {
        call: CallId(1),
        from: "q".into(),
        target: OverflowTarget::Voicemail("vm".into()),
        reason: OverflowReason::Empty
    }));
    // An answered call resets the count.
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Unpause,
    });
    h.join(2, "q", 0, "");
    h.advance(10.0);
    h.advance(10.0);
    h.answer(2, "1001");
    h.finish(2);
    h.join(3, "q", 0, "");
    h.advance(10.0);
    h.advance(10.0);
    assert_eq!(
        h.state("1001"),
        AgentState::Offered {
            call: CallId(3),
            direct: false
        }
    );
}

#[test]
fn wrap_up_ends_exactly_when_configured() {
    let cfg = config(
        &[("s: 1", "")],
        "queues:\n  q:\n    skills: { s: 1 }\n    wrap_up: 30s\n",
    );
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.answer(1, "1001");
    h.join(2, "q", 0, "");
    h.drain();
    h.ok(Input::CallLeft { call: CallId(1) });
    let until = h.now + secs(30.0);
    assert_eq!(h.state("1001"), AgentState::WrapUp { until });
    assert_eq!(h.r.poll_timeout(), Some(until));
    h.now = until - Duration::from_nanos(1);
    h.r.handle(h.now, Input::Timeout).unwrap();
    assert_eq!(h.state("1001"), AgentState::WrapUp { until });
    assert!(h.offers().is_empty());
    h.now = until;
    h.r.handle(h.now, Input::Timeout).unwrap();
    assert_eq!(h.offers(), one("1001", 2));
}

#[test]
fn caller_leaving_while_offered_cancels_the_offer() {
    let cfg = config(&[("s: 1", "")], Q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.drain();
    h.ok(Input::CallLeft { call: CallId(1) });
    let out = h.drain();
    assert!(out.contains(&Output::CancelOffer {
        call: CallId(1),
        agent: "1001".into()
    }));
    assert_eq!(h.state("1001"), AgentState::Available);
    assert!(h.r.call_info(CallId(1)).is_none());
    // No miss counted: the agent did nothing wrong.
    assert_eq!(h.r.poll_timeout(), None);
}

#[test]
fn no_agent_logged_in_sends_callers_to_when_empty() {
    let q = "queues:\n  q:\n    skills: { s: 1 }\n    when_empty: { flow: sorry }\n";
    let cfg = config(&[("s: 1", "")], q);
    let mut h = H::new(&cfg); // nobody registered
    h.join(1, "q", 0, "");
    let empty = |call| Output::Overflow {
        call: CallId(call),
        from: "q".into(),
        target: OverflowTarget::Flow("sorry".into()),
        reason: OverflowReason::Empty,
    };
    assert_eq!(h.drain(), vec![empty(1)]);
    // With the agent busy, callers wait; when it logs out after the call,
    // the waiting caller is sent on rather than stranded.
    h.ok(Input::AgentRegistered {
        agent: "1001".into(),
    });
    h.join(2, "q", 0, "");
    h.answer(2, "1001");
    h.join(3, "q", 0, "");
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Logout,
    });
    assert!(
        !h.drain().contains(&empty(3)),
        "still staffed until the call ends"
    );
    h.ok(Input::CallEnded { call: CallId(2) });
    h.advance(10.0);
    assert_eq!(h.state("1001"), AgentState::LoggedOut);
    assert!(h.drain().contains(&empty(3)));
    // A language nobody speaks, with no widening, is also "nobody serves".
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Login,
    });
    h.join(4, "q", 0, "ru");
    assert!(h.drain().contains(&empty(4)));
}

#[test]
fn default_when_empty_is_the_queue_mailbox() {
    let cfg = config(&[("s: 1", "")], Q);
    let mut h = H::new(&cfg);
    h.join(1, "q", 0, "");
    assert_eq!(
        h.drain(),
        vec![Output::Overflow {
            call: CallId(1),
            from: "q".into(),
            target: OverflowTarget::Voicemail("q".into()),
            reason: OverflowReason::Empty,
        }]
    );
}

#[test]
fn max_wait_and_max_length_overflow() {
    let q = "queues:\n  q:\n    skills: { s: 1 }\n    max_wait: { after: 5m, overflow: { queue: r } }\n    max_length: { callers: 2, overflow: { voicemail: full } }\n  r:\n    skills: { s: 1 }\n";
    let cfg = config(&[("s: 1", "")], q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.answer(1, "1001");
    h.join(2, "q", 0, "");
    h.join(3, "q", 0, "");
    h.drain();
    h.join(4, "q", 0, "");
    assert_eq!(
        h.drain(),
        vec![Output::Overflow {
            call: CallId(4),
            from: "q".into(),
            target: OverflowTarget::Voicemail("full".into()),
            reason: OverflowReason::MaxLength,
        }]
    );
    h.advance(299.0);
    assert!(h.drain().is_empty());
    h.advance(1.0);
    let out = h.drain();
    assert!(out.contains(&Output::Overflow {
        call: CallId(2),
        from: "q".into(),
        target: OverflowTarget::Queue("r".into()),
        reason: OverflowReason::MaxWait,
    }));
    // Moved inside the router, priority kept.
    assert_eq!(&*h.r.call_info(CallId(2)).unwrap().queue, "r");
    assert_eq!(&*h.r.call_info(CallId(3)).unwrap().queue, "r");
    assert_eq!(h.r.queue_stats("q").unwrap().callers, 0);
}

#[test]
fn max_wait_while_ringing_waits_for_the_offer() {
    let q = "queues:\n  q:\n    skills: { s: 1 }\n    ring_timeout: 20s\n    max_wait: { after: 10s, overflow: { voicemail: late } }\n";
    let cfg = config(&[("s: 1", "")], q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.drain();
    h.advance(15.0); // max_wait passed while ringing: the agent may still answer
    assert!(h.drain().is_empty());
    h.advance(5.0); // the ring timeout: now max_wait applies
    let out = h.drain();
    assert!(out.contains(&Output::CancelOffer {
        call: CallId(1),
        agent: "1001".into()
    }));
    assert!(out.contains(&Output::Overflow {
        call: CallId(1),
        from: "q".into(),
        target: OverflowTarget::Voicemail("late".into()),
        reason: OverflowReason::MaxWait,
    }));
    assert!(h.r.call_info(CallId(1)).is_none());
    assert_eq!(h.state("1001"), AgentState::Available);
}

#[test]
fn callback_keeps_the_place_and_reserves_an_agent_first() {
    let q = "queues:\n  q:\n    skills: { s: 1 }\n    callback: { max_attempts: 2, retry_delay: 60s, timeout: 30s }\n";
    let cfg = config(&[("s: 1", "")], q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.answer(1, "1001");
    h.join(2, "q", 0, "");
    h.join(3, "q", 0, "");
    h.ok(Input::CallbackRequested {
        call: CallId(2),
        number: "+441234".into(),
    });
    let info = h.r.call_info(CallId(2)).unwrap();
    assert_eq!(info.status, CallStatus::CallbackWaiting);
    assert_eq!(info.position, Some(1));
    assert_eq!(h.r.queue_stats("q").unwrap().callbacks, 1);
    h.drain();
    h.finish(1);
    // Its turn: the agent is reserved, then the customer dialled.
    let out = h.drain();
    assert!(out.contains(&Output::StartCallback {
        call: CallId(2),
        number: "+441234".into(),
        agent: "1001".into()
    }));
    assert_eq!(
        h.state("1001"),
        AgentState::Offered {
            call: CallId(2),
            direct: false
        }
    );
    // No answer: the agent is released (and takes call 3), the callback
    // waits for its retry and then comes first again.
    h.ok(Input::CallbackResult {
        call: CallId(2),
        answered: false,
    });
    assert_eq!(h.offers(), one("1001", 3));
    h.answer(3, "1001");
    h.advance(60.0);
    assert_eq!(
        h.r.call_info(CallId(2)).unwrap().status,
        CallStatus::CallbackWaiting
    );
    h.join(4, "q", 0, "");
    h.finish(3);
    let out = h.drain();
    assert!(out.iter().any(|o| matches!(
        o,
        Output::StartCallback {
            call: CallId(2),
            ..
        }
    )));
    h.ok(Input::CallbackResult {
        call: CallId(2),
        answered: true,
    });
    assert_eq!(
        h.state("1001"),
        AgentState::OnCall {
            call: CallId(2),
            direct: false
        }
    );
    // A second unanswered attempt ends the callback.
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.answer(1, "1001");
    h.join(2, "q", 0, "");
    h.ok(Input::CallbackRequested {
        call: CallId(2),
        number: "9".into(),
    });
    h.finish(1);
    h.advance(30.0); // dial timeout = unanswered
    h.advance(60.0);
    h.advance(30.0);
    assert!(h
        .drain()
        .contains(&Output::CallbackFailed { call: CallId(2) }));
    assert!(h.r.call_info(CallId(2)).is_none());
    assert_eq!(h.state("1001"), AgentState::Available);
}

#[test]
fn callback_refused_where_disabled() {
    let cfg = config(&[("s: 1", "")], Q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.answer(1, "1001");
    h.join(2, "q", 0, "");
    assert_eq!(
        h.r.handle(
            h.now,
            Input::CallbackRequested {
                call: CallId(2),
                number: "1".into()
            }
        ),
        Err(RouterError::CallbackDisabled("q".into()))
    );
}

#[test]
fn unreachable_agents_are_never_offered_and_come_back_to_their_state() {
    let q = "queues:\n  q:\n    skills: { s: 1 }\n  r:\n    skills: { t: 1 }\n";
    let cfg = config(&[("s: 1", ""), ("s: 1", ""), ("s: 1, t: 1", "")], q);
    let mut h = H::online(&cfg);
    // 1003 is busy in another queue, but staffs this one.
    h.join(10, "r", 0, "");
    h.answer(10, "1003");
    h.drain();
    h.ok(Input::AgentUnreachable {
        agent: "1001".into(),
    });
    assert_eq!(h.state("1001"), AgentState::Unreachable);
    for call in 1..=3 {
        h.join(call, "q", 0, "");
    }
    assert_eq!(h.offers(), one("1002", 1));
    // 1002's phone lapses while ringing: the offer is withdrawn and the
    // caller keeps its place (first in line).
    h.ok(Input::AgentUnreachable {
        agent: "1002".into(),
    });
    let out = h.drain();
    assert!(out.contains(&Output::CancelOffer {
        call: CallId(1),
        agent: "1002".into()
    }));
    assert_eq!(h.r.call_info(CallId(1)).unwrap().position, Some(1));
    // Paused before the lapse: paused after it.
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Pause { reason: "x".into() },
    });
    h.ok(Input::AgentRegistered {
        agent: "1001".into(),
    });
    assert_eq!(h.state("1001"), AgentState::Paused { reason: "x".into() });
    h.ok(Input::AgentRegistered {
        agent: "1002".into(),
    });
    assert_eq!(h.offers(), one("1002", 1));
}

#[test]
fn commands_during_a_call_apply_after_wrap_up() {
    let cfg = config(&[("s: 1", ""), ("s: 1", "")], Q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.answer(1, "1001");
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Pause {
            reason: "lunch".into(),
        },
    });
    assert_eq!(
        h.state("1001"),
        AgentState::OnCall {
            call: CallId(1),
            direct: false
        }
    );
    h.finish(1);
    assert_eq!(
        h.state("1001"),
        AgentState::Paused {
            reason: "lunch".into()
        }
    );
    // Pausing while logged out is refused by the transition check.
    h.ok(Input::AgentCommand {
        agent: "1002".into(),
        command: Command::Logout,
    });
    let e =
        h.r.handle(
            h.now,
            Input::AgentCommand {
                agent: "1002".into(),
                command: Command::Pause { reason: "x".into() },
            },
        )
        .unwrap_err();
    assert!(matches!(e, RouterError::Transition(_)), "{e}");
    // Feature codes toggle.
    let cmd = Command::from_feature_code(FEATURE_LOGIN_TOGGLE, &h.state("1002")).unwrap();
    h.ok(Input::AgentCommand {
        agent: "1002".into(),
        command: cmd,
    });
    assert_eq!(h.state("1002"), AgentState::Available);
}

#[test]
fn announcements_give_position_and_estimate() {
    let q = "queues:\n  q:\n    skills: { s: 1 }\n    announce_every: 30s\n    wrap_up: 0s\n";
    let cfg = config(&[("s: 1", ""), ("s: 1", "")], q);
    let mut h = H::online(&cfg);
    h.join(1, "q", 0, "");
    h.join(2, "q", 0, "");
    h.answer(1, "1001");
    h.answer(2, "1002");
    h.advance(60.0);
    h.finish(1); // one handle time: 60 s talk + 0 s wrap-up
    h.join(3, "q", 0, "");
    h.answer(3, "1001");
    h.join(4, "q", 0, "");
    h.join(5, "q", 0, "");
    h.drain();
    h.advance(30.0);
    let ann: Vec<_> = h
        .drain()
        .into_iter()
        .filter(|o| matches!(o, Output::Announce { .. }))
        .collect();
    // Average handle time 60 s, two agents staffed.
    let aht = secs(60.0);
    assert_eq!(
        ann,
        vec![
            Output::Announce {
                call: CallId(4),
                position: 1,
                estimated_wait: aht / 2
            },
            Output::Announce {
                call: CallId(5),
                position: 2,
                estimated_wait: aht
            },
        ]
    );
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let cfg = config(&[("s: 1", "")], Q);
    let mut h = H::online(&cfg);
    let now = h.now;
    assert_eq!(
        h.r.handle(
            now,
            Input::CallJoins {
                call: CallId(1),
                queue: "nope".into(),
                priority: 200,
                language: String::new(),
                skills: vec![],
                vars: BTreeMap::new()
            }
        ),
        Err(RouterError::UnknownQueue("nope".into()))
    );
    assert_eq!(
        h.r.handle(now, Input::CallLeft { call: CallId(9) }),
        Err(RouterError::UnknownCall(CallId(9)))
    );
    assert_eq!(
        h.r.handle(now, Input::AgentRegistered { agent: "77".into() }),
        Err(RouterError::UnknownAgent("77".into()))
    );
    h.join(1, "q", 200, ""); // priority is clamped, not a panic
    assert_eq!(
        h.r.handle(now, Input::CallEnded { call: CallId(1) }),
        Ok(())
    );
}

fn direct(agent: &str, call: CallId) -> Input {
    Input::DirectCall {
        agent: agent.into(),
        call,
    }
}

fn direct_answered(agent: &str, call: CallId) -> Input {
    Input::DirectAnswered {
        agent: agent.into(),
        call,
    }
}

fn direct_ended(agent: &str, call: CallId) -> Input {
    Input::DirectEnded {
        agent: agent.into(),
        call,
    }
}

/// A call to an agent's own extension holds the agent (offered, then on a
/// call) outside the queues: no queue offer meanwhile, no wrap-up after,
/// and a pause asked for during it is kept.
#[test]
fn a_direct_call_holds_the_agent_and_keeps_its_pause() {
    let q =
        "queues:\n  q:\n    skills: { s: 1 }\n    wrap_up: 30s\n    when_empty: { flow: sorry }\n";
    let cfg = config(&[("s: 1", "")], q);
    let mut h = H::online(&cfg);
    let d = CallId(50);
    h.ok(direct("1001", d));
    let offered = AgentState::Offered {
        call: d,
        direct: true,
    };
    assert_eq!(h.state("1001"), offered);
    assert_eq!(offered.to_string(), "offered (call-50, direct)");
    // A queue caller waits (the agent still staffs the queue) and is not
    // offered to the ringing agent.
    h.join(1, "q", 0, "");
    assert_eq!(h.offers(), vec![]);
    assert_eq!(
        h.r.call_info(CallId(1)).map(|i| i.status),
        Some(CallStatus::Waiting)
    );
    // Only the call it rings with can be answered.
    assert!(matches!(
        h.r.handle(h.now, direct_answered("1001", CallId(51))),
        Err(RouterError::NotOffered { .. })
    ));
    h.ok(direct_answered("1001", d));
    assert_eq!(
        h.state("1001"),
        AgentState::OnCall {
            call: d,
            direct: true
        }
    );
    // A second direct call, or a queue's, finds it busy.
    assert!(matches!(
        h.r.handle(h.now, direct("1001", d)),
        Err(RouterError::Transition(_))
    ));
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Pause {
            reason: "lunch".into(),
        },
    });
    h.advance(5.0);
    h.ok(direct_ended("1001", d));
    // Straight to its pause: no wrap-up after a direct call.
    assert_eq!(
        h.state("1001"),
        AgentState::Paused {
            reason: "lunch".into()
        }
    );
    assert_eq!(h.offers(), vec![]);
    // Ending it again changes nothing.
    h.ok(direct_ended("1001", d));
    assert_eq!(h.drain(), vec![]);
}

/// An attended transfer hands the agent's direct call over to the caller
/// of the transferring agent's queue call: the agent stays on the call, now
/// the caller's, and that call's end is what frees it.
#[test]
fn a_direct_call_handed_over_keeps_the_agent_on_it() {
    let cfg = config(&[("s: 1", ""), ("s: 1", "")], Q);
    let mut h = H::online(&cfg);
    // 1001 talks to queue caller 1 and consults 1002 on direct call 50.
    h.join(1, "q", 0, "");
    let first = h.offers()[0].1[0].clone();
    let other = if first == "1001" { "1002" } else { "1001" };
    h.ok(Input::OfferAnswered {
        call: CallId(1),
        agent: first.clone(),
    });
    let consult = CallId(50);
    h.ok(direct(other, consult));
    h.ok(direct_answered(other, consult));
    h.ok(Input::CallEnded { call: CallId(1) });
    h.drain();
    // Only the agent holding that call can hand it over, and not to a
    // caller still in a queue.
    let hand = |agent: &str, from: u64, to: u64| Input::DirectHandedOver {
        agent: agent.into(),
        from: CallId(from),
        to: CallId(to),
    };
    assert!(matches!(
        h.r.handle(h.now, hand(&first, 50, 1)),
        Err(RouterError::NotOffered { .. })
    ));
    h.join(2, "q", 0, "");
    assert_eq!(
        h.r.handle(h.now, hand(other, 50, 2)),
        Err(RouterError::AlreadyQueued(CallId(2)))
    );
    h.ok(hand(other, 50, 1));
    let on_call = AgentState::OnCall {
        call: CallId(1),
        direct: true,
    };
    assert_eq!(h.state(other), on_call);
    // The old id no longer ends it; the new one does, with no wrap-up.
    h.ok(direct_ended(other, consult));
    assert_eq!(h.state(other), on_call);
    h.ok(direct_ended(other, CallId(1)));
    // Free again, it takes the caller who waits.
    assert_eq!(
        h.state(other),
        AgentState::Offered {
            call: CallId(2),
            direct: false
        }
    );
}

/// An unanswered direct call puts an available agent back where it was,
/// and it takes the waiting caller at once.
#[test]
fn after_an_unanswered_direct_call_the_agent_takes_the_queue_again() {
    let cfg = config(&[("s: 1", "")], Q);
    let mut h = H::online(&cfg);
    let d = CallId(50);
    h.ok(direct("1001", d));
    h.join(1, "q", 0, "");
    assert_eq!(h.offers(), vec![]);
    h.ok(direct_ended("1001", d));
    assert_eq!(h.offers(), one("1001", 1));
    // A queue's caller cannot be rung as a direct call.
    h.join(2, "q", 0, "");
    assert_eq!(
        h.r.handle(h.now, direct("1001", CallId(2))),
        Err(RouterError::AlreadyQueued(CallId(2)))
    );
}

/// A paused or logged-out agent takes a call to its extension too, without
/// staffing any queue meanwhile, and goes back to its pause or logout.
#[test]
fn a_paused_agent_on_a_direct_call_staffs_no_queue() {
    let q = "queues:\n  q:\n    skills: { s: 1 }\n    when_empty: { flow: sorry }\n";
    let cfg = config(&[("s: 1", "")], q);
    let mut h = H::online(&cfg);
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Pause {
            reason: "break".into(),
        },
    });
    let d = CallId(50);
    h.ok(direct("1001", d));
    h.ok(direct_answered("1001", d));
    h.drain();
    let empty = |call| Output::Overflow {
        call: CallId(call),
        from: "q".into(),
        target: OverflowTarget::Flow("sorry".into()),
        reason: OverflowReason::Empty,
    };
    h.join(1, "q", 0, "");
    assert_eq!(h.drain(), vec![empty(1)]);
    // Unpausing during the direct call staffs the queue again (callers
    // wait), and the agent is available, and offered, once it is over.
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Unpause,
    });
    h.join(2, "q", 0, "");
    assert_eq!(h.offers(), vec![]);
    h.ok(direct_ended("1001", d));
    assert_eq!(h.offers(), one("1001", 2));
    // Logged out: rung, and logged out again after.
    h.answer(2, "1001");
    h.ok(Input::AgentCommand {
        agent: "1001".into(),
        command: Command::Logout,
    });
    h.finish(2);
    assert_eq!(h.state("1001"), AgentState::LoggedOut);
    h.ok(direct("1001", CallId(51)));
    h.ok(direct_ended("1001", CallId(51)));
    assert_eq!(h.state("1001"), AgentState::LoggedOut);
    // Unreachable or in wrap-up: refused (the caller goes to the mailbox).
    h.ok(Input::AgentUnreachable {
        agent: "1001".into(),
    });
    assert!(matches!(
        h.r.handle(h.now, direct("1001", CallId(52))),
        Err(RouterError::Transition(_))
    ));
}
