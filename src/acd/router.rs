//! The router: every queue and agent decision, in one sans-IO state machine.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use compact_str::CompactString;

use crate::config::queues::{AgentPolicy, MissRule, OverflowTarget, Strategy};
use crate::config::Config;

use super::agent::{
    check_transition, AgentState, Command, IllegalTransition, Rest, PAUSE_BUSY, PAUSE_NO_ANSWER,
    PAUSE_UNREACHABLE,
};
use super::estimate::{estimate_wait, HandleTimes, Line};
use super::queue::*;
use super::waiting::Waiting;
use super::{
    CallId, CallInfo, CallStatus, Input, Output, OverflowReason, QueueStats, RejectReason,
    RouterError,
};

/// Overflows one call may take before the router stops moving it between
/// queues (config checks refuse immediate loops; this guards the rest).
const MAX_HOPS: u8 = 16;
/// Floor for periodic timers, so an unvalidated zero can never spin.
const MIN_PERIOD: Duration = Duration::from_millis(1);
/// Far-future stand-in when `now + duration` does not fit in an `Instant`.
const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);

mod agents;
mod inputs;
mod routing;
mod timers;

fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

/// The automatic call distributor. See the [module docs](super).
pub struct Router {
    epoch: Instant,
    policy: AgentPolicy,
    agents: Vec<Agent>,
    /// Inline keys: an agent input's lookup compares bytes in the table, not
    /// a string on the heap (a cache miss per input at 10,000 agents).
    by_ext: FastMap<CompactString, AgentIdx>,
    queues: Vec<Queue>,
    queue_ix: FastMap<String, QueueIdx>,
    /// Interned skill names and languages (lower case), one id space.
    skill_ix: FastMap<CompactString, SkillId>,
    lang_ix: FastMap<CompactString, SkillId>,
    /// The names of `skill_ix` and `lang_ix` by id.
    names: Vec<String>,
    groups: Vec<Group>,
    group_ix: FastMap<(QueueIdx, Option<SkillId>, Vec<SkillId>), GroupIdx>,
    /// `group_ix` for callers without extra skills (nearly all; a join
    /// looks it up), keyed by queue and language (or `NO_LANGUAGE`).
    plain_group_ix: FastMap<(QueueIdx, SkillId), GroupIdx>,
    classes: Vec<Class>,
    callers: Callers,
    timers: Timers,
    out: VecDeque<Output>,
    seq: u64,
    /// Callers to route, by slot (checked against the call: a slot may be
    /// reused before its turn comes).
    dirty_callers: VecDeque<(u32, CallId)>,
    dirty_agents: VecDeque<AgentIdx>,
    /// Widest classes whose staff fell to zero: their callers may be stranded.
    emptied: Vec<ClassIdx>,
    /// Agents that became available and are not in their classes' free sets
    /// yet (their `unsorted` flag is set). Most free agents are offered a
    /// caller at once, which needs no free set: inserting into the sets of
    /// the agent's 10–18 classes and removing again would be most of the cost
    /// of the offer. `candidate` looks at these agents beside the sets;
    /// ring-all calls `sort_free_for` first.
    unsorted: Vec<AgentIdx>,
}

impl Router {
    /// Builds the router from the agents, queues and policy of `config`.
    /// Agents start unreachable until their phones register.
    pub fn new(now: Instant, config: &Config) -> Router {
        let mut r = Router {
            epoch: now,
            policy: config.agent_policy.clone(),
            agents: Vec::new(),
            by_ext: FastMap::default(),
            queues: Vec::new(),
            queue_ix: FastMap::default(),
            skill_ix: FastMap::default(),
            lang_ix: FastMap::default(),
            names: Vec::new(),
            groups: Vec::new(),
            group_ix: FastMap::default(),
            plain_group_ix: FastMap::default(),
            classes: Vec::new(),
            callers: Callers::default(),
            timers: Timers::default(),
            out: VecDeque::new(),
            seq: 0,
            dirty_callers: VecDeque::new(),
            dirty_agents: VecDeque::new(),
            emptied: Vec::new(),
            unsorted: Vec::new(),
        };
        let rest = if config.agent_policy.auto_login {
            Rest::Available
        } else {
            Rest::LoggedOut
        };
        for a in &config.agents {
            if r.by_ext.contains_key(a.extension.as_str()) {
                continue; // refused by config checks; first one wins
            }
            let mut levels = Vec::new();
            for (s, &l) in &a.skills {
                let id = r.skill(false, s) as usize;
                if levels.len() <= id {
                    levels.resize(id + 1, 0);
                }
                levels[id] = l.min(10);
            }
            for lang in &a.languages {
                let id = r.skill(true, lang) as usize;
                if levels.len() <= id {
                    levels.resize(id + 1, 0);
                }
                levels[id] = 10;
            }
            let idx = r.agents.len() as AgentIdx;
            r.by_ext.insert(CompactString::from(&a.extension), idx);
            r.agents.push(Agent {
                ext: Arc::from(a.extension.as_str()),
                levels,
                state: AgentState::Unreachable,
                registered: false,
                rest: rest.clone(),
                idle_since: now,
                calls: 0,
                misses: [0; 3],
                classes: Vec::new(),
                unsorted: false,
            });
        }
        for (name, q) in &config.queues {
            let base = q
                .skills
                .iter()
                .map(|(s, &l)| (r.skill(false, s), l.clamp(1, 10)))
                .collect();
            let preferred = q.preferred.iter().map(|s| r.skill(false, s)).collect();
            let steps = q
                .widen
                .iter()
                // A caller's stage is a u16; no real queue comes near.
                .take(u16::MAX as usize - 1)
                .map(|w| Stage {
                    after: w.after,
                    skills: w
                        .skills
                        .iter()
                        .map(|(s, &l)| (r.skill(false, s), l.min(10)))
                        .collect(),
                    any_language: w.any_language,
                })
                .collect();
            let idx = r.queues.len() as QueueIdx;
            r.queue_ix.insert(name.clone(), idx);
            r.queues.push(Queue {
                name: Arc::from(name.as_str()),
                when_empty: q
                    .when_empty
                    .clone()
                    .unwrap_or_else(|| OverflowTarget::Voicemail(name.clone())),
                cfg: q.clone(),
                base,
                preferred,
                steps,
                lines: (0..PRIORITIES).map(|_| Line::default()).collect(),
                len: 0,
                callbacks: 0,
                handle: HandleTimes::default(),
                rr_last: None,
            });
        }
        r
    }

    /// Handles one input at `now`. Timers already due run first, so a late
    /// `Timeout` never reorders events.
    pub fn handle(&mut self, now: Instant, input: Input) -> Result<(), RouterError> {
        let mut result = self.fire_timers(now);
        if result.is_ok() {
            result = self.input(now, input);
        }
        // Settle even after a refused input: work queued by due timers must
        // not wait for the next event.
        let settled = self.settle(now);
        self.prune_timers();
        result.and(settled)
    }

    /// Convenience for [`Input::AgentCommand`] (feature codes, admin API).
    pub fn agent_command(
        &mut self,
        now: Instant,
        ext: &str,
        command: Command,
    ) -> Result<(), RouterError> {
        self.handle(
            now,
            Input::AgentCommand {
                agent: ext.to_string(),
                command,
            },
        )
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next instant at which `Timeout` must be fed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|e| e.at)
    }

    pub fn agent_state(&self, ext: &str) -> Option<&AgentState> {
        self.by_ext
            .get(ext)
            .map(|&a| &self.agents[a as usize].state)
    }

    /// Where a busy agent (offered, on a call, in wrap-up) goes when it is
    /// done: available, or the pause or log-out it asked for meanwhile.
    /// `None` for an agent that is not busy.
    pub fn agent_after_call(&self, ext: &str) -> Option<AgentState> {
        let a = &self.agents[*self.by_ext.get(ext)? as usize];
        matches!(
            a.state,
            AgentState::Offered { .. } | AgentState::OnCall { .. } | AgentState::WrapUp { .. }
        )
        .then(|| a.rest.state())
    }

    /// Every agent in configuration order.
    pub fn agents(&self) -> impl Iterator<Item = (&str, &AgentState)> {
        self.agents.iter().map(|a| (&*a.ext, &a.state))
    }

    /// The slot of a caller the router holds, or `UnknownCall`.
    fn known_slot(&self, call: CallId) -> Result<u32, RouterError> {
        self.callers
            .slot(&call)
            .ok_or(RouterError::UnknownCall(call))
    }

    pub fn call_info(&self, call: CallId) -> Option<CallInfo> {
        let slot = self.callers.slot(&call)?;
        let c = self.callers.at(slot)?;

        let ext = |a: &AgentIdx| self.agents[*a as usize].ext.clone();
        let status = match &c.state {
            CState::Waiting if c.callback.is_some() => CallStatus::CallbackWaiting,
            CState::Waiting => CallStatus::Waiting,
            CState::Offered(ags) => CallStatus::Offered {
                agents: ags.iter().map(ext).collect(),
            },
            CState::Dialing(a) => CallStatus::CallbackDialing { agent: ext(a) },
            CState::Retry => CallStatus::CallbackRetry,
            CState::Connected { agent, .. } => CallStatus::Connected { agent: ext(agent) },
        };
        let position = match c.state {
            CState::Connected { .. } => None,
            _ => Some(self.position(c)),
        };
        Some(CallInfo {
            queue: self.queues[c.queue as usize].name.clone(),
            priority: c.priority,
            language: self
                .names
                .get(c.language as usize)
                .cloned()
                .unwrap_or_default(),
            vars: c.cold.as_ref().map(|x| x.vars.clone()).unwrap_or_default(),
            status,
            position,
            callback: c.callback.as_ref().map(|cb| cb.number.clone()),
        })
    }

    pub fn queue_stats(&self, queue: &str) -> Option<QueueStats> {
        let q = &self.queues[*self.queue_ix.get(queue)? as usize];
        Some(QueueStats {
            callers: q.len,
            callbacks: q.callbacks,
            average_handle_time: q.handle.average(),
        })
    }

    /// Queue names in configuration order (the wallboard's rows).
    pub fn queue_names(&self) -> impl Iterator<Item = &str> {
        self.queues.iter().map(|q| &*q.name)
    }

    /// Agents whose skills meet `queue`'s required levels before any
    /// widening (languages aside): the queue's own team, in configuration order.
    pub fn queue_agents<'a>(&'a self, queue: &str) -> impl Iterator<Item = &'a str> + 'a {
        let base = self
            .queue_ix
            .get(queue)
            .map(|&q| &self.queues[q as usize].base);
        self.agents
            .iter()
            .filter(move |a| base.is_some_and(|b| b.iter().all(|(&s, &l)| a.level(s) >= l)))
            .map(|a| &*a.ext)
    }

    /// The queue configuration by name (ring timeout, survey, recording).
    pub fn queue_config(&self, queue: &str) -> Option<&crate::config::queues::QueueConfig> {
        self.queue_ix
            .get(queue)
            .map(|&q| &self.queues[q as usize].cfg)
    }
}

/// What a caller carries from one queue to the next on overflow.
struct Moved {
    priority: u8,
    language: SkillId,
    skills: Vec<String>,
    vars: BTreeMap<String, String>,
    hops: u8,
}

/// The agent's place in a class's free set under the queue's strategy.
fn rank(epoch: Instant, agent: &Agent, a: AgentIdx, class: &Class) -> RankKey {
    match class.strategy {
        Strategy::LongestIdle | Strategy::RingAll => (0, agent.idle_since, a),
        Strategy::LeastCalls => (agent.calls, agent.idle_since, a),
        Strategy::BestSkill => {
            let score: u64 = class
                .req
                .iter()
                .map(|&(s, _)| agent.level(s) as u64)
                .chain(class.preferred.iter().map(|&s| agent.level(s) as u64))
                .sum();
            (u64::MAX - score, agent.idle_since, a)
        }
        Strategy::RoundRobin => (0, epoch, a),
    }
}
