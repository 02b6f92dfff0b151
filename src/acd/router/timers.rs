//! Timers: ring timeouts, widening, announcements, max wait, wrap-up and
//! callback retries, on lazy per-source lanes.

use super::*;

impl Router {
    /// Sets (or with `None` clears) the deadline of `kind` of the caller in
    /// `slot`.
    pub(super) fn set_timer_at(&mut self, slot: u32, kind: u8, at: Option<Instant>) {
        // A replaced deadline's entry goes stale (see `timer_live`).
        let gen = self.callers.bump(slot, kind);
        let (Some(at), Some(c)) = (at, self.callers.at(slot)) else {
            return;
        };
        // One lane per queue and source of deadline (see `Timers`).
        let source = match kind {
            T_MAX_WAIT => 0,
            T_ANNOUNCE => 1,
            T_WIDEN => 5 + c.stage.min(10) as usize,
            _ => match c.state {
                CState::Dialing(_) => 3,
                CState::Retry => 4,
                _ => 2,
            },
        };
        let lane = 1 + c.queue as usize * 16 + source;
        self.timers
            .push(lane, TimerEntry::caller(at, slot, kind, gen));
    }

    /// Whether a heap entry is still a pending deadline: the agent is still
    /// in this wrap-up, or the caller's deadline has not been set, cleared or
    /// fired since (its generation is unchanged).
    pub(super) fn timer_live(&self, e: &TimerEntry) -> bool {
        match e.kind() {
            T_WRAP_UP => self.agents[e.who() as usize].state == AgentState::WrapUp { until: e.at },
            kind => self.callers.is_current(e.who(), kind, e.gen),
        }
    }

    /// Drops stale entries from the top (so `poll_timeout` is exact), and
    /// all of them once the heap holds more entries than there can be live
    /// deadlines (4 per caller, 1 per agent): memory stays in proportion to
    /// the callers, and each rebuild is paid for by as many pushes.
    pub(super) fn prune_timers(&mut self) {
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

    pub(super) fn fire_timers(&mut self, now: Instant) -> Result<(), RouterError> {
        while let Some(entry) = self.timers.peek() {
            if entry.at > now {
                break;
            }
            self.timers.pop();
            if !self.timer_live(&entry) {
                continue;
            }
            let at = entry.at;
            match entry.kind() {
                // Exactly at `until`, never before (asterisk #1006).
                T_WRAP_UP => self.rest_agent(at, entry.who(), true)?,
                kind => {
                    // Fired: a duplicate entry for the same instant is stale.
                    self.callers.bump(entry.who(), kind);
                    self.caller_timer(at, entry.who(), kind)?;
                }
            }
            // Stale entries must not hide the next live deadline's instant.
            self.prune_timers();
            // Each deadline's consequences settle before the next deadline,
            // exactly as if the shell had woken at each one; timers due at the
            // same instant all apply first (two callers widening together must
            // compete by priority, not by which timer came out first).
            if self.timers.peek().is_none_or(|next| next.at != entry.at) {
                self.settle(at)?;
            }
        }
        Ok(())
    }

    /// A live deadline of the caller in `slot`.
    pub(super) fn caller_timer(
        &mut self,
        now: Instant,
        slot: u32,
        kind: u8,
    ) -> Result<(), RouterError> {
        let Some(c) = self.callers.at(slot) else {
            return Ok(());
        };
        let call = c.call;
        match kind {
            T_WIDEN => {
                let group = &self.groups[c.group as usize];
                let stage = c.stage as usize + 1;
                if stage >= group.classes.len() {
                    return Ok(());
                }
                let (old, new) = (c.class, group.classes[stage]);
                let next = self.queues[c.queue as usize]
                    .steps
                    .get(stage)
                    .map(|s| after(c.joined, s.after));
                if c.state == CState::Waiting {
                    // Same key in the wider class: the caller keeps its place.
                    let key = c.key();
                    self.wait_remove(old, key, slot);
                    self.wait_insert(new, key, slot);
                    self.dirty_callers.push_back((slot, call));
                }
                if let Some(c) = self.callers.at_mut(slot) {
                    c.stage = stage as u16;
                    c.class = new;
                }
                self.set_timer_at(slot, T_WIDEN, next);
            }
            T_MAX_WAIT => {
                if c.callback.is_some() {
                    return Ok(());
                }
                match c.state {
                    CState::Waiting => {
                        if let Some(mw) = self.queues[c.queue as usize].cfg.max_wait.clone() {
                            self.overflow(now, slot, mw.overflow, OverflowReason::MaxWait)?;
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
                self.set_timer_at(slot, T_ANNOUNCE, Some(after(now, every.max(MIN_PERIOD))));
            }
            _ => match c.state.clone() {
                CState::Offered(agents) => {
                    // Ring timeout: the router's own RONA.
                    for &a in &agents {
                        self.cancel(call, a);
                        self.miss(now, a, RejectReason::NoAnswer)?;
                    }
                    self.requeue(now, slot, agents)?;
                }
                CState::Dialing(a) => self.callback_failed_attempt(now, slot, a)?,
                CState::Retry => self.requeue(now, slot, Vec::new())?,
                _ => {}
            },
        }
        Ok(())
    }

    pub(super) fn position(&self, c: &Caller) -> usize {
        let lines = &self.queues[c.queue as usize].lines;
        let higher: usize = lines[c.priority as usize + 1..]
            .iter()
            .map(Line::live)
            .sum();
        higher + lines[c.priority as usize].ahead(c.slot) + 1
    }
}
