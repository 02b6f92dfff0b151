//! The media engine with virtual time: pacing, continuity, symmetric RTP,
//! digits, barge-in, echo, hold and inactivity.

use super::*;
use crate::media::sdp::{Direction, Negotiated, SdpCodec};

const CALLER: &str = "127.0.0.1:6000";
const NAT: &str = "192.0.2.10:40000";

fn media(direction: Direction) -> Negotiated {
    Negotiated {
        codec: SdpCodec::Pcmu,
        payload_type: 0,
        telephone_event: Some(101),
        remote: Some(CALLER.parse().unwrap()),
        direction,
        ptime: 20,
        media_index: 0,
    }
}

fn prompt(name: &str, samples: usize, byte: u8) -> Arc<Prompt> {
    Arc::new(Prompt {
        name: name.into(),
        lang: "en".into(),
        pcm: vec![0i16; samples].into(),
        ulaw: vec![byte; samples].into(),
        alaw: vec![byte; samples].into(),
    })
}

struct Sent {
    to: SocketAddr,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    marker: bool,
    payload: Vec<u8>,
}

fn drain(e: &mut MediaEngine) -> (Vec<Sent>, Vec<MediaEvent>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = e.poll_output() {
        match o {
            MediaOutput::Send { to, bytes, .. } => {
                let r = RtpReader::new(&bytes).unwrap();
                sent.push(Sent {
                    to,
                    pt: r.payload_type(),
                    seq: r.sequence_number().into(),
                    ts: r.timestamp(),
                    ssrc: r.ssrc(),
                    marker: r.mark(),
                    payload: r.payload().to_vec(),
                });
            }
            MediaOutput::Event(ev) => events.push(ev),
        }
    }
    (sent, events)
}

/// Ticks every 20 ms until `until` after `t0`.
fn run(e: &mut MediaEngine, until: Instant) -> (Vec<Sent>, Vec<MediaEvent>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while e.poll_timeout() <= until {
        let at = e.poll_timeout();
        e.tick(at);
        let (s, ev) = drain(e);
        sent.extend(s);
        events.extend(ev);
    }
    (sent, events)
}

fn rtp(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    RtpPacketBuilder::new()
        .payload_type(pt)
        .ssrc(0xabc)
        .sequence(Seq::from(seq))
        .timestamp(ts)
        .marked(marker)
        .payload(payload)
        .build()
        .unwrap()
}

const S: StreamId = StreamId(1);

#[test]
fn one_packet_every_20ms_with_continuous_numbering() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(
        t0,
        S,
        &media(Direction::SendRecv),
        0x1234,
        65530,
        4_294_967_000,
    );
    let (sent, _) = run(&mut e, t0 + Duration::from_secs(1));
    assert_eq!(sent.len(), 50);
    for (i, p) in sent.iter().enumerate() {
        assert_eq!(p.seq, 65530u16.wrapping_add(i as u16));
        assert_eq!(p.ts, 4_294_967_000u32.wrapping_add(160 * i as u32));
        assert_eq!((p.ssrc, p.pt, p.payload.len()), (0x1234, 0, 160));
        assert_eq!(p.marker, i == 0);
        assert_eq!(p.to, CALLER.parse().unwrap());
    }
    // Nothing to say: silence (µ-law 0xFF), never an empty gap.
    assert!(sent[10].payload.iter().all(|b| *b == 0xFF));
}

#[test]
fn prompts_follow_each_other_without_a_gap() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    // 300 samples of A then 100 of B: frame 2 mixes A's tail and B; frame 3 is silence.
    e.play(
        S,
        7,
        vec![prompt("a", 300, 0x11), prompt("b", 100, 0x22)],
        false,
    );
    let (sent, events) = run(&mut e, t0 + Duration::from_millis(80));
    assert_eq!(sent.len(), 4);
    assert!(sent[0].payload.iter().all(|b| *b == 0x11));
    assert_eq!(&sent[1].payload[..140], &[0x11; 140][..]);
    assert_eq!(&sent[1].payload[140..], &[0x22; 20][..]);
    assert_eq!(&sent[2].payload[..80], &[0x22; 80][..]);
    assert_eq!(&sent[2].payload[80..], &[0xFF; 80][..]);
    assert!(sent
        .windows(2)
        .all(|w| w[1].ts == w[0].ts + 160 && w[1].seq == w[0].seq + 1));
    assert_eq!(
        events,
        [MediaEvent::PlayFinished {
            stream: S,
            play: 7,
            interrupted: false
        }]
    );
}

#[test]
fn late_ticks_catch_up_and_long_stalls_keep_timestamps_true() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    e.tick(t0 + Duration::from_millis(100)); // 5 slots due
    let (sent, _) = drain(&mut e);
    assert_eq!(
        sent.iter().map(|p| p.ts).collect::<Vec<_>>(),
        [0, 160, 320, 480, 640]
    );
    e.tick(t0 + Duration::from_millis(1100)); // 50 slots due: 5 sent, 45 skipped
    let (sent, _) = drain(&mut e);
    assert_eq!(sent.len(), 5);
    assert_eq!(sent.last().unwrap().ts, 160 * 54);
    assert_eq!(e.poll_timeout(), t0 + Duration::from_millis(1120));
    assert!(e.stats().late_ticks >= 2);
}

#[test]
fn symmetric_rtp_latches_to_the_real_source() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    e.receive(
        t0,
        S,
        NAT.parse().unwrap(),
        &rtp(0, 1, 0, false, &[0xFF; 160]),
    );
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(20));
    assert_eq!(sent[0].to, NAT.parse().unwrap());
    // Garbage and RTCP are not latched.
    e.receive(t0, S, "198.51.100.1:1".parse().unwrap(), b"junk");
    e.receive(
        t0,
        S,
        "198.51.100.1:1".parse().unwrap(),
        &[0x80, 200, 0, 6, 0, 0, 0, 1],
    );
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(40));
    assert_eq!(sent[0].to, NAT.parse().unwrap());
    assert_eq!(e.stats().packets_rejected, 1);
}

fn te(event: u8, end: bool, duration: u16) -> [u8; 4] {
    [
        event,
        if end { 0x80 | 10 } else { 10 },
        (duration >> 8) as u8,
        duration as u8,
    ]
}

#[test]
fn rfc4733_digit_once_and_barge_in() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    e.play(S, 3, vec![prompt("menu", 8000 * 5, 0x33)], true);
    let from = CALLER.parse().unwrap();
    for (seq, (i, end)) in (10u16..).zip([
        (0u16, false),
        (1, false),
        (2, false),
        (3, true),
        (3, true),
        (3, true),
    ]) {
        e.receive(
            t0,
            S,
            from,
            &rtp(101, seq, 8000, i == 0, &te(5, end, 160 * (i + 1))),
        );
    }
    let (_, events) = drain(&mut e);
    assert_eq!(
        events,
        [
            MediaEvent::Digit {
                stream: S,
                digit: '5',
                source: DigitSource::Rfc4733
            },
            MediaEvent::PlayFinished {
                stream: S,
                play: 3,
                interrupted: true
            }
        ]
    );
    assert!(!e.is_playing(S));
}

/// 100 ms of '7' (852 + 1209 Hz) then 100 ms of silence, as µ-law frames,
/// received on `id` from the caller.
fn receive_key_7(e: &mut MediaEngine, t0: Instant, id: StreamId) {
    let mut pcm = Vec::new();
    for n in 0..800 {
        let t = n as f64 / 8000.0;
        let v = 0.3 * (2.0 * std::f64::consts::PI * 852.0 * t).sin()
            + 0.3 * (2.0 * std::f64::consts::PI * 1209.0 * t).sin();
        pcm.push((v * 16000.0) as i16);
    }
    pcm.extend(std::iter::repeat_n(0i16, 800));
    let from = CALLER.parse().unwrap();
    for (i, frame) in pcm.chunks(160).enumerate() {
        let mut bytes = Vec::new();
        Codec::Pcmu.encode(frame, &mut bytes);
        e.receive(
            t0,
            id,
            from,
            &rtp(0, i as u16, 160 * i as u32, false, &bytes),
        );
    }
}

#[test]
fn inband_tones_are_heard_when_no_events_come() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    receive_key_7(&mut e, t0, S);
    let (_, events) = drain(&mut e);
    assert_eq!(
        events,
        [MediaEvent::Digit {
            stream: S,
            digit: '7',
            source: DigitSource::Inband
        }]
    );
}

#[test]
fn bridged_tones_go_to_the_other_phone_as_audio_only() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    const B: StreamId = StreamId(2);
    let mut agent = media(Direction::SendRecv);
    agent.remote = Some("127.0.0.1:7000".parse().unwrap());
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    e.add_stream(t0, B, &agent, 2, 0, 0);
    e.bridge(S, B);
    receive_key_7(&mut e, t0, S);
    let (sent, events) = drain(&mut e);
    assert_eq!(sent.len(), 10, "every frame relayed");
    assert!(sent.iter().all(|p| p.ssrc == 2 && p.pt == 0));
    assert_eq!(events, [], "no in-band detection during a conversation");
    // Once the other leg is gone (a survey after the agent hung up), keys count again.
    drop(e.remove_stream(B));
    receive_key_7(&mut e, t0, S);
    let (_, events) = drain(&mut e);
    assert_eq!(events.len(), 1, "{events:?}");
}

#[test]
fn echo_sends_back_what_it_hears() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    e.set_echo(S, true);
    e.receive(
        t0,
        S,
        CALLER.parse().unwrap(),
        &rtp(0, 1, 0, false, &[0x42; 160]),
    );
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(40));
    assert_eq!(sent[0].payload, vec![0x42; 160]);
    assert!(sent[1].payload.iter().all(|b| *b == 0xFF));
}

#[test]
fn hold_stops_sending_but_time_runs_on() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(40));
    assert_eq!(sent.len(), 2);
    e.update_stream(t0, S, &media(Direction::RecvOnly));
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(100));
    assert!(sent.is_empty());
    e.update_stream(t0, S, &media(Direction::SendRecv));
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(120));
    assert_eq!((sent[0].ts, sent[0].seq), (160 * 5, 2));
}

#[test]
fn silence_from_the_far_end_is_reported_once() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 1, 0, 0);
    let (_, events) = run(&mut e, t0 + Duration::from_secs(59));
    assert!(events.is_empty());
    let (_, events) = run(&mut e, t0 + Duration::from_secs(70));
    assert_eq!(events, [MediaEvent::Inactive { stream: S }]);
    // On hold with `inactive` nothing is expected.
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::Inactive), 1, 0, 0);
    assert!(run(&mut e, t0 + Duration::from_secs(70)).1.is_empty());
}

#[test]
fn sending_a_digit_uses_telephone_events_then_resumes_audio() {
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    e.add_stream(t0, S, &media(Direction::SendRecv), 9, 0, 0);
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(20));
    assert_eq!(sent.len(), 1);
    assert!(e.send_digit(S, '9', Duration::from_millis(100)));
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(300));
    let events: Vec<&Sent> = sent.iter().filter(|p| p.pt == 101).collect();
    assert!(events.len() >= 5, "{}", events.len());
    assert!(events
        .iter()
        .all(|p| p.ts == 160 && p.payload[0] == 9 && p.ssrc == 9));
    assert!(events[0].marker && events.iter().skip(1).all(|p| !p.marker));
    assert!(
        events.last().unwrap().payload[1] & 0x80 != 0,
        "ends with end packets"
    );
    let audio_after: Vec<&Sent> = sent.iter().filter(|p| p.pt == 0).collect();
    assert!(!audio_after.is_empty());
    assert!(sent
        .windows(2)
        .all(|w| w[1].seq == w[0].seq.wrapping_add(1)));
}

const A: StreamId = StreamId(1);
const B: StreamId = StreamId(2);

/// A caller stream A (PCMU, SSRC 0xA) bridged to an agent stream B (`codec`,
/// SSRC 0xB) whose phone is at the returned address.
fn bridged_pair(t0: Instant, codec: SdpCodec, pt: u8) -> (MediaEngine, SocketAddr) {
    let mut e = MediaEngine::new(t0, Duration::from_secs(60));
    let agent: SocketAddr = "127.0.0.1:7000".parse().unwrap();
    e.add_stream(t0, A, &media(Direction::SendRecv), 0xA, 100, 1000);
    let mut b = media(Direction::SendRecv);
    b.codec = codec;
    b.payload_type = pt;
    b.remote = Some(agent);
    e.add_stream(t0, B, &b, 0xB, 500, 90000);
    e.bridge(A, B);
    (e, agent)
}

#[test]
fn bridged_streams_relay_audio_and_events_each_way() {
    let t0 = Instant::now();
    let (mut e, agent) = bridged_pair(t0, SdpCodec::Pcma, 8);
    // The clock sends nothing on bridged streams.
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(40));
    assert!(sent.is_empty());
    // Caller audio (PCMU) arrives on A: out on B, as PCMA, with B's SSRC and numbering.
    let caller = CALLER.parse().unwrap();
    e.receive(t0, A, caller, &rtp(0, 7, 4000, false, &[0xFF; 160]));
    e.receive(t0, A, caller, &rtp(0, 8, 4160, false, &[0xFF; 160]));
    let (sent, _) = drain(&mut e);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[0].to, sent[0].pt, sent[0].ssrc, sent[0].seq),
        (agent, 8, 0xB, 500)
    );
    assert!(sent[0].marker && !sent[1].marker);
    assert_eq!(sent[1].ts.wrapping_sub(sent[0].ts), 160);
    assert!(
        sent[0].payload.iter().all(|b| *b == 0xD5),
        "µ-law silence becomes A-law silence"
    );
    // And back: the agent's audio goes to the caller.
    e.receive(t0, B, agent, &rtp(8, 1, 0, false, &[0xD5; 160]));
    let (sent, _) = drain(&mut e);
    assert_eq!((sent[0].to, sent[0].pt, sent[0].ssrc), (caller, 0, 0xA));
    // A key press on the caller's side passes through as an event (and is reported).
    e.receive(t0, A, caller, &rtp(101, 9, 4320, true, &te(3, false, 160)));
    let (sent, events) = drain(&mut e);
    assert_eq!((sent[0].pt, sent[0].payload[0]), (101, 3));
    assert!(matches!(events[..], [MediaEvent::Digit { digit: '3', .. }]));
    // Music on hold playing to the agent takes the line: relayed audio waits.
    e.play(B, 9, vec![prompt("moh", 1600, 0x55)], false);
    e.receive(t0, A, caller, &rtp(0, 10, 4480, false, &[0xFF; 160]));
    assert!(drain(&mut e).0.is_empty());
    // Unbridged, the clock drives both again.
    e.stop(B);
    e.unbridge(A);
    let (sent, _) = run(&mut e, t0 + Duration::from_millis(80));
    assert!(sent.iter().any(|p| p.ssrc == 0xA) && sent.iter().any(|p| p.ssrc == 0xB));
}

/// Music on hold to the caller while the agent's phone holds (and its
/// timestamps stand still): when the relay resumes, the caller's timestamps
/// go on from the music, never back in time (a jitter buffer drops that).
#[test]
fn relay_after_hold_music_keeps_time_moving_forward() {
    let t0 = Instant::now();
    let (mut e, agent) = bridged_pair(t0, SdpCodec::Pcmu, 0);
    e.receive(t0, B, agent, &rtp(0, 1, 8000, false, &[0xFF; 160]));
    let (before, _) = drain(&mut e);
    // One second of music to the caller; the agent sends nothing meanwhile.
    e.play(A, 7, vec![prompt("moh", 8000, 0x55)], false);
    let t1 = t0 + Duration::from_millis(1000);
    let (music, _) = run(&mut e, t1);
    assert!(music.len() >= 40, "{} music packets", music.len());
    e.stop(A);
    drain(&mut e);
    // The agent resumes with the next timestamp of its own (it stood still).
    e.receive(t1, B, agent, &rtp(0, 2, 8160, false, &[0xFF; 160]));
    let (after, _) = drain(&mut e);
    let last_music = music.iter().rfind(|p| p.ssrc == 0xA).unwrap();
    assert_eq!(after[0].ssrc, 0xA);
    assert!(
        after[0].ts.wrapping_sub(last_music.ts) < 0x8000_0000 && after[0].ts != last_music.ts,
        "relayed ts {} after music ts {} (first relayed {})",
        after[0].ts,
        last_music.ts,
        before[0].ts
    );
    assert!(after[0].marker, "a new talkspurt after the music");
    assert_eq!(after[0].seq, last_music.seq.wrapping_add(1));
}
