//! The queue side of a call: the router's decisions carried out — ringing
//! agents' phones, bridging on answer, hold music, announcements, overflow.

use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{AgentLeg, Calls, LegKind, Service, VoicemailMeta};
use crate::acd::{CallId, Input as AcdInput, Output as AcdOutput, RejectReason};
use crate::cdr::{HungUpBy, OfferOutcome};
use crate::config::queues::OverflowTarget;
use crate::media::engine::StreamId;
use crate::server::media::MediaCommand;
use crate::sip::endpoint::Endpoint;
use crate::sip::session::{CallRef, DialRequest, EndReason};

impl Calls {
    /// Carries out the router's decisions.
    pub(super) fn run_router(&mut self, now: Instant, ep: &mut Endpoint) {
        while let Some(out) = self.router.poll_output() {
            self.live.observe(now, &out);
            match out {
                AcdOutput::Offer {
                    call,
                    queue,
                    agents,
                    ring_timeout,
                } => {
                    for agent in agents {
                        info!(call = %CallRef(call.0), %queue, %agent, ?ring_timeout, "offering");
                        let ms = self.ms(now);
                        self.journey(call, |j| j.offer(agent.to_string(), ms));
                        self.offer(now, ep, call, &agent);
                    }
                }
                AcdOutput::CancelOffer { call, agent } => {
                    let legs: Vec<CallRef> = self
                        .legs
                        .iter()
                        .filter(|(_, l)| l.acd == call && *l.agent == *agent)
                        .map(|(k, _)| *k)
                        .collect();
                    for leg in legs {
                        info!(call = %CallRef(call.0), %agent, "offer withdrawn");
                        ep.hangup_call(now, leg);
                    }
                    // Withdrawn while the caller still waits: the ring timed out.
                    self.journey_offer_outcome(now, call, &agent, OfferOutcome::NoAnswer);
                }
                AcdOutput::Announce {
                    call,
                    position,
                    estimated_wait,
                } => {
                    self.announce(CallRef(call.0), position, estimated_wait);
                }
                AcdOutput::Overflow {
                    call,
                    from,
                    target,
                    reason,
                } => {
                    info!(call = %CallRef(call.0), %from, ?target, ?reason, "overflow");
                    self.overflow(now, ep, CallRef(call.0), target);
                }
                AcdOutput::StartCallback {
                    call,
                    number,
                    agent,
                } => self.start_callback(now, ep, call, number, &agent),
                AcdOutput::CallbackFailed { call } => {
                    info!(acd = %call, "callback failed: every attempt unanswered");
                    self.callbacks.remove(&call);
                    self.journey_end(now, call, HungUpBy::System, "callback attempts exhausted");
                }
                AcdOutput::AgentState { agent, state } => {
                    info!(%agent, ?state, "agent state");
                    self.agent_state_event(now, &agent, &state);
                }
            }
        }
        self.live.reconcile(now, &self.router);
    }

    /// Rings every phone `agent` has registered that answers pings (a desk
    /// phone and a softphone ring together; the first to answer takes the
    /// call and the others are cancelled), for the caller `caller` (router id
    /// `acd`). Returns the first leg, or `None` when no phone is reachable.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ring_agent(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        caller: CallRef,
        acd: CallId,
        agent: &str,
        kind: LegKind,
        mut headers: Vec<(String, String)>,
    ) -> Option<CallRef> {
        let bindings: Vec<_> = ep
            .registrar()
            .bindings(agent)
            .iter()
            .rev()
            .filter(|b| b.reachable)
            .cloned()
            .collect();
        if bindings.is_empty() {
            return None;
        }
        tracing::debug!(%agent, phones = bindings.len(), "ringing the agent's phones");
        let (from_user, lang) = match (self.calls.get(&caller), self.callbacks.get(&acd)) {
            (Some(c), _) => (c.caller.clone(), c.lang.clone()),
            // A callback: the customer is off the line; the agent sees its number.
            (None, Some(b)) => (b.number.clone(), b.lang.clone()),
            (None, None) => (String::new(), self.default_lang.clone()),
        };
        // What the IVR learnt goes to the agent's phone or CRM (RFC 3261 §20: X- headers are ours).
        headers.push(("X-Switchboard-Language".to_string(), lang));
        if let Some(info) = self.router.call_info(acd) {
            headers.push(("X-Switchboard-Queue".to_string(), info.queue.to_string()));
            for (k, v) in info.vars.iter().take(16) {
                let key: String = k
                    .chars()
                    .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
                    .collect();
                let value: String = v.chars().filter(|ch| !ch.is_control()).collect();
                if !key.is_empty() {
                    headers.push((format!("X-Switchboard-Var-{key}"), value));
                }
            }
        }
        let mut first = None;
        for binding in bindings {
            let socket = match self.ports.bind() {
                Ok(s) => s,
                Err(e) => {
                    warn!("no RTP port for an agent leg: {e}");
                    break;
                }
            };
            let Ok(rtp) = socket.local_addr() else { break };
            let leg = ep.dial(
                now,
                DialRequest {
                    target: binding.contact.clone(),
                    dest: binding.source,
                    to: format!("sip:{agent}@{}", self.domain),
                    from_user: from_user.clone(),
                    from_name: None,
                    headers: headers.clone(),
                    rtp,
                },
            );
            self.legs.insert(
                leg,
                AgentLeg {
                    caller,
                    acd,
                    agent: agent.to_string(),
                    kind,
                    answered: false,
                    stream: StreamId(leg.0),
                    socket: Some(socket),
                },
            );
            self.by_stream.insert(StreamId(leg.0), leg);
            first.get_or_insert(leg);
        }
        first
    }

    /// The other legs ringing `agent`'s phones for the same caller.
    pub(super) fn sibling_legs(&self, leg: CallRef) -> Vec<CallRef> {
        let Some(l) = self.legs.get(&leg) else {
            return Vec::new();
        };
        self.legs
            .iter()
            .filter(|(k, o)| **k != leg && o.acd == l.acd && o.agent == l.agent)
            .map(|(k, _)| *k)
            .collect()
    }

    /// One of the agent's phones answered: the others stop ringing.
    pub(super) fn cancel_siblings(&mut self, now: Instant, ep: &mut Endpoint, leg: CallRef) {
        for other in self.sibling_legs(leg) {
            info!(agent_leg = %other, "another phone of the agent answered: cancelled");
            self.drop_leg(now, ep, other);
        }
    }

    /// Rings an agent for a queue offer; an agent without a reachable phone
    /// is reported to the router at once.
    fn offer(&mut self, now: Instant, ep: &mut Endpoint, call: CallId, agent: &str) {
        let caller = CallRef(call.0);
        let rung = self.calls.contains_key(&caller)
            && self
                .ring_agent(now, ep, caller, call, agent, LegKind::Queue, Vec::new())
                .is_some();
        if !rung {
            self.journey_offer_outcome(now, call, agent, OfferOutcome::Unreachable);
            let _ = self.router.handle(
                now,
                AcdInput::OfferRejected {
                    call,
                    agent: agent.to_string(),
                    reason: RejectReason::Unreachable,
                },
            );
        }
    }

    /// Bridges the caller to an agent leg whose media is up: the hold music
    /// stops at once, and the queue's recording and survey apply.
    pub(super) fn connect(&mut self, now: Instant, ep: &Endpoint, caller: CallRef, leg: CallRef) {
        let Some(l) = self.legs.get(&leg) else {
            return;
        };
        let (agent_stream, acd, agent, kind) = (l.stream, l.acd, l.agent.clone(), l.kind);
        let queue = self.router.call_info(acd).and_then(|i| {
            self.router
                .queue_config(&i.queue)
                .map(|q| (i.queue, q.clone()))
        });
        let stamp = self.clock.at(now);
        let Some(c) = self.calls.get_mut(&caller) else {
            return;
        };
        c.holding = None;
        c.bridged = Some(leg);
        let _ = self.media.send(MediaCommand::Stop { id: c.stream });
        let _ = self.media.send(MediaCommand::Bridge {
            a: c.stream,
            b: agent_stream,
        });
        info!(call = %caller, agent_leg = %leg, %agent, "bridged");
        let mut recording = None;
        if let Some((name, q)) = queue {
            c.survey = q.survey.clone();
            if q.record {
                let who: String = c
                    .caller
                    .chars()
                    .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '+')
                    .collect();
                let path = self
                    .recordings_dir
                    .join(&*name)
                    .join(format!("{stamp}-{who}-{agent}.wav"));
                info!(call = %caller, path = %path.display(), "recording the call");
                recording = Some(path.display().to_string());
                let _ = self.media.send(MediaCommand::Record {
                    id: c.stream,
                    path,
                    max: Duration::from_secs(4 * 3600),
                    silence: Duration::ZERO,
                    stereo: true,
                });
            }
        }
        let ms = self.ms(now);
        let leg_id = ep.sip_call_id(leg).unwrap_or_default().to_string();
        self.journey(acd, |j| {
            if let Some(path) = recording {
                j.recording(path);
            }
            // Queue offers were recorded as connected when answered; a
            // callback or a transfer to an extension connects here.
            if kind != LegKind::Queue {
                j.connected(agent, leg_id, ms);
            }
        });
    }

    /// Forgets an agent leg and hangs it up; its end reports nothing further.
    pub(super) fn drop_leg(&mut self, now: Instant, ep: &mut Endpoint, leg: CallRef) {
        if let Some(l) = self.legs.remove(&leg) {
            self.by_stream.remove(&l.stream);
            let _ = self.media.send(MediaCommand::Unbridge { id: l.stream });
            let _ = self.media.send(MediaCommand::Remove { id: l.stream });
            ep.hangup_call(now, leg);
        }
    }

    pub(super) fn agent_leg_ended(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        leg: CallRef,
        reason: EndReason,
    ) {
        let others_ringing = !self.sibling_legs(leg).is_empty();
        let Some(l) = self.legs.remove(&leg) else {
            return;
        };
        self.by_stream.remove(&l.stream);
        let _ = self.media.send(MediaCommand::Unbridge { id: l.stream });
        let _ = self.media.send(MediaCommand::Remove { id: l.stream });
        info!(agent_leg = %leg, agent = %l.agent, kind = ?l.kind, ?reason, "agent leg ended");
        if !l.answered && others_ringing {
            // Another phone of the agent still rings: its outcome decides.
            return;
        }
        let bridged = self
            .calls
            .get(&l.caller)
            .is_some_and(|c| c.bridged == Some(leg));
        match (l.kind, l.answered) {
            (LegKind::Queue, true) | (LegKind::Callback, true) if bridged => {
                // The agent hung up: wrap-up starts; the caller goes to the
                // survey, or the call is over.
                let _ = self.router.handle(now, AcdInput::CallEnded { call: l.acd });
                self.after_agent(now, ep, l.caller);
            }
            (LegKind::Callback, true) => {
                // The agent gave up before the customer answered: stop dialling.
                let customer = self
                    .calls
                    .iter()
                    .find(|(_, c)| c.service == Service::Callback { agent_leg: leg })
                    .map(|(k, _)| *k);
                if let Some(customer) = customer {
                    ep.hangup_call(now, customer);
                }
            }
            (LegKind::Callback, false) => {
                // The reserved agent did not take the callback: the attempt fails
                // (retried later), without a penalty for the customer's place.
                let ms = self.ms(now);
                self.journey(l.acd, |j| j.callback_attempt(ms, false));
                let _ = self.router.handle(
                    now,
                    AcdInput::CallbackResult {
                        call: l.acd,
                        answered: false,
                    },
                );
            }
            (LegKind::Direct, true) => {
                self.end_direct(now, &l.agent, l.acd);
                if bridged {
                    self.after_agent(now, ep, l.caller)
                }
            }
            (LegKind::Direct, false) => {
                self.end_direct(now, &l.agent, l.acd);
                // Nobody took the transferred caller: the extension's mailbox does.
                info!(call = %l.caller, extension = %l.agent, "transfer not answered: voicemail");
                self.overflow(
                    now,
                    ep,
                    l.caller,
                    OverflowTarget::Voicemail(l.agent.clone()),
                );
            }
            (LegKind::Queue, false) => {
                let reason = match reason {
                    EndReason::Declined { code: 486 | 600 } => Some(RejectReason::Busy),
                    EndReason::Declined { code: 408 | 480 } => Some(RejectReason::NoAnswer),
                    EndReason::Declined { .. } => Some(RejectReason::Declined),
                    EndReason::Unreachable => Some(RejectReason::Unreachable),
                    // We cancelled it (ring timeout, caller left): the router knows.
                    _ => None,
                };
                if let Some(reason) = reason {
                    let outcome = match reason {
                        RejectReason::Busy => OfferOutcome::Busy,
                        RejectReason::NoAnswer => OfferOutcome::NoAnswer,
                        RejectReason::Declined => OfferOutcome::Declined,
                        RejectReason::Unreachable => OfferOutcome::Unreachable,
                    };
                    self.journey_offer_outcome(now, l.acd, &l.agent, outcome);
                    let _ = self.router.handle(
                        now,
                        AcdInput::OfferRejected {
                            call: l.acd,
                            agent: l.agent.clone(),
                            reason,
                        },
                    );
                }
            }
            // A leg that was not (or no longer) the caller's bridge.
            _ => {}
        }
        self.run_router(now, ep);
    }

    /// Puts the caller on hold in a queue (`join` is `CallJoins`).
    pub(super) fn join_queue(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        call: CallRef,
        join: AcdInput,
    ) {
        let AcdInput::CallJoins { queue, .. } = &join else {
            return;
        };
        let joined = queue.clone();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.queue = Some(queue.clone());
        let (acd, lang) = (c.acd, c.lang.clone());
        if let AcdInput::CallJoins { priority, .. } = &join {
            let (ms, q, p) = (self.clock.at(now), queue.clone(), *priority);
            self.journey(acd, |j| j.queued(q, p, ms));
        }
        let callback = self
            .router
            .queue_config(queue)
            .is_some_and(|q| q.callback_enabled());
        let names: &[&str] = if callback {
            &["please-hold", "callback-offer", "moh"]
        } else {
            &["please-hold", "moh"]
        };
        let play = self.play_names(call, names, &lang, false, None);
        if let Some(c) = self.calls.get_mut(&call) {
            c.holding = play;
        }
        match self.router.handle(now, join) {
            Ok(()) => self.live.joined(now, acd, &joined),
            Err(e) => warn!(%call, "cannot queue: {e}"),
        }
        self.run_router(now, ep);
    }

    /// The survey flow ended (the caller hung up or the flow did): its
    /// `score` variable, when 1-5, is the caller's rating.
    pub(super) fn survey_done(&mut self, c: &super::Call) {
        let score = c
            .ivr
            .as_ref()
            .and_then(|s| s.variables().get("score").cloned())
            .and_then(|v| v.parse::<u8>().ok())
            .filter(|v| (1..=5).contains(v));
        match score {
            Some(score) => {
                info!(call_id = %c.sip_call_id, score, "survey score");
                self.journey(c.acd, |j| j.survey(score));
            }
            None => info!(call_id = %c.sip_call_id, "survey left without a score"),
        }
    }

    /// The agent left a bridged caller: the queue's survey, or goodbye.
    fn after_agent(&mut self, now: Instant, ep: &mut Endpoint, caller: CallRef) {
        let Some(c) = self.calls.get_mut(&caller) else {
            return;
        };
        c.bridged = None;
        c.queue = None;
        c.ended_by = HungUpBy::Agent;
        match c.survey.take() {
            Some(flow) => {
                info!(call = %caller, %flow, "survey");
                c.in_survey = true;
                c.ivr = None;
                c.service = Service::Flow(flow);
                self.start_service(now, ep, caller);
            }
            None => ep.hangup_call(now, caller),
        }
    }

    /// Music on hold to `stream` while the other party holds, or back to the
    /// conversation (the relay resumes once nothing plays).
    pub(super) fn hold_music(&mut self, stream: StreamId, on: bool) {
        if on {
            let lang = self.default_lang.clone();
            let moh: Vec<_> = self.prompts.get(&lang, "moh").into_iter().collect();
            self.next_play += 1;
            let play = self.next_play;
            // Long enough for any hold; the relay is silent underneath it.
            let prompts = std::iter::repeat_n(moh, 90).flatten().collect();
            let _ = self.media.send(MediaCommand::Play {
                id: stream,
                play,
                prompts,
                barge_in: false,
            });
        } else {
            let _ = self.media.send(MediaCommand::Stop { id: stream });
        }
    }

    /// "You are number N in the queue; your expected wait is about M minutes", then hold music.
    pub(super) fn announce(&mut self, call: CallRef, position: usize, wait: Duration) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        if c.bridged.is_some() {
            return; // never delay a bridge
        }
        let lang = c.lang.clone();
        let stream = c.stream;
        let p = &self.prompts;
        let mut prompts: Vec<_> = p.get(&lang, "position").into_iter().collect();
        prompts.extend(p.say_number(position as u64, &lang));
        prompts.extend(p.get(&lang, "in-queue"));
        let minutes = wait.as_secs().div_ceil(60);
        if minutes > 0 {
            prompts.extend(p.get(&lang, "wait-minutes"));
            prompts.extend(p.say_number(minutes, &lang));
            prompts.extend(p.get(&lang, "minutes"));
        }
        prompts.extend(p.get(&lang, "moh"));
        self.next_play += 1;
        let play = self.next_play;
        let _ = self.media.send(MediaCommand::Play {
            id: stream,
            play,
            prompts,
            barge_in: false,
        });
        if let Some(c) = self.calls.get_mut(&call) {
            c.holding = Some(play);
        }
    }

    /// Where a caller goes when the queue cannot serve them.
    pub(super) fn overflow(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        call: CallRef,
        target: OverflowTarget,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let (acd, ms) = (c.acd, self.clock.at(now));
        match target {
            OverflowTarget::Queue(q) => {
                // The router moved the caller already, keeping its priority.
                c.queue = Some(q.clone());
                let priority = self.router.call_info(acd).map_or(0, |i| i.priority);
                self.journey(acd, |j| j.queued(q, priority, ms));
            }
            OverflowTarget::Voicemail(mailbox) => {
                c.queue = None;
                c.holding = None;
                let stream = c.stream;
                let lang = c.lang.clone();
                let meta = VoicemailMeta {
                    call,
                    caller: c.caller.clone(),
                    dialed: c.number.clone(),
                    sip_call_id: c.sip_call_id.clone(),
                };
                let caller: String = meta
                    .caller
                    .chars()
                    .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '+')
                    .collect();
                let path = self
                    .voicemail_dir
                    .join(&mailbox)
                    .join(format!("{}-{caller}.wav", self.clock.at(now)));
                self.recording.insert(stream, meta);
                let wav = path.display().to_string();
                self.journey(acd, |j| j.voicemail(wav));
                self.play_names(call, &["closed", "voicemail-beep"], &lang, false, None);
                info!(%call, %mailbox, path = %path.display(), "recording voicemail");
                let _ = self.media.send(MediaCommand::Record {
                    id: stream,
                    path,
                    max: Duration::from_secs(180),
                    silence: Duration::from_secs(8),
                    stereo: false,
                });
            }
            OverflowTarget::Flow(name) => {
                c.queue = None;
                c.holding = None;
                c.service = Service::Flow(name);
                self.start_service(now, ep, call);
            }
            // The router keeps the caller's place while it decides.
            OverflowTarget::Callback => self.offer_callback(ep, call),
        }
    }
}
