//! The media thread: owns the [`MediaEngine`] and every RTP socket. One shared
//! 20 ms clock drives all streams, and one epoll set (mio) reads all sockets.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::PortRange;
use crate::media::engine::{MediaEngine, MediaEvent, MediaOutput, MediaStats, StreamId, FRAME};
use crate::media::prompts::Prompt;
use crate::media::recorder::Recorder;
use crate::media::recording::{RecordingSink, VoiceMeter};
use crate::media::sdp::Negotiated;

pub enum MediaCommand {
    Add {
        id: StreamId,
        socket: StdUdpSocket,
        media: Negotiated,
    },
    Update {
        id: StreamId,
        media: Negotiated,
    },
    Remove {
        id: StreamId,
    },
    Stop {
        id: StreamId,
    },
    /// Record what the far end says (voicemail) until `max`, `silence` or
    /// `StopRecording`. `stereo`: a whole conversation instead — the far end
    /// left, what we send (the bridged agent) right; `silence` zero never stops it.
    Record {
        id: StreamId,
        path: PathBuf,
        max: Duration,
        silence: Duration,
        stereo: bool,
    },
    StopRecording {
        id: StreamId,
    },
    /// Relay audio between two streams (caller and agent).
    Bridge {
        a: StreamId,
        b: StreamId,
    },
    /// End the bridge `id` is in; both sides go back to the clock.
    Unbridge {
        id: StreamId,
    },
    Play {
        id: StreamId,
        play: u64,
        prompts: Vec<Arc<Prompt>>,
        barge_in: bool,
    },
    Echo {
        id: StreamId,
        on: bool,
    },
}

/// Hands out RTP ports from the configured range, even numbers only
/// (RFC 3550 §11: RTP on even, RTCP on the odd port above).
pub struct RtpPorts {
    ip: IpAddr,
    range: PortRange,
    next: u16,
}

impl RtpPorts {
    pub fn new(ip: IpAddr, range: PortRange) -> Self {
        let first = range.first + range.first % 2;
        RtpPorts {
            ip,
            range,
            next: first,
        }
    }

    /// Binds the next free even port, wrapping around the range once.
    pub fn bind(&mut self) -> std::io::Result<StdUdpSocket> {
        let span = u32::from(self.range.last - self.range.first) / 2 + 1;
        for _ in 0..span {
            let port = self.next;
            self.next = if port + 2 > self.range.last {
                self.range.first + self.range.first % 2
            } else {
                port + 2
            };
            if let Ok(s) = StdUdpSocket::bind(SocketAddr::new(self.ip, port)) {
                s.set_nonblocking(true)?;
                return Ok(s);
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "no free RTP port in the range",
        ))
    }
}

/// A voicemail being recorded: when it started, its limits, and the meter
/// that tells how long the caller has been silent.
struct ActiveRecording {
    path: PathBuf,
    started: Instant,
    max: Duration,
    silence: Duration,
    meter: Arc<VoiceMeter>,
}

/// The poll token of the command wake-up; a stream's token is its id.
const WAKE: Token = Token(usize::MAX);

/// Reads per socket per readiness before the others get their turn (a
/// socket gets 50 packets a second; only a flood reaches this).
const READS_PER_WAKE: usize = 64;

/// The media thread's running totals, published once per round of its loop
/// for `/metrics` (relaxed atomics: each figure on its own is exact, a read
/// of several may straddle a round).
#[derive(Debug, Default)]
pub struct MediaCounters {
    streams: AtomicU64,
    received: AtomicU64,
    sent: AtomicU64,
    rejected: AtomicU64,
    send_errors: AtomicU64,
    late_ticks: AtomicU64,
    frames_skipped: AtomicU64,
}

/// A reading of [`MediaCounters`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MediaTotals {
    /// RTP streams open now (a caller's leg, an agent's leg…).
    pub streams: u64,
    pub packets_received: u64,
    pub packets_sent: u64,
    /// Not RTP, or a payload type the stream did not negotiate.
    pub packets_rejected: u64,
    /// `sendto()` failed (socket buffer full, no route): the packet is gone.
    pub send_errors: u64,
    /// 20 ms ticks that ran late by a frame or more (the thread fell behind).
    pub late_ticks: u64,
    pub frames_skipped: u64,
}

impl MediaCounters {
    fn publish(&self, stats: MediaStats, streams: usize, send_errors: u64) {
        let r = Ordering::Relaxed;
        self.streams.store(streams as u64, r);
        self.received.store(stats.packets_received, r);
        self.sent.store(stats.packets_sent, r);
        self.rejected.store(stats.packets_rejected, r);
        self.send_errors.store(send_errors, r);
        self.late_ticks.store(stats.late_ticks, r);
        self.frames_skipped.store(stats.frames_skipped, r);
    }

    pub fn read(&self) -> MediaTotals {
        let r = Ordering::Relaxed;
        MediaTotals {
            streams: self.streams.load(r),
            packets_received: self.received.load(r),
            packets_sent: self.sent.load(r),
            packets_rejected: self.rejected.load(r),
            send_errors: self.send_errors.load(r),
            late_ticks: self.late_ticks.load(r),
            frames_skipped: self.frames_skipped.load(r),
        }
    }
}

/// The calls' end of the media thread: commands, and a wake-up so that the
/// thread, asleep in its poll, takes them at once.
#[derive(Clone)]
pub struct MediaHandle {
    commands: std::sync::mpsc::Sender<MediaCommand>,
    waker: Arc<Waker>,
    counters: Arc<MediaCounters>,
}

/// The media thread has stopped (shutdown).
#[derive(Debug)]
pub struct MediaGone;

impl MediaHandle {
    pub fn send(&self, cmd: MediaCommand) -> Result<(), MediaGone> {
        self.commands.send(cmd).map_err(|_| MediaGone)?;
        self.waker.wake().map_err(|_| MediaGone)
    }

    pub fn counters(&self) -> Arc<MediaCounters> {
        self.counters.clone()
    }

    /// A handle whose commands go nowhere, for tests of the call logic.
    #[cfg(test)]
    pub fn detached() -> Self {
        let poll = Poll::new().expect("epoll");
        let waker = Waker::new(poll.registry(), WAKE).expect("eventfd");
        let (commands, _) = std::sync::mpsc::channel();
        MediaHandle {
            commands,
            waker: Arc::new(waker),
            counters: Arc::default(),
        }
    }
}

/// Starts the media thread. One thread reads every RTP socket from one epoll
/// set and sends from where it reads: no task, channel or allocation per
/// packet, and packets that arrive while it ticks wait in their sockets'
/// kernel buffers instead of being dropped from a queue.
pub fn spawn(
    inactivity: Duration,
    events: mpsc::UnboundedSender<MediaEvent>,
    stop: CancellationToken,
) -> std::io::Result<MediaHandle> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
    let (tx, rx) = std::sync::mpsc::channel();
    let counters = Arc::new(MediaCounters::default());
    let published = counters.clone();
    std::thread::Builder::new()
        .name("media".into())
        .spawn(move || {
            raise_priority();
            MediaThread::new(poll, inactivity, events, published).run(rx, stop)
        })?;
    Ok(MediaHandle {
        commands: tx,
        waker,
        counters,
    })
}

/// The media thread's nice value: under a burst of signalling (a
/// registration storm, hundreds of calls set up at once) audio must not wait
/// behind it, while SIP tolerates a few milliseconds. Media servers do the
/// same (FreeSWITCH `-rp`, Asterisk `-p`).
const MEDIA_NICE: i32 = -10;

/// Asks for [`MEDIA_NICE`] for this thread alone (on Linux a thread id names
/// one thread). Needs CAP_SYS_NICE; without it the thread keeps the normal
/// priority, which works the same until the core is saturated.
fn raise_priority() {
    let me = rustix::thread::gettid();
    match rustix::process::setpriority_process(Some(me), MEDIA_NICE) {
        Ok(()) => debug!(nice = MEDIA_NICE, "media thread priority raised"),
        Err(e) => info!("media thread at normal priority (nice {MEDIA_NICE} refused: {e})"),
    }
}

struct MediaThread {
    poll: Poll,
    engine: MediaEngine,
    sockets: HashMap<StreamId, UdpSocket>,
    recordings: HashMap<StreamId, ActiveRecording>,
    events: mpsc::UnboundedSender<MediaEvent>,
    rng: u64,
    counters: Arc<MediaCounters>,
    send_errors: u64,
}

impl MediaThread {
    fn new(
        poll: Poll,
        inactivity: Duration,
        events: mpsc::UnboundedSender<MediaEvent>,
        counters: Arc<MediaCounters>,
    ) -> Self {
        MediaThread {
            poll,
            engine: MediaEngine::new(Instant::now(), inactivity),
            sockets: HashMap::new(),
            recordings: HashMap::new(),
            events,
            rng: rand::random(),
            counters,
            send_errors: 0,
        }
    }

    fn run(mut self, commands: std::sync::mpsc::Receiver<MediaCommand>, stop: CancellationToken) {
        let mut ready = Events::with_capacity(1024);
        let mut buf = [0u8; 2048];
        while !stop.is_cancelled() {
            let deadline = self.engine.poll_timeout();
            // epoll counts whole milliseconds and rounds up, which would make
            // every tick late: wait the whole milliseconds, sleep the rest.
            let wait = deadline.saturating_duration_since(Instant::now());
            let wait = Duration::from_millis(wait.as_millis() as u64);
            if let Err(e) = self.poll.poll(&mut ready, Some(wait)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    warn!("media poll failed: {e}");
                    std::thread::sleep(FRAME);
                }
                continue;
            }
            let now = Instant::now();
            for ev in ready.iter() {
                let token = ev.token();
                if token == WAKE {
                    continue; // the commands are taken below, every round
                }
                self.read(StreamId(token.0 as u64), now, &mut buf);
            }
            while let Ok(cmd) = commands.try_recv() {
                self.command(cmd);
            }
            let now = Instant::now();
            if now < deadline && deadline - now < Duration::from_millis(1) {
                // Under a millisecond to go: packets wait in their sockets meanwhile.
                std::thread::sleep(deadline - now);
            }
            let now = Instant::now();
            if now >= deadline {
                self.engine.tick(now);
                self.end_recordings(now, |_, r, now| {
                    let silent = Duration::from_millis(r.meter.silent_for() / 8);
                    let nothing_heard =
                        r.meter.heard.load(std::sync::atomic::Ordering::Relaxed) == 0;
                    let by_silence = !r.silence.is_zero()
                        && (silent >= r.silence
                            || (nothing_heard && now.duration_since(r.started) >= r.silence));
                    now.duration_since(r.started) >= r.max || by_silence
                });
                // Once a tick, not once a wake-up: scrapes come seconds apart.
                self.counters
                    .publish(self.engine.stats(), self.engine.len(), self.send_errors);
            }
            self.flush();
        }
    }

    /// Takes what one stream's socket holds (the poll is edge-triggered: all
    /// of it), relaying each packet as it comes.
    fn read(&mut self, id: StreamId, now: Instant, buf: &mut [u8]) {
        for _ in 0..READS_PER_WAKE {
            let Some(socket) = self.sockets.get(&id) else {
                return;
            };
            match socket.recv_from(buf) {
                Ok((n, from)) => {
                    self.engine.receive(now, id, from, &buf[..n]);
                    self.flush();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                // An ICMP error from an earlier send (the far end's port is
                // closed): reported once, the packets behind it still count.
                Err(e) => debug!(?id, "RTP receive error: {e}"),
            }
        }
    }

    /// Sends the engine's packets and passes on its events.
    fn flush(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                MediaOutput::Send { stream, to, bytes } => {
                    if let Some(s) = self.sockets.get(&stream) {
                        if let Err(e) = s.send_to(&bytes, to) {
                            self.send_errors += 1;
                            debug!(?stream, %to, "RTP send failed: {e}");
                        }
                    }
                    self.engine.recycle(bytes);
                }
                MediaOutput::Event(ev) => {
                    let _ = self.events.send(ev);
                }
            }
        }
    }

    fn command(&mut self, cmd: MediaCommand) {
        let now = Instant::now();
        match cmd {
            MediaCommand::Add { id, socket, media } => {
                let mut socket = UdpSocket::from_std(socket);
                if let Err(e) = self.poll.registry().register(
                    &mut socket,
                    Token(id.0 as usize),
                    Interest::READABLE,
                ) {
                    warn!(?id, "cannot use RTP socket: {e}");
                    return;
                }
                let r = next_random(&mut self.rng);
                self.engine.add_stream(
                    now,
                    id,
                    &media,
                    r as u32,
                    (r >> 32) as u16,
                    (r >> 48) as u32 * 160,
                );
                self.sockets.insert(id, socket);
            }
            MediaCommand::Update { id, media } => self.engine.update_stream(now, id, &media),
            MediaCommand::Remove { id } => {
                // A caller hanging up mid-message still leaves the message.
                self.end_recordings(now, |s, _, _| s == id);
                if let Some(mut s) = self.sockets.remove(&id) {
                    let _ = self.poll.registry().deregister(&mut s);
                }
                // Dropping the sink finishes its file (recorders finalise on drop).
                drop(self.engine.remove_stream(id));
            }
            MediaCommand::Play {
                id,
                play,
                prompts,
                barge_in,
            } => self.engine.play(id, play, prompts, barge_in),
            MediaCommand::Stop { id } => self.engine.stop(id),
            MediaCommand::Bridge { a, b } => self.engine.bridge(a, b),
            MediaCommand::Unbridge { id } => self.engine.unbridge(id),
            MediaCommand::Echo { id, on } => self.engine.set_echo(id, on),
            MediaCommand::Record {
                id,
                path,
                max,
                silence,
                stereo,
            } => self.start_recording(id, path, max, silence, stereo),
            MediaCommand::StopRecording { id } => self.end_recordings(now, |s, _, _| s == id),
        }
    }
    fn start_recording(
        &mut self,
        id: StreamId,
        path: PathBuf,
        max: Duration,
        silence: Duration,
        stereo: bool,
    ) {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let rec = if stereo {
            Recorder::stereo(&path)
        } else {
            Recorder::mono(&path, 8000)
        };
        match rec {
            Ok(rec) => {
                let sink = if stereo {
                    RecordingSink::stereo(rec)
                } else {
                    RecordingSink::mono(rec)
                };
                let meter = sink.meter();
                drop(self.engine.set_sink(id, Some(Box::new(sink))));
                self.recordings.insert(
                    id,
                    ActiveRecording {
                        path,
                        started: Instant::now(),
                        max,
                        silence,
                        meter,
                    },
                );
            }
            Err(e) => warn!(?id, path = %path.display(), "cannot record: {e}"),
        }
    }

    /// Ends every recording `done` says is over, finishing its file first.
    fn end_recordings(
        &mut self,
        now: Instant,
        done: impl Fn(StreamId, &ActiveRecording, Instant) -> bool,
    ) {
        let over: Vec<StreamId> = self
            .recordings
            .iter()
            .filter(|(id, r)| done(**id, r, now))
            .map(|(id, _)| *id)
            .collect();
        for id in over {
            if let Some(r) = self.recordings.remove(&id) {
                // Dropping the sink finishes the WAV header before anyone reads the file.
                drop(self.engine.set_sink(id, None));
                let duration = now.duration_since(r.started);
                let _ = self.events.send(MediaEvent::RecordingFinished {
                    stream: id,
                    path: r.path,
                    duration,
                });
            }
        }
    }
}

/// xorshift64: SSRCs and initial sequence numbers only need to be unpredictable
/// enough not to collide (RFC 3550 §8.1), not cryptographic.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}
