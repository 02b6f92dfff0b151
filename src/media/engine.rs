//! The media engine: every RTP stream of every call, driven by one shared
//! 20 ms clock (not a timer per call), sans-IO.
//!
//! Out: each tick sends one packet per stream — prompt audio, RFC 4733
//! events, echoed audio or silence — with one SSRC per stream and sequence
//! numbers and timestamps that run on across prompts and pauses (RFC 3550 §5.1).
//! In: packets are checked, latched for symmetric RTP (the far end's real
//! address, for phones behind NAT), decoded and scanned for digits
//! (RFC 4733 events, or in-band tones when the phone sends no events).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtp_rs::{RtpPacketBuilder, RtpReader, Seq};

use super::dtmf::inband::InbandDetector;
use super::dtmf::rfc4733::{Rfc4733Receiver, Rfc4733Sender};
use super::g711::Codec;
use super::prompts::Prompt;
use super::sdp::{Direction, Negotiated, SdpCodec};

/// 20 ms of 8 kHz audio: the packet interval (RFC 3551 §4.5 default ptime).
pub const FRAME: Duration = Duration::from_millis(20);
pub const SAMPLES_PER_FRAME: usize = 160;
/// How many missed ticks are caught up after a stall before frames are skipped.
const MAX_CATCH_UP: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

/// Where an audio sink gets its samples: the far end (what the caller says)
/// or what we send (the prompts). Voicemail records the first; calls may record both.
pub trait AudioSink: Send {
    /// Audio received from the far end, 8 kHz mono.
    fn received(&mut self, pcm: &[i16]);
    /// Audio we sent, 8 kHz mono.
    fn sent(&mut self, _pcm: &[i16]) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitSource {
    Rfc4733,
    Inband,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    Digit {
        stream: StreamId,
        digit: char,
        source: DigitSource,
    },
    /// A play request ended: all prompts played, or cut short (barge-in or stop).
    PlayFinished {
        stream: StreamId,
        play: u64,
        interrupted: bool,
    },
    /// No RTP from the far end for the configured time: the call is dead.
    Inactive { stream: StreamId },
    /// A recording ended (`#`, silence or its maximum length); the file is complete.
    RecordingFinished {
        stream: StreamId,
        path: std::path::PathBuf,
        duration: Duration,
    },
}

#[derive(Debug)]
pub enum MediaOutput {
    Send {
        stream: StreamId,
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    Event(MediaEvent),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MediaStats {
    pub packets_sent: u64,
    pub packets_received: u64,
    pub packets_rejected: u64,
    /// Ticks that came later than one frame: frames were caught up or skipped.
    pub late_ticks: u64,
    pub frames_skipped: u64,
}

struct Playing {
    id: u64,
    prompts: VecDeque<Arc<Prompt>>,
    offset: usize,
    barge_in: bool,
}

struct Stream {
    codec: Codec,
    pt: u8,
    te_pt: Option<u8>,
    remote: Option<SocketAddr>,
    direction: Direction,
    ssrc: u32,
    seq: u16,
    ts: u32,
    first: bool,
    playing: Option<Playing>,
    echo: bool,
    echo_queue: VecDeque<Vec<u8>>,
    /// Pending RFC 4733 packets: (slot offset from the event start, marker, payload).
    dtmf_out: VecDeque<(u32, bool, [u8; 4])>,
    dtmf_slot: u32,
    dtmf_ts: u32,
    dtmf_sender: Rfc4733Sender,
    rx_events: Rfc4733Receiver,
    inband: InbandDetector,
    /// Once the far end has sent an RFC 4733 event, in-band detection is off
    /// (phones that send events mute the tones; scanning both would double-count).
    seen_events: bool,
    last_rx: Instant,
    inactive_reported: bool,
    sink: Option<Box<dyn AudioSink>>,
    pcm_scratch: Vec<i16>,
    /// The stream this one's audio is relayed to (caller and agent bridged).
    bridge: Option<StreamId>,
    /// Maps the far end's RTP timestamps onto ours while relaying into this
    /// stream; reset when the source changes (new SSRC).
    relay_map: Option<(u32, u32)>,
}

pub struct MediaEngine {
    /// Ordered, so every stream keeps its place in each tick's burst (a
    /// hash order would move streams around as calls come and go: jitter).
    streams: BTreeMap<StreamId, Stream>,
    next_tick: Instant,
    inactivity: Duration,
    out: VecDeque<MediaOutput>,
    stats: MediaStats,
    buf: Vec<u8>,
    /// Packet buffers handed back by the shell after sending ([`MediaEngine::recycle`]):
    /// relaying hundreds of thousands of packets a second allocates none.
    spare: Vec<Vec<u8>>,
}

/// At most this many spare packet buffers are kept (a tick's burst needs as
/// many as there are streams; more than this is rare and just allocates).
const MAX_SPARE: usize = 4096;

/// A packet buffer holding `bytes`, from the spares when there is one.
fn packet(spare: &mut Vec<Vec<u8>>, bytes: &[u8]) -> Vec<u8> {
    let mut v = spare.pop().unwrap_or_default();
    v.clear();
    v.extend_from_slice(bytes);
    v
}

fn to_codec(c: SdpCodec) -> Codec {
    match c {
        SdpCodec::Pcmu => Codec::Pcmu,
        SdpCodec::Pcma => Codec::Pcma,
    }
}

fn silence(codec: Codec) -> u8 {
    match codec {
        Codec::Pcmu => 0xFF,
        Codec::Pcma => 0xD5,
    }
}

impl MediaEngine {
    pub fn new(now: Instant, inactivity: Duration) -> Self {
        MediaEngine {
            streams: BTreeMap::new(),
            next_tick: now + FRAME,
            inactivity,
            out: VecDeque::new(),
            stats: MediaStats::default(),
            buf: vec![0u8; 1500],
            spare: Vec::new(),
        }
    }

    pub fn stats(&self) -> MediaStats {
        self.stats
    }

    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Starts a stream with the negotiated parameters. `ssrc` and the initial
    /// sequence number and timestamp should be random (RFC 3550 §5.1).
    pub fn add_stream(
        &mut self,
        now: Instant,
        id: StreamId,
        media: &Negotiated,
        ssrc: u32,
        seq: u16,
        ts: u32,
    ) {
        let stream = Stream {
            codec: to_codec(media.codec),
            pt: media.payload_type,
            te_pt: media.telephone_event,
            remote: media.remote,
            direction: media.direction,
            ssrc,
            seq,
            ts,
            first: true,
            playing: None,
            echo: false,
            echo_queue: VecDeque::new(),
            dtmf_out: VecDeque::new(),
            dtmf_slot: 0,
            dtmf_ts: 0,
            dtmf_sender: Rfc4733Sender::default(),
            rx_events: Rfc4733Receiver::default(),
            inband: InbandDetector::new(),
            seen_events: false,
            last_rx: now,
            inactive_reported: false,
            sink: None,
            pcm_scratch: Vec::with_capacity(SAMPLES_PER_FRAME),
            bridge: None,
            relay_map: None,
        };
        self.streams.insert(id, stream);
    }

    /// New parameters after a re-INVITE (hold, resume, new address or codec).
    /// The SSRC, sequence numbers and timestamps carry on.
    pub fn update_stream(&mut self, now: Instant, id: StreamId, media: &Negotiated) {
        if let Some(s) = self.streams.get_mut(&id) {
            s.codec = to_codec(media.codec);
            s.pt = media.payload_type;
            s.te_pt = media.telephone_event;
            if media.remote.is_some() || media.direction == Direction::Inactive {
                s.remote = media.remote;
            }
            s.direction = media.direction;
            s.last_rx = now;
            s.inactive_reported = false;
        }
    }

    /// Ends a stream; any audio sink is returned so the caller can finish it.
    pub fn remove_stream(&mut self, id: StreamId) -> Option<Box<dyn AudioSink>> {
        self.streams.remove(&id).and_then(|s| s.sink)
    }

    /// Queues prompts to play in order; `PlayFinished { play }` follows the last.
    /// A previous play still running is cut short (interrupted).
    pub fn play(&mut self, id: StreamId, play: u64, prompts: Vec<Arc<Prompt>>, barge_in: bool) {
        self.stop(id);
        if let Some(s) = self.streams.get_mut(&id) {
            if prompts.is_empty() {
                self.out
                    .push_back(MediaOutput::Event(MediaEvent::PlayFinished {
                        stream: id,
                        play,
                        interrupted: false,
                    }));
                return;
            }
            // Our own frames take the line: relayed audio that follows is
            // re-anchored on our clock, or a far end whose timestamps stood
            // still meanwhile (a phone on hold) would seem to go back in time.
            s.relay_map = None;
            s.playing = Some(Playing {
                id: play,
                prompts: prompts.into(),
                offset: 0,
                barge_in,
            });
        }
    }

    /// Stops the current play, reporting it as interrupted.
    pub fn stop(&mut self, id: StreamId) {
        if let Some(p) = self.streams.get_mut(&id).and_then(|s| s.playing.take()) {
            self.out
                .push_back(MediaOutput::Event(MediaEvent::PlayFinished {
                    stream: id,
                    play: p.id,
                    interrupted: true,
                }));
        }
    }

    pub fn is_playing(&self, id: StreamId) -> bool {
        self.streams.get(&id).is_some_and(|s| s.playing.is_some())
    }

    /// Relays audio and RFC 4733 events between two streams, each way, from
    /// now on: a caller and an agent talking. A stream that plays a prompt
    /// (music on hold while the other side holds) is not fed meanwhile.
    pub fn bridge(&mut self, a: StreamId, b: StreamId) {
        if a == b || !self.streams.contains_key(&a) || !self.streams.contains_key(&b) {
            return;
        }
        for (x, y) in [(a, b), (b, a)] {
            if let Some(s) = self.streams.get_mut(&x) {
                s.bridge = Some(y);
                s.relay_map = None;
                s.echo = false;
            }
        }
    }

    /// Ends a bridge; both streams go back to the clock (silence or prompts).
    pub fn unbridge(&mut self, a: StreamId) {
        let b = self.streams.get_mut(&a).and_then(|s| s.bridge.take());
        if let Some(b) = b.and_then(|b| self.streams.get_mut(&b)) {
            b.bridge = None;
        }
    }

    /// Sends back what the far end sends (the echo test).
    pub fn set_echo(&mut self, id: StreamId, on: bool) {
        if let Some(s) = self.streams.get_mut(&id) {
            s.echo = on;
            s.echo_queue.clear();
        }
    }

    /// Attaches a recorder (or any sink) to a stream.
    pub fn set_sink(
        &mut self,
        id: StreamId,
        sink: Option<Box<dyn AudioSink>>,
    ) -> Option<Box<dyn AudioSink>> {
        match self.streams.get_mut(&id) {
            Some(s) => std::mem::replace(&mut s.sink, sink),
            None => sink,
        }
    }

    /// Sends a digit as RFC 4733 events (when the far end accepts them).
    pub fn send_digit(&mut self, id: StreamId, digit: char, duration: Duration) -> bool {
        let Some(s) = self.streams.get_mut(&id) else {
            return false;
        };
        if s.te_pt.is_none() {
            return false;
        }
        let packets = s
            .dtmf_sender
            .digit_packets(digit, duration.as_millis() as u32);
        if packets.is_empty() {
            return false;
        }
        s.dtmf_slot = 0;
        s.dtmf_ts = s.ts;
        s.dtmf_out = packets
            .iter()
            .map(|p| (p.send_at_ms / 20, p.marker, p.payload))
            .collect();
        true
    }

    /// The next instant [`MediaEngine::tick`] should run.
    pub fn poll_timeout(&self) -> Instant {
        self.next_tick
    }

    pub fn poll_output(&mut self) -> Option<MediaOutput> {
        self.out.pop_front()
    }

    /// Gives back the buffer of a sent packet for reuse.
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < MAX_SPARE {
            self.spare.push(bytes);
        }
    }

    /// Runs every 20 ms slot due by `now`.
    pub fn tick(&mut self, now: Instant) {
        if now < self.next_tick {
            return;
        }
        let behind =
            (now.duration_since(self.next_tick).as_micros() / FRAME.as_micros()) as u32 + 1;
        if behind > 1 {
            self.stats.late_ticks += 1;
        }
        let slots = behind.min(MAX_CATCH_UP);
        if behind > slots {
            // Too far behind: skip frames but keep the timestamps true to time.
            let skipped = behind - slots;
            self.stats.frames_skipped += u64::from(skipped) * self.streams.len() as u64;
            for s in self.streams.values_mut() {
                s.ts = s.ts.wrapping_add(skipped * SAMPLES_PER_FRAME as u32);
                advance_play(s, skipped as usize * SAMPLES_PER_FRAME);
            }
        }
        for _ in 0..slots {
            self.slot();
        }
        self.next_tick += FRAME * behind;
        self.check_inactivity(now);
    }

    fn slot(&mut self) {
        let ids: Vec<StreamId> = self.streams.keys().copied().collect();
        for id in ids {
            self.slot_for(id);
        }
    }

    fn slot_for(&mut self, id: StreamId) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let sending = matches!(s.direction, Direction::SendRecv | Direction::SendOnly);
        if s.bridge.is_some() && s.playing.is_none() && s.dtmf_out.is_empty() {
            // Fed by the relay; the clock only keeps our timestamps true to time.
            s.ts = s.ts.wrapping_add(SAMPLES_PER_FRAME as u32);
            return;
        }
        // RFC 4733 events take the place of audio while they last.
        if !s.dtmf_out.is_empty() {
            let slot = s.dtmf_slot;
            s.dtmf_slot += 1;
            while let Some(&(at, marker, payload)) = s.dtmf_out.front() {
                if at > slot {
                    break;
                }
                s.dtmf_out.pop_front();
                if let (true, Some(to), Some(te)) = (sending, s.remote, s.te_pt) {
                    let b = RtpPacketBuilder::new()
                        .payload_type(te)
                        .ssrc(s.ssrc)
                        .sequence(Seq::from(s.seq))
                        .timestamp(s.dtmf_ts)
                        .marked(marker)
                        .payload(&payload);
                    if let Ok(n) = b.build_into(&mut self.buf) {
                        s.seq = s.seq.wrapping_add(1);
                        self.stats.packets_sent += 1;
                        self.out.push_back(MediaOutput::Send {
                            stream: id,
                            to,
                            bytes: packet(&mut self.spare, &self.buf[..n]),
                        });
                    }
                }
            }
            s.ts = s.ts.wrapping_add(SAMPLES_PER_FRAME as u32);
            advance_play(s, SAMPLES_PER_FRAME);
            return;
        }

        let mut payload = [silence(s.codec); SAMPLES_PER_FRAME];
        let mut finished = None;
        if let Some(p) = s.playing.as_mut() {
            let mut filled = 0;
            while filled < SAMPLES_PER_FRAME {
                let Some(prompt) = p.prompts.front() else {
                    break;
                };
                let data: &[u8] = match s.codec {
                    Codec::Pcmu => &prompt.ulaw,
                    Codec::Pcma => &prompt.alaw,
                };
                let take = (data.len().saturating_sub(p.offset)).min(SAMPLES_PER_FRAME - filled);
                payload[filled..filled + take].copy_from_slice(&data[p.offset..p.offset + take]);
                filled += take;
                p.offset += take;
                if p.offset >= data.len() {
                    p.prompts.pop_front();
                    p.offset = 0;
                }
            }
            if let Some(sink) = s.sink.as_mut() {
                s.pcm_scratch.clear();
                s.codec.decode(&payload, &mut s.pcm_scratch);
                sink.sent(&s.pcm_scratch);
            }
            if p.prompts.is_empty() {
                finished = Some(p.id);
            }
        } else if s.echo {
            if let Some(frame) = s.echo_queue.pop_front() {
                let n = frame.len().min(SAMPLES_PER_FRAME);
                payload[..n].copy_from_slice(&frame[..n]);
            }
        }
        if let Some(play) = finished {
            s.playing = None;
            self.out
                .push_back(MediaOutput::Event(MediaEvent::PlayFinished {
                    stream: id,
                    play,
                    interrupted: false,
                }));
        }
        if let (true, Some(to)) = (sending, s.remote) {
            let b = RtpPacketBuilder::new()
                .payload_type(s.pt)
                .ssrc(s.ssrc)
                .sequence(Seq::from(s.seq))
                .timestamp(s.ts)
                .marked(s.first)
                .payload(&payload);
            if let Ok(n) = b.build_into(&mut self.buf) {
                s.first = false;
                s.seq = s.seq.wrapping_add(1);
                self.stats.packets_sent += 1;
                self.out.push_back(MediaOutput::Send {
                    stream: id,
                    to,
                    bytes: packet(&mut self.spare, &self.buf[..n]),
                });
            }
        }
        s.ts = s.ts.wrapping_add(SAMPLES_PER_FRAME as u32);
    }

    fn check_inactivity(&mut self, now: Instant) {
        if self.inactivity.is_zero() {
            return;
        }
        for (id, s) in self.streams.iter_mut() {
            // Only a stream the far end should be sending on can go quiet.
            let expects = matches!(s.direction, Direction::SendRecv | Direction::RecvOnly);
            if expects && !s.inactive_reported && now.duration_since(s.last_rx) >= self.inactivity {
                s.inactive_reported = true;
                self.out
                    .push_back(MediaOutput::Event(MediaEvent::Inactive { stream: *id }));
            }
        }
    }

    /// A packet arrived on a stream's socket from `from`.
    pub fn receive(&mut self, now: Instant, id: StreamId, from: SocketAddr, bytes: &[u8]) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        // RTCP multiplexed on the RTP port (RFC 5761 §4): PT 200-204 in the second byte.
        if bytes.len() >= 2 && (200..=204).contains(&bytes[1]) {
            return;
        }
        let Ok(pkt) = RtpReader::new(bytes) else {
            self.stats.packets_rejected += 1;
            return;
        };
        let pt = pkt.payload_type();
        let is_event = Some(pt) == s.te_pt;
        if !is_event && pt != s.pt && pt != 0 && pt != 8 {
            self.stats.packets_rejected += 1;
            return;
        }
        self.stats.packets_received += 1;
        s.last_rx = now;
        s.inactive_reported = false;
        // Symmetric RTP (RFC 4961): answer where the packets really come from.
        if s.remote != Some(from) && s.direction != Direction::Inactive {
            s.remote = Some(from);
        }
        let relay_to = s.bridge;
        if let Some(to) = relay_to {
            let src_codec = match pt {
                0 => Codec::Pcmu,
                8 => Codec::Pcma,
                _ => s.codec,
            };
            let ssrc = pkt.ssrc();
            let (ts, mark) = (pkt.timestamp(), pkt.mark());
            self.relay(to, ssrc, ts, mark, is_event, src_codec, pkt.payload());
        }
        // The other leg may have gone (its stream removed) without an unbridge.
        let bridged = relay_to.is_some_and(|b| self.streams.contains_key(&b));
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if is_event {
            s.seen_events = true;
            if let Some(digit) = s
                .rx_events
                .on_packet(pkt.timestamp(), pkt.mark(), pkt.payload())
            {
                self.digit(id, digit, DigitSource::Rfc4733);
            }
            return;
        }
        let codec = match pt {
            0 => Codec::Pcmu,
            8 => Codec::Pcma,
            _ => s.codec,
        };
        let payload = pkt.payload();
        if s.echo {
            // Keep the echo within ~60 ms of real time: drop the oldest if the far end bursts.
            if s.echo_queue.len() >= 3 {
                s.echo_queue.pop_front();
            }
            let mut frame = Vec::with_capacity(payload.len());
            if codec == s.codec {
                frame.extend_from_slice(payload);
            } else {
                s.pcm_scratch.clear();
                codec.decode(payload, &mut s.pcm_scratch);
                s.codec.encode(&s.pcm_scratch, &mut frame);
            }
            s.echo_queue.push_back(frame);
        }
        // Bridged, the audio (tones included) goes to the other phone as it
        // is: detecting in-band digits on every relayed frame was a fifth of
        // the media thread at 500 bridged calls, for digits nothing uses
        // during a conversation (RFC 4733 events are still reported).
        let inband = !s.seen_events && !bridged;
        if s.sink.is_none() && !inband {
            return;
        }
        s.pcm_scratch.clear();
        codec.decode(payload, &mut s.pcm_scratch);
        if let Some(sink) = s.sink.as_mut() {
            sink.received(&s.pcm_scratch);
        }
        if inband {
            let digits = s.inband.push(&s.pcm_scratch);
            for d in digits {
                self.digit(id, d, DigitSource::Inband);
            }
        }
    }

    /// Sends one packet received on the other leg into stream `to`, with
    /// `to`'s own SSRC and sequence numbers, and timestamps moved onto its
    /// clock by a fixed offset (so the far end's timing passes through).
    #[allow(clippy::too_many_arguments)]
    fn relay(
        &mut self,
        to: StreamId,
        src_ssrc: u32,
        src_ts: u32,
        mark: bool,
        event: bool,
        src_codec: Codec,
        payload: &[u8],
    ) {
        let Some(t) = self.streams.get_mut(&to) else {
            return;
        };
        if t.playing.is_some() || !t.dtmf_out.is_empty() {
            return; // a prompt (music on hold) has the line
        }
        let (Some(dest), true) = (
            t.remote,
            matches!(t.direction, Direction::SendRecv | Direction::SendOnly),
        ) else {
            return;
        };
        // A new source (first packet, or the far end's SSRC changed) starts a
        // talkspurt on our clock: marker set (RFC 3551 §4.1).
        let (offset, new_source) = match t.relay_map {
            Some((ssrc, off)) if ssrc == src_ssrc => (off, false),
            _ => {
                let off = t.ts.wrapping_sub(src_ts);
                t.relay_map = Some((src_ssrc, off));
                (off, true)
            }
        };
        let first = t.first || new_source;
        // The same codec both sides (the usual case) relays the payload as it is.
        let transcoded: Vec<u8>;
        let (pt, body) = if event {
            match t.te_pt {
                Some(te) => (te, payload),
                None => return, // the other phone takes no events; it was reported as a digit
            }
        } else {
            let body = if src_codec == t.codec {
                payload
            } else {
                t.pcm_scratch.clear();
                src_codec.decode(payload, &mut t.pcm_scratch);
                let mut out = Vec::with_capacity(payload.len());
                t.codec.encode(&t.pcm_scratch, &mut out);
                transcoded = out;
                &transcoded
            };
            if let Some(sink) = t.sink.as_mut() {
                t.pcm_scratch.clear();
                t.codec.decode(body, &mut t.pcm_scratch);
                sink.sent(&t.pcm_scratch);
            }
            (t.pt, body)
        };
        let b = RtpPacketBuilder::new()
            .payload_type(pt)
            .ssrc(t.ssrc)
            .sequence(Seq::from(t.seq))
            .timestamp(src_ts.wrapping_add(offset))
            .marked(mark || first)
            .payload(body);
        if let Ok(n) = b.build_into(&mut self.buf) {
            t.first = false;
            t.seq = t.seq.wrapping_add(1);
            self.stats.packets_sent += 1;
            self.out.push_back(MediaOutput::Send {
                stream: to,
                to: dest,
                bytes: packet(&mut self.spare, &self.buf[..n]),
            });
        }
    }

    fn digit(&mut self, id: StreamId, digit: char, source: DigitSource) {
        self.out.push_back(MediaOutput::Event(MediaEvent::Digit {
            stream: id,
            digit,
            source,
        }));
        // Barge-in: the key press cuts the prompt at once, without a round trip.
        let barge = self
            .streams
            .get(&id)
            .and_then(|s| s.playing.as_ref())
            .is_some_and(|p| p.barge_in);
        if barge {
            self.stop(id);
        }
    }
}

/// Moves a play forward by `samples` without sending (hold, skipped frames).
fn advance_play(s: &mut Stream, mut samples: usize) {
    let Some(p) = s.playing.as_mut() else { return };
    while samples > 0 {
        let Some(prompt) = p.prompts.front() else {
            break;
        };
        let left = prompt.ulaw.len().saturating_sub(p.offset);
        let step = left.min(samples);
        p.offset += step;
        samples -= step;
        if p.offset >= prompt.ulaw.len() {
            p.prompts.pop_front();
            p.offset = 0;
        }
    }
}

#[cfg(test)]
mod tests;
