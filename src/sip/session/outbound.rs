//! Outgoing calls (the UAC side, RFC 3261 §13.2): what the queue uses to ring
//! an agent's phone. We offer SDP in the INVITE, ACK every 2xx ourselves
//! (§13.2.2.4), and CANCEL (§9.1) when the caller gives up or the ring times out.

use std::net::SocketAddr;
use std::time::Instant;

use tracing::{debug, info};

use super::{in_dialog_request, CallEvent, CallRef, EndReason, Session, Sessions, State};
use crate::media::sdp::{self, Direction, SessionVersion};
use crate::sip::dialog::Dialog;
use crate::sip::headers::CSeq;
use crate::sip::message::{Method, Request, Response};
use crate::sip::transaction::{TransactionLayer, Transmit, TxKey};
use crate::sip::transport::Peer;

/// Whom to call and how to present the call.
#[derive(Debug, Clone)]
pub struct DialRequest {
    /// Request-URI: the registered contact of the phone.
    pub target: String,
    /// Where to send: the address the phone registered from (NAT-safe).
    pub dest: Peer,
    /// To header URI: the extension's address of record.
    pub to: String,
    /// Who is calling, shown on the phone (the original caller).
    pub from_user: String,
    pub from_name: Option<String>,
    /// Extra headers, e.g. `X-Switchboard-Queue` for the agent's screen.
    pub headers: Vec<(String, String)>,
    /// Our RTP address for this leg.
    pub rtp: SocketAddr,
}

impl Sessions {
    /// Places a call; `Ringing`, `Answered` + `Media`, or `Ended` follow.
    pub fn dial(&mut self, now: Instant, tl: &mut TransactionLayer, req: DialRequest) -> CallRef {
        let call = CallRef(self.next);
        self.next += 1;
        let tag = format!("{:016x}", rand::Rng::gen::<u64>(&mut self.rng));
        let call_id = format!(
            "{:016x}-{}@switchboard",
            rand::Rng::gen::<u64>(&mut self.rng),
            call.0
        );
        let branch = self.branch();
        let mut version = SessionVersion::new(0x5c00_0000 + call.0);
        let body = sdp::offer(req.rtp, &mut version, Direction::SendRecv);
        let mut invite = Request::new(Method::Invite, req.target.clone());
        let from = match &req.from_name {
            Some(n) => format!(
                "\"{}\" <sip:{}@{}>;tag={tag}",
                n.replace('"', ""),
                req.from_user,
                self.local.ip()
            ),
            None => format!("<sip:{}@{}>;tag={tag}", req.from_user, self.local.ip()),
        };
        let h = &mut invite.headers;
        h.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                req.dest.transport, self.local
            ),
        );
        h.push("Max-Forwards", "70");
        h.push("From", from);
        h.push("To", format!("<{}>", req.to));
        h.push("Call-ID", call_id.clone());
        h.push("CSeq", "1 INVITE");
        h.push("Contact", format!("<sip:switchboard@{}>", self.local));
        h.push("Allow", crate::sip::endpoint::ALLOW);
        h.push("User-Agent", self.user_agent.clone());
        for (k, v) in &req.headers {
            h.push(k.clone(), v.clone());
        }
        h.push("Content-Type", "application/sdp");
        invite.body = body.into_bytes();
        info!(%call, target = %req.target, %call_id, "dialling");
        let Some(key) = tl.send_request(now, invite.clone(), req.dest) else {
            self.events.push_back(CallEvent::Ended {
                call,
                reason: EndReason::Unreachable,
            });
            return call;
        };
        self.by_invite.insert(key.clone(), call);
        self.calls.insert(
            call,
            Session {
                call,
                state: State::Dialing {
                    invite,
                    provisional: false,
                    cancel: false,
                },
                peer: req.dest,
                local_tag: tag,
                dialog: None,
                sdp_version: version,
                local_rtp: Some(req.rtp),
                offer_in_2xx: false,
                pending_2xx: None,
                hangup_after_ack: false,
                ack: None,
                dialog_key: None,
                invite: Some(key),
                bye: None,
            },
        );
        call
    }

    /// Gives up on an outgoing call that is not answered yet (RFC 3261 §9.1).
    pub(super) fn cancel(&mut self, now: Instant, tl: &mut TransactionLayer, call: CallRef) {
        let Some(s) = self.calls.get_mut(&call) else {
            return;
        };
        let State::Dialing {
            invite,
            provisional,
            cancel,
            ..
        } = &mut s.state
        else {
            return;
        };
        if *cancel {
            return;
        }
        *cancel = true;
        if !*provisional {
            // No response yet: the CANCEL waits for the first provisional one (§9.1).
            return;
        }
        let req = cancel_for(invite);
        let dest = s.peer;
        tl.send_request(now, req, dest);
    }

    /// A response to one of our INVITEs (or to a CANCEL, which needs nothing).
    /// Returns false if it is not ours.
    pub fn on_invite_response(
        &mut self,
        now: Instant,
        tl: &mut TransactionLayer,
        key: &TxKey,
        resp: &Response,
    ) -> bool {
        if key.method == Method::Cancel {
            // A CANCEL shares its INVITE's branch (RFC 3261 §9.1).
            let invite = TxKey {
                method: Method::Invite,
                ..key.clone()
            };
            return self.by_invite.contains_key(&invite);
        }
        let Some(call) = self.by_invite.get(key).copied() else {
            return false;
        };
        let Some(s) = self.calls.get_mut(&call) else {
            return true;
        };
        match (&mut s.state, resp.code) {
            (
                State::Dialing {
                    invite,
                    provisional,
                    cancel,
                    ..
                },
                100..=199,
            ) => {
                if !*provisional {
                    *provisional = true;
                    if *cancel {
                        let req = cancel_for(invite);
                        let dest = s.peer;
                        tl.send_request(now, req, dest);
                    }
                }
                if resp.code >= 180 {
                    self.events.push_back(CallEvent::Ringing { call });
                }
            }
            (State::Dialing { invite, cancel, .. }, 200..=299) => {
                let invite = invite.clone();
                let cancelled = *cancel;
                let dialog = match Dialog::uac(&invite, resp, s.peer) {
                    Ok(d) => d,
                    Err(e) => {
                        debug!(%call, "2xx without a usable dialog: {e}");
                        return true;
                    }
                };
                let media = sdp::parse_bytes(&resp.body)
                    .ok()
                    .and_then(|a| sdp::accept_answer(&a).ok());
                s.dialog = Some(dialog);
                s.state = State::Confirmed;
                self.ack(call);
                if let Some(s) = self.calls.get_mut(&call) {
                    if let Some(d) = s.dialog.as_ref() {
                        let k = (d.id.call_id.clone(), d.id.remote_tag.clone());
                        self.by_dialog.insert(k.clone(), call);
                        s.dialog_key = Some(k);
                    }
                }
                if cancelled || media.is_none() {
                    // Answered after we gave up, or nothing to talk with: end it at once.
                    let reason = if cancelled {
                        EndReason::Cancelled
                    } else {
                        EndReason::NoCommonCodec
                    };
                    self.send_bye(now, tl, call, reason);
                    return true;
                }
                info!(%call, "answered");
                self.events.push_back(CallEvent::Answered { call });
                if let Some(media) = media {
                    self.events.push_back(CallEvent::Media { call, media });
                }
            }
            (State::Dialing { cancel, .. }, code) => {
                let reason = if *cancel && code == 487 {
                    EndReason::Cancelled
                } else {
                    EndReason::Declined { code }
                };
                info!(%call, code, "not answered");
                self.finish(call, reason);
            }
            // A 2xx retransmission (or another fork's 2xx): ACK again (§13.2.2.4).
            (_, 200..=299) => {
                if let Some(ack) = s.ack.clone() {
                    self.transmits.push_back(Transmit {
                        dest: s.peer,
                        bytes: ack,
                    });
                }
            }
            _ => {}
        }
        true
    }

    fn ack(&mut self, call: CallRef) {
        let local = self.local;
        let branch = self.branch();
        let Some(s) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(d) = s.dialog.as_mut() else { return };
        let ack = in_dialog_request(d, Method::Ack, local, &branch);
        let bytes = ack.to_bytes();
        s.ack = Some(bytes.clone());
        self.transmits.push_back(Transmit {
            dest: s.peer,
            bytes,
        });
    }

    /// Timer B fired or the transport failed for our INVITE.
    pub fn on_invite_timeout(&mut self, key: &TxKey) -> bool {
        let Some(call) = self.by_invite.get(key).copied() else {
            return false;
        };
        if self
            .calls
            .get(&call)
            .is_some_and(|s| matches!(s.state, State::Dialing { .. }))
        {
            self.finish(call, EndReason::Unreachable);
        }
        true
    }
}

/// The CANCEL for an INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, From,
/// To, CSeq number and top Via (so it matches the INVITE's branch), and Route.
fn cancel_for(invite: &Request) -> Request {
    let mut c = Request::new(Method::Cancel, invite.uri.clone());
    let h = &mut c.headers;
    if let Some(v) = invite.headers.values("Via").first() {
        h.push("Via", *v);
    }
    h.push("Max-Forwards", "70");
    h.copy_from(&invite.headers, "From");
    h.copy_from(&invite.headers, "To");
    h.copy_from(&invite.headers, "Call-ID");
    let seq = invite
        .headers
        .get("CSeq")
        .and_then(|v| CSeq::parse(v).ok())
        .map(|c| c.seq)
        .unwrap_or(1);
    h.push("CSeq", format!("{seq} CANCEL"));
    h.copy_from(&invite.headers, "Route");
    c
}
