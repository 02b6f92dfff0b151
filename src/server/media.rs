//! The media task: owns the [`MediaEngine`] and every RTP socket. One shared
//! 20 ms clock drives all streams; each socket has a small receive task.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::PortRange;
use crate::media::engine::{MediaEngine, MediaEvent, MediaOutput, StreamId};
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

struct StreamIo {
    socket: Arc<UdpSocket>,
    reader: JoinHandle<()>,
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

pub fn spawn(
    inactivity: Duration,
    events: mpsc::UnboundedSender<MediaEvent>,
    stop: CancellationToken,
) -> mpsc::UnboundedSender<MediaCommand> {
    let (tx, rx) = mpsc::unbounded_channel();
    // The media clock gets a thread (and runtime) of its own: SIP bursts never
    // delay a tick, and the tick can sleep to its deadline more finely than
    // tokio's 1 ms timer wheel.
    let spawned = std::thread::Builder::new()
        .name("media".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(run(rx, events, inactivity, stop)),
                Err(e) => warn!("cannot start the media runtime: {e}"),
            }
        });
    if let Err(e) = spawned {
        warn!("cannot start the media thread: {e}");
    }
    tx
}

/// Waits until `deadline`: tokio's timer to within a couple of milliseconds, then a short
/// thread sleep for the rest (Linux high-resolution timers, tens of µs).
async fn sleep_precisely(deadline: Instant) {
    // tokio rounds timers up to the next millisecond tick, so wake 2 ms early.
    const COARSE: Duration = Duration::from_millis(2);
    if let Some(early) = deadline.checked_sub(COARSE) {
        tokio::time::sleep_until(early.into()).await;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        // Blocks only this runtime's thread, which is the media thread.
        std::thread::sleep(left);
    }
}

async fn run(
    mut commands: mpsc::UnboundedReceiver<MediaCommand>,
    events: mpsc::UnboundedSender<MediaEvent>,
    inactivity: Duration,
    stop: CancellationToken,
) {
    let mut engine = MediaEngine::new(Instant::now(), inactivity);
    let mut io: HashMap<StreamId, StreamIo> = HashMap::new();
    let mut recordings: HashMap<StreamId, ActiveRecording> = HashMap::new();
    let (rtp_tx, mut rtp_rx) = mpsc::channel::<(StreamId, SocketAddr, Vec<u8>)>(8192);
    let mut rng_state: u64 = rand::random();
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            _ = sleep_precisely(engine.poll_timeout()) => {
                let now = Instant::now();
                engine.tick(now);
                end_recordings(&mut engine, &mut recordings, now, &events, |_, r, now| {
                    let silent = Duration::from_millis(r.meter.silent_for() / 8);
                    let nothing_heard = r.meter.heard.load(std::sync::atomic::Ordering::Relaxed) == 0;
                    let by_silence = !r.silence.is_zero()
                        && (silent >= r.silence
                            || (nothing_heard && now.duration_since(r.started) >= r.silence));
                    now.duration_since(r.started) >= r.max || by_silence
                });
            }
            Some(cmd) = commands.recv() => {
                // Commands come in bursts (a call starts: add + play); take them all.
                for cmd in std::iter::once(cmd).chain(std::iter::from_fn(|| commands.try_recv().ok())) {
                    match cmd {
                        MediaCommand::Record { id, path, max, silence, stereo } => {
                            start_recording(&mut engine, &mut recordings, id, path, max, silence, stereo);
                        }
                        MediaCommand::StopRecording { id } => {
                            end_recordings(&mut engine, &mut recordings, Instant::now(), &events, |s, _, _| s == id);
                        }
                        MediaCommand::Remove { id } => {
                            // A caller hanging up mid-message still leaves the message.
                            end_recordings(&mut engine, &mut recordings, Instant::now(), &events, |s, _, _| s == id);
                            apply(&mut engine, &mut io, MediaCommand::Remove { id }, &rtp_tx, &mut rng_state);
                        }
                        cmd => apply(&mut engine, &mut io, cmd, &rtp_tx, &mut rng_state),
                    }
                }
            }
            Some((id, from, bytes)) = rtp_rx.recv() => {
                let now = Instant::now();
                engine.receive(now, id, from, &bytes);
                let mut n = 0;
                while let Ok((id, from, bytes)) = rtp_rx.try_recv() {
                    engine.receive(now, id, from, &bytes);
                    n += 1;
                    if n > 256 {
                        break;
                    }
                }
            }
        }
        while let Some(out) = engine.poll_output() {
            match out {
                MediaOutput::Send { stream, to, bytes } => {
                    if let Some(s) = io.get(&stream) {
                        if let Err(e) = s.socket.try_send_to(&bytes, to) {
                            debug!(?stream, %to, "RTP send failed: {e}");
                        }
                    }
                }
                MediaOutput::Event(ev) => {
                    let _ = events.send(ev);
                }
            }
        }
    }
    for (_, s) in io {
        s.reader.abort();
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

fn apply(
    engine: &mut MediaEngine,
    io: &mut HashMap<StreamId, StreamIo>,
    cmd: MediaCommand,
    rtp_tx: &mpsc::Sender<(StreamId, SocketAddr, Vec<u8>)>,
    rng: &mut u64,
) {
    let now = Instant::now();
    match cmd {
        MediaCommand::Add { id, socket, media } => {
            let socket = match UdpSocket::from_std(socket) {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    warn!(?id, "cannot use RTP socket: {e}");
                    return;
                }
            };
            let r = next_random(rng);
            engine.add_stream(
                now,
                id,
                &media,
                r as u32,
                (r >> 32) as u16,
                (r >> 48) as u32 * 160,
            );
            let reader = tokio::spawn(read_rtp(id, socket.clone(), rtp_tx.clone()));
            io.insert(id, StreamIo { socket, reader });
        }
        MediaCommand::Update { id, media } => engine.update_stream(now, id, &media),
        MediaCommand::Remove { id } => {
            if let Some(s) = io.remove(&id) {
                s.reader.abort();
            }
            // Dropping the sink finishes its file (recorders finalise on drop).
            drop(engine.remove_stream(id));
        }
        MediaCommand::Play {
            id,
            play,
            prompts,
            barge_in,
        } => engine.play(id, play, prompts, barge_in),
        MediaCommand::Stop { id } => engine.stop(id),
        MediaCommand::Bridge { a, b } => engine.bridge(a, b),
        MediaCommand::Unbridge { id } => engine.unbridge(id),
        MediaCommand::Echo { id, on } => engine.set_echo(id, on),
        // Handled by the task loop, which owns the recordings.
        MediaCommand::Record { .. } | MediaCommand::StopRecording { .. } => {}
    }
}

fn start_recording(
    engine: &mut MediaEngine,
    recordings: &mut HashMap<StreamId, ActiveRecording>,
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
            drop(engine.set_sink(id, Some(Box::new(sink))));
            recordings.insert(
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
    engine: &mut MediaEngine,
    recordings: &mut HashMap<StreamId, ActiveRecording>,
    now: Instant,
    events: &mpsc::UnboundedSender<MediaEvent>,
    done: impl Fn(StreamId, &ActiveRecording, Instant) -> bool,
) {
    let over: Vec<StreamId> = recordings
        .iter()
        .filter(|(id, r)| done(**id, r, now))
        .map(|(id, _)| *id)
        .collect();
    for id in over {
        if let Some(r) = recordings.remove(&id) {
            // Dropping the sink finishes the WAV header before anyone reads the file.
            drop(engine.set_sink(id, None));
            let duration = now.duration_since(r.started);
            let _ = events.send(MediaEvent::RecordingFinished {
                stream: id,
                path: r.path,
                duration,
            });
        }
    }
}

async fn read_rtp(
    id: StreamId,
    socket: Arc<UdpSocket>,
    tx: mpsc::Sender<(StreamId, SocketAddr, Vec<u8>)>,
) {
    let mut buf = vec![0u8; 2048];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                // A full queue means the media task is behind: drop rather than stall the socket.
                if tx.try_send((id, from, buf[..n].to_vec())).is_err() && tx.is_closed() {
                    return;
                }
            }
            Err(e) => {
                debug!(?id, "RTP receive error: {e}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}
