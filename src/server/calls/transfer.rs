//! Blind transfer (REFER, RFC 3515): an agent hands the caller to another
//! extension, queue or flow, and is free (wrap-up) at once.

use std::time::Instant;

use tracing::{info, warn};

use super::{Calls, LegKind, Service};
use crate::acd::{CallId, Input as AcdInput};
use crate::config::queues::OverflowTarget;
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
            LegKind::Direct => self.end_direct(now, &agent, acd),
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
    /// agent or the IVR), with hold music meanwhile. The router holds the
    /// agent on the direct call (offered, then on a call) so that no queue
    /// offers it one at the same time, and puts it back where it rests
    /// afterwards; an agent busy with a call of its own (or in wrap-up) is
    /// not rung, and the caller goes to its mailbox, as when the phone is
    /// unreachable or nobody answers.
    pub(super) fn ring_extension(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        caller: CallRef,
        ext: &str,
        headers: Vec<(String, String)>,
    ) {
        let Some(c) = self.calls.get(&caller) else {
            return;
        };
        let (lang, acd) = (c.lang.clone(), c.acd);
        let direct = AcdInput::DirectCall {
            agent: ext.to_string(),
            call: acd,
        };
        if let Err(e) = self.router.handle(now, direct) {
            info!(call = %caller, extension = %ext, reason = %e, "transfer target busy: voicemail");
            return self.overflow(now, ep, caller, OverflowTarget::Voicemail(ext.to_string()));
        }
        let play = self.play_names(caller, &["please-hold", "moh"], &lang, false, None);
        if let Some(c) = self.calls.get_mut(&caller) {
            c.holding = play;
        }
        if self
            .ring_agent(now, ep, caller, acd, ext, LegKind::Direct, headers)
            .is_none()
        {
            info!(call = %caller, extension = %ext, "transfer target unreachable: voicemail");
            self.end_direct(now, ext, acd);
            self.overflow(now, ep, caller, OverflowTarget::Voicemail(ext.to_string()));
        }
    }

    /// The direct call `acd` to `agent` is over: the router puts the agent
    /// back where it rests (available, or the pause it asked for meanwhile).
    pub(super) fn end_direct(&mut self, now: Instant, agent: &str, acd: CallId) {
        let input = AcdInput::DirectEnded {
            agent: agent.to_string(),
            call: acd,
        };
        if let Err(e) = self.router.handle(now, input) {
            warn!(%agent, call = %acd, error = %e, "direct call end refused");
        }
    }
}
