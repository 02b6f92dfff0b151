//! Agents: state changes, misses and pauses, rest after a call.

use super::*;

impl Router {
    /// The one place agent states change: checked by [`check_transition`],
    /// keeps staffing counts, free-agent sets and the wrap-up timer in step,
    /// and reports the change.
    pub(super) fn set_state(&mut self, a: AgentIdx, new: AgentState) -> Result<(), RouterError> {
        let agent = &self.agents[a as usize];
        check_transition(&agent.ext, &agent.state, &new)?;
        let staffed = agent.staffs();
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
        let staffs = self.agents[a as usize].staffs();
        if staffed != staffs {
            self.restaff(a, staffs);
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
            self.timers.push(0, TimerEntry::wrap_up(until, a));
        }
        self.out.push_back(Output::AgentState {
            agent: self.agents[a as usize].ext.clone(),
            state: new,
        });
        Ok(())
    }

    /// The agent now staffs its classes (`up`), or no longer does.
    pub(super) fn restaff(&mut self, a: AgentIdx, up: bool) {
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

    /// A call to the agent's own extension starts ringing (`Input::DirectCall`).
    pub(super) fn direct_call(&mut self, a: AgentIdx, call: CallId) -> Result<(), RouterError> {
        if self.callers.contains_key(&call) {
            return Err(RouterError::AlreadyQueued(call));
        }
        // The transition table takes resting agents only.
        self.set_state(a, AgentState::Offered { call, direct: true })
    }

    pub(super) fn direct_answered(&mut self, a: AgentIdx, call: CallId) -> Result<(), RouterError> {
        let offered = AgentState::Offered { call, direct: true };
        if self.agents[a as usize].state != offered {
            return Err(RouterError::NotOffered {
                call,
                agent: self.agents[a as usize].ext.to_string(),
            });
        }
        self.set_state(a, AgentState::OnCall { call, direct: true })
    }

    /// The agent's direct call carries another caller now (an attended
    /// transfer): same state, the new call id, and no change to staffing.
    pub(super) fn direct_handed_over(
        &mut self,
        a: AgentIdx,
        from: CallId,
        to: CallId,
    ) -> Result<(), RouterError> {
        if self.callers.contains_key(&to) {
            return Err(RouterError::AlreadyQueued(to));
        }
        let agent = &mut self.agents[a as usize];
        let state = match agent.state {
            AgentState::Offered { call, direct: true } if call == from => AgentState::Offered {
                call: to,
                direct: true,
            },
            AgentState::OnCall { call, direct: true } if call == from => AgentState::OnCall {
                call: to,
                direct: true,
            },
            _ => {
                return Err(RouterError::NotOffered {
                    call: from,
                    agent: agent.ext.to_string(),
                })
            }
        };
        agent.state = state.clone();
        self.out.push_back(Output::AgentState {
            agent: agent.ext.clone(),
            state,
        });
        Ok(())
    }

    pub(super) fn direct_ended(
        &mut self,
        now: Instant,
        a: AgentIdx,
        call: CallId,
    ) -> Result<(), RouterError> {
        match self.agents[a as usize].state {
            // Unanswered: its place in the longest-idle order is kept.
            AgentState::Offered {
                call: c,
                direct: true,
            } if c == call => self.rest_agent(now, a, false),
            AgentState::OnCall {
                call: c,
                direct: true,
            } if c == call => self.rest_agent(now, a, true),
            _ => Ok(()),
        }
    }

    /// Puts the agents of `unsorted` into their free sets.
    pub(super) fn sort_free(&mut self) {
        let mut list = std::mem::take(&mut self.unsorted);
        for a in list.drain(..) {
            self.agents[a as usize].unsorted = false;
            self.free_sets(a, true);
        }
        self.unsorted = list; // keeps its capacity
    }

    /// `sort_free` when an unsorted agent is eligible for class `cl`, so
    /// that the free set of `cl` is complete.
    pub(super) fn sort_free_for(&mut self, cl: ClassIdx) {
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
    pub(super) fn free_sets(&mut self, a: AgentIdx, insert: bool) {
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
    pub(super) fn rest_agent(
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

    pub(super) fn cancel(&mut self, call: CallId, a: AgentIdx) {
        self.out.push_back(Output::CancelOffer {
            call,
            agent: self.agents[a as usize].ext.clone(),
        });
    }
}
