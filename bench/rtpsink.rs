//! rtpsink: the receiving end of bench/media.sh and bench/relay.sh. Binds one
//! UDP port per call (BASE, BASE+STRIDE, ... N ports on IP, by default
//! 127.0.0.1), reads every RTP packet with its kernel
//! receive timestamp (SO_TIMESTAMPNS; on loopback that is the moment the
//! sender's sendto() ran, so it measures what the server SENDS, not when this
//! program got around to reading), and prints one line of statistics when
//! DURATION seconds have passed.
//!
//! Per stream (= per port): packets, losses (sequence numbers never seen
//! between the first and the last one), skipped frames (consecutive sequence
//! numbers whose RTP timestamps are more than 20 ms apart: audio the sender
//! never sent, e.g. a media clock that fell behind and jumped ahead),
//! duplicates/reordered packets, and the packets of its last talkspurt (from
//! the last packet with the RTP marker bit, RFC 3551 §4.1, or the first
//! packet): a relay marks the first packet it forwards from a new source, so
//! this counts what was relayed, whatever the relay sent before the bridge.
//! A timestamp jump at a marked packet is the start of a talkspurt, not a
//! skipped frame.
//! Over all streams: the send jitter of each pair of consecutive packets
//! (sequence n, n+1) of a stream, |Δ receive time − Δ RTP timestamp / 8 kHz|,
//! as a histogram in 10 µs buckets: p50, p99, p99.9 and max.
//!
//! With a SEND argument it is also the sending end (bench/relay.sh): every
//! port sends one talkspurt of COUNT 20 ms PCMA packets (the first marked)
//! from ordinary UDP sockets, so the load generator costs one sendto() per
//! packet (SIPp's pcap play opens a raw socket per call, and the kernel
//! copies every loopback UDP packet to each of them):
//! - `reply:COUNT:DELAY_MS`: symmetric RTP (RFC 4961): a port starts DELAY_MS
//!   after its first packet arrives and sends to where that packet came from
//!   (the relay, or the generator on the other leg).
//! - `sdp:FILE:IP:COUNT:DELAY_MS`: the side that speaks first, to the media
//!   port the far end's SDP named: FILE grows by a line `CALL PORT` per
//!   answered call (SIPp's `<log>` action, bench/sipp/relay_caller.xml), and
//!   port CALL-1 starts DELAY_MS later, to IP:PORT.
//!
//! No dependencies (the script compiles it with `rustc -O`), Linux x86_64/aarch64 only:
//! the few system calls it needs are declared by hand.
//!
//! Usage: rtpsink BASE N DURATION_S [STRIDE [IP [SEND]]]   (STRIDE defaults to 1)
//! Output: key=value pairs on one line (see `report`), with sent=PACKETS when sending.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

#[repr(C)]
struct IoVec {
    base: *mut u8,
    len: usize,
}

#[repr(C)]
struct MsgHdr {
    name: *mut u8,
    namelen: u32,
    iov: *mut IoVec,
    iovlen: usize,
    control: *mut u8,
    controllen: usize,
    flags: i32,
}

#[repr(C)]
struct CmsgHdr {
    len: usize,
    level: i32,
    kind: i32,
}

#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy)]
struct EpollEvent {
    events: u32,
    data: u64,
}

extern "C" {
    fn setsockopt(fd: i32, level: i32, name: i32, val: *const u8, len: u32) -> i32;
    fn recvmsg(fd: i32, msg: *mut MsgHdr, flags: i32) -> isize;
    fn epoll_create1(flags: i32) -> i32;
    fn epoll_ctl(epfd: i32, op: i32, fd: i32, ev: *mut EpollEvent) -> i32;
    fn epoll_wait(epfd: i32, evs: *mut EpollEvent, max: i32, timeout_ms: i32) -> i32;
}

const SOL_SOCKET: i32 = 1;
const SO_RCVBUF: i32 = 8;
const SO_TIMESTAMPNS: i32 = 35;
const MSG_DONTWAIT: i32 = 0x40;
const EPOLLIN: u32 = 1;
const EPOLL_CTL_ADD: i32 = 1;

/// Jitter histogram: 10 µs buckets up to 1 s, then one overflow bucket.
const BUCKET_US: u64 = 10;
const BUCKETS: usize = 100_000;

/// What a port sends (the SEND argument).
enum Send {
    Reply {
        count: u32,
        delay_ms: u64,
    },
    Sdp {
        file: String,
        ip: Ipv4Addr,
        count: u32,
        delay_ms: u64,
    },
}

impl Send {
    fn parse(arg: &str) -> Option<Send> {
        let f: Vec<&str> = arg.split(':').collect();
        match f.as_slice() {
            ["reply", c, d] => Some(Send::Reply {
                count: c.parse().ok()?,
                delay_ms: d.parse().ok()?,
            }),
            ["sdp", file, ip, c, d] => Some(Send::Sdp {
                file: file.to_string(),
                ip: ip.parse().ok()?,
                count: c.parse().ok()?,
                delay_ms: d.parse().ok()?,
            }),
            _ => None,
        }
    }

    fn count(&self) -> u32 {
        match self {
            Send::Reply { count, .. } | Send::Sdp { count, .. } => *count,
        }
    }
}

/// The sending side of one port: its destination once known, the ms (since
/// start) of its first packet, and how many it sent.
#[derive(Clone, Copy)]
struct Talk {
    dest: Option<SocketAddr>,
    start_ms: u64,
    sent: u32,
}

/// sockaddr_in as recvmsg() fills it in.
#[repr(C)]
struct SockAddrIn {
    family: u16,
    port_be: u16,
    addr: [u8; 4],
    zero: [u8; 8],
}

#[derive(Default, Clone)]
struct Stream {
    packets: u64,
    /// Extended (unwrapped) sequence numbers of the first and the highest packet.
    first_seq: Option<u64>,
    max_seq: u64,
    last_seq16: u16,
    last_ts: u32,
    last_ns: u64,
    out_of_order: u64,
    skipped_frames: u64,
    /// Packets since the last marked packet (or the first one).
    spurt: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(4..=7).contains(&args.len()) {
        eprintln!("usage: rtpsink BASE N DURATION_S [STRIDE [IP [SEND]]]");
        std::process::exit(2);
    }
    let send = args.get(6).map(|a| {
        Send::parse(a).unwrap_or_else(|| {
            eprintln!(
                "rtpsink: SEND is reply:COUNT:DELAY_MS or sdp:FILE:IP:COUNT:DELAY_MS, not {a}"
            );
            std::process::exit(2)
        })
    });
    let stride: usize = args.get(4).map_or(1, |s| s.parse().expect("STRIDE"));
    let ip: std::net::Ipv4Addr = args
        .get(5)
        .map_or(std::net::Ipv4Addr::LOCALHOST, |s| s.parse().expect("IP"));
    let base: u16 = args[1].parse().expect("BASE");
    let n: usize = args[2].parse().expect("N");
    let duration = Duration::from_secs_f64(args[3].parse().expect("DURATION_S"));

    let epfd = unsafe { epoll_create1(0) };
    assert!(epfd >= 0, "epoll_create1 failed");
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let port = base as usize + i * stride;
        let s = UdpSocket::bind((ip, port as u16)).unwrap_or_else(|e| {
            eprintln!("rtpsink: cannot bind {ip}:{port}: {e}");
            std::process::exit(2)
        });
        let fd = s.as_raw_fd();
        let one: i32 = 1;
        let rcvbuf: i32 = 256 * 1024;
        unsafe {
            setsockopt(
                fd,
                SOL_SOCKET,
                SO_TIMESTAMPNS,
                &one as *const i32 as *const u8,
                4,
            );
            setsockopt(
                fd,
                SOL_SOCKET,
                SO_RCVBUF,
                &rcvbuf as *const i32 as *const u8,
                4,
            );
            let mut ev = EpollEvent {
                events: EPOLLIN,
                data: i as u64,
            };
            assert_eq!(epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &mut ev), 0, "epoll_ctl");
        }
        sockets.push(s);
    }
    let fds: Vec<i32> = sockets.iter().map(|s| s.as_raw_fd()).collect();
    eprintln!(
        "rtpsink: listening on {}:{}..{} (every {}) for {:?}",
        ip,
        base,
        base as usize + (n - 1) * stride,
        stride,
        duration
    );

    // Senders by the ms of their 20 ms period they send in, so each ms visits
    // only the ports due then.
    let mut talk = vec![
        Talk {
            dest: None,
            start_ms: 0,
            sent: 0
        };
        n
    ];
    let mut due: Vec<Vec<usize>> = vec![Vec::new(); 20];
    // sdp mode: the lines SIPp appends, read as they come.
    let mut sdp_log = match &send {
        Some(Send::Sdp { file, .. }) => Some(SdpLog {
            file: std::fs::File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(file)
                .unwrap_or_else(|e| {
                    eprintln!("rtpsink: cannot open {file}: {e}");
                    std::process::exit(2)
                }),
            partial: Vec::new(),
        }),
        _ => None,
    };
    let count = send.as_ref().map_or(0, Send::count);
    let mut sent_total = 0u64;
    let mut done_ms = 0u64;
    let mut pkt = [0xd5u8; 12 + 160]; // PCMA silence after the RTP header
    let mut streams = vec![Stream::default(); n];
    let mut hist = vec![0u64; BUCKETS + 1];
    let mut max_jitter_ns = 0u64;
    let mut bad = 0u64;
    let mut late = 0u64; // gaps more than 5 ms off
    let mut events = vec![EpollEvent { events: 0, data: 0 }; 1024];
    let mut buf = [0u8; 2048];
    let mut control = [0u64; 16];
    let start = Instant::now();
    while start.elapsed() < duration {
        let wait_ms = if send.is_some() { 1 } else { 100 };
        let k = unsafe { epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, wait_ms) };
        if send.is_some() {
            let now_ms = start.elapsed().as_millis() as u64;
            if let (Some(log), Some(Send::Sdp { ip, delay_ms, .. })) = (sdp_log.as_mut(), &send) {
                for (call, port) in log.read_new() {
                    if let Some(t) = call.checked_sub(1).and_then(|i| talk.get_mut(i)) {
                        if t.dest.is_none() {
                            t.dest = Some(SocketAddr::from((*ip, port)));
                            t.start_ms = now_ms + delay_ms;
                            due[(t.start_ms % 20) as usize].push(call - 1);
                        }
                    }
                }
            }
            // Every ms up to now (a late round catches up: the packets keep
            // their sequence numbers and timestamps).
            while done_ms < now_ms {
                done_ms += 1;
                for &i in &due[(done_ms % 20) as usize] {
                    let t = &mut talk[i];
                    if t.sent >= count || done_ms < t.start_ms {
                        continue;
                    }
                    rtp_header(&mut pkt, base as u32 * 65536 + i as u32, t.sent);
                    if let Some(dest) = t.dest {
                        if sockets[i].send_to(&pkt, dest).is_ok() {
                            sent_total += 1;
                        }
                    }
                    t.sent += 1;
                }
            }
        }
        if k < 0 {
            continue; // EINTR
        }
        for ev in &events[..k as usize] {
            let idx = ev.data as usize;
            // Level-triggered: one packet per ready socket per round; what is
            // left is reported again by the next epoll_wait.
            let mut iov = IoVec {
                base: buf.as_mut_ptr(),
                len: buf.len(),
            };
            let mut from = SockAddrIn {
                family: 0,
                port_be: 0,
                addr: [0; 4],
                zero: [0; 8],
            };
            let mut msg = MsgHdr {
                name: &mut from as *mut SockAddrIn as *mut u8,
                namelen: std::mem::size_of::<SockAddrIn>() as u32,
                iov: &mut iov,
                iovlen: 1,
                control: control.as_mut_ptr() as *mut u8,
                controllen: std::mem::size_of_val(&control),
                flags: 0,
            };
            let len = unsafe { recvmsg(fds[idx], &mut msg, MSG_DONTWAIT) };
            if len < 12 {
                if len >= 0 {
                    bad += 1;
                }
                continue;
            }
            if let Some(Send::Reply { delay_ms, .. }) = send {
                let t = &mut talk[idx];
                if t.dest.is_none() && from.family == 2 {
                    // AF_INET: the first packet names the far end.
                    let a = SocketAddrV4::new(from.addr.into(), u16::from_be(from.port_be));
                    t.dest = Some(a.into());
                    t.start_ms = start.elapsed().as_millis() as u64 + delay_ms;
                    due[(t.start_ms % 20) as usize].push(idx);
                }
            }
            let ns = kernel_time_ns(&msg).unwrap_or(0);
            let p = &buf[..len as usize];
            if p[0] >> 6 != 2 {
                bad += 1;
                continue;
            }
            let seq = u16::from_be_bytes([p[2], p[3]]);
            let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
            let marker = p[1] & 0x80 != 0;
            let s = &mut streams[idx];
            match s.first_seq {
                None => {
                    s.first_seq = Some(seq as u64 + 65536);
                    s.max_seq = seq as u64 + 65536;
                    s.spurt = 0;
                }
                Some(_) => {
                    let diff = seq.wrapping_sub(s.last_seq16) as i16;
                    if marker && diff > 0 {
                        s.spurt = 0;
                    }
                    if diff == 1 && !marker {
                        // Frames the sender skipped without a sequence gap: its
                        // timestamp jumps by more than one 20 ms frame (160 samples).
                        let dts = ts.wrapping_sub(s.last_ts);
                        if dts > 160 && dts < 8000 * 60 {
                            s.skipped_frames += u64::from(dts / 160 - 1);
                        }
                        let want_ns = (ts.wrapping_sub(s.last_ts) as i32 as i64) * 125_000; // 8 kHz
                        let got_ns = ns as i64 - s.last_ns as i64;
                        let j = (got_ns - want_ns).unsigned_abs();
                        max_jitter_ns = max_jitter_ns.max(j);
                        if j > 5_000_000 {
                            late += 1;
                            if late <= 10 {
                                eprintln!(
                                    "rtpsink: port {} seq {} came {:.1} ms off its 20 ms slot, {:.3} s after start",
                                    base as usize + idx * stride,
                                    seq,
                                    j as f64 / 1e6,
                                    start.elapsed().as_secs_f64()
                                );
                            }
                        }
                        let b = ((j / 1000) / BUCKET_US) as usize;
                        hist[b.min(BUCKETS)] += 1;
                    }
                    if diff <= 0 {
                        s.out_of_order += 1;
                        s.packets += 1;
                        s.spurt += 1;
                        continue;
                    }
                    let ext = (s.max_seq as i64 + diff as i64) as u64;
                    s.max_seq = s.max_seq.max(ext);
                }
            }
            s.packets += 1;
            s.spurt += 1;
            s.last_seq16 = seq;
            s.last_ts = ts;
            s.last_ns = ns;
        }
    }
    report(&streams, &hist, max_jitter_ns, bad);
    if send.is_some() {
        let talkers = talk.iter().filter(|t| t.dest.is_some()).count();
        let complete = talk.iter().filter(|t| t.sent >= count).count();
        // Against the talkspurt every leg sends: packets missing from the
        // last talkspurt of each stream heard, and streams with more (the
        // marker went missing, so earlier packets count too).
        let heard = streams.iter().filter(|s| s.first_seq.is_some());
        let short: u64 = heard
            .clone()
            .map(|s| u64::from(count).saturating_sub(s.spurt))
            .sum();
        let long = heard.filter(|s| s.spurt > u64::from(count)).count();
        println!(
            "sent={sent_total} talkers={talkers} talkers_complete={complete} spurt_short={short} spurt_long={long}"
        );
    }
    eprintln!("rtpsink: {late} gaps more than 5 ms off");
}

/// A file another process appends `CALL PORT` lines to.
struct SdpLog {
    file: std::fs::File,
    partial: Vec<u8>,
}

impl SdpLog {
    /// The complete lines appended since the last call.
    fn read_new(&mut self) -> Vec<(usize, u16)> {
        use std::io::Read;
        let mut chunk = [0u8; 65536];
        let mut out = Vec::new();
        while let Ok(k) = self.file.read(&mut chunk) {
            if k == 0 {
                break;
            }
            self.partial.extend_from_slice(&chunk[..k]);
        }
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line);
            let mut f = text.split_whitespace();
            if let (Some(Ok(call)), Some(Ok(port))) =
                (f.next().map(str::parse), f.next().map(str::parse))
            {
                out.push((call, port));
            }
        }
        out
    }
}

/// Packet `k` of a talkspurt: PCMA (PT 8), the first one marked (RFC 3551
/// §4.1), sequence numbers and 8 kHz timestamps from 0 (RFC 3550 §5.1).
fn rtp_header(pkt: &mut [u8], ssrc: u32, k: u32) {
    pkt[0] = 0x80;
    pkt[1] = if k == 0 { 0x80 | 8 } else { 8 };
    pkt[2..4].copy_from_slice(&(k as u16).to_be_bytes());
    pkt[4..8].copy_from_slice(&(k * 160).to_be_bytes());
    pkt[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

/// The SCM_TIMESTAMPNS control message: the kernel's receive time in ns.
fn kernel_time_ns(msg: &MsgHdr) -> Option<u64> {
    let mut off = 0usize;
    let hdr = std::mem::size_of::<CmsgHdr>();
    while off + hdr <= msg.controllen {
        let c = unsafe { &*(msg.control.add(off) as *const CmsgHdr) };
        if c.len < hdr {
            return None;
        }
        if c.level == SOL_SOCKET && c.kind == SO_TIMESTAMPNS {
            let d = unsafe { msg.control.add(off + hdr) as *const i64 };
            let (sec, nsec) = unsafe { (d.read_unaligned(), d.add(1).read_unaligned()) };
            return Some(sec as u64 * 1_000_000_000 + nsec as u64);
        }
        off += (c.len + 7) & !7;
    }
    None
}

fn report(streams: &[Stream], hist: &[u64], max_jitter_ns: u64, bad: u64) {
    let seen: Vec<&Stream> = streams.iter().filter(|s| s.first_seq.is_some()).collect();
    let packets: u64 = seen.iter().map(|s| s.packets).sum();
    let ooo: u64 = seen.iter().map(|s| s.out_of_order).sum();
    let skipped: u64 = seen.iter().map(|s| s.skipped_frames).sum();
    let streams_with_skips = seen.iter().filter(|s| s.skipped_frames > 0).count();
    let spurt_packets: u64 = seen.iter().map(|s| s.spurt).sum();
    let spurt_min = seen.iter().map(|s| s.spurt).min().unwrap_or(0);
    let mut lost = 0u64;
    let mut streams_with_loss = 0u64;
    for s in &seen {
        let expected = s.max_seq - s.first_seq.unwrap() + 1;
        let in_order = s.packets - s.out_of_order;
        if expected > in_order {
            lost += expected - in_order;
            streams_with_loss += 1;
        }
    }
    let mut per: Vec<u64> = seen.iter().map(|s| s.packets).collect();
    per.sort_unstable();
    let pick = |q: f64| -> u64 {
        if per.is_empty() {
            0
        } else {
            per[((per.len() - 1) as f64 * q) as usize]
        }
    };
    let total: u64 = hist.iter().sum();
    let pct = |q: f64| -> String {
        if total == 0 {
            return "-".into();
        }
        let want = (total as f64 * q).ceil() as u64;
        let mut cum = 0;
        for (i, c) in hist.iter().enumerate() {
            cum += c;
            if cum >= want {
                return format!("{}", (i as u64 + 1) * BUCKET_US); // upper bound of the bucket
            }
        }
        "-".into()
    };
    println!(
        "streams={} packets={} lost={} streams_with_loss={} skipped_frames={} streams_with_skips={} out_of_order={} not_rtp={} \
         per_stream_min={} per_stream_median={} per_stream_max={} gaps={} spurt_packets={} spurt_min={} \
         jitter_p50_us={} jitter_p99_us={} jitter_p999_us={} jitter_max_us={}",
        seen.len(),
        packets,
        lost,
        streams_with_loss,
        skipped,
        streams_with_skips,
        ooo,
        bad,
        pick(0.0),
        pick(0.5),
        pick(1.0),
        total,
        spurt_packets,
        spurt_min,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        max_jitter_ns / 1000
    );
}
