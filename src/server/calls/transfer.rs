//! Transfers by an agent's phone (REFER, RFC 3515). Blind: the agent hands
//! the caller to another extension, queue or flow, and is free (wrap-up) at
//! once. Attended (RFC 5589 §7): the agent first calls a colleague, then
//! joins the caller to that call and leaves both.

use std::time::Instant;

use tracing::{info, warn};

use super::{Calls, LegKind, Service};
use crate::acd::{CallId, Input as AcdInput};
use crate::cdr::HungUpBy;
use crate::config::queues::OverflowTarget;
use crate::server::media::MediaCommand;
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

    /// An attended transfer (REFER with Replaces, RFC 5589 §7): the agent,
    /// talking to a caller on one call with us and to a colleague on another
    /// (its consultation), joins the two and leaves. Both calls are ours, so
    /// no INVITE with Replaces goes anywhere: the caller's audio is bridged to
    /// the colleague's leg, and the agent's two calls end. A colleague whose
    /// phone still rings takes the caller when it answers (the caller hears
    /// hold music meanwhile, and the colleague's mailbox if nobody answers).
    pub(super) fn attended_transfer(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        refer: CallRef,
        other: Option<CallRef>,
        uri: &str,
    ) {
        let Some(other) = other else {
            info!(call = %refer, %uri, "attended transfer: the Replaces names no call of ours");
            return ep.notify_transfer(now, refer, 481, true);
        };
        // The REFER may come in either of the agent's two calls.
        let pair = [(refer, other), (other, refer)]
            .into_iter()
            .find(|&(held, consult)| self.consultation_of(held, consult));
        let Some((held, consult)) = pair else {
            warn!(call = %refer, %other, %uri, "attended transfer refused: not an agent's call to a caller and its own call to a colleague");
            return ep.notify_transfer(now, refer, 603, true);
        };
        let Some(l) = self.legs.get(&held) else {
            return;
        };
        let (customer, acd, agent, kind) = (l.caller, l.acd, l.agent.clone(), l.kind);
        let Some(c) = self.calls.get(&consult) else {
            return;
        };
        let (consult_acd, answered) = (c.acd, c.bridged);
        // Every phone of the colleague that rings (or the one that answered).
        let targets: Vec<CallRef> = self
            .legs
            .iter()
            .filter(|(_, l)| l.caller == consult && l.kind == LegKind::Direct)
            .map(|(k, _)| *k)
            .collect();
        let Some(colleague) = targets
            .first()
            .and_then(|t| self.legs.get(t))
            .map(|l| l.agent.clone())
        else {
            return ep.notify_transfer(now, refer, 603, true);
        };
        info!(call = %customer, %agent, %colleague, answered = answered.is_some(), "attended transfer");
        let ms = self.ms(now);
        let what = uri.to_string();
        self.journey(acd, |j| j.transfer(what, ms));
        // The router: the transferring agent's call ends (its wrap-up starts,
        // as after a blind transfer); the colleague's direct call now carries
        // the caller, so that its end frees the colleague.
        match kind {
            LegKind::Direct => self.end_direct(now, &agent, acd),
            _ => {
                let _ = self.router.handle(now, AcdInput::CallEnded { call: acd });
            }
        }
        let handed = AcdInput::DirectHandedOver {
            agent: colleague.clone(),
            from: consult_acd,
            to: acd,
        };
        if let Err(e) = self.router.handle(now, handed) {
            warn!(call = %customer, %colleague, error = %e, "router refused the hand-over");
        }
        for t in &targets {
            if let Some(l) = self.legs.get_mut(t) {
                l.caller = customer;
                l.acd = acd;
            }
        }
        ep.notify_transfer(now, refer, 200, true);
        // The agent leaves both calls.
        self.drop_leg(now, ep, held);
        if let Some(b) = answered.and_then(|b| self.legs.get(&b)) {
            let _ = self.media.send(MediaCommand::Unbridge { id: b.stream });
        }
        if let Some(c) = self.calls.get_mut(&consult) {
            c.bridged = None;
            c.ended_by = HungUpBy::Agent;
        }
        ep.hangup_call(now, consult);
        let Some(c) = self.calls.get_mut(&customer) else {
            return self.run_router(now, ep);
        };
        c.bridged = None;
        c.queue = None;
        c.survey = None;
        let stream = c.stream;
        match answered {
            Some(b) => self.connect(now, ep, customer, b),
            None => self.hold_music(stream, true),
        }
        self.run_router(now, ep);
    }

    /// `held` is an agent's answered leg bridged to a caller, and `consult`
    /// that agent's own call to a colleague's extension.
    fn consultation_of(&self, held: CallRef, consult: CallRef) -> bool {
        let Some(l) = self.legs.get(&held).filter(|l| l.answered) else {
            return false;
        };
        let bridged = self
            .calls
            .get(&l.caller)
            .is_some_and(|c| c.bridged == Some(held));
        bridged
            && self
                .calls
                .get(&consult)
                .is_some_and(|c| matches!(c.service, Service::Extension(_)) && c.caller == l.agent)
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
