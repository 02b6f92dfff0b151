//! INVITE sessions: the SIP side of each inbound call (RFC 3261 §13–§15 with
//! RFC 3264 offer/answer). A session answers with SDP, retransmits its 2xx
//! until the ACK (§13.3.1.4), follows re-INVITEs (hold, new address), takes SIP
//! INFO digits, and ends on BYE, CANCEL or our own hang-up.
//!
//! Sans-IO like the rest of `sip`: it sends through the [`TransactionLayer`]
//! and reports [`CallEvent`]s; the media itself lives in `crate::media`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracing::{debug, info};

use super::dialog::{Dialog, DialogId};
use super::endpoint::response_to;
use super::headers::{NameAddr, Replaces};
use super::message::{Method, Request};
use super::transaction::{Timers, TransactionLayer, Transmit, TxKey};
use super::transport::Peer;
use super::uri::Uri;
use crate::media::dtmf::info::parse_info;
use crate::media::sdp::{self, Direction, Negotiated, SessionVersion};

/// Our handle on a call; stable for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

impl std::fmt::Display for CallRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Why a call ended; recorded in the CDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The other party sent BYE (the caller, or the agent on an outgoing leg).
    RemoteHangup,
    /// The caller gave up before we answered (CANCEL).
    CallerCancelled,
    /// We hung up.
    LocalHangup,
    /// Our 2xx was never acknowledged (RFC 3261 §13.3.1.4).
    NoAck,
    /// The offer had nothing we can play (488).
    NoCommonCodec,
    /// We refused the call before answering.
    Rejected,
    /// Our outgoing call was refused with this final status (486 busy, 603 decline, ...).
    Declined { code: u16 },
    /// Our outgoing call got no final answer (Timer B) or could not be sent.
    Unreachable,
    /// We cancelled our outgoing call before it was answered.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A new call to one of our numbers: accept it (with an RTP address) or reject it.
    Incoming {
        call: CallRef,
        number: String,
        caller: String,
        caller_name: Option<String>,
        sip_call_id: String,
        /// Where the INVITE came from (agents' feature codes are checked against it).
        source: Peer,
    },
    /// Media parameters are known or changed (answer sent, late-offer ACK, re-INVITE, hold).
    Media {
        call: CallRef,
        media: Negotiated,
    },
    /// Our outgoing call is ringing (first 18x).
    Ringing {
        call: CallRef,
    },
    /// Our outgoing call was answered (2xx, ACK sent); `Media` follows.
    Answered {
        call: CallRef,
    },
    /// A digit sent as SIP INFO (RFC 4733 and in-band digits come from the media engine).
    Digit {
        call: CallRef,
        digit: char,
    },
    Ended {
        call: CallRef,
        reason: EndReason,
    },
    /// The far end asked us to call `target` instead (REFER, RFC 3515): a
    /// blind transfer. We answered 202; report the outcome with
    /// [`Sessions::notify_refer`].
    Transfer {
        call: CallRef,
        /// The user part of the Refer-To URI (an extension, number or queue).
        target: String,
        /// The whole Refer-To URI, for logs and records.
        uri: String,
    },
    /// The far end asked us to join the party behind this call to the party
    /// behind `other`, its other call with us (REFER with Replaces, RFC 5589
    /// §7): an attended transfer. `other` is `None` when the Replaces names
    /// no call of ours. We answered 202; report the outcome with
    /// [`Sessions::notify_refer`].
    AttendedTransfer {
        call: CallRef,
        other: Option<CallRef>,
        /// The Refer-To URI, for logs and records.
        uri: String,
    },
}

#[derive(Debug)]
enum State {
    /// INVITE received, 180 sent, waiting for the application to accept.
    Offered {
        tx: TxKey,
        invite: Request,
    },
    /// 2xx sent, waiting for the ACK.
    Answered,
    Confirmed,
    /// BYE sent.
    Ending,
    /// Our INVITE is out; waiting for its final response. `cancel`: CANCEL
    /// once a provisional response allows it (RFC 3261 §9.1).
    Dialing {
        invite: Request,
        provisional: bool,
        cancel: bool,
    },
}

/// A 2xx the TU itself must retransmit until the ACK (§13.3.1.4).
#[derive(Debug)]
struct Pending2xx {
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

#[derive(Debug)]
struct Session {
    call: CallRef,
    state: State,
    peer: Peer,
    local_tag: String,
    dialog: Option<Dialog>,
    sdp_version: SessionVersion,
    local_rtp: Option<SocketAddr>,
    /// We offered in the 2xx (INVITE had no SDP): the answer comes in the ACK.
    offer_in_2xx: bool,
    pending_2xx: Option<Pending2xx>,
    /// Hang up as soon as the ACK arrives (a BYE before it is not allowed, §15).
    hangup_after_ack: bool,
    /// Our ACK for the 2xx of an outgoing call, sent again for each 2xx retransmission.
    ack: Option<Vec<u8>>,
    /// The keys the session is indexed under, so that removing it touches
    /// only its own entries.
    dialog_key: Option<(String, String)>,
    invite: Option<TxKey>,
    bye: Option<TxKey>,
}

pub struct Sessions {
    timers: Timers,
    local: SocketAddr,
    user_agent: String,
    calls: HashMap<CallRef, Session>,
    by_dialog: HashMap<(String, String), CallRef>,
    by_bye: HashMap<TxKey, CallRef>,
    /// Calls by their INVITE transaction: offered calls (a CANCEL names it)
    /// and our outgoing calls (responses, 2xx retransmissions).
    by_invite: HashMap<TxKey, CallRef>,
    /// Calls whose 2xx awaits its ACK: the only ones with a timer here.
    awaiting_ack: HashSet<CallRef>,
    next: u64,
    events: VecDeque<CallEvent>,
    /// Responses the sessions send outside a transaction (2xx retransmissions).
    transmits: VecDeque<Transmit>,
    rng: StdRng,
}

impl Sessions {
    pub fn new(timers: Timers, local: SocketAddr, user_agent: String, seed: u64) -> Self {
        Sessions {
            timers,
            local,
            user_agent,
            calls: HashMap::new(),
            by_dialog: HashMap::new(),
            by_bye: HashMap::new(),
            by_invite: HashMap::new(),
            awaiting_ack: HashSet::new(),
            next: 1,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn branch(&mut self) -> String {
        format!("z9hG4bK{:016x}", self.rng.gen::<u64>())
    }

    /// The SIP Call-ID of a call whose dialog is established.
    pub fn sip_call_id(&self, call: CallRef) -> Option<&str> {
        let d = self.calls.get(&call)?.dialog.as_ref()?;
        Some(d.id.call_id.as_str())
    }

    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.events.pop_front()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.awaiting_ack
            .iter()
            .filter_map(|c| self.calls.get(c)?.pending_2xx.as_ref())
            .map(|p| p.next.min(p.give_up))
            .min()
    }

    fn dialog_key(req: &Request) -> Option<(String, String)> {
        let from = NameAddr::parse(req.headers.get("From")?).ok()?;
        Some((
            req.call_id().to_string(),
            from.tag().unwrap_or("").to_string(),
        ))
    }

    /// A new INVITE (no To tag) for one of our numbers.
    pub fn on_invite(
        &mut self,
        now: Instant,
        tl: &mut TransactionLayer,
        key: TxKey,
        req: Request,
        peer: Peer,
        tag: String,
    ) {
        let Some(dkey) = Self::dialog_key(&req) else {
            return;
        };
        if self.by_dialog.contains_key(&dkey) {
            return; // a second INVITE with the same Call-ID and From tag: ignore (merged)
        }
        let call = CallRef(self.next);
        self.next += 1;
        let number = Uri::parse(&req.uri)
            .ok()
            .and_then(|u| u.user)
            .unwrap_or_default();
        let from = req
            .headers
            .get("From")
            .and_then(|f| NameAddr::parse(f).ok());
        let caller = from
            .as_ref()
            .and_then(|f| f.uri.user.clone())
            .unwrap_or_default();
        let caller_name = from.and_then(|f| f.display);
        let mut ringing = response_to(&req, 180, "Ringing", &tag);
        ringing
            .headers
            .push("Contact", format!("<sip:{}@{}>", number, self.local));
        tl.respond(now, &key, &ringing);
        info!(%call, %number, %caller, "incoming call");
        self.events.push_back(CallEvent::Incoming {
            call,
            number,
            caller,
            caller_name,
            sip_call_id: req.call_id().to_string(),
            source: peer,
        });
        let version = SessionVersion::new(now_seed(call));
        self.by_dialog.insert(dkey.clone(), call);
        self.by_invite.insert(key.clone(), call);
        let key_copy = key.clone();
        self.calls.insert(
            call,
            Session {
                call,
                state: State::Offered {
                    tx: key,
                    invite: req,
                },
                peer,
                local_tag: tag,
                dialog: None,
                sdp_version: version,
                local_rtp: None,
                offer_in_2xx: false,
                pending_2xx: None,
                hangup_after_ack: false,
                ack: None,
                dialog_key: Some(dkey),
                invite: Some(key_copy),
                bye: None,
            },
        );
    }

    /// Answers an offered call with our RTP address. A 488 ends it if no codec fits.
    pub fn accept(
        &mut self,
        now: Instant,
        tl: &mut TransactionLayer,
        call: CallRef,
        rtp: SocketAddr,
    ) {
        let t1 = self.timers.t1;
        let contact = self.contact();
        let Some(s) = self.calls.get_mut(&call) else {
            return;
        };
        let State::Offered { tx, invite } = &s.state else {
            return;
        };
        let (tx, invite) = (tx.clone(), invite.clone());
        let offer =
            (!invite.body.is_empty()).then(|| sdp::parse(&String::from_utf8_lossy(&invite.body)));
        let (media, body) = match offer {
            Some(Ok(offer)) => match sdp::answer(&offer, rtp, &mut s.sdp_version) {
                Ok((media, body)) => (Some(media), body),
                Err(_) => return self.reject(now, tl, call, 488),
            },
            Some(Err(_)) => return self.reject(now, tl, call, 488),
            None => {
                s.offer_in_2xx = true;
                (
                    None,
                    sdp::offer(rtp, &mut s.sdp_version, Direction::SendRecv),
                )
            }
        };
        s.local_rtp = Some(rtp);
        let mut ok = response_to(&invite, 200, "OK", &s.local_tag);
        ok.headers.push("Contact", contact);
        ok.headers.push("Allow", super::endpoint::ALLOW);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = body.into_bytes();
        match Dialog::uas(&invite, &s.local_tag, s.peer, 1) {
            Ok(d) => s.dialog = Some(d),
            Err(e) => {
                debug!(%call, "cannot build dialog: {e}");
                return self.reject(now, tl, call, 400);
            }
        }
        tl.respond(now, &tx, &ok);
        self.by_invite.remove(&tx);
        s.invite = None;
        self.awaiting_ack.insert(call);
        s.pending_2xx = Some(Pending2xx {
            bytes: ok.to_bytes(),
            next: now + t1,
            interval: t1,
            give_up: now + 64 * t1,
        });
        s.state = State::Answered;
        if let Some(media) = media {
            self.events.push_back(CallEvent::Media { call, media });
        }
    }

    /// Refuses an offered call (e.g. 480, 486, 488, 503).
    pub fn reject(&mut self, now: Instant, tl: &mut TransactionLayer, call: CallRef, code: u16) {
        let Some(s) = self.calls.get(&call) else {
            return;
        };
        if let State::Offered { tx, invite } = &s.state {
            let r = response_to(
                invite,
                code,
                super::message::reason_phrase(code),
                &s.local_tag,
            );
            tl.respond(now, tx, &r);
        }
        let reason = if code == 488 {
            EndReason::NoCommonCodec
        } else {
            EndReason::Rejected
        };
        self.finish(call, reason);
    }

    /// Our hang-up: BYE on a confirmed dialog, or after the ACK if it is still due.
    pub fn hangup(&mut self, now: Instant, tl: &mut TransactionLayer, call: CallRef) {
        let Some(s) = self.calls.get_mut(&call) else {
            return;
        };
        match s.state {
            State::Offered { .. } => self.reject(now, tl, call, 480),
            State::Answered => s.hangup_after_ack = true,
            State::Confirmed => self.send_bye(now, tl, call, EndReason::LocalHangup),
            State::Ending => {}
            State::Dialing { .. } => self.cancel(now, tl, call),
        }
    }

    fn send_bye(
        &mut self,
        now: Instant,
        tl: &mut TransactionLayer,
        call: CallRef,
        reason: EndReason,
    ) {
        let local = self.local;
        let branch = self.branch();
        let Some(s) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(d) = s.dialog.as_mut() else { return };
        let mut bye = in_dialog_request(d, Method::Bye, local, &branch);
        bye.headers.push("User-Agent", self.user_agent.clone());
        let dest = d.peer;
        s.state = State::Ending;
        s.pending_2xx = None;
        self.awaiting_ack.remove(&call);
        if let Some(key) = tl.send_request(now, bye, dest) {
            s.bye = Some(key.clone());
            self.by_bye.insert(key, call);
        }
        self.events.push_back(CallEvent::Ended { call, reason });
    }

    /// A CANCEL for the INVITE `invite` (already answered 487 by the endpoint).
    pub fn on_cancel(&mut self, invite: &TxKey) {
        let call = self.by_invite.get(invite).copied();
        let offered = call
            .and_then(|c| self.calls.get(&c))
            .is_some_and(|s| matches!(&s.state, State::Offered { tx, .. } if tx == invite));
        if let (Some(call), true) = (call, offered) {
            self.finish(call, EndReason::CallerCancelled);
        }
    }

    /// An ACK for one of our 2xx responses. Returns false if it belongs to no call.
    pub fn on_ack(&mut self, now: Instant, tl: &mut TransactionLayer, req: &Request) -> bool {
        let Some(call) = Self::dialog_key(req).and_then(|k| self.by_dialog.get(&k).copied()) else {
            return false;
        };
        let Some(s) = self.calls.get_mut(&call) else {
            return false;
        };
        s.pending_2xx = None;
        self.awaiting_ack.remove(&call);
        if matches!(s.state, State::Answered) {
            s.state = State::Confirmed;
            if s.offer_in_2xx {
                s.offer_in_2xx = false;
                // Late offer: the ACK carries the answer (RFC 3264 §4, RFC 3261 §13.2.1).
                match sdp::parse(&String::from_utf8_lossy(&req.body))
                    .ok()
                    .and_then(|a| sdp::accept_answer(&a).ok())
                {
                    Some(media) => self.events.push_back(CallEvent::Media { call, media }),
                    None => {
                        debug!(%call, "ACK without a usable SDP answer: hanging up");
                        self.send_bye(now, tl, call, EndReason::NoCommonCodec);
                        return true;
                    }
                }
            }
            if self.calls.get(&call).is_some_and(|s| s.hangup_after_ack) {
                self.send_bye(now, tl, call, EndReason::LocalHangup);
            }
        }
        true
    }

    /// An in-dialog request (BYE, re-INVITE, INFO, OPTIONS, ...). Returns false if
    /// it matches no call (the endpoint answers 481).
    pub fn on_in_dialog(
        &mut self,
        now: Instant,
        tl: &mut TransactionLayer,
        key: &TxKey,
        req: &Request,
    ) -> bool {
        let Some(id) = DialogId::for_incoming(req) else {
            return false;
        };
        let Some(call) = self
            .by_dialog
            .get(&(id.call_id.clone(), id.remote_tag.clone()))
            .copied()
        else {
            return false;
        };
        let contact = self.contact();
        let t1 = self.timers.t1;
        let Some(s) = self.calls.get_mut(&call) else {
            return false;
        };
        if s.local_tag != id.local_tag {
            return false;
        }
        let Some(d) = s.dialog.as_mut() else {
            return false;
        };
        if d.accept_remote_cseq(req).is_err() {
            let r = response_to(req, 500, "CSeq Out of Order", "");
            tl.respond(now, key, &r);
            return true;
        }
        match req.method {
            Method::Bye => {
                tl.respond(now, key, &response_to(req, 200, "OK", ""));
                info!(%call, "caller hung up");
                self.finish(call, EndReason::RemoteHangup);
            }
            Method::Invite => {
                // re-INVITE: hold/resume or a new address (RFC 3264 §8).
                let Some(rtp) = s.local_rtp else { return true };
                if matches!(s.state, State::Answered) {
                    tl.respond(now, key, &response_to(req, 491, "Request Pending", ""));
                    return true;
                }
                let (media, body) = if req.body.is_empty() {
                    (
                        None,
                        sdp::offer(rtp, &mut s.sdp_version, Direction::SendRecv),
                    )
                } else {
                    match sdp::parse(&String::from_utf8_lossy(&req.body))
                        .map(|o| sdp::answer(&o, rtp, &mut s.sdp_version))
                    {
                        Ok(Ok((m, b))) => (Some(m), b),
                        _ => {
                            tl.respond(now, key, &response_to(req, 488, "Not Acceptable Here", ""));
                            return true;
                        }
                    }
                };
                let mut ok = response_to(req, 200, "OK", "");
                ok.headers.push("Contact", contact);
                ok.headers.push("Content-Type", "application/sdp");
                ok.body = body.into_bytes();
                tl.respond(now, key, &ok);
                s.offer_in_2xx = media.is_none();
                self.awaiting_ack.insert(call);
                s.pending_2xx = Some(Pending2xx {
                    bytes: ok.to_bytes(),
                    next: now + t1,
                    interval: t1,
                    give_up: now + 64 * t1,
                });
                s.state = State::Answered;
                if let Some(media) = media {
                    self.events.push_back(CallEvent::Media { call, media });
                }
            }
            Method::Info => {
                let ctype = req.headers.get("Content-Type").unwrap_or("");
                match parse_info(ctype, &req.body) {
                    Some(digit) => {
                        tl.respond(now, key, &response_to(req, 200, "OK", ""));
                        self.events.push_back(CallEvent::Digit { call, digit });
                    }
                    // RFC 6086 §4.2.2: an INFO package we do not understand gets 415.
                    None => {
                        tl.respond(
                            now,
                            key,
                            &response_to(req, 415, "Unsupported Media Type", ""),
                        );
                    }
                }
            }
            Method::Options => {
                let mut r = response_to(req, 200, "OK", "");
                r.headers.push("Allow", super::endpoint::ALLOW);
                tl.respond(now, key, &r);
            }
            Method::Refer => {
                let refer_to: Vec<&str> = req.headers.values("Refer-To");
                // RFC 3515 §2.4.1: exactly one Refer-To, else 400.
                let target = match refer_to.as_slice() {
                    [one] => NameAddr::parse(one).ok(),
                    _ => None,
                };
                let Some(target) = target else {
                    let r = response_to(req, 400, "Bad Refer-To", "");
                    tl.respond(now, key, &r);
                    return true;
                };
                // Attended transfer (RFC 5589 §7): the Refer-To carries a
                // Replaces naming the transferor's other dialog, which (both
                // legs being ours) is one of our own calls.
                let replaces = target
                    .uri
                    .headers
                    .as_deref()
                    .and_then(Replaces::from_uri_headers);
                if let Some(replaces) = replaces {
                    let Ok(replaces) = replaces else {
                        let r = response_to(req, 400, "Bad Replaces", "");
                        tl.respond(now, key, &r);
                        return true;
                    };
                    let mut r = response_to(req, 202, "Accepted", "");
                    r.headers.push("Contact", contact);
                    tl.respond(now, key, &r);
                    let other = self.replaced_call(&replaces);
                    info!(%call, target = %target.uri, ?other, "attended transfer requested (REFER with Replaces)");
                    self.notify_refer(now, tl, call, 100, false);
                    self.events.push_back(CallEvent::AttendedTransfer {
                        call,
                        other,
                        uri: target.uri.to_string(),
                    });
                    return true;
                }
                let Some(user) = target.uri.user.clone().filter(|u| !u.is_empty()) else {
                    let r = response_to(req, 404, "Transfer Target Not Found", "");
                    tl.respond(now, key, &r);
                    return true;
                };
                let mut r = response_to(req, 202, "Accepted", "");
                r.headers.push("Contact", contact);
                tl.respond(now, key, &r);
                info!(%call, target = %target.uri, "transfer requested (REFER)");
                // §2.4.4: the first NOTIFY follows the 202 at once.
                self.notify_refer(now, tl, call, 100, false);
                self.events.push_back(CallEvent::Transfer {
                    call,
                    target: user,
                    uri: target.uri.to_string(),
                });
            }
            _ => {
                let mut r = response_to(req, 405, "Method Not Allowed", "");
                r.headers.push("Allow", super::endpoint::ALLOW);
                tl.respond(now, key, &r);
            }
        }
        true
    }

    /// The call whose dialog a Replaces header names (RFC 3891 §3): same
    /// Call-ID, our tag as `to-tag`, the other party's as `from-tag`. The
    /// tags the other way round are accepted too, as some phones write them
    /// from their own side.
    pub fn replaced_call(&self, r: &Replaces) -> Option<CallRef> {
        [(&r.to_tag, &r.from_tag), (&r.from_tag, &r.to_tag)]
            .into_iter()
            .find_map(|(ours, theirs)| {
                let call = *self.by_dialog.get(&(r.call_id.clone(), theirs.clone()))?;
                let s = self.calls.get(&call)?;
                (s.local_tag == *ours && !matches!(s.state, State::Ending)).then_some(call)
            })
    }

    /// Tells the transferor how the transfer went (RFC 3515 §2.4.5): a NOTIFY
    /// in the REFER's implicit subscription with a `message/sipfrag` status
    /// line; a final status (`done`) ends the subscription.
    pub fn notify_refer(
        &mut self,
        now: Instant,
        tl: &mut TransactionLayer,
        call: CallRef,
        code: u16,
        done: bool,
    ) {
        let local = self.local;
        let branch = self.branch();
        let contact = self.contact();
        let Some(s) = self.calls.get_mut(&call) else {
            return;
        };
        if matches!(s.state, State::Ending) {
            return;
        }
        let Some(d) = s.dialog.as_mut() else { return };
        let mut notify = in_dialog_request(d, Method::Notify, local, &branch);
        notify.headers.push("Contact", contact);
        notify.headers.push("Event", "refer");
        let state = if done {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        notify.headers.push("Subscription-State", state);
        notify
            .headers
            .push("Content-Type", "message/sipfrag;version=2.0");
        notify.headers.push("User-Agent", self.user_agent.clone());
        notify.body =
            format!("SIP/2.0 {code} {}\r\n", super::message::reason_phrase(code)).into_bytes();
        let dest = d.peer;
        tl.send_request(now, notify, dest);
    }

    /// A final response to one of our BYEs (or a timeout): forget the call.
    pub fn on_bye_done(&mut self, key: &TxKey) -> bool {
        match self.by_bye.remove(key) {
            Some(call) => {
                self.remove(call);
                true
            }
            None => false,
        }
    }

    /// 2xx retransmissions and the give-up when no ACK comes.
    pub fn handle_timeout(&mut self, now: Instant, tl: &mut TransactionLayer) {
        let t2 = self.timers.t2;
        let mut no_ack = Vec::new();
        for call in &self.awaiting_ack {
            let Some(s) = self.calls.get_mut(call) else {
                continue;
            };
            let Some(p) = s.pending_2xx.as_mut() else {
                continue;
            };
            if p.give_up <= now {
                no_ack.push(s.call);
                continue;
            }
            if p.next <= now {
                if !s.peer.transport.reliable() {
                    self.transmits.push_back(Transmit {
                        dest: s.peer,
                        bytes: p.bytes.clone(),
                    });
                }
                p.interval = (p.interval * 2).min(t2);
                p.next = now + p.interval;
            }
        }
        for call in no_ack {
            info!(%call, "no ACK for our 2xx: ending the call");
            if let Some(s) = self.calls.get_mut(&call) {
                s.pending_2xx = None;
                s.state = State::Confirmed;
            }
            self.awaiting_ack.remove(&call);
            self.send_bye(now, tl, call, EndReason::NoAck);
        }
    }

    fn contact(&self) -> String {
        format!("<sip:switchboard@{}>", self.local)
    }

    fn finish(&mut self, call: CallRef, reason: EndReason) {
        self.events.push_back(CallEvent::Ended { call, reason });
        self.remove(call);
    }

    fn remove(&mut self, call: CallRef) {
        if let Some(s) = self.calls.remove(&call) {
            if let Some(k) = &s.dialog_key {
                self.by_dialog.remove(k);
            }
            if let Some(k) = &s.bye {
                self.by_bye.remove(k);
            }
            if let Some(k) = &s.invite {
                self.by_invite.remove(k);
            }
            self.awaiting_ack.remove(&call);
            if let Some(d) = s.dialog {
                debug!(%call, call_id = %d.id.call_id, "session removed");
            }
        }
    }
}

/// A request inside dialog `d` with our Via on top (RFC 3261 §12.2.1.1).
fn in_dialog_request(d: &mut Dialog, method: Method, local: SocketAddr, branch: &str) -> Request {
    let mut req = d.request(method);
    req.headers.push_front(
        "Via",
        format!("SIP/2.0/{} {local};branch={branch};rport", d.peer.transport),
    );
    req
}

/// Session ids only need to differ between calls of one run (RFC 4566 §5.2 suggests an NTP time).
fn now_seed(call: CallRef) -> u64 {
    0x5b00_0000 + call.0
}

mod outbound;
pub use outbound::DialRequest;

#[cfg(test)]
mod tests;
