//! The endpoint driven with datagrams and virtual time: what a phone or a
//! scanner sends, and exactly what comes back.

use super::*;
use crate::config::Config;
use std::path::Path;

const PHONE: &str = "127.0.0.1:5090";

fn config() -> Config {
    Config::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/switchboard.yaml"
    )))
    .unwrap()
}

struct Rig {
    ep: Endpoint,
    t0: Instant,
    now: Instant,
}

impl Rig {
    fn new() -> Rig {
        let t0 = Instant::now();
        Rig {
            ep: Endpoint::new(
                &config(),
                "127.0.0.1:5060".parse().unwrap(),
                t0,
                [1; 32],
                42,
            ),
            t0,
            now: t0,
        }
    }

    /// Sends one datagram; returns every message transmitted in reply.
    fn send(&mut self, text: &str) -> Vec<(Peer, String)> {
        self.ep.handle_input(Input::Datagram {
            now: self.now,
            from: PHONE.parse().unwrap(),
            bytes: text.as_bytes(),
        });
        self.outputs().0
    }

    fn outputs(&mut self) -> (Vec<(Peer, String)>, Vec<Event>, Option<Instant>) {
        let (mut sent, mut events) = (Vec::new(), Vec::new());
        loop {
            match self.ep.poll_output() {
                Output::Transmit(t) => sent.push((t.dest, String::from_utf8(t.bytes).unwrap())),
                Output::Event(e) => events.push(e),
                Output::Timeout(at) => return (sent, events, at),
            }
        }
    }

    fn advance(&mut self, to: Duration) -> (Vec<(Peer, String)>, Vec<Event>) {
        let end = self.t0 + to;
        let (mut sent, mut events) = (Vec::new(), Vec::new());
        loop {
            let (s, e, next) = self.outputs();
            sent.extend(s);
            events.extend(e);
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
}

fn request(method: &str, ruri: &str, branch: &str, extra: &str) -> String {
    format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\n\
         From: <sip:1001@127.0.0.1>;tag=ft{branch}\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: cid-{branch}\r\n\
         CSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

fn status(msg: &str) -> u16 {
    msg[8..11].parse().unwrap()
}

#[test]
fn options_gets_200_with_allow_and_rport_filled() {
    let mut r = Rig::new();
    let out = r.send(&request("OPTIONS", "sip:127.0.0.1", "o1", ""));
    assert_eq!(out.len(), 1);
    let (dest, msg) = &out[0];
    assert_eq!(dest.addr.to_string(), PHONE);
    assert_eq!(status(msg), 200);
    assert!(msg.contains(&format!("Allow: {ALLOW}\r\n")));
    assert!(msg.contains("rport=5090;received=127.0.0.1"), "{msg}");
    assert!(msg.contains("To: <sip:1001@127.0.0.1>;tag="), "{msg}");
}

#[test]
fn method_and_header_checks() {
    let mut r = Rig::new();
    let cases = [
        (request("NEWMETHOD", "sip:127.0.0.1", "m1", ""), 501),
        (request("SUBSCRIBE", "sip:127.0.0.1", "m2", ""), 405),
        (request("OPTIONS", "isbn:2983792873", "m3", ""), 416),
        (
            request(
                "OPTIONS",
                "sip:127.0.0.1",
                "m4",
                "Require: nothingwecando\r\n",
            ),
            420,
        ),
        (
            request("OPTIONS", "sip:127.0.0.1", "m5", "")
                .replace("Max-Forwards: 70", "Max-Forwards: 0"),
            483,
        ),
        (request("BYE", "sip:127.0.0.1", "m6", ""), 481),
        (
            request("OPTIONS", "sip:127.0.0.1", "m7", "")
                .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"),
            400,
        ),
    ];
    for (text, want) in cases {
        let out = r.send(&text);
        assert_eq!(out.len(), 1, "{text}");
        assert_eq!(status(&out[0].1), want, "{text}\n{}", out[0].1);
        if matches!(want, 405 | 501) {
            assert!(out[0].1.contains("Allow: "));
        }
        if want == 420 {
            assert!(out[0].1.contains("Unsupported: nothingwecando"));
        }
    }
    assert_eq!(r.ep.stats().malformed_answered, 1);
}

#[test]
fn unanswerable_input_is_dropped_and_counted() {
    let mut r = Rig::new();
    for junk in [
        "garbage\r\n\r\n",
        "OPTIONS sip:x SIP/2.0\r\nTo: <sip:x>\r\n\r\n",
        "\x00\x01\x02",
        "OPTIONS sip:x SIP/2.0\r\n",
    ] {
        assert!(r.send(junk).is_empty(), "{junk:?}");
    }
    assert!(r.send("\r\n\r\n").is_empty()); // keep-alive: not even counted as a drop
    assert_eq!(r.ep.stats().dropped, 4);
    // An ACK never gets an answer, even a malformed one.
    assert!(r
        .send(&request("ACK", "sip:127.0.0.1", "a1", "").replace("CSeq: 1 ACK", "CSeq: x ACK"))
        .is_empty());
}

#[test]
fn invite_to_unknown_number_gets_trying_then_404_and_the_404_is_retransmitted() {
    let mut r = Rig::new();
    let inv = request("INVITE", "sip:99999@127.0.0.1", "i1", "");
    let out = r.send(&inv);
    let codes: Vec<u16> = out.iter().map(|(_, m)| status(m)).collect();
    assert_eq!(codes, [100, 404]);
    // Timer G retransmits the 404 until the ACK arrives.
    let (sent, _) = r.advance(Duration::from_millis(600));
    assert_eq!(sent.len(), 1);
    let ack = request("ACK", "sip:99999@127.0.0.1", "i1", "").replace(
        "To: <sip:1001@127.0.0.1>",
        &format!("To: <sip:1001@127.0.0.1>;tag={}", to_tag(&out[1].1)),
    );
    assert!(r.send(&ack).is_empty());
    let (sent, _) = r.advance(Duration::from_secs(40));
    assert!(sent.is_empty(), "{sent:?}");
}

fn to_tag(msg: &str) -> String {
    msg.lines()
        .find(|l| l.starts_with("To:"))
        .unwrap()
        .split("tag=")
        .nth(1)
        .unwrap()
        .to_string()
}

#[test]
fn merged_request_gets_482() {
    let mut r = Rig::new();
    let a = request("OPTIONS", "sip:127.0.0.1", "x1", "");
    // Same From tag, Call-ID and CSeq, different branch: arrived along a second path.
    let b = a.replace("branch=z9hG4bKx1", "branch=z9hG4bKx2");
    assert_eq!(status(&r.send(&a)[0].1), 200);
    assert_eq!(status(&r.send(&b)[0].1), 482);
}

fn authorization(challenge: &str, user: &str, pw: &str, uri: &str) -> String {
    let www = challenge
        .lines()
        .find(|l| l.starts_with("WWW-Authenticate:") && l.contains("MD5"))
        .unwrap();
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let ha1 = digest::ha1(digest::Algorithm::Md5, user, "switchboard", pw);
    let resp = digest::response(
        digest::Algorithm::Md5,
        &ha1,
        nonce,
        Some("c"),
        Some(1),
        Some("auth"),
        "REGISTER",
        uri,
        b"",
    );
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"switchboard\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{resp}\", qop=auth, nc=00000001, cnonce=\"c\", algorithm=MD5\r\n"
    )
}

use crate::sip::digest;

fn register(r: &mut Rig, cseq: u32, extra: &str) -> Vec<(Peer, String)> {
    let text = request(
        "REGISTER",
        "sip:127.0.0.1",
        &format!("r{cseq}"),
        &format!("Contact: <sip:1001@{PHONE}>\r\n{extra}"),
    )
    .replace("CSeq: 1 REGISTER", &format!("CSeq: {cseq} REGISTER"))
    .replace(&format!("Call-ID: cid-r{cseq}"), "Call-ID: reg-call");
    r.send(&text)
}

#[test]
fn register_retransmission_qualify_and_unreachable() {
    let mut r = Rig::new();
    let challenge = register(&mut r, 1, "");
    assert_eq!(status(&challenge[0].1), 401);
    let auth = authorization(&challenge[0].1, "1001", "secret1001", "sip:127.0.0.1");
    let ok = register(&mut r, 2, &auth);
    assert_eq!(status(&ok[0].1), 200);
    assert!(ok[0]
        .1
        .contains(&format!("Contact: <sip:1001@{PHONE}>;expires=600")));
    let (_, events, _) = r.outputs();
    assert!(events.is_empty()); // drained by send() already
                                // A retransmission of the same REGISTER gets the same 200, not a new evaluation.
    let again = register(&mut r, 2, &auth);
    assert_eq!(again[0].1, ok[0].1);
    assert!(r.ep.registrar().reachable("1001"));

    // Qualify after 30 s: an OPTIONS goes to the phone's source address.
    let (sent, _) = r.advance(Duration::from_secs(30));
    let ping = sent
        .iter()
        .find(|(_, m)| m.starts_with("OPTIONS sip:1001@"))
        .expect("qualify OPTIONS");
    assert_eq!(ping.0.addr.to_string(), PHONE);
    // Nobody answers: after Timer F (32 s) the contact is unreachable.
    let (_, events) = r.advance(Duration::from_secs(63));
    assert!(events.contains(&Event::Reachability {
        extension: "1001".into(),
        contact: format!("sip:1001@{PHONE}"),
        reachable: false
    }));
    assert!(!r.ep.registrar().reachable("1001"));

    // The next ping is answered: reachable again.
    let (sent, _) = r.advance(Duration::from_secs(91));
    let (_, ping) = sent
        .iter()
        .find(|(_, m)| m.starts_with("OPTIONS sip:1001@"))
        .expect("second ping")
        .clone();
    let mut reply = String::from("SIP/2.0 200 OK\r\n");
    for l in ping.lines().filter(|l| {
        ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
            .iter()
            .any(|h| l.starts_with(h))
    }) {
        reply.push_str(l);
        reply.push_str("\r\n");
    }
    reply.push_str("Content-Length: 0\r\n\r\n");
    r.ep.handle_input(Input::Datagram {
        now: r.now,
        from: PHONE.parse().unwrap(),
        bytes: reply.as_bytes(),
    });
    let (_, events, _) = r.outputs();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Reachability {
                reachable: true,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(r.ep.registrar().reachable("1001"));
}

#[test]
fn registration_events_and_expiry() {
    let mut r = Rig::new();
    let challenge = register(&mut r, 1, "Expires: 60\r\n");
    let auth = authorization(&challenge[0].1, "1001", "secret1001", "sip:127.0.0.1");
    r.ep.handle_input(Input::Datagram {
        now: r.now,
        from: PHONE.parse().unwrap(),
        bytes: request(
            "REGISTER",
            "sip:127.0.0.1",
            "r2",
            &format!("Contact: <sip:1001@{PHONE}>\r\nExpires: 60\r\n{auth}"),
        )
        .replace("CSeq: 1 REGISTER", "CSeq: 2 REGISTER")
        .as_bytes(),
    });
    let (_, events, _) = r.outputs();
    assert!(
        matches!(&events[..], [Event::BindingsChanged { extension, bindings }] if extension == "1001" && bindings.len() == 1)
    );
    let (_, events) = r.advance(Duration::from_secs(61));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::BindingsChanged { bindings, .. } if bindings.is_empty())));
}
