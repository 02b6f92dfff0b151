//! The core side of the admin API: snapshots of agents, queues and calls,
//! and agent commands, answered inside the core task that owns them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use tracing::info;

use super::{Calls, LegKind, Service};
use crate::acd::{AgentState, CallId, CallStatus, Command, RouterError};
use crate::admin::api::{
    AfterCallView, AgentView, CallView, CallerView, QueueView, Request, ServiceLevelView,
    SipCounters, Snapshot, AGENT_STATES,
};
use crate::sip::endpoint::Endpoint;

impl Calls {
    /// The zone whose midnight starts "today", the service-level targets
    /// (`cdr:`), and whom to wake on changes.
    pub fn watch_live(
        &mut self,
        zone: jiff::tz::TimeZone,
        targets: crate::config::cdr::CdrConfig,
        notify: Arc<tokio::sync::Notify>,
    ) {
        self.live.set_watch(zone, targets, notify);
    }

    /// Today's queue counts from the events stored before this start.
    pub fn seed_live(&mut self, events: &[crate::cdr::Event]) {
        self.live.seed(events);
    }

    /// Answers one admin request.
    pub fn admin(&mut self, now: Instant, ep: &mut Endpoint, req: Request) {
        match req {
            Request::Snapshot(reply) => {
                let _ = reply.send(self.snapshot(now, ep));
            }
            Request::AgentCommand {
                agent,
                command,
                reply,
            } => {
                let _ = reply.send(self.admin_command(now, ep, &agent, command));
            }
        }
    }

    fn admin_command(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        agent: &str,
        command: Command,
    ) -> Result<AgentView, RouterError> {
        info!(%agent, ?command, "admin API command");
        let result = self.router.agent_command(now, agent, command);
        // Timers that fell due run even when the command is refused.
        self.run_router(now, ep);
        result?;
        self.agent_view(now, agent)
            .ok_or_else(|| RouterError::UnknownAgent(agent.to_string()))
    }

    fn agent_view(&self, now: Instant, ext: &str) -> Option<AgentView> {
        let state = self.router.agent_state(ext)?;
        let since = self.live.agent_since(ext);
        let queues = self
            .router
            .queue_names()
            .filter(|q| self.router.queue_agents(q).any(|a| a == ext))
            .map(str::to_string)
            .collect();
        Some(AgentView {
            extension: ext.to_string(),
            name: String::new(),
            state: state.name(),
            reason: match state {
                AgentState::Paused { reason } => Some(reason.clone()),
                _ => None,
            },
            call: state.call().map(|c| c.0),
            direct: matches!(
                state,
                AgentState::Offered { direct: true, .. } | AgentState::OnCall { direct: true, .. }
            ),
            after_call: self.router.agent_after_call(ext).map(|s| AfterCallView {
                state: s.name(),
                reason: match s {
                    AgentState::Paused { reason } => Some(reason),
                    _ => None,
                },
            }),
            in_state_s: now.saturating_duration_since(since).as_secs_f64(),
            since_unix_ms: self.clock.at(since),
            queues,
        })
    }

    pub(super) fn snapshot(&mut self, now: Instant, ep: &Endpoint) -> Snapshot {
        let agents: Vec<AgentView> = self
            .router
            .agents()
            .filter_map(|(ext, _)| self.agent_view(now, ext))
            .collect();
        let names: Vec<String> = self.router.queue_names().map(str::to_string).collect();
        let queues = names
            .iter()
            .map(|q| self.queue_view(now, q, &agents))
            .collect();
        let mut calls: Vec<CallView> = self
            .calls
            .iter()
            .map(|(r, c)| {
                let info = self.router.call_info(c.acd);
                // Bridged to an agent outside the queues: a transfer to an
                // extension, or an agent's call to a colleague.
                let direct = c
                    .bridged
                    .and_then(|leg| self.legs.get(&leg))
                    .filter(|l| l.kind == LegKind::Direct)
                    .map(|l| l.agent.clone());
                let (status, agent) = match (&c.service, info.as_ref().map(|i| &i.status)) {
                    (Service::Echo, _) => ("echo", None),
                    (Service::Confirm, _) => ("feature-code", None),
                    (_, Some(CallStatus::Connected { agent })) => {
                        ("connected", Some(agent.to_string()))
                    }
                    (_, None) if direct.is_some() => ("connected", direct),
                    (Service::Callback { .. }, _) => ("callback", None),
                    (_, Some(CallStatus::Offered { .. })) => ("ringing", None),
                    (_, Some(_)) => ("queued", None),
                    (Service::Extension(_), None) => ("extension", None),
                    (Service::Flow(_), None) => ("ivr", None),
                };
                CallView {
                    call: r.0,
                    sip_call_id: c.sip_call_id.clone(),
                    caller: c.caller.clone(),
                    number: c.number.clone(),
                    status,
                    flow: match &c.service {
                        Service::Flow(f) => Some(f.clone()),
                        _ => None,
                    },
                    queue: info.as_ref().map(|i| i.queue.to_string()),
                    agent,
                    duration_s: now.saturating_duration_since(c.started).as_secs_f64(),
                }
            })
            .collect();
        calls.sort_by_key(|c| c.call);
        let stats = ep.stats();
        Snapshot {
            now_unix_ms: self.clock.at(now),
            agents,
            queues,
            calls,
            today: self.live.today(now),
            sip: SipCounters {
                received: stats.received,
                dropped: stats.dropped,
                malformed_answered: stats.malformed_answered,
                registrations_ok: stats.registrations_ok,
                registrations_refused: stats.registrations_refused,
            },
        }
    }

    fn queue_view(&mut self, now: Instant, queue: &str, agents: &[AgentView]) -> QueueView {
        // Router ids to callers' numbers (a callback's id is its first call's).
        let numbers: HashMap<CallId, &str> = self
            .calls
            .values()
            .map(|c| (c.acd, c.caller.as_str()))
            .chain(
                self.callbacks
                    .iter()
                    .map(|(id, b)| (*id, b.number.as_str())),
            )
            .collect();
        let mut callers: Vec<CallerView> = self
            .live
            .waiting
            .iter()
            .filter(|(_, w)| &*w.queue == queue)
            .map(|(call, w)| {
                let info = self.router.call_info(*call);
                let ringing = info
                    .as_ref()
                    .is_some_and(|i| matches!(i.status, CallStatus::Offered { .. }));
                CallerView {
                    call: call.0,
                    caller: numbers.get(call).copied().unwrap_or_default().to_string(),
                    waited_s: now.saturating_duration_since(w.joined).as_secs_f64(),
                    position: info.and_then(|i| i.position),
                    status: if ringing { "ringing" } else { "waiting" },
                }
            })
            .collect();
        callers.sort_by_key(|c| (c.position.unwrap_or(usize::MAX), c.call));
        let mut by_state: BTreeMap<&'static str, usize> =
            AGENT_STATES.iter().map(|s| (*s, 0)).collect();
        for a in agents
            .iter()
            .filter(|a| a.queues.iter().any(|q| q == queue))
        {
            *by_state.entry(a.state).or_default() += 1;
        }
        let t = self.live.targets().targets(queue);
        let today = self.live.queue_today(now, queue);
        QueueView {
            name: queue.to_string(),
            waiting: callers.iter().filter(|c| c.status == "waiting").count(),
            ringing: callers.iter().filter(|c| c.status == "ringing").count(),
            longest_wait_s: self.live.longest_wait(now, queue).as_secs_f64(),
            callers,
            agents: by_state,
            average_handle_s: self
                .router
                .queue_stats(queue)
                .map(|s| s.average_handle_time.as_secs_f64())
                .unwrap_or_default(),
            service_level: ServiceLevelView {
                answered_within_s: t.service_level.answered_within.as_secs_f64(),
                target: t.service_level.target.0,
                short_abandon_s: t.short_abandon.as_secs_f64(),
                today: today.service_level(),
            },
            staffing: self.live.staffing(now, queue),
            today,
            since_start: self.live.queue_since_start(queue),
        }
    }
}

#[cfg(test)]
mod tests;
