//! Micro-benchmarks of the sans-IO cores (divan): `cargo bench --bench cores`.
//! What each measures, and the results, are in bench/README.md.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};

use switchboard::config::Config;
use switchboard::media::dtmf::inband::InbandDetector;
use switchboard::media::engine::{MediaEngine, StreamId};
use switchboard::media::prompts::Prompt;
use switchboard::media::sdp::{self, Direction, Negotiated, SdpCodec, SessionVersion};
use switchboard::sip::digest;
use switchboard::sip::endpoint::{Endpoint, Input, Output};
use switchboard::sip::message::{Message, Request};
use switchboard::sip::parse::parse_datagram;
use switchboard::sip::transaction::{Incoming, Timers, TransactionLayer};
use switchboard::sip::transport::{Peer, Transport};

fn main() {
    divan::main();
}

const PHONE: &str = "127.0.0.1:5090";

const REGISTER: &str = "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:1001@127.0.0.1>\r\n\
From: <sip:1001@127.0.0.1>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 REGISTER\r\n\
Contact: <sip:1001@127.0.0.1:5090;transport=udp>;expires=600\r\n\
Authorization: Digest username=\"1001\", realm=\"switchboard\", nonce=\"AAAAAGcx1b8fA0mH2Z4lq3nq9mBq7p3V\", uri=\"sip:127.0.0.1\", response=\"6629fae49393a05397450978507c4ef1\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", algorithm=MD5\r\n\
User-Agent: Bench/1.0\r\n\
Content-Length: 0\r\n\r\n";

const OFFER: &str = "v=0\r\n\
o=caller 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn invite() -> String {
    format!(
        "INVITE sip:5000@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKnashds8;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:5000@127.0.0.1>\r\n\
From: \"Caller\" <sip:caller@127.0.0.1>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:caller@127.0.0.1:5090>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO\r\n\
Supported: replaces, timer\r\n\
User-Agent: Bench/1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{OFFER}",
        OFFER.len()
    )
}

// ------------------------------------------------------------------ parser

#[divan::bench]
fn parse_register(b: Bencher) {
    b.counter(divan::counter::BytesCount::new(REGISTER.len()))
        .bench(|| parse_datagram(black_box(REGISTER.as_bytes()), 65535).unwrap());
}

#[divan::bench]
fn parse_invite_with_sdp(b: Bencher) {
    let text = invite();
    b.counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| parse_datagram(black_box(text.as_bytes()), 65535).unwrap());
}

// ------------------------------------------------------------------ endpoint

fn config() -> Config {
    Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("switchboard.yaml")).unwrap()
}

/// Feeds one datagram; returns the first transmitted message and runs due timers.
fn send(ep: &mut Endpoint, now: Instant, text: &str) -> String {
    ep.handle_input(Input::Datagram {
        now,
        from: PHONE.parse().unwrap(),
        bytes: text.as_bytes(),
    });
    let mut first = None;
    loop {
        match ep.poll_output() {
            Output::Transmit(t) => {
                if first.is_none() {
                    first = Some(String::from_utf8(t.bytes).unwrap());
                }
            }
            Output::Event(_) => {}
            Output::Timeout(Some(at)) if at <= now => ep.handle_input(Input::Timeout(now)),
            Output::Timeout(_) => break,
        }
    }
    first.expect("a reply")
}

fn register_text(i: u64, cseq: u32, auth: &str) -> String {
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bKr{i}x{cseq};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=ft{i}\r\nTo: <sip:1001@127.0.0.1>\r\n\
         Call-ID: reg-{i}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:1001@{PHONE}>\r\n{auth}Content-Length: 0\r\n\r\n"
    )
}

fn authorization(challenge: &str) -> String {
    let www = challenge
        .lines()
        .find(|l| l.starts_with("WWW-Authenticate:") && l.contains("MD5"))
        .expect("an MD5 challenge");
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let uri = "sip:127.0.0.1";
    let ha1 = digest::ha1(digest::Algorithm::Md5, "1001", "switchboard", "secret1001");
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
        "Authorization: Digest username=\"1001\", realm=\"switchboard\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{resp}\", qop=auth, nc=00000001, cnonce=\"c\", algorithm=MD5\r\n"
    )
}

/// REGISTER → 401 (MD5 + SHA-256 challenges) → REGISTER with Authorization → 200,
/// through the whole endpoint (parse, transactions, registrar, digest, serialise).
/// The phone side (building the requests, the digest response: two MD5s) is
/// included. Virtual time advances 10 ms per exchange, so finished transactions
/// expire (Timer J, 32 s) and about 3,200 exchanges' worth stay live.
#[divan::bench]
fn register_digest_exchange(b: Bencher) {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(
        &config(),
        "127.0.0.1:5060".parse().unwrap(),
        t0,
        [1; 32],
        42,
    );
    let mut i = 0u64;
    b.bench_local(|| {
        i += 1;
        let now = t0 + Duration::from_millis(10 * i);
        let challenge = send(&mut ep, now, &register_text(i, 1, ""));
        debug_assert!(challenge.starts_with("SIP/2.0 401"));
        let ok = send(
            &mut ep,
            now,
            &register_text(i, 2, &authorization(&challenge)),
        );
        assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    });
}

// ------------------------------------------------------------------ transactions

fn request(branch: u64) -> Request {
    let text = format!(
        "OPTIONS sip:5000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK{branch}\r\n\
         From: <sip:c@h>;tag=f1\r\nTo: <sip:5000@127.0.0.1>\r\nCall-ID: call-{branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    match parse_datagram(text.as_bytes(), 65535).unwrap() {
        Message::Request(r) => r,
        _ => unreachable!(),
    }
}

/// A non-INVITE server transaction over UDP: created by the request, answered
/// 200 (serialised for sending), then expired by Timer J (32 s of virtual time).
/// The request is parsed outside the measurement.
#[divan::bench]
fn transaction_create_respond_expire(b: Bencher) {
    let peer = Peer {
        transport: Transport::Udp,
        addr: "127.0.0.1:5080".parse().unwrap(),
    };
    let mut layer = TransactionLayer::new(Timers::default());
    let t0 = Instant::now();
    let mut i = 0u64;
    b.with_inputs(|| {
        i += 1;
        (i, request(i))
    })
    .bench_local_values(|(i, req)| {
        let now = t0 + Duration::from_secs(40 * i);
        let Incoming::Request(key) = layer.on_request(now, &req, peer) else {
            panic!("not a new transaction")
        };
        let resp = switchboard::sip::endpoint::response_to(&req, 200, "OK", "tt");
        assert!(layer.respond(now, &key, &resp));
        while layer.poll_transmit().is_some() {}
        layer.handle_timeout(now + Duration::from_secs(33));
        while layer.poll_transmit().is_some() {}
        while layer.poll_event().is_some() {}
        debug_assert_eq!(layer.server_count(), 0);
    });
}

// ------------------------------------------------------------------ media

fn prompt(seconds: usize) -> Arc<Prompt> {
    let n = seconds * 8000;
    let pcm: Vec<i16> = (0..n)
        .map(|i| ((i as f32 * 0.05).sin() * 8000.0) as i16)
        .collect();
    Arc::new(Prompt {
        name: "bench".into(),
        lang: "en".into(),
        pcm: pcm.clone().into(),
        ulaw: pcm
            .iter()
            .map(|s| (s >> 8) as u8)
            .collect::<Vec<u8>>()
            .into(),
        alaw: pcm
            .iter()
            .map(|s| (s >> 8) as u8 ^ 0x55)
            .collect::<Vec<u8>>()
            .into(),
    })
}

/// One 20 ms tick of the media engine with N streams, each playing a prompt:
/// builds and queues one RTP packet per stream, then drains them (as the
/// server's media task does before sending). The counter is streams, so
/// divan's "items/s" is packets per second of one core; time / N is the cost
/// per stream per tick.
#[divan::bench(args = [1000])]
fn media_tick_playing(b: Bencher, n: usize) {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::ZERO);
    let p = prompt(60);
    for i in 0..n {
        let media = Negotiated {
            codec: SdpCodec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: Some(SocketAddr::from(([127, 0, 0, 1], 20000 + i as u16))),
            direction: Direction::SendRecv,
            ptime: 20,
            media_index: 0,
        };
        e.add_stream(t0, StreamId(i as u64), &media, i as u32, 0, 0);
        e.play(
            StreamId(i as u64),
            i as u64,
            vec![p.clone(), p.clone()],
            true,
        );
    }
    let mut ticks = 0u64;
    let mut play = n as u64;
    b.counter(ItemsCount::new(n)).bench_local(|| {
        ticks += 1;
        // 2 x 60 s of prompt last 6,000 ticks: start it again before it ends
        if ticks % 5000 == 0 {
            for i in 0..n {
                play += 1;
                e.play(StreamId(i as u64), play, vec![p.clone(), p.clone()], true);
            }
        }
        let at = e.poll_timeout();
        e.tick(at);
        let mut sent = 0;
        while let Some(o) = e.poll_output() {
            black_box(&o);
            sent += 1;
        }
        debug_assert!(sent >= n);
    });
}

fn tone(freqs: (f32, f32), samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| {
            let t = i as f32 / 8000.0;
            ((2.0 * std::f32::consts::PI * freqs.0 * t).sin() * 6000.0
                + (2.0 * std::f32::consts::PI * freqs.1 * t).sin() * 6000.0) as i16
        })
        .collect()
}

/// The in-band (Goertzel) DTMF detector fed one 20 ms frame (160 samples) at a
/// time: speech-like audio with no digit, and the tone of '5' (770 + 1336 Hz).
#[divan::bench(args = ["speech", "digit_5"])]
fn inband_dtmf_per_frame(b: Bencher, what: &str) {
    let audio = match what {
        "speech" => {
            // a vowel-ish mix with a slow envelope: energy in the DTMF band, no valid pair
            let mut x = 12345u32;
            (0..8000 * 4)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let t = i as f32 / 8000.0;
                    let env = (t * 3.0).sin().abs();
                    (((2.0 * std::f32::consts::PI * 220.0 * t).sin() * 5000.0
                        + (2.0 * std::f32::consts::PI * 660.0 * t).sin() * 2500.0
                        + (2.0 * std::f32::consts::PI * 1100.0 * t).sin() * 1200.0)
                        * env
                        + ((x % 2000) as f32 - 1000.0)) as i16
                })
                .collect()
        }
        _ => tone((770.0, 1336.0), 8000 * 4),
    };
    let mut d = InbandDetector::new();
    let mut at = 0;
    b.bench_local(|| {
        let frame = &audio[at..at + 160];
        at = (at + 160) % audio.len();
        black_box(d.push(black_box(frame)))
    });
}

/// SDP offer → answer, as for every INVITE: parse the offer, negotiate, write the answer.
#[divan::bench]
fn sdp_parse_and_answer(b: Bencher) {
    let local: SocketAddr = "127.0.0.1:10000".parse().unwrap();
    let mut session = SessionVersion::new(1);
    b.bench_local(|| {
        let offer = sdp::parse(black_box(OFFER)).unwrap();
        sdp::answer(&offer, local, &mut session).unwrap()
    });
}

// ---- IVR interpreter -------------------------------------------------------

use switchboard::ivr::flow::FlowSet;
use switchboard::ivr::interpreter::{CallContext, IvrAction, IvrInput, Session};

fn demo_flows() -> Arc<FlowSet> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-flows");
    Arc::new(FlowSet::load_dir(&dir).expect("demo flows load"))
}

fn new_session(flows: &Arc<FlowSet>, now: Instant) -> Session {
    let ctx = CallContext {
        caller: "0612345678".into(),
        dialed: "5000".into(),
        language: "en".into(),
        // A Monday, 10:00 in London: the centre is open.
        wall_time_unix_ms: 1_795_395_600_000,
    };
    Session::new(flows.clone(), "support", ctx, now).expect("support flow")
}

/// One caller's whole walk through the demo flow: welcome, language 1, hours,
/// main menu 3, order number 12345#, read-back, queue. Every prompt is
/// played to its end; returns the number of events fed to the interpreter.
fn walk(flows: &Arc<FlowSet>, now: Instant) -> usize {
    let mut s = new_session(flows, now);
    s.handle_input(now, IvrInput::Start);
    let mut keys = "1312345#".chars();
    let mut events = 1;
    loop {
        let mut played = None;
        while let Some(a) = s.poll_action() {
            match a {
                IvrAction::Play { play, .. } => played = Some(play),
                IvrAction::Enqueue { .. } | IvrAction::Hangup => return events,
                _ => {}
            }
        }
        let input = match (played, keys.next()) {
            (Some(play), _) => IvrInput::PlayFinished {
                play,
                interrupted: false,
            },
            (None, Some(k)) => IvrInput::Digit(k),
            (None, None) => return events,
        };
        s.handle_input(now, input);
        events += 1;
    }
}

/// Interpreter steps per second: events of a full walk through the demo flow.
#[divan::bench]
fn ivr_walk_demo_flow(b: Bencher) {
    let flows = demo_flows();
    let now = Instant::now();
    let per_walk = walk(&flows, now);
    assert!(
        per_walk > 8,
        "the walk reached the queue in {per_walk} events"
    );
    b.counter(ItemsCount::new(per_walk))
        .bench(|| black_box(walk(&flows, now)));
}

/// Memory per active flow instance: a started session waiting in the main
/// menu (its heap as allocated, see the alloc columns, plus the struct).
#[divan::bench]
fn ivr_session_in_menu(b: Bencher) {
    let flows = demo_flows();
    let now = Instant::now();
    eprintln!(
        "size_of::<Session>() = {} bytes",
        std::mem::size_of::<Session>()
    );
    b.bench(|| {
        let mut s = new_session(&flows, now);
        s.handle_input(now, IvrInput::Start);
        while s.poll_action().is_some() {}
        black_box(s)
    });
}

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();
