use super::*;

fn ev(event: u8, end: bool, duration: u16) -> [u8; 4] {
    Event {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

/// The packet train a typical phone sends for one press: marker + updates every 20 ms, then
/// three end packets. Returns (timestamp, marker, payload).
fn press(ts: u32, event: u8, updates: u16) -> Vec<(u32, bool, [u8; 4])> {
    let mut v: Vec<_> = (1..=updates)
        .map(|i| (ts, i == 1, ev(event, false, i * 160)))
        .collect();
    for _ in 0..3 {
        v.push((ts, false, ev(event, true, updates * 160)));
    }
    v
}

fn feed(rx: &mut Rfc4733Receiver, pkts: &[(u32, bool, [u8; 4])]) -> String {
    pkts.iter()
        .filter_map(|(ts, m, p)| rx.on_packet(*ts, *m, p))
        .collect()
}

#[test]
fn parse_and_serialise() {
    // Wireshark-style capture of "5", end packet, volume 10, duration 800.
    let e = Event::parse(&[0x05, 0x8A, 0x03, 0x20]).expect("valid");
    assert_eq!(
        e,
        Event {
            event: 5,
            end: true,
            volume: 10,
            duration: 800
        }
    );
    assert_eq!(e.to_bytes(), [0x05, 0x8A, 0x03, 0x20]);
    // R bit ignored, extra bytes ignored.
    let e = Event::parse(&[0x0B, 0x4A, 0x00, 0xA0, 0, 0]).expect("valid");
    assert!(!e.end);
    assert_eq!(e.volume, 10);
    assert_eq!(e.digit(), Some('#'));
    assert_eq!(Event::parse(&[1, 2, 3]), None);
    assert_eq!(Event::parse(&[]), None);
    // Volume is masked to 6 bits on output.
    let b = Event {
        event: 1,
        end: false,
        volume: 0xFF,
        duration: 0,
    }
    .to_bytes();
    assert_eq!(b[1], 0x3F);
}

#[test]
fn event_codes() {
    let keys = "0123456789*#ABCD";
    for (i, k) in keys.chars().enumerate() {
        assert_eq!(event_to_digit(i as u8), Some(k));
        assert_eq!(digit_to_event(k), Some(i as u8));
    }
    assert_eq!(digit_to_event('a'), Some(12));
    assert_eq!(digit_to_event('E'), None);
    assert_eq!(digit_to_event('x'), None);
    assert_eq!(event_to_digit(16), None); // flash
    assert_eq!(event_to_digit(255), None);
}

#[test]
fn one_press_reported_once_on_first_packet() {
    let mut rx = Rfc4733Receiver::new();
    let pkts = press(1000, 5, 6);
    assert_eq!(rx.on_packet(pkts[0].0, pkts[0].1, &pkts[0].2), Some('5'));
    assert_eq!(feed(&mut rx, &pkts[1..]), "");
}

#[test]
fn same_digit_twice_is_reported_twice() {
    let mut rx = Rfc4733Receiver::new();
    let mut pkts = press(8000, 1, 5);
    pkts.extend(press(8000 + 800 + 800, 1, 5));
    assert_eq!(feed(&mut rx, &pkts), "11");
}

#[test]
fn lost_start_packets_still_reported_once() {
    let mut rx = Rfc4733Receiver::new();
    // Only the three end packets survive.
    let pkts = press(4000, 11, 4);
    assert_eq!(feed(&mut rx, &pkts[4..]), "#");
    // Start lost but later updates arrive.
    let pkts = press(9000, 3, 4);
    assert_eq!(feed(&mut rx, &pkts[2..]), "3");
}

#[test]
fn reordered_packets() {
    let mut rx = Rfc4733Receiver::new();
    let a = press(1000, 7, 4);
    let b = press(3000, 7, 4);
    // Second update before the marker packet; an end packet of the first press arrives
    // after the second press has started; one end packet even arrives first.
    let order = [
        a[1], a[0], a[6], a[2], a[3], a[4], b[0], a[5], b[1], b[2], b[3], b[5], b[4], b[6],
    ];
    assert_eq!(feed(&mut rx, &order), "77");
}

#[test]
fn whole_press_delayed_behind_the_next_one() {
    let mut rx = Rfc4733Receiver::new();
    let a = press(1000, 1, 3);
    let b = press(3000, 2, 3);
    let mut order = b.clone();
    order.extend(a);
    // Reported in arrival order; neither lost nor doubled.
    assert_eq!(feed(&mut rx, &order), "21");
}

#[test]
fn long_press_reported_once() {
    let mut rx = Rfc4733Receiver::new();
    // 5 s of updates (250 packets) then ends.
    assert_eq!(feed(&mut rx, &press(123_456, 9, 250)), "9");
}

#[test]
fn long_event_segments_are_one_press() {
    // §2.5.1.3: past 0xFFFF units the sender starts a new segment at ts + 0xFFFF, no marker.
    let mut rx = Rfc4733Receiver::new();
    let ts = u32::MAX - 1000; // and the timestamp wraps
    assert_eq!(rx.on_packet(ts, true, &ev(0, false, 160)), Some('0'));
    assert_eq!(rx.on_packet(ts, false, &ev(0, false, 0xFFFF)), None);
    let ts2 = ts.wrapping_add(0xFFFF);
    assert_eq!(rx.on_packet(ts2, false, &ev(0, false, 160)), None);
    assert_eq!(rx.on_packet(ts2, false, &ev(0, true, 800)), None);
    // A real new press of the same key afterwards is still reported.
    assert_eq!(
        rx.on_packet(ts2.wrapping_add(2000), true, &ev(0, false, 160)),
        Some('0')
    );
}

#[test]
fn sender_advancing_timestamp_per_packet_counts_once() {
    // A non-conforming sender that bumps the timestamp on every packet of one press.
    let mut rx = Rfc4733Receiver::new();
    let mut got = String::new();
    for i in 0..5u32 {
        got.extend(rx.on_packet(100 + i * 160, i == 0, &ev(4, false, ((i + 1) * 160) as u16)));
    }
    assert_eq!(got, "4");
}

#[test]
fn different_keys_and_non_dtmf_events() {
    let mut rx = Rfc4733Receiver::new();
    let mut pkts = press(0, 1, 3);
    pkts.extend(press(2000, 16, 3)); // flash: not a key
    pkts.extend(press(4000, 12, 3));
    pkts.extend(press(6000, 10, 3));
    assert_eq!(feed(&mut rx, &pkts), "1A*");
    assert_eq!(rx.on_packet(1, true, &[1, 2]), None);
}

#[test]
fn reset_forgets() {
    let mut rx = Rfc4733Receiver::new();
    assert_eq!(rx.on_packet(5, true, &ev(2, false, 160)), Some('2'));
    rx.reset();
    assert_eq!(rx.on_packet(5, false, &ev(2, false, 320)), Some('2'));
}

#[test]
fn history_is_bounded() {
    let mut rx = Rfc4733Receiver::new();
    for i in 0..1000u32 {
        assert_eq!(rx.on_packet(i * 4000, true, &ev(1, true, 800)), Some('1'));
    }
    assert!(rx.recent.len() <= HISTORY);
}

#[test]
fn sender_100ms_digit() {
    let tx = Rfc4733Sender::new();
    let pkts = tx.digit_packets('5', 100);
    assert_eq!(pkts.len(), 5 + 3);
    let events: Vec<Event> = pkts
        .iter()
        .filter_map(|p| Event::parse(&p.payload))
        .collect();
    let durations: Vec<u16> = events.iter().map(|e| e.duration).collect();
    assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800, 800]);
    let ends: Vec<bool> = events.iter().map(|e| e.end).collect();
    assert_eq!(ends, [false, false, false, false, false, true, true, true]);
    let markers: Vec<bool> = pkts.iter().map(|p| p.marker).collect();
    assert_eq!(
        markers,
        [true, false, false, false, false, false, false, false]
    );
    let times: Vec<u32> = pkts.iter().map(|p| p.send_at_ms).collect();
    assert_eq!(times, [0, 20, 40, 60, 80, 100, 120, 140]);
    assert!(pkts.iter().all(|p| p.timestamp_offset == 0));
    assert!(events.iter().all(|e| e.event == 5 && e.volume == 10));
}

#[test]
fn sender_odd_durations_and_limits() {
    let tx = Rfc4733Sender::new().with_volume(200).with_interval_ms(50);
    let pkts = tx.digit_packets('#', 70);
    let d: Vec<u16> = pkts
        .iter()
        .filter_map(|p| Event::parse(&p.payload))
        .map(|e| e.duration)
        .collect();
    assert_eq!(d, [400, 560, 560, 560, 560]);
    assert_eq!(Event::parse(&pkts[0].payload).map(|e| e.volume), Some(63));
    let long = Rfc4733Sender::new().digit_packets('1', u32::MAX);
    let last = long.last().and_then(|p| Event::parse(&p.payload));
    assert_eq!(last.map(|e| e.duration), Some(64000));
    assert_eq!(Rfc4733Sender::new().digit_packets('1', 0).len(), 1 + 3);
    assert!(Rfc4733Sender::new().digit_packets('x', 100).is_empty());
}

#[test]
fn receiver_decodes_sender() {
    let tx = Rfc4733Sender::new();
    let mut rx = Rfc4733Receiver::new();
    let mut ts = 160_000u32;
    let mut got = String::new();
    for key in "1234567890*#ABCD11".chars() {
        for p in tx.digit_packets(key, 100) {
            got.extend(rx.on_packet(ts + p.timestamp_offset, p.marker, &p.payload));
        }
        ts += 8 * 200; // 100 ms tone + 100 ms gap
    }
    assert_eq!(got, "1234567890*#ABCD11");
}

#[test]
fn arbitrary_payloads_do_not_panic() {
    let mut rx = Rfc4733Receiver::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        let len = (x >> 60) as usize % 9;
        let _ = rx.on_packet((x >> 32) as u32 % 64, i % 3 == 0, &bytes[..len]);
    }
    assert!(rx.recent.len() <= HISTORY);
}
