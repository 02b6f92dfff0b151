//! The queue side of a call: the router's decisions carried out — ringing
//! agents' phones, bridging on answer, hold music, announcements, overflow.

use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{AgentLeg, Calls, Service, VoicemailMeta};
use crate::acd::{CallId, Input as AcdInput, Output as AcdOutput, RejectReason};
use crate::config::queues::OverflowTarget;
use crate::media::engine::StreamId;
use crate::server::media::MediaCommand;
use crate::sip::endpoint::Endpoint;
use crate::sip::session::{CallRef, DialRequest, EndReason};

impl Calls {
    /// Carries out the router's decisions.
    pub(super) fn run_router(&mut self, now: Instant, ep: &mut Endpoint) {
        while let Some(out) = self.router.poll_output() {
            match out {
                AcdOutput::Offer {
                    call,
                    queue,
                    agents,
                    ring_timeout,
                } => {
                    let caller = CallRef(call.0);
                    for agent in agents {
                        info!(call = %caller, %queue, %agent, ?ring_timeout, "offering");
                        self.ring_agent(now, ep, caller, &agent, &queue);
                    }
                }
                AcdOutput::CancelOffer { call, agent } => {
                    let leg = self
                        .legs
                        .iter()
                        .find(|(_, l)| l.caller.0 == call.0 && *l.agent == *agent)
                        .map(|(k, _)| *k);
                    if let Some(leg) = leg {
                        info!(call = %CallRef(call.0), %agent, "offer withdrawn");
                        ep.hangup_call(now, leg);
                    }
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
                AcdOutput::AgentState { agent, state } => info!(%agent, ?state, "agent state"),
                other => info!(?other, "router output not handled in this build"),
            }
        }
    }

    /// Rings `agent`'s most recently registered phone that answers pings.
    pub(super) fn ring_agent(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        caller: CallRef,
        agent: &str,
        queue: &str,
    ) {
        let target = ep
            .registrar()
            .bindings(agent)
            .iter()
            .rev()
            .find(|b| b.reachable)
            .cloned();
        let (Some(c), Some(binding)) = (self.calls.get(&caller), target) else {
            let _ = self.router.handle(
                now,
                AcdInput::OfferRejected {
                    call: CallId(caller.0),
                    agent: agent.to_string(),
                    reason: RejectReason::Unreachable,
                },
            );
            return;
        };
        let Ok(socket) = self.ports.bind() else {
            warn!("no RTP port for an agent leg");
            return;
        };
        let Ok(rtp) = socket.local_addr() else { return };
        // What the IVR learnt goes to the agent's phone or CRM (RFC 3261 §20: X- headers are ours).
        let mut headers = vec![
            ("X-Switchboard-Queue".to_string(), queue.to_string()),
            ("X-Switchboard-Language".to_string(), c.lang.clone()),
        ];
        if let Some(info) = self.router.call_info(CallId(caller.0)) {
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
        let leg = ep.dial(
            now,
            DialRequest {
                target: binding.contact.clone(),
                dest: binding.source,
                to: format!("sip:{agent}@{}", self.domain),
                from_user: c.caller.clone(),
                from_name: None,
                headers,
                rtp,
            },
        );
        self.legs.insert(
            leg,
            AgentLeg {
                caller,
                agent: agent.to_string(),
                answered: false,
                stream: StreamId(leg.0),
                socket: Some(socket),
            },
        );
        self.by_stream.insert(StreamId(leg.0), leg);
    }

    pub(super) fn agent_leg_ended(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        leg: CallRef,
        reason: EndReason,
    ) {
        let Some(l) = self.legs.remove(&leg) else {
            return;
        };
        self.by_stream.remove(&l.stream);
        let _ = self.media.send(MediaCommand::Remove { id: l.stream });
        let call = CallId(l.caller.0);
        info!(agent_leg = %leg, agent = %l.agent, ?reason, "agent leg ended");
        if l.answered {
            // The agent hung up: the caller's call is over too; wrap-up starts.
            let _ = self.router.handle(now, AcdInput::CallEnded { call });
            if self
                .calls
                .get(&l.caller)
                .is_some_and(|c| c.bridged == Some(leg))
            {
                ep.hangup_call(now, l.caller);
            }
        } else {
            let reason = match reason {
                EndReason::Declined { code: 486 | 600 } => Some(RejectReason::Busy),
                EndReason::Declined { code: 408 | 480 } => Some(RejectReason::NoAnswer),
                EndReason::Declined { .. } => Some(RejectReason::Declined),
                EndReason::Unreachable => Some(RejectReason::Unreachable),
                // We cancelled it (ring timeout, caller left): the router knows.
                _ => None,
            };
            if let Some(reason) = reason {
                let _ = self.router.handle(
                    now,
                    AcdInput::OfferRejected {
                        call,
                        agent: l.agent.clone(),
                        reason,
                    },
                );
            }
        }
        self.run_router(now, ep);
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
        match target {
            OverflowTarget::Queue(q) => c.queue = Some(q),
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
                self.play_names(call, &["closed", "voicemail-beep"], &lang, false, None);
                info!(%call, %mailbox, path = %path.display(), "recording voicemail");
                let _ = self.media.send(MediaCommand::Record {
                    id: stream,
                    path,
                    max: Duration::from_secs(180),
                    silence: Duration::from_secs(8),
                });
            }
            OverflowTarget::Flow(name) => {
                c.queue = None;
                c.holding = None;
                c.service = Service::Flow(name);
                self.start_service(now, ep, call);
            }
            OverflowTarget::Callback => {
                // Queued callback is the router's; placing the call back is not wired yet.
                info!(%call, "callback offered (not placed by this build)");
            }
        }
    }
}
