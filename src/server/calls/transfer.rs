//! Blind transfer (REFER, RFC 3515): an agent hands the caller to another
//! extension, queue or flow, and is free (wrap-up) at once.

use std::time::Instant;

use tracing::{info, warn};

use super::{Calls, LegKind, Service};
use crate::acd::{AgentState, Command, Input as AcdInput};
use crate::config::queues::OverflowTarget;

/// Pause reason while an agent takes a call transferred to its extension.
pub(super) const PAUSE_DIRECT: &str = "direct call";
use crate::sip::endpoint::Endpoint;
use crate::sip::session::CallRef;

/// Where a transfer sends the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Destination {
    /// Another agent's phone, directly.
    Extension(String),
    /// A queue, by name.
    Queue(String),
    /// One of our numbers that runs a flow.
    Flow(String),
}

impl Calls {
    /// Resolves a Refer-To user part: a queue name, one of our numbers, or an
    /// agent's extension, in that order.
    pub(super) fn destination(&self, target: &str) -> Option<Destination> {
        if self.router.queue_config(target).is_some() {
            return Some(Destination::Queue(target.to_string()));
        }
        if let Some(n) = self.numbers.get(target) {
            return n.flow.clone().map(Destination::Flow);
        }
        self.router
            .agent_state(target)
            .map(|_| Destination::Extension(target.to_string()))
    }

    pub(super) fn transfer(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        leg: CallRef,
        target: &str,
        uri: &str,
    ) {
        // Only an agent who is talking to a caller hands the caller on.
        let Some(l) = self.legs.get(&leg).filter(|l| l.answered) else {
            warn!(call = %leg, %uri, "transfer refused: not an agent in a call");
            return ep.notify_transfer(now, leg, 603, true);
        };
        let (caller, acd, agent, kind) = (l.caller, l.acd, l.agent.clone(), l.kind);
        if self
            .calls
            .get(&caller)
            .is_none_or(|c| c.bridged != Some(leg))
        {
            return ep.notify_transfer(now, leg, 481, true);
        }
        let Some(dest) = self.destination(target) else {
            info!(agent_leg = %leg, %target, "transfer target unknown");
            return ep.notify_transfer(now, leg, 404, true);
        };
        info!(call = %caller, %agent, ?dest, "blind transfer");
        let ms = self.ms(now);
        let what = uri.to_string();
        self.journey(acd, |j| j.transfer(what, ms));
        // The caller's place in the router ends with this agent's call; the
        // agent wraps up now, not when the transferred call ends.
        let info = self.router.call_info(acd);
        match kind {
            LegKind::Direct { paused } => self.end_direct(now, &agent, paused),
            _ => {
                let _ = self.router.handle(now, AcdInput::CallEnded { call: acd });
            }
        }
        ep.notify_transfer(now, leg, 200, true);
        self.drop_leg(now, ep, leg);
        let Some(c) = self.calls.get_mut(&caller) else {
            return;
        };
        c.bridged = None;
        c.queue = None;
        c.survey = None;
        match dest {
            Destination::Queue(queue) => {
                let (priority, language, vars) = info
                    .map(|i| (i.priority, i.language, i.vars))
                    .unwrap_or_default();
                let join = AcdInput::CallJoins {
                    call: c.acd,
                    queue,
                    priority,
                    language,
                    skills: Vec::new(),
                    vars,
                };
                self.join_queue(now, ep, caller, join);
            }
            Destination::Flow(flow) => {
                c.ivr = None;
                c.service = Service::Flow(flow);
                self.start_service(now, ep, caller);
            }
            Destination::Extension(ext) => {
                let headers = vec![("X-Switchboard-Transferred-By".to_string(), agent)];
                self.ring_extension(now, ep, caller, &ext, headers);
            }
        }
        self.run_router(now, ep);
    }

    /// Rings extension `ext` for the caller directly (a transfer from an
    /// agent or the IVR), with hold music meanwhile. The router must not
    /// offer a queue call to that agent at the same time: a free agent is
    /// paused for the direct call (and resumed after); one busy with a call
    /// of its own is not rung, and the caller goes to its mailbox, as when
    /// the phone is unreachable or nobody answers.
    pub(super) fn ring_extension(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        caller: CallRef,
        ext: &str,
        headers: Vec<(String, String)>,
    ) {
        let paused = match self.router.agent_state(ext) {
            Some(AgentState::Available) => {
                let pause = Command::Pause {
                    reason: PAUSE_DIRECT.into(),
                };
                self.router.agent_command(now, ext, pause).is_ok()
            }
            Some(AgentState::LoggedOut | AgentState::Paused { .. }) => false,
            _ => {
                info!(call = %caller, extension = %ext, "transfer target busy: voicemail");
                return self.overflow(now, ep, caller, OverflowTarget::Voicemail(ext.to_string()));
            }
        };
        let Some(c) = self.calls.get(&caller) else {
            return;
        };
        let (lang, acd) = (c.lang.clone(), c.acd);
        let play = self.play_names(caller, &["please-hold", "moh"], &lang, false, None);
        if let Some(c) = self.calls.get_mut(&caller) {
            c.holding = play;
        }
        let kind = LegKind::Direct { paused };
        if self
            .ring_agent(now, ep, caller, acd, ext, kind, headers)
            .is_none()
        {
            info!(call = %caller, extension = %ext, "transfer target unreachable: voicemail");
            self.end_direct(now, ext, paused);
            self.overflow(now, ep, caller, OverflowTarget::Voicemail(ext.to_string()));
        }
    }

    /// The direct call to `agent` is over: resume queue offers if we paused it.
    pub(super) fn end_direct(&mut self, now: Instant, agent: &str, paused: bool) {
        let still_ours = matches!(
            self.router.agent_state(agent),
            Some(AgentState::Paused { reason }) if reason == PAUSE_DIRECT
        );
        if paused && still_ours {
            let _ = self.router.agent_command(now, agent, Command::Unpause);
        }
    }
}
