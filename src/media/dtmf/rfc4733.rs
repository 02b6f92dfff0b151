//! RFC 4733 telephone-events (DTMF carried in RTP, payload format `telephone-event/8000`).
//!
//! Payload (§2.3): `event (8) | E (1) R (1) volume (6) | duration (16)`, the duration in
//! RTP clock units from the event's RTP timestamp, which is the time the key went down.
//! All packets of one key press carry the same RTP timestamp; that is what the receiver
//! deduplicates on.

use std::collections::VecDeque;

/// RTP clock rate of `telephone-event/8000`.
pub const CLOCK_RATE: u32 = 8000;

/// One RFC 4733 event payload (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Event code (§3.2: 0-9, 10 = `*`, 11 = `#`, 12-15 = A-D; others are not DTMF).
    pub event: u8,
    /// E bit: this packet reports the end of the event.
    pub end: bool,
    /// Power level in -dBm0, 0..=63 (§2.3.4). Only the low 6 bits are sent.
    pub volume: u8,
    /// Duration so far, in RTP clock units (1/8000 s).
    pub duration: u16,
}

impl Event {
    /// Parses the first four bytes of a payload. Longer payloads are accepted (some senders
    /// pad); the reserved R bit is ignored, as §2.3.3 requires of receivers.
    pub fn parse(payload: &[u8]) -> Option<Event> {
        let b = payload.get(..4)?;
        Some(Event {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// Serialises the payload; R is sent as zero (§2.3.3).
    pub fn to_bytes(&self) -> [u8; 4] {
        let flags = if self.end { 0x80 } else { 0 } | (self.volume & 0x3F);
        let d = self.duration.to_be_bytes();
        [self.event, flags, d[0], d[1]]
    }

    /// The DTMF key this event stands for, if it is one.
    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event)
    }
}

/// Event code → key (§3.2, table 1).
pub fn event_to_digit(event: u8) -> Option<char> {
    super::DIGITS.get(usize::from(event)).copied()
}

/// Key → event code; lower-case `a`-`d` accepted.
pub fn digit_to_event(digit: char) -> Option<u8> {
    let d = super::normalize_digit(digit)?;
    super::DIGITS
        .iter()
        .position(|&c| c == d)
        .and_then(|i| u8::try_from(i).ok())
}

/// How many recent key presses the receiver remembers. Reordering and the three
/// retransmitted end packets span one or two presses; 16 leaves ample room.
const HISTORY: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Seen {
    timestamp: u32,
    event: u8,
    /// Largest duration reported so far.
    duration: u16,
    ended: bool,
}

/// Turns a stream of telephone-event payloads into key presses, each reported exactly once,
/// on the first packet that arrives for it (so a press can interrupt a prompt at once).
///
/// Feed it only packets of the negotiated telephone-event payload type from one SSRC; call
/// [`reset`](Self::reset) when the SSRC changes.
#[derive(Debug, Clone, Default)]
pub struct Rfc4733Receiver {
    recent: VecDeque<Seen>,
}

impl Rfc4733Receiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every event seen (new SSRC or re-INVITE that restarts the stream).
    pub fn reset(&mut self) {
        self.recent.clear();
    }

    /// Handles one packet; returns the key if this packet starts a press not seen before.
    ///
    /// - Same timestamp and event code as a remembered press: a continuation, one of the
    ///   three end retransmissions (§2.5.1.4), or a late/reordered packet → `None`. Only
    ///   the end packets arriving (start lost) still reports the press, once.
    /// - A new timestamp is a new press (§2.5.1.2), even for the same key pressed again,
    ///   except the continuation of a long event: when the duration would overflow 16 bits
    ///   the sender starts a new segment with a new timestamp and no marker (§2.5.1.3).
    ///   That is recognised as: same key, previous segment not ended, no marker, and the new
    ///   timestamp inside the span the previous one already covered. Senders that (wrongly)
    ///   advance the timestamp on every packet of a press fall under the same rule.
    pub fn on_packet(&mut self, rtp_timestamp: u32, marker: bool, payload: &[u8]) -> Option<char> {
        let ev = Event::parse(payload)?;
        let digit = ev.digit()?;

        if let Some(seen) = self
            .recent
            .iter_mut()
            .find(|s| s.timestamp == rtp_timestamp && s.event == ev.event)
        {
            seen.duration = seen.duration.max(ev.duration);
            seen.ended |= ev.end;
            return None;
        }

        let continuation = self.recent.back().is_some_and(|last| {
            let delta = rtp_timestamp.wrapping_sub(last.timestamp);
            last.event == ev.event
                && !last.ended
                && !marker
                && delta > 0
                && delta <= u32::from(last.duration)
        });

        if self.recent.len() == HISTORY {
            self.recent.pop_front();
        }
        self.recent.push_back(Seen {
            timestamp: rtp_timestamp,
            event: ev.event,
            duration: ev.duration,
            ended: ev.end,
        });
        (!continuation).then_some(digit)
    }
}

/// One telephone-event packet to send. The caller puts it on its RTP stream: same SSRC as
/// the audio, its own next sequence number, payload type = the negotiated telephone-event
/// type, RTP timestamp = the event's start timestamp + `timestamp_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephonePacket {
    /// RTP marker bit: set on the first packet of the event (§2.5.1.2).
    pub marker: bool,
    /// Always 0: every packet of one event carries the event's start timestamp (§2.5.1.2).
    pub timestamp_offset: u32,
    /// The 4-byte RFC 4733 payload.
    pub payload: [u8; 4],
    /// When to send it, in ms after the key goes down.
    pub send_at_ms: u32,
}

/// Builds the packet train for sending a key press.
#[derive(Debug, Clone)]
pub struct Rfc4733Sender {
    volume: u8,
    interval_ms: u32,
}

impl Default for Rfc4733Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Rfc4733Sender {
    /// Longest press we send: 8 s stays below the 16-bit duration limit (8.19 s at 8 kHz),
    /// so we never need long-event segments (§2.5.1.3).
    pub const MAX_DURATION_MS: u32 = 8000;

    /// Volume 10 (-10 dBm0, a typical DTMF level), one packet every 20 ms.
    pub fn new() -> Self {
        Rfc4733Sender {
            volume: 10,
            interval_ms: 20,
        }
    }

    /// Sets the reported power level, -dBm0 (clamped to 0..=63).
    pub fn with_volume(mut self, volume: u8) -> Self {
        self.volume = volume.min(63);
        self
    }

    /// Sets the update interval (clamped to 10..=100 ms); use the audio packet time.
    pub fn with_interval_ms(mut self, interval_ms: u32) -> Self {
        self.interval_ms = interval_ms.clamp(10, 100);
        self
    }

    /// Packets for one press of `digit` lasting `duration_ms` (clamped to one interval ..=
    /// [`MAX_DURATION_MS`](Self::MAX_DURATION_MS)). Empty if `digit` is not a DTMF key.
    ///
    /// One update per interval, marker on the first, each carrying the duration up to the
    /// end of the interval it stands for (as audio packets do); then the final packet with
    /// the E bit, sent three times at the same interval (§2.5.1.4), so losing any two of
    /// them still ends the event with the right duration.
    pub fn digit_packets(&self, digit: char, duration_ms: u32) -> Vec<TelephonePacket> {
        let Some(event) = digit_to_event(digit) else {
            return Vec::new();
        };
        let total_ms = duration_ms.clamp(self.interval_ms, Self::MAX_DURATION_MS);
        let total = total_ms * (CLOCK_RATE / 1000);
        let step = self.interval_ms * (CLOCK_RATE / 1000);
        let updates = total.div_ceil(step);
        let packet = |end: bool, units: u32, i: u32| TelephonePacket {
            marker: i == 0,
            timestamp_offset: 0,
            payload: Event {
                event,
                end,
                volume: self.volume,
                duration: u16::try_from(units).unwrap_or(u16::MAX),
            }
            .to_bytes(),
            send_at_ms: i * self.interval_ms,
        };
        let mut out = Vec::with_capacity(updates as usize + 3);
        for i in 0..updates {
            out.push(packet(false, ((i + 1) * step).min(total), i));
        }
        for j in 0..3 {
            out.push(packet(true, total, updates + j));
        }
        out
    }
}

#[cfg(test)]
mod tests;
