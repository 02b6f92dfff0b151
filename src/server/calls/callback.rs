//! Keys pressed while waiting in a queue, and the queued callback: the caller
//! presses the queue's key, confirms the number, hangs up and keeps its place;
//! when its turn comes the router reserves an agent, we ring the agent first
//! (so a customer who answers never waits for nobody), then dial the customer
//! and bridge the two.

use std::time::Instant;

use tracing::{info, warn};

use super::{Call, Calls, LegKind, Service};
use crate::acd::{CallId, Input as AcdInput};
use crate::cdr::HungUpBy;
use crate::media::engine::StreamId;
use crate::sip::endpoint::Endpoint;
use crate::sip::session::{CallRef, DialRequest};
use crate::sip::transport::{Peer, Transport};

/// Where a waiting caller is in asking for a callback.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum Stage {
    #[default]
    None,
    /// "We will call you back on <number>; press 1 to confirm, 2 to keep
    /// waiting, 3 to enter a different number."
    Confirming { play: u64, number: String },
    /// "Enter the number to call you back on, then hash": digits so far
    /// (hold music plays once the caller starts typing).
    Entering { play: u64, digits: String },
    /// "Your callback is booked", then we hang up.
    Booking { play: u64 },
    /// Off the line; the router keeps the place.
    Booked,
}

impl Stage {
    /// The prompt of this stage, whose end moves it on.
    pub(super) fn prompt(&self) -> Option<u64> {
        match self {
            Stage::Confirming { play, .. }
            | Stage::Entering { play, .. }
            | Stage::Booking { play } => Some(*play),
            _ => None,
        }
    }
}

/// A callback booked by a caller who has hung up.
pub(super) struct Booked {
    pub number: String,
    /// The number the customer called first (shown as our caller id).
    pub dialed: String,
    pub lang: String,
    pub sip_call_id: String,
}

impl Calls {
    /// A key pressed by a caller waiting in a queue; `true` when it was the
    /// queue's (callback or leave key) rather than the IVR's.
    pub(super) fn queue_key(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        call: CallRef,
        digit: char,
    ) -> bool {
        let Some(c) = self.calls.get(&call) else {
            return false;
        };
        let Some(queue) = c.queue.clone() else {
            return false;
        };
        if c.bridged.is_some() || c.ivr.as_ref().is_some_and(|s| !s.is_done()) {
            return false;
        }
        match &c.callback {
            Stage::Confirming { number, .. } => {
                let number = number.clone();
                match digit {
                    '1' => self.book_callback(now, ep, call, number),
                    '2' | '*' => self.back_to_hold(call),
                    '3' => self.ask_number(call),
                    _ => {}
                }
                return true;
            }
            Stage::Entering { play, digits } => {
                let (play, mut digits) = (*play, digits.clone());
                match digit {
                    '#' if self.callback_target(ep, &digits).is_some() => {
                        self.ask_callback(call, digits)
                    }
                    // Not a number we can call: say so and ask again.
                    '#' => {
                        info!(%call, %digits, "callback number refused");
                        self.ask_number_with(call, &["invalid", "callback-enter"]);
                    }
                    '*' => self.back_to_hold(call),
                    d if d.is_ascii_digit() && digits.len() < 20 => {
                        digits.push(d);
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.callback = Stage::Entering { play, digits };
                        }
                    }
                    _ => {}
                }
                return true;
            }
            Stage::Booking { .. } | Stage::Booked => return true,
            Stage::None => {}
        }
        let Some(q) = self.router.queue_config(&queue).cloned() else {
            return false;
        };
        let key = digit.to_string();
        if q.callback_enabled() && q.callback.as_ref().is_some_and(|cb| cb.key == key) {
            self.offer_callback(ep, call);
            return true;
        }
        if let Some(leave) = q.leave.as_ref().filter(|l| l.key == key) {
            info!(%call, %queue, target = ?leave.to, "caller leaves the queue");
            let acd = c.acd;
            let _ = self.router.handle(now, AcdInput::CallLeft { call: acd });
            if let Some(c) = self.calls.get_mut(&call) {
                c.queue = None;
            }
            self.overflow(now, ep, call, leave.to.clone());
            self.run_router(now, ep);
            return true;
        }
        false
    }

    /// The caller wants a callback: confirm its own number if we can call
    /// it, else ask for one (a withheld or unreachable caller id).
    pub(super) fn offer_callback(&mut self, ep: &Endpoint, call: CallRef) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let caller = c.caller.clone();
        if self.callback_target(ep, &caller).is_some() {
            self.ask_callback(call, caller);
        } else {
            self.ask_number(call);
        }
    }

    fn ask_number(&mut self, call: CallRef) {
        self.ask_number_with(call, &["callback-enter"]);
    }

    fn ask_number_with(&mut self, call: CallRef, names: &[&str]) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let lang = c.lang.clone();
        if let Some(play) = self.play_names(call, names, &lang, true, None) {
            if let Some(c) = self.calls.get_mut(&call) {
                c.holding = None;
                c.callback = Stage::Entering {
                    play,
                    digits: String::new(),
                };
            }
        }
    }

    /// Reads `number` back and asks to confirm it.
    fn ask_callback(&mut self, call: CallRef, number: String) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let (lang, stream) = (c.lang.clone(), c.stream);
        let p = &self.prompts;
        let mut prompts: Vec<_> = p.get(&lang, "callback-confirm").into_iter().collect();
        prompts.extend(p.say_digits(&number, &lang));
        prompts.extend(p.get(&lang, "callback-press"));
        self.next_play += 1;
        let play = self.next_play;
        let _ = self.media.send(crate::server::media::MediaCommand::Play {
            id: stream,
            play,
            prompts,
            barge_in: true,
        });
        info!(%call, %number, "callback offered");
        if let Some(c) = self.calls.get_mut(&call) {
            c.holding = None;
            c.callback = Stage::Confirming { play, number };
        }
    }

    fn book_callback(&mut self, now: Instant, ep: &mut Endpoint, call: CallRef, number: String) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let input = AcdInput::CallbackRequested {
            call: c.acd,
            number: number.clone(),
        };
        if let Err(e) = self.router.handle(now, input) {
            warn!(%call, "callback refused: {e}");
            self.back_to_hold(call);
            return;
        }
        let booked = Booked {
            number,
            dialed: c.number.clone(),
            lang: c.lang.clone(),
            sip_call_id: c.sip_call_id.clone(),
        };
        info!(%call, number = %booked.number, "callback booked: the caller keeps its place");
        let (acd, lang, number) = (c.acd, c.lang.clone(), booked.number.clone());
        let ms = self.ms(now);
        self.journey(acd, |j| j.callback_requested(number, ms));
        self.callbacks.insert(acd, booked);
        let play = self.play_names(call, &["callback-booked", "goodbye"], &lang, false, None);
        if let (Some(c), Some(play)) = (self.calls.get_mut(&call), play) {
            c.callback = Stage::Booking { play };
        }
        self.run_router(now, ep);
    }

    /// The confirmation went unanswered (or the booking was said): move on.
    pub(super) fn callback_prompt_done(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        call: CallRef,
        interrupted: bool,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        match &c.callback {
            // No key: the caller keeps waiting on hold (and may press again).
            Stage::Confirming { .. } if !interrupted => self.back_to_hold(call),
            Stage::Entering { digits, .. } if digits.is_empty() && !interrupted => {
                self.back_to_hold(call)
            }
            // Typing: music while the caller finishes the number with #.
            Stage::Entering { .. } => {
                let lang = c.lang.clone();
                let play = self.play_names(call, &["moh"], &lang, false, None);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.holding = play;
                }
            }
            Stage::Booking { .. } => {
                c.callback = Stage::Booked;
                ep.hangup_call(now, call);
            }
            _ => {}
        }
    }

    fn back_to_hold(&mut self, call: CallRef) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.callback = Stage::None;
        let lang = c.lang.clone();
        let play = self.play_names(call, &["moh"], &lang, false, None);
        if let Some(c) = self.calls.get_mut(&call) {
            c.holding = play;
        }
    }

    /// Where a call to `number` goes: the extension's phone if it is one,
    /// else the configured trunk.
    pub(super) fn callback_target(&self, ep: &Endpoint, number: &str) -> Option<(String, Peer)> {
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '+') {
            return None;
        }
        if let Some(b) = ep
            .registrar()
            .bindings(number)
            .iter()
            .rev()
            .find(|b| b.reachable)
        {
            return Some((b.contact.clone(), b.source));
        }
        self.trunk.map(|addr| {
            (
                format!("sip:{number}@{addr}"),
                Peer {
                    transport: Transport::Udp,
                    addr,
                },
            )
        })
    }

    /// The router reserved `agent` for the callback `call`: ring the agent.
    pub(super) fn start_callback(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        call: CallId,
        number: String,
        agent: &str,
    ) {
        info!(acd = %call, %number, %agent, "callback: ringing the agent first");
        let headers = vec![("X-Switchboard-Callback".to_string(), number)];
        let rung = self.ring_agent(
            now,
            ep,
            CallRef(call.0),
            call,
            agent,
            LegKind::Callback,
            headers,
        );
        if rung.is_none() {
            let _ = self.router.handle(
                now,
                AcdInput::CallbackResult {
                    call,
                    answered: false,
                },
            );
            self.run_router(now, ep);
        }
    }

    /// The agent took the callback: dial the customer on a new call that
    /// is bridged to the agent when answered.
    pub(super) fn dial_customer(&mut self, now: Instant, ep: &mut Endpoint, agent_leg: CallRef) {
        let Some(l) = self.legs.get(&agent_leg) else {
            return;
        };
        let acd = l.acd;
        let booked = self.callbacks.get(&acd);
        let target = booked.and_then(|b| self.callback_target(ep, &b.number));
        let (Some(b), Some((uri, dest))) = (booked, target) else {
            warn!(%acd, "callback: no way to reach the customer");
            self.drop_leg(now, ep, agent_leg);
            let _ = self.router.handle(
                now,
                AcdInput::CallbackResult {
                    call: acd,
                    answered: false,
                },
            );
            return self.run_router(now, ep);
        };
        let Ok(socket) = self.ports.bind() else {
            warn!("no RTP port for a callback");
            return self.drop_leg(now, ep, agent_leg);
        };
        let Ok(rtp) = socket.local_addr() else { return };
        let (number, dialed, lang, sip_call_id) = (
            b.number.clone(),
            b.dialed.clone(),
            b.lang.clone(),
            b.sip_call_id.clone(),
        );
        let queue = self.router.call_info(acd).map(|i| i.queue.to_string());
        let customer = ep.dial(
            now,
            DialRequest {
                target: uri,
                dest,
                to: format!("sip:{number}@{}", self.domain),
                from_user: dialed.clone(),
                from_name: None,
                headers: vec![("X-Switchboard-Callback".to_string(), sip_call_id.clone())],
                rtp,
            },
        );
        info!(%acd, customer_leg = %customer, %number, "callback: dialling the customer");
        let stream = StreamId(customer.0);
        self.calls.insert(
            customer,
            Call {
                service: Service::Callback { agent_leg },
                stream,
                sip_call_id,
                caller: number,
                number: dialed,
                media_up: false,
                lang,
                intro_play: None,
                ivr: None,
                holding: None,
                queue,
                bridged: None,
                acd,
                callback: Stage::None,
                survey: None,
                in_survey: false,
                ended_by: HungUpBy::System,
                started: now,
            },
        );
        self.by_stream.insert(stream, customer);
        self.pending_sockets.insert(customer, socket);
        if let Some(l) = self.legs.get_mut(&agent_leg) {
            l.caller = customer;
        }
    }
}
