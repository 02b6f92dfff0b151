//! INVITE sessions through the whole endpoint, with virtual time: every order
//! of ACK, BYE, CANCEL and re-INVITE a real network produces.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::media::sdp::Direction;
use crate::sip::endpoint::{Endpoint, Event, Input, Output};
use crate::sip::session::{CallEvent, CallRef, EndReason};

const PHONE: &str = "127.0.0.1:5090";
const RTP: &str = "127.0.0.1:10000";

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n";

struct Rig {
    ep: Endpoint,
    t0: Instant,
    now: Instant,
}

impl Rig {
    fn new() -> Rig {
        let cfg = Config::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/switchboard.yaml"
        )))
        .unwrap();
        let t0 = Instant::now();
        Rig {
            ep: Endpoint::new(&cfg, "127.0.0.1:5060".parse().unwrap(), t0, [3; 32], 7),
            t0,
            now: t0,
        }
    }

    fn send(&mut self, text: &str) -> (Vec<String>, Vec<CallEvent>) {
        self.ep.handle_input(Input::Datagram {
            now: self.now,
            from: PHONE.parse().unwrap(),
            bytes: text.as_bytes(),
        });
        self.drain()
    }

    fn drain(&mut self) -> (Vec<String>, Vec<CallEvent>) {
        let (mut sent, mut events) = (Vec::new(), Vec::new());
        loop {
            match self.ep.poll_output() {
                Output::Transmit(t) => sent.push(String::from_utf8(t.bytes).unwrap()),
                Output::Event(Event::Call(e)) => events.push(e),
                Output::Event(_) => {}
                Output::Timeout(_) => return (sent, events),
            }
        }
    }

    /// Runs timers up to t0 + `to`.
    fn advance(&mut self, to: Duration) -> (Vec<(u128, String)>, Vec<CallEvent>) {
        let end = self.t0 + to;
        let (mut sent, mut events) = (Vec::new(), Vec::new());
        loop {
            let next = match self.ep.poll_output() {
                Output::Transmit(t) => {
                    sent.push((
                        (self.now - self.t0).as_millis(),
                        String::from_utf8(t.bytes).unwrap(),
                    ));
                    continue;
                }
                Output::Event(Event::Call(e)) => {
                    events.push(e);
                    continue;
                }
                Output::Event(_) => continue,
                Output::Timeout(next) => next,
            };
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.ep.handle_input(Input::Timeout(self.now));
                }
                _ => break,
            }
        }
        self.now = end;
        (sent, events)
    }

    fn accept(&mut self, call: CallRef) -> (Vec<String>, Vec<CallEvent>) {
        self.ep.accept_call(self.now, call, RTP.parse().unwrap());
        self.drain()
    }
}

fn invite(body: &str, extra: &str) -> String {
    let ctype = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "INVITE sip:5000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bKinv1;rport\r\nMax-Forwards: 70\r\n\
         From: \"Carol\" <sip:0612345678@127.0.0.1>;tag=caller\r\nTo: <sip:5000@127.0.0.1>\r\nCall-ID: call-1\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:caller@{PHONE}>\r\n{extra}{ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn in_dialog(
    method: &str,
    cseq: u32,
    to_tag: &str,
    branch: &str,
    extra: &str,
    body: &str,
) -> String {
    format!(
        "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Carol\" <sip:0612345678@127.0.0.1>;tag=caller\r\nTo: <sip:5000@127.0.0.1>;tag={to_tag}\r\n\
         Call-ID: call-1\r\nCSeq: {cseq} {method}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn code(msg: &str) -> u16 {
    msg[8..11].parse().unwrap_or(0)
}

fn to_tag(msg: &str) -> String {
    msg.lines()
        .find(|l| l.starts_with("To:"))
        .unwrap()
        .split("tag=")
        .nth(1)
        .unwrap()
        .trim()
        .to_string()
}

/// INVITE, accept: returns the call and the 200 OK.
fn answered(r: &mut Rig, body: &str) -> (CallRef, String) {
    let (sent, events) = r.send(&invite(body, ""));
    assert_eq!(sent.iter().map(|m| code(m)).collect::<Vec<_>>(), [100, 180]);
    let call = match &events[..] {
        [CallEvent::Incoming {
            call,
            number,
            caller,
            caller_name,
            ..
        }] => {
            assert_eq!(
                (number.as_str(), caller.as_str(), caller_name.as_deref()),
                ("5000", "0612345678", Some("Carol"))
            );
            *call
        }
        e => panic!("{e:?}"),
    };
    let (sent, _) = r.accept(call);
    assert_eq!(code(&sent[0]), 200);
    (call, sent[0].clone())
}

#[test]
fn answer_prefers_the_callers_codec_and_retransmits_2xx_until_ack() {
    let mut r = Rig::new();
    let (sent, events) = r.send(&invite(OFFER, ""));
    let call = match &events[..] {
        [CallEvent::Incoming { call, .. }] => *call,
        e => panic!("{e:?}"),
    };
    assert_eq!(code(&sent[1]), 180);
    let (sent, events) = r.accept(call);
    let ok = &sent[0];
    assert!(ok.contains("m=audio 10000 RTP/AVP 8 101"), "{ok}");
    assert!(ok.contains("Content-Type: application/sdp"));
    assert!(ok.contains("Contact: <sip:switchboard@127.0.0.1:5060>"));
    match &events[..] {
        [CallEvent::Media { media, .. }] => {
            assert_eq!(media.payload_type, 8);
            assert_eq!(media.telephone_event, Some(101));
            assert_eq!(media.remote, Some("127.0.0.1:6000".parse().unwrap()));
        }
        e => panic!("{e:?}"),
    }
    // No ACK yet: the 2xx is retransmitted at T1, 2T1, 4T1 ... (RFC 3261 §13.3.1.4).
    let (sent, _) = r.advance(Duration::from_millis(3600));
    let at: Vec<u128> = sent
        .iter()
        .filter(|(_, m)| code(m) == 200)
        .map(|(t, _)| t)
        .copied()
        .collect();
    assert_eq!(at, [500, 1500, 3500]);
    // A retransmitted INVITE after the 200 is absorbed, not a new call.
    let (_, events) = r.send(&invite(OFFER, ""));
    assert!(events.is_empty());
    let tag = to_tag(ok);
    let (sent, events) = r.send(&in_dialog("ACK", 1, &tag, "ack1", "", ""));
    assert!(sent.is_empty() && events.is_empty());
    let (sent, _) = r.advance(Duration::from_secs(40));
    assert!(sent.iter().all(|(_, m)| code(m) != 200), "{sent:?}");
    // The caller hangs up.
    let (sent, events) = r.send(&in_dialog("BYE", 2, &tag, "bye1", "", ""));
    assert_eq!(code(&sent[0]), 200);
    assert_eq!(
        events,
        [CallEvent::Ended {
            call,
            reason: EndReason::RemoteHangup
        }]
    );
    // A second BYE finds nothing.
    let (sent, _) = r.send(&in_dialog("BYE", 3, &tag, "bye2", "", ""));
    assert_eq!(code(&sent[0]), 481);
}

#[test]
fn caller_cancels_while_ringing() {
    let mut r = Rig::new();
    let (_, events) = r.send(&invite(OFFER, ""));
    let call = match &events[..] {
        [CallEvent::Incoming { call, .. }] => *call,
        e => panic!("{e:?}"),
    };
    let cancel = invite("", "")
        .replace("INVITE sip:5000", "CANCEL sip:5000")
        .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL");
    let (sent, events) = r.send(&cancel);
    let codes: Vec<u16> = sent.iter().map(|m| code(m)).collect();
    assert_eq!(codes, [200, 487]);
    assert!(sent[1].contains("CSeq: 1 INVITE"));
    assert_eq!(
        events,
        [CallEvent::Ended {
            call,
            reason: EndReason::CallerCancelled
        }]
    );
    // Accepting afterwards does nothing.
    let (sent, _) = r.accept(call);
    assert!(sent.is_empty());
}

#[test]
fn no_ack_ends_the_call_with_a_bye() {
    let mut r = Rig::new();
    let (call, _) = answered(&mut r, OFFER);
    let (sent, events) = r.advance(Duration::from_secs(33));
    assert!(sent
        .iter()
        .any(|(t, m)| m.starts_with("BYE sip:caller@127.0.0.1:5090") && *t >= 32_000));
    assert_eq!(
        events,
        [CallEvent::Ended {
            call,
            reason: EndReason::NoAck
        }]
    );
}

#[test]
fn late_offer_takes_the_answer_from_the_ack() {
    let mut r = Rig::new();
    let (call, ok) = answered(&mut r, "");
    assert!(ok.contains("m=audio 10000 RTP/AVP 0 8 101"), "{ok}");
    let answer = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 0 101");
    let ack = in_dialog(
        "ACK",
        1,
        &to_tag(&ok),
        "ack",
        "Content-Type: application/sdp\r\n",
        &answer,
    );
    let (_, events) = r.send(&ack);
    match &events[..] {
        [CallEvent::Media { call: c, media }] => {
            assert_eq!(*c, call);
            assert_eq!(media.payload_type, 0);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn reinvite_puts_the_call_on_hold_and_back() {
    let mut r = Rig::new();
    let (call, ok) = answered(&mut r, OFFER);
    let tag = to_tag(&ok);
    r.send(&in_dialog("ACK", 1, &tag, "ack", "", ""));
    let hold = OFFER
        .replace("a=sendrecv", "a=sendonly")
        .replace("o=- 1 1", "o=- 1 2");
    let ct = "Content-Type: application/sdp\r\nContact: <sip:caller@127.0.0.1:5090>\r\n";
    let (sent, events) = r.send(&in_dialog("INVITE", 2, &tag, "re1", ct, &hold));
    let ok2 = sent
        .iter()
        .find(|m| code(m) == 200)
        .expect("200 to re-INVITE");
    assert!(ok2.contains("a=recvonly"), "{ok2}");
    assert!(
        ok2.contains("o=switchboard")
            && !ok2.contains(
                &ok.lines()
                    .find(|l| l.starts_with("o="))
                    .unwrap()
                    .to_string()
            )
    );
    assert!(
        matches!(&events[..], [CallEvent::Media { call: c, media }] if *c == call && media.direction == Direction::RecvOnly)
    );
    r.send(&in_dialog("ACK", 2, &tag, "ack2", "", ""));
    let resume = OFFER.replace("o=- 1 1", "o=- 1 3");
    let (sent, events) = r.send(&in_dialog("INVITE", 3, &tag, "re2", ct, &resume));
    assert!(sent
        .iter()
        .any(|m| code(m) == 200 && m.contains("a=sendrecv")));
    assert!(
        matches!(&events[..], [CallEvent::Media { media, .. }] if media.direction == Direction::SendRecv)
    );
}

#[test]
fn info_digits_and_out_of_order_cseq() {
    let mut r = Rig::new();
    let (call, ok) = answered(&mut r, OFFER);
    let tag = to_tag(&ok);
    r.send(&in_dialog("ACK", 1, &tag, "ack", "", ""));
    let relay = in_dialog(
        "INFO",
        2,
        &tag,
        "i1",
        "Content-Type: application/dtmf-relay\r\n",
        "Signal=5\r\nDuration=160\r\n",
    );
    let (sent, events) = r.send(&relay);
    assert_eq!(code(&sent[0]), 200);
    assert_eq!(events, [CallEvent::Digit { call, digit: '5' }]);
    let plain = in_dialog(
        "INFO",
        3,
        &tag,
        "i2",
        "Content-Type: application/dtmf\r\n",
        "#",
    );
    assert_eq!(r.send(&plain).1, [CallEvent::Digit { call, digit: '#' }]);
    let old = in_dialog(
        "INFO",
        2,
        &tag,
        "i3",
        "Content-Type: application/dtmf\r\n",
        "1",
    );
    let (sent, events) = r.send(&old);
    assert_eq!(code(&sent[0]), 500);
    assert!(events.is_empty());
    let unknown = in_dialog(
        "INFO",
        4,
        &tag,
        "i4",
        "Content-Type: application/xml\r\n",
        "<x/>",
    );
    assert_eq!(code(&r.send(&unknown).0[0]), 415);
}

#[test]
fn we_hang_up_with_a_proper_bye() {
    let mut r = Rig::new();
    let (call, ok) = answered(&mut r, OFFER);
    let tag = to_tag(&ok);
    // Before the ACK a BYE must wait (RFC 3261 §15).
    r.ep.hangup_call(r.now, call);
    assert!(r.drain().0.is_empty());
    let (sent, events) = r.send(&in_dialog("ACK", 1, &tag, "ack", "", ""));
    let bye = sent
        .iter()
        .find(|m| m.starts_with("BYE "))
        .expect("BYE after ACK");
    assert!(bye.starts_with("BYE sip:caller@127.0.0.1:5090 SIP/2.0"));
    assert!(bye.contains(&format!("From: <sip:5000@127.0.0.1>;tag={tag}")));
    assert!(bye.contains("To: \"Carol\" <sip:0612345678@127.0.0.1>;tag=caller"));
    assert!(bye.contains("CSeq: 2 BYE"));
    assert_eq!(
        events,
        [CallEvent::Ended {
            call,
            reason: EndReason::LocalHangup
        }]
    );
}

#[test]
fn no_common_codec_is_488() {
    let mut r = Rig::new();
    let g729 = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 18").replace(
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n",
        "",
    );
    let (_, events) = r.send(&invite(&g729, ""));
    let call = match &events[..] {
        [CallEvent::Incoming { call, .. }] => *call,
        e => panic!("{e:?}"),
    };
    let (sent, events) = r.accept(call);
    assert_eq!(code(&sent[0]), 488);
    assert_eq!(
        events,
        [CallEvent::Ended {
            call,
            reason: EndReason::NoCommonCodec
        }]
    );
}

mod outbound {
    use super::*;
    use crate::sip::session::DialRequest;
    use crate::sip::transport::{Peer, Transport};

    const AGENT: &str = "127.0.0.1:5092";

    fn dial(r: &mut Rig) -> (CallRef, String) {
        let call = r.ep.dial(
            r.now,
            DialRequest {
                target: format!("sip:1001@{AGENT}"),
                dest: Peer {
                    transport: Transport::Udp,
                    addr: AGENT.parse().unwrap(),
                },
                to: "sip:1001@127.0.0.1".into(),
                from_user: "0612345678".into(),
                from_name: Some("Carol".into()),
                headers: vec![("X-Switchboard-Queue".into(), "billing".into())],
                rtp: RTP.parse().unwrap(),
            },
        );
        let (sent, _) = r.drain();
        (
            call,
            sent.into_iter()
                .find(|m| m.starts_with("INVITE "))
                .expect("an INVITE"),
        )
    }

    /// The agent phone's answer to our request `req`.
    fn answer(req: &str, code: u16, tag: &str, body: &str) -> String {
        let mut out = format!("SIP/2.0 {code} X\r\n");
        for l in req.lines().filter(|l| {
            ["Via:", "From:", "Call-ID:", "CSeq:"]
                .iter()
                .any(|h| l.starts_with(h))
        }) {
            out.push_str(l);
            out.push_str("\r\n");
        }
        let to = req.lines().find(|l| l.starts_with("To:")).unwrap();
        out.push_str(&format!(
            "{to};tag={tag}\r\nContact: <sip:1001@{AGENT}>\r\n"
        ));
        if !body.is_empty() {
            out.push_str("Content-Type: application/sdp\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        out
    }

    fn from_agent(r: &mut Rig, text: &str) -> (Vec<String>, Vec<CallEvent>) {
        r.ep.handle_input(Input::Datagram {
            now: r.now,
            from: AGENT.parse().unwrap(),
            bytes: text.as_bytes(),
        });
        r.drain()
    }

    #[test]
    fn dial_ring_answer_ack_and_the_agent_hangs_up() {
        let mut r = Rig::new();
        let (call, invite) = dial(&mut r);
        assert!(invite.starts_with(&format!("INVITE sip:1001@{AGENT} SIP/2.0")));
        assert!(invite.contains("From: \"Carol\" <sip:0612345678@127.0.0.1>;tag="));
        assert!(invite.contains("X-Switchboard-Queue: billing"));
        assert!(invite.contains("m=audio 10000 RTP/AVP 0 8 101"), "{invite}");
        let (_, ev) = from_agent(&mut r, &answer(&invite, 180, "ag1", ""));
        assert_eq!(ev, [CallEvent::Ringing { call }]);
        let ok = answer(
            &invite,
            200,
            "ag1",
            &OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 0 101"),
        );
        let (sent, ev) = from_agent(&mut r, &ok);
        let ack = sent
            .iter()
            .find(|m| m.starts_with("ACK "))
            .expect("ACK for the 2xx");
        assert!(
            ack.starts_with(&format!("ACK sip:1001@{AGENT} SIP/2.0"))
                && ack.contains("CSeq: 1 ACK"),
            "{ack}"
        );
        assert!(
            matches!(&ev[..], [CallEvent::Answered { .. }, CallEvent::Media { media, .. }] if media.payload_type == 0)
        );
        // A retransmitted 2xx gets the same ACK again.
        let (again, _) = from_agent(&mut r, &ok);
        assert_eq!(again.iter().filter(|m| m.starts_with("ACK ")).count(), 1);
        // The agent hangs up.
        let tag = invite
            .lines()
            .find(|l| l.starts_with("From:"))
            .unwrap()
            .split("tag=")
            .nth(1)
            .unwrap()
            .to_string();
        let call_id = invite.lines().find(|l| l.starts_with("Call-ID:")).unwrap()[9..]
            .trim()
            .to_string();
        let bye = format!(
            "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {AGENT};branch=z9hG4bKagbye\r\nFrom: <sip:1001@127.0.0.1>;tag=ag1\r\nTo: <sip:0612345678@127.0.0.1>;tag={tag}\r\nCall-ID: {call_id}\r\nCSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n"
        );
        let (sent, ev) = from_agent(&mut r, &bye);
        assert_eq!(code(&sent[0]), 200);
        assert_eq!(
            ev,
            [CallEvent::Ended {
                call,
                reason: EndReason::RemoteHangup
            }]
        );
    }

    /// The agent's phone blind-transfers the caller: REFER in our dialog,
    /// 202, then NOTIFYs with the progress as message/sipfrag (RFC 3515).
    #[test]
    fn agent_refers_the_call_elsewhere() {
        let mut r = Rig::new();
        let (call, invite) = dial(&mut r);
        let ok = answer(&invite, 200, "ag1", OFFER);
        from_agent(&mut r, &ok);
        let field = |name: &str| {
            invite.lines().find(|l| l.starts_with(name)).unwrap()[name.len()..]
                .trim()
                .to_string()
        };
        let (from, call_id) = (field("From:"), field("Call-ID:"));
        let refer = |cseq: u32, refer_to: &str| {
            format!(
                "REFER sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {AGENT};branch=z9hG4bKref{cseq}\r\n\
                 From: <sip:1001@127.0.0.1>;tag=ag1\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REFER\r\n\
                 {refer_to}Referred-By: <sip:1001@127.0.0.1>\r\nContent-Length: 0\r\n\r\n"
            )
        };
        // No Refer-To: 400 (§2.4.1).
        let (sent, ev) = from_agent(&mut r, &refer(2, ""));
        assert_eq!((code(&sent[0]), ev.len()), (400, 0));
        // An attended transfer (RFC 5589 §7): the Replaces is resolved to
        // one of our calls, with the tags either way round; one naming no
        // call of ours is still accepted, and the outcome NOTIFY says why.
        let ours = from.split(";tag=").nth(1).unwrap().to_string();
        let encoded = call_id.replace('@', "%40");
        for (cseq, replaces, want) in [
            (3, "abc%3Bto-tag%3Dx%3Bfrom-tag%3Dy".to_string(), None),
            (
                4,
                format!("{encoded}%3Bto-tag%3D{ours}%3Bfrom-tag%3Dag1"),
                Some(call),
            ),
            (
                5,
                format!("{encoded}%3Bfrom-tag%3D{ours}%3Bto-tag%3Dag1"),
                Some(call),
            ),
        ] {
            let uri = format!("sip:1002@127.0.0.1?Replaces={replaces}");
            let (sent, ev) = from_agent(&mut r, &refer(cseq, &format!("Refer-To: <{uri}>\r\n")));
            assert_eq!(code(&sent[0]), 202, "{replaces}");
            assert_eq!(
                ev,
                [CallEvent::AttendedTransfer {
                    call,
                    other: want,
                    uri: uri.clone()
                }]
            );
        }
        let (sent, ev) = from_agent(
            &mut r,
            &refer(
                6,
                "Refer-To: <sip:1002@127.0.0.1?Replaces=abc%3Bto-tag%3Dx>\r\n",
            ),
        );
        assert_eq!((code(&sent[0]), ev.len()), (400, 0));
        let (sent, ev) = from_agent(&mut r, &refer(7, "Refer-To: <sip:billing@127.0.0.1>\r\n"));
        assert_eq!(code(&sent[0]), 202);
        assert_eq!(
            ev,
            [CallEvent::Transfer {
                call,
                target: "billing".into(),
                uri: "sip:billing@127.0.0.1".into()
            }]
        );
        let first = sent
            .iter()
            .find(|m| m.starts_with("NOTIFY "))
            .expect("NOTIFY");
        assert!(first.contains("Event: refer"), "{first}");
        assert!(first.contains("Subscription-State: active"), "{first}");
        assert!(first.ends_with("SIP/2.0 100 Trying\r\n"), "{first}");
        r.ep.notify_transfer(r.now, call, 200, true);
        let (sent, _) = r.drain();
        let last = sent
            .iter()
            .find(|m| m.starts_with("NOTIFY "))
            .expect("NOTIFY");
        assert!(last.contains("Subscription-State: terminated"), "{last}");
        assert!(last.ends_with("SIP/2.0 200 OK\r\n"), "{last}");
        assert!(last.contains("message/sipfrag"), "{last}");
    }

    #[test]
    fn cancel_waits_for_a_provisional_response() {
        let mut r = Rig::new();
        let (call, invite) = dial(&mut r);
        r.ep.hangup_call(r.now, call);
        assert!(
            r.drain().0.is_empty(),
            "no CANCEL before a provisional response (RFC 3261 9.1)"
        );
        let (sent, _) = from_agent(&mut r, &answer(&invite, 180, "ag2", ""));
        let cancel = sent
            .iter()
            .find(|m| m.starts_with("CANCEL "))
            .expect("CANCEL after the 180");
        let branch = |m: &str| {
            m.lines()
                .find(|l| l.starts_with("Via:"))
                .unwrap()
                .split("branch=")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(branch(cancel), branch(&invite));
        assert!(cancel.contains("CSeq: 1 CANCEL"));
        from_agent(&mut r, &answer(cancel, 200, "ag2", ""));
        let (sent, ev) = from_agent(&mut r, &answer(&invite, 487, "ag2", ""));
        assert!(
            sent.iter().any(|m| m.starts_with("ACK ")),
            "the 487 is ACKed by the transaction"
        );
        assert_eq!(
            ev,
            [CallEvent::Ended {
                call,
                reason: EndReason::Cancelled
            }]
        );
    }

    #[test]
    fn busy_and_silent_phones() {
        let mut r = Rig::new();
        let (call, invite) = dial(&mut r);
        let (_, ev) = from_agent(&mut r, &answer(&invite, 486, "ag3", ""));
        assert_eq!(
            ev,
            [CallEvent::Ended {
                call,
                reason: EndReason::Declined { code: 486 }
            }]
        );
        let (call, _) = dial(&mut r);
        let (_, ev) = r.advance(Duration::from_secs(33));
        assert!(
            ev.contains(&CallEvent::Ended {
                call,
                reason: EndReason::Unreachable
            }),
            "{ev:?}"
        );
    }
}
