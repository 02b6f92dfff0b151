use super::*;
use crate::sip::message::Message;
use crate::sip::parse::parse_datagram;
use crate::sip::transport::Transport;

fn udp() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "127.0.0.1:5080".parse().unwrap(),
    }
}
fn tcp() -> Peer {
    Peer {
        transport: Transport::Tcp,
        addr: "127.0.0.1:5080".parse().unwrap(),
    }
}

fn request(method: &str, branch: &str) -> Request {
    let text = format!(
        "{method} sip:5000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}\r\n\
         From: <sip:c@h>;tag=f1\r\nTo: <sip:5000@127.0.0.1>\r\nCall-ID: call-1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    );
    match parse_datagram(text.as_bytes(), 65535).unwrap() {
        Message::Request(r) => r,
        _ => unreachable!(),
    }
}

fn response_to(req: &Request, code: u16) -> Response {
    let mut r = Response::new(code, "X");
    r.headers.copy_from(&req.headers, "Via");
    r.headers.copy_from(&req.headers, "From");
    r.headers
        .push("To", format!("{};tag=t1", req.headers.get("To").unwrap()));
    r.headers.copy_from(&req.headers, "Call-ID");
    r.headers.copy_from(&req.headers, "CSeq");
    r
}

fn drain(l: &mut TransactionLayer) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| l.poll_transmit())
        .map(|t| t.bytes)
        .collect()
}

/// Runs timers until `until`, returning the offsets (ms from t0) at which something was sent.
fn run(l: &mut TransactionLayer, t0: Instant, until: Duration) -> Vec<u128> {
    let mut sent = Vec::new();
    while let Some(at) = l.poll_timeout() {
        if at > t0 + until {
            break;
        }
        l.handle_timeout(at);
        for _ in drain(l) {
            sent.push((at - t0).as_millis());
        }
    }
    sent
}

#[test]
fn non_invite_server_absorbs_retransmissions_then_expires() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("OPTIONS", "z9hG4bK-a");
    let Incoming::Request(key) = l.on_request(t0, &req, udp()) else {
        panic!()
    };
    assert!(l.respond(t0, &key, &response_to(&req, 200)));
    assert_eq!(drain(&mut l).len(), 1);
    // Retransmitted request: same response again, not a new request for the TU.
    assert_eq!(
        l.on_request(t0 + Duration::from_secs(1), &req, udp()),
        Incoming::Absorbed
    );
    let again = drain(&mut l);
    assert!(again[0].starts_with(b"SIP/2.0 200"));
    // Timer J = 64*T1 on UDP.
    l.handle_timeout(t0 + Duration::from_millis(31_999));
    assert_eq!(l.server_count(), 1);
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(l.server_count(), 0);
    assert!(!l.respond(t0, &key, &response_to(&req, 200)));
}

#[test]
fn non_invite_server_on_tcp_ends_at_once() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("OPTIONS", "z9hG4bK-b");
    let Incoming::Request(key) = l.on_request(t0, &req, tcp()) else {
        panic!()
    };
    l.respond(t0, &key, &response_to(&req, 200));
    l.handle_timeout(t0);
    assert_eq!(l.server_count(), 0);
}

#[test]
fn invite_server_non2xx_retransmits_with_timer_g_until_h() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("INVITE", "z9hG4bK-c");
    let Incoming::Request(key) = l.on_request(t0, &req, udp()) else {
        panic!()
    };
    l.respond(t0, &key, &response_to(&req, 486));
    drain(&mut l);
    let sent = run(&mut l, t0, Duration::from_secs(40));
    // G: 0.5, 1, 2, 4 (capped at T2) ... until H at 32 s.
    assert_eq!(
        sent,
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(l.poll_event(), Some(TxEvent::ServerAckTimeout(key)));
    assert_eq!(l.server_count(), 0);
}

#[test]
fn invite_server_ack_stops_retransmissions() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("INVITE", "z9hG4bK-d");
    let Incoming::Request(key) = l.on_request(t0, &req, udp()) else {
        panic!()
    };
    l.respond(t0, &key, &response_to(&req, 404));
    drain(&mut l);
    let ack = request("ACK", "z9hG4bK-d");
    assert_eq!(
        l.on_request(t0 + Duration::from_millis(100), &ack, udp()),
        Incoming::Absorbed
    );
    assert_eq!(
        l.on_request(t0 + Duration::from_millis(200), &ack, udp()),
        Incoming::Absorbed
    );
    assert!(run(&mut l, t0, Duration::from_secs(10)).is_empty());
    assert_eq!(l.poll_event(), None);
    assert_eq!(l.server_count(), 0); // Timer I = T4 after the ACK
}

#[test]
fn invite_server_2xx_is_accepted_and_absorbs_retransmitted_invites() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("INVITE", "z9hG4bK-e");
    let Incoming::Request(key) = l.on_request(t0, &req, udp()) else {
        panic!()
    };
    l.respond(t0, &key, &response_to(&req, 200));
    drain(&mut l);
    // RFC 6026: a retransmitted INVITE after the 2xx is absorbed; the TU retransmits the 2xx.
    assert_eq!(
        l.on_request(t0 + Duration::from_millis(500), &req, udp()),
        Incoming::Absorbed
    );
    assert!(drain(&mut l).is_empty());
    assert_eq!(
        l.on_request(t0, &request("ACK", "z9hG4bK-e"), udp()),
        Incoming::Ack
    );
    assert_eq!(
        l.on_request(t0, &request("ACK", "z9hG4bK-other"), udp()),
        Incoming::Ack
    );
    l.handle_timeout(t0 + Duration::from_secs(32)); // Timer L
    assert_eq!(l.server_count(), 0);
}

#[test]
fn cancel_finds_the_live_invite_only() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let inv = request("INVITE", "z9hG4bK-f");
    let Incoming::Request(ikey) = l.on_request(t0, &inv, udp()) else {
        panic!()
    };
    match l.on_request(t0, &request("CANCEL", "z9hG4bK-f"), udp()) {
        Incoming::Cancel { invite, .. } => assert_eq!(invite, Some(ikey.clone())),
        other => panic!("{other:?}"),
    }
    // A retransmitted CANCEL is absorbed by its own transaction.
    assert_eq!(
        l.on_request(t0, &request("CANCEL", "z9hG4bK-f"), udp()),
        Incoming::Absorbed
    );
    l.respond(t0, &ikey, &response_to(&inv, 487));
    match l.on_request(t0, &request("CANCEL", "z9hG4bK-g"), udp()) {
        Incoming::Cancel { invite, .. } => assert_eq!(invite, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_invite_client_timer_e_then_f() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("OPTIONS", "z9hG4bK-h");
    let key = l.send_request(t0, req, udp()).unwrap();
    assert_eq!(drain(&mut l).len(), 1);
    let sent = run(&mut l, t0, Duration::from_secs(40));
    assert_eq!(
        sent,
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(l.poll_event(), Some(TxEvent::ClientTimeout(key)));
    assert_eq!(l.client_count(), 0);
}

#[test]
fn non_invite_client_gets_response_once() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("OPTIONS", "z9hG4bK-i");
    let key = l.send_request(t0, req.clone(), udp()).unwrap();
    drain(&mut l);
    let (k, r) = l.on_response(t0, response_to(&req, 200)).unwrap();
    assert_eq!((k, r.code), (key, 200));
    assert!(l.on_response(t0, response_to(&req, 200)).is_none());
    assert!(run(&mut l, t0, Duration::from_secs(10)).is_empty());
    assert_eq!(l.client_count(), 0); // Timer K
    assert_eq!(l.poll_event(), None);
}

#[test]
fn invite_client_acks_failures_and_times_out_with_b() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("INVITE", "z9hG4bK-j");
    l.send_request(t0, req.clone(), udp()).unwrap();
    drain(&mut l);
    let (_, r) = l.on_response(t0, response_to(&req, 486)).unwrap();
    assert_eq!(r.code, 486);
    let ack = drain(&mut l);
    assert!(ack[0].starts_with(
        b"ACK sip:5000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-j"
    ));
    assert!(String::from_utf8_lossy(&ack[0]).contains("CSeq: 1 ACK"));
    assert!(String::from_utf8_lossy(&ack[0]).contains("tag=t1"));
    // Retransmitted 486: ACK again, TU not bothered.
    assert!(l.on_response(t0, response_to(&req, 486)).is_none());
    assert_eq!(drain(&mut l).len(), 1);

    let req2 = request("INVITE", "z9hG4bK-k");
    let key2 = l.send_request(t0, req2, udp()).unwrap();
    drain(&mut l);
    let sent = run(&mut l, t0, Duration::from_secs(31));
    assert_eq!(sent, [500, 1500, 3500, 7500, 15500]); // Timer A doubles without cap
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(l.poll_event(), Some(TxEvent::ClientTimeout(key2)));
}

#[test]
fn invite_client_provisional_stops_timer_a_and_b() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(Timers::default());
    let req = request("INVITE", "z9hG4bK-l");
    l.send_request(t0, req.clone(), udp()).unwrap();
    drain(&mut l);
    l.on_response(t0, response_to(&req, 180)).unwrap();
    assert!(run(&mut l, t0, Duration::from_secs(60)).is_empty());
    assert_eq!(l.poll_event(), None);
    let (_, ok) = l
        .on_response(t0 + Duration::from_secs(60), response_to(&req, 200))
        .unwrap();
    assert_eq!(ok.code, 200);
    // 2xx retransmissions still reach the TU (it ACKs them).
    assert!(l
        .on_response(t0 + Duration::from_secs(61), response_to(&req, 200))
        .is_some());
}

#[test]
fn rfc2543_requests_get_a_key() {
    let req = request("OPTIONS", "old-style-branch");
    let k = TxKey::for_request(&req).unwrap();
    assert!(k.branch.starts_with("2543|"));
}
