//! Inputs: each `Input` checked and applied.

use super::*;

impl Router {
    pub(super) fn input(&mut self, now: Instant, input: Input) -> Result<(), RouterError> {
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
                // Interned (lower case): the caller's record holds the id.
                let language = if language.is_empty() {
                    NO_LANGUAGE
                } else {
                    self.skill(true, &language)
                };
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
            Input::DirectCall { agent, call } => {
                let a = self.agent_idx(&agent)?;
                self.direct_call(a, call)
            }
            Input::DirectAnswered { agent, call } => {
                let a = self.agent_idx(&agent)?;
                self.direct_answered(a, call)
            }
            Input::DirectEnded { agent, call } => {
                let a = self.agent_idx(&agent)?;
                self.direct_ended(now, a, call)
            }
            Input::DirectHandedOver { agent, from, to } => {
                let a = self.agent_idx(&agent)?;
                self.direct_handed_over(a, from, to)
            }
            Input::Timeout => Ok(()),
        }
    }

    pub(super) fn agent_idx(&self, ext: &str) -> Result<AgentIdx, RouterError> {
        self.by_ext
            .get(ext)
            .copied()
            .ok_or_else(|| RouterError::UnknownAgent(ext.to_string()))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn join(
        &mut self,
        now: Instant,
        call: CallId,
        q: QueueIdx,
        priority: u8,
        language: SkillId,
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
        let group = self.group_for(q, language, &skills);
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
            call,
            queue: q,
            group,
            class,
            slot,
            stage: 0,
            priority,
            max_wait_due: false,
            hops,
            language,
            seq,
            joined: now,
            state: CState::Waiting,
            callback: None,
            cold: (!skills.is_empty() || !vars.is_empty()).then(|| {
                Box::new(CallerCold {
                    skills,
                    vars,
                    tried: Vec::new(),
                })
            }),
        };
        let key = caller.key();
        let cslot = self.callers.insert(caller);
        self.wait_insert(class, key, cslot);
        let queue = &self.queues[q as usize];
        let widen_at = queue.steps.first().map(|s| after(now, s.after));
        let max_wait_at = queue.cfg.max_wait.as_ref().map(|m| after(now, m.after));
        let announce_at = queue
            .cfg
            .announce_every
            .map(|d| after(now, d.max(MIN_PERIOD)));
        self.set_timer_at(cslot, T_WIDEN, widen_at);
        self.set_timer_at(cslot, T_MAX_WAIT, max_wait_at);
        self.set_timer_at(cslot, T_ANNOUNCE, announce_at);
        if offer_callback {
            self.out.push_back(Output::Overflow {
                call,
                from,
                target: OverflowTarget::Callback,
                reason: OverflowReason::MaxLength,
            });
        }
        self.dirty_callers.push_back((cslot, call));
        Ok(())
    }

    /// The caller (already out of any queue) goes to `target`.
    pub(super) fn send_away(
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
    pub(super) fn overflow(
        &mut self,
        now: Instant,
        slot: u32,
        target: OverflowTarget,
        reason: OverflowReason,
    ) -> Result<(), RouterError> {
        let Some(c) = self.callers.at(slot) else {
            return Ok(());
        };
        let call = c.call;
        if target == OverflowTarget::Callback {
            self.out.push_back(Output::Overflow {
                call,
                from: self.queues[c.queue as usize].name.clone(),
                target,
                reason,
            });
            return Ok(());
        }
        let from = self.queues[c.queue as usize].name.clone();
        let (priority, hops, language) = (c.priority, c.hops, c.language);
        let cold = self
            .callers
            .at_mut(slot)
            .and_then(|c| c.cold.take())
            .map(|x| *x)
            .unwrap_or_default();
        self.leave_queue(slot);
        let moved = Moved {
            priority,
            language,
            skills: cold.skills,
            vars: cold.vars,
            hops,
        };
        self.send_away(now, call, from, target, reason, moved)
    }

    /// Removes the caller in `slot` from every structure; agents are the
    /// caller's job.
    pub(super) fn leave_queue(&mut self, slot: u32) {
        let Some(c) = self.callers.at(slot) else {
            return;
        };
        if c.state == CState::Waiting {
            self.wait_remove(c.class, c.key(), slot);
        }
        let Some(c) = self.callers.at(slot) else {
            return;
        };
        if !matches!(c.state, CState::Connected { .. }) {
            let q = &mut self.queues[c.queue as usize];
            q.lines[c.priority as usize].remove(c.slot);
            q.len = q.len.saturating_sub(1);
            if c.callback.is_some() {
                q.callbacks = q.callbacks.saturating_sub(1);
            }
        }
        // Its timers' entries go stale (see `timer_live`).
        self.callers.remove(slot);
    }

    /// CallLeft or CallEnded: whatever the caller was doing, it is over, and
    /// no agent may stay offered or on call for it.
    pub(super) fn call_gone(&mut self, now: Instant, call: CallId) -> Result<(), RouterError> {
        let slot = self.known_slot(call)?;
        let c = self
            .callers
            .at(slot)
            .ok_or(RouterError::UnknownCall(call))?;
        let (state, q) = (c.state.clone(), c.queue);
        match state {
            CState::Connected { agent, since } => {
                self.leave_queue(slot);
                let wrap = self.queues[q as usize].cfg.wrap_up;
                self.queues[q as usize]
                    .handle
                    .record(now.saturating_duration_since(since) + wrap);
                let until = after(now, wrap);
                self.set_state(agent, AgentState::WrapUp { until })?;
                if until <= now {
                    self.rest_agent(now, agent, true)?;
                }
            }
            CState::Offered(agents) => {
                self.leave_queue(slot);
                for a in agents {
                    self.cancel(call, a);
                    self.rest_agent(now, a, false)?;
                }
            }
            CState::Dialing(a) => {
                self.leave_queue(slot);
                self.rest_agent(now, a, false)?;
            }
            CState::Waiting | CState::Retry => {
                self.leave_queue(slot);
            }
        }
        Ok(())
    }

    pub(super) fn answered(
        &mut self,
        now: Instant,
        call: CallId,
        ext: &str,
    ) -> Result<(), RouterError> {
        let a = self.agent_idx(ext)?;
        let not_offered = || RouterError::NotOffered {
            call,
            agent: ext.to_string(),
        };
        let slot = self.callers.slot(&call).ok_or_else(not_offered)?;
        let c = self.callers.at(slot).ok_or_else(not_offered)?;
        let CState::Offered(agents) = &c.state else {
            return Err(not_offered());
        };
        if !agents.contains(&a) {
            return Err(not_offered());
        }
        let others: Vec<AgentIdx> = agents.iter().copied().filter(|&x| x != a).collect();
        self.connect(now, slot, a)?;
        for o in others {
            self.cancel(call, o);
            self.rest_agent(now, o, false)?;
        }
        Ok(())
    }

    /// Bridges the caller to `a` (offer answered, or callback answered).
    pub(super) fn connect(
        &mut self,
        now: Instant,
        slot: u32,
        a: AgentIdx,
    ) -> Result<(), RouterError> {
        let Some(c) = self.callers.at(slot) else {
            return Ok(());
        };
        let on_call = AgentState::OnCall {
            call: c.call,
            direct: false,
        };
        self.set_state(a, on_call)?;
        let agent = &mut self.agents[a as usize];
        agent.calls += 1;
        agent.misses = [0; 3];
        let Some(c) = self.callers.at_mut(slot) else {
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
        // All four deadlines cleared.
        self.callers.bump_all(slot);
        Ok(())
    }

    pub(super) fn rejected(
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
        let slot = self.callers.slot(&call).ok_or_else(not_offered)?;
        let c = self.callers.at_mut(slot).ok_or_else(not_offered)?;
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
            self.requeue(now, slot, vec![a])?;
        }
        Ok(())
    }

    /// Counts a miss against the agent's policy and puts it back to rest
    /// (paused when the rule says so).
    pub(super) fn miss(
        &mut self,
        now: Instant,
        a: AgentIdx,
        reason: RejectReason,
    ) -> Result<(), RouterError> {
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
    pub(super) fn requeue(
        &mut self,
        now: Instant,
        slot: u32,
        tried: Vec<AgentIdx>,
    ) -> Result<(), RouterError> {
        let Some(c) = self.callers.at_mut(slot) else {
            return Ok(());
        };
        c.state = CState::Waiting;
        if !tried.is_empty() || c.cold.is_some() {
            c.cold_mut().tried = tried;
        }
        let (call, class, key, q, group, due, on_line) = (
            c.call,
            c.class,
            c.key(),
            c.queue,
            c.group,
            c.max_wait_due,
            c.callback.is_none(),
        );
        c.max_wait_due = false;
        self.set_timer_at(slot, T_DEADLINE, None);
        self.wait_insert(class, key, slot);
        if on_line {
            if due {
                if let Some(mw) = self.queues[q as usize].cfg.max_wait.clone() {
                    let callback = mw.overflow == OverflowTarget::Callback;
                    self.overflow(now, slot, mw.overflow, OverflowReason::MaxWait)?;
                    if !callback {
                        return Ok(());
                    }
                }
            }
            if self.widest_staffed(group) == 0 {
                let target = self.queues[q as usize].when_empty.clone();
                return self.overflow(now, slot, target, OverflowReason::Empty);
            }
        }
        self.dirty_callers.push_back((slot, call));
        Ok(())
    }

    pub(super) fn widest_staffed(&self, group: GroupIdx) -> u32 {
        self.groups[group as usize]
            .classes
            .last()
            .map_or(0, |&c| self.classes[c as usize].staffed)
    }

    pub(super) fn registered(&mut self, now: Instant, a: AgentIdx) -> Result<(), RouterError> {
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

    pub(super) fn unreachable(&mut self, now: Instant, a: AgentIdx) -> Result<(), RouterError> {
        let agent = &mut self.agents[a as usize];
        agent.registered = false;
        match agent.state.clone() {
            AgentState::LoggedOut | AgentState::Available | AgentState::Paused { .. } => {
                self.set_state(a, AgentState::Unreachable)
            }
            AgentState::Offered { direct: true, .. } => {
                // Ringing for its own extension: the shell hears the phone
                // fail and ends the direct call, which then finds the agent
                // gone from it.
                self.rest_agent(now, a, false)
            }
            AgentState::Offered { call, .. } => {
                // The phone is gone: stop ringing it, give the caller its place
                // back (a registration lapse is not the agent's miss).
                let slot = self.callers.slot(&call);
                let state = slot
                    .and_then(|s| self.callers.at(s))
                    .map(|c| c.state.clone());
                match (slot, state) {
                    (Some(slot), Some(CState::Offered(mut agents))) => {
                        agents.retain(|&x| x != a);
                        self.cancel(call, a);
                        self.rest_agent(now, a, false)?;
                        let empty = agents.is_empty();
                        if let Some(c) = self.callers.at_mut(slot) {
                            c.state = CState::Offered(agents);
                        }
                        if empty {
                            self.requeue(now, slot, vec![a])?;
                        }
                    }
                    (Some(slot), Some(CState::Dialing(_))) => {
                        self.rest_agent(now, a, false)?;
                        self.requeue(now, slot, vec![a])?;
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
    pub(super) fn command(
        &mut self,
        now: Instant,
        a: AgentIdx,
        cmd: Command,
    ) -> Result<(), RouterError> {
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
        let staffed = agent.staffs();
        agent.rest = rest;
        // On a direct call, staffing follows the rest (`Agent::staffs`).
        let staffs = agent.staffs();
        let resting = matches!(
            agent.state,
            AgentState::LoggedOut | AgentState::Available | AgentState::Paused { .. }
        );
        if staffed != staffs {
            self.restaff(a, staffs);
        }
        if changed && resting {
            self.rest_agent(now, a, true)?;
        }
        Ok(())
    }

    pub(super) fn callback_requested(
        &mut self,
        now: Instant,
        call: CallId,
        number: String,
    ) -> Result<(), RouterError> {
        let slot = self.known_slot(call)?;
        let c = self
            .callers
            .at_mut(slot)
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
                c.callback = Some(Box::new(Callback {
                    number,
                    attempts: 0,
                }));
            }
            CState::Offered(agents) if c.callback.is_none() => {
                c.callback = Some(Box::new(Callback {
                    number,
                    attempts: 0,
                }));
                for a in agents {
                    self.cancel(call, a);
                    self.rest_agent(now, a, false)?;
                }
                self.requeue(now, slot, Vec::new())?;
            }
            _ => return Err(RouterError::NotWaiting(call)),
        }
        self.queues[q as usize].callbacks += 1;
        // Off the line: no announcements, and max_wait (time on hold) no
        // longer applies. Widening goes on.
        self.set_timer_at(slot, T_ANNOUNCE, None);
        self.set_timer_at(slot, T_MAX_WAIT, None);
        if let Some(c) = self.callers.at_mut(slot) {
            c.max_wait_due = false;
        }
        self.dirty_callers.push_back((slot, call));
        Ok(())
    }

    pub(super) fn callback_result(
        &mut self,
        now: Instant,
        call: CallId,
        answered: bool,
    ) -> Result<(), RouterError> {
        let slot = self.known_slot(call)?;
        let c = self
            .callers
            .at(slot)
            .ok_or(RouterError::UnknownCall(call))?;
        let CState::Dialing(a) = c.state else {
            return Err(RouterError::NoCallback(call));
        };
        if answered {
            self.connect(now, slot, a)
        } else {
            self.callback_failed_attempt(now, slot, a)
        }
    }

    pub(super) fn callback_failed_attempt(
        &mut self,
        now: Instant,
        slot: u32,
        a: AgentIdx,
    ) -> Result<(), RouterError> {
        // The customer did not answer: not the agent's miss.
        self.rest_agent(now, a, false)?;
        let Some(c) = self.callers.at_mut(slot) else {
            return Ok(());
        };
        let cfg = self.queues[c.queue as usize].cfg.callback.clone();
        let (max, delay) = cfg.map_or((1, Duration::ZERO), |cb| (cb.max_attempts, cb.retry_delay));
        let attempts = c.callback.as_mut().map_or(u32::MAX, |cb| {
            cb.attempts += 1;
            cb.attempts
        });
        if attempts >= max {
            let call = c.call;
            self.leave_queue(slot);
            self.out.push_back(Output::CallbackFailed { call });
        } else {
            c.state = CState::Retry;
            self.set_timer_at(slot, T_DEADLINE, Some(after(now, delay)));
        }
        Ok(())
    }
}
