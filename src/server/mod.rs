//! The tokio shell: owns sockets, timers and the storage thread, and feeds
//! the sans-IO [`Endpoint`]. Nothing here decides anything about SIP.
//!
//! One task owns the endpoint and the UDP socket (no locks around SIP state);
//! TCP connections run in their own tasks and pass framed messages in.

mod calls;
pub mod cdr_writer;
mod lookup;
pub(crate) mod media;
mod reload;
mod shutdown;
mod storage;
mod tcp;

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::cli::ServeArgs;
use crate::config::{Config, TransportKind};
use crate::media::engine::MediaEvent;
use crate::sip::endpoint::{Endpoint, Event, Input, Output};
use crate::sip::transport::{Peer, Transport};
use crate::store::StoredBinding;
use calls::Calls;
use storage::{StorageThread, StoreCommand};
use tcp::{Connections, FromStream};

pub fn run(mut cfg: Config, args: &ServeArgs) -> anyhow::Result<()> {
    if let Some(l) = args.sip_listen {
        cfg.sip.listen = l;
    }
    if let Some(v) = &args.var_dir {
        cfg.var_dir = v.clone();
    }
    args.cdr.apply(&mut cfg);
    if let Some(a) = args.admin_listen {
        cfg.admin.get_or_insert_with(Default::default).listen = a;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(cfg))
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.var_dir)
        .with_context(|| format!("cannot create {}", cfg.var_dir.display()))?;
    // Every prompt is decoded and every flow checked once, here: a bad file
    // stops the start, not a call.
    let loaded = reload::load(&cfg).map_err(|problems| {
        anyhow::anyhow!(
            "refusing to start; `switchboard check` shows the same:\n{}",
            problems.join("\n")
        )
    })?;
    let (stored, store) = StorageThread::start(&cfg.var_dir.join("switchboard.db"))?;
    let listen = cfg.sip.listen;
    let stop = CancellationToken::new();
    shutdown::on_signal(stop.clone());

    let udp = if cfg.sip.transports.contains(&TransportKind::Udp) {
        Some(bind_udp(listen).with_context(|| format!("cannot bind UDP {listen}"))?)
    } else {
        None
    };
    let conns: Connections = Default::default();
    let (stream_tx, stream_rx) = mpsc::channel::<FromStream>(4096);
    if cfg.sip.transports.contains(&TransportKind::Tcp) {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot bind TCP {listen}"))?;
        tokio::spawn(tcp::accept_loop(
            listener,
            conns.clone(),
            stream_tx,
            cfg.sip.max_message_size,
            stop.clone(),
        ));
    } else {
        drop(stream_tx);
    }

    let now = Instant::now();
    let wall = SystemTime::now();
    let mut secret = [0u8; 32];
    rand::Rng::fill(&mut rand::thread_rng(), &mut secret);
    let mut endpoint = Endpoint::new(&cfg, listen, now, secret, rand::random());
    let mut restored = 0;
    let mut by_ext: std::collections::BTreeMap<String, Vec<_>> = Default::default();
    for (ext, b) in stored {
        by_ext
            .entry(ext)
            .or_default()
            .push(b.into_binding(now, wall));
    }
    for (ext, list) in by_ext {
        restored += list.len();
        endpoint.registrar_mut().restore(&ext, list);
    }
    info!(
        %listen,
        transports = ?cfg.sip.transports,
        agents = cfg.agents.len(),
        restored_registrations = restored,
        "switchboard listening"
    );

    let (media_events_tx, media_events) = mpsc::unbounded_channel();
    let media = media::spawn(cfg.media.inactivity_timeout, media_events_tx, stop.clone())
        .map_err(|e| anyhow::anyhow!("cannot start the media thread: {e}"))?;
    let rtp_ip = cfg.media.rtp_ip.unwrap_or(listen.ip());
    let ports = media::RtpPorts::new(rtp_ip, cfg.media.rtp_ports);
    let clock = match std::env::var("SWITCHBOARD_CLOCK") {
        // For demos and tests of opening hours: the day starts at this time.
        Ok(at) => {
            let ms = crate::ivr::commands::parse_at(&at)
                .map_err(|e| anyhow::anyhow!("SWITCHBOARD_CLOCK: {e}"))?;
            warn!(%at, "wall clock overridden by SWITCHBOARD_CLOCK");
            calls::WallClock::new(ms, now)
        }
        Err(_) => calls::WallClock::new(jiff::Timestamp::now().as_millisecond(), now),
    };
    let zone = cfg.admin.clone().unwrap_or_default().zone();
    let (cdr, today_events) = start_cdr(&cfg, clock.today(&zone, now)).await?;
    let (lookup_tx, lookups) = mpsc::unbounded_channel();
    let (reload_tx, reloads) = mpsc::unbounded_channel();
    let (flows_status, flows) = tokio::sync::watch::channel(reload::status(&loaded, 1));
    reload::spawn(cfg.clone(), reload_tx, flows_status, stop.clone());
    let (admin_tx, admin) = mpsc::channel(64);
    let live_changed = std::sync::Arc::new(tokio::sync::Notify::new());
    if let Some(a) = &cfg.admin {
        let links = crate::admin::AdminLinks {
            core: admin_tx,
            flows,
            changed: live_changed.clone(),
            now_ms: std::sync::Arc::new(move || clock.at(Instant::now())),
            media: media.counters(),
        };
        crate::admin::spawn(a, &cfg, links, stop.clone()).await?;
    }
    let mut calls = Calls::new(
        calls::CallsConfig {
            numbers: cfg.numbers.clone(),
            prompts: loaded.prompts,
            flows: loaded.flows,
            default_lang: cfg.media.default_language.clone(),
            ports,
            voicemail_dir: cfg.var_dir.join("voicemail"),
            clock,
            router: crate::acd::Router::new(now, &cfg),
            domain: cfg.sip.domain.clone(),
            trunk: cfg.trunk.as_ref().map(|t| t.address),
            recordings_dir: cfg.var_dir.join("recordings"),
            cdr: cdr.writer(),
        },
        media,
        lookup_tx,
    );
    calls.watch_live(zone, cfg.cdr.clone(), live_changed);
    // The wallboard's "today" goes on from the calls stored before this start.
    calls.seed_live(&today_events);
    let mut core = Core {
        endpoint,
        udp,
        conns,
        store: &store,
        calls,
    };
    // Agents whose registrations were restored are reachable from the start.
    for agent in &cfg.agents {
        if core.endpoint.registrar().reachable(&agent.extension) {
            core.calls
                .agent_presence(now, &mut core.endpoint, &agent.extension);
        }
    }
    core.run(
        stream_rx,
        Inbox {
            media_events,
            lookups,
            reloads,
            admin,
        },
        stop,
    )
    .await;
    let stats = core.endpoint.stats();
    info!(?stats, "stopped");
    store.finish();
    cdr.finish();
    Ok(())
}

/// Opens the CDR store (closing records a crash left open) and starts its
/// writer. The call glue takes `writer()` handles from the result.
/// Also returns the events of `today` (wall-clock ms) already stored, read
/// with the same connection before the writer takes it.
async fn start_cdr(
    cfg: &Config,
    today: (i64, i64),
) -> anyhow::Result<(cdr_writer::CdrThread, Vec<crate::cdr::Event>)> {
    let at = cfg.cdr_store();
    // A PostgreSQL server started alongside (docker-compose) may take a few
    // seconds to accept connections.
    let mut tries = 0;
    let mut store = loop {
        match crate::store::cdr::open(&at) {
            Ok(s) => break s,
            Err(e @ crate::store::cdr::CdrStoreError::Postgres(_)) if tries < 15 => {
                tries += 1;
                warn!("cannot open the CDR store ({at}), retrying: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            Err(e) => anyhow::bail!("cannot open the CDR store ({at}): {e}"),
        }
    };
    info!(store = %at, "call records");
    let events = store.events(today.0, today.1).unwrap_or_else(|e| {
        warn!("today's figures start from zero: cannot read the event log: {e}");
        Vec::new()
    });
    let thread = cdr_writer::CdrThread::start(store, jiff::Timestamp::now().as_millisecond())?;
    Ok((thread, events))
}

/// What the other tasks send the core.
struct Inbox {
    media_events: mpsc::UnboundedReceiver<MediaEvent>,
    lookups: mpsc::UnboundedReceiver<calls::LookupDone>,
    reloads: mpsc::UnboundedReceiver<reload::Loaded>,
    /// Snapshots and agent commands from the admin API.
    admin: mpsc::Receiver<crate::admin::api::Request>,
}

struct Core<'a> {
    endpoint: Endpoint,
    udp: Option<UdpSocket>,
    conns: Connections,
    store: &'a StorageThread,
    calls: Calls,
}

impl Core<'_> {
    async fn run(
        &mut self,
        mut streams: mpsc::Receiver<FromStream>,
        mut inbox: Inbox,
        stop: CancellationToken,
    ) {
        let mut buf = vec![0u8; 65_536];
        let mut deadline = self.drain().await;
        loop {
            // IVR timers fire through the same wake-up as SIP timers.
            let sleep_until =
                deadline.unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(3600));
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                r = recv(self.udp.as_ref(), &mut buf) => {
                    match r {
                        Ok((n, from)) => {
                            let now = Instant::now();
                            self.endpoint.handle_input(Input::Datagram { now, from, bytes: &buf[..n] });
                            // Under load more datagrams are already waiting: take a batch
                            // before sending, so one wake-up serves many requests.
                            if let Some(sock) = &self.udp {
                                for _ in 0..64 {
                                    let Ok((n, from)) = sock.try_recv_from(&mut buf) else { break };
                                    self.endpoint.handle_input(Input::Datagram { now, from, bytes: &buf[..n] });
                                }
                            }
                        }
                        Err(e) => warn!("UDP receive failed: {e}"),
                    }
                }
                Some(m) = streams.recv() => match m {
                    FromStream::Message(from, message) => {
                        self.endpoint.handle_input(Input::Stream { now: Instant::now(), from, message })
                    }
                    FromStream::Broken(from, why) => {
                        self.endpoint.drop_input(Peer { transport: Transport::Tcp, addr: from }, &why)
                    }
                },
                Some(ev) = inbox.media_events.recv() => self.calls.on_media_event(Instant::now(), &mut self.endpoint, ev),
                Some(done) = inbox.lookups.recv() => self.calls.on_lookup(Instant::now(), &mut self.endpoint, done),
                Some(loaded) = inbox.reloads.recv() => self.calls.reload(loaded.flows, loaded.prompts),
                Some(req) = inbox.admin.recv() => self.calls.admin(Instant::now(), &mut self.endpoint, req),
                _ = tokio::time::sleep_until(sleep_until.into()) => {
                    let now = Instant::now();
                    self.endpoint.handle_input(Input::Timeout(now));
                    self.calls.handle_timeout(now, &mut self.endpoint);
                }
            }
            deadline = self.drain().await;
            deadline = [deadline, self.calls.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
        }
    }

    /// Carries out every output; returns the next deadline.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.endpoint.poll_output() {
                Output::Transmit(t) => self.transmit(t.dest, t.bytes).await,
                Output::Event(ev) => self.event(ev),
                Output::Timeout(at) => return at,
            }
        }
    }

    async fn transmit(&mut self, dest: Peer, bytes: Vec<u8>) {
        let failed = match dest.transport {
            Transport::Udp => match &self.udp {
                Some(sock) => match sock.try_send_to(&bytes, dest.addr) {
                    Ok(_) => false,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        sock.send_to(&bytes, dest.addr).await.is_err()
                    }
                    Err(_) => true,
                },
                None => true,
            },
            Transport::Tcp => {
                let tx = self.conns.get(&dest.addr).map(|c| c.value().clone());
                match tx {
                    Some(tx) => tx.send(bytes).await.is_err(),
                    None => true,
                }
            }
        };
        if failed {
            tracing::debug!(%dest, "send failed");
            self.endpoint.handle_input(Input::TransportError {
                now: Instant::now(),
                peer: dest,
            });
        }
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::BindingsChanged {
                extension,
                bindings,
            } => {
                let (now, wall) = (Instant::now(), SystemTime::now());
                let bindings = bindings
                    .iter()
                    .map(|b| StoredBinding::from_binding(b, now, wall))
                    .collect();
                self.calls
                    .agent_presence(now, &mut self.endpoint, &extension);
                self.store.send(StoreCommand::Bindings {
                    extension,
                    bindings,
                });
            }
            Event::Reachability { extension, .. } => {
                self.calls
                    .agent_presence(Instant::now(), &mut self.endpoint, &extension)
            }
            Event::Call(ev) => self
                .calls
                .on_call_event(Instant::now(), &mut self.endpoint, ev),
        }
    }
}

/// The SIP UDP socket, with buffers big enough for bursts: a call centre's
/// phones all re-register after a power cut, and the default ~200 KB receive
/// buffer overflows at a few thousand requests per second.
fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Capped by net.core.rmem_max/wmem_max; a smaller buffer still works.
    let _ = sock.set_recv_buffer_size(4 << 20);
    let _ = sock.set_send_buffer_size(4 << 20);
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    UdpSocket::from_std(sock.into())
}

async fn recv(sock: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}
