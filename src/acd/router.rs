//! The router: every queue and agent decision, in one sans-IO state machine.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::queues::{AgentPolicy, MissRule, OverflowTarget, Strategy};
use crate::config::Config;

use super::agent::{
    check_transition, AgentState, Command, IllegalTransition, Rest, PAUSE_BUSY, PAUSE_NO_ANSWER,
    PAUSE_UNREACHABLE,
};
use super::estimate::{estimate_wait, HandleTimes, Line};
use super::queue::*;
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
    by_ext: FastMap<String, AgentIdx>,
    queues: Vec<Queue>,
    queue_ix: FastMap<String, QueueIdx>,
    /// Interned skill names and languages (lower case), one id space.
    skill_ix: FastMap<String, SkillId>,
    lang_ix: FastMap<String, SkillId>,
    groups: Vec<Group>,
    group_ix: FastMap<(QueueIdx, Option<SkillId>, Vec<SkillId>), GroupIdx>,
    classes: Vec<Class>,
    callers: Callers,
    timers: Timers,
    out: VecDeque<Output>,
    seq: u64,
    dirty_callers: VecDeque<CallId>,
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
            groups: Vec::new(),
            group_ix: FastMap::default(),
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
            if r.by_ext.contains_key(&a.extension) {
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
            r.by_ext.insert(a.extension.clone(), idx);
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
        self.timers.peek().map(|(at, ..)| at)
    }

    pub fn agent_state(&self, ext: &str) -> Option<&AgentState> {
        self.by_ext
            .get(ext)
            .map(|&a| &self.agents[a as usize].state)
    }

    /// Every agent in configuration order.
    pub fn agents(&self) -> impl Iterator<Item = (&str, &AgentState)> {
        self.agents.iter().map(|a| (&*a.ext, &a.state))
    }

    pub fn call_info(&self, call: CallId) -> Option<CallInfo> {
        let c = self.callers.get(&call)?;
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
            language: c.language.clone(),
            vars: c.vars.clone(),
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

    // ----- inputs -------------------------------------------------------

    fn input(&mut self, now: Instant, input: Input) -> Result<(), RouterError> {
        match input {
            Input::CallJoins {
                call,
                queue,
                priority,
                language,
                skills,
                vars,
            } => {
                let &q = self
                    .queue_ix
                    .get(&queue)
                    .ok_or(RouterError::UnknownQueue(queue))?;
                if self.callers.contains_key(&call) {
                    return Err(RouterError::AlreadyQueued(call));
                }
                let mut language = language;
                language.make_ascii_lowercase();
                self.join(now, call, q, priority, language, skills, vars, 0)
            }
            Input::CallLeft { call } | Input::CallEnded { call } => self.call_gone(now, call),
            Input::OfferAnswered { call, agent } => self.answered(now, call, &agent),
            Input::OfferRejected {
                call,
                agent,
                reason,
            } => self.rejected(now, call, &agent, reason),
            Input::AgentRegistered { agent } => {
                let a = self.agent_idx(&agent)?;
                self.registered(now, a)
            }
            Input::AgentUnreachable { agent } => {
                let a = self.agent_idx(&agent)?;
                self.unreachable(now, a)
            }
            Input::AgentCommand { agent, command } => {
                let a = self.agent_idx(&agent)?;
                self.command(now, a, command)
            }
            Input::CallbackRequested { call, number } => self.callback_requested(now, call, number),
            Input::CallbackResult { call, answered } => self.callback_result(now, call, answered),
            Input::Timeout => Ok(()),
        }
    }

    fn agent_idx(&self, ext: &str) -> Result<AgentIdx, RouterError> {
        self.by_ext
            .get(ext)
            .copied()
            .ok_or_else(|| RouterError::UnknownAgent(ext.to_string()))
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        now: Instant,
        call: CallId,
        q: QueueIdx,
        priority: u8,
        language: String,
        skills: Vec<String>,
        vars: BTreeMap<String, String>,
        hops: u8,
    ) -> Result<(), RouterError> {
        let queue = &self.queues[q as usize];
        let from = queue.name.clone();
        if hops > MAX_HOPS {
            self.out.push_back(Output::Overflow {
                call,
                from: from.clone(),
                target: OverflowTarget::Voicemail(from.to_string()),
                reason: OverflowReason::Loop,
            });
            return Ok(());
        }
        let mut offer_callback = false;
        if let Some(ml) = &queue.cfg.max_length {
            if queue.len >= ml.callers {
                match &ml.overflow {
                    OverflowTarget::Callback => offer_callback = true,
                    target => {
                        let target = target.clone();
                        let moved = Moved {
                            priority,
                            language,
                            skills,
                            vars,
                            hops,
                        };
                        return self.send_away(
                            now,
                            call,
                            from,
                            target,
                            OverflowReason::MaxLength,
                            moved,
                        );
                    }
                }
            }
        }
        let group = self.group_for(q, &language, &skills);
        let widest = *self.groups[group as usize].classes.last().unwrap_or(&0);
        if self.classes[widest as usize].staffed == 0 {
            let target = self.queues[q as usize].when_empty.clone();
            let moved = Moved {
                priority,
                language,
                skills,
                vars,
                hops,
            };
            return self.send_away(now, call, from, target, OverflowReason::Empty, moved);
        }
        let priority = priority.min((PRIORITIES - 1) as u8);
        self.seq += 1;
        let seq = self.seq;
        let callers = &mut self.callers;
        let queue = &mut self.queues[q as usize];
        let slot = queue.lines[priority as usize].push(call, |c, s| {
            if let Some(x) = callers.get_mut(&c) {
                x.slot = s;
            }
        });
        queue.len += 1;
        let class = self.groups[group as usize].classes[0];
        let caller = Caller {
            queue: q,
            group,
            stage: 0,
            class,
            priority,
            seq,
            slot,
            joined: now,
            language,
            skills,
            vars,
            state: CState::Waiting,
            callback: None,
            max_wait_due: false,
            hops,
            tried: Vec::new(),
        };
        self.classes[class as usize]
            .waiting
            .insert(caller.key(), call);
        let cslot = self.callers.insert(call, caller);
        let queue = &self.queues[q as usize];
        let widen_at = queue.steps.first().map(|s| after(now, s.after));
        let max_wait_at = queue.cfg.max_wait.as_ref().map(|m| after(now, m.after));
        let announce_at = queue
            .cfg
            .announce_every
            .map(|d| after(now, d.max(MIN_PERIOD)));
        self.set_timer_at(cslot, call, T_WIDEN, widen_at);
        self.set_timer_at(cslot, call, T_MAX_WAIT, max_wait_at);
        self.set_timer_at(cslot, call, T_ANNOUNCE, announce_at);
        if offer_callback {
            self.out.push_back(Output::Overflow {
                call,
                from,
                target: OverflowTarget::Callback,
                reason: OverflowReason::MaxLength,
            });
        }
        self.dirty_callers.push_back(call);
        Ok(())
    }

    /// The caller (already out of any queue) goes to `target`.
    fn send_away(
        &mut self,
        now: Instant,
        call: CallId,
        from: Arc<str>,
        target: OverflowTarget,
        reason: OverflowReason,
        moved: Moved,
    ) -> Result<(), RouterError> {
        self.out.push_back(Output::Overflow {
            call,
            from,
            target: target.clone(),
            reason,
        });
        if let OverflowTarget::Queue(name) = &target {
            if let Some(&q) = self.queue_ix.get(name) {
                return self.join(
                    now,
                    call,
                    q,
                    moved.priority,
                    moved.language,
                    moved.skills,
                    moved.vars,
                    moved.hops.saturating_add(1),
                );
            }
        }
        Ok(())
    }

    /// Moves a queued caller out of its queue to `target`; a callback target
    /// only asks the shell to offer one (the caller keeps its place).
    fn overflow(
        &mut self,
        now: Instant,
        call: CallId,
        target: OverflowTarget,
        reason: OverflowReason,
    ) -> Result<(), RouterError> {
        if target == OverflowTarget::Callback {
            if let Some(c) = self.callers.get(&call) {
                self.out.push_back(Output::Overflow {
                    call,
                    from: self.queues[c.queue as usize].name.clone(),
                    target,
                    reason,
                });
            }
            return Ok(());
        }
        let Some(c) = self.leave_queue(call) else {
            return Ok(());
        };
        let from = self.queues[c.queue as usize].name.clone();
        let moved = Moved {
            priority: c.priority,
            language: c.language,
            skills: c.skills,
            vars: c.vars,
            hops: c.hops,
        };
        self.send_away(now, call, from, target, reason, moved)
    }

    /// Removes a caller from every structure; agents are the caller's job.
    fn leave_queue(&mut self, call: CallId) -> Option<Caller> {
        // Its timers' entries go stale (see `timer_live`).
        let c = self.callers.remove(&call)?;
        if c.state == CState::Waiting {
            self.classes[c.class as usize].waiting.remove(&c.key());
        }
        if !matches!(c.state, CState::Connected { .. }) {
            let q = &mut self.queues[c.queue as usize];
            q.lines[c.priority as usize].remove(c.slot);
            q.len = q.len.saturating_sub(1);
            if c.callback.is_some() {
                q.callbacks = q.callbacks.saturating_sub(1);
            }
        }
        Some(c)
    }

    /// CallLeft or CallEnded: whatever the caller was doing, it is over, and
    /// no agent may stay offered or on call for it.
    fn call_gone(&mut self, now: Instant, call: CallId) -> Result<(), RouterError> {
        let state = self
            .callers
            .get(&call)
            .ok_or(RouterError::UnknownCall(call))?
            .state
            .clone();
        match state {
            CState::Connected { agent, since } => {
                let Some(c) = self.leave_queue(call) else {
                    return Ok(());
                };
                let wrap = self.queues[c.queue as usize].cfg.wrap_up;
                self.queues[c.queue as usize]
                    .handle
                    .record(now.saturating_duration_since(since) + wrap);
                let until = after(now, wrap);
                self.set_state(agent, AgentState::WrapUp { until })?;
                if until <= now {
                    self.rest_agent(now, agent, true)?;
                }
            }
            CState::Offered(agents) => {
                self.leave_queue(call);
                for a in agents {
                    self.cancel(call, a);
                    self.rest_agent(now, a, false)?;
                }
            }
            CState::Dialing(a) => {
                self.leave_queue(call);
                self.rest_agent(now, a, false)?;
            }
            CState::Waiting | CState::Retry => {
                self.leave_queue(call);
            }
        }
        Ok(())
    }

    fn answered(&mut self, now: Instant, call: CallId, ext: &str) -> Result<(), RouterError> {
        let a = self.agent_idx(ext)?;
        let not_offered = || RouterError::NotOffered {
            call,
            agent: ext.to_string(),
        };
        let c = self.callers.get_mut(&call).ok_or_else(not_offered)?;
        let CState::Offered(agents) = &c.state else {
            return Err(not_offered());
        };
        if !agents.contains(&a) {
            return Err(not_offered());
        }
        let others: Vec<AgentIdx> = agents.iter().copied().filter(|&x| x != a).collect();
        self.connect(now, call, a)?;
        for o in others {
            self.cancel(call, o);
            self.rest_agent(now, o, false)?;
        }
        Ok(())
    }

    /// Bridges the caller to `a` (offer answered, or callback answered).
    fn connect(&mut self, now: Instant, call: CallId, a: AgentIdx) -> Result<(), RouterError> {
        self.set_state(a, AgentState::OnCall { call })?;
        let agent = &mut self.agents[a as usize];
        agent.calls += 1;
        agent.misses = [0; 3];
        let Some(c) = self.callers.get_mut(&call) else {
            return Ok(());
        };
        // Connected callers leave the line (positions) but stay known until
        // the call ends, so the agent can be released then.
        let q = &mut self.queues[c.queue as usize];
        q.lines[c.priority as usize].remove(c.slot);
        q.len = q.len.saturating_sub(1);
        if c.callback.is_some() {
            q.callbacks = q.callbacks.saturating_sub(1);
        }
        c.state = CState::Connected {
            agent: a,
            since: now,
        };
        // All four deadlines cleared: one lookup, not one per kind.
        if let Some(slot) = self.callers.slot(&call) {
            self.callers.bump_all(slot);
        }
        Ok(())
    }

    fn rejected(
        &mut self,
        now: Instant,
        call: CallId,
        ext: &str,
        reason: RejectReason,
    ) -> Result<(), RouterError> {
        let a = self.agent_idx(ext)?;
        let not_offered = || RouterError::NotOffered {
            call,
            agent: ext.to_string(),
        };
        let c = self.callers.get_mut(&call).ok_or_else(not_offered)?;
        let CState::Offered(agents) = &mut c.state else {
            return Err(not_offered());
        };
        let Some(i) = agents.iter().position(|&x| x == a) else {
            return Err(not_offered());
        };
        agents.remove(i);
        let last = agents.is_empty();
        self.miss(now, a, reason)?;
        if last {
            self.requeue(now, call, vec![a])?;
        }
        Ok(())
    }

    /// Counts a miss against the agent's policy and puts it back to rest
    /// (paused when the rule says so).
    fn miss(&mut self, now: Instant, a: AgentIdx, reason: RejectReason) -> Result<(), RouterError> {
        let (kind, rule, why): (usize, MissRule, &str) = match reason {
            RejectReason::NoAnswer => (0, self.policy.no_answer, PAUSE_NO_ANSWER),
            RejectReason::Busy | RejectReason::Declined => (1, self.policy.busy, PAUSE_BUSY),
            RejectReason::Unreachable => (2, self.policy.unreachable, PAUSE_UNREACHABLE),
        };
        let agent = &mut self.agents[a as usize];
        agent.misses[kind] += 1;
        if rule.pause_after > 0 && agent.misses[kind] >= rule.pause_after {
            agent.misses = [0; 3];
            // A logout asked for while ringing still wins over the pause.
            if agent.rest != Rest::LoggedOut {
                agent.rest = Rest::Paused(why.to_string());
            }
        }
        self.rest_agent(now, a, true)
    }

    /// An offered caller whose offer failed goes back to its place.
    fn requeue(
        &mut self,
        now: Instant,
        call: CallId,
        tried: Vec<AgentIdx>,
    ) -> Result<(), RouterError> {
        let Some(c) = self.callers.get_mut(&call) else {
            return Ok(());
        };
        c.state = CState::Waiting;
        c.tried = tried;
        let (class, key, q, group, due, on_line) = (
            c.class,
            c.key(),
            c.queue,
            c.group,
            c.max_wait_due,
            c.callback.is_none(),
        );
        c.max_wait_due = false;
        self.set_timer(call, T_DEADLINE, None);
        self.classes[class as usize].waiting.insert(key, call);
        if on_line {
            if due {
                if let Some(mw) = self.queues[q as usize].cfg.max_wait.clone() {
                    let callback = mw.overflow == OverflowTarget::Callback;
                    self.overflow(now, call, mw.overflow, OverflowReason::MaxWait)?;
                    if !callback {
                        return Ok(());
                    }
                }
            }
            if self.widest_staffed(group) == 0 {
                let target = self.queues[q as usize].when_empty.clone();
                return self.overflow(now, call, target, OverflowReason::Empty);
            }
        }
        self.dirty_callers.push_back(call);
        Ok(())
    }

    fn widest_staffed(&self, group: GroupIdx) -> u32 {
        self.groups[group as usize]
            .classes
            .last()
            .map_or(0, |&c| self.classes[c as usize].staffed)
    }

    fn registered(&mut self, now: Instant, a: AgentIdx) -> Result<(), RouterError> {
        let agent = &mut self.agents[a as usize];
        if agent.registered {
            return Ok(());
        }
        agent.registered = true;
        if agent.state == AgentState::Unreachable {
            self.rest_agent(now, a, true)?;
        }
        // On a call or wrapping up: the end of the call decides.
        Ok(())
    }

    fn unreachable(&mut self, now: Instant, a: AgentIdx) -> Result<(), RouterError> {
        let agent = &mut self.agents[a as usize];
        agent.registered = false;
        match agent.state.clone() {
            AgentState::LoggedOut | AgentState::Available | AgentState::Paused { .. } => {
                self.set_state(a, AgentState::Unreachable)
            }
            AgentState::Offered { call } => {
                // The phone is gone: stop ringing it, give the caller its place
                // back (a registration lapse is not the agent's miss).
                let state = self.callers.get(&call).map(|c| c.state.clone());
                match state {
                    Some(CState::Offered(mut agents)) => {
                        agents.retain(|&x| x != a);
                        self.cancel(call, a);
                        self.rest_agent(now, a, false)?;
                        let empty = agents.is_empty();
                        if let Some(c) = self.callers.get_mut(&call) {
                            c.state = CState::Offered(agents);
                        }
                        if empty {
                            self.requeue(now, call, vec![a])?;
                        }
                    }
                    Some(CState::Dialing(_)) => {
                        self.rest_agent(now, a, false)?;
                        self.requeue(now, call, vec![a])?;
                    }
                    _ => self.rest_agent(now, a, false)?,
                }
                Ok(())
            }
            // The bridged call goes on; the end of it (or of wrap-up) looks
            // at `registered` again.
            AgentState::OnCall { .. } | AgentState::WrapUp { .. } | AgentState::Unreachable => {
                Ok(())
            }
        }
    }

    /// Login/logout/pause/unpause change where the agent rests; a resting,
    /// reachable agent moves there at once, a busy one after its call.
    fn command(&mut self, now: Instant, a: AgentIdx, cmd: Command) -> Result<(), RouterError> {
        let agent = &mut self.agents[a as usize];
        let refuse = |to: &'static str| {
            Err(RouterError::Transition(IllegalTransition {
                extension: agent.ext.to_string(),
                from: "logged-out",
                to,
            }))
        };
        let rest = match cmd {
            Command::Login => match agent.rest {
                Rest::LoggedOut => Rest::Available,
                _ => return Ok(()), // already logged in
            },
            Command::Logout => Rest::LoggedOut,
            Command::Pause { reason } => match agent.rest {
                Rest::LoggedOut => return refuse("paused"),
                _ => Rest::Paused(reason),
            },
            Command::Unpause => match agent.rest {
                Rest::LoggedOut => return refuse("available"),
                _ => Rest::Available,
            },
        };
        if rest == Rest::Available {
            agent.misses = [0; 3];
        }
        let changed = agent.rest != rest;
        agent.rest = rest;
        let resting = matches!(
            agent.state,
            AgentState::LoggedOut | AgentState::Available | AgentState::Paused { .. }
        );
        if changed && resting {
            self.rest_agent(now, a, true)?;
        }
        Ok(())
    }

    fn callback_requested(
        &mut self,
        now: Instant,
        call: CallId,
        number: String,
    ) -> Result<(), RouterError> {
        let c = self
            .callers
            .get_mut(&call)
            .ok_or(RouterError::UnknownCall(call))?;
        let q = c.queue;
        if !self.queues[q as usize].cfg.callback_enabled() {
            return Err(RouterError::CallbackDisabled(
                self.queues[q as usize].name.to_string(),
            ));
        }
        match c.state.clone() {
            CState::Waiting => {
                if let Some(cb) = &mut c.callback {
                    cb.number = number; // a corrected number, same place
                    return Ok(());
                }
                c.callback = Some(Callback {
                    number,
                    attempts: 0,
                });
            }
            CState::Offered(agents) if c.callback.is_none() => {
                c.callback = Some(Callback {
                    number,
                    attempts: 0,
                });
                for a in agents {
                    self.cancel(call, a);
                    self.rest_agent(now, a, false)?;
                }
                self.requeue(now, call, Vec::new())?;
            }
            _ => return Err(RouterError::NotWaiting(call)),
        }
        self.queues[q as usize].callbacks += 1;
        // Off the line: no announcements, and max_wait (time on hold) no
        // longer applies. Widening goes on.
        self.set_timer(call, T_ANNOUNCE, None);
        self.set_timer(call, T_MAX_WAIT, None);
        if let Some(c) = self.callers.get_mut(&call) {
            c.max_wait_due = false;
        }
        self.dirty_callers.push_back(call);
        Ok(())
    }

    fn callback_result(
        &mut self,
        now: Instant,
        call: CallId,
        answered: bool,
    ) -> Result<(), RouterError> {
        let c = self
            .callers
            .get(&call)
            .ok_or(RouterError::UnknownCall(call))?;
        let CState::Dialing(a) = c.state else {
            return Err(RouterError::NoCallback(call));
        };
        if answered {
            self.connect(now, call, a)
        } else {
            self.callback_failed_attempt(now, call, a)
        }
    }

    fn callback_failed_attempt(
        &mut self,
        now: Instant,
        call: CallId,
        a: AgentIdx,
    ) -> Result<(), RouterError> {
        // The customer did not answer: not the agent's miss.
        self.rest_agent(now, a, false)?;
        let Some(c) = self.callers.get_mut(&call) else {
            return Ok(());
        };
        let cfg = self.queues[c.queue as usize].cfg.callback.clone();
        let (max, delay) = cfg.map_or((1, Duration::ZERO), |cb| (cb.max_attempts, cb.retry_delay));
        let attempts = c.callback.as_mut().map_or(u32::MAX, |cb| {
            cb.attempts += 1;
            cb.attempts
        });
        if attempts >= max {
            self.leave_queue(call);
            self.out.push_back(Output::CallbackFailed { call });
        } else {
            c.state = CState::Retry;
            self.set_timer(call, T_DEADLINE, Some(after(now, delay)));
        }
        Ok(())
    }

    // ----- timers -------------------------------------------------------

    fn set_timer(&mut self, call: CallId, kind: u8, at: Option<Instant>) {
        if let Some(slot) = self.callers.slot(&call) {
            self.set_timer_at(slot, call, kind, at);
        }
    }

    /// `set_timer` for the caller known to be in `slot`.
    fn set_timer_at(&mut self, slot: u32, call: CallId, kind: u8, at: Option<Instant>) {
        // A replaced deadline's entry goes stale (see `timer_live`).
        let gen = self.callers.bump(slot, kind);
        let (Some(at), Some(c)) = (at, self.callers.at(slot)) else {
            return;
        };
        // One lane per queue and source of deadline (see `Timers`).
        let source = match kind {
            T_MAX_WAIT => 0,
            T_ANNOUNCE => 1,
            T_WIDEN => 5 + c.stage.min(10),
            _ => match c.state {
                CState::Dialing(_) => 3,
                CState::Retry => 4,
                _ => 2,
            },
        };
        let lane = 1 + c.queue as usize * 16 + source;
        self.timers
            .push(lane, (at, Timer::Caller(call, kind), slot, gen));
    }

    /// Whether a heap entry is still a pending deadline: the agent is still
    /// in this wrap-up, or the caller's deadline has not been set, cleared or
    /// fired since (its generation is unchanged).
    fn timer_live(&self, &(at, timer, slot, gen): &TimerEntry) -> bool {
        match timer {
            Timer::WrapUp(a) => self.agents[a as usize].state == AgentState::WrapUp { until: at },
            Timer::Caller(_, kind) => self.callers.is_current(slot, kind, gen),
        }
    }

    /// Drops stale entries from the top (so `poll_timeout` is exact), and
    /// all of them once the heap holds more entries than there can be live
    /// deadlines (4 per caller, 1 per agent): memory stays in proportion to
    /// the callers, and each rebuild is paid for by as many pushes.
    fn prune_timers(&mut self) {
        while let Some(entry) = self.timers.peek() {
            if self.timer_live(&entry) {
                break;
            }
            self.timers.pop();
        }
        let bound = 2 * (4 * self.callers.len() + self.agents.len()) + 1024;
        if self.timers.len() > bound {
            let mut timers = std::mem::take(&mut self.timers);
            timers.compact(|e| self.timer_live(e));
            self.timers = timers;
        }
    }

    fn fire_timers(&mut self, now: Instant) -> Result<(), RouterError> {
        while let Some(entry) = self.timers.peek() {
            let (at, timer, slot, _) = entry;
            if at > now {
                break;
            }
            self.timers.pop();
            if !self.timer_live(&entry) {
                continue;
            }
            match timer {
                // Exactly at `until`, never before (asterisk #1006).
                Timer::WrapUp(a) => self.rest_agent(at, a, true)?,
                Timer::Caller(call, kind) => {
                    // Fired: a duplicate entry for the same instant is stale.
                    self.callers.bump(slot, kind);
                    self.caller_timer(at, call, slot, kind)?;
                }
            }
            // Stale entries must not hide the next live deadline's instant.
            self.prune_timers();
            // Each deadline's consequences settle before the next deadline,
            // exactly as if the shell had woken at each one; timers due at the
            // same instant all apply first (two callers widening together must
            // compete by priority, not by which timer came out first).
            if self.timers.peek().is_none_or(|(next, ..)| next != at) {
                self.settle(at)?;
            }
        }
        Ok(())
    }

    /// A live deadline of `call`, which is in `slot`.
    fn caller_timer(
        &mut self,
        now: Instant,
        call: CallId,
        slot: u32,
        kind: u8,
    ) -> Result<(), RouterError> {
        let Some(c) = self.callers.at(slot) else {
            return Ok(());
        };
        match kind {
            T_WIDEN => {
                let group = &self.groups[c.group as usize];
                if c.stage + 1 >= group.classes.len() {
                    return Ok(());
                }
                let stage = c.stage + 1;
                let (old, new) = (c.class, group.classes[stage]);
                let next = self.queues[c.queue as usize]
                    .steps
                    .get(stage)
                    .map(|s| after(c.joined, s.after));
                if c.state == CState::Waiting {
                    // Same key in the wider class: the caller keeps its place.
                    let key = c.key();
                    self.classes[old as usize].waiting.remove(&key);
                    self.classes[new as usize].waiting.insert(key, call);
                    self.dirty_callers.push_back(call);
                }
                if let Some(c) = self.callers.at_mut(slot) {
                    c.stage = stage;
                    c.class = new;
                }
                self.set_timer_at(slot, call, T_WIDEN, next);
            }
            T_MAX_WAIT => {
                if c.callback.is_some() {
                    return Ok(());
                }
                match c.state {
                    CState::Waiting => {
                        if let Some(mw) = self.queues[c.queue as usize].cfg.max_wait.clone() {
                            self.overflow(now, call, mw.overflow, OverflowReason::MaxWait)?;
                        }
                    }
                    // Let the ringing agent answer; decide if the offer fails.
                    CState::Offered(_) => {
                        if let Some(c) = self.callers.at_mut(slot) {
                            c.max_wait_due = true;
                        }
                    }
                    _ => {}
                }
            }
            T_ANNOUNCE => {
                let q = &self.queues[c.queue as usize];
                let Some(every) = q.cfg.announce_every else {
                    return Ok(());
                };
                if c.callback.is_some() {
                    return Ok(());
                }
                if c.state == CState::Waiting {
                    let position = self.position(c);
                    let staffed = self.classes[c.class as usize].staffed as usize;
                    let estimated_wait = estimate_wait(position, q.handle.average(), staffed);
                    self.out.push_back(Output::Announce {
                        call,
                        position,
                        estimated_wait,
                    });
                }
                self.set_timer_at(
                    slot,
                    call,
                    T_ANNOUNCE,
                    Some(after(now, every.max(MIN_PERIOD))),
                );
            }
            _ => match c.state.clone() {
                CState::Offered(agents) => {
                    // Ring timeout: the router's own RONA.
                    for &a in &agents {
                        self.cancel(call, a);
                        self.miss(now, a, RejectReason::NoAnswer)?;
                    }
                    self.requeue(now, call, agents)?;
                }
                CState::Dialing(a) => self.callback_failed_attempt(now, call, a)?,
                CState::Retry => self.requeue(now, call, Vec::new())?,
                _ => {}
            },
        }
        Ok(())
    }

    fn position(&self, c: &Caller) -> usize {
        let lines = &self.queues[c.queue as usize].lines;
        let higher: usize = lines[c.priority as usize + 1..]
            .iter()
            .map(Line::live)
            .sum();
        higher + lines[c.priority as usize].ahead(c.slot) + 1
    }

    // ----- agents -------------------------------------------------------

    /// The one place agent states change: checked by [`check_transition`],
    /// keeps staffing counts, free-agent sets and the wrap-up timer in step,
    /// and reports the change.
    fn set_state(&mut self, a: AgentIdx, new: AgentState) -> Result<(), RouterError> {
        let agent = &self.agents[a as usize];
        check_transition(&agent.ext, &agent.state, &new)?;
        let old = std::mem::replace(&mut self.agents[a as usize].state, new.clone());
        if old == AgentState::Available {
            let agent = &mut self.agents[a as usize];
            if agent.unsorted {
                agent.unsorted = false;
                // The list holds at most 64 agents, usually one or two.
                if let Some(i) = self.unsorted.iter().position(|&x| x == a) {
                    self.unsorted.swap_remove(i);
                }
            } else {
                self.free_sets(a, false);
            }
        }
        if old.staffs() != new.staffs() {
            let up = new.staffs();
            for i in 0..self.agents[a as usize].classes.len() {
                let cl = self.agents[a as usize].classes[i];
                let class = &mut self.classes[cl as usize];
                if up {
                    class.staffed += 1;
                } else {
                    class.staffed = class.staffed.saturating_sub(1);
                    let widest = self.groups[class.group as usize].classes.last() == Some(&cl);
                    if class.staffed == 0 && widest {
                        self.emptied.push(cl);
                    }
                }
            }
        }
        if new == AgentState::Available {
            self.agents[a as usize].unsorted = true;
            self.unsorted.push(a);
            // Bounded, so that `candidate` never scans a long list.
            if self.unsorted.len() > 64 {
                self.sort_free();
            }
        }
        // Leaving wrap-up early leaves its entry stale (see `timer_live`).
        if let AgentState::WrapUp { until } = new {
            self.timers.push(0, (until, Timer::WrapUp(a), 0, 0));
        }
        self.out.push_back(Output::AgentState {
            agent: self.agents[a as usize].ext.clone(),
            state: new,
        });
        Ok(())
    }

    /// Puts the agents of `unsorted` into their free sets.
    fn sort_free(&mut self) {
        let mut list = std::mem::take(&mut self.unsorted);
        for a in list.drain(..) {
            self.agents[a as usize].unsorted = false;
            self.free_sets(a, true);
        }
        self.unsorted = list; // keeps its capacity
    }

    /// `sort_free` when an unsorted agent is eligible for class `cl`, so
    /// that the free set of `cl` is complete.
    fn sort_free_for(&mut self, cl: ClassIdx) {
        let agents = &self.agents;
        if self
            .unsorted
            .iter()
            .any(|&a| agents[a as usize].classes.contains(&cl))
        {
            self.sort_free();
        }
    }

    /// Inserts the agent into (or removes it from) the free set of every
    /// class it is eligible for.
    fn free_sets(&mut self, a: AgentIdx, insert: bool) {
        let agent = &self.agents[a as usize];
        for &cl in &agent.classes {
            let class = &mut self.classes[cl as usize];
            let key = rank(self.epoch, agent, a, class);
            if insert {
                class.avail.insert(key);
            } else {
                class.avail.remove(&key);
            }
        }
    }

    /// Puts the agent where it rests: unreachable without a registration,
    /// else its chosen rest (available, paused, logged out).
    fn rest_agent(
        &mut self,
        now: Instant,
        a: AgentIdx,
        reset_idle: bool,
    ) -> Result<(), RouterError> {
        let agent = &mut self.agents[a as usize];
        let target = if agent.registered {
            agent.rest.state()
        } else {
            AgentState::Unreachable
        };
        if agent.state == target {
            return Ok(());
        }
        // An agent whose offer was withdrawn through no fault of its own
        // keeps its place in the longest-idle order.
        if target == AgentState::Available && reset_idle {
            agent.idle_since = now;
        }
        self.set_state(a, target)?;
        if self.agents[a as usize].state == AgentState::Available {
            self.dirty_agents.push_back(a);
        }
        Ok(())
    }

    fn cancel(&mut self, call: CallId, a: AgentIdx) {
        self.out.push_back(Output::CancelOffer {
            call,
            agent: self.agents[a as usize].ext.clone(),
        });
    }

    // ----- classes and routing -----------------------------------------

    fn skill(&mut self, lang: bool, name: &str) -> SkillId {
        let next = (self.skill_ix.len() + self.lang_ix.len()) as SkillId;
        let map = if lang {
            &mut self.lang_ix
        } else {
            &mut self.skill_ix
        };
        // Looked up on every join: no allocation for a known, lower-case name.
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        if let Some(&id) = map.get(&*name) {
            return id;
        }
        map.insert(name.into_owned(), next);
        next
    }

    /// The group (chain of classes by widening stage) for callers of queue
    /// `q` with this language and these extra skills; built on first use
    /// with one pass over the agents.
    fn group_for(&mut self, q: QueueIdx, language: &str, extra: &[String]) -> GroupIdx {
        let lang = (!language.is_empty()).then(|| self.skill(true, language));
        let mut extras: Vec<SkillId> = extra.iter().map(|s| self.skill(false, s)).collect();
        extras.sort_unstable();
        extras.dedup();
        let key = (q, lang, extras);
        if let Some(&g) = self.group_ix.get(&key) {
            return g;
        }
        let g = self.groups.len() as GroupIdx;
        let queue = &self.queues[q as usize];
        let mut levels: BTreeMap<SkillId, u8> = queue.base.clone();
        for &s in &key.2 {
            levels.entry(s).or_insert(1);
        }
        let mut with_lang = lang.is_some();
        let mut stages = vec![(levels.clone(), with_lang)];
        for step in &queue.steps {
            for &(s, l) in &step.skills {
                if l == 0 {
                    levels.remove(&s);
                } else if let Some(cur) = levels.get_mut(&s) {
                    // Only relax: a step never raises a requirement.
                    *cur = (*cur).min(l);
                }
            }
            with_lang &= !step.any_language;
            stages.push((levels.clone(), with_lang));
        }
        let strategy = queue.cfg.strategy;
        let preferred = queue.preferred.clone();
        let mut classes = Vec::new();
        for (levels, with_lang) in stages {
            let mut req: Vec<(SkillId, u8)> = levels.into_iter().collect();
            if let (true, Some(l)) = (with_lang, lang) {
                req.push((l, 1));
            }
            let cl = self.classes.len() as ClassIdx;
            let mut class = Class {
                group: g,
                queue: q,
                strategy,
                req,
                preferred: preferred.clone(),
                staffed: 0,
                avail: BTreeSet::new(),
                waiting: BTreeMap::new(),
            };
            for (i, agent) in self.agents.iter_mut().enumerate() {
                if class.req.iter().all(|&(s, l)| agent.level(s) >= l) {
                    agent.classes.push(cl);
                    if agent.state.staffs() {
                        class.staffed += 1;
                    }
                    // An unsorted agent joins this set with its others.
                    if agent.state == AgentState::Available && !agent.unsorted {
                        class
                            .avail
                            .insert(rank(self.epoch, agent, i as AgentIdx, &class));
                    }
                }
            }
            self.classes.push(class);
            classes.push(cl);
        }
        self.groups.push(Group { classes });
        self.group_ix.insert(key, g);
        g
    }

    /// Runs queued routing work until nothing is left: callers that became
    /// routable, agents that became free, classes left without staff.
    fn settle(&mut self, now: Instant) -> Result<(), RouterError> {
        // Stranded callers move first, so that in their new queue they
        // compete for the agents this same event freed.
        loop {
            if let Some(cl) = self.emptied.pop() {
                self.strand_check(now, cl)?;
            } else if let Some(call) = self.dirty_callers.pop_front() {
                self.route_caller(now, call)?;
            } else if let Some(a) = self.dirty_agents.pop_front() {
                self.route_agent(now, a)?;
            } else {
                return Ok(());
            }
        }
    }

    /// Nobody can serve the callers of this widest class any more: callers on
    /// the line go to `when_empty`; callback places are kept.
    fn strand_check(&mut self, now: Instant, cl: ClassIdx) -> Result<(), RouterError> {
        if self.classes[cl as usize].staffed > 0 {
            return Ok(());
        }
        let group = self.classes[cl as usize].group;
        let q = self.classes[cl as usize].queue;
        let mut gone = Vec::new();
        for &c in &self.groups[group as usize].classes {
            for &call in self.classes[c as usize].waiting.values() {
                if self
                    .callers
                    .get(&call)
                    .is_some_and(|x| x.callback.is_none())
                {
                    gone.push(call);
                }
            }
        }
        let target = self.queues[q as usize].when_empty.clone();
        for call in gone {
            self.overflow(now, call, target.clone(), OverflowReason::Empty)?;
        }
        Ok(())
    }

    /// The best free agent for a waiting caller, by its queue's strategy,
    /// avoiding agents that just failed it when anyone else is free.
    fn candidate(&self, c: &Caller) -> Option<AgentIdx> {
        let class = &self.classes[c.class as usize];
        // The class's free agents are its free set plus the eligible ones
        // of `unsorted` (rarely more than one or two, usually none).
        let mut extra: Vec<RankKey> = self
            .unsorted
            .iter()
            .filter(|&&a| self.agents[a as usize].classes.contains(&c.class))
            .map(|&a| rank(self.epoch, &self.agents[a as usize], a, class))
            .collect();
        extra.sort_unstable();
        // The first free agent from `lo` on (all when `None`) that `pred`
        // accepts, in the class's order.
        let first = |lo: Option<RankKey>, pred: &dyn Fn(&RankKey) -> bool| {
            let from = lo.map_or(Bound::Unbounded, Bound::Included);
            let set = class
                .avail
                .range((from, Bound::Unbounded))
                .find(|k| pred(k));
            let more = extra
                .iter()
                .filter(|k| lo.is_none_or(|lo| **k >= lo))
                .find(|k| pred(k));
            match (set, more) {
                (Some(a), Some(b)) => Some(*a.min(b)),
                (a, b) => a.or(b).copied(),
            }
        };
        let ok = |k: &RankKey| !c.tried.contains(&k.2);
        let pick = match class.strategy {
            Strategy::RoundRobin => {
                let q = &self.queues[c.queue as usize];
                let from = q.rr_last.map_or(0, |l| l + 1);
                first(Some((0, self.epoch, from)), &ok).or_else(|| first(None, &ok))
            }
            _ => first(None, &ok),
        };
        pick.or_else(|| first(None, &|_| true)).map(|k| k.2)
    }

    /// The waiting caller agent `a` should take: highest priority, then
    /// earliest arrival, over every class it can serve.
    fn best_waiting(&self, a: AgentIdx) -> Option<CallId> {
        self.agents[a as usize]
            .classes
            .iter()
            .filter_map(|&cl| self.classes[cl as usize].waiting.first_key_value())
            .min_by_key(|(k, _)| **k)
            .map(|(_, &call)| call)
    }

    fn route_caller(&mut self, now: Instant, call: CallId) -> Result<(), RouterError> {
        let Some(slot) = self.callers.slot(&call) else {
            return Ok(());
        };
        // Every pass offers one free agent, so this ends; the bound is a
        // second guarantee. Offers remove no caller, so `slot` stays `call`'s.
        for _ in 0..=self.agents.len() {
            let Some(c) = self.callers.at(slot) else {
                return Ok(());
            };
            if c.state != CState::Waiting {
                break;
            }
            let Some(a) = self.candidate(c) else {
                break;
            };
            // Someone ahead (higher priority or earlier, in any class this
            // agent serves) gets the agent first; then try again.
            let chosen = self.best_waiting(a).unwrap_or(call);
            self.offer_from(now, chosen, a)?;
            if chosen == call {
                break;
            }
        }
        if let Some(c) = self.callers.at_mut(slot) {
            c.tried.clear();
        }
        Ok(())
    }

    fn route_agent(&mut self, now: Instant, a: AgentIdx) -> Result<(), RouterError> {
        if self.agents[a as usize].state != AgentState::Available {
            return Ok(());
        }
        if let Some(call) = self.best_waiting(a) {
            self.offer_from(now, call, a)?;
        }
        Ok(())
    }

    /// Offers `call` to `a` — or, for ring-all, to every free agent of its
    /// class (`a` among them); a callback reserves `a` alone.
    fn offer_from(&mut self, now: Instant, call: CallId, a: AgentIdx) -> Result<(), RouterError> {
        let Some(c) = self.callers.get(&call) else {
            return Ok(());
        };
        if self.classes[c.class as usize].strategy == Strategy::RingAll && c.callback.is_none() {
            let cl = c.class;
            self.sort_free_for(cl);
        }
        let Some(c) = self.callers.get(&call) else {
            return Ok(());
        };
        let class = &self.classes[c.class as usize];
        let agents = if class.strategy == Strategy::RingAll && c.callback.is_none() {
            // Every free agent of the class, except those someone ahead of
            // this caller (in another class) should get; `a` always rings.
            class
                .avail
                .iter()
                .map(|k| k.2)
                .filter(|&x| x == a || self.best_waiting(x).is_none_or(|w| w == call))
                .collect()
        } else {
            vec![a]
        };
        self.offer(now, call, agents)
    }

    fn offer(
        &mut self,
        now: Instant,
        call: CallId,
        agents: Vec<AgentIdx>,
    ) -> Result<(), RouterError> {
        let Some(slot) = self.callers.slot(&call) else {
            return Ok(());
        };
        let Some(c) = self.callers.at(slot) else {
            return Ok(());
        };
        let Some(&first) = agents.first() else {
            return Ok(());
        };
        let (class, key, qi) = (c.class, c.key(), c.queue);
        let number = c.callback.as_ref().map(|cb| cb.number.clone());
        self.classes[class as usize].waiting.remove(&key);
        let q = &mut self.queues[qi as usize];
        q.rr_last = agents.last().copied();
        let qname = q.name.clone();
        let ring = q.cfg.ring_timeout.max(MIN_PERIOD);
        let dial = q
            .cfg
            .callback
            .as_ref()
            .map_or(Duration::from_secs(30), |x| x.timeout)
            .max(MIN_PERIOD);
        if let Some(number) = number {
            if let Some(c) = self.callers.at_mut(slot) {
                c.state = CState::Dialing(first);
            }
            self.set_timer_at(slot, call, T_DEADLINE, Some(after(now, dial)));
            self.set_state(first, AgentState::Offered { call })?;
            self.out.push_back(Output::StartCallback {
                call,
                number,
                agent: self.agents[first as usize].ext.clone(),
            });
        } else {
            if let Some(c) = self.callers.at_mut(slot) {
                c.state = CState::Offered(agents.clone());
            }
            self.set_timer_at(slot, call, T_DEADLINE, Some(after(now, ring)));
            for &x in &agents {
                self.set_state(x, AgentState::Offered { call })?;
            }
            self.out.push_back(Output::Offer {
                call,
                queue: qname,
                agents: agents
                    .iter()
                    .map(|&x| self.agents[x as usize].ext.clone())
                    .collect(),
                ring_timeout: ring,
            });
        }
        Ok(())
    }
}

/// What a caller carries from one queue to the next on overflow.
struct Moved {
    priority: u8,
    language: String,
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
